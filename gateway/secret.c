/*
 * secret.c - reading a secret file: opened without blocking (a FIFO must
 * not hang gatewayd -t), refused unless regular and private, wiped from
 * every buffer it passed through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"

#define SECRET_MAX 1024

int
secret_read(const char *path, char **out, char *err, size_t errlen)
{
	char buf[SECRET_MAX], ebuf[128];
	struct stat st;
	size_t len;
	ssize_t n;
	int fd, rc = -1;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		goto done;
	}
	if (st.st_mode & 007) {
		snprintf(err, errlen,
		    "%s must not be accessible to others (chmod o-rwx %s)",
		    path, path);
		goto done;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		snprintf(err, errlen, "%s: %s", path,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		goto done;
	}
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	if (len == (size_t)n && (size_t)n == sizeof(buf) - 1) {
		snprintf(err, errlen, "%s: first line too long", path);
		goto done;
	}
	*out = malloc(len + 1);
	if (*out == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto done;
	}
	memcpy(*out, buf, len);
	(*out)[len] = '\0';
	rc = 0;
done:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}
