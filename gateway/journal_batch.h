/*
 * journal_batch.h - rows on their way to the journal, and those that
 * never got there; inside the journal only (journal.c, journal_file.c).
 * A batch is written by the loop until it is submitted, then by the
 * journal thread until it is reported: never by both at once.
 */
#ifndef JOURNAL_BATCH_H
#define JOURNAL_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "journal.h"

#define JOURNAL_NO_STR UINT32_MAX

/* A row's strings in its batch's text. */
enum journal_field {
	JOURNAL_F_KIND,
	JOURNAL_F_DEVICE,
	JOURNAL_F_REQUEST,
	JOURNAL_F_DECISION,
	JOURNAL_F_REASON,
	JOURNAL_F_SUBJECT_TYPE,
	JOURNAL_F_SUBJECT_ID,
	JOURNAL_F_HOUSEHOLD,
	JOURNAL_F_DIRECTION,
	JOURNAL_F_BODY, /* the record without its id */
	JOURNAL_F_COUNT
};

/*
 * Rows that were not journaled, from the first to the last, until a
 * commit succeeds again and a system record says so.
 */
#define JOURNAL_LOSS_KINDS 8
struct journal_loss {
	uint64_t rows;
	int64_t from_ms, to_ms;
	struct {
		char name[16];
		uint64_t n;
	} kinds[JOURNAL_LOSS_KINDS]; /* the rest counts as "other" */
	char cause[160];             /* what failed first */
};

/* Strings back to back, found by offset: one buffer per batch. */
struct journal_text {
	char *p;
	size_t len, cap;
};

struct journal_pending {
	int64_t ts_ms;
	uint32_t str[JOURNAL_F_COUNT]; /* offsets in the text, or NO_STR */
	uint32_t body_len;
	/* The thread's: the record with its id, in the batch's json. */
	int64_t seq;
	uint32_t json, json_len;
};

/* A sink's cursor, moved in the batch's transaction. */
#define JOURNAL_CURSORS 4
struct journal_cursor {
	char name[16];
	int64_t seq;
	char *state; /* malloc'd, or NULL */
};

/* A record a sink's peer refused for good, set aside in the batch's
 * transaction. */
#define JOURNAL_DEAD_LETTERS 4
struct journal_dead {
	char sink[16];
	int64_t seq;
	char why[160];
};

struct journal_batch {
	struct journal_batch *next;
	uint64_t ticket;
	struct journal_cursor cursors[JOURNAL_CURSORS];
	size_t ncursors;
	struct journal_dead dead[JOURNAL_DEAD_LETTERS];
	size_t ndead;
	struct journal_pending *rows;
	size_t n, cap;
	struct journal_text text;    /* written by the loop */
	struct journal_loss dropped; /* what the loop dropped before it */
	/* The thread's answer. */
	bool committed;
	struct journal_text json;
	struct journal_row *out;
	size_t nout, capout;
};

/* A row at the end of b, its JSON built now, with "clock":"unsynced"
 * if it is made while the clock is not synchronised.  0 or -1 (no
 * memory). */
int journal_batch_add(struct journal_batch *b, const struct journal_record *,
    int64_t ts_ms, bool unsynced);
/*
 * The row's record with its id (p->seq), as stored and published: src's
 * body with the id in front, into dst's json (dst is src but for the
 * journal's own records, reported with the batch they are committed
 * with).  0 or -1 (no memory).
 */
int journal_batch_compose(struct journal_batch *dst,
    const struct journal_batch *src, struct journal_pending *p,
    const char *site);
/* The row's columns, pointing into b (extra: NULL). */
void journal_batch_record(const struct journal_batch *b,
    const struct journal_pending *p, struct journal_record *r);
/*
 * The answer the loop reads: the rows, with their JSON if committed,
 * after the journal's own records committed with them (sys).
 */
void journal_batch_answer(struct journal_batch *b, bool committed,
    const struct journal_batch *sys);
void journal_batch_free(struct journal_batch *);
/* Its cursors' states freed, and none left. */
void journal_batch_cursors_clear(struct journal_batch *);

void journal_loss_add(struct journal_loss *, const char *kind, int64_t ts_ms,
    const char *cause);
void journal_loss_merge(struct journal_loss *to,
    const struct journal_loss *from);
/* Every row of b, which was not committed. */
void journal_loss_batch(struct journal_loss *, const struct journal_batch *b,
    const char *cause);
/* The members of the record of a loss: rows, from, to, kinds. */
json_t *journal_loss_json(const struct journal_loss *);

#endif
