/* test_util.c - masking, UTF-8 checks and numbers in INI values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <limits.h>
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

static long
lng(const char *s, long min, long max)
{
	long v = -424242;

	if (parse_long(s, min, max, &v) < 0) {
		assert_int_equal(v, -424242); /* untouched */
		return -1;
	}
	return v;
}

static void
test_parse_long(void **state)
{
	(void)state;
	assert_int_equal(lng("2", 1, 1000), 2);
	assert_int_equal(lng("1", 1, 1000), 1);
	assert_int_equal(lng("1000", 1, 1000), 1000);
	assert_int_equal(lng("+7", 1, 1000), 7);
	assert_int_equal(lng("007", 1, 1000), 7);
	assert_int_equal(lng("-3", -5, 5), -3);
	assert_int_equal(lng("0", 1, 1000), -1);
	assert_int_equal(lng("1001", 1, 1000), -1);
	assert_int_equal(lng("", 1, 1000), -1);
	assert_int_equal(lng(" 2", 1, 1000), -1);
	assert_int_equal(lng("2 ", 1, 1000), -1);
	assert_int_equal(lng("2x", 1, 1000), -1);
	assert_int_equal(lng("0x10", 0, 1000), -1);
	assert_int_equal(lng("1.5", 0, 1000), -1);
	assert_int_equal(lng("+", 0, 1000), -1);
	assert_int_equal(lng("--1", -5, 5), -1);
	assert_int_equal(lng("２", 0, 1000), -1); /* full width */
	assert_int_equal(lng("99999999999999999999", 0, LONG_MAX), -1);
	assert_int_equal(lng("9223372036854775807", 0, LONG_MAX), LONG_MAX);
}

static double
dbl(const char *s, double min, double max)
{
	double v = -424242;

	if (parse_double(s, min, max, &v) < 0) {
		assert_true(v == -424242);
		return -1;
	}
	return v;
}

static void
test_parse_double(void **state)
{
	(void)state;
	assert_true(dbl("0.80", 0, 1) == 0.80);
	assert_true(dbl("1", 0, 1) == 1);
	assert_true(dbl("0", 0, 1) == 0);
	assert_true(dbl(".5", 0, 1) == 0.5);
	assert_true(dbl("0.05", 0, 1e6) == 0.05);
	assert_true(dbl("5e-2", 0, 1) == 0.05);
	assert_true(dbl("1.01", 0, 1) == -1);
	assert_true(dbl("-0.1", 0, 1) == -1);
	assert_true(dbl("", 0, 1) == -1);
	assert_true(dbl(".", 0, 1) == -1);
	assert_true(dbl(" 0.5", 0, 1) == -1);
	assert_true(dbl("0.5 ", 0, 1) == -1);
	assert_true(dbl("0,5", 0, 1) == -1);
	assert_true(dbl("nan", -1e9, 1e9) == -1);
	assert_true(dbl("inf", -1e9, 1e300) == -1);
	assert_true(dbl("1e999", -1e9, 1e300) == -1);
	assert_true(dbl("0x1p-1", 0, 1) == -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_parse_double),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
