/*
 * report_live.h - the daily report in gatewayd: journaled as the record
 * the WeChat sink sends as one markdown message (the journal is the
 * outbox), and made by itself once a day at [report] at, off the loop.
 */
#ifndef REPORT_LIVE_H
#define REPORT_LIVE_H

#include <stdint.h>

struct pipeline;

/* Why a report record was made: the morning's is REPORT_DAILY_PREFIX
 * and its day, "daily 2026-11-23"; the control socket's notify says
 * "notify". */
#define REPORT_DAILY_PREFIX "daily "

/*
 * Journal markdown (UTF-8, cut to 4096 bytes when sent) as a record of
 * kind system, decision report, reason what, with "markdown": the robot
 * gets it as it is, once committed.  0, or -1 (not UTF-8, no memory, or
 * the journal cannot take it now).  Loop thread.
 */
int report_journal(struct pipeline *, const char *markdown, const char *what);

/*
 * About once a second, on the loop: from [report] at (local time) on,
 * once a day, yesterday's report is counted on a worker thread with a
 * read-only connection of its own to <data_dir>/journal.db and
 * journaled, unless the journal already holds that day's (a restart
 * later in the morning sends it no second time).  A journal that cannot
 * be read is tried again five minutes later.
 */
void report_live_tick(struct pipeline *, int64_t now_ms);

/* The daemon stops: a report still being counted is dropped. */
void report_live_stop(void);

#endif
