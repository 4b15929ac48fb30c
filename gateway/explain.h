/*
 * explain.h - why a person, card, visitor or plate would pass a gate or a
 * barrier, or not, in words staff understand and naming the file:line of
 * the entry that decided (gatewayctl explain).  The rules decide
 * (rules.h); this only asks them and says what they answered.
 */
#ifndef EXPLAIN_H
#define EXPLAIN_H

#include <jansson.h>

#include "access.h"
#include "config.h"
#include "rules.h"
#include "state.h"

/*
 * Who "who" is (a person id, a card, a visitor id, a visitor's person id
 * or card, or a plate, normalised as plate.h does) and, for gate, or for
 * every gate and barrier when gate is NULL, what the rules would decide
 * for them at clock: a face at the gate's min_score, their card, or
 * their plate read coming in at the camera's min_confidence.
 * fire_reason is fire_release_reason(): 0, RULES_FIRE_ALARM or
 * RULES_FIRE_TEST.  Pure: no I/O and no clock.  A new object:
 *
 *   {"who":"P0001","found":true,"as":"person","by":"id","name":"张三",
 *    "household":"5-2-301","where":"access.d/residents.ini:12",
 *    "at":"2026-11-23 22:14",
 *    "verdicts":[{"device":"gate-north","kind":"gate","allow":false,
 *                 "reason":"outside_hours","group":"cleaner",
 *                 "words":"group cleaner lets in 06:00-20:00 only; it is "
 *                         "22:14",
 *                 "where":"access.d/groups.ini:7"}, ...]}
 *
 * "as": person, visitor, vehicle, denied (only a [deny] names it) or
 * unknown ("found":false); "match":"fuzzy" when a plate fits one
 * registered plate only as a camera's misread; a verdict's "where" is
 * null when no entry decided, its "reason" one of rules_reason_code()'s
 * or "not_applicable" (a plate at a gate, a person at a barrier), and
 * "overruled" the reason a fire release set aside.
 */
json_t *explain(const struct access_tables *, const struct config *,
    const struct state *, const char *who, const struct device *gate,
    const struct rules_clock *, int fire_reason);

#endif
