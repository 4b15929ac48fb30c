/*
 * access_load.c - the *.ini files of access.d read into new access tables,
 * with every problem as file:line.  Nothing here is global, so a reload
 * is parsed on a worker thread while the old tables serve.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "access_private.h"
#include "config.h"
#include "datetime.h"
#include "driver.h"
#include "inifile.h"
#include "section.h"
#include "plate.h"
#include "util.h"

#define REF_MAX 64 /* bytes in an id, a card or a group name */

/* Grow an array to hold one more; returns the new element, zeroed. */
static void *
grow(void **v, size_t *n, size_t *cap, size_t size)
{
	void *nv;
	char *e;

	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;

		nv = realloc(*v, ncap * size);
		if (nv == NULL)
			diag_oom();
		*v = nv;
		*cap = ncap;
	}
	e = (char *)*v + *n * size;
	memset(e, 0, size);
	(*n)++;
	return e;
}

/* Give back what doubling left unused. */
static void
shrink(void **v, size_t n, size_t *cap, size_t size)
{
	void *nv;

	if (n == 0 || n == *cap)
		return;
	nv = realloc(*v, n * size);
	if (nv != NULL) {
		*v = nv;
		*cap = n;
	}
}

static access_str_t
pool_add(struct access_tables *t, const char *s)
{
	access_str_t off;

	if (strpool_add(&t->pool, s, strlen(s), &off) < 0)
		diag_oom();
	return off;
}

/* Each key's place in its section's schema table, below. */
enum { G_GATES, G_HOURS };
enum { P_NAME, P_HOUSEHOLD, P_GROUPS, P_CARDS, P_VALID_UNTIL, P_CARE };
enum { C_HOUSEHOLD, C_PLAN, C_VALID_UNTIL };
enum { V_HOST, V_NAME, V_PLATE, V_PERSON, V_CARD, V_FROM, V_UNTIL, V_ENTRIES };
enum { D_REASON };

/* Where something was written, for "first at file:line". */
struct where {
	uint32_t file;
	int32_t line;
};

/* A person's groups, resolved once every group is known. */
struct pending {
	uint32_t person;
	access_str_t text; /* in load.tmp */
	struct where at;
};

/* What a visitor's checks at the end need. */
struct visitor_load {
	struct where at; /* the header */
	int32_t host_line, person_line;
};

struct load {
	struct access_tables *t;
	const struct config *cfg;
	struct diag diag; /* sorted into the caller's at the end */
	char **files;
	size_t nfiles;
	uint32_t file; /* index of the file being read */

	uint32_t cur;        /* the record being read */
	int64_t from, until; /* a visitor's, -1 if bad */

	struct where group_at[ACCESS_MAX_GROUPS];
	struct where *person_at, *vehicle_at, *deny_at, *card_at;
	size_t person_at_cap, vehicle_at_cap, deny_at_cap, card_at_cap;
	struct visitor_load *visitor_at;
	size_t visitor_at_cap;
	struct pending *pending;
	size_t npending, pending_cap;
	struct strpool tmp;     /* groups = text, until every group is known */
	struct htab households; /* persons' households */
};

/* Households are pool offsets: the index's references are the keys. */
static bool
household_eq(const void *ctx, uint32_t off, const void *key)
{
	return strcmp(access_str(ctx, off), key) == 0;
}

static int64_t
household_find(const struct load *l, const char *name)
{
	return htab_find(&l->households, htab_hash_str(name), household_eq,
	    l->t, name);
}

static void err(struct load *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
err(struct load *l, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(&l->diag, l->files[l->file], line, fmt, ap);
	va_end(ap);
}

/* Set the where of element n of a side array growing with its table. */
static void
where_set(struct where **v, size_t *cap, size_t n, uint32_t file, int line)
{
	struct where *nv;

	if (n >= *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;

		while (ncap <= n)
			ncap *= 2;
		nv = realloc(*v, ncap * sizeof(*nv));
		if (nv == NULL)
			diag_oom();
		*v = nv;
		*cap = ncap;
	}
	(*v)[n].file = file;
	(*v)[n].line = line;
}

static const char *
at_file(const struct load *l, struct where w)
{
	return l->files[w.file];
}

/* An id, card or group name: 1 to 64 bytes, no spaces, no commas. */
static bool
valid_ref(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > REF_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == ',' || s[i] == 0x7f)
			return false;
	return strstr(s, "\xe3\x80\x80") == NULL && /* U+3000 */
	    strstr(s, "\xef\xbc\x8c") == NULL;      /* U+FF0C */
}

#define REF_RULE "1 to 64 bytes, no spaces or commas"

static void
bad(struct load *l, int line, const char *key, const char *value,
    const char *want)
{
	err(l, line, "bad %s '%s' (%s)", key, value, want);
}

static void group_key(void *, void *, const struct schema_key *, int,
    const char *);
static void person_key(void *, void *, const struct schema_key *, int,
    const char *);
static void vehicle_key(void *, void *, const struct schema_key *, int,
    const char *);
static void visitor_key(void *, void *, const struct schema_key *, int,
    const char *);
static void deny_key(void *, void *, const struct schema_key *, int,
    const char *);

#define KEY(n, fn, ...)                                                        \
	{                                                                      \
		.name = (n), .type = SCHEMA_HANDLER, .handle = (fn),           \
		__VA_ARGS__                                                    \
	}

/* Each section's keys, in the order of their enum above. */
static const struct schema_key group_schema[] = {
	KEY("gates", group_key, .required = true),
	KEY("hours", group_key),
	SCHEMA_END,
};
static const struct schema_key person_schema[] = {
	KEY("name", person_key),
	KEY("household", person_key),
	KEY("groups", person_key, .required = true),
	/* More cards than a line (199 bytes) holds: the key may repeat. */
	KEY("cards", person_key, .repeatable = true),
	KEY("valid_until", person_key),
	KEY("care", person_key),
	SCHEMA_END,
};
static const struct schema_key vehicle_schema[] = {
	KEY("household", vehicle_key),
	KEY("plan", vehicle_key, .required = true),
	KEY("valid_until", vehicle_key),
	SCHEMA_END,
};
static const struct schema_key visitor_schema[] = {
	KEY("host", visitor_key, .required = true),
	KEY("name", visitor_key),
	KEY("plate", visitor_key),
	KEY("person", visitor_key),
	KEY("card", visitor_key),
	KEY("from", visitor_key, .required = true),
	KEY("until", visitor_key, .required = true),
	KEY("entries", visitor_key),
	SCHEMA_END,
};
static const struct schema_key deny_schema[] = {
	KEY("reason", deny_key, .required = true),
	SCHEMA_END,
};

#undef KEY

/* ---- [group NAME] ---- */

static void
group_gates(struct load *l, int line, struct access_group *g, const char *value)
{
	const struct device *dev;
	const char *s = value;
	char id[REF_MAX + 2];
	size_t i, n = 0;

	if (strcmp(value, "*") == 0) {
		g->all_gates = true;
		return;
	}
	free(g->gates);
	g->gates = NULL;
	while (str_list_next(&s, id, sizeof(id))) {
		if (strcmp(id, "*") == 0) {
			err(l, line, "'*' must stand alone in gates");
			continue;
		}
		dev = config_device(l->cfg, id);
		if (dev == NULL) {
			err(l, line, "unknown gate '%s'", id);
			continue;
		}
		if (dev->driver != NULL &&
		    dev->driver->class == DEVICE_BARRIER) {
			err(l, line,
			    "device %s is a barrier: cars pass by their "
			    "[vehicle] plan or a visitor's plate, not by group",
			    id);
			continue;
		}
		if (dev->driver == NULL || dev->driver->class != DEVICE_GATE) {
			err(l, line, "device %s is not a gate", id);
			continue;
		}
		g->gates = realloc(g->gates, (n + 1) * sizeof(*g->gates));
		if (g->gates == NULL)
			diag_oom();
		g->gates[n++] = (uint16_t)dev->index;
	}
	if (n > 1)
		qsort(g->gates, n, sizeof(*g->gates), access_gate_cmp);
	for (i = 0, g->ngates = 0; i < n; i++)
		if (g->ngates == 0 || g->gates[g->ngates - 1] != g->gates[i])
			g->gates[g->ngates++] = g->gates[i];
}

static void
group_key(void *ctx, void *obj, const struct schema_key *key, int line,
    const char *value)
{
	struct load *l = ctx;
	struct access_group *g = &l->t->groups[l->cur];
	int k = (int)(key - group_schema);
	char e[256];

	(void)obj;
	if (k == G_GATES) {
		group_gates(l, line, g, value);
	} else if (schedule_parse(value, &g->hours, e, sizeof(e)) < 0) {
		err(l, line, "bad hours '%s': %s", value, e);
		g->hours.always = false;
	}
}

/* ---- [person ID] ---- */

/* A card for a person or a visitor, unique among all: its string or 0. */
static access_str_t
add_card(struct load *l, int line, const char *card, uint32_t owner)
{
	struct access_tables *t = l->t;
	struct access_card *c;
	int64_t first;
	size_t i;

	if (!valid_ref(card)) {
		bad(l, line, "card", card, REF_RULE);
		return 0;
	}
	c = grow((void **)&t->cards, &t->ncards, &t->cards_cap, sizeof(*c));
	c->card = pool_add(t, card);
	c->owner = owner;
	i = t->ncards - 1;
	first = access_index_add(t, ACCESS_BY_CARD, (uint32_t)i);
	if (first >= 0) {
		err(l, line, "duplicate card %s (first at %s:%d)", card,
		    at_file(l, l->card_at[first]), l->card_at[first].line);
		t->ncards--;
		return 0;
	}
	where_set(&l->card_at, &l->card_at_cap, i, l->file, line);
	return c->card;
}

static void
person_key(void *ctx, void *obj, const struct schema_key *key, int line,
    const char *value)
{
	struct load *l = ctx;
	int k = (int)(key - person_schema);
	struct access_tables *t = l->t;
	struct access_person *p = &t->persons[l->cur];
	struct pending *pg;
	char card[REF_MAX + 2];
	const char *s;
	int64_t found;

	(void)obj;
	switch (k) {
	case P_NAME:
		p->name = pool_add(t, value);
		break;
	case P_HOUSEHOLD:
		/* Stored once: a household is shared by its persons. */
		found = household_find(l, value);
		if (found >= 0) {
			p->household = (access_str_t)found;
		} else {
			p->household = pool_add(t, value);
			if (htab_insert(&l->households, htab_hash_str(value),
			        p->household) < 0)
				diag_oom();
		}
		break;
	case P_GROUPS:
		pg = grow((void **)&l->pending, &l->npending, &l->pending_cap,
		    sizeof(*pg));
		pg->person = l->cur;
		if (strpool_add(&l->tmp, value, strlen(value), &pg->text) < 0)
			diag_oom();
		pg->at.file = l->file;
		pg->at.line = line;
		break;
	case P_CARDS:
		s = value;
		while (str_list_next(&s, card, sizeof(card)))
			(void)add_card(l, line, card, l->cur);
		break;
	case P_VALID_UNTIL:
		if (datetime_parse_date(value, &p->valid_until) < 0)
			bad(l, line, "valid_until", value, "YYYY-MM-DD");
		break;
	case P_CARE:
		if (strcmp(value, "daily") == 0)
			p->care = ACCESS_CARE_DAILY;
		else if (strcmp(value, "weekly") == 0)
			p->care = ACCESS_CARE_WEEKLY;
		else if (strcmp(value, "monthly") == 0)
			p->care = ACCESS_CARE_MONTHLY;
		else
			bad(l, line, "care", value, "daily, weekly or monthly");
		break;
	}
}

/* ---- [vehicle PLATE] ---- */

static void
vehicle_key(void *ctx, void *obj, const struct schema_key *key, int line,
    const char *value)
{
	struct load *l = ctx;
	int k = (int)(key - vehicle_schema);
	struct access_tables *t = l->t;
	struct access_vehicle *v = &t->vehicles[l->cur];
	int64_t found;

	(void)obj;
	switch (k) {
	case C_HOUSEHOLD:
		found = household_find(l, value);
		v->household =
		    found >= 0 ? (access_str_t)found : pool_add(t, value);
		break;
	case C_PLAN:
		if (strcmp(value, "monthly") == 0)
			v->plan = ACCESS_PLAN_MONTHLY;
		else if (strcmp(value, "owner") == 0)
			v->plan = ACCESS_PLAN_OWNER;
		else if (strcmp(value, "staff") == 0)
			v->plan = ACCESS_PLAN_STAFF;
		else
			bad(l, line, "plan", value, "monthly, owner or staff");
		break;
	case C_VALID_UNTIL:
		if (datetime_parse_date(value, &v->valid_until) < 0)
			bad(l, line, "valid_until", value, "YYYY-MM-DD");
		break;
	}
}

/* ---- [visitor ID] ---- */

static void
visitor_key(void *ctx, void *obj, const struct schema_key *key, int line,
    const char *value)
{
	struct load *l = ctx;
	int k = (int)(key - visitor_schema);
	struct access_tables *t = l->t;
	struct access_visitor *v = &t->visitors[l->cur];
	struct visitor_load *vl = &l->visitor_at[l->cur];
	char plate[PLATE_MAX];
	int64_t first;
	long n;

	(void)obj;
	switch (k) {
	case V_HOST:
		v->host = pool_add(t, value);
		vl->host_line = line;
		break;
	case V_NAME:
		v->name = pool_add(t, value);
		break;
	case V_PLATE:
		if (plate_normalise(value, plate, sizeof(plate)) < 0)
			bad(l, line, "plate", value, "7 or 8 characters");
		else
			v->plate = pool_add(t, plate);
		break;
	case V_PERSON:
		if (!valid_ref(value)) {
			bad(l, line, "person", value, REF_RULE);
			break;
		}
		v->person = pool_add(t, value);
		vl->person_line = line;
		first = access_index_add(t, ACCESS_BY_VISITOR_PERSON, l->cur);
		if (first >= 0)
			err(l, line,
			    "duplicate visitor person %s (first at %s:%d)",
			    value, at_file(l, l->visitor_at[first].at),
			    l->visitor_at[first].person_line);
		break;
	case V_CARD:
		v->card = add_card(l, line, value, l->cur | ACCESS_VISITOR_BIT);
		break;
	case V_FROM:
	case V_UNTIL:
		if (datetime_parse_local(value, &first) < 0) {
			bad(l, line, k == V_FROM ? "from" : "until", value,
			    "YYYY-MM-DD HH:MM");
			first = -1;
		}
		if (k == V_FROM)
			l->from = first;
		else
			l->until = first;
		break;
	case V_ENTRIES:
		if (parse_long(value, 1, 1000, &n) < 0)
			bad(l, line, "entries", value,
			    "an integer from 1 to 1000");
		else
			v->entries = (uint16_t)n;
		break;
	}
}

/* ---- [deny ID] ---- */

static void
deny_key(void *ctx, void *obj, const struct schema_key *key, int line,
    const char *value)
{
	struct load *l = ctx;

	(void)obj;
	(void)key;
	(void)line;
	l->t->denies[l->cur].reason = pool_add(l->t, value);
}

/* ---- sections ---- */

static int
find_group(const struct access_tables *t, const char *name)
{
	unsigned i;

	for (i = 0; i < t->ngroups; i++)
		if (strcmp(t->groups[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void *
begin_group(struct section_reader *r, int line, const char *name)
{
	struct load *l = section_ctx(r);
	struct access_tables *t = l->t;
	struct access_group *g;
	int first;

	if (!valid_ref(name)) {
		err(l, line, "bad group name '%s' (" REF_RULE ")", name);
		return NULL;
	}
	first = find_group(t, name);
	if (first >= 0) {
		err(l, line, "duplicate group %s (first at %s:%d)", name,
		    at_file(l, l->group_at[first]), l->group_at[first].line);
		return NULL;
	}
	if (t->ngroups == ACCESS_MAX_GROUPS) {
		err(l, line, "more than %d groups", ACCESS_MAX_GROUPS);
		return NULL;
	}
	g = &t->groups[t->ngroups];
	memset(g, 0, sizeof(*g));
	g->name = strdup(name);
	if (g->name == NULL)
		diag_oom();
	g->hours.always = true;
	l->group_at[t->ngroups].file = l->file;
	l->group_at[t->ngroups].line = line;
	l->cur = t->ngroups++;
	return l;
}

static void *
begin_person(struct section_reader *r, int line, const char *id)
{
	struct load *l = section_ctx(r);
	struct access_tables *t = l->t;
	struct access_person *p;
	int64_t first;
	size_t i;

	if (!valid_ref(id)) {
		err(l, line, "bad person id '%s' (" REF_RULE ")", id);
		return NULL;
	}
	p = grow((void **)&t->persons, &t->npersons, &t->persons_cap,
	    sizeof(*p));
	p->id = pool_add(t, id);
	i = t->npersons - 1;
	first = access_index_add(t, ACCESS_BY_PERSON, (uint32_t)i);
	if (first >= 0) {
		err(l, line, "duplicate person %s (first at %s:%d)", id,
		    at_file(l, l->person_at[first]), l->person_at[first].line);
		t->npersons--;
		return NULL;
	}
	where_set(&l->person_at, &l->person_at_cap, i, l->file, line);
	l->cur = (uint32_t)i;
	return l;
}

static void *
begin_vehicle(struct section_reader *r, int line, const char *name)
{
	struct load *l = section_ctx(r);
	struct access_tables *t = l->t;
	char plate[PLATE_MAX];
	struct access_vehicle *v;
	int64_t first;
	size_t i;

	if (plate_normalise(name, plate, sizeof(plate)) < 0) {
		err(l, line, "bad plate '%s' (7 or 8 characters)", name);
		return NULL;
	}
	v = grow((void **)&t->vehicles, &t->nvehicles, &t->vehicles_cap,
	    sizeof(*v));
	v->plate = pool_add(t, plate);
	i = t->nvehicles - 1;
	first = access_index_add(t, ACCESS_BY_VEHICLE, (uint32_t)i);
	if (first >= 0) {
		err(l, line, "duplicate vehicle %s (first at %s:%d)", plate,
		    at_file(l, l->vehicle_at[first]),
		    l->vehicle_at[first].line);
		t->nvehicles--;
		return NULL;
	}
	where_set(&l->vehicle_at, &l->vehicle_at_cap, i, l->file, line);
	l->cur = (uint32_t)i;
	return l;
}

static void *
begin_visitor(struct section_reader *r, int line, const char *id)
{
	struct load *l = section_ctx(r);
	struct access_tables *t = l->t;
	struct access_visitor *v;
	struct visitor_load *vl;
	int64_t first;
	size_t i;

	if (!valid_ref(id)) {
		err(l, line, "bad visitor id '%s' (" REF_RULE ")", id);
		return NULL;
	}
	v = grow((void **)&t->visitors, &t->nvisitors, &t->visitors_cap,
	    sizeof(*v));
	v->id = pool_add(t, id);
	v->entries = 1;
	i = t->nvisitors - 1;
	first = access_index_add(t, ACCESS_BY_VISITOR, (uint32_t)i);
	if (first >= 0) {
		err(l, line, "duplicate visitor %s (first at %s:%d)", id,
		    at_file(l, l->visitor_at[first].at),
		    l->visitor_at[first].at.line);
		t->nvisitors--;
		return NULL;
	}
	if (i >= l->visitor_at_cap) {
		size_t ncap = l->visitor_at_cap ? l->visitor_at_cap * 2 : 64;

		vl = realloc(l->visitor_at, ncap * sizeof(*vl));
		if (vl == NULL)
			diag_oom();
		l->visitor_at = vl;
		l->visitor_at_cap = ncap;
	}
	vl = &l->visitor_at[i];
	memset(vl, 0, sizeof(*vl));
	vl->at.file = l->file;
	vl->at.line = line;
	l->cur = (uint32_t)i;
	l->from = -1;
	l->until = -1;
	return l;
}

/* A deny id that starts like a plate is kept normalised, as plates are. */
static void *
begin_deny(struct section_reader *r, int line, const char *id)
{
	struct load *l = section_ctx(r);
	struct access_tables *t = l->t;
	char plate[PLATE_MAX];
	struct access_deny *dn;
	int64_t first;
	size_t i;

	if ((unsigned char)id[0] >= 0x80 &&
	    plate_normalise(id, plate, sizeof(plate)) == 0) {
		id = plate;
	} else if (!valid_ref(id)) {
		err(l, line, "bad deny id '%s' (" REF_RULE ")", id);
		return NULL;
	}
	dn =
	    grow((void **)&t->denies, &t->ndenies, &t->denies_cap, sizeof(*dn));
	dn->id = pool_add(t, id);
	i = t->ndenies - 1;
	first = access_index_add(t, ACCESS_BY_DENY, (uint32_t)i);
	if (first >= 0) {
		err(l, line, "duplicate deny %s (first at %s:%d)", id,
		    at_file(l, l->deny_at[first]), l->deny_at[first].line);
		t->ndenies--;
		return NULL;
	}
	where_set(&l->deny_at, &l->deny_at_cap, i, l->file, line);
	l->cur = (uint32_t)i;
	return l;
}

static void
visitor_end(struct section_reader *r, void *obj, bool damaged)
{
	struct load *l = section_ctx(r);
	struct access_visitor *v = &l->t->visitors[l->cur];

	(void)obj;
	/* An unreadable line may hold what seems to be missing. */
	if (damaged)
		return;
	if (!section_seen(r, "plate") && !section_seen(r, "person") &&
	    !section_seen(r, "card"))
		err(l, section_line(r),
		    "visitor %s needs a plate, person or card",
		    section_name(r));
	if (l->from >= 0 && l->until >= 0 && l->until <= l->from)
		err(l, section_seen(r, "until"),
		    "visitor %s: until is not after from", section_name(r));
	v->from = l->from;
	v->until = l->until;
}

/* What staff write in access.d. */
static const struct section_type sections[] = {
	{ .type = "group",
	    .named = true,
	    .begin = begin_group,
	    .keys = group_schema },
	{ .type = "person",
	    .named = true,
	    .begin = begin_person,
	    .keys = person_schema },
	{ .type = "vehicle",
	    .named = true,
	    .begin = begin_vehicle,
	    .keys = vehicle_schema },
	{ .type = "visitor",
	    .named = true,
	    .begin = begin_visitor,
	    .keys = visitor_schema,
	    .end = visitor_end },
	{ .type = "deny",
	    .named = true,
	    .begin = begin_deny,
	    .keys = deny_schema },
};

/* ---- once every file is read ---- */

static void
resolve_groups(struct load *l)
{
	struct access_tables *t = l->t;
	struct pending *pg;
	char name[REF_MAX + 2];
	const char *s;
	size_t i;
	int g;

	for (i = 0; i < l->npending; i++) {
		pg = &l->pending[i];
		l->file = pg->at.file;
		s = strpool_str(&l->tmp, pg->text);
		while (str_list_next(&s, name, sizeof(name))) {
			g = find_group(t, name);
			if (g < 0)
				err(l, pg->at.line, "unknown group '%s'", name);
			else
				t->persons[pg->person].groups |= (uint64_t)1
				    << g;
		}
	}
}

static void
check_visitors(struct load *l)
{
	struct access_tables *t = l->t;
	struct access_visitor *v;
	struct visitor_load *vl;
	const char *host, *person;
	int64_t p;
	size_t i;

	for (i = 0; i < t->nvisitors; i++) {
		v = &t->visitors[i];
		vl = &l->visitor_at[i];
		l->file = vl->at.file;
		host = access_str(t, v->host);
		if (v->host != 0 && household_find(l, host) < 0)
			err(l, vl->host_line,
			    "visitor %s: no person lives in household %s",
			    access_str(t, v->id), host);
		person = access_str(t, v->person);
		if (v->person == 0)
			continue;
		p = access_index_find(t, ACCESS_BY_PERSON, person);
		if (p >= 0)
			err(l, vl->person_line,
			    "visitor %s: person %s is already a person's id "
			    "(at %s:%d)",
			    access_str(t, v->id), person,
			    at_file(l, l->person_at[p]), l->person_at[p].line);
	}
}

/* ---- where each entry was written, kept in the tables ---- */

static access_origin_t
origin(struct where w)
{
	if (w.file >= ACCESS_ORIGIN_FILES || w.line <= 0 ||
	    (uint32_t)w.line >= ACCESS_ORIGIN_LINES)
		return 0;
	return (w.file + 1) << ACCESS_ORIGIN_LINE_BITS | (uint32_t)w.line;
}

/* The origins of n entries from their wheres, each the first member of
 * an element stride bytes long. */
static access_origin_t *
origins(const void *wheres, size_t n, size_t stride)
{
	access_origin_t *v;
	struct where w;
	size_t i;

	if (n == 0)
		return NULL;
	v = malloc(n * sizeof(*v));
	if (v == NULL)
		diag_oom();
	for (i = 0; i < n; i++) {
		memcpy(&w, (const char *)wheres + i * stride, sizeof(w));
		v[i] = origin(w);
	}
	return v;
}

/* The files and each entry's place move from the load to the tables. */
static void
keep_origins(struct load *l)
{
	struct access_tables *t = l->t;
	unsigned i;

	for (i = 0; i < t->ngroups; i++)
		t->group_origin[i] = origin(l->group_at[i]);
	t->person_origin =
	    origins(l->person_at, t->npersons, sizeof(*l->person_at));
	t->visitor_origin =
	    origins(l->visitor_at, t->nvisitors, sizeof(*l->visitor_at));
	t->vehicle_origin =
	    origins(l->vehicle_at, t->nvehicles, sizeof(*l->vehicle_at));
	t->deny_origin = origins(l->deny_at, t->ndenies, sizeof(*l->deny_at));
	t->files = l->files;
	t->nfiles = l->nfiles;
	l->files = NULL;
	l->nfiles = 0;
}

/* Problems to the caller's list, file by file in the order they were read. */
static void
hand_over(struct load *l, struct diag *d)
{
	const struct diag_entry *e;
	size_t f, i;

	for (f = 0; f < l->nfiles; f++) {
		for (i = 0; i < l->diag.n; i++) {
			e = &l->diag.v[i];
			if (strcmp(e->file, l->files[f]) == 0)
				diag_add(d, e->file, e->line, "%s", e->msg);
		}
	}
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* *.ini, and not hidden. */
static bool
to_read(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".ini") == 0;
}

/*
 * A name that looks meant to be read but is not: "new.ini.txt" (Windows
 * hid the extension), "NEW.INI", "x.ini~", "x.ini.bak".  Hidden files
 * (an editor's ".x.ini.swp") are nobody's attempt.
 */
static bool
near_miss(const char *name)
{
	return name[0] != '.' && strcasestr(name, ".ini") != NULL;
}

/*
 * The *.ini files of dir, in strcmp order, as paths to show; -1 if none
 * can be listed.  Near misses get a warning in d.
 */
static int
list_dir(struct load *l, const char *dir, struct diag *d)
{
	size_t i, n, cap = 0, dl = strlen(dir);
	struct dirent *de;
	char ebuf[128], *path, **v;
	DIR *dp;

	dp = opendir(dir);
	if (dp == NULL) {
		diag_add(d, dir, 0, "%s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	for (;;) {
		errno = 0;
		de = readdir(dp);
		if (de == NULL)
			break;
		if (!to_read(de->d_name) && !near_miss(de->d_name))
			continue;
		if (asprintf(&path, "%s%s%s", dir,
		        dl > 0 && dir[dl - 1] == '/' ? "" : "/",
		        de->d_name) < 0)
			diag_oom();
		if (l->nfiles == cap) {
			cap = cap ? cap * 2 : 16;
			v = realloc(l->files, cap * sizeof(*v));
			if (v == NULL)
				diag_oom();
			l->files = v;
		}
		l->files[l->nfiles++] = path;
	}
	if (errno != 0) {
		diag_add(d, dir, 0, "%s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		closedir(dp);
		return -1;
	}
	closedir(dp);
	if (l->nfiles > 1)
		qsort(l->files, l->nfiles, sizeof(*l->files), cmp_names);
	/* Warned in name order too, so -t prints the same every time. */
	for (i = 0, n = 0; i < l->nfiles; i++) {
		if (to_read(strrchr(l->files[i], '/') + 1)) {
			l->files[n++] = l->files[i];
		} else {
			diag_warn(d, l->files[i], 0,
			    "ignored, only *.ini files are read");
			free(l->files[i]);
		}
	}
	l->nfiles = n;
	return 0;
}

static void
load_free(struct load *l)
{
	size_t i;

	diag_free(&l->diag);
	for (i = 0; i < l->nfiles; i++)
		free(l->files[i]);
	free(l->files);
	free(l->person_at);
	free(l->vehicle_at);
	free(l->deny_at);
	free(l->card_at);
	free(l->visitor_at);
	free(l->pending);
	strpool_free(&l->tmp);
	htab_free(&l->households);
}

struct access_tables *
access_load(const struct config *cfg, struct diag *d)
{
	struct access_tables *t;
	struct load l = { 0 };
	size_t i;
	int failed;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		diag_oom();
	l.t = t;
	l.cfg = cfg;
	diag_init(&l.diag);
	if (cfg->access_dir == NULL) {
		diag_add(d, cfg->path, 0, "no access_dir");
		access_free(t);
		return NULL;
	}
	if (list_dir(&l, cfg->access_dir, d) < 0) {
		load_free(&l);
		access_free(t);
		return NULL;
	}
	for (i = 0; i < l.nfiles; i++) {
		l.file = (uint32_t)i;
		section_parse(l.files[i], NULL, sections,
		    sizeof(sections) / sizeof(sections[0]), &l, &l.diag);
	}
	resolve_groups(&l);
	check_visitors(&l);
	hand_over(&l, d);
	failed = l.diag.n > 0;
	if (!failed) {
		access_index_plates(t);
		keep_origins(&l);
	}
	load_free(&l);
	if (failed) {
		access_free(t);
		return NULL;
	}
	shrink((void **)&t->persons, t->npersons, &t->persons_cap,
	    sizeof(*t->persons));
	shrink((void **)&t->visitors, t->nvisitors, &t->visitors_cap,
	    sizeof(*t->visitors));
	shrink((void **)&t->vehicles, t->nvehicles, &t->vehicles_cap,
	    sizeof(*t->vehicles));
	shrink((void **)&t->denies, t->ndenies, &t->denies_cap,
	    sizeof(*t->denies));
	shrink((void **)&t->cards, t->ncards, &t->cards_cap, sizeof(*t->cards));
	strpool_shrink(&t->pool);
	return t;
}
