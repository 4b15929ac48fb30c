/*
 * test_journal.c - the journal on its thread, against real SQLite files
 * in a scratch directory and a real libuv loop: tickets reported in
 * order, records with increasing ids as stored, a failed transaction
 * that leaves a gap in the ids, a journal that opens late, the lock on
 * data_dir, the bound on waiting rows, and a stop that reports all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "datetime.h"
#include "journal.h"
#include "journal_ids.h"
#include "scratch.h"
#include "util.h"

#define SITE "test-site"
#define MAXB 64
#define MAXR (2 * JOURNAL_MAX_WAITING + 64)

/* What the done callbacks were told. */
struct seen {
	size_t nbatches, nrows;
	uint64_t ticket[MAXB];
	bool committed[MAXB];
	size_t rows[MAXB];
	char *json[MAXR];
	int64_t seq[MAXR];
};

static uv_loop_t loop;
static struct seen seen;
static void full_vfs_unregister(void);
static struct journal *running; /* stopped at teardown if a test fails */

static void
on_done(void *arg, uint64_t ticket, bool committed,
    const struct journal_row *rows, size_t n)
{
	struct seen *s = arg;
	size_t i;

	assert_true(s->nbatches < MAXB);
	s->ticket[s->nbatches] = ticket;
	s->committed[s->nbatches] = committed;
	s->rows[s->nbatches] = n;
	s->nbatches++;
	for (i = 0; i < n; i++) {
		assert_true(s->nrows < MAXR);
		assert_non_null(rows[i].kind);
		s->json[s->nrows] = rows[i].json ? strdup(rows[i].json) : NULL;
		if (rows[i].json)
			assert_int_equal(strlen(rows[i].json), rows[i].len);
		s->seq[s->nrows] = rows[i].seq;
		s->nrows++;
	}
}

static int
setup(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	if (uv_loop_init(&loop) < 0)
		return -1;
	return scratch_enter("test_journal");
}

static int
teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < seen.nrows; i++)
		free(seen.json[i]);
	/* A failed test leaves its journal running, or its disk full. */
	if (running != NULL)
		journal_stop(running);
	running = NULL;
	full_vfs_unregister();
	/* Closes what is closing; never waits for what a failure left. */
	uv_run(&loop, UV_RUN_NOWAIT);
	if (uv_loop_close(&loop) < 0)
		return -1;
	return scratch_leave();
}

static struct journal *
start(const char *dir)
{
	struct journal_options o = {
		.data_dir = dir,
		.site = SITE,
		.retry_ms = 50,
		.check_ms = 50,
	};

	running = journal_start(&loop, &o, on_done, &seen);
	return running;
}

static void
stop(struct journal *j)
{
	running = NULL;
	journal_stop(j);
	uv_run(&loop, UV_RUN_DEFAULT); /* closes its handle */
}

static void
on_tick(uv_timer_t *t)
{
	(void)t;
}

/* Run the loop until n batches have been reported (or fail in 10 s). */
static void
wait_batches(size_t n)
{
	uint64_t deadline = mono_ms() + 10000;
	uv_timer_t tick;

	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, on_tick, 10, 10);
	while (seen.nbatches < n && mono_ms() < deadline)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(seen.nbatches, n);
}

static void
append_at(struct journal *j, const char *request, int64_t ts_ms)
{
	struct journal_record r = {
		.kind = "access",
		.device = "gate-north",
		.request = request,
		.decision = "allow",
		.reason = "test",
	};

	assert_int_equal(journal_append(j, &r, ts_ms), 0);
}

static void
append(struct journal *j, const char *request, const char *visitor)
{
	struct journal_record r = {
		.kind = "access",
		.device = "gate-north",
		.request = request,
		.decision = "allow",
		.reason = "test",
		.subject_type = visitor ? "visitor" : "person",
		.subject_id = visitor ? visitor : "P0001",
		.direction = "in",
	};

	assert_int_equal(journal_append(j, &r, now_ms()), 0);
}

/* The bodies in journal.db, by seq, as a reader sees them. */
static size_t
stored(int64_t *seq, char **body, size_t max)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	size_t n = 0;

	assert_int_equal(sqlite3_open_v2("data/journal.db", &db,
	                     SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                     "SELECT seq, body FROM events ORDER BY seq", -1,
	                     &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < max) {
		seq[n] = sqlite3_column_int64(st, 0);
		body[n] = strdup((const char *)sqlite3_column_text(st, 1));
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* The body of the newest row in journal.db. */
static const char *
last_body(void)
{
	static char body[4096];
	sqlite3_stmt *st;
	sqlite3 *db;

	body[0] = '\0';
	assert_int_equal(sqlite3_open_v2("data/journal.db", &db,
	                     SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                     "SELECT body FROM events ORDER BY seq DESC"
	                     " LIMIT 1",
	                     -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(body, sizeof(body), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return body;
}

static void
sql(const char *text)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open("data/journal.db", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_batches_in_ticket_order(void **state)
{
	char id[64], *body[8];
	int64_t seq[8];
	struct journal *j;
	json_t *o;
	size_t i, n;

	(void)state;
	j = start("data");
	assert_non_null(j);
	assert_int_equal(journal_ticket(j), 0);
	journal_submit(j); /* empty: nothing */
	append(j, "r1", NULL);
	assert_int_equal(journal_ticket(j), 1);
	append(j, "r2", NULL);
	journal_submit(j);
	assert_int_equal(journal_ticket(j), 1);
	append(j, "r3", NULL);
	assert_int_equal(journal_ticket(j), 2);
	journal_submit(j);
	append(j, "r4", NULL);
	append(j, "r5", NULL);
	journal_submit(j);
	wait_batches(3);

	for (i = 0; i < 3; i++) {
		assert_int_equal(seen.ticket[i], i + 1);
		assert_true(seen.committed[i]);
	}
	assert_int_equal(seen.rows[0], 2);
	assert_int_equal(seen.rows[1], 1);
	assert_int_equal(seen.rows[2], 2);
	assert_int_equal(seen.nrows, 5);
	for (i = 0; i < 5; i++) {
		/* The id comes first, as DESIGN §4.4 shows it. */
		snprintf(id, sizeof(id),
		    "{\"id\":\"" SITE ":%zu\",\"ts\":", i + 1);
		assert_int_equal(seen.seq[i], (int64_t)i + 1);
		assert_memory_equal(seen.json[i], id, strlen(id));
		o = json_loads(seen.json[i], 0, NULL);
		assert_non_null(o);
		snprintf(id, sizeof(id), "r%zu", i + 1);
		assert_string_equal(json_string_value(
		                        json_object_get(o, "request")),
		    id);
		assert_string_equal(json_string_value(
		                        json_object_get(json_object_get(o,
		                                            "subject"),
		                            "id")),
		    "P0001");
		json_decref(o);
	}
	stop(j);

	/* What was reported is what a reader finds. */
	n = stored(seq, body, 8);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++) {
		assert_int_equal(seq[i], (int64_t)i + 1);
		assert_string_equal(body[i], seen.json[i]);
		free(body[i]);
	}
}

static void
count_visitor(void *arg, const char *visitor, unsigned n)
{
	if (strcmp(visitor, "V1") == 0)
		*(unsigned *)arg = n;
}

static void
count_request(void *arg, const char *device, const char *request, int64_t ts)
{
	(void)device;
	(void)request;
	(void)ts;
	(*(unsigned *)arg)++;
}

/* The bound of ids in data/journal.ids. */
static int64_t
bound(void)
{
	char err[300];
	int64_t b;

	assert_int_equal(journal_ids_read("data", &b, err, sizeof(err)), 0);
	return b;
}

/* One row in its own batch; its seq (0 if not committed). */
static int64_t
one_row(struct journal *j, const char *request)
{
	size_t n = seen.nbatches;

	append(j, request, NULL);
	journal_submit(j);
	wait_batches(n + 1);
	return seen.seq[seen.nrows - 1];
}

static void
test_reopen_reads_and_continues(void **state)
{
	unsigned visits = 0, requests = 0;
	struct journal *j;
	int64_t b;

	(void)state;
	j = start("data");
	append(j, "a", "V1");
	append(j, "b", "V1");
	append(j, "c", NULL);
	journal_submit(j);
	stop(j);
	assert_int_equal(seen.nbatches, 1);
	assert_int_equal(seen.seq[2], 3);
	b = bound();
	assert_true(b >= 3);

	j = start("data");
	assert_non_null(j);
	assert_int_equal(journal_visitor_entries(j, count_visitor, &visits), 0);
	assert_int_equal(visits, 2);
	assert_int_equal(journal_recent_requests(j, now_ms() - 60000,
	                     count_request, &requests),
	    0);
	assert_int_equal(requests, 3);
	/* Above every id the last run may have handed out. */
	assert_int_equal(one_row(j, "d"), b + 1);
	stop(j);
}

/* A person's row for the wellbeing checks' read. */
static void
append_person(struct journal *j, const char *kind, const char *decision,
    const char *type, const char *person, int64_t ts_ms)
{
	struct journal_record r = {
		.kind = kind,
		.device = "gate-north",
		.decision = decision,
		.subject_type = type,
		.subject_id = person,
	};

	assert_int_equal(journal_append(j, &r, ts_ms), 0);
}

struct care_seen {
	char rows[8][64]; /* "<subject> <decision> <ts>" */
	size_t n;
};

static void
care_row(void *arg, int64_t ts_ms, const char *body, size_t len)
{
	struct care_seen *c = arg;
	json_t *o = json_loadb(body, len, 0, NULL);

	assert_non_null(o);
	assert_true(c->n < 8);
	snprintf(c->rows[c->n++], sizeof(c->rows[0]), "%s %s %lld",
	    json_string_value(
	        json_object_get(json_object_get(o, "subject"), "id")),
	    json_string_value(json_object_get(o, "decision")),
	    (long long)ts_ms);
	json_decref(o);
}

/* Each watched person's last care record (a pass is a care_pass),
 * nothing else: access rows and other system rows are not read. */
static void
test_care_rows(void **state)
{
	static const char *const persons[] = { "P1", "P2", "P9" };
	struct care_seen c = { .n = 0 };
	struct journal *j;

	(void)state;
	j = start("data");
	append_person(j, "access", "allow", "person", "P1", 1000);
	append_person(j, "access", "allow", "person", "P1", 2000);
	append_person(j, "access", "deny", "person", "P1", 3000);
	append_person(j, "access", "allow", "card", "P1", 3100);
	append_person(j, "access", "allow", "visitor", "P2", 3200);
	append_person(j, "system", "care_watch", "person", "P2", 1500);
	append_person(j, "system", "care_end", "person", "P1", 2500);
	append_person(j, "system", "care_pass", "person", "P1", 2600);
	append_person(j, "system", "care", "person", "P2", 4000);
	append_person(j, "system", "reload", "person", "P2", 4100);
	journal_submit(j);
	wait_batches(1);
	assert_int_equal(journal_care_rows(j, persons, 3, care_row, &c), 0);
	stop(j);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.rows[0], "P1 care_pass 2600");
	assert_string_equal(c.rows[1], "P2 care 4000");
}

/*
 * The record of rows not journaled at seen.json[i]: how many, of which
 * kind (all access here), over which time, and why (reason contains it).
 */
static void
assert_gap(size_t i, int rows, const char *why, int64_t from, int64_t to)
{
	char ts[40];
	json_t *o;

	assert_non_null(seen.json[i]);
	o = json_loads(seen.json[i], 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "kind")),
	    "system");
	assert_string_equal(json_string_value(json_object_get(o, "decision")),
	    "unjournaled");
	assert_non_null(
	    strstr(json_string_value(json_object_get(o, "reason")), why));
	assert_int_equal(json_integer_value(json_object_get(o, "rows")), rows);
	assert_int_equal(json_integer_value(
	                     json_object_get(json_object_get(o, "kinds"),
	                         "access")),
	    rows);
	datetime_format_rfc3339(from, ts, sizeof(ts));
	assert_string_equal(json_string_value(json_object_get(o, "from")), ts);
	datetime_format_rfc3339(to, ts, sizeof(ts));
	assert_string_equal(json_string_value(json_object_get(o, "to")), ts);
	json_decref(o);
}

static void
test_failed_transaction_leaves_a_gap(void **state)
{
	char *body[8];
	int64_t seq[8];
	struct journal *j;
	size_t i, n;

	(void)state;
	j = start("data");
	stop(j);
	/* A real failure inside SQLite, in the middle of a transaction. */
	sql("CREATE TRIGGER boom BEFORE INSERT ON events"
	    " WHEN NEW.request = 'boom'"
	    " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");

	j = start("data");
	append(j, "ok1", NULL);
	journal_submit(j);
	wait_batches(1);
	append_at(j, "ok2", 1000000000000LL);
	append_at(j, "boom", 1000000000100LL);
	journal_submit(j);
	wait_batches(2);
	append(j, "ok3", NULL);
	journal_submit(j);
	wait_batches(3);
	stop(j);

	assert_true(seen.committed[0]);
	assert_false(seen.committed[1]);
	assert_true(seen.committed[2]);
	assert_int_equal(seen.nrows, 5);
	assert_int_equal(seen.seq[0], 1);
	/* The failed batch's rows are reported, without record or id. */
	assert_null(seen.json[1]);
	assert_null(seen.json[2]);
	assert_int_equal(seen.seq[1], 0);
	/* Their ids (2 and 3) are not handed out again; the next commit
	 * says first what was lost, then has ok3. */
	assert_int_equal(seen.rows[2], 2);
	assert_int_equal(seen.seq[3], 4);
	assert_gap(3, 2, "constraint failed", 1000000000000LL, 1000000000100LL);
	assert_int_equal(seen.seq[4], 5);

	n = stored(seq, body, 8);
	assert_int_equal(n, 3);
	assert_int_equal(seq[0], 1);
	assert_int_equal(seq[1], 4);
	assert_string_equal(body[1], seen.json[3]);
	assert_int_equal(seq[2], 5);
	assert_non_null(strstr(body[2], "\"request\":\"ok3\""));
	for (i = 0; i < n; i++)
		free(body[i]);
}

static void
test_ids_file(void **state)
{
	char err[300];
	int64_t b;

	(void)state;
	assert_int_equal(mkdir("data", 0750), 0);
	assert_int_equal(journal_ids_read("data", &b, err, sizeof(err)), 0);
	assert_int_equal(b, 0);
	assert_int_equal(journal_ids_write("data", 12345, err, sizeof(err)), 0);
	assert_int_equal(bound(), 12345);
	assert_int_equal(access("data/journal.ids.tmp", F_OK), -1);
	scratch_write("data/journal.ids", "12abc\n");
	assert_int_equal(journal_ids_read("data", &b, err, sizeof(err)), -2);
	assert_non_null(strstr(err, "holds no bound of ids"));
	scratch_write("data/journal.ids", "");
	assert_int_equal(journal_ids_read("data", &b, err, sizeof(err)), -2);
	assert_int_equal(unlink("data/journal.ids"), 0);
	assert_int_equal(mkdir("data/journal.ids", 0750), 0);
	assert_int_equal(journal_ids_read("data", &b, err, sizeof(err)), -1);
	assert_int_equal(journal_ids_write("data", 1, err, sizeof(err)), -1);
}

/*
 * The record the journal wrote itself before the last row: a new
 * journal, rows up to last_id not in it.
 */
static void
assert_new_journal(const char *reason, int64_t last_id)
{
	const char *json = seen.json[seen.nrows - 2];
	char id[64];
	json_t *o;

	assert_non_null(json);
	o = json_loads(json, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "kind")),
	    "system");
	assert_string_equal(json_string_value(json_object_get(o, "decision")),
	    "new_journal");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
	    reason);
	snprintf(id, sizeof(id), SITE ":%lld", (long long)last_id);
	assert_string_equal(json_string_value(json_object_get(o, "last_id")),
	    id);
	json_decref(o);
}

/* Rows 1-3, then the journal is lost: deleted, then emptied. */
static void
test_ids_outlive_the_journal(void **state)
{
	struct journal *j;
	int64_t b;

	(void)state;
	j = start("data");
	assert_int_equal(one_row(j, "r1"), 1);
	one_row(j, "r2");
	one_row(j, "r3");
	stop(j);
	b = bound();
	assert_true(b >= 3);

	assert_int_equal(unlink("data/journal.db"), 0);
	j = start("data");
	/* Its own record of the gap first, then the row. */
	assert_int_equal(one_row(j, "after delete"), b + 2);
	assert_new_journal("journal.db new or empty at start", b);
	stop(j);
	b = bound();

	assert_int_equal(truncate("data/journal.db", 0), 0);
	j = start("data");
	assert_int_equal(one_row(j, "after truncate"), b + 2);
	assert_new_journal("journal.db new or empty at start", b);
	stop(j);
}

static void
copy(const char *from, const char *to)
{
	char buf[65536];
	FILE *in, *out;
	size_t n;

	in = fopen(from, "rb");
	out = fopen(to, "wb");
	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

/*
 * A power cut with sync = normal loses the last second of the WAL, rows
 * whose records were published: the file keeps the bound all the same.
 * Played here by putting back journal.db as it was before any row.
 */
static void
test_ids_outlive_a_power_cut(void **state)
{
	char *body[4];
	int64_t seq[4];
	struct journal *j;
	int64_t b;

	(void)state;
	j = start("data");
	stop(j);
	copy("data/journal.db", "before.db");
	j = start("data");
	one_row(j, "r1");
	one_row(j, "r2");
	assert_int_equal(one_row(j, "r3"), 3);
	stop(j);
	b = bound();

	copy("before.db", "data/journal.db");
	j = start("data");
	assert_int_equal(one_row(j, "after the cut"), b + 2);
	stop(j);
	assert_int_equal(stored(seq, body, 4), 2);
	assert_int_equal(seq[0], b + 1);
	assert_non_null(strstr(body[0], "\"new_journal\""));
	assert_int_equal(seq[1], b + 2);
	free(body[0]);
	free(body[1]);
}

/* Without journal.ids the bound kept in journal.db serves. */
static void
test_ids_bound_in_the_journal_too(void **state)
{
	struct journal *j;
	int64_t b;

	(void)state;
	j = start("data");
	one_row(j, "r1");
	stop(j);
	b = bound();
	assert_int_equal(unlink("data/journal.ids"), 0);
	j = start("data");
	assert_int_equal(one_row(j, "r2"), b + 1);
	stop(j);
}

/* No bound on disk, no id: the batch is not journaled. */
static void
test_ids_unreserved_are_not_used(void **state)
{
	struct journal *j;

	(void)state;
	j = start("data");
	assert_int_equal(mkdir("data/journal.ids.tmp", 0750), 0);
	assert_int_equal(one_row(j, "r1"), 0);
	assert_false(seen.committed[0]);
	assert_int_equal(access("data/journal.ids", F_OK), -1);
	assert_int_equal(rmdir("data/journal.ids.tmp"), 0);
	assert_int_equal(one_row(j, "r2"), 2);
	assert_int_equal(seen.seq[1], 1);
	assert_non_null(
	    strstr(seen.json[1], "journal.ids.tmp: Is a directory"));
	assert_true(bound() >= 2);
	stop(j);
}

static const char *row_until_noticed(struct journal *);

/* The name of the journal moved aside in data/, or fail. */
static void
broken_name(char *out, size_t size)
{
	struct dirent *e;
	DIR *d;

	out[0] = '\0';
	d = opendir("data");
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, "journal.db.broken-", 18) == 0 &&
		    strstr(e->d_name, "-wal") == NULL)
			snprintf(out, size, "data/%s", e->d_name);
	closedir(d);
	assert_true(out[0] != '\0');
}

/* PRAGMA quick_check on a file, as a reader would run it. */
static const char *
quick_check(const char *path)
{
	static char result[200];
	sqlite3_stmt *st;
	sqlite3 *db;

	result[0] = '\0';
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	        SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) ==
	        SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			snprintf(result, sizeof(result), "%s",
			    sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return result;
}

static void
fill(struct journal *j, int n)
{
	char request[32];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(request, sizeof(request), "fill-%d", i);
		append(j, request, NULL);
	}
	journal_submit(j);
	wait_batches(seen.nbatches + 1);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void
scribble(const char *path, off_t at)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "garbage garbage garbage", 23, at), 23);
	close(fd);
}

/* Damaged before a start: moved aside, a new journal, ids go on. */
static void
test_damaged_at_start(void **state)
{
	char broken[300];
	struct journal *j;
	int64_t b;

	(void)state;
	j = start("data");
	fill(j, 300);
	stop(j);
	b = bound();
	/* Cut to two pages: SQLite finds it out. */
	assert_int_equal(truncate("data/journal.db", 8192), 0);
	j = start("data");
	assert_int_equal(one_row(j, "after"), b + 2);
	assert_new_journal("journal.db damaged", b);
	stop(j);
	broken_name(broken, sizeof(broken));
	assert_string_not_equal(quick_check(broken), "ok");
	assert_string_equal(quick_check("data/journal.db"), "ok");

	/* Not a database at all any more. */
	assert_int_equal(unlink(broken), 0);
	b = bound();
	scribble("data/journal.db", 0);
	j = start("data");
	assert_int_equal(one_row(j, "after"), b + 2);
	stop(j);
	broken_name(broken, sizeof(broken));
	assert_string_equal(quick_check("data/journal.db"), "ok");
}

/*
 * Damage in the middle of the file, where neither the open nor appends
 * look: quick_check finds it in the background, while rows are written,
 * and then the file is moved aside like any damaged one.
 */
static void
test_damage_found_by_quick_check(void **state)
{
	char broken[300];
	struct journal *j;

	(void)state;
	j = start("data");
	fill(j, 300);
	stop(j);
	/* A page of the events' table near the end: every page at the
	 * start is a table or index's root, some of them empty. */
	scribble("data/journal.db",
	    file_size("data/journal.db") - 3 * 4096 + 8);
	assert_string_not_equal(quick_check("data/journal.db"), "ok");
	j = start("data");
	assert_non_null(strstr(row_until_noticed(j), "quick_check: "));
	stop(j);
	broken_name(broken, sizeof(broken));
	assert_string_not_equal(quick_check(broken), "ok");
	assert_string_equal(quick_check("data/journal.db"), "ok");
}

/*
 * Rows one at a time until the journal has noticed what happened to its
 * file: its record of a new journal comes before the row.
 */
static const char *
row_until_noticed(struct journal *j)
{
	static char found[300];
	const char *json;
	json_t *o;
	int i;

	for (i = 0; i < 100; i++) {
		usleep(20000);
		one_row(j, "after");
		json = seen.nrows >= 2 ? seen.json[seen.nrows - 2] : NULL;
		if (json != NULL && strstr(json, "\"new_journal\"") != NULL)
			break;
	}
	assert_true(i < 100);
	o = json_loads(json, 0, NULL);
	snprintf(found, sizeof(found), "%s",
	    json_string_value(json_object_get(o, "found")));
	json_decref(o);
	return found;
}

static void
test_deleted_while_running(void **state)
{
	char *body[8];
	int64_t seq[8];
	struct journal *j;
	size_t i, n;

	(void)state;
	j = start("data");
	one_row(j, "before");
	assert_int_equal(unlink("data/journal.db"), 0);
	assert_string_equal(row_until_noticed(j), "deleted");
	stop(j);
	/* The new journal: the record of the gap, then the row. */
	n = stored(seq, body, 8);
	assert_int_equal(n, 2);
	assert_non_null(strstr(body[0], "\"reason\":\"journal.db gone\""));
	assert_int_equal(seq[1], seen.seq[seen.nrows - 1]);
	assert_true(seq[0] > seen.seq[0]);
	for (i = 0; i < n; i++)
		free(body[i]);
}

static void
test_moved_while_running(void **state)
{
	struct journal *j;

	(void)state;
	j = start("data");
	one_row(j, "before");
	assert_int_equal(rename("data/journal.db", "data/moved.db"), 0);
	assert_non_null(strstr(row_until_noticed(j), "moved away"));
	stop(j);
	/* What was written goes with the file, whole. */
	assert_string_equal(quick_check("data/moved.db"), "ok");
	assert_string_equal(quick_check("data/journal.db"), "ok");
}

static void
test_cut_while_running(void **state)
{
	char broken[300];
	struct journal *j;

	(void)state;
	j = start("data");
	fill(j, 300);
	assert_int_equal(truncate("data/journal.db", 0), 0);
	assert_non_null(strstr(row_until_noticed(j), "cut to 0 bytes"));
	stop(j);
	broken_name(broken, sizeof(broken));
	assert_string_equal(quick_check("data/journal.db"), "ok");
}

static void
test_overwritten_while_running(void **state)
{
	char broken[300];
	struct journal *j;

	(void)state;
	j = start("data");
	one_row(j, "before");
	scribble("data/journal.db", 0);
	assert_non_null(strstr(row_until_noticed(j), "overwritten"));
	stop(j);
	broken_name(broken, sizeof(broken));
	assert_string_equal(quick_check("data/journal.db"), "ok");
}

/*
 * A disk that fills up, under SQLite: the default VFS, wrapped so that
 * writes to a WAL fail with SQLITE_FULL while disk_full is set, as
 * unix-excl would on ENOSPC.  The rest passes through.
 */
struct full_file {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct, szOsFile bytes */
	bool wal;
};

static sqlite3_vfs full_vfs, *unix_vfs;
static atomic_bool disk_full;

#define REAL(f) (((struct full_file *)(f))->real)

static int
full_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}

static int
full_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int
full_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (((struct full_file *)f)->wal && atomic_load(&disk_full))
		return SQLITE_FULL;
	return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int
full_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int
full_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int
full_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int
full_lock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int
full_unlock(sqlite3_file *f, int lock)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int
full_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int
full_control(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int
full_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int
full_device(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int
full_shm_map(sqlite3_file *f, int pg, int size, int extend, void volatile **p)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, size, extend, p);
}

static int
full_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void
full_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
full_shm_unmap(sqlite3_file *f, int delete)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), delete);
}

static int
full_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{
	return REAL(f)->pMethods->xFetch(REAL(f), off, n, p);
}

static int
full_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods full_methods = {
	.iVersion = 3,
	.xClose = full_close,
	.xRead = full_read,
	.xWrite = full_write,
	.xTruncate = full_truncate,
	.xSync = full_sync,
	.xFileSize = full_size,
	.xLock = full_lock,
	.xUnlock = full_unlock,
	.xCheckReservedLock = full_reserved,
	.xFileControl = full_control,
	.xSectorSize = full_sector,
	.xDeviceCharacteristics = full_device,
	.xShmMap = full_shm_map,
	.xShmLock = full_shm_lock,
	.xShmBarrier = full_shm_barrier,
	.xShmUnmap = full_shm_unmap,
	.xFetch = full_fetch,
	.xUnfetch = full_unfetch,
};

static int
full_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out)
{
	struct full_file *ff = (struct full_file *)f;
	int rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	ff->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = unix_vfs->xOpen(unix_vfs, name, ff->real, flags, out);
	f->pMethods = rc == SQLITE_OK ? &full_methods : NULL;
	return rc;
}

/* Default for the connections opened from now on. */
static void
full_vfs_register(void)
{
	unix_vfs = sqlite3_vfs_find(NULL);
	assert_non_null(unix_vfs);
	full_vfs = *unix_vfs;
	full_vfs.zName = "full";
	full_vfs.szOsFile = (int)sizeof(struct full_file) + unix_vfs->szOsFile;
	full_vfs.xOpen = full_open;
	assert_int_equal(sqlite3_vfs_register(&full_vfs, 1), SQLITE_OK);
}

static void
full_vfs_unregister(void)
{
	atomic_store(&disk_full, false);
	if (unix_vfs == NULL)
		return;
	sqlite3_vfs_unregister(&full_vfs);
	sqlite3_vfs_register(unix_vfs, 1);
	unix_vfs = NULL;
}

static off_t
wal_size(void)
{
	struct stat st;

	return stat("data/journal.db-wal", &st) == 0 ? st.st_size : -1;
}

/*
 * The disk fills up under a steady trickle (never a quiet moment): the
 * WAL is checkpointed and emptied at once, not at the next pause; once
 * there is room again the next commit first says what was lost.
 */
static void
test_disk_full_then_freed(void **state)
{
	struct journal *j;
	int64_t t0 = now_ms();
	int i;

	(void)state;
	full_vfs_register();
	j = start("data");
	assert_int_equal(one_row(j, "r1"), 1);
	assert_true(wal_size() > 0);

	atomic_store(&disk_full, true);
	for (i = 0; i < 3; i++) {
		append_at(j, "lost", t0 + i);
		journal_submit(j);
		wait_batches(seen.nbatches + 1);
		assert_false(seen.committed[seen.nbatches - 1]);
	}
	/* The failed writes emptied the WAL: its space is the disk's. */
	assert_int_equal(wal_size(), 0);

	/* Ids 2 to 6 went to the failed rows and to the records of the
	 * loss tried with them: a gap, never handed out again. */
	atomic_store(&disk_full, false);
	assert_int_equal(one_row(j, "r2"), 8);
	assert_int_equal(seen.seq[seen.nrows - 2], 7);
	assert_gap(seen.nrows - 2, 3, "database or disk is full", t0, t0 + 2);
	stop(j);
}

/* Space short on the disk: the WAL is emptied without waiting. */
static void
test_short_of_space(void **state)
{
	struct journal_options o = {
		.data_dir = "data",
		.site = SITE,
		.check_ms = 20,
		.low_space = UINT64_MAX / 4, /* always short */
	};
	struct journal *j;
	int i;

	(void)state;
	j = journal_start(&loop, &o, on_done, &seen);
	running = j;
	one_row(j, "r1");
	for (i = 0; i < 100 && wal_size() != 0; i++)
		usleep(20000);
	/* One small row is never worth a checkpoint otherwise. */
	assert_int_equal(wal_size(), 0);
	stop(j);
}

static void
test_opens_late(void **state)
{
	struct journal *j;
	int64_t t0;
	size_t i;

	(void)state;
	/* A journal.db that cannot be opened: a directory. */
	assert_int_equal(mkdir("data", 0750), 0);
	assert_int_equal(mkdir("data/journal.db", 0750), 0);
	j = start("data");
	assert_non_null(j);
	assert_int_equal(journal_visitor_entries(j, count_visitor, NULL), -1);
	t0 = now_ms();
	append_at(j, "lost", t0);
	journal_submit(j);
	wait_batches(1);
	assert_false(seen.committed[0]);
	assert_null(seen.json[0]);

	/* The disk is mended; within a retry the rows are journaled, after
	 * the record of those that were not. */
	assert_int_equal(rmdir("data/journal.db"), 0);
	for (i = 1; i < 60 && !seen.committed[i - 1]; i++) {
		usleep(20000);
		append_at(j, "again", t0 + (int64_t)i);
		journal_submit(j);
		wait_batches(i + 1);
	}
	assert_true(seen.committed[seen.nbatches - 1]);
	assert_int_equal(seen.seq[seen.nrows - 2], 1);
	assert_gap(seen.nrows - 2, (int)i - 1, "journal not open", t0,
	    t0 + (int64_t)i - 2);
	assert_int_equal(seen.seq[seen.nrows - 1], 2);
	stop(j);
}

static void
test_second_gatewayd_is_refused(void **state)
{
	struct journal *j;
	int fd;

	(void)state;
	assert_int_equal(mkdir("data", 0750), 0);
	fd = open("data/gatewayd.lock", O_RDWR | O_CREAT, 0640);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	assert_null(start("data"));
	close(fd);
	j = start("data");
	assert_non_null(j);
	stop(j);
}

static void
test_waiting_rows_are_bounded(void **state)
{
	struct journal_record r = { .kind = "access", .request = "x" };
	struct journal *j;
	size_t i;

	(void)state;
	j = start("data");
	for (i = 0; i < JOURNAL_MAX_WAITING; i++)
		assert_int_equal(journal_append(j, &r, now_ms()), 0);
	assert_int_equal(journal_append(j, &r, 1000000000000LL), -1);
	journal_submit(j);
	/* Still waiting for the thread's answer: still full. */
	assert_int_equal(journal_append(j, &r, 1000000000500LL), -1);
	wait_batches(1);
	assert_true(seen.committed[0]);
	assert_int_equal(seen.rows[0], JOURNAL_MAX_WAITING);
	/* Rows are still being dropped: the record of it waits. */
	assert_int_equal(journal_append(j, &r, now_ms()), 0);
	journal_submit(j);
	wait_batches(2);
	assert_int_equal(seen.rows[1], 1);
	/* The first batch that comes without a drop tells of both. */
	assert_int_equal(journal_append(j, &r, now_ms()), 0);
	journal_submit(j);
	wait_batches(3);
	assert_int_equal(seen.rows[2], 2);
	assert_gap(seen.nrows - 2, 2, "8192 rows wait for the disk",
	    1000000000000LL, 1000000000500LL);
	assert_int_equal(seen.seq[seen.nrows - 1], JOURNAL_MAX_WAITING + 3);

	/* Dropped just before the stop: written at the stop, last. */
	for (i = 0; i < JOURNAL_MAX_WAITING; i++)
		assert_int_equal(journal_append(j, &r, now_ms()), 0);
	assert_int_equal(journal_append(j, &r, 1000000001000LL), -1);
	stop(j);
	assert_non_null(strstr(last_body(), "\"decision\":\"unjournaled\""));
	assert_non_null(strstr(last_body(), "\"rows\":1,"));
}

static void
test_flush_waits_for_the_commit(void **state)
{
	char *body[2];
	int64_t seq[2];
	struct journal *j;

	(void)state;
	j = start("data");
	append(j, "start", NULL);
	journal_flush(j);
	/* Reported before journal_flush returned, without the loop, and in
	 * the journal for any reader. */
	assert_int_equal(seen.nbatches, 1);
	assert_true(seen.committed[0]);
	assert_int_equal(stored(seq, body, 2), 1);
	assert_string_equal(body[0], seen.json[0]);
	free(body[0]);
	journal_flush(j); /* nothing open: at once */
	assert_int_equal(seen.nbatches, 1);
	stop(j);
}

static void
test_stop_reports_every_batch(void **state)
{
	struct journal *j;

	(void)state;
	j = start("data");
	append(j, "submitted", NULL);
	journal_submit(j);
	append(j, "still open", NULL);
	running = NULL;
	journal_stop(j);
	/* Reported before journal_stop returned, without the loop. */
	assert_int_equal(seen.nbatches, 2);
	assert_int_equal(seen.ticket[0], 1);
	assert_int_equal(seen.ticket[1], 2);
	assert_true(seen.committed[0] && seen.committed[1]);
	uv_run(&loop, UV_RUN_DEFAULT);
	/* The WAL was copied into the database at stop. */
	assert_int_equal(access("data/journal.db-wal", F_OK), -1);
}

/* ---- sinks: reads off the loop, and cursors */

struct got_read {
	bool done;
	int rc;
	size_t n;
	int64_t seq[32];
	char kind[32][16];
	char *json[32];
};

static void
on_read(void *arg, int rc, const struct journal_row *rows, size_t n)
{
	struct got_read *g = arg;
	size_t i;

	g->done = true;
	g->rc = rc;
	g->n = n;
	for (i = 0; i < n && i < 32; i++) {
		g->seq[i] = rows[i].seq;
		snprintf(g->kind[i], sizeof(g->kind[i]), "%s", rows[i].kind);
		g->json[i] = strndup(rows[i].json, rows[i].len);
	}
}

static void
read_rows(struct journal *j, int64_t after, enum journal_filter f, size_t limit,
    size_t max_bytes, struct got_read *g)
{
	uint64_t deadline = mono_ms() + 10000;
	uv_timer_t tick;

	memset(g, 0, sizeof(*g));
	assert_int_equal(journal_read(j, after, f, limit, max_bytes, on_read,
	                     g),
	    0);
	uv_timer_init(&loop, &tick);
	uv_timer_start(&tick, on_tick, 10, 10);
	while (!g->done && mono_ms() < deadline)
		uv_run(&loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	assert_true(g->done);
}

static void
got_free(struct got_read *g)
{
	size_t i;

	for (i = 0; i < g->n && i < 32; i++)
		free(g->json[i]);
}

static struct {
	bool done;
	int rc;
	int64_t seq;
	char state[64];
} got_cursor;

static void
on_cursor(void *arg, int rc, int64_t seq, const char *state)
{
	(void)arg;
	got_cursor.done = true;
	got_cursor.rc = rc;
	got_cursor.seq = seq;
	snprintf(got_cursor.state, sizeof(got_cursor.state), "%s",
	    state ? state : "");
}

/* A sink's cursor, read off the loop as a sink reads it. */
static void
read_cursor(struct journal *j, const char *name)
{
	got_cursor.done = false;
	assert_int_equal(journal_cursor_read(j, name, on_cursor, &got_cursor),
	    0);
	while (!got_cursor.done)
		uv_run(&loop, UV_RUN_ONCE);
}

static void
incident_row(struct journal *j, const char *phase)
{
	struct journal_record r = {
		.kind = "incident",
		.device = "cam-5-east",
		.decision = phase,
	};

	assert_int_equal(journal_append(j, &r, now_ms()), 0);
}

static void
test_sink_reads_and_cursor(void **state)
{
	struct got_read g;
	struct journal *j;

	(void)state;
	j = start("data");
	fill(j, 5); /* ids 1-5 */
	incident_row(j, "open");
	incident_row(j, "join");
	incident_row(j, "realert");
	fill(j, 3);
	/* Everything after id 2, three at a time, in order, with ids. */
	read_rows(j, 2, JOURNAL_ALL, 3, 1 << 20, &g);
	assert_int_equal(g.rc, 3);
	assert_int_equal(g.seq[0], 3);
	assert_int_equal(g.seq[2], 5);
	assert_string_equal(g.kind[0], "access");
	assert_true(strncmp(g.json[0], "{\"id\":\"" SITE ":3\",", 18) == 0);
	assert_non_null(strstr(g.json[0], "\"kind\":\"access\""));
	got_free(&g);
	/* The robot's: the open and the re-alert, not the join. */
	read_rows(j, 0, JOURNAL_NOTIFY, 16, 1 << 20, &g);
	assert_int_equal(g.rc, 2);
	assert_int_equal(g.seq[0], 6);
	assert_int_equal(g.seq[1], 8);
	assert_string_equal(g.kind[1], "incident");
	assert_non_null(strstr(g.json[1], "\"decision\":\"realert\""));
	got_free(&g);
	read_rows(j, 8, JOURNAL_NOTIFY, 16, 1 << 20, &g);
	assert_int_equal(g.rc, 0);
	/* A byte bound cuts a batch short, but never to nothing. */
	read_rows(j, 0, JOURNAL_ALL, 16, 10, &g);
	assert_int_equal(g.rc, 1);
	got_free(&g);

	/* A cursor moves in the next commit, the last one set winning. */
	read_cursor(j, "wechat");
	assert_int_equal(got_cursor.rc, 0);
	assert_int_equal(got_cursor.seq, 0);
	assert_string_equal(got_cursor.state, "");
	assert_int_equal(journal_cursor(j, "wechat", 6, NULL), 0);
	assert_int_equal(journal_cursor(j, "wechat", 8, "{\"held\":1}"), 0);
	journal_submit(j); /* a batch of cursors alone */
	wait_batches(seen.nbatches + 1);
	stop(j);
	j = start("data");
	read_cursor(j, "wechat");
	assert_int_equal(got_cursor.rc, 0);
	assert_int_equal(got_cursor.seq, 8);
	assert_string_equal(got_cursor.state, "{\"held\":1}");
	/* A read asked as the journal stops is answered, with -1. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(journal_read(j, 0, JOURNAL_ALL, 4, 1 << 20, on_read,
	                     &g),
	    0);
	stop(j);
	assert_true(g.done);
	if (g.rc > 0)
		got_free(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batches_in_ticket_order,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_care_rows, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_reads_and_continues,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_transaction_leaves_a_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_outlive_the_journal,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_outlive_a_power_cut,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ids_bound_in_the_journal_too, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_ids_unreserved_are_not_used, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_at_start, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_damage_found_by_quick_check, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_reads_and_cursor,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_while_running,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_moved_while_running, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cut_while_running, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_overwritten_while_running,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_then_freed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_of_space, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_opens_late, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_second_gatewayd_is_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_waiting_rows_are_bounded,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_waits_for_the_commit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_reports_every_batch,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
