/*
 * camera.c - the cameras' pipeline.  What a camera's analytics saw (a
 * native camera's event, a Frigate tracked object) is journaled as
 * evidence once per event id, from its first message at or above its
 * type's min_score, and raises an alert unless the same camera raised
 * one of the same type less than cooldown_s ago; a camera offline for
 * longer than its grace is alerted as device_offline.  Who is told of an
 * alert is not decided here: the record says that it is one.
 *
 * Records: kind "camera", device (a camera, or <frigate device>/<camera>),
 * request (the event's id), decision (the type), score, severity,
 * suppressed, alert (the type, only when the record raises one) and
 * snapshot (only with [privacy] keep_snapshots = yes).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "alert.h"
#include "config.h"
#include "datetime.h"
#include "dedup.h"
#include "htab.h"
#include "log.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

/* An event id is known for an hour after its last message: a Frigate
 * object tracked for long (a bicycle parked in a corridor) stays one
 * event while it is reported. */
#define EVENT_MS 3600000LL

#define CAMERA_DEVICE_MAX (32 + 1 + CAMERA_NAME_MAX) /* nvr/<camera> */

/*
 * An event is its id and its type on a camera: a Frigate object first
 * seen as one type (a bicycle in a corridor) that later fits an entry
 * of another (the same bicycle entering the lift: bicycle@elevator) is
 * an event of that type too, not an update swallowed by the first.
 */
static uint64_t
event_key(const char *camera, const char *request, const char *type)
{
	return htab_hash_pair(camera, request) ^
	    (htab_hash_pair(type, "") * 31);
}

static struct camera_mark *
mark_find(struct camera_mark *v, uint64_t key)
{
	size_t i;

	for (i = 0; i < STATE_CAMERA_MARKS; i++)
		if (v[i].at_ms != 0 && v[i].key == key)
			return &v[i];
	return NULL;
}

/* key marked at at_ms, in its own slot, a free one, or the oldest. */
static void
mark_set(struct camera_mark *v, uint64_t key, int64_t at_ms)
{
	struct camera_mark *m = mark_find(v, key);
	size_t i;

	if (m == NULL) {
		m = &v[0];
		for (i = 0; i < STATE_CAMERA_MARKS && m->at_ms != 0; i++)
			if (v[i].at_ms < m->at_ms)
				m = &v[i];
	}
	m->key = key;
	m->at_ms = at_ms;
}

/* Within ms after the mark?  A clock stepped back ends it. */
static bool
mark_within(const struct camera_mark *m, int64_t now, int64_t ms)
{
	return m != NULL && now >= m->at_ms && now - m->at_ms < ms;
}

/*
 * Is an alert of this type from this camera held back by the cool-down
 * of one it raised before?  If not, the cool-down runs from now.  Held
 * back alerts do not extend it.
 */
static bool
held_back(struct state *st, const char *camera, const char *type,
    const struct alert_settings *a, int64_t now)
{
	uint64_t key = htab_hash_pair(camera, type);

	if (mark_within(mark_find(st->camera_alerted, key), now,
	        (int64_t)a->cooldown_s * 1000))
		return true;
	mark_set(st->camera_alerted, key, now);
	return false;
}

static void
journal_event(struct pipeline *p, const char *camera,
    const struct camera_event *ce, const struct alert_settings *a, bool alert,
    bool held, int64_t now)
{
	json_t *extra = json_pack("{s:f,s:s,s:b}", "score", ce->score,
	    "severity", alert_severity_name(a->severity), "suppressed", held);
	struct journal_record r = {
		.kind = "camera",
		.device = camera,
		.request = ce->request,
		.decision = ce->type,
		.extra = extra,
	};

	if (alert)
		json_object_set_new(extra, "alert", json_string(ce->type));
	if (p->cfg->keep_snapshots && ce->snapshot[0])
		json_object_set_new(extra, "snapshot",
		    json_string(ce->snapshot));
	pipeline_record(p, &r, now);
	json_decref(extra);
}

void
camera_event_at(struct pipeline *p, const struct device *dev,
    const struct event *ev, int64_t now)
{
	const struct camera_event *ce = &ev->u.camera;
	const struct alert_settings *a;
	struct camera_mark *opened;
	char camera[CAMERA_DEVICE_MAX + 1];
	char scope[CAMERA_DEVICE_MAX + CAMERA_TYPE_MAX + 2];
	uint64_t key;
	int64_t first;
	bool alert, held = false;

	if (ev->type != EVENT_CAMERA)
		return;
	a = config_alert(p->cfg, ce->type);
	if (a == NULL) { /* its driver let through what it should not */
		pipeline_rejected(p, dev, ev, "unknown camera type");
		return;
	}
	if (ce->camera[0])
		snprintf(camera, sizeof(camera), "%s/%s", dev->id, ce->camera);
	else
		str_copy(camera, dev->id, sizeof(camera));

	key = event_key(camera, ce->request, ce->type);
	opened = mark_find(p->state->camera_opened, key);
	if (mark_within(opened, now, EVENT_MS)) {
		first = opened->at_ms;
		opened->at_ms = now;
		if (!ce->updates)
			pipeline_duplicate(p, dev, ce->request, first);
		return;
	}
	/* Not kept; a later message of the same event may pass. */
	if (ce->score < a->min_score) {
		log_debug("%s: %s %s at %.2f: below its min_score %.2f", camera,
		    ce->type, ce->request, ce->score, a->min_score);
		return;
	}
	/* Seen before, its mark since pushed out of the table by others
	 * (camera_restore_row() brings back the marks of a restart). */
	snprintf(scope, sizeof(scope), "%s#%s", camera, ce->type);
	if (dedup_seen(p->state->dedup, scope, ce->request, now, &first)) {
		mark_set(p->state->camera_opened, key, now);
		if (!ce->updates)
			pipeline_duplicate(p, dev, ce->request, first);
		return;
	}
	mark_set(p->state->camera_opened, key, now);

	alert = a->severity != ALERT_NONE;
	if (alert)
		held = held_back(p->state, camera, ce->type, a, now);
	journal_event(p, camera, ce, a, alert && !held, held, now);
	log_info("%-12s %-5s  %-17s %.2f %-8s %s%s", camera, "cam", ce->type,
	    ce->score, alert ? alert_severity_name(a->severity) : "evidence",
	    ce->request, held ? " (within its cool-down: no new alert)" : "");
}

void
camera_event(struct pipeline *p, const struct device *dev,
    const struct event *ev)
{
	camera_event_at(p, dev, ev, now_ms());
}

/* ---- the cameras at start, from the journal ---- */

int64_t
camera_restore_since(const struct pipeline *p, int64_t now)
{
	int64_t back = EVENT_MS, ms;
	size_t i;

	for (i = 0; i < CAMERA_TYPES; i++) {
		ms =
		    (int64_t)config_alert(p->cfg, camera_types[i])->cooldown_s *
		    1000;
		if (ms > back)
			back = ms;
	}
	return now - back;
}

/*
 * A camera record: its event was opened then (an update of it after a
 * restart is not a second event), and, if it raised an alert, its
 * cool-down runs from then.  Oldest first, so the newest marks stay
 * when there are more than the table holds.
 */
void
camera_restore_row(void *arg, int64_t ts_ms, const char *body, size_t len)
{
	struct pipeline *p = arg;
	const char *device = NULL, *request = NULL, *decision = NULL;
	const char *alert = NULL;
	json_t *root = json_loadb(body, len, 0, NULL);

	if (root == NULL)
		return;
	json_unpack(root, "{s?s,s?s,s?s,s?s}", "device", &device, "request",
	    &request, "decision", &decision, "alert", &alert);
	if (device != NULL && request != NULL && decision != NULL &&
	    camera_type_known(decision))
		mark_set(p->state->camera_opened,
		    event_key(device, request, decision), ts_ms);
	if (device != NULL && alert != NULL)
		mark_set(p->state->camera_alerted,
		    htab_hash_pair(device, alert), ts_ms);
	json_decref(root);
}

/* ---- a camera (or a fire panel) offline ---- */

void
camera_online(struct pipeline *p, const struct device *dev, bool online)
{
	struct device_state *ds = state_device(p->state, dev->index);

	/* Back within its grace: a reboot, nothing to alert. */
	ds->offline_ms = online ? 0 : now_ms();
}

static void
offline_alert(struct pipeline *p, const struct device *dev,
    const struct alert_settings *a, int64_t since, int64_t now)
{
	char when[40], why[64];
	bool held = held_back(p->state, dev->id, "device_offline", a, now);
	json_t *extra;
	struct journal_record r = {
		.kind = "device",
		.device = dev->id,
		.decision = "offline_alert",
		.reason = why,
	};

	datetime_format_rfc3339(since, when, sizeof(when));
	snprintf(why, sizeof(why), "offline for more than %d s", a->grace_s);
	extra = json_pack("{s:s,s:s,s:b}", "since", when, "severity",
	    alert_severity_name(a->severity), "suppressed", held);
	if (!held)
		json_object_set_new(extra, "alert",
		    json_string("device_offline"));
	r.extra = extra;
	log_warnx("%s: offline since %s%s", dev->id, when,
	    held ? " (within its cool-down: no new alert)" : "");
	pipeline_record(p, &r, now);
	json_decref(extra);
}

/*
 * Cameras, and fire panels (DESIGN §5: a fire_input that stops answering
 * is an urgent device_offline, never an alarm: nothing would tell the
 * gateway of a fire meanwhile), offline for longer than their grace.
 */
void
camera_tick(struct pipeline *p, int64_t now)
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
		if ((dev->driver->class != DEVICE_CAMERA &&
		        dev->driver->class != DEVICE_FIRE) ||
		    ds->offline_ms == 0 ||
		    now - ds->offline_ms < (int64_t)a->grace_s * 1000)
			continue;
		since = ds->offline_ms;
		ds->offline_ms = 0; /* once, until it is back and gone again */
		/* Its going offline is journaled already: that is the
		 * evidence.  severity = none asks for no more, but of a
		 * camera only. */
		if (dev->driver->class == DEVICE_FIRE)
			offline_alert(p, dev, &fire, since, now);
		else if (a->severity != ALERT_NONE)
			offline_alert(p, dev, a, since, now);
	}
}
