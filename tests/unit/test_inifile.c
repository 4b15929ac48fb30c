/*
 * test_inifile.c - the INI line reader under libinih: line numbers, BOM
 * and CRLF, over-long lines, bytes that are not UTF-8, syntax errors; and
 * the diag list it reports into, and its out-of-memory exit; only regular
 * files are read.  Files are written byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include "diag.h"
#include "inifile.h"

/* What the handler saw, one event a line, and what diag got. */
static char *events;
static size_t events_len;
static FILE *events_fp;

static void
on_section(void *user, const char *file, int line, const char *type,
    const char *name)
{
	(void)user;
	(void)file;
	fprintf(events_fp, "%d [%s|%s]\n", line, type, name);
}

static void
on_key(void *user, const char *file, int line, const char *key,
    const char *value)
{
	(void)user;
	(void)file;
	fprintf(events_fp, "%d %s=%s|\n", line, key, value);
}

static void
on_end(void *user, bool damaged)
{
	(void)user;
	fprintf(events_fp, "end%s\n", damaged ? " damaged" : "");
}

static const struct inifile_handler handler = {
	.section = on_section,
	.key = on_key,
	.end = on_end,
};

static void
write_bytes(const char *name, const char *bytes, size_t len)
{
	FILE *f = fopen(name, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(bytes, 1, len, f), len);
	fclose(f);
}

#define WRITE(name, lit) write_bytes(name, lit, sizeof(lit) - 1)

/* Parse name; the events and the problems, as text. */
static int
parse(const char *name, char **problems)
{
	struct diag d;
	size_t plen;
	FILE *pf;
	int rc;

	free(events);
	events = NULL;
	events_fp = open_memstream(&events, &events_len);
	assert_non_null(events_fp);
	diag_init(&d);
	rc = inifile_parse(name, &d, &handler, NULL);
	fclose(events_fp);
	*problems = NULL;
	pf = open_memstream(problems, &plen);
	assert_non_null(pf);
	diag_print(pf, &d);
	fclose(pf);
	assert_int_equal(rc, d.n > 0 ? -1 : 0);
	diag_free(&d);
	return rc;
}

static void
expect(const char *name, const char *want_events, const char *want_problems)
{
	char *problems;

	parse(name, &problems);
	assert_string_equal(events, want_events);
	assert_string_equal(problems, want_problems);
	free(problems);
}

static int
setup(void **state)
{
	(void)state;
	if (scratch_enter("test_inifile") < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(events);
	return scratch_leave();
}

static void
test_plain(void **state)
{
	(void)state;
	WRITE("plain.ini",
	    "; a comment\n"
	    "# another\n"
	    "\n"
	    "[group resident]\n"
	    "gates = *\n"
	    "  hours   =   always   \n"
	    "[gateway]\n"
	    "name = 金鼎5栋楼 ; inline comment\n"
	    "reason = a;b # c\n"
	    "empty =\n"
	    "url = http://x/y?a=b\n");
	expect("plain.ini",
	    "4 [group|resident]\n"
	    "5 gates=*|\n"
	    "6 hours=always|\n"
	    "end\n"
	    "7 [gateway|]\n"
	    "8 name=金鼎5栋楼|\n"
	    "9 reason=a;b|\n"
	    "10 empty=|\n"
	    "11 url=http://x/y?a=b|\n"
	    "end\n",
	    "");
}

/* " #" ends a line as " ;" does; a "#" with no space before it is text. */
static void
test_inline_hash(void **state)
{
	(void)state;
	WRITE("hash.ini",
	    "[person P1]\n"               /* 1 */
	    "household = 1-1-1  # 张家\n" /* 2 */
	    "room = 5#楼\n"
	    "tab = x\t# after a tab\n"
	    "url = http://x/y#frag # note\n" /* 5 */
	    "hash_then_semi = a # b ; c\n"
	    "semi_then_hash = a ; b # c\n"
	    "only = # nothing yet\n"
	    "only_semi = ; nothing yet\n"
	    "glued =#x\n" /* 10 */
	    "crlf = v #c\r\n"
	    "k # = v\n"
	    "k2 ; = v\n"
	    "[person P2] # 张三\n"
	    "name = 李四 #\n"); /* 15 */
	expect("hash.ini",
	    "1 [person|P1]\n"
	    "2 household=1-1-1|\n"
	    "3 room=5#楼|\n"
	    "4 tab=x|\n"
	    "5 url=http://x/y#frag|\n"
	    "6 hash_then_semi=a|\n"
	    "7 semi_then_hash=a|\n"
	    "8 only=|\n"
	    "9 only_semi=|\n"
	    "10 glued=#x|\n"
	    "11 crlf=v|\n"
	    "end damaged\n"
	    "14 [person|P2]\n"
	    "15 name=李四|\n"
	    "end\n",
	    "hash.ini:12: syntax error: expected '[type name]' or 'key = "
	    "value'\n"
	    "hash.ini:13: syntax error: expected '[type name]' or 'key = "
	    "value'\n");
}

static void
test_notepad(void **state)
{
	(void)state;
	/* What Windows Notepad saves: a BOM, CRLF, and no final newline. */
	WRITE("notepad.ini",
	    "\xef\xbb\xbf[person P0001]\r\n"
	    "name = 张三丰\r\n"
	    "\r\n"
	    "; 注释\r\n"
	    "household = 5-2-301\r\n"
	    "groups = 住户，保洁");
	expect("notepad.ini",
	    "1 [person|P0001]\n"
	    "2 name=张三丰|\n"
	    "5 household=5-2-301|\n"
	    "6 groups=住户，保洁|\n"
	    "end\n",
	    "");
	/* A BOM before a comment, and a BOM-only file. */
	WRITE("bom-comment.ini", "\xef\xbb\xbf; x\r\n[a]\r\n");
	expect("bom-comment.ini", "2 [a|]\nend\n", "");
	WRITE("bom-only.ini", "\xef\xbb\xbf");
	expect("bom-only.ini", "", "");
	/* A BOM is only a BOM at the very start. */
	WRITE("bom-late.ini", "[a]\n\xef\xbb\xbfk = v\n");
	expect("bom-late.ini", "1 [a|]\n2 \xef\xbb\xbfk=v|\nend\n", "");
}

static void
test_headers(void **state)
{
	(void)state;
	/* Empty sections and identical headers are each announced. */
	WRITE("headers.ini",
	    "[a]\n"
	    "[a]\n"
	    "[ vehicle   吉A 12345 ]\n"
	    "[person P0001] ; comment\n"
	    "[person P0001]# comment\n"
	    "[visitor "
	    "V-0123456789-0123456789-0123456789-0123456789-0123456789]\n");
	expect("headers.ini",
	    "1 [a|]\n"
	    "end\n"
	    "2 [a|]\n"
	    "end\n"
	    "3 [vehicle|吉A 12345]\n"
	    "end\n"
	    "4 [person|P0001]\n"
	    "end\n"
	    "5 [person|P0001]\n"
	    "end\n"
	    "6 "
	    "[visitor|V-0123456789-0123456789-0123456789-0123456789-"
	    "0123456789]\n"
	    "end\n",
	    "");
}

static void
test_syntax(void **state)
{
	(void)state;
	WRITE("syntax.ini",
	    "site = x\n"     /* 1 */
	    "[a]\n"          /* 2 */
	    "hours always\n" /* 3 */
	    "= v\n"          /* 4 */
	    "a:b = c\n"      /* 5 */
	    "k ; = v\n"      /* 6 */
	    "ok = 1\n"       /* 7 */
	    "  more\n"       /* 8 */
	    "[b\n"           /* 9 */
	    "skipped = 1\n"  /* 10 */
	    "[c] junk\n"     /* 11 */
	    "skipped = 2\n"  /* 12 */
	    "[]\n"           /* 13 */
	    "skipped = 3\n"  /* 14 */
	    "[d [e]\n"       /* 15 */
	    "[f ;x]\n"       /* 16 */
	    "[g]\n"          /* 17 */
	    "k = v\n");      /* 18 */
	expect("syntax.ini",
	    "2 [a|]\n"
	    "7 ok=1|\n"
	    "end damaged\n"
	    "17 [g|]\n"
	    "18 k=v|\n"
	    "end\n",
	    "syntax.ini:1: key 'site' before any section\n"
	    "syntax.ini:3: syntax error: expected '[type name]' or 'key = "
	    "value'\n"
	    "syntax.ini:4: syntax error: no key before '='\n"
	    "syntax.ini:5: syntax error: ':' in key 'a:b'\n"
	    "syntax.ini:6: syntax error: expected '[type name]' or 'key = "
	    "value'\n"
	    "syntax.ini:8: syntax error: expected 'key = value' (a value "
	    "cannot go on to the next line)\n"
	    "syntax.ini:9: syntax error: no ']' after '['\n"
	    "syntax.ini:11: syntax error: text after ']'\n"
	    "syntax.ini:13: syntax error: empty section header\n"
	    "syntax.ini:15: syntax error: '[' or ';' in a section header\n"
	    "syntax.ini:16: syntax error: '[' or ';' in a section header\n");
}

static void
test_long_lines(void **state)
{
	char buf[8192];
	size_t n;

	(void)state;
	/* 199 bytes fit inih's 200-byte buffer; 200 do not. */
	n = (size_t)snprintf(buf, sizeof(buf), "[a]\nk = %0195d\n", 0);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "k2 = %0195d\n", 0);
	/* Much longer, then more lines: none of it may come back as a line. */
	memcpy(buf + n, "k3 = ", 5);
	memset(buf + n + 5, 'y', 5000);
	n += 5005;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " = z\nk4 = v\n");
	/* CRLF is not counted; a long line at the end with no newline. */
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "k5 = %0194d\r\n", 0);
	memset(buf + n, 'w', 300);
	n += 300;
	write_bytes("long.ini", buf, n);
	{
		char *problems;

		parse("long.ini", &problems);
		assert_string_equal(problems,
		    "long.ini:3: line too long (at most 199 bytes)\n"
		    "long.ini:4: line too long (at most 199 bytes)\n"
		    "long.ini:7: line too long (at most 199 bytes)\n");
		free(problems);
	}
	assert_non_null(strstr(events, "2 k=0000"));
	assert_null(strstr(events, "k2="));
	assert_null(strstr(events, "k3="));
	assert_null(strstr(events, "yyy"));
	assert_non_null(strstr(events, "5 k4=v|\n6 k5="));
	assert_non_null(strstr(events, "end damaged\n"));

	/* A 199-byte line of Chinese: 3 bytes each, never cut inside one. */
	n = (size_t)snprintf(buf, sizeof(buf), "[a]\nname = ");
	while (n + 3 <= 4 + 199)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "张");
	assert_int_equal(n, 4 + 199);
	buf[n++] = '\n';
	write_bytes("long-zh.ini", buf, n);
	{
		char *problems;

		parse("long-zh.ini", &problems);
		assert_string_equal(problems, "");
		free(problems);
	}
	/* A header too long to read: its keys are not taken for another's. */
	n = (size_t)snprintf(buf, sizeof(buf), "[a]\nk = 1\n[person ");
	memset(buf + n, 'P', 300);
	n += 300;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]\nk = 2\n[b]\n");
	write_bytes("long-header.ini", buf, n);
	{
		char *problems;

		parse("long-header.ini", &problems);
		assert_string_equal(problems,
		    "long-header.ini:3: line too "
		    "long (at most 199 bytes)\n");
		assert_string_equal(events,
		    "1 [a|]\n2 k=1|\nend\n5 [b|]\n"
		    "end\n");
		free(problems);
	}
}

static void
test_not_utf8(void **state)
{
	char *problems;

	(void)state;
	WRITE("bytes.ini",
	    "[a]\n"
	    "gbk = \xd5\xc5\xc8\xfd\n" /* 张三 in GBK */
	    "overlong = \xc0\xaf\n"
	    "surrogate = \xed\xa0\x80\n"
	    "too_big = \xf4\x90\x80\x80\n"
	    "cut = \xe5\xbc\n"
	    "ff = \xff\n"
	    "nul = a\0b\n"
	    "ok = \xe5\xbc\xa0\n"
	    "[b \xff]\n"
	    "skipped = 1\n"
	    "[c]\n"
	    "four = \xf0\x9f\x98\x80\n"
	    "cut_at_eof = \xe5");
	parse("bytes.ini", &problems);
	assert_string_equal(problems,
	    "bytes.ini:2: not valid UTF-8\n"
	    "bytes.ini:3: not valid UTF-8\n"
	    "bytes.ini:4: not valid UTF-8\n"
	    "bytes.ini:5: not valid UTF-8\n"
	    "bytes.ini:6: not valid UTF-8\n"
	    "bytes.ini:7: not valid UTF-8\n"
	    "bytes.ini:8: contains a NUL byte "
	    "(saved as UTF-16, or not a text "
	    "file?)\n"
	    "bytes.ini:10: not valid UTF-8\n"
	    "bytes.ini:14: not valid UTF-8\n");
	assert_string_equal(events,
	    "1 [a|]\n"
	    "9 ok=张|\n"
	    "end damaged\n"
	    "12 [c|]\n"
	    "13 four=\xf0\x9f\x98\x80|\n"
	    "end damaged\n");
	free(problems);

	/* Notepad's "Unicode" is UTF-16: one clear problem, not hundreds. */
	WRITE("utf16.ini", "\xff\xfe[\0a\0]\0\r\0\n\0k\0=\0v\0\r\0\n\0");
	expect("utf16.ini", "",
	    "utf16.ini:1: not valid UTF-8 (saved as UTF-16? save it as "
	    "UTF-8)\n");
	/* Without the byte-order mark, every line has NUL bytes in it. */
	WRITE("utf16-nobom.ini", "[\0a\0]\0\r\0\n\0k\0=\0v\0\r\0\n\0");
	expect("utf16-nobom.ini", "",
	    "utf16-nobom.ini:1: contains a NUL byte (saved as UTF-16, or "
	    "not a text file?)\n"
	    "utf16-nobom.ini:2: contains a NUL byte (saved as UTF-16, or "
	    "not a text file?)\n"
	    "utf16-nobom.ini:3: contains a NUL byte (saved as UTF-16, or "
	    "not a text file?)\n");
	/* A NUL after a byte-order mark is still found. */
	WRITE("bom-nul.ini", "\xef\xbb\xbf[a]\nk = a\0b\n");
	expect("bom-nul.ini", "1 [a|]\nend damaged\n",
	    "bom-nul.ini:2: contains a NUL byte (saved as UTF-16, or not "
	    "a text file?)\n");
}

static void
test_files(void **state)
{
	(void)state;
	expect("missing.ini", "", "missing.ini: No such file or directory\n");
	assert_int_equal(mkdir("a-dir.ini", 0700), 0);
	expect("a-dir.ini", "", "a-dir.ini: Is a directory\n");
	WRITE("empty.ini", "");
	expect("empty.ini", "", "");
	WRITE("blank.ini", "\n\n   \n\t\n");
	expect("blank.ini", "", "");
	/* Lines are counted the same with or without a final newline. */
	WRITE("nonl.ini", "[a]\nk = v");
	expect("nonl.ini", "1 [a|]\n2 k=v|\nend\n", "");
	/* Old Mac line ends are not lines: CR alone is just a byte. */
	WRITE("cr.ini", "[a]\r\r\nk = v\r\n");
	expect("cr.ini", "1 [a|]\n2 k=v|\nend\n", "");
	/* A link to a file is the file. */
	assert_int_equal(symlink("nonl.ini", "link.ini"), 0);
	expect("link.ini", "1 [a|]\n2 k=v|\nend\n", "");
	/* What is not a file is refused at once: a FIFO nobody writes to
	 * would block for ever, /dev/zero would never end. */
	assert_int_equal(mkfifo("fifo.ini", 0600), 0);
	expect("fifo.ini", "", "fifo.ini: not a regular file (a FIFO)\n");
	assert_int_equal(symlink("/dev/zero", "zero.ini"), 0);
	expect("zero.ini", "",
	    "zero.ini: not a regular file (a character device)\n");
	assert_int_equal(symlink("nowhere.ini", "dangling.ini"), 0);
	expect("dangling.ini", "", "dangling.ini: No such file or directory\n");
	/* Nor is more than 16 MB read (a sparse file: no disk needed). */
	WRITE("big.ini", "[a]\n");
	assert_int_equal(truncate("big.ini", INIFILE_MAX_BYTES + 1), 0);
	expect("big.ini", "", "big.ini: too large (more than 16 MB)\n");
	if (geteuid() != 0) {
		WRITE("secret.ini", "[a]\n");
		assert_int_equal(chmod("secret.ini", 0), 0);
		expect("secret.ini", "", "secret.ini: Permission denied\n");
	}
}

static void
test_diag(void **state)
{
	struct diag d;
	char *out = NULL;
	size_t len;
	FILE *f;

	(void)state;
	diag_init(&d);
	diag_add(&d, "gateway.ini", 9, "nine");
	diag_add(&d, "access.d/b.ini", 3, "b three");
	diag_add(&d, "access.d/a.ini", 7, "a seven");
	diag_add(&d, "gateway.ini", 2, "two");
	diag_add(&d, "access.d/b.ini", 1, "b one, %s %d", "first", 1);
	diag_add(&d, "access.d/b.ini", 1, "b one, second");
	diag_add(&d, "access.d/a.ini", 0, "a, no line");
	diag_add(&d, "gateway.ini", 2, "two again");
	diag_warn(&d, "access.d/x.ini~", 0, "ignored, %s", "a warning");
	assert_int_equal(d.n, 9);
	assert_int_equal(diag_errors(&d), 8);
	diag_sort(&d);
	f = open_memstream(&out, &len);
	diag_print(f, &d);
	fclose(f);
	/* Files in the order first seen, lines in order, then as added. */
	assert_string_equal(out,
	    "gateway.ini:2: two\n"
	    "gateway.ini:2: two again\n"
	    "gateway.ini:9: nine\n"
	    "access.d/b.ini:1: b one, first 1\n"
	    "access.d/b.ini:1: b one, second\n"
	    "access.d/b.ini:3: b three\n"
	    "access.d/a.ini: a, no line\n"
	    "access.d/a.ini:7: a seven\n"
	    "access.d/x.ini~: warning: ignored, a warning\n");
	free(out);
	/* Sorting twice changes nothing. */
	diag_sort(&d);
	assert_string_equal(d.v[0].msg, "two");
	assert_string_equal(d.v[7].msg, "a seven");
	diag_free(&d);
	assert_int_equal(d.n, 0);
	diag_free(&d);
	diag_free(NULL);
	diag_sort(&d);
}

/*
 * Out of memory in the daemon, whose stderr is fully buffered: the
 * message must still reach the log before abort() ends the process.
 */
static void
test_oom(void **state)
{
	static char buf[4096];
	char got[64] = "";
	ssize_t n;
	pid_t pid;
	int fd, status;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		/* A fresh stream, so that setvbuf() takes, as in log.c. */
		if (freopen("oom.log", "w", stderr) == NULL ||
		    fileno(stderr) != STDERR_FILENO ||
		    setvbuf(stderr, buf, _IOFBF, sizeof(buf)) != 0)
			_exit(2);
		fputs("buffered, lost\n", stderr);
		diag_oom();
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	fd = open("oom.log", O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	assert_true(n >= 0);
	got[n] = '\0';
	/*
	 * Under qemu-user (make check-arm64) the emulator itself reports
	 * the abort on the process's stderr, after our line: "qemu:
	 * uncaught target signal 6 (Aborted) - core dumped".
	 */
	if (strncmp(got, "out of memory\n", 14) == 0 &&
	    strncmp(got + 14, "qemu: uncaught target signal ", 29) == 0)
		got[14] = '\0';
	assert_string_equal(got, "out of memory\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_inline_hash),
		cmocka_unit_test(test_notepad),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_not_utf8),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_diag),
		cmocka_unit_test(test_oom),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
