#!/usr/bin/python3
"""What staff tools see of incidents on MQTT (DESIGN §4.1, §4.7): they
acknowledge and resolve on cg/<site>/incident/<n>/ack and .../resolve
with {"id":...,"operator":...,"note":...}, get the answer on
.../result as {"request":...,"ok":true} or with an "error", and read the
retained cg/<site>/incident/<n>/state.

    incident_staff.py --port 1883 ack 3 --operator 王师傅
    incident_staff.py --port 1883 state 3
"""

import argparse
import itertools
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

_ids = itertools.count(1)


def _json(message):
    try:
        return message.json()
    except (ValueError, AttributeError):
        return None


class IncidentStaff:
    """A staff tool: requests, their answers, and every state published
    (live or retained) from when it was made."""

    def __init__(self, port, site="jinding-5", host=harness.LOCALHOST):
        self.port, self.host = port, host
        self.prefix = "cg/%s/incident" % site
        self.rec = harness.Recorder(port, [self.prefix + "/+/result",
                                           self.prefix + "/+/state"],
                                    host=host, name="incident-staff")
        self.rec.start()
        self.client = harness.paho_client(
            "incident-staff-%d-%d" % (os.getpid(), next(_ids)))
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def topic(self, n, leaf):
        return "%s/%s/%s" % (self.prefix, n, leaf)

    def send(self, n, what, body):
        """A request on incident/<n>/<what> (a dict, or raw text/bytes); a
        position in the answers from before it."""
        mark = self.rec.mark()
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False)
        info = self.client.publish(self.topic(n, what), body, qos=1)
        info.wait_for_publish(5)
        if not info.is_published():
            raise TimeoutError("publish to %s not acknowledged"
                               % self.topic(n, what))
        return mark

    def request(self, n, what, request=None, operator="王师傅", note=None):
        request = request or "%s-%s-%d" % (what, n, next(_ids))
        body = {"id": request}
        if operator is not None:
            body["operator"] = operator
        if note is not None:
            body["note"] = note
        return request, self.send(n, what, body)

    def wait_answer(self, n, request, since=0, timeout=10):
        """The answer to request on incident/<n>/result (its JSON)."""
        topic = self.topic(n, "result")
        return self.rec.wait(
            lambda m: m.topic == topic and
            (_json(m) or {}).get("request") == request, timeout,
            "the answer to %s on %s" % (request, topic), since=since).json()

    def answers(self, n, request, since=0):
        topic = self.topic(n, "result")
        return [m.json() for m in self.rec.snapshot(since)
                if m.topic == topic and
                (_json(m) or {}).get("request") == request]

    def ack(self, n, operator="王师傅", note=None, timeout=10):
        """incident/<n>/ack and its answer: (request id, answer)."""
        request, mark = self.request(n, "ack", operator=operator, note=note)
        return request, self.wait_answer(n, request, mark, timeout)

    def resolve(self, n, operator="王师傅", note=None, timeout=10):
        request, mark = self.request(n, "resolve", operator=operator,
                                     note=note)
        return request, self.wait_answer(n, request, mark, timeout)

    def states(self, n, since=0):
        topic = self.topic(n, "state")
        return [m.json() for m in self.rec.snapshot(since)
                if m.topic == topic and m.payload]

    def wait_state(self, n, predicate, timeout=10, since=0, what=None):
        """The first state of incident n from since that satisfies
        predicate (dict -> bool)."""
        topic = self.topic(n, "state")
        return self.rec.wait(
            lambda m: m.topic == topic and m.payload and
            predicate(_json(m) or {}), timeout,
            what or "a state of incident %s" % n, since=since).json()

    def retained(self, n, timeout=5):
        """The retained state of incident n as a new subscriber sees it
        (None when nothing is retained)."""
        return harness.retained(self.port, self.topic(n, "state"),
                                self.host, timeout)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()
        self.rec.close()



def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--site", default="jinding-5")
    p.add_argument("what", choices=("ack", "resolve", "state"))
    p.add_argument("n", type=int)
    p.add_argument("--operator", default="王师傅")
    p.add_argument("--note")
    args = p.parse_args(argv)
    staff = IncidentStaff(args.port, site=args.site)
    try:
        if args.what == "state":
            print(json.dumps(staff.retained(args.n), ensure_ascii=False))
        else:
            _, answer = getattr(staff, args.what)(
                args.n, operator=args.operator, note=args.note)
            print(json.dumps(answer, ensure_ascii=False))
    finally:
        staff.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
