"""What staff put in access.d that is not what the gateway reads: a FIFO
or a link to /dev/zero named *.ini is refused at once with a clear
file: message, by gatewayd -t and by a running gateway's reload, which
keeps the old tables and reloads again once the file is gone; a file
whose name only looks right (new.ini.txt, NEW.INI) is not read, and -t
says so without failing (issue 6, item 2).  A person's cards may be
written over several `cards =` lines (item 9)."""

import os
import re
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
    failed = c.journal.wait_rows("kind = 'system' AND "
                                 "decision = 'reload_failed'")
    body = failed[-1]["body"]
    assert body["errors"] == ["%s: %s" % (path, message)]
    assert (body["reason"], body["problems"], body["alert"]) == (
        "%s: %s" % (path, message), 1, "reload_failed"), body
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


SUMMARY = re.compile(r"2 gates, 4 groups, (\d+) persons, 2 visitors, "
                     r"1 denied\n")
IGNORED = "warning: ignored, only *.ini files are read"


def test_check_warns_of_a_file_it_does_not_read(compound):
    c = compound
    # Windows Explorer hides ".txt": staff see "new.ini".
    txt = c.write_access("new.ini.txt", NEW_PERSON)
    got = check(c)
    assert got.returncode == 0, got.stderr
    assert got.stderr.decode() == "%s: %s\n" % (txt, IGNORED)
    assert SUMMARY.fullmatch(got.stdout.decode()).group(1) == "7"

    # Every near miss, in name order; still not a failure.
    others = [c.write_access(name, NEW_PERSON)
              for name in ("NEW.INI", "people.ini.bak", "people.ini~")]
    got = check(c)
    assert got.returncode == 0, got.stderr
    assert got.stderr.decode() == "".join(
        "%s: %s\n" % (p, IGNORED) for p in sorted(others + [txt]))
    assert SUMMARY.fullmatch(got.stdout.decode()).group(1) == "7"


def test_running_gateway_does_not_read_it(compound):
    c = compound
    c.start()
    mark = c.gw.log_mark()
    c.write_access("new.ini.txt", NEW_PERSON)
    c.gw.wait_log(RELOADED, since=mark)
    _, cmd = c.ask("gate-north", "P0400")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "unknown")
    mark = c.gw.log_mark()
    os.rename(c.access_dir / "new.ini.txt", c.access_dir / "new.ini")
    c.gw.wait_log(RELOADED, since=mark)
    _, cmd = c.ask("gate-north", "P0400")
    assert cmd["action"] == "open"


def test_thirty_cards_over_several_lines(compound):
    c = compound
    cards = ["00%08d" % (31000000 + i) for i in range(30)]
    lines = ["cards = " + ", ".join(cards[i:i + 10])
             for i in range(0, 30, 10)]
    c.write_access("many-cards.ini",
                   NEW_PERSON + "\n".join(lines) + "\n")
    got = check(c)
    assert got.returncode == 0, got.stderr
    assert SUMMARY.fullmatch(got.stdout.decode()).group(1) == "8"

    c.start()
    for card in (cards[-1], cards[0], cards[15]):
        request, cmd = c.ask_card("gate-south", card)
        assert cmd == {"action": "open", "request": request,
                       "display": "黄* 欢迎回家", "open_ms": 2500}
        assert c.row(request, "gate-south")["subject_id"] == "P0400"
    _, cmd = c.ask_card("gate-south", "0031000030")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "unknown")
