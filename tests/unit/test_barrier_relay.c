/*
 * test_barrier_relay.c - the relay-board barrier's register maps, its keys
 * as gateway.ini sets them and its camera link, without a bus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "driver_test.h"

#include "config.h"
#include "diag.h"
#include "driver.h"
#include "outbox.h"

static const struct driver *drv;
static struct device barrier;

static int
setup(void **state)
{
	(void)state;
	drv = test_device_make(&barrier, "barrier_relay", "barrier-south-in");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_device_free(&barrier);
	return 0;
}

#define set(key, value, err)         test_key_set(&barrier, key, value, err)
#define set_ok(key, value)           test_key_ok(&barrier, key, value)
#define expect_bad(key, value, want) test_key_bad(&barrier, key, value, want)

static void
test_driver(void **state)
{
	const struct barrier_settings *b = device_barrier(&barrier);

	(void)state;
	assert_int_equal(drv->class, DEVICE_BARRIER);
	assert_non_null(drv->modbus);
	/* On a bus only: the barrier topics are barrier_mqtt's. */
	assert_null(drv->mqtt);
	assert_ptr_equal(driver_find_kind("barrier"),
	    driver_find("barrier_mqtt"));
	assert_ptr_equal(b, barrier.priv);
	assert_null(device_gate(&barrier));
	assert_int_equal(b->lane, DIRECTION_BOTH);
	assert_int_equal(b->open_ms, 1000);
	assert_int_equal(b->loop_input, -1);
	assert_null(b->camera);
}

static void
test_keys(void **state)
{
	const struct barrier_settings *b = device_barrier(&barrier);
	struct modbus_address a;

	(void)state;
	set_ok("bus", "rs485-1");
	set_ok("unit", "247");
	set_ok("coil", "7");
	set_ok("open_ms", "25500");
	set_ok("loop_input", "7");
	set_ok("lane", "in");
	set_ok("camera", "lpr-south-in");
	set_ok("poll_ms", "50");
	drv->modbus->address(&barrier, &a);
	assert_string_equal(a.bus, "rs485-1");
	assert_int_equal(a.unit, 247);
	assert_int_equal(a.poll_ms, 50);
	assert_int_equal(b->open_ms, 25500);
	assert_int_equal(b->loop_input, 7);
	assert_int_equal(b->lane, DIRECTION_IN);
	/* Named, not resolved: link() does that. */
	assert_null(b->camera);
	set_ok("lane", "out");
	assert_int_equal(b->lane, DIRECTION_OUT);
	set_ok("lane", "both");
	assert_int_equal(b->lane, DIRECTION_BOTH);
	set_ok("unit", "1");
	set_ok("coil", "0");
	set_ok("loop_input", "0");
	set_ok("poll_ms", "60000");
	set_ok("open_ms", "100");
	drv->modbus->address(&barrier, &a);
	assert_int_equal(a.unit, 1);
	assert_int_equal(a.poll_ms, 60000);
	assert_int_equal(b->loop_input, 0);
	assert_int_equal(b->open_ms, 100);

	expect_bad("unit", "0", "bad unit '0' (an integer from 1 to 247)");
	expect_bad("unit", "248", "bad unit '248' (an integer from 1 to 247)");
	expect_bad("unit", "1x", "bad unit '1x' (an integer from 1 to 247)");
	expect_bad("coil", "8", "bad coil '8' (an integer from 0 to 7)");
	expect_bad("coil", "-1", "bad coil '-1' (an integer from 0 to 7)");
	expect_bad("loop_input", "8",
	    "bad loop_input '8' (an integer from 0 to 7)");
	expect_bad("lane", "sideways", "bad lane 'sideways' (in, out or both)");
	expect_bad("lane", "IN", "bad lane 'IN' (in, out or both)");
	expect_bad("poll_ms", "49",
	    "bad poll_ms '49' (an integer from 50 to 60000)");
	expect_bad("bus", "RS485 1",
	    "bad bus 'RS485 1' (a-z, 0-9, '_' and '-', at most 32)");
	expect_bad("camera", "LPR",
	    "bad camera 'LPR' (a-z, 0-9, '_' and '-', at most 32)");
	assert_null(schema_find(drv->keys, "direction"));
	/* The board counts tenths of a second: refused, not rounded. */
	expect_bad("open_ms", "1050",
	    "bad open_ms '1050' (100 to 25500 in steps of 100: the relay "
	    "board counts tenths of a second)");
	expect_bad("open_ms", "0",
	    "bad open_ms '0' (100 to 25500 in steps of 100: the relay board "
	    "counts tenths of a second)");
	expect_bad("open_ms", "25600",
	    "bad open_ms '25600' (100 to 25500 in steps of 100: the relay "
	    "board counts tenths of a second)");
	expect_bad("open_ms", "1 s",
	    "bad open_ms '1 s' (100 to 25500 in steps of 100: the relay "
	    "board counts tenths of a second)");
	/* A bad value leaves the last good one. */
	assert_int_equal(b->open_ms, 100);
	assert_int_equal(b->lane, DIRECTION_BOTH);
}

/* The ops execute() fills for one action, checked to be exactly one. */
static void
expect_write(enum command_action action, uint16_t addr, uint16_t value)
{
	struct modbus_op ops[DRIVER_OPS_MAX];
	/* The command's own open_ms is not the barrier's. */
	struct command cmd = { .action = action, .open_ms = 5000 };

	memset(ops, 0xaa, sizeof(ops));
	assert_int_equal(drv->modbus->execute(&barrier, &cmd, ops,
	                     DRIVER_OPS_MAX),
	    1);
	assert_int_equal(ops[0].fn, MODBUS_WRITE_COIL);
	assert_int_equal(ops[0].addr, addr);
	assert_int_equal(ops[0].count, 1);
	assert_int_equal(ops[0].value, value);
	/* Nothing written past the one op. */
	assert_int_equal(ops[1].addr, 0xaaaa);
}

static void
expect_nothing(enum command_action action)
{
	struct modbus_op ops[DRIVER_OPS_MAX];
	struct command cmd = { .action = action, .open_ms = 3000 };

	assert_int_equal(drv->modbus->execute(&barrier, &cmd, ops,
	                     DRIVER_OPS_MAX),
	    0);
}

/* DESIGN §4.2: coil 0x0200+n with the delay in tenths is "flash on"
 * relay n; coil n itself is the relay, FF00 on and 0000 off. */
static const struct {
	const char *coil, *open_ms;
	enum command_action action;
	uint16_t addr, value;
} map[] = {
	{ "0", "1000", COMMAND_OPEN, 0x0200, 10 },
	{ "0", "1000", COMMAND_PULSE, 0x0200, 10 },
	{ "0", "1000", COMMAND_HOLD_OPEN, 0x0000, 0xFF00 },
	{ "0", "1000", COMMAND_NORMAL, 0x0000, 0x0000 },
	{ "7", "100", COMMAND_OPEN, 0x0207, 1 },
	{ "7", "100", COMMAND_PULSE, 0x0207, 1 },
	{ "7", "25500", COMMAND_OPEN, 0x0207, 255 },
	{ "7", "25500", COMMAND_PULSE, 0x0207, 255 },
	{ "7", "25500", COMMAND_HOLD_OPEN, 0x0007, 0xFF00 },
	{ "7", "25500", COMMAND_NORMAL, 0x0007, 0x0000 },
	{ "3", "3000", COMMAND_OPEN, 0x0203, 30 },
	{ "3", "3000", COMMAND_HOLD_OPEN, 0x0003, 0xFF00 },
	{ "3", "3000", COMMAND_NORMAL, 0x0003, 0x0000 },
};

static void
test_register_map(void **state)
{
	struct modbus_op op;
	struct command open = { .action = COMMAND_OPEN };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		set_ok("coil", map[i].coil);
		set_ok("open_ms", map[i].open_ms);
		expect_write(map[i].action, map[i].addr, map[i].value);
	}

	/* A deny has no screen here; a barrier is no charger. */
	expect_nothing(COMMAND_DENY);
	expect_nothing(COMMAND_CHARGER_START);
	expect_nothing(COMMAND_CHARGER_STOP);
	expect_nothing(COMMAND_CHARGER_LIMIT);
	expect_nothing(0);
	expect_nothing(COMMAND_ACTION_MAX);

	/* No room: refused, not cut. */
	assert_int_equal(drv->modbus->execute(&barrier, &open, &op, 0), -1);
}

static void
test_poll(void **state)
{
	struct modbus_op ops[DRIVER_OPS_MAX];
	struct modbus_address a;

	(void)state;
	/* No loop: nothing to read, never polled. */
	assert_int_equal(drv->modbus->poll(&barrier, ops, DRIVER_OPS_MAX), 0);
	drv->modbus->address(&barrier, &a);
	assert_int_equal(a.poll_ms, 0);

	set_ok("loop_input", "5");
	drv->modbus->address(&barrier, &a);
	assert_int_equal(a.poll_ms, 200);
	memset(ops, 0xaa, sizeof(ops));
	assert_int_equal(drv->modbus->poll(&barrier, ops, DRIVER_OPS_MAX), 1);
	assert_int_equal(ops[0].fn, MODBUS_READ_DISCRETE_INPUTS);
	assert_int_equal(ops[0].addr, 0);
	assert_int_equal(ops[0].count, 8);
	assert_int_equal(ops[1].addr, 0xaaaa);
	assert_int_equal(drv->modbus->poll(&barrier, ops, 0), -1);
}

/* A reply to the poll, with the inputs' levels in bits. */
static int
decode(const char *levels, enum modbus_function fn, uint16_t count, size_t nops,
    struct input_levels *out, char *err)
{
	struct modbus_op ops[2];
	struct event ev;
	size_t i;
	int n;

	memset(ops, 0, sizeof(ops));
	ops[0].fn = fn;
	ops[0].count = count;
	for (i = 0; levels[i] != '\0'; i++)
		ops[0].bits[i] = (uint8_t)(levels[i] - '0');
	err[0] = '\0';
	memset(&ev, 0xaa, sizeof(ev));
	n = drv->modbus->decode(&barrier, ops, nops, &ev, 1, err, 160);
	if (n == 1) {
		assert_int_equal(ev.type, EVENT_INPUT);
		*out = ev.u.input;
	}
	return n;
}

static void
test_decode(void **state)
{
	const enum modbus_function inputs = MODBUS_READ_DISCRETE_INPUTS;
	struct input_levels in;
	struct modbus_op op = { .fn = MODBUS_READ_DISCRETE_INPUTS, .count = 8 };
	struct event ev;
	char err[160];

	(void)state;
	set_ok("loop_input", "0");
	/* Input 0 (the loop here) closed: a car is over it. */
	assert_int_equal(decode("10000000", inputs, 8, 1, &in, err), 1);
	assert_int_equal(in.mask, 0xff);
	assert_int_equal(in.levels, 0x01);
	assert_int_equal(decode("11111111", inputs, 8, 1, &in, err), 1);
	assert_int_equal(in.mask, 0xff);
	assert_int_equal(in.levels, 0xff);
	assert_int_equal(decode("00000001", inputs, 8, 1, &in, err), 1);
	assert_int_equal(in.levels, 0x80);
	assert_int_equal(decode("00000000", inputs, 8, 1, &in, err), 1);
	assert_int_equal(in.mask, 0xff);
	assert_int_equal(in.levels, 0);

	assert_int_equal(decode("1000000", inputs, 7, 1, &in, err), -1);
	assert_string_equal(err,
	    "reply to function 2 at 0 for 7, not to a read of discrete "
	    "inputs 0..7");
	assert_int_equal(decode("10000000", MODBUS_READ_COILS, 8, 1, &in, err),
	    -1);
	assert_string_equal(err,
	    "reply to function 1 at 0 for 8, not to a read of discrete "
	    "inputs 0..7");
	assert_int_equal(decode("10000000", inputs, 8, 0, &in, err), -1);
	assert_string_equal(err, "0 replies to a poll of one read");
	assert_int_equal(decode("10000000", inputs, 8, 2, &in, err), -1);
	assert_string_equal(err, "2 replies to a poll of one read");
	assert_int_equal(decode("10200000", inputs, 8, 1, &in, err), -1);
	assert_string_equal(err, "input 2 reads 2, not 0 or 1");

	op.addr = 8;
	assert_int_equal(drv->modbus->decode(&barrier, &op, 1, &ev, 1, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "reply to function 2 at 8 for 8, not to a read of discrete "
	    "inputs 0..7");
	op.addr = 0;
	assert_int_equal(drv->modbus->decode(&barrier, &op, 1, &ev, 0, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "no room for its event");
}

static void
test_link(void **state)
{
	struct lpr_settings lpr_priv = { 0 };
	struct device lpr = { .id = "lpr-south-in",
		.driver = driver_find("lpr"),
		.priv = &lpr_priv };
	struct device gate = { .id = "gate-north",
		.driver = driver_find("face_gate") };
	struct device twin;
	struct device *devices[] = { &lpr, &gate, &barrier, &twin };
	struct config cfg = { .devices = devices, .ndevices = 4 };
	const struct barrier_settings *b = device_barrier(&barrier);
	char err[160];

	(void)state;
	test_device_make(&twin, "barrier_relay", "barrier-twin");

	/* No camera: nothing to resolve. */
	assert_int_equal(drv->link(&barrier, &cfg, err, sizeof(err)), 0);
	assert_null(b->camera);

	set_ok("camera", "lpr-north");
	assert_int_equal(drv->link(&barrier, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown camera 'lpr-north'");
	set_ok("camera", "gate-north");
	assert_int_equal(drv->link(&barrier, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "camera gate-north is not a plate camera (driver face_gate)");
	set_ok("camera", "barrier-twin");
	assert_int_equal(drv->link(&barrier, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "camera barrier-twin is not a plate camera (driver "
	    "barrier_relay)");
	assert_null(b->camera);

	set_ok("camera", "lpr-south-in");
	assert_int_equal(drv->link(&barrier, &cfg, err, sizeof(err)), 0);
	assert_ptr_equal(b->camera, &lpr);
	assert_ptr_equal(lpr_priv.barrier, &barrier); /* its reads' barrier */

	/* A second barrier on the same camera would open with the first. */
	test_key_ok(&twin, "camera", "lpr-south-in");
	assert_int_equal(drv->link(&twin, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err,
	    "camera lpr-south-in already opens barrier barrier-south-in");
	assert_null(device_barrier(&twin)->camera);

	test_device_free(&twin);
}

static void
test_config(void **state)
{
	const struct barrier_settings *b;
	struct modbus_address a;
	struct config *c;
	char *problems;

	(void)state;
	assert_int_equal(scratch_enter("test_barrier_relay"), 0);

	problems = test_config_load("ok.ini",
	    TEST_GATEWAY "[device gate-north]\ndriver = face_gate\n"
	                 "[device barrier-south-in]\n"
	                 "driver = barrier_relay\n"
	                 "bus = rs485-1\n"
	                 "unit = 3\n"
	                 "coil = 2\n"
	                 "open_ms = 1500\n"
	                 "loop_input = 4\n"
	                 "lane = in\n"
	                 "[device barrier-south-out]\n"
	                 "driver = barrier_relay\n"
	                 "bus = rs485-1\nunit = 3\ncoil = 3\n",
	    &c);
	assert_string_equal(problems, "");
	free(problems);
	assert_non_null(c);
	assert_int_equal(config_count_class(c, DEVICE_GATE), 1);
	assert_int_equal(config_count_class(c, DEVICE_BARRIER), 2);
	b = device_barrier(config_device(c, "barrier-south-in"));
	assert_non_null(b);
	assert_int_equal(b->lane, DIRECTION_IN);
	assert_int_equal(b->open_ms, 1500);
	assert_int_equal(b->loop_input, 4);
	assert_null(b->camera);
	config_device(c, "barrier-south-in")
	    ->driver->modbus->address(config_device(c, "barrier-south-in"), &a);
	assert_string_equal(a.bus, "rs485-1");
	assert_int_equal(a.unit, 3);
	assert_int_equal(a.poll_ms, 200);
	b = device_barrier(config_device(c, "barrier-south-out"));
	assert_int_equal(b->lane, DIRECTION_BOTH);
	assert_int_equal(b->loop_input, -1);
	assert_null(device_barrier(config_device(c, "gate-north")));
	config_free(c);

	/* link() speaks once the whole file is read: at the section line. */
	problems = test_config_load("camera.ini",
	    TEST_GATEWAY "[device barrier-south-in]\n" /* 8 */
	                 "driver = barrier_relay\n"
	                 "bus = rs485-1\nunit = 1\ncoil = 0\n"
	                 "camera = lpr-south-in\n" /* 13 */
	                 "[device barrier-north]\n"
	                 "driver = barrier_relay\n"
	                 "bus = rs485-1\nunit = 1\ncoil = 1\n"
	                 "camera = gate-north\n" /* 19 */
	                 "[device gate-north]\ndriver = face_gate\n",
	    &c);
	assert_null(c);
	assert_string_equal(problems,
	    "camera.ini:8: device barrier-south-in: unknown camera "
	    "'lpr-south-in'\n"
	    "camera.ini:14: device barrier-north: camera gate-north is not a "
	    "plate camera (driver face_gate)\n");
	free(problems);

	problems = test_config_load("bad.ini",
	    TEST_GATEWAY "[device barrier-south-in]\n" /* 8 */
	                 "driver = barrier_relay\n"
	                 "unit = 0\n"
	                 "coil = 8\n"
	                 "lane = sideways\n"
	                 "open_ms = 1050\n" /* 13 */
	                 "poll_ms = 10\n"
	                 "direction = in\n",
	    &c);
	assert_null(c);
	assert_string_equal(problems,
	    "bad.ini:8: missing key 'bus' in [device barrier-south-in]\n"
	    "bad.ini:10: device barrier-south-in: bad unit '0' (an integer "
	    "from 1 to 247)\n"
	    "bad.ini:11: device barrier-south-in: bad coil '8' (an integer "
	    "from 0 to 7)\n"
	    "bad.ini:12: device barrier-south-in: bad lane 'sideways' (in, "
	    "out or both)\n"
	    "bad.ini:13: device barrier-south-in: bad open_ms '1050' (100 to "
	    "25500 in steps of 100: the relay board counts tenths of a "
	    "second)\n"
	    "bad.ini:14: device barrier-south-in: bad poll_ms '10' (an "
	    "integer from 50 to 60000)\n"
	    "bad.ini:15: device barrier-south-in: unknown key 'direction' for "
	    "driver barrier_relay\n");
	free(problems);

	assert_int_equal(scratch_leave(), 0);
}

static int publishes;

static int
count_publish(void *arg, const char *topic, const void *payload, size_t len,
    int qos, bool retain)
{
	(void)arg;
	(void)topic;
	(void)payload;
	(void)len;
	(void)qos;
	(void)retain;
	publishes++;
	return 0;
}

/*
 * What a running gatewayd does with a barrier's command before the bus
 * layer: nothing is published in its name, it is counted as not sent.
 */
static void
test_no_bus_yet(void **state)
{
	const struct outbox_sinks sinks = { .publish = count_publish };
	struct command open = { .action = COMMAND_OPEN, .request = "req-2" };
	struct command hold = { .action = COMMAND_HOLD_OPEN };
	struct outbox *o = outbox_new(&sinks, "cg/jinding-5");

	(void)state;
	assert_non_null(o);
	publishes = 0;
	outbox_command(o, 1, &barrier, &open);
	assert_int_equal(outbox_pending(o), 1);
	outbox_release(o, 1);
	assert_int_equal(outbox_pending(o), 0);
	assert_int_equal(outbox_unsent(o), 1);
	outbox_command_now(o, &barrier, &hold);
	assert_int_equal(outbox_unsent(o), 2);
	assert_int_equal(publishes, 0);
	outbox_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_map, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link, setup, teardown),
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup_teardown(test_no_bus_yet, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
