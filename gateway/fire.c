/*
 * fire.c - the fire release (DESIGN §5, GB 50116 / GB 55024): on a fire
 * device's alarm every gate and barrier is held open, and stays so until
 * every alarm has cleared and staff reset it; a yearly test holds them
 * for its seconds.  The one path that acts first and journals after: the
 * holds leave through outbox_command_now(), ahead of the journal, the
 * broker's other traffic and every other bus, before the alarm's record
 * is even appended.
 *
 * The hard-wired release in the door's own power circuit is the
 * installer's; this is the second path, so it must never be the one
 * that fails.  What it needs is all on the loop: the configured devices,
 * its live state, the outbox.  A relay barrier's hold is a coil written
 * on, which the board keeps by itself if the Pi dies (fail-safe); the
 * bus retries it until the board answers.  A gate's is a QoS 1
 * hold_open, sent again when it comes back online and when the broker
 * does.  Nothing here ever sends NORMAL but a reset or a test's end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert.h"
#include "config.h"
#include "datetime.h"
#include "dedup.h"
#include "log.h"
#include "native.h"
#include "outbox.h"
#include "pipeline.h"
#include "rules.h"
#include "state.h"
#include "util.h"

#define TEST_SECONDS_DEFAULT 10
#define TEST_SECONDS_MAX     3600
#define OPERATOR_MAX         64
/* The broker back this soon after a reset or a test's end: the gates
 * are told normal again, in case they missed it. */
#define NORMAL_AGAIN_MS (10 * 60 * 1000)
/* Staff requests share the dedup table with the devices' requests. */
#define REQUESTS_DEVICE "fire/" /* no device id has a slash */

static const char *const phase_names[] = {
	[FIRE_NORMAL] = "normal",
	[FIRE_ALARM] = "alarm",
	[FIRE_CLEARED] = "cleared",
	[FIRE_TEST] = "test",
};

static bool
held_class(const struct device *dev)
{
	return dev->driver->class == DEVICE_GATE ||
	    dev->driver->class == DEVICE_BARRIER;
}

/* One command for a gate or a barrier, at once. */
static void
command_now(struct pipeline *p, const struct device *dev,
    enum command_action action)
{
	struct command cmd = { .action = action, .at_ms = mono_ms() };

	outbox_command_now(p->outbox, dev, &cmd);
}

static bool
on_mqtt(const struct device *dev)
{
	return dev->driver->mqtt != NULL && dev->driver->mqtt->encode != NULL;
}

enum reach { REACH_ALL, REACH_MQTT, REACH_BUS };

/* HOLD_OPEN or NORMAL for every gate and barrier reached so: how many. */
static size_t
command_reach(struct pipeline *p, enum command_action action, enum reach r)
{
	const struct device *dev;
	size_t i, n = 0;

	for (i = 0; i < p->cfg->ndevices; i++) {
		dev = p->cfg->devices[i];
		if (!held_class(dev) || (r == REACH_MQTT && !on_mqtt(dev)) ||
		    (r == REACH_BUS && on_mqtt(dev)))
			continue;
		command_now(p, dev, action);
		n++;
	}
	return n;
}

static size_t
command_all(struct pipeline *p, enum command_action action)
{
	return command_reach(p, action, REACH_ALL);
}

bool
fire_holding(const struct pipeline *p)
{
	return p->state->fire.mode != FIRE_NORMAL;
}

int
fire_release_reason(const struct pipeline *p)
{
	switch (p->state->fire.mode) {
	case FIRE_ALARM:
	case FIRE_CLEARED:
		return RULES_FIRE_ALARM;
	case FIRE_TEST:
		return RULES_FIRE_TEST;
	default:
		return 0;
	}
}

/* A record of kind alarm; the phase is its decision. */
static void
journal_phase(struct pipeline *p, const char *phase, const struct device *dev,
    const char *request, const char *reason, json_t *extra)
{
	struct journal_record r = {
		.kind = "alarm",
		.device = dev ? dev->id : NULL,
		.request = request,
		.decision = phase,
		.reason = reason,
		.extra = extra ? extra : json_object(),
	};

	json_object_set_new(r.extra, "phase", json_string(phase));
	pipeline_record(p, &r, now_ms());
	json_decref(r.extra);
}

/* The fire devices that say alarm now: how many, and the first. */
static size_t
alarms(struct pipeline *p, const struct device **first)
{
	size_t i, n = 0;
	const struct device *dev;

	*first = NULL;
	for (i = 0; i < p->cfg->ndevices; i++) {
		dev = p->cfg->devices[i];
		if (dev->driver->class == DEVICE_FIRE &&
		    state_device(p->state, dev->index)->fire == 1) {
			if (n++ == 0)
				*first = dev;
		}
	}
	return n;
}

/* Has every fire device been read since start? */
static bool
all_read(struct pipeline *p)
{
	size_t i;
	const struct device *dev;

	for (i = 0; i < p->cfg->ndevices; i++) {
		dev = p->cfg->devices[i];
		if (dev->driver->class == DEVICE_FIRE &&
		    state_device(p->state, dev->index)->fire < 0)
			return false;
	}
	return true;
}

static void
set_mode(struct pipeline *p, enum fire_mode mode)
{
	p->state->fire.mode = mode;
	p->state->fire.since_ms = now_ms();
}

static void
alarm_on(struct pipeline *p, const struct device *dev)
{
	struct fire_live *f = &p->state->fire;
	uint64_t t0 = mono_ms();
	enum fire_mode was = f->mode;
	const struct alert_settings *a = config_alert(p->cfg, "fire");
	json_t *extra;
	size_t n;

	/* Commands first, whatever the mode: a hold sent twice is still a
	 * hold, and one lost is a door shut in a fire. */
	n = command_all(p, COMMAND_HOLD_OPEN);
	if (was == FIRE_NORMAL || was == FIRE_TEST)
		set_mode(p, FIRE_ALARM);
	else
		f->mode = FIRE_ALARM;
	log_errx("FIRE ALARM from %s: %zu gates and barriers held open "
	         "(%" PRIu64 " ms)%s",
	    dev->id, n, mono_ms() - t0,
	    was == FIRE_TEST ? "; the test became a real alarm" : "");
	extra = json_pack("{s:s,s:I}", "severity",
	    alert_severity_name(a->severity), "held", (json_int_t)n);
	/* Alert-worthy as [alert fire] says (urgent unless an installer
	 * turned it off): the release itself does not ask. */
	if (a->severity != ALERT_NONE)
		json_object_set_new(extra, "alert", json_string("fire"));
	journal_phase(p, "alarm", dev, NULL,
	    was == FIRE_TEST ? "alarm during a test" : "alarm", extra);
}

static void
journal_device_normal(struct pipeline *p, const struct device *dev,
    const struct device *other)
{
	char reason[160];
	struct journal_record r = {
		.kind = "alarm",
		.device = dev->id,
		.decision = "normal",
		.reason = reason,
	};

	snprintf(reason, sizeof(reason), "normal again; %s still says alarm",
	    other->id);
	pipeline_record(p, &r, now_ms());
}

static void
alarm_off(struct pipeline *p, const struct device *dev)
{
	const struct device *other;

	if (alarms(p, &other) > 0) {
		log_warnx("fire: %s is normal again; %s still says alarm",
		    dev->id, other->id);
		/* Not a phase of the release: a restart must know it. */
		journal_device_normal(p, dev, other);
		return;
	}
	set_mode(p, FIRE_CLEARED);
	log_warnx("fire alarm cleared (%s): gates and barriers stay open "
	          "until staff reset the release",
	    dev->id);
	journal_phase(p, "clear", dev, NULL, "every alarm has cleared", NULL);
}

void
fire_event(struct pipeline *p, const struct device *dev, const struct event *ev)
{
	struct device_state *ds = state_device(p->state, dev->index);
	const struct device *other;
	int was = ds->fire;

	if (ev->type != EVENT_FIRE)
		return;
	ds->fire = ev->u.fire.alarm ? 1 : 0;
	/* After a restart, was is what the journal last said of it: an
	 * alarm that still stands is neither a new alarm nor a change. */
	if (ds->fire == 1) {
		if (was != 1)
			alarm_on(p, dev);
		return;
	}
	/* Normal: an alarm that ended; or, after a restart during an
	 * alarm the journal named no device of, the last of the devices
	 * read, none of them in alarm. */
	if (p->state->fire.mode != FIRE_ALARM)
		return;
	if (was == 1 || (was < 0 && all_read(p) && alarms(p, &other) == 0))
		alarm_off(p, dev);
}

void
fire_online(struct pipeline *p, const struct device *dev, bool online)
{
	struct device_state *ds = state_device(p->state, dev->index);

	/* Offline is not an alarm, and says nothing of one: its last word
	 * stands.  One that said alarm still refuses a reset (fail-safe);
	 * back and still saying so, it is no new alarm.  Away past its
	 * grace, it is an urgent device_offline (pipeline.c). */
	if (!online && ds->fire == 1)
		log_warnx("fire: %s stopped answering while it said alarm: "
		          "no reset until it says normal",
		    dev->id);
}

/* The release ended (a reset, a test's end) this recently: a gate or
 * the broker back now may have missed its normal. */
static bool
recently_ended(const struct pipeline *p)
{
	const struct fire_live *f = &p->state->fire;

	return !fire_holding(p) && f->since_ms != 0 &&
	    now_ms() - f->since_ms < NORMAL_AGAIN_MS;
}

void
fire_device_back(struct pipeline *p, const struct device *dev)
{
	if (!held_class(dev))
		return;
	if (fire_holding(p)) {
		log_info("%-12s back during the fire release: held open again",
		    dev->id);
		command_now(p, dev, COMMAND_HOLD_OPEN);
	} else if (recently_ended(p)) {
		command_now(p, dev, COMMAND_NORMAL);
	}
}

void
fire_connected(struct pipeline *p)
{
	/* What was published while the broker was away went nowhere: the
	 * holds, or a recent release's end (a normal twice is harmless). */
	if (fire_holding(p))
		(void)command_reach(p, COMMAND_HOLD_OPEN, REACH_MQTT);
	else if (recently_ended(p))
		(void)command_reach(p, COMMAND_NORMAL, REACH_MQTT);
}

/* ---- staff requests: fire/reset, fire/test ---- */

static void
answer(struct pipeline *p, const char *request, const char *error)
{
	char topic[256];

	snprintf(topic, sizeof(topic), "%s/fire/result", p->cfg->topic_prefix);
	pipeline_answer(p, topic, request, error);
}

static void
refuse(struct pipeline *p, const char *what, const char *request,
    const char *operator, const char * error)
{
	struct journal_record r = {
		.kind = "alarm",
		.request = request,
		.decision = "refused",
		.reason = error,
		.extra = json_pack("{s:s}", "request_type", what),
	};

	if (operator!= NULL && * operator)
		json_object_set_new(r.extra, "operator", json_string(operator));
	log_warnx("fire %s %s refused: %s", what, request, error);
	pipeline_record(p, &r, now_ms());
	json_decref(r.extra);
	answer(p, request, error);
}

/* Back to normal: every gate and barrier let go. */
static size_t
restore(struct pipeline *p)
{
	size_t n = command_all(p, COMMAND_NORMAL);

	set_mode(p, FIRE_NORMAL);
	return n;
}

static void
reset(struct pipeline *p, const char *request, const char *operator)
{
	const struct device *dev;
	char error[160];
	size_t n;

	if (alarms(p, &dev) > 0) {
		snprintf(error, sizeof(error),
		    state_device(p->state, dev->index)->online == 0 ?
		        "%s said alarm and has not answered since: nothing "
		        "is reset until it says normal" :
		        "%s still says alarm: nothing is reset until it clears",
		    dev->id);
		refuse(p, "reset", request, operator, error);
		return;
	}
	if (!fire_holding(p)) {
		/* Normal all the same: a hold whose record a full disk lost
		 * before a restart is let go too, and a normal is harmless. */
		n = command_all(p, COMMAND_NORMAL);
		log_info("fire reset %s by %s: nothing to reset (%zu gates and "
		         "barriers told normal all the same)",
		    request, operator, n);
		answer(p, request, NULL);
		return;
	}
	n = restore(p);
	log_warnx("fire release reset by %s: %zu gates and barriers back to "
	          "normal",
	          operator, n);
	journal_phase(p, "reset", NULL, request, "reset by staff",
	    json_pack("{s:s}", "operator", operator));
	answer(p, request, NULL);
}

static void
test(struct pipeline *p, const char *request, const char *operator, int seconds)
{
	struct fire_live *f = &p->state->fire;
	size_t n;

	if (f->mode == FIRE_ALARM || f->mode == FIRE_CLEARED) {
		refuse(p, "test", request, operator,
		    "a real fire alarm is on: no test until it is reset");
		return;
	}
	if (f->mode == FIRE_TEST) {
		refuse(p, "test", request, operator, "a test is running");
		return;
	}
	n = command_all(p, COMMAND_HOLD_OPEN);
	set_mode(p, FIRE_TEST);
	f->test_until_ms = f->since_ms + (int64_t)seconds * 1000;
	log_warnx("fire test by %s: %zu gates and barriers held open for %d s",
	          operator, n, seconds);
	journal_phase(p, "test", NULL, request, "test by staff",
	    json_pack("{s:s,s:i}", "operator", operator, "seconds", seconds));
	answer(p, request, NULL);
}

static void
test_end(struct pipeline *p, const char *why)
{
	size_t n = restore(p);

	log_warnx("fire test over: %zu gates and barriers back to normal", n);
	journal_phase(p, "test_end", NULL, NULL, why, NULL);
}

/* A request that cannot be answered: counted, logged once a minute. */
static void
rejected(struct pipeline *p, const char *what, const char *why)
{
	p->state->rejected++;
	if (log_ratelimit(&p->state->fire.warned_ms))
		log_warnx("fire %s: rejected a request: %s (%" PRIu64
		          " bad requests so far; logged once a minute)",
		    what, why, p->state->rejected);
}

/*
 * {"id":"r-1","operator":"王师傅"} on fire/reset; fire/test also takes
 * "seconds".  One without a readable id is rejected and not answered,
 * as any request.
 */
void
fire_request(struct pipeline *p, const char *what, const void *payload,
    size_t len)
{
	char request[REQUEST_ID_MAX + 1], operator[OPERATOR_MAX + 1];
	char err[160];
	int64_t first, now = now_ms();
	json_int_t seconds = TEST_SECONDS_DEFAULT;
	json_t *root, *v;

	if (len > p->cfg->max_payload ||
	    (root = native_load(payload, len, err, sizeof(err))) == NULL) {
		rejected(p, what,
		    len > p->cfg->max_payload ? "payload too long" : err);
		return;
	}
	if (native_id(root, request, err, sizeof(err)) < 0) {
		rejected(p, what, err);
		goto done;
	}
	if (dedup_seen(p->state->dedup, REQUESTS_DEVICE, request, now,
	        &first)) {
		log_info("fire %s %s: seen before: not acted on again", what,
		    request);
		goto done;
	}
	if (native_string(root, "operator", operator, OPERATOR_MAX, false) !=
	    1) {
		refuse(p, what, request, NULL,
		    "'operator' is required: who did it");
		goto done;
	}
	v = json_object_get(root, "seconds");
	if (strcmp(what, "test") == 0 && v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > TEST_SECONDS_MAX) {
			snprintf(err, sizeof(err),
			    "'seconds' must be a whole number from 1 to %d",
			    TEST_SECONDS_MAX);
			refuse(p, what, request, operator, err);
			goto done;
		}
		seconds = json_integer_value(v);
	}
	if (strcmp(what, "reset") == 0)
		reset(p, request, operator);
	else
		test(p, request, operator,(int) seconds);
done:
	json_decref(root);
}

void
fire_tick(struct pipeline *p, int64_t now)
{
	struct fire_live *f = &p->state->fire;

	if (f->mode == FIRE_TEST && now >= f->test_until_ms)
		test_end(p, "the test's time is over");
}

/* ---- at start ---- */

/* Every fire device's state as the journal left it. */
static void
set_devices(struct pipeline *p, int fire)
{
	size_t i;

	for (i = 0; i < p->cfg->ndevices; i++)
		if (p->cfg->devices[i]->driver->class == DEVICE_FIRE)
			state_device(p->state, i)->fire = fire;
}

/*
 * One record of the release in force, oldest first: its mode, and which
 * fire devices said alarm, so that a panel that does not say it again
 * after a restart still stands in the way of a reset.  A device the
 * journal names that is no longer configured counts for nothing.
 */
void
fire_restore(void *arg, int64_t ts_ms, const char *body, size_t len)
{
	struct pipeline *p = arg;
	struct fire_live *f = &p->state->fire;
	const char *decision = NULL, *device = NULL;
	const struct device *dev;
	json_int_t seconds = 0;
	json_t *root = json_loadb(body, len, 0, NULL);

	if (root == NULL)
		return;
	json_unpack(root, "{s?s,s?s,s?I}", "decision", &decision, "device",
	    &device, "seconds", &seconds);
	dev = device ? config_device(p->cfg, device) : NULL;
	if (dev != NULL && dev->driver->class != DEVICE_FIRE)
		dev = NULL;
	if (decision == NULL) {
		/* not ours */
	} else if (strcmp(decision, "alarm") == 0) {
		if (f->mode != FIRE_ALARM)
			f->since_ms = ts_ms;
		f->mode = FIRE_ALARM;
		if (dev != NULL)
			state_device(p->state, dev->index)->fire = 1;
	} else if (strcmp(decision, "normal") == 0) {
		if (dev != NULL)
			state_device(p->state, dev->index)->fire = 0;
	} else if (strcmp(decision, "clear") == 0) {
		f->mode = FIRE_CLEARED;
		f->since_ms = ts_ms;
		set_devices(p, 0);
	} else if (strcmp(decision, "reset") == 0 ||
	    strcmp(decision, "test_end") == 0) {
		f->mode = FIRE_NORMAL;
		f->since_ms = ts_ms;
		set_devices(p, -1);
	} else if (strcmp(decision, "test") == 0) {
		f->mode = FIRE_TEST;
		f->since_ms = ts_ms;
		f->test_until_ms = ts_ms + (int64_t)seconds * 1000;
	}
	json_decref(root);
}

void
fire_start(struct pipeline *p)
{
	struct fire_live *f = &p->state->fire;
	char since[40];
	size_t n;

	if (f->mode == FIRE_NORMAL)
		return;
	datetime_format_rfc3339(f->since_ms, since, sizeof(since));
	if (f->mode == FIRE_TEST && now_ms() >= f->test_until_ms) {
		test_end(p, "the test ended while the gateway was down");
		return;
	}
	/* The coils were never let go: written on again all the same, for
	 * a board that lost power meanwhile.  The gates hear it once the
	 * broker is connected (fire_connected). */
	n = command_reach(p, COMMAND_HOLD_OPEN, REACH_BUS);
	log_errx("fire release in force since %s (%s): %zu gates and "
	         "barriers held open",
	    since, phase_names[f->mode], n);
}
