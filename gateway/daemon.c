/*
 * daemon.c - the running gateway on its libuv loop: start-up, MQTT
 * messages to drivers and pipelines, the end of each loop iteration
 * (commit, then let the outbox go), timers, signals and a clean stop.
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

#include "access.h"
#include "bus.h"
#include "care.h"
#include "config.h"
#include "control.h"
#include "daemon.h"
#include "dedup.h"
#include "driver.h"
#include "incident.h"
#include "log.h"
#include "mqtt.h"
#include "notify.h"
#include "office.h"
#include "outbox.h"
#include "pipeline.h"
#include "probe.h"
#include "reload.h"
#include "report_live.h"
#include "snapshot.h"
#include "state.h"
#include "topic.h"
#include "uplink.h"
#include "util.h"
#include "wechat.h"

#define TICK_MS 1000
/* Incidents kept at once: open ones, and resolved ones for answers. */
#define INCIDENTS_MAX 512
/* gateway/status again, for the sinks' backlogs. */
#define STATUS_EVERY_MS 10000

static void announce(struct daemon *);

static int
sink_publish(void *arg, const char *topic, const void *payload, size_t len,
    int qos, bool retain)
{
	struct daemon *d = arg;

	/* Written out at the end of this loop iteration (on_check), not
	 * when libmosquitto gets round to it: a fire release is sent from
	 * inside its message callback. */
	d->flush_due = true;
	control_published(d->control, topic, payload, len);
	return mqtt_publish(d->mqtt, topic, payload, len, qos, retain);
}

static int
sink_bus(void *arg, const struct device *dev, const struct command *cmd)
{
	struct daemon *d = arg;

	return buses_command(d->buses, dev, cmd);
}

/* What the buses' threads found, on the loop: to the pipelines. */
static void
on_bus_event(void *arg, const struct device *dev, const struct event *ev)
{
	struct daemon *d = arg;

	pipeline_event(&d->pipe, dev, ev);
}

static void
on_bus_status(void *arg, const struct device *dev, bool online, const char *why)
{
	struct daemon *d = arg;

	pipeline_online(&d->pipe, dev, online, why);
}

static void
on_bus_command(void *arg, const struct device *dev, const struct command *cmd,
    enum bus_outcome outcome, const char *why)
{
	struct daemon *d = arg;

	pipeline_command_done(&d->pipe, dev, cmd, outcome, why);
}

static bool
sink_held(void *arg)
{
	struct daemon *d = arg;

	return fire_holding(&d->pipe);
}

/* An open its journal batch held past its time: dropped, journaled. */
static void
sink_late(void *arg, const struct device *dev, const struct command *cmd)
{
	struct daemon *d = arg;

	pipeline_command_done(&d->pipe, dev, cmd, BUS_LATE,
	    "not sent: the journal took more than 2 s to commit its decision");
}

static void
on_bus_problem(void *arg, const struct device *dev, const char *what)
{
	struct daemon *d = arg;

	pipeline_problem(&d->pipe, dev, what);
}

/*
 * After every loop iteration's I/O: hand what it journaled to the
 * journal's thread as one batch.  What waits for that batch leaves when
 * the thread reports it (on_journal_done); what waits for nothing
 * leaves now.  The loop never waits for the disk.
 */
static void
on_check(uv_check_t *h)
{
	struct daemon *d = h->data;
	struct pipeline *p = &d->pipe;

	if (p->journal != NULL)
		journal_submit(p->journal);
	log_flush();
	if (outbox_pending(p->outbox) > 0) {
		outbox_release(p->outbox, d->done_through);
		d->flush_due = true;
	}
	if (d->flush_due) {
		d->flush_due = false;
		mqtt_flush(d->mqtt);
	}
}

/*
 * A batch is committed (or not: a full or broken disk): its commands
 * leave, then its records go out on <prefix>/events/<kind>.  A kill -9
 * can lose a command, never the record of one that was sent.  Even when
 * the journal failed, the gates are answered: locking residents out
 * helps nobody; the journal logs the failure.
 */
static void
on_journal_done(void *arg, uint64_t ticket, bool committed,
    const struct journal_row *rows, size_t n)
{
	struct daemon *d = arg;
	char topic[256];
	bool cork = n + outbox_pending(d->pipe.outbox) > 2, poke = false;
	size_t i;

	d->done_through = ticket;
	if (cork)
		mqtt_cork(d->mqtt, true);
	outbox_release(d->pipe.outbox, ticket);
	for (i = 0; committed && i < n; i++) {
		if (rows[i].json == NULL)
			continue;
		/* The robot's messages are incident and system records. */
		if ((d->wechat != NULL || d->report != NULL) &&
		    (strcmp(rows[i].kind, "incident") == 0 ||
		        strcmp(rows[i].kind, "system") == 0))
			poke = true;
		snprintf(topic, sizeof(topic), "%s/events/%s",
		    d->cfg->topic_prefix, rows[i].kind);
		mqtt_publish(d->mqtt, topic, rows[i].json, rows[i].len, 0,
		    false);
	}
	mqtt_flush(d->mqtt);
	if (cork)
		mqtt_cork(d->mqtt, false);
	if (poke) {
		wechat_poke(d->wechat);
		wechat_poke(d->report);
	}
	if (committed && n > 0) {
		office_poke(d->office, rows[n - 1].seq);
		uplink_poke(d->uplink, rows[n - 1].seq);
	}
}

/* The journal's own alert (journal_full): it journaled the record, the
 * incidents open on it. */
static void
on_journal_alert(void *arg, const struct journal_record *r, int64_t ts_ms)
{
	struct daemon *d = arg;

	incidents_alert(&d->pipe, r, ts_ms);
}

static void
load_visitor_entries(void *arg, const char *visitor, unsigned n)
{
	(void)state_entries_add(arg, visitor, n);
}

static void
load_request(void *arg, const char *device, const char *request, int64_t ts)
{
	int64_t first;

	dedup_seen(arg, device, request, ts, &first);
}

/* Whom the wellbeing checks watch, and since when (care.h). */
static void
restore_care(struct daemon *d)
{
	int64_t now = now_ms();
	const char *const *ids;
	size_t n;
	int rc;

	ids = care_begin(&d->pipe, now, &n);
	rc = journal_care_rows(d->pipe.journal, ids, n, care_restore_row,
	    &d->pipe);
	if (rc < 0)
		log_errx("journal: cannot read the wellbeing checks' records: "
		         "those watched are watched from now");
	care_start(&d->pipe, now, rc == 0);
}

/* What a restart must not forget: entries used, requests seen, the car
 * park's occupancy and visitors' stays, the fire release, cameras' events
 * and cool-downs. */
static int
load_journal_state(struct daemon *d)
{
	struct state *st = d->pipe.state;

	/* The fire release first, and whatever else fails: a restart
	 * during an alarm must come back holding. */
	if (journal_alarm_rows(d->pipe.journal, fire_restore, &d->pipe) < 0)
		log_errx(
		    "journal: cannot read the fire release's records: if "
		    "an alarm was on, the gates are held again only when a "
		    "fire device says alarm");
	/* Open incidents and their deadlines, and the next number. */
	if (journal_incident_rows(d->pipe.journal, incidents_restore_row,
	        &d->pipe) < 0)
		log_errx("journal: cannot read the incidents: open ones are "
		         "forgotten and numbers may be given again");
	restore_care(d);
	if (journal_visitor_entries(d->pipe.journal, load_visitor_entries, st) <
	        0 ||
	    journal_recent_requests(d->pipe.journal, now_ms() - DEDUP_WINDOW_MS,
	        load_request, st->dedup) < 0 ||
	    journal_vehicle_occupancy(d->pipe.journal, &st->occupancy) < 0 ||
	    journal_vehicle_rows(d->pipe.journal,
	        vehicle_restore_since(&d->pipe, now_ms()), vehicle_restore_row,
	        &d->pipe) < 0 ||
	    journal_camera_rows(d->pipe.journal,
	        camera_restore_since(&d->pipe, now_ms()), camera_restore_row,
	        &d->pipe) < 0)
		return -1;
	return 0;
}

static bool
clock_synchronised(void)
{
	struct timex tx = { 0 };
	int state = adjtimex(&tx);

	/* -1 (a seccomp filter that denies it: see the unit's
	 * ProtectClock=) is not known to be synchronised either. */
	return state >= 0 && state != TIME_ERROR && !(tx.status & STA_UNSYNC);
}

/* check_ts = auto follows the clock: a Pi without an RTC boots unsynced. */
static void
check_clock(struct daemon *d)
{
	int64_t stale;

	if (d->pipe.journal != NULL)
		journal_clock(d->pipe.journal, clock_synchronised());
	if (d->cfg->check_ts == CONFIG_CHECK_TS_YES)
		stale = (int64_t)d->cfg->stale_s * 1000;
	else if (d->cfg->check_ts == CONFIG_CHECK_TS_AUTO &&
	    clock_synchronised())
		stale = (int64_t)d->cfg->stale_s * 1000;
	else
		stale = 0;
	if (stale == d->pipe.stale_ms && d->clock_checked)
		return;
	if (d->cfg->check_ts == CONFIG_CHECK_TS_AUTO)
		log_info(stale ?
		        "the clock is synchronised: stale requests "
		        "are refused" :
		        "the clock is not known to be "
		        "synchronised: request timestamps are not checked");
	d->pipe.stale_ms = stale;
	d->clock_checked = true;
}

/*
 * About once a second: the clock's state, the aggregates of junk, and
 * whether access.d is still the directory watched.  The journal's own
 * timers (fdatasync, checkpoints, retries) run on its thread.
 */
static void
on_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;

	check_clock(d);
	pipeline_tick(&d->pipe, now_ms(), false);
	incidents_tick(&d->pipe, now_ms());
	care_tick(&d->pipe, now_ms());
	report_live_tick(&d->pipe, now_ms());
	reload_check(d->reload);
	/* The sinks' backlogs move all the time: the office watches them
	 * on the retained status, refreshed this often. */
	if (d->connected &&
	    (incidents_open(&d->pipe) != d->announced_open ||
	        ((d->office != NULL || d->uplink != NULL) &&
	            mono_ms() - d->announced_ms >= STATUS_EVERY_MS)))
		announce(d);
}

static void
on_watchdog(uv_timer_t *t)
{
	(void)t;
	notify_send("WATCHDOG=1");
}

static void
system_event(struct daemon *d, const char *decision, const char *reason)
{
	struct journal_record r = {
		.kind = "system",
		.decision = decision,
		.reason = reason,
	};

	pipeline_record(&d->pipe, &r, now_ms());
}

/* A message on a device's topic: its driver decodes, its pipeline acts. */
static void
device_message(struct daemon *d, const struct device *dev, const char *sub,
    const void *payload, size_t len)
{
	const struct driver_mqtt *m = dev->driver->mqtt;
	struct event ev;
	char err[160];
	enum driver_decode rc;

	if (m->decode == NULL)
		return; /* it subscribes to none of its own topics */
	if (len > d->cfg->max_payload) {
		snprintf(err, sizeof(err),
		    "payload of %zu bytes is over the limit of %zu", len,
		    d->cfg->max_payload);
		pipeline_rejected(&d->pipe, dev, NULL, err);
		return;
	}
	rc = m->decode(dev, sub, payload, len, &ev, err, sizeof(err));
	if (rc == DRIVER_IGNORE)
		return;
	if (rc == DRIVER_BAD) {
		pipeline_rejected(&d->pipe, dev, &ev, err);
		return;
	}
	pipeline_event(&d->pipe, dev, &ev);
}

/* The site's own requests: <prefix>/fire/reset and <prefix>/fire/test. */
static bool
staff_request(struct daemon *d, const char *topic, const void *payload,
    size_t len)
{
	static const char *const fire[] = { "reset", "test" };
	size_t i, n = strlen(d->cfg->topic_prefix);
	const char *what;
	char num[24];

	if (strncmp(topic, d->cfg->topic_prefix, n) != 0)
		return false;
	/* <prefix>/incident/<n>/ack or resolve. */
	if (strncmp(topic + n, "/incident/", 10) == 0 &&
	    (what = strchr(topic + n + 10, '/')) != NULL &&
	    (size_t)(what - (topic + n + 10)) < sizeof(num) &&
	    (strcmp(what, "/ack") == 0 || strcmp(what, "/resolve") == 0)) {
		snprintf(num, sizeof(num), "%.*s",
		    (int)(what - (topic + n + 10)), topic + n + 10);
		incidents_request(&d->pipe, num, what + 1, payload, len);
		return true;
	}
	if (strncmp(topic + n, "/fire/", 6) != 0)
		return false;
	for (i = 0; i < sizeof(fire) / sizeof(fire[0]); i++)
		if (strcmp(topic + n + 6, fire[i]) == 0) {
			fire_request(&d->pipe, fire[i], payload, len);
			return true;
		}
	return false;
}

static const char *
vendor_topic(const struct device *dev)
{
	return dev->driver->mqtt->topic(dev);
}

/* A message on a vendor's topic (Frigate's frigate/events): to every
 * device whose topic it is.  Whether there was one. */
static bool
vendor_message(struct daemon *d, const char *topic, const void *payload,
    size_t len)
{
	const char *t;
	bool found = false;
	size_t i;

	for (i = 0; i < d->nvendor; i++) {
		t = vendor_topic(d->vendor[i]);
		if (t != NULL && strcmp(t, topic) == 0) {
			device_message(d, d->vendor[i], topic, payload, len);
			found = true;
		}
	}
	return found;
}

static void
on_message(void *arg, const char *topic, const void *payload, size_t len)
{
	struct daemon *d = arg;
	struct device *dev;
	struct topic t;

	if (staff_request(d, topic, payload, len))
		return;
	if (d->nvendor > 0 && vendor_message(d, topic, payload, len))
		return;

	if (topic_split(d->cfg->topic_prefix, topic, &t) < 0) {
		/* log.c escapes what a topic could forge a line with. */
		log_debug("mqtt: not a device topic: %.80s", topic);
		return;
	}
	dev = config_device(d->cfg, t.id);
	if (dev != NULL &&
	    (dev->driver->mqtt == NULL ||
	        strcmp(dev->driver->mqtt->kind, t.kind) != 0))
		dev = NULL;
	if (strcmp(t.sub, "status") == 0) {
		if (dev != NULL)
			pipeline_status(&d->pipe, dev, payload, len);
		return;
	}
	if (dev == NULL) {
		pipeline_unknown(&d->pipe, t.kind,
		    utf8_valid(t.id, strlen(t.id)) && strlen(t.id) <= 64 ?
		        t.id :
		        "?",
		    t.sub);
		return;
	}
	device_message(d, dev, t.sub, payload, len);
}

/* The devices that read a vendor's topic, found once. */
static void
find_vendor_devices(struct daemon *d)
{
	const struct device *dev;
	size_t i;

	for (i = 0; i < d->cfg->ndevices; i++) {
		dev = d->cfg->devices[i];
		if (dev->driver->mqtt == NULL ||
		    dev->driver->mqtt->topic == NULL)
			continue;
		if (d->vendor == NULL) {
			d->vendor =
			    calloc(d->cfg->ndevices, sizeof(*d->vendor));
			if (d->vendor == NULL)
				fatalx("out of memory");
		}
		d->vendor[d->nvendor++] = dev;
	}
}

/*
 * Retained on <prefix>/gateway/status: "access" says which tables rule,
 * "wechat" whether the robot takes the alerts, "incidents" how many are
 * open.  The will says only offline.
 */
static void
status_payload(const struct daemon *d, char *buf, size_t size,
    const char *state)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "state", state, "version",
	    GATEWAY_VERSION, "access",
	    d->pipe.state->on_snapshot ? "snapshot" : "ok");
	json_t *sinks;
	char *text = NULL;

	if (o != NULL && strcmp(state, "online") == 0) {
		json_object_set_new(o, "broker_open", daemon_broker_open(d));
		json_object_set_new(o, "wechat",
		    d->cfg->wechat.key != NULL ?
		        wechat_status(d->wechat) :
		        json_pack("{s:s}", "state", "off"));
		json_object_set_new(o, "incidents",
		    json_pack("{s:I}", "open",
		        (json_int_t)incidents_open(&d->pipe)));
		sinks = json_object();
		if (d->office != NULL)
			json_object_set_new(sinks, "office",
			    office_status(d->office));
		if (d->uplink != NULL)
			json_object_set_new(sinks, "uplink",
			    uplink_status(d->uplink));
		if (json_object_size(sinks) > 0)
			json_object_set_new(o, "sinks", sinks);
		else
			json_decref(sinks);
	}
	if (o != NULL)
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL || strlen(text) >= size)
		snprintf(buf, size, "{\"state\":\"%s\"}", state);
	else
		snprintf(buf, size, "%s", text);
	free(text);
}

static void
announce(struct daemon *d)
{
	char topic[256], status[2048];

	d->announced_open = incidents_open(&d->pipe);
	d->announced_ms = mono_ms();
	snprintf(topic, sizeof(topic), "%s/gateway/status",
	    d->cfg->topic_prefix);
	status_payload(d, status, sizeof(status), "online");
	mqtt_publish(d->mqtt, topic, status, strlen(status), 1, true);
}

/* The office refuses the token, or a record: staff are told. */
static void
on_office_alert(void *arg, const char *why, int64_t seq)
{
	struct daemon *d = arg;
	const struct alert_settings *a =
	    config_alert(d->cfg, "delivery_failed");
	struct journal_record r = {
		.kind = "system",
		.device = "gateway",
		.decision = "delivery_failed",
		.reason = why,
	};
	char id[96];

	r.extra = json_pack("{s:s,s:s,s:s}", "sink", "office", "alert",
	    "delivery_failed", "severity", alert_severity_name(a->severity));
	if (r.extra != NULL && seq > 0) {
		snprintf(id, sizeof(id), "%s:%" PRId64, d->cfg->site, seq);
		json_object_set_new(r.extra, "record", json_string(id));
	}
	pipeline_record(&d->pipe, &r, now_ms());
	json_decref(r.extra);
}

json_t *
daemon_broker_open(const struct daemon *d)
{
	switch (probe_verdict(d->probe)) {
	case PROBE_OPEN:
		return json_true();
	case PROBE_CLOSED:
		return json_false();
	default:
		return json_null();
	}
}

/*
 * The broker let a client in without a password, or stopped doing so:
 * once per change, a warning and an alert (anyone on the compound's
 * Wi-Fi can open gates), and the status says so.
 */
static void
on_probe(void *arg, enum probe_verdict v)
{
	struct daemon *d = arg;
	struct journal_record r = {
		.kind = "system",
		.device = "gateway",
		.decision = "broker_open",
		.reason = "the broker accepts clients without a password: "
		          "anyone on the network can open gates (gatewayctl "
		          "broker)",
	};

	if (v == PROBE_OPEN) {
		log_warnx("security: the broker %s:%d lets clients in "
		          "without a password: anyone on the network can "
		          "open gates (see gatewayctl broker --help)",
		    d->cfg->mqtt_host, d->cfg->mqtt_port);
		r.extra = json_pack("{s:s,s:i}", "host", d->cfg->mqtt_host,
		    "port", d->cfg->mqtt_port);
		pipeline_alert(&d->pipe, "gateway", "broker_open", NULL,
		    r.extra, now_ms());
		pipeline_record(&d->pipe, &r, now_ms());
		json_decref(r.extra);
	} else {
		log_info("broker %s:%d: clients without a password are "
		         "refused",
		    d->cfg->mqtt_host, d->cfg->mqtt_port);
	}
	if (d->connected)
		announce(d);
}

/* A sink changed state: the status says so. */
static void
on_sink_changed(void *arg)
{
	struct daemon *d = arg;

	if (d->connected)
		announce(d);
}

/* After a reload: the status may no longer say "snapshot". */
static void
on_swapped(void *arg)
{
	struct daemon *d = arg;

	if (d->announced_snapshot && !d->pipe.state->on_snapshot) {
		d->announced_snapshot = false;
		announce(d);
	}
}

static void
on_connected(void *arg)
{
	struct daemon *d = arg;
	const struct driver *seen[16];
	size_t i, j, k, nseen = 0;
	char topic[256];

	/* One wildcard subscription per (kind, subtopic) of the drivers used.
	 */
	for (i = 0; i < d->cfg->ndevices; i++) {
		const struct driver *drv = d->cfg->devices[i]->driver;

		for (j = 0; j < nseen && seen[j] != drv; j++)
			;
		if (j < nseen || nseen == sizeof(seen) / sizeof(seen[0]) ||
		    drv->mqtt == NULL)
			continue;
		seen[nseen++] = drv;
		for (k = 0; drv->mqtt->subtopics[k]; k++) {
			snprintf(topic, sizeof(topic), "%s/%s/+/%s",
			    d->cfg->topic_prefix, drv->mqtt->kind,
			    drv->mqtt->subtopics[k]);
			mqtt_subscribe(d->mqtt, topic, 1);
		}
	}
	snprintf(topic, sizeof(topic), "%s/+/+/status", d->cfg->topic_prefix);
	mqtt_subscribe(d->mqtt, topic, 1);
	snprintf(topic, sizeof(topic), "%s/fire/reset", d->cfg->topic_prefix);
	mqtt_subscribe(d->mqtt, topic, 1);
	snprintf(topic, sizeof(topic), "%s/fire/test", d->cfg->topic_prefix);
	mqtt_subscribe(d->mqtt, topic, 1);
	snprintf(topic, sizeof(topic), "%s/incident/+/ack",
	    d->cfg->topic_prefix);
	mqtt_subscribe(d->mqtt, topic, 1);
	snprintf(topic, sizeof(topic), "%s/incident/+/resolve",
	    d->cfg->topic_prefix);
	mqtt_subscribe(d->mqtt, topic, 1);
	/* Vendors' own topics, each once however many devices read it. */
	for (i = 0; i < d->nvendor; i++) {
		const char *t = vendor_topic(d->vendor[i]);

		for (j = 0; t != NULL && j < i; j++)
			if (vendor_topic(d->vendor[j]) != NULL &&
			    strcmp(vendor_topic(d->vendor[j]), t) == 0)
				break;
		if (t != NULL && j == i)
			mqtt_subscribe(d->mqtt, t, 1);
	}

	/* Announced after the subscriptions: whoever sees "online" can ask.
	 * Queued: libmosquitto is in its callback; on_poll writes it. */
	pipeline_connected(&d->pipe);
	incidents_connected(&d->pipe);
	d->connected = true;
	/* The broker is there: is it closed to strangers? */
	probe_start(d->probe);
	announce(d);
	d->announced_snapshot = d->pipe.state->on_snapshot;
	notify_send("STATUS=connected to the broker");
}

/* What `systemctl status` shows must not say connected when it is not. */
static void
on_lost(void *arg)
{
	struct daemon *d = arg;

	d->connected = false;
	notify_send("STATUS=broker connection lost: reconnecting");
}

static void
log_counts(const struct daemon *d, const char *what)
{
	char summary[192];

	access_summary(d->pipe.tables, d->cfg, summary, sizeof(summary));
	log_info("%s: %s", what, summary);
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
	char topic[256], status[1024];

	if (d->stopping)
		return;
	d->stopping = true;
	log_info("stopping (%s)", why);
	notify_send("STOPPING=1");
	/* Each bus ends the transaction it is in; what it found since is
	 * dropped.  Before the journal closes: nothing comes after it. */
	buses_stop(d->buses);
	d->buses = NULL;
	report_live_stop();
	pipeline_tick(&d->pipe, now_ms(), true);
	system_event(d, "stop", why);
	/* A request to the robot in flight is abandoned at once: its
	 * message stays in the journal for the next start. */
	wechat_stop(d->wechat);
	d->wechat = NULL;
	wechat_stop(d->report);
	d->report = NULL;
	office_stop(d->office);
	d->office = NULL;
	uplink_stop(d->uplink);
	d->uplink = NULL;
	on_check(&d->commit);
	/* Everything committed and its commands and records out, then the
	 * journal closed: before the broker hears we are offline. */
	journal_stop(d->pipe.journal);
	d->pipe.journal = NULL;
	snprintf(topic, sizeof(topic), "%s/gateway/status",
	    d->cfg->topic_prefix);
	status_payload(d, status, sizeof(status), "offline");
	mqtt_stop(d->mqtt, topic, status);
	probe_stop(d->probe);
	close_handle((uv_handle_t *)&d->commit);
	close_handle((uv_handle_t *)&d->tick);
	close_handle((uv_handle_t *)&d->watchdog);
	close_handle((uv_handle_t *)&d->sigterm);
	close_handle((uv_handle_t *)&d->sigint);
	close_handle((uv_handle_t *)&d->sighup);
	control_close(d->control);
	d->control = NULL;
	reload_close(d->reload);
}

unsigned
daemon_reload(struct daemon *d, const char *why)
{
	/* Secret files are read again: a fixed key resumes. */
	wechat_rekey(d->wechat);
	wechat_rekey(d->report);
	office_rekey(d->office);
	return reload_start(d->reload, why);
}

void
daemon_inject(struct daemon *d, const char *topic, const void *payload,
    size_t len)
{
	on_message(d, topic, payload, len);
}

static void
on_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;

	if (signum == SIGHUP)
		(void)daemon_reload(d, "SIGHUP");
	else
		stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void
init_handle_data(struct daemon *d)
{
	d->commit.data = d;
	d->tick.data = d;
	d->watchdog.data = d;
	d->sigterm.data = d;
	d->sigint.data = d;
	d->sighup.data = d;
}

static void
snapshot_work(uv_work_t *w)
{
	struct daemon *d = w->data;

	(void)snapshot_save(d->cfg);
}

static void
snapshot_done(uv_work_t *w, int status)
{
	(void)w;
	(void)status;
}

/* The start: the tables in force, and where they came from. */
static void
started(struct daemon *d, size_t problems)
{
	char why[160];

	log_counts(d, "ready");
	if (problems == 0) {
		/* Kept off the loop's way: the gates are answered first. */
		d->snapshot_req.data = d;
		if (uv_queue_work(d->loop, &d->snapshot_req, snapshot_work,
		        snapshot_done) < 0)
			log_warnx("snapshot: cannot queue the copy of %s",
			    d->cfg->access_dir);
		system_event(d, "start", "start");
		return;
	}
	d->pipe.state->on_snapshot = true;
	snprintf(why, sizeof(why),
	    "access.d has %zu problems: started on the last good tables",
	    problems);
	system_event(d, "snapshot", why);
}

int
daemon_run(struct config *cfg, struct access_tables *tables, size_t problems)
{
	struct mqtt_callbacks cb = {
		.connected = on_connected,
		.lost = on_lost,
		.message = on_message,
	};
	struct daemon d = { 0 };
	struct outbox_sinks sinks = {
		.publish = sink_publish,
		.bus = sink_bus,
		.late = sink_late,
		.held = sink_held,
		.arg = &d,
	};
	struct bus_callbacks bcb = {
		.event = on_bus_event,
		.status = on_bus_status,
		.command = on_bus_command,
		.problem = on_bus_problem,
		.arg = &d,
	};
	char will_topic[256], will[1024];
	uint64_t wd_usec;

	const struct journal_sink jsinks[] = {
		{ .name = "office",
		    .filter = JOURNAL_ALL,
		    .configured = cfg->office.url != NULL },
		{ .name = "uplink",
		    .filter = JOURNAL_ALL,
		    .configured = cfg->uplink.host != NULL },
		{ .name = "wechat",
		    .filter = JOURNAL_NOTIFY,
		    .configured = cfg->wechat.key != NULL },
		/* [report]'s robot reads the robot's records too, and
		 * passes all but the report: delivered once both have. */
		{ .name = "report",
		    .filter = JOURNAL_NOTIFY,
		    .configured = cfg->report.key != NULL },
	};
	struct journal_options jopts = {
		.data_dir = cfg->data_dir,
		.site = cfg->site,
		.readers_gid = cfg->control.gid,
		.sync_full = cfg->sync == CONFIG_SYNC_FULL,
		.clock_unsynced = !clock_synchronised(),
		.keep_days = cfg->journal.keep_days,
		.max_bytes = (uint64_t)cfg->journal.max_mb << 20,
		.sinks = jsinks,
		.nsinks = sizeof(jsinks) / sizeof(jsinks[0]),
		.alert = on_journal_alert,
	};

	/* Reloads and snapshot copies are all the workers do: two are
	 * plenty (the journal and the buses have threads of their own). */
	setenv("UV_THREADPOOL_SIZE", "2", 0);
	d.cfg = cfg;
	d.started_ms = now_ms();
	d.started_mono_ms = mono_ms();
	d.pipe.cfg = cfg;
	d.pipe.tables = tables;
	d.loop = uv_default_loop();
	cb.arg = &d;
	init_handle_data(&d);
	find_vendor_devices(&d);

	d.pipe.state = state_new(cfg->ndevices);
	d.pipe.outbox = outbox_new(&sinks, cfg->topic_prefix);
	if (d.pipe.state != NULL)
		d.pipe.state->incidents =
		    incident_table_new(INCIDENTS_MAX, &cfg->incidents);
	if (d.pipe.state == NULL || d.pipe.outbox == NULL ||
	    d.pipe.state->incidents == NULL || charging_start(&d.pipe) < 0)
		fatalx("out of memory");
	/* One gatewayd per data_dir: two would be two writers of the
	 * journal (SQLite 3.40's WAL bug).  The journal says which. */
	d.pipe.journal = journal_start(d.loop, &jopts, on_journal_done, &d);
	if (d.pipe.journal == NULL)
		fatalx("cannot start the journal in %s", cfg->data_dir);
	if (load_journal_state(&d) < 0)
		log_errx(
		    "journal: cannot read visitors' entries, recent "
		    "requests, the car park and cameras' events: a visitor "
		    "may get entries again, the lot's occupancy may be "
		    "wrong, a camera may alert again within its "
		    "cool-down");
	/* The sinks: each reads its cursor, then sends, off the loop. */
	d.wechat = wechat_new(d.loop, cfg, d.pipe.journal,
	    cfg->report.key != NULL ? WECHAT_ALERTS : WECHAT_ALL,
	    on_sink_changed, &d);
	d.report = wechat_new(d.loop, cfg, d.pipe.journal, WECHAT_REPORTS,
	    on_sink_changed, &d);
	d.office = office_new(d.loop, cfg, d.pipe.journal, on_office_alert,
	    on_sink_changed, &d);
	d.uplink = uplink_new(d.loop, cfg, d.pipe.journal, on_sink_changed, &d);
	check_clock(&d);
	/* Never waits for a device: a bus that cannot be opened is tried
	 * again on its own thread. */
	d.buses = buses_start(d.loop, cfg, &bcb);
	if (d.buses == NULL)
		fatalx("cannot start the Modbus buses");

	snprintf(will_topic, sizeof(will_topic), "%s/gateway/status",
	    cfg->topic_prefix);
	status_payload(&d, will, sizeof(will), "offline");
	d.mqtt = mqtt_new(d.loop, cfg, &cb, will_topic, will);
	if (d.mqtt == NULL)
		fatalx("cannot set up mqtt");
	d.probe = probe_new(d.loop, cfg, on_probe, &d);
	if (d.probe == NULL)
		fatalx("out of memory");
	/* A restart during a fire alarm: the coils are held again at once,
	 * the gates once the broker is there. */
	fire_start(&d.pipe);

	uv_check_init(d.loop, &d.commit);
	uv_check_start(&d.commit, on_check);
	uv_timer_init(d.loop, &d.tick);
	uv_timer_start(&d.tick, on_tick, TICK_MS, TICK_MS);
	uv_timer_init(d.loop, &d.watchdog);
	/* Pinged at half the interval; never a 0 ms timer, which fires once. */
	if (notify_watchdog_usec(&wd_usec))
		uv_timer_start(&d.watchdog, on_watchdog,
		    wd_usec >= 2000 ? wd_usec / 2000 : 1,
		    wd_usec >= 2000 ? wd_usec / 2000 : 1);
	uv_signal_init(d.loop, &d.sigterm);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_init(d.loop, &d.sigint);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_init(d.loop, &d.sighup);
	uv_signal_start(&d.sighup, on_signal, SIGHUP);
	d.reload = reload_new(d.loop, &d.pipe, on_swapped, &d);
	if (d.reload == NULL)
		fatalx("out of memory");
	d.control = control_new(&d);
	if (d.control == NULL)
		fatalx("out of memory");

	started(&d, problems);
	/* The start's record committed (or the journal said it cannot be)
	 * before READY=1: a kill -9 after it loses no start. */
	journal_flush(d.pipe.journal);
	mqtt_start(d.mqtt);
	notify_send("READY=1");
	log_batch(true);

	uv_run(d.loop, UV_RUN_DEFAULT);
	log_batch(false);

	/* Handles are closed, the journal too (stop()): memory remains. */
	mqtt_free(d.mqtt);
	probe_free(d.probe);
	reload_free(d.reload);
	outbox_free(d.pipe.outbox);
	state_free(d.pipe.state);
	free(d.vendor);
	access_free((struct access_tables *)d.pipe.tables);
	uv_loop_close(d.loop);
	return 0;
}
