/*
 * ctl.h - gatewayctl, the staff's and the installer's tool: what its
 * commands (ctl_*.c) share.  Anything that changes state or needs live
 * state is asked of gatewayd over its control socket (control.h has the
 * protocol); history is read from the journal, opened read-only.
 */
#ifndef CTL_H
#define CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>
#include <sqlite3.h>

struct config;

/* Exit statuses, as gatewayctl(1) documents them. */
enum ctl_exit {
	CTL_OK = 0,      /* done */
	CTL_REFUSED = 1, /* refused, not found, or it failed */
	CTL_USAGE = 2,   /* the command line is wrong */
	CTL_DOWN = 3,    /* gatewayd is not running (no control socket) */
};

struct ctl {
	const char *config_path; /* -c, or the default */
	struct config *cfg;      /* gateway.ini, loaded */
	bool json;               /* --json: one JSON document on stdout */
	const char *socket_path; /* [control] socket */
};

/* One command: name, one line of what it does, its --help text, and the
 * function that runs it (argv[0] is the command's name). */
struct ctl_command {
	const char *name;
	const char *summary;
	const char *help;
	int (*run)(struct ctl *, int argc, char **argv);
};

/*
 * Ask gatewayd: req (a JSON object with "cmd"; the caller's still) as one
 * line, its answer
 * read back (*answer, the caller's to json_decref).  CTL_OK when the
 * answer says "ok":true; CTL_REFUSED when "ok":false (its "error" is
 * printed to stderr unless quiet); CTL_DOWN when nobody listens, with a
 * message.  timeout_ms bounds the wait for the answer.
 */
int ctl_request(struct ctl *, json_t *req, json_t **answer, int timeout_ms,
    bool quiet);

/* The journal, read-only (SQLITE_OPEN_READONLY); NULL with a message on
 * stderr when it cannot be opened. */
sqlite3 *ctl_journal(struct ctl *);

/* --json output: the document, indented, on stdout. */
void ctl_print_json(const json_t *);

/* A usage error for cmd: the message, then "try gatewayctl CMD --help"
 * on stderr; returns CTL_USAGE. */
int ctl_usage(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Times on the command line, in the gateway's time zone: "2026-11-23",
 * "2026-11-23 14:00", "2026-11-23T14:00:05", "14:00" (today), "-2h",
 * "-30m", "-3d" (that long ago), "now".  Epoch milliseconds, or -1.
 */
long long ctl_parse_time(const char *);

/* ---- aligned tables for people: widths by display columns
 * (utf8_width(), util.h) ---- */

struct ctl_table;
/* A table with these column headers (NULL-terminated; all "": none). */
struct ctl_table *ctl_table_new(const char *const *headers);
/* A row of as many cells as headers (copied; NULL prints as "-"). */
void ctl_table_row(struct ctl_table *, const char *const *cells);
/* Printed, each column padded to its widest cell, two spaces apart;
 * then freed. */
void ctl_table_print(struct ctl_table *, FILE *);

/* The commands, each in its own ctl_*.c. */
extern const struct ctl_command ctl_status_command, ctl_check_command,
    ctl_reload_command, ctl_events_command, ctl_explain_command,
    ctl_visitor_command, ctl_open_command, ctl_incidents_command,
    ctl_ack_command, ctl_resolve_command, ctl_fire_command, ctl_charger_command,
    ctl_report_command, ctl_broker_command;

#endif
