/* test_util.c - masking, UTF-8 checks and RFC 3339 times. */
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

static void
test_rfc3339(void **state)
{
	int64_t ms;
	char buf[64];

	(void)state;
	assert_int_equal(rfc3339_parse("2026-11-23T14:00:00.123+08:00", &ms),
	    0);
	assert_int_equal(ms, 1795413600123LL);
	assert_int_equal(rfc3339_parse("2026-11-23T06:00:00Z", &ms), 0);
	assert_int_equal(ms, 1795413600000LL);
	assert_int_equal(rfc3339_parse("2026-11-23T06:00:00.5Z", &ms), 0);
	assert_int_equal(ms, 1795413600500LL);
	assert_int_equal(rfc3339_parse("2026-11-23 14:00", &ms), -1);
	assert_int_equal(rfc3339_parse("2026-13-23T14:00:00Z", &ms), -1);
	assert_int_equal(rfc3339_parse("2026-11-23T14:00:00", &ms), -1);
	assert_int_equal(rfc3339_parse("", &ms), -1);
	assert_int_equal(rfc3339_parse("2026-02-31T06:00:00Z", &ms), -1);
	assert_int_equal(rfc3339_parse("2028-02-29T06:00:00Z", &ms), 0);
	assert_int_equal(rfc3339_parse("2026-11-23T06:00:00+99:99", &ms), -1);

	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	rfc3339_format(1795413600123LL, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-23T14:00:00.123+08:00");
	setenv("TZ", "UTC", 1);
	tzset();
	rfc3339_format(1795413600123LL, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-23T06:00:00.123Z");
	rfc3339_format(-500, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59.500Z");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_rfc3339),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
