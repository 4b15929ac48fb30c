/*
 * rules.h - who may pass a gate, as a pure function of the request, the
 * access tables, the gate and the time (DESIGN §5).  No I/O, no clock
 * reads: the caller passes the time in, so every corner is unit-tested.
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "driver.h"
#include "state.h"

/* The time as the rules see it: now, and the local calendar. */
struct rules_clock {
	int64_t now_ms;
	int wday;      /* 0 = Sunday */
	int minute;    /* of the local day */
	int32_t today; /* yyyymmdd, local */
};

enum rules_reason {
	RULES_GROUP = 1, /* allow: one of the person's groups */
	RULES_VISITOR,   /* allow: a visitor in their window */
	RULES_EXIT,      /* allow: a known person going out */
	RULES_UNKNOWN,
	RULES_DENIED,
	RULES_EXPIRED,
	RULES_LOW_SCORE,
	RULES_OUTSIDE_HOURS,
	RULES_WRONG_GATE,
	RULES_VISITOR_WINDOW,
	RULES_NO_ENTRIES,
	RULES_STALE,
};

struct rules_decision {
	bool allow;
	enum rules_reason reason;
	enum direction direction;           /* in or out */
	const struct access_person *person; /* who it was, if known */
	const struct access_visitor *visitor;
	const struct access_group *group; /* the group that allowed,
	                                   * or whose hours refused */
	const struct access_deny *deny;
	bool uses_entry;       /* count a visitor entry */
	unsigned entries_used; /* a visitor's, before this one */
};

/* The local calendar at ms, in the process's time zone. */
void rules_clock_at(int64_t ms, struct rules_clock *);

/*
 * Decide a request at a gate.  The live state says how many entries each
 * visitor has used.  stale_ms > 0 refuses requests whose own timestamp is
 * further than that from now.  The caller counts a visitor's entry
 * (uses_entry) once the decision is journaled.
 */
void rules_gate(const struct access_tables *, const struct device *,
    const struct state *, const struct access_request *,
    const struct rules_clock *, int64_t stale_ms, struct rules_decision *);

/* "group", "unknown", "low_score" ...: the reason a gate and the office see. */
const char *rules_reason_code(enum rules_reason);
/* What the gate's screen shows for a refusal, in Chinese. */
const char *rules_reason_display(enum rules_reason);

#endif
