/*
 * daemon.h - the running gateway: what the libuv loop owns.  Only the
 * loop thread touches any of it.  Its parts (pipelines, the outbox,
 * reloads) get what they need through struct pipeline, never this.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "pipeline.h"

struct config;
struct access_tables;

#define GATEWAY_VERSION "0.1.0"

struct daemon {
	uv_loop_t *loop;
	struct config *cfg;
	struct pipeline pipe; /* tables, state, journal, outbox */
	struct mqtt *mqtt;
	struct buses *buses; /* the Modbus buses' threads */
	struct reload *reload;
	struct wechat *wechat;    /* NULL: no robot configured */
	struct wechat *report;    /* [report]'s own robot, or NULL */
	struct office *office;    /* NULL: no [office] */
	struct uplink *uplink;    /* NULL: no [uplink] */
	struct control *control;  /* gatewayctl's socket */
	struct probe *probe;      /* is the broker open to anyone? */
	int64_t started_ms;       /* wall clock, for status */
	uint64_t started_mono_ms; /* for the uptime */
	/* Devices with a vendor's topic of their own (driver_mqtt.topic). */
	const struct device **vendor;
	size_t nvendor;

	uv_check_t commit;
	uv_timer_t tick;
	uv_timer_t watchdog;
	uv_signal_t sigterm, sigint, sighup;
	bool stopping;

	uv_work_t snapshot_req;
	uint64_t done_through; /* the last journal batch reported */
	bool flush_due;        /* published this iteration: write it out */
	bool clock_checked;
	bool announced_snapshot; /* the status says "snapshot" */
	bool connected;          /* to the broker */
	size_t announced_open;   /* open incidents the status says */
	uint64_t announced_ms;   /* when the status was last published */
};

/* "broker_open": true when the broker let an anonymous client in,
 * false when it refused one, null before it was tried. */
json_t *daemon_broker_open(const struct daemon *);
/* status.c: the live state gatewayctl status shows. */
json_t *daemon_status(const struct daemon *);
/* A message as if it came from the broker: staff's requests made on the
 * control socket take the MQTT tools' path. */
void daemon_inject(struct daemon *, const char *topic, const void *payload,
    size_t len);
/* Secret files read again, and the access tables: SIGHUP's work.  The
 * number of the reload (reload_start()). */
unsigned daemon_reload(struct daemon *, const char *why);

/*
 * Run the gateway until SIGTERM.  problems > 0: access.d had that many
 * and tables are the last good snapshot.  Returns the exit status.
 */
int daemon_run(struct config *, struct access_tables *, size_t problems);

#endif
