"""gatewayd -t on every golden configuration in tests/config.

For each tests/config/NAME.ini, `gatewayd -t -c NAME.ini` run in
tests/config must print exactly NAME.out (stdout and stderr together) and
exit 0 when that is the one-line summary, 1 when it lists problems.
"""
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "config"
GATEWAYD = os.environ.get("GATEWAYD", str(ROOT / "build" / "gatewayd"))
SUMMARY = re.compile(r"\d+ gates, \d+ groups, \d+ persons, \d+ visitors, "
                     r"\d+ denied\n")

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


def test_cases_cover_what_they_claim():
    """The set the README and the issue promise: valid, Notepad, empty,
    and the broken kinds, each with more than one problem in one run."""
    for must in ["ok", "ok-notepad", "empty", "unknown-section",
                 "unknown-key", "duplicate-id", "bad-date", "bad-hours",
                 "unknown-group", "unknown-gate", "no-host", "not-utf8",
                 "long-line", "missing-key", "syntax"]:
        assert must in CASES
    for name in CASES:
        out = (CONFIG / (name + ".out")).read_text(encoding="utf-8")
        if not SUMMARY.fullmatch(out) and name != "no-access-dir":
            assert out.count("\n") >= 2, name + " shows only one problem"


def test_empty_allows_nobody():
    out = (CONFIG / "empty.out").read_text(encoding="utf-8")
    assert out == "2 gates, 0 groups, 0 persons, 0 visitors, 0 denied\n"


def test_no_line_is_cut():
    """The 199-byte line loads; the 200-byte one is an error, not a cut."""
    text = (CONFIG / "long-line.d" / "a.ini").read_bytes().split(b"\n")
    assert len(text[4]) == 199 and len(text[7]) == 200
    out = (CONFIG / "long-line.out").read_text(encoding="utf-8")
    assert "a.ini:5:" not in out
    assert "long-line.d/a.ini:8: line too long (at most 199 bytes)" in out
