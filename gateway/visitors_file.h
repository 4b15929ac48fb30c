/*
 * visitors_file.h - access.d/visitors.ini edited as text by gatewayctl:
 * a visitor's section appended or removed, every other byte (comments,
 * CRLF, a byte-order mark) kept, so the file stays staff's to edit by
 * hand.  What the sections mean is access_load()'s business.
 */
#ifndef VISITORS_FILE_H
#define VISITORS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A file's text (NUL-terminated too): the caller's to free(text). */
struct visitors_text {
	char *text;
	size_t len;
};

/* What a visitor's section says; NULL for a key not written. */
struct visitors_entry {
	const char *id, *host, *name, *plate, *person, *card;
	const char *from, *until; /* "YYYY-MM-DD HH:MM" */
	long entries;             /* 0: not written (the default, 1) */
};

/* The text written to a new visitors.ini, before its first section. */
#define VISITORS_FILE_HEADER                                                   \
	"; Visitors: written by gatewayctl visitor add and remove, and by\n"   \
	"; hand.  Comments and other sections are kept as they are.\n"

/*
 * in with e's section appended: a line end first if in lacks one, a
 * blank line between it and what is above, in's own line ends (CRLF if
 * its first line has one); an empty in (or just a byte-order mark) gets
 * VISITORS_FILE_HEADER first.
 * 0, or -1 when a value could not be read back as written (a line end, a
 * comment mark after a space, spaces around it).
 */
int visitors_file_add(const struct visitors_text *in,
    const struct visitors_entry *e, struct visitors_text *out);

/*
 * in without the section [visitor id]: its header up to its last line
 * that is neither blank nor a comment (what follows that may well be
 * about the next section).  1 if removed, 0 if there is no such section.
 */
int visitors_file_remove(const struct visitors_text *in, const char *id,
    struct visitors_text *out);

/* Is [visitor id] in the text? */
bool visitors_file_has(const struct visitors_text *, const char *id);

/*
 * "V<yyyymmdd>-<nnn>": the first nnn from 001 for which taken(arg, id)
 * is false.  0, or -1 when all 999 are.
 */
int visitors_file_next_id(int32_t yyyymmdd, bool (*taken)(void *, const char *),
    void *arg, char *out, size_t size);

/* Read path whole; a missing file is an empty text (*missing true).
 * 0, or -1 with errno. */
int visitors_file_read(const char *path, struct visitors_text *, bool *missing);

/*
 * Write text to a temporary file beside path (hidden, so access.d's
 * reader skips it), fsync'd, with path's mode or 0644: its name in tmp.
 * 0, or -1 with errno (nothing left behind).
 */
int visitors_file_stage(const char *path, const struct visitors_text *,
    char *tmp, size_t size);
/* The staged file renamed over path, and the directory fsync'd.  0/-1. */
int visitors_file_commit(const char *tmp, const char *path);

#endif
