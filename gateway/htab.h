/*
 * htab.h - a hash index: open addressing over 8-byte slots, each a key's
 * 32-bit hash and a 32-bit reference the caller gives meaning to (an
 * index into its array, an offset into its pool).  The caller hashes its
 * keys and says when two are equal; the index never holds a key itself.
 */
#ifndef HTAB_H
#define HTAB_H

#include <stdbool.h>
#include <stdint.h>

/* At most this many entries (a table of 2^31 slots is the largest). */
#define HTAB_MAX (UINT32_C(1) << 30)

struct htab_slot {
	uint32_t hash;
	uint32_t ref1; /* the reference + 1; 0: an empty slot */
};

/* A zeroed htab is empty and ready. */
struct htab {
	struct htab_slot *slots;
	uint32_t mask; /* slots - 1; a power of two, at most 3/4 full */
	uint32_t n;
};

/* Is the caller's entry ref the key? */
typedef bool (*htab_eq_fn)(const void *ctx, uint32_t ref, const void *key);

/* FNV-1a, for keys staff write (ids, cards, plates): short, and no
 * adversary worth a keyed hash. */
uint32_t htab_hash_str(const char *);
/* 64-bit FNV-1a over a, a separator, b, finalised: a key of two strings
 * (a device and a request id) whose hash stands for it, its low 32 bits
 * good for probing. */
uint64_t htab_hash_pair(const char *a, const char *b);

/* The reference stored under an equal key, or -1. */
int64_t htab_find(const struct htab *, uint32_t hash, htab_eq_fn,
    const void *ctx, const void *key);
/*
 * Store ref (below UINT32_MAX) under hash, without looking for an equal
 * key first: that is the caller's choice.  0, or -1 when memory runs
 * out or HTAB_MAX entries are there (the index is then unchanged).
 */
int htab_insert(struct htab *, uint32_t hash, uint32_t ref);
void htab_free(struct htab *);

#endif
