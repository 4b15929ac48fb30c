/*
 * diag.c - configuration problems collected as "file:line: message", so
 * that a parser goes on after an error and one run reports them all.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"

void
diag_init(struct diag *d)
{
	d->v = NULL;
	d->n = 0;
	d->cap = 0;
}

void
diag_free(struct diag *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	diag_init(d);
}

void
diag_oom(void)
{
	static const char msg[] = "out of memory\n";
	ssize_t n;

	/* fputs() would leave it in stderr's buffer, which abort() drops. */
	n = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)n;
	abort();
}

static void
vadd(struct diag *d, bool warning, const char *file, int line, const char *fmt,
    va_list ap)
{
	struct diag_entry *e;
	va_list copy;
	int len;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;

		e = realloc(d->v, cap * sizeof(*e));
		if (e == NULL)
			diag_oom();
		d->v = e;
		d->cap = cap;
	}
	e = &d->v[d->n];
	va_copy(copy, ap);
	len = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (len < 0)
		len = 0;
	e->msg = malloc((size_t)len + 1);
	e->file = strdup(file ? file : "");
	if (e->msg == NULL || e->file == NULL)
		diag_oom();
	vsnprintf(e->msg, (size_t)len + 1, fmt, ap);
	e->line = line;
	e->order = d->n;
	e->warning = warning;
	d->n++;
}

void
diag_add(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(d, false, file, line, fmt, ap);
	va_end(ap);
}

void
diag_vadd(struct diag *d, const char *file, int line, const char *fmt,
    va_list ap)
{
	vadd(d, false, file, line, fmt, ap);
}

char *
diag_strdup(const char *s)
{
	char *c = strdup(s);

	if (c == NULL)
		diag_oom();
	return c;
}

void
diag_warn(struct diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vadd(d, true, file, line, fmt, ap);
	va_end(ap);
}

size_t
diag_errors(const struct diag *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->n; i++)
		if (!d->v[i].warning)
			n++;
	return n;
}

/* An entry with the rank of its file: the order the file first appeared. */
struct ranked {
	size_t rank;
	struct diag_entry *e;
};

static int
by_file(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	int c = strcmp(x->e->file, y->e->file);

	if (c != 0)
		return c;
	return x->e->order < y->e->order ? -1 : x->e->order > y->e->order;
}

static int
by_rank(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->e->line != y->e->line)
		return x->e->line < y->e->line ? -1 : 1;
	return x->e->order < y->e->order ? -1 : x->e->order > y->e->order;
}

void
diag_sort(struct diag *d)
{
	struct diag_entry *sorted;
	struct ranked *r;
	size_t i, first = 0;

	if (d->n < 2)
		return;
	r = malloc(d->n * sizeof(*r));
	sorted = malloc(d->n * sizeof(*sorted));
	if (r == NULL || sorted == NULL)
		diag_oom();
	for (i = 0; i < d->n; i++)
		r[i].e = &d->v[i];
	/* Group by file name; a file's rank is its earliest entry. */
	qsort(r, d->n, sizeof(*r), by_file);
	for (i = 0; i < d->n; i++) {
		if (i == 0 || strcmp(r[i].e->file, r[i - 1].e->file) != 0)
			first = r[i].e->order;
		r[i].rank = first;
	}
	qsort(r, d->n, sizeof(*r), by_rank);
	for (i = 0; i < d->n; i++)
		sorted[i] = *r[i].e;
	for (i = 0; i < d->n; i++) {
		d->v[i] = sorted[i];
		d->v[i].order = i;
	}
	free(sorted);
	free(r);
}

void
diag_print(FILE *fp, const struct diag *d)
{
	size_t i;

	char line[1024];

	for (i = 0; i < d->n; i++) {
		diag_format(&d->v[i], line, sizeof(line));
		fprintf(fp, "%s\n", line);
	}
}

void
diag_format(const struct diag_entry *e, char *out, size_t size)
{
	const char *w = e->warning ? "warning: " : "";

	if (e->line > 0)
		snprintf(out, size, "%s:%d: %s%s", e->file, e->line, w, e->msg);
	else
		snprintf(out, size, "%s: %s%s", e->file, w, e->msg);
}
