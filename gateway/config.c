/*
 * config.c - gateway.ini, the installation: [gateway], [mqtt], [privacy]
 * and one [device ID] per device, handed key by key to its driver.  Every
 * problem is reported with file:line and parsing goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "driver.h"
#include "inifile.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define ID_MAX   32
#define SEEN_MAX 32
#define ID_RULE  "a-z, 0-9, '_' and '-', at most 32"

enum section {
	SEC_NONE,
	SEC_SKIP, /* a bad or unsupported section: its keys say nothing */
	SEC_GATEWAY,
	SEC_MQTT,
	SEC_PRIVACY,
	SEC_DEVICE,
};

struct parse {
	struct config *cfg;
	struct diag *diag;
	const char *file;
	char *dir;     /* gateway.ini's directory, or "" */
	size_t errors; /* diag->n at the start */

	enum section sec;
	char *sec_text; /* "[device gate-north]" for messages */
	int sec_line;
	int gateway_line, mqtt_line, privacy_line;
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

static const char *const unsupported[] = {
	"uplink",
	"office",
	"wechat",
	"parking",
	"bus",
};

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		diag_oom();
	return d;
}

/* A printf into a new string. */
static char *xprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static char *
xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		diag_oom();
	return s;
}

static void
set_str(char **dst, const char *value)
{
	free(*dst);
	*dst = xstrdup(value);
}

/* [a-z0-9_-]{1,32}: a site or device id, safe in topics and file names. */
static bool
valid_id(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-");

	return n > 0 && n <= ID_MAX && s[n] == '\0';
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A path from gateway.ini: relative ones are relative to gateway.ini. */
static char *
resolve(const struct parse *p, const char *path)
{
	size_t n = strlen(p->dir);

	if (path[0] == '/' || n == 0)
		return xstrdup(path);
	return xprintf("%s%s%s", p->dir, p->dir[n - 1] == '/' ? "" : "/", path);
}

static void
bad(struct parse *p, int line, const char *key, const char *value,
    const char *want)
{
	diag_add(p->diag, p->file, line, "bad %s '%s' (%s)", key, value, want);
}

static void
set_int(struct parse *p, int line, const char *key, const char *value, long min,
    long max, long *out)
{
	char want[64];

	if (parse_long(value, min, max, out) < 0) {
		snprintf(want, sizeof(want), "an integer from %ld to %ld", min,
		    max);
		bad(p, line, key, value, want);
	}
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

/* The first line of the n bytes read into buf (of size bytes). */
static void
set_password(struct parse *p, int line, const char *path, char *buf, size_t n,
    size_t size)
{
	struct config *c = p->cfg;
	size_t len;

	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	if (len == n && n == size - 1) {
		diag_add(p->diag, p->file, line,
		    "password_file %s: first line too long", path);
		return;
	}
	if (c->mqtt_password != NULL) {
		explicit_bzero(c->mqtt_password, strlen(c->mqtt_password));
		free(c->mqtt_password);
	}
	c->mqtt_password = malloc(len + 1);
	if (c->mqtt_password == NULL)
		diag_oom();
	memcpy(c->mqtt_password, buf, len);
	c->mqtt_password[len] = '\0';
	p->password_line = line;
}

/*
 * The first line of the password file.  The password is a secret: no
 * message here or anywhere else may contain it, and no buffer keeps it.
 */
static void
read_password(struct parse *p, int line, const char *value)
{
	char *path = resolve(p, value), buf[1024], ebuf[128];
	struct stat st;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO must not hang -t; it is refused below. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		diag_add(p->diag, p->file, line, "password_file %s: %s", path,
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		free(path);
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		diag_add(p->diag, p->file, line,
		    "password_file %s is not a regular file", path);
	} else if (st.st_mode & 007) {
		diag_add(p->diag, p->file, line,
		    "password_file %s must not be accessible to others "
		    "(chmod o-rwx %s)",
		    path, path);
	} else {
		n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0)
			diag_add(p->diag, p->file, line, "password_file %s: %s",
			    path, strerror_r(errno, ebuf, sizeof(ebuf)));
		else
			set_password(p, line, path, buf, (size_t)n,
			    sizeof(buf));
		explicit_bzero(buf, sizeof(buf));
	}
	close(fd);
	free(path);
}

static void
gateway_key(struct parse *p, int line, const char *key, const char *value)
{
	struct config *c = p->cfg;
	long v;

	if (strcmp(key, "site") == 0) {
		if (!valid_id(value))
			bad(p, line, key, value, ID_RULE);
		else
			set_str(&c->site, value);
	} else if (strcmp(key, "name") == 0) {
		set_str(&c->name, value);
	} else if (strcmp(key, "timezone") == 0) {
		if (!timezone_exists(value))
			diag_add(p->diag, p->file, line,
			    "unknown timezone '%s' (not in " ZONEINFO ")",
			    value);
		else
			set_str(&c->timezone, value);
	} else if (strcmp(key, "data_dir") == 0) {
		free(c->data_dir);
		c->data_dir = resolve(p, value);
	} else if (strcmp(key, "access_dir") == 0) {
		free(c->access_dir);
		c->access_dir = resolve(p, value);
	} else if (strcmp(key, "sync") == 0) {
		if (strcmp(value, "normal") == 0)
			c->sync = CONFIG_SYNC_NORMAL;
		else if (strcmp(value, "full") == 0)
			c->sync = CONFIG_SYNC_FULL;
		else
			bad(p, line, key, value, "normal or full");
	} else if (strcmp(key, "check_ts") == 0) {
		if (strcmp(value, "auto") == 0)
			c->check_ts = CONFIG_CHECK_TS_AUTO;
		else if (strcmp(value, "yes") == 0)
			c->check_ts = CONFIG_CHECK_TS_YES;
		else if (strcmp(value, "no") == 0)
			c->check_ts = CONFIG_CHECK_TS_NO;
		else
			bad(p, line, key, value, "auto, yes or no");
	} else if (strcmp(key, "stale_s") == 0) {
		v = c->stale_s;
		set_int(p, line, key, value, 1, 3600, &v);
		c->stale_s = (int)v;
	} else {
		diag_add(p->diag, p->file, line,
		    "unknown key '%s' in [gateway]", key);
	}
}

static void
mqtt_key(struct parse *p, int line, const char *key, const char *value)
{
	struct config *c = p->cfg;
	long v;

	if (strcmp(key, "host") == 0) {
		set_str(&c->mqtt_host, value);
	} else if (strcmp(key, "port") == 0) {
		v = c->mqtt_port;
		set_int(p, line, key, value, 1, 65535, &v);
		c->mqtt_port = (int)v;
	} else if (strcmp(key, "client_id") == 0) {
		set_str(&c->mqtt_client_id, value);
	} else if (strcmp(key, "username") == 0) {
		set_str(&c->mqtt_username, value);
	} else if (strcmp(key, "password_file") == 0) {
		read_password(p, line, value);
	} else if (strcmp(key, "topic_prefix") == 0) {
		if (strpbrk(value, "+#") != NULL ||
		    value[strlen(value) - 1] == '/')
			bad(p, line, key, value,
			    "no '+' or '#', no '/' at the end");
		else
			set_str(&c->topic_prefix, value);
	} else if (strcmp(key, "keepalive") == 0) {
		v = c->mqtt_keepalive;
		set_int(p, line, key, value, 5, 3600, &v);
		c->mqtt_keepalive = (int)v;
	} else if (strcmp(key, "max_payload") == 0) {
		v = (long)c->max_payload;
		set_int(p, line, key, value, 256, 1048576, &v);
		c->max_payload = (size_t)v;
	} else {
		diag_add(p->diag, p->file, line, "unknown key '%s' in [mqtt]",
		    key);
	}
}

static void
privacy_key(struct parse *p, int line, const char *key, const char *value)
{
	if (strcmp(key, "keep_snapshots") == 0) {
		if (strcmp(value, "yes") == 0)
			p->cfg->keep_snapshots = true;
		else if (strcmp(value, "no") == 0)
			p->cfg->keep_snapshots = false;
		else
			bad(p, line, key, value, "yes or no");
	} else {
		diag_add(p->diag, p->file, line,
		    "unknown key '%s' in [privacy]", key);
	}
}

static void
device_key(struct parse *p, int line, const char *key, const char *value)
{
	struct device *dev = p->dev;
	const struct driver *drv;
	char err[256];

	if (p->dev_dead)
		return;
	if (dev->driver == NULL) {
		if (strcmp(key, "driver") != 0) {
			diag_add(p->diag, p->file, line,
			    "'driver' must be the first key in %s",
			    p->sec_text);
			p->dev_dead = true;
			return;
		}
		drv = driver_find(value);
		if (drv == NULL) {
			diag_add(p->diag, p->file, line, "unknown driver '%s'",
			    value);
			p->dev_dead = true;
			return;
		}
		dev->driver = drv;
		if (drv->init && drv->init(dev) < 0) {
			diag_add(p->diag, p->file, line,
			    "device %s: driver %s cannot start", dev->id,
			    drv->name);
			p->dev_dead = true;
		}
		return;
	}
	err[0] = '\0';
	if (dev->driver->set == NULL ||
	    dev->driver->set(dev, key, value, err, sizeof(err)) < 0)
		diag_add(p->diag, p->file, line, "device %s: %s", dev->id,
		    err[0] ? err : "cannot set it");
}

static void
section_end(void *user, bool damaged)
{
	struct parse *p = user;
	struct device *dev = p->dev;
	char err[256];
	size_t i;

	if (p->sec == SEC_GATEWAY && !damaged) {
		static const char *const required[] = {
			"site",
			"data_dir",
			"access_dir",
		};

		for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
			size_t k;

			for (k = 0; k < p->nseen; k++)
				if (strcmp(p->seen[k].key, required[i]) == 0)
					break;
			if (k == p->nseen)
				diag_add(p->diag, p->file, p->sec_line,
				    "missing key '%s' in [gateway]",
				    required[i]);
		}
	}
	if (p->sec == SEC_DEVICE && !p->dev_dead && !damaged) {
		if (dev->driver == NULL) {
			diag_add(p->diag, p->file, p->sec_line,
			    "missing key 'driver' in %s", p->sec_text);
		} else if (dev->driver->check) {
			err[0] = '\0';
			if (dev->driver->check(dev, err, sizeof(err)) < 0)
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
	p->sec = SEC_NONE;
	p->dev = NULL;
	p->dev_dead = false;
}

/* Once per section: the first line it was seen at, or a duplicate. */
static bool
first_of(struct parse *p, int *seen_line, int line, const char *type)
{
	if (*seen_line != 0) {
		diag_add(p->diag, p->file, line,
		    "duplicate section [%s] (first at %s:%d)", type, p->file,
		    *seen_line);
		return false;
	}
	*seen_line = line;
	return true;
}

static void
new_device(struct parse *p, int line, const char *id)
{
	struct config *c = p->cfg;
	struct device *dev, **v;
	size_t i;

	if (!valid_id(id)) {
		diag_add(p->diag, p->file, line,
		    "bad device id '%s' (" ID_RULE ")", id);
		return;
	}
	for (i = 0; i < c->ndevices; i++) {
		if (strcmp(c->devices[i]->id, id) == 0) {
			diag_add(p->diag, p->file, line,
			    "duplicate device %s (first at %s:%d)", id,
			    c->devices[i]->file, c->devices[i]->line);
			return;
		}
	}
	v = realloc(c->devices, (c->ndevices + 1) * sizeof(*v));
	dev = calloc(1, sizeof(*dev));
	if (v == NULL || dev == NULL)
		diag_oom();
	c->devices = v;
	dev->id = xstrdup(id);
	dev->file = xstrdup(p->file);
	dev->line = line;
	dev->index = (unsigned)c->ndevices;
	dev->online = -1;
	c->devices[c->ndevices++] = dev;
	p->dev = dev;
	p->sec = SEC_DEVICE;
}

static void
section_begin(void *user, const char *file, int line, const char *type,
    const char *name)
{
	struct parse *p = user;
	size_t i;

	(void)file;
	p->sections++;
	p->sec = SEC_SKIP;
	p->sec_line = line;
	p->sec_text =
	    *name ? xprintf("[%s %s]", type, name) : xprintf("[%s]", type);
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
	if (strcmp(type, "gateway") != 0 && strcmp(type, "mqtt") != 0 &&
	    strcmp(type, "privacy") != 0) {
		diag_add(p->diag, p->file, line, "unknown section %s",
		    p->sec_text);
		return;
	}
	if (*name != '\0') {
		diag_add(p->diag, p->file, line, "section [%s] takes no name",
		    type);
		return;
	}
	if (strcmp(type, "gateway") == 0 &&
	    first_of(p, &p->gateway_line, line, type))
		p->sec = SEC_GATEWAY;
	else if (strcmp(type, "mqtt") == 0 &&
	    first_of(p, &p->mqtt_line, line, type))
		p->sec = SEC_MQTT;
	else if (strcmp(type, "privacy") == 0 &&
	    first_of(p, &p->privacy_line, line, type))
		p->sec = SEC_PRIVACY;
}

static void
key_value(void *user, const char *file, int line, const char *key,
    const char *value)
{
	struct parse *p = user;
	size_t i;

	(void)file;
	if (p->sec == SEC_SKIP || p->sec == SEC_NONE ||
	    (p->sec == SEC_DEVICE && p->dev_dead))
		return;
	for (i = 0; i < p->nseen; i++) {
		if (strcmp(p->seen[i].key, key) == 0) {
			diag_add(p->diag, p->file, line,
			    "duplicate key '%s' in %s (first at %s:%d)", key,
			    p->sec_text, p->file, p->seen[i].line);
			return;
		}
	}
	if (p->nseen < SEEN_MAX) {
		p->seen[p->nseen].key = xstrdup(key);
		p->seen[p->nseen].line = line;
		p->nseen++;
	}
	if (*value == '\0') {
		diag_add(p->diag, p->file, line, "no value for '%s'", key);
		if (p->sec == SEC_DEVICE && p->dev->driver == NULL)
			p->dev_dead = true;
		return;
	}
	switch (p->sec) {
	case SEC_GATEWAY:
		gateway_key(p, line, key, value);
		break;
	case SEC_MQTT:
		mqtt_key(p, line, key, value);
		break;
	case SEC_PRIVACY:
		privacy_key(p, line, key, value);
		break;
	case SEC_DEVICE:
		device_key(p, line, key, value);
		break;
	default:
		break;
	}
}

/* What was not given, and what depends on more than one key. */
static void
finish(struct parse *p)
{
	struct config *c = p->cfg;

	if (p->gateway_line == 0)
		diag_add(p->diag, p->file, 0, "missing section [gateway]");
	if (c->timezone == NULL) {
		c->timezone = xstrdup("Asia/Shanghai");
		if (!timezone_exists(c->timezone))
			diag_add(p->diag, p->file, p->gateway_line,
			    "timezone %s is not in " ZONEINFO
			    " (install tzdata)",
			    c->timezone);
	}
	if (c->mqtt_host == NULL)
		c->mqtt_host = xstrdup("127.0.0.1");
	if (p->password_line != 0 && c->mqtt_username == NULL)
		diag_add(p->diag, p->file, p->password_line,
		    "password_file needs a username");
	if (c->site == NULL)
		return;
	if (c->name == NULL)
		c->name = xstrdup(c->site);
	if (c->mqtt_client_id == NULL)
		c->mqtt_client_id = xprintf("cg-%s", c->site);
	if (c->topic_prefix == NULL)
		c->topic_prefix = xprintf("cg/%s", c->site);
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
	else
		p.dir = xprintf("%.*s", (int)(slash - path), path);

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
		if (dev->driver != NULL && dev->driver->free != NULL)
			dev->driver->free(dev);
		free(dev->zone);
		free(dev->id);
		free(dev->file);
		free(dev);
	}
	free(c->devices);
	if (c->mqtt_password != NULL) {
		explicit_bzero(c->mqtt_password, strlen(c->mqtt_password));
		free(c->mqtt_password);
	}
	free(c->path);
	free(c->site);
	free(c->name);
	free(c->timezone);
	free(c->data_dir);
	free(c->access_dir);
	free(c->mqtt_host);
	free(c->mqtt_client_id);
	free(c->mqtt_username);
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
