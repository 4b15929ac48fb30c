/*
 * test_outbox.c - commit-then-act: commands wait for their journal batch
 * and leave in order, encoded when they leave; a barrier's open that
 * would leave more than 2 s after its decision is dropped instead.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "driver.h"
#include "outbox.h"
#include "util.h"

static char topics[8][128];
static size_t npublished, nlate;

static int
publish(void *arg, const char *topic, const void *payload, size_t len, int qos,
    bool retain)
{
	(void)arg;
	(void)payload;
	(void)len;
	(void)qos;
	(void)retain;
	str_copy(topics[npublished++ % 8], topic, sizeof(topics[0]));
	return 0;
}

static void
late(void *arg, const struct device *dev, const struct command *cmd)
{
	(void)arg;
	assert_string_equal(dev->id, "barrier-in");
	assert_string_equal(cmd->request, "req-late");
	nlate++;
}

static struct device barrier, gate;
static struct barrier_settings barrier_priv;
static struct gate_settings gate_priv;

static void
device(struct device *dev, const char *id, const char *driver, void *priv)
{
	dev->id = (char *)id;
	dev->driver = driver_find(driver);
	assert_non_null(dev->driver);
	dev->priv = priv;
	dev->driver->defaults(priv);
}

static void
test_late_open_dropped(void **state)
{
	const struct outbox_sinks sinks = { .publish = publish, .late = late };
	struct outbox *o = outbox_new(&sinks, "cg/jinding-5");
	struct command open = { .action = COMMAND_OPEN, .request = "req-late" };

	(void)state;
	device(&barrier, "barrier-in", "barrier_mqtt", &barrier_priv);
	device(&gate, "gate-north", "face_gate", &gate_priv);
	npublished = nlate = 0;

	/* Decided 2.5 s ago and its batch only now committed: dropped. */
	open.at_ms = mono_ms() - 2500;
	outbox_command(o, 1, &barrier, &open);
	/* A gate's answer has no such limit. */
	outbox_command(o, 1, &gate, &open);
	/* Decided now: it goes, behind its batch. */
	open.at_ms = mono_ms();
	open.request = "req-now";
	outbox_command(o, 2, &barrier, &open);
	outbox_release(o, 1);
	assert_int_equal(nlate, 1);
	assert_int_equal(npublished, 1);
	assert_string_equal(topics[0], "cg/jinding-5/gate/gate-north/cmd");
	assert_int_equal(outbox_pending(o), 1);
	outbox_release(o, 2);
	assert_int_equal(npublished, 2);
	assert_string_equal(topics[1], "cg/jinding-5/barrier/barrier-in/cmd");
	assert_int_equal(nlate, 1);
	assert_int_equal(outbox_unsent(o), 0);
	outbox_free(o);
}

static bool holding;

static bool
held(void *arg)
{
	(void)arg;
	return holding;
}

/* An open queued before the fire release held everything is not sent
 * to a barrier after it (it could end the hold); the hold itself, and a
 * gate's answer, are. */
static void
test_open_to_held_barrier_not_sent(void **state)
{
	const struct outbox_sinks sinks = { .publish = publish,
		.late = late,
		.held = held };
	struct outbox *o = outbox_new(&sinks, "cg/jinding-5");
	struct command open = { .action = COMMAND_OPEN, .request = "req-1" };
	struct command hold = { .action = COMMAND_HOLD_OPEN };

	(void)state;
	device(&barrier, "barrier-in", "barrier_mqtt", &barrier_priv);
	device(&gate, "gate-north", "face_gate", &gate_priv);
	npublished = nlate = 0;
	open.at_ms = mono_ms();
	outbox_command(o, 1, &barrier, &open);
	outbox_command(o, 1, &gate, &open);
	holding = true;
	outbox_command_now(o, &barrier, &hold);
	assert_int_equal(npublished, 1);
	assert_string_equal(topics[0], "cg/jinding-5/barrier/barrier-in/cmd");
	outbox_release(o, 1);
	assert_int_equal(npublished, 2);
	assert_string_equal(topics[1], "cg/jinding-5/gate/gate-north/cmd");
	assert_int_equal(nlate, 0);
	/* Released: opens go again. */
	holding = false;
	outbox_command(o, 2, &barrier, &open);
	outbox_release(o, 2);
	assert_int_equal(npublished, 3);
	assert_string_equal(topics[2], "cg/jinding-5/barrier/barrier-in/cmd");
	outbox_free(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_late_open_dropped),
		cmocka_unit_test(test_open_to_held_barrier_not_sent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
