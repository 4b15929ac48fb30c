/*
 * test_config.c - gateway.ini: defaults, every key, devices handed to
 * their driver, paths resolved against the file, the password file, and
 * the exact file:line text of every kind of problem.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

#include "config.h"
#include "diag.h"
#include "driver.h"

/* Load name; problems (sorted, printed) into *problems, never NULL. */
static struct config *
load(const char *name, char **problems)
{
	struct config *c;
	struct diag d;
	size_t len;
	FILE *f;

	diag_init(&d);
	c = config_load(name, &d);
	diag_sort(&d);
	*problems = NULL;
	f = open_memstream(problems, &len);
	assert_non_null(f);
	diag_print(f, &d);
	fclose(f);
	/* A config comes back exactly when nothing is wrong. */
	assert_true((c != NULL) == (d.n == 0));
	diag_free(&d);
	return c;
}

static struct config *
load_ok(const char *name)
{
	char *problems;
	struct config *c = load(name, &problems);

	if (c == NULL)
		fail_msg("%s", problems);
	free(problems);
	return c;
}

static void
expect_problems(const char *name, const char *text, const char *want)
{
	char *problems;

	scratch_write(name, text);
	assert_null(load(name, &problems));
	assert_string_equal(problems, want);
	free(problems);
}

static int
setup(void **state)
{
	(void)state;
	if (scratch_enter("test_config") < 0)
		return -1;
	return mkdir("etc", 0700);
}

static int
teardown(void **state)
{
	(void)state;
	return scratch_leave();
}

#define MINIMAL                                                                \
	"[gateway]\nsite = jinding-5\ndata_dir = data\n"                       \
	"access_dir = access.d\n"

static void
test_defaults(void **state)
{
	struct config *c;

	(void)state;
	scratch_write("min.ini", MINIMAL);
	c = load_ok("min.ini");
	assert_string_equal(c->path, "min.ini");
	assert_string_equal(c->site, "jinding-5");
	assert_string_equal(c->name, "jinding-5");
	assert_string_equal(c->timezone, "Asia/Shanghai");
	/* No directory part: paths as written. */
	assert_string_equal(c->data_dir, "data");
	assert_string_equal(c->access_dir, "access.d");
	assert_int_equal(c->sync, CONFIG_SYNC_NORMAL);
	assert_int_equal(c->check_ts, CONFIG_CHECK_TS_AUTO);
	assert_int_equal(c->stale_s, 30);
	assert_string_equal(c->mqtt_host, "127.0.0.1");
	assert_int_equal(c->mqtt_port, 1883);
	assert_string_equal(c->mqtt_client_id, "cg-jinding-5");
	assert_null(c->mqtt_username);
	assert_null(c->mqtt_password);
	assert_string_equal(c->topic_prefix, "cg/jinding-5");
	assert_int_equal(c->mqtt_keepalive, 30);
	assert_int_equal(c->max_payload, 4096);
	assert_false(c->keep_snapshots);
	assert_int_equal(c->ndevices, 0);
	assert_int_equal(config_count_class(c, DEVICE_GATE), 0);
	assert_null(config_device(c, "gate-north"));
	config_free(c);
	config_free(NULL);
}

static void
test_every_key(void **state)
{
	struct config *c;

	(void)state;
	scratch_write("etc/full.ini",
	    "; every key\n"
	    "[gateway]\n"
	    "site = a_b-9\n"
	    "name = 金鼎5栋楼 ; the compound\n"
	    "timezone = Europe/Berlin\n"
	    "data_dir = /var/lib/cg\n"
	    "access_dir = access.d\n"
	    "sync = full\n"
	    "check_ts = no\n"
	    "stale_s = 3600\n"
	    "[mqtt]\n"
	    "host = broker.lan\n"
	    "port = 65535\n"
	    "client_id = gw-1\n"
	    "topic_prefix = site/a\n"
	    "keepalive = 5\n"
	    "max_payload = 1048576\n"
	    "[privacy]\n"
	    "keep_snapshots = yes\n");
	c = load_ok("etc/full.ini");
	assert_string_equal(c->site, "a_b-9");
	assert_string_equal(c->name, "金鼎5栋楼");
	assert_string_equal(c->timezone, "Europe/Berlin");
	assert_string_equal(c->data_dir, "/var/lib/cg");
	/* Relative to gateway.ini's directory, by simple joining. */
	assert_string_equal(c->access_dir, "etc/access.d");
	assert_int_equal(c->sync, CONFIG_SYNC_FULL);
	assert_int_equal(c->check_ts, CONFIG_CHECK_TS_NO);
	assert_int_equal(c->stale_s, 3600);
	assert_string_equal(c->mqtt_host, "broker.lan");
	assert_int_equal(c->mqtt_port, 65535);
	assert_string_equal(c->mqtt_client_id, "gw-1");
	assert_string_equal(c->topic_prefix, "site/a");
	assert_int_equal(c->mqtt_keepalive, 5);
	assert_int_equal(c->max_payload, 1048576);
	assert_true(c->keep_snapshots);
	config_free(c);

	scratch_write("etc/two.ini",
	    "[gateway]\nsite = s\ndata_dir = ../d\n"
	    "access_dir = /abs/access.d\ncheck_ts = yes\nsync = normal\n"
	    "stale_s = 1\n[privacy]\nkeep_snapshots = no\n");
	c = load_ok("etc/two.ini");
	assert_string_equal(c->data_dir, "etc/../d");
	assert_string_equal(c->access_dir, "/abs/access.d");
	assert_int_equal(c->check_ts, CONFIG_CHECK_TS_YES);
	assert_int_equal(c->stale_s, 1);
	config_free(c);

	/* An absolute gateway.ini path. */
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/etc/two.ini", scratch_dir);
		c = load_ok(path);
		snprintf(path, sizeof(path), "%s/etc/../d", scratch_dir);
		assert_string_equal(c->data_dir, path);
		config_free(c);
	}
}

static void
test_notepad(void **state)
{
	struct config *c;

	(void)state;
	scratch_write("notepad.ini",
	    "\xef\xbb\xbf; 记事本\r\n"
	    "[gateway]\r\n"
	    "site = jinding-5\r\n"
	    "name = 金鼎5栋楼\r\n"
	    "data_dir = data\r\n"
	    "access_dir = access.d\r\n"
	    "\r\n"
	    "[device gate-north]\r\n"
	    "driver = face_gate\r\n"
	    "zone = 北门\r\n");
	c = load_ok("notepad.ini");
	assert_string_equal(c->name, "金鼎5栋楼");
	assert_string_equal(c->access_dir, "access.d");
	assert_int_equal(c->ndevices, 1);
	assert_string_equal(device_gate(c->devices[0])->zone, "北门");
	assert_int_equal(c->devices[0]->line, 8);
	config_free(c);
}

/* The installer's comments after a value, " ;" or " #", are not in it. */
static void
test_inline_comments(void **state)
{
	struct config *c;

	(void)state;
	scratch_write("comments.ini",
	    "[gateway]\n"
	    "site = jinding-5  # 5号楼\n"
	    "name = 金鼎#5栋 # the # in it stays\n"
	    "data_dir = data ; 数据\n"
	    "access_dir = access.d\t# 门禁表\n"
	    "[mqtt]\n"
	    "port = 1884 # not 1883\n"
	    "[device gate-north] # 北门\n"
	    "driver = face_gate # 人脸\n"
	    "direction = in # 只进\n");
	c = load_ok("comments.ini");
	assert_string_equal(c->site, "jinding-5");
	assert_string_equal(c->name, "金鼎#5栋");
	assert_string_equal(c->data_dir, "data");
	assert_string_equal(c->access_dir, "access.d");
	assert_int_equal(c->mqtt_port, 1884);
	assert_int_equal(c->ndevices, 1);
	assert_int_equal(device_gate(c->devices[0])->direction, DIRECTION_IN);
	config_free(c);
}

static void
test_devices(void **state)
{
	const struct gate_settings *g;
	const struct device *d;
	struct config *c;

	(void)state;
	scratch_write("dev.ini",
	    MINIMAL "[device gate-north]\n" /* 5 */
	            "driver = face_gate\n"
	            "zone = north\n"
	            "direction = in\n"
	            "min_score = 0.91\n"
	            "open_ms = 5000\n"
	            "\n"
	            "[device gate-south]\n" /* 12 */
	            "driver = face_gate\n");
	c = load_ok("dev.ini");
	assert_int_equal(c->ndevices, 2);
	assert_int_equal(config_count_class(c, DEVICE_GATE), 2);
	assert_int_equal(config_count_class(c, 99), 0);
	d = config_device(c, "gate-north");
	assert_ptr_equal(d, c->devices[0]);
	assert_string_equal(d->id, "gate-north");
	assert_string_equal(d->driver->name, "face_gate");
	assert_int_equal(d->index, 0);
	assert_string_equal(d->file, "dev.ini");
	assert_int_equal(d->line, 5);
	g = device_gate(d);
	assert_non_null(g);
	assert_string_equal(g->zone, "north");
	assert_int_equal(g->direction, DIRECTION_IN);
	assert_true(g->min_score > 0.909 && g->min_score < 0.911);
	assert_int_equal(g->open_ms, 5000);
	d = config_device(c, "gate-south");
	assert_int_equal(d->index, 1);
	assert_int_equal(d->line, 12);
	/* The driver's own defaults. */
	g = device_gate(d);
	assert_null(g->zone);
	assert_int_equal(g->direction, DIRECTION_BOTH);
	assert_true(g->min_score > 0.79 && g->min_score < 0.81);
	assert_null(config_device(c, "gate"));
	config_free(c);
}

static void
test_password(void **state)
{
	char *problems;
	struct config *c;

	(void)state;
	scratch_write("etc/pw", "s3cret-Pw\r\nsecond line\n");
	assert_int_equal(chmod("etc/pw", 0600), 0);
	scratch_write("etc/pw.ini",
	    MINIMAL "[mqtt]\nusername = gw\npassword_file = pw\n");
	c = load_ok("etc/pw.ini");
	assert_string_equal(c->mqtt_username, "gw");
	assert_string_equal(c->mqtt_password, "s3cret-Pw");
	config_free(c);

	/* Readable by others: refused, and the password is never shown. */
	assert_int_equal(chmod("etc/pw", 0644), 0);
	assert_null(load("etc/pw.ini", &problems));
	assert_string_equal(problems,
	    "etc/pw.ini:7: password_file etc/pw must not be "
	    "accessible to others (chmod o-rwx etc/pw)\n");
	assert_null(strstr(problems, "s3cret"));
	free(problems);
	assert_int_equal(chmod("etc/pw", 0601), 0);
	assert_null(load("etc/pw.ini", &problems));
	assert_null(strstr(problems, "s3cret"));
	free(problems);

	expect_problems("etc/nopw.ini",
	    MINIMAL "[mqtt]\nusername = gw\npassword_file = /nonexistent/pw\n",
	    "etc/nopw.ini:7: password_file /nonexistent/pw: No such file "
	    "or directory\n");
	/* A password needs a user name to go with it. */
	assert_int_equal(chmod("etc/pw", 0640), 0);
	expect_problems("etc/nouser.ini",
	    MINIMAL "[mqtt]\npassword_file = pw\n",
	    "etc/nouser.ini:6: password_file needs a username\n");
	expect_problems("etc/dirpw.ini",
	    MINIMAL "[mqtt]\nusername = u\npassword_file = .\n",
	    "etc/dirpw.ini:7: password_file etc/. is not a regular file\n");
}

static void
test_gateway_problems(void **state)
{
	(void)state;
	expect_problems("g.ini",
	    "[gateway]\n" /* 1 */
	    "site = Jinding 5\n"
	    "timezone = Mars/Olympus\n"
	    "sync = sometimes\n"
	    "check_ts = maybe\n" /* 5 */
	    "stale_s = 0\n"
	    "access_dir = a\n"
	    "data_dir = d\n"
	    "colour = blue\n"
	    "site = again\n" /* 10 */
	    "name =\n"
	    "[mqtt]\n"
	    "port = 70000\n"
	    "keepalive = abc\n"
	    "max_payload = 100\n" /* 15 */
	    "topic_prefix = cg/#\n"
	    "foo = bar\n"
	    "port = 1883x\n"
	    "[privacy]\n"
	    "keep_snapshots = maybe\n" /* 20 */
	    "[mqtt]\n"
	    "[gateway x]\n",
	    "g.ini:2: bad site 'Jinding 5' (a-z, 0-9, '_' and '-', at most "
	    "32)\n"
	    "g.ini:3: unknown timezone 'Mars/Olympus' (not in "
	    "/usr/share/zoneinfo)\n"
	    "g.ini:4: bad sync 'sometimes' (normal or full)\n"
	    "g.ini:5: bad check_ts 'maybe' (auto, yes or no)\n"
	    "g.ini:6: bad stale_s '0' (an integer from 1 to 3600)\n"
	    "g.ini:9: unknown key 'colour' in [gateway]\n"
	    "g.ini:10: duplicate key 'site' in [gateway] (first at "
	    "g.ini:2)\n"
	    "g.ini:11: no value for 'name'\n"
	    "g.ini:13: bad port '70000' (an integer from 1 to 65535)\n"
	    "g.ini:14: bad keepalive 'abc' (an integer from 5 to 3600)\n"
	    "g.ini:15: bad max_payload '100' (an integer from 256 to "
	    "1048576)\n"
	    "g.ini:16: bad topic_prefix 'cg/#' (no '+' or '#', no '/' at "
	    "the end)\n"
	    "g.ini:17: unknown key 'foo' in [mqtt]\n"
	    "g.ini:18: duplicate key 'port' in [mqtt] (first at g.ini:13)\n"
	    "g.ini:20: bad keep_snapshots 'maybe' (yes or no)\n"
	    "g.ini:21: duplicate section [mqtt] (first at g.ini:12)\n"
	    "g.ini:22: section [gateway] takes no name\n");

	/* Numbers are checked whole: no atoi leniency. */
	expect_problems("n.ini",
	    MINIMAL "[mqtt]\nport = 0x50\nkeepalive = 30 s\nmax_payload = "
	            "99999999999999999999\n",
	    "n.ini:6: bad port '0x50' (an integer from 1 to 65535)\n"
	    "n.ini:7: bad keepalive '30 s' (an integer from 5 to 3600)\n"
	    "n.ini:8: bad max_payload '99999999999999999999' (an integer "
	    "from 256 to 1048576)\n");
	expect_problems("tz.ini", MINIMAL "timezone = ../../../etc/passwd\n",
	    "tz.ini:5: unknown timezone '../../../etc/passwd' (not "
	    "in /usr/share/zoneinfo)\n");
	expect_problems("tzdir.ini", MINIMAL "timezone = Asia\n",
	    "tzdir.ini:5: unknown timezone 'Asia' (not in "
	    "/usr/share/zoneinfo)\n");
}

static void
test_sections(void **state)
{
	(void)state;
	expect_problems("s.ini",
	    "[gateway]\n" /* 1 */
	    "name = x\n"
	    "[office]\n"
	    "url = https://example.com\n"
	    "[uplink]\n" /* 5 */
	    "[wechat]\n"
	    "[parking]\n"
	    "[bus rs485-1]\n"
	    "type = rtu\n"
	    "[frobnicate]\n" /* 10 */
	    "x = 1\n"
	    "[gateway]\n",
	    "s.ini:1: missing key 'site' in [gateway]\n"
	    "s.ini:1: missing key 'data_dir' in [gateway]\n"
	    "s.ini:1: missing key 'access_dir' in [gateway]\n"
	    "s.ini:3: missing key 'token_file' in [office]\n"
	    "s.ini:5: missing key 'host' in [uplink]\n"
	    "s.ini:6: missing key 'webhook_key_file' in [wechat] (the "
	    "file that holds the robot's key)\n"
	    "s.ini:8: bus rs485-1: missing key 'port' (the serial device, "
	    "/dev/ttyUSB0)\n"
	    "s.ini:10: unknown section [frobnicate]\n"
	    "s.ini:12: duplicate section [gateway] (first at s.ini:1)\n");
	expect_problems("none.ini", "[mqtt]\nhost = x\n",
	    "none.ini: missing section [gateway]\n");
	expect_problems("empty.ini", "",
	    "empty.ini: missing section [gateway]\n");
	/* A file that cannot be read says only that. */
	{
		char *problems;

		assert_null(load("nonexistent.ini", &problems));
		assert_string_equal(problems,
		    "nonexistent.ini: No such file or directory\n");
		free(problems);
	}
	/* A line that cannot be read may hold the key that seems missing. */
	expect_problems("damaged.ini",
	    "[gateway]\nsite = \xff\ndata_dir = d\naccess_dir = a\n",
	    "damaged.ini:2: not valid UTF-8\n");
}

static void
test_device_problems(void **state)
{
	(void)state;
	expect_problems("d.ini",
	    MINIMAL "[device gate-north]\n" /* 5 */
	            "zone = north\n"
	            "driver = face_gate\n"
	            "[device gate-south]\n"
	            "driver = face_gaet\n"
	            "zone = south\n" /* 10 */
	            "[device gate-east]\n"
	            "driver = face_gate\n"
	            "min_score = 2\n"
	            "direction = sideways\n"
	            "colour = red\n" /* 15 */
	            "driver = face_gate\n"
	            "[device gate-east]\n"
	            "driver = face_gate\n"
	            "[device Gate_West]\n"
	            "driver = face_gate\n" /* 20 */
	            "[device]\n"
	            "[device gate-x]\n"
	            "[device gate-y]\n"
	            "driver =\n"
	            "zone = north\n" /* said once: no value for 'driver' */
	            "[device a123456789b123456789c123456789d12]\n", /* 26 */
	    "d.ini:6: 'driver' must be the first key in [device "
	    "gate-north]\n"
	    "d.ini:9: unknown driver 'face_gaet'\n"
	    "d.ini:13: device gate-east: bad min_score '2' (a number from 0 "
	    "to 1)\n"
	    "d.ini:14: device gate-east: bad direction 'sideways' (in, out "
	    "or both)\n"
	    "d.ini:15: device gate-east: unknown key 'colour' for driver "
	    "face_gate\n"
	    "d.ini:16: duplicate key 'driver' in [device gate-east] (first "
	    "at d.ini:12)\n"
	    "d.ini:17: duplicate device gate-east (first at d.ini:11)\n"
	    "d.ini:19: bad device id 'Gate_West' (a-z, 0-9, '_' and '-', "
	    "at most 32)\n"
	    "d.ini:21: section [device] needs an id: [device ID]\n"
	    "d.ini:22: missing key 'driver' in [device gate-x]\n"
	    "d.ini:24: no value for 'driver'\n"
	    "d.ini:26: bad device id 'a123456789b123456789c123456789d12' "
	    "(a-z, 0-9, '_' and '-', at most 32)\n");
}

/* [alert TYPE]: every type has a default; a section changes its own. */
static void
test_alerts(void **state)
{
	const struct alert_settings *a;
	struct config *c;
	size_t i;

	(void)state;
	scratch_write("alerts.ini",
	    MINIMAL "[alert falling_object]\n"
	            "cooldown_s = 30\n"
	            "min_score = 0.7\n"
	            "[alert crowd]\n"
	            "severity = none\n"
	            "[alert device_offline]\n"
	            "grace_s = 5\n"
	            "severity = urgent\n"
	            "[alert vehicle_unknown]\n"
	            "cooldown_s = 0\n");
	c = load_ok("alerts.ini");
	a = config_alert(c, "falling_object");
	assert_int_equal(a->severity, ALERT_URGENT); /* its default kept */
	assert_int_equal(a->cooldown_s, 30);
	assert_true(a->min_score > 0.699 && a->min_score < 0.701);
	assert_int_equal(config_alert(c, "crowd")->severity, ALERT_NONE);
	a = config_alert(c, "device_offline");
	assert_int_equal(a->grace_s, 5);
	assert_int_equal(a->severity, ALERT_URGENT);
	assert_int_equal(config_alert(c, "vehicle_unknown")->cooldown_s, 0);
	/* The defaults: fire, smoke and falling objects are urgent. */
	a = config_alert(c, "fire");
	assert_int_equal(a->severity, ALERT_URGENT);
	assert_int_equal(a->cooldown_s, 300);
	assert_int_equal(config_alert(c, "smoke")->severity, ALERT_URGENT);
	a = config_alert(c, "ebike_in_elevator");
	assert_int_equal(a->severity, ALERT_MAJOR);
	assert_true(a->min_score > 0.499 && a->min_score < 0.501);
	assert_int_equal(config_alert(c, "reload_failed")->severity,
	    ALERT_MINOR);
	assert_int_equal(config_alert(c, "journal_full")->severity,
	    ALERT_URGENT);
	assert_null(config_alert(c, "nonsense"));
	assert_null(config_alert(c, ""));
	/* Every camera type is an alert type with a minimum score. */
	for (i = 0; i < CAMERA_TYPES; i++) {
		a = config_alert(c, camera_types[i]);
		assert_non_null(a);
		assert_true(
		    alert_type_camera(alert_type_index(camera_types[i])));
		assert_true(a->min_score > 0);
	}
	assert_false(alert_type_camera(alert_type_index("tailgating")));
	assert_string_equal(alert_severity_name(ALERT_COMPLEX), "complex");
	config_free(c);

	expect_problems("a.ini",
	    MINIMAL "[alert falling_object]\n" /* 5 */
	            "severity = huge\n"
	            "cooldown_s = -1\n"
	            "[alert falling_object]\n"
	            "[alert ufo]\n"
	            "severity = minor\n" /* 10 */
	            "[alert tailgating]\n"
	            "min_score = 0.3\n"
	            "grace_s = 5\n"
	            "[alert]\n"
	            "[alert smoke]\n" /* 15 */
	            "min_score = 2\n"
	            "colour = red\n",
	    "a.ini:6: alert falling_object: bad severity 'huge' (minor, "
	    "major, complex, urgent or none)\n"
	    "a.ini:7: alert falling_object: bad cooldown_s '-1' (an integer "
	    "from 0 to 86400)\n"
	    "a.ini:8: duplicate section [alert falling_object] (first at "
	    "a.ini:5)\n"
	    "a.ini:9: unknown alert type 'ufo' (falling_object, "
	    "ebike_in_elevator, ebike_in_corridor, intrusion, smoke, fire, "
	    "crowd, vehicle_unknown, vehicle_denied, tailgating, overstay, "
	    "charger_fault, over_temperature, over_current, device_offline, "
	    "reload_failed, delivery_failed, journal_full or broker_open)\n"
	    "a.ini:12: alert tailgating: min_score is for camera types "
	    "only\n"
	    "a.ini:13: alert tailgating: grace_s is for device_offline only\n"
	    "a.ini:14: section [alert] needs an id: [alert ID]\n"
	    "a.ini:16: alert smoke: bad min_score '2' (a number from 0 to "
	    "1)\n"
	    "a.ini:17: unknown key 'colour' in [alert smoke]\n");
}

/* Cameras: a native one has no keys; Frigate's map is checked whole,
 * each entry at its own line. */
static void
test_cameras(void **state)
{
	struct config *c;

	(void)state;
	scratch_write("cams.ini",
	    MINIMAL "[device cam-5-east]\n"
	            "driver = camera\n"
	            "[device nvr]\n"
	            "driver = frigate\n"
	            "map = bicycle@elevator:"
	            "ebike_in_elevator\n"
	            "map = person@roof:intrusion\n"
	            "url = http://10.0.0.9:5000\n");
	c = load_ok("cams.ini");
	assert_int_equal(config_count_class(c, DEVICE_CAMERA), 2);
	assert_string_equal(config_device(c, "nvr")->driver->mqtt->topic(
	                        config_device(c, "nvr")),
	    "frigate/events");
	config_free(c);

	expect_problems("c.ini",
	    MINIMAL "[device cam-1]\n" /* 5 */
	            "driver = camera\n"
	            "min_score = 0.5\n"
	            "[device nvr]\n"
	            "driver = frigate\n"
	            "map = bicycle:ebike\n" /* 10 */
	            "map = person\n"
	            "topic = frigate/+\n"
	            "[device nvr2]\n"
	            "driver = frigate\n"
	            "url = http://nvr2:5000\n", /* 15 */
	    "c.ini:7: device cam-1: unknown key 'min_score' for driver "
	    "camera\n"
	    "c.ini:10: device nvr: map entry 'bicycle:ebike': unknown type "
	    "'ebike' (falling_object, ebike_in_elevator, ebike_in_corridor, "
	    "intrusion, smoke, fire or crowd)\n"
	    "c.ini:11: device nvr: bad map entry 'person' (label:type or "
	    "label@zone:type)\n"
	    "c.ini:12: device nvr: bad topic 'frigate/+' (an MQTT topic "
	    "without '+' or '#', at most 127 bytes)\n"
	    "c.ini:13: missing key 'map' in [device nvr2]\n");
}

/* [wechat], [incidents] and [care]: who is told, and when. */
static void
test_notify(void **state)
{
	char *problems;
	struct config *c;

	(void)state;
	scratch_write("plain.ini", MINIMAL);
	c = load_ok("plain.ini");
	assert_null(c->wechat.key); /* no robot: nothing is sent */
	assert_string_equal(c->wechat.base_url, CONFIG_WECHAT_URL);
	assert_int_equal(c->wechat.per_minute, 20);
	assert_int_equal(c->wechat.urgent_reserve, 5);
	assert_true(c->incidents.ack_min == 5 && c->incidents.major_min == 240);
	assert_true(c->care.daily_min == 1440);
	config_free(c);

	scratch_write("etc/robot.key",
	    "3f2a9c1e-0b7d-4c55-9e61-2d8f0a7b6c10\n");
	assert_int_equal(chmod("etc/robot.key", 0600), 0);
	scratch_write("etc/notify.ini",
	    MINIMAL "[wechat]\n"
	            "webhook_key_file = robot.key\n"
	            "base_url = http://127.0.0.1:8080/send\n"
	            "per_minute = 10\n"
	            "urgent_reserve = 2\n"
	            "duty_mobiles = 13800000000，+8613900000000\n"
	            "[incidents]\n"
	            "ack_min = 0.05\n"
	            "[care]\n"
	            "daily_min = 0.5\n"
	            "steward.5 = 13700000005\n"
	            "steward.12 = 13700000012\n");
	c = load_ok("etc/notify.ini");
	assert_string_equal(c->wechat.key,
	    "3f2a9c1e-0b7d-4c55-9e61-2d8f0a7b6c10");
	assert_string_equal(c->wechat.base_url, "http://127.0.0.1:8080/send");
	assert_int_equal(c->wechat.nduty, 2);
	assert_string_equal(c->wechat.duty_mobiles[1], "+8613900000000");
	assert_true(c->incidents.ack_min == 0.05);
	assert_true(c->incidents.minor_min == 30);
	assert_true(c->care.daily_min == 0.5);
	assert_string_equal(config_steward(c, "5-2-301"), "13700000005");
	assert_string_equal(config_steward(c, "12-1-101"), "13700000012");
	assert_null(config_steward(c, "1-2-301"));
	assert_null(config_steward(c, "51-2-301"));
	config_free(c);

	/* A key others can read is refused, and never shown. */
	assert_int_equal(chmod("etc/robot.key", 0644), 0);
	assert_null(load("etc/notify.ini", &problems));
	assert_null(strstr(problems, "3f2a9c1e"));
	assert_non_null(strstr(problems, "notify.ini:6: webhook_key_file"));
	free(problems);
	assert_int_equal(chmod("etc/robot.key", 0600), 0);

	expect_problems("etc/bad-notify.ini",
	    MINIMAL "[wechat]\n" /* 5 */
	            "webhook_key_file = robot.key\n"
	            "per_minute = 5\n"
	            "urgent_reserve = 5\n"
	            "duty_mobiles = 138-0000\n"
	            "[incidents]\n"
	            "ack_min = 0\n"
	            "[care]\n"
	            "steward.5 = 137\n"
	            "steward.5 = 13700000005\n"
	            "steward = 1\n"
	            "hourly_min = 5\n",
	    "etc/bad-notify.ini:5: wechat: urgent_reserve 5 leaves nothing "
	    "of per_minute 5 for messages that ring nobody\n"
	    "etc/bad-notify.ini:9: wechat: bad duty_mobiles '138-0000' "
	    "(mobile numbers, 13800000000, separated by ',')\n"
	    "etc/bad-notify.ini:11: bad ack_min '0' (a number from 0.01 to "
	    "527040)\n"
	    "etc/bad-notify.ini:13: care: bad steward.5 '137' (a mobile "
	    "number, 13800000000)\n"
	    "etc/bad-notify.ini:15: unknown key 'steward' in [care] "
	    "(daily_min, weekly_min, monthly_min, steward.<building>)\n"
	    "etc/bad-notify.ini:16: unknown key 'hourly_min' in [care] "
	    "(daily_min, weekly_min, monthly_min, steward.<building>)\n");
}

/* [office], [uplink] and [journal]: where records go, how long they stay. */
static void
test_uplink(void **state)
{
	char *problems;
	struct config *c;

	(void)state;
	scratch_write("plain2.ini", MINIMAL);
	c = load_ok("plain2.ini");
	assert_null(c->office.url);
	assert_null(c->uplink.host);
	assert_true(c->journal.keep_days == 180);
	assert_int_equal(c->journal.max_mb, 0);
	config_free(c);

	scratch_write("etc/office.token", "  tok-3f2a9c1e  \n");
	assert_int_equal(chmod("etc/office.token", 0600), 0);
	scratch_write("etc/ca.pem", "-----BEGIN CERTIFICATE-----\n");
	scratch_write("etc/up.ini",
	    MINIMAL "[office]\n"
	            "url = https://office.example.com/api/events\n"
	            "token_file = office.token\n"
	            "ca_file = ca.pem\n"
	            "batch = 200\n"
	            "[uplink]\n"
	            "host = broker.example.com\n"
	            "cert_file = ca.pem\n"
	            "key_file = ca.pem\n"
	            "[journal]\n"
	            "keep_days = 0.5\n"
	            "max_mb = 512\n");
	c = load_ok("etc/up.ini");
	assert_string_equal(c->office.url,
	    "https://office.example.com/api/events");
	assert_non_null(strstr(c->office.token, "tok-3f2a9c1e"));
	assert_int_equal(c->office.batch, 200);
	assert_int_equal(c->office.timeout_s, 30);
	assert_non_null(strstr(c->office.ca_file, "etc/ca.pem"));
	assert_int_equal(c->uplink.port, 8883);
	assert_string_equal(c->uplink.client_id, "cg-jinding-5-uplink");
	assert_true(c->journal.keep_days == 0.5);
	assert_int_equal(c->journal.max_mb, 512);
	config_free(c);

	/* The token is a secret: never in a problem's words. */
	assert_int_equal(chmod("etc/office.token", 0644), 0);
	assert_null(load("etc/up.ini", &problems));
	assert_null(strstr(problems, "tok-3f2a9c1e"));
	assert_non_null(strstr(problems, "up.ini:7: token_file"));
	free(problems);
	assert_int_equal(chmod("etc/office.token", 0600), 0);

	expect_problems("etc/up-bad.ini",
	    MINIMAL "[office]\n" /* 5 */
	            "url = http://office.example.com/\n"
	            "token_file = office.token\n"
	            "ca_file = missing.pem\n"
	            "[uplink]\n" /* 9 */
	            "host = broker\n"
	            "cert_file = ca.pem\n"
	            "username = \n",
	    "etc/up-bad.ini:5: office: bad url 'http://office.example.com/' "
	    "(https://...; http:// only to 127.0.0.1 or localhost)\n"
	    "etc/up-bad.ini:5: office: ca_file etc/missing.pem: cannot be "
	    "read\n"
	    "etc/up-bad.ini:9: uplink: cert_file and key_file go together "
	    "(the gateway's client certificate and its key)\n"
	    "etc/up-bad.ini:12: no value for 'username'\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_notepad),
		cmocka_unit_test(test_inline_comments),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_gateway_problems),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_device_problems),
		cmocka_unit_test(test_alerts),
		cmocka_unit_test(test_cameras),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_uplink),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
