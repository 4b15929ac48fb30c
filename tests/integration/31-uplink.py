"""The MQTT uplink (DESIGN §4.5): every record the gateway journals is
published, byte for byte, QoS 1, in id order, on cg/<site>/events/<kind>
of a central broker (a second mosquitto with a TLS listener that requires
a client certificate), its cursor moved only on PUBACK: none is missing
across a restart of the central broker, of gatewayd, and a kill -9.  Its
own retained gateway/status there says online and offline.  A broker
whose certificate names another host, or is signed by a CA the gateway
does not trust, is refused and the records are kept: they go once the
broker presents the right certificate.

The central broker keeps its subscriber's session on disk (persistence),
as a real one would: what the gateway publishes while the subscriber has
not yet come back is queued for it, so every id must arrive."""

import json
import os
import pwd
import sqlite3
import ssl
import subprocess
import threading
import time

import pytest

import harness

PEOPLE = ("P0001", "P0002")


# -- certificates -------------------------------------------------------------

def openssl(*args, cwd):
    subprocess.run(("openssl",) + args, cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=%s" % name, "-keyout", name + ".key",
            "-out", name + ".crt", cwd=d)


def make_cert(d, name, ca, cn, san):
    """A certificate for cn with subjectAltName san, signed by ca."""
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % cn,
            "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("subjectAltName = %s\n" % san if san else "")
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
            "-CAkey", ca + ".key", "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", name + ".crt", cwd=d)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """ca: the central broker's and the gateway's CA.  server: localhost
    by name only -- the gateway connects to an address it looked up
    itself, so this proves the name is what is checked.  wronghost: the
    right CA, another name.  stranger: localhost, an unknown CA.  client:
    the gateway's (and the test subscriber's) client certificate."""
    d = str(tmp_path_factory.mktemp("pki"))
    make_ca(d, "ca")
    make_ca(d, "otherca")
    make_cert(d, "server", "ca", "localhost", "DNS:localhost")
    make_cert(d, "wronghost", "ca", "central.example",
              "DNS:central.example")
    make_cert(d, "stranger", "otherca", "localhost", "DNS:localhost")
    make_cert(d, "client", "ca", "cg-jinding-5-uplink", None)
    return lambda name: os.path.join(d, name)


# -- the central broker and who watches it ----------------------------------

class Central(harness.Broker):
    """mosquitto with one TLS listener that requires a client certificate
    signed by the CA; server names which certificate it presents."""

    def __init__(self, workdir, pki, server="server"):
        self.pki, self.server = pki, server
        super().__init__(workdir)

    def _write_conf(self):
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write("listener %d %s\n" % (self.port, self.host))
            f.write("cafile %s\ncertfile %s\nkeyfile %s\n"
                    % (self.pki("ca.crt"), self.pki(self.server + ".crt"),
                       self.pki(self.server + ".key")))
            # As root, mosquitto would become "mosquitto", who cannot
            # read the test's private directory.
            f.write("user %s\n" % pwd.getpwuid(os.getuid()).pw_name)
            f.write("require_certificate true\n"
                    "allow_anonymous true\n"
                    "persistence true\n"
                    "persistence_location %s/\n"
                    "max_queued_messages 0\n"
                    "max_inflight_messages 0\n"
                    "log_dest stderr\n"
                    "log_type error\nlog_type warning\nlog_type notice\n"
                    "log_type information\n"
                    "connection_messages true\n" % self.workdir)

    def present(self, server):
        """Restart presenting another certificate."""
        self.stop()
        self.server = server
        self._write_conf()
        self.start()


class Office:
    """A subscriber on the central broker with a persistent session: every
    record message as it arrived, and the gateway's retained status."""

    def __init__(self, central, pki):
        self.lock = threading.Condition()
        self.events = []        # (seq, payload bytes), in arrival order
        self.status = []
        self.client = harness.paho_client("office-%d" % os.getpid(),
                                          clean_session=False)
        # It only watches: which certificate the broker shows is the
        # gateway's business, not the watcher's.
        self.client.tls_set(ca_certs=pki("ca.crt"),
                            certfile=pki("client.crt"),
                            keyfile=pki("client.key"),
                            cert_reqs=ssl.CERT_NONE)
        self.client.tls_insecure_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect_async(central.host, central.port, keepalive=10)
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0:
            client.subscribe([("cg/jinding-5/events/#", 1),
                              ("cg/jinding-5/gateway/status", 1)])

    def _on_message(self, client, userdata, msg):
        with self.lock:
            if msg.topic.endswith("/gateway/status"):
                self.status.append(json.loads(msg.payload))
            else:
                seq = int(json.loads(msg.payload)["id"].split(":")[1])
                self.events.append((seq, msg.topic, bytes(msg.payload)))
            self.lock.notify_all()

    def seqs(self):
        with self.lock:
            return [s for s, _, _ in self.events]

    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out waiting for " + what)
                self.lock.wait(left)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def journal_records(c):
    """Every record as the uplink must publish it: (seq, topic, bytes)."""
    db = sqlite3.connect("file:%s?mode=ro" % c.journal.path, uri=True,
                         timeout=5)
    try:
        rows = db.execute("SELECT seq, kind, body FROM events ORDER BY seq")
        return [(seq, "cg/%s/events/%s" % (c.site, kind),
                 ('{"id":"%s:%d",' % (c.site, seq)).encode() +
                 body.encode("utf-8")[1:]) for seq, kind, body in rows]
    finally:
        db.close()


def wait_delivered(c, office, timeout=60):
    """Every journaled record has arrived: byte for byte, on its kind's
    topic, first arrivals in id order; duplicates are allowed (what was
    in flight at a reconnect or a restart goes again).  A minute: under
    the sanitizers, with another test beside it, the central broker was
    once seen to stall for 10 s and drop its clients (CI), after which
    the gateway and the watcher both reconnect and catch up."""
    def all_there():
        want = {s for s, _, _ in journal_records(c)}
        return want <= set(office.seqs())
    try:
        office.wait(all_there, timeout, "every journaled id on the "
                    "central broker")
    except TimeoutError:
        missing = sorted({s for s, _, _ in journal_records(c)} -
                         set(office.seqs()))
        raise AssertionError("ids missing on the central broker: %r"
                             % missing[:50])
    with office.lock:
        got = list(office.events)
    first, seen = [], {}
    for seq, topic, payload in got:
        if seq not in seen:
            seen[seq] = (topic, payload)
            first.append(seq)
    assert first == sorted(first), "out of id order: %r" % first
    for seq, topic, payload in journal_records(c):
        assert seen[seq] == (topic, payload), "record %d differs" % seq
    return got


def faces(c, n):
    """n faces at the gates, sent as fast as may be (each journaled)."""
    for i in range(n):
        term = c.terminal(("gate-north", "gate-south")[i % 2])
        term.face(PEOPLE[i % 2])


def uplink_overrides(central, pki, inflight=8):
    return {("uplink", "host"): "localhost",
            ("uplink", "port"): str(central.port),
            ("uplink", "ca_file"): pki("ca.crt"),
            ("uplink", "cert_file"): pki("client.crt"),
            ("uplink", "key_file"): pki("client.key"),
            ("uplink", "inflight"): str(inflight)}


def local_uplink_status(c, predicate, since=0, timeout=15):
    """The uplink's part of the first local gateway/status from position
    since that satisfies predicate."""
    m = c.gw.status.wait(
        lambda m: predicate(
            json.loads(m.payload).get("sinks", {}).get("uplink", {})),
        timeout, "gateway/status with such an uplink", since)
    return m.json()["sinks"]["uplink"]


@pytest.fixture
def world(compound, pki, tmp_path):
    central = Central(tmp_path / "central", pki).start()
    office = Office(central, pki)
    assert office.subscribed.wait(10), "the office could not subscribe"
    yield compound, central, office
    office.close()
    central.stop()


def test_every_id_across_restarts(world, pki):
    c, central, office = world
    c.start(uplink_overrides(central, pki))
    office.wait(lambda: office.status and
                office.status[-1]["state"] == "online", 10,
                "the gateway online on the central broker")
    faces(c, 40)
    wait_delivered(c, office)

    # The central broker restarts, records are journaled meanwhile.
    central.stop()
    faces(c, 30)
    time.sleep(0.5)
    central.start()
    faces(c, 10)
    wait_delivered(c, office)

    # A clean restart: offline there (retained), then online again.
    faces(c, 20)
    assert c.gw.stop() == 0
    office.wait(lambda: office.status[-1]["state"] == "offline", 10,
                "offline on the central broker after a clean stop")
    c.gw.start()
    office.wait(lambda: office.status[-1]["state"] == "online", 10,
                "online again")
    wait_delivered(c, office)

    # kill -9 while records are on their way, twice.
    for _ in range(2):
        faces(c, 60)
        time.sleep(0.05)
        mark = c.gw.status.mark()
        c.restart(kill=True)
        wait_delivered(c, office)

    status = local_uplink_status(c, lambda u: u.get("state") == "connected",
                                 since=mark)
    assert isinstance(status["backlog"], int)
    assert "last_error" not in status


def test_wrong_certificates_refused_records_kept(world, pki):
    c, central, office = world
    central.present("wronghost")
    c.start(uplink_overrides(central, pki))
    faces(c, 20)
    c.gw.wait_log(r"uplink localhost:\d+: TLS .*refused: hostname mismatch",
                  timeout=10)
    status = local_uplink_status(
        c, lambda u: "hostname mismatch" in u.get("last_error", ""))
    assert status["state"] == "connecting"

    central.present("stranger")
    mark = c.gw.log_mark()
    c.gw.wait_log(r"uplink localhost:\d+: TLS .*refused: unable to get "
                  r"local issuer certificate", timeout=15, since=mark)
    # Kept, and status says how far behind the uplink is.
    status = local_uplink_status(
        c, lambda u: "local issuer" in u.get("last_error", ""))
    assert status["state"] == "connecting"
    assert status["backlog"] >= 20
    assert status["oldest"].startswith("jinding-5:")
    assert status["age_s"] >= 0
    assert office.seqs() == [], "records went to an untrusted broker"

    # The right certificate: everything journaled meanwhile goes.
    central.present("server")
    faces(c, 10)
    wait_delivered(c, office, timeout=40)
