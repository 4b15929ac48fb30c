"""Alerts reach the staff's WeChat Work group through its robot (DESIGN
§4.6, issue 10), here a stand-in on loopback (tests/sim/robot.py) that
records every request: one alert is one message, its plate masked; a
burst of hundreds stays within per_minute in any minute and what was held
back comes as a summary with the right counts, none lost; 45009 is sent
again once, later; 93000 stops sending while the gates go on, and a fixed
key with SIGHUP resumes; a hung robot delays no gate; a kill -9 with
messages queued loses none and repeats none; the key is in no log line,
no journal row and no status message."""

import json
import os
import re
import signal
import statistics
import time

import pytest

import harness
from conftest import (DUTY_MOBILES, GATEWAY_TEMPLATE, WECHAT_KEY,
                      secret_leaks, wechat_overrides, write_secret)
from plate_camera import PlateCamera
from robot import PATH

# Types with their severity spelled out, so that the defaults may change:
# cool-downs of 0, so that each event is an alert of its own.
ALERTS = """
[alert vehicle_unknown]
severity = minor
cooldown_s = 0

[alert crowd]
severity = minor
cooldown_s = 0

[alert intrusion]
severity = major
cooldown_s = 0

[alert falling_object]
severity = urgent
cooldown_s = 0

; The test's cameras never say they are online: past grace_s (120 s),
; a test as long as that would see each of them alerted as offline.
[alert device_offline]
severity = none

[device lpr-in]
driver = lpr

[device barrier-in]
driver = barrier_mqtt
lane = in
camera = lpr-in
"""

CAMERAS = ["cam-%03d" % i for i in range(1, 101)]
WORLD = GATEWAY_TEMPLATE + ALERTS + "".join(
    "\n[device %s]\ndriver = camera\n" % cam for cam in CAMERAS)

LABELS = {"crowd": "人员聚集", "intrusion": "闯入",
          "falling_object": "高空抛物", "vehicle_unknown": "未登记车辆"}
SUMMARY = re.compile(r"^【汇总】过去 (\d+) 分钟另有 (\d+) 条告警未单独发送：(.*)$",
                     re.S)


class Events:
    """Camera events from one MQTT client, on any camera's topic."""

    def __init__(self, c):
        self.site = c.site
        self.n = 0
        self.client = harness.paho_client("events-%d" % os.getpid())
        self.client.connect(harness.LOCALHOST, c.broker.port, keepalive=30)
        self.client.loop_start()
        c.recorders.append(self)        # closed at teardown

    def send(self, camera, type, score=0.9):
        self.n += 1
        request = "%s-e%d" % (camera, self.n)
        info = self.client.publish(
            "cg/%s/camera/%s/event" % (self.site, camera), json.dumps(
                {"id": request, "type": type, "score": score,
                 "ts": int(time.time() * 1000)}), qos=1)
        info.wait_for_publish(5)
        assert info.is_published()
        return request

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def start(c, **wechat):
    c.template = WORLD
    c.start(overrides=wechat_overrides(c, **wechat))
    c.events = Events(c)
    return c


def incident_of(text):
    m = re.search(r"事件 ?#(\d+)", text)
    return int(m.group(1)) if m else None


def opened(c, device, count=1, timeout=15):
    """The incidents opened on device (their open records' bodies)."""
    rows = c.journal.wait_rows(
        "kind = 'incident' AND decision = 'open' AND device = ?", (device,),
        count=count, timeout=timeout,
        what="%d incidents opened on %s" % (count, device))
    return [r["body"] for r in rows]


def about(n):
    """A robot request about incident n."""
    return lambda r: incident_of(r.shown) == n


def delivered_about(c, n):
    return [r for r in c.robot.messages() if incident_of(r.shown) == n]


def no_secret(c, secret=WECHAT_KEY):
    leaks = secret_leaks(c, secret)
    assert leaks == [], "the webhook key shows in %s" % leaks


def face_latency(c, gate, person="P0001"):
    term = c.terminal(gate)
    t0 = time.monotonic()
    request = term.face(person)
    cmd = term.wait_cmd(request, 10)
    assert cmd["action"] == "open", cmd
    return time.monotonic() - t0


# -- one alert, one message ------------------------------------------------

def test_one_alert_one_message_masked(wechat):
    c = start(wechat)
    robot = c.robot
    cam = PlateCamera(c.broker.port, "lpr-in", "barrier-in",
                      site=c.site).connect()
    c.terminals["lpr-in"] = cam         # closed at teardown
    request = cam.read("吉A12345")
    assert cam.wait_cmd(request)["action"] == "deny"
    # The refusal is journaled as an alert of type vehicle_unknown.
    rows = c.journal.for_request(request, "barrier-in")
    assert [r["decision"] for r in rows if r["kind"] == "vehicle"] == [
        "deny"], rows
    alerts = [(r["body"].get("alert"), r["body"].get("severity"))
              for r in rows if "alert" in r["body"]]
    assert alerts == [("vehicle_unknown", "minor")], rows
    n = opened(c, "barrier-in")[0]["incident"]

    msg = robot.wait_messages(1, 15, where=about(n))[0]
    assert msg["path"] == PATH and msg["key"] == WECHAT_KEY, msg
    # Minor: markdown, which rings nobody.
    assert msg.msgtype == "markdown", msg["body"]
    text = msg.shown
    assert text.startswith("【提醒】未登记车辆"), text
    assert "吉A***45" in text and "barrier-in" in text, text
    assert re.search(r"\b\d\d:\d\d\b", text), text

    # A later alert is the mark after which a second message about the
    # car would have come.
    c.events.send("cam-001", "intrusion")
    robot.wait_messages(1, 15, where=about(opened(c, "cam-001")[0][
        "incident"]))
    # The unknown car's alert went once, and its plate never in the clear.
    assert len([r for r in robot.snapshot() if about(n)(r)]) == 1
    for r in robot.snapshot():
        seen = json.dumps(r["body"], ensure_ascii=False) + r["raw"].decode(
            "utf-8", "replace")
        assert "吉A12345" not in seen and "A12345" not in seen, seen
    no_secret(c)


def test_urgent_rings_duty_from_first_message(wechat):
    c = start(wechat)
    robot = c.robot
    c.events.send("cam-001", "falling_object")
    urgent = opened(c, "cam-001")[0]
    assert (urgent["severity"], urgent["ring"]) == ("urgent", True), urgent
    ring = robot.wait_messages(1, 15, where=about(urgent["incident"]))[0]
    assert ring["path"] == PATH and ring["key"] == WECHAT_KEY
    assert ring.msgtype == "text", ring["body"]
    assert ring.shown.startswith("【紧急】高空抛物"), ring.shown
    assert "cam-001" in ring.shown, ring.shown
    assert re.search(r"\b\d\d:\d\d\b", ring.shown), ring.shown
    assert sorted(ring.mentions) == sorted(DUTY_MOBILES), ring["body"]
    # A minor one rings nobody: markdown.
    c.events.send("cam-002", "crowd")
    quiet = robot.wait_messages(1, 15, where=about(
        opened(c, "cam-002")[0]["incident"]))[0]
    assert quiet.msgtype == "markdown", quiet["body"]
    assert quiet.shown.startswith("【提醒】人员聚集"), quiet.shown
    assert len(robot.snapshot()) == 2, [r.shown for r in robot.snapshot()]
    no_secret(c)


# -- a burst ----------------------------------------------------------------

def most_in_a_minute(requests):
    """The most requests the robot got within any 60 s.  Its clock sees
    each a little after it left: 0.5 s of that is allowed."""
    times = sorted(r["t"] for r in requests)
    most = 0
    for i, t in enumerate(times):
        most = max(most, len([u for u in times[i:] if u < t + 59.5]))
    return most


def summary_counts(text):
    """(minutes, total, {label: count}) of a summary's text."""
    m = SUMMARY.match(text)
    assert m, text
    counts = {}
    for item in m.group(3).strip().split("，"):
        label, _, count = item.strip().rpartition(" ")
        counts[label] = int(count)
    return int(m.group(1)), int(m.group(2)), counts


@pytest.mark.slow
def test_burst_within_per_minute_summary_loses_none(wechat):
    """200 alerts at once (100 cameras, two types each): per_minute 5, one
    kept for messages that ring; the rest held back and summarised."""
    c = start(wechat, per_minute=5, urgent_reserve=1)
    robot = c.robot
    for cam in CAMERAS:
        c.events.send(cam, "crowd")
        c.events.send(cam, "intrusion")
    rows = c.journal.wait_rows("kind = 'incident' AND decision = 'open'",
                               count=200, timeout=30,
                               what="200 incidents opened")
    assert len(rows) == 200
    types = {r["body"]["incident"]: r["body"]["type"] for r in rows}

    def accounted():
        """Alerts sent on their own, and those counted in summaries."""
        own, held = [], {}
        for r in robot.messages():
            if r.shown.startswith("【汇总】"):
                for label, k in summary_counts(r.shown)[2].items():
                    held[label] = held.get(label, 0) + k
            else:
                own.append(incident_of(r.shown))
        return own, held

    # The first minute's four, then (once it is over) the summary.
    harness.wait_for(
        lambda: (len(accounted()[0]) + sum(accounted()[1].values())
                 >= 200), 100, "every alert sent or summarised",
        interval=0.5)
    # One more, urgent, later: the mark after which nothing more of the
    # burst may come.  It goes on its own or in a summary.
    c.events.send("cam-001", "falling_object")
    late = [r["body"]["incident"] for r in c.journal.wait_rows(
        "kind = 'incident' AND decision = 'open' AND device = 'cam-001'",
        count=3, what="the late incident")][-1]
    harness.wait_for(
        lambda: (late in accounted()[0] or
                 accounted()[1].get(LABELS["falling_object"])),
        75, "the late alert sent or summarised", interval=0.5)

    assert most_in_a_minute(robot.snapshot()) <= 5, [
        harness_time(r) for r in robot.snapshot()]
    own, held = accounted()
    own = [n for n in own if n != late]
    assert len(own) == len(set(own)), "an alert sent twice: %s" % own
    assert None not in own, [r.shown for r in robot.messages()]
    summaries = [r.shown for r in robot.messages()
                 if r.shown.startswith("【汇总】")]
    assert summaries, [r.shown for r in robot.messages()]
    for text in summaries:
        minutes, total, counts = summary_counts(text)
        assert total == sum(counts.values()), text
        assert 1 <= minutes <= 3, text
    # Each type: those sent on their own and those summarised, 100.
    for type in ("crowd", "intrusion"):
        alone = len([n for n in own if types.get(n) == type])
        assert alone + held.get(LABELS[type], 0) == 100, (
            type, own, summaries)
    assert set(held) <= {LABELS["crowd"], LABELS["intrusion"],
                         LABELS["falling_object"]}, summaries
    assert held.get(LABELS["falling_object"], 0) <= 1, summaries
    assert len(own) >= 1, own
    no_secret(c)


def harness_time(r):
    return "%.3f %s %s" % (r["t"], r["answer"], r.shown[:40])


# -- the robot's answers ------------------------------------------------------

@pytest.mark.slow
def test_45009_sent_again_later_delivered_once(wechat):
    c = start(wechat)
    robot = c.robot
    robot.answer(45009, times=1)
    c.events.send("cam-001", "intrusion")
    n = opened(c, "cam-001")[0]["incident"]
    first = robot.wait_requests(1, 15)[0]
    assert first["answer"] == "45009" and about(n)(first), first
    again = robot.wait_messages(1, 80, where=about(n))[0]
    # The same message, after the key's pause of 30-65 s.
    assert again["body"] == first["body"]
    assert again["t"] - first["t"] >= 29.5, again["t"] - first["t"]
    # Later messages go, and that one never again.
    c.events.send("cam-002", "intrusion")
    m = opened(c, "cam-002")[0]["incident"]
    robot.wait_messages(1, 15, where=about(m))
    assert len([r for r in robot.snapshot() if about(n)(r)]) == 2
    assert len(delivered_about(c, n)) == 1
    no_secret(c)


def wechat_status(c, predicate, what, since=0, timeout=15):
    """The first gateway/status whose "wechat" satisfies predicate."""
    def ok(m):
        try:
            w = m.json().get("wechat")
        except (ValueError, AttributeError):
            return False
        return isinstance(w, dict) and predicate(w)
    return c.gw.status.wait(ok, timeout, what, since=since).json()["wechat"]


def test_93000_stops_gates_go_on_sighup_resumes(wechat):
    c = wechat
    c.args = ["-v"]                     # all it would log
    start(c)
    robot = c.robot
    robot.answer(93000)
    c.events.send("cam-001", "intrusion")
    a = opened(c, "cam-001")[0]["incident"]
    robot.wait_requests(1, 15)
    status = wechat_status(c, lambda w: w.get("state") == "stopped",
                           "wechat stopped on gateway/status")
    assert status.get("errcode") == 93000, status
    c.gw.wait_log(r"93000", 10)

    # The gates keep going; alerts are journaled and kept, not sent.
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    c.events.send("cam-002", "intrusion")
    b = opened(c, "cam-002")[0]["incident"]
    _, cmd = c.ask("gate-south", "P0001")
    assert cmd["action"] == "open"
    _, cmd = c.ask("gate-south", "P0099")
    assert cmd["action"] == "deny"
    assert len(robot.snapshot()) == 1, [r.shown for r in
                                        robot.snapshot()]
    assert c.gw.running()

    # The key fixed, and a reload: both alerts go, once each.
    fixed = "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
    write_secret(c.root / "wechat.key", fixed)
    robot.answer(0)
    mark = c.gw.status.mark()
    c.gw.signal(signal.SIGHUP)
    robot.wait_messages(1, 30, where=about(a))
    robot.wait_messages(1, 30, where=about(b))
    assert all(r["key"] == fixed for r in robot.messages())
    wechat_status(c, lambda w: w.get("state") == "ok",
                  "wechat ok again on gateway/status", since=mark)
    c.events.send("cam-003", "intrusion")
    robot.wait_messages(1, 15, where=about(
        opened(c, "cam-003")[0]["incident"]))
    assert len(delivered_about(c, a)) == 1
    assert len(delivered_about(c, b)) == 1
    no_secret(c)
    no_secret(c, fixed)


def test_hung_robot_delays_no_gate(wechat):
    c = start(wechat)
    robot = c.robot
    before = [face_latency(c, ("gate-north", "gate-south")[i % 2])
              for i in range(20)]
    robot.answer("hang")
    c.events.send("cam-001", "intrusion")
    n = opened(c, "cam-001")[0]["incident"]
    robot.wait_hanging(1, 15)
    during = [face_latency(c, ("gate-north", "gate-south")[i % 2])
              for i in range(20)]
    # Answered as fast as before (a blocking request would cost up to
    # timeout_s, 10 s, per decision).
    assert max(during) < 1.0, during
    assert statistics.median(during) <= 3 * statistics.median(before) + \
        0.02, (before, during)

    # A stop waits at most 2 s for the hung request; the message stays
    # queued and goes once the robot answers again.
    t0 = time.monotonic()
    rc = c.gw.stop()
    assert rc == 0 and time.monotonic() - t0 < 4, (rc, time.monotonic() - t0)
    robot.drop_hanging()
    robot.answer(0)
    c.gw.start()
    robot.wait_messages(1, 30, where=about(n))
    c.events.send("cam-002", "intrusion")
    robot.wait_messages(1, 15, where=about(
        opened(c, "cam-002")[0]["incident"]))
    assert len(delivered_about(c, n)) == 1
    no_secret(c)


def test_kill9_with_queue_each_delivered_once(wechat):
    c = start(wechat)
    robot = c.robot
    robot.answer(500)
    cams = CAMERAS[:5]
    for cam in cams:
        c.events.send(cam, "intrusion")
    numbers = [opened(c, cam)[0]["incident"] for cam in cams]
    robot.wait_requests(2, 20)      # tried, refused, tried again
    assert c.robot.messages() == []
    c.restart(kill=True)
    robot.answer(0)
    for n in numbers:
        robot.wait_messages(1, 60, where=about(n))
    c.events.send("cam-010", "intrusion")
    robot.wait_messages(1, 30, where=about(
        opened(c, "cam-010")[0]["incident"]))
    for n in numbers:
        assert len(delivered_about(c, n)) == 1, (n, [
            r.shown for r in robot.messages()])
    no_secret(c)


def test_key_file_readable_by_others_refused(wechat):
    """A key others may read is refused at start (gatewayd -t says
    where), and nothing is sent."""
    c = wechat
    c.template = WORLD
    overrides = wechat_overrides(c)
    os.chmod(c.root / "wechat.key", 0o644)
    c.broker.start()
    c.write_ini(overrides)
    import subprocess
    proc = subprocess.run([c.binary, "-t", "-c", str(c.ini)],
                          capture_output=True, timeout=20)
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    assert proc.returncode == 1, out
    assert re.search(r"gateway\.ini:\d+: .*wechat\.key", out), out
    assert WECHAT_KEY not in out
    assert c.robot.snapshot() == []
