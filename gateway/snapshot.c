/*
 * snapshot.c - data_dir/access.good -> access.good.<n>/, each file
 * written, fsynced, the directory fsynced, and only then the symlink
 * swapped by rename(2): a power cut leaves the old snapshot or the new
 * one, never half of one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "config.h"
#include "diag.h"
#include "log.h"
#include "snapshot.h"

#define LINK     "access.good"
#define FILE_MAX (16 * 1024 * 1024) /* as access.d's own cap */
#define COPY_BUF 65536

static bool
is_ini(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".ini") == 0;
}

/* Copy one regular file, fsynced.  0 or -1 (errno). */
static int
copy_file(int from_dir, int to_dir, const char *name)
{
	char buf[COPY_BUF];
	struct stat st;
	ssize_t n, w;
	int in, out = -1, rc = -1;

	/* O_NONBLOCK: a FIFO named *.ini must not hang the worker. */
	in = openat(from_dir, name,
	    O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	if (in < 0)
		return errno == ELOOP ? 0 : -1; /* a symlink: not copied */
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > FILE_MAX) {
		close(in);
		return 0;
	}
	out =
	    openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (out < 0)
		goto done;
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (w = 0; w < n;) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));

			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				goto done;
			w += k;
		}
	}
	if (n == 0 && fsync(out) == 0)
		rc = 0;
done:
	close(in);
	if (out >= 0)
		close(out);
	return rc;
}

/* A directory stream on fd, which it then owns; NULL (fd closed). */
static DIR *
dir_stream(int fd)
{
	DIR *dp;

	if (fd < 0)
		return NULL;
	dp = fdopendir(fd);
	if (dp == NULL)
		close(fd);
	return dp;
}

/* Remove a snapshot directory and its files (no subdirectories). */
static void
remove_dir(int data_fd, const char *name)
{
	struct dirent *de;
	DIR *dp;

	dp = dir_stream(openat(data_fd, name,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL)
		if (de->d_name[0] != '.')
			unlinkat(dirfd(dp), de->d_name, 0);
	closedir(dp);
	unlinkat(data_fd, name, AT_REMOVEDIR);
}

/* Remove every other access.good.* (directories and stray links). */
static void
prune(int data_fd, const char *keep)
{
	char names[16][NAME_MAX + 1];
	struct dirent *de;
	size_t n = 0, i;
	DIR *dp;

	dp = dir_stream(dup(data_fd));
	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL && n < 16)
		if (strncmp(de->d_name, LINK ".", sizeof(LINK)) == 0 &&
		    strcmp(de->d_name, keep) != 0 &&
		    strlen(de->d_name) <= NAME_MAX)
			memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
	closedir(dp);
	for (i = 0; i < n; i++) {
		remove_dir(data_fd, names[i]);
		unlinkat(data_fd, names[i], 0);
	}
}

/* Does the copy in data_dir/name load as access.d would? */
static bool
loads(const struct config *cfg, const char *name)
{
	struct config copy = *cfg;
	struct access_tables *t;
	char path[4096];
	struct diag diag;

	snprintf(path, sizeof(path), "%s/%s", cfg->data_dir, name);
	copy.access_dir = path;
	diag_init(&diag);
	t = access_load(&copy, &diag);
	diag_free(&diag);
	access_free(t);
	return t != NULL;
}

/* One save at a time, whoever calls: a save prunes the others' copies. */
static int
lock_saves(int data_fd)
{
	/* Not named access.good.*: prune() would take it for an old copy. */
	int fd = openat(data_fd, "access-snapshot.lock",
	    O_RDWR | O_CREAT | O_CLOEXEC, 0640);

	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
snapshot_save(const struct config *cfg)
{
	const char *access_dir = cfg->access_dir, *data_dir = cfg->data_dir;
	char name[64], tmp[80];
	struct dirent *de;
	struct timespec ts;
	int data_fd, lock_fd, from_fd, to_fd = -1, rc = -1;
	DIR *dp = NULL;

	data_fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (data_fd < 0) {
		log_warn("snapshot: %s", data_dir);
		return -1;
	}
	lock_fd = lock_saves(data_fd);
	if (lock_fd < 0) {
		log_warn("snapshot: lock %s/access-snapshot.lock", data_dir);
		close(data_fd);
		return -1;
	}
	from_fd = open(access_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (from_fd < 0) {
		log_warn("snapshot: %s", access_dir);
		close(lock_fd);
		close(data_fd);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof(name), LINK ".%lld%03ld", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000000);
	if (mkdirat(data_fd, name, 0750) < 0) {
		log_warn("snapshot: mkdir %s/%s", data_dir, name);
		goto done;
	}
	to_fd = openat(data_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dp = dir_stream(dup(from_fd));
	if (to_fd < 0 || dp == NULL) {
		log_warn("snapshot: %s", name);
		goto fail;
	}
	while ((de = readdir(dp)) != NULL) {
		if (!is_ini(de->d_name))
			continue;
		if (copy_file(from_fd, to_fd, de->d_name) < 0) {
			log_warn("snapshot: copy %s/%s", access_dir,
			    de->d_name);
			goto fail;
		}
	}
	if (fsync(to_fd) < 0) {
		log_warn("snapshot: fsync %s/%s", data_dir, name);
		goto fail;
	}
	/* The files may have changed since the tables in force were read
	 * (a typo saved a moment after a good edit): only a copy that
	 * loads is a snapshot. */
	if (!loads(cfg, name)) {
		log_warnx("snapshot: %s as it is now does not load: the last "
		          "good copy stays",
		    access_dir);
		goto fail;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", LINK);
	unlinkat(data_fd, tmp, 0);
	if (symlinkat(name, data_fd, tmp) < 0 ||
	    renameat(data_fd, tmp, data_fd, LINK) < 0 || fsync(data_fd) < 0) {
		log_warn("snapshot: %s/%s", data_dir, LINK);
		goto fail;
	}
	prune(data_fd, name);
	rc = 0;
	goto done;
fail:
	remove_dir(data_fd, name);
done:
	if (dp != NULL)
		closedir(dp);
	if (to_fd >= 0)
		close(to_fd);
	close(from_fd);
	close(lock_fd);
	close(data_fd);
	return rc;
}

int
snapshot_find(const char *data_dir, char *path, size_t size, int64_t *saved_ms)
{
	char target[NAME_MAX + 1], link[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "%s/%s", data_dir, LINK);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = '\0';
	if (strchr(target, '/') != NULL ||
	    strncmp(target, LINK ".", sizeof(LINK)) != 0)
		return -1;
	if ((size_t)snprintf(path, size, "%s/%s", data_dir, target) >= size ||
	    stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return -1;
	*saved_ms =
	    (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	return 0;
}
