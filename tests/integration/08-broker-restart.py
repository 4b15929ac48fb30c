"""The broker restarts (an upgrade, a crash): gatewayd reconnects with
backoff, subscribes again and decides again within seconds, without
restarting itself (DESIGN §3, issue 2)."""

import time

import harness

DEADLINE_S = 15         # generous: the backoff starts at 0.5 s


def decided_again(compound):
    """Ask until a fresh request is answered; the first answer's command.

    Each try is a new request id, sent while the terminal itself may
    still be reconnecting: requests lost that way are simply retried.
    """
    term = compound.terminal("gate-north")

    def one_try():
        if not term.client.is_connected():
            return None
        try:
            request = term.face("P0001")
            return request, term.wait_cmd(request, timeout=0.5)
        except TimeoutError:
            return None
    return harness.wait_for(one_try, DEADLINE_S,
                            "a decision after the broker restart",
                            interval=0.1)


def test_gateway_decides_again_after_broker_restart(compound):
    c = compound
    c.start()
    pid = c.gw.pid()
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"

    mark = c.gw.status.mark()
    c.broker.restart()
    # The new broker starts empty: an "online" now is the reconnection.
    c.gw.wait_online(DEADLINE_S, since=mark)

    request, cmd = decided_again(c)
    assert (cmd["action"], cmd["request"]) == ("open", request)
    assert c.row(request, "gate-north")["decision"] == "allow"
    assert c.gw.running() and c.gw.pid() == pid


def test_gateway_waits_for_a_broker_that_is_down(compound):
    """Down for longer than a few backoff steps, then back."""
    c = compound
    c.start()
    mark = c.gw.status.mark()
    c.broker.stop()
    # The outage, not a measurement: long enough for the backoff
    # (0.5 s, doubling) to fail a few times; it must not give up.
    time.sleep(2.5)
    assert c.gw.running()
    c.broker.start()
    c.gw.wait_online(DEADLINE_S, since=mark)
    request, cmd = decided_again(c)
    assert cmd["action"] == "open"
