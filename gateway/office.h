/*
 * office.h - the office sink (DESIGN 4.5): every journal record, in id
 * order from its cursor, POSTed in batches to the property office over
 * HTTPS on the loop; the cursor moves only on a 2xx.  A record the office
 * refuses alone is set aside and alerted, and delivery goes on.
 */
#ifndef OFFICE_H
#define OFFICE_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct config;
struct journal;
struct office;

/*
 * Something staff must know (the token refused, a record set aside):
 * the daemon journals it as a delivery_failed alert.  seq: the record
 * set aside, or 0.
 */
typedef void office_alert_fn(void *arg, const char *why, int64_t seq);
/* Its state changed: gateway/status is due again. */
typedef void office_changed_fn(void *arg);

/* NULL when cfg has no [office], or on failure (logged). */
struct office *office_new(uv_loop_t *, const struct config *, struct journal *,
    office_alert_fn *, office_changed_fn *, void *arg);
/* Records up to seq are committed: send on. */
void office_poke(struct office *, int64_t seq);
/* SIGHUP: the token file read again; a sink stopped by 401/403 resumes. */
void office_rekey(struct office *);
/* {"backlog":N,"oldest":"<id>","age_s":S,"state":...,"last_error":...} */
json_t *office_status(const struct office *);
/* Abandon a request in flight at once; freed once the loop closed its
 * handles.  NULL is fine. */
void office_stop(struct office *);

#endif
