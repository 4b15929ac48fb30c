"""Cameras report what they see (DESIGN §4.1 camera/<id>/event, §5
Cameras; issue 9): a native camera's events and Frigate's tracked objects
on frigate/events become camera records in the journal and messages on
cg/<site>/events/camera — one per event, however many messages Frigate
sends about it, from the first whose score reaches its type's min_score;
labels the map does not name and objects outside a mapped zone are
nothing; a second alert of a type from the same camera within its
cool-down is journaled with "suppressed": true; bad payloads are
refused and the gateway goes on; a camera offline past its grace is an
alert, a reboot is not.

The Frigate messages (tests/sim/camera_sim.py) follow the example of
Frigate's MQTT documentation, https://docs.frigate.video/integrations/mqtt/
(frigate/events)."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "sim"))
from conftest import GATES, GATEWAY_TEMPLATE  # noqa: E402
from camera_sim import Frigate, NativeCamera  # noqa: E402

CAMERA_DEVICES = """
[alert falling_object]
cooldown_s = 60

[alert intrusion]
min_score = 0.6

[alert device_offline]
grace_s = 2

[device cam-5-east]
driver = camera

[device cam-6-west]
driver = camera

[device nvr]
driver = frigate
map = bicycle@elevator:ebike_in_elevator, person@roof:intrusion
url = http://10.0.0.9:5000
"""


@pytest.fixture
def cams(compound):
    c = compound
    c.template = GATEWAY_TEMPLATE + CAMERA_DEVICES
    # Every device says it is online (retained) before the gateway
    # starts: one not online within grace_s (2 s) of start is alerted.
    c.broker.start()
    c.native = {}
    for camera in ("cam-5-east", "cam-6-west"):
        native(c, camera).status("online")
    for gate in GATES:
        c.terminal(gate)
    c.start()
    c.events = c.recorder("cg/%s/events/camera" % c.site)
    c.nvr = Frigate(c.broker.port).connect()
    yield c
    for cam in c.native.values():
        cam.close()
    c.nvr.close()


def native(c, camera):
    if camera not in c.native:
        c.native[camera] = NativeCamera(c.broker.port, camera,
                                        site=c.site).connect()
    return c.native[camera]


def camera_rows(c, device=None, request=None):
    """Rows of kind camera, in journal order."""
    where, params = "kind = 'camera'", []
    if device is not None:
        where += " AND device = ?"
        params.append(device)
    if request is not None:
        where += " AND request = ?"
        params.append(request)
    return c.journal.rows(where, tuple(params))


def wait_event(c, device, request, decision=None):
    """The one camera record of an event, once journaled and published:
    the row, and the message on events/camera."""
    rows = c.journal.wait_rows(
        "kind = 'camera' AND device = ? AND request = ?"
        + (" AND decision = ?" if decision else ""),
        (device, request) + ((decision,) if decision else ()),
        what="the camera record of %s on %s" % (request, device))
    message = c.events.wait(
        lambda m: m.json().get("request") == request and
        m.json().get("device") == device and
        m.json().get("decision") == rows[-1]["decision"], 10,
        "the record of %s on events/camera" % request)
    return rows[-1], message.json()


def published(c, request):
    return [m.json() for m in c.events.snapshot()
            if m.json().get("request") == request]


def test_native_events(cams):
    c = cams
    east, west = native(c, "cam-5-east"), native(c, "cam-6-west")

    request = east.event("falling_object", 0.88,
                         snapshot="http://10.0.0.7/s/1.jpg")
    row, msg = wait_event(c, "cam-5-east", request)
    assert (row["kind"], row["decision"], row["request"]) == (
        "camera", "falling_object", request)
    body = row["body"]
    assert body["score"] == 0.88
    assert (body["severity"], body["suppressed"], body["alert"]) == (
        "urgent", False, "falling_object")
    # [privacy] keep_snapshots is no by default: the link is not kept.
    assert "snapshot" not in body
    assert msg == body

    # The same id again is a replay: no second event.
    east.send({"id": request, "type": "falling_object", "score": 0.88})
    dup = c.journal.wait_rows("device = 'cam-5-east' AND decision = "
                              "'duplicate'", what="the duplicate")
    assert dup[0]["request"] == request
    assert len(camera_rows(c, "cam-5-east", request)) == 2  # + duplicate

    # Below intrusion's min_score (0.6): not kept; at it: kept.
    low = east.event("intrusion", 0.55)
    ok = east.event("intrusion", 0.6)
    wait_event(c, "cam-5-east", ok)
    assert camera_rows(c, request=low) == []
    assert published(c, low) == []

    # Within falling_object's cool-down (60 s) on the same camera:
    # journaled and published, marked suppressed, no alert...
    again = east.event("falling_object", 0.93)
    row, msg = wait_event(c, "cam-5-east", again)
    assert (row["body"]["suppressed"], "alert" in row["body"]) == (
        True, False)
    assert msg["suppressed"] is True
    # ...but on another camera it is an alert of its own.
    other = west.event("falling_object", 0.91)
    row, _ = wait_event(c, "cam-6-west", other)
    assert (row["body"]["suppressed"], row["body"]["alert"]) == (
        False, "falling_object")


def test_frigate_sequence_is_one_event(cams):
    c = cams
    obj = c.nvr.track("lift_1", "bicycle", 0.81, zones=["elevator"])
    obj.update(score=0.86, has_snapshot=True)
    obj.update(current_zones=["elevator", "door"])
    obj.update(score=0.9)
    obj.end()
    row, msg = wait_event(c, "nvr/lift_1", obj.id)
    assert (row["decision"], row["body"]["score"], row["body"]["severity"],
            row["body"]["suppressed"], row["body"]["alert"]) == (
        "ebike_in_elevator", 0.81, "major", False, "ebike_in_elevator")
    assert msg["id"] == row["body"]["id"]

    # A later event is the barrier after which anything more about the
    # first would have been journaled and published.
    mark = c.nvr.track("lift_2", "bicycle", 0.8, zones=["elevator"])
    wait_event(c, "nvr/lift_2", mark.id)
    assert len(camera_rows(c, request=obj.id)) == 1
    assert len(published(c, obj.id)) == 1
    # And none of it was a duplicate or a rejection.
    assert c.journal.rows("decision IN ('duplicate', 'rejected')") == []


def test_frigate_labels_zones_scores(cams):
    c = cams
    # A label the map does not name, whatever its score.
    car = c.nvr.track("gate_cam", "car", 0.99, zones=["elevator"])
    car.end()
    # person@roof: a person in the yard is nothing...
    walker = c.nvr.track("roof_cam", "person", 0.9, zones=["yard"])
    walker.update(score=0.95)
    # ...until they enter the roof.
    walker.update(current_zones=["roof"])
    row, _ = wait_event(c, "nvr/roof_cam", walker.id)
    assert (row["decision"], row["body"]["score"]) == ("intrusion", 0.95)
    walker.end()

    # A score under intrusion's min_score (0.6) that rises later: the
    # event opens at the first message that reaches it, once.
    climber = c.nvr.track("roof_cam", "person", 0.4, zones=["roof"])
    climber.update(score=0.5)
    climber.update(score=0.75)
    climber.update(score=0.8)
    climber.end()
    row, _ = wait_event(c, "nvr/roof_cam", climber.id)
    assert row["body"]["score"] == 0.75
    # Within intrusion's cool-down (300 s) on roof_cam: held back.
    assert row["body"]["suppressed"] is True

    mark = c.nvr.track("lift_9", "bicycle", 0.8, zones=["elevator"])
    wait_event(c, "nvr/lift_9", mark.id)
    assert camera_rows(c, request=car.id) == []
    assert len(camera_rows(c, request=climber.id)) == 1
    assert published(c, car.id) == []


def test_frigate_cooldown_per_camera(cams):
    c = cams
    first = c.nvr.track("lift_1", "bicycle", 0.8, zones=["elevator"])
    second = c.nvr.track("lift_1", "bicycle", 0.8, zones=["elevator"])
    other = c.nvr.track("lift_2", "bicycle", 0.8, zones=["elevator"])
    rows = [wait_event(c, "nvr/lift_1", first.id)[0],
            wait_event(c, "nvr/lift_1", second.id)[0],
            wait_event(c, "nvr/lift_2", other.id)[0]]
    assert [r["body"]["suppressed"] for r in rows] == [False, True, False]
    assert [r["body"].get("alert") for r in rows] == [
        "ebike_in_elevator", None, "ebike_in_elevator"]


def test_restart_keeps_events_and_cooldowns(cams):
    """An event opened before a restart is not opened again by the rest
    of its messages, and a cool-down that began before it still runs
    (both from the journal's camera records)."""
    c = cams
    obj = c.nvr.track("lift_1", "bicycle", 0.8, zones=["elevator"])
    wait_event(c, "nvr/lift_1", obj.id)
    east = native(c, "cam-5-east")
    wait_event(c, "cam-5-east", east.event("falling_object", 0.9))
    c.nvr.close()
    c.restart()
    again = east.event("falling_object", 0.9)
    row, _ = wait_event(c, "cam-5-east", again)
    assert (row["body"]["suppressed"], "alert" in row["body"]) == (
        True, False)
    c.nvr = Frigate(c.broker.port).connect()
    c.nvr.publish_event({"type": "update", "before": obj.state,
                         "after": dict(obj.state, score=0.95,
                                       top_score=0.95)})
    obj.nvr = c.nvr
    obj.end()
    mark = c.nvr.track("lift_2", "bicycle", 0.8, zones=["elevator"])
    wait_event(c, "nvr/lift_2", mark.id)
    assert len(camera_rows(c, request=obj.id)) == 1


# Payloads a camera or a broken Frigate could send.
BAD_NATIVE = [
    b"not json",
    b"",
    b'{"type":"smoke","score":0.9}',                   # no id
    b'{"id":"bad-type","type":"ufo","score":0.9}',
    b'{"id":"bad-score","type":"smoke","score":"high"}',
    b'{"id":"bad-utf8","type":"smoke\xff","score":0.9}',
]
BAD_FRIGATE = [
    b"{",
    b'{"type":"new"}',                                 # no after
    b'{"type":"new","after":{"camera":"c","label":"person","score":1}}',
    b'{"type":"begin","after":{"id":"x-1","camera":"c","label":"person",'
    b'"score":0.9}}',
    b'{"type":"new","after":{"id":"x-2","camera":"a/b","label":"person",'
    b'"score":0.9}}',
]


def test_malformed_payloads_survived(cams):
    c = cams
    east = native(c, "cam-5-east")
    for payload in BAD_NATIVE:
        east.send(payload)
    east.send(json.dumps({"id": "bad-big", "type": "smoke", "score": 0.9,
                          "pad": "x" * 5000}))
    for payload in BAD_FRIGATE:
        c.nvr.publish("frigate/events", payload)
    c.nvr.publish("frigate/events", json.dumps(
        {"type": "new", "after": {"id": "x-3", "pad": "x" * 5000}}))

    # Still answering: a good event from each is journaled after them.
    request = east.event("smoke", 0.9)
    wait_event(c, "cam-5-east", request)
    obj = c.nvr.track("lift_1", "bicycle", 0.8, zones=["elevator"])
    wait_event(c, "nvr/lift_1", obj.id)
    assert c.gw.running()

    # The first refusal of the minute is journaled with its reason (the
    # rest of it, counted, when the minute ends).
    rejected = c.journal.rows("decision = 'rejected'")
    assert [(r["kind"], r["device"]) for r in rejected] == [
        ("camera", "cam-5-east"), ("camera", "nvr")], rejected
    assert rejected[0]["reason"].startswith("malformed json")
    assert rejected[1]["reason"].startswith("malformed json")
    # Nothing bad became an event.
    decisions = {r["decision"] for r in camera_rows(c)}
    assert decisions == {"rejected", "smoke", "ebike_in_elevator"}


def test_offline_grace(cams):
    c = cams
    east, west = native(c, "cam-5-east"), native(c, "cam-6-west")
    east.status("online")
    west.status("online")
    c.journal.wait_rows("kind = 'device' AND decision = 'online'", count=2,
                        what="both cameras online")
    # A reboot: cam-6-west back at once.  Then cam-5-east goes for good.
    west.status("offline")
    west.status("online")
    east.status("offline")
    alert = c.journal.wait_rows(
        "kind = 'device' AND decision = 'offline_alert'", timeout=15,
        what="cam-5-east's offline alert")
    assert [(r["device"], r["body"]["alert"], r["body"]["severity"])
            for r in alert] == [("cam-5-east", "device_offline", "major")]
    assert alert[0]["reason"] == "offline for more than 2 s"
    # cam-6-west went offline before cam-5-east: had it stayed, its alert
    # would have come first.
    assert [r["decision"] for r in c.journal.rows(
        "kind = 'device' AND device = 'cam-6-west'")] == [
        "online", "offline", "online"]
    # Published like every record.
    rec = c.recorder("cg/%s/events/device" % c.site)
    east.status("online")
    east.status("offline")
    msg = rec.wait(lambda m: m.json().get("decision") == "offline_alert",
                   15, "the second offline alert on events/device")
    # Within its cool-down (300 s by default): journaled, held back.
    assert (msg.json()["device"], msg.json()["suppressed"]) == (
        "cam-5-east", True)
    assert "alert" not in msg.json()


def test_snapshots_with_privacy(compound):
    c = compound
    c.template = GATEWAY_TEMPLATE + CAMERA_DEVICES
    c.start(overrides={("privacy", "keep_snapshots"): "yes"})
    cam = NativeCamera(c.broker.port, "cam-5-east", site=c.site).connect()
    nvr = Frigate(c.broker.port).connect()
    try:
        request = cam.event("smoke", 0.9, snapshot="http://10.0.0.7/s/2.jpg")
        row = c.journal.wait_rows("request = ?", (request,))[0]
        assert row["body"]["snapshot"] == "http://10.0.0.7/s/2.jpg"
        # Frigate's link, from its url: the object is kept at its first
        # message to reach min_score, by when Frigate has a snapshot.
        obj = nvr.track("roof_cam", "person", 0.4, zones=["roof"])
        obj.update(score=0.7, has_snapshot=True)
        row = c.journal.wait_rows("request = ?", (obj.id,))[0]
        assert row["body"]["snapshot"] == (
            "http://10.0.0.9:5000/api/events/%s/snapshot.jpg" % obj.id)
    finally:
        cam.close()
        nvr.close()
