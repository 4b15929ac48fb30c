/*
 * test_camera_pipeline.c - the cameras' pipeline (camera.c) between the
 * drivers and the journal: an event kept from its first message at or
 * above its type's min_score, once per event id (Frigate's new, updates
 * and end are one camera event), cool-downs per camera and type, the
 * snapshot only when privacy allows it, severity none as evidence, and
 * a camera offline past its grace.  Messages go through the real
 * drivers; the journal and the outbox are stubs that keep what the
 * pipeline hands them (pipeline_stubs.h), and fail the test if a camera
 * is sent a command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include "compound.h"
#include "pipeline_stubs.h"

#include "config.h"
#include "dedup.h"
#include "driver.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

static const char gateway_ini[] =
    "[gateway]\n"
    "site = test\n"
    "data_dir = data\n"
    "access_dir = access.d\n"
    "[alert falling_object]\n"
    "cooldown_s = 60\n"
    "min_score = 0.6\n"
    "[alert crowd]\n"
    "severity = none\n"
    "[device cam-5-east]\n"
    "driver = camera\n"
    "[device cam-6-west]\n"
    "driver = camera\n"
    "[device nvr]\n"
    "driver = frigate\n"
    "map = bicycle@elevator:ebike_in_elevator, person@roof:intrusion\n"
    "url = http://10.0.0.9:5000\n";

static const char access_ini[] = "[group resident]\n"
                                 "gates = *\n"
                                 "hours = always\n";

static struct pipeline p;

/* The last record's member, as seen_member() gives it. */
#define last(key) seen_member(seen_last(SEEN_RECORD), (key))

/* ---- fixtures ---- */

static struct config *cfg;
static struct access_tables *tables;
static int64_t t0; /* the tests' clock starts here */

static int
setup(void **state)
{
	(void)state;
	stub_refuse_now = stub_refuse_queued = true;
	return compound_start("test_camera_pipeline", gateway_ini, access_ini,
	    &cfg, &tables, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	return compound_stop(cfg, tables, NULL);
}

static int
fresh(void **state)
{
	(void)state;
	cfg->keep_snapshots = false;
	t0 = now_ms();
	return stub_pipeline_fresh(&p, cfg, tables);
}

/* A message on a device's topic, decoded by its driver and, when the
 * driver makes an event of it, to the pipeline at t0 + at_s. */
static enum driver_decode
message_at(const char *device, const char *payload, double at_s)
{
	const struct device *dev = config_device(cfg, device);
	const struct driver_mqtt *m = dev->driver->mqtt;
	struct event ev;
	char err[160];
	enum driver_decode rc;

	rc = m->decode(dev, m->topic ? m->topic(dev) : "event", payload,
	    strlen(payload), &ev, err, sizeof(err));
	if (rc == DRIVER_BAD)
		fail_msg("%s refused %s: %s", device, payload, err);
	if (rc == DRIVER_OK)
		camera_event_at(&p, dev, &ev, t0 + (int64_t)(at_s * 1000));
	return rc;
}

/* A native camera's event. */
static void
native(const char *camera, const char *id, const char *type, double score,
    double at_s)
{
	char json[256];

	snprintf(json, sizeof(json),
	    "{\"id\":\"%s\",\"type\":\"%s\",\"score\":%g,"
	    "\"snapshot\":\"http://10.0.0.7/s/%s.jpg\"}",
	    id, type, score, id);
	assert_int_equal(message_at(camera, json, at_s), DRIVER_OK);
}

/*
 * A frigate/events message, shaped as the example in Frigate's MQTT
 * documentation (https://docs.frigate.video/integrations/mqtt/): the
 * object before and after; top_score < 0 leaves it out.
 */
static enum driver_decode
frigate(const char *type, const char *id, const char *camera, const char *label,
    double score, double top_score, const char *zones, double at_s)
{
	char object[1024], json[2200], top[40] = "";

	if (top_score >= 0)
		snprintf(top, sizeof(top), "\"top_score\":%g,", top_score);
	snprintf(object, sizeof(object),
	    "{\"id\":\"%s\",\"camera\":\"%s\",\"frame_time\":1607123961.8,"
	    "\"snapshot_time\":1607123961.8,\"label\":\"%s\","
	    "\"sub_label\":null,%s\"false_positive\":false,"
	    "\"start_time\":1607123955.475377,\"end_time\":%s,"
	    "\"score\":%g,\"box\":[424,500,536,712],\"area\":23744,"
	    "\"ratio\":2.113207,\"region\":[264,450,667,853],"
	    "\"current_zones\":%s,\"entered_zones\":%s,\"thumbnail\":null,"
	    "\"has_snapshot\":true,\"has_clip\":false,\"stationary\":false,"
	    "\"motionless_count\":0,\"position_changes\":2,"
	    "\"attributes\":{},\"current_attributes\":[]}",
	    id, camera, label, top,
	    strcmp(type, "end") == 0 ? "1607123970.5" : "null", score, zones,
	    zones);
	snprintf(json, sizeof(json),
	    "{\"type\":\"%s\",\"before\":%s,\"after\":%s}", type, object,
	    object);
	return message_at("nvr", json, at_s);
}

/* ---- the tests ---- */

static void
test_min_score(void **state)
{
	(void)state;
	/* falling_object: min_score = 0.6 in this compound. */
	native("cam-5-east", "e-1", "falling_object", 0.59, 0);
	assert_int_equal(seen_count(SEEN_RECORD), 0);
	native("cam-5-east", "e-2", "falling_object", 0.6, 1);
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	assert_string_equal(last("kind"), "camera");
	assert_string_equal(last("device"), "cam-5-east");
	assert_string_equal(last("request"), "e-2");
	assert_string_equal(last("decision"), "falling_object");
	assert_string_equal(last("score"), "0.6");
	assert_string_equal(last("severity"), "urgent");
	assert_string_equal(last("suppressed"), "false");
	assert_string_equal(last("alert"), "falling_object");
	/* Privacy off (the default): no snapshot link. */
	assert_string_equal(last("snapshot"), "");
	/* The default elsewhere: 0.5. */
	native("cam-5-east", "e-3", "smoke", 0.49, 2);
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	native("cam-5-east", "e-4", "smoke", 0.5, 2);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
}

/* Frigate: the object's score rises past the minimum later on. */
static void
test_score_rises(void **state)
{
	(void)state;
	frigate("new", "1700000001.1-a", "roof_cam", "person", 0.35, 0.35,
	    "[\"roof\"]", 0);
	frigate("update", "1700000001.1-a", "roof_cam", "person", 0.41, 0.41,
	    "[\"roof\"]", 1);
	assert_int_equal(seen_count(SEEN_RECORD), 0);
	frigate("update", "1700000001.1-a", "roof_cam", "person", 0.5, 0.72,
	    "[\"roof\"]", 2);
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	assert_string_equal(last("device"), "nvr/roof_cam");
	assert_string_equal(last("request"), "1700000001.1-a");
	assert_string_equal(last("decision"), "intrusion");
	assert_string_equal(last("score"), "0.72");
	assert_string_equal(last("severity"), "major");
	assert_string_equal(last("alert"), "intrusion");
	frigate("update", "1700000001.1-a", "roof_cam", "person", 0.9, 0.9,
	    "[\"roof\"]", 3);
	frigate("end", "1700000001.1-a", "roof_cam", "person", 0.9, 0.9,
	    "[\"roof\"]", 4);
	assert_int_equal(seen_count(SEEN_RECORD), 1);
}

/* new, several updates, end: one camera event, and no duplicate. */
static void
test_one_event_per_id(void **state)
{
	int i;

	(void)state;
	assert_int_equal(frigate("new", "1700000002.2-b", "lift_1", "bicycle",
	                     0.8, 0.8, "[\"elevator\"]", 0),
	    DRIVER_OK);
	for (i = 1; i <= 5; i++)
		frigate("update", "1700000002.2-b", "lift_1", "bicycle", 0.85,
		    0.85, "[\"elevator\"]", i);
	frigate("end", "1700000002.2-b", "lift_1", "bicycle", 0.85, 0.85,
	    "[\"elevator\"]", 6);
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	assert_string_equal(last("decision"), "ebike_in_elevator");
	assert_string_equal(last("score"), "0.8");
	/* An hour after its last message, the id is forgotten. */
	frigate("update", "1700000002.2-b", "lift_1", "bicycle", 0.85, 0.85,
	    "[\"elevator\"]", 6 + 3599);
	assert_int_equal(seen_count(SEEN_RECORD), 1);

	/* A native camera's id seen again is a replay: counted, journaled
	 * as a duplicate, no second event. */
	native("cam-6-west", "e-7", "intrusion", 0.9, 10);
	native("cam-6-west", "e-7", "intrusion", 0.9, 11);
	assert_int_equal(seen_count(SEEN_RECORD), 3);
	assert_string_equal(seen_record(1, "decision"), "intrusion");
	assert_string_equal(last("decision"), "duplicate");
	assert_string_equal(last("device"), "cam-6-west");
	assert_string_equal(last("request"), "e-7");
	/* The same id on another camera is another event. */
	native("cam-5-east", "e-7", "intrusion", 0.9, 12);
	assert_int_equal(seen_count(SEEN_RECORD), 4);
	assert_string_equal(last("device"), "cam-5-east");
}

static void
test_ignored_label_and_zone(void **state)
{
	(void)state;
	/* A label the map does not name: nothing, whatever its score. */
	assert_int_equal(frigate("new", "1700000003.3-c", "lift_1", "car", 0.99,
	                     0.99, "[\"elevator\"]", 0),
	    DRIVER_IGNORE);
	/* person@roof: a person in the yard is not an intrusion... */
	assert_int_equal(frigate("new", "1700000003.4-d", "roof_cam", "person",
	                     0.9, 0.9, "[\"yard\"]", 1),
	    DRIVER_IGNORE);
	assert_int_equal(seen_count(SEEN_RECORD), 0);
	/* ...until it enters the roof: then the event opens. */
	assert_int_equal(frigate("update", "1700000003.4-d", "roof_cam",
	                     "person", 0.9, 0.9, "[\"yard\",\"roof\"]", 2),
	    DRIVER_OK);
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	assert_string_equal(last("decision"), "intrusion");
}

/* The cool-down: per camera and type, from the last alert raised. */
static void
test_cooldown(void **state)
{
	(void)state;
	native("cam-5-east", "e-1", "falling_object", 0.9, 0);
	assert_string_equal(last("suppressed"), "false");
	assert_string_equal(last("alert"), "falling_object");
	/* Within 60 s on the same camera: journaled, held back. */
	native("cam-5-east", "e-2", "falling_object", 0.9, 30);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
	assert_string_equal(last("suppressed"), "true");
	assert_string_equal(last("alert"), "");
	assert_string_equal(last("severity"), "urgent");
	/* Another camera, or another type: an alert of its own. */
	native("cam-6-west", "e-3", "falling_object", 0.9, 31);
	assert_string_equal(last("suppressed"), "false");
	assert_string_equal(last("alert"), "falling_object");
	native("cam-5-east", "e-4", "smoke", 0.9, 32);
	assert_string_equal(last("suppressed"), "false");
	/* A held-back event does not extend it: 60 s after e-1, not e-2. */
	native("cam-5-east", "e-5", "falling_object", 0.9, 59.9);
	assert_string_equal(last("suppressed"), "true");
	native("cam-5-east", "e-6", "falling_object", 0.9, 60);
	assert_string_equal(last("suppressed"), "false");
	assert_string_equal(last("alert"), "falling_object");
	assert_int_equal(seen_count(SEEN_RECORD), 6);

	/* Frigate's cameras are cameras each: nvr/lift_1, nvr/lift_2. */
	frigate("new", "1700000004.1-e", "lift_1", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 100);
	assert_string_equal(last("device"), "nvr/lift_1");
	assert_string_equal(last("suppressed"), "false");
	frigate("new", "1700000004.2-f", "lift_2", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 101);
	assert_string_equal(last("device"), "nvr/lift_2");
	assert_string_equal(last("suppressed"), "false");
	frigate("new", "1700000004.3-g", "lift_1", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 102);
	assert_string_equal(last("device"), "nvr/lift_1");
	assert_string_equal(last("suppressed"), "true");
	/* 300 s, the default, after the first on lift_1. */
	frigate("new", "1700000004.4-h", "lift_1", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 400);
	assert_string_equal(last("suppressed"), "false");
	assert_int_equal(seen_count(SEEN_RECORD), 10);
}

static void
test_snapshot_and_privacy(void **state)
{
	(void)state;
	native("cam-5-east", "e-1", "intrusion", 0.9, 0);
	assert_string_equal(last("snapshot"), "");
	frigate("new", "1700000005.1-i", "lift_1", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 1);
	assert_string_equal(last("snapshot"), "");
	cfg->keep_snapshots = true;
	native("cam-5-east", "e-2", "intrusion", 0.9, 2);
	assert_string_equal(last("snapshot"), "http://10.0.0.7/s/e-2.jpg");
	frigate("new", "1700000005.2-j", "lift_1", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 3);
	assert_string_equal(last("snapshot"),
	    "http://10.0.0.9:5000/api/events/1700000005.2-j/snapshot.jpg");
}

/* severity = none: journaled as evidence, never an alert. */
static void
test_severity_none(void **state)
{
	(void)state;
	native("cam-5-east", "e-1", "crowd", 0.9, 0);
	native("cam-5-east", "e-2", "crowd", 0.9, 1);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
	assert_string_equal(last("severity"), "none");
	assert_string_equal(last("suppressed"), "false");
	assert_string_equal(last("alert"), "");
}

/* An event is its id and its type on a camera: an object that later
 * fits another type (a bicycle seen in a corridor, then entering the
 * lift) is an event of that type too; the same type again is not. */
static void
test_one_event_per_type(void **state)
{
	(void)state;
	native("cam-5-east", "e-1", "intrusion", 0.9, 0);
	native("cam-5-east", "e-1", "smoke", 0.9, 1);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
	assert_string_equal(last("decision"), "smoke");
	assert_string_equal(last("request"), "e-1");
	seen_forget();
	frigate("new", "1700000006.1-k", "lift_1", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 2);
	frigate("update", "1700000006.1-k", "lift_1", "person", 0.9, 0.9,
	    "[\"roof\"]", 3);
	frigate("update", "1700000006.1-k", "lift_1", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 4);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
	assert_string_equal(last("decision"), "intrusion");
}

/* A restart: the events opened and the cool-downs running, from the
 * records alone. */
static void
test_restore(void **state)
{
	(void)state;
	native("cam-5-east", "e-1", "falling_object", 0.9, 0);
	native("cam-5-east", "e-1", "falling_object", 0.9, 1); /* dup */
	frigate("new", "1700000007.1-m", "lift_1", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 2);
	native("cam-6-west", "e-2", "crowd", 0.9, 3); /* none: no alert */
	assert_int_equal(seen_count(SEEN_RECORD), 4);
	state_free(p.state);
	p.state = state_new(cfg->ndevices);
	assert_true(camera_restore_since(&p, t0) <= t0 - 3600 * 1000);
	seen_replay(camera_restore_row, &p);
	/* The Frigate event goes on: still one. */
	frigate("update", "1700000007.1-m", "lift_1", "bicycle", 0.95, 0.95,
	    "[\"elevator\"]", 20);
	assert_int_equal(seen_count(SEEN_RECORD), 0);
	/* The cool-downs run from before the restart. */
	native("cam-5-east", "e-3", "falling_object", 0.9, 30);
	assert_string_equal(last("suppressed"), "true");
	frigate("new", "1700000007.2-n", "lift_1", "bicycle", 0.9, 0.9,
	    "[\"elevator\"]", 31);
	assert_string_equal(last("suppressed"), "true");
	native("cam-6-west", "e-4", "falling_object", 0.9, 32);
	assert_string_equal(last("suppressed"), "false");
	native("cam-5-east", "e-5", "falling_object", 0.9, 61);
	assert_string_equal(last("suppressed"), "false");
	/* A native id opened before is a replay. */
	native("cam-5-east", "e-1", "falling_object", 0.9, 62);
	assert_string_equal(last("decision"), "duplicate");
}

static void
test_offline(void **state)
{
	const struct device *east = config_device(cfg, "cam-5-east");
	const struct device *west = config_device(cfg, "cam-6-west");
	int64_t now = now_ms();

	(void)state;
	pipeline_online(&p, east, true, "device online");
	pipeline_online(&p, west, true, "device online");
	pipeline_online(&p, east, false, "device offline");
	assert_int_equal(seen_count(SEEN_RECORD), 3);
	assert_string_equal(last("decision"), "offline");
	/* A reboot: back within the grace (120 s by default). */
	pipeline_online(&p, west, false, "device offline");
	pipeline_online(&p, west, true, "device online");
	pipeline_tick(&p, now + 119 * 1000, false);
	assert_int_equal(seen_count(SEEN_RECORD), 5);
	pipeline_tick(&p, now + 125 * 1000, false);
	assert_int_equal(seen_count(SEEN_RECORD), 6);
	assert_string_equal(last("kind"), "device");
	assert_string_equal(last("device"), "cam-5-east");
	assert_string_equal(last("decision"), "offline_alert");
	assert_string_equal(last("alert"), "device_offline");
	assert_string_equal(last("severity"), "major");
	assert_string_equal(last("suppressed"), "false");
	assert_string_equal(last("reason"), "offline for more than 120 s");
	/* Once. */
	pipeline_tick(&p, now + 500 * 1000, false);
	assert_int_equal(seen_count(SEEN_RECORD), 6);
	/* Back, and gone again: within the cool-down (300 s from the
	 * first alert), journaled but held back... */
	pipeline_online(&p, east, true, "device online");
	pipeline_online(&p, east, false, "device offline");
	pipeline_tick(&p, now + 200 * 1000, false);
	assert_int_equal(seen_count(SEEN_RECORD), 9);
	assert_string_equal(last("decision"), "offline_alert");
	assert_string_equal(last("suppressed"), "true");
	assert_string_equal(last("alert"), "");
	pipeline_tick(&p, now + 10000 * 1000, false);
	assert_int_equal(seen_count(SEEN_RECORD), 9);
	/* ...after it, an alert again. */
	pipeline_online(&p, east, true, "device online");
	pipeline_online(&p, east, false, "device offline");
	pipeline_tick(&p, now + 10000 * 1000, false);
	assert_int_equal(seen_count(SEEN_RECORD), 12);
	assert_string_equal(last("suppressed"), "false");
	assert_string_equal(last("alert"), "device_offline");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_min_score, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_score_rises, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_one_event_per_id, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_ignored_label_and_zone,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_cooldown, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_snapshot_and_privacy,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_severity_none, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_one_event_per_type, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_restore, fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_offline, fresh, stub_done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
