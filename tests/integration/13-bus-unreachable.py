"""A relay barrier on a Modbus TCP bus where nothing listens (a board
not yet wired, a converter switched off): gatewayd starts without waiting
for it, the gates work as before, and the journal says the barrier is
offline because its bus cannot be opened.  gatewayd -t checks the
configuration without opening the bus."""

import socket
import subprocess

import harness

BUS = "bus modbus-1"
BARRIER = "device barrier-south-in"


def overrides(port):
    # Insertion order is file order: the bus first, the driver first.
    return {
        (BUS, "type"): "tcp",
        (BUS, "host"): "127.0.0.1",
        (BUS, "port"): str(port),
        (BUS, "timeout_ms"): "200",
        (BARRIER, "driver"): "barrier_relay",
        (BARRIER, "bus"): "modbus-1",
        (BARRIER, "unit"): "1",
        (BARRIER, "coil"): "0",
        (BARRIER, "loop_input"): "0",
        (BARRIER, "lane"): "in",
    }


def test_check_does_not_open_the_bus(compound, gatewayd_binary):
    c = compound
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.5)
    try:
        c.write_ini(overrides(listener.getsockname()[1]))
        got = subprocess.run([gatewayd_binary, "-t", "-c", str(c.ini)],
                             capture_output=True, text=True, timeout=30)
        assert got.returncode == 0, got.stdout + got.stderr
        try:
            conn, _ = listener.accept()
            conn.close()
            raise AssertionError("gatewayd -t connected to the bus")
        except socket.timeout:
            pass
    finally:
        listener.close()


def test_barrier_offline_and_gates_still_work(compound):
    c = compound
    port = harness.free_port()
    c.start(overrides=overrides(port))
    c.gw.wait_log(r"bus modbus-1: cannot open 127\.0\.0\.1:%d: "
                  r"Connection refused" % port)

    rows = c.journal.wait_rows("kind = 'device' AND device = ?",
                               ("barrier-south-in",),
                               what="the barrier's device record")
    assert [r["decision"] for r in rows] == ["offline"], rows
    assert rows[0]["reason"] == ("bus modbus-1 cannot be opened: "
                                 "Connection refused"), rows[0]

    request, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    assert c.gw.running()
    # Said once, however often the bus is tried again.
    c.ask("gate-north", "P0001")
    assert len(c.journal.rows("kind = 'device' AND device = ?",
                              ("barrier-south-in",))) == 1
