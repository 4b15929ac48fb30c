/*
 * access.c - the access tables once loaded: read-only lookups of persons,
 * cards, visitors, vehicles and denied ids through hash indexes over
 * 32-bit offsets into one string pool.  Filling them is access_load.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "access_private.h"
#include "config.h"
#include "driver.h"
#include "diag.h"
#include "plate.h"

const char *
access_str(const struct access_tables *t, access_str_t s)
{
	return strpool_str(&t->pool, s);
}

/* The key entry i of an index's array is found by. */
static const char *
index_key(const struct access_tables *t, enum access_index x, uint32_t i)
{
	switch (x) {
	case ACCESS_BY_PERSON:
		return access_str(t, t->persons[i].id);
	case ACCESS_BY_CARD:
		return access_str(t, t->cards[i].card);
	case ACCESS_BY_VISITOR:
		return access_str(t, t->visitors[i].id);
	case ACCESS_BY_VISITOR_PERSON:
		return access_str(t, t->visitors[i].person);
	case ACCESS_BY_VEHICLE:
		return access_str(t, t->vehicles[i].plate);
	case ACCESS_BY_DENY:
		return access_str(t, t->denies[i].id);
	case ACCESS_BY_PLATE:
		return access_str(t, t->plates[i].plate);
	default:
		abort();
	}
}

/* An index's entries compared by their key in the tables. */
struct keyed {
	const struct access_tables *t;
	enum access_index x;
};

static bool
key_eq(const void *ctx, uint32_t ref, const void *key)
{
	const struct keyed *k = ctx;
	char skeleton[PLATE_MAX];

	if (k->x == ACCESS_BY_SKELETON) {
		/* Registered plates are normalised: they fit PLATE_MAX. */
		plate_skeleton(access_str(k->t, k->t->plates[ref].plate),
		    skeleton, sizeof(skeleton));
		return strcmp(skeleton, key) == 0;
	}
	return strcmp(index_key(k->t, k->x, ref), key) == 0;
}

int64_t
access_index_find(const struct access_tables *t, enum access_index x,
    const char *key)
{
	struct keyed k = { t, x };

	if (key == NULL)
		return -1;
	return htab_find(&t->index[x], htab_hash_str(key), key_eq, &k, key);
}

int64_t
access_index_add(struct access_tables *t, enum access_index x, uint32_t i)
{
	struct keyed k = { t, x };
	const char *key = index_key(t, x, i);
	uint32_t hash = htab_hash_str(key);
	int64_t found;

	found = htab_find(&t->index[x], hash, key_eq, &k, key);
	if (found >= 0)
		return found;
	if (htab_insert(&t->index[x], hash, i) < 0)
		diag_oom();
	return -1;
}

int
access_gate_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

void
access_free(struct access_tables *t)
{
	unsigned i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ngroups; i++) {
		free(t->groups[i].name);
		free(t->groups[i].gates);
	}
	strpool_free(&t->pool);
	free(t->persons);
	free(t->visitors);
	free(t->vehicles);
	free(t->denies);
	free(t->cards);
	free(t->plates);
	free(t->plate_visitors);
	free(t->person_origin);
	free(t->visitor_origin);
	free(t->vehicle_origin);
	free(t->deny_origin);
	for (i = 0; i < t->nfiles; i++)
		free(t->files[i]);
	free(t->files);
	for (i = 0; i < ACCESS_INDEXES; i++)
		htab_free(&t->index[i]);
	free(t);
}

void
access_counts(const struct access_tables *t, struct access_counts *c)
{
	c->groups = t->ngroups;
	c->persons = t->npersons;
	c->visitors = t->nvisitors;
	c->vehicles = t->nvehicles;
	c->denied = t->ndenies;
}

void
access_summary(const struct access_tables *t, const struct config *cfg,
    char *buf, size_t size)
{
	/* The other kinds of device, when there are any. */
	static const struct {
		int class;
		const char *what;
	} others[] = {
		{ DEVICE_CHARGER, "charging points" },
		{ DEVICE_METER, "meters" },
		{ DEVICE_CAMERA, "cameras" },
		{ DEVICE_FIRE, "fire devices" },
	};
	struct access_counts c;
	size_t barriers = config_count_class(cfg, DEVICE_BARRIER), i, k;
	size_t n;

	access_counts(t, &c);
	snprintf(buf, size,
	    "%zu gates, %zu groups, %zu persons, %zu visitors, %zu denied",
	    config_count_class(cfg, DEVICE_GATE), c.groups, c.persons,
	    c.visitors, c.denied);
	n = strlen(buf);
	if (barriers > 0 && n < size)
		snprintf(buf + n, size - n, ", %zu barriers, %zu vehicles",
		    barriers, c.vehicles);
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		k = config_count_class(cfg, others[i].class);
		n = strlen(buf);
		if (k > 0 && n < size)
			snprintf(buf + n, size - n, ", %zu %s", k,
			    others[i].what);
	}
}

/*
 * Entry's index in the array v of n elements of size bytes, or -1.
 * Compared as integers: pointers into different arrays have no order.
 */
static int64_t
index_in(const void *entry, const void *v, size_t n, size_t size)
{
	uintptr_t p = (uintptr_t)entry, base = (uintptr_t)v;

	if (v == NULL || p < base || p >= base + n * size ||
	    (p - base) % size != 0)
		return -1;
	return (int64_t)((p - base) / size);
}

/* The origin of entry, 0 when it is none of t's. */
static access_origin_t
origin_of(const struct access_tables *t, const void *entry)
{
	int64_t i;

	i = index_in(entry, t->groups, t->ngroups, sizeof(*t->groups));
	if (i >= 0)
		return t->group_origin[i];
	i = index_in(entry, t->persons, t->npersons, sizeof(*t->persons));
	if (i >= 0 && t->person_origin != NULL)
		return t->person_origin[i];
	i = index_in(entry, t->visitors, t->nvisitors, sizeof(*t->visitors));
	if (i >= 0 && t->visitor_origin != NULL)
		return t->visitor_origin[i];
	i = index_in(entry, t->vehicles, t->nvehicles, sizeof(*t->vehicles));
	if (i >= 0 && t->vehicle_origin != NULL)
		return t->vehicle_origin[i];
	i = index_in(entry, t->denies, t->ndenies, sizeof(*t->denies));
	if (i >= 0 && t->deny_origin != NULL)
		return t->deny_origin[i];
	return 0;
}

int
access_where(const struct access_tables *t, const void *entry, char *buf,
    size_t size)
{
	access_origin_t o;
	size_t file;

	if (size > 0)
		buf[0] = '\0';
	if (t == NULL || entry == NULL)
		return -1;
	o = origin_of(t, entry);
	file = (o >> ACCESS_ORIGIN_LINE_BITS);
	if (o == 0 || file == 0 || file > t->nfiles)
		return -1;
	snprintf(buf, size, "%s:%u", t->files[file - 1],
	    o & (ACCESS_ORIGIN_LINES - 1));
	return 0;
}

const struct access_group *
access_group(const struct access_tables *t, unsigned i)
{
	return t != NULL && i < t->ngroups ? &t->groups[i] : NULL;
}

bool
access_group_allows_gate(const struct access_group *g, unsigned device_index)
{
	uint16_t key = (uint16_t)device_index;

	if (g->all_gates)
		return true;
	if (device_index > UINT16_MAX || g->ngates == 0)
		return false;
	return bsearch(&key, g->gates, g->ngates, sizeof(*g->gates),
	           access_gate_cmp) != NULL;
}

/* Entry of index x with key k, or -1: no tables know nobody. */
static int64_t
lookup(const struct access_tables *t, enum access_index x, const char *k)
{
	return t != NULL ? access_index_find(t, x, k) : -1;
}

const struct access_person *
access_find_person(const struct access_tables *t, const char *id)
{
	int64_t i = lookup(t, ACCESS_BY_PERSON, id);

	return i >= 0 ? &t->persons[i] : NULL;
}

const struct access_person *
access_find_card(const struct access_tables *t, const char *card)
{
	int64_t i = lookup(t, ACCESS_BY_CARD, card);

	if (i < 0 || (t->cards[i].owner & ACCESS_VISITOR_BIT))
		return NULL;
	return &t->persons[t->cards[i].owner];
}

const struct access_visitor *
access_find_visitor(const struct access_tables *t, const char *visitor_id)
{
	int64_t i = lookup(t, ACCESS_BY_VISITOR, visitor_id);

	return i >= 0 ? &t->visitors[i] : NULL;
}

const struct access_visitor *
access_find_visitor_person(const struct access_tables *t, const char *person_id)
{
	int64_t i = lookup(t, ACCESS_BY_VISITOR_PERSON, person_id);

	return i >= 0 ? &t->visitors[i] : NULL;
}

const struct access_visitor *
access_find_visitor_card(const struct access_tables *t, const char *card)
{
	int64_t i = lookup(t, ACCESS_BY_CARD, card);

	if (i < 0 || !(t->cards[i].owner & ACCESS_VISITOR_BIT))
		return NULL;
	return &t->visitors[t->cards[i].owner & ~ACCESS_VISITOR_BIT];
}

const struct access_vehicle *
access_find_vehicle(const struct access_tables *t, const char *plate)
{
	int64_t i = lookup(t, ACCESS_BY_VEHICLE, plate);

	return i >= 0 ? &t->vehicles[i] : NULL;
}

const struct access_deny *
access_find_deny(const struct access_tables *t, const char *id)
{
	int64_t i = lookup(t, ACCESS_BY_DENY, id);

	return i >= 0 ? &t->denies[i] : NULL;
}

size_t
access_npersons(const struct access_tables *t)
{
	return t != NULL ? t->npersons : 0;
}

const struct access_person *
access_person_at(const struct access_tables *t, size_t i)
{
	return t != NULL && i < t->npersons ? &t->persons[i] : NULL;
}

size_t
access_nvisitors(const struct access_tables *t)
{
	return t != NULL ? t->nvisitors : 0;
}

const struct access_visitor *
access_visitor_at(const struct access_tables *t, size_t i)
{
	return t != NULL && i < t->nvisitors ? &t->visitors[i] : NULL;
}

/* The plate entry with this plate, made if new. */
static struct access_plate *
plate_entry(struct access_tables *t, access_str_t plate, size_t *cap)
{
	struct access_plate *p;
	int64_t found =
	    access_index_find(t, ACCESS_BY_PLATE, access_str(t, plate));

	if (found >= 0)
		return &t->plates[found];
	if (t->nplates == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		p = realloc(t->plates, *cap * sizeof(*p));
		if (p == NULL)
			diag_oom();
		t->plates = p;
	}
	p = &t->plates[t->nplates];
	memset(p, 0, sizeof(*p));
	p->plate = plate;
	p->vehicle = -1;
	(void)access_index_add(t, ACCESS_BY_PLATE, (uint32_t)t->nplates++);
	return p;
}

void
access_index_plates(struct access_tables *t)
{
	char skeleton[PLATE_MAX];
	struct access_plate *p;
	size_t i, cap = 0, total = 0;
	int64_t found;

	for (i = 0; i < t->nvehicles; i++)
		plate_entry(t, t->vehicles[i].plate, &cap)->vehicle =
		    (int32_t)i;
	for (i = 0; i < t->nvisitors; i++)
		if (t->visitors[i].plate != 0) {
			plate_entry(t, t->visitors[i].plate, &cap)->n++;
			total++;
		}
	/* Each plate's visitors together, in file order. */
	t->plate_visitors = malloc((total ? total : 1) * sizeof(uint32_t));
	if (t->plate_visitors == NULL)
		diag_oom();
	for (i = 0, total = 0; i < t->nplates; i++) {
		t->plates[i].first = (uint32_t)total;
		total += t->plates[i].n;
		t->plates[i].n = 0;
	}
	for (i = 0; i < t->nvisitors; i++) {
		if (t->visitors[i].plate == 0)
			continue;
		p = &t->plates[access_index_find(t, ACCESS_BY_PLATE,
		    access_str(t, t->visitors[i].plate))];
		t->plate_visitors[p->first + p->n++] = (uint32_t)i;
	}
	for (i = 0; i < t->nplates; i++) {
		plate_skeleton(access_str(t, t->plates[i].plate), skeleton,
		    sizeof(skeleton));
		found = access_index_find(t, ACCESS_BY_SKELETON, skeleton);
		if (found >= 0) {
			t->plates[found].shares_skeleton = true;
			continue;
		}
		if (htab_insert(&t->index[ACCESS_BY_SKELETON],
		        htab_hash_str(skeleton), (uint32_t)i) < 0)
			diag_oom();
	}
}

int
access_match_plate(const struct access_tables *t, const char *plate,
    struct access_plate_match *m)
{
	char skeleton[PLATE_MAX];
	const struct access_plate *p;
	int64_t i;

	memset(m, 0, sizeof(*m));
	i = lookup(t, ACCESS_BY_PLATE, plate);
	if (i < 0) {
		if (t == NULL ||
		    plate_skeleton(plate, skeleton, sizeof(skeleton)) < 0)
			return 0;
		i = access_index_find(t, ACCESS_BY_SKELETON, skeleton);
		if (i < 0)
			return 0;
		if (t->plates[i].shares_skeleton)
			return -1;
		m->fuzzy = true;
	}
	p = &t->plates[i];
	m->plate = access_str(t, p->plate);
	m->vehicle = p->vehicle >= 0 ? &t->vehicles[p->vehicle] : NULL;
	m->nvisitors = p->n;
	m->visitors_ = t->plate_visitors + p->first;
	return 1;
}

const struct access_visitor *
access_match_visitor(const struct access_tables *t,
    const struct access_plate_match *m, size_t i)
{
	return i < m->nvisitors ? &t->visitors[m->visitors_[i]] : NULL;
}

size_t
access_nfiles(const struct access_tables *t)
{
	return t->nfiles;
}

const char *
access_file(const struct access_tables *t, size_t i)
{
	return i < t->nfiles ? t->files[i] : NULL;
}
