/*
 * visitors_file.c - a visitor's section added to or removed from the
 * text of access.d/visitors.ini, and the file replaced atomically
 * (temporary file, fsync, rename).  Lines are found here only to know
 * where a section starts and ends; access_load() judges what they say.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inifile.h"
#include "visitors_file.h"

#define BOM "\xef\xbb\xbf"

/* One line of a text: [start, end) without its line end; next after it. */
struct line {
	size_t start, end, next;
};

static bool
next_line(const struct visitors_text *t, size_t at, struct line *l)
{
	const char *nl;

	if (at >= t->len)
		return false;
	l->start = at;
	nl = memchr(t->text + at, '\n', t->len - at);
	l->next = nl ? (size_t)(nl - t->text) + 1 : t->len;
	l->end = nl ? (size_t)(nl - t->text) : t->len;
	if (l->end > l->start && t->text[l->end - 1] == '\r')
		l->end--;
	/* The byte-order mark is no part of the first line's text. */
	if (at == 0 && t->len >= 3 && memcmp(t->text, BOM, 3) == 0)
		l->start = 3 < l->end ? 3 : l->end;
	return true;
}

static bool
is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The line's first byte that is not a space, or its end. */
static size_t
first_char(const struct visitors_text *t, const struct line *l)
{
	size_t i = l->start;

	while (i < l->end && is_space(t->text[i]))
		i++;
	return i;
}

/* Blank or a comment: nothing a section needs. */
static bool
is_filler(const struct visitors_text *t, const struct line *l)
{
	size_t i = first_char(t, l);

	return i == l->end || t->text[i] == ';' || t->text[i] == '#';
}

static bool
is_header(const struct visitors_text *t, const struct line *l)
{
	size_t i = first_char(t, l);

	return i < l->end && t->text[i] == '[';
}

/* "[visitor id]", spaces allowed as inifile.c allows them. */
static bool
is_visitor(const struct visitors_text *t, const struct line *l, const char *id)
{
	const char *p = t->text + first_char(t, l), *e, *close;
	size_t n = strlen(id);

	if (!is_header(t, l))
		return false;
	close = memchr(p, ']', (size_t)(t->text + l->end - p));
	if (close == NULL)
		return false;
	for (p++; p < close && is_space(*p); p++)
		;
	if ((size_t)(close - p) < 8 || memcmp(p, "visitor", 7) != 0 ||
	    !is_space(p[7]))
		return false;
	for (p += 7; p < close && is_space(*p); p++)
		;
	for (e = close; e > p && is_space(e[-1]); e--)
		;
	return (size_t)(e - p) == n && memcmp(p, id, n) == 0;
}

/* The header line of [visitor id], or false. */
static bool
find_section(const struct visitors_text *t, const char *id, struct line *l)
{
	size_t at = 0;

	while (next_line(t, at, l)) {
		if (is_visitor(t, l, id))
			return true;
		at = l->next;
	}
	return false;
}

bool
visitors_file_has(const struct visitors_text *t, const char *id)
{
	struct line l;

	return find_section(t, id, &l);
}

int
visitors_file_remove(const struct visitors_text *in, const char *id,
    struct visitors_text *out)
{
	struct line head, l;
	size_t cut, at;

	if (!find_section(in, id, &head))
		return 0;
	cut = head.next;
	for (at = head.next; next_line(in, at, &l); at = l.next) {
		if (is_header(in, &l))
			break;
		if (!is_filler(in, &l))
			cut = l.next;
	}
	out->len = in->len - (cut - head.start);
	out->text = malloc(out->len + 1);
	if (out->text == NULL)
		return -1;
	memcpy(out->text, in->text, head.start);
	memcpy(out->text + head.start, in->text + cut, in->len - cut);
	out->text[out->len] = '\0';
	return 1;
}

/* ---- adding ---- */

struct buf {
	char *s;
	size_t len, cap;
	bool failed;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	char *ns;

	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t ncap = (b->len + n + 1) * 2;

		ns = realloc(b->s, ncap);
		if (ns == NULL) {
			b->failed = true;
			return;
		}
		b->s = ns;
		b->cap = ncap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/*
 * A value the INI reader gives back as written: one line, no spaces at
 * its ends (trimmed), no ";" or "#" after a space (a comment there).
 */
static bool
writable(const char *v)
{
	size_t n = strlen(v), i;

	if (n == 0 || is_space(v[0]) || is_space(v[n - 1]))
		return false;
	for (i = 0; i < n; i++) {
		if ((unsigned char)v[i] < ' ' || v[i] == 0x7f)
			return false;
		if ((v[i] == ';' || v[i] == '#') && i > 0 && is_space(v[i - 1]))
			return false;
	}
	return true;
}

static int
key(struct buf *b, const char *k, const char *v, const char *nl)
{
	if (v == NULL)
		return 0;
	if (!writable(v))
		return -1;
	puts_(b, k);
	puts_(b, " = ");
	puts_(b, v);
	puts_(b, nl);
	return 0;
}

static int
section(struct buf *b, const struct visitors_entry *e, const char *nl)
{
	char n[24];
	int rc = 0;

	if (e->id == NULL || !writable(e->id) || strpbrk(e->id, "[] \t"))
		return -1;
	puts_(b, "[visitor ");
	puts_(b, e->id);
	puts_(b, "]");
	puts_(b, nl);
	rc |= key(b, "host", e->host, nl);
	rc |= key(b, "name", e->name, nl);
	rc |= key(b, "plate", e->plate, nl);
	rc |= key(b, "person", e->person, nl);
	rc |= key(b, "card", e->card, nl);
	rc |= key(b, "from", e->from, nl);
	rc |= key(b, "until", e->until, nl);
	if (e->entries > 0) {
		snprintf(n, sizeof(n), "%ld", e->entries);
		rc |= key(b, "entries", n, nl);
	}
	return rc;
}

/* Does the text end with an empty line ("...\n\n", "...\r\n\r\n")? */
static bool
ends_blank(const struct visitors_text *t)
{
	size_t n = t->len;

	if (n == 0 || t->text[n - 1] != '\n')
		return false;
	n--;
	if (n > 0 && t->text[n - 1] == '\r')
		n--;
	return n == 0 || t->text[n - 1] == '\n';
}

static bool
uses_crlf(const struct visitors_text *t)
{
	const char *nl = memchr(t->text, '\n', t->len);

	return nl != NULL && nl > t->text && nl[-1] == '\r';
}

/* Nothing but, perhaps, Notepad's byte-order mark. */
static bool
is_empty(const struct visitors_text *t)
{
	return t->len == 0 || (t->len == 3 && memcmp(t->text, BOM, 3) == 0);
}

int
visitors_file_add(const struct visitors_text *in,
    const struct visitors_entry *e, struct visitors_text *out)
{
	const char *nl = uses_crlf(in) ? "\r\n" : "\n";
	struct buf b = { 0 };

	put(&b, in->text ? in->text : "", in->len);
	if (is_empty(in)) {
		puts_(&b, VISITORS_FILE_HEADER);
		puts_(&b, nl);
	} else {
		if (in->text[in->len - 1] != '\n')
			puts_(&b, nl);
		if (!ends_blank(in))
			puts_(&b, nl);
	}
	if (section(&b, e, nl) < 0 || b.failed) {
		free(b.s);
		return -1;
	}
	out->text = b.s;
	out->len = b.len;
	return 0;
}

int
visitors_file_next_id(int32_t yyyymmdd, bool (*taken)(void *, const char *),
    void *arg, char *out, size_t size)
{
	int n;

	for (n = 1; n <= 999; n++) {
		snprintf(out, size, "V%08d-%03d", (int)yyyymmdd, n);
		if (!taken(arg, out))
			return 0;
	}
	return -1;
}

/* ---- the file ---- */

int
visitors_file_read(const char *path, struct visitors_text *t, bool *missing)
{
	struct stat st;
	ssize_t got;
	size_t n = 0;
	int fd, e;

	*missing = false;
	t->text = NULL;
	t->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		*missing = true;
		t->text = calloc(1, 1);
		return t->text ? 0 : -1;
	}
	if (fd < 0)
		return -1;
	e = 0;
	if (fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EINVAL;
	else if (st.st_size > INIFILE_MAX_BYTES)
		e = EFBIG;
	if (e != 0) {
		close(fd);
		errno = e;
		return -1;
	}
	t->text = malloc((size_t)st.st_size + 1);
	if (t->text == NULL) {
		close(fd);
		return -1;
	}
	errno = 0;
	while (n < (size_t)st.st_size) {
		got = read(fd, t->text + n, (size_t)st.st_size - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	e = errno;
	close(fd);
	if (n < (size_t)st.st_size) {
		free(t->text);
		t->text = NULL;
		errno = e ? e : EIO;
		return -1;
	}
	t->text[n] = '\0';
	t->len = n;
	return 0;
}

static int
write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int
visitors_file_stage(const char *path, const struct visitors_text *t, char *tmp,
    size_t size)
{
	const char *slash = strrchr(path, '/');
	struct stat st;
	int fd, n, e;

	n = slash ? snprintf(tmp, size, "%.*s/.%s.XXXXXX", (int)(slash - path),
	                path, slash + 1) :
	            snprintf(tmp, size, ".%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* As it was: staff (and gatewayd) must read it as before. */
	if (stat(path, &st) == 0) {
		(void)fchmod(fd, st.st_mode & 07777);
		(void)!fchown(fd, st.st_uid, st.st_gid);
	} else {
		(void)fchmod(fd, 0644);
	}
	if (write_all(fd, t->text, t->len) < 0 || fsync(fd) < 0) {
		e = errno;
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	if (close(fd) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int
visitors_file_commit(const char *tmp, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	int fd, e;

	if (rename(tmp, path) < 0) {
		e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	/* The rename itself survives a power cut once the directory is
	 * synced. */
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
	    slash ? path : ".");
	fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	return 0;
}
