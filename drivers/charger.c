/*
 * charger.c - a multi-port e-bike charging point on a Modbus bus (DESIGN
 * §4.2): each port's measurements read, its output switched and its
 * current limited.  Staff requests on .../charger/<id>/<port>/cmd become
 * events; the charging rules decide, the bus carries the writes out.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "native.h"

/*
 * The map: port p (from 0) is the 16 input registers at 16*p, coil p is
 * its output and holding register 16*p its current limit in 0.1 A.
 */
#define BLOCK           16
#define REG_STATE       0
#define REG_CURRENT     1 /* 0.01 A */
#define REG_VOLTAGE     2 /* 0.1 V */
#define REG_POWER       3 /* W, u32, high word first */
#define REG_ENERGY      5 /* Wh of the session, u32, high word first */
#define REG_TEMP        7 /* 0.1 °C, signed */
#define REG_FAULT       8
#define BLOCKS_PER_READ (MODBUS_OP_REGS / BLOCK) /* 7: 112 registers */
#define COIL_ON         0xFF00
#define COIL_OFF        0x0000
/*
 * The bus hands decode() room for 16 events a poll, one per port: a
 * point with more ports would need two devices (or a contract that
 * decodes in pieces), so the schema stops at 16.
 */
#define PORTS_MAX 16
#define LIMIT_MAX 6553.5 /* what a register holds in 0.1 A */

#define DEFAULT_MAX_CURRENT_A 16
#define DEFAULT_MAX_TEMP_C    60
#define DEFAULT_FULL_W        10
#define DEFAULT_FULL_MIN      10
#define DEFAULT_POLL_MS       1000

struct charger {
	struct charger_settings c; /* first: device_charger() reads it */
	char *bus;                 /* the name of its [bus NAME] */
	int unit;
	int poll_ms;
};

_Static_assert(sizeof(unsigned) == sizeof(int), "ports set as an int");

static void
charger_defaults(void *priv)
{
	struct charger *ch = priv;

	ch->c.max_current_a = DEFAULT_MAX_CURRENT_A;
	ch->c.max_temp_c = DEFAULT_MAX_TEMP_C;
	ch->c.full_w = DEFAULT_FULL_W;
	ch->c.full_min = DEFAULT_FULL_MIN;
	ch->poll_ms = DEFAULT_POLL_MS;
}

#define C(member) offsetof(struct charger, member)

static const struct schema_key charger_keys[] = {
	/* config.c checks that the bus exists (address()). */
	MODBUS_KEYS(struct charger),
	/* At most 16: one poll's events are one per port, and the bus
	 * takes 16 events a poll. */
	{ .name = "ports",
	    .type = SCHEMA_INT,
	    .offset = C(c.ports),
	    .min = 1,
	    .max = PORTS_MAX,
	    .required = true },
	{ .name = "max_current_a",
	    .type = SCHEMA_DOUBLE,
	    .offset = C(c.max_current_a),
	    .dmin = 0.1,
	    .dmax = 100 },
	{ .name = "max_temp_c",
	    .type = SCHEMA_DOUBLE,
	    .offset = C(c.max_temp_c),
	    .dmin = 20,
	    .dmax = 120 },
	{ .name = "full_w",
	    .type = SCHEMA_DOUBLE,
	    .offset = C(c.full_w),
	    .dmin = 0,
	    .dmax = 1000 },
	/* Minutes; decimals allowed, so that a test waits seconds. */
	{ .name = "full_min",
	    .type = SCHEMA_DOUBLE,
	    .offset = C(c.full_min),
	    .dmin = 0.01,
	    .dmax = 1440 },
	{ .name = "poll_ms",
	    .type = SCHEMA_INT,
	    .offset = C(poll_ms),
	    .min = 100,
	    .max = 60000 },
	SCHEMA_END,
};

#undef C

static void
charger_address(const struct device *dev, struct modbus_address *a)
{
	const struct charger *ch = dev->priv;

	a->bus = ch->bus;
	a->unit = ch->unit;
	a->poll_ms = ch->poll_ms;
}

/* Whole blocks only, so no port's registers are split over two reads
 * (its power read before a refresh, its energy after). */
static size_t
register_reads(unsigned ports)
{
	return (ports + BLOCKS_PER_READ - 1) / BLOCKS_PER_READ;
}

static int
charger_poll(const struct device *dev, struct modbus_op *ops, size_t max)
{
	const struct charger *ch = dev->priv;
	unsigned ports = ch->c.ports, first, n;
	size_t reads = register_reads(ports), i;

	if (ports == 0)
		return 0;
	if (reads + 1 > max)
		return -1;
	for (i = 0; i < reads; i++) {
		first = (unsigned)i * BLOCKS_PER_READ;
		n = ports - first < BLOCKS_PER_READ ? ports - first :
		                                      BLOCKS_PER_READ;
		driver_modbus_op(&ops[i], MODBUS_READ_INPUT_REGISTERS,
		    (uint16_t)(first * BLOCK), (uint16_t)(n * BLOCK), 0);
	}
	driver_modbus_op(&ops[reads], MODBUS_READ_COILS, 0, (uint16_t)ports, 0);
	return (int)reads + 1;
}

static uint32_t
u32(const uint16_t *regs)
{
	return (uint32_t)regs[0] << 16 | regs[1];
}

static int
decode_port(const uint16_t *regs, const uint8_t *enabled, unsigned port,
    struct telemetry *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (regs[REG_STATE] > PORT_FAULT) {
		snprintf(err, errlen, "port %u: state %u is none of 0..4", port,
		    regs[REG_STATE]);
		return -1;
	}
	if (*enabled > 1) {
		snprintf(err, errlen, "port %u: coil reads %u, not 0 or 1",
		    port, *enabled);
		return -1;
	}
	t->port = port;
	t->have = TELEMETRY_STATE | TELEMETRY_CURRENT | TELEMETRY_VOLTAGE |
	    TELEMETRY_POWER | TELEMETRY_ENERGY | TELEMETRY_TEMP |
	    TELEMETRY_FAULT | TELEMETRY_ENABLED;
	t->state = (enum port_state)regs[REG_STATE];
	t->current_a = regs[REG_CURRENT] / 100.0;
	t->voltage_v = regs[REG_VOLTAGE] / 10.0;
	t->power_w = u32(&regs[REG_POWER]);
	t->energy_wh = u32(&regs[REG_ENERGY]);
	t->temp_c = (int16_t)regs[REG_TEMP] / 10.0;
	t->fault = regs[REG_FAULT];
	t->enabled = *enabled == 1;
	return 0;
}

static int
charger_decode(const struct device *dev, const struct modbus_op *ops,
    size_t nops, struct event *out, size_t max, char *err, size_t errlen)
{
	const struct charger *ch = dev->priv;
	struct modbus_op want[DRIVER_OPS_MAX];
	unsigned ports = ch->c.ports, p;
	int n = charger_poll(dev, want, DRIVER_OPS_MAX);
	size_t i;

	if (n < 0 || nops != (size_t)n) {
		snprintf(err, errlen, "%zu replies to a poll of %d reads", nops,
		    n);
		return -1;
	}
	for (i = 0; i < nops; i++) {
		if (ops[i].fn != want[i].fn || ops[i].addr != want[i].addr ||
		    ops[i].count != want[i].count) {
			snprintf(err, errlen,
			    "reply %zu to function %d at %u for %u, not to "
			    "function %d at %u for %u",
			    i + 1, (int)ops[i].fn, ops[i].addr, ops[i].count,
			    (int)want[i].fn, want[i].addr, want[i].count);
			return -1;
		}
	}
	if (max < ports) {
		snprintf(err, errlen, "room for %zu events, not %u ports", max,
		    ports);
		return -1;
	}
	for (p = 0; p < ports; p++) {
		const struct modbus_op *r = &ops[p / BLOCKS_PER_READ];
		const uint16_t *regs = &r->regs[(p % BLOCKS_PER_READ) * BLOCK];

		memset(&out[p], 0, sizeof(out[p]));
		out[p].type = EVENT_TELEMETRY;
		if (decode_port(regs, &ops[nops - 1].bits[p], p + 1,
		        &out[p].u.telemetry, err, errlen) < 0)
			return -1;
	}
	return (int)ports;
}

/*
 * A limit above the installer's max_current_a is written as
 * max_current_a: the rules cut a port off above it, so a higher limit
 * would only start a session that is cut at once.
 */
static uint16_t
limit_register(const struct charger *ch, double limit_a)
{
	double a =
	    limit_a > ch->c.max_current_a ? ch->c.max_current_a : limit_a;

	if (a > LIMIT_MAX)
		a = LIMIT_MAX;
	return (uint16_t)lround(a * 10);
}

static int
charger_execute(const struct device *dev, const struct command *cmd,
    struct modbus_op *ops, size_t max)
{
	const struct charger *ch = dev->priv;
	unsigned port = cmd->port;
	/* NaN is no limit either. */
	bool limit = cmd->limit_a > 0;
	size_t n = 0;

	/* The pipeline answers "unknown port" before it gets here. */
	if (port < 1 || port > ch->c.ports)
		return 0;
	switch (cmd->action) {
	case COMMAND_CHARGER_START:
		if (max < (limit ? 2u : 1u))
			return -1;
		/* The limit first: the output never runs on the old one. */
		if (limit)
			driver_modbus_op(&ops[n++], MODBUS_WRITE_REGISTER,
			    (uint16_t)((port - 1) * BLOCK), 1,
			    limit_register(ch, cmd->limit_a));
		driver_modbus_op(&ops[n++], MODBUS_WRITE_COIL,
		    (uint16_t)(port - 1), 1, COIL_ON);
		return (int)n;
	case COMMAND_CHARGER_STOP:
		if (max < 1)
			return -1;
		driver_modbus_op(&ops[0], MODBUS_WRITE_COIL,
		    (uint16_t)(port - 1), 1, COIL_OFF);
		return 1;
	case COMMAND_CHARGER_LIMIT:
		if (!limit)
			return 0;
		if (max < 1)
			return -1;
		driver_modbus_op(&ops[0], MODBUS_WRITE_REGISTER,
		    (uint16_t)((port - 1) * BLOCK), 1,
		    limit_register(ch, cmd->limit_a));
		return 1;
	default:
		/* No gate, no barrier, no screen. */
		return 0;
	}
}

/* "<port>/cmd": the port (1 to 5 digits), or 0 for any other subtopic. */
static unsigned
subtopic_port(const char *subtopic)
{
	unsigned port = 0;
	size_t i;

	for (i = 0; subtopic[i] >= '0' && subtopic[i] <= '9'; i++) {
		if (i == 5)
			return 0;
		port = port * 10 + (unsigned)(subtopic[i] - '0');
	}
	if (i == 0 || strcmp(&subtopic[i], "/cmd") != 0)
		return 0;
	return port;
}

static const struct {
	const char *word;
	int action;
} actions[] = {
	{ "start", COMMAND_CHARGER_START },
	{ "stop", COMMAND_CHARGER_STOP },
};

static enum driver_decode
charger_mqtt_decode(const struct device *dev, const char *subtopic,
    const void *payload, size_t len, struct event *ev, char *err, size_t errlen)
{
	struct charger_request *out = &ev->u.charger;
	enum driver_decode rc = DRIVER_OK;
	json_t *root, *v;
	size_t i;

	(void)dev;
	memset(ev, 0, sizeof(*ev));
	ev->type = EVENT_CHARGER_REQUEST;
	/* Port 0 is no port: ignored like any other subtopic. */
	out->port = subtopic_port(subtopic);
	if (out->port == 0)
		return DRIVER_IGNORE;
	/* The id first: with it, anything else wrong still gets an answer. */
	root = native_request(payload, len, out->request, &rc, err, errlen);
	if (rc != DRIVER_OK)
		goto done;
	if (native_required(root, "action", out->action_text,
	        sizeof(out->action_text) - 1, err, errlen) < 0) {
		rc = DRIVER_BAD;
		goto done;
	}
	/* A word it does not know stays 0: the answer names it. */
	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(out->action_text, actions[i].word) == 0)
			out->action = actions[i].action;
	v = json_object_get(root, "limit_a");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_number(v) || !(json_number_value(v) >= 0) ||
		    !isfinite(json_number_value(v))) {
			rc = native_bad(err, errlen, "%s",
			    "'limit_a' is not a current in amperes (0 or "
			    "more)");
			goto done;
		}
		out->limit_a = json_number_value(v);
	}
done:
	json_decref(root);
	return rc;
}

static const char *const charger_subtopics[] = { "+/cmd", NULL };

/* Requests only: a charging point is commanded on its bus. */
static const struct driver_mqtt charger_mqtt = {
	.kind = "charger",
	.subtopics = charger_subtopics,
	.decode = charger_mqtt_decode,
};

static const struct driver_modbus charger_modbus = {
	.address = charger_address,
	.poll = charger_poll,
	.decode = charger_decode,
	.execute = charger_execute,
};

const struct driver charger_driver = {
	.name = "charger",
	.class = DEVICE_CHARGER,
	.priv_size = sizeof(struct charger),
	.keys = charger_keys,
	.defaults = charger_defaults,
	.mqtt = &charger_mqtt,
	.modbus = &charger_modbus,
};
