"""E-bike charging points on a Modbus bus (DESIGN §4.1, §4.2, §4.4, §5
Charging), as a user sees them: the retained state of each port on
cg/<site>/charger/<id>/<port>/state, the journal's charging rows (phase
start, end with its reason, fault, refused), the coil writes that cut a
port off (in the simulator's request log, counted in polls, never in
milliseconds), and the answers to staff requests on .../result.

The stations are tests/sim/charger_sim.py; port p is register block p-1."""

import pytest

import harness
from conftest import charging_rows, rate, wait_charging, wait_decision

DEV = "charger-a"
UNIT = 3
EVENTS = "cg/jinding-5/events/charging"
COIL_ON, COIL_OFF = 0xFF00, 0x0000


def station(compound, modbus, ports=2, **keys):
    """charger-a, unit 3 on bus-1 with 2 ports, started; its simulator and
    the staff tool, once it is online and polled."""
    bus = modbus.charger_bus("bus-1", {UNIT: ports})
    modbus.charger(DEV, "bus-1", UNIT, ports, **keys)
    modbus.start()
    staff = modbus.staff()
    wait_decision(compound, DEV, "online")
    wait_polls(bus, 2, since=0)
    return bus, staff


def polls(requests, unit=UNIT):
    """A charging point's polls: its input-register reads."""
    return [r for r in requests if r["unit"] == unit and r["function"] == 4]


def wait_polls(bus, count, since, unit=UNIT, timeout=20):
    def enough():
        found = polls(bus.requests(since), unit)
        return found if len(found) >= count else None
    return harness.wait_for(enough, timeout, "%d polls of unit %d"
                            % (count, unit), interval=0.05)


def coil_write(port, value, unit=UNIT):
    return lambda r: (r["unit"] == unit and r["function"] == 5 and
                      r["address"] == port - 1 and r["value"] == value)


def writes(requests, unit=UNIT):
    return [r for r in requests
            if r["unit"] == unit and r["function"] in (5, 6, 15, 16)]


def charging(bus, staff, port, watts=180, amps=0.8):
    """A bike on port charges; its start row once the gateway saw it."""
    before = len(charging_rows(staff.c, DEV, "start", port))
    bus.charge(UNIT, port, watts, amps)
    staff.wait_state(DEV, port, lambda s: s["state"] == "charging")
    return wait_charging(staff.c, DEV, "start", port, count=before + 1)[-1]


def cut_within_two_polls(bus, port, change):
    """Make a change at the station; the port's coil must be written off
    as the next transaction after the poll that saw it."""
    mark = bus.mark()
    change()
    at, _ = bus.wait_request(coil_write(port, COIL_OFF), 15,
                             "port %d's coil written off" % port, since=mark)
    before = bus.requests(mark)[:at - mark]
    # The poll in flight when the change was made, and the one that saw it.
    assert len(polls(before)) <= 2, before
    assert not writes(before), before


def test_idle_ports_have_a_retained_state(compound, modbus):
    """A station that starts idle: a staff tool that subscribes sees every
    port's retained state (idle, no session) without anything changing."""
    bus, staff = station(compound, modbus)
    for port in (1, 2):
        staff.wait_state(DEV, port, lambda s: s["state"] == "idle")
        st = staff.port_state(DEV, port)
        assert st is not None and st["state"] == "idle", (port, st)
        assert st["session"] is None and st["power_w"] == 0, st


def test_a_session_from_plug_to_unplug(compound, modbus):
    """Plug, charge, unplug: the retained state follows (plugged, then
    charging with its power, current and a session, then idle with no
    session), the journal has one start and one end (unplugged, with the
    session's energy and peaks), both also on events/charging; small
    changes are not published on every poll."""
    c = compound
    bus, staff = station(c, modbus)
    bus.plug(UNIT, 1)
    staff.wait_state(DEV, 1, lambda s: s["state"] == "plugged")
    start = charging(bus, staff, 1)
    st = staff.port_state(DEV, 1)
    assert st["state"] == "charging" and st["session"], st
    assert st["power_w"] == pytest.approx(180, abs=1)
    assert st["current_a"] == pytest.approx(0.8, abs=0.01)
    assert start["body"]["session"] == st["session"]
    assert start["body"]["port"] == 1

    # Less than 20 W and 10 %, less than 1 °C: nothing new to say.
    mark, m = staff.rec.mark(), bus.mark()
    bus.on_port("power", UNIT, 1, 190)
    bus.on_port("temp", UNIT, 1, 25.6)
    wait_polls(bus, 10, since=m)
    assert staff.states(DEV, 1, mark) == []
    bus.on_port("power", UNIT, 1, 400)
    staff.wait_state(DEV, 1, lambda s: s["power_w"] == pytest.approx(
        400, abs=1), since=mark)
    bus.on_port("temp", UNIT, 1, 31.5)
    staff.wait_state(DEV, 1, lambda s: s["temp_c"] == pytest.approx(
        31.5, abs=0.1), since=mark)

    # Above 65535: both words.  Energy alone is no reason to publish.
    bus.on_port("energy", UNIT, 1, 70123)
    wait_polls(bus, 3, since=bus.mark())
    bus.unplug(UNIT, 1)
    end = wait_charging(c, DEV, "end", port=1)[0]
    assert end["reason"] == "unplugged", end
    body = end["body"]
    assert body["session"] == st["session"]
    assert 70123 <= body["energy_wh"] <= 70200, body
    assert body["peak_power_w"] == pytest.approx(400, abs=1)
    assert body["peak_temp_c"] == pytest.approx(31.5, abs=0.1)
    staff.wait_state(DEV, 1, lambda s: s["state"] == "idle")
    st = staff.port_state(DEV, 1)
    assert st["state"] == "idle" and st["session"] is None, st
    assert len(charging_rows(c, DEV, "start")) == 1
    assert len(charging_rows(c, DEV, "end")) == 1
    live = [m.json() for m in staff.rec.snapshot() if m.topic == EVENTS]
    assert [(e.get("decision") or e.get("phase")) for e in live
            if e.get("device") == DEV] == ["start", "end"], live
    # Nobody asked for a write: the gateway never wrote to the station.
    assert writes(bus.requests()) == []


def test_too_hot_is_cut_at_once_and_stays_off_until_it_cools(compound,
                                                               modbus):
    """Above max_temp_c the coil is written off as the next transaction;
    the session ends over_temperature with temp_c; a remote start is
    refused while it is hot; switched back on at the station while hot,
    it is cut again at the next poll; once cool, a start is obeyed."""
    c = compound
    bus, staff = station(c, modbus)
    events = c.recorder("cg/%s/events/charging" % c.site)
    charging(bus, staff, 1)
    cut_within_two_polls(bus, 1, lambda: bus.on_port("temp", UNIT, 1, 72.5))
    end = wait_charging(c, DEV, "end", port=1)[0]
    assert end["reason"] == "over_temperature", end
    assert end["body"]["temp_c"] == pytest.approx(72.5, abs=0.1)
    # An alert, for the duty staff: the record says so, as published.
    assert (end["body"]["alert"], end["body"]["severity"],
            end["body"]["suppressed"]) == ("over_temperature", "major",
                                           False), end
    published = events.wait(lambda m: m.json().get("id") == end["body"]["id"],
                            10, "the cut on events/charging")
    assert published.json()["alert"] == "over_temperature"
    assert "alert" not in wait_charging(c, DEV, "start", port=1)[0]["body"]
    assert end["body"]["peak_temp_c"] == pytest.approx(72.5, abs=0.1)
    st = staff.wait_state(DEV, 1, lambda s: s["state"] == "plugged")
    assert st["temp_c"] == pytest.approx(72.5, abs=0.1)

    mark = bus.mark()
    answer = staff.ask(DEV, 1, "req-hot", "start", limit_a=5)
    assert answer["ok"] is False and "hot" in answer["error"], answer
    wait_polls(bus, 6, since=mark)      # over a second: not a repeat
    assert writes(bus.requests(mark)) == []
    assert bus.port_state(UNIT, 1)["coil"] == 0
    assert charging_rows(c, DEV, "refused")[-1]["request"] == "req-hot"

    cut_within_two_polls(bus, 1, lambda: bus.coil(UNIT, 1, True))
    assert bus.port_state(UNIT, 1)["state"] == "plugged"
    # Cut again within the type's cool-down (300 s): no second alert.
    cut = wait_charging(c, DEV, "cut", port=1)[0]
    assert (cut["reason"], cut["body"]["suppressed"]) == (
        "over_temperature", True), cut
    assert "alert" not in cut["body"], cut

    bus.on_port("temp", UNIT, 1, 40)
    staff.wait_state(DEV, 1, lambda s: s["temp_c"] == pytest.approx(40))
    answer = staff.ask(DEV, 1, "req-cool", "start", limit_a=8)
    assert answer == {"request": "req-cool", "ok": True}, answer
    assert bus.port_state(UNIT, 1)["state"] == "charging"
    assert bus.state(UNIT)["limits"][0] == 80
    wait_charging(c, DEV, "start", port=1, count=2)


def test_too_much_current_is_cut_at_once(compound, modbus):
    """Above max_current_a (10 A) the coil is written off as the next
    transaction; the session ends over_current with current_a."""
    c = compound
    bus, staff = station(c, modbus)
    charging(bus, staff, 2)
    cut_within_two_polls(bus, 2,
                         lambda: bus.on_port("current", UNIT, 2, 12.5))
    end = wait_charging(c, DEV, "end", port=2)[0]
    assert end["reason"] == "over_current", end
    assert end["body"]["current_a"] == pytest.approx(12.5, abs=0.01)
    assert end["body"]["alert"] == "over_current", end
    assert bus.port_state(UNIT, 1)["coil"] == 1     # the other port: on


def test_twenty_below_is_not_a_fault(compound, modbus):
    """-20 °C (a winter night) is read as such and changes nothing."""
    c = compound
    bus, staff = station(c, modbus)
    charging(bus, staff, 1)
    mark = bus.mark()
    bus.on_port("temp", UNIT, 1, -20)
    st = staff.wait_state(DEV, 1, lambda s: s["temp_c"] == pytest.approx(
        -20, abs=0.1))
    assert st["state"] == "charging", st
    wait_polls(bus, 5, since=bus.mark())
    assert writes(bus.requests(mark)) == []
    assert [r["decision"] for r in charging_rows(c, DEV)] == ["start"]


def test_a_full_battery_is_stopped_a_short_dip_is_not(compound, modbus):
    """Below full_w (20 W) for full_min (3 s) the port is switched off and
    the session ends full; a dip of two polls does not stop it."""
    c = compound
    bus, staff = station(c, modbus)
    charging(bus, staff, 1)
    mark = bus.mark()
    bus.on_port("power", UNIT, 1, 5)
    wait_polls(bus, 2, since=bus.mark())
    bus.on_port("power", UNIT, 1, 150)
    # full_min is 15 polls of 200 ms: 20 more at full power.
    wait_polls(bus, 20, since=bus.mark())
    assert writes(bus.requests(mark)) == []
    assert charging_rows(c, DEV, "end") == []

    mark = bus.mark()
    bus.on_port("power", UNIT, 1, 5)    # the battery is full
    at, _ = bus.wait_request(coil_write(1, COIL_OFF), 30,
                             "port 1 switched off when full", since=mark)
    # Not at once: it waited full_min (15 polls at most poll_ms apart).
    assert len(polls(bus.requests(mark)[:at - mark])) >= 10
    end = wait_charging(c, DEV, "end", port=1)[0]
    assert end["reason"] == "full", end
    assert len(charging_rows(c, DEV, "start")) == 1


def test_a_fault_code_is_journaled_also_on_an_idle_port(compound, modbus):
    """A fault on an idle port is a fault row with its code; on a
    charging port it also ends the session (fault)."""
    c = compound
    bus, staff = station(c, modbus)
    bus.on_port("fault", UNIT, 2, 17)
    row = wait_charging(c, DEV, "fault", port=2)[0]
    assert row["body"]["fault"] == 17, row
    assert (row["body"]["alert"], row["body"]["severity"]) == (
        "charger_fault", "major"), row
    staff.wait_state(DEV, 2, lambda s: s["state"] == "fault")
    assert charging_rows(c, DEV, "start") == []

    charging(bus, staff, 1)
    bus.on_port("fault", UNIT, 1, 9)
    row = wait_charging(c, DEV, "fault", port=1)[0]
    assert row["body"]["fault"] == 9, row
    end = wait_charging(c, DEV, "end", port=1)[0]
    assert end["reason"] == "fault", end
    # One row per fault, not one per poll.
    wait_polls(bus, 5, since=bus.mark())
    assert len(charging_rows(c, DEV, "fault")) == 2


def test_a_silent_station_is_offline_and_read_afresh_after(compound,
                                                            modbus):
    """The station stops answering: a command is answered with an error
    within about 5 s, its ports are offline (retained), the session ends
    offline, a command is refused as offline; when it answers again its
    ports are read afresh (charging again: a new session)."""
    c = compound
    bus, staff = station(c, modbus)
    charging(bus, staff, 1)
    bus.silent(UNIT)
    answer = staff.ask(DEV, 2, "req-gone", "start", limit_a=5, timeout=10)
    assert answer["ok"] is False and answer["error"], answer
    for port in (1, 2):
        staff.wait_state(DEV, port, lambda s: s["state"] == "offline")
        assert staff.port_state(DEV, port)["state"] == "offline"
    end = wait_charging(c, DEV, "end", port=1)[0]
    assert end["reason"] == "offline", end
    answer = staff.ask(DEV, 2, "req-off", "stop")
    assert answer["ok"] is False and "offline" in answer["error"], answer

    # Read afresh: states published after it answers again, not the
    # charging and idle it had before it went silent.
    back = staff.rec.mark()
    bus.silent(UNIT, False)
    staff.wait_state(DEV, 1, lambda s: s["state"] == "charging", since=back)
    staff.wait_state(DEV, 2, lambda s: s["state"] == "idle", since=back)
    wait_charging(c, DEV, "start", port=1, count=2)


def test_remote_start_and_stop_and_what_is_refused(compound, modbus):
    """A start with limit_a 10 writes holding register 16 (port 2) = 100
    before the coil on, and is answered ok; a stop switches it off (end:
    remote_stop); unknown port, unknown action, a limit out of range are
    answered with an error and write nothing; a duplicate id is neither
    obeyed nor answered twice."""
    c = compound
    bus, staff = station(c, modbus)
    bus.plug(UNIT, 2)
    bus.coil(UNIT, 2, False)
    staff.wait_state(DEV, 2, lambda s: s["state"] == "plugged")
    mark = bus.mark()
    answer = staff.ask(DEV, 2, "req-7", "start", limit_a=10)
    assert answer == {"request": "req-7", "ok": True}, answer
    done = writes(bus.requests(mark))
    assert [(w["function"], w["address"], w["value"]) for w in done] == [
        (6, 16, 100), (5, 1, COIL_ON)], done
    assert bus.state(UNIT)["limits"] == [0, 100]
    staff.wait_state(DEV, 2, lambda s: s["state"] == "charging")
    wait_charging(c, DEV, "start", port=2)

    mark = bus.mark()
    answer = staff.ask(DEV, 2, "req-8", "stop")
    assert answer == {"request": "req-8", "ok": True}, answer
    assert [(w["function"], w["address"], w["value"])
            for w in writes(bus.requests(mark))] == [(5, 1, COIL_OFF)]
    end = wait_charging(c, DEV, "end", port=2)[0]
    assert end["reason"] == "remote_stop", end

    mark = bus.mark()
    for port, request, action, limit, words in (
            (9, "req-port", "start", 5, "port"),
            (1, "req-act", "pause", None, "action"),
            (1, "req-big", "start", 50, "limit"),
            (1, "req-neg", "start", -1, "limit")):
        answer = staff.ask(DEV, port, request, action, limit_a=limit)
        assert answer["ok"] is False, answer
        assert words in answer["error"], answer
    assert writes(bus.requests(mark)) == []
    refused = {r["request"] for r in charging_rows(c, DEV, "refused")}
    assert {"req-port", "req-act", "req-big"} <= refused, refused

    # req-7 again (a QoS 1 redelivery); req-9 after it is the fence.
    since = staff.send(DEV, 2, "req-7", "start", limit_a=10)
    staff.ask(DEV, 1, "req-9", "stop")
    assert staff.answers(DEV, 2, "req-7", since) == []
    assert [w for w in writes(bus.requests(mark))
            if w["address"] in (1, 16)] == []


def test_a_frozen_station_does_not_slow_another_bus(compound, modbus):
    """The simulator of bus-1 is stopped dead (SIGSTOP): the station on
    bus-2 is still polled at most of its pace."""
    bus1 = modbus.charger_bus("bus-1", {1: 2})
    bus2 = modbus.charger_bus("bus-2", {1: 2})
    modbus.charger("charger-a", "bus-1", 1, 2)
    modbus.charger("charger-b", "bus-2", 1, 2)
    modbus.start()
    staff = modbus.staff()
    staff.wait_state("charger-b", 1, lambda s: s["state"] == "idle")
    staff.wait_state("charger-a", 1, lambda s: s["state"] == "idle")
    before = wait_polls(bus2, 10, since=bus2.mark(), unit=1)
    bus1.freeze()
    try:
        during = wait_polls(bus2, 10, since=bus2.mark(), unit=1)
    finally:
        bus1.thaw()
    assert rate(during) >= 0.6 * rate(before), (rate(during), rate(before))


def test_a_reply_of_the_wrong_size_is_not_read_as_data(compound, modbus):
    """The station answers its reads one register short: nothing it says
    then is published as a port's readings (it may be offline); when it
    answers right again, the port is charging as before."""
    c = compound
    bus, staff = station(c, modbus)
    charging(bus, staff, 1)
    mark = staff.rec.mark()
    bus.short(UNIT)
    wait_polls(bus, 6, since=bus.mark())
    bus.short(UNIT, False)
    staff.wait_state(DEV, 1, lambda s: s["state"] == "charging", since=mark)
    for st in staff.states(DEV, 1, mark) + staff.states(DEV, 2, mark):
        assert st["state"] in ("charging", "idle", "offline"), st
        if st["state"] == "charging":
            assert st["power_w"] == pytest.approx(180, abs=1), st
    assert c.gw.running()
    assert [r["decision"] for r in charging_rows(c, DEV)
            if r["decision"] == "fault"] == []
    assert staff.port_state(DEV, 1)["state"] == "charging"


def test_meters_in_either_word_order_read_right(compound, modbus):
    """An SDM120 in the shipped word order and an SDM630 with its words
    swapped: each one's retained state has its readings."""
    bus = modbus.charger_bus("bus-1", {}, meters={5: ("sdm120", "big"),
                                                  6: ("sdm630", "little")})
    modbus.meter("m-1", "bus-1", 5, "sdm120", "big")
    modbus.meter("m-2", "bus-1", 6, "sdm630", "little")
    bus.meter(5, 230.1, 1.25, 287.5, 1234.567)
    bus.meter(6, 229.9, 3.5, 805, 12.5)
    modbus.start()
    staff = modbus.staff()
    for dev, want in (("m-1", (230.1, 1.25, 287.5, 1234567)),
                      ("m-2", (229.9, 3.5, 805, 12500))):
        topic = "cg/jinding-5/meter/%s/state" % dev
        staff.rec.wait(lambda m: m.topic == topic, 15, topic)
        st = staff.meter_state(dev)
        got = (st["voltage_v"], st["current_a"], st["power_w"],
               st["energy_wh"])
        assert got == pytest.approx(want, abs=0.06), (dev, st)
