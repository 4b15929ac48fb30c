"""A request id seen again on the same gate within ten minutes (a QoS 1
redelivery, or a replay by an attacker) is journaled as a duplicate and
actuates nothing, also across a restart (DESIGN §4.1)."""

import json
import time

import pytest


def replay(terminal, request, person="P0001"):
    """The same request again, byte for byte as a redelivery would be."""
    body = {"id": request, "person": person, "score": 0.93,
            "direction": "in", "ts": int(time.time() * 1000)}
    terminal.send("face", json.dumps(body))


def assert_not_answered_again(compound, gate, request):
    """One command for request, even once a later request is answered.

    The gateway answers a gate's requests in order, so the later answer
    is the barrier: no sleep decides that nothing came.
    """
    barrier, _ = compound.ask(gate, "P0001")
    assert compound.terminal(gate).cmds_for(barrier)
    assert len(compound.terminal(gate).cmds_for(request)) == 1


def decisions(compound, request, gate):
    return [r["decision"] for r in compound.journal.for_request(request,
                                                                 gate)]


@pytest.mark.parametrize("person,first", [("P0001", "allow"),
                                          ("P0099", "deny")])
def test_replay_actuates_once(compound, person, first):
    c = compound
    c.start()
    north = c.terminal("gate-north")
    request, cmd = c.ask("gate-north", person)
    assert cmd["action"] == ("open" if first == "allow" else "deny")

    replay(north, request, person)
    assert_not_answered_again(c, "gate-north", request)
    c.journal.wait_rows("request = ? AND decision = 'duplicate'",
                        (request,))
    assert decisions(c, request, "gate-north") == [first, "duplicate"]
    dup = c.journal.rows("request = ? AND decision = 'duplicate'",
                         (request,))[0]
    assert (dup["kind"], dup["device"]) == ("access", "gate-north")


def test_same_id_on_another_gate_is_decided(compound):
    c = compound
    c.start()
    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    _, cmd = c.ask("gate-south", "P0001", request=request)
    assert (cmd["action"], cmd["request"]) == ("open", request)
    assert decisions(c, request, "gate-south") == ["allow"]


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "kill9"])
def test_replay_after_restart_is_a_duplicate(compound, kill):
    c = compound
    c.start()
    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"

    c.restart(kill=kill)
    replay(c.terminal("gate-north"), request)
    assert_not_answered_again(c, "gate-north", request)
    c.journal.wait_rows("request = ? AND decision = 'duplicate'",
                        (request,))
    assert decisions(c, request, "gate-north") == ["allow", "duplicate"]
