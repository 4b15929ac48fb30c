/*
 * robot.h - the WeChat Work group robot (DESIGN §4.6) as pure parts the
 * sink stands on: what a message is (content cut on a character
 * boundary, the JSON body), how many may go (a budget per key with a
 * reserve for messages that ring people, and a summary of what was held
 * back) and what the robot's answer means.  No HTTP, no clock, no key.
 */
#ifndef ROBOT_H
#define ROBOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"

#define ROBOT_MARKDOWN_MAX   4096  /* bytes of a markdown content */
#define ROBOT_TEXT_MAX       2048  /* bytes of a text content */
#define ROBOT_WINDOW_MS      60000 /* the robot counts per minute */
#define ROBOT_PER_MINUTE_MAX 60

/* ---- robot.c: the message and the answer */

/*
 * The longest prefix of s of at most max bytes (and size - 1) that ends
 * on a character boundary, into out, NUL-terminated; when s had to be
 * cut, "…" ends it, within max.  A byte of s that is not UTF-8 becomes
 * '?', so out is always UTF-8 (the robot and jansson take nothing
 * else).  Returns strlen(out); nothing is written when size is 0.
 */
size_t robot_cut(const char *s, size_t max, char *out, size_t size);

/*
 * The bodies to POST, as malloc'd JSON (free() it), NULL only without
 * memory.  Content is cut by robot_cut() to ROBOT_MARKDOWN_MAX or
 * ROBOT_TEXT_MAX.  Only text rings people: mobiles[0..n) become its
 * mentioned_mobile_list, leaving out "" and what is not UTF-8.
 */
char *robot_markdown(const char *content);
char *robot_text(const char *content, const char *const *mobiles, size_t n);

enum robot_answer {
	ROBOT_OK,      /* errcode 0: delivered */
	ROBOT_RETRY,   /* 45009 too frequent, -1 busy: pause, send again */
	ROBOT_STOPPED, /* 93000 invalid key: stop until the key changes */
	ROBOT_ERROR,   /* any other errcode, or no answer we can read */
};

/*
 * What the robot's answer body[0..len) means, by its integer errcode
 * alone, never by errmsg.  Not one JSON object, an errcode that is not
 * an integer or a key given twice is ROBOT_ERROR.  *errcode (when not
 * NULL) gets the errcode the robot gave, and is untouched without one.
 */
enum robot_answer robot_answer(const char *body, size_t len,
    long long *errcode);

/* ---- robot_text.c: what a record says to a guard's phone */

#define ROBOT_MOBILES_MAX 16

struct config;

struct robot_message {
	char content[ROBOT_MARKDOWN_MAX + 1]; /* cut to size when sent */
	bool text;   /* a text message, ringing mobiles[]; else markdown */
	bool urgent; /* it rings the duty mobiles: the reserve serves it */
	bool keep;   /* never held back in a summary: it waits for its slot
	                (the daily report, one a day, is no alert to count) */
	bool report; /* the daily report (or a staff's notify) */
	const char *mobiles[ROBOT_MOBILES_MAX]; /* into the config */
	size_t nmobiles;
	int type; /* alert_type_index() of its alert; -1: a care check */
};

/*
 * The message for a record JOURNAL_NOTIFY takes (journal.h): an incident's
 * open, realert or escalate step, a care check or its end, or the daily
 * report (its "markdown", as it is, cut to ROBOT_MARKDOWN_MAX).  0, or -1
 * when the record cannot be read or is none of those.
 */
int robot_compose(const char *json, size_t len, const struct config *,
    struct robot_message *);

/* ---- robot_budget.c: how many may go, and what was held back */

/* What a guard reads for an alert type ("未登记车辆"); the type itself
 * when it has no label, "其他" for NULL. */
const char *robot_label(const char *type);

/*
 * At most per_minute sends in any ROBOT_WINDOW_MS, urgent_reserve of
 * them only for messages that ring the duty mobiles.  Times are
 * milliseconds from a clock that never goes back (mono_ms()); a send at
 * t counts until t + ROBOT_WINDOW_MS.  The last per_minute send times
 * are kept, which is all the window needs.
 */
struct robot_limiter {
	int per_minute, urgent_reserve;
	int n, head; /* times kept, and where the next goes */
	int64_t sent[ROBOT_PER_MINUTE_MAX];
};

/* 0, or -1 when per_minute is not 1..ROBOT_PER_MINUTE_MAX or the reserve
 * leaves nothing for messages that ring nobody. */
int robot_limiter_init(struct robot_limiter *, int per_minute,
    int urgent_reserve);
/* May a message (one that rings people when rings) go at now? */
bool robot_may_send(const struct robot_limiter *, int64_t now, bool rings);
/* When one may go: now, or the moment the window has room for it. */
int64_t robot_next_send(const struct robot_limiter *, int64_t now, bool rings);
/* A message went at now (the robot counts every request it gets). */
void robot_sent(struct robot_limiter *, int64_t now);

/* Alerts not sent on their own, per type (alert_type_index(); another
 * index is counted as "other") and in total, since the first of them. */
struct robot_held {
	unsigned count[ALERT_TYPES + 1];
	unsigned total;
	int64_t since;
};

void robot_hold(struct robot_held *, int type, int64_t now);
/*
 * The text that summarises h at now, most frequent type first:
 * "【汇总】过去 3 分钟另有 12 条告警未单独发送：未登记车辆 7，尾随 3，设备离线
 * 2", cut as robot_cut() cuts.  0, or -1 (out "") when nothing is held.
 */
int robot_summary(const struct robot_held *h, int64_t now, char *out,
    size_t size);
/* After the summary was delivered (errcode 0), not before. */
void robot_held_clear(struct robot_held *);

#endif
