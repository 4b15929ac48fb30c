/*
 * camera.c - a camera whose own analytics speak the native JSON of
 * DESIGN §4.1: events on .../camera/<id>/event.  It reports what it saw;
 * whether that is kept, alerted or held back by a cool-down is the
 * camera pipeline's business (gateway/camera.c), not the driver's.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "native.h"

static enum driver_decode
camera_decode(const struct device *dev, const char *subtopic,
    const void *payload, size_t len, struct event *ev, char *err, size_t errlen)
{
	struct camera_event *out = &ev->u.camera;
	enum driver_decode rc = DRIVER_OK;
	json_t *root;

	(void)dev;
	memset(ev, 0, sizeof(*ev));
	ev->type = EVENT_CAMERA;
	if (strcmp(subtopic, "event") != 0)
		return DRIVER_IGNORE;
	/* The id first: with it, anything else wrong still gets an answer. */
	root = native_request(payload, len, out->request, &rc, err, errlen);
	if (rc != DRIVER_OK)
		goto done;
	if (native_required(root, "type", out->type, CAMERA_TYPE_MAX, err,
	        errlen) < 0) {
		rc = DRIVER_BAD;
		goto done;
	}
	if (!camera_type_known(out->type)) {
		rc = native_bad(err, errlen,
		    "unknown type '%s' (" CAMERA_TYPES_TEXT ")", out->type);
		goto done;
	}
	if (native_fraction(root, "score", &out->score, err, errlen) < 0) {
		rc = DRIVER_BAD;
		goto done;
	}
	if (native_ts_snapshot(root, &out->ts_ms, out->snapshot, err, errlen) <
	    0)
		rc = DRIVER_BAD;
done:
	json_decref(root);
	return rc;
}

/* None: but a table all the same, so that any key is refused. */
static const struct schema_key camera_keys[] = {
	SCHEMA_END,
};

static const char *const camera_subtopics[] = { "event", NULL };

static const struct driver_mqtt camera_mqtt = {
	.kind = "camera",
	.subtopics = camera_subtopics,
	.decode = camera_decode,
};

const struct driver camera_driver = {
	.name = "camera",
	.class = DEVICE_CAMERA,
	.keys = camera_keys,
	.mqtt = &camera_mqtt,
};
