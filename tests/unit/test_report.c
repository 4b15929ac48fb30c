/* test_report.c - the daily report: a journal with the real schema
 * (journal_db.c's), known rows on the day and either side of it, and
 * the numbers, the text and the robot's markdown that come of them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config.h"
#include "incident.h"
#include "journal.h"
#include "journal_db.h"
#include "report.h"
#include "util.h"

#include "scratch.h"

#define DAY    20261123
#define MINUTE ((int64_t)60 * 1000)
#define H      (60 * MINUTE)
/* 2026-11-23T00:00:00+08:00 */
#define MIDNIGHT 1795363200000LL

struct fixture {
	struct journal_db *j;
	int64_t seq;
	sqlite3 *db;
	struct config cfg;
};

/* One row as the journal writes it: the columns, and a body with the
 * members the report reads (extra: more of them, as JSON). */
static void
put(struct fixture *f, int64_t ts, const char *kind, const char *device,
    const char *decision, const char *reason, const char *subject_type,
    const char *subject_id, const char *direction, const char *extra)
{
	struct journal_record r = {
		.kind = kind,
		.device = device,
		.decision = decision,
		.reason = reason,
		.subject_type = subject_type,
		.subject_id = subject_id,
		.household = strcmp(kind, "system") == 0 ? "5-2-301" : NULL,
		.direction = direction,
	};
	json_t *body = json_loads(extra ? extra : "{}", 0, NULL);
	char *text;

	assert_non_null(body);
	json_object_set_new(body, "kind", json_string(kind));
	if (device)
		json_object_set_new(body, "device", json_string(device));
	if (decision)
		json_object_set_new(body, "decision", json_string(decision));
	text = json_dumps(body, JSON_COMPACT);
	assert_int_equal(journal_db_insert(f->j, ++f->seq, &r, ts, text), 0);
	free(text);
	json_decref(body);
}

static void
incident(struct fixture *f, int64_t ts, const char *phase, int n,
    const char *type, const char *severity, const char *op)
{
	char extra[256];

	snprintf(extra, sizeof(extra),
	    "{\"phase\":\"%s\",\"incident\":%d,\"type\":\"%s\","
	    "\"severity\":\"%s\"%s%s%s}",
	    phase, n, type, severity, op ? ",\"operator\":\"" : "",
	    op ? op : "", op ? "\"" : "");
	put(f, ts, "incident", "barrier-south-in", phase, NULL, NULL, NULL,
	    NULL, extra);
}

static void
face(struct fixture *f, int64_t ts, const char *device, const char *dec,
    const char *reason, const char *who, const char *dir)
{
	put(f, ts, "access", device, dec, reason,
	    who[0] == 'V' ? "visitor" : "person", who, dir, NULL);
}

static void
plate(struct fixture *f, int64_t ts, const char *dec, const char *reason,
    const char *plate_, const char *visitor)
{
	char extra[128];

	snprintf(extra, sizeof(extra), "{\"plate\":\"%s\"}", plate_);
	put(f, ts, "vehicle", "barrier-south-in", dec, reason,
	    visitor ? "visitor" : "plate", visitor ? visitor : plate_, "in",
	    visitor ? extra : NULL);
}

/* The day's story; comments say what each row is counted as. */
static void
story(struct fixture *f)
{
	int64_t m = MIDNIGHT;

	/* The evening before and the next morning: not the day's. */
	face(f, m - 1, "gate-north", "allow", "group resident", "P1", "in");
	incident(f, m - H, "open", 3, "device_offline", "minor", NULL);

	face(f, m, "gate-north", "allow", "group resident", "P1", "in");
	face(f, m + 7 * H, "gate-north", "allow", "group resident", "P2", "in");
	face(f, m + 8 * H, "gate-north", "allow", "group resident", "P3", "in");
	face(f, m + 9 * H, "gate-north", "allow", "exit", "P3", "out");
	face(f, m + 9 * H, "gate-north", "deny", "unknown", "P9", "in");
	face(f, m + 9 * H, "gate-north", "deny", "expired", "P8", "in");
	face(f, m + 10 * H, "gate-north", "allow", "visitor", "V1", "in");
	face(f, m + 11 * H, "gate-north", "allow", "visitor", "V1", "in");
	/* The other day's incident #3 acked today: not today's. */
	incident(f, m + 1 * MINUTE, "ack", 3, "device_offline", "minor", "王");

	plate(f, m + 12 * H, "allow", "monthly plan", "吉A12345", NULL);
	plate(f, m + 12 * H + 1000, "allow", "repeat", "吉A12345", NULL);
	plate(f, m + 13 * H, "allow", "visitor", "吉A88888", "V2");
	plate(f, m + 14 * H, "deny", "unknown", "吉B11111", NULL);
	plate(f, m + 14 * H + 1, "deny", "unknown", "吉B11111", NULL);
	plate(f, m + 15 * H, "deny", "unknown", "吉C22222", NULL);
	plate(f, m + 15 * H, "deny", "denied", "吉B00000", NULL);
	put(f, m + 15 * H, "vehicle", "barrier-south-in", NULL, NULL, NULL,
	    NULL, "in", "{\"event\":\"tailgating\"}");
	put(f, m + 15 * H, "vehicle", "barrier-south-in", NULL, NULL, NULL,
	    NULL, "in", "{\"event\":\"passage\"}");

	/* #1: acked in 3 minutes, resolved in 20 (minor: 30). */
	incident(f, m + 10 * H, "open", 1, "vehicle_unknown", "minor", NULL);
	incident(f, m + 10 * H + 1 * MINUTE, "join", 1, "vehicle_unknown",
	    "minor", NULL);
	incident(f, m + 10 * H + 3 * MINUTE, "ack", 1, "vehicle_unknown",
	    "minor", "张三");
	incident(f, m + 10 * H + 20 * MINUTE, "resolve", 1, "vehicle_unknown",
	    "minor", "张三");
	/* #2: acked after 10 minutes, resolved the next night after 5
	 * hours (major: 4). */
	incident(f, m + 20 * H, "open", 2, "charger_fault", "major", NULL);
	incident(f, m + 20 * H + 10 * MINUTE, "realert", 2, "charger_fault",
	    "major", NULL);
	incident(f, m + 20 * H + 10 * MINUTE, "ack", 2, "charger_fault",
	    "major", "李四");
	incident(f, m + 20 * H + 11 * MINUTE, "ack", 2, "charger_fault",
	    "major", "王五");

	put(f, m + 16 * H, "charging", "charger-a", "start", NULL, NULL, NULL,
	    NULL, "{\"port\":3}");
	put(f, m + 17 * H, "charging", "charger-a", "end", "full", NULL, NULL,
	    NULL, "{\"port\":3,\"energy_wh\":640}");
	put(f, m + 17 * H, "charging", "charger-a", "end", "over_temperature",
	    NULL, NULL, NULL,
	    "{\"port\":1,\"energy_wh\":1360,\"temp_c\":72.4}");
	put(f, m + 18 * H, "charging", "charger-b", "end", "stopped", NULL,
	    NULL, NULL, "{\"port\":2,\"energy_wh\":1000}");
	put(f, m + 18 * H, "charging", "charger-b", "cut", "over_current", NULL,
	    NULL, NULL, "{\"port\":2,\"current_a\":40.5}");

	put(f, m + 12 * H, "device", "cam-1", "offline", "lwt", NULL, NULL,
	    NULL, NULL);
	put(f, m + 12 * H + 30 * MINUTE, "device", "cam-1", "online", "status",
	    NULL, NULL, NULL, NULL);
	put(f, m + 23 * H, "device", "lpr-1", "offline", "lwt", NULL, NULL,
	    NULL, NULL);

	put(f, m + 19 * H, "system", "gateway", "care", NULL, "person", "P7",
	    NULL, "{\"minutes\":1500}");
	put(f, m + 21 * H, "system", "gateway", "care_end", NULL, "person",
	    "P7", NULL, NULL);

	/* The next day. */
	face(f, m + 24 * H, "gate-north", "allow", "group resident", "P1",
	    "in");
	incident(f, m + 25 * H, "resolve", 2, "charger_fault", "major", "李四");
}

static int
setup(void **state)
{
	static struct fixture f;
	char err[256];
	int rc;

	memset(&f, 0, sizeof(f));
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	assert_int_equal(scratch_enter("test_report"), 0);
	f.j = journal_db_open("journal.db", false, &rc, err, sizeof(err));
	assert_non_null(f.j);
	f.cfg.site = "jinding-5";
	f.cfg.name = "金鼎5栋楼";
	incident_defaults(&f.cfg.incidents);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	sqlite3_close(f->db);
	journal_db_close(f->j, false);
	return scratch_leave();
}

static json_t *
report(struct fixture *f, int32_t day)
{
	char err[256];
	json_t *r;

	if (f->db == NULL)
		assert_int_equal(sqlite3_open_v2("journal.db", &f->db,
		                     SQLITE_OPEN_READONLY, NULL),
		    SQLITE_OK);
	r = report_daily(f->db, &f->cfg, day, err, sizeof(err));
	if (r == NULL)
		fail_msg("%s", err);
	return r;
}

static json_int_t
at(const json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.')) != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	o = json_object_get(o, path);
	if (o == NULL)
		fail_msg("no %s", path);
	return json_integer_value(o);
}

static const json_t *
find(const json_t *a, const char *device)
{
	size_t i;
	const json_t *o;

	json_array_foreach(a, i,
	    o) if (strcmp(json_string_value(json_object_get(o, "device")),
	               device) == 0) return o;
	fail_msg("no %s", device);
	return NULL;
}

static void
test_days(void **state)
{
	int64_t from, to;

	(void)state;
	assert_int_equal(report_day_bounds(DAY, &from, &to), 0);
	assert_int_equal(from, MIDNIGHT);
	assert_int_equal(to, MIDNIGHT + 24 * H);
	assert_int_equal(report_day_bounds(20260231, &from, &to), -1);
	assert_int_equal(report_day_of(MIDNIGHT), DAY);
	assert_int_equal(report_day_of(MIDNIGHT - 1), 20261122);
	assert_int_equal(report_day_before(20260301), 20260228);
	assert_int_equal(report_day_before(20270101), 20261231);
}

static void
test_numbers(void **state)
{
	struct fixture *f = *state;
	json_t *r, *inc, *v;
	const json_t *o;

	assert_int_equal(journal_db_begin(f->j), 0);
	story(f);
	assert_int_equal(journal_db_commit(f->j), 0);
	r = report(f, DAY);

	assert_string_equal(json_string_value(json_object_get(r, "date")),
	    "2026-11-23");
	/* Every row but the two of the day before and the two after. */
	assert_int_equal(at(r, "events"), (json_int_t)f->seq - 4);

	o = find(json_object_get(r, "passages"), "gate-north");
	assert_int_equal(at(o, "in"), 5); /* P1 P2 P3 and V1 twice */
	assert_int_equal(at(o, "out"), 1);
	assert_int_equal(at(o, "refused"), 2);
	o = find(json_object_get(r, "passages"), "barrier-south-in");
	assert_int_equal(at(o, "in"), 2); /* the repeat read is not a car */
	assert_int_equal(at(o, "refused"), 4);

	assert_int_equal(at(r, "visitors.entries"), 3);
	assert_int_equal(at(r, "visitors.visitors"), 2);
	assert_int_equal(at(r, "visitors.car_entries"), 1);
	v = json_object_get(json_object_get(r, "visitors"), "cars");
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(json_string_value(json_array_get(v, 0)),
	    "吉A88888");

	assert_int_equal(at(r, "vehicles.unknown"), 2);
	assert_int_equal(at(r, "vehicles.unknown_refused"), 3);
	assert_int_equal(at(r, "vehicles.tailgating"), 1);
	assert_int_equal(at(r, "vehicles.refused_by_reason.denied"), 1);
	v = json_object_get(json_object_get(r, "vehicles"), "unknown_plates");
	assert_string_equal(json_string_value(
	                        json_object_get(json_array_get(v, 0), "plate")),
	    "吉B11111");

	inc = json_object_get(r, "incidents");
	assert_int_equal(at(inc, "opened"), 2);
	assert_int_equal(at(inc, "acked"), 2);
	assert_int_equal(at(inc, "acked_in_time"), 1);
	assert_int_equal(at(inc, "resolved"), 2);
	assert_int_equal(at(inc, "resolved_in_time"), 1);
	assert_int_equal(at(inc, "slowest_ack.incident"), 2);
	assert_int_equal(at(inc, "slowest_ack.ms"), 10 * MINUTE);
	assert_int_equal(at(inc, "slowest_resolve.incident"), 2);
	assert_int_equal(at(inc, "slowest_resolve.ms"), 5 * H);
	o = json_array_get(json_object_get(inc, "list"), 0);
	assert_int_equal(at(o, "incident"), 1);
	assert_int_equal(at(o, "ack_ms"), 3 * MINUTE);
	assert_int_equal(at(o, "joined"), 1);
	o = json_array_get(json_object_get(inc, "list"), 1);
	/* The first ack is the one that counts. */
	assert_string_equal(json_string_value(json_object_get(o, "acked_by")),
	    "李四");

	assert_int_equal(at(r, "charging.sessions"), 3);
	assert_true(
	    json_real_value(
	        json_object_get(json_object_get(r, "charging"), "kwh")) == 3.0);
	o = find(json_object_get(json_object_get(r, "charging"), "stations"),
	    "charger-a");
	assert_int_equal(at(o, "sessions"), 2);
	assert_true(json_real_value(json_object_get(o, "kwh")) == 2.0);
	v = json_object_get(json_object_get(r, "charging"), "cutoffs");
	assert_int_equal(json_array_size(v), 2);
	assert_int_equal(at(json_array_get(v, 1), "port"), 2);
	assert_string_equal(json_string_value(
	                        json_object_get(json_array_get(v, 1),
	                            "reason")),
	    "over_current");

	o = find(json_object_get(r, "offline"), "cam-1");
	assert_int_equal(at(o, "times"), 1);
	assert_int_equal(at(o, "offline_s"), 30 * 60);
	o = find(json_object_get(r, "offline"), "lpr-1");
	assert_int_equal(at(o, "offline_s"), 3600);
	assert_true(json_is_true(json_object_get(o, "still_offline")));

	assert_int_equal(at(r, "care.alerts"), 1);
	assert_int_equal(at(r, "care.ended"), 1);
	json_decref(r);

	/* A day with nothing: zeros, not errors. */
	r = report(f, 20261201);
	assert_int_equal(at(r, "events"), 0);
	assert_int_equal(at(r, "incidents.opened"), 0);
	json_decref(r);
}

static void
test_text_and_markdown(void **state)
{
	struct fixture *f = *state;
	json_t *r;
	char *text, *md, *line, *row;

	assert_int_equal(journal_db_begin(f->j), 0);
	story(f);
	assert_int_equal(journal_db_commit(f->j), 0);
	r = report(f, DAY);

	text = report_text(r);
	if (getenv("REPORT_PRINT"))
		fputs(text, stdout);
	assert_non_null(text);
	assert_non_null(strstr(text, "吉B11111"));
	/* Columns line up: the barrier's count of entries under IN. */
	line = strstr(text, "  DEVICE");
	row = strstr(text, "  barrier-south-in");
	assert_non_null(line);
	assert_non_null(row);
	assert_int_equal(row[strstr(line, " IN ") + 1 - line], '2');
	free(text);

	md = report_markdown(r, 4096);
	if (getenv("REPORT_PRINT"))
		puts(md);
	assert_non_null(md);
	assert_true(strlen(md) <= 4096);
	assert_true(utf8_valid(md, strlen(md)));
	assert_null(strstr(md, "吉B11111")); /* masked for the group */
	assert_non_null(strstr(md, "`吉B***11`"));
	assert_non_null(strstr(md, "事件 2 起"));
	assert_null(strstr(md, "另有"));
	free(md);

	/* Too little room: totals stay, details go, and are counted. */
	md = report_markdown(r, 700);
	assert_non_null(md);
	assert_true(strlen(md) <= 700);
	assert_true(utf8_valid(md, strlen(md)));
	assert_non_null(strstr(md, "> 关怀提醒"));
	assert_non_null(strstr(md, "项未列出"));
	free(md);
	json_decref(r);
}

/* A big journal: the day is found by its seq bounds, not a scan of
 * every row (the time goes to make bench; this checks the numbers). */
static void
test_large(void **state)
{
	struct fixture *f = *state;
	json_t *r;
	int64_t i, n = 30000, t;

	/* REPORT_ROWS=100000 REPORT_PRINT=1: how long a busy day takes. */
	if (getenv("REPORT_ROWS") != NULL)
		n = strtoll(getenv("REPORT_ROWS"), NULL, 10) / 10 * 10;

	assert_int_equal(journal_db_begin(f->j), 0);
	for (i = 0; i < 3 * n; i++)
		face(f, MIDNIGHT - 24 * H + i * (3 * 24 * H / (3 * n)),
		    "gate-north", i % 10 ? "allow" : "deny", "group resident",
		    "P1", "in");
	assert_int_equal(journal_db_commit(f->j), 0);
	t = (int64_t)mono_ms();
	r = report(f, DAY);
	if (getenv("REPORT_PRINT"))
		printf("%lld rows a day, %lld in all: %lld ms\n", (long long)n,
		    (long long)(3 * n), (long long)((int64_t)mono_ms() - t));
	assert_int_equal(at(r, "events"), n);
	assert_int_equal(at(find(json_object_get(r, "passages"), "gate-north"),
	                     "refused"),
	    n / 10);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_days),
		cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text_and_markdown, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_large, setup, teardown),
	};

	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
