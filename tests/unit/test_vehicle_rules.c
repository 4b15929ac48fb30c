/*
 * test_vehicle_rules.c - plates as cameras spell them, the fuzzy match,
 * and the barrier decision at any time (DESIGN §5, vehicles): tables
 * loaded from a small compound, the clock whatever each case says.
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
#include "plate.h"
#include "rules.h"
#include "util.h"

static const char gateway_ini[] = "[gateway]\n"
                                  "site = test\n"
                                  "data_dir = data\n"
                                  "access_dir = access.d\n"
                                  "[device lpr-in]\n"
                                  "driver = lpr\n"
                                  "min_confidence = 0.9\n"
                                  "[device lpr-out]\n"
                                  "driver = lpr\n"
                                  "[device lpr-both]\n"
                                  "driver = lpr\n"
                                  "[device barrier-in]\n"
                                  "driver = barrier_mqtt\n"
                                  "lane = in\n"
                                  "camera = lpr-in\n"
                                  "[device barrier-out]\n"
                                  "driver = barrier_mqtt\n"
                                  "lane = out\n"
                                  "camera = lpr-out\n"
                                  "[device barrier-both]\n"
                                  "driver = barrier_mqtt\n"
                                  "camera = lpr-both\n";

static const char access_ini[] = "[group resident]\n"
                                 "gates = *\n"
                                 "hours = always\n"
                                 "[person P0001]\n"
                                 "name = 张三\n"
                                 "household = 5-2-301\n"
                                 "groups = resident\n"
                                 "[vehicle 吉A12345]\n"
                                 "household = 5-2-301\n"
                                 "plan = monthly\n"
                                 "valid_until = 2026-12-31\n"
                                 "[vehicle 吉AD12345]\n" /* new energy */
                                 "household = 5-2-301\n"
                                 "plan = owner\n"
                                 "[vehicle 吉E10000]\n"
                                 "plan = staff\n"
                                 "[vehicle 吉EI0000]\n"
                                 "plan = staff\n"
                                 "[visitor V1]\n"
                                 "host = 5-2-301\n"
                                 "name = 李四\n"
                                 "plate = 吉A88888\n"
                                 "person = PV001\n"
                                 "from = 2026-11-23 09:00\n"
                                 "until = 2026-11-23 21:00\n"
                                 "entries = 2\n"
                                 "[visitor V2]\n" /* the same car, later */
                                 "host = 5-2-301\n"
                                 "plate = 吉A·88888\n"
                                 "from = 2026-11-25 09:00\n"
                                 "until = 2026-11-25 21:00\n"
                                 "entries = 1\n"
                                 "[deny 吉B00000]\n"
                                 "reason = 欠费\n";

static struct config *cfg;
static struct access_tables *tables;
static struct state *live;

static int
setup(void **state)
{
	(void)state;
	return compound_start("test_vehicle_rules", gateway_ini, access_ini,
	    &cfg, &tables, &live);
}

static int
teardown(void **state)
{
	(void)state;
	return compound_stop(cfg, tables, live);
}

#define at compound_at

static const char *
norm(const char *plate)
{
	static char out[PLATE_MAX];

	return plate_normalise(plate, out, sizeof(out)) == 0 ? out : "-";
}

static void
test_normalise(void **state)
{
	(void)state;
	assert_string_equal(norm("吉A12345"), "吉A12345");
	assert_string_equal(norm("吉a 12345"), "吉A12345");
	assert_string_equal(norm("吉A·12345"), "吉A12345");
	assert_string_equal(norm("吉Ａ１２３４５"), "吉A12345");
	assert_string_equal(norm("吉A\u300012345"), "吉A12345");
	assert_string_equal(norm(" 吉A-123.45 "), "吉A12345");
	assert_string_equal(norm("吉ad12345"), "吉AD12345"); /* 8: new energy */
	assert_string_equal(norm("吉A1234"), "-");
	assert_string_equal(norm("吉A1234567"), "-");
	assert_string_equal(norm("无牌车"), "-");
	assert_string_equal(norm("\xff\xfe"), "-");
}

static void
test_match(void **state)
{
	struct access_plate_match m;
	char skeleton[PLATE_MAX];

	(void)state;
	assert_int_equal(plate_skeleton("吉AD8B2Z5S1IQ", skeleton,
	                     sizeof(skeleton)),
	    0);
	assert_string_equal(skeleton, "吉A0882255110");

	assert_int_equal(access_match_plate(tables, "吉A12345", &m), 1);
	assert_false(m.fuzzy);
	assert_string_equal(m.plate, "吉A12345");
	assert_non_null(m.vehicle);
	/* 1/I and 5/S misread: one registered plate fits. */
	assert_int_equal(access_match_plate(tables, "吉AI234S", &m), 1);
	assert_true(m.fuzzy);
	assert_string_equal(m.plate, "吉A12345");
	/* Two registered plates fit: it proves nothing. */
	assert_int_equal(access_match_plate(tables, "吉E1D000", &m), -1);
	/* ...but each of them read right is itself. */
	assert_int_equal(access_match_plate(tables, "吉EI0000", &m), 1);
	assert_false(m.fuzzy);
	assert_int_equal(access_match_plate(tables, "吉C99999", &m), 0);
	/* A visitors' plate, registered twice (two visits). */
	assert_int_equal(access_match_plate(tables, "吉A88888", &m), 1);
	assert_null(m.vehicle);
	assert_int_equal(m.nvisitors, 2);
	assert_string_equal(access_str(tables,
	                        access_match_visitor(tables, &m, 1)->id),
	    "V2");
}

static struct rules_vehicle
drive(const char *barrier, const char *plate, enum direction dir,
    double confidence, const struct rules_clock *c, bool full)
{
	const struct device *b = config_device(cfg, barrier);
	struct plate_read r = { 0 };
	struct rules_vehicle d;

	str_copy(r.request, "req-1", sizeof(r.request));
	str_copy(r.plate, plate, sizeof(r.plate));
	r.confidence = confidence;
	r.direction = dir;
	rules_vehicle(tables, b, device_barrier(b)->camera, live, &r, c, 30000,
	    full, &d);
	return d;
}

static void
test_residents(void **state)
{
	struct rules_vehicle d;
	struct rules_clock c;

	(void)state;
	at(&c, 2026, 12, 31, 23, 59); /* the last valid day */
	d = drive("barrier-in", "吉a·12345", 0, 0.95, &c, true);
	ALLOWS(d, "plan"); /* a full lot does not stop residents */
	assert_int_equal(d.direction, DIRECTION_IN);
	assert_int_equal(d.vehicle->plan, ACCESS_PLAN_MONTHLY);
	assert_false(d.uses_entry);
	ALLOWS(drive("barrier-in", "吉AD12345", 0, 0.95, &c, false), "plan");
	d = drive("barrier-in", "吉AI2345", 0, 0.95, &c, false);
	ALLOWS(d, "plan");
	assert_true(d.match.fuzzy);
	at(&c, 2027, 1, 1, 0, 0);
	DENIES(drive("barrier-in", "吉A12345", 0, 0.95, &c, false), "expired");
	DENIES(drive("barrier-in", "吉E1D000", 0, 0.95, &c, false), "unknown");
	DENIES(drive("barrier-in", "吉B00000", 0, 0.95, &c, false), "denied");
	DENIES(drive("barrier-in", "无牌车", 0, 0.95, &c, false), "unknown");
	DENIES(drive("barrier-in", "吉AD12345", 0, 0.5, &c, false),
	    "low_confidence");
}

static void
test_visitors(void **state)
{
	struct rules_vehicle d;
	struct rules_clock c;

	(void)state;
	at(&c, 2026, 11, 23, 8, 59);
	DENIES(drive("barrier-in", "吉A88888", 0, 0.95, &c, false),
	    "visitor_window");
	at(&c, 2026, 11, 23, 12, 0);
	DENIES(drive("barrier-in", "吉A88888", 0, 0.95, &c, true), "full");
	d = drive("barrier-in", "吉A88888", 0, 0.95, &c, false);
	ALLOWS(d, "visitor");
	assert_true(d.uses_entry);
	assert_string_equal(access_str(tables, d.visitor->id), "V1");
	/* One budget with the face gates: an entry on foot counts. */
	assert_int_equal(state_entries_add(live, "V1", 2), 0);
	d = drive("barrier-in", "吉A88888", 0, 0.95, &c, false);
	DENIES(d, "no_entries");
	assert_false(d.uses_entry);
	/* The same car on its second visit is the other visitor. */
	at(&c, 2026, 11, 25, 12, 0);
	d = drive("barrier-in", "吉A88888", 0, 0.95, &c, false);
	ALLOWS(d, "visitor");
	assert_string_equal(access_str(tables, d.visitor->id), "V2");
	/* Going out uses nothing and needs no window. */
	at(&c, 2026, 12, 1, 12, 0);
	d = drive("barrier-out", "吉A88888", 0, 0.95, &c, false);
	ALLOWS(d, "exit");
	assert_false(d.uses_entry);
	assert_non_null(d.visitor);
}

static void
test_lanes(void **state)
{
	struct rules_vehicle d;
	struct rules_clock c;

	(void)state;
	at(&c, 2026, 11, 23, 12, 0);
	DENIES(drive("barrier-in", "吉A12345", DIRECTION_OUT, 0.95, &c, false),
	    "wrong_way");
	DENIES(drive("barrier-out", "吉A12345", DIRECTION_IN, 0.95, &c, false),
	    "wrong_way");
	/* An exit opens for any plate read: unknown, denied, unsure. */
	ALLOWS(drive("barrier-out", "吉C99999", 0, 0.95, &c, false), "exit");
	ALLOWS(drive("barrier-out", "吉B00000", 0, 0.95, &c, false), "exit");
	ALLOWS(drive("barrier-out", "无牌车", 0, 0.1, &c, false), "exit");
	d = drive("barrier-both", "吉C99999", DIRECTION_OUT, 0.95, &c, false);
	ALLOWS(d, "exit");
	assert_int_equal(d.direction, DIRECTION_OUT);
	d = drive("barrier-both", "吉C99999", 0, 0.95, &c, false);
	DENIES(d, "unknown");
	assert_int_equal(d.direction, DIRECTION_IN);
}

static void
test_stale(void **state)
{
	const struct device *b = config_device(cfg, "barrier-in");
	struct plate_read r = { .confidence = 0.95 };
	struct rules_vehicle d;
	struct rules_clock c;

	(void)state;
	at(&c, 2026, 11, 23, 12, 0);
	str_copy(r.plate, "吉A12345", sizeof(r.plate));
	r.ts_ms = c.now_ms - 31000;
	rules_vehicle(tables, b, device_barrier(b)->camera, live, &r, &c, 30000,
	    false, &d);
	DENIES(d, "stale");
	/* stale_ms 0: the clock is not trusted, not checked. */
	rules_vehicle(tables, b, device_barrier(b)->camera, live, &r, &c, 0,
	    false, &d);
	ALLOWS(d, "plan");
}

/* What a user sees as an alert: unknown and denied plates coming in. */
static void
test_alerts(void **state)
{
	struct rules_vehicle d;
	struct rules_clock c;

#define ALERT(d) (rules_vehicle_alert(&(d)) ? rules_vehicle_alert(&(d)) : "")
	(void)state;
	at(&c, 2026, 11, 23, 12, 0);
	d = drive("barrier-in", "吉E1D000", 0, 0.95, &c, false);
	assert_string_equal(ALERT(d), "vehicle_unknown");
	d = drive("barrier-in", "无牌车", 0, 0.95, &c, false);
	assert_string_equal(ALERT(d), "vehicle_unknown");
	d = drive("barrier-in", "吉B00000", 0, 0.95, &c, false);
	assert_string_equal(ALERT(d), "vehicle_denied");
	/* Allowed, or refused for what is no intruder's doing. */
	d = drive("barrier-in", "吉A12345", 0, 0.95, &c, false);
	assert_string_equal(ALERT(d), "");
	d = drive("barrier-in", "吉E1D000", 0, 0.5, &c, false);
	DENIES(d, "low_confidence");
	assert_string_equal(ALERT(d), "");
	d = drive("barrier-in", "吉E1D000", DIRECTION_OUT, 0.95, &c, false);
	DENIES(d, "wrong_way");
	assert_string_equal(ALERT(d), "");
	at(&c, 2026, 11, 25, 12, 0);
	d = drive("barrier-in", "吉A88888", 0, 0.95, &c, true);
	DENIES(d, "full");
	assert_string_equal(ALERT(d), "");
	at(&c, 2026, 11, 23, 8, 59);
	d = drive("barrier-in", "吉A88888", 0, 0.95, &c, false);
	DENIES(d, "visitor_window");
	assert_string_equal(ALERT(d), "");
	at(&c, 2027, 1, 1, 0, 0);
	d = drive("barrier-in", "吉A12345", 0, 0.95, &c, false);
	DENIES(d, "expired");
	assert_string_equal(ALERT(d), "");
	/* Going out opens for the unknown and the denied alike. */
	d = drive("barrier-out", "吉B00000", 0, 0.95, &c, false);
	ALLOWS(d, "exit");
	assert_string_equal(ALERT(d), "");
#undef ALERT
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_residents),
		cmocka_unit_test(test_visitors),
		cmocka_unit_test(test_lanes),
		cmocka_unit_test(test_stale),
		cmocka_unit_test(test_alerts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
