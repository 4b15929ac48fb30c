"""The journal's disk fills under a steady trickle of requests, and is
freed (issue 6, item 5): the gates are answered throughout, journaling
comes back by itself once there is room (the WAL is copied into the
database when writes fail or space runs short, not only in a quiet
moment that a steady 50 requests/s never gives), and one system record
says how many rows were not journaled, of which kinds, and when.

The data directory is a small tmpfs, which takes root (CAP_SYS_ADMIN):
where a mount is not allowed the test says so and is skipped."""

import os
import subprocess
import time

import pytest

import harness

RATE = 50  # requests a second: never 250 ms of quiet


@pytest.fixture
def small_disk(compound):
    c = compound
    c.data_dir.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m",
                            "tmpfs", str(c.data_dir)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % mount.stderr.strip())
    yield c
    if c.gw is not None and c.gw.running():
        c.gw.stop()
    subprocess.run(["umount", "-l", str(c.data_dir)], check=False)


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def steady(c, seconds, until=None):
    """Requests at RATE a second; every one must be answered, and open."""
    answered = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.monotonic()
        _, cmd = c.ask("gate-north", "P0001")
        assert cmd["action"] == "open", "a resident was not let in"
        answered += 1
        if until is not None and until():
            break
        time.sleep(max(0, 1 / RATE - (time.monotonic() - t)))
    return answered


def test_full_disk_under_steady_load_recovers_and_counts_the_gap(small_disk):
    c = small_disk
    c.start()
    # Leave the journal a few hundred kB: the WAL fills it soon.
    ballast = c.data_dir / "ballast"
    ballast.write_bytes(b"\0" * max(0, free_bytes(c.data_dir) - 300_000))

    mark = c.gw.log_mark()
    steady(c, 60, until=lambda: any("decisions go on, unjournaled" in line
                                    for line in c.gw.lines[mark:]))
    c.gw.wait_log(r"decisions go on, unjournaled", since=mark)
    # Still full for a while: still answered.
    steady(c, 2)

    ballast.unlink()
    # Journaling comes back by itself, the trickle never pausing, and
    # its first record counts what was lost.
    def gap():
        rows = c.journal.rows("kind = 'system' AND decision = 'unjournaled'")
        return rows or None
    steady(c, 30, until=gap)
    rows = harness.wait_for(gap, 10, "the record of the unjournaled rows")
    body = rows[-1]["body"]
    assert body["rows"] >= 1 and body["kinds"].get("access", 0) >= 1, body
    assert body["from"] <= body["to"], body

    # And decisions are journaled again.
    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    assert c.row(request, "gate-north")["decision"] == "allow"
