/*
 * report_text.c - the daily report's object (report.c) said to people:
 * aligned text for a terminal (staff: nothing masked), and markdown for
 * the group robot (plates masked, within the robot's 4096 bytes, totals
 * before details so that only details are ever left out).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "mask.h"
#include "report.h"
#include "robot.h"
#include "util.h"

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static json_int_t
num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* A path of objects: get(o, "incidents", "list"). */
static const json_t *
get(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);

	return b != NULL ? json_object_get(v, b) : v;
}

/* "3m05s", "1h02m", "2d03h" */
static const char *
span_text(json_int_t ms, char *out, size_t size)
{
	long long s = (long long)(ms / 1000);

	if (s < 60)
		snprintf(out, size, "%llds", s);
	else if (s < 3600)
		snprintf(out, size, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, size, "%lldh%02lldm", s / 3600, s / 60 % 60);
	else
		snprintf(out, size, "%lldd%02lldh", s / 86400, s / 3600 % 24);
	return out;
}

/* "3 分 5 秒", "1 小时 2 分", "2 天 3 小时" */
static const char *
span_cn(json_int_t ms, char *out, size_t size)
{
	long long s = (long long)(ms / 1000);

	if (s < 60)
		snprintf(out, size, "%lld 秒", s);
	else if (s < 3600)
		snprintf(out, size, "%lld 分 %lld 秒", s / 60, s % 60);
	else if (s < 86400)
		snprintf(out, size, "%lld 小时 %lld 分", s / 3600, s / 60 % 60);
	else
		snprintf(out, size, "%lld 天 %lld 小时", s / 86400,
		    s / 3600 % 24);
	return out;
}

/* ---- text: a table of cells, padded by display width ---- */

#define COLS 8

struct table {
	char *cell[64][COLS];
	size_t rows, cols;
};

static void
row(struct table *t, ...)
{
	va_list ap;
	const char *c;
	size_t i;

	if (t->rows == 64)
		return;
	va_start(ap, t);
	for (i = 0; i < t->cols; i++) {
		c = va_arg(ap, const char *);
		t->cell[t->rows][i] = strdup(c != NULL ? c : "-");
	}
	va_end(ap);
	t->rows++;
}

static void
table_print(struct table *t, FILE *f)
{
	size_t w[COLS] = { 0 }, i, j, cw;

	for (i = 0; i < t->rows; i++)
		for (j = 0; j < t->cols; j++)
			if (t->cell[i][j] != NULL &&
			    (cw = utf8_width(t->cell[i][j])) > w[j])
				w[j] = cw;
	for (i = 0; i < t->rows; i++) {
		fputs("  ", f);
		for (j = 0; j < t->cols; j++) {
			const char *c = t->cell[i][j] ? t->cell[i][j] : "";

			fputs(c, f);
			if (j + 1 < t->cols)
				fprintf(f, "%*s",
				    (int)(w[j] - utf8_width(c) + 2), "");
			free(t->cell[i][j]);
		}
		fputc('\n', f);
	}
	t->rows = 0;
}

static const char *
itoa_(json_int_t v, char *out, size_t size)
{
	snprintf(out, size, "%lld", (long long)v);
	return out;
}

char *
report_text(const json_t *r)
{
	char *buf = NULL, a[32], b[32], c[32];
	size_t len = 0, i;
	struct table t = { .cols = 5 };
	const json_t *inc = get(r, "incidents", NULL), *v, *o;
	const json_t *veh = get(r, "vehicles", NULL);
	const char *key;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fprintf(f, "Daily report %s, %s (%s): %lld journal records\n",
	    str(r, "date"), str(r, "name"), str(r, "site"),
	    (long long)num(r, "events"));
	fprintf(f, "  from %s until %s\n", str(r, "from"), str(r, "until"));

	fprintf(f, "\nGates and barriers\n");
	row(&t, "DEVICE", "KIND", "IN", "OUT", "REFUSED");
	json_array_foreach(get(r, "passages", NULL), i, o) row(&t,
	    str(o, "device"), str(o, "kind"), itoa_(num(o, "in"), a, sizeof(a)),
	    itoa_(num(o, "out"), b, sizeof(b)),
	    itoa_(num(o, "refused"), c, sizeof(c)));
	table_print(&t, f);

	v = get(r, "visitors", NULL);
	fprintf(f, "\nVisitors: %lld entries by %lld visitors, %lld by car",
	    (long long)num(v, "entries"), (long long)num(v, "visitors"),
	    (long long)num(v, "car_entries"));
	json_array_foreach(json_object_get(v, "cars"), i, o)
	    fprintf(f, "%s%s", i ? ", " : " (", json_string_value(o));
	fprintf(f, "%s\n",
	    json_array_size(json_object_get(v, "cars")) ? ")" : "");
	fprintf(f,
	    "Vehicles: %lld unknown plates refused %lld times; "
	    "tailgating %lld",
	    (long long)num(veh, "unknown"),
	    (long long)num(veh, "unknown_refused"),
	    (long long)num(veh, "tailgating"));
	json_object_foreach((json_t *)get(veh, "refused_by_reason", NULL), key,
	    o) fprintf(f, "; refused %s %lld", key,
	    (long long)json_integer_value(o));
	fputc('\n', f);
	json_array_foreach(get(veh, "unknown_plates", NULL), i, o) fprintf(f,
	    "  %s (%lld)\n", str(o, "plate"), (long long)num(o, "refused"));

	fprintf(f,
	    "\nIncidents (5341): %lld opened; acknowledged within %g min: "
	    "%lld of %lld; resolved within deadline: %lld of %lld\n",
	    (long long)num(inc, "opened"),
	    json_number_value(json_object_get(inc, "ack_min")),
	    (long long)num(inc, "acked_in_time"), (long long)num(inc, "opened"),
	    (long long)num(inc, "resolved_in_time"),
	    (long long)num(inc, "opened"));
	if ((o = json_object_get(inc, "slowest_ack")) != NULL)
		fprintf(f, "  slowest acknowledgement: #%lld after %s\n",
		    (long long)num(o, "incident"),
		    span_text(num(o, "ms"), a, sizeof(a)));
	if ((o = json_object_get(inc, "slowest_resolve")) != NULL)
		fprintf(f, "  slowest resolution: #%lld after %s\n",
		    (long long)num(o, "incident"),
		    span_text(num(o, "ms"), a, sizeof(a)));
	t.cols = 7;
	if (json_array_size(json_object_get(inc, "list")) > 0)
		row(&t, "#", "TYPE", "DEVICE", "SEVERITY", "OPENED", "ACK",
		    "RESOLVED");
	json_array_foreach(json_object_get(inc, "list"), i, o)
	{
		char n[24], opened[16];

		snprintf(opened, sizeof(opened), "%.5s",
		    strlen(str(o, "opened")) > 16 ? str(o, "opened") + 11 : "");
		row(&t, itoa_(num(o, "incident"), n, sizeof(n)), str(o, "type"),
		    str(o, "device"), str(o, "severity"), opened,
		    json_object_get(o, "ack_ms") ?
		        span_text(num(o, "ack_ms"), a, sizeof(a)) :
		        "-",
		    json_object_get(o, "resolve_ms") ?
		        span_text(num(o, "resolve_ms"), b, sizeof(b)) :
		        "-");
	}
	table_print(&t, f);

	v = get(r, "charging", NULL);
	fprintf(f, "\nCharging: %lld sessions, %.3f kWh\n",
	    (long long)num(v, "sessions"),
	    json_number_value(json_object_get(v, "kwh")));
	t.cols = 3;
	if (json_array_size(json_object_get(v, "stations")) > 0)
		row(&t, "STATION", "SESSIONS", "KWH");
	json_array_foreach(json_object_get(v, "stations"), i, o)
	{
		snprintf(b, sizeof(b), "%.3f",
		    json_number_value(json_object_get(o, "kwh")));
		row(&t, str(o, "device"),
		    itoa_(num(o, "sessions"), a, sizeof(a)), b, NULL, NULL);
	}
	table_print(&t, f);
	json_array_foreach(json_object_get(v, "cutoffs"), i, o)
	    fprintf(f, "  cut off: %s port %lld, %s, at %s\n", str(o, "device"),
	        (long long)num(o, "port"), str(o, "reason"), str(o, "at"));

	fprintf(f, "\nDevices offline: %zu\n",
	    json_array_size(get(r, "offline", NULL)));
	t.cols = 4;
	if (json_array_size(get(r, "offline", NULL)) > 0)
		row(&t, "DEVICE", "TIMES", "OFFLINE", "NOW");
	json_array_foreach(get(r, "offline", NULL), i, o)
	    row(&t, str(o, "device"), itoa_(num(o, "times"), a, sizeof(a)),
	        span_text(num(o, "offline_s") * 1000, b, sizeof(b)),
	        json_is_true(json_object_get(o, "still_offline")) ?
	            "offline at midnight" :
	            "back",
	        NULL);
	table_print(&t, f);

	v = get(r, "care", NULL);
	fprintf(f, "\nWellbeing: %lld alerts", (long long)num(v, "alerts"));
	json_array_foreach(json_object_get(v, "households"), i, o)
	    fprintf(f, "%s%s", i ? ", " : " (", json_string_value(o));
	fprintf(f, "%s, %lld ended\n",
	    json_array_size(json_object_get(v, "households")) ? ")" : "",
	    (long long)num(v, "ended"));
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- markdown: lines, cut where the robot's limit falls ---- */

struct lines {
	char *line[512];
	bool item[512]; /* a detail: may be left out */
	size_t n;
};

static void line(struct lines *l, bool item, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
line(struct lines *l, bool item, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (l->n == sizeof(l->line) / sizeof(l->line[0]))
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		return;
	l->line[l->n] = s;
	l->item[l->n++] = item;
}

static const char *
plate_md(const char *plate, char *out, size_t size)
{
	char masked[64];

	/* Code, so that the mask's stars are not emphasis. */
	mask_plate(plate, masked, sizeof(masked));
	snprintf(out, size, "`%s`", masked);
	return out;
}

static const char *const reasons_cn[][2] = {
	{ "over_temperature", "过温" },
	{ "over_current", "过流" },
	{ "denied", "黑名单" },
	{ "expired", "已过期" },
	{ "full", "车位已满" },
	{ "wrong_way", "逆行" },
	{ "low_confidence", "未识别" },
	{ "no_entries", "次数用完" },
	{ "visitor_window", "非预约时段" },
	{ "wrong_gate", "无权通行" },
};

static const char *
reason_cn(const char *code)
{
	size_t i;

	for (i = 0; i < sizeof(reasons_cn) / sizeof(reasons_cn[0]); i++)
		if (strcmp(reasons_cn[i][0], code) == 0)
			return reasons_cn[i][1];
	return code;
}

static void
compose(const json_t *r, struct lines *l)
{
	const json_t *inc = get(r, "incidents", NULL), *o, *v;
	const json_t *veh = get(r, "vehicles", NULL);
	json_int_t in = 0, out = 0, refused = 0, cuts_t = 0, cuts_c = 0;
	char a[96], b[96], extra[256];
	const char *key;
	size_t i, n;

	json_array_foreach(get(r, "passages", NULL), i, o)
	{
		in += num(o, "in");
		out += num(o, "out");
		refused += num(o, "refused");
	}
	json_array_foreach(get(r, "charging", "cutoffs"), i, o)
	{
		if (strcmp(str(o, "reason"), "over_temperature") == 0)
			cuts_t++;
		else
			cuts_c++;
	}

	line(l, false, "**%s 日报 %s**",
	    str(r, "name")[0] ? str(r, "name") : str(r, "site"),
	    str(r, "date"));
	o = json_object_get(inc, "slowest_ack");
	v = json_object_get(inc, "slowest_resolve");
	a[0] = b[0] = '\0';
	if (o != NULL)
		snprintf(a, sizeof(a), "，最慢确认 #%lld %s",
		    (long long)num(o, "incident"),
		    span_cn(num(o, "ms"), extra, sizeof(extra)));
	if (v != NULL)
		snprintf(b, sizeof(b), "，最慢解决 #%lld %s",
		    (long long)num(v, "incident"),
		    span_cn(num(v, "ms"), extra, sizeof(extra)));
	line(l, false,
	    "> 5341：事件 %lld 起，%g 分钟内确认 %lld 起，按时解决 %lld 起%s%s",
	    (long long)num(inc, "opened"),
	    json_number_value(json_object_get(inc, "ack_min")),
	    (long long)num(inc, "acked_in_time"),
	    (long long)num(inc, "resolved_in_time"), a, b);
	line(l, false, "> 通行：进 %lld · 出 %lld · 拒绝 %lld", (long long)in,
	    (long long)out, (long long)refused);
	v = get(r, "visitors", NULL);
	line(l, false, "> 访客：%lld 人进入 %lld 次，其中车辆 %zu 辆",
	    (long long)num(v, "visitors"), (long long)num(v, "entries"),
	    json_array_size(json_object_get(v, "cars")));
	n = 0;
	extra[0] = '\0';
	json_object_foreach((json_t *)get(veh, "refused_by_reason", NULL), key,
	    o) n += (size_t)snprintf(extra + n,
	    n < sizeof(extra) ? sizeof(extra) - n : 0, "，另拒绝 %s %lld",
	    reason_cn(key), (long long)json_integer_value(o));
	line(l, false, "> 车辆：未登记 %lld 辆（拒绝 %lld 次），尾随 %lld 次%s",
	    (long long)num(veh, "unknown"),
	    (long long)num(veh, "unknown_refused"),
	    (long long)num(veh, "tailgating"), extra);
	v = get(r, "charging", NULL);
	line(l, false, "> 充电：%lld 次，%.1f kWh；断电 过温 %lld · 过流 %lld",
	    (long long)num(v, "sessions"),
	    json_number_value(json_object_get(v, "kwh")), (long long)cuts_t,
	    (long long)cuts_c);
	line(l, false, "> 设备离线：%zu 台",
	    json_array_size(get(r, "offline", NULL)));
	line(l, false, "> 关怀提醒：%lld 次",
	    (long long)num(get(r, "care", NULL), "alerts"));

	/* Details, most pressing first: what failed 5341, then the rest. */
	if (json_array_size(json_object_get(inc, "list")) > 0)
		line(l, false, "**事件**");
	json_array_foreach(json_object_get(inc, "list"), i, o)
	{
		const char *opened = str(o, "opened");

		line(l, true, "- #%lld %s · %s · %.5s · 确认 %s · 解决 %s",
		    (long long)num(o, "incident"), robot_label(str(o, "type")),
		    str(o, "device"), strlen(opened) > 16 ? opened + 11 : "",
		    json_object_get(o, "ack_ms") ?
		        span_cn(num(o, "ack_ms"), a, sizeof(a)) :
		        "未确认",
		    json_object_get(o, "resolve_ms") ?
		        span_cn(num(o, "resolve_ms"), b, sizeof(b)) :
		        "未解决");
	}
	if (json_array_size(get(r, "offline", NULL)) > 0)
		line(l, false, "**设备离线**");
	json_array_foreach(get(r, "offline", NULL), i, o)
	    line(l, true, "- %s：%lld 次，共 %s%s", str(o, "device"),
	        (long long)num(o, "times"),
	        span_cn(num(o, "offline_s") * 1000, a, sizeof(a)),
	        json_is_true(json_object_get(o, "still_offline")) ?
	            "（午夜仍离线）" :
	            "");
	if (json_array_size(get(r, "charging", "cutoffs")) > 0)
		line(l, false, "**断电**");
	json_array_foreach(get(r, "charging", "cutoffs"), i, o)
	    line(l, true, "- %s %lld 号端口 · %s · %.5s", str(o, "device"),
	        (long long)num(o, "port"), reason_cn(str(o, "reason")),
	        strlen(str(o, "at")) > 16 ? str(o, "at") + 11 : "");
	if (json_array_size(get(r, "passages", NULL)) > 0)
		line(l, false, "**出入口**");
	json_array_foreach(get(r, "passages", NULL), i, o)
	    line(l, true, "- %s：进 %lld · 出 %lld · 拒绝 %lld",
	        str(o, "device"), (long long)num(o, "in"),
	        (long long)num(o, "out"), (long long)num(o, "refused"));
	if (json_array_size(get(r, "charging", "stations")) > 0)
		line(l, false, "**充电桩**");
	json_array_foreach(get(r, "charging", "stations"), i, o)
	    line(l, true, "- %s：%lld 次，%.1f kWh", str(o, "device"),
	        (long long)num(o, "sessions"),
	        json_number_value(json_object_get(o, "kwh")));
	if (json_array_size(get(veh, "unknown_plates", NULL)) > 0)
		line(l, false, "**未登记车辆**");
	json_array_foreach(get(veh, "unknown_plates", NULL), i, o) line(l, true,
	    "- %s 拒绝 %lld 次", plate_md(str(o, "plate"), a, sizeof(a)),
	    (long long)num(o, "refused"));
	if (json_array_size(get(r, "visitors", "cars")) > 0)
		line(l, false, "**访客车辆**");
	json_array_foreach(get(r, "visitors", "cars"), i, o)
	    line(l, true, "- %s", plate_md(json_string_value(o), a, sizeof(a)));
	if (json_array_size(get(r, "care", "households")) > 0)
		line(l, false, "**关怀提醒**");
	json_array_foreach(get(r, "care", "households"), i, o)
	    line(l, true, "- %s", json_string_value(o));
}

/* The line that stands for what did not fit. */
#define MORE_FMT "… 另有 %zu 项未列出"
#define MORE_MAX 48

char *
report_markdown(const json_t *r, size_t max_bytes)
{
	struct lines l = { .n = 0 };
	size_t used = 0, i, j, len, left = 0, room;
	char *out;

	if (max_bytes < MORE_MAX * 2)
		return NULL;
	out = malloc(max_bytes + 1);
	if (out == NULL)
		return NULL;
	out[0] = '\0';
	compose(r, &l);
	room = max_bytes - MORE_MAX;
	for (i = 0; i < l.n; i++) {
		len = strlen(l.line[i]) + (used ? 1 : 0);
		if (used + len > room) {
			for (j = i; j < l.n; j++)
				left += l.item[j];
			break;
		}
		if (used)
			out[used++] = '\n';
		memcpy(out + used, l.line[i], strlen(l.line[i]));
		used += strlen(l.line[i]);
		out[used] = '\0';
	}
	if (i < l.n) {
		/* A heading left without its items, or a total's line: cut
		 * by bytes no further than a character. */
		if (left == 0)
			left = l.n - i;
		used += (size_t)snprintf(out + used, max_bytes + 1 - used,
		    "%s" MORE_FMT, used ? "\n" : "", left);
	}
	for (i = 0; i < l.n; i++)
		free(l.line[i]);
	return out;
}
