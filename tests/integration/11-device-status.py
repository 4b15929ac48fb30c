"""A gate's terminal going online or offline (its retained status, and its
will when it loses power) is an event in the journal (DESIGN §4.1,
issue 2); one offline for longer than [alert device_offline] grace_s, or
not online that long after start, is a device_offline alert (DESIGN
§4.7, issue 10)."""

from conftest import GATEWAY_TEMPLATE
from face_terminal import FaceTerminal

GRACE = """
[alert device_offline]
grace_s = 2
"""


def device_rows(compound, gate):
    return compound.journal.rows("kind = 'device' AND device = ?", (gate,))


def wait_device_rows(compound, gate, count):
    return compound.journal.wait_rows("kind = 'device' AND device = ?",
                                      (gate,), count=count,
                                      what="%d device rows for %s"
                                      % (count, gate))


def test_terminal_online_then_power_cut_then_back(compound):
    c = compound
    c.start()
    assert device_rows(c, "gate-south") == []

    term = FaceTerminal(c.broker.port, "gate-south", site=c.site).connect()
    rows = wait_device_rows(c, "gate-south", 1)
    assert [r["decision"] for r in rows] == ["online"]

    term.close(graceful=False)          # the broker publishes its will
    rows = wait_device_rows(c, "gate-south", 2)
    assert [r["decision"] for r in rows] == ["online", "offline"]

    term = FaceTerminal(c.broker.port, "gate-south", site=c.site).connect()
    try:
        rows = wait_device_rows(c, "gate-south", 3)
        assert [r["decision"] for r in rows] == ["online", "offline",
                                                 "online"]
        # And it is published as an event like any other.
        assert rows[-1]["body"]["kind"] == "device"
        assert rows[-1]["body"]["device"] == "gate-south"
    finally:
        term.close()


def test_repeated_status_is_not_a_change(compound):
    c = compound
    c.start()
    term = c.terminal("gate-north")
    wait_device_rows(c, "gate-north", 1)
    # The same "online" again (a terminal reboot that never went offline).
    term.send("status", "online")
    # Barrier: a decision on this gate comes after the status was read.
    c.ask("gate-north", "P0001")
    assert [r["decision"] for r in device_rows(c, "gate-north")] == [
        "online"]


def offline_alerts(compound):
    return compound.journal.rows("kind = 'device' AND "
                                 "decision = 'offline_alert'")


def test_gate_offline_past_its_grace_is_an_alert(compound):
    c = compound
    c.template = GATEWAY_TEMPLATE + GRACE
    # Both terminals online (retained) before the gateway starts.
    c.broker.start()
    north, south = c.terminal("gate-north"), c.terminal("gate-south")
    c.start()
    events = c.recorder("cg/%s/events/device" % c.site)
    c.journal.wait_rows("kind = 'device' AND decision = 'online'", count=2,
                        what="both gates online")

    # A reboot: gate-south back at once.  Then gate-north's power goes.
    south.close(graceful=False)
    wait_device_rows(c, "gate-south", 2)
    c.terminals["gate-south"] = FaceTerminal(
        c.broker.port, "gate-south", site=c.site).connect()
    wait_device_rows(c, "gate-south", 3)
    north.close(graceful=False)
    del c.terminals["gate-north"]

    alert = c.journal.wait_rows(
        "kind = 'device' AND decision = 'offline_alert'", timeout=15,
        what="gate-north's offline alert")
    # gate-south went first: had it stayed away, its alert would have
    # come first too.
    assert [r["device"] for r in alert] == ["gate-north"], alert
    body = alert[0]["body"]
    assert (body["alert"], body["severity"], body["suppressed"]) == (
        "device_offline", "major", False), body
    assert alert[0]["reason"] == "offline for more than 2 s"
    assert body["since"] < body["ts"], body
    # Published on events/device like every record.
    msg = events.wait(lambda m: m.json().get("decision") == "offline_alert",
                      10, "the offline alert on events/device")
    assert (msg.json()["device"], msg.json()["alert"]) == (
        "gate-north", "device_offline")
    # Once per outage.
    c.ask("gate-south", "P0001")
    assert len(offline_alerts(c)) == 1


def test_gate_offline_at_start_or_never_online_is_an_alert(compound):
    c = compound
    c.template = GATEWAY_TEMPLATE + GRACE
    # gate-north said offline before the gateway started (retained);
    # gate-south never says anything.
    c.broker.start()
    FaceTerminal(c.broker.port, "gate-north", site=c.site).connect().close()
    c.start()
    rows = c.journal.wait_rows(
        "kind = 'device' AND decision = 'offline_alert'", count=2,
        timeout=15, what="both gates' offline alerts")
    reasons = {r["device"]: r["reason"] for r in rows}
    assert reasons == {
        "gate-north": "offline for more than 2 s",
        "gate-south": "not online within 2 s of start"}, reasons
    assert {r["body"]["alert"] for r in rows} == {"device_offline"}
