/*
 * state.c - the loop's live state.  Visitors' entries used are kept by
 * visitor id, not in the access tables: a visitor removed from
 * visitors.ini and added again keeps the entries they used.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "incident.h"
#include "state.h"
#include "util.h"

#define DEDUP_MAX 131072 /* ids per generation: bounds memory */

struct state_visit {
	uint32_t visitor; /* in visitor_ids */
	unsigned used;
};

struct state *
state_new(size_t ndevices)
{
	struct state *s = calloc(1, sizeof(*s));
	size_t i;

	if (s == NULL)
		return NULL;
	s->dedup = dedup_new(DEDUP_WINDOW_MS, DEDUP_MAX);
	s->devices = calloc(ndevices ? ndevices : 1, sizeof(*s->devices));
	s->care.watch = calloc(STATE_CARE_MAX, sizeof(*s->care.watch));
	s->care.next_ms = INT64_MAX;
	if (s->dedup == NULL || s->devices == NULL || s->care.watch == NULL) {
		state_free(s);
		return NULL;
	}
	s->ndevices = ndevices;
	for (i = 0; i < ndevices; i++) {
		s->devices[i].online = -1;
		s->devices[i].lane.loop = -1;
		s->devices[i].fire = -1;
	}
	return s;
}

void
state_free(struct state *s)
{
	size_t i;

	if (s == NULL)
		return;
	dedup_free(s->dedup);
	for (i = 0; s->devices != NULL && i < s->ndevices; i++)
		free(s->devices[i].ports);
	free(s->devices);
	free(s->visits);
	free(s->stays);
	free(s->care.watch);
	free(s->care.ids);
	strpool_free(&s->visitor_ids);
	htab_free(&s->by_visitor);
	incident_table_free(s->incidents);
	free(s);
}

struct device_state *
state_device(struct state *s, unsigned index)
{
	return index < s->ndevices ? &s->devices[index] : NULL;
}

struct state_mark *
state_mark_find(struct state_mark *v, uint64_t key)
{
	size_t i;

	for (i = 0; i < STATE_MARKS; i++)
		if (v[i].at_ms != 0 && v[i].key == key)
			return &v[i];
	return NULL;
}

void
state_mark_set(struct state_mark *v, uint64_t key, int64_t at_ms)
{
	struct state_mark *m = state_mark_find(v, key);
	size_t i;

	if (m == NULL) {
		m = &v[0];
		for (i = 0; i < STATE_MARKS && m->at_ms != 0; i++)
			if (v[i].at_ms < m->at_ms)
				m = &v[i];
	}
	m->key = key;
	m->at_ms = at_ms;
}

bool
state_mark_within(const struct state_mark *m, int64_t now, int64_t ms)
{
	return m != NULL && now >= m->at_ms && now - m->at_ms < ms;
}

static bool
visit_eq(const void *ctx, uint32_t ref, const void *key)
{
	const struct state *s = ctx;

	return strcmp(strpool_str(&s->visitor_ids, s->visits[ref].visitor),
	           key) == 0;
}

static struct state_visit *
find(const struct state *s, const char *visitor, uint32_t hash)
{
	int64_t ref = htab_find(&s->by_visitor, hash, visit_eq, s, visitor);

	return ref >= 0 ? &s->visits[ref] : NULL;
}

unsigned
state_entries_used(const struct state *s, const char *visitor)
{
	const struct state_visit *v = find(s, visitor, htab_hash_str(visitor));

	return v != NULL ? v->used : 0;
}

int
state_entries_add(struct state *s, const char *visitor, unsigned n)
{
	uint32_t hash = htab_hash_str(visitor), cap;
	struct state_visit *v = find(s, visitor, hash), *nv;

	if (v != NULL) {
		v->used += n;
		return 0;
	}
	if (s->nvisits == s->visits_cap) {
		cap = s->visits_cap ? s->visits_cap * 2 : 64;
		nv = realloc(s->visits, cap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		s->visits = nv;
		s->visits_cap = cap;
	}
	v = &s->visits[s->nvisits];
	if (strpool_add(&s->visitor_ids, visitor, strlen(visitor),
	        &v->visitor) < 0 ||
	    htab_insert(&s->by_visitor, hash, s->nvisits) < 0)
		return -1;
	v->used = n;
	s->nvisits++;
	return 0;
}

struct state_stay *
state_stay_find(struct state *s, const char *plate)
{
	size_t i;

	for (i = 0; i < s->nstays; i++)
		if (strcmp(s->stays[i].plate, plate) == 0)
			return &s->stays[i];
	return NULL;
}

int
state_stay_begin(struct state *s, const char *visitor, const char *plate,
    int64_t since_ms, int64_t until_ms)
{
	struct state_stay *st = state_stay_find(s, plate), *v;
	size_t cap;

	if (st == NULL) {
		if (s->nstays == STATE_STAYS_MAX)
			return -1;
		if (s->nstays == s->stays_cap) {
			cap = s->stays_cap ? s->stays_cap * 2 : 16;
			v = realloc(s->stays, cap * sizeof(*v));
			if (v == NULL)
				return -1;
			s->stays = v;
			s->stays_cap = cap;
		}
		st = &s->stays[s->nstays++];
	}
	memset(st, 0, sizeof(*st));
	str_copy(st->visitor, visitor, sizeof(st->visitor));
	str_copy(st->plate, plate, sizeof(st->plate));
	st->since_ms = since_ms;
	st->until_ms = until_ms;
	return 0;
}

bool
state_stay_end(struct state *s, const char *plate)
{
	struct state_stay *st = state_stay_find(s, plate);

	if (st == NULL)
		return false;
	*st = s->stays[--s->nstays];
	return true;
}
