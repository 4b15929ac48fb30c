/*
 * schema.h - the keys of an INI section as a table: name, type, range and
 * where the value goes.  gateway.ini's sections and every driver's own
 * keys are read through it, so a bad value is reported the same way
 * everywhere ("bad open_ms '10' (an integer from 500 to 60000)").
 */
#ifndef SCHEMA_H
#define SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

enum schema_type {
	SCHEMA_STRING = 1, /* char *, strdup'ed; the old value freed */
	SCHEMA_INT,        /* int, within [min, max] */
	SCHEMA_SIZE,       /* size_t, within [min, max] */
	SCHEMA_DOUBLE,     /* double, within [dmin, dmax] */
	SCHEMA_BOOL,       /* bool: yes or no */
	SCHEMA_ENUM,       /* int: values[i] (or i) for choices[i] */
	SCHEMA_ID,         /* char *: [a-z0-9_-]{1,32}, as device ids */
	SCHEMA_PATH,       /* char *: relative to gateway.ini's directory */
	SCHEMA_CUSTOM,     /* set() decides */
	SCHEMA_HANDLER,    /* handle() decides, and reports what it finds */
};

struct schema_key {
	const char *name;
	enum schema_type type;
	size_t offset; /* of the member in the struct being filled */
	long min, max;
	double dmin, dmax;
	const char *const *choices; /* SCHEMA_ENUM, NULL-terminated */
	/* SCHEMA_ENUM: what each choice stores, when that is not its index
	 * (an enum that starts at 1, as enum direction does).  Optional. */
	const int *values;
	/*
	 * SCHEMA_CUSTOM: store value into obj (the struct being filled).
	 * 0, or -1 with err saying what is wrong with it.
	 */
	int (*set)(void *obj, const char *value, char *err, size_t errlen);
	/*
	 * SCHEMA_HANDLER: for values that need more than the object (the
	 * loader's tables, other sections), and may hold several problems
	 * (a list of gates).  ctx is the reader's (section.h); problems go
	 * to its diag with the line given.  Called by section.c only.
	 */
	void (*handle)(void *ctx, void *obj, const struct schema_key *,
	    int line, const char *value);
	bool required;   /* "missing key 'x' in [section]" when absent */
	bool repeatable; /* may be written again, its values adding up */
};

/* The end of a key table. */
#define SCHEMA_END                                                             \
	{                                                                      \
		.name = NULL                                                   \
	}

/* The key called name in keys, or NULL. */
const struct schema_key *schema_find(const struct schema_key *keys,
    const char *name);

/*
 * Parse value for key into obj.  dir resolves SCHEMA_PATH values.
 * 0, or -1 with err ("bad min_score '2' (a number from 0 to 1)").
 */
int schema_set(const struct schema_key *key, void *obj, const char *value,
    const char *dir, char *err, size_t errlen);

/* Free the strings keys put into obj (SCHEMA_STRING, _ID, _PATH). */
void schema_free(const struct schema_key *keys, void *obj);

#endif
