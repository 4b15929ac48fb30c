/*
 * fuzz_driver.h - what a libFuzzer target of one driver stands on: its
 * device made and its keys set as config.c does, and the check that a
 * string the driver filled in ends within its array.  What is wrong
 * abort()s, which is how a target tells libFuzzer.
 */
#ifndef FUZZ_DRIVER_H
#define FUZZ_DRIVER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "schema.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The array a holds a string: a NUL within it. */
#define FUZZ_ENDS(a) (memchr((a), '\0', sizeof(a)) != NULL)

/* dev as [device id] with driver = name: settings zeroed, then the
 * driver's defaults.  Its driver. */
static inline const struct driver *
fuzz_device(struct device *dev, const char *name, const char *id)
{
	const struct driver *drv = driver_find(name);

	if (drv == NULL)
		abort();
	memset(dev, 0, sizeof(*dev));
	dev->id = (char *)id;
	dev->driver = drv;
	dev->priv = calloc(1, drv->priv_size > 0 ? drv->priv_size : 1);
	if (dev->priv == NULL)
		abort();
	if (drv->defaults)
		drv->defaults(dev->priv);
	return drv;
}

/* A key of dev's section set as config.c sets it: 0, or -1 with a
 * reason that is a string, and not "". */
static inline int
fuzz_key(struct device *dev, const char *key, const char *value)
{
	const struct schema_key *k = schema_find(dev->driver->keys, key);
	char err[256];

	if (k == NULL)
		abort();
	if (schema_set(k, dev->priv, value, "", err, sizeof(err)) == 0)
		return 0;
	if (!FUZZ_ENDS(err) || err[0] == '\0')
		abort();
	return -1;
}

/* A camera event's strings, whatever the driver made of the input. */
static inline void
fuzz_camera_event_ends(const struct camera_event *e)
{
	if (!FUZZ_ENDS(e->request) || !FUZZ_ENDS(e->type) ||
	    !FUZZ_ENDS(e->camera) || !FUZZ_ENDS(e->snapshot))
		abort();
}

#endif
