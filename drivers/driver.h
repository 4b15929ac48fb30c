/*
 * driver.h - the contract between the core and a kind of device.
 *
 * A driver turns one kind of device's wire format into events and the
 * core's commands into wire format.  It never touches MQTT, SQLite, HTTP
 * or timers: the core calls it with bytes and gets bytes back, so a
 * driver is tested without a socket.  Adding a vendor is adding one file
 * and one line in registry.c.
 */
#ifndef DRIVER_H
#define DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum device_class {
	DEVICE_GATE = 1, /* a pedestrian gate: face terminal, card reader */
};

enum direction {
	DIRECTION_IN = 1,
	DIRECTION_OUT = 2,
	DIRECTION_BOTH = 3, /* device setting only: the event says which */
};

/* One configured device: [device ID] in gateway.ini. */
struct device {
	char *id;
	const struct driver *driver;
	void *priv;     /* the driver's own settings */
	unsigned index; /* position in config->devices */
	char *file;     /* where it was configured */
	int line;

	/* Set by the driver from its section; read by the rules. */
	char *zone; /* optional */
	enum direction direction;
	double min_score; /* face gates */
	int open_ms;      /* how long an open lasts */

	/* Run-time state, owned by the core. */
	int online;         /* -1 unknown, 0 offline, 1 online */
	uint64_t rejected;  /* bad payloads seen */
	uint64_t warned_ms; /* last rate-limited warning */
	uint64_t direction_warned_ms;
};

enum credential {
	CREDENTIAL_FACE = 1,
	CREDENTIAL_CARD = 2,
};

#define REQUEST_ID_MAX 64 /* longer ids are unreadable */
#define SUBJECT_MAX    64
#define SNAPSHOT_MAX   512

/* A person at a gate asking to pass: what a driver decodes. */
struct access_request {
	char request[REQUEST_ID_MAX + 1]; /* "" when unreadable */
	enum credential credential;
	char subject[SUBJECT_MAX + 1];   /* person id or card */
	double score;                    /* face match score, -1 when absent */
	enum direction direction;        /* 0: not said; the gate's own */
	int64_t ts_ms;                   /* the device's timestamp, 0: none */
	char snapshot[SNAPSHOT_MAX + 1]; /* a URL on the device */
};

enum gate_action {
	GATE_OPEN = 1,
	GATE_DENY,
	GATE_HOLD_OPEN,
	GATE_NORMAL,
};

/* What the core tells a gate to do. */
struct gate_command {
	enum gate_action action;
	const char *request; /* the id being answered, or NULL */
	const char *reason;  /* machine-readable, deny only */
	const char *display; /* text for the terminal's screen */
	int open_ms;
};

enum driver_decode {
	DRIVER_OK = 0,     /* out is a complete request */
	DRIVER_BAD = -1,   /* malformed: err says why; out->request is
	                    * set when the id could still be read */
	DRIVER_IGNORE = 1, /* a subtopic this driver does not handle */
};

struct driver {
	const char *name; /* "driver = face_gate" */
	enum device_class class;
	const char *topic_kind; /* cg/<site>/<kind>/<id>/... */
	/* Subtopics to subscribe to under cg/<site>/<kind>/<id>/. */
	const char *const *subtopics;

	/* Give the device its defaults.  0 or -1. */
	int (*init)(struct device *);
	/* One key of the device's section ("driver" is the core's).
	 * 0, or -1 with err filled for an unknown key or a bad value. */
	int (*set)(struct device *, const char *key, const char *value,
	    char *err, size_t errlen);
	/* The whole section has been read.  0, or -1 with err. */
	int (*check)(struct device *, char *err, size_t errlen);
	void (*free)(struct device *);

	/* An MQTT message on one of the subtopics. */
	enum driver_decode (*decode)(const struct device *,
	    const char *subtopic, const void *payload, size_t len,
	    struct access_request *out, char *err, size_t errlen);
	/* A command as the payload for cg/<site>/<kind>/<id>/cmd.
	 * Returns the length written (no NUL counted), or -1. */
	int (*encode)(const struct device *, const struct gate_command *,
	    char *buf, size_t size);
};

/* registry.c: the driver called name, or NULL. */
const struct driver *driver_find(const char *name);

#endif
