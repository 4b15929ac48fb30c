/*
 * rules.c - the access decision for pedestrian gates.  Coming in is
 * decided in full; going out needs at most a recognised identity, and a
 * gate set up as an exit opens for anyone, so nobody is trapped inside.
 */
#include <string.h>
#include <time.h>

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

static void
decide_visitor(const struct access_tables *t, const struct state *st,
    const struct rules_clock *c, struct rules_decision *d)
{
	const struct access_visitor *v = d->visitor;
	int64_t now = c->now_ms / 1000;

	if (now < v->from || now >= v->until) {
		deny(d, RULES_VISITOR_WINDOW);
		return;
	}
	d->entries_used = state_entries_used(st, access_str(t, v->id));
	if (d->entries_used >= v->entries) {
		deny(d, RULES_NO_ENTRIES);
		return;
	}
	d->uses_entry = true;
	allow(d, RULES_VISITOR);
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
	if (stale_ms > 0 && req->ts_ms != 0 &&
	    (c->now_ms - req->ts_ms > stale_ms ||
	        req->ts_ms - c->now_ms > stale_ms)) {
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
};

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
