/*
 * journal.h - the journal on a thread of its own.  The loop hands it
 * rows in batches, one per loop iteration, and is told on the loop what
 * was committed; the thread owns the one SQLite connection, the lock on
 * data_dir, the ids, and every commit, fsync and checkpoint.  The loop
 * waits for the disk only at start (journal_start, the reads,
 * journal_flush) and at stop.
 *
 * Commit-then-act: an action that must not leave before the rows
 * journaled so far are committed takes journal_ticket() when it is
 * queued and leaves when that ticket is reported done (committed or not:
 * the gates are answered even when the disk fails).
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct journal;

/* Which rows a sink reads (journal_read). */
enum journal_filter {
	JOURNAL_ALL,    /* every record: the office, the uplink */
	JOURNAL_NOTIFY, /* what the WeChat robot is sent */
};

/* The rows JOURNAL_NOTIFY takes, as SQL: an incident's messages (its
 * opening, re-alert and escalation), wellbeing checks (one raised,
 * and its end: nobody need go) and the daily report (report_live.c).
 * The partial index events_notify* is built on this expression: a
 * change here is a new index name in journal_db.c's schema. */
#define JOURNAL_NOTIFY_WHERE                                                   \
	"((kind = 'incident' AND decision IN ('open', 'realert', "             \
	"'escalate')) OR (kind = 'system' AND decision IN ('care', "           \
	"'care_end', 'report')))"

/* One row; NULL members are left out of the record. */
struct journal_record {
	const char *kind; /* access, device, system, ... */
	const char *device;
	const char *request;
	const char *decision; /* allow, deny, duplicate, rejected */
	const char *reason;
	const char *subject_type; /* person, visitor, card */
	const char *subject_id;
	const char *household;
	const char *direction; /* in, out */
	json_t *extra;         /* more members for the record, or NULL */
};

/*
 * A record made while the wall clock is not synchronised carries this
 * member: its "ts" may be 1970 or the last shutdown's time (a Pi has no
 * clock battery).  Only the disk budget deletes such a record.
 */
#define JOURNAL_UNSYNCED_KEY   "clock"
#define JOURNAL_UNSYNCED_VALUE "unsynced"
#define JOURNAL_UNSYNCED       "\"clock\":\"unsynced\""

/* A sink the journal is the outbox of; a record is delivered once every
 * configured sink that takes it has its cursor at or past its id. */
struct journal_sink {
	const char *name;           /* its cursor: office, uplink, wechat */
	enum journal_filter filter; /* what it takes */
	bool configured;            /* false: it takes nothing */
};

/*
 * The journal raised an alert of its own (journal_full): called on the
 * loop after the record was queued for the next commit, so that the
 * incidents see it (they hook pipeline_record, which it never passes).
 * r and r->extra are valid during the call.
 */
typedef void journal_alert_fn(void *arg, const struct journal_record *r,
    int64_t ts_ms);

struct journal_options {
	const char *data_dir; /* made if missing; holds journal.db, the
	                         bound of ids (journal.ids), gatewayd.lock */
	const char *site;     /* ids are "<site>:<seq>"; [a-z0-9_-] */
	/* A group that may read the journal (gatewayctl's staff, [control]
	 * group), or 0 (root's is no readers' group) or -1 for none: data_dir
	 * is given to it with the set-group-id bit, so that journal.db and its
	 * WAL are the group's as SQLite makes them (0640 under the service's
	 * umask). */
	long readers_gid;
	bool sync_full;      /* synchronous=FULL: a power cut loses nothing */
	bool clock_unsynced; /* at start; then journal_clock() */
	/* Retention (DESIGN 4.5).  Delivered records older than keep_days
	 * go (0: kept for ever); max_bytes bounds the pages in use of the
	 * database and the WAL (0: no budget).  sinks[] are copied. */
	double keep_days;
	uint64_t max_bytes;
	const struct journal_sink *sinks;
	size_t nsinks;
	journal_alert_fn *alert; /* or NULL; with done's arg */
	/* 0 for the defaults; tests shorten them. */
	unsigned retry_ms; /* between attempts to open the journal (30 s) */
	unsigned check_ms; /* between checks of the file and disk (1 s) */
	/* Free bytes on data_dir's disk below which the WAL is emptied
	 * every check_ms, not only in quiet moments (16 MB). */
	uint64_t low_space;
	/* Between passes of retention by age (60 s) and looks at the
	 * budget (10 s). */
	unsigned age_ms, budget_ms;
};

/* A row of a finished batch. */
struct journal_row {
	const char *kind;
	const char *json; /* the record as stored, with its id; NULL if
	                     not committed */
	size_t len;
	int64_t seq;   /* the number in its id; 0 if not committed */
	int64_t ts_ms; /* its time (its "ts") */
};

/*
 * A batch is finished: called on the loop thread, once per ticket, in
 * ticket order.  rows[] are valid during the call only; they are the
 * batch's rows in the order appended, and may be preceded by records the
 * journal wrote itself (kind "system": a gap, a replaced file).  When
 * committed is false, none of the batch's rows is in the journal and
 * their json is NULL.
 */
typedef void journal_done_fn(void *arg, uint64_t ticket, bool committed,
    const struct journal_row *rows, size_t n);

/*
 * Start the journal thread, which locks data_dir/gatewayd.lock (one
 * gatewayd per data_dir) and opens, creating it, data_dir/journal.db;
 * the caller waits for that.  NULL if another process holds the lock
 * (logged: "another gatewayd is running on ...") or on a failure to
 * start a thread: the daemon should exit.  If the journal cannot be
 * opened (a full or broken disk at boot), the journal is returned all
 * the same: batches are reported not committed, and the thread tries
 * again every retry_ms, logging when it fails and when it recovers.
 */
struct journal *journal_start(uv_loop_t *, const struct journal_options *,
    journal_done_fn *, void *arg);

/*
 * Add a row to the open batch; its JSON is built here, its id on the
 * thread.  -1 if the row cannot wait (JOURNAL_MAX_WAITING rows appended
 * and not yet reported, or no memory): it is dropped, counted and
 * logged.  0 otherwise.  Loop thread only.
 */
#define JOURNAL_MAX_WAITING 8192
int journal_append(struct journal *, const struct journal_record *,
    int64_t ts_ms);
/*
 * The ticket that covers every row appended so far: the open batch's if
 * it has rows, else the last submitted one (0 before any).  An action
 * queued now waits until this ticket is reported done.
 */
uint64_t journal_ticket(const struct journal *);
/* Hand the open batch to the thread; nothing if it is empty.  Once per
 * loop iteration (a uv_check_t), so that one iteration is one batch. */
void journal_submit(struct journal *);
/*
 * Submit the open batch and wait until every batch submitted so far is
 * reported: their done callbacks run before it returns, on the caller's
 * thread.  The loop waits for the disk: at start only (the start record
 * committed before READY=1), never on a decision's path.
 */
void journal_flush(struct journal *);
/*
 * Submit what is open, let the thread commit everything, checkpoint the
 * WAL into the database (TRUNCATE), close it and end.  The done
 * callbacks of every batch not yet reported run before it returns, on
 * the caller's thread.  The journal is freed once its uv_async_t is
 * closed: the loop must run at least once more.  Loop thread; not from
 * a done callback.
 */
void journal_stop(struct journal *);

/*
 * Is the wall clock synchronised (adjtimex without STA_UNSYNC)?  Rows
 * appended from now on are marked JOURNAL_UNSYNCED when it is not, and
 * retention by age waits while it is not.  Any thread.
 */
void journal_clock(struct journal *, bool synchronised);

/*
 * A sink (the robot, the office, the uplink) has confirmed every record
 * it takes up to seq: its cursor moves to seq, with state (its own, as
 * text; copied; NULL: none), in the next commit.  A cursor set twice
 * before that commit moves once.  0, or -1 (no memory, too many sinks).
 */
int journal_cursor(struct journal *, const char *name, int64_t seq,
    const char *state);
/*
 * Sink's peer refuses the record seq for good (the office answers 4xx
 * for it alone): a copy of it goes to the dead_letters table with why,
 * in the next commit, so that delivery goes on behind it.  0 or -1.
 */
int journal_dead_letter(struct journal *, const char *sink, int64_t seq,
    const char *why);
/* Sink name's cursor (0 when it has none), read off the loop: cb on
 * the loop with rc 0 and the cursor and its own state (state
 * valid during the call), or -1 when the journal is not open or stops.
 * -1 when it cannot be asked: no callback then. */
typedef void journal_cursor_fn(void *arg, int rc, int64_t seq,
    const char *state);
int journal_cursor_read(struct journal *, const char *name,
    journal_cursor_fn *cb, void *arg);

/*
 * Read, off the loop, up to limit records (and about max_bytes) with an
 * id above after that filter takes, in id order.  cb is called on the
 * loop once, with rc the number of rows (0: none yet) or -1 (the journal
 * is not open, the read failed, or it stops); rows[] as for the done
 * callback (json is the record with its id), valid during the call.
 * -1 when it cannot be asked (stopping, no memory): no callback then.
 */
typedef void journal_read_fn(void *arg, int rc, const struct journal_row *rows,
    size_t n);
int journal_read(struct journal *, int64_t after, enum journal_filter,
    size_t limit, size_t max_bytes, journal_read_fn *cb, void *arg);

/* Every incident record, oldest first (start-up: open incidents, their
 * deadlines and the next number). */
int journal_incident_rows(struct journal *,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg);

/*
 * Start-up state: run on the journal's thread while the caller waits
 * (cb runs on that thread meanwhile).  -1 if the journal is not open or
 * the read failed.
 */
int journal_visitor_entries(struct journal *,
    void (*cb)(void *, const char *visitor, unsigned n), void *arg);
int journal_recent_requests(struct journal *, int64_t since_ms,
    void (*cb)(void *, const char *device, const char *request, int64_t ts_ms),
    void *arg);
/* Visitors' vehicle records since since_ms, oldest first (their cars'
 * stays), and the lot's occupancy as the newest record that moved it
 * says (0 when none did). */
int journal_vehicle_rows(struct journal *, int64_t since_ms,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg);
int journal_vehicle_occupancy(struct journal *, int *out);
/* The fire release's alarm records (its phases alarm, clear, reset,
 * test, test_end, and a device's normal) from the newest reset or test's
 * end on, oldest first: its state, and which device says alarm. */
int journal_alarm_rows(struct journal *,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg);
/* Camera records since since_ms, oldest first (events opened, alerts
 * raised). */
int journal_camera_rows(struct journal *, int64_t since_ms,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg);

/* The wellbeing checks' state (care.h): for each of persons, their last
 * care, care_watch, care_end or care_pass record, when the journal has
 * one; one indexed probe each. */
int journal_care_rows(struct journal *, const char *const *persons, size_t n,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg);

#endif
