"""gatewayctl events: the journal's records as staff read them (aligned
lines) and as scripts read them (--json, the record of DESIGN §4.4);
filters; --follow, which shows a face at a gate within a second and
ends cleanly on Ctrl-C; and what it says when there is no journal."""

import json
import os
import queue
import signal
import subprocess
import threading
import time

from conftest import REPO

SLOW = 3 if os.environ.get("SANITIZED") == "1" else 1


def gatewayctl():
    return os.environ.get("GATEWAYCTL", str(REPO / "build" / "gatewayctl"))


class Follow:
    """gatewayctl events --follow ARGS, its stdout read line by line."""

    def __init__(self, c, *args):
        self.proc = subprocess.Popen(
            [gatewayctl(), "-c", str(c.ini), "events", "--follow", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.decode("utf-8"))

    def next_line(self, timeout):
        return self.lines.get(timeout=timeout)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=5)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


def faces(c):
    """Four decisions: two people at two gates, a card, a stranger."""
    reqs = {}
    reqs["zhang"], _ = c.ask("gate-north", "P0001")
    reqs["ouyang"], _ = c.ask("gate-south", "P0002")
    reqs["card"], _ = c.ask_card("gate-north", "0012345678")
    reqs["nobody"], _ = c.ask("gate-south", "X9999")
    return reqs


def test_follow_prints_a_new_face_within_a_second(compound):
    c = compound
    c.start()
    c.ask("gate-north", "P0001")    # one old record: printed first
    f = Follow(c, "--json", "--kind", "access")
    try:
        old = json.loads(f.next_line(timeout=10))
        assert old["subject"]["id"] == "P0001"
        time.sleep(0.5)             # it is polling now
        request, cmd = c.ask("gate-south", "P0002")
        assert cmd["action"] == "open"
        seen = time.monotonic()
        new = json.loads(f.next_line(timeout=5))
        assert time.monotonic() - seen < SLOW, "more than a second late"
        row = c.row(request, "gate-south")
        assert new["id"] == "%s:%d" % (c.site, row["seq"])
        assert (new["request"], new["device"], new["decision"]) == (
            request, "gate-south", "allow")
    finally:
        rc = f.stop()
    assert rc == 0, f.proc.stderr.read().decode()


def test_follow_human_lines_and_filters(compound):
    c = compound
    c.start()
    f = Follow(c, "--device", "gate-north", "--kind", "access")
    try:
        request, _ = c.ask("gate-south", "P0002")   # not this gate
        request, _ = c.ask("gate-north", "P0001")
        header = f.next_line(timeout=5)
        assert header.split() == ["time", "device", "kind", "decision",
                                  "subject", "household", "reason"]
        line = f.next_line(timeout=5)
        assert line.split()[2:] == ["gate-north", "access", "allow",
                                    "P0001", "5-2-301", "group",
                                    "resident"]
        assert f.lines.empty()
    finally:
        assert f.stop() == 0


def test_filters(compound):
    c = compound
    c.start()
    reqs = faces(c)

    p = c.ctl("events", "--device", "gate-north", "--kind", "access",
              json=True, check=0)
    assert [r["request"] for r in p.data] == [reqs["zhang"], reqs["card"]]

    p = c.ctl("events", "--person", "P0002", json=True, check=0)
    assert [r["request"] for r in p.data] == [reqs["ouyang"]]

    p = c.ctl("events", "--household", "5-2-301", "--kind", "access",
              json=True, check=0)
    assert [r["request"] for r in p.data] == [reqs["zhang"], reqs["card"]]

    p = c.ctl("events", "--kind", "access", "--limit", "2", json=True,
              check=0)
    assert [r["request"] for r in p.data] == [reqs["card"], reqs["nobody"]]

    p = c.ctl("events", "--kind", "access", "--since", "-1h", json=True,
              check=0)
    assert [r["request"] for r in p.data] == list(reqs.values())

    # Nothing matches: exit 0, an empty array, and no lines at all.
    p = c.ctl("events", "--until", "2020-01-01", json=True, check=0)
    assert p.data == []
    p = c.ctl("events", "--kind", "charging", check=0)
    assert p.stdout == ""

    # One line a record under a header, oldest first, in columns.
    p = c.ctl("events", "--kind", "access", check=0)
    lines = p.stdout.splitlines()
    assert len(lines) == 5
    assert {line.index(" access ") + 1 for line in lines[1:]} == {
        lines[0].index("kind")}
    assert [line.split()[5] for line in lines[1:]] == [
        "P0001", "P0002", "P0001", "X9999"]


def test_json_is_the_record(compound):
    c = compound
    c.start()
    request, _ = c.ask("gate-north", "P0001")
    row = c.row(request, "gate-north")
    p = c.ctl("events", "--person", "P0001", json=True, check=0)
    (rec,) = p.data
    assert list(rec)[0] == "id"
    assert rec["id"] == "jinding-5:%d" % row["seq"]
    assert rec["kind"] == "access"
    assert rec["subject"] == {"type": "person", "id": "P0001",
                              "household": "5-2-301"}
    assert (rec["decision"], rec["reason"]) == ("allow", "group resident")
    assert rec == row["body"]


def test_usage_and_no_journal(compound):
    c = compound
    c.write_ini()
    p = c.ctl("events", check=1)
    assert "journal" in p.stderr
    p = c.ctl("events", "--since", "yesterday-ish", check=2)
    assert "--since" in p.stderr
    c.ctl("events", "--limit", "0", check=2)
    c.ctl("events", "--plate", "x", check=2)
