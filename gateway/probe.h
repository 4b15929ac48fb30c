/*
 * probe.h - whether the local broker lets in a client without a password
 * (DESIGN 4.3, [broker]): tried after the gateway first connects and
 * once an hour, never blocking the loop.
 */
#ifndef PROBE_H
#define PROBE_H

#include <uv.h>

struct config;
struct probe;

enum probe_verdict {
	PROBE_UNKNOWN, /* not tried yet, or the broker was not reached */
	PROBE_CLOSED,  /* an anonymous client was refused */
	PROBE_OPEN,    /* an anonymous client was let in */
	PROBE_PENDING, /* inside probe.c only: an attempt in flight */
};

/* changed: the verdict is now this (never UNKNOWN once known). */
struct probe *probe_new(uv_loop_t *, const struct config *,
    void (*changed)(void *arg, enum probe_verdict), void *arg);
/* The first attempt now, then one an hour; again: nothing. */
void probe_start(struct probe *);
enum probe_verdict probe_verdict(const struct probe *);
/* The attempt in flight abandoned, handles closed. */
void probe_stop(struct probe *);
/* After probe_stop: freed now or once the loop closed its handles. */
void probe_free(struct probe *);

#endif
