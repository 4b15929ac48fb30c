"""When the journal cannot be written, the gates are still answered; ids
are never handed out twice; and one data directory has one gatewayd
(DESIGN §3: the journal has one writer)."""

import os
import sqlite3
import subprocess

import harness


def test_no_journal_at_start_still_decides(compound):
    """A data_dir that cannot be used (a full or broken card at boot) does
    not stop the gates."""
    c = compound
    c.start(overrides={("gateway", "data_dir"): "/dev/null/data"})
    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open" and cmd["request"] == request
    c.gw.wait_log(r"journal: cannot open it in /dev/null/data: the gates "
                  r"are decided all the same")


def test_locked_journal_decisions_go_on_and_ids_stay_unique(compound):
    c = compound
    c.start()
    events = c.recorder("cg/%s/events/access" % c.site)
    first, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    events.wait(lambda m: m.json().get("request") == first, 10,
                "the first decision's record")
    before = c.journal.max_seq()

    # Another process holds the write lock (as an editor opening the
    # journal without -readonly would): commits fail, quickly.
    path = os.path.join(str(c.data_dir), "journal.db")
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        mark = c.gw.log_mark()
        during, cmd = c.ask("gate-north", "P0001")
        assert cmd["action"] == "open", "a resident was not let in"
        c.gw.wait_log(r"journal .*: (begin|insert|commit): .*decisions go "
                      r"on, unjournaled", since=mark)
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    after, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    rec = events.wait(lambda m: m.json().get("request") == after, 10,
                      "the record after recovery")
    c.gw.wait_log(r"journal .*: writing again")

    # The decision made while locked has no row and no published record;
    # the next one takes an id above every id handed out before (the
    # failed batch's ids stay a gap: never given twice).
    assert c.journal.for_request(during, "gate-north") == []
    assert not [m for m in events.snapshot()
                if m.json().get("request") == during]
    row = c.row(after, "gate-north")
    assert row["seq"] > before
    assert rec.json()["id"] == "%s:%d" % (c.site, row["seq"])
    ids = [m.json()["id"] for m in events.snapshot()]
    assert len(ids) == len(set(ids)), ids


def test_second_gatewayd_on_the_same_data_dir_is_refused(compound):
    c = compound
    c.start()
    second = subprocess.run([c.binary, "-c", str(c.ini)],
                            capture_output=True, text=True, timeout=20)
    assert second.returncode == 1
    assert "another gatewayd is running on %s" % c.data_dir in second.stderr
    # The first goes on undisturbed.
    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    assert harness.Journal(c.data_dir).for_request(request, "gate-north")
