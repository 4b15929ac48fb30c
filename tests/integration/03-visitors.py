"""Visitors: let in within their window, as many times as their entries
allow and no more, also when gatewayd restarts in between (entries are
counted in the journal, DESIGN §5)."""


def assert_open(compound, gate, request, cmd, display):
    assert cmd == {"action": "open", "request": request, "display": display,
                   "open_ms": 3000 if gate == "gate-north" else 2500}


def assert_visitor_row(compound, gate, request, decision, reason,
                       direction="in", visitor="V1", host="5-2-301"):
    row = compound.row(request, gate)
    assert (row["decision"], row["reason"], row["direction"]) == (
        decision, reason, direction)
    assert (row["subject_type"], row["subject_id"], row["household"]) == (
        "visitor", visitor, host)


def test_two_entries_then_refused_also_after_restart(compound):
    c = compound
    c.start()

    # Entry 1, by face.
    request, cmd = c.ask("gate-north", "PV001")
    assert_open(c, "gate-north", request, cmd, "李* 欢迎来访")
    assert_visitor_row(c, "gate-north", request, "allow", "visitor")

    # A power cut: the entry used must not come back.
    c.restart(kill=True)

    # Going out uses no entry.
    request, cmd = c.ask("gate-south", "PV001", direction="out")
    assert cmd["action"] == "open"
    assert_visitor_row(c, "gate-south", request, "allow", "exit",
                       direction="out")

    # Entry 2, by the visitor's card.
    request, cmd = c.ask_card("gate-south", "0099000001")
    assert_open(c, "gate-south", request, cmd, "李* 欢迎来访")
    assert_visitor_row(c, "gate-south", request, "allow", "visitor")

    # A third entry is refused...
    request, cmd = c.ask("gate-north", "PV001")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "no_entries")
    assert_visitor_row(c, "gate-north", request, "deny", "no_entries")

    # ...and still refused after a clean restart.
    c.restart()
    request, cmd = c.ask("gate-north", "PV001")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "no_entries")
    assert_visitor_row(c, "gate-north", request, "deny", "no_entries")

    allowed_in = c.journal.rows(
        "kind = 'access' AND subject_id = 'V1' AND decision = 'allow' "
        "AND direction = 'in'")
    assert len(allowed_in) == 2


def test_outside_the_window(compound):
    c = compound
    c.start()
    request, cmd = c.ask("gate-north", "PV002")
    assert (cmd["action"], cmd["request"], cmd.get("reason")) == (
        "deny", request, "visitor_window")
    assert_visitor_row(c, "gate-north", request, "deny", "visitor_window",
                       visitor="V2", host="5-2-302")


def test_low_score_uses_no_entry(compound):
    """min_score applies to visitors as to anyone, and a refusal costs
    nothing: both entries are still there afterwards."""
    c = compound
    c.start()
    request, cmd = c.ask("gate-north", "PV001", score=0.4)
    assert (cmd["action"], cmd.get("reason")) == ("deny", "low_score")
    for _ in range(2):
        request, cmd = c.ask("gate-north", "PV001")
        assert cmd["action"] == "open"
    request, cmd = c.ask("gate-north", "PV001")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "no_entries")


def test_removed_and_added_again_keeps_entries_used(compound):
    """Staff delete a visit and put it back: the entries already used
    stay used (they are counted in the journal, not in the file)."""
    c = compound
    c.start()
    for _ in range(2):
        request, cmd = c.ask("gate-north", "PV001")
        assert cmd["action"] == "open"

    text = (c.access_dir / "visitors.ini").read_text(encoding="utf-8")
    mark = c.gw.log_mark()
    (c.access_dir / "visitors.ini").unlink()
    c.gw.wait_log(r"reloaded access tables .* 0 visitors", since=mark)
    request, cmd = c.ask("gate-north", "PV001")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "unknown")

    mark = c.gw.log_mark()
    c.write_access("visitors.ini", text)
    c.gw.wait_log(r"reloaded access tables .* 2 visitors", since=mark)
    request, cmd = c.ask("gate-north", "PV001")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "no_entries")
