/*
 * driver_test.h - for a unit test of one driver: its device made as
 * config.c makes one (settings zeroed, then its defaults), its keys set
 * as config.c sets them, and a check of measurements to a tolerance.
 * Include after cmocka.h.
 */
#ifndef DRIVER_TEST_H
#define DRIVER_TEST_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "schema.h"

/* This cmocka has no assert_double_equal. */
#define assert_near(a, b, eps)                                                 \
	do {                                                                   \
		double a_ = (a), b_ = (b);                                     \
		if (!(fabs(a_ - b_) <= (eps)))                                 \
			fail_msg("%s is %.9g, not %.9g", #a, a_, b_);          \
	} while (0)

/* dev as a [device id] with driver = name and nothing else. */
static inline const struct driver *
test_device_make(struct device *dev, const char *name, const char *id)
{
	const struct driver *drv = driver_find(name);

	assert_non_null(drv);
	memset(dev, 0, sizeof(*dev));
	dev->id = (char *)id;
	dev->driver = drv;
	dev->priv = calloc(1, drv->priv_size);
	assert_non_null(dev->priv);
	if (drv->defaults)
		drv->defaults(dev->priv);
	return drv;
}

static inline void
test_device_free(struct device *dev)
{
	schema_free(dev->driver->keys, dev->priv);
	free(dev->priv);
}

/* A key of the device's section, set as config.c sets it: 0 or -1 with
 * err (160 bytes). */
static inline int
test_key_set(struct device *dev, const char *key, const char *value, char *err)
{
	const struct schema_key *k = schema_find(dev->driver->keys, key);

	assert_non_null(k);
	return schema_set(k, dev->priv, value, "", err, 160);
}

static inline void
test_key_ok(struct device *dev, const char *key, const char *value)
{
	char err[160];

	if (test_key_set(dev, key, value, err) < 0)
		fail_msg("%s = %s: %s", key, value, err);
}

static inline void
test_key_bad(struct device *dev, const char *key, const char *value,
    const char *want)
{
	char err[160];

	assert_int_equal(test_key_set(dev, key, value, err), -1);
	assert_string_equal(err, want);
}

#endif
