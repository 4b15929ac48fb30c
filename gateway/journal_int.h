/*
 * journal_int.h - the journal's state, shared by journal.c (the thread
 * and the loop's side) and journal_file.c (its files).  Inside the
 * journal only.
 */
#ifndef JOURNAL_INT_H
#define JOURNAL_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "journal.h"
#include "journal_batch.h"
#include "journal_db.h"

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
	long readers_gid; /* journal_options' */
	bool full;
	unsigned retry_ms, check_ms;
	journal_done_fn *done;
	journal_alert_fn *alert;
	void *arg;
	uv_async_t async;
	atomic_bool unsynced; /* the clock, as journal_clock() last said */
	pthread_t thread;

	/* The loop thread's. */
	struct journal_batch *open;
	struct journal_batch *spare;
	size_t nspare;
	uint64_t submitted;        /* the last ticket handed over */
	size_t waiting;            /* rows appended and not yet reported */
	struct journal_loss drops; /* dropped since the last batch submitted */
	uint64_t dropped;          /* all told */
	uint64_t dropped_warned_ms;

	/* Under mu: what passes between the two. */
	pthread_mutex_t mu;
	pthread_cond_t wake;     /* the thread: a batch, a call, stop */
	pthread_cond_t answered; /* the loop: started, a call done, a flush */
	struct journal_batch *todo, **todo_tail;
	struct journal_batch *finished, **finished_tail;
	uint64_t reported; /* the last ticket finished */
	struct call *call;
	/* Sinks' reads (journal_read.c): asked, and answered. */
	struct journal_reading *reads, **reads_tail;
	struct journal_reading *read_done, **read_done_tail;
	enum state state;
	bool stopping;
	json_t *alert_extra; /* an alert of its own for the loop, or NULL */
	const char *alert_reason;
	int64_t alert_ts;
	struct journal_loss last_drops; /* the loop's, handed over at stop */

	/* The journal thread's. */
	struct journal_db *db;
	int lock_fd;
	int64_t next_seq;
	int64_t bound;      /* ids up to this are reserved (journal.ids) */
	bool ids_loaded;    /* the bound of an earlier run is known */
	bool bound_pending; /* a new bound is not in journal.db yet */
	uint64_t ids_warned_ms;
	struct journal_batch
	    *sys;            /* records of its own, first in the next commit */
	int64_t checked_seq; /* rows up to this were in a sound file */
	uint64_t check_at;
	pthread_t checker; /* quick_check after an open */
	bool checking;     /* a checker to be joined */
	struct journal_db_stop check_stop;
	bool check_done; /* under mu, with check_rc and check_why */
	int check_rc;
	char check_why[300];
	struct journal_retention *retention;
	struct journal_loss loss; /* not journaled since the last commit */
	uint64_t loss_since;      /* mono_ms() of its first row */
	bool write_failed;        /* since the last commit that succeeded */
	bool short_space;         /* on data_dir's disk */
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
	uint64_t sync_warned_ms; /* the syncer's own */
	uint64_t dup_warned_ms;  /* the journal thread's, under sync_mu */
};

/* journal.c: a system record of the journal's own, first in the next
 * commit, and "<site>:<seq>" as in a record's id. */
void journal_queue_system(struct journal *, const char *decision,
    const char *reason, json_t *extra);
json_t *journal_id_json(const struct journal *, int64_t seq);

/* The same, of any kind, device and extra members (not taken). */
void journal_queue_record(struct journal *, const struct journal_record *);
/* An alert of the journal's own, queued already, told to the loop:
 * extra is the record's (a reference is taken), reason a constant. */
void journal_post_alert(struct journal *, json_t *extra, const char *reason,
    int64_t ts_ms);

/*
 * journal_retention.c, on the journal thread: keep_days and max_bytes.
 * _new copies what it needs of o (NULL: no memory); _step does at most
 * one bounded transaction of deletes, between commits, and says when it
 * next has something to do (mono_ms; now if it is in the middle of a
 * pass).
 */
struct journal_retention *journal_retention_new(const struct journal_options *);
void journal_retention_free(struct journal_retention *);
void journal_retention_step(struct journal *);
uint64_t journal_retention_due(const struct journal *);

/* journal_read.c: the next read asked for, on the journal thread; the
 * answers, on the loop; at stop, every read not run answered -1. */
void journal_read_next(struct journal *);
void journal_read_deliver(struct journal *);
void journal_read_abandon(struct journal *);

/*
 * journal_file.c, on the journal thread.  journal_file_open: lock
 * data_dir and open journal.db (0), or not (-1, logged once, retried by
 * the caller), or another gatewayd holds data_dir (-2).
 */
int journal_file_open(struct journal *, bool at_start);
/* Ids for n more rows reserved on disk before any is used.  0 or -1. */
int journal_file_reserve_ids(struct journal *, size_t n, char *err,
    size_t size);
/* journal.db went away or is damaged: a new journal, the gap recorded. */
void journal_file_replace(struct journal *, const char *why, bool damaged);
/* Once a check_ms: is journal.db still there and whole? */
void journal_file_check(struct journal *);
/* quick_check's answer, once it is there; stop a check under way. */
void journal_file_checked(struct journal *);
void journal_file_end_check(struct journal *);
/* An fdatasync of the WAL by the syncer, unless one is under way. */
void journal_file_sync(struct journal *, uint64_t now);
int journal_file_start_syncer(struct journal *);
void journal_file_stop_syncer(struct journal *);

#endif
