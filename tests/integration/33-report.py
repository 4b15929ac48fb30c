"""The daily report (DESIGN §4.8, issue 12): a day's numbers read from
the journal by `gatewayctl report daily`, matching the events the test
produced in a live compound — faces allowed and refused at two gates, a
visitor, an unknown plate refused at a barrier, the incident it opened
and its acknowledgement within ack_min — and `--send` reaching the group
robot as one markdown message with the plate masked."""

import time
from datetime import datetime

import pytest

from conftest import (GATEWAY_TEMPLATE, TZ, WECHAT_KEY, wechat_overrides,
                      write_secret)
from plate_camera import PlateCamera

WORLD = GATEWAY_TEMPLATE + """
[alert vehicle_unknown]
severity = minor
cooldown_s = 0

; The test's devices never say they are online.
[alert device_offline]
severity = none

[device lpr-in]
driver = lpr

[device barrier-in]
driver = barrier_mqtt
lane = in
camera = lpr-in
"""

STRANGER = "吉B99999"
OPERATOR = "王师傅"


def today():
    return datetime.now(TZ).strftime("%Y-%m-%d")


def midnight_ms():
    now = datetime.now(TZ)
    return int(now.replace(hour=0, minute=0, second=0,
                           microsecond=0).timestamp() * 1000)


@pytest.fixture
def day(wechat):
    """A compound with a robot, and a day of known events in it."""
    c = wechat
    c.template = WORLD
    c.start(overrides=wechat_overrides(c))
    robot = c.robot

    allowed = [c.ask("gate-north", "P0001"), c.ask("gate-south", "P0001"),
               c.ask("gate-north", "PV001")]           # visitor V1
    refused = [c.ask("gate-north", "P0003"),          # expired yesterday
               c.ask("gate-north", "PX404")]          # nobody
    for _, cmd in allowed:
        assert cmd["action"] == "open", cmd
    for _, cmd in refused:
        assert cmd["action"] == "deny", cmd

    cam = PlateCamera(c.broker.port, "lpr-in", "barrier-in",
                      site=c.site).connect()
    c.terminals["lpr-in"] = cam                       # closed at teardown
    request = cam.read(STRANGER)
    assert cam.wait_cmd(request)["action"] == "deny"

    opened = c.journal.wait_rows(
        "kind = 'incident' AND decision = 'open'")[0]["body"]
    n = opened["incident"]
    robot.wait_messages(1)                            # the alert itself
    c.ctl("ack", n, "--operator", OPERATOR, check=0)
    c.journal.wait_rows("kind = 'incident' AND decision = 'ack'")
    c.incident = n
    return c


def journal_counts(c):
    """What the journal says of today, counted here independently."""
    rows = c.journal.rows("ts_ms >= ?", (midnight_ms(),))
    per = {}
    for r in rows:
        if r["kind"] in ("access", "vehicle") and \
                r["decision"] in ("allow", "deny") and \
                r["reason"] != "repeat":
            d = per.setdefault(r["device"], {"in": 0, "out": 0,
                                             "refused": 0})
            if r["decision"] == "deny":
                d["refused"] += 1
            else:
                d["out" if r["direction"] == "out" else "in"] += 1
    return rows, per


def test_numbers_match_the_journal(day):
    c = day
    p = c.ctl("report", "daily", "--date", today(), json=True, check=0)
    r = p.data
    rows, per = journal_counts(c)

    assert r["date"] == today()
    assert r["site"] == c.site
    # Every row of today, the report's own count included.
    assert r["events"] == len(rows)
    got = {d["device"]: {k: d[k] for k in ("in", "out", "refused")}
           for d in r["passages"]}
    assert got == per
    # And what the test did, in so many words.
    assert got["gate-north"] == {"in": 2, "out": 0, "refused": 2}
    assert got["gate-south"] == {"in": 1, "out": 0, "refused": 0}
    assert got["barrier-in"] == {"in": 0, "out": 0, "refused": 1}
    assert [d["kind"] for d in r["passages"]
            if d["device"] == "barrier-in"] == ["barrier"]

    assert r["visitors"]["entries"] == 1
    assert r["visitors"]["visitors"] == 1
    assert r["vehicles"]["unknown"] == 1
    assert r["vehicles"]["unknown_refused"] == 1
    assert r["vehicles"]["unknown_plates"] == [
        {"plate": STRANGER, "refused": 1}]

    inc = r["incidents"]
    assert inc["opened"] == 1
    assert inc["acked"] == 1
    assert inc["acked_in_time"] == 1          # well within 5 minutes
    assert inc["resolved"] == 0
    assert inc["list"][0]["incident"] == c.incident
    assert inc["list"][0]["type"] == "vehicle_unknown"
    assert inc["list"][0]["acked_by"] == OPERATOR
    assert inc["slowest_ack"]["incident"] == c.incident
    ack = c.journal.rows("kind = 'incident' AND decision = 'ack'")[0]
    opened = c.journal.rows("kind = 'incident' AND decision = 'open'")[0]
    assert inc["slowest_ack"]["ms"] == ack["ts_ms"] - opened["ts_ms"]

    assert r["charging"]["sessions"] == 0
    assert r["care"]["alerts"] == 0

    # The same for people: aligned text, nothing masked.
    text = c.ctl("report", "daily", "--date", today(), check=0).stdout
    assert "Daily report %s" % today() in text
    assert "Incidents (5341): 1 opened" in text
    assert STRANGER in text
    lines = text.splitlines()
    head = next(line for line in lines if line.startswith("  DEVICE"))
    north = next(line for line in lines
                 if line.startswith("  gate-north "))
    assert north[head.index(" IN ") + 1] == "2"


def test_other_days_and_bad_dates(day):
    c = day
    r = c.ctl("report", "daily", "--date", "2020-01-01", json=True,
              check=0).data
    assert r["events"] == 0 and r["passages"] == []
    # Yesterday by default: none of today's events.
    r = c.ctl("report", "daily", json=True, check=0).data
    assert r["date"] != today()
    assert r["incidents"]["opened"] == 0
    c.ctl("report", "daily", "--date", "2026-02-30", check=2)
    c.ctl("report", "weekly", check=2)


def test_send_reaches_the_robot(day):
    """--send: the control socket's notify journals the markdown, and
    the WeChat sink sends it as it is."""
    c = day
    robot = c.robot
    since = robot.mark()
    c.ctl("report", "daily", "--date", today(), "--send", check=0)
    msg = robot.wait_messages(
        1, since=since, timeout=15,
        where=lambda m: m.msgtype == "markdown" and "日报" in m.content)[0]
    assert today() in msg.content
    assert len(msg.content.encode()) <= 4096
    assert "事件 1 起" in msg.content
    assert STRANGER not in msg.content          # masked for the group
    assert "吉B***99" in msg.content
    # It is a journal record like any alert: the outbox.
    rows = c.journal.rows("kind = 'system' AND decision = 'report'")
    assert len(rows) == 1
    assert rows[0]["body"]["markdown"] == msg.content


def test_morning_report_once_a_day(wechat):
    """[report] at passed: yesterday's report is journaled and sent by
    gatewayd itself, once; a restart the same day does not send it
    again.  (Needs report_live_tick() on the daemon's tick.)"""
    c = wechat
    c.template = WORLD
    overrides = wechat_overrides(c)
    overrides[("report", "at")] = "00:00"
    c.start(overrides=overrides)
    yesterday = c.ctl("report", "daily", json=True, check=0).data["date"]
    msg = c.robot.wait_messages(
        1, timeout=15,
        where=lambda m: m.msgtype == "markdown" and "日报" in m.content)[0]
    assert yesterday in msg.content
    rows = c.journal.rows("kind = 'system' AND decision = 'report'")
    assert [r["reason"] for r in rows] == ["daily " + yesterday]

    c.restart()
    c.journal.wait_rows("kind = 'system' AND decision = 'start'", count=2)
    # A negative can only be waited for: two ticks after the start, the
    # schedule has looked, found the day's report journaled, and made
    # none.
    time.sleep(2.5)
    rows = c.journal.rows("kind = 'system' AND decision = 'report'")
    assert len(rows) == 1
    assert len([m for m in c.robot.messages()
                if "日报" in m.content]) == 1


REPORT_KEY = "report-robot-key-0002"


def test_report_robot_of_its_own(wechat):
    """[report] webhook_key_file: the report goes to that robot (its own
    key, its own cursor "report"), alerts only to [wechat]'s, and each
    robot gets each message once."""
    c = wechat
    c.template = WORLD
    overrides = wechat_overrides(c)
    overrides[("report", "at")] = "00:00"
    overrides[("report", "webhook_key_file")] = str(
        write_secret(c.root / "report.key", REPORT_KEY))
    c.start(overrides=overrides)
    msg = c.robot.wait_messages(
        1, timeout=15, where=lambda m: "日报" in m.content)[0]
    assert msg["key"] == REPORT_KEY
    # An alert: the alerts robot's alone.
    cam = PlateCamera(c.broker.port, "lpr-in", "barrier-in",
                      site=c.site).connect()
    c.terminals["lpr-in"] = cam
    assert cam.wait_cmd(cam.read(STRANGER))["action"] == "deny"
    alert = c.robot.wait_messages(
        1, timeout=15, where=lambda m: "日报" not in m.content)[0]
    assert alert["key"] == WECHAT_KEY
    c.ctl("report", "daily", "--date", today(), "--send", check=0)
    c.robot.wait_messages(2, timeout=15, where=lambda m: "日报" in m.content)
    time.sleep(1)
    got = [(m["key"], "日报" in m.content) for m in c.robot.messages()]
    assert got.count((REPORT_KEY, True)) == 2, got
    assert (WECHAT_KEY, True) not in got and (REPORT_KEY, False) not in got
    s = c.ctl("status", json=True, check=0).data
    assert s["report_robot"]["delivered"] == 2
    assert s["wechat"]["delivered"] == 1
