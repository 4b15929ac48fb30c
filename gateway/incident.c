/*
 * incident.c - the incident table and the 5341 rule's deadlines.  Pure:
 * every time is passed in, every step is handed back to the caller.
 *
 * Settled here:
 * - Both deadlines run from the incident's opening; a join moves neither.
 *   The re-alert is due when it is still unacknowledged at ack_min, the
 *   escalation when it is still unresolved at minor/major/complex_min by
 *   severity; each is taken once.  Urgent incidents escalate at
 *   major_min: they already rang at once, and a fire or a falling object
 *   still open after four hours is a major one's failure, not a day's.
 * - "Open" for a join means not resolved: an acked incident still takes
 *   joins (someone is on it; a second vehicle at the barrier is counted
 *   there, not a new message).  A resolved incident never takes one.
 * - The incident keeps the severity it opened with; a reload that
 *   changes [alert TYPE] applies to the next incident.
 * - Full table: a resolved incident gives up its slot, the one resolved
 *   longest ago first.  When every slot is open the alert is FULL: no
 *   number is spent, nothing is tracked, and the caller still sends
 *   the alert (an alert dropped because a table is full is the one that
 *   mattered).  With a table sized for hundreds of open incidents that is
 *   a compound with bigger problems than bookkeeping.
 * - The counter is one more than the highest number any record named, so
 *   it survives restarts as long as the journal keeps the last incident
 *   record.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "datetime.h"
#include "incident.h"
#include "util.h"

struct incident_table {
	struct incident_settings set;
	struct incident *slots;
	size_t cap;
	unsigned next; /* the next number */
};

void
incident_defaults(struct incident_settings *s)
{
	s->ack_min = 5;
	s->minor_min = 30;
	s->major_min = 240;
	s->complex_min = 1440;
}

static int64_t
min_ms(double min)
{
	return (int64_t)llround(min * 60000.0);
}

static int64_t
resolve_ms(const struct incident_settings *s, int severity)
{
	switch (severity) {
	case ALERT_MINOR:
		return min_ms(s->minor_min);
	case ALERT_COMPLEX:
		return min_ms(s->complex_min);
	default: /* major, and urgent (see above) */
		return min_ms(s->major_min);
	}
}

/* When the ack deadline's step is due, or 0 when it is not pending. */
static int64_t
realert_at(const struct incident_table *t, const struct incident *i)
{
	if (i->state != INCIDENT_OPEN || i->realerted)
		return 0;
	return i->opened_ms + min_ms(t->set.ack_min);
}

static int64_t
escalate_at(const struct incident_table *t, const struct incident *i)
{
	if (i->state == INCIDENT_RESOLVED || i->escalated)
		return 0;
	return i->opened_ms + resolve_ms(&t->set, i->severity);
}

static void
update_due(const struct incident_table *t, struct incident *i)
{
	int64_t a = realert_at(t, i), e = escalate_at(t, i);

	i->due_ms = a == 0 ? e : e == 0 ? a : a < e ? a : e;
}

struct incident_table *
incident_table_new(size_t cap, const struct incident_settings *s)
{
	struct incident_table *t;

	if (cap == 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return NULL;
	t->slots = calloc(cap, sizeof(*t->slots));
	if (t->slots == NULL) {
		free(t);
		return NULL;
	}
	t->cap = cap;
	t->set = *s;
	t->next = 1;
	return t;
}

void
incident_table_free(struct incident_table *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

void
incident_settings_set(struct incident_table *t,
    const struct incident_settings *s)
{
	size_t k;

	t->set = *s;
	for (k = 0; k < t->cap; k++)
		if (t->slots[k].n != 0)
			update_due(t, &t->slots[k]);
}

/* Copy, cut on a UTF-8 boundary: a name cut mid-character would make
 * the state payload unreadable. */
static void
copy_name(char *dst, const char *src, size_t size)
{
	size_t len = str_copy(dst, src, size);

	if (len < size)
		return;
	len = size - 1;
	while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
		len--;
	dst[len] = '\0';
}

static struct incident *
find(const struct incident_table *t, unsigned n)
{
	size_t k;

	if (n == 0)
		return NULL;
	for (k = 0; k < t->cap; k++)
		if (t->slots[k].n == n)
			return &t->slots[k];
	return NULL;
}

const struct incident *
incident_find(const struct incident_table *t, unsigned n)
{
	return find(t, n);
}

unsigned
incident_next_number(const struct incident_table *t)
{
	return t->next;
}

void
incident_foreach(const struct incident_table *t,
    void (*fn)(void *, const struct incident *), void *arg)
{
	size_t k;

	for (k = 0; k < t->cap; k++)
		if (t->slots[k].n != 0)
			fn(arg, &t->slots[k]);
}

size_t
incident_open_count(const struct incident_table *t)
{
	size_t k, n = 0;

	for (k = 0; k < t->cap; k++)
		if (t->slots[k].n != 0 &&
		    t->slots[k].state != INCIDENT_RESOLVED)
			n++;
	return n;
}

/* A free slot, or the one resolved longest ago, or NULL. */
static struct incident *
slot(struct incident_table *t)
{
	struct incident *best = NULL;
	size_t k;

	for (k = 0; k < t->cap; k++) {
		struct incident *i = &t->slots[k];

		if (i->n == 0)
			return i;
		if (i->state == INCIDENT_RESOLVED &&
		    (best == NULL || i->resolved_ms < best->resolved_ms))
			best = i;
	}
	return best;
}

static struct incident *
open_in(struct incident_table *t, unsigned n, const char *type,
    const char *device, int severity, int64_t now)
{
	struct incident *i = slot(t);

	if (i == NULL)
		return NULL;
	memset(i, 0, sizeof(*i));
	i->n = n;
	copy_name(i->type, type, sizeof(i->type));
	copy_name(i->device, device, sizeof(i->device));
	i->severity = severity;
	i->state = INCIDENT_OPEN;
	i->opened_ms = now;
	i->events = 1;
	i->rang = severity == ALERT_URGENT;
	update_due(t, i);
	return i;
}

static struct incident *
open_one(struct incident_table *t, const char *type, const char *device)
{
	size_t k;

	for (k = 0; k < t->cap; k++) {
		struct incident *i = &t->slots[k];

		if (i->n != 0 && i->state != INCIDENT_RESOLVED &&
		    strcmp(i->type, type) == 0 &&
		    strcmp(i->device, device) == 0)
			return i;
	}
	return NULL;
}

struct incident_outcome
incident_alert(struct incident_table *t, const char *type, const char *device,
    int severity, int64_t now)
{
	struct incident_outcome o = { .what = INCIDENT_IGNORED };
	struct incident *i;

	if (severity <= ALERT_NONE || severity > ALERT_URGENT)
		return o;
	i = open_one(t, type, device);
	if (i != NULL) {
		i->events++;
		o.what = INCIDENT_JOINED;
		o.incident = i;
		return o;
	}
	i = open_in(t, t->next, type, device, severity, now);
	if (i == NULL) {
		o.what = INCIDENT_FULL;
		return o;
	}
	t->next++;
	o.what = INCIDENT_OPENED;
	o.incident = i;
	o.ring = i->rang;
	return o;
}

static int
check(struct incident_table *t, unsigned n, const char *by,
    struct incident **ip, const char **err)
{
	*ip = find(t, n);
	if (*ip == NULL) {
		*err = "unknown incident";
		return -1;
	}
	if (by == NULL || by[0] == '\0') {
		*err = "no operator";
		return -1;
	}
	return 0;
}

int
incident_ack(struct incident_table *t, unsigned n, const char *by, int64_t now,
    const char **err)
{
	struct incident *i;

	if (check(t, n, by, &i, err) == -1)
		return -1;
	if (i->state == INCIDENT_RESOLVED) {
		*err = "already resolved";
		return -1;
	}
	if (i->state == INCIDENT_ACKED)
		return 1;
	i->state = INCIDENT_ACKED;
	i->acked_ms = now;
	copy_name(i->acked_by, by, sizeof(i->acked_by));
	update_due(t, i);
	return 0;
}

int
incident_resolve(struct incident_table *t, unsigned n, const char *by,
    int64_t now, const char **err)
{
	struct incident *i;

	if (check(t, n, by, &i, err) == -1)
		return -1;
	if (i->state == INCIDENT_RESOLVED)
		return 1;
	i->state = INCIDENT_RESOLVED;
	i->resolved_ms = now;
	copy_name(i->resolved_by, by, sizeof(i->resolved_by));
	update_due(t, i);
	return 0;
}

const struct incident *
incident_online(struct incident_table *t, const char *device, int64_t now)
{
	(void)now;
	return open_one(t, "device_offline", device);
}

/* The pending incident with the lowest number due by now, or NULL. */
static struct incident *
next_due(struct incident_table *t, int64_t now)
{
	struct incident *best = NULL;
	size_t k;

	for (k = 0; k < t->cap; k++) {
		struct incident *i = &t->slots[k];

		if (i->n != 0 && i->due_ms != 0 && i->due_ms <= now &&
		    (best == NULL || i->n < best->n))
			best = i;
	}
	return best;
}

size_t
incident_due(struct incident_table *t, int64_t now, incident_step_fn *fn,
    void *arg)
{
	struct incident *i;
	size_t steps = 0;
	int64_t at;

	while ((i = next_due(t, now)) != NULL) {
		/* Both at once after a long stop: re-alert, then escalate. */
		at = realert_at(t, i);
		if (at != 0 && at <= now) {
			i->realerted = true;
			i->rang = true;
			update_due(t, i);
			fn(arg, i, "realert", true);
			steps++;
		}
		at = escalate_at(t, i);
		if (at != 0 && at <= now) {
			i->escalated = true;
			i->rang = true;
			update_due(t, i);
			fn(arg, i, "escalate", true);
			steps++;
		}
		update_due(t, i);
	}
	return steps;
}

int64_t
incident_next_due(const struct incident_table *t)
{
	int64_t best = 0;
	size_t k;

	for (k = 0; k < t->cap; k++) {
		const struct incident *i = &t->slots[k];

		if (i->n != 0 && i->due_ms != 0 &&
		    (best == 0 || i->due_ms < best))
			best = i->due_ms;
	}
	return best;
}

/*
 * A record whose incident is no longer known (its open record was
 * pruned, or it lost its slot) only moves the counter.
 */
int
incident_restore(struct incident_table *t, int64_t ts_ms, const char *body,
    size_t len)
{
	const char *kind = NULL, *phase = NULL, *type = NULL, *device = NULL,
	           *severity = NULL, *by = NULL;
	json_int_t n = 0;
	struct incident *i;
	int sev = ALERT_NONE, k, rc = -1;
	json_t *root = json_loadb(body, len, 0, NULL);

	if (root == NULL)
		return -1;
	if (json_unpack(root, "{s:s,s:s,s:I,s?s,s?s,s?s,s?s}", "kind", &kind,
	        "phase", &phase, "incident", &n, "type", &type, "device",
	        &device, "severity", &severity, "operator", &by) != 0 ||
	    strcmp(kind, "incident") != 0 || n <= 0 ||
	    n >= (json_int_t)UINT32_MAX)
		goto out;
	rc = 0;
	if ((unsigned)n >= t->next)
		t->next = (unsigned)n + 1;
	i = find(t, (unsigned)n);
	if (strcmp(phase, "open") == 0) {
		for (k = 0; severity != NULL && alert_severity_choices[k]; k++)
			if (strcmp(alert_severity_choices[k], severity) == 0)
				sev = alert_severity_values[k];
		if (i != NULL || type == NULL || device == NULL ||
		    sev == ALERT_NONE)
			goto out;
		open_in(t, (unsigned)n, type, device, sev, ts_ms);
		goto out;
	}
	if (i == NULL)
		goto out;
	if (strcmp(phase, "join") == 0) {
		i->events++;
	} else if (strcmp(phase, "ack") == 0 && i->state == INCIDENT_OPEN) {
		i->state = INCIDENT_ACKED;
		i->acked_ms = ts_ms;
		copy_name(i->acked_by, by ? by : "", sizeof(i->acked_by));
	} else if (strcmp(phase, "resolve") == 0) {
		i->state = INCIDENT_RESOLVED;
		i->resolved_ms = ts_ms;
		copy_name(i->resolved_by, by ? by : "", sizeof(i->resolved_by));
	} else if (strcmp(phase, "realert") == 0) {
		i->realerted = true;
		i->rang = true;
	} else if (strcmp(phase, "escalate") == 0) {
		i->escalated = true;
		i->rang = true;
	}
	update_due(t, i);
out:
	json_decref(root);
	return rc;
}

static const char *
state_name(enum incident_state s)
{
	return s == INCIDENT_OPEN ? "open" :
	    s == INCIDENT_ACKED   ? "acked" :
	                            "resolved";
}

static json_t *
time_json(int64_t ms)
{
	char buf[40];

	datetime_format_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}

json_t *
incident_state_json(const struct incident *i)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s}", "incident",
	    (json_int_t)i->n, "state", state_name(i->state), "severity",
	    alert_severity_name(i->severity), "type", i->type, "device",
	    i->device);

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "opened", time_json(i->opened_ms));
	if (i->acked_ms != 0) {
		json_object_set_new(o, "acked", time_json(i->acked_ms));
		json_object_set_new(o, "acked_by", json_string(i->acked_by));
	}
	if (i->resolved_ms != 0) {
		json_object_set_new(o, "resolved", time_json(i->resolved_ms));
		json_object_set_new(o, "resolved_by",
		    json_string(i->resolved_by));
	}
	json_object_set_new(o, "events", json_integer(i->events));
	return o;
}

json_t *
incident_record_extra(const struct incident *i, const char *phase,
    const char *by)
{
	json_t *o = json_pack("{s:s,s:I,s:s,s:s}", "phase", phase, "incident",
	    (json_int_t)i->n, "type", i->type, "severity",
	    alert_severity_name(i->severity));

	if (o != NULL && by != NULL && by[0] != '\0')
		json_object_set_new(o, "operator", json_string(by));
	return o;
}
