/*
 * access.h - who may pass: persons, groups, visitors, vehicles and denied
 * ids from access.d/ *.ini files, loaded into compact read-only tables with
 * O(1) lookups.  A reload builds new tables and the daemon swaps them in one
 * step; tables never change once loaded (entries used are state.h's).
 */
#ifndef ACCESS_H
#define ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "diag.h"
#include "schedule.h"

struct config;

#define ACCESS_MAX_GROUPS 64 /* a person's groups are a bit mask */

enum access_care {
	ACCESS_CARE_NONE = 0,
	ACCESS_CARE_DAILY,
	ACCESS_CARE_WEEKLY,
	ACCESS_CARE_MONTHLY,
};

enum access_plan {
	ACCESS_PLAN_MONTHLY = 1,
	ACCESS_PLAN_OWNER,
	ACCESS_PLAN_STAFF,
};

/* Strings are offsets into the tables' pool: access_str().  0 is "". */
typedef uint32_t access_str_t;

struct access_group {
	char *name;
	bool all_gates;  /* gates = * */
	uint16_t *gates; /* device indices (config order), sorted */
	size_t ngates;
	struct schedule hours;
};

struct access_person {
	access_str_t id, name, household; /* household may be "" */
	uint64_t groups;                  /* bit i: access_group(t, i) */
	int32_t valid_until; /* yyyymmdd, last valid day; 0: none */
	uint8_t care;        /* enum access_care */
};

struct access_visitor {
	access_str_t id, name, host;      /* host: a household */
	access_str_t person, card, plate; /* "" when not given */
	int64_t from, until;              /* epoch seconds, [from, until) */
	uint16_t entries;                 /* allowed entries */
};

struct access_vehicle {
	access_str_t plate, household;
	uint8_t plan;        /* enum access_plan */
	int32_t valid_until; /* yyyymmdd; 0: none */
};

struct access_deny {
	access_str_t id, reason;
};

struct access_counts {
	size_t groups, persons, visitors, vehicles, denied;
};

struct access_tables;

/*
 * access_load.c: read every *.ini file in access_dir (in name order)
 * against the devices of config.  Every problem goes to diag as
 * "file:line: message"; the result is NULL when there was any.  Safe to
 * call from a worker thread: it reads config and files, and touches
 * nothing else.
 */
struct access_tables *access_load(const struct config *, struct diag *);
void access_free(struct access_tables *);

const char *access_str(const struct access_tables *, access_str_t);
void access_counts(const struct access_tables *, struct access_counts *);
/* "2 gates, 3 groups, 4 persons, 2 visitors, 2 denied" (and ", 2
 * barriers, 5 vehicles" when there are barriers): what gatewayd -t, the
 * start and every reload say of the tables in force. */
void access_summary(const struct access_tables *, const struct config *,
    char *buf, size_t size);

const struct access_group *access_group(const struct access_tables *,
    unsigned i);
bool access_group_allows_gate(const struct access_group *,
    unsigned device_index);

/*
 * Lookups: NULL when not found.  Ids and cards are matched exactly.
 * Vehicles, visitors' plates and [deny] ids that are plates are stored
 * as plate_normalise() (plate.h) writes them: look them up so too.
 */
const struct access_person *access_find_person(const struct access_tables *,
    const char *id);
const struct access_person *access_find_card(const struct access_tables *,
    const char *card);
const struct access_visitor *access_find_visitor(const struct access_tables *,
    const char *visitor_id);
/* The visitor a face terminal reports by their "person = " id. */
const struct access_visitor *
access_find_visitor_person(const struct access_tables *, const char *person_id);
const struct access_visitor *
access_find_visitor_card(const struct access_tables *, const char *card);
const struct access_vehicle *access_find_vehicle(const struct access_tables *,
    const char *plate);
const struct access_deny *access_find_deny(const struct access_tables *,
    const char *id);

/*
 * A plate as read (plate_normalise()d) against the registered plates:
 * residents' vehicles and visitors' cars.  1 when it is one of them, or
 * when exactly one of them fits it as a misread (plate_skeleton(): the
 * match is then fuzzy); 0 when none fits; -1 when several fit, which
 * proves nothing.
 */
struct access_plate_match {
	const char *plate; /* the registered plate */
	bool fuzzy;
	const struct access_vehicle *vehicle; /* a resident's, or NULL */
	size_t nvisitors;                     /* visitors with this plate */
	const uint32_t *visitors_;            /* access_match_visitor() */
};
int access_match_plate(const struct access_tables *, const char *plate,
    struct access_plate_match *);
/* The i-th visitor (of nvisitors) of a matched plate, in file order. */
const struct access_visitor *access_match_visitor(const struct access_tables *,
    const struct access_plate_match *, size_t i);

/*
 * Where an entry of these tables was written, for staff:
 * "access.d/residents.ini:12", the line of its section header.  entry is
 * a person, visitor, vehicle, deny or group these tables returned.  0,
 * or -1 (buf "") when it is none of theirs.
 */
int access_where(const struct access_tables *, const void *entry, char *buf,
    size_t size);
/* The files the tables were read from, in the order read. */
size_t access_nfiles(const struct access_tables *);
const char *access_file(const struct access_tables *, size_t i);

/* Every person, in file order: the wellbeing checks (care.c) walk them. */
size_t access_npersons(const struct access_tables *);
const struct access_person *access_person_at(const struct access_tables *,
    size_t i);

/* Every visitor, in file order: for listing them. */
size_t access_nvisitors(const struct access_tables *);
const struct access_visitor *access_visitor_at(const struct access_tables *,
    size_t i);

#endif
