/*
 * test_log_threads.c - the loop batches its log lines; any other thread's lines
 * go out at once (the journal thread logs while the loop batches).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "log.h"
#include "scratch.h"

static int saved_stderr = -1;

/* stderr goes to a file the test reads; cmocka's own messages too. */
static int
setup(void **state)
{
	(void)state;
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	if (saved_stderr < 0 || scratch_enter("test_log") < 0 ||
	    freopen("stderr.txt", "w", stderr) == NULL)
		return -1;
	unsetenv("JOURNAL_STREAM");
	log_init(0);
	return 0;
}

/* The real stderr back, with what was written meanwhile. */
static int
teardown(void **state)
{
	char buf[4096];
	FILE *f;
	size_t n;

	(void)state;
	log_batch(false);
	if (dup2(saved_stderr, STDERR_FILENO) < 0)
		return -1;
	close(saved_stderr);
	f = fopen("stderr.txt", "r");
	while (f != NULL && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stderr);
	if (f != NULL)
		fclose(f);
	return scratch_leave();
}

/* What has reached the file so far. */
static void
written(char *out, size_t size)
{
	FILE *f = fopen("stderr.txt", "r");
	size_t n;

	assert_non_null(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

static void *
other_thread(void *arg)
{
	(void)arg;
	log_info("from the journal thread");
	return NULL;
}

static void
test_batching_is_the_callers(void **state)
{
	char text[4096];
	pthread_t t;

	(void)state;
	log_batch(true);
	log_info("from the loop");
	written(text, sizeof(text));
	assert_null(strstr(text, "from the loop"));

	/* Nobody flushes for the other thread: its line goes out as it is
	 * written, and takes the loop's waiting line with it. */
	assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	written(text, sizeof(text));
	assert_non_null(strstr(text, "from the journal thread"));
	assert_true(strstr(text, "from the loop") <
	    strstr(text, "from the journal thread"));

	log_info("the loop again");
	written(text, sizeof(text));
	assert_null(strstr(text, "the loop again"));
	log_flush();
	written(text, sizeof(text));
	assert_non_null(strstr(text, "the loop again"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batching_is_the_callers,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
