/*
 * scratch.h - a unit test's own temporary directory: entered in setup,
 * removed in teardown, with a helper to write files into it.  Include
 * after <cmocka.h>.
 */
#ifndef SCRATCH_H
#define SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char scratch_dir[64];

/* mkdtemp /tmp/<name>.XXXXXX and chdir into it.  0 or -1. */
static inline int
scratch_enter(const char *name)
{
	snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/%s.XXXXXX", name);
	if (mkdtemp(scratch_dir) == NULL || chdir(scratch_dir) < 0)
		return -1;
	return 0;
}

/* Leave the directory and remove it with everything in it.  0 or -1. */
static inline int
scratch_leave(void)
{
	char cmd[160];

	if (chdir("/") < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Write text to path (relative to the scratch directory), as is. */
static inline void
scratch_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#endif
