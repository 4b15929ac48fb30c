/*
 * mqtt.h - a connection to a broker (the local one; the central one of
 * the uplink), libmosquitto driven from the libuv loop through its
 * socket (never loop_start), with reconnection and backoff.  It knows
 * nothing of topics' meaning.
 */
#ifndef MQTT_H
#define MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

struct config;
struct mqtt;

struct mqtt_callbacks {
	/* Connected (again): subscribe and announce here. */
	void (*connected)(void *arg);
	/* A connection that was up is lost; reconnecting follows.
	 * Optional. */
	void (*lost)(void *arg);
	void (*message)(void *arg, const char *topic, const void *payload,
	    size_t len);
	/* A connect failed or a connection was lost: mqtt_error() says
	 * why.  Optional. */
	void (*failed)(void *arg);
	/* The broker acknowledged QoS 1 publish mid (PUBACK).  Optional. */
	void (*published)(void *arg, int mid);
	void *arg;
};

struct mqtt_options {
	const char *name; /* what log lines call it: "mqtt", "uplink" */
	const char *host; /* a name (looked up off the loop) or an address */
	int port, keepalive;
	const char *client_id;
	/* false: a persistent session, and what libmosquitto holds
	 * unacknowledged is sent again on every reconnect. */
	bool clean_session;
	const char *username, *password; /* NULL: none */
	/*
	 * TLS: the broker's certificate is always verified, against ca_file
	 * (NULL: the system's store) and against host's name; cert_file and
	 * key_file are the client's certificate (NULL: none).
	 */
	bool tls;
	const char *ca_file, *cert_file, *key_file;
	const char *will_topic, *will_payload; /* retained, QoS 1; NULL: none */
	/* Connects and failures logged at debug only: a probe's, whose
	 * failure is the good news. */
	bool quiet;
	/* QoS 1 messages libmosquitto sends before it waits for PUBACKs,
	 * and sends again on a reconnect; 0: no cap, none sent again. */
	int max_inflight;
};

struct mqtt *mqtt_open(uv_loop_t *, const struct mqtt_options *,
    const struct mqtt_callbacks *);
/* The local broker of cfg ([mqtt]), with a clean session; will_topic and
 * will_payload: the retained last will. */
struct mqtt *mqtt_new(uv_loop_t *, const struct config *,
    const struct mqtt_callbacks *, const char *will_topic,
    const char *will_payload);
/* Connect now, and keep reconnecting with backoff. */
void mqtt_start(struct mqtt *);
int mqtt_subscribe(struct mqtt *, const char *pattern, int qos);
int mqtt_publish(struct mqtt *, const char *topic, const void *payload,
    size_t len, int qos, bool retain);
/* The same, and *mid the message's id, which published() is given. */
int mqtt_publish_id(struct mqtt *, const char *topic, const void *payload,
    size_t len, int qos, bool retain, int *mid);
/* CONNACK received, and the connection not lost since. */
bool mqtt_connected(const struct mqtt *);
/* The broker's answer to the last CONNACK: 0 accepted, > 0 refused
 * (MQTT 3.1.1's codes: 5 not authorised), -1 none yet. */
int mqtt_connack(const struct mqtt *);
/* Why the last connect failed or the connection was lost ("": none
 * since the last CONNACK). */
const char *mqtt_error(const struct mqtt *);
/*
 * Hold small packets back while a batch is published (TCP_CORK), so a
 * burst of answers leaves in a few segments; uncorking sends the rest.
 */
void mqtt_cork(struct mqtt *, bool);
/* Write what the publishes of this loop iteration queued. */
void mqtt_flush(struct mqtt *);
/* Publish a last retained message, disconnect cleanly, close handles. */
void mqtt_stop(struct mqtt *, const char *topic, const char *payload);
/* After mqtt_stop: freed now, or once the loop has closed its handles.
 * NULL is fine. */
void mqtt_free(struct mqtt *);

#endif
