/*
 * test_fire_drivers.c - the two fire devices' drivers without a bus or a
 * broker: fire_mqtt's {"state":...} on .../fire/<id>/alarm, and
 * fire_input's dry contact on a relay board's discrete input, its keys
 * read by the real config loader as gatewayd -t reads them.
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

/* ---- fire_mqtt ---- */

static struct device panel;

/* A message on .../fire/fire-net/<subtopic>, as the driver reads it:
 * its answer; alarm: what the event says; err: why not. */
static enum driver_decode
message(const char *subtopic, const char *payload, bool *alarm, char *err)
{
	struct event ev;
	enum driver_decode rc;

	memset(&ev, 0xaa, sizeof(ev));
	err[0] = '\0';
	rc = panel.driver->mqtt->decode(&panel, subtopic, payload,
	    strlen(payload), &ev, err, 160);
	assert_int_equal(ev.type, EVENT_FIRE);
	*alarm = ev.u.fire.alarm;
	return rc;
}

static void
test_mqtt_driver(void **state)
{
	const struct driver *drv;

	(void)state;
	drv = test_device_make(&panel, "fire_mqtt", "fire-net");
	assert_int_equal(drv->class, DEVICE_FIRE);
	assert_null(drv->modbus);
	assert_non_null(drv->mqtt);
	assert_string_equal(drv->mqtt->kind, "fire");
	assert_string_equal(drv->mqtt->subtopics[0], "alarm");
	assert_null(drv->mqtt->subtopics[1]);
	/* Nothing is ever sent to a fire panel. */
	assert_null(drv->mqtt->encode);
	assert_ptr_equal(driver_find_kind("fire"), drv);
	assert_null(schema_find(drv->keys, "bus"));
	test_device_free(&panel);
}

static void
test_mqtt_decode(void **state)
{
	bool alarm;
	char err[160];

	(void)state;
	test_device_make(&panel, "fire_mqtt", "fire-net");

	assert_int_equal(message("alarm", "{\"state\":\"alarm\"}", &alarm, err),
	    DRIVER_OK);
	assert_true(alarm);
	assert_string_equal(err, "");
	assert_int_equal(message("alarm", "{\"state\":\"normal\"}", &alarm,
	                     err),
	    DRIVER_OK);
	assert_false(alarm);
	/* Other members are the panel's business. */
	assert_int_equal(message("alarm",
	                     "{\"zone\":\"B2\",\"state\":\"alarm\","
	                     "\"ts\":1700000000000}",
	                     &alarm, err),
	    DRIVER_OK);
	assert_true(alarm);

	/* What cannot be read is rejected, never taken for an alarm. */
	assert_int_equal(message("alarm", "{}", &alarm, err), DRIVER_BAD);
	assert_false(alarm);
	assert_string_equal(err, "missing 'state'");
	assert_int_equal(message("alarm", "{\"state\":null}", &alarm, err),
	    DRIVER_BAD);
	assert_string_equal(err, "missing 'state'");
	assert_int_equal(message("alarm", "{\"state\":\"fire\"}", &alarm, err),
	    DRIVER_BAD);
	assert_false(alarm);
	assert_string_equal(err, "'state' must be alarm or normal");
	assert_int_equal(message("alarm", "{\"state\":\"ALARM\"}", &alarm, err),
	    DRIVER_BAD);
	assert_string_equal(err, "'state' must be alarm or normal");
	assert_int_equal(message("alarm", "{\"state\":\"\"}", &alarm, err),
	    DRIVER_BAD);
	assert_string_equal(err, "'state' must be alarm or normal");
	assert_int_equal(message("alarm", "{\"state\":1}", &alarm, err),
	    DRIVER_BAD);
	assert_false(alarm);
	assert_string_equal(err, "'state' must be alarm or normal");
	assert_int_equal(message("alarm", "{\"state\":true}", &alarm, err),
	    DRIVER_BAD);
	assert_string_equal(err, "'state' must be alarm or normal");
	assert_int_equal(message("alarm",
	                     "{\"state\":\"alarm-alarm-alarm-alarm\"}", &alarm,
	                     err),
	    DRIVER_BAD);
	assert_false(alarm);
	assert_string_equal(err, "'state' must be alarm or normal");
	assert_int_equal(message("alarm",
	                     "{\"state\":\"alarm\",\"state\":\"normal\"}",
	                     &alarm, err),
	    DRIVER_BAD);
	assert_false(alarm);

	/* Not JSON, or not an object. */
	assert_int_equal(message("alarm", "alarm", &alarm, err), DRIVER_BAD);
	assert_false(alarm);
	assert_non_null(strstr(err, "malformed json"));
	assert_int_equal(message("alarm", "", &alarm, err), DRIVER_BAD);
	assert_non_null(strstr(err, "malformed json"));
	assert_int_equal(message("alarm", "{\"state\":\"alarm\"", &alarm, err),
	    DRIVER_BAD);
	assert_false(alarm);
	assert_int_equal(message("alarm", "[\"alarm\"]", &alarm, err),
	    DRIVER_BAD);
	assert_string_equal(err, "payload is not a json object");
	assert_int_equal(message("alarm", "\"alarm\"", &alarm, err),
	    DRIVER_BAD);
	assert_false(alarm);

	/* Other subtopics are not its to read, whatever they carry. */
	assert_int_equal(message("state", "{\"state\":\"alarm\"}", &alarm, err),
	    DRIVER_IGNORE);
	assert_false(alarm);
	assert_int_equal(message("alarm/x", "{\"state\":\"alarm\"}", &alarm,
	                     err),
	    DRIVER_IGNORE);
	assert_false(alarm);
	assert_int_equal(message("alarms", "{\"state\":\"alarm\"}", &alarm,
	                     err),
	    DRIVER_IGNORE);
	assert_int_equal(message("", "{\"state\":\"alarm\"}", &alarm, err),
	    DRIVER_IGNORE);
	assert_int_equal(message("status", "online", &alarm, err),
	    DRIVER_IGNORE);
	assert_false(alarm);

	test_device_free(&panel);
}

/* ---- fire_input ---- */

/* A reply to the poll: one read of function fn at 0 for count inputs,
 * their levels in bits; nops replies.  The decoder's answer; alarm:
 * what its event says. */
static int
reply(const struct device *dev, enum modbus_function fn, uint16_t count,
    const char *levels, size_t nops, bool *alarm, char *err)
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
	ops[1] = ops[0];
	err[0] = '\0';
	memset(&ev, 0xaa, sizeof(ev));
	n = dev->driver->modbus->decode(dev, ops, nops, &ev, 1, err, 160);
	if (n == 1) {
		assert_int_equal(ev.type, EVENT_FIRE);
		*alarm = ev.u.fire.alarm;
	}
	return n;
}

/* The inputs' levels as the board reads them: input n is levels[n]. */
static int
levels(const struct device *dev, const char *bits, bool *alarm, char *err)
{
	return reply(dev, MODBUS_READ_DISCRETE_INPUTS, 8, bits, 1, alarm, err);
}

static void
test_input_config(void **state)
{
	const struct device *closed, *open;
	struct modbus_address a;
	struct modbus_op ops[DRIVER_OPS_MAX];
	struct config *c;
	char *problems;

	(void)state;
	assert_int_equal(scratch_enter("test_fire_drivers"), 0);

	problems = test_config_load("ok.ini",
	    TEST_GATEWAY "[device fire-panel]\n"
	                 "driver = fire_input\n"
	                 "bus = rs485-1\n"
	                 "unit = 4\n"
	                 "input = 5\n"
	                 "[device fire-b]\n"
	                 "driver = fire_input\n"
	                 "bus = rs485-1\n"
	                 "unit = 247\n"
	                 "input = 0\n"
	                 "alarm_when = open\n"
	                 "poll_ms = 200\n"
	                 "[device fire-net]\n"
	                 "driver = fire_mqtt\n",
	    &c);
	assert_string_equal(problems, "");
	free(problems);
	assert_non_null(c);
	assert_int_equal(config_count_class(c, DEVICE_FIRE), 3);
	closed = config_device(c, "fire-panel");
	open = config_device(c, "fire-b");
	assert_non_null(closed);
	assert_int_equal(closed->driver->class, DEVICE_FIRE);
	assert_null(closed->driver->mqtt);
	/* Neither a gate nor a barrier. */
	assert_null(device_gate(closed));
	assert_null(device_barrier(closed));
	closed->driver->modbus->address(closed, &a);
	assert_string_equal(a.bus, "rs485-1");
	assert_int_equal(a.unit, 4);
	assert_int_equal(a.poll_ms, 200); /* at least every 200 ms */
	open->driver->modbus->address(open, &a);
	assert_int_equal(a.unit, 247);
	assert_int_equal(a.poll_ms, 200);

	/* One poll: one read of the board's eight inputs. */
	memset(ops, 0xaa, sizeof(ops));
	assert_int_equal(closed->driver->modbus->poll(closed, ops,
	                     DRIVER_OPS_MAX),
	    1);
	assert_int_equal(ops[0].fn, MODBUS_READ_DISCRETE_INPUTS);
	assert_int_equal(ops[0].addr, 0);
	assert_int_equal(ops[0].count, 8);
	assert_int_equal(ops[1].addr, 0xaaaa);
	assert_int_equal(closed->driver->modbus->poll(closed, ops, 0), -1);
	config_free(c);

	/* poll_ms: from 50 to 200, never slower. */
	problems = test_config_load("poll.ini",
	    TEST_GATEWAY
	    "[device fire-panel]\n"
	    "driver = fire_input\nbus = rs485-1\nunit = 4\ninput = 5\n"
	    "poll_ms = 50\n",
	    &c);
	assert_string_equal(problems, "");
	free(problems);
	config_device(c, "fire-panel")
	    ->driver->modbus->address(config_device(c, "fire-panel"), &a);
	assert_int_equal(a.poll_ms, 50);
	config_free(c);

	problems = test_config_load("bad.ini",
	    TEST_GATEWAY "[device fire-panel]\n" /* 8 */
	                 "driver = fire_input\n"
	                 "[device fire-b]\n" /* 10 */
	                 "driver = fire_input\n"
	                 "bus = rs485-1\n"
	                 "unit = 0\n" /* 13 */
	                 "input = 8\n"
	                 "alarm_when = shut\n"
	                 "poll_ms = 201\n"
	                 "[device fire-c]\n" /* 17 */
	                 "driver = fire_input\n"
	                 "bus = rs485-1\n"
	                 "unit = 248\n" /* 20 */
	                 "input = -1\n"
	                 "alarm_when = Closed\n"
	                 "poll_ms = 49\n"
	                 "coil = 1\n",
	    &c);
	assert_null(c);
	assert_string_equal(problems,
	    "bad.ini:8: missing key 'bus' in [device fire-panel]\n"
	    "bad.ini:8: missing key 'unit' in [device fire-panel]\n"
	    "bad.ini:8: missing key 'input' in [device fire-panel]\n"
	    "bad.ini:13: device fire-b: bad unit '0' (an integer from 1 to "
	    "247)\n"
	    "bad.ini:14: device fire-b: bad input '8' (an integer from 0 to "
	    "7)\n"
	    "bad.ini:15: device fire-b: bad alarm_when 'shut' (closed or "
	    "open)\n"
	    "bad.ini:16: device fire-b: bad poll_ms '201' (an integer from "
	    "50 to 200)\n"
	    "bad.ini:20: device fire-c: bad unit '248' (an integer from 1 to "
	    "247)\n"
	    "bad.ini:21: device fire-c: bad input '-1' (an integer from 0 to "
	    "7)\n"
	    "bad.ini:22: device fire-c: bad alarm_when 'Closed' (closed or "
	    "open)\n"
	    "bad.ini:23: device fire-c: bad poll_ms '49' (an integer from 50 "
	    "to 200)\n"
	    "bad.ini:24: device fire-c: unknown key 'coil' for driver "
	    "fire_input\n");
	free(problems);

	/* A bus that is not there. */
	problems = test_config_load("nobus.ini",
	    TEST_GATEWAY
	    "[device fire-panel]\n"
	    "driver = fire_input\nbus = rs485-9\nunit = 4\ninput = 5\n",
	    &c);
	assert_null(c);
	assert_non_null(strstr(problems,
	    "device fire-panel: unknown bus 'rs485-9' (no [bus rs485-9]"));
	free(problems);

	/* fire_mqtt takes no bus. */
	problems = test_config_load("mqttbus.ini",
	    TEST_GATEWAY
	    "[device fire-net]\ndriver = fire_mqtt\nbus = rs485-1\n",
	    &c);
	assert_null(c);
	assert_string_equal(problems,
	    "mqttbus.ini:10: device fire-net: unknown key 'bus' for driver "
	    "fire_mqtt\n");
	free(problems);

	assert_int_equal(scratch_leave(), 0);
}

static void
test_input_decode(void **state)
{
	const struct device *closed, *open;
	struct modbus_op op = { .fn = MODBUS_READ_DISCRETE_INPUTS, .count = 8 };
	struct event ev;
	struct config *c;
	char *problems, err[160];
	bool alarm;

	(void)state;
	assert_int_equal(scratch_enter("test_fire_drivers"), 0);
	problems = test_config_load("ok.ini",
	    TEST_GATEWAY
	    "[device fire-panel]\n"
	    "driver = fire_input\nbus = rs485-1\nunit = 4\ninput = 5\n"
	    "alarm_when = closed\n"
	    "[device fire-b]\n"
	    "driver = fire_input\nbus = rs485-1\nunit = 4\ninput = 0\n"
	    "alarm_when = open\n",
	    &c);
	assert_string_equal(problems, "");
	free(problems);
	closed = config_device(c, "fire-panel");
	open = config_device(c, "fire-b");

	/* alarm_when = closed: input 5 closed is the alarm, and only it. */
	alarm = false;
	assert_int_equal(levels(closed, "00000100", &alarm, err), 1);
	assert_true(alarm);
	assert_int_equal(levels(closed, "11111011", &alarm, err), 1);
	assert_false(alarm);
	assert_int_equal(levels(closed, "00000000", &alarm, err), 1);
	assert_false(alarm);
	assert_int_equal(levels(closed, "11111111", &alarm, err), 1);
	assert_true(alarm);

	/* alarm_when = open: input 0 open (a cut wire too) is the alarm. */
	assert_int_equal(levels(open, "10000000", &alarm, err), 1);
	assert_false(alarm);
	assert_int_equal(levels(open, "01111111", &alarm, err), 1);
	assert_true(alarm);
	assert_int_equal(levels(open, "00000000", &alarm, err), 1);
	assert_true(alarm);
	assert_int_equal(levels(open, "11111111", &alarm, err), 1);
	assert_false(alarm);

	/* A reply that did not read the input is an error, not a level. */
	assert_int_equal(reply(closed, MODBUS_READ_DISCRETE_INPUTS, 4, "0000",
	                     1, &alarm, err),
	    -1);
	assert_string_equal(err,
	    "reply to function 2 at 0 for 4, not to a read of discrete "
	    "inputs 0..7");
	assert_int_equal(reply(closed, MODBUS_READ_COILS, 8, "00000100", 1,
	                     &alarm, err),
	    -1);
	assert_string_equal(err,
	    "reply to function 1 at 0 for 8, not to a read of discrete "
	    "inputs 0..7");
	assert_int_equal(reply(closed, MODBUS_READ_DISCRETE_INPUTS, 8,
	                     "00000100", 0, &alarm, err),
	    -1);
	assert_string_equal(err, "0 replies to a poll of one read");
	assert_int_equal(reply(closed, MODBUS_READ_DISCRETE_INPUTS, 8,
	                     "00000100", 2, &alarm, err),
	    -1);
	assert_string_equal(err, "2 replies to a poll of one read");
	assert_int_equal(levels(closed, "00000300", &alarm, err), -1);
	assert_string_equal(err, "input 5 reads 3, not 0 or 1");
	op.addr = 8;
	assert_int_equal(closed->driver->modbus->decode(closed, &op, 1, &ev, 1,
	                     err, sizeof(err)),
	    -1);
	assert_string_equal(err,
	    "reply to function 2 at 8 for 8, not to a read of discrete "
	    "inputs 0..7");
	op.addr = 0;
	assert_int_equal(closed->driver->modbus->decode(closed, &op, 1, &ev, 0,
	                     err, sizeof(err)),
	    -1);
	assert_string_equal(err, "no room for its event");

	config_free(c);
	assert_int_equal(scratch_leave(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mqtt_driver),
		cmocka_unit_test(test_mqtt_decode),
		cmocka_unit_test(test_input_config),
		cmocka_unit_test(test_input_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
