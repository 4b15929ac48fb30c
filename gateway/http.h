/*
 * http.h - HTTP POSTs from the libuv loop: libcurl's multi interface
 * driven by the loop's polls and one timer, a few transfers in flight and
 * the rest queued in order.  It knows nothing of what a body means.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#define HTTP_BODY_MAX     65536 /* a longer answer is an error */
#define HTTP_INFLIGHT     4     /* transfers at once, by default */
#define HTTP_QUEUED       64    /* waiting behind them, by default */
#define HTTP_REDACTED_MAX 256

struct http;

/*
 * What to POST.  Every string and the body are copied by http_post.
 * TLS peers are always verified: there is no way to turn that off.
 */
struct http_request {
	const char *url;          /* may hold a secret: it is never logged */
	const char *content_type; /* NULL: application/json */
	const void *body;
	size_t body_len;
	const char *bearer; /* NULL: no Authorization header */
	/* NULL: the system's trust store; else this PEM bundle in its
	 * place (a private CA, DESIGN 4.5).  Verification stays on. */
	const char *ca_file;
	unsigned timeout_ms;         /* the whole transfer; 0: 30 s */
	unsigned connect_timeout_ms; /* 0: 10 s */
	unsigned stall_s; /* under 1 byte/s this long ends it; 0: 30 s */
};

/*
 * How it ended; valid during the callback only.  Delivered means
 * curl_code 0 and a 2xx status.  A status may come with a curl_code
 * when the answer was cut off after its headers.
 */
struct http_result {
	long status;       /* the HTTP status, 0 when none came */
	int curl_code;     /* a CURLcode, 0 for a complete transfer */
	const char *error; /* libcurl's words, "" when curl_code is 0 */
	const char *body;  /* NUL-terminated, at most HTTP_BODY_MAX */
	size_t body_len;
	long retry_after_s; /* Retry-After (seconds or date), 0: none */
	bool stopped;       /* abandoned by http_stop: nothing was learnt */
	const char *where;  /* the URL without query or user: for logs */
};

typedef void http_done_fn(void *arg, const struct http_result *);

/* 0 for either limit: the default.  NULL on failure. */
struct http *http_new(uv_loop_t *, unsigned max_inflight, unsigned max_queued);
/*
 * Queue a POST; cb is called once, from the loop, never from inside
 * http_post.  -1 (and no callback) when stopped, when the queue is full
 * or when libcurl refuses the request.
 */
int http_post(struct http *, const struct http_request *, http_done_fn *cb,
    void *arg);
/* Requests in flight and queued. */
unsigned http_pending(const struct http *);
/*
 * Abandon every request at once, without waiting for any server: each
 * callback is called with stopped set, then the handles are closed.
 */
void http_stop(struct http *);
/* Stops, and frees once the loop has closed the handles.  NULL is fine. */
void http_free(struct http *);

/*
 * url as scheme://host[:port]/path, without user, password, query or
 * fragment, into buf; "(bad url)" when it has no scheme.  Returns buf.
 */
const char *http_redact(const char *url, char *buf, size_t size);

#endif
