/*
 * journal_query.h - read-only questions of journal.db that its readers
 * (gatewayctl events, the daily report) share: a connection of their
 * own, never gatewayd's writer.
 */
#ifndef JOURNAL_QUERY_H
#define JOURNAL_QUERY_H

#include <stdint.h>

#include <sqlite3.h>

/* The first and last seq, 0 and 0 when empty: 0, or -1. */
int journal_query_bounds(sqlite3 *, int64_t *first, int64_t *last);
/* The last seq (0: empty): 0, or -1. */
int journal_query_last(sqlite3 *, int64_t *last);
/*
 * The first seq in [lo, hi) whose row's ts_ms is at least ms (hi when
 * none): seq and ts_ms grow together, so a binary search over seq finds
 * it in some forty probes of the primary key instead of a scan of
 * ts_ms, which has no index.  Rows made while the clock was wrong only
 * blur a bound by their few rows: scans check each row's time besides.
 * 0, or -1.
 */
int journal_query_seq_at(sqlite3 *, int64_t ms, int64_t lo, int64_t hi,
    int64_t *out);

#endif
