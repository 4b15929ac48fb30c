/*
 * inflight.c - the window of records published and not yet acknowledged:
 * a ring in publish order, searched by message id (a window is at most a
 * few hundred), released from its head as acknowledgements close gaps.
 */
#include <stdlib.h>

#include "inflight.h"

int
inflight_init(struct inflight *w, size_t cap)
{
	w->slots = calloc(cap > 0 ? cap : 1, sizeof(*w->slots));
	w->cap = cap > 0 ? cap : 1;
	w->head = 0;
	w->n = 0;
	return w->slots != NULL ? 0 : -1;
}

void
inflight_free(struct inflight *w)
{
	free(w->slots);
	w->slots = NULL;
	w->cap = w->n = 0;
}

int
inflight_add(struct inflight *w, int mid, int64_t seq, int64_t ts_ms)
{
	struct inflight_slot *s;

	if (inflight_full(w))
		return -1;
	s = &w->slots[(w->head + w->n) % w->cap];
	s->mid = mid;
	s->seq = seq;
	s->ts_ms = ts_ms;
	s->acked = false;
	w->n++;
	return 0;
}

int64_t
inflight_ack(struct inflight *w, int mid)
{
	struct inflight_slot *s;
	int64_t through = 0;
	size_t i;

	for (i = 0; i < w->n; i++) {
		s = &w->slots[(w->head + i) % w->cap];
		if (s->mid == mid && !s->acked) {
			s->acked = true;
			break;
		}
	}
	if (i == w->n)
		return 0;
	while (w->n > 0 && w->slots[w->head].acked) {
		through = w->slots[w->head].seq;
		w->head = (w->head + 1) % w->cap;
		w->n--;
	}
	return through;
}

const struct inflight_slot *
inflight_oldest(const struct inflight *w)
{
	return w->n > 0 ? &w->slots[w->head] : NULL;
}

void
inflight_clear(struct inflight *w)
{
	w->head = 0;
	w->n = 0;
}
