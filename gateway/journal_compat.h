/*
 * journal_compat.h - the journal as daemon.c used it before the journal
 * thread (journal.h): commits on the loop, one transaction per loop
 * iteration.  Kept only until daemon.c is wired to journal.h; delete it
 * then.
 */
#ifndef JOURNAL_COMPAT_H
#define JOURNAL_COMPAT_H

#include <stdbool.h>
#include <stdint.h>

#include "journal.h"

struct journal_compat;

/*
 * Open (creating if needed) data_dir/journal.db.  site makes the ids
 * "<site>:<seq>"; full selects synchronous=FULL over NORMAL.
 */
struct journal_compat *journal_compat_open(const char *data_dir,
    const char *site, bool full);
void journal_compat_close(struct journal_compat *);

/*
 * Append a row (in the open transaction, opening one if needed).  The
 * record as JSON (DESIGN §4.4) is returned in *json for the caller to
 * publish and free, when json is not NULL.  0 or -1.
 */
int journal_compat_append(struct journal_compat *,
    const struct journal_record *, int64_t ts_ms, char **json);
/* Commit the open transaction, if any.  0 or -1. */
int journal_compat_commit(struct journal_compat *);
/* Copy the WAL into the database (a passive checkpoint). */
int journal_compat_checkpoint(struct journal_compat *);
/* Is a checkpoint due: idle, requests have paused for a moment. */
bool journal_compat_wants_checkpoint(const struct journal_compat *, bool idle);
/*
 * The WAL file, opened read-only, for fdatasync() on another thread: what
 * bounds a power cut's loss to about a second without stalling the loop
 * on a flash card's fsync.  -1 if there is none.
 */
int journal_compat_wal_fd(const struct journal_compat *);

/* Entries each visitor has used: one call per visitor with any. */
int journal_compat_visitor_entries(struct journal_compat *,
    void (*cb)(void *, const char *visitor, unsigned n), void *arg);
/* Requests journaled since since_ms, newest first. */
int journal_compat_recent_requests(struct journal_compat *, int64_t since_ms,
    void (*cb)(void *, const char *device, const char *request, int64_t ts_ms),
    void *arg);

#endif
