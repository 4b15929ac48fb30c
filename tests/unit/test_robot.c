/*
 * test_robot.c - the WeChat robot's pure parts: content cut on character
 * boundaries, the JSON bodies as the robot receives them, the budget of
 * 20 a minute with its urgent reserve, the summary of what was held
 * back, and the answer read by errcode alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "alert.h"
#include "config.h"
#include "robot.h"
#include "util.h"

#define ELLIPSIS "…"
#define MIN      60000
#define T0       1795413600000LL

/* robot_cut(s, max) with a big enough buffer is want. */
static void
cut_is(const char *s, size_t max, const char *want)
{
	char out[256];
	size_t n;

	n = robot_cut(s, max, out, sizeof(out));
	assert_string_equal(out, want);
	assert_int_equal(n, strlen(want));
}

static void
test_cut_ascii(void **state)
{
	char out[8];

	(void)state;
	cut_is("abc", 3, "abc");
	cut_is("abc", 100, "abc");
	cut_is("", 0, "");
	cut_is("abcdef", 5, "ab" ELLIPSIS);
	cut_is("abcdef", 3, ELLIPSIS);
	/* No room for the ellipsis: the bytes that fit. */
	cut_is("abcdef", 2, "ab");
	cut_is("abcdef", 0, "");
	/* The buffer bounds it too. */
	assert_int_equal(robot_cut("abcdefghij", 100, out, sizeof(out)), 7);
	assert_string_equal(out, "abcd" ELLIPSIS);
	memset(out, 'x', sizeof(out));
	assert_int_equal(robot_cut("abc", 3, out, 0), 0);
	assert_int_equal(out[0], 'x');
	assert_int_equal(robot_cut("abc", 3, out, 1), 0);
	assert_string_equal(out, "");
}

/* The cut point falls inside a 2-, 3- and 4-byte character. */
static void
test_cut_multibyte(void **state)
{
	(void)state;
	/* 2 bytes: "é" is C3 A9. */
	cut_is("ééé", 6, "ééé");
	cut_is("ééé", 5, "é" ELLIPSIS);
	cut_is("aééé", 6, "aé" ELLIPSIS);
	cut_is("aééé", 5, "a" ELLIPSIS); /* room 2: a + half an é */
	cut_is("aééé", 7, "aééé");       /* whole */
	cut_is("aéééé", 7, "aé" ELLIPSIS);
	/* 3 bytes: "张". */
	cut_is("张三丰", 9, "张三丰");
	cut_is("张三丰", 8, "张" ELLIPSIS);
	cut_is("张三丰", 7, "张" ELLIPSIS);
	cut_is("张三丰", 6, "张" ELLIPSIS);
	cut_is("张三丰", 5, ELLIPSIS);
	cut_is("张三丰", 2, "");
	cut_is("a张三丰", 6, "a" ELLIPSIS);
	cut_is("ab张三丰", 7, "ab" ELLIPSIS);
	/* 4 bytes: U+1F600. */
	cut_is("😀😀", 8, "😀😀");
	cut_is("😀😀", 7, "😀" ELLIPSIS);
	cut_is("😀😀", 6, ELLIPSIS);
	cut_is("a😀😀", 7, "a" ELLIPSIS);
	cut_is("ab😀😀", 8, "ab" ELLIPSIS);
	cut_is("abc😀😀", 9, "abc" ELLIPSIS);
	cut_is("abcd😀😀", 10, "abcd" ELLIPSIS);
	/* An ellipsis in the text is a character like another. */
	cut_is("ab…", 5, "ab…");
}

/* Bytes that are not UTF-8 become '?': the robot takes only UTF-8. */
static void
test_cut_invalid(void **state)
{
	(void)state;
	cut_is("a\xff"
	       "b",
	    10, "a?b");
	cut_is("\xe5\xbc", 10, "??");      /* 张 cut short */
	cut_is("\xc0\xaf", 10, "??");      /* overlong */
	cut_is("\xed\xa0\x80", 10, "???"); /* surrogate */
	cut_is("\xf4\x90\x80\x80", 10, "????");
	cut_is("\xff\xff\xff\xff\xff", 4, "?" ELLIPSIS);
	cut_is("张\xe4\xb8", 5, "张??");
}

/* Every cut of a mixed text: UTF-8, within max, the longest prefix of
 * whole characters that leaves room for the ellipsis. */
static void
test_cut_every_length(void **state)
{
	static const char s[] = "【紧急】高空抛物 · cam-5-east · 14:03 · "
	                        "请立即到场 é😀x";
	size_t len = strlen(s), max, n, body, next;
	char out[128];

	(void)state;
	for (max = 0; max <= len + 1; max++) {
		n = robot_cut(s, max, out, sizeof(out));
		assert_int_equal(n, strlen(out));
		assert_true(n <= max);
		assert_true(utf8_valid(out, n));
		if (max >= len) {
			assert_string_equal(out, s);
			continue;
		}
		if (max < 3) {
			assert_memory_equal(out, s, n);
			continue;
		}
		assert_true(n >= 3);
		body = n - 3;
		assert_memory_equal(out + body, ELLIPSIS, 3);
		assert_memory_equal(out, s, body);
		/* The next character would not have fitted. */
		next = utf8_char(s + body, len - body);
		assert_true(next > 0);
		assert_true(body + next + 3 > max);
	}
}

/* The body parsed back: msgtype, and content. */
static json_t *
parse(const char *body, const char *type, const char **content)
{
	json_error_t err;
	json_t *root = json_loads(body, JSON_REJECT_DUPLICATES, &err);

	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "msgtype")),
	    type);
	*content = json_string_value(
	    json_object_get(json_object_get(root, type), "content"));
	assert_non_null(*content);
	return root;
}

static void
test_markdown(void **state)
{
	char *body, *big;
	const char *content;
	json_t *root;
	size_t i;

	(void)state;
	body = robot_markdown("【提醒】未登记车辆 吉A***45 · 南门入口");
	assert_string_equal(body,
	    "{\"msgtype\":\"markdown\",\"markdown\":{\"content\":"
	    "\"【提醒】未登记车辆 吉A***45 · 南门入口\"}}");
	free(body);

	/* Quotes, backslashes and newlines survive the round trip. */
	body = robot_markdown("a \"b\" \\c\n> d");
	root = parse(body, "markdown", &content);
	assert_string_equal(content, "a \"b\" \\c\n> d");
	json_decref(root);
	free(body);

	/* 5000 张: cut to 4096 bytes, whole characters and the ellipsis. */
	big = malloc(5000 * 3 + 1);
	assert_non_null(big);
	for (i = 0; i < 5000; i++)
		memcpy(big + 3 * i, "张", 3);
	big[5000 * 3] = '\0';
	body = robot_markdown(big);
	root = parse(body, "markdown", &content);
	assert_true(strlen(content) <= ROBOT_MARKDOWN_MAX);
	assert_int_equal(strlen(content), 1364 * 3 + 3);
	assert_memory_equal(content + 1364 * 3, ELLIPSIS, 3);
	assert_memory_equal(content, big, 1364 * 3);
	json_decref(root);
	free(body);

	/* Exactly 4096 bytes is not cut. */
	memset(big, 'a', ROBOT_MARKDOWN_MAX);
	big[ROBOT_MARKDOWN_MAX] = '\0';
	body = robot_markdown(big);
	root = parse(body, "markdown", &content);
	assert_string_equal(content, big);
	json_decref(root);
	free(body);
	free(big);

	/* Bytes that are not UTF-8 still make a message. */
	body = robot_markdown("cam\xff-5");
	root = parse(body, "markdown", &content);
	assert_string_equal(content, "cam?-5");
	json_decref(root);
	free(body);
}

static void
test_text(void **state)
{
	const char *mobiles[] = { "13800000000", "", NULL, "\xff",
		"13900000000" };
	char *body, big[3000];
	const char *content;
	json_t *root, *list;

	(void)state;
	body = robot_text("【紧急】高空抛物 · cam-5-east · 14:03 · 请立即到场",
	    mobiles, 5);
	assert_string_equal(body,
	    "{\"msgtype\":\"text\",\"text\":{\"content\":"
	    "\"【紧急】高空抛物 · cam-5-east · 14:03 · 请立即到场\","
	    "\"mentioned_mobile_list\":[\"13800000000\",\"13900000000\"]}}");
	free(body);

	/* Nobody to ring: an empty list, still text. */
	body = robot_text("x", NULL, 0);
	root = parse(body, "text", &content);
	list = json_object_get(json_object_get(root, "text"),
	    "mentioned_mobile_list");
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), 0);
	json_decref(root);
	free(body);

	/* Text is cut at 2048 bytes, not 4096. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	body = robot_text(big, mobiles, 1);
	root = parse(body, "text", &content);
	assert_int_equal(strlen(content), ROBOT_TEXT_MAX);
	assert_string_equal(content + ROBOT_TEXT_MAX - 3, ELLIPSIS);
	json_decref(root);
	free(body);
}

/* robot_answer(s) is want; the errcode it read is code (or untouched:
 * 12345). */
static void
answer_is(const char *s, enum robot_answer want, long long code)
{
	long long got = 12345;

	assert_int_equal(robot_answer(s, strlen(s), &got), want);
	assert_int_equal(got, code);
	assert_int_equal(robot_answer(s, strlen(s), NULL), want);
}

static void
test_answer(void **state)
{
	(void)state;
	answer_is("{\"errcode\":0,\"errmsg\":\"ok\"}", ROBOT_OK, 0);
	answer_is("{\"errmsg\":\"ok\",\"errcode\":0}", ROBOT_OK, 0);
	answer_is(" {\"errcode\":0}\n", ROBOT_OK, 0);
	answer_is("{\"errcode\":45009,\"errmsg\":\"api freq out of limit\"}",
	    ROBOT_RETRY, 45009);
	answer_is("{\"errcode\":-1,\"errmsg\":\"system busy\"}", ROBOT_RETRY,
	    -1);
	answer_is("{\"errcode\":93000,\"errmsg\":\"invalid webhook url\"}",
	    ROBOT_STOPPED, 93000);
	answer_is("{\"errcode\":40008,\"errmsg\":\"invalid message type\"}",
	    ROBOT_ERROR, 40008);
	answer_is("{\"errcode\":1}", ROBOT_ERROR, 1);
}

/* errmsg says one thing, errcode another: errcode decides. */
static void
test_answer_errmsg_lies(void **state)
{
	(void)state;
	answer_is("{\"errcode\":93000,\"errmsg\":\"ok\"}", ROBOT_STOPPED,
	    93000);
	answer_is("{\"errcode\":45009,\"errmsg\":\"ok\"}", ROBOT_RETRY, 45009);
	answer_is("{\"errcode\":44004,\"errmsg\":\"ok\"}", ROBOT_ERROR, 44004);
	answer_is("{\"errcode\":0,\"errmsg\":\"invalid webhook url\"}",
	    ROBOT_OK, 0);
	answer_is("{\"errmsg\":\"ok\"}", ROBOT_ERROR, 12345);
	answer_is("{\"errcode\":\"0\",\"errmsg\":\"ok\"}", ROBOT_ERROR, 12345);
	answer_is("{\"errcode\":0.0,\"errmsg\":\"ok\"}", ROBOT_ERROR, 12345);
	answer_is("{\"errcode\":false}", ROBOT_ERROR, 12345);
	answer_is("{\"errcode\":null}", ROBOT_ERROR, 12345);
	answer_is("{\"data\":{\"errcode\":0}}", ROBOT_ERROR, 12345);
	/* Two errcodes: no answer, whichever a parser would keep. */
	answer_is("{\"errcode\":93000,\"errcode\":0}", ROBOT_ERROR, 12345);
	answer_is("{\"errcode\":0,\"errcode\":0}", ROBOT_ERROR, 12345);
}

/* Not JSON, or not one object: an error, never ok. */
static void
test_answer_not_json(void **state)
{
	static const char nul[] = "{\"errcode\":0}\0";
	long long code = 12345;

	(void)state;
	answer_is("", ROBOT_ERROR, 12345);
	answer_is("ok", ROBOT_ERROR, 12345);
	answer_is("0", ROBOT_ERROR, 12345);
	answer_is("[0]", ROBOT_ERROR, 12345);
	answer_is("[{\"errcode\":0}]", ROBOT_ERROR, 12345);
	answer_is("\"errcode\":0", ROBOT_ERROR, 12345);
	answer_is("<html><body>502 Bad Gateway</body></html>", ROBOT_ERROR,
	    12345);
	answer_is("{\"errcode\":0", ROBOT_ERROR, 12345);
	answer_is("{\"errcode\":0}{\"errcode\":93000}", ROBOT_ERROR, 12345);
	answer_is("{\"errcode\":0} trailing", ROBOT_ERROR, 12345);
	answer_is("{\"errcode\":99999999999999999999999}", ROBOT_ERROR, 12345);
	answer_is("{\"errcode\":0,\"errmsg\":\"\xff\"}", ROBOT_ERROR, 12345);
	/* Only len bytes are read, and a NUL within them is no JSON. */
	assert_int_equal(robot_answer("{\"errcode\":0}xyz", 13, &code),
	    ROBOT_OK);
	assert_int_equal(robot_answer(nul, sizeof(nul) - 1, &code),
	    ROBOT_ERROR);
	assert_int_equal(robot_answer("{\"errcode\":0}", 12, &code),
	    ROBOT_ERROR);
}

static void
test_limiter_init(void **state)
{
	struct robot_limiter l;

	(void)state;
	assert_int_equal(robot_limiter_init(&l, 20, 5), 0);
	assert_int_equal(robot_limiter_init(&l, 20, 0), 0);
	assert_int_equal(robot_limiter_init(&l, 1, 0), 0);
	assert_int_equal(robot_limiter_init(&l, ROBOT_PER_MINUTE_MAX, 0), 0);
	assert_int_equal(robot_limiter_init(&l, 0, 0), -1);
	assert_int_equal(robot_limiter_init(&l, -1, 0), -1);
	assert_int_equal(robot_limiter_init(&l, ROBOT_PER_MINUTE_MAX + 1, 0),
	    -1);
	assert_int_equal(robot_limiter_init(&l, 20, 20), -1);
	assert_int_equal(robot_limiter_init(&l, 20, -1), -1);
	/* A limiter that failed to start sends nothing. */
	assert_false(robot_may_send(&l, T0, true));
	assert_int_equal(robot_next_send(&l, T0, true), INT64_MAX);
	robot_sent(&l, T0);
	assert_false(robot_may_send(&l, T0, true));
}

/* 20 in a window, the 21st refused until the first leaves it. */
static void
test_limiter_twenty(void **state)
{
	struct robot_limiter l;
	int i;

	(void)state;
	assert_int_equal(robot_limiter_init(&l, 20, 0), 0);
	for (i = 0; i < 20; i++) {
		assert_true(robot_may_send(&l, T0 + i * 1000, false));
		assert_int_equal(robot_next_send(&l, T0 + i * 1000, false),
		    T0 + i * 1000);
		robot_sent(&l, T0 + i * 1000);
	}
	assert_false(robot_may_send(&l, T0 + 19000, false));
	assert_false(robot_may_send(&l, T0 + 19000, true));
	assert_int_equal(robot_next_send(&l, T0 + 19000, false), T0 + MIN);
	assert_int_equal(robot_next_send(&l, T0 + 19000, true), T0 + MIN);
	assert_false(robot_may_send(&l, T0 + MIN - 1, true));
	assert_true(robot_may_send(&l, T0 + MIN, false));
	robot_sent(&l, T0 + MIN);
	/* One left, one came: full again until the second leaves. */
	assert_false(robot_may_send(&l, T0 + MIN, false));
	assert_int_equal(robot_next_send(&l, T0 + MIN, false), T0 + 1000 + MIN);
	assert_true(robot_may_send(&l, T0 + 1000 + MIN, false));
}

/* The reserve: 15 for anyone, the last 5 only for messages that ring. */
static void
test_limiter_reserve(void **state)
{
	struct robot_limiter l;
	int i;

	(void)state;
	assert_int_equal(robot_limiter_init(&l, 20, 5), 0);
	for (i = 0; i < 15; i++) {
		assert_true(robot_may_send(&l, T0 + i, false));
		robot_sent(&l, T0 + i);
	}
	assert_false(robot_may_send(&l, T0 + 15, false));
	assert_int_equal(robot_next_send(&l, T0 + 15, false), T0 + MIN);
	for (i = 15; i < 20; i++) {
		assert_false(robot_may_send(&l, T0 + i, false));
		assert_true(robot_may_send(&l, T0 + i, true));
		robot_sent(&l, T0 + i);
	}
	assert_false(robot_may_send(&l, T0 + 20, true));
	assert_int_equal(robot_next_send(&l, T0 + 20, true), T0 + MIN);
	/* Ordinary ones wait until only 14 are left in the window. */
	assert_int_equal(robot_next_send(&l, T0 + 20, false), T0 + 5 + MIN);
	assert_false(robot_may_send(&l, T0 + 4 + MIN, false));
	assert_true(robot_may_send(&l, T0 + 4 + MIN, true));
	assert_true(robot_may_send(&l, T0 + 5 + MIN, false));

	/* Ringing messages may use all 20; ordinary ones then wait. */
	assert_int_equal(robot_limiter_init(&l, 20, 5), 0);
	for (i = 0; i < 20; i++) {
		assert_true(robot_may_send(&l, T0 + i, true));
		robot_sent(&l, T0 + i);
	}
	assert_false(robot_may_send(&l, T0 + 30000, false));
	assert_int_equal(robot_next_send(&l, T0 + 30000, false), T0 + 5 + MIN);
}

/* Any 60 s window, not per calendar minute: 10 at 0 s and 10 at 30 s
 * leave room for 10 at 60 s and 10 more at 90 s. */
static void
test_limiter_sliding(void **state)
{
	struct robot_limiter l;
	int i;

	(void)state;
	assert_int_equal(robot_limiter_init(&l, 20, 0), 0);
	for (i = 0; i < 10; i++)
		robot_sent(&l, T0 + 59000);
	for (i = 0; i < 10; i++)
		robot_sent(&l, T0 + 61000);
	/* A minute boundary between them does not reset anything. */
	assert_false(robot_may_send(&l, T0 + 62000, false));
	assert_false(robot_may_send(&l, T0 + 59000 + MIN - 1, false));
	for (i = 0; i < 10; i++) {
		assert_true(robot_may_send(&l, T0 + 59000 + MIN, false));
		robot_sent(&l, T0 + 59000 + MIN);
	}
	assert_false(robot_may_send(&l, T0 + 59000 + MIN, false));
	assert_int_equal(robot_next_send(&l, T0 + 59000 + MIN, false),
	    T0 + 61000 + MIN);
	assert_true(robot_may_send(&l, T0 + 61000 + MIN, false));
	/* Long quiet: the whole budget again. */
	assert_int_equal(robot_next_send(&l, T0 + 3600000, false),
	    T0 + 3600000);
}

/*
 * A burst over ten minutes with every third message ringing, each sent
 * the moment it may go: no 60 s window ever holds more than 20; none
 * holds more than 15 after an ordinary one; and a refusal is never
 * needless (the window really was full for it).
 */
static void
test_limiter_burst(void **state)
{
	struct robot_limiter l;
	static int64_t sent[4000];
	int n = 0, i, j, in, refused = 0;
	int64_t t;
	bool rings;
	uint32_t r = 1;

	(void)state;
	assert_int_equal(robot_limiter_init(&l, 20, 5), 0);
	for (t = T0; t < T0 + 10 * MIN; t += 1 + (r >> 20) % 700) {
		r = r * 1103515245u + 12345u;
		rings = (r >> 8) % 3 == 0;
		for (in = 0, j = 0; j < n; j++)
			in += t - sent[j] < MIN;
		if (!robot_may_send(&l, t, rings)) {
			assert_true(in <= 20);
			assert_true(in >= (rings ? 20 : 15));
			assert_true(robot_next_send(&l, t, rings) > t);
			refused++;
			continue;
		}
		assert_true(in < (rings ? 20 : 15));
		assert_int_equal(robot_next_send(&l, t, rings), t);
		robot_sent(&l, t);
		sent[n++] = t;
	}
	assert_true(refused > 100);
	for (i = 0; i < n; i++) {
		for (in = 0, j = i; j < n && sent[j] - sent[i] < MIN; j++)
			in++;
		assert_true(in <= 20);
	}
	/* About 20 a minute went, not much fewer. */
	assert_true(n >= 10 * 20 - 20);
}

static void
test_summary(void **state)
{
	struct robot_held h;
	char out[512];
	int i;

	(void)state;
	robot_held_clear(&h);
	assert_int_equal(robot_summary(&h, T0, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	for (i = 0; i < 7; i++) {
		robot_hold(&h, alert_type_index("vehicle_unknown"),
		    T0 + i * 20000);
		if (i < 3)
			robot_hold(&h, alert_type_index("tailgating"),
			    T0 + i * 20000 + 1);
		if (i < 2)
			robot_hold(&h, alert_type_index("device_offline"),
			    T0 + 1);
	}
	assert_int_equal(h.total, 12);
	assert_int_equal(robot_summary(&h, T0 + 150000, out, sizeof(out)), 0);
	assert_string_equal(out,
	    "【汇总】过去 3 分钟另有 12 条告警未单独发送：未登记车辆 7，"
	    "尾随 3，设备离线 2");
	/* Until delivered it stays, and grows. */
	robot_hold(&h, alert_type_index("device_offline"), T0 + 170000);
	assert_int_equal(robot_summary(&h, T0 + 180000, out, sizeof(out)), 0);
	assert_string_equal(out,
	    "【汇总】过去 3 分钟另有 13 条告警未单独发送：未登记车辆 7，"
	    "尾随 3，设备离线 3");
	robot_held_clear(&h);
	assert_int_equal(robot_summary(&h, T0 + 180000, out, sizeof(out)), -1);
	/* A new count starts its own minutes. */
	robot_hold(&h, alert_type_index("fire"), T0 + 10 * MIN);
	assert_int_equal(robot_summary(&h, T0 + 10 * MIN, out, sizeof(out)), 0);
	assert_string_equal(out,
	    "【汇总】过去 1 分钟另有 1 条告警未单独发送：火警 1");
}

/* Equal counts in type order; types it does not know as "其他"; the
 * minutes rounded up. */
static void
test_summary_order_and_other(void **state)
{
	struct robot_held h;
	char out[512];

	(void)state;
	robot_held_clear(&h);
	robot_hold(&h, alert_type_index("vehicle_unknown"), T0);
	robot_hold(&h, -1, T0);
	robot_hold(&h, ALERT_TYPES, T0);
	robot_hold(&h, 9999, T0);
	robot_hold(&h, alert_type_index("falling_object"), T0);
	robot_hold(&h, alert_type_index("vehicle_unknown"), T0);
	robot_hold(&h, alert_type_index("falling_object"), T0);
	assert_int_equal(robot_summary(&h, T0 + MIN, out, sizeof(out)), 0);
	assert_string_equal(out,
	    "【汇总】过去 1 分钟另有 7 条告警未单独发送：其他 3，"
	    "高空抛物 2，未登记车辆 2");
	assert_int_equal(robot_summary(&h, T0 + MIN + 1, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "过去 2 分钟"));
}

/* Every type has a label a guard reads, and a short buffer cuts on a
 * character boundary. */
static void
test_summary_every_type(void **state)
{
	struct robot_held h;
	char out[1024], small[40];
	const char *name;
	int i;

	(void)state;
	robot_held_clear(&h);
	for (i = 0; i < ALERT_TYPES; i++)
		robot_hold(&h, i, T0);
	assert_int_equal(robot_summary(&h, T0, out, sizeof(out)), 0);
	assert_true(utf8_valid(out, strlen(out)));
	assert_non_null(strstr(out, "另有 19 条告警"));
	for (i = 0; i < ALERT_TYPES; i++) {
		/* No type shows its English name. */
		name = alert_type_name(i);
		assert_null(strstr(out, name));
	}
	assert_int_equal(robot_summary(&h, T0, small, sizeof(small)), 0);
	assert_true(strlen(small) < sizeof(small));
	assert_true(utf8_valid(small, strlen(small)));
	assert_non_null(strstr(small, ELLIPSIS));
	assert_int_equal(robot_summary(&h, T0, small, 0), 0);
}

/* ---- what a record says to a guard's phone */

static char duty1[] = "13800000000", duty2[] = "13900000000";
static char *duty[] = { duty1, duty2 };
static char building[] = "5", steward[] = "13700000005";
static struct config_steward stewards[] = { { building, steward, 1 } };

static void
compose_cfg(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->wechat.duty_mobiles = duty;
	c->wechat.nduty = 2;
	c->incidents.ack_min = 5;
	c->care.stewards = stewards;
	c->care.nstewards = 1;
}

static void
compose(const char *json, struct robot_message *m)
{
	struct config c;

	compose_cfg(&c);
	assert_int_equal(robot_compose(json, strlen(json), &c, m), 0);
}

static void
test_compose_incident(void **state)
{
	struct robot_message m;

	(void)state;
	/* An unknown car: markdown, the plate masked, nobody rung. */
	compose("{\"id\":\"s:9\",\"ts\":\"2026-12-02T14:03:09.1+08:00\","
	        "\"kind\":\"incident\",\"device\":\"lpr-south-in\","
	        "\"decision\":\"open\",\"phase\":\"open\",\"incident\":12,"
	        "\"type\":\"vehicle_unknown\",\"severity\":\"minor\","
	        "\"ring\":false,\"events\":1,\"event\":{\"subject\":"
	        "{\"type\":\"plate\",\"id\":\"吉A12345\"},\"reason\":"
	        "\"unknown\"}}",
	    &m);
	assert_false(m.text);
	assert_false(m.urgent);
	assert_int_equal(m.nmobiles, 0);
	assert_int_equal(m.type, alert_type_index("vehicle_unknown"));
	assert_string_equal(m.content,
	    "**【提醒】未登记车辆** 车牌 `吉A***45`\n> 地点：lpr-south-in\n"
	    "> 时间：14:03\n> 事件 #12 · 请在巡查时处理");
	assert_null(strstr(m.content, "12345"));

	/* A falling object rings the duty mobiles from the first message. */
	compose("{\"ts\":\"2026-12-02T14:03:00+08:00\",\"kind\":\"incident\","
	        "\"device\":\"cam-5-east\",\"phase\":\"open\",\"incident\":3,"
	        "\"type\":\"falling_object\",\"severity\":\"urgent\","
	        "\"ring\":true,\"event\":{\"score\":0.9}}",
	    &m);
	assert_true(m.text);
	assert_true(m.urgent);
	assert_int_equal(m.nmobiles, 2);
	assert_string_equal(m.mobiles[1], "13900000000");
	assert_string_equal(m.content,
	    "【紧急】高空抛物 · cam-5-east · 14:03 · 请立即到场（事件 #3）");

	/* A re-alert rings them, saying since when and how long. */
	compose("{\"ts\":\"2026-12-02T14:08:00+08:00\",\"kind\":\"incident\","
	        "\"device\":\"charger-a\",\"phase\":\"realert\",\"incident\":4,"
	        "\"type\":\"over_temperature\",\"severity\":\"major\","
	        "\"ring\":true,\"opened\":\"2026-12-02T14:03:00+08:00\"}",
	    &m);
	assert_true(m.text && m.urgent);
	assert_string_equal(m.content,
	    "【未确认】充电过温 · charger-a · 14:03 发生，5 分钟内无人确认，"
	    "请立即处理（事件 #4）");

	compose("{\"kind\":\"incident\",\"device\":\"gate-north\","
	        "\"phase\":\"escalate\",\"incident\":5,\"type\":\"device_"
	        "offline\","
	        "\"severity\":\"major\",\"ring\":true,\"events\":2,"
	        "\"opened\":\"2026-12-02T10:00:00+08:00\"}",
	    &m);
	assert_string_equal(m.content,
	    "【升级】设备离线 · gate-north · 10:00 发生，至今未解决，请负责人"
	    "跟进（事件 #5，2 次告警）");

	/* A charging port's heat, shown with its port and temperature. */
	compose("{\"ts\":\"2026-12-02T14:03:00+08:00\",\"kind\":\"incident\","
	        "\"device\":\"charger-a\",\"phase\":\"open\",\"incident\":6,"
	        "\"type\":\"over_temperature\",\"severity\":\"major\","
	        "\"ring\":false,\"event\":{\"port\":3,\"temp_c\":72.44}}",
	    &m);
	assert_non_null(strstr(m.content, "3 号端口 · 72.4℃"));
}

static void
test_compose_care(void **state)
{
	struct robot_message m;
	struct config c;
	const char *other = "{\"kind\":\"system\",\"decision\":\"care\","
	                    "\"subject\":{\"type\":\"person\",\"id\":\"P9\","
	                    "\"household\":\"7-1-101\"},\"minutes\":90}";

	(void)state;
	/* To the steward of building 5 only; the household, never a name. */
	compose("{\"kind\":\"system\",\"decision\":\"care\",\"subject\":"
	        "{\"type\":\"person\",\"id\":\"P0001\",\"household\":"
	        "\"5-2-301\"},\"minutes\":1570,\"care\":\"daily\"}",
	    &m);
	assert_true(m.text);
	assert_false(m.urgent); /* the reserve is for the duty mobiles */
	assert_int_equal(m.nmobiles, 1);
	assert_string_equal(m.mobiles[0], "13700000005");
	assert_string_equal(m.content,
	    "【关怀】5-2-301 的关怀对象已 26 小时未经过门禁，请上门或电话看望");
	/* A building without a steward: the group, nobody rung. */
	compose(other, &m);
	assert_false(m.text);
	assert_int_equal(m.nmobiles, 0);
	assert_non_null(strstr(m.content, "7-1-101"));
	/* Back: the group is told, nobody rung. */
	compose("{\"ts\":\"2026-12-02T09:15:00+08:00\",\"kind\":\"system\","
	        "\"decision\":\"care_end\",\"subject\":{\"type\":\"person\","
	        "\"id\":\"P0001\",\"household\":\"5-2-301\"},\"minutes\":1600}",
	    &m);
	assert_false(m.text);
	assert_string_equal(m.content,
	    "【关怀】5-2-301 的关怀对象已于 09:15 经过门禁（此前 26 "
	    "小时未经过），"
	    "无需再上门");
	/* What is not a message is refused. */
	compose_cfg(&c);
	assert_int_equal(robot_compose("{\"kind\":\"access\"}", 17, &c, &m),
	    -1);
	assert_int_equal(robot_compose("not json", 8, &c, &m), -1);
}

/* The daily report: its markdown is the message, kept out of the
 * alerts' summaries, ringing nobody. */
static void
test_compose_report(void **state)
{
	struct robot_message m;
	struct config c;

	(void)state;
	compose("{\"kind\":\"system\",\"decision\":\"report\",\"reason\":"
	        "\"daily 2026-11-23\",\"markdown\":\"**日报**\\n> 事件 2 起\"}",
	    &m);
	assert_false(m.text);
	assert_true(m.keep);
	assert_false(m.urgent);
	assert_int_equal(m.nmobiles, 0);
	assert_string_equal(m.content, "**日报**\n> 事件 2 起");
	compose_cfg(&c);
	assert_int_equal(robot_compose("{\"kind\":\"system\",\"decision\":"
	                               "\"report\"}",
	                     strlen("{\"kind\":\"system\",\"decision\":"
	                            "\"report\"}"),
	                     &c, &m),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cut_ascii),
		cmocka_unit_test(test_cut_multibyte),
		cmocka_unit_test(test_cut_invalid),
		cmocka_unit_test(test_cut_every_length),
		cmocka_unit_test(test_markdown),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_answer_errmsg_lies),
		cmocka_unit_test(test_answer_not_json),
		cmocka_unit_test(test_limiter_init),
		cmocka_unit_test(test_limiter_twenty),
		cmocka_unit_test(test_limiter_reserve),
		cmocka_unit_test(test_limiter_sliding),
		cmocka_unit_test(test_limiter_burst),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_summary_order_and_other),
		cmocka_unit_test(test_summary_every_type),
		cmocka_unit_test(test_compose_incident),
		cmocka_unit_test(test_compose_care),
		cmocka_unit_test(test_compose_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
