/*
 * gate.c - the pedestrian gates' pipeline: a decoded request is
 * de-duplicated, decided (rules.c), journaled and answered.  The answer
 * leaves once the decision is committed (outbox.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "care.h"
#include "config.h"
#include "dedup.h"
#include "driver.h"
#include "log.h"
#include "mask.h"
#include "pipeline.h"
#include "rules.h"
#include "state.h"
#include "util.h"

static const char *
direction_name(enum direction d)
{
	return d == DIRECTION_OUT ? "out" : "in";
}

/* A request whose id could be read is answered, even when bad; while
 * the fire release holds, open, as every request is. */
void
gate_rejected(struct pipeline *p, const struct device *dev,
    const struct event *ev, const char *why)
{
	int fire = fire_release_reason(p);
	struct command cmd = {
		.action = COMMAND_DENY,
		.request = event_request(ev),
		.reason = "invalid",
		.display = "请求无效",
	};

	(void)why;
	if (fire != 0) {
		cmd.action = COMMAND_OPEN;
		cmd.reason = NULL;
		cmd.open_ms = device_gate(dev)->open_ms;
		cmd.display = rules_reason_display((enum rules_reason)fire);
	}
	pipeline_command(p, dev, &cmd);
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
why(const struct access_tables *t, const struct gate_settings *gate,
    const struct rules_decision *dec, const struct access_request *req,
    char *out, size_t size)
{
	switch (dec->reason) {
	case RULES_GROUP:
		str_copy(out, dec->group->name, size);
		break;
	case RULES_VISITOR:
		snprintf(out, size, "visitor of %s (entry %u of %u)",
		    access_str(t, dec->visitor->host), dec->entries_used + 1,
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
		    gate->min_score);
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
	default: /* the vehicles' reasons */
		str_copy(out, rules_reason_code(dec->reason), size);
		break;
	}
}

/*
 * From a fire alarm until the reset, and during a test, denials are
 * suspended: everyone passes (the gates are held open anyway), and is
 * journaled as who they were and what the rules would have said.
 * Whether it changed the decision: its reason then, for the record.
 */
static enum rules_reason
fire_release(struct pipeline *p, struct rules_decision *dec)
{
	int fire = fire_release_reason(p);
	enum rules_reason was = dec->reason;

	if (fire == 0 || dec->allow)
		return 0;
	dec->allow = true;
	dec->reason = (enum rules_reason)fire;
	dec->uses_entry = false;
	return was;
}

static void
journal_decision(struct pipeline *p, const struct device *dev,
    const struct access_request *req, const struct rules_decision *dec,
    enum rules_reason overruled, int64_t now)
{
	const struct access_tables *t = p->tables;
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
	if (p->cfg->keep_snapshots && req->snapshot[0])
		json_object_set_new(extra, "snapshot",
		    json_string(req->snapshot));
	if (overruled)
		json_object_set_new(extra, "rules",
		    json_string(rules_reason_code(overruled)));
	pipeline_record(p, &r, now);
	json_decref(extra);
}

void
gate_event(struct pipeline *p, const struct device *dev, const struct event *ev)
{
	const struct access_request *req = &ev->u.access;
	const struct gate_settings *gate = device_gate(dev);
	struct device_state *ds = state_device(p->state, dev->index);
	const struct access_tables *t = p->tables;
	struct rules_decision dec;
	struct rules_clock clk;
	struct command cmd = { 0 };
	char name[96], text[160], display[128];
	int64_t now = now_ms(), first;
	enum rules_reason overruled;

	if (ev->type != EVENT_ACCESS)
		return; /* a gate's status is the core's */
	if (dedup_seen(p->state->dedup, dev->id, req->request, now, &first)) {
		pipeline_duplicate(p, dev, req->request, first);
		return;
	}

	if (req->direction && gate->direction != DIRECTION_BOTH &&
	    req->direction != gate->direction &&
	    log_ratelimit(&ds->direction_warned_ms))
		log_warnx("%s: the terminal says '%s' but the gate is set up "
		          "for '%s' only: decided as coming in; check the "
		          "terminal's settings",
		    dev->id, direction_name(req->direction),
		    direction_name(gate->direction));
	rules_clock_at(now, &clk);
	rules_gate(t, dev, p->state, req, &clk, p->stale_ms, &dec);
	overruled = fire_release(p, &dec);
	journal_decision(p, dev, req, &dec, overruled, now);
	if (dec.allow && dec.person)
		care_pass(p, access_str(t, dec.person->id), now);

	who(t, &dec, req, name, sizeof(name));
	why(t, gate, &dec, req, text, sizeof(text));
	log_info("%-12s %-5s  %-8s %-9s %s", dev->id,
	    dec.allow ? "allow" : "deny", name,
	    dec.person && *access_str(t, dec.person->household) ?
	        access_str(t, dec.person->household) :
	        dec.visitor ? access_str(t, dec.visitor->host) :
	                      "-",
	    text);
	if (dec.uses_entry &&
	    state_entries_add(p->state, access_str(t, dec.visitor->id), 1) < 0)
		log_errx("out of memory: an entry of visitor %s not counted",
		    access_str(t, dec.visitor->id));

	cmd.request = req->request;
	if (dec.allow) {
		cmd.action = COMMAND_OPEN;
		cmd.open_ms = gate->open_ms;
		if (fire_release_reason(p))
			str_copy(display,
			    rules_reason_display(
			        (enum rules_reason)fire_release_reason(p)),
			    sizeof(display));
		else if (dec.person || dec.visitor)
			snprintf(display, sizeof(display), "%s %s", name,
			    rules_reason_display(dec.reason));
		else
			str_copy(display, rules_reason_display(dec.reason),
			    sizeof(display));
	} else {
		cmd.action = COMMAND_DENY;
		cmd.reason = rules_reason_code(dec.reason);
		str_copy(display, rules_reason_display(dec.reason),
		    sizeof(display));
	}
	cmd.display = display;
	pipeline_command(p, dev, &cmd);
}
