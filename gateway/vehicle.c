/*
 * vehicle.c - the car park's pipeline: a plate camera's read decided for
 * the barrier that names the camera (rules.c), journaled and answered
 * with an open pulse or a refusal; the barrier's loop detector counting
 * passages against grants (tailgating); the lot's occupancy; visitors'
 * stays timed (overstay).  What it knows is live state, rebuilt from the
 * journal's vehicle records at start (vehicle_restore).  An unknown or
 * denied plate refused coming in, a tailgating and an overstay are alerts
 * (rules_vehicle_alert(), pipeline_alert()): the record says so.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "config.h"
#include "datetime.h"
#include "dedup.h"
#include "log.h"
#include "pipeline.h"
#include "rules.h"
#include "state.h"
#include "util.h"

#define HOUR_MS 3600000LL
/* A passage this soon after a grant whose car has passed is a second
 * car behind the first; later, the barrier was opened some other way
 * (the guard's remote), which is journaled but alerts nobody. */
#define TAILGATE_MS 60000

static const char *
direction_name(enum direction d)
{
	return d == DIRECTION_OUT ? "out" : "in";
}

/* Occupancy moved by one car, never below zero. */
static void
occupancy_move(struct state *st, enum direction d)
{
	if (d == DIRECTION_IN)
		st->occupancy++;
	else if (st->occupancy > 0)
		st->occupancy--;
}

/* When a visitor's car that came in at since_ms overstays. */
static int64_t
stay_until(const struct config *cfg, const struct access_visitor *v,
    int64_t since_ms)
{
	int64_t until = v->until * 1000;

	if (cfg->visitor_max_hours > 0 &&
	    since_ms + cfg->visitor_max_hours * HOUR_MS < until)
		until = since_ms + cfg->visitor_max_hours * HOUR_MS;
	return until;
}

/* The plate a decision is about: the registered plate it matched, else
 * the read normalised, else the read as it came. */
static const char *
plate_key(const struct rules_vehicle *d)
{
	return d->matched == 1 ? d->match.plate : d->plate;
}

/* The subject of a vehicle record: a visitor, or a plate and its
 * household. */
static void
subject(const struct access_tables *t, const struct rules_vehicle *d,
    const char *read, struct journal_record *r)
{
	if (d->visitor != NULL) {
		r->subject_type = "visitor";
		r->subject_id = access_str(t, d->visitor->id);
		r->household = access_str(t, d->visitor->host);
		return;
	}
	r->subject_type = "plate";
	r->subject_id = plate_key(d)[0] ? plate_key(d) : read;
	if (d->vehicle != NULL && d->vehicle->household != 0)
		r->household = access_str(t, d->vehicle->household);
}

static void
journal_decision(struct pipeline *p, const struct device *barrier,
    const struct device *camera, const struct plate_read *read,
    const struct rules_vehicle *d, enum rules_reason overruled, bool repeat,
    bool moved, int64_t now)
{
	const struct access_tables *t = p->tables;
	char reason[64];
	json_t *extra = json_object();
	const char *alert = rules_vehicle_alert(d);
	struct journal_record r = {
		.kind = "vehicle",
		.device = barrier->id,
		.request = read->request,
		.decision = d->allow ? "allow" : "deny",
		.reason = rules_reason_code(d->reason),
		.direction = direction_name(d->direction),
		.extra = extra,
	};
	static const char *const plans[] = { [ACCESS_PLAN_MONTHLY] = "monthly",
		[ACCESS_PLAN_OWNER] = "owner",
		[ACCESS_PLAN_STAFF] = "staff" };

	subject(t, d, read->plate, &r);
	if (repeat) {
		r.reason = "repeat";
	} else if (d->reason == RULES_PLAN) {
		snprintf(reason, sizeof(reason), "%s plan",
		    plans[d->vehicle->plan]);
		r.reason = reason;
	}
	if (d->matched == 1 && d->reason != RULES_WRONG_WAY &&
	    d->reason != RULES_STALE)
		json_object_set_new(extra, "match",
		    json_string(d->match.fuzzy ? "fuzzy" : "exact"));
	if (d->visitor != NULL)
		json_object_set_new(extra, "plate", json_string(plate_key(d)));
	/* What the camera read, when it is not the plate it is taken for. */
	if (strcmp(read->plate, plate_key(d)) != 0)
		json_object_set_new(extra, "read", json_string(read->plate));
	json_object_set_new(extra, "camera", json_string(camera->id));
	json_object_set_new(extra, "confidence", json_real(read->confidence));
	if (read->color[0])
		json_object_set_new(extra, "color", json_string(read->color));
	if (moved)
		json_object_set_new(extra, "occupancy",
		    json_integer(p->state->occupancy));
	if (p->cfg->keep_snapshots && read->snapshot[0])
		json_object_set_new(extra, "snapshot",
		    json_string(read->snapshot));
	if (overruled)
		json_object_set_new(extra, "rules",
		    json_string(rules_reason_code(overruled)));
	if (alert != NULL)
		pipeline_alert(p, barrier->id, alert, NULL, extra, now);
	pipeline_record(p, &r, now);
	json_decref(extra);
}

/* What the camera read and who it was, for a guard's log line. */
static void
log_decision(const struct pipeline *p, const struct device *barrier,
    const struct plate_read *read, const struct rules_vehicle *d, bool repeat)
{
	const struct access_tables *t = p->tables;
	const char *who = "-";
	char why[96];

	if (d->visitor != NULL)
		who = access_str(t, d->visitor->host);
	else if (d->vehicle != NULL && d->vehicle->household != 0)
		who = access_str(t, d->vehicle->household);
	if (repeat)
		str_copy(why, "repeat: the car is still waiting", sizeof(why));
	else if (d->allow && d->reason == RULES_VISITOR)
		snprintf(why, sizeof(why), "visitor %s (entry %u of %u)",
		    access_str(t, d->visitor->id), d->entries_used + 1,
		    d->visitor->entries);
	else
		str_copy(why, rules_reason_code(d->reason), sizeof(why));
	log_info("%-12s %-5s  %-10s %-9s %s%s%s (%s, %d inside)", barrier->id,
	    d->allow ? "allow" : "deny",
	    plate_key(d)[0] ? plate_key(d) : read->plate, who, why,
	    d->match.fuzzy && d->matched == 1 ? ", fuzzy match of " : "",
	    d->match.fuzzy && d->matched == 1 ? read->plate : "",
	    direction_name(d->direction), p->state->occupancy);
}

/*
 * The same plate read again on the same lane within repeat_s of its
 * grant, before the car passed the loop: the car is still waiting (the
 * arm came down, or the first pulse was lost).  It is pulsed again and
 * counts no second entry.
 */
static bool
is_repeat(const struct pipeline *p, const struct lane_state *lane,
    const struct rules_vehicle *d, int64_t now)
{
	return lane->pending && d->allow && d->plate[0] &&
	    strcmp(lane->plate, plate_key(d)) == 0 &&
	    lane->grant_dir == d->direction &&
	    now - lane->grant_ms < (int64_t)p->cfg->repeat_s * 1000;
}

/* A grant's effects on the car park: entries, occupancy, stays. */
static bool
granted(struct pipeline *p, const struct barrier_settings *b,
    struct lane_state *lane, const struct rules_vehicle *d, int64_t now)
{
	const struct access_tables *t = p->tables;
	const char *plate = plate_key(d);
	bool moved = false;

	if (d->uses_entry &&
	    state_entries_add(p->state, access_str(t, d->visitor->id), 1) < 0)
		log_errx("out of memory: an entry of visitor %s not counted",
		    access_str(t, d->visitor->id));
	/* Without a loop the grant is the passage. */
	if (b->loop_input < 0) {
		occupancy_move(p->state, d->direction);
		moved = true;
	}
	if (d->direction == DIRECTION_IN && d->visitor != NULL &&
	    state_stay_begin(p->state, access_str(t, d->visitor->id), plate,
	        now, stay_until(p->cfg, d->visitor, now)) < 0)
		log_errx("visitor %s: the stay of %s is not timed (too many "
		         "cars inside, or out of memory)",
		    access_str(t, d->visitor->id), plate);
	if (d->direction == DIRECTION_OUT && plate[0])
		state_stay_end(p->state, plate);
	str_copy(lane->plate, plate, sizeof(lane->plate));
	lane->grant_ms = now;
	lane->grant_dir = d->direction;
	lane->pending = true;
	return moved;
}

static void
answer(struct pipeline *p, const struct device *barrier,
    const struct plate_read *read, const struct rules_vehicle *d)
{
	const struct barrier_settings *b = device_barrier(barrier);
	struct command cmd = { .request = read->request };
	char display[128];

	/* The fire release holds the barrier open by its coil: an open
	 * pulse (the board's flash) would let it go after open_ms. */
	if (fire_holding(p))
		return;
	if (d->allow) {
		cmd.action = COMMAND_OPEN;
		cmd.open_ms = b->open_ms;
	} else {
		cmd.action = COMMAND_DENY;
		cmd.reason = rules_reason_code(d->reason);
	}
	snprintf(display, sizeof(display), "%s %s",
	    plate_key(d)[0] ? plate_key(d) : read->plate,
	    rules_vehicle_display(d->reason));
	cmd.display = display;
	pipeline_command(p, barrier, &cmd);
}

void
vehicle_manual_open(struct pipeline *p, const struct device *barrier,
    int64_t now)
{
	struct lane_state *lane = &state_device(p->state, barrier->index)->lane;

	lane->plate[0] = '\0';
	lane->grant_ms = now;
	lane->grant_dir = device_barrier(barrier)->lane == DIRECTION_OUT ?
	    DIRECTION_OUT :
	    DIRECTION_IN;
	lane->pending = true;
}

static void
plate_event(struct pipeline *p, const struct device *camera,
    const struct event *ev)
{
	const struct plate_read *read = &ev->u.plate;
	const struct device *barrier = device_lpr(camera)->barrier;
	struct device_state *bs;
	struct rules_vehicle d;
	struct rules_clock clk;
	int64_t now = now_ms(), first;
	bool lot_full, repeat, moved = false;
	enum rules_reason overruled = 0;
	char why[96];

	if (dedup_seen(p->state->dedup, camera->id, read->request, now,
	        &first)) {
		pipeline_duplicate(p, camera, read->request, first);
		return;
	}
	if (barrier == NULL) {
		snprintf(why, sizeof(why), "no barrier names camera %s",
		    camera->id);
		pipeline_rejected(p, camera, ev, why);
		return;
	}
	bs = state_device(p->state, barrier->index);
	lot_full = p->cfg->parking_capacity > 0 &&
	    p->state->occupancy >= p->cfg->parking_capacity;
	rules_clock_at(now, &clk);
	rules_vehicle(p->tables, barrier, camera, p->state, read, &clk,
	    p->stale_ms, lot_full, &d);
	/* Denials are suspended from a fire alarm until its reset. */
	if (fire_release_reason(p) && !d.allow) {
		overruled = d.reason;
		d.allow = true;
		d.reason = (enum rules_reason)fire_release_reason(p);
		d.uses_entry = false;
	}
	repeat = is_repeat(p, &bs->lane, &d, now);
	if (repeat) {
		d.uses_entry = false;
		bs->lane.grant_ms = now;
	} else if (d.allow) {
		moved = granted(p, device_barrier(barrier), &bs->lane, &d, now);
	}
	journal_decision(p, barrier, camera, read, &d, overruled, repeat, moved,
	    now);
	log_decision(p, barrier, read, &d, repeat);
	answer(p, barrier, read, &d);
}

/* A vehicle record that is not a decision: passage, tailgating,
 * overstay (the last two alerts).  An overstay names no device: its
 * cool-down is the plate's. */
static void
journal_vehicle_event(struct pipeline *p, const struct device *dev,
    const char *event, const char *plate, const struct state_stay *stay,
    enum direction dir, bool moved, int64_t now)
{
	json_t *extra = json_pack("{s:s}", "event", event);
	struct journal_record r = {
		.kind = "vehicle",
		.device = dev ? dev->id : NULL,
		.direction = dir ? direction_name(dir) : NULL,
		.extra = extra,
	};

	if (stay != NULL) {
		r.subject_type = "visitor";
		r.subject_id = stay->visitor;
		json_object_set_new(extra, "plate", json_string(stay->plate));
	} else if (plate != NULL && plate[0]) {
		r.subject_type = "plate";
		r.subject_id = plate;
	}
	if (moved)
		json_object_set_new(extra, "occupancy",
		    json_integer(p->state->occupancy));
	if (strcmp(event, "passage") != 0)
		pipeline_alert(p, dev ? dev->id : stay->plate, event, NULL,
		    extra, now);
	pipeline_record(p, &r, now);
	json_decref(extra);
}

/*
 * The loop detector's level changed.  A car has passed when it leaves
 * the loop (closed, then open): that is the grant's car, or, with no
 * grant waiting, a second car behind the first.
 */
static void
loop_event(struct pipeline *p, const struct device *barrier,
    const struct input_levels *in)
{
	const struct barrier_settings *b = device_barrier(barrier);
	struct lane_state *lane = &state_device(p->state, barrier->index)->lane;
	int level, was = lane->loop;
	int64_t now = now_ms();
	enum direction dir;
	uint32_t bit;

	/* No loop: 1u << -1 is undefined, so the check comes first. */
	if (b->loop_input < 0)
		return;
	bit = 1u << b->loop_input;
	if (!(in->mask & bit))
		return;
	level = (in->levels & bit) != 0;
	lane->loop = level;
	if (!(was == 1 && level == 0))
		return;
	if (lane->pending) {
		lane->pending = false;
		occupancy_move(p->state, lane->grant_dir);
		log_info("%-12s %-5s  %-10s passed the loop (%d inside)",
		    barrier->id, "pass", lane->plate, p->state->occupancy);
		journal_vehicle_event(p, barrier, "passage", lane->plate, NULL,
		    lane->grant_dir, true, now);
		return;
	}
	/* No grant waits for this car: which way it went is the lane's,
	 * or the last grant's on a two-way lane. */
	dir = b->lane != DIRECTION_BOTH ? b->lane :
	    lane->grant_ms              ? lane->grant_dir :
	                                  0;
	if (dir)
		occupancy_move(p->state, dir);
	/* Held open for a fire, every car passes: none is tailgating. */
	if (lane->grant_ms != 0 && now - lane->grant_ms < TAILGATE_MS &&
	    !fire_holding(p)) {
		log_warnx("%-12s tailgating: a second car passed behind %s "
		          "(%d inside)",
		    barrier->id, lane->plate, p->state->occupancy);
		journal_vehicle_event(p, barrier, "tailgating", NULL, NULL, dir,
		    dir != 0, now);
		return;
	}
	log_info("%-12s a car passed with no grant (opened by hand?)",
	    barrier->id);
	journal_vehicle_event(p, barrier, "passage", NULL, NULL, dir, dir != 0,
	    now);
}

void
vehicle_event(struct pipeline *p, const struct device *dev,
    const struct event *ev)
{
	if (ev->type == EVENT_PLATE)
		plate_event(p, dev, ev);
	else if (ev->type == EVENT_INPUT && device_barrier(dev) != NULL)
		loop_event(p, dev, &ev->u.input);
}

void
vehicle_tick(struct pipeline *p, int64_t now)
{
	struct state_stay *stay;
	size_t i;
	char until[40];

	for (i = 0; i < p->state->nstays; i++) {
		stay = &p->state->stays[i];
		if (stay->alerted || now < stay->until_ms)
			continue;
		stay->alerted = true;
		datetime_format_rfc3339(stay->until_ms, until, sizeof(until));
		log_warnx("overstay: visitor %s's car %s should have left by "
		          "%s",
		    stay->visitor, stay->plate, until);
		journal_vehicle_event(p, NULL, "overstay", NULL, stay, 0, false,
		    now);
	}
}

/* ---- the car park at start, from the journal ---- */

void
vehicle_restore_row(void *arg, int64_t ts_ms, const char *body, size_t len)
{
	struct pipeline *p = arg;
	const struct access_visitor *v;
	const char *decision = NULL, *reason = NULL, *dir = NULL, *event = NULL;
	const char *type = NULL, *id = NULL, *plate = NULL;
	struct state_stay *stay;
	json_t *root = json_loadb(body, len, 0, NULL);

	if (root == NULL)
		return;
	json_unpack(root, "{s?s,s?s,s?s,s?s,s?s,s?{s?s,s?s}}", "decision",
	    &decision, "reason", &reason, "direction", &dir, "event", &event,
	    "plate", &plate, "subject", "type", &type, "id", &id);
	if (type != NULL && strcmp(type, "visitor") == 0 && plate != NULL) {
		if (event != NULL && strcmp(event, "overstay") == 0) {
			stay = state_stay_find(p->state, plate);
			if (stay != NULL)
				stay->alerted = true;
		} else if (decision != NULL && strcmp(decision, "allow") == 0 &&
		    dir != NULL &&
		    (reason == NULL || strcmp(reason, "repeat"))) {
			v = access_find_visitor(p->tables, id);
			if (strcmp(dir, "out") == 0)
				state_stay_end(p->state, plate);
			else if (v != NULL)
				state_stay_begin(p->state, id, plate, ts_ms,
				    stay_until(p->cfg, v, ts_ms));
		}
	}
	json_decref(root);
}

int64_t
vehicle_restore_since(const struct pipeline *p, int64_t now)
{
	return now -
	    (int64_t)(p->cfg->visitor_max_hours > 0 ?
	            p->cfg->visitor_max_hours :
	            24 * 31) *
	    HOUR_MS;
}
