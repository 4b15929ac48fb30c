/*
 * journal_compat.c - the journal as daemon.c used it before the journal
 * thread: a transaction spans one loop iteration and commits on the
 * loop, ids are assigned here, and a failed statement gives its ids back
 * (nothing with them was published).  The WAL is made durable by an
 * fdatasync from a worker (journal_compat_wal_fd).  Delete this file
 * once daemon.c uses journal.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "journal_compat.h"
#include "journal_db.h"
#include "log.h"

/*
 * A checkpoint stalls the loop (it copies pages and fsyncs the database),
 * so it waits for a quiet moment, unless the WAL grows past the cap.
 */
#define CHECKPOINT_IDLE_PAGES 64
#define CHECKPOINT_MAX_PAGES  4000 /* about 16 MB of WAL */

struct journal_compat {
	struct journal_db *db;
	char *site;
	int64_t next_seq;
	bool tx_lost; /* the transaction was rolled back mid-way */
	bool in_tx;
};

/*
 * After a failed statement: SQLite may have rolled the transaction back
 * by itself (SQLITE_FULL, IOERR, NOMEM).  Whatever happened, the next
 * id is the one after what is really stored.
 */
static void
recover(struct journal_compat *j)
{
	int64_t last;

	journal_db_rollback(j->db);
	j->in_tx = false;
	last = journal_db_last_seq(j->db);
	if (last >= 0)
		j->next_seq = last + 1;
}

struct journal_compat *
journal_compat_open(const char *data_dir, const char *site, bool full)
{
	struct journal_compat *j;
	char *path, err[300];
	int64_t last;
	int rc;

	if (mkdir(data_dir, 0750) < 0 && errno != EEXIST) {
		log_warn("journal: mkdir %s", data_dir);
		return NULL;
	}
	if (asprintf(&path, "%s/journal.db", data_dir) < 0)
		return NULL;
	j = calloc(1, sizeof(*j));
	if (j != NULL) {
		j->site = strdup(site);
		j->db = journal_db_open(path, full, &rc, err, sizeof(err));
		if (j->db == NULL)
			log_errx("%s", err);
	}
	free(path);
	if (j == NULL || j->site == NULL || j->db == NULL)
		goto fail;
	/* Ids never go back, even when retention has deleted the newest. */
	last = journal_db_last_seq(j->db);
	if (last < 0) {
		log_errx("%s", journal_db_errmsg(j->db));
		goto fail;
	}
	j->next_seq = last + 1;
	return j;
fail:
	journal_compat_close(j);
	return NULL;
}

void
journal_compat_close(struct journal_compat *j)
{
	if (j == NULL)
		return;
	if (j->in_tx)
		journal_compat_commit(j);
	journal_db_close(j->db, true);
	free(j->site);
	free(j);
}

/* The record with its id, as published and stored; NULL if no memory. */
static char *
record_body(const struct journal_compat *j, const struct journal_record *r,
    int64_t ts_ms)
{
	char prefix[128], *body, *out = NULL;
	json_t *o;
	int n;

	o = journal_record_json(r, ts_ms);
	body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	n = journal_id_prefix(prefix, sizeof(prefix), j->site, j->next_seq);
	if (body != NULL && n >= 0 &&
	    asprintf(&out, "%s%s", prefix, body + 1) < 0)
		out = NULL;
	free(body);
	return out;
}

int
journal_compat_append(struct journal_compat *j, const struct journal_record *r,
    int64_t ts_ms, char **json)
{
	char *body;

	if (json)
		*json = NULL;
	if (!j->in_tx) {
		if (journal_db_begin(j->db) < 0)
			return -1;
		j->in_tx = true;
	}
	body = record_body(j, r, ts_ms);
	if (body == NULL)
		return -1;
	if (journal_db_insert(j->db, j->next_seq, r, ts_ms, body) < 0) {
		free(body);
		/* The rows before this one in the transaction are dropped
		 * too: the commit reports it, so that their records are not
		 * published (daemon.c). */
		recover(j);
		j->tx_lost = true;
		return -1;
	}
	j->next_seq++;
	if (json)
		*json = body;
	else
		free(body);
	return 0;
}

int
journal_compat_commit(struct journal_compat *j)
{
	if (j->tx_lost) {
		j->tx_lost = false;
		if (j->in_tx)
			recover(j);
		return -1;
	}
	if (!j->in_tx)
		return 0;
	if (journal_db_commit(j->db) < 0) {
		/* Its rows are gone, so their ids are free again: nothing
		 * with those ids has been published (daemon.c). */
		recover(j);
		return -1;
	}
	j->in_tx = false;
	return 0;
}

int
journal_compat_checkpoint(struct journal_compat *j)
{
	if (j->in_tx && journal_compat_commit(j) < 0)
		return -1;
	return journal_db_checkpoint(j->db, false);
}

bool
journal_compat_wants_checkpoint(const struct journal_compat *j, bool idle)
{
	return journal_db_wal_pages(j->db) >=
	    (idle ? CHECKPOINT_IDLE_PAGES : CHECKPOINT_MAX_PAGES);
}

int
journal_compat_wal_fd(const struct journal_compat *j)
{
	return journal_db_wal_fd(j->db);
}

int
journal_compat_visitor_entries(struct journal_compat *j,
    void (*cb)(void *, const char *, unsigned), void *arg)
{
	return journal_db_visitor_entries(j->db, cb, arg);
}

int
journal_compat_recent_requests(struct journal_compat *j, int64_t since_ms,
    void (*cb)(void *, const char *, const char *, int64_t), void *arg)
{
	return journal_db_recent_requests(j->db, since_ms, cb, arg);
}
