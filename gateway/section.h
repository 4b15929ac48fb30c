/*
 * section.h - an INI file read against a table of section types, each
 * with its keys as a schema (schema.h): what gateway.ini and access.d
 * share.  Unknown sections and keys, a key written twice, an empty
 * value, a missing required key and a section that needs a name are
 * reported here, once, in one wording; what a section means is its
 * type's business.
 */
#ifndef SECTION_H
#define SECTION_H

#include <stdbool.h>

#include "diag.h"
#include "schema.h"

struct section_reader;

struct section_type {
	const char *type; /* [type name] */
	bool named;       /* needs a name ([person P0001]); else takes none */
	bool once;        /* at most one in a file ([gateway]) */
	bool unsupported; /* known, but read by a later version: refused */
	/*
	 * A section of this type begins: the object its keys fill, or NULL
	 * to skip its keys (begin reported why).  Optional: the section
	 * then fills ctx.
	 */
	void *(*begin)(struct section_reader *, int line, const char *name);
	/* Its keys; or keys_of() when they depend on what was read (a
	 * device's driver): NULL from it skips the section's keys. */
	const struct schema_key *keys;
	const struct schema_key *(*keys_of)(struct section_reader *, void *obj);
	/* A key not in its table; default "unknown key 'k' in [t n]".
	 * Keys made of a prefix and a name ([care] steward.5) come here
	 * with their value; the type checks their repeats itself. */
	void (*unknown_key)(struct section_reader *, void *obj, int line,
	    const char *key, const char *value);
	/* What its schema keys fill, when that is not the object (a
	 * device's settings behind its priv).  Optional. */
	void *(*fill)(struct section_reader *, void *obj);
	/* Put before a bad value's message ("device gate-east: "). */
	const char *(*prefix)(struct section_reader *, void *obj);
	/*
	 * After its last key; required keys are checked before (unless
	 * damaged: a line in it could not be read, and may hold them).
	 * Optional.
	 */
	void (*end)(struct section_reader *, void *obj, bool damaged);
};

/*
 * Read path against types[0..n).  dir resolves SCHEMA_PATH values; ctx
 * is what the callbacks and SCHEMA_HANDLER keys get.  Problems go to
 * diag.  Returns the number of section headers read: none, with a
 * problem, means the file itself could not be read.
 */
int section_parse(const char *path, const char *dir,
    const struct section_type *types, size_t n, void *ctx, struct diag *);
/* The same, reading path in place of name (inifile_parse_as()). */
int section_parse_as(const char *path, const char *name, const char *dir,
    const struct section_type *types, size_t n, void *ctx, struct diag *);

void *section_ctx(const struct section_reader *);
const char *section_file(const struct section_reader *);
/* The section being read: its header's line, name, "[type name]". */
int section_line(const struct section_reader *);
const char *section_name(const struct section_reader *);
const char *section_text(const struct section_reader *);
/* The line where key was first written in this section, or 0. */
int section_seen(const struct section_reader *, const char *key);
/* A problem at line of the file being read. */
void section_error(struct section_reader *, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
