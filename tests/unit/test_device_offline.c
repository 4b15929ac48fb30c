/*
 * test_device_offline.c - a device of any class offline for longer than
 * [alert device_offline] grace_s is one device_offline alert (pipeline.c):
 * gates, plate cameras, barriers, charging points, meters, cameras and
 * fire devices alike; one offline at start, or never heard from, too; a
 * fire device urgent whatever the type's severity; one that nothing
 * could say is online (a Frigate, a relay barrier never polled) not at
 * start.  The journal and the
 * outbox are stubs that keep what the pipeline hands them
 * (pipeline_stubs.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include "compound.h"
#include "pipeline_stubs.h"

#include "config.h"
#include "driver.h"
#include "pipeline.h"
#include "state.h"
#include "util.h"

static const char gateway_ini[] = "[gateway]\n"
                                  "site = test\n"
                                  "data_dir = data\n"
                                  "access_dir = access.d\n"
                                  "[alert device_offline]\n"
                                  "grace_s = 60\n"
                                  "[bus rs485-1]\n"
                                  "type = tcp\n"
                                  "host = 127.0.0.1\n"
                                  "[device gate-north]\n"
                                  "driver = face_gate\n"
                                  "[device lpr-in]\n"
                                  "driver = lpr\n"
                                  "[device barrier-in]\n"
                                  "driver = barrier_relay\n"
                                  "bus = rs485-1\n"
                                  "unit = 1\n"
                                  "coil = 0\n"
                                  "lane = in\n"
                                  "camera = lpr-in\n"
                                  "[device barrier-out]\n"
                                  "driver = barrier_relay\n"
                                  "bus = rs485-1\n"
                                  "unit = 3\n"
                                  "coil = 1\n"
                                  "lane = out\n"
                                  "[device charger-a]\n"
                                  "driver = charger\n"
                                  "bus = rs485-1\n"
                                  "unit = 2\n"
                                  "ports = 2\n"
                                  "[device meter-a]\n"
                                  "driver = sdm_meter\n"
                                  "bus = rs485-1\n"
                                  "unit = 5\n"
                                  "[device fire-net]\n"
                                  "driver = fire_mqtt\n"
                                  "[device cam-1]\n"
                                  "driver = camera\n"
                                  "[device nvr]\n"
                                  "driver = frigate\n"
                                  "map = person@roof:intrusion\n";

static const char access_ini[] = "[group resident]\n"
                                 "gates = *\n"
                                 "hours = always\n";

static struct pipeline p;
static struct config *cfg;
static struct access_tables *tables;

static int
setup(void **state)
{
	(void)state;
	stub_refuse_now = stub_refuse_queued = true;
	return compound_start("test_device_offline", gateway_ini, access_ini,
	    &cfg, &tables, NULL);
}

static int
teardown(void **state)
{
	(void)state;
	return compound_stop(cfg, tables, NULL);
}

static int
fresh(void **state)
{
	(void)state;
	if (stub_pipeline_fresh(&p, cfg, tables) < 0)
		return -1;
	return charging_start(&p) == 0 ? 0 : -1;
}

static const struct device *
device(const char *id)
{
	const struct device *dev = config_device(cfg, id);

	assert_non_null(dev);
	return dev;
}

/* The offline_alert of device among what was seen, or nseen. */
static size_t
alert_of(const char *id)
{
	size_t i;

	for (i = 0; i < nseen; i++)
		if (seen[i].type == SEEN_RECORD &&
		    strcmp(seen_member(i, "decision"), "offline_alert") == 0 &&
		    strcmp(seen_member(i, "device"), id) == 0)
			return i;
	return nseen;
}

static size_t
alerts(void)
{
	size_t i, n = 0;

	for (i = 0; i < nseen; i++)
		n += seen[i].type == SEEN_RECORD &&
		    strcmp(seen_member(i, "decision"), "offline_alert") == 0;
	return n;
}

static void
test_not_online_at_start(void **state)
{
	int64_t t0 = now_ms();
	size_t i;

	(void)state;
	pipeline_online(&p, device("gate-north"), true, "device online");
	pipeline_online(&p, device("barrier-in"), false, "no answer");
	pipeline_tick(&p, t0, false);
	pipeline_tick(&p, t0 + 59 * 1000, false);
	assert_int_equal(alerts(), 0);
	seen_forget();
	pipeline_tick(&p, t0 + 61 * 1000, false);
	/* All but the gate that answered, the Frigate (no status of its
	 * own, judged only once someone published one) and the relay
	 * barrier without a loop (never polled: heard from only when
	 * commanded). */
	assert_int_equal(alerts(), 6);
	assert_int_equal(alert_of("gate-north"), nseen);
	assert_int_equal(alert_of("nvr"), nseen);
	assert_int_equal(alert_of("barrier-out"), nseen);

	i = alert_of("barrier-in");
	assert_true(i < nseen);
	assert_string_equal(seen_member(i, "kind"), "device");
	assert_string_equal(seen_member(i, "alert"), "device_offline");
	assert_string_equal(seen_member(i, "severity"), "major");
	assert_string_equal(seen_member(i, "suppressed"), "false");
	assert_string_equal(seen_member(i, "reason"),
	    "offline for more than 60 s");

	i = alert_of("lpr-in");
	assert_true(i < nseen);
	assert_string_equal(seen_member(i, "alert"), "device_offline");
	assert_string_equal(seen_member(i, "reason"),
	    "not online within 60 s of start");
	assert_true(alert_of("charger-a") < nseen);
	assert_true(alert_of("meter-a") < nseen);
	assert_true(alert_of("cam-1") < nseen);
	/* A fire device is urgent, whatever device_offline's severity. */
	i = alert_of("fire-net");
	assert_true(i < nseen);
	assert_string_equal(seen_member(i, "severity"), "urgent");

	/* Once. */
	seen_forget();
	pipeline_tick(&p, t0 + 600 * 1000, false);
	assert_int_equal(alerts(), 0);
}

static void
test_gone_offline(void **state)
{
	int64_t t0 = now_ms();
	size_t i;

	(void)state;
	for (i = 0; i < cfg->ndevices; i++)
		pipeline_online(&p, cfg->devices[i], true, "device online");
	pipeline_tick(&p, t0, false);
	pipeline_online(&p, device("gate-north"), false, "device offline");
	assert_string_equal(seen_member(seen_last(SEEN_RECORD), "decision"),
	    "offline");
	/* A reboot: back within the grace. */
	pipeline_online(&p, device("charger-a"), false, "no answer");
	pipeline_online(&p, device("charger-a"), true, "answers");
	seen_forget();
	pipeline_tick(&p, t0 + 59 * 1000, false);
	assert_int_equal(alerts(), 0);
	pipeline_tick(&p, t0 + 61 * 1000, false);
	assert_int_equal(alerts(), 1);
	i = alert_of("gate-north");
	assert_true(i < nseen);
	assert_string_equal(seen_member(i, "alert"), "device_offline");
	assert_string_equal(seen_member(i, "reason"),
	    "offline for more than 60 s");
	/* Back and gone again within the cool-down: journaled, held. */
	pipeline_online(&p, device("gate-north"), true, "device online");
	pipeline_online(&p, device("gate-north"), false, "device offline");
	seen_forget();
	pipeline_tick(&p, t0 + 200 * 1000, false);
	i = alert_of("gate-north");
	assert_true(i < nseen);
	assert_string_equal(seen_member(i, "suppressed"), "true");
	assert_string_equal(seen_member(i, "alert"), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_not_online_at_start, fresh,
		    stub_done),
		cmocka_unit_test_setup_teardown(test_gone_offline, fresh,
		    stub_done),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
