/*
 * report.c - the daily report: one local day of the journal counted
 * into a JSON object (report_daily), and that object said to a terminal
 * (report_text) and to the group robot (report_markdown).  It reads the
 * journal and nothing else; sending is report_live.c's.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "alert.h"
#include "config.h"
#include "datetime.h"
#include "journal_query.h"
#include "mask.h"
#include "report.h"
#include "robot.h"
#include "util.h"

#define MIN_MS 60000.0
/* Plates listed by name; more are counted only. */
#define PLATES_MAX 20

/* ---- days ---- */

int
report_day_bounds(int32_t day, int64_t *from_ms, int64_t *to_ms)
{
	struct tm a = { 0 }, b;
	time_t ta, tb;

	if (day < 19700101 || day > 99991231)
		return -1;
	a.tm_year = day / 10000 - 1900;
	a.tm_mon = day / 100 % 100 - 1;
	a.tm_mday = day % 100;
	a.tm_isdst = -1;
	b = a;
	b.tm_mday++;
	ta = mktime(&a);
	/* mktime normalises 31 February into March: no such day. */
	if (ta == (time_t)-1 || a.tm_mday != day % 100 ||
	    a.tm_mon != day / 100 % 100 - 1)
		return -1;
	tb = mktime(&b);
	if (tb == (time_t)-1)
		return -1;
	*from_ms = (int64_t)ta * 1000;
	*to_ms = (int64_t)tb * 1000;
	return 0;
}

int32_t
report_day_of(int64_t t_ms)
{
	time_t t = (time_t)(t_ms / 1000);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

int32_t
report_day_before(int32_t day)
{
	int64_t from, to;

	if (report_day_bounds(day, &from, &to) < 0)
		return 0;
	/* Noon of the day before: never a clock change's hour. */
	return report_day_of(from - 12 * 3600 * 1000);
}

/* ---- reading ---- */

struct reader {
	sqlite3 *db;
	int64_t lo, hi;   /* seq in [lo, hi) */
	int64_t from, to; /* ts_ms in [from, to) */
	char *err;
	size_t errsize;
	int failed;
};

static int
fail(struct reader *r, const char *what)
{
	if (!r->failed)
		snprintf(r->err, r->errsize, "journal: %s: %s", what,
		    sqlite3_errmsg(r->db));
	r->failed = 1;
	return -1;
}

/* A statement over the day's rows: ?1 ?2 the seq range, ?3 ?4 the
 * times (a row made while the clock was wrong can sit inside the seq
 * range with another day's time). */
static sqlite3_stmt *
prepare(struct reader *r, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (r->failed)
		return NULL;
	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fail(r, "prepare");
		sqlite3_finalize(st);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, r->lo);
	sqlite3_bind_int64(st, 2, r->hi);
	sqlite3_bind_int64(st, 3, r->from);
	sqlite3_bind_int64(st, 4, r->to);
	return st;
}

#define RANGE " seq >= ?1 AND seq < ?2 AND ts_ms >= ?3 AND ts_ms < ?4 "

/* SQLITE_ROW, or 0 at the end or on failure (noted). */
static int
next(struct reader *r, sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return rc;
	if (rc != SQLITE_DONE)
		fail(r, "read");
	return 0;
}

static const char *
col(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s != NULL ? s : "";
}

/* The day's seqs, [lo, hi), by the journal's times. */
static int
bounds(struct reader *r)
{
	int64_t first, last;

	if (journal_query_bounds(r->db, &first, &last) < 0 ||
	    journal_query_seq_at(r->db, r->from, first, last + 1, &r->lo) < 0 ||
	    journal_query_seq_at(r->db, r->to, r->lo, last + 1, &r->hi) < 0)
		return fail(r, "find the day");
	return 0;
}

/* ---- counting ---- */

static json_t *
time_json(int64_t ms)
{
	char ts[40];

	datetime_format_rfc3339(ms, ts, sizeof(ts));
	return json_string(ts);
}

/* The object in array a whose key is value, made when missing. */
static json_t *
entry(json_t *a, const char *key, const char *value)
{
	size_t i;
	json_t *o;

	json_array_foreach(a, i,
	    o) if (strcmp(json_string_value(json_object_get(o, key)), value) ==
	    0) return o;
	o = json_pack("{s:s}", key, value);
	json_array_append_new(a, o);
	return o;
}

static void
add(json_t *o, const char *key, json_int_t n)
{
	json_object_set_new(o, key,
	    json_integer(json_integer_value(json_object_get(o, key)) + n));
}

/* Entries and refusals per gate and barrier; a plate read again at the
 * barrier (reason repeat) is the same car, not another. */
static json_t *
passages(struct reader *r, json_int_t *events)
{
	sqlite3_stmt *st;
	json_t *a = json_array(), *o;
	const char *decision;
	size_t k;

	st = prepare(r,
	    "SELECT device, kind, decision, direction, count(*) FROM events"
	    " WHERE" RANGE "AND kind IN ('access', 'vehicle')"
	    " AND decision IN ('allow', 'deny')"
	    " AND reason IS NOT 'repeat'"
	    " GROUP BY device, kind, decision, direction ORDER BY device");
	while (next(r, st) == SQLITE_ROW) {
		o = entry(a, "device", col(st, 0));
		json_object_set_new(o, "kind",
		    json_string(strcmp(col(st, 1), "access") == 0 ? "gate" :
		                                                    "barrier"));
		decision = col(st, 2);
		if (strcmp(decision, "deny") == 0)
			add(o, "refused", sqlite3_column_int64(st, 4));
		else if (strcmp(col(st, 3), "out") == 0)
			add(o, "out", sqlite3_column_int64(st, 4));
		else
			add(o, "in", sqlite3_column_int64(st, 4));
	}
	sqlite3_finalize(st);
	json_array_foreach(a, k, o)
	{
		add(o, "in", 0);
		add(o, "out", 0);
		add(o, "refused", 0);
	}
	st = prepare(r, "SELECT count(*) FROM events WHERE" RANGE);
	*events = next(r, st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return a;
}

/* Visitors who came in, on foot or by car, and their cars. */
static json_t *
visitors(struct reader *r)
{
	sqlite3_stmt *st;
	json_t *o = json_object(), *cars = json_array();

	st = prepare(r,
	    "SELECT count(*), count(DISTINCT subject_id),"
	    " count(*) FILTER (WHERE kind = 'vehicle') FROM events"
	    " WHERE" RANGE "AND kind IN ('access', 'vehicle')"
	    " AND subject_type = 'visitor' AND decision = 'allow'"
	    " AND direction = 'in' AND reason IS NOT 'repeat'");
	if (next(r, st) == SQLITE_ROW) {
		add(o, "entries", sqlite3_column_int64(st, 0));
		add(o, "visitors", sqlite3_column_int64(st, 1));
		add(o, "car_entries", sqlite3_column_int64(st, 2));
	}
	sqlite3_finalize(st);
	st = prepare(r,
	    "SELECT DISTINCT json_extract(body, '$.plate') FROM events"
	    " WHERE" RANGE "AND kind = 'vehicle' AND subject_type = 'visitor'"
	    " AND decision = 'allow' AND direction = 'in'"
	    " AND json_extract(body, '$.plate') IS NOT NULL ORDER BY 1");
	while (next(r, st) == SQLITE_ROW)
		json_array_append_new(cars, json_string(col(st, 0)));
	sqlite3_finalize(st);
	json_object_set_new(o, "cars", cars);
	return o;
}

/* Plates nobody registered, refused coming in; and other refusals of
 * cars (blocked, expired) counted by why. */
static json_t *
vehicles(struct reader *r)
{
	sqlite3_stmt *st;
	json_t *o = json_object(), *plates = json_array(), *why = json_object();
	json_int_t reads = 0, n = 0;

	st = prepare(r,
	    "SELECT subject_id, count(*) FROM events WHERE" RANGE
	    "AND kind = 'vehicle' AND decision = 'deny' AND reason = 'unknown'"
	    " GROUP BY subject_id ORDER BY count(*) DESC, subject_id");
	while (next(r, st) == SQLITE_ROW) {
		reads += sqlite3_column_int64(st, 1);
		if (n++ < PLATES_MAX)
			json_array_append_new(plates,
			    json_pack("{s:s,s:I}", "plate", col(st, 0),
			        "refused", sqlite3_column_int64(st, 1)));
	}
	sqlite3_finalize(st);
	json_object_set_new(o, "unknown", json_integer(n));
	json_object_set_new(o, "unknown_refused", json_integer(reads));
	json_object_set_new(o, "unknown_plates", plates);
	st = prepare(r,
	    "SELECT reason, count(*) FROM events WHERE" RANGE
	    "AND kind = 'vehicle' AND decision = 'deny'"
	    " AND reason IS NOT 'unknown' AND reason IS NOT 'repeat'"
	    " GROUP BY reason ORDER BY reason");
	while (next(r, st) == SQLITE_ROW)
		json_object_set_new(why, col(st, 0),
		    json_integer(sqlite3_column_int64(st, 1)));
	sqlite3_finalize(st);
	json_object_set_new(o, "refused_by_reason", why);
	/* A passage or a tailgating is a vehicle record with no decision. */
	st = prepare(r,
	    "SELECT count(*) FROM events WHERE" RANGE
	    "AND kind = 'vehicle' AND decision IS NULL"
	    " AND json_extract(body, '$.event') = 'tailgating'");
	json_object_set_new(o, "tailgating",
	    json_integer(
	        next(r, st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0));
	sqlite3_finalize(st);
	return o;
}

static double
resolve_min(const struct incident_settings *s, const char *severity)
{
	if (strcmp(severity, "minor") == 0)
		return s->minor_min;
	if (strcmp(severity, "complex") == 0)
		return s->complex_min;
	return s->major_min; /* major, and urgent: incident.c's rule */
}

static void
slowest(json_t *o, const char *key, json_int_t n, int64_t ms)
{
	json_t *was = json_object_get(o, key);

	if (was == NULL || ms > json_integer_value(json_object_get(was, "ms")))
		json_object_set_new(o, key,
		    json_pack("{s:I,s:I}", "incident", n, "ms",
		        (json_int_t)ms));
}

/*
 * Incidents opened on the day, each followed to its first ack and its
 * resolve whenever they came (the incident index makes that a walk of
 * incident rows only), against the 5341 deadlines as configured now.
 */
static json_t *
incidents(struct reader *r, const struct incident_settings *s)
{
	sqlite3_stmt *st;
	json_t *o, *list = json_array(), *i;
	json_int_t n, opened = 0, acked = 0, acked_in = 0, resolved = 0,
	              resolved_in = 0;
	int64_t ts, open_ms, ms;
	const char *phase;
	size_t k;

	o = json_pack("{s:f}", "ack_min", s->ack_min);
	st = prepare(r,
	    "SELECT ts_ms, decision, device, json_extract(body, '$.incident'),"
	    " json_extract(body, '$.type'), json_extract(body, '$.severity'),"
	    " json_extract(body, '$.operator'), seq < ?2 AND ts_ms >= ?3"
	    " AND ts_ms < ?4 FROM events WHERE kind = 'incident'"
	    " AND seq >= ?1 ORDER BY seq");
	while (next(r, st) == SQLITE_ROW) {
		ts = sqlite3_column_int64(st, 0);
		phase = col(st, 1);
		n = sqlite3_column_int64(st, 3);
		if (n <= 0)
			continue; /* untracked (a full table): no steps */
		if (strcmp(phase, "open") == 0) {
			if (!sqlite3_column_int(st, 7))
				continue;
			i = json_pack("{s:I,s:s,s:s,s:s,s:o,s:I,s:f}",
			    "incident", n, "type", col(st, 4), "device",
			    col(st, 2), "severity", col(st, 5), "opened",
			    time_json(ts), "opened_ms", (json_int_t)ts,
			    "deadline_min", resolve_min(s, col(st, 5)));
			json_array_append_new(list, i);
			opened++;
			continue;
		}
		i = NULL;
		json_array_foreach(list, k,
		    i) if (json_integer_value(json_object_get(i, "incident")) ==
		    n) break;
		if (k == json_array_size(list))
			continue; /* another day's incident */
		open_ms = json_integer_value(json_object_get(i, "opened_ms"));
		ms = ts - open_ms;
		if (strcmp(phase, "ack") == 0 &&
		    json_object_get(i, "ack_ms") == NULL) {
			json_object_set_new(i, "ack_ms", json_integer(ms));
			json_object_set_new(i, "acked_by",
			    json_string(col(st, 6)));
			acked++;
			acked_in += ms <= llround(s->ack_min * MIN_MS);
			slowest(o, "slowest_ack", n, ms);
		} else if (strcmp(phase, "resolve") == 0 &&
		    json_object_get(i, "resolve_ms") == NULL) {
			json_object_set_new(i, "resolve_ms", json_integer(ms));
			json_object_set_new(i, "resolved_by",
			    json_string(col(st, 6)));
			resolved++;
			resolved_in += ms <=
			    llround(json_real_value(
			                json_object_get(i, "deadline_min")) *
			        MIN_MS);
			slowest(o, "slowest_resolve", n, ms);
		} else if (strcmp(phase, "join") == 0) {
			add(i, "joined", 1);
		}
	}
	sqlite3_finalize(st);
	json_array_foreach(list, k, i) json_object_del(i, "opened_ms");
	json_object_set_new(o, "opened", json_integer(opened));
	json_object_set_new(o, "acked", json_integer(acked));
	json_object_set_new(o, "acked_in_time", json_integer(acked_in));
	json_object_set_new(o, "resolved", json_integer(resolved));
	json_object_set_new(o, "resolved_in_time", json_integer(resolved_in));
	json_object_set_new(o, "list", list);
	return o;
}

/* Sessions ended on the day and their energy, per charger; and the
 * ports cut off for heat or current. */
static json_t *
charging(struct reader *r)
{
	sqlite3_stmt *st;
	json_t *o = json_object(), *stations = json_array(),
	       *cuts = json_array();
	json_t *c;
	json_int_t sessions = 0;
	double wh = 0;

	st = prepare(r,
	    "SELECT device, count(*), total(json_extract(body, '$.energy_wh'))"
	    " FROM events WHERE" RANGE "AND kind = 'charging'"
	    " AND decision = 'end' GROUP BY device ORDER BY device");
	while (next(r, st) == SQLITE_ROW) {
		sessions += sqlite3_column_int64(st, 1);
		wh += sqlite3_column_double(st, 2);
		json_array_append_new(stations,
		    json_pack("{s:s,s:I,s:f}", "device", col(st, 0), "sessions",
		        sqlite3_column_int64(st, 1), "kwh",
		        round(sqlite3_column_double(st, 2)) / 1000));
	}
	sqlite3_finalize(st);
	st = prepare(r,
	    "SELECT ts_ms, device, json_extract(body, '$.port'), reason,"
	    " coalesce(json_extract(body, '$.temp_c'),"
	    " json_extract(body, '$.current_a')) FROM events WHERE" RANGE
	    "AND kind = 'charging' AND decision IN ('end', 'cut')"
	    " AND reason IN ('over_temperature', 'over_current') ORDER BY seq");
	while (next(r, st) == SQLITE_ROW) {
		c = json_pack("{s:o,s:s,s:I,s:s}", "at",
		    time_json(sqlite3_column_int64(st, 0)), "device",
		    col(st, 1), "port", sqlite3_column_int64(st, 2), "reason",
		    col(st, 3));
		/* The reading that cut it: temp_c or current_a. */
		json_object_set_new(c,
		    strcmp(col(st, 3), "over_temperature") == 0 ? "temp_c" :
		                                                  "current_a",
		    json_real(sqlite3_column_double(st, 4)));
		json_array_append_new(cuts, c);
	}
	sqlite3_finalize(st);
	json_object_set_new(o, "sessions", json_integer(sessions));
	json_object_set_new(o, "kwh", json_real(round(wh) / 1000));
	json_object_set_new(o, "stations", stations);
	json_object_set_new(o, "cutoffs", cuts);
	return o;
}

/*
 * Devices that went offline on the day, how often and for how long
 * within the day (until they came back, or midnight).  A device
 * already offline at midnight is not seen: finding it would take a
 * scan of every earlier day.
 */
static json_t *
offline(struct reader *r)
{
	sqlite3_stmt *st;
	json_t *a = json_array(), *d;
	int64_t ts, since;
	size_t k;

	st = prepare(r,
	    "SELECT ts_ms, device, decision FROM events WHERE" RANGE
	    "AND kind = 'device' AND decision IN ('online', 'offline')"
	    " AND device IS NOT NULL ORDER BY seq");
	while (next(r, st) == SQLITE_ROW) {
		ts = sqlite3_column_int64(st, 0);
		if (strcmp(col(st, 2), "offline") == 0) {
			d = entry(a, "device", col(st, 1));
			if (json_object_get(d, "since_ms") != NULL)
				continue; /* offline twice: the first counts */
			add(d, "times", 1);
			json_object_set_new(d, "since_ms", json_integer(ts));
			continue;
		}
		d = NULL;
		json_array_foreach(a, k,
		    d) if (strcmp(json_string_value(json_object_get(d,
		                      "device")),
		               col(st, 1)) == 0) break;
		if (k == json_array_size(a) ||
		    json_object_get(d, "since_ms") == NULL)
			continue;
		since = json_integer_value(json_object_get(d, "since_ms"));
		add(d, "offline_s", (ts - since) / 1000);
		json_object_del(d, "since_ms");
	}
	sqlite3_finalize(st);
	json_array_foreach(a, k, d)
	{
		json_object_set_new(d, "still_offline",
		    json_boolean(json_object_get(d, "since_ms") != NULL));
		if (json_object_get(d, "since_ms") != NULL) {
			since =
			    json_integer_value(json_object_get(d, "since_ms"));
			add(d, "offline_s", (r->to - since) / 1000);
			json_object_del(d, "since_ms");
		}
		add(d, "offline_s", 0);
	}
	return a;
}

/* Wellbeing checks raised and ended (care.c's records). */
static json_t *
care(struct reader *r)
{
	sqlite3_stmt *st;
	json_t *o = json_pack("{s:i,s:i}", "alerts", 0, "ended", 0);
	json_t *households = json_array();

	st = prepare(r,
	    "SELECT decision, household FROM events WHERE" RANGE
	    "AND kind = 'system' AND decision IN ('care', 'care_end')"
	    " ORDER BY seq");
	while (next(r, st) == SQLITE_ROW) {
		if (strcmp(col(st, 0), "care") == 0) {
			add(o, "alerts", 1);
			json_array_append_new(households,
			    json_string(col(st, 1)));
		} else {
			add(o, "ended", 1);
		}
	}
	sqlite3_finalize(st);
	json_object_set_new(o, "households", households);
	return o;
}

json_t *
report_daily(sqlite3 *db, const struct config *cfg, int32_t day, char *err,
    size_t errsize)
{
	struct reader r = { .db = db, .err = err, .errsize = errsize };
	json_t *o = NULL;
	json_int_t events = 0;
	char date[16];

	if (report_day_bounds(day, &r.from, &r.to) < 0) {
		snprintf(err, errsize, "%08d: no such day", (int)day);
		return NULL;
	}
	/* One snapshot: the writer goes on, the numbers agree. */
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		fail(&r, "begin");
		return NULL;
	}
	if (bounds(&r) == 0) {
		snprintf(date, sizeof(date), "%04d-%02d-%02d",
		    (int)(day / 10000), (int)(day / 100 % 100),
		    (int)(day % 100));
		o = json_pack("{s:s,s:s,s:s,s:o,s:o}", "site", cfg->site,
		    "name", cfg->name ? cfg->name : "", "date", date, "from",
		    time_json(r.from), "until", time_json(r.to));
		json_object_set_new(o, "passages", passages(&r, &events));
		json_object_set_new(o, "events", json_integer(events));
		json_object_set_new(o, "visitors", visitors(&r));
		json_object_set_new(o, "vehicles", vehicles(&r));
		json_object_set_new(o, "incidents",
		    incidents(&r, &cfg->incidents));
		json_object_set_new(o, "charging", charging(&r));
		json_object_set_new(o, "offline", offline(&r));
		json_object_set_new(o, "care", care(&r));
	}
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (r.failed) {
		json_decref(o);
		return NULL;
	}
	return o;
}
