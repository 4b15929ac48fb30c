"""gatewayd as systemd runs it: a retained online status while it runs,
and on SIGTERM a retained offline status, a stop row in the journal and
exit status 0; after a kill -9 the broker publishes its will (DESIGN
§4.1, issue 2).  What it tells systemd itself is 13-notify.py's."""

import re
import signal

import harness


def state_of(message):
    return message.json().get("state")


def retained_status(compound, state):
    """What a newcomer sees on the gateway's status topic."""
    rec = compound.recorder("cg/%s/gateway/status" % compound.site)
    return rec.wait(lambda m: state_of(m) == state, 10,
                    "a %s gateway status" % state)


def system_rows(compound, what):
    return [r for r in compound.journal.rows("kind = 'system'")
            if what in (r["decision"], r["reason"])]


def test_online_status_is_retained(compound):
    c = compound
    c.start()
    msg = retained_status(c, "online")
    assert msg.retain
    assert re.fullmatch(r"\d+\.\d+\.\d+", msg.json()["version"])
    assert system_rows(c, "start"), c.journal.rows()


def test_sigterm_stops_cleanly(compound):
    c = compound
    c.start()
    request, cmd = c.ask("gate-north", "P0001")
    mark = c.gw.status.mark()

    assert c.gw.stop(timeout=10) == 0

    live = c.gw.status.wait(lambda m: state_of(m) == "offline", 10,
                            "the offline status on SIGTERM", since=mark)
    assert not live.retain
    assert retained_status(c, "offline").retain
    stop = system_rows(c, "stop")
    assert len(stop) == 1, c.journal.rows("kind = 'system'")
    # The stop is the last thing journaled, after the decision.
    rows = c.journal.rows()
    assert rows[-1]["seq"] == stop[0]["seq"]
    assert c.row(request, "gate-north")["seq"] < stop[0]["seq"]


def test_sigint_stops_cleanly(compound):
    c = compound
    c.start()
    c.gw.signal(signal.SIGINT)
    assert c.gw.wait_exit(timeout=10) == 0
    assert system_rows(c, "stop") or system_rows(c, "SIGINT")


def test_will_says_offline_after_kill9(compound):
    c = compound
    c.start()
    c.gw.kill()
    msg = retained_status(c, "offline")
    assert msg.json()["state"] == "offline"
    # And a restart is online again, on the same journal.
    c.gw.start()
    harness.wait_for(lambda: len(system_rows(c, "start")) == 2, 10,
                     "a second start row")
