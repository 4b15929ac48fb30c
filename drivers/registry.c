/*
 * registry.c - every driver the gateway knows, looked up by the name an
 * installer writes in "driver = ...".  Adding a vendor adds a line here.
 */
#include <string.h>

#include "driver.h"

extern const struct driver barrier_mqtt_driver;
extern const struct driver barrier_relay_driver;
extern const struct driver camera_driver;
extern const struct driver charger_driver;
extern const struct driver face_gate_driver;
extern const struct driver fire_input_driver;
extern const struct driver fire_mqtt_driver;
extern const struct driver frigate_driver;
extern const struct driver lpr_driver;
extern const struct driver sdm_meter_driver;

static const struct driver *const drivers[] = {
	&face_gate_driver,
	&lpr_driver,
	&barrier_relay_driver,
	&barrier_mqtt_driver,
	&charger_driver,
	&sdm_meter_driver,
	&fire_input_driver,
	&fire_mqtt_driver,
	&camera_driver,
	&frigate_driver,
};

const char *const camera_types[CAMERA_TYPES] = { "falling_object",
	"ebike_in_elevator", "ebike_in_corridor", "intrusion", "smoke", "fire",
	"crowd" };

const char *const driver_direction_choices[] = { "in", "out", "both", NULL };
const int driver_direction_values[] = { DIRECTION_IN, DIRECTION_OUT,
	DIRECTION_BOTH };
/* The schema stores an enum key through an int. */
_Static_assert(sizeof(enum direction) == sizeof(int), "enum direction");

const struct driver *
driver_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	return NULL;
}

bool
camera_type_known(const char *type)
{
	size_t i;

	for (i = 0; i < CAMERA_TYPES; i++)
		if (strcmp(camera_types[i], type) == 0)
			return true;
	return false;
}

const struct driver *
driver_find_kind(const char *kind)
{
	size_t i;

	for (i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (drivers[i]->mqtt != NULL &&
		    strcmp(drivers[i]->mqtt->kind, kind) == 0)
			return drivers[i];
	return NULL;
}
