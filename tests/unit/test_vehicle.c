/*
 * test_vehicle.c - the car park's pipeline (vehicle.c) between the rules
 * and the journal: a relay barrier's loop detector counting passages
 * against grants (tailgating), occupancy with a loop, visitors' stays
 * timed (overstay), and the stays rebuilt from the records it journaled.
 * The journal and the outbox are stubs that keep what vehicle.c hands
 * them (pipeline_stubs.h).
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
                                 "[deny 吉B00000]\n"
                                 "reason = 欠费\n"
                                 "[visitor V1]\n"
                                 "host = 5-2-301\n"
                                 "plate = 吉A88888\n"
                                 "from = %s\n"
                                 "until = %s\n"
                                 "entries = 5\n";

static struct pipeline p;

/* The last record's member as a string ("" if absent). */
#define last(key) seen_member(seen_last(SEEN_RECORD), (key))

/* ---- fixtures ---- */

static struct config *cfg;
static struct access_tables *tables;

static int
setup(void **state)
{
	char from[32], until[32], text[sizeof(access_fmt) + 64];

	(void)state;
	stub_refuse_now = true;
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

static int
fresh(void **state)
{
	(void)state;
	return stub_pipeline_fresh(&p, cfg, tables);
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
	assert_int_equal(seen_count(SEEN_RECORD), 0);
	plate("r-1", "吉A12345");
	assert_int_equal(seen_count(SEEN_COMMAND), 1);
	assert_int_equal(seen_command(0)->cmd.action, COMMAND_OPEN);
	assert_string_equal(last("decision"), "allow");
	/* With a loop, the grant moves nothing: the passage does. */
	assert_string_equal(last("occupancy"), "");
	assert_int_equal(p.state->occupancy, 0);
	loop(1);
	loop(1);
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	loop(0);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
	assert_string_equal(last("event"), "passage");
	assert_string_equal(last("occupancy"), "1");
	/* A second car over the loop behind the first. */
	loop(1);
	loop(0);
	assert_string_equal(last("event"), "tailgating");
	assert_string_equal(last("device"), "barrier-in");
	assert_string_equal(last("alert"), "tailgating");
	assert_string_equal(last("severity"), "major");
	assert_string_equal(last("suppressed"), "false");
	assert_int_equal(p.state->occupancy, 2);
	/* A repeat read before the passage: pulsed again, counted once. */
	plate("r-2", "吉A88888");
	plate("r-3", "吉A·88888");
	assert_int_equal(seen_count(SEEN_COMMAND), 3);
	assert_string_equal(last("reason"), "repeat");
	loop(1);
	loop(0);
	assert_string_equal(last("event"), "passage");
	assert_string_equal(last("alert"), "");
	assert_int_equal(p.state->occupancy, 3);
	/* Another car behind it: within the cool-down, no new alert. */
	loop(1);
	loop(0);
	assert_string_equal(last("event"), "tailgating");
	assert_string_equal(last("suppressed"), "true");
	assert_string_equal(last("alert"), "");
}

static void
test_refusals_alert(void **state)
{
	(void)state;
	plate("r-1", "吉A12345");
	assert_string_equal(last("decision"), "allow");
	assert_string_equal(last("alert"), "");
	assert_string_equal(last("severity"), "");
	plate("r-2", "吉E1D000");
	assert_string_equal(last("decision"), "deny");
	assert_string_equal(last("reason"), "unknown");
	assert_string_equal(last("alert"), "vehicle_unknown");
	assert_string_equal(last("severity"), "minor");
	assert_string_equal(last("suppressed"), "false");
	/* Another unknown car at the same barrier within cool-down. */
	plate("r-3", "吉E1D001");
	assert_string_equal(last("alert"), "");
	assert_string_equal(last("suppressed"), "true");
	assert_string_equal(last("severity"), "minor");
	plate("r-4", "吉B00000");
	assert_string_equal(last("reason"), "denied");
	assert_string_equal(last("alert"), "vehicle_denied");
	assert_string_equal(last("severity"), "major");
}

static void
test_overstay_and_restore(void **state)
{
	int64_t now = now_ms();

	(void)state;
	plate("r-1", "吉A88888");
	loop(1);
	loop(0);
	assert_int_equal(p.state->nstays, 1);
	/* visitor_max_hours = 1: the window ends later, the hour first. */
	vehicle_tick(&p, now + 3500 * 1000);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
	vehicle_tick(&p, now + 3601 * 1000);
	assert_int_equal(seen_count(SEEN_RECORD), 3);
	assert_string_equal(last("event"), "overstay");
	assert_string_equal(last("plate"), "吉A88888");
	assert_string_equal(last("alert"), "overstay");
	assert_string_equal(last("severity"), "minor");
	vehicle_tick(&p, now + 7200 * 1000); /* once */
	assert_int_equal(seen_count(SEEN_RECORD), 3);

	/* A restart: the same state from the records alone. */
	state_free(p.state);
	p.state = state_new(cfg->ndevices);
	seen_replay(vehicle_restore_row, &p);
	/* (Occupancy comes from the journal's newest record that moved
	 * it: 22-vehicles.py restarts across it.) */
	assert_int_equal(p.state->nstays, 1);
	assert_true(p.state->stays[0].alerted);
	vehicle_tick(&p, now + 7200 * 1000);
	assert_int_equal(seen_count(SEEN_RECORD), 0);
	/* The car leaves through the in lane? No: an exit ends the stay. */
	assert_true(state_stay_end(p.state, "吉A88888"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_passage_and_tailgating,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_refusals_alert, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_overstay_and_restore,
		    fresh, stub_done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
