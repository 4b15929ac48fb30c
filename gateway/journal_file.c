/*
 * journal_file.c - the journal's files, from the journal thread: the lock
 * on data_dir, opening journal.db (a damaged one moved aside), the bound
 * of ids, quick_check in the background, the check once a second that
 * the file is still there and whole, starting a new journal when it is
 * not, and the WAL's fdatasync on a thread of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal_ids.h"
#include "journal_int.h"
#include "log.h"
#include "util.h"

/*
 * Ids are reserved this many at a time (two fsyncs each): a restart
 * skips what is left of the block, which costs nothing but numbers.
 */
#define ID_BLOCK 10000

/*
 * One gatewayd per data directory: two would be two writers of the
 * journal (SQLite 3.40's WAL bug) and would knock each other off the
 * broker with the same client id.  Held until the journal stops.
 * 0, -1 (err says why), or -2: another process holds it.
 */
/*
 * Staff read the journal (gatewayctl events, report): data_dir becomes
 * the readers' group's, set-group-id, so that what SQLite makes in it
 * is theirs too; files made before are given to them.  Not fatal: the
 * log says why staff cannot read it.
 */
static void
share_dir(const struct journal *j)
{
	static const char *const files[] = { "journal.db", "journal.db-wal",
		"journal.db-shm" };
	struct stat st;
	char path[PATH_MAX], ebuf[96];
	size_t i;

	if (j->readers_gid <= 0 || stat(j->dir, &st) < 0)
		return;
	if ((st.st_gid != (gid_t)j->readers_gid &&
	        chown(j->dir, (uid_t)-1, (gid_t)j->readers_gid) < 0) ||
	    chmod(j->dir, 02750) < 0) {
		log_warnx("journal: %s cannot be given to the [control] group "
		          "(%s): staff's gatewayctl cannot read the journal",
		    j->dir, strerror_r(errno, ebuf, sizeof(ebuf)));
		return;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", j->dir, files[i]);
		if (stat(path, &st) == 0 && st.st_gid != (gid_t)j->readers_gid)
			(void)chown(path, (uid_t)-1, (gid_t)j->readers_gid);
	}
}

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
	share_dir(j);
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
 * write (journal_file_replace()).  Rows written meanwhile go with the damaged
 * file.
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
void
journal_file_end_check(struct journal *j)
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

	journal_file_end_check(j);
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
		    journal_id_json(j, j->next_seq - 1));
		journal_queue_system(j, "new_journal", reason, extra);
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
int
journal_file_open(struct journal *j, bool at_start)
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
 * Ids for n more rows, reserved on disk before any is used: a power cut
 * may lose the rows, never the knowledge that their ids were given out.
 * 0 or -1.
 */
int
journal_file_reserve_ids(struct journal *j, size_t n, char *err, size_t size)
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

/*
 * The file at the path is not the journal SQLite writes any more, or is
 * damaged: close it (one moved or deleted gets its WAL first, a damaged
 * one is left as it is and moved aside), start a new journal at the
 * path, and record the gap: ids up to last_id are not in the new one,
 * and those from unchecked_from were written after the last check found
 * the file sound (into a deleted file: nowhere any more).
 */
void
journal_file_replace(struct journal *j, const char *why, bool damaged)
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
	json_object_set_new(extra, "last_id", journal_id_json(j, last));
	if (j->checked_seq < last)
		json_object_set_new(extra, "unchecked_from",
		    journal_id_json(j, j->checked_seq + 1));
	journal_queue_system(j, "new_journal",
	    damaged ? "journal.db damaged" : "journal.db gone", extra);
	json_decref(extra);
	journal_file_open(j, false);
}

/* Once a check_ms: is journal.db still the file we write, and whole? */
void
journal_file_check(struct journal *j)
{
	char why[200];
	bool damaged;

	if (journal_db_check_file(j->db, why, sizeof(why), &damaged) < 0)
		journal_file_replace(j, why, damaged);
	else
		j->checked_seq = j->next_seq - 1;
}

/* The answer of quick_check, once it is there. */
void
journal_file_checked(struct journal *j)
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
		journal_file_replace(j, why, true);
	else if (rc == -2)
		log_warnx("journal %s: not checked: %s", j->path, why);
}

/* Ask the syncer for an fdatasync of the WAL, unless one is under way. */
void
journal_file_sync(struct journal *j, uint64_t now)
{
	int wal = journal_db_wal_fd(j->db), fd;

	if (wal < 0)
		return;
	pthread_mutex_lock(&j->sync_mu);
	if (j->sync_fd < 0 && !j->sync_busy) {
		fd = dup(wal);
		if (fd < 0) {
			if (log_ratelimit(&j->dup_warned_ms))
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

int
journal_file_start_syncer(struct journal *j)
{
	return pthread_create(&j->syncer, NULL, run_syncer, j);
}

void
journal_file_stop_syncer(struct journal *j)
{
	pthread_mutex_lock(&j->sync_mu);
	j->sync_stop = true;
	pthread_cond_signal(&j->sync_cond);
	pthread_mutex_unlock(&j->sync_mu);
	pthread_join(j->syncer, NULL);
}
