/*
 * daemon.h - the running gateway: the state the libuv loop owns and the
 * calls its parts make into it.  Only the loop thread touches any of it.
 */
#ifndef DAEMON_H
#define DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "diag.h"
#include "journal_compat.h"

struct config;
struct access_tables;
struct device;

#define GATEWAY_VERSION "0.1.0"

struct outmsg {
	char *topic;
	char *payload; /* in the same allocation as topic */
	size_t len;
	int qos;
	bool retain;
	bool record; /* a journal record: only if committed */
};

struct daemon {
	uv_loop_t *loop;
	struct config *cfg;
	struct access_tables *tables;
	struct journal_compat *journal;
	struct mqtt *mqtt;
	struct dedup *dedup;
	int64_t stale_ms; /* 0: do not check ts */

	/* Published once this iteration's transaction has committed. */
	struct outmsg *out;
	size_t nout, capout;

	uv_check_t commit;
	uv_timer_t checkpoint;
	uv_timer_t watchdog;
	uv_timer_t debounce;
	uv_signal_t sigterm, sigint, sighup;
	uv_fs_event_t watch;
	uv_work_t reload_req;
	struct access_tables *reload_tables;
	struct diag reload_diag;
	uint64_t reload_started; /* uv_hrtime() */
	bool reload_running;
	bool reload_again;
	bool stopping;

	uv_work_t wal_sync_req;
	int wal_sync_fd;
	int wal_sync_errno;
	bool wal_syncing;
	uint64_t wal_sync_warned_ms;

	uint64_t last_input;        /* uv_now() of the last message */
	uint64_t unknown_warned_ms; /* unknown devices */
	uint64_t rejected;          /* bad payloads, all */
	unsigned journal_retry_ticks;
	int lock_fd;     /* data_dir/gatewayd.lock, held */
	uint64_t unsent; /* commands while disconnected */
	uint64_t unsent_warned_ms;
	bool clock_checked;
};

/* Run the gateway until SIGTERM.  Returns the exit status. */
int daemon_run(struct config *, struct access_tables *);

/* Publish after this iteration's commit; payload is copied. */
void daemon_send(struct daemon *, const char *topic, const char *payload,
    size_t len, int qos, bool retain);
/* Journal a record and publish it on <prefix>/events/<kind>.  0 or -1. */
int daemon_record(struct daemon *, const struct journal_record *,
    int64_t ts_ms);

/* gate.c: a message for a gate device, on its subtopic. */
void gate_message(struct daemon *, struct device *, const char *subtopic,
    const void *payload, size_t len);
/* gate.c: a request on a gate topic of a device nobody configured. */
void gate_unknown(struct daemon *, const char *id, const char *subtopic);

#endif
