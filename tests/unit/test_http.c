/*
 * test_http.c - http.c with the real libcurl on a real loop against a
 * small HTTP server on loopback, run on a thread of the test: answers,
 * statuses, Retry-After, a server that hangs or hangs up, the queue.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <uv.h>

#include "http.h"
#include "util.h"

/* ---- the server: one thread, poll(2) over every connection ---- */

#define MAX_CONNS 32
#define MAX_SEEN  32

struct conn {
	int fd;
	char buf[8192];
	size_t len;
	bool answered; /* /hang: held open, never answered */
};

struct server {
	int lfd, port;
	int wake[2];
	pthread_t thread;
	pthread_mutex_t mu;
	struct conn conns[MAX_CONNS];
	/* under mu */
	int n_seen;
	char seen[MAX_SEEN][64]; /* paths, in order of arrival */
	char auth[128];          /* the last Authorization value */
	char body[256];          /* the last request's body */
	int open, max_open;
};

static struct server srv;

static void
reply(int fd, const char *status, const char *extra, const char *body,
    size_t len)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %s\r\nContent-Type: text/plain\r\n%s"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	    status, extra, len);
	(void)!send(fd, head, (size_t)n, MSG_NOSIGNAL);
	(void)!send(fd, body, len, MSG_NOSIGNAL);
}

static void
conn_close(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	pthread_mutex_lock(&srv.mu);
	srv.open--;
	pthread_mutex_unlock(&srv.mu);
}

/* A whole request in c->buf: note it, and answer as its path asks. */
static void
serve(struct conn *c)
{
	char path[64] = "", *end, *p, date[64], extra[128], *big;
	size_t blen = 0;
	long clen = 0;
	time_t t;

	end = strstr(c->buf, "\r\n\r\n");
	if (end == NULL)
		return;
	p = strcasestr(c->buf, "\r\nContent-Length:");
	if (p != NULL && p < end)
		clen = strtol(p + 17, NULL, 10);
	if ((size_t)(end + 4 - c->buf) + (size_t)clen > c->len)
		return;
	sscanf(c->buf, "POST %63s", path);
	pthread_mutex_lock(&srv.mu);
	if (srv.n_seen < MAX_SEEN)
		str_copy(srv.seen[srv.n_seen++], path, 64);
	srv.auth[0] = '\0';
	p = strcasestr(c->buf, "\r\nAuthorization: ");
	if (p != NULL && p < end)
		snprintf(srv.auth, sizeof(srv.auth), "%.*s",
		    (int)strcspn(p + 17, "\r"), p + 17);
	blen = (size_t)clen < sizeof(srv.body) ? (size_t)clen : 0;
	memcpy(srv.body, end + 4, blen);
	srv.body[blen] = '\0';
	pthread_mutex_unlock(&srv.mu);

	c->answered = true;
	if (strcmp(path, "/hang") == 0 || strncmp(path, "/hang?", 6) == 0)
		return;
	if (strcmp(path, "/500") == 0) {
		reply(c->fd, "500 Internal Server Error", "", "oops", 4);
	} else if (strcmp(path, "/retry") == 0) {
		reply(c->fd, "429 Too Many Requests", "Retry-After: 7\r\n", "",
		    0);
	} else if (strcmp(path, "/retrydate") == 0) {
		t = time(NULL) + 120;
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT",
		    gmtime(&t));
		snprintf(extra, sizeof(extra), "Retry-After: %s\r\n", date);
		reply(c->fd, "503 Service Unavailable", extra, "", 0);
	} else if (strcmp(path, "/big") == 0) {
		/* no Content-Length, so only the reader's bound stops it */
		big = calloc(1, HTTP_BODY_MAX + 1000);
		memset(big, 'x', HTTP_BODY_MAX + 1000);
		(void)!send(c->fd,
		    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 38,
		    MSG_NOSIGNAL);
		(void)!send(c->fd, big, HTTP_BODY_MAX + 1000, MSG_NOSIGNAL);
		free(big);
	} else if (strcmp(path, "/close") == 0) {
		/* hang up without a word */
	} else {
		reply(c->fd, "200 OK", "", path, strlen(path));
	}
	conn_close(c);
}

static void *
server_main(void *arg)
{
	struct pollfd pfd[MAX_CONNS + 2];
	struct conn *map[MAX_CONNS + 2];
	int i, n, fd;
	ssize_t got;
	struct conn *c;

	(void)arg;
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = srv.wake[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = srv.lfd, .events = POLLIN };
		n = 2;
		for (i = 0; i < MAX_CONNS; i++)
			if (srv.conns[i].fd >= 0) {
				map[n] = &srv.conns[i];
				pfd[n++] =
				    (struct pollfd){ .fd = srv.conns[i].fd,
					    .events = POLLIN };
			}
		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue;
		if (pfd[0].revents != 0)
			break;
		for (i = 2; i < n; i++) {
			if (pfd[i].revents == 0)
				continue;
			c = map[i];
			got = recv(c->fd, c->buf + c->len,
			    sizeof(c->buf) - 1 - c->len, 0);
			if (got <= 0) {
				conn_close(c);
				continue;
			}
			c->len += (size_t)got;
			c->buf[c->len] = '\0';
			if (!c->answered)
				serve(c);
		}
		if (pfd[1].revents != 0) {
			fd = accept(srv.lfd, NULL, NULL);
			for (i = 0; fd >= 0 && i < MAX_CONNS; i++)
				if (srv.conns[i].fd < 0) {
					srv.conns[i] =
					    (struct conn){ .fd = fd };
					pthread_mutex_lock(&srv.mu);
					if (++srv.open > srv.max_open)
						srv.max_open = srv.open;
					pthread_mutex_unlock(&srv.mu);
					fd = -1;
				}
			if (fd >= 0)
				close(fd);
		}
	}
	for (i = 0; i < MAX_CONNS; i++)
		if (srv.conns[i].fd >= 0)
			close(srv.conns[i].fd);
	return NULL;
}

static int
server_start(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int i;

	(void)state;
	memset(&srv, 0, sizeof(srv));
	for (i = 0; i < MAX_CONNS; i++)
		srv.conns[i].fd = -1;
	pthread_mutex_init(&srv.mu, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	srv.lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&sa, sl) < 0 ||
	    listen(srv.lfd, 16) < 0 ||
	    getsockname(srv.lfd, (struct sockaddr *)&sa, &sl) < 0 ||
	    pipe(srv.wake) < 0)
		return -1;
	srv.port = ntohs(sa.sin_port);
	return pthread_create(&srv.thread, NULL, server_main, NULL) == 0 ? 0 :
	                                                                   -1;
}

static int
server_stop(void **state)
{
	(void)state;
	(void)!write(srv.wake[1], "x", 1);
	pthread_join(srv.thread, NULL);
	close(srv.lfd);
	close(srv.wake[0]);
	close(srv.wake[1]);
	pthread_mutex_destroy(&srv.mu);
	return 0;
}

static int
seen(void)
{
	int n;

	pthread_mutex_lock(&srv.mu);
	n = srv.n_seen;
	pthread_mutex_unlock(&srv.mu);
	return n;
}

/* ---- the client side ---- */

struct got {
	int calls;
	long status;
	int curl_code;
	bool stopped;
	long retry_after_s;
	char error[CURL_ERROR_SIZE];
	char body[128];
	size_t body_len;
	char where[HTTP_REDACTED_MAX];
	int order; /* among all completions */
};

static int completions;

static void
done(void *arg, const struct http_result *res)
{
	struct got *g = arg;

	g->calls++;
	g->status = res->status;
	g->curl_code = res->curl_code;
	g->stopped = res->stopped;
	g->retry_after_s = res->retry_after_s;
	str_copy(g->error, res->error, sizeof(g->error));
	str_copy(g->body, res->body, sizeof(g->body));
	g->body_len = res->body_len;
	str_copy(g->where, res->where, sizeof(g->where));
	g->order = completions++;
}

static unsigned ticks;

static void
on_tick(uv_timer_t *t)
{
	(void)t;
	ticks++;
}

struct env {
	uv_loop_t loop;
	uv_timer_t tick; /* keeps UV_RUN_ONCE returning, counts turns */
	uv_timer_t guard;
	bool expired;
	struct http *h;
};

static void
on_guard(uv_timer_t *t)
{
	struct env *e = t->data;

	e->expired = true;
}

static void
env_init(struct env *e, unsigned inflight, unsigned queued)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(uv_loop_init(&e->loop), 0);
	uv_timer_init(&e->loop, &e->tick);
	uv_timer_start(&e->tick, on_tick, 10, 10);
	uv_timer_init(&e->loop, &e->guard);
	e->guard.data = e;
	uv_timer_start(&e->guard, on_guard, 20000, 0);
	ticks = 0;
	completions = 0;
	e->h = http_new(&e->loop, inflight, queued);
	assert_non_null(e->h);
}

/* Turn the loop until *calls reaches n (or the guard expires). */
static void
run_until(struct env *e, const int *calls, int n)
{
	while (*calls < n && !e->expired)
		uv_run(&e->loop, UV_RUN_ONCE);
	assert_false(e->expired);
}

static void
env_done(struct env *e)
{
	http_free(e->h);
	uv_close((uv_handle_t *)&e->tick, NULL);
	uv_close((uv_handle_t *)&e->guard, NULL);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&e->loop), 0);
}

static void
url(char *buf, size_t size, const char *path)
{
	snprintf(buf, size, "http://127.0.0.1:%d%s", srv.port, path);
}

static void
post(struct env *e, const char *path, unsigned timeout_ms, struct got *g)
{
	char u[256];
	struct http_request rq = { .body = "{\"a\":1}", .body_len = 7 };

	url(u, sizeof(u), path);
	rq.url = u;
	rq.timeout_ms = timeout_ms;
	assert_int_equal(http_post(e->h, &rq, done, g), 0);
}

static void
test_ok(void **state)
{
	struct env e;
	struct got g = { 0 };
	char u[256];
	struct http_request rq = { .body = "{\"a\":1}",
		.body_len = 7,
		.bearer = "t0ken" };

	(void)state;
	env_init(&e, 0, 0);
	url(u, sizeof(u), "/ok");
	rq.url = u;
	assert_int_equal(http_post(e.h, &rq, done, &g), 0);
	assert_int_equal(g.calls, 0); /* never from inside http_post */
	run_until(&e, &g.calls, 1);
	assert_int_equal(g.curl_code, 0);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.body, "/ok");
	assert_int_equal(g.body_len, 3);
	assert_string_equal(g.error, "");
	assert_false(g.stopped);
	pthread_mutex_lock(&srv.mu);
	assert_string_equal(srv.auth, "Bearer t0ken");
	assert_string_equal(srv.body, "{\"a\":1}");
	pthread_mutex_unlock(&srv.mu);
	assert_int_equal(http_pending(e.h), 0);
	env_done(&e);
}

static void
test_statuses(void **state)
{
	struct env e;
	struct got g500 = { 0 }, g429 = { 0 }, gdate = { 0 }, gclose = { 0 },
	           gbig = { 0 };

	(void)state;
	env_init(&e, 0, 0);
	post(&e, "/500", 0, &g500);
	post(&e, "/retry", 0, &g429);
	post(&e, "/retrydate", 0, &gdate);
	post(&e, "/close", 0, &gclose);
	post(&e, "/big", 0, &gbig);
	run_until(&e, &completions, 5);

	assert_int_equal(g500.curl_code, 0);
	assert_int_equal(g500.status, 500);
	assert_string_equal(g500.body, "oops");
	assert_int_equal(g500.retry_after_s, 0);

	assert_int_equal(g429.status, 429);
	assert_int_equal(g429.retry_after_s, 7);

	/* an HTTP-date two minutes ahead: about 120 s */
	assert_int_equal(gdate.status, 503);
	assert_in_range(gdate.retry_after_s, 60, 180);

	/* hung up without an answer: libcurl's error, no status */
	assert_int_equal(gclose.curl_code, CURLE_GOT_NOTHING);
	assert_int_equal(gclose.status, 0);
	assert_true(strlen(gclose.error) > 0);

	/* an answer past the bound is an error, not a truncated body */
	assert_int_equal(gbig.curl_code, CURLE_WRITE_ERROR);
	assert_non_null(strstr(gbig.error, "answer over"));
	assert_in_range(gbig.body_len, 0, HTTP_BODY_MAX);
	env_done(&e);
}

/* A server that never answers: the timeout ends it, the loop turns on. */
static void
test_hung_times_out(void **state)
{
	struct env e;
	struct got g = { 0 };

	(void)state;
	env_init(&e, 0, 0);
	post(&e, "/hang?key=SECRET-KEY", 1000, &g);
	run_until(&e, &g.calls, 1);
	assert_int_equal(g.curl_code, CURLE_OPERATION_TIMEDOUT);
	assert_int_equal(g.status, 0);
	assert_true(strlen(g.error) > 0);
	assert_null(strstr(g.error, "SECRET"));
	assert_null(strstr(g.where, "SECRET"));
	assert_non_null(strstr(g.where, "/hang"));
	/* a 10 ms tick over a 1 s wait: ~100 if the loop never waited */
	assert_true(ticks >= 20);
	env_done(&e);
}

/* Stop while a request hangs: at once, the callback told, nothing left. */
static void
test_stop_while_hung(void **state)
{
	struct env e;
	struct got g = { 0 }, q = { 0 };
	int before = seen();
	uint64_t t0, spent;

	(void)state;
	env_init(&e, 1, 0);
	post(&e, "/hang", 60000, &g);
	post(&e, "/ok", 60000, &q); /* queued behind it */
	while (seen() == before && !e.expired)
		uv_run(&e.loop, UV_RUN_ONCE);
	assert_false(e.expired);
	assert_int_equal(http_pending(e.h), 2);

	t0 = mono_ms();
	http_stop(e.h);
	assert_int_equal(g.calls, 1);
	assert_true(g.stopped);
	assert_int_equal(q.calls, 1);
	assert_true(q.stopped);
	assert_int_equal(http_pending(e.h), 0);
	assert_int_equal(http_post(e.h,
	                     &(struct http_request){ .url = "http://x/" }, done,
	                     &q),
	    -1);
	env_done(&e); /* http_free after http_stop, and the closes */
	spent = mono_ms() - t0;
	assert_true(spent < 2000);
}

/* Past the in-flight limit requests wait, and start in the order posted. */
static void
test_queue_order(void **state)
{
	struct env e;
	struct got g[6] = { 0 };
	char path[16];
	int i, first = seen();

	(void)state;
	env_init(&e, 1, 0);
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/q%d", i);
		post(&e, path, 0, &g[i]);
	}
	assert_int_equal(http_pending(e.h), 6);
	run_until(&e, &completions, 6);
	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "/q%d", i);
		assert_int_equal(g[i].status, 200);
		assert_string_equal(g[i].body, path);
		assert_int_equal(g[i].order, i);
		pthread_mutex_lock(&srv.mu);
		assert_string_equal(srv.seen[first + i], path);
		pthread_mutex_unlock(&srv.mu);
	}
	env_done(&e);
}

/* Ten requests, four at most at the server at once, all answered. */
static void
test_inflight_limit(void **state)
{
	struct env e;
	struct got g[10] = { 0 };
	char path[16];
	int i;

	(void)state;
	pthread_mutex_lock(&srv.mu);
	srv.max_open = srv.open;
	pthread_mutex_unlock(&srv.mu);
	env_init(&e, 4, 6);
	for (i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/p%d", i);
		post(&e, path, 0, &g[i]);
	}
	/* the queue is bounded: the eleventh is refused */
	assert_int_equal(http_post(e.h,
	                     &(struct http_request){ .url = "http://x/" }, done,
	                     &g[0]),
	    -1);
	run_until(&e, &completions, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(g[i].status, 200);
	pthread_mutex_lock(&srv.mu);
	assert_in_range(srv.max_open, 1, 4);
	pthread_mutex_unlock(&srv.mu);
	env_done(&e);
}

static void
test_redact(void **state)
{
	char buf[HTTP_REDACTED_MAX];

	(void)state;
	assert_string_equal(http_redact("https://qyapi.weixin.qq.com/cgi-bin/"
	                                "webhook/send?key=abc-123",
	                        buf, sizeof(buf)),
	    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send");
	assert_string_equal(http_redact("https://u:pw@office.example:8443/"
	                                "in#frag",
	                        buf, sizeof(buf)),
	    "https://office.example:8443/in");
	assert_string_equal(http_redact("http://host?key=x", buf, sizeof(buf)),
	    "http://host");
	assert_string_equal(http_redact("no scheme?key=x", buf, sizeof(buf)),
	    "(bad url)");
	assert_string_equal(http_redact(NULL, buf, sizeof(buf)), "(bad url)");
	/* cut short, still no query */
	assert_string_equal(http_redact("http://h/p?k=v", buf, 10),
	    "http://h/");
}

/* A server that takes the request and then says nothing: the stall
 * bound ends it long before the whole-transfer timeout. */
static void
test_stall(void **state)
{
	struct env e;
	struct got g = { 0 };
	char u[256];
	struct http_request rq = { .timeout_ms = 15000, .stall_s = 1 };

	(void)state;
	env_init(&e, 0, 0);
	url(u, sizeof(u), "/hang");
	rq.url = u;
	assert_int_equal(http_post(e.h, &rq, done, &g), 0);
	run_until(&e, &g.calls, 1);
	assert_int_equal(g.curl_code, CURLE_OPERATION_TIMEDOUT);
	assert_non_null(strstr(g.error, "too slow"));
	env_done(&e);
}

static struct env *freeing;

/* A callback may free the client: the rest are told they were stopped. */
static void
done_then_free(void *arg, const struct http_result *res)
{
	done(arg, res);
	http_free(freeing->h);
	freeing->h = NULL;
}

static void
test_free_from_callback(void **state)
{
	struct env e;
	struct got first = { 0 }, hung = { 0 }, queued = { 0 };
	char u[256];
	struct http_request rq = { 0 };

	(void)state;
	env_init(&e, 1, 0);
	freeing = &e;
	url(u, sizeof(u), "/ok");
	rq.url = u;
	assert_int_equal(http_post(e.h, &rq, done_then_free, &first), 0);
	post(&e, "/hang", 60000, &hung);
	post(&e, "/ok", 60000, &queued);
	run_until(&e, &first.calls, 1);
	assert_int_equal(first.status, 200);
	assert_int_equal(hung.calls, 1);
	assert_true(hung.stopped);
	assert_int_equal(queued.calls, 1);
	assert_true(queued.stopped);
	assert_null(e.h);
	env_done(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_ok),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_hung_times_out),
		cmocka_unit_test(test_stop_while_hung),
		cmocka_unit_test(test_queue_order),
		cmocka_unit_test(test_inflight_limit),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_free_from_callback),
	};

	return cmocka_run_group_tests(tests, server_start, server_stop);
}
