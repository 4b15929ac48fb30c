/*
 * wechat.c - the WeChat sink.  One message at a time, in the journal's
 * id order, from the cursor "wechat" in the sinks table:
 *
 * - A message goes when the budget allows it (robot_budget.c: per_minute
 *   in any minute, urgent_reserve of them only for messages that ring the
 *   duty mobiles).  A message that rings nobody and finds the budget
 *   spent is held back: counted by type, and the next message that can
 *   go is the summary of what was held.  One that rings waits for its
 *   slot, and so does the daily report (not an alert: never summarised,
 *   and outside the reserve).  Nothing is dropped.
 * - The cursor moves only when the robot answered errcode 0, in the
 *   journal's next commit, with what a summary still owes (the counts
 *   held back) as its state: a restart or a kill -9 repeats at most the
 *   message in flight, and loses no count.
 * - errcode 45009 and -1 pause the key for 30-65 s; 93000 stops sending
 *   until SIGHUP (the key file read again) or a restart; an HTTP error or
 *   no answer is retried with backoff from 5 s to 5 minutes; any other
 *   errcode is the robot refusing that message: after three tries it is
 *   logged and passed, so that one message cannot block every alert
 *   behind it.
 * - The key is in the URL only, which is never logged: http.c's where is.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "config.h"
#include "http.h"
#include "journal.h"
#include "log.h"
#include "robot.h"
#include "secret.h"
#include "util.h"
#include "wechat.h"

#define READ_ROWS      16
#define READ_BYTES     (64 * 1024)
#define READ_RETRY_MS  1000
#define PAUSE_MS       30000 /* 45009, -1: 30-65 s */
#define PAUSE_SPAN_MS  35000
#define BACKOFF_MIN_MS 5000
#define BACKOFF_MAX_MS 300000
#define REFUSED_TRIES  3
#define CONNECT_MS     5000
#define ERROR_MAX      160

enum sink_state {
	SINK_OK,       /* sending, or nothing to send */
	SINK_RETRYING, /* the robot said too often or busy: paused */
	SINK_FAILING,  /* no answer, or an HTTP error: backing off */
	SINK_STOPPED,  /* the key is invalid: until SIGHUP */
};

static const char *const state_names[] = { "ok", "retrying", "failing",
	"stopped" };

struct queued {
	int64_t seq;
	char *json;
	size_t len;
};

struct wechat {
	uv_loop_t *loop;
	const struct config *cfg;
	enum wechat_role role;
	const char *cursor_name; /* "wechat", or "report" */
	const char *key_file;    /* its robot's, read again on SIGHUP */
	struct journal *journal;
	struct http *http;
	char *key, *url; /* secrets: never logged */
	uv_timer_t timer;
	bool waiting;  /* the timer runs: a pause, a backoff, a slot */
	bool for_slot; /* only for the budget: news may not wait for it */
	wechat_changed_fn *changed;
	void *arg;

	struct robot_limiter limiter;
	struct robot_held held; /* since: wall clock */
	int64_t held_through;   /* the last record held back */
	int64_t cursor;         /* every record up to it is done */
	int64_t read_to;        /* the last record read into the queue */
	struct queued queue[READ_ROWS];
	size_t head, n;
	bool reading, caught_up, poked;
	bool placed; /* the cursor was read: sending may begin */

	/* The message in flight, or waiting for its slot. */
	bool sending, summary;
	struct robot_message msg;

	enum sink_state state;
	long long errcode;
	char error[ERROR_MAX];
	unsigned tries;     /* of the message at the head */
	int64_t backoff_ms; /* the next one's */
	uint64_t delivered, summaries, passed;
	bool stopping;
};

static void step(struct wechat *);

static void
set_state(struct wechat *w, enum sink_state s, long long errcode,
    const char *error)
{
	bool change = s != w->state || errcode != w->errcode;

	w->state = s;
	w->errcode = errcode;
	str_copy(w->error, error != NULL ? error : "", sizeof(w->error));
	if (change && w->changed != NULL)
		w->changed(w->arg);
}

static void
on_timer(uv_timer_t *t)
{
	struct wechat *w = t->data;

	w->waiting = false;
	step(w);
}

static void
wait_ms(struct wechat *w, int64_t ms)
{
	if (ms < 1)
		ms = 1;
	w->waiting = true;
	w->for_slot = false;
	uv_timer_start(&w->timer, on_timer, (uint64_t)ms, 0);
}

/* ---- the cursor and what a summary owes ---- */

static json_t *
held_json(const struct wechat *w)
{
	json_t *o, *counts;
	int i;

	if (w->held.total == 0)
		return NULL;
	counts = json_object();
	for (i = 0; i <= ALERT_TYPES; i++)
		if (w->held.count[i] > 0)
			json_object_set_new(counts,
			    i < ALERT_TYPES ? alert_type_name(i) : "other",
			    json_integer(w->held.count[i]));
	o = json_pack("{s:I,s:I,s:o}", "since", (json_int_t)w->held.since,
	    "through", (json_int_t)w->held_through, "counts", counts);
	return o;
}

static void
held_load(struct wechat *w, const char *state)
{
	json_t *o = state != NULL ? json_loads(state, 0, NULL) : NULL;
	json_t *counts = json_object_get(o, "counts"), *v;
	const char *type;
	json_int_t k;
	int i;

	if (o == NULL)
		return;
	json_object_foreach(counts, type, v)
	{
		i = alert_type_index(type);
		for (k = json_integer_value(v); k > 0 && k < 1000000; k--)
			robot_hold(&w->held, i,
			    json_integer_value(json_object_get(o, "since")));
	}
	w->held_through = json_integer_value(json_object_get(o, "through"));
	json_decref(o);
}

/* Done up to seq: the cursor moves in the next commit. */
static void
advance(struct wechat *w, int64_t seq)
{
	json_t *state;
	char *text = NULL;

	if (seq > w->cursor)
		w->cursor = seq;
	state = held_json(w);
	if (state != NULL)
		text = json_dumps(state, JSON_COMPACT);
	json_decref(state);
	if (journal_cursor(w->journal, w->cursor_name, w->cursor, text) < 0)
		log_errx("%s: cannot move the cursor to %" PRId64
		         ": a restart may send again what was sent",
		    w->cursor_name, w->cursor);
	free(text);
}

/* ---- the queue of records read ---- */

static void
pop(struct wechat *w)
{
	struct queued *q = &w->queue[w->head];

	free(q->json);
	q->json = NULL;
	w->head = (w->head + 1) % READ_ROWS;
	w->n--;
	w->tries = 0;
}

/* A read is answered: whether to go on with it (not stopping, and
 * read: a journal that cannot be read now is asked again later). */
static bool
answered(struct wechat *w, int rc)
{
	w->reading = false;
	if (w->stopping)
		return false;
	if (rc < 0) {
		wait_ms(w, READ_RETRY_MS);
		return false;
	}
	return true;
}

static void
on_read(void *arg, int rc, const struct journal_row *rows, size_t n)
{
	struct wechat *w = arg;
	struct queued *q;
	size_t i;

	if (!answered(w, rc))
		return;
	for (i = 0; i < n && w->n < READ_ROWS; i++) {
		q = &w->queue[(w->head + w->n) % READ_ROWS];
		q->json = malloc(rows[i].len + 1);
		if (q->json == NULL)
			break;
		memcpy(q->json, rows[i].json, rows[i].len);
		q->json[rows[i].len] = '\0';
		q->len = rows[i].len;
		q->seq = rows[i].seq;
		w->read_to = rows[i].seq;
		w->n++;
	}
	/* A short read is the end, unless more was committed meanwhile. */
	w->caught_up = i == n && n < READ_ROWS && !w->poked;
	w->poked = false;
	step(w);
}

/* The cursor and what a summary owes, before anything is read: a
 * journal that cannot be read now is asked again, never taken for an
 * empty one (which would send every alert it holds again). */
static void
on_cursor(void *arg, int rc, int64_t seq, const char *state)
{
	struct wechat *w = arg;

	if (!answered(w, rc))
		return;
	w->cursor = seq;
	held_load(w, state);
	w->read_to = w->cursor > w->held_through ? w->cursor : w->held_through;
	w->placed = true;
	step(w);
}

static void
read_more(struct wechat *w)
{
	if (!w->placed) {
		w->reading = true;
		if (journal_cursor_read(w->journal, w->cursor_name, on_cursor,
		        w) < 0) {
			w->reading = false;
			wait_ms(w, READ_RETRY_MS);
		}
		return;
	}
	w->reading = true;
	if (journal_read(w->journal, w->read_to, JOURNAL_NOTIFY, READ_ROWS,
	        READ_BYTES, on_read, w) < 0) {
		w->reading = false;
		wait_ms(w, READ_RETRY_MS);
	}
}

/* ---- sending ---- */

static void on_sent(void *arg, const struct http_result *);

static void
send_msg(struct wechat *w, bool summary)
{
	struct http_request req = { 0 };
	char *body;

	w->summary = summary;
	body = w->msg.text ?
	    robot_text(w->msg.content, w->msg.mobiles, w->msg.nmobiles) :
	    robot_markdown(w->msg.content);
	if (body == NULL) {
		wait_ms(w, BACKOFF_MIN_MS);
		return;
	}
	req.url = w->url;
	req.body = body;
	req.body_len = strlen(body);
	req.timeout_ms = (unsigned)w->cfg->wechat.timeout_s * 1000;
	req.connect_timeout_ms = CONNECT_MS;
	req.stall_s = (unsigned)w->cfg->wechat.timeout_s;
	if (http_post(w->http, &req, on_sent, w) < 0) {
		free(body);
		wait_ms(w, BACKOFF_MIN_MS);
		return;
	}
	free(body);
	w->sending = true;
	/* The robot counts every request it gets, answered or not. */
	robot_sent(&w->limiter, (int64_t)mono_ms());
}

static bool
send_summary(struct wechat *w)
{
	memset(&w->msg, 0, sizeof(w->msg));
	w->msg.type = -1;
	if (robot_summary(&w->held, now_ms(), w->msg.content,
	        sizeof(w->msg.content)) < 0)
		return false;
	send_msg(w, true);
	return true;
}

/* What comes next: a read, a summary, the head's message, or a wait. */
static void
step(struct wechat *w)
{
	struct queued *q;
	int64_t now;

	while (!w->stopping && !w->sending && !w->reading && !w->waiting &&
	    w->state != SINK_STOPPED) {
		now = (int64_t)mono_ms();
		if (w->n == 0) {
			if (!w->caught_up) {
				read_more(w);
				return;
			}
			if (w->held.total == 0)
				return; /* idle until poked */
			if (!robot_may_send(&w->limiter, now, false)) {
				/* A message that rings may come meanwhile. */
				wait_ms(w,
				    robot_next_send(&w->limiter, now, false) -
				        now);
				w->for_slot = true;
				return;
			}
			send_summary(w);
			return;
		}
		q = &w->queue[w->head];
		if (robot_compose(q->json, q->len, w->cfg, &w->msg) < 0) {
			log_errx("%s: record %" PRId64 " cannot be read "
			         "as a message: passed",
			    w->cursor_name, q->seq);
			pop(w);
			w->passed++;
			continue;
		}
		/* The other robot's: passed, as sent. */
		if ((w->role == WECHAT_ALERTS && w->msg.report) ||
		    (w->role == WECHAT_REPORTS && !w->msg.report)) {
			int64_t seq = q->seq;

			pop(w);
			advance(w, seq);
			continue;
		}
		/* What was held back goes first, when it can. */
		if (w->held.total > 0 &&
		    robot_may_send(&w->limiter, now, false)) {
			send_summary(w);
			return;
		}
		if (robot_may_send(&w->limiter, now, w->msg.urgent)) {
			send_msg(w, false);
			return;
		}
		if (!w->msg.urgent && !w->msg.keep) {
			robot_hold(&w->held, w->msg.type, now_ms());
			w->held_through = q->seq;
			pop(w);
			continue;
		}
		wait_ms(w,
		    robot_next_send(&w->limiter, now, w->msg.urgent) - now);
		return;
	}
}

/* Done with the message sent: accepted by the robot, or passed. */
static void
done(struct wechat *w, bool accepted)
{
	int64_t seq;

	w->tries = 0;
	w->backoff_ms = 0;
	if (w->summary) {
		seq = w->held_through;
		robot_held_clear(&w->held);
		w->held_through = 0;
		w->summaries += accepted;
		advance(w, seq);
		return;
	}
	seq = w->queue[w->head].seq;
	pop(w);
	w->delivered += accepted;
	advance(w, seq);
}

static void
back_off(struct wechat *w, const char *error)
{
	w->backoff_ms = (int64_t)backoff_next((uint64_t)w->backoff_ms,
	    BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	if (w->state != SINK_FAILING)
		log_warnx("%s: %s: alerts wait in the journal, tried "
		          "again from %lld s on",
		    w->cursor_name, error, (long long)(w->backoff_ms / 1000));
	set_state(w, SINK_FAILING, 0, error);
	/* Full jitter above the floor: many gateways, one robot. */
	wait_ms(w, random_between(w->backoff_ms / 2, w->backoff_ms));
}

static void
on_sent(void *arg, const struct http_result *res)
{
	struct wechat *w = arg;
	long long errcode = 0;
	char error[ERROR_MAX];

	w->sending = false;
	if (res->stopped || w->stopping)
		return;
	if (res->curl_code != 0 || res->status < 200 || res->status > 299) {
		if (res->curl_code != 0)
			snprintf(error, sizeof(error), "%s: %s", res->where,
			    res->error);
		else
			snprintf(error, sizeof(error), "%s: HTTP %ld",
			    res->where, res->status);
		back_off(w, error);
		return;
	}
	switch (robot_answer(res->body, res->body_len, &errcode)) {
	case ROBOT_OK:
		if (w->state != SINK_OK)
			log_info("%s: the robot takes messages again",
			    w->cursor_name);
		done(w, true);
		set_state(w, SINK_OK, 0, NULL);
		break;
	case ROBOT_RETRY:
		snprintf(error, sizeof(error), "the robot said errcode %lld",
		    errcode);
		log_warnx("%s: %s (%s): paused for 30-65 s", w->cursor_name,
		    error, errcode == -1 ? "busy" : "too many messages");
		set_state(w, SINK_RETRYING, errcode, error);
		wait_ms(w, random_between(PAUSE_MS, PAUSE_MS + PAUSE_SPAN_MS));
		return;
	case ROBOT_STOPPED:
		log_errx("%s: the robot's key is invalid (errcode %lld): "
		         "nothing is sent until webhook_key_file holds a "
		         "valid key and gatewayd is told (SIGHUP, or "
		         "systemctl reload); alerts wait in the journal",
		    w->cursor_name, errcode);
		set_state(w, SINK_STOPPED, errcode,
		    "the robot's key is invalid");
		return;
	case ROBOT_ERROR:
		if (++w->tries >= REFUSED_TRIES && !w->summary) {
			log_errx("%s: the robot refused record %" PRId64
			         " %u times (errcode %lld): passed, the next "
			         "goes on",
			    w->cursor_name, w->queue[w->head].seq, w->tries,
			    errcode);
			w->passed++;
			done(w, false);
			break;
		}
		snprintf(error, sizeof(error),
		    "the robot refused a message (errcode %lld)", errcode);
		w->errcode = errcode;
		back_off(w, error);
		return;
	}
	step(w);
}

/* ---- the sink ---- */

static int
set_key(struct wechat *w, char *key)
{
	char *url;

	if (asprintf(&url, "%s?key=%s", w->cfg->wechat.base_url, key) < 0)
		return -1;
	secret_free(w->key);
	secret_free(w->url);
	w->key = key;
	w->url = url;
	return 0;
}

struct wechat *
wechat_new(uv_loop_t *loop, const struct config *cfg, struct journal *j,
    enum wechat_role role, wechat_changed_fn *changed, void *arg)
{
	const char *secret =
	    role == WECHAT_REPORTS ? cfg->report.key : cfg->wechat.key;
	struct wechat *w;
	char *key;

	if (secret == NULL || j == NULL)
		return NULL;
	w = calloc(1, sizeof(*w));
	key = strdup(secret);
	if (w == NULL || key == NULL) {
		free(w);
		secret_free(key);
		log_errx("wechat: out of memory");
		return NULL;
	}
	w->loop = loop;
	w->cfg = cfg;
	w->role = role;
	w->cursor_name = role == WECHAT_REPORTS ? "report" : "wechat";
	w->key_file = role == WECHAT_REPORTS ? cfg->report.key_file :
	                                       cfg->wechat.key_file;
	w->journal = j;
	w->changed = changed;
	w->arg = arg;
	if (set_key(w, key) < 0 ||
	    robot_limiter_init(&w->limiter, cfg->wechat.per_minute,
	        cfg->wechat.urgent_reserve) < 0 ||
	    (w->http = http_new(loop, 1, 1)) == NULL) {
		secret_free(key);
		secret_free(w->url);
		free(w);
		log_errx("wechat: cannot set up the robot's sink");
		return NULL;
	}
	uv_timer_init(loop, &w->timer);
	w->timer.data = w;
	step(w);
	return w;
}

void
wechat_poke(struct wechat *w)
{
	if (w == NULL || w->stopping)
		return;
	if (w->reading) {
		w->poked = true;
		return;
	}
	w->caught_up = false;
	if (w->waiting && w->for_slot) {
		uv_timer_stop(&w->timer);
		w->waiting = false;
	}
	step(w);
}

void
wechat_rekey(struct wechat *w)
{
	char *key = NULL, err[512];

	if (w == NULL || w->stopping)
		return;
	if (secret_read(w->key_file, &key, err, sizeof(err)) < 0) {
		log_errx("%s: webhook_key_file %s; the key read before stays",
		    w->cursor_name, err);
		return;
	}
	if (set_key(w, key) < 0) {
		secret_free(key);
		return;
	}
	if (w->state == SINK_STOPPED) {
		log_info("%s: the key was read again: sending resumes",
		    w->cursor_name);
		set_state(w, SINK_OK, 0, NULL);
		step(w);
	}
}

json_t *
wechat_status(const struct wechat *w)
{
	json_t *o;

	if (w == NULL)
		return json_pack("{s:s}", "state", "off");
	o = json_pack("{s:s,s:I,s:I,s:I}", "state", state_names[w->state],
	    "delivered", (json_int_t)w->delivered, "summaries",
	    (json_int_t)w->summaries, "held", (json_int_t)w->held.total);
	if (o != NULL && w->errcode != 0)
		json_object_set_new(o, "errcode", json_integer(w->errcode));
	if (o != NULL && w->error[0] != '\0')
		json_object_set_new(o, "last_error", json_string(w->error));
	return o;
}

static void
on_closed(uv_handle_t *h)
{
	struct wechat *w = h->data;
	size_t i;

	for (i = 0; i < READ_ROWS; i++)
		free(w->queue[i].json);
	secret_free(w->key);
	secret_free(w->url);
	free(w);
}

void
wechat_stop(struct wechat *w)
{
	if (w == NULL || w->stopping)
		return;
	w->stopping = true;
	uv_timer_stop(&w->timer);
	http_free(w->http);
	w->http = NULL;
	uv_close((uv_handle_t *)&w->timer, on_closed);
}
