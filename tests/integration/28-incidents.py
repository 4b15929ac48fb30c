"""Incidents and the 5341 rule (DESIGN §4.1, §4.7, issue 10): an alert
opens an incident, the same type on the same device joins it (a count,
no new message); staff acknowledge and resolve it over MQTT with an
operator, answered on .../result, and the retained .../state follows;
unacknowledged after ack_min it is re-alerted as a text ringing the duty
mobiles, unresolved after its severity's deadline it is escalated, each
once; an urgent one rings from its first message; every step is a record
of kind incident; open incidents and their deadlines survive a restart.

The WeChat robot is the stand-in of tests/sim/robot.py; cameras' events
are the alerts (cool-down 0: each event is an alert)."""

import re

import pytest

import harness
from conftest import DUTY_MOBILES, GATEWAY_TEMPLATE, wechat_overrides
from camera_sim import NativeCamera
from incident_staff import IncidentStaff

WORLD = GATEWAY_TEMPLATE + """
[alert intrusion]
severity = major
cooldown_s = 0

[alert crowd]
severity = minor
cooldown_s = 0

[alert falling_object]
severity = urgent
cooldown_s = 0

[device cam-1]
driver = camera

[device cam-2]
driver = camera
"""

OPERATOR = "王师傅"


@pytest.fixture
def desk(wechat):
    """The compound (not started), its cameras and the staff tool come
    with start()."""
    c = wechat
    c.template = WORLD
    c.cams = {}
    return c


def start(c, **incidents):
    overrides = wechat_overrides(c)
    for key, value in incidents.items():
        overrides[("incidents", key)] = str(value)
    c.start(overrides=overrides)
    c.staff = IncidentStaff(c.broker.port, site=c.site)
    c.recorders.append(c.staff)
    for cam in ("cam-1", "cam-2"):
        c.cams[cam] = NativeCamera(c.broker.port, cam, site=c.site).connect()
        c.recorders.append(c.cams[cam])
    return c


def steps(c, n=None, phase=None):
    """Records of kind incident (bodies), in journal order."""
    where, params = "kind = 'incident'", []
    if phase is not None:
        where += " AND decision = ?"
        params.append(phase)
    rows = c.journal.rows(where, tuple(params))
    return [r["body"] for r in rows
            if n is None or r["body"].get("incident") == n]


def wait_step(c, phase, n=None, device=None, count=1, timeout=15):
    def enough():
        found = [b for b in steps(c, n, phase)
                 if device is None or b.get("device") == device]
        return found if len(found) >= count else None
    return harness.wait_for(enough, timeout, "%d '%s' incident records%s"
                            % (count, phase, " of #%s" % n if n else ""),
                            interval=0.05)


def incident_of(text):
    m = re.search(r"事件 ?#(\d+)", text)
    return int(m.group(1)) if m else None


def about(n):
    return lambda r: incident_of(r.shown) == n


def open_on_status(c, count, timeout=15):
    """Wait for gateway/status to count this many open incidents."""
    def ok(m):
        try:
            status = m.json()
        except ValueError:
            return False
        return (isinstance(status, dict) and
                (status.get("incidents") or {}).get("open") == count)
    return c.gw.status.wait(ok, timeout, "%d open incidents on "
                            "gateway/status" % count)


def alert(c, cam, type, score=0.9):
    """A camera event; the camera record's id."""
    return c.cams[cam].event(type, score)


def test_open_join_ack_resolve(desk):
    c = start(desk)
    robot = c.robot
    first = alert(c, "cam-1", "intrusion", 0.91)
    opened = wait_step(c, "open", device="cam-1")[0]
    n = opened["incident"]
    assert (opened["phase"], opened["type"], opened["severity"],
            opened["device"], opened["events"], opened["ring"]) == (
        "open", "intrusion", "major", "cam-1", 1, False), opened
    assert opened["event"]["score"] == 0.91, opened
    state = c.staff.wait_state(n, lambda s: s.get("events") == 1)
    assert (state["incident"], state["state"], state["severity"],
            state["type"], state["device"]) == (
        n, "open", "major", "intrusion", "cam-1"), state
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", state["opened"])
    msg = robot.wait_messages(1, 15, where=about(n))[0]
    assert msg.shown.startswith("【重要】闯入"), msg.shown
    assert msg.msgtype == "markdown"
    assert c.journal.rows("kind = 'camera' AND request = ?", (first,))

    # The same type on the same camera joins it: a count, no message.
    alert(c, "cam-1", "intrusion", 0.8)
    joined = wait_step(c, "join", n)[0]
    assert (joined["events"], joined["type"], joined["device"]) == (
        2, "intrusion", "cam-1"), joined
    assert joined["event"]["score"] == 0.8
    c.staff.wait_state(n, lambda s: s.get("events") == 2)
    # Another camera, or another type: incidents of their own.
    alert(c, "cam-2", "intrusion")
    other = wait_step(c, "open", device="cam-2")[0]["incident"]
    alert(c, "cam-1", "crowd")
    crowd = [b for b in wait_step(c, "open", device="cam-1", count=2)
             if b["type"] == "crowd"][0]["incident"]
    assert len({n, other, crowd}) == 3
    robot.wait_messages(1, 15, where=about(other))
    robot.wait_messages(1, 15, where=about(crowd))
    assert len([r for r in robot.snapshot() if about(n)(r)]) == 1

    # Refused: no operator; an incident that does not exist.
    _, answer = c.staff.ack(n, operator=None)
    assert answer["ok"] is False and answer.get("error"), answer
    _, answer = c.staff.ack(9999)
    assert answer["ok"] is False and answer.get("error"), answer
    assert steps(c, n, "ack") == []

    request, answer = c.staff.ack(n, note="已到场")
    assert answer == {"request": request, "ok": True}, answer
    acked = wait_step(c, "ack", n)[0]
    assert acked["operator"] == OPERATOR, acked
    state = c.staff.wait_state(n, lambda s: s.get("state") == "acked")
    assert state["acked_by"] == OPERATOR, state
    assert c.staff.retained(n)["state"] == "acked"

    request, answer = c.staff.resolve(n)
    assert answer == {"request": request, "ok": True}, answer
    resolved = wait_step(c, "resolve", n)[0]
    assert resolved["operator"] == OPERATOR, resolved
    c.staff.wait_state(n, lambda s: s.get("state") == "resolved")
    assert c.staff.retained(n)["state"] == "resolved"

    # After it was resolved, the next one opens a new incident.
    alert(c, "cam-1", "intrusion")
    fresh = [b for b in wait_step(c, "open", device="cam-1", count=3)
             if b["type"] == "intrusion"][-1]["incident"]
    assert fresh not in (n, other, crowd)
    assert len(steps(c, n, "join")) == 1
    # gateway/status counts the open ones: other, crowd and fresh.
    open_on_status(c, 3)


def test_realert_escalate_ring_duty(desk):
    """ack_min 0.05 (3 s), minor_min 0.1 (6 s): a minor incident left
    alone is re-alerted once, then escalated once, both ringing the duty
    mobiles; an acknowledged one is not re-alerted."""
    c = start(desk, ack_min=0.05, minor_min=0.1)
    robot = c.robot
    alert(c, "cam-1", "crowd")
    opened = wait_step(c, "open", device="cam-1")[0]
    n = opened["incident"]
    first = robot.wait_messages(1, 15, where=about(n))[0]
    assert first.msgtype == "markdown" and first.mentions == []
    assert first.shown.startswith("【提醒】人员聚集"), first.shown

    realert = wait_step(c, "realert", n)[0]
    assert realert["ring"] is True, realert
    ring = robot.wait_messages(1, 15, where=lambda r: about(n)(r) and
                               r.shown.startswith("【未确认】"))[0]
    assert ring.msgtype == "text", ring["body"]
    assert sorted(ring.mentions) == sorted(DUTY_MOBILES), ring["body"]
    assert "人员聚集" in ring.shown and "cam-1" in ring.shown

    escalated = wait_step(c, "escalate", n)[0]
    assert escalated["ring"] is True, escalated
    up = robot.wait_messages(1, 15, where=lambda r: about(n)(r) and
                             r.shown.startswith("【升级】"))[0]
    assert up.msgtype == "text"
    assert sorted(up.mentions) == sorted(DUTY_MOBILES), up["body"]

    # Not before its time: the re-alert ack_min after the open, the
    # escalation minor_min after it.
    rows = {r["decision"]: r["ts_ms"] for r in c.journal.rows(
        "kind = 'incident'") if r["body"].get("incident") == n}
    assert rows["realert"] - rows["open"] >= 3000 - 50, rows
    assert rows["escalate"] - rows["open"] >= 6000 - 50, rows

    # An urgent one rings from its first message; acknowledged at once,
    # it is not re-alerted.
    alert(c, "cam-2", "falling_object")
    urgent = wait_step(c, "open", device="cam-2")[0]
    u = urgent["incident"]
    assert (urgent["severity"], urgent["ring"]) == ("urgent", True)
    msg = robot.wait_messages(1, 15, where=about(u))[0]
    assert msg.shown.startswith("【紧急】高空抛物"), msg.shown
    assert sorted(msg.mentions) == sorted(DUTY_MOBILES), msg["body"]
    _, answer = c.staff.ack(u)
    assert answer["ok"] is True, answer

    # A third incident opened later, re-alerted in its turn: by then n
    # has had time to be re-alerted again, and u to be re-alerted.
    alert(c, "cam-2", "crowd")
    late = [b for b in wait_step(c, "open", device="cam-2", count=2)
            if b["type"] == "crowd"][0]["incident"]
    wait_step(c, "realert", late)
    robot.wait_messages(1, 15, where=lambda r: about(late)(r) and
                        r.shown.startswith("【未确认】"))
    assert len(steps(c, n, "realert")) == 1
    assert len(steps(c, n, "escalate")) == 1
    assert steps(c, u, "realert") == []
    assert len([r for r in robot.messages() if about(n)(r)]) == 3


def test_survives_restart(desk):
    """An open incident, its count and its deadline across a kill -9 and
    a restart: still open, re-alerted once in its time, joined and
    acknowledged afterwards, new incidents numbered after it.  The robot
    refuses (HTTP 500) until the kill, so that no message is in flight
    then (that one could come twice)."""
    c = start(desk, ack_min=0.1)
    robot = c.robot
    robot.answer(500)
    alert(c, "cam-1", "intrusion")
    alert(c, "cam-1", "intrusion")
    n = wait_step(c, "open", device="cam-1")[0]["incident"]
    wait_step(c, "join", n)
    robot.wait_requests(1, 15)
    c.restart(kill=True)
    robot.answer(0)
    state = c.staff.retained(n)
    assert (state["state"], state["events"]) == ("open", 2), state
    robot.wait_messages(1, 30, where=about(n))
    # Its deadline was kept: re-alerted once, 6 s after the open.
    realert = wait_step(c, "realert", n, timeout=20)[0]
    assert realert["ring"] is True, realert
    robot.wait_messages(1, 15, where=lambda r: about(n)(r) and
                        r.shown.startswith("【未确认】"))
    c.restart()
    # The same type on the same camera still joins it.
    alert(c, "cam-1", "intrusion")
    joined = wait_step(c, "join", n, count=2)[-1]
    assert joined["events"] == 3, joined
    request, answer = c.staff.ack(n)
    assert answer == {"request": request, "ok": True}, answer
    state = c.staff.wait_state(n, lambda s: s.get("state") == "acked")
    assert (state["acked_by"], state["events"]) == (OPERATOR, 3), state
    assert c.staff.retained(n)["state"] == "acked"
    alert(c, "cam-2", "intrusion")
    m = wait_step(c, "open", device="cam-2")[0]["incident"]
    assert m > n
    robot.wait_messages(1, 15, where=about(m))
    assert len(steps(c, n, "open")) == 1
    assert len(steps(c, n, "realert")) == 1
    delivered = [r.shown for r in robot.messages() if about(n)(r)]
    assert len(delivered) == 2, delivered       # the first, the re-alert
    assert len([t for t in delivered if t.startswith("【未确认】")]) == 1
    open_on_status(c, 2)
