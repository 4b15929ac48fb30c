/*
 * driver.h - the contract between the core and a kind of device.
 *
 * A driver turns one kind of device's wire format into typed events and
 * the core's typed commands into wire format.  It never touches the
 * broker, a bus, the journal or a timer: the core hands it bytes (an MQTT
 * payload) or register values (a Modbus poll) and gets events back, and
 * asks it for the payload or the register writes of a command, which the
 * core then sends.  So a driver is tested without a socket, and adding a
 * vendor is adding one file and one line in registry.c.
 *
 * Lifecycle: the core allocates priv_size bytes (zeroed) for a device's
 * own settings, calls defaults(), sets each key of its section through
 * the schema in keys[], calls check() at the end of the section and,
 * once every section of gateway.ini has been read, link() (a barrier
 * names its camera).  After that the device and its priv are read-only:
 * what changes while running is the core's live state, not the device's.
 */
#ifndef DRIVER_H
#define DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"

struct config;

/* What a device is for: routes its events to the right rules. */
enum device_class {
	DEVICE_GATE = 1, /* a pedestrian gate: face terminal, card reader */
	DEVICE_LPR,      /* a plate camera */
	DEVICE_BARRIER,  /* a parking barrier */
	DEVICE_CAMERA,   /* a camera's (or an NVR's) analytics */
	DEVICE_CHARGER,  /* a charging point */
	DEVICE_METER,    /* an energy meter */
	DEVICE_FIRE,     /* a fire panel's alarm */
	DEVICE_CLASS_MAX,
};

enum direction {
	DIRECTION_IN = 1,
	DIRECTION_OUT = 2,
	DIRECTION_BOTH = 3, /* device setting only: the event says which */
};

/* One configured device: [device ID] in gateway.ini.  Read-only once
 * configured; live state (online, counters) is the core's. */
struct device {
	char *id;
	const struct driver *driver;
	void *priv;     /* the driver's own settings: priv_size bytes */
	unsigned index; /* position in config->devices */
	char *file;     /* where it was configured */
	int line;
	/* Its identity on the broker ("password_file"), for `gatewayctl
	 * broker`; NULL: none.  Only for devices that connect themselves
	 * (device_mqtt_client()); the gateway never reads it. */
	char *password_file;
};

/*
 * What the access rules need of a gate, whatever its driver: a driver of
 * class DEVICE_GATE keeps this at the start of its priv (device_gate()).
 */
struct gate_settings {
	char *zone; /* optional */
	enum direction direction;
	double min_score; /* face matches below it prove nothing */
	int open_ms;      /* how long an open lasts */
};

/*
 * What the vehicle rules need of a barrier, whatever its driver: a driver
 * of class DEVICE_BARRIER keeps this at the start of its priv
 * (device_barrier()).
 */
struct barrier_settings {
	enum direction lane;         /* the way cars may pass */
	int open_ms;                 /* how long an open pulse lasts */
	int loop_input;              /* its loop detector's bit in EVENT_INPUT
	                              * levels; -1: no loop */
	char *camera_id;             /* "camera =" as written, or NULL */
	const struct device *camera; /* its plate camera, or NULL (link()) */
};

/*
 * What the vehicle rules need of a plate camera: a driver of class
 * DEVICE_LPR keeps this at the start of its priv (device_lpr()).
 */
struct lpr_settings {
	double min_confidence; /* reads below it open nothing coming in */
	/* The barrier whose camera = names it, or NULL: set by that
	 * barrier's link() (barrier_link()). */
	const struct device *barrier;
};

/* ---- events: what devices say ---- */

enum event_type {
	EVENT_ACCESS = 1, /* a person asks to pass: face or card */
	EVENT_PLATE,      /* a plate camera read a plate */
	EVENT_CAMERA,     /* camera analytics saw something */
	EVENT_FIRE,       /* a fire panel's alarm state */
	EVENT_TELEMETRY,  /* measurements: a charging port, a meter */
	EVENT_INPUT,      /* digital inputs' levels: loop detector, contacts */
	EVENT_STATUS,     /* the device says it is online or offline */
	EVENT_CHARGER_REQUEST, /* staff ask a charging port to start or stop */
};

enum credential {
	CREDENTIAL_FACE = 1,
	CREDENTIAL_CARD = 2,
};

#define REQUEST_ID_MAX  64 /* longer ids are unreadable */
#define SUBJECT_MAX     64
#define SNAPSHOT_MAX    512
#define PLATE_TEXT_MAX  40 /* a plate as read, before normalising */
#define CAMERA_TYPE_MAX 32 /* "falling_object" */
#define CAMERA_NAME_MAX 64 /* an NVR's camera */

/* A person at a gate asking to pass. */
struct access_request {
	char request[REQUEST_ID_MAX + 1]; /* "" when unreadable */
	enum credential credential;
	char subject[SUBJECT_MAX + 1];   /* person id or card */
	double score;                    /* face match score, -1 when absent */
	enum direction direction;        /* 0: not said; the gate's own */
	int64_t ts_ms;                   /* the device's timestamp, 0: none */
	char snapshot[SNAPSHOT_MAX + 1]; /* a URL on the device */
};

/* A plate camera's read. */
struct plate_read {
	char request[REQUEST_ID_MAX + 1];
	char plate[PLATE_TEXT_MAX + 1]; /* as read: the rules normalise */
	char color[16];                 /* "blue", "green", ... or "" */
	double confidence;              /* 0..1 */
	enum direction direction;       /* 0: the camera does not know */
	int64_t ts_ms;
	char snapshot[SNAPSHOT_MAX + 1];
};

/* What a camera's analytics saw. */
struct camera_event {
	char request[REQUEST_ID_MAX + 1]; /* the event's id */
	char type[CAMERA_TYPE_MAX + 1];   /* one of camera_types[] */
	char camera[CAMERA_NAME_MAX + 1]; /* an NVR's camera, or "" */
	double score;
	int64_t ts_ms;
	char snapshot[SNAPSHOT_MAX + 1];
	/* One of several messages about the same event (Frigate's new,
	 * update, end): its id seen again is no replay. */
	bool updates;
};

/*
 * The types a camera event may have (DESIGN §4.1): a native camera sends
 * them, a vendor's driver maps its own labels to them.  registry.c.
 */
#define CAMERA_TYPES 7
extern const char *const camera_types[CAMERA_TYPES];
/* camera_types[] as an error message lists them. */
#define CAMERA_TYPES_TEXT                                                      \
	"falling_object, ebike_in_elevator, ebike_in_corridor, intrusion, "    \
	"smoke, fire or crowd"
/* Is type one of camera_types[]? */
bool camera_type_known(const char *type);

/* The fire panel's alarm: the state now, not an edge. */
struct fire_state {
	bool alarm;
};

enum port_state {
	PORT_IDLE = 0,
	PORT_PLUGGED = 1,
	PORT_CHARGING = 2,
	PORT_FINISHED = 3,
	PORT_FAULT = 4,
};

/* Which members of a struct telemetry a device measured. */
enum {
	TELEMETRY_STATE = 1 << 0,
	TELEMETRY_CURRENT = 1 << 1,
	TELEMETRY_VOLTAGE = 1 << 2,
	TELEMETRY_POWER = 1 << 3,
	TELEMETRY_ENERGY = 1 << 4,
	TELEMETRY_TEMP = 1 << 5,
	TELEMETRY_FAULT = 1 << 6,
	TELEMETRY_ENABLED = 1 << 7,
};

/* Measurements of one charging port, or of a meter (port 0). */
struct telemetry {
	unsigned port; /* from 1; 0: the device as a whole */
	unsigned have; /* TELEMETRY_* */
	enum port_state state;
	double current_a, voltage_v, power_w, energy_wh, temp_c;
	unsigned fault;
	bool enabled; /* the port's output is on */
};

/* Digital inputs as read: levels, not edges (the core sees changes). */
struct input_levels {
	uint32_t mask;   /* bit n: input n was read */
	uint32_t levels; /* bit n: input n is closed (on) */
};

/* A request on .../charger/<id>/<port>/cmd (a staff tool's). */
struct charger_request {
	char request[REQUEST_ID_MAX + 1]; /* "" when unreadable */
	int action;                       /* COMMAND_CHARGER_START or _STOP;
	                                   * 0: an action it does not know */
	char action_text[16];             /* as sent, for the answer */
	unsigned port;                    /* from 1, as in the topic */
	double limit_a;                   /* 0: none given */
};

/* A device's own word on whether it is there (its MQTT will, say). */
struct device_status {
	bool online;
};

struct event {
	enum event_type type;
	union {
		struct access_request access;
		struct plate_read plate;
		struct camera_event camera;
		struct fire_state fire;
		struct telemetry telemetry;
		struct input_levels input;
		struct device_status status;
		struct charger_request charger;
	} u;
};

/* The request id an event carries ("" when none, or unreadable). */
static inline const char *
event_request(const struct event *ev)
{
	switch (ev->type) {
	case EVENT_ACCESS:
		return ev->u.access.request;
	case EVENT_PLATE:
		return ev->u.plate.request;
	case EVENT_CAMERA:
		return ev->u.camera.request;
	case EVENT_CHARGER_REQUEST:
		return ev->u.charger.request;
	default:
		return "";
	}
}

/* ---- commands: what the core tells devices to do ---- */

enum command_action {
	COMMAND_OPEN = 1,  /* let one through (a barrier: its open pulse) */
	COMMAND_DENY,      /* refuse, with a reason on the device's screen */
	COMMAND_HOLD_OPEN, /* fire: open, and stay open until NORMAL */
	COMMAND_NORMAL,    /* end a HOLD_OPEN */
	COMMAND_PULSE,     /* close a relay for open_ms, then let go */
	COMMAND_CHARGER_START,
	COMMAND_CHARGER_STOP,
	COMMAND_CHARGER_LIMIT,
	COMMAND_ACTION_MAX,
};

struct command {
	enum command_action action;
	const char *request; /* the id being answered, or NULL */
	const char *reason;  /* machine-readable, deny only */
	const char *display; /* text for the device's screen, or NULL */
	int open_ms;         /* OPEN, PULSE */
	unsigned port;       /* CHARGER_*: from 1 */
	double limit_a;      /* CHARGER_LIMIT, CHARGER_START (0: none) */
	/* When it was decided (mono_ms()); 0: when it was queued.  A
	 * barrier's OPEN or PULSE not carried out within COMMAND_LATE_MS
	 * of it is dropped (outbox.c, bus.c): a barrier opening late opens
	 * for nobody, or for the car behind. */
	uint64_t at_ms;
};

#define COMMAND_LATE_MS 2000
/* What the journal says of one dropped so: keep it with the number. */
#define COMMAND_LATE_TEXT "late: not carried out within 2 s"

/* ---- transports ---- */

enum driver_decode {
	DRIVER_OK = 0,     /* out is a complete event */
	DRIVER_BAD = -1,   /* malformed: err says why; the event's request
	                    * id is set when it could still be read */
	DRIVER_IGNORE = 1, /* nothing for the core (a subtopic it does not
	                    * handle, an update that changes nothing) */
};

/*
 * A device reached over MQTT: it publishes on
 * <prefix>/<kind>/<id>/<subtopic> (and, for vendor formats, on topic())
 * and is commanded on <prefix>/<kind>/<id>/cmd.
 */
struct driver_mqtt {
	const char *kind;             /* "gate": the topic's <kind> */
	const char *const *subtopics; /* subscribed, NULL-terminated */
	/* A vendor topic outside <prefix> (Frigate's frigate/events), or
	 * NULL.  Optional.  No wildcards: a message on exactly this topic
	 * goes to every device whose topic() it is. */
	const char *(*topic)(const struct device *);
	/* A message on one of its topics into one event; subtopic is the
	 * vendor topic itself for a message on topic().  Optional: a
	 * device that says nothing but its status. */
	enum driver_decode (*decode)(const struct device *,
	    const char *subtopic, const void *payload, size_t len,
	    struct event *out, char *err, size_t errlen);
	/* A command as the payload for .../cmd: the length written (no NUL
	 * counted); 0 when the command means nothing to this device; -1
	 * when it does not fit.  Optional: a device that takes none. */
	int (*encode)(const struct device *, const struct command *, char *buf,
	    size_t size);
};

enum modbus_function {
	MODBUS_READ_COILS = 1,
	MODBUS_READ_DISCRETE_INPUTS = 2,
	MODBUS_READ_HOLDING_REGISTERS = 3,
	MODBUS_READ_INPUT_REGISTERS = 4,
	/* value as sent: 0xFF00 on, 0x0000 off, or a relay board's raw
	 * "flash" value (the bus then checks the echo itself) */
	MODBUS_WRITE_COIL = 5,
	MODBUS_WRITE_REGISTER = 6,
	MODBUS_WRITE_REGISTERS = 16,
};

#define MODBUS_OP_REGS 125 /* the most one read may ask for */
#define MODBUS_OP_BITS 256 /* coils or inputs one read may ask for */

/* One Modbus transaction: a request, and the bus fills in the reply. */
struct modbus_op {
	enum modbus_function fn;
	uint16_t addr;                 /* as on the wire, from 0 */
	uint16_t count;                /* registers or bits to read or write */
	uint16_t value;                /* WRITE_COIL, WRITE_REGISTER */
	uint16_t regs[MODBUS_OP_REGS]; /* read: the reply; WRITE_REGISTERS */
	uint8_t bits[MODBUS_OP_BITS];  /* read: one byte per bit, 0 or 1 */
};

/* op as a fresh request, its reply empty: what poll() and execute()
 * fill their ops with. */
static inline void
driver_modbus_op(struct modbus_op *op, enum modbus_function fn, uint16_t addr,
    uint16_t count, uint16_t value)
{
	*op = (struct modbus_op){ .fn = fn,
		.addr = addr,
		.count = count,
		.value = value };
}

/* Where a Modbus device is: its [bus NAME] and unit, and its pace. */
struct modbus_address {
	const char *bus;
	int unit;    /* 1..247 */
	int poll_ms; /* how often poll() is read; 0: never; -1: the bus's */
};

/*
 * The schema keys every Modbus device has: "bus" (the name of its [bus
 * NAME], which config.c checks through address()) and "unit", into the
 * members bus (char *) and unit (int) of its settings (a struct type).
 */
/* clang-format off */
#define MODBUS_KEYS(settings)                                                  \
	{ .name = "bus", .type = SCHEMA_ID,                                    \
	    .offset = offsetof(settings, bus), .required = true },             \
	{ .name = "unit", .type = SCHEMA_INT,                                  \
	    .offset = offsetof(settings, unit), .min = 1, .max = 247,          \
	    .required = true }
/* clang-format on */

#define DRIVER_OPS_MAX 8 /* transactions in one poll or one command */

/*
 * A device on a Modbus bus.  Every hook is called on its bus's thread,
 * never the loop's, and is pure: registers in, events out.
 */
struct driver_modbus {
	void (*address)(const struct device *, struct modbus_address *);
	/* What to read each poll, in as few transactions as its map
	 * allows: the number of ops filled (at most max), or -1 when max
	 * is too few.  The bus hands the ops back to decode() as given. */
	int (*poll)(const struct device *, struct modbus_op *ops, size_t max);
	/* The replies to poll()'s ops into events: the number filled (at
	 * most max), or -1 with err when the reply makes no sense. */
	int (*decode)(const struct device *, const struct modbus_op *ops,
	    size_t nops, struct event *out, size_t max, char *err,
	    size_t errlen);
	/* A command as writes: the number of ops filled (at most max); 0
	 * when the command means nothing to this device; -1 when max is
	 * too few.  A WRITE_COIL whose value is neither 0xFF00 nor 0 is a
	 * relay board's raw "flash": the bus sends it raw and checks the
	 * echo itself (MODBUS-NOTES). */
	int (*execute)(const struct device *, const struct command *,
	    struct modbus_op *ops, size_t max);
};

struct driver {
	const char *name; /* "driver = face_gate" */
	enum device_class class;

	/* Configuration: the keys of its section besides "driver". */
	size_t priv_size;
	const struct schema_key *keys;
	/* Defaults into priv, before any key.  Optional. */
	void (*defaults)(void *priv);
	/* The whole section has been read.  0, or -1 with err.  Optional. */
	int (*check)(const struct device *, char *err, size_t errlen);
	/* Every device is known: resolve the ones this one names.
	 * 0, or -1 with err.  Optional. */
	int (*link)(struct device *, const struct config *, char *err,
	    size_t errlen);
	/* Free what priv holds beyond the schema's strings.  Optional. */
	void (*free)(void *priv);

	/* How it is reached: one of the two, or both. */
	const struct driver_mqtt *mqtt;
	const struct driver_modbus *modbus;
};

/* registry.c: the driver called name, or NULL. */
const struct driver *driver_find(const char *name);
/* registry.c: a direction or lane key's schema choices (in, out, both)
 * and the enum direction each stores. */
extern const char *const driver_direction_choices[];
extern const int driver_direction_values[];
/* registry.c: a driver whose MQTT topics have this <kind>, or NULL. */
const struct driver *driver_find_kind(const char *kind);

/*
 * A device that is itself a client of the broker: it speaks MQTT and is
 * not reached over Modbus (a charging point's MQTT topics are staff
 * tools', not its own).  It gets an identity of its own there.
 */
static inline bool
device_mqtt_client(const struct device *dev)
{
	return dev->driver != NULL && dev->driver->mqtt != NULL &&
	    dev->driver->modbus == NULL;
}

/* A gate's settings (struct gate_settings at the start of its priv), or
 * NULL when dev is not a gate. */
static inline const struct gate_settings *
device_gate(const struct device *dev)
{
	return dev->driver != NULL && dev->driver->class == DEVICE_GATE ?
	    (const struct gate_settings *)dev->priv :
	    NULL;
}

/* A barrier's settings (struct barrier_settings at the start of its
 * priv), or NULL when dev is not a barrier. */
static inline const struct barrier_settings *
device_barrier(const struct device *dev)
{
	return dev->driver != NULL && dev->driver->class == DEVICE_BARRIER ?
	    (const struct barrier_settings *)dev->priv :
	    NULL;
}

/*
 * What the charging rules need of a charging point: a driver of class
 * DEVICE_CHARGER keeps this at the start of its priv (device_charger()).
 */
struct charger_settings {
	unsigned ports;       /* numbered from 1 */
	double max_current_a; /* a port drawing more is cut off at once */
	double max_temp_c;    /* a port hotter than this is cut off */
	double full_w;        /* drawing less than this for full_min... */
	double full_min;      /* ...minutes: the battery is full, stop */
};

/* A charging point's settings, or NULL when dev is not one. */
static inline const struct charger_settings *
device_charger(const struct device *dev)
{
	return dev->driver != NULL && dev->driver->class == DEVICE_CHARGER ?
	    (const struct charger_settings *)dev->priv :
	    NULL;
}

/* A plate camera's settings, or NULL when dev is not one. */
static inline const struct lpr_settings *
device_lpr(const struct device *dev)
{
	return dev->driver != NULL && dev->driver->class == DEVICE_LPR ?
	    (const struct lpr_settings *)dev->priv :
	    NULL;
}

/*
 * barrier.c: what every barrier driver shares.  barrier_link() is a
 * barrier's link(): its camera_id resolved into camera.
 */
int barrier_link(struct device *, const struct config *, char *err,
    size_t errlen);

#endif
