"""A broken access.d must not take the gates down at the next start
(issue: "a typo takes the gates down weeks later").  Every access table
that loaded is kept in data_dir; a start whose access.d does not
validate runs on it and says so loudly; `gatewayd -t` still fails for
the installer; a fixed file is taken by the next reload."""

import subprocess

import harness

GBK = "[person P0300]\nname = 孙悟空\ngroups = resident\n".encode("gbk")


def snapshot_saved(c):
    link = c.data_dir / "access.good"
    harness.wait_for(lambda: link.is_symlink() and link.resolve().is_dir()
                     and (link.resolve() / "people.ini").exists(),
                     10, "the snapshot of access.d")
    return link.resolve()


def edit(c, name, pattern=r"reloaded access tables", **kw):
    """Staff save access.d/name; wait for the reload it causes."""
    mark = c.gw.log_mark()
    c.write_access(name, **kw)
    c.gw.wait_log(pattern, since=mark)


def start_broken(c):
    """A GBK file found at the next start: it runs on the snapshot."""
    c.write_access("new-person.ini", raw=GBK)
    mark = c.gw.log_mark()
    c.gw.start()
    c.gw.wait_log(r"started on the last good access tables", since=mark)


def status_messages(c):
    return [m.json() for m in c.gw.status.snapshot()
            if m.payload.startswith(b"{")]


def test_broken_file_found_at_restart_runs_on_last_good(compound):
    c = compound
    c.start()
    snapshot_saved(c)
    assert c.gw.stop() == 0

    # Staff save a GBK file while nobody looks; then the power goes.
    c.write_access("new-person.ini", raw=GBK)
    check = subprocess.run([c.binary, "-t", "-c", str(c.ini)],
                           capture_output=True, text=True, timeout=20)
    assert check.returncode == 1
    assert "new-person.ini" in check.stderr

    mark = c.gw.log_mark()
    c.gw.start()
    c.gw.wait_log(r"new-person\.ini.*UTF-8", since=mark)
    c.gw.wait_log(r"started on the last good access tables", since=mark)

    # The gates are answered from the last good tables.
    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    _, cmd = c.ask("gate-north", "P0300")
    assert (cmd["action"], cmd["reason"]) == ("deny", "unknown")
    rows = c.journal.wait_rows("kind = 'system' AND decision = 'snapshot'")
    assert "problems" in rows[-1]["reason"]
    harness.wait_for(lambda: any(m.get("access") == "snapshot"
                                 for m in status_messages(c)),
                     10, "gateway/status saying snapshot")

    # Fixed: the next reload takes access.d again, and says so.
    mark = c.gw.log_mark()
    c.write_access("new-person.ini",
                   text=GBK.decode("gbk") + "household = 5-2-301\n")
    c.gw.wait_log(r"loads again", since=mark)
    _, cmd = c.ask("gate-north", "P0300")
    assert cmd["action"] == "open"
    harness.wait_for(lambda: status_messages(c)[-1].get("access") == "ok",
                     10, "gateway/status back to ok")


def test_without_a_snapshot_a_broken_access_d_still_refuses(compound):
    c = compound
    c.write_access("new-person.ini", raw=GBK)
    c.broker.start()
    c.write_ini()
    run = subprocess.run([c.binary, "-c", str(c.ini)], capture_output=True,
                         text=True, timeout=20)
    assert run.returncode == 1
    assert "not started" in run.stderr


def test_the_last_reload_is_what_a_broken_start_runs_on(compound):
    """Tables from a reload just before a stop are the snapshot, even
    though its copy waits for the edits to settle."""
    c = compound
    c.start()
    snapshot_saved(c)
    edit(c, "late.ini", text="[person P0310]\nname = 沈六\n"
         "household = 5-2-301\ngroups = resident\n")
    assert c.gw.stop() == 0
    start_broken(c)
    _, cmd = c.ask("gate-north", "P0310")
    assert cmd["action"] == "open"


def test_a_typo_saved_after_a_good_edit_never_becomes_the_snapshot(compound):
    """The copy is of access.d as it is when it is made; one that does
    not load is thrown away and the last good copy stays."""
    c = compound
    c.start()
    snapshot_saved(c)
    edit(c, "late.ini", text="[person P0320]\nname = 韩七\n"
         "groups = resident\n")
    edit(c, "late.ini", pattern=r"reload failed", raw=GBK)  # the typo
    assert c.gw.stop() == 0
    assert "does not load: the last good copy stays" in c.gw.log_text()
    start_broken(c)
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
