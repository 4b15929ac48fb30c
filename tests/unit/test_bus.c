/*
 * test_bus.c - the bus layer's rules without a bus: what an error means,
 * what a raw write's reply must echo, when a device is offline and how
 * long it waits, and how long a command stays worth sending.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bus.h"
#include "bus_int.h"
#include "util.h"

static void
faults_by_kind(void **state)
{
	(void)state;
	assert_int_equal(bus_fault_of(0), BUS_OK);
	assert_int_equal(bus_fault_of(ETIMEDOUT), BUS_FAULT_TIMEOUT);
	assert_int_equal(bus_fault_of(EMBBADCRC), BUS_FAULT_GARBLED);
	assert_int_equal(bus_fault_of(EMBBADDATA), BUS_FAULT_GARBLED);
	assert_int_equal(bus_fault_of(EMBBADSLAVE), BUS_FAULT_GARBLED);
	assert_int_equal(bus_fault_of(EMBXSFAIL), BUS_FAULT_BUSY);
	assert_int_equal(bus_fault_of(EMBXACK), BUS_FAULT_BUSY);
	assert_int_equal(bus_fault_of(EMBXSBUSY), BUS_FAULT_BUSY);
	assert_int_equal(bus_fault_of(EMBXGPATH), BUS_FAULT_GATEWAY);
	assert_int_equal(bus_fault_of(EMBXGTAR), BUS_FAULT_GATEWAY);
	assert_int_equal(bus_fault_of(EMBXILFUN), BUS_FAULT_ILLEGAL);
	assert_int_equal(bus_fault_of(EMBXILADD), BUS_FAULT_ILLEGAL);
	assert_int_equal(bus_fault_of(EMBXILVAL), BUS_FAULT_ILLEGAL);
	assert_int_equal(bus_fault_of(ECONNRESET), BUS_FAULT_LINK);
	assert_int_equal(bus_fault_of(EPIPE), BUS_FAULT_LINK);
	assert_int_equal(bus_fault_of(EBADF), BUS_FAULT_LINK);
	assert_int_equal(bus_fault_of(EIO), BUS_FAULT_LINK);
}

static void
faults_in_words(void **state)
{
	char buf[160];

	(void)state;
	bus_fault_text(ETIMEDOUT, buf, sizeof(buf));
	assert_string_equal(buf, "no answer (timeout)");
	bus_fault_text(EMBXGTAR, buf, sizeof(buf));
	assert_string_equal(buf,
	    "exception 11: gateway target device failed to respond");
	bus_fault_text(EMBXILADD, buf, sizeof(buf));
	assert_string_equal(buf, "exception 2: illegal data address");
	bus_fault_text(EMBBADCRC, buf, sizeof(buf));
	assert_string_equal(buf, "bad reply: Invalid CRC");
	bus_fault_text(ECONNRESET, buf, sizeof(buf));
	assert_string_equal(buf, "Connection reset by peer");
}

/* Flash relay 2 for 500 ms: coil 0x0202, value 5, unit 7. */
static const uint8_t flash[6] = { 7, 0x05, 0x02, 0x02, 0x00, 0x05 };

static void
echo_rtu(void **state)
{
	/* Unit, function, address, value, CRC (not ours to check). */
	uint8_t ok[8] = { 7, 0x05, 0x02, 0x02, 0x00, 0x05, 0xaa, 0xbb };
	uint8_t rsp[8];

	(void)state;
	assert_int_equal(bus_echo_check(flash, ok, 8, 1, false), 0);
	/* pymodbus's echo of a flash: FF00, as if it were a plain "on". */
	memcpy(rsp, ok, 8);
	rsp[4] = 0xff;
	rsp[5] = 0x00;
	assert_int_equal(bus_echo_check(flash, rsp, 8, 1, false), EMBBADDATA);
	memcpy(rsp, ok, 8);
	rsp[3] = 0x03;
	assert_int_equal(bus_echo_check(flash, rsp, 8, 1, false), EMBBADDATA);
	memcpy(rsp, ok, 8);
	rsp[0] = 8;
	assert_int_equal(bus_echo_check(flash, rsp, 8, 1, false), EMBBADSLAVE);
	memcpy(rsp, ok, 8);
	rsp[1] = 0x01;
	assert_int_equal(bus_echo_check(flash, rsp, 8, 1, false), EMBBADDATA);
	/* Cut short. */
	assert_int_equal(bus_echo_check(flash, ok, 5, 1, false), EMBBADDATA);
	assert_int_equal(bus_echo_check(flash, ok, 2, 1, false), EMBBADDATA);
}

static void
echo_exception(void **state)
{
	uint8_t busy[5] = { 7, 0x85, 0x06, 0xaa, 0xbb };
	uint8_t illegal[5] = { 7, 0x85, 0x02, 0xaa, 0xbb };
	uint8_t target[5] = { 7, 0x85, 0x0b, 0xaa, 0xbb };
	uint8_t nonsense[5] = { 7, 0x85, 0x63, 0xaa, 0xbb };
	uint8_t other_fn[5] = { 7, 0x86, 0x02, 0xaa, 0xbb };

	(void)state;
	assert_int_equal(bus_echo_check(flash, busy, 5, 1, false), EMBXSBUSY);
	assert_int_equal(bus_echo_check(flash, illegal, 5, 1, false),
	    EMBXILADD);
	assert_int_equal(bus_echo_check(flash, target, 5, 1, false), EMBXGTAR);
	assert_int_equal(bus_echo_check(flash, nonsense, 5, 1, false),
	    EMBBADEXC);
	assert_int_equal(bus_echo_check(flash, other_fn, 5, 1, false),
	    EMBBADDATA);
}

static void
echo_tcp(void **state)
{
	/* MBAP: transaction 0 (a raw request's), protocol 0, length 6,
	 * unit; then the PDU. */
	uint8_t ok[12] = { 0, 0, 0, 0, 0, 6, 7, 0x05, 0x02, 0x02, 0x00, 0x05 };
	uint8_t rsp[12];

	(void)state;
	assert_int_equal(bus_echo_check(flash, ok, 12, 7, true), 0);
	/* The late answer to an earlier request of libmodbus's own. */
	memcpy(rsp, ok, 12);
	rsp[1] = 0x17;
	assert_int_equal(bus_echo_check(flash, rsp, 12, 7, true), EMBBADDATA);
	memcpy(rsp, ok, 12);
	rsp[6] = 3;
	assert_int_equal(bus_echo_check(flash, rsp, 12, 7, true), EMBBADSLAVE);
}

static void
backoff_doubles_to_the_cap(void **state)
{
	(void)state;
	assert_int_equal(backoff_next(0, 200, 30000), 200);
	assert_int_equal(backoff_next(200, 200, 30000), 400);
	assert_int_equal(backoff_next(12800, 200, 30000), 25600);
	assert_int_equal(backoff_next(25600, 200, 30000), 30000);
	assert_int_equal(backoff_next(30000, 200, 30000), 30000);
	/* A poll slower than the cap starts at the cap. */
	assert_int_equal(backoff_next(0, 60000, 30000), 30000);
	/* The bus's own: 1 s doubling to 30 s. */
	assert_int_equal(backoff_next(0, BUS_OPEN_FIRST_MS, BUS_OPEN_CAP_MS),
	    1000);
	assert_int_equal(backoff_next(16000, BUS_OPEN_FIRST_MS,
	                     BUS_OPEN_CAP_MS),
	    30000);
}

static void
online_once_at_the_first_answer(void **state)
{
	struct bus_health h;
	uint64_t wait;

	(void)state;
	bus_health_init(&h);
	assert_int_equal(bus_health_after(&h, BUS_OK, 200, 0, &wait),
	    BUS_REPORT_ONLINE);
	assert_int_equal(wait, 200);
	assert_int_equal(bus_health_after(&h, BUS_OK, 200, 0, &wait),
	    BUS_REPORT_NONE);
}

static void
offline_after_three_failures_then_back(void **state)
{
	struct bus_health h;
	uint64_t wait;

	(void)state;
	bus_health_init(&h);
	bus_health_after(&h, BUS_OK, 200, 0, &wait);
	assert_int_equal(bus_health_after(&h, BUS_FAULT_TIMEOUT, 200, 0, &wait),
	    BUS_REPORT_NONE);
	assert_int_equal(wait, 200);
	assert_int_equal(bus_health_after(&h, BUS_FAULT_GARBLED, 200, 0, &wait),
	    BUS_REPORT_NONE);
	assert_int_equal(wait, 400);
	assert_int_equal(bus_health_after(&h, BUS_FAULT_BUSY, 200, 0, &wait),
	    BUS_REPORT_OFFLINE);
	assert_int_equal(wait, 800);
	/* Said once; the waits go on growing, up to the cap. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(bus_health_after(&h, BUS_FAULT_TIMEOUT, 200, 0,
		                     &wait),
		    BUS_REPORT_NONE);
	assert_int_equal(wait, BUS_BACKOFF_CAP_MS);
	/* Jitter stretches a wait by a tenth at most. */
	bus_health_after(&h, BUS_FAULT_TIMEOUT, 200, 0.999, &wait);
	assert_true(wait > BUS_BACKOFF_CAP_MS);
	assert_true(wait <= BUS_BACKOFF_CAP_MS + BUS_BACKOFF_CAP_MS / 10);
	assert_int_equal(bus_health_after(&h, BUS_OK, 200, 0, &wait),
	    BUS_REPORT_ONLINE);
	assert_int_equal(wait, 200);
	assert_int_equal(h.failures, 0);
	/* And the backoff starts from its poll interval again. */
	bus_health_after(&h, BUS_FAULT_TIMEOUT, 200, 0, &wait);
	assert_int_equal(wait, 200);
}

static void
offline_at_once_when_a_gateway_says_so(void **state)
{
	struct bus_health h;
	uint64_t wait;

	(void)state;
	bus_health_init(&h);
	assert_int_equal(bus_health_after(&h, BUS_FAULT_GATEWAY, 1000, 0,
	                     &wait),
	    BUS_REPORT_OFFLINE);
	assert_int_equal(bus_health_after(&h, BUS_FAULT_GATEWAY, 1000, 0,
	                     &wait),
	    BUS_REPORT_NONE);
}

/* Never answered since the start: offline after three, like any. */
static void
offline_without_ever_being_online(void **state)
{
	struct bus_health h;
	uint64_t wait;

	(void)state;
	bus_health_init(&h);
	bus_health_after(&h, BUS_FAULT_TIMEOUT, 100, 0, &wait);
	bus_health_after(&h, BUS_FAULT_TIMEOUT, 100, 0, &wait);
	assert_int_equal(bus_health_after(&h, BUS_FAULT_TIMEOUT, 100, 0, &wait),
	    BUS_REPORT_OFFLINE);
}

static void
illegal_is_a_problem_said_once_and_not_hammered(void **state)
{
	struct bus_health h;
	uint64_t wait;

	(void)state;
	bus_health_init(&h);
	assert_int_equal(bus_health_after(&h, BUS_FAULT_ILLEGAL, 100, 0, &wait),
	    BUS_REPORT_PROBLEM);
	assert_int_equal(wait, BUS_BACKOFF_CAP_MS);
	assert_int_equal(bus_health_after(&h, BUS_FAULT_ILLEGAL, 100, 0, &wait),
	    BUS_REPORT_NONE);
	assert_int_equal(wait, BUS_BACKOFF_CAP_MS);
	/* It answers, so it is not offline. */
	assert_int_equal(h.failures, 0);
	/* Fixed (the board's address set right): said again next time. */
	assert_int_equal(bus_health_after(&h, BUS_OK, 100, 0, &wait),
	    BUS_REPORT_ONLINE);
	assert_int_equal(bus_health_after(&h, BUS_FAULT_ILLEGAL, 100, 0, &wait),
	    BUS_REPORT_PROBLEM);
}

static void
opens_are_late_after_2_s_fire_never(void **state)
{
	(void)state;
	assert_false(bus_command_late(COMMAND_OPEN, 10000, 10000));
	assert_false(bus_command_late(COMMAND_OPEN, 10000, 12000));
	assert_true(bus_command_late(COMMAND_OPEN, 10000, 12001));
	assert_true(bus_command_late(COMMAND_PULSE, 10000, 12001));
	assert_true(bus_command_late(COMMAND_CHARGER_START, 10000, 12001));
	assert_false(bus_command_late(COMMAND_HOLD_OPEN, 10000, 999999));
	assert_false(bus_command_late(COMMAND_NORMAL, 10000, 999999));
	assert_false(bus_command_late(COMMAND_CHARGER_STOP, 10000, 999999));
}

static void
fire_replaces_fire(void **state)
{
	(void)state;
	assert_true(bus_command_replaces(COMMAND_NORMAL, COMMAND_HOLD_OPEN));
	assert_true(bus_command_replaces(COMMAND_HOLD_OPEN, COMMAND_NORMAL));
	assert_true(bus_command_replaces(COMMAND_HOLD_OPEN, COMMAND_HOLD_OPEN));
	assert_false(bus_command_replaces(COMMAND_OPEN, COMMAND_OPEN));
	assert_false(bus_command_replaces(COMMAND_NORMAL, COMMAND_OPEN));
	assert_false(bus_command_replaces(COMMAND_OPEN, COMMAND_HOLD_OPEN));
}

/* Without a thread, a bus, or a device: what buses_command refuses. */
static void
command_for_no_bus(void **state)
{
	struct device dev = { .id = "x", .index = 0 };
	struct command cmd = { .action = COMMAND_OPEN };

	(void)state;
	assert_int_equal(buses_command(NULL, &dev, &cmd), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(faults_by_kind),
		cmocka_unit_test(faults_in_words),
		cmocka_unit_test(echo_rtu),
		cmocka_unit_test(echo_exception),
		cmocka_unit_test(echo_tcp),
		cmocka_unit_test(backoff_doubles_to_the_cap),
		cmocka_unit_test(online_once_at_the_first_answer),
		cmocka_unit_test(offline_after_three_failures_then_back),
		cmocka_unit_test(offline_at_once_when_a_gateway_says_so),
		cmocka_unit_test(offline_without_ever_being_online),
		cmocka_unit_test(
		    illegal_is_a_problem_said_once_and_not_hammered),
		cmocka_unit_test(opens_are_late_after_2_s_fire_never),
		cmocka_unit_test(fire_replaces_fire),
		cmocka_unit_test(command_for_no_bus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
