/*
 * log.c - stderr logging for a daemon under systemd (journald adds the
 * time and takes the "<N>" prefix as the priority) or on a console.
 * Any thread may log: each line is one stdio call, and stdio locks the
 * stream, so lines never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"
#include "util.h"

static int log_verbose;
static bool log_journal; /* stderr is connected to journald */
/*
 * Per thread: the loop batches its lines and flushes once an iteration;
 * another thread (the journal's) has no such flush, so its lines go out
 * as they are written.
 */
static _Thread_local bool log_batching;
static char log_buf[65536];

void
log_init(int verbose)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	log_verbose = verbose;
	log_journal = false;
	/* JOURNAL_STREAM is "dev:ino" of the stream systemd gave us. */
	if (js && sscanf(js, "%lu:%lu", &dev, &ino) == 2 &&
	    fstat(fileno(stderr), &st) == 0 && st.st_dev == dev &&
	    st.st_ino == ino)
		log_journal = true;
	setvbuf(stderr, log_buf, _IOFBF, sizeof(log_buf));
}

static void
vlog(int prio, const char *fmt, va_list ap, const char *suffix)
{
	char raw[1024], msg[2048], stamp[16];
	struct tm tm;
	time_t t;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	/* Ids and topics come from devices: one line, shown as it is. */
	str_escape(raw, msg, sizeof(msg));
	if (log_journal) {
		fprintf(stderr, "<%d>%s%s\n", prio, msg, suffix ? suffix : "");
		goto out;
	}
	t = time(NULL);
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(stderr, "%s %s%s%s\n", stamp,
	    prio <= 3     ? "error: " :
	        prio == 4 ? "warning: " :
	                    "",
	    msg, suffix ? suffix : "");
out:
	if (!log_batching || prio <= 3)
		fflush(stderr);
}

void
log_batch(bool on)
{
	log_batching = on;
	if (!on)
		fflush(stderr);
}

void
log_flush(void)
{
	fflush(stderr);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(7, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(6, fmt, ap, NULL);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(4, fmt, ap, NULL);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	char suffix[128], ebuf[96];
	va_list ap;

	/* strerror_r: strerror's buffer is shared between threads. */
	snprintf(suffix, sizeof(suffix), ": %s",
	    strerror_r(errno, ebuf, sizeof(ebuf)));
	va_start(ap, fmt);
	vlog(4, fmt, ap, suffix);
	va_end(ap);
}

void
log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(3, fmt, ap, NULL);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(2, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

bool
log_ratelimit(uint64_t *last_ms)
{
	uint64_t now;

	/* Monotonic: a clock stepped back must not silence warnings.  Never
	 * 0, which means "not yet". */
	now = mono_ms() + 1;
	if (*last_ms != 0 && now - *last_ms < 60000)
		return false;
	*last_ms = now;
	return true;
}
