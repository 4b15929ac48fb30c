/*
 * office.c - the office sink.  One request at a time, in the journal's
 * id order, from the cursor "office":
 *
 * - A batch is read off the loop (at most [office] batch records and
 *   1 MB) and POSTed as {"site":...,"gateway":...,"events":[...]} with
 *   the token as a Bearer; 2xx moves the cursor past it in the next
 *   commit.  A kill -9 or a lost answer sends a batch again, perhaps cut
 *   differently: the office de-duplicates on id.
 * - 429, 5xx, a network error, a timeout: the same batch again after an
 *   exponential backoff from 1 s to 5 minutes with full jitter, or after
 *   Retry-After (up to an hour) when the office says so.
 * - 401 and 403: the token is wrong.  Sending stops, an alert is raised,
 *   nothing is set aside; SIGHUP (the token file read again) resumes.
 * - Any other 4xx three times in a row: the batch is halved until the
 *   one record the office refuses is found (each half tried once); that
 *   record goes to dead_letters with a delivery_failed alert naming its
 *   id, and delivery goes on behind it.  No head-of-line blocking.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "journal.h"
#include "log.h"
#include "office.h"
#include "secret.h"
#include "util.h"

#define CURSOR            "office"
#define BATCH_BYTES       (1024 * 1024 - 4096) /* the envelope's room */
#define READ_RETRY_MS     1000
#define BACKOFF_MIN_MS    1000
#define BACKOFF_MAX_MS    300000
#define RETRY_AFTER_MAX_S 3600
#define REFUSED_TRIES     3
#define PROBES            3 /* records after a refused one tried alone */
#define CONNECT_MS        10000
#define ERROR_MAX         200

enum office_state {
	OFFICE_OK,
	OFFICE_FAILING, /* backing off */
	OFFICE_REFUSED, /* 401/403: until the token is fixed */
};

static const char *const state_names[] = { "ok", "failing", "refused" };

struct row {
	int64_t seq, ts_ms;
	char *json;
	size_t len;
};

struct office {
	uv_loop_t *loop;
	const struct config *cfg;
	struct journal *journal;
	struct http *http;
	char *token;    /* a secret: never logged */
	char *envelope; /* {"site":...,"gateway":...,"events":[ */
	uv_timer_t timer;
	bool waiting;
	office_alert_fn *alert;
	office_changed_fn *changed;
	void *arg;

	int64_t cursor;   /* every record up to it is delivered */
	int64_t last;     /* the newest record committed, as told */
	bool placed;      /* the cursor was read */
	struct row *rows; /* the batch read: [a, n) not yet delivered */
	size_t n, a, b;   /* in flight: [a, b) */
	bool reading, sending, caught_up, poked;
	/* Other 4xx: tries of [a, b); when splitting, the refused record
	 * is in [a, suspect). */
	unsigned refused;
	bool splitting;
	size_t suspect;
	/* The refused record found: the next ones (up to PROBES) are
	 * tried alone before it is set aside, so that an office refusing
	 * everything (a wrong url: 404) is not taken for one refusing a
	 * record, one set aside per round.  0: not probing; k: rows[a + k]
	 * is tried. */
	size_t probe;
	long probe_status;  /* what the refused record got */
	bool told_refusing; /* alerted that it refuses everything */

	enum office_state state;
	int64_t backoff_ms;
	char error[ERROR_MAX];
	uint64_t delivered, requests, set_aside;
	bool stopping;
};

static void step(struct office *);

static void
changed(struct office *o, enum office_state s, const char *error)
{
	bool change = s != o->state;

	o->state = s;
	if (error != NULL)
		str_copy(o->error, error, sizeof(o->error));
	if (change && o->changed != NULL)
		o->changed(o->arg);
}

static void
on_timer(uv_timer_t *t)
{
	struct office *o = t->data;

	o->waiting = false;
	step(o);
}

static void
wait_ms(struct office *o, int64_t ms)
{
	o->waiting = true;
	uv_timer_start(&o->timer, on_timer, (uint64_t)(ms < 1 ? 1 : ms), 0);
}

/* ---- the batch ---- */

static void
drop_rows(struct office *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->rows[i].json);
	o->n = o->a = o->b = 0;
	o->splitting = false;
	o->probe = 0;
	o->refused = 0;
}

/* A read is answered: whether to go on with it (not stopping, and
 * read: a journal that cannot be read now is asked again later). */
static bool
answered(struct office *o, int rc)
{
	o->reading = false;
	if (o->stopping)
		return false;
	if (rc < 0) {
		wait_ms(o, READ_RETRY_MS);
		return false;
	}
	return true;
}

static void
on_read(void *arg, int rc, const struct journal_row *rows, size_t n)
{
	struct office *o = arg;
	size_t i;

	if (!answered(o, rc))
		return;
	drop_rows(o);
	for (i = 0; i < n; i++) {
		o->rows[i].json = malloc(rows[i].len + 1);
		if (o->rows[i].json == NULL)
			break;
		memcpy(o->rows[i].json, rows[i].json, rows[i].len);
		o->rows[i].json[rows[i].len] = '\0';
		o->rows[i].len = rows[i].len;
		o->rows[i].seq = rows[i].seq;
		o->rows[i].ts_ms = rows[i].ts_ms;
		o->n++;
	}
	o->caught_up = o->n == 0 && !o->poked;
	o->poked = false;
	step(o);
}

static void
on_cursor(void *arg, int rc, int64_t seq, const char *state)
{
	struct office *o = arg;

	(void)state;
	if (!answered(o, rc))
		return;
	o->cursor = seq;
	o->placed = true;
	step(o);
}

static void
read_more(struct office *o)
{
	int rc;

	o->reading = true;
	rc = o->placed ?
	    journal_read(o->journal, o->cursor, JOURNAL_ALL,
	        (size_t)o->cfg->office.batch, BATCH_BYTES, on_read, o) :
	    journal_cursor_read(o->journal, CURSOR, on_cursor, o);
	if (rc < 0) {
		o->reading = false;
		wait_ms(o, READ_RETRY_MS);
	}
}

/* Done with up to rows[upto - 1] (delivered, or set aside): the cursor
 * moves in the next commit. */
static void
past(struct office *o, size_t upto)
{
	o->cursor = o->rows[upto - 1].seq;
	o->a = upto;
	if (journal_cursor(o->journal, CURSOR, o->cursor, NULL) < 0)
		log_errx("office: cannot move the cursor to %" PRId64
		         ": a restart sends those records again",
		    o->cursor);
}

/* ---- sending ---- */

static void on_sent(void *arg, const struct http_result *);

static void
send_range(struct office *o, size_t a, size_t b)
{
	struct http_request req = { 0 };
	size_t i, len = strlen(o->envelope) + 2;
	char *body, *p;

	for (i = a; i < b; i++)
		len += o->rows[i].len + 1;
	body = malloc(len + 1);
	if (body == NULL) {
		wait_ms(o, BACKOFF_MIN_MS);
		return;
	}
	p = body + str_copy(body, o->envelope, len + 1);
	for (i = a; i < b; i++) {
		if (i > a)
			*p++ = ',';
		memcpy(p, o->rows[i].json, o->rows[i].len);
		p += o->rows[i].len;
	}
	memcpy(p, "]}", 3);
	req.url = o->cfg->office.url;
	req.body = body;
	req.body_len = strlen(body);
	req.bearer = o->token;
	req.ca_file = o->cfg->office.ca_file;
	req.timeout_ms = (unsigned)o->cfg->office.timeout_s * 1000;
	req.connect_timeout_ms = CONNECT_MS;
	req.stall_s = (unsigned)o->cfg->office.timeout_s;
	if (http_post(o->http, &req, on_sent, o) < 0) {
		free(body);
		wait_ms(o, BACKOFF_MIN_MS);
		return;
	}
	free(body);
	o->b = b;
	o->sending = true;
	o->requests++;
}

static void
step(struct office *o)
{
	while (!o->stopping && !o->sending && !o->reading && !o->waiting &&
	    o->state != OFFICE_REFUSED) {
		if (!o->placed || o->a == o->n) {
			if (o->placed && o->caught_up)
				return; /* idle until poked */
			read_more(o);
			return;
		}
		if (o->probe > 0) {
			send_range(o, o->a + o->probe, o->a + o->probe + 1);
			return;
		}
		if (o->splitting) {
			/* The first half of where the refused record is;
			 * alone, it is tried on its own. */
			send_range(o, o->a, o->a + (o->suspect - o->a + 1) / 2);
			return;
		}
		send_range(o, o->a, o->n);
		return;
	}
}

static void
back_off(struct office *o, const char *error, long retry_after_s)
{
	int64_t wait;

	o->backoff_ms = (int64_t)backoff_next((uint64_t)o->backoff_ms,
	    BACKOFF_MIN_MS, BACKOFF_MAX_MS);
	/* Full jitter: many gateways coming back at once spread out. */
	wait = random_between(0, o->backoff_ms);
	if (retry_after_s > 0)
		wait = (int64_t)(retry_after_s < RETRY_AFTER_MAX_S ?
		               retry_after_s :
		               RETRY_AFTER_MAX_S) *
		    1000;
	if (o->state != OFFICE_FAILING)
		log_warnx("office: %s: records wait in the journal, sent "
		          "again in %.1f s",
		    error, (double)wait / 1000);
	changed(o, OFFICE_FAILING, error);
	wait_ms(o, wait);
}

/* The one record left is refused: set aside, alerted, passed. */
static void
set_aside(struct office *o, long status)
{
	char why[ERROR_MAX], id[96];
	int64_t seq = o->rows[o->a].seq;

	snprintf(id, sizeof(id), "%s:%" PRId64, o->cfg->site, seq);
	snprintf(why, sizeof(why),
	    "the office refuses record %s (HTTP %ld): set aside", id, status);
	log_errx("office: %s in dead_letters; delivery goes on", why);
	(void)journal_dead_letter(o->journal, CURSOR, seq, why);
	if (o->alert != NULL)
		o->alert(o->arg, why, seq);
	o->set_aside++;
	past(o, o->a + 1);
	o->splitting = false;
	o->probe = 0;
	o->refused = 0;
}

/* The record found refused: the next is tried alone before it is set
 * aside, unless there is none. */
static void
found(struct office *o, long status)
{
	char error[ERROR_MAX];

	if (o->a + 1 < o->n) {
		o->probe = 1;
		o->probe_status = status;
		return;
	}
	/* Nothing after it to tell the record's fault from the office's:
	 * read again later, with what has come since. */
	snprintf(error, sizeof(error),
	    "HTTP %ld for the one record waiting: tried again with the next",
	    status);
	drop_rows(o);
	back_off(o, error, 0);
}

static void
on_sent(void *arg, const struct http_result *res)
{
	struct office *o = arg;
	char error[ERROR_MAX];
	long s = res->status;
	size_t k;

	o->sending = false;
	if (res->stopped || o->stopping)
		return;
	if (res->curl_code != 0 && s == 0) {
		snprintf(error, sizeof(error), "%s: %s", res->where,
		    res->error);
		back_off(o, error, 0);
		return;
	}
	if (o->probe > 0 && s >= 200 && s <= 299 && res->curl_code == 0) {
		/* A later one went through: the ones before it, each
		 * refused alone, are refused for themselves and set aside;
		 * the later one is delivered after them. */
		for (k = o->probe; k > 0; k--)
			set_aside(o, o->probe_status);
		o->delivered++;
		past(o, o->a + 1);
		o->backoff_ms = 0;
		changed(o, OFFICE_OK, "");
		step(o);
		return;
	}
	if (o->probe > 0 && s >= 400 && s <= 499 && s != 401 && s != 403 &&
	    s != 429) {
		if (o->probe < PROBES && o->a + o->probe + 1 < o->n) {
			o->probe++;
			step(o);
			return;
		}
		/* Each tried alone, each refused: the office refuses
		 * everything (a wrong url?), not a record.  Nothing is set
		 * aside; the batch is tried again after a backoff. */
		snprintf(error, sizeof(error),
		    "%s: HTTP %ld for every record: is the url right?",
		    res->where, s);
		if (!o->told_refusing && o->alert != NULL)
			o->alert(o->arg, error, 0);
		o->told_refusing = true;
		o->probe = 0;
		o->splitting = false;
		o->refused = 0;
		back_off(o, error, 0);
		return;
	}
	/* Another failure while probing: the probe goes on after it. */
	if (s >= 200 && s <= 299 && res->curl_code == 0) {
		if (o->state != OFFICE_OK)
			log_info("office: delivering again");
		o->told_refusing = false;
		o->backoff_ms = 0;
		if (o->splitting && o->b == o->a + 1 && o->suspect == o->b)
			o->splitting = false; /* it went alone after all */
		o->delivered += o->b - o->a;
		past(o, o->b);
		if (o->splitting && o->a >= o->suspect)
			o->splitting = false;
		o->refused = 0;
		changed(o, OFFICE_OK, "");
		step(o);
		return;
	}
	snprintf(error, sizeof(error), "%s: HTTP %ld", res->where, s);
	if (s == 401 || s == 403) {
		log_errx("office: the office refuses the token (HTTP %ld): "
		         "nothing is sent until token_file holds a valid "
		         "token and gatewayd is told (systemctl reload)",
		    s);
		if (o->alert != NULL)
			o->alert(o->arg,
			    "the office refuses the gateway's token", 0);
		changed(o, OFFICE_REFUSED, error);
		return;
	}
	if (s == 429 || s >= 500 || s < 400) {
		back_off(o, error, res->retry_after_s);
		return;
	}
	/* Another 4xx: the office says something in it is wrong. */
	if (o->splitting) {
		if (o->b == o->a + 1) {
			found(o, s);
			step(o);
			return;
		}
		o->suspect = o->b;
		step(o);
		return;
	}
	if (++o->refused < REFUSED_TRIES) {
		back_off(o, error, 0);
		return;
	}
	if (o->b == o->a + 1) {
		found(o, s);
		step(o);
		return;
	}
	log_warnx("office: %s %u times: the batch of %zu is split to find "
	          "the record it refuses",
	    error, o->refused, o->b - o->a);
	o->splitting = true;
	o->suspect = o->b;
	str_copy(o->error, error, sizeof(o->error));
	step(o);
}

/* ---- the sink ---- */

struct office *
office_new(uv_loop_t *loop, const struct config *cfg, struct journal *j,
    office_alert_fn *alert, office_changed_fn *chg, void *arg)
{
	struct office *o;
	json_t *site, *name;
	char *s1 = NULL, *s2 = NULL;

	if (cfg->office.url == NULL || cfg->office.token == NULL || j == NULL)
		return NULL;
	o = calloc(1, sizeof(*o));
	if (o == NULL)
		goto oom;
	o->rows = calloc((size_t)cfg->office.batch, sizeof(*o->rows));
	o->token = strdup(cfg->office.token);
	site = json_string(cfg->site);
	name = json_string(cfg->name);
	s1 = json_dumps(site, JSON_ENCODE_ANY);
	s2 = json_dumps(name, JSON_ENCODE_ANY);
	json_decref(site);
	json_decref(name);
	if (o->rows == NULL || o->token == NULL || s1 == NULL || s2 == NULL ||
	    asprintf(&o->envelope, "{\"site\":%s,\"gateway\":%s,\"events\":[",
	        s1, s2) < 0 ||
	    (o->http = http_new(loop, 1, 1)) == NULL) {
		free(s1);
		free(s2);
		if (o != NULL) {
			free(o->rows);
			secret_free(o->token);
			free(o);
		}
		goto oom;
	}
	free(s1);
	free(s2);
	o->loop = loop;
	o->cfg = cfg;
	o->journal = j;
	o->alert = alert;
	o->changed = chg;
	o->arg = arg;
	uv_timer_init(loop, &o->timer);
	o->timer.data = o;
	step(o);
	return o;
oom:
	log_errx("office: cannot set up the office's sink");
	return NULL;
}

void
office_poke(struct office *o, int64_t seq)
{
	if (o == NULL || o->stopping)
		return;
	if (seq > o->last)
		o->last = seq;
	if (o->reading) {
		o->poked = true;
		return;
	}
	o->caught_up = false;
	step(o);
}

void
office_rekey(struct office *o)
{
	char *token = NULL, err[512];

	if (o == NULL || o->stopping)
		return;
	if (secret_read(o->cfg->office.token_file, &token, err, sizeof(err)) <
	    0) {
		log_errx("office: token_file %s; the token read before stays",
		    err);
		return;
	}
	secret_free(o->token);
	o->token = token;
	if (o->state == OFFICE_REFUSED) {
		log_info("office: the token was read again: sending resumes");
		o->backoff_ms = 0;
		changed(o, OFFICE_OK, "");
		step(o);
	}
}

json_t *
office_status(const struct office *o)
{
	int64_t backlog, t;
	char id[96];
	json_t *s;

	if (o == NULL)
		return NULL;
	backlog = o->last > o->cursor ? o->last - o->cursor : 0;
	s = json_pack("{s:s,s:I,s:I,s:I}", "state", state_names[o->state],
	    "backlog", (json_int_t)backlog, "delivered",
	    (json_int_t)o->delivered, "set_aside", (json_int_t)o->set_aside);
	if (s != NULL && backlog > 0) {
		snprintf(id, sizeof(id), "%s:%" PRId64, o->cfg->site,
		    o->cursor + 1);
		json_object_set_new(s, "oldest", json_string(id));
		if (o->a < o->n && (t = o->rows[o->a].ts_ms) > 0)
			json_object_set_new(s, "age_s",
			    json_integer((now_ms() - t) / 1000));
	}
	if (s != NULL && o->error[0] != '\0')
		json_object_set_new(s, "last_error", json_string(o->error));
	return s;
}

static void
on_closed(uv_handle_t *h)
{
	struct office *o = h->data;

	drop_rows(o);
	free(o->rows);
	free(o->envelope);
	secret_free(o->token);
	free(o);
}

void
office_stop(struct office *o)
{
	if (o == NULL || o->stopping)
		return;
	o->stopping = true;
	uv_timer_stop(&o->timer);
	http_free(o->http);
	o->http = NULL;
	uv_close((uv_handle_t *)&o->timer, on_closed);
}
