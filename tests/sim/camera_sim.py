#!/usr/bin/python3
"""Cameras that report what they see: a camera with analytics of its own
speaking the native format of DESIGN §4.1 (events on
cg/<site>/camera/<id>/event, its status on .../status), and a Frigate NVR
publishing its tracked objects on frigate/events as Frigate does.  They
see nothing themselves: the caller says what was "seen".

    camera_sim.py --port 1883 native cam-5-east falling_object --score 0.9
    camera_sim.py --port 1883 frigate lift_1 bicycle --zones elevator

Frigate's messages follow the example of its MQTT documentation,
https://docs.frigate.video/integrations/mqtt/ (frigate/events): every
change of a tracked object is {"type": "new"|"update"|"end", "before":
{...}, "after": {...}}, the object before and after the change, with the
same id from new to end.
"""

import argparse
import copy
import itertools
import json
import os
import random
import string
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


class _Publisher:
    _ids = itertools.count(1)

    def __init__(self, port, name, host=harness.LOCALHOST, will=None,
                 auth=None):
        """auth: (user, password), the device's identity on a closed
        broker."""
        self.client = harness.paho_client(
            "%s-%d-%d" % (name, os.getpid(), next(_Publisher._ids)),
            auth=auth)
        if will is not None:
            self.client.will_set(will, "offline", qos=1, retain=True)
        self.host, self.port = host, port

    def connect(self):
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def publish(self, topic, payload, retain=False, timeout=5):
        """Anything (bytes, str or a dict as JSON) at QoS 1, acknowledged."""
        if isinstance(payload, dict):
            payload = json.dumps(payload, ensure_ascii=False)
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise TimeoutError("publish to %s not acknowledged" % topic)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class NativeCamera(_Publisher):
    """One camera with its own analytics (driver = camera)."""

    def __init__(self, port, camera, site="jinding-5", host=harness.LOCALHOST,
                 auth=None):
        self.base = "cg/%s/camera/%s" % (site, camera)
        super().__init__(port, "cam-" + camera, host,
                         will=self.base + "/status", auth=auth)
        self.camera = camera

    def event(self, type, score=0.9, request=None, snapshot=None, ts=None):
        """An event seen; returns its id."""
        request = request or "%s-e%d" % (self.camera, next(_Publisher._ids))
        body = {"id": request, "type": type, "score": score,
                "ts": int(time.time() * 1000) if ts is None else ts}
        if snapshot is not None:
            body["snapshot"] = snapshot
        self.send(body)
        return request

    def send(self, payload):
        self.publish(self.base + "/event", payload)

    def status(self, state):
        """online / offline, retained, as a camera announces itself."""
        self.publish(self.base + "/status", state, retain=True)


def frigate_id():
    """An id as Frigate makes them: "1607123955.475377-mxklsc"."""
    return "%.6f-%s" % (time.time(), "".join(
        random.choice(string.ascii_lowercase + string.digits)
        for _ in range(6)))


# The tracked object of Frigate's documented example, every member of it.
EXAMPLE_OBJECT = {
    "id": "1607123955.475377-mxklsc",
    "camera": "front_door",
    "frame_time": 1607123961.837752,
    "snapshot_time": 1607123961.837752,
    "label": "person",
    "sub_label": None,
    "top_score": 0.958984375,
    "false_positive": False,
    "start_time": 1607123955.475377,
    "end_time": None,
    "score": 0.7890625,
    "box": [424, 500, 536, 712],
    "area": 23744,
    "ratio": 2.113207,
    "region": [264, 450, 667, 853],
    "current_zones": ["driveway"],
    "entered_zones": ["yard", "driveway"],
    "thumbnail": None,
    "has_snapshot": False,
    "has_clip": False,
    "stationary": False,
    "motionless_count": 0,
    "position_changes": 2,
    "attributes": {"face": 0.64},
    "current_attributes": [],
}


class FrigateObject:
    """One object Frigate tracks, from new to end: each call publishes the
    message Frigate would, with the object before and after the change."""

    def __init__(self, nvr, camera, label, score, zones=(), request=None):
        self.nvr = nvr
        self.state = copy.deepcopy(EXAMPLE_OBJECT)
        now = time.time()
        self.state.update(id=request or frigate_id(), camera=camera,
                          label=label, score=score, top_score=score,
                          current_zones=list(zones),
                          entered_zones=list(zones), start_time=now,
                          frame_time=now, snapshot_time=now,
                          has_snapshot=False)
        self.id = self.state["id"]
        self.sent_new = False

    def _send(self, type, **changes):
        before = copy.deepcopy(self.state)
        for key, value in changes.items():
            self.state[key] = value
        if "score" in changes:
            self.state["top_score"] = max(self.state["top_score"],
                                          changes["score"])
        for zone in self.state["current_zones"]:
            if zone not in self.state["entered_zones"]:
                self.state["entered_zones"].append(zone)
        self.state["frame_time"] = time.time()
        self.nvr.publish_event({"type": type, "before": before,
                                "after": copy.deepcopy(self.state)})
        return self

    def new(self):
        self.sent_new = True
        return self._send("new")

    def update(self, **changes):
        """score=..., current_zones=[...], has_snapshot=True, ..."""
        return self._send("update", **changes)

    def end(self):
        return self._send("end", end_time=time.time())


class Frigate(_Publisher):
    """A Frigate NVR on the broker (driver = frigate reads it)."""

    def __init__(self, port, topic="frigate/events", host=harness.LOCALHOST,
                 auth=None):
        super().__init__(port, "frigate", host, auth=auth)
        self.topic = topic

    def track(self, camera, label, score=0.8, zones=(), request=None):
        """An object first seen: its "new" message sent."""
        return FrigateObject(self, camera, label, score, zones,
                             request).new()

    def publish_event(self, message):
        self.publish(self.topic, message)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default=harness.LOCALHOST)
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--site", default="jinding-5")
    sub = p.add_subparsers(dest="what", required=True)
    n = sub.add_parser("native", help="one event of a native camera")
    n.add_argument("camera")
    n.add_argument("type")
    n.add_argument("--score", type=float, default=0.9)
    f = sub.add_parser("frigate", help="an object tracked from new to end")
    f.add_argument("camera")
    f.add_argument("label")
    f.add_argument("--score", type=float, default=0.8)
    f.add_argument("--zones", default="", help="comma-separated")
    f.add_argument("--topic", default="frigate/events")
    args = p.parse_args(argv)

    if args.what == "native":
        cam = NativeCamera(args.port, args.camera, site=args.site,
                           host=args.host).connect()
        try:
            print(cam.event(args.type, args.score))
        finally:
            cam.close()
        return 0
    nvr = Frigate(args.port, args.topic, host=args.host).connect()
    try:
        zones = [z for z in args.zones.split(",") if z]
        obj = nvr.track(args.camera, args.label, args.score, zones)
        obj.update(has_snapshot=True)
        obj.end()
        print(obj.id)
    finally:
        nvr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
