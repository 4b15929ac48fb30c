/*
 * util.h - small helpers every module needs: UTF-8 checks, the clock,
 * numbers from text, safe copies.  Dates and times are datetime.h's;
 * masking of names, mobiles and plates is mask.h's.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length of the well-formed UTF-8 character at s (n bytes left),
 * or 0 when it is none (or n is 0). */
size_t utf8_char(const char *s, size_t n);
/* Is s[0..len) well-formed UTF-8 (no overlongs, no surrogates)? */
bool utf8_valid(const char *s, size_t len);
/*
 * No control characters (below 0x20, DEL, NUL) in s[0..len): outside
 * input with a newline would forge a log line of its own.
 */
bool str_printable(const char *s, size_t len);
/*
 * s as a log line may show it: C0 and C1 controls, DEL and bytes that are
 * not UTF-8 as \xNN; bidi controls (U+061C, U+200E/F, U+202A-U+202E,
 * U+2066-U+2069) and the separators U+2028/U+2029 as \uNNNN.  Always
 * NUL-terminates out; cuts before a character or escape that does not
 * fit, never inside one.
 */
void str_escape(const char *s, char *out, size_t size);
/* Code points in a valid UTF-8 string. */
size_t utf8_count(const char *s);
/* Columns s takes on a terminal, whatever the locale: East Asian wide
 * and full-width characters two, others (and bytes that are no UTF-8)
 * one.  Tables for people: gatewayctl's, the daily report's. */
size_t utf8_width(const char *s);

/* Milliseconds since the epoch, from the wall clock. */
int64_t now_ms(void);
/* Milliseconds on CLOCK_MONOTONIC: for timers, which a clock step must
 * not move. */
uint64_t mono_ms(void);

/*
 * A whole string as a decimal number from min to max, into *out: no
 * spaces, no hex, no "nan" or "inf", nothing after the number.  0, or
 * -1 with *out untouched.  The one parser for numbers in INI values and
 * device settings, so every key refuses the same things.
 */
int parse_long(const char *s, long min, long max, long *out);
int parse_double(const char *s, double min, double max, double *out);

/* strlcpy semantics: always NUL-terminates, returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);

/*
 * The next item of a list separated by ',' (or the full-width '，' a
 * Chinese keyboard types), trimmed, into buf; empty items are skipped.
 * false at the end.  An item too long for buf comes back cut to size - 1
 * bytes: longer than any id, so it is refused, never mistaken.
 */
bool str_list_next(const char **sp, char *buf, size_t size);

/* The next wait of an exponential backoff: first (at most cap), then
 * twice the one before, never above cap. */
uint64_t backoff_next(uint64_t prev, uint64_t first, uint64_t cap);
/* A number in [lo, hi] (lo when hi <= lo), seeded once from the kernel.
 * The loop's thread only: a bus thread has its own (rand_r). */
int64_t random_between(int64_t lo, int64_t hi);

#endif
