/*
 * explain.c - the rules' decisions for one person, card or plate, put in
 * words for staff with the file:line of the entry that decided.  It asks
 * rules_gate() and rules_vehicle() as a device would; it decides nothing
 * itself, so it can never disagree with the gates.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "datetime.h"
#include "explain.h"
#include "plate.h"
#include "util.h"

#define WORDS_MAX 384
#define WHERE_MAX 320

/* Who was asked about, as the tables know them. */
struct who {
	const char *text;      /* as asked */
	const char *by;        /* "id", "card", "person id", "plate" */
	char plate[PLATE_MAX]; /* what a barrier's camera reads; "" none */
	const struct access_person *person;
	const struct access_visitor *visitor;
	const struct access_vehicle *vehicle;
	const struct access_deny *deny; /* when nothing else names it */
	bool fuzzy; /* a plate that fits one registered plate as a misread */
	enum credential credential; /* at a gate; 0: none */
	const char *subject;        /* at a gate */
};

/* What a device's decision says, whichever rules made it. */
struct facts {
	bool allow;
	enum rules_reason reason;
	const struct access_person *person;
	const struct access_visitor *visitor;
	const struct access_vehicle *vehicle;
	const struct access_deny *deny;
	const struct access_group *group;
	unsigned entries_used;
	const char *plate; /* a barrier's, as normalised */
};

/* One device's answer, in words. */
struct verdict {
	bool allow;
	const char *code; /* rules_reason_code(), or explain's own */
	const char *overruled;
	const struct access_group *group;
	char words[WORDS_MAX];
	char where[WHERE_MAX]; /* "" when no entry decided */
};

struct ctx {
	const struct access_tables *t;
	const struct config *cfg;
	const struct state *st;
	const struct rules_clock *c;
	const struct who *w;
	int fire_reason;
};

/* Cut to whole characters: words are cut to size, and jansson takes
 * only UTF-8. */
static void
whole_chars(char *s)
{
	size_t i = 0, n, len = strlen(s);

	while (i < len) {
		n = utf8_char(s + i, len - i);
		if (n == 0)
			break;
		i += n;
	}
	s[i] = '\0';
}

static void say(struct verdict *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct verdict *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->words, sizeof(v->words), fmt, ap);
	va_end(ap);
	whole_chars(v->words);
}

static void
where(const struct ctx *x, const void *entry, struct verdict *v)
{
	access_where(x->t, entry, v->where, sizeof(v->where));
	whole_chars(v->where);
}

static void
where_device(const struct device *dev, struct verdict *v)
{
	if (dev->file != NULL)
		snprintf(v->where, sizeof(v->where), "%s:%d", dev->file,
		    dev->line);
	whole_chars(v->where);
}

/* ---- times and hours as staff write them ---- */

static void
date_text(int32_t yyyymmdd, char *buf, size_t size)
{
	snprintf(buf, size, "%04d-%02d-%02d", (int)(yyyymmdd / 10000),
	    (int)(yyyymmdd / 100 % 100), (int)(yyyymmdd % 100));
}

static const char *const day_names[7] = { "sun", "mon", "tue", "wed", "thu",
	"fri", "sat" };

/* Append to buf what fits. */
static void
append(char *buf, size_t size, const char *s)
{
	size_t n = strlen(buf);

	if (n < size)
		str_copy(buf + n, s, size - n);
}

/* Days as hours = writes them, Monday first: "mon-fri,sun". */
static void
days_text(uint8_t days, char *buf, size_t size)
{
	char part[16];
	int i, j, d;

	buf[0] = '\0';
	for (i = 0; i < 7; i = j) {
		d = (i + 1) % 7;
		j = i + 1;
		if (!(days & (1u << d)))
			continue;
		while (j < 7 && (days & (1u << ((j + 1) % 7))))
			j++;
		if (j - i == 1)
			snprintf(part, sizeof(part), "%s", day_names[d]);
		else
			snprintf(part, sizeof(part), "%s-%s", day_names[d],
			    day_names[j % 7]);
		if (buf[0] != '\0')
			append(buf, size, ",");
		append(buf, size, part);
	}
}

static void
hours_text(const struct schedule *s, char *buf, size_t size)
{
	const struct schedule_range *r;
	char part[64], days[40];
	unsigned i;

	if (s->always) {
		str_copy(buf, "always", size);
		return;
	}
	buf[0] = '\0';
	for (i = 0; i < s->n; i++) {
		r = &s->r[i];
		days_text(r->days, days, sizeof(days));
		snprintf(part, sizeof(part), "%s%s%02u:%02u-%02u:%02u",
		    r->days == 0x7f ? "" : days, r->days == 0x7f ? "" : " ",
		    r->start / 60u, r->start % 60u, r->end / 60u, r->end % 60u);
		if (i > 0)
			append(buf, size, ", ");
		append(buf, size, part);
	}
}

/* "22:14", or "sun 22:14" when the hours name days. */
static void
now_text(const struct schedule *s, const struct rules_clock *c, char *buf,
    size_t size)
{
	bool days = false;
	unsigned i;

	for (i = 0; i < s->n; i++)
		days = days || s->r[i].days != 0x7f;
	snprintf(buf, size, "%s%s%02d:%02d", days ? day_names[c->wday] : "",
	    days ? " " : "", c->minute / 60, c->minute % 60);
}

static const char *
plan_name(uint8_t plan)
{
	switch (plan) {
	case ACCESS_PLAN_OWNER:
		return "owner";
	case ACCESS_PLAN_STAFF:
		return "staff";
	default:
		return "monthly";
	}
}

/* ---- who it is ---- */

/* A visitor found: at a gate by their face or card, at a barrier by
 * their car. */
static void
found_visitor(const struct access_tables *t, struct who *w,
    const struct access_visitor *v, const char *by)
{
	w->visitor = v;
	w->by = by;
	w->credential = 0; /* a visitor who only comes by car */
	if (v->plate != 0)
		str_copy(w->plate, access_str(t, v->plate), sizeof(w->plate));
	if (strcmp(by, "card") == 0) {
		w->credential = CREDENTIAL_CARD;
		w->subject = w->text;
	} else if (v->person != 0) {
		w->credential = CREDENTIAL_FACE;
		w->subject = access_str(t, v->person);
	} else if (v->card != 0) {
		w->credential = CREDENTIAL_CARD;
		w->subject = access_str(t, v->card);
	}
}

/* A plate: a resident's car, or a visitor's; read as a camera may
 * misread it, as the barrier's rules do. */
static void
found_plate(const struct access_tables *t, struct who *w)
{
	struct access_plate_match m;

	w->by = "plate";
	w->credential = 0; /* a plate is asked of barriers only */
	if (access_match_plate(t, w->plate, &m) == 1) {
		w->fuzzy = m.fuzzy;
		w->vehicle = m.vehicle;
		if (m.vehicle == NULL && m.nvisitors > 0)
			w->visitor = access_match_visitor(t, &m, 0);
	}
	w->deny = access_find_deny(t, w->plate);
}

/* A plate starts with its province, as the [deny] ids that are plates
 * do (access_load.c): "P0001234" is an id, not a plate. */
static bool
is_plate(const char *text, char *plate, size_t size)
{
	return (unsigned char)text[0] >= 0x80 &&
	    plate_normalise(text, plate, size) == 0;
}

static void
identify(const struct access_tables *t, const char *text, struct who *w)
{
	const struct access_visitor *v;

	memset(w, 0, sizeof(*w));
	w->text = text;
	w->by = "id";
	w->credential = CREDENTIAL_FACE;
	/* Longer than any id a device sends: it could only match cut, so
	 * the gates are asked about nobody. */
	if (text[0] == '\0' || strlen(text) > SUBJECT_MAX) {
		w->subject = "";
		return;
	}
	w->person = access_find_person(t, text);
	if (w->person == NULL) {
		w->person = access_find_card(t, text);
		w->by = w->person ? "card" : "id";
	}
	if (w->person != NULL) {
		w->credential = strcmp(w->by, "card") == 0 ? CREDENTIAL_CARD :
		                                             CREDENTIAL_FACE;
		w->subject = text;
		return;
	}
	v = access_find_visitor(t, text);
	if (v != NULL) {
		found_visitor(t, w, v, "id");
		return;
	}
	v = access_find_visitor_person(t, text);
	if (v != NULL) {
		found_visitor(t, w, v, "person id");
		return;
	}
	v = access_find_visitor_card(t, text);
	if (v != NULL) {
		found_visitor(t, w, v, "card");
		return;
	}
	if (is_plate(text, w->plate, sizeof(w->plate))) {
		found_plate(t, w);
		return; /* a plate is asked of barriers, found or not */
	}
	/* Nobody by that id: the gates say whether a [deny] names it. */
	w->plate[0] = '\0';
	w->deny = access_find_deny(t, text);
	w->subject = text;
}

/* ---- a decision in words ---- */

static const char *
id_of(const struct ctx *x, const struct facts *f)
{
	if (f->person != NULL)
		return access_str(x->t, f->person->id);
	if (f->visitor != NULL)
		return access_str(x->t, f->visitor->id);
	if (f->plate != NULL && f->plate[0] != '\0')
		return f->plate;
	return x->w->text;
}

/* The names of a person's groups: "resident, cleaner". */
static void
groups_text(const struct access_tables *t, const struct access_person *p,
    char *buf, size_t size)
{
	const struct access_group *g;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < ACCESS_MAX_GROUPS; i++) {
		g = access_group(t, i);
		if (g == NULL || !(p->groups & ((uint64_t)1 << i)))
			continue;
		if (buf[0] != '\0')
			append(buf, size, ", ");
		append(buf, size, g->name);
	}
}

static void
visitor_words(const struct ctx *x, const struct facts *f, struct verdict *v)
{
	const struct access_visitor *vis = f->visitor;
	char from[32], until[32], now[32];

	datetime_format_local(vis->from, from, sizeof(from));
	datetime_format_local(vis->until, until, sizeof(until));
	datetime_format_local(x->c->now_ms / 1000, now, sizeof(now));
	where(x, vis, v);
	switch (f->reason) {
	case RULES_VISITOR:
		say(v,
		    "visitor %s (%s, visiting %s) may come in until %s: "
		    "this would be entry %u of %u",
		    access_str(x->t, vis->id), access_str(x->t, vis->name),
		    access_str(x->t, vis->host), until, f->entries_used + 1,
		    (unsigned)vis->entries);
		break;
	case RULES_VISITOR_WINDOW:
		say(v, "visitor %s may come in from %s until %s; it is %s",
		    access_str(x->t, vis->id), from, until, now);
		break;
	default: /* RULES_NO_ENTRIES */
		say(v, "visitor %s has used %u of %u entries",
		    access_str(x->t, vis->id), f->entries_used,
		    (unsigned)vis->entries);
		break;
	}
}

static void
person_words(const struct ctx *x, const struct device *dev,
    const struct facts *f, struct verdict *v)
{
	const struct access_person *p = f->person;
	char hours[160], now[32], groups[256];

	where(x, p, v);
	switch (f->reason) {
	case RULES_GROUP:
		hours_text(&f->group->hours, hours, sizeof(hours));
		say(v, "group %s lets %s in at %s (hours: %s)", f->group->name,
		    access_str(x->t, p->id), dev->id, hours);
		break;
	case RULES_EXPIRED:
		date_text(p->valid_until, hours, sizeof(hours));
		date_text(x->c->today, now, sizeof(now));
		say(v, "%s was valid until %s; it is %s",
		    access_str(x->t, p->id), hours, now);
		break;
	case RULES_OUTSIDE_HOURS:
		hours_text(&f->group->hours, hours, sizeof(hours));
		now_text(&f->group->hours, x->c, now, sizeof(now));
		say(v, "group %s lets in %s only; it is %s", f->group->name,
		    hours, now);
		where(x, f->group, v);
		break;
	default: /* RULES_WRONG_GATE */
		groups_text(x->t, p, groups, sizeof(groups));
		say(v, "no group of %s's (%s) has gate %s",
		    access_str(x->t, p->id), groups, dev->id);
		break;
	}
}

static void
vehicle_words(const struct ctx *x, const struct facts *f, struct verdict *v)
{
	const struct access_vehicle *car = f->vehicle;
	char until[32], today[32];

	where(x, car, v);
	date_text(car->valid_until, until, sizeof(until));
	date_text(x->c->today, today, sizeof(today));
	if (f->reason == RULES_EXPIRED)
		say(v, "the %s plan of %s lapsed after %s; it is %s",
		    plan_name(car->plan), access_str(x->t, car->plate), until,
		    today);
	else if (car->valid_until != 0)
		say(v, "%s has a %s plan (%s) valid until %s",
		    access_str(x->t, car->plate), plan_name(car->plan),
		    access_str(x->t, car->household), until);
	else
		say(v, "%s has a %s plan (%s)", access_str(x->t, car->plate),
		    plan_name(car->plan), access_str(x->t, car->household));
}

/* Nobody the tables know. */
static void
unknown_words(const struct ctx *x, const struct facts *f, struct verdict *v)
{
	if (f->plate != NULL && f->plate[0] != '\0')
		say(v, "no file in access.d names plate %s", f->plate);
	else
		say(v, "no file in access.d names %s", x->w->text);
}

static void
device_words(const struct ctx *x, const struct device *dev,
    const struct facts *f, struct verdict *v)
{
	const struct access_visitor *vis = f->visitor;

	where_device(dev, v);
	switch (f->reason) {
	case RULES_EXIT:
		say(v, "%s is an exit: it opens for anyone going out", dev->id);
		break;
	case RULES_WRONG_WAY:
		say(v, "%s is an out lane: no car comes in through it",
		    dev->id);
		break;
	case RULES_FULL:
		say(v,
		    "the car park is full (%d of %d spaces taken): visitors "
		    "wait, residents still pass",
		    x->st->occupancy, x->cfg->parking_capacity);
		if (vis != NULL)
			where(x, vis, v);
		break;
	default: /* what the device reported, never asked here */
		say(v, "%s: %s", dev->id, rules_reason_code(f->reason));
		break;
	}
}

static void
describe(const struct ctx *x, const struct device *dev, const struct facts *f,
    struct verdict *v)
{
	v->allow = f->allow;
	v->code = rules_reason_code(f->reason);
	switch (f->reason) {
	case RULES_GROUP:
	case RULES_EXPIRED:
	case RULES_OUTSIDE_HOURS:
	case RULES_WRONG_GATE:
		v->group = f->group;
		if (f->person != NULL)
			person_words(x, dev, f, v);
		else
			vehicle_words(x, f, v);
		break;
	case RULES_PLAN:
		vehicle_words(x, f, v);
		break;
	case RULES_VISITOR:
	case RULES_VISITOR_WINDOW:
	case RULES_NO_ENTRIES:
		visitor_words(x, f, v);
		break;
	case RULES_DENIED:
		say(v, "%s is on the deny list: %s", id_of(x, f),
		    access_str(x->t, f->deny->reason));
		where(x, f->deny, v);
		break;
	case RULES_UNKNOWN:
		unknown_words(x, f, v);
		break;
	default:
		device_words(x, dev, f, v);
		break;
	}
}

/* While the fire release holds, every refusal is an open. */
static void
fire_overrule(int fire_reason, struct verdict *v)
{
	char was[WORDS_MAX];

	if (fire_reason == 0 || v->allow)
		return;
	str_copy(was, v->words, sizeof(was));
	v->overruled = v->code;
	v->allow = true;
	v->code = rules_reason_code((enum rules_reason)fire_reason);
	say(v, "%s: every gate and barrier is held open%s; without it: %s",
	    fire_reason == RULES_FIRE_TEST ? "fire test" : "fire alarm",
	    fire_reason == RULES_FIRE_TEST ? " until the test ends" :
	                                     " until staff reset it",
	    was);
}

/* ---- asking the devices ---- */

static void
ask_gate(const struct ctx *x, const struct device *dev, struct verdict *v)
{
	struct access_request req = { .score = device_gate(dev)->min_score };
	struct rules_decision d;
	struct facts f;

	/* The gate's own way: in, or out for an exit. */
	req.credential = x->w->credential;
	str_copy(req.subject, x->w->subject, sizeof(req.subject));
	rules_gate(x->t, dev, x->st, &req, x->c, 0, &d);
	f = (struct facts){
		.allow = d.allow,
		.reason = d.reason,
		.person = d.person,
		.visitor = d.visitor,
		.deny = d.deny,
		.group = d.group,
		.entries_used = d.entries_used,
	};
	describe(x, dev, &f, v);
}

static void
ask_barrier(const struct ctx *x, const struct device *dev, struct verdict *v)
{
	const struct device *camera = device_barrier(dev)->camera;
	struct plate_read read = { .direction = DIRECTION_IN };
	struct rules_vehicle d;
	struct facts f;
	bool full = x->cfg->parking_capacity > 0 &&
	    x->st->occupancy >= x->cfg->parking_capacity;

	str_copy(read.plate, x->w->plate, sizeof(read.plate));
	read.confidence =
	    camera != NULL ? device_lpr(camera)->min_confidence : 1.0;
	rules_vehicle(x->t, dev, camera, x->st, &read, x->c, 0, full, &d);
	f = (struct facts){
		.allow = d.allow,
		.reason = d.reason,
		.visitor = d.visitor,
		.vehicle = d.vehicle,
		.deny = d.deny,
		.entries_used = d.entries_used,
		.plate = d.plate,
	};
	describe(x, dev, &f, v);
}

/* A device that cannot be asked about this WHO, and why. */
static void
not_asked(const struct ctx *x, const struct device *dev, struct verdict *v)
{
	const struct access_visitor *vis = x->w->visitor;

	v->allow = false;
	v->code = "not_applicable";
	if (device_gate(dev) != NULL && vis != NULL &&
	    strcmp(x->w->by, "plate") != 0) {
		say(v,
		    "visitor %s has no person or card: no gate recognises "
		    "them on foot",
		    access_str(x->t, vis->id));
		where(x, vis, v);
	} else if (device_gate(dev) != NULL) {
		say(v, "%s is a plate: gate %s opens for faces and cards",
		    x->w->text, dev->id);
	} else if (device_barrier(dev) != NULL) {
		say(v,
		    "%s has no plate in access.d: barrier %s opens for "
		    "cars",
		    x->w->text, dev->id);
	} else {
		say(v, "%s is neither a gate nor a barrier", dev->id);
	}
}

static const char *
kind(const struct device *dev)
{
	if (device_gate(dev) != NULL)
		return "gate";
	if (device_barrier(dev) != NULL)
		return "barrier";
	return dev->driver != NULL ? dev->driver->name : "device";
}

static json_t *
verdict_json(const struct ctx *x, const struct device *dev)
{
	struct verdict v = { .code = NULL };
	json_t *o;

	if (device_gate(dev) != NULL && x->w->credential != 0)
		ask_gate(x, dev, &v);
	else if (device_barrier(dev) != NULL && x->w->plate[0] != '\0')
		ask_barrier(x, dev, &v);
	else
		not_asked(x, dev, &v);
	fire_overrule(x->fire_reason, &v);
	o = json_pack("{s:s, s:s, s:b, s:s, s:s}", "device", dev->id, "kind",
	    kind(dev), "allow", v.allow, "reason", v.code, "words", v.words);
	json_object_set_new(o, "where",
	    v.where[0] ? json_string(v.where) : json_null());
	if (v.group != NULL)
		json_object_set_new(o, "group", json_string(v.group->name));
	if (v.overruled != NULL)
		json_object_set_new(o, "overruled", json_string(v.overruled));
	return o;
}

/* Without a gate named: every gate a face or card opens, every barrier
 * a plate opens. */
static bool
asked(const struct who *w, const struct device *dev)
{
	return (device_gate(dev) != NULL && w->credential != 0) ||
	    (device_barrier(dev) != NULL && w->plate[0] != '\0');
}

/* ---- who, as a JSON object ---- */

static const char *
as(const struct who *w)
{
	if (w->person != NULL)
		return "person";
	if (w->vehicle != NULL)
		return "vehicle";
	if (w->visitor != NULL)
		return "visitor";
	return w->deny != NULL ? "denied" : "unknown";
}

static void
set_str(json_t *o, const char *key, const char *s)
{
	if (s != NULL && s[0] != '\0')
		json_object_set_new(o, key, json_string(s));
}

static json_t *
who_json(const struct ctx *x)
{
	const struct access_tables *t = x->t;
	const struct who *w = x->w;
	const void *entry = w->person ? (const void *)w->person :
	    w->vehicle                ? (const void *)w->vehicle :
	    w->visitor                ? (const void *)w->visitor :
	                                (const void *)w->deny;
	char buf[WHERE_MAX];
	json_t *o;

	o = json_pack("{s:s, s:b, s:s}", "who", w->text, "found", entry != NULL,
	    "as", as(w));
	if (entry != NULL)
		set_str(o, "by", w->by);
	if (w->fuzzy)
		set_str(o, "match", "fuzzy");
	if (w->person != NULL) {
		set_str(o, "name", access_str(t, w->person->name));
		set_str(o, "household", access_str(t, w->person->household));
	} else if (w->vehicle != NULL) {
		set_str(o, "household", access_str(t, w->vehicle->household));
		set_str(o, "plan", plan_name(w->vehicle->plan));
	} else if (w->visitor != NULL) {
		set_str(o, "name", access_str(t, w->visitor->name));
		set_str(o, "host", access_str(t, w->visitor->host));
	} else if (w->deny != NULL) {
		set_str(o, "reason", access_str(t, w->deny->reason));
	} else {
		snprintf(buf, sizeof(buf), "no file in access.d names %s",
		    w->text);
		whole_chars(buf);
		set_str(o, "words", buf);
	}
	if (entry != NULL && access_where(t, entry, buf, sizeof(buf)) == 0) {
		whole_chars(buf);
		set_str(o, "where", buf);
	}
	datetime_format_local(x->c->now_ms / 1000, buf, sizeof(buf));
	set_str(o, "at", buf);
	return o;
}

json_t *
explain(const struct access_tables *t, const struct config *cfg,
    const struct state *st, const char *who_text, const struct device *gate,
    const struct rules_clock *c, int fire_reason)
{
	struct who w;
	struct ctx x = {
		.t = t,
		.cfg = cfg,
		.st = st,
		.c = c,
		.w = &w,
		.fire_reason = fire_reason,
	};
	json_t *o, *verdicts;
	size_t i;

	identify(t, who_text, &w);
	o = who_json(&x);
	verdicts = json_array();
	if (gate != NULL)
		json_array_append_new(verdicts, verdict_json(&x, gate));
	for (i = 0; gate == NULL && i < cfg->ndevices; i++)
		if (asked(&w, cfg->devices[i]))
			json_array_append_new(verdicts,
			    verdict_json(&x, cfg->devices[i]));
	json_object_set_new(o, "verdicts", verdicts);
	return o;
}
