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

#include "driver.h"
#include "htab.h"
#include "plate.h"
#include "strpool.h"

struct dedup;
struct incident_table;

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

/*
 * A barrier's lane: its last grant, and its loop detector.  Each grant
 * lets one car through; the loop's passages are matched against it.
 */
struct lane_state {
	char plate[PLATE_MAX];    /* the last grant's plate */
	int64_t grant_ms;         /* when it was granted; 0: never */
	enum direction grant_dir; /* in or out */
	bool pending;             /* granted, and no passage on the loop yet */
	int loop;                 /* -1 not read yet, 0 open, 1 a car on it */
};

/* A visitor's car inside: overstay is timed from here. */
struct state_stay {
	char visitor[SUBJECT_MAX + 1];
	char plate[PLATE_MAX];
	int64_t since_ms, until_ms; /* in at; overstays after */
	bool alerted;               /* the overstay was journaled */
};

/* A charging port: what it last read, and its session. */
struct port_live {
	int state;    /* enum port_state; -1 not read (offline) */
	bool enabled; /* its output, as last read */
	double power_w, current_a, temp_c, energy_wh;
	unsigned fault; /* the fault code last journaled; 0 none */
	int pub_state;  /* as published: -1 offline, -2 not yet */
	double pub_power_w, pub_temp_c;
	char session[64]; /* "" between sessions */
	int64_t started_ms;
	double energy_start, peak_power_w, peak_temp_c;
	int64_t low_since_ms;    /* drawing below full_w since; 0 not */
	bool hot;                /* cut for heat, not yet cooled */
	const char *stop_reason; /* why the gateway stopped it, for the end */
	int64_t cut_ms;          /* the last cut sent */
};

/* A staff request sent to a charging point, waiting for its answer. */
struct charger_pending {
	char request[REQUEST_ID_MAX + 1];
	unsigned device, port;
	int64_t deadline_ms;
};

#define STATE_PENDING_MAX 64

/*
 * A time by a 64-bit hash, in a table of STATE_MARKS: the events cameras
 * opened lately, by (camera, event id, type) (camera.c), and when each
 * device last raised an alert of each type, by (device, type), for the
 * cool-downs (pipeline_alert()).  Bounded: when full, the oldest mark
 * makes room.
 */
struct state_mark {
	uint64_t key;
	int64_t at_ms; /* 0: a free slot */
};

#define STATE_MARKS 1024

/* One device's live state, by its index in config->devices. */
struct device_state {
	int online;        /* -1 unknown, 0 offline, 1 online */
	int64_t online_ms; /* when online last changed (wall clock); 0 */
	uint64_t rejected; /* bad payloads seen */
	uint64_t duplicates;
	uint64_t warned_ms; /* last rate-limited warning */
	uint64_t direction_warned_ms;
	uint64_t duplicate_warned_ms;
	uint64_t status_warned_ms;
	uint64_t problem_warned_ms; /* its bus's problems, journaled */
	struct junk rejected_junk, duplicate_junk;
	struct lane_state lane;  /* barriers */
	struct port_live *ports; /* charging points: ports[0] is port 1 */
	unsigned nports;
	double meter_power_w, meter_energy_wh; /* meters, as published */
	bool meter_published;
	int64_t offline_ms; /* offline since, not yet alerted; 0 */
	int fire;           /* fire devices: -1 not read, 0 normal, 1 alarm */
};

/*
 * The fire release (fire.c).  Held from the first alarm until staff
 * reset it after every alarm has cleared; a test holds everything for
 * its seconds.  Rebuilt at start from the journal's last alarm record.
 */
enum fire_mode {
	FIRE_NORMAL = 0, /* nothing held */
	FIRE_ALARM,      /* a fire device says alarm */
	FIRE_CLEARED,    /* none says alarm now: held until the reset */
	FIRE_TEST,       /* the yearly test: held until test_until_ms */
};

struct fire_live {
	enum fire_mode mode;
	int64_t since_ms;      /* the mode began (wall clock) */
	int64_t test_until_ms; /* FIRE_TEST: restored then (wall clock) */
	uint64_t warned_ms;    /* staff requests rejected: logged then */
};

/*
 * Wellbeing checks (care.c): each person with care in the tables in
 * force, by id (sorted, for a binary search on every pass).  Allocated
 * once, STATE_CARE_MAX entries; the pages of entries never used are
 * never touched.
 */
#define STATE_CARE_MAX      4096
#define STATE_HOUSEHOLD_MAX 48

struct care_watch {
	char person[SUBJECT_MAX + 1];
	char household[STATE_HOUSEHOLD_MAX]; /* "" when none */
	uint8_t level;                       /* enum access_care */
	bool owed;        /* a care_watch record is still to be journaled */
	int64_t since_ms; /* the last pass, or when first known */
	int64_t alert_ms; /* the last care record of this absence; 0 none */
	int64_t due_ms;   /* the next care record */
	/* At start only: what the journal said (care_restore_row). */
	int64_t pass_ms;   /* the last pass; 0 none */
	int64_t rec_ms;    /* the last care, care_watch or care_end; 0 */
	int64_t rec_since; /* its "since" */
	uint8_t rec;       /* which: care.c's CARE_REC_* */
};

struct care_live {
	struct care_watch *watch; /* STATE_CARE_MAX of them */
	size_t n;
	int64_t next_ms;  /* nothing is due before; INT64_MAX: nothing */
	const char **ids; /* care_begin() to care_start(): the ids read */
	bool warned_full; /* more persons with care than STATE_CARE_MAX */
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

	/* The car park: vehicles inside, and visitors' cars among them. */
	int occupancy;
	struct state_stay *stays;
	size_t nstays, stays_cap;

	struct fire_live fire;

	/* Staff requests to charging points waiting for their answer. */
	struct charger_pending pending[STATE_PENDING_MAX];
	size_t npending;

	/* Cameras' events opened; every device's alerts (cool-downs). */
	struct state_mark camera_opened[STATE_MARKS];
	struct state_mark alerted[STATE_MARKS];
	/* The first tick: devices not heard from are offline since. */
	int64_t started_ms;

	/* Incidents (incident_live.c); NULL where nobody made the table. */
	struct incident_table *incidents;

	/* Wellbeing checks. */
	struct care_live care;
};

struct state *state_new(size_t ndevices);
void state_free(struct state *);

struct device_state *state_device(struct state *, unsigned index);

/* The mark of key in v (STATE_MARKS of them), or NULL. */
struct state_mark *state_mark_find(struct state_mark *v, uint64_t key);
/* key marked at at_ms, in its own slot, a free one, or the oldest. */
void state_mark_set(struct state_mark *v, uint64_t key, int64_t at_ms);
/* Is now within ms after the mark (NULL: no)?  A clock stepped back
 * ends it. */
bool state_mark_within(const struct state_mark *, int64_t now, int64_t ms);

/* Entries a visitor has used; 0 for one never seen. */
unsigned state_entries_used(const struct state *, const char *visitor);
/* Count n more entries used by visitor.  0 or -1 (out of memory). */
int state_entries_add(struct state *, const char *visitor, unsigned n);

/* A visitor's car came in: its stay is timed.  0, or -1 (no memory, or
 * STATE_STAYS_MAX stays already). */
#define STATE_STAYS_MAX 4096
int state_stay_begin(struct state *, const char *visitor, const char *plate,
    int64_t since_ms, int64_t until_ms);
/* The car with this plate left: its stay, if any, ends.  Whether one
 * ended. */
bool state_stay_end(struct state *, const char *plate);
/* The stay of the car with this plate, or NULL. */
struct state_stay *state_stay_find(struct state *, const char *plate);

#endif
