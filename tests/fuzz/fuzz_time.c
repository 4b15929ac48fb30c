/*
 * fuzz_time.c - RFC 3339 times as devices send them (parsed, then
 * formatted back), the days and minutes of access.d, and utf8_valid and
 * mask_name on the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datetime.h"
#include "mask.h"
#include "util.h"

/* 9999-12-30T00:00:00Z: later ones may format as a five-digit year. */
#define LAST_MS 253402128000000LL

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The default time zone of gateway.ini; format uses local time. */
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	return 0;
}

static void
times(const char *s)
{
	char out[40], small[8]; /* journal.c formats into 40 bytes */
	int64_t ms, again;

	if (datetime_parse_rfc3339(s, &ms) < 0)
		return;
	datetime_format_rfc3339(ms, out, sizeof(out));
	datetime_format_rfc3339(ms, small, sizeof(small));
	if (memchr(out, '\0', sizeof(out)) == NULL ||
	    memchr(small, '\0', sizeof(small)) == NULL)
		abort();
	/* What we write we must read back as the same instant.  From 1970
	 * only: before it, the fraction written is negative. */
	if (ms >= 0 && ms <= LAST_MS &&
	    (datetime_parse_rfc3339(out, &again) < 0 || again != ms)) {
		fprintf(stderr, "'%s' -> %lld -> '%s'\n", s, (long long)ms,
		    out);
		abort();
	}
}

/* A day or a minute that parses is a real one, written back the same. */
static void
days(const char *s)
{
	char out[32];
	int32_t d;
	int64_t t;

	if (datetime_parse_date(s, &d) == 0) {
		snprintf(out, sizeof(out), "%04d-%02d-%02d", (int)(d / 10000),
		    (int)(d / 100 % 100), (int)(d % 100));
		if (strcmp(out, s) != 0)
			abort();
	}
	if (datetime_parse_local(s, &t) == 0) {
		time_t tt = (time_t)t;
		struct tm tm;

		localtime_r(&tt, &tm);
		strftime(out, sizeof(out), "%Y-%m-%d %H:%M", &tm);
		if (t < 0 || strcmp(out, s) != 0)
			abort();
	}
}

static void
names(const char *s, size_t len)
{
	static const size_t sizes[] = { 1, 2, 3, 4, 5, 8, 64 };
	char out[64];
	size_t i, n;
	bool valid = utf8_valid(s, len);

	if (valid && len > 0 && utf8_count(s) == 0)
		abort();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(out, 0x55, sizeof(out));
		mask_name(s, out, sizes[i]);
		n = strnlen(out, sizes[i]);
		if (n == sizes[i])
			abort(); /* not terminated */
		/* Whatever the bytes, what a screen shows is UTF-8. */
		if (!utf8_valid(out, n))
			abort();
	}
	mask_name(s, out, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	times(s);
	days(s);
	/* utf8_valid on the raw bytes, NULs too; the rest up to a NUL. */
	(void)utf8_valid((const char *)data, size);
	names(s, strlen(s));
	free(s);
	return 0;
}
