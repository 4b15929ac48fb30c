/*
 * mqtt.c - libmosquitto as a citizen of the libuv loop: a uv_poll on its
 * socket calls loop_read/loop_write, a one-second timer calls loop_misc
 * (keepalive), and a retry timer reconnects: at once after a connection
 * is lost, with backoff only while connects fail.  Nagle is off: at a
 * gate's pace it alone would add about 40 ms to every answer.  TLS, for
 * the uplink, is libmosquitto's, with the name check OpenSSL's (below).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <mosquitto.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "log.h"
#include "mqtt.h"
#include "util.h"

#define BACKOFF_MIN_MS     500
#define BACKOFF_MAX_MS     30000
#define READ_BURST         512 /* packets read per wake-up, for fairness */
#define CONNECT_TIMEOUT_MS 10000
#define STABLE_MS          30000 /* up less than this: lost "soon" */
#define SYSTEM_CA_PATH     "/etc/ssl/certs"
#define ERROR_MAX          160

/*
 * IDLE: no connection; a retry is scheduled.  RESOLVING: looking the
 * host up.  CONNECTING: a socket, waiting for CONNACK.  Only IDLE starts
 * a connection, so no stale timer can replace a live one.
 */
enum mqtt_state {
	MQTT_IDLE,
	MQTT_RESOLVING,
	MQTT_CONNECTING,
	MQTT_CONNECTED,
};

struct mqtt {
	uv_loop_t *loop;
	struct mosquitto *mosq;
	struct mqtt_callbacks cb;
	const char *name;
	char *host;
	int port, keepalive;
	bool tls;
	SSL_CTX *ssl_ctx; /* ours, for the name check; NULL without TLS */
	char error[ERROR_MAX];
	char liberr[ERROR_MAX]; /* libmosquitto's last error line */
	bool numeric;           /* host is an address, not a name */
	long verify_error;      /* OpenSSL's verdict on the broker's chain */
	unsigned closing;       /* handles the loop has yet to close */
	bool free_closed;       /* mqtt_free came first: free when they are */

	uv_poll_t *poll; /* the current socket's, or NULL */
	int fd;
	int events;
	uv_timer_t misc;
	uv_timer_t retry;
	uv_timer_t timeout; /* for CONNACK */
	uv_getaddrinfo_t resolve;
	struct addrinfo *addrs; /* the host's addresses, tried in turn */
	struct addrinfo *next_addr;
	char addr[INET6_ADDRSTRLEN]; /* the one being tried */
	enum mqtt_state state;
	uint64_t connected_at; /* uv_now() */
	unsigned backoff_ms;   /* the next wait after a failed connect */
	/* Connections in a row lost soon after they were made, with no
	 * failed connect between: another client taking our id. */
	unsigned flaps;
	bool stopping;
	bool quiet;  /* a probe: its failures are no warning */
	int connack; /* the last CONNACK's code, or -1 */
};

static void mqtt_update(struct mqtt *);
static void on_retry(uv_timer_t *);
static void on_connect_timeout(uv_timer_t *);
static void connect_next(struct mqtt *);
void mqtt_free(struct mqtt *);

/* Log why a connect failed or a connection was lost, and keep it for
 * mqtt_error(). */
static void __attribute__((format(printf, 2, 3)))
failed(struct mqtt *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->error, sizeof(m->error), fmt, ap);
	va_end(ap);
	if (m->quiet)
		log_debug("%s %s:%d: %s", m->name, m->host, m->port, m->error);
	else
		log_warnx("%s %s:%d: %s", m->name, m->host, m->port, m->error);
	if (m->cb.failed)
		m->cb.failed(m->cb.arg);
}

/* One of the handles (or the lookup) mqtt_stop ended is gone. */
static void
released(struct mqtt *m)
{
	if (--m->closing == 0 && m->free_closed)
		mqtt_free(m);
}

static void
handle_closed(uv_handle_t *h)
{
	released(h->data);
}

static void
poll_closed(uv_handle_t *h)
{
	free(h);
}

static void
drop_poll(struct mqtt *m)
{
	if (m->poll == NULL)
		return;
	uv_poll_stop(m->poll);
	uv_close((uv_handle_t *)m->poll, poll_closed);
	m->poll = NULL;
	m->fd = -1;
	m->events = 0;
}

/* Wait the backoff, which doubles for the next time. */
static void
retry_later(struct mqtt *m)
{
	unsigned delay;

	m->state = MQTT_IDLE;
	if (m->stopping || uv_is_active((uv_handle_t *)&m->retry))
		return;
	/* Jitter, so that a room of gateways does not reconnect in step. */
	delay = (unsigned)random_between(m->backoff_ms / 2, m->backoff_ms);
	uv_timer_start(&m->retry, on_retry, delay, 0);
	m->backoff_ms = (unsigned)backoff_next(m->backoff_ms, BACKOFF_MIN_MS,
	    BACKOFF_MAX_MS);
}

static void
free_addrs(struct mqtt *m)
{
	if (m->addrs != NULL)
		uv_freeaddrinfo(m->addrs);
	m->addrs = NULL;
	m->next_addr = NULL;
}

/* A connect failed (refused, no answer, no address): wait, longer each
 * time, until one succeeds. */
static void
connect_failed(struct mqtt *m)
{
	uv_timer_stop(&m->timeout);
	free_addrs(m);
	m->flaps = 0;
	retry_later(m);
}

/*
 * A connection that was up is gone.  Most often the broker restarted and
 * is back in a moment: try again at once (from the loop, not from inside
 * libmosquitto), then back off only while connects fail.  A connection
 * lost soon after the one before was too, with connects succeeding in
 * between, is another client taking our client id: then wait, or the two
 * would knock each other off as fast as the broker allows.
 */
static void
connection_lost(struct mqtt *m)
{
	if (uv_now(m->loop) - m->connected_at >= STABLE_MS)
		m->flaps = 0;
	else
		m->flaps++;
	if (m->flaps > 1) {
		retry_later(m);
		return;
	}
	m->state = MQTT_IDLE;
	if (!m->stopping)
		uv_timer_start(&m->retry, on_retry, 0, 0);
}

static void
on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mqtt *m = arg;

	(void)mosq;
	m->connack = rc;
	if (rc != 0) {
		/* libmosquitto closes the socket; mqtt_update moves on. */
		failed(m, "connection refused: %s",
		    mosquitto_connack_string(rc));
		return;
	}
	if (m->quiet)
		log_debug("%s %s:%d: connected", m->name, m->host, m->port);
	else
		log_info("%s %s:%d: connected", m->name, m->host, m->port);
	m->state = MQTT_CONNECTED;
	m->error[0] = '\0';
	m->connected_at = uv_now(m->loop);
	/* The next failure starts from the shortest wait, unless we are
	 * being knocked off again and again. */
	if (m->flaps == 0)
		m->backoff_ms = BACKOFF_MIN_MS;
	uv_timer_stop(&m->timeout);
	uv_timer_stop(&m->retry);
	free_addrs(m);
	if (m->cb.connected)
		m->cb.connected(m->cb.arg);
}

static void
on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mqtt *m = arg;

	(void)mosq;
	if (m->state == MQTT_CONNECTED && !m->stopping) {
		failed(m, "connection lost%s%s", rc ? ": " : "",
		    rc ? mosquitto_strerror(rc) : "");
		if (m->cb.lost)
			m->cb.lost(m->cb.arg);
	} else if (m->state == MQTT_CONNECTING && !m->stopping) {
		failed(m, "connect to %s: %s", m->addr,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
		                           mosquitto_strerror(rc));
	}
	/* libmosquitto has closed the socket: stop watching its number
	 * before a new connection can be given the same one. */
	drop_poll(m);
}

static void
on_message(struct mosquitto *mosq, void *arg,
    const struct mosquitto_message *msg)
{
	struct mqtt *m = arg;

	(void)mosq;
	if (m->cb.message && msg->topic)
		m->cb.message(m->cb.arg, msg->topic, msg->payload,
		    msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
}

static void
on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	struct mqtt *m = arg;

	(void)mosq;
	if (m->cb.published)
		m->cb.published(m->cb.arg, mid);
}

/* A TLS handshake failed: say why, as precisely as OpenSSL knows. */
static void
tls_failed(struct mqtt *m)
{
	SSL *ssl = mosquitto_ssl_get(m->mosq);
	/* Kept by verify_plain: libmosquitto may have freed the SSL. */
	long v = m->verify_error != X509_V_OK ? m->verify_error :
	    ssl != NULL                       ? SSL_get_verify_result(ssl) :
	                                        X509_V_OK;

	if (v != X509_V_OK)
		failed(m,
		    "TLS with %s: the broker's certificate is refused: "
		    "%s",
		    m->addr, X509_verify_cert_error_string(v));
	else
		failed(m, "TLS with %s: %s", m->addr,
		    m->liberr[0] != '\0' ? m->liberr : "handshake failed");
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct mqtt *m = p->data;
	int i, pending, rc = MOSQ_ERR_SUCCESS;

	if (status < 0) {
		/*
		 * POLLERR, which libuv reports as EBADF: the connection was
		 * reset or refused, and libuv has stopped watching.  Reading
		 * takes the error: libmosquitto closes its socket and calls
		 * on_disconnect, and mqtt_update moves on.  Dropping only the
		 * watcher would leave the dead socket open, to be watched and
		 * fail again every second until the next connect.
		 */
		m->events = 0;
		events = UV_READABLE;
	}
	/*
	 * A TLS handshake that waits to write goes on only in loop_read
	 * (loop_write does nothing while it lasts); a read with nothing to
	 * read is harmless.
	 */
	if (m->tls && (events & UV_WRITABLE))
		events |= UV_READABLE;
	if (events & UV_READABLE) {
		/*
		 * libmosquitto reads one packet a call; keep reading while
		 * the kernel holds more, so one wake-up (and one journal
		 * transaction) takes a whole burst.
		 */
		for (i = 0; i < READ_BURST; i++) {
			rc = mosquitto_loop_read(m->mosq, 1);
			if (rc != MOSQ_ERR_SUCCESS ||
			    mosquitto_socket(m->mosq) < 0)
				break;
			if (ioctl(m->fd, FIONREAD, &pending) < 0 ||
			    pending <= 0)
				break;
		}
		if (rc == MOSQ_ERR_TLS && m->state == MQTT_CONNECTING)
			tls_failed(m);
	}
	if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) >= 0 &&
	    mosquitto_want_write(m->mosq))
		mosquitto_loop_write(m->mosq, 1);
	mqtt_update(m);
}

/*
 * Make the poll handle match libmosquitto's socket and wishes, and move
 * on when the socket has gone: the host's next address, or a retry.
 */
static void
mqtt_update(struct mqtt *m)
{
	int fd = mosquitto_socket(m->mosq), ev, rc;

	if (fd != m->fd)
		drop_poll(m);
	if (fd < 0) {
		if (m->state == MQTT_CONNECTING && m->next_addr != NULL)
			connect_next(m);
		else if (m->state == MQTT_CONNECTING)
			connect_failed(m);
		else if (m->state == MQTT_CONNECTED)
			connection_lost(m);
		return;
	}
	if (m->poll == NULL) {
		m->poll = malloc(sizeof(*m->poll));
		if (m->poll == NULL)
			return;
		rc = uv_poll_init_socket(m->loop, m->poll, fd);
		if (rc < 0) {
			log_errx("%s: poll: %s", m->name, uv_strerror(rc));
			free(m->poll);
			m->poll = NULL;
			return;
		}
		m->poll->data = m;
		m->fd = fd;
		m->events = 0;
	}
	ev = UV_READABLE | (mosquitto_want_write(m->mosq) ? UV_WRITABLE : 0);
	if (ev != m->events) {
		uv_poll_start(m->poll, ev, on_poll);
		m->events = ev;
	}
}

static void
on_misc(uv_timer_t *t)
{
	struct mqtt *m = t->data;

	if (mosquitto_socket(m->mosq) >= 0)
		mosquitto_loop_misc(m->mosq);
	mqtt_update(m);
}

/* Connect to one numeric address without blocking; CONNACK comes later. */
static int
start_connect(struct mqtt *m, const char *addr)
{
	int rc;

	str_copy(m->addr, addr, sizeof(m->addr));
	m->liberr[0] = '\0';
	m->verify_error = X509_V_OK;
	/* Whatever socket there was is replaced: stop watching its number. */
	drop_poll(m);
	rc = mosquitto_connect_async(m->mosq, addr, m->port, m->keepalive);
	if (rc == MOSQ_ERR_TLS)
		tls_failed(m);
	if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_TLS)
		failed(m, "connect to %s: %s", addr,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
		                           mosquitto_strerror(rc));
	if (rc != MOSQ_ERR_SUCCESS)
		return -1;
	m->state = MQTT_CONNECTING;
	/* A broker that never answers must not hold us forever. */
	uv_timer_start(&m->timeout, on_connect_timeout, CONNECT_TIMEOUT_MS, 0);
	mqtt_update(m);
	return 0;
}

/* The host's next address, in the resolver's order; a retry after all. */
static void
connect_next(struct mqtt *m)
{
	char addr[INET6_ADDRSTRLEN];
	struct addrinfo *a;

	for (a = m->next_addr; a != NULL; a = m->next_addr) {
		m->next_addr = a->ai_next;
		if (a->ai_family == AF_INET6)
			uv_ip6_name((struct sockaddr_in6 *)a->ai_addr, addr,
			    sizeof(addr));
		else if (a->ai_family == AF_INET)
			uv_ip4_name((struct sockaddr_in *)a->ai_addr, addr,
			    sizeof(addr));
		else
			continue;
		if (start_connect(m, addr) == 0)
			return;
	}
	connect_failed(m);
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct mqtt *m = req->data;

	if (m->stopping || status == UV_ECANCELED) {
		uv_freeaddrinfo(res);
		if (m->stopping)
			released(m);
		return;
	}
	if (status != 0 || res == NULL) {
		failed(m, "cannot resolve: %s",
		    status ? uv_strerror(status) : "no address");
		uv_freeaddrinfo(res);
		connect_failed(m);
		return;
	}
	m->addrs = res;
	m->next_addr = res;
	m->state = MQTT_CONNECTING;
	connect_next(m);
}

static void
try_connect(struct mqtt *m)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_ADDRCONFIG,
	};
	unsigned char buf[sizeof(struct in6_addr)];

	if (m->state != MQTT_IDLE || m->stopping)
		return;
	if (inet_pton(AF_INET, m->host, buf) == 1 ||
	    inet_pton(AF_INET6, m->host, buf) == 1) {
		if (start_connect(m, m->host) < 0)
			connect_failed(m);
		return;
	}
	/* libmosquitto would resolve a name with a blocking getaddrinfo. */
	m->resolve.data = m;
	if (uv_getaddrinfo(m->loop, &m->resolve, on_resolved, m->host, NULL,
	        &hints) == 0)
		m->state = MQTT_RESOLVING;
	else
		connect_failed(m);
}

static void
on_connect_timeout(uv_timer_t *t)
{
	struct mqtt *m = t->data;

	if (m->state != MQTT_CONNECTING || m->stopping)
		return;
	failed(m, "no answer from %s within %d s", m->addr,
	    CONNECT_TIMEOUT_MS / 1000);
	/* The next connect replaces the pending socket. */
	drop_poll(m);
	if (m->next_addr != NULL)
		connect_next(m);
	else
		connect_failed(m);
}

static void
on_retry(uv_timer_t *t)
{
	try_connect(t->data);
}

static void
on_log(struct mosquitto *mosq, void *arg, int level, const char *text)
{
	struct mqtt *m = arg;

	(void)mosq;
	if (level == MOSQ_LOG_ERR && text != NULL)
		str_copy(m->liberr, text, sizeof(m->liberr));
}

/* OpenSSL's verdict (the chain, the name), as it is: SSL_set_verify
 * keeps the callback it had when given NULL. */
static int
verify_plain(int ok, X509_STORE_CTX *ctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(ctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct mqtt *m =
	    ssl != NULL ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;

	if (!ok && m != NULL && m->verify_error == X509_V_OK)
		m->verify_error = X509_STORE_CTX_get_error(ctx);
	return ok;
}

/*
 * libmosquitto checks the broker's name against the address it was
 * given to connect to, which is a number here: names are looked up off
 * the loop (try_connect), libmosquitto would block.  So the check is
 * OpenSSL's own (X509_check_host, or the address when host is one), set
 * on an SSL_CTX of ours that libmosquitto fills with its defaults (the
 * CA, the client's certificate); its own name check is off
 * (tls_insecure) because this one replaces it.
 *
 * Its verify callback is replaced too, as each handshake starts, by
 * OpenSSL's plain chain-and-name verification: in libmosquitto 2.0.11
 * that callback finds its client only when libmosquitto made the
 * SSL_CTX itself, and refuses every certificate otherwise.  SNI names
 * host as well, not the address.
 */
static void
on_tls_info(const SSL *ssl, int where, int ret)
{
	struct mqtt *m;

	(void)ret;
	if (!(where & SSL_CB_HANDSHAKE_START))
		return;
	SSL_set_verify((SSL *)ssl, SSL_VERIFY_PEER, verify_plain);
	m = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (m != NULL && !m->numeric)
		SSL_set_tlsext_host_name((SSL *)ssl, m->host);
}

static int
tls_setup(struct mqtt *m, const struct mqtt_options *o)
{
	unsigned char buf[sizeof(struct in6_addr)];
	X509_VERIFY_PARAM *param;
	bool numeric;
	int rc;

	m->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (m->ssl_ctx == NULL)
		return -1;
	param = SSL_CTX_get0_param(m->ssl_ctx);
	numeric = inet_pton(AF_INET, m->host, buf) == 1 ||
	    inet_pton(AF_INET6, m->host, buf) == 1;
	X509_VERIFY_PARAM_set_hostflags(param,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((numeric ? X509_VERIFY_PARAM_set1_ip_asc(param, m->host) :
	               X509_VERIFY_PARAM_set1_host(param, m->host, 0)) != 1)
		return -1;
	m->numeric = numeric;
	SSL_CTX_set_app_data(m->ssl_ctx, m);
	SSL_CTX_set_info_callback(m->ssl_ctx, on_tls_info);
	rc = mosquitto_tls_set(m->mosq, o->ca_file,
	    o->ca_file == NULL ? SYSTEM_CA_PATH : NULL, o->cert_file,
	    o->key_file, NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_opts_set(m->mosq, SSL_VERIFY_PEER, NULL,
		    NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_void_option(m->mosq, MOSQ_OPT_SSL_CTX,
		    m->ssl_ctx);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_int_option(m->mosq,
		    MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_insecure_set(m->mosq, true);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_errx("%s: tls: %s%s", m->name, mosquitto_strerror(rc),
		    rc == MOSQ_ERR_INVAL ? " (ca_file, cert_file or key_file "
		                           "cannot be read?)" :
		                           "");
		return -1;
	}
	return 0;
}

struct mqtt *
mqtt_open(uv_loop_t *loop, const struct mqtt_options *o,
    const struct mqtt_callbacks *cb)
{
	struct mqtt *m = calloc(1, sizeof(*m));
	int rc;

	if (m == NULL)
		return NULL;
	m->loop = loop;
	m->cb = *cb;
	m->name = o->name;
	m->fd = -1;
	m->port = o->port;
	m->keepalive = o->keepalive;
	m->tls = o->tls;
	m->quiet = o->quiet;
	m->connack = -1;
	m->backoff_ms = BACKOFF_MIN_MS;
	m->host = strdup(o->host);
	m->mosq = mosquitto_new(o->client_id, o->clean_session, m);
	if (m->host == NULL || m->mosq == NULL) {
		log_errx("%s: out of memory", m->name);
		goto fail;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
	    MQTT_PROTOCOL_V311);
	/*
	 * The local connection has no cap: commands must not queue here.
	 * libmosquitto sends a QoS 1 message again after a reconnect only
	 * within a cap (with none, it keeps it unsent): the uplink's.
	 */
	mosquitto_max_inflight_messages_set(m->mosq,
	    o->max_inflight > 0 ? (unsigned)o->max_inflight : 0);
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_message_callback_set(m->mosq, on_message);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	mosquitto_log_callback_set(m->mosq, on_log);
	rc = o->username ?
	    mosquitto_username_pw_set(m->mosq, o->username, o->password) :
	    MOSQ_ERR_SUCCESS;
	if (rc != MOSQ_ERR_SUCCESS) {
		log_errx("%s: credentials: %s", m->name,
		    mosquitto_strerror(rc));
		goto fail;
	}
	rc = o->will_topic == NULL ?
	    MOSQ_ERR_SUCCESS :
	    mosquitto_will_set(m->mosq, o->will_topic,
	        (int)strlen(o->will_payload), o->will_payload, 1, true);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_errx("%s: will: %s", m->name, mosquitto_strerror(rc));
		goto fail;
	}
	if (m->tls && tls_setup(m, o) < 0)
		goto fail;
	uv_timer_init(loop, &m->misc);
	uv_timer_init(loop, &m->retry);
	uv_timer_init(loop, &m->timeout);
	m->timeout.data = m;
	m->misc.data = m;
	m->retry.data = m;
	return m;
fail:
	if (m->mosq)
		mosquitto_destroy(m->mosq);
	SSL_CTX_free(m->ssl_ctx);
	free(m->host);
	free(m);
	return NULL;
}

struct mqtt *
mqtt_new(uv_loop_t *loop, const struct config *cfg,
    const struct mqtt_callbacks *cb, const char *will_topic,
    const char *will_payload)
{
	/*
	 * A clean session: requests sent while we were away are not
	 * replayed later as a burst of late opens; a person simply shows
	 * their face again.  Subscriptions are renewed on every connect.
	 */
	struct mqtt_options o = {
		.name = "mqtt",
		.host = cfg->mqtt_host,
		.port = cfg->mqtt_port,
		.keepalive = cfg->mqtt_keepalive,
		.client_id = cfg->mqtt_client_id,
		.clean_session = true,
		.username = cfg->mqtt_username,
		.password = cfg->mqtt_password,
		.will_topic = will_topic,
		.will_payload = will_payload,
	};

	return mqtt_open(loop, &o, cb);
}

void
mqtt_start(struct mqtt *m)
{
	uv_timer_start(&m->misc, on_misc, 1000, 1000);
	try_connect(m);
}

int
mqtt_subscribe(struct mqtt *m, const char *pattern, int qos)
{
	int rc = mosquitto_subscribe(m->mosq, NULL, pattern, qos);

	if (rc != MOSQ_ERR_SUCCESS) {
		log_warnx("mqtt: subscribe %s: %s", pattern,
		    mosquitto_strerror(rc));
		return -1;
	}
	log_debug("mqtt: subscribe %s", pattern);
	mqtt_update(m);
	return 0;
}

int
mqtt_publish(struct mqtt *m, const char *topic, const void *payload, size_t len,
    int qos, bool retain)
{
	return mqtt_publish_id(m, topic, payload, len, qos, retain, NULL);
}

int
mqtt_publish_id(struct mqtt *m, const char *topic, const void *payload,
    size_t len, int qos, bool retain, int *mid)
{
	int rc;

	if (m->state != MQTT_CONNECTED)
		return -1;
	rc = mosquitto_publish(m->mosq, mid, topic, (int)len, payload, qos,
	    retain);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warnx("%s: publish %s: %s", m->name, topic,
		    mosquitto_strerror(rc));
		return -1;
	}
	return 0;
}

bool
mqtt_connected(const struct mqtt *m)
{
	/* The socket too: in on_disconnect, the state is not moved yet. */
	return m->state == MQTT_CONNECTED && mosquitto_socket(m->mosq) >= 0;
}

int
mqtt_connack(const struct mqtt *m)
{
	return m->connack;
}

const char *
mqtt_error(const struct mqtt *m)
{
	return m->error;
}

static void
flush(struct mqtt *m)
{
	int i;

	for (i = 0; i < 100 && mosquitto_socket(m->mosq) >= 0 &&
	     mosquitto_want_write(m->mosq);
	     i++)
		if (mosquitto_loop_write(m->mosq, 1) != MOSQ_ERR_SUCCESS)
			break;
}

void
mqtt_cork(struct mqtt *m, bool on)
{
	int v = on;

	if (m->fd >= 0)
		setsockopt(m->fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
}

void
mqtt_flush(struct mqtt *m)
{
	flush(m);
	mqtt_update(m);
}

void
mqtt_stop(struct mqtt *m, const char *topic, const char *payload)
{
	m->stopping = true;
	/* A lookup in flight must not hold the stop (nor the loop). */
	if (m->state == MQTT_RESOLVING) {
		m->closing++; /* on_resolved is still to come */
		uv_cancel((uv_req_t *)&m->resolve);
	}
	if (m->state == MQTT_CONNECTED && topic) {
		mosquitto_publish(m->mosq, NULL, topic, (int)strlen(payload),
		    payload, 1, true);
		flush(m);
	}
	if (mosquitto_socket(m->mosq) >= 0) {
		mosquitto_disconnect(m->mosq);
		flush(m);
	}
	m->state = MQTT_IDLE;
	free_addrs(m);
	drop_poll(m);
	uv_timer_stop(&m->misc);
	uv_timer_stop(&m->retry);
	uv_timer_stop(&m->timeout);
	m->closing += 3;
	uv_close((uv_handle_t *)&m->misc, handle_closed);
	uv_close((uv_handle_t *)&m->retry, handle_closed);
	uv_close((uv_handle_t *)&m->timeout, handle_closed);
}

void
mqtt_free(struct mqtt *m)
{
	if (m == NULL)
		return;
	if (m->closing > 0) {
		m->free_closed = true;
		return;
	}
	mosquitto_destroy(m->mosq);
	SSL_CTX_free(m->ssl_ctx);
	free(m->host);
	free(m);
}
