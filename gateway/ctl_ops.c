/*
 * ctl_ops.c - what staff do through gatewayctl: ack and resolve an
 * incident, reset or test the fire release, start or stop a charging
 * port, open a gate or barrier by hand.  Each says who did it
 * (--operator); the gateway journals it and answers once it has.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "util.h"

struct args {
	const char *operator, * note, *reason;
	long seconds;
	double limit_a;
};

/* Options common to the actions; the rest of argv from optind. */
static int
parse(struct ctl *c, int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "operator", required_argument, NULL, 'o' },
		{ "note", required_argument, NULL, 'n' },
		{ "reason", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			c->json = true;
			break;
		case 'o':
			a->operator= optarg;
			break;
		case 'n':
			a->note = optarg;
			break;
		case 'r':
			a->reason = optarg;
			break;
		case 's':
			if (parse_long(optarg, 1, 3600, &a->seconds) < 0)
				return ctl_usage(argv[0],
				    "--seconds: a whole number, 1 to 3600");
			break;
		case 'l':
			if (parse_double(optarg, 1, 100, &a->limit_a) < 0)
				return ctl_usage(argv[0],
				    "--limit: amperes, 1 to 100");
			break;
		default:
			return ctl_usage(argv[0], "unknown option");
		}
	}
	return CTL_OK;
}

/* The request sent (req is taken), its outcome printed. */
static int
ask(struct ctl *c, json_t *req, const char *done)
{
	json_t *a;
	int rc = ctl_request(c, req, &a, 20000, c->json);

	json_decref(req);
	if (c->json && a != NULL)
		ctl_print_json(a);
	else if (rc == CTL_OK)
		printf("%s\n", done);
	json_decref(a);
	return rc;
}

static int
need_operator(const char *cmd, const struct args *a)
{
	if (a->operator== NULL || a->operator[0] == '\0')
		return ctl_usage(cmd, "who is it? --operator NAME is needed");
	return CTL_OK;
}

static int
incident_step(struct ctl *c, int argc, char **argv, const char *what,
    const char *done)
{
	struct args a = { 0 };
	json_t *req;
	char msg[128];
	long n;
	int rc;

	if ((rc = parse(c, argc, argv, &a)) != CTL_OK)
		return rc;
	if (optind + 1 != argc || parse_long(argv[optind], 1, 1L << 31, &n) < 0)
		return ctl_usage(argv[0],
		    "which incident? one number (see "
		    "gatewayctl incidents)");
	if ((rc = need_operator(argv[0], &a)) != CTL_OK)
		return rc;
	req = json_pack("{s:s,s:I,s:s}", "cmd", what, "incident", (json_int_t)n,
	    "operator", a.operator);
	if (a.note != NULL)
		json_object_set_new(req, "note", json_string(a.note));
	snprintf(msg, sizeof(msg), "incident #%ld %s by %s", n, done,
	    a.operator);
	return ask(c, req, msg);
}

static int
ack_run(struct ctl *c, int argc, char **argv)
{
	return incident_step(c, argc, argv, "ack", "acknowledged");
}

static int
resolve_run(struct ctl *c, int argc, char **argv)
{
	return incident_step(c, argc, argv, "resolve", "resolved");
}

const struct ctl_command ctl_ack_command = {
	.name = "ack",
	.summary = "acknowledge incident N: someone is on it",
	.help = "usage: gatewayctl ack N --operator NAME [--note TEXT] "
	        "[--json]\n"
	        "\n"
	        "Acknowledges incident N (gatewayctl incidents lists them):\n"
	        "the re-alert to the duty mobiles is off, and the record\n"
	        "says who and when (the 5341 response time).\n"
	        "Exit 1: no such incident, or it is resolved already.\n",
	.run = ack_run,
};

const struct ctl_command ctl_resolve_command = {
	.name = "resolve",
	.summary = "resolve incident N: it is fixed",
	.help = "usage: gatewayctl resolve N --operator NAME [--note TEXT] "
	        "[--json]\n"
	        "\n"
	        "Resolves incident N: no more escalations; the record says\n"
	        "who and when.  Exit 1: no such incident, or resolved "
	        "already.\n",
	.run = resolve_run,
};

/* ---- fire ---- */

static int
fire_run(struct ctl *c, int argc, char **argv)
{
	struct args a = { 0 };
	const char *what;
	json_t *req;
	char msg[160];
	int rc;

	if ((rc = parse(c, argc, argv, &a)) != CTL_OK)
		return rc;
	if (optind + 1 != argc ||
	    (strcmp(argv[optind], "reset") != 0 &&
	        strcmp(argv[optind], "test") != 0))
		return ctl_usage(argv[0], "fire reset, or fire test");
	what = argv[optind];
	if ((rc = need_operator(argv[0], &a)) != CTL_OK)
		return rc;
	req = json_pack("{s:s,s:s,s:s}", "cmd", "fire", "action", what,
	    "operator", a.operator);
	if (a.seconds > 0)
		json_object_set_new(req, "seconds", json_integer(a.seconds));
	if (strcmp(what, "reset") == 0)
		snprintf(msg, sizeof(msg),
		    "fire release reset by %s: gates and barriers back to "
		    "normal",
		    a.operator);
	else
		snprintf(msg, sizeof(msg),
		    "fire test by %s: every gate and barrier held open for "
		    "%ld s",
		    a.operator, a.seconds> 0 ? a.seconds : 10);
	return ask(c, req, msg);
}

const struct ctl_command ctl_fire_command = {
	.name = "fire",
	.summary = "reset the fire release, or test it",
	.help = "usage: gatewayctl fire reset --operator NAME [--json]\n"
	        "       gatewayctl fire test --operator NAME [--seconds N] "
	        "[--json]\n"
	        "\n"
	        "reset: after a fire alarm every gate and barrier stays open\n"
	        "until staff reset it; refused while a fire panel still says\n"
	        "alarm.\n"
	        "test: the yearly test; every gate and barrier is held open\n"
	        "for N seconds (default 10), then back to normal.\n",
	.run = fire_run,
};

/* ---- charger ---- */

static int
charger_run(struct ctl *c, int argc, char **argv)
{
	struct args a = { 0 };
	json_t *req;
	char msg[160];
	long port;
	int rc;

	if ((rc = parse(c, argc, argv, &a)) != CTL_OK)
		return rc;
	if (optind + 3 != argc ||
	    (strcmp(argv[optind], "start") != 0 &&
	        strcmp(argv[optind], "stop") != 0))
		return ctl_usage(argv[0], "charger start|stop ID PORT");
	if (parse_long(argv[optind + 2], 1, 64, &port) < 0)
		return ctl_usage(argv[0], "PORT: a number from 1");
	req = json_pack("{s:s,s:s,s:s,s:i}", "cmd", "charger", "action",
	    argv[optind], "device", argv[optind + 1], "port", (int)port);
	if (a.limit_a > 0)
		json_object_set_new(req, "limit_a", json_real(a.limit_a));
	if (a.operator!= NULL)
		json_object_set_new(req, "operator", json_string(a.operator));
	snprintf(msg, sizeof(msg), "%s port %ld: %s", argv[optind + 1], port,
	    strcmp(argv[optind], "start") == 0 ? "started" : "stopped");
	return ask(c, req, msg);
}

const struct ctl_command ctl_charger_command = {
	.name = "charger",
	.summary = "start or stop a charging port",
	.help = "usage: gatewayctl charger start ID PORT [--limit AMPS] "
	        "[--operator NAME] [--json]\n"
	        "       gatewayctl charger stop ID PORT [--operator NAME] "
	        "[--json]\n"
	        "\n"
	        "Starts or stops port PORT (from 1) of charging point ID, and\n"
	        "waits for the station to confirm.  A port cut off for heat\n"
	        "or current is not started again before it has cooled.\n",
	.run = charger_run,
};

/* ---- open ---- */

static int
open_run(struct ctl *c, int argc, char **argv)
{
	struct args a = { 0 };
	json_t *req;
	char msg[160];
	int rc;

	if ((rc = parse(c, argc, argv, &a)) != CTL_OK)
		return rc;
	if (optind + 1 != argc)
		return ctl_usage(argv[0], "which gate or barrier? one id");
	if ((rc = need_operator(argv[0], &a)) != CTL_OK)
		return rc;
	if (a.reason == NULL || a.reason[0] == '\0')
		return ctl_usage(argv[0], "why? --reason TEXT is needed");
	req = json_pack("{s:s,s:s,s:s,s:s}", "cmd", "open", "device",
	    argv[optind], "operator", a.operator, "reason", a.reason);
	snprintf(msg, sizeof(msg), "%s opened by %s", argv[optind], a.operator);
	return ask(c, req, msg);
}

const struct ctl_command ctl_open_command = {
	.name = "open",
	.summary = "open a gate or barrier by hand, saying who and why",
	.help = "usage: gatewayctl open GATE --operator NAME --reason TEXT "
	        "[--json]\n"
	        "\n"
	        "Opens gate or barrier GATE once (a barrier: its open pulse;\n"
	        "it is never closed by command).  The journal records who\n"
	        "and why before the open is sent.  Refused while the fire\n"
	        "release holds everything open anyway.\n",
	.run = open_run,
};
