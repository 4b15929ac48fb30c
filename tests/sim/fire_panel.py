#!/usr/bin/python3
"""The fire side of a compound on MQTT (DESIGN §4.1, §5 Fire alarm): a
fire panel's interface that publishes its alarm state on
cg/<site>/fire/<id>/alarm, and the staff tool that resets the alarm or
runs a fire test on cg/<site>/fire/reset and cg/<site>/fire/test and
reads the answers on cg/<site>/fire/result.  A panel wired to a relay
board's discrete input is relay_board.py's `input UNIT N 0|1`.

    fire_panel.py --port 1883 alarm fire-net
    fire_panel.py --port 1883 normal fire-net
    fire_panel.py --port 1883 reset --operator 王师傅
    fire_panel.py --port 1883 test --operator 王师傅 --seconds 10
"""

import argparse
import itertools
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

_ids = itertools.count(1)


def _client(name, port, host):
    c = harness.paho_client("%s-%d-%d" % (name, os.getpid(), next(_ids)))
    c.connect(host, port, keepalive=30)
    c.loop_start()
    return c


def _publish(client, topic, payload, timeout=5):
    """QoS 1, and wait for the broker's PUBACK."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    info = client.publish(topic, payload, qos=1)
    info.wait_for_publish(timeout)
    if not info.is_published():
        raise TimeoutError("publish to %s not acknowledged" % topic)


class FireNet:
    """A fire panel's network interface (driver fire_mqtt on the gateway's
    side), or any other client publishing on a fire device's topic."""

    def __init__(self, port, device, site="jinding-5",
                 host=harness.LOCALHOST):
        self.device = device
        self.topic = "cg/%s/fire/%s/alarm" % (site, device)
        self.client = _client("fire-" + device, port, host)

    def send(self, payload):
        """Anything (a dict as JSON, or raw bytes or text) on the topic."""
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        _publish(self.client, self.topic, payload)

    def alarm(self):
        self.send({"state": "alarm"})

    def normal(self):
        self.send({"state": "normal"})

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class FireStaff:
    """The staff tool: fire/reset and fire/test requests, each with an id,
    answered on fire/result as {"request","ok"[,"error"]}."""

    def __init__(self, port, site="jinding-5", host=harness.LOCALHOST):
        self.prefix = "cg/%s/fire" % site
        self.results = harness.Recorder(port, [self.prefix + "/result"],
                                        host=host, name="fire-staff")
        self.results.start()
        self.client = _client("fire-staff", port, host)

    def send(self, what, body):
        """A request on fire/<what> (a dict, or raw bytes or text); a
        position in the answers from before it."""
        mark = self.results.mark()
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False)
        _publish(self.client, "%s/%s" % (self.prefix, what), body)
        return mark

    def reset(self, request, operator="王师傅"):
        body = {"id": request}
        if operator is not None:
            body["operator"] = operator
        return self.send("reset", body)

    def test(self, request, seconds, operator="王师傅"):
        body = {"id": request, "seconds": seconds}
        if operator is not None:
            body["operator"] = operator
        return self.send("test", body)

    def wait_answer(self, request, since=0, timeout=10):
        """The answer to request on fire/result (its JSON)."""
        return self.results.wait(
            lambda m: _request_of(m) == request, timeout,
            "the answer to %s on %s/result" % (request, self.prefix),
            since=since).json()

    def answers(self, request, since=0):
        return [m.json() for m in self.results.snapshot(since)
                if _request_of(m) == request]

    def ask_reset(self, request, operator="王师傅", timeout=10):
        return self.wait_answer(request, self.reset(request, operator),
                                timeout)

    def ask_test(self, request, seconds, operator="王师傅", timeout=10):
        return self.wait_answer(request,
                                self.test(request, seconds, operator),
                                timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()
        self.results.close()


def _request_of(message):
    try:
        return message.json().get("request")
    except (ValueError, AttributeError):
        return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default=harness.LOCALHOST)
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--site", default="jinding-5")
    p.add_argument("--timeout", type=float, default=5)
    sub = p.add_subparsers(dest="what", required=True)
    for state in ("alarm", "normal"):
        s = sub.add_parser(state, help="the panel's state: " + state)
        s.add_argument("device")
    for what in ("reset", "test"):
        s = sub.add_parser(what, help="a fire %s by staff" % what)
        s.add_argument("--id", default="%s-%d" % (what[0], os.getpid()))
        s.add_argument("--operator", default="王师傅")
        if what == "test":
            s.add_argument("--seconds", type=int, default=10)
    args = p.parse_args(argv)

    if args.what in ("alarm", "normal"):
        panel = FireNet(args.port, args.device, args.site, args.host)
        try:
            getattr(panel, args.what)()
        finally:
            panel.close()
        return 0
    staff = FireStaff(args.port, args.site, args.host)
    try:
        if args.what == "reset":
            mark = staff.reset(args.id, args.operator)
        else:
            mark = staff.test(args.id, args.seconds, args.operator)
        try:
            answer = staff.wait_answer(args.id, mark, args.timeout)
        except TimeoutError as e:
            print(e, file=sys.stderr)
            return 1
        print(json.dumps(answer, ensure_ascii=False))
        return 0 if answer.get("ok") else 1
    finally:
        staff.close()


if __name__ == "__main__":
    sys.exit(main())
