/*
 * ctl_status.c - gatewayctl status, check, reload and incidents: what
 * the gateway is doing, and whether its configuration holds.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "config.h"
#include "ctl.h"
#include "datetime.h"
#include "diag.h"

/* --json, and nothing else: the options of commands without any. */
static int
json_only(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'j')
			return ctl_usage(argv[0], "unknown option");
		c->json = true;
	}
	if (optind < argc)
		return ctl_usage(argv[0], "unexpected '%s'", argv[optind]);
	return CTL_OK;
}

/* {"cmd":cmd} asked: ctl_request()'s outcome. */
static int
simple_request(struct ctl *c, const char *cmd, json_t **a, int timeout_ms,
    bool quiet)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd);
	int rc = ctl_request(c, req, a, timeout_ms, quiet);

	json_decref(req);
	return rc;
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

/* "2026-11-23T14:00:00.123+08:00" as people read it: "11-23 14:00:00". */
static void
short_time(const char *rfc3339, char *out, size_t size)
{
	if (rfc3339 == NULL || strlen(rfc3339) < 19)
		snprintf(out, size, "-");
	else
		snprintf(out, size, "%.5s %.8s", rfc3339 + 5, rfc3339 + 11);
}

static void
uptime(json_int_t s, char *out, size_t size)
{
	if (s >= 86400)
		snprintf(out, size, "%lldd %02lldh", (long long)s / 86400,
		    (long long)s % 86400 / 3600);
	else
		snprintf(out, size, "%lldh %02lldm", (long long)s / 3600,
		    (long long)s % 3600 / 60);
}

/* A sink's state in one line: "ok, backlog 0, delivered 12". */
static void
sink_line(const json_t *s, char *out, size_t size)
{
	json_t *backlog = json_object_get(s, "backlog");
	int n;

	n = snprintf(out, size, "%s", str(s, "state"));
	if (json_is_integer(backlog) && n >= 0 && (size_t)n < size)
		n += snprintf(out + n, size - (size_t)n, ", backlog %lld",
		    (long long)json_integer_value(backlog));
	if (json_is_integer(json_object_get(s, "age_s")) && n >= 0 &&
	    (size_t)n < size)
		n += snprintf(out + n, size - (size_t)n, " (oldest %llds old)",
		    (long long)json_integer_value(json_object_get(s, "age_s")));
	if (json_object_get(s, "last_error") != NULL && n >= 0 &&
	    (size_t)n < size)
		snprintf(out + n, size - (size_t)n, "; last error: %s",
		    str(s, "last_error"));
}

static void
print_overview(const json_t *st)
{
	const json_t *mqtt = json_object_get(st, "mqtt");
	const json_t *tables = json_object_get(st, "tables");
	const json_t *last = json_object_get(tables, "last_reload");
	const json_t *fire = json_object_get(st, "fire");
	struct ctl_table *t;
	char up[32], line[512];
	const char *row[2];
	size_t i;

	uptime(json_integer_value(json_object_get(st, "uptime_s")), up,
	    sizeof(up));
	printf("%s (%s): gatewayd %s, up %s\n\n", str(st, "name"),
	    str(st, "site"), str(st, "version"), up);
	t = ctl_table_new((const char *const[]){ "", "", NULL });
	snprintf(line, sizeof(line), "%s:%lld %s", str(mqtt, "host"),
	    (long long)json_integer_value(json_object_get(mqtt, "port")),
	    json_is_true(json_object_get(mqtt, "connected")) ? "connected" :
	                                                       "NOT CONNECTED");
	ctl_table_row(t, (const char *const[]){ "broker", line });
	if (json_is_true(json_object_get(st, "broker_open")))
		ctl_table_row(t,
		    (const char *const[]){ "",
		        "OPEN TO ANYONE: clients get in without a password "
		        "(gatewayctl broker --help)" });
	snprintf(line, sizeof(line), "%s (from %s)", str(tables, "summary"),
	    str(tables, "from"));
	ctl_table_row(t, (const char *const[]){ "tables", line });
	for (i = 0; i < json_array_size(json_object_get(tables, "files")); i++)
		ctl_table_row(t,
		    (const char *const[]){ i == 0 ? "files" : "",
		        json_string_value(
		            json_array_get(json_object_get(tables, "files"),
		                i)) });
	if (json_is_object(last)) {
		snprintf(line, sizeof(line), "%s, %s",
		    json_is_true(json_object_get(last, "ok")) ? "ok" : "FAILED",
		    str(last, "tables"));
		ctl_table_row(t, (const char *const[]){ "last reload", line });
		for (i = 0;
		     i < json_array_size(json_object_get(last, "errors"));
		     i++) {
			row[0] = "";
			row[1] = json_string_value(
			    json_array_get(json_object_get(last, "errors"), i));
			ctl_table_row(t, row);
		}
	}
	snprintf(line, sizeof(line), "%s%s", str(fire, "state"),
	    json_is_true(json_object_get(fire, "holding")) ?
	        ": EVERY GATE AND BARRIER HELD OPEN" :
	        "");
	ctl_table_row(t, (const char *const[]){ "fire", line });
	snprintf(line, sizeof(line), "%lld open",
	    (long long)json_integer_value(
	        json_object_get(json_object_get(st, "incidents"), "open")));
	ctl_table_row(t, (const char *const[]){ "incidents", line });
	sink_line(json_object_get(st, "wechat"), line, sizeof(line));
	ctl_table_row(t, (const char *const[]){ "wechat", line });
	sink_line(json_object_get(json_object_get(st, "sinks"), "office"), line,
	    sizeof(line));
	ctl_table_row(t, (const char *const[]){ "office", line });
	sink_line(json_object_get(json_object_get(st, "sinks"), "uplink"), line,
	    sizeof(line));
	ctl_table_row(t, (const char *const[]){ "uplink", line });
	ctl_table_print(t, stdout);
}

static void
print_devices(const json_t *st)
{
	const json_t *v = json_object_get(st, "devices"), *d;
	struct ctl_table *t;
	char since[32], online[32];
	size_t i;

	t = ctl_table_new((const char *const[]){ "DEVICE", "KIND", "STATE",
	    "SINCE", "BUS", NULL });
	json_array_foreach(v, i, d)
	{
		short_time(json_string_value(json_object_get(d, "since")),
		    since, sizeof(since));
		ctl_table_row(t,
		    (const char *const[]){ str(d, "id"), str(d, "kind"),
		        str(d, "state"), since, str(d, "bus") });
	}
	putchar('\n');
	ctl_table_print(t, stdout);
	v = json_object_get(st, "buses");
	if (json_array_size(v) == 0)
		return;
	t = ctl_table_new(
	    (const char *const[]){ "BUS", "TYPE", "WHERE", "ONLINE", NULL });
	json_array_foreach(v, i, d)
	{
		snprintf(online, sizeof(online), "%lld of %lld",
		    (long long)json_integer_value(json_object_get(d, "online")),
		    (long long)json_integer_value(
		        json_object_get(d, "devices")));
		ctl_table_row(t,
		    (const char *const[]){ str(d, "name"), str(d, "type"),
		        str(d, "where"), online });
	}
	putchar('\n');
	ctl_table_print(t, stdout);
}

static int
status_run(struct ctl *c, int argc, char **argv)
{
	json_t *a;
	int rc = json_only(c, argc, argv);

	if (rc != CTL_OK)
		return rc;
	rc = simple_request(c, "status", &a, 5000, false);
	if (rc == CTL_OK) {
		if (c->json)
			ctl_print_json(json_object_get(a, "status"));
		else {
			print_overview(json_object_get(a, "status"));
			print_devices(json_object_get(a, "status"));
		}
	}
	json_decref(a);
	return rc;
}

const struct ctl_command ctl_status_command = {
	.name = "status",
	.summary = "what the gateway is doing: devices, buses, sinks, fire",
	.help = "usage: gatewayctl status [--json]\n"
	        "\n"
	        "The running gateway's state: its broker connection, the\n"
	        "access tables in force and the last reload (with its\n"
	        "file:line problems), the fire release, open incidents, the\n"
	        "WeChat robot, the office and uplink backlogs, then every\n"
	        "device (online or offline, since when) and Modbus bus.\n"
	        "\n"
	        "Exit status 3: gatewayd is not running.\n",
	.run = status_run,
};

/* ---- check ---- */

static int
check_run(struct ctl *c, int argc, char **argv)
{
	struct access_tables *t = NULL;
	struct config *cfg;
	struct diag diag;
	char summary[192];
	json_t *o, *errors;
	int rc = json_only(c, argc, argv);
	size_t i;

	if (rc != CTL_OK)
		return rc;
	/* As gatewayd -t: secrets read too (a key nobody can read is a
	 * problem the daemon would have). */
	diag_init(&diag);
	cfg = config_load(c->config_path, &diag);
	if (cfg != NULL)
		t = access_load(cfg, &diag);
	diag_sort(&diag);
	errors = json_array();
	for (i = 0; i < diag.n; i++) {
		char line[600];

		diag_format(&diag.v[i], line, sizeof(line));
		json_array_append_new(errors, json_string(line));
	}
	summary[0] = '\0';
	if (t != NULL)
		access_summary(t, cfg, summary, sizeof(summary));
	rc = diag_errors(&diag) > 0 || t == NULL ? CTL_REFUSED : CTL_OK;
	if (c->json) {
		o = json_pack("{s:b,s:s,s:o}", "ok", rc == CTL_OK, "tables",
		    summary, "problems", errors);
		ctl_print_json(o);
		json_decref(o);
	} else {
		diag_print(stderr, &diag);
		json_decref(errors);
		if (rc == CTL_OK)
			printf("%s: ok: %s\n", c->config_path, summary);
	}
	access_free(t);
	config_free(cfg);
	diag_free(&diag);
	return rc;
}

const struct ctl_command ctl_check_command = {
	.name = "check",
	.summary = "check gateway.ini and access.d, as gatewayd -t",
	.help = "usage: gatewayctl check [--json]\n"
	        "\n"
	        "Reads gateway.ini and every file in access.d as gatewayd\n"
	        "would, without touching the running gateway.  Every problem\n"
	        "is printed as file:line: what is wrong (exit 1); otherwise\n"
	        "one line with what the tables hold (exit 0).  Secret files\n"
	        "are read too: run it as the gateway's user or root.\n",
	.run = check_run,
};

/* ---- reload ---- */

static int
reload_run(struct ctl *c, int argc, char **argv)
{
	const json_t *r, *errors;
	json_t *a;
	size_t i;
	int rc = json_only(c, argc, argv);

	if (rc != CTL_OK)
		return rc;
	rc = simple_request(c, "reload", &a, 30000, true);
	r = json_object_get(a, "reload");
	if (c->json && r != NULL)
		ctl_print_json(r);
	else if (r != NULL) {
		errors = json_object_get(r, "errors");
		for (i = 0; i < json_array_size(errors); i++)
			fprintf(rc == CTL_OK ? stdout : stderr, "%s\n",
			    json_string_value(json_array_get(errors, i)));
		if (rc == CTL_OK)
			printf("reloaded in %lld ms: %s\n",
			    (long long)json_integer_value(
			        json_object_get(r, "ms")),
			    str(r, "tables"));
		else
			fprintf(stderr,
			    "reload failed: the tables in force stay as "
			    "they were (%s)\n",
			    str(r, "tables"));
	} else if (a != NULL)
		fprintf(stderr, "gatewayctl: %s\n", str(a, "error"));
	json_decref(a);
	return rc;
}

const struct ctl_command ctl_reload_command = {
	.name = "reload",
	.summary = "read access.d and the secret files again",
	.help = "usage: gatewayctl reload [--json]\n"
	        "\n"
	        "The running gateway reads access.d again (as on SIGHUP), and\n"
	        "the WeChat key and office token files.  Prints the result:\n"
	        "what the tables hold, or every problem as file:line (exit\n"
	        "1; the tables in force stay as they were).\n",
	.run = reload_run,
};

/* ---- incidents ---- */

static int
incidents_run(struct ctl *c, int argc, char **argv)
{
	const json_t *v, *i;
	struct ctl_table *t;
	char n[16], events[16], opened[32];
	json_t *a;
	size_t k;
	int rc = json_only(c, argc, argv);

	if (rc != CTL_OK)
		return rc;
	rc = simple_request(c, "incidents", &a, 5000, false);
	v = json_object_get(a, "incidents");
	if (rc == CTL_OK && c->json)
		ctl_print_json(v);
	else if (rc == CTL_OK && json_array_size(v) == 0)
		printf("no open incidents\n");
	else if (rc == CTL_OK) {
		t = ctl_table_new(
		    (const char *const[]){ "#", "STATE", "SEVERITY", "TYPE",
		        "DEVICE", "OPENED", "EVENTS", "ACKED BY", NULL });
		json_array_foreach(v, k, i)
		{
			snprintf(n, sizeof(n), "%lld",
			    (long long)json_integer_value(
			        json_object_get(i, "incident")));
			snprintf(events, sizeof(events), "%lld",
			    (long long)json_integer_value(
			        json_object_get(i, "events")));
			short_time(json_string_value(
			               json_object_get(i, "opened")),
			    opened, sizeof(opened));
			ctl_table_row(t,
			    (const char *const[]){ n, str(i, "state"),
			        str(i, "severity"), str(i, "type"),
			        str(i, "device"), opened, events,
			        str(i, "acked_by") });
		}
		ctl_table_print(t, stdout);
	}
	json_decref(a);
	return rc;
}

const struct ctl_command ctl_incidents_command = {
	.name = "incidents",
	.summary = "the open incidents",
	.help = "usage: gatewayctl incidents [--json]\n"
	        "\n"
	        "Every incident not yet resolved: its number, state (open or\n"
	        "acked), severity, type, device, when it opened, how many\n"
	        "events joined it and who acknowledged it.  gatewayctl ack N\n"
	        "and resolve N move them.\n",
	.run = incidents_run,
};
