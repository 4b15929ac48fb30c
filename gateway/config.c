/*
 * config.c - gateway.ini, the installation: [gateway], [mqtt], [privacy]
 * and one [device ID] per device.  Every section's keys are a schema
 * table (schema.h), a device's are its driver's; every problem is
 * reported with file:line and parsing goes on.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "driver.h"
#include "inifile.h"
#include "schema.h"
#include "secret.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define SEEN_MAX 32

static int set_timezone(void *obj, const char *value, char *err, size_t errlen);
static int set_topic_prefix(void *obj, const char *value, char *err,
    size_t errlen);

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
	    .type = SCHEMA_PATH,
	    .offset = C(mqtt_password_file) },
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

#undef C

/* The sections of gateway.ini that hold settings of the gateway itself. */
static const struct {
	const char *type;
	const struct schema_key *keys;
} sections[] = {
	{ "gateway", gateway_keys },
	{ "mqtt", mqtt_keys },
	{ "privacy", privacy_keys },
};

#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

/* Sections of DESIGN §4.3 that later versions read. */
static const char *const unsupported[] = {
	"uplink",
	"office",
	"wechat",
	"parking",
	"bus",
};

struct parse {
	struct config *cfg;
	struct diag *diag;
	const char *file;
	char *dir;     /* gateway.ini's directory, or "" */
	size_t errors; /* diag->n at the start */

	const struct schema_key *keys; /* the section's; NULL: skip it */
	char *sec_text;                /* "[device gate-north]" */
	int sec_line;
	int first_line[NSECTIONS]; /* where each section was, or 0 */
	struct {
		char *key;
		int line;
	} seen[SEEN_MAX];
	size_t nseen;

	struct device *dev; /* the [device] being read */
	bool dev_dead;      /* no driver: ignore its keys */
	int password_line;
	int sections;
};

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		diag_oom();
	return d;
}

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
	c->timezone = xstrdup(value);
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
	c->topic_prefix = xstrdup(value);
	return 0;
}

static int
seen_line(const struct parse *p, const char *key)
{
	size_t i;

	for (i = 0; i < p->nseen; i++)
		if (strcmp(p->seen[i].key, key) == 0)
			return p->seen[i].line;
	return 0;
}

/* The password is read once the whole file is: its key may come first. */
static void
read_password(struct parse *p, int line)
{
	struct config *c = p->cfg;
	char err[512];

	p->password_line = line;
	secret_free(c->mqtt_password);
	c->mqtt_password = NULL;
	if (secret_read(c->mqtt_password_file, &c->mqtt_password, err,
	        sizeof(err)) < 0)
		diag_add(p->diag, p->file, line, "password_file %s", err);
}

static void
device_driver(struct parse *p, int line, const char *value)
{
	struct device *dev = p->dev;
	const struct driver *drv;

	drv = driver_find(value);
	if (drv == NULL) {
		diag_add(p->diag, p->file, line, "unknown driver '%s'", value);
		p->dev_dead = true;
		return;
	}
	dev->driver = drv;
	dev->priv = calloc(1, drv->priv_size ? drv->priv_size : 1);
	if (dev->priv == NULL)
		diag_oom();
	if (drv->defaults)
		drv->defaults(dev->priv);
}

static void
device_key(struct parse *p, int line, const char *key, const char *value)
{
	struct device *dev = p->dev;
	const struct schema_key *k;
	char err[512];

	if (dev->driver == NULL) {
		if (strcmp(key, "driver") != 0) {
			diag_add(p->diag, p->file, line,
			    "'driver' must be the first key in %s",
			    p->sec_text);
			p->dev_dead = true;
			return;
		}
		device_driver(p, line, value);
		return;
	}
	k = schema_find(dev->driver->keys, key);
	if (k == NULL)
		diag_add(p->diag, p->file, line,
		    "device %s: unknown key '%s' for driver %s", dev->id, key,
		    dev->driver->name);
	else if (schema_set(k, dev->priv, value, p->dir, err, sizeof(err)) < 0)
		diag_add(p->diag, p->file, line, "device %s: %s", dev->id, err);
}

static void
missing_keys(struct parse *p, const struct schema_key *keys)
{
	for (; keys != NULL && keys->name != NULL; keys++)
		if (keys->required && seen_line(p, keys->name) == 0)
			diag_add(p->diag, p->file, p->sec_line,
			    "missing key '%s' in %s", keys->name, p->sec_text);
}

static void
section_end(void *user, bool damaged)
{
	struct parse *p = user;
	struct device *dev = p->dev;
	char err[512];
	size_t i;

	/* An unreadable line may hold what seems to be missing. */
	if (p->keys != NULL && !damaged)
		missing_keys(p, p->keys);
	if (dev != NULL && !p->dev_dead && !damaged) {
		if (dev->driver == NULL) {
			diag_add(p->diag, p->file, p->sec_line,
			    "missing key 'driver' in %s", p->sec_text);
		} else {
			missing_keys(p, dev->driver->keys);
			err[0] = '\0';
			if (dev->driver->check &&
			    dev->driver->check(dev, err, sizeof(err)) < 0)
				diag_add(p->diag, p->file, p->sec_line,
				    "device %s: %s", dev->id,
				    err[0] ? err : "incomplete");
		}
	}
	for (i = 0; i < p->nseen; i++)
		free(p->seen[i].key);
	p->nseen = 0;
	free(p->sec_text);
	p->sec_text = NULL;
	p->keys = NULL;
	p->dev = NULL;
	p->dev_dead = false;
}

static void
new_device(struct parse *p, int line, const char *id)
{
	static const struct schema_key id_key = { .name = "device id",
		.type = SCHEMA_ID };
	struct config *c = p->cfg;
	struct device *dev, **v;
	char *checked = NULL, err[256];
	size_t i;

	if (schema_set(&id_key, &checked, id, NULL, err, sizeof(err)) < 0) {
		diag_add(p->diag, p->file, line, "%s", err);
		return;
	}
	for (i = 0; i < c->ndevices; i++) {
		if (strcmp(c->devices[i]->id, id) == 0) {
			diag_add(p->diag, p->file, line,
			    "duplicate device %s (first at %s:%d)", id,
			    c->devices[i]->file, c->devices[i]->line);
			free(checked);
			return;
		}
	}
	v = realloc(c->devices, (c->ndevices + 1) * sizeof(*v));
	dev = calloc(1, sizeof(*dev));
	if (v == NULL || dev == NULL)
		diag_oom();
	c->devices = v;
	dev->id = checked;
	dev->file = xstrdup(p->file);
	dev->line = line;
	dev->index = (unsigned)c->ndevices;
	c->devices[c->ndevices++] = dev;
	p->dev = dev;
}

static void
section_begin(void *user, const char *file, int line, const char *type,
    const char *name)
{
	struct parse *p = user;
	size_t i;

	(void)file;
	p->sections++;
	p->keys = NULL;
	p->sec_line = line;
	if (*name != '\0' && asprintf(&p->sec_text, "[%s %s]", type, name) < 0)
		diag_oom();
	if (*name == '\0' && asprintf(&p->sec_text, "[%s]", type) < 0)
		diag_oom();
	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		if (strcmp(type, unsupported[i]) == 0) {
			diag_add(p->diag, p->file, line,
			    "section %s is not supported by this version",
			    p->sec_text);
			return;
		}
	}
	if (strcmp(type, "device") == 0) {
		if (*name == '\0')
			diag_add(p->diag, p->file, line,
			    "section [device] needs an id: [device ID]");
		else
			new_device(p, line, name);
		return;
	}
	for (i = 0; i < NSECTIONS && strcmp(type, sections[i].type); i++)
		;
	if (i == NSECTIONS) {
		diag_add(p->diag, p->file, line, "unknown section %s",
		    p->sec_text);
		return;
	}
	if (*name != '\0') {
		diag_add(p->diag, p->file, line, "section [%s] takes no name",
		    type);
		return;
	}
	if (p->first_line[i] != 0) {
		diag_add(p->diag, p->file, line,
		    "duplicate section [%s] (first at %s:%d)", type, p->file,
		    p->first_line[i]);
		return;
	}
	p->first_line[i] = line;
	p->keys = sections[i].keys;
}

static void
key_value(void *user, const char *file, int line, const char *key,
    const char *value)
{
	struct parse *p = user;
	const struct schema_key *k;
	char err[512];
	int first;

	(void)file;
	if (p->keys == NULL && (p->dev == NULL || p->dev_dead))
		return;
	first = seen_line(p, key);
	if (first != 0) {
		diag_add(p->diag, p->file, line,
		    "duplicate key '%s' in %s (first at %s:%d)", key,
		    p->sec_text, p->file, first);
		return;
	}
	if (p->nseen < SEEN_MAX) {
		p->seen[p->nseen].key = xstrdup(key);
		p->seen[p->nseen].line = line;
		p->nseen++;
	}
	if (*value == '\0') {
		diag_add(p->diag, p->file, line, "no value for '%s'", key);
		if (p->dev != NULL && p->dev->driver == NULL)
			p->dev_dead = true;
		return;
	}
	if (p->dev != NULL) {
		device_key(p, line, key, value);
		return;
	}
	k = schema_find(p->keys, key);
	if (k == NULL)
		diag_add(p->diag, p->file, line, "unknown key '%s' in %s", key,
		    p->sec_text);
	else if (schema_set(k, p->cfg, value, p->dir, err, sizeof(err)) < 0)
		diag_add(p->diag, p->file, line, "%s", err);
	else if (strcmp(key, "password_file") == 0)
		read_password(p, line);
}

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

/* What was not given, and what depends on more than one key. */
static void
finish(struct parse *p)
{
	struct config *c = p->cfg;

	if (p->first_line[0] == 0)
		diag_add(p->diag, p->file, 0, "missing section [gateway]");
	if (c->timezone == NULL) {
		c->timezone = xstrdup("Asia/Shanghai");
		if (!timezone_exists(c->timezone))
			diag_add(p->diag, p->file, p->first_line[0],
			    "timezone %s is not in " ZONEINFO
			    " (install tzdata)",
			    c->timezone);
	}
	if (c->mqtt_host == NULL)
		c->mqtt_host = xstrdup("127.0.0.1");
	if (c->mqtt_password_file != NULL && c->mqtt_username == NULL)
		diag_add(p->diag, p->file, p->password_line,
		    "password_file needs a username");
	link_devices(p);
	if (c->site == NULL)
		return;
	if (c->name == NULL)
		c->name = xstrdup(c->site);
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
	static const struct inifile_handler handler = {
		.section = section_begin,
		.key = key_value,
		.end = section_end,
	};
	struct parse p = { 0 };
	struct config *c;
	const char *slash;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		diag_oom();
	c->path = xstrdup(path);
	c->sync = CONFIG_SYNC_NORMAL;
	c->check_ts = CONFIG_CHECK_TS_AUTO;
	c->stale_s = 30;
	c->mqtt_port = 1883;
	c->mqtt_keepalive = 30;
	c->max_payload = 4096;
	c->keep_snapshots = false;

	p.cfg = c;
	p.diag = d;
	p.file = path;
	p.errors = d->n;
	slash = strrchr(path, '/');
	if (slash == NULL)
		p.dir = xstrdup("");
	else if (slash == path)
		p.dir = xstrdup("/");
	else if (asprintf(&p.dir, "%.*s", (int)(slash - path), path) < 0)
		diag_oom();

	inifile_parse(path, d, &handler, &p);
	/* A file that cannot be read has said so: nothing else to add. */
	if (d->n == p.errors || p.sections > 0)
		finish(&p);
	free(p.dir);
	if (d->n != p.errors) {
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
		free(dev->id);
		free(dev->file);
		free(dev);
	}
	free(c->devices);
	secret_free(c->mqtt_password);
	for (i = 0; i < NSECTIONS; i++)
		schema_free(sections[i].keys, c);
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
