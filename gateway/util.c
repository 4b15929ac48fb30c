/*
 * util.c - UTF-8 checks, name masking, RFC 3339 times and safe copies.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		if (n < 2 || (s[1] & 0xc0) != 0x80)
			return 0;
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0)
			return 0; /* overlong */
		if (c == 0xed && s[1] >= 0xa0)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xf4 && s[1] >= 0x90)
			return 0; /* above U+10FFFF */
		return 4;
	}
	return 0;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < len) {
		k = utf8_seq(p + i, len - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

bool
str_printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

size_t
utf8_count(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void
mask_name(const char *name, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t first, len = strlen(name), o = 0;

	if (size == 0)
		return;
	out[0] = '\0';
	if (len == 0)
		return;
	first = utf8_seq(p, len);
	if (first == 0)
		first = 1;
	if (first + 1 > size)
		return;
	memcpy(out, name, first);
	o = first;
	for (p += first; *p; p++) {
		if ((*p & 0xc0) == 0x80)
			continue;
		if (*p == ' ')
			continue;
		if (o + 2 > size)
			break;
		out[o++] = '*';
	}
	out[o] = '\0';
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
rfc3339_format(int64_t ms, char *out, size_t size)
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

bool
digits_parse(const char **s, int n, int *v)
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

int
rfc3339_parse(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec, oh, om, frac = 0, fd = 0;
	struct tm tm = { 0 };
	int64_t t;
	long off = 0;

	if (!digits_parse(&s, 4, &y) || *s++ != '-' ||
	    !digits_parse(&s, 2, &mo) || *s++ != '-' ||
	    !digits_parse(&s, 2, &d) || (*s != 'T' && *s != 't' && *s != ' '))
		return -1;
	s++;
	if (!digits_parse(&s, 2, &h) || *s++ != ':' ||
	    !digits_parse(&s, 2, &mi) || *s++ != ':' ||
	    !digits_parse(&s, 2, &sec))
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

		if (!digits_parse(&s, 2, &oh) || *s++ != ':' ||
		    !digits_parse(&s, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = sign * (oh * 3600L + om * 60L);
	} else {
		return -1;
	}
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	/* timegm() quietly turns 31 February into 3 March: refuse it. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1)
		return -1;
	*ms = (t - off) * 1000 + frac;
	return 0;
}

size_t
str_copy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
