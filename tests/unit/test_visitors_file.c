/*
 * test_visitors_file.c - gatewayctl's edits of access.d/visitors.ini: a
 * section added to a missing, empty, commented or CRLF file, one removed
 * with the comments around it kept, byte for byte; the next free id; the
 * file replaced atomically; and the candidate checked by
 * access_load_with() under the real file's name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include "access.h"
#include "config.h"
#include "diag.h"
#include "visitors_file.h"

static const struct visitors_entry visitor = {
	.id = "V20261123-001",
	.host = "5-2-301",
	.name = "李四",
	.plate = "吉A88888",
	.from = "2026-11-23 09:00",
	.until = "2026-11-23 21:00",
	.entries = 2,
};

#define SECTION(nl)                                                            \
	"[visitor V20261123-001]" nl "host = 5-2-301" nl "name = 李四" nl      \
	"plate = 吉A88888" nl "from = 2026-11-23 09:00" nl                     \
	"until = 2026-11-23 21:00" nl "entries = 2" nl

static struct visitors_text
text(const char *s)
{
	struct visitors_text t = { (char *)s, strlen(s) };

	return t;
}

/* in with the visitor added is want, exactly. */
static void
added(const char *in, const char *want)
{
	struct visitors_text t = text(in), out;

	assert_int_equal(visitors_file_add(&t, &visitor, &out), 0);
	assert_string_equal(out.text, want);
	assert_int_equal(out.len, strlen(want));
	free(out.text);
}

static void
test_add(void **state)
{
	(void)state;
	/* A new (or empty) file gets a header saying who writes it. */
	added("", VISITORS_FILE_HEADER "\n" SECTION("\n"));
	/* One blank line between sections, however the file ended. */
	added("[visitor A]\nhost = 1\n",
	    "[visitor A]\nhost = 1\n\n" SECTION("\n"));
	added("[visitor A]\nhost = 1",
	    "[visitor A]\nhost = 1\n\n" SECTION("\n"));
	added("[visitor A]\nhost = 1\n\n",
	    "[visitor A]\nhost = 1\n\n" SECTION("\n"));
	/* Comments stay, the last one too. */
	added("; staff's note\n[visitor A] ; keep\nhost = 1\n; at the end\n",
	    "; staff's note\n[visitor A] ; keep\nhost = 1\n; at the end\n"
	    "\n" SECTION("\n"));
	/* Notepad's file: its line ends and byte-order mark. */
	added("\xef\xbb\xbf; note\r\n[visitor A]\r\nhost = 1\r\n",
	    "\xef\xbb\xbf; note\r\n[visitor A]\r\nhost = 1\r\n\r\n" SECTION(
	        "\r\n"));
	added("\xef\xbb\xbf",
	    "\xef\xbb\xbf" VISITORS_FILE_HEADER "\n" SECTION("\n"));
}

static void
test_add_unwritable(void **state)
{
	static const char *const bad[] = { "李 ; x", "a\nb", " lead", "tail ",
		"x #y", "" };
	struct visitors_entry e = visitor;
	struct visitors_text in = text(""), out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e.name = bad[i];
		assert_int_equal(visitors_file_add(&in, &e, &out), -1);
	}
	e.name = "5#楼的客人"; /* '#' without a space before it is text */
	assert_int_equal(visitors_file_add(&in, &e, &out), 0);
	free(out.text);
}

/* in without [visitor id] is want, exactly. */
static void
removed(const char *in, const char *id, const char *want)
{
	struct visitors_text t = text(in), out;

	assert_int_equal(visitors_file_remove(&t, id, &out), 1);
	assert_string_equal(out.text, want);
	assert_int_equal(out.len, strlen(want));
	free(out.text);
}

static void
test_remove(void **state)
{
	struct visitors_text t = text("[visitor A]\nhost = 1\n"), out;

	(void)state;
	/* Its keys and the comments among them go; the comment above the
	 * next section stays: it is about that one. */
	removed("; A and B\n"
	        "[visitor A]\n"
	        "host = 1\n"
	        "; who A is\n"
	        "name = a\n"
	        "\n"
	        "; B comes on Sunday\n"
	        "[visitor B]\n"
	        "host = 2\n",
	    "A",
	    "; A and B\n"
	    "\n"
	    "; B comes on Sunday\n"
	    "[visitor B]\n"
	    "host = 2\n");
	/* The last section, with a comment after it kept. */
	removed("[visitor A]\nhost = 1\n\n[visitor B]\nhost = 2\n; end\n", "B",
	    "[visitor A]\nhost = 1\n\n; end\n");
	/* Spaces in the header, a comment after it; no final line end. */
	removed("[visitor A]\nhost = 1\n\n[ visitor  B ] ; b\nhost = 2", "B",
	    "[visitor A]\nhost = 1\n\n");
	/* CRLF and the byte-order mark, before the first section. */
	removed("\xef\xbb\xbf[visitor A]\r\nhost = 1\r\n\r\n[visitor B]\r\n",
	    "A", "\xef\xbb\xbf\r\n[visitor B]\r\n");
	/* Not a prefix, not another type. */
	assert_int_equal(visitors_file_remove(&t, "", &out), 0);
	t = text("[visitor AB]\n[person A]\n[visitorA]\n");
	assert_int_equal(visitors_file_remove(&t, "A", &out), 0);
	assert_true(visitors_file_has(&t, "AB"));
	assert_false(visitors_file_has(&t, "A"));
}

static bool
taken(void *arg, const char *id)
{
	return strcmp(id, "V20261123-001") == 0 ||
	    strcmp(id, "V20261123-002") == 0 || arg != NULL;
}

static void
test_next_id(void **state)
{
	char id[32];

	(void)state;
	assert_int_equal(visitors_file_next_id(20261123, taken, NULL, id,
	                     sizeof(id)),
	    0);
	assert_string_equal(id, "V20261123-003");
	assert_int_equal(visitors_file_next_id(20261123, taken, id, id,
	                     sizeof(id)),
	    -1);
}

static void
test_stage_commit(void **state)
{
	struct visitors_text t = text("[visitor A]\n"), got;
	char tmp[256];
	struct stat st;
	bool missing;

	(void)state;
	assert_int_equal(visitors_file_read("v.ini", &got, &missing), 0);
	assert_true(missing);
	assert_int_equal(got.len, 0);
	free(got.text);
	scratch_write("v.ini", "old\n");
	assert_int_equal(chmod("v.ini", 0640), 0);
	assert_int_equal(visitors_file_stage("./v.ini", &t, tmp, sizeof(tmp)),
	    0);
	assert_non_null(strstr(tmp, "/.v.ini."));
	assert_int_equal(visitors_file_commit(tmp, "./v.ini"), 0);
	assert_int_equal(access(tmp, F_OK), -1);
	assert_int_equal(stat("v.ini", &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(visitors_file_read("v.ini", &got, &missing), 0);
	assert_false(missing);
	assert_string_equal(got.text, "[visitor A]\n");
	free(got.text);
}

static struct config *
compound(void)
{
	struct diag d;
	struct config *cfg;

	assert_int_equal(mkdir("access.d", 0700), 0);
	scratch_write("gateway.ini",
	    "[gateway]\nsite = s\ndata_dir = data\n"
	    "access_dir = access.d\n"
	    "[device gate-north]\ndriver = face_gate\n");
	scratch_write("access.d/people.ini",
	    "[group resident]\ngates = *\n\n"
	    "[person P1]\nhousehold = 5-2-301\ngroups = resident\n");
	diag_init(&d);
	cfg = config_load("gateway.ini", &d);
	diag_print(stderr, &d);
	diag_free(&d);
	assert_non_null(cfg);
	return cfg;
}

/* A candidate is checked with the rest of access.d, under its real name. */
static void
test_validate(void **state)
{
	struct config *cfg = compound();
	struct access_tables *t;
	struct diag d;

	(void)state;
	scratch_write("cand.ini",
	    "[visitor V1]\nhost = 5-2-301\nperson = PV1\n"
	    "from = 2026-11-23 09:00\n"
	    "until = 2026-11-23 21:00\n");
	/* visitors.ini does not exist yet: the candidate is read anyway. */
	diag_init(&d);
	t = access_load_with(cfg, &d, "visitors.ini", "cand.ini");
	assert_non_null(t);
	assert_non_null(access_find_visitor(t, "V1"));
	access_free(t);
	diag_free(&d);

	scratch_write("access.d/visitors.ini", "[visitor OLD]\n");
	scratch_write("cand.ini",
	    "; x\n[visitor V1]\nhost = 9-9-999\n"
	    "person = P1\nfrom = 2026-11-23 09:00\n"
	    "until = 2026-11-23 21:00\n");
	diag_init(&d);
	t = access_load_with(cfg, &d, "visitors.ini", "cand.ini");
	assert_null(t);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[0].file, "access.d/visitors.ini");
	assert_int_equal(d.v[0].line, 3);
	assert_string_equal(d.v[0].msg,
	    "visitor V1: no person lives in household 9-9-999");
	assert_int_equal(d.v[1].line, 4);
	diag_free(&d);
	config_free(cfg);
}

static int
setup(void **state)
{
	(void)state;
	setenv("TZ", "Asia/Shanghai", 1);
	return scratch_enter("test_visitors_file");
}

static int
teardown(void **state)
{
	(void)state;
	return scratch_leave();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_add_unwritable),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_next_id),
		cmocka_unit_test_setup_teardown(test_stage_commit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_validate, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
