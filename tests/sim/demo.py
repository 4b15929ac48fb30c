#!/usr/bin/python3
"""make demo: the gateway on the example compound, everything on loopback.

Starts a private mosquitto, gatewayd on a temporary copy of the given
gateway.ini (the real access.d, read-only; the journal in a temporary
directory) and a simulated face terminal on each face gate; then, about
once a second, someone passes: mostly residents, now and then a cleaner,
the visitor, a stranger, the denied person, a card.  gatewayd's own log
lines are printed as they come, as a guard would read them.  Ctrl-C,
SIGTERM or --seconds stop everything cleanly.

    demo.py --gatewayd build/gatewayd --config config/gateway.ini --seconds 30
"""

import argparse
import datetime
import glob
import itertools
import os
import random
import signal
import sys
import tempfile
import threading
import time
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from face_terminal import FaceTerminal  # noqa: E402

# Who walks by, in turn: residents most of the time.
SCENES = ("resident", "resident", "cleaner", "resident", "visitor",
          "resident", "unknown", "resident-out", "denied", "resident",
          "card", "resident", "low-score", "visitor-out")


class Cast:
    """Ids to play with, read from access.d (or assumed when it is empty,
    as the example compound describes it)."""

    def __init__(self, access_dir, timezone):
        # valid_until is a day in the compound's time zone.
        self.today = datetime.datetime.now(
            zoneinfo.ZoneInfo(timezone)).date().isoformat()
        self.residents, self.cleaners, self.visitors = [], [], []
        self.cards, self.denied, self.known = [], [], set()
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


class Demo:
    def __init__(self, args):
        self.args = args
        with open(args.config, encoding="utf-8-sig") as f:
            self.config_text = f.read()
        self.site = harness.ini_value(self.config_text, "gateway",
                                      "site") or "jinding-5"
        self.access_dir = access_dir_of(args.config, self.config_text)
        self.gates = face_gates(self.config_text)[:2]
        self.cast = Cast(self.access_dir, harness.ini_value(
            self.config_text, "gateway", "timezone") or "Asia/Shanghai")
        self.stop = threading.Event()
        self.rng = random.Random(5)
        self.broker = self.gw = None
        self.terminals = {}

    def say(self, text):
        print("demo: " + text, flush=True)

    def start(self, tmp):
        self.broker = harness.Broker(os.path.join(tmp, "broker")).start()
        ini = os.path.join(tmp, "gateway.ini")
        with open(ini, "w", encoding="utf-8") as f:
            f.write(harness.derive_ini(self.config_text, self.broker.port,
                                       os.path.join(tmp, "data"),
                                       self.access_dir))
        self.say("mosquitto on 127.0.0.1:%d, access tables from %s, "
                 "journal in %s/data" % (self.broker.port, self.access_dir,
                                         tmp))
        self.gw = harness.Gatewayd(self.args.gatewayd, ini, tmp, self.site,
                                   self.broker.port,
                                   on_line=lambda line: print(line,
                                                              flush=True))
        self.gw.start()
        for gate, direction in self.gates:
            self.terminals[gate] = (FaceTerminal(
                self.broker.port, gate, site=self.site).connect(), direction)
        self.say("face terminals on %s; Ctrl-C stops"
                 % ", ".join(self.terminals))

    def scene(self, what):
        """Someone at a gate: one request, answered in gatewayd's log."""
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

    def run(self):
        """Scenes until stopped or out of time; 0, or 1 if gatewayd died."""
        end = None
        if self.args.seconds > 0:
            end = time.monotonic() + self.args.seconds
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
        for term, _ in self.terminals.values():
            try:
                term.close()
            except Exception:
                pass
        if self.gw is not None:
            if self.gw.running():
                rc = self.gw.stop()
                if rc != 0:
                    self.say("gatewayd exited with status %r" % rc)
            self.gw.close()
        if self.broker is not None:
            self.broker.stop()
        return rc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gatewayd", default="build/gatewayd")
    p.add_argument("--config", default="config/gateway.ini")
    p.add_argument("--seconds", type=float, default=0,
                   help="stop after this long (0: at Ctrl-C)")
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
