/*
 * journal_retention.c - what the journal lets go (DESIGN 4.5): delivered
 * records past keep_days, and over max_bytes the oldest delivered ones
 * first.  On the journal thread, one short transaction at a time between
 * commits.  An access or alarm record a sink still owes never goes; nor
 * does an incident's, nor the journal's own journal_full alert; and the
 * budget never takes what a restart rebuilds live state from (the fire
 * release's records, incidents, wellbeing checks), delivered or not.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "journal_int.h"
#include "log.h"
#include "util.h"

/*
 * A transaction looks at CHUNK rows at most and stops deleting after
 * about CHUNK_MS, so that a commit never waits behind retention for
 * long.  256 access rows deleted by id in a 200 000-row journal took
 * 1.4 ms (median; 9 ms at worst) on the development machine; a Pi on
 * an SD card is several times slower, and the time bound holds it.
 */
#define CHUNK    256
#define CHUNK_MS 4

/* Between passes by age; between looks at the budget ("within a minute
 * of going over"); journal_full again at most this often, and what age
 * took logged at most this often. */
#define AGE_MS    60000
#define BUDGET_MS 10000
#define HOUR_MS   3600000

#define MB 1048576.0
/* Over the budget, records go until 1/SLACK of it is free again: not a
 * pass every BUDGET_MS at the edge. */
#define SLACK 20
/* Evicting, the pages in use are counted again after this many rows:
 * a chunk of large rows would overshoot. */
#define RECOUNT 8

/*
 * The clock and retention by age.  A Pi has no clock battery: until NTP
 * sets it, the time may be 1970 or the last shutdown's, and then it
 * jumps, forward or back.  Ids, never times, order the journal.  The
 * rule:
 *  1. A pass by age runs only while journal_clock() says the clock is
 *     synchronised, and ends if that changes.
 *  2. It takes only records made while the clock was synchronised:
 *     those marked JOURNAL_UNSYNCED are the budget's alone.
 *  3. It walks the records in id order and ends at the first
 *     synchronised one that is not older than keep_days: a record is
 *     taken only if it is older by the wall clock (ts_ms < now -
 *     keep_days) and by the ids' order (every synchronised record
 *     before it is old too).  A record stamped in the past after a
 *     jump back waits behind the young ones made before it.
 *  4. It takes only delivered records.
 * So a jump back takes nothing (nothing got older), a record stamped by
 * a clock not yet set is never taken by age, and nothing goes by age
 * while the clock is not known to be right.  What it cannot tell is a
 * clock that NTP calls synchronised and that is wrong: that is NTP's.
 *
 * No incremental_vacuum: the pages of deleted rows go to SQLite's
 * freelist and the next rows reuse them, so the file stops growing, and
 * the budget counts pages in use, not the file's size.  Shrinking the
 * file would cost auto_vacuum (a VACUUM of the whole journal to turn it
 * on, pointer-map pages on every commit), the pages moved and fsynced
 * again, and the check that a journal never shrinks unless something
 * cut it (journal_db_check_file) would have to go.
 */
enum pass {
	IDLE,
	AGING,     /* past keep_days */
	DELIVERED, /* over the budget: delivered records */
	REST,      /* then undelivered ones but access, alarm, incidents,
	              charging and journal_full (journal_db_old.kept) */
};

struct retention_sink {
	char name[16];
	bool notify; /* it takes JOURNAL_NOTIFY rows only */
};

struct journal_retention {
	int64_t keep_ms;   /* 0: for ever */
	int64_t max_bytes; /* 0: no budget */
	struct retention_sink sinks[JOURNAL_CURSORS];
	size_t nsinks;
	unsigned age_ms, budget_ms;

	enum pass pass;
	int64_t after; /* the pass has looked at ids up to this */
	/*
	 * Where the next pass starts, so that a backlog of a million rows
	 * is not walked again every minute.  Below age_from, a pass by age
	 * left only unsynced records (it never takes them) and none owed
	 * to a sink: it starts again at the first it found owed
	 * (age_owed), which a sink may have confirmed since.  Below
	 * rest_from, the undelivered records an eviction left are all of
	 * kinds it never takes; once delivered, the DELIVERED walk, from
	 * the first id, finds them.
	 */
	int64_t age_from, age_owed, rest_from;
	int64_t goal;  /* the database's bytes in use to evict down to */
	int64_t limit; /* and what it may have: the budget less the WAL */
	uint64_t age_at, budget_at;
	uint64_t evicted; /* by this eviction */
	uint64_t aged;    /* by age, since it was last logged */
	uint64_t aged_logged;
	bool full; /* over the budget and nothing left to evict */
	uint64_t full_at;
	uint64_t warned_ms;
};

struct journal_retention *
journal_retention_new(const struct journal_options *o)
{
	struct journal_retention *t = calloc(1, sizeof(*t));
	size_t i;

	if (t == NULL)
		return NULL;
	if (o->keep_days > 0)
		t->keep_ms = (int64_t)(o->keep_days * 86400000.0);
	t->max_bytes = (int64_t)o->max_bytes;
	for (i = 0; i < o->nsinks && t->nsinks < JOURNAL_CURSORS; i++) {
		if (!o->sinks[i].configured)
			continue;
		str_copy(t->sinks[t->nsinks].name, o->sinks[i].name,
		    sizeof(t->sinks[0].name));
		t->sinks[t->nsinks].notify =
		    o->sinks[i].filter == JOURNAL_NOTIFY;
		t->nsinks++;
	}
	t->age_ms = o->age_ms ? o->age_ms : AGE_MS;
	t->budget_ms = o->budget_ms ? o->budget_ms : BUDGET_MS;
	return t;
}

void
journal_retention_free(struct journal_retention *t)
{
	free(t);
}

/* Where each kind of sink has got to: INT64_MAX when none takes it. */
struct reach {
	int64_t all, notify;
};

static int
reach(struct journal *j, struct reach *r)
{
	struct journal_retention *t = j->retention;
	int64_t seq;
	size_t i;

	r->all = r->notify = INT64_MAX;
	for (i = 0; i < t->nsinks; i++) {
		if (journal_db_cursor_seq(j->db, t->sinks[i].name, &seq) < 0)
			return -1;
		if (t->sinks[i].notify)
			r->notify = seq < r->notify ? seq : r->notify;
		else
			r->all = seq < r->all ? seq : r->all;
	}
	/* The WeChat sink's rows are every sink's. */
	r->notify = r->notify < r->all ? r->notify : r->all;
	return 0;
}

static bool
delivered(const struct reach *r, const struct journal_db_old *row)
{
	return row->seq <= (row->notify ? r->notify : r->all);
}

static void
warn(struct journal *j, const char *what)
{
	struct journal_retention *t = j->retention;

	if (log_ratelimit(&t->warned_ms))
		log_errx("journal: %s: %s (tried again later)", what,
		    journal_db_errmsg(j->db));
}

/* The journal's own urgent alert, in the next commit and to the loop. */
static void
raise_full(struct journal *j, int64_t in_use)
{
	struct journal_retention *t = j->retention;
	struct journal_record r = {
		.kind = "system",
		.device = "gateway",
		.decision = "journal_full",
		.reason = "undelivered records fill the disk budget",
	};
	json_t *extra;

	log_errx("journal: %.1f MB in use, over max_mb (%" PRId64
	         "), and nothing more may go: undelivered access, alarm, "
	         "incident and charging records are kept; decisions go on",
	    (double)in_use / MB, t->max_bytes >> 20);
	extra = json_pack("{s:s,s:s,s:I,s:I}", "alert", "journal_full",
	    "severity", "urgent", "in_use_mb", (json_int_t)(in_use >> 20),
	    "max_mb", (json_int_t)(t->max_bytes >> 20));
	if (extra == NULL)
		return;
	r.extra = extra;
	journal_queue_record(j, &r);
	journal_post_alert(j, extra, r.reason, now_ms());
	json_decref(extra);
}

/* Over the budget?  Then an eviction starts, down to goal. */
static void
look_at_budget(struct journal *j)
{
	struct journal_retention *t = j->retention;
	int64_t db, wal;

	if (journal_db_in_use(j->db, &db, &wal) < 0) {
		warn(j, "cannot count the pages in use");
		return;
	}
	/* The WAL first: its frames go at the next checkpoint anyway, and
	 * counted they would cost records that fit. */
	if (db + wal > t->max_bytes && wal > 0 &&
	    journal_db_checkpoint(j->db, false) == 0 &&
	    journal_db_in_use(j->db, &db, &wal) < 0) {
		warn(j, "cannot count the pages in use");
		return;
	}
	if (db + wal <= t->max_bytes) {
		if (t->full)
			log_info("journal: %.1f MB in use, within max_mb "
			         "again",
			    (double)(db + wal) / MB);
		t->full = false;
		return;
	}
	/* The eviction's own frames in the WAL are not counted: they go
	 * at the next checkpoint. */
	t->limit = t->max_bytes - wal;
	t->goal = t->limit - t->max_bytes / SLACK;
	if (t->goal < 0)
		t->goal = 0;
	t->pass = DELIVERED;
	t->after = 0;
	t->evicted = 0;
}

/* An eviction ends: under the goal, or nothing more may go. */
static void
end_eviction(struct journal *j, bool walked)
{
	struct journal_retention *t = j->retention;
	uint64_t now = mono_ms();
	int64_t db = 0, wal = 0;

	t->pass = IDLE;
	if (journal_db_in_use(j->db, &db, &wal) < 0)
		return;
	if (t->evicted > 0)
		log_info("journal: %" PRIu64 " of the oldest records deleted "
		         "to keep within max_mb (%.1f MB in the database, "
		         "%.1f MB in the WAL)",
		    t->evicted, (double)db / MB, (double)wal / MB);
	if (!walked || db <= t->limit) {
		if (t->full)
			log_info("journal: within max_mb again");
		t->full = false;
		return;
	}
	t->full = true;
	/* Looked at again in a minute, not every BUDGET_MS: each look is a
	 * checkpoint and a walk of what came since. */
	t->budget_at = now + 6 * t->budget_ms;
	if (t->full_at == 0 || now - t->full_at >= HOUR_MS) {
		t->full_at = now;
		raise_full(j, db + wal);
	}
}

static void
end_aging(struct journal_retention *t)
{
	uint64_t now = mono_ms();

	t->pass = IDLE;
	t->age_from = t->age_owed > 0 ? t->age_owed - 1 : t->after;
	if (t->aged > 0 &&
	    (t->aged_logged == 0 || now - t->aged_logged >= HOUR_MS)) {
		log_info("journal: %" PRIu64 " delivered records older than "
		         "keep_days deleted",
		    t->aged);
		t->aged = 0;
		t->aged_logged = now;
	}
}

/*
 * One transaction: the rows of the pass after t->after, each deleted or
 * not.  The number of rows deleted, or -1; *end when the pass has
 * looked at every row it may.
 */
static int
chunk(struct journal *j, bool *end)
{
	struct journal_retention *t = j->retention;
	struct journal_db_old rows[CHUNK];
	struct reach r;
	uint64_t start = mono_ms();
	int64_t cut = now_ms() - t->keep_ms, db, wal;
	bool open = false, take;
	int n, i, gone = 0;

	*end = false;
	if (reach(j, &r) < 0)
		return -1;
	/* Above the office's and the uplink's cursors nothing is
	 * delivered. */
	n = journal_db_scan(j->db, t->after,
	    t->pass == REST ? INT64_MAX : r.all, rows, CHUNK);
	if (n < 0)
		return -1;
	if (n < CHUNK)
		*end = true;
	for (i = 0; i < n; i++) {
		const struct journal_db_old *row = &rows[i];

		if (t->pass == AGING) {
			if (!row->unsynced && row->ts_ms >= cut) {
				*end = true; /* rule 3 */
				break;
			}
			take = !row->unsynced && delivered(&r, row);
			if (!row->unsynced && !take && t->age_owed == 0)
				t->age_owed = row->seq;
		} else if (row->state)
			/* A restart during a fire alarm must hold again, and
			 * open incidents must stay open: the budget leaves
			 * them (few rows) to keep_days. */
			take = false;
		else if (t->pass == DELIVERED)
			take = delivered(&r, row);
		else
			take = delivered(&r, row) || !row->kept;
		if (take) {
			if (!open && journal_db_begin(j->db) < 0)
				return -1;
			open = true;
			if (journal_db_delete(j->db, row->seq) < 0) {
				journal_db_rollback(j->db);
				return -1;
			}
			gone++;
		}
		t->after = row->seq;
		/* The transaction sees its own deletes. */
		if (t->pass != AGING && take && gone % RECOUNT == 0 &&
		    journal_db_in_use(j->db, &db, &wal) == 0 && db <= t->goal)
			break;
		if (mono_ms() - start >= CHUNK_MS) {
			*end = false;
			break;
		}
	}
	if (open && journal_db_commit(j->db) < 0) {
		journal_db_rollback(j->db);
		return -1;
	}
	return gone;
}

void
journal_retention_step(struct journal *j)
{
	struct journal_retention *t = j->retention;
	uint64_t now = mono_ms();
	int64_t db, wal;
	bool end;
	int n;

	if (j->db == NULL || j->write_failed) {
		/* A full disk: the commits' turn; looked at again later. */
		t->pass = IDLE;
		return;
	}
	if (t->max_bytes > 0 && now >= t->budget_at &&
	    (t->pass == IDLE || t->pass == AGING)) {
		t->budget_at = now + t->budget_ms;
		look_at_budget(j);
	}
	if (t->pass == IDLE && t->keep_ms > 0 && now >= t->age_at) {
		t->age_at = now + t->age_ms;
		t->pass = AGING;
		t->after = t->age_from;
		t->age_owed = 0;
	}
	if (t->pass == AGING && atomic_load(&j->unsynced)) {
		t->pass = IDLE; /* rule 1 */
		return;
	}
	if (t->pass == IDLE)
		return;
	n = chunk(j, &end);
	if (n < 0) {
		warn(j,
		    t->pass == AGING ? "cannot delete old records" :
		                       "cannot evict records");
		t->pass = IDLE;
		return;
	}
	if (t->pass == AGING) {
		t->aged += (uint64_t)n;
		if (end)
			end_aging(t);
		return;
	}
	t->evicted += (uint64_t)n;
	if (n > 0 && journal_db_in_use(j->db, &db, &wal) == 0 &&
	    db <= t->goal) {
		end_eviction(j, false);
		return;
	}
	if (!end)
		return;
	if (t->pass == DELIVERED) {
		t->pass = REST;
		t->after = t->rest_from;
	} else {
		t->rest_from = t->after;
		end_eviction(j, true);
	}
}

uint64_t
journal_retention_due(const struct journal *j)
{
	const struct journal_retention *t = j->retention;
	uint64_t at = UINT64_MAX;

	if (t->pass != IDLE)
		return 0; /* now: the next chunk, after any commit */
	if (t->keep_ms > 0)
		at = t->age_at;
	if (t->max_bytes > 0 && t->budget_at < at)
		at = t->budget_at;
	return at;
}
