/*
 * camera.c - the cameras' pipeline.  What a camera's analytics saw (a
 * native camera's event, a Frigate tracked object) is journaled as
 * evidence once per event id, from its first message at or above its
 * type's min_score, and raises an alert unless the same camera raised
 * one of the same type less than cooldown_s ago (pipeline_alert()).  Who
 * is told of an alert is not decided here: the record says that it is
 * one.  A camera offline for too long is every device's (pipeline.c).
 *
 * Records: kind "camera", device (a camera, or <frigate device>/<camera>),
 * request (the event's id), decision (the type), score, severity,
 * suppressed, alert (the type, only when the record raises one) and
 * snapshot (only with [privacy] keep_snapshots = yes).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "alert.h"
#include "config.h"
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

/* Journaled, and whether it raised an alert (pipeline_alert()). */
static bool
journal_event(struct pipeline *p, const char *camera,
    const struct camera_event *ce, const struct alert_settings *a, int64_t now)
{
	bool alert;
	json_t *extra = json_pack("{s:f}", "score", ce->score);
	struct journal_record r = {
		.kind = "camera",
		.device = camera,
		.request = ce->request,
		.decision = ce->type,
		.extra = extra,
	};

	alert = pipeline_alert(p, camera, ce->type, a, extra, now);
	if (p->cfg->keep_snapshots && ce->snapshot[0])
		json_object_set_new(extra, "snapshot",
		    json_string(ce->snapshot));
	pipeline_record(p, &r, now);
	json_decref(extra);
	return alert;
}

void
camera_event_at(struct pipeline *p, const struct device *dev,
    const struct event *ev, int64_t now)
{
	const struct camera_event *ce = &ev->u.camera;
	const struct alert_settings *a;
	struct state_mark *opened;
	char camera[CAMERA_DEVICE_MAX + 1];
	char scope[CAMERA_DEVICE_MAX + CAMERA_TYPE_MAX + 2];
	uint64_t key;
	int64_t first;
	bool alert;

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
	opened = state_mark_find(p->state->camera_opened, key);
	if (state_mark_within(opened, now, EVENT_MS)) {
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
		state_mark_set(p->state->camera_opened, key, now);
		if (!ce->updates)
			pipeline_duplicate(p, dev, ce->request, first);
		return;
	}
	state_mark_set(p->state->camera_opened, key, now);

	alert = journal_event(p, camera, ce, a, now);
	log_info("%-12s %-5s  %-17s %.2f %-8s %s%s", camera, "cam", ce->type,
	    ce->score,
	    a->severity != ALERT_NONE ? alert_severity_name(a->severity) :
	                                "evidence",
	    ce->request,
	    a->severity != ALERT_NONE && !alert ?
	        " (within its cool-down: no new alert)" :
	        "");
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
		state_mark_set(p->state->camera_opened,
		    event_key(device, request, decision), ts_ms);
	if (device != NULL && alert != NULL)
		state_mark_set(p->state->alerted, htab_hash_pair(device, alert),
		    ts_ms);
	json_decref(root);
}
