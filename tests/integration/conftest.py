"""Fixtures for the integration tests: a small compound of our own in a
temporary directory (gateway.ini and access.d written here, with hours
and visit windows built around the real time in Asia/Shanghai), a private
mosquitto, the real gatewayd, and face terminals.

A test gets a Compound through the `compound` fixture (not started, so it
can change the files first) or `running_compound` (one per module).  At
teardown gatewayd must stop on SIGTERM with status 0, and, when
SANITIZED=1, must have printed no sanitizer report.

Modbus tests use the `modbus` fixture: relay-board simulators
(tests/sim/relay_board.py) on loopback TCP ports or on socat pty pairs,
and the [bus NAME] and barrier_relay sections of gateway.ini that name
them; `modbus.start()` starts the compound with them.  Charging points
and energy meters (tests/sim/charger_sim.py) are on buses made with
`modbus.charger_bus()`, configured with `modbus.charger()` and
`modbus.meter()`; `modbus.staff()` is what a staff tool sees of them on
MQTT (ChargerStaff).  Fire panels are `modbus.fire_input()` (a dry
contact on a relay board's discrete input) and `modbus.fire_mqtt()`;
`compound.fire_net(id)` publishes a panel's state on MQTT and
`compound.fire_staff()` resets the alarm and runs fire tests
(tests/sim/fire_panel.py).
"""

import json
import json as _json
import os
import pwd
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "sim"))

import harness  # noqa: E402
from face_terminal import FaceTerminal  # noqa: E402
from charger_sim import ChargerBus  # noqa: E402
from fire_panel import FireNet, FireStaff  # noqa: E402
from relay_board import PtyPair, RelayBus  # noqa: E402
from robot import Robot, describe as describe_request  # noqa: E402

SITE = "jinding-5"
TZ = ZoneInfo("Asia/Shanghai")
GATES = ("gate-north", "gate-south")

# check_ts = yes: this machine's clock is not NTP-synchronised, and with
# "auto" the daemon would not check request timestamps at all.
GATEWAY_TEMPLATE = """\
[gateway]
site = jinding-5
name = 金鼎5栋楼 (test)
timezone = Asia/Shanghai
data_dir = /nonexistent
access_dir = /nonexistent
check_ts = yes
stale_s = 30

[mqtt]
host = 127.0.0.1
port = 1883
keepalive = 30

; No daily report unless a test asks: it would be one more message for
; the robot in every test that counts them.
[report]
at = off

; The test broker lets anyone in, which gatewayd's self-check reports:
; journaled as evidence here, not an alert that would open an incident
; and message the robot in every test that counts them (38-broker.py
; asks for it).
[alert broker_open]
severity = none

[device gate-north]
driver = face_gate
direction = both
min_score = 0.80
open_ms = 3000
zone = north

[device gate-south]
driver = face_gate
direction = both
min_score = 0.80
open_ms = 2500
zone = south
"""


def hhmm(t):
    return t.strftime("%H:%M")


def day(t):
    return t.strftime("%Y-%m-%d")


def minute(t):
    return t.strftime("%Y-%m-%d %H:%M")


class Schedule:
    """Hours and dates around the moment the compound was written.

    Ranges are every-day and a few hours wide, so a test that runs for
    seconds cannot cross an edge; one that spans midnight is still valid
    (it belongs to the day it starts on, DESIGN §4.3).
    """

    def __init__(self, now=None):
        self.now = now or datetime.now(TZ)
        n = self.now
        self.hours_now = "%s-%s" % (hhmm(n - timedelta(hours=2)),
                                    hhmm(n + timedelta(hours=2)))
        self.hours_not_now = "%s-%s" % (hhmm(n + timedelta(hours=3)),
                                        hhmm(n + timedelta(hours=5)))
        self.today = day(n)
        self.yesterday = day(n - timedelta(days=1))
        self.next_year = day(n + timedelta(days=365))
        self.window_from = minute(n - timedelta(hours=1))
        self.window_until = minute(n + timedelta(hours=3))
        self.later_from = minute(n + timedelta(hours=2))
        self.later_until = minute(n + timedelta(hours=5))


def people_ini(s):
    return f"""\
; The test compound's residents and staff.
[group resident]
gates = *
hours = always

[group cleaner-day]     ; its hours include now
gates = gate-north, gate-south
hours = {s.hours_now}

[group cleaner-night]   ; its hours exclude now
gates = gate-north, gate-south
hours = {s.hours_not_now}

[group north-only]
gates = gate-north
hours = always

[person P0001]
name = 张三
household = 5-2-301
groups = resident
cards = 0012345678
valid_until = {s.next_year}

[person P0002]
name = 欧阳小明
household = 5-2-302
groups = resident
valid_until = {s.today}     ; the last valid day: still in today

[person P0003]
name = 王五
household = 5-3-101
groups = resident
valid_until = {s.yesterday}

[person C0001]
name = 李芳
groups = cleaner-day

[person C0002]
name = 赵六
groups = cleaner-night

[person N0001]
name = 钱七
household = 5-1-101
groups = north-only

[person P0666]
name = 孙八
household = 5-1-102
groups = resident
"""


def visitors_ini(s):
    return f"""\
[visitor V1]
host = 5-2-301
name = 李四
person = PV001
card = 0099000001
from = {s.window_from}
until = {s.window_until}
entries = 2

[visitor V2]
host = 5-2-302
name = 周九
person = PV002
from = {s.later_from}
until = {s.later_until}
entries = 2
"""


DENY_INI = """\
[deny P0666]
reason = 多次尾随他人进入
"""


class Compound:
    """One test's world: files, broker, gatewayd, terminals, journal."""

    def __init__(self, root, binary):
        self.root = Path(root)
        self.binary = binary
        self.site = SITE
        self.schedule = Schedule()
        self.access_dir = self.root / "access.d"
        self.data_dir = self.root / "data"
        self.ini = self.root / "gateway.ini"
        self.access_dir.mkdir(parents=True, exist_ok=True)
        self.broker = harness.Broker(self.root / "broker")
        self.journal = harness.Journal(self.data_dir)
        self.gw = None
        self.terminals = {}
        self.recorders = []
        self.env = {}
        self.notify_path = None     # None: an abstract NOTIFY_SOCKET
        self.template = GATEWAY_TEMPLATE  # gateway.ini before overrides
        self.args = []                    # gatewayd's options beyond -c
        self.robot = None                 # the WeChat stand-in, if any
        self.write_access("people.ini", people_ini(self.schedule))
        self.write_access("visitors.ini", visitors_ini(self.schedule))
        self.write_access("deny.ini", DENY_INI)

    def write_access(self, name, text=None, raw=None):
        """Write access.d/name (raw bytes as given, else text in UTF-8)."""
        path = self.access_dir / name
        path.write_bytes(raw if raw is not None else text.encode("utf-8"))
        return path

    def write_ini(self, overrides=None):
        self.ini.write_text(harness.derive_ini(
            self.template, self.broker.port, self.data_dir,
            self.access_dir, overrides=overrides), encoding="utf-8")

    def start(self, overrides=None):
        """Broker, gateway.ini, gatewayd; returns once it is online."""
        self.broker.start()
        self.write_ini(overrides)
        self.gw = harness.Gatewayd(self.binary, self.ini, self.root,
                                   self.site, self.broker.port,
                                   env=self.env,
                                   notify_path=self.notify_path,
                                   args=self.args)
        self.gw.start()
        return self

    def restart(self, kill=False):
        """Stop gatewayd (SIGTERM, or kill -9) and start it again on the
        same data_dir; returns the exit status of the stop."""
        rc = self.gw.kill() if kill else self.gw.stop()
        if not kill:
            assert rc == 0, "gatewayd exited %r on SIGTERM:\n%s" % (
                rc, self.gw.log_text())
        self.gw.start()
        return rc

    def terminal(self, gate):
        """The face terminal on this gate, connected."""
        if gate not in self.terminals:
            self.terminals[gate] = FaceTerminal(
                self.broker.port, gate, site=self.site).connect()
        return self.terminals[gate]

    def recorder(self, *topics):
        rec = harness.Recorder(self.broker.port, topics, name="test")
        self.recorders.append(rec.start())
        return rec

    def fire_net(self, device):
        """The MQTT interface of fire panel `device` (closed at
        teardown); also one for an id gateway.ini does not have."""
        panel = FireNet(self.broker.port, device, site=self.site)
        self.recorders.append(panel)
        return panel

    def fire_staff(self):
        """The staff tool for fire reset and fire test (made once)."""
        if getattr(self, "_fire_staff", None) is None:
            self._fire_staff = FireStaff(self.broker.port, site=self.site)
            self.recorders.append(self._fire_staff)
        return self._fire_staff

    def ask(self, gate, person, timeout=10, **kw):
        """A face at a gate, and the command that answered it."""
        term = self.terminal(gate)
        request = term.face(person, **kw)
        return request, term.wait_cmd(request, timeout)

    def ask_card(self, gate, card, timeout=10, **kw):
        term = self.terminal(gate)
        request = term.card(card, **kw)
        return request, term.wait_cmd(request, timeout)

    def row(self, request, device):
        """The one journal row that records the decision on request."""
        rows = self.journal.for_request(request, device)
        assert len(rows) == 1, "expected one row for %s on %s, got %r" % (
            request, device, rows)
        return rows[0]

    def ctl(self, *args, json=False, check=None, user=None, groups=(),
            timeout=30, input=None):
        """gatewayctl -c gateway.ini ARGS (with --json when json: .data is
        then what it printed, parsed).  check: the exit status it must
        have.  user: run as that user (setpriv), with groups (gids) as its
        supplementary groups, for permission tests."""
        cmd = [os.environ.get("GATEWAYCTL",
                              str(REPO / "build" / "gatewayctl")),
               "-c", str(self.ini), *[str(a) for a in args]]
        if json:
            cmd.append("--json")
        if user is not None:
            pw = pwd.getpwnam(user)
            cmd = ["setpriv", "--reuid", str(pw.pw_uid), "--regid",
                   str(pw.pw_gid),
                   *(["--groups", ",".join(str(g) for g in groups)]
                     if groups else ["--clear-groups"]), *cmd]
        p = subprocess.run(cmd, capture_output=True, timeout=timeout,
                           input=input, env=dict(os.environ, LC_ALL="C"))
        p.stdout = p.stdout.decode("utf-8")
        p.stderr = p.stderr.decode("utf-8")
        p.data = None
        if json and p.stdout.strip():
            p.data = _json.loads(p.stdout)
        if check is not None:
            assert p.returncode == check, (
                "gatewayctl %s exited %d, not %d:\n%s%s" % (
                    " ".join(str(a) for a in args), p.returncode, check,
                    p.stdout, p.stderr))
        return p

    def finish(self):
        """Tear down; returns the problems to fail the test with."""
        problems = []
        for term in self.terminals.values():
            try:
                term.close()
            except Exception:  # the broker may be gone: nothing to say
                pass
        for rec in self.recorders:
            rec.close()
        if self.gw is not None:
            if self.gw.running():
                rc = self.gw.stop()
                if rc != 0:
                    problems.append("gatewayd exited %r on SIGTERM" % rc)
            report = self.gw.sanitizer_report()
            if report:
                problems.append("sanitizer report in gatewayd's output")
            if problems:
                problems.append("gatewayd's output:\n" + self.gw.log_text())
            self.gw.close()
        self.broker.stop()
        return problems


class Modbus:
    """A compound's Modbus buses: one relay-board simulator per bus, and
    the gateway.ini sections that name the buses and the barriers on them.

    A bus made with start=False has nothing at its address yet (a TCP port
    nobody listens on, a serial device that does not exist) until
    start_bus(); its simulator's log is the bus's request log either way.
    """

    # Short enough that a dead device costs little test time, long
    # enough for a Python simulator under a sanitized gatewayd.
    TIMEOUT_MS = 150

    def __init__(self, compound):
        self.c = compound
        self.root = compound.root / "modbus"
        self.root.mkdir(parents=True, exist_ok=True)
        self.sims = {}
        self.pairs = {}
        self.overrides = {}

    def _section(self, name, **keys):
        for key, value in keys.items():
            if value is not None:
                self.overrides[(name, key)] = str(value)

    def tcp_bus(self, name, units, start=True, timeout_ms=TIMEOUT_MS,
                **keys):
        """A Modbus TCP bus of relay boards with these unit ids."""
        sim = RelayBus(self.root / (name + ".jsonl"), units,
                       tcp=(harness.LOCALHOST, harness.free_port()))
        self.sims[name] = sim
        self._section("bus " + name, type="tcp", host=harness.LOCALHOST,
                      port=sim.port, timeout_ms=timeout_ms, **keys)
        if start:
            sim.start()
        return sim

    def rtu_bus(self, name, units, start=True, timeout_ms=TIMEOUT_MS,
                **keys):
        """An RS-485 line: a socat pty pair, gatewayd on one end and the
        simulator on the other, RTU framing with CRCs as on the wire."""
        gw_end = self.root / (name + "-tty")
        sim_end = self.root / (name + "-sim-tty")
        self.pairs[name] = PtyPair(gw_end, sim_end)
        sim = RelayBus(self.root / (name + ".jsonl"), units, rtu=sim_end)
        self.sims[name] = sim
        keys.setdefault("baud", 9600)
        keys.setdefault("parity", "even")   # a pty ignores it
        self._section("bus " + name, type="rtu", port=gw_end,
                      timeout_ms=timeout_ms, **keys)
        if start:
            self.start_bus(name)
        return sim

    def charger_bus(self, name, chargers, meters=None, units=(),
                    start=True, rtu=False, timeout_ms=TIMEOUT_MS, **keys):
        """A bus of charging points ({unit: ports}), energy meters
        ({unit: (model, "big"|"little")}) and relay boards (units): TCP,
        or an RS-485 line (a socat pty pair) with rtu=True."""
        log = self.root / (name + ".jsonl")
        if rtu:
            gw_end = self.root / (name + "-tty")
            sim_end = self.root / (name + "-sim-tty")
            self.pairs[name] = PtyPair(gw_end, sim_end)
            sim = ChargerBus(log, chargers, meters, units, rtu=sim_end)
            keys.setdefault("baud", 9600)
            keys.setdefault("parity", "even")   # a pty ignores it
            self._section("bus " + name, type="rtu", port=gw_end,
                          timeout_ms=timeout_ms, **keys)
        else:
            sim = ChargerBus(log, chargers, meters, units,
                             tcp=(harness.LOCALHOST, harness.free_port()))
            self._section("bus " + name, type="tcp",
                          host=harness.LOCALHOST, port=sim.port,
                          timeout_ms=timeout_ms, **keys)
        self.sims[name] = sim
        if start:
            self.start_bus(name)
        return sim

    def charger(self, device, bus, unit, ports, max_current_a=10,
                max_temp_c=60, full_w=20, full_min=0.05, poll_ms=200,
                **keys):
        """A charging point (driver = charger) on a bus made by
        charger_bus(): short periods, so a test waits seconds."""
        self._section("device " + device, driver="charger", bus=bus,
                      unit=unit, ports=ports, max_current_a=max_current_a,
                      max_temp_c=max_temp_c, full_w=full_w,
                      full_min=full_min, poll_ms=poll_ms, **keys)

    def meter(self, device, bus, unit, model="sdm120", word_order="big",
              poll_ms=200, **keys):
        """An Eastron energy meter: driver = sdm_meter, model =
        sdm120|sdm630, word_order = big|little."""
        self._section("device " + device, driver="sdm_meter", bus=bus,
                      unit=unit, model=model, word_order=word_order,
                      poll_ms=poll_ms, **keys)

    def staff(self):
        """The staff tool of this compound (made once, at first use)."""
        if getattr(self, "_staff", None) is None:
            self._staff = ChargerStaff(self.c)
        return self._staff

    def start_bus(self, name):
        """Bring a bus made with start=False into being."""
        if name in self.pairs:
            self.pairs[name].start()
        return self.sims[name].start()

    def barrier(self, device, bus, unit, coil=0, loop_input=0, poll_ms=100,
                **keys):
        """A barrier_relay on a board; its loop input is polled every
        poll_ms (loop_input=None: it has none and is never polled)."""
        # Insertion order is file order: driver first.
        self._section("device " + device, driver="barrier_relay", bus=bus,
                      unit=unit, coil=coil, loop_input=loop_input,
                      poll_ms=poll_ms, **keys)

    def fire_input(self, device, bus, unit, input=2, alarm_when=None,
                   poll_ms=None, **keys):
        """A fire panel's alarm relay on a board's discrete input
        (driver = fire_input); alarm_when and poll_ms are left to their
        defaults (closed, 200 ms) unless given."""
        self._section("device " + device, driver="fire_input", bus=bus,
                      unit=unit, input=input, alarm_when=alarm_when,
                      poll_ms=poll_ms, **keys)

    def fire_mqtt(self, device):
        """A fire panel's interface on MQTT (driver = fire_mqtt)."""
        self._section("device " + device, driver="fire_mqtt")

    def device(self, device, **keys):
        self._section("device " + device, **keys)

    def start(self, **more):
        self.overrides.update(more)
        return self.c.start(overrides=self.overrides)

    def close(self):
        for sim in self.sims.values():
            sim.stop()
        for pair in self.pairs.values():
            pair.stop()


class ChargerStaff:
    """What a staff tool sees of the charging points on MQTT (DESIGN
    §4.1): it sends {"id","action","limit_a"} on
    cg/<site>/charger/<id>/<port>/cmd and waits for the answer on
    .../result; it reads the retained .../state; it watches
    cg/<site>/events/charging and the meters' retained state."""

    def __init__(self, compound):
        self.c = compound
        self.prefix = "cg/%s" % compound.site
        self.rec = compound.recorder(self.prefix + "/charger/#",
                                     self.prefix + "/meter/#",
                                     self.prefix + "/events/charging")
        self.client = harness.paho_client("staff-%d" % os.getpid())
        self.client.connect(harness.LOCALHOST, compound.broker.port,
                            keepalive=30)
        self.client.loop_start()
        compound.recorders.append(self)     # closed at teardown

    def topic(self, device, port, leaf):
        return "%s/charger/%s/%s/%s" % (self.prefix, device, port, leaf)

    def send(self, device, port, request, action="start", limit_a=None,
             raw=None):
        """Publish a request (QoS 1, acknowledged by the broker); a
        position in the recorder's stream from before it."""
        mark = self.rec.mark()
        body = {"id": request, "action": action}
        if limit_a is not None:
            body["limit_a"] = limit_a
        payload = raw if raw is not None else json.dumps(body)
        info = self.client.publish(self.topic(device, port, "cmd"),
                                   payload, qos=1)
        info.wait_for_publish(5)
        assert info.is_published()
        return mark

    def answers(self, device, port, request, since=0):
        topic = self.topic(device, port, "result")
        return [m.json() for m in self.rec.snapshot(since)
                if m.topic == topic and m.json().get("request") == request]

    def wait_answer(self, device, port, request, timeout=10, since=0):
        topic = self.topic(device, port, "result")
        return self.rec.wait(
            lambda m: m.topic == topic and
            m.json().get("request") == request, timeout,
            "the answer to %s on %s" % (request, topic), since=since).json()

    def ask(self, device, port, request, action="start", limit_a=None,
            timeout=10):
        """A request and its answer: {"request","ok"[,"error"]}."""
        mark = self.send(device, port, request, action, limit_a)
        return self.wait_answer(device, port, request, timeout, mark)

    def states(self, device, port, since=0):
        """The state messages published for a port (live or retained)."""
        topic = self.topic(device, port, "state")
        return [m.json() for m in self.rec.snapshot(since)
                if m.topic == topic]

    def wait_state(self, device, port, predicate, timeout=15, since=0,
                   what=None):
        """The first state of a port from position since that satisfies
        predicate (a dict -> bool)."""
        topic = self.topic(device, port, "state")
        return self.rec.wait(
            lambda m: m.topic == topic and predicate(m.json()), timeout,
            what or "a state of %s port %s" % (device, port),
            since=since).json()

    def retained(self, topic, timeout=5):
        """What the broker keeps on a topic, as a new subscriber sees it
        (None when nothing is retained)."""
        return harness.retained(self.c.broker.port, topic, timeout=timeout)

    def port_state(self, device, port, timeout=5):
        """The retained state of a port, as a new subscriber sees it."""
        return self.retained(self.topic(device, port, "state"), timeout)

    def meter_state(self, device, timeout=5):
        return self.retained("%s/meter/%s/state" % (self.prefix, device),
                             timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def charging_rows(compound, device, phase=None, port=None):
    """Rows of kind charging for a device (its phase the decision), in
    journal order; only those of a port when given."""
    where, params = "kind = 'charging' AND device = ?", [device]
    if phase is not None:
        where += " AND decision = ?"
        params.append(phase)
    rows = compound.journal.rows(where, tuple(params))
    return [r for r in rows if port is None or r["body"].get("port") == port]


def wait_charging(compound, device, phase, port=None, count=1, timeout=15,
                  reason=None):
    """Wait for count rows of kind charging with this phase (and port,
    and reason, when given); those rows."""
    def enough():
        rows = [r for r in charging_rows(compound, device, phase, port)
                if reason is None or r["reason"] == reason]
        return rows if len(rows) >= count else None
    return harness.wait_for(enough, timeout, "%d '%s' charging rows for %s "
                            "port %s%s" % (count, phase, device, port,
                                           " (%s)" % reason if reason
                                           else ""), interval=0.05)


def reads(requests, unit):
    """The discrete-input reads (a barrier's poll) of a unit."""
    return [r for r in requests if r["unit"] == unit and r["function"] == 2]


def rate(requests):
    """Requests per second over their own span, by the simulator's clock."""
    if len(requests) < 2 or requests[-1]["t"] <= requests[0]["t"]:
        return 0.0
    return (len(requests) - 1) / (requests[-1]["t"] - requests[0]["t"])


def device_decisions(compound, device):
    """online / offline / ... rows of kind device, in journal order."""
    return [r["decision"] for r in compound.journal.rows(
        "kind = 'device' AND device = ?", (device,))]


def wait_decision(compound, device, decision, count=1, timeout=15):
    """Wait until device has count rows of kind device with decision."""
    return compound.journal.wait_rows(
        "kind = 'device' AND device = ? AND decision = ?",
        (device, decision), count=count, timeout=timeout,
        what="%d '%s' rows for %s" % (count, decision, device))


def wait_reads(sim, unit, count, since=0, timeout=15):
    """Wait for count polls of a unit logged from position since; they."""
    def enough():
        found = reads(sim.requests(since), unit)
        return found[:count] if len(found) >= count else None
    return harness.wait_for(enough, timeout, "%d reads of unit %d"
                            % (count, unit), interval=0.05)


@pytest.fixture(scope="session")
def gatewayd_binary():
    path = os.environ.get("GATEWAYD", str(REPO / "build" / "gatewayd"))
    if not os.access(path, os.X_OK):
        pytest.fail("no gatewayd binary at %s: run make build/gatewayd or "
                    "set GATEWAYD" % path)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows what gatewayd and the broker printed."""
    outcome = yield
    report = outcome.get_result()
    c = getattr(item, "compound", None)
    if report.failed and c is not None:
        if c.gw is not None:
            report.sections.append(("gatewayd output", c.gw.log_text()))
        report.sections.append(("mosquitto log", c.broker.log()))
        if c.robot is not None:
            report.sections.append(("robot: requests", "\n".join(
                describe_request(r) for r in c.robot.snapshot())))
        m = getattr(c, "modbus", None)
        for name, sim in (m.sims.items() if m is not None else ()):
            tail = "\n".join(json.dumps(r) for r in sim.requests()[-40:])
            report.sections.append(("bus %s: last requests" % name, tail))


@pytest.fixture
def compound(request, tmp_path, gatewayd_binary):
    """A compound with the standard access files, not started yet."""
    c = Compound(tmp_path, gatewayd_binary)
    request.node.compound = c
    yield c
    problems = c.finish()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def running_compound(tmp_path_factory, gatewayd_binary):
    """One started compound shared by a module's tests."""
    c = Compound(tmp_path_factory.mktemp("compound"), gatewayd_binary)
    try:
        c.start()
    except BaseException:
        c.finish()
        raise
    yield c
    problems = c.finish()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# The WeChat robot's key in the tests (a UUID, as WeChat Work issues
# them): gatewayd must never print it or journal it.  The duty mobiles.
WECHAT_KEY = "6f1c2a9e-3b7d-4e58-9a0c-d2e4f6a8b0c1"
DUTY_MOBILES = ["13800000000", "13900000000"]


def write_secret(path, text):
    """A secret file as an installer makes it: mode 0600, then written."""
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path


def wechat_overrides(c, key=WECHAT_KEY, **keys):
    """gateway.ini's [wechat] for compound c and its robot: the key in
    wechat.key (0600) beside gateway.ini, base_url the stand-in's, the
    duty mobiles; keys adds or changes others (per_minute=5)."""
    path = write_secret(c.root / "wechat.key", key)
    o = {("wechat", "webhook_key_file"): str(path),
         ("wechat", "base_url"): c.robot.url,
         ("wechat", "duty_mobiles"): ", ".join(DUTY_MOBILES)}
    for k, v in keys.items():
        o[("wechat", k)] = str(v)
    return o


def secret_leaks(c, secret=WECHAT_KEY):
    """Where secret shows: gatewayd's output, any file of the journal
    (the database and its WAL, every table, as bytes), gateway/status."""
    where = []
    if c.gw is not None and secret in c.gw.log_text():
        where.append("gatewayd's output")
    for f in sorted(c.data_dir.glob("*")) if c.data_dir.exists() else []:
        if f.is_file() and secret.encode() in f.read_bytes():
            where.append(str(f))
    if c.gw is not None:
        for m in c.gw.status.snapshot():
            if secret.encode() in m.payload:
                where.append("gateway/status")
                break
    return where


@pytest.fixture
def robot():
    """The WeChat robot's stand-in (tests/sim/robot.py), answering
    errcode 0 until told otherwise."""
    r = Robot().start()
    yield r
    r.close()


@pytest.fixture
def wechat(robot, compound):
    """A compound (not started) with the robot as c.robot: gatewayd is
    stopped before the robot closes.  wechat_overrides(c) gives the
    [wechat] section."""
    compound.robot = robot
    return compound


@pytest.fixture
def modbus(compound):
    """Buses and relay barriers for the compound (see Modbus); the
    simulators and pty pairs are stopped at teardown, before gatewayd."""
    m = Modbus(compound)
    compound.modbus = m
    yield m
    m.close()
