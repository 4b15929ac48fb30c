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
 * A sink for cfg->wechat (its key read at load), from the cursor the
 * journal keeps (read off the loop before anything is sent).
 * NULL when the config has no robot or on failure (logged).
 */
struct wechat *wechat_new(uv_loop_t *, const struct config *, struct journal *,
    wechat_changed_fn *, void *arg);
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
