/*
 * schedule.h - when a group may pass: "always", or ranges such as
 * "06:00-20:00" or "mon-sat 06:00-20:00, sun 08:00-12:00".
 * A range holds from its start up to, not including, its end; one that
 * ends before it starts runs past midnight and belongs to its first day.
 */
#ifndef SCHEDULE_H
#define SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCHEDULE_MAX 8 /* ranges in one hours = line */

struct schedule_range {
	uint8_t days;   /* bit n: struct tm's tm_wday n (0 = Sunday) */
	uint16_t start; /* minute of the day, 0..1439 */
	uint16_t end;   /* 1..1440 (24:00); end < start: past midnight */
};

struct schedule {
	bool always;
	uint8_t n;
	struct schedule_range r[SCHEDULE_MAX];
};

/* 0, or -1 with err ("bad time '25:00'", ...). */
int schedule_parse(const char *text, struct schedule *, char *err,
    size_t errlen);
/* wday as tm_wday (0 = Sunday), minute of the local day 0..1439. */
bool schedule_allows(const struct schedule *, int wday, int minute);

#endif
