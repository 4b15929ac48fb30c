/*
 * test_charging.c - the charging points' pipeline (charging.c) between a
 * port's readings and what leaves: sessions started and ended with their
 * reasons, the cut-off sent ahead of the journal and kept while the port
 * is hot, a battery full after full_min and not after a dip, fault
 * codes, a station gone offline, staff requests answered.  The journal
 * and the outbox are stubs that keep what charging.c hands them
 * (pipeline_stubs.h).
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
#include "driver.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

static const char gateway_ini[] = "[gateway]\n"
                                  "site = test\n"
                                  "data_dir = data\n"
                                  "access_dir = access.d\n"
                                  "[bus b1]\n"
                                  "type = tcp\n"
                                  "host = 127.0.0.1\n"
                                  "[device charger-a]\n"
                                  "driver = charger\n"
                                  "bus = b1\n"
                                  "unit = 2\n"
                                  "ports = 4\n"
                                  "max_current_a = 5\n"
                                  "max_temp_c = 60\n"
                                  "full_w = 10\n"
                                  "full_min = 0.01\n"; /* 600 ms */

static const char access_ini[] = "[group resident]\n"
                                 "gates = *\n"
                                 "hours = always\n";

static struct pipeline p;
static struct config *cfg;
static struct access_tables *tables;

/* The last record as "decision reason body", "-" for either it has
 * not: what the checks below look for in it. */
static const char *
last_record(void)
{
	static char line[2048];
	char decision[64];
	size_t i = seen_last(SEEN_RECORD);
	const char *reason;
	int n;

	str_copy(decision, seen_member(i, "decision"), sizeof(decision));
	reason = seen_member(i, "reason");
	n = snprintf(line, sizeof(line), "%s %s %s",
	    decision[0] ? decision : "-", reason[0] ? reason : "-",
	    seen[i].text);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	return line;
}

/* ---- fixtures ---- */

static int
setup(void **state)
{
	(void)state;
	return compound_start("test_charging", gateway_ini, access_ini, &cfg,
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

static const struct device *
charger(void)
{
	return config_device(cfg, "charger-a");
}

/* Port 2 as the station reads it. */
static void
reads(enum port_state st, bool enabled, double watts, double amps,
    double celsius, double wh)
{
	struct event ev = { .type = EVENT_TELEMETRY };
	struct telemetry *t = &ev.u.telemetry;

	t->port = 2;
	t->have = TELEMETRY_STATE | TELEMETRY_POWER | TELEMETRY_CURRENT |
	    TELEMETRY_TEMP | TELEMETRY_ENERGY | TELEMETRY_ENABLED;
	t->state = st;
	t->enabled = enabled;
	t->power_w = watts;
	t->current_a = amps;
	t->temp_c = celsius;
	t->energy_wh = wh;
	pipeline_event(&p, charger(), &ev);
}

static void
ask(const char *id, const char *action, unsigned port, double limit)
{
	struct event ev = { .type = EVENT_CHARGER_REQUEST };
	struct charger_request *rq = &ev.u.charger;

	str_copy(rq->request, id, sizeof(rq->request));
	str_copy(rq->action_text, action, sizeof(rq->action_text));
	rq->action = strcmp(action, "start") == 0 ? COMMAND_CHARGER_START :
	    strcmp(action, "stop") == 0           ? COMMAND_CHARGER_STOP :
	                                            0;
	rq->port = port;
	rq->limit_a = limit;
	pipeline_event(&p, charger(), &ev);
}

static void
test_session_and_heat(void **state)
{
	(void)state;
	pipeline_online(&p, charger(), true, "answers");
	reads(PORT_PLUGGED, false, 0, 0, -20.0, 100000);
	assert_int_equal(seen_count(SEEN_COMMAND),
	    0); /* a winter night is no fault */
	assert_non_null(strstr(seen_published(),
	    "cg/test/charger/charger-a/2/state {\"state\":\"plugged\""));
	reads(PORT_CHARGING, true, 180, 0.8, 25, 100000);
	assert_non_null(strstr(last_record(), "start - "));
	reads(PORT_CHARGING, true, 182, 0.8, 25.2, 100050);
	assert_int_equal(seen_count(SEEN_PUBLISH),
	    2); /* nothing meaningful changed */

	/* Too hot: off at once, ahead of the journal, and why. */
	reads(PORT_CHARGING, true, 180, 0.8, 72.4, 100120);
	assert_int_equal(seen_count(SEEN_COMMAND), 1);
	assert_true(seen_command(0)->type == SEEN_NOW);
	assert_int_equal(seen_command(0)->cmd.action, COMMAND_CHARGER_STOP);
	assert_int_equal(seen_command(0)->cmd.port, 2);
	assert_non_null(strstr(last_record(), "end over_temperature"));
	assert_non_null(strstr(last_record(), "\"temp_c\":72.4"));
	assert_non_null(strstr(last_record(), "\"energy_wh\":120"));
	assert_string_equal(seen_member(seen_last(SEEN_RECORD), "alert"),
	    "over_temperature");
	assert_string_equal(seen_member(seen_last(SEEN_RECORD), "severity"),
	    "major");

	/* Still hot: a start is refused, with the reason. */
	ask("r-1", "start", 2, 0);
	assert_non_null(strstr(seen_published(),
	    "2/result {\"request\":\"r-1\",\"ok\":false,\"error\":\"port 2 "
	    "is too hot"));
	/* Switched on again at the station while hot: cut again (after
	 * the one-second grace between cuts). */
	state_device(p.state, charger()->index)->ports[1].cut_ms -= 2000;
	reads(PORT_PLUGGED, true, 0, 0, 65, 0);
	assert_int_equal(seen_count(SEEN_COMMAND), 2);
	assert_true(seen_command(1)->type == SEEN_NOW);
	/* Journaled, within the cool-down of the first: no new alert. */
	assert_non_null(strstr(last_record(), "cut over_temperature"));
	assert_string_equal(seen_member(seen_last(SEEN_RECORD), "suppressed"),
	    "true");
	assert_string_equal(seen_member(seen_last(SEEN_RECORD), "alert"), "");
	/* Cooled: a start goes to the bus and is answered when done. */
	reads(PORT_PLUGGED, false, 0, 0, 55, 0);
	ask("r-2", "start", 2, 3.5);
	assert_int_equal(seen_count(SEEN_COMMAND), 3);
	assert_false(seen_command(2)->type == SEEN_NOW);
	assert_int_equal(seen_command(2)->cmd.action, COMMAND_CHARGER_START);
	assert_true(seen_command(2)->cmd.limit_a == 3.5);
	{
		struct command c = { .action = COMMAND_CHARGER_START,
			.port = 2,
			.request = "r-2" };

		pipeline_command_done(&p, charger(), &c, BUS_DONE, "");
	}
	assert_non_null(strstr(seen_published(),
	    "2/result {\"request\":\"r-2\",\"ok\":true}"));
	/* The same id again: nothing sent, nothing answered. */
	ask("r-2", "start", 2, 3.5);
	assert_int_equal(seen_count(SEEN_COMMAND), 3);
}

static void
test_over_current(void **state)
{
	(void)state;
	pipeline_online(&p, charger(), true, "answers");
	reads(PORT_CHARGING, true, 150, 0.7, 30, 0);
	reads(PORT_CHARGING, true, 1500, 7.5, 30, 10);
	assert_int_equal(seen_count(SEEN_COMMAND), 1);
	assert_true(seen_command(0)->type == SEEN_NOW);
	assert_non_null(strstr(last_record(), "end over_current"));
	assert_non_null(strstr(last_record(), "\"current_a\":7.5"));
	assert_string_equal(seen_member(seen_last(SEEN_RECORD), "alert"),
	    "over_current");
	assert_string_equal(seen_member(seen_last(SEEN_RECORD), "suppressed"),
	    "false");
}

static void
test_full_dip_fault_offline(void **state)
{
	(void)state;
	pipeline_online(&p, charger(), true, "answers");
	reads(PORT_CHARGING, true, 150, 0.7, 30, 500);
	/* A dip shorter than full_min does not stop it. */
	reads(PORT_CHARGING, true, 5, 0.1, 30, 510);
	reads(PORT_CHARGING, true, 150, 0.7, 30, 520);
	usleep(650 * 1000);
	reads(PORT_CHARGING, true, 150, 0.7, 30, 530);
	assert_int_equal(seen_count(SEEN_COMMAND), 0);
	/* Below full_w for full_min: stopped as full. */
	reads(PORT_CHARGING, true, 4, 0.05, 30, 540);
	usleep(650 * 1000);
	reads(PORT_CHARGING, true, 4, 0.05, 30, 541);
	assert_int_equal(seen_count(SEEN_COMMAND), 1);
	assert_non_null(strstr(last_record(), "end full"));
	assert_string_equal(seen_member(seen_last(SEEN_RECORD), "alert"), "");
	assert_non_null(strstr(last_record(), "\"energy_wh\":41"));

	/* A fault code, on a port doing nothing: journaled once. */
	reads(PORT_PLUGGED, false, 0, 0, 30, 541);
	reads(PORT_FAULT, false, 0, 0, 30, 0);
	{
		struct event ev = { .type = EVENT_TELEMETRY };

		ev.u.telemetry.port = 2;
		ev.u.telemetry.state = PORT_FAULT;
		ev.u.telemetry.fault = 17;
		pipeline_event(&p, charger(), &ev);
		pipeline_event(&p, charger(), &ev);
	}
	assert_non_null(strstr(last_record(), "fault charger_fault"));
	assert_non_null(strstr(last_record(), "\"fault\":17"));
	assert_string_equal(seen_member(seen_last(SEEN_RECORD), "alert"),
	    "charger_fault");

	/* Charging again, then the station goes silent. */
	reads(PORT_CHARGING, true, 150, 0.7, 30, 0);
	reads(PORT_CHARGING, true, 150, 0.7, 30, 75);
	pipeline_online(&p, charger(), false, "no answer (timeout)");
	assert_non_null(strstr(last_record(), "end offline"));
	assert_non_null(strstr(seen_published(), "{\"state\":\"offline\""));
	ask("r-9", "start", 2, 0);
	assert_non_null(strstr(seen_published(),
	    "{\"request\":\"r-9\",\"ok\":false,\"error\":\"station "
	    "offline\"}"));
	ask("r-10", "start", 9, 0);
	assert_non_null(
	    strstr(seen_published(), "unknown port 9 (ports 1 to 4)"));
	ask("r-11", "boost", 1, 0);
	assert_non_null(strstr(seen_published(), "unknown action 'boost'"));
	ask("r-12", "start", 1, 6);
	assert_non_null(strstr(seen_published(), "limit_a 6 out of range"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_and_heat, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_over_current, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_full_dip_fault_offline,
		    fresh, stub_done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
