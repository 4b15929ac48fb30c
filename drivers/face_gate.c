/*
 * face_gate.c - a face-recognition terminal with a card reader on a
 * pedestrian gate, speaking the native JSON of DESIGN §4.1: requests on
 * .../face and .../card, commands on .../cmd.  Face images and features
 * never come here: a terminal sends only the id it recognised.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "native.h"

#define DEFAULT_MIN_SCORE 0.80
#define DEFAULT_OPEN_MS   3000

static void
face_gate_defaults(void *priv)
{
	struct gate_settings *g = priv;

	g->direction = DIRECTION_BOTH;
	g->min_score = DEFAULT_MIN_SCORE;
	g->open_ms = DEFAULT_OPEN_MS;
}

#define G(member) offsetof(struct gate_settings, member)

static const struct schema_key face_gate_keys[] = {
	{ .name = "zone", .type = SCHEMA_STRING, .offset = G(zone) },
	{ .name = "direction",
	    .type = SCHEMA_ENUM,
	    .offset = G(direction),
	    .choices = driver_direction_choices,
	    .values = driver_direction_values },
	{ .name = "min_score",
	    .type = SCHEMA_DOUBLE,
	    .offset = G(min_score),
	    .dmin = 0,
	    .dmax = 1 },
	{ .name = "open_ms",
	    .type = SCHEMA_INT,
	    .offset = G(open_ms),
	    .min = 500,
	    .max = 60000 },
	SCHEMA_END,
};

#undef G

static enum driver_decode
face_gate_decode(const struct device *dev, const char *subtopic,
    const void *payload, size_t len, struct event *ev, char *err, size_t errlen)
{
	struct access_request *out = &ev->u.access;
	const char *subject_key;
	json_t *root;
	enum driver_decode rc = DRIVER_OK;

	(void)dev;
	memset(ev, 0, sizeof(*ev));
	ev->type = EVENT_ACCESS;
	out->score = -1;
	if (strcmp(subtopic, "face") == 0) {
		out->credential = CREDENTIAL_FACE;
		subject_key = "person";
	} else if (strcmp(subtopic, "card") == 0) {
		out->credential = CREDENTIAL_CARD;
		subject_key = "card";
	} else {
		return DRIVER_IGNORE;
	}

	/* The id first: with it, anything else wrong still gets an answer. */
	root = native_request(payload, len, out->request, &rc, err, errlen);
	if (rc != DRIVER_OK)
		goto done;
	if (native_required(root, subject_key, out->subject, SUBJECT_MAX, err,
	        errlen) < 0) {
		rc = DRIVER_BAD;
		goto done;
	}
	if (out->credential == CREDENTIAL_FACE) {
		if (native_fraction(root, "score", &out->score, err, errlen) <
		    0) {
			rc = DRIVER_BAD;
			goto done;
		}
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

static int
face_gate_encode(const struct device *dev, const struct command *cmd, char *buf,
    size_t size)
{
	(void)dev;
	return native_encode(cmd, buf, size);
}

static const char *const face_gate_subtopics[] = { "face", "card", NULL };

static const struct driver_mqtt face_gate_mqtt = {
	.kind = "gate",
	.subtopics = face_gate_subtopics,
	.decode = face_gate_decode,
	.encode = face_gate_encode,
};

const struct driver face_gate_driver = {
	.name = "face_gate",
	.class = DEVICE_GATE,
	.priv_size = sizeof(struct gate_settings),
	.keys = face_gate_keys,
	.defaults = face_gate_defaults,
	.mqtt = &face_gate_mqtt,
};
