/* test_topic.c - device topics split into kind, id and subtopic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "topic.h"

static void
test_split(void **state)
{
	struct topic t;

	(void)state;
	assert_int_equal(topic_split("cg/jinding-5",
	                     "cg/jinding-5/gate/gate-north/face", &t),
	    0);
	assert_string_equal(t.kind, "gate");
	assert_string_equal(t.id, "gate-north");
	assert_string_equal(t.sub, "face");
	assert_int_equal(topic_split("cg/x", "cg/x/gate/g1/status", &t), 0);
	assert_string_equal(t.sub, "status");
	/* A numbered port's topic. */
	assert_int_equal(topic_split("cg/x", "cg/x/charger/ch-a/3/cmd", &t), 0);
	assert_string_equal(t.kind, "charger");
	assert_string_equal(t.id, "ch-a");
	assert_string_equal(t.sub, "3/cmd");
}

static void
test_not_ours(void **state)
{
	static const char *const bad[] = {
		"cg/jinding-5",
		"cg/jinding-5/",
		"cg/jinding-5/gate",
		"cg/jinding-5/gate/gate-north",
		"cg/jinding-5/gate/gate-north/",
		"cg/jinding-5/gate//face",
		"cg/jinding-5//gate-north/face",
		"cg/jinding-5/gate/gate-north/face/extra",
		"cg/jinding-5/charger/a/3/",
		"cg/jinding-5/charger/a/3/cmd/x",
		"cg/jinding-5/charger/a/1234/cmd",
		"cg/jinding-5/charger/a/3x/cmd",
		"cg/jinding-55/gate/gate-north/face",
		"cg/other/gate/gate-north/face",
		"",
	};
	char longer[600];
	struct topic t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(topic_split("cg/jinding-5", bad[i], &t), -1);
	/* Too long to be a device's: refused, never cut. */
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "cg/x/gate/g/", 12);
	assert_int_equal(topic_split("cg/x", longer, &t), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_not_ours),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
