/*
 * journal.c - the journal thread: batches from the loop, group commit,
 * the records of what was lost, checkpoints and the timers, all off the
 * loop.  The loop only appends and submits; what was committed comes
 * back through a uv_async_t.  The files (lock, open, checks, fdatasync)
 * are journal_file.c; the SQLite file itself is journal_db.c, and only
 * the journal thread writes it.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "journal_int.h"
#include "log.h"
#include "util.h"

#define RETRY_MS 30000
#define CHECK_MS 1000
#define SYNC_MS  1000 /* a power cut loses at most about this much */
#define IDLE_MS  250  /* no batch for this long: a quiet moment */
/*
 * A checkpoint holds up the commits behind it (it copies pages and
 * fsyncs the database), so it waits for a quiet moment, unless the WAL
 * grows past the cap.
 */
#define CHECKPOINT_IDLE_PAGES 64
#define CHECKPOINT_MAX_PAGES  4000 /* about 16 MB of WAL */
/* Batches kept for reuse, and how large their buffers may stay. */
#define SPARE_BATCHES 2
#define SPARE_BYTES   (256 * 1024)

/*
 * Less free space than this on data_dir's disk: the WAL is copied into
 * the database and emptied every check_ms, rather than left to grow until
 * a quiet moment that a steady trickle of requests never gives.
 */
#define LOW_SPACE (16 * 1024 * 1024)

/*
 * While rows are still being lost, the record of the loss waits for the
 * loss to end, but not longer than this: under a lasting overload, one
 * record a minute, not one a commit.
 */
#define GAP_MS 60000

/* Records of its own waiting for a commit: a few, unless it is broken. */
#define SYSTEM_MAX 64

/* ---- the loop's side ---- */

static struct journal_batch *
open_batch(struct journal *j)
{
	struct journal_batch *b = j->open;

	if (b != NULL)
		return b;
	b = j->spare;
	if (b != NULL) {
		j->spare = b->next;
		j->nspare--;
	} else
		b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->ticket = j->submitted + 1;
	j->open = b;
	return b;
}

/* A finished batch is kept for the next, unless it grew large. */
static void
recycle(struct journal *j, struct journal_batch *b)
{
	if (j->nspare >= SPARE_BATCHES ||
	    b->text.cap + b->json.cap > SPARE_BYTES) {
		journal_batch_free(b);
		return;
	}
	journal_batch_cursors_clear(b);
	b->n = 0;
	b->nout = 0;
	b->text.len = 0;
	b->json.len = 0;
	b->committed = false;
	memset(&b->dropped, 0, sizeof(b->dropped));
	b->next = j->spare;
	j->spare = b;
	j->nspare++;
}

static int
drop(struct journal *j, const struct journal_record *r, int64_t ts_ms,
    const char *why)
{
	journal_loss_add(&j->drops, r->kind, ts_ms, why);
	j->dropped++;
	if (log_ratelimit(&j->dropped_warned_ms))
		log_errx("journal: %s: a row is dropped (%" PRIu64 " so far; "
		         "logged once a minute)",
		    why, j->dropped);
	return -1;
}

int
journal_append(struct journal *j, const struct journal_record *r, int64_t ts_ms)
{
	struct journal_batch *b;
	char why[64];

	if (j->waiting >= JOURNAL_MAX_WAITING) {
		snprintf(why, sizeof(why), "%zu rows wait for the disk",
		    j->waiting);
		return drop(j, r, ts_ms, why);
	}
	b = open_batch(j);
	if (b == NULL ||
	    journal_batch_add(b, r, ts_ms, atomic_load(&j->unsynced)) < 0)
		return drop(j, r, ts_ms, "out of memory");
	j->waiting++;
	return 0;
}

uint64_t
journal_ticket(const struct journal *j)
{
	return j->open != NULL && j->open->n > 0 ? j->open->ticket :
	                                           j->submitted;
}

void
journal_clock(struct journal *j, bool synchronised)
{
	atomic_store(&j->unsynced, !synchronised);
}

int
journal_cursor(struct journal *j, const char *name, int64_t seq,
    const char *state)
{
	struct journal_batch *b = open_batch(j);
	struct journal_cursor *c;
	char *copy = NULL;
	size_t i;

	if (b == NULL || (state != NULL && (copy = strdup(state)) == NULL))
		return -1;
	for (i = 0; i < b->ncursors; i++)
		if (strcmp(b->cursors[i].name, name) == 0)
			break;
	if (i == JOURNAL_CURSORS || strlen(name) >= sizeof(c->name)) {
		free(copy);
		return -1;
	}
	c = &b->cursors[i];
	if (i == b->ncursors) {
		b->ncursors++;
		str_copy(c->name, name, sizeof(c->name));
	} else
		free(c->state);
	c->seq = seq;
	c->state = copy;
	return 0;
}

int
journal_dead_letter(struct journal *j, const char *sink, int64_t seq,
    const char *why)
{
	struct journal_batch *b = open_batch(j);
	struct journal_dead *d;

	if (b == NULL || b->ndead == JOURNAL_DEAD_LETTERS ||
	    strlen(sink) >= sizeof(d->sink))
		return -1;
	d = &b->dead[b->ndead++];
	str_copy(d->sink, sink, sizeof(d->sink));
	d->seq = seq;
	str_copy(d->why, why, sizeof(d->why));
	return 0;
}

void
journal_submit(struct journal *j)
{
	struct journal_batch *b = j->open;

	if (b == NULL || (b->n == 0 && b->ncursors == 0 && b->ndead == 0))
		return;
	j->open = NULL;
	j->submitted = b->ticket;
	b->dropped = j->drops;
	memset(&j->drops, 0, sizeof(j->drops));
	pthread_mutex_lock(&j->mu);
	*j->todo_tail = b;
	j->todo_tail = &b->next;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->mu);
}

/* An alert of the journal's own, to the loop's incidents. */
static void
deliver_alert(struct journal *j, json_t *extra, const char *reason,
    int64_t ts_ms)
{
	struct journal_record r = {
		.kind = "system",
		.device = "gateway",
		.decision = json_string_value(json_object_get(extra, "alert")),
		.reason = reason,
		.extra = extra,
	};

	if (j->alert != NULL && r.decision != NULL)
		j->alert(j->arg, &r, ts_ms);
	json_decref(extra);
}

/* The finished batches, in ticket order, to the done callback. */
static void
deliver(struct journal *j)
{
	struct journal_batch *list, *b;
	const char *alert_reason;
	json_t *alert;
	int64_t alert_ts;

	pthread_mutex_lock(&j->mu);
	list = j->finished;
	j->finished = NULL;
	j->finished_tail = &j->finished;
	/* Stopping, nobody opens an incident any more. */
	alert = j->stopping ? NULL : j->alert_extra;
	alert_ts = j->alert_ts;
	alert_reason = j->alert_reason;
	if (alert != NULL)
		j->alert_extra = NULL;
	pthread_mutex_unlock(&j->mu);
	while (list != NULL) {
		b = list;
		list = b->next;
		j->waiting -= b->n;
		j->done(j->arg, b->ticket, b->committed, b->out, b->nout);
		recycle(j, b);
	}
	if (alert != NULL)
		deliver_alert(j, alert, alert_reason, alert_ts);
	journal_read_deliver(j);
}

static void
on_async(uv_async_t *h)
{
	deliver(h->data);
}

/* ---- the journal thread ---- */

/*
 * A system record of the journal's own (a new journal, a gap): it goes
 * first into the next transaction, and is reported with the batch it
 * was committed with.
 */
void
journal_queue_record(struct journal *j, const struct journal_record *r)
{
	if (j->sys == NULL)
		j->sys = calloc(1, sizeof(*j->sys));
	if (j->sys == NULL || j->sys->n >= SYSTEM_MAX ||
	    journal_batch_add(j->sys, r, now_ms(), atomic_load(&j->unsynced)) <
	        0)
		log_errx("journal: a %s record (%s) is dropped", r->decision,
		    r->reason);
}

void
journal_queue_system(struct journal *j, const char *decision,
    const char *reason, json_t *extra)
{
	struct journal_record r = {
		.kind = "system",
		.decision = decision,
		.reason = reason,
		.extra = extra,
	};

	journal_queue_record(j, &r);
}

/* The loop learns of it with the next batches it is told of. */
void
journal_post_alert(struct journal *j, json_t *extra, const char *reason,
    int64_t ts_ms)
{
	pthread_mutex_lock(&j->mu);
	json_decref(j->alert_extra); /* one at a time is plenty */
	j->alert_extra = json_incref(extra);
	j->alert_reason = reason;
	j->alert_ts = ts_ms;
	pthread_mutex_unlock(&j->mu);
	uv_async_send(&j->async);
}

/* "<site>:<seq>", as in a record's id. */
json_t *
journal_id_json(const struct journal *j, int64_t seq)
{
	char id[128];

	snprintf(id, sizeof(id), "%s:%" PRId64, j->site, seq);
	return json_string(id);
}

/* src's rows, their records composed into dst's json.  0 or -1. */
static int
insert_rows(struct journal *j, struct journal_batch *dst,
    struct journal_batch *src)
{
	struct journal_record r;
	struct journal_pending *p;
	size_t i;

	for (i = 0; i < src->n; i++) {
		p = &src->rows[i];
		/* Taken even if the transaction fails: an id is never
		 * given twice. */
		p->seq = j->next_seq++;
		if (journal_batch_compose(dst, src, p, j->site) < 0) {
			log_errx("journal: out of memory");
			return -1;
		}
		journal_batch_record(src, p, &r);
		if (journal_db_insert(j->db, p->seq, &r, p->ts_ms,
		        dst->json.p + p->json) < 0)
			return -1;
	}
	return 0;
}

/*
 * The journal's own records, then every row of every batch, in one
 * transaction (group commit).  0, -1, or -2 if SQLite found the file
 * damaged.
 */
static int
write_rows(struct journal *j, struct journal_batch *sys,
    struct journal_batch *list, char *why, size_t size)
{
	struct journal_batch *b;
	size_t i, n = sys != NULL ? sys->n : 0;

	for (b = list; b != NULL; b = b->next) {
		n += b->n;
		b->json.len = 0;
	}
	if (journal_file_reserve_ids(j, n, why, size) < 0)
		return -1;
	if (journal_db_begin(j->db) < 0)
		goto fail;
	/* The bound in journal.db too, for whoever copies only the file. */
	if (j->bound_pending && journal_db_keep_bound(j->db, j->bound) < 0)
		goto fail;
	if (sys != NULL) {
		if (list == NULL)
			sys->json.len = 0;
		if (insert_rows(j, list != NULL ? list : sys, sys) < 0)
			goto fail;
	}
	for (b = list; b != NULL; b = b->next)
		if (insert_rows(j, b, b) < 0)
			goto fail;
	/* After the rows: a sink never confirms what is not there. */
	for (b = list; b != NULL; b = b->next) {
		for (i = 0; i < b->ndead; i++)
			if (journal_db_dead_letter(j->db, b->dead[i].sink,
			        b->dead[i].seq, b->dead[i].why, now_ms()) < 0)
				goto fail;
		for (i = 0; i < b->ncursors; i++)
			if (journal_db_cursor_set(j->db, b->cursors[i].name,
			        b->cursors[i].seq, b->cursors[i].state) < 0)
				goto fail;
	}
	if (journal_db_commit(j->db) < 0)
		goto fail;
	j->dirty = true;
	j->bound_pending = false;
	return 0;
fail:
	/* A failed statement costs the whole transaction. */
	journal_db_rollback(j->db);
	snprintf(why, size, "%s",
	    journal_db_error(j->db) ?
	        journal_db_errstr(journal_db_error(j->db)) :
	        "out of memory");
	return journal_db_damaged(journal_db_error(j->db)) ? -2 : -1;
}

/*
 * After rows were lost, the next transaction says so first: how many,
 * of what kind, from when to when, and what failed.  Added to the
 * journal's own records for one attempt; removed again if it fails, as
 * the loss has grown by then.  false if it could not be added.
 */
static bool
add_gap(struct journal *j)
{
	size_t before = j->sys != NULL ? j->sys->n : 0;
	json_t *extra;

	if (j->loss.rows == 0)
		return false;
	extra = journal_loss_json(&j->loss);
	journal_queue_system(j, "unjournaled", j->loss.cause, extra);
	json_decref(extra);
	return j->sys != NULL && j->sys->n > before;
}

/* A loss starts being timed with its first row. */
static void
note_loss(struct journal *j, bool had)
{
	if (!had && j->loss.rows > 0)
		j->loss_since = mono_ms();
}

static void
commit_batches(struct journal *j, struct journal_batch *list)
{
	struct journal_batch *sys, *b;
	size_t sys_n = 0, sys_len = 0;
	char why[300] = "journal not open";
	bool had = j->loss.rows > 0, dropping = false, gap = false;
	int rc = -1;

	for (b = list; b != NULL; b = b->next) {
		dropping = dropping || b->dropped.rows > 0;
		journal_loss_merge(&j->loss, &b->dropped);
	}
	note_loss(j, had);
	if (j->sys != NULL) {
		sys_n = j->sys->n;
		sys_len = j->sys->text.len;
	}
	if (j->loss.rows > 0 &&
	    (!dropping || mono_ms() - j->loss_since >= GAP_MS))
		gap = add_gap(j);
	sys = j->sys != NULL && j->sys->n > 0 ? j->sys : NULL;
	if (j->db != NULL)
		rc = write_rows(j, sys, list, why, sizeof(why));
	for (b = list; b != NULL; b = b->next)
		journal_batch_answer(b, rc == 0, b == list ? sys : NULL);
	if (rc == 0) {
		if (gap) {
			log_info("journal: a system record counts the %" PRIu64
			         " rows not journaled (%s)",
			    j->loss.rows, j->loss.cause);
			memset(&j->loss, 0, sizeof(j->loss));
		}
		if (sys != NULL) {
			sys->n = 0;
			sys->text.len = 0;
		}
		j->write_failed = false;
		return;
	}
	if (sys != NULL) {
		/* Without the gap record: the next attempt counts more. */
		sys->n = sys_n;
		sys->text.len = sys_len;
	}
	had = j->loss.rows > 0;
	for (b = list; b != NULL; b = b->next)
		journal_loss_batch(&j->loss, b, why);
	note_loss(j, had);
	if (rc == -2) {
		/* The message goes with the connection. */
		snprintf(why, sizeof(why), "%s", journal_db_errmsg(j->db));
		journal_file_replace(j, why, true);
	} else if (j->db != NULL) {
		/* A full disk: the WAL's space may be what it needs. */
		j->write_failed = true;
		j->checkpoint_at = 0;
	}
}

static void
post(struct journal *j, struct journal_batch *list)
{
	struct journal_batch *last = list;

	while (last->next != NULL)
		last = last->next;
	pthread_mutex_lock(&j->mu);
	*j->finished_tail = list;
	j->finished_tail = &last->next;
	j->reported = last->ticket;
	pthread_cond_broadcast(&j->answered); /* journal_flush() */
	pthread_mutex_unlock(&j->mu);
	uv_async_send(&j->async);
}

static bool
wants_checkpoint(const struct journal *j, uint64_t now)
{
	int pages = journal_db_wal_pages(j->db);

	if (now < j->checkpoint_at)
		return false;
	return pages >= CHECKPOINT_MAX_PAGES ||
	    (pages >= CHECKPOINT_IDLE_PAGES &&
	        now - j->last_batch_at >= IDLE_MS);
}

static void
checkpoint(struct journal *j, uint64_t now, bool truncate)
{
	if (journal_db_checkpoint(j->db, truncate) < 0) {
		/* Not again at once: a busy loop helps no disk. */
		j->checkpoint_at = now + j->check_ms;
		return;
	}
	/* A checkpoint syncs the WAL before it copies it. */
	j->dirty = false;
}

/*
 * Is data_dir's disk short of space?  Said when it starts and when it
 * ends (with some slack, not to say it every second at the edge).
 */
static void
check_space(struct journal *j)
{
	struct statvfs st;
	uint64_t free;

	if (statvfs(j->dir, &st) < 0)
		return;
	free = (uint64_t)st.f_bavail * st.f_frsize;
	if (!j->short_space && free < j->low_space) {
		j->short_space = true;
		log_warnx("journal: %" PRIu64 " kB free in %s: the WAL is "
		          "copied into the database every %g s",
		    free / 1024, j->dir, j->check_ms / 1000.0);
	} else if (j->short_space && free >= 2 * j->low_space) {
		j->short_space = false;
		log_info("journal: %" PRIu64 " kB free in %s again",
		    free / 1024, j->dir);
	}
}

/* What is due: a retry, an fdatasync of the WAL, a checkpoint. */
static void
timers(struct journal *j)
{
	uint64_t now = mono_ms();

	if (j->db != NULL && now >= j->check_at) {
		j->check_at = now + j->check_ms;
		journal_file_check(j);
		check_space(j);
	}
	if (j->db == NULL) {
		if (now >= j->retry_at)
			journal_file_open(j, false);
		return;
	}
	/* Under pressure, not only in quiet moments: once a check_ms. */
	if ((j->short_space || j->write_failed) && now >= j->checkpoint_at &&
	    journal_db_wal_bytes(j->db) > 0) {
		checkpoint(j, now, true);
		j->checkpoint_at = now + j->check_ms;
	} else if (wants_checkpoint(j, now))
		checkpoint(j, now, false);
	if (!j->full && j->dirty && now - j->synced_at >= SYNC_MS)
		journal_file_sync(j, now);
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* When timers() next has something to do, at the latest in check_ms. */
static uint64_t
next_wake(const struct journal *j)
{
	uint64_t now = mono_ms(), t = now + j->check_ms;

	if (j->db == NULL)
		return min_u64(t, j->retry_at);
	if (!j->full && j->dirty)
		t = min_u64(t, j->synced_at + SYNC_MS);
	if (journal_db_wal_pages(j->db) >= CHECKPOINT_IDLE_PAGES)
		t = min_u64(t,
		    j->last_batch_at + IDLE_MS > j->checkpoint_at ?
		        j->last_batch_at + IDLE_MS :
		        j->checkpoint_at);
	return min_u64(t, journal_retention_due(j));
}

static void
wait_until(struct journal *j, uint64_t at_ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(at_ms / 1000),
		.tv_nsec = (long)(at_ms % 1000) * 1000000,
	};

	/* A timeout or a spurious wake-up: the caller looks again. */
	(void)pthread_cond_timedwait(&j->wake, &j->mu, &ts);
}

static void *
run(void *arg)
{
	struct journal *j = arg;
	struct journal_batch *list;
	struct call *c;
	char err[400];
	int rc;

	rc = journal_file_open(j, true);
	pthread_mutex_lock(&j->mu);
	j->state = rc == -2 ? REFUSED : RUNNING;
	pthread_cond_broadcast(&j->answered);
	if (rc == -2) {
		pthread_mutex_unlock(&j->mu);
		return NULL;
	}
	for (;;) {
		c = j->call;
		if (c != NULL && !c->done) {
			pthread_mutex_unlock(&j->mu);
			c->rc = j->db != NULL ? c->fn(j->db, c->arg) : -1;
			pthread_mutex_lock(&j->mu);
			c->done = true;
			pthread_cond_broadcast(&j->answered);
			continue;
		}
		/* Every batch waiting: one transaction for them all. */
		list = j->todo;
		j->todo = NULL;
		j->todo_tail = &j->todo;
		if (list == NULL && j->stopping)
			break;
		pthread_mutex_unlock(&j->mu);
		if (list != NULL) {
			j->last_batch_at = mono_ms();
			commit_batches(j, list);
			post(j, list);
		}
		/* A sink's read, after the commits it may wait for. */
		journal_read_next(j);
		journal_file_checked(j);
		timers(j);
		/* One short transaction of deletes at most, between
		 * commits: a batch waiting goes first next time round. */
		journal_retention_step(j);
		pthread_mutex_lock(&j->mu);
		if (list == NULL && j->todo == NULL && j->reads == NULL &&
		    (j->call == NULL || j->call->done) && !j->stopping &&
		    !(j->checking && j->check_done))
			wait_until(j, next_wake(j));
	}
	pthread_mutex_unlock(&j->mu);
	journal_file_end_check(j);
	/* Records of its own still waiting, and the loop's last drops:
	 * written, though not reported. */
	journal_loss_merge(&j->loss, &j->last_drops);
	(void)add_gap(j);
	if (j->db != NULL && j->sys != NULL && j->sys->n > 0)
		(void)write_rows(j, j->sys, NULL, err, sizeof(err));
	/* Closing checkpoints the whole WAL into the database. */
	journal_db_close(j->db, true);
	j->db = NULL;
	if (j->lock_fd >= 0)
		close(j->lock_fd);
	j->lock_fd = -1;
	return NULL;
}

/* ---- start, stop, reads ---- */

static void
journal_free(struct journal *j)
{
	struct journal_batch *b;

	journal_batch_free(j->open);
	journal_batch_free(j->sys);
	journal_retention_free(j->retention);
	json_decref(j->alert_extra);
	while (j->spare != NULL) {
		b = j->spare;
		j->spare = b->next;
		journal_batch_free(b);
	}
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->wake);
	pthread_cond_destroy(&j->answered);
	pthread_mutex_destroy(&j->sync_mu);
	pthread_cond_destroy(&j->sync_cond);
	pthread_mutex_destroy(&j->check_stop.mu);
	free(j->dir);
	free(j->path);
	free(j->lock_path);
	free(j->site);
	free(j);
}

static void
on_closed(uv_handle_t *h)
{
	journal_free(h->data);
}

/* The journal thread ends (its file closed), then the syncer. */
static void
stop_thread(struct journal *j)
{
	pthread_mutex_lock(&j->mu);
	j->last_drops = j->drops;
	j->stopping = true;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->thread, NULL);
	journal_file_stop_syncer(j);
}

static int
init_sync(struct journal *j)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	/* Timers on the monotonic clock: a clock step must not stall them. */
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&j->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0)
		return -1;
	if (pthread_cond_init(&j->answered, NULL) != 0) {
		pthread_cond_destroy(&j->wake);
		return -1;
	}
	if (pthread_mutex_init(&j->mu, NULL) != 0) {
		pthread_cond_destroy(&j->wake);
		pthread_cond_destroy(&j->answered);
		return -1;
	}
	if (pthread_mutex_init(&j->sync_mu, NULL) != 0) {
		pthread_mutex_destroy(&j->mu);
		pthread_cond_destroy(&j->wake);
		pthread_cond_destroy(&j->answered);
		return -1;
	}
	if (pthread_mutex_init(&j->check_stop.mu, NULL) != 0) {
		pthread_mutex_destroy(&j->sync_mu);
		pthread_mutex_destroy(&j->mu);
		pthread_cond_destroy(&j->wake);
		pthread_cond_destroy(&j->answered);
		return -1;
	}
	if (pthread_cond_init(&j->sync_cond, NULL) != 0) {
		pthread_mutex_destroy(&j->check_stop.mu);
		pthread_mutex_destroy(&j->sync_mu);
		pthread_mutex_destroy(&j->mu);
		pthread_cond_destroy(&j->wake);
		pthread_cond_destroy(&j->answered);
		return -1;
	}
	return 0;
}

struct journal *
journal_start(uv_loop_t *loop, const struct journal_options *o,
    journal_done_fn *done, void *arg)
{
	struct journal *j;
	char ebuf[96];
	int rc;

	/* The site goes into ids unescaped (journal_id_prefix). */
	if (o->site[0] == '\0' ||
	    o->site[strspn(o->site,
	        "abcdefghijklmnopqrstuvwxyz0123456789_-")]) {
		log_errx("journal: site %s: only a-z, 0-9, _ and -", o->site);
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || init_sync(j) < 0) {
		free(j);
		log_errx("journal: out of memory");
		return NULL;
	}
	j->dir = strdup(o->data_dir);
	j->site = strdup(o->site);
	j->readers_gid = o->readers_gid;
	if (asprintf(&j->path, "%s/journal.db", o->data_dir) < 0)
		j->path = NULL;
	if (asprintf(&j->lock_path, "%s/gatewayd.lock", o->data_dir) < 0)
		j->lock_path = NULL;
	if (j->dir == NULL || j->site == NULL || j->path == NULL ||
	    j->lock_path == NULL) {
		log_errx("journal: out of memory");
		journal_free(j);
		return NULL;
	}
	j->full = o->sync_full;
	j->retry_ms = o->retry_ms ? o->retry_ms : RETRY_MS;
	j->check_ms = o->check_ms ? o->check_ms : CHECK_MS;
	j->low_space = o->low_space ? o->low_space : LOW_SPACE;
	j->done = done;
	j->alert = o->alert;
	j->arg = arg;
	atomic_init(&j->unsynced, o->clock_unsynced);
	j->retention = journal_retention_new(o);
	if (j->retention == NULL) {
		log_errx("journal: out of memory");
		journal_free(j);
		return NULL;
	}
	j->lock_fd = -1;
	j->next_seq = 1;
	j->todo_tail = &j->todo;
	j->finished_tail = &j->finished;
	j->reads_tail = &j->reads;
	j->read_done_tail = &j->read_done;
	j->state = STARTING;
	j->sync_fd = -1;

	rc = journal_file_start_syncer(j);
	if (rc == 0) {
		rc = pthread_create(&j->thread, NULL, run, j);
		if (rc != 0)
			journal_file_stop_syncer(j);
	}
	if (rc != 0) {
		log_errx("journal: cannot start its threads: %s",
		    strerror_r(rc, ebuf, sizeof(ebuf)));
		journal_free(j);
		return NULL;
	}
	/* The first open is waited for: a held lock ends the start. */
	pthread_mutex_lock(&j->mu);
	while (j->state == STARTING)
		pthread_cond_wait(&j->answered, &j->mu);
	pthread_mutex_unlock(&j->mu);
	if (j->state == REFUSED) {
		pthread_join(j->thread, NULL);
		journal_file_stop_syncer(j);
		journal_free(j);
		return NULL;
	}
	/* The thread posts results only for batches, which come later. */
	j->async.data = j;
	rc = uv_async_init(loop, &j->async, on_async);
	if (rc < 0) {
		log_errx("journal: %s", uv_strerror(rc));
		stop_thread(j);
		journal_free(j);
		return NULL;
	}
	return j;
}

void
journal_flush(struct journal *j)
{
	journal_submit(j);
	pthread_mutex_lock(&j->mu);
	while (j->reported < j->submitted)
		pthread_cond_wait(&j->answered, &j->mu);
	pthread_mutex_unlock(&j->mu);
	deliver(j);
}

void
journal_stop(struct journal *j)
{
	if (j == NULL)
		return;
	journal_submit(j);
	stop_thread(j);
	journal_read_abandon(j);
	deliver(j);
	uv_close((uv_handle_t *)&j->async, on_closed);
}

/* Run fn on the journal thread and wait for it. */
static int
call(struct journal *j, int (*fn)(struct journal_db *, void *), void *arg)
{
	struct call c = { .fn = fn, .arg = arg, .rc = -1 };

	pthread_mutex_lock(&j->mu);
	j->call = &c;
	pthread_cond_signal(&j->wake);
	while (!c.done)
		pthread_cond_wait(&j->answered, &j->mu);
	j->call = NULL;
	pthread_mutex_unlock(&j->mu);
	return c.rc;
}

struct visitors_call {
	void (*cb)(void *, const char *, unsigned);
	void *arg;
};

static int
call_visitors(struct journal_db *db, void *arg)
{
	struct visitors_call *c = arg;

	return journal_db_visitor_entries(db, c->cb, c->arg);
}

int
journal_visitor_entries(struct journal *j,
    void (*cb)(void *, const char *, unsigned), void *arg)
{
	struct visitors_call c = { .cb = cb, .arg = arg };

	return call(j, call_visitors, &c);
}

struct requests_call {
	int64_t since_ms;
	void (*cb)(void *, const char *, const char *, int64_t);
	void *arg;
};

static int
call_requests(struct journal_db *db, void *arg)
{
	struct requests_call *c = arg;

	return journal_db_recent_requests(db, c->since_ms, c->cb, c->arg);
}

int
journal_recent_requests(struct journal *j, int64_t since_ms,
    void (*cb)(void *, const char *, const char *, int64_t), void *arg)
{
	struct requests_call c = { .since_ms = since_ms, .cb = cb, .arg = arg };

	return call(j, call_requests, &c);
}

struct vehicle_call {
	int64_t since_ms;
	void (*cb)(void *, int64_t, const char *, size_t);
	void *arg;
};

static int
call_vehicles(struct journal_db *db, void *arg)
{
	struct vehicle_call *c = arg;

	return journal_db_vehicle_rows(db, c->since_ms, c->cb, c->arg);
}

int
journal_vehicle_rows(struct journal *j, int64_t since_ms,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg)
{
	struct vehicle_call c = { .since_ms = since_ms, .cb = cb, .arg = arg };

	return call(j, call_vehicles, &c);
}

static int
call_cameras(struct journal_db *db, void *arg)
{
	struct vehicle_call *c = arg;

	return journal_db_camera_rows(db, c->since_ms, c->cb, c->arg);
}

int
journal_camera_rows(struct journal *j, int64_t since_ms,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg)
{
	struct vehicle_call c = { .since_ms = since_ms, .cb = cb, .arg = arg };

	return call(j, call_cameras, &c);
}

static int
call_occupancy(struct journal_db *db, void *arg)
{
	return journal_db_vehicle_occupancy(db, arg);
}

int
journal_vehicle_occupancy(struct journal *j, int *out)
{
	return call(j, call_occupancy, out);
}

static int
call_alarm(struct journal_db *db, void *arg)
{
	struct vehicle_call *c = arg;

	return journal_db_alarm_rows(db, c->cb, c->arg);
}

int
journal_alarm_rows(struct journal *j,
    void (*cb)(void *, int64_t, const char *, size_t), void *arg)
{
	struct vehicle_call c = { .cb = cb, .arg = arg };

	return call(j, call_alarm, &c);
}

static int
call_incidents(struct journal_db *db, void *arg)
{
	struct vehicle_call *c = arg;

	return journal_db_incident_rows(db, c->cb, c->arg);
}

int
journal_incident_rows(struct journal *j,
    void (*cb)(void *, int64_t, const char *, size_t), void *arg)
{
	struct vehicle_call c = { .cb = cb, .arg = arg };

	return call(j, call_incidents, &c);
}

struct care_call {
	const char *const *persons;
	size_t n;
	void (*cb)(void *, int64_t, const char *, size_t);
	void *arg;
};

static int
call_care(struct journal_db *db, void *arg)
{
	struct care_call *c = arg;

	return journal_db_care_rows(db, c->persons, c->n, c->cb, c->arg);
}

int
journal_care_rows(struct journal *j, const char *const *persons, size_t n,
    void (*cb)(void *, int64_t, const char *, size_t), void *arg)
{
	struct care_call c = { .persons = persons,
		.n = n,
		.cb = cb,
		.arg = arg };

	return call(j, call_care, &c);
}
