/*
 * wechat.h - the WeChat sink: the journal's messages for the group robot
 * (journal.h's JOURNAL_NOTIFY records), read from its cursor in id
 * order, sent within the robot's budget over HTTP on the loop, the
 * cursor moved only on errcode 0.  Never on a decision's path.
 */
#ifndef WECHAT_H
#define WECHAT_H

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

struct config;
struct journal;
struct wechat;

/* Its state changed (sending, retrying, failing, stopped): what
 * gateway/status shows is due again. */
typedef void wechat_changed_fn(void *arg);

/*
 * What a sink sends.  With [report] webhook_key_file the daily report
 * has a robot of its own: two sinks read the same records, each with its
 * cursor, and each passes what is the other's.
 */
enum wechat_role {
	WECHAT_ALL,     /* [wechat]'s robot: alerts, care, the report */
	WECHAT_ALERTS,  /* [wechat]'s robot: all but the report */
	WECHAT_REPORTS, /* [report]'s robot: the report alone (cursor
	                 * "report") */
};

/*
 * A sink for role's robot (its key read at load), from the cursor the
 * journal keeps (read off the loop before anything is sent).
 * NULL when the config has no such robot or on failure (logged).
 */
struct wechat *wechat_new(uv_loop_t *, const struct config *, struct journal *,
    enum wechat_role, wechat_changed_fn *, void *arg);
/* Records the robot may be sent were committed: read on. */
void wechat_poke(struct wechat *);
/* SIGHUP: the key file read again; a stopped sink tries once more. */
void wechat_rekey(struct wechat *);
/* Its part of gateway/status: {"state":...,"errcode":...,...}. */
json_t *wechat_status(const struct wechat *);
/* Abandon a request in flight at once (its message stays queued in the
 * journal) and close; freed once the loop has closed its handles.  NULL
 * is fine. */
void wechat_stop(struct wechat *);

#endif
