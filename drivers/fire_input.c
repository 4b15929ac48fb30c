/*
 * fire_input.c - a fire panel's alarm relay wired as a dry contact to
 * one discrete input of a relay board (relay_board.h), read at least
 * every 200 ms (DESIGN §4.2).  alarm_when says which level is the alarm:
 * "closed" (a normally open contact, the default) or "open" (a normally
 * closed one, where a cut wire is the hardware's own fail-safe).  A
 * panel that stops answering is its bus's business (offline), never an
 * alarm.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "relay_board.h"

#define DEFAULT_POLL_MS 200 /* "at least every 200 ms" */

struct fire_input {
	char *bus; /* the name of its [bus NAME] */
	int unit;
	int input;
	int alarm_when; /* 1: closed is the alarm; 0: open is */
	int poll_ms;
};

static void
fire_input_defaults(void *priv)
{
	struct fire_input *f = priv;

	f->alarm_when = 1;
	f->poll_ms = DEFAULT_POLL_MS;
}

static const char *const alarm_when_choices[] = { "closed", "open", NULL };
static const int alarm_when_values[] = { 1, 0 };

#define F(member) offsetof(struct fire_input, member)

static const struct schema_key fire_input_keys[] = {
	MODBUS_KEYS(struct fire_input),
	{ .name = "input",
	    .type = SCHEMA_INT,
	    .offset = F(input),
	    .min = 0,
	    .max = RELAY_BOARD_INPUTS - 1,
	    .required = true },
	{ .name = "alarm_when",
	    .type = SCHEMA_ENUM,
	    .offset = F(alarm_when),
	    .choices = alarm_when_choices,
	    .values = alarm_when_values },
	/* Never slower than 200 ms: the budget from alarm to the last
	 * gate held open is one second. */
	{ .name = "poll_ms",
	    .type = SCHEMA_INT,
	    .offset = F(poll_ms),
	    .min = 50,
	    .max = DEFAULT_POLL_MS },
	SCHEMA_END,
};

#undef F

static void
fire_input_address(const struct device *dev, struct modbus_address *a)
{
	const struct fire_input *f = dev->priv;

	a->bus = f->bus;
	a->unit = f->unit;
	a->poll_ms = f->poll_ms;
}

static int
fire_input_poll(const struct device *dev, struct modbus_op *ops, size_t max)
{
	(void)dev;
	return relay_board_read_inputs(ops, max);
}

static int
fire_input_decode(const struct device *dev, const struct modbus_op *ops,
    size_t nops, struct event *out, size_t max, char *err, size_t errlen)
{
	const struct fire_input *f = dev->priv;
	struct input_levels in;
	bool closed;

	if (max < 1) {
		snprintf(err, errlen, "no room for its event");
		return -1;
	}
	/* All eight inputs, or an error: f->input is among them. */
	if (relay_board_inputs(ops, nops, &in, err, errlen) < 0)
		return -1;
	closed = (in.levels >> f->input) & 1u;
	memset(out, 0, sizeof(*out));
	out->type = EVENT_FIRE;
	out->u.fire.alarm = closed == (f->alarm_when == 1);
	return 1;
}

static const struct driver_modbus fire_input_modbus = {
	.address = fire_input_address,
	.poll = fire_input_poll,
	.decode = fire_input_decode,
};

const struct driver fire_input_driver = {
	.name = "fire_input",
	.class = DEVICE_FIRE,
	.priv_size = sizeof(struct fire_input),
	.keys = fire_input_keys,
	.defaults = fire_input_defaults,
	.modbus = &fire_input_modbus,
};
