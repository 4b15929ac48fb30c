#!/usr/bin/python3
"""make demo: the gateway on the example compound, everything on loopback.

Starts a private mosquitto on the files `gatewayctl broker` writes from
the demo's gateway.ini (generated credentials and ACLs, as installed:
every simulator connects as its own identity), gatewayd on a temporary
copy of the given gateway.ini (the real access.d, read-only; the journal
in a temporary directory), a simulated face terminal on each face gate, a plate camera
at each barrier and an MQTT barrier controller at each MQTT barrier.
The entry barrier is made a relay barrier (barrier_relay) on a Modbus
TCP bus to a simulated relay board (relay_board.py), its loop detector
on the board's input 0: the demo says which coil writes the board got,
and drives the loop as each car goes through.  Then, about once
a second, someone passes: mostly residents, now and then a cleaner, the
visitor, a stranger, the denied person, a card; and cars: residents',
the visitor's (its entries counted), an unknown one, a denied one, a
misread plate, cars leaving by the exit lane; a camera sees something
thrown from a high floor (cam-5-east, a native camera: an urgent alert,
and within its cool-down the next one is journaled without a new
alert), and Frigate (the nvr device) follows an e-bike into a lift
from its first sighting to its end (one event); once in each round the fire
panel's alarm (a fire_mqtt device): every gate and barrier held open,
a stranger let through, the alarm clears, and staff reset the release.
Beside them, on their own
timer, a charging point (charger-demo, charger_sim.py on a second Modbus
TCP bus): an e-bike on port 1 heats past max_temp_c and gatewayd cuts
it off, a battery on port 2 falls to a trickle and gatewayd stops it as
full; then both are unplugged and it starts again.  gatewayd's own log lines
are printed as they come, as a guard would read them: a barrier's line
ends with how many cars are inside.  The alerts go to a stand-in for the
WeChat Work group robot (robot.py, its key in a 0600 file of the demo's
own): each message it gets is printed as "phone: " lines, as a guard's
phone shows it, with the people it rings as @138****0000.  The incidents'
deadlines are seconds long, so a run shows an unacknowledged incident
re-alerted and escalated, while staff acknowledge the urgent ones over
MQTT; a resident with care = daily unseen for a few seconds raises a
text to the steward of their building.  Ctrl-C, SIGTERM or --seconds
stop everything cleanly.

    demo.py --gatewayd build/gatewayd --config config/gateway.ini --seconds 30
"""

import argparse
import datetime
import glob
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from face_terminal import FaceTerminal  # noqa: E402
from plate_camera import PlateCamera  # noqa: E402
from relay_board import RelayBus  # noqa: E402
from charger_sim import ChargerBus  # noqa: E402
from camera_sim import Frigate, NativeCamera, _Publisher  # noqa: E402
from robot import Robot, phone_lines, mask_mobile  # noqa: E402

# Who walks or drives by, in turn: residents most of the time.  A car
# early on, and an unknown one, so that a short run shows both.
SCENES = ("resident", "car-in", "cleaner", "car-visitor", "unknown",
          "car-unknown", "falling", "resident", "car-out", "ebike",
          "visitor", "car-in",
          "resident-out", "car-misread", "fire", "denied", "car-out",
          "resident",
          "car-denied", "card", "car-out", "resident", "car-expired",
          "low-score", "car-out", "visitor-out", "car-out")

# Plate-reading confusions (DESIGN §5): a digit a camera may read as a
# letter.
MISREADS = {"0": "D", "8": "B", "2": "Z", "5": "S", "1": "I"}
SKELETON = str.maketrans("DQBZSI", "008251")

# The relay board behind the entry barrier (DESIGN §4.2).
RELAY_BUS, RELAY_UNIT, RELAY_COIL, RELAY_LOOP = "demo-relay", 1, 0, 0
FLASH_ON = 0x0200

# The WeChat Work group robot (DESIGN §4.6, §4.7, §5 wellbeing): a
# stand-in on loopback (robot.py) whose messages are printed as a guard's
# phone shows them.  Deadlines in minutes, short so that half a minute
# shows a re-alert (ack_min) and an escalation (minor_min), and a resident
# cared for (care = daily in access.d) unseen for CARE_MIN raises a text to
# the steward of the building.  The duty and steward mobiles are made up.
DUTY_MOBILES = "13800000000, 13900000000"
ACK_MIN, MINOR_MIN, MAJOR_MIN, COMPLEX_MIN = 0.1, 0.2, 0.25, 1
CARE_MIN = 0.2
STEWARDS = {"5": "13700000005"}
ACK_AFTER_S = 2     # staff acknowledge urgent incidents this long after
OPERATOR = "王师傅"

# The charging point (DESIGN §4.2, §5 charging): full_min is short so
# that a full stop shows within seconds.
CHARGER_BUS, CHARGER, CHARGER_UNIT, CHARGER_PORTS = (
    "demo-chargers", "charger-demo", 1, 4)
MAX_TEMP_C, FULL_W, FULL_MIN = 60, 10, 0.1
HOT_PORT, FULL_PORT = 1, 2


def normalise(plate):
    """A plate as gatewayd spells it (plate.c): full-width to ASCII, upper
    case, spaces and the separators dropped."""
    out = []
    for ch in plate:
        if 0xff01 <= ord(ch) <= 0xff5e:
            ch = chr(ord(ch) - 0xfee0)
        if ch in " \t\u3000-.\u00b7\u2022\u30fb":
            continue
        out.append(ch.upper() if ch.isascii() else ch)
    return "".join(out)


def is_plate(ident):
    """Plates start with a province's character; person ids do not."""
    return not ident[:1].isascii()


class Cast:
    """Ids to play with, read from access.d (or assumed when it is empty,
    as the example compound describes it)."""

    def __init__(self, access_dir, timezone):
        # valid_until is a day in the compound's time zone.
        self.today = datetime.datetime.now(
            zoneinfo.ZoneInfo(timezone)).date().isoformat()
        self.residents, self.cleaners, self.visitors = [], [], []
        self.cards, self.denied, self.known = [], [], set()
        # Cars: residents' with a valid plan, those whose plan ran out,
        # visitors' (plate, visitor id, entries) and denied plates.
        self.cars, self.expired_cars, self.visitor_cars = [], [], []
        self.denied_plates, self.plates = [], set()
        for path in sorted(glob.glob(os.path.join(access_dir, "*.ini"))):
            with open(path, encoding="utf-8-sig", errors="replace") as f:
                self._read(harness.ini_sections(f.read()))
        if not self.residents:
            self.residents = ["P%04d" % i for i in range(1, 21)]
            self.cleaners = self.cleaners or ["C0001"]
            self.visitors = self.visitors or ["PV001"]
            self.denied = self.denied or ["P0666"]
        self.unknown = next(p for p in ("P0099", "P9999", "X0001")
                            if p not in self.known)
        # A plate neither registered nor near one a camera could misread.
        skeletons = {p.translate(SKELETON) for p in self.plates}
        self.unknown_plate = next(
            p for p in ("吉A7W6R3", "吉C9K4X7", "辽A6HX77")
            if p.translate(SKELETON) not in skeletons)

    def _read(self, sections):
        # A plate on the deny list is no face: plates start with a
        # province's character.
        denied = {name.split(None, 1)[1] for name, _ in sections
                  if name.startswith("deny ") and name[5:6].isascii()}
        self.denied += sorted(denied)
        for name, values in sections:
            kind, _, ident = name.partition(" ")
            if kind == "person":
                self._person(ident, values, ident in denied)
            elif kind == "visitor" and values.get("person"):
                self.visitors.append(values["person"])
                self.known.add(values["person"])
            if kind == "visitor" and values.get("plate"):
                plate = normalise(values["plate"])
                self.plates.add(plate)
                entries = values.get("entries", "1")
                self.visitor_cars.append(
                    (plate, ident, int(entries) if entries.isdigit() else 1))
            elif kind == "vehicle":
                plate = normalise(ident)
                self.plates.add(plate)
                if values.get("valid_until", "9999") < self.today:
                    self.expired_cars.append(plate)
                else:
                    self.cars.append(plate)
            elif kind == "deny" and is_plate(ident):
                self.denied_plates.append(normalise(ident))

    def _person(self, ident, values, denied):
        self.known.add(ident)
        groups = [g.strip() for g in values.get("groups", "").split(",")]
        if denied or values.get("valid_until", "9999") < self.today:
            return
        if "resident" in groups:
            self.residents.append(ident)
            cards = values.get("cards", "").split(",")
            if cards[0].strip():
                self.cards.append(cards[0].strip())
        if any("clean" in g for g in groups):
            self.cleaners.append(ident)


def face_gates(config_text):
    """The face gates of gateway.ini and the way each one faces."""
    gates = []
    for name, values in harness.ini_sections(config_text):
        if name.startswith("device ") and values.get("driver") == "face_gate":
            gates.append((name.split(None, 1)[1],
                          values.get("direction", "both")))
    return gates


def fire_panels(config_text):
    """The fire devices of gateway.ini that speak MQTT."""
    return [name.split(None, 1)[1]
            for name, values in harness.ini_sections(config_text)
            if name.startswith("device ")
            and values.get("driver") == "fire_mqtt"]


def cameras(config_text, driver):
    """The devices of gateway.ini with this camera driver."""
    return [name.split(None, 1)[1]
            for name, values in harness.ini_sections(config_text)
            if name.startswith("device ") and values.get("driver") == driver]


def barriers(config_text):
    """The barriers of gateway.ini that have a plate camera: (barrier,
    camera, lane, driver)."""
    lanes = []
    for name, values in harness.ini_sections(config_text):
        driver = values.get("driver", "")
        if (name.startswith("device ") and driver.startswith("barrier_")
                and values.get("camera")):
            lanes.append((name.split(None, 1)[1], values["camera"],
                          values.get("lane", "both"), driver))
    return lanes


class MqttBarrier:
    """An MQTT barrier's controller: online on its status topic, and its
    arm goes up for each open on its command topic (said in one line)."""

    def __init__(self, port, barrier, site, say, auth=None):
        base = "cg/%s/barrier/%s" % (site, barrier)
        self.barrier, self.port, self.say = barrier, port, say
        self.cmd_topic, self.status_topic = base + "/cmd", base + "/status"
        self.subscribed = threading.Event()
        self.client = harness.paho_client("barrier-%s-%d"
                                          % (barrier, os.getpid()),
                                          auth=auth)
        self.client.will_set(self.status_topic, "offline", qos=1,
                             retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message

    def connect(self, timeout=10):
        self.client.connect(harness.LOCALHOST, self.port, keepalive=30)
        self.client.loop_start()
        if not self.subscribed.wait(timeout):
            raise TimeoutError("%s: no subscription" % self.barrier)
        return self

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0:
            client.subscribe(self.cmd_topic, qos=1)
            client.publish(self.status_topic, "online", qos=1, retain=True)

    def _on_message(self, client, userdata, msg):
        try:
            cmd = json.loads(msg.payload.decode("utf-8"))
        except ValueError:
            return
        if cmd.get("action") == "open":
            self.say("%s: arm up for %d ms, screen: %s"
                     % (self.barrier, cmd.get("open_ms", 0),
                        cmd.get("display", "")))
        elif cmd.get("action") == "hold_open":
            self.say("%s: hold_open (QoS %d): arm up until normal"
                     % (self.barrier, msg.qos))
        elif cmd.get("action") == "normal":
            self.say("%s: normal (QoS %d): arm down, back to work"
                     % (self.barrier, msg.qos))
        elif cmd.get("action") == "deny":
            self.say("%s: arm stays down, screen: %s"
                     % (self.barrier, cmd.get("display", "")))

    def close(self):
        self.client.publish(self.status_topic, "offline", qos=1,
                            retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


class FirePanel(_Publisher):
    """The fire panel's MQTT interface (driver = fire_mqtt), on the
    broker as its own identity: it says its alarm on its own topic."""

    def __init__(self, port, panel, site, auth=None):
        super().__init__(port, "fire-" + panel, auth=auth)


class RelayBarrier:
    """The entry barrier on a simulated relay board: each coil write the
    board gets is said in one line; after an open pulse a car crosses
    the loop (its input closes, then opens), and the passage gatewayd
    journals says how many cars are inside."""

    def __init__(self, barrier, tmp, journal, say):
        self.barrier, self.journal, self.say = barrier, journal, say
        self.board = RelayBus(os.path.join(tmp, "relay-board.jsonl"),
                              units=(RELAY_UNIT,),
                              tcp=(harness.LOCALHOST, 0))
        self.stop = threading.Event()
        self.thread = None

    def start(self):
        self.board.start()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()
        return self

    def overrides(self):
        """gateway.ini for this barrier on the board, and the board's
        bus; lane and camera stay as configured."""
        dev = "device " + self.barrier
        return {
            (dev, "driver"): "barrier_relay",
            (dev, "bus"): RELAY_BUS,
            (dev, "unit"): str(RELAY_UNIT),
            (dev, "coil"): str(RELAY_COIL),
            (dev, "loop_input"): str(RELAY_LOOP),
            ("bus " + RELAY_BUS, "type"): "tcp",
            ("bus " + RELAY_BUS, "host"): harness.LOCALHOST,
            ("bus " + RELAY_BUS, "port"): str(self.board.port),
        }

    def _watch(self):
        seen = 0
        while not self.stop.wait(0.05):
            requests = self.board.requests(seen)
            seen += len(requests)
            for r in requests:
                if r["function"] != 5:      # polls of the loop: quiet
                    continue
                self._write(r)

    def _write(self, r):
        address, value = r["address"], r.get("value", 0)
        if address == FLASH_ON + RELAY_COIL:
            shown = "%d" % value
            what = "flash on relay %d for %.1f s: the arm goes up" % (
                RELAY_COIL, value / 10)
        else:
            shown = "0x%04x" % value
            what = "relay %d %s" % (address, "on: the arm held up (fire)"
                                    if value else "off: the hold let go")
        self.say("relay board %d (%s): write coil 0x%04x = %s, %s%s"
                 % (r["unit"], self.barrier, address, shown, what,
                    "" if r.get("answered") else " (not answered)"))
        if address == FLASH_ON + RELAY_COIL and not self.stop.is_set():
            self._car_crosses()

    def _car_crosses(self):
        """The car drives over the loop: closed long enough for a few
        polls (200 ms apart), then open again."""
        mark = self.journal.max_seq()
        try:
            self.board.set_input(RELAY_UNIT, RELAY_LOOP, True)
            if self.stop.wait(0.6):
                return
            self.board.set_input(RELAY_UNIT, RELAY_LOOP, False)
            row = self.journal.wait_rows(
                "seq > ? AND kind = 'vehicle' AND device = ?",
                (mark, self.barrier), timeout=3)[-1]
        except (RuntimeError, TimeoutError, OSError) as e:
            if not self.stop.is_set():
                self.say("%s: the loop: %s" % (self.barrier, e))
            return
        body = row["body"]
        if body.get("event") in ("passage", "tailgating"):
            self.say("%s: a car crossed the loop (input %d): %s, %s inside"
                     % (self.barrier, RELAY_LOOP, body["event"],
                        body.get("occupancy", "?")))

    def close(self):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(5)
        self.board.stop()


class Chargers:
    """A charging point on a simulated Modbus TCP bus, its scenes on their
    own timer: an e-bike on port 1 charges, heats past max_temp_c and
    gatewayd cuts it off; a battery on port 2 charges, its draw falls
    below full_w and after full_min gatewayd stops it as full.  Then both
    are unplugged, port 1 has cooled, the station switches the outputs
    back on, and it starts again.  Each coil write the charging point
    gets is said in one line."""

    CYCLE_S = 14    # a scene and its reset; a 20 s demo shows one whole

    def __init__(self, tmp, say):
        self.say = say
        self.bus = ChargerBus(os.path.join(tmp, "chargers.jsonl"),
                              chargers={CHARGER_UNIT: CHARGER_PORTS},
                              tcp=(harness.LOCALHOST, 0))
        self.stop = threading.Event()
        self.threads = []
        self.log_at = 0     # how far the request log has been read

    def start(self):
        self.bus.start()
        return self

    def overrides(self):
        """gateway.ini for the charging point and its bus."""
        dev, bus = "device " + CHARGER, "bus " + CHARGER_BUS
        return {
            (bus, "type"): "tcp",
            (bus, "host"): harness.LOCALHOST,
            (bus, "port"): str(self.bus.port),
            (bus, "timeout_ms"): "500",
            (dev, "driver"): "charger",
            (dev, "bus"): CHARGER_BUS,
            (dev, "unit"): str(CHARGER_UNIT),
            (dev, "ports"): str(CHARGER_PORTS),
            (dev, "max_temp_c"): str(MAX_TEMP_C),
            (dev, "full_w"): str(FULL_W),
            (dev, "full_min"): str(FULL_MIN),
            (dev, "poll_ms"): "500",
        }

    def run(self):
        """The scenes and the watch on the bus, each in a thread."""
        for target in (self._scenes, self._watch):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self.threads.append(t)

    def _on(self, *words):
        """A control line to the simulator; False once stopping."""
        if self.stop.is_set():
            return False
        try:
            self.bus.on_port(*words)
        except (RuntimeError, TimeoutError, OSError, ValueError) as e:
            if not self.stop.is_set():
                self.say("%s: simulator: %s" % (CHARGER, e))
            return False
        return True

    def _scenes(self):
        u, hot, full = CHARGER_UNIT, HOT_PORT, FULL_PORT
        while not self.stop.is_set():
            begin = time.monotonic()

            def at(t):
                """Wait until t seconds into the cycle; False: stopping."""
                return not self.stop.wait(
                    max(0.0, begin + t - time.monotonic()))

            self.say("%s port %d: an e-bike plugged in, charging at 180 W"
                     % (CHARGER, hot))
            self._on("plug", u, hot) and self._on("charge", u, hot, 180)
            self.say("%s port %d: a battery plugged in, charging at 120 W"
                     % (CHARGER, full))
            self._on("plug", u, full) and self._on("charge", u, full, 120)
            if not at(1.2):
                return
            self.say("%s port %d: the battery is nearly full, its draw "
                     "falls to 3 W (full below %d W for %g min)"
                     % (CHARGER, full, FULL_W, FULL_MIN))
            # Hours of charging in a moment: the session's energy.
            self._on("energy", u, full, 412)
            self._on("power", u, full, 3)
            for t, celsius in ((1.8, 45), (2.6, 55), (3.4, 68)):
                if not at(t):
                    return
                self.say("%s port %d: temperature %d °C (limit %d)"
                         % (CHARGER, hot, celsius, MAX_TEMP_C))
                self._on("temp", u, hot, celsius)
                self._on("energy", u, hot, 20 + celsius)
            if not at(self.CYCLE_S - 2):
                return
            self.say("%s: both unplugged, port %d cooled to 25 °C, the "
                     "outputs switched back on at the station"
                     % (CHARGER, hot))
            for port in (hot, full):
                self._on("temp", u, port, 25)
                self._on("unplug", u, port)
                self._on("coil", u, port, "on")
            if not at(self.CYCLE_S):
                return

    def _watch(self):
        """Each coil write the charging point gets, in one line; polls
        are quiet.  The log is read on from where it was left."""
        path, buf = self.bus.log_path, ""
        while not self.stop.wait(0.05):
            try:
                with open(path, encoding="utf-8") as f:
                    f.seek(self.log_at)
                    chunk = f.read()
                    self.log_at = f.tell()
            except FileNotFoundError:
                continue
            buf += chunk
            *lines, buf = buf.split("\n")
            for line in lines:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if r.get("function") in (5, 15):
                    self._write(r)

    def _write(self, r):
        address = r.get("address", 0)
        if r["function"] == 5:
            on = bool(r.get("value", 0))
            what = "port %d's output %s" % (address + 1,
                                           "on" if on else "off")
            value = "0x%04x" % r.get("value", 0)
        else:
            what = "ports %d-%d's outputs" % (
                address + 1, address + r.get("count", 1))
            value = "(%d coils)" % r.get("count", 1)
        self.say("charging point %d (%s): write coil 0x%04x = %s, %s%s"
                 % (r["unit"], CHARGER, address, value, what,
                    "" if r.get("answered") else " (not answered)"))

    def quiet(self):
        """The scenes stop (before gatewayd does)."""
        self.stop.set()
        for t in self.threads:
            t.join(5)

    def close(self):
        self.quiet()
        self.bus.stop()


class Wechat:
    """The group robot's stand-in, the webhook key file gatewayd reads
    (mode 0600, in the demo's temporary directory) and the staff who
    acknowledge urgent incidents: every message the robot gets is printed
    as "phone: ..." lines, as a guard's phone would show it."""

    def __init__(self, tmp, site, timezone, print_line, say):
        self.site, self.print_line, self.say = site, print_line, say
        self.tz = zoneinfo.ZoneInfo(timezone)
        self.key_file = os.path.join(tmp, "wechat.key")
        # A key as WeChat Work issues them (a UUID); never printed.
        key = "%s-%s-%s-%s-%s" % tuple(
            os.urandom(n).hex() for n in (4, 2, 2, 2, 6))
        fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        self.robot = Robot(on_message=self.show)
        self.staff = None
        self.timers = []
        self.acked = set()
        self.lock = threading.Lock()

    def start(self):
        self.robot.start()
        return self

    def connect_staff(self, broker_port, auth):
        """Staff on the broker as user staff: they acknowledge incidents
        and reset the fire release, and read the answers (one client:
        the broker lets one session per identity)."""
        self.staff = harness.Recorder(
            broker_port, ["cg/%s/incident/+/result" % self.site,
                          "cg/%s/fire/result" % self.site],
            name="demo-staff", auth=auth).start()
        return self

    def overrides(self):
        o = {("wechat", "webhook_key_file"): self.key_file,
             ("wechat", "base_url"): self.robot.url,
             ("wechat", "duty_mobiles"): DUTY_MOBILES,
             ("incidents", "ack_min"): str(ACK_MIN),
             ("incidents", "minor_min"): str(MINOR_MIN),
             ("incidents", "major_min"): str(MAJOR_MIN),
             ("incidents", "complex_min"): str(COMPLEX_MIN),
             ("care", "daily_min"): str(CARE_MIN)}
        for building, mobile in STEWARDS.items():
            o[("care", "steward." + building)] = mobile
        return o

    def describe(self):
        return ("WeChat robot stand-in at %s, its key in %s (0600); duty "
                "mobiles %s; re-alert after %g min unacknowledged, "
                "escalate after %g min (minor) or %g min (major, urgent) "
                "unresolved; care after %g min unseen, to the steward of "
                "building %s"
                % (self.robot.url, os.path.basename(self.key_file),
                   ", ".join(mask_mobile(m.strip())
                             for m in DUTY_MOBILES.split(",")),
                   ACK_MIN, MINOR_MIN, MAJOR_MIN, CARE_MIN,
                   ", ".join(STEWARDS)))

    def show(self, req):
        """A request the robot answered (on the robot's thread)."""
        if req["answer"] != "ok":
            self.say("robot: a request answered %s" % req["answer"])
            return
        for line in phone_lines(req, prefix="phone: ", tz=self.tz):
            self.print_line(line)
        text = req.content
        n = incident_number(text)
        # Urgent ones are acknowledged by staff on duty, after a moment:
        # the others go unacknowledged, and re-alert and escalate.
        if text.startswith("【紧急】") and n is not None:
            with self.lock:
                if n in self.acked or self.staff is None:
                    return
                self.acked.add(n)
                t = threading.Timer(ACK_AFTER_S, self.ack, (n,))
                t.daemon = True
                self.timers.append(t)
            t.start()

    def ack(self, n):
        request = "demo-ack-%d" % n
        body = {"id": request, "operator": OPERATOR, "note": "已到场"}
        self.say("staff acknowledge incident #%d: %s" % (
            n, json.dumps(body, ensure_ascii=False)))
        topic = "cg/%s/incident/%d" % (self.site, n)
        mark = self.staff.mark()
        try:
            self.staff.client.publish(topic + "/ack", json.dumps(body),
                                      qos=1)
            answer = self.staff.wait(
                lambda m: m.topic == topic + "/result" and
                m.json().get("request") == request, 5,
                "the answer to %s" % request, since=mark)
            self.say("incident/%d/result: %s" % (n, answer.payload.decode()))
        except (TimeoutError, ValueError) as e:
            self.say("incident #%d: %s" % (n, e))

    def quiet(self):
        """No more acknowledgements (before gatewayd stops: one under
        way gets its answer)."""
        with self.lock:
            timers, self.timers = self.timers, []
            staff, self.staff = self.staff, None
        for t in timers:
            t.cancel()
        for t in timers:
            if t.is_alive():
                t.join(6)
        if staff is not None:
            staff.close()

    def close(self):
        self.quiet()
        self.robot.close()


def incident_number(text):
    """The n of "事件 #n" in a message, or None."""
    m = re.search(r"事件 ?#(\d+)", text)
    return int(m.group(1)) if m else None


def access_dir_of(config_path, config_text):
    """The config's access_dir, relative to gateway.ini; or the access.d
    beside it when that path does not exist here (an /etc path)."""
    base = os.path.dirname(os.path.abspath(config_path))
    value = harness.ini_value(config_text, "gateway", "access_dir")
    if value:
        path = os.path.join(base, value)
        if os.path.isdir(path):
            return path
    return os.path.join(base, "access.d")


# Drivers whose devices connect to the broker themselves, each as its own
# identity (its id the user name, [device X] password_file).
MQTT_DRIVERS = ("face_gate", "lpr", "barrier_mqtt", "camera", "frigate",
                "fire_mqtt")


class Identities:
    """The broker as it will be installed: `gatewayctl broker DIR` writes
    mosquitto's listener, acl and passwd from the demo's gateway.ini, and
    makes a random password (a 0600 file) for the gateway, staff, the
    displays and each device that connects itself.  Nobody else may
    connect; each identity only to its own topics."""

    def __init__(self, tmp, gatewayctl):
        self.gatewayctl = gatewayctl
        self.confdir = os.path.join(tmp, "mosquitto.d")
        self.secrets = os.path.join(tmp, "secrets")
        os.mkdir(self.confdir, 0o700)
        os.mkdir(self.secrets, 0o700)
        self.port = harness.free_port()
        self.users = []

    def secret(self, user):
        return os.path.join(self.secrets, user + ".password")

    def overrides(self, config_text, overrides):
        """gateway.ini for the identities: [mqtt] username and
        password_file, [broker] listen and the staff and display
        password files, and a password_file for each device of an MQTT
        driver (as the overrides leave it)."""
        o = {("mqtt", "username"): "gateway",
             ("mqtt", "password_file"): self.secret("gateway"),
             ("broker", "listen"): "%s:%d" % (harness.LOCALHOST, self.port),
             ("broker", "staff_password_file"): self.secret("staff"),
             ("broker", "display_password_file"): self.secret("display")}
        self.users = ["gateway", "staff", "display"]
        for name, values in harness.ini_sections(config_text):
            if not name.startswith("device "):
                continue
            driver = overrides.get((name, "driver"), values.get("driver"))
            if driver in MQTT_DRIVERS:
                dev = name.split(None, 1)[1]
                o[(name, "password_file")] = self.secret(dev)
                self.users.append(dev)
        return o

    def generate(self, ini):
        """gatewayctl broker: the files written, the passwords made.  What
        it prints (each new password, once) is kept from the screen."""
        try:
            p = subprocess.run(
                [self.gatewayctl, "-c", ini, "broker", self.confdir],
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=30)
        except OSError as e:
            raise RuntimeError("%s: %s" % (self.gatewayctl, e))
        if p.returncode != 0:
            raise RuntimeError("gatewayctl broker failed (%d): %s"
                               % (p.returncode, p.stderr.strip()))
        return len(re.findall(r"^new password for ", p.stdout, re.M))

    def broker(self, workdir):
        """mosquitto on those files alone (no anonymous listener)."""
        conf = ["include_dir %s" % self.confdir]
        if os.geteuid() == 0:
            # Its privileges kept: the demo's directory is root's alone,
            # where mosquitto's own user cannot read.
            conf.append("user root")
        return harness.Broker(workdir, port=self.port, conf=conf)

    def auth(self, user):
        """(user, password) as that identity's password_file holds it."""
        with open(self.secret(user), encoding="utf-8") as f:
            return (user, f.readline().strip())


class Demo:
    def __init__(self, args):
        self.args = args
        with open(args.config, encoding="utf-8-sig") as f:
            self.config_text = f.read()
        self.site = harness.ini_value(self.config_text, "gateway",
                                      "site") or "jinding-5"
        self.access_dir = access_dir_of(args.config, self.config_text)
        self.gates = face_gates(self.config_text)[:2]
        self.fire_panels = fire_panels(self.config_text)
        self.native_cameras = cameras(self.config_text, "camera")
        self.nvrs = cameras(self.config_text, "frigate")
        self.camera = self.frigate = self.panel = None
        self.lanes = barriers(self.config_text)
        # The entry barrier on a relay board, when it is an MQTT one.
        self.relay = self.chargers = None
        entry = [b for b, _, lane, driver in self.lanes
                 if lane == "in" and driver == "barrier_mqtt"]
        if args.relay and entry:
            self.lanes = [(b, cam, lane, "barrier_relay" if b == entry[0]
                           else driver)
                          for b, cam, lane, driver in self.lanes]
            self.relay_barrier = entry[0]
        self.timezone = harness.ini_value(
            self.config_text, "gateway", "timezone") or "Asia/Shanghai"
        self.cast = Cast(self.access_dir, self.timezone)
        self.stop = threading.Event()
        self.out_lock = threading.Lock()
        self.rng = random.Random(5)
        self.broker = self.gw = self.journal = self.wechat = None
        self.terminals = {}
        self.cameras = {}      # barrier -> (PlateCamera, lane)
        self.controllers = []  # MQTT barriers' controllers
        self.inside = []       # plates the demo has driven in

    def say(self, text):
        self.print_line("demo: " + text)

    def print_line(self, line):
        """One whole line: the simulators' threads and gatewayd's output
        never run into each other."""
        with self.out_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def start(self, tmp):
        gatewayctl = os.path.join(os.path.dirname(self.args.gatewayd),
                                  "gatewayctl")
        self.ids = Identities(tmp, gatewayctl)
        self.broker = self.ids.broker(os.path.join(tmp, "broker"))
        self.journal = harness.Journal(os.path.join(tmp, "data"))
        overrides = {}
        self.wechat = Wechat(tmp, self.site, self.timezone, self.print_line,
                             self.say).start()
        overrides.update(self.wechat.overrides())
        self.say(self.wechat.describe())
        if any(d == "barrier_relay" for _, _, _, d in self.lanes):
            self.relay = RelayBarrier(self.relay_barrier, tmp, self.journal,
                                      self.say).start()
            overrides.update(self.relay.overrides())
            self.say("relay board (unit %d) on Modbus TCP %s:%d: %s is "
                     "its relay %d, its loop detector input %d"
                     % (RELAY_UNIT, harness.LOCALHOST, self.relay.board.port,
                        self.relay_barrier, RELAY_COIL, RELAY_LOOP))
        if self.args.chargers:
            self.chargers = Chargers(tmp, self.say).start()
            overrides.update(self.chargers.overrides())
            self.say("charging point %s (unit %d, %d ports) on Modbus TCP "
                     "%s:%d: max_temp_c %d, full below %d W for %g min"
                     % (CHARGER, CHARGER_UNIT, CHARGER_PORTS,
                        harness.LOCALHOST, self.chargers.bus.port,
                        MAX_TEMP_C, FULL_W, FULL_MIN))
        overrides.update(self.ids.overrides(self.config_text, overrides))
        ini = os.path.join(tmp, "gateway.ini")
        with open(ini, "w", encoding="utf-8") as f:
            f.write(harness.derive_ini(self.config_text, self.broker.port,
                                       os.path.join(tmp, "data"),
                                       self.access_dir, overrides=overrides))
        made = self.ids.generate(ini)
        self.broker.start()
        self.say("mosquitto on 127.0.0.1:%d with generated credentials and "
                 "ACLs, as `gatewayctl broker` writes them for an install "
                 "(no anonymous clients): %s/{community-gateway.conf,acl,"
                 "passwd}, a random password for each of %d identities "
                 "(%s) in %s/*.password (0600, %d new)"
                 % (self.broker.port, self.ids.confdir, len(self.ids.users),
                    ", ".join(self.ids.users), self.ids.secrets, made))
        self.say("access tables from %s, journal in %s/data"
                 % (self.access_dir, tmp))
        auth = self.ids.auth
        self.wechat.connect_staff(self.broker.port, auth("staff"))
        self.gw = harness.Gatewayd(self.args.gatewayd, ini, tmp, self.site,
                                   self.broker.port,
                                   on_line=self.print_line,
                                   status_auth=auth("display"))
        self.gw.start()
        for gate, direction in self.gates:
            self.terminals[gate] = (FaceTerminal(
                self.broker.port, gate, site=self.site,
                auth=auth(gate)).connect(), direction)
        for barrier, camera, lane, driver in self.lanes:
            if driver == "barrier_mqtt":
                self.controllers.append(MqttBarrier(
                    self.broker.port, barrier, self.site, self.say,
                    auth=auth(barrier)).connect())
            self.cameras[barrier] = (PlateCamera(
                self.broker.port, camera, barrier, site=self.site,
                auth=auth(camera)).connect(), lane)
        self.say("face terminals on %s; Ctrl-C stops"
                 % ", ".join(self.terminals))
        self.say("ask it, from another terminal: %s -c %s status (or "
                 "events --follow, explain P0001, incidents, --help)"
                 % (gatewayctl, ini))
        if self.lanes:
            self.say("plate cameras: %s" % ", ".join(
                "%s at %s (lane %s, %s)" % (camera, barrier, lane, driver)
                for barrier, camera, lane, driver in self.lanes))

    def scene(self, what):
        """Someone at a gate: one request, answered in gatewayd's log."""
        if what.startswith("car-"):
            self.car_scene(what)
            return
        if what == "fire":
            self.fire_scene()
            return
        if what == "falling":
            self.falling_scene()
            return
        if what == "ebike":
            self.ebike_scene()
            return
        gate = self.rng.choice(sorted(self.terminals))
        term, facing = self.terminals[gate]
        out = what.endswith("-out") or facing == "out"
        direction = "out" if out else "in"
        c, pick = self.cast, self.rng.choice
        if what.startswith("resident"):
            term.face(pick(c.residents), score=self.score(),
                      direction=direction)
        elif what == "cleaner" and c.cleaners:
            term.face(pick(c.cleaners), score=self.score(),
                      direction=direction)
        elif what.startswith("visitor") and c.visitors:
            term.face(pick(c.visitors), score=self.score(),
                      direction=direction)
        elif what == "unknown":
            term.face(c.unknown, score=self.score(), direction=direction)
        elif what == "denied" and c.denied:
            term.face(pick(c.denied), score=self.score(),
                      direction=direction)
        elif what == "card" and c.cards:
            term.card(pick(c.cards), direction=direction)
        elif what == "low-score":
            term.face(pick(c.residents), score=0.55, direction=direction)

    def score(self):
        return round(self.rng.uniform(0.86, 0.99), 2)

    # -- the car park ----------------------------------------------------

    def lane_for(self, way):
        """A barrier whose lane lets cars go this way, and the direction
        its camera reports (None: a one-way lane's camera need not say)."""
        fits = [b for b, (_, lane) in sorted(self.cameras.items())
                if lane in (way, "both")]
        if not fits:
            return None, None
        barrier = self.rng.choice(fits)
        return barrier, way if self.cameras[barrier][1] == "both" else None

    def car_scene(self, what):
        """A car at a barrier: its camera reads the plate; gatewayd's log
        says what was decided, the barrier's controller what it did."""
        c, pick = self.cast, self.rng.choice
        outside = [p for p in c.cars if p not in self.inside]
        plate, shown = None, None
        # Only a car the demo let in leaves: the lot starts empty.
        if what == "car-out" and not self.inside:
            what = "car-in"
        if what == "car-in" and outside:
            plate = pick(outside)
        elif what == "car-misread" and outside:
            plate = pick(outside)
            digits = [i for i, ch in enumerate(plate) if ch in MISREADS]
            if digits:
                i = pick(digits)
                shown = plate[:i] + MISREADS[plate[i]] + plate[i + 1:]
        elif what == "car-visitor" and c.visitor_cars:
            plate = pick(c.visitor_cars)[0]
            if plate in self.inside:
                what = "car-out"
        elif what == "car-unknown":
            plate = c.unknown_plate
        elif what == "car-denied" and c.denied_plates:
            plate = pick(c.denied_plates)
        elif what == "car-expired" and c.expired_cars:
            plate = pick(c.expired_cars)
        elif what == "car-out":
            plate = self.inside[0]
        if plate is None:
            return
        way = "out" if what == "car-out" else "in"
        barrier, direction = self.lane_for(way)
        if barrier is None:
            return
        cam = self.cameras[barrier][0]
        request = cam.read(shown or plate, direction=direction,
                           confidence=round(self.rng.uniform(0.9, 0.99), 2))
        row = self.decision(request, barrier)
        if row is None or row["decision"] != "allow":
            return
        if way == "in" and plate not in self.inside:
            self.inside.append(plate)
        elif way == "out" and plate in self.inside:
            self.inside.remove(plate)
        if row["reason"] == "visitor":
            self.count_entries(row)

    # -- cameras ----------------------------------------------------------

    def falling_scene(self):
        """Something thrown from a high floor, seen by a native camera."""
        if not self.native_cameras:
            return
        if self.camera is None:
            self.camera = NativeCamera(
                self.broker.port, self.native_cameras[0], site=self.site,
                auth=self.ids.auth(self.native_cameras[0])).connect()
        score = round(self.rng.uniform(0.8, 0.95), 2)
        self.say("%s sees an object falling past the 12th floor (score %.2f)"
                 % (self.native_cameras[0], score))
        self.camera.event("falling_object", score=score)

    def ebike_scene(self):
        """Frigate follows an e-bike wheeled into the lift: its first
        sighting is below the type's min_score, then it enters the lift's
        zone and is surer; one camera event, however many messages."""
        if not self.nvrs:
            return
        if self.frigate is None:
            self.frigate = Frigate(self.broker.port,
                                   auth=self.ids.auth(self.nvrs[0])).connect()
        self.say("frigate: a bicycle in the lobby of lift_1 (score 0.45)")
        obj = self.frigate.track("lift_1", "bicycle", score=0.45,
                                 zones=["lobby"])
        if self.stop.wait(0.3):
            return
        self.say("frigate: the bicycle enters the lift (zone elevator, "
                 "score 0.82), then 0.88; the event ends")
        obj.update(score=0.82, current_zones=["elevator"])
        obj.update(score=0.88)
        obj.end()

    # -- the fire alarm ---------------------------------------------------

    def fire_scene(self):
        """The fire panel raises its alarm: every gate is told hold_open
        and every barrier held (the relay board's coil on), a stranger is
        let through, the alarm clears, and staff reset the release.  The
        panel says it as its own identity, staff as theirs; each gate's
        terminal hears its own commands."""
        if not self.fire_panels or self.wechat.staff is None:
            return
        panel = self.fire_panels[0]
        if self.panel is None:
            self.panel = FirePanel(self.broker.port, panel, self.site,
                                   auth=self.ids.auth(panel)).connect()
        try:
            self._fire(panel)
        except TimeoutError as e:
            self.say("fire: %s" % e)

    def _fire(self, panel):
        site, gates = self.site, sorted(self.terminals)
        alarm = "cg/%s/fire/%s/alarm" % (site, panel)
        staff = self.wechat.staff

        def marks():
            return {g: len(self.terminals[g][0].all_cmds()) for g in gates}

        def held(action, since):
            for gate in gates:
                term = self.terminals[gate][0]
                harness.wait_for(
                    lambda: any(c.get("action") == action for c in
                                term.all_cmds()[since[gate]:]),
                    5, "%s on %s" % (action, gate))
                self.say("%s: %s (QoS 1 from the gateway): %s"
                         % (gate, action, "the gate stays open"
                            if action == "hold_open" else "back to faces"))

        self.say("fire panel %s: ALARM on %s" % (panel, alarm))
        mark = marks()
        self.panel.publish(alarm, {"state": "alarm"})
        held("hold_open", mark)
        term, _ = self.terminals[gates[0]]
        self.say("a stranger at %s during the alarm" % gates[0])
        term.face(self.cast.unknown, score=self.score())
        if self.stop.wait(1.5):
            return
        self.say("fire panel %s: normal again" % panel)
        self.panel.publish(alarm, {"state": "normal"})
        if self.stop.wait(1.0):
            return
        request = "demo-reset-%d" % int(time.time())
        self.say("staff reset the fire release: %s" % json.dumps(
            {"id": request, "operator": OPERATOR}, ensure_ascii=False))
        mark, seen = marks(), staff.mark()
        staff.client.publish("cg/%s/fire/reset" % site, json.dumps(
            {"id": request, "operator": OPERATOR}), qos=1)
        answer = staff.wait(lambda m: m.topic.endswith("/fire/result") and
                            m.json().get("request") == request, 5,
                            "the reset's answer", since=seen)
        self.say("fire/result: %s" % answer.payload.decode())
        held("normal", mark)

    def decision(self, request, barrier, timeout=3):
        """The journal's record of a plate read: it is committed before
        the barrier is told, so it is there as soon as it acts."""
        try:
            return self.journal.wait_rows(
                "request = ? AND device = ?", (request, barrier),
                timeout=timeout)[0]
        except TimeoutError:
            self.say("%s: no decision for %s within %d s"
                     % (barrier, request, timeout))
            return None

    def count_entries(self, row):
        """A visitor's car came in: the entries it has used, as the
        journal counts them (face gates and barriers share them)."""
        visitor = row["subject_id"]
        entries = next((n for _, v, n in self.cast.visitor_cars
                        if v == visitor), None)
        used = len(self.journal.rows(
            "kind IN ('access', 'vehicle') AND subject_type = 'visitor' "
            "AND subject_id = ? AND decision = 'allow' AND direction = 'in'"
            " AND reason LIKE 'visitor%'", (visitor,)))
        self.say("visitor %s's car %s: entry %d of %s"
                 % (visitor, row["body"].get("plate", row["subject_id"]),
                    used, entries))

    def run(self):
        """Scenes until stopped or out of time; 0, or 1 if gatewayd died."""
        end = None
        if self.args.seconds > 0:
            end = time.monotonic() + self.args.seconds
        if self.chargers is not None:
            self.chargers.run()
        for what in itertools.cycle(SCENES):
            if not self.gw.running():
                self.say("gatewayd exited on its own")
                return 1
            self.scene(what)
            pause = self.rng.uniform(0.6, 1.2)
            if end is not None:
                pause = min(pause, end - time.monotonic())
            if pause <= 0 or self.stop.wait(pause):
                return 0
        return 0

    def shutdown(self):
        """Everything stopped, whatever state it is in; gatewayd's status."""
        rc = 0
        if self.chargers is not None:
            self.chargers.quiet()
        for term, _ in (list(self.terminals.values()) +
                        list(self.cameras.values())):
            try:
                term.close()
            except Exception:
                pass
        for controller in self.controllers + [self.camera, self.frigate,
                                              self.panel]:
            try:
                if controller is not None:
                    controller.close()
            except Exception:
                pass
        if self.wechat is not None:
            self.wechat.quiet()
        if self.gw is not None:
            if self.gw.running():
                rc = self.gw.stop()
                if rc != 0:
                    self.say("gatewayd exited with status %r" % rc)
            self.gw.close()
        # After gatewayd: a message it is sending is answered, not cut.
        if self.wechat is not None:
            self.wechat.close()
        # After gatewayd, so that it does not see the board vanish.
        if self.relay is not None:
            self.relay.close()
        if self.chargers is not None:
            self.chargers.close()
        if self.broker is not None:
            self.broker.stop()
        return rc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gatewayd", default="build/gatewayd")
    p.add_argument("--config", default="config/gateway.ini")
    p.add_argument("--seconds", type=float, default=0,
                   help="stop after this long (0: at Ctrl-C)")
    p.add_argument("--mqtt-barriers", dest="relay", action="store_false",
                   help="keep every barrier as configured (no relay "
                   "board)")
    p.add_argument("--no-chargers", dest="chargers", action="store_false",
                   help="no charging point")
    args = p.parse_args(argv)

    demo = Demo(args)
    if not demo.gates:
        print("demo: no face_gate device in %s" % args.config,
              file=sys.stderr)
        return 1
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: demo.stop.set())
    with tempfile.TemporaryDirectory(prefix="cg-demo-") as tmp:
        status = 1
        try:
            demo.start(tmp)
            status = demo.run()
        except (RuntimeError, TimeoutError) as e:
            print("demo: %s" % e, file=sys.stderr)
        finally:
            rc = demo.shutdown()
        if rc != 0:
            status = 1
        demo.say("stopped")
        return status


if __name__ == "__main__":
    sys.exit(main())
