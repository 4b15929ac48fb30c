/*
 * journal_query.c - read-only questions of journal.db for its readers.
 */
#include <stddef.h>

#include "journal_query.h"

static int
one_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Two queries: SQLite reads min() or max() alone off the primary key,
 * but scans the whole table for both in one. */
int
journal_query_bounds(sqlite3 *db, int64_t *first, int64_t *last)
{
	if (one_int(db, "SELECT coalesce(min(seq), 0) FROM events", first) < 0)
		return -1;
	return journal_query_last(db, last);
}

int
journal_query_last(sqlite3 *db, int64_t *last)
{
	return one_int(db, "SELECT coalesce(max(seq), 0) FROM events", last);
}

int
journal_query_seq_at(sqlite3 *db, int64_t ms, int64_t lo, int64_t hi,
    int64_t *out)
{
	sqlite3_stmt *st;
	int64_t mid, seq;
	int rc = SQLITE_OK;

	if (sqlite3_prepare_v2(db,
	        "SELECT seq, ts_ms FROM events WHERE seq >= ?"
	        " ORDER BY seq LIMIT 1",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, mid);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			hi = mid; /* nothing from mid on */
			continue;
		}
		if (rc != SQLITE_ROW)
			break;
		seq = sqlite3_column_int64(st, 0);
		if (sqlite3_column_int64(st, 1) >= ms)
			hi = seq;
		else
			lo = seq + 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK && rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	*out = lo;
	return 0;
}
