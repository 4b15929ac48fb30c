/*
 * control.c - the control socket (control.h has the protocol), on the
 * loop.  Requests that change state become the same requests staff's
 * MQTT tools make, so that both get the same checks, records and
 * answers; the answer published on <...>/result is heard here too.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "explain.h"
#include "incident.h"
#include "log.h"
#include "pipeline.h"
#include "reload.h"
#include "report_live.h"
#include "rules.h"
#include "state.h"
#include "util.h"

#define MAX_CLIENTS 32
/* An answer that must wait for a device (a charger's port) or the
 * journal: the client is told it is late after this long. */
#define ANSWER_MS 15000
/* Answers a client has not read: past this, it is dropped. */
#define UNREAD_MAX (1024 * 1024)

struct client {
	struct control *ctl;
	uv_pipe_t pipe;
	uv_timer_t timer; /* idle, or the answer's deadline */
	int open;         /* handles not yet closed */
	bool closing;
	bool busy;        /* a request waits for its answer */
	bool dispatching; /* next_request() is going through buf */
	char waiting[48]; /* ...published with this request id */
	unsigned reload;  /* ...or this reload's result; 0 */
	size_t len;       /* bytes in buf */
	char buf[CONTROL_LINE_MAX];
	struct client *next;
};

struct control {
	struct daemon *d;
	uv_pipe_t server;
	bool listening;
	struct client *clients;
	size_t nclients;
	unsigned seq; /* request ids made here */
	bool closed;  /* control_close(): freed once every handle is */
	bool server_open;
};

/* The last of its handles closed: nothing refers to it any more. */
static void
maybe_free(struct control *ctl)
{
	if (ctl->closed && !ctl->server_open && ctl->nclients == 0)
		free(ctl);
}

static void next_request(struct client *);

/* ---- clients ---- */

static void
client_closed(uv_handle_t *h)
{
	struct client *c = h->data;
	struct client **pp;

	if (--c->open > 0)
		return;
	for (pp = &c->ctl->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->ctl->nclients--;
	maybe_free(c->ctl);
	free(c);
}

static void
client_close(struct client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->pipe, client_closed);
	uv_close((uv_handle_t *)&c->timer, client_closed);
}

struct write_req {
	uv_write_t req;
	struct client *c;
	bool then_close;
	char data[];
};

static void
written(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;

	if ((status < 0 || wr->then_close) && !wr->c->closing)
		client_close(wr->c);
	free(wr);
}

/* An answer, one line; o is taken. */
static void
send_answer(struct client *c, json_t *o, bool then_close)
{
	struct write_req *wr;
	char *text;
	size_t n;
	uv_buf_t b;

	if (o == NULL || c->closing) {
		json_decref(o);
		return;
	}
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL) {
		client_close(c);
		return;
	}
	n = strlen(text);
	wr = malloc(sizeof(*wr) + n + 1);
	if (wr == NULL ||
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) >
	        UNREAD_MAX) {
		/* Out of memory, or it does not read what it asked for. */
		free(wr);
		free(text);
		client_close(c);
		return;
	}
	memcpy(wr->data, text, n);
	wr->data[n] = '\n';
	free(text);
	wr->c = c;
	wr->then_close = then_close;
	b = uv_buf_init(wr->data, (unsigned)n + 1);
	if (uv_write(&wr->req, (uv_stream_t *)&c->pipe, &b, 1, written) < 0) {
		free(wr);
		client_close(c);
	}
}

static json_t *refusal(const char *code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static json_t *
refusal(const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:s,s:s}", "ok", false, "error", msg, "code",
	    code);
}

static json_t *
success(void)
{
	return json_pack("{s:b}", "ok", true);
}

/* The request is answered: the next one, if the client sent it. */
static void on_read(uv_stream_t *, ssize_t, const uv_buf_t *);
static void alloc_cb(uv_handle_t *, size_t, uv_buf_t *);

static void
answered(struct client *c, json_t *o)
{
	bool waited = c->busy;

	c->busy = false;
	c->waiting[0] = '\0';
	c->reload = 0;
	send_answer(c, o, false);
	if (waited && !c->closing)
		uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read);
	next_request(c);
}

static void
on_timer(uv_timer_t *t)
{
	struct client *c = t->data;

	if (c->busy) {
		answered(c,
		    refusal("refused",
		        "no answer within %d s: it may still be carried "
		        "out; gatewayctl status and events tell",
		        ANSWER_MS / 1000));
		return;
	}
	client_close(c); /* idle */
}

/* Until it is answered, the client's next lines wait in the socket. */
static void
wait_answer(struct client *c)
{
	c->busy = true;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_timer_start(&c->timer, on_timer, ANSWER_MS, 0);
}

/* ---- commands ---- */

static const char *
string_arg(json_t *req, const char *key)
{
	const char *s = json_string_value(json_object_get(req, key));

	return s != NULL && utf8_valid(s, strlen(s)) &&
	        str_printable(s, strlen(s)) ?
	    s :
	    NULL;
}

/* An operator's name: required wherever something changes.  NULL:
 * the request is answered with why. */
static const char *
operator_arg(struct client *c, json_t *req)
{
	const char *s = string_arg(req, "operator");

	if (s != NULL && s[0] != '\0' && strlen(s) <= 64)
		return s;
	answered(c, refusal("usage", "who is it? an operator is needed"));
	return NULL;
}

/*
 * The request as staff's MQTT tools would make it, on topic: id is made
 * here, and the answer published on <...>/result with it is this
 * client's.
 */
static void
as_staff_request(struct client *c, const char *topic, json_t *payload)
{
	struct control *ctl = c->ctl;
	char *text;

	snprintf(c->waiting, sizeof(c->waiting), "gatewayctl-%" PRId64 "-%u",
	    now_ms(), ++ctl->seq);
	json_object_set_new(payload, "id", json_string(c->waiting));
	text = json_dumps(payload, JSON_COMPACT);
	json_decref(payload);
	if (text == NULL) {
		answered(c, refusal("refused", "out of memory"));
		return;
	}
	wait_answer(c);
	daemon_inject(ctl->d, topic, text, strlen(text));
	free(text);
}

static void
cmd_incident(struct client *c, json_t *req, const char *what)
{
	const char *prefix = c->ctl->d->cfg->topic_prefix;
	json_t *n = json_object_get(req, "incident");
	const char *note = string_arg(req, "note"), *op;
	json_t *payload;
	char topic[256];

	if (!json_is_integer(n) || json_integer_value(n) < 1) {
		answered(c, refusal("usage", "which incident? a number"));
		return;
	}
	if ((op = operator_arg(c, req)) == NULL)
		return;
	snprintf(topic, sizeof(topic),
	    "%s/incident/%" JSON_INTEGER_FORMAT "/%s", prefix,
	    json_integer_value(n), what);
	payload = json_pack("{s:s}", "operator", op);
	if (note != NULL)
		json_object_set_new(payload, "note", json_string(note));
	as_staff_request(c, topic, payload);
}

static void
cmd_fire(struct client *c, json_t *req)
{
	const char *action = string_arg(req, "action"), *op;
	json_t *seconds = json_object_get(req, "seconds"), *payload;
	char topic[256];

	if (action == NULL ||
	    (strcmp(action, "reset") != 0 && strcmp(action, "test") != 0)) {
		answered(c, refusal("usage", "fire reset or fire test"));
		return;
	}
	if ((op = operator_arg(c, req)) == NULL)
		return;
	snprintf(topic, sizeof(topic), "%s/fire/%s",
	    c->ctl->d->cfg->topic_prefix, action);
	payload = json_pack("{s:s}", "operator", op);
	if (json_is_integer(seconds))
		json_object_set(payload, "seconds", seconds);
	as_staff_request(c, topic, payload);
}

static void
cmd_charger(struct client *c, json_t *req)
{
	const char *id = string_arg(req, "device"), *action;
	const struct device *dev;
	json_t *port = json_object_get(req, "port"), *payload, *limit;
	char topic[256];

	action = string_arg(req, "action");
	dev = id != NULL ? config_device(c->ctl->d->cfg, id) : NULL;
	if (dev == NULL || dev->driver->class != DEVICE_CHARGER) {
		answered(c,
		    refusal("not_found", "no charging point '%s'",
		        id ? id : ""));
		return;
	}
	if (!json_is_integer(port) || json_integer_value(port) < 1 ||
	    json_integer_value(port) > 64) {
		answered(c, refusal("usage", "which port? a number from 1"));
		return;
	}
	if (action == NULL ||
	    (strcmp(action, "start") != 0 && strcmp(action, "stop") != 0)) {
		answered(c, refusal("usage", "charger start or charger stop"));
		return;
	}
	snprintf(topic, sizeof(topic),
	    "%s/charger/%s/%" JSON_INTEGER_FORMAT "/cmd",
	    c->ctl->d->cfg->topic_prefix, dev->id, json_integer_value(port));
	payload = json_pack("{s:s}", "action", action);
	limit = json_object_get(req, "limit_a");
	if (json_is_number(limit))
		json_object_set(payload, "limit_a", limit);
	as_staff_request(c, topic, payload);
}

static void
cmd_open(struct client *c, json_t *req)
{
	const char *id = string_arg(req, "device"), *err = NULL;
	const char *why = string_arg(req, "reason"), *op;
	const struct device *dev;
	char request[48];

	dev = id != NULL ? config_device(c->ctl->d->cfg, id) : NULL;
	if (dev == NULL) {
		answered(c,
		    refusal("not_found", "no device '%s'", id ? id : ""));
		return;
	}
	if ((op = operator_arg(c, req)) == NULL)
		return;
	if (why == NULL || why[0] == '\0' || strlen(why) > 200) {
		answered(c,
		    refusal("usage", "an open by hand needs why (--reason)"));
		return;
	}
	snprintf(request, sizeof(request), "gatewayctl-%" PRId64 "-%u",
	    now_ms(), ++c->ctl->seq);
	if (pipeline_manual_open(&c->ctl->d->pipe, dev, op, why, request,
	        &err) < 0) {
		answered(c, refusal("refused", "%s: %s", dev->id, err));
		return;
	}
	answered(c, json_pack("{s:b,s:s}", "ok", true, "request", request));
}

static void
cmd_explain(struct client *c, json_t *req)
{
	const struct pipeline *p = &c->ctl->d->pipe;
	const char *who = string_arg(req, "who"), *id = string_arg(req, "gate");
	json_t *at = json_object_get(req, "at_ms"), *o;
	const struct device *dev = NULL;
	struct rules_clock clock;

	if (who == NULL || who[0] == '\0') {
		answered(c,
		    refusal("usage",
		        "explain whom? a person id, card, "
		        "visitor id or plate"));
		return;
	}
	if (id != NULL) {
		dev = config_device(p->cfg, id);
		if (dev == NULL ||
		    (dev->driver->class != DEVICE_GATE &&
		        dev->driver->class != DEVICE_BARRIER)) {
			answered(c,
			    refusal("not_found", "no gate or barrier '%s'",
			        id));
			return;
		}
	}
	if (at != NULL && !json_is_integer(at)) {
		answered(c, refusal("usage", "at_ms: epoch milliseconds"));
		return;
	}
	rules_clock_at(at ? json_integer_value(at) : now_ms(), &clock);
	o = explain(p->tables, p->cfg, p->state, who, dev, &clock,
	    fire_release_reason(p));
	if (o == NULL) {
		answered(c, refusal("refused", "out of memory"));
		return;
	}
	answered(c, json_pack("{s:b,s:o}", "ok", true, "explain", o));
}

/* A message for the group robot (gatewayctl report daily --send):
 * journaled, and sent by the WeChat sink like any alert.  Markdown has
 * newlines: not string_arg()'s printable text. */
static void
cmd_notify(struct client *c, json_t *req)
{
	const char *text = json_string_value(json_object_get(req, "text"));

	if (text == NULL || text[0] == '\0' ||
	    !utf8_valid(text, strlen(text))) {
		answered(c, refusal("usage", "notify: a \"text\" in UTF-8"));
		return;
	}
	if (c->ctl->d->cfg->wechat.key == NULL) {
		answered(c,
		    refusal("refused",
		        "no WeChat robot: [wechat] "
		        "webhook_key_file is not set"));
		return;
	}
	if (report_journal(&c->ctl->d->pipe, text, "notify") < 0) {
		answered(c,
		    refusal("refused",
		        "the journal cannot take it now: try again"));
		return;
	}
	answered(c, success());
}

static void
cmd_reload(struct client *c)
{
	c->reload = daemon_reload(c->ctl->d, "gatewayctl reload");
	if (c->reload == 0) {
		answered(c, refusal("refused", "the gateway is stopping"));
		return;
	}
	wait_answer(c);
}

/* Open and acknowledged ones: resolved ones are kept only for answers. */
static void
add_incident(void *arg, const struct incident *i)
{
	json_t *o;

	if (i->state == INCIDENT_RESOLVED)
		return;
	o = incident_state_json(i);
	if (o != NULL)
		json_array_append_new(arg, o);
}

static void
cmd_incidents(struct client *c)
{
	json_t *v = json_array();

	if (c->ctl->d->pipe.state->incidents != NULL)
		incident_foreach(c->ctl->d->pipe.state->incidents, add_incident,
		    v);
	answered(c, json_pack("{s:b,s:o}", "ok", true, "incidents", v));
}

static void
dispatch(struct client *c, json_t *req)
{
	const char *cmd = string_arg(req, "cmd");
	json_t *o;

	if (cmd == NULL) {
		answered(c, refusal("usage", "a request needs a \"cmd\""));
	} else if (strcmp(cmd, "status") == 0) {
		o = success();
		json_object_set_new(o, "status", daemon_status(c->ctl->d));
		answered(c, o);
	} else if (strcmp(cmd, "reload") == 0) {
		cmd_reload(c);
	} else if (strcmp(cmd, "notify") == 0) {
		cmd_notify(c, req);
	} else if (strcmp(cmd, "explain") == 0) {
		cmd_explain(c, req);
	} else if (strcmp(cmd, "incidents") == 0) {
		cmd_incidents(c);
	} else if (strcmp(cmd, "ack") == 0 || strcmp(cmd, "resolve") == 0) {
		cmd_incident(c, req, cmd);
	} else if (strcmp(cmd, "fire") == 0) {
		cmd_fire(c, req);
	} else if (strcmp(cmd, "charger") == 0) {
		cmd_charger(c, req);
	} else if (strcmp(cmd, "open") == 0) {
		cmd_open(c, req);
	} else {
		answered(c, refusal("usage", "no command '%.40s'", cmd));
	}
}

/* A whole line in buf: its request, unless one is being answered. */
static void
next_request(struct client *c)
{
	char *nl;
	size_t n;
	json_t *req;

	/* Answered from inside dispatch(): the loop below goes on, rather
	 * than a call as deep as the lines a client sent at once. */
	if (c->dispatching)
		return;
	c->dispatching = true;
	while (!c->busy && !c->closing &&
	    (nl = memchr(c->buf, '\n', c->len)) != NULL) {
		n = (size_t)(nl - c->buf);
		req = json_loadb(c->buf, n, JSON_REJECT_DUPLICATES, NULL);
		memmove(c->buf, nl + 1, c->len - n - 1);
		c->len -= n + 1;
		if (!json_is_object(req)) {
			json_decref(req);
			send_answer(c,
			    refusal("usage",
			        "a request is one JSON object a line"),
			    true);
			break;
		}
		dispatch(c, req);
		json_decref(req);
	}
	c->dispatching = false;
	if (!c->busy && !c->closing)
		uv_timer_start(&c->timer, on_timer, CONTROL_IDLE_MS, 0);
}

static void
alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct client *c = h->data;

	(void)suggested;
	*b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof(c->buf) - c->len));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct client *c = s->data;

	(void)b;
	if (n < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	if (c->len == sizeof(c->buf) && memchr(c->buf, '\n', c->len) == NULL) {
		uv_read_stop(s);
		c->len = 0;
		send_answer(c,
		    refusal("usage", "a request is at most %d bytes a line",
		        CONTROL_LINE_MAX),
		    true);
		return;
	}
	next_request(c);
}

/* ---- who may ask ---- */

/*
 * Whether gid is among the peer's supplementary groups, as they were
 * when it connected: the kernel's word (SO_PEERGROUPS, Linux 4.13), no
 * NSS lookup on the loop, and no /proc, which the unit hides
 * (ProtectProc=invisible: other users' processes are not there).
 */
static bool
in_groups(int fd, long gid)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	bool found = false;
	size_t i;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		/* ERANGE: len says how much room it needs. */
		if (errno != ERANGE || (groups = malloc(len)) == NULL)
			return false;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) <
		    0) {
			free(groups);
			return false;
		}
	}
	for (i = 0; i < len / sizeof(gid_t); i++)
		if ((long)groups[i] == gid)
			found = true;
	if (groups != small)
		free(groups);
	return found;
}

static bool
allowed(const struct control *ctl, int fd, char *who, size_t size)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	long gid = ctl->d->cfg->control.gid;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		snprintf(who, size, "a peer whose credentials cannot be read");
		return false;
	}
	snprintf(who, size, "uid %ld (pid %ld)", (long)cr.uid, (long)cr.pid);
	if (cr.uid == 0 || cr.uid == geteuid())
		return true;
	return gid >= 0 && ((long)cr.gid == gid || in_groups(fd, gid));
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct control *ctl = server->data;
	struct client *c;
	uv_os_fd_t fd;
	char who[96];

	if (status < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->ctl = ctl;
	uv_pipe_init(server->loop, &c->pipe, 0);
	uv_timer_init(server->loop, &c->timer);
	c->pipe.data = c->timer.data = c;
	c->open = 2;
	c->next = ctl->clients;
	ctl->clients = c;
	ctl->nclients++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		client_close(c);
		return;
	}
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0 ||
	    !allowed(ctl, fd, who, sizeof(who))) {
		log_warnx("control: %s refused: not root, not the gateway's "
		          "user, not in group %s",
		    who,
		    ctl->d->cfg->control.group ? ctl->d->cfg->control.group :
		                                 "(none configured)");
		send_answer(c,
		    refusal("refused",
		        "permission denied: only root, the gateway's user "
		        "and members of its [control] group may use it"),
		    true);
		return;
	}
	if (ctl->nclients > MAX_CLIENTS) {
		send_answer(c,
		    refusal("refused", "busy: %d gatewayctl already connected",
		        MAX_CLIENTS),
		    true);
		return;
	}
	uv_timer_start(&c->timer, on_timer, CONTROL_IDLE_MS, 0);
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, on_read);
}

/* ---- answers heard ---- */

void
control_published(struct control *ctl, const char *topic, const void *payload,
    size_t len)
{
	size_t n = strlen(topic);
	const char *request, *error;
	struct client *c;
	json_t *o;

	if (ctl == NULL || n < 7 || strcmp(topic + n - 7, "/result") != 0)
		return;
	for (c = ctl->clients; c != NULL; c = c->next)
		if (c->busy && c->waiting[0] != '\0')
			break;
	if (c == NULL)
		return; /* nobody waits: MQTT tools' answers */
	o = json_loadb(payload, len, 0, NULL);
	request = json_string_value(json_object_get(o, "request"));
	error = json_string_value(json_object_get(o, "error"));
	for (c = ctl->clients; request != NULL && c != NULL; c = c->next)
		if (c->busy && strcmp(c->waiting, request) == 0) {
			answered(c,
			    json_is_true(json_object_get(o, "ok")) ?
			        success() :
			        refusal("refused", "%s",
			            error ? error : "refused"));
			break;
		}
	json_decref(o);
}

static void
reload_finished(void *arg, unsigned gen, const json_t *result)
{
	struct control *ctl = arg;
	struct client *c, *next;
	json_t *o;

	for (c = ctl->clients; c != NULL; c = next) {
		next = c->next;
		if (!c->busy || c->reload == 0 || gen < c->reload)
			continue;
		if (json_is_true(json_object_get(result, "ok")))
			o = success();
		else
			o = refusal("refused",
			    "the reload failed: the tables in force stay as "
			    "they were");
		json_object_set_new(o, "reload", json_deep_copy(result));
		answered(c, o);
	}
}

/* ---- the socket ---- */

static int
make_socket_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int rc = 0;

	if (dir == NULL)
		return -1;
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			rc = -1;
	}
	free(dir);
	return rc;
}

struct control *
control_new(struct daemon *d)
{
	const struct config_control *cc = &d->cfg->control;
	struct control *ctl = calloc(1, sizeof(*ctl));
	struct stat st;
	mode_t old;
	int rc;

	if (ctl == NULL)
		return NULL;
	ctl->d = d;
	ctl->server_open = true;
	uv_pipe_init(d->loop, &ctl->server, 0);
	ctl->server.data = ctl;
	ctl->listening = true;
	(void)make_socket_dir(cc->socket);
	/* A socket left by a gateway that died: one gatewayd per data_dir
	 * holds the journal's lock, so it is nobody's now. */
	if (lstat(cc->socket, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(cc->socket);
	old = umask(0117); /* 0660 from the start: no moment open to all */
	rc = uv_pipe_bind(&ctl->server, cc->socket);
	umask(old);
	if (rc == 0 && cc->gid >= 0 &&
	    chown(cc->socket, (uid_t)-1, (gid_t)cc->gid) < 0)
		log_warnx("control: %s: cannot give it to group %s: %s",
		    cc->socket, cc->group, strerror(errno));
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&ctl->server, 16, on_connection);
	if (rc < 0) {
		/* Gates are decided without it: said, not fatal. */
		log_errx("control: %s: %s: gatewayctl cannot reach this "
		         "gateway",
		    cc->socket, uv_strerror(rc));
		ctl->listening = false;
	}
	reload_on_finished(d->reload, reload_finished, ctl);
	return ctl;
}

static void
server_closed(uv_handle_t *h)
{
	struct control *ctl = h->data;

	ctl->server_open = false;
	maybe_free(ctl);
}

void
control_close(struct control *ctl)
{
	struct client *c;

	if (ctl == NULL)
		return;
	ctl->closed = true;
	for (c = ctl->clients; c != NULL; c = c->next)
		client_close(c);
	if (ctl->listening)
		unlink(ctl->d->cfg->control.socket);
	reload_on_finished(ctl->d->reload, NULL, NULL);
	uv_close((uv_handle_t *)&ctl->server, server_closed);
}
