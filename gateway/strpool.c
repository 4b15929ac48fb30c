/*
 * strpool.c - strings end to end in one buffer, named by 32-bit offsets.
 * Offset 0 holds the "" that every empty string shares.
 */
#include <stdlib.h>
#include <string.h>

#include "strpool.h"

int
strpool_add(struct strpool *p, const char *s, size_t n, uint32_t *off)
{
	size_t need, cap;
	char *nb;

	if (n == 0) {
		*off = 0;
		return 0;
	}
	/* One byte for the "" at 0, then s and its NUL. */
	need = (p->len ? p->len : 1) + n + 1;
	if (n >= UINT32_MAX || need > UINT32_MAX)
		return -1;
	if (need > p->cap) {
		cap = p->cap ? p->cap : 4096;
		while (cap < need)
			cap *= 2;
		if (cap > UINT32_MAX)
			cap = UINT32_MAX;
		nb = realloc(p->buf, cap);
		if (nb == NULL)
			return -1;
		p->buf = nb;
		p->cap = (uint32_t)cap;
	}
	if (p->len == 0)
		p->buf[p->len++] = '\0';
	memcpy(p->buf + p->len, s, n);
	p->buf[p->len + n] = '\0';
	*off = p->len;
	p->len = (uint32_t)need;
	return 0;
}

const char *
strpool_str(const struct strpool *p, uint32_t off)
{
	return p->buf != NULL ? p->buf + off : "";
}

void
strpool_shrink(struct strpool *p)
{
	char *nb;

	if (p->len == 0 || p->len == p->cap)
		return;
	nb = realloc(p->buf, p->len);
	if (nb != NULL) {
		p->buf = nb;
		p->cap = p->len;
	}
}

void
strpool_free(struct strpool *p)
{
	free(p->buf);
	p->buf = NULL;
	p->len = 0;
	p->cap = 0;
}
