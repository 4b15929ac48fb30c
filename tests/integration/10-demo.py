"""make demo's script on the example compound in config/: it runs for the
given seconds, prints gatewayd's decisions as a guard reads them — at the
face gates and at the car park's barriers — and stops everything with
status 0 (issue 2, "what a user can do")."""

import os
import re
import subprocess
import sys

import pytest

import harness

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEMO = os.path.join(REPO, "tests", "sim", "demo.py")
CONFIG = os.path.join(REPO, "config", "gateway.ini")

# gatewayd's decision lines: "14:03:07 gate-north   allow  张*  5-2-301 ..."
DECISION = r"^\d\d:\d\d:\d\d gate-\S+\s+%s\s"
# and at a barrier: "14:03:08 barrier-south-in allow  吉A12345  5-2-301
# plan (in, 1 inside)": who, the household or "-", the reason, occupancy.
CAR = (r"^\d\d:\d\d:\d\d barrier-\S+\s+%s\s+\S+\s+\S+\s+%s"
       r"(, fuzzy match of \S+)? \((in|out), \d+ inside\)$")


def test_demo_runs_and_stops_by_itself(gatewayd_binary, tmp_path):
    if not os.path.exists(CONFIG):
        pytest.fail("config/gateway.ini, the example compound, is missing")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, DEMO, "--gatewayd", gatewayd_binary, "--config",
         CONFIG, "--seconds", "8"], cwd=REPO, env=env,
        stdin=subprocess.DEVNULL, capture_output=True, timeout=90)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, out + err
    assert re.search(DECISION % "allow", out, re.M), out
    assert re.search(DECISION % "deny", out, re.M), out
    # A resident's car let in, and a car nobody registered refused.
    assert re.search(CAR % ("allow", "plan"), out, re.M), out
    assert re.search(CAR % ("deny", "unknown"), out, re.M), out
    # Nothing left behind: the demo's temporary directory is gone.
    assert os.listdir(tmp_path) == [], os.listdir(tmp_path)
    if os.environ.get("SANITIZED") == "1":
        for marker in harness.SANITIZER_MARKERS:
            assert marker not in out + err
