/*
 * test_rules.c - the gate decision at any time of any day: tables are
 * loaded from a small compound written to a temporary directory, and the
 * clock is whatever each case says.
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

#include "access.h"
#include "config.h"
#include "driver.h"
#include "rules.h"
#include "util.h"

static const char gateway_ini[] = "[gateway]\n"
                                  "site = test\n"
                                  "data_dir = data\n"
                                  "access_dir = access.d\n"
                                  "[device gate-north]\n"
                                  "driver = face_gate\n"
                                  "min_score = 0.80\n"
                                  "[device gate-south]\n"
                                  "driver = face_gate\n"
                                  "[device gate-garage]\n"
                                  "driver = face_gate\n"
                                  "direction = out\n"
                                  "[device gate-east]\n"
                                  "driver = face_gate\n"
                                  "direction = in\n";

static const char access_ini[] = "[group resident]\n"
                                 "gates = *\n"
                                 "hours = always\n"
                                 "[group cleaner]\n"
                                 "gates = gate-north, gate-south\n"
                                 "hours = mon-sat 06:00-20:00\n"
                                 "[group night]\n"
                                 "gates = gate-south\n"
                                 "hours = 22:00-06:00\n"
                                 "[person P0001]\n"
                                 "name = 张三\n"
                                 "household = 5-2-301\n"
                                 "groups = resident\n"
                                 "cards = 0012345678\n"
                                 "valid_until = 2026-12-31\n"
                                 "[person C0001]\n"
                                 "name = 王阿姨\n"
                                 "groups = cleaner\n"
                                 "[person N0001]\n"
                                 "name = 赵保安\n"
                                 "groups = night\n"
                                 "[person P0666]\n"
                                 "name = 钱某\n"
                                 "household = 5-2-302\n"
                                 "groups = resident\n"
                                 "[visitor V1]\n"
                                 "host = 5-2-301\n"
                                 "name = 李四\n"
                                 "person = PV001\n"
                                 "card = 99887766\n"
                                 "from = 2026-11-23 09:00\n"
                                 "until = 2026-11-23 21:00\n"
                                 "entries = 2\n"
                                 "[deny P0666]\n"
                                 "reason = moved out, keys not returned\n"
                                 "[deny P0999]\n"
                                 "reason = banned\n";

static struct config *cfg;
static struct access_tables *tables;
static struct state *live; /* entries used: the loop's, not the tables' */

static int
setup(void **state)
{
	(void)state;
	return compound_start("test_rules", gateway_ini, access_ini, &cfg,
	    &tables, &live);
}

static int
teardown(void **state)
{
	(void)state;
	return compound_stop(cfg, tables, live);
}

#define at compound_at

static struct access_request
face(const char *person, double score, enum direction dir)
{
	struct access_request r = { 0 };

	str_copy(r.request, "req-1", sizeof(r.request));
	str_copy(r.subject, person, sizeof(r.subject));
	r.credential = CREDENTIAL_FACE;
	r.score = score;
	r.direction = dir;
	return r;
}

static struct access_request
card(const char *number)
{
	struct access_request r = { 0 };

	str_copy(r.request, "req-2", sizeof(r.request));
	str_copy(r.subject, number, sizeof(r.subject));
	r.credential = CREDENTIAL_CARD;
	r.score = -1;
	return r;
}

static struct rules_decision
decide(const char *gate, struct access_request r, const struct rules_clock *c)
{
	struct rules_decision d;

	rules_gate(tables, config_device(cfg, gate), live, &r, c, 30000, &d);
	return d;
}

static void
test_resident(void **state)
{
	struct rules_clock c;
	struct rules_decision d;

	(void)state;
	at(&c, 2026, 11, 23, 3, 0);
	d = decide("gate-north", face("P0001", 0.93, DIRECTION_IN), &c);
	ALLOWS(d, "group");
	assert_string_equal(d.group->name, "resident");
	assert_string_equal(access_str(tables, d.person->household), "5-2-301");
	/* By card, at another gate. */
	ALLOWS(decide("gate-south", card("0012345678"), &c), "group");
	/* Below the gate's min_score: not sure who it is. */
	DENIES(decide("gate-north", face("P0001", 0.79, DIRECTION_IN), &c),
	    "low_score");
	ALLOWS(decide("gate-north", face("P0001", 0.80, DIRECTION_IN), &c),
	    "group");
}

static void
test_valid_until(void **state)
{
	struct rules_clock c;

	(void)state;
	/* The last valid day is valid to its last minute. */
	at(&c, 2026, 12, 31, 23, 59);
	ALLOWS(decide("gate-north", face("P0001", 0.9, DIRECTION_IN), &c),
	    "group");
	at(&c, 2027, 1, 1, 0, 0);
	DENIES(decide("gate-north", face("P0001", 0.9, DIRECTION_IN), &c),
	    "expired");
	DENIES(decide("gate-north", card("0012345678"), &c), "expired");
	/* Going out is never refused for an expired pass. */
	ALLOWS(decide("gate-north", face("P0001", 0.9, DIRECTION_OUT), &c),
	    "exit");
}

static void
test_cleaner_hours(void **state)
{
	struct rules_clock c;
	struct rules_decision d;

	(void)state;
	at(&c, 2026, 11, 23, 6, 0); /* Monday, start: inside */
	ALLOWS(decide("gate-north", face("C0001", 0.9, 0), &c), "group");
	at(&c, 2026, 11, 23, 19, 59);
	ALLOWS(decide("gate-north", face("C0001", 0.9, 0), &c), "group");
	at(&c, 2026, 11, 23, 20, 0); /* end: outside */
	d = decide("gate-north", face("C0001", 0.9, 0), &c);
	DENIES(d, "outside_hours");
	assert_string_equal(d.group->name, "cleaner");
	at(&c, 2026, 11, 23, 5, 59);
	DENIES(decide("gate-north", face("C0001", 0.9, 0), &c),
	    "outside_hours");
	at(&c, 2026, 11, 29, 10, 0); /* Sunday */
	DENIES(decide("gate-north", face("C0001", 0.9, 0), &c),
	    "outside_hours");
	at(&c, 2026, 11, 28, 10, 0); /* Saturday */
	ALLOWS(decide("gate-north", face("C0001", 0.9, 0), &c), "group");
	/* The east gate is not one of the group's. */
	at(&c, 2026, 11, 23, 10, 0);
	DENIES(decide("gate-east", face("C0001", 0.9, DIRECTION_IN), &c),
	    "wrong_gate");
}

static void
test_past_midnight(void **state)
{
	struct rules_clock c;

	(void)state;
	at(&c, 2026, 11, 23, 22, 0);
	ALLOWS(decide("gate-south", face("N0001", 0.9, 0), &c), "group");
	at(&c, 2026, 11, 24, 5, 59);
	ALLOWS(decide("gate-south", face("N0001", 0.9, 0), &c), "group");
	at(&c, 2026, 11, 24, 6, 0);
	DENIES(decide("gate-south", face("N0001", 0.9, 0), &c),
	    "outside_hours");
	at(&c, 2026, 11, 24, 21, 59);
	DENIES(decide("gate-south", face("N0001", 0.9, 0), &c),
	    "outside_hours");
	DENIES(decide("gate-north", face("N0001", 0.9, 0), &c), "wrong_gate");
}

static void
test_unknown_and_denied(void **state)
{
	struct rules_clock c;
	struct rules_decision d;

	(void)state;
	at(&c, 2026, 11, 23, 12, 0);
	d = decide("gate-north", face("P0099", 0.99, 0), &c);
	DENIES(d, "unknown");
	assert_null(d.person);
	DENIES(decide("gate-north", card("000000"), &c), "unknown");
	/* Denied though a resident, in and out alike. */
	d = decide("gate-north", face("P0666", 0.99, 0), &c);
	DENIES(d, "denied");
	assert_string_equal(access_str(tables, d.deny->reason),
	    "moved out, keys not returned");
	/* Going out through a two-way gate takes a recognised identity,
	 * and that is all: someone denied who is inside may leave. */
	d = decide("gate-north", face("P0666", 0.99, DIRECTION_OUT), &c);
	ALLOWS(d, "exit");
	assert_non_null(d.deny);
	DENIES(decide("gate-north", face("P0099", 0.99, DIRECTION_OUT), &c),
	    "unknown");
	DENIES(decide("gate-north", face("P0001", 0.10, DIRECTION_OUT), &c),
	    "low_score");
	/* A gate set up as an exit holds nobody: not the unknown, not a
	 * doubtful match; the record says who it was. */
	d = decide("gate-garage", face("P0099", 0.99, DIRECTION_OUT), &c);
	ALLOWS(d, "exit");
	assert_null(d.person);
	ALLOWS(decide("gate-garage", face("P0001", 0.10, 0), &c), "exit");
	/* Denied and not in the tables at all. */
	DENIES(decide("gate-north", face("P0999", 0.99, 0), &c), "denied");
}

static void
test_visitor(void **state)
{
	const struct access_visitor *v = access_find_visitor(tables, "V1");
	struct rules_clock c;
	struct rules_decision d;

	(void)state;
	assert_non_null(v);
	assert_int_equal(state_entries_used(live, "V1"), 0);
	at(&c, 2026, 11, 23, 8, 59);
	DENIES(decide("gate-north", face("PV001", 0.9, 0), &c),
	    "visitor_window");
	at(&c, 2026, 11, 23, 9, 0);
	d = decide("gate-north", face("PV001", 0.9, 0), &c);
	ALLOWS(d, "visitor");
	assert_true(d.uses_entry);
	assert_ptr_equal(d.visitor, v);
	assert_int_equal(state_entries_add(live, "V1", 1), 0);
	d = decide("gate-south", card("99887766"), &c);
	ALLOWS(d, "visitor");
	assert_int_equal(state_entries_add(live, "V1", 1), 0);
	assert_int_equal(state_entries_used(live, "V1"), 2);
	/* Another visitor's entries are their own. */
	assert_int_equal(state_entries_used(live, "V2"), 0);
	DENIES(decide("gate-north", face("PV001", 0.9, 0), &c), "no_entries");
	/* Going out uses no entry, and works after the window too. */
	d = decide("gate-north", face("PV001", 0.9, DIRECTION_OUT), &c);
	ALLOWS(d, "exit");
	assert_false(d.uses_entry);
	at(&c, 2026, 11, 23, 21, 0);
	ALLOWS(decide("gate-north", face("PV001", 0.9, DIRECTION_OUT), &c),
	    "exit");
	DENIES(decide("gate-north", face("PV001", 0.9, 0), &c),
	    "visitor_window");
}

static void
test_direction_and_stale(void **state)
{
	struct access_request r = face("P0001", 0.9, 0);
	struct rules_clock c;
	struct rules_decision d;

	(void)state;
	at(&c, 2026, 11, 23, 12, 0);
	/* A gate that only lets people out: its requests are exits. */
	d = decide("gate-garage", r, &c);
	assert_int_equal(d.direction, DIRECTION_OUT);
	ALLOWS(d, "exit");
	assert_int_equal(decide("gate-north", r, &c).direction, DIRECTION_IN);

	r.ts_ms = c.now_ms - 30000;
	ALLOWS(decide("gate-north", r, &c), "group");
	r.ts_ms = c.now_ms - 30001;
	DENIES(decide("gate-north", r, &c), "stale");
	r.ts_ms = c.now_ms + 60000;
	DENIES(decide("gate-north", r, &c), "stale");
	/* An entrance decides the direction, whatever the terminal says:
	 * "out" there must not let an expired pass in. */
	at(&c, 2027, 1, 1, 12, 0);
	r.ts_ms = 0;
	r.direction = DIRECTION_OUT;
	d = decide("gate-east", r, &c);
	assert_int_equal(d.direction, DIRECTION_IN);
	DENIES(d, "expired");
	/* An exit whose terminal says "in": one of them is set up wrong,
	 * and the request is decided as coming in, the stricter way. */
	d = decide("gate-garage", face("P0001", 0.9, DIRECTION_IN), &c);
	assert_int_equal(d.direction, DIRECTION_IN);
	DENIES(d, "expired");
	DENIES(decide("gate-garage", face("P0099", 0.9, DIRECTION_IN), &c),
	    "unknown");
	/* An exit opens whatever the terminal's clock says. */
	r.ts_ms = c.now_ms - 3600 * 1000;
	r.direction = 0;
	ALLOWS(decide("gate-garage", r, &c), "exit");
	at(&c, 2026, 11, 23, 12, 0);
	r.ts_ms = c.now_ms + 60000;
	r.direction = 0;
	/* stale_ms 0: not checked (clock not trusted). */
	rules_gate(tables, config_device(cfg, "gate-north"), live, &r, &c, 0,
	    &d);
	ALLOWS(d, "group");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resident),
		cmocka_unit_test(test_valid_until),
		cmocka_unit_test(test_cleaner_hours),
		cmocka_unit_test(test_past_midnight),
		cmocka_unit_test(test_unknown_and_denied),
		cmocka_unit_test(test_visitor),
		cmocka_unit_test(test_direction_and_stale),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
