/*
 * test_care.c - the wellbeing checks (care.c): a person with care who
 * passes no gate for their period is journaled for the steward, once a
 * period, until a pass ends it; the clock survives a restart through
 * the journal's rows; a reload starts and stops watching.  The journal
 * is a stub that keeps the records (pipeline_stubs.h); the clock is the
 * test's.
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
#include "care.h"
#include "config.h"
#include "datetime.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

#define MINUTE 60000LL
#define DAY    (1440 * MINUTE)

static const char gateway_ini[] = "[gateway]\n"
                                  "site = test\n"
                                  "data_dir = data\n"
                                  "access_dir = access.d\n"
                                  "[care]\n"
                                  "steward.5 = 13700000005\n"
                                  "[device gate-north]\n"
                                  "driver = face_gate\n";

static const char access_ini[] = "[group resident]\n"
                                 "gates = *\n"
                                 "[person P1]\n"
                                 "name = 张三丰\n"
                                 "household = 5-2-301\n"
                                 "groups = resident\n"
                                 "care = daily\n"
                                 "[person P2]\n"
                                 "name = 李四\n"
                                 "household = 12-1-101\n"
                                 "groups = resident\n"
                                 "care = weekly\n"
                                 "[person P3]\n"
                                 "name = 王五\n"
                                 "household = 5-2-302\n"
                                 "groups = resident\n";

/* After a reload: P1 gone, P2 without care, P5 new. */
static const char access_reloaded[] = "[group resident]\n"
                                      "gates = *\n"
                                      "[person P2]\n"
                                      "name = 李四\n"
                                      "household = 12-1-101\n"
                                      "groups = resident\n"
                                      "[person P3]\n"
                                      "name = 王五\n"
                                      "household = 5-2-302\n"
                                      "groups = resident\n"
                                      "[person P5]\n"
                                      "name = 赵六\n"
                                      "household = 5-1-101\n"
                                      "groups = resident\n"
                                      "care = daily\n";

static struct pipeline p;
static struct config *cfg;
static struct access_tables *tables;
static int64_t t0; /* the tests' clock starts here */

/* ---- fixtures ---- */

static int
setup(void **state)
{
	(void)state;
	stub_refuse_now = stub_refuse_queued = true;
	return compound_start("test_care", gateway_ini, access_ini, &cfg,
	    &tables, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	return compound_stop(cfg, tables, NULL);
}

/* A first start ever at t0: the journal holds nothing of anyone. */
static int
fresh(void **state)
{
	size_t n;

	(void)state;
	t0 = 1764547200000LL; /* 2025-12-01T08:00:00+08:00 */
	p.tables = tables;
	if (stub_pipeline_fresh(&p, cfg, tables) < 0)
		return -1;
	(void)care_begin(&p, t0, &n);
	care_start(&p, t0, true);
	return 0;
}

/* ---- what was journaled ---- */

/* The number of records with this decision. */
static size_t
count(const char *decision)
{
	size_t i, n = 0;

	for (i = 0; i < nseen; i++)
		n += seen[i].type == SEEN_RECORD &&
		    strcmp(seen_member(i, "decision"), decision) == 0;
	return n;
}

/* The subject's member of record i (seen_member gives only its id). */
static const char *
subject(size_t i, const char *key)
{
	static char out[64];
	json_t *o = json_loads(seen[i].text, 0, NULL);
	const char *v;

	assert_non_null(o);
	v = json_string_value(
	    json_object_get(json_object_get(o, "subject"), key));
	str_copy(out, v ? v : "", sizeof(out));
	json_decref(o);
	return out;
}

/* The last record is decision about person, at ts_ms. */
static size_t
last_is(const char *decision, const char *person, int64_t ts_ms)
{
	size_t i = seen_last(SEEN_RECORD);

	assert_string_equal(seen_member(i, "decision"), decision);
	assert_string_equal(seen_member(i, "subject"), person);
	assert_int_equal(seen[i].ts_ms, ts_ms);
	return i;
}

static const char *
rfc3339(int64_t ms)
{
	static char out[40];

	datetime_format_rfc3339(ms, out, sizeof(out));
	return out;
}

/* An allowed pass as gate.c journals it, and the call it makes. */
static void
pass(const char *person, const char *household, int64_t ts_ms)
{
	struct journal_record r = {
		.kind = "access",
		.device = "gate-north",
		.decision = "allow",
		.reason = "group resident",
		.subject_type = "person",
		.subject_id = person,
		.household = household,
		.direction = "in",
	};

	pipeline_record(&p, &r, ts_ms);
	care_pass(&p, person, ts_ms);
}

/* Ticks every minute from from_ms up to to_ms, as the loop's second
 * ticks would (a minute is enough to see once-only). */
static void
ticks(int64_t from_ms, int64_t to_ms)
{
	int64_t t;

	for (t = from_ms; t <= to_ms; t += MINUTE)
		care_tick(&p, t);
}

/* A restart at now_ms: fresh live state, the journal's rows so far read
 * back as care_restore_row() gets them. */
static void
restart(int64_t now_ms, bool read_ok)
{
	size_t n;

	state_free(p.state);
	p.state = state_new(cfg->ndevices);
	assert_non_null(p.state);
	(void)care_begin(&p, now_ms, &n);
	assert_int_equal(n, 2);
	if (read_ok)
		seen_replay(care_restore_row, &p);
	else
		seen_forget();
	care_start(&p, now_ms, read_ok);
}

/* ---- cases ---- */

static void
test_first_start_writes_the_clock_down(void **state)
{
	size_t i;

	(void)state;
	care_tick(&p, t0);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
	assert_int_equal(count("care_watch"), 2);
	i = seen_nth(SEEN_RECORD, 0);
	assert_string_equal(seen_member(i, "kind"), "system");
	assert_string_equal(seen_member(i, "device"), "gateway");
	assert_string_equal(seen_member(i, "subject"), "P1");
	assert_string_equal(seen_member(i, "since"), rfc3339(t0));
	assert_string_equal(seen_member(i, "care"), "daily");
	assert_string_equal(seen_record(1, "subject"), "P2");
	/* Written once. */
	ticks(t0 + MINUTE, t0 + 60 * MINUTE);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
}

static void
test_due_after_the_period(void **state)
{
	size_t i;
	json_t *o;

	(void)state;
	ticks(t0, t0 + DAY - MINUTE);
	assert_int_equal(count("care"), 0);
	care_tick(&p, t0 + DAY);
	i = last_is("care", "P1", t0 + DAY);
	assert_string_equal(seen_member(i, "kind"), "system");
	assert_string_equal(seen_member(i, "device"), "gateway");
	assert_string_equal(subject(i, "type"), "person");
	assert_string_equal(subject(i, "household"), "5-2-301");
	assert_string_equal(seen_member(i, "building"), "5");
	assert_string_equal(seen_member(i, "care"), "daily");
	assert_string_equal(seen_member(i, "since"), rfc3339(t0));
	assert_string_equal(seen_member(i, "minutes"), "1440");
	assert_string_equal(seen_member(i, "since"),
	    "2025-12-01T08:00:00.000+08:00");
	/* Never the name. */
	assert_null(strstr(seen[i].text, "张"));
	o = json_loads(seen[i].text, 0, NULL);
	assert_null(json_object_get(json_object_get(o, "subject"), "name"));
	json_decref(o);
	/* The weekly one a week on, in its own building. */
	ticks(t0 + DAY + MINUTE, t0 + 7 * DAY);
	i = last_is("care", "P2", t0 + 7 * DAY);
	assert_string_equal(seen_member(i, "building"), "12");
	assert_string_equal(seen_member(i, "care"), "weekly");
	assert_string_equal(seen_member(i, "minutes"), "10080");
}

static void
test_repeats_once_per_period(void **state)
{
	(void)state;
	ticks(t0, t0 + 3 * DAY);
	/* P1 at one, two and three days; P2 not yet. */
	assert_int_equal(count("care"), 3);
	last_is("care", "P1", t0 + 3 * DAY);
	assert_string_equal(seen_record(4, "minutes"), "4320");
	assert_string_equal(seen_record(4, "since"), rfc3339(t0));
	/* A late tick (the gateway was busy) is the next period's start. */
	care_tick(&p, t0 + 4 * DAY + 30 * MINUTE);
	last_is("care", "P1", t0 + 4 * DAY + 30 * MINUTE);
	ticks(t0 + 4 * DAY + 31 * MINUTE, t0 + 5 * DAY + 29 * MINUTE);
	assert_int_equal(count("care"), 4);
	care_tick(&p, t0 + 5 * DAY + 30 * MINUTE);
	assert_int_equal(count("care"), 5);
}

static void
test_a_pass_ends_it(void **state)
{
	int64_t back = t0 + DAY + 90 * MINUTE;
	size_t i;

	(void)state;
	ticks(t0, t0 + DAY);
	assert_int_equal(count("care"), 1);
	pass("P1", "5-2-301", back);
	i = last_is("care_end", "P1", back);
	assert_string_equal(seen_member(i - 1, "kind"), "access");
	assert_string_equal(seen_member(i, "minutes"), "1530");
	assert_string_equal(seen_member(i, "since"), rfc3339(t0));
	assert_string_equal(seen_member(i, "building"), "5");
	/* Once: the next pass has no alert to end. */
	pass("P1", "5-2-301", back + MINUTE);
	assert_int_equal(count("care_end"), 1);
	/* The clock counts from the last pass. */
	ticks(back, back + MINUTE + DAY - MINUTE);
	assert_int_equal(count("care"), 1);
	care_tick(&p, back + MINUTE + DAY);
	assert_string_equal(seen_member(last_is("care", "P1",
	                                    back + MINUTE + DAY),
	                        "since"),
	    rfc3339(back + MINUTE));
}

static void
test_a_pass_before_the_period_raises_nothing(void **state)
{
	int64_t t;

	(void)state;
	care_tick(&p, t0);
	for (t = t0 + 12 * 60 * MINUTE; t < t0 + 10 * DAY;
	     t += 12 * 60 * MINUTE) {
		pass("P1", "5-2-301", t);
		pass("P2", "12-1-101", t);
		care_tick(&p, t + MINUTE);
	}
	assert_int_equal(count("care"), 0);
	assert_int_equal(count("care_end"), 0);
}

static void
test_not_for_persons_without_care(void **state)
{
	size_t i;

	(void)state;
	pass("P3", "5-2-302", t0 + MINUTE);
	pass("nobody", NULL, t0 + MINUTE);
	ticks(t0, t0 + 40 * DAY);
	for (i = 0; i < nseen; i++)
		if (strcmp(seen_member(i, "kind"), "system") == 0)
			assert_string_not_equal(seen_member(i, "subject"),
			    "P3");
	assert_int_equal(count("care_end"), 0);
}

static void
test_restore_across_a_restart(void **state)
{
	int64_t t1 = t0 + DAY + 60 * MINUTE;
	size_t i;

	(void)state;
	care_tick(&p, t0);                       /* care_watch P1, P2 */
	pass("P2", "12-1-101", t0 + 2 * MINUTE); /* P2's clock */
	ticks(t0 + MINUTE, t0 + DAY);            /* care P1 */
	assert_int_equal(count("care"), 1);

	restart(t1, true);
	/* Nothing owed and nothing new: the journal knew them. */
	ticks(t1, t0 + 2 * DAY - MINUTE);
	assert_int_equal(seen_count(SEEN_RECORD), 0);
	/* P1 is still away: the next a period after the last, from t0. */
	care_tick(&p, t0 + 2 * DAY);
	i = last_is("care", "P1", t0 + 2 * DAY);
	assert_string_equal(seen_member(i, "since"), rfc3339(t0));
	assert_string_equal(seen_member(i, "minutes"), "2880");
	/* P2 from their pass, not from the restart. */
	ticks(t0 + 2 * DAY + MINUTE, t0 + 2 * MINUTE + 7 * DAY);
	i = last_is("care", "P2", t0 + 2 * MINUTE + 7 * DAY);
	assert_string_equal(seen_member(i, "since"), rfc3339(t0 + 2 * MINUTE));

	/* A second restart: the alerts in course end at the next pass. */
	restart(t0 + 7 * DAY + 10 * MINUTE, true);
	pass("P1", "5-2-301", t0 + 7 * DAY + 20 * MINUTE);
	i = last_is("care_end", "P1", t0 + 7 * DAY + 20 * MINUTE);
	assert_string_equal(seen_member(i, "since"), rfc3339(t0));
	assert_string_equal(seen_member(i, "minutes"), "10100");
	pass("P2", "12-1-101", t0 + 7 * DAY + 21 * MINUTE);
	last_is("care_end", "P2", t0 + 7 * DAY + 21 * MINUTE);
}

static void
test_restart_before_any_record(void **state)
{
	(void)state;
	/* Started at t0, the care_watch records written, then a restart a
	 * few hours on: the clock still starts at t0. */
	care_tick(&p, t0);
	restart(t0 + 5 * 60 * MINUTE, true);
	ticks(t0 + 5 * 60 * MINUTE, t0 + DAY - MINUTE);
	assert_int_equal(seen_count(SEEN_RECORD), 0);
	care_tick(&p, t0 + DAY);
	assert_string_equal(seen_member(last_is("care", "P1", t0 + DAY),
	                        "since"),
	    rfc3339(t0));
}

static void
test_unreadable_journal_writes_nothing_down(void **state)
{
	(void)state;
	care_tick(&p, t0);
	restart(t0 + DAY / 2, false);
	/* Watched from the restart, but that guess is not journaled. */
	care_tick(&p, t0 + DAY / 2);
	assert_int_equal(count("care_watch"), 0);
	ticks(t0 + DAY / 2, t0 + DAY / 2 + DAY);
	assert_string_equal(seen_member(last_is("care", "P1",
	                                    t0 + DAY / 2 + DAY),
	                        "since"),
	    rfc3339(t0 + DAY / 2));
}

static void
test_a_reload_stops_and_starts_watching(void **state)
{
	struct access_tables *next;
	struct diag diag;
	int64_t t = t0 + 7 * DAY + 30 * MINUTE;

	(void)state;
	ticks(t0, t0 + 7 * DAY);
	assert_int_equal(count("care"), 8); /* P1 and P2 away */
	scratch_write("access.d/compound.ini", access_reloaded);
	diag_init(&diag);
	next = access_load(cfg, &diag);
	diag_print(stderr, &diag);
	diag_free(&diag);
	assert_non_null(next);
	p.tables = next;
	care_reloaded(&p, t);
	seen_forget();

	/* P5 is watched from the reload, and that is written down. */
	care_tick(&p, t);
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	assert_string_equal(seen_member(last_is("care_watch", "P5", t),
	                        "since"),
	    rfc3339(t));
	/* P1 (gone) and P2 (no care now): nothing more, ever; their
	 * passes end nothing. */
	pass("P1", "5-2-301", t + MINUTE);
	pass("P2", "12-1-101", t + MINUTE);
	ticks(t + 2 * MINUTE, t + DAY - MINUTE);
	assert_int_equal(count("care"), 0);
	assert_int_equal(count("care_end"), 0);
	care_tick(&p, t + DAY);
	last_is("care", "P5", t + DAY);
	ticks(t + DAY + MINUTE, t + 8 * DAY);
	assert_int_equal(count("care"), 8);
	assert_int_equal(count("care_end"), 0);

	/* And back: the original tables again. */
	p.tables = tables;
	access_free(next);
	scratch_write("access.d/compound.ini", access_ini);
	care_reloaded(&p, t + 9 * DAY);
}

/* Work per tick is capped: 40 persons new at once are written down 32
 * in one second and the rest in the next, and their first alerts too. */
static void
test_work_per_tick_is_capped(void **state)
{
	struct access_tables *many;
	struct diag diag;
	char text[4096];
	size_t i, len;

	(void)state;
	len = (size_t)snprintf(text, sizeof(text),
	    "[group resident]\ngates = *\n");
	for (i = 0; i < 40; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "[person M%02zu]\nhousehold = 7-1-%03zu\n"
		    "groups = resident\ncare = daily\n",
		    i, i);
	assert_true(len < sizeof(text));
	scratch_write("access.d/compound.ini", text);
	diag_init(&diag);
	many = access_load(cfg, &diag);
	diag_print(stderr, &diag);
	diag_free(&diag);
	scratch_write("access.d/compound.ini", access_ini);
	assert_non_null(many);
	p.tables = many;
	care_reloaded(&p, t0);
	seen_forget();
	care_tick(&p, t0);
	assert_int_equal(count("care_watch"), CARE_TICK_MAX);
	care_tick(&p, t0 + 1000);
	assert_int_equal(count("care_watch"), 40);
	seen_forget();
	care_tick(&p, t0 + DAY);
	assert_int_equal(count("care"), CARE_TICK_MAX);
	care_tick(&p, t0 + DAY + 1000);
	assert_int_equal(count("care"), 40);
	care_tick(&p, t0 + DAY + 2000);
	assert_int_equal(count("care"), 40);
	p.tables = tables;
	access_free(many);
}

static void
test_a_gate_pass_ends_it(void **state)
{
	const struct device *north = config_device(cfg, "gate-north");
	struct event ev = { .type = EVENT_ACCESS };
	struct access_request *r = &ev.u.access;
	int64_t start = now_ms() - 2 * DAY - 10 * MINUTE;
	size_t i, n;

	(void)state;
	/* Started two days ago, on the real clock that gate.c reads. */
	state_free(p.state);
	p.state = state_new(cfg->ndevices);
	(void)care_begin(&p, start, &n);
	care_start(&p, start, true);
	care_tick(&p, start + DAY);
	assert_int_equal(count("care"), 1);
	seen_forget();
	stub_refuse_queued = false;
	str_copy(r->request, "req-1", sizeof(r->request));
	str_copy(r->subject, "P1", sizeof(r->subject));
	r->credential = CREDENTIAL_FACE;
	r->score = 0.93;
	gate_event(&p, north, &ev);
	stub_refuse_queued = true;
	assert_int_equal(seen_count(SEEN_RECORD), 2);
	assert_string_equal(seen_record(0, "decision"), "allow");
	i = seen_nth(SEEN_RECORD, 1);
	assert_string_equal(seen_member(i, "decision"), "care_end");
	assert_string_equal(seen_member(i, "subject"), "P1");
	assert_string_equal(seen_member(i, "since"), rfc3339(start));
	/* A gate decides on the real clock: two days and ten minutes,
	 * give or take the test's own minute. */
	assert_true(strtol(seen_member(i, "minutes"), NULL, 10) >= 2890);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_first_start_writes_the_clock_down, fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_due_after_the_period,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_repeats_once_per_period,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_a_pass_ends_it, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(
		    test_a_pass_before_the_period_raises_nothing, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(
		    test_not_for_persons_without_care, fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_restore_across_a_restart,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_restart_before_any_record,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(
		    test_unreadable_journal_writes_nothing_down, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(
		    test_a_reload_stops_and_starts_watching, fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_work_per_tick_is_capped,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_a_gate_pass_ends_it, fresh,
		    stub_done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
