/*
 * test_htab.c - the string pool and the hash index that the access
 * tables and dedup are built on: offsets and references that stay
 * right across growth, keys told apart by the caller's equality when
 * their hashes collide, and the bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "htab.h"
#include "strpool.h"

static void
test_pool(void **state)
{
	struct strpool p = { 0 };
	uint32_t a, b, e, off[5000];
	char s[32];
	int i;

	(void)state;
	/* Zeroed, it is empty and ready; 0 is "". */
	assert_string_equal(strpool_str(&p, 0), "");
	assert_int_equal(strpool_add(&p, "", 0, &e), 0);
	assert_int_equal(e, 0);
	assert_null(p.buf);
	assert_int_equal(strpool_add(&p, "张三", strlen("张三"), &a), 0);
	assert_int_equal(strpool_add(&p, "P0001xyz", 5, &b), 0);
	assert_true(a != 0 && b != 0 && a != b);
	assert_string_equal(strpool_str(&p, 0), "");
	assert_string_equal(strpool_str(&p, a), "张三");
	assert_string_equal(strpool_str(&p, b), "P0001");
	/* Offsets, unlike pointers, survive the buffer moving. */
	for (i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "person-%d", i);
		assert_int_equal(strpool_add(&p, s, strlen(s), &off[i]), 0);
	}
	assert_true(p.cap > 4096);
	for (i = 0; i < 5000; i++) {
		snprintf(s, sizeof(s), "person-%d", i);
		assert_string_equal(strpool_str(&p, off[i]), s);
	}
	assert_string_equal(strpool_str(&p, a), "张三");
	strpool_shrink(&p);
	assert_int_equal(p.cap, p.len);
	assert_string_equal(strpool_str(&p, off[4999]), "person-4999");
	strpool_free(&p);
	strpool_free(&p);
	assert_string_equal(strpool_str(&p, 0), "");
}

/* The caller's entries: strings in an array, the reference an index. */
struct names {
	const char *v[20000];
};

static bool
name_eq(const void *ctx, uint32_t ref, const void *key)
{
	const struct names *n = ctx;

	return strcmp(n->v[ref], key) == 0;
}

static void
test_index(void **state)
{
	static struct names names;
	static char text[20000][16];
	struct htab h = { 0 };
	char miss[16];
	uint32_t i;

	(void)state;
	assert_int_equal(htab_find(&h, htab_hash_str("a"), name_eq, &names,
	                     "a"),
	    -1);
	for (i = 0; i < 20000; i++) {
		snprintf(text[i], sizeof(text[i]), "C%08u", i);
		names.v[i] = text[i];
		assert_int_equal(htab_insert(&h, htab_hash_str(text[i]), i), 0);
	}
	assert_int_equal(h.n, 20000);
	/* At most three quarters full, whatever it grew through, and not
	 * twice the size it needs. */
	assert_true((uint64_t)(h.mask + 1) * 3 >= (uint64_t)4 * h.n);
	assert_true((h.mask + 1) / 2 * 3 < (uint64_t)4 * h.n + 4);
	for (i = 0; i < 20000; i++)
		assert_int_equal(htab_find(&h, htab_hash_str(text[i]), name_eq,
		                     &names, text[i]),
		    i);
	for (i = 20000; i < 21000; i++) {
		snprintf(miss, sizeof(miss), "C%08u", i);
		assert_int_equal(htab_find(&h, htab_hash_str(miss), name_eq,
		                     &names, miss),
		    -1);
	}
	/* The reference UINT32_MAX cannot be stored (slots keep ref + 1). */
	assert_int_equal(htab_insert(&h, 1, UINT32_MAX), -1);
	assert_int_equal(h.n, 20000);
	htab_free(&h);
	htab_free(&h);
	assert_int_equal(htab_find(&h, 0, name_eq, &names, "C00000000"), -1);
}

/* Keys whose hashes are all the same are still told apart. */
static void
test_collisions(void **state)
{
	static struct names names;
	static const char *const keys[] = { "a", "b", "c", "d", "e", "f", "g",
		"h", "i", "j", "k", "l", "m", "n", "o", "p", "q" };
	struct htab h = { 0 };
	uint32_t i, n = sizeof(keys) / sizeof(keys[0]);

	(void)state;
	for (i = 0; i < n; i++) {
		names.v[i] = keys[i];
		assert_int_equal(htab_insert(&h, 42, i), 0);
	}
	for (i = 0; i < n; i++)
		assert_int_equal(htab_find(&h, 42, name_eq, &names, keys[i]),
		    i);
	assert_int_equal(htab_find(&h, 42, name_eq, &names, "z"), -1);
	/* A probe that wraps around the end of the slots. */
	assert_int_equal(htab_find(&h, h.mask, name_eq, &names, "z"), -1);
	htab_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_collisions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
