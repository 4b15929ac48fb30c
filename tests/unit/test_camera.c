/*
 * test_camera.c - a native camera's events (DESIGN §4.1,
 * .../camera/<id>/event) as the camera driver decodes them, without a
 * socket.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "driver_test.h"

#include "driver.h"

static const struct driver *drv;
static struct device cam;

static int
setup(void **state)
{
	(void)state;
	drv = test_device_make(&cam, "camera", "cam-5-east");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_device_free(&cam);
	return 0;
}

static enum driver_decode
decode(const char *sub, const char *json, struct camera_event *out, char *err)
{
	struct event ev;
	enum driver_decode rc;

	err[0] = '\0';
	rc = drv->mqtt->decode(&cam, sub, json, strlen(json), &ev, err, 160);
	assert_int_equal(ev.type, EVENT_CAMERA);
	*out = ev.u.camera;
	return rc;
}

static void
test_driver(void **state)
{
	(void)state;
	assert_int_equal(drv->class, DEVICE_CAMERA);
	assert_string_equal(drv->mqtt->kind, "camera");
	assert_string_equal(drv->mqtt->subtopics[0], "event");
	assert_null(drv->mqtt->subtopics[1]);
	/* It takes no commands and reads no vendor topic. */
	assert_null(drv->mqtt->encode);
	assert_null(drv->mqtt->topic);
	/* No keys of its own (min_score is [alert TYPE]'s). */
	assert_null(drv->keys[0].name);
}

static void
test_event(void **state)
{
	struct camera_event e;
	char err[160];
	size_t i;

	(void)state;
	assert_int_equal(decode("event",
	                     "{\"id\":\"e-9\",\"type\":\"falling_object\","
	                     "\"score\":0.88,\"ts\":1795413600123,"
	                     "\"snapshot\":\"http://10.0.0.7/s/9.jpg\"}",
	                     &e, err),
	    DRIVER_OK);
	assert_string_equal(e.request, "e-9");
	assert_string_equal(e.type, "falling_object");
	assert_near(e.score, 0.88, 1e-9);
	assert_int_equal(e.ts_ms, 1795413600123LL);
	assert_string_equal(e.snapshot, "http://10.0.0.7/s/9.jpg");
	/* A camera of its own, not an NVR's; each message its own event. */
	assert_string_equal(e.camera, "");
	assert_false(e.updates);

	/* Every type of §4.1; ts and snapshot are optional. */
	for (i = 0; i < CAMERA_TYPES; i++) {
		char json[160];

		snprintf(json, sizeof(json),
		    "{\"id\":\"e-%zu\",\"type\":\"%s\",\"score\":1}", i,
		    camera_types[i]);
		assert_int_equal(decode("event", json, &e, err), DRIVER_OK);
		assert_string_equal(e.type, camera_types[i]);
		assert_int_equal(e.ts_ms, 0);
		assert_string_equal(e.snapshot, "");
	}
	assert_int_equal(decode("event",
	                     "{\"id\":\"e-1\",\"type\":\"crowd\",\"score\":0,"
	                     "\"ts\":\"2026-11-23T14:00:00+08:00\"}",
	                     &e, err),
	    DRIVER_OK);
	assert_int_equal(e.ts_ms, 1795413600000LL);
	/* Its status is the core's; anything else is not for it. */
	assert_int_equal(decode("status", "online", &e, err), DRIVER_IGNORE);
	assert_int_equal(decode("cmd", "{}", &e, err), DRIVER_IGNORE);
}

static void
test_bad(void **state)
{
	static const struct {
		const char *json, *request, *err;
	} cases[] = {
		{ "{", "", "malformed json" },
		{ "[1]", "", "payload is not a json object" },
		{ "{\"type\":\"smoke\",\"score\":0.9}", "",
		    "missing or unreadable 'id'" },
		{ "{\"id\":9,\"type\":\"smoke\",\"score\":0.9}", "",
		    "missing or unreadable 'id'" },
		{ "{\"id\":\"e-1\",\"score\":0.9}", "e-1", "missing 'type'" },
		{ "{\"id\":\"e-1\",\"type\":3,\"score\":0.9}", "e-1",
		    "bad 'type'" },
		{ "{\"id\":\"e-1\",\"type\":\"ufo\",\"score\":0.9}", "e-1",
		    "unknown type 'ufo' (falling_object, ebike_in_elevator, "
		    "ebike_in_corridor, intrusion, smoke, fire or crowd)" },
		/* The type is a word, not a label with a zone. */
		{ "{\"id\":\"e-1\",\"type\":\"Smoke\",\"score\":0.9}", "e-1",
		    "unknown type 'Smoke'" },
		{ "{\"id\":\"e-1\",\"type\":\"smoke\"}", "e-1",
		    "missing 'score'" },
		{ "{\"id\":\"e-1\",\"type\":\"smoke\",\"score\":\"high\"}",
		    "e-1", "bad 'score'" },
		{ "{\"id\":\"e-1\",\"type\":\"smoke\",\"score\":1.01}", "e-1",
		    "'score' not within 0..1" },
		{ "{\"id\":\"e-1\",\"type\":\"smoke\",\"score\":-0.1}", "e-1",
		    "'score' not within 0..1" },
		{ "{\"id\":\"e-1\",\"type\":\"smoke\",\"score\":0.9,"
		  "\"ts\":\"noon\"}",
		    "e-1", "bad 'ts'" },
		{ "{\"id\":\"e-1\",\"type\":\"smoke\",\"score\":0.9,"
		  "\"snapshot\":7}",
		    "e-1", "bad 'snapshot'" },
		/* A newline in a snapshot URL would forge a log line. */
		{ "{\"id\":\"e-1\",\"type\":\"smoke\",\"score\":0.9,"
		  "\"snapshot\":\"http://x/\\n<2>forged\"}",
		    "e-1", "bad 'snapshot'" },
	};
	struct camera_event e;
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(decode("event", cases[i].json, &e, err),
		    DRIVER_BAD);
		assert_string_equal(e.request, cases[i].request);
		assert_memory_equal(err, cases[i].err, strlen(cases[i].err));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
