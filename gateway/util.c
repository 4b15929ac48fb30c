/*
 * util.c - UTF-8 checks, the clock, numbers and safe copies.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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

size_t
utf8_char(const char *s, size_t n)
{
	return n == 0 ? 0 : utf8_seq((const unsigned char *)s, n);
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

/* The code point of the well-formed k-byte sequence at s. */
static uint32_t
utf8_decode(const unsigned char *s, size_t k)
{
	switch (k) {
	case 1:
		return s[0];
	case 2:
		return (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
	case 3:
		return (uint32_t)(s[0] & 0x0f) << 12 |
		    (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
	default:
		return (uint32_t)(s[0] & 0x07) << 18 |
		    (uint32_t)(s[1] & 0x3f) << 12 |
		    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	}
}

/*
 * Characters that make a log line say something other than its bytes:
 * C0 and C1 controls and DEL (a newline forges a line, ESC or the C1 CSI
 * drives the terminal), the bidi controls (Unicode's Bidi_Control: U+202E
 * shows "req-\u202egpj.exe" as "req-exe.jpg") and the line and paragraph
 * separators.
 */
static bool
deceptive(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

void
str_escape(const char *s, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, o = 0, k, n;
	const char *from;
	char esc[8];
	uint32_t cp;

	if (size == 0)
		return;
	while (i < len) {
		k = utf8_seq(p + i, len - i);
		from = s + i;
		n = k;
		if (k == 0) {
			/* Not UTF-8: the byte, so that nothing is lost. */
			k = 1;
			n = (size_t)snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			from = esc;
		} else {
			cp = utf8_decode(p + i, k);
			if (deceptive(cp)) {
				n = (size_t)snprintf(esc, sizeof(esc),
				    cp < 0x80 ? "\\x%02x" : "\\u%04x",
				    (unsigned)cp);
				from = esc;
			}
		}
		/* Whole characters and whole escapes, or nothing. */
		if (o + n >= size)
			break;
		memcpy(out + o, from, n);
		o += n;
		i += k;
	}
	out[o] = '\0';
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

uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Only what a decimal number is made of: strtol and strtod would also
 * skip spaces and take hex, "nan" and "inf". */
static bool
number_chars(const char *s, const char *allowed)
{
	return *s != '\0' && s[strspn(s, allowed)] == '\0';
}

int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!number_chars(s, "+-0123456789"))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
parse_double(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!number_chars(s, "+-.0123456789eE"))
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min ||
	    v > max)
		return -1;
	*out = v;
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

/*
 * The next item of a list separated by ',' (or the full-width '，' a
 * Chinese keyboard types), trimmed, into buf.  Empty items are skipped.
 * Returns false at the end.  An item too long for buf comes back cut to
 * size - 1 bytes: longer than any id, so it is refused, never mistaken.
 */
bool
str_list_next(const char **sp, char *buf, size_t size)
{
	const char *s = *sp, *e, *end;
	size_t n, seplen;

	for (;;) {
		s += strspn(s, " \t");
		if (*s == '\0') {
			*sp = s;
			return false;
		}
		for (e = s; *e && *e != ',' && strncmp(e, "\xef\xbc\x8c", 3);
		     e++)
			;
		seplen = *e == ',' ? 1 : *e ? 3 : 0;
		for (end = e; end > s && (end[-1] == ' ' || end[-1] == '\t');
		     end--)
			;
		n = (size_t)(end - s);
		*sp = e + seplen;
		if (n == 0) {
			s = *sp;
			continue;
		}
		if (n >= size)
			n = size - 1;
		memcpy(buf, s, n);
		buf[n] = '\0';
		return true;
	}
}

uint64_t
backoff_next(uint64_t prev, uint64_t first, uint64_t cap)
{
	if (first > cap)
		first = cap;
	if (prev == 0)
		return first;
	return prev >= cap / 2 ? cap : prev * 2;
}

int64_t
random_between(int64_t lo, int64_t hi)
{
	static bool seeded;
	unsigned seed;

	if (!seeded) {
		/* Each gateway its own: a compound's gateways (or a
		 * company's) coming back together spread out. */
		if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) ==
		    sizeof(seed))
			srand(seed);
		seeded = true;
	}
	if (hi <= lo)
		return lo;
	return lo + (int64_t)((uint64_t)rand() % (uint64_t)(hi - lo + 1));
}

size_t
utf8_width(const char *s)
{
	size_t n = strlen(s), i = 0, w = 0, len;
	const unsigned char *u = (const unsigned char *)s;
	unsigned cp;

	while (i < n) {
		len = utf8_char(s + i, n - i);
		if (len == 0) {
			i++;
			w++;
			continue;
		}
		cp = len == 1 ? u[i] :
		    len == 2  ? (u[i] & 0x1fu) << 6 | (u[i + 1] & 0x3fu) :
		    len == 3  ? (u[i] & 0x0fu) << 12 | (u[i + 1] & 0x3fu) << 6 |
		        (u[i + 2] & 0x3fu) :
		               (u[i] & 0x07u) << 18 | (u[i + 1] & 0x3fu) << 12 |
		        (u[i + 2] & 0x3fu) << 6 | (u[i + 3] & 0x3fu);
		w += (cp >= 0x1100 && cp <= 0x115f) ||
		        (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
		        (cp >= 0xac00 && cp <= 0xd7a3) ||
		        (cp >= 0xf900 && cp <= 0xfaff) ||
		        (cp >= 0xfe30 && cp <= 0xfe4f) ||
		        (cp >= 0xff00 && cp <= 0xff60) ||
		        (cp >= 0xffe0 && cp <= 0xffe6) ||
		        (cp >= 0x20000 && cp <= 0x3fffd) ?
		    2 :
		    1;
		i += len;
	}
	return w;
}
