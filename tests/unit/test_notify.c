/*
 * test_notify.c - the notify protocol as systemd receives it: each test
 * holds the receiving AF_UNIX datagram socket itself, as systemd would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "notify.h"
#include "scratch.h"

/* A datagram socket bound to name (a path, or "@abstract").  Its fd. */
static int
listen_at(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(n < sizeof(sa.sun_path));
	memcpy(sa.sun_path, name, n);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

/* The next datagram already waiting on fd, as a string; "" if none. */
static const char *
received(int fd)
{
	static char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	if (n < 0) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		n = 0;
	}
	buf[n] = '\0';
	return buf;
}

static int
setup(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	return scratch_enter("test_notify");
}

static int
teardown(void **state)
{
	(void)state;
	unsetenv("NOTIFY_SOCKET");
	return scratch_leave();
}

static void
test_path_socket(void **state)
{
	char path[128];
	int fd;

	(void)state;
	/* systemd hands over an absolute path. */
	snprintf(path, sizeof(path), "%s/notify", scratch_dir);
	fd = listen_at(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_send("READY=1"), 0);
	assert_string_equal(received(fd), "READY=1");
	/* Several assignments travel as one datagram. */
	assert_int_equal(notify_send("STATUS=connected\nWATCHDOG=1"), 0);
	assert_string_equal(received(fd), "STATUS=connected\nWATCHDOG=1");
	assert_string_equal(received(fd), "");
	close(fd);
}

static void
test_abstract_socket(void **state)
{
	char name[64];
	int fd;

	(void)state;
	snprintf(name, sizeof(name), "@test-notify-%ld", (long)getpid());
	fd = listen_at(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(notify_send("STOPPING=1"), 0);
	assert_string_equal(received(fd), "STOPPING=1");
	close(fd);
}

static void
test_no_socket_is_a_no_op(void **state)
{
	char path[128];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/notify", scratch_dir);
	fd = listen_at(path);
	/* Not started by systemd: nothing is sent, and that is fine. */
	assert_int_equal(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(notify_send("READY=1"), 0);
	assert_string_equal(received(fd), "");
	close(fd);
}

static void
test_bad_socket_fails(void **state)
{
	(void)state;
	/* Nobody listens there. */
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	assert_int_equal(notify_send("READY=1"), -1);
	/* Neither a path nor an abstract name. */
	setenv("NOTIFY_SOCKET", "notify", 1);
	assert_int_equal(notify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "@", 1);
	assert_int_equal(notify_send("READY=1"), -1);
}

static void
test_watchdog(void **state)
{
	char pid[32];
	uint64_t usec = 7;

	(void)state;
	assert_false(notify_watchdog_usec(&usec));
	assert_int_equal(usec, 7);
	setenv("WATCHDOG_USEC", "10000000", 1);
	assert_true(notify_watchdog_usec(&usec));
	assert_int_equal(usec, 10000000);

	/* For this process, or for another one of the service. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	assert_true(notify_watchdog_usec(&usec));
	snprintf(pid, sizeof(pid), "%ld", (long)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_false(notify_watchdog_usec(&usec));
	setenv("WATCHDOG_PID", "x", 1);
	assert_false(notify_watchdog_usec(&usec));
	unsetenv("WATCHDOG_PID");

	/* What sd_watchdog_enabled() refuses too. */
	setenv("WATCHDOG_USEC", "0", 1);
	assert_false(notify_watchdog_usec(&usec));
	setenv("WATCHDOG_USEC", "-5", 1);
	assert_false(notify_watchdog_usec(&usec));
	setenv("WATCHDOG_USEC", "12x", 1);
	assert_false(notify_watchdog_usec(&usec));
	setenv("WATCHDOG_USEC", "", 1);
	assert_false(notify_watchdog_usec(&usec));
	setenv("WATCHDOG_USEC", "99999999999999999999999", 1);
	assert_false(notify_watchdog_usec(&usec));
	unsetenv("WATCHDOG_USEC");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_path_socket, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_abstract_socket, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_socket_is_a_no_op,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_socket_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_watchdog, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
