/*
 * reload.h - new access tables while the gateway runs: on SIGHUP, and
 * when a file in access.d changes.  Parsed and checked whole on a worker
 * thread, swapped on the loop in one step; a bad file keeps the old
 * tables in force and says file:line: what is wrong.
 */
#ifndef RELOAD_H
#define RELOAD_H

#include <jansson.h>
#include <uv.h>

struct pipeline;
struct reload;

/*
 * Watches cfg's access_dir; swaps tables into p->tables, and calls
 * swapped(arg) after each swap.  Each table that loads is saved as the
 * snapshot a start falls back on (snapshot.h).
 */
struct reload *reload_new(uv_loop_t *, struct pipeline *,
    void (*swapped)(void *), void *arg);
/* Reload now (or after the one running); why goes to the log.  The
 * number of the reload that will have read the files as they are now
 * (reload_on_finished() names it), or 0 when closing. */
unsigned reload_start(struct reload *, const char *why);
/* The last reload's result: {"ok","at_ms","ms","tables","errors":[
 * "file:line: ..."]}, or NULL before the first. */
const json_t *reload_last(const struct reload *);
/* fn(arg, gen, result) after each reload (gen: reload_start()'s). */
void reload_on_finished(struct reload *,
    void (*fn)(void *arg, unsigned gen, const json_t *result), void *arg);
/*
 * About once a second: is access_dir still the directory being watched?
 * One replaced whole by a rename is watched again, and reloaded.
 */
void reload_check(struct reload *);
/* Stop watching; a reload under way is dropped when it ends. */
void reload_close(struct reload *);
/* After reload_close, once the loop has run its close callbacks. */
void reload_free(struct reload *);

#endif
