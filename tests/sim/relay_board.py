#!/usr/bin/python3
"""Waveshare "Modbus RTU Relay" boards on one simulated bus (DESIGN §4.2):
one Modbus TCP endpoint or one serial line (a pty), any number of boards
on it, each with 8 relays (coils 0..7) and 8 discrete inputs (the
barrier's vehicle loop detector, dry contacts).  Function 05 is the
board's own: FF00 closes relay n, 0000 opens it, and a write of coil
0x0200+n with a value v is "flash on" -- the relay closes and opens by
itself after v x 100 ms (0x0400+n, "flash off", the other way round).
The raw value is kept and echoed, as the board does; coils 0..7 take
only FF00 and 0000 (anything else: exception 3).  Addresses are the
wire's (zero_mode).  A unit id that no board has is not answered.

    relay_board.py --tcp 127.0.0.1:1502 --units 1,2,3 --log requests.jsonl
    relay_board.py --rtu /tmp/ttySIM --units 1-30 --log requests.jsonl

It prints "ready tcp HOST:PORT" (port 0 picks a free one) or "ready rtu
PATH" once it serves.  Every request it receives is one JSON line in
the log, flushed as written: {"t": epoch seconds, "unit", "function",
"address", "count" or "value", "answered": true/false, and "exception"
or "delay_ms" when they apply}.

A test drives it while it runs with one line on stdin per change; each
is answered with one line on stdout, "ok ..." or "error ...":

    input UNIT N 0|1            discrete input N opens (0) or closes (1)
    silent UNIT|all on|off      no answer at all: a board that vanished
    short UNIT|all on|off       reads answered with one register (or one
                                byte of bits) fewer than asked
    exception UNIT|all CODE [FUNCTION ...] [times=N]
                                answer (those functions) with exception
                                CODE (2 illegal address, 6 busy, 11
                                gateway target failed ...), for ever or
                                to the next N of them
    exception UNIT|all off
    delay UNIT|all MS           answer MS later (a slow 9600-baud line;
                                answers never overtake one another, so
                                a late one holds up those behind it)
    state UNIT                  "ok coils=10000000 inputs=00000000"
    ping                        "ok"
    quit

A frozen bus is `kill -STOP` on the process.  One bus per process.

Other kinds of device on a simulated bus (charger_sim.py's charging
points and energy meters) are Unit subclasses served by this module's
Bus, Link and control loop (run(args, make_boards)).

As a module: RelayBus runs it as a child process for a test (control
calls, freeze and thaw, its request log), PtyPair makes the socat pty
pair of an RS-485 line.

Built on pymodbus 3.0.0rc1's framers, decoder, PDUs and data store, but
the server is our own: pymodbus.server needs pyserial-asyncio (only
recommended by Debian's package) even for TCP, its StartAsync helpers
allow one server per process, its TCP handler drops a request split over
two segments, and its serial framer discards a frame queued behind one
for a unit it does not host.  A pty is opened with termios, parity N
(pyserial could not open it with even parity; a pty ignores parity).
"""

import argparse
import asyncio
import json
import logging
import os
import struct
import sys
import termios
import threading
import time
import tty

from pymodbus.datastore import (ModbusSequentialDataBlock,
                                ModbusSlaveContext, ModbusSparseDataBlock)
from pymodbus.factory import ServerDecoder
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.pdu import ModbusExceptions, ModbusRequest, ModbusResponse

# pymodbus logs every exception response it builds at ERROR.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL + 1)
logging.getLogger("pymodbus").addHandler(logging.NullHandler())

RELAYS = 8
INPUTS = 8
COIL_ON = 0xFF00
COIL_OFF = 0x0000
FLASH_ON = 0x0200     # coil 0x0200+n: close relay n, open after v x 100 ms
FLASH_OFF = 0x0400    # coil 0x0400+n: open relay n, close after v x 100 ms
FLASH_UNIT_S = 0.1
MBAP_LEN = 6          # transaction id, protocol id, length; then the unit


class WriteCoilRaw(ModbusRequest):
    """Function 05 as the relay board reads it: the value is a number,
    not a boolean (pymodbus' own request turns any value into FF00)."""

    function_code = 5
    _rtu_frame_size = 8

    def __init__(self, address=0, value=0, **kwargs):
        super().__init__(**kwargs)
        self.address = address
        self.value = value

    def encode(self):
        return struct.pack(">HH", self.address, self.value)

    def decode(self, data):
        self.address, self.value = struct.unpack(">HH", data[:4])

    def execute(self, context):
        code = context.write_coil(self.address, self.value)
        if code:
            return self.doException(code)
        return WriteCoilRawResponse(self.address, self.value)

    def get_response_pdu_size(self):
        return 1 + 2 + 2


class WriteCoilRawResponse(ModbusResponse):
    """The echo of a function 05 write, value as written."""

    function_code = 5
    _rtu_frame_size = 8

    def __init__(self, address=0, value=0, **kwargs):
        super().__init__(**kwargs)
        self.address = address
        self.value = value

    def encode(self):
        return struct.pack(">HH", self.address, self.value)

    def decode(self, data):
        self.address, self.value = struct.unpack(">HH", data[:4])


class Unit(ModbusSlaveContext):
    """One device on the bus (zero_mode: addresses are the wire's) and
    how it misbehaves: what every kind of simulated device shares.  A
    kind adds its own control lines in control()."""

    def __init__(self, unit, loop, **blocks):
        super().__init__(zero_mode=True, **blocks)
        self.unit = unit
        self.loop = loop
        self.silent = False
        self.exception = None       # [code, functions or None, times]
        self.delay_s = 0.0
        self.short = False          # reads answered one register short

    def refuses(self, function):
        """The exception code to answer this request with, or 0."""
        if self.exception is None:
            return 0
        code, functions, times = self.exception
        if functions is not None and function not in functions:
            return 0
        if times is not None:
            self.exception[2] -= 1
            if self.exception[2] <= 0:
                self.exception = None
        return code

    def control(self, cmd, args):
        """A control line for this unit (its number already taken off
        the arguments): the reply's text after "ok", or None when the
        command is not this kind's.  ValueError for bad arguments."""
        return None

    def state(self):
        return ""


class Board(Unit):
    """One relay board: its registers, and how it misbehaves."""

    def __init__(self, unit, loop):
        super().__init__(
            unit, loop,
            co=ModbusSequentialDataBlock(0, [False] * RELAYS),
            di=ModbusSequentialDataBlock(0, [False] * INPUTS),
            # The board's own address and firmware version.
            hr=ModbusSparseDataBlock({0x4000: unit, 0x8000: 0x0100}),
            ir=ModbusSparseDataBlock({0: 0}))
        self._timers = {}

    def _relay(self, n, closed):
        self.setValues(1, n, [bool(closed)])

    def write_coil(self, address, value):
        """Function 05; an exception code, or 0."""
        if address < RELAYS:
            if value not in (COIL_ON, COIL_OFF):
                return ModbusExceptions.IllegalValue
            self._cancel(address)
            self._relay(address, value == COIL_ON)
            return 0
        for base, closed in ((FLASH_ON, True), (FLASH_OFF, False)):
            n = address - base
            if 0 <= n < RELAYS:
                if value == 0:
                    return ModbusExceptions.IllegalValue
                self._cancel(n)
                self._relay(n, closed)
                self._timers[n] = self.loop.call_later(
                    value * FLASH_UNIT_S, self._relay, n, not closed)
                return 0
        return ModbusExceptions.IllegalAddress

    def _cancel(self, n):
        timer = self._timers.pop(n, None)
        if timer is not None:
            timer.cancel()

    def control(self, cmd, args):
        if cmd == "input" and len(args) == 2:
            n, level = int(args[0]), int(args[1])
            if not 0 <= n < INPUTS or level not in (0, 1):
                raise ValueError("input 0..%d, level 0 or 1" % (INPUTS - 1))
            self.setValues(2, n, [bool(level)])
            return ""
        return None

    def state(self):
        coils = self.getValues(1, 0, RELAYS)
        inputs = self.getValues(2, 0, INPUTS)
        return "coils=%s inputs=%s" % ("".join("%d" % b for b in coils),
                                       "".join("%d" % b for b in inputs))


def describe(request):
    """What the log says about a request besides unit and function."""
    out = {}
    for key in ("address", "count", "value"):
        v = getattr(request, key, None)
        if isinstance(v, bool):
            v = int(v)
        if isinstance(v, int):
            out[key] = v
    return out


def shorten(response):
    """A read's answer with one register (or one byte of bits) fewer
    than asked: a device that answers with the wrong size."""
    if isinstance(getattr(response, "registers", None), list):
        response.registers = response.registers[:-1]
    elif isinstance(getattr(response, "bits", None), list):
        bits = response.bits
        response.bits = bits[:max(0, (len(bits) + 7) // 8 - 1) * 8]
    return response


class Bus:
    """The devices on one line and the request log they share.  boards:
    unit id -> Unit (a relay Board unless a caller says otherwise)."""

    def __init__(self, boards, log_path, loop):
        self.loop = loop
        self.boards = boards if isinstance(boards, dict) else \
            {u: Board(u, loop) for u in boards}
        self.decoder = ServerDecoder()
        self.decoder.register(WriteCoilRaw)
        self.log_file = open(log_path, "a", encoding="utf-8") \
            if log_path else None

    def log(self, entry):
        if self.log_file is not None:
            self.log_file.write(json.dumps(entry) + "\n")
            self.log_file.flush()

    def execute(self, request):
        """(response, delay in s) or (None, 0) when nobody answers."""
        unit, function = request.unit_id, request.function_code
        entry = {"t": round(time.time(), 6), "unit": unit,
                 "function": function}
        entry.update(describe(request))
        board = self.boards.get(unit)
        if board is None or board.silent:
            entry["answered"] = False
            self.log(entry)
            return None, 0
        code = board.refuses(function)
        if code:
            response = request.doException(code)
        else:
            try:
                response = request.execute(board)
            except Exception as e:  # noqa: BLE001 -- a board never dies
                print("relay_board: unit %d: %s" % (unit, e),
                      file=sys.stderr)
                response = request.doException(
                    ModbusExceptions.SlaveFailure)
        entry["answered"] = True
        if board.short and function in (1, 2, 3, 4) and \
                not response.function_code & 0x80:
            shorten(response)
            entry["short"] = True
        if response.function_code & 0x80:
            entry["exception"] = response.exception_code
        if board.delay_s:
            entry["delay_ms"] = round(board.delay_s * 1000)
        self.log(entry)
        response.transaction_id = request.transaction_id
        response.protocol_id = getattr(request, "protocol_id", 0)
        response.unit_id = unit
        return response, board.delay_s

    # -- control ----------------------------------------------------------

    def _targets(self, which):
        if which == "all":
            return list(self.boards.values())
        unit = int(which)
        if unit not in self.boards:
            raise ValueError("no unit %d on this bus" % unit)
        return [self.boards[unit]]

    def control(self, line):
        """One control line; the reply line."""
        words = line.split()
        if not words:
            return "error empty line"
        cmd, args = words[0], words[1:]
        try:
            if cmd == "ping":
                return "ok"
            if cmd in ("silent", "short") and len(args) == 2 and \
                    args[1] in ("on", "off"):
                for b in self._targets(args[0]):
                    setattr(b, cmd, args[1] == "on")
                return "ok"
            if cmd == "exception" and len(args) >= 2:
                times = None
                rest = args[2:]
                if rest and rest[-1].startswith("times="):
                    times = int(rest.pop()[6:])
                functions = {int(f) for f in rest} or None
                for b in self._targets(args[0]):
                    b.exception = None if args[1] == "off" else \
                        [int(args[1]), functions, times]
                return "ok"
            if cmd == "delay" and len(args) == 2:
                for b in self._targets(args[0]):
                    b.delay_s = max(0, int(args[1])) / 1000.0
                return "ok"
            if cmd == "state" and len(args) == 1:
                return "ok " + self._targets(args[0])[0].state()
            if args:
                said = [b.control(cmd, args[1:])
                        for b in self._targets(args[0])]
                if said and None not in said:
                    return ("ok " + said[-1]) if said[-1] else "ok"
        except (ValueError, IndexError) as e:
            return "error %s" % e
        return "error unknown command %r" % line.strip()


class Link(asyncio.Protocol):
    """One conversation with the master: a TCP connection or the line.

    Answers leave in order, each no earlier than its board's delay after
    the one before it ended, as on a half-duplex line.
    """

    def __init__(self, bus, framer_class, stream):
        self.bus = bus
        self.framer = framer_class(bus.decoder, client=None)
        self.stream = stream        # TCP: reassemble MBAP frames first
        self.pending = b""
        self.transport = None
        self.busy_until = 0.0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        if not self.stream:
            self._feed(data)
            return
        self.pending += data
        while len(self.pending) > MBAP_LEN:
            length = struct.unpack(">H", self.pending[4:6])[0]
            if len(self.pending) < MBAP_LEN + length:
                return
            frame = self.pending[:MBAP_LEN + length]
            self.pending = self.pending[MBAP_LEN + length:]
            self._feed(frame)

    def _feed(self, data):
        try:
            # single: every unit id passes the framer; execute() decides.
            self.framer.processIncomingPacket(data, self._request, unit=[0],
                                              single=True)
        except Exception as e:  # noqa: BLE001 -- garbage on the line
            print("relay_board: dropped a frame: %s" % e, file=sys.stderr)
            self.framer.resetFrame()

    def _request(self, request):
        response, delay = self.bus.execute(request)
        if response is None:
            return
        packet = self.framer.buildPacket(response)
        now = self.bus.loop.time()
        at = max(now, self.busy_until) + delay
        self.busy_until = at
        if at <= now:
            self._send(packet)
        else:
            self.bus.loop.call_at(at, self._send, packet)

    def _send(self, packet):
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(packet)

    def connection_lost(self, exc):
        self.transport = None


class PtyTransport(asyncio.Transport):
    """The simulator's end of a pty pair, raw, 8N1, non-blocking."""

    def __init__(self, loop, path, protocol):
        super().__init__()
        self.loop = loop
        self.protocol = protocol
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        attrs = termios.tcgetattr(self.fd)
        attrs[2] &= ~(termios.PARENB | termios.PARODD | termios.CSTOPB)
        attrs[2] |= termios.CS8 | termios.CLOCAL | termios.CREAD
        attrs[4] = attrs[5] = termios.B9600
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
        # Whatever an earlier run left in the pty is not for us.
        termios.tcflush(self.fd, termios.TCIOFLUSH)
        self.closing = False
        loop.add_reader(self.fd, self._readable)
        protocol.connection_made(self)

    def _readable(self):
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            # EIO: nobody holds the other end just now; try again soon.
            self.loop.remove_reader(self.fd)
            self.loop.call_later(0.05, self.loop.add_reader, self.fd,
                                 self._readable)
            return
        if data:
            self.protocol.data_received(data)

    def write(self, data):
        view = memoryview(data)
        deadline = time.monotonic() + 1.0
        while view and time.monotonic() < deadline:
            try:
                view = view[os.write(self.fd, view):]
            except BlockingIOError:
                time.sleep(0.001)

    def is_closing(self):
        return self.closing

    def close(self):
        if not self.closing:
            self.closing = True
            self.loop.remove_reader(self.fd)
            os.close(self.fd)


def parse_units(text):
    """"1,2,5-8" -> [1, 2, 5, 6, 7, 8]."""
    units = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        units.extend(range(int(lo), int(hi or lo) + 1))
    if not units or not all(1 <= u <= 247 for u in units):
        raise argparse.ArgumentTypeError("units are 1..247")
    return units


def reply(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def read_control(loop, bus, stop, exit_on_eof):
    """Control lines from stdin, each applied on the loop, in order."""
    for line in sys.stdin:
        if line.strip() == "quit":
            reply("ok")
            break
        future = asyncio.run_coroutine_threadsafe(_apply(bus, line), loop)
        reply(future.result())
    else:
        if not exit_on_eof:
            return
    loop.call_soon_threadsafe(stop.set)


async def _apply(bus, line):
    return bus.control(line)


def relay_boards(args, loop):
    """The boards of relay_board.py's command line: unit id -> Board."""
    return {u: Board(u, loop) for u in args.units}


async def serve(args, make_boards=relay_boards):
    loop = asyncio.get_running_loop()
    bus = Bus(make_boards(args, loop), args.log, loop)
    stop = asyncio.Event()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server = await loop.create_server(
            lambda: Link(bus, ModbusSocketFramer, stream=True),
            host or "127.0.0.1", int(port), reuse_address=True)
        port = server.sockets[0].getsockname()[1]
        reply("ready tcp %s:%d" % (host or "127.0.0.1", port))
        closer = server.close
    else:
        link = Link(bus, ModbusRtuFramer, stream=False)
        transport = PtyTransport(loop, args.rtu, link)
        reply("ready rtu %s" % args.rtu)
        closer = transport.close
    thread = threading.Thread(target=read_control,
                              args=(loop, bus, stop, args.exit_on_eof),
                              daemon=True)
    thread.start()
    try:
        await stop.wait()
    finally:
        closer()


# -- for tests: the simulator as a child process --------------------------


class RelayBus:
    """relay_board.py running in its own process: one bus of boards.

    tcp=(host, port) (port 0: any free one) or rtu=path.  The process
    stops with the test's pipe to it; stop() ends it at once.  Its
    request log is read with requests()/mark()/wait_request().
    """

    def __init__(self, log_path, units=(1,), tcp=None, rtu=None):
        self.log_path = str(log_path)
        self.units = list(units)
        self.tcp, self.rtu = tcp, rtu
        self.port = tcp[1] if tcp else None
        self.proc = None
        self._stdout = None

    script = os.path.abspath(__file__)
    name = "relay_board"

    def devices_argv(self):
        """The command line's options that say what is on the bus."""
        return ["--units", ",".join(str(u) for u in self.units)]

    def start(self, timeout=10):
        import subprocess
        where = (["--tcp", "%s:%d" % self.tcp] if self.tcp
                 else ["--rtu", str(self.rtu)])
        self.proc = subprocess.Popen(
            [sys.executable, self.script, *where, *self.devices_argv(),
             "--log", self.log_path, "--exit-on-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, bufsize=1,
            start_new_session=True)
        line = self._read_line(timeout)
        if not line.startswith("ready "):
            raise RuntimeError("%s did not start: %r %s"
                               % (self.name, line, self.stderr()))
        if self.tcp:
            self.port = int(line.rsplit(":", 1)[1])
        return self

    def _read_line(self, timeout):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        try:
            if not sel.select(timeout):
                raise TimeoutError("relay_board said nothing in %.1f s "
                                   "(stopped?)" % timeout)
        finally:
            sel.close()
        return self.proc.stdout.readline().rstrip("\n")

    def stderr(self):
        if self.proc is None or self.proc.poll() is None:
            return ""
        return self.proc.stderr.read()

    def command(self, line, timeout=10):
        """One control line (see the module's docstring); its "ok" text."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self._read_line(timeout)
        if not answer.startswith("ok"):
            raise RuntimeError("%s: %s: %s" % (self.name, line, answer))
        return answer[3:]

    def set_input(self, unit, n, closed):
        self.command("input %s %d %d" % (unit, n, 1 if closed else 0))

    def silent(self, unit, on=True):
        self.command("silent %s %s" % (unit, "on" if on else "off"))

    def exception(self, unit, code, *functions, times=None):
        """Answer with exception code (0: answer normally again), to
        those functions only when given, the next `times` requests only
        when given."""
        words = ["exception", str(unit), str(code) if code else "off"]
        words += [str(f) for f in functions]
        if times is not None:
            words.append("times=%d" % times)
        self.command(" ".join(words))

    def delay(self, unit, ms):
        self.command("delay %s %d" % (unit, ms))

    def state(self, unit):
        """{"coils": "10000000", "inputs": "00000000"}"""
        return dict(kv.split("=") for kv in
                    self.command("state %s" % unit).split())

    def freeze(self):
        import signal
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        import signal
        os.kill(self.proc.pid, signal.SIGCONT)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        import signal
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:     # a broken pipe to a killed process
                pass
        self.proc = None

    # -- its request log ---------------------------------------------------

    def requests(self, since=0):
        """The requests logged so far, from position since (complete
        lines only: the last one may be in the middle of being written)."""
        try:
            with open(self.log_path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        lines = text.split("\n")[:-1]
        return [json.loads(line) for line in lines[since:]]

    def mark(self):
        return len(self.requests())

    def wait_request(self, predicate, timeout, what, since=0):
        """The first logged request from position since that matches,
        and its position; a deadline, never a measurement."""
        deadline = time.monotonic() + timeout
        while True:
            for i, r in enumerate(self.requests(since)):
                if predicate(r):
                    return since + i, r
            if time.monotonic() >= deadline:
                raise TimeoutError("timed out after %.1f s waiting for %s"
                                   % (timeout, what))
            time.sleep(0.02)


class PtyPair:
    """Two linked pseudo-terminals made by socat: one for gatewayd, one
    for the simulator, like two ends of an RS-485 line."""

    def __init__(self, a, b):
        self.a, self.b = str(a), str(b)
        self.proc = None

    def start(self, timeout=10):
        import subprocess
        self.proc = subprocess.Popen(
            ["socat", "-d", "-d", "pty,raw,echo=0,link=%s" % self.a,
             "pty,raw,echo=0,link=%s" % self.b],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not (os.path.exists(self.a) and os.path.exists(self.b)):
            if self.proc.poll() is not None:
                raise RuntimeError("socat exited: %s"
                                   % self.proc.stderr.read().decode())
            if time.monotonic() >= deadline:
                raise TimeoutError("socat made no pty pair in %.1f s"
                                   % timeout)
            time.sleep(0.02)
        return self

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except Exception:  # noqa: BLE001
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
        self.proc = None


def arg_parser(doc):
    """The command line every simulated bus shares: where it serves, its
    log, its stdin; a simulator adds what is on the bus."""
    p = argparse.ArgumentParser(
        description=doc.split("\nBuilt on")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--tcp", metavar="HOST:PORT",
                       help="serve Modbus TCP here (port 0: any free one)")
    where.add_argument("--rtu", metavar="PATH",
                       help="serve Modbus RTU on this serial device (pty)")
    p.add_argument("--log", metavar="FILE",
                   help="append one JSON line per request received")
    p.add_argument("--exit-on-eof", action="store_true",
                   help="stop when stdin closes (a test's pipe)")
    return p


def run(args, make_boards=relay_boards):
    try:
        asyncio.run(serve(args, make_boards))
    except KeyboardInterrupt:
        pass
    return 0


def main(argv=None):
    p = arg_parser(__doc__)
    p.add_argument("--units", type=parse_units, default=[1],
                   help="the boards' unit ids, e.g. 1,2,5-8 (default 1)")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
