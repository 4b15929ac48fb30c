/*
 * state.h - the loop's live state: what changes while the gateway runs,
 * kept apart from the configuration and the access tables (which never
 * change after load, so a reload is one pointer swap).  Rebuilt from
 * the journal at start.  Only the loop thread touches it.
 */
#ifndef STATE_H
#define STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "htab.h"
#include "strpool.h"

struct dedup;

/*
 * Messages that act on nothing (rejected, duplicates, unknown devices),
 * journaled as aggregates so that a flood cannot fill the card: the
 * first of a minute gets its own record, the rest of that minute one
 * record with their count and a sample.
 */
struct junk {
	int64_t since_ms; /* the minute being counted began; 0: none */
	int64_t last_ms;
	uint32_t count;  /* in this minute, not journaled one by one */
	char sample[96]; /* the first of them: why, or which device */
};

/* One device's live state, by its index in config->devices. */
struct device_state {
	int online;        /* -1 unknown, 0 offline, 1 online */
	uint64_t rejected; /* bad payloads seen */
	uint64_t duplicates;
	uint64_t warned_ms; /* last rate-limited warning */
	uint64_t direction_warned_ms;
	uint64_t duplicate_warned_ms;
	uint64_t status_warned_ms;
	uint64_t problem_warned_ms; /* its bus's problems, journaled */
	struct junk rejected_junk, duplicate_junk;
};

struct state {
	struct dedup *dedup; /* request ids seen, per device */
	struct device_state *devices;
	size_t ndevices;
	/* access.d did not validate at start: the tables in force are the
	 * last good ones from data_dir, until a reload succeeds. */
	bool on_snapshot;
	uint64_t rejected;          /* bad payloads, all devices */
	uint64_t unknown_warned_ms; /* messages from unknown devices */
	struct junk unknown_junk;

	/* Visitors' entries used, by visitor id: private to state.c. */
	struct strpool visitor_ids;
	struct state_visit *visits; /* by the index's reference */
	uint32_t nvisits, visits_cap;
	struct htab by_visitor;
};

struct state *state_new(size_t ndevices);
void state_free(struct state *);

struct device_state *state_device(struct state *, unsigned index);

/* Entries a visitor has used; 0 for one never seen. */
unsigned state_entries_used(const struct state *, const char *visitor);
/* Count n more entries used by visitor.  0 or -1 (out of memory). */
int state_entries_add(struct state *, const char *visitor, unsigned n);

#endif
