/*
 * http.c - libcurl's multi interface as a citizen of the libuv loop, after
 * curl's docs/examples/multi-uv.c: a uv_poll per socket libcurl names, one
 * uv_timer for its timeouts, curl_multi_socket_action from both.  Not a
 * retry policy: the sinks decide what an answer means.
 *
 * Nothing here blocks.  Name lookups: Debian 12's libcurl4 (7.88.1) is
 * built with --enable-threaded-resolver (no c-ares), so getaddrinfo runs
 * on a thread of libcurl's own; CURLOPT_QUICK_EXIT lets an abandoned
 * request leave a hung lookup's thread behind rather than join it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "util.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_STALL_S    30

struct sock {
	uv_poll_t poll;
	struct http *h;
	curl_socket_t fd;
	struct sock *next;
};

struct req {
	struct req *next; /* in the queue, or among those in flight */
	struct http *h;
	CURL *easy;
	struct curl_slist *headers;
	char *body; /* the answer, NUL-terminated */
	size_t len, cap;
	bool too_big;
	http_done_fn *cb;
	void *arg;
	char errbuf[CURL_ERROR_SIZE];
	char where[HTTP_REDACTED_MAX];
};

struct http {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct sock *socks;
	struct req *inflight;
	struct req *head, *tail; /* the queue, oldest first */
	unsigned n_inflight, n_queued;
	unsigned max_inflight, max_queued;
	unsigned open_handles; /* not yet closed by the loop */
	bool stopped, free_wanted;
};

static void check_done(struct http *);

const char *
http_redact(const char *url, char *buf, size_t size)
{
	const char *sep, *auth, *end, *at, *p;
	size_t n;

	if (size == 0)
		return buf;
	sep = url != NULL ? strstr(url, "://") : NULL;
	if (sep == NULL || sep == url || sep - url > 16) {
		str_copy(buf, "(bad url)", size);
		return buf;
	}
	auth = sep + 3;
	end = auth + strcspn(auth, "/?#");
	/* user:password@ goes too */
	at = NULL;
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at != NULL)
		auth = at + 1;
	n = strcspn(end, "?#");
	snprintf(buf, size, "%.*s://%.*s%.*s", (int)(sep - url), url,
	    (int)(end - auth), auth, (int)n, end);
	return buf;
}

static void
maybe_free(struct http *h)
{
	if (!h->free_wanted || h->open_handles > 0)
		return;
	free(h);
	curl_global_cleanup();
}

static void
handle_closed(uv_handle_t *uh)
{
	struct http *h = uh->data;

	h->open_handles--;
	maybe_free(h);
}

static void
sock_closed(uv_handle_t *uh)
{
	struct sock *s = uh->data;
	struct http *h = s->h;

	free(s);
	h->open_handles--;
	maybe_free(h);
}

static void
sock_drop(struct http *h, struct sock *s)
{
	struct sock **pp;

	for (pp = &h->socks; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct sock *s = p->data;
	struct http *h = s->h;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	check_done(h);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd as libcurl wishes. */
static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct sock *s = socketp;
	int ev = 0, rc;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			if (!h->stopped)
				curl_multi_assign(h->multi, fd, NULL);
			sock_drop(h, s);
		}
		return 0;
	}
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		rc = uv_poll_init_socket(h->loop, &s->poll, fd);
		if (rc < 0) {
			log_errx("http: poll: %s", uv_strerror(rc));
			free(s);
			return -1;
		}
		s->poll.data = s;
		s->h = h;
		s->fd = fd;
		s->next = h->socks;
		h->socks = s;
		h->open_handles++;
		curl_multi_assign(h->multi, fd, s);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= UV_WRITABLE;
	uv_poll_start(&s->poll, ev, on_poll);
	return 0;
}

static void
on_timer(uv_timer_t *t)
{
	struct http *h = t->data;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(h);
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer, 0 is "soon", not now. */
static int
timer_cb(CURLM *multi, long ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	if (h->stopped)
		return 0;
	if (ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, on_timer, (uint64_t)ms, 0);
	return 0;
}

/* The answer, bounded: past HTTP_BODY_MAX the transfer fails. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	struct req *r = userp;
	size_t n = size * nmemb, cap;
	char *p;

	if (n > HTTP_BODY_MAX - r->len) {
		r->too_big = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		cap = r->cap == 0 ? 1024 : r->cap;
		while (cap < r->len + n + 1)
			cap *= 2;
		p = realloc(r->body, cap);
		if (p == NULL)
			return 0;
		r->body = p;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r);
}

/*
 * libcurl's error text names hosts, not whole URLs; should one ever
 * carry the query (the robot's key) or a password, its generic words go
 * instead.
 */
static const char *
error_text(struct req *r, CURLcode code)
{
	const char *url = NULL, *q, *at, *auth;
	char secret[HTTP_REDACTED_MAX];

	if (r->errbuf[0] == '\0')
		return curl_easy_strerror(code);
	curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url);
	if (url == NULL)
		return curl_easy_strerror(code);
	q = strchr(url, '?');
	if (q != NULL && q[1] != '\0' && strstr(r->errbuf, q + 1) != NULL)
		return curl_easy_strerror(code);
	auth = strstr(url, "://");
	at = auth != NULL ? strchr(auth, '@') : NULL;
	if (at != NULL && at - auth - 3 > 0 &&
	    (size_t)(at - auth - 3) < sizeof(secret)) {
		snprintf(secret, sizeof(secret), "%.*s", (int)(at - auth - 3),
		    auth + 3);
		if (strstr(r->errbuf, secret) != NULL)
			return curl_easy_strerror(code);
	}
	return r->errbuf;
}

/* Tell the owner how r ended, and free it. */
static void
finish(struct req *r, CURLcode code, bool stopped)
{
	struct http_result res = { 0 };
	char msg[64];
	curl_off_t retry = 0;

	res.curl_code = (int)code;
	res.stopped = stopped;
	res.where = r->where;
	res.body = r->body != NULL ? r->body : "";
	res.body_len = r->len;
	res.error = "";
	if (stopped) {
		res.error = "stopped";
	} else {
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
		if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retry) ==
		        CURLE_OK &&
		    retry > 0)
			res.retry_after_s = (long)retry;
		if (code == CURLE_WRITE_ERROR && r->too_big) {
			snprintf(msg, sizeof(msg), "answer over %d bytes",
			    HTTP_BODY_MAX);
			res.error = msg;
		} else if (code != CURLE_OK) {
			res.error = error_text(r, code);
		}
	}
	r->cb(r->arg, &res);
	req_free(r);
}

static void
unlink_inflight(struct http *h, struct req *r)
{
	struct req **pp;

	for (pp = &h->inflight; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			h->n_inflight--;
			return;
		}
}

/* Move queued requests into free slots, oldest first. */
static void
start_queued(struct http *h)
{
	struct req *r;
	CURLMcode mc;

	while (
	    !h->stopped && h->head != NULL && h->n_inflight < h->max_inflight) {
		r = h->head;
		h->head = r->next;
		if (h->head == NULL)
			h->tail = NULL;
		h->n_queued--;
		mc = curl_multi_add_handle(h->multi, r->easy);
		if (mc != CURLM_OK) {
			snprintf(r->errbuf, sizeof(r->errbuf), "%s",
			    curl_multi_strerror(mc));
			finish(r, CURLE_FAILED_INIT, false);
			continue;
		}
		r->next = h->inflight;
		h->inflight = r;
		h->n_inflight++;
	}
}

/*
 * Each finished transfer leaves its slot to the oldest queued request
 * before its owner hears of it, so a request posted from a callback
 * queues behind those already waiting.
 */
static void
check_done(struct http *h)
{
	CURLMsg *msg;
	CURLcode code;
	struct req *r;
	int left;

	while (!h->stopped &&
	    (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		code = msg->data.result;
		r = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &r);
		curl_multi_remove_handle(h->multi, msg->easy_handle);
		unlink_inflight(h, r);
		start_queued(h);
		finish(r, code, false);
	}
}

struct http *
http_new(uv_loop_t *loop, unsigned max_inflight, unsigned max_queued)
{
	struct http *h;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_errx("http: curl_global_init failed");
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL || (h->multi = curl_multi_init()) == NULL) {
		log_errx("http: out of memory");
		free(h);
		curl_global_cleanup();
		return NULL;
	}
	h->loop = loop;
	h->max_inflight = max_inflight > 0 ? max_inflight : HTTP_INFLIGHT;
	h->max_queued = max_queued > 0 ? max_queued : HTTP_QUEUED;
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	h->open_handles = 1;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	return h;
}

static int
append(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (l == NULL)
		return -1;
	*list = l;
	return 0;
}

/* Every option of one request; CURLE_OK or the first refusal. */
static CURLcode
setup(struct req *r, const struct http_request *rq)
{
	CURL *e = r->easy;
	CURLcode rc = CURLE_OK;
	char line[512];
	long timeout, connect, stall;
	int n;

	timeout =
	    rq->timeout_ms > 0 ? (long)rq->timeout_ms : DEFAULT_TIMEOUT_MS;
	connect = rq->connect_timeout_ms > 0 ? (long)rq->connect_timeout_ms :
	                                       DEFAULT_CONNECT_MS;
	stall = rq->stall_s > 0 ? (long)rq->stall_s : DEFAULT_STALL_S;

	snprintf(line, sizeof(line), "Content-Type: %s",
	    rq->content_type != NULL ? rq->content_type : "application/json");
	if (append(&r->headers, line) < 0 ||
	    /* no "Expect: 100-continue" pause before a large body */
	    append(&r->headers, "Expect:") < 0)
		return CURLE_OUT_OF_MEMORY;
	if (rq->bearer != NULL) {
		n = snprintf(line, sizeof(line), "Authorization: Bearer %s",
		    rq->bearer);
		rc = n > 0 && (size_t)n < sizeof(line) &&
		        append(&r->headers, line) == 0 ?
		    CURLE_OK :
		    CURLE_BAD_FUNCTION_ARGUMENT;
		explicit_bzero(line, sizeof(line));
		if (rc != CURLE_OK)
			return rc;
	}

#define SET(opt, val)                                                          \
	do {                                                                   \
		if (rc == CURLE_OK)                                            \
			rc = curl_easy_setopt(e, opt, val);                    \
	} while (0)
	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_HTTPHEADER, r->headers);
	SET(CURLOPT_USERAGENT, "community-gateway");
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	SET(CURLOPT_COPYPOSTFIELDS, rq->body != NULL ? rq->body : "");
	SET(CURLOPT_TIMEOUT_MS, timeout);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, stall);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (rq->ca_file != NULL) {
		/*
		 * In place of the system's store: Debian's libcurl also
		 * has a compiled-in CA path, which would trust both.
		 */
		SET(CURLOPT_CAINFO, rq->ca_file);
		SET(CURLOPT_CAPATH, (char *)NULL);
	}
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
	SET(CURLOPT_WRITEFUNCTION, write_cb);
	SET(CURLOPT_WRITEDATA, r);
	SET(CURLOPT_ERRORBUFFER, r->errbuf);
	SET(CURLOPT_PRIVATE, r);
#if LIBCURL_VERSION_NUM >= 0x075700 /* 7.87.0 */
	SET(CURLOPT_QUICK_EXIT, 1L);
#endif
#undef SET
	return rc;
}

int
http_post(struct http *h, const struct http_request *rq, http_done_fn *cb,
    void *arg)
{
	struct req *r;
	CURLcode rc;
	CURLMcode mc;

	if (h == NULL || h->stopped || rq == NULL || rq->url == NULL ||
	    cb == NULL)
		return -1;
	if (h->head != NULL || h->n_inflight >= h->max_inflight) {
		if (h->n_queued >= h->max_queued)
			return -1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	r->h = h;
	r->cb = cb;
	r->arg = arg;
	http_redact(rq->url, r->where, sizeof(r->where));
	r->easy = curl_easy_init();
	if (r->easy == NULL) {
		req_free(r);
		return -1;
	}
	rc = setup(r, rq);
	if (rc != CURLE_OK) {
		log_warnx("http: %s: %s", r->where, curl_easy_strerror(rc));
		req_free(r);
		return -1;
	}
	if (h->head == NULL && h->n_inflight < h->max_inflight) {
		mc = curl_multi_add_handle(h->multi, r->easy);
		if (mc != CURLM_OK) {
			log_warnx("http: %s: %s", r->where,
			    curl_multi_strerror(mc));
			req_free(r);
			return -1;
		}
		r->next = h->inflight;
		h->inflight = r;
		h->n_inflight++;
		return 0;
	}
	if (h->tail != NULL)
		h->tail->next = r;
	else
		h->head = r;
	h->tail = r;
	h->n_queued++;
	return 0;
}

unsigned
http_pending(const struct http *h)
{
	return h != NULL ? h->n_inflight + h->n_queued : 0;
}

void
http_stop(struct http *h)
{
	struct req *r;

	if (h == NULL || h->stopped)
		return;
	h->stopped = true;
	uv_timer_stop(&h->timer);
	/*
	 * Removing a handle closes its connection without a word to the
	 * server: nothing here waits for an answer, a TLS close or a
	 * lookup (CURLOPT_QUICK_EXIT).
	 */
	while ((r = h->inflight) != NULL) {
		h->inflight = r->next;
		h->n_inflight--;
		curl_multi_remove_handle(h->multi, r->easy);
		finish(r, CURLE_ABORTED_BY_CALLBACK, true);
	}
	while ((r = h->head) != NULL) {
		h->head = r->next;
		h->n_queued--;
		finish(r, CURLE_ABORTED_BY_CALLBACK, true);
	}
	h->tail = NULL;
	curl_multi_cleanup(h->multi);
	h->multi = NULL;
	while (h->socks != NULL)
		sock_drop(h, h->socks);
	uv_close((uv_handle_t *)&h->timer, handle_closed);
}

void
http_free(struct http *h)
{
	if (h == NULL || h->free_wanted)
		return;
	http_stop(h);
	h->free_wanted = true;
	maybe_free(h);
}
