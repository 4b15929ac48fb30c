/*
 * schedule.c - a group's hours: "always", or up to SCHEDULE_MAX ranges of
 * "[days] HH:MM-HH:MM" separated by commas.  Parsing is strict, so a typo
 * is an error at load, never a gate that quietly opens at the wrong time.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "schedule.h"

#define ALL_DAYS 0x7f

static const char *const day_names[7] = {
	"sun",
	"mon",
	"tue",
	"wed",
	"thu",
	"fri",
	"sat",
};

static const char *
skip_ws(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* A three-letter day name at [s, end): its tm_wday, or -1. */
static int
parse_day(const char *s, const char *end)
{
	int i;

	if (end - s != 3)
		return -1;
	for (i = 0; i < 7; i++)
		if (strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "H:MM" or "HH:MM" at [s, end): minute of the day, 0..1440, or -1. */
static int
parse_time(const char *s, const char *end)
{
	int h = 0, m = 0, nh = 0;

	while (s < end && isdigit((unsigned char)*s) && nh < 3) {
		h = h * 10 + (*s++ - '0');
		nh++;
	}
	if (nh < 1 || nh > 2 || s == end || *s++ != ':')
		return -1;
	if (end - s != 2 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]))
		return -1;
	m = (s[0] - '0') * 10 + (s[1] - '0');
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* Said with a mistake in the form, such as "mon,wed 06:00-20:00". */
#define FORM                                                                   \
	"a range is '[days ]HH:MM-HH:MM', days like mon or mon-fri; "          \
	"separate ranges with ','"

static int
fail(char *err, size_t errlen, const char *what, const char *s, const char *end)
{
	snprintf(err, errlen, "%s '%.*s'", what, (int)(end - s), s);
	return -1;
}

static int
fail_form(char *err, size_t errlen, const char *what, const char *s,
    const char *end)
{
	snprintf(err, errlen, "%s '%.*s' (" FORM ")", what, (int)(end - s), s);
	return -1;
}

/* Days "mon", or "mon-sat" (wrapping: "sat-mon" is sat, sun, mon). */
static int
parse_days(const char *s, const char *end, uint8_t *days, char *err,
    size_t errlen)
{
	const char *dash, *a_end;
	int a, b;

	for (dash = s; dash < end && *dash != '-'; dash++)
		;
	if (dash == end)
		dash = NULL;
	a_end = dash ? dash : end;

	while (a_end > s && (a_end[-1] == ' ' || a_end[-1] == '\t'))
		a_end--;
	a = parse_day(s, a_end);
	if (a < 0)
		return fail_form(err, errlen, "bad day", s, a_end);
	if (dash == NULL) {
		*days = (uint8_t)(1u << a);
		return 0;
	}
	s = skip_ws(dash + 1, end);
	b = parse_day(s, end);
	if (b < 0)
		return fail_form(err, errlen, "bad day", s, end);
	*days = 0;
	for (;;) {
		*days |= (uint8_t)(1u << a);
		if (a == b)
			break;
		a = (a + 1) % 7;
	}
	return 0;
}

/* One range: "[days] HH:MM-HH:MM", already trimmed. */
static int
parse_range(const char *s, const char *end, struct schedule_range *r, char *err,
    size_t errlen)
{
	const char *p = s, *dash, *t;
	int start, stop;

	r->days = ALL_DAYS;
	if (p < end && isalpha((unsigned char)*p)) {
		/* The days end where the first time begins. */
		for (t = p; t < end && !isdigit((unsigned char)*t); t++)
			;
		if (t == end)
			return fail_form(err, errlen, "no time in", s, end);
		if (t == p || (t[-1] != ' ' && t[-1] != '\t'))
			return fail_form(err, errlen, "bad range", s, end);
		dash = t;
		while (dash > p && (dash[-1] == ' ' || dash[-1] == '\t'))
			dash--;
		if (parse_days(p, dash, &r->days, err, errlen) < 0)
			return -1;
		p = t;
	}
	dash = memchr(p, '-', (size_t)(end - p));
	if (dash == NULL)
		return fail_form(err, errlen, "bad range", s, end);
	for (t = dash; t > p && (t[-1] == ' ' || t[-1] == '\t'); t--)
		;
	if (t == p || dash + 1 == end)
		return fail_form(err, errlen, "bad range", s, end);
	start = parse_time(p, t);
	if (start < 0 || start == 1440)
		return fail(err, errlen, "bad time", p, t);
	p = skip_ws(dash + 1, end);
	stop = parse_time(p, end);
	if (stop < 0)
		return fail(err, errlen, "bad time", p, end);
	if (stop == 0)
		stop = 1440; /* "22:00-00:00" ends at midnight */
	if (stop == start)
		return fail(err, errlen, "empty range", s, end);
	r->start = (uint16_t)start;
	r->end = (uint16_t)stop;
	return 0;
}

int
schedule_parse(const char *text, struct schedule *sc, char *err, size_t errlen)
{
	const char *p = text, *end, *comma, *e;

	memset(sc, 0, sizeof(*sc));
	end = text + strlen(text);
	p = skip_ws(p, end);
	e = end;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (p == e) {
		snprintf(err, errlen, "no hours given");
		return -1;
	}
	if ((size_t)(e - p) == 6 && strncasecmp(p, "always", 6) == 0) {
		sc->always = true;
		return 0;
	}
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		e = comma ? comma : end;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (p == e) {
			snprintf(err, errlen, "empty range in '%s'", text);
			return -1;
		}
		if (sc->n == SCHEDULE_MAX) {
			snprintf(err, errlen, "more than %d ranges",
			    SCHEDULE_MAX);
			return -1;
		}
		if ((size_t)(e - p) == 6 && strncasecmp(p, "always", 6) == 0) {
			snprintf(err, errlen, "'always' must stand alone");
			return -1;
		}
		if (parse_range(p, e, &sc->r[sc->n], err, errlen) < 0)
			return -1;
		sc->n++;
		if (comma == NULL)
			break;
		p = skip_ws(comma + 1, end);
	}
	return 0;
}

bool
schedule_allows(const struct schedule *sc, int wday, int minute)
{
	const struct schedule_range *r;
	int yesterday = (wday + 6) % 7;
	uint8_t i;

	if (sc->always)
		return true;
	if (wday < 0 || wday > 6 || minute < 0 || minute >= 1440)
		return false;
	for (i = 0; i < sc->n; i++) {
		r = &sc->r[i];
		if (r->start < r->end) {
			if ((r->days & (1u << wday)) && minute >= r->start &&
			    minute < r->end)
				return true;
		} else {
			/* Past midnight: the night belongs to its first day. */
			if ((r->days & (1u << wday)) && minute >= r->start)
				return true;
			if ((r->days & (1u << yesterday)) && minute < r->end)
				return true;
		}
	}
	return false;
}
