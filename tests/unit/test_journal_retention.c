/*
 * test_journal_retention.c - retention and the disk budget, on a real
 * journal in a scratch directory: rows appended with old times, sinks'
 * cursors moved with journal_cursor(), and what is left in journal.db
 * read as gatewayctl reads it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "journal.h"
#include "scratch.h"
#include "util.h"

#define SITE    "test-site"
#define DAY_MS  86400000LL
#define MAXROWS 512

static uv_loop_t loop;
static struct journal *running;
static size_t nbatches;

/* The alerts the journal raised of its own, as the loop is told. */
static struct {
	int n;
	char decision[32], device[32], alert[32], severity[32];
} alerts;

static const struct journal_sink office_wechat[] = {
	{ .name = "office", .filter = JOURNAL_ALL, .configured = true },
	{ .name = "uplink", .filter = JOURNAL_ALL, .configured = false },
	{ .name = "wechat", .filter = JOURNAL_NOTIFY, .configured = true },
};

static void
on_done(void *arg, uint64_t ticket, bool committed,
    const struct journal_row *rows, size_t n)
{
	(void)arg;
	(void)ticket;
	(void)rows;
	(void)n;
	assert_true(committed);
	nbatches++;
}

static void
on_alert(void *arg, const struct journal_record *r, int64_t ts_ms)
{
	(void)arg;
	(void)ts_ms;
	alerts.n++;
	snprintf(alerts.decision, sizeof(alerts.decision), "%s", r->decision);
	snprintf(alerts.device, sizeof(alerts.device), "%s", r->device);
	snprintf(alerts.alert, sizeof(alerts.alert), "%s",
	    json_string_value(json_object_get(r->extra, "alert")));
	snprintf(alerts.severity, sizeof(alerts.severity), "%s",
	    json_string_value(json_object_get(r->extra, "severity")));
}

static int
setup(void **state)
{
	(void)state;
	nbatches = 0;
	memset(&alerts, 0, sizeof(alerts));
	if (uv_loop_init(&loop) < 0)
		return -1;
	return scratch_enter("test_journal_retention");
}

static int
teardown(void **state)
{
	(void)state;
	if (running != NULL)
		journal_stop(running);
	running = NULL;
	uv_run(&loop, UV_RUN_NOWAIT);
	if (uv_loop_close(&loop) < 0)
		return -1;
	return scratch_leave();
}

static struct journal *
start(struct journal_options *o)
{
	o->data_dir = "data";
	o->site = SITE;
	o->retry_ms = 50;
	o->check_ms = 50;
	o->age_ms = 20;
	o->budget_ms = 20;
	o->alert = on_alert;
	running = journal_start(&loop, o, on_done, NULL);
	assert_non_null(running);
	return running;
}

static void
stop(struct journal *j)
{
	running = NULL;
	journal_stop(j);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static void
on_tick(uv_timer_t *t)
{
	(void)t;
}

/* Run the loop until *flag turns true, or fail in 10 s. */
static void
run_until(bool (*done)(void *), void *arg)
{
	uint64_t deadline = mono_ms() + 10000;
	uv_timer_t tick;

	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, on_tick, 10, 10);
	while (!done(arg) && mono_ms() < deadline)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_true(done(arg));
}

static bool
batches_reported(void *arg)
{
	return nbatches >= *(size_t *)arg;
}

/* What was appended and set so far, committed. */
static void
commit(struct journal *j)
{
	size_t want = nbatches + 1;

	journal_submit(j);
	run_until(batches_reported, &want);
}

static void
row(struct journal *j, const char *kind, const char *decision, int64_t ts_ms,
    size_t pad)
{
	struct journal_record r = {
		.kind = kind,
		.device = "gate-north",
		.decision = decision,
		.subject_type = "person",
		.subject_id = "P0001",
	};
	char *text = NULL;

	if (pad > 0) {
		text = malloc(pad + 1);
		assert_non_null(text);
		memset(text, 'x', pad);
		text[pad] = '\0';
		r.extra = json_pack("{s:s}", "pad", text);
	}
	assert_int_equal(journal_append(j, &r, ts_ms), 0);
	json_decref(r.extra);
	free(text);
}

/* The ids left in journal.db, as a reader sees them. */
static size_t
ids(int64_t *seq, size_t max)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	size_t n = 0;

	assert_int_equal(sqlite3_open_v2("data/journal.db", &db,
	                     SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                     "SELECT seq FROM events WHERE kind != 'system'"
	                     " ORDER BY seq",
	                     -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < max)
		seq[n++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static bool
has(int64_t want)
{
	int64_t seq[MAXROWS];
	size_t n = ids(seq, MAXROWS), i;

	for (i = 0; i < n; i++)
		if (seq[i] == want)
			return true;
	return false;
}

static bool
gone(void *arg)
{
	return !has(*(int64_t *)arg);
}

static void
wait_gone(int64_t seq)
{
	run_until(gone, &seq);
}

static void
assert_ids(const int64_t *want, size_t n)
{
	int64_t seq[MAXROWS];
	size_t got = ids(seq, MAXROWS), i;

	assert_int_equal(got, n);
	for (i = 0; i < n; i++)
		assert_int_equal(seq[i], want[i]);
}

/* One integer of SQL on journal.db. */
static int64_t
query(const char *sql)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2("data/journal.db", &db,
	                     SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/*
 * Delivered is every sink's: the office has 1-8, the robot only up to
 * 3, so the incident's message 4 stays.  7 is young: the pass ends
 * there, and 8, stamped old after it (the clock went back), waits.
 */
static void
test_old_delivered_rows_go(void **state)
{
	struct journal_options o = {
		.keep_days = 180,
		.sinks = office_wechat,
		.nsinks = 3,
	};
	int64_t old = now_ms() - 200 * DAY_MS;
	const int64_t left[] = { 4, 7, 8, 9 };
	struct journal *j;

	(void)state;
	j = start(&o);
	row(j, "access", "allow", old, 0);       /* 1 */
	row(j, "access", "allow", old + 1, 0);   /* 2 */
	row(j, "alarm", "alarm", old + 2, 0);    /* 3 */
	row(j, "incident", "open", old + 3, 0);  /* 4: the robot's */
	row(j, "access", "deny", old + 4, 0);    /* 5 */
	row(j, "device", "offline", old + 5, 0); /* 6 */
	row(j, "access", "allow", now_ms(), 0);  /* 7: young */
	row(j, "access", "allow", old + 6, 0);   /* 8: old, after 7 */
	row(j, "access", "allow", old + 7, 0);   /* 9: undelivered */
	assert_int_equal(journal_cursor(j, "office", 8, NULL), 0);
	assert_int_equal(journal_cursor(j, "wechat", 3, NULL), 0);
	commit(j);
	wait_gone(1);
	assert_ids(left, 4);
	stop(j);
}

/*
 * Rows made before the clock was synchronised are marked and never go
 * by age; while the clock is not synchronised nothing goes by age.  With
 * no sink configured every record counts as delivered.
 */
static void
test_unsynced_rows_stay(void **state)
{
	struct journal_options o = {
		.keep_days = 0.5,
		.clock_unsynced = true,
	};
	int64_t old = now_ms() - DAY_MS;
	struct journal *j;
	int64_t seq;

	(void)state;
	j = start(&o);
	row(j, "access", "allow", old, 0); /* 1, 2: unsynced */
	row(j, "access", "allow", old, 0);
	commit(j);
	/* Synchronised, then lost again before 3 and 4 are committed. */
	journal_clock(j, true);
	row(j, "access", "allow", old, 0); /* 3, 4 */
	row(j, "access", "allow", old, 0);
	journal_clock(j, false);
	commit(j);
	/* Several passes would have run by the time these are reported;
	 * nothing may go while the clock is not synchronised. */
	for (seq = 0; seq < 5; seq++) {
		row(j, "device", "online", now_ms(), 0);
		commit(j);
		uv_sleep(30);
	}
	assert_true(has(1) && has(3) && has(4));
	journal_clock(j, true);
	wait_gone(4);
	assert_false(has(3));
	assert_int_equal(query("SELECT count(*) FROM events WHERE seq <= 2"
	                       " AND instr(body, '\"clock\":\"unsynced\"')"),
	    2);
	assert_int_equal(query("SELECT count(*) FROM events WHERE seq = 5"
	                       " AND instr(body, '\"clock\":\"unsynced\"')"),
	    1);
	stop(j);
}

/* Bytes of the pages in use, as the budget counts them (WAL aside). */
static int64_t
in_use(void)
{
	return (query("PRAGMA page_count") - query("PRAGMA freelist_count")) *
	    query("PRAGMA page_size");
}

static bool
under(void *arg)
{
	return in_use() <= *(int64_t *)arg;
}

/*
 * Over the budget the oldest delivered records go first, whatever their
 * age or clock, until it fits; undelivered access records never.
 */
static void
test_budget_evicts_oldest_delivered(void **state)
{
	const struct journal_sink office[] = {
		{ .name = "office", .filter = JOURNAL_ALL, .configured = true },
	};
	struct journal_options o = {
		.max_bytes = 400 * 1024,
		.sinks = office,
		.nsinks = 1,
	};
	int64_t seq[MAXROWS], max = (int64_t)o.max_bytes;
	struct journal *j;
	size_t n, i;

	(void)state;
	j = start(&o);
	/* About a page each: 100 delivered, 30 not; the second is the
	 * fire alarm a restart must find, delivered or not. */
	for (i = 0; i < 130; i++)
		row(j, i == 1 ? "alarm" : "access", i == 1 ? "alarm" : "allow",
		    now_ms(), 3000);
	assert_int_equal(journal_cursor(j, "office", 100, NULL), 0);
	commit(j);
	run_until(under, &max);
	n = ids(seq, MAXROWS);
	/* Some went, not all: the budget asked for no more. */
	assert_true(n < 130);
	assert_true(n > 30);
	/* What is left is the alarm and the newest: the oldest went first. */
	assert_int_equal(seq[0], 2);
	for (i = 1; i < n; i++)
		assert_int_equal(seq[i], (int64_t)(130 - n + i + 1));
	assert_int_equal(alerts.n, 0);
	stop(j);
}

static bool
alerted(void *arg)
{
	(void)arg;
	return alerts.n > 0;
}

/*
 * Nothing more may go: undelivered access and alarm records stay, the
 * undelivered device records and the delivered ones went, and an urgent
 * journal_full alert is journaled and told to the loop, once.
 */
static void
test_budget_full_alerts(void **state)
{
	const struct journal_sink office[] = {
		{ .name = "office", .filter = JOURNAL_ALL, .configured = true },
	};
	struct journal_options o = {
		.max_bytes = 64 * 1024,
		.sinks = office,
		.nsinks = 1,
	};
	int64_t want[40];
	struct journal *j;
	size_t i, n = 0;

	(void)state;
	j = start(&o);
	for (i = 0; i < 5; i++) /* 1-5: delivered */
		row(j, "access", "allow", now_ms(), 3000);
	for (i = 0; i < 30; i++) { /* 6-35: access, alarm, device */
		row(j,
		    i % 3 == 0     ? "alarm" :
		        i % 3 == 1 ? "access" :
		                     "device",
		    "x", now_ms(), 3000);
		if (i % 3 != 2)
			want[n++] = (int64_t)(6 + i);
	}
	assert_int_equal(journal_cursor(j, "office", 5, NULL), 0);
	commit(j);
	run_until(alerted, NULL);
	assert_int_equal(alerts.n, 1);
	assert_string_equal(alerts.decision, "journal_full");
	assert_string_equal(alerts.device, "gateway");
	assert_string_equal(alerts.alert, "journal_full");
	assert_string_equal(alerts.severity, "urgent");
	assert_ids(want, n);
	/* The record goes in with the next commit. */
	row(j, "access", "allow", now_ms(), 0);
	commit(j);
	assert_int_equal(query("SELECT count(*) FROM events WHERE"
	                       " kind = 'system' AND device = 'gateway'"
	                       " AND decision = 'journal_full' AND instr(body,"
	                       " '\"alert\":\"journal_full\"') AND instr(body,"
	                       " '\"severity\":\"urgent\"')"),
	    1);
	/* Still full: not again within the hour. */
	for (i = 0; i < 5; i++) {
		row(j, "access", "allow", now_ms(), 3000);
		commit(j);
		uv_sleep(30);
	}
	assert_int_equal(alerts.n, 1);
	stop(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_old_delivered_rows_go,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsynced_rows_stay, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_budget_evicts_oldest_delivered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_full_alerts, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
