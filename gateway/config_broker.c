/*
 * config_broker.c - [broker]: the local mosquitto's listeners and the
 * staff's and displays' password files, which `gatewayctl broker` turns
 * into mosquitto's configuration.  Part of gateway.ini's reader
 * (config.c); the gateway itself neither listens nor reads these secrets.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"
#include "util.h"

#define C(member) offsetof(struct config, member)

static int set_listen(void *obj, const char *value, char *err, size_t errlen);
static int set_tls_listen(void *obj, const char *value, char *err,
    size_t errlen);

/* Secrets are named only: gatewayctl broker, as root, reads them. */
const struct schema_key config_broker_keys[] = {
	{ .name = "listen", .type = SCHEMA_CUSTOM, .set = set_listen },
	{ .name = "tls_listen", .type = SCHEMA_CUSTOM, .set = set_tls_listen },
	{ .name = "ca_file", .type = SCHEMA_PATH, .offset = C(broker.ca_file) },
	{ .name = "cert_file",
	    .type = SCHEMA_PATH,
	    .offset = C(broker.cert_file) },
	{ .name = "key_file",
	    .type = SCHEMA_PATH,
	    .offset = C(broker.key_file) },
	{ .name = "staff_password_file",
	    .type = SCHEMA_PATH,
	    .offset = C(broker.staff_password_file) },
	{ .name = "display_password_file",
	    .type = SCHEMA_PATH,
	    .offset = C(broker.display_password_file) },
	SCHEMA_END,
};

#undef C

/*
 * "1883", "0.0.0.0:1883", "192.168.1.2:1883" or "[::]:1883": an address
 * mosquitto binds ("" for every one) and a port.
 */
static int
parse_listen(const char *key, const char *value, char **addr, int *port,
    char *err, size_t errlen)
{
	const char *colon = strrchr(value, ':'), *p = value, *given = value;
	size_t alen = 0;
	long n;

	if (colon != NULL) {
		p = colon + 1;
		alen = (size_t)(colon - value);
		if (value[0] == '[' && alen >= 2 && value[alen - 1] == ']') {
			value++;
			alen -= 2;
		}
	}
	if (parse_long(p, 1, 65535, &n) < 0 || (colon != NULL && alen == 0) ||
	    strpbrk(value, " \t") != NULL) {
		snprintf(err, errlen,
		    "bad %s '%s' (ADDRESS:PORT, 0.0.0.0:1883, or a port)", key,
		    given);
		return -1;
	}
	free(*addr);
	if (asprintf(addr, "%.*s", (int)alen, value) < 0)
		diag_oom();
	*port = (int)n;
	return 0;
}

static int
set_listen(void *obj, const char *value, char *err, size_t errlen)
{
	struct config *c = obj;

	if (parse_listen("listen", value, &c->broker.listen_addr,
	        &c->broker.listen_port, err, errlen) < 0)
		return -1;
	free(c->broker.listen);
	c->broker.listen = diag_strdup(value);
	return 0;
}

static int
set_tls_listen(void *obj, const char *value, char *err, size_t errlen)
{
	struct config *c = obj;

	if (parse_listen("tls_listen", value, &c->broker.tls_addr,
	        &c->broker.tls_port, err, errlen) < 0)
		return -1;
	free(c->broker.tls_listen);
	c->broker.tls_listen = diag_strdup(value);
	return 0;
}

void *
config_broker_begin(struct section_reader *r, int line, const char *name)
{
	struct parse *p = section_ctx(r);

	(void)name;
	p->cfg->broker.line = line;
	return p->cfg;
}

void
config_broker_defaults(struct config *c)
{
	(void)c;
}

/* TLS needs the broker's certificate and key; they mean nothing alone. */
void
config_broker_finish(struct parse *p)
{
	struct config *c = p->cfg;
	struct config_broker *b = &c->broker;

	if (b->listen == NULL) {
		b->listen = diag_strdup("0.0.0.0:1883");
		b->listen_addr = diag_strdup("0.0.0.0");
		b->listen_port = 1883;
	}
	if (b->tls_listen != NULL &&
	    (b->cert_file == NULL || b->key_file == NULL))
		diag_add(p->diag, c->path, b->line,
		    "broker: tls_listen needs cert_file and key_file");
	if (b->tls_listen == NULL &&
	    (b->cert_file != NULL || b->key_file != NULL || b->ca_file != NULL))
		diag_add(p->diag, c->path, b->line,
		    "broker: ca_file, cert_file and key_file are for "
		    "tls_listen");
	if (b->tls_listen != NULL && b->tls_port == b->listen_port &&
	    strcmp(b->tls_addr, b->listen_addr) == 0)
		diag_add(p->diag, c->path, b->line,
		    "broker: listen and tls_listen are the same (%s)",
		    b->listen);
}

void
config_broker_free(struct config *c)
{
	schema_free(config_broker_keys, c);
	free(c->broker.listen);
	free(c->broker.listen_addr);
	free(c->broker.tls_listen);
	free(c->broker.tls_addr);
}
