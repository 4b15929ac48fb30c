/*
 * control.h - the control socket gatewayctl talks to (DESIGN 3): a Unix
 * stream socket at [control] socket, mode 0660, group [control] group,
 * served on the loop.  A peer that is not root, not the gateway's own
 * user and not in that group is refused (SO_PEERCRED), whatever the
 * socket's mode says.
 *
 * The protocol: one JSON object per line each way.  A request is at most
 * CONTROL_LINE_MAX bytes with its "\n"; a longer one, or one that is not
 * a JSON object with a "cmd", is answered with an error and the
 * connection closed.  A client may send several requests, one after the
 * other; each is answered in turn, with
 *   {"ok":true, ...what the command returns}  or
 *   {"ok":false,"error":"what is wrong","code":"refused"|"not_found"|"usage"}
 * A client that sends nothing for CONTROL_IDLE_MS, or does not read its
 * answers, is dropped: it never holds up the loop.
 *
 * Commands ("cmd") and what their answer carries besides "ok":
 *   status                       "status": the daemon's live state
 *   reload                       "reload": {"ok":bool,"tables":summary,
 *                                "errors":["file:line: ...", ...]}
 *   explain  who, gate?, at_ms?  "explain": explain.h's verdicts
 *   incidents                    "incidents": [every open incident's state]
 *   ack|resolve  incident, operator, note?
 *   fire  action (reset|test), operator, seconds?
 *   charger  device, port, action (start|stop), limit_a?, operator?
 *   open  device, operator, reason   a manual open, journaled
 *   notify  text (markdown)          a message for the group robot,
 *                                    through the journal like any alert
 * ack, resolve, fire and charger are the requests staff's MQTT tools
 * make (DESIGN 4.1), answered once their records are committed.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <uv.h>

#define CONTROL_LINE_MAX 8192
#define CONTROL_IDLE_MS  30000

struct control;
struct daemon;

/* Listening on [control] socket; a socket that cannot be made is logged
 * (gates are decided without it).  NULL only when out of memory. */
struct control *control_new(struct daemon *);
/* Every client dropped, the socket removed; freed once libuv has closed
 * its handles. */
void control_close(struct control *);
/* Something the gateway publishes: an answer on <...>/result a client
 * waits for is its answer. */
void control_published(struct control *, const char *topic, const void *payload,
    size_t len);

#endif
