/*
 * inifile.c - one INI file through libinih's ini_parse_stream and our own
 * line reader.  Debian's libinih has no line numbers for handlers and a
 * 200-byte line buffer that would cut a longer line silently, and it only
 * reports the first error; so the reader counts lines, hands inih only
 * lines it has checked (an empty line for a bad one), refuses what does
 * not fit, and announces section headers itself.  It reads no inih
 * globals but the buffer size inih passes in, and writes none, so files
 * may be read on any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "inifile.h"
#include "util.h"

#define RAW_MAX 1024 /* more than any inih line buffer we accept */
#define SPACES  " \t\n\v\f\r"

struct reader {
	int fd;
	const char *path;
	struct diag *diag;
	const struct inifile_handler *h;
	void *user;
	int line;
	bool in_section; /* begun, not yet ended */
	bool damaged;    /* a bad line in it */
	bool skip;       /* keys after a broken header */
	bool is_key;     /* inih has a key line */
	bool failed;
	bool too_large; /* more than INIFILE_MAX_BYTES came */
	int io_errno;
	size_t total;      /* bytes read */
	size_t len;        /* the line's length in the file */
	char raw[RAW_MAX]; /* its start */
	unsigned char buf[16384];
	size_t pos, fill;
};

/* The next line without its "\n" in r->raw (cut at RAW_MAX - 1). */
static bool
read_line(struct reader *r)
{
	const unsigned char *nl;
	size_t take, n = 0, kept = 0;
	bool any = false;

	for (;;) {
		if (r->pos == r->fill) {
			ssize_t got;

			r->pos = 0;
			r->fill = 0;
			do
				got = read(r->fd, r->buf, sizeof(r->buf));
			while (got < 0 && errno == EINTR);
			if (got < 0)
				r->io_errno = errno;
			if (got <= 0)
				break;
			/* The file may grow after fstat(): stop at the cap. */
			r->total += (size_t)got;
			if (r->total > INIFILE_MAX_BYTES) {
				r->too_large = true;
				break;
			}
			r->fill = (size_t)got;
		}
		any = true;
		nl = memchr(r->buf + r->pos, '\n', r->fill - r->pos);
		take = nl ? (size_t)(nl - (r->buf + r->pos)) : r->fill - r->pos;
		if (kept < RAW_MAX - 1) {
			size_t k = take < RAW_MAX - 1 - kept ?
			    take :
			    RAW_MAX - 1 - kept;

			memcpy(r->raw + kept, r->buf + r->pos, k);
			kept += k;
		}
		n += take;
		r->pos += take;
		if (nl != NULL) {
			r->pos++;
			break;
		}
	}
	if (!any)
		return false;
	r->raw[kept] = '\0';
	if (n == kept && n > 0 && r->raw[n - 1] == '\r')
		r->raw[--n] = '\0';
	r->len = n;
	return true;
}

static void
problem(struct reader *r, const char *msg)
{
	diag_add(r->diag, r->path, r->line, "%s", msg);
	r->failed = true;
	r->damaged = true;
}

static void
end_section(struct reader *r)
{
	if (r->in_section && r->h->end)
		r->h->end(r->user, r->damaged);
	r->in_section = false;
	r->damaged = false;
}

/* A bad header: the section before it ends well, its own keys are skipped. */
static void
bad_header(struct reader *r, const char *msg)
{
	end_section(r);
	problem(r, msg);
	r->skip = true;
}

/* A line that cannot be read; if it was meant as a header, skip its keys. */
static void
unreadable(struct reader *r, const char *msg)
{
	const char *p = r->raw + strspn(r->raw, SPACES);

	if (*p == '[')
		bad_header(r, msg);
	else
		problem(r, msg);
}

/* isspace() in the C locale, as inih uses it. */
static bool
is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* "[type name]", p at '['.  Announces it; false on a syntax error. */
static bool
header(struct reader *r, char *p)
{
	char *close = strchr(p, ']'), *type, *name, *e, *t;

	if (close == NULL) {
		bad_header(r, "syntax error: no ']' after '['");
		return false;
	}
	t = close + 1 + strspn(close + 1, SPACES);
	if (*t != '\0' && *t != ';' && *t != '#') {
		bad_header(r, "syntax error: text after ']'");
		return false;
	}
	if (memchr(p + 1, '[', (size_t)(close - p - 1)) != NULL ||
	    memchr(p + 1, ';', (size_t)(close - p - 1)) != NULL) {
		bad_header(r, "syntax error: '[' or ';' in a section header");
		return false;
	}
	*close = '\0';
	type = p + 1 + strspn(p + 1, SPACES);
	for (e = close; e > type && is_space(e[-1]); e--)
		;
	*e = '\0';
	if (*type == '\0') {
		*close = ']';
		bad_header(r, "syntax error: empty section header");
		return false;
	}
	for (name = type; *name && !is_space(*name); name++)
		;
	if (*name != '\0') {
		*name++ = '\0';
		name += strspn(name, SPACES);
	}
	end_section(r);
	r->skip = false;
	r->in_section = true;
	if (r->h->section)
		r->h->section(r->user, r->path, r->line, type, name);
	return true;
}

/* "key = value" as inih will split it; false on a syntax error. */
static bool
key_line(struct reader *r, const char *p)
{
	const char *eq = NULL, *s, *e;

	/* inih ends the text at ';' after a space: no '=' may hide there. */
	for (s = p; *s; s++) {
		if (*s == '=') {
			eq = s;
			break;
		}
		if (*s == ';' && s > p && is_space(s[-1]))
			break;
	}
	if (eq == NULL) {
		/* inih would take it for the rest of the value above. */
		if (p != r->raw)
			problem(r,
			    "syntax error: expected 'key = value' (a "
			    "value cannot go on to the next line)");
		else
			problem(r,
			    "syntax error: expected '[type name]' or "
			    "'key = value'");
		return false;
	}
	for (e = eq; e > p && is_space(e[-1]); e--)
		;
	if (e == p) {
		problem(r, "syntax error: no key before '='");
		return false;
	}
	if (memchr(p, ':', (size_t)(e - p)) != NULL) {
		diag_add(r->diag, r->path, r->line,
		    "syntax error: ':' in key '%.*s'", (int)(e - p), p);
		r->failed = true;
		r->damaged = true;
		return false;
	}
	if (r->skip)
		return false;
	if (!r->in_section) {
		diag_add(r->diag, r->path, r->line,
		    "key '%.*s' before any section", (int)(e - p), p);
		r->failed = true;
		return false;
	}
	return true;
}

/*
 * inih ends a value at ";" after a space and knows nothing of "#"; we
 * promise both, so " #" ends the line here, before inih or key_line()
 * sees it.  A "#" with no space before it ("5#楼") is text.  Headers keep
 * their own rules: a comment may follow the "]".
 */
static void
strip_hash_comment(char *p)
{
	char *s;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s == '#' && is_space(s[-1])) {
			*s = '\0';
			return;
		}
	}
}

/* inih's fgets: the next line as inih may see it, or "" for a bad one. */
static char *
reader_cb(char *str, int num, void *stream)
{
	struct reader *r = stream;
	size_t limit = num > 1 ? (size_t)num - 1 : 0;
	char msg[64];
	char *p;

	r->is_key = false;
	if (num < 1 || !read_line(r))
		return NULL;
	r->line++;
	str[0] = '\0';
	if (r->line == 1 && r->len >= 2 &&
	    (((unsigned char)r->raw[0] == 0xff &&
	         (unsigned char)r->raw[1] == 0xfe) ||
	        ((unsigned char)r->raw[0] == 0xfe &&
	            (unsigned char)r->raw[1] == 0xff))) {
		problem(r,
		    "not valid UTF-8 (saved as UTF-16? save it as UTF-8)");
		return NULL;
	}
	if (r->line == 1 && r->len >= 3 &&
	    memcmp(r->raw, "\xef\xbb\xbf", 3) == 0) {
		r->len -= 3;
		memmove(r->raw, r->raw + 3, sizeof(r->raw) - 3);
	}
	if (limit > RAW_MAX - 2)
		limit = RAW_MAX - 2;
	if (r->len > limit) {
		snprintf(msg, sizeof(msg), "line too long (at most %zu bytes)",
		    limit);
		unreadable(r, msg);
		return str;
	}
	if (memchr(r->raw, '\0', r->len) != NULL) {
		unreadable(r,
		    "contains a NUL byte (saved as UTF-16, or not a text "
		    "file?)");
		return str;
	}
	if (!utf8_valid(r->raw, r->len)) {
		unreadable(r, "not valid UTF-8");
		return str;
	}
	p = r->raw + strspn(r->raw, SPACES);
	if (*p == '\0' || *p == ';' || *p == '#')
		return str;
	if (*p == '[') {
		header(r, p);
		return str;
	}
	strip_hash_comment(p);
	if (!key_line(r, p))
		return str;
	/* No leading space: inih never takes it for a continuation line. */
	memcpy(str, p, strlen(p) + 1);
	r->is_key = true;
	return str;
}

/* What a file that is not one is, for a message. */
static const char *
file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "a special file";
}

/* A regular file of at most INIFILE_MAX_BYTES, or a problem. */
static bool
readable(const char *path, const struct stat *st, struct diag *d)
{
	char ebuf[128];

	if (S_ISDIR(st->st_mode)) {
		diag_add(d, path, 0, "%s",
		    strerror_r(EISDIR, ebuf, sizeof(ebuf)));
		return false;
	}
	if (!S_ISREG(st->st_mode)) {
		diag_add(d, path, 0, "not a regular file (%s)",
		    file_kind(st->st_mode));
		return false;
	}
	if (st->st_size > INIFILE_MAX_BYTES) {
		diag_add(d, path, 0, "too large (more than %d MB)",
		    INIFILE_MAX_BYTES >> 20);
		return false;
	}
	return true;
}

/*
 * Only a regular file is opened.  A FIFO would block the reader (and a
 * reload, and -t) for ever, /dev/zero would never end, and some devices
 * act on being opened (a watchdog starts counting): so it is looked at
 * before open(), and again with fstat() in case it was renamed over in
 * between, when O_NONBLOCK has kept open() from waiting on a FIFO.
 */
static int
open_file(const char *path, const char *name, struct diag *d)
{
	struct stat st;
	char ebuf[128];
	int fd;

	if (stat(path, &st) < 0) {
		diag_add(d, name, 0, "%s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (!readable(name, &st, d))
		return -1;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		diag_add(d, name, 0, "%s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		diag_add(d, name, 0, "%s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		close(fd);
		return -1;
	}
	if (!readable(name, &st, d)) {
		close(fd);
		return -1;
	}
	/* A file, so reads wait for the disk as they should. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int
handler_cb(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;

	(void)section; /* ours is better: inih cuts it at 50 bytes */
	if (r->is_key && name != NULL && value != NULL && r->h->key)
		r->h->key(r->user, r->path, r->line, name, value);
	return 1;
}

int
inifile_parse(const char *path, struct diag *d, const struct inifile_handler *h,
    void *user)
{
	return inifile_parse_as(path, path, d, h, user);
}

int
inifile_parse_as(const char *path, const char *name, struct diag *d,
    const struct inifile_handler *h, void *user)
{
	struct reader *r;
	char ebuf[128];
	int rc, failed;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		diag_oom();
	r->fd = open_file(path, name, d);
	if (r->fd < 0) {
		free(r);
		return -1;
	}
	r->path = name;
	r->diag = d;
	r->h = h;
	r->user = user;
	rc = ini_parse_stream(reader_cb, r, handler_cb, r);
	if (rc == -2)
		diag_oom();
	if (rc != 0 && !r->failed) {
		/* inih saw what our checks did not: say so, never ignore it. */
		diag_add(d, name, rc > 0 ? rc : 0, "syntax error");
		r->failed = true;
	}
	end_section(r);
	if (r->too_large) {
		diag_add(d, name, 0, "too large (more than %d MB)",
		    INIFILE_MAX_BYTES >> 20);
		r->failed = true;
	}
	if (r->io_errno != 0) {
		diag_add(d, name, 0, "%s",
		    strerror_r(r->io_errno, ebuf, sizeof(ebuf)));
		r->failed = true;
	}
	close(r->fd);
	failed = r->failed;
	free(r);
	return failed ? -1 : 0;
}
