/*
 * test_schedule.c - a group's hours: the grammar, every way to get it
 * wrong, and matching at each corner (ends, midnight, wrapping days).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "schedule.h"

enum { SUN, MON, TUE, WED, THU, FRI, SAT };

#define HM(h, m) ((h)*60 + (m))

/* What an error about the form of a range adds. */
#define FORM                                                                   \
	"a range is '[days ]HH:MM-HH:MM', days like mon or mon-fri; "          \
	"separate ranges with ','"

static struct schedule
parse_ok(const char *text)
{
	struct schedule s;
	char err[256] = "";

	if (schedule_parse(text, &s, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
	return s;
}

static void
parse_bad(const char *text, const char *want)
{
	struct schedule s;
	char err[256] = "";

	assert_int_equal(schedule_parse(text, &s, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

/* Minutes of day wday for which s allows, as a count. */
static int
minutes_allowed(const struct schedule *s, int wday)
{
	int m, n = 0;

	for (m = 0; m < 1440; m++)
		n += schedule_allows(s, wday, m);
	return n;
}

static void
test_always(void **state)
{
	struct schedule s;
	int d;

	(void)state;
	s = parse_ok("always");
	assert_true(s.always);
	for (d = 0; d < 7; d++)
		assert_int_equal(minutes_allowed(&s, d), 1440);
	s = parse_ok("  Always ");
	assert_true(s.always);
}

static void
test_every_day(void **state)
{
	struct schedule s;
	int d;

	(void)state;
	s = parse_ok("06:00-20:00");
	assert_false(s.always);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.r[0].days, 0x7f);
	assert_int_equal(s.r[0].start, HM(6, 0));
	assert_int_equal(s.r[0].end, HM(20, 0));
	for (d = 0; d < 7; d++) {
		assert_false(schedule_allows(&s, d, HM(5, 59)));
		assert_true(schedule_allows(&s, d, HM(6, 0))); /* start in */
		assert_true(schedule_allows(&s, d, HM(19, 59)));
		assert_false(schedule_allows(&s, d, HM(20, 0))); /* end out */
		assert_int_equal(minutes_allowed(&s, d), 14 * 60);
	}
	/* One-digit hours are fine. */
	s = parse_ok("6:00-9:30");
	assert_int_equal(s.r[0].start, HM(6, 0));
	assert_int_equal(s.r[0].end, HM(9, 30));
}

static void
test_days(void **state)
{
	struct schedule s;

	(void)state;
	s = parse_ok("mon-sat 06:00-20:00");
	assert_int_equal(s.r[0].days, 0x7e);
	assert_false(schedule_allows(&s, SUN, HM(10, 0)));
	assert_true(schedule_allows(&s, MON, HM(10, 0)));
	assert_true(schedule_allows(&s, SAT, HM(19, 59)));
	assert_false(schedule_allows(&s, SAT, HM(20, 0)));

	/* A range of days may wrap over the week's end. */
	s = parse_ok("sat-mon 08:00-09:00");
	assert_int_equal(s.r[0].days, 1 << SAT | 1 << SUN | 1 << MON);
	assert_true(schedule_allows(&s, SAT, HM(8, 0)));
	assert_true(schedule_allows(&s, SUN, HM(8, 30)));
	assert_true(schedule_allows(&s, MON, HM(8, 59)));
	assert_false(schedule_allows(&s, TUE, HM(8, 30)));
	assert_false(schedule_allows(&s, FRI, HM(8, 30)));

	s = parse_ok("wed 10:00-11:00");
	assert_int_equal(s.r[0].days, 1 << WED);
	assert_int_equal(minutes_allowed(&s, WED), 60);
	assert_int_equal(minutes_allowed(&s, THU), 0);

	/* The same day twice is that day; the whole week, any order. */
	assert_int_equal(parse_ok("fri-fri 10:00-11:00").r[0].days, 1 << FRI);
	assert_int_equal(parse_ok("sun-sat 10:00-11:00").r[0].days, 0x7f);
	assert_int_equal(parse_ok("mon-sun 10:00-11:00").r[0].days, 0x7f);
	assert_int_equal(parse_ok("tue-mon 10:00-11:00").r[0].days, 0x7f);

	/* Case and spaces do not matter. */
	s = parse_ok("  Mon - SAT   06:00 - 20:00  ");
	assert_int_equal(s.r[0].days, 0x7e);
	assert_int_equal(s.r[0].start, HM(6, 0));
	assert_int_equal(s.r[0].end, HM(20, 0));
}

static void
test_past_midnight(void **state)
{
	struct schedule s;
	int d;

	(void)state;
	s = parse_ok("22:00-06:00");
	for (d = 0; d < 7; d++) {
		assert_false(schedule_allows(&s, d, HM(21, 59)));
		assert_true(schedule_allows(&s, d, HM(22, 0)));
		assert_true(schedule_allows(&s, d, HM(23, 59)));
		assert_true(schedule_allows(&s, d, HM(0, 0)));
		assert_true(schedule_allows(&s, d, HM(5, 59)));
		assert_false(schedule_allows(&s, d, HM(6, 0)));
		assert_int_equal(minutes_allowed(&s, d), 8 * 60);
	}

	/* The night belongs to the day it starts on. */
	s = parse_ok("fri 22:00-06:00");
	assert_true(schedule_allows(&s, FRI, HM(22, 0)));
	assert_true(schedule_allows(&s, FRI, HM(23, 59)));
	assert_true(schedule_allows(&s, SAT, HM(0, 0)));
	assert_true(schedule_allows(&s, SAT, HM(5, 59)));
	assert_false(schedule_allows(&s, SAT, HM(6, 0)));
	assert_false(schedule_allows(&s, SAT, HM(22, 0)));
	assert_false(schedule_allows(&s, FRI, HM(5, 0))); /* thursday's */
	assert_false(schedule_allows(&s, THU, HM(23, 0)));

	/* Over the week's end: saturday night runs into sunday. */
	s = parse_ok("sat 23:00-01:00");
	assert_true(schedule_allows(&s, SUN, HM(0, 30)));
	assert_false(schedule_allows(&s, SAT, HM(0, 30)));
	assert_false(schedule_allows(&s, MON, HM(0, 30)));
	s = parse_ok("sun 23:00-01:00");
	assert_true(schedule_allows(&s, MON, HM(0, 30)));
	assert_false(schedule_allows(&s, SUN, HM(0, 30)));

	/* Days wrapping and the night wrapping at once. */
	s = parse_ok("sat-sun 22:00-02:00");
	assert_true(schedule_allows(&s, SAT, HM(23, 0)));
	assert_true(schedule_allows(&s, SUN, HM(1, 0))); /* sat's */
	assert_true(schedule_allows(&s, SUN, HM(23, 0)));
	assert_true(schedule_allows(&s, MON, HM(1, 59))); /* sun's */
	assert_false(schedule_allows(&s, MON, HM(2, 0)));
	assert_false(schedule_allows(&s, SAT, HM(1, 0))); /* fri's */
	assert_false(schedule_allows(&s, MON, HM(23, 0)));
}

static void
test_midnight_ends(void **state)
{
	struct schedule s;

	(void)state;
	/* 24:00 is the end of the day. */
	s = parse_ok("00:00-24:00");
	assert_int_equal(s.r[0].end, 1440);
	assert_int_equal(minutes_allowed(&s, MON), 1440);
	s = parse_ok("18:00-24:00");
	assert_true(schedule_allows(&s, MON, HM(23, 59)));
	assert_false(schedule_allows(&s, TUE, HM(0, 0)));
	assert_int_equal(minutes_allowed(&s, MON), 6 * 60);
	/* Ending at 00:00 is ending at midnight, as 24:00. */
	s = parse_ok("22:00-00:00");
	assert_int_equal(s.r[0].end, 1440);
	assert_true(schedule_allows(&s, MON, HM(23, 59)));
	assert_false(schedule_allows(&s, TUE, HM(0, 0)));
	s = parse_ok("00:00-00:00");
	assert_int_equal(minutes_allowed(&s, THU), 1440);
	/* A range from midnight. */
	s = parse_ok("sun 00:00-01:00");
	assert_true(schedule_allows(&s, SUN, HM(0, 0)));
	assert_false(schedule_allows(&s, SAT, HM(0, 0)));
	assert_false(schedule_allows(&s, SUN, HM(1, 0)));
}

static void
test_several_ranges(void **state)
{
	struct schedule s;

	(void)state;
	s = parse_ok("mon-fri 07:30-18:30, sat 08:00-12:00");
	assert_int_equal(s.n, 2);
	assert_true(schedule_allows(&s, FRI, HM(7, 30)));
	assert_true(schedule_allows(&s, FRI, HM(18, 29)));
	assert_false(schedule_allows(&s, FRI, HM(18, 30)));
	assert_false(schedule_allows(&s, SAT, HM(7, 59)));
	assert_true(schedule_allows(&s, SAT, HM(11, 59)));
	assert_false(schedule_allows(&s, SAT, HM(12, 0)));
	assert_int_equal(minutes_allowed(&s, SUN), 0);

	/* Overlapping ranges simply add up. */
	s = parse_ok("06:00-12:00,10:00-14:00");
	assert_int_equal(minutes_allowed(&s, TUE), 8 * 60);

	/* SCHEDULE_MAX ranges fit, one more does not. */
	s = parse_ok("0:00-1:00, 2:00-3:00, 4:00-5:00, 6:00-7:00, 8:00-9:00, "
	             "10:00-11:00, 12:00-13:00, 14:00-15:00");
	assert_int_equal(s.n, SCHEDULE_MAX);
	assert_int_equal(minutes_allowed(&s, WED), 8 * 60);
	assert_true(schedule_allows(&s, WED, HM(14, 59)));
	assert_false(schedule_allows(&s, WED, HM(15, 0)));
	parse_bad("0:00-1:00, 2:00-3:00, 4:00-5:00, 6:00-7:00, 8:00-9:00, "
	          "10:00-11:00, 12:00-13:00, 14:00-15:00, 16:00-17:00",
	    "more than 8 ranges");
}

static void
test_bad(void **state)
{
	(void)state;
	parse_bad("", "no hours given");
	parse_bad("   ", "no hours given");
	parse_bad("25:00-26:00", "bad time '25:00'");
	parse_bad("06:60-07:00", "bad time '06:60'");
	parse_bad("24:00-06:00", "bad time '24:00'");
	parse_bad("06:00-24:01", "bad time '24:01'");
	parse_bad("06:00-7", "bad time '7'");
	parse_bad("123:00-130:00", "bad time '123:00'");
	parse_bad("06:0-07:00", "bad time '06:0'");
	parse_bad("6-7", "bad time '6'");
	parse_bad("06:00", "bad range '06:00' (" FORM ")");
	parse_bad("06:00-", "bad range '06:00-' (" FORM ")");
	parse_bad("-06:00", "bad range '-06:00' (" FORM ")");
	parse_bad("06:00-06:00", "empty range '06:00-06:00'");
	parse_bad("funday 06:00-07:00", "bad day 'funday' (" FORM ")");
	parse_bad("monday 06:00-07:00", "bad day 'monday' (" FORM ")");
	parse_bad("mon-funday 06:00-07:00", "bad day 'funday' (" FORM ")");
	parse_bad("mon06:00-07:00", "bad range 'mon06:00-07:00' (" FORM ")");
	parse_bad("mon", "no time in 'mon' (" FORM ")");
	/* A list of days is not a form: the error says what is. */
	parse_bad("mon,wed 06:00-07:00", "no time in 'mon' (" FORM ")");
	parse_bad("mon/wed 06:00-07:00", "bad day 'mon/wed' (" FORM ")");
	parse_bad("mon、wed 06:00-07:00", "bad day 'mon、wed' (" FORM ")");
	parse_bad("mon wed 06:00-07:00", "bad day 'mon wed' (" FORM ")");
	parse_bad("always, 06:00-07:00", "'always' must stand alone");
	parse_bad("06:00-07:00, always", "'always' must stand alone");
	parse_bad("never", "no time in 'never' (" FORM ")");
	parse_bad("06:00-07:00,", "empty range in '06:00-07:00,'");
	parse_bad(", 06:00-07:00", "empty range in ', 06:00-07:00'");
	parse_bad("06:00-07:00,,08:00-09:00",
	    "empty range in '06:00-07:00,,08:00-09:00'");
	parse_bad("06:00-07:00 mon", "bad time '07:00 mon'");
}

static void
test_out_of_range_queries(void **state)
{
	struct schedule s;

	(void)state;
	s = parse_ok("00:00-24:00");
	assert_false(schedule_allows(&s, 7, 0));
	assert_false(schedule_allows(&s, -1, 0));
	assert_false(schedule_allows(&s, MON, 1440));
	assert_false(schedule_allows(&s, MON, -1));
	/* A schedule never set up allows nothing, never everything. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(minutes_allowed(&s, MON), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_always),
		cmocka_unit_test(test_every_day),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_past_midnight),
		cmocka_unit_test(test_midnight_ends),
		cmocka_unit_test(test_several_ranges),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_out_of_range_queries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
