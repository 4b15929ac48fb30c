/*
 * strpool.h - strings stored end to end in one buffer and named by their
 * 32-bit offset: half the size of a pointer, one allocation for them all.
 * Not a set (the same string added twice is there twice), not for strings
 * that change; offset 0 is always "".
 */
#ifndef STRPOOL_H
#define STRPOOL_H

#include <stddef.h>
#include <stdint.h>

/* A zeroed pool is empty and ready. */
struct strpool {
	char *buf;
	uint32_t len, cap;
};

/*
 * Store s[0..n) and a NUL; *off names it.  An empty string is offset 0
 * and takes no room.  0, or -1 when memory or the 4 GB of offsets are
 * used up (the pool is then unchanged).
 */
int strpool_add(struct strpool *, const char *s, size_t n, uint32_t *off);
const char *strpool_str(const struct strpool *, uint32_t off);
/* Give back what doubling left unused, once nothing more is added. */
void strpool_shrink(struct strpool *);
void strpool_free(struct strpool *);

#endif
