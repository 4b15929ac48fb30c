/*
 * test_explain.c - gatewayctl explain's answers: each kind of refusal and
 * an allow in the words staff read, with the file:line of the entry
 * that decided, for faces, cards, visitors and plates at any time.
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
#include "explain.h"
#include "rules.h"
#include "state.h"

static const char gateway_ini[] = "[gateway]\n"       /* 1 */
                                  "site = test\n"     /* 2 */
                                  "data_dir = data\n" /* 3 */
                                  "access_dir = access.d\n"
                                  "[parking]\n"    /* 5 */
                                  "capacity = 1\n" /* 6 */
                                  "[device gate-north]\n"
                                  "driver = face_gate\n"
                                  "min_score = 0.80\n" /* 9 */
                                  "[device gate-south]\n"
                                  "driver = face_gate\n"
                                  "[device gate-garage]\n" /* 12 */
                                  "driver = face_gate\n"
                                  "direction = out\n" /* 14 */
                                  "[device lpr-in]\n" /* 15 */
                                  "driver = lpr\n"
                                  "min_confidence = 0.9\n"
                                  "[device lpr-out]\n" /* 18 */
                                  "driver = lpr\n"
                                  "[device barrier-in]\n" /* 20 */
                                  "driver = barrier_mqtt\n"
                                  "lane = in\n"
                                  "camera = lpr-in\n"
                                  "[device barrier-out]\n" /* 24 */
                                  "driver = barrier_mqtt\n"
                                  "lane = out\n"
                                  "camera = lpr-out\n";

static const char access_ini[] = "[group resident]\n" /* 1 */
                                 "gates = *\n"
                                 "[group cleaner]\n" /* 3 */
                                 "gates = gate-north\n"
                                 "hours = 06:00-20:00\n"
                                 "[person P0001]\n" /* 6 */
                                 "name = 张三\n"
                                 "household = 5-2-301\n"
                                 "groups = resident\n"
                                 "cards = 0012345678\n"
                                 "valid_until = 2026-12-31\n"
                                 "[person C0001]\n" /* 12 */
                                 "name = 王阿姨\n"
                                 "groups = cleaner\n"
                                 "[person P0666]\n" /* 15 */
                                 "household = 5-2-302\n"
                                 "groups = resident\n"
                                 "[deny P0666]\n" /* 18 */
                                 "reason = owes three years of fees\n"
                                 "[visitor V1]\n" /* 20 */
                                 "host = 5-2-301\n"
                                 "name = 李四\n"
                                 "person = PV001\n"
                                 "plate = 吉A88888\n"
                                 "from = 2026-11-23 09:00\n"
                                 "until = 2026-11-23 21:00\n"
                                 "entries = 2\n"
                                 "[vehicle 吉A12345]\n" /* 28 */
                                 "household = 5-2-301\n"
                                 "plan = monthly\n"
                                 "valid_until = 2026-12-31\n"
                                 "[deny 吉B00000]\n" /* 32 */
                                 "reason = stolen\n"
                                 "[visitor V2]\n" /* 34 */
                                 "host = 5-2-301\n"
                                 "plate = 吉A77777\n"
                                 "from = 2026-11-23 09:00\n"
                                 "until = 2026-11-23 21:00\n";

static struct config *cfg;
static struct access_tables *tables;
static struct state *live;

static int
setup(void **state)
{
	(void)state;
	return compound_start("test_explain", gateway_ini, access_ini, &cfg,
	    &tables, &live);
}

static int
teardown(void **state)
{
	(void)state;
	return compound_stop(cfg, tables, live);
}

/* explain at a local time, at one device (NULL: every one). */
static json_t *
ask(const char *who, const char *device, int y, int mo, int d, int h, int mi,
    int fire)
{
	struct rules_clock c;
	const struct device *dev = NULL;
	json_t *o;

	if (device != NULL) {
		dev = config_device(cfg, device);
		assert_non_null(dev);
	}
	compound_at(&c, y, mo, d, h, mi);
	o = explain(tables, cfg, live, who, dev, &c, fire);
	assert_non_null(o);
	return o;
}

static const char *
str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The one verdict of an answer about one device. */
static const json_t *
only(const json_t *o)
{
	const json_t *v = json_object_get(o, "verdicts");

	assert_int_equal(json_array_size(v), 1);
	return json_array_get(v, 0);
}

/* A verdict: allowed or not, its reason, words and where ("" none). */
static void
expect(const json_t *v, bool allow, const char *reason, const char *words,
    const char *where)
{
	assert_int_equal(json_is_true(json_object_get(v, "allow")), allow);
	assert_string_equal(str(v, "reason"), reason);
	assert_string_equal(str(v, "words"), words);
	if (where[0] == '\0')
		assert_true(json_is_null(json_object_get(v, "where")));
	else
		assert_string_equal(str(v, "where"), where);
}

static void
test_person_allowed(void **state)
{
	json_t *o;

	(void)state;
	o = ask("P0001", "gate-north", 2026, 11, 23, 10, 0, 0);
	assert_true(json_is_true(json_object_get(o, "found")));
	assert_string_equal(str(o, "as"), "person");
	assert_string_equal(str(o, "by"), "id");
	assert_string_equal(str(o, "name"), "张三");
	assert_string_equal(str(o, "household"), "5-2-301");
	assert_string_equal(str(o, "where"), "access.d/compound.ini:6");
	assert_string_equal(str(o, "at"), "2026-11-23 10:00");
	expect(only(o), true, "group",
	    "group resident lets P0001 in at gate-north (hours: always)",
	    "access.d/compound.ini:6");
	assert_string_equal(str(only(o), "kind"), "gate");
	assert_string_equal(str(only(o), "group"), "resident");
	json_decref(o);

	/* By card, the same person. */
	o = ask("0012345678", "gate-north", 2026, 11, 23, 10, 0, 0);
	assert_string_equal(str(o, "as"), "person");
	assert_string_equal(str(o, "by"), "card");
	assert_true(json_is_true(json_object_get(only(o), "allow")));
	json_decref(o);
}

/* Without a gate: every gate, none of the barriers; an exit opens. */
static void
test_every_gate(void **state)
{
	const json_t *v;
	json_t *o;

	(void)state;
	o = ask("C0001", NULL, 2026, 11, 23, 22, 14, 0);
	v = json_object_get(o, "verdicts");
	assert_int_equal(json_array_size(v), 3);
	assert_string_equal(str(json_array_get(v, 0), "device"), "gate-north");
	expect(json_array_get(v, 0), false, "outside_hours",
	    "group cleaner lets in 06:00-20:00 only; it is 22:14",
	    "access.d/compound.ini:3");
	assert_string_equal(str(json_array_get(v, 0), "group"), "cleaner");
	expect(json_array_get(v, 1), false, "wrong_gate",
	    "no group of C0001's (cleaner) has gate gate-south",
	    "access.d/compound.ini:12");
	expect(json_array_get(v, 2), true, "exit",
	    "gate-garage is an exit: it opens for anyone going out",
	    "gateway.ini:12");
	json_decref(o);
}

static void
test_expired_and_denied(void **state)
{
	json_t *o;

	(void)state;
	o = ask("P0001", "gate-north", 2027, 1, 5, 10, 0, 0);
	expect(only(o), false, "expired",
	    "P0001 was valid until 2026-12-31; it is 2027-01-05",
	    "access.d/compound.ini:6");
	json_decref(o);

	o = ask("P0666", "gate-north", 2026, 11, 23, 10, 0, 0);
	assert_string_equal(str(o, "as"), "person");
	expect(only(o), false, "denied",
	    "P0666 is on the deny list: owes three years of fees",
	    "access.d/compound.ini:18");
	json_decref(o);
}

static void
test_unknown(void **state)
{
	char lot[3 * 200 + 1];
	const json_t *v;
	json_t *o;
	int i;

	(void)state;
	o = ask("X9999", NULL, 2026, 11, 23, 10, 0, 0);
	assert_true(json_is_false(json_object_get(o, "found")));
	assert_string_equal(str(o, "as"), "unknown");
	assert_string_equal(str(o, "words"), "no file in access.d names X9999");
	assert_null(json_object_get(o, "where"));
	v = json_object_get(o, "verdicts");
	assert_int_equal(json_array_size(v), 3);
	expect(json_array_get(v, 0), false, "unknown",
	    "no file in access.d names X9999", "");
	json_decref(o);

	/* Longer than any id: nobody, in words cut to whole characters. */
	memset(lot, 0, sizeof(lot));
	for (i = 0; i < 200; i++)
		memcpy(lot + i * 3, "长", 3);
	o = ask(lot, "gate-north", 2026, 11, 23, 10, 0, 0);
	assert_true(json_is_false(json_object_get(o, "found")));
	assert_non_null(str(o, "words"));
	assert_int_equal(strncmp(str(o, "words"),
	                     "no file in access.d names 长长",
	                     strlen("no file in access.d names 长长")),
	    0);
	assert_string_equal(str(only(o), "reason"), "unknown");
	assert_int_equal(strncmp(str(only(o), "words"),
	                     "no file in access.d names 长长",
	                     strlen("no file in access.d names 长长")),
	    0);
	json_decref(o);
	/* Asked of every gate, as anybody unknown is. */
	o = ask(lot, NULL, 2026, 11, 23, 10, 0, 0);
	assert_int_equal(json_array_size(json_object_get(o, "verdicts")), 3);
	json_decref(o);

	o = ask("吉C12345", NULL, 2026, 11, 23, 10, 0, 0);
	assert_true(json_is_false(json_object_get(o, "found")));
	v = json_object_get(o, "verdicts");
	assert_int_equal(json_array_size(v), 2); /* the barriers */
	expect(json_array_get(v, 0), false, "unknown",
	    "no file in access.d names plate 吉C12345", "");
	json_decref(o);
}

static void
test_visitor(void **state)
{
	json_t *o;

	(void)state;
	o = ask("PV001", "gate-north", 2026, 11, 23, 10, 0, 0);
	assert_string_equal(str(o, "as"), "visitor");
	assert_string_equal(str(o, "by"), "person id");
	assert_string_equal(str(o, "host"), "5-2-301");
	expect(only(o), true, "visitor",
	    "visitor V1 (李四, visiting 5-2-301) may come in until "
	    "2026-11-23 21:00: this would be entry 1 of 2",
	    "access.d/compound.ini:20");
	json_decref(o);

	o = ask("V1", "gate-north", 2026, 11, 24, 8, 0, 0);
	expect(only(o), false, "visitor_window",
	    "visitor V1 may come in from 2026-11-23 09:00 until 2026-11-23 "
	    "21:00; it is 2026-11-24 08:00",
	    "access.d/compound.ini:20");
	json_decref(o);

	/* Entries used are the live state's, on foot or by car. */
	assert_int_equal(state_entries_add(live, "V1", 2), 0);
	o = ask("V1", NULL, 2026, 11, 23, 10, 0, 0);
	expect(json_array_get(json_object_get(o, "verdicts"), 0), false,
	    "no_entries", "visitor V1 has used 2 of 2 entries",
	    "access.d/compound.ini:20");
	/* Three gates and two barriers: V1 comes on foot and by car. */
	assert_int_equal(json_array_size(json_object_get(o, "verdicts")), 5);
	json_decref(o);

	/* A visitor who only comes by car. */
	o = ask("V2", "gate-north", 2026, 11, 23, 10, 0, 0);
	expect(only(o), false, "not_applicable",
	    "visitor V2 has no person or card: no gate recognises them on "
	    "foot",
	    "access.d/compound.ini:34");
	json_decref(o);
}

static void
test_vehicles(void **state)
{
	json_t *o;

	(void)state;
	o = ask("吉a·12345", "barrier-in", 2026, 11, 23, 10, 0, 0);
	assert_string_equal(str(o, "as"), "vehicle");
	assert_string_equal(str(o, "plan"), "monthly");
	assert_string_equal(str(o, "where"), "access.d/compound.ini:28");
	expect(only(o), true, "plan",
	    "吉A12345 has a monthly plan (5-2-301) valid until 2026-12-31",
	    "access.d/compound.ini:28");
	json_decref(o);

	o = ask("吉A12345", "barrier-in", 2027, 1, 5, 10, 0, 0);
	expect(only(o), false, "expired",
	    "the monthly plan of 吉A12345 lapsed after 2026-12-31; it is "
	    "2027-01-05",
	    "access.d/compound.ini:28");
	json_decref(o);

	o = ask("吉A12345", "barrier-out", 2026, 11, 23, 10, 0, 0);
	expect(only(o), false, "wrong_way",
	    "barrier-out is an out lane: no car comes in through it",
	    "gateway.ini:24");
	json_decref(o);

	o = ask("吉B 00000", "barrier-in", 2026, 11, 23, 10, 0, 0);
	assert_string_equal(str(o, "as"), "denied");
	assert_string_equal(str(o, "reason"), "stolen");
	expect(only(o), false, "denied", "吉B00000 is on the deny list: stolen",
	    "access.d/compound.ini:32");
	json_decref(o);

	/* Read as a camera may misread it: the registered plate decides. */
	o = ask("吉A1234S", "barrier-in", 2026, 11, 23, 10, 0, 0);
	assert_string_equal(str(o, "as"), "vehicle");
	assert_string_equal(str(o, "match"), "fuzzy");
	assert_string_equal(str(o, "where"), "access.d/compound.ini:28");
	expect(only(o), true, "plan",
	    "吉A12345 has a monthly plan (5-2-301) valid until 2026-12-31",
	    "access.d/compound.ini:28");
	json_decref(o);

	/* A plate at a gate is no face. */
	o = ask("吉A12345", "gate-north", 2026, 11, 23, 10, 0, 0);
	expect(only(o), false, "not_applicable",
	    "吉A12345 is a plate: gate gate-north opens for faces and cards",
	    "");
	json_decref(o);
}

static void
test_lot_full(void **state)
{
	json_t *o;

	(void)state;
	live->occupancy = 1;
	o = ask("V2", "barrier-in", 2026, 11, 23, 10, 0, 0);
	expect(only(o), false, "full",
	    "the car park is full (1 of 1 spaces taken): visitors wait, "
	    "residents still pass",
	    "access.d/compound.ini:34");
	json_decref(o);
	o = ask("吉A12345", "barrier-in", 2026, 11, 23, 10, 0, 0);
	assert_true(json_is_true(json_object_get(only(o), "allow")));
	json_decref(o);
	live->occupancy = 0;
}

/* The fire release opens everything, and says what it overrules. */
static void
test_fire(void **state)
{
	json_t *o;

	(void)state;
	o = ask("C0001", "gate-north", 2026, 11, 23, 22, 14, RULES_FIRE_ALARM);
	expect(only(o), true, "fire alarm",
	    "fire alarm: every gate and barrier is held open until staff "
	    "reset it; without it: group cleaner lets in 06:00-20:00 only; "
	    "it is 22:14",
	    "access.d/compound.ini:3");
	assert_string_equal(str(only(o), "overruled"), "outside_hours");
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_person_allowed),
		cmocka_unit_test(test_every_gate),
		cmocka_unit_test(test_expired_and_denied),
		cmocka_unit_test(test_unknown),
		cmocka_unit_test(test_visitor),
		cmocka_unit_test(test_vehicles),
		cmocka_unit_test(test_lot_full),
		cmocka_unit_test(test_fire),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
