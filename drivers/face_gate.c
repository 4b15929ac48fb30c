/*
 * face_gate.c - a face-recognition terminal with a card reader on a
 * pedestrian gate, speaking the native JSON of DESIGN §4.1: requests on
 * .../face and .../card, commands on .../cmd.  Face images and features
 * never come here: a terminal sends only the id it recognised.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "datetime.h"
#include "driver.h"
#include "util.h"

#define DEFAULT_MIN_SCORE 0.80
#define DEFAULT_OPEN_MS   3000

static int
face_gate_init(struct device *dev)
{
	dev->direction = DIRECTION_BOTH;
	dev->min_score = DEFAULT_MIN_SCORE;
	dev->open_ms = DEFAULT_OPEN_MS;
	return 0;
}

static int
face_gate_set(struct device *dev, const char *key, const char *value, char *err,
    size_t errlen)
{
	char *end;
	double d;
	long l;

	if (strcmp(key, "zone") == 0) {
		free(dev->zone);
		dev->zone = strdup(value);
		return dev->zone ? 0 : -1;
	}
	if (strcmp(key, "direction") == 0) {
		if (strcmp(value, "in") == 0)
			dev->direction = DIRECTION_IN;
		else if (strcmp(value, "out") == 0)
			dev->direction = DIRECTION_OUT;
		else if (strcmp(value, "both") == 0)
			dev->direction = DIRECTION_BOTH;
		else {
			snprintf(err, errlen,
			    "direction must be in, out or both, not '%s'",
			    value);
			return -1;
		}
		return 0;
	}
	if (strcmp(key, "min_score") == 0) {
		errno = 0;
		d = strtod(value, &end);
		if (errno || end == value || *end || d < 0 || d > 1) {
			snprintf(err, errlen,
			    "min_score must be a number from 0 to 1, not '%s'",
			    value);
			return -1;
		}
		dev->min_score = d;
		return 0;
	}
	if (strcmp(key, "open_ms") == 0) {
		errno = 0;
		l = strtol(value, &end, 10);
		if (errno || end == value || *end || l < 500 || l > 60000) {
			snprintf(err, errlen,
			    "open_ms must be 500 to 60000, not '%s'", value);
			return -1;
		}
		dev->open_ms = (int)l;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' for driver face_gate", key);
	return -1;
}

static int
face_gate_check(struct device *dev, char *err, size_t errlen)
{
	(void)dev;
	(void)err;
	(void)errlen;
	return 0;
}

static void
face_gate_free(struct device *dev)
{
	free(dev->zone);
	dev->zone = NULL;
}

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
    const void *payload, size_t len, struct access_request *out, char *err,
    size_t errlen)
{
	const char *subject_key;
	json_error_t jerr;
	json_t *root, *v;
	char dir[8];
	enum driver_decode rc = DRIVER_OK;
	int r;

	(void)dev;
	memset(out, 0, sizeof(*out));
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

static const char *const actions[] = {
	[GATE_OPEN] = "open",
	[GATE_DENY] = "deny",
	[GATE_HOLD_OPEN] = "hold_open",
	[GATE_NORMAL] = "normal",
};

static int
face_gate_encode(const struct device *dev, const struct gate_command *cmd,
    char *buf, size_t size)
{
	json_t *o;
	size_t n;

	(void)dev;
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
	if (cmd->action == GATE_OPEN)
		json_object_set_new(o, "open_ms", json_integer(cmd->open_ms));
	n = json_dumpb(o, buf, size, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (n == 0 || n >= size)
		return -1;
	return (int)n;
}

static const char *const face_gate_subtopics[] = { "face", "card", NULL };

const struct driver face_gate_driver = {
	.name = "face_gate",
	.class = DEVICE_GATE,
	.topic_kind = "gate",
	.subtopics = face_gate_subtopics,
	.init = face_gate_init,
	.set = face_gate_set,
	.check = face_gate_check,
	.free = face_gate_free,
	.decode = face_gate_decode,
	.encode = face_gate_encode,
};
