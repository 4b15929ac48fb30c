/*
 * incident.h - incidents and the 5341 rule (DESIGN §4.7) as live state
 * and decisions: which alert opens or joins which incident, what ack and
 * resolve change, which re-alerts and escalations are due.  No I/O and
 * no clock: the caller journals each step, sends the messages and
 * publishes the retained state.
 */
#ifndef INCIDENT_H
#define INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define INCIDENT_TYPE_MAX     32
#define INCIDENT_DEVICE_MAX   64
#define INCIDENT_OPERATOR_MAX 64 /* bytes; longer names are cut */

/* [incidents], in minutes (decimals allowed). */
struct incident_settings {
	double ack_min;     /* not acked: re-alert (5) */
	double minor_min;   /* not resolved: escalate (30) */
	double major_min;   /* also urgent's (240) */
	double complex_min; /* (1440) */
};

void incident_defaults(struct incident_settings *);

enum incident_state {
	INCIDENT_OPEN = 0,
	INCIDENT_ACKED,
	INCIDENT_RESOLVED,
};

struct incident {
	unsigned n; /* 1, 2, ...; 0: a free slot */
	char type[INCIDENT_TYPE_MAX + 1];
	char device[INCIDENT_DEVICE_MAX + 1];
	int severity; /* enum alert_severity */
	enum incident_state state;
	int64_t opened_ms, acked_ms, resolved_ms; /* 0: not yet */
	char acked_by[INCIDENT_OPERATOR_MAX + 1];
	char resolved_by[INCIDENT_OPERATOR_MAX + 1];
	uint32_t events; /* alerts in it: 1 + joins */
	bool realerted;  /* the ack deadline's step was taken */
	bool escalated;  /* the resolve deadline's step was taken */
	bool rang;       /* the duty mobiles were rung for it */
	int64_t due_ms;  /* its next step; 0: none left */
};

struct incident_table;

/* A table of at most cap incidents (open, acked, or resolved and kept
 * for answers); NULL when out of memory.  The settings are copied. */
struct incident_table *incident_table_new(size_t cap,
    const struct incident_settings *);
void incident_table_free(struct incident_table *);
/* A reload's new [incidents]: deadlines not yet passed move. */
void incident_settings_set(struct incident_table *,
    const struct incident_settings *);

enum incident_what {
	INCIDENT_OPENED,  /* a new incident: journal "open", send, publish */
	INCIDENT_JOINED,  /* counted in the open one: journal "join" */
	INCIDENT_IGNORED, /* severity none: no incident */
	INCIDENT_FULL,    /* no room: nothing tracked (see incident.c) */
};

struct incident_outcome {
	enum incident_what what;
	const struct incident *incident; /* NULL when ignored or full */
	bool ring; /* the first message rings the duty mobiles */
};

/* An alert-worthy event of type on device. */
struct incident_outcome incident_alert(struct incident_table *,
    const char *type, const char *device, int severity, int64_t now);

/*
 * Staff acknowledge or resolve incident n.  0: done (journal it and
 * publish); 1: nothing changed (acked again, or resolved twice: answer
 * ok, journal nothing); -1: refused, *err says why in words.
 */
int incident_ack(struct incident_table *, unsigned n, const char *by,
    int64_t now, const char **err);
int incident_resolve(struct incident_table *, unsigned n, const char *by,
    int64_t now, const char **err);

/* A device came back online: its open device_offline incident, which
 * stays open, or NULL.  The caller journals an "online" note. */
const struct incident *incident_online(struct incident_table *,
    const char *device, int64_t now);

/* One step due: phase "realert" or "escalate"; both ring the mobiles. */
typedef void incident_step_fn(void *arg, const struct incident *,
    const char *phase, bool ring);

/* Take every step due at now, oldest incident first; how many. */
size_t incident_due(struct incident_table *, int64_t now, incident_step_fn *,
    void *arg);
/* The earliest step due, in ms; 0 when none is pending. */
int64_t incident_next_due(const struct incident_table *);

const struct incident *incident_find(const struct incident_table *, unsigned n);
/* Each incident kept (open, acked, resolved and not yet given up). */
void incident_foreach(const struct incident_table *,
    void (*fn)(void *, const struct incident *), void *arg);
/* Incidents not resolved. */
size_t incident_open_count(const struct incident_table *);
/* The number the next incident will have. */
unsigned incident_next_number(const struct incident_table *);

/*
 * One journal record of kind "incident" (body as stored, its time),
 * oldest first: rebuilds the table and the counter.  0 applied, -1 not
 * an incident record or unreadable (ignored).
 */
int incident_restore(struct incident_table *, int64_t ts_ms, const char *body,
    size_t len);

/* The retained incident/<n>/state payload (a new reference). */
json_t *incident_state_json(const struct incident *);
/* The members an incident record adds to its journal_record (kind
 * "incident", device the incident's): phase, incident, type, severity,
 * operator when one is given.  A new reference. */
json_t *incident_record_extra(const struct incident *, const char *phase,
    const char *by);

#endif
