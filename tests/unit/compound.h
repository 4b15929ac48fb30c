/*
 * compound.h - a unit test's small compound: gateway.ini and one
 * access.d file written into the scratch directory (scratch.h) and
 * loaded as gatewayd loads them.  Include after scratch.h.
 */
#ifndef COMPOUND_H
#define COMPOUND_H

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "access.h"
#include "config.h"
#include "diag.h"
#include "rules.h"
#include "state.h"

/* 0, or -1 with every problem printed. */
static inline int
compound_load(const char *gateway_ini, const char *access_ini,
    struct config **cfg, struct access_tables **tables)
{
	struct diag diag;

	if (mkdir("access.d", 0700) < 0)
		return -1;
	scratch_write("gateway.ini", gateway_ini);
	scratch_write("access.d/compound.ini", access_ini);
	diag_init(&diag);
	*cfg = config_load("gateway.ini", &diag);
	*tables = *cfg ? access_load(*cfg, &diag) : NULL;
	diag_print(stderr, &diag);
	diag_free(&diag);
	return *cfg && *tables ? 0 : -1;
}

/* The rules' clock at a local time in the compound's zone (the process's
 * TZ: compound_start() sets Asia/Shanghai). */
static inline void
compound_at(struct rules_clock *c, int y, int mo, int d, int h, int mi)
{
	struct tm tm = {
		.tm_year = y - 1900,
		.tm_mon = mo - 1,
		.tm_mday = d,
		.tm_hour = h,
		.tm_min = mi,
		.tm_isdst = -1,
	};

	rules_clock_at((int64_t)mktime(&tm) * 1000, c);
}

/* A decision allows (denies) for the reason whose code is why. */
#define ALLOWS(d, why)                                                         \
	do {                                                                   \
		assert_true((d).allow);                                        \
		assert_string_equal(rules_reason_code((d).reason), why);       \
	} while (0)
#define DENIES(d, why)                                                         \
	do {                                                                   \
		assert_false((d).allow);                                       \
		assert_string_equal(rules_reason_code((d).reason), why);       \
	} while (0)

/* The compound's time zone, the process's. */
static inline void
compound_zone(void)
{
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
}

/* now + offset_s as a visit window's "from" or "until" is written, in
 * the compound's zone. */
static inline void
compound_minute(time_t offset_s, char *buf, size_t size)
{
	time_t t = time(NULL) + offset_s;
	struct tm tm;

	compound_zone();
	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

/* A test group's start: Asia/Shanghai, its scratch directory, the
 * compound loaded and, when live is not NULL, fresh live state. */
static inline int
compound_start(const char *name, const char *gateway_ini,
    const char *access_ini, struct config **cfg, struct access_tables **tables,
    struct state **live)
{
	compound_zone();
	if (scratch_enter(name) < 0 ||
	    compound_load(gateway_ini, access_ini, cfg, tables) < 0)
		return -1;
	if (live == NULL)
		return 0;
	*live = state_new((*cfg)->ndevices);
	return *live ? 0 : -1;
}

static inline int
compound_stop(struct config *cfg, struct access_tables *tables,
    struct state *live)
{
	state_free(live);
	access_free(tables);
	config_free(cfg);
	return scratch_leave();
}

#endif
