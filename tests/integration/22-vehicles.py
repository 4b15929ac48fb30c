"""Vehicles at MQTT barriers (DESIGN §5): plate cameras' reads decided
and answered on the barrier's command topic, journaled as `vehicle`
records and published on events/vehicle — residents' plans, visitors'
cars with the entries they share with the face gates, the deny list,
plates as cameras really spell them, fuzzy matches, one-way lanes, a full
lot, repeats, occupancy and overstay across restarts."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "sim"))
from conftest import GATEWAY_TEMPLATE  # noqa: E402
from plate_camera import PlateCamera  # noqa: E402

VEHICLE_DEVICES = """
[parking]
capacity = 3
repeat_s = 30

[device lpr-in]
driver = lpr
min_confidence = 0.85

[device lpr-out]
driver = lpr

[device lpr-both]
driver = lpr

[device barrier-in]
driver = barrier_mqtt
lane = in
open_ms = 1500
camera = lpr-in

[device barrier-out]
driver = barrier_mqtt
lane = out
camera = lpr-out

[device barrier-both]
driver = barrier_mqtt
lane = both
camera = lpr-both
"""


def vehicles_ini(s):
    return f"""\
[vehicle 吉A12345]
household = 5-2-301
plan = monthly
valid_until = {s.next_year}

[vehicle 吉A0B8Z1]
household = 5-2-302
plan = owner

[vehicle 吉C55555]
household = 5-3-101
plan = monthly
valid_until = {s.yesterday}

; Two registered plates that read alike: a misread of either is refused.
[vehicle 吉E10000]
household = 5-1-101
plan = monthly
[vehicle 吉EI0000]
household = 5-1-102
plan = monthly

[visitor V1CAR]
host = 5-2-301
name = 李四
plate = 吉A88888
person = PV009
from = {s.window_from}
until = {s.window_until}
entries = 2

[deny 吉B00000]
reason = 欠费车辆
"""


@pytest.fixture
def lot(compound):
    compound.template = GATEWAY_TEMPLATE + VEHICLE_DEVICES
    compound.write_access("vehicles.ini", vehicles_ini(compound.schedule))
    compound.cameras = {}
    compound.start()
    return compound


def camera(c, lane):
    if lane not in c.cameras:
        c.cameras[lane] = PlateCamera(c.broker.port, "lpr-" + lane,
                                      "barrier-" + lane, site=c.site).connect()
        c.terminals["lpr-" + lane] = c.cameras[lane]  # closed at teardown
    return c.cameras[lane]


def drive(c, lane, plate, **kw):
    cam = camera(c, lane)
    request = cam.read(plate, **kw)
    return request, cam.wait_cmd(request)


def record(c, request, barrier):
    row = c.row(request, barrier)
    assert row["kind"] == "vehicle"
    return row


def test_resident_visitor_unknown_denied(lot):
    c = lot
    events = c.recorder("cg/%s/events/vehicle" % c.site)

    request, cmd = drive(c, "in", "吉A12345")
    assert cmd == {"action": "open", "request": request,
                   "display": "吉A12345 欢迎回家", "open_ms": 1500}
    row = record(c, request, "barrier-in")
    assert (row["decision"], row["reason"], row["direction"]) == (
        "allow", "monthly plan", "in")
    assert (row["subject_type"], row["subject_id"], row["household"]) == (
        "plate", "吉A12345", "5-2-301")
    assert row["body"]["match"] == "exact"
    assert row["body"]["camera"] == "lpr-in"
    published = events.wait(
        lambda m: m.json().get("request") == request, 10,
        "the record on events/vehicle")
    assert published.json()["id"] == row["body"]["id"]

    # A visitor's car, counted against the visitor's entries.
    request, cmd = drive(c, "in", "吉A88888")
    assert cmd["action"] == "open"
    row = record(c, request, "barrier-in")
    assert (row["decision"], row["reason"], row["subject_type"],
            row["subject_id"], row["household"]) == (
        "allow", "visitor", "visitor", "V1CAR", "5-2-301")
    assert row["body"]["plate"] == "吉A88888"

    request, cmd = drive(c, "in", "吉D99999")
    assert (cmd["action"], cmd["reason"]) == ("deny", "unknown")
    assert cmd["display"] == "吉D99999 未登记车辆，请联系物业"
    row = record(c, request, "barrier-in")
    assert (row["decision"], row["reason"], row["subject_id"]) == (
        "deny", "unknown", "吉D99999")
    # An unknown car at the barrier is an alert, for the duty staff; the
    # grants before it were none.
    assert (row["body"]["alert"], row["body"]["severity"],
            row["body"]["suppressed"]) == ("vehicle_unknown", "minor", False)
    published = events.wait(
        lambda m: m.json().get("request") == request, 10,
        "the unknown plate's record on events/vehicle")
    assert published.json()["alert"] == "vehicle_unknown"
    assert not any("alert" in m.json() for m in events.snapshot()
                   if m.json().get("decision") == "allow")

    request, cmd = drive(c, "in", "吉B00000")
    assert (cmd["action"], cmd["reason"]) == ("deny", "denied")
    body = record(c, request, "barrier-in")["body"]
    assert (body["alert"], body["severity"]) == ("vehicle_denied", "major")

    # A lapsed plan and an unsure read are no intruders: no alert.
    request, cmd = drive(c, "in", "吉C55555")
    assert (cmd["action"], cmd["reason"]) == ("deny", "expired")
    assert "alert" not in record(c, request, "barrier-in")["body"]

    request, cmd = drive(c, "in", "吉A12345", confidence=0.5)
    assert (cmd["action"], cmd["reason"]) == ("deny", "low_confidence")
    assert "alert" not in record(c, request, "barrier-in")["body"]

    # A second unknown car at the same barrier within the cool-down
    # (300 s): journaled and published, but held back.
    request, cmd = drive(c, "in", "吉D88888")
    assert (cmd["action"], cmd["reason"]) == ("deny", "unknown")
    body = record(c, request, "barrier-in")["body"]
    assert (body["suppressed"], "alert" in body) == (True, False), body


@pytest.mark.parametrize("spelling", [
    "吉a 12345", "吉A·12345", "吉Ａ１２３４５", "吉A\u300012345",
    "吉A-123.45"])
def test_plates_as_cameras_spell_them(lot, spelling):
    request, cmd = drive(lot, "in", spelling)
    assert cmd["action"] == "open"
    row = record(lot, request, "barrier-in")
    assert (row["subject_id"], row["body"]["match"]) == ("吉A12345", "exact")
    assert row["body"]["read"] == spelling


def test_fuzzy_match(lot):
    c = lot
    # 0/D, 8/B, 2/Z: one registered plate fits, marked fuzzy.
    request, cmd = drive(c, "in", "吉AD8B21")
    # The screen shows the plate it was taken for.
    assert (cmd["action"], cmd["display"]) == ("open", "吉A0B8Z1 欢迎回家")
    row = record(c, request, "barrier-in")
    assert (row["decision"], row["subject_id"], row["household"]) == (
        "allow", "吉A0B8Z1", "5-2-302")
    assert row["body"]["match"] == "fuzzy"
    assert row["body"]["read"] == "吉AD8B21"
    # Two registered plates fit 吉E1OOOO misread as 吉ED0000... refused.
    request, cmd = drive(c, "in", "吉E1D000")
    assert (cmd["action"], cmd["reason"]) == ("deny", "unknown")
    assert "match" not in record(c, request, "barrier-in")["body"]


def test_lanes(lot):
    c = lot
    # The in lane refuses a car its camera sees going out.
    request, cmd = drive(c, "in", "吉A12345", direction="out")
    assert (cmd["action"], cmd["reason"]) == ("deny", "wrong_way")
    # The out lane lets anyone out, the unknown and the denied too...
    for plate in ("吉D99999", "吉B00000"):
        request, cmd = drive(c, "out", plate)
        assert cmd["action"] == "open"
        row = record(c, request, "barrier-out")
        assert (row["decision"], row["reason"], row["direction"]) == (
            "allow", "exit", "out")
    # ...but not a car coming in through it.
    request, cmd = drive(c, "out", "吉A12345", direction="in")
    assert (cmd["action"], cmd["reason"]) == ("deny", "wrong_way")
    # A two-way lane takes the camera's word, "in" without one.
    request, cmd = drive(c, "both", "吉D99999", direction="out")
    assert (cmd["action"], record(c, request, "barrier-both")["direction"]) \
        == ("open", "out")
    request, cmd = drive(c, "both", "吉D99999")
    assert (cmd["action"], cmd["reason"]) == ("deny", "unknown")


def occupancy(c, request, barrier):
    return record(c, request, barrier)["body"].get("occupancy")


def test_full_lot_repeat_and_restart(lot):
    """Capacity 3: residents fill it, a visitor waits (full), a resident
    still passes; a repeat read is pulsed again and counts nothing; the
    count and the visitor's entries survive a kill -9."""
    c = lot
    request, cmd = drive(c, "in", "吉A12345")
    assert occupancy(c, request, "barrier-in") == 1
    # The same car again within repeat_s: still waiting, pulsed again.
    request, cmd = drive(c, "in", "吉A12345")
    assert cmd["action"] == "open"
    row = record(c, request, "barrier-in")
    assert (row["decision"], row["reason"]) == ("allow", "repeat")
    assert "occupancy" not in row["body"]

    request, cmd = drive(c, "in", "吉A88888")       # the visitor: 2
    assert occupancy(c, request, "barrier-in") == 2
    request, cmd = drive(c, "in", "吉A0B8Z1")       # 3: full
    assert occupancy(c, request, "barrier-in") == 3

    c.restart(kill=True)

    request, cmd = drive(c, "out", "吉A88888")      # the visitor leaves: 2
    assert occupancy(c, request, "barrier-out") == 2
    request, cmd = drive(c, "in", "吉E10000")       # 3 again
    assert occupancy(c, request, "barrier-in") == 3
    # Full: the visitor waits at the barrier, with no entry used.
    request, cmd = drive(c, "in", "吉A88888")
    assert (cmd["action"], cmd["reason"]) == ("deny", "full")
    assert cmd["display"] == "吉A88888 车位已满，请稍候"
    # A resident still passes.
    request, cmd = drive(c, "in", "吉EI0000")
    assert cmd["action"] == "open"
    assert occupancy(c, request, "barrier-in") == 4

    # Room again: the visitor's second entry is their last, shared with
    # the face gates: by face, their budget is then spent.
    for plate in ("吉A12345", "吉E10000"):
        drive(c, "out", plate)
    request, cmd = drive(c, "in", "吉A88888")
    assert cmd["action"] == "open"
    request, cmd = c.ask("gate-north", "PV009")
    assert (cmd["action"], cmd.get("reason")) == ("deny", "no_entries")


def test_bad_reads_keep_the_daemon_up(lot):
    c = lot
    cam = camera(c, "in")
    for payload in ("not json", "[1,2]", json.dumps({"plate": "吉A12345"}),
                    json.dumps({"id": "x-1", "plate": 7}),
                    json.dumps({"id": "x-2", "plate": "吉A12345",
                                "confidence": 3})):
        cam.send("plate", payload)
    # A camera nobody configured.
    stranger = PlateCamera(c.broker.port, "lpr-ghost", "barrier-in",
                           site=c.site).connect()
    c.terminals["lpr-ghost"] = stranger
    stranger.read("吉A12345")
    request, cmd = drive(c, "in", "吉A12345")
    assert cmd["action"] == "open"
    assert c.gw.running()
    rows = c.journal.wait_rows(
        "kind = 'vehicle' AND decision = 'rejected' AND device = 'lpr-in'")
    assert rows[0]["reason"] == "malformed json: '[' or '{' expected near " \
        "'not'"
    c.journal.wait_rows("decision = 'rejected' AND reason = "
                        "'unknown device'")
