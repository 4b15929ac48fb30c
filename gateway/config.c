/*
 * config.c - gateway.ini, the installation: [gateway], [mqtt], [privacy],
 * [parking], [broker], [alert TYPE], one [bus NAME] per Modbus bus and one
 * [device ID] per device, read through section.c.  Every section's keys are a
 * schema table (schema.h), a device's are its driver's; every problem is
 * reported with file:line and parsing goes on.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "config_int.h"
#include "driver.h"
#include "schema.h"
#include "secret.h"
#include "section.h"
#include "util.h"

#define ZONEINFO "/usr/share/zoneinfo"

static int set_timezone(void *obj, const char *value, char *err, size_t errlen);
static int set_topic_prefix(void *obj, const char *value, char *err,
    size_t errlen);
static void set_password_file(void *ctx, void *obj, const struct schema_key *k,
    int line, const char *value);

#define C(member) offsetof(struct config, member)

static const char *const sync_choices[] = { "normal", "full", NULL };
static const char *const check_ts_choices[] = { "auto", "yes", "no", NULL };

static const struct schema_key gateway_keys[] = {
	{ .name = "site",
	    .type = SCHEMA_ID,
	    .offset = C(site),
	    .required = true },
	{ .name = "name", .type = SCHEMA_STRING, .offset = C(name) },
	{ .name = "timezone", .type = SCHEMA_CUSTOM, .set = set_timezone },
	{ .name = "data_dir",
	    .type = SCHEMA_PATH,
	    .offset = C(data_dir),
	    .required = true },
	{ .name = "access_dir",
	    .type = SCHEMA_PATH,
	    .offset = C(access_dir),
	    .required = true },
	{ .name = "sync",
	    .type = SCHEMA_ENUM,
	    .offset = C(sync),
	    .choices = sync_choices },
	{ .name = "check_ts",
	    .type = SCHEMA_ENUM,
	    .offset = C(check_ts),
	    .choices = check_ts_choices },
	{ .name = "stale_s",
	    .type = SCHEMA_INT,
	    .offset = C(stale_s),
	    .min = 1,
	    .max = 3600 },
	SCHEMA_END,
};

static const struct schema_key mqtt_keys[] = {
	{ .name = "host", .type = SCHEMA_STRING, .offset = C(mqtt_host) },
	{ .name = "port",
	    .type = SCHEMA_INT,
	    .offset = C(mqtt_port),
	    .min = 1,
	    .max = 65535 },
	{ .name = "client_id",
	    .type = SCHEMA_STRING,
	    .offset = C(mqtt_client_id) },
	{ .name = "username",
	    .type = SCHEMA_STRING,
	    .offset = C(mqtt_username) },
	{ .name = "password_file",
	    .type = SCHEMA_HANDLER,
	    .handle = set_password_file },
	{ .name = "topic_prefix",
	    .type = SCHEMA_CUSTOM,
	    .set = set_topic_prefix },
	{ .name = "keepalive",
	    .type = SCHEMA_INT,
	    .offset = C(mqtt_keepalive),
	    .min = 5,
	    .max = 3600 },
	{ .name = "max_payload",
	    .type = SCHEMA_SIZE,
	    .offset = C(max_payload),
	    .min = 256,
	    .max = 1048576 },
	SCHEMA_END,
};

static const struct schema_key privacy_keys[] = {
	{ .name = "keep_snapshots",
	    .type = SCHEMA_BOOL,
	    .offset = C(keep_snapshots) },
	SCHEMA_END,
};

static const struct schema_key parking_keys[] = {
	{ .name = "capacity",
	    .type = SCHEMA_INT,
	    .offset = C(parking_capacity),
	    .min = 1,
	    .max = 100000 },
	{ .name = "visitor_max_hours",
	    .type = SCHEMA_INT,
	    .offset = C(visitor_max_hours),
	    .min = 1,
	    .max = 24 * 366 },
	{ .name = "repeat_s",
	    .type = SCHEMA_INT,
	    .offset = C(repeat_s),
	    .min = 1,
	    .max = 3600 },
	SCHEMA_END,
};

#undef C

/* ---- [alert TYPE] ---- */

#define A(member) offsetof(struct alert_settings, member)

static const struct schema_key alert_keys[] = {
	{ .name = "severity",
	    .type = SCHEMA_ENUM,
	    .offset = A(severity),
	    .choices = alert_severity_choices,
	    .values = alert_severity_values },
	{ .name = "cooldown_s",
	    .type = SCHEMA_INT,
	    .offset = A(cooldown_s),
	    .min = 0,
	    .max = 86400 },
	{ .name = "min_score",
	    .type = SCHEMA_DOUBLE,
	    .offset = A(min_score),
	    .dmin = 0,
	    .dmax = 1 },
	{ .name = "grace_s",
	    .type = SCHEMA_INT,
	    .offset = A(grace_s),
	    .min = 1,
	    .max = 86400 },
	SCHEMA_END,
};

#undef A

/* ---- [bus NAME] ---- */

#define B(member) offsetof(struct bus_config, member)

static const char *const bus_type_choices[] = { "rtu", "tcp", NULL };
static const int bus_type_values[] = { BUS_RTU, BUS_TCP };
static const char *const parity_choices[] = { "none", "even", "odd", "N", "E",
	"O", NULL };
static const int parity_values[] = { 'N', 'E', 'O', 'N', 'E', 'O' };

static const struct schema_key bus_keys[] = {
	{ .name = "type",
	    .type = SCHEMA_ENUM,
	    .offset = B(type),
	    .choices = bus_type_choices,
	    .values = bus_type_values,
	    .required = true },
	/* A device path for rtu, a TCP port for tcp: read at the end. */
	{ .name = "port", .type = SCHEMA_STRING, .offset = B(port) },
	{ .name = "host", .type = SCHEMA_STRING, .offset = B(host) },
	{ .name = "baud",
	    .type = SCHEMA_INT,
	    .offset = B(baud),
	    .min = 1200,
	    .max = 921600 },
	{ .name = "parity",
	    .type = SCHEMA_ENUM,
	    .offset = B(parity),
	    .choices = parity_choices,
	    .values = parity_values },
	{ .name = "data_bits",
	    .type = SCHEMA_INT,
	    .offset = B(data_bits),
	    .min = 7,
	    .max = 8 },
	{ .name = "stop_bits",
	    .type = SCHEMA_INT,
	    .offset = B(stop_bits),
	    .min = 1,
	    .max = 2 },
	{ .name = "timeout_ms",
	    .type = SCHEMA_INT,
	    .offset = B(timeout_ms),
	    .min = 20,
	    .max = 10000 },
	{ .name = "poll_ms",
	    .type = SCHEMA_INT,
	    .offset = B(poll_ms),
	    .min = 50,
	    .max = 3600000 },
	{ .name = "gap_ms",
	    .type = SCHEMA_INT,
	    .offset = B(gap_ms),
	    .min = 0,
	    .max = 1000 },
	SCHEMA_END,
};

#undef B

static bool
timezone_exists(const char *tz)
{
	struct stat st;
	char path[512];

	if (tz[0] == '/' || tz[0] == '\0' || strstr(tz, "..") != NULL)
		return false;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ZONEINFO, tz) >=
	    sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int
set_timezone(void *obj, const char *value, char *err, size_t errlen)
{
	struct config *c = obj;

	if (!timezone_exists(value)) {
		snprintf(err, errlen,
		    "unknown timezone '%s' (not in " ZONEINFO ")", value);
		return -1;
	}
	free(c->timezone);
	c->timezone = diag_strdup(value);
	return 0;
}

static int
set_topic_prefix(void *obj, const char *value, char *err, size_t errlen)
{
	struct config *c = obj;

	if (strpbrk(value, "+#") != NULL || value[strlen(value) - 1] == '/') {
		snprintf(err, errlen,
		    "bad topic_prefix '%s' (no '+' or '#', no '/' at the end)",
		    value);
		return -1;
	}
	free(c->topic_prefix);
	c->topic_prefix = diag_strdup(value);
	return 0;
}

/*
 * A secret (a password, a token, a key) is read now, from a file others
 * cannot read; no message here or anywhere else may contain it.  The
 * file's path into *path, its line into *out.
 */
void
config_secret(struct parse *p, int line, const char *key, const char *value,
    char **path, char **out)
{
	const struct schema_key path_key = { .name = key,
		.type = SCHEMA_PATH,
		.offset = 0 };
	char err[512];

	if (schema_set(&path_key, path, value, p->dir, err, sizeof(err)) < 0) {
		diag_add(p->diag, p->cfg->path, line, "%s", err);
		return;
	}
	secret_free(*out);
	*out = NULL;
	if (p->no_secrets)
		return;
	if (secret_read(*path, out, err, sizeof(err)) < 0)
		diag_add(p->diag, p->cfg->path, line, "%s %s", key, err);
}

static void
set_password_file(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value)
{
	struct parse *p = ctx;
	struct config *c = obj;

	(void)k;
	p->password_line = line;
	config_secret(p, line, "password_file", value, &c->mqtt_password_file,
	    &c->mqtt_password);
}

/* [gateway], [mqtt], [privacy]: their keys fill the config itself. */
static void *
settings_begin(struct section_reader *r, int line, const char *name)
{
	struct parse *p = section_ctx(r);

	(void)name;
	if (p->gateway_line == 0 && strcmp(section_text(r), "[gateway]") == 0)
		p->gateway_line = line;
	return p->cfg;
}

/* [alert TYPE]: its keys fill that type's settings. */
static void *
alert_begin(struct section_reader *r, int line, const char *type)
{
	struct parse *p = section_ctx(r);
	int i = alert_type_index(type);
	char types[512];
	size_t used = 0;

	if (i < 0) {
		for (i = 0; i < ALERT_TYPES && used < sizeof(types); i++)
			used += (size_t)snprintf(types + used,
			    sizeof(types) - used, "%s%s",
			    i == 0                   ? "" :
			        i == ALERT_TYPES - 1 ? " or " :
			                               ", ",
			    alert_type_name(i));
		section_error(r, line, "unknown alert type '%s' (%s)", type,
		    types);
		return NULL;
	}
	if (p->alert_line[i] != 0) {
		section_error(r, line,
		    "duplicate section [alert %s] (first at %s:%d)", type,
		    section_file(r), p->alert_line[i]);
		return NULL;
	}
	p->alert_line[i] = line;
	return &p->cfg->alerts[i];
}

static const char *
alert_prefix(struct section_reader *r, void *obj)
{
	static char prefix[64];

	(void)obj;
	snprintf(prefix, sizeof(prefix), "alert %s: ", section_name(r));
	return prefix;
}

/* Keys that mean something for some types only. */
static void
alert_end(struct section_reader *r, void *obj, bool damaged)
{
	struct parse *p = section_ctx(r);
	int i = (int)((struct alert_settings *)obj - p->cfg->alerts), line;

	(void)damaged;
	line = section_seen(r, "min_score");
	if (line > 0 && !alert_type_camera(i))
		section_error(r, line,
		    "alert %s: min_score is for camera types only",
		    alert_type_name(i));
	line = section_seen(r, "grace_s");
	if (line > 0 && strcmp(alert_type_name(i), "device_offline") != 0)
		section_error(r, line,
		    "alert %s: grace_s is for device_offline only",
		    alert_type_name(i));
}

/* ---- [device ID] ---- */

static void device_driver(void *ctx, void *obj, const struct schema_key *k,
    int line, const char *value);

/* Until its driver is known, a device has one key. */
static const struct schema_key device_keys[] = {
	{ .name = "driver", .type = SCHEMA_HANDLER, .handle = device_driver },
	SCHEMA_END,
};

static void *
device_begin(struct section_reader *r, int line, const char *id)
{
	static const struct schema_key id_key = { .name = "device id",
		.type = SCHEMA_ID };
	struct parse *p = section_ctx(r);
	struct config *c = p->cfg;
	struct device *dev, **v;
	char *checked = NULL, err[256];
	size_t i;

	p->dead = false;
	if (schema_set(&id_key, &checked, id, NULL, err, sizeof(err)) < 0) {
		section_error(r, line, "%s", err);
		return NULL;
	}
	for (i = 0; i < c->ndevices; i++) {
		if (strcmp(c->devices[i]->id, id) == 0) {
			section_error(r, line,
			    "duplicate device %s (first at %s:%d)", id,
			    c->devices[i]->file, c->devices[i]->line);
			free(checked);
			return NULL;
		}
	}
	v = realloc(c->devices, (c->ndevices + 1) * sizeof(*v));
	dev = calloc(1, sizeof(*dev));
	if (v == NULL || dev == NULL)
		diag_oom();
	c->devices = v;
	dev->id = checked;
	dev->file = diag_strdup(section_file(r));
	dev->line = line;
	dev->index = (unsigned)c->ndevices;
	c->devices[c->ndevices++] = dev;
	return dev;
}

static void
device_driver(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value)
{
	struct parse *p = ctx;
	struct device *dev = obj;
	const struct driver *drv = driver_find(value);

	(void)k;
	if (drv == NULL) {
		diag_add(p->diag, dev->file, line, "unknown driver '%s'",
		    value);
		p->dead = true;
		return;
	}
	dev->driver = drv;
	dev->priv = calloc(1, drv->priv_size ? drv->priv_size : 1);
	if (dev->priv == NULL)
		diag_oom();
	if (drv->defaults)
		drv->defaults(dev->priv);
}

static const struct schema_key *
device_keys_of(struct section_reader *r, void *obj)
{
	struct parse *p = section_ctx(r);
	struct device *dev = obj;

	if (p->dead)
		return NULL;
	return dev->driver ? dev->driver->keys : device_keys;
}

static void *
device_fill(struct section_reader *r, void *obj)
{
	struct device *dev = obj;

	(void)r;
	return dev->priv;
}

static const char *
device_prefix(struct section_reader *r, void *obj)
{
	static char prefix[64];
	struct device *dev = obj;

	(void)r;
	snprintf(prefix, sizeof(prefix), "device %s: ", dev->id);
	return prefix;
}

/* Named only: gatewayctl broker reads it (or makes it); gatewayd never. */
static void
config_device_password(struct parse *p, struct device *dev, int line,
    const char *value)
{
	const struct schema_key path_key = { .name = "password_file",
		.type = SCHEMA_PATH,
		.offset = 0 };
	char err[512];

	if (schema_set(&path_key, &dev->password_file, value, p->dir, err,
	        sizeof(err)) < 0)
		diag_add(p->diag, dev->file, line, "device %s: %s", dev->id,
		    err);
}

static void
device_unknown_key(struct section_reader *r, void *obj, int line,
    const char *key, const char *value)
{
	struct parse *p = section_ctx(r);
	struct device *dev = obj;

	if (dev->driver == NULL) {
		/* "driver =" with nothing after it has said so already. */
		if (section_seen(r, "driver") == 0)
			section_error(r, line,
			    "'driver' must be the first key in %s",
			    section_text(r));
		p->dead = true;
		return;
	}
	/* Every device that is a client of the broker may have its own
	 * identity there, whatever its driver. */
	if (strcmp(key, "password_file") == 0) {
		if (!device_mqtt_client(dev)) {
			section_error(r, line,
			    "device %s: password_file is for devices that "
			    "connect to the broker themselves (driver %s does "
			    "not)",
			    dev->id, dev->driver->name);
			return;
		}
		if (dev->password_file != NULL)
			section_error(r, line, "duplicate key '%s' in %s", key,
			    section_text(r));
		else if (value[0] == '\0')
			section_error(r, line, "no value for '%s'", key);
		else
			config_device_password(p, dev, line, value);
		return;
	}
	section_error(r, line, "device %s: unknown key '%s' for driver %s",
	    dev->id, key, dev->driver->name);
}

static void
device_end(struct section_reader *r, void *obj, bool damaged)
{
	struct parse *p = section_ctx(r);
	struct device *dev = obj;
	char err[512];

	if (p->dead || damaged)
		return;
	if (dev->driver == NULL) {
		/* "driver =" with nothing after it has said so already. */
		if (section_seen(r, "driver") == 0)
			section_error(r, section_line(r),
			    "missing key 'driver' in %s", section_text(r));
		return;
	}
	err[0] = '\0';
	if (dev->driver->check && dev->driver->check(dev, err, sizeof(err)) < 0)
		section_error(r, section_line(r), "device %s: %s", dev->id,
		    err[0] ? err : "incomplete");
}

static void *
bus_begin(struct section_reader *r, int line, const char *name)
{
	static const struct schema_key id_key = { .name = "bus name",
		.type = SCHEMA_ID };
	struct parse *p = section_ctx(r);
	struct config *c = p->cfg;
	struct bus_config *b, **v;
	char *checked = NULL, err[256];
	size_t i;

	if (schema_set(&id_key, &checked, name, NULL, err, sizeof(err)) < 0) {
		section_error(r, line, "%s", err);
		return NULL;
	}
	for (i = 0; i < c->nbuses; i++) {
		if (strcmp(c->buses[i]->name, name) == 0) {
			section_error(r, line,
			    "duplicate bus %s (first at %s:%d)", name,
			    c->buses[i]->file, c->buses[i]->line);
			free(checked);
			return NULL;
		}
	}
	v = realloc(c->buses, (c->nbuses + 1) * sizeof(*v));
	b = calloc(1, sizeof(*b));
	if (v == NULL || b == NULL)
		diag_oom();
	c->buses = v;
	b->name = checked;
	b->file = diag_strdup(section_file(r));
	b->line = line;
	b->baud = 9600;
	b->parity = 'N';
	b->data_bits = 8;
	b->stop_bits = 1;
	b->timeout_ms = 500;
	b->poll_ms = 1000;
	b->gap_ms = -1;
	c->buses[c->nbuses++] = b;
	return b;
}

/* Keys that mean something for one type of bus only. */
static void
bus_only(struct section_reader *r, const struct bus_config *b,
    const char *const *keys, const char *type)
{
	int line;

	for (; *keys; keys++)
		if ((line = section_seen(r, *keys)) > 0)
			section_error(r, line,
			    "bus %s: '%s' is for type = %s only", b->name,
			    *keys, type);
}

static void
bus_end(struct section_reader *r, void *obj, bool damaged)
{
	static const char *const rtu_only[] = { "baud", "parity", "data_bits",
		"stop_bits", NULL };
	static const char *const tcp_only[] = { "host", NULL };
	struct bus_config *b = obj;
	long port;

	if (damaged || b->type == 0)
		return;
	if (b->type == BUS_RTU) {
		bus_only(r, b, tcp_only, "tcp");
		if (b->port == NULL)
			section_error(r, section_line(r),
			    "bus %s: missing key 'port' (the serial device, "
			    "/dev/ttyUSB0)",
			    b->name);
		else if (b->port[0] != '/')
			section_error(r, section_seen(r, "port"),
			    "bus %s: bad port '%s' (the serial device's path, "
			    "/dev/ttyUSB0)",
			    b->name, b->port);
		if (b->gap_ms < 0)
			b->gap_ms =
			    5; /* 3.5 characters at 9600 baud and more */
		return;
	}
	bus_only(r, b, rtu_only, "rtu");
	if (b->host == NULL)
		section_error(r, section_line(r), "bus %s: missing key 'host'",
		    b->name);
	b->tcp_port = 502;
	if (b->port != NULL) {
		if (parse_long(b->port, 1, 65535, &port) < 0)
			section_error(r, section_seen(r, "port"),
			    "bus %s: bad port '%s' (a TCP port from 1 to "
			    "65535)",
			    b->name, b->port);
		else
			b->tcp_port = (int)port;
	}
	if (b->gap_ms < 0)
		b->gap_ms = 0;
}

/* Sections of DESIGN §4.3 that later versions read are refused. */
static const struct section_type sections[] = {
	{ .type = "gateway",
	    .once = true,
	    .begin = settings_begin,
	    .keys = gateway_keys },
	{ .type = "mqtt",
	    .once = true,
	    .begin = settings_begin,
	    .keys = mqtt_keys },
	{ .type = "privacy",
	    .once = true,
	    .begin = settings_begin,
	    .keys = privacy_keys },
	{ .type = "device",
	    .named = true,
	    .begin = device_begin,
	    .keys_of = device_keys_of,
	    .fill = device_fill,
	    .prefix = device_prefix,
	    .unknown_key = device_unknown_key,
	    .end = device_end },
	{ .type = "uplink",
	    .once = true,
	    .begin = config_uplink_begin,
	    .keys = config_uplink_keys },
	{ .type = "office",
	    .once = true,
	    .begin = config_office_begin,
	    .keys = config_office_keys },
	{ .type = "journal",
	    .once = true,
	    .begin = settings_begin,
	    .keys = config_journal_keys },
	{ .type = "wechat",
	    .once = true,
	    .begin = config_wechat_begin,
	    .keys = config_wechat_keys },
	{ .type = "incidents",
	    .once = true,
	    .begin = settings_begin,
	    .keys = config_incidents_keys },
	{ .type = "care",
	    .once = true,
	    .begin = settings_begin,
	    .keys = config_care_keys,
	    .unknown_key = config_care_key },
	{ .type = "control",
	    .once = true,
	    .begin = settings_begin,
	    .keys = config_control_keys },
	{ .type = "report",
	    .once = true,
	    .begin = settings_begin,
	    .keys = config_report_keys },
	{ .type = "broker",
	    .once = true,
	    .begin = config_broker_begin,
	    .keys = config_broker_keys },
	{ .type = "parking",
	    .once = true,
	    .begin = settings_begin,
	    .keys = parking_keys },
	{ .type = "bus",
	    .named = true,
	    .begin = bus_begin,
	    .keys = bus_keys,
	    .end = bus_end },
	{ .type = "alert",
	    .named = true,
	    .begin = alert_begin,
	    .keys = alert_keys,
	    .prefix = alert_prefix,
	    .end = alert_end },
};

/* Every device is known: each resolves the ones it names. */
static void
link_devices(struct parse *p)
{
	struct config *c = p->cfg;
	struct device *dev;
	char err[512];
	size_t i;

	for (i = 0; i < c->ndevices; i++) {
		dev = c->devices[i];
		if (dev->driver == NULL || dev->driver->link == NULL)
			continue;
		err[0] = '\0';
		if (dev->driver->link(dev, c, err, sizeof(err)) < 0)
			diag_add(p->diag, dev->file, dev->line, "device %s: %s",
			    dev->id, err[0] ? err : "cannot be linked");
	}
}

/* A device on a Modbus bus names one that is configured. */
static void
check_buses(struct parse *p)
{
	struct config *c = p->cfg;
	struct modbus_address a;
	struct device *dev;
	size_t i;

	for (i = 0; i < c->ndevices; i++) {
		dev = c->devices[i];
		if (dev->driver == NULL || dev->driver->modbus == NULL)
			continue;
		memset(&a, 0, sizeof(a));
		dev->driver->modbus->address(dev, &a);
		if (a.bus != NULL && config_bus(c, a.bus) == NULL)
			diag_add(p->diag, dev->file, dev->line,
			    "device %s: unknown bus '%s' (no [bus %s] in %s)",
			    dev->id, a.bus, a.bus, c->path);
	}
}

/*
 * A gateway that logs in to its broker means the broker to be closed:
 * a device that connects itself without an identity of its own cannot
 * be let in by `gatewayctl broker`.  A warning, so that a compound on an
 * open broker keeps working while devices are given one.
 */
static void
check_identities(struct parse *p)
{
	struct config *c = p->cfg;
	struct device *dev;
	size_t i;

	if (c->mqtt_username == NULL)
		return;
	for (i = 0; i < c->ndevices; i++) {
		dev = c->devices[i];
		if (device_mqtt_client(dev) && dev->password_file == NULL)
			diag_warn(p->diag, dev->file, dev->line,
			    "device %s: no password_file: on a broker made "
			    "by gatewayctl broker it cannot connect",
			    dev->id);
	}
}

/* What was not given, and what depends on more than one key. */
static void
finish(struct parse *p)
{
	struct config *c = p->cfg;

	if (p->gateway_line == 0)
		diag_add(p->diag, c->path, 0, "missing section [gateway]");
	if (c->timezone == NULL) {
		c->timezone = diag_strdup("Asia/Shanghai");
		if (!timezone_exists(c->timezone))
			diag_add(p->diag, c->path, p->gateway_line,
			    "timezone %s is not in " ZONEINFO
			    " (install tzdata)",
			    c->timezone);
	}
	if (c->mqtt_host == NULL)
		c->mqtt_host = diag_strdup("127.0.0.1");
	if (c->mqtt_password_file != NULL && c->mqtt_username == NULL)
		diag_add(p->diag, c->path, p->password_line,
		    "password_file needs a username");
	config_notify_finish(p);
	config_uplink_finish(p);
	config_control_finish(p);
	config_broker_finish(p);
	link_devices(p);
	check_identities(p);
	check_buses(p);
	if (c->site == NULL)
		return;
	if (c->name == NULL)
		c->name = diag_strdup(c->site);
	/* A broker made by gatewayctl broker takes the username as the
	 * client id (use_username_as_clientid): say the same here. */
	if (c->mqtt_client_id == NULL && c->mqtt_username != NULL)
		c->mqtt_client_id = diag_strdup(c->mqtt_username);
	else if (c->mqtt_client_id != NULL && c->mqtt_username != NULL &&
	    strcmp(c->mqtt_client_id, c->mqtt_username) != 0)
		diag_warn(p->diag, c->path, p->password_line,
		    "mqtt: client_id '%s' is not the username: a broker made "
		    "by gatewayctl broker uses the username '%s' instead",
		    c->mqtt_client_id, c->mqtt_username);
	if (c->mqtt_client_id == NULL &&
	    asprintf(&c->mqtt_client_id, "cg-%s", c->site) < 0)
		diag_oom();
	if (c->topic_prefix == NULL &&
	    asprintf(&c->topic_prefix, "cg/%s", c->site) < 0)
		diag_oom();
}

struct config *
config_load(const char *path, struct diag *d)
{
	return config_load_flags(path, d, 0);
}

struct config *
config_load_flags(const char *path, struct diag *d, unsigned flags)
{
	struct parse p = { 0 };
	struct config *c;
	const char *slash;
	size_t errors = diag_errors(d);
	int nsections, i;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		diag_oom();
	c->path = diag_strdup(path);
	c->sync = CONFIG_SYNC_NORMAL;
	c->check_ts = CONFIG_CHECK_TS_AUTO;
	c->stale_s = 30;
	c->mqtt_port = 1883;
	c->mqtt_keepalive = 30;
	c->max_payload = 4096;
	c->keep_snapshots = false;
	c->repeat_s = 30;
	for (i = 0; i < ALERT_TYPES; i++)
		alert_defaults(i, &c->alerts[i]);
	config_notify_defaults(c);
	config_uplink_defaults(c);
	config_control_defaults(c);
	config_broker_defaults(c);

	p.cfg = c;
	p.no_secrets = (flags & CONFIG_NO_SECRETS) != 0;
	p.diag = d;
	slash = strrchr(path, '/');
	if (slash == NULL)
		p.dir = diag_strdup("");
	else if (slash == path)
		p.dir = diag_strdup("/");
	else if (asprintf(&p.dir, "%.*s", (int)(slash - path), path) < 0)
		diag_oom();

	nsections = section_parse(path, p.dir, sections,
	    sizeof(sections) / sizeof(sections[0]), &p, d);
	/* A file that cannot be read has said so: nothing else to add. */
	if (diag_errors(d) == errors || nsections > 0)
		finish(&p);
	free(p.dir);
	if (diag_errors(d) != errors) {
		config_free(c);
		return NULL;
	}
	return c;
}

void
config_free(struct config *c)
{
	struct device *dev;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ndevices; i++) {
		dev = c->devices[i];
		if (dev->driver != NULL) {
			if (dev->driver->free != NULL)
				dev->driver->free(dev->priv);
			schema_free(dev->driver->keys, dev->priv);
		}
		free(dev->priv);
		free(dev->password_file);
		free(dev->id);
		free(dev->file);
		free(dev);
	}
	free(c->devices);
	for (i = 0; i < c->nbuses; i++) {
		schema_free(bus_keys, c->buses[i]);
		free(c->buses[i]->file);
		free(c->buses[i]->name);
		free(c->buses[i]);
	}
	free(c->buses);
	secret_free(c->mqtt_password);
	free(c->mqtt_password_file);
	config_notify_free(c);
	config_control_free(c);
	config_broker_free(c);
	config_uplink_free(c);
	schema_free(gateway_keys, c);
	schema_free(mqtt_keys, c);
	schema_free(privacy_keys, c);
	schema_free(parking_keys, c);
	free(c->path);
	free(c->timezone);
	free(c->topic_prefix);
	free(c);
}

struct device *
config_device(const struct config *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->ndevices; i++)
		if (strcmp(c->devices[i]->id, id) == 0)
			return c->devices[i];
	return NULL;
}

const struct alert_settings *
config_alert(const struct config *c, const char *type)
{
	int i = alert_type_index(type);

	return i >= 0 ? &c->alerts[i] : NULL;
}

const struct bus_config *
config_bus(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nbuses; i++)
		if (strcmp(c->buses[i]->name, name) == 0)
			return c->buses[i];
	return NULL;
}

size_t
config_count_class(const struct config *c, int device_class)
{
	size_t i, n = 0;

	for (i = 0; i < c->ndevices; i++)
		if (c->devices[i]->driver != NULL &&
		    (int)c->devices[i]->driver->class == device_class)
			n++;
	return n;
}
