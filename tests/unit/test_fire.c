/*
 * test_fire.c - the fire release (fire.c) between a fire device's state
 * and what leaves: every gate and barrier held open ahead of the
 * journal, held until every alarm has cleared and staff reset it, the
 * staff requests answered, the yearly test and its end, the state
 * rebuilt from the last record at start, and denials suspended meanwhile
 * at the gates and the barriers.  The journal and the outbox are stubs
 * that keep what the pipeline hands them, in one sequence, so that the
 * order of commands and records is seen (pipeline_stubs.h).
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

#include "access.h"
#include "config.h"
#include "driver.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

/* A gate and a barrier on MQTT, a barrier on the bus, and what is
 * neither: a plate camera, a charging point, a meter and the fire
 * devices themselves. */
static const char gateway_ini[] = "[gateway]\n"
                                  "site = test\n"
                                  "data_dir = data\n"
                                  "access_dir = access.d\n"
                                  "[bus rs485-1]\n"
                                  "type = tcp\n"
                                  "host = 127.0.0.1\n"
                                  "[device gate-north]\n"
                                  "driver = face_gate\n"
                                  "open_ms = 4000\n"
                                  "[device lpr-in]\n"
                                  "driver = lpr\n"
                                  "[device barrier-in]\n"
                                  "driver = barrier_relay\n"
                                  "bus = rs485-1\n"
                                  "unit = 1\n"
                                  "coil = 0\n"
                                  "loop_input = 2\n"
                                  "lane = in\n"
                                  "camera = lpr-in\n"
                                  "[device charger-a]\n"
                                  "driver = charger\n"
                                  "bus = rs485-1\n"
                                  "unit = 2\n"
                                  "ports = 2\n"
                                  "[device meter-a]\n"
                                  "driver = sdm_meter\n"
                                  "bus = rs485-1\n"
                                  "unit = 5\n"
                                  "[device fire-panel]\n"
                                  "driver = fire_input\n"
                                  "bus = rs485-1\n"
                                  "unit = 1\n"
                                  "input = 5\n"
                                  "[device barrier-out]\n"
                                  "driver = barrier_mqtt\n"
                                  "lane = out\n"
                                  "[device fire-net]\n"
                                  "driver = fire_mqtt\n";

static const char access_ini[] = "[group resident]\n"
                                 "gates = *\n"
                                 "hours = always\n"
                                 "[person P0001]\n"
                                 "name = 张三丰\n"
                                 "household = 5-2-301\n"
                                 "groups = resident\n"
                                 "[vehicle 吉A12345]\n"
                                 "household = 5-2-301\n"
                                 "plan = monthly\n";

static struct pipeline p;
static struct config *cfg;
static struct access_tables *tables;

/* The index of the one record of kind seen: there must be one only. */
static size_t
only_record(const char *kind)
{
	size_t i, at = nseen;

	for (i = 0; i < nseen; i++) {
		if (seen[i].type != SEEN_RECORD ||
		    strcmp(seen_member(i, "kind"), kind) != 0)
			continue;
		if (at != nseen)
			fail_msg("a second %s record: %s", kind, seen[i].text);
		at = i;
	}
	if (at == nseen)
		fail_msg("no %s record", kind);
	return at;
}

/*
 * The commands seen from seen[from] on, in order, are exactly one of
 * action (sent at once, ahead of the journal) to each device named in
 * want (comma-separated, config order), and no other command.  The
 * index after the last of them.
 */
static size_t
expect_commands(size_t from, enum command_action action, const char *want)
{
	char names[256], *name, *save = NULL;
	size_t i = from, j;

	str_copy(names, want, sizeof(names));
	for (name = strtok_r(names, ",", &save); name != NULL;
	     name = strtok_r(NULL, ",", &save)) {
		while (i < nseen && seen[i].type != SEEN_NOW &&
		    seen[i].type != SEEN_QUEUED)
			i++;
		if (i == nseen)
			fail_msg("no command to %s", name);
		if (seen[i].type != SEEN_NOW)
			fail_msg("the command to %s waits for the journal",
			    seen[i].dev->id);
		if (strcmp(seen[i].dev->id, name) != 0)
			fail_msg("a command to %s, not %s", seen[i].dev->id,
			    name);
		assert_int_equal(seen[i].cmd.action, action);
		i++;
	}
	for (j = i; j < nseen; j++)
		if (seen[j].type == SEEN_NOW || seen[j].type == SEEN_QUEUED)
			fail_msg("one more command: %d to %s",
			    seen[j].cmd.action, seen[j].dev->id);
	return i;
}

#define EVERY_HELD   "gate-north,barrier-in,barrier-out"
#define HELD_ON_BUS  "barrier-in"
#define HELD_ON_MQTT "gate-north,barrier-out"

/* The last publish, on QoS 1. */
static const char *
last_published(void)
{
	size_t i = seen_last(SEEN_PUBLISH);

	assert_int_equal(seen[i].qos, 1);
	return seen[i].text;
}

/* ---- fixtures ---- */

static int
setup(void **state)
{
	(void)state;
	return compound_start("test_fire", gateway_ini, access_ini, &cfg,
	    &tables, NULL);
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
	if (stub_pipeline_fresh(&p, cfg, tables) < 0)
		return -1;
	return charging_start(&p) == 0 ? 0 : -1;
}

/* A restart: fresh live state, nothing seen. */
static void
restart(void)
{
	state_free(p.state);
	p.state = state_new(cfg->ndevices);
	assert_non_null(p.state);
	assert_int_equal(charging_start(&p), 0);
	seen_forget();
}

static const struct device *
device(const char *id)
{
	const struct device *dev = config_device(cfg, id);

	assert_non_null(dev);
	return dev;
}

/* A fire device's state as its driver decoded it. */
static void
fire(const char *id, bool alarm)
{
	struct event ev = { .type = EVENT_FIRE };

	ev.u.fire.alarm = alarm;
	pipeline_event(&p, device(id), &ev);
}

/* A staff request on <prefix>/fire/<what>, its payload as sent. */
static void
request(const char *what, const char *payload)
{
	fire_request(&p, what, payload, strlen(payload));
}

static void
face(const char *request_id, const char *person)
{
	struct event ev = { .type = EVENT_ACCESS };
	struct access_request *r = &ev.u.access;

	str_copy(r->request, request_id, sizeof(r->request));
	str_copy(r->subject, person, sizeof(r->subject));
	r->credential = CREDENTIAL_FACE;
	r->score = 0.95;
	pipeline_event(&p, device("gate-north"), &ev);
}

static void
plate(const char *request_id, const char *text)
{
	struct event ev = { .type = EVENT_PLATE };

	str_copy(ev.u.plate.request, request_id, sizeof(ev.u.plate.request));
	str_copy(ev.u.plate.plate, text, sizeof(ev.u.plate.plate));
	ev.u.plate.confidence = 0.97;
	pipeline_event(&p, device("lpr-in"), &ev);
}

/* The loop detector (input 2 of barrier-in's board). */
static void
loop(int level)
{
	struct event ev = { .type = EVENT_INPUT };

	ev.u.input.mask = 0xff;
	ev.u.input.levels = level ? 1u << 2 : 0;
	pipeline_event(&p, device("barrier-in"), &ev);
}

/* ---- the alarm and the reset ---- */

static void
test_alarm_holds_everything_first(void **state)
{
	size_t i;

	(void)state;
	assert_false(fire_holding(&p));
	assert_int_equal(fire_release_reason(&p), 0);
	fire("fire-panel", false);
	fire("fire-net", false);
	assert_int_equal(nseen, 0);

	fire("fire-panel", true);
	/* Every gate and barrier held, at once; then the record. */
	i = expect_commands(0, COMMAND_HOLD_OPEN, EVERY_HELD);
	assert_int_equal(i, 3);
	assert_int_equal(nseen, 4);
	assert_int_equal(seen[3].type, SEEN_RECORD);
	assert_string_equal(seen_member(3, "kind"), "alarm");
	assert_string_equal(seen_member(3, "device"), "fire-panel");
	assert_string_equal(seen_member(3, "decision"), "alarm");
	assert_string_equal(seen_member(3, "phase"), "alarm");
	assert_string_equal(seen_member(3, "reason"), "alarm");
	assert_string_equal(seen_member(3, "severity"), "urgent");
	assert_string_equal(seen_member(3, "alert"), "fire");
	assert_string_equal(seen_member(3, "held"), "3");
	assert_true(fire_holding(&p));
	assert_int_equal(fire_release_reason(&p), RULES_FIRE_ALARM);
	assert_int_equal(p.state->fire.mode, FIRE_ALARM);

	/* The same state again is no new alarm. */
	fire("fire-panel", true);
	assert_int_equal(nseen, 4);

	/* A second device's alarm: held again, and its own record. */
	seen_forget();
	fire("fire-net", true);
	assert_int_equal(expect_commands(0, COMMAND_HOLD_OPEN, EVERY_HELD), 3);
	assert_int_equal(nseen, 4);
	assert_string_equal(seen_member(3, "device"), "fire-net");
	assert_string_equal(seen_member(3, "phase"), "alarm");

	/* One of the two normal again: nothing clears, nothing is let go;
	 * its record says so, for a restart. */
	seen_forget();
	fire("fire-panel", false);
	i = only_record("alarm");
	assert_string_equal(seen_member(i, "decision"), "normal");
	assert_string_equal(seen_member(i, "device"), "fire-panel");
	assert_string_equal(seen_member(i, "phase"), "");
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	assert_int_equal(p.state->fire.mode, FIRE_ALARM);
	seen_forget();

	/* A reset now is refused, naming the device that says alarm. */
	request("reset", "{\"id\":\"r-1\",\"operator\":\"王师傅\"}");
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	assert_string_equal(last_published(),
	    "cg/test/fire/result {\"request\":\"r-1\",\"ok\":false,"
	    "\"error\":\"fire-net still says alarm: nothing is reset until "
	    "it clears\"}");
	i = only_record("alarm");
	assert_string_equal(seen_member(i, "decision"), "refused");
	assert_string_equal(seen_member(i, "request"), "r-1");
	assert_string_equal(seen_member(i, "request_type"), "reset");
	assert_string_equal(seen_member(i, "operator"), "王师傅");
	assert_string_equal(seen_member(i, "phase"), "");
	assert_true(fire_holding(&p));

	/* The last one clears: recorded; everything still held. */
	seen_forget();
	fire("fire-net", false);
	assert_int_equal(nseen, 1);
	assert_string_equal(seen_member(0, "decision"), "clear");
	assert_string_equal(seen_member(0, "phase"), "clear");
	assert_string_equal(seen_member(0, "device"), "fire-net");
	assert_string_equal(seen_member(0, "reason"),
	    "every alarm has cleared");
	assert_int_equal(p.state->fire.mode, FIRE_CLEARED);
	assert_true(fire_holding(&p));
	assert_int_equal(fire_release_reason(&p), RULES_FIRE_ALARM);

	/* A reset without an operator is refused. */
	seen_forget();
	request("reset", "{\"id\":\"r-2\"}");
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	assert_string_equal(last_published(),
	    "cg/test/fire/result {\"request\":\"r-2\",\"ok\":false,"
	    "\"error\":\"'operator' is required: who did it\"}");
	assert_string_equal(seen_member(only_record("alarm"), "decision"),
	    "refused");
	request("reset", "{\"id\":\"r-3\",\"operator\":\"\"}");
	assert_non_null(strstr(last_published(),
	    "{\"request\":\"r-3\",\"ok\":false,\"error\":\"'operator' is "
	    "required"));
	assert_true(fire_holding(&p));

	/* The reset: every gate and barrier back to normal, then the
	 * record with who did it, then the answer. */
	seen_forget();
	request("reset", "{\"id\":\"r-4\",\"operator\":\"王师傅\"}");
	i = expect_commands(0, COMMAND_NORMAL, EVERY_HELD);
	assert_int_equal(i, 3);
	assert_int_equal(nseen, 5);
	assert_string_equal(seen_member(3, "decision"), "reset");
	assert_string_equal(seen_member(3, "phase"), "reset");
	assert_string_equal(seen_member(3, "operator"), "王师傅");
	assert_string_equal(seen_member(3, "request"), "r-4");
	assert_string_equal(seen_member(3, "device"), "");
	assert_int_equal(seen[4].type, SEEN_PUBLISH);
	assert_string_equal(last_published(),
	    "cg/test/fire/result {\"request\":\"r-4\",\"ok\":true}");
	assert_false(fire_holding(&p));
	assert_int_equal(fire_release_reason(&p), 0);

	/* The same request again acts on nothing and gets no answer. */
	seen_forget();
	request("reset", "{\"id\":\"r-4\",\"operator\":\"王师傅\"}");
	assert_int_equal(nseen, 0);

	/* Nothing to reset: answered ok, nothing journaled, and normal all
	 * the same (a hold whose record a full disk lost). */
	request("reset", "{\"id\":\"r-5\",\"operator\":\"王师傅\"}");
	i = expect_commands(0, COMMAND_NORMAL, EVERY_HELD);
	assert_int_equal(i, 3);
	assert_int_equal(nseen, 4);
	assert_int_equal(seen[3].type, SEEN_PUBLISH);
	assert_string_equal(last_published(),
	    "cg/test/fire/result {\"request\":\"r-5\",\"ok\":true}");
}

static void
test_requests_without_an_id(void **state)
{
	uint64_t rejected = p.state->rejected;

	(void)state;
	fire("fire-panel", true);
	seen_forget();
	/* No readable id: counted, never answered, nothing done. */
	request("reset", "reset");
	request("reset", "{\"operator\":\"王师傅\"}");
	request("reset", "{\"id\":7,\"operator\":\"王师傅\"}");
	request("reset", "{\"id\":\"\",\"operator\":\"王师傅\"}");
	request("test", "[\"t-1\"]");
	assert_int_equal(nseen, 0);
	assert_int_equal(p.state->rejected, rejected + 5);
	assert_int_equal(p.state->fire.mode, FIRE_ALARM);

	/* Bad seconds: refused with the reason, nothing held or let go. */
	fire("fire-panel", false);
	request("reset", "{\"id\":\"r-1\",\"operator\":\"王师傅\"}");
	seen_forget();
	request("test",
	    "{\"id\":\"t-1\",\"operator\":\"王师傅\","
	    "\"seconds\":0}");
	assert_string_equal(last_published(),
	    "cg/test/fire/result {\"request\":\"t-1\",\"ok\":false,"
	    "\"error\":\"'seconds' must be a whole number from 1 to 3600\"}");
	request("test",
	    "{\"id\":\"t-2\",\"operator\":\"王师傅\","
	    "\"seconds\":\"10\"}");
	assert_non_null(strstr(last_published(),
	    "\"request\":\"t-2\","
	    "\"ok\":false"));
	request("test",
	    "{\"id\":\"t-3\",\"operator\":\"王师傅\","
	    "\"seconds\":3601}");
	assert_non_null(strstr(last_published(),
	    "\"request\":\"t-3\","
	    "\"ok\":false"));
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	assert_false(fire_holding(&p));
}

/* ---- the yearly test ---- */

static void
test_test_and_its_end(void **state)
{
	int64_t t0 = now_ms();
	size_t i;

	(void)state;
	request("test",
	    "{\"id\":\"t-1\",\"operator\":\"王师傅\","
	    "\"seconds\":30}");
	i = expect_commands(0, COMMAND_HOLD_OPEN, EVERY_HELD);
	assert_int_equal(i, 3);
	assert_string_equal(seen_member(3, "kind"), "alarm");
	assert_string_equal(seen_member(3, "decision"), "test");
	assert_string_equal(seen_member(3, "phase"), "test");
	assert_string_equal(seen_member(3, "seconds"), "30");
	assert_string_equal(seen_member(3, "operator"), "王师傅");
	assert_string_equal(seen_member(3, "request"), "t-1");
	assert_string_equal(last_published(),
	    "cg/test/fire/result {\"request\":\"t-1\",\"ok\":true}");
	assert_true(fire_holding(&p));
	assert_int_equal(fire_release_reason(&p), RULES_FIRE_TEST);

	/* One test at a time. */
	seen_forget();
	request("test", "{\"id\":\"t-2\",\"operator\":\"王师傅\"}");
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	assert_string_equal(last_published(),
	    "cg/test/fire/result {\"request\":\"t-2\",\"ok\":false,"
	    "\"error\":\"a test is running\"}");

	/* Its seconds not over: nothing.  Over: let go, and recorded. */
	seen_forget();
	fire_tick(&p, t0 + 29 * 1000);
	assert_int_equal(nseen, 0);
	fire_tick(&p, t0 + 31 * 1000);
	i = expect_commands(0, COMMAND_NORMAL, EVERY_HELD);
	assert_int_equal(nseen, 4);
	assert_string_equal(seen_member(i, "decision"), "test_end");
	assert_string_equal(seen_member(i, "phase"), "test_end");
	assert_string_equal(seen_member(i, "reason"),
	    "the test's time is over");
	assert_false(fire_holding(&p));
	seen_forget();
	fire_tick(&p, t0 + 60 * 1000);
	assert_int_equal(nseen, 0);

	/* Ten seconds unless said. */
	request("test", "{\"id\":\"t-3\",\"operator\":\"王师傅\"}");
	assert_string_equal(seen_member(only_record("alarm"), "seconds"), "10");
	seen_forget();
	fire_tick(&p, now_ms() + 11 * 1000);
	expect_commands(0, COMMAND_NORMAL, EVERY_HELD);

	/* No test during a real alarm, nor after it before the reset. */
	fire("fire-net", true);
	seen_forget();
	request("test", "{\"id\":\"t-4\",\"operator\":\"王师傅\"}");
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	assert_string_equal(last_published(),
	    "cg/test/fire/result {\"request\":\"t-4\",\"ok\":false,"
	    "\"error\":\"a real fire alarm is on: no test until it is "
	    "reset\"}");
	assert_string_equal(seen_member(only_record("alarm"), "decision"),
	    "refused");
	fire("fire-net", false);
	seen_forget();
	request("test", "{\"id\":\"t-5\",\"operator\":\"王师傅\"}");
	assert_non_null(strstr(last_published(),
	    "\"request\":\"t-5\",\"ok\":false,\"error\":\"a real fire alarm "
	    "is on"));
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	assert_int_equal(p.state->fire.mode, FIRE_CLEARED);
}

static void
test_alarm_during_a_test(void **state)
{
	int64_t t0 = now_ms();
	size_t i;

	(void)state;
	request("test",
	    "{\"id\":\"t-1\",\"operator\":\"王师傅\","
	    "\"seconds\":5}");
	seen_forget();
	fire("fire-panel", true);
	i = expect_commands(0, COMMAND_HOLD_OPEN, EVERY_HELD);
	assert_string_equal(seen_member(i, "phase"), "alarm");
	assert_string_equal(seen_member(i, "reason"), "alarm during a test");
	assert_string_equal(seen_member(i, "device"), "fire-panel");
	assert_int_equal(fire_release_reason(&p), RULES_FIRE_ALARM);

	/* The test's end lets nothing go: it is a real alarm now. */
	seen_forget();
	fire_tick(&p, t0 + 60 * 1000);
	assert_int_equal(nseen, 0);
	assert_true(fire_holding(&p));
	fire("fire-panel", false);
	fire_tick(&p, t0 + 120 * 1000);
	assert_int_equal(nseen, 1);
	assert_string_equal(seen_member(0, "phase"), "clear");
	assert_true(fire_holding(&p));
}

/* ---- at start ---- */

/* The last record of the run so far, handed to fire_restore() after a
 * restart, as the newest of journal_alarm_rows(); then fire_start(). */
static void
restart_from(size_t i, int64_t shift_ms)
{
	char *body;
	int64_t ts;

	assert_int_equal(seen[i].type, SEEN_RECORD);
	body = strdup(seen[i].text);
	assert_non_null(body);
	ts = seen[i].ts_ms + shift_ms;
	restart();
	fire_restore(&p, ts, body, strlen(body));
	free(body);
	fire_start(&p);
}

static void
test_restart_during_an_alarm(void **state)
{
	size_t i;

	(void)state;
	fire("fire-net", true);
	restart_from(nseen - 1, 0);
	/* The coils held again at once; the gates once connected. */
	expect_commands(0, COMMAND_HOLD_OPEN, HELD_ON_BUS);
	assert_int_equal(nseen, 1);
	assert_true(fire_holding(&p));
	assert_int_equal(fire_release_reason(&p), RULES_FIRE_ALARM);
	seen_forget();
	pipeline_connected(&p);
	expect_commands(0, COMMAND_HOLD_OPEN, HELD_ON_MQTT);

	/* Normal from one device read since: not every one is read. */
	seen_forget();
	fire("fire-panel", false);
	assert_int_equal(nseen, 0);
	assert_int_equal(p.state->fire.mode, FIRE_ALARM);
	/* The last one read, none in alarm: cleared, held until reset. */
	fire("fire-net", false);
	i = only_record("alarm");
	assert_string_equal(seen_member(i, "phase"), "clear");
	assert_string_equal(seen_member(i, "device"), "fire-net");
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	assert_true(fire_holding(&p));

	/* Cleared before a restart: still held after it, until reset. */
	restart_from(i, 0);
	expect_commands(0, COMMAND_HOLD_OPEN, HELD_ON_BUS);
	assert_int_equal(p.state->fire.mode, FIRE_CLEARED);
	seen_forget();
	request("reset", "{\"id\":\"r-1\",\"operator\":\"王师傅\"}");
	i = expect_commands(0, COMMAND_NORMAL, EVERY_HELD);
	assert_string_equal(seen_member(i, "phase"), "reset");
	assert_false(fire_holding(&p));

	/* Reset before a restart: nothing held.  The gates are told
	 * normal again when the broker is back, ten minutes at most. */
	restart_from(i, 0);
	assert_int_equal(nseen, 0);
	assert_false(fire_holding(&p));
	pipeline_connected(&p);
	expect_commands(0, COMMAND_NORMAL, HELD_ON_MQTT);
	/* An older reset: the gates have long been told. */
	{
		static const char body[] = "{\"kind\":\"alarm\","
		                           "\"decision\":\"reset\","
		                           "\"phase\":\"reset\"}";

		restart();
		fire_restore(&p, now_ms() - 11 * 60 * 1000, body, strlen(body));
		fire_start(&p);
		pipeline_connected(&p);
		expect_commands(0, COMMAND_NORMAL, "");
	}

	/* What cannot be read changes nothing. */
	restart();
	fire_restore(&p, now_ms(), "{\"phase\":", 9);
	fire_start(&p);
	assert_int_equal(nseen, 0);
	assert_false(fire_holding(&p));
}

/* The release in force, record by record: which device still says
 * alarm is the journal's word until it says otherwise. */
static void
test_restart_knows_which_device(void **state)
{
	static const char *const rows[] = {
		"{\"kind\":\"alarm\",\"decision\":\"reset\",\"phase\":"
		"\"reset\"}",
		"{\"kind\":\"alarm\",\"device\":\"fire-panel\","
		"\"decision\":\"alarm\",\"phase\":\"alarm\"}",
		"{\"kind\":\"alarm\",\"device\":\"fire-net\","
		"\"decision\":\"alarm\",\"phase\":\"alarm\"}",
		"{\"kind\":\"alarm\",\"device\":\"fire-panel\","
		"\"decision\":\"normal\"}",
		"{\"kind\":\"alarm\",\"device\":\"gate-north\","
		"\"decision\":\"alarm\",\"phase\":\"alarm\"}",
	};
	size_t k, i;

	(void)state;
	restart();
	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++)
		fire_restore(&p, now_ms() - 1000, rows[k], strlen(rows[k]));
	fire_start(&p);
	expect_commands(0, COMMAND_HOLD_OPEN, HELD_ON_BUS);
	assert_int_equal(p.state->fire.mode, FIRE_ALARM);
	seen_forget();

	/* fire-net has not said it again: a reset is still refused. */
	request("reset", "{\"id\":\"r-1\",\"operator\":\"王师傅\"}");
	assert_non_null(strstr(last_published(),
	    "\"ok\":false,\"error\":\"fire-net still says alarm"));
	/* Saying it again is no new alarm; fire-panel's normal no news. */
	seen_forget();
	fire("fire-net", true);
	fire("fire-panel", false);
	assert_int_equal(nseen, 0);
	/* fire-net's normal clears the release. */
	fire("fire-net", false);
	i = only_record("alarm");
	assert_string_equal(seen_member(i, "phase"), "clear");
	assert_int_equal(p.state->fire.mode, FIRE_CLEARED);
}

static void
test_restart_during_a_test(void **state)
{
	size_t i;

	(void)state;
	request("test",
	    "{\"id\":\"t-1\",\"operator\":\"王师傅\","
	    "\"seconds\":60}");
	i = seen_find(SEEN_RECORD, 0);

	/* Its time not over: held again, until its end. */
	restart_from(i, 0);
	expect_commands(0, COMMAND_HOLD_OPEN, HELD_ON_BUS);
	assert_int_equal(nseen, 1);
	assert_int_equal(fire_release_reason(&p), RULES_FIRE_TEST);
	seen_forget();
	fire_tick(&p, now_ms() + 30 * 1000);
	assert_int_equal(nseen, 0);
	fire_tick(&p, now_ms() + 61 * 1000);
	i = expect_commands(0, COMMAND_NORMAL, EVERY_HELD);
	assert_string_equal(seen_member(i, "phase"), "test_end");
	assert_false(fire_holding(&p));

	/* Its time over while the gateway was down: let go at start. */
	seen_forget();
	request("test",
	    "{\"id\":\"t-2\",\"operator\":\"王师傅\","
	    "\"seconds\":60}");
	i = seen_find(SEEN_RECORD, 0);
	restart_from(i, -2 * 60 * 1000);
	i = expect_commands(0, COMMAND_NORMAL, EVERY_HELD);
	assert_int_equal(nseen, 4);
	assert_string_equal(seen_member(i, "decision"), "test_end");
	assert_string_equal(seen_member(i, "phase"), "test_end");
	assert_string_equal(seen_member(i, "reason"),
	    "the test ended while the gateway was down");
	assert_false(fire_holding(&p));

	/* After test_end: nothing held at the next start. */
	restart_from(i, 0);
	assert_int_equal(nseen, 0);
	assert_false(fire_holding(&p));
}

/* ---- devices back, the broker back, a fire device gone ---- */

static void
test_devices_back(void **state)
{
	(void)state;
	/* No release: nothing to say to anyone. */
	pipeline_online(&p, device("gate-north"), true, "device online");
	pipeline_online(&p, device("barrier-in"), true, "answers");
	pipeline_connected(&p);
	expect_commands(0, COMMAND_HOLD_OPEN, "");

	fire("fire-panel", true);
	seen_forget();
	/* Back during the release: held again, each on its own. */
	pipeline_online(&p, device("gate-north"), false, "device offline");
	pipeline_online(&p, device("gate-north"), true, "device online");
	expect_commands(0, COMMAND_HOLD_OPEN, "gate-north");
	seen_forget();
	pipeline_online(&p, device("barrier-in"), false, "no answer");
	pipeline_online(&p, device("barrier-in"), true, "answers");
	expect_commands(0, COMMAND_HOLD_OPEN, "barrier-in");
	seen_forget();
	pipeline_online(&p, device("barrier-out"), true, "device online");
	expect_commands(0, COMMAND_HOLD_OPEN, "barrier-out");
	/* Not the others. */
	seen_forget();
	pipeline_online(&p, device("charger-a"), true, "answers");
	pipeline_online(&p, device("lpr-in"), true, "device online");
	pipeline_online(&p, device("meter-a"), true, "answers");
	pipeline_online(&p, device("fire-net"), true, "device online");
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	/* The broker back: the gates and barriers on MQTT held again. */
	pipeline_connected(&p);
	expect_commands(0, COMMAND_HOLD_OPEN, HELD_ON_MQTT);

	/* After the reset: the broker back soon after says normal. */
	fire("fire-panel", false);
	request("reset", "{\"id\":\"r-1\",\"operator\":\"王师傅\"}");
	seen_forget();
	pipeline_connected(&p);
	expect_commands(0, COMMAND_NORMAL, HELD_ON_MQTT);
	seen_forget();
	/* A gate back soon after the reset may have missed its normal. */
	pipeline_online(&p, device("gate-north"), false, "device offline");
	pipeline_online(&p, device("gate-north"), true, "device online");
	expect_commands(0, COMMAND_NORMAL, "gate-north");
	seen_forget();
	pipeline_online(&p, device("charger-a"), false, "no answer");
	pipeline_online(&p, device("charger-a"), true, "answers");
	expect_commands(0, COMMAND_NORMAL, "");
}

static void
test_fire_device_offline(void **state)
{
	size_t i;

	(void)state;
	/* Every device answers: one never heard from is alerted too. */
	for (i = 0; i < p.cfg->ndevices; i++)
		pipeline_online(&p, p.cfg->devices[i], true, "answers");
	fire("fire-panel", true);
	fire("fire-net", false);
	seen_forget();
	request("reset", "{\"id\":\"r-1\",\"operator\":\"王师傅\"}");
	assert_non_null(strstr(last_published(),
	    "\"ok\":false,\"error\":\"fire-panel still says alarm"));

	/* Gone silent: not an alarm, nothing let go, and its last word
	 * stands: fail-safe, a reset is still refused. */
	seen_forget();
	pipeline_online(&p, device("fire-panel"), false, "no answer");
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	expect_commands(0, COMMAND_NORMAL, "");
	assert_true(fire_holding(&p));
	request("reset", "{\"id\":\"r-2\",\"operator\":\"王师傅\"}");
	assert_string_equal(last_published(),
	    "cg/test/fire/result {\"request\":\"r-2\",\"ok\":false,"
	    "\"error\":\"fire-panel said alarm and has not answered since: "
	    "nothing is reset until it says normal\"}");
	expect_commands(0, COMMAND_NORMAL, "");
	assert_true(fire_holding(&p));

	/* Still away after its grace: an urgent device_offline, once, and
	 * nothing held or let go for it. */
	seen_forget();
	pipeline_tick(&p, now_ms() + 60 * 1000, false);
	assert_int_equal(nseen, 0);
	pipeline_tick(&p, now_ms() + 10 * 60 * 1000, false);
	i = only_record("device");
	assert_string_equal(seen_member(i, "decision"), "offline_alert");
	assert_string_equal(seen_member(i, "device"), "fire-panel");
	assert_string_equal(seen_member(i, "severity"), "urgent");
	assert_string_equal(seen_member(i, "alert"), "device_offline");
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	expect_commands(0, COMMAND_NORMAL, "");
	seen_forget();
	pipeline_tick(&p, now_ms() + 20 * 60 * 1000, false);
	assert_int_equal(nseen, 0);

	/* Back, and still saying alarm: no new alarm. */
	seen_forget();
	pipeline_online(&p, device("fire-panel"), true, "answers");
	fire("fire-panel", true);
	expect_commands(0, COMMAND_HOLD_OPEN, "");
	for (i = 0; i < nseen; i++)
		if (seen[i].type == SEEN_RECORD)
			assert_string_not_equal(seen_member(i, "kind"),
			    "alarm");
	/* Normal at last: cleared, and the reset goes through. */
	fire("fire-panel", false);
	assert_string_equal(seen_member(only_record("alarm"), "phase"),
	    "clear");
	seen_forget();
	request("reset", "{\"id\":\"r-3\",\"operator\":\"王师傅\"}");
	expect_commands(0, COMMAND_NORMAL, EVERY_HELD);
	assert_false(fire_holding(&p));
}

/* ---- denials suspended ---- */

static void
test_gate_opens_for_anyone(void **state)
{
	size_t i;

	(void)state;
	fire("fire-panel", true);
	seen_forget();
	face("req-1", "P9999");
	/* Answered open (behind its record), the display says why. */
	assert_int_equal(seen_count(SEEN_QUEUED), 1);
	assert_int_equal(seen_count(SEEN_NOW), 0);
	i = seen_find(SEEN_QUEUED, 0);
	assert_ptr_equal(seen[i].dev, device("gate-north"));
	assert_int_equal(seen[i].cmd.action, COMMAND_OPEN);
	assert_string_equal(seen[i].request, "req-1");
	assert_string_equal(seen[i].display, "消防报警，请通行");
	i = only_record("access");
	assert_string_equal(seen_member(i, "decision"), "allow");
	assert_string_equal(seen_member(i, "reason"), "fire alarm");
	assert_string_equal(seen_member(i, "rules"), "unknown");
	assert_string_equal(seen_member(i, "subject"), "P9999");
	assert_string_equal(seen_member(i, "request"), "req-1");

	/* A malformed request whose id could be read: open too. */
	seen_forget();
	{
		struct event bad = { .type = EVENT_ACCESS };

		snprintf(bad.u.access.request, sizeof(bad.u.access.request),
		    "%s", "req-bad");
		pipeline_rejected(&p, device("gate-north"), &bad,
		    "bad 'score'");
	}
	i = seen_find(SEEN_QUEUED, 0);
	assert_int_equal(seen[i].cmd.action, COMMAND_OPEN);
	assert_string_equal(seen[i].request, "req-bad");
	assert_string_equal(seen[i].display, "消防报警，请通行");

	/* Someone the rules allow: their own reason, the fire's display. */
	seen_forget();
	face("req-2", "P0001");
	i = only_record("access");
	assert_string_equal(seen_member(i, "decision"), "allow");
	assert_string_equal(seen_member(i, "reason"), "group resident");
	assert_string_equal(seen_member(i, "rules"), "");
	assert_string_equal(seen[seen_find(SEEN_QUEUED, 0)].display,
	    "消防报警，请通行");

	/* After the reset, denials again. */
	fire("fire-panel", false);
	request("reset", "{\"id\":\"r-1\",\"operator\":\"王师傅\"}");
	seen_forget();
	face("req-3", "P9999");
	i = only_record("access");
	assert_string_equal(seen_member(i, "decision"), "deny");
	assert_string_equal(seen_member(i, "reason"), "unknown");
	assert_int_equal(seen[seen_find(SEEN_QUEUED, 0)].cmd.action,
	    COMMAND_DENY);

	/* During a test: open, and the test's own reason. */
	request("test", "{\"id\":\"t-1\",\"operator\":\"王师傅\"}");
	seen_forget();
	face("req-4", "P9999");
	i = only_record("access");
	assert_string_equal(seen_member(i, "decision"), "allow");
	assert_string_equal(seen_member(i, "reason"), "fire test");
	assert_string_equal(seen_member(i, "rules"), "unknown");
	assert_string_equal(seen[seen_find(SEEN_QUEUED, 0)].display,
	    "消防测试，请通行");
}

static void
test_barrier_held_not_pulsed(void **state)
{
	size_t i;

	(void)state;
	loop(0); /* the loop's first read: no edge */
	fire("fire-net", true);
	seen_forget();
	/* An unknown plate: let through, and no open pulse that would let
	 * the held barrier go after open_ms. */
	plate("p-1", "吉B99999");
	expect_commands(0, COMMAND_OPEN, "");
	i = only_record("vehicle");
	assert_string_equal(seen_member(i, "device"), "barrier-in");
	assert_string_equal(seen_member(i, "decision"), "allow");
	assert_string_equal(seen_member(i, "reason"), "fire alarm");
	assert_string_equal(seen_member(i, "rules"), "unknown");
	assert_string_equal(seen_member(i, "subject"), "吉B99999");

	/* Its car over the loop, then a second one: no tailgating. */
	seen_forget();
	loop(1);
	loop(0);
	i = only_record("vehicle");
	assert_string_equal(seen_member(i, "event"), "passage");
	assert_string_equal(seen_member(i, "subject"), "吉B99999");
	seen_forget();
	loop(1);
	loop(0);
	i = only_record("vehicle");
	assert_string_equal(seen_member(i, "event"), "passage");
	assert_string_equal(seen_member(i, "subject"), "");
	assert_int_equal(p.state->occupancy, 2);

	/* After the reset the same passages are what they are. */
	fire("fire-net", false);
	request("reset", "{\"id\":\"r-1\",\"operator\":\"王师傅\"}");
	seen_forget();
	plate("p-2", "吉A12345");
	i = seen_find(SEEN_QUEUED, 0);
	assert_int_equal(seen[i].cmd.action, COMMAND_OPEN);
	assert_ptr_equal(seen[i].dev, device("barrier-in"));
	loop(1);
	loop(0);
	seen_forget();
	loop(1);
	loop(0);
	assert_string_equal(seen_member(only_record("vehicle"), "event"),
	    "tailgating");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_alarm_holds_everything_first, fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_requests_without_an_id,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_test_and_its_end, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_alarm_during_a_test, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_restart_knows_which_device,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_restart_during_an_alarm,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_restart_during_a_test,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_devices_back, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_fire_device_offline, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_gate_opens_for_anyone,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_barrier_held_not_pulsed,
		    fresh, stub_done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
