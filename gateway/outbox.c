/*
 * outbox.c - actions held back until the journal batch they follow is
 * committed, then let go in the order they were queued.  One allocation
 * per action: the topic and payload, or the command's strings.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "log.h"
#include "outbox.h"
#include "util.h"

/* Far more than a loop iteration makes; a stalled journal stops here. */
#define OUTBOX_MAX  65536
#define ENCODED_MAX 1024 /* a device command's payload */
#define TOPIC_LEN   256

enum action_kind {
	ACTION_PUBLISH = 1,
	ACTION_COMMAND, /* for a device: encoded when it leaves */
	ACTION_WAKE,
};

struct action {
	enum action_kind kind;
	uint64_t ticket;
	char *topic; /* PUBLISH: topic, NUL, payload */
	char *payload;
	size_t len;
	int qos;
	bool retain;
	const struct device *dev; /* COMMAND */
	struct command cmd;       /* COMMAND: strings in topic's block */
	unsigned sink;            /* WAKE */
};

struct outbox {
	struct outbox_sinks sinks;
	char *prefix;
	struct action *v; /* a ring */
	size_t head, n, cap;
	uint64_t unsent, dropped;
	uint64_t unsent_warned_ms, dropped_warned_ms;
};

struct outbox *
outbox_new(const struct outbox_sinks *sinks, const char *prefix)
{
	struct outbox *o = calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->sinks = *sinks;
	o->prefix = strdup(prefix);
	if (o->prefix == NULL) {
		free(o);
		return NULL;
	}
	return o;
}

void
outbox_free(struct outbox *o)
{
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < o->n; i++)
		free(o->v[(o->head + i) % o->cap].topic);
	free(o->v);
	free(o->prefix);
	free(o);
}

size_t
outbox_pending(const struct outbox *o)
{
	return o->n;
}

uint64_t
outbox_unsent(const struct outbox *o)
{
	return o->unsent;
}

/* A new action at the tail, zeroed; NULL when full or out of memory. */
static struct action *
push(struct outbox *o, enum action_kind kind, uint64_t ticket)
{
	struct action *a, *v;
	size_t cap, i;

	if (o->n == OUTBOX_MAX) {
		o->dropped++;
		if (log_ratelimit(&o->dropped_warned_ms))
			log_errx("outbox: %d actions wait for the journal: "
			         "%" PRIu64 " dropped so far",
			    OUTBOX_MAX, o->dropped);
		return NULL;
	}
	if (o->n == o->cap) {
		cap = o->cap ? o->cap * 2 : 64;
		v = malloc(cap * sizeof(*v));
		if (v == NULL) {
			log_errx("outbox: out of memory");
			return NULL;
		}
		for (i = 0; i < o->n; i++)
			v[i] = o->v[(o->head + i) % o->cap];
		free(o->v);
		o->v = v;
		o->cap = cap;
		o->head = 0;
	}
	a = &o->v[(o->head + o->n) % o->cap];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	a->ticket = ticket;
	o->n++;
	return a;
}

/* The last push undone: its allocation failed. */
static void
unpush(struct outbox *o)
{
	o->n--;
}

void
outbox_publish(struct outbox *o, uint64_t ticket, const char *topic,
    const void *payload, size_t len, int qos, bool retain)
{
	size_t tlen = strlen(topic) + 1;
	struct action *a = push(o, ACTION_PUBLISH, ticket);

	if (a == NULL)
		return;
	a->topic = malloc(tlen + len + 1);
	if (a->topic == NULL) {
		log_errx("outbox: out of memory: dropped a message to %s",
		    topic);
		unpush(o);
		return;
	}
	memcpy(a->topic, topic, tlen);
	a->payload = a->topic + tlen;
	memcpy(a->payload, payload, len);
	a->payload[len] = '\0';
	a->len = len;
	a->qos = qos;
	a->retain = retain;
}

void
outbox_wake(struct outbox *o, uint64_t ticket, unsigned sink)
{
	struct action *a = push(o, ACTION_WAKE, ticket);

	if (a != NULL)
		a->sink = sink;
}

/*
 * An MQTT device's command, as its driver encodes it.  QoS 0 for what is
 * worth something now or never (an open caught in a reconnection would
 * open a gate for nobody); QoS 1 for the fire release and its end.
 */
static int
encode(struct outbox *o, const struct device *dev, const struct command *cmd,
    char *topic, char *buf, int *qos)
{
	const struct driver_mqtt *m = dev->driver->mqtt;
	int n;

	if (m == NULL || m->encode == NULL)
		return 0;
	n = m->encode(dev, cmd, buf, ENCODED_MAX);
	if (n < 0) {
		log_errx("%s: cannot encode a command", dev->id);
		return -1;
	}
	snprintf(topic, TOPIC_LEN, "%s/%s/%s/cmd", o->prefix, m->kind, dev->id);
	*qos =
	    cmd->action == COMMAND_HOLD_OPEN || cmd->action == COMMAND_NORMAL ?
	    1 :
	    0;
	return n;
}

/* A copy of s at *p in a block sized by strings_size(). */
static const char *
keep(char **p, const char *s)
{
	const char *r = *p;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(*p, s, n);
	*p += n;
	return r;
}

static size_t
strings_size(const struct command *c)
{
	return (c->request ? strlen(c->request) + 1 : 0) +
	    (c->reason ? strlen(c->reason) + 1 : 0) +
	    (c->display ? strlen(c->display) + 1 : 0) + 1;
}

/*
 * Encoded when it leaves, not now: an open for a barrier that leaves too
 * late (the journal's disk stalled) is dropped instead (late()).
 */
void
outbox_command(struct outbox *o, uint64_t ticket, const struct device *dev,
    const struct command *cmd)
{
	struct action *a;
	char *p;

	a = push(o, ACTION_COMMAND, ticket);
	if (a == NULL)
		return;
	a->topic = malloc(strings_size(cmd));
	if (a->topic == NULL) {
		log_errx("%s: out of memory: dropped a command", dev->id);
		unpush(o);
		return;
	}
	a->dev = dev;
	a->cmd = *cmd;
	p = a->topic;
	a->cmd.request = keep(&p, cmd->request);
	a->cmd.reason = keep(&p, cmd->reason);
	a->cmd.display = keep(&p, cmd->display);
}

static void
not_sent(struct outbox *o)
{
	o->unsent++;
	if (log_ratelimit(&o->unsent_warned_ms))
		log_warnx("commands not sent so far: %" PRIu64
		          " (not connected)",
		    o->unsent);
}

/*
 * A barrier's open that could not leave within COMMAND_LATE_MS of its
 * decision would open for nobody, or for the car behind: it is dropped.
 * A gate's screen and the fire release are not opens that can be late.
 */
static bool
late(const struct action *a)
{
	return a->dev->driver->class == DEVICE_BARRIER && a->cmd.at_ms != 0 &&
	    (a->cmd.action == COMMAND_OPEN || a->cmd.action == COMMAND_PULSE) &&
	    mono_ms() > a->cmd.at_ms + COMMAND_LATE_MS;
}

/* A barrier's open queued before the fire release held everything: an
 * MQTT controller's open, or a relay board's flash, would end the hold
 * after open_ms.  The bus checks the same for what waits on it. */
static bool
pulse_to_held(const struct outbox *o, const struct action *a)
{
	return a->dev->driver->class == DEVICE_BARRIER &&
	    (a->cmd.action == COMMAND_OPEN || a->cmd.action == COMMAND_PULSE) &&
	    o->sinks.held != NULL && o->sinks.held(o->sinks.arg);
}

/* A command to its device: published when it takes commands over MQTT,
 * else to its bus (a charging point hears requests on MQTT, and is
 * commanded on its bus). */
void
outbox_command_now(struct outbox *o, const struct device *dev,
    const struct command *cmd)
{
	char topic[TOPIC_LEN], buf[ENCODED_MAX];
	int n, qos;

	if (dev->driver->mqtt != NULL && dev->driver->mqtt->encode != NULL) {
		n = encode(o, dev, cmd, topic, buf, &qos);
		if (n > 0 &&
		    o->sinks.publish(o->sinks.arg, topic, buf, (size_t)n, qos,
		        false) < 0)
			not_sent(o);
		return;
	}
	if (o->sinks.bus == NULL || o->sinks.bus(o->sinks.arg, dev, cmd) < 0)
		not_sent(o);
}

static void
act(struct outbox *o, struct action *a)
{
	switch (a->kind) {
	case ACTION_PUBLISH:
		/* A record or an answer: the broker's queue, or nothing;
		 * only commands are counted as not sent. */
		(void)o->sinks.publish(o->sinks.arg, a->topic, a->payload,
		    a->len, a->qos, a->retain);
		break;
	case ACTION_COMMAND:
		if (pulse_to_held(o, a)) {
			log_debug("%s: held open for the fire release: its "
			          "open is not sent",
			    a->dev->id);
			break;
		}
		if (late(a)) {
			if (o->sinks.late != NULL)
				o->sinks.late(o->sinks.arg, a->dev, &a->cmd);
			break;
		}
		outbox_command_now(o, a->dev, &a->cmd);
		break;
	case ACTION_WAKE:
		if (o->sinks.wake != NULL)
			o->sinks.wake(o->sinks.arg, a->sink);
		break;
	}
}

void
outbox_release(struct outbox *o, uint64_t ticket)
{
	struct action *a;

	while (o->n > 0) {
		a = &o->v[o->head];
		if (a->ticket > ticket)
			break;
		act(o, a);
		free(a->topic);
		o->head = (o->head + 1) % o->cap;
		o->n--;
	}
}
