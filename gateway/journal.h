/*
 * journal.h - the one writer of the SQLite journal: every decision, event
 * and state change, in id order.  Rows written in one loop iteration share
 * one transaction; journal_commit() ends it before any command goes out.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct journal;

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
 * Open (creating if needed) data_dir/journal.db.  site makes the ids
 * "<site>:<seq>"; full selects synchronous=FULL over NORMAL.
 */
struct journal *journal_open(const char *data_dir, const char *site, bool full);
void journal_close(struct journal *);

/*
 * Append a row (in the open transaction, opening one if needed).  The
 * record as JSON (DESIGN §4.4) is returned in *json for the caller to
 * publish and free, when json is not NULL.  0 or -1.
 */
int journal_append(struct journal *, const struct journal_record *,
    int64_t ts_ms, char **json);
/* Commit the open transaction, if any.  0 or -1. */
int journal_commit(struct journal *);
/* Copy the WAL into the database (a passive checkpoint). */
int journal_checkpoint(struct journal *);
/* Is a checkpoint due: idle, requests have paused for a moment. */
bool journal_wants_checkpoint(const struct journal *, bool idle);
/*
 * The WAL file, opened read-only, for fdatasync() on another thread: what
 * bounds a power cut's loss to about a second without stalling the loop
 * on a flash card's fsync.  -1 if there is none.
 */
int journal_wal_fd(const struct journal *);

/* Entries each visitor has used: one call per visitor with any. */
int journal_visitor_entries(struct journal *,
    void (*cb)(void *, const char *visitor, unsigned n), void *arg);
/* Requests journaled since since_ms, newest first. */
int journal_recent_requests(struct journal *, int64_t since_ms,
    void (*cb)(void *, const char *device, const char *request, int64_t ts_ms),
    void *arg);

#endif
