/*
 * uplink.h - the MQTT uplink (DESIGN 4.5): every journal record, byte
 * for byte, QoS 1, in id order, to <prefix>/events/<kind> on a central
 * broker over TLS, its cursor "uplink" moved only on PUBACK.  A second
 * connection (mqtt.h) on the same loop; never on a decision's path.
 */
#ifndef UPLINK_H
#define UPLINK_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct config;
struct journal;
struct uplink;

/* Connected, or the connection lost: what gateway/status shows is due
 * again. */
typedef void uplink_changed_fn(void *arg);

/*
 * A sink for cfg->uplink, from the cursor the journal keeps (read off
 * the loop before anything is sent); it connects at once.  NULL when the
 * config has no [uplink] host, or on failure (logged).
 */
struct uplink *uplink_new(uv_loop_t *, const struct config *, struct journal *,
    uplink_changed_fn *, void *arg);
/* Records up to last_seq were committed: read on.  NULL is fine. */
void uplink_poke(struct uplink *, int64_t last_seq);
/*
 * Its part of gateway/status: {"state":"connected"|"connecting"|"off",
 * "backlog":N,"oldest":"<site>:<seq>","age_s":S,"last_error":"..."}.
 * backlog counts ids from the cursor to the last journaled, gaps
 * included: an upper bound.  NULL gives "off".
 */
json_t *uplink_status(const struct uplink *);
/* Say offline (retained) on the central broker, disconnect, close; what
 * is in flight is sent again from the cursor at the next start.  Before
 * journal_stop.  NULL is fine. */
void uplink_stop(struct uplink *);

#endif
