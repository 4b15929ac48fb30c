/*
 * section.c - the generic half of reading an INI file: which section we
 * are in, which keys it has seen, and the problems every file can have.
 * inifile.c reads the lines; schema.c parses a value.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inifile.h"
#include "section.h"

#define SEEN_MAX  32 /* keys remembered per section: more than any has */
#define TYPES_MAX 16

struct section_reader {
	const char *file, *dir;
	const struct section_type *types;
	size_t ntypes;
	void *ctx;
	struct diag *diag;
	int first_line[TYPES_MAX]; /* of a once section, or 0 */

	int sections;                    /* headers read */
	const struct section_type *type; /* NULL: outside a section */
	void *obj;                       /* NULL: its keys are skipped */
	bool skip;
	char *text, *name;
	int line;
	struct {
		char *key;
		int line;
	} seen[SEEN_MAX];
	size_t nseen;
};

void
section_error(struct section_reader *r, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(r->diag, r->file, line, fmt, ap);
	va_end(ap);
}

void *
section_ctx(const struct section_reader *r)
{
	return r->ctx;
}

const char *
section_file(const struct section_reader *r)
{
	return r->file;
}

int
section_line(const struct section_reader *r)
{
	return r->line;
}

const char *
section_name(const struct section_reader *r)
{
	return r->name ? r->name : "";
}

const char *
section_text(const struct section_reader *r)
{
	return r->text ? r->text : "";
}

int
section_seen(const struct section_reader *r, const char *key)
{
	size_t i;

	for (i = 0; i < r->nseen; i++)
		if (strcmp(r->seen[i].key, key) == 0)
			return r->seen[i].line;
	return 0;
}

static const struct schema_key *
keys(struct section_reader *r)
{
	if (r->type->keys_of != NULL)
		return r->type->keys_of(r, r->obj);
	return r->type->keys;
}

static void
end(void *user, bool damaged)
{
	struct section_reader *r = user;
	const struct schema_key *k;
	size_t i;

	if (r->type != NULL && !r->skip) {
		for (k = damaged ? NULL : keys(r); k != NULL && k->name; k++)
			if (k->required && section_seen(r, k->name) == 0)
				section_error(r, r->line,
				    "missing key '%s' in %s", k->name, r->text);
		if (r->type->end != NULL)
			r->type->end(r, r->obj, damaged);
	}
	for (i = 0; i < r->nseen; i++)
		free(r->seen[i].key);
	r->nseen = 0;
	free(r->text);
	free(r->name);
	r->text = r->name = NULL;
	r->type = NULL;
	r->obj = NULL;
	r->skip = false;
}

static void
begin(void *user, const char *file, int line, const char *type,
    const char *name)
{
	struct section_reader *r = user;
	size_t i;

	(void)file;
	r->sections++;
	r->line = line;
	r->skip = true;
	r->name = diag_strdup(name);
	if (asprintf(&r->text, *name ? "[%s %s]" : "[%s]", type, name) < 0)
		diag_oom();
	for (i = 0; i < r->ntypes && strcmp(r->types[i].type, type); i++)
		;
	if (i == r->ntypes) {
		section_error(r, line, "unknown section %s", r->text);
		return;
	}
	r->type = &r->types[i];
	if (r->type->unsupported) {
		section_error(r, line,
		    "section %s is not supported by this version", r->text);
		return;
	}
	if (r->type->named && *name == '\0') {
		section_error(r, line, "section [%s] needs an id: [%s ID]",
		    type, type);
		return;
	}
	if (!r->type->named && *name != '\0') {
		section_error(r, line, "section [%s] takes no name", type);
		return;
	}
	if (r->type->once && i < TYPES_MAX) {
		if (r->first_line[i] != 0) {
			section_error(r, line,
			    "duplicate section [%s] (first at %s:%d)", type,
			    r->file, r->first_line[i]);
			return;
		}
		r->first_line[i] = line;
	}
	r->obj = r->type->begin ? r->type->begin(r, line, name) : r->ctx;
	r->skip = r->obj == NULL;
}

static void
set(struct section_reader *r, const struct schema_key *k, int line,
    const char *value)
{
	const char *prefix = r->type->prefix ? r->type->prefix(r, r->obj) : "";
	char err[512];

	if (k->type == SCHEMA_HANDLER) {
		k->handle(r->ctx, r->obj, k, line, value);
		return;
	}
	if (schema_set(k, r->type->fill ? r->type->fill(r, r->obj) : r->obj,
	        value, r->dir, err, sizeof(err)) < 0)
		section_error(r, line, "%s%s", prefix, err);
}

static void
key(void *user, const char *file, int line, const char *name, const char *value)
{
	struct section_reader *r = user;
	const struct schema_key *all, *k;
	int first;

	(void)file;
	if (r->type == NULL || r->skip)
		return;
	all = keys(r);
	if (all == NULL)
		return; /* its keys say nothing now (a device without driver) */
	k = schema_find(all, name);
	/* Seen before, even under keys the section had then (a device's
	 * "driver", before its driver's own keys). */
	first = section_seen(r, name);
	if (k == NULL && first == 0) {
		if (r->type->unknown_key != NULL)
			r->type->unknown_key(r, r->obj, line, name, value);
		else
			section_error(r, line, "unknown key '%s' in %s", name,
			    r->text);
		return;
	}
	if (first != 0 && (k == NULL || !k->repeatable)) {
		section_error(r, line,
		    "duplicate key '%s' in %s (first at %s:%d)", name, r->text,
		    r->file, first);
		return;
	}
	if (first == 0 && r->nseen < SEEN_MAX) {
		r->seen[r->nseen].key = diag_strdup(name);
		r->seen[r->nseen].line = line;
		r->nseen++;
	}
	if (*value == '\0') {
		section_error(r, line, "no value for '%s'", name);
		return;
	}
	set(r, k, line, value);
}

int
section_parse(const char *path, const char *dir,
    const struct section_type *types, size_t n, void *ctx, struct diag *d)
{
	return section_parse_as(path, path, dir, types, n, ctx, d);
}

int
section_parse_as(const char *path, const char *name, const char *dir,
    const struct section_type *types, size_t n, void *ctx, struct diag *d)
{
	static const struct inifile_handler handler = {
		.section = begin,
		.key = key,
		.end = end,
	};
	struct section_reader r = {
		.file = name,
		.dir = dir,
		.types = types,
		.ntypes = n,
		.ctx = ctx,
		.diag = d,
	};

	inifile_parse_as(path, name, d, &handler, &r);
	return r.sections;
}
