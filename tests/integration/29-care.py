"""Wellbeing (DESIGN §5, issue 10): a person with care = daily|weekly
who has passed no gate for [care] daily_min/weekly_min raises a quiet
text to the steward of their building (steward.<building>), mentioning
the steward's mobile only — not the duty mobiles, not an incident — with
the household and how long, never the full name; repeated once a period
while it lasts; ended by their next pass at a gate (a care_end record,
and one message in the group that rings nobody: no visit needed), after
which no more messages come.  A building without a steward gets
the message in the group, nobody rung.

Periods are seconds long ([care] in minutes, decimals allowed); the
robot's budget is set wide so that it plays no part here."""

import time
from datetime import datetime

import pytest

import harness
from conftest import DUTY_MOBILES, GATEWAY_TEMPLATE, wechat_overrides

DAILY_MIN, WEEKLY_MIN = 0.08, 0.15          # 4.8 s, 9 s
STEWARD = "13700000005"

CARE_INI = """\
[person P0100]
name = 欧阳娜娜
household = 5-3-201
groups = resident
care = daily

[person P0101]
name = 刘桂兰
household = 5-3-202
groups = resident
care = daily

[person P0102]
name = 黄淑珍
household = 7-1-101
groups = resident
care = weekly
"""


@pytest.fixture
def cared(wechat):
    c = wechat
    c.template = GATEWAY_TEMPLATE
    c.write_access("care.ini", CARE_INI)
    overrides = wechat_overrides(c, per_minute=60, urgent_reserve=0)
    overrides.update({("care", "daily_min"): str(DAILY_MIN),
                      ("care", "weekly_min"): str(WEEKLY_MIN),
                      ("care", "steward.5"): STEWARD})
    c.start(overrides=overrides)
    return c


def care_rows(c, person, decision="care"):
    return [r for r in c.journal.rows(
        "kind = 'system' AND decision = ?", (decision,))
        if (r["body"].get("subject") or {}).get("id") == person]


def wait_care(c, person, decision="care", count=1, timeout=30):
    return harness.wait_for(
        lambda: (care_rows(c, person, decision)
                 if len(care_rows(c, person, decision)) >= count else None),
        timeout, "%d %s records of %s" % (count, decision, person),
        interval=0.05)


def for_household(household):
    return lambda r: household in r.shown


def test_steward_rung_then_pass_ends_it(cared):
    c = cared
    robot = c.robot
    started = time.time()

    # P0100 (building 5): a care record, and a text to the steward.
    row = wait_care(c, "P0100")[0]
    body = row["body"]
    assert body["subject"] == {"type": "person", "id": "P0100",
                               "household": "5-3-201"}, body
    assert (body["building"], body["care"]) == ("5", "daily"), body
    # Since when (RFC 3339), and how long in minutes (whole ones: 0 for
    # a test's period of seconds).
    since = datetime.fromisoformat(body["since"]).timestamp() * 1000
    assert row["ts_ms"] - since >= DAILY_MIN * 60000 - 100, (row, since)
    assert isinstance(body["minutes"], (int, float)) and \
        body["minutes"] >= 0, body
    assert row["ts_ms"] / 1000 - started >= DAILY_MIN * 60 - 1.5, (
        row["ts_ms"], started)
    msg = robot.wait_messages(1, 20, where=for_household("5-3-201"))[0]
    assert msg.msgtype == "text", msg["body"]
    assert msg.shown.startswith("【关怀】"), msg.shown
    assert msg.mentions == [STEWARD], msg["body"]
    assert "欧阳娜娜" not in msg.shown and "娜娜" not in msg.shown

    # Building 7 has no steward: the group sees it, nobody is rung.
    msg7 = robot.wait_messages(1, 30, where=for_household("7-1-101"))[0]
    assert msg7.shown.startswith("【关怀】"), msg7.shown
    assert msg7.mentions == [], msg7["body"]
    assert "黄淑珍" not in msg7.shown
    assert wait_care(c, "P0102")[0]["body"]["care"] == "weekly"

    # A pass at a gate ends it.
    _, cmd = c.ask("gate-north", "P0100")
    assert cmd["action"] == "open", cmd
    end = wait_care(c, "P0100", "care_end")[0]
    assert end["body"]["subject"]["id"] == "P0100", end
    episode = len(care_rows(c, "P0100"))
    # ... and no more of it while P0100 keeps passing, over two periods
    # in which P0101, who does not, is reminded again.
    seen = len(care_rows(c, "P0101"))
    deadline = time.monotonic() + 2 * DAILY_MIN * 60 + 1
    while time.monotonic() < deadline:
        _, cmd = c.ask(("gate-north", "gate-south")[int(
            time.monotonic()) % 2], "P0100")
        assert cmd["action"] == "open"
        time.sleep(1)
    wait_care(c, "P0101", count=seen + 1)
    assert len(care_rows(c, "P0100")) == episode
    assert len(care_rows(c, "P0100", "care_end")) == 1
    # Every care record of P0100 was one message to the steward, and
    # none came after; the end is said once in the group, ringing nobody
    # (no visit needed).
    robot.wait_messages(episode + 1, 20, where=for_household("5-3-201"))
    about = [r for r in robot.messages() if for_household("5-3-201")(r)]
    assert [r.mentions for r in about] == [[STEWARD]] * episode + [[]], [
        (r.mentions, r.shown) for r in about]
    assert about[-1].shown.startswith("【关怀】"), about[-1].shown

    # Repeated once a period: P0101's records a period apart.
    times = [r["ts_ms"] for r in care_rows(c, "P0101")]
    assert len(times) >= 2
    for a, b in zip(times, times[1:]):
        assert b - a >= DAILY_MIN * 60000 - 100, times

    # To the steward only; no incident, no duty mobile rung.
    for r in robot.messages():
        if r.shown.startswith("【关怀】"):
            assert not set(r.mentions) & set(DUTY_MOBILES), r["body"]
            for name in ("欧阳娜娜", "刘桂兰", "黄淑珍"):
                assert name not in r.shown, r.shown
    assert c.journal.rows("kind = 'incident'") == []
