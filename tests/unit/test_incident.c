/* test_incident.c - incidents and the 5341 rule: open, join, ack,
 * resolve, re-alert, escalate, restore, the retained state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "alert.h"
#include "incident.h"

#define MIN ((int64_t)60 * 1000)
#define T0  1795413600000LL /* 2026-11-23T14:00:00+08:00 */

struct step {
	unsigned n;
	char phase[16];
	bool ring;
	int64_t at;
};

struct steps {
	struct step s[32];
	size_t n;
	int64_t now;
};

static void
record_step(void *arg, const struct incident *i, const char *phase, bool ring)
{
	struct steps *st = arg;

	assert_true(st->n < 32);
	st->s[st->n].n = i->n;
	snprintf(st->s[st->n].phase, sizeof(st->s[st->n].phase), "%s", phase);
	st->s[st->n].ring = ring;
	st->s[st->n].at = st->now;
	st->n++;
}

static size_t
due(struct incident_table *t, struct steps *st, int64_t now)
{
	st->now = now;
	return incident_due(t, now, record_step, st);
}

static struct incident_table *
table(size_t cap, double ack_min)
{
	struct incident_settings s;
	struct incident_table *t;

	incident_defaults(&s);
	s.ack_min = ack_min;
	t = incident_table_new(cap, &s);
	assert_non_null(t);
	return t;
}

static void
test_defaults(void **state)
{
	struct incident_settings s;

	(void)state;
	incident_defaults(&s);
	assert_true(s.ack_min == 5 && s.minor_min == 30 && s.major_min == 240 &&
	    s.complex_min == 1440);
	assert_null(incident_table_new(0, &s));
	incident_table_free(NULL);
}

static void
test_open_join(void **state)
{
	struct incident_table *t = table(8, 5);
	struct incident_outcome o;

	(void)state;
	o = incident_alert(t, "vehicle_unknown", "barrier-south-in",
	    ALERT_MINOR, T0);
	assert_int_equal(o.what, INCIDENT_OPENED);
	assert_int_equal(o.incident->n, 1);
	assert_false(o.ring); /* the first message of a minor rings nobody */
	assert_int_equal(o.incident->state, INCIDENT_OPEN);
	assert_int_equal(o.incident->events, 1);
	assert_int_equal(o.incident->opened_ms, T0);
	assert_int_equal(o.incident->due_ms, T0 + 5 * MIN);

	/* Same type, same device: a count, not a new incident. */
	o = incident_alert(t, "vehicle_unknown", "barrier-south-in",
	    ALERT_MINOR, T0 + MIN);
	assert_int_equal(o.what, INCIDENT_JOINED);
	assert_int_equal(o.incident->n, 1);
	assert_false(o.ring);
	assert_int_equal(o.incident->events, 2);
	/* A join moves no deadline. */
	assert_int_equal(o.incident->due_ms, T0 + 5 * MIN);

	/* Another device, another type: new incidents. */
	o = incident_alert(t, "vehicle_unknown", "barrier-north-in",
	    ALERT_MINOR, T0 + MIN);
	assert_int_equal(o.what, INCIDENT_OPENED);
	assert_int_equal(o.incident->n, 2);
	o = incident_alert(t, "tailgating", "barrier-south-in", ALERT_MAJOR,
	    T0 + MIN);
	assert_int_equal(o.what, INCIDENT_OPENED);
	assert_int_equal(o.incident->n, 3);

	/* severity none: no incident, no number spent. */
	o = incident_alert(t, "crowd", "cam-1", ALERT_NONE, T0);
	assert_int_equal(o.what, INCIDENT_IGNORED);
	assert_null(o.incident);
	assert_int_equal(incident_next_number(t), 4);
	incident_table_free(t);
}

static void
test_join_acked_not_resolved(void **state)
{
	struct incident_table *t = table(8, 5);
	struct incident_outcome o;
	const char *err = NULL;

	(void)state;
	incident_alert(t, "charger_fault", "charger-a", ALERT_MAJOR, T0);
	assert_int_equal(incident_ack(t, 1, "王师傅", T0 + MIN, &err), 0);
	/* Acked is still open for joins. */
	o = incident_alert(t, "charger_fault", "charger-a", ALERT_MAJOR,
	    T0 + 2 * MIN);
	assert_int_equal(o.what, INCIDENT_JOINED);
	assert_int_equal(o.incident->n, 1);
	assert_int_equal(o.incident->events, 2);

	assert_int_equal(incident_resolve(t, 1, "王师傅", T0 + 3 * MIN, &err),
	    0);
	/* A resolved incident never takes a join: a repeat opens anew. */
	o = incident_alert(t, "charger_fault", "charger-a", ALERT_MAJOR,
	    T0 + 4 * MIN);
	assert_int_equal(o.what, INCIDENT_OPENED);
	assert_int_equal(o.incident->n, 2);
	assert_int_equal(o.incident->events, 1);
	assert_int_equal(incident_find(t, 1)->events, 2);
	assert_int_equal(incident_find(t, 1)->state, INCIDENT_RESOLVED);
	incident_table_free(t);
}

static void
test_ack_resolve_errors(void **state)
{
	struct incident_table *t = table(8, 5);
	const struct incident *i;
	const char *err = NULL;

	(void)state;
	incident_alert(t, "device_offline", "gate-north", ALERT_MAJOR, T0);
	assert_int_equal(incident_ack(t, 9, "王师傅", T0, &err), -1);
	assert_string_equal(err, "unknown incident");
	assert_int_equal(incident_ack(t, 0, "王师傅", T0, &err), -1);
	assert_string_equal(err, "unknown incident");
	assert_int_equal(incident_ack(t, 1, "", T0, &err), -1);
	assert_string_equal(err, "no operator");
	assert_int_equal(incident_ack(t, 1, NULL, T0, &err), -1);
	assert_string_equal(err, "no operator");
	assert_int_equal(incident_resolve(t, 1, "", T0, &err), -1);
	assert_string_equal(err, "no operator");
	assert_int_equal(incident_resolve(t, 7, "李", T0, &err), -1);
	assert_string_equal(err, "unknown incident");

	i = incident_find(t, 1);
	assert_int_equal(i->state, INCIDENT_OPEN);
	assert_int_equal(incident_ack(t, 1, "王师傅", T0 + MIN, &err), 0);
	assert_int_equal(i->state, INCIDENT_ACKED);
	assert_int_equal(i->acked_ms, T0 + MIN);
	assert_string_equal(i->acked_by, "王师傅");
	/* Acked again: nothing changes, the first operator stays. */
	assert_int_equal(incident_ack(t, 1, "李师傅", T0 + 2 * MIN, &err), 1);
	assert_string_equal(i->acked_by, "王师傅");
	assert_int_equal(i->acked_ms, T0 + MIN);

	assert_int_equal(incident_resolve(t, 1, "李师傅", T0 + 3 * MIN, &err),
	    0);
	assert_int_equal(i->state, INCIDENT_RESOLVED);
	assert_string_equal(i->resolved_by, "李师傅");
	assert_int_equal(i->resolved_ms, T0 + 3 * MIN);
	assert_int_equal(i->due_ms, 0);
	assert_int_equal(incident_resolve(t, 1, "王师傅", T0 + 4 * MIN, &err),
	    1);
	assert_string_equal(i->resolved_by, "李师傅");
	assert_int_equal(incident_ack(t, 1, "王师傅", T0 + 5 * MIN, &err), -1);
	assert_string_equal(err, "already resolved");

	/* Resolved straight from open, no ack. */
	incident_alert(t, "overstay", "barrier-south-out", ALERT_MINOR, T0);
	assert_int_equal(incident_resolve(t, 2, "王师傅", T0 + MIN, &err), 0);
	assert_int_equal(incident_find(t, 2)->acked_ms, 0);
	incident_table_free(t);
}

static void
test_realert_once(void **state)
{
	/* ack_min = 0.05: three seconds, as an integration test uses. */
	struct incident_table *t = table(8, 0.05);
	struct steps st = { .n = 0 };

	(void)state;
	incident_alert(t, "vehicle_unknown", "barrier-south-in", ALERT_MINOR,
	    T0);
	assert_int_equal(incident_next_due(t), T0 + 3000);
	assert_int_equal(due(t, &st, T0 + 2999), 0);
	assert_int_equal(due(t, &st, T0 + 3000), 1);
	assert_int_equal(st.s[0].n, 1);
	assert_string_equal(st.s[0].phase, "realert");
	assert_true(st.s[0].ring);
	assert_true(incident_find(t, 1)->realerted);
	assert_true(incident_find(t, 1)->rang);
	/* Once: the next step is the escalation at minor_min. */
	assert_int_equal(due(t, &st, T0 + 3001), 0);
	assert_int_equal(due(t, &st, T0 + 29 * MIN), 0);
	assert_int_equal(incident_next_due(t), T0 + 30 * MIN);
	incident_table_free(t);
}

static void
test_acked_no_realert(void **state)
{
	struct incident_table *t = table(8, 5);
	struct steps st = { .n = 0 };
	const char *err;

	(void)state;
	incident_alert(t, "vehicle_denied", "barrier-south-in", ALERT_MAJOR,
	    T0);
	assert_int_equal(incident_ack(t, 1, "王师傅", T0 + 5 * MIN - 1, &err),
	    0);
	/* Acked in time: no re-alert; the resolve deadline still runs. */
	assert_int_equal(incident_next_due(t), T0 + 240 * MIN);
	assert_int_equal(due(t, &st, T0 + 239 * MIN), 0);
	assert_int_equal(due(t, &st, T0 + 240 * MIN), 1);
	assert_string_equal(st.s[0].phase, "escalate");
	assert_int_equal(incident_next_due(t), 0);
	assert_int_equal(due(t, &st, T0 + 10000 * MIN), 0);
	incident_table_free(t);
}

static void
test_escalate_by_severity(void **state)
{
	struct incident_table *t = table(16, 5);
	struct steps st = { .n = 0 };
	const char *err;
	static const struct {
		const char *type;
		int severity;
		int64_t at;
	} cases[] = {
		{ "overstay", ALERT_MINOR, 30 * MIN },
		{ "charger_fault", ALERT_MAJOR, 240 * MIN },
		{ "over_current", ALERT_COMPLEX, 1440 * MIN },
		/* urgent: at the major deadline */
		{ "falling_object", ALERT_URGENT, 240 * MIN },
	};
	size_t k;

	(void)state;
	for (k = 0; k < 4; k++) {
		incident_alert(t, cases[k].type, "dev", cases[k].severity, T0);
		/* Acked, so that only the escalation is left. */
		assert_int_equal(incident_ack(t, (unsigned)k + 1, "王", T0 + 1,
		                     &err),
		    0);
	}
	for (k = 0; k < 4; k++) {
		const struct incident *i = incident_find(t, (unsigned)k + 1);

		assert_int_equal(i->due_ms, T0 + cases[k].at);
	}
	assert_int_equal(due(t, &st, T0 + 30 * MIN - 1), 0);
	assert_int_equal(due(t, &st, T0 + 30 * MIN), 1);
	assert_int_equal(st.s[0].n, 1);
	/* Major and urgent at the same moment: lowest number first. */
	assert_int_equal(due(t, &st, T0 + 240 * MIN), 2);
	assert_int_equal(st.s[1].n, 2);
	assert_int_equal(st.s[2].n, 4);
	assert_int_equal(due(t, &st, T0 + 1440 * MIN), 1);
	assert_int_equal(st.s[3].n, 3);
	for (k = 0; k < 4; k++) {
		assert_string_equal(st.s[k].phase, "escalate");
		assert_true(st.s[k].ring);
	}
	/* Each once. */
	assert_int_equal(due(t, &st, T0 + 100000 * MIN), 0);
	incident_table_free(t);
}

static void
test_both_due_at_once(void **state)
{
	/* After a long stop both deadlines passed: re-alert, then escalate. */
	struct incident_table *t = table(8, 5);
	struct steps st = { .n = 0 };

	(void)state;
	incident_alert(t, "overstay", "barrier-south-out", ALERT_MINOR, T0);
	assert_int_equal(due(t, &st, T0 + 60 * MIN), 2);
	assert_string_equal(st.s[0].phase, "realert");
	assert_string_equal(st.s[1].phase, "escalate");
	assert_int_equal(incident_next_due(t), 0);
	incident_table_free(t);
}

static void
test_urgent_rings(void **state)
{
	struct incident_table *t = table(8, 5);
	struct incident_outcome o;
	struct steps st = { .n = 0 };

	(void)state;
	o = incident_alert(t, "fire", "fire-panel", ALERT_URGENT, T0);
	assert_int_equal(o.what, INCIDENT_OPENED);
	assert_true(o.ring);
	assert_true(o.incident->rang);
	/* A join rings nobody, even urgent: it is a count. */
	o = incident_alert(t, "fire", "fire-panel", ALERT_URGENT, T0 + 1);
	assert_int_equal(o.what, INCIDENT_JOINED);
	assert_false(o.ring);
	/* Unacknowledged urgent is re-alerted like any other. */
	assert_int_equal(due(t, &st, T0 + 5 * MIN), 1);
	assert_string_equal(st.s[0].phase, "realert");

	o = incident_alert(t, "crowd", "cam-1", ALERT_MINOR, T0);
	assert_false(o.ring);
	assert_false(o.incident->rang);
	o = incident_alert(t, "tailgating", "b", ALERT_MAJOR, T0);
	assert_false(o.ring);
	o = incident_alert(t, "over_current", "c", ALERT_COMPLEX, T0);
	assert_false(o.ring);
	incident_table_free(t);
}

static void
test_online_note(void **state)
{
	struct incident_table *t = table(8, 5);
	const struct incident *i;
	const char *err;

	(void)state;
	assert_null(incident_online(t, "gate-north", T0));
	incident_alert(t, "device_offline", "gate-north", ALERT_MAJOR, T0);
	incident_alert(t, "tailgating", "gate-south", ALERT_MAJOR, T0);
	i = incident_online(t, "gate-north", T0 + MIN);
	assert_non_null(i);
	assert_int_equal(i->n, 1);
	assert_int_equal(i->state, INCIDENT_OPEN); /* stays open */
	assert_null(incident_online(t, "gate-south", T0 + MIN));
	/* Offline again: joins the same incident. */
	assert_int_equal(incident_alert(t, "device_offline", "gate-north",
	                     ALERT_MAJOR, T0 + 2 * MIN)
	                     .what,
	    INCIDENT_JOINED);
	incident_resolve(t, 1, "王", T0 + 3 * MIN, &err);
	assert_null(incident_online(t, "gate-north", T0 + 4 * MIN));
	incident_table_free(t);
}

/* The record a caller would journal for a step, as the journal stores
 * it (its ts is passed alongside, as journal reads give it). */
static char *
record(const struct incident *i, const char *phase, const char *by)
{
	json_t *o = incident_record_extra(i, phase, by);
	char *s;

	json_object_set_new(o, "kind", json_string("incident"));
	json_object_set_new(o, "device", json_string(i->device));
	json_object_set_new(o, "id", json_string("jinding-5:1"));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

struct journal {
	char *body[64];
	int64_t ts[64];
	size_t n;
};

static void
keep(struct journal *j, const struct incident *i, const char *phase,
    const char *by, int64_t ts)
{
	assert_true(j->n < 64);
	j->body[j->n] = record(i, phase, by);
	j->ts[j->n] = ts;
	j->n++;
}

static void
journal_step(void *arg, const struct incident *i, const char *phase, bool ring)
{
	struct steps *st = arg;
	struct journal *j = (struct journal *)(st + 1);

	(void)ring;
	keep(j, i, phase, NULL, st->now);
}

static void
test_restore(void **state)
{
	struct incident_table *t = table(8, 5), *r = table(8, 5);
	struct {
		struct steps st;
		struct journal j;
	} w = { .st = { .n = 0 }, .j = { .n = 0 } };
	struct incident_outcome o;
	const char *err;
	size_t k;
	unsigned n;

	(void)state;
	o = incident_alert(t, "vehicle_unknown", "barrier-south-in",
	    ALERT_MINOR, T0);
	keep(&w.j, o.incident, "open", NULL, T0);
	o = incident_alert(t, "vehicle_unknown", "barrier-south-in",
	    ALERT_MINOR, T0 + MIN);
	keep(&w.j, o.incident, "join", NULL, T0 + MIN);
	o = incident_alert(t, "charger_fault", "charger-a", ALERT_MAJOR,
	    T0 + MIN);
	keep(&w.j, o.incident, "open", NULL, T0 + MIN);
	o = incident_alert(t, "fire", "fire-panel", ALERT_URGENT, T0 + MIN);
	keep(&w.j, o.incident, "open", NULL, T0 + MIN);
	o = incident_alert(t, "device_offline", "gate-north", ALERT_COMPLEX,
	    T0 + MIN);
	keep(&w.j, o.incident, "open", NULL, T0 + MIN);
	assert_int_equal(incident_ack(t, 2, "王师傅", T0 + 2 * MIN, &err), 0);
	keep(&w.j, incident_find(t, 2), "ack", "王师傅", T0 + 2 * MIN);
	assert_int_equal(incident_resolve(t, 3, "李师傅", T0 + 3 * MIN, &err),
	    0);
	keep(&w.j, incident_find(t, 3), "resolve", "李师傅", T0 + 3 * MIN);
	keep(&w.j, incident_find(t, 4), "online", NULL, T0 + 3 * MIN);
	w.st.now = T0 + 5 * MIN;
	assert_int_equal(incident_due(t, T0 + 5 * MIN, journal_step, &w.st), 1);
	assert_int_equal(incident_due(t, T0 + 6 * MIN, journal_step, &w.st), 1);

	/* Not ours, or unreadable: ignored. */
	assert_int_equal(incident_restore(r, T0, "{", 1), -1);
	assert_int_equal(incident_restore(r, T0,
	                     "{\"kind\":\"camera\",\"phase\":\"open\","
	                     "\"incident\":99}",
	                     44),
	    -1);
	for (k = 0; k < w.j.n; k++)
		assert_int_equal(incident_restore(r, w.j.ts[k], w.j.body[k],
		                     strlen(w.j.body[k])),
		    0);

	/* The same table: numbers, states, counts, deadlines. */
	assert_int_equal(incident_next_number(r), incident_next_number(t));
	assert_int_equal(incident_next_number(r), 5);
	for (n = 1; n <= 4; n++) {
		const struct incident *a = incident_find(t, n),
		                      *b = incident_find(r, n);

		assert_non_null(b);
		assert_string_equal(a->type, b->type);
		assert_string_equal(a->device, b->device);
		assert_int_equal(a->severity, b->severity);
		assert_int_equal(a->state, b->state);
		assert_int_equal(a->opened_ms, b->opened_ms);
		assert_int_equal(a->acked_ms, b->acked_ms);
		assert_int_equal(a->resolved_ms, b->resolved_ms);
		assert_string_equal(a->acked_by, b->acked_by);
		assert_string_equal(a->resolved_by, b->resolved_by);
		assert_int_equal(a->events, b->events);
		assert_int_equal(a->realerted, b->realerted);
		assert_int_equal(a->escalated, b->escalated);
		assert_int_equal(a->rang, b->rang);
		assert_int_equal(a->due_ms, b->due_ms);
	}
	assert_int_equal(incident_next_due(r), incident_next_due(t));

	/* After the restart: the realerted ones are not re-alerted again,
	 * the minor escalates at its own time, the next number follows. */
	w.st.n = 0;
	assert_int_equal(due(r, &w.st, T0 + 30 * MIN - 1), 0);
	assert_int_equal(due(r, &w.st, T0 + 30 * MIN), 1);
	assert_int_equal(w.st.s[0].n, 1);
	assert_string_equal(w.st.s[0].phase, "escalate");
	o = incident_alert(r, "tailgating", "barrier-south-in", ALERT_MAJOR,
	    T0 + 31 * MIN);
	assert_int_equal(o.incident->n, 5);
	/* A join after a restart joins the restored incident. */
	o = incident_alert(r, "charger_fault", "charger-a", ALERT_MAJOR,
	    T0 + 31 * MIN);
	assert_int_equal(o.what, INCIDENT_JOINED);
	assert_int_equal(o.incident->n, 2);

	for (k = 0; k < w.j.n; k++)
		free(w.j.body[k]);
	incident_table_free(t);
	incident_table_free(r);
}

static void
test_restore_counter(void **state)
{
	/* A counter from the highest number named, even by a record whose
	 * open was pruned; such a record changes nothing else. */
	struct incident_table *r = table(8, 5);
	const char *ack = "{\"kind\":\"incident\",\"phase\":\"ack\","
	                  "\"incident\":41,\"operator\":\"王\"}";

	(void)state;
	assert_int_equal(incident_restore(r, T0, ack, strlen(ack)), 0);
	assert_null(incident_find(r, 41));
	assert_int_equal(incident_next_number(r), 42);
	assert_int_equal(incident_alert(r, "overstay", "b", ALERT_MINOR, T0)
	                     .incident->n,
	    42);
	incident_table_free(r);
}

static void
test_state_json(void **state)
{
	struct incident_table *t = table(8, 5);
	struct incident_outcome o;
	const char *err;
	char *s;
	json_t *x;

	(void)state;
	o = incident_alert(t, "vehicle_unknown", "barrier-south-in",
	    ALERT_MAJOR, T0);
	incident_alert(t, "vehicle_unknown", "barrier-south-in", ALERT_MAJOR,
	    T0 + 1);
	incident_alert(t, "vehicle_unknown", "barrier-south-in", ALERT_MAJOR,
	    T0 + 2);
	x = incident_state_json(o.incident);
	s = json_dumps(x, JSON_COMPACT);
	assert_string_equal(s,
	    "{\"incident\":1,\"state\":\"open\",\"severity\":\"major\","
	    "\"type\":\"vehicle_unknown\",\"device\":\"barrier-south-in\","
	    "\"opened\":\"2026-11-23T14:00:00.000+08:00\",\"events\":3}");
	free(s);
	json_decref(x);

	incident_ack(t, 1, "王师傅", T0 + MIN, &err);
	x = incident_state_json(o.incident);
	s = json_dumps(x, JSON_COMPACT);
	assert_string_equal(s,
	    "{\"incident\":1,\"state\":\"acked\",\"severity\":\"major\","
	    "\"type\":\"vehicle_unknown\",\"device\":\"barrier-south-in\","
	    "\"opened\":\"2026-11-23T14:00:00.000+08:00\","
	    "\"acked\":\"2026-11-23T14:01:00.000+08:00\","
	    "\"acked_by\":\"王师傅\",\"events\":3}");
	free(s);
	json_decref(x);

	incident_resolve(t, 1, "李师傅", T0 + 2 * MIN, &err);
	x = incident_state_json(o.incident);
	assert_string_equal(json_string_value(json_object_get(x, "state")),
	    "resolved");
	assert_string_equal(json_string_value(
	                        json_object_get(x, "resolved_by")),
	    "李师傅");
	json_decref(x);

	x = incident_record_extra(o.incident, "ack", "王师傅");
	s = json_dumps(x, JSON_COMPACT);
	assert_string_equal(s,
	    "{\"phase\":\"ack\",\"incident\":1,\"type\":\"vehicle_unknown\","
	    "\"severity\":\"major\",\"operator\":\"王师傅\"}");
	free(s);
	json_decref(x);
	x = incident_record_extra(o.incident, "realert", NULL);
	assert_null(json_object_get(x, "operator"));
	json_decref(x);
	incident_table_free(t);
}

static void
test_operator_cut_utf8(void **state)
{
	/* A name longer than the field is cut on a character, so that the
	 * state payload stays valid JSON. */
	struct incident_table *t = table(8, 5);
	char name[200];
	const char *err;
	json_t *x;
	int k;

	(void)state;
	for (k = 0; k < 30; k++)
		memcpy(name + 3 * k, "王", 3);
	name[90] = '\0';
	incident_alert(t, "overstay", "b", ALERT_MINOR, T0);
	assert_int_equal(incident_ack(t, 1, name, T0, &err), 0);
	assert_int_equal(strlen(incident_find(t, 1)->acked_by), 63);
	x = incident_state_json(incident_find(t, 1));
	assert_non_null(json_object_get(x, "acked_by"));
	json_decref(x);
	incident_table_free(t);
}

static void
test_full(void **state)
{
	struct incident_table *t = table(3, 5);
	struct incident_outcome o;
	const char *err;

	(void)state;
	incident_alert(t, "overstay", "a", ALERT_MINOR, T0);
	incident_alert(t, "overstay", "b", ALERT_MINOR, T0);
	incident_alert(t, "overstay", "c", ALERT_MINOR, T0);
	/* Every slot open: FULL, no number spent, nothing tracked. */
	o = incident_alert(t, "overstay", "d", ALERT_MINOR, T0 + 1);
	assert_int_equal(o.what, INCIDENT_FULL);
	assert_null(o.incident);
	assert_int_equal(incident_next_number(t), 4);
	/* Joins still work when full. */
	o = incident_alert(t, "overstay", "a", ALERT_MINOR, T0 + 1);
	assert_int_equal(o.what, INCIDENT_JOINED);

	/* A resolved one gives up its slot, resolved longest ago first. */
	incident_resolve(t, 2, "王", T0 + 2 * MIN, &err);
	incident_resolve(t, 3, "王", T0 + MIN, &err);
	o = incident_alert(t, "overstay", "d", ALERT_MINOR, T0 + 3 * MIN);
	assert_int_equal(o.what, INCIDENT_OPENED);
	assert_int_equal(o.incident->n, 4);
	assert_null(incident_find(t, 3));
	assert_non_null(incident_find(t, 2));
	/* Its number is gone from the table: unknown from now on. */
	assert_int_equal(incident_ack(t, 3, "王", T0, &err), -1);
	assert_string_equal(err, "unknown incident");
	incident_table_free(t);
}

static void
test_settings_reload(void **state)
{
	struct incident_table *t = table(8, 5);
	struct incident_settings s;

	(void)state;
	incident_alert(t, "overstay", "a", ALERT_MINOR, T0);
	incident_defaults(&s);
	s.ack_min = 1.5;
	incident_settings_set(t, &s);
	assert_int_equal(incident_next_due(t), T0 + 90 * 1000);
	incident_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_open_join),
		cmocka_unit_test(test_join_acked_not_resolved),
		cmocka_unit_test(test_ack_resolve_errors),
		cmocka_unit_test(test_realert_once),
		cmocka_unit_test(test_acked_no_realert),
		cmocka_unit_test(test_escalate_by_severity),
		cmocka_unit_test(test_both_due_at_once),
		cmocka_unit_test(test_urgent_rings),
		cmocka_unit_test(test_online_note),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_restore_counter),
		cmocka_unit_test(test_state_json),
		cmocka_unit_test(test_operator_cut_utf8),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_settings_reload),
	};

	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
