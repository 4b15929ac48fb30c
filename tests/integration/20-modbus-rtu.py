"""Relay barriers on an RS-485 line (Modbus RTU, DESIGN §4.2), here a socat
pty pair with the relay-board simulator on the far end: real RTU frames
with their CRCs, one line shared by several boards, a board that leaves
the line, and a serial device that is not there when gatewayd starts."""

from conftest import device_decisions, rate, wait_decision, wait_reads


def test_rtu_polls_are_answered_and_barriers_online(compound, modbus):
    """Two boards on one line: every poll gatewayd sends is a frame the
    board could read (a bad CRC or a torn frame is never answered), and
    both barriers are online."""
    c = compound
    line = modbus.rtu_bus("rs485-1", units=[1, 2])
    modbus.barrier("barrier-1", "rs485-1", unit=1, poll_ms=100)
    modbus.barrier("barrier-2", "rs485-1", unit=2, poll_ms=100)
    modbus.start()
    wait_decision(c, "barrier-1", "online")
    wait_decision(c, "barrier-2", "online")
    for unit in (1, 2):
        polls = wait_reads(line, unit, 10)
        assert all(r["answered"] and r["address"] == 0 and r["count"] == 8
                   for r in polls), polls
    assert all(r["unit"] in (1, 2) for r in line.requests())
    assert device_decisions(c, "barrier-1") == ["online"]
    assert device_decisions(c, "barrier-2") == ["online"]


def test_rtu_board_leaves_the_line_and_comes_back(compound, modbus):
    """Board 2 stops answering: barrier-2 goes offline, board 1 on the same
    line keeps most of its pace, and barrier-2 is online again when
    board 2 answers."""
    c = compound
    line = modbus.rtu_bus("rs485-1", units=[1, 2])
    modbus.barrier("barrier-1", "rs485-1", unit=1, poll_ms=100)
    modbus.barrier("barrier-2", "rs485-1", unit=2, poll_ms=100)
    modbus.start()
    wait_decision(c, "barrier-1", "online")
    wait_decision(c, "barrier-2", "online")
    before = wait_reads(line, 1, 15, since=line.mark())

    line.silent(2)
    wait_decision(c, "barrier-2", "offline")
    during = wait_reads(line, 1, 15, since=line.mark())
    line.silent(2, False)
    wait_decision(c, "barrier-2", "online", count=2)

    assert rate(during) >= 0.6 * rate(before), (
        "board 1: %.1f polls/s while board 2 was gone, %.1f before"
        % (rate(during), rate(before)))
    assert all(r["answered"] for r in during)
    assert device_decisions(c, "barrier-1") == ["online"]
    assert device_decisions(c, "barrier-2") == ["online", "offline",
                                                "online"]


def test_rtu_port_missing_at_start_comes_online_later(compound, modbus):
    """The serial device does not exist when gatewayd starts (an adapter
    not plugged in): it starts anyway, the face gates answer, the barrier
    is offline; once the adapter is there, the barrier comes online."""
    c = compound
    line = modbus.rtu_bus("rs485-1", units=[1], start=False)
    modbus.barrier("barrier-1", "rs485-1", unit=1, poll_ms=100)
    modbus.start()

    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    wait_decision(c, "barrier-1", "offline")

    modbus.start_bus("rs485-1")
    wait_decision(c, "barrier-1", "online")
    polls = wait_reads(line, 1, 5)
    assert all(r["answered"] for r in polls)
    assert device_decisions(c, "barrier-1") == ["offline", "online"]
    request, cmd = c.ask("gate-south", "P0001")
    assert cmd["action"] == "open"
