/* test_dedup.c - request ids remembered for ten minutes, per device. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "dedup.h"

#define MIN (60 * 1000)

static void
test_window(void **state)
{
	struct dedup *d = dedup_new(DEDUP_WINDOW_MS, 1000);
	int64_t t0 = 1795413600000LL, first = 0;

	(void)state;
	assert_false(dedup_seen(d, "gate-north", "req-1", t0, &first));
	assert_true(dedup_seen(d, "gate-north", "req-1", t0 + 1, &first));
	assert_int_equal(first, t0);
	/* Another gate may use the same id. */
	assert_false(dedup_seen(d, "gate-south", "req-1", t0 + 2, &first));
	/* Still a replay at 9:59, not at 10:00 and after. */
	assert_true(
	    dedup_seen(d, "gate-north", "req-1", t0 + 10 * MIN - 1, &first));
	assert_false(
	    dedup_seen(d, "gate-north", "req-1", t0 + 10 * MIN, &first));
	/* That sighting starts a new window. */
	assert_true(
	    dedup_seen(d, "gate-north", "req-1", t0 + 15 * MIN, &first));
	assert_int_equal(first, t0 + 10 * MIN);
	/* Across the rotation of generations. */
	assert_false(
	    dedup_seen(d, "gate-north", "req-2", t0 + 19 * MIN, &first));
	assert_true(
	    dedup_seen(d, "gate-north", "req-2", t0 + 25 * MIN, &first));
	assert_false(
	    dedup_seen(d, "gate-north", "req-2", t0 + 40 * MIN, &first));
	dedup_free(d);
}

static void
test_bounded(void **state)
{
	struct dedup *d = dedup_new(DEDUP_WINDOW_MS, 100);
	int64_t t0 = 1795413600000LL, first;
	char id[32];
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(id, sizeof(id), "req-%d", i);
		assert_false(dedup_seen(d, "g", id, t0 + i, &first));
	}
	/* The newest are still known; the oldest have been let go. */
	assert_true(dedup_seen(d, "g", "req-999", t0 + 1000, &first));
	assert_true(dedup_seen(d, "g", "req-950", t0 + 1000, &first));
	assert_false(dedup_seen(d, "g", "req-0", t0 + 1000, &first));
	dedup_free(d);
	dedup_free(NULL);
}

/* Times kept as offsets come back exactly, also loaded from the past
 * (a restart reads the journal newest first), and a clock stepped by
 * weeks neither wraps nor invents a duplicate. */
static void
test_times_and_clock_steps(void **state)
{
	struct dedup *d = dedup_new(10 * MIN, 1000);
	int64_t t0 = 1795413600000LL, first = 0;

	(void)state;
	assert_false(dedup_seen(d, "g", "new", t0, &first));
	assert_false(dedup_seen(d, "g", "older", t0 - 5 * MIN - 7, &first));
	assert_true(dedup_seen(d, "g", "older", t0 + 1, &first));
	assert_int_equal(first, t0 - 5 * MIN - 7);
	assert_true(dedup_seen(d, "g", "new", t0 + 3, &first));
	assert_int_equal(first, t0);
	/* Sixty days on: everything seen is long ago. */
	assert_false(
	    dedup_seen(d, "g", "new", t0 + 60LL * 24 * 60 * MIN, &first));
	assert_true(
	    dedup_seen(d, "g", "new", t0 + 60LL * 24 * 60 * MIN + 1, &first));
	assert_int_equal(first, t0 + 60LL * 24 * 60 * MIN);
	dedup_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times_and_clock_steps),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
