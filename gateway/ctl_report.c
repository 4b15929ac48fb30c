/*
 * ctl_report.c - gatewayctl report daily: a day's report read from the
 * journal (read-only) and printed, as JSON for scripts, or handed to
 * gatewayd to send to the group robot through the journal.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "datetime.h"
#include "report.h"
#include "robot.h"
#include "util.h"

#define SEND_TIMEOUT_MS 10000

static const char help[] =
    "usage: gatewayctl report daily [--date D] [--send] [--json]\n"
    "\n"
    "The daily report of one day in the gateway's time zone, counted from\n"
    "the journal: entries and refusals per gate and barrier, visitors and\n"
    "their cars, unknown vehicles, tailgating, incidents against the 5341\n"
    "rule (acknowledged within [incidents] ack_min, resolved within their\n"
    "severity's deadline, the slowest of each), charging sessions and kWh\n"
    "per station, cut-offs for heat or current, devices offline and for\n"
    "how long, wellbeing alerts.\n"
    "\n"
    "  --date D   the day: 2026-11-23, or a time gatewayctl reads anywhere\n"
    "             (\"now\" is today, \"-2d\" the day before yesterday);\n"
    "             default: yesterday\n"
    "  --send     have gatewayd send it to the group robot as markdown\n"
    "             (plates masked, at most 4096 bytes); it goes through the\n"
    "             journal like any alert, so it is sent once the robot is\n"
    "             reachable\n"
    "  --json     the report as one JSON document (unmasked: for staff)\n"
    "\n"
    "gatewayd sends the report of the day before by itself every morning\n"
    "at [report] at (07:30).\n"
    "\n"
    "exit status: 0 done, 1 the journal cannot be read or gatewayd\n"
    "refused, 2 usage, 3 gatewayd is not running (--send)\n";

/* yyyymmdd of D, or 0. */
static int32_t
day_of(const char *d)
{
	int32_t day;
	long long ms;

	if (datetime_parse_date(d, &day) == 0)
		return day;
	ms = ctl_parse_time(d);
	return ms < 0 ? 0 : report_day_of(ms);
}

static int
send(struct ctl *c, const json_t *report)
{
	char *md = report_markdown(report, ROBOT_MARKDOWN_MAX);
	json_t *req, *answer = NULL;
	int rc;

	if (md == NULL) {
		fprintf(stderr, "gatewayctl report: out of memory\n");
		return CTL_REFUSED;
	}
	req = json_pack("{s:s,s:s}", "cmd", "notify", "text", md);
	free(md);
	if (req == NULL) {
		fprintf(stderr, "gatewayctl report: out of memory\n");
		return CTL_REFUSED;
	}
	rc = ctl_request(c, req, &answer, SEND_TIMEOUT_MS, false);
	json_decref(req);
	if (rc == CTL_OK && !c->json)
		printf("report of %s queued for the group robot\n",
		    json_string_value(json_object_get(report, "date")));
	json_decref(answer);
	return rc;
}

static int
run(struct ctl *c, int argc, char **argv)
{
	static const struct option options[] = {
		{ "date", required_argument, NULL, 'd' },
		{ "send", no_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *date = NULL;
	bool do_send = false;
	int32_t day;
	sqlite3 *db;
	json_t *report;
	char err[256], *text;
	int ch, rc = CTL_OK;

	if (argc < 2)
		return ctl_usage("report", "which report? daily");
	if (strcmp(argv[1], "daily") != 0)
		return ctl_usage("report", "no report '%s'", argv[1]);
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (ch) {
		case 'd':
			date = optarg;
			break;
		case 's':
			do_send = true;
			break;
		case 'j':
			c->json = true;
			break;
		default:
			return ctl_usage("report", "unknown option");
		}
	}
	if (optind < argc)
		return ctl_usage("report", "unexpected '%s'", argv[optind]);
	if (date != NULL) {
		day = day_of(date);
		if (day == 0)
			return ctl_usage("report", "--date %s: not a day",
			    date);
	} else {
		day = report_day_before(report_day_of(now_ms()));
	}

	db = ctl_journal(c);
	if (db == NULL)
		return CTL_REFUSED;
	report = report_daily(db, c->cfg, day, err, sizeof(err));
	sqlite3_close(db);
	if (report == NULL) {
		fprintf(stderr, "gatewayctl report: %s\n", err);
		return CTL_REFUSED;
	}
	if (do_send)
		rc = send(c, report);
	if (c->json) {
		ctl_print_json(report);
	} else if (!do_send) {
		text = report_text(report);
		if (text != NULL)
			fputs(text, stdout);
		free(text);
	}
	json_decref(report);
	return rc;
}

const struct ctl_command ctl_report_command = {
	.name = "report",
	.summary = "the daily report: print it, or send it to the robot",
	.help = help,
	.run = run,
};
