/*
 * notify.c - systemd's notify protocol by hand: one datagram to the
 * AF_UNIX socket named in $NOTIFY_SOCKET.  systemd documents the protocol
 * as stable and shows how to speak it without libsystemd, whose
 * compression libraries (liblzma, libzstd, liblz4) and libgcrypt would
 * otherwise be loaded into the gateway for this one datagram.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static uint64_t notify_warned_ms;

/* A whole non-negative decimal number, nothing else.  0 or -1. */
static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/*
 * The address in $NOTIFY_SOCKET: a path, or '@' for a name in the
 * abstract namespace (where '@' stands for the leading NUL).
 */
static int
notify_address(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((name[0] != '/' && name[0] != '@') || n < 2 ||
	    n >= sizeof(sa->sun_path))
		return -1;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@')
		sa->sun_path[0] = '\0';
	/* An abstract name is exactly its bytes: no trailing NUL. */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (name[0] == '/'));
	return 0;
}

int
notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	size_t len = strlen(state);
	ssize_t sent;
	int fd, saved;

	if (name == NULL || *name == '\0')
		return 0;
	if (notify_address(name, &sa, &salen) < 0) {
		if (log_ratelimit(&notify_warned_ms))
			log_warnx("notify: NOTIFY_SOCKET=%s: not a unix "
			          "socket path or @name",
			    name);
		return -1;
	}
	/*
	 * Non-blocking: if systemd is slow to read, a watchdog ping is
	 * dropped (the next one follows), but the loop never waits.
	 * systemd reads our pid from the kernel (SO_PASSCRED on its end).
	 */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		saved = errno;
		if (log_ratelimit(&notify_warned_ms))
			log_warnx("notify: socket: %s", strerror(saved));
		return -1;
	}
	sent =
	    sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
	saved = sent < 0 ? errno : EMSGSIZE;
	close(fd);
	if (sent != (ssize_t)len) {
		if (log_ratelimit(&notify_warned_ms))
			log_warnx("notify: send %.20s to %s: %s", state, name,
			    strerror(saved));
		return -1;
	}
	return 0;
}

int
notify_reloading(void)
{
	struct timespec ts;
	char state[64];

	/* systemd 253's Type=notify-reload wants the stamp, to tell this
	 * reload from an older one; 252 takes RELOADING=1 and ignores it. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	        (unsigned long long)ts.tv_nsec / 1000ULL);
	return notify_send(state);
}

bool
notify_watchdog_usec(uint64_t *usec)
{
	const char *pid_s = getenv("WATCHDOG_PID");
	uint64_t v, pid;

	if (parse_u64(getenv("WATCHDOG_USEC"), &v) < 0 || v == 0)
		return false;
	/* Set for another process of the service (a parent that forked
	 * us, say): not ours to answer. */
	if (pid_s != NULL &&
	    (parse_u64(pid_s, &pid) < 0 || pid != (uint64_t)getpid()))
		return false;
	*usec = v;
	return true;
}
