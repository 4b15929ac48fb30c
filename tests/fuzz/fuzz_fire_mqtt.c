/*
 * fuzz_fire_mqtt.c - a fire panel's {"state":...} on .../fire/<id>/alarm
 * as the fire_mqtt driver decodes it: whatever arrives is an alarm, a
 * normal or rejected, and an alarm only when the payload says so.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_driver.h"

static const struct driver *drv;
static struct device panel;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	drv = fuzz_device(&panel, "fire_mqtt", "fire-net");
	return 0;
}

/* What the payload's "state" says, read another way: 1 alarm, 0
 * normal, -1 neither (or no JSON object at all). */
static int
says(const uint8_t *data, size_t size)
{
	json_t *root =
	    json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	json_t *v =
	    json_is_object(root) ? json_object_get(root, "state") : NULL;
	int r = -1;

	if (json_is_string(v) && strcmp(json_string_value(v), "alarm") == 0 &&
	    json_string_length(v) == 5)
		r = 1;
	else if (json_is_string(v) &&
	    strcmp(json_string_value(v), "normal") == 0 &&
	    json_string_length(v) == 6)
		r = 0;
	json_decref(root);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event ev;
	char err[160];
	enum driver_decode rc;
	int want;

	memset(&ev, 0xaa, sizeof(ev));
	memset(err, 'x', sizeof(err));
	rc = drv->mqtt->decode(&panel, "alarm", data, size, &ev, err,
	    sizeof(err));
	if (ev.type != EVENT_FIRE || (rc != DRIVER_OK && rc != DRIVER_BAD))
		abort();
	want = says(data, size);
	if (rc == DRIVER_BAD) {
		/* Rejected, never taken for an alarm. */
		if (!FUZZ_ENDS(err) || err[0] == '\0' || ev.u.fire.alarm ||
		    want != -1)
			abort();
		return 0;
	}
	if (want < 0 || ev.u.fire.alarm != (want == 1))
		abort();
	/* Another subtopic of the panel's is not read at all. */
	if (drv->mqtt->decode(&panel, "status", data, size, &ev, err,
	        sizeof(err)) != DRIVER_IGNORE)
		abort();
	return 0;
}
