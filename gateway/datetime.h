/*
 * datetime.h - the dates and times the gateway reads and writes: days and
 * minutes in access.d (the compound's local time) and RFC 3339 instants
 * in device messages and records.  Parsers refuse what does not exist
 * (31 February, a minute skipped by a clock change).  No clock reads.
 */
#ifndef DATETIME_H
#define DATETIME_H

#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DD", 1970 to 9999, as yyyymmdd.  0 or -1. */
int datetime_parse_date(const char *s, int32_t *yyyymmdd);
/* "YYYY-MM-DD HH:MM" in the process's time zone, in epoch seconds. */
int datetime_parse_local(const char *s, int64_t *sec);
/* "YYYY-MM-DD HH:MM" in the process's time zone, as access.d has it. */
void datetime_format_local(int64_t sec, char *out, size_t size);
/* RFC 3339 ("...Z" or "...+08:00", fraction optional) in epoch ms. */
int datetime_parse_rfc3339(const char *s, int64_t *ms);
/* "2026-11-23T14:00:00.123+08:00" in the process's time zone. */
void datetime_format_rfc3339(int64_t ms, char *out, size_t size);

#endif
