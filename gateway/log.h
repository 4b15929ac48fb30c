/*
 * log.h - one line per event on stderr, in the form journald reads:
 * "<N>" priority prefixes under systemd, a local time otherwise.  What
 * could break or disguise a line (controls, bidi) is escaped.
 */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>
#include <stdint.h>

void log_init(int verbose);
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Like log_warnx, with ": strerror(errno)" appended. */
void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* Start-up failures and broken invariants only: logs and exits 1. */
void fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * While batching, lines wait in stdio's buffer until log_flush(): the
 * loop flushes once an iteration, so a burst of decisions costs one
 * write, not one per line.  Batching is set for the calling thread only;
 * other threads' lines are flushed as they are written.  Logging is safe
 * from any thread; log_ratelimit's *last belongs to one thread.
 */
void log_batch(bool);
void log_flush(void);

/* True at most once a minute per *last (for bad input from a device). */
bool log_ratelimit(uint64_t *last_ms);

#endif
