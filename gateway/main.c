/*
 * main.c - gatewayd: the Community Gateway daemon.  It runs in the
 * foreground under systemd; -t checks the whole configuration and exits,
 * as sshd -t and nginx -t do; -T checks only what would stop a start.
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "access.h"
#include "config.h"
#include "datetime.h"
#include "daemon.h"
#include "diag.h"
#include "driver.h"
#include "log.h"
#include "snapshot.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/community-gateway/gateway.ini"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: gatewayd [-c file] [-t | -T] [-v]\n"
	    "  -c file  the installation's gateway.ini (default %s)\n"
	    "  -t       check gateway.ini and every access.d/*.ini, print "
	    "each\n"
	    "           problem as file:line: message and exit 1, or print a\n"
	    "           summary and exit 0\n"
	    "  -T       check as a start would (the unit's ExecStartPre):\n"
	    "           exit 1 only on what would stop gatewayd from starting\n"
	    "           (gateway.ini; access.d when there are no last good\n"
	    "           tables to start on)\n"
	    "  -v       log more (each -v: more)\n"
	    "  -V       print the version\n"
	    "Runs in the foreground; SIGHUP reloads access.d, SIGTERM stops.\n",
	    DEFAULT_CONFIG);
}

/*
 * access.d does not validate, at start: the last tables that loaded,
 * from data_dir, rather than no gate answered until someone fixes the
 * file.  NULL when there is no usable snapshot.
 */
static struct access_tables *
load_snapshot(const struct config *cfg, size_t problems, bool check)
{
	struct access_tables *t;
	struct config snap = *cfg;
	struct diag diag;
	char path[4096], when[40];
	int64_t saved;

	if (snapshot_find(cfg->data_dir, path, sizeof(path), &saved) < 0)
		return NULL;
	snap.access_dir = path;
	diag_init(&diag);
	t = access_load(&snap, &diag);
	diag_free(&diag);
	if (t == NULL)
		return NULL;
	datetime_format_rfc3339(saved, when, sizeof(when));
	if (check)
		log_errx("%s has %zu problems (above): gatewayd would start "
		         "on the last good access tables, saved %s",
		    cfg->access_dir, problems, when);
	else
		log_errx("%s has %zu problems (above): started on the last "
		         "good access tables, saved %s; fix the files, a "
		         "reload then takes them",
		    cfg->access_dir, problems, when);
	return t;
}

int
main(int argc, char *argv[])
{
	const char *path = DEFAULT_CONFIG;
	struct access_tables *tables = NULL;
	char summary[192];
	struct config *cfg;
	struct diag diag;
	int ch, check = 0, verbose = 0, rc;
	bool as_start = false; /* -T */
	size_t problems = 0;

	while ((ch = getopt(argc, argv, "c:htTvV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = 1;
			break;
		case 'T':
			check = 1;
			as_start = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'V':
			printf("gatewayd %s\n", GATEWAY_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init(verbose);

	diag_init(&diag);
	cfg = config_load(path, &diag);
	if (cfg != NULL) {
		/* Hours, dates and visit windows are in the compound's time. */
		setenv("TZ", cfg->timezone, 1);
		tzset();
		tables = access_load(cfg, &diag);
	}
	/* Problems, or only warnings (a file that is not read). */
	diag_sort(&diag);
	diag_print(stderr, &diag);
	if (cfg != NULL && tables == NULL && (!check || as_start)) {
		problems = diag_errors(&diag);
		tables = load_snapshot(cfg, problems, check);
	}
	if (cfg == NULL || tables == NULL) {
		if (!check)
			fprintf(stderr,
			    "gatewayd: %zu problems in the "
			    "configuration; not started\n",
			    diag_errors(&diag));
		diag_free(&diag);
		config_free(cfg);
		return 1;
	}
	diag_free(&diag);

	if (check) {
		access_summary(tables, cfg, summary, sizeof(summary));
		printf("%s\n", summary);
		access_free(tables);
		config_free(cfg);
		return 0;
	}

	/*
	 * One malloc arena for every thread: glibc gives each thread that
	 * allocates (the journal's, its syncer, libuv's workers) an arena of
	 * its own, and their free pages add megabytes of RSS that a Pi's
	 * budget has no room for.  The threads allocate little; the loop's
	 * lock on the arena is uncontended nearly always.
	 */
	mallopt(M_ARENA_MAX, 1);
	mosquitto_lib_init();
	rc = daemon_run(cfg, tables, problems);
	mosquitto_lib_cleanup();
	config_free(cfg);
	return rc;
}
