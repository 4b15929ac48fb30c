/*
 * datetime.c - dates and times as staff write them in access.d and as
 * devices and records carry them (RFC 3339): one calendar check for all.
 */
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "datetime.h"

/* Exactly n decimal digits at *s, into *v; advances *s.  false if not. */
static bool
digits(const char **s, int n, int *v)
{
	*v = 0;
	while (n-- > 0) {
		if (**s < '0' || **s > '9')
			return false;
		*v = *v * 10 + (**s - '0');
		(*s)++;
	}
	return true;
}

static bool
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* "YYYY-MM-DD" at *s into tm, a day that exists; advances *s. */
static bool
ymd(const char **s, struct tm *tm)
{
	int y, m, d;

	if (!digits(s, 4, &y) || *(*s)++ != '-' || !digits(s, 2, &m) ||
	    *(*s)++ != '-' || !digits(s, 2, &d) || m < 1 || m > 12 || d < 1 ||
	    d > days_in(y, m))
		return false;
	tm->tm_year = y - 1900;
	tm->tm_mon = m - 1;
	tm->tm_mday = d;
	return true;
}

/* "HH:MM" at *s; advances *s. */
static bool
hm(const char **s, int *h, int *mi)
{
	return digits(s, 2, h) && *(*s)++ == ':' && digits(s, 2, mi) &&
	    *h <= 23 && *mi <= 59;
}

int
datetime_parse_date(const char *s, int32_t *yyyymmdd)
{
	struct tm tm = { 0 };

	if (!ymd(&s, &tm) || *s != '\0' || tm.tm_year < 70)
		return -1;
	*yyyymmdd =
	    (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
	return 0;
}

int
datetime_parse_local(const char *s, int64_t *sec)
{
	struct tm tm = { 0 }, want;
	time_t t;

	if (!ymd(&s, &tm) || tm.tm_year < 70 || *s++ != ' ' ||
	    !hm(&s, &tm.tm_hour, &tm.tm_min) || *s != '\0')
		return -1;
	tm.tm_isdst = -1;
	want = tm;
	t = mktime(&tm);
	/* A time that does not exist (a DST gap) comes back moved; one
	 * before the epoch (1970-01-01 07:00 in Beijing) is no visit. */
	if (t < 0 || tm.tm_hour != want.tm_hour || tm.tm_min != want.tm_min ||
	    tm.tm_mday != want.tm_mday)
		return -1;
	*sec = (int64_t)t;
	return 0;
}

int
datetime_parse_rfc3339(const char *s, int64_t *ms)
{
	int oh, om, frac = 0, fd = 0;
	struct tm tm = { 0 };
	long off = 0;

	if (!ymd(&s, &tm) || (*s != 'T' && *s != 't' && *s != ' '))
		return -1;
	s++;
	if (!hm(&s, &tm.tm_hour, &tm.tm_min) || *s++ != ':' ||
	    !digits(&s, 2, &tm.tm_sec) || tm.tm_sec > 60)
		return -1;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++, fd++)
			if (fd < 3)
				frac = frac * 10 + (*s - '0');
		for (; fd < 3; fd++)
			frac *= 10;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;

		if (!hm(&s, &oh, &om))
			return -1;
		off = sign * (oh * 3600L + om * 60L);
	} else {
		return -1;
	}
	if (*s != '\0')
		return -1;
	*ms = ((int64_t)timegm(&tm) - off) * 1000 + frac;
	return 0;
}

void
datetime_format_rfc3339(int64_t ms, char *out, size_t size)
{
	/* Floor division: -500 ms is 23:59:59.500 the day before. */
	int64_t sec = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int frac = (int)(ms - sec * 1000);
	time_t t = (time_t)sec;
	struct tm tm;
	char date[32];
	long off;

	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff / 60;
	if (off == 0)
		snprintf(out, size, "%s.%03dZ", date, frac);
	else
		snprintf(out, size, "%s.%03d%c%02ld:%02ld", date, frac,
		    off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
		    (off < 0 ? -off : off) % 60);
}

void
datetime_format_local(int64_t sec, char *out, size_t size)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, size, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, size, "?");
}
