/*
 * journal_batch.c - rows on their way to the journal: a batch packs a
 * loop iteration's rows (their columns, and their record as JSON without
 * the id) into one buffer, built on the loop; on the journal thread each
 * row gets its id and its record as stored and published, and the batch
 * its answer.  And the rows that never got there: a loss counts them by
 * kind and time, for the record that says so.  No threads, no I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datetime.h"
#include "journal_batch.h"
#include "journal_db.h"
#include "log.h"
#include "util.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

static int
text_reserve(struct journal_text *t, size_t more)
{
	size_t cap;
	char *p;

	if (t->cap - t->len >= more)
		return 0;
	if (more > JOURNAL_NO_STR - 1 - t->len)
		return -1; /* offsets are 32 bits */
	cap = t->cap ? t->cap : 1024;
	while (cap - t->len < more)
		cap *= 2;
	p = realloc(t->p, cap);
	if (p == NULL)
		return -1;
	t->p = p;
	t->cap = cap;
	return 0;
}

static const char *
text_at(const struct journal_text *t, uint32_t off)
{
	return off == JOURNAL_NO_STR ? NULL : t->p + off;
}

/* n rows of a kind; past JOURNAL_LOSS_KINDS - 1 kinds, the last slot is
 * "other". */
static void
loss_kind(struct journal_loss *l, const char *kind, uint64_t n)
{
	size_t i;

	if (kind == NULL)
		kind = "other";
	for (i = 0; i < JOURNAL_LOSS_KINDS - 1 && l->kinds[i].name[0]; i++)
		if (strcmp(l->kinds[i].name, kind) == 0)
			break;
	if (i == JOURNAL_LOSS_KINDS - 1)
		kind = "other";
	snprintf(l->kinds[i].name, sizeof(l->kinds[i].name), "%s", kind);
	l->kinds[i].n += n;
}

/* n rows from from_ms to to_ms, for cause unless one came first. */
static void
loss_rows(struct journal_loss *l, uint64_t n, int64_t from_ms, int64_t to_ms,
    const char *cause)
{
	if (n == 0)
		return;
	if (l->rows == 0 || from_ms < l->from_ms)
		l->from_ms = from_ms;
	if (l->rows == 0 || to_ms > l->to_ms)
		l->to_ms = to_ms;
	l->rows += n;
	if (l->cause[0] == '\0')
		snprintf(l->cause, sizeof(l->cause), "%s", cause);
}

void
journal_loss_add(struct journal_loss *l, const char *kind, int64_t ts_ms,
    const char *cause)
{
	loss_rows(l, 1, ts_ms, ts_ms, cause);
	loss_kind(l, kind, 1);
}

void
journal_loss_merge(struct journal_loss *to, const struct journal_loss *from)
{
	size_t i;

	loss_rows(to, from->rows, from->from_ms, from->to_ms, from->cause);
	for (i = 0; i < JOURNAL_LOSS_KINDS && from->kinds[i].name[0]; i++)
		loss_kind(to, from->kinds[i].name, from->kinds[i].n);
}

/* The rows of a batch that was not committed, counted as lost. */
void
journal_loss_batch(struct journal_loss *l, const struct journal_batch *b,
    const char *cause)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		journal_loss_add(l,
		    text_at(&b->text, b->rows[i].str[JOURNAL_F_KIND]),
		    b->rows[i].ts_ms, cause);
}

static void
rfc3339_json(json_t *o, const char *key, int64_t ms)
{
	char ts[40];

	datetime_format_rfc3339(ms, ts, sizeof(ts));
	json_object_set_new(o, key, json_string(ts));
}

/* The members of the record of a loss: rows, from, to, kinds. */
json_t *
journal_loss_json(const struct journal_loss *l)
{
	json_t *extra, *kinds;
	size_t i;

	extra = json_object();
	kinds = json_object();
	json_object_set_new(extra, "rows", json_integer((json_int_t)l->rows));
	rfc3339_json(extra, "from", l->from_ms);
	rfc3339_json(extra, "to", l->to_ms);
	for (i = 0; i < JOURNAL_LOSS_KINDS && l->kinds[i].name[0]; i++)
		json_object_set_new(kinds, l->kinds[i].name,
		    json_integer((json_int_t)l->kinds[i].n));
	json_object_set_new(extra, "kinds", kinds);
	return extra;
}

void
journal_batch_cursors_clear(struct journal_batch *b)
{
	size_t i;

	for (i = 0; i < b->ncursors; i++)
		free(b->cursors[i].state);
	b->ncursors = 0;
	b->ndead = 0;
}

void
journal_batch_free(struct journal_batch *b)
{
	if (b == NULL)
		return;
	journal_batch_cursors_clear(b);
	free(b->rows);
	free(b->text.p);
	free(b->json.p);
	free(b->out);
	free(b);
}

/* The record's columns and its JSON body, copied into the batch. */
static int
save_row(struct journal_batch *b, struct journal_pending *p,
    const struct journal_record *r, json_t *o)
{
	const char *v[JOURNAL_F_BODY] = {
		[JOURNAL_F_KIND] = r->kind,
		[JOURNAL_F_DEVICE] = r->device,
		[JOURNAL_F_REQUEST] = r->request,
		[JOURNAL_F_DECISION] = r->decision,
		[JOURNAL_F_REASON] = r->reason,
		[JOURNAL_F_SUBJECT_TYPE] = r->subject_type,
		[JOURNAL_F_SUBJECT_ID] = r->subject_id,
		[JOURNAL_F_HOUSEHOLD] = r->household,
		[JOURNAL_F_DIRECTION] = r->direction,
	};
	struct journal_text *t = &b->text;
	size_t need = 256, n, i;

	for (i = 0; i < JOURNAL_F_BODY; i++)
		need += v[i] ? strlen(v[i]) + 1 : 0;
	if (text_reserve(t, need) < 0)
		return -1;
	for (i = 0; i < JOURNAL_F_BODY; i++) {
		p->str[i] = JOURNAL_NO_STR;
		if (v[i] == NULL)
			continue;
		n = strlen(v[i]) + 1;
		p->str[i] = (uint32_t)t->len;
		memcpy(t->p + t->len, v[i], n);
		t->len += n;
	}
	/* Dumped straight into the batch; again if it did not fit. */
	n = json_dumpb(o, t->p + t->len, t->cap - t->len, JSON_FLAGS);
	if (n == 0)
		return -1;
	if (n >= t->cap - t->len) {
		if (text_reserve(t, n + 1) < 0)
			return -1;
		n = json_dumpb(o, t->p + t->len, t->cap - t->len, JSON_FLAGS);
	}
	p->str[JOURNAL_F_BODY] = (uint32_t)t->len;
	p->body_len = (uint32_t)n;
	t->p[t->len + n] = '\0';
	t->len += n + 1;
	return 0;
}

/* A row at the end of batch b, its JSON built now.  0 or -1 (memory). */
int
journal_batch_add(struct journal_batch *b, const struct journal_record *r,
    int64_t ts_ms, bool unsynced)
{
	struct journal_pending *v;
	size_t mark;
	json_t *o;
	int rc;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;

		v = realloc(b->rows, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		b->rows = v;
		b->cap = cap;
	}
	b->rows[b->n].ts_ms = ts_ms;
	mark = b->text.len;
	o = journal_record_json(r, ts_ms);
	if (o != NULL && unsynced)
		json_object_set_new(o, JOURNAL_UNSYNCED_KEY,
		    json_string(JOURNAL_UNSYNCED_VALUE));
	rc = o != NULL ? save_row(b, &b->rows[b->n], r, o) : -1;
	json_decref(o);
	if (rc < 0) {
		b->text.len = mark;
		return -1;
	}
	b->n++;
	return 0;
}

/*
 * The record with its id, as stored and published: src's body with the
 * id in front, into dst's json (dst is src but for the journal's own
 * records, which are reported with the batch they are committed with).
 */
int
journal_batch_compose(struct journal_batch *dst,
    const struct journal_batch *src, struct journal_pending *p,
    const char *site)
{
	char prefix[128];
	struct journal_text *t = &dst->json;
	int n;

	n = journal_id_prefix(prefix, sizeof(prefix), site, p->seq);
	if (n < 0 || text_reserve(t, (size_t)n + p->body_len) < 0)
		return -1;
	p->json = (uint32_t)t->len;
	p->json_len = (uint32_t)n + p->body_len - 1;
	memcpy(t->p + t->len, prefix, (size_t)n);
	/* The body without its '{', and with its NUL. */
	memcpy(t->p + t->len + n, src->text.p + p->str[JOURNAL_F_BODY] + 1,
	    p->body_len);
	t->len += (size_t)n + p->body_len;
	return 0;
}

void
journal_batch_record(const struct journal_batch *b,
    const struct journal_pending *p, struct journal_record *r)
{
	const struct journal_text *t = &b->text;

	r->kind = text_at(t, p->str[JOURNAL_F_KIND]);
	r->device = text_at(t, p->str[JOURNAL_F_DEVICE]);
	r->request = text_at(t, p->str[JOURNAL_F_REQUEST]);
	r->decision = text_at(t, p->str[JOURNAL_F_DECISION]);
	r->reason = text_at(t, p->str[JOURNAL_F_REASON]);
	r->subject_type = text_at(t, p->str[JOURNAL_F_SUBJECT_TYPE]);
	r->subject_id = text_at(t, p->str[JOURNAL_F_SUBJECT_ID]);
	r->household = text_at(t, p->str[JOURNAL_F_HOUSEHOLD]);
	r->direction = text_at(t, p->str[JOURNAL_F_DIRECTION]);
	r->extra = NULL;
}

/*
 * The answer the loop reads: the rows, with their JSON if committed,
 * after the journal's own records committed with them (sys).
 */
void
journal_batch_answer(struct journal_batch *b, bool committed,
    const struct journal_batch *sys)
{
	size_t nsys = committed && sys != NULL ? sys->n : 0, i;
	struct journal_row *out;
	const struct journal_pending *p;

	b->committed = committed;
	b->nout = 0;
	if (b->capout < nsys + b->n) {
		out = realloc(b->out, (nsys + b->n) * sizeof(*out));
		if (out == NULL) {
			log_errx("journal: out of memory: %zu rows reported "
			         "without their records",
			    b->n);
			return;
		}
		b->out = out;
		b->capout = nsys + b->n;
	}
	for (i = 0; i < nsys; i++) {
		p = &sys->rows[i];
		out = &b->out[b->nout++];
		out->kind = "system";
		out->json = b->json.p + p->json;
		out->len = p->json_len;
		out->seq = p->seq;
		out->ts_ms = p->ts_ms;
	}
	for (i = 0; i < b->n; i++) {
		p = &b->rows[i];
		out = &b->out[b->nout++];
		out->kind = text_at(&b->text, p->str[JOURNAL_F_KIND]);
		out->json = committed ? b->json.p + p->json : NULL;
		out->len = committed ? p->json_len : 0;
		out->seq = committed ? p->seq : 0;
		out->ts_ms = p->ts_ms;
	}
}
