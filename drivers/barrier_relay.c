/*
 * barrier_relay.c - a parking barrier wired to one relay of a Waveshare
 * Modbus RTU relay board (DESIGN §4.2, relay_board.h), its vehicle loop
 * detector on one of the board's discrete inputs.  What to write and
 * read only: the bus layer carries it out.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "driver.h"
#include "relay_board.h"

#define DEFAULT_OPEN_MS 1000
#define DEFAULT_POLL_MS 200
#define OPEN_MS_MIN     RELAY_BOARD_FLASH_MS
#define OPEN_MS_MAX     (RELAY_BOARD_FLASH_MAX * RELAY_BOARD_FLASH_MS)

struct barrier_relay {
	struct barrier_settings b; /* first: device_barrier() reads it */
	char *bus;                 /* the name of its [bus NAME] */
	int unit;
	int coil; /* the relay that opens the barrier */
	int poll_ms;
};

static void
barrier_relay_defaults(void *priv)
{
	struct barrier_relay *r = priv;

	r->b.lane = DIRECTION_BOTH;
	r->b.open_ms = DEFAULT_OPEN_MS;
	r->b.loop_input = -1;
	r->poll_ms = DEFAULT_POLL_MS;
}

/*
 * The board takes the flash delay in tenths of a second.  A value it
 * cannot take is refused, not rounded: open_ms is what the installer
 * measured for this barrier's controller, and changing it silently would
 * be found out at the barrier, not at gatewayd -t.
 */
static int
set_open_ms(void *priv, const char *value, char *err, size_t errlen)
{
	static const struct schema_key range = {
		.name = "open_ms",
		.type = SCHEMA_INT,
		.offset = offsetof(struct barrier_relay, b.open_ms),
		.min = OPEN_MS_MIN,
		.max = OPEN_MS_MAX,
	};
	struct barrier_relay *r = priv;
	int old = r->b.open_ms;

	if (schema_set(&range, priv, value, NULL, err, errlen) < 0 ||
	    r->b.open_ms % RELAY_BOARD_FLASH_MS != 0) {
		r->b.open_ms = old;
		snprintf(err, errlen,
		    "bad open_ms '%s' (%d to %d in steps of %d: the relay "
		    "board counts tenths of a second)",
		    value, OPEN_MS_MIN, OPEN_MS_MAX, RELAY_BOARD_FLASH_MS);
		return -1;
	}
	return 0;
}

#define R(member) offsetof(struct barrier_relay, member)

static const struct schema_key barrier_relay_keys[] = {
	MODBUS_KEYS(struct barrier_relay),
	{ .name = "coil",
	    .type = SCHEMA_INT,
	    .offset = R(coil),
	    .min = 0,
	    .max = RELAY_BOARD_RELAYS - 1,
	    .required = true },
	{ .name = "open_ms", .type = SCHEMA_CUSTOM, .set = set_open_ms },
	{ .name = "loop_input",
	    .type = SCHEMA_INT,
	    .offset = R(b.loop_input),
	    .min = 0,
	    .max = RELAY_BOARD_INPUTS - 1 },
	{ .name = "lane",
	    .type = SCHEMA_ENUM,
	    .offset = R(b.lane),
	    .choices = driver_direction_choices,
	    .values = driver_direction_values },
	{ .name = "camera", .type = SCHEMA_ID, .offset = R(b.camera_id) },
	/* Often enough to see a car cross the loop: a loop detector's
	 * presence output stays closed only while the car is over it. */
	{ .name = "poll_ms",
	    .type = SCHEMA_INT,
	    .offset = R(poll_ms),
	    .min = 50,
	    .max = 60000 },
	SCHEMA_END,
};

#undef R

static void
barrier_relay_address(const struct device *dev, struct modbus_address *a)
{
	const struct barrier_relay *r = dev->priv;

	a->bus = r->bus;
	a->unit = r->unit;
	/* Without a loop there is nothing to read. */
	a->poll_ms = r->b.loop_input >= 0 ? r->poll_ms : 0;
}

static int
barrier_relay_poll(const struct device *dev, struct modbus_op *ops, size_t max)
{
	const struct barrier_relay *r = dev->priv;

	if (r->b.loop_input < 0)
		return 0;
	return relay_board_read_inputs(ops, max);
}

static int
barrier_relay_decode(const struct device *dev, const struct modbus_op *ops,
    size_t nops, struct event *out, size_t max, char *err, size_t errlen)
{
	(void)dev;
	if (max < 1) {
		snprintf(err, errlen, "no room for its event");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->type = EVENT_INPUT;
	if (relay_board_inputs(ops, nops, &out->u.input, err, errlen) < 0)
		return -1;
	return 1;
}

/*
 * The gateway never closes a barrier.  Lowering the arm is the barrier
 * controller's own job: its loop or radar knows whether a car is under
 * the arm, and the gateway does not.  So an open is the board's "flash
 * on", which closes the relay and lets it go by itself after the delay:
 * the open ends even if the Pi dies mid-command, and nothing the gateway
 * sends ever brings the arm down.  The command's own open_ms is not used:
 * the pulse the controller needs is the installer's open_ms, checked
 * against what the board can count when gateway.ini was read.
 *
 * The one exception is the fire alarm.  HOLD_OPEN writes the relay on,
 * and the board keeps it on by itself, so a gateway that dies during the
 * alarm leaves the barrier open (fail-safe).  Only NORMAL, after staff
 * reset the alarm, writes it off again.  As the board's manual describes
 * flash on, the relay ends off whatever it was before: an OPEN sent to a
 * held barrier would end the hold after open_ms, so the fire rules must
 * not send one.
 */
static int
barrier_relay_execute(const struct device *dev, const struct command *cmd,
    struct modbus_op *ops, size_t max)
{
	const struct barrier_relay *r = dev->priv;

	switch (cmd->action) {
	case COMMAND_OPEN:
	case COMMAND_PULSE:
		return relay_board_flash(ops, max, (unsigned)r->coil,
		    r->b.open_ms);
	case COMMAND_HOLD_OPEN:
		return relay_board_set(ops, max, (unsigned)r->coil, true);
	case COMMAND_NORMAL:
		return relay_board_set(ops, max, (unsigned)r->coil, false);
	default:
		/* A deny shows on no screen here; chargers are not barriers. */
		return 0;
	}
}

static const struct driver_modbus barrier_relay_modbus = {
	.address = barrier_relay_address,
	.poll = barrier_relay_poll,
	.decode = barrier_relay_decode,
	.execute = barrier_relay_execute,
};

const struct driver barrier_relay_driver = {
	.name = "barrier_relay",
	.class = DEVICE_BARRIER,
	.priv_size = sizeof(struct barrier_relay),
	.keys = barrier_relay_keys,
	.defaults = barrier_relay_defaults,
	.link = barrier_link,
	.modbus = &barrier_relay_modbus,
};
