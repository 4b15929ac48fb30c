/* test_face_gate.c - the face terminal's JSON, in and out, without a socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "driver.h"

static struct device gate;
static struct gate_settings settings;
static const struct driver *drv;

static int
setup(void **state)
{
	(void)state;
	drv = driver_find("face_gate");
	assert_non_null(drv);
	assert_int_equal(drv->priv_size, sizeof(settings));
	memset(&gate, 0, sizeof(gate));
	memset(&settings, 0, sizeof(settings));
	gate.id = "gate-north";
	gate.driver = drv;
	gate.priv = &settings;
	drv->defaults(&settings);
	return 0;
}

/* The request the driver decoded, as the core reads it. */
static enum driver_decode
decode(const char *sub, const char *json, struct access_request *r, char *err)
{
	struct event ev;
	enum driver_decode rc;

	rc = drv->mqtt->decode(&gate, sub, json, strlen(json), &ev, err, 160);
	if (rc != DRIVER_IGNORE)
		assert_int_equal(ev.type, EVENT_ACCESS);
	*r = ev.u.access;
	return rc;
}

/* A key of the device's section, set as config.c sets it. */
static int
set(const char *key, const char *value, char *err)
{
	const struct schema_key *k = schema_find(drv->keys, key);

	if (k == NULL) {
		snprintf(err, 160, "unknown key '%s'", key);
		return -1;
	}
	return schema_set(k, gate.priv, value, "", err, 160);
}

static void
test_face(void **state)
{
	struct access_request r;
	char err[160];

	(void)state;
	assert_int_equal(decode("face",
	                     "{\"id\":\"req-1\",\"person\":\"P0001\","
	                     "\"score\":0.93,\"direction\":\"in\",\"ts\":"
	                     "1795413600123,"
	                     "\"snapshot\":\"http://10.0.0.5/s/1.jpg\"}",
	                     &r, err),
	    DRIVER_OK);
	assert_string_equal(r.request, "req-1");
	assert_string_equal(r.subject, "P0001");
	assert_int_equal(r.credential, CREDENTIAL_FACE);
	assert_true(r.score > 0.929 && r.score < 0.931);
	assert_int_equal(r.direction, DIRECTION_IN);
	assert_int_equal(r.ts_ms, 1795413600123LL);
	assert_string_equal(r.snapshot, "http://10.0.0.5/s/1.jpg");

	assert_int_equal(decode("face",
	                     "{\"id\":\"r\",\"person\":\"P1\","
	                     "\"score\":1,\"ts\":\"2026-11-23T14:00:00+08:"
	                     "00\"}",
	                     &r, err),
	    DRIVER_OK);
	assert_int_equal(r.ts_ms, 1795413600000LL);
	assert_int_equal(r.direction, 0);

	/* Seconds, as many terminals send them, are taken as seconds. */
	assert_int_equal(decode("face",
	                     "{\"id\":\"r\",\"person\":\"P1\","
	                     "\"score\":1,\"ts\":1795413600}",
	                     &r, err),
	    DRIVER_OK);
	assert_int_equal(r.ts_ms, 1795413600000LL);
}

static void
test_card(void **state)
{
	struct access_request r;
	char err[160];

	(void)state;
	assert_int_equal(decode("card",
	                     "{\"id\":\"req-3\",\"card\":"
	                     "\"0012345678\",\"direction\":\"out\"}",
	                     &r, err),
	    DRIVER_OK);
	assert_int_equal(r.credential, CREDENTIAL_CARD);
	assert_string_equal(r.subject, "0012345678");
	assert_int_equal(r.direction, DIRECTION_OUT);
	assert_int_equal(decode("status", "online", &r, err), DRIVER_IGNORE);
}

static void
test_bad(void **state)
{
	static const struct {
		const char *sub, *json, *request, *err;
	} cases[] = {
		{ "face", "{", "", "malformed json" },
		{ "face", "[1]", "", "payload is not a json object" },
		{ "face", "{\"person\":\"P1\",\"score\":0.9}", "",
		    "missing or unreadable 'id'" },
		{ "face", "{\"id\":7,\"person\":\"P1\",\"score\":0.9}", "",
		    "missing or unreadable 'id'" },
		{ "face", "{\"id\":\"r1\",\"score\":0.9}", "r1",
		    "missing 'person'" },
		{ "face", "{\"id\":\"r1\",\"person\":5,\"score\":0.9}", "r1",
		    "bad 'person'" },
		{ "face", "{\"id\":\"r1\",\"person\":\"P1\"}", "r1",
		    "missing 'score'" },
		{ "face",
		    "{\"id\":\"r1\",\"person\":\"P1\",\"score\":\"high\"}",
		    "r1", "bad 'score'" },
		{ "face", "{\"id\":\"r1\",\"person\":\"P1\",\"score\":1.5}",
		    "r1", "'score' not within 0..1" },
		{ "face",
		    "{\"id\":\"r1\",\"person\":\"P1\",\"score\":0.9,"
		    "\"direction\":\"up\"}",
		    "r1", "'direction' must be in or out" },
		{ "face",
		    "{\"id\":\"r1\",\"person\":\"P1\",\"score\":0.9,"
		    "\"ts\":\"yesterday\"}",
		    "r1", "bad 'ts'" },
		{ "card", "{\"id\":\"r2\"}", "r2", "missing 'card'" },
		{ "face", "{\"id\":\"r1\",\"id\":\"r2\",\"person\":\"P1\"}", "",
		    "malformed json" },
		{ "face", "{\"id\":\"\xff\",\"person\":\"P1\",\"score\":0.9}",
		    "", "malformed json" },
		/* A newline in an id would forge a log line. */
		{ "face",
		    "{\"id\":\"r1\\n<2>gatewayd: allow\",\"person\":"
		    "\"P1\",\"score\":0.9}",
		    "", "missing or unreadable 'id'" },
		{ "face",
		    "{\"id\":\"r1\",\"person\":\"P1\\u0007\","
		    "\"score\":0.9}",
		    "r1", "bad 'person'" },
	};
	struct access_request r;
	char err[160];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(decode(cases[i].sub, cases[i].json, &r, err),
		    DRIVER_BAD);
		assert_string_equal(r.request, cases[i].request);
		assert_memory_equal(err, cases[i].err, strlen(cases[i].err));
	}
}

static void
test_encode(void **state)
{
	struct command open = {
		.action = COMMAND_OPEN,
		.request = "req-1",
		.display = "张* 欢迎回家",
		.open_ms = 3000,
	};
	struct command no = {
		.action = COMMAND_DENY,
		.request = "req-2",
		.reason = "expired",
		.display = "通行授权已过期",
	};
	char buf[256];
	int n;

	(void)state;
	n = drv->mqtt->encode(&gate, &open, buf, sizeof(buf));
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf,
	    "{\"action\":\"open\",\"request\":\"req-1\","
	    "\"display\":\"张* 欢迎回家\",\"open_ms\":3000}");
	n = drv->mqtt->encode(&gate, &no, buf, sizeof(buf));
	buf[n] = '\0';
	assert_string_equal(buf,
	    "{\"action\":\"deny\",\"request\":\"req-2\","
	    "\"reason\":\"expired\",\"display\":\"通行授权已过期\"}");
	assert_int_equal(drv->mqtt->encode(&gate, &open, buf, 10), -1);
	/* A terminal has no relay and no charger: nothing to send. */
	no.action = COMMAND_CHARGER_STOP;
	assert_int_equal(drv->mqtt->encode(&gate, &no, buf, sizeof(buf)), 0);
}

static void
test_settings(void **state)
{
	char err[160];

	(void)state;
	assert_int_equal(settings.direction, DIRECTION_BOTH);
	assert_int_equal(settings.open_ms, 3000);
	assert_int_equal(set("min_score", "0.85", err), 0);
	assert_true(settings.min_score > 0.849 && settings.min_score < 0.851);
	assert_int_equal(set("min_score", "1.5", err), -1);
	assert_string_equal(err, "bad min_score '1.5' (a number from 0 to 1)");
	assert_int_equal(set("direction", "in", err), 0);
	assert_int_equal(settings.direction, DIRECTION_IN);
	assert_int_equal(set("direction", "sideways", err), -1);
	assert_string_equal(err, "bad direction 'sideways' (in, out or both)");
	assert_int_equal(set("open_ms", "abc", err), -1);
	assert_string_equal(err,
	    "bad open_ms 'abc' (an integer from 500 to 60000)");
	assert_int_equal(set("colour", "red", err), -1);
	assert_int_equal(set("zone", "north", err), 0);
	assert_string_equal(settings.zone, "north");
	schema_free(drv->keys, &settings);
	assert_null(settings.zone);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_face, setup),
		cmocka_unit_test_setup(test_card, setup),
		cmocka_unit_test_setup(test_bad, setup),
		cmocka_unit_test_setup(test_encode, setup),
		cmocka_unit_test_setup(test_settings, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
