#!/usr/bin/python3
"""A face-recognition terminal with a card reader, as a gate would have:
it sends face and card requests in the native format of DESIGN §4.1 and
waits for the gateway's command.  It recognises nobody itself: the caller
says who was "seen".  Usable as a library and from the command line:

    face_terminal.py --port 1883 --gate gate-north face P0001 --score 0.93
    face_terminal.py --port 1883 --gate gate-south card 0012345678
"""

import argparse
import itertools
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class FaceTerminal:
    """One terminal on one gate, connected to the broker as that device."""

    _ids = itertools.count(1)

    def __init__(self, port, gate, site="jinding-5", host=harness.LOCALHOST,
                 client_id=None, announce=True, auth=None):
        """announce: publish this gate's status (retained online, and a
        will of offline); a one-shot request from the command line next
        to a running terminal must not.  auth: (user, password), the
        gate's identity on a closed broker."""
        self.site = site
        self.announce = announce
        self.gate = gate
        self.base = "cg/%s/gate/%s" % (site, gate)
        self.cmd_topic = self.base + "/cmd"
        self.status_topic = self.base + "/status"
        self.host, self.port = host, port
        self.commands = []          # every command received, in order
        self.cond = threading.Condition()
        self._subscribed = threading.Event()
        self._prefix = "req-%s-%s-" % (gate, uuid.uuid4().hex[:6])
        self.client = harness.paho_client(
            client_id or "face-%s-%d-%d" % (gate, os.getpid(),
                                            next(FaceTerminal._ids)),
            auth=auth)
        # A terminal that loses power leaves "offline" behind (§4.1).
        if announce:
            self.client.will_set(self.status_topic, "offline", qos=1,
                                 retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # -- connection ------------------------------------------------------

    def connect(self, timeout=10):
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            raise TimeoutError("%s: no subscription to %s"
                               % (self.gate, self.cmd_topic))
        return self

    def _on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            return
        # Again after every reconnect: a clean session forgets it.
        client.subscribe(self.cmd_topic, qos=1)
        if self.announce:
            client.publish(self.status_topic, "online", qos=1, retain=True)

    def _on_subscribe(self, client, userdata, mid, granted_qos):
        self._subscribed.set()

    def _on_message(self, client, userdata, msg):
        try:
            cmd = json.loads(msg.payload.decode("utf-8"))
        except ValueError:
            cmd = {"unreadable": bytes(msg.payload)}
        with self.cond:
            self.commands.append(cmd)
            self.cond.notify_all()

    def close(self, graceful=True):
        """graceful: say offline first; else drop the link so the broker
        publishes the will, as when the terminal loses power."""
        if graceful:
            if self.announce:
                self.client.publish(self.status_topic, "offline", qos=1,
                                    retain=True).wait_for_publish(5)
            self.client.disconnect()
            self.client.loop_stop()
            return
        # The loop first, or it would reconnect; then the socket goes
        # without a DISCONNECT, which makes the broker publish the will.
        self.client.loop_stop()
        sock = self.client.socket()
        if sock is not None:
            sock.close()

    # -- requests --------------------------------------------------------

    def new_id(self):
        return self._prefix + str(next(FaceTerminal._ids))

    def face(self, person, score=0.93, direction="in", ts=None,
             request=None):
        """A face seen at the gate; returns the request id."""
        request = request or self.new_id()
        body = {"id": request, "person": person, "score": score,
                "direction": direction,
                "ts": int(time.time() * 1000) if ts is None else ts}
        self.send("face", json.dumps(body, ensure_ascii=False))
        return request

    def card(self, card, direction="in", request=None):
        """A card held to the reader; returns the request id."""
        request = request or self.new_id()
        body = {"id": request, "card": card, "direction": direction}
        self.send("card", json.dumps(body, ensure_ascii=False))
        return request

    def send(self, subtopic, payload, timeout=5):
        """Publish anything (bytes or str) at QoS 1, and wait for PUBACK."""
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        info = self.client.publish("%s/%s" % (self.base, subtopic), payload,
                                   qos=1)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise TimeoutError("%s: publish to %s not acknowledged"
                               % (self.gate, subtopic))

    # -- answers ---------------------------------------------------------

    def wait_cmd(self, request, timeout=10):
        """The command that answers this request id."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for cmd in self.commands:
                    if cmd.get("request") == request:
                        return cmd
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%s: no command for %s within %.1f s;"
                                       " got %r" % (self.gate, request,
                                                    timeout,
                                                    self.commands[-5:]))
                self.cond.wait(left)

    def wait_cmd_where(self, pred, timeout=10):
        """The first command (since connecting) for which pred holds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for cmd in self.commands:
                    if pred(cmd):
                        return cmd
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%s: no such command within %.1f s;"
                                       " got %r" % (self.gate, timeout,
                                                    self.commands[-5:]))
                self.cond.wait(left)

    def cmds_for(self, request):
        with self.cond:
            return [c for c in self.commands if c.get("request") == request]

    def all_cmds(self):
        with self.cond:
            return list(self.commands)

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default=harness.LOCALHOST)
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--site", default="jinding-5")
    p.add_argument("--gate", default="gate-north")
    p.add_argument("--direction", choices=("in", "out"), default="in")
    p.add_argument("--timeout", type=float, default=5)
    sub = p.add_subparsers(dest="what", required=True)
    face = sub.add_parser("face", help="a face seen at the gate")
    face.add_argument("person")
    face.add_argument("--score", type=float, default=0.93)
    card = sub.add_parser("card", help="a card held to the reader")
    card.add_argument("card")
    args = p.parse_args(argv)

    term = FaceTerminal(args.port, args.gate, site=args.site, host=args.host,
                        announce=False)
    term.connect()
    try:
        if args.what == "face":
            request = term.face(args.person, score=args.score,
                                direction=args.direction)
        else:
            request = term.card(args.card, direction=args.direction)
        try:
            cmd = term.wait_cmd(request, args.timeout)
        except TimeoutError as e:
            print(e, file=sys.stderr)
            return 1
        print(json.dumps(cmd, ensure_ascii=False))
        return 0
    finally:
        term.close()


if __name__ == "__main__":
    sys.exit(main())
