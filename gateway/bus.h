/*
 * bus.h - the Modbus buses.  Each [bus NAME] (an RS-485 port, or one TCP
 * endpoint) gets a worker thread that owns its modbus_t, polls the
 * devices on it on their own schedules, one transaction at a time, and
 * carries out commands ahead of every poll.  The loop never waits for a
 * bus: commands go to a bus's thread through a queue, and what the
 * thread finds (decoded events, a device gone or back, a command's end)
 * comes back through a queue woken by uv_async and is handed to the
 * callbacks below, on the loop.
 *
 * The drivers' Modbus hooks (driver.h, struct driver_modbus) run on the
 * bus's thread: they are pure, and the devices are read-only.
 */
#ifndef BUS_H
#define BUS_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct command;
struct config;
struct device;
struct event;

/* An OPEN or PULSE not carried out this long after it was decided
 * (command.at_ms) is dropped, never sent late. */
#define BUS_COMMAND_MS 2000

enum bus_outcome {
	BUS_DONE = 1, /* carried out: the device confirmed the write */
	BUS_LATE,     /* not carried out within BUS_COMMAND_MS: dropped */
	BUS_REFUSED,  /* the device refused it (illegal function, address
	               * or value: a configuration problem) */
};

struct bus_callbacks {
	/* What a device's poll decoded (driver_modbus.decode). */
	void (*event)(void *arg, const struct device *, const struct event *);
	/* A device answers (again), or has stopped answering; why: in
	 * words, for the journal ("no answer (timeout)", "exception 11:
	 * gateway target device failed to respond", "bus rs485-1 cannot be
	 * opened: ..."). */
	void (*status)(void *arg, const struct device *, bool online,
	    const char *why);
	/* A command's end.  cmd's strings are valid during the call only.
	 * A fire HOLD_OPEN or NORMAL replaced by a newer one for the same
	 * device before it was carried out has none. */
	void (*command)(void *arg, const struct device *,
	    const struct command *, enum bus_outcome, const char *why);
	/* Something to report once, not retried in a storm: a device that
	 * refuses a poll as illegal, a reply its driver cannot decode. */
	void (*problem)(void *arg, const struct device *, const char *what);
	void *arg;
};

struct buses;

/*
 * A thread for every bus of cfg that has devices.  A bus that cannot be
 * opened is retried, with backoff, on its own thread: this never fails
 * for it.  NULL only when out of memory or threads.
 */
struct buses *buses_start(uv_loop_t *, const struct config *,
    const struct bus_callbacks *);

/*
 * Queue a command for a device on a bus: it is that bus's next
 * transaction.  The command (and its strings) is copied.  0, or -1 when
 * the device is on no bus or its bus's queue is full.
 */
int buses_command(struct buses *, const struct device *,
    const struct command *);

/*
 * Stop every thread (each finishes the transaction it is in) and free.
 * On the loop, while it runs: the uv_async handle is closed, and the
 * memory freed, in the loop's next iteration.  What the threads found
 * and the loop has not yet seen is dropped.
 */
void buses_stop(struct buses *);

#endif
