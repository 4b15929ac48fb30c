/*
 * sdm_meter.c - an Eastron SDM120 or SDM630 energy meter on a Modbus bus
 * (DESIGN §4.2): voltage, current, active power and energy as float32
 * input registers, read and passed on as telemetry of the whole device.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"

/* Input registers, each value a float32 in two of them. */
#define REG_VOLTAGE       0x0000
#define REG_CURRENT       0x0006
#define REG_POWER         0x000C
#define REG_INSTANT_COUNT (REG_POWER + 2) /* 0x0000..0x000D in one read */
#define REG_SDM120_ENERGY 0x0048          /* import active energy, kWh */
#define REG_SDM630_ENERGY 0x0156          /* total active energy, kWh */

#define DEFAULT_POLL_MS 5000

enum sdm_model {
	SDM_120 = 0,
	SDM_630 = 1,
};

enum sdm_word_order {
	SDM_BIG = 0,    /* high word first, as Eastron documents */
	SDM_LITTLE = 1, /* words swapped, as some installations have */
};

struct sdm_meter {
	char *bus;
	int unit;
	int model;      /* enum sdm_model */
	int word_order; /* enum sdm_word_order */
	int poll_ms;
};

static void
sdm_meter_defaults(void *priv)
{
	struct sdm_meter *m = priv;

	m->model = SDM_120;
	m->word_order = SDM_BIG;
	m->poll_ms = DEFAULT_POLL_MS;
}

static const char *const model_choices[] = { "sdm120", "sdm630", NULL };
static const char *const word_order_choices[] = { "big", "little", NULL };

#define M(member) offsetof(struct sdm_meter, member)

static const struct schema_key sdm_meter_keys[] = {
	MODBUS_KEYS(struct sdm_meter),
	{ .name = "model",
	    .type = SCHEMA_ENUM,
	    .offset = M(model),
	    .choices = model_choices },
	{ .name = "word_order",
	    .type = SCHEMA_ENUM,
	    .offset = M(word_order),
	    .choices = word_order_choices },
	{ .name = "poll_ms",
	    .type = SCHEMA_INT,
	    .offset = M(poll_ms),
	    .min = 100,
	    .max = 3600000 },
	SCHEMA_END,
};

#undef M

static void
sdm_meter_address(const struct device *dev, struct modbus_address *a)
{
	const struct sdm_meter *m = dev->priv;

	a->bus = m->bus;
	a->unit = m->unit;
	a->poll_ms = m->poll_ms;
}

static uint16_t
energy_register(const struct sdm_meter *m)
{
	return m->model == SDM_630 ? REG_SDM630_ENERGY : REG_SDM120_ENERGY;
}

/* The instant values in one read, the energy counter far away in a
 * second: reading the gap between would cost more than a transaction. */
static int
sdm_meter_poll(const struct device *dev, struct modbus_op *ops, size_t max)
{
	const struct sdm_meter *m = dev->priv;

	if (max < 2)
		return -1;
	driver_modbus_op(&ops[0], MODBUS_READ_INPUT_REGISTERS, REG_VOLTAGE,
	    REG_INSTANT_COUNT, 0);
	driver_modbus_op(&ops[1], MODBUS_READ_INPUT_REGISTERS,
	    energy_register(m), 2, 0);
	return 2;
}

static int
to_float(const struct sdm_meter *m, const uint16_t *regs, const char *what,
    double *out, char *err, size_t errlen)
{
	uint32_t bits = m->word_order == SDM_LITTLE ?
	    (uint32_t)regs[1] << 16 | regs[0] :
	    (uint32_t)regs[0] << 16 | regs[1];
	float f;

	memcpy(&f, &bits, sizeof(f));
	if (!isfinite(f)) {
		snprintf(err, errlen, "%s reads 0x%08x, not a number", what,
		    (unsigned)bits);
		return -1;
	}
	*out = f;
	return 0;
}

static int
sdm_meter_decode(const struct device *dev, const struct modbus_op *ops,
    size_t nops, struct event *out, size_t max, char *err, size_t errlen)
{
	const struct sdm_meter *m = dev->priv;
	struct telemetry *t = &out->u.telemetry;
	double kwh;

	if (nops != 2) {
		snprintf(err, errlen, "%zu replies to a poll of 2 reads", nops);
		return -1;
	}
	if (ops[0].fn != MODBUS_READ_INPUT_REGISTERS ||
	    ops[0].addr != REG_VOLTAGE || ops[0].count != REG_INSTANT_COUNT ||
	    ops[1].fn != MODBUS_READ_INPUT_REGISTERS ||
	    ops[1].addr != energy_register(m) || ops[1].count != 2) {
		snprintf(err, errlen,
		    "replies to function %d at %u for %u and function %d at "
		    "%u for %u, not to this meter's reads",
		    (int)ops[0].fn, ops[0].addr, ops[0].count, (int)ops[1].fn,
		    ops[1].addr, ops[1].count);
		return -1;
	}
	if (max < 1) {
		snprintf(err, errlen, "no room for its event");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->type = EVENT_TELEMETRY;
	if (to_float(m, &ops[0].regs[REG_VOLTAGE], "voltage", &t->voltage_v,
	        err, errlen) < 0 ||
	    to_float(m, &ops[0].regs[REG_CURRENT], "current", &t->current_a,
	        err, errlen) < 0 ||
	    to_float(m, &ops[0].regs[REG_POWER], "power", &t->power_w, err,
	        errlen) < 0 ||
	    to_float(m, &ops[1].regs[0], "energy", &kwh, err, errlen) < 0)
		return -1;
	t->port = 0;
	t->energy_wh = kwh * 1000;
	t->have = TELEMETRY_VOLTAGE | TELEMETRY_CURRENT | TELEMETRY_POWER |
	    TELEMETRY_ENERGY;
	return 1;
}

/* A meter takes no commands (bus.c calls execute() whatever the
 * device). */
static int
sdm_meter_execute(const struct device *dev, const struct command *cmd,
    struct modbus_op *ops, size_t max)
{
	(void)dev;
	(void)cmd;
	(void)ops;
	(void)max;
	return 0;
}

static const struct driver_modbus sdm_meter_modbus = {
	.address = sdm_meter_address,
	.poll = sdm_meter_poll,
	.decode = sdm_meter_decode,
	.execute = sdm_meter_execute,
};

const struct driver sdm_meter_driver = {
	.name = "sdm_meter",
	.class = DEVICE_METER,
	.priv_size = sizeof(struct sdm_meter),
	.keys = sdm_meter_keys,
	.defaults = sdm_meter_defaults,
	.modbus = &sdm_meter_modbus,
};
