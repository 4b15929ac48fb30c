"""Face and card requests at the gates: who is let in, who is refused and
why, as a face terminal and the journal see it (DESIGN §4.1, §4.4, §5)."""

import json
import time

import pytest

# Deny commands carry exactly these keys, allow commands these.
DENY_KEYS = {"action", "request", "reason", "display"}
OPEN_KEYS = {"action", "request", "display", "open_ms"}

OPEN_MS = {"gate-north": 3000, "gate-south": 2500}

# (test id, gate, credential, subject, request options,
#  expected: action, deny reason | display, journal reason, subject row)
CASES = [
    ("resident", "gate-north", "face", "P0001", {},
     "open", "张* 欢迎回家", "group resident",
     ("person", "P0001", "5-2-301")),
    ("resident-last-valid-day", "gate-south", "face", "P0002", {},
     "open", "欧*** 欢迎回家", "group resident",
     ("person", "P0002", "5-2-302")),
    ("score-at-min", "gate-north", "face", "P0001", {"score": 0.80},
     "open", "张* 欢迎回家", "group resident",
     ("person", "P0001", "5-2-301")),
    ("cleaner-inside-hours", "gate-north", "face", "C0001", {},
     "open", "李* 欢迎回家", "group cleaner-day",
     ("person", "C0001", None)),
    ("cleaner-outside-hours", "gate-north", "face", "C0002", {},
     "deny", "outside_hours", "outside_hours",
     ("person", "C0002", None)),
    ("group-for-this-gate", "gate-north", "face", "N0001", {},
     "open", "钱* 欢迎回家", "group north-only",
     ("person", "N0001", "5-1-101")),
    ("wrong-gate", "gate-south", "face", "N0001", {},
     "deny", "wrong_gate", "wrong_gate",
     ("person", "N0001", "5-1-101")),
    ("expired", "gate-north", "face", "P0003", {},
     "deny", "expired", "expired",
     ("person", "P0003", "5-3-101")),
    ("expired-going-out", "gate-north", "face", "P0003",
     {"direction": "out"},
     "open", "王* 一路平安", "exit",
     ("person", "P0003", "5-3-101")),
    ("unknown", "gate-north", "face", "P0099", {},
     "deny", "unknown", "unknown",
     ("person", "P0099", None)),
    # Going out through a two-way gate takes a recognised identity and
    # nothing more (see 02's exit-gate test for a gate set up as exit).
    ("unknown-going-out", "gate-north", "face", "P0099",
     {"direction": "out"},
     "deny", "unknown", "unknown",
     ("person", "P0099", None)),
    ("doubtful-going-out", "gate-north", "face", "P0001",
     {"direction": "out", "score": 0.3},
     "deny", "low_score", "low_score",
     ("person", "P0001", None)),
    # Not recognised well enough: the id is recorded, not who that is.
    ("low-score", "gate-north", "face", "P0001", {"score": 0.5},
     "deny", "low_score", "low_score",
     ("person", "P0001", None)),
    ("denied", "gate-north", "face", "P0666", {},
     "deny", "denied", "denied",
     ("person", "P0666", "5-1-102")),
    ("denied-going-out", "gate-south", "face", "P0666",
     {"direction": "out"},
     "open", "孙* 一路平安", "exit",
     ("person", "P0666", "5-1-102")),
    ("stale", "gate-north", "face", "P0001",
     {"ts": int(time.time() * 1000) - 120_000},
     "deny", "stale", "stale",
     ("person", "P0001", None)),
    ("card", "gate-south", "card", "0012345678", {},
     "open", "张* 欢迎回家", "group resident",
     ("person", "P0001", "5-2-301")),
    ("unknown-card", "gate-south", "card", "0000000001", {},
     "deny", "unknown", "unknown",
     ("card", "0000000001", None)),
]


def send(compound, gate, credential, subject, options):
    if credential == "card":
        return compound.ask_card(gate, subject, **options)
    return compound.ask(gate, subject, **options)


@pytest.mark.parametrize(
    "gate,credential,subject,options,action,detail,journal_reason,who",
    [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decision(running_compound, gate, credential, subject, options,
                  action, detail, journal_reason, who):
    c = running_compound
    request, cmd = send(c, gate, credential, subject, options)

    # What the terminal shows and does.
    if action == "open":
        assert cmd == {"action": "open", "request": request,
                       "display": detail, "open_ms": OPEN_MS[gate]}
    else:
        assert set(cmd) == DENY_KEYS, cmd
        assert (cmd["action"], cmd["request"], cmd["reason"]) == (
            "deny", request, detail)
        assert isinstance(cmd["display"], str) and cmd["display"]

    # What the journal says, in its columns and in its record.
    row = c.row(request, gate)
    direction = options.get("direction", "in")
    assert (row["kind"], row["decision"], row["reason"],
            row["direction"]) == ("access",
                                  "allow" if action == "open" else "deny",
                                  journal_reason, direction)
    assert (row["subject_type"], row["subject_id"], row["household"]) == who
    body = row["body"]
    assert body["id"] == "%s:%d" % (c.site, row["seq"])
    assert (body["kind"], body["device"], body["request"],
            body["decision"], body["reason"]) == (
        "access", gate, request, row["decision"], journal_reason)
    assert body["subject"]["type"] == who[0]
    assert body["subject"]["id"] == who[1]


def test_answer_goes_to_the_asking_gate_only(running_compound):
    """Each answer above went to its own gate only."""
    c = running_compound
    north = c.terminal("gate-north")
    request, _ = c.ask("gate-south", "P0001")
    # A barrier on north: once its answer is in, south's would be too.
    barrier, _ = c.ask("gate-north", "P0001")
    assert north.cmds_for(request) == []
    assert c.terminal("gate-south").cmds_for(barrier) == []


def test_decision_is_published_as_an_event(running_compound):
    c = running_compound
    events = c.recorder("cg/%s/events/#" % c.site)
    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    msg = events.wait(lambda m: json.loads(m.payload).get("request") ==
                      request, 10, "the access event for %s" % request)
    assert msg.topic == "cg/%s/events/access" % c.site
    assert json.loads(msg.payload) == c.row(request, "gate-north")["body"]


def test_event_timestamps_are_local_rfc3339(running_compound):
    c = running_compound
    request, _ = c.ask("gate-north", "P0001")
    body = c.row(request, "gate-north")["body"]
    # Asia/Shanghai has no daylight saving: always +08:00.
    assert body["ts"].endswith("+08:00"), body["ts"]


def test_a_gate_set_up_as_exit_holds_nobody(compound):
    """direction = out: the unknown and the doubtful are let out (and
    journaled); a terminal there claiming "in" is decided as coming in."""
    c = compound
    c.start(overrides={("device gate-south", "direction"): "out"})

    request, cmd = c.ask("gate-south", "P0099", direction="out")
    assert (cmd["action"], cmd["display"]) == ("open", "一路平安")
    row = c.row(request, "gate-south")
    assert (row["decision"], row["reason"], row["direction"],
            row["subject_id"]) == ("allow", "exit", "out", "P0099")

    request, cmd = c.ask("gate-south", "P0001", score=0.2, direction="out")
    assert cmd["action"] == "open"

    mark = c.gw.log_mark()
    request, cmd = c.ask("gate-south", "P0099", direction="in")
    assert (cmd["action"], cmd["reason"]) == ("deny", "unknown")
    assert c.row(request, "gate-south")["direction"] == "in"
    c.gw.wait_log(r"gate-south: the terminal says 'in' but the gate is "
                  r"set up for 'out' only", since=mark)
