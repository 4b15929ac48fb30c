"""gatewayctl against a live gatewayd: status, reload, incidents, ack and
resolve, the fire release, a manual open; who may use the control socket,
and what a broken or stuck client cannot do to it.

Each test reads what staff would read (the human output) and the
--json shape scripts rely on, and checks the journal's record of what
was done.
"""

import contextlib
import grp
import json
import os
import shutil
import socket
import stat
import tempfile
import time
from pathlib import Path

import pytest

import harness
from camera_sim import NativeCamera
from conftest import GATEWAY_TEMPLATE

WORLD = GATEWAY_TEMPLATE + """
[alert intrusion]
severity = major
cooldown_s = 0

[device cam-1]
driver = camera

[device panel]
driver = fire_mqtt
"""

OPERATOR = "王师傅"


@pytest.fixture
def desk(compound):
    c = compound
    c.template = WORLD
    c.start()
    c.cam = NativeCamera(c.broker.port, "cam-1", site=c.site).connect()
    c.recorders.append(c.cam)
    return c


def socket_path(c):
    return harness.control_socket(c.data_dir)


def test_status_shows_devices_tables_and_broker(desk):
    c = desk
    p = c.ctl("status", check=0)
    out = p.stdout
    assert "金鼎5栋楼 (test) (jinding-5): gatewayd" in out
    assert "connected" in out and "NOT CONNECTED" not in out
    assert "2 gates" in out and "persons" in out
    for dev in ("gate-north", "gate-south", "cam-1", "panel"):
        assert dev in out
    assert "fire" in out and "normal" in out

    s = c.ctl("status", json=True, check=0).data
    assert s["site"] == "jinding-5"
    assert s["mqtt"]["connected"] is True
    assert s["fire"]["state"] == "normal" and s["fire"]["holding"] is False
    assert s["tables"]["counts"]["persons"] >= 1
    assert [os.path.basename(f) for f in s["tables"]["files"]] == [
        "deny.ini", "people.ini", "visitors.ini"]
    assert "people.ini" in out
    assert s["incidents"]["open"] == 0
    assert {d["id"] for d in s["devices"]} >= {"gate-north", "cam-1"}
    assert s["uptime_s"] >= 0 and s["version"]
    assert set(s["sinks"]) == {"office", "uplink"}


def test_not_running_is_exit_3(compound):
    c = compound
    c.template = WORLD
    c.write_ini()
    p = c.ctl("status", check=3)
    assert "gatewayd is not running" in p.stderr


def test_usage_errors_are_exit_2(desk):
    c = desk
    assert c.ctl("no-such-command", check=2).stderr
    assert "--operator" in c.ctl("ack", "1", check=2).stderr
    assert "usage: gatewayctl ack" in c.ctl("ack", "--help", check=0).stdout
    for cmd in ("status", "check", "reload", "incidents", "ack", "resolve",
                "open", "fire", "charger"):
        h = c.ctl(cmd, "--help", check=0).stdout
        assert h.startswith("usage: gatewayctl " + cmd), (cmd, h)


def test_reload_reports_file_line_and_keeps_tables(desk):
    c = desk
    p = c.ctl("reload", check=0)
    assert "reloaded in" in p.stdout and "persons" in p.stdout

    c.write_access("broken.ini", "[person P9]\nname = x\nhousehold = 1\n"
                   "groups = nosuch\n")
    p = c.ctl("reload", check=1)
    assert "broken.ini:4:" in p.stderr, p.stderr
    assert "reload failed" in p.stderr
    r = c.ctl("reload", json=True, check=1).data
    assert r["ok"] is False
    assert any("broken.ini:4:" in e for e in r["errors"])
    # The old tables decide on.
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    last = c.ctl("status", json=True, check=0).data["tables"]["last_reload"]
    assert last["ok"] is False and last["errors"]
    os.unlink(c.access_dir / "broken.ini")
    c.ctl("reload", check=0)


def test_check_as_gatewayd_t(desk):
    c = desk
    p = c.ctl("check", check=0)
    assert ": ok: 2 gates" in p.stdout
    c.write_access("broken.ini", "[person P9]\nbogus = 1\n")
    p = c.ctl("check", check=1)
    assert "broken.ini:2:" in p.stderr
    d = c.ctl("check", json=True, check=1).data
    assert d["ok"] is False and any("broken.ini:2:" in e
                                    for e in d["problems"])


def test_manual_open_journaled_with_operator_and_reason(desk):
    c = desk
    term = c.terminal("gate-north")
    p = c.ctl("open", "gate-north", "--operator", OPERATOR, "--reason",
              "送货的师傅", check=0)
    assert "gate-north opened by 王师傅" in p.stdout
    cmd = term.wait_cmd_where(lambda m: m.get("action") == "open", 5)
    assert cmd["open_ms"] == 3000
    rows = c.journal.rows("kind = 'access' AND reason = 'manual'")
    assert len(rows) == 1
    body = rows[0]["body"]
    assert body["device"] == "gate-north"
    assert body["operator"] == OPERATOR and body["note"] == "送货的师傅"
    assert body["decision"] == "allow"
    # Who and why are required; an unknown gate is refused.
    assert "--reason" in c.ctl("open", "gate-north", "--operator", "x",
                               check=2).stderr
    p = c.ctl("open", "gate-nowhere", "--operator", "x", "--reason", "y",
              check=1)
    assert "no device 'gate-nowhere'" in p.stderr
    p = c.ctl("open", "cam-1", "--operator", "x", "--reason", "y", check=1)
    assert "not a gate or a barrier" in p.stderr


def test_incidents_ack_resolve(desk):
    c = desk
    c.cam.event("intrusion", 0.9)
    v = harness.wait_for(
        lambda: c.ctl("incidents", json=True, check=0).data or None, 10,
        "an open incident")
    n = v[0]["incident"]
    assert v[0]["type"] == "intrusion" and v[0]["state"] == "open"
    out = c.ctl("incidents", check=0).stdout
    assert "intrusion" in out and "cam-1" in out and "major" in out

    p = c.ctl("ack", n, "--operator", OPERATOR, "--note", "在路上",
              check=0)
    assert "incident #%d acknowledged by 王师傅" % n in p.stdout
    i = c.ctl("incidents", json=True, check=0).data[0]
    assert i["state"] == "acked" and i["acked_by"] == OPERATOR
    acks = c.journal.rows("kind = 'incident' AND decision = 'ack'")
    assert len(acks) == 1 and acks[0]["body"]["operator"] == OPERATOR

    # A number nobody opened is refused, with the gateway's words.
    p = c.ctl("ack", 999, "--operator", OPERATOR, check=1)
    assert "unknown incident" in p.stderr
    c.ctl("resolve", n, "--operator", OPERATOR, check=0)
    assert c.ctl("incidents", json=True, check=0).data == []
    assert "no open incidents" in c.ctl("incidents", check=0).stdout


def test_fire_reset_refused_while_alarm_then_done(desk):
    c = desk
    panel = c.fire_net("panel")
    term = c.terminal("gate-south")
    panel.alarm()
    term.wait_cmd_where(lambda m: m.get("action") == "hold_open", 10)
    s = c.ctl("status", json=True, check=0).data
    assert s["fire"]["state"] == "alarm" and s["fire"]["holding"] is True
    assert "HELD OPEN" in c.ctl("status", check=0).stdout
    p = c.ctl("fire", "reset", "--operator", OPERATOR, check=1)
    assert "alarm" in p.stderr
    panel.normal()
    harness.wait_for(lambda: c.ctl("status", json=True).data["fire"]["state"]
                     != "alarm", 10, "the alarm cleared")
    p = c.ctl("fire", "reset", "--operator", OPERATOR, check=0)
    assert "reset by 王师傅" in p.stdout
    term.wait_cmd_where(lambda m: m.get("action") == "normal", 10)
    assert c.ctl("status", json=True).data["fire"]["holding"] is False


def test_fire_test_holds_for_its_seconds(desk):
    c = desk
    term = c.terminal("gate-north")
    d = c.ctl("fire", "test", "--operator", OPERATOR, "--seconds", "2",
              json=True, check=0).data
    assert d["ok"] is True
    term.wait_cmd_where(lambda m: m.get("action") == "hold_open", 10)
    assert c.ctl("status", json=True).data["fire"]["state"] == "test"
    term.wait_cmd_where(lambda m: m.get("action") == "normal", 15)


@contextlib.contextmanager
def public_ctl(c):
    """gatewayctl and gateway.ini copied where any user can read them
    (pytest's directories are root's alone), for running as nobody."""
    public = Path(tempfile.mkdtemp(prefix="cg-public-"))
    os.chmod(public, 0o755)
    shutil.copy(os.environ.get("GATEWAYCTL", "build/gatewayctl"),
                public / "gatewayctl")
    shutil.copy(c.ini, public / "gateway.ini")
    os.chmod(public / "gateway.ini", 0o644)
    ini, ctl = c.ini, os.environ.get("GATEWAYCTL")
    c.ini = public / "gateway.ini"
    os.environ["GATEWAYCTL"] = str(public / "gatewayctl")
    try:
        yield
    finally:
        c.ini = ini
        if ctl is not None:
            os.environ["GATEWAYCTL"] = ctl
        else:
            os.environ.pop("GATEWAYCTL", None)
        shutil.rmtree(public)


def test_outsider_refused(desk):
    """nobody, outside every group, gets permission denied; root gets
    in."""
    c = desk
    path = socket_path(c)
    with public_ctl(c):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode == 0o660, oct(mode)
        # The socket's mode keeps others out...
        p = c.ctl("status", user="nobody", check=1)
        assert "permission denied" in p.stderr
        # ...and so does the gateway when the mode would let them in.
        os.chmod(path, 0o666)
        p = c.ctl("status", user="nobody", check=1)
        assert "permission denied" in p.stderr
        harness.wait_for(lambda: "refused" in c.gw.log_text(), 5,
                         "the refusal in gatewayd's log")
        c.ctl("status", check=0)


def test_member_of_the_control_group_let_in(compound):
    """[control] group = daemon: the socket is that group's, and nobody
    with daemon among its groups may use it."""
    c = compound
    c.template = WORLD
    c.start(overrides={("control", "group"): "daemon"})
    gid = grp.getgrnam("daemon").gr_gid
    assert os.stat(socket_path(c)).st_gid == gid
    # The journal is the group's to read (events, report): data_dir
    # set-group-id, so that SQLite's files are the group's as made.
    st = os.stat(c.data_dir)
    assert st.st_gid == gid and stat.S_IMODE(st.st_mode) == 0o2750
    for name in ("journal.db", "journal.db-wal", "journal.db-shm"):
        f = c.data_dir / name
        if f.exists():
            assert os.stat(f).st_gid == gid, name
    with public_ctl(c):
        p = c.ctl("status", user="nobody", groups=[gid], json=True,
                  check=0)
        assert p.data["site"] == "jinding-5"


def raw(c, data, read=True, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(socket_path(c))
    s.sendall(data)
    got = b""
    if read:
        try:
            while not got.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
        except socket.timeout:
            pass
    s.close()
    return got


def test_garbage_on_the_socket_survived(desk):
    c = desk
    assert json.loads(raw(c, b"not json\n"))["ok"] is False
    assert json.loads(raw(c, b"[1,2]\n"))["ok"] is False
    assert json.loads(raw(c, b'{"cmd":"nope"}\n'))["code"] == "usage"
    assert json.loads(raw(c, b'{"cmd":7}\n'))["ok"] is False
    assert json.loads(raw(c, b"\xff\xfe\x00{\n"))["ok"] is False
    big = json.loads(raw(c, b"x" * 20000))
    assert big["ok"] is False and "at most" in big["error"]
    raw(c, b'{"cmd":"status"', read=False)     # cut off, then gone
    # Several requests on one connection are answered in turn.
    two = raw(c, b'{"cmd":"incidents"}\n{"cmd":"status"}\n')
    assert json.loads(two.split(b"\n")[0])["incidents"] == []
    c.ctl("status", check=0)
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"


def test_stuck_clients_block_nothing(desk):
    c = desk
    stuck = []
    for _ in range(5):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(socket_path(c))
        s.sendall(b'{"cmd":"sta')       # never finished
        stuck.append(s)
    # One that asks and never reads its answers.
    greedy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    greedy.connect(socket_path(c))
    greedy.sendall(b'{"cmd":"status"}\n' * 200)
    stuck.append(greedy)
    t0 = time.monotonic()
    c.ctl("status", check=0)
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
    assert time.monotonic() - t0 < 5
    for s in stuck:
        s.close()
    c.ctl("status", check=0)


def test_charger_start_and_stop(compound, modbus):
    """gatewayctl charger start/stop take the staff's MQTT path: the coil
    is written, the answer waited for, and a refusal is the station's
    own words."""
    c = compound
    bus = modbus.charger_bus("bus-1", {3: 2})
    modbus.charger("charger-a", "bus-1", 3, 2)
    modbus.start()
    staff = modbus.staff()
    harness.wait_for(lambda: [d for d in c.ctl(
        "status", json=True).data["devices"] if d["id"] == "charger-a" and
        d["state"] == "online"], 20, "charger-a online")
    bus.plug(3, 2)
    bus.coil(3, 2, False)
    staff.wait_state("charger-a", 2, lambda s: s["state"] == "plugged")
    p = c.ctl("charger", "start", "charger-a", "2", "--limit", "10",
              "--operator", OPERATOR, check=0)
    assert "charger-a port 2: started" in p.stdout
    staff.wait_state("charger-a", 2, lambda s: s["state"] == "charging")
    assert bus.state(3)["limits"] == [0, 100]
    c.ctl("charger", "stop", "charger-a", "2", check=0)
    staff.wait_state("charger-a", 2, lambda s: s["state"] != "charging")
    p = c.ctl("charger", "start", "charger-a", "9", check=1)
    assert "port" in p.stderr
    p = c.ctl("charger", "start", "charger-zz", "1", check=1)
    assert "no charging point 'charger-zz'" in p.stderr
    s = c.ctl("status", json=True, check=0).data
    assert s["buses"][0]["name"] == "bus-1"
    assert s["buses"][0]["devices"] == 1 and s["buses"][0]["online"] == 1


def test_many_requests_in_one_write(desk):
    """A client that sends thousands of requests in one go gets every
    answer, in order, and the gateway goes on (answered in a loop, not a
    call as deep as the lines)."""
    c = desk
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(socket_path(c))
    n = 2000
    s.sendall(b'{"cmd":"incidents"}\n' * n)
    got = b""
    while got.count(b"\n") < n:
        chunk = s.recv(65536)
        assert chunk, "closed after %d answers" % got.count(b"\n")
        got += chunk
    s.close()
    answers = [json.loads(line) for line in got.split(b"\n") if line]
    assert len(answers) == n and all(a["ok"] for a in answers)
    _, cmd = c.ask("gate-north", "P0001")
    assert cmd["action"] == "open"
