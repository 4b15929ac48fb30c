/*
 * native.h - the gateway's own JSON of DESIGN §4.1, as every native
 * driver reads and writes it: a request's id, strings that reach screens
 * and logs, a direction, a device's timestamp, a command for a gate or a
 * barrier.  Vendors' formats have drivers of their own.
 */
#ifndef NATIVE_H
#define NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "driver.h"

/* The payload as a JSON object, or NULL with err. */
json_t *native_load(const void *payload, size_t len, char *err, size_t errlen);

/* A payload it cannot use: err says why (printf's format).  DRIVER_BAD. */
enum driver_decode native_bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The request's "id" into out (REQUEST_ID_MAX + 1 bytes), read first so
 * that a request wrong in anything else still gets its answer.  0, or -1
 * with out empty and err said.
 */
int native_id(json_t *obj, char *out, char *err, size_t errlen);

/*
 * The start of a native request's decode: the payload as an object and
 * its "id" into request (REQUEST_ID_MAX + 1 bytes), read first so that
 * a request wrong in anything else still gets its answer.  The object
 * (the caller decrefs it) with *rc DRIVER_OK; NULL with *rc DRIVER_BAD
 * and err; or the object with *rc DRIVER_BAD and err when only the id
 * is wrong (request is then "").
 */
json_t *native_request(const void *payload, size_t len, char *request,
    enum driver_decode *rc, char *err, size_t errlen);

/* A required printable string (native_string(), never empty): 0, or -1
 * with err ("missing 'plate'", "bad 'plate'"). */
int native_required(json_t *obj, const char *key, char *out, size_t max,
    char *err, size_t errlen);

/* A required number from 0 to 1 (a face's "score", a camera's): 0, or
 * -1 with err ("missing 'score'", "bad 'score'", "'score' not within
 * 0..1"). */
int native_fraction(json_t *obj, const char *key, double *out, char *err,
    size_t errlen);

/* What every native request may end with: "ts" and "snapshot".  0, or
 * -1 with err. */
int native_ts_snapshot(json_t *obj, int64_t *ts_ms, char *snapshot, char *err,
    size_t errlen);

/*
 * A printable string member of at most max bytes into out (max + 1
 * bytes): 1 found, 0 absent (or null), -1 of the wrong type, too long,
 * empty when !empty_ok, or with control characters.
 */
int native_string(json_t *obj, const char *key, char *out, size_t max,
    bool empty_ok);

/* "direction": "in" or "out" into *out: 1, 0 absent, -1 anything else. */
int native_direction(json_t *obj, enum direction *out);

/*
 * "ts": epoch milliseconds (seconds are taken for seconds), or RFC 3339
 * with an offset, into *out_ms: 1, 0 absent, -1 unreadable.
 */
int native_ts(json_t *obj, int64_t *out_ms);

/*
 * A gate's or barrier's .../cmd payload: {"action":"open","request":...,
 * "display":...,"open_ms":...}.  The length written, 0 for a command a
 * gate does not take, -1 when it does not fit.
 */
int native_encode(const struct command *, char *buf, size_t size);

#endif
