"""A gate's terminal going online or offline (its retained status, and its
will when it loses power) is an event in the journal (DESIGN §4.1,
issue 2)."""

from face_terminal import FaceTerminal


def device_rows(compound, gate):
    return compound.journal.rows("kind = 'device' AND device = ?", (gate,))


def wait_device_rows(compound, gate, count):
    return compound.journal.wait_rows("kind = 'device' AND device = ?",
                                      (gate,), count=count,
                                      what="%d device rows for %s"
                                      % (count, gate))


def test_terminal_online_then_power_cut_then_back(compound):
    c = compound
    c.start()
    assert device_rows(c, "gate-south") == []

    term = FaceTerminal(c.broker.port, "gate-south", site=c.site).connect()
    rows = wait_device_rows(c, "gate-south", 1)
    assert [r["decision"] for r in rows] == ["online"]

    term.close(graceful=False)          # the broker publishes its will
    rows = wait_device_rows(c, "gate-south", 2)
    assert [r["decision"] for r in rows] == ["online", "offline"]

    term = FaceTerminal(c.broker.port, "gate-south", site=c.site).connect()
    try:
        rows = wait_device_rows(c, "gate-south", 3)
        assert [r["decision"] for r in rows] == ["online", "offline",
                                                 "online"]
        # And it is published as an event like any other.
        assert rows[-1]["body"]["kind"] == "device"
        assert rows[-1]["body"]["device"] == "gate-south"
    finally:
        term.close()


def test_repeated_status_is_not_a_change(compound):
    c = compound
    c.start()
    term = c.terminal("gate-north")
    wait_device_rows(c, "gate-north", 1)
    # The same "online" again (a terminal reboot that never went offline).
    term.send("status", "online")
    # Barrier: a decision on this gate comes after the status was read.
    c.ask("gate-north", "P0001")
    assert [r["decision"] for r in device_rows(c, "gate-north")] == [
        "online"]
