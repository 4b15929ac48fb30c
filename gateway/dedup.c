/*
 * dedup.c - two generations of sets of 64-bit hashes of (device,
 * request), each kept in an htab.  A generation lives one window, so an
 * id is known for at least a window (its time is kept and compared
 * exactly) and memory stays bounded by two generations of max_entries
 * each.  An id costs 8 bytes beside its index slot: the index holds the
 * hash's low half, the entry its high half and its time as an offset
 * from the generation's birth, so ten minutes of a saturating load stay
 * within the Pi's memory budget.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dedup.h"
#include "htab.h"
#include "log.h"

struct seen {
	uint32_t hash_hi;
	int32_t ts_off; /* ms from born_ms, saturated */
};

struct gen {
	struct htab index; /* hash -> index into v */
	struct seen *v;
	uint32_t n, cap;
	int64_t born_ms;
};

struct dedup {
	struct gen cur, old;
	int64_t window_ms;
	uint32_t max_entries;
	bool warned;
};

static bool
same_hash(const void *ctx, uint32_t ref, const void *key)
{
	const struct gen *g = ctx;

	/* The index compared the low half already. */
	return g->v[ref].hash_hi == (uint32_t)(*(const uint64_t *)key >> 32);
}

static int64_t
seen_ms(const struct gen *g, const struct seen *s)
{
	return g->born_ms + s->ts_off;
}

/* A clock stepped by weeks saturates: far enough to be long ago. */
static void
set_seen_ms(const struct gen *g, struct seen *s, int64_t ts)
{
	int64_t off = ts - g->born_ms;

	s->ts_off = off > INT32_MAX ? INT32_MAX :
	    off < INT32_MIN         ? INT32_MIN :
	                              (int32_t)off;
}

static struct seen *
gen_find(const struct gen *g, uint64_t h)
{
	int64_t i = htab_find(&g->index, (uint32_t)h, same_hash, g, &h);

	return i >= 0 ? &g->v[i] : NULL;
}

/* 0, or -1 without memory: the id is then not remembered. */
static int
gen_add(struct gen *g, uint64_t h, int64_t ts)
{
	struct seen *v;

	if (g->n == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 1024;

		v = realloc(g->v, (size_t)cap * sizeof(*v));
		if (v == NULL)
			return -1;
		g->v = v;
		g->cap = cap;
	}
	if (htab_insert(&g->index, (uint32_t)h, g->n) < 0)
		return -1;
	g->v[g->n].hash_hi = (uint32_t)(h >> 32);
	set_seen_ms(g, &g->v[g->n], ts);
	g->n++;
	return 0;
}

static void
gen_free(struct gen *g)
{
	htab_free(&g->index);
	free(g->v);
	memset(g, 0, sizeof(*g));
}

struct dedup *
dedup_new(int64_t window_ms, uint32_t max_entries)
{
	struct dedup *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->window_ms = window_ms;
	d->max_entries = max_entries < HTAB_MAX ? max_entries : HTAB_MAX;
	return d;
}

void
dedup_free(struct dedup *d)
{
	if (d == NULL)
		return;
	gen_free(&d->cur);
	gen_free(&d->old);
	free(d);
}

static void
rotate(struct dedup *d, int64_t now)
{
	gen_free(&d->old);
	d->old = d->cur;
	memset(&d->cur, 0, sizeof(d->cur));
	d->cur.born_ms = now;
}

bool
dedup_seen(struct dedup *d, const char *device, const char *request,
    int64_t now, int64_t *first_ms)
{
	uint64_t h = htab_hash_pair(device, request);
	struct seen *s, *o;

	if (d->cur.born_ms == 0)
		d->cur.born_ms = now;
	if (now - d->cur.born_ms >= d->window_ms)
		rotate(d, now);
	s = gen_find(&d->cur, h);
	if (s != NULL && now - seen_ms(&d->cur, s) < d->window_ms) {
		*first_ms = seen_ms(&d->cur, s);
		return true;
	}
	o = gen_find(&d->old, h);
	if (o != NULL && now - seen_ms(&d->old, o) < d->window_ms) {
		*first_ms = seen_ms(&d->old, o);
		return true;
	}
	if (s != NULL) { /* in cur, but long ago: this one counts */
		set_seen_ms(&d->cur, s, now);
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
	(void)gen_add(&d->cur, h, now);
	return false;
}
