/*
 * ctl_visitor.c - gatewayctl visitor add|list|remove: visitors written
 * to access.d/visitors.ini (checked whole first, then renamed into
 * place) and gatewayd asked to reload, so the INI files stay the one
 * source of truth.  The text edits are visitors_file.c's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "config.h"
#include "ctl.h"
#include "datetime.h"
#include "plate.h"
#include "visitors_file.h"

#define FILE_NAME         "visitors.ini"
#define RELOAD_TIMEOUT_MS 10000

/* ---- shared ---- */

static char *
file_path(const struct ctl *c)
{
	char *path;

	if (asprintf(&path, "%s/%s", c->cfg->access_dir, FILE_NAME) < 0)
		return NULL;
	return path;
}

static int
read_text(const char *path, struct visitors_text *t)
{
	bool missing;

	if (visitors_file_read(path, t, &missing) < 0) {
		fprintf(stderr, "gatewayctl visitor: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The whole of access.d as it would be with text as visitors.ini: staged
 * beside it, loaded, and renamed over it only when it loads without a
 * problem.  Problems are printed under the file's real name.
 */
static int
check_and_write(struct ctl *c, const char *path, const struct visitors_text *t)
{
	struct access_tables *tables;
	struct diag diag;
	char tmp[4096];

	if (visitors_file_stage(path, t, tmp, sizeof(tmp)) < 0) {
		fprintf(stderr, "gatewayctl visitor: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	diag_init(&diag);
	tables = access_load_with(c->cfg, &diag, FILE_NAME, tmp);
	if (tables == NULL) {
		diag_sort(&diag);
		diag_print(stderr, &diag);
		fprintf(stderr,
		    "gatewayctl visitor: refused: %s is unchanged\n", path);
		diag_free(&diag);
		unlink(tmp);
		return -1;
	}
	access_free(tables);
	diag_free(&diag);
	if (visitors_file_commit(tmp, path) < 0) {
		fprintf(stderr, "gatewayctl visitor: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* gatewayd told to reload; what it said, printed.  The exit status. */
static int
reload(struct ctl *c, const char *done, json_t *out)
{
	json_t *req = json_pack("{s:s}", "cmd", "reload"), *answer = NULL;
	const json_t *r, *e;
	size_t i;
	int rc;

	rc = ctl_request(c, req, &answer, RELOAD_TIMEOUT_MS, false);
	json_decref(req);
	if (rc == CTL_DOWN) {
		if (!c->json)
			printf("%s; gatewayd is not running: it takes effect "
			       "when gatewayd starts\n",
			    done);
		json_object_set_new(out, "reload", json_null());
		return CTL_DOWN;
	}
	r = json_object_get(answer, "reload");
	json_object_set(out, "reload", r ? (json_t *)r : json_null());
	if (rc == CTL_OK && json_is_true(json_object_get(r, "ok"))) {
		if (!c->json)
			printf("%s; reloaded: %s\n", done,
			    json_string_value(json_object_get(r, "tables")));
	} else {
		rc = CTL_REFUSED;
		fprintf(stderr, "%s, but gatewayd did not reload it:\n", done);
		json_array_foreach(json_object_get(r, "errors"), i, e)
		    fprintf(stderr, "%s\n", json_string_value(e));
	}
	json_decref(answer);
	return rc;
}

/* The text written, then the reload: the exit status, --json printed. */
static int
write_and_reload(struct ctl *c, const char *path, const struct visitors_text *t,
    const char *done, json_t *out)
{
	int rc;

	if (check_and_write(c, path, t) < 0) {
		json_decref(out);
		return CTL_REFUSED;
	}
	json_object_set_new(out, "file", json_string(path));
	rc = reload(c, done, out);
	if (c->json)
		ctl_print_json(out);
	json_decref(out);
	return rc;
}

/* ---- add ---- */

struct add_args {
	struct visitors_entry e;
	char plate[PLATE_MAX];
	char from[32], until[32];
};

static int
parse_when(const char *opt, const char *s, char *out, size_t size)
{
	long long ms = ctl_parse_time(s);

	if (ms < 0)
		return ctl_usage("visitor", "bad time for %s: '%s'", opt, s);
	datetime_format_local(ms / 1000, out, size);
	return 0;
}

static int
add_option(struct add_args *a, int c, const char *arg)
{
	char *end;

	switch (c) {
	case 'H':
		a->e.host = arg;
		return 0;
	case 'n':
		a->e.name = arg;
		return 0;
	case 'p':
		if (plate_normalise(arg, a->plate, sizeof(a->plate)) < 0)
			return ctl_usage("visitor",
			    "bad plate '%s' (7 or 8 characters)", arg);
		a->e.plate = a->plate;
		return 0;
	case 'P':
		a->e.person = arg;
		return 0;
	case 'c':
		a->e.card = arg;
		return 0;
	case 'f':
		return parse_when("--from", arg, a->from, sizeof(a->from));
	case 'u':
		return parse_when("--until", arg, a->until, sizeof(a->until));
	case 'e':
		errno = 0;
		a->e.entries = strtol(arg, &end, 10);
		if (errno || *end || end == arg || a->e.entries < 1)
			return ctl_usage("visitor",
			    "bad --entries '%s' (a number from 1)", arg);
		return 0;
	case 'i':
		a->e.id = arg;
		return 0;
	}
	return ctl_usage("visitor", "unknown option");
}

static int
parse_add(struct ctl *c, int argc, char **argv, struct add_args *a)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "name", required_argument, NULL, 'n' },
		{ "plate", required_argument, NULL, 'p' },
		{ "person", required_argument, NULL, 'P' },
		{ "card", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "until", required_argument, NULL, 'u' },
		{ "entries", required_argument, NULL, 'e' },
		{ "id", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'j')
			c->json = true;
		else if (add_option(a, o, optarg) != 0)
			return CTL_USAGE;
	}
	if (optind < argc)
		return ctl_usage("visitor", "unexpected '%s'", argv[optind]);
	if (a->e.host == NULL || a->e.name == NULL || !a->from[0] ||
	    !a->until[0])
		return ctl_usage("visitor",
		    "add needs --host, --name, --from and --until");
	if (!a->e.plate && !a->e.person && !a->e.card)
		return ctl_usage("visitor",
		    "add needs --plate, --person or --card");
	a->e.from = a->from;
	a->e.until = a->until;
	return 0;
}

struct taken {
	const struct visitors_text *text;
	struct access_tables *tables; /* NULL if they do not load */
};

static bool
is_taken(void *arg, const char *id)
{
	const struct taken *t = arg;

	return visitors_file_has(t->text, id) ||
	    (t->tables != NULL && access_find_visitor(t->tables, id));
}

/* V<today>-<nnn>, the first free in every file of access.d. */
static int
new_id(struct ctl *c, const struct visitors_text *text, char *id, size_t size)
{
	struct taken t = { .text = text };
	time_t now = time(NULL);
	struct diag diag;
	struct tm tm;
	int rc;

	diag_init(&diag);
	t.tables = access_load(c->cfg, &diag);
	diag_free(&diag);
	localtime_r(&now, &tm);
	rc = visitors_file_next_id((tm.tm_year + 1900) * 10000 +
	        (tm.tm_mon + 1) * 100 + tm.tm_mday,
	    is_taken, &t, id, size);
	access_free(t.tables);
	if (rc < 0)
		fprintf(stderr,
		    "gatewayctl visitor: no free id today: "
		    "give one with --id\n");
	return rc;
}

static json_t *
entry_json(const struct visitors_entry *e)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", e->id, "host",
	    e->host, "name", e->name, "from", e->from, "until", e->until);

	if (e->plate)
		json_object_set_new(o, "plate", json_string(e->plate));
	if (e->person)
		json_object_set_new(o, "person", json_string(e->person));
	if (e->card)
		json_object_set_new(o, "card", json_string(e->card));
	json_object_set_new(o, "entries",
	    json_integer(e->entries ? e->entries : 1));
	return o;
}

static int
add(struct ctl *c, int argc, char **argv)
{
	struct add_args a = { 0 };
	struct visitors_text in, out;
	char id[32], done[256], *path;
	int rc;

	rc = parse_add(c, argc, argv, &a);
	if (rc != 0)
		return rc;
	path = file_path(c);
	if (path == NULL || read_text(path, &in) < 0) {
		free(path);
		return CTL_REFUSED;
	}
	rc = CTL_REFUSED;
	if (a.e.id == NULL && new_id(c, &in, id, sizeof(id)) == 0)
		a.e.id = id;
	if (a.e.id == NULL) {
		/* new_id() said why */
	} else if (visitors_file_add(&in, &a.e, &out) < 0) {
		fprintf(stderr,
		    "gatewayctl visitor: a value cannot be written as "
		    "given (a line end, or ';' or '#' after a space)\n");
	} else {
		snprintf(done, sizeof(done), "visitor %s added to %s", a.e.id,
		    path);
		rc = write_and_reload(c, path, &out, done,
		    json_pack("{s:o}", "added", entry_json(&a.e)));
		free(out.text);
	}
	free(in.text);
	free(path);
	return rc;
}

/* ---- remove ---- */

static int
remove_visitor(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct visitors_text in, out;
	char done[256], *path;
	int o, rc;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o != 'j')
			return ctl_usage("visitor", "unknown option");
		c->json = true;
	}
	if (optind + 1 != argc)
		return ctl_usage("visitor", "remove takes one visitor id");
	path = file_path(c);
	if (path == NULL || read_text(path, &in) < 0) {
		free(path);
		return CTL_REFUSED;
	}
	rc = visitors_file_remove(&in, argv[optind], &out);
	if (rc == 0) {
		fprintf(stderr, "gatewayctl visitor: no [visitor %s] in %s\n",
		    argv[optind], path);
		rc = CTL_REFUSED;
	} else if (rc < 0) {
		fprintf(stderr, "gatewayctl visitor: out of memory\n");
		rc = CTL_REFUSED;
	} else {
		snprintf(done, sizeof(done), "visitor %s removed from %s",
		    argv[optind], path);
		rc = write_and_reload(c, path, &out, done,
		    json_pack("{s:s}", "removed", argv[optind]));
		free(out.text);
	}
	free(in.text);
	free(path);
	return rc;
}

/* ---- list ---- */

/* Entries used: allowed in, on foot or by car (the events_visits index). */
static long long
used(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st;
	long long n = -1;

	if (db == NULL ||
	    sqlite3_prepare_v2(db,
	        "SELECT count(*) FROM events WHERE subject_id = ?"
	        " AND kind IN ('access', 'vehicle')"
	        " AND subject_type = 'visitor' AND decision = 'allow'"
	        " AND direction = 'in'",
	        -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* The journal if gatewayd has made one: a new compound has none yet. */
static sqlite3 *
journal_if_any(struct ctl *c)
{
	char *path;
	bool there;

	if (asprintf(&path, "%s/journal.db", c->cfg->data_dir) < 0)
		return NULL;
	there = access(path, F_OK) == 0;
	free(path);
	return there ? ctl_journal(c) : NULL;
}

static const char *
opt_str(const struct access_tables *t, access_str_t s)
{
	return s != 0 ? access_str(t, s) : NULL;
}

static void
set_opt(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

static json_t *
visitor_json(const struct access_tables *t, const struct access_visitor *v,
    long long n)
{
	char from[32], until[32];
	json_t *o;

	datetime_format_local(v->from, from, sizeof(from));
	datetime_format_local(v->until, until, sizeof(until));
	o = json_pack("{s:s, s:s, s:s, s:s, s:i}", "id", access_str(t, v->id),
	    "host", access_str(t, v->host), "from", from, "until", until,
	    "entries", (int)v->entries);
	set_opt(o, "name", opt_str(t, v->name));
	set_opt(o, "plate", opt_str(t, v->plate));
	set_opt(o, "person", opt_str(t, v->person));
	set_opt(o, "card", opt_str(t, v->card));
	json_object_set_new(o, "used", n >= 0 ? json_integer(n) : json_null());
	return o;
}

static void
visitor_row(struct ctl_table *tab, const struct access_tables *t,
    const struct access_visitor *v, long long n)
{
	char from[32], until[32], entries[48];
	const char *cells[10];

	datetime_format_local(v->from, from, sizeof(from));
	datetime_format_local(v->until, until, sizeof(until));
	if (n >= 0)
		snprintf(entries, sizeof(entries), "%lld/%u", n,
		    (unsigned)v->entries);
	else
		snprintf(entries, sizeof(entries), "?/%u",
		    (unsigned)v->entries);
	cells[0] = access_str(t, v->id);
	cells[1] = opt_str(t, v->name);
	cells[2] = access_str(t, v->host);
	cells[3] = opt_str(t, v->plate);
	cells[4] = opt_str(t, v->person);
	cells[5] = opt_str(t, v->card);
	cells[6] = from;
	cells[7] = until;
	cells[8] = entries;
	ctl_table_row(tab, cells);
}

static int
list(struct ctl *c, int argc, char **argv)
{
	static const char *const headers[] = { "id", "name", "host", "plate",
		"person", "card", "from", "until", "used", NULL };
	const struct access_visitor *v;
	struct access_tables *t;
	struct ctl_table *tab = NULL;
	struct diag diag;
	json_t *all = json_array();
	sqlite3 *db;
	size_t i;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return ctl_usage("visitor", "list takes only --json");
	c->json = c->json || argc == 2;
	diag_init(&diag);
	t = access_load(c->cfg, &diag);
	diag_sort(&diag);
	diag_print(stderr, &diag);
	diag_free(&diag);
	if (t == NULL)
		return CTL_REFUSED;
	db = journal_if_any(c);
	for (i = 0; i < access_nvisitors(t); i++) {
		v = access_visitor_at(t, i);
		if (c->json) {
			json_array_append_new(all,
			    visitor_json(t, v, used(db, access_str(t, v->id))));
			continue;
		}
		if (tab == NULL)
			tab = ctl_table_new(headers);
		visitor_row(tab, t, v, used(db, access_str(t, v->id)));
	}
	if (c->json)
		ctl_print_json(all);
	else
		ctl_table_print(tab, stdout);
	json_decref(all);
	sqlite3_close(db);
	access_free(t);
	return CTL_OK;
}

static int
run(struct ctl *c, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage("visitor", "add, list or remove?");
	optind = 1;
	if (strcmp(argv[1], "add") == 0)
		return add(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return remove_visitor(c, argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return list(c, argc - 1, argv + 1);
	return ctl_usage("visitor", "no visitor command '%s'", argv[1]);
}

const struct ctl_command ctl_visitor_command = {
	.name = "visitor",
	.summary = "add, list or remove visitors (access.d/visitors.ini)",
	.help =
	    "usage: gatewayctl visitor add --host HOUSEHOLD --name NAME\n"
	    "           [--plate P] [--person ID] [--card N] --from T --until "
	    "T\n"
	    "           [--entries N] [--id ID] [--json]\n"
	    "       gatewayctl visitor list [--json]\n"
	    "       gatewayctl visitor remove ID [--json]\n"
	    "\n"
	    "add writes a [visitor] section at the end of "
	    "access.d/visitors.ini\n"
	    "(made if absent), remove takes one out; every other line of the\n"
	    "file stays as it was.  The whole of access.d is checked first: "
	    "on\n"
	    "any problem it is printed as file:line and the file is left as "
	    "it\n"
	    "was (exit 1).  Then gatewayd reloads; if it is not running, the\n"
	    "file is written and takes effect when it starts (exit 3).\n"
	    "The visitor needs a plate, a person id (what a face terminal\n"
	    "reports) or a card; the id is V<today>-<nnn> unless --id gives "
	    "one;\n"
	    "--entries defaults to 1.  T is \"2026-11-23 09:00\", 14:00 "
	    "(today),\n"
	    "-1h or now, in the gateway's time zone.\n"
	    "list shows every visitor of access.d, and the entries used (from\n"
	    "the journal).\n",
	.run = run,
};
