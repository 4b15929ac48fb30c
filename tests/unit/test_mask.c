/* test_mask.c - names, mobiles and plates as a screen or WeChat shows them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mask.h"
#include "util.h"

typedef void mask_fn(const char *, char *, size_t);

/* f(in) into a buffer of size bytes is want, terminated within size and
 * valid UTF-8; the bytes after it are untouched. */
static void
check(mask_fn *f, const char *in, size_t size, const char *want)
{
	char out[80];
	size_t n;

	assert_true(size < sizeof(out));
	memset(out, 0x55, sizeof(out));
	f(in, out, size);
	n = strnlen(out, size);
	assert_true(n < size);
	assert_string_equal(out, want);
	assert_true(utf8_valid(out, n));
	assert_int_equal(out[size], 0x55);
}

static void
test_name(void **state)
{
	(void)state;
	check(mask_name, "张三", 64, "张*");
	check(mask_name, "张三丰", 64, "张**");
	check(mask_name, "欧阳娜娜", 64, "欧***");
	/* Nothing to hide but the surname: it stays. */
	check(mask_name, "王", 64, "王");
	check(mask_name, "Li Lei", 64, "L****");
	check(mask_name, "", 64, "");
	check(mask_name, "   ", 64, "");
	check(mask_name, "  张三", 64, "张*");
	check(mask_name, "买买提·艾力", 64, "买*****");
	/* A 4-byte surname (U+20BB7, in names as 𠮷). */
	check(mask_name, "𠮷田", 64, "𠮷*");
	/* Too small for the first character: nothing, never half of it. */
	check(mask_name, "张三", 3, "");
	check(mask_name, "张三", 4, "张");
	check(mask_name, "张三丰", 5, "张*");
	check(mask_name, "张三", 1, "");
	check(mask_name, "a", 1, "");
	check(mask_name, "ab", 2, "a");
}

/* Bytes that are not UTF-8, or controls, are never shown as they are. */
static void
test_name_odd(void **state)
{
	(void)state;
	check(mask_name, "\xff\xfe", 64, "**");
	check(mask_name, "\xe5\xbc", 64, "**");        /* 张 cut short */
	check(mask_name, "\xbc\xa0三", 64, "***");     /* stray tail */
	check(mask_name, "\xc0\xaf", 64, "**");        /* overlong */
	check(mask_name, "\xed\xa0\x80x", 64, "****"); /* surrogate */
	check(mask_name, "张\xff", 64, "张*");
	check(mask_name, "\n张三", 64, "***");
	check(mask_name, "\x1b[31m", 64, "*****");
	check(mask_name, "\x7f", 64, "*");
}

static void
test_mobile(void **state)
{
	(void)state;
	check(mask_mobile, "13800000000", 64, "138****0000");
	check(mask_mobile, "13912345678", 64, "139****5678");
	check(mask_mobile, "138 0000 0000", 64, "138****0000");
	check(mask_mobile, "138-0000-0000", 64, "138****0000");
	check(mask_mobile, "+8613800000000", 64, "+861******0000");
	check(mask_mobile, "+86 138-0000-0000", 64, "+861******0000");
	/* A landline with its area code: 8 digits and more keep 3 + 4. */
	check(mask_mobile, "043112345678", 64, "043*****5678");
	check(mask_mobile, "12345678", 64, "123*5678");
	/* Fewer than 8: nothing shown. */
	check(mask_mobile, "1234567", 64, "*******");
	check(mask_mobile, "110", 64, "***");
	check(mask_mobile, "", 64, "");
	check(mask_mobile, "+", 64, "+");
	/* Not a number: one '*' per character, never a digit of it. */
	check(mask_mobile, "138x0000000", 64, "***********");
	check(mask_mobile, "1380000000+", 64, "***********");
	check(mask_mobile, "++13800000000", 64, "*************");
	check(mask_mobile, "１３８００００００００", 64, "***********");
	check(mask_mobile, "138\xff", 64, "****");
	check(mask_mobile, "123456789012345678901", 64,
	    "*********************");
	check(mask_mobile, "12345678901234567890", 64, "123*************7890");
	/* Cut, never a digit beyond what fits. */
	check(mask_mobile, "13800000000", 8, "138****");
	check(mask_mobile, "13800000000", 1, "");
}

static void
test_plate(void **state)
{
	(void)state;
	check(mask_plate, "吉A12345", 64, "吉A***45");
	check(mask_plate, "吉AD12345", 64, "吉A****45");
	check(mask_plate, "京A1234警", 64, "京A***4警");
	check(mask_plate, "ABCDE", 64, "AB*DE");
	/* Shorter than a plate: nothing shown. */
	check(mask_plate, "吉A12", 64, "****");
	check(mask_plate, "", 64, "");
	/* Bytes that are not UTF-8 count as characters and show as '*'. */
	check(mask_plate,
	    "\xff"
	    "A12345",
	    64, "*A***45");
	check(mask_plate, "吉A123\xe4\xb8", 64, "吉A*****");
	check(mask_plate, "吉A12345\n", 64, "吉A****5*");
	/* Cut on a character boundary: "吉A" is 4 bytes. */
	check(mask_plate, "吉A12345", 5, "吉A");
	check(mask_plate, "吉A12345", 4, "吉");
	check(mask_plate, "吉A12345", 3, "");
	check(mask_plate, "吉A12345", 10, "吉A***45");
	check(mask_plate, "吉A12345", 9, "吉A***4");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_name_odd),
		cmocka_unit_test(test_mobile),
		cmocka_unit_test(test_plate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
