/*
 * test_charger.c - the charging point's register map (DESIGN §4.2), its
 * keys as gateway.ini sets them and its staff requests on MQTT, without a
 * bus or a broker.
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
#include <math.h>

#include "config.h"
#include "diag.h"
#include "driver.h"

static const struct driver *drv;
static struct device charger;

static int
setup(void **state)
{
	(void)state;
	drv = test_device_make(&charger, "charger", "charger-a");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_device_free(&charger);
	return 0;
}

#define set(key, value, err)         test_key_set(&charger, key, value, err)
#define set_ok(key, value)           test_key_ok(&charger, key, value)
#define expect_bad(key, value, want) test_key_bad(&charger, key, value, want)

static void
test_driver(void **state)
{
	const struct charger_settings *c = device_charger(&charger);

	(void)state;
	assert_int_equal(drv->class, DEVICE_CHARGER);
	assert_non_null(drv->modbus);
	assert_non_null(drv->mqtt);
	assert_string_equal(drv->mqtt->kind, "charger");
	assert_string_equal(drv->mqtt->subtopics[0], "+/cmd");
	assert_null(drv->mqtt->subtopics[1]);
	/* Commanded on its bus, never on MQTT. */
	assert_null(drv->mqtt->encode);
	assert_ptr_equal(driver_find_kind("charger"), drv);
	assert_ptr_equal(c, charger.priv);
	assert_null(device_barrier(&charger));
	assert_null(device_gate(&charger));
	assert_near(c->max_current_a, 16, 1e-9);
	assert_near(c->max_temp_c, 60, 1e-9);
	assert_near(c->full_w, 10, 1e-9);
	assert_near(c->full_min, 10, 1e-9);
}

static void
test_keys(void **state)
{
	const struct charger_settings *c = device_charger(&charger);
	struct modbus_address a;

	(void)state;
	set_ok("bus", "rs485-2");
	set_ok("unit", "247");
	set_ok("ports", "16");
	set_ok("max_current_a", "0.1");
	set_ok("max_temp_c", "120");
	set_ok("full_w", "0");
	set_ok("full_min", "0.05");
	set_ok("poll_ms", "100");
	drv->modbus->address(&charger, &a);
	assert_string_equal(a.bus, "rs485-2");
	assert_int_equal(a.unit, 247);
	assert_int_equal(a.poll_ms, 100);
	assert_int_equal(c->ports, 16);
	assert_near(c->max_current_a, 0.1, 1e-9);
	assert_near(c->max_temp_c, 120, 1e-9);
	assert_near(c->full_w, 0, 1e-9);
	assert_near(c->full_min, 0.05, 1e-9);
	set_ok("ports", "1");
	set_ok("max_current_a", "100");
	set_ok("max_temp_c", "20");
	set_ok("full_w", "1000");
	set_ok("full_min", "1440");
	set_ok("poll_ms", "60000");
	assert_int_equal(c->ports, 1);
	assert_near(c->max_current_a, 100, 1e-9);

	expect_bad("unit", "0", "bad unit '0' (an integer from 1 to 247)");
	expect_bad("unit", "248", "bad unit '248' (an integer from 1 to 247)");
	expect_bad("ports", "0", "bad ports '0' (an integer from 1 to 16)");
	expect_bad("ports", "17", "bad ports '17' (an integer from 1 to 16)");
	expect_bad("ports", "-1", "bad ports '-1' (an integer from 1 to 16)");
	expect_bad("max_current_a", "0",
	    "bad max_current_a '0' (a number from 0.1 to 100)");
	expect_bad("max_current_a", "100.5",
	    "bad max_current_a '100.5' (a number from 0.1 to 100)");
	expect_bad("max_temp_c", "19",
	    "bad max_temp_c '19' (a number from 20 to 120)");
	expect_bad("full_w", "-1", "bad full_w '-1' (a number from 0 to 1000)");
	expect_bad("full_min", "0",
	    "bad full_min '0' (a number from 0.01 to 1440)");
	expect_bad("full_min", "10m",
	    "bad full_min '10m' (a number from 0.01 to 1440)");
	expect_bad("poll_ms", "99",
	    "bad poll_ms '99' (an integer from 100 to 60000)");
	expect_bad("bus", "RS485",
	    "bad bus 'RS485' (a-z, 0-9, '_' and '-', at most 32)");
	/* A bad value leaves the last good one. */
	assert_int_equal(c->ports, 1);
	assert_near(c->full_min, 1440, 1e-9);
}

/* poll() for this many ports: reads of whole blocks, 7 a read, then the
 * coils. */
static void
expect_poll(const char *ports, int nreads, const uint16_t *counts)
{
	struct modbus_op ops[DRIVER_OPS_MAX + 1];
	unsigned n = (unsigned)strtoul(ports, NULL, 10);
	int i;

	set_ok("ports", ports);
	memset(ops, 0xaa, sizeof(ops));
	assert_int_equal(drv->modbus->poll(&charger, ops, DRIVER_OPS_MAX),
	    nreads + 1);
	for (i = 0; i < nreads; i++) {
		assert_int_equal(ops[i].fn, MODBUS_READ_INPUT_REGISTERS);
		assert_int_equal(ops[i].addr, i * 112);
		assert_int_equal(ops[i].count, counts[i]);
	}
	assert_int_equal(ops[nreads].fn, MODBUS_READ_COILS);
	assert_int_equal(ops[nreads].addr, 0);
	assert_int_equal(ops[nreads].count, n);
	assert_int_equal(ops[nreads + 1].addr, 0xaaaa);
	/* No room for all: refused, not cut. */
	assert_int_equal(drv->modbus->poll(&charger, ops, (size_t)nreads), -1);
	assert_int_equal(drv->modbus->poll(&charger, ops, 0), -1);
}

static void
test_poll(void **state)
{
	static const uint16_t one[] = { 16 }, four[] = { 64 },
	                      seven[] = { 112 }, eight[] = { 112, 16 },
	                      sixteen[] = { 112, 112, 32 };
	struct modbus_address a;

	(void)state;
	set_ok("bus", "rs485-1");
	set_ok("unit", "5");
	drv->modbus->address(&charger, &a);
	assert_int_equal(a.poll_ms, 1000);
	expect_poll("1", 1, one);
	expect_poll("4", 1, four);
	expect_poll("7", 1, seven);
	expect_poll("8", 2, eight);
	expect_poll("16", 3, sixteen);
}

/* A block of registers: state, current, voltage, power hi/lo, energy
 * hi/lo, temperature, fault. */
static void
block(struct modbus_op *ops, unsigned port, const uint16_t regs[9])
{
	unsigned p = port - 1;

	memcpy(&ops[p / 7].regs[(p % 7) * 16], regs, 9 * sizeof(regs[0]));
}

/* The ops poll() asks for, with zero replies. */
static int
replies(struct modbus_op *ops)
{
	int n = drv->modbus->poll(&charger, ops, DRIVER_OPS_MAX);

	assert_true(n > 0);
	return n;
}

static void
test_decode(void **state)
{
	struct modbus_op ops[DRIVER_OPS_MAX];
	struct event ev[16];
	const struct telemetry *t;
	char err[160];
	int n, i;

	(void)state;
	set_ok("ports", "8");
	n = replies(ops);
	assert_int_equal(n, 3);
	/* Port 1: charging at 0.8 A, 230.4 V, 180 W; energy just past a
	 * 16-bit boundary; 31.5 °C; output on. */
	block(ops, 1,
	    (const uint16_t[]){ 2, 80, 2304, 0, 180, 0x0001, 0x0000, 315, 0 });
	ops[2].bits[0] = 1;
	/* Port 2: finished, energy one below the boundary, power with a
	 * high word, −20.0 °C. */
	block(ops, 2,
	    (const uint16_t[]){ 3, 0, 2200, 0x0001, 0x0002, 0x0000, 0xFFFF,
	        0xFF38, 0 });
	/* Port 7 (the read's last block): fault 12, 72.4 °C, output on. */
	block(ops, 7,
	    (const uint16_t[]){ 4, 1234, 2399, 0xFFFF, 0xFFFF, 0x0010, 0x0000,
	        724, 12 });
	ops[2].bits[6] = 1;
	/* Port 8: the second read's first block, plugged. */
	block(ops, 8, (const uint16_t[]){ 1, 0, 2301, 0, 0, 0, 0, 0, 0 });
	ops[2].bits[7] = 1;

	memset(ev, 0xaa, sizeof(ev));
	assert_int_equal(drv->modbus->decode(&charger, ops, (size_t)n, ev, 16,
	                     err, sizeof(err)),
	    8);
	for (i = 0; i < 8; i++) {
		assert_int_equal(ev[i].type, EVENT_TELEMETRY);
		assert_int_equal(ev[i].u.telemetry.port, i + 1);
		assert_int_equal(ev[i].u.telemetry.have, 0xff);
	}
	t = &ev[0].u.telemetry;
	assert_int_equal(t->state, PORT_CHARGING);
	assert_near(t->current_a, 0.8, 1e-9);
	assert_near(t->voltage_v, 230.4, 1e-9);
	assert_near(t->power_w, 180, 1e-9);
	assert_near(t->energy_wh, 65536, 1e-9);
	assert_near(t->temp_c, 31.5, 1e-9);
	assert_int_equal(t->fault, 0);
	assert_true(t->enabled);
	t = &ev[1].u.telemetry;
	assert_int_equal(t->state, PORT_FINISHED);
	assert_near(t->power_w, 65538, 1e-9);
	assert_near(t->energy_wh, 65535, 1e-9);
	assert_near(t->temp_c, -20.0, 1e-9);
	assert_false(t->enabled);
	t = &ev[2].u.telemetry;
	assert_int_equal(t->state, PORT_IDLE);
	assert_near(t->voltage_v, 0, 1e-9);
	t = &ev[6].u.telemetry;
	assert_int_equal(t->state, PORT_FAULT);
	assert_near(t->current_a, 12.34, 1e-9);
	assert_near(t->voltage_v, 239.9, 1e-9);
	assert_near(t->power_w, 4294967295.0, 1e-3);
	assert_near(t->energy_wh, 1048576, 1e-9);
	assert_near(t->temp_c, 72.4, 1e-9);
	assert_int_equal(t->fault, 12);
	assert_true(t->enabled);
	t = &ev[7].u.telemetry;
	assert_int_equal(t->state, PORT_PLUGGED);
	assert_near(t->voltage_v, 230.1, 1e-9);
	assert_true(t->enabled);

	/* A state the map does not have: that port is named. */
	block(ops, 8, (const uint16_t[]){ 5, 0, 0, 0, 0, 0, 0, 0, 0 });
	assert_int_equal(drv->modbus->decode(&charger, ops, (size_t)n, ev, 16,
	                     err, sizeof(err)),
	    -1);
	assert_string_equal(err, "port 8: state 5 is none of 0..4");
	block(ops, 8, (const uint16_t[]){ 1, 0, 0, 0, 0, 0, 0, 0, 0 });
	ops[2].bits[3] = 2;
	assert_int_equal(drv->modbus->decode(&charger, ops, (size_t)n, ev, 16,
	                     err, sizeof(err)),
	    -1);
	assert_string_equal(err, "port 4: coil reads 2, not 0 or 1");
	ops[2].bits[3] = 0;

	/* Replies not shaped as asked. */
	assert_int_equal(drv->modbus->decode(&charger, ops, 2, ev, 16, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "2 replies to a poll of 3 reads");
	ops[1].addr = 113;
	assert_int_equal(drv->modbus->decode(&charger, ops, 3, ev, 16, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "reply 2 to function 4 at 113 for 16, not to function 4 at 112 "
	    "for 16");
	ops[1].addr = 112;
	ops[2].fn = MODBUS_READ_DISCRETE_INPUTS;
	assert_int_equal(drv->modbus->decode(&charger, ops, 3, ev, 16, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "reply 3 to function 2 at 0 for 8, not to function 1 at 0 for 8");
	ops[2].fn = MODBUS_READ_COILS;
	ops[0].count = 111;
	assert_int_equal(drv->modbus->decode(&charger, ops, 3, ev, 16, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "reply 1 to function 4 at 0 for 111, not to function 4 at 0 for "
	    "112");
	ops[0].count = 112;
	assert_int_equal(drv->modbus->decode(&charger, ops, 3, ev, 7, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "room for 7 events, not 8 ports");
	assert_int_equal(drv->modbus->decode(&charger, ops, 3, ev, 8, err,
	                     sizeof(err)),
	    8);
}

/* The ops execute() fills for one command. */
static int
execute(enum command_action action, unsigned port, double limit_a,
    struct modbus_op *ops)
{
	struct command cmd = { .action = action,
		.port = port,
		.limit_a = limit_a };

	memset(ops, 0xaa, DRIVER_OPS_MAX * sizeof(ops[0]));
	return drv->modbus->execute(&charger, &cmd, ops, DRIVER_OPS_MAX);
}

static void
expect_op(const struct modbus_op *op, enum modbus_function fn, uint16_t addr,
    uint16_t value)
{
	assert_int_equal(op->fn, fn);
	assert_int_equal(op->addr, addr);
	assert_int_equal(op->count, 1);
	assert_int_equal(op->value, value);
}

static void
test_execute(void **state)
{
	struct modbus_op ops[DRIVER_OPS_MAX];
	struct command start = { .action = COMMAND_CHARGER_START,
		.port = 1,
		.limit_a = 10 };

	(void)state;
	set_ok("ports", "16");
	/* Start with a limit: the limit first, then the output on. */
	assert_int_equal(execute(COMMAND_CHARGER_START, 3, 10, ops), 2);
	expect_op(&ops[0], MODBUS_WRITE_REGISTER, 32, 100);
	expect_op(&ops[1], MODBUS_WRITE_COIL, 2, 0xFF00);
	assert_int_equal(ops[2].addr, 0xaaaa);
	/* Rounded to the register's tenths. */
	assert_int_equal(execute(COMMAND_CHARGER_START, 16, 2.56, ops), 2);
	expect_op(&ops[0], MODBUS_WRITE_REGISTER, 240, 26);
	expect_op(&ops[1], MODBUS_WRITE_COIL, 15, 0xFF00);
	/* Without one: the output only, on the limit it has. */
	assert_int_equal(execute(COMMAND_CHARGER_START, 1, 0, ops), 1);
	expect_op(&ops[0], MODBUS_WRITE_COIL, 0, 0xFF00);
	assert_int_equal(ops[1].addr, 0xaaaa);
	/* Above the installer's max_current_a (16): written as 16. */
	assert_int_equal(execute(COMMAND_CHARGER_START, 1, 40, ops), 2);
	expect_op(&ops[0], MODBUS_WRITE_REGISTER, 0, 160);

	assert_int_equal(execute(COMMAND_CHARGER_STOP, 1, 0, ops), 1);
	expect_op(&ops[0], MODBUS_WRITE_COIL, 0, 0x0000);
	assert_int_equal(ops[1].addr, 0xaaaa);
	assert_int_equal(execute(COMMAND_CHARGER_STOP, 16, 10, ops), 1);
	expect_op(&ops[0], MODBUS_WRITE_COIL, 15, 0x0000);

	assert_int_equal(execute(COMMAND_CHARGER_LIMIT, 2, 6.5, ops), 1);
	expect_op(&ops[0], MODBUS_WRITE_REGISTER, 16, 65);
	assert_int_equal(ops[1].addr, 0xaaaa);
	/* A limit of nothing is nothing to write. */
	assert_int_equal(execute(COMMAND_CHARGER_LIMIT, 2, 0, ops), 0);

	/* Ports out of range, and commands for others. */
	assert_int_equal(execute(COMMAND_CHARGER_START, 0, 10, ops), 0);
	assert_int_equal(execute(COMMAND_CHARGER_START, 17, 10, ops), 0);
	assert_int_equal(execute(COMMAND_CHARGER_STOP, 17, 0, ops), 0);
	set_ok("ports", "4");
	assert_int_equal(execute(COMMAND_CHARGER_STOP, 5, 0, ops), 0);
	assert_int_equal(execute(COMMAND_CHARGER_LIMIT, 5, 10, ops), 0);
	assert_int_equal(execute(COMMAND_OPEN, 1, 0, ops), 0);
	assert_int_equal(execute(COMMAND_HOLD_OPEN, 1, 0, ops), 0);
	assert_int_equal(execute(COMMAND_PULSE, 1, 0, ops), 0);
	assert_int_equal(execute(0, 1, 0, ops), 0);

	/* No room: refused, not cut. */
	assert_int_equal(drv->modbus->execute(&charger, &start, ops, 1), -1);
	assert_int_equal(drv->modbus->execute(&charger, &start, ops, 0), -1);
}

static enum driver_decode
request(const char *subtopic, const char *payload, struct charger_request *r,
    char *err)
{
	struct event ev;
	enum driver_decode rc;

	memset(&ev, 0xaa, sizeof(ev));
	err[0] = '\0';
	rc = drv->mqtt->decode(&charger, subtopic, payload, strlen(payload),
	    &ev, err, 160);
	assert_int_equal(ev.type, EVENT_CHARGER_REQUEST);
	*r = ev.u.charger;
	return rc;
}

static void
test_request(void **state)
{
	struct charger_request r;
	char err[160];

	(void)state;
	set_ok("ports", "4");
	assert_int_equal(request("3/cmd",
	                     "{\"id\":\"req-7\",\"action\":\"start\","
	                     "\"limit_a\":10}",
	                     &r, err),
	    DRIVER_OK);
	assert_string_equal(r.request, "req-7");
	assert_int_equal(r.action, COMMAND_CHARGER_START);
	assert_string_equal(r.action_text, "start");
	assert_int_equal(r.port, 3);
	assert_near(r.limit_a, 10, 1e-9);

	assert_int_equal(request("12/cmd",
	                     "{\"id\":\"req-8\",\"action\":\"stop\"}", &r, err),
	    DRIVER_OK);
	assert_int_equal(r.action, COMMAND_CHARGER_STOP);
	/* Not checked against ports here: the pipeline answers. */
	assert_int_equal(r.port, 12);
	assert_near(r.limit_a, 0, 1e-9);
	assert_int_equal(request("1/cmd",
	                     "{\"id\":\"req-9\",\"action\":\"start\","
	                     "\"limit_a\":2.5}",
	                     &r, err),
	    DRIVER_OK);
	assert_near(r.limit_a, 2.5, 1e-9);

	/* An action it does not know: an event, so the answer names it. */
	assert_int_equal(request("1/cmd",
	                     "{\"id\":\"req-10\",\"action\":\"pause\"}", &r,
	                     err),
	    DRIVER_OK);
	assert_int_equal(r.action, 0);
	assert_string_equal(r.action_text, "pause");
	assert_string_equal(r.request, "req-10");

	/* Bad, with the id kept for the answer. */
	assert_int_equal(request("1/cmd",
	                     "{\"id\":\"req-11\",\"action\":\"start\","
	                     "\"limit_a\":\"ten\"}",
	                     &r, err),
	    DRIVER_BAD);
	assert_string_equal(r.request, "req-11");
	assert_string_equal(err,
	    "'limit_a' is not a current in amperes (0 or more)");
	assert_int_equal(request("1/cmd",
	                     "{\"id\":\"req-12\",\"action\":\"start\","
	                     "\"limit_a\":-1}",
	                     &r, err),
	    DRIVER_BAD);
	assert_string_equal(r.request, "req-12");
	assert_int_equal(request("1/cmd", "{\"id\":\"req-13\"}", &r, err),
	    DRIVER_BAD);
	assert_string_equal(r.request, "req-13");
	assert_string_equal(err, "missing 'action'");
	assert_int_equal(request("1/cmd",
	                     "{\"id\":\"req-14\",\"action\":\"start-and-then-"
	                     "stop\"}",
	                     &r, err),
	    DRIVER_BAD);
	assert_string_equal(r.request, "req-14");
	assert_string_equal(err, "bad 'action'");
	assert_int_equal(request("1/cmd", "{\"id\":\"req-15\",\"action\":7}",
	                     &r, err),
	    DRIVER_BAD);
	assert_string_equal(err, "bad 'action'");

	/* No id to answer. */
	assert_int_equal(request("1/cmd", "{\"id\":7,\"action\":\"start\"}", &r,
	                     err),
	    DRIVER_BAD);
	assert_string_equal(r.request, "");
	assert_string_equal(err, "missing or unreadable 'id'");
	assert_int_equal(request("1/cmd", "{\"action\":\"start\"}", &r, err),
	    DRIVER_BAD);
	assert_string_equal(r.request, "");
	assert_int_equal(request("1/cmd", "start", &r, err), DRIVER_BAD);
	assert_string_equal(r.request, "");
	assert_int_equal(request("1/cmd", "[]", &r, err), DRIVER_BAD);
	assert_string_equal(err, "payload is not a json object");

	/* Subtopics it does not handle. */
	assert_int_equal(request("cmd", "{\"id\":\"a\",\"action\":\"stop\"}",
	                     &r, err),
	    DRIVER_IGNORE);
	assert_int_equal(request("1/state", "{}", &r, err), DRIVER_IGNORE);
	assert_int_equal(request("1/cmd/x", "{}", &r, err), DRIVER_IGNORE);
	assert_int_equal(request("/cmd", "{}", &r, err), DRIVER_IGNORE);
	assert_int_equal(request("a1/cmd", "{}", &r, err), DRIVER_IGNORE);
	assert_int_equal(request("0/cmd", "{}", &r, err), DRIVER_IGNORE);
	assert_int_equal(request("123456/cmd", "{}", &r, err), DRIVER_IGNORE);
	assert_int_equal(request("status", "online", &r, err), DRIVER_IGNORE);
	assert_int_equal(request("", "{}", &r, err), DRIVER_IGNORE);
}

static void
test_config(void **state)
{
	const struct charger_settings *c;
	const struct device *dev;
	struct modbus_address a;
	struct config *cfg;
	char *problems;

	(void)state;
	assert_int_equal(scratch_enter("test_charger"), 0);

	problems = test_config_load("ok.ini",
	    TEST_GATEWAY
	    "[device charger-a]\n"
	    "driver = charger\n"
	    "bus = rs485-1\n"
	    "unit = 5\n"
	    "ports = 10\n"
	    "max_current_a = 3.5\n"
	    "max_temp_c = 55\n"
	    "full_w = 8\n"
	    "full_min = 0.05\n"
	    "poll_ms = 2000\n"
	    "[device charger-b]\n"
	    "driver = charger\nbus = rs485-1\nunit = 6\nports = 2\n",
	    &cfg);
	assert_string_equal(problems, "");
	free(problems);
	assert_non_null(cfg);
	assert_int_equal(config_count_class(cfg, DEVICE_CHARGER), 2);
	dev = config_device(cfg, "charger-a");
	c = device_charger(dev);
	assert_non_null(c);
	assert_int_equal(c->ports, 10);
	assert_near(c->max_current_a, 3.5, 1e-9);
	assert_near(c->max_temp_c, 55, 1e-9);
	assert_near(c->full_w, 8, 1e-9);
	assert_near(c->full_min, 0.05, 1e-9);
	dev->driver->modbus->address(dev, &a);
	assert_string_equal(a.bus, "rs485-1");
	assert_int_equal(a.unit, 5);
	assert_int_equal(a.poll_ms, 2000);
	c = device_charger(config_device(cfg, "charger-b"));
	assert_int_equal(c->ports, 2);
	assert_near(c->max_current_a, 16, 1e-9);
	assert_near(c->full_min, 10, 1e-9);
	config_free(cfg);

	problems = test_config_load("bad.ini",
	    TEST_GATEWAY "[device charger-a]\n" /* 8 */
	                 "driver = charger\n"
	                 "unit = 300\n"
	                 "ports = 32\n"
	                 "max_current_a = 0\n"
	                 "max_temp_c = 200\n" /* 13 */
	                 "full_w = -5\n"
	                 "full_min = 0\n"
	                 "poll_ms = 50\n"
	                 "coil = 1\n",
	    &cfg);
	assert_null(cfg);
	assert_string_equal(problems,
	    "bad.ini:8: missing key 'bus' in [device charger-a]\n"
	    "bad.ini:10: device charger-a: bad unit '300' (an integer from 1 "
	    "to 247)\n"
	    "bad.ini:11: device charger-a: bad ports '32' (an integer from 1 "
	    "to 16)\n"
	    "bad.ini:12: device charger-a: bad max_current_a '0' (a number "
	    "from 0.1 to 100)\n"
	    "bad.ini:13: device charger-a: bad max_temp_c '200' (a number "
	    "from 20 to 120)\n"
	    "bad.ini:14: device charger-a: bad full_w '-5' (a number from 0 "
	    "to 1000)\n"
	    "bad.ini:15: device charger-a: bad full_min '0' (a number from "
	    "0.01 to 1440)\n"
	    "bad.ini:16: device charger-a: bad poll_ms '50' (an integer from "
	    "100 to 60000)\n"
	    "bad.ini:17: device charger-a: unknown key 'coil' for driver "
	    "charger\n");
	free(problems);

	/* A bus that is not there. */
	problems = test_config_load("nobus.ini",
	    TEST_GATEWAY
	    "[device charger-a]\n"
	    "driver = charger\nbus = rs485-9\nunit = 5\nports = 2\n",
	    &cfg);
	assert_null(cfg);
	assert_non_null(strstr(problems, "rs485-9"));
	free(problems);

	assert_int_equal(scratch_leave(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_execute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request, setup, teardown),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
