/*
 * relay_board.c - the Waveshare relay board's register map as Modbus
 * transactions, and its inputs as levels.  No bus here: the bus layer
 * carries the ops out, and checks a flash's echo itself (MODBUS-NOTES).
 */
#include <stdio.h>
#include <string.h>

#include "relay_board.h"

#define FLASH_COIL 0x0200 /* coil 0x0200+n: "flash on" relay n */
#define COIL_ON    0xFF00
#define COIL_OFF   0x0000

static int
one_op(struct modbus_op *ops, size_t max, enum modbus_function fn,
    uint16_t addr, uint16_t count, uint16_t value)
{
	if (max < 1)
		return -1;
	driver_modbus_op(&ops[0], fn, addr, count, value);
	return 1;
}

int
relay_board_flash(struct modbus_op *ops, size_t max, unsigned relay, int ms)
{
	return one_op(ops, max, MODBUS_WRITE_COIL,
	    (uint16_t)(FLASH_COIL + relay), 1,
	    (uint16_t)(ms / RELAY_BOARD_FLASH_MS));
}

int
relay_board_set(struct modbus_op *ops, size_t max, unsigned relay, bool on)
{
	return one_op(ops, max, MODBUS_WRITE_COIL, (uint16_t)relay, 1,
	    on ? COIL_ON : COIL_OFF);
}

/* All eight inputs cost the same one transaction as one of them. */
int
relay_board_read_inputs(struct modbus_op *ops, size_t max)
{
	return one_op(ops, max, MODBUS_READ_DISCRETE_INPUTS, 0,
	    RELAY_BOARD_INPUTS, 0);
}

int
relay_board_inputs(const struct modbus_op *ops, size_t nops,
    struct input_levels *in, char *err, size_t errlen)
{
	const struct modbus_op *op = &ops[0];
	unsigned i;

	if (nops != 1) {
		snprintf(err, errlen, "%zu replies to a poll of one read",
		    nops);
		return -1;
	}
	if (op->fn != MODBUS_READ_DISCRETE_INPUTS || op->addr != 0 ||
	    op->count != RELAY_BOARD_INPUTS) {
		snprintf(err, errlen,
		    "reply to function %d at %u for %u, not to a read of "
		    "discrete inputs 0..%d",
		    (int)op->fn, op->addr, op->count, RELAY_BOARD_INPUTS - 1);
		return -1;
	}
	memset(in, 0, sizeof(*in));
	for (i = 0; i < RELAY_BOARD_INPUTS; i++) {
		if (op->bits[i] > 1) {
			snprintf(err, errlen, "input %u reads %u, not 0 or 1",
			    i, op->bits[i]);
			return -1;
		}
		in->levels |= (uint32_t)op->bits[i] << i;
	}
	in->mask = (1u << RELAY_BOARD_INPUTS) - 1;
	return 0;
}
