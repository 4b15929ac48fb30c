/*
 * journal.c - the journal thread: batches from the loop, group commit,
 * ids, the lock on data_dir, retries, the WAL's fdatasync and the
 * checkpoints, all off the loop.  The loop only appends and submits; what
 * was committed comes back through a uv_async_t.  The SQLite file itself
 * is journal_db.c, and only this thread touches it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "journal_db.h"
#include "journal_ids.h"
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
/*
 * Ids are reserved this many at a time (two fsyncs each): a restart
 * skips what is left of the block, which costs nothing but numbers.
 */
#define ID_BLOCK 10000
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

#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)
#define NO_STR     UINT32_MAX

enum field {
	F_KIND,
	F_DEVICE,
	F_REQUEST,
	F_DECISION,
	F_REASON,
	F_SUBJECT_TYPE,
	F_SUBJECT_ID,
	F_HOUSEHOLD,
	F_DIRECTION,
	F_BODY, /* the record without its id */
	F_COUNT
};

/*
 * Rows that were not journaled, from the first to the last, until a
 * commit succeeds again and a system record says so.
 */
#define LOSS_KINDS 8
struct loss {
	uint64_t rows;
	int64_t from_ms, to_ms;
	struct {
		char name[16];
		uint64_t n;
	} kinds[LOSS_KINDS]; /* the rest counts as "other" */
	char cause[160];     /* what failed first */
};

/* Strings back to back, found by offset: one buffer per batch. */
struct text {
	char *p;
	size_t len, cap;
};

struct pending {
	int64_t ts_ms;
	uint32_t str[F_COUNT]; /* offsets in the batch's text, or NO_STR */
	uint32_t body_len;
	/* The thread's: the record with its id, in the batch's json. */
	int64_t seq;
	uint32_t json, json_len;
};

struct batch {
	struct batch *next;
	uint64_t ticket;
	struct pending *rows;
	size_t n, cap;
	struct text text;    /* written by the loop */
	struct loss dropped; /* rows the loop dropped before this batch */
	/* The thread's answer. */
	bool committed;
	struct text json;
	struct journal_row *out;
	size_t nout, capout;
};

/* A read run on the thread for a caller that waits. */
struct call {
	int (*fn)(struct journal_db *, void *);
	void *arg;
	int rc;
	bool done;
};

enum state { STARTING, RUNNING, REFUSED };

struct journal {
	/* Set before the thread starts; read-only after. */
	char *dir, *path, *lock_path, *site;
	bool full;
	unsigned retry_ms, check_ms;
	journal_done_fn *done;
	void *arg;
	uv_async_t async;
	pthread_t thread;

	/* The loop thread's. */
	struct batch *open;
	struct batch *spare;
	size_t nspare;
	uint64_t submitted; /* the last ticket handed over */
	size_t waiting;     /* rows appended and not yet reported */
	struct loss drops;  /* dropped since the last batch submitted */
	uint64_t dropped;   /* all told */
	uint64_t dropped_warned_ms;

	/* Under mu: what passes between the two. */
	pthread_mutex_t mu;
	pthread_cond_t wake;     /* the thread: a batch, a call, stop */
	pthread_cond_t answered; /* the loop: started, a call done, a flush */
	struct batch *todo, **todo_tail;
	struct batch *finished, **finished_tail;
	uint64_t reported; /* the last ticket finished */
	struct call *call;
	enum state state;
	bool stopping;
	struct loss last_drops; /* the loop's, handed over at stop */

	/* The journal thread's. */
	struct journal_db *db;
	int lock_fd;
	int64_t next_seq;
	int64_t bound;      /* ids up to this are reserved (journal.ids) */
	bool ids_loaded;    /* the bound of an earlier run is known */
	bool bound_pending; /* a new bound is not in journal.db yet */
	uint64_t ids_warned_ms;
	struct batch *sys;   /* records of its own, first in the next commit */
	int64_t checked_seq; /* rows up to this were in a sound file */
	uint64_t check_at;
	pthread_t checker; /* quick_check after an open */
	bool checking;     /* a checker to be joined */
	struct journal_db_stop check_stop;
	bool check_done; /* under mu, with check_rc and check_why */
	int check_rc;
	char check_why[300];
	struct loss loss;    /* not journaled since the last commit */
	uint64_t loss_since; /* mono_ms() of its first row */
	bool write_failed;   /* since the last commit that succeeded */
	bool short_space;    /* on data_dir's disk */
	uint64_t low_space;
	bool open_failed; /* logged; "open again" is due when it opens */
	bool dirty;       /* committed since the last fdatasync */
	uint64_t retry_at, synced_at, last_batch_at, checkpoint_at;

	/*
	 * The WAL's fdatasync has a thread of its own: on the journal
	 * thread it held every commit behind it, 5-7 ms each second at
	 * 1000 rows/s here, and far longer on an SD card.  It syncs a dup
	 * of the WAL's fd, so that the journal may close its file meanwhile.
	 */
	pthread_t syncer;
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cond;
	int sync_fd; /* to sync, or -1 */
	bool sync_busy, sync_stop;
	uint64_t sync_warned_ms; /* the syncer's */
};

/* ---- buffers ---- */

static int
text_reserve(struct text *t, size_t more)
{
	size_t cap;
	char *p;

	if (t->cap - t->len >= more)
		return 0;
	if (more > NO_STR - 1 - t->len)
		return -1; /* offsets are 32 bits */
	cap = t->cap ? t->cap : 1024;
	while (cap - t->len < more)
		cap *= 2;
	p = realloc(t->p, cap);
	if (p == NULL)
		return -1;
	t->p = p;
	t->cap = cap;
	return 0;
}

static const char *
text_at(const struct text *t, uint32_t off)
{
	return off == NO_STR ? NULL : t->p + off;
}

/* n rows of a kind; past LOSS_KINDS - 1 kinds, the last slot is "other". */
static void
loss_kind(struct loss *l, const char *kind, uint64_t n)
{
	size_t i;

	if (kind == NULL)
		kind = "other";
	for (i = 0; i < LOSS_KINDS - 1 && l->kinds[i].name[0]; i++)
		if (strcmp(l->kinds[i].name, kind) == 0)
			break;
	if (i == LOSS_KINDS - 1)
		kind = "other";
	snprintf(l->kinds[i].name, sizeof(l->kinds[i].name), "%s", kind);
	l->kinds[i].n += n;
}

/* n rows from from_ms to to_ms, for cause unless one came first. */
static void
loss_rows(struct loss *l, uint64_t n, int64_t from_ms, int64_t to_ms,
    const char *cause)
{
	if (n == 0)
		return;
	if (l->rows == 0 || from_ms < l->from_ms)
		l->from_ms = from_ms;
	if (l->rows == 0 || to_ms > l->to_ms)
		l->to_ms = to_ms;
	l->rows += n;
	if (l->cause[0] == '\0')
		snprintf(l->cause, sizeof(l->cause), "%s", cause);
}

static void
loss_add(struct loss *l, const char *kind, int64_t ts_ms, const char *cause)
{
	loss_rows(l, 1, ts_ms, ts_ms, cause);
	loss_kind(l, kind, 1);
}

static void
loss_merge(struct loss *to, const struct loss *from)
{
	size_t i;

	loss_rows(to, from->rows, from->from_ms, from->to_ms, from->cause);
	for (i = 0; i < LOSS_KINDS && from->kinds[i].name[0]; i++)
		loss_kind(to, from->kinds[i].name, from->kinds[i].n);
}

static void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	free(b->rows);
	free(b->text.p);
	free(b->json.p);
	free(b->out);
	free(b);
}

/* ---- the loop's side ---- */

static struct batch *
open_batch(struct journal *j)
{
	struct batch *b = j->open;

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
recycle(struct journal *j, struct batch *b)
{
	if (j->nspare >= SPARE_BATCHES ||
	    b->text.cap + b->json.cap > SPARE_BYTES) {
		batch_free(b);
		return;
	}
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
	loss_add(&j->drops, r->kind, ts_ms, why);
	j->dropped++;
	if (log_ratelimit(&j->dropped_warned_ms))
		log_errx("journal: %s: a row is dropped (%" PRIu64 " so far; "
		         "logged once a minute)",
		    why, j->dropped);
	return -1;
}

/* The record's columns and its JSON body, copied into the batch. */
static int
save_row(struct batch *b, struct pending *p, const struct journal_record *r,
    json_t *o)
{
	const char *v[F_BODY] = {
		[F_KIND] = r->kind,
		[F_DEVICE] = r->device,
		[F_REQUEST] = r->request,
		[F_DECISION] = r->decision,
		[F_REASON] = r->reason,
		[F_SUBJECT_TYPE] = r->subject_type,
		[F_SUBJECT_ID] = r->subject_id,
		[F_HOUSEHOLD] = r->household,
		[F_DIRECTION] = r->direction,
	};
	struct text *t = &b->text;
	size_t need = 256, n, i;

	for (i = 0; i < F_BODY; i++)
		need += v[i] ? strlen(v[i]) + 1 : 0;
	if (text_reserve(t, need) < 0)
		return -1;
	for (i = 0; i < F_BODY; i++) {
		p->str[i] = NO_STR;
		if (v[i] == NULL)
			continue;
		n = strlen(v[i]) + 1;
		p->str[i] = (uint32_t)t->len;
		memcpy(t->p + t->len, v[i], n);
		t->len += n;
	}
	/* Dumped straight into the batch; again if it did not fit. */
	n = json_dumpb(o, t->p + t->len, t->cap - t->len, JSON_FLAGS);
	if (n == 0)
		return -1;
	if (n >= t->cap - t->len) {
		if (text_reserve(t, n + 1) < 0)
			return -1;
		n = json_dumpb(o, t->p + t->len, t->cap - t->len, JSON_FLAGS);
	}
	p->str[F_BODY] = (uint32_t)t->len;
	p->body_len = (uint32_t)n;
	t->p[t->len + n] = '\0';
	t->len += n + 1;
	return 0;
}

/* A row at the end of batch b, its JSON built now.  0 or -1 (memory). */
static int
add_row(struct batch *b, const struct journal_record *r, int64_t ts_ms)
{
	struct pending *v;
	size_t mark;
	json_t *o;
	int rc;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;

		v = realloc(b->rows, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		b->rows = v;
		b->cap = cap;
	}
	b->rows[b->n].ts_ms = ts_ms;
	mark = b->text.len;
	o = journal_record_json(r, ts_ms);
	rc = o != NULL ? save_row(b, &b->rows[b->n], r, o) : -1;
	json_decref(o);
	if (rc < 0) {
		b->text.len = mark;
		return -1;
	}
	b->n++;
	return 0;
}

int
journal_append(struct journal *j, const struct journal_record *r, int64_t ts_ms)
{
	struct batch *b;
	char why[64];

	if (j->waiting >= JOURNAL_MAX_WAITING) {
		snprintf(why, sizeof(why), "%zu rows wait for the disk",
		    j->waiting);
		return drop(j, r, ts_ms, why);
	}
	b = open_batch(j);
	if (b == NULL || add_row(b, r, ts_ms) < 0)
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
journal_submit(struct journal *j)
{
	struct batch *b = j->open;

	if (b == NULL || b->n == 0)
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

/* The finished batches, in ticket order, to the done callback. */
static void
deliver(struct journal *j)
{
	struct batch *list, *b;

	pthread_mutex_lock(&j->mu);
	list = j->finished;
	j->finished = NULL;
	j->finished_tail = &j->finished;
	pthread_mutex_unlock(&j->mu);
	while (list != NULL) {
		b = list;
		list = b->next;
		j->waiting -= b->n;
		j->done(j->arg, b->ticket, b->committed, b->out, b->nout);
		recycle(j, b);
	}
}

static void
on_async(uv_async_t *h)
{
	deliver(h->data);
}

/* ---- the journal thread ---- */

/*
 * One gatewayd per data directory: two would be two writers of the
 * journal (SQLite 3.40's WAL bug) and would knock each other off the
 * broker with the same client id.  Held until the journal stops.
 * 0, -1 (err says why), or -2: another process holds it.
 */
static int
lock_dir(struct journal *j, char *err, size_t size)
{
	char ebuf[96];
	int fd, e;

	if (j->lock_fd >= 0)
		return 0;
	if (mkdir(j->dir, 0750) < 0 && errno != EEXIST) {
		snprintf(err, size, "journal: mkdir %s: %s", j->dir,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		snprintf(err, size, "journal: lock %s: %s", j->lock_path,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		close(fd);
		if (e == EWOULDBLOCK) {
			snprintf(err, size,
			    "another gatewayd has taken %s: not opening the "
			    "journal",
			    j->dir);
			return -2;
		}
		snprintf(err, size, "journal: lock %s: %s", j->lock_path,
		    strerror_r(e, ebuf, sizeof(ebuf)));
		return -1;
	}
	j->lock_fd = fd;
	return 0;
}

/*
 * A system record of the journal's own (a new journal, a gap): it goes
 * first into the next transaction, and is reported with the batch it
 * was committed with.
 */
static void
queue_system(struct journal *j, const char *decision, const char *reason,
    json_t *extra)
{
	struct journal_record r = {
		.kind = "system",
		.decision = decision,
		.reason = reason,
		.extra = extra,
	};

	if (j->sys == NULL)
		j->sys = calloc(1, sizeof(*j->sys));
	if (j->sys == NULL || j->sys->n >= SYSTEM_MAX ||
	    add_row(j->sys, &r, now_ms()) < 0)
		log_errx("journal: a %s record (%s) is dropped", decision,
		    reason);
}

/* "<site>:<seq>", as in a record's id. */
static json_t *
id_json(const struct journal *j, int64_t seq)
{
	char id[128];

	snprintf(id, sizeof(id), "%s:%" PRId64, j->site, seq);
	return json_string(id);
}

/*
 * A damaged journal and its WAL become journal.db.broken-<time>(-wal),
 * kept for whoever wants to look; the shared-memory index goes.  A WAL
 * left at the path would be replayed into the new journal.  0 or -1.
 */
static int
move_aside(struct journal *j, char *to, size_t size)
{
	char stamp[32], from[PATH_MAX + 8], wal[PATH_MAX + 8];
	struct tm tm;
	time_t t;
	int i;

	t = time(NULL);
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(to, size, "%s.broken-%s", j->path, stamp);
		else
			snprintf(to, size, "%s.broken-%s-%d", j->path, stamp,
			    i);
		if (access(to, F_OK) < 0 && errno == ENOENT)
			break;
	}
	if (rename(j->path, to) < 0 && errno != ENOENT) {
		log_warn("journal: rename %s to %s", j->path, to);
		return -1;
	}
	snprintf(from, sizeof(from), "%s-wal", j->path);
	snprintf(wal, sizeof(wal), "%s-wal", to);
	if (rename(from, wal) < 0 && errno != ENOENT) {
		log_warn("journal: rename %s to %s", from, wal);
		return -1;
	}
	snprintf(from, sizeof(from), "%s-shm", j->path);
	if (unlink(from) < 0 && errno != ENOENT) {
		log_warn("journal: unlink %s", from);
		return -1;
	}
	return 0;
}

/*
 * PRAGMA quick_check reads the whole journal: seconds for a large one on
 * a card (7 s cold for a million rows here), too long for a start that
 * must answer the gates, or for commits to wait.  So it runs on a
 * read-only connection on a thread of its own, after every open, while
 * the journal writes; damage found is handled like damage found by a
 * write (replace()).  Rows written meanwhile go with the damaged file.
 */
static void *
run_checker(void *arg)
{
	struct journal *j = arg;
	char why[300];
	int rc;

	rc = journal_db_quick_check(j->path, &j->check_stop, why, sizeof(why));
	pthread_mutex_lock(&j->mu);
	j->check_rc = rc;
	snprintf(j->check_why, sizeof(j->check_why), "%s", why);
	j->check_done = true;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* Stop a check under way (its answer no longer matters) and wait. */
static void
end_check(struct journal *j)
{
	if (!j->checking)
		return;
	journal_db_stop_check(&j->check_stop);
	pthread_join(j->checker, NULL);
	j->checking = false;
}

static void
start_check(struct journal *j)
{
	int rc;

	end_check(j);
	pthread_mutex_lock(&j->check_stop.mu);
	j->check_stop.stopped = false;
	pthread_mutex_unlock(&j->check_stop.mu);
	pthread_mutex_lock(&j->mu);
	j->check_done = false;
	pthread_mutex_unlock(&j->mu);
	rc = pthread_create(&j->checker, NULL, run_checker, j);
	if (rc != 0) {
		log_errx("journal %s: no thread for quick_check: not checked",
		    j->path);
		return;
	}
	j->checking = true;
}

/*
 * The first time: any id up to the bound in journal.ids may have been
 * handed out by an earlier run, even if journal.db lost it.  Later opens
 * (in this run) know better: next_seq.  0 or -1 (err says why).
 */
static int
load_ids(struct journal *j, char *err, size_t size)
{
	int64_t bound;
	int rc;

	if (j->ids_loaded)
		return 0;
	rc = journal_ids_read(j->dir, &bound, err, size);
	if (rc == -1)
		return -1;
	if (rc == -2)
		log_errx("%s", err);
	j->bound = bound;
	if (bound + 1 > j->next_seq)
		j->next_seq = bound + 1;
	j->ids_loaded = true;
	return 0;
}

/*
 * Open journal.db and find its last id (*last); one that SQLite calls
 * corrupt or not a database on the way is moved aside, to (why says what
 * was found), and a new one started.  NULL if it cannot be opened (err
 * says why).  The deeper check, quick_check, follows in the background.
 */
static struct journal_db *
open_sound(struct journal *j, int64_t *last, char *to, size_t tosize, char *why,
    size_t whysize, char *err, size_t size)
{
	struct journal_db *db;
	int rc;

	to[0] = '\0';
	db = journal_db_open(j->path, j->full, &rc, err, size);
	if (db != NULL) {
		*last = journal_db_last_seq(db);
		if (*last >= 0)
			return db;
		rc = journal_db_error(db);
		snprintf(err, size, "%s", journal_db_errmsg(db));
		journal_db_close(db, false);
	}
	if (!journal_db_damaged(rc))
		return NULL;
	snprintf(why, whysize, "%s", journal_db_errstr(rc));
	if (move_aside(j, to, tosize) < 0) {
		snprintf(err, size,
		    "journal %s: damaged (%s), and it cannot be moved aside",
		    j->path, why);
		to[0] = '\0';
		return NULL;
	}
	log_errx("journal %s: damaged (%s): moved aside to %s; a new journal "
	         "is started",
	    j->path, why, to);
	db = journal_db_open(j->path, j->full, &rc, err, size);
	if (db != NULL) {
		*last = journal_db_last_seq(db);
		if (*last < 0) {
			snprintf(err, size, "%s", journal_db_errmsg(db));
			journal_db_close(db, false);
			db = NULL;
		}
	}
	return db;
}

/* 0, -1 (err says why) or -2 (another gatewayd, see lock_dir). */
static int
open_db(struct journal *j, char *err, size_t size)
{
	char why[300], to[PATH_MAX + 40];
	const char *reason = NULL;
	json_t *extra;
	int64_t last;
	bool first;
	int rc;

	rc = lock_dir(j, err, size);
	if (rc < 0)
		return rc;
	j->db =
	    open_sound(j, &last, to, sizeof(to), why, sizeof(why), err, size);
	if (j->db == NULL)
		return -1;
	first = !j->ids_loaded;
	if (load_ids(j, err, size) < 0) {
		journal_db_close(j->db, false);
		j->db = NULL;
		return -1;
	}
	/* Ids never go back, even when retention has deleted the newest
	 * (journal_db_last_seq knows the highest ever stored). */
	if (last + 1 > j->next_seq)
		j->next_seq = last + 1;
	j->checked_seq = j->next_seq - 1;
	/* A journal that does not hold the rows it should: say so in it. */
	extra = json_object();
	if (to[0]) {
		json_object_set_new(extra, "found", json_string(why));
		json_object_set_new(extra, "previous", json_string(to));
		reason = "journal.db damaged";
	} else if (first && last == 0 && j->bound > 0) {
		log_errx("journal %s: new or empty, while ids up to "
		         "%s:%" PRId64 " were handed out: the rows before are "
		         "not in it",
		    j->path, j->site, j->bound);
		reason = "journal.db new or empty at start";
	}
	if (reason != NULL) {
		json_object_set_new(extra, "last_id",
		    id_json(j, j->next_seq - 1));
		queue_system(j, "new_journal", reason, extra);
	}
	json_decref(extra);
	start_check(j);
	return 0;
}

/*
 * Without a journal (a full or broken disk at boot) the gates are still
 * decided; the thread tries again every retry_ms, and says so when it
 * starts failing and when it opens again, not at every try.
 */
static int
try_open(struct journal *j, bool at_start)
{
	char err[400];
	int rc;

	rc = open_db(j, err, sizeof(err));
	j->retry_at = mono_ms() + j->retry_ms;
	if (rc == 0) {
		if (j->open_failed)
			log_info("journal: open again in %s; decisions are "
			         "journaled",
			    j->dir);
		j->open_failed = false;
		return 0;
	}
	if (rc == -2 && at_start) {
		log_errx("another gatewayd is running on %s", j->dir);
		return -2;
	}
	if (j->open_failed)
		return -1;
	j->open_failed = true;
	log_errx("%s", err);
	log_errx("journal: cannot open it in %s: the gates are decided all "
	         "the same, unjournaled%s; retrying every %g s",
	    j->dir,
	    at_start ? ", and visitors' entries used before are not known" : "",
	    j->retry_ms / 1000.0);
	return -1;
}

/*
 * The record with its id, as stored and published: src's body with the
 * id in front, into dst's json (dst is src but for the journal's own
 * records, which are reported with the batch they are committed with).
 */
static int
compose(struct journal *j, struct batch *dst, const struct batch *src,
    struct pending *p)
{
	char prefix[128];
	struct text *t = &dst->json;
	int n;

	n = journal_id_prefix(prefix, sizeof(prefix), j->site, p->seq);
	if (n < 0 || text_reserve(t, (size_t)n + p->body_len) < 0)
		return -1;
	p->json = (uint32_t)t->len;
	p->json_len = (uint32_t)n + p->body_len - 1;
	memcpy(t->p + t->len, prefix, (size_t)n);
	/* The body without its '{', and with its NUL. */
	memcpy(t->p + t->len + n, src->text.p + p->str[F_BODY] + 1,
	    p->body_len);
	t->len += (size_t)n + p->body_len;
	return 0;
}

static void
pending_record(const struct batch *b, const struct pending *p,
    struct journal_record *r)
{
	const struct text *t = &b->text;

	r->kind = text_at(t, p->str[F_KIND]);
	r->device = text_at(t, p->str[F_DEVICE]);
	r->request = text_at(t, p->str[F_REQUEST]);
	r->decision = text_at(t, p->str[F_DECISION]);
	r->reason = text_at(t, p->str[F_REASON]);
	r->subject_type = text_at(t, p->str[F_SUBJECT_TYPE]);
	r->subject_id = text_at(t, p->str[F_SUBJECT_ID]);
	r->household = text_at(t, p->str[F_HOUSEHOLD]);
	r->direction = text_at(t, p->str[F_DIRECTION]);
	r->extra = NULL;
}

/*
 * Ids for n more rows, reserved on disk before any is used: a power cut
 * may lose the rows, never the knowledge that their ids were given out.
 * 0 or -1.
 */
static int
reserve_ids(struct journal *j, size_t n, char *err, size_t size)
{
	int64_t need = j->next_seq + (int64_t)n - 1;

	if (need <= j->bound)
		return 0;
	if (journal_ids_write(j->dir, need + ID_BLOCK, err, size) < 0) {
		if (log_ratelimit(&j->ids_warned_ms))
			log_errx("%s; decisions go on, unjournaled", err);
		return -1;
	}
	j->bound = need + ID_BLOCK;
	j->bound_pending = true;
	return 0;
}

/* src's rows, their records composed into dst's json.  0 or -1. */
static int
insert_rows(struct journal *j, struct batch *dst, struct batch *src)
{
	struct journal_record r;
	struct pending *p;
	size_t i;

	for (i = 0; i < src->n; i++) {
		p = &src->rows[i];
		/* Taken even if the transaction fails: an id is never
		 * given twice. */
		p->seq = j->next_seq++;
		if (compose(j, dst, src, p) < 0) {
			log_errx("journal: out of memory");
			return -1;
		}
		pending_record(src, p, &r);
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
write_rows(struct journal *j, struct batch *sys, struct batch *list, char *why,
    size_t size)
{
	struct batch *b;
	size_t n = sys != NULL ? sys->n : 0;

	for (b = list; b != NULL; b = b->next) {
		n += b->n;
		b->json.len = 0;
	}
	if (reserve_ids(j, n, why, size) < 0)
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
 * The answer the loop reads: the rows, with their JSON if committed,
 * after the journal's own records committed with them (sys).
 */
static void
answer(struct batch *b, bool committed, const struct batch *sys)
{
	size_t nsys = committed && sys != NULL ? sys->n : 0, i;
	struct journal_row *out;
	const struct pending *p;

	b->committed = committed;
	b->nout = 0;
	if (b->capout < nsys + b->n) {
		out = realloc(b->out, (nsys + b->n) * sizeof(*out));
		if (out == NULL) {
			log_errx("journal: out of memory: %zu rows reported "
			         "without their records",
			    b->n);
			return;
		}
		b->out = out;
		b->capout = nsys + b->n;
	}
	for (i = 0; i < nsys; i++) {
		p = &sys->rows[i];
		out = &b->out[b->nout++];
		out->kind = "system";
		out->json = b->json.p + p->json;
		out->len = p->json_len;
		out->seq = p->seq;
	}
	for (i = 0; i < b->n; i++) {
		p = &b->rows[i];
		out = &b->out[b->nout++];
		out->kind = text_at(&b->text, p->str[F_KIND]);
		out->json = committed ? b->json.p + p->json : NULL;
		out->len = committed ? p->json_len : 0;
		out->seq = committed ? p->seq : 0;
	}
}

/*
 * The file at the path is not the journal SQLite writes any more, or is
 * damaged: close it (one moved or deleted gets its WAL first, a damaged
 * one is left as it is and moved aside), start a new journal at the
 * path, and record the gap: ids up to last_id are not in the new one,
 * and those from unchecked_from were written after the last check found
 * the file sound (into a deleted file: nowhere any more).
 */
static void
replace(struct journal *j, const char *why, bool damaged)
{
	char to[PATH_MAX + 40] = "";
	int64_t last = j->next_seq - 1;
	json_t *extra;

	journal_db_close(j->db, !damaged);
	j->db = NULL;
	if (damaged && move_aside(j, to, sizeof(to)) < 0)
		to[0] = '\0'; /* the next open moves it, or fails */
	log_errx("journal %s: %s%s%s; ids up to %s:%" PRId64 " are not in the "
	         "new journal started now; decisions go on",
	    j->path, why, to[0] ? "; moved aside to " : "", to, j->site, last);
	extra = json_object();
	json_object_set_new(extra, "found", json_string(why));
	if (to[0])
		json_object_set_new(extra, "previous", json_string(to));
	json_object_set_new(extra, "last_id", id_json(j, last));
	if (j->checked_seq < last)
		json_object_set_new(extra, "unchecked_from",
		    id_json(j, j->checked_seq + 1));
	queue_system(j, "new_journal",
	    damaged ? "journal.db damaged" : "journal.db gone", extra);
	json_decref(extra);
	try_open(j, false);
}

static void
rfc3339_json(json_t *o, const char *key, int64_t ms)
{
	char ts[40];

	rfc3339_format(ms, ts, sizeof(ts));
	json_object_set_new(o, key, json_string(ts));
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
	const struct loss *l = &j->loss;
	size_t before = j->sys != NULL ? j->sys->n : 0, i;
	json_t *extra, *kinds;

	if (l->rows == 0)
		return false;
	extra = json_object();
	kinds = json_object();
	json_object_set_new(extra, "rows", json_integer((json_int_t)l->rows));
	rfc3339_json(extra, "from", l->from_ms);
	rfc3339_json(extra, "to", l->to_ms);
	for (i = 0; i < LOSS_KINDS && l->kinds[i].name[0]; i++)
		json_object_set_new(kinds, l->kinds[i].name,
		    json_integer((json_int_t)l->kinds[i].n));
	json_object_set_new(extra, "kinds", kinds);
	queue_system(j, "unjournaled", l->cause, extra);
	json_decref(extra);
	return j->sys != NULL && j->sys->n > before;
}

/* The rows of a batch that was not committed, counted as lost. */
static void
lose(struct journal *j, const struct batch *b, const char *cause)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		loss_add(&j->loss, text_at(&b->text, b->rows[i].str[F_KIND]),
		    b->rows[i].ts_ms, cause);
}

/* A loss starts being timed with its first row. */
static void
note_loss(struct journal *j, bool had)
{
	if (!had && j->loss.rows > 0)
		j->loss_since = mono_ms();
}

static void
commit_batches(struct journal *j, struct batch *list)
{
	struct batch *sys, *b;
	size_t sys_n = 0, sys_len = 0;
	char why[300] = "journal not open";
	bool had = j->loss.rows > 0, dropping = false, gap = false;
	int rc = -1;

	for (b = list; b != NULL; b = b->next) {
		dropping = dropping || b->dropped.rows > 0;
		loss_merge(&j->loss, &b->dropped);
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
		answer(b, rc == 0, b == list ? sys : NULL);
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
		lose(j, b, why);
	note_loss(j, had);
	if (rc == -2) {
		/* The message goes with the connection. */
		snprintf(why, sizeof(why), "%s", journal_db_errmsg(j->db));
		replace(j, why, true);
	} else if (j->db != NULL) {
		/* A full disk: the WAL's space may be what it needs. */
		j->write_failed = true;
		j->checkpoint_at = 0;
	}
}

/* Once a check_ms: is journal.db still the file we write, and whole? */
static void
check_file(struct journal *j)
{
	char why[200];
	bool damaged;

	if (journal_db_check_file(j->db, why, sizeof(why), &damaged) < 0)
		replace(j, why, damaged);
	else
		j->checked_seq = j->next_seq - 1;
}

static void
post(struct journal *j, struct batch *list)
{
	struct batch *last = list;

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

/* Ask the syncer for an fdatasync of the WAL, unless one is under way. */
static void
sync_wal(struct journal *j, uint64_t now)
{
	int wal = journal_db_wal_fd(j->db), fd;

	if (wal < 0)
		return;
	pthread_mutex_lock(&j->sync_mu);
	if (j->sync_fd < 0 && !j->sync_busy) {
		fd = dup(wal);
		if (fd < 0) {
			if (log_ratelimit(&j->sync_warned_ms))
				log_warn("journal %s-wal: dup", j->path);
		} else {
			/* Whatever is committed by the time it runs is in. */
			j->sync_fd = fd;
			j->dirty = false;
			j->synced_at = now;
			pthread_cond_signal(&j->sync_cond);
		}
	}
	pthread_mutex_unlock(&j->sync_mu);
}

static void *
run_syncer(void *arg)
{
	struct journal *j = arg;
	char ebuf[96];
	int fd, e;

	pthread_mutex_lock(&j->sync_mu);
	for (;;) {
		while (j->sync_fd < 0 && !j->sync_stop)
			pthread_cond_wait(&j->sync_cond, &j->sync_mu);
		if (j->sync_fd < 0)
			break;
		fd = j->sync_fd;
		j->sync_fd = -1;
		j->sync_busy = true;
		pthread_mutex_unlock(&j->sync_mu);
		if (fdatasync(fd) < 0) {
			e = errno;
			if (log_ratelimit(&j->sync_warned_ms))
				log_warnx("journal %s-wal: fdatasync: %s",
				    j->path, strerror_r(e, ebuf, sizeof(ebuf)));
		}
		close(fd);
		pthread_mutex_lock(&j->sync_mu);
		j->sync_busy = false;
	}
	pthread_mutex_unlock(&j->sync_mu);
	return NULL;
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
		check_file(j);
		check_space(j);
	}
	if (j->db == NULL) {
		if (now >= j->retry_at)
			try_open(j, false);
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
		sync_wal(j, now);
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
	return t;
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

/* The answer of quick_check, once it is there. */
static void
checked(struct journal *j)
{
	char why[320];
	bool done;
	int rc;

	if (!j->checking)
		return;
	pthread_mutex_lock(&j->mu);
	done = j->check_done;
	rc = j->check_rc;
	snprintf(why, sizeof(why), "quick_check: %s", j->check_why);
	pthread_mutex_unlock(&j->mu);
	if (!done)
		return;
	pthread_join(j->checker, NULL);
	j->checking = false;
	if (rc == -1 && j->db != NULL)
		replace(j, why, true);
	else if (rc == -2)
		log_warnx("journal %s: not checked: %s", j->path, why);
}

static void *
run(void *arg)
{
	struct journal *j = arg;
	struct batch *list;
	struct call *c;
	char err[400];
	int rc;

	rc = try_open(j, true);
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
		checked(j);
		timers(j);
		pthread_mutex_lock(&j->mu);
		if (list == NULL && j->todo == NULL &&
		    (j->call == NULL || j->call->done) && !j->stopping &&
		    !(j->checking && j->check_done))
			wait_until(j, next_wake(j));
	}
	pthread_mutex_unlock(&j->mu);
	end_check(j);
	/* Records of its own still waiting, and the loop's last drops:
	 * written, though not reported. */
	loss_merge(&j->loss, &j->last_drops);
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
	struct batch *b;

	batch_free(j->open);
	batch_free(j->sys);
	while (j->spare != NULL) {
		b = j->spare;
		j->spare = b->next;
		batch_free(b);
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

static void
stop_syncer(struct journal *j)
{
	pthread_mutex_lock(&j->sync_mu);
	j->sync_stop = true;
	pthread_cond_signal(&j->sync_cond);
	pthread_mutex_unlock(&j->sync_mu);
	pthread_join(j->syncer, NULL);
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
	stop_syncer(j);
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
	j->arg = arg;
	j->lock_fd = -1;
	j->next_seq = 1;
	j->todo_tail = &j->todo;
	j->finished_tail = &j->finished;
	j->state = STARTING;
	j->sync_fd = -1;

	rc = pthread_create(&j->syncer, NULL, run_syncer, j);
	if (rc == 0) {
		rc = pthread_create(&j->thread, NULL, run, j);
		if (rc != 0)
			stop_syncer(j);
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
		stop_syncer(j);
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
