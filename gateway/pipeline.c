/*
 * pipeline.c - routing a device's event to the rules of its class, and
 * what every pipeline shares: journaling a record and queuing a command
 * behind it, an alert's members and cool-down, bad and unknown input, a
 * device's status and its being offline for too long.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "config.h"
#include "datetime.h"
#include "htab.h"
#include "log.h"
#include "outbox.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

/*
 * Each class of device: the kind of record it makes, the pipeline its
 * events go to, and, where its pipeline cares, how it answers a request
 * it could not read, what a device's going offline or online means to
 * it, and what it does when its bus ends one of its commands.
 */
static const struct {
	const char *record_kind;
	void (*event)(struct pipeline *, const struct device *,
	    const struct event *);
	void (*rejected)(struct pipeline *, const struct device *,
	    const struct event *, const char *why);
	void (*online)(struct pipeline *, const struct device *, bool online);
	void (*command_done)(struct pipeline *, const struct device *,
	    const struct command *, enum bus_outcome, const char *why);
} classes[DEVICE_CLASS_MAX] = {
	[DEVICE_GATE] = { "access", gate_event, gate_rejected },
	[DEVICE_LPR] = { "vehicle", vehicle_event },
	[DEVICE_BARRIER] = { "vehicle", vehicle_event },
	[DEVICE_CHARGER] = { "charging", charging_event, charging_rejected,
	    charging_online, charging_command_done },
	[DEVICE_METER] = { "charging", charging_event },
	[DEVICE_FIRE] = { "alarm", fire_event, NULL, fire_online },
	[DEVICE_CAMERA] = { "camera", camera_event },
};

int
pipeline_record(struct pipeline *p, const struct journal_record *r,
    int64_t ts_ms)
{
	int rc;

	if (p->journal == NULL)
		return -1;
	rc = journal_append(p->journal, r, ts_ms);
	/* An alert opens or joins its incident in the same batch. */
	if (r->extra != NULL && json_object_get(r->extra, "alert") != NULL)
		incidents_alert(p, r, ts_ms);
	return rc;
}

/*
 * Held back by the cool-down of one this device raised before?  If not,
 * the cool-down runs from now.  Held back alerts do not extend it.
 */
static bool
held_back(struct state *st, const char *device, const char *type,
    const struct alert_settings *a, int64_t now)
{
	uint64_t key = htab_hash_pair(device, type);

	if (state_mark_within(state_mark_find(st->alerted, key), now,
	        (int64_t)a->cooldown_s * 1000))
		return true;
	state_mark_set(st->alerted, key, now);
	return false;
}

bool
pipeline_alert(struct pipeline *p, const char *device, const char *type,
    const struct alert_settings *a, json_t *extra, int64_t now)
{
	bool held = false;

	if (a == NULL)
		a = config_alert(p->cfg, type);
	if (a == NULL) /* a type alert.c does not know: a broken caller */
		return false;
	if (a->severity != ALERT_NONE)
		held = held_back(p->state, device, type, a, now);
	json_object_set_new(extra, "severity",
	    json_string(alert_severity_name(a->severity)));
	json_object_set_new(extra, "suppressed", json_boolean(held));
	if (a->severity == ALERT_NONE || held)
		return false;
	json_object_set_new(extra, "alert", json_string(type));
	return true;
}

/* Behind every row journaled so far: its decision's among them.  The
 * time of the decision goes with it: a bus drops an open it could not
 * carry out in time. */
void
pipeline_command(struct pipeline *p, const struct device *dev,
    const struct command *cmd)
{
	struct command c = *cmd;

	if (c.at_ms == 0)
		c.at_ms = mono_ms();
	outbox_command(p->outbox, p->journal ? journal_ticket(p->journal) : 0,
	    dev, &c);
}

void
pipeline_answer(struct pipeline *p, const char *topic, const char *request,
    const char *error)
{
	json_t *o =
	    json_pack("{s:s,s:b}", "request", request, "ok", error == NULL);
	char *text;

	if (o == NULL)
		return;
	if (error != NULL)
		json_object_set_new(o, "error", json_string(error));
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return;
	outbox_publish(p->outbox, p->journal ? journal_ticket(p->journal) : 0,
	    topic, text, strlen(text), 1, false);
	free(text);
}

void
pipeline_event(struct pipeline *p, const struct device *dev,
    const struct event *ev)
{
	if (classes[dev->driver->class].event == NULL) {
		log_debug("%s: no rules for its class yet", dev->id);
		return;
	}
	classes[dev->driver->class].event(p, dev, ev);
}

#define JUNK_MINUTE_MS 60000

static const char *
record_kind(const struct device *dev)
{
	const char *kind = classes[dev->driver->class].record_kind;

	return kind ? kind : "device";
}

/*
 * Is this message the first of its minute (journal it), or one more to
 * count?  sample: what the aggregate shows of the first one counted.
 */
static bool
junk_first(struct junk *j, int64_t now, const char *sample)
{
	if (j->since_ms == 0) {
		j->since_ms = now;
		j->count = 0;
		return true;
	}
	if (j->count++ == 0)
		str_copy(j->sample, sample, sizeof(j->sample));
	j->last_ms = now;
	return false;
}

/* The minute is over: one record for what it counted, if anything. */
static void
junk_flush(struct pipeline *p, struct junk *j, const char *kind,
    const char *device, const char *decision, int64_t now, bool all)
{
	char from[40], until[40];
	struct journal_record r = {
		.kind = kind,
		.device = device,
		.decision = decision,
		.reason = j->sample,
	};
	json_t *extra;

	if (j->since_ms == 0 || (now - j->since_ms < JUNK_MINUTE_MS && !all))
		return;
	if (j->count > 0) {
		datetime_format_rfc3339(j->since_ms, from, sizeof(from));
		datetime_format_rfc3339(j->last_ms, until, sizeof(until));
		extra = json_pack("{s:I,s:s,s:s}", "count",
		    (json_int_t)j->count, "from", from, "until", until);
		r.extra = extra;
		pipeline_record(p, &r, now);
		json_decref(extra);
	}
	j->since_ms = 0;
	j->count = 0;
}

/* ---- a device offline for too long ---- */

static void
offline_alert(struct pipeline *p, const struct device *dev,
    const struct alert_settings *a, int64_t since, int64_t now)
{
	char when[40], why[64];
	json_t *extra;
	bool alert;
	struct journal_record r = {
		.kind = "device",
		.device = dev->id,
		.decision = "offline_alert",
		.reason = why,
	};

	datetime_format_rfc3339(since, when, sizeof(when));
	if (state_device(p->state, dev->index)->online < 0)
		snprintf(why, sizeof(why), "not online within %d s of start",
		    a->grace_s);
	else
		snprintf(why, sizeof(why), "offline for more than %d s",
		    a->grace_s);
	extra = json_pack("{s:s}", "since", when);
	alert = pipeline_alert(p, dev->id, "device_offline", a, extra, now);
	r.extra = extra;
	log_warnx("%s: %s, since %s%s", dev->id, why, when,
	    alert ? "" : " (within its cool-down: no new alert)");
	pipeline_record(p, &r, now);
	json_decref(extra);
}

/*
 * Can anything tell the gateway that dev is online: its status on MQTT,
 * or its bus's polls?  A Frigate (a vendor topic) has no status of its
 * own unless someone publishes one; a Modbus device that is never polled
 * (a relay barrier without a loop) is heard from only when commanded.
 * Alerting those at every start would teach staff to ignore the alert.
 */
static bool
can_say_online(const struct device *dev)
{
	struct modbus_address a = { 0 };

	if (dev->driver->mqtt != NULL && dev->driver->mqtt->topic == NULL)
		return true;
	if (dev->driver->modbus == NULL)
		return false;
	dev->driver->modbus->address(dev, &a);
	return a.poll_ms != 0;
}

/*
 * Devices offline for longer than their grace, and those not heard
 * from that long after start (DESIGN §4.7: offline at start, or never
 * online, is alerted like any other).  A fire panel is urgent whatever
 * [alert device_offline] says (DESIGN §5: a fire_input that stops
 * answering is an urgent device_offline, never an alarm: nothing would
 * tell the gateway of a fire meanwhile).
 */
static void
offline_tick(struct pipeline *p, int64_t now)
{
	const struct alert_settings *a = config_alert(p->cfg, "device_offline");
	struct alert_settings fire = *a;
	const struct device *dev;
	struct device_state *ds;
	int64_t since;
	size_t i;

	fire.severity = ALERT_URGENT;
	for (i = 0; i < p->cfg->ndevices; i++) {
		dev = p->cfg->devices[i];
		ds = state_device(p->state, dev->index);
		/* Not heard from yet: offline since the first tick. */
		if (p->state->started_ms == 0 && ds->online < 0 &&
		    ds->offline_ms == 0 && can_say_online(dev))
			ds->offline_ms = now;
		if (ds->offline_ms == 0 ||
		    now - ds->offline_ms < (int64_t)a->grace_s * 1000)
			continue;
		since = ds->offline_ms;
		ds->offline_ms = 0; /* once, until it is back and gone again */
		/* Its going offline is journaled already: that is the
		 * evidence.  severity = none asks for no more, but of a
		 * fire device only. */
		if (dev->driver->class == DEVICE_FIRE)
			offline_alert(p, dev, &fire, since, now);
		else if (a->severity != ALERT_NONE)
			offline_alert(p, dev, a, since, now);
	}
	if (p->state->started_ms == 0)
		p->state->started_ms = now;
}

void
pipeline_tick(struct pipeline *p, int64_t now, bool stopping)
{
	const struct device *dev;
	struct device_state *ds;
	size_t i;

	for (i = 0; i < p->cfg->ndevices; i++) {
		dev = p->cfg->devices[i];
		ds = state_device(p->state, dev->index);
		junk_flush(p, &ds->rejected_junk, record_kind(dev), dev->id,
		    "rejected", now, stopping);
		junk_flush(p, &ds->duplicate_junk, record_kind(dev), dev->id,
		    "duplicate", now, stopping);
	}
	/* Unknown devices share one count: their ids are the attacker's. */
	junk_flush(p, &p->state->unknown_junk, "device", NULL, "rejected", now,
	    stopping);
	fire_tick(p, now);
	vehicle_tick(p, now);
	charging_tick(p, now);
	offline_tick(p, now);
}

void
pipeline_connected(struct pipeline *p)
{
	fire_connected(p);
	charging_connected(p);
}

void
pipeline_rejected(struct pipeline *p, const struct device *dev,
    const struct event *ev, const char *why)
{
	struct device_state *ds = state_device(p->state, dev->index);
	const char *request =
	    ev != NULL && *event_request(ev) ? event_request(ev) : NULL;
	struct journal_record r = {
		.kind = record_kind(dev),
		.device = dev->id,
		.request = request,
		.decision = "rejected",
		.reason = why,
	};
	int64_t now = now_ms();

	ds->rejected++;
	p->state->rejected++;
	if (log_ratelimit(&ds->warned_ms))
		log_warnx("%s: rejected a request: %s (%" PRIu64 " so far; "
		          "logged once a minute)",
		    dev->id, why, ds->rejected);
	if (junk_first(&ds->rejected_junk, now, why))
		pipeline_record(p, &r, now);
	if (request != NULL && classes[dev->driver->class].rejected)
		classes[dev->driver->class].rejected(p, dev, ev, why);
}

void
pipeline_duplicate(struct pipeline *p, const struct device *dev,
    const char *request, int64_t first_ms)
{
	struct device_state *ds = state_device(p->state, dev->index);
	struct journal_record r = {
		.kind = record_kind(dev),
		.device = dev->id,
		.request = request,
		.decision = "duplicate",
		.reason = "request id seen before",
	};
	int64_t now = now_ms();
	char when[40];
	json_t *extra;

	ds->duplicates++;
	datetime_format_rfc3339(first_ms, when, sizeof(when));
	if (log_ratelimit(&ds->duplicate_warned_ms))
		log_info("%-12s %-5s  request %s seen at %s: not acted on "
		         "again (%" PRIu64 " duplicates so far; logged once a "
		         "minute)",
		    dev->id, "dup", request, when, ds->duplicates);
	if (!junk_first(&ds->duplicate_junk, now, request))
		return;
	extra = json_pack("{s:s}", "first_seen", when);
	r.extra = extra;
	pipeline_record(p, &r, now);
	json_decref(extra);
}

void
pipeline_unknown(struct pipeline *p, const char *kind, const char *id,
    const char *sub)
{
	const struct driver *drv = driver_find_kind(kind);
	char sample[96];
	struct journal_record r = {
		.kind = "device",
		.device = id,
		.decision = "rejected",
		.reason = "unknown device",
	};

	/* Only kinds some driver speaks: anything else is not ours. */
	if (drv == NULL)
		return;
	if (classes[drv->class].record_kind)
		r.kind = classes[drv->class].record_kind;
	p->state->rejected++;
	if (log_ratelimit(&p->state->unknown_warned_ms))
		log_warnx("%s %s: a %s request from a device that is not in "
		          "%s (%" PRIu64 " bad requests so far; logged once a "
		          "minute)",
		    kind, id, sub, p->cfg->path, p->state->rejected);
	snprintf(sample, sizeof(sample), "unknown device %s", id);
	if (junk_first(&p->state->unknown_junk, now_ms(), sample))
		pipeline_record(p, &r, now_ms());
}

void
pipeline_status(struct pipeline *p, const struct device *dev,
    const void *payload, size_t len)
{
	struct device_state *ds = state_device(p->state, dev->index);

	if (len == 6 && memcmp(payload, "online", 6) == 0)
		pipeline_online(p, dev, true, "device online");
	else if (len == 7 && memcmp(payload, "offline", 7) == 0)
		pipeline_online(p, dev, false, "device offline");
	else {
		ds->rejected++;
		if (log_ratelimit(&ds->warned_ms))
			log_warnx("%s: status is neither online nor offline",
			    dev->id);
	}
}

void
pipeline_online(struct pipeline *p, const struct device *dev, bool online,
    const char *why)
{
	struct device_state *ds = state_device(p->state, dev->index);
	struct journal_record r = {
		.kind = "device",
		.device = dev->id,
		.decision = online ? "online" : "offline",
		.reason = why,
	};

	if (ds->online == (int)online)
		return;
	ds->online = online;
	ds->online_ms = now_ms();
	/* A flapping device is journaled each time, logged once a minute. */
	if (log_ratelimit(&ds->status_warned_ms))
		log_info("%-12s %s (%s)", dev->id, r.decision, why);
	pipeline_record(p, &r, now_ms());
	/* Back within its grace (a reboot): nothing to alert. */
	ds->offline_ms = online ? 0 : now_ms();
	if (online) {
		fire_device_back(p, dev);
		incidents_online(p, dev);
	}
	if (classes[dev->driver->class].online != NULL)
		classes[dev->driver->class].online(p, dev, online);
}

static const char *
command_name(enum command_action action)
{
	static const char *const names[COMMAND_ACTION_MAX] = {
		[COMMAND_OPEN] = "open",
		[COMMAND_DENY] = "deny",
		[COMMAND_HOLD_OPEN] = "hold_open",
		[COMMAND_NORMAL] = "normal",
		[COMMAND_PULSE] = "pulse",
		[COMMAND_CHARGER_START] = "charger start",
		[COMMAND_CHARGER_STOP] = "charger stop",
		[COMMAND_CHARGER_LIMIT] = "charger limit",
	};

	return action > 0 && action < COMMAND_ACTION_MAX && names[action] ?
	    names[action] :
	    "command";
}

void
pipeline_command_done(struct pipeline *p, const struct device *dev,
    const struct command *cmd, enum bus_outcome outcome, const char *why)
{
	struct journal_record r = {
		.kind = record_kind(dev),
		.device = dev->id,
		.request = cmd->request,
	};

	if (classes[dev->driver->class].command_done != NULL)
		classes[dev->driver->class].command_done(p, dev, cmd, outcome,
		    why);
	switch (outcome) {
	case BUS_DONE:
		log_debug("%s: %s carried out", dev->id,
		    command_name(cmd->action));
		return;
	case BUS_LATE:
		r.decision = "dropped";
		r.reason = COMMAND_LATE_TEXT;
		break;
	case BUS_REFUSED:
		r.decision = "refused";
		r.reason = why;
		break;
	}
	log_warnx("%s: %s %s: %s", dev->id, command_name(cmd->action),
	    r.decision, why);
	pipeline_record(p, &r, now_ms());
}

void
pipeline_problem(struct pipeline *p, const struct device *dev, const char *what)
{
	struct device_state *ds = state_device(p->state, dev->index);
	struct journal_record r = {
		.kind = "device",
		.device = dev->id,
		.decision = "problem",
		.reason = what,
	};

	if (!log_ratelimit(&ds->problem_warned_ms))
		return;
	log_warnx("%s: %s", dev->id, what);
	pipeline_record(p, &r, now_ms());
}
