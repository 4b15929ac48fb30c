/*
 * journal_read.c - sinks read the journal off the loop: a read is asked
 * on the loop, run on the journal's thread between its commits (the one
 * connection, so no second reader of the file), and answered on the
 * loop through the journal's uv_async_t.  A sink has one read at a time,
 * of a bounded number of rows, so a backlog of a million records is read
 * a batch at a time and never held whole.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "journal_int.h"
#include "log.h"

struct journal_reading {
	struct journal_reading *next;
	int64_t after;
	enum journal_filter filter;
	size_t limit, max_bytes;
	journal_read_fn *cb;
	journal_cursor_fn *cursor_cb; /* a cursor's read, not rows' */
	char cursor[16];
	int64_t cursor_seq;
	char *cursor_state;
	void *arg;
	int rc;
	const char *site;
	/* The answer: the records with their ids, back to back. */
	char *text;
	size_t len, cap;
	struct journal_row *rows;
	size_t n;
	size_t *offsets; /* of each row's kind, then its json, in text */
};

static void
free_reading(struct journal_reading *r)
{
	free(r->text);
	free(r->rows);
	free(r->offsets);
	free(r->cursor_state);
	free(r);
}

/* Queued for the thread; -1 (r freed) when the journal stops. */
static int
ask(struct journal *j, struct journal_reading *r)
{
	r->site = j->site;
	pthread_mutex_lock(&j->mu);
	if (j->stopping) {
		pthread_mutex_unlock(&j->mu);
		free_reading(r);
		return -1;
	}
	*j->reads_tail = r;
	j->reads_tail = &r->next;
	pthread_cond_signal(&j->wake);
	pthread_mutex_unlock(&j->mu);
	return 0;
}

int
journal_cursor_read(struct journal *j, const char *name, journal_cursor_fn *cb,
    void *arg)
{
	struct journal_reading *r = calloc(1, sizeof(*r));

	if (r == NULL || strlen(name) >= sizeof(r->cursor)) {
		free(r);
		return -1;
	}
	memcpy(r->cursor, name, strlen(name) + 1);
	r->cursor_cb = cb;
	r->arg = arg;
	return ask(j, r);
}

int
journal_read(struct journal *j, int64_t after, enum journal_filter filter,
    size_t limit, size_t max_bytes, journal_read_fn *cb, void *arg)
{
	struct journal_reading *r;

	if (limit == 0)
		limit = 1;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -1;
	r->rows = calloc(limit, sizeof(*r->rows));
	r->offsets = calloc(limit * 2, sizeof(*r->offsets));
	if (r->rows == NULL || r->offsets == NULL) {
		free(r->rows);
		free(r->offsets);
		free(r);
		return -1;
	}
	r->after = after;
	r->filter = filter;
	r->limit = limit;
	r->max_bytes = max_bytes;
	r->cb = cb;
	r->arg = arg;
	return ask(j, r);
}

static int
append(struct journal_reading *r, const char *s, size_t n)
{
	size_t cap;
	char *p;

	if (r->len + n + 1 > r->cap) {
		cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n + 1)
			cap *= 2;
		p = realloc(r->text, cap);
		if (p == NULL)
			return -1;
		r->text = p;
		r->cap = cap;
	}
	memcpy(r->text + r->len, s, n);
	r->len += n;
	r->text[r->len++] = '\0';
	return 0;
}

/* One row: its kind, and the record with its id in front. */
static int
take(void *arg, int64_t seq, const char *kind, int64_t ts_ms, const char *body,
    size_t len)
{
	struct journal_reading *r = arg;
	char prefix[160];
	int n;
	size_t at;

	if (r->n > 0 && r->len + len > r->max_bytes)
		return -1; /* the next read begins with it */
	/* Every body is a JSON object the journal wrote: "{...}". */
	n = journal_id_prefix(prefix, sizeof(prefix), r->site, seq);
	if (n < 0 || len < 2)
		return -1;
	r->offsets[2 * r->n] = r->len;
	if (append(r, kind, strlen(kind)) < 0)
		return -1;
	at = r->len;
	if (append(r, prefix, (size_t)n) < 0)
		return -1;
	r->len--; /* the body follows the prefix, without its '{' */
	if (append(r, body + 1, len - 1) < 0)
		return -1;
	r->offsets[2 * r->n + 1] = at;
	r->rows[r->n].seq = seq;
	r->rows[r->n].ts_ms = ts_ms;
	r->rows[r->n].len = (size_t)n + len - 1;
	r->n++;
	return 0;
}

void
journal_read_next(struct journal *j)
{
	struct journal_reading *r;

	pthread_mutex_lock(&j->mu);
	r = j->reads;
	if (r != NULL) {
		j->reads = r->next;
		if (j->reads == NULL)
			j->reads_tail = &j->reads;
	}
	pthread_mutex_unlock(&j->mu);
	if (r == NULL)
		return;
	r->next = NULL;
	if (j->db == NULL)
		r->rc = -1;
	else if (r->cursor_cb != NULL)
		r->rc = journal_db_cursor_get(j->db, r->cursor, &r->cursor_seq,
		    &r->cursor_state);
	else if ((r->rc = journal_db_read(j->db, r->after, r->filter, r->limit,
	              take, r)) >= 0)
		r->rc = (int)r->n;
	pthread_mutex_lock(&j->mu);
	*j->read_done_tail = r;
	j->read_done_tail = &r->next;
	pthread_mutex_unlock(&j->mu);
	uv_async_send(&j->async);
}

static void
answer(struct journal_reading *r)
{
	size_t i;

	if (r->cursor_cb != NULL) {
		r->cursor_cb(r->arg, r->rc, r->cursor_seq, r->cursor_state);
		free_reading(r);
		return;
	}
	/* Pointers now: text no longer moves. */
	for (i = 0; i < r->n; i++) {
		r->rows[i].kind = r->text + r->offsets[2 * i];
		r->rows[i].json = r->text + r->offsets[2 * i + 1];
	}
	r->cb(r->arg, r->rc, r->rows, r->rc > 0 ? r->n : 0);
	free_reading(r);
}

void
journal_read_deliver(struct journal *j)
{
	struct journal_reading *list, *r;

	pthread_mutex_lock(&j->mu);
	list = j->read_done;
	j->read_done = NULL;
	j->read_done_tail = &j->read_done;
	pthread_mutex_unlock(&j->mu);
	while ((r = list) != NULL) {
		list = r->next;
		answer(r);
	}
}

void
journal_read_abandon(struct journal *j)
{
	struct journal_reading *r;

	pthread_mutex_lock(&j->mu);
	while ((r = j->reads) != NULL) {
		j->reads = r->next;
		r->next = NULL;
		r->rc = -1;
		r->n = 0;
		*j->read_done_tail = r;
		j->read_done_tail = &r->next;
	}
	j->reads_tail = &j->reads;
	pthread_mutex_unlock(&j->mu);
}
