/*
 * charging.c - the charging points' pipeline (DESIGN §5, charging): each
 * port's readings into a state, a session journaled from start to end
 * with its energy and why it ended, the port cut off the moment it is
 * unsafe (too hot, too much current) or stopped when the battery is
 * full, and staff's start and stop requests answered on .../result.
 * Energy meters publish what they read.
 *
 * A cut-off acts first and journals after, as the fire release does: it
 * goes to the bus ahead of everything (outbox_command_now) and the bus
 * retries a stop until it is done.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "dedup.h"
#include "log.h"
#include "outbox.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

#define ANSWER_MS    5000 /* a staff request is answered within this */
#define CUT_AGAIN_MS 1000 /* a port still on after a cut: cut again */

static const char *const state_names[] = {
	[PORT_IDLE] = "idle",
	[PORT_PLUGGED] = "plugged",
	[PORT_CHARGING] = "charging",
	[PORT_FINISHED] = "finished",
	[PORT_FAULT] = "fault",
};

/* The port's live state (port from 1), or NULL for no such port. */
static struct port_live *
port_of(struct pipeline *p, const struct device *dev, unsigned port)
{
	struct device_state *ds = state_device(p->state, dev->index);

	return port >= 1 && port <= ds->nports ? &ds->ports[port - 1] : NULL;
}

int
charging_start(struct pipeline *p)
{
	const struct charger_settings *c;
	struct device_state *ds;
	size_t i;
	unsigned k;

	for (i = 0; i < p->cfg->ndevices; i++) {
		c = device_charger(p->cfg->devices[i]);
		if (c == NULL)
			continue;
		ds = state_device(p->state, p->cfg->devices[i]->index);
		ds->ports = calloc(c->ports, sizeof(*ds->ports));
		if (ds->ports == NULL)
			return -1;
		ds->nports = c->ports;
		for (k = 0; k < c->ports; k++) {
			ds->ports[k].state = -1;
			ds->ports[k].pub_state = -2; /* never published */
		}
	}
	return 0;
}

/* <prefix>/charger/<id>/<port>/<leaf> */
static void
port_topic(const struct pipeline *p, const struct device *dev, unsigned port,
    const char *leaf, char *buf, size_t size)
{
	snprintf(buf, size, "%s/charger/%s/%u/%s", p->cfg->topic_prefix,
	    dev->id, port, leaf);
}

/* The retained state, when it changed meaningfully: its state, power by
 * a tenth or 20 W, temperature by a degree. */
/* A retained state: o (taken) as compact JSON on topic. */
static void
publish_retained(struct pipeline *p, const char *topic, json_t *o)
{
	char *text = json_dumps(o,
	    JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));

	json_decref(o);
	if (text == NULL)
		return;
	outbox_publish(p->outbox, 0, topic, text, strlen(text), 1, true);
	free(text);
}

/* A power not worth publishing again: within 20 W, or a tenth, of the
 * last. */
static bool
power_near(double now_w, double was_w)
{
	return fabs(now_w - was_w) < fmax(20, 0.1 * fabs(was_w));
}

static void
publish_state(struct pipeline *p, const struct device *dev, unsigned port,
    struct port_live *pl, bool force)
{
	char topic[256];
	json_t *o;

	if (!force && pl->pub_state == pl->state &&
	    power_near(pl->power_w, pl->pub_power_w) &&
	    fabs(pl->temp_c - pl->pub_temp_c) < 1)
		return;
	pl->pub_state = pl->state;
	pl->pub_power_w = pl->power_w;
	pl->pub_temp_c = pl->temp_c;
	o = json_pack("{s:s,s:f,s:f,s:f,s:f}", "state",
	    pl->state < 0 ? "offline" : state_names[pl->state], "power_w",
	    round(pl->power_w), "current_a", round(pl->current_a * 100) / 100,
	    "temp_c", round(pl->temp_c * 10) / 10, "energy_wh",
	    round(pl->energy_wh));
	json_object_set_new(o, "session",
	    pl->session[0] ? json_string(pl->session) : json_null());
	port_topic(p, dev, port, "state", topic, sizeof(topic));
	publish_retained(p, topic, o);
}

/* A record of kind charging; its phase is the decision. */
static void
journal_port(struct pipeline *p, const struct device *dev, unsigned port,
    const char *phase, const char *reason, const char *request, json_t *extra)
{
	struct journal_record r = {
		.kind = "charging",
		.device = dev->id,
		.decision = phase,
		.reason = reason,
		.request = request,
		.extra = extra,
	};

	json_object_set_new(extra, "port", json_integer(port));
	pipeline_record(p, &r, now_ms());
	json_decref(extra);
}

static double
session_energy(const struct port_live *pl)
{
	/* A counter that restarted with the session reads from 0. */
	return pl->energy_wh >= pl->energy_start ?
	    pl->energy_wh - pl->energy_start :
	    pl->energy_wh;
}

static void
session_start(struct pipeline *p, const struct device *dev, unsigned port,
    struct port_live *pl, int64_t now)
{
	snprintf(pl->session, sizeof(pl->session), "%s-%u-%" PRId64, dev->id,
	    port, now);
	pl->started_ms = now;
	pl->energy_start = pl->energy_wh;
	pl->peak_power_w = pl->power_w;
	pl->peak_temp_c = pl->temp_c;
	pl->low_since_ms = 0;
	pl->stop_reason = NULL;
	log_info("%-12s port %u  charging started (%.0f W)", dev->id, port,
	    pl->power_w);
	journal_port(p, dev, port, "start", NULL, NULL,
	    json_pack("{s:s}", "session", pl->session));
}

/* The session ends: why, the measure that ended it, if any, and the
 * alert it is, if any. */
static void
session_end(struct pipeline *p, const struct device *dev, unsigned port,
    struct port_live *pl, const char *why, const char *what, double value,
    const char *alert)
{
	json_t *extra;

	if (pl->session[0] == '\0')
		return;
	extra = json_pack("{s:s,s:f,s:f,s:f,s:I}", "session", pl->session,
	    "energy_wh", round(session_energy(pl)), "peak_power_w",
	    round(pl->peak_power_w), "peak_temp_c",
	    round(pl->peak_temp_c * 10) / 10, "duration_s",
	    (json_int_t)((now_ms() - pl->started_ms) / 1000));
	if (what != NULL)
		json_object_set_new(extra, what, json_real(value));
	if (alert != NULL)
		pipeline_alert(p, dev->id, alert, NULL, extra, now_ms());
	log_info("%-12s port %u  charging ended: %s (%.0f Wh)", dev->id, port,
	    why, session_energy(pl));
	journal_port(p, dev, port, "end", why, NULL, extra);
	pl->session[0] = '\0';
	pl->stop_reason = NULL;
}

static void
stop_port(struct pipeline *p, const struct device *dev, unsigned port,
    const char *request, bool now)
{
	struct command cmd = {
		.action = COMMAND_CHARGER_STOP,
		.port = port,
		.request = request,
	};

	if (now)
		outbox_command_now(p->outbox, dev, &cmd);
	else
		pipeline_command(p, dev, &cmd);
}

/* Unsafe: off at once, then the record says what and how much, and
 * that it is an alert (why is its type: over_temperature, over_current). */
static void
cut(struct pipeline *p, const struct device *dev, unsigned port,
    struct port_live *pl, const char *why, const char *what, double value,
    double limit, int64_t now)
{
	json_t *extra;

	if (pl->cut_ms != 0 && now - pl->cut_ms < CUT_AGAIN_MS)
		return;
	pl->cut_ms = now;
	stop_port(p, dev, port, NULL, true);
	log_warnx("%-12s port %u  cut off: %s %.1f (limit %.1f)", dev->id, port,
	    why, value, limit);
	if (pl->session[0]) {
		session_end(p, dev, port, pl, why, what, value, why);
	} else {
		/* Switched back on while still hot, or before a session: the
		 * cut is journaled all the same. */
		extra = json_pack("{s:f}", what, value);
		pipeline_alert(p, dev->id, why, NULL, extra, now);
		journal_port(p, dev, port, "cut", why, NULL, extra);
	}
}

static void
telemetry(struct pipeline *p, const struct device *dev,
    const struct telemetry *t)
{
	const struct charger_settings *c = device_charger(dev);
	struct port_live *pl = port_of(p, dev, t->port);
	bool was_charging, charging;
	int64_t now = now_ms();
	json_t *extra;

	if (pl == NULL)
		return;
	was_charging = pl->session[0] != '\0';
	pl->state = (int)t->state;
	pl->enabled = t->enabled;
	pl->power_w = t->power_w;
	pl->current_a = t->current_a;
	pl->temp_c = t->temp_c;
	pl->energy_wh = t->energy_wh;
	charging = pl->state == PORT_CHARGING;
	if (was_charging) {
		pl->peak_power_w = fmax(pl->peak_power_w, pl->power_w);
		pl->peak_temp_c = fmax(pl->peak_temp_c, pl->temp_c);
	}

	/* A fault code, whatever the port is doing. */
	if (t->fault != 0 && t->fault != pl->fault) {
		log_warnx("%-12s port %u  fault code %u", dev->id, t->port,
		    t->fault);
		extra = json_pack("{s:i}", "fault", (int)t->fault);
		pipeline_alert(p, dev->id, "charger_fault", NULL, extra, now);
		journal_port(p, dev, t->port, "fault", "charger_fault", NULL,
		    extra);
	}
	pl->fault = t->fault;

	/* Safety first.  Cold is not heat: only above the limit counts. */
	if (pl->temp_c > c->max_temp_c)
		pl->hot = true;
	else if (pl->hot && pl->temp_c < c->max_temp_c)
		pl->hot = false;
	if (pl->hot && (pl->enabled || charging)) {
		cut(p, dev, t->port, pl, "over_temperature", "temp_c",
		    pl->temp_c, c->max_temp_c, now);
		charging = false;
	} else if (pl->current_a > c->max_current_a &&
	    (pl->enabled || charging)) {
		cut(p, dev, t->port, pl, "over_current", "current_a",
		    pl->current_a, c->max_current_a, now);
		charging = false;
	}

	if (charging && !was_charging && !pl->hot)
		session_start(p, dev, t->port, pl, now);
	else if (!charging && was_charging && pl->session[0])
		session_end(p, dev, t->port, pl,
		    pl->stop_reason                ? pl->stop_reason :
		        pl->state == PORT_IDLE     ? "unplugged" :
		        pl->state == PORT_FINISHED ? "full" :
		        pl->state == PORT_FAULT    ? "fault" :
		                                     "remote_stop",
		    NULL, 0, NULL);

	/* Full: below full_w for full_min, not a short dip. */
	if (charging && pl->session[0] && pl->power_w < c->full_w) {
		if (pl->low_since_ms == 0)
			pl->low_since_ms = now;
		else if (now - pl->low_since_ms >=
		    (int64_t)(c->full_min * 60000)) {
			stop_port(p, dev, t->port, NULL, true);
			session_end(p, dev, t->port, pl, "full", "power_w",
			    pl->power_w, NULL);
		}
	} else {
		pl->low_since_ms = 0;
	}
	publish_state(p, dev, t->port, pl, false);
}

/* ---- staff requests ---- */

static void
answer(struct pipeline *p, const struct device *dev, unsigned port,
    const char *request, const char *error)
{
	char topic[256];

	port_topic(p, dev, port, "result", topic, sizeof(topic));
	pipeline_answer(p, topic, request, error);
}

static void
refuse(struct pipeline *p, const struct device *dev,
    const struct charger_request *rq, const char *error)
{
	json_t *extra = json_pack("{s:s}", "action", rq->action_text);

	log_info("%-12s port %u  %s refused: %s", dev->id, rq->port,
	    rq->action_text, error);
	journal_port(p, dev, rq->port, "refused", error, rq->request, extra);
	answer(p, dev, rq->port, rq->request, error);
}

static void
request(struct pipeline *p, const struct device *dev,
    const struct charger_request *rq)
{
	const struct charger_settings *c = device_charger(dev);
	struct device_state *ds = state_device(p->state, dev->index);
	struct charger_pending *pend;
	struct port_live *pl;
	struct command cmd = { 0 };
	char error[160];
	int64_t first, now = now_ms();

	if (dedup_seen(p->state->dedup, dev->id, rq->request, now, &first)) {
		pipeline_duplicate(p, dev, rq->request, first);
		return;
	}
	pl = port_of(p, dev, rq->port);
	if (pl == NULL) {
		snprintf(error, sizeof(error),
		    "unknown port %u (ports 1 to %u)", rq->port, c->ports);
		refuse(p, dev, rq, error);
		return;
	}
	if (rq->action != COMMAND_CHARGER_START &&
	    rq->action != COMMAND_CHARGER_STOP) {
		snprintf(error, sizeof(error),
		    "unknown action '%s' (start or stop)", rq->action_text);
		refuse(p, dev, rq, error);
		return;
	}
	if (rq->action == COMMAND_CHARGER_START && rq->limit_a != 0 &&
	    !(rq->limit_a > 0 && rq->limit_a <= c->max_current_a)) {
		snprintf(error, sizeof(error),
		    "limit_a %g out of range (more than 0, at most %g)",
		    rq->limit_a, c->max_current_a);
		refuse(p, dev, rq, error);
		return;
	}
	if (ds->online == 0) {
		refuse(p, dev, rq, "station offline");
		if (rq->action == COMMAND_CHARGER_STOP)
			stop_port(p, dev, rq->port, NULL, false);
		return;
	}
	if (rq->action == COMMAND_CHARGER_START && pl->hot) {
		snprintf(error, sizeof(error),
		    "port %u is too hot (%.1f °C, limit %.1f °C): it stays off "
		    "until it cools",
		    rq->port, pl->temp_c, c->max_temp_c);
		refuse(p, dev, rq, error);
		return;
	}
	if (p->state->npending == STATE_PENDING_MAX) {
		refuse(p, dev, rq, "too many requests waiting: try again");
		return;
	}
	journal_port(p, dev, rq->port, "request", rq->action_text, rq->request,
	    rq->limit_a > 0 ? json_pack("{s:f}", "limit_a", rq->limit_a) :
	                      json_object());
	if (rq->action == COMMAND_CHARGER_STOP)
		pl->stop_reason = "remote_stop";
	pend = &p->state->pending[p->state->npending++];
	str_copy(pend->request, rq->request, sizeof(pend->request));
	pend->device = dev->index;
	pend->port = rq->port;
	pend->deadline_ms = now + ANSWER_MS;
	cmd.action = rq->action;
	cmd.port = rq->port;
	cmd.limit_a = rq->limit_a;
	cmd.request = rq->request;
	pipeline_command(p, dev, &cmd);
}

static struct charger_pending *
pending_find(struct pipeline *p, const struct device *dev, const char *request)
{
	size_t i;

	for (i = 0; request != NULL && i < p->state->npending; i++)
		if (p->state->pending[i].device == dev->index &&
		    strcmp(p->state->pending[i].request, request) == 0)
			return &p->state->pending[i];
	return NULL;
}

static void
pending_drop(struct pipeline *p, struct charger_pending *pend)
{
	*pend = p->state->pending[--p->state->npending];
}

void
charging_command_done(struct pipeline *p, const struct device *dev,
    const struct command *cmd, enum bus_outcome outcome, const char *why)
{
	struct charger_pending *pend = pending_find(p, dev, cmd->request);
	char error[200];

	if (pend == NULL)
		return;
	if (outcome == BUS_DONE) {
		answer(p, dev, pend->port, pend->request, NULL);
	} else {
		snprintf(error, sizeof(error), "%s: %s",
		    outcome == BUS_LATE ? "the station does not answer" :
		                          "the station refused it",
		    why);
		answer(p, dev, pend->port, pend->request, error);
	}
	pending_drop(p, pend);
}

/* ---- the station as a whole ---- */

void
charging_online(struct pipeline *p, const struct device *dev, bool online)
{
	struct device_state *ds = state_device(p->state, dev->index);
	unsigned i;

	if (ds->ports == NULL)
		return;
	for (i = 0; i < ds->nports; i++) {
		if (!online)
			session_end(p, dev, i + 1, &ds->ports[i], "offline",
			    NULL, 0, NULL);
		/* Read afresh when it answers again; meanwhile nothing is
		 * known to be drawn. */
		ds->ports[i].state = -1;
		ds->ports[i].hot = ds->ports[i].hot && online;
		if (online)
			continue;
		ds->ports[i].power_w = 0;
		ds->ports[i].current_a = 0;
		publish_state(p, dev, i + 1, &ds->ports[i], true);
	}
}

/* An energy meter: its retained state when its power or energy moved. */
static void
meter(struct pipeline *p, const struct device *dev, const struct telemetry *t)
{
	struct device_state *ds = state_device(p->state, dev->index);
	char topic[256];
	json_t *o;

	if (ds->meter_published && power_near(t->power_w, ds->meter_power_w) &&
	    fabs(t->energy_wh - ds->meter_energy_wh) < 10)
		return;
	ds->meter_published = true;
	ds->meter_power_w = t->power_w;
	ds->meter_energy_wh = t->energy_wh;
	o = json_pack("{s:f,s:f,s:f,s:f}", "voltage_v",
	    round(t->voltage_v * 10) / 10, "current_a",
	    round(t->current_a * 100) / 100, "power_w",
	    round(t->power_w * 10) / 10, "energy_wh", round(t->energy_wh));
	snprintf(topic, sizeof(topic), "%s/meter/%s/state",
	    p->cfg->topic_prefix, dev->id);
	publish_retained(p, topic, o);
}

void
charging_event(struct pipeline *p, const struct device *dev,
    const struct event *ev)
{
	if (ev->type == EVENT_TELEMETRY && device_charger(dev) != NULL)
		telemetry(p, dev, &ev->u.telemetry);
	else if (ev->type == EVENT_TELEMETRY)
		meter(p, dev, &ev->u.telemetry);
	else if (ev->type == EVENT_CHARGER_REQUEST)
		request(p, dev, &ev->u.charger);
}

/* A request its driver could not read: answered when its id and port
 * could be read. */
void
charging_rejected(struct pipeline *p, const struct device *dev,
    const struct event *ev, const char *why)
{
	if (ev->type != EVENT_CHARGER_REQUEST || ev->u.charger.port == 0)
		return;
	answer(p, dev, ev->u.charger.port, ev->u.charger.request, why);
}

/* The broker connection is (again) up: every port's and meter's
 * retained state is published afresh at its next reading (what was
 * published while it was down never left). */
void
charging_connected(struct pipeline *p)
{
	struct device_state *ds;
	size_t i;
	unsigned k;

	for (i = 0; i < p->cfg->ndevices; i++) {
		ds = state_device(p->state, p->cfg->devices[i]->index);
		ds->meter_published = false;
		for (k = 0; ds->ports != NULL && k < ds->nports; k++)
			ds->ports[k].pub_state = -2;
	}
}

/* About once a second: requests that got no answer in time. */
void
charging_tick(struct pipeline *p, int64_t now)
{
	struct charger_pending *pend;
	size_t i = 0;

	while (i < p->state->npending) {
		pend = &p->state->pending[i];
		if (now < pend->deadline_ms) {
			i++;
			continue;
		}
		answer(p, p->cfg->devices[pend->device], pend->port,
		    pend->request, "the station did not answer within 5 s");
		pending_drop(p, pend);
	}
}
