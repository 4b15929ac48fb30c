/*
 * fuzz_barrier_relay.c - the relay barrier's decode of a poll's replies,
 * as a bus thread would hand them over: any function, address, count,
 * number of replies and bit values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_driver.h"

static const struct driver *drv;
static struct device barrier;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	drv = fuzz_device(&barrier, "barrier_relay", "barrier-south-in");
	if (fuzz_key(&barrier, "loop_input", "0") < 0)
		abort();
	return 0;
}

/*
 * data: function, address (2 bytes), count (2), replies (0..2), room
 * for events (0..1), then one byte per bit of the first reply.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct modbus_op ops[2];
	struct event ev;
	char err[160];
	size_t nops, max, i;
	int n;

	if (size < 7)
		return 0;
	memset(ops, 0, sizeof(ops));
	ops[0].fn = (enum modbus_function)data[0];
	ops[0].addr = (uint16_t)(data[1] << 8 | data[2]);
	ops[0].count = (uint16_t)(data[3] << 8 | data[4]);
	nops = data[5] % 3;
	max = data[6] % 2;
	for (i = 7; i < size && i - 7 < MODBUS_OP_BITS; i++)
		ops[0].bits[i - 7] = data[i];
	err[0] = '\0';
	n = drv->modbus->decode(&barrier, ops, nops, &ev, max, err,
	    sizeof(err));
	if (n == -1) {
		/* A reason to log, always. */
		if (err[0] == '\0' || !FUZZ_ENDS(err))
			abort();
		return 0;
	}
	/* Only the one reply poll() asks for is an event. */
	if (n != 1 || nops != 1 || max != 1 || ev.type != EVENT_INPUT ||
	    ops[0].fn != MODBUS_READ_DISCRETE_INPUTS || ops[0].addr != 0 ||
	    ops[0].count != 8 || ev.u.input.mask != 0xff)
		abort();
	for (i = 0; i < 8; i++)
		if (((ev.u.input.levels >> i) & 1) != ops[0].bits[i])
			abort();
	if (ev.u.input.levels & ~ev.u.input.mask)
		abort();
	return 0;
}
