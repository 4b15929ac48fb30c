/*
 * test_gate.c - the gate pipeline from a decoded request to its record
 * and its command, against a stub of the commit-then-act module: the
 * journal's append and the outbox are replaced (pipeline_stubs.h), so
 * what gate.c journals and what it asks to send are seen exactly, in
 * order.
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
                                  "[device gate-north]\n"
                                  "driver = face_gate\n"
                                  "open_ms = 4000\n"
                                  "[device gate-exit]\n"
                                  "driver = face_gate\n"
                                  "direction = out\n";

/* The visitor's window is written around the real time: see setup(). */
static const char access_fmt[] = "[group resident]\n"
                                 "gates = *\n"
                                 "[person P0001]\n"
                                 "name = 张三丰\n"
                                 "household = 5-2-301\n"
                                 "groups = resident\n"
                                 "cards = 0012345678\n"
                                 "[visitor V1]\n"
                                 "host = 5-2-301\n"
                                 "name = 李四\n"
                                 "person = PV001\n"
                                 "from = %s\n"
                                 "until = %s\n"
                                 "entries = 1\n";

static struct pipeline p;

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
	compound_minute(3600, until, sizeof(until));
	snprintf(text, sizeof(text), access_fmt, from, until);
	return compound_start("test_gate", gateway_ini, text, &cfg, &tables,
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

static struct event
face(const char *request, const char *person, double score)
{
	struct event ev = { .type = EVENT_ACCESS };
	struct access_request *r = &ev.u.access;

	str_copy(r->request, request, sizeof(r->request));
	str_copy(r->subject, person, sizeof(r->subject));
	r->credential = CREDENTIAL_FACE;
	r->score = score;
	return ev;
}

/* ---- cases ---- */

static void
test_allow_is_journaled_then_answered(void **state)
{
	const struct device *north = config_device(cfg, "gate-north");
	struct event r = face("req-1", "P0001", 0.93);

	(void)state;
	gate_event(&p, north, &r);
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	assert_string_equal(seen_record(0, "kind"), "access");
	assert_string_equal(seen_record(0, "decision"), "allow");
	assert_string_equal(seen_record(0, "reason"), "group resident");
	assert_string_equal(seen_record(0, "subject"), "P0001");
	assert_string_equal(seen_record(0, "request"), "req-1");
	/* One command, behind the record's batch. */
	assert_int_equal(seen_count(SEEN_COMMAND), 1);
	assert_ptr_equal(seen_command(0)->dev, north);
	assert_int_equal(seen_command(0)->cmd.action, COMMAND_OPEN);
	assert_string_equal(seen_command(0)->request, "req-1");
	assert_string_equal(seen_command(0)->display, "张** 欢迎回家");
	assert_int_equal(seen_command(0)->cmd.open_ms, 4000);
	assert_int_equal(seen_command(0)->ticket,
	    seen[seen_nth(SEEN_RECORD, 0)].ticket);
	assert_int_equal(seen_command(0)->ticket, 7);
}

static void
test_deny_has_a_reason(void **state)
{
	const struct device *north = config_device(cfg, "gate-north");
	struct event r = face("req-2", "P0099", 0.99);

	(void)state;
	gate_event(&p, north, &r);
	assert_string_equal(seen_record(0, "decision"), "deny");
	assert_string_equal(seen_record(0, "reason"), "unknown");
	assert_int_equal(seen_command(0)->cmd.action, COMMAND_DENY);
	assert_string_equal(seen_command(0)->reason, "unknown");
	assert_string_equal(seen_command(0)->display, "未登记人员，请联系物业");
}

static void
test_duplicate_acts_once(void **state)
{
	const struct device *north = config_device(cfg, "gate-north");
	struct event r = face("req-3", "P0001", 0.93);

	(void)state;
	gate_event(&p, north, &r);
	gate_event(&p, north, &r);
	assert_int_equal(seen_count(SEEN_RECORD), 2);
	assert_string_equal(seen_record(1, "decision"), "duplicate");
	assert_int_equal(seen_count(SEEN_COMMAND), 1); /* no second open */
	/* The same id from another gate is another request. */
	gate_event(&p, config_device(cfg, "gate-exit"), &r);
	assert_int_equal(seen_count(SEEN_COMMAND), 2);
}

static void
test_visitor_entries_are_live_state(void **state)
{
	const struct device *north = config_device(cfg, "gate-north");
	struct event r = face("req-4", "PV001", 0.9);

	(void)state;
	gate_event(&p, north, &r);
	assert_string_equal(seen_record(0, "decision"), "allow");
	assert_int_equal(state_entries_used(p.state, "V1"), 1);
	r = face("req-5", "PV001", 0.9);
	gate_event(&p, north, &r);
	assert_string_equal(seen_record(1, "decision"), "deny");
	assert_string_equal(seen_record(1, "reason"), "no_entries");
	/* Going out uses none. */
	r = face("req-6", "PV001", 0.9);
	r.u.access.direction = DIRECTION_OUT;
	gate_event(&p, north, &r);
	assert_string_equal(seen_record(2, "decision"), "allow");
	assert_int_equal(state_entries_used(p.state, "V1"), 1);
}

static void
test_exit_opens_for_anyone(void **state)
{
	struct event r = face("req-7", "nobody", 0.1);

	(void)state;
	gate_event(&p, config_device(cfg, "gate-exit"), &r);
	assert_string_equal(seen_record(0, "decision"), "allow");
	assert_string_equal(seen_record(0, "reason"), "exit");
	assert_int_equal(seen_command(0)->cmd.action, COMMAND_OPEN);
	assert_string_equal(seen_command(0)->display, "一路平安");
}

static void
test_rejected_is_answered_when_it_can_be(void **state)
{
	const struct device *north = config_device(cfg, "gate-north");
	/* What the driver could read of it: its id. */
	struct event bad = { .type = EVENT_ACCESS };

	(void)state;
	str_copy(bad.u.access.request, "req-8", sizeof(bad.u.access.request));
	pipeline_rejected(&p, north, &bad, "missing 'score'");
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	assert_string_equal(seen_record(0, "decision"), "rejected");
	assert_string_equal(seen_record(0, "reason"), "missing 'score'");
	assert_int_equal(seen_count(SEEN_COMMAND), 1);
	assert_int_equal(seen_command(0)->cmd.action, COMMAND_DENY);
	assert_string_equal(seen_command(0)->reason, "invalid");
	assert_string_equal(seen_command(0)->request, "req-8");
	/* No readable id: no answer; and the second of its minute is only
	 * counted, not journaled on its own. */
	pipeline_rejected(&p, north, NULL, "malformed json");
	assert_int_equal(seen_count(SEEN_RECORD), 1);
	assert_int_equal(seen_count(SEEN_COMMAND), 1);
	assert_int_equal(state_device(p.state, north->index)->rejected, 2);
}

static void
test_junk_is_journaled_as_aggregates(void **state)
{
	const struct device *north = config_device(cfg, "gate-north");
	struct event r = face("req-10", "P0001", 0.93);
	int64_t now = now_ms();
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		pipeline_rejected(&p, north, NULL, i ? "bad 'score'" : "first");
	gate_event(&p, north, &r);
	for (i = 0; i < 500; i++)
		gate_event(&p, north, &r);
	/* The first of each, and the decision. */
	assert_int_equal(seen_count(SEEN_RECORD), 3);
	assert_string_equal(seen_record(0, "reason"), "first");
	assert_string_equal(seen_record(2, "decision"), "duplicate");
	pipeline_tick(&p, now + 30000, false);
	assert_int_equal(seen_count(SEEN_RECORD),
	    3); /* the minute is not over */
	pipeline_tick(&p, now + 61000, false);
	assert_int_equal(seen_count(SEEN_RECORD), 5);
	assert_string_equal(seen_record(3, "decision"), "rejected");
	assert_string_equal(seen_record(3, "reason"), "bad 'score'");
	assert_string_equal(seen_record(3, "count"), "999");
	assert_string_equal(seen_record(4, "decision"), "duplicate");
	assert_string_equal(seen_record(4, "count"), "499");
	/* A new minute starts with its own first record; a stop journals
	 * what is counted so far. */
	pipeline_rejected(&p, north, NULL, "again");
	pipeline_rejected(&p, north, NULL, "and again");
	assert_int_equal(seen_count(SEEN_RECORD), 6);
	pipeline_tick(&p, now + 62000, true);
	assert_int_equal(seen_count(SEEN_RECORD), 7);
	assert_string_equal(seen_record(6, "count"), "1");
	assert_int_equal(seen_count(SEEN_COMMAND),
	    1); /* only the decision was answered */
}

static void
test_unjournaled_decisions_still_answer(void **state)
{
	struct event r = face("req-9", "P0001", 0.93);

	(void)state;
	p.journal = NULL; /* the journal could not be opened */
	gate_event(&p, config_device(cfg, "gate-north"), &r);
	assert_int_equal(seen_count(SEEN_RECORD), 0);
	assert_int_equal(seen_count(SEEN_COMMAND), 1);
	assert_int_equal(seen_command(0)->cmd.action, COMMAND_OPEN);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_allow_is_journaled_then_answered, fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_deny_has_a_reason, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_duplicate_acts_once, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(
		    test_visitor_entries_are_live_state, fresh, stub_done),
		cmocka_unit_test_setup_teardown(test_exit_opens_for_anyone,
		    fresh, stub_done),
		cmocka_unit_test_setup_teardown(
		    test_rejected_is_answered_when_it_can_be, fresh, stub_done),
		cmocka_unit_test_setup_teardown(
		    test_unjournaled_decisions_still_answer, fresh, stub_done),
		cmocka_unit_test_setup_teardown(
		    test_junk_is_journaled_as_aggregates, fresh, stub_done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
