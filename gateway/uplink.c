/*
 * uplink.c - the MQTT uplink.  Records are read from the cursor "uplink"
 * in id order, a batch at a time, and published QoS 1 while fewer than
 * [uplink] inflight wait for their PUBACK (inflight.c); the cursor moves
 * over the contiguous prefix acknowledged, in the journal's next commit.
 *
 * The session is persistent and libmosquitto keeps what it published
 * and was not acknowledged: on a reconnect it sends those again, in
 * order and with their message ids, before anything newer (its own
 * quota is the window's, so none of them is left behind).  So after a
 * reconnect the window is published again as it stands; after a
 * restart, everything from the cursor is.  The office de-duplicates on
 * id.  The records are published only from the loop, never from inside
 * libmosquitto's CONNACK callback, which runs before its resending.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "inflight.h"
#include "journal.h"
#include "log.h"
#include "mqtt.h"
#include "uplink.h"
#include "util.h"

#define CURSOR        "uplink"
#define READ_ROWS     256
#define READ_BYTES    (1024 * 1024)
#define READ_RETRY_MS 1000
#define ERROR_MAX     160

struct queued {
	int64_t seq, ts_ms;
	char *kind, *json;
	size_t len;
};

struct uplink {
	uv_loop_t *loop;
	const struct config *cfg;
	struct journal *journal;
	struct mqtt *mqtt;
	uplink_changed_fn *changed;
	void *arg;
	uv_timer_t timer; /* a read again, or a step off libmosquitto */
	char status_topic[256];

	struct inflight window;
	struct queued queue[READ_ROWS]; /* read, not yet published */
	size_t head, n;
	int64_t cursor;   /* every record up to it is acknowledged */
	int64_t read_to;  /* the last record read */
	int64_t last_seq; /* the last record journaled, as far as known */
	bool placed;      /* the cursor was read */
	bool reading, caught_up, poked, waiting;
	char error[ERROR_MAX]; /* the journal's, not the connection's */
	char told[ERROR_MAX];  /* the connection's, as status last said */
	bool stopping;
};

static void step(struct uplink *);

static void
on_timer(uv_timer_t *t)
{
	struct uplink *u = t->data;

	u->waiting = false;
	step(u);
}

static void
step_in(struct uplink *u, uint64_t ms)
{
	if (u->stopping)
		return;
	u->waiting = ms > 0;
	uv_timer_start(&u->timer, on_timer, ms, 0);
}

static void
drop_head(struct uplink *u)
{
	struct queued *q = &u->queue[u->head];

	free(q->json);
	free(q->kind);
	q->json = q->kind = NULL;
	u->head = (u->head + 1) % READ_ROWS;
	u->n--;
}

/* ---- reading ---- */

/* A read is answered: whether to go on with it (not stopping, and
 * read: a journal that cannot be read now is asked again later). */
static bool
answered(struct uplink *u, int rc)
{
	u->reading = false;
	if (u->stopping)
		return false;
	if (rc < 0) {
		str_copy(u->error, "the journal cannot be read",
		    sizeof(u->error));
		step_in(u, READ_RETRY_MS);
		return false;
	}
	return true;
}

static void
on_read(void *arg, int rc, const struct journal_row *rows, size_t n)
{
	struct uplink *u = arg;
	struct queued *q;
	size_t i;

	if (!answered(u, rc))
		return;
	u->error[0] = '\0';
	for (i = 0; i < n && u->n < READ_ROWS; i++) {
		q = &u->queue[(u->head + u->n) % READ_ROWS];
		q->json = malloc(rows[i].len);
		q->kind = strdup(rows[i].kind);
		if (q->json == NULL || q->kind == NULL) {
			free(q->json);
			free(q->kind);
			q->json = q->kind = NULL;
			break;
		}
		memcpy(q->json, rows[i].json, rows[i].len);
		q->len = rows[i].len;
		q->seq = rows[i].seq;
		q->ts_ms = rows[i].ts_ms;
		u->read_to = rows[i].seq;
		u->n++;
	}
	/* A short read is the end, unless more was committed meanwhile. */
	u->caught_up = i == n && n < READ_ROWS && !u->poked;
	u->poked = false;
	step(u);
}

/* A journal that cannot be read now is asked again, never taken for an
 * empty one. */
static void
on_cursor(void *arg, int rc, int64_t seq, const char *state)
{
	struct uplink *u = arg;

	(void)state;
	if (!answered(u, rc))
		return;
	u->cursor = u->read_to = seq;
	u->placed = true;
	step(u);
}

static void
read_more(struct uplink *u)
{
	int rc;

	u->reading = true;
	rc = u->placed ? journal_read(u->journal, u->read_to, JOURNAL_ALL,
	                     READ_ROWS, READ_BYTES, on_read, u) :
	                 journal_cursor_read(u->journal, CURSOR, on_cursor, u);
	if (rc < 0) {
		u->reading = false;
		step_in(u, READ_RETRY_MS);
	}
}

/* ---- publishing ---- */

/* Publish what was read while the window has room; read on when all
 * of it is out. */
static void
step(struct uplink *u)
{
	struct queued *q;
	char topic[256];
	bool sent = false;
	int mid;

	if (u->stopping || u->waiting || u->reading)
		return;
	if (!u->placed) {
		read_more(u);
		return;
	}
	while (
	    u->n > 0 && mqtt_connected(u->mqtt) && !inflight_full(&u->window)) {
		q = &u->queue[u->head];
		snprintf(topic, sizeof(topic), "%s/events/%s",
		    u->cfg->topic_prefix, q->kind);
		if (mqtt_publish_id(u->mqtt, topic, q->json, q->len, 1, false,
		        &mid) < 0)
			break;
		inflight_add(&u->window, mid, q->seq, q->ts_ms);
		drop_head(u);
		sent = true;
	}
	if (sent)
		mqtt_flush(u->mqtt);
	if (u->n == 0 && !u->caught_up)
		read_more(u);
}

static void
on_published(void *arg, int mid)
{
	struct uplink *u = arg;
	int64_t through = inflight_ack(&u->window, mid);

	if (through <= 0)
		return; /* the status, or a record behind one still waiting */
	u->cursor = through;
	if (journal_cursor(u->journal, CURSOR, through, NULL) < 0)
		log_errx("uplink: cannot move the cursor to %" PRId64
		         ": a restart may send again what was sent",
		    through);
	/* From the loop, after this burst of PUBACKs. */
	if (!uv_is_active((uv_handle_t *)&u->timer))
		step_in(u, 0);
}

static void
status_message(const char *state, char *buf, size_t size)
{
	snprintf(buf, size, "{\"state\":\"%s\",\"version\":\"%s\"}", state,
	    GATEWAY_VERSION);
}

static void
on_connected(void *arg)
{
	struct uplink *u = arg;
	char status[128];

	status_message("online", status, sizeof(status));
	mqtt_publish(u->mqtt, u->status_topic, status, strlen(status), 1, true);
	/* Not from here: libmosquitto sends again what waits for a PUBACK
	 * only once this callback returns. */
	step_in(u, 0);
	u->told[0] = '\0';
	if (u->changed != NULL)
		u->changed(u->arg);
}

/* Lost, or a connect failed: status says so when the reason is new (not
 * at every retry of the same one). */
static void
on_failed(void *arg)
{
	struct uplink *u = arg;

	if (strcmp(u->told, mqtt_error(u->mqtt)) == 0)
		return;
	str_copy(u->told, mqtt_error(u->mqtt), sizeof(u->told));
	if (u->changed != NULL)
		u->changed(u->arg);
}

/* ---- the sink ---- */

struct uplink *
uplink_new(uv_loop_t *loop, const struct config *cfg, struct journal *j,
    uplink_changed_fn *changed, void *arg)
{
	const struct config_uplink *c = &cfg->uplink;
	struct mqtt_callbacks cb = {
		.connected = on_connected,
		.failed = on_failed,
		.published = on_published,
	};
	struct mqtt_options o = {
		.name = "uplink",
		.host = c->host,
		.port = c->port,
		.keepalive = c->keepalive,
		.client_id = c->client_id,
		.clean_session = false,
		.username = c->username,
		.password = c->password,
		.tls = true,
		.ca_file = c->ca_file,
		.cert_file = c->cert_file,
		.key_file = c->key_file,
		/* The window, and room for the status at connect and stop. */
		.max_inflight = c->inflight + 2,
	};
	char will[128];
	struct uplink *u;

	if (c->host == NULL || j == NULL)
		return NULL;
	u = calloc(1, sizeof(*u));
	if (u == NULL || inflight_init(&u->window, (size_t)c->inflight) < 0) {
		free(u);
		log_errx("uplink: out of memory");
		return NULL;
	}
	u->loop = loop;
	u->cfg = cfg;
	u->journal = j;
	u->changed = changed;
	u->arg = arg;
	snprintf(u->status_topic, sizeof(u->status_topic), "%s/gateway/status",
	    cfg->topic_prefix);
	status_message("offline", will, sizeof(will));
	o.will_topic = u->status_topic;
	o.will_payload = will;
	cb.arg = u;
	u->mqtt = mqtt_open(loop, &o, &cb);
	if (u->mqtt == NULL) {
		inflight_free(&u->window);
		free(u);
		log_errx("uplink: cannot set up the connection to %s:%d",
		    c->host, c->port);
		return NULL;
	}
	uv_timer_init(loop, &u->timer);
	u->timer.data = u;
	mqtt_start(u->mqtt);
	step(u);
	return u;
}

void
uplink_poke(struct uplink *u, int64_t last_seq)
{
	if (u == NULL || u->stopping)
		return;
	if (last_seq > u->last_seq)
		u->last_seq = last_seq;
	if (u->reading) {
		u->poked = true;
		return;
	}
	u->caught_up = false;
	step(u);
}

json_t *
uplink_status(const struct uplink *u)
{
	const struct inflight_slot *s;
	int64_t last, oldest = 0, ts = 0, backlog;
	const char *error;
	char id[96];
	json_t *o;

	if (u == NULL)
		return json_pack("{s:s}", "state", "off");
	last = u->last_seq > u->read_to ? u->last_seq : u->read_to;
	backlog = last > u->cursor ? last - u->cursor : 0;
	o = json_pack("{s:s,s:I}", "state",
	    mqtt_connected(u->mqtt) ? "connected" : "connecting", "backlog",
	    (json_int_t)backlog);
	s = inflight_oldest(&u->window);
	if (s != NULL) {
		oldest = s->seq;
		ts = s->ts_ms;
	} else if (u->n > 0) {
		oldest = u->queue[u->head].seq;
		ts = u->queue[u->head].ts_ms;
	}
	if (o != NULL && backlog > 0 && oldest > 0) {
		snprintf(id, sizeof(id), "%s:%" PRId64, u->cfg->site, oldest);
		json_object_set_new(o, "oldest", json_string(id));
		if (ts > 0)
			json_object_set_new(o, "age_s",
			    json_integer((json_int_t)(now_ms() > ts ?
			            (now_ms() - ts) / 1000 :
			            0)));
	}
	error = mqtt_error(u->mqtt)[0] != '\0' ? mqtt_error(u->mqtt) : u->error;
	if (o != NULL && error[0] != '\0')
		json_object_set_new(o, "last_error", json_string(error));
	return o;
}

static void
on_closed(uv_handle_t *h)
{
	struct uplink *u = h->data;

	while (u->n > 0)
		drop_head(u);
	mqtt_free(u->mqtt); /* or once its handles are closed */
	inflight_free(&u->window);
	free(u);
}

void
uplink_stop(struct uplink *u)
{
	char status[128];

	if (u == NULL || u->stopping)
		return;
	u->stopping = true;
	status_message("offline", status, sizeof(status));
	mqtt_stop(u->mqtt, u->status_topic, status);
	uv_timer_stop(&u->timer);
	uv_close((uv_handle_t *)&u->timer, on_closed);
}
