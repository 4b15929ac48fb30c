/*
 * util.h - small helpers every module needs: UTF-8 checks, masking of
 * personal names for screens and logs, RFC 3339 times, safe copies.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Is s[0..len) well-formed UTF-8 (no overlongs, no surrogates)? */
bool utf8_valid(const char *s, size_t len);
/*
 * No control characters (below 0x20, DEL, NUL) in s[0..len): outside
 * input with a newline would forge a log line of its own.
 */
bool str_printable(const char *s, size_t len);
/* Code points in a valid UTF-8 string. */
size_t utf8_count(const char *s);

/*
 * A name as shown on a gate or in a log line: its first character, then
 * one '*' for each other character ("张三丰" -> "张**").  Always writes a
 * NUL-terminated string; cuts on a character boundary if out is short.
 */
void mask_name(const char *name, char *out, size_t size);

/* Milliseconds since the epoch, from the wall clock. */
int64_t now_ms(void);
/* Milliseconds on CLOCK_MONOTONIC: for timers, which a clock step must
 * not move. */
uint64_t mono_ms(void);
/* "2026-11-23T14:00:00.123+08:00" in the process's time zone. */
void rfc3339_format(int64_t ms, char *out, size_t size);
/* Parse RFC 3339 ("...Z" or "...+08:00", fraction optional).  0 or -1. */
int rfc3339_parse(const char *s, int64_t *ms);

/* Exactly n decimal digits at *s, into *v; advances *s.  false if not. */
bool digits_parse(const char **s, int n, int *v);

/* strlcpy semantics: always NUL-terminates, returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t size);

#endif
