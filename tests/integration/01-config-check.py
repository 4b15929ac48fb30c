"""gatewayd -t on every golden configuration in tests/config.

For each tests/config/NAME.ini, `gatewayd -t -c NAME.ini` run in
tests/config must print exactly NAME.out (stdout and stderr together) and
exit 0 when that is the one-line summary, 1 when it lists problems.
An empty access.d is also run for real: it must let nobody in.
"""
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "config"
GATEWAYD = os.environ.get("GATEWAYD", str(ROOT / "build" / "gatewayd"))
# Warnings (file:line: warning: ...) do not make -t fail.
SUMMARY = re.compile(r"(?:[^\n]*: warning: [^\n]*\n)*"
                     r"\d+ gates, \d+ groups, \d+ persons, \d+ visitors, "
                     r"\d+ denied(, \d+ barriers, \d+ vehicles)?"
                     r"(, \d+ [a-z ]+)*\n")

CASES = sorted(p.stem for p in CONFIG.glob("*.ini"))


def run_check(name):
    return subprocess.run([GATEWAYD, "-t", "-c", name + ".ini"],
                          cwd=CONFIG, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30)


@pytest.mark.parametrize("name", CASES)
def test_golden(name):
    expected = (CONFIG / (name + ".out")).read_text(encoding="utf-8")
    got = run_check(name)
    assert got.stdout.decode("utf-8", "replace") == expected
    assert got.returncode == (0 if SUMMARY.fullmatch(expected) else 1)


def test_empty_allows_nobody(compound, gatewayd_binary):
    """An access.d with nobody in it: -t counts no one, and the running
    gateway refuses a resident's face and card at every gate."""
    c = compound
    for path in c.access_dir.glob("*.ini"):
        path.unlink()
    c.write_access("README.ini", "; residents are added here\n")
    c.write_ini()
    got = subprocess.run([gatewayd_binary, "-t", "-c", str(c.ini)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=30)
    assert got.stdout.decode("utf-8", "replace") == \
        "2 gates, 0 groups, 0 persons, 0 visitors, 0 denied\n"
    assert got.returncode == 0
    c.start()
    for gate in ("gate-north", "gate-south"):
        _, cmd = c.ask(gate, "P0001")
        assert (cmd["action"], cmd["reason"]) == ("deny", "unknown")
        _, cmd = c.ask_card(gate, "0012345678")
        assert (cmd["action"], cmd["reason"]) == ("deny", "unknown")


def test_no_line_is_cut():
    """The 199-byte line loads; the 200-byte one is an error, not a cut."""
    text = (CONFIG / "long-line.d" / "a.ini").read_bytes().split(b"\n")
    assert len(text[4]) == 199 and len(text[7]) == 200
    out = run_check("long-line").stdout.decode("utf-8", "replace")
    assert "a.ini:5:" not in out
    assert "long-line.d/a.ini:8: line too long (at most 199 bytes)" in out
