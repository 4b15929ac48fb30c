/*
 * journal.c - the SQLite journal (WAL), written by gatewayd alone: SQLite
 * 3.40 has a WAL corruption bug that only two writing connections can
 * trigger (a checkpointing connection is one).  Statements are prepared
 * once; a transaction spans one loop iteration.  The WAL is made durable
 * by an fdatasync about once a second from a worker (journal_wal_fd) and
 * copied into the database when it has grown.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "datetime.h"
#include "journal.h"
#include "log.h"
#include "util.h"

#define JOURNAL_VERSION 1
/*
 * A checkpoint stalls the loop (it copies pages and fsyncs the database),
 * so it waits for a quiet moment, unless the WAL grows past the cap.
 */
#define CHECKPOINT_IDLE_PAGES 64
#define CHECKPOINT_MAX_PAGES  4000 /* about 16 MB of WAL */

struct journal {
	sqlite3 *db;
	char *path;
	char *site;
	sqlite3_stmt *insert;
	sqlite3_stmt *begin;
	sqlite3_stmt *commit;
	int64_t next_seq;
	int wal_fd;
	int wal_pages; /* in the WAL after the last commit */
	bool tx_lost;  /* the transaction was rolled back mid-way */
	bool in_tx;

	/* A failing disk is logged when it starts, once a minute while it
	 * lasts, and when it ends: never a line per decision. */
	bool failing;
	uint64_t failures;
	uint64_t warned_ms;
};

static void
failed(struct journal *j, const char *what)
{
	j->failures++;
	if (!j->failing) {
		j->failing = true;
		j->warned_ms = 0;
		(void)log_ratelimit(&j->warned_ms); /* the minute starts */
		log_errx("journal %s: %s: %s; decisions go on, unjournaled, "
		         "until it recovers",
		    j->path, what, sqlite3_errmsg(j->db));
	} else if (log_ratelimit(&j->warned_ms)) {
		log_errx("journal %s: still failing (%" PRIu64 " writes "
		         "lost): %s",
		    j->path, j->failures, sqlite3_errmsg(j->db));
	}
}

static void
succeeded(struct journal *j)
{
	if (!j->failing)
		return;
	log_info("journal %s: writing again, after %" PRIu64 " failed "
	         "writes",
	    j->path, j->failures);
	j->failing = false;
	j->failures = 0;
}

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ts_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL,"
    " device TEXT, request TEXT, decision TEXT, reason TEXT,"
    " subject_type TEXT, subject_id TEXT, household TEXT,"
    " direction TEXT,"
    " body TEXT NOT NULL);"
    /* No index on ts_ms: every index is pages written per commit, and
     * the newest rows are found by walking seq backwards. */
    "DROP INDEX IF EXISTS events_ts;"
    "CREATE INDEX IF NOT EXISTS events_visitor ON events(subject_id)"
    " WHERE kind = 'access' AND subject_type = 'visitor'"
    " AND decision = 'allow' AND direction = 'in';";

static int
exec(struct journal *j, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(j->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_errx("journal %s: %s", j->path, err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

static int
prepare(struct journal *j, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	        NULL) != SQLITE_OK) {
		log_errx("journal %s: %s", j->path, sqlite3_errmsg(j->db));
		return -1;
	}
	return 0;
}

static int64_t
query_int(struct journal *j, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if (prepare(j, sql, &st) < 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct journal *j = arg;

	(void)db;
	(void)name;
	j->wal_pages = pages;
	return SQLITE_OK;
}

/* Ids never go back, even when retention has deleted the newest. */
static int64_t
stored_next_seq(struct journal *j)
{
	int64_t a, b;

	a = query_int(j, "SELECT max(seq) FROM events");
	b = query_int(j,
	    "SELECT seq FROM sqlite_sequence"
	    " WHERE name = 'events'");
	if (a < 0 || b < 0)
		return -1;
	return (a > b ? a : b) + 1;
}

/*
 * After a failed statement: SQLite may have rolled the transaction back
 * by itself (SQLITE_FULL, IOERR, NOMEM).  Whatever happened, the next
 * id is the one after what is really stored.
 */
static void
recover(struct journal *j)
{
	int64_t next;

	if (!sqlite3_get_autocommit(j->db))
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
	j->in_tx = false;
	next = stored_next_seq(j);
	if (next > 0)
		j->next_seq = next;
}

struct journal *
journal_open(const char *data_dir, const char *site, bool full)
{
	struct journal *j;
	int64_t version;
	char *wal;

	if (mkdir(data_dir, 0750) < 0 && errno != EEXIST) {
		log_warn("journal: mkdir %s", data_dir);
		return NULL;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || asprintf(&j->path, "%s/journal.db", data_dir) < 0) {
		free(j);
		return NULL;
	}
	j->site = strdup(site);
	j->wal_fd = -1;
	if (sqlite3_open_v2(j->path, &j->db,
	        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	            SQLITE_OPEN_NOMUTEX,
	        NULL) != SQLITE_OK) {
		log_errx("journal %s: %s", j->path,
		    j->db ? sqlite3_errmsg(j->db) : "out of memory");
		goto fail;
	}
	/* Only gatewayd writes; readers never block it for long.  The
	 * loop must not wait: a busy journal is a failing one. */
	sqlite3_busy_timeout(j->db, 10);
	if (exec(j, "PRAGMA journal_mode = WAL") < 0 ||
	    exec(j,
	        full ? "PRAGMA synchronous = FULL" :
	               "PRAGMA synchronous = NORMAL") < 0 ||
	    /* The loop's timer checkpoints; never in the middle of a commit. */
	    exec(j, "PRAGMA wal_autocheckpoint = 0") < 0 ||
	    /* The writer appends: a small page cache is all it needs. */
	    exec(j, "PRAGMA cache_size = -1024") < 0 || exec(j, schema) < 0)
		goto fail;
	/* Written only when new: a full disk must not stop a start. */
	version = query_int(j, "PRAGMA user_version");
	if (version > JOURNAL_VERSION) {
		log_errx("journal %s: made by a newer gatewayd (version %lld)",
		    j->path, (long long)version);
		goto fail;
	}
	if (version < JOURNAL_VERSION && exec(j, "PRAGMA user_version = 1") < 0)
		goto fail;
	if (prepare(j,
	        "INSERT INTO events (seq, ts_ms, kind, device, request,"
	        " decision, reason, subject_type, subject_id, household,"
	        " direction, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
	        &j->insert) < 0 ||
	    prepare(j, "BEGIN", &j->begin) < 0 ||
	    prepare(j, "COMMIT", &j->commit) < 0)
		goto fail;

	/* Ids never go back, even when retention has deleted the newest. */
	j->next_seq = stored_next_seq(j);
	if (j->next_seq < 0)
		goto fail;
	sqlite3_wal_hook(j->db, wal_hook, j);
	if (asprintf(&wal, "%s-wal", j->path) >= 0) {
		j->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
		free(wal);
	}
	return j;
fail:
	journal_close(j);
	return NULL;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->in_tx)
		journal_commit(j);
	sqlite3_finalize(j->insert);
	sqlite3_finalize(j->begin);
	sqlite3_finalize(j->commit);
	if (j->db) {
		sqlite3_wal_checkpoint_v2(j->db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		sqlite3_close(j->db);
	}
	if (j->wal_fd >= 0)
		close(j->wal_fd);
	free(j->path);
	free(j->site);
	free(j);
}

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

static json_t *
record_json(const struct journal *j, const struct journal_record *r,
    int64_t seq, int64_t ts_ms)
{
	char id[128], ts[40];
	json_t *o, *s;

	snprintf(id, sizeof(id), "%s:%lld", j->site, (long long)seq);
	datetime_format_rfc3339(ts_ms, ts, sizeof(ts));
	o = json_object();
	set_str(o, "id", id);
	set_str(o, "ts", ts);
	set_str(o, "kind", r->kind);
	set_str(o, "device", r->device);
	if (r->subject_type) {
		s = json_object();
		set_str(s, "type", r->subject_type);
		set_str(s, "id", r->subject_id);
		set_str(s, "household", r->household);
		json_object_set_new(o, "subject", s);
	}
	set_str(o, "decision", r->decision);
	set_str(o, "reason", r->reason);
	set_str(o, "request", r->request);
	set_str(o, "direction", r->direction);
	if (r->extra)
		json_object_update(o, r->extra);
	return o;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int
journal_append(struct journal *j, const struct journal_record *r, int64_t ts_ms,
    char **json)
{
	sqlite3_stmt *st = j->insert;
	json_t *o;
	char *body;
	int rc;

	if (json)
		*json = NULL;
	if (!j->in_tx) {
		rc = sqlite3_step(j->begin);
		sqlite3_reset(j->begin);
		if (rc != SQLITE_DONE) {
			failed(j, "begin");
			return -1;
		}
		j->in_tx = true;
	}
	o = record_json(j, r, j->next_seq, ts_ms);
	body = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (body == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, j->next_seq);
	sqlite3_bind_int64(st, 2, ts_ms);
	bind_text(st, 3, r->kind);
	bind_text(st, 4, r->device);
	bind_text(st, 5, r->request);
	bind_text(st, 6, r->decision);
	bind_text(st, 7, r->reason);
	bind_text(st, 8, r->subject_type);
	bind_text(st, 9, r->subject_id);
	bind_text(st, 10, r->household);
	bind_text(st, 11, r->direction);
	bind_text(st, 12, body);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		failed(j, "insert");
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
journal_commit(struct journal *j)
{
	int rc;

	if (j->tx_lost) {
		j->tx_lost = false;
		if (j->in_tx)
			recover(j);
		return -1;
	}
	if (!j->in_tx)
		return 0;
	rc = sqlite3_step(j->commit);
	sqlite3_reset(j->commit);
	if (rc != SQLITE_DONE) {
		failed(j, "commit");
		/* Its rows are gone, so their ids are free again: nothing
		 * with those ids has been published (daemon.c). */
		recover(j);
		return -1;
	}
	j->in_tx = false;
	succeeded(j);
	return 0;
}

int
journal_checkpoint(struct journal *j)
{
	int rc;

	if (j->in_tx && journal_commit(j) < 0)
		return -1;
	rc = sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
	if (rc == SQLITE_OK)
		j->wal_pages = 0;
	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		failed(j, "checkpoint");
		return -1;
	}
	return 0;
}

bool
journal_wants_checkpoint(const struct journal *j, bool idle)
{
	return j->wal_pages >=
	    (idle ? CHECKPOINT_IDLE_PAGES : CHECKPOINT_MAX_PAGES);
}

int
journal_wal_fd(const struct journal *j)
{
	return j->wal_fd;
}

int
journal_visitor_entries(struct journal *j,
    void (*cb)(void *, const char *, unsigned), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(j,
	        "SELECT subject_id, count(*) FROM events"
	        " WHERE kind = 'access' AND subject_type = 'visitor'"
	        " AND decision = 'allow' AND direction = 'in'"
	        " GROUP BY subject_id",
	        &st) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(st, 0),
		    (unsigned)sqlite3_column_int(st, 1));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
journal_recent_requests(struct journal *j, int64_t since_ms,
    void (*cb)(void *, const char *, const char *, int64_t), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	int64_t ts;

	/*
	 * Newest first, until rows are well before the window: times follow
	 * seq except when the clock was stepped, hence the hour of slack.
	 * A rejected request was never acted on: a corrected resend with
	 * the same id must still be decided.
	 */
	if (prepare(j,
	        "SELECT device, request, ts_ms, decision FROM events"
	        " ORDER BY seq DESC",
	        &st) < 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ts = sqlite3_column_int64(st, 2);
		if (ts < since_ms - 3600 * 1000) {
			rc = SQLITE_DONE;
			break;
		}
		if (ts < since_ms ||
		    sqlite3_column_type(st, 0) == SQLITE_NULL ||
		    sqlite3_column_type(st, 1) == SQLITE_NULL ||
		    (sqlite3_column_type(st, 3) == SQLITE_TEXT &&
		        strcmp((const char *)sqlite3_column_text(st, 3),
		            "rejected") == 0))
			continue;
		cb(arg, (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), ts);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
