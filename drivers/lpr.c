/*
 * lpr.c - a licence-plate camera speaking the native JSON of DESIGN §4.1:
 * reads on .../lpr/<id>/plate.  The plate is passed on as read; the rules
 * normalise it, so "吉a 12345" and "吉A·12345" are one plate there.  Its
 * reads open the barrier that names it (camera = <id>).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "native.h"

#define DEFAULT_MIN_CONFIDENCE 0.80

static void
lpr_defaults(void *priv)
{
	struct lpr_settings *l = priv;

	l->min_confidence = DEFAULT_MIN_CONFIDENCE;
}

static const struct schema_key lpr_keys[] = {
	{ .name = "min_confidence",
	    .type = SCHEMA_DOUBLE,
	    .offset = offsetof(struct lpr_settings, min_confidence),
	    .dmin = 0,
	    .dmax = 1 },
	SCHEMA_END,
};

static enum driver_decode
lpr_decode(const struct device *dev, const char *subtopic, const void *payload,
    size_t len, struct event *ev, char *err, size_t errlen)
{
	struct plate_read *out = &ev->u.plate;
	enum driver_decode rc = DRIVER_OK;
	json_t *root, *v;

	(void)dev;
	memset(ev, 0, sizeof(*ev));
	ev->type = EVENT_PLATE;
	if (strcmp(subtopic, "plate") != 0)
		return DRIVER_IGNORE;
	/* The id first: with it, anything else wrong still gets an answer. */
	root = native_request(payload, len, out->request, &rc, err, errlen);
	if (rc != DRIVER_OK)
		goto done;
	if (native_required(root, "plate", out->plate, PLATE_TEXT_MAX, err,
	        errlen) < 0) {
		rc = DRIVER_BAD;
		goto done;
	}
	if (native_string(root, "color", out->color, sizeof(out->color) - 1,
	        true) < 0) {
		rc = native_bad(err, errlen, "bad 'color'");
		goto done;
	}
	/* Without a confidence the camera vouches for its read. */
	out->confidence = 1;
	v = json_object_get(root, "confidence");
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_number(v) ||
		    !(json_number_value(v) >= 0 && json_number_value(v) <= 1)) {
			rc = native_bad(err, errlen,
			    "'confidence' not within 0..1");
			goto done;
		}
		out->confidence = json_number_value(v);
	}
	if (native_direction(root, &out->direction) < 0) {
		rc = native_bad(err, errlen, "'direction' must be in or out");
		goto done;
	}
	if (native_ts_snapshot(root, &out->ts_ms, out->snapshot, err, errlen) <
	    0)
		rc = DRIVER_BAD;
done:
	json_decref(root);
	return rc;
}

static const char *const lpr_subtopics[] = { "plate", NULL };

static const struct driver_mqtt lpr_mqtt = {
	.kind = "lpr",
	.subtopics = lpr_subtopics,
	.decode = lpr_decode,
};

const struct driver lpr_driver = {
	.name = "lpr",
	.class = DEVICE_LPR,
	.priv_size = sizeof(struct lpr_settings),
	.keys = lpr_keys,
	.defaults = lpr_defaults,
	.mqtt = &lpr_mqtt,
};
