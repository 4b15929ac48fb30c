/*
 * pipeline.c - routing a device's event to the rules of its class, and
 * what every pipeline shares: journaling a record and queuing a command
 * behind it, bad and unknown input, a device's status.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "outbox.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

/* Each class of device: its rules, and the kind of record it makes. */
static const struct {
	const char *record_kind;
	void (*rejected)(struct pipeline *, const struct device *,
	    const char *request, const char *why);
} classes[DEVICE_CLASS_MAX] = {
	[DEVICE_GATE] = { "access", gate_rejected },
};

int
pipeline_record(struct pipeline *p, const struct journal_record *r,
    int64_t ts_ms)
{
	char *json;

	if (p->journal == NULL ||
	    journal_append(p->journal, r, ts_ms, &json) < 0)
		return -1;
	outbox_record(p->outbox, p->ticket, r->kind, json, strlen(json));
	free(json);
	return 0;
}

void
pipeline_command(struct pipeline *p, const struct device *dev,
    const struct command *cmd)
{
	outbox_command(p->outbox, p->ticket, dev, cmd);
}

void
pipeline_event(struct pipeline *p, const struct device *dev,
    const struct event *ev)
{
	switch (ev->type) {
	case EVENT_ACCESS:
		if (dev->driver->class == DEVICE_GATE)
			gate_event(p, dev, &ev->u.access);
		break;
	default:
		/* Rules for plates, cameras, fire, telemetry and inputs
		 * come with their pipelines. */
		log_debug("%s: event %d has no rules yet", dev->id, ev->type);
		break;
	}
}

void
pipeline_rejected(struct pipeline *p, const struct device *dev,
    const char *request, const char *why)
{
	const char *kind = classes[dev->driver->class].record_kind;
	struct device_state *ds = state_device(p->state, dev->index);
	struct journal_record r = {
		.kind = kind ? kind : "device",
		.device = dev->id,
		.request = request,
		.decision = "rejected",
		.reason = why,
	};

	ds->rejected++;
	p->state->rejected++;
	if (log_ratelimit(&ds->warned_ms))
		log_warnx("%s: rejected a request: %s (%" PRIu64 " so far; "
		          "logged once a minute)",
		    dev->id, why, ds->rejected);
	pipeline_record(p, &r, now_ms());
	if (request != NULL && classes[dev->driver->class].rejected)
		classes[dev->driver->class].rejected(p, dev, request, why);
}

void
pipeline_unknown(struct pipeline *p, const char *kind, const char *id,
    const char *sub)
{
	const struct driver *drv = driver_find_kind(kind);
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
	pipeline_record(p, &r, now_ms());
}

void
pipeline_status(struct pipeline *p, const struct device *dev,
    const void *payload, size_t len)
{
	struct device_state *ds = state_device(p->state, dev->index);
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
		ds->rejected++;
		if (log_ratelimit(&ds->warned_ms))
			log_warnx("%s: status is neither online nor offline",
			    dev->id);
		return;
	}
	if (ds->online == online)
		return;
	ds->online = online;
	r.decision = online ? "online" : "offline";
	r.reason = online ? "device online" : "device offline";
	log_info("%-12s %s", dev->id, r.decision);
	pipeline_record(p, &r, now_ms());
}
