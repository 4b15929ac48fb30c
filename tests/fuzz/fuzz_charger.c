/*
 * fuzz_charger.c - the charging point's decode of a poll's replies (any
 * shape, any register values) and of a staff request on MQTT.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_driver.h"

static const struct driver *drv;
static struct device charger;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	drv = fuzz_device(&charger, "charger", "charger-a");
	return 0;
}

static void
request(const uint8_t *data, size_t size)
{
	static const char *const subtopics[] = { "1/cmd", "16/cmd", "99999/cmd",
		"cmd", "1/state" };
	struct event ev;
	struct charger_request *r = &ev.u.charger;
	char err[160];
	enum driver_decode rc;

	if (size < 1)
		return;
	rc = drv->mqtt->decode(&charger, subtopics[data[0] % 5], data + 1,
	    size - 1, &ev, err, sizeof(err));
	if (ev.type != EVENT_CHARGER_REQUEST || !FUZZ_ENDS(r->request) ||
	    !FUZZ_ENDS(r->action_text))
		abort();
	if (rc == DRIVER_IGNORE) {
		if (data[0] % 5 < 3)
			abort();
		return;
	}
	if (rc == DRIVER_BAD) {
		if (!FUZZ_ENDS(err))
			abort();
		return;
	}
	if (rc != DRIVER_OK || r->request[0] == '\0' || r->port == 0 ||
	    !(r->limit_a >= 0) ||
	    (r->action != 0 && r->action != COMMAND_CHARGER_START &&
	        r->action != COMMAND_CHARGER_STOP))
		abort();
}

/*
 * data: 'M' then the MQTT subtopic's choice and the payload; or ports
 * (1..16), replies (0..8), room for events (0..16), a byte to spoil a
 * reply's shape, then register values (two bytes each) laid over the
 * replies' registers and bits.
 */
static void
replies(const uint8_t *data, size_t size)
{
	static struct modbus_op ops[DRIVER_OPS_MAX];
	struct event ev[16];
	char err[160], ports[8];
	size_t nops, max, i, j, r;
	int want, n;

	if (size < 4)
		return;
	snprintf(ports, sizeof(ports), "%u", data[0] % 16 + 1u);
	if (fuzz_key(&charger, "ports", ports) < 0)
		abort();
	want = drv->modbus->poll(&charger, ops, DRIVER_OPS_MAX);
	if (want < 2 || want > 4)
		abort();
	nops = data[1] % (DRIVER_OPS_MAX + 1);
	max = data[2] % 17;
	if (data[3] & 0x80)
		ops[data[3] % (size_t)want].addr ^= (uint16_t)(data[3] & 0x7f);
	for (i = 4, r = 0, j = 0; i + 1 < size && r < (size_t)want; i += 2) {
		ops[r].regs[j] = (uint16_t)(data[i] << 8 | data[i + 1]);
		ops[r].bits[j] = data[i] & 3;
		if (++j == MODBUS_OP_REGS)
			j = 0, r++;
	}
	err[0] = '\0';
	n = drv->modbus->decode(&charger, ops, nops, ev, max, err, sizeof(err));
	if (n == -1) {
		if (err[0] == '\0' || !FUZZ_ENDS(err))
			abort();
		return;
	}
	if (n != (int)(data[0] % 16 + 1) || (size_t)n > max ||
	    nops != (size_t)want)
		abort();
	for (i = 0; i < (size_t)n; i++) {
		const struct telemetry *t = &ev[i].u.telemetry;

		if (ev[i].type != EVENT_TELEMETRY || t->port != i + 1 ||
		    t->state > PORT_FAULT || !(t->temp_c >= -3276.8) ||
		    !(t->temp_c <= 3276.7) || !(t->current_a >= 0))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == 'M')
		request(data + 1, size - 1);
	else
		replies(data, size);
	return 0;
}
