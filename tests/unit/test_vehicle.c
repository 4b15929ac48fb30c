/*
 * test_vehicle.c - the car park's pipeline (vehicle.c) between the rules
 * and the journal: a relay barrier's loop detector counting passages
 * against grants (tailgating), occupancy with a loop, visitors' stays
 * timed (overstay), and the stays rebuilt from the records it journaled.
 * The journal and the outbox are stubs that keep what vehicle.c hands
 * them.
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
#include <jansson.h>

#include "scratch.h"

#include "compound.h"

#include "access.h"
#include "config.h"
#include "driver.h"
#include "journal.h"
#include "outbox.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

static const char gateway_ini[] = "[gateway]\n"
                                  "site = test\n"
                                  "data_dir = data\n"
                                  "access_dir = access.d\n"
                                  "[parking]\n"
                                  "visitor_max_hours = 1\n"
                                  "[bus rs485-1]\n"
                                  "type = tcp\n"
                                  "host = 127.0.0.1\n"
                                  "[device lpr-in]\n"
                                  "driver = lpr\n"
                                  "[device barrier-in]\n"
                                  "driver = barrier_relay\n"
                                  "bus = rs485-1\n"
                                  "unit = 1\n"
                                  "coil = 0\n"
                                  "loop_input = 2\n"
                                  "lane = in\n"
                                  "camera = lpr-in\n";

static const char access_fmt[] = "[group resident]\n"
                                 "gates = *\n"
                                 "hours = always\n"
                                 "[person P0001]\n"
                                 "household = 5-2-301\n"
                                 "groups = resident\n"
                                 "[vehicle 吉A12345]\n"
                                 "household = 5-2-301\n"
                                 "plan = monthly\n"
                                 "[visitor V1]\n"
                                 "host = 5-2-301\n"
                                 "plate = 吉A88888\n"
                                 "from = %s\n"
                                 "until = %s\n"
                                 "entries = 5\n";

/* ---- the stubs: what vehicle.c journals and sends ---- */

#define MAX_SEEN 32

static char *records[MAX_SEEN]; /* each record's body, as JSON */
static int64_t record_ts[MAX_SEEN];
static size_t nrecords, ncommands;
static enum command_action commands[MAX_SEEN];
static struct pipeline p;

int
journal_append(struct journal *j, const struct journal_record *r, int64_t ts_ms)
{
	json_t *o = json_object();

	(void)j;
	assert_true(nrecords < MAX_SEEN);
#define SET(k, v)                                                              \
	if (v)                                                                 \
	json_object_set_new(o, k, json_string(v))
	SET("kind", r->kind);
	SET("decision", r->decision);
	SET("reason", r->reason);
	SET("direction", r->direction);
	SET("device", r->device);
#undef SET
	if (r->subject_type)
		json_object_set_new(o, "subject",
		    json_pack("{s:s,s:s}", "type", r->subject_type, "id",
		        r->subject_id));
	if (r->extra)
		json_object_update(o, r->extra);
	record_ts[nrecords] = ts_ms;
	records[nrecords++] = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return 0;
}

uint64_t
journal_ticket(const struct journal *j)
{
	(void)j;
	return 1;
}

void
outbox_command(struct outbox *o, uint64_t ticket, const struct device *dev,
    const struct command *cmd)
{
	(void)o;
	(void)ticket;
	(void)dev;
	assert_true(ncommands < MAX_SEEN);
	commands[ncommands++] = cmd->action;
}

/* The last record's member as a string ("" if absent). */
static const char *
last(const char *key)
{
	static char out[64];
	json_t *o = json_loads(records[nrecords - 1], 0, NULL), *v;

	assert_non_null(o);
	v = json_object_get(o, key);
	if (json_is_integer(v))
		snprintf(out, sizeof(out), "%lld",
		    (long long)json_integer_value(v));
	else
		str_copy(out, json_is_string(v) ? json_string_value(v) : "",
		    sizeof(out));
	json_decref(o);
	return out;
}

/* The outbox's other doors: nothing in these tests goes through them. */
void
outbox_command_now(struct outbox *o, const struct device *dev,
    const struct command *cmd)
{
	(void)o;
	(void)dev;
	(void)cmd;
	fail_msg("a command sent ahead of the journal");
}

void
outbox_publish(struct outbox *o, uint64_t ticket, const char *topic,
    const void *payload, size_t len, int qos, bool retain)
{
	(void)o;
	(void)ticket;
	(void)topic;
	(void)payload;
	(void)len;
	(void)qos;
	(void)retain;
}

/* ---- fixtures ---- */

static struct config *cfg;
static struct access_tables *tables;

static int
setup(void **state)
{
	char from[32], until[32], text[sizeof(access_fmt) + 64];

	(void)state;
	compound_minute(-3600, from, sizeof(from));
	compound_minute(4 * 3600, until, sizeof(until));
	snprintf(text, sizeof(text), access_fmt, from, until);
	return compound_start("test_vehicle", gateway_ini, text, &cfg, &tables,
	    NULL);
}

static int
teardown(void **state)
{
	(void)state;
	return compound_stop(cfg, tables, NULL);
}

static void
forget_records(void)
{
	while (nrecords > 0)
		free(records[--nrecords]);
	ncommands = 0;
}

static int
fresh(void **state)
{
	(void)state;
	memset(&p, 0, sizeof(p));
	p.cfg = cfg;
	p.tables = tables;
	p.state = state_new(cfg->ndevices);
	p.journal = (struct journal *)&p; /* any non-NULL */
	forget_records();
	return p.state ? 0 : -1;
}

static int
done(void **state)
{
	(void)state;
	state_free(p.state);
	forget_records();
	return 0;
}

static void
plate(const char *request, const char *text)
{
	struct event ev = { .type = EVENT_PLATE };

	str_copy(ev.u.plate.request, request, sizeof(ev.u.plate.request));
	str_copy(ev.u.plate.plate, text, sizeof(ev.u.plate.plate));
	ev.u.plate.confidence = 0.97;
	pipeline_event(&p, config_device(cfg, "lpr-in"), &ev);
}

/* The loop detector (input 2) as the barrier's poll reads it. */
static void
loop(int level)
{
	struct event ev = { .type = EVENT_INPUT };

	ev.u.input.mask = 0xff;
	ev.u.input.levels = level ? 1u << 2 | 1u : 1u;
	pipeline_event(&p, config_device(cfg, "barrier-in"), &ev);
}

static void
test_passage_and_tailgating(void **state)
{
	(void)state;
	loop(0); /* first read: no edge */
	assert_int_equal(nrecords, 0);
	plate("r-1", "吉A12345");
	assert_int_equal(ncommands, 1);
	assert_int_equal(commands[0], COMMAND_OPEN);
	assert_string_equal(last("decision"), "allow");
	/* With a loop, the grant moves nothing: the passage does. */
	assert_string_equal(last("occupancy"), "");
	assert_int_equal(p.state->occupancy, 0);
	loop(1);
	loop(1);
	assert_int_equal(nrecords, 1);
	loop(0);
	assert_int_equal(nrecords, 2);
	assert_string_equal(last("event"), "passage");
	assert_string_equal(last("occupancy"), "1");
	/* A second car over the loop behind the first. */
	loop(1);
	loop(0);
	assert_string_equal(last("event"), "tailgating");
	assert_string_equal(last("device"), "barrier-in");
	assert_int_equal(p.state->occupancy, 2);
	/* A repeat read before the passage: pulsed again, counted once. */
	plate("r-2", "吉A88888");
	plate("r-3", "吉A·88888");
	assert_int_equal(ncommands, 3);
	assert_string_equal(last("reason"), "repeat");
	loop(1);
	loop(0);
	assert_string_equal(last("event"), "passage");
	assert_int_equal(p.state->occupancy, 3);
}

static void
test_overstay_and_restore(void **state)
{
	int64_t now = now_ms();
	size_t i, n;
	char *saved[MAX_SEEN];
	int64_t saved_ts[MAX_SEEN];

	(void)state;
	plate("r-1", "吉A88888");
	loop(1);
	loop(0);
	assert_int_equal(p.state->nstays, 1);
	/* visitor_max_hours = 1: the window ends later, the hour first. */
	vehicle_tick(&p, now + 3500 * 1000);
	assert_int_equal(nrecords, 2);
	vehicle_tick(&p, now + 3601 * 1000);
	assert_int_equal(nrecords, 3);
	assert_string_equal(last("event"), "overstay");
	assert_string_equal(last("plate"), "吉A88888");
	vehicle_tick(&p, now + 7200 * 1000); /* once */
	assert_int_equal(nrecords, 3);

	/* A restart: the same state from the records alone. */
	n = nrecords;
	for (i = 0; i < n; i++) {
		saved[i] = records[i];
		saved_ts[i] = record_ts[i];
	}
	nrecords = 0;
	state_free(p.state);
	p.state = state_new(cfg->ndevices);
	for (i = 0; i < n; i++) {
		vehicle_restore_row(&p, saved_ts[i], saved[i],
		    strlen(saved[i]));
		free(saved[i]);
	}
	/* (Occupancy comes from the journal's newest record that moved
	 * it: 22-vehicles.py restarts across it.) */
	assert_int_equal(p.state->nstays, 1);
	assert_true(p.state->stays[0].alerted);
	vehicle_tick(&p, now + 7200 * 1000);
	assert_int_equal(nrecords, 0);
	/* The car leaves through the in lane? No: an exit ends the stay. */
	assert_true(state_stay_end(p.state, "吉A88888"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_passage_and_tailgating,
		    fresh, done),
		cmocka_unit_test_setup_teardown(test_overstay_and_restore,
		    fresh, done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
