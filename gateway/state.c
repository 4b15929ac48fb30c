/*
 * state.c - the loop's live state.  Visitors' entries used are kept by
 * visitor id, not in the access tables: a visitor removed from
 * visitors.ini and added again keeps the entries they used.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "state.h"

#define DEDUP_MAX 131072 /* ids per generation: bounds memory */

struct state_visit {
	char *visitor; /* NULL: empty slot */
	uint32_t hash;
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
	if (s->dedup == NULL || s->devices == NULL) {
		state_free(s);
		return NULL;
	}
	s->ndevices = ndevices;
	for (i = 0; i < ndevices; i++)
		s->devices[i].online = -1;
	return s;
}

void
state_free(struct state *s)
{
	uint32_t i;

	if (s == NULL)
		return;
	dedup_free(s->dedup);
	free(s->devices);
	if (s->visits != NULL)
		for (i = 0; i <= s->visits_mask; i++)
			free(s->visits[i].visitor);
	free(s->visits);
	free(s);
}

struct device_state *
state_device(struct state *s, unsigned index)
{
	return index < s->ndevices ? &s->devices[index] : NULL;
}

static uint32_t
hash_id(const char *k)
{
	uint32_t h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

static struct state_visit *
find(const struct state *s, const char *visitor, uint32_t h)
{
	uint32_t i;

	if (s->visits == NULL)
		return NULL;
	for (i = h & s->visits_mask; s->visits[i].visitor != NULL;
	     i = (i + 1) & s->visits_mask)
		if (s->visits[i].hash == h &&
		    strcmp(s->visits[i].visitor, visitor) == 0)
			return &s->visits[i];
	return &s->visits[i]; /* the empty slot where it would go */
}

static int
grow(struct state *s)
{
	uint32_t size = s->visits ? (s->visits_mask + 1) * 2 : 64, i;
	struct state_visit *old = s->visits, *slot;
	uint32_t oldsize = old ? s->visits_mask + 1 : 0;

	s->visits = calloc(size, sizeof(*s->visits));
	if (s->visits == NULL) {
		s->visits = old;
		return -1;
	}
	s->visits_mask = size - 1;
	for (i = 0; i < oldsize; i++) {
		if (old[i].visitor == NULL)
			continue;
		slot = find(s, old[i].visitor, old[i].hash);
		*slot = old[i];
	}
	free(old);
	return 0;
}

unsigned
state_entries_used(const struct state *s, const char *visitor)
{
	const struct state_visit *v = find(s, visitor, hash_id(visitor));

	return v != NULL && v->visitor != NULL ? v->used : 0;
}

int
state_entries_add(struct state *s, const char *visitor, unsigned n)
{
	uint32_t h = hash_id(visitor);
	struct state_visit *v;

	if ((s->nvisits + 1) * 2 > (s->visits ? s->visits_mask + 1 : 0) &&
	    grow(s) < 0)
		return -1;
	v = find(s, visitor, h);
	if (v->visitor == NULL) {
		v->visitor = strdup(visitor);
		if (v->visitor == NULL)
			return -1;
		v->hash = h;
		s->nvisits++;
	}
	v->used += n;
	return 0;
}
