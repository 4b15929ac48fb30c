/*
 * probe.c - is the local broker closed to strangers?  Now and then an
 * anonymous client, driven on the loop like the gateway's own connection
 * (mqtt.c), tries to connect to the same host and port: if the broker
 * accepts it, anyone on the compound's network can open gates.  It only
 * connects and goes: it neither subscribes nor publishes.
 */
#include <stdlib.h>

#include "config.h"
#include "log.h"
#include "mqtt.h"
#include "probe.h"

#define PROBE_EVERY_MS    (60 * 60 * 1000)
#define PROBE_DEADLINE_MS 15000 /* beyond mqtt.c's own 10 s for CONNACK */

struct probe {
	uv_loop_t *loop;
	const struct config *cfg;
	void (*changed)(void *arg, enum probe_verdict);
	void *arg;
	struct mqtt *m; /* the attempt in flight, or NULL */
	uv_timer_t every, finish;
	enum probe_verdict verdict, result;
	bool started;
	unsigned closing; /* timers the loop has yet to close */
	bool free_closed;
};

static void finish(struct probe *, enum probe_verdict);

static void
on_connected(void *arg)
{
	finish(arg, PROBE_OPEN);
}

/* Refused by the broker (not authorised): closed.  Not reached at all:
 * nothing learnt; the gateway's own connection says so already. */
static void
on_failed(void *arg)
{
	struct probe *p = arg;

	finish(p, mqtt_connack(p->m) > 0 ? PROBE_CLOSED : PROBE_UNKNOWN);
}

static void
on_message(void *arg, const char *topic, const void *payload, size_t len)
{
	(void)arg;
	(void)topic;
	(void)payload;
	(void)len;
}

/* From the loop, not from inside libmosquitto's callback. */
static void
on_finish(uv_timer_t *t)
{
	struct probe *p = t->data;
	enum probe_verdict v =
	    p->result == PROBE_PENDING ? PROBE_UNKNOWN : p->result;

	if (p->m != NULL) {
		mqtt_stop(p->m, NULL, NULL);
		mqtt_free(p->m);
		p->m = NULL;
	}
	if (v != PROBE_UNKNOWN && v != p->verdict) {
		p->verdict = v;
		p->changed(p->arg, v);
	}
}

/* The first answer decides; a deadline is no answer. */
static void
finish(struct probe *p, enum probe_verdict v)
{
	if (p->result != PROBE_PENDING)
		return;
	p->result = v;
	uv_timer_start(&p->finish, on_finish, 0, 0);
}

static void
on_every(uv_timer_t *t)
{
	struct probe *p = t->data;
	struct mqtt_callbacks cb = {
		.connected = on_connected,
		.failed = on_failed,
		.message = on_message,
		.arg = p,
	};
	struct mqtt_options o = {
		.name = "probe",
		.host = p->cfg->mqtt_host,
		.port = p->cfg->mqtt_port,
		.keepalive = 10,
		.client_id = NULL, /* a random one: it takes nobody's */
		.clean_session = true,
		.quiet = true,
	};

	if (p->m != NULL)
		return;
	p->m = mqtt_open(p->loop, &o, &cb);
	if (p->m == NULL)
		return;
	p->result = PROBE_PENDING;
	mqtt_start(p->m);
	/* A connect refused at once has decided already. */
	if (p->result == PROBE_PENDING)
		uv_timer_start(&p->finish, on_finish, PROBE_DEADLINE_MS, 0);
}

struct probe *
probe_new(uv_loop_t *loop, const struct config *cfg,
    void (*changed)(void *arg, enum probe_verdict), void *arg)
{
	struct probe *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->loop = loop;
	p->cfg = cfg;
	p->changed = changed;
	p->arg = arg;
	p->verdict = PROBE_UNKNOWN;
	p->result = PROBE_UNKNOWN;
	uv_timer_init(loop, &p->every);
	uv_timer_init(loop, &p->finish);
	p->every.data = p;
	p->finish.data = p;
	return p;
}

void
probe_start(struct probe *p)
{
	if (p == NULL || p->started)
		return;
	p->started = true;
	uv_timer_start(&p->every, on_every, 0, PROBE_EVERY_MS);
}

enum probe_verdict
probe_verdict(const struct probe *p)
{
	return p != NULL ? p->verdict : PROBE_UNKNOWN;
}

static void
closed(uv_handle_t *h)
{
	struct probe *p = h->data;

	if (--p->closing == 0 && p->free_closed)
		free(p);
}

void
probe_stop(struct probe *p)
{
	if (p == NULL)
		return;
	if (p->m != NULL) {
		mqtt_stop(p->m, NULL, NULL);
		mqtt_free(p->m);
		p->m = NULL;
	}
	p->closing = 2;
	uv_close((uv_handle_t *)&p->every, closed);
	uv_close((uv_handle_t *)&p->finish, closed);
}

void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	if (p->closing > 0)
		p->free_closed = true;
	else
		free(p);
}
