/*
 * care.h - wellbeing checks (DESIGN 5): a person with care = daily,
 * weekly or monthly who passes no gate for that long raises a quiet
 * record for their building's steward, once a period, until they pass.
 * Not an incident; the robot (not this file) sends the text.
 */
#ifndef CARE_H
#define CARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pipeline;

/* An allowed pass of a person at any gate, in or out (gate.c, after
 * the allow record): their clock starts again, and an alert in course
 * ends with a care_end record. */
void care_pass(struct pipeline *, const char *person, int64_t ts_ms);

/* About once a second: records that are due.  Returns at once when
 * nothing is; at most CARE_TICK_MAX records a call. */
#define CARE_TICK_MAX 32
void care_tick(struct pipeline *, int64_t now_ms);

/* The tables were swapped (a reload): persons gone or without care are
 * no longer watched; persons new to care are, from now_ms. */
void care_reloaded(struct pipeline *, int64_t now_ms);

/*
 * At start, with the tables in force:
 *   ids = care_begin(p, now, &n);          whom to watch
 *   rc = journal_care_rows(j, ids, n, care_restore_row, p);
 *   care_start(p, now, rc == 0);
 * care_begin's ids stay valid until care_start.  A person the journal
 * knows nothing of is watched from now_ms, and a care_watch record
 * keeps that instant for the next start; when the read failed
 * (restored false) nobody's clock is written down, so that a good read
 * at the next start still finds the truth.
 */
const char *const *care_begin(struct pipeline *, int64_t now_ms, size_t *n);
void care_restore_row(void *pipeline, int64_t ts_ms, const char *body,
    size_t len);
void care_start(struct pipeline *, int64_t now_ms, bool restored);

#endif
