/*
 * native.c - reading and writing the gateway's own JSON (DESIGN §4.1)
 * once, for every native driver.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "datetime.h"
#include "native.h"
#include "util.h"

json_t *
native_load(const void *payload, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr);

	if (root == NULL) {
		snprintf(err, errlen, "malformed json: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, errlen, "payload is not a json object");
		return NULL;
	}
	return root;
}

enum driver_decode
native_bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return DRIVER_BAD;
}

int
native_id(json_t *obj, char *out, char *err, size_t errlen)
{
	if (native_string(obj, "id", out, REQUEST_ID_MAX, false) == 1)
		return 0;
	out[0] = '\0';
	native_bad(err, errlen, "missing or unreadable 'id'");
	return -1;
}

json_t *
native_request(const void *payload, size_t len, char *request,
    enum driver_decode *rc, char *err, size_t errlen)
{
	json_t *root = native_load(payload, len, err, errlen);

	*rc = root != NULL && native_id(root, request, err, errlen) == 0 ?
	    DRIVER_OK :
	    DRIVER_BAD;
	return root;
}

int
native_required(json_t *obj, const char *key, char *out, size_t max, char *err,
    size_t errlen)
{
	int r = native_string(obj, key, out, max, false);

	if (r == 1)
		return 0;
	out[0] = '\0';
	native_bad(err, errlen, r == 0 ? "missing '%s'" : "bad '%s'", key);
	return -1;
}

int
native_fraction(json_t *obj, const char *key, double *out, char *err,
    size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_number(v)) {
		native_bad(err, errlen, v ? "bad '%s'" : "missing '%s'", key);
		return -1;
	}
	*out = json_number_value(v);
	if (!(*out >= 0 && *out <= 1)) {
		native_bad(err, errlen, "'%s' not within 0..1", key);
		return -1;
	}
	return 0;
}

int
native_ts_snapshot(json_t *obj, int64_t *ts_ms, char *snapshot, char *err,
    size_t errlen)
{
	if (native_ts(obj, ts_ms) < 0) {
		native_bad(err, errlen, "bad 'ts'");
		return -1;
	}
	if (native_string(obj, "snapshot", snapshot, SNAPSHOT_MAX, true) < 0) {
		native_bad(err, errlen, "bad 'snapshot'");
		return -1;
	}
	return 0;
}

int
native_string(json_t *obj, const char *key, char *out, size_t max,
    bool empty_ok)
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

int
native_direction(json_t *obj, enum direction *out)
{
	char dir[4];
	int r = native_string(obj, "direction", dir, sizeof(dir) - 1, false);

	if (r <= 0)
		return r;
	if (strcmp(dir, "in") == 0)
		*out = DIRECTION_IN;
	else if (strcmp(dir, "out") == 0)
		*out = DIRECTION_OUT;
	else
		return -1;
	return 1;
}

int
native_ts(json_t *obj, int64_t *out_ms)
{
	json_t *v = json_object_get(obj, "ts");

	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		/* Epoch milliseconds, as §4.1 says; many devices send
		 * seconds, which would otherwise read as 1970. */
		*out_ms = json_integer_value(v);
		if (*out_ms < 100000000000LL)
			*out_ms *= 1000;
		return 1;
	}
	if (json_is_string(v) &&
	    datetime_parse_rfc3339(json_string_value(v), out_ms) == 0)
		return 1;
	return -1;
}

static const char *const actions[COMMAND_ACTION_MAX] = {
	[COMMAND_OPEN] = "open",
	[COMMAND_DENY] = "deny",
	[COMMAND_HOLD_OPEN] = "hold_open",
	[COMMAND_NORMAL] = "normal",
};

int
native_encode(const struct command *cmd, char *buf, size_t size)
{
	json_t *o;
	size_t n;

	/* A gate or a barrier has no relay to pulse and no charger. */
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
