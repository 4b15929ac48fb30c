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

#include <jansson.h>

#include "datetime.h"
#include "driver.h"
#include "util.h"

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

/* A string member of at most max bytes: 1 found, 0 absent, -1 wrong. */
static int
get_string(json_t *obj, const char *key, char *out, size_t max, bool empty_ok)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return -1;
	len = json_string_length(v);
	if (len > max || (len == 0 && !empty_ok))
		return -1;
	/* These strings reach log lines and screens. */
	if (!str_printable(json_string_value(v), len))
		return -1;
	memcpy(out, json_string_value(v), len);
	out[len] = '\0';
	return 1;
}

static enum driver_decode
bad(char *err, size_t errlen, const char *fmt, const char *what)
{
	snprintf(err, errlen, fmt, what);
	return DRIVER_BAD;
}

static enum driver_decode
face_gate_decode(const struct device *dev, const char *subtopic,
    const void *payload, size_t len, struct event *ev, char *err, size_t errlen)
{
	struct access_request *out = &ev->u.access;
	const char *subject_key;
	json_error_t jerr;
	json_t *root, *v;
	char dir[8];
	enum driver_decode rc = DRIVER_OK;
	int r;

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

	root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "malformed json: %s", jerr.text);
		return DRIVER_BAD;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return bad(err, errlen, "%s", "payload is not a json object");
	}
	/* The id first: with it, anything else wrong still gets an answer. */
	if (get_string(root, "id", out->request, REQUEST_ID_MAX, false) != 1) {
		out->request[0] = '\0';
		rc = bad(err, errlen, "%s", "missing or unreadable 'id'");
		goto done;
	}
	r = get_string(root, subject_key, out->subject, SUBJECT_MAX, false);
	if (r != 1) {
		rc = bad(err, errlen, r == 0 ? "missing '%s'" : "bad '%s'",
		    subject_key);
		goto done;
	}
	if (out->credential == CREDENTIAL_FACE) {
		v = json_object_get(root, "score");
		if (!json_is_number(v)) {
			rc = bad(err, errlen, "%s",
			    v ? "bad 'score'" : "missing 'score'");
			goto done;
		}
		out->score = json_number_value(v);
		if (!(out->score >= 0 && out->score <= 1)) {
			rc = bad(err, errlen, "%s", "'score' not within 0..1");
			goto done;
		}
	}
	r = get_string(root, "direction", dir, sizeof(dir) - 1, false);
	if (r < 0 || (r == 1 && strcmp(dir, "in") && strcmp(dir, "out"))) {
		rc = bad(err, errlen, "%s", "'direction' must be in or out");
		goto done;
	}
	if (r == 1)
		out->direction = dir[0] == 'i' ? DIRECTION_IN : DIRECTION_OUT;
	v = json_object_get(root, "ts");
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		/* Epoch milliseconds, as §4.1 says; many terminals send
		 * seconds, which would otherwise read as 1970. */
		out->ts_ms = json_integer_value(v);
		if (out->ts_ms < 100000000000LL)
			out->ts_ms *= 1000;
	} else if (json_is_string(v)) {
		if (datetime_parse_rfc3339(json_string_value(v), &out->ts_ms) <
		    0) {
			rc = bad(err, errlen, "%s", "bad 'ts'");
			goto done;
		}
	} else if (v != NULL && !json_is_null(v)) {
		rc = bad(err, errlen, "%s", "bad 'ts'");
		goto done;
	}
	if (get_string(root, "snapshot", out->snapshot, SNAPSHOT_MAX, true) <
	    0) {
		rc = bad(err, errlen, "%s", "bad 'snapshot'");
		goto done;
	}
done:
	json_decref(root);
	return rc;
}

static const char *const actions[COMMAND_ACTION_MAX] = {
	[COMMAND_OPEN] = "open",
	[COMMAND_DENY] = "deny",
	[COMMAND_HOLD_OPEN] = "hold_open",
	[COMMAND_NORMAL] = "normal",
};

static int
face_gate_encode(const struct device *dev, const struct command *cmd, char *buf,
    size_t size)
{
	json_t *o;
	size_t n;

	(void)dev;
	/* A terminal has no relay to pulse and no charger. */
	if (cmd->action <= 0 || cmd->action >= COMMAND_ACTION_MAX ||
	    actions[cmd->action] == NULL)
		return 0;
	o = json_object();
	if (o == NULL)
		return -1;
	json_object_set_new(o, "action", json_string(actions[cmd->action]));
	if (cmd->request)
		json_object_set_new(o, "request", json_string(cmd->request));
	if (cmd->reason)
		json_object_set_new(o, "reason", json_string(cmd->reason));
	if (cmd->display)
		json_object_set_new(o, "display", json_string(cmd->display));
	if (cmd->action == COMMAND_OPEN)
		json_object_set_new(o, "open_ms", json_integer(cmd->open_ms));
	n = json_dumpb(o, buf, size, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0 || n >= size)
		return -1;
	return (int)n;
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
