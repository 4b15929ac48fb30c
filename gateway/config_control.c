/*
 * config_control.c - [control] (gatewayctl's socket and who may use it)
 * and [report] (the daily report: when, and to which robot).  Part of
 * gateway.ini's reader (config.c).
 */
#include <grp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "secret.h"
#include "util.h"

#define C(member) offsetof(struct config, member)

static void set_group(void *ctx, void *obj, const struct schema_key *k,
    int line, const char *value);
static void set_at(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value);
static void set_report_key(void *ctx, void *obj, const struct schema_key *k,
    int line, const char *value);

const struct schema_key config_control_keys[] = {
	{ .name = "socket", .type = SCHEMA_PATH, .offset = C(control.socket) },
	{ .name = "group", .type = SCHEMA_HANDLER, .handle = set_group },
	SCHEMA_END,
};

const struct schema_key config_report_keys[] = {
	{ .name = "at", .type = SCHEMA_HANDLER, .handle = set_at },
	{ .name = "webhook_key_file",
	    .type = SCHEMA_HANDLER,
	    .handle = set_report_key },
	SCHEMA_END,
};

#undef C

void
config_control_defaults(struct config *c)
{
	c->control.gid = -1;
	c->report.at_min = 7 * 60 + 30;
}

/* The group must exist now: a name nobody can resolve is a typo. */
static void
set_group(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value)
{
	struct parse *p = ctx;
	struct config *c = obj;
	struct group *g;

	(void)k;
	g = getgrnam(value);
	if (g == NULL) {
		diag_add(p->diag, c->path, line,
		    "control: no group '%s' on this machine (groupadd it, "
		    "or name another)",
		    value);
		return;
	}
	free(c->control.group);
	c->control.group = diag_strdup(value);
	c->control.gid = (long)g->gr_gid;
}

/* at = 07:30, in the gateway's time zone; off: no daily report. */
static void
set_at(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value)
{
	struct parse *p = ctx;
	struct config *c = obj;
	unsigned h, m;
	char end;

	(void)k;
	if (strcmp(value, "off") == 0) {
		c->report.at_min = -1;
		return;
	}
	if (sscanf(value, "%2u:%2u%c", &h, &m, &end) != 2 || h > 23 || m > 59 ||
	    strlen(value) != 5) {
		diag_add(p->diag, c->path, line,
		    "report: bad at '%s' (HH:MM, 07:30; or off)", value);
		return;
	}
	c->report.at_min = (int)(h * 60 + m);
}

static void
set_report_key(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value)
{
	struct config *c = obj;

	(void)k;
	config_secret(ctx, line, "webhook_key_file", value, &c->report.key_file,
	    &c->report.key);
}

void
config_control_finish(struct parse *p)
{
	struct config *c = p->cfg;

	if (c->control.socket == NULL)
		c->control.socket = diag_strdup(CONFIG_CONTROL_SOCKET);
}

void
config_control_free(struct config *c)
{
	free(c->control.socket);
	free(c->control.group);
	free(c->report.key_file);
	secret_free(c->report.key);
}
