/*
 * notify.h - telling systemd how the service is (READY=1, WATCHDOG=1,
 * STATUS=...) through its notify protocol, without libsystemd.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Send state ("READY=1", or several "KEY=value" lines separated by
 * '\n') to $NOTIFY_SOCKET as one datagram.  No socket in the
 * environment (not run by systemd) is not an error: 0, nothing sent.
 * 0, or -1 when the datagram could not be sent (logged once a minute).
 */
int notify_send(const char *state);

/*
 * "RELOADING=1" with "MONOTONIC_USEC=" (CLOCK_MONOTONIC, in µs) in the
 * same datagram: a reload has begun; READY=1 says it has ended, whether
 * the new tables were taken or not.  As notify_send().
 */
int notify_reloading(void);

/*
 * Does the service manager expect WATCHDOG=1 from this process, and how
 * often?  As sd_watchdog_enabled(): $WATCHDOG_USEC set and valid, and
 * $WATCHDOG_PID unset or this process's pid.  true with *usec set.
 */
bool notify_watchdog_usec(uint64_t *usec);

#endif
