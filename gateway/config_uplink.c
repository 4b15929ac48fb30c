/*
 * config_uplink.c - where the records go beyond the compound and how long
 * they stay: [office] (the property office's HTTPS endpoint and its
 * token), [uplink] (a central broker over TLS) and [journal] (retention
 * and the disk budget).  Part of gateway.ini's reader (config.c).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_int.h"
#include "secret.h"
#include "util.h"

#define C(member) offsetof(struct config, member)

static void set_token_file(void *ctx, void *obj, const struct schema_key *k,
    int line, const char *value);
static void set_uplink_password(void *ctx, void *obj,
    const struct schema_key *k, int line, const char *value);

const struct schema_key config_office_keys[] = {
	{ .name = "url",
	    .type = SCHEMA_STRING,
	    .offset = C(office.url),
	    .required = true },
	{ .name = "token_file",
	    .type = SCHEMA_HANDLER,
	    .handle = set_token_file,
	    .required = true },
	{ .name = "ca_file", .type = SCHEMA_PATH, .offset = C(office.ca_file) },
	{ .name = "batch",
	    .type = SCHEMA_INT,
	    .offset = C(office.batch),
	    .min = 1,
	    .max = 5000 },
	{ .name = "timeout_s",
	    .type = SCHEMA_INT,
	    .offset = C(office.timeout_s),
	    .min = 5,
	    .max = 600 },
	SCHEMA_END,
};

const struct schema_key config_uplink_keys[] = {
	{ .name = "host",
	    .type = SCHEMA_STRING,
	    .offset = C(uplink.host),
	    .required = true },
	{ .name = "port",
	    .type = SCHEMA_INT,
	    .offset = C(uplink.port),
	    .min = 1,
	    .max = 65535 },
	{ .name = "client_id",
	    .type = SCHEMA_STRING,
	    .offset = C(uplink.client_id) },
	{ .name = "username",
	    .type = SCHEMA_STRING,
	    .offset = C(uplink.username) },
	{ .name = "password_file",
	    .type = SCHEMA_HANDLER,
	    .handle = set_uplink_password },
	{ .name = "ca_file", .type = SCHEMA_PATH, .offset = C(uplink.ca_file) },
	{ .name = "cert_file",
	    .type = SCHEMA_PATH,
	    .offset = C(uplink.cert_file) },
	{ .name = "key_file",
	    .type = SCHEMA_PATH,
	    .offset = C(uplink.key_file) },
	{ .name = "keepalive",
	    .type = SCHEMA_INT,
	    .offset = C(uplink.keepalive),
	    .min = 5,
	    .max = 3600 },
	{ .name = "inflight",
	    .type = SCHEMA_INT,
	    .offset = C(uplink.inflight),
	    .min = 1,
	    .max = 1000 },
	SCHEMA_END,
};

const struct schema_key config_journal_keys[] = {
	{ .name = "keep_days",
	    .type = SCHEMA_DOUBLE,
	    .offset = C(journal.keep_days),
	    .dmin = 0.001,
	    .dmax = 36600 },
	{ .name = "max_mb",
	    .type = SCHEMA_INT,
	    .offset = C(journal.max_mb),
	    .min = 1,
	    .max = 1024 * 1024 },
	SCHEMA_END,
};

#undef C

void
config_uplink_defaults(struct config *c)
{
	c->office.batch = 500;
	c->office.timeout_s = 30;
	c->uplink.port = 8883;
	c->uplink.keepalive = 30;
	c->uplink.inflight = 100;
	c->journal.keep_days = 180;
}

void *
config_office_begin(struct section_reader *r, int line, const char *name)
{
	struct parse *p = section_ctx(r);

	(void)name;
	p->office_line = line;
	return p->cfg;
}

void *
config_uplink_begin(struct section_reader *r, int line, const char *name)
{
	struct parse *p = section_ctx(r);

	(void)name;
	p->uplink_line = line;
	return p->cfg;
}

static void
set_token_file(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value)
{
	struct config *c = obj;

	(void)k;
	config_secret(ctx, line, "token_file", value, &c->office.token_file,
	    &c->office.token);
}

static void
set_uplink_password(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value)
{
	struct config *c = obj;

	(void)k;
	config_secret(ctx, line, "password_file", value,
	    &c->uplink.password_file, &c->uplink.password);
}

/* Plain http:// only to this machine (a test's stand-in): anywhere else
 * the records cross networks, and go over verified TLS. */
static bool
url_ok(const char *url)
{
	static const char *const local[] = { "http://127.0.0.1:",
		"http://127.0.0.1/", "http://localhost:", "http://localhost/",
		"http://[::1]:", "http://[::1]/", NULL };
	size_t i;

	if (strncmp(url, "https://", 8) == 0 && url[8] != '\0')
		return true;
	for (i = 0; local[i] != NULL; i++)
		if (strncmp(url, local[i], strlen(local[i])) == 0)
			return true;
	return false;
}

static void
readable(struct parse *p, int line, const char *section, const char *key,
    const char *path)
{
	if (path != NULL && !p->no_secrets && access(path, R_OK) != 0)
		diag_add(p->diag, p->cfg->path, line,
		    "%s: %s %s: cannot be read", section, key, path);
}

void
config_uplink_finish(struct parse *p)
{
	struct config *c = p->cfg;

	if (c->office.url != NULL && !url_ok(c->office.url))
		diag_add(p->diag, c->path, p->office_line,
		    "office: bad url '%s' (https://...; http:// only to "
		    "127.0.0.1 or localhost)",
		    c->office.url);
	readable(p, p->office_line, "office", "ca_file", c->office.ca_file);
	if (c->uplink.host == NULL)
		return;
	readable(p, p->uplink_line, "uplink", "ca_file", c->uplink.ca_file);
	readable(p, p->uplink_line, "uplink", "cert_file", c->uplink.cert_file);
	readable(p, p->uplink_line, "uplink", "key_file", c->uplink.key_file);
	if ((c->uplink.cert_file == NULL) != (c->uplink.key_file == NULL))
		diag_add(p->diag, c->path, p->uplink_line,
		    "uplink: cert_file and key_file go together (the "
		    "gateway's client certificate and its key)");
	if (c->uplink.password_file != NULL && c->uplink.username == NULL)
		diag_add(p->diag, c->path, p->uplink_line,
		    "uplink: password_file needs a username");
	if (c->uplink.client_id == NULL && c->site != NULL &&
	    asprintf(&c->uplink.client_id, "cg-%s-uplink", c->site) < 0)
		diag_oom();
}

void
config_uplink_free(struct config *c)
{
	secret_free(c->office.token);
	free(c->office.token_file);
	free(c->office.url);
	free(c->office.ca_file);
	free(c->uplink.host);
	free(c->uplink.client_id);
	free(c->uplink.username);
	free(c->uplink.password_file);
	secret_free(c->uplink.password);
	free(c->uplink.ca_file);
	free(c->uplink.cert_file);
	free(c->uplink.key_file);
}
