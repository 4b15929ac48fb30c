"""Run a private world for gatewayd: a mosquitto broker on a free loopback
port, the gatewayd binary with an sd_notify socket, MQTT recorders and a
read-only view of the journal.  Shared by the integration tests, the demo
and the benchmark; it asserts nothing about the gateway's decisions.

Only Debian's python3 packages are used (paho-mqtt 1.6.1).
"""

import hashlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

MOSQUITTO = "/usr/sbin/mosquitto"
LOCALHOST = "127.0.0.1"

# What a sanitizer build prints when it finds something: any of these in
# gatewayd's output fails the test that ran it (env SANITIZED=1).
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "LeakSanitizer")


def free_port():
    """A TCP port on the loopback interface that nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, what, interval=0.02):
    """Poll predicate until it returns something truthy, and return that.

    A deadline, never a measurement: raises TimeoutError naming what was
    awaited, so a failing test says what did not happen.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("timed out after %.1f s waiting for %s"
                               % (timeout, what))
        time.sleep(interval)


def port_accepts(port, host=LOCALHOST):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """A private mosquitto on a loopback port, restartable on that port."""

    def __init__(self, workdir, port=None, conf=None):
        """conf: lines in place of the anonymous listener, such as an
        include_dir of files `gatewayctl broker` wrote (with port: the
        port they listen on)."""
        self.extra_conf = list(conf) if conf is not None else None
        self.workdir = str(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.host = LOCALHOST
        self.port = port or free_port()
        # A port we chose may be taken by another test between the
        # choice and mosquitto's bind (tests run two at a time): then
        # another is chosen, before anyone was told this one.
        self._may_move = port is None
        self.conf = os.path.join(self.workdir, "mosquitto.conf")
        self.log_path = os.path.join(self.workdir, "mosquitto.log")
        self.proc = None
        self._write_conf()

    def _write_conf(self):
        # Nagle off as the project ships it (DESIGN §6); deep queues and no
        # in-flight cap so that a burst in a test is never the broker's loss.
        with open(self.conf, "w", encoding="utf-8") as f:
            if self.extra_conf is not None:
                f.write("".join(line + "\n" for line in self.extra_conf))
            else:
                f.write("listener %d %s\n" % (self.port, self.host))
                f.write("allow_anonymous true\n"
                        "set_tcp_nodelay true\n")
            f.write("persistence false\n"
                    "max_queued_messages 100000\n"
                    "max_inflight_messages 0\n"
                    "log_dest stderr\n"
                    "log_type error\n"
                    "log_type warning\n"
                    "log_type notice\n"
                    "log_type information\n"
                    "connection_messages true\n"
                    "log_timestamp_format %H:%M:%S\n")

    def start(self, timeout=10):
        for attempt in range(5):
            try:
                return self._start(timeout)
            except RuntimeError as e:
                if not (self._may_move and "Address already in use"
                        in str(e)) or attempt == 4:
                    raise
                self.port = free_port()
                self._write_conf()
        return self

    def _start(self, timeout):
        if self.running():
            return self
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", self.conf], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True)
        finally:
            log.close()

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited with %s:\n%s"
                                   % (self.proc.returncode, self.log()))
            return port_accepts(self.port, self.host)
        wait_for(up, timeout, "mosquitto to listen on port %d" % self.port)
        self._may_move = False  # clients know it now
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    def reload(self):
        """SIGHUP: mosquitto reads its password and ACL files again."""
        self.proc.send_signal(signal.SIGHUP)

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def control_socket(data_dir):
    """A control socket of this data_dir's own, short enough for a Unix
    socket's 108 bytes wherever pytest puts its directories."""
    tag = hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()
    return "/tmp/cg-%s.sock" % tag[:16]


def derive_ini(template, port, data_dir, access_dir, host=LOCALHOST,
               overrides=None):
    """gateway.ini text from a template, pointed at a private world.

    Replaces [mqtt] host and port and [gateway] data_dir and access_dir
    (adding them when the template lacks them); overrides maps
    (section, key) to a value, set the same way.  Everything else, such
    as site = jinding-5 and the devices, is kept as written.
    """
    settings = {("mqtt", "host"): host, ("mqtt", "port"): str(port),
                ("gateway", "data_dir"): str(data_dir),
                ("gateway", "access_dir"): str(access_dir),
                ("control", "socket"): control_socket(data_dir)}
    settings.update(overrides or {})
    lines = template.lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    out, section, done = [], None, set()

    def flush_missing(sec):
        for (s, k), v in settings.items():
            if s == sec and (s, k) not in done:
                out.append("%s = %s" % (k, v))
                done.add((s, k))

    for line in lines:
        header = re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            flush_missing(section)
            section = header.group(1)
            out.append(line)
            continue
        kv = re.match(r"\s*([A-Za-z0-9_.]+)\s*=", line)
        if kv and (section, kv.group(1)) in settings:
            key = kv.group(1)
            out.append("%s = %s" % (key, settings[(section, key)]))
            done.add((section, key))
            continue
        out.append(line)
    flush_missing(section)
    for (s, k), v in settings.items():
        if (s, k) not in done:
            out.append("[%s]" % s)
            flush_missing(s)
    return "\n".join(out).rstrip("\n") + "\n"


def ini_sections(text):
    """[(section name, {key: value})] of INI text, in file order.

    Enough for simulators to pick ids from a config: a byte-order mark,
    CRLF, and ; or # comments (whole-line, or after a space) are handled;
    it checks nothing, which is gatewayd -t's job.
    """
    sections, current = [], None
    for line in text.lstrip("\ufeff").splitlines():
        line = re.split(r"(?:^|\s)[;#]", line, maxsplit=1)[0].strip()
        header = re.fullmatch(r"\[\s*(.+?)\s*\]", line)
        if header:
            current = {}
            sections.append((header.group(1), current))
        elif "=" in line and current is not None:
            key, value = line.split("=", 1)
            current[key.strip()] = value.strip()
    return sections


def ini_value(text, section, key):
    """One value from INI text, or None."""
    for name, values in ini_sections(text):
        if name == section and key in values:
            return values[key]
    return None


def paho_client(client_id, clean_session=True, auth=None):
    """A paho client that reconnects quickly and never drops a message;
    auth: (username, password) on a broker that wants them."""
    c = mqtt.Client(client_id=client_id, clean_session=clean_session)
    if auth is not None:
        c.username_pw_set(*auth)
    c.reconnect_delay_set(0.1, 0.5)
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    return c


class Message:
    """One message as a subscriber got it: t is its arrival on the
    monotonic clock, wall the same on the epoch clock (to set beside a
    simulator's log), qos the QoS it was delivered with (at most the
    subscription's)."""

    __slots__ = ("topic", "payload", "retain", "t", "qos", "wall")

    def __init__(self, topic, payload, retain, t, qos=0, wall=None):
        self.topic = topic
        self.payload = payload
        self.retain = retain
        self.t = t
        self.qos = qos
        self.wall = time.time() if wall is None else wall

    def json(self):
        return json.loads(self.payload.decode("utf-8"))

    def __repr__(self):
        return "Message(%r, %r, retain=%d)" % (self.topic, self.payload,
                                               self.retain)


class Recorder:
    """A paho client that keeps every message of some topic filters.

    It resubscribes after a reconnect, so it survives a broker restart.
    A message with retain set came from the broker's store when the
    subscription was made; a live one has it clear (MQTT 3.1.1 §3.3.1.3).
    """

    _count = 0

    def __init__(self, port, topics, host=LOCALHOST, qos=1, name="rec",
                 auth=None):
        Recorder._count += 1
        self.topics = list(topics)
        self.qos = qos
        self.messages = []
        self.cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = paho_client("%s-%d-%d" % (name, os.getpid(),
                                                Recorder._count),
                                  auth=auth)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.host, self.port = host, port

    def start(self, timeout=10):
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            raise TimeoutError("recorder could not subscribe to %s"
                               % self.topics)
        return self

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0:
            client.subscribe([(t, self.qos) for t in self.topics])

    def _on_subscribe(self, client, userdata, mid, granted_qos):
        self._subscribed.set()

    def _on_message(self, client, userdata, msg):
        m = Message(msg.topic, bytes(msg.payload), bool(msg.retain),
                    time.monotonic(), msg.qos, time.time())
        with self.cond:
            self.messages.append(m)
            self.cond.notify_all()

    def mark(self):
        """A position in the stream, for wait(since=...)."""
        with self.cond:
            return len(self.messages)

    def sync(self, topic, timeout=10):
        """A position after everything the broker had queued for us.

        A marker published (not retained) on one of our topics comes back
        after whatever the broker sent before it, such as a retained
        message from an earlier run delivered on subscription.
        """
        marker = json.dumps({"sync": os.urandom(8).hex()}).encode()
        self.client.publish(topic, marker, qos=1)
        self.wait(lambda m: m.payload == marker, timeout,
                  "the sync marker on %s" % topic)
        return self.mark()

    def snapshot(self, since=0):
        with self.cond:
            return list(self.messages[since:])

    def wait(self, predicate, timeout, what, since=0):
        """The first message from position since that satisfies predicate."""
        deadline = time.monotonic() + timeout
        with self.cond:
            i = since
            while True:
                while i < len(self.messages):
                    if predicate(self.messages[i]):
                        return self.messages[i]
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out after %.1f s waiting for "
                                       "%s" % (timeout, what))
                self.cond.wait(left)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class NotifySocket:
    """The sd_notify end systemd would hold: an AF_UNIX datagram socket,
    abstract by default (no path length limits in deep temporary
    directories), or bound to path as systemd's own /run/systemd/notify."""

    _count = 0

    def __init__(self, path=None):
        NotifySocket._count += 1
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path is not None:
            self.address = str(path)
            self.sock.bind(self.address)
        else:
            name = "cg-notify-%d-%d-%d" % (os.getpid(), NotifySocket._count,
                                           int(time.time() * 1000) % 100000)
            self.address = "@" + name
            self.sock.bind("\0" + name)
        self.datagrams = []
        self.times = []     # time.monotonic() of each datagram's arrival
        self.cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while not self._closed:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            with self.cond:
                # One datagram may carry several "KEY=value" lines.
                self.datagrams.append(data.decode("utf-8", "replace"))
                self.times.append(time.monotonic())
                self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.datagrams)

    def wait(self, line, timeout, since=0, alive=None):
        """Wait for a datagram holding exactly this line (e.g. READY=1)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            i = since
            while True:
                while i < len(self.datagrams):
                    if line in self.datagrams[i].split("\n"):
                        return self.datagrams[i]
                    i += 1
                if alive is not None:
                    alive()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no %s on NOTIFY_SOCKET within %.1f s"
                                       % (line, timeout))
                self.cond.wait(min(left, 0.1))

    def close(self):
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class Gatewayd:
    """The gatewayd binary under test, restartable on the same config.

    Its output (stderr and stdout, one stream) goes to a file in workdir
    and, line by line, to on_line when given (the demo prints it).  Its
    NOTIFY_SOCKET is an abstract name, or notify_path when given.
    """

    def __init__(self, binary, ini_path, workdir, site, mqtt_port,
                 mqtt_host=LOCALHOST, env=None, on_line=None,
                 notify_path=None, args=(), status_auth=None):
        """status_auth: the identity (user, password) that watches
        gateway/status on a closed broker; it may not publish there, so
        a start waits for any "online" rather than a fresh one."""
        self.binary = str(binary)
        self.args = list(args)      # more options, such as -v
        self.ini_path = str(ini_path)
        self.workdir = str(workdir)
        self.site = site
        self.env = dict(env or {})
        self.on_line = on_line
        self.log_path = os.path.join(self.workdir, "gatewayd.log")
        self.lines = []
        self.lines_cond = threading.Condition()
        self.notify = NotifySocket(notify_path)
        self.status_topic = "cg/%s/gateway/status" % site
        self.status_auth = status_auth
        self.status = Recorder(mqtt_port, [self.status_topic],
                               host=mqtt_host, name="gw-status",
                               auth=status_auth)
        self.proc = None
        self._reader = None
        self._status_started = False

    # -- starting and stopping --------------------------------------------

    def start(self, timeout=15, wait_online=True):
        """Start, then wait for READY=1 and a fresh "online" status: after
        that the gateway's subscriptions are active."""
        if not self._status_started:
            self.status.start()
            self._status_started = True
        notify_mark = self.notify.mark()
        status_mark = (self.status.mark() if self.status_auth else
                       self.status.sync(self.status_topic))
        env = dict(os.environ)
        # Only the watchdog a test asks for, not one this runner inherited.
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        env.update(self.env)
        env["NOTIFY_SOCKET"] = self.notify.address
        self.proc = subprocess.Popen(
            [self.binary, "-c", self.ini_path] + self.args, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self._reader = threading.Thread(target=self._read_output,
                                        args=(self.proc,), daemon=True)
        self._reader.start()
        self.notify.wait("READY=1", timeout, since=notify_mark,
                         alive=self._check_alive)
        if wait_online:
            self.wait_online(timeout, since=status_mark)
        return self

    def wait_online(self, timeout=15, since=0):
        """An "online" status after position since (see Recorder.sync).

        It may come retained: after a broker restart the recorder can
        subscribe again only after gatewayd has announced itself.
        """
        return self.status.wait(lambda m: _state(m) == "online", timeout,
                                "gatewayd's online status", since)

    def _check_alive(self):
        if self.proc.poll() is not None:
            self._reader.join(2)
            raise RuntimeError("gatewayd exited with %s before it was "
                               "ready:\n%s" % (self.proc.returncode,
                                               self.log_text()))

    def _read_output(self, proc):
        with open(self.log_path, "ab") as log:
            for raw in iter(proc.stdout.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self.lines_cond:
                    self.lines.append(line)
                    self.lines_cond.notify_all()
                if self.on_line is not None:
                    self.on_line(line)
        proc.stdout.close()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def pid(self):
        return self.proc.pid

    def signal(self, signum):
        self.proc.send_signal(signum)

    def stop(self, timeout=10):
        """SIGTERM; the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def wait_exit(self, timeout=10):
        """Wait for it to exit on its own; its status (None: it did not,
        and was killed)."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        return self._reap()

    def kill(self):
        """kill -9: no clean-up at all, as a power cut or the OOM killer."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self._reap()

    def _reap(self):
        rc = self.proc.returncode
        if self._reader is not None:
            self._reader.join(5)
        self.proc = None
        return rc

    def close(self):
        """Stop whatever still runs and release sockets and clients."""
        if self.running():
            self.kill()
        self.status.close()
        self.notify.close()

    # -- what it printed -------------------------------------------------

    def log_text(self):
        with self.lines_cond:
            return "\n".join(self.lines)

    def log_mark(self):
        with self.lines_cond:
            return len(self.lines)

    def wait_log(self, pattern, timeout=10, since=0):
        """The first output line from position since that matches."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.lines_cond:
            i = since
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("gatewayd printed no line matching %r "
                                       "within %.1f s; it printed:\n%s"
                                       % (pattern, timeout,
                                          "\n".join(self.lines[since:])))
                self.lines_cond.wait(left)

    def sanitizer_report(self):
        """Sanitizer findings in the output, or "" (only when SANITIZED=1)."""
        if os.environ.get("SANITIZED") != "1":
            return ""
        text = self.log_text()
        if any(marker in text for marker in SANITIZER_MARKERS):
            return text
        return ""


def _state(message):
    try:
        return message.json().get("state")
    except (ValueError, AttributeError):
        return None


class Journal:
    """The journal as gatewayd's readers see it: read-only, never a
    second writer (DESIGN §3)."""

    COLUMNS = ("seq", "ts_ms", "kind", "device", "request", "decision",
               "reason", "subject_type", "subject_id", "household",
               "direction", "body")

    def __init__(self, data_dir):
        self.path = os.path.join(str(data_dir), "journal.db")

    def rows(self, where="1", params=()):
        """Rows as dicts (body decoded), in seq order."""
        if not os.path.exists(self.path):
            return []
        uri = "file:%s?mode=ro" % self.path
        db = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            cur = db.execute("SELECT %s FROM events WHERE %s ORDER BY seq"
                             % (", ".join(self.COLUMNS), where), params)
            out = []
            for values in cur.fetchall():
                row = dict(zip(self.COLUMNS, values))
                row["body"] = json.loads(row["body"])
                out.append(row)
            return out
        finally:
            db.close()

    def max_seq(self):
        rows = self.rows("seq = (SELECT max(seq) FROM events)")
        return rows[0]["seq"] if rows else 0

    def for_request(self, request, device=None):
        if device is None:
            return self.rows("request = ?", (request,))
        return self.rows("request = ? AND device = ?", (request, device))

    def wait_rows(self, where, params=(), count=1, timeout=10, what=None):
        """Wait until at least count rows match (rows are committed just
        before the command leaves, so usually they are there at once)."""
        def enough():
            rows = self.rows(where, params)
            return rows if len(rows) >= count else None
        return wait_for(enough, timeout, what or "%d journal rows where %s %r"
                        % (count, where, params), interval=0.05)


def retained(port, topic, host=LOCALHOST, timeout=5):
    """What the broker keeps on topic (its JSON), or None: a new client
    subscribes, then publishes a probe to itself; what came before the
    probe is what was retained."""
    probe = "cg/test/probe/%s" % os.urandom(6).hex()
    got, done = [], threading.Event()
    c = paho_client("look-" + probe.rsplit("/", 1)[1])

    def on_message(client, userdata, msg):
        if msg.topic == probe:
            done.set()
        elif msg.retain and msg.payload:
            got.append(json.loads(msg.payload.decode("utf-8")))

    c.on_message = on_message
    c.on_connect = lambda client, u, f, rc: client.subscribe(
        [(topic, 1), (probe, 1)])
    c.on_subscribe = lambda client, u, mid, granted: client.publish(
        probe, b"probe", qos=1)
    c.connect(host, port, keepalive=30)
    c.loop_start()
    try:
        if not done.wait(timeout):
            raise TimeoutError("no probe back on %s" % probe)
    finally:
        c.disconnect()
        c.loop_stop()
    return got[-1] if got else None


def wait_under(cond, predicate, timeout, failure):
    """predicate() called under cond (a threading.Condition the other
    side notifies) until it is truthy: its value.  At the deadline a
    TimeoutError with failure(), which says what was seen."""
    deadline = time.monotonic() + timeout
    with cond:
        while True:
            value = predicate()
            if value:
                return value
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(failure())
            cond.wait(min(left, 0.2))
