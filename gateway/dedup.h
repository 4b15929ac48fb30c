/*
 * dedup.h - request ids seen in the last ten minutes, per device, so a
 * QoS 1 redelivery or a replay never actuates a gate twice.  Bounded:
 * under a flood the oldest ids are forgotten first.
 */
#ifndef DEDUP_H
#define DEDUP_H

#include <stdbool.h>
#include <stdint.h>

#define DEDUP_WINDOW_MS (10 * 60 * 1000)

struct dedup;

struct dedup *dedup_new(int64_t window_ms, uint32_t max_entries);
void dedup_free(struct dedup *);
/*
 * Has (device, request) been seen within the window before now?  Either
 * way it is remembered as seen at now (first sighting is kept).
 * *first_ms gets the time of the earlier sighting.
 */
bool dedup_seen(struct dedup *, const char *device, const char *request,
    int64_t now, int64_t *first_ms);

#endif
