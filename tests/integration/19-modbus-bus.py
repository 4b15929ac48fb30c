"""Relay barriers on Modbus TCP buses (DESIGN §3, §4.2): each bus has its
own thread, a barrier's loop input is polled at its poll_ms, a board that
stops answering is an offline device and comes back online, and neither a
dead board nor a frozen bus slows anything else.  What is asserted is
what an installer would see: the requests the relay boards received
(the simulators' logs), the device rows in the journal, and the device
records on cg/<site>/events/device."""

import harness
from conftest import device_decisions, rate, wait_decision, wait_reads

EVENTS = "cg/jinding-5/events/device"


def test_barrier_loop_is_polled_and_reported_online(compound, modbus):
    """A barrier whose loop detector is on input 0 of board 1: its inputs
    are read, all eight in one request, about every poll_ms (never in a
    busy loop), and the barrier is an online device in the journal and
    on the events topic."""
    c = compound
    c.broker.start()
    events = c.recorder(EVENTS)
    bus = modbus.tcp_bus("bus-1", units=[1])
    modbus.barrier("barrier-1", "bus-1", unit=1, poll_ms=100)
    modbus.start()

    row = wait_decision(c, "barrier-1", "online")[0]
    assert row["body"]["kind"] == "device"
    events.wait(lambda m: m.json().get("device") == "barrier-1"
                and m.json().get("decision") == "online", 10,
                "barrier-1 online on %s" % EVENTS)

    polls = wait_reads(bus, 1, 12)
    assert all(r["address"] == 0 and r["count"] == 8 and r["answered"]
               for r in polls), polls
    # Nothing but polls: the gateway never writes to a barrier unasked.
    assert {r["function"] for r in bus.requests()} == {2}
    gaps = sorted(b["t"] - a["t"] for a, b in zip(polls, polls[1:]))
    median = gaps[len(gaps) // 2]
    assert median >= 0.05, "polled every %.3f s, poll_ms is 100" % median
    assert median <= 1.0, "polled every %.3f s, poll_ms is 100" % median
    assert device_decisions(c, "barrier-1") == ["online"]


def test_silent_board_goes_offline_and_back_others_keep_their_pace(
        compound, modbus):
    """Board 2 of three on one bus stops answering: barrier-2 becomes an
    offline device, boards 1 and 3 are still polled at most of their
    rate while it is gone, and barrier-2 is online again once it answers."""
    c = compound
    bus = modbus.tcp_bus("bus-1", units=[1, 2, 3])
    for unit in (1, 2, 3):
        modbus.barrier("barrier-%d" % unit, "bus-1", unit=unit, poll_ms=100)
    modbus.start()
    for unit in (1, 2, 3):
        wait_decision(c, "barrier-%d" % unit, "online")
    before = wait_reads(bus, 1, 15, since=bus.mark())

    bus.silent(2)
    wait_decision(c, "barrier-2", "offline")
    mark = bus.mark()
    during = {u: wait_reads(bus, u, 15, since=mark) for u in (1, 3)}
    bus.silent(2, False)
    wait_decision(c, "barrier-2", "online", count=2)

    # Counts over spans, by the simulator's own clock: a dead board
    # retried at full pace would take most of the bus's time.
    for unit in (1, 3):
        assert rate(during[unit]) >= 0.6 * rate(before), (
            "unit %d: %.1f polls/s while board 2 was silent, %.1f before"
            % (unit, rate(during[unit]), rate(before)))
    silent_polls = [r for r in bus.requests(mark)
                    if r["unit"] == 2 and not r["answered"]]
    assert len(silent_polls) <= len(during[1]), silent_polls
    assert device_decisions(c, "barrier-2") == ["online", "offline",
                                                "online"]
    for unit in (1, 3):
        assert device_decisions(c, "barrier-%d" % unit) == ["online"]


def test_frozen_bus_does_not_touch_another_bus(compound, modbus):
    """Bus 1 freezes (its simulator is stopped: connections open, nothing
    answered); bus 2's board is polled at the same pace as before and its
    barrier never goes offline."""
    c = compound
    bus1 = modbus.tcp_bus("bus-1", units=[1])
    bus2 = modbus.tcp_bus("bus-2", units=[1])
    modbus.barrier("barrier-1", "bus-1", unit=1, poll_ms=100)
    modbus.barrier("barrier-2", "bus-2", unit=1, poll_ms=100)
    modbus.start()
    wait_decision(c, "barrier-1", "online")
    wait_decision(c, "barrier-2", "online")
    before = wait_reads(bus2, 1, 15, since=bus2.mark())

    bus1.freeze()
    try:
        wait_decision(c, "barrier-1", "offline")
        during = wait_reads(bus2, 1, 15, since=bus2.mark())
    finally:
        bus1.thaw()
    assert rate(during) >= 0.7 * rate(before), (
        "bus-2: %.1f polls/s while bus-1 was frozen, %.1f before"
        % (rate(during), rate(before)))
    assert all(r["answered"] for r in during)
    wait_decision(c, "barrier-1", "online", count=2)
    assert device_decisions(c, "barrier-2") == ["online"]


def test_board_that_answered_late_is_online_when_it_answers_in_time(
        compound, modbus):
    """Board 1 answers every request after the bus's timeout for a while
    (a TCP-to-RS-485 converter that buffered, a board rebooting), so its
    late answers arrive while gatewayd waits for nothing.  Once it answers
    in time again, barrier-1 is online: the late answers left in the
    connection are not taken for the answers to later requests, and the
    bus does not stay a reply behind for ever."""
    c = compound
    bus = modbus.tcp_bus("bus-1", units=[1])
    modbus.barrier("barrier-1", "bus-1", unit=1, poll_ms=100)
    modbus.start()
    wait_decision(c, "barrier-1", "online")

    bus.delay(1, 4 * modbus.TIMEOUT_MS)
    wait_decision(c, "barrier-1", "offline")
    late = wait_reads(bus, 1, 1, since=bus.mark())[0]
    bus.delay(1, 0)
    assert late["delay_ms"] > modbus.TIMEOUT_MS
    wait_decision(c, "barrier-1", "online", count=2, timeout=20)
    assert device_decisions(c, "barrier-1") == ["online", "offline",
                                                "online"]


def problem_rows(compound, device, words):
    """Journal rows about device that mention any of words."""
    out = []
    for r in compound.journal.rows("device = ?", (device,)):
        text = " ".join(str(v) for v in r.values()).lower()
        if any(w in text for w in words):
            out.append(r)
    return out


def test_illegal_address_is_reported_once_and_not_hammered(compound,
                                                          modbus):
    """Board 2 answers every request with exception 2 (illegal data
    address: a wrong unit or register map).  That is a configuration
    problem: it is journaled once, the board is not asked again at the
    pace of its poll, and board 1 beside it is polled as usual."""
    c = compound
    bus = modbus.tcp_bus("bus-1", units=[1, 2])
    bus.exception(2, 2)
    modbus.barrier("barrier-1", "bus-1", unit=1, poll_ms=100)
    modbus.barrier("barrier-2", "bus-1", unit=2, poll_ms=100)
    modbus.start()
    wait_decision(c, "barrier-1", "online")
    words = ("illegal", "exception 2")
    harness.wait_for(lambda: problem_rows(c, "barrier-2", words), 15,
                     "a journal row saying barrier-2's board refused")

    mark = bus.mark()
    polls = wait_reads(bus, 1, 30, since=mark)   # about 3 s of board 1
    span = [r for r in bus.requests(mark) if r["t"] <= polls[-1]["t"]]
    refused = [r for r in span if r["unit"] == 2]
    assert len(refused) <= 3, (
        "board 2 was asked %d times while board 1 was polled 30 times"
        % len(refused))
    assert len(problem_rows(c, "barrier-2", words)) == 1, \
        c.journal.rows("device = 'barrier-2'")
    assert c.gw.running()


def test_bus_missing_at_start_comes_online_later(compound, modbus):
    """Nothing listens on the bus's TCP port when gatewayd starts: it
    starts anyway, the face gates answer, the barrier is an offline
    device; when the board appears, the barrier comes online and is
    polled."""
    c = compound
    bus = modbus.tcp_bus("bus-1", units=[1], start=False)
    modbus.barrier("barrier-1", "bus-1", unit=1, poll_ms=100)
    modbus.start()

    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    wait_decision(c, "barrier-1", "offline")
    assert "online" not in device_decisions(c, "barrier-1")

    bus.start()
    wait_decision(c, "barrier-1", "online")
    wait_reads(bus, 1, 5)
    assert device_decisions(c, "barrier-1") == ["offline", "online"]
    request, cmd = c.ask("gate-south", "P0001")
    assert cmd["action"] == "open"
