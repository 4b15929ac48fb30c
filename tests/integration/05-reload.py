"""Staff edit access.d while the gateway runs: a change takes effect
without a restart, a broken file changes nothing but a report with
file:line, and a file saved by Windows Notepad loads (DESIGN §3, §4.3)."""

import signal

RELOADED = r"reloaded access tables"


def person_ini(pid, name, household="6-1-101", extra=""):
    return (f"[person {pid}]\nname = {name}\nhousehold = {household}\n"
            f"groups = resident\n{extra}")


def write_and_wait(compound, name, pattern=RELOADED, **kw):
    """Write access.d/name and wait for the reload it triggers to end."""
    mark = compound.gw.log_mark()
    compound.write_access(name, **kw)
    return compound.gw.wait_log(pattern, timeout=10, since=mark)


def reload_rows(compound, decision):
    return compound.journal.rows("kind = 'system' AND reason = 'reload' "
                                 "AND decision = ?", (decision,))


def test_added_person_gets_in_without_restart(compound):
    c = compound
    c.start()
    pid = c.gw.pid()
    _, cmd = c.ask("gate-north", "P0200")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "unknown")

    write_and_wait(c, "new.ini", text=person_ini("P0200", "吴一凡"))

    request, cmd = c.ask("gate-north", "P0200")
    assert cmd == {"action": "open", "request": request,
                   "display": "吴** 欢迎回家", "open_ms": 3000}
    assert c.row(request, "gate-north")["reason"] == "group resident"
    assert c.gw.pid() == pid and c.gw.running()
    assert len(reload_rows(c, "ok")) >= 1


def test_sighup_reloads(compound):
    c = compound
    c.start()
    mark = c.gw.log_mark()
    c.gw.signal(signal.SIGHUP)
    c.gw.wait_log(RELOADED, since=mark)
    c.journal.wait_rows("kind = 'system' AND reason = 'reload' AND "
                        "decision = 'ok'")
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"


BROKEN = """\
[person P0201]
name = 郑二
household = 6-1-102
colour = blue
groups = resident

[person P0202]
name = 冯三
groups = nosuchgroup
"""


def test_broken_file_keeps_old_tables_and_reports_file_line(compound):
    c = compound
    c.start()
    # First a good change, to see that it is what stays in force.
    write_and_wait(c, "new.ini", text=person_ini("P0200", "吴一凡"))

    write_and_wait(c, "broken.ini", pattern=r"broken\.ini:9: ",
                   text=BROKEN)
    log = c.gw.log_text()
    assert "broken.ini:4: " in log, log          # the unknown key
    failed = c.journal.wait_rows("kind = 'system' AND "
                                 "decision = 'reload_failed'")
    body = failed[-1]["body"]
    errors = body["errors"]
    assert any("broken.ini:4: " in e for e in errors), errors
    assert any("broken.ini:9: " in e for e in errors), errors
    # An alert of the gateway's, for the incident engine and the office:
    # the first problem as its reason, and how many there were.
    assert (body["device"], body["alert"], body["severity"],
            body["suppressed"]) == ("gateway", "reload_failed", "minor",
                                    False), body
    assert body["reason"] == errors[0], body
    assert body["reason"].startswith(str(c.access_dir / "broken.ini")
                                     + ":4: "), body
    assert body["problems"] == len(errors) == 2, body

    # The old tables: P0200 (from the good change) in, P0201 still out.
    _, cmd = c.ask("gate-north", "P0200")
    assert cmd["action"] == "open"
    _, cmd = c.ask("gate-north", "P0201")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "unknown")

    # Fixed, it loads.
    write_and_wait(c, "broken.ini", text=person_ini("P0201", "郑二"))
    _, cmd = c.ask("gate-north", "P0201")
    assert cmd["action"] == "open"
    assert c.gw.running()


def test_windows_notepad_file_loads(compound):
    c = compound
    c.start()
    text = "; 新住户，记事本保存\n" + person_ini("P0300", "诸葛亮",
                                             household="6-2-201")
    raw = b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")
    write_and_wait(c, "notepad.ini", raw=raw)

    request, cmd = c.ask("gate-south", "P0300")
    assert cmd == {"action": "open", "request": request,
                   "display": "诸** 欢迎回家", "open_ms": 2500}
    row = c.row(request, "gate-south")
    assert (row["subject_id"], row["household"]) == ("P0300", "6-2-201")


def test_access_dir_replaced_by_a_rename_still_reloads(compound):
    """Staff (or a deployment script) build a new access.d beside the old
    one and rename it into place: it is taken, and so are later edits."""
    import shutil
    c = compound
    c.start()
    new = c.root / "access.d.new"
    shutil.copytree(c.access_dir, new)
    (new / "more.ini").write_text(person_ini("P0210", "冯三"),
                                  encoding="utf-8")
    mark = c.gw.log_mark()
    c.access_dir.rename(c.root / "access.d.old")
    new.rename(c.access_dir)
    c.gw.wait_log(RELOADED, since=mark)
    _, cmd = c.ask("gate-north", "P0210")
    assert cmd["action"] == "open"

    # The new directory is the one watched now.
    write_and_wait(c, "later.ini", text=person_ini("P0211", "褚四"))
    _, cmd = c.ask("gate-north", "P0211")
    assert cmd["action"] == "open"
