/* test_state.c - the loop's live state: visitors' entries used, by id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "state.h"

static void
test_entries_by_visitor(void **state)
{
	struct state *s = state_new(3);
	char id[32];
	unsigned i;

	(void)state;
	assert_non_null(s);
	assert_int_equal(state_entries_used(s, "V1"), 0);
	assert_int_equal(state_entries_add(s, "V1", 1), 0);
	assert_int_equal(state_entries_add(s, "V1", 2), 0);
	assert_int_equal(state_entries_used(s, "V1"), 3);
	assert_int_equal(state_entries_used(s, "V10"), 0);
	assert_int_equal(state_entries_used(s, ""), 0);
	/* Many, so the index and its array grow under the counts. */
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "V2026-%u", i);
		assert_int_equal(state_entries_add(s, id, i % 7), 0);
	}
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "V2026-%u", i);
		assert_int_equal(state_entries_used(s, id), i % 7);
	}
	assert_int_equal(state_entries_used(s, "V1"), 3);
	/* Devices start unknown. */
	assert_int_equal(state_device(s, 2)->online, -1);
	assert_null(state_device(s, 3));
	state_free(s);
	state_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries_by_visitor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
