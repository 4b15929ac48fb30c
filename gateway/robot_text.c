/*
 * robot_text.c - what a guard's phone shows for a journal record the
 * robot is sent: an incident's first message, re-alert or escalation, a
 * wellbeing check, or the daily report (made by report_text.c).  What, where,
 * when, what to do, in that order, one line each; plates and names masked, no
 * mobile number in the content (the robot rings the mentioned ones itself).
 * Pure: the record and the configuration in, the message out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alert.h"
#include "config.h"
#include "mask.h"
#include "robot.h"

/* What each severity's first message says to do. */
static const struct {
	const char *tag, *todo;
} severities[] = {
	[ALERT_NONE] = { "【提醒】", "请留意" },
	[ALERT_MINOR] = { "【提醒】", "请在巡查时处理" },
	[ALERT_MAJOR] = { "【重要】", "请尽快到场查看" },
	[ALERT_COMPLEX] = { "【复杂】", "请安排处理" },
	[ALERT_URGENT] = { "【紧急】", "请立即到场" },
};

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static int
severity_of(const char *name)
{
	int i;

	for (i = ALERT_MINOR; i <= ALERT_URGENT; i++)
		if (strcmp(alert_severity_name(i), name) == 0)
			return i;
	return ALERT_MINOR;
}

/* "14:03" of an RFC 3339 time in the gateway's zone; "" if unreadable. */
static void
clock_of(const char *ts, char *out, size_t size)
{
	if (strlen(ts) >= 16 && ts[10] == 'T')
		snprintf(out, size, "%.5s", ts + 11);
	else if (size > 0)
		out[0] = '\0';
}

/* Who or what it was about, masked: a plate, a household, a port.  In
 * markdown a masked plate is code, so that its stars are not emphasis. */
static size_t
detail(json_t *ev, bool markdown, char *out, size_t size)
{
	json_t *subject = json_object_get(ev, "subject");
	const char *type = str(subject, "type"), *id = str(subject, "id");
	char masked[96];
	size_t o = 0;
	json_t *v;

	out[0] = '\0';
	if (strcmp(type, "plate") == 0 || json_object_get(ev, "plate")) {
		mask_plate(strcmp(type, "plate") == 0 ? id : str(ev, "plate"),
		    masked, sizeof(masked));
		o += (size_t)snprintf(out + o, size - o,
		    markdown ? "车牌 `%s`" : "车牌 %s", masked);
	}
	if (*str(subject, "household") && o < size)
		o += (size_t)snprintf(out + o, size - o, "%s住户 %s",
		    o ? " · " : "", str(subject, "household"));
	if ((v = json_object_get(ev, "port")) != NULL && json_is_integer(v) &&
	    o < size)
		o += (size_t)snprintf(out + o, size - o, "%s%lld 号端口",
		    o ? " · " : "", (long long)json_integer_value(v));
	if ((v = json_object_get(ev, "temp_c")) != NULL && json_is_number(v) &&
	    o < size)
		o += (size_t)snprintf(out + o, size - o, "%s%.1f℃",
		    o ? " · " : "", json_number_value(v));
	if ((v = json_object_get(ev, "current_a")) != NULL &&
	    json_is_number(v) && o < size)
		o += (size_t)snprintf(out + o, size - o, "%s%.1f A",
		    o ? " · " : "", json_number_value(v));
	return o < size ? o : size - 1;
}

static void
ring(struct robot_message *m, const struct config *cfg)
{
	size_t i;

	m->text = true;
	for (i = 0; i < cfg->wechat.nduty && i < ROBOT_MOBILES_MAX; i++)
		m->mobiles[m->nmobiles++] = cfg->wechat.duty_mobiles[i];
}

/* A deadline in words: "5 分钟", "3 秒" (a test's), "4 小时". */
static const char *
span(double minutes, char *out, size_t size)
{
	if (minutes < 1)
		snprintf(out, size, "%.0f 秒", minutes * 60);
	else if (minutes >= 120 && (long)minutes % 60 == 0)
		snprintf(out, size, "%ld 小时", (long)minutes / 60);
	else
		snprintf(out, size, "%g 分钟", minutes);
	return out;
}

/* An incident's open, realert or escalate record. */
static int
incident(json_t *rec, const struct config *cfg, struct robot_message *m)
{
	const char *phase = str(rec, "phase"), *type = str(rec, "type");
	int sev = severity_of(str(rec, "severity"));
	json_int_t n = json_integer_value(json_object_get(rec, "incident"));
	json_t *ev = json_object_get(rec, "event");
	char when[8], what[256], number[48], opened[8], after[32];
	const char *label = robot_label(type);

	clock_of(str(rec, "ts"), when, sizeof(when));
	clock_of(str(rec, "opened"), opened, sizeof(opened));
	detail(ev,
	    strcmp(phase, "open") == 0 &&
	        !json_is_true(json_object_get(rec, "ring")),
	    what, sizeof(what));
	if (n > 0)
		snprintf(number, sizeof(number), "事件 #%lld", (long long)n);
	else
		snprintf(number, sizeof(number), "未编号事件");
	m->type = alert_type_index(type);
	if (strcmp(phase, "open") == 0) {
		if (json_is_true(json_object_get(rec, "ring"))) {
			ring(m, cfg);
			m->urgent = true;
			snprintf(m->content, sizeof(m->content),
			    "%s%s · %s · %s%s%s · %s（%s）",
			    severities[sev].tag, label, str(rec, "device"),
			    when, what[0] ? " · " : "", what,
			    severities[sev].todo, number);
			return 0;
		}
		snprintf(m->content, sizeof(m->content),
		    "**%s%s**%s%s\n> 地点：%s\n> 时间：%s\n> %s · %s",
		    severities[sev].tag, label, what[0] ? " " : "", what,
		    str(rec, "device"), when, number, severities[sev].todo);
		return 0;
	}
	ring(m, cfg);
	m->urgent = true;
	if (strcmp(phase, "realert") == 0)
		snprintf(m->content, sizeof(m->content),
		    "【未确认】%s · %s · %s 发生，%s内无人确认，请立即处理"
		    "（%s）",
		    label, str(rec, "device"), opened[0] ? opened : when,
		    span(cfg->incidents.ack_min, after, sizeof(after)), number);
	else
		snprintf(m->content, sizeof(m->content),
		    "【升级】%s · %s · %s 发生，至今未解决，请负责人跟进（%s，"
		    "%lld 次告警）",
		    label, str(rec, "device"), opened[0] ? opened : when,
		    number,
		    (long long)json_integer_value(
		        json_object_get(rec, "events")));
	return 0;
}

/* A wellbeing check: to the building's steward, or the group. */
static int
care(json_t *rec, const struct config *cfg, struct robot_message *m)
{
	json_t *subject = json_object_get(rec, "subject");
	const char *household = str(subject, "household");
	const char *steward = config_steward(cfg, household);
	json_int_t minutes =
	    json_integer_value(json_object_get(rec, "minutes"));
	char away[64], when[8];

	if (minutes >= 48 * 60)
		snprintf(away, sizeof(away), "%lld 天",
		    (long long)(minutes / (24 * 60)));
	else if (minutes >= 60)
		snprintf(away, sizeof(away), "%lld 小时",
		    (long long)(minutes / 60));
	else
		snprintf(away, sizeof(away), "%lld 分钟", (long long)minutes);
	m->type = -1;
	if (strcmp(str(rec, "decision"), "care_end") == 0) {
		/* Good news rings nobody: the steward reads it in the group. */
		clock_of(str(rec, "ts"), when, sizeof(when));
		snprintf(m->content, sizeof(m->content),
		    "【关怀】%s 的关怀对象已于 %s 经过门禁（此前 %s未经过），"
		    "无需再上门",
		    household[0] ? household : "一位住户", when, away);
		return 0;
	}
	snprintf(m->content, sizeof(m->content),
	    "【关怀】%s 的关怀对象已 %s未经过门禁，请上门或电话看望",
	    household[0] ? household : "一位住户", away);
	if (steward != NULL) {
		m->text = true;
		m->mobiles[m->nmobiles++] = steward;
	}
	return 0;
}

/* The daily report (report_live.c): its markdown is the message. */
static int
report(json_t *rec, struct robot_message *m)
{
	const char *md = json_string_value(json_object_get(rec, "markdown"));

	if (md == NULL || md[0] == '\0')
		return -1;
	robot_cut(md, ROBOT_MARKDOWN_MAX, m->content, sizeof(m->content));
	m->type = -1;
	m->keep = true;
	m->report = true;
	return 0;
}

int
robot_compose(const char *json, size_t len, const struct config *cfg,
    struct robot_message *m)
{
	json_t *rec = json_loadb(json, len, 0, NULL);
	const char *kind, *decision;
	int rc = -1;

	memset(m, 0, sizeof(*m));
	m->type = -1;
	if (rec == NULL)
		return -1;
	kind = str(rec, "kind");
	decision = str(rec, "decision");
	if (strcmp(kind, "incident") == 0)
		rc = incident(rec, cfg, m);
	else if (strcmp(kind, "system") == 0 &&
	    (strcmp(decision, "care") == 0 ||
	        strcmp(decision, "care_end") == 0))
		rc = care(rec, cfg, m);
	else if (strcmp(kind, "system") == 0 && strcmp(decision, "report") == 0)
		rc = report(rec, m);
	json_decref(rec);
	return rc;
}
