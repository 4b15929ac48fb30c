/* test_util.c - UTF-8 checks, log escapes and numbers in INI values. */
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

/* str_escape(in) into a buffer of size bytes, compared with want. */
static void
escaped(const char *in, size_t size, const char *want)
{
	char out[128];

	assert_true(size <= sizeof(out));
	memset(out, 'Z', sizeof(out));
	str_escape(in, out, size);
	assert_string_equal(out, want);
}

static void
test_escape(void **state)
{
	(void)state;
	/* Text, Chinese included, stays as it is. */
	escaped("gate-north allow 张* 5-2-301", 128,
	    "gate-north allow 张* 5-2-301");
	/* C0 controls and DEL: a newline cannot forge a second line. */
	escaped("r1\n<2>forged", 128, "r1\\x0a<2>forged");
	escaped("\x1b[31mred\t\x7f", 128, "\\x1b[31mred\\x09\\x7f");
	/* C1 controls, U+0080..U+009F (CSI is U+009B). */
	escaped("a\xc2\x80"
	        "b\xc2\x9b\xc2\x9f",
	    128, "a\\u0080b\\u009b\\u009f");
	/* U+00A0 (no-break space) is the first that is not C1. */
	escaped("\xc2\xa0", 128, "\xc2\xa0");
	/* The bidi controls: shown as escapes, never obeyed. */
	escaped("req-\xe2\x80\xaegpj.exe", 128, "req-\\u202egpj.exe");
	escaped("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad", 128,
	    "\\u202a\\u202b\\u202c\\u202d");
	escaped("\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8\xe2\x81\xa9", 128,
	    "\\u2066\\u2067\\u2068\\u2069");
	escaped("\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", 128,
	    "\\u200e\\u200f\\u061c");
	/* Line and paragraph separators. */
	escaped("a\xe2\x80\xa8"
	        "b\xe2\x80\xa9",
	    128, "a\\u2028b\\u2029");
	/* Their neighbours are ordinary text (U+2027, U+202F, U+2065). */
	escaped("\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5", 128,
	    "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5");
	/* Not UTF-8: each byte shown, nothing lost; an emoji is kept. */
	escaped("bad-\xff\xfe \xe5\x8c", 128, "bad-\\xff\\xfe \\xe5\\x8c");
	escaped("\xf0\x9f\x98\x80", 128, "\xf0\x9f\x98\x80");
	/* Cut before what does not fit, never inside an escape or a
	 * character. */
	escaped("ab\ncd", 6, "ab");
	escaped("ab\ncd", 7, "ab\\x0a");
	escaped("a张三", 5, "a张");
	escaped("a张三", 4, "a");
	escaped("abc", 1, "");
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

/* Jitter stays within its bounds, and is not one value. */
static void
test_random_between(void **state)
{
	int64_t v, lo = 1000, hi = 0;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		v = random_between(500, 1000);
		assert_true(v >= 500 && v <= 1000);
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	assert_true(lo < hi);
	assert_int_equal(random_between(7, 7), 7);
	assert_int_equal(random_between(9, 3), 9);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_parse_double),
		cmocka_unit_test(test_random_between),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
