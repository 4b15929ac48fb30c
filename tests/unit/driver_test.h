/*
 * driver_test.h - for a unit test of one driver: its device made as
 * config.c makes one (settings zeroed, then its defaults), its keys set
 * as config.c sets them, a gateway.ini with its devices loaded by the
 * real config loader, and a check of measurements to a tolerance.
 * Include after cmocka.h.
 */
#ifndef DRIVER_TEST_H
#define DRIVER_TEST_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scratch.h"

#include "config.h"
#include "diag.h"
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

/* The head of a test's gateway.ini, seven lines: the first device's
 * section is on line 8. */
#define TEST_GATEWAY                                                           \
	"[gateway]\nsite = jinding-5\ndata_dir = data\n"                       \
	"access_dir = access.d\n[bus rs485-1]\ntype = tcp\nhost = x\n"

/* text written to name in the scratch directory (scratch.h) and loaded
 * as gatewayd -t loads it: its problems as gatewayd -t prints them, or
 * "" when none (to be freed); *cfgp the config, or NULL. */
static inline char *
test_config_load(const char *name, const char *text, struct config **cfgp)
{
	struct config *c;
	struct diag d;
	char *problems = NULL;
	size_t len;
	FILE *f;

	scratch_write(name, text);
	diag_init(&d);
	c = config_load(name, &d);
	diag_sort(&d);
	f = open_memstream(&problems, &len);
	assert_non_null(f);
	diag_print(f, &d);
	fclose(f);
	diag_free(&d);
	*cfgp = c;
	return problems;
}

#endif
