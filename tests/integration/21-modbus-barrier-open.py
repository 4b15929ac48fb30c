"""A plate read opens a relay barrier on a Modbus bus (DESIGN §3, §4.2, §5
Vehicles): the open pulse is the board's "flash on" (coil 0x0200+coil,
value open_ms/100), it jumps the queue of polls on its bus, a command
that cannot reach its board within 2 s is dropped and journaled and never
sent late, a frozen bus does not hold up another, and a board that
refuses the write is journaled while the gateway carries on."""

import harness
from conftest import device_decisions, wait_decision, wait_reads
from plate_camera import PlateCamera

CAMERA = "lpr-1"
PLATE = "吉A12345"
OPEN_MS = 3000
FLASH_ON = 0x0200


def vehicles_ini(schedule):
    return f"""\
[vehicle {PLATE}]
household = 5-2-301
plan = monthly
valid_until = {schedule.next_year}
"""


def setup_barrier(compound, modbus, bus, unit, coil=0):
    """The barrier that the plate camera lpr-1 opens, on bus/unit."""
    compound.write_access("vehicles.ini", vehicles_ini(compound.schedule))
    modbus.device(CAMERA, driver="lpr")
    modbus.barrier("barrier-in", bus, unit=unit, coil=coil, poll_ms=100,
                   open_ms=OPEN_MS, lane="in", camera=CAMERA)


def publish_plate(compound, request, plate=PLATE):
    """The camera reads a plate (QoS 1, acknowledged by the broker)."""
    cam = PlateCamera(compound.broker.port, CAMERA, "barrier-in",
                      site=compound.site).connect()
    try:
        cam.read(plate, request=request)
    finally:
        cam.close()


def is_open_pulse(coil, unit):
    return lambda r: (r["unit"] == unit and r["function"] == 5
                      and r["address"] == FLASH_ON + coil)


def vehicle_rows(compound, request):
    return compound.journal.rows("kind = 'vehicle' AND request = ?",
                                 (request,))


def wait_vehicle(compound, request, decision, timeout=15):
    return compound.journal.wait_rows(
        "kind = 'vehicle' AND request = ? AND decision = ?",
        (request, decision), timeout=timeout,
        what="a vehicle row for %s with decision %s" % (request, decision))


def test_open_jumps_the_queue_of_30_polled_boards(compound, modbus):
    """Thirty barriers' loops are polled on one bus whose every transaction
    is slow (a long 9600-baud line), so the bus is never idle; the plate's
    open pulse is nonetheless among the next transactions after the plate
    was read, not behind a round of 30 polls."""
    c = compound
    bus = modbus.tcp_bus("bus-1", units=range(1, 32))
    for unit in range(1, 31):
        modbus.barrier("loop-%d" % unit, "bus-1", unit=unit, poll_ms=100)
    setup_barrier(c, modbus, "bus-1", unit=31, coil=2)
    bus.delay("all", 40)
    modbus.start()
    wait_decision(c, "barrier-in", "online", timeout=20)
    wait_reads(bus, 31, 2)

    mark = bus.mark()
    publish_plate(c, "req-2")
    at, pulse = bus.wait_request(is_open_pulse(2, 31), 10,
                                 "the open pulse on unit 31", since=mark)
    assert pulse["value"] == OPEN_MS // 100 and pulse["answered"]
    # The one in flight when the command arrived, and what passed while
    # the decision was made and journaled; a queue would show ~30.
    between = bus.requests(mark)[:at - mark]
    assert len(between) <= 3, between
    row = wait_vehicle(c, "req-2", "allow")[0]
    assert row["device"] == "barrier-in"
    assert not [r for r in vehicle_rows(c, "req-2")
                if r["decision"] in ("dropped", "refused")]


def test_car_over_the_loop_after_the_open_is_its_passage(compound, modbus):
    """After the open, the car drives over the loop detector (input 0
    closes, then opens again as the car leaves it): the barrier's polls
    see it, and the journal has the passage of that plate."""
    c = compound
    bus = modbus.tcp_bus("bus-1", units=[1])
    setup_barrier(c, modbus, "bus-1", unit=1)
    modbus.start()
    wait_decision(c, "barrier-in", "online")
    publish_plate(c, "req-2")
    bus.wait_request(is_open_pulse(0, 1), 10, "the open pulse")
    wait_vehicle(c, "req-2", "allow")

    bus.set_input(1, 0, True)
    wait_reads(bus, 1, 2, since=bus.mark())     # seen closed
    bus.set_input(1, 0, False)
    rows = harness.wait_for(lambda: [
        r for r in c.journal.rows("kind = 'vehicle' AND device = ?",
                                  ("barrier-in",))
        if r["body"].get("event") == "passage"], 15, "a passage record")
    assert len(rows) == 1, rows
    assert rows[0]["subject_id"] == PLATE


def test_open_for_a_dead_board_is_dropped_not_sent_late(compound, modbus):
    """The barrier's board is silent: the open cannot reach it, is dropped
    after 2 s and journaled as dropped; when the board answers again the
    pulse is not sent (a barrier opening late opens for nobody)."""
    c = compound
    bus = modbus.tcp_bus("bus-1", units=[1])
    setup_barrier(c, modbus, "bus-1", unit=1)
    modbus.start()
    wait_decision(c, "barrier-in", "online")
    bus.silent(1)
    wait_decision(c, "barrier-in", "offline")

    publish_plate(c, "req-2")
    wait_vehicle(c, "req-2", "dropped")
    back = bus.mark()
    bus.silent(1, False)
    wait_decision(c, "barrier-in", "online", count=2)
    wait_reads(bus, 1, 3, since=back)

    pulses = [r for r in bus.requests() if r["function"] == 5]
    assert not [r for r in pulses if r["answered"]], pulses
    assert not [r for r in bus.requests(back) if r["function"] == 5]
    assert c.gw.running()


def test_frozen_bus_does_not_delay_an_open_on_another(compound, modbus):
    """Bus 1 is frozen mid-poll; a plate for the barrier on bus 2 opens it
    as the next transaction there, and nothing is dropped."""
    c = compound
    bus1 = modbus.tcp_bus("bus-1", units=[1])
    bus2 = modbus.tcp_bus("bus-2", units=[1])
    modbus.barrier("barrier-other", "bus-1", unit=1, poll_ms=100)
    setup_barrier(c, modbus, "bus-2", unit=1)
    modbus.start()
    wait_decision(c, "barrier-other", "online")
    wait_decision(c, "barrier-in", "online")

    bus1.freeze()
    try:
        mark = bus2.mark()
        publish_plate(c, "req-2")
        at, pulse = bus2.wait_request(is_open_pulse(0, 1), 10,
                                      "the open pulse on bus 2", since=mark)
        assert pulse["value"] == OPEN_MS // 100 and pulse["answered"]
        assert len(bus2.requests(mark)[:at - mark]) <= 3
        wait_vehicle(c, "req-2", "allow")
    finally:
        bus1.thaw()
    assert not [r for r in vehicle_rows(c, "req-2")
                if r["decision"] in ("dropped", "refused")]
    assert device_decisions(c, "barrier-in") == ["online"]


def test_busy_board_gets_the_open_again_in_time(compound, modbus):
    """The board is busy (exception 6) when the open pulse comes: it is
    sent again within its 2 s, the board takes it, and nothing is
    journaled as dropped or refused."""
    c = compound
    bus = modbus.tcp_bus("bus-1", units=[1])
    setup_barrier(c, modbus, "bus-1", unit=1)
    modbus.start()
    wait_decision(c, "barrier-in", "online")
    bus.exception(1, 6, 5, times=1)

    publish_plate(c, "req-2")
    _, busy = bus.wait_request(is_open_pulse(0, 1), 10, "the open pulse")
    assert busy.get("exception") == 6
    _, pulse = bus.wait_request(
        lambda r: is_open_pulse(0, 1)(r) and "exception" not in r, 10,
        "the open pulse sent again")
    assert pulse["value"] == OPEN_MS // 100 and pulse["answered"]
    wait_vehicle(c, "req-2", "allow")
    assert not [r for r in vehicle_rows(c, "req-2")
                if r["decision"] in ("dropped", "refused")]
    assert device_decisions(c, "barrier-in") == ["online"]


def test_board_refusing_the_open_is_journaled(compound, modbus):
    """The board answers the flash write with exception 3 (illegal data
    value: a board without flash on): the refusal is journaled, the
    gateway stays up, the board is still polled and the gates answer."""
    c = compound
    bus = modbus.tcp_bus("bus-1", units=[1])
    bus.exception(1, 3, 5)
    setup_barrier(c, modbus, "bus-1", unit=1)
    modbus.start()
    wait_decision(c, "barrier-in", "online")

    publish_plate(c, "req-2")
    bus.wait_request(is_open_pulse(0, 1), 10, "the open pulse")
    wait_vehicle(c, "req-2", "refused")
    mark = bus.mark()
    polls = wait_reads(bus, 1, 5, since=mark)
    assert all(r["answered"] for r in polls)
    assert c.gw.running()
    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
