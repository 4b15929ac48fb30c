/*
 * incident_live.c - incidents on the loop (DESIGN 4.7): a record that
 * says it is an alert ("alert": its type) opens an incident or joins the
 * open one of its type on its device, in the same journal batch as the
 * record itself, so that both are there after a kill -9 or neither is;
 * staff acknowledge and resolve over MQTT; the deadlines re-alert and
 * escalate.  Each step is a record of kind incident (the WeChat sink
 * sends the ones that are messages) and the incident's retained state
 * follows it on <prefix>/incident/<n>/state.  incident.c decides; this
 * file journals, publishes and answers.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "datetime.h"
#include "incident.h"
#include "log.h"
#include "outbox.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

#define NOTE_MAX 200 /* bytes of a note kept */

/* What the alert record said that a message shows: who or what. */
static json_t *
event_of(const struct journal_record *r)
{
	static const char *const keep[] = { "plate", "port", "temp_c",
		"current_a", "score", "loop", "camera", NULL };
	json_t *o = json_object(), *v;
	size_t i;

	if (o == NULL)
		return NULL;
	if (r->subject_type != NULL || r->subject_id != NULL) {
		v = json_object();
		if (r->subject_type != NULL)
			json_object_set_new(v, "type",
			    json_string(r->subject_type));
		if (r->subject_id != NULL)
			json_object_set_new(v, "id",
			    json_string(r->subject_id));
		if (r->household != NULL)
			json_object_set_new(v, "household",
			    json_string(r->household));
		json_object_set_new(o, "subject", v);
	}
	if (r->reason != NULL)
		json_object_set_new(o, "reason", json_string(r->reason));
	for (i = 0; keep[i] != NULL; i++)
		if ((v = json_object_get(r->extra, keep[i])) != NULL)
			json_object_set(o, keep[i], v);
	return o;
}

static void
publish_state(struct pipeline *p, const struct incident *i)
{
	char topic[256], *text;
	json_t *o = incident_state_json(i);

	if (o == NULL)
		return;
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return;
	snprintf(topic, sizeof(topic), "%s/incident/%u/state",
	    p->cfg->topic_prefix, i->n);
	outbox_publish(p->outbox, p->journal ? journal_ticket(p->journal) : 0,
	    topic, text, strlen(text), 1, true);
	free(text);
}

/* One step's record: extra is taken. */
static void
step_record(struct pipeline *p, const char *device, const char *phase,
    const char *request, json_t *extra, int64_t now)
{
	struct journal_record r = {
		.kind = "incident",
		.device = device,
		.decision = phase,
		.request = request,
		.extra = extra,
	};

	pipeline_record(p, &r, now);
	json_decref(extra);
}

static json_t *
time_json(int64_t ms)
{
	char ts[40];

	datetime_format_rfc3339(ms, ts, sizeof(ts));
	return json_string(ts);
}

void
incidents_alert(struct pipeline *p, const struct journal_record *r,
    int64_t ts_ms)
{
	struct incident_table *t = p->state->incidents;
	const char *type =
	    json_string_value(json_object_get(r->extra, "alert"));
	const char *device = r->device != NULL ? r->device : "gateway";
	const struct alert_settings *a;
	struct incident_outcome out;
	json_t *extra;

	if (t == NULL || type == NULL ||
	    json_is_true(json_object_get(r->extra, "suppressed")))
		return;
	a = config_alert(p->cfg, type);
	if (a == NULL || a->severity == ALERT_NONE)
		return;
	out = incident_alert(t, type, device, a->severity, ts_ms);
	if (out.what == INCIDENT_IGNORED)
		return;
	if (out.what == INCIDENT_FULL) {
		/* Untracked, still sent: an alert lost to bookkeeping would
		 * be the one that mattered. */
		extra = json_pack("{s:s,s:I,s:s,s:s,s:b}", "phase", "open",
		    "incident", (json_int_t)0, "type", type, "severity",
		    alert_severity_name(a->severity), "ring",
		    a->severity == ALERT_URGENT);
		json_object_set_new(extra, "event", event_of(r));
		log_errx("incidents: the table is full of open incidents: a "
		         "%s on %s is sent but not tracked",
		    type, device);
		step_record(p, device, "open", NULL, extra, ts_ms);
		return;
	}
	extra = incident_record_extra(out.incident,
	    out.what == INCIDENT_OPENED ? "open" : "join", NULL);
	json_object_set_new(extra, "events",
	    json_integer(out.incident->events));
	if (out.what == INCIDENT_OPENED)
		json_object_set_new(extra, "ring", json_boolean(out.ring));
	json_object_set_new(extra, "event", event_of(r));
	step_record(p, device, out.what == INCIDENT_OPENED ? "open" : "join",
	    NULL, extra, ts_ms);
	if (out.what == INCIDENT_OPENED)
		log_info("incident #%u: %s on %s (%s)", out.incident->n, type,
		    device, alert_severity_name(out.incident->severity));
	publish_state(p, out.incident);
}

static void
due_step(void *arg, const struct incident *i, const char *phase, bool ring)
{
	struct pipeline *p = arg;
	json_t *extra = incident_record_extra(i, phase, NULL);

	json_object_set_new(extra, "ring", json_boolean(ring));
	json_object_set_new(extra, "events", json_integer(i->events));
	json_object_set_new(extra, "opened", time_json(i->opened_ms));
	log_warnx("incident #%u: %s on %s is %s: %s", i->n, i->type, i->device,
	    i->state == INCIDENT_OPEN ? "not acknowledged" : "not resolved",
	    phase);
	step_record(p, i->device, phase, NULL, extra, now_ms());
}

void
incidents_tick(struct pipeline *p, int64_t now_ms)
{
	struct incident_table *t = p->state->incidents;
	int64_t due;

	if (t == NULL)
		return;
	due = incident_next_due(t);
	if (due == 0 || due > now_ms)
		return;
	(void)incident_due(t, now_ms, due_step, p);
}

void
incidents_online(struct pipeline *p, const struct device *dev)
{
	struct incident_table *t = p->state->incidents;
	const struct incident *i;
	int64_t now = now_ms();

	if (t == NULL || (i = incident_online(t, dev->id, now)) == NULL)
		return;
	/* Noted; it stays open: a flapping device needs a look. */
	step_record(p, dev->id, "online", NULL,
	    incident_record_extra(i, "online", NULL), now);
}

/* <prefix>/incident/<n>/<what>: n as the topic gives it. */
static bool
number(const char *s, unsigned *n)
{
	long v;

	if (s[0] == '0' || parse_long(s, 1, (long)UINT32_MAX - 1, &v) < 0)
		return false;
	*n = (unsigned)v;
	return true;
}

void
incidents_request(struct pipeline *p, const char *n_text, const char *what,
    const void *payload, size_t len)
{
	struct incident_table *t = p->state->incidents;
	const char *id = NULL, *by = NULL, *note = NULL, *err = NULL;
	const struct incident *i;
	char topic[256], cut[NOTE_MAX + 1];
	json_t *root, *extra;
	unsigned n;
	int rc;

	root = json_loadb(payload, len, 0, NULL);
	if (t == NULL || root == NULL ||
	    json_unpack(root, "{s:s,s?s,s?s}", "id", &id, "operator", &by,
	        "note", &note) != 0 ||
	    id[0] == '\0' || strlen(id) > REQUEST_ID_MAX ||
	    !str_printable(id, strlen(id))) {
		/* No id to answer: counted, as any request nobody can read. */
		p->state->rejected++;
		if (log_ratelimit(&p->state->unknown_warned_ms))
			log_warnx("incident/%.16s/%s: a request without a "
			          "readable id is ignored",
			    n_text, what);
		json_decref(root);
		return;
	}
	snprintf(topic, sizeof(topic), "%s/incident/%.16s/result",
	    p->cfg->topic_prefix, n_text);
	if (!number(n_text, &n))
		err = "no such incident";
	else if (by == NULL || by[0] == '\0' || strlen(by) > 64 ||
	    !utf8_valid(by, strlen(by)))
		err = "who is it? an operator is needed";
	if (err != NULL) {
		pipeline_answer(p, topic, id, err);
		json_decref(root);
		return;
	}
	rc = strcmp(what, "ack") == 0 ?
	    incident_ack(t, n, by, now_ms(), &err) :
	    incident_resolve(t, n, by, now_ms(), &err);
	if (rc == 0 && (i = incident_find(t, n)) != NULL) {
		extra = incident_record_extra(i,
		    strcmp(what, "ack") == 0 ? "ack" : "resolve", by);
		if (note != NULL && utf8_valid(note, strlen(note))) {
			str_copy(cut, note, sizeof(cut));
			json_object_set_new(extra, "note", json_string(cut));
		}
		step_record(p, i->device,
		    strcmp(what, "ack") == 0 ? "ack" : "resolve", id, extra,
		    now_ms());
		log_info("incident #%u: %s by %s", n,
		    strcmp(what, "ack") == 0 ? "acknowledged" : "resolved", by);
		publish_state(p, i);
	}
	pipeline_answer(p, topic, id, rc < 0 ? err : NULL);
	json_decref(root);
}

void
incidents_restore_row(void *pipeline, int64_t ts_ms, const char *body,
    size_t len)
{
	struct pipeline *p = pipeline;

	if (p->state->incidents != NULL)
		(void)incident_restore(p->state->incidents, ts_ms, body, len);
}

static void
republish(void *arg, const struct incident *i)
{
	if (i->state != INCIDENT_RESOLVED)
		publish_state(arg, i);
}

void
incidents_connected(struct pipeline *p)
{
	if (p->state->incidents != NULL)
		incident_foreach(p->state->incidents, republish, p);
}

size_t
incidents_open(const struct pipeline *p)
{
	return p->state->incidents != NULL ?
	    incident_open_count(p->state->incidents) :
	    0;
}
