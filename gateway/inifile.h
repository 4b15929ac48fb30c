/*
 * inifile.h - one INI file read through libinih with our own line reader,
 * which knows every line's number and reports every problem as file:line.
 * What the sections and keys mean is the caller's business.
 */
#ifndef INIFILE_H
#define INIFILE_H

#include <stdbool.h>

#include "diag.h"

/* Larger files are refused: nobody writes 16 MB of INI by hand. */
#define INIFILE_MAX_BYTES (16 * 1024 * 1024)

/*
 * Called for each well-formed line, in file order.  A section header
 * "[type name]" gives type "device" and name "gate-north" (name is ""
 * when there is none).  end() follows each section that was begun, at the
 * next header or at the end of the file; damaged says a line in it could
 * not be read, so a key that seems missing may just be unreadable.  Keys
 * are never given outside a section nor after a broken header.  file is
 * the path as given.
 */
struct inifile_handler {
	void (*section)(void *user, const char *file, int line,
	    const char *type, const char *name);
	void (*key)(void *user, const char *file, int line, const char *key,
	    const char *value);
	void (*end)(void *user, bool damaged);
};

/*
 * Read path.  UTF-8 with or without a byte-order mark, LF or CRLF; ";" and
 * "#" start a comment line, and after a space (" ;", " #") the rest of a
 * line.  Only a regular file of at most INIFILE_MAX_BYTES is read, and
 * nothing else is opened: a FIFO or a device never blocks the caller.
 * Problems with the file itself (cannot open, not a regular file, too
 * large, not UTF-8, a NUL byte, line too long, syntax) are added to diag
 * and reading goes on.
 * 0, or -1 when any was found.
 */
int inifile_parse(const char *path, struct diag *,
    const struct inifile_handler *, void *user);
/* The same, but path is read in place of name, which problems and the
 * handler are given: a file about to replace name, checked first. */
int inifile_parse_as(const char *path, const char *name, struct diag *,
    const struct inifile_handler *, void *user);

#endif
