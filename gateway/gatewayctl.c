/*
 * gatewayctl.c - the staff's and the installer's tool (DESIGN 4.8):
 * gatewayctl [-c gateway.ini] COMMAND [--json] ...  Each command is in
 * its own ctl_*.c; this finds the configuration and runs one.
 */
#include <getopt.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ctl.h"
#include "diag.h"

#define DEFAULT_CONFIG "/etc/community-gateway/gateway.ini"

static const struct ctl_command *const commands[] = {
	&ctl_status_command,
	&ctl_check_command,
	&ctl_reload_command,
	&ctl_events_command,
	&ctl_explain_command,
	&ctl_visitor_command,
	&ctl_incidents_command,
	&ctl_ack_command,
	&ctl_resolve_command,
	&ctl_open_command,
	&ctl_fire_command,
	&ctl_charger_command,
	&ctl_report_command,
	&ctl_broker_command,
	NULL,
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: gatewayctl [-c gateway.ini] COMMAND [--json] "
	    "[ARGS]\n\ncommands:\n");
	for (i = 0; commands[i] != NULL; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name,
		    commands[i]->summary);
	fprintf(f,
	    "\n"
	    "gatewayctl COMMAND --help says more of each.\n"
	    "-c FILE    the gateway's gateway.ini (default " DEFAULT_CONFIG
	    ")\n"
	    "--json     one JSON document on stdout, for scripts\n"
	    "\n"
	    "exit status: 0 done, 1 refused, not found or failed, 2 usage,\n"
	    "3 the gateway is not running\n");
}

int
main(int argc, char **argv)
{
	struct ctl ctl = { .config_path = DEFAULT_CONFIG };
	const struct ctl_command *cmd = NULL;
	struct diag diag;
	size_t i;
	int c, rc;

	setlocale(LC_CTYPE, "C.UTF-8");
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return CTL_OK;
	}
	while ((c = getopt(argc, argv, "+c:h")) != -1) {
		switch (c) {
		case 'c':
			ctl.config_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0 ||
	    strcmp(argv[optind], "--help") == 0) {
		usage(stdout);
		return CTL_OK;
	}
	for (i = 0; commands[i] != NULL; i++)
		if (strcmp(commands[i]->name, argv[optind]) == 0)
			cmd = commands[i];
	if (cmd == NULL) {
		fprintf(stderr, "gatewayctl: no command '%s'\n", argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
	argc -= optind;
	argv += optind;
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(cmd->help, stdout);
			return CTL_OK;
		}
	}

	diag_init(&diag);
	ctl.cfg = config_load_flags(ctl.config_path, &diag, CONFIG_NO_SECRETS);
	if (ctl.cfg == NULL) {
		diag_sort(&diag);
		diag_print(stderr, &diag);
		diag_free(&diag);
		return CTL_REFUSED;
	}
	diag_free(&diag);
	/* Times on the command line and on screen are the compound's. */
	setenv("TZ", ctl.cfg->timezone, 1);
	tzset();
	ctl.socket_path = ctl.cfg->control.socket;
	optind = 0; /* the command's own getopt_long starts afresh (0: glibc
	             * forgets the "+" of the options before it) */
	rc = cmd->run(&ctl, argc, argv);
	config_free(ctl.cfg);
	return rc;
}
