/*
 * inflight.h - records published and not yet acknowledged, in the order
 * they were published: acknowledgements come in any order, the cursor
 * may only move over a contiguous prefix of them.  No I/O.
 */
#ifndef INFLIGHT_H
#define INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inflight_slot {
	int mid; /* the MQTT message id */
	int64_t seq;
	int64_t ts_ms; /* the record's time, for the backlog's age */
	bool acked;
};

struct inflight {
	struct inflight_slot *slots;
	size_t cap, head, n;
};

int inflight_init(struct inflight *, size_t cap);
void inflight_free(struct inflight *);
static inline bool
inflight_full(const struct inflight *w)
{
	return w->n == w->cap;
}
/* Published: seq, greater than any before, as mid.  -1 when full. */
int inflight_add(struct inflight *, int mid, int64_t seq, int64_t ts_ms);
/*
 * mid was acknowledged: the greatest seq up to which every record is
 * acknowledged, now that this one is, and those leave the window; 0 when
 * that did not move (an earlier one still waits, or mid is not here).
 */
int64_t inflight_ack(struct inflight *, int mid);
/* The oldest record not acknowledged, or NULL. */
const struct inflight_slot *inflight_oldest(const struct inflight *);
/* Forget them all (a restart of the window: they are published again). */
void inflight_clear(struct inflight *);

#endif
