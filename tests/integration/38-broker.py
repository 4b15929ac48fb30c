"""Only the gateway opens gates (issue 14): a real mosquitto on the files
`gatewayctl broker DIR` wrote.  Strangers are refused; each device may say
only what it is; a device's word on another's topic, a cmd, a fire alarm
from a gate go nowhere; staff may reset a fire alarm and nothing else; a
removed device is refused after regeneration and a reload; the secrets
are in their own 0600 files and in no log.  And gatewayd's self-check
flags a broker that lets anyone in.
"""

import json
import os
import re
import stat
import threading

import paho.mqtt.client as mqtt
import pytest

import harness
from face_terminal import FaceTerminal

SITE = "jinding-5"
P = "cg/" + SITE
NEW_PASSWORD = re.compile(r"^new password for (\S+) \(kept in (.+)\): (\S+)$",
                          re.M)


def connect_rc(port, auth=None, timeout=5):
    """The broker's CONNACK code to a client with these credentials."""
    got, done = [], threading.Event()
    c = mqtt.Client(client_id="", clean_session=True)
    if auth is not None:
        c.username_pw_set(*auth)

    def on_connect(client, userdata, flags, rc):
        got.append(rc)
        done.set()

    c.on_connect = on_connect
    c.connect(harness.LOCALHOST, port, keepalive=30)
    c.loop_start()
    try:
        assert done.wait(timeout), "no CONNACK"
    finally:
        c.disconnect()
        c.loop_stop()
    return got[0]


class Client:
    """One identity's paho client: publishes acknowledged, and every
    message of its subscriptions kept."""

    def __init__(self, port, auth, topics=()):
        self.rec = harness.Recorder(port, list(topics) or ["cg/test/none"],
                                    auth=auth, name="id-" + auth[0])
        self.rec.start()
        self.granted = None
        self.rec.client.on_subscribe = self._on_subscribe

    def _on_subscribe(self, client, userdata, mid, granted):
        self.granted = list(granted)

    def publish(self, topic, payload, qos=1):
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        info = self.rec.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(5)

    def subscribe(self, topic):
        done = threading.Event()
        self.rec.client.on_subscribe = (
            lambda c, u, mid, granted: (setattr(self, "granted",
                                                list(granted)), done.set()))
        self.rec.client.subscribe(topic, qos=1)
        assert done.wait(5), "no SUBACK for " + topic
        return self.granted

    def close(self):
        self.rec.close()


class Closed:
    """A compound whose broker is made by gatewayctl broker."""

    def __init__(self, compound):
        self.c = compound
        self.port = harness.free_port()
        self.confdir = compound.root / "mosquitto.d"
        self.confdir.mkdir()
        self.secrets = compound.root / "secrets"
        self.secrets.mkdir(mode=0o700)
        self.overrides = {
            ("mqtt", "username"): "gateway",
            ("mqtt", "password_file"): self.secret("gateway"),
            ("broker", "listen"): "%s:%d" % (harness.LOCALHOST, self.port),
            ("broker", "staff_password_file"): self.secret("staff"),
            ("broker", "display_password_file"): self.secret("display"),
            ("device gate-north", "password_file"): self.secret(
                "gate-north"),
            ("device gate-south", "password_file"): self.secret(
                "gate-south"),
            ("device fire-net", "driver"): "fire_mqtt",
            ("device fire-net", "password_file"): self.secret("fire-net"),
        }
        compound.broker = harness.Broker(
            compound.root / "broker", port=self.port,
            conf=["include_dir %s" % self.confdir,
                  # Its privileges kept: pytest's directories are root's
                  # alone, where mosquitto's user cannot look.
                  "user root"])
        compound.write_ini(self.overrides)
        self.passwords = {}
        self.generate()
        compound.broker.start()
        self.clients = []

    def secret(self, name):
        return str(self.secrets / (name + ".pw"))

    def generate(self):
        p = self.c.ctl("broker", self.confdir, check=0)
        for user, path, password in NEW_PASSWORD.findall(p.stdout):
            self.passwords[user] = password
        return p

    def auth(self, user):
        return (user, self.passwords[user])

    def client(self, user, *topics):
        cl = Client(self.port, self.auth(user), topics)
        self.clients.append(cl)
        return cl

    def start_gatewayd(self):
        c = self.c
        c.gw = harness.Gatewayd(c.binary, c.ini, c.root, c.site, self.port,
                                env=c.env, status_auth=self.auth("display"))
        c.gw.start()

    def terminal(self, gate):
        if gate not in self.c.terminals:
            self.c.terminals[gate] = FaceTerminal(
                self.port, gate, site=SITE, auth=self.auth(gate)).connect()
        return self.c.terminals[gate]

    def close(self):
        for cl in self.clients:
            cl.close()


@pytest.fixture
def closed(compound):
    world = Closed(compound)
    yield world
    world.close()


def test_identities_made_private_and_strangers_refused(closed):
    c = closed
    assert set(c.passwords) == {"gateway", "staff", "display", "gate-north",
                                "gate-south", "fire-net"}
    for user in c.passwords:
        mode = os.stat(c.secret(user)).st_mode
        assert stat.S_IMODE(mode) == 0o600, user
    for name in ("passwd", "acl"):
        assert stat.S_IMODE(os.stat(c.confdir / name).st_mode) & 0o007 == 0
    passwd = (c.confdir / "passwd").read_text()
    for user, password in c.passwords.items():
        assert password not in passwd
        assert re.search(r"^%s:\$7\$" % re.escape(user), passwd, re.M)
    # Run again: the same secrets, nothing new printed.
    again = c.generate()
    assert "new password" not in again.stdout
    # No password, a wrong one, a stranger's name: all refused.
    assert connect_rc(c.port) == 5
    assert connect_rc(c.port, ("gate-north", "guess")) in (4, 5)
    assert connect_rc(c.port, ("nobody", c.passwords["gate-north"])) in (4, 5)
    assert connect_rc(c.port, c.auth("gate-north")) == 0


def test_only_the_gateway_opens(closed):
    c = closed
    c.start_gatewayd()
    events = c.client("display", P + "/events/#")
    north = c.terminal("gate-north")
    south = c.terminal("gate-south")
    spoof = c.client("gate-north")

    # gate-north pretends to be gate-south's terminal, commands
    # gate-south itself, and raises a fire alarm: all dropped.
    spoof.publish(P + "/gate/gate-south/face",
                  {"id": "spoof-1", "person": "P0001", "score": 0.99,
                   "direction": "in"})
    spoof.publish(P + "/gate/gate-south/cmd",
                  {"action": "open", "request": "spoof-2"})
    spoof.publish(P + "/fire/fire-net/alarm", {"state": "alarm"})
    spoof.publish(P + "/fire/reset", {"id": "spoof-3", "operator": "x"})
    # Nor may it read what the gateway tells everyone.
    granted = spoof.subscribe(P + "/events/#")

    # The gateway still decides: gate-north's own request is answered,
    # and journaled and published after the spoofs.
    request = north.face("P0001")
    cmd = north.wait_cmd(request, 10)
    assert cmd["action"] == "open"
    events.rec.wait(lambda m: request in m.payload.decode(), 10,
                    "the event of " + request)

    assert c.c.journal.for_request("spoof-1") == []
    assert c.c.journal.for_request("spoof-3") == []
    assert south.all_cmds() == []
    assert not [m for m in events.rec.snapshot()
                if b"spoof" in m.payload or b"fire" in m.topic.encode()]
    assert granted == [128] or not spoof.rec.snapshot()
    assert not [m for m in spoof.rec.snapshot() if "/events/" in m.topic]
    rows = c.c.journal.rows("device = 'fire-net'")
    assert not [r for r in rows if "alarm" in json.dumps(r)]


def test_staff_reset_a_fire_alarm_and_nothing_else(closed):
    c = closed
    c.start_gatewayd()
    panel = c.client("fire-net")
    staff = c.client("staff", P + "/fire/result")
    south = c.terminal("gate-south")

    panel.publish(P + "/fire/fire-net/alarm", {"state": "alarm"})
    south.wait_cmd_where(lambda m: m.get("action") == "hold_open", 10)
    panel.publish(P + "/fire/fire-net/alarm", {"state": "normal"})
    # A staff "open" at a gate, a fake face: dropped.
    staff.publish(P + "/gate/gate-south/cmd",
                  {"action": "open", "request": "staff-open"})
    staff.publish(P + "/gate/gate-south/face",
                  {"id": "staff-face", "person": "P0001", "score": 0.99})
    staff.publish(P + "/fire/reset", {"id": "r-1", "operator": "王师傅"})
    answer = staff.rec.wait(lambda m: b'"r-1"' in m.payload, 10,
                            "the reset's answer")
    assert answer.json()["ok"] is True
    south.wait_cmd_where(lambda m: m.get("action") == "normal", 10)
    assert not [m for m in south.all_cmds()
                if m.get("request") in ("staff-open", "staff-face")]
    assert c.c.journal.for_request("staff-face") == []


def test_removed_device_refused_after_regeneration(closed):
    c = closed
    assert connect_rc(c.port, c.auth("gate-south")) == 0
    text = c.c.ini.read_text()
    text = re.sub(r"\[device gate-south\].*?(?=\n\[|\Z)", "", text,
                  flags=re.S)
    c.c.ini.write_text(text)
    c.generate()
    c.c.broker.reload()
    harness.wait_for(
        lambda: connect_rc(c.port, c.auth("gate-south")) == 5, 10,
        "gate-south refused after the reload")
    assert connect_rc(c.port, c.auth("gate-north")) == 0


def test_secrets_in_no_log(closed):
    c = closed
    c.start_gatewayd()
    north = c.terminal("gate-north")
    request = north.face("P0001")
    cmd = north.wait_cmd(request, 10)
    assert cmd["action"] == "open"
    logs = c.c.gw.log_text() + c.c.broker.log()
    logs += (c.confdir / "acl").read_text()
    logs += (c.confdir / "community-gateway.conf").read_text()
    for user, password in c.passwords.items():
        assert password not in logs, user
    st = c.c.ctl("status", json=True, check=0).data
    harness.wait_for(
        lambda: c.c.ctl("status", json=True).data["broker_open"] is False,
        20, "the self-check to find the broker closed")
    assert st["mqtt"]["connected"] is True


def test_self_check_flags_an_open_broker(compound):
    """The usual test broker lets anyone in: gatewayd says so."""
    compound.start({("alert broker_open", "severity"): "major"})
    harness.wait_for(
        lambda: compound.ctl("status", json=True).data["broker_open"]
        is True, 20, "broker_open in gatewayctl status")
    compound.gw.wait_log(r"security: the broker .* without a password", 10)
    rows = compound.journal.wait_rows(
        "kind = 'system' AND decision = 'broker_open'", timeout=10)
    assert rows[0]["body"]["alert"] == "broker_open"
    assert rows[0]["body"]["severity"] == "major"
    status = harness.retained(compound.broker.port, P + "/gateway/status")
    assert status["broker_open"] is True
    text = compound.ctl("status", check=0).stdout
    assert "OPEN TO ANYONE" in text
