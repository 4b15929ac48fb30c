/*
 * test_frigate.c - Frigate's frigate/events as the frigate driver reads
 * them: its keys (topic, map, url) as gateway.ini sets them, labels
 * mapped to camera types (by zone, first entry first), the score, ids
 * and cameras, snapshot links, and what it ignores or refuses.
 *
 * The messages are shaped as the example in Frigate's MQTT
 * documentation, https://docs.frigate.video/integrations/mqtt/
 * (frigate/events): {"type":"new"|"update"|"end","before":{...},
 * "after":{...}}, each object with every member the example shows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "driver_test.h"

#include "driver.h"

static const struct driver *drv;
static struct device nvr;

static int
setup(void **state)
{
	(void)state;
	drv = test_device_make(&nvr, "frigate", "nvr");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_device_free(&nvr);
	return 0;
}

#define set(key, value, err)         test_key_set(&nvr, key, value, err)
#define set_ok(key, value)           test_key_ok(&nvr, key, value)
#define expect_bad(key, value, want) test_key_bad(&nvr, key, value, want)

/* A tracked object as Frigate's example shows one. */
struct object {
	const char *id, *camera, *label;
	double score, top_score; /* top_score < 0: left out */
	const char *zones;       /* entered_zones as JSON */
	bool has_snapshot, false_positive, ended;
};

static json_t *
object_json(const struct object *o)
{
	json_t *zones = json_loads(o->zones ? o->zones : "[]", 0, NULL);
	json_t *j;

	assert_non_null(zones);
	j = json_pack("{s:s,s:s,s:f,s:f,s:s,s:n,s:b,s:f,s:f,"
	              "s:[i,i,i,i],s:i,s:f,s:[i,i,i,i],s:O,s:o,s:n,s:b,s:b,"
	              "s:b,s:i,s:i,s:{s:f},s:[]}",
	    "id", o->id, "camera", o->camera, "frame_time", 1607123961.837752,
	    "snapshot_time", 1607123961.837752, "label", o->label, "sub_label",
	    "false_positive", o->false_positive, "start_time",
	    1607123955.475377, "score", o->score, "box", 424, 500, 536, 712,
	    "area", 23744, "ratio", 2.113207, "region", 264, 450, 667, 853,
	    "current_zones", zones, "entered_zones", zones, "thumbnail",
	    "has_snapshot", o->has_snapshot, "has_clip", false, "stationary",
	    false, "motionless_count", 0, "position_changes", 2, "attributes",
	    "face", 0.64, "current_attributes");
	assert_non_null(j);
	if (o->top_score >= 0)
		json_object_set_new(j, "top_score", json_real(o->top_score));
	json_object_set_new(j, "end_time",
	    o->ended ? json_real(1607123970.5) : json_null());
	return j;
}

/* The whole message: before is the object as it was, after as it is. */
static char *
message(const char *type, const struct object *before,
    const struct object *after)
{
	json_t *m = json_pack("{s:s,s:o,s:o}", "type", type, "before",
	    object_json(before ? before : after), "after", object_json(after));
	char *s;

	assert_non_null(m);
	s = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	return s;
}

static enum driver_decode
decode_text(const char *text, struct camera_event *out, char *err)
{
	struct event ev;
	enum driver_decode rc;

	err[0] = '\0';
	rc = drv->mqtt->decode(&nvr, drv->mqtt->topic(&nvr), text, strlen(text),
	    &ev, err, 160);
	assert_int_equal(ev.type, EVENT_CAMERA);
	*out = ev.u.camera;
	return rc;
}

static enum driver_decode
decode(const char *type, const struct object *before,
    const struct object *after, struct camera_event *out)
{
	char *text = message(type, before, after), err[160];
	enum driver_decode rc = decode_text(text, out, err);

	free(text);
	if (rc == DRIVER_BAD)
		fail_msg("refused: %s", err);
	return rc;
}

static void
test_keys(void **state)
{
	(void)state;
	assert_int_equal(drv->class, DEVICE_CAMERA);
	assert_string_equal(drv->mqtt->kind, "frigate");
	assert_null(drv->mqtt->subtopics[0]);
	assert_null(drv->mqtt->encode);
	/* Its topic is Frigate's own, outside the gateway's prefix. */
	assert_string_equal(drv->mqtt->topic(&nvr), "frigate/events");
	set_ok("topic", "nvr2/events");
	assert_string_equal(drv->mqtt->topic(&nvr), "nvr2/events");
	expect_bad("topic", "frigate/#",
	    "bad topic 'frigate/#' (an MQTT topic without '+' or '#', at "
	    "most 127 bytes)");
	expect_bad("topic", "+/events",
	    "bad topic '+/events' (an MQTT topic without '+' or '#', at "
	    "most 127 bytes)");

	set_ok("url", "http://10.0.0.9:5000/");
	expect_bad("url", "10.0.0.9:5000",
	    "bad url '10.0.0.9:5000' (Frigate's address: http://host:5000, "
	    "at most 200 bytes)");

	/* The map: label[@zone]:type, spaces allowed around each part. */
	set_ok("map",
	    "bicycle@elevator:ebike_in_elevator, person @ roof : "
	    "intrusion,fire:fire");
	/* Written again, it adds up: a long map over several lines. */
	set_ok("map", "smoke:smoke");
	expect_bad("map", "bicycle",
	    "bad map entry 'bicycle' (label:type or label@zone:type)");
	expect_bad("map", "bicycle@:crowd",
	    "bad map entry 'bicycle@:crowd' (label:type or label@zone:type)");
	expect_bad("map", ":crowd",
	    "bad map entry ':crowd' (label:type or label@zone:type)");
	expect_bad("map",
	    "dog:", "bad map entry 'dog:' (label:type or label@zone:type)");
	expect_bad("map", "dog:crowd,,cat:crowd",
	    "bad map entry '' (label:type or label@zone:type)");
	expect_bad("map", "dog:wolf",
	    "map entry 'dog:wolf': unknown type 'wolf' (falling_object, "
	    "ebike_in_elevator, ebike_in_corridor, intrusion, smoke, fire or "
	    "crowd)");
	expect_bad("map", "person@roof:crowd",
	    "map entry 'person@roof:crowd': person@roof is mapped already");
	/* The same label in another zone, or in none, is another entry. */
	set_ok("map", "person:crowd, person@lobby:crowd");
}

static void
test_too_many(void **state)
{
	char entry[32];
	int i;

	(void)state;
	for (i = 0; i < 32; i++) {
		snprintf(entry, sizeof(entry), "label%d:crowd", i);
		set_ok("map", entry);
	}
	expect_bad("map", "one_more:crowd", "more than 32 map entries");
}

/*
 * One Frigate event from new to end, as Frigate sends it: the person is
 * seen, walks into the roof zone (a better snapshot meanwhile), leaves.
 * The driver makes each message a camera event with the same id; that it
 * is one event is the pipeline's (test_camera_pipeline.c).
 */
static void
test_sequence(void **state)
{
	struct object o = { .id = "1607123955.475377-mxklsc",
		.camera = "roof_east",
		.label = "person",
		.score = 0.7890625,
		.top_score = 0.958984375,
		.zones = "[\"stairs\"]" };
	struct object was;
	struct camera_event e;

	(void)state;
	set_ok("map", "person@roof:intrusion");
	set_ok("url", "http://10.0.0.9:5000");
	/* Not in the roof yet: nothing for us. */
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_IGNORE);
	was = o;
	o.zones = "[\"stairs\",\"roof\"]";
	assert_int_equal(decode("update", &was, &o, &e), DRIVER_OK);
	assert_string_equal(e.type, "intrusion");
	assert_string_equal(e.request, "1607123955.475377-mxklsc");
	assert_string_equal(e.camera, "roof_east");
	assert_near(e.score, 0.958984375, 1e-9);    /* top_score, not score */
	assert_int_equal(e.ts_ms, 1607123955475LL); /* start_time */
	assert_true(e.updates);
	/* No snapshot yet: no link. */
	assert_string_equal(e.snapshot, "");
	was = o;
	o.has_snapshot = true;
	o.zones = "[\"stairs\",\"roof\",\"stairs\"]";
	assert_int_equal(decode("update", &was, &o, &e), DRIVER_OK);
	assert_string_equal(e.snapshot,
	    "http://10.0.0.9:5000/api/events/1607123955.475377-mxklsc/"
	    "snapshot.jpg");
	/* entered_zones keeps what was entered: the end is still ours. */
	was = o;
	o.ended = true;
	assert_int_equal(decode("end", &was, &o, &e), DRIVER_OK);
	assert_string_equal(e.type, "intrusion");
}

static void
test_mapping(void **state)
{
	struct object o = { .id = "1700000000.1-abc",
		.camera = "lift_2",
		.label = "bicycle",
		.score = 0.6,
		.top_score = 0.81,
		.zones = "[\"elevator\"]" };
	struct camera_event e;

	(void)state;
	/* One label, two types by zone: the first entry that fits wins. */
	set_ok("map",
	    "bicycle@elevator:ebike_in_elevator, "
	    "bicycle:ebike_in_corridor, motorcycle:ebike_in_corridor");
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_OK);
	assert_string_equal(e.type, "ebike_in_elevator");
	o.zones = "[\"corridor\"]";
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_OK);
	assert_string_equal(e.type, "ebike_in_corridor");
	o.zones = NULL;
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_OK);
	assert_string_equal(e.type, "ebike_in_corridor");
	o.label = "motorcycle";
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_OK);
	assert_string_equal(e.type, "ebike_in_corridor");
	/* Labels the map does not name are ignored, whatever the score. */
	o.label = "car";
	o.top_score = 0.99;
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_IGNORE);
	o.label = "Bicycle"; /* Frigate's labels are lower case */
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_IGNORE);
	/* Nor is the rest of a label we do not map read. */
	{
		static const char car[] =
		    "{\"type\":\"new\",\"after\":{\"id\":\"f-9\","
		    "\"camera\":\"c\",\"label\":\"car\",\"top_score\":9}}";
		char err[160];

		assert_int_equal(decode_text(car, &e, err), DRIVER_IGNORE);
	}
	/* What Frigate ruled out itself is nothing. */
	o.label = "bicycle";
	o.false_positive = true;
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_IGNORE);
	/* An older Frigate sends no top_score: the score it has. */
	o.false_positive = false;
	o.top_score = -1;
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_OK);
	assert_near(e.score, 0.6, 1e-9);
	/* Without url, no snapshot link even when Frigate has one. */
	o.has_snapshot = true;
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_OK);
	assert_string_equal(e.snapshot, "");
}

/* The map's order decides: a label without zone first takes them all. */
static void
test_first_entry_wins(void **state)
{
	struct object o = { .id = "1700000000.2-def",
		.camera = "lift_2",
		.label = "bicycle",
		.score = 0.9,
		.top_score = 0.9,
		.zones = "[\"elevator\"]" };
	struct camera_event e;

	(void)state;
	set_ok("map",
	    "bicycle:ebike_in_corridor, "
	    "bicycle@elevator:ebike_in_elevator");
	assert_int_equal(decode("new", NULL, &o, &e), DRIVER_OK);
	assert_string_equal(e.type, "ebike_in_corridor");
}

static void
test_bad(void **state)
{
	static const struct {
		const char *json, *request, *err;
	} cases[] = {
		{ "{", "", "malformed json" },
		{ "[\"new\"]", "", "payload is not a json object" },
		{ "{\"type\":\"new\"}", "", "missing 'after'" },
		{ "{\"type\":\"new\",\"after\":[]}", "", "missing 'after'" },
		{ "{\"type\":\"new\",\"after\":{\"camera\":\"c\","
		  "\"label\":\"person\",\"score\":0.9}}",
		    "", "missing or unreadable 'after.id'" },
		{ "{\"type\":\"begin\",\"after\":{\"id\":\"f-1\","
		  "\"camera\":\"c\",\"label\":\"person\",\"score\":0.9}}",
		    "f-1", "bad 'type' (new, update or end)" },
		{ "{\"after\":{\"id\":\"f-1\",\"camera\":\"c\","
		  "\"label\":\"person\",\"score\":0.9}}",
		    "f-1", "missing 'type'" },
		{ "{\"type\":\"new\",\"after\":{\"id\":\"f-1\","
		  "\"label\":\"person\",\"score\":0.9}}",
		    "f-1", "missing 'after.camera'" },
		/* The camera is part of a device's name, nvr/<camera>. */
		{ "{\"type\":\"new\",\"after\":{\"id\":\"f-1\","
		  "\"camera\":\"a/b\",\"label\":\"person\",\"score\":0.9}}",
		    "f-1", "bad 'after.camera'" },
		{ "{\"type\":\"new\",\"after\":{\"id\":\"f-1\","
		  "\"camera\":\"c\",\"score\":0.9}}",
		    "f-1", "missing 'after.label'" },
		{ "{\"type\":\"new\",\"after\":{\"id\":\"f-1\","
		  "\"camera\":\"c\",\"label\":\"person\"}}",
		    "f-1", "missing 'after.top_score' and 'after.score'" },
		{ "{\"type\":\"new\",\"after\":{\"id\":\"f-1\","
		  "\"camera\":\"c\",\"label\":\"person\",\"top_score\":9}}",
		    "f-1", "score not within 0..1" },
		{ "{\"type\":\"new\",\"after\":{\"id\":\"f-1\","
		  "\"camera\":\"c\",\"label\":\"person\",\"score\":0.9,"
		  "\"entered_zones\":\"roof\"}}",
		    "f-1", "bad 'after.entered_zones'" },
	};
	struct camera_event e;
	char err[160];
	size_t i;

	(void)state;
	set_ok("map", "person:intrusion");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(decode_text(cases[i].json, &e, err),
		    DRIVER_BAD);
		assert_string_equal(e.request, cases[i].request);
		assert_memory_equal(err, cases[i].err, strlen(cases[i].err));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_entry_wins, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
