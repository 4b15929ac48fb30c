/*
 * alert.h - the types of alert the gateway raises, and each type's
 * settings as [alert TYPE] in gateway.ini gives them: severity,
 * cool-down and, for camera types, the minimum score.  Every type has a
 * built-in default.  What an alert then sets off (WeChat, incidents) is
 * not here.
 */
#ifndef ALERT_H
#define ALERT_H

#include <stdbool.h>

#include "driver.h"

enum alert_severity {
	ALERT_NONE = 0, /* journaled as evidence, alerts nobody */
	ALERT_MINOR,
	ALERT_MAJOR,
	ALERT_COMPLEX,
	ALERT_URGENT,
};

struct alert_settings {
	int severity;     /* enum alert_severity (an int for the schema) */
	int cooldown_s;   /* a repeat on the same device this soon: held */
	double min_score; /* camera types: events below it are not kept */
	int grace_s;      /* device_offline: offline this long to alert */
};

/* The camera types (camera_types[], first, in their order; "fire" is
 * also the fire panel's), then the others. */
#define ALERT_TYPES (CAMERA_TYPES + 12)

/* The index of type in [0, ALERT_TYPES), or -1 when it is none. */
int alert_type_index(const char *type);
const char *alert_type_name(int index);
/* Is it a camera type (min_score means something)? */
bool alert_type_camera(int index);
/* Its built-in settings. */
void alert_defaults(int index, struct alert_settings *);
/* "minor", ..., "none". */
const char *alert_severity_name(int severity);

/* The severity key's choices, and the value each stores. */
extern const char *const alert_severity_choices[];
extern const int alert_severity_values[];

#endif
