/*
 * robot_budget.c - how many messages may go to one robot key, and the
 * summary of what was held back when none might.  Which message waits
 * and when it is retried is the sink's.
 */
#include <stdio.h>
#include <string.h>

#include "robot.h"

int
robot_limiter_init(struct robot_limiter *l, int per_minute, int urgent_reserve)
{
	memset(l, 0, sizeof(*l));
	if (per_minute < 1 || per_minute > ROBOT_PER_MINUTE_MAX ||
	    urgent_reserve < 0 || urgent_reserve >= per_minute)
		return -1;
	l->per_minute = per_minute;
	l->urgent_reserve = urgent_reserve;
	return 0;
}

/* The send times still in the window at now, oldest first, into t;
 * how many. */
static int
in_window(const struct robot_limiter *l, int64_t now, int64_t *t)
{
	int i, c = 0, k;

	for (i = 0; i < l->n; i++) {
		k = (l->head - l->n + i + l->per_minute) % l->per_minute;
		/* A time after now (it cannot be, on mono_ms()) counts. */
		if (now - l->sent[k] < ROBOT_WINDOW_MS)
			t[c++] = l->sent[k];
	}
	return c;
}

static int
limit(const struct robot_limiter *l, bool rings)
{
	return rings ? l->per_minute : l->per_minute - l->urgent_reserve;
}

bool
robot_may_send(const struct robot_limiter *l, int64_t now, bool rings)
{
	int64_t t[ROBOT_PER_MINUTE_MAX];

	return l->per_minute > 0 && in_window(l, now, t) < limit(l, rings);
}

int64_t
robot_next_send(const struct robot_limiter *l, int64_t now, bool rings)
{
	int64_t t[ROBOT_PER_MINUTE_MAX];
	int c, max = limit(l, rings);

	if (l->per_minute <= 0)
		return INT64_MAX;
	c = in_window(l, now, t);
	if (c < max)
		return now;
	/* Room for one when all but max - 1 of them have left. */
	return t[c - max] + ROBOT_WINDOW_MS;
}

void
robot_sent(struct robot_limiter *l, int64_t now)
{
	if (l->per_minute <= 0)
		return;
	l->sent[l->head] = now;
	l->head = (l->head + 1) % l->per_minute;
	if (l->n < l->per_minute)
		l->n++;
}

/* What a guard reads for each type; a type without one shows its name. */
static const struct {
	const char *type, *label;
} labels[] = {
	{ "falling_object", "高空抛物" },
	{ "ebike_in_elevator", "电动车进电梯" },
	{ "ebike_in_corridor", "楼道电动车" },
	{ "intrusion", "闯入" },
	{ "smoke", "烟雾" },
	{ "fire", "火警" },
	{ "crowd", "人员聚集" },
	{ "vehicle_unknown", "未登记车辆" },
	{ "vehicle_denied", "禁入车辆" },
	{ "tailgating", "尾随" },
	{ "overstay", "车辆超时" },
	{ "charger_fault", "充电桩故障" },
	{ "over_temperature", "充电过温" },
	{ "over_current", "充电过流" },
	{ "device_offline", "设备离线" },
	{ "reload_failed", "配置加载失败" },
	{ "delivery_failed", "消息发送失败" },
	{ "journal_full", "记录存储已满" },
	{ "broker_open", "消息服务器无需密码" },
};

const char *
robot_label(const char *type)
{
	size_t i;

	if (type == NULL)
		return "其他";
	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strcmp(labels[i].type, type) == 0)
			return labels[i].label;
	return type;
}

static const char *
label(int type)
{
	return robot_label(alert_type_name(type));
}

void
robot_hold(struct robot_held *h, int type, int64_t now)
{
	if (type < 0 || type >= ALERT_TYPES)
		type = ALERT_TYPES;
	if (h->total == 0)
		h->since = now;
	h->count[type]++;
	h->total++;
}

int
robot_summary(const struct robot_held *h, int64_t now, char *out, size_t size)
{
	char text[2048];
	bool done[ALERT_TYPES + 1] = { false };
	int64_t minutes;
	size_t o;
	int i, best, n;

	if (size > 0)
		out[0] = '\0';
	if (h->total == 0)
		return -1;
	/* "The last N minutes" include the first held one. */
	minutes = (now - h->since + ROBOT_WINDOW_MS - 1) / ROBOT_WINDOW_MS;
	if (minutes < 1)
		minutes = 1;
	o = (size_t)snprintf(text, sizeof(text),
	    "【汇总】过去 %lld 分钟另有 %u 条告警未单独发送：",
	    (long long)minutes, h->total);
	for (n = 0; o < sizeof(text); n++) {
		best = -1;
		for (i = 0; i <= ALERT_TYPES; i++)
			if (!done[i] && h->count[i] > 0 &&
			    (best < 0 || h->count[i] > h->count[best]))
				best = i;
		if (best < 0)
			break;
		done[best] = true;
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%s %u",
		    n > 0 ? "，" : "", label(best), h->count[best]);
	}
	robot_cut(text, size, out, size);
	return 0;
}

void
robot_held_clear(struct robot_held *h)
{
	memset(h, 0, sizeof(*h));
}
