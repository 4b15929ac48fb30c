/*
 * pipeline_stubs.h - the journal and the outbox of a pipeline's unit
 * test: stubs that keep what the pipeline hands them, in one sequence in
 * the order it was handed over (seen[]).  Nothing is committed or sent.
 * Include after cmocka.h, in the one .c of a test binary.
 */
#ifndef PIPELINE_STUBS_H
#define PIPELINE_STUBS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "driver.h"
#include "journal.h"
#include "journal_db.h"
#include "outbox.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

#define SEEN_MAX 256

/* The journal batch being filled, for every record: neither 0 (no
 * journal) nor 1, so that a command passes on the ticket it was given. */
#define STUB_TICKET 7

/* Bits, so that a mask picks more than one. */
enum seen_type {
	SEEN_NOW = 1,     /* outbox_command_now(): ahead of everything */
	SEEN_QUEUED = 2,  /* outbox_command(): behind the journal */
	SEEN_RECORD = 4,  /* journal_append() */
	SEEN_PUBLISH = 8, /* outbox_publish() */
};
#define SEEN_COMMAND (SEEN_NOW | SEEN_QUEUED)

struct seen {
	enum seen_type type;
	const struct device *dev; /* commands */
	struct command cmd;       /* commands; its strings are below */
	char request[80];         /* commands; "" for none */
	char reason[64];          /* commands */
	char display[128];        /* commands */
	uint64_t ticket;          /* the batch it waits for; 0 for NOW */
	char *text;               /* a record's body as the journal stores
	                             it; a publish's "topic payload" */
	int64_t ts_ms;            /* records */
	int qos;                  /* publishes */
};

static struct seen seen[SEEN_MAX];
static size_t nseen;

/* Set by a test that no command may leave through that door: one that
 * does fails the test. */
static bool stub_refuse_now;    /* outbox_command_now() */
static bool stub_refuse_queued; /* outbox_command() */

static inline struct seen *
seen_next(enum seen_type type)
{
	struct seen *s;

	assert_true(nseen < SEEN_MAX);
	s = &seen[nseen++];
	memset(s, 0, sizeof(*s));
	s->type = type;
	return s;
}

/* Forget all that was seen. */
static inline void
seen_forget(void)
{
	while (nseen > 0)
		free(seen[--nseen].text);
}

/* ---- the stubs ---- */

int
journal_append(struct journal *j, const struct journal_record *r, int64_t ts_ms)
{
	struct seen *s = seen_next(SEEN_RECORD);
	json_t *o = journal_record_json(r, ts_ms);

	(void)j;
	assert_non_null(o);
	/* The body as stored, which a restore at start reads back. */
	s->text = json_dumps(o, JSON_COMPACT);
	assert_non_null(s->text);
	s->ts_ms = ts_ms;
	s->ticket = STUB_TICKET;
	json_decref(o);
	return 0;
}

uint64_t
journal_ticket(const struct journal *j)
{
	(void)j;
	return STUB_TICKET;
}

static inline void
seen_command_keep(enum seen_type type, uint64_t ticket,
    const struct device *dev, const struct command *cmd)
{
	struct seen *s = seen_next(type);

	s->dev = dev;
	s->cmd = *cmd;
	s->cmd.request = s->cmd.reason = s->cmd.display = NULL;
	str_copy(s->request, cmd->request ? cmd->request : "",
	    sizeof(s->request));
	str_copy(s->reason, cmd->reason ? cmd->reason : "", sizeof(s->reason));
	str_copy(s->display, cmd->display ? cmd->display : "",
	    sizeof(s->display));
	s->ticket = ticket;
}

void
outbox_command(struct outbox *o, uint64_t ticket, const struct device *dev,
    const struct command *cmd)
{
	(void)o;
	if (stub_refuse_queued)
		fail_msg("%s was sent a command", dev->id);
	seen_command_keep(SEEN_QUEUED, ticket, dev, cmd);
}

void
outbox_command_now(struct outbox *o, const struct device *dev,
    const struct command *cmd)
{
	(void)o;
	if (stub_refuse_now)
		fail_msg("a command to %s sent ahead of the journal", dev->id);
	seen_command_keep(SEEN_NOW, 0, dev, cmd);
}

void
outbox_publish(struct outbox *o, uint64_t ticket, const char *topic,
    const void *payload, size_t len, int qos, bool retain)
{
	struct seen *s = seen_next(SEEN_PUBLISH);

	(void)o;
	(void)retain;
	if (asprintf(&s->text, "%s %.*s", topic, (int)len,
	        (const char *)payload) < 0)
		fail();
	s->ticket = ticket;
	s->qos = qos;
}

/* ---- what the tests ask of what was seen ---- */

/* How many of the types in mask were seen. */
static inline size_t
seen_count(unsigned mask)
{
	size_t i, n = 0;

	for (i = 0; i < nseen; i++)
		n += (seen[i].type & mask) != 0;
	return n;
}

/* The index of the first of the types in mask from seen[i] on, or
 * nseen. */
static inline size_t
seen_find(unsigned mask, size_t i)
{
	while (i < nseen && (seen[i].type & mask) == 0)
		i++;
	return i;
}

/* The index of the nth (from 0) of the types in mask: there must be
 * one. */
static inline size_t
seen_nth(unsigned mask, size_t n)
{
	size_t i = seen_find(mask, 0), k;

	for (k = 0; k < n && i < nseen; k++)
		i = seen_find(mask, i + 1);
	if (i == nseen)
		fail_msg("%zu seen of type %#x, not %zu", seen_count(mask),
		    mask, n + 1);
	return i;
}

/* The index of the last of the types in mask: there must be one. */
static inline size_t
seen_last(unsigned mask)
{
	size_t i = nseen;

	while (i > 0 && (seen[i - 1].type & mask) == 0)
		i--;
	if (i == 0)
		fail_msg("none seen of type %#x", mask);
	return i - 1;
}

/* Record seen[i]'s member as text: a string as it is, a number in
 * digits (%g when not whole), true or false, an object (the subject)
 * as its id; "" when absent. */
static inline const char *
seen_member(size_t i, const char *key)
{
	static char out[256];
	json_t *o, *v;

	assert_true(i < nseen);
	assert_int_equal(seen[i].type, SEEN_RECORD);
	o = json_loads(seen[i].text, 0, NULL);
	assert_non_null(o);
	v = json_object_get(o, key);
	if (json_is_object(v))
		v = json_object_get(v, "id");
	if (json_is_string(v))
		str_copy(out, json_string_value(v), sizeof(out));
	else if (json_is_integer(v))
		snprintf(out, sizeof(out), "%lld",
		    (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, sizeof(out), "%g", json_real_value(v));
	else if (json_is_boolean(v))
		str_copy(out, json_is_true(v) ? "true" : "false", sizeof(out));
	else
		out[0] = '\0';
	json_decref(o);
	return out;
}

/* The nth record's (from 0) member, as seen_member() gives it. */
static inline const char *
seen_record(size_t n, const char *key)
{
	return seen_member(seen_nth(SEEN_RECORD, n), key);
}

/* The nth command (from 0), through either door. */
static inline const struct seen *
seen_command(size_t n)
{
	return &seen[seen_nth(SEEN_COMMAND, n)];
}

/* The last publish, as "topic payload". */
static inline const char *
seen_published(void)
{
	return seen[seen_last(SEEN_PUBLISH)].text;
}

/* A restart: every record so far to row(arg, ts, body, len), oldest
 * first, as the journal hands them back at start; all that was seen is
 * forgotten before the first. */
static inline void
seen_replay(void (*row)(void *, int64_t, const char *, size_t), void *arg)
{
	struct seen saved[SEEN_MAX];
	size_t i, n = nseen;

	memcpy(saved, seen, n * sizeof(saved[0]));
	nseen = 0;
	for (i = 0; i < n; i++) {
		if (saved[i].type == SEEN_RECORD)
			row(arg, saved[i].ts_ms, saved[i].text,
			    strlen(saved[i].text));
		free(saved[i].text);
	}
}

/* ---- the pipeline on them ---- */

static struct pipeline *stub_pipeline; /* the case's, for stub_done() */

/* p for one case: the compound's config and tables, live state of its
 * own, a journal (any non-NULL: the stubs stand for it), nothing seen.
 * 0 or -1. */
static inline int
stub_pipeline_fresh(struct pipeline *p, const struct config *cfg,
    const struct access_tables *tables)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->tables = tables;
	p->state = state_new(cfg->ndevices);
	p->journal = (struct journal *)p;
	seen_forget();
	stub_pipeline = p;
	return p->state ? 0 : -1;
}

/* A case's teardown (cmocka): its pipeline's state freed, and all that
 * was seen. */
static inline int
stub_done(void **state)
{
	(void)state;
	if (stub_pipeline != NULL)
		state_free(stub_pipeline->state);
	stub_pipeline = NULL;
	seen_forget();
	return 0;
}

#endif
