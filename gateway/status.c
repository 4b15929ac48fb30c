/*
 * status.c - what gatewayctl status shows: the gateway's live state as
 * one JSON object (devices, buses, the broker, sinks, incidents, the
 * fire release, the tables in force, version and uptime).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "access.h"
#include "config.h"
#include "daemon.h"
#include "datetime.h"
#include "driver.h"
#include "office.h"
#include "pipeline.h"
#include "reload.h"
#include "state.h"
#include "uplink.h"
#include "util.h"
#include "wechat.h"

static json_t *
time_or_null(int64_t ms)
{
	char buf[40];

	if (ms <= 0)
		return json_null();
	datetime_format_rfc3339(ms, buf, sizeof(buf));
	return json_string(buf);
}

static const char *
class_name(enum device_class c)
{
	static const char *const names[DEVICE_CLASS_MAX] = {
		[DEVICE_GATE] = "gate",
		[DEVICE_LPR] = "plate camera",
		[DEVICE_BARRIER] = "barrier",
		[DEVICE_CAMERA] = "camera",
		[DEVICE_CHARGER] = "charger",
		[DEVICE_METER] = "meter",
		[DEVICE_FIRE] = "fire panel",
	};

	return c < DEVICE_CLASS_MAX && names[c] ? names[c] : "device";
}

static const char *
online_name(int online)
{
	return online > 0 ? "online" : online == 0 ? "offline" : "unknown";
}

/* The Modbus bus a device is on, or NULL. */
static const char *
device_bus(const struct device *dev)
{
	struct modbus_address a = { 0 };

	if (dev->driver->modbus == NULL || dev->driver->modbus->address == NULL)
		return NULL;
	dev->driver->modbus->address(dev, &a);
	return a.bus;
}

static json_t *
devices_json(const struct daemon *d)
{
	const struct device_state *ds;
	const struct device *dev;
	json_t *v = json_array(), *o;
	size_t i;

	for (i = 0; i < d->cfg->ndevices; i++) {
		dev = d->cfg->devices[i];
		ds = state_device(d->pipe.state, dev->index);
		o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "id", dev->id, "kind",
		    class_name(dev->driver->class), "driver", dev->driver->name,
		    "state", online_name(ds->online), "since",
		    time_or_null(ds->online_ms));
		if (device_bus(dev) != NULL)
			json_object_set_new(o, "bus",
			    json_string(device_bus(dev)));
		json_array_append_new(v, o);
	}
	return v;
}

static json_t *
buses_json(const struct daemon *d)
{
	const struct bus_config *b;
	const char *on;
	json_t *v = json_array();
	char where[300];
	size_t i, j, n, up;

	for (i = 0; i < d->cfg->nbuses; i++) {
		b = d->cfg->buses[i];
		if (b->type == BUS_RTU)
			snprintf(where, sizeof(where), "%s", b->port);
		else
			snprintf(where, sizeof(where), "%s:%d", b->host,
			    b->tcp_port);
		for (j = n = up = 0; j < d->cfg->ndevices; j++) {
			on = device_bus(d->cfg->devices[j]);
			if (on == NULL || strcmp(on, b->name) != 0)
				continue;
			n++;
			if (state_device(d->pipe.state, j)->online > 0)
				up++;
		}
		json_array_append_new(v,
		    json_pack("{s:s,s:s,s:s,s:I,s:I}", "name", b->name, "type",
		        b->type == BUS_RTU ? "rtu" : "tcp", "where", where,
		        "devices", (json_int_t)n, "online", (json_int_t)up));
	}
	return v;
}

static json_t *
fire_json(const struct daemon *d)
{
	static const char *const modes[] = {
		[FIRE_NORMAL] = "normal",
		[FIRE_ALARM] = "alarm",
		[FIRE_CLEARED] = "cleared, held until reset",
		[FIRE_TEST] = "test",
	};
	const struct fire_live *f = &d->pipe.state->fire;
	json_t *o =
	    json_pack("{s:s,s:b,s:o}", "state", modes[f->mode], "holding",
	        fire_holding(&d->pipe), "since", time_or_null(f->since_ms));

	if (f->mode == FIRE_TEST)
		json_object_set_new(o, "until", time_or_null(f->test_until_ms));
	return o;
}

static json_t *
tables_json(const struct daemon *d)
{
	struct access_counts n;
	const json_t *last = reload_last(d->reload);
	char summary[192];

	json_t *files = json_array(), *o;
	size_t i;

	for (i = 0; i < access_nfiles(d->pipe.tables); i++)
		json_array_append_new(files,
		    json_string(access_file(d->pipe.tables, i)));
	access_counts(d->pipe.tables, &n);
	access_summary(d->pipe.tables, d->cfg, summary, sizeof(summary));
	o = json_pack("{s:s,s:s,s:s,s:{s:I,s:I,s:I,s:I,s:I},s:O}", "dir",
	    d->cfg->access_dir, "from",
	    d->pipe.state->on_snapshot ? "snapshot" : "files", "summary",
	    summary, "counts", "groups", (json_int_t)n.groups, "persons",
	    (json_int_t)n.persons, "visitors", (json_int_t)n.visitors,
	    "vehicles", (json_int_t)n.vehicles, "denied", (json_int_t)n.denied,
	    "last_reload", last ? (json_t *)last : json_null());
	json_object_set_new(o, "files", files);
	return o;
}

json_t *
daemon_status(const struct daemon *d)
{
	json_t *o, *sinks = json_object();

	o = json_pack("{s:s,s:s,s:s,s:I,s:o}", "site", d->cfg->site, "name",
	    d->cfg->name ? d->cfg->name : d->cfg->site, "version",
	    GATEWAY_VERSION, "uptime_s",
	    (json_int_t)((mono_ms() - d->started_mono_ms) / 1000), "started",
	    time_or_null(d->started_ms));
	json_object_set_new(o, "mqtt",
	    json_pack("{s:s,s:i,s:b}", "host", d->cfg->mqtt_host, "port",
	        d->cfg->mqtt_port, "connected", d->connected));
	json_object_set_new(o, "broker_open", daemon_broker_open(d));
	json_object_set_new(o, "devices", devices_json(d));
	json_object_set_new(o, "buses", buses_json(d));
	json_object_set_new(o, "fire", fire_json(d));
	json_object_set_new(o, "incidents",
	    json_pack("{s:I}", "open", (json_int_t)incidents_open(&d->pipe)));
	json_object_set_new(o, "tables", tables_json(d));
	json_object_set_new(o, "wechat",
	    d->wechat != NULL ? wechat_status(d->wechat) :
	                        json_pack("{s:s}", "state", "off"));
	if (d->report != NULL)
		json_object_set_new(o, "report_robot",
		    wechat_status(d->report));
	json_object_set_new(sinks, "office",
	    d->office != NULL ? office_status(d->office) :
	                        json_pack("{s:s}", "state", "off"));
	json_object_set_new(sinks, "uplink",
	    d->uplink != NULL ? uplink_status(d->uplink) :
	                        json_pack("{s:s}", "state", "off"));
	json_object_set_new(o, "sinks", sinks);
	return o;
}
