/*
 * reload.c - access tables parsed on a libuv worker and swapped on the
 * loop.  Editors write a temporary file and rename it, so changes in
 * access.d are taken after a moment of quiet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <jansson.h>

#include "access.h"
#include "care.h"
#include "config.h"
#include "diag.h"
#include "log.h"
#include "notify.h"
#include "pipeline.h"
#include "reload.h"
#include "snapshot.h"
#include "state.h"
#include "util.h"

#define DEBOUNCE_MS 300
/* Staff save files in bursts: one copy after the last reload of one. */
#define SNAPSHOT_DELAY_MS 5000

struct reload {
	uv_loop_t *loop;
	struct pipeline *p;
	void (*swapped)(void *);
	void *arg;
	uv_fs_event_t watch;
	dev_t watched_dev; /* the directory the watch is on */
	ino_t watched_ino;
	bool dir_missing;
	uv_fs_t check; /* of access_dir's inode */
	bool checking;
	uv_timer_t debounce;
	uv_work_t work;
	struct access_tables *tables; /* the worker's result */
	struct diag diag;
	uint64_t started; /* uv_hrtime() */
	uv_work_t snapshot;
	uv_timer_t snapshot_delay;
	bool running, again, closing;
	bool reloading;          /* RELOADING=1 sent, READY=1 not yet */
	bool saving, save_again; /* the snapshot's copy */
	unsigned gen;            /* reloads started */
	json_t *last;            /* the last one's result: reload_last() */
	void (*finished)(void *, unsigned, const json_t *);
	void *finished_arg;
};

static void save_snapshot(struct reload *);
static void on_snapshot_delay(uv_timer_t *);

static void
work(uv_work_t *w)
{
	struct reload *r = w->data;

	r->tables = access_load(r->p->cfg, &r->diag);
}

/* What loaded is what a start with a broken access.d runs on: copied
 * after the swap, so that its fsyncs delay no reload. */
static void
snapshot_work(uv_work_t *w)
{
	struct reload *r = w->data;

	(void)snapshot_save(r->p->cfg);
}

static void
snapshot_done(uv_work_t *w, int status)
{
	struct reload *r = w->data;

	(void)status;
	r->saving = false;
	if (r->save_again && !r->closing) {
		r->save_again = false;
		save_snapshot(r);
	}
}

static void
on_snapshot_delay(uv_timer_t *t)
{
	save_snapshot(t->data);
}

static void
save_snapshot(struct reload *r)
{
	if (r->saving) {
		r->save_again = true;
		return;
	}
	r->snapshot.data = r;
	if (uv_queue_work(r->loop, &r->snapshot, snapshot_work,
	        snapshot_done) == 0)
		r->saving = true;
}

static void
system_event(struct reload *r, const char *decision, json_t *extra)
{
	struct journal_record rec = {
		.kind = "system",
		.decision = decision,
		.reason = "reload",
		.extra = extra,
	};

	pipeline_record(r->p, &rec, now_ms());
}

/* Files that load but say something (a new.ini.txt not read). */
static void
log_warnings(const struct reload *r)
{
	char line[600];
	size_t i;

	for (i = 0; i < r->diag.n; i++) {
		diag_format(&r->diag.v[i], line, sizeof(line));
		log_warnx("%s", line);
	}
}

/*
 * The tables stay as they were.  The record is a reload_failed alert of
 * the device "gateway" (DESIGN §4.7): its reason the first problem as
 * file:line: message, and every one (the first 50) in "errors".
 */
static void
failed(struct reload *r)
{
	struct journal_record rec = {
		.kind = "system",
		.device = "gateway",
		.decision = "reload_failed",
	};
	json_t *extra, *errors;
	char line[600], first[600] = "";
	int64_t now = now_ms();
	size_t i;

	diag_sort(&r->diag);
	extra = json_object();
	errors = json_array();
	for (i = 0; i < r->diag.n; i++) {
		const struct diag_entry *e = &r->diag.v[i];

		diag_format(e, line, sizeof(line));
		if (e->warning) {
			log_warnx("%s", line);
			continue;
		}
		log_errx("%s", line);
		if (first[0] == '\0')
			str_copy(first, line, sizeof(first));
		if (json_array_size(errors) < 50)
			json_array_append_new(errors, json_string(line));
	}
	log_errx("reload failed with %zu problems: the old access tables "
	         "stay in force",
	    diag_errors(&r->diag));
	rec.reason = first[0] ? first : "the access tables could not be loaded";
	json_object_set_new(extra, "problems",
	    json_integer((json_int_t)diag_errors(&r->diag)));
	json_object_set_new(extra, "errors", errors);
	pipeline_alert(r->p, "gateway", "reload_failed", NULL, extra, now);
	rec.extra = extra;
	pipeline_record(r->p, &rec, now);
	json_decref(extra);
}

/* What the last reload did, for gatewayctl: when, whether the tables
 * changed, what they hold, and every problem as file:line. */
static void
remember(struct reload *r, bool ok)
{
	json_t *errors = json_array(), *o;
	char line[600], summary[192] = "";
	size_t i;

	for (i = 0; i < r->diag.n && json_array_size(errors) < 50; i++) {
		diag_format(&r->diag.v[i], line, sizeof(line));
		json_array_append_new(errors, json_string(line));
	}
	if (r->p->tables != NULL)
		access_summary(r->p->tables, r->p->cfg, summary,
		    sizeof(summary));
	o = json_pack("{s:b,s:I,s:I,s:s,s:o}", "ok", ok, "at_ms",
	    (json_int_t)now_ms(), "ms",
	    (json_int_t)((uv_hrtime() - r->started) / 1000000), "tables",
	    summary, "errors", errors);
	json_decref(r->last);
	r->last = o;
	if (r->finished != NULL && o != NULL)
		r->finished(r->finished_arg, r->gen, o);
}

/*
 * systemd hears of every reload, however it was asked for (SIGHUP,
 * gatewayctl, a file saved): RELOADING=1 when the first begins, READY=1
 * once none is running or queued, ok or failed: systemctl shows the
 * service reloading meanwhile.  (systemd 252 does not wait for READY=1
 * before `systemctl reload` returns; Type=notify-reload, 253, would.)
 */
static void
reloading(struct reload *r)
{
	if (r->reloading)
		return;
	r->reloading = true;
	(void)notify_reloading();
}

static void
ready(struct reload *r)
{
	if (!r->reloading || r->running || r->closing)
		return;
	r->reloading = false;
	(void)notify_send("READY=1");
}

static void
done(uv_work_t *w, int status)
{
	struct reload *r = w->data;
	char summary[192];

	(void)status;
	r->running = false;
	if (r->closing) {
		access_free(r->tables);
		r->tables = NULL;
		diag_free(&r->diag);
		return;
	}
	if (r->tables != NULL) {
		log_warnings(r);
		/* The tables hold no live state: the swap is all, but
		 * for whom the wellbeing checks watch. */
		access_free((struct access_tables *)r->p->tables);
		r->p->tables = r->tables;
		r->tables = NULL;
		care_reloaded(r->p, now_ms());
		access_summary(r->p->tables, r->p->cfg, summary,
		    sizeof(summary));
		log_info("reloaded access tables in %.0f ms: %s",
		    (double)(uv_hrtime() - r->started) / 1e6, summary);
		system_event(r, "ok", NULL);
		uv_timer_start(&r->snapshot_delay, on_snapshot_delay,
		    SNAPSHOT_DELAY_MS, 0);
		if (r->p->state->on_snapshot) {
			r->p->state->on_snapshot = false;
			log_info("%s loads again: the last good tables from "
			         "the snapshot are replaced",
			    r->p->cfg->access_dir);
		}
		if (r->swapped)
			r->swapped(r->arg);
		remember(r, true);
	} else {
		failed(r);
		remember(r, false);
	}
	diag_free(&r->diag);
	if (r->again) {
		r->again = false;
		reload_start(r, "a change during the last reload");
	}
	ready(r);
}

unsigned
reload_start(struct reload *r, const char *why)
{
	if (r->closing)
		return 0;
	if (r->running) {
		r->again = true;
		return r->gen + 1;
	}
	log_info("reloading access tables (%s)", why);
	reloading(r);
	diag_init(&r->diag);
	r->tables = NULL;
	r->started = uv_hrtime();
	r->work.data = r;
	if (uv_queue_work(r->loop, &r->work, work, done) == 0)
		r->running = true;
	else
		ready(r);
	return ++r->gen;
}

const json_t *
reload_last(const struct reload *r)
{
	return r->last;
}

void
reload_on_finished(struct reload *r,
    void (*fn)(void *arg, unsigned gen, const json_t *result), void *arg)
{
	r->finished = fn;
	r->finished_arg = arg;
}

static void
on_debounce(uv_timer_t *t)
{
	reload_start(t->data, "access directory changed");
}

static void
on_fs_event(uv_fs_event_t *h, const char *file, int events, int status)
{
	struct reload *r = h->data;

	(void)events;
	if (status < 0) {
		log_warnx("watch %s: %s", r->p->cfg->access_dir,
		    uv_strerror(status));
		return;
	}
	/* Editors write a temporary file and rename it: wait for quiet. */
	if (file == NULL || file[0] != '.')
		uv_timer_start(&r->debounce, on_debounce, DEBOUNCE_MS, 0);
}

/* Watch access_dir as it is now (its inode: see reload_check). */
static void
watch(struct reload *r)
{
	const char *dir = r->p->cfg->access_dir;
	struct stat st;
	int rc;

	if (stat(dir, &st) == 0) {
		r->watched_dev = st.st_dev;
		r->watched_ino = st.st_ino;
	}
	rc = uv_fs_event_start(&r->watch, on_fs_event, dir, 0);
	if (rc < 0)
		log_warnx("watch %s: %s: reload with SIGHUP", dir,
		    uv_strerror(rc));
}

static void
checked(uv_fs_t *req)
{
	struct reload *r = req->data;
	const char *dir = r->p->cfg->access_dir;
	int rc = (int)req->result;
	uv_stat_t st = req->statbuf;

	uv_fs_req_cleanup(req);
	r->checking = false;
	if (r->closing)
		return;
	if (rc < 0) {
		if (!r->dir_missing)
			log_warnx("%s: %s: the old access tables stay in force",
			    dir, uv_strerror(rc));
		r->dir_missing = true;
		return;
	}
	r->dir_missing = false;
	if (st.st_dev == (uint64_t)r->watched_dev &&
	    st.st_ino == (uint64_t)r->watched_ino)
		return;
	/* Replaced whole (a rename, a restore from backup): the watch is
	 * still on the old directory. */
	uv_fs_event_stop(&r->watch);
	watch(r);
	reload_start(r, "access directory replaced");
}

/* The stat runs on a worker: the loop never waits for the card. */
void
reload_check(struct reload *r)
{
	if (r->closing || r->checking)
		return;
	r->check.data = r;
	if (uv_fs_stat(r->loop, &r->check, r->p->cfg->access_dir, checked) == 0)
		r->checking = true;
}

struct reload *
reload_new(uv_loop_t *loop, struct pipeline *p, void (*swapped)(void *),
    void *arg)
{
	struct reload *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->loop = loop;
	r->p = p;
	r->swapped = swapped;
	r->arg = arg;
	r->watch.data = r;
	r->debounce.data = r;
	r->snapshot_delay.data = r;
	uv_timer_init(loop, &r->debounce);
	uv_timer_init(loop, &r->snapshot_delay);
	uv_fs_event_init(loop, &r->watch);
	watch(r);
	return r;
}

void
reload_close(struct reload *r)
{
	/* Tables that loaded and are not copied yet: at a stop the loop may
	 * wait for the disk (and for a copy under way: saves take turns),
	 * and the next start may need them. */
	if (uv_is_active((uv_handle_t *)&r->snapshot_delay) || r->save_again)
		(void)snapshot_save(r->p->cfg);
	r->closing = true;
	if (!uv_is_closing((uv_handle_t *)&r->watch))
		uv_close((uv_handle_t *)&r->watch, NULL);
	if (!uv_is_closing((uv_handle_t *)&r->debounce))
		uv_close((uv_handle_t *)&r->debounce, NULL);
	if (!uv_is_closing((uv_handle_t *)&r->snapshot_delay))
		uv_close((uv_handle_t *)&r->snapshot_delay, NULL);
}

void
reload_free(struct reload *r)
{
	if (r == NULL)
		return;
	json_decref(r->last);
	free(r);
}
