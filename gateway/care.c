/*
 * care.c - wellbeing checks: the persons with care, when each last
 * passed a gate, and the quiet records of those who have not for their
 * period.  Not an incident, and not the message: the robot reads the
 * records (kind "system", decision "care") and tells the steward.
 *
 * Records, all kind "system", device "gateway", subject the person (id
 * and household, never the name), "building", "care" and "since":
 *   care        no pass for a period; "minutes" since; once a period
 *   care_end    the pass that ended it; "minutes" they were away
 *   care_watch  watched from "since" with no pass to count from (a first
 *               start, a reload that added them): a restart keeps it
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "care.h"
#include "config.h"
#include "datetime.h"
#include "log.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

/* What the last care record of a person was, at start. */
enum {
	CARE_REC_NONE = 0,
	CARE_REC_WATCH,
	CARE_REC_CARE,
	CARE_REC_END,
};

static const char *
level_name(uint8_t level)
{
	switch (level) {
	case ACCESS_CARE_DAILY:
		return "daily";
	case ACCESS_CARE_WEEKLY:
		return "weekly";
	case ACCESS_CARE_MONTHLY:
		return "monthly";
	default:
		return "none";
	}
}

static int64_t
period_ms(const struct pipeline *p, uint8_t level)
{
	const struct config_care *c = &p->cfg->care;
	double min = level == ACCESS_CARE_DAILY ? c->daily_min :
	    level == ACCESS_CARE_WEEKLY         ? c->weekly_min :
	                                          c->monthly_min;
	int64_t ms = (int64_t)(min * 60000.0);

	return ms > 0 ? ms : 60000; /* config.c refuses 0; never a busy loop */
}

static int
watch_cmp(const void *a, const void *b)
{
	return strcmp(((const struct care_watch *)a)->person,
	    ((const struct care_watch *)b)->person);
}

static int
key_cmp(const void *key, const void *w)
{
	return strcmp(key, ((const struct care_watch *)w)->person);
}

/* The watched person with this id, among the first n, or NULL. */
static struct care_watch *
find_in(struct care_live *c, size_t n, const char *person)
{
	if (n == 0)
		return NULL;
	return bsearch(person, c->watch, n, sizeof(*c->watch), key_cmp);
}

static void
due_again(const struct pipeline *p, struct care_watch *w)
{
	w->due_ms =
	    (w->alert_ms ? w->alert_ms : w->since_ms) + period_ms(p, w->level);
}

/* The first part of a household: 5 of 5-2-301. */
static void
building_of(const char *household, char *out, size_t size)
{
	size_t n = strcspn(household, "-");

	if (n >= size)
		n = size - 1;
	memcpy(out, household, n);
	out[n] = '\0';
}

/* One record about w at ts_ms; minutes < 0: none.  0 or -1 (the
 * journal cannot take it now: the caller tries again later). */
static int
record(struct pipeline *p, const struct care_watch *w, const char *decision,
    int64_t minutes, int64_t ts_ms)
{
	struct journal_record r = {
		.kind = "system",
		.device = "gateway",
		.decision = decision,
		.subject_type = "person",
		.subject_id = w->person,
		.household = w->household[0] ? w->household : NULL,
	};
	char since[40], building[STATE_HOUSEHOLD_MAX];
	json_t *extra = json_object();
	int rc;

	if (extra == NULL)
		return -1;
	if (w->household[0]) {
		building_of(w->household, building, sizeof(building));
		json_object_set_new(extra, "building", json_string(building));
	}
	json_object_set_new(extra, "care", json_string(level_name(w->level)));
	datetime_format_rfc3339(w->since_ms, since, sizeof(since));
	json_object_set_new(extra, "since", json_string(since));
	if (minutes >= 0)
		json_object_set_new(extra, "minutes",
		    json_integer((json_int_t)minutes));
	r.extra = extra;
	rc = pipeline_record(p, &r, ts_ms);
	json_decref(extra);
	return rc;
}

static int64_t
minutes_between(int64_t from_ms, int64_t to_ms)
{
	return to_ms > from_ms ? (to_ms - from_ms) / 60000 : 0;
}

void
care_pass(struct pipeline *p, const char *person, int64_t ts_ms)
{
	struct care_live *c = &p->state->care;
	struct care_watch *w = find_in(c, c->n, person);
	bool ended;

	if (w == NULL)
		return;
	ended = w->alert_ms != 0;
	if (ended) {
		/* Not retried when the journal is full: the pass itself
		 * was dropped with it, and the restart's read agrees. */
		(void)record(p, w, "care_end",
		    minutes_between(w->since_ms, ts_ms), ts_ms);
		log_info("care: %s (%s) passed a gate after %" PRId64
		         " minutes",
		    w->person, w->household[0] ? w->household : "-",
		    minutes_between(w->since_ms, ts_ms));
	}
	w->alert_ms = 0;
	w->owed = false; /* the pass is in the journal: it counts from it */
	w->since_ms = ts_ms;
	/* The pass, for the next start: a record of its own, read through
	 * a small index (journal_db.c says why not the access row's). */
	if (!ended)
		(void)record(p, w, "care_pass", -1, ts_ms);
	due_again(p, w);
}

/* The earliest instant anything is due: a care_watch owed is due now. */
static void
next_due(struct care_live *c, int64_t now_ms)
{
	size_t i;

	c->next_ms = INT64_MAX;
	for (i = 0; i < c->n; i++) {
		if (c->watch[i].owed)
			c->next_ms = now_ms;
		else if (c->watch[i].due_ms < c->next_ms)
			c->next_ms = c->watch[i].due_ms;
	}
}

void
care_tick(struct pipeline *p, int64_t now_ms)
{
	struct care_live *c = &p->state->care;
	struct care_watch *w;
	unsigned done = 0;
	size_t i;

	if (now_ms < c->next_ms)
		return;
	for (i = 0; i < c->n && done < CARE_TICK_MAX; i++) {
		w = &c->watch[i];
		if (w->owed) {
			if (record(p, w, "care_watch", -1, now_ms) < 0)
				break;
			w->owed = false;
			done++;
		}
		if (now_ms < w->due_ms || done >= CARE_TICK_MAX)
			continue;
		if (record(p, w, "care", minutes_between(w->since_ms, now_ms),
		        now_ms) < 0)
			break;
		log_info("care: %s (%s, %s) has passed no gate for %" PRId64
		         " minutes",
		    w->person, w->household[0] ? w->household : "-",
		    level_name(w->level), minutes_between(w->since_ms, now_ms));
		w->alert_ms = now_ms;
		due_again(p, w);
		done++;
	}
	/* Capped, or the journal full: what is left is due now still. */
	next_due(c, now_ms);
}

/* Copy the person's id and household in; false when they do not fit
 * (access.d allows longer households than a record here keeps). */
static bool
fill(struct care_watch *w, const struct access_tables *t,
    const struct access_person *ap)
{
	const char *id = access_str(t, ap->id);
	const char *hh = access_str(t, ap->household);

	if (strlen(id) >= sizeof(w->person) ||
	    strlen(hh) >= sizeof(w->household)) {
		log_warnx("care: person %s not watched: id or household too "
		          "long",
		    id);
		return false;
	}
	str_copy(w->person, id, sizeof(w->person));
	str_copy(w->household, hh, sizeof(w->household));
	w->level = ap->care;
	return true;
}

/* Too many persons with care for the table: said once per load. */
static void
full(struct care_live *c, const struct access_tables *t,
    const struct access_person *ap)
{
	if (c->warned_full)
		return;
	c->warned_full = true;
	log_errx("care: more than %d persons with care: %s and others are "
	         "not watched",
	    STATE_CARE_MAX, access_str(t, ap->id));
}

/*
 * The watch list as the tables in force say, keeping what is known of
 * those already watched.  Persons new to it start at now_ms; owed says
 * whether that instant is to be journaled (care_watch).  A reload is
 * one walk of the persons, and a sort of those with care.
 */
static void
sync_tables(struct pipeline *p, int64_t now_ms, bool owed)
{
	const struct access_tables *t = p->tables;
	struct care_live *c = &p->state->care;
	const struct access_person *ap;
	struct care_watch *w;
	size_t i, kept = 0, n, total = access_npersons(t);

	c->warned_full = false;
	/* Those gone, or without care now, are dropped; the rest keep
	 * their order, so the first kept stay sorted for the search. */
	for (i = 0; i < c->n; i++) {
		w = &c->watch[i];
		ap = access_find_person(t, w->person);
		if (ap == NULL || ap->care == ACCESS_CARE_NONE ||
		    !fill(w, t, ap))
			continue;
		if (kept != i)
			c->watch[kept] = *w;
		due_again(p, &c->watch[kept]);
		kept++;
	}
	n = kept;
	for (i = 0; i < total; i++) {
		ap = access_person_at(t, i);
		if (ap->care == ACCESS_CARE_NONE ||
		    find_in(c, kept, access_str(t, ap->id)) != NULL)
			continue;
		if (n == STATE_CARE_MAX) {
			full(c, t, ap);
			break;
		}
		w = &c->watch[n];
		memset(w, 0, sizeof(*w));
		if (!fill(w, t, ap))
			continue;
		w->since_ms = now_ms;
		w->owed = owed;
		due_again(p, w);
		n++;
	}
	c->n = n;
	if (n > kept)
		qsort(c->watch, n, sizeof(*c->watch), watch_cmp);
	next_due(c, now_ms);
}

void
care_reloaded(struct pipeline *p, int64_t now_ms)
{
	sync_tables(p, now_ms, true);
}

const char *const *
care_begin(struct pipeline *p, int64_t now_ms, size_t *n)
{
	struct care_live *c = &p->state->care;
	size_t i;

	c->n = 0;
	sync_tables(p, now_ms, false);
	free(c->ids);
	c->ids = calloc(c->n ? c->n : 1, sizeof(*c->ids));
	*n = c->ids ? c->n : 0;
	for (i = 0; i < *n; i++)
		c->ids[i] = c->watch[i].person;
	return c->ids;
}

/* A record's subject id and decision, read from its body. */
void
care_restore_row(void *arg, int64_t ts_ms, const char *body, size_t len)
{
	struct pipeline *p = arg;
	struct care_live *c = &p->state->care;
	struct care_watch *w;
	const char *kind = NULL, *decision = NULL, *type = NULL, *id = NULL;
	const char *since = NULL;
	json_t *o;
	int rec = CARE_REC_NONE;
	int64_t since_ms = 0;

	o = json_loadb(body, len, 0, NULL);
	if (o == NULL)
		return;
	(void)json_unpack(o, "{s?s, s?s, s?{s?s, s?s}, s?s}", "kind", &kind,
	    "decision", &decision, "subject", "type", &type, "id", &id, "since",
	    &since);
	if (kind == NULL || decision == NULL || type == NULL || id == NULL ||
	    strcmp(type, "person") != 0 || (w = find_in(c, c->n, id)) == NULL)
		goto out;
	if (strcmp(kind, "system") != 0)
		goto out;
	if (strcmp(decision, "care_pass") == 0) {
		if (ts_ms > w->pass_ms)
			w->pass_ms = ts_ms;
		goto out;
	}
	if (strcmp(decision, "care_watch") == 0)
		rec = CARE_REC_WATCH;
	else if (strcmp(decision, "care") == 0)
		rec = CARE_REC_CARE;
	else if (strcmp(decision, "care_end") == 0)
		rec = CARE_REC_END;
	if (rec == CARE_REC_NONE || ts_ms < w->rec_ms)
		goto out;
	if (since == NULL || datetime_parse_rfc3339(since, &since_ms) < 0)
		since_ms = ts_ms;
	w->rec = (uint8_t)rec;
	w->rec_ms = ts_ms;
	w->rec_since = since_ms;
out:
	json_decref(o);
}

/* Where w's clock stands after the journal's rows. */
static void
restore(struct care_watch *w)
{
	int64_t since = w->pass_ms;

	switch (w->rec) {
	case CARE_REC_CARE:
		if (w->pass_ms <= w->rec_ms) { /* away still */
			w->since_ms = w->rec_since;
			w->alert_ms = w->rec_ms;
			return;
		}
		break;
	case CARE_REC_WATCH:
		if (w->rec_since > since)
			since = w->rec_since;
		break;
	case CARE_REC_END:
		if (w->rec_ms > since)
			since = w->rec_ms;
		break;
	default:
		break;
	}
	if (since != 0)
		w->since_ms = since;
	else
		w->owed = true; /* nothing: from now, written down */
}

void
care_start(struct pipeline *p, int64_t now_ms, bool restored)
{
	struct care_live *c = &p->state->care;
	struct care_watch *w;
	size_t i;

	for (i = 0; i < c->n; i++) {
		w = &c->watch[i];
		w->since_ms = now_ms;
		w->alert_ms = 0;
		w->owed = false;
		if (restored)
			restore(w);
		w->pass_ms = w->rec_ms = w->rec_since = 0;
		w->rec = CARE_REC_NONE;
		due_again(p, w);
	}
	free(c->ids);
	c->ids = NULL;
	next_due(c, now_ms);
	if (c->n > 0)
		log_info("care: %zu persons watched", c->n);
}
