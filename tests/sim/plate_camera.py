#!/usr/bin/python3
"""A licence-plate camera at a barrier: it publishes plate reads in the
native format of DESIGN §4.1 on cg/<site>/lpr/<camera>/plate and watches
the commands of the barrier it stands at (an MQTT barrier's
cg/<site>/barrier/<barrier>/cmd).  It reads nothing itself: the caller
says which plate was "seen", spelt as cameras really send them.

    plate_camera.py --port 1883 --camera lpr-south-in \\
        --barrier barrier-south-in 吉A12345
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from face_terminal import FaceTerminal  # noqa: E402


class PlateCamera(FaceTerminal):
    """One camera; answers are the barrier's commands (wait_cmd)."""

    def __init__(self, port, camera, barrier, site="jinding-5",
                 host=harness.LOCALHOST, auth=None):
        super().__init__(port, camera, site=site, host=host,
                         client_id="lpr-%s-%d" % (camera, os.getpid()),
                         announce=False, auth=auth)
        self.base = "cg/%s/lpr/%s" % (site, camera)
        self.cmd_topic = "cg/%s/barrier/%s/cmd" % (site, barrier)

    def read(self, plate, confidence=0.97, direction=None, ts=None,
             request=None, color="blue"):
        """A plate read; returns the request id."""
        request = request or self.new_id()
        body = {"id": request, "plate": plate, "color": color,
                "confidence": confidence,
                "ts": int(time.time() * 1000) if ts is None else ts}
        if direction is not None:
            body["direction"] = direction
        self.send("plate", json.dumps(body, ensure_ascii=False))
        return request


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default=harness.LOCALHOST)
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--site", default="jinding-5")
    p.add_argument("--camera", required=True)
    p.add_argument("--barrier", required=True)
    p.add_argument("--direction", choices=("in", "out"))
    p.add_argument("--confidence", type=float, default=0.97)
    p.add_argument("--timeout", type=float, default=5)
    p.add_argument("plate")
    args = p.parse_args(argv)

    cam = PlateCamera(args.port, args.camera, args.barrier, site=args.site,
                      host=args.host).connect()
    try:
        request = cam.read(args.plate, confidence=args.confidence,
                           direction=args.direction)
        try:
            cmd = cam.wait_cmd(request, args.timeout)
        except TimeoutError as e:
            print(e, file=sys.stderr)
            return 1
        print(json.dumps(cmd, ensure_ascii=False))
        return 0
    finally:
        cam.close()


if __name__ == "__main__":
    sys.exit(main())
