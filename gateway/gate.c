/*
 * gate.c - a request at a pedestrian gate, from payload to command:
 * decode (driver), de-duplicate, decide (rules), journal, answer.  The
 * decision row is committed before the command leaves (daemon.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "config.h"
#include "daemon.h"
#include "datetime.h"
#include "dedup.h"
#include "driver.h"
#include "log.h"
#include "rules.h"
#include "util.h"

static const char *
direction_name(enum direction d)
{
	return d == DIRECTION_OUT ? "out" : "in";
}

static void
send_command(struct daemon *d, const struct device *dev,
    const struct gate_command *cmd)
{
	char topic[256], buf[1024];
	int n;

	n = dev->driver->encode(dev, cmd, buf, sizeof(buf));
	if (n < 0) {
		log_errx("%s: cannot encode command", dev->id);
		return;
	}
	snprintf(topic, sizeof(topic), "%s/%s/%s/cmd", d->cfg->topic_prefix,
	    dev->driver->topic_kind, dev->id);
	/*
	 * QoS 0: an open is worth something now or never.  With QoS 1 a
	 * command caught in a reconnection would be delivered late, and a
	 * gate would open for nobody.
	 */
	daemon_send(d, topic, buf, (size_t)n, 0, false);
}

/* A payload we cannot use: count it, journal it, answer if we can. */
static void
reject(struct daemon *d, struct device *dev, const char *request,
    const char *why)
{
	struct journal_record r = {
		.kind = "access",
		.device = dev->id,
		.request = request,
		.decision = "rejected",
		.reason = why,
	};
	struct gate_command cmd = {
		.action = GATE_DENY,
		.request = request,
		.reason = "invalid",
		.display = "请求无效",
	};
	int64_t now = now_ms();

	dev->rejected++;
	d->rejected++;
	if (log_ratelimit(&dev->warned_ms))
		log_warnx("%s: rejected a request: %s (%" PRIu64 " so far; "
		          "logged once a minute)",
		    dev->id, why, dev->rejected);
	daemon_record(d, &r, now);
	if (request != NULL)
		send_command(d, dev, &cmd);
}

void
gate_unknown(struct daemon *d, const char *id, const char *subtopic)
{
	struct journal_record r = {
		.kind = "access",
		.device = id,
		.decision = "rejected",
		.reason = "unknown device",
	};
	int64_t now = now_ms();

	d->rejected++;
	if (log_ratelimit(&d->unknown_warned_ms))
		log_warnx("gate %s: a %s request from a device that is not in "
		          "%s (%" PRIu64 " bad requests so far; logged once a "
		          "minute)",
		    id, subtopic, d->cfg->path, d->rejected);
	daemon_record(d, &r, now);
}

/* The last four digits: enough for staff to find the card. */
static const char *
card_tail(const char *card)
{
	size_t len = strlen(card);

	return len > 4 ? card + len - 4 : card;
}

/* Who, for a log line a guard reads: a masked name, or the raw id. */
static void
who(const struct access_tables *t, const struct rules_decision *dec,
    const struct access_request *req, char *out, size_t size)
{
	const char *name = NULL;

	if (dec->person)
		name = access_str(t, dec->person->name);
	else if (dec->visitor)
		name = access_str(t, dec->visitor->name);
	if (name && *name)
		mask_name(name, out, size);
	else if (req->credential == CREDENTIAL_CARD)
		snprintf(out, size, "card …%s", card_tail(req->subject));
	else
		str_copy(out, req->subject, size);
}

/* Why, for the same log line. */
static void
why(const struct access_tables *t, const struct device *dev,
    const struct rules_decision *dec, const struct access_request *req,
    char *out, size_t size)
{
	switch (dec->reason) {
	case RULES_GROUP:
		str_copy(out, dec->group->name, size);
		break;
	case RULES_VISITOR:
		snprintf(out, size, "visitor of %s (entry %u of %u)",
		    access_str(t, dec->visitor->host), dec->visitor->used + 1,
		    dec->visitor->entries);
		break;
	case RULES_EXIT:
		if (dec->deny)
			str_copy(out, "going out (on the deny list)", size);
		else if (dec->person || dec->visitor)
			str_copy(out, "going out", size);
		else
			str_copy(out, "going out (not recognised)", size);
		break;
	case RULES_UNKNOWN:
		str_copy(out,
		    req->credential == CREDENTIAL_CARD ? "unknown card" :
		                                         "unknown person",
		    size);
		break;
	case RULES_DENIED:
		snprintf(out, size, "denied: %s",
		    access_str(t, dec->deny->reason));
		break;
	case RULES_EXPIRED:
		snprintf(out, size, "expired %04d-%02d-%02d",
		    dec->person->valid_until / 10000,
		    dec->person->valid_until / 100 % 100,
		    dec->person->valid_until % 100);
		break;
	case RULES_LOW_SCORE:
		snprintf(out, size, "low score %.2f < %.2f", req->score,
		    dev->min_score);
		break;
	case RULES_OUTSIDE_HOURS:
		snprintf(out, size, "outside the hours of %s",
		    dec->group->name);
		break;
	case RULES_WRONG_GATE:
		str_copy(out, "no group of theirs may use this gate", size);
		break;
	case RULES_VISITOR_WINDOW:
		str_copy(out, "outside the visit's time window", size);
		break;
	case RULES_NO_ENTRIES:
		snprintf(out, size, "all %u entries used",
		    dec->visitor->entries);
		break;
	case RULES_STALE:
		str_copy(out, "stale request", size);
		break;
	}
}

static void
journal_decision(struct daemon *d, const struct device *dev,
    const struct access_request *req, const struct rules_decision *dec,
    int64_t now)
{
	const struct access_tables *t = d->tables;
	char reason[96];
	json_t *extra = json_object();
	struct journal_record r = {
		.kind = "access",
		.device = dev->id,
		.request = req->request,
		.decision = dec->allow ? "allow" : "deny",
		.reason = rules_reason_code(dec->reason),
		.direction = direction_name(dec->direction),
		.extra = extra,
	};

	if (dec->reason == RULES_GROUP) {
		snprintf(reason, sizeof(reason), "group %s", dec->group->name);
		r.reason = reason;
	}
	if (dec->person) {
		r.subject_type = "person";
		r.subject_id = access_str(t, dec->person->id);
		r.household = access_str(t, dec->person->household);
		if (!*r.household)
			r.household = NULL;
	} else if (dec->visitor) {
		r.subject_type = "visitor";
		r.subject_id = access_str(t, dec->visitor->id);
		r.household = access_str(t, dec->visitor->host);
	} else {
		r.subject_type =
		    req->credential == CREDENTIAL_CARD ? "card" : "person";
		r.subject_id = req->subject;
	}
	json_object_set_new(extra, "credential",
	    json_string(req->credential == CREDENTIAL_CARD ? "card" : "face"));
	if (req->credential == CREDENTIAL_FACE)
		json_object_set_new(extra, "score", json_real(req->score));
	if (d->cfg->keep_snapshots && req->snapshot[0])
		json_object_set_new(extra, "snapshot",
		    json_string(req->snapshot));
	daemon_record(d, &r, now);
	json_decref(extra);
}

static void
duplicate(struct daemon *d, struct device *dev,
    const struct access_request *req, int64_t first, int64_t now)
{
	char when[40];
	struct journal_record r = {
		.kind = "access",
		.device = dev->id,
		.request = req->request,
		.decision = "duplicate",
		.reason = "request id seen before",
	};
	json_t *extra = json_object();

	datetime_format_rfc3339(first, when, sizeof(when));
	json_object_set_new(extra, "first_seen", json_string(when));
	r.extra = extra;
	daemon_record(d, &r, now);
	json_decref(extra);
	log_info("%-12s %-5s  request %s seen at %s: not acted on again",
	    dev->id, "dup", req->request, when);
}

void
gate_message(struct daemon *d, struct device *dev, const char *subtopic,
    const void *payload, size_t len)
{
	struct access_request req;
	struct rules_decision dec;
	struct rules_clock clk;
	struct gate_command cmd = { 0 };
	char err[160], name[96], text[160], display[128];
	int64_t now = now_ms(), first;
	enum driver_decode rc;

	if (len > d->cfg->max_payload) {
		snprintf(err, sizeof(err),
		    "payload of %zu bytes is over the "
		    "limit of %zu",
		    len, d->cfg->max_payload);
		reject(d, dev, NULL, err);
		return;
	}
	rc = dev->driver->decode(dev, subtopic, payload, len, &req, err,
	    sizeof(err));
	if (rc == DRIVER_IGNORE)
		return;
	if (rc == DRIVER_BAD) {
		reject(d, dev, req.request[0] ? req.request : NULL, err);
		return;
	}
	if (dedup_seen(d->dedup, dev->id, req.request, now, &first)) {
		duplicate(d, dev, &req, first, now);
		return;
	}

	if (req.direction && dev->direction != DIRECTION_BOTH &&
	    req.direction != dev->direction &&
	    log_ratelimit(&dev->direction_warned_ms))
		log_warnx("%s: the terminal says '%s' but the gate is set up "
		          "for '%s' only: decided as coming in; check the "
		          "terminal's settings",
		    dev->id, direction_name(req.direction),
		    direction_name(dev->direction));
	rules_clock_at(now, &clk);
	rules_gate(d->tables, dev, &req, &clk, d->stale_ms, &dec);
	journal_decision(d, dev, &req, &dec, now);

	who(d->tables, &dec, &req, name, sizeof(name));
	why(d->tables, dev, &dec, &req, text, sizeof(text));
	log_info("%-12s %-5s  %-8s %-9s %s", dev->id,
	    dec.allow ? "allow" : "deny", name,
	    dec.person && *access_str(d->tables, dec.person->household) ?
	        access_str(d->tables, dec.person->household) :
	        dec.visitor ? access_str(d->tables, dec.visitor->host) :
	                      "-",
	    text);
	/* The one write into the tables; used is leaving them (issue 5). */
	if (dec.uses_entry)
		((struct access_visitor *)dec.visitor)->used++;

	cmd.request = req.request;
	if (dec.allow) {
		cmd.action = GATE_OPEN;
		cmd.open_ms = dev->open_ms;
		if (dec.person || dec.visitor)
			snprintf(display, sizeof(display), "%s %s", name,
			    rules_reason_display(dec.reason));
		else
			str_copy(display, rules_reason_display(dec.reason),
			    sizeof(display));
	} else {
		cmd.action = GATE_DENY;
		cmd.reason = rules_reason_code(dec.reason);
		str_copy(display, rules_reason_display(dec.reason),
		    sizeof(display));
	}
	cmd.display = display;
	send_command(d, dev, &cmd);
}
