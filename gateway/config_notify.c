/*
 * config_notify.c - who is told, and when: [wechat] (the group robot, its
 * key and the duty mobiles), [incidents] (the 5341 deadlines) and [care]
 * (wellbeing checks and each building's steward).  Part of gateway.ini's
 * reader (config.c).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "secret.h"
#include "util.h"

#define C(member) offsetof(struct config, member)

/* A deadline of a minute's hundredth (a test's) up to a year. */
#define MINUTES_MIN 0.01
#define MINUTES_MAX (366.0 * 24 * 60)

static void set_key_file(void *ctx, void *obj, const struct schema_key *k,
    int line, const char *value);
static void set_duty_mobiles(void *ctx, void *obj, const struct schema_key *k,
    int line, const char *value);

const struct schema_key config_wechat_keys[] = {
	{ .name = "webhook_key_file",
	    .type = SCHEMA_HANDLER,
	    .handle = set_key_file },
	{ .name = "base_url",
	    .type = SCHEMA_STRING,
	    .offset = C(wechat.base_url) },
	{ .name = "per_minute",
	    .type = SCHEMA_INT,
	    .offset = C(wechat.per_minute),
	    .min = 1,
	    .max = 60 },
	{ .name = "urgent_reserve",
	    .type = SCHEMA_INT,
	    .offset = C(wechat.urgent_reserve),
	    .min = 0,
	    .max = 59 },
	{ .name = "timeout_s",
	    .type = SCHEMA_INT,
	    .offset = C(wechat.timeout_s),
	    .min = 1,
	    .max = 120 },
	{ .name = "duty_mobiles",
	    .type = SCHEMA_HANDLER,
	    .handle = set_duty_mobiles },
	SCHEMA_END,
};

#define MINUTES(key, member)                                                   \
	{                                                                      \
		.name = key, .type = SCHEMA_DOUBLE, .offset = C(member),       \
		.dmin = MINUTES_MIN, .dmax = MINUTES_MAX                       \
	}

const struct schema_key config_incidents_keys[] = {
	MINUTES("ack_min", incidents.ack_min),
	MINUTES("minor_min", incidents.minor_min),
	MINUTES("major_min", incidents.major_min),
	MINUTES("complex_min", incidents.complex_min),
	SCHEMA_END,
};

const struct schema_key config_care_keys[] = {
	MINUTES("daily_min", care.daily_min),
	MINUTES("weekly_min", care.weekly_min),
	MINUTES("monthly_min", care.monthly_min),
	SCHEMA_END,
};

#undef MINUTES
#undef C

void
config_notify_defaults(struct config *c)
{
	c->wechat.per_minute = 20;
	c->wechat.urgent_reserve = 5;
	c->wechat.timeout_s = 10;
	incident_defaults(&c->incidents);
	c->care.daily_min = 24 * 60;
	c->care.weekly_min = 7 * 24 * 60;
	c->care.monthly_min = 30 * 24 * 60;
}

void *
config_wechat_begin(struct section_reader *r, int line, const char *name)
{
	struct parse *p = section_ctx(r);

	(void)name;
	p->wechat_line = line;
	return p->cfg;
}

/*
 * The key is a secret: read now, from a file others cannot read, and
 * checked to be what a URL's query can carry as it is (the robot's keys
 * are UUIDs); no message says what it is.
 */
static void
set_key_file(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value)
{
	struct parse *p = ctx;
	struct config *c = obj;
	const char *s;

	(void)k;
	config_secret(p, line, "webhook_key_file", value, &c->wechat.key_file,
	    &c->wechat.key);
	if (c->wechat.key == NULL)
		return; /* said why */
	for (s = c->wechat.key; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			break;
	if (c->wechat.key[0] == '\0' || *s != '\0')
		diag_add(p->diag, c->path, line,
		    "webhook_key_file %s: the key must be one line of letters, "
		    "digits and '-' (as the robot's webhook address shows it)",
		    c->wechat.key_file);
}

/* 13800000000, or +8613800000000: what the robot can ring. */
static bool
mobile_valid(const char *s)
{
	size_t n = 0;

	if (*s == '+')
		s++;
	for (; *s != '\0'; s++, n++)
		if (!isdigit((unsigned char)*s))
			return false;
	return n >= 5 && n <= CONFIG_MOBILE_MAX - 1;
}

static void
set_duty_mobiles(void *ctx, void *obj, const struct schema_key *k, int line,
    const char *value)
{
	struct parse *p = ctx;
	struct config *c = obj;
	char tok[64], **v;

	(void)k;
	while (str_list_next(&value, tok, sizeof(tok))) {
		if (!mobile_valid(tok)) {
			diag_add(p->diag, c->path, line,
			    "wechat: bad duty_mobiles '%s' (mobile numbers, "
			    "13800000000, separated by ',')",
			    tok);
			continue;
		}
		v = realloc(c->wechat.duty_mobiles,
		    (c->wechat.nduty + 1) * sizeof(*v));
		if (v == NULL)
			diag_oom();
		c->wechat.duty_mobiles = v;
		v[c->wechat.nduty++] = diag_strdup(tok);
	}
}

/* steward.<building> = <mobile>: the building as households begin. */
void
config_care_key(struct section_reader *r, void *obj, int line, const char *key,
    const char *value)
{
	struct parse *p = section_ctx(r);
	struct config *c = obj;
	struct config_steward *v;
	const char *b;
	size_t i;

	if (strncmp(key, "steward.", 8) != 0) {
		section_error(r, line,
		    "unknown key '%s' in [care] (daily_min, weekly_min, "
		    "monthly_min, steward.<building>)",
		    key);
		return;
	}
	b = key + 8;
	if (*b == '\0' || strlen(b) > 16 || strpbrk(b, "- \t") != NULL) {
		section_error(r, line,
		    "bad key '%s' (steward.<building>: the first part of a "
		    "household, 5 for 5-2-301)",
		    key);
		return;
	}
	for (i = 0; i < c->care.nstewards; i++)
		if (strcmp(c->care.stewards[i].building, b) == 0) {
			section_error(r, line,
			    "duplicate key '%s' in [care] (first at %s:%d)",
			    key, section_file(r), c->care.stewards[i].line);
			return;
		}
	if (!mobile_valid(value)) {
		section_error(r, line,
		    "care: bad %s '%s' (a mobile number, 13800000000)", key,
		    value);
		return;
	}
	v = realloc(c->care.stewards, (c->care.nstewards + 1) * sizeof(*v));
	if (v == NULL)
		diag_oom();
	c->care.stewards = v;
	v[c->care.nstewards].building = diag_strdup(b);
	v[c->care.nstewards].mobile = diag_strdup(value);
	v[c->care.nstewards].line = line;
	c->care.nstewards++;
	(void)p;
}

void
config_notify_finish(struct parse *p)
{
	struct config *c = p->cfg;

	if (c->wechat.urgent_reserve >= c->wechat.per_minute)
		diag_add(p->diag, c->path, p->wechat_line,
		    "wechat: urgent_reserve %d leaves nothing of per_minute "
		    "%d for messages that ring nobody",
		    c->wechat.urgent_reserve, c->wechat.per_minute);
	if (p->wechat_line != 0 && c->wechat.key_file == NULL)
		diag_add(p->diag, c->path, p->wechat_line,
		    "missing key 'webhook_key_file' in [wechat] (the file "
		    "that holds the robot's key)");
	if (c->wechat.base_url == NULL)
		c->wechat.base_url = diag_strdup(CONFIG_WECHAT_URL);
	else if (strncmp(c->wechat.base_url, "https://", 8) != 0 &&
	    strncmp(c->wechat.base_url, "http://", 7) != 0)
		diag_add(p->diag, c->path, p->wechat_line,
		    "wechat: bad base_url '%s' (https://...)",
		    c->wechat.base_url);
	else if (strchr(c->wechat.base_url, '?') != NULL)
		diag_add(p->diag, c->path, p->wechat_line,
		    "wechat: base_url must not hold a query: the key comes "
		    "from webhook_key_file");
}

void
config_notify_free(struct config *c)
{
	size_t i;

	secret_free(c->wechat.key);
	free(c->wechat.key_file);
	free(c->wechat.base_url);
	for (i = 0; i < c->wechat.nduty; i++)
		free(c->wechat.duty_mobiles[i]);
	free(c->wechat.duty_mobiles);
	for (i = 0; i < c->care.nstewards; i++) {
		free(c->care.stewards[i].building);
		free(c->care.stewards[i].mobile);
	}
	free(c->care.stewards);
}

const char *
config_steward(const struct config *c, const char *household)
{
	size_t i, n = strcspn(household, "-");

	for (i = 0; i < c->care.nstewards; i++)
		if (strlen(c->care.stewards[i].building) == n &&
		    strncmp(c->care.stewards[i].building, household, n) == 0)
			return c->care.stewards[i].mobile;
	return NULL;
}
