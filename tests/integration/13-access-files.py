"""What staff put in access.d that is not what the gateway reads: a FIFO
or a link to /dev/zero named *.ini is refused at once with a clear
file: message, by gatewayd -t and by a running gateway's reload, which
keeps the old tables and reloads again once the file is gone (issue 6,
item 2)."""

import os
import subprocess

import pytest

RELOADED = r"reloaded access tables"

NEW_PERSON = """\
[person P0400]
name = 黄忠
household = 6-3-301
groups = resident
"""


def check(compound):
    """gatewayd -t on the compound's files; it must end on its own."""
    compound.write_ini()
    return subprocess.run([compound.binary, "-t", "-c", str(compound.ini)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=10)


def make_fifo(path):
    os.mkfifo(path)


def make_zero(path):
    os.symlink("/dev/zero", path)


NOT_FILES = {
    "fifo": (make_fifo, "not a regular file (a FIFO)"),
    "dev-zero": (make_zero, "not a regular file (a character device)"),
}


@pytest.mark.parametrize("kind", sorted(NOT_FILES))
def test_check_refuses_what_is_not_a_file(compound, kind):
    make, message = NOT_FILES[kind]
    path = compound.access_dir / "zz-staff.ini"
    make(path)
    got = check(compound)
    assert got.returncode == 1
    assert got.stdout == b""
    assert got.stderr.decode() == "%s: %s\n" % (path, message)


@pytest.mark.parametrize("kind", sorted(NOT_FILES))
def test_reload_refuses_what_is_not_a_file_and_goes_on(compound, kind):
    c = compound
    make, message = NOT_FILES[kind]
    path = c.access_dir / "zz-staff.ini"
    c.start()

    mark = c.gw.log_mark()
    make(path)
    c.gw.wait_log(r"zz-staff\.ini: " + message.replace("(", r"\(")
                  .replace(")", r"\)"), since=mark)
    c.gw.wait_log(r"reload failed with 1 problems", since=mark)
    failed = c.journal.wait_rows("kind = 'system' AND reason = 'reload' "
                                 "AND decision = 'failed'")
    assert failed[-1]["body"]["errors"] == ["%s: %s" % (path, message)]
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"

    # Once it is gone the directory reloads, and edits take effect again.
    mark = c.gw.log_mark()
    os.unlink(path)
    c.gw.wait_log(RELOADED, since=mark)
    mark = c.gw.log_mark()
    c.write_access("new.ini", NEW_PERSON)
    c.gw.wait_log(RELOADED, since=mark)
    request, cmd = c.ask("gate-north", "P0400")
    assert cmd == {"action": "open", "request": request,
                   "display": "黄* 欢迎回家", "open_ms": 3000}
