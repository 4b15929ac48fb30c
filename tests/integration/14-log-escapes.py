"""What a device sends reaches gatewayd's log lines escaped: C0 and C1
controls, the bidi controls (U+202E shows "gpj.exe" as "exe.jpg") and the
line and paragraph separators, in request ids, person ids and topics, are
shown as \\xNN and \\uNNNN; they never break, forge or disguise a line
(issue 6, item 8).  The requests are still decided and answered."""

import re

from face_terminal import FaceTerminal

RLO, LS, CSI, LRI = "\u202e", "\u2028", "\u009b", "\u2066"
RAW = (RLO, LS, CSI, LRI, "\u200e", "\x1b")


def shown(line, compound, since):
    """Wait for a log line that contains this text, as printed."""
    return compound.gw.wait_log(re.escape(line), since=since)


def assert_nothing_raw(compound):
    text = compound.gw.log_text()
    for ch in RAW:
        assert ch not in text, "%r reached the log unescaped" % ch


def test_person_and_request_ids_are_escaped(compound):
    c = compound
    c.start()
    mark = c.gw.log_mark()
    north = c.terminal("gate-north")

    # An unknown person: the decision line shows the id the terminal sent.
    person = "P" + RLO + "9900" + CSI + LS + "\u200e"
    request, cmd = c.ask("gate-north", person)
    assert (cmd["action"], cmd["reason"]) == ("deny", "unknown")
    shown("deny   P\\u202e9900\\u009b\\u2028\\u200e", c, mark)

    # A request id seen twice: the duplicate line shows it.
    rid = "req-" + RLO + "gpj.exe-" + LRI + CSI
    _, cmd = c.ask("gate-north", "P0001", request=rid)
    assert (cmd["action"], cmd["request"]) == ("open", rid)
    north.face("P0001", request=rid)
    shown("request req-\\u202egpj.exe-\\u2066\\u009b seen at", c, mark)
    assert_nothing_raw(c)


def test_topic_is_escaped(compound):
    c = compound
    c.start()
    mark = c.gw.log_mark()
    # Topics cannot carry controls (the broker drops such a client), but
    # bidi controls and separators pass.
    stranger = FaceTerminal(c.broker.port, "gate-" + RLO + "lived" + LS,
                            site=c.site).connect()
    try:
        stranger.face("P0001")
        shown("gate gate-\\u202elived\\u2028: a face request from a device "
              "that is not in", c, mark)
    finally:
        stranger.close()
    assert_nothing_raw(c)


def test_unreadable_payload_is_escaped(compound):
    """Bytes a JSON parser quotes back in its error message."""
    c = compound
    c.start()
    mark = c.gw.log_mark()
    c.terminal("gate-south").send(
        "face", b'\x1b[2J\n<2>forged' + CSI.encode() + b'{"id":')
    line = c.gw.wait_log(r"gate-south: rejected a request", since=mark)
    assert "\\x1b" in line.string, line.string
    assert not any(l.startswith("<2>forged")
                   for l in c.gw.log_text().split("\n"))
    assert_nothing_raw(c)
