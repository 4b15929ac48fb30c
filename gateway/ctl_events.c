/*
 * ctl_events.c - gatewayctl events: the journal's records, filtered, as
 * aligned lines or JSON, and with --follow the new ones as they come.
 * It reads the journal read-only; gatewayd is its only writer.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "journal_query.h"
#include "plate.h"
#include "util.h"

#define DEFAULT_LIMIT 50
#define FOLLOW_MS     200  /* a new record shows within a second */
#define FOLLOW_BATCH  1000 /* rows read per poll, at most */

struct filter {
	long long since, until; /* epoch ms, -1: none */
	const char *device, *kind, *person, *household;
	char plate[PLATE_MAX];
	long limit; /* 0: none given */
	bool follow, json;
};

/* Where a query's rows go: lines, a JSON array, or JSON lines. */
struct out {
	const struct filter *f;
	const char *site;
	struct ctl_table *table; /* made at the first row, unless --follow */
	bool header_done;        /* --follow's, printed with its first row */
	json_t *array;           /* --json without --follow */
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* ---- what is printed ---- */

static const char *const headers[] = { "time", "device", "kind", "decision",
	"subject", "household", "reason", NULL };

/* Fixed widths for --follow, where rows come one at a time. */
#define NCOLS 7
static const size_t follow_width[NCOLS] = { 19, 16, 8, 8, 12, 9, 0 };

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The subject by name when the record has one, else by its id. */
static const char *
subject_of(const json_t *body)
{
	const json_t *s = json_object_get(body, "subject");
	const char *name = jstr(s, "name");

	if (name == NULL)
		name = jstr(body, "name");
	return name != NULL ? name : jstr(s, "id");
}

static void
local_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

/* One row in the fixed widths of follow_width (cells may be NULL). */
static void
print_padded(const char *const *cells)
{
	size_t i, w;
	const char *c;

	for (i = 0; i < NCOLS; i++) {
		c = cells[i] ? cells[i] : "-";
		fputs(c, stdout);
		if (i + 1 == NCOLS)
			break;
		w = utf8_width(c);
		do
			putchar(' ');
		while (++w < follow_width[i] + 2);
	}
	putchar('\n');
}

static void
emit_line(struct out *o, int64_t ts_ms, const json_t *body)
{
	const json_t *s = json_object_get(body, "subject");
	char when[32];
	const char *cells[NCOLS];

	local_time(ts_ms, when, sizeof(when));
	cells[0] = when;
	cells[1] = jstr(body, "device");
	cells[2] = jstr(body, "kind");
	cells[3] = jstr(body, "decision");
	cells[4] = subject_of(body);
	cells[5] = jstr(s, "household");
	cells[6] = jstr(body, "reason");
	/* Nothing matched: nothing printed, not even the header. */
	if (o->f->follow) {
		if (!o->header_done)
			print_padded(headers);
		o->header_done = true;
		print_padded(cells);
		return;
	}
	if (o->table == NULL)
		o->table = ctl_table_new(headers);
	ctl_table_row(o->table, cells);
}

/* The record as the office gets it (DESIGN 4.4): its id, then its body. */
static json_t *
record(const char *site, int64_t seq, json_t *body)
{
	char id[128];
	json_t *r = json_object();

	snprintf(id, sizeof(id), "%s:%" PRId64, site, seq);
	json_object_set_new(r, "id", json_string(id));
	json_object_update(r, body);
	return r;
}

static void
emit(struct out *o, int64_t seq, int64_t ts_ms, const char *text)
{
	json_t *body = json_loads(text, 0, NULL), *r;

	if (body == NULL)
		body = json_object(); /* never written so; shown, not hidden */
	if (!o->f->json) {
		emit_line(o, ts_ms, body);
	} else {
		r = record(o->site, seq, body);
		if (o->array != NULL) {
			json_array_append_new(o->array, r);
		} else {
			json_dumpf(r, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(r);
		}
	}
	json_decref(body);
}

/* ---- the query ---- */

/* Has the reader of stdout gone (a pipe's other end closed)?  Asked
 * while idle too, so "events --follow | head" ends with head. */
static bool
reader_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

/* ?1 and ?2: the seq range; the filters by name. */
static const char where[] =
    " WHERE seq >= ?1 AND seq <= ?2"
    " AND (?3 IS NULL OR ts_ms >= ?3) AND (?4 IS NULL OR ts_ms <= ?4)"
    " AND (?5 IS NULL OR device = ?5) AND (?6 IS NULL OR kind = ?6)"
    " AND (?7 IS NULL OR (subject_id = ?7"
    "  AND subject_type IN ('person', 'visitor', 'card')))"
    " AND (?8 IS NULL OR (subject_type = 'plate' AND subject_id = ?8)"
    "  OR (subject_type = 'visitor' AND json_extract(body, '$.plate') = ?8))"
    " AND (?9 IS NULL OR household = ?9)";

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL && *s != '\0')
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
}

static sqlite3_stmt *
prepare(sqlite3 *db, const struct filter *f, bool newest, long limit)
{
	char sql[1024];
	sqlite3_stmt *st;

	snprintf(sql, sizeof(sql),
	    "SELECT seq, ts_ms, body FROM events%s ORDER BY seq %s LIMIT ?10",
	    where, newest ? "DESC" : "ASC");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (f->since >= 0)
		sqlite3_bind_int64(st, 3, f->since);
	if (f->until >= 0)
		sqlite3_bind_int64(st, 4, f->until);
	bind_text(st, 5, f->device);
	bind_text(st, 6, f->kind);
	bind_text(st, 7, f->person);
	bind_text(st, 8, f->plate);
	bind_text(st, 9, f->household);
	sqlite3_bind_int64(st, 10, limit > 0 ? limit : -1);
	return st;
}

/* The rows of seq [lo, hi] that pass the filter, oldest first, to o. */
static int
query(sqlite3 *db, struct out *o, int64_t lo, int64_t hi)
{
	sqlite3_stmt *st = prepare(db, o->f, false, 0);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		emit(o, sqlite3_column_int64(st, 0),
		    sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * The seq from which the newest limit rows of [lo, hi] that pass the
 * filter start: walked backwards once, so that they are then printed
 * oldest first without being held.
 */
static int
newest_from(sqlite3 *db, const struct filter *f, int64_t *lo, int64_t hi,
    long limit)
{
	sqlite3_stmt *st = prepare(db, f, true, limit);
	int rc;

	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, *lo);
	sqlite3_bind_int64(st, 2, hi);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*lo = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* What is there now: the range --since and --until make of the seqs. */
static int
first_batch(sqlite3 *db, struct out *o, int64_t *hi)
{
	const struct filter *f = o->f;
	int64_t lo, end, cut;
	long limit = f->limit;

	if (journal_query_bounds(db, &lo, hi) < 0)
		return -1;
	if (*hi == 0)
		return 0; /* an empty journal */
	end = *hi;
	if (f->until >= 0) {
		if (journal_query_seq_at(db, f->until + 1, lo, *hi + 1, &cut) <
		    0)
			return -1;
		end = cut - 1;
	}
	if (f->since >= 0 &&
	    journal_query_seq_at(db, f->since, lo, *hi + 1, &lo) < 0)
		return -1;
	if (lo > end)
		return 0;
	if (f->since < 0 && limit == 0)
		limit = DEFAULT_LIMIT;
	if (limit > 0 && newest_from(db, f, &lo, end, limit) < 0)
		return -1;
	return query(db, o, lo, end);
}

static bool
flushed(void)
{
	return fflush(stdout) == 0 && !ferror(stdout) && !reader_gone();
}

static void
nap(void)
{
	struct timespec ts = { 0, FOLLOW_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* tail -f: rows after the last seen, every FOLLOW_MS, until a signal. */
static int
follow(sqlite3 *db, struct out *o, int64_t seen)
{
	int64_t hi;

	while (!stop) {
		if (!flushed())
			return CTL_OK; /* the reader went away (SIGPIPE) */
		nap();
		if (stop)
			break;
		if (journal_query_last(db, &hi) < 0) {
			fprintf(stderr, "gatewayctl events: journal: %s\n",
			    sqlite3_errmsg(db));
			return CTL_REFUSED;
		}
		if (hi <= seen)
			continue;
		if (hi > seen + FOLLOW_BATCH)
			hi = seen + FOLLOW_BATCH;
		if (query(db, o, seen + 1, hi) < 0) {
			fprintf(stderr, "gatewayctl events: journal: %s\n",
			    sqlite3_errmsg(db));
			return CTL_REFUSED;
		}
		seen = hi;
	}
	(void)flushed();
	return CTL_OK;
}

/* ---- the command line ---- */

static int
parse_time(const char *opt, const char *s, long long *out)
{
	*out = ctl_parse_time(s);
	if (*out < 0)
		return ctl_usage("events", "bad time for %s: '%s'", opt, s);
	return 0;
}

static int
parse_args(int argc, char **argv, struct filter *f)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "device", required_argument, NULL, 'd' },
		{ "kind", required_argument, NULL, 'k' },
		{ "person", required_argument, NULL, 'p' },
		{ "plate", required_argument, NULL, 'P' },
		{ "household", required_argument, NULL, 'H' },
		{ "follow", no_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	f->since = f->until = -1;
	while ((c = getopt_long(argc, argv, "fn:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_time("--since", optarg, &f->since))
				return CTL_USAGE;
			break;
		case 'u':
			if (parse_time("--until", optarg, &f->until))
				return CTL_USAGE;
			break;
		case 'd':
			f->device = optarg;
			break;
		case 'k':
			f->kind = optarg;
			break;
		case 'p':
			f->person = optarg;
			break;
		case 'P':
			if (plate_normalise(optarg, f->plate,
			        sizeof(f->plate)) < 0)
				return ctl_usage("events", "bad plate '%s'",
				    optarg);
			break;
		case 'H':
			f->household = optarg;
			break;
		case 'f':
			f->follow = true;
			break;
		case 'n':
			errno = 0;
			f->limit = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || f->limit < 1)
				return ctl_usage("events",
				    "bad --limit '%s' (a number from 1)",
				    optarg);
			break;
		case 'j':
			f->json = true;
			break;
		default:
			return ctl_usage("events", "unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage("events", "unexpected '%s'", argv[optind]);
	return 0;
}

static void
signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed pipe is seen as a failed write: the loop ends cleanly. */
	signal(SIGPIPE, SIG_IGN);
}

/* What first_batch() collected, printed as a whole. */
static void
print_batch(struct out *o)
{
	if (o->table != NULL) {
		ctl_table_print(o->table, stdout);
		o->table = NULL;
	}
	if (o->array != NULL) {
		ctl_print_json(o->array);
		json_decref(o->array);
		o->array = NULL;
	}
}

static int
run(struct ctl *c, int argc, char **argv)
{
	struct filter f = { 0 };
	struct out o = { .f = &f, .site = c->cfg->site };
	int64_t hi;
	sqlite3 *db;
	int rc;

	rc = parse_args(argc, argv, &f);
	if (rc != 0)
		return rc;
	f.json = f.json || c->json;
	db = ctl_journal(c);
	if (db == NULL)
		return CTL_REFUSED;
	signals();
	if (f.json && !f.follow)
		o.array = json_array();
	if (first_batch(db, &o, &hi) < 0) {
		fprintf(stderr, "gatewayctl events: journal: %s\n",
		    sqlite3_errmsg(db));
		print_batch(&o);
		sqlite3_close(db);
		return CTL_REFUSED;
	}
	print_batch(&o);
	rc = f.follow ? follow(db, &o, hi) : CTL_OK;
	sqlite3_close(db);
	return rc;
}

const struct ctl_command ctl_events_command = {
	.name = "events",
	.summary = "the journal's records, filtered; --follow for new ones",
	.help =
	    "usage: gatewayctl events [--since T] [--until T] [--device D]\n"
	    "       [--kind K] [--person P] [--plate P] [--household H]\n"
	    "       [--limit N] [--follow] [--json]\n"
	    "\n"
	    "The journal's records, oldest first: without --since the last\n"
	    "50 (or --limit N), with --since all from then (or the last N).\n"
	    "T is 2026-11-23, \"2026-11-23 14:00\", 14:00 (today), -2h, -30m,\n"
	    "-3d or now, in the gateway's time zone.  --kind is access,\n"
	    "vehicle, camera, charging, alarm, device, incident or system.\n"
	    "--person is a person's or visitor's id; --plate is matched\n"
	    "however it is written (吉A·12345 is 吉A12345).\n"
	    "--follow goes on printing new records as they are journaled,\n"
	    "until interrupted.  --json: a JSON array of the records as the\n"
	    "office gets them, or with --follow one record a line.\n"
	    "Exit status: 0 (also when nothing matches), 1 the journal\n"
	    "cannot be read, 2 usage.\n",
	.run = run,
};
