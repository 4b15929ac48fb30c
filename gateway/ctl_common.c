/*
 * ctl_common.c - what gatewayctl's commands share: asking gatewayd over
 * the control socket, the journal opened read-only, times typed by
 * people, and tables aligned by display width.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "ctl.h"
#include "datetime.h"
#include "util.h"

int
ctl_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "gatewayctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\ntry: gatewayctl %s --help\n", cmd);
	return CTL_USAGE;
}

void
ctl_print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
}

/* ---- the control socket ---- */

static int
connect_socket(const struct ctl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, saved;

	if (strlen(c->socket_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr,
		    "gatewayctl: control socket path too long: %s\n",
		    c->socket_path);
		return -CTL_REFUSED;
	}
	memcpy(sa.sun_path, c->socket_path, strlen(c->socket_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "gatewayctl: socket: %s\n", strerror(errno));
		return -CTL_REFUSED;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	saved = errno;
	close(fd);
	if (saved == EACCES || saved == EPERM) {
		fprintf(stderr,
		    "gatewayctl: %s: permission denied: only root, the "
		    "gateway's user and members of its group%s%s may use it\n",
		    c->socket_path, c->cfg->control.group ? " " : "",
		    c->cfg->control.group ? c->cfg->control.group : "");
		return -CTL_REFUSED;
	}
	fprintf(stderr,
	    "gatewayctl: gatewayd is not running (nothing answers on %s: "
	    "%s)\n",
	    c->socket_path, strerror(saved));
	return -CTL_DOWN;
}

static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line, within timeout_ms: its length, or -1 (err says why). */
static ssize_t
read_line(int fd, char **out, int timeout_ms, const char **err)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nl;
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int left;

	for (*err = "out of memory"; buf != NULL;) {
		left = (int)(deadline - mono_ms());
		if (mono_ms() >= deadline || poll(&pfd, 1, left) == 0) {
			*err = "no answer in time";
			break;
		}
		if (len + 1 >= cap) {
			char *more = realloc(buf, cap * 2);
			if (more == NULL)
				break;
			buf = more;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*err = n == 0 ? "it closed the connection" :
			                strerror(errno);
			break;
		}
		len += (size_t)n;
		buf[len] = '\0';
		if ((nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			*out = buf;
			return nl - buf;
		}
	}
	free(buf);
	return -1;
}

int
ctl_request(struct ctl *c, json_t *req, json_t **answer, int timeout_ms,
    bool quiet)
{
	char *text, *line = NULL;
	const char *err = NULL, *code;
	json_error_t jerr;
	ssize_t n;
	int fd, rc;

	*answer = NULL;
	if ((fd = connect_socket(c)) < 0)
		return -fd;
	text = json_dumps(req, JSON_COMPACT);
	rc = text == NULL || send_all(fd, text, strlen(text)) < 0 ||
	    send_all(fd, "\n", 1) < 0;
	free(text);
	/* Sent or not, an answer may be there: a refusal is written before
	 * the gateway hangs up on a peer it does not let in. */
	n = read_line(fd, &line, timeout_ms, &err);
	close(fd);
	if (n < 0 && rc) {
		fprintf(stderr, "gatewayctl: %s: the gateway hung up\n",
		    c->socket_path);
		return CTL_DOWN;
	}
	if (n < 0) {
		fprintf(stderr, "gatewayctl: gatewayd: %s\n", err);
		return CTL_REFUSED;
	}
	*answer = json_loadb(line, (size_t)n, 0, &jerr);
	free(line);
	if (!json_is_object(*answer)) {
		fprintf(stderr,
		    "gatewayctl: gatewayd answered what is not "
		    "JSON: %s\n",
		    jerr.text);
		json_decref(*answer);
		*answer = NULL;
		return CTL_REFUSED;
	}
	if (json_is_true(json_object_get(*answer, "ok")))
		return CTL_OK;
	if (!quiet)
		fprintf(stderr, "gatewayctl: %s\n",
		    json_string_value(json_object_get(*answer, "error")) ?
		        json_string_value(json_object_get(*answer, "error")) :
		        "refused");
	code = json_string_value(json_object_get(*answer, "code"));
	return code != NULL && strcmp(code, "usage") == 0 ? CTL_USAGE :
	                                                    CTL_REFUSED;
}

/* ---- the journal ---- */

sqlite3 *
ctl_journal(struct ctl *c)
{
	sqlite3 *db = NULL;
	char *path;
	int rc;

	if (asprintf(&path, "%s/journal.db", c->cfg->data_dir) < 0)
		return NULL;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "SELECT 1 FROM events LIMIT 1", NULL,
		    NULL, NULL);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "gatewayctl: journal %s: %s\n", path,
		    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		free(path);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	free(path);
	return db;
}

/* ---- times ---- */

long long
ctl_parse_time(const char *s)
{
	int64_t now = now_ms(), sec;
	int32_t day;
	char buf[32], unit;
	long n;
	struct tm tm;
	time_t t;
	int used = 0;

	if (strcmp(s, "now") == 0)
		return now;
	if (s[0] == '-' && sscanf(s + 1, "%ld%c%n", &n, &unit, &used) == 2 &&
	    s[1 + used] == '\0' && n >= 0) {
		switch (unit) {
		case 's':
			return now - n * 1000LL;
		case 'm':
			return now - n * 60000LL;
		case 'h':
			return now - n * 3600000LL;
		case 'd':
			return now - n * 86400000LL;
		default:
			return -1;
		}
	}
	if (strlen(s) == 5 && s[2] == ':') { /* HH:MM today */
		t = (time_t)(now / 1000);
		localtime_r(&t, &tm);
		snprintf(buf, sizeof(buf), "%04d-%02d-%02d %s",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, s);
		return datetime_parse_local(buf, &sec) == 0 ? sec * 1000 : -1;
	}
	if (datetime_parse_date(s, &day) == 0) {
		snprintf(buf, sizeof(buf), "%s 00:00", s);
		return datetime_parse_local(buf, &sec) == 0 ? sec * 1000 : -1;
	}
	/* "2026-11-23 14:00" or "...T14:00", seconds optional. */
	if (strlen(s) >= 16 && strlen(s) < sizeof(buf)) {
		str_copy(buf, s, sizeof(buf));
		if (buf[10] == 'T')
			buf[10] = ' ';
		n = 0;
		if (strlen(buf) == 19 && buf[16] == ':' &&
		    parse_long(buf + 17, 0, 59, &n) == 0)
			buf[16] = '\0';
		if (strlen(buf) == 16 && datetime_parse_local(buf, &sec) == 0)
			return (sec + n) * 1000;
	}
	if (datetime_parse_rfc3339(s, &sec) == 0)
		return sec;
	return -1;
}

/* ---- tables ---- */

struct ctl_table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, row 0 the headers */
	size_t *width;
};

struct ctl_table *
ctl_table_new(const char *const *headers)
{
	struct ctl_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	while (headers[t->ncols] != NULL)
		t->ncols++;
	t->width = calloc(t->ncols, sizeof(*t->width));
	if (t->width == NULL) {
		free(t);
		return NULL;
	}
	ctl_table_row(t, headers);
	return t;
}

void
ctl_table_row(struct ctl_table *t, const char *const *cells)
{
	char **v;
	size_t i, w;

	if (t == NULL)
		return;
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		v = realloc(t->cells, t->cap * t->ncols * sizeof(*v));
		if (v == NULL) {
			fprintf(stderr, "gatewayctl: out of memory\n");
			exit(CTL_REFUSED);
		}
		t->cells = v;
	}
	for (i = 0; i < t->ncols; i++) {
		v = &t->cells[t->nrows * t->ncols + i];
		*v = strdup(cells[i] != NULL ? cells[i] : "-");
		if (*v == NULL) {
			fprintf(stderr, "gatewayctl: out of memory\n");
			exit(CTL_REFUSED);
		}
		if ((w = utf8_width(*v)) > t->width[i])
			t->width[i] = w;
	}
	t->nrows++;
}

void
ctl_table_print(struct ctl_table *t, FILE *f)
{
	size_t r, i, pad;
	const char *cell;

	if (t == NULL)
		return;
	/* Headers all "": a table of label and value, with no header row. */
	for (r = 0, i = 0; i < t->ncols; i++)
		if (t->cells[i][0] != '\0')
			break;
	if (i == t->ncols)
		r = 1;
	for (; r < t->nrows; r++) {
		for (i = 0; i < t->ncols; i++) {
			cell = t->cells[r * t->ncols + i];
			fputs(cell, f);
			if (i + 1 == t->ncols)
				break;
			for (pad = utf8_width(cell); pad < t->width[i] + 2;
			     pad++)
				fputc(' ', f);
		}
		fputc('\n', f);
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	free(t->width);
	free(t);
}
