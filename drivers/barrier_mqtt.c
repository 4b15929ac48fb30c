/*
 * barrier_mqtt.c - a parking barrier whose controller takes the native
 * commands of DESIGN §4.1 on .../barrier/<id>/cmd, as a face gate does:
 * open (with the text for its display), deny, hold_open and normal.  It
 * has no loop input the gateway reads, so a grant counts the car.
 */
#include <stddef.h>

#include "driver.h"
#include "native.h"

#define DEFAULT_OPEN_MS 1000

static void
barrier_mqtt_defaults(void *priv)
{
	struct barrier_settings *b = priv;

	b->lane = DIRECTION_BOTH;
	b->open_ms = DEFAULT_OPEN_MS;
	b->loop_input = -1;
}

#define B(member) offsetof(struct barrier_settings, member)

static const struct schema_key barrier_mqtt_keys[] = {
	{ .name = "lane",
	    .type = SCHEMA_ENUM,
	    .offset = B(lane),
	    .choices = driver_direction_choices,
	    .values = driver_direction_values },
	{ .name = "open_ms",
	    .type = SCHEMA_INT,
	    .offset = B(open_ms),
	    .min = 100,
	    .max = 60000 },
	{ .name = "camera", .type = SCHEMA_ID, .offset = B(camera_id) },
	SCHEMA_END,
};

#undef B

static int
barrier_mqtt_encode(const struct device *dev, const struct command *cmd,
    char *buf, size_t size)
{
	(void)dev;
	return native_encode(cmd, buf, size);
}

/* It publishes nothing but its status, which the core reads. */
static const char *const barrier_mqtt_subtopics[] = { NULL };

static const struct driver_mqtt barrier_mqtt_mqtt = {
	.kind = "barrier",
	.subtopics = barrier_mqtt_subtopics,
	.encode = barrier_mqtt_encode,
};

const struct driver barrier_mqtt_driver = {
	.name = "barrier_mqtt",
	.class = DEVICE_BARRIER,
	.priv_size = sizeof(struct barrier_settings),
	.keys = barrier_mqtt_keys,
	.defaults = barrier_mqtt_defaults,
	.link = barrier_link,
	.mqtt = &barrier_mqtt_mqtt,
};
