/*
 * bus_int.h - inside the bus layer: one Modbus transaction and what
 * became of it (bus_io.c), and the rules a bus thread lives by (a
 * device's health and backoff, a command's patience), kept pure so the
 * unit tests reach every corner without a socket.  bus.c and tests only.
 */
#ifndef BUS_INT_H
#define BUS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <modbus.h>

#include "driver.h"

#define BUS_OFFLINE_AFTER  3     /* failures in a row before "offline" */
#define BUS_BACKOFF_CAP_MS 30000 /* a dead device is tried this often */
#define BUS_OPEN_FIRST_MS  1000  /* a bus that cannot be opened: 1 s, */
#define BUS_OPEN_CAP_MS    30000 /* doubling up to 30 s */

/* What a transaction's error means for the device and the line. */
enum bus_fault {
	BUS_OK = 0,
	BUS_FAULT_TIMEOUT, /* no answer: its reply may still come */
	BUS_FAULT_GARBLED, /* an answer that is not one: CRC, unit, echo */
	BUS_FAULT_BUSY,    /* exception 4-8: there, but failed this time */
	BUS_FAULT_GATEWAY, /* exception 10, 11: a gateway says it is gone */
	BUS_FAULT_ILLEGAL, /* exception 1-3, or a request libmodbus
	                    * refuses: the configuration is wrong */
	BUS_FAULT_LINK,    /* the port or the connection is gone: reopen */
};

/* errno (or libmodbus's EMB*) after a failed transaction, classified. */
enum bus_fault bus_fault_of(int err);
/* The same in words, for the journal: "no answer (timeout)",
 * "exception 11: gateway target device failed to respond", ... */
void bus_fault_text(int err, char *buf, size_t size);

/*
 * The reply rsp[0..len) to a single write req[0..6) (unit, function 5
 * or 6, address, value) sent raw, with header bytes before its function
 * code: 0 when it is the echo, else the errno saying what it is instead
 * (MODBUS_ENOBASE + code for an exception).  libmodbus checks nothing of
 * a raw confirmation but an RTU frame's CRC; 3.1.6 does not compare the
 * echo of modbus_write_bit either, 3.1.8 does: so every single write
 * goes raw and is checked here, the same under both.  tcp: the MBAP
 * header must carry transaction id 0 (what a raw request sends) and
 * protocol 0.
 */
int bus_echo_check(const uint8_t *req, const uint8_t *rsp, int len, int header,
    bool tcp);

/* One op against ctx: 0, or -1 with errno set.  unit already set. */
int bus_io_op(modbus_t *ctx, int unit, struct modbus_op *op);

/*
 * Wait until nothing more comes on the line: up to ms, flushing what
 * arrives (a late reply).  0, or -1 when the peer closed or the port
 * failed (errno set).
 */
int bus_io_drain(modbus_t *ctx, int ms);

/* ---- a device's health: the rules, pure ---- */

struct bus_health {
	unsigned failures;   /* in a row */
	uint64_t backoff_ms; /* the last wait after a failure; 0: none */
	int reported;        /* -1 nothing yet, 0 offline, 1 online */
	bool refused;        /* refused a poll as illegal: said once */
};

enum bus_report {
	BUS_REPORT_NONE = 0,
	BUS_REPORT_ONLINE,
	BUS_REPORT_OFFLINE,
	BUS_REPORT_PROBLEM, /* refused as illegal: a configuration problem */
};

void bus_health_init(struct bus_health *);

/*
 * A transaction of the device ended with fault.  Returns what to report
 * (once per change) and sets *wait_ms, the time until its next poll:
 * base_ms (its poll interval) after an answer, a backoff doubling from
 * base_ms up to BUS_BACKOFF_CAP_MS after a failure, the cap after an
 * illegal request.  jitter in [0, 1) stretches a backoff by up to a
 * tenth, so that devices that failed together do not retry together.
 */
enum bus_report bus_health_after(struct bus_health *, enum bus_fault,
    uint64_t base_ms, double jitter, uint64_t *wait_ms);

/* ---- commands ---- */

/*
 * How long after it was decided a command may still be carried out:
 * BUS_COMMAND_MS, or 0 for one that is retried until done (the fire
 * hold and release, stopping a charger: worth as much late as now).
 */
uint64_t bus_command_patience(enum command_action);
/* Is it too late to carry it out at now (both mono_ms())? */
bool bus_command_late(enum command_action, uint64_t at_ms, uint64_t now);
/* Does a newer command for the same device make an older pending one
 * pointless?  A fire hold or release replaces the one before. */
bool bus_command_replaces(enum command_action newer, enum command_action older);

#endif
