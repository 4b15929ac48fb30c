"""The journal under what happens to a card in a guard room (issue 6,
items 3 and 4): ids are unique for the life of the gateway whatever
happens to journal.db — deleted, emptied, cut or overwritten, before a
start or while running — and a journal that disappears or rots is
noticed, set aside, and replaced by a fresh one while the gates go on
being answered."""

import os
import sqlite3

import harness


def ids_of(events):
    return [m.json()["id"] for m in events.snapshot()]


def seq(record_id):
    return int(record_id.rsplit(":", 1)[1])


def decide(c, events, person="P0001"):
    """A decision, and the id its published record carries."""
    request, cmd = c.ask("gate-north", person)
    assert cmd["action"] == "open", "a resident was not let in"
    msg = events.wait(lambda m: m.json().get("request") == request, 10,
                      "the record of %s" % request)
    return msg.json()["id"]


def journal_files(c):
    return sorted(p.name for p in c.data_dir.iterdir()
                  if p.name.startswith("journal.db"))


def quick_check(path):
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return db.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        db.close()


def new_journal_rows(c):
    try:
        return c.journal.rows("kind = 'system' AND decision = 'new_journal'")
    except sqlite3.OperationalError:
        return []  # a journal.db being made this very moment


def decide_until_new_journal(c, events):
    """Gates keep being used, as they are, until the journal's first row
    says it was started again (the row goes with the next batch)."""
    def noticed():
        ids.append(decide(c, events))
        return new_journal_rows(c)
    ids = []
    rows = harness.wait_for(noticed, 15, "a fresh journal", interval=0.2)
    return ids, rows


def test_ids_never_repeat_when_the_journal_is_deleted_or_emptied(compound):
    c = compound
    c.start()
    events = c.recorder("cg/%s/events/access" % c.site)
    seen = [decide(c, events) for _ in range(3)]

    # Deleted while the gateway was stopped (a technician "cleaning up").
    assert c.gw.stop() == 0
    for name in journal_files(c):
        os.unlink(c.data_dir / name)
    c.gw.start()
    seen.append(decide(c, events))
    assert seq(seen[-1]) > max(seq(i) for i in seen[:-1]), seen
    # The new journal says ids before its first are elsewhere.
    assert new_journal_rows(c)

    # Emptied: the file is there, with nothing in it.
    assert c.gw.stop() == 0
    for name in journal_files(c):
        if name == "journal.db":
            (c.data_dir / name).write_bytes(b"")
        else:
            os.unlink(c.data_dir / name)
    c.gw.start()
    seen.append(decide(c, events))
    assert seq(seen[-1]) > max(seq(i) for i in seen[:-1]), seen
    assert len(seen) == len(set(seen))


def test_a_journal_overwritten_before_a_start_is_set_aside(compound):
    c = compound
    c.start()
    events = c.recorder("cg/%s/events/access" % c.site)
    before = decide(c, events)
    assert c.gw.stop() == 0
    with open(c.data_dir / "journal.db", "r+b") as f:
        f.write(b"this is not a database, it is junk" * 4)
    c.gw.start()
    after = decide(c, events)
    assert seq(after) > seq(before)
    broken = [n for n in journal_files(c) if ".broken-" in n]
    assert broken, journal_files(c)
    assert quick_check(c.data_dir / "journal.db") == "ok"


def test_a_journal_deleted_while_running_is_started_again(compound):
    c = compound
    c.start()
    events = c.recorder("cg/%s/events/access" % c.site)
    first = decide(c, events)
    os.unlink(c.data_dir / "journal.db")
    # Noticed within about a second: a fresh journal, whose first row
    # says what happened; deciding never stopped.
    ids, rows = decide_until_new_journal(c, events)
    assert rows[0]["body"]["found"] == "deleted", rows
    later = decide(c, events)
    assert seq(later) > max(seq(i) for i in [first] + ids)
    row = c.row(events.snapshot()[-1].json()["request"], "gate-north")
    assert row["seq"] == seq(later)
    assert quick_check(c.data_dir / "journal.db") == "ok"


def test_a_journal_cut_while_running_is_set_aside(compound):
    c = compound
    c.start()
    events = c.recorder("cg/%s/events/access" % c.site)
    ids = [decide(c, events) for _ in range(5)]
    # A crash of the card or a careless tool: the file cut short.
    os.truncate(c.data_dir / "journal.db", 1000)
    more, _ = decide_until_new_journal(c, events)
    ids += more
    assert any(".broken-" in n for n in journal_files(c)), journal_files(c)
    ids.append(decide(c, events))
    assert seq(ids[-1]) > max(seq(i) for i in ids[:-1])
    assert len(ids) == len(set(ids))
    assert quick_check(c.data_dir / "journal.db") == "ok"
