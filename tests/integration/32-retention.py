"""Retention and the disk budget (issue 11, DESIGN 4.5), from outside: a
journal seeded with old records while gatewayd is stopped, then
gatewayd with [journal] max_mb or keep_days.  No sink is configured in
these compounds, so every record counts as delivered (but the robot's
messages, which nobody sends here)."""

import ctypes
import ctypes.util
import json
import sqlite3
import time

import harness

DAY_MS = 86400000


def clock_synchronised():
    """adjtimex(2) as gatewayd asks it: STA_UNSYNC (0x40) clear."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    buf = ctypes.create_string_buffer(512)
    rc = libc.adjtimex(buf)
    status = int.from_bytes(buf.raw[40:44], "little", signed=True)
    return rc != 5 and not status & 0x40  # 5: TIME_ERROR


def seed(c, n, ts_ms, pad=0, unsynced=False, kind="device"):
    """n records appended to journal.db while gatewayd is stopped, as it
    would have written them; their seqs."""
    db = sqlite3.connect(str(c.data_dir / "journal.db"))
    try:
        first = db.execute("SELECT max(seq) FROM events").fetchone()[0] + 1
        seqs = list(range(first, first + n))
        for s in seqs:
            body = {"ts": "old", "kind": kind, "device": "gate-north",
                    "decision": "online", "pad": "x" * pad}
            if unsynced:
                body["clock"] = "unsynced"
            db.execute("INSERT INTO events (seq, ts_ms, kind, device,"
                       " decision, body) VALUES (?, ?, ?, ?, ?, ?)",
                       (s, ts_ms, kind, "gate-north", "online",
                        json.dumps(body, separators=(",", ":"))))
        db.commit()
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return seqs


def in_use(c):
    """The journal's pages in use, database and WAL as a reader sees
    them (page_count less freelist_count)."""
    db = sqlite3.connect("file:%s?mode=ro" % (c.data_dir / "journal.db"),
                         uri=True, timeout=5)
    try:
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        free = db.execute("PRAGMA freelist_count").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
        return (pages - free) * size
    finally:
        db.close()


def present(c, seqs):
    rows = c.journal.rows("seq BETWEEN ? AND ?", (seqs[0], seqs[-1]))
    return [r["seq"] for r in rows]


def started_with_a_journal(c):
    """gatewayd started once (its journal made), a decision, stopped."""
    c.start()
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    assert c.gw.stop() == 0


def test_budget_takes_the_oldest_delivered_records(compound):
    c = compound
    started_with_a_journal(c)
    # About 4 MB of old records, over a budget of 1 MB.
    seqs = seed(c, 1500, int(time.time() * 1000) - DAY_MS, pad=2500)
    assert in_use(c) > 3 << 20
    c.write_ini({("journal", "max_mb"): "1"})
    c.gw.start()
    # Within a minute of going over; the gates are answered meanwhile.
    harness.wait_for(lambda: in_use(c) <= 1 << 20, 60,
                     "the journal within max_mb", interval=0.5)
    left = present(c, seqs)
    assert 0 < len(left) < len(seqs)
    # The oldest went first: what is left is the newest, without holes.
    assert left == seqs[len(seqs) - len(left):], left[:5]
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    c.gw.wait_log("of the oldest records deleted to keep within max_mb", 10)
    # Records since are newer than every seeded one: ids, not times.
    assert c.journal.max_seq() > seqs[-1]


def test_keep_days_and_the_clock(compound):
    c = compound
    started_with_a_journal(c)
    old = int(time.time() * 1000) - 200 * DAY_MS
    unsynced = seed(c, 20, old, unsynced=True)
    synced = seed(c, 20, old)
    c.write_ini({("journal", "keep_days"): "180"})
    c.gw.start()
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    newest = c.journal.rows("seq = ?", (c.journal.max_seq(),))[0]
    if not clock_synchronised():
        # This host's clock is not synchronised: gatewayd's records say
        # so, and nothing goes by age however old it looks.
        assert newest["body"].get("clock") == "unsynced", newest
        time.sleep(3)  # passes would have run by now: none may
        assert present(c, synced) == synced
        assert present(c, unsynced) == unsynced
        return
    assert "clock" not in newest["body"], newest
    harness.wait_for(lambda: not present(c, synced), 30,
                     "the old records deleted", interval=0.2)
    # Made while the clock was not synchronised: only the budget's.
    assert present(c, unsynced) == unsynced


def test_nothing_else_can_go_journal_full(compound):
    c = compound
    token = c.root / "office.token"
    token.write_text("t0ken\n")
    token.chmod(0o600)
    # An office that is never reached: its cursor stays at 0, nothing
    # is delivered.
    office = {("office", "url"): "http://127.0.0.1:9/",
              ("office", "token_file"): str(token)}
    started_with_a_journal(c)
    now = int(time.time() * 1000)
    devices = seed(c, 50, now - DAY_MS, pad=2500)
    access = seed(c, 1500, now - DAY_MS, pad=2500, kind="access")
    office[("journal", "max_mb")] = "1"
    c.write_ini(office)
    c.gw.start()
    rows = c.journal.wait_rows(
        "kind = 'incident' AND decision = 'open'"
        " AND body LIKE '%\"type\":\"journal_full\"%'", timeout=30,
        what="an incident opened on journal_full")
    assert rows[0]["body"]["severity"] == "urgent", rows[0]
    alert = c.journal.rows("kind = 'system' AND decision = 'journal_full'")
    assert len(alert) == 1, alert
    assert alert[0]["device"] == "gateway"
    assert alert[0]["body"]["alert"] == "journal_full"
    assert alert[0]["body"]["severity"] == "urgent"
    # Undelivered access records stay, every one; the device ones went.
    assert present(c, access) == access
    assert present(c, devices) == []
    # Decisions go on.
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
