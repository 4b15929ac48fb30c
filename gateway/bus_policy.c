/*
 * bus_policy.c - the rules a bus thread lives by: when a device is
 * offline, how long it waits before the next try, how long a command
 * stays worth carrying out.  Pure: the thread passes in what happened
 * and the time; bus.c acts on the answer.
 */
#include "bus.h"
#include "bus_int.h"
#include "util.h"

void
bus_health_init(struct bus_health *h)
{
	h->failures = 0;
	h->backoff_ms = 0;
	h->reported = -1;
	h->refused = false;
}

/*
 * Each device backs off on its own: a dead unit is tried less and less
 * often, and the others on its bus keep most of their poll rate.
 */
enum bus_report
bus_health_after(struct bus_health *h, enum bus_fault fault, uint64_t base_ms,
    double jitter, uint64_t *wait_ms)
{
	enum bus_report report = BUS_REPORT_NONE;

	switch (fault) {
	case BUS_OK:
		h->failures = 0;
		h->backoff_ms = 0;
		h->refused = false;
		*wait_ms = base_ms;
		if (h->reported != 1) {
			h->reported = 1;
			report = BUS_REPORT_ONLINE;
		}
		return report;
	case BUS_FAULT_ILLEGAL:
		/* It answers, but not to what it is asked: asking again
		 * soon changes nothing.  Said once, until it answers. */
		*wait_ms = BUS_BACKOFF_CAP_MS;
		if (!h->refused) {
			h->refused = true;
			report = BUS_REPORT_PROBLEM;
		}
		return report;
	default:
		break;
	}
	h->failures++;
	h->backoff_ms =
	    backoff_next(h->backoff_ms, base_ms, BUS_BACKOFF_CAP_MS);
	if (jitter < 0 || jitter >= 1)
		jitter = 0;
	*wait_ms =
	    h->backoff_ms + (uint64_t)((double)h->backoff_ms * jitter / 10);
	/* A gateway's "target failed" is its word that the device is not
	 * there: no need to count. */
	if (h->reported != 0 &&
	    (h->failures >= BUS_OFFLINE_AFTER || fault == BUS_FAULT_GATEWAY)) {
		h->reported = 0;
		report = BUS_REPORT_OFFLINE;
	}
	return report;
}

uint64_t
bus_command_patience(enum command_action action)
{
	switch (action) {
	case COMMAND_HOLD_OPEN:
	case COMMAND_NORMAL:
	case COMMAND_CHARGER_STOP:
		return 0;
	default:
		return BUS_COMMAND_MS;
	}
}

bool
bus_command_late(enum command_action action, uint64_t at_ms, uint64_t now)
{
	uint64_t patience = bus_command_patience(action);

	return patience != 0 && now > at_ms + patience;
}

bool
bus_command_replaces(enum command_action newer, enum command_action older)
{
	return (newer == COMMAND_HOLD_OPEN || newer == COMMAND_NORMAL) &&
	    (older == COMMAND_HOLD_OPEN || older == COMMAND_NORMAL);
}
