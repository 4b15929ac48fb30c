#!/usr/bin/python3
"""Charging points and energy meters on one simulated Modbus bus
(DESIGN §4.2), beside relay boards if asked: one Modbus TCP endpoint or
one serial line (a pty), served by relay_board.py's machinery (its Bus,
Link, request log and control loop; see that module's docstring for
what they do).

    charger_sim.py --tcp 127.0.0.1:0 --chargers 3:4,4:2 --log req.jsonl
    charger_sim.py --rtu /tmp/ttySIM --chargers 1:2 --meters 5:sdm120:big
    charger_sim.py --tcp 127.0.0.1:0 --units 1 --chargers 2:4   (mixed)

--chargers UNIT:PORTS,...   a charging point with that many ports
--meters UNIT:sdm120|sdm630:big|little,...   an Eastron energy meter,
                            its float32 word order big (high word first,
                            as shipped) or little (swapped)
--units 1,2,5-8             relay boards, as relay_board.py

Charging point, the gateway's generic map; port p (1-based, as on the
station's label, in topics and on the control lines) is register block
b = p-1, at 16*b:
  input registers (function 04)
    +0 state: 0 idle, 1 plugged, 2 charging, 3 finished, 4 fault
    +1 current, 0.01 A        +2 voltage, 0.1 V
    +3..+4 power, W, u32 high word first
    +5..+6 session energy, Wh, u32 high word first (accumulates with
           time while charging)
    +7 temperature, 0.1 °C, signed 16-bit        +8 fault code
  coil b (functions 01, 05 with FF00/0000 only, 15): output enabled, on
    at power-up.  Off: a charging port stops drawing (power and current
    0, state plugged).  On: a plugged port charges (at its last demand,
    else 180 W / 0.8 A).
  holding register 16*b (functions 03, 06, 16): current limit, 0.1 A;
    stored and shown by `state`, it does not clamp the draw (a faulty
    charger overdraws: that is what the gateway is there for).
  Beyond the map: exception 2 (illegal address).

Energy meter (function 04, IEEE-754 float32 in register pairs): voltage
0x0000, current 0x0006, active power 0x000C, energy in kWh at 0x0048
(SDM120: import energy) or 0x0156 (SDM630: total energy) -- only at its
type's address, so a gateway that reads the other one reads 0.

Control lines on stdin, each answered "ok ..." or "error ...", besides
relay_board.py's (silent, short, exception, delay, state, input, ping,
quit); PORT is 1-based:
    plug UNIT PORT              a bike plugged in: plugged, a new session
                                (energy 0)
    unplug UNIT PORT            idle, power and current 0
    charge UNIT PORT WATTS [AMPS]
                                plugged and drawing: charging (if its
                                output is on; else plugged, "ok plugged
                                output off"), AMPS default WATTS/220
    power UNIT PORT WATTS       the draw changes (battery full: falls off);
                                current follows (WATTS/voltage)
    current UNIT PORT AMPS      current alone (an over-current)
    energy UNIT PORT WH         session energy, any u32
    temp UNIT PORT CELSIUS      temperature (negative allowed)
    fault UNIT PORT CODE        fault code; not 0: state fault, no draw;
                                0: cleared (plugged or idle again)
    finish UNIT PORT            the station's own end: finished, no draw
    coil UNIT PORT on|off       the output switched at the station (not
                                on the wire, not in the log)
    meter UNIT VOLTS AMPS WATTS KWH
    state UNIT                  "ok " + JSON: a charging point's
                                {"coils":"1100","limits":[100,0],"ports":
                                [{"port":1,"state":2,...}, ...]}, a
                                meter's {"voltage_v",...}
"""

import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pymodbus.datastore import ModbusSequentialDataBlock  # noqa: E402
from pymodbus.pdu import ModbusExceptions  # noqa: E402

import relay_board  # noqa: E402
from relay_board import COIL_OFF, COIL_ON, Board, Unit  # noqa: E402

BLOCK = 16
IDLE, PLUGGED, CHARGING, FINISHED, FAULT = range(5)
STATES = ("idle", "plugged", "charging", "finished", "fault")
VOLTAGE = 220.0
DEFAULT_DEMAND = (180.0, 0.8)


class Port:
    """One charging port's physics, as far as the gateway can tell."""

    def __init__(self):
        self.state = IDLE
        self.plugged = False
        self.coil = True
        self.demand = DEFAULT_DEMAND    # (W, A) the bike draws when on
        self.power_w = 0.0
        self.current_a = 0.0
        self.voltage_v = VOLTAGE
        self.energy_wh = 0.0
        self.temp_c = 25.0
        self.fault = 0
        self.at = time.monotonic()

    def tick(self):
        now = time.monotonic()
        if self.state == CHARGING:
            self.energy_wh += self.power_w * (now - self.at) / 3600.0
        self.at = now

    def _draw(self, watts, amps):
        self.power_w, self.current_a = float(watts), float(amps)

    def _start(self):
        self.state = CHARGING
        self._draw(*self.demand)

    def _stop(self, state):
        self.state = state
        self._draw(0, 0)

    def plug(self):
        self.plugged = True
        self.energy_wh = 0.0
        self.demand = DEFAULT_DEMAND
        if self.state != FAULT:
            self._stop(PLUGGED)

    def unplug(self):
        self.plugged = False
        if self.state != FAULT:
            self._stop(IDLE)

    def charge(self, watts, amps):
        if not self.plugged:
            self.plug()
        self.demand = (watts, amps)
        if self.state == FAULT:
            return "fault"
        if self.coil:
            self._start()
            return ""
        self._stop(PLUGGED)
        return "plugged output off"

    def set_coil(self, on):
        self.coil = on
        if not on and self.state == CHARGING:
            self._stop(PLUGGED)
        elif on and self.state == PLUGGED:
            self._start()

    def set_fault(self, code):
        self.fault = code
        if code:
            self._stop(FAULT)
        elif self.state == FAULT:
            self._stop(PLUGGED if self.plugged else IDLE)

    def registers(self):
        def u32(v):
            v = max(0, min(0xFFFFFFFF, int(round(v))))
            return [v >> 16, v & 0xFFFF]
        temp = int(round(self.temp_c * 10))
        if not -32768 <= temp <= 32767:
            raise ValueError("temperature out of range")
        regs = [self.state,
                max(0, min(0xFFFF, int(round(self.current_a * 100)))),
                max(0, min(0xFFFF, int(round(self.voltage_v * 10)))),
                *u32(self.power_w), *u32(self.energy_wh),
                temp & 0xFFFF, self.fault & 0xFFFF]
        return regs + [0] * (BLOCK - len(regs))

    def describe(self, n):
        return {"port": n, "state": STATES[self.state],
                "coil": int(self.coil), "power_w": self.power_w,
                "current_a": self.current_a, "voltage_v": self.voltage_v,
                "energy_wh": round(self.energy_wh, 3),
                "temp_c": self.temp_c, "fault": self.fault}


class ChargingPoint(Unit):
    """A multi-port charging station on the bus."""

    def __init__(self, unit, loop, ports):
        super().__init__(
            unit, loop,
            co=ModbusSequentialDataBlock(0, [True] * ports),
            di=ModbusSequentialDataBlock(0, [False] * ports),
            hr=ModbusSequentialDataBlock(0, [0] * (BLOCK * ports)),
            ir=ModbusSequentialDataBlock(0, [0] * (BLOCK * ports)))
        self.ports = [Port() for _ in range(ports)]
        self._refresh()

    def _refresh(self):
        regs = []
        for p in self.ports:
            p.tick()
            regs += p.registers()
        self.store["i"].setValues(0, regs)
        self.store["c"].setValues(0, [p.coil for p in self.ports])

    def getValues(self, fc_as_hex, address, count=1):
        if self.decode(fc_as_hex) in ("i", "c"):
            self._refresh()
        return super().getValues(fc_as_hex, address, count)

    def setValues(self, fc_as_hex, address, values):
        if self.decode(fc_as_hex) == "c":
            for i, v in enumerate(values):
                self._port(address + i).set_coil(bool(v))
            self._refresh()
            return
        super().setValues(fc_as_hex, address, values)

    def _port(self, block):
        if not 0 <= block < len(self.ports):
            raise ValueError("no port %d on unit %d (ports 1..%d)"
                             % (block + 1, self.unit, len(self.ports)))
        return self.ports[block]

    def write_coil(self, address, value):
        """Function 05; an exception code, or 0."""
        if not 0 <= address < len(self.ports):
            return ModbusExceptions.IllegalAddress
        if value not in (COIL_ON, COIL_OFF):
            return ModbusExceptions.IllegalValue
        self.setValues(5, address, [value == COIL_ON])
        return 0

    def control(self, cmd, args):
        if cmd not in ("plug", "unplug", "charge", "power", "current",
                       "energy", "temp", "fault", "finish", "coil"):
            return None
        if not args:
            raise ValueError("%s UNIT PORT ..." % cmd)
        port = self._port(int(args[0]) - 1)
        rest = args[1:]
        port.tick()
        said = ""
        if cmd == "plug" and not rest:
            port.plug()
        elif cmd == "unplug" and not rest:
            port.unplug()
        elif cmd == "finish" and not rest:
            port._stop(FINISHED)
        elif cmd == "charge" and len(rest) in (1, 2):
            watts = float(rest[0])
            amps = float(rest[1]) if len(rest) == 2 else watts / VOLTAGE
            said = port.charge(watts, amps)
        elif cmd == "power" and len(rest) == 1:
            port.demand = (float(rest[0]), float(rest[0]) / port.voltage_v)
            if port.state == CHARGING:
                port._draw(*port.demand)
        elif cmd == "current" and len(rest) == 1:
            port.current_a = float(rest[0])
            port.demand = (port.demand[0], port.current_a)
        elif cmd == "energy" and len(rest) == 1:
            wh = int(rest[0])
            if not 0 <= wh <= 0xFFFFFFFF:
                raise ValueError("energy is a u32")
            port.energy_wh = float(wh)
        elif cmd == "temp" and len(rest) == 1:
            c = float(rest[0])
            if not -3276.8 <= c <= 3276.7:
                raise ValueError("temperature out of range")
            port.temp_c = c
        elif cmd == "fault" and len(rest) == 1:
            port.set_fault(int(rest[0]))
        elif cmd == "coil" and len(rest) == 1 and rest[0] in ("on", "off"):
            port.set_coil(rest[0] == "on")
        else:
            raise ValueError("bad arguments for %s" % cmd)
        self._refresh()
        return said

    def state(self):
        self._refresh()
        limits = self.store["h"].getValues(0, BLOCK * len(self.ports))
        return json.dumps({
            "coils": "".join("%d" % p.coil for p in self.ports),
            "limits": [limits[BLOCK * i] for i in range(len(self.ports))],
            "ports": [p.describe(i + 1) for i, p in enumerate(self.ports)]})


METER_REGS = {"voltage_v": 0x0000, "current_a": 0x0006, "power_w": 0x000C}
ENERGY_REG = {"sdm120": 0x0048, "sdm630": 0x0156}


class Meter(Unit):
    """An Eastron SDM120/SDM630: float32 input registers in pairs."""

    def __init__(self, unit, loop, model, order):
        super().__init__(
            unit, loop,
            co=ModbusSequentialDataBlock(0, [False]),
            di=ModbusSequentialDataBlock(0, [False]),
            hr=ModbusSequentialDataBlock(0, [0] * 0x20),
            ir=ModbusSequentialDataBlock(0, [0] * (0x0156 + 2)))
        self.model, self.order = model, order
        self.values = {"voltage_v": 0.0, "current_a": 0.0, "power_w": 0.0,
                       "energy_kwh": 0.0}
        self._set(230.0, 0.0, 0.0, 0.0)

    def _put(self, address, value):
        hi, lo = struct.unpack(">HH", struct.pack(">f", value))
        words = [hi, lo] if self.order == "big" else [lo, hi]
        self.store["i"].setValues(address, words)

    def _set(self, volts, amps, watts, kwh):
        self.values = {"voltage_v": volts, "current_a": amps,
                       "power_w": watts, "energy_kwh": kwh}
        for key, address in METER_REGS.items():
            self._put(address, self.values[key])
        self._put(ENERGY_REG[self.model], kwh)

    def control(self, cmd, args):
        if cmd != "meter":
            return None
        if len(args) != 4:
            raise ValueError("meter UNIT VOLTS AMPS WATTS KWH")
        self._set(*(float(a) for a in args))
        return ""

    def state(self):
        return json.dumps(dict(self.values, model=self.model,
                               order=self.order))


def parse_chargers(text):
    """"3:4,5:2" -> {3: 4, 5: 2}."""
    out = {}
    for part in text.split(","):
        unit, _, ports = part.partition(":")
        unit, ports = int(unit), int(ports or 1)
        if not 1 <= unit <= 247 or not 1 <= ports <= 64:
            raise ValueError("UNIT:PORTS, unit 1..247, ports 1..64")
        out[unit] = ports
    return out


def parse_meters(text):
    """"5:sdm120:big,6:sdm630:little" -> {5: ("sdm120", "big"), ...}."""
    out = {}
    for part in text.split(","):
        words = part.split(":")
        unit = int(words[0])
        model = words[1] if len(words) > 1 else "sdm120"
        order = words[2] if len(words) > 2 else "big"
        if model not in ENERGY_REG or order not in ("big", "little") or \
                not 1 <= unit <= 247:
            raise ValueError("UNIT:sdm120|sdm630:big|little")
        out[unit] = (model, order)
    return out


def make_boards(args, loop):
    boards = {u: Board(u, loop) for u in (args.units or [])}
    for unit, ports in (args.chargers or {}).items():
        boards[unit] = ChargingPoint(unit, loop, ports)
    for unit, (model, order) in (args.meters or {}).items():
        boards[unit] = Meter(unit, loop, model, order)
    return boards


class ChargerBus(relay_board.RelayBus):
    """charger_sim.py in its own process (as RelayBus): chargers {unit:
    ports}, meters {unit: (model, order)}, relay boards units."""

    script = os.path.abspath(__file__)
    name = "charger_sim"

    def __init__(self, log_path, chargers=None, meters=None, units=(),
                 tcp=None, rtu=None):
        super().__init__(log_path, units, tcp=tcp, rtu=rtu)
        self.chargers = dict(chargers or {})
        self.meters = dict(meters or {})

    def devices_argv(self):
        argv = []
        if self.units:
            argv += ["--units", ",".join(str(u) for u in self.units)]
        if self.chargers:
            argv += ["--chargers", ",".join(
                "%d:%d" % kv for kv in self.chargers.items())]
        if self.meters:
            argv += ["--meters", ",".join(
                "%d:%s:%s" % (u, m, o) for u, (m, o) in self.meters.items())]
        return argv

    def on_port(self, cmd, unit, port, *values):
        """A control line about one port, e.g. on_port("temp", 3, 1, 75)."""
        return self.command(" ".join(str(w) for w in
                                     (cmd, unit, port) + values))

    def plug(self, unit, port):
        return self.on_port("plug", unit, port)

    def unplug(self, unit, port):
        return self.on_port("unplug", unit, port)

    def charge(self, unit, port, watts, amps=None):
        more = () if amps is None else (amps,)
        return self.on_port("charge", unit, port, watts, *more)

    def coil(self, unit, port, on):
        return self.on_port("coil", unit, port, "on" if on else "off")

    def short(self, unit, on=True):
        self.command("short %s %s" % (unit, "on" if on else "off"))

    def meter(self, unit, volts, amps, watts, kwh):
        self.command("meter %s %s %s %s %s" % (unit, volts, amps, watts, kwh))

    def state(self, unit):
        """A charging point's {"coils", "limits", "ports": [...]} or a
        meter's values (relay boards: RelayBus.state's dict)."""
        text = self.command("state %s" % unit)
        if text.startswith("{"):
            return json.loads(text)
        return dict(kv.split("=") for kv in text.split())

    def port_state(self, unit, port):
        return self.state(unit)["ports"][port - 1]


def main(argv=None):
    p = relay_board.arg_parser(__doc__)
    p.add_argument("--units", type=relay_board.parse_units,
                   help="relay boards' unit ids, e.g. 1,2,5-8")
    p.add_argument("--chargers", type=parse_chargers,
                   help="charging points, UNIT:PORTS,...")
    p.add_argument("--meters", type=parse_meters,
                   help="energy meters, UNIT:sdm120|sdm630:big|little,...")
    args = p.parse_args(argv)
    units = list(args.units or []) + list(args.chargers or {}) + \
        list(args.meters or {})
    if not units:
        p.error("nothing on the bus: --units, --chargers or --meters")
    if len(set(units)) != len(units):
        p.error("a unit id is given twice")
    return relay_board.run(args, make_boards)


if __name__ == "__main__":
    sys.exit(main())
