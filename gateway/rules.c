/*
 * rules.c - the access decisions for pedestrian gates and barriers.
 * Coming in is decided in full; going out needs at most a recognised
 * identity at a gate, a plate read at a barrier, and an exit opens for
 * anyone, so nobody is trapped inside.
 */
#include <string.h>
#include <time.h>

#include "plate.h"
#include "rules.h"

void
rules_clock_at(int64_t ms, struct rules_clock *c)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	c->now_ms = ms;
	c->wday = tm.tm_wday;
	c->minute = tm.tm_hour * 60 + tm.tm_min;
	c->today =
	    (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static void
deny(struct rules_decision *d, enum rules_reason why)
{
	d->allow = false;
	d->reason = why;
}

static void
allow(struct rules_decision *d, enum rules_reason why)
{
	d->allow = true;
	d->reason = why;
}

static void
decide_person(const struct access_tables *t, const struct device *gate,
    const struct rules_clock *c, struct rules_decision *d)
{
	const struct access_person *p = d->person;
	const struct access_group *g, *near = NULL;
	unsigned i;

	if (p->valid_until != 0 && c->today > p->valid_until) {
		deny(d, RULES_EXPIRED);
		return;
	}
	for (i = 0; i < ACCESS_MAX_GROUPS; i++) {
		if (!(p->groups & ((uint64_t)1 << i)))
			continue;
		g = access_group(t, i);
		if (g == NULL || !access_group_allows_gate(g, gate->index))
			continue;
		if (schedule_allows(&g->hours, c->wday, c->minute)) {
			d->group = g;
			allow(d, RULES_GROUP);
			return;
		}
		if (near == NULL)
			near = g;
	}
	d->group = near;
	deny(d, near ? RULES_OUTSIDE_HOURS : RULES_WRONG_GATE);
}

/* A visitor coming in: within the window, with an entry left.  One
 * budget of entries, whether they come on foot or by car. */
static enum rules_reason
visit(const struct access_tables *t, const struct state *st,
    const struct access_visitor *v, const struct rules_clock *c, unsigned *used)
{
	int64_t now = c->now_ms / 1000;

	*used = 0;
	if (now < v->from || now >= v->until)
		return RULES_VISITOR_WINDOW;
	*used = state_entries_used(st, access_str(t, v->id));
	return *used >= v->entries ? RULES_NO_ENTRIES : RULES_VISITOR;
}

static void
decide_visitor(const struct access_tables *t, const struct state *st,
    const struct rules_clock *c, struct rules_decision *d)
{
	enum rules_reason r = visit(t, st, d->visitor, c, &d->entries_used);

	d->uses_entry = r == RULES_VISITOR;
	if (r == RULES_VISITOR)
		allow(d, r);
	else
		deny(d, r);
}

/* A device's timestamp further than stale_ms (> 0) from now. */
static bool
stale(int64_t ts_ms, const struct rules_clock *c, int64_t stale_ms)
{
	return stale_ms > 0 && ts_ms != 0 &&
	    (c->now_ms - ts_ms > stale_ms || ts_ms - c->now_ms > stale_ms);
}

/* A request that proves nothing (doubtful, stale) names nobody. */
static void
forget(struct rules_decision *d)
{
	d->person = NULL;
	d->visitor = NULL;
	d->deny = NULL;
}

/* Who the request names, and whether they are on the deny list. */
static void
identify(const struct access_tables *t, const struct access_request *req,
    struct rules_decision *d)
{
	const char *who;

	if (req->credential == CREDENTIAL_FACE) {
		d->person = access_find_person(t, req->subject);
		if (d->person == NULL)
			d->visitor =
			    access_find_visitor_person(t, req->subject);
	} else {
		d->person = access_find_card(t, req->subject);
		if (d->person == NULL)
			d->visitor = access_find_visitor_card(t, req->subject);
	}
	if (d->person == NULL && d->visitor == NULL) {
		d->deny = access_find_deny(t, req->subject);
		return;
	}
	who = d->person ? access_str(t, d->person->id) :
	                  access_str(t, d->visitor->person);
	d->deny = access_find_deny(t, who);
	if (d->deny == NULL && d->visitor != NULL)
		d->deny = access_find_deny(t, access_str(t, d->visitor->id));
	if (d->deny == NULL && req->credential == CREDENTIAL_CARD)
		d->deny = access_find_deny(t, req->subject);
}

void
rules_gate(const struct access_tables *t, const struct device *dev,
    const struct state *st, const struct access_request *req,
    const struct rules_clock *c, int64_t stale_ms, struct rules_decision *d)
{
	const struct gate_settings *gate = device_gate(dev);
	bool free_exit;

	memset(d, 0, sizeof(*d));
	/*
	 * Which way: a 'both' gate takes the terminal's word ("in" when it
	 * says nothing).  A one-way gate is that way, unless its terminal
	 * says otherwise: then one of the two is set up wrong, and the
	 * request is decided as coming in, the stricter way.
	 */
	if (gate->direction == DIRECTION_BOTH)
		d->direction = req->direction ? req->direction : DIRECTION_IN;
	else if (req->direction && req->direction != gate->direction)
		d->direction = DIRECTION_IN;
	else
		d->direction = gate->direction;
	free_exit =
	    gate->direction == DIRECTION_OUT && d->direction == DIRECTION_OUT;

	identify(t, req, d);
	/*
	 * A gate set up as an exit opens for anyone, the unknown, the
	 * denied and the doubtful included, whatever their clock says:
	 * nobody is trapped inside.  The journal says who it was as far as
	 * it is known, and the guard can follow up.
	 */
	if (free_exit) {
		allow(d, RULES_EXIT);
		return;
	}
	if (stale(req->ts_ms, c, stale_ms)) {
		forget(d);
		deny(d, RULES_STALE);
		return;
	}
	/* A doubtful match says nothing about who it is. */
	if (req->credential == CREDENTIAL_FACE &&
	    req->score < gate->min_score) {
		forget(d);
		deny(d, RULES_LOW_SCORE);
		return;
	}
	/*
	 * Going out through a two-way gate needs a recognised identity (a
	 * terminal's "out" there must not open for strangers), nothing
	 * more: not hours, windows, entries or valid_until, and not the
	 * deny list either: someone denied who is inside should leave.
	 */
	if (d->direction == DIRECTION_OUT && (d->person || d->visitor)) {
		allow(d, RULES_EXIT);
		return;
	}
	if (d->deny != NULL) {
		deny(d, RULES_DENIED);
		return;
	}
	if (d->person)
		decide_person(t, dev, c, d);
	else if (d->visitor)
		decide_visitor(t, st, c, d);
	else
		deny(d, RULES_UNKNOWN);
}

/* ---- vehicles ---- */

static void
vdeny(struct rules_vehicle *d, enum rules_reason why)
{
	d->allow = false;
	d->reason = why;
}

static void
vallow(struct rules_vehicle *d, enum rules_reason why)
{
	d->allow = true;
	d->reason = why;
}

/*
 * Which of the plate's visitors this is: the first who may come in now,
 * else the first within the window, else the first.  reason: what
 * coming in would be for them.
 */
static void
pick_visitor(const struct access_tables *t, const struct state *st,
    const struct rules_clock *c, struct rules_vehicle *d,
    enum rules_reason *reason)
{
	const struct access_visitor *v;
	enum rules_reason r, best = RULES_UNKNOWN;
	unsigned used;
	size_t i;

	for (i = 0; i < d->match.nvisitors; i++) {
		v = access_match_visitor(t, &d->match, i);
		r = visit(t, st, v, c, &used);
		if (d->visitor == NULL || r == RULES_VISITOR ||
		    (r == RULES_NO_ENTRIES && best == RULES_VISITOR_WINDOW)) {
			d->visitor = v;
			d->entries_used = used;
			best = r;
		}
		if (r == RULES_VISITOR)
			break;
	}
	*reason = best;
}

/* Who the plate is, and whether the deny list names it. */
static void
identify_plate(const struct access_tables *t, const struct state *st,
    const struct rules_clock *c, struct rules_vehicle *d,
    enum rules_reason *visitor_reason)
{
	*visitor_reason = RULES_UNKNOWN;
	if (d->plate[0] == '\0')
		return;
	d->deny = access_find_deny(t, d->plate);
	d->matched = access_match_plate(t, d->plate, &d->match);
	if (d->matched != 1)
		return;
	d->vehicle = d->match.vehicle;
	if (d->deny == NULL)
		d->deny = access_find_deny(t, d->match.plate);
	pick_visitor(t, st, c, d, visitor_reason);
	if (d->deny == NULL && d->visitor != NULL)
		d->deny = access_find_deny(t, access_str(t, d->visitor->id));
}

void
rules_vehicle(const struct access_tables *t, const struct device *barrier,
    const struct device *camera, const struct state *st,
    const struct plate_read *read, const struct rules_clock *c,
    int64_t stale_ms, bool lot_full, struct rules_vehicle *d)
{
	const struct barrier_settings *b = device_barrier(barrier);
	const struct lpr_settings *lpr = camera ? device_lpr(camera) : NULL;
	const struct access_vehicle *v;
	enum rules_reason visitor_reason;

	memset(d, 0, sizeof(*d));
	if (plate_normalise(read->plate, d->plate, sizeof(d->plate)) < 0)
		d->plate[0] = '\0';
	/* A both lane takes the camera's word, "in" when it has none; a
	 * one-way lane opens only its way. */
	d->direction = b->lane != DIRECTION_BOTH ? b->lane :
	    read->direction                      ? read->direction :
	                                           DIRECTION_IN;
	identify_plate(t, st, c, d, &visitor_reason);
	if (read->direction && b->lane != DIRECTION_BOTH &&
	    read->direction != b->lane) {
		vdeny(d, RULES_WRONG_WAY);
		return;
	}
	/* A read this old opens for a car that has gone, or another. */
	if (stale(read->ts_ms, c, stale_ms)) {
		vdeny(d, RULES_STALE);
		return;
	}
	/*
	 * Going out opens for any plate read, the unknown and the denied
	 * included: a car inside must be able to leave.  The journal says
	 * whose it was, as far as it is known.
	 */
	if (d->direction == DIRECTION_OUT) {
		vallow(d, RULES_EXIT);
		return;
	}
	if (lpr != NULL && read->confidence < lpr->min_confidence) {
		vdeny(d, RULES_LOW_CONFIDENCE);
		return;
	}
	if (d->deny != NULL) {
		vdeny(d, RULES_DENIED);
		return;
	}
	v = d->vehicle;
	if (v != NULL && (v->valid_until == 0 || c->today <= v->valid_until)) {
		d->visitor = NULL;
		vallow(d, RULES_PLAN);
		return;
	}
	if (d->visitor != NULL &&
	    (v == NULL || visitor_reason == RULES_VISITOR)) {
		if (visitor_reason == RULES_VISITOR && lot_full) {
			vdeny(d, RULES_FULL);
			return;
		}
		d->uses_entry = visitor_reason == RULES_VISITOR;
		d->vehicle = NULL;
		if (d->uses_entry)
			vallow(d, RULES_VISITOR);
		else
			vdeny(d, visitor_reason);
		return;
	}
	d->visitor = NULL;
	vdeny(d, v != NULL ? RULES_EXPIRED : RULES_UNKNOWN);
}

const char *
rules_vehicle_alert(const struct rules_vehicle *d)
{
	if (d->allow)
		return NULL;
	switch (d->reason) {
	case RULES_UNKNOWN:
		return "vehicle_unknown";
	case RULES_DENIED:
		return "vehicle_denied";
	default:
		return NULL;
	}
}

static const struct {
	const char *code;
	const char *display;
} reasons[] = {
	[RULES_GROUP] = { "group", "欢迎回家" },
	[RULES_VISITOR] = { "visitor", "欢迎来访" },
	[RULES_EXIT] = { "exit", "一路平安" },
	[RULES_UNKNOWN] = { "unknown", "未登记人员，请联系物业" },
	[RULES_DENIED] = { "denied", "禁止通行，请联系物业" },
	[RULES_EXPIRED] = { "expired", "通行授权已过期，请联系物业" },
	[RULES_LOW_SCORE] = { "low_score", "未能识别，请正对屏幕重试" },
	[RULES_OUTSIDE_HOURS] = { "outside_hours", "当前时段不可通行" },
	[RULES_WRONG_GATE] = { "wrong_gate", "无权从此门通行" },
	[RULES_VISITOR_WINDOW] = { "visitor_window", "不在预约访问时段" },
	[RULES_NO_ENTRIES] = { "no_entries", "访客通行次数已用完" },
	[RULES_STALE] = { "stale", "请求超时，请重试" },
	[RULES_PLAN] = { "plan", "欢迎回家" },
	[RULES_WRONG_WAY] = { "wrong_way", "单向车道，请勿逆行" },
	[RULES_FULL] = { "full", "车位已满，请稍候" },
	[RULES_LOW_CONFIDENCE] = { "low_confidence", "未能识别车牌，请稍候" },
	[RULES_FIRE_ALARM] = { "fire alarm", "消防报警，请通行" },
	[RULES_FIRE_TEST] = { "fire test", "消防测试，请通行" },
};

const char *
rules_vehicle_display(enum rules_reason r)
{
	switch (r) {
	case RULES_UNKNOWN:
		return "未登记车辆，请联系物业";
	case RULES_EXPIRED:
		return "月卡已过期，请联系物业";
	default:
		return reasons[r].display;
	}
}

const char *
rules_reason_code(enum rules_reason r)
{
	return reasons[r].code;
}

const char *
rules_reason_display(enum rules_reason r)
{
	return reasons[r].display;
}
