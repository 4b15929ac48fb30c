/*
 * access_private.h - the inside of the access tables, shared by access.c
 * (which looks things up in them) and access_load.c (which fills them
 * from access.d).  Nobody else includes it.
 */
#ifndef ACCESS_PRIVATE_H
#define ACCESS_PRIVATE_H

#include "access.h"
#include "htab.h"
#include "strpool.h"

#define ACCESS_VISITOR_BIT 0x80000000u /* a card's owner is a visitor */

struct access_card {
	access_str_t card;
	uint32_t owner; /* a person, or a visitor | ACCESS_VISITOR_BIT */
};

/* The hash indexes, each over one array and keyed by one field. */
enum access_index {
	ACCESS_BY_PERSON,         /* persons[].id */
	ACCESS_BY_CARD,           /* cards[].card */
	ACCESS_BY_VISITOR,        /* visitors[].id */
	ACCESS_BY_VISITOR_PERSON, /* visitors[].person */
	ACCESS_BY_VEHICLE,        /* vehicles[].plate */
	ACCESS_BY_DENY,           /* denies[].id */
	ACCESS_BY_PLATE,          /* plates[].plate */
	ACCESS_BY_SKELETON,       /* plates[].plate, read as plate_skeleton() */
	ACCESS_INDEXES
};

/*
 * Where an entry was written, for staff: its file (files[], plus one)
 * and its section header's line in 32 bits, so that 10 000 persons
 * cost 40 kB more.  0: not kept (past ACCESS_ORIGIN_FILES files or
 * ACCESS_ORIGIN_LINES lines, which no access.d staff edit reaches).
 */
typedef uint32_t access_origin_t;
#define ACCESS_ORIGIN_LINE_BITS 22
#define ACCESS_ORIGIN_LINES     (1u << ACCESS_ORIGIN_LINE_BITS)
#define ACCESS_ORIGIN_FILES     ((1u << (32 - ACCESS_ORIGIN_LINE_BITS)) - 1)

/* A registered plate: a resident's vehicle, visitors' cars, or both. */
struct access_plate {
	access_str_t plate;
	int32_t vehicle;      /* in vehicles[], or -1 */
	uint32_t first, n;    /* its visitors: plate_visitors[first..+n) */
	bool shares_skeleton; /* another registered plate reads alike */
};

struct access_tables {
	struct strpool pool;

	struct access_group groups[ACCESS_MAX_GROUPS];
	unsigned ngroups;
	struct access_person *persons;
	size_t npersons, persons_cap;
	struct access_visitor *visitors;
	size_t nvisitors, visitors_cap;
	struct access_vehicle *vehicles;
	size_t nvehicles, vehicles_cap;
	struct access_deny *denies;
	size_t ndenies, denies_cap;
	struct access_card *cards;
	size_t ncards, cards_cap;
	struct access_plate *plates; /* built last: access_index_plates() */
	size_t nplates;
	uint32_t *plate_visitors; /* visitors[] indices, grouped by plate */

	struct htab index[ACCESS_INDEXES];

	/* Where each entry was written: the files read, in order, and an
	 * origin beside each group, person, visitor, vehicle and deny. */
	char **files;
	size_t nfiles;
	access_origin_t group_origin[ACCESS_MAX_GROUPS];
	access_origin_t *person_origin, *visitor_origin, *vehicle_origin;
	access_origin_t *deny_origin;
};

/* The entry of the index's array whose key is key, or -1. */
int64_t access_index_find(const struct access_tables *, enum access_index,
    const char *key);
/*
 * Index entry i of the index's array under its key: -1 when added, else
 * the entry that already has that key (i is then not indexed).
 */
int64_t access_index_add(struct access_tables *, enum access_index, uint32_t i);

/* Every registered plate indexed, exactly and by skeleton: called once
 * the tables have loaded without a problem. */
void access_index_plates(struct access_tables *);

/* Order of a group's gates (device indices): qsort and bsearch. */
int access_gate_cmp(const void *, const void *);

#endif
