/*
 * compound.h - a unit test's small compound: gateway.ini and one
 * access.d file written into the scratch directory (scratch.h) and
 * loaded as gatewayd loads them.  Include after scratch.h.
 */
#ifndef COMPOUND_H
#define COMPOUND_H

#include <sys/stat.h>

#include "access.h"
#include "config.h"
#include "diag.h"

/* 0, or -1 with every problem printed. */
static inline int
compound_load(const char *gateway_ini, const char *access_ini,
    struct config **cfg, struct access_tables **tables)
{
	struct diag diag;

	if (mkdir("access.d", 0700) < 0)
		return -1;
	scratch_write("gateway.ini", gateway_ini);
	scratch_write("access.d/compound.ini", access_ini);
	diag_init(&diag);
	*cfg = config_load("gateway.ini", &diag);
	*tables = *cfg ? access_load(*cfg, &diag) : NULL;
	diag_print(stderr, &diag);
	diag_free(&diag);
	return *cfg && *tables ? 0 : -1;
}

#endif
