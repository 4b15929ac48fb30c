/*
 * test_log.c - what a log line looks like on a console and to journald,
 * with outside input in it that tries to forge or disguise a line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "scratch.h"

/* A request id as a hostile terminal would send it. */
#define FORGED                                                                 \
	"r1\n<2>forged \xe2\x80\xae"                                           \
	"gpj.exe \xc2\x9b"
#define SHOWN "r1\\x0a<2>forged \\u202egpj.exe \\u009b"

static char logged[1024];

/*
 * Log one line through log_info with stderr sent to a file, and keep
 * what was written.  journal: as if that file were journald's stream.
 */
static void
log_one(bool journal)
{
	char stream[64];
	struct stat st;
	int fd, saved;
	FILE *f;
	size_t n;

	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(stream, sizeof(stream), "%lu:%lu", (unsigned long)st.st_dev,
	    (unsigned long)st.st_ino);
	if (journal)
		setenv("JOURNAL_STREAM", stream, 1);
	else
		unsetenv("JOURNAL_STREAM");
	log_init(0);
	log_info("gate-north: request %s seen", FORGED);
	log_flush();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	unsetenv("JOURNAL_STREAM");

	f = fopen("stderr.txt", "rb");
	assert_non_null(f);
	n = fread(logged, 1, sizeof(logged) - 1, f);
	logged[n] = '\0';
	fclose(f);
}

static int
setup(void **state)
{
	(void)state;
	return scratch_enter("test_log");
}

static int
teardown(void **state)
{
	(void)state;
	return scratch_leave();
}

static void
test_console_line_is_escaped(void **state)
{
	const char *msg;

	(void)state;
	log_one(false);
	/* "HH:MM:SS " and then one line, the id shown escaped. */
	msg = strchr(logged, ' ');
	assert_non_null(msg);
	assert_string_equal(msg + 1, "gate-north: request " SHOWN " seen\n");
}

static void
test_journal_line_is_escaped(void **state)
{
	(void)state;
	/* journald takes "<N>" at a line's start as its priority: the id
	 * must not start a line of priority 2 (critical) of its own. */
	log_one(true);
	assert_string_equal(logged, "<6>gate-north: request " SHOWN " seen\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_console_line_is_escaped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_line_is_escaped,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
