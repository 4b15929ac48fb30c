/*
 * daemon.c - the running gateway on its libuv loop: start-up, topic
 * routing, the commit-then-publish step of each loop iteration, the
 * checkpoint and watchdog timers, reloads, and a clean stop.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/timex.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "access.h"
#include "config.h"
#include "daemon.h"
#include "dedup.h"
#include "driver.h"
#include "log.h"
#include "mqtt.h"
#include "topic.h"
#include "util.h"

#define CHECKPOINT_MS 1000
#define DEBOUNCE_MS   300
#define IDLE_MS       250    /* no request for this long: a quiet moment */
#define DEDUP_MAX     131072 /* ids per generation: bounds memory */

static void
queue(struct daemon *d, const char *topic, const char *payload, size_t len,
    int qos, bool retain, bool record)
{
	struct outmsg *m;
	size_t tlen;

	if (d->nout == d->capout) {
		size_t cap = d->capout ? d->capout * 2 : 64;
		struct outmsg *v = realloc(d->out, cap * sizeof(*v));

		if (v == NULL) {
			log_errx("out of memory: dropped a message to %s",
			    topic);
			return;
		}
		d->out = v;
		d->capout = cap;
	}
	m = &d->out[d->nout];
	/* One allocation: the topic, its NUL, then the payload. */
	tlen = strlen(topic) + 1;
	m->topic = malloc(tlen + len);
	if (m->topic == NULL) {
		log_errx("out of memory: dropped a message to %s", topic);
		return;
	}
	memcpy(m->topic, topic, tlen);
	m->payload = m->topic + tlen;
	memcpy(m->payload, payload, len);
	m->len = len;
	m->qos = qos;
	m->retain = retain;
	m->record = record;
	d->nout++;
}

void
daemon_send(struct daemon *d, const char *topic, const char *payload,
    size_t len, int qos, bool retain)
{
	queue(d, topic, payload, len, qos, retain, false);
}

int
daemon_record(struct daemon *d, const struct journal_record *r, int64_t ts)
{
	char topic[256], *json;

	if (d->journal == NULL ||
	    journal_compat_append(d->journal, r, ts, &json) < 0)
		return -1;
	snprintf(topic, sizeof(topic), "%s/events/%s", d->cfg->topic_prefix,
	    r->kind);
	/* A record goes out only if its commit succeeds: its id is then
	 * taken for good, and the office de-duplicates on ids. */
	queue(d, topic, json, strlen(json), 0, false, true);
	free(json);
	return 0;
}

/*
 * After every loop iteration's I/O: commit what it journaled, and only
 * then let its commands and events out.  A kill -9 can lose a command,
 * never the record of one that was sent.
 */
static void
on_check(uv_check_t *h)
{
	struct daemon *d = h->data;
	bool committed = true;
	size_t i;

	if (d->journal != NULL && journal_compat_commit(d->journal) < 0)
		committed = false;
	log_flush();
	if (d->nout == 0)
		return;
	/*
	 * Even when the journal failed (disk full), the gates are answered:
	 * locking residents out helps nobody; the failure is logged.
	 */
	if (d->nout > 2)
		mqtt_cork(d->mqtt, true);
	for (i = 0; i < d->nout; i++) {
		if ((committed || !d->out[i].record) &&
		    mqtt_publish(d->mqtt, d->out[i].topic, d->out[i].payload,
		        d->out[i].len, d->out[i].qos, d->out[i].retain) < 0 &&
		    !d->out[i].record) {
			d->unsent++;
			if (log_ratelimit(&d->unsent_warned_ms))
				log_warnx("mqtt: not connected: %" PRIu64
				          " commands not sent so far",
				    d->unsent);
		}
		free(d->out[i].topic);
	}
	mqtt_flush(d->mqtt);
	if (d->nout > 2)
		mqtt_cork(d->mqtt, false);
	d->nout = 0;
}

static void
wal_sync_work(uv_work_t *w)
{
	struct daemon *d = w->data;

	d->wal_sync_errno = fdatasync(d->wal_sync_fd) < 0 ? errno : 0;
}

static void
wal_sync_done(uv_work_t *w, int status)
{
	struct daemon *d = w->data;

	(void)status;
	d->wal_syncing = false;
	if (d->wal_sync_errno != 0 && log_ratelimit(&d->wal_sync_warned_ms))
		log_warnx("journal: fdatasync: %s",
		    strerror(d->wal_sync_errno));
}

static void
load_visitor_entries(void *arg, const char *visitor, unsigned n)
{
	struct access_visitor *v = access_find_visitor(arg, visitor);

	/* The larger count: entries used while the journal was away are
	 * only in memory. */
	if (v != NULL && n > v->used)
		v->used = n > UINT16_MAX ? UINT16_MAX : (uint16_t)n;
}

static void
load_request(void *arg, const char *device, const char *request, int64_t ts)
{
	int64_t first;

	dedup_seen(arg, device, request, ts, &first);
}

/* What a restart must not forget: entries used, requests seen. */
static int
load_journal_state(struct daemon *d)
{
	if (journal_compat_visitor_entries(d->journal, load_visitor_entries,
	        d->tables) < 0 ||
	    journal_compat_recent_requests(d->journal,
	        now_ms() - DEDUP_WINDOW_MS, load_request, d->dedup) < 0)
		return -1;
	return 0;
}

/*
 * One gatewayd per data directory: two would be two writers of the
 * journal (SQLite 3.40's WAL bug) and would knock each other off the
 * broker with the same client id.  No lock, no journal.
 */
static int
lock_data_dir(struct daemon *d, bool at_start)
{
	const char *dir = d->cfg->data_dir;
	char path[PATH_MAX];
	int fd;

	if (d->lock_fd >= 0)
		return 0;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		if (at_start)
			log_warn("mkdir %s", dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/gatewayd.lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		if (at_start)
			log_warn("lock %s", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK && at_start)
			fatalx("another gatewayd is running on %s", dir);
		if (errno == EWOULDBLOCK)
			log_errx("another gatewayd has taken %s: not opening "
			         "the journal",
			    dir);
		else if (at_start)
			log_warn("lock %s", path);
		close(fd);
		return -1;
	}
	/* Kept open, and so locked, until the process ends. */
	d->lock_fd = fd;
	return 0;
}

/*
 * Without a journal (a full or broken disk at boot) the gates are still
 * decided; every half minute we try again.
 */
static void
open_journal(struct daemon *d, bool at_start)
{
	struct journal_compat *j;

	if (lock_data_dir(d, at_start) < 0)
		return;

	j = journal_compat_open(d->cfg->data_dir, d->cfg->site,
	    d->cfg->sync == CONFIG_SYNC_FULL);
	if (j == NULL)
		return;
	d->journal = j;
	if (load_journal_state(d) < 0)
		log_errx("journal: cannot read visitors' entries and recent "
		         "requests: a visitor may get entries again");
}

static void
reopen_journal(struct daemon *d)
{
	if (++d->journal_retry_ticks < 30)
		return;
	d->journal_retry_ticks = 0;
	open_journal(d, false);
	if (d->journal != NULL)
		log_info("journal: open again in %s; decisions are journaled",
		    d->cfg->data_dir);
}

static bool
clock_synchronised(void)
{
	struct timex tx = { 0 };

	return adjtimex(&tx) != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

/* check_ts = auto follows the clock: a Pi without an RTC boots unsynced. */
static void
check_clock(struct daemon *d)
{
	int64_t stale;

	if (d->cfg->check_ts == CONFIG_CHECK_TS_YES)
		stale = (int64_t)d->cfg->stale_s * 1000;
	else if (d->cfg->check_ts == CONFIG_CHECK_TS_AUTO &&
	    clock_synchronised())
		stale = (int64_t)d->cfg->stale_s * 1000;
	else
		stale = 0;
	if (stale == d->stale_ms && d->clock_checked)
		return;
	if (d->cfg->check_ts == CONFIG_CHECK_TS_AUTO)
		log_info(stale ?
		        "the clock is synchronised: stale requests "
		        "are refused" :
		        "the clock is not known to be "
		        "synchronised: request timestamps are not checked");
	d->stale_ms = stale;
	d->clock_checked = true;
}

/*
 * About once a second: make the WAL durable off the loop, so a power cut
 * loses at most about a second; copy it into the database in a quiet
 * moment, or when it has grown large.  The loop never waits for a flash
 * card's fsync of the WAL here.
 */
static void
on_checkpoint(uv_timer_t *t)
{
	struct daemon *d = t->data;

	check_clock(d);
	if (d->journal == NULL) {
		reopen_journal(d);
		return;
	}
	if (journal_compat_wants_checkpoint(d->journal,
	        uv_now(d->loop) - d->last_input >= IDLE_MS))
		journal_compat_checkpoint(d->journal);
	if (d->wal_syncing || journal_compat_wal_fd(d->journal) < 0 ||
	    d->stopping)
		return;
	d->wal_sync_fd = journal_compat_wal_fd(d->journal);
	d->wal_sync_req.data = d;
	if (uv_queue_work(d->loop, &d->wal_sync_req, wal_sync_work,
	        wal_sync_done) == 0)
		d->wal_syncing = true;
}

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	sd_notify(0, "WATCHDOG=1");
}

static void
system_event(struct daemon *d, const char *decision, const char *reason,
    json_t *extra)
{
	struct journal_record r = {
		.kind = "system",
		.decision = decision,
		.reason = reason,
		.extra = extra,
	};

	daemon_record(d, &r, now_ms());
}

static void
device_status(struct daemon *d, struct device *dev, const char *payload,
    size_t len)
{
	struct journal_record r = {
		.kind = "device",
		.device = dev->id,
	};
	int online;

	if (len == 6 && memcmp(payload, "online", 6) == 0)
		online = 1;
	else if (len == 7 && memcmp(payload, "offline", 7) == 0)
		online = 0;
	else {
		dev->rejected++;
		if (log_ratelimit(&dev->warned_ms))
			log_warnx("%s: status is neither online nor offline",
			    dev->id);
		return;
	}
	if (dev->online == online)
		return;
	dev->online = online;
	r.decision = online ? "online" : "offline";
	r.reason = online ? "device online" : "device offline";
	log_info("%-12s %s", dev->id, r.decision);
	daemon_record(d, &r, now_ms());
}

static void
on_message(void *arg, const char *topic, const void *payload, size_t len)
{
	struct daemon *d = arg;
	struct device *dev;
	struct topic t;
	const char *kind, *id, *sub;

	d->last_input = uv_now(d->loop);
	if (topic_split(d->cfg->topic_prefix, topic, &t) < 0) {
		log_debug("mqtt: not a device topic: %.80s",
		    str_printable(topic, strlen(topic)) ? topic :
		                                          "(unprintable)");
		return;
	}
	kind = t.kind;
	id = t.id;
	sub = t.sub;
	dev = config_device(d->cfg, id);
	if (dev != NULL && strcmp(dev->driver->topic_kind, kind) != 0)
		dev = NULL;
	if (strcmp(sub, "status") == 0) {
		if (dev != NULL)
			device_status(d, dev, payload, len);
		return;
	}
	if (dev == NULL) {
		if (strcmp(kind, "gate") == 0)
			gate_unknown(d,
			    utf8_valid(id, strlen(id)) && strlen(id) <= 64 ?
			        id :
			        "?",
			    sub);
		return;
	}
	if (dev->driver->class == DEVICE_GATE)
		gate_message(d, dev, sub, payload, len);
}

static void
status_payload(char *buf, size_t size, const char *state)
{
	snprintf(buf, size, "{\"state\":\"%s\",\"version\":\"%s\"}", state,
	    GATEWAY_VERSION);
}

static void
on_connected(void *arg)
{
	struct daemon *d = arg;
	const struct driver *seen[16];
	size_t i, j, k, nseen = 0;
	char topic[256], status[128];

	/* One wildcard subscription per (kind, subtopic) of the drivers used.
	 */
	for (i = 0; i < d->cfg->ndevices; i++) {
		const struct driver *drv = d->cfg->devices[i]->driver;

		for (j = 0; j < nseen && seen[j] != drv; j++)
			;
		if (j < nseen || nseen == sizeof(seen) / sizeof(seen[0]))
			continue;
		seen[nseen++] = drv;
		for (k = 0; drv->subtopics[k]; k++) {
			snprintf(topic, sizeof(topic), "%s/%s/+/%s",
			    d->cfg->topic_prefix, drv->topic_kind,
			    drv->subtopics[k]);
			mqtt_subscribe(d->mqtt, topic, 1);
		}
	}
	snprintf(topic, sizeof(topic), "%s/+/+/status", d->cfg->topic_prefix);
	mqtt_subscribe(d->mqtt, topic, 1);

	/* Announced after the subscriptions: whoever sees "online" can ask. */
	snprintf(topic, sizeof(topic), "%s/gateway/status",
	    d->cfg->topic_prefix);
	status_payload(status, sizeof(status), "online");
	/* Queued: libmosquitto is in its callback; on_poll writes it. */
	mqtt_publish(d->mqtt, topic, status, strlen(status), 1, true);
	sd_notify(0, "STATUS=connected to the broker");
}

/* Reloads: parsed on a worker thread, swapped on the loop. */

static void
reload_work(uv_work_t *w)
{
	struct daemon *d = w->data;

	d->reload_tables = access_load(d->cfg, &d->reload_diag);
}

static void start_reload(struct daemon *, const char *why);

static void
carry_over(struct access_tables *from, struct access_tables *to)
{
	struct access_visitor *nv, *ov;
	size_t i;

	for (i = 0; i < access_nvisitors(to); i++) {
		nv = access_visitor_at(to, i);
		ov = access_find_visitor(from, access_str(to, nv->id));
		if (ov != NULL)
			nv->used = ov->used;
	}
}

static void
log_counts(const struct daemon *d, const char *what)
{
	struct access_counts c;

	access_counts(d->tables, &c);
	log_info("%s: %zu gates, %zu groups, %zu persons, %zu visitors, "
	         "%zu denied",
	    what, config_count_class(d->cfg, DEVICE_GATE), c.groups, c.persons,
	    c.visitors, c.denied);
}

static void
reload_done(uv_work_t *w, int status)
{
	struct daemon *d = w->data;
	json_t *extra, *errors;
	char line[600];
	size_t i;

	(void)status;
	d->reload_running = false;
	if (d->stopping) {
		access_free(d->reload_tables);
		diag_free(&d->reload_diag);
		return;
	}
	if (d->reload_tables != NULL) {
		/* Entries used: from the old tables (entries counted while
		 * the journal failed) and from the journal (a visitor removed
		 * and added again), whichever is more. */
		carry_over(d->tables, d->reload_tables);
		if (d->journal != NULL &&
		    journal_compat_visitor_entries(d->journal,
		        load_visitor_entries, d->reload_tables) < 0)
			log_errx("journal: cannot read visitors' entries");
		access_free(d->tables);
		d->tables = d->reload_tables;
		d->reload_tables = NULL;
		snprintf(line, sizeof(line),
		    "reloaded access tables in %.0f ms",
		    (double)(uv_hrtime() - d->reload_started) / 1e6);
		log_counts(d, line);
		system_event(d, "ok", "reload", NULL);
	} else {
		diag_sort(&d->reload_diag);
		extra = json_object();
		errors = json_array();
		for (i = 0; i < d->reload_diag.n; i++) {
			const struct diag_entry *e = &d->reload_diag.v[i];

			if (e->line)
				snprintf(line, sizeof(line), "%s:%d: %s",
				    e->file, e->line, e->msg);
			else
				snprintf(line, sizeof(line), "%s: %s", e->file,
				    e->msg);
			log_errx("%s", line);
			if (i < 50)
				json_array_append_new(errors,
				    json_string(line));
		}
		log_errx("reload failed with %zu problems: the old access "
		         "tables stay in force",
		    d->reload_diag.n);
		json_object_set_new(extra, "errors", errors);
		system_event(d, "failed", "reload", extra);
		json_decref(extra);
	}
	diag_free(&d->reload_diag);
	if (d->reload_again) {
		d->reload_again = false;
		start_reload(d, "a change during the last reload");
	}
}

static void
start_reload(struct daemon *d, const char *why)
{
	if (d->stopping)
		return;
	if (d->reload_running) {
		d->reload_again = true;
		return;
	}
	log_info("reloading access tables (%s)", why);
	diag_init(&d->reload_diag);
	d->reload_tables = NULL;
	d->reload_started = uv_hrtime();
	d->reload_req.data = d;
	if (uv_queue_work(d->loop, &d->reload_req, reload_work, reload_done) ==
	    0)
		d->reload_running = true;
}

static void
on_debounce(uv_timer_t *t)
{
	start_reload(t->data, "access directory changed");
}

static void
on_fs_event(uv_fs_event_t *h, const char *file, int events, int status)
{
	struct daemon *d = h->data;

	(void)events;
	if (status < 0) {
		log_warnx("watch %s: %s", d->cfg->access_dir,
		    uv_strerror(status));
		return;
	}
	/* Editors write a temporary file and rename it: wait for quiet. */
	if (file == NULL || file[0] != '.')
		uv_timer_start(&d->debounce, on_debounce, DEBOUNCE_MS, 0);
}

static void
close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void
stop(struct daemon *d, const char *why)
{
	char topic[256], status[128];

	if (d->stopping)
		return;
	d->stopping = true;
	log_info("stopping (%s)", why);
	sd_notify(0, "STOPPING=1");
	system_event(d, "stop", why, NULL);
	on_check(&d->commit);
	snprintf(topic, sizeof(topic), "%s/gateway/status",
	    d->cfg->topic_prefix);
	status_payload(status, sizeof(status), "offline");
	mqtt_stop(d->mqtt, topic, status);
	close_handle((uv_handle_t *)&d->commit);
	close_handle((uv_handle_t *)&d->checkpoint);
	close_handle((uv_handle_t *)&d->watchdog);
	close_handle((uv_handle_t *)&d->debounce);
	close_handle((uv_handle_t *)&d->sigterm);
	close_handle((uv_handle_t *)&d->sigint);
	close_handle((uv_handle_t *)&d->sighup);
	close_handle((uv_handle_t *)&d->watch);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP)
		start_reload(d, "SIGHUP");
	else
		stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
init_handle_data(struct daemon *d)
{
	d->commit.data = d;
	d->checkpoint.data = d;
	d->watchdog.data = d;
	d->debounce.data = d;
	d->sigterm.data = d;
	d->sigint.data = d;
	d->sighup.data = d;
	d->watch.data = d;
}

int
daemon_run(struct config *cfg, struct access_tables *tables)
{
	struct mqtt_callbacks cb = {
		.connected = on_connected,
		.message = on_message,
	};
	struct daemon d = { 0 };
	char will_topic[256], will[128];
	uint64_t wd_usec;
	int rc;

	/* Reloads and WAL syncs are all the workers do: two are plenty. */
	setenv("UV_THREADPOOL_SIZE", "2", 0);
	d.cfg = cfg;
	d.tables = tables;
	d.loop = uv_default_loop();
	cb.arg = &d;
	init_handle_data(&d);

	d.lock_fd = -1;
	d.dedup = dedup_new(DEDUP_WINDOW_MS, DEDUP_MAX);
	if (d.dedup == NULL)
		fatalx("out of memory");
	open_journal(&d, true);
	if (d.journal == NULL)
		log_errx("journal: cannot open it in %s: the gates are decided "
		         "all the same, unjournaled, and visitors' entries "
		         "used "
		         "before are not known; retrying every 30 s",
		    cfg->data_dir);
	check_clock(&d);

	snprintf(will_topic, sizeof(will_topic), "%s/gateway/status",
	    cfg->topic_prefix);
	status_payload(will, sizeof(will), "offline");
	d.mqtt = mqtt_new(d.loop, cfg, &cb, will_topic, will);
	if (d.mqtt == NULL)
		fatalx("cannot set up mqtt");

	uv_check_init(d.loop, &d.commit);
	uv_check_start(&d.commit, on_check);
	uv_timer_init(d.loop, &d.checkpoint);
	uv_timer_start(&d.checkpoint, on_checkpoint, CHECKPOINT_MS,
	    CHECKPOINT_MS);
	uv_timer_init(d.loop, &d.watchdog);
	if (sd_watchdog_enabled(0, &wd_usec) > 0)
		uv_timer_start(&d.watchdog, on_watchdog, wd_usec / 2000,
		    wd_usec / 2000);
	uv_timer_init(d.loop, &d.debounce);
	uv_signal_init(d.loop, &d.sigterm);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_init(d.loop, &d.sigint);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_init(d.loop, &d.sighup);
	uv_signal_start(&d.sighup, on_signal, SIGHUP);
	uv_fs_event_init(d.loop, &d.watch);
	rc = uv_fs_event_start(&d.watch, on_fs_event, cfg->access_dir, 0);
	if (rc < 0)
		log_warnx("watch %s: %s: reload with SIGHUP", cfg->access_dir,
		    uv_strerror(rc));

	system_event(&d, "start", "start", NULL);
	if (d.journal != NULL)
		journal_compat_commit(d.journal);
	mqtt_start(d.mqtt);
	log_counts(&d, "ready");
	sd_notify(0, "READY=1");
	log_batch(true);

	uv_run(d.loop, UV_RUN_DEFAULT);
	log_batch(false);

	/* Handles are closed; only the journal and memory remain. */
	journal_compat_close(d.journal);
	mqtt_free(d.mqtt);
	dedup_free(d.dedup);
	access_free(d.tables);
	free(d.out);
	uv_loop_close(d.loop);
	return 0;
}
