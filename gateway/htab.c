/*
 * htab.c - open addressing with linear probing over (hash, reference)
 * slots, grown by doubling to stay at most three quarters full: a probe
 * that finds its key takes about two steps, one that misses about eight
 * (each an 8-byte slot, mostly in one cache line), and ten minutes of
 * request ids under a saturating load take half the memory that a half
 * full table would.  Entries are never removed: an owner that forgets
 * starts a new index.
 */
#include <stdlib.h>

#include "htab.h"

uint32_t
htab_hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

uint64_t
htab_hash_pair(const char *a, const char *b)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)a; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (p = (const unsigned char *)b; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	/* Finalise, so the low 32 bits an index probes with mix well. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

int64_t
htab_find(const struct htab *h, uint32_t hash, htab_eq_fn eq, const void *ctx,
    const void *key)
{
	const struct htab_slot *s;
	uint32_t i;

	if (h->slots == NULL)
		return -1;
	for (i = hash & h->mask;; i = (i + 1) & h->mask) {
		s = &h->slots[i];
		if (s->ref1 == 0)
			return -1;
		if (s->hash == hash && eq(ctx, s->ref1 - 1, key))
			return s->ref1 - 1;
	}
}

/* Into a slot there is room for. */
static void
put(struct htab *h, uint32_t hash, uint32_t ref1)
{
	uint32_t i;

	for (i = hash & h->mask; h->slots[i].ref1 != 0; i = (i + 1) & h->mask)
		;
	h->slots[i].hash = hash;
	h->slots[i].ref1 = ref1;
	h->n++;
}

static int
grow(struct htab *h)
{
	struct htab_slot *old = h->slots;
	uint32_t size = old ? (h->mask + 1) * 2 : 16, i,
	         n = old ? h->mask + 1 : 0;
	struct htab_slot *slots = calloc(size, sizeof(*slots));

	if (slots == NULL)
		return -1;
	h->slots = slots;
	h->mask = size - 1;
	h->n = 0;
	for (i = 0; i < n; i++)
		if (old[i].ref1 != 0)
			put(h, old[i].hash, old[i].ref1);
	free(old);
	return 0;
}

int
htab_insert(struct htab *h, uint32_t hash, uint32_t ref)
{
	if (ref == UINT32_MAX || h->n >= HTAB_MAX)
		return -1;
	if ((h->slots == NULL ||
	        (uint64_t)(h->n + 1) * 4 > (uint64_t)(h->mask + 1) * 3) &&
	    grow(h) < 0)
		return -1;
	put(h, hash, ref + 1);
	return 0;
}

void
htab_free(struct htab *h)
{
	free(h->slots);
	h->slots = NULL;
	h->mask = 0;
	h->n = 0;
}
