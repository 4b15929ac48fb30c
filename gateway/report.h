/*
 * report.h - the daily report (DESIGN 4.8, issue 12): how the compound
 * did against its 5341 promise on one local day, counted from the
 * journal alone, and said three ways: a JSON object (the numbers), text
 * for a terminal, markdown for the group robot.  No libuv, no clock
 * reads: the day is given, the journal is an open connection.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

struct config;

/*
 * Local midnight of day (yyyymmdd, the process's time zone: the
 * gateway's) and the next one, in epoch ms.  0 or -1 (no such day).
 */
int report_day_bounds(int32_t day, int64_t *from_ms, int64_t *to_ms);
/* The local day (yyyymmdd) at t_ms, and the one before it. */
int32_t report_day_of(int64_t t_ms);
int32_t report_day_before(int32_t day);

/*
 * The report of day, read from db (the journal: events as journal_db.c
 * makes them) in one read transaction.  Rows are found by their seq
 * range (ts_ms has no index): a binary search over seq for the day's
 * bounds, then scans of that range.  Incidents opened on the day are
 * followed into later days: an ack at 00:10 belongs to last night's
 * incident.  Plates and ids are not masked: this object is for staff;
 * report_markdown() masks.  NULL with err on failure.
 */
json_t *report_daily(sqlite3 *db, const struct config *, int32_t day, char *err,
    size_t errsize);

/* For a terminal: sections, aligned by display width (a Chinese
 * character is two columns).  malloc'd; NULL without memory. */
char *report_text(const json_t *);

/*
 * For the group robot: at most max_bytes (ROBOT_MARKDOWN_MAX), totals
 * first and details after, so that what does not fit is details,
 * summarised in one last line "… 另有 N 项未列出".  Plates masked as the
 * robot masks them.  Cut on UTF-8 boundaries.  malloc'd; NULL without
 * memory.
 */
char *report_markdown(const json_t *, size_t max_bytes);

#endif
