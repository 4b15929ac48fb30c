/*
 * alert.c - the alert types and their built-in settings: urgent where a
 * life may be at stake at once (a falling object, fire, smoke, a full
 * journal that can no longer record), major where someone must go and
 * look, minor where it can wait for the next round.
 */
#include <string.h>

#include "alert.h"

#define COOLDOWN_S      300
#define MIN_SCORE       0.5
#define OFFLINE_GRACE_S 120 /* a reboot is back well within it */

static const struct {
	const char *name;
	enum alert_severity severity;
	int cooldown_s;
} others[ALERT_TYPES - CAMERA_TYPES] = {
	{ "vehicle_unknown", ALERT_MINOR, COOLDOWN_S },
	{ "vehicle_denied", ALERT_MAJOR, COOLDOWN_S },
	{ "tailgating", ALERT_MAJOR, COOLDOWN_S },
	{ "overstay", ALERT_MINOR, COOLDOWN_S },
	{ "charger_fault", ALERT_MAJOR, COOLDOWN_S },
	{ "over_temperature", ALERT_MAJOR, COOLDOWN_S },
	{ "over_current", ALERT_MAJOR, COOLDOWN_S },
	{ "device_offline", ALERT_MAJOR, COOLDOWN_S },
	{ "reload_failed", ALERT_MINOR, COOLDOWN_S },
	{ "delivery_failed", ALERT_MINOR, COOLDOWN_S },
	{ "journal_full", ALERT_URGENT, COOLDOWN_S },
	/* Anyone on the network can open gates: someone must close it. */
	{ "broker_open", ALERT_MAJOR, COOLDOWN_S },
};

/* Camera types whose default is not major every five minutes. */
static const struct {
	const char *name;
	enum alert_severity severity;
	int cooldown_s;
} camera_defaults[] = {
	/* Each throw is its own danger: a short cool-down. */
	{ "falling_object", ALERT_URGENT, 60 },
	{ "fire", ALERT_URGENT, COOLDOWN_S },
	{ "smoke", ALERT_URGENT, COOLDOWN_S },
	{ "crowd", ALERT_MINOR, COOLDOWN_S },
};

const char *const alert_severity_choices[] = { "minor", "major", "complex",
	"urgent", "none", NULL };
const int alert_severity_values[] = { ALERT_MINOR, ALERT_MAJOR, ALERT_COMPLEX,
	ALERT_URGENT, ALERT_NONE };

/*
 * "fire" is a camera type and the fire panel's alarm: one [alert fire],
 * among the camera types (its min_score judges cameras only).
 */
int
alert_type_index(const char *type)
{
	size_t i;

	for (i = 0; i < CAMERA_TYPES; i++)
		if (strcmp(camera_types[i], type) == 0)
			return (int)i;
	for (i = 0; i < ALERT_TYPES - CAMERA_TYPES; i++)
		if (strcmp(others[i].name, type) == 0)
			return (int)(CAMERA_TYPES + i);
	return -1;
}

const char *
alert_type_name(int index)
{
	if (index < 0 || index >= ALERT_TYPES)
		return NULL;
	return index < CAMERA_TYPES ? camera_types[index] :
	                              others[index - CAMERA_TYPES].name;
}

bool
alert_type_camera(int index)
{
	return index >= 0 && index < CAMERA_TYPES;
}

void
alert_defaults(int index, struct alert_settings *a)
{
	size_t i;

	a->severity = ALERT_MAJOR;
	a->cooldown_s = COOLDOWN_S;
	a->min_score = 0;
	a->grace_s = OFFLINE_GRACE_S;
	if (index >= CAMERA_TYPES && index < ALERT_TYPES) {
		a->severity = (int)others[index - CAMERA_TYPES].severity;
		a->cooldown_s = others[index - CAMERA_TYPES].cooldown_s;
		return;
	}
	a->min_score = MIN_SCORE;
	for (i = 0; i < sizeof(camera_defaults) / sizeof(camera_defaults[0]);
	     i++) {
		if (strcmp(camera_defaults[i].name, camera_types[index]) == 0) {
			a->severity = (int)camera_defaults[i].severity;
			a->cooldown_s = camera_defaults[i].cooldown_s;
		}
	}
}

const char *
alert_severity_name(int severity)
{
	static const char *const names[] = {
		[ALERT_NONE] = "none",
		[ALERT_MINOR] = "minor",
		[ALERT_MAJOR] = "major",
		[ALERT_COMPLEX] = "complex",
		[ALERT_URGENT] = "urgent",
	};

	return severity >= 0 && severity <= ALERT_URGENT ? names[severity] :
	                                                   "none";
}
