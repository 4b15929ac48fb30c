/* test_inflight.c - the uplink's cursor moves only over a contiguous
 * prefix of acknowledged records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "inflight.h"

static void
test_in_order(void **state)
{
	struct inflight w;

	(void)state;
	assert_int_equal(inflight_init(&w, 3), 0);
	assert_null(inflight_oldest(&w));
	assert_int_equal(inflight_add(&w, 1, 10, 1000), 0);
	assert_int_equal(inflight_add(&w, 2, 11, 2000), 0);
	assert_int_equal(inflight_add(&w, 3, 12, 3000), 0);
	assert_true(inflight_full(&w));
	assert_int_equal(inflight_add(&w, 4, 13, 4000), -1);
	assert_int_equal(inflight_oldest(&w)->ts_ms, 1000);
	assert_int_equal(inflight_ack(&w, 1), 10);
	assert_false(inflight_full(&w));
	assert_int_equal(inflight_oldest(&w)->seq, 11);
	assert_int_equal(inflight_ack(&w, 2), 11);
	assert_int_equal(inflight_ack(&w, 3), 12);
	assert_null(inflight_oldest(&w));
	inflight_free(&w);
}

/* PUBACKs out of order: nothing moves past a record still waiting. */
static void
test_gaps(void **state)
{
	struct inflight w;

	(void)state;
	assert_int_equal(inflight_init(&w, 4), 0);
	/* Ids may have gaps (a crash): the window holds what was read. */
	inflight_add(&w, 7, 100, 0);
	inflight_add(&w, 8, 103, 0);
	inflight_add(&w, 9, 104, 0);
	inflight_add(&w, 10, 110, 0);
	assert_int_equal(inflight_ack(&w, 9), 0);
	assert_int_equal(inflight_ack(&w, 8), 0);
	assert_int_equal(inflight_oldest(&w)->seq, 100);
	/* The head closes the gap: everything acknowledged behind it goes. */
	assert_int_equal(inflight_ack(&w, 7), 104);
	assert_int_equal(inflight_oldest(&w)->seq, 110);
	/* Around the ring. */
	inflight_add(&w, 11, 111, 0);
	inflight_add(&w, 12, 112, 0);
	inflight_add(&w, 13, 113, 0);
	assert_true(inflight_full(&w));
	assert_int_equal(inflight_ack(&w, 13), 0);
	assert_int_equal(inflight_ack(&w, 10), 110);
	assert_int_equal(inflight_ack(&w, 12), 0);
	assert_int_equal(inflight_ack(&w, 11), 113);
	assert_null(inflight_oldest(&w));
	inflight_free(&w);
}

/* A PUBACK twice, or for a message that is not ours (the status), or
 * after the window was cleared: nothing moves. */
static void
test_unknown(void **state)
{
	struct inflight w;

	(void)state;
	assert_int_equal(inflight_init(&w, 2), 0);
	inflight_add(&w, 1, 1, 0);
	inflight_add(&w, 2, 2, 0);
	assert_int_equal(inflight_ack(&w, 2), 0);
	assert_int_equal(inflight_ack(&w, 2), 0);
	assert_int_equal(inflight_ack(&w, 99), 0);
	inflight_clear(&w);
	assert_int_equal(inflight_ack(&w, 1), 0);
	assert_null(inflight_oldest(&w));
	inflight_free(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
