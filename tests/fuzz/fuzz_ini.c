/*
 * fuzz_ini.c - INI files as staff write them: gateway.ini through
 * config_load, an access.d file through access_load, and the line reader
 * (inifile_parse) itself.  The first byte says which; the rest is the file.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "config.h"
#include "diag.h"
#include "driver.h"
#include "inifile.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The installation the fuzzed access.d file is read against. */
static const char fixed_gateway[] = "[gateway]\n"
                                    "site = jinding-5\n"
                                    "data_dir = data\n"
                                    "access_dir = access.d\n"
                                    "[device gate-north]\n"
                                    "driver = face_gate\n"
                                    "[device gate-south]\n"
                                    "driver = face_gate\n"
                                    "direction = in\n"
                                    "[device gate-east]\n"
                                    "driver = face_gate\n"
                                    "open_ms = 5000\n";

/* The access tables a fuzzed gateway.ini's devices are checked against. */
static const char fixed_access[] =
    "[group resident]\n"
    "gates = *\n"
    "[group staff]\n"
    "gates = gate-north, gate-south\n"
    "hours = mon-fri 07:30-18:30, sat 08:00-12:00\n"
    "[person P0001]\n"
    "name = 张三\n"
    "household = 5-2-301\n"
    "groups = resident, staff\n";

static char dir[64];
static char access_file[128], gateway_file[128], raw_file[128];
static char fixed_dir[128], path[128];
static struct config *fixed;
static FILE *devnull;

static void
put(const char *file, const void *data, size_t size)
{
	FILE *fp = fopen(file, "wb");

	if (fp == NULL || fwrite(data, 1, size, fp) != size || fclose(fp))
		abort();
}

static void
join(char *out, size_t size, const char *a, const char *b)
{
	if ((size_t)snprintf(out, size, "%s/%s", a, b) >= size)
		abort();
}

static void
cleanup(void)
{
	static const char *const files[] = { "access.d/fuzz.ini",
		"fixed.d/fixed.ini", "gw/gateway.ini", "gw/password", "raw.ini",
		"gateway.ini" };
	static const char *const dirs[] = { "access.d", "fixed.d", "gw" };
	size_t i;

	config_free(fixed);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		join(path, sizeof(path), dir, files[i]);
		unlink(path);
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		join(path, sizeof(path), dir, dirs[i]);
		rmdir(path);
	}
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const dirs[] = { "access.d", "fixed.d", "gw" };
	struct diag d;
	size_t i;

	(void)argc;
	(void)argv;
	/* Visits are in the gateway's time zone (mktime). */
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	snprintf(dir, sizeof(dir), "/dev/shm/cg-fuzz-ini-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		snprintf(dir, sizeof(dir), "/tmp/cg-fuzz-ini-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		join(path, sizeof(path), dir, dirs[i]);
		if (mkdir(path, 0700) < 0)
			abort();
	}
	join(access_file, sizeof(access_file), dir, "access.d/fuzz.ini");
	join(gateway_file, sizeof(gateway_file), dir, "gw/gateway.ini");
	join(raw_file, sizeof(raw_file), dir, "raw.ini");
	join(fixed_dir, sizeof(fixed_dir), dir, "fixed.d");

	/* A fuzzed [mqtt] password_file = password finds one. */
	join(path, sizeof(path), dir, "gw/password");
	put(path, "s3cret\n", 7);
	if (chmod(path, 0600) < 0)
		abort();
	join(path, sizeof(path), dir, "fixed.d/fixed.ini");
	put(path, fixed_access, sizeof(fixed_access) - 1);
	join(path, sizeof(path), dir, "gateway.ini");
	put(path, fixed_gateway, sizeof(fixed_gateway) - 1);
	diag_init(&d);
	fixed = config_load(path, &d);
	if (fixed == NULL) {
		diag_print(stderr, &d);
		abort();
	}
	diag_free(&d);
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL)
		abort();
	atexit(cleanup);
	return 0;
}

/* NULL exactly when there were problems, and each one says where. */
static void
check_diag(const struct diag *d, bool loaded)
{
	size_t i;

	if (loaded != (diag_errors(d) == 0))
		abort();
	for (i = 0; i < d->n; i++)
		if (d->v[i].file == NULL || d->v[i].msg == NULL ||
		    d->v[i].line < 0 || d->v[i].msg[0] == '\0')
			abort();
}

static void
use_tables(struct access_tables *t)
{
	const struct access_visitor *v;
	struct access_counts c;
	const char *person;
	unsigned g, gate;
	size_t i;

	access_counts(t, &c);
	if (c.visitors != access_nvisitors(t) || c.groups > ACCESS_MAX_GROUPS)
		abort();
	for (i = 0; i < c.visitors; i++) {
		v = access_visitor_at(t, i);
		if (access_find_visitor(t, access_str(t, v->id)) != v)
			abort();
		person = access_str(t, v->person);
		if (v->person && access_find_visitor_person(t, person) != v)
			abort();
	}
	for (g = 0; g < c.groups; g++)
		for (gate = 0; gate < 4; gate++)
			(void)access_group_allows_gate(access_group(t, g),
			    gate);
	(void)access_find_person(t, "P0001");
	(void)access_find_card(t, "0012345678");
	(void)access_find_visitor_card(t, "0012345678");
	(void)access_find_vehicle(t, "吉A12345");
	(void)access_find_deny(t, "P0900");
}

static void
fuzz_access(const uint8_t *data, size_t size)
{
	struct access_tables *t;
	struct diag d;

	put(access_file, data, size);
	diag_init(&d);
	t = access_load(fixed, &d);
	check_diag(&d, t != NULL);
	if (t != NULL)
		use_tables(t);
	diag_sort(&d);
	diag_print(devnull, &d);
	access_free(t);
	diag_free(&d);
}

static void
fuzz_gateway(const uint8_t *data, size_t size)
{
	struct access_tables *t;
	struct config *c;
	struct diag d;
	size_t i;

	put(gateway_file, data, size);
	diag_init(&d);
	c = config_load(gateway_file, &d);
	check_diag(&d, c != NULL);
	diag_sort(&d);
	diag_print(devnull, &d);
	diag_free(&d);
	if (c == NULL)
		return;
	if (c->site == NULL || c->topic_prefix == NULL ||
	    c->mqtt_client_id == NULL || c->timezone == NULL)
		abort();
	for (i = 0; i < c->ndevices; i++)
		if (config_device(c, c->devices[i]->id) != c->devices[i] ||
		    c->devices[i]->index != i || c->devices[i]->driver == NULL)
			abort();
	(void)config_count_class(c, DEVICE_GATE);

	/* Its devices against known tables; never the directory it names. */
	free(c->access_dir);
	c->access_dir = strdup(fixed_dir);
	if (c->access_dir == NULL)
		abort();
	diag_init(&d);
	t = access_load(c, &d);
	check_diag(&d, t != NULL);
	access_free(t);
	diag_free(&d);
	config_free(c);
}

/* The line reader's promises to its callers (inifile.h). */
struct raw {
	const char *text;
	size_t len;
	bool in_section;
	int last_line, sections, ends;
};

/* Does line n (from 1) of the file hold s? */
static bool
on_line(const struct raw *r, int n, const char *s)
{
	const char *p = r->text, *end = r->text + r->len, *nl;

	for (; n > 1 && p < end; n--) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return false;
		p = nl + 1;
	}
	if (n != 1)
		return false;
	nl = memchr(p, '\n', (size_t)(end - p));
	return memmem(p, (size_t)((nl ? nl : end) - p), s, strlen(s)) != NULL;
}

static void
raw_section(void *user, const char *file, int line, const char *type,
    const char *name)
{
	struct raw *r = user;

	if (strcmp(file, raw_file) != 0 || line <= r->last_line ||
	    r->in_section || type[0] == '\0' || strpbrk(type, " \t") ||
	    !on_line(r, line, type) || !on_line(r, line, name))
		abort();
	r->in_section = true;
	r->last_line = line;
	r->sections++;
}

static void
raw_key(void *user, const char *file, int line, const char *key,
    const char *value)
{
	struct raw *r = user;

	if (strcmp(file, raw_file) != 0 || line <= r->last_line ||
	    !r->in_section || key[0] == '\0' || strchr(key, ':') ||
	    !on_line(r, line, key) || !on_line(r, line, value))
		abort();
	r->last_line = line;
}

static void
raw_end(void *user, bool damaged)
{
	struct raw *r = user;

	(void)damaged;
	if (!r->in_section)
		abort();
	r->in_section = false;
	r->ends++;
}

static void
fuzz_raw(const uint8_t *data, size_t size)
{
	static const struct inifile_handler h = {
		.section = raw_section,
		.key = raw_key,
		.end = raw_end,
	};
	struct raw r = { 0 };
	struct diag d;
	int rc;

	put(raw_file, data, size);
	r.text = (const char *)data;
	r.len = size;
	diag_init(&d);
	rc = inifile_parse(raw_file, &d, &h, &r);
	if ((rc < 0) != (d.n > 0) || r.in_section || r.ends != r.sections)
		abort();
	check_diag(&d, rc == 0);
	diag_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_access(data + 1, size - 1);
		break;
	case 1:
		fuzz_gateway(data + 1, size - 1);
		break;
	default:
		fuzz_raw(data + 1, size - 1);
		break;
	}
	return 0;
}
