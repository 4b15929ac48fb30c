/*
 * journal_db.h - the journal's SQLite file: schema, statements prepared
 * once, checkpoints, checks, the WAL's fd and the start-up reads, on one
 * writing connection.  No policy: its owner (journal.c) decides when,
 * and on which thread.
 */
#ifndef JOURNAL_DB_H
#define JOURNAL_DB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "journal.h"

struct journal_db;

/*
 * Open (creating if needed) the journal at path, with synchronous=FULL
 * when full, NORMAL otherwise.  NULL on failure, with SQLite's result
 * code in *rc (SQLITE_CORRUPT or SQLITE_NOTADB: the file is not a
 * journal any more; anything else: the disk or a lock) and the message
 * in err, for the caller to log as often as it sees fit.
 */
struct journal_db *journal_db_open(const char *path, bool full, int *rc,
    char *err, size_t errsize);
/*
 * Close, copying the WAL into the database first if checkpoint; a file
 * found damaged is closed without, its WAL left beside it as it was.
 */
void journal_db_close(struct journal_db *, bool checkpoint);

/*
 * PRAGMA quick_check of the journal at path, on a read-only connection
 * of its own, so that the writer goes on meanwhile: it reads the whole
 * file, seconds for a large journal on a card.  0 if the file is sound,
 * -1 if it is damaged, -2 if it could not tell (a read failed, or it was
 * stopped); why says what SQLite found.  Any thread.
 */
struct journal_db_stop {
	pthread_mutex_t mu; /* initialised by the caller */
	void *db;           /* the check's connection, while it runs */
	bool stopped;
};
int journal_db_quick_check(const char *path, struct journal_db_stop *,
    char *why, size_t size);
/* Stop the check under way, or the next, from another thread. */
void journal_db_stop_check(struct journal_db_stop *);

/*
 * Is the file at the path still the one SQLite writes, whole?  0 if so;
 * -1 if not, why saying what happened to it: deleted, moved away,
 * replaced by another file (*damaged false: nothing of ours is at the
 * path), or cut short or overwritten (*damaged true).  Cheap: an fstat,
 * a stat and a read of 16 bytes.
 */
int journal_db_check_file(struct journal_db *, char *why, size_t size,
    bool *damaged);

/*
 * Statements of a transaction, each 0 or -1.  A failure is logged when
 * the journal starts failing, once a minute while it lasts, and when a
 * commit succeeds again: never a line per row.  After a failure the
 * transaction may have been rolled back by SQLite already (FULL, IOERR);
 * journal_db_rollback ends it whatever happened.
 */
int journal_db_begin(struct journal_db *);
int journal_db_insert(struct journal_db *, int64_t seq,
    const struct journal_record *, int64_t ts_ms, const char *body);
int journal_db_commit(struct journal_db *);
/* In the transaction: no id up to bound is to be used again, which
 * journal_db_last_seq() reports from then on. */
int journal_db_keep_bound(struct journal_db *, int64_t bound);
void journal_db_rollback(struct journal_db *);
/* SQLite's result code of the last failure (SQLITE_FULL, ...), and its
 * message: "journal <path>: <SQLite's words>". */
int journal_db_error(const struct journal_db *);
const char *journal_db_errmsg(const struct journal_db *);
/* Does SQLite's code say the file is not a sound journal (CORRUPT,
 * NOTADB), rather than that the disk or a lock failed? */
bool journal_db_damaged(int rc);
/* SQLite's words for a code. */
const char *journal_db_errstr(int rc);

/*
 * Copy the WAL into the database: a passive checkpoint, or with truncate
 * one that also empties the WAL file if no reader is in it (else a
 * passive one).  0 or -1.
 */
int journal_db_checkpoint(struct journal_db *, bool truncate);
/* Pages in the WAL since the last complete checkpoint. */
int journal_db_wal_pages(const struct journal_db *);
/* The WAL, opened read-only for fdatasync(); -1 if there is none. */
int journal_db_wal_fd(const struct journal_db *);
/* The size of the WAL file: what a truncating checkpoint gives back. */
int64_t journal_db_wal_bytes(const struct journal_db *);

/* The highest id ever stored, even if retention deleted it; -1 on error. */
int64_t journal_db_last_seq(struct journal_db *);

/* Entries each visitor has used: one call per visitor with any. */
int journal_db_visitor_entries(struct journal_db *,
    void (*cb)(void *, const char *visitor, unsigned n), void *arg);
/* Visitors' vehicle records since since_ms, oldest first: body is the
 * record. */
int journal_db_vehicle_rows(struct journal_db *, int64_t since_ms,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg);
/* The fire release's records (phases, devices' alarm and normal) from
 * the newest reset or test's end on, oldest first. */
int journal_db_alarm_rows(struct journal_db *,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg);
/* Camera records since since_ms, oldest first: body is the record. */
int journal_db_camera_rows(struct journal_db *, int64_t since_ms,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg);
/* Each person's last care, care_watch, care_end or care_pass record,
 * when there is one: body is the record. */
int journal_db_care_rows(struct journal_db *, const char *const *persons,
    size_t n, void (*cb)(void *, int64_t ts_ms, const char *body, size_t len),
    void *arg);
/* Every incident record, oldest first: body is the record. */
int journal_db_incident_rows(struct journal_db *,
    void (*cb)(void *, int64_t ts_ms, const char *body, size_t len), void *arg);

/* In the transaction: sink name has confirmed every record up to seq;
 * state is its own (NULL: none). */
int journal_db_cursor_set(struct journal_db *, const char *name, int64_t seq,
    const char *state);
/* In the transaction: record seq set aside for sink, with why. */
int journal_db_dead_letter(struct journal_db *, const char *sink, int64_t seq,
    const char *why, int64_t at_ms);
/* Its cursor (0 when it has none yet) and state (malloc'd, or NULL). */
int journal_db_cursor_get(struct journal_db *, const char *name, int64_t *seq,
    char **state);
/*
 * Up to limit rows with a seq above after that filter takes, in seq
 * order, each to cb (body without its id) until cb returns -1.  The
 * number of rows passed, or -1.
 */
int journal_db_read(struct journal_db *, int64_t after, enum journal_filter,
    size_t limit,
    int (*cb)(void *, int64_t seq, const char *kind, int64_t ts_ms,
        const char *body, size_t len),
    void *arg);

/*
 * Retention's.  The bytes of the database's pages in use (page_count
 * less freelist_count: deleted rows' pages are reused, the file never
 * shrinks) and of the WAL's frames since the last checkpoint.  0 or -1.
 */
int journal_db_in_use(struct journal_db *, int64_t *db_bytes,
    int64_t *wal_bytes);
/* Sink name's cursor, 0 when it has none.  0 or -1. */
int journal_db_cursor_seq(struct journal_db *, const char *name, int64_t *seq);
/* A row as retention sees it. */
struct journal_db_old {
	int64_t seq, ts_ms;
	bool notify;   /* JOURNAL_NOTIFY takes it */
	bool kept;     /* access, alarm, incident, charging, journal_full:
	                  never evicted undelivered */
	bool unsynced; /* made while the clock was not synchronised */
	bool state;    /* what a restart rebuilds live state from: the fire
	                  release's records, incidents, wellbeing checks;
	                  never evicted for the budget, only by age */
};
/* Up to n rows with seq in (after, upto], in seq order: how many, or
 * -1. */
int journal_db_scan(struct journal_db *, int64_t after, int64_t upto,
    struct journal_db_old *rows, size_t n);
/* In the transaction: the row seq goes. */
int journal_db_delete(struct journal_db *, int64_t seq);

/* The lot's occupancy as the newest vehicle record says (0: none). */
int journal_db_vehicle_occupancy(struct journal_db *, int *out);
/* Requests journaled since since_ms, newest first. */
int journal_db_recent_requests(struct journal_db *, int64_t since_ms,
    void (*cb)(void *, const char *device, const char *request, int64_t ts_ms),
    void *arg);

/*
 * The record of DESIGN §4.4 without its id, which only the writer
 * assigns: journal_id_prefix() writes the '{"id":"<site>:<seq>",' that
 * replaces the body's opening brace.  Returns the length written, or -1
 * if size is too small.
 */
json_t *journal_record_json(const struct journal_record *, int64_t ts_ms);
int journal_id_prefix(char *out, size_t size, const char *site, int64_t seq);

#endif
