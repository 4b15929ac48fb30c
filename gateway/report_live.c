/*
 * report_live.c - the daily report in gatewayd: the record that carries
 * it to the robot, and the morning's schedule.  Counting reads a whole
 * day of the journal, so it runs on libuv's worker pool with its own
 * read-only connection; the loop only journals the result.  What the
 * report says is report.c's; sending it is wechat.c's.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>
#include <uv.h>

#include "config.h"
#include "journal.h"
#include "log.h"
#include "pipeline.h"
#include "report.h"
#include "report_live.h"
#include "robot.h"
#include "util.h"

#define RETRY_MS     (5 * 60 * 1000)
#define BUSY_WAIT_MS 5000

int
report_journal(struct pipeline *p, const char *markdown, const char *what)
{
	json_t *extra;
	struct journal_record r = {
		.kind = "system",
		.device = "gateway",
		.decision = "report",
		.reason = what,
	};
	int rc;

	if (markdown == NULL || markdown[0] == '\0' ||
	    !utf8_valid(markdown, strlen(markdown)))
		return -1;
	extra = json_pack("{s:s}", "markdown", markdown);
	if (extra == NULL)
		return -1;
	r.extra = extra;
	rc = pipeline_record(p, &r, now_ms());
	json_decref(extra);
	return rc;
}

/* ---- the morning's report ---- */

/* One report being made.  What it needs of the configuration is copied:
 * a reload may free the live one meanwhile. */
struct work {
	uv_work_t req;
	struct pipeline *p;
	char *path; /* <data_dir>/journal.db */
	struct config cfg;
	int32_t today, day;
	char what[32];
	/* The worker's answer. */
	bool already; /* the journal holds this day's report */
	char *markdown;
	char err[256];
};

static struct {
	int32_t done_day; /* the local day whose report is journaled */
	struct work *busy;
	int64_t retry_ms; /* after a failure, not before */
	uint64_t warned_ms;
} live;

static void
work_free(struct work *w)
{
	if (w == NULL)
		return;
	free(w->path);
	free(w->cfg.site);
	free(w->cfg.name);
	free(w->markdown);
	free(w);
}

/* Is the day's report in the journal already?  The robot's index
 * (JOURNAL_NOTIFY_WHERE) holds every report record: a few rows a day. */
static int
journaled(sqlite3 *db, const char *what, bool *yes)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(db,
	    "SELECT 1 FROM events WHERE " JOURNAL_NOTIFY_WHERE
	    " AND kind = 'system' AND decision = 'report' AND reason = ?1"
	    " LIMIT 1",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, what, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*yes = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* On a worker thread: nothing of the loop's is touched. */
static void
work(uv_work_t *req)
{
	struct work *w = req->data;
	sqlite3 *db = NULL;
	json_t *report;
	int rc;

	rc = sqlite3_open_v2(w->path, &db,
	    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(w->err, sizeof(w->err), "journal %s: %s", w->path,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return;
	}
	/* The writer's commits are short; a checkpoint may hold it. */
	sqlite3_busy_timeout(db, BUSY_WAIT_MS);
	if (journaled(db, w->what, &w->already) < 0) {
		snprintf(w->err, sizeof(w->err), "journal %s: %s", w->path,
		    sqlite3_errmsg(db));
	} else if (!w->already) {
		report =
		    report_daily(db, &w->cfg, w->day, w->err, sizeof(w->err));
		if (report != NULL) {
			w->markdown =
			    report_markdown(report, ROBOT_MARKDOWN_MAX);
			if (w->markdown == NULL)
				snprintf(w->err, sizeof(w->err),
				    "out of memory");
		}
		json_decref(report);
	}
	sqlite3_close(db);
}

static void
done(uv_work_t *req, int status)
{
	struct work *w = req->data;

	if (live.busy != w) { /* stopped meanwhile */
		work_free(w);
		return;
	}
	live.busy = NULL;
	if (status != 0 || (!w->already && w->markdown == NULL)) {
		live.retry_ms = now_ms() + RETRY_MS;
		if (log_ratelimit(&live.warned_ms))
			log_errx("report: the daily report of %08d cannot be "
			         "made: %s; trying again in 5 minutes",
			    (int)w->day,
			    status != 0 ? uv_strerror(status) : w->err);
		work_free(w);
		return;
	}
	if (w->already) {
		live.done_day = w->today;
	} else if (report_journal(w->p, w->markdown, w->what) == 0) {
		live.done_day = w->today;
		log_info("report: the daily report of %s is journaled for the "
		         "group robot",
		    w->what + strlen(REPORT_DAILY_PREFIX));
	} else {
		live.retry_ms = now_ms() + RETRY_MS;
	}
	work_free(w);
}

/* Minutes since local midnight at t. */
static int
local_minute(int64_t t_ms)
{
	time_t t = (time_t)(t_ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return -1;
	return tm.tm_hour * 60 + tm.tm_min;
}

void
report_live_tick(struct pipeline *p, int64_t now)
{
	const struct config *cfg = p->cfg;
	struct work *w;
	int32_t today;

	if (live.busy != NULL || now < live.retry_ms || cfg->report.at_min < 0)
		return;
	today = report_day_of(now);
	if (today == 0 || today == live.done_day ||
	    local_minute(now) < cfg->report.at_min)
		return;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return;
	w->req.data = w;
	w->p = p;
	w->today = today;
	w->day = report_day_before(today);
	w->cfg.site = strdup(cfg->site);
	w->cfg.name = strdup(cfg->name ? cfg->name : "");
	w->cfg.incidents = cfg->incidents;
	snprintf(w->what, sizeof(w->what), REPORT_DAILY_PREFIX "%04d-%02d-%02d",
	    (int)(w->day / 10000), (int)(w->day / 100 % 100),
	    (int)(w->day % 100));
	if (asprintf(&w->path, "%s/journal.db", cfg->data_dir) < 0)
		w->path = NULL;
	if (w->path == NULL || w->cfg.site == NULL || w->cfg.name == NULL ||
	    uv_queue_work(uv_default_loop(), &w->req, work, done) != 0) {
		/* The daemon's loop is the default one (daemon.c). */
		work_free(w);
		live.retry_ms = now + RETRY_MS;
		return;
	}
	live.busy = w;
}

void
report_live_stop(void)
{
	/* Its done callback frees it, and journals nothing. */
	live.busy = NULL;
}
