/* test_util.c - masking and UTF-8 checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "util.h"

static void
test_mask(void **state)
{
	char out[64];

	(void)state;
	mask_name("张三", out, sizeof(out));
	assert_string_equal(out, "张*");
	mask_name("张三丰", out, sizeof(out));
	assert_string_equal(out, "张**");
	mask_name("欧阳娜娜", out, sizeof(out));
	assert_string_equal(out, "欧***");
	mask_name("王", out, sizeof(out));
	assert_string_equal(out, "王");
	mask_name("Li Lei", out, sizeof(out));
	assert_string_equal(out, "L****");
	mask_name("", out, sizeof(out));
	assert_string_equal(out, "");
	/* Too small for the first character: nothing, never half of it. */
	mask_name("张三", out, 3);
	assert_string_equal(out, "");
	mask_name("张三丰", out, 5);
	assert_string_equal(out, "张*");
}

static void
test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("abc", 3));
	assert_true(utf8_valid("金鼎5栋楼", strlen("金鼎5栋楼")));
	assert_false(utf8_valid("\xff", 1));
	assert_false(utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	assert_false(utf8_valid("\xe9\x87", 2));         /* cut short */
	assert_false(utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	assert_true(utf8_valid("\xf0\x9f\x98\x80", 4));  /* emoji */
	assert_int_equal(utf8_count("吉A12345"), 7);
	assert_true(str_printable("张三 P0001", strlen("张三 P0001")));
	assert_false(str_printable("r1\n<2>forged", 13));
	assert_false(str_printable("a\x7f", 2));
	assert_false(str_printable("a\0b", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
