/*
 * fire_mqtt.c - a fire panel's interface that speaks MQTT (DESIGN §4.1):
 * {"state":"alarm"} or {"state":"normal"} on .../fire/<id>/alarm.  The
 * state now, not an edge: the rules see what changed.  Only configured
 * ids count, and a payload that cannot be read is rejected like any bad
 * input, never taken for an alarm.
 */
#include <stddef.h>
#include <string.h>

#include "driver.h"
#include "native.h"

static enum driver_decode
fire_mqtt_decode(const struct device *dev, const char *subtopic,
    const void *payload, size_t len, struct event *ev, char *err, size_t errlen)
{
	enum driver_decode rc = DRIVER_OK;
	char state[16];
	json_t *root;
	int r;

	(void)dev;
	memset(ev, 0, sizeof(*ev));
	ev->type = EVENT_FIRE;
	if (strcmp(subtopic, "alarm") != 0)
		return DRIVER_IGNORE;
	root = native_load(payload, len, err, errlen);
	if (root == NULL)
		return DRIVER_BAD;
	r = native_string(root, "state", state, sizeof(state) - 1, false);
	if (r == 1 && strcmp(state, "alarm") == 0)
		ev->u.fire.alarm = true;
	else if (r == 1 && strcmp(state, "normal") == 0)
		ev->u.fire.alarm = false;
	else
		rc = native_bad(err, errlen, "%s",
		    r == 0 ? "missing 'state'" :
		             "'state' must be alarm or normal");
	json_decref(root);
	return rc;
}

static const char *const fire_mqtt_subtopics[] = { "alarm", NULL };

static const struct driver_mqtt fire_mqtt_mqtt = {
	.kind = "fire",
	.subtopics = fire_mqtt_subtopics,
	.decode = fire_mqtt_decode,
};

static const struct schema_key fire_mqtt_keys[] = {
	SCHEMA_END,
};

const struct driver fire_mqtt_driver = {
	.name = "fire_mqtt",
	.class = DEVICE_FIRE,
	.keys = fire_mqtt_keys,
	.mqtt = &fire_mqtt_mqtt,
};
