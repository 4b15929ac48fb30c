"""gatewayctl explain WHO [GATE] (DESIGN §4.8): against a running gatewayd,
why a person, card, visitor or plate would pass or be refused, in words
staff read and with the file:line of the access.d entry (or the
gateway.ini device) that decided — with live state: a visitor's entries
used at the gates count."""

from datetime import timedelta

import pytest

from conftest import GATEWAY_TEMPLATE, minute

BARRIERS = """
[parking]
capacity = 3

[device lpr-in]
driver = lpr
min_confidence = 0.85

[device lpr-out]
driver = lpr

[device barrier-in]
driver = barrier_mqtt
lane = in
camera = lpr-in

[device barrier-out]
driver = barrier_mqtt
lane = out
camera = lpr-out
"""


def vehicles_ini(s):
    return f"""\
[vehicle 吉A12345]
household = 5-2-301
plan = monthly
valid_until = {s.next_year}

[vehicle 吉C55555]
household = 5-3-101
plan = monthly
valid_until = {s.yesterday}

[deny 吉B00000]
reason = 欠费车辆
"""


@pytest.fixture
def gw(compound):
    compound.template = GATEWAY_TEMPLATE + BARRIERS
    compound.write_access("vehicles.ini", vehicles_ini(compound.schedule))
    compound.start()
    return compound


def at(path, header):
    """path:LINE of the section header in the file, as explain says it."""
    lines = path.read_text(encoding="utf-8").split("\n")
    n = [i for i, line in enumerate(lines) if line.startswith(header)]
    assert len(n) == 1, (path, header)
    return "%s:%d" % (path, n[0] + 1)


def access(c, name, header):
    return at(c.access_dir / name, header)


def explain(c, *args):
    """The answer as --json gives it, and the exit status."""
    r = c.ctl("explain", *args, json=True)
    return r.data, r.returncode


def verdict(c, who, gate, *more):
    data, rc = explain(c, who, gate, *more)
    assert len(data["verdicts"]) == 1, data
    v = data["verdicts"][0]
    assert v["device"] == gate
    return data, v, rc


def test_person_allowed_and_refused(gw):
    c = gw
    data, v, rc = verdict(c, "P0001", "gate-north")
    assert rc == 0
    assert (data["found"], data["as"], data["name"], data["household"]) == (
        True, "person", "张三", "5-2-301")
    assert data["where"] == access(c, "people.ini", "[person P0001]")
    assert (v["allow"], v["reason"], v["group"]) == (True, "group",
                                                      "resident")
    assert v["words"] == ("group resident lets P0001 in at gate-north "
                          "(hours: always)")

    # Outside the hours of the only group that has the gate.
    data, v, rc = verdict(c, "C0002", "gate-north")
    assert rc == 1
    assert (v["allow"], v["reason"], v["group"]) == (
        False, "outside_hours", "cleaner-night")
    assert v["words"].startswith(
        "group cleaner-night lets in %s only; it is " %
        c.schedule.hours_not_now), v["words"]
    assert v["where"] == access(c, "people.ini", "[group cleaner-night]")

    # No group of theirs has the gate.
    data, v, rc = verdict(c, "N0001", "gate-south")
    assert rc == 1
    assert (v["reason"], v["words"]) == (
        "wrong_gate", "no group of N0001's (north-only) has gate gate-south")
    assert v["where"] == access(c, "people.ini", "[person N0001]")

    # valid_until was yesterday.
    data, v, rc = verdict(c, "P0003", "gate-north")
    assert v["reason"] == "expired"
    assert v["words"].startswith("P0003 was valid until %s; it is " %
                                 c.schedule.yesterday), v["words"]
    assert v["where"] == access(c, "people.ini", "[person P0003]")

    # The deny list, with its reason, by card too.
    data, v, rc = verdict(c, "P0666", "gate-south")
    assert (v["allow"], v["reason"]) == (False, "denied")
    assert v["words"] == "P0666 is on the deny list: 多次尾随他人进入"
    assert v["where"] == access(c, "deny.ini", "[deny P0666]")


def test_every_gate_by_card(gw):
    c = gw
    data, rc = explain(c, "0012345678")
    assert rc == 0
    assert (data["as"], data["by"]) == ("person", "card")
    # A card opens gates, not barriers.
    assert [v["device"] for v in data["verdicts"]] == ["gate-north",
                                                       "gate-south"]
    assert all(v["allow"] for v in data["verdicts"])


def test_unknown(gw):
    c = gw
    data, rc = explain(c, "X404")
    assert rc == 1
    assert (data["found"], data["as"]) == (False, "unknown")
    assert data["words"] == "no file in access.d names X404"
    for v in data["verdicts"]:
        assert (v["reason"], v["where"]) == ("unknown", None)

    # The table staff read says the same.
    r = c.ctl("explain", "X404", "gate-north")
    assert r.returncode == 1
    assert "no file in access.d names X404" in r.stdout
    assert "unknown" in r.stdout


def test_visitors_window_and_entries_used(gw):
    c = gw
    s = c.schedule
    data, v, rc = verdict(c, "PV002", "gate-north")
    assert (data["as"], data["by"], data["host"]) == ("visitor", "person id",
                                                      "5-2-302")
    assert (v["allow"], v["reason"]) == (False, "visitor_window")
    assert v["words"].startswith(
        "visitor V2 may come in from %s until %s; it is " %
        (s.later_from, s.later_until)), v["words"]
    assert v["where"] == access(c, "visitors.ini", "[visitor V2]")

    data, v, rc = verdict(c, "V1", "gate-north")
    assert rc == 0
    assert v["words"].endswith("this would be entry 1 of 2"), v["words"]

    # Two entries used at the gates: the live state says none are left.
    for gate in ("gate-north", "gate-south"):
        request, cmd = c.ask(gate, "PV001")
        assert cmd["action"] == "open"
    data, v, rc = verdict(c, "V1", "gate-north")
    assert rc == 1
    assert (v["reason"], v["words"]) == (
        "no_entries", "visitor V1 has used 2 of 2 entries")
    assert v["where"] == access(c, "visitors.ini", "[visitor V1]")


def test_plates(gw):
    c = gw
    data, v, rc = verdict(c, "吉a·12345", "barrier-in")
    assert rc == 0
    assert (data["as"], data["plan"]) == ("vehicle", "monthly")
    assert (v["kind"], v["reason"]) == ("barrier", "plan")
    assert v["where"] == access(c, "vehicles.ini", "[vehicle 吉A12345]")

    # The out lane lets no car in: gateway.ini's device decided.
    data, v, rc = verdict(c, "吉A12345", "barrier-out")
    assert (rc, v["reason"]) == (1, "wrong_way")
    assert v["words"] == ("barrier-out is an out lane: no car comes in "
                          "through it")
    assert v["where"] == at(c.ini, "[device barrier-out]")

    data, v, rc = verdict(c, "吉C55555", "barrier-in")
    assert (rc, v["reason"]) == (1, "expired")
    assert v["words"].startswith("the monthly plan of 吉C55555 lapsed "
                                 "after %s" % c.schedule.yesterday)
    assert v["where"] == access(c, "vehicles.ini", "[vehicle 吉C55555]")

    data, v, rc = verdict(c, "吉B 00000", "barrier-in")
    assert (data["as"], v["reason"]) == ("denied", "denied")
    assert v["words"] == "吉B00000 is on the deny list: 欠费车辆"
    assert v["where"] == access(c, "vehicles.ini", "[deny 吉B00000]")

    # Without a barrier named: every barrier, no gate.
    data, rc = explain(c, "吉D99999")
    assert (rc, data["found"]) == (1, False)
    assert [v["device"] for v in data["verdicts"]] == ["barrier-in",
                                                       "barrier-out"]
    assert data["verdicts"][0]["words"] == \
        "no file in access.d names plate 吉D99999"


def test_at_another_time(gw):
    c = gw
    # C0002's group lets in three to five hours from now.
    later = minute(c.schedule.now + timedelta(hours=4))
    data, v, rc = verdict(c, "C0002", "gate-north", "--at", later)
    assert (rc, v["allow"], v["reason"]) == (0, True, "group")
    assert data["at"] == later


def test_usage(gw):
    c = gw
    assert c.ctl("explain").returncode == 2
    assert c.ctl("explain", "P0001", "--at", "tomorrowish").returncode == 2
