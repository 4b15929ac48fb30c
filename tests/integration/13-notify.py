"""gatewayd talks to systemd as a Type=notify service with a watchdog:
READY=1 once it decides, STATUS= lines, WATCHDOG=1 at half the interval
and STOPPING=1 on SIGTERM, all as datagrams on the socket named in
NOTIFY_SOCKET, which the test holds as systemd would.  Spoken without
libsystemd, whose compression libraries stay out of the process
(issue 5, item 7)."""

import os
import time

WATCHDOG_USEC = "200000"    # a ping every 100 ms


def notified(compound, line, since=0):
    return compound.gw.notify.wait(line, timeout=10, since=since)


def lifecycle(compound):
    """Start, a decision, SIGTERM: what arrived on the notify socket."""
    c = compound
    c.env["WATCHDOG_USEC"] = WATCHDOG_USEC
    c.start()
    # start() has waited for READY=1; the watchdog follows from a loop
    # timer, and keeps following.
    notified(c, "WATCHDOG=1")
    notified(c, "WATCHDOG=1", since=c.gw.notify.mark())
    notified(c, "STATUS=connected to the broker")
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    mark = c.gw.notify.mark()
    assert c.gw.stop() == 0
    notified(c, "STOPPING=1", since=mark)
    lines = [line for d in c.gw.notify.datagrams for line in d.split("\n")]
    assert lines.index("READY=1") < lines.index("STOPPING=1")
    return lines


def test_abstract_socket(compound):
    """An '@name' in NOTIFY_SOCKET: the abstract namespace."""
    assert compound.gw is None
    lifecycle(compound)
    assert compound.gw.notify.address.startswith("@")


def test_path_socket(compound, tmp_path):
    """A path, as systemd's own /run/systemd/notify."""
    compound.notify_path = tmp_path / "notify"
    lifecycle(compound)
    assert compound.gw.notify.address == str(tmp_path / "notify")


def test_watchdog_for_another_process(compound):
    """WATCHDOG_PID names another process of the service: not ours to
    answer, so no WATCHDOG=1 however long it runs."""
    c = compound
    c.env["WATCHDOG_USEC"] = WATCHDOG_USEC
    c.env["WATCHDOG_PID"] = str(os.getpid())
    c.start()
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    # Not a measurement: long enough for five pings had they been due.
    time.sleep(0.5)
    assert c.gw.stop() == 0
    notified(c, "STOPPING=1")
    lines = [line for d in c.gw.notify.datagrams for line in d.split("\n")]
    assert "WATCHDOG=1" not in lines


def test_no_libsystemd_in_the_process(compound):
    """The notify protocol is one datagram: libsystemd, and with it
    liblzma, liblz4 and libgcrypt, are not loaded at all.  (libzstd is:
    libcurl, for the WeChat robot and the office, links it.)"""
    c = compound
    c.start()
    with open("/proc/%d/maps" % c.gw.pid(), encoding="utf-8") as f:
        mapped = {os.path.basename(line.split()[-1]) for line in f
                  if "/" in line}
    for lib in ("libsystemd", "liblzma", "liblz4", "libgcrypt"):
        found = [m for m in mapped if m.startswith(lib + ".so")]
        assert not found, "%s is mapped into gatewayd" % found


def test_status_follows_the_broker(compound):
    """`systemctl status` never says connected while the broker is gone."""
    c = compound
    c.start()
    notified(c, "STATUS=connected to the broker")
    mark = c.gw.notify.mark()
    c.broker.stop()
    notified(c, "STATUS=broker connection lost: reconnecting", since=mark)
    mark = c.gw.notify.mark()
    c.broker.start()
    notified(c, "STATUS=connected to the broker", since=mark)
