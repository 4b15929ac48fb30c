/*
 * ctl_explain.c - gatewayctl explain WHO [GATE] [--at TIME]: would this
 * person, card or plate pass, and why not, with the file:line that
 * decided.  gatewayd answers from the tables and live state in force
 * (explain.h); this only asks and prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"

#define EXPLAIN_TIMEOUT_MS 5000

static const char help[] =
    "usage: gatewayctl explain WHO [GATE] [--at TIME] [--json]\n"
    "\n"
    "Would WHO pass GATE now (or at TIME), and if not, why not: in words,\n"
    "with the file:line in access.d of the entry that decided.  The\n"
    "gateway's own rules answer, with the access files and the live\n"
    "state in force (a visitor's entries used, the car park's occupancy,\n"
    "a fire release); nothing is opened and nothing is counted.\n"
    "\n"
    "WHO    a person id (P0001), a card number, a visitor id (or the\n"
    "       person id or card a visitor was given), or a plate\n"
    "       (\"吉A 12345\" and \"吉a·12345\" are one plate)\n"
    "GATE   a gate or barrier id; without it, every gate (for a person,\n"
    "       card or visitor) and every barrier (for a plate or a\n"
    "       visitor's car)\n"
    "\n"
    "A face is asked at the gate's min_score, a plate as read coming in\n"
    "at its camera's min_confidence.\n"
    "\n"
    "options:\n"
    "  --at TIME   decide at TIME instead of now: \"2026-11-23 22:14\",\n"
    "              \"2026-11-23\", \"22:14\" (today), \"-2h\", \"now\"\n"
    "  --json      the gateway's whole answer as one JSON document\n"
    "  -h, --help  this text\n"
    "\n"
    "exit status: 0 every gate asked would let WHO through, 1 one or more\n"
    "would refuse or WHO is unknown, 2 usage, 3 the gateway is not\n"
    "running\n"
    "\n"
    "example:\n"
    "  $ gatewayctl explain C0001 gate-north --at 22:14\n"
    "  C0001 王阿姨 (person): access.d/staff.ini:4, at 2026-11-23 22:14\n"
    "  DEVICE      PASS  REASON         WHY                        WHERE\n"
    "  gate-north  no    outside_hours  group cleaner lets in ...  "
    "access.d/groups.ini:7\n";

static const char *
get(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* "P0001 张三 (person, 5-2-301): access.d/x.ini:6, at 2026-11-23 22:14" */
static void
print_who(const json_t *e)
{
	const char *name = get(e, "name"), *home = get(e, "household");

	if (!json_is_true(json_object_get(e, "found"))) {
		printf("%s: %s, at %s\n", get(e, "who"), get(e, "words"),
		    get(e, "at"));
		return;
	}
	if (home[0] == '\0')
		home = get(e, "host");
	printf("%s%s%s (%s%s%s): %s, at %s\n", get(e, "who"),
	    name[0] ? " " : "", name, get(e, "as"), home[0] ? ", " : "", home,
	    get(e, "where"), get(e, "at"));
	if (strcmp(get(e, "as"), "denied") == 0)
		printf("denied: %s\n", get(e, "reason"));
}

/* The verdicts, aligned by display width. */
static void
print_verdicts(const json_t *verdicts)
{
	static const char *const headers[] = { "DEVICE", "PASS", "REASON",
		"WHY", "WHERE", NULL };
	const char *cells[6];
	struct ctl_table *t;
	const json_t *v;
	size_t i;

	t = ctl_table_new(headers);
	json_array_foreach(verdicts, i, v)
	{
		bool allow = json_is_true(json_object_get(v, "allow"));

		cells[0] = get(v, "device");
		cells[1] = allow ? "yes" : "no";
		cells[2] = get(v, "reason");
		cells[3] = get(v, "words");
		cells[4] = json_is_string(json_object_get(v, "where")) ?
		    get(v, "where") :
		    NULL;
		cells[5] = NULL;
		ctl_table_row(t, cells);
	}
	ctl_table_print(t, stdout);
}

/* 0 when WHO is known and every verdict allows. */
static int
outcome(const json_t *e)
{
	const json_t *v;
	size_t i;

	if (!json_is_true(json_object_get(e, "found")))
		return CTL_REFUSED;
	json_array_foreach(json_object_get(e, "verdicts"), i,
	    v) if (!json_is_true(json_object_get(v,
	               "allow"))) return CTL_REFUSED;
	return CTL_OK;
}

static int
parse(struct ctl *c, int argc, char **argv, const char **who, const char **gate,
    long long *at_ms)
{
	static const struct option options[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	/* 0, not 1: glibc then forgets gatewayctl's own "+" (stop at the
	 * first operand), and --at may follow WHO. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (ch) {
		case 'a':
			*at_ms = ctl_parse_time(optarg);
			if (*at_ms < 0)
				return ctl_usage("explain", "bad time '%s'",
				    optarg);
			break;
		case 'j':
			c->json = true;
			break;
		case 'h':
			fputs(help, stdout);
			return -1;
		default:
			return ctl_usage("explain", "unknown option");
		}
	}
	if (optind >= argc || argc - optind > 2)
		return ctl_usage("explain", "WHO [GATE] expected");
	*who = argv[optind];
	*gate = argc - optind == 2 ? argv[optind + 1] : NULL;
	return 0;
}

static int
run(struct ctl *c, int argc, char **argv)
{
	const char *who = NULL, *gate = NULL;
	long long at_ms = -1;
	json_t *req, *answer = NULL, *e;
	int rc;

	rc = parse(c, argc, argv, &who, &gate, &at_ms);
	if (rc != 0)
		return rc < 0 ? CTL_OK : rc;
	req = json_pack("{s:s, s:s}", "cmd", "explain", "who", who);
	if (gate != NULL)
		json_object_set_new(req, "gate", json_string(gate));
	if (at_ms >= 0)
		json_object_set_new(req, "at_ms", json_integer(at_ms));
	rc = ctl_request(c, req, &answer, EXPLAIN_TIMEOUT_MS, false);
	json_decref(req);
	e = json_object_get(answer, "explain");
	if (rc == CTL_OK && !json_is_object(e)) {
		fprintf(stderr,
		    "gatewayctl explain: no explanation in the "
		    "gateway's answer\n");
		rc = CTL_REFUSED;
	} else if (rc == CTL_OK) {
		if (c->json) {
			ctl_print_json(e);
		} else {
			print_who(e);
			print_verdicts(json_object_get(e, "verdicts"));
		}
		rc = outcome(e);
	}
	json_decref(answer);
	return rc;
}

const struct ctl_command ctl_explain_command = {
	.name = "explain",
	.summary = "would WHO pass a gate or barrier now, and why not",
	.help = help,
	.run = run,
};
