/*
 * outbox.h - commit-then-act: what leaves the gateway because of a
 * journaled decision waits until the journal has committed it.  An
 * action is an MQTT publish, a command for a device (encoded by its
 * driver and published, or put on its bus's queue), or a wake-up for an
 * HTTP sink.  The outbox knows no topic's meaning and no rule; it only
 * holds actions back until their batch is committed, then lets them go
 * in order.  The fire release does not wait: outbox_command_now().
 */
#ifndef OUTBOX_H
#define OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct command;
struct device;

/* Where actions go; the daemon wires these to mqtt.c, the buses, sinks. */
struct outbox_sinks {
	/* 0, or -1 when it could not be sent (not connected). */
	int (*publish)(void *arg, const char *topic, const void *payload,
	    size_t len, int qos, bool retain);
	/* A command for a device on a Modbus bus: 0, or -1 (no bus). */
	int (*bus)(void *arg, const struct device *, const struct command *);
	/* A barrier's open dropped: its journal batch was reported more
	 * than COMMAND_LATE_MS after the decision.  Optional. */
	void (*late)(void *arg, const struct device *, const struct command *);
	/* Whether every gate and barrier is held open (the fire release):
	 * a barrier's open decided before it is not sent after it, for it
	 * could end the hold.  Optional. */
	bool (*held)(void *arg);
	/* New records in the journal for an HTTP sink (office, WeChat). */
	void (*wake)(void *arg, unsigned sink);
	void *arg;
};

struct outbox;

/* prefix: the topic prefix commands are published under (cg/<site>). */
struct outbox *outbox_new(const struct outbox_sinks *, const char *prefix);
void outbox_free(struct outbox *);

/*
 * Queue an action behind the journal batch `ticket` (0: behind nothing,
 * it leaves at the next release).  Payloads and the command's strings
 * are copied.
 */
void outbox_publish(struct outbox *, uint64_t ticket, const char *topic,
    const void *payload, size_t len, int qos, bool retain);
void outbox_command(struct outbox *, uint64_t ticket, const struct device *,
    const struct command *);
void outbox_wake(struct outbox *, uint64_t ticket, unsigned sink);

/* Act at once, ahead of everything queued: the fire release. */
void outbox_command_now(struct outbox *, const struct device *,
    const struct command *);

/*
 * The journal has finished every batch up to ticket, committed or not:
 * everything queued behind them leaves, in order.  Commands go even when
 * the disk failed: a gate is answered whatever the journal does.
 */
void outbox_release(struct outbox *, uint64_t ticket);

/* Actions waiting. */
size_t outbox_pending(const struct outbox *);
/* Commands that could not be sent since start (not connected). */
uint64_t outbox_unsent(const struct outbox *);

#endif
