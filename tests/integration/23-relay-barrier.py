"""A relay barrier as a car park uses it (DESIGN §4.2, §5 Vehicles): the
open pulse over real RTU framing on an RS-485 line (a socat pty pair),
a second car over the loop behind the first one's grant is tailgating,
and the lot's count moved by the loop survives a kill -9."""

import sys
from pathlib import Path

import harness
from conftest import wait_decision, wait_reads

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "sim"))
from plate_camera import PlateCamera  # noqa: E402

FLASH_ON = 0x0200


def lot_with_barrier(compound, modbus, bus, open_ms=1500):
    compound.write_access("vehicles.ini", f"""\
[vehicle 吉A12345]
household = 5-2-301
plan = monthly
valid_until = {compound.schedule.next_year}
""")
    modbus.device("lpr-in", driver="lpr")
    modbus.barrier("barrier-in", bus, unit=3, coil=1, poll_ms=100,
                   open_ms=open_ms, lane="in", camera="lpr-in")


def read_plate(compound, plate="吉A12345"):
    """One camera per test: a second one under the same client id would
    throw the first off the broker, and each would reconnect in turn."""
    cam = compound.terminals.get("lpr-in")
    if cam is None:
        cam = PlateCamera(compound.broker.port, "lpr-in", "barrier-in",
                          site=compound.site).connect()
        compound.terminals["lpr-in"] = cam   # closed at teardown
    return cam.read(plate)


def flash(unit, coil):
    return lambda r: (r["unit"] == unit and r["function"] == 5
                      and r["address"] == FLASH_ON + coil)


def vehicle_events(compound, event):
    return [r for r in compound.journal.rows(
        "kind = 'vehicle' AND device = 'barrier-in'")
        if r["body"].get("event") == event]


def passage(bus, since=None):
    """A car drives over the loop on input 0 and leaves it."""
    bus.set_input(3, 0, True)
    wait_reads(bus, 3, 2, since=bus.mark())
    bus.set_input(3, 0, False)
    wait_reads(bus, 3, 2, since=bus.mark())


def test_open_over_rtu(compound, modbus):
    """The board on the RS-485 line gets the flash-on write, CRC and all,
    and the decision is journaled as the open's reason."""
    c = compound
    bus = modbus.rtu_bus("rs485-1", units=[3])
    lot_with_barrier(c, modbus, "rs485-1", open_ms=2500)
    modbus.start()
    wait_decision(c, "barrier-in", "online", timeout=20)
    request = read_plate(c)
    _, pulse = bus.wait_request(flash(3, 1), 10, "the flash-on write")
    assert (pulse["value"], pulse["answered"]) == (25, True)
    row = c.journal.wait_rows("kind = 'vehicle' AND request = ?",
                              (request,))[0]
    assert (row["decision"], row["reason"], row["device"]) == (
        "allow", "monthly plan", "barrier-in")


def test_tailgating_and_occupancy_across_a_restart(compound, modbus):
    c = compound
    bus = modbus.tcp_bus("bus-1", units=[3])
    lot_with_barrier(c, modbus, "bus-1")
    modbus.start()
    wait_decision(c, "barrier-in", "online")

    read_plate(c)
    bus.wait_request(flash(3, 1), 10, "the flash-on write")
    passage(bus)
    rows = harness.wait_for(lambda: vehicle_events(c, "passage"), 10,
                            "the passage")
    assert (rows[0]["subject_id"], rows[0]["body"]["occupancy"]) == (
        "吉A12345", 1)

    # A second car behind the first, on the same grant.
    passage(bus)
    rows = harness.wait_for(lambda: vehicle_events(c, "tailgating"), 10,
                            "the tailgating record")
    assert rows[0]["body"]["occupancy"] == 2
    # An alert of the barrier's, for the duty staff; the passage before
    # it was none.
    assert (rows[0]["device"], rows[0]["body"]["alert"],
            rows[0]["body"]["severity"]) == ("barrier-in", "tailgating",
                                             "major")
    assert "alert" not in vehicle_events(c, "passage")[0]["body"]
    assert c.gw.log_text().count("tailgating") >= 1

    # The count is the journal's: a power cut does not reset it.
    c.restart(kill=True)
    wait_decision(c, "barrier-in", "online", count=2)
    mark = bus.mark()      # before the read: the open may come at once
    read_plate(c)
    bus.wait_request(flash(3, 1), 10, "the second open", since=mark)
    passage(bus)
    rows = harness.wait_for(
        lambda: vehicle_events(c, "passage")[1:], 10, "the third car")
    assert rows[0]["body"]["occupancy"] == 3
