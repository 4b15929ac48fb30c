/*
 * bus.c - the Modbus buses: a thread per bus that polls its devices on
 * their own schedules and carries out commands ahead of every poll, and
 * the queues between those threads and the loop.  A transaction and its
 * errors are bus_io.c's; when to give up and when to try again,
 * bus_policy.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "bus_int.h"
#include "config.h"
#include "driver.h"
#include "log.h"
#include "util.h"

#define QUEUE_MAX 64 /* commands waiting on one bus, besides... */
/* ...the fire release's: one hold or normal per device at most (a newer
 * replaces an older), so it never finds the queue full. */
#define EVENTS_MAX  4096 /* decoded events waiting for the loop */
#define OTHERS_MAX  1024 /* status changes, outcomes, problems waiting */
#define DECODED_MAX 16   /* events one poll may decode into */
#define RETRY_MS    200  /* a command with a deadline is tried again */
#define NEVER       UINT64_MAX

enum result_kind {
	RESULT_EVENT,
	RESULT_STATUS,
	RESULT_COMMAND,
	RESULT_PROBLEM,
};

/* What a thread tells the loop: one of the callbacks, to be called. */
struct result {
	struct result *next;
	enum result_kind kind;
	const struct device *dev;
	bool online;
	enum bus_outcome outcome;
	struct command cmd; /* its strings are in strings */
	char *strings;
	char why[256];
	struct event ev;
};

/* A device on a bus, as its thread schedules it. */
struct bus_dev {
	const struct device *dev;
	int unit;
	uint64_t poll_ms; /* 0: never polled */
	uint64_t due_ms;  /* its next poll; NEVER: not polled */
	struct bus_health health;
	uint64_t decode_warned_ms;
	/* Under the bus's mu: a fire hold was queued and no normal since.
	 * An open pulse (the relay board's flash, which ends with the
	 * relay off) must not reach it: it would end the hold. */
	bool held;
};

/* A command waiting on a bus, or being carried out (busy). */
struct bus_cmd {
	uint64_t id;
	size_t dev; /* in bus->devs */
	struct command cmd;
	char *strings;       /* cmd's strings, one block */
	uint64_t not_before; /* a retry waits until then */
	bool busy;
	bool superseded; /* failed: drop it, a newer one replaces it */
};

struct bus {
	struct buses *all;
	const struct bus_config *cfg;
	struct bus_dev *devs;
	size_t ndevs;
	pthread_t thread;
	bool started;

	/* Shared with the loop, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct bus_cmd *cmds; /* in the order they are tried: QUEUE_MAX,
	                       * and more for the fire (bus_init()) */
	size_t ncmds, cmds_cap;
	uint64_t next_id;
	bool kick; /* a command came: a closed bus tries to open at once */
	atomic_bool stopping;

	/* The thread's own. */
	modbus_t *ctx; /* NULL: not open */
	uint64_t open_at, open_backoff_ms;
	uint64_t last_io_ms;
	bool down;   /* its devices were told it cannot be opened */
	bool logged; /* its trouble was logged: log the recovery too */
	uint64_t warned_ms;
	unsigned seed;
};

struct buses {
	uv_loop_t *loop;
	uv_async_t async;
	struct bus_callbacks cb;
	struct bus *v;
	size_t n;
	struct bus **bus_of; /* by device index: its bus, or NULL */
	size_t *slot_of;     /* and its place in that bus's devs */
	size_t ndevices;

	/* Results for the loop, under mu. */
	pthread_mutex_t mu;
	struct result *head, *tail;
	size_t nevents, nothers;
	uint64_t dropped;
	/* The loop's. */
	uint64_t dropped_logged, drop_warned_ms;
};

/* ---- thread to loop ---- */

static struct result *
result_new(enum result_kind kind, const struct device *dev, const char *why)
{
	struct result *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->kind = kind;
	r->dev = dev;
	str_copy(r->why, why ? why : "", sizeof(r->why));
	return r;
}

/* Never waits for the loop: when it is behind, events are dropped and
 * counted (the next poll reads the same inputs again). */
static void
push(struct buses *all, struct result *r)
{
	bool room;

	if (r == NULL)
		return;
	pthread_mutex_lock(&all->mu);
	if (r->kind == RESULT_EVENT)
		room = all->nevents < EVENTS_MAX;
	else
		room = all->nothers < OTHERS_MAX;
	if (room) {
		if (r->kind == RESULT_EVENT)
			all->nevents++;
		else
			all->nothers++;
		if (all->tail != NULL)
			all->tail->next = r;
		else
			all->head = r;
		all->tail = r;
	} else
		all->dropped++;
	pthread_mutex_unlock(&all->mu);
	if (!room) {
		free(r->strings);
		free(r);
		return;
	}
	uv_async_send(&all->async);
}

static void
report_status(struct bus *b, const struct bus_dev *d, bool online,
    const char *why)
{
	struct result *r = result_new(RESULT_STATUS, d->dev, why);

	if (r != NULL)
		r->online = online;
	push(b->all, r);
}

static void
report_problem(struct bus *b, const struct bus_dev *d, const char *what)
{
	push(b->all, result_new(RESULT_PROBLEM, d->dev, what));
}

/* Under b->mu: the command's end, and its place in the queue freed. */
static void
report_command(struct bus *b, size_t i, enum bus_outcome outcome,
    const char *why)
{
	struct bus_cmd *c = &b->cmds[i];
	struct result *r = result_new(RESULT_COMMAND, b->devs[c->dev].dev, why);

	if (r != NULL) {
		r->cmd = c->cmd;
		r->strings = c->strings; /* the result owns them now */
		r->outcome = outcome;
	} else
		free(c->strings);
	push(b->all, r);
	memmove(&b->cmds[i], &b->cmds[i + 1],
	    (b->ncmds - i - 1) * sizeof(b->cmds[0]));
	b->ncmds--;
}

static void
on_async(uv_async_t *h)
{
	struct buses *all = h->data;
	const struct bus_callbacks *cb = &all->cb;
	struct result *r, *next;
	uint64_t dropped;

	pthread_mutex_lock(&all->mu);
	r = all->head;
	all->head = all->tail = NULL;
	all->nevents = all->nothers = 0;
	dropped = all->dropped;
	pthread_mutex_unlock(&all->mu);
	if (dropped != all->dropped_logged &&
	    log_ratelimit(&all->drop_warned_ms)) {
		log_warnx("bus: %" PRIu64 " results dropped so far: the loop "
		          "fell behind (logged once a minute)",
		    dropped);
		all->dropped_logged = dropped;
	}
	for (; r != NULL; r = next) {
		next = r->next;
		switch (r->kind) {
		case RESULT_EVENT:
			cb->event(cb->arg, r->dev, &r->ev);
			break;
		case RESULT_STATUS:
			cb->status(cb->arg, r->dev, r->online, r->why);
			break;
		case RESULT_COMMAND:
			cb->command(cb->arg, r->dev, &r->cmd, r->outcome,
			    r->why);
			break;
		case RESULT_PROBLEM:
			cb->problem(cb->arg, r->dev, r->why);
			break;
		}
		free(r->strings);
		free(r);
	}
}

/* ---- the thread: time and waiting ---- */

static double
jitter(struct bus *b)
{
	return (double)rand_r(&b->seed) / ((double)RAND_MAX + 1);
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ms / 1000),
		.tv_nsec = (long)(ms % 1000) * 1000000,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Under b->mu: until at (mono_ms()), a command or the stop. */
static void
wait_until(struct bus *b, uint64_t at)
{
	struct timespec ts;

	if (at == NEVER) {
		pthread_cond_wait(&b->wake, &b->mu);
		return;
	}
	ts.tv_sec = (time_t)(at / 1000);
	ts.tv_nsec = (long)(at % 1000) * 1000000;
	(void)pthread_cond_timedwait(&b->wake, &b->mu, &ts);
}

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Under b->mu: every command past its deadline is dropped as late. */
static void
expire(struct bus *b, uint64_t now)
{
	size_t i = 0;

	while (i < b->ncmds) {
		if (!b->cmds[i].busy &&
		    bus_command_late(b->cmds[i].cmd.action,
		        b->cmds[i].cmd.at_ms, now))
			report_command(b, i, BUS_LATE, COMMAND_LATE_TEXT);
		else
			i++;
	}
}

/*
 * Nothing to do before at: sleep until then, or until a command comes,
 * a waiting one is due or must be dropped, or the stop.  A closed bus
 * carries out nothing, but still drops what is late.
 */
static void
idle(struct bus *b, uint64_t at)
{
	uint64_t now, patience, t = at;
	const struct bus_cmd *c;
	size_t i;

	pthread_mutex_lock(&b->mu);
	now = mono_ms();
	expire(b, now);
	for (i = 0; i < b->ncmds; i++) {
		c = &b->cmds[i];
		if (c->busy)
			continue;
		if (b->ctx != NULL)
			t = min_u64(t, c->not_before);
		patience = bus_command_patience(c->cmd.action);
		if (patience != 0)
			t = min_u64(t, c->cmd.at_ms + patience + 1);
	}
	if (!atomic_load(&b->stopping) && t > now &&
	    !(b->ctx == NULL && b->kick))
		wait_until(b, t);
	pthread_mutex_unlock(&b->mu);
}

/* ---- the thread: the line ---- */

static void
where(const struct bus_config *c, char *buf, size_t size)
{
	if (c->type == BUS_RTU)
		snprintf(buf, size, "%s", c->port);
	else
		snprintf(buf, size, "%s:%d", c->host, c->tcp_port);
}

/* Its devices are told once that they cannot be reached. */
static void
bus_down(struct bus *b, const char *why)
{
	size_t i;

	if (b->down)
		return;
	b->down = true;
	for (i = 0; i < b->ndevs; i++) {
		if (b->devs[i].health.reported == 0)
			continue;
		b->devs[i].health.reported = 0;
		report_status(b, &b->devs[i], false, why);
	}
}

static void
bus_open(struct bus *b)
{
	const struct bus_config *c = b->cfg;
	char at[300], why[400], ebuf[128], port[8];
	const char *es;
	modbus_t *ctx;
	int err;

	where(c, at, sizeof(at));
	if (c->type == BUS_RTU)
		ctx = modbus_new_rtu(c->port, c->baud, (char)c->parity,
		    c->data_bits, c->stop_bits);
	else {
		snprintf(port, sizeof(port), "%d", c->tcp_port);
		ctx = modbus_new_tcp_pi(c->host, port);
	}
	err = ctx == NULL ? errno : 0;
	/* Link recovery would retry for ever inside one call: the
	 * thread does its own recovery, one transaction at a time.  The
	 * response timeout bounds a TCP connect too. */
	if (ctx != NULL &&
	    (modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_NONE) < 0 ||
	        modbus_set_response_timeout(ctx, (uint32_t)c->timeout_ms / 1000,
	            (uint32_t)(c->timeout_ms % 1000) * 1000) < 0 ||
	        modbus_connect(ctx) < 0)) {
		err = errno;
		modbus_free(ctx);
		ctx = NULL;
	}
	b->last_io_ms = mono_ms();
	if (ctx == NULL) {
		b->open_backoff_ms = backoff_next(b->open_backoff_ms,
		    BUS_OPEN_FIRST_MS, BUS_OPEN_CAP_MS);
		b->open_at = mono_ms() + b->open_backoff_ms;
		es = strerror_r(err, ebuf, sizeof(ebuf));
		snprintf(why, sizeof(why), "bus %s cannot be opened: %s",
		    c->name, es);
		if (log_ratelimit(&b->warned_ms)) {
			log_warnx("bus %s: cannot open %s: %s (trying again, "
			          "at least every %d s)",
			    c->name, at, es, BUS_OPEN_CAP_MS / 1000);
			b->logged = true;
		}
		bus_down(b, why);
		return;
	}
	/* A pty, or an adapter, keeps what came before the open. */
	if (c->type == BUS_RTU)
		(void)modbus_flush(ctx);
	b->ctx = ctx;
	b->open_backoff_ms = 0;
	b->down = false;
	if (b->logged || b->warned_ms == 0)
		log_info("bus %s: %s open, %zu devices", c->name, at, b->ndevs);
	b->logged = false;
	b->warned_ms = 0;
}

/* The connection or the port is gone: opened again at once, then with
 * backoff. */
static void
bus_close(struct bus *b, const char *why)
{
	if (b->ctx == NULL)
		return;
	if (log_ratelimit(&b->warned_ms)) {
		log_warnx("bus %s: %s: opening it again", b->cfg->name, why);
		b->logged = true;
	}
	modbus_close(b->ctx);
	modbus_free(b->ctx);
	b->ctx = NULL;
	b->open_at = mono_ms();
}

/*
 * After a fault, the line as if nothing had happened: a reply that
 * comes late must not be taken for the next one's (MODBUS-NOTES).
 */
static void
recover(struct bus *b, enum bus_fault fault)
{
	char why[160], ebuf[128];
	int rc = 0;

	/* Stopping: the line is closed next, and the stop waits for us. */
	if (atomic_load(&b->stopping))
		return;
	switch (fault) {
	case BUS_FAULT_TIMEOUT:
	case BUS_FAULT_GARBLED:
		/* Over TCP too: a reply read as another's (a stale
		 * transaction id) means this one's is still on its way.
		 * Flushed at once, it would arrive behind the flush and
		 * be read as the next one's, and so on for ever. */
		rc = bus_io_drain(b->ctx, b->cfg->timeout_ms);
		break;
	case BUS_FAULT_LINK:
		rc = -1;
		errno = ECONNRESET;
		break;
	default:
		break;
	}
	if (rc < 0) {
		snprintf(why, sizeof(why), "connection lost: %s",
		    strerror_r(errno, ebuf, sizeof(ebuf)));
		bus_close(b, why);
	}
}

/* One transaction, the bus's quiet time kept before it: 0 or errno. */
static int
transact(struct bus *b, const struct bus_dev *d, struct modbus_op *op)
{
	uint64_t now = mono_ms();
	int err = 0;

	if (b->cfg->gap_ms > 0 &&
	    now < b->last_io_ms + (uint64_t)b->cfg->gap_ms)
		sleep_ms(b->last_io_ms + (uint64_t)b->cfg->gap_ms - now);
	errno = 0;
	if (bus_io_op(b->ctx, d->unit, op) < 0)
		err = errno != 0 ? errno : EIO;
	b->last_io_ms = mono_ms();
	return err;
}

static void
op_text(const struct modbus_op *op, char *buf, size_t size)
{
	static const char *const names[] = {
		[MODBUS_READ_COILS] = "read coils",
		[MODBUS_READ_DISCRETE_INPUTS] = "read discrete inputs",
		[MODBUS_READ_HOLDING_REGISTERS] = "read holding registers",
		[MODBUS_READ_INPUT_REGISTERS] = "read input registers",
		[MODBUS_WRITE_COIL] = "write coil",
		[MODBUS_WRITE_REGISTER] = "write register",
		[MODBUS_WRITE_REGISTERS] = "write registers",
	};
	const char *name =
	    (size_t)op->fn < sizeof(names) / sizeof(*names) && names[op->fn] ?
	    names[op->fn] :
	    "function ?";

	if (op->fn != MODBUS_WRITE_COIL && op->fn != MODBUS_WRITE_REGISTER &&
	    op->count > 1)
		snprintf(buf, size, "%s 0x%04x-0x%04x", name, op->addr,
		    (unsigned)(op->addr + op->count - 1));
	else
		snprintf(buf, size, "%s 0x%04x", name, op->addr);
}

/*
 * What a transaction of d ended with, for its health: online, offline
 * or a problem said when it changes, and its next poll.  A command's
 * answer brings a device in backoff back to its pace; its failure puts
 * the next poll off like a poll's.
 */
static void
account(struct bus *b, struct bus_dev *d, int err, const struct modbus_op *op,
    bool poll)
{
	enum bus_fault fault = bus_fault_of(err);
	uint64_t wait, now = mono_ms(), base;
	char why[224], what[64], text[128];

	base = d->poll_ms ? d->poll_ms : (uint64_t)b->cfg->poll_ms;
	switch (bus_health_after(&d->health, fault, base, jitter(b), &wait)) {
	case BUS_REPORT_ONLINE:
		report_status(b, d, true, "answers");
		break;
	case BUS_REPORT_OFFLINE:
		bus_fault_text(err, why, sizeof(why));
		report_status(b, d, false, why);
		break;
	case BUS_REPORT_PROBLEM:
		op_text(op, what, sizeof(what));
		bus_fault_text(err, text, sizeof(text));
		snprintf(why, sizeof(why), "%s refused: %s", what, text);
		report_problem(b, d, why);
		break;
	case BUS_REPORT_NONE:
		break;
	}
	if (d->poll_ms == 0)
		return;
	if (poll || fault != BUS_OK)
		d->due_ms = now + wait;
	else
		d->due_ms = min_u64(d->due_ms, now + wait);
}

/* ---- the thread: commands ---- */

/* Under b->mu: where the command with this id is now, or ncmds. */
static size_t
find_cmd(const struct bus *b, uint64_t id)
{
	size_t i;

	for (i = 0; i < b->ncmds && b->cmds[i].id != id; i++)
		;
	return i;
}

static void
finish(struct bus *b, uint64_t id, enum bus_outcome outcome, const char *why)
{
	size_t i;

	pthread_mutex_lock(&b->mu);
	i = find_cmd(b, id);
	if (i < b->ncmds)
		report_command(b, i, outcome, why);
	pthread_mutex_unlock(&b->mu);
}

/* It failed: tried again, unless it is late or was replaced. */
static void
again(struct bus *b, uint64_t id, uint64_t wait, const char *why)
{
	struct bus_cmd c;
	uint64_t now = mono_ms();
	size_t i;

	pthread_mutex_lock(&b->mu);
	i = find_cmd(b, id);
	if (i == b->ncmds) {
		pthread_mutex_unlock(&b->mu);
		return;
	}
	c = b->cmds[i];
	if (c.superseded) {
		free(c.strings);
	} else if (bus_command_late(c.cmd.action, c.cmd.at_ms, now)) {
		report_command(b, i, BUS_LATE, why);
		pthread_mutex_unlock(&b->mu);
		return;
	}
	/* Behind the others: one dead board does not hold up the next. */
	memmove(&b->cmds[i], &b->cmds[i + 1],
	    (b->ncmds - i - 1) * sizeof(b->cmds[0]));
	b->ncmds--;
	if (!c.superseded) {
		c.busy = false;
		c.not_before = now +
		    (bus_command_patience(c.cmd.action) ?
		            min_u64(wait, RETRY_MS) :
		            wait);
		b->cmds[b->ncmds++] = c;
	}
	pthread_mutex_unlock(&b->mu);
}

/*
 * The first command that is due, carried out: false when there is none.
 * A command that fails is tried again within its deadline (an open), or
 * until done (the fire hold); one the device refuses is not.
 */
static bool
command_step(struct bus *b)
{
	struct modbus_op ops[DRIVER_OPS_MAX];
	struct bus_cmd c;
	struct bus_dev *d;
	char why[192], what[64], late[280];
	uint64_t now;
	size_t i;
	bool held;
	int n, k, err = 0;

	pthread_mutex_lock(&b->mu);
	now = mono_ms();
	expire(b, now);
	for (i = 0; i < b->ncmds; i++)
		if (!b->cmds[i].busy && b->cmds[i].not_before <= now)
			break;
	if (i == b->ncmds || atomic_load(&b->stopping) || b->ctx == NULL) {
		pthread_mutex_unlock(&b->mu);
		return false;
	}
	b->cmds[i].busy = true;
	c = b->cmds[i];
	d = &b->devs[c.dev];
	held = d->held &&
	    (c.cmd.action == COMMAND_OPEN || c.cmd.action == COMMAND_PULSE);
	pthread_mutex_unlock(&b->mu);

	/* Decided before the alarm, or retried since: the barrier is held
	 * open already, and the pulse would let it go. */
	if (held) {
		finish(b, c.id, BUS_DONE, "held open by the fire release");
		return true;
	}
	memset(ops, 0, sizeof(ops));
	n = d->dev->driver->modbus->execute(d->dev, &c.cmd, ops,
	    DRIVER_OPS_MAX);
	if (n <= 0) {
		finish(b, c.id, n == 0 ? BUS_DONE : BUS_REFUSED,
		    n == 0 ? "nothing to write" :
		             "its driver needs more writes than one command "
		             "may have");
		return true;
	}
	for (k = 0; k < n && err == 0; k++)
		err = transact(b, d, &ops[k]);
	k = err ? k - 1 : 0;
	if (bus_fault_of(err) == BUS_FAULT_ILLEGAL) {
		/* Its answer says the configuration is wrong: again is no
		 * better.  The device is there, its health unchanged. */
		op_text(&ops[k], what, sizeof(what));
		bus_fault_text(err, why, sizeof(why));
		snprintf(late, sizeof(late), "%s refused: %s", what, why);
		finish(b, c.id, BUS_REFUSED, late);
		return true;
	}
	account(b, d, err, &ops[k], false);
	if (err == 0) {
		finish(b, c.id, BUS_DONE, "");
		return true;
	}
	recover(b, bus_fault_of(err));
	bus_fault_text(err, why, sizeof(why));
	snprintf(late, sizeof(late), "%s (%s)", COMMAND_LATE_TEXT, why);
	again(b, c.id, d->health.backoff_ms, late);
	return true;
}

/* ---- the thread: polls ---- */

static struct bus_dev *
next_due(struct bus *b, uint64_t *at)
{
	struct bus_dev *best = NULL;
	size_t i;

	for (i = 0; i < b->ndevs; i++)
		if (best == NULL || b->devs[i].due_ms < best->due_ms)
			best = &b->devs[i];
	*at = best ? best->due_ms : NEVER;
	return best;
}

static void
decoded(struct bus *b, struct bus_dev *d, const struct modbus_op *ops,
    size_t nops)
{
	struct event ev[DECODED_MAX];
	struct result *r;
	char err[160], what[200];
	int n, i;

	memset(err, 0, sizeof(err));
	n = d->dev->driver->modbus->decode(d->dev, ops, nops, ev, DECODED_MAX,
	    err, sizeof(err));
	if (n < 0) {
		/* Not the device's fault, nor the line's: say it, not
		 * offline, and not at every poll. */
		if (log_ratelimit(&d->decode_warned_ms)) {
			snprintf(what, sizeof(what),
			    "its poll's reply makes no sense: %s",
			    err[0] ? err : "?");
			report_problem(b, d, what);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		r = result_new(RESULT_EVENT, d->dev, NULL);
		if (r != NULL)
			r->ev = ev[i];
		push(b->all, r);
	}
}

/*
 * The device whose poll is due, polled: false when none is.  Before each
 * of its transactions, the commands that wait go first: an open is
 * never behind more than the one transaction on the line.
 */
static bool
poll_step(struct bus *b)
{
	struct modbus_op ops[DRIVER_OPS_MAX];
	struct bus_dev *d;
	char what[160];
	uint64_t at, now = mono_ms();
	int n, k, err = 0;

	d = next_due(b, &at);
	if (d == NULL || at > now)
		return false;
	memset(ops, 0, sizeof(ops));
	n = d->dev->driver->modbus->poll(d->dev, ops, DRIVER_OPS_MAX);
	if (n <= 0) {
		d->due_ms = now + (n < 0 ? BUS_BACKOFF_CAP_MS : d->poll_ms);
		if (n < 0 && log_ratelimit(&d->decode_warned_ms)) {
			snprintf(what, sizeof(what),
			    "its driver needs more than %d reads to poll it",
			    DRIVER_OPS_MAX);
			report_problem(b, d, what);
		}
		return true;
	}
	for (k = 0; k < n && err == 0; k++) {
		while (command_step(b))
			;
		if (b->ctx == NULL || atomic_load(&b->stopping))
			return true;
		err = transact(b, d, &ops[k]);
	}
	account(b, d, err, &ops[err ? k - 1 : 0], true);
	if (err == 0)
		decoded(b, d, ops, (size_t)n);
	else
		recover(b, bus_fault_of(err));
	return true;
}

static void *
bus_run(void *arg)
{
	struct bus *b = arg;
	uint64_t at;
	bool kick;

	while (!atomic_load(&b->stopping)) {
		if (b->ctx == NULL) {
			pthread_mutex_lock(&b->mu);
			kick = b->kick;
			b->kick = false;
			pthread_mutex_unlock(&b->mu);
			if (kick || mono_ms() >= b->open_at)
				bus_open(b);
			else
				idle(b, b->open_at);
			continue;
		}
		if (command_step(b) || poll_step(b))
			continue;
		(void)next_due(b, &at);
		idle(b, at);
	}
	if (b->ctx != NULL) {
		modbus_close(b->ctx);
		modbus_free(b->ctx);
		b->ctx = NULL;
	}
	return NULL;
}

/* ---- the loop's side ---- */

/* The command's strings, copied into one block that cmd points into. */
static char *
copy_strings(struct command *cmd)
{
	const char **s[] = { &cmd->request, &cmd->reason, &cmd->display };
	size_t i, len[3], total = 1;
	char *block, *p;

	for (i = 0; i < 3; i++) {
		len[i] = *s[i] ? strlen(*s[i]) + 1 : 0;
		total += len[i];
	}
	block = malloc(total);
	if (block == NULL)
		return NULL;
	p = block;
	for (i = 0; i < 3; i++) {
		if (*s[i] == NULL)
			continue;
		memcpy(p, *s[i], len[i]);
		*s[i] = p;
		p += len[i];
	}
	*p = '\0';
	return block;
}

int
buses_command(struct buses *all, const struct device *dev,
    const struct command *cmd)
{
	struct bus_cmd c = { 0 }, *old;
	struct bus *b;
	bool fire;
	size_t i;

	if (all == NULL || dev->index >= all->ndevices ||
	    all->bus_of[dev->index] == NULL)
		return -1;
	b = all->bus_of[dev->index];
	c.dev = all->slot_of[dev->index];
	c.cmd = *cmd;
	if (c.cmd.at_ms == 0)
		c.cmd.at_ms = mono_ms();
	c.strings = copy_strings(&c.cmd);
	if (c.strings == NULL)
		return -1;

	pthread_mutex_lock(&b->mu);
	c.id = ++b->next_id;
	fire =
	    c.cmd.action == COMMAND_HOLD_OPEN || c.cmd.action == COMMAND_NORMAL;
	if (fire)
		b->devs[c.dev].held = c.cmd.action == COMMAND_HOLD_OPEN;
	for (i = 0; i < b->ncmds; i++) {
		old = &b->cmds[i];
		if (old->dev != c.dev ||
		    !bus_command_replaces(c.cmd.action, old->cmd.action))
			continue;
		if (old->busy) {
			old->superseded = true;
			continue;
		}
		/* The newer fire hold or release takes the older's place. */
		free(old->strings);
		*old = c;
		c.strings = NULL;
		break;
	}
	if (c.strings != NULL && fire && b->ncmds < b->cmds_cap) {
		/* Ahead of every command waiting: the fire release is the
		 * next transaction on this bus, and has a place of its own
		 * however full the queue is. */
		memmove(&b->cmds[1], &b->cmds[0],
		    b->ncmds * sizeof(b->cmds[0]));
		b->cmds[0] = c;
		b->ncmds++;
	} else if (c.strings != NULL) {
		if (b->ncmds >= (fire ? b->cmds_cap : QUEUE_MAX)) {
			pthread_mutex_unlock(&b->mu);
			free(c.strings);
			return -1;
		}
		b->cmds[b->ncmds++] = c;
	}
	b->kick = true;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->mu);
	return 0;
}

static int
bus_init(struct buses *all, struct bus *b, const struct bus_config *bc,
    const struct config *cfg)
{
	pthread_condattr_t attr;
	struct modbus_address a;
	struct bus_dev *d;
	uint64_t now = mono_ms();
	size_t i;
	int rc;

	b->all = all;
	b->cfg = bc;
	b->seed = (unsigned)now ^ (unsigned)(uintptr_t)b;
	for (i = 0; i < cfg->ndevices; i++) {
		const struct device *dev = cfg->devices[i];

		if (dev->driver->modbus == NULL)
			continue;
		memset(&a, 0, sizeof(a));
		dev->driver->modbus->address(dev, &a);
		if (a.bus == NULL || strcmp(a.bus, bc->name) != 0)
			continue;
		d = realloc(b->devs, (b->ndevs + 1) * sizeof(*d));
		if (d == NULL)
			return -1;
		b->devs = d;
		d = &b->devs[b->ndevs];
		memset(d, 0, sizeof(*d));
		d->dev = dev;
		d->unit = a.unit;
		d->poll_ms =
		    a.poll_ms < 0 ? (uint64_t)bc->poll_ms : (uint64_t)a.poll_ms;
		d->due_ms = d->poll_ms ? now : NEVER;
		bus_health_init(&d->health);
		if (dev->index < all->ndevices) {
			all->bus_of[dev->index] = b;
			all->slot_of[dev->index] = b->ndevs;
		}
		b->ndevs++;
	}
	if (b->ndevs == 0)
		return 0;
	/* One hold or normal waiting per device, and one being carried
	 * out that a newer one superseded. */
	b->cmds_cap = QUEUE_MAX + b->ndevs + 1;
	b->cmds = calloc(b->cmds_cap, sizeof(*b->cmds));
	if (b->cmds == NULL)
		return -1;
	if (pthread_mutex_init(&b->mu, NULL) != 0)
		return -1;
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	/* Timers on the monotonic clock: a clock step must not stall them. */
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&b->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_destroy(&b->mu);
		return -1;
	}
	atomic_init(&b->stopping, false);
	if (pthread_create(&b->thread, NULL, bus_run, b) != 0) {
		pthread_cond_destroy(&b->wake);
		pthread_mutex_destroy(&b->mu);
		return -1;
	}
	b->started = true;
	return 0;
}

static void
buses_free(struct buses *all)
{
	struct result *r;
	struct bus *b;
	size_t i, j;

	while ((r = all->head) != NULL) {
		all->head = r->next;
		free(r->strings);
		free(r);
	}
	for (i = 0; i < all->n; i++) {
		b = &all->v[i];
		for (j = 0; j < b->ncmds; j++)
			free(b->cmds[j].strings);
		if (b->started) {
			pthread_cond_destroy(&b->wake);
			pthread_mutex_destroy(&b->mu);
		}
		free(b->devs);
		free(b->cmds);
	}
	pthread_mutex_destroy(&all->mu);
	free(all->v);
	free(all->bus_of);
	free(all->slot_of);
	free(all);
}

static void
on_closed(uv_handle_t *h)
{
	buses_free(h->data);
}

/* Every thread told first, then joined: they stop side by side. */
static void
stop_threads(struct buses *all)
{
	struct bus *b;
	size_t i;

	for (i = 0; i < all->n; i++) {
		b = &all->v[i];
		if (!b->started)
			continue;
		pthread_mutex_lock(&b->mu);
		atomic_store(&b->stopping, true);
		pthread_cond_signal(&b->wake);
		pthread_mutex_unlock(&b->mu);
	}
	for (i = 0; i < all->n; i++)
		if (all->v[i].started)
			pthread_join(all->v[i].thread, NULL);
}

struct buses *
buses_start(uv_loop_t *loop, const struct config *cfg,
    const struct bus_callbacks *cb)
{
	struct buses *all = calloc(1, sizeof(*all));
	size_t i;

	if (all == NULL)
		return NULL;
	if (pthread_mutex_init(&all->mu, NULL) != 0) {
		free(all);
		return NULL;
	}
	all->loop = loop;
	all->cb = *cb;
	all->ndevices = cfg->ndevices;
	all->bus_of = calloc(cfg->ndevices + 1, sizeof(*all->bus_of));
	all->slot_of = calloc(cfg->ndevices + 1, sizeof(*all->slot_of));
	all->v = calloc(cfg->nbuses + 1, sizeof(*all->v));
	if (all->bus_of == NULL || all->slot_of == NULL || all->v == NULL ||
	    uv_async_init(loop, &all->async, on_async) < 0) {
		buses_free(all);
		return NULL;
	}
	all->async.data = all;
	for (i = 0; i < cfg->nbuses; i++) {
		all->n = i + 1;
		if (bus_init(all, &all->v[i], cfg->buses[i], cfg) < 0) {
			log_errx("bus %s: cannot start its thread",
			    cfg->buses[i]->name);
			buses_stop(all);
			return NULL;
		}
	}
	return all;
}

void
buses_stop(struct buses *all)
{
	if (all == NULL)
		return;
	stop_threads(all);
	/* What the threads found last is dropped with the handle. */
	uv_close((uv_handle_t *)&all->async, on_closed);
}
