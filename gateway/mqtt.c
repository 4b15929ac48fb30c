/*
 * mqtt.c - libmosquitto as a citizen of the libuv loop: a uv_poll on its
 * socket calls loop_read/loop_write, a one-second timer calls loop_misc
 * (keepalive), and a retry timer reconnects: at once after a connection
 * is lost, with backoff only while connects fail.  Nagle is off: at a
 * gate's pace it alone would add about 40 ms to every answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <mosquitto.h>

#include "config.h"
#include "log.h"
#include "mqtt.h"
#include "util.h"

#define BACKOFF_MIN_MS     500
#define BACKOFF_MAX_MS     30000
#define READ_BURST         512 /* packets read per wake-up, for fairness */
#define CONNECT_TIMEOUT_MS 10000
#define STABLE_MS          30000 /* up less than this: lost "soon" */

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
	char *host;
	int port, keepalive;

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
};

static void mqtt_update(struct mqtt *);
static void on_retry(uv_timer_t *);
static void on_connect_timeout(uv_timer_t *);
static void connect_next(struct mqtt *);

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
	delay = m->backoff_ms / 2 + (unsigned)rand() % (m->backoff_ms / 2 + 1);
	uv_timer_start(&m->retry, on_retry, delay, 0);
	m->backoff_ms = m->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
	                                                     m->backoff_ms * 2;
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
	if (rc != 0) {
		/* libmosquitto closes the socket; mqtt_update moves on. */
		log_warnx("mqtt %s:%d: connection refused: %s", m->host,
		    m->port, mosquitto_connack_string(rc));
		return;
	}
	log_info("mqtt %s:%d: connected", m->host, m->port);
	m->state = MQTT_CONNECTED;
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
		log_warnx("mqtt %s:%d: connection lost%s%s", m->host, m->port,
		    rc ? ": " : "", rc ? mosquitto_strerror(rc) : "");
		if (m->cb.lost)
			m->cb.lost(m->cb.arg);
	} else if (m->state == MQTT_CONNECTING && !m->stopping) {
		log_warnx("mqtt %s:%d: connect to %s: %s", m->host, m->port,
		    m->addr,
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
			log_errx("mqtt: poll: %s", uv_strerror(rc));
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
	/* Whatever socket there was is replaced: stop watching its number. */
	drop_poll(m);
	rc = mosquitto_connect_async(m->mosq, addr, m->port, m->keepalive);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warnx("mqtt %s:%d: connect to %s: %s", m->host, m->port,
		    addr,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
		                           mosquitto_strerror(rc));
		return -1;
	}
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
		return;
	}
	if (status != 0 || res == NULL) {
		log_warnx("mqtt %s: cannot resolve: %s", m->host,
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
	log_warnx("mqtt %s:%d: no answer from %s within %d s", m->host, m->port,
	    m->addr, CONNECT_TIMEOUT_MS / 1000);
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

struct mqtt *
mqtt_new(uv_loop_t *loop, const struct config *cfg,
    const struct mqtt_callbacks *cb, const char *will_topic,
    const char *will_payload)
{
	struct mqtt *m = calloc(1, sizeof(*m));
	unsigned seed;
	int rc;

	if (m == NULL)
		return NULL;
	/* Each gateway its own jitter. */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		srand(seed);
	m->loop = loop;
	m->cb = *cb;
	m->fd = -1;
	m->port = cfg->mqtt_port;
	m->keepalive = cfg->mqtt_keepalive;
	m->backoff_ms = BACKOFF_MIN_MS;
	m->host = strdup(cfg->mqtt_host);
	/*
	 * A clean session: requests sent while we were away are not
	 * replayed later as a burst of late opens; a person simply shows
	 * their face again.  Subscriptions are renewed on every connect.
	 */
	m->mosq = mosquitto_new(cfg->mqtt_client_id, true, m);
	if (m->host == NULL || m->mosq == NULL) {
		log_errx("mqtt: out of memory");
		goto fail;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
	    MQTT_PROTOCOL_V311);
	/* No cap on QoS 1 commands in flight: they must not queue here. */
	mosquitto_max_inflight_messages_set(m->mosq, 0);
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_message_callback_set(m->mosq, on_message);
	rc = cfg->mqtt_username ? mosquitto_username_pw_set(m->mosq,
	                              cfg->mqtt_username, cfg->mqtt_password) :
	                          MOSQ_ERR_SUCCESS;
	if (rc != MOSQ_ERR_SUCCESS) {
		log_errx("mqtt: credentials: %s", mosquitto_strerror(rc));
		goto fail;
	}
	rc = mosquitto_will_set(m->mosq, will_topic, (int)strlen(will_payload),
	    will_payload, 1, true);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_errx("mqtt: will: %s", mosquitto_strerror(rc));
		goto fail;
	}
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
	free(m->host);
	free(m);
	return NULL;
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
	int rc;

	if (m->state != MQTT_CONNECTED)
		return -1;
	rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, qos,
	    retain);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_warnx("mqtt: publish %s: %s", topic,
		    mosquitto_strerror(rc));
		return -1;
	}
	return 0;
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
	if (m->state == MQTT_RESOLVING)
		uv_cancel((uv_req_t *)&m->resolve);
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
	uv_close((uv_handle_t *)&m->misc, NULL);
	uv_close((uv_handle_t *)&m->retry, NULL);
	uv_close((uv_handle_t *)&m->timeout, NULL);
}

void
mqtt_free(struct mqtt *m)
{
	if (m == NULL)
		return;
	mosquitto_destroy(m->mosq);
	free(m->host);
	free(m);
}
