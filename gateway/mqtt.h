/*
 * mqtt.h - the gateway's one connection to the local broker, libmosquitto
 * driven from the libuv loop through its socket (never loop_start), with
 * reconnection and backoff.  It knows nothing of topics' meaning.
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
	void *arg;
};

/* will_topic/will_payload: the retained last will. */
struct mqtt *mqtt_new(uv_loop_t *, const struct config *,
    const struct mqtt_callbacks *, const char *will_topic,
    const char *will_payload);
/* Connect now, and keep reconnecting with backoff. */
void mqtt_start(struct mqtt *);
int mqtt_subscribe(struct mqtt *, const char *pattern, int qos);
int mqtt_publish(struct mqtt *, const char *topic, const void *payload,
    size_t len, int qos, bool retain);
/*
 * Hold small packets back while a batch is published (TCP_CORK), so a
 * burst of answers leaves in a few segments; uncorking sends the rest.
 */
void mqtt_cork(struct mqtt *, bool);
/* Write what the publishes of this loop iteration queued. */
void mqtt_flush(struct mqtt *);
/* Publish a last retained message, disconnect cleanly, close handles. */
void mqtt_stop(struct mqtt *, const char *topic, const char *payload);
/* After mqtt_stop and once the loop has closed the handles. */
void mqtt_free(struct mqtt *);

#endif
