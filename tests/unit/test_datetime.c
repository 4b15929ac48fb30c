/*
 * test_datetime.c - days and minutes as staff write them in access.d,
 * RFC 3339 instants as devices send them, and the instants we write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "datetime.h"

static void
zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int32_t
date(const char *s)
{
	int32_t d = 12345;

	if (datetime_parse_date(s, &d) < 0) {
		assert_int_equal(d, 12345); /* untouched */
		return -1;
	}
	return d;
}

static void
test_date(void **state)
{
	(void)state;
	assert_int_equal(date("2027-06-30"), 20270630);
	assert_int_equal(date("1970-01-01"), 19700101);
	assert_int_equal(date("9999-12-31"), 99991231);
	/* Leap years: every fourth, not every hundredth, every 400th. */
	assert_int_equal(date("2028-02-29"), 20280229);
	assert_int_equal(date("2000-02-29"), 20000229);
	assert_int_equal(date("2027-02-29"), -1);
	assert_int_equal(date("2100-02-29"), -1);
	assert_int_equal(date("2026-04-31"), -1);
	assert_int_equal(date("2026-12-32"), -1);
	assert_int_equal(date("2026-13-01"), -1);
	assert_int_equal(date("2026-00-10"), -1);
	assert_int_equal(date("2026-01-00"), -1);
	assert_int_equal(date("1969-12-31"), -1);
	/* Exactly the form: no short fields, no time, no spaces. */
	assert_int_equal(date("2026-1-01"), -1);
	assert_int_equal(date("2026-01-01 00:00"), -1);
	assert_int_equal(date(" 2026-01-01"), -1);
	assert_int_equal(date("2026/01/01"), -1);
	assert_int_equal(date("2026-01-"), -1);
	assert_int_equal(date(""), -1);
}

static int64_t
local(const char *s)
{
	int64_t t = 12345;

	if (datetime_parse_local(s, &t) < 0) {
		assert_int_equal(t, 12345);
		return -1;
	}
	return t;
}

static void
test_local(void **state)
{
	(void)state;
	zone("Asia/Shanghai");
	assert_int_equal(local("2026-11-23 14:00"), 1795413600LL);
	assert_int_equal(local("2026-11-23 00:00"), 1795363200LL);
	assert_int_equal(local("2026-11-23 23:59"), 1795449540LL);
	assert_int_equal(local("2026-11-23 24:00"), -1);
	assert_int_equal(local("2026-11-23 12:60"), -1);
	assert_int_equal(local("2026-11-23T09:00"), -1);
	assert_int_equal(local("2026-11-23 9:00"), -1);
	assert_int_equal(local("2026-11-23 09:00:00"), -1);
	assert_int_equal(local("2026-02-30 09:00"), -1);
	assert_int_equal(local("2026-11-23"), -1);
	/* Before the epoch, in UTC: 1970-01-01 08:00 in Beijing is 0. */
	assert_int_equal(local("1970-01-01 08:00"), 0);
	assert_int_equal(local("1970-01-01 07:59"), -1);
	/* A minute a clock change skips does not exist; a repeated one
	 * does, and is the first of the two. */
	zone("Europe/Berlin");
	assert_int_equal(local("2026-03-29 02:30"), -1);
	assert_int_equal(local("2026-03-29 03:00"), 1774746000LL);
	assert_true(local("2026-10-25 02:30") > 0);
	zone("Asia/Shanghai");
}

static void
test_rfc3339(void **state)
{
	int64_t ms;
	char buf[64];

	(void)state;
	assert_int_equal(datetime_parse_rfc3339("2026-11-23T14:00:00.123+08:00",
	                     &ms),
	    0);
	assert_int_equal(ms, 1795413600123LL);
	assert_int_equal(datetime_parse_rfc3339("2026-11-23T06:00:00Z", &ms),
	    0);
	assert_int_equal(ms, 1795413600000LL);
	assert_int_equal(datetime_parse_rfc3339("2026-11-23T06:00:00.5Z", &ms),
	    0);
	assert_int_equal(ms, 1795413600500LL);
	assert_int_equal(
	    datetime_parse_rfc3339("2026-11-23t05:30:00.123456-00:30", &ms), 0);
	assert_int_equal(ms, 1795413600123LL);
	assert_int_equal(datetime_parse_rfc3339("2026-11-23 14:00", &ms), -1);
	assert_int_equal(datetime_parse_rfc3339("2026-13-23T14:00:00Z", &ms),
	    -1);
	assert_int_equal(datetime_parse_rfc3339("2026-11-23T14:00:00", &ms),
	    -1);
	assert_int_equal(datetime_parse_rfc3339("", &ms), -1);
	assert_int_equal(datetime_parse_rfc3339("2026-02-31T06:00:00Z", &ms),
	    -1);
	assert_int_equal(datetime_parse_rfc3339("2028-02-29T06:00:00Z", &ms),
	    0);
	assert_int_equal(datetime_parse_rfc3339("2026-11-23T06:00:00+99:99",
	                     &ms),
	    -1);
	assert_int_equal(datetime_parse_rfc3339("2026-11-23T24:00:00Z", &ms),
	    -1);
	assert_int_equal(datetime_parse_rfc3339("2026-11-23T06:00:00.Z", &ms),
	    -1);
	assert_int_equal(datetime_parse_rfc3339("2026-11-23T06:00:00Zjunk",
	                     &ms),
	    -1);
	/* A device whose clock was never set is still read, as 1969. */
	assert_int_equal(datetime_parse_rfc3339("1969-12-31T23:59:59Z", &ms),
	    0);
	assert_int_equal(ms, -1000);

	zone("Asia/Shanghai");
	datetime_format_rfc3339(1795413600123LL, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-23T14:00:00.123+08:00");
	zone("UTC");
	datetime_format_rfc3339(1795413600123LL, buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-23T06:00:00.123Z");
	datetime_format_rfc3339(-500, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59.500Z");
	zone("Asia/Shanghai");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_rfc3339),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
