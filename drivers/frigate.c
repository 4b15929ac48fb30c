/*
 * frigate.c - Frigate, the open-source NVR, and the cameras it watches:
 * its tracked objects on its own topic (frigate/events) become camera
 * events, each Frigate camera a camera named <device>/<camera>.  Which
 * labels matter, and as what, is the installer's map; the rest is
 * ignored.  The driver reads one message at a time and remembers
 * nothing: that a Frigate event (new, updates, end) is one camera event
 * is the camera pipeline's rule (gateway/camera.c), by its id.
 *
 * A message (https://docs.frigate.video/integrations/mqtt/):
 * {"type":"new"|"update"|"end","before":{...},"after":{"id":...,
 * "camera":...,"label":...,"score":...,"top_score":...,
 * "entered_zones":[...],"has_snapshot":...,"start_time":...,...}}.
 * "after" is the object as it is now; "before" is not read.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "driver.h"
#include "native.h"
#include "util.h"

#define DEFAULT_TOPIC    "frigate/events"
#define FRIGATE_MAP_MAX  32
#define FRIGATE_NAME_MAX 32 /* a label or a zone */
#define FRIGATE_URL_MAX  200

/* map = label[@zone]:type, ... */
struct frigate_entry {
	char label[FRIGATE_NAME_MAX + 1];
	char zone[FRIGATE_NAME_MAX + 1]; /* "": any zone, or none */
	char type[CAMERA_TYPE_MAX + 1];
};

struct frigate {
	char topic[128];
	char url[FRIGATE_URL_MAX + 1]; /* "": no snapshot links */
	struct frigate_entry map[FRIGATE_MAP_MAX];
	size_t nmap;
};

static void
frigate_defaults(void *priv)
{
	struct frigate *f = priv;

	str_copy(f->topic, DEFAULT_TOPIC, sizeof(f->topic));
}

static int
set_topic(void *obj, const char *value, char *err, size_t errlen)
{
	struct frigate *f = obj;
	size_t len = strlen(value);

	if (len >= sizeof(f->topic) || strpbrk(value, "+#") != NULL ||
	    !str_printable(value, len) || !utf8_valid(value, len)) {
		snprintf(err, errlen,
		    "bad topic '%s' (an MQTT topic without '+' or '#', at "
		    "most %zu bytes)",
		    value, sizeof(f->topic) - 1);
		return -1;
	}
	memcpy(f->topic, value, len + 1);
	return 0;
}

static int
set_url(void *obj, const char *value, char *err, size_t errlen)
{
	struct frigate *f = obj;
	size_t len = strlen(value);

	if ((strncmp(value, "http://", 7) != 0 &&
	        strncmp(value, "https://", 8) != 0) ||
	    len > FRIGATE_URL_MAX || strpbrk(value, " \"<>\\") != NULL ||
	    !str_printable(value, len)) {
		snprintf(err, errlen,
		    "bad url '%s' (Frigate's address: http://host:5000, at "
		    "most %d bytes)",
		    value, FRIGATE_URL_MAX);
		return -1;
	}
	while (len > 0 && value[len - 1] == '/')
		len--;
	memcpy(f->url, value, len);
	f->url[len] = '\0';
	return 0;
}

/* A label or a zone as the map names it: no separator of the map. */
static bool
map_name(const char *s, size_t len)
{
	return len > 0 && len <= FRIGATE_NAME_MAX && str_printable(s, len) &&
	    memchr(s, ',', len) == NULL && memchr(s, ':', len) == NULL &&
	    memchr(s, '@', len) == NULL;
}

/* s[0..len) without the blanks around it. */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

/* A label or a zone, its blanks trimmed, into out: whether it is one. */
static bool
map_piece(const char *s, size_t len, char *out)
{
	trim(&s, &len);
	if (!map_name(s, len))
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/* One entry, label[@zone]:type, added to the map: 0, or -1 with err. */
static int
map_add(struct frigate *f, const char *s, size_t len, char *err, size_t errlen)
{
	struct frigate_entry e = { 0 };
	const char *colon, *at = NULL, *type = NULL;
	size_t tlen = 0, i;
	bool ok;

	trim(&s, &len);
	colon = memchr(s, ':', len);
	ok = colon != NULL;
	if (ok) {
		at = memchr(s, '@', (size_t)(colon - s));
		ok = at != NULL ? map_piece(s, (size_t)(at - s), e.label) &&
		        map_piece(at + 1, (size_t)(colon - at - 1), e.zone) :
		                  map_piece(s, (size_t)(colon - s), e.label);
		type = colon + 1;
		tlen = len - (size_t)(type - s);
		trim(&type, &tlen);
		ok = ok && tlen > 0;
	}
	if (!ok) {
		snprintf(err, errlen,
		    "bad map entry '%.*s' (label:type or label@zone:type)",
		    (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	if (tlen <= CAMERA_TYPE_MAX)
		memcpy(e.type, type, tlen);
	if (!camera_type_known(e.type)) {
		snprintf(err, errlen,
		    "map entry '%.*s': unknown type '%.*s' (" CAMERA_TYPES_TEXT
		    ")",
		    (int)(len > 64 ? 64 : len), s, (int)(tlen > 32 ? 32 : tlen),
		    type);
		return -1;
	}
	for (i = 0; i < f->nmap; i++) {
		if (strcmp(f->map[i].label, e.label) == 0 &&
		    strcmp(f->map[i].zone, e.zone) == 0) {
			snprintf(err, errlen,
			    "map entry '%.*s': %s%s%s is mapped already",
			    (int)(len > 64 ? 64 : len), s, e.label,
			    e.zone[0] ? "@" : "", e.zone);
			return -1;
		}
	}
	if (f->nmap == FRIGATE_MAP_MAX) {
		snprintf(err, errlen, "more than %d map entries",
		    FRIGATE_MAP_MAX);
		return -1;
	}
	f->map[f->nmap++] = e;
	return 0;
}

/* map = a, b, c: a line too long for one may be split over several. */
static int
set_map(void *obj, const char *value, char *err, size_t errlen)
{
	struct frigate *f = obj;
	const char *p = value, *comma;
	size_t len;

	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (map_add(f, p, len, err, errlen) < 0)
			return -1;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

static const struct schema_key frigate_keys[] = {
	{ .name = "topic", .type = SCHEMA_CUSTOM, .set = set_topic },
	{ .name = "map",
	    .type = SCHEMA_CUSTOM,
	    .set = set_map,
	    .required = true,
	    .repeatable = true },
	{ .name = "url", .type = SCHEMA_CUSTOM, .set = set_url },
	SCHEMA_END,
};

static const char *
frigate_topic(const struct device *dev)
{
	const struct frigate *f = dev->priv;

	return f->topic;
}

/* Is zone among the strings of the array zones? */
static bool
entered(json_t *zones, const char *zone)
{
	size_t i;
	json_t *z;

	json_array_foreach(zones, i, z) if (json_is_string(z) &&
	    strcmp(json_string_value(z), zone) == 0) return true;
	return false;
}

/* The type of the first entry the object fits, or NULL: the map's
 * order decides when a label maps to several types by zone. */
static const char *
map_type(const struct frigate *f, const char *label, json_t *zones)
{
	size_t i;

	for (i = 0; i < f->nmap; i++)
		if (strcmp(f->map[i].label, label) == 0 &&
		    (f->map[i].zone[0] == '\0' ||
		        (zones != NULL && entered(zones, f->map[i].zone))))
			return f->map[i].type;
	return NULL;
}

/* Frigate's ids ("1607123955.475377-mxklsc") go into a URL as they are;
 * an id with anything else gets no link. */
static bool
url_safe(const char *s)
{
	return s[strspn(s,
	           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	           "0123456789.-_")] == '\0';
}

static enum driver_decode
frigate_decode(const struct device *dev, const char *subtopic,
    const void *payload, size_t len, struct event *ev, char *err, size_t errlen)
{
	const struct frigate *f = dev->priv;
	struct camera_event *out = &ev->u.camera;
	enum driver_decode rc = DRIVER_OK;
	json_t *root, *after, *zones, *v;
	char kind[8], label[64 + 1];
	const char *type;
	int r;

	(void)subtopic; /* its one topic */
	memset(ev, 0, sizeof(*ev));
	ev->type = EVENT_CAMERA;
	out->updates = true;
	root = native_load(payload, len, err, errlen);
	if (root == NULL)
		return DRIVER_BAD;
	after = json_object_get(root, "after");
	if (!json_is_object(after)) {
		rc = native_bad(err, errlen, "missing 'after'");
		goto done;
	}
	/* The id first, so that a message wrong in anything else is
	 * still journaled with it. */
	if (native_string(after, "id", out->request, REQUEST_ID_MAX, false) !=
	    1) {
		rc =
		    native_bad(err, errlen, "missing or unreadable 'after.id'");
		goto done;
	}
	r = native_string(root, "type", kind, sizeof(kind) - 1, false);
	if (r != 1 ||
	    (strcmp(kind, "new") && strcmp(kind, "update") &&
	        strcmp(kind, "end"))) {
		rc = native_bad(err, errlen, "%s",
		    r == 0 ? "missing 'type'" :
		             "bad 'type' (new, update or end)");
		goto done;
	}
	r = native_string(after, "camera", out->camera, CAMERA_NAME_MAX, false);
	/* The camera is part of a device's name: <device>/<camera>. */
	if (r != 1 || strchr(out->camera, '/') != NULL) {
		rc = native_bad(err, errlen, "%s",
		    r == 0 ? "missing 'after.camera'" : "bad 'after.camera'");
		goto done;
	}
	r = native_string(after, "label", label, sizeof(label) - 1, false);
	if (r < 0) {
		rc = native_bad(err, errlen, "bad 'after.label'");
		goto done;
	}
	if (r == 0) {
		rc = native_bad(err, errlen, "missing 'after.label'");
		goto done;
	}
	zones = json_object_get(after, "entered_zones");
	if (zones != NULL && !json_is_null(zones) && !json_is_array(zones)) {
		rc = native_bad(err, errlen, "bad 'after.entered_zones'");
		goto done;
	}
	/* What Frigate itself has ruled out is nothing. */
	if (json_is_true(json_object_get(after, "false_positive"))) {
		rc = DRIVER_IGNORE;
		goto done;
	}
	/* A label we do not map, or not in its zone yet: nothing, whatever
	 * else is in the message. */
	type = map_type(f, label, zones);
	if (type == NULL) {
		rc = DRIVER_IGNORE;
		goto done;
	}
	str_copy(out->type, type, sizeof(out->type));
	/* Score: the best the object ever had, as Frigate's own
	 * thresholds judge it; an older Frigate sends only the latest. */
	v = json_object_get(after, "top_score");
	if (!json_is_number(v))
		v = json_object_get(after, "score");
	if (!json_is_number(v)) {
		rc = native_bad(err, errlen,
		    "missing 'after.top_score' and 'after.score'");
		goto done;
	}
	out->score = json_number_value(v);
	if (!(out->score >= 0 && out->score <= 1)) {
		rc = native_bad(err, errlen, "score not within 0..1");
		goto done;
	}
	v = json_object_get(after, "start_time");
	if (json_is_number(v) && json_number_value(v) > 0 &&
	    json_number_value(v) < 1e11)
		out->ts_ms = (int64_t)(json_number_value(v) * 1000);
	if (f->url[0] && json_is_true(json_object_get(after, "has_snapshot")) &&
	    url_safe(out->request))
		snprintf(out->snapshot, sizeof(out->snapshot),
		    "%s/api/events/%s/snapshot.jpg", f->url, out->request);
done:
	json_decref(root);
	return rc;
}

static const char *const frigate_subtopics[] = { NULL };

static const struct driver_mqtt frigate_mqtt = {
	.kind = "frigate",
	.subtopics = frigate_subtopics,
	.topic = frigate_topic,
	.decode = frigate_decode,
};

const struct driver frigate_driver = {
	.name = "frigate",
	.class = DEVICE_CAMERA,
	.priv_size = sizeof(struct frigate),
	.keys = frigate_keys,
	.defaults = frigate_defaults,
	.mqtt = &frigate_mqtt,
};
