/*
 * journal_db.c - the SQLite journal (WAL), written by gatewayd alone:
 * SQLite 3.40 has a WAL corruption bug that only two writing connections
 * can trigger (a checkpointing connection is one).  Statements are
 * prepared once.  When to commit, sync and checkpoint is the owner's
 * business (journal.c); this file knows the schema and SQLite.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "datetime.h"
#include "journal.h"
#include "journal_db.h"
#include "log.h"
#include "util.h"

#define JOURNAL_VERSION 1

struct journal_db {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *insert;
	sqlite3_stmt *begin;
	sqlite3_stmt *commit;
	sqlite3_stmt *bound_update, *bound_insert;
	sqlite3_stmt *cursor_set, *dead_letter;
	/* Retention's (journal_retention.c). */
	sqlite3_stmt *scan, *delete, *cursor_seq, *page_count, *freelist;
	int64_t page_size;
	int wal_fd;
	int fd;         /* the database, read-only: is it still ours? */
	off_t min_size; /* it never shrinks below this unless cut */
	int wal_pages;  /* in the WAL after the last commit */
	int error;      /* SQLite's code of the last failure */
	char msg[256];  /* and its message, with the path */

	/* A failing disk is logged when it starts, once a minute while it
	 * lasts, and when it ends: never a line per decision. */
	bool failing;
	uint64_t failures;
	uint64_t warned_ms;
};

/* Keep SQLite's code and message of a failure for the caller. */
static void
note(struct journal_db *j, int rc, const char *msg)
{
	j->error = rc & 0xff;
	snprintf(j->msg, sizeof(j->msg), "journal %s: %s", j->path,
	    msg ? msg : sqlite3_errstr(rc));
}

static void
failed(struct journal_db *j, const char *what, int rc)
{
	note(j, rc, sqlite3_errmsg(j->db));
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
succeeded(struct journal_db *j)
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
    /* A visitor's entries, on foot or by car: one budget. */
    "DROP INDEX IF EXISTS events_visitor;"
    "CREATE INDEX IF NOT EXISTS events_visits ON events(subject_id)"
    " WHERE kind IN ('access', 'vehicle') AND subject_type = 'visitor'"
    " AND decision = 'allow' AND direction = 'in';"
    /* The car park's state at start: vehicle rows only, few. */
    "CREATE INDEX IF NOT EXISTS events_vehicle ON events(ts_ms)"
    " WHERE kind = 'vehicle';"
    /* The fire release's state at start: the newest phase. */
    "CREATE INDEX IF NOT EXISTS events_alarm ON events(decision)"
    " WHERE kind = 'alarm';"
    /* Cameras' events opened and cool-downs at start: few rows too. */
    "CREATE INDEX IF NOT EXISTS events_camera ON events(ts_ms)"
    " WHERE kind = 'camera';"
    /* Incidents' steps at start, and the messages the robot is sent
     * (JOURNAL_NOTIFY): few rows each. */
    "CREATE INDEX IF NOT EXISTS events_incident ON events(seq)"
    " WHERE kind = 'incident';"
    /* An index whose WHERE is not the query's is not used: when
     * JOURNAL_NOTIFY_WHERE changes, so does the name (the daily report
     * joined it in events_notify2), and the old one goes. */
    "DROP INDEX IF EXISTS events_notify;"
    "CREATE INDEX IF NOT EXISTS events_notify2 ON events(seq)"
    " WHERE " JOURNAL_NOTIFY_WHERE ";"
    /* Wellbeing checks at start: each watched person's last care
     * record, one probe each.  A watched person's pass is a care_pass
     * record of its own: an index over every access row's person
     * would cost each decision about half as much again in WAL
     * bytes, for the few persons the checks watch. */
    "CREATE INDEX IF NOT EXISTS events_care ON events(subject_id)"
    " WHERE kind = 'system' AND decision IN ('care', 'care_watch',"
    " 'care_end', 'care_pass');"
    /* Each sink's cursor: the last id it confirmed, and its own
     * state (what a summary still owes), moved in the transaction
     * that follows the confirmation. */
    "CREATE TABLE IF NOT EXISTS sinks ("
    " name TEXT PRIMARY KEY,"
    " seq INTEGER NOT NULL,"
    " state TEXT);"
    /* Records a sink's peer refused for good, set aside with why:
     * a copy, so that retention of the events leaves them. */
    "CREATE TABLE IF NOT EXISTS dead_letters ("
    " seq INTEGER NOT NULL,"
    " sink TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL,"
    " why TEXT,"
    " body TEXT,"
    " PRIMARY KEY (sink, seq));";

/* SQLite's result code; a failure is noted, for the caller to log. */
static int
exec(struct journal_db *j, const char *sql)
{
	char *err = NULL;
	int rc;

	rc = sqlite3_exec(j->db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		note(j, rc, err);
	sqlite3_free(err);
	return rc;
}

static int
prepare(struct journal_db *j, const char *sql, sqlite3_stmt **st)
{
	int rc;

	rc = sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
	    NULL);
	if (rc != SQLITE_OK)
		note(j, rc, sqlite3_errmsg(j->db));
	return rc;
}

/* One integer from a prepared statement; -1 on error (noted). */
static int64_t
step_int(struct journal_db *j, sqlite3_stmt *st)
{
	int64_t v = 0;
	int rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE) {
		note(j, rc, sqlite3_errmsg(j->db));
		v = -1;
	}
	sqlite3_reset(st);
	return v;
}

/* One integer, or -1 on error (noted). */
static int64_t
query_int(struct journal_db *j, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	if (prepare(j, sql, &st) != SQLITE_OK)
		return -1;
	v = step_int(j, st);
	sqlite3_finalize(st);
	return v;
}

/* The file only grows (no VACUUM): what it has now, it keeps. */
static void
note_size(struct journal_db *j)
{
	struct stat st;

	if (j->fd >= 0 && fstat(j->fd, &st) == 0 && st.st_size > j->min_size)
		j->min_size = st.st_size;
}

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct journal_db *j = arg;

	(void)db;
	(void)name;
	j->wal_pages = pages;
	return SQLITE_OK;
}

static const char *const pragmas[] = {
	"PRAGMA journal_mode = WAL",
	/* The owner checkpoints; never in the middle of a commit. */
	"PRAGMA wal_autocheckpoint = 0",
	/* The writer appends: a small page cache is all it needs. */
	"PRAGMA cache_size = -1024",
	schema,
};

/*
 * Retention walks the rows in id order, a chunk at a time, and deletes
 * by id: no index on ts_ms is needed (each would be pages written with
 * every commit), and the walk stops early (journal_retention.c).
 */
/* Statements prepared once, each into its member of struct journal_db. */
#define STMT(member, sql)                                                      \
	{                                                                      \
		offsetof(struct journal_db, member), sql                       \
	}
static const struct {
	size_t member;
	const char *sql;
} statements[] = {
	STMT(insert,
	    "INSERT INTO events (seq, ts_ms, kind, device, request,"
	    " decision, reason, subject_type, subject_id, household,"
	    " direction, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"),
	STMT(begin, "BEGIN"),
	STMT(commit, "COMMIT"),
	/* AUTOINCREMENT keeps a table's highest id in sqlite_sequence: a
	 * bound kept there is honoured by any writer of the file. */
	STMT(bound_update,
	    "UPDATE sqlite_sequence SET seq = ?1"
	    " WHERE name = 'events' AND seq < ?1"),
	STMT(bound_insert,
	    "INSERT INTO sqlite_sequence (name, seq)"
	    " SELECT 'events', ?1 WHERE NOT EXISTS"
	    " (SELECT 1 FROM sqlite_sequence WHERE name = 'events')"),
	STMT(cursor_set,
	    "INSERT INTO sinks (name, seq, state) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (name) DO UPDATE SET seq = ?2, state = ?3"),
	STMT(dead_letter,
	    "INSERT OR REPLACE INTO dead_letters"
	    " (seq, sink, at_ms, why, body)"
	    " SELECT seq, ?2, ?3, ?4, body FROM events WHERE seq = ?1"),
	/* Retention's: each row's seq, time, whether the robot takes it,
	 * whether it is never evicted undelivered (what the office bills
	 * and audits: access, alarms, incidents, charging sessions), made
	 * unsynced, and
	 * whether a restart rebuilds live state from it. */
	STMT(scan,
	    "SELECT seq, ts_ms, " JOURNAL_NOTIFY_WHERE ","
	    " kind IN ('access', 'alarm', 'incident', 'charging')"
	    " OR (kind = 'system' AND decision = 'journal_full'),"
	    " instr(body, '" JOURNAL_UNSYNCED "') > 0,"
	    " kind IN ('alarm', 'incident') OR (kind = 'system' AND"
	    " decision IN ('care', 'care_watch', 'care_end', 'care_pass'))"
	    " FROM events WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3"),
	STMT(delete, "DELETE FROM events WHERE seq = ?1"),
	STMT(cursor_seq, "SELECT seq FROM sinks WHERE name = ?1"),
	STMT(page_count, "PRAGMA page_count"),
	STMT(freelist, "PRAGMA freelist_count"),
};
#undef STMT

static sqlite3_stmt **
statement(struct journal_db *j, size_t i)
{
	return (sqlite3_stmt **)((char *)j + statements[i].member);
}

/* The settings and statements every open needs; SQLite's code. */
static int
setup(struct journal_db *j, bool full)
{
	int64_t version;
	size_t i;
	int rc;

	/* Only gatewayd writes; readers never block it for long.  A
	 * busy journal is a failing one: nobody waits for it. */
	sqlite3_busy_timeout(j->db, 10);
	for (i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		rc = exec(j, pragmas[i]);
		if (rc != SQLITE_OK)
			return rc;
	}
	rc = exec(j,
	    full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
	if (rc != SQLITE_OK)
		return rc;
	/* Written only when new: a full disk must not stop a start. */
	version = query_int(j, "PRAGMA user_version");
	if (version < 0)
		return j->error;
	if (version > JOURNAL_VERSION) {
		snprintf(j->msg, sizeof(j->msg),
		    "journal %s: made by a newer gatewayd (version %lld)",
		    j->path, (long long)version);
		return SQLITE_ERROR;
	}
	if (version < JOURNAL_VERSION) {
		rc = exec(j, "PRAGMA user_version = 1");
		if (rc != SQLITE_OK)
			return rc;
	}
	for (i = 0; i < sizeof(statements) / sizeof(statements[0]); i++) {
		rc = prepare(j, statements[i].sql, statement(j, i));
		if (rc != SQLITE_OK)
			return rc;
	}
	j->page_size = query_int(j, "PRAGMA page_size");
	return j->page_size > 0 ? SQLITE_OK :
	    j->error            ? j->error :
	                          SQLITE_ERROR;
}

struct journal_db *
journal_db_open(const char *path, bool full, int *rc, char *err, size_t errsize)
{
	struct journal_db *j;
	char *wal;

	*rc = SQLITE_NOMEM;
	snprintf(err, errsize, "journal %s: out of memory", path);
	j = calloc(1, sizeof(*j));
	if (j != NULL)
		j->path = strdup(path);
	if (j == NULL || j->path == NULL) {
		free(j);
		return NULL;
	}
	j->wal_fd = -1;
	j->fd = -1;
	*rc = sqlite3_open_v2(j->path, &j->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	    NULL);
	if (*rc != SQLITE_OK) {
		note(j, *rc, j->db ? sqlite3_errmsg(j->db) : NULL);
		goto fail;
	}
	*rc = setup(j, full);
	if (*rc != SQLITE_OK)
		goto fail;
	sqlite3_wal_hook(j->db, wal_hook, j);
	if (asprintf(&wal, "%s-wal", j->path) >= 0) {
		j->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
		free(wal);
	}
	j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
	note_size(j);
	return j;
fail:
	*rc &= 0xff;
	snprintf(err, errsize, "%s", j->msg);
	journal_db_close(j, false);
	return NULL;
}

void
journal_db_close(struct journal_db *j, bool checkpoint)
{
	size_t i;

	if (j == NULL)
		return;
	/* A damaged file is left as it is, its WAL beside it. */
	if (j->db && !checkpoint)
		sqlite3_db_config(j->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
		    NULL);
	for (i = 0; i < sizeof(statements) / sizeof(statements[0]); i++)
		sqlite3_finalize(*statement(j, i));
	if (j->db) {
		journal_db_rollback(j);
		if (checkpoint)
			sqlite3_wal_checkpoint_v2(j->db, NULL,
			    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		sqlite3_close(j->db);
	}
	/* After SQLite's: closing any fd of a file drops the process's
	 * POSIX locks on it, SQLite's included. */
	if (j->wal_fd >= 0)
		close(j->wal_fd);
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
}

/* Step a statement that returns no row; SQLite's code. */
static int
step(sqlite3_stmt *st)
{
	int rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* The same, a failure noted as what was being done: 0 or -1. */
static int
run(struct journal_db *j, sqlite3_stmt *st, const char *what)
{
	int rc = step(st);

	if (rc != SQLITE_OK) {
		failed(j, what, rc);
		return -1;
	}
	return 0;
}

int
journal_db_begin(struct journal_db *j)
{
	j->error = 0; /* journal_db_error() speaks of this transaction */
	return run(j, j->begin, "begin");
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
journal_db_insert(struct journal_db *j, int64_t seq,
    const struct journal_record *r, int64_t ts_ms, const char *body)
{
	sqlite3_stmt *st = j->insert;
	int rc;

	sqlite3_bind_int64(st, 1, seq);
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
	rc = step(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_OK) {
		failed(j, "insert", rc);
		return -1;
	}
	return 0;
}

int
journal_db_commit(struct journal_db *j)
{
	if (run(j, j->commit, "commit") < 0)
		return -1;
	succeeded(j);
	return 0;
}

int
journal_db_keep_bound(struct journal_db *j, int64_t bound)
{
	int rc;

	sqlite3_bind_int64(j->bound_update, 1, bound);
	rc = step(j->bound_update);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(j->bound_insert, 1, bound);
		rc = step(j->bound_insert);
	}
	if (rc != SQLITE_OK) {
		failed(j, "keep the bound of ids", rc);
		return -1;
	}
	return 0;
}

int
journal_db_cursor_set(struct journal_db *j, const char *name, int64_t seq,
    const char *state)
{
	bind_text(j->cursor_set, 1, name);
	sqlite3_bind_int64(j->cursor_set, 2, seq);
	bind_text(j->cursor_set, 3, state);
	return run(j, j->cursor_set, "move a sink's cursor");
}

int
journal_db_dead_letter(struct journal_db *j, const char *sink, int64_t seq,
    const char *why, int64_t at_ms)
{
	sqlite3_bind_int64(j->dead_letter, 1, seq);
	bind_text(j->dead_letter, 2, sink);
	sqlite3_bind_int64(j->dead_letter, 3, at_ms);
	bind_text(j->dead_letter, 4, why);
	return run(j, j->dead_letter, "set a record aside");
}

void
journal_db_rollback(struct journal_db *j)
{
	if (!sqlite3_get_autocommit(j->db))
		sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

int
journal_db_error(const struct journal_db *j)
{
	return j->error;
}

bool
journal_db_damaged(int rc)
{
	return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB;
}

const char *
journal_db_errstr(int rc)
{
	return sqlite3_errstr(rc);
}

const char *
journal_db_errmsg(const struct journal_db *j)
{
	return j->msg;
}

int
journal_db_checkpoint(struct journal_db *j, bool truncate)
{
	int rc = SQLITE_BUSY;

	/* TRUNCATE waits (the busy timeout) for readers to leave the WAL,
	 * copies all of it and gives its space back to the disk. */
	if (truncate)
		rc = sqlite3_wal_checkpoint_v2(j->db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	if (rc == SQLITE_BUSY)
		rc = sqlite3_wal_checkpoint_v2(j->db, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc == SQLITE_OK) {
		j->wal_pages = 0;
		note_size(j);
	}
	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		failed(j, "checkpoint", rc);
		return -1;
	}
	return 0;
}

int
journal_db_quick_check(const char *path, struct journal_db_stop *stop,
    char *why, size_t size)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	const char *text;
	bool stopped;
	char *p;
	int rc;

	/* A reader, as gatewayctl is: it neither writes nor checkpoints,
	 * not even when it closes. */
	rc = sqlite3_open_v2(path, &db,
	    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
		    NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 1000);
		rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st,
		    NULL);
	}
	pthread_mutex_lock(&stop->mu);
	stopped = stop->stopped;
	stop->db = db;
	pthread_mutex_unlock(&stop->mu);
	if (rc == SQLITE_OK)
		rc = stopped ? SQLITE_INTERRUPT : sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		text = (const char *)sqlite3_column_text(st, 0);
		snprintf(why, size, "%s", text ? text : "?");
		rc = text != NULL && strcmp(text, "ok") == 0 ? 0 : -1;
	} else {
		snprintf(why, size, "%s",
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		rc = journal_db_damaged(rc & 0xff) ? -1 : -2;
	}
	pthread_mutex_lock(&stop->mu);
	stop->db = NULL;
	pthread_mutex_unlock(&stop->mu);
	sqlite3_finalize(st);
	sqlite3_close(db);
	/* SQLite's report has lines of its own: one line in a log. */
	for (p = why; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	return rc;
}

void
journal_db_stop_check(struct journal_db_stop *stop)
{
	pthread_mutex_lock(&stop->mu);
	stop->stopped = true;
	/* Safe from any thread, while the connection is open (mu). */
	if (stop->db != NULL)
		sqlite3_interrupt(stop->db);
	pthread_mutex_unlock(&stop->mu);
}

int
journal_db_check_file(struct journal_db *j, char *why, size_t size,
    bool *damaged)
{
	static const char magic[16] = "SQLite format 3";
	struct stat st, at;
	char head[16];
	char ebuf[96];

	*damaged = false;
	if (j->fd < 0)
		return 0;
	if (fstat(j->fd, &st) < 0) {
		snprintf(why, size, "fstat: %s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (st.st_nlink == 0) {
		snprintf(why, size, "deleted");
		return -1;
	}
	if (stat(j->path, &at) < 0) {
		snprintf(why, size, "moved away (%s)",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (at.st_dev != st.st_dev || at.st_ino != st.st_ino) {
		snprintf(why, size, "replaced by another file");
		return -1;
	}
	*damaged = true;
	if (st.st_size < j->min_size) {
		snprintf(why, size, "cut to %lld bytes from %lld",
		    (long long)st.st_size, (long long)j->min_size);
		return -1;
	}
	if (pread(j->fd, head, sizeof(head), 0) != (ssize_t)sizeof(head) ||
	    memcmp(head, magic, sizeof(head)) != 0) {
		snprintf(why, size, "overwritten: not an SQLite file any more");
		return -1;
	}
	*damaged = false;
	return 0;
}

int
journal_db_wal_pages(const struct journal_db *j)
{
	return j->wal_pages;
}

int
journal_db_wal_fd(const struct journal_db *j)
{
	return j->wal_fd;
}

int64_t
journal_db_wal_bytes(const struct journal_db *j)
{
	struct stat st;

	if (j->wal_fd < 0 || fstat(j->wal_fd, &st) < 0)
		return 0;
	return st.st_size;
}

int64_t
journal_db_last_seq(struct journal_db *j)
{
	int64_t a, b;

	a = query_int(j, "SELECT max(seq) FROM events");
	b = query_int(j,
	    "SELECT seq FROM sqlite_sequence"
	    " WHERE name = 'events'");
	if (a < 0 || b < 0)
		return -1;
	return a > b ? a : b;
}

int
journal_db_visitor_entries(struct journal_db *j,
    void (*cb)(void *, const char *, unsigned), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(j,
	        "SELECT subject_id, count(*) FROM events"
	        " WHERE kind IN ('access', 'vehicle')"
	        " AND subject_type = 'visitor'"
	        " AND decision = 'allow' AND direction = 'in'"
	        " AND reason IS NOT 'repeat'"
	        " GROUP BY subject_id",
	        &st) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, (const char *)sqlite3_column_text(st, 0),
		    (unsigned)sqlite3_column_int(st, 1));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
journal_db_recent_requests(struct journal_db *j, int64_t since_ms,
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
	        &st) != SQLITE_OK)
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

static void
set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

json_t *
journal_record_json(const struct journal_record *r, int64_t ts_ms)
{
	char ts[40];
	json_t *o, *s;

	datetime_format_rfc3339(ts_ms, ts, sizeof(ts));
	o = json_object();
	if (o == NULL)
		return NULL;
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

int
journal_id_prefix(char *out, size_t size, const char *site, int64_t seq)
{
	int n;

	/* No escaping: config.c allows [a-z0-9_-] in a site. */
	n = snprintf(out, size, "{\"id\":\"%s:%" PRId64 "\",", site, seq);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

/* Each (ts_ms, body) row of sql to cb, in its order; since_ms is bound
 * to ?1 when sql has it. */
static int
each_row(struct journal_db *j, const char *sql, int64_t since_ms,
    void (*cb)(void *, int64_t, const char *, size_t), void *arg)
{
	sqlite3_stmt *st;
	int rc;

	if (prepare(j, sql, &st) != SQLITE_OK)
		return -1;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, since_ms);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
journal_db_vehicle_rows(struct journal_db *j, int64_t since_ms,
    void (*cb)(void *, int64_t, const char *, size_t), void *arg)
{
	return each_row(j,
	    "SELECT ts_ms, body FROM events"
	    " WHERE kind = 'vehicle' AND ts_ms >= ?1"
	    " AND subject_type = 'visitor' ORDER BY ts_ms, seq",
	    since_ms, cb, arg);
}

int
journal_db_alarm_rows(struct journal_db *j,
    void (*cb)(void *, int64_t, const char *, size_t), void *arg)
{
	/* The release's phases and its devices' states, from the newest
	 * reset or test's end on: a fire device's rejected messages and
	 * refused requests are alarm rows too, and are not among them. */
	return each_row(j,
	    "SELECT ts_ms, body FROM events WHERE kind = 'alarm'"
	    " AND decision IN ('alarm', 'normal', 'clear', 'reset',"
	    " 'test', 'test_end') AND seq >= (SELECT coalesce(max(seq), 0)"
	    " FROM events WHERE kind = 'alarm'"
	    " AND decision IN ('reset', 'test_end')) ORDER BY seq",
	    0, cb, arg);
}

int
journal_db_camera_rows(struct journal_db *j, int64_t since_ms,
    void (*cb)(void *, int64_t, const char *, size_t), void *arg)
{
	return each_row(j,
	    "SELECT ts_ms, body FROM events"
	    " WHERE kind = 'camera' AND ts_ms >= ?1 ORDER BY ts_ms, seq",
	    since_ms, cb, arg);
}

int
journal_db_vehicle_occupancy(struct journal_db *j, int *out)
{
	sqlite3_stmt *st;
	int rc;

	*out = 0;
	/* The newest record that moved it: vehicle rows only, newest
	 * first, through their index. */
	if (prepare(j,
	        "SELECT json_extract(body, '$.occupancy') FROM events"
	        " WHERE kind = 'vehicle'"
	        " AND json_extract(body, '$.occupancy') IS NOT NULL"
	        " ORDER BY ts_ms DESC, seq DESC LIMIT 1",
	        &st) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
journal_db_incident_rows(struct journal_db *j,
    void (*cb)(void *, int64_t, const char *, size_t), void *arg)
{
	return each_row(j,
	    "SELECT ts_ms, body FROM events WHERE kind = 'incident'"
	    " ORDER BY seq",
	    0, cb, arg);
}

int
journal_db_cursor_get(struct journal_db *j, const char *name, int64_t *seq,
    char **state)
{
	sqlite3_stmt *st;
	const char *text;
	int rc;

	*seq = 0;
	*state = NULL;
	if (prepare(j, "SELECT seq, state FROM sinks WHERE name = ?1", &st) !=
	    SQLITE_OK)
		return -1;
	bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		text = (const char *)sqlite3_column_text(st, 1);
		if (text != NULL && (*state = strdup(text)) == NULL)
			rc = SQLITE_NOMEM;
		else
			rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
journal_db_read(struct journal_db *j, int64_t after, enum journal_filter f,
    size_t limit,
    int (*cb)(void *, int64_t seq, const char *kind, int64_t ts_ms,
        const char *body, size_t len),
    void *arg)
{
	static const char *const sql[] = {
		[JOURNAL_ALL] = "SELECT seq, kind, ts_ms, body FROM events"
		                " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
		[JOURNAL_NOTIFY] = "SELECT seq, kind, ts_ms, body FROM events"
		                   " WHERE seq > ?1 AND " JOURNAL_NOTIFY_WHERE
		                   " ORDER BY seq LIMIT ?2",
	};
	sqlite3_stmt *st;
	int rc, n = 0;

	if (prepare(j, sql[f], &st) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if (cb(arg, sqlite3_column_int64(st, 0),
		        (const char *)sqlite3_column_text(st, 1),
		        sqlite3_column_int64(st, 2),
		        (const char *)sqlite3_column_text(st, 3),
		        (size_t)sqlite3_column_bytes(st, 3)) < 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? n : -1;
}

int
journal_db_care_rows(struct journal_db *j, const char *const *persons, size_t n,
    void (*cb)(void *, int64_t, const char *, size_t), void *arg)
{
	/* The WHERE of each repeats its index's word for word: SQLite uses
	 * a partial index only for a query that implies its WHERE. */
	sqlite3_stmt *st = NULL;
	size_t i;
	int rc = SQLITE_DONE;

	/* The WHERE repeats its index's word for word: SQLite uses a
	 * partial index only for a query that implies its WHERE. */
	if (prepare(j,
	        "SELECT ts_ms, body FROM events WHERE kind = 'system'"
	        " AND decision IN ('care', 'care_watch', 'care_end',"
	        " 'care_pass') AND subject_id = ?1 ORDER BY seq DESC LIMIT 1",
	        &st) != SQLITE_OK)
		return -1;
	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_reset(st);
		bind_text(st, 1, persons[i]);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			cb(arg, sqlite3_column_int64(st, 0),
			    (const char *)sqlite3_column_text(st, 1),
			    (size_t)sqlite3_column_bytes(st, 1));
			rc = SQLITE_DONE;
		}
	}
	if (rc != SQLITE_DONE)
		note(j, rc, sqlite3_errmsg(j->db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
journal_db_in_use(struct journal_db *j, int64_t *db_bytes, int64_t *wal_bytes)
{
	int64_t pages, unused;

	pages = step_int(j, j->page_count);
	unused = step_int(j, j->freelist);
	if (pages < 0 || unused < 0)
		return -1;
	*db_bytes = (pages - unused) * j->page_size;
	*wal_bytes = (int64_t)j->wal_pages * j->page_size;
	return 0;
}

int
journal_db_cursor_seq(struct journal_db *j, const char *name, int64_t *seq)
{
	int64_t v;

	bind_text(j->cursor_seq, 1, name);
	v = step_int(j, j->cursor_seq);
	sqlite3_clear_bindings(j->cursor_seq);
	if (v < 0)
		return -1;
	*seq = v;
	return 0;
}

int
journal_db_scan(struct journal_db *j, int64_t after, int64_t upto,
    struct journal_db_old *rows, size_t n)
{
	sqlite3_stmt *st = j->scan;
	size_t i;
	int rc = SQLITE_DONE;

	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, upto);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
	for (i = 0; i < n; i++) {
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW)
			break;
		rows[i].seq = sqlite3_column_int64(st, 0);
		rows[i].ts_ms = sqlite3_column_int64(st, 1);
		rows[i].notify = sqlite3_column_int(st, 2) != 0;
		rows[i].kept = sqlite3_column_int(st, 3) != 0;
		rows[i].unsynced = sqlite3_column_int(st, 4) != 0;
		rows[i].state = sqlite3_column_int(st, 5) != 0;
	}
	if (i < n && rc != SQLITE_DONE) {
		note(j, rc, sqlite3_errmsg(j->db));
		sqlite3_reset(st);
		return -1;
	}
	sqlite3_reset(st);
	return (int)i;
}

int
journal_db_delete(struct journal_db *j, int64_t seq)
{
	sqlite3_bind_int64(j->delete, 1, seq);
	return run(j, j->delete, "delete an old record");
}
