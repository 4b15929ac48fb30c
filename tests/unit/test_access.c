/*
 * test_access.c - access.d: what the tables hold and find, an empty
 * directory letting nobody in, file order, plates, visit windows in the
 * compound's time zone, and the exact file:line text of every problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include "access.h"
#include "config.h"
#include "diag.h"
#include "driver.h"
#include "plate.h"

/*
 * A gateway.ini for access directory name (two gates) and that
 * directory, then the tables.  Problems, printed, into *problems.
 */
static struct access_tables *
load(const char *name, struct config **cfgp, char **problems)
{
	struct access_tables *t = NULL;
	struct config *cfg;
	char ini[128], text[512];
	struct diag d;
	size_t len;
	FILE *f;

	snprintf(ini, sizeof(ini), "%s.gw", name);
	snprintf(text, sizeof(text),
	    "[gateway]\nsite = test\ndata_dir = data\naccess_dir = %s\n"
	    "[device gate-north]\ndriver = face_gate\n"
	    "[device gate-south]\ndriver = face_gate\n"
	    "[device gate-garage]\ndriver = face_gate\n",
	    name);
	scratch_write(ini, text);
	diag_init(&d);
	cfg = config_load(ini, &d);
	assert_non_null(cfg);
	t = access_load(cfg, &d);
	assert_true((t != NULL) == (diag_errors(&d) == 0));
	diag_sort(&d);
	f = open_memstream(problems, &len);
	assert_non_null(f);
	diag_print(f, &d);
	fclose(f);
	diag_free(&d);
	if (cfgp != NULL)
		*cfgp = cfg;
	else
		config_free(cfg);
	return t;
}

/* Tables that must load; the problems if they do not. */
static struct access_tables *
load_ok(const char *name)
{
	struct access_tables *t;
	char *problems;

	t = load(name, NULL, &problems);
	if (t == NULL)
		fail_msg("%s", problems);
	free(problems);
	return t;
}

static void
expect_problems(const char *name, const char *want)
{
	char *problems;

	assert_null(load(name, NULL, &problems));
	assert_string_equal(problems, want);
	free(problems);
}

static int
setup(void **state)
{
	(void)state;
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
	if (scratch_enter("test_access") < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return scratch_leave();
}

static void
test_tables(void **state)
{
	const struct access_person *p;
	const struct access_vehicle *car;
	const struct access_group *g;
	const struct access_deny *dn;
	const struct access_visitor *v;
	struct access_counts n;
	struct access_tables *t;
	struct config *cfg;
	char *problems;

	(void)state;
	mkdir("full", 0700);
	scratch_write("full/groups.ini",
	    "[group resident]\ngates = *\n"
	    "[group cleaner]\ngates = gate-south, gate-north, gate-south\n"
	    "hours = mon-sat 06:00-20:00\n"
	    "[group garage]\ngates = gate-garage\nhours = 22:00-06:00\n");
	scratch_write("full/persons.ini",
	    "[person P0001]\n"
	    "name = 张三\n"
	    "household = 5-2-301\n"
	    "groups = resident, garage\n"
	    "cards = 0012345678，0012345679\n"
	    "valid_until = 2027-06-30\n"
	    "care = daily\n"
	    "[person C001]\n"
	    "name = 王阿姨\n"
	    "groups = cleaner\n"
	    "care = monthly\n"
	    "[person P0002]\n"
	    "household = 5-2-301\n"
	    "groups = resident,\n");
	scratch_write("full/visitors.ini",
	    "[visitor V1]\n"
	    "host = 5-2-301\n"
	    "name = 李四\n"
	    "person = PV001\n"
	    "card = 99887766\n"
	    "plate = 吉a·88888\n"
	    "from = 2026-11-23 09:00\n"
	    "until = 2026-11-23 21:00\n"
	    "entries = 2\n"
	    "[visitor V2]\n"
	    "host = 5-2-301\n"
	    "plate = 吉A88888\n"
	    "from = 2026-01-01 00:00\n"
	    "until = 2026-01-01 00:01\n");
	scratch_write("full/vehicles.ini",
	    "[vehicle 吉A 12345]\nhousehold = 5-2-301\nplan = monthly\n"
	    "valid_until = 2026-12-31\n"
	    "[vehicle 吉A-D1234-5]\nplan = staff\n"
	    "[vehicle ｊｉＢ１２３４５]\nplan = owner\nhousehold = "
	    "9-9-9\n");
	scratch_write("full/denied.ini",
	    "[deny P0666]\nreason = lost badge\n"
	    "[deny 吉B·00000]\nreason = blocked plate\n");
	t = load("full", &cfg, &problems);
	if (t == NULL)
		fail_msg("%s", problems);
	free(problems);

	access_counts(t, &n);
	assert_int_equal(n.groups, 3);
	assert_int_equal(n.persons, 3);
	assert_int_equal(n.visitors, 2);
	assert_int_equal(n.vehicles, 3);
	assert_int_equal(n.denied, 2);
	assert_string_equal(access_str(t, 0), "");

	/* Groups, in file order, with their gates and hours. */
	g = access_group(t, 0);
	assert_string_equal(g->name, "resident");
	assert_true(g->all_gates);
	assert_true(g->hours.always);
	assert_true(access_group_allows_gate(g, 0));
	assert_true(access_group_allows_gate(g, 2));
	g = access_group(t, 1);
	assert_string_equal(g->name, "cleaner");
	assert_false(g->all_gates);
	assert_int_equal(g->ngates, 2); /* duplicates are one */
	assert_true(access_group_allows_gate(g, 0));
	assert_true(access_group_allows_gate(g, 1));
	assert_false(access_group_allows_gate(g, 2));
	assert_false(g->hours.always);
	assert_true(schedule_allows(&g->hours, 6, 6 * 60));
	assert_false(schedule_allows(&g->hours, 0, 6 * 60));
	g = access_group(t, 2);
	assert_false(access_group_allows_gate(g, 0));
	assert_true(access_group_allows_gate(g, 2));
	assert_null(access_group(t, 3));
	assert_null(access_group(t, ACCESS_MAX_GROUPS));

	p = access_find_person(t, "P0001");
	assert_non_null(p);
	assert_string_equal(access_str(t, p->id), "P0001");
	assert_string_equal(access_str(t, p->name), "张三");
	assert_string_equal(access_str(t, p->household), "5-2-301");
	assert_int_equal(p->groups, 1 << 0 | 1 << 2);
	assert_int_equal(p->valid_until, 20270630);
	assert_int_equal(p->care, ACCESS_CARE_DAILY);
	assert_ptr_equal(access_find_card(t, "0012345678"), p);
	assert_ptr_equal(access_find_card(t, "0012345679"), p);
	/* Households are stored once. */
	assert_int_equal(access_find_person(t, "P0002")->household,
	    p->household);
	assert_int_equal(access_find_person(t, "P0002")->groups, 1);
	p = access_find_person(t, "C001");
	assert_int_equal(p->groups, 1 << 1);
	assert_int_equal(p->valid_until, 0);
	assert_int_equal(p->care, ACCESS_CARE_MONTHLY);
	assert_string_equal(access_str(t, p->household), "");
	/* Matched exactly. */
	assert_null(access_find_person(t, "p0001"));
	assert_null(access_find_person(t, "P0001 "));
	assert_null(access_find_person(t, ""));
	assert_null(access_find_person(t, NULL));
	assert_null(access_find_card(t, "12345678"));
	assert_null(access_find_card(t, "99887766")); /* a visitor's */

	v = access_find_visitor(t, "V1");
	assert_non_null(v);
	assert_ptr_equal(access_find_visitor_person(t, "PV001"), v);
	assert_ptr_equal(access_find_visitor_card(t, "99887766"), v);
	assert_null(access_find_visitor_card(t, "0012345678"));
	assert_null(access_find_visitor_person(t, "P0001"));
	assert_null(access_find_visitor_person(t, ""));
	assert_string_equal(access_str(t, v->host), "5-2-301");
	assert_string_equal(access_str(t, v->name), "李四");
	assert_string_equal(access_str(t, v->plate), "吉A88888");
	assert_int_equal(v->from, 1795395600); /* 09:00 +08:00 */
	assert_int_equal(v->until, 1795438800);
	assert_int_equal(v->entries, 2);
	v = access_find_visitor(t, "V2");
	assert_int_equal(v->entries, 1); /* the default */
	assert_int_equal(v->person, 0);
	assert_int_equal(v->card, 0);
	assert_int_equal(v->until - v->from, 60);
	assert_int_equal(access_nvisitors(t), 2);
	assert_ptr_equal(access_visitor_at(t, 1), v);
	assert_null(access_visitor_at(t, 2));

	/* Plates are stored and found normalised. */
	car = access_find_vehicle(t, "吉A12345");
	assert_non_null(car);
	assert_int_equal(car->plan, ACCESS_PLAN_MONTHLY);
	assert_int_equal(car->valid_until, 20261231);
	assert_string_equal(access_str(t, car->household), "5-2-301");
	car = access_find_vehicle(t, "吉AD12345");
	assert_int_equal(car->plan, ACCESS_PLAN_STAFF);
	assert_int_equal(car->valid_until, 0);
	car = access_find_vehicle(t, "JIB12345");
	assert_int_equal(car->plan, ACCESS_PLAN_OWNER);
	assert_string_equal(access_str(t, car->household), "9-9-9");
	assert_null(access_find_vehicle(t, "吉A 12345"));

	dn = access_find_deny(t, "P0666");
	assert_string_equal(access_str(t, dn->reason), "lost badge");
	dn = access_find_deny(t, "吉B00000");
	assert_string_equal(access_str(t, dn->reason), "blocked plate");
	assert_null(access_find_deny(t, "P0001"));

	access_free(t);
	access_free(NULL);
	config_free(cfg);
}

/* Nothing configured lets nobody in: never everybody. */
static void
test_empty(void **state)
{
	struct access_counts n;
	struct access_tables *t;
	char *problems;

	(void)state;
	mkdir("empty", 0700);
	mkdir("comments", 0700);
	scratch_write("comments/a.ini", "; nobody yet\n# 还没有人\n\n");
	scratch_write("comments/b.ini", "");
	scratch_write("comments/people.txt", "[person P0001]\ngroups = x\n");
	t = load("empty", NULL, &problems);
	assert_non_null(t);
	assert_string_equal(problems, "");
	free(problems);
	access_counts(t, &n);
	assert_int_equal(n.groups + n.persons + n.visitors + n.vehicles +
	        n.denied,
	    0);
	assert_null(access_find_person(t, "P0001"));
	assert_null(access_find_card(t, "0012345678"));
	assert_null(access_find_visitor(t, "V1"));
	assert_null(access_find_visitor_person(t, "PV001"));
	assert_null(access_find_visitor_card(t, "1"));
	assert_null(access_find_vehicle(t, "吉A12345"));
	assert_null(access_find_deny(t, "P0001"));
	assert_null(access_group(t, 0));
	assert_int_equal(access_nvisitors(t), 0);
	assert_null(access_visitor_at(t, 0));
	access_free(t);

	t = load("comments", NULL, &problems);
	assert_non_null(t);
	assert_string_equal(problems, "");
	free(problems);
	access_counts(t, &n);
	assert_int_equal(n.persons, 0);
	assert_null(access_find_person(t, "P0001"));
	access_free(t);

	expect_problems("missing.d", "missing.d: No such file or directory\n");
}

/* A comment after a value is not part of it, whether " ;" or " #". */
static void
test_inline_comments(void **state)
{
	const struct access_person *p;
	const struct access_visitor *v;
	struct access_tables *t;

	(void)state;
	mkdir("comments-inline", 0700);
	scratch_write("comments-inline/a.ini",
	    "[group g] # 住户\n"
	    "gates = gate-north, gate-south  # 两个门\n"
	    "hours = mon-fri 07:00-19:00 # 工作日\n"
	    "[person P1]\n"
	    "name = 张三 # 户主\n"
	    "household = 1-1-1  # 张家\n"
	    "groups = g\t# tab before\n"
	    "[person P2]\n"
	    "name = 李四 ; 租户\n"
	    "household = 5#楼-301\n"
	    "groups = g\n"
	    "[visitor V1]\n"
	    "host = 1-1-1 # 张家\n"
	    "person = PV1 # 访客\n"
	    "from = 2026-11-23 09:00 # 上午\n"
	    "until = 2026-11-23 21:00\n");
	t = load_ok("comments-inline");
	p = access_find_person(t, "P1");
	assert_non_null(p);
	assert_string_equal(access_str(t, p->name), "张三");
	assert_string_equal(access_str(t, p->household), "1-1-1");
	assert_int_equal(p->groups, 1);
	p = access_find_person(t, "P2");
	assert_string_equal(access_str(t, p->name), "李四");
	assert_string_equal(access_str(t, p->household), "5#楼-301");
	assert_int_equal(access_group(t, 0)->ngates, 2);
	assert_false(access_group(t, 0)->hours.always);
	v = access_find_visitor_person(t, "PV1");
	assert_non_null(v);
	assert_string_equal(access_str(t, v->host), "1-1-1");
	assert_int_equal(v->until - v->from, 12 * 3600);
	access_free(t);
}

/*
 * Every *.ini in strcmp order; other files and dotfiles are not read, and
 * a name that looks meant to be (x.ini~, NEW.INI) gets a warning.
 */
static void
test_files(void **state)
{
	struct access_tables *t;
	char *problems;

	(void)state;
	mkdir("order", 0700);
	scratch_write("order/9-a.ini",
	    "[group g]\ngates = *\n"
	    "[person P1]\ngroups = g\n");
	scratch_write("order/10-b.ini", "[person P1]\ngroups = g\n");
	scratch_write("order/.hidden.ini", "[broken\n");
	scratch_write("order/notes.txt", "[broken\n");
	scratch_write("order/old.ini~", "[broken\n");
	scratch_write("order/.ini", "[broken\n");
	/* "10-b" sorts before "9-a": the first P1 is there. */
	expect_problems("order",
	    "order/old.ini~: warning: ignored, only *.ini files are read\n"
	    "order/9-a.ini:3: duplicate person P1 (first "
	    "at order/10-b.ini:1)\n");

	/* Warnings alone load, and come in name order. */
	mkdir("near", 0700);
	scratch_write("near/people.ini", "[group g]\ngates = *\n");
	scratch_write("near/new.ini.txt", "[broken\n");
	scratch_write("near/NEW.INI", "[broken\n");
	scratch_write("near/people.ini.bak", "[broken\n");
	scratch_write("near/Old.Ini", "[broken\n");
	scratch_write("near/.people.ini.swp", "[broken\n");
	scratch_write("near/readme.txt", "[broken\n");
	t = load("near", NULL, &problems);
	assert_non_null(t);
	assert_string_equal(problems,
	    "near/NEW.INI: warning: ignored, only *.ini files are read\n"
	    "near/Old.Ini: warning: ignored, only *.ini files are read\n"
	    "near/new.ini.txt: warning: ignored, only *.ini files are read\n"
	    "near/people.ini.bak: warning: ignored, only *.ini files are "
	    "read\n");
	assert_non_null(access_group(t, 0));
	free(problems);
	access_free(t);

	/* Problems come file by file in that order, whatever found them. */
	mkdir("late", 0700);
	scratch_write("late/a.ini", "[person P1]\ngroups = nosuch\n");
	scratch_write("late/b.ini", "[person P2]\ngroups = g\nfoo = 1\n");
	scratch_write("late/c.ini", "[group g]\ngates = *\n");
	expect_problems("late",
	    "late/a.ini:2: unknown group 'nosuch'\n"
	    "late/b.ini:3: unknown key 'foo' in [person P2]\n");

	/* access_dir relative to gateway.ini's directory. */
	{
		struct config *cfg;
		struct diag d;

		mkdir("etc", 0700);
		scratch_write("etc/gw.ini",
		    "[gateway]\nsite = s\ndata_dir = d\n"
		    "access_dir = nope.d\n");
		diag_init(&d);
		cfg = config_load("etc/gw.ini", &d);
		assert_non_null(cfg);
		assert_null(access_load(cfg, &d));
		assert_int_equal(d.n, 1);
		assert_string_equal(d.v[0].file, "etc/nope.d");
		assert_string_equal(d.v[0].msg, "No such file or directory");
		diag_free(&d);
		config_free(cfg);
	}
}

/* A person's cards may take several lines; any other key only one. */
static void
test_cards_repeat(void **state)
{
	const struct access_person *p;
	struct access_tables *t;
	char text[4096], id[32];
	size_t n = 0;
	int i;

	(void)state;
	mkdir("cards", 0700);
	n += (size_t)snprintf(text + n, sizeof(text) - n,
	    "[group g]\ngates = *\n[person P1]\ngroups = g\n");
	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%010d%s",
		    i % 10 == 0 ? "cards = " : ", ", 7000000 + i,
		    i % 10 == 9 ? "\n" : "");
	snprintf(text + n, sizeof(text) - n, "name = 张三\n");
	scratch_write("cards/a.ini", text);
	t = load_ok("cards");
	p = access_find_person(t, "P1");
	assert_non_null(p);
	for (i = 0; i < 30; i++) {
		snprintf(id, sizeof(id), "%010d", 7000000 + i);
		assert_ptr_equal(access_find_card(t, id), p);
	}
	access_free(t);

	/* A card twice is still one too many, across lines too. */
	scratch_write("cards/a.ini",
	    "[group g]\ngates = *\n"
	    "[person P1]\ngroups = g\ncards = 1, 2\ncards = 3, 1\n"
	    "cards =\ngroups = g\n");
	expect_problems("cards",
	    "cards/a.ini:6: duplicate card 1 (first at cards/a.ini:5)\n"
	    "cards/a.ini:7: no value for 'cards'\n"
	    "cards/a.ini:8: duplicate key 'groups' in [person P1] (first at "
	    "cards/a.ini:4)\n");
}

static void
test_problems(void **state)
{
	(void)state;
	mkdir("bad", 0700);
	scratch_write("bad/a.ini",
	    "[group resident]\n" /* 1 */
	    "gates = *\n"
	    "[group cleaner]\n"
	    "gates = gate-north, gate-west\n"
	    "hours = mon-sat 25:00-20:00\n" /* 5 */
	    "[group x y]\n"
	    "gates = *, gate-north\n"
	    "[group nogates]\n"
	    "[person P0001]\n"
	    "name = 张三\n" /* 10 */
	    "household = 5-2-301\n"
	    "groups = resident, cleanr\n"
	    "cards = 0012345678, 0012345678\n"
	    "valid_until = 2027-02-29\n"
	    "care = sometimes\n" /* 15 */
	    "phone = 138\n"
	    "name = 张三丰\n"
	    "[person P 2]\n"
	    "[person P0003]\n"
	    "name = 无组\n" /* 20 */
	    "[persons P0004]\n"
	    "groups = resident\n"
	    "[vehicle 吉A123]\n"
	    "plan = monthly\n"
	    "[vehicle 吉A12345]\n" /* 25 */
	    "plan = free\n"
	    "valid_until = 2026-12-32\n"
	    "[deny P0666]\n"
	    "[person]\n");
	scratch_write("bad/b.ini",
	    "[visitor V1]\n" /* 1 */
	    "host = 9-9-999\n"
	    "person = P0001\n"
	    "card = 0012345678\n"
	    "from = 2026-11-23 21:00\n" /* 5 */
	    "until = 2026-11-23 09:00\n"
	    "entries = 0\n"
	    "[visitor V2]\n"
	    "host = 5-2-301\n"
	    "plate = 吉A1234\n" /* 10 */
	    "from = 2026-11-23T09:00\n"
	    "until = 2026-11-23 24:00\n"
	    "entries = 1001\n"
	    "[visitor V3]\n"
	    "name = nobody\n" /* 15 */
	    "[visitor V1]\n"
	    "[person P0001]\n"
	    "[group resident]\n"
	    "[deny P0666]\n"
	    "reason = x\n" /* 20 */
	    "[vehicle 吉A·12345]\n"
	    "plan = owner\n");
	expect_problems("bad",
	    "bad/a.ini:4: unknown gate 'gate-west'\n"
	    "bad/a.ini:5: bad hours 'mon-sat 25:00-20:00': bad time "
	    "'25:00'\n"
	    "bad/a.ini:6: bad group name 'x y' (1 to 64 bytes, no spaces "
	    "or commas)\n"
	    "bad/a.ini:8: missing key 'gates' in [group nogates]\n"
	    "bad/a.ini:12: unknown group 'cleanr'\n"
	    "bad/a.ini:13: duplicate card 0012345678 (first at "
	    "bad/a.ini:13)\n"
	    "bad/a.ini:14: bad valid_until '2027-02-29' (YYYY-MM-DD)\n"
	    "bad/a.ini:15: bad care 'sometimes' (daily, weekly or "
	    "monthly)\n"
	    "bad/a.ini:16: unknown key 'phone' in [person P0001]\n"
	    "bad/a.ini:17: duplicate key 'name' in [person P0001] (first "
	    "at bad/a.ini:10)\n"
	    "bad/a.ini:18: bad person id 'P 2' (1 to 64 bytes, no spaces "
	    "or commas)\n"
	    "bad/a.ini:19: missing key 'groups' in [person P0003]\n"
	    "bad/a.ini:21: unknown section [persons P0004]\n"
	    "bad/a.ini:23: bad plate '吉A123' (7 or 8 characters)\n"
	    "bad/a.ini:26: bad plan 'free' (monthly, owner or staff)\n"
	    "bad/a.ini:27: bad valid_until '2026-12-32' (YYYY-MM-DD)\n"
	    "bad/a.ini:28: missing key 'reason' in [deny P0666]\n"
	    "bad/a.ini:29: section [person] needs an id: [person ID]\n"
	    "bad/b.ini:2: visitor V1: no person lives in household "
	    "9-9-999\n"
	    "bad/b.ini:3: visitor V1: person P0001 is already a person's "
	    "id (at bad/a.ini:9)\n"
	    "bad/b.ini:4: duplicate card 0012345678 (first at "
	    "bad/a.ini:13)\n"
	    "bad/b.ini:6: visitor V1: until is not after from\n"
	    "bad/b.ini:7: bad entries '0' (an integer from 1 to 1000)\n"
	    "bad/b.ini:10: bad plate '吉A1234' (7 or 8 characters)\n"
	    "bad/b.ini:11: bad from '2026-11-23T09:00' (YYYY-MM-DD HH:MM)\n"
	    "bad/b.ini:12: bad until '2026-11-23 24:00' (YYYY-MM-DD "
	    "HH:MM)\n"
	    "bad/b.ini:13: bad entries '1001' (an integer from 1 to 1000)\n"
	    "bad/b.ini:14: missing key 'host' in [visitor V3]\n"
	    "bad/b.ini:14: missing key 'from' in [visitor V3]\n"
	    "bad/b.ini:14: missing key 'until' in [visitor V3]\n"
	    "bad/b.ini:14: visitor V3 needs a plate, person or card\n"
	    "bad/b.ini:16: duplicate visitor V1 (first at bad/b.ini:1)\n"
	    "bad/b.ini:17: duplicate person P0001 (first at bad/a.ini:9)\n"
	    "bad/b.ini:18: duplicate group resident (first at "
	    "bad/a.ini:1)\n"
	    "bad/b.ini:19: duplicate deny P0666 (first at bad/a.ini:28)\n"
	    "bad/b.ini:21: duplicate vehicle 吉A12345 (first at "
	    "bad/a.ini:25)\n");

	/* Visitors share no face id; a card is anyone's only once. */
	mkdir("vis", 0700);
	scratch_write("vis/a.ini",
	    "[group g]\ngates = *\n"
	    "[person P1]\nhousehold = 1-1-101\ngroups = g\ncards = 77\n"
	    "[visitor V1]\nhost = 1-1-101\nperson = PV1\ncard = 88\n"
	    "from = 2026-11-23 09:00\nuntil = 2026-11-23 21:00\n"
	    "[visitor V2]\nhost = 1-1-101\nperson = PV1\ncard = 88\n"
	    "from = 2026-11-23 09:00\nuntil = 2026-11-23 21:00\n"
	    "[visitor V3]\nhost = 1-1-101\ncard = 77\n"
	    "from = 2026-11-23 09:00\nuntil = 2026-11-23 21:00\n");
	expect_problems("vis",
	    "vis/a.ini:15: duplicate visitor person PV1 (first at "
	    "vis/a.ini:9)\n"
	    "vis/a.ini:16: duplicate card 88 (first at vis/a.ini:10)\n"
	    "vis/a.ini:21: duplicate card 77 (first at vis/a.ini:6)\n");
}

static void
test_too_many_groups(void **state)
{
	char text[8192];
	size_t n = 0;
	int i;
	FILE *f;

	(void)state;
	mkdir("groups", 0700);
	for (i = 0; i < ACCESS_MAX_GROUPS + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "[group g%d]\ngates = *\n", i);
	f = fopen("groups/a.ini", "w");
	fputs(text, f);
	fclose(f);
	expect_problems("groups", "groups/a.ini:129: more than 64 groups\n");
}

/* A person in all 64 groups: the last bit is the 64th group. */
static void
test_sixty_four_groups(void **state)
{
	static const char names[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
	                            "QRSTUVWXYZ0123456789_-";
	const struct access_person *p;
	struct access_tables *t;
	char text[8192];
	size_t n = 0;
	int i;

	(void)state;
	assert_int_equal(sizeof(names) - 1, ACCESS_MAX_GROUPS);
	mkdir("g64", 0700);
	for (i = 0; i < ACCESS_MAX_GROUPS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		    "[group %c]\ngates = *\n", names[i]);
	n += (size_t)snprintf(text + n, sizeof(text) - n,
	    "[person P1]\ngroups = -\n[person P2]\ngroups = a");
	for (i = 1; i < ACCESS_MAX_GROUPS; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, ",%c",
		    names[i]);
	snprintf(text + n, sizeof(text) - n, "\n");
	scratch_write("g64/a.ini", text);
	t = load_ok("g64");
	p = access_find_person(t, "P1");
	assert_true(p->groups == (uint64_t)1 << 63);
	assert_string_equal(access_group(t, 63)->name, "-");
	p = access_find_person(t, "P2");
	assert_true(p->groups == UINT64_MAX);
	access_free(t);
}

static void
plate(const char *in, int rc, const char *out)
{
	char buf[PLATE_MAX];

	assert_int_equal(plate_normalise(in, buf, sizeof(buf)), rc);
	if (out != NULL)
		assert_string_equal(buf, out);
}

static void
test_plates(void **state)
{
	char small[8];

	(void)state;
	plate("吉A12345", 0, "吉A12345");
	plate("吉A·12345", 0, "吉A12345");
	plate("吉a 12345", 0, "吉A12345");
	plate("吉A\u300012345", 0, "吉A12345"); /* U+3000 */
	plate("吉Ａ１２３４５", 0, "吉A12345"); /* full width */
	plate("吉ａ－１２３４５", 0, "吉A12345");
	plate("吉A.123.45", 0, "吉A12345");
	plate(" 吉A-D1234-5 ", 0, "吉AD12345"); /* new energy: 8 */
	plate("吉AD123456", -1, "吉AD123456");
	plate("吉A1234", -1, "吉A1234");
	plate("", -1, "");
	plate("· - .", -1, "");
	plate("粤Z1234港", 0, "粤Z1234港");
	plate("ab12345", 0, "AB12345");
	plate("吉A1234\xff", -1, NULL);
	plate("吉A1234\xe5", -1, NULL);
	/* Too small for the result: refused, still a string. */
	assert_int_equal(plate_normalise("吉A12345", small, sizeof(small)), -1);
	assert_true(strlen(small) < sizeof(small));
	assert_int_equal(plate_normalise("吉A12345", small, 0), -1);
}

/* Visit windows are in the compound's time zone, and must exist there. */
static void
test_time_zone(void **state)
{
	struct access_tables *t;

	(void)state;
	mkdir("tz", 0700);
	scratch_write("tz/a.ini",
	    "[group g]\ngates = *\n"
	    "[person P1]\nhousehold = 1\ngroups = g\n"
	    "[visitor V1]\nhost = 1\nperson = PV1\n"
	    "from = 2026-03-29 01:30\nuntil = 2026-03-29 03:30\n");
	setenv("TZ", "UTC", 1);
	tzset();
	t = load_ok("tz");
	assert_int_equal(access_find_visitor(t, "V1")->until -
	        access_find_visitor(t, "V1")->from,
	    7200);
	access_free(t);
	/* In Berlin, 02:00 to 03:00 that night does not exist. */
	scratch_write("tz/a.ini",
	    "[group g]\ngates = *\n"
	    "[person P1]\nhousehold = 1\ngroups = g\n"
	    "[visitor V1]\nhost = 1\nperson = PV1\n"
	    "from = 2026-03-29 02:30\nuntil = 2026-03-29 03:30\n");
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	expect_problems("tz",
	    "tz/a.ini:9: bad from '2026-03-29 02:30' (YYYY-MM-DD HH:MM)\n");
	setenv("TZ", "Asia/Shanghai", 1);
	tzset();
}

/* Many persons: every one found by id and by card, nobody else. */
static void
test_many(void **state)
{
	const struct access_person *p;
	struct access_counts n;
	struct access_tables *t;
	char id[32];
	FILE *f;
	int i;

	(void)state;
	enum { N = 30000 };
	mkdir("many", 0700);
	f = fopen("many/persons.ini", "w");
	assert_non_null(f);
	fputs("[group resident]\ngates = *\n", f);
	for (i = 0; i < N; i++)
		fprintf(f,
		    "[person P%06d]\nname = 住户%d\nhousehold = %d-%d-%d\n"
		    "groups = resident\ncards = C%08d\n\n",
		    i, i, i % 9 + 1, i % 4 + 1, i % 1000, i);
	fclose(f);
	t = load_ok("many");
	access_counts(t, &n);
	assert_int_equal(n.persons, N);
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "P%06d", i);
		p = access_find_person(t, id);
		assert_non_null(p);
		assert_string_equal(access_str(t, p->id), id);
		snprintf(id, sizeof(id), "C%08d", i);
		assert_ptr_equal(access_find_card(t, id), p);
	}
	for (i = N; i < N + 1000; i++) {
		snprintf(id, sizeof(id), "P%06d", i);
		assert_null(access_find_person(t, id));
		snprintf(id, sizeof(id), "C%08d", i);
		assert_null(access_find_card(t, id));
	}
	access_free(t);
}

/*
 * Each entry names the file and the line of its section header, across
 * files and through a BOM and CRLF; a pointer that is no entry of these
 * tables, or one between two entries, names nothing.
 */
static void
test_where(void **state)
{
	const struct access_person *p;
	struct access_tables *t;
	char buf[128], small[8];

	(void)state;
	mkdir("where", 0700);
	scratch_write("where/1-groups.ini",
	    "\xef\xbb\xbf; groups\r\n"
	    "[group resident]\r\ngates = *\r\n"
	    "\r\n"
	    "[group cleaner]\r\ngates = gate-north\r\n");
	scratch_write("where/2-people.ini",
	    "[person P1]\ngroups = resident\nhousehold = 5-2-301\n"
	    "cards = C1\n"
	    "\n"
	    "[person P2]\ngroups = cleaner\n"
	    "[vehicle 吉A12345]\nplan = monthly\n"
	    "[visitor V1]\nhost = 5-2-301\nperson = PV1\n"
	    "from = 2026-11-23 09:00\nuntil = 2026-11-23 21:00\n"
	    "[deny 吉B00000]\nreason = stolen\n");
	t = load_ok("where");

	assert_int_equal(access_where(t, access_group(t, 0), buf, sizeof(buf)),
	    0);
	assert_string_equal(buf, "where/1-groups.ini:2");
	access_where(t, access_group(t, 1), buf, sizeof(buf));
	assert_string_equal(buf, "where/1-groups.ini:5");
	access_where(t, access_find_person(t, "P1"), buf, sizeof(buf));
	assert_string_equal(buf, "where/2-people.ini:1");
	access_where(t, access_find_card(t, "C1"), buf, sizeof(buf));
	assert_string_equal(buf, "where/2-people.ini:1");
	access_where(t, access_find_person(t, "P2"), buf, sizeof(buf));
	assert_string_equal(buf, "where/2-people.ini:6");
	access_where(t, access_find_vehicle(t, "吉A12345"), buf, sizeof(buf));
	assert_string_equal(buf, "where/2-people.ini:8");
	access_where(t, access_find_visitor(t, "V1"), buf, sizeof(buf));
	assert_string_equal(buf, "where/2-people.ini:10");
	access_where(t, access_find_deny(t, "吉B00000"), buf, sizeof(buf));
	assert_string_equal(buf, "where/2-people.ini:15");

	/* Cut short, still a string. */
	access_where(t, access_find_person(t, "P2"), small, sizeof(small));
	assert_string_equal(small, "where/2");

	p = access_find_person(t, "P1");
	assert_int_equal(access_where(t, (const char *)p + 1, buf, sizeof(buf)),
	    -1);
	assert_string_equal(buf, "");
	assert_int_equal(access_where(t, buf, buf, sizeof(buf)), -1);
	assert_int_equal(access_where(t, NULL, buf, sizeof(buf)), -1);
	access_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_cards_repeat),
		cmocka_unit_test(test_problems),
		cmocka_unit_test(test_too_many_groups),
		cmocka_unit_test(test_sixty_four_groups),
		cmocka_unit_test(test_plates),
		cmocka_unit_test(test_time_zone),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_where),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
