/*
 * schema.c - one key of an INI section parsed by its table entry: the
 * range checks and the wording of a bad value live here, once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "schema.h"
#include "util.h"

#define ID_MAX 32

const struct schema_key *
schema_find(const struct schema_key *keys, const char *name)
{
	for (; keys != NULL && keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

static void *
member(void *obj, const struct schema_key *k)
{
	return (char *)obj + k->offset;
}

static void
set_string(void *obj, const struct schema_key *k, char *s)
{
	char **dst = member(obj, k);

	if (s == NULL)
		diag_oom();
	free(*dst);
	*dst = s;
}

static int
bad(const struct schema_key *k, const char *value, char *err, size_t errlen,
    const char *want)
{
	snprintf(err, errlen, "bad %s '%s' (%s)", k->name, value, want);
	return -1;
}

static int
set_long(const struct schema_key *k, const char *value, long *out, char *err,
    size_t errlen)
{
	char want[64];

	if (parse_long(value, k->min, k->max, out) < 0) {
		snprintf(want, sizeof(want), "an integer from %ld to %ld",
		    k->min, k->max);
		return bad(k, value, err, errlen, want);
	}
	return 0;
}

static int
set_double(const struct schema_key *k, const char *value, double *out,
    char *err, size_t errlen)
{
	char want[64];

	if (parse_double(value, k->dmin, k->dmax, out) < 0) {
		snprintf(want, sizeof(want), "a number from %g to %g", k->dmin,
		    k->dmax);
		return bad(k, value, err, errlen, want);
	}
	return 0;
}

static int
set_enum(const struct schema_key *k, const char *value, int *out, char *err,
    size_t errlen)
{
	char want[128];
	size_t n, used = 0;
	int i;

	for (i = 0; k->choices[i] != NULL; i++) {
		if (strcmp(k->choices[i], value) == 0) {
			*out = k->values != NULL ? k->values[i] : i;
			return 0;
		}
	}
	/* "in, out or both" */
	want[0] = '\0';
	for (i = 0; k->choices[i] != NULL && used < sizeof(want); i++) {
		n = (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
		    i == 0                        ? "" :
		        k->choices[i + 1] == NULL ? " or " :
		                                    ", ",
		    k->choices[i]);
		used += n;
	}
	return bad(k, value, err, errlen, want);
}

/* [a-z0-9_-]{1,32}: safe in topics and file names. */
static bool
valid_id(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-");

	return n > 0 && n <= ID_MAX && s[n] == '\0';
}

static char *
resolve(const char *dir, const char *path)
{
	size_t n = dir ? strlen(dir) : 0;
	char *s;

	if (path[0] == '/' || n == 0)
		return strdup(path);
	if (asprintf(&s, "%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", path) < 0)
		return NULL;
	return s;
}

int
schema_set(const struct schema_key *k, void *obj, const char *value,
    const char *dir, char *err, size_t errlen)
{
	long l;
	double d;
	int e;

	err[0] = '\0';
	switch (k->type) {
	case SCHEMA_STRING:
		set_string(obj, k, strdup(value));
		return 0;
	case SCHEMA_ID:
		if (!valid_id(value))
			return bad(k, value, err, errlen,
			    "a-z, 0-9, '_' and '-', at most 32");
		set_string(obj, k, strdup(value));
		return 0;
	case SCHEMA_PATH:
		set_string(obj, k, resolve(dir, value));
		return 0;
	case SCHEMA_INT:
		if (set_long(k, value, &l, err, errlen) < 0)
			return -1;
		*(int *)member(obj, k) = (int)l;
		return 0;
	case SCHEMA_SIZE:
		if (set_long(k, value, &l, err, errlen) < 0)
			return -1;
		*(size_t *)member(obj, k) = (size_t)l;
		return 0;
	case SCHEMA_DOUBLE:
		if (set_double(k, value, &d, err, errlen) < 0)
			return -1;
		*(double *)member(obj, k) = d;
		return 0;
	case SCHEMA_BOOL:
		if (strcmp(value, "yes") == 0)
			*(bool *)member(obj, k) = true;
		else if (strcmp(value, "no") == 0)
			*(bool *)member(obj, k) = false;
		else
			return bad(k, value, err, errlen, "yes or no");
		return 0;
	case SCHEMA_ENUM:
		if (set_enum(k, value, &e, err, errlen) < 0)
			return -1;
		*(int *)member(obj, k) = e;
		return 0;
	case SCHEMA_HANDLER:
		break; /* section.c calls handle() with its context */
	case SCHEMA_CUSTOM:
		if (k->set(obj, value, err, errlen) < 0) {
			if (err[0] == '\0')
				bad(k, value, err, errlen, "not understood");
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "key '%s' has no type", k->name);
	return -1;
}

void
schema_free(const struct schema_key *keys, void *obj)
{
	char **s;

	if (obj == NULL)
		return;
	for (; keys != NULL && keys->name != NULL; keys++) {
		if (keys->type != SCHEMA_STRING && keys->type != SCHEMA_ID &&
		    keys->type != SCHEMA_PATH)
			continue;
		s = member(obj, keys);
		free(*s);
		*s = NULL;
	}
}
