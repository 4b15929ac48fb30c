/*
 * bus_io.c - one Modbus transaction against libmodbus 3.1.6, and what
 * its error means.  No threads, no queues, no schedule: bus.c calls
 * these on a bus's own thread.  MODBUS-NOTES.md says why each check is
 * here.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bus_int.h"
#include "util.h"

#define FN_WRITE_COIL     0x05
#define FN_WRITE_REGISTER 0x06
#define MBAP_LEN          7 /* Modbus TCP's header, unit included */

enum bus_fault
bus_fault_of(int err)
{
	switch (err) {
	case 0:
		return BUS_OK;
	case ETIMEDOUT:
		return BUS_FAULT_TIMEOUT;
	case EMBBADCRC:
	case EMBBADDATA:
	case EMBBADEXC:
	case EMBUNKEXC:
	case EMBBADSLAVE:
		return BUS_FAULT_GARBLED;
	case EMBXSFAIL:
	case EMBXACK:
	case EMBXSBUSY:
	case EMBXNACK:
	case EMBXMEMPAR:
		return BUS_FAULT_BUSY;
	case EMBXGPATH:
	case EMBXGTAR:
		return BUS_FAULT_GATEWAY;
	case EMBXILFUN:
	case EMBXILADD:
	case EMBXILVAL:
	case EMBMDATA: /* more than one request may carry: the driver's map */
	case EINVAL:
		return BUS_FAULT_ILLEGAL;
	default:
		/* ECONNRESET, EPIPE, EBADF, EIO (a USB adapter pulled out),
		 * ...: whatever else the socket or the port says. */
		return BUS_FAULT_LINK;
	}
}

/* The words of the Modbus specification, for people who read them. */
static const char *const exceptions[] = {
	[1] = "illegal function",
	[2] = "illegal data address",
	[3] = "illegal data value",
	[4] = "server device failure",
	[5] = "acknowledge (busy with a long command)",
	[6] = "server device busy",
	[7] = "negative acknowledge",
	[8] = "memory parity error",
	[10] = "gateway path unavailable",
	[11] = "gateway target device failed to respond",
};

void
bus_fault_text(int err, char *buf, size_t size)
{
	char ebuf[128];
	int code = err - MODBUS_ENOBASE;

	if (err == ETIMEDOUT) {
		snprintf(buf, size, "no answer (timeout)");
		return;
	}
	if (code > 0 &&
	    code < (int)(sizeof(exceptions) / sizeof(*exceptions)) &&
	    exceptions[code] != NULL) {
		snprintf(buf, size, "exception %d: %s", code, exceptions[code]);
		return;
	}
	if (err > MODBUS_ENOBASE) {
		/* libmodbus's own strings are constants: safe on any thread. */
		snprintf(buf, size, "bad reply: %s", modbus_strerror(err));
		return;
	}
	snprintf(buf, size, "%s", strerror_r(err, ebuf, sizeof(ebuf)));
}

int
bus_echo_check(const uint8_t *req, const uint8_t *rsp, int len, int header,
    bool tcp)
{
	int fn = req[1], code;

	if (header < 1 || len < header + 2)
		return EMBBADDATA;
	if (rsp[header - 1] != req[0])
		return EMBBADSLAVE;
	/* A raw request goes out with transaction id 0: anything else is
	 * the late answer to an earlier request. */
	if (tcp &&
	    (header != MBAP_LEN || rsp[0] != 0 || rsp[1] != 0 || rsp[2] != 0 ||
	        rsp[3] != 0))
		return EMBBADDATA;
	if (rsp[header] == (fn | 0x80)) {
		code = rsp[header + 1];
		return code > 0 && code < MODBUS_EXCEPTION_MAX ?
		    MODBUS_ENOBASE + code :
		    EMBBADEXC;
	}
	if (rsp[header] != fn || len < header + 5)
		return EMBBADDATA;
	if (memcmp(rsp + header + 1, req + 2, 4) != 0)
		return EMBBADDATA;
	return 0;
}

/*
 * A single write (function 5 or 6) as a raw request, its echo checked
 * here: the relay board's "flash on" value is neither FF00 nor 0, which
 * modbus_write_bit cannot send, and 3.1.6 checks no echo of its own.
 */
static int
write_single(modbus_t *ctx, int unit, int fn, uint16_t addr, uint16_t value)
{
	uint8_t req[6], rsp[MODBUS_MAX_ADU_LENGTH];
	int len, err;

	req[0] = (uint8_t)unit;
	req[1] = (uint8_t)fn;
	req[2] = (uint8_t)(addr >> 8);
	req[3] = (uint8_t)(addr & 0xff);
	req[4] = (uint8_t)(value >> 8);
	req[5] = (uint8_t)(value & 0xff);
	/* Nothing checks whose answer a raw confirmation is: nothing old
	 * may wait in front of it. */
	(void)modbus_flush(ctx);
	if (modbus_send_raw_request(ctx, req, (int)sizeof(req)) < 0)
		return -1;
	len = modbus_receive_confirmation(ctx, rsp);
	if (len < 0)
		return -1;
	/* 0: an RTU frame from another unit, which libmodbus ignores. */
	err = len == 0 ?
	    EMBBADSLAVE :
	    bus_echo_check(req, rsp, len, modbus_get_header_length(ctx),
	        modbus_get_header_length(ctx) == MBAP_LEN);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* A read's reply of another length than asked is garbled. */
static int
counted(int rc, int want)
{
	if (rc < 0)
		return -1;
	if (rc != want) {
		errno = EMBBADDATA;
		return -1;
	}
	return 0;
}

int
bus_io_op(modbus_t *ctx, int unit, struct modbus_op *op)
{
	int max = op->fn == MODBUS_READ_COILS ||
	        op->fn == MODBUS_READ_DISCRETE_INPUTS ?
	    MODBUS_OP_BITS :
	    MODBUS_OP_REGS;

	if (modbus_set_slave(ctx, unit) < 0)
		return -1;
	if (op->fn != MODBUS_WRITE_COIL && op->fn != MODBUS_WRITE_REGISTER &&
	    (op->count < 1 || op->count > max)) {
		errno = EMBMDATA;
		return -1;
	}
	switch (op->fn) {
	case MODBUS_READ_COILS:
		return counted(modbus_read_bits(ctx, op->addr, op->count,
		                   op->bits),
		    op->count);
	case MODBUS_READ_DISCRETE_INPUTS:
		return counted(modbus_read_input_bits(ctx, op->addr, op->count,
		                   op->bits),
		    op->count);
	case MODBUS_READ_HOLDING_REGISTERS:
		return counted(modbus_read_registers(ctx, op->addr, op->count,
		                   op->regs),
		    op->count);
	case MODBUS_READ_INPUT_REGISTERS:
		return counted(modbus_read_input_registers(ctx, op->addr,
		                   op->count, op->regs),
		    op->count);
	case MODBUS_WRITE_COIL:
		return write_single(ctx, unit, FN_WRITE_COIL, op->addr,
		    op->value);
	case MODBUS_WRITE_REGISTER:
		return write_single(ctx, unit, FN_WRITE_REGISTER, op->addr,
		    op->value);
	case MODBUS_WRITE_REGISTERS:
		return counted(modbus_write_registers(ctx, op->addr, op->count,
		                   op->regs),
		    op->count);
	}
	errno = EINVAL;
	return -1;
}

int
bus_io_drain(modbus_t *ctx, int ms)
{
	struct pollfd pfd = { .fd = modbus_get_socket(ctx), .events = POLLIN };
	uint64_t end = mono_ms() + (uint64_t)ms, now;
	uint8_t junk[256];
	ssize_t n;
	int rc;

	while ((now = mono_ms()) < end) {
		rc = poll(&pfd, 1, (int)(end - now));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc == 0)
			break;
		n = read(pfd.fd, junk, sizeof(junk));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			/* A peer that closed stays readable for ever. */
			if (n == 0)
				errno = ECONNRESET;
			return -1;
		}
	}
	(void)modbus_flush(ctx);
	return 0;
}
