/*
 * rules.h - who may pass a gate or a barrier, as a pure function of the
 * request, the access tables, the device, live state and the time
 * (DESIGN §5).  No I/O, no clock
 * reads: the caller passes the time in, so every corner is unit-tested.
 */
#ifndef RULES_H
#define RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "plate.h"
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
	RULES_PLAN,           /* allow: a resident's vehicle with a plan */
	RULES_WRONG_WAY,      /* a car against a one-way lane */
	RULES_FULL,           /* the lot is full: visitors wait */
	RULES_LOW_CONFIDENCE, /* the camera is not sure of the plate */
	RULES_FIRE_ALARM,     /* allow: everything is released (fire.c) */
	RULES_FIRE_TEST,      /* allow: released for the yearly test */
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

/* A plate read at a barrier, decided. */
struct rules_vehicle {
	bool allow;
	enum rules_reason reason;
	enum direction direction; /* in or out */
	char plate[PLATE_MAX];    /* as normalised; "" when it is no plate */
	int matched;              /* access_match_plate(): 1, 0, -1 */
	struct access_plate_match match;
	const struct access_vehicle *vehicle; /* whose car it was, if known */
	const struct access_visitor *visitor;
	const struct access_deny *deny;
	bool uses_entry; /* count a visitor entry */
	unsigned entries_used;
};

/*
 * Decide a plate read at a barrier (DESIGN §5, vehicles).  lot_full: the
 * lot's occupancy is at its capacity (visitors wait).  The caller counts
 * a visitor's entry (uses_entry) once the decision is journaled; repeats
 * of a grant are the caller's (live state), not decided here.
 */
void rules_vehicle(const struct access_tables *, const struct device *barrier,
    const struct device *camera, const struct state *,
    const struct plate_read *, const struct rules_clock *, int64_t stale_ms,
    bool lot_full, struct rules_vehicle *);
/*
 * The alert type a decision raises, or NULL: a plate refused coming in
 * because nobody registered it ("vehicle_unknown") or because the deny
 * list names it ("vehicle_denied").  Other refusals are the car's own
 * business or the camera's (a lapsed plan, a visitor outside the window,
 * a full lot, a wrong way, a read too old or too unsure): journaled,
 * alerting nobody.  Going out alerts nothing: it always opens.
 */
const char *rules_vehicle_alert(const struct rules_vehicle *);
/* The vehicle rules' words for a barrier's display, in Chinese. */
const char *rules_vehicle_display(enum rules_reason);

/* "group", "unknown", "low_score" ...: the reason a gate and the office see. */
const char *rules_reason_code(enum rules_reason);
/* What the gate's screen shows for a refusal, in Chinese. */
const char *rules_reason_display(enum rules_reason);

#endif
