/*
 * dedup.c - two generations of open-addressed sets of 64-bit hashes of
 * (device, request).  A generation lives one window, so an id is known
 * for at least a window (its time is kept and compared exactly) and
 * memory stays bounded by two generations of max_entries each.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "log.h"

struct slot {
	uint64_t hash; /* 0: empty */
	int64_t ts_ms;
};

struct gen {
	struct slot *slots;
	uint32_t cap; /* a power of two */
	uint32_t n;
	int64_t born_ms;
};

struct dedup {
	struct gen cur, old;
	int64_t window_ms;
	uint32_t max_entries;
	bool warned;
};

static uint64_t
hash(const char *device, const char *request)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)device; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (p = (const unsigned char *)request; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	/* Finalise so the low bits index well; never 0 (the empty mark). */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static int
gen_init(struct gen *g, uint32_t cap, int64_t now)
{
	g->slots = calloc(cap, sizeof(*g->slots));
	if (g->slots == NULL)
		return -1;
	g->cap = cap;
	g->n = 0;
	g->born_ms = now;
	return 0;
}

static struct slot *
gen_find(const struct gen *g, uint64_t h)
{
	uint32_t i;

	if (g->slots == NULL)
		return NULL;
	for (i = (uint32_t)h & (g->cap - 1);; i = (i + 1) & (g->cap - 1)) {
		if (g->slots[i].hash == h)
			return &g->slots[i];
		if (g->slots[i].hash == 0)
			return NULL;
	}
}

static void
gen_put(struct gen *g, uint64_t h, int64_t ts)
{
	uint32_t i;

	for (i = (uint32_t)h & (g->cap - 1); g->slots[i].hash != 0;
	     i = (i + 1) & (g->cap - 1))
		;
	g->slots[i].hash = h;
	g->slots[i].ts_ms = ts;
	g->n++;
}

static int
gen_grow(struct gen *g)
{
	struct gen bigger;
	uint32_t i;

	if (gen_init(&bigger, g->cap * 2, g->born_ms) < 0)
		return -1;
	for (i = 0; i < g->cap; i++)
		if (g->slots[i].hash)
			gen_put(&bigger, g->slots[i].hash, g->slots[i].ts_ms);
	free(g->slots);
	*g = bigger;
	return 0;
}

struct dedup *
dedup_new(int64_t window_ms, uint32_t max_entries)
{
	struct dedup *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->window_ms = window_ms;
	d->max_entries = max_entries;
	if (gen_init(&d->cur, 1024, 0) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

void
dedup_free(struct dedup *d)
{
	if (d == NULL)
		return;
	free(d->cur.slots);
	free(d->old.slots);
	free(d);
}

static void
rotate(struct dedup *d, int64_t now)
{
	free(d->old.slots);
	d->old = d->cur;
	if (gen_init(&d->cur, 1024, now) < 0)
		memset(&d->cur, 0, sizeof(d->cur));
}

bool
dedup_seen(struct dedup *d, const char *device, const char *request,
    int64_t now, int64_t *first_ms)
{
	uint64_t h = hash(device, request);
	struct slot *s;

	if (d->cur.born_ms == 0)
		d->cur.born_ms = now;
	if (now - d->cur.born_ms >= d->window_ms)
		rotate(d, now);
	s = gen_find(&d->cur, h);
	if (s == NULL || now - s->ts_ms >= d->window_ms) {
		struct slot *o = gen_find(&d->old, h);

		if (o != NULL && now - o->ts_ms < d->window_ms)
			s = o;
	}
	if (s != NULL && now - s->ts_ms < d->window_ms) {
		*first_ms = s->ts_ms;
		return true;
	}
	if (s != NULL) { /* in cur, but long ago: this one counts */
		s->ts_ms = now;
		return false;
	}
	if (d->cur.n >= d->max_entries) {
		if (!d->warned)
			log_warnx("dedup: more than %u requests within ten "
			          "minutes: forgetting the oldest early",
			    d->max_entries);
		d->warned = true;
		rotate(d, now);
	}
	if (d->cur.slots == NULL)
		return false;
	if ((d->cur.n + 1) * 2 > d->cur.cap && gen_grow(&d->cur) < 0)
		return false;
	gen_put(&d->cur, h, now);
	return false;
}
