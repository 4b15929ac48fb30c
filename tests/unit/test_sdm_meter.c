/*
 * test_sdm_meter.c - the SDM120/SDM630 meter's reads and its float32
 * values in both word orders, without a bus.
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

#include "driver.h"

static const struct driver *drv;
static struct device meter;

static int
setup(void **state)
{
	(void)state;
	drv = test_device_make(&meter, "sdm_meter", "meter-1");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	test_device_free(&meter);
	return 0;
}

#define set(key, value, err)         test_key_set(&meter, key, value, err)
#define set_ok(key, value)           test_key_ok(&meter, key, value)
#define expect_bad(key, value, want) test_key_bad(&meter, key, value, want)

static void
test_keys(void **state)
{
	struct modbus_address a;

	(void)state;
	assert_int_equal(drv->class, DEVICE_METER);
	assert_null(drv->mqtt);
	set_ok("bus", "rs485-1");
	set_ok("unit", "9");
	drv->modbus->address(&meter, &a);
	assert_string_equal(a.bus, "rs485-1");
	assert_int_equal(a.unit, 9);
	assert_int_equal(a.poll_ms, 5000);
	set_ok("model", "sdm630");
	set_ok("word_order", "little");
	expect_bad("model", "sdm220", "bad model 'sdm220' (sdm120 or sdm630)");
	expect_bad("word_order", "middle",
	    "bad word_order 'middle' (big or little)");
	expect_bad("unit", "0", "bad unit '0' (an integer from 1 to 247)");
}

/* A float as the meter's two registers, in the given order. */
static void
put(uint16_t *regs, float f, bool little)
{
	uint32_t bits;

	memcpy(&bits, &f, sizeof(bits));
	regs[little ? 1 : 0] = (uint16_t)(bits >> 16);
	regs[little ? 0 : 1] = (uint16_t)bits;
}

static void
check_model(const char *model, uint16_t energy_reg, const char *order)
{
	struct modbus_op ops[DRIVER_OPS_MAX];
	struct event ev;
	const struct telemetry *t = &ev.u.telemetry;
	bool little = strcmp(order, "little") == 0;
	char err[160];

	set_ok("model", model);
	set_ok("word_order", order);
	memset(ops, 0xaa, sizeof(ops));
	assert_int_equal(drv->modbus->poll(&meter, ops, DRIVER_OPS_MAX), 2);
	assert_int_equal(ops[0].fn, MODBUS_READ_INPUT_REGISTERS);
	assert_int_equal(ops[0].addr, 0x0000);
	assert_int_equal(ops[0].count, 14);
	assert_int_equal(ops[1].fn, MODBUS_READ_INPUT_REGISTERS);
	assert_int_equal(ops[1].addr, energy_reg);
	assert_int_equal(ops[1].count, 2);
	assert_int_equal(ops[2].addr, 0xaaaa);
	assert_int_equal(drv->modbus->poll(&meter, ops, 1), -1);

	memset(ops[0].regs, 0, sizeof(ops[0].regs));
	put(&ops[0].regs[0x0000], 230.5f, little);
	put(&ops[0].regs[0x0006], 1.25f, little);
	put(&ops[0].regs[0x000C], 287.9f, little);
	put(&ops[1].regs[0], 12.345f, little);
	memset(&ev, 0xaa, sizeof(ev));
	assert_int_equal(drv->modbus->decode(&meter, ops, 2, &ev, 1, err,
	                     sizeof(err)),
	    1);
	assert_int_equal(ev.type, EVENT_TELEMETRY);
	assert_int_equal(t->port, 0);
	assert_int_equal(t->have,
	    TELEMETRY_VOLTAGE | TELEMETRY_CURRENT | TELEMETRY_POWER |
	        TELEMETRY_ENERGY);
	assert_near(t->voltage_v, 230.5, 1e-4);
	assert_near(t->current_a, 1.25, 1e-6);
	assert_near(t->power_w, 287.9, 1e-4);
	assert_near(t->energy_wh, 12345, 1e-3);

	/* The same registers read the other way are another number. */
	set_ok("word_order", little ? "big" : "little");
	assert_int_equal(drv->modbus->decode(&meter, ops, 2, &ev, 1, err,
	                     sizeof(err)),
	    1);
	assert_true(fabs(t->voltage_v - 230.5) > 1);
	set_ok("word_order", order);

	/* NaN and infinity are refused. */
	put(&ops[0].regs[0x0006], NAN, little);
	assert_int_equal(drv->modbus->decode(&meter, ops, 2, &ev, 1, err,
	                     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "current reads 0x"));
	put(&ops[0].regs[0x0006], 1.25f, little);
	put(&ops[1].regs[0], INFINITY, little);
	assert_int_equal(drv->modbus->decode(&meter, ops, 2, &ev, 1, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "energy reads 0x7f800000, not a number");
	put(&ops[1].regs[0], 12.345f, little);

	/* Replies not shaped as asked. */
	assert_int_equal(drv->modbus->decode(&meter, ops, 1, &ev, 1, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "1 replies to a poll of 2 reads");
	ops[1].addr = energy_reg == 0x0048 ? 0x0156 : 0x0048;
	assert_int_equal(drv->modbus->decode(&meter, ops, 2, &ev, 1, err,
	                     sizeof(err)),
	    -1);
	ops[1].addr = energy_reg;
	ops[0].count = 12;
	assert_int_equal(drv->modbus->decode(&meter, ops, 2, &ev, 1, err,
	                     sizeof(err)),
	    -1);
	ops[0].count = 14;
	assert_int_equal(drv->modbus->decode(&meter, ops, 2, &ev, 0, err,
	                     sizeof(err)),
	    -1);
	assert_string_equal(err, "no room for its event");
}

static void
test_decode(void **state)
{
	(void)state;
	check_model("sdm120", 0x0048, "big");
	check_model("sdm120", 0x0048, "little");
	check_model("sdm630", 0x0156, "big");
	check_model("sdm630", 0x0156, "little");
}

/* 230.5 V is 0x43668000: high word first unless told otherwise. */
static void
test_known_words(void **state)
{
	struct modbus_op ops[2];
	struct event ev;
	char err[160];

	(void)state;
	assert_int_equal(drv->modbus->poll(&meter, ops, 2), 2);
	memset(ops[0].regs, 0, sizeof(ops[0].regs));
	memset(ops[1].regs, 0, sizeof(ops[1].regs));
	ops[0].regs[0] = 0x4366;
	ops[0].regs[1] = 0x8000;
	assert_int_equal(drv->modbus->decode(&meter, ops, 2, &ev, 1, err,
	                     sizeof(err)),
	    1);
	assert_near(ev.u.telemetry.voltage_v, 230.5, 1e-9);
	set_ok("word_order", "little");
	ops[0].regs[0] = 0x8000;
	ops[0].regs[1] = 0x4366;
	assert_int_equal(drv->modbus->decode(&meter, ops, 2, &ev, 1, err,
	                     sizeof(err)),
	    1);
	assert_near(ev.u.telemetry.voltage_v, 230.5, 1e-9);
	/* A meter takes no commands. */
	{
		struct command stop = { .action = COMMAND_CHARGER_STOP,
			.port = 1 };

		assert_int_equal(drv->modbus->execute(&meter, &stop, ops, 2),
		    0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_words, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
