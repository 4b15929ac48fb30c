/*
 * journal_ids.c - the durable bound of the journal's ids: a small file
 * replaced atomically (write, fsync, rename, fsync the directory), so
 * that after a power cut it holds either the old bound or the new one,
 * never a torn number.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal_ids.h"

#define IDS_FILE "journal.ids"

static void
say(char *err, size_t size, const char *what, const char *path, int e)
{
	char ebuf[96];

	snprintf(err, size, "journal: %s %s: %s", what, path,
	    strerror_r(e, ebuf, sizeof(ebuf)));
}

int
journal_ids_read(const char *dir, int64_t *bound, char *err, size_t size)
{
	char path[PATH_MAX], buf[32], *end;
	long long v;
	ssize_t n;
	int fd, e;

	*bound = 0;
	snprintf(path, sizeof(path), "%s/" IDS_FILE, dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		say(err, size, "open", path, errno);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	e = errno;
	close(fd);
	if (n < 0) {
		say(err, size, "read", path, e);
		return -1;
	}
	buf[n] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (end == buf || (*end != '\0' && strcmp(end, "\n") != 0) || v < 0 ||
	    errno != 0) {
		snprintf(err, size,
		    "journal: %s holds no bound of ids: ids go on from the "
		    "journal's, and the file is written again",
		    path);
		return -2;
	}
	*bound = v;
	return 0;
}

int
journal_ids_write(const char *dir, int64_t bound, char *err, size_t size)
{
	char path[PATH_MAX], tmp[PATH_MAX], buf[32];
	int fd, n, e;

	snprintf(path, sizeof(path), "%s/" IDS_FILE, dir);
	snprintf(tmp, sizeof(tmp), "%s/" IDS_FILE ".tmp", dir);
	n = snprintf(buf, sizeof(buf), "%" PRId64 "\n", bound);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		say(err, size, "create", tmp, errno);
		return -1;
	}
	errno = 0; /* a short write sets none */
	if (write(fd, buf, (size_t)n) != n || fsync(fd) < 0) {
		e = errno ? errno : EIO;
		close(fd);
		unlink(tmp);
		say(err, size, "write", tmp, e);
		return -1;
	}
	if (close(fd) < 0) {
		say(err, size, "close", tmp, errno);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		say(err, size, "rename to", path, errno);
		unlink(tmp);
		return -1;
	}
	/* The rename itself is durable only once the directory is. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		say(err, size, "open", dir, errno);
		return -1;
	}
	if (fsync(fd) < 0) {
		e = errno;
		close(fd);
		say(err, size, "fsync", dir, e);
		return -1;
	}
	close(fd);
	return 0;
}
