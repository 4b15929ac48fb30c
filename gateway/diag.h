/*
 * diag.h - configuration problems collected as "file:line: message".
 * Parsers add to a list and go on, so one run reports every problem.
 * A warning is shown like a problem but does not make a file bad.
 */
#ifndef DIAG_H
#define DIAG_H

#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct diag_entry {
	char *file; /* path as shown to the user */
	int line;   /* 0: the problem has no line */
	char *msg;
	size_t order; /* insertion order, for a stable sort */
	bool warning; /* shown, but not an error */
};

struct diag {
	struct diag_entry *v;
	size_t n, cap;
};

void diag_init(struct diag *);
void diag_free(struct diag *);
void diag_add(struct diag *, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_warn(struct diag *, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* diag_add for a caller that takes its own arguments. */
void diag_vadd(struct diag *, const char *file, int line, const char *fmt,
    va_list ap) __attribute__((format(printf, 4, 0)));
/* strdup, or diag_oom(): for parsers, which have no way to fail softly. */
char *diag_strdup(const char *);
/* One entry as diag_print() shows it, cut to size. */
void diag_format(const struct diag_entry *, char *out, size_t size);
/* The entries that are not warnings. */
size_t diag_errors(const struct diag *);
/* Sort by file, then line, keeping the order of problems on one line. */
void diag_sort(struct diag *);
/*
 * One problem a line: "file:line: message" (or "file: message"), and
 * "file: warning: message" for a warning.
 */
void diag_print(FILE *, const struct diag *);

/*
 * Out of memory: "out of memory" to fd 2 with write(2), which no stdio
 * buffer can swallow (the daemon's stderr is fully buffered), then abort.
 */
void diag_oom(void) __attribute__((noreturn));

#endif
