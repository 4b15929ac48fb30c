/*
 * pipeline.h - from a device's event to a decision and its actions.  A
 * pipeline (gate.c now; vehicles, charging, cameras next) decides with
 * the rules, journals the decision and hands its commands to the outbox,
 * which lets them go once the journal has committed the decision.  It
 * calls down into the journal and the outbox, never up into the daemon.
 */
#ifndef PIPELINE_H
#define PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bus.h"
#include "driver.h"
#include "journal.h"

struct access_tables;
struct alert_settings;
struct config;
struct outbox;
struct state;

/* What every pipeline works with; the daemon owns it. */
struct pipeline {
	const struct config *cfg;
	const struct access_tables *tables; /* swapped whole on reload */
	struct state *state;
	struct journal *journal; /* NULL: not open; decisions go on */
	struct outbox *outbox;
	int64_t stale_ms; /* 0: request timestamps are not checked */
};

/* Journal a record; it is published once committed (0), or -1 when it
 * cannot be (the journal's queue is full: counted and logged there). */
int pipeline_record(struct pipeline *, const struct journal_record *,
    int64_t ts_ms);
/*
 * A record is an alert of type on device: its members into extra.
 * "severity" (the type's, or a's when not NULL), and "alert":type unless
 * the same device raised one of that type less than its cooldown_s ago
 * ("suppressed":true: it touches no incident; it does not extend the
 * cool-down).  A type whose severity is none is evidence: no "alert".
 * Whether the record raises an alert.
 */
bool pipeline_alert(struct pipeline *, const char *device, const char *type,
    const struct alert_settings *a, json_t *extra, int64_t now_ms);
/* A command for a device, sent once what came before is committed. */
void pipeline_command(struct pipeline *, const struct device *,
    const struct command *);

/* A staff request answered on topic, once what came before is
 * committed: {"request":...,"ok":true}, or "ok":false and the error. */
void pipeline_answer(struct pipeline *, const char *topic, const char *request,
    const char *error);

/* An event a device's driver decoded: to its class's rules. */
void pipeline_event(struct pipeline *, const struct device *,
    const struct event *);
/* Connected to the broker (again): what is kept retained there is
 * published afresh. */
void pipeline_connected(struct pipeline *);
/* A message its driver could not use: counted, journaled, and answered
 * when its request id could be read.  ev: what the driver could read of
 * it (its id, a charger's port), or NULL when nothing. */
void pipeline_rejected(struct pipeline *, const struct device *,
    const struct event *, const char *why);
/* A message on <kind>/<id>/<sub> of a device nobody configured. */
void pipeline_unknown(struct pipeline *, const char *kind, const char *id,
    const char *sub);
/* A request id seen before on this device (at first_ms): it acts on
 * nothing and gets no second answer. */
void pipeline_duplicate(struct pipeline *, const struct device *,
    const char *request, int64_t first_ms);
/* About once a second: journal the aggregates of minutes that ended
 * (all of them, ended or not, when the gateway stops); alert devices
 * offline for longer than [alert device_offline] grace_s, and those not
 * online that long after the first tick. */
void pipeline_tick(struct pipeline *, int64_t now_ms, bool stopping);
/* A device's own word on its status (its MQTT will): "online", ... */
void pipeline_status(struct pipeline *, const struct device *,
    const void *payload, size_t len);
/* A device is online or offline (why: in words), as its MQTT status or
 * its bus says: journaled when it changes. */
void pipeline_online(struct pipeline *, const struct device *, bool online,
    const char *why);
/* A command its bus ended: one dropped as late or refused by the device
 * is journaled as such; one carried out needs no second record. */
void pipeline_command_done(struct pipeline *, const struct device *,
    const struct command *, enum bus_outcome, const char *why);
/* Something about a device its bus says once (a refused poll, a reply
 * its driver cannot read): logged and journaled, once a minute at most. */
void pipeline_problem(struct pipeline *, const struct device *,
    const char *what);

/* manual.c: a gate or barrier opened by staff (operator, and why),
 * journaled, then opened.  0, or -1 with err (not a gate or barrier;
 * everything is held open by the fire release already). */
int pipeline_manual_open(struct pipeline *, const struct device *,
    const char *operator, const char * why, const char *request,
    const char **err);

/* gate.c: the pedestrian gates' pipeline (access requests). */
void gate_event(struct pipeline *, const struct device *, const struct event *);
void gate_rejected(struct pipeline *, const struct device *,
    const struct event *, const char *why);

/* vehicle.c: the car park's pipeline (plate reads, loop passages). */
void vehicle_event(struct pipeline *, const struct device *,
    const struct event *);
/* A barrier opened by hand: the car that passes its loop next was let
 * in (or out), not a tailgater. */
void vehicle_manual_open(struct pipeline *, const struct device *barrier,
    int64_t now_ms);
/* About once a second: visitors' cars that overstay. */
void vehicle_tick(struct pipeline *, int64_t now_ms);
/* At start: occupancy and visitors' stays from the journal's vehicle
 * records since vehicle_restore_since(), each to vehicle_restore_row()
 * (a journal_vehicle_rows() callback; arg: the pipeline), oldest first. */
int64_t vehicle_restore_since(const struct pipeline *, int64_t now_ms);
void vehicle_restore_row(void *pipeline, int64_t ts_ms, const char *body,
    size_t len);

/* charging.c: the charging points' pipeline (ports, sessions, safety,
 * staff requests) and meters. */
/* Every charging point's ports, before the first reading: 0, or -1
 * when out of memory. */
int charging_start(struct pipeline *);
void charging_event(struct pipeline *, const struct device *,
    const struct event *);
void charging_rejected(struct pipeline *, const struct device *,
    const struct event *, const char *why);
/* A station answers again, or has stopped: sessions end as offline. */
void charging_online(struct pipeline *, const struct device *, bool online);
/* A command its bus ended: the staff request it answers is answered. */
void charging_command_done(struct pipeline *, const struct device *,
    const struct command *, enum bus_outcome, const char *why);
/* About once a second: requests that got no answer in time. */
void charging_tick(struct pipeline *, int64_t now_ms);
/* Connected to the broker: retained states are published afresh. */
void charging_connected(struct pipeline *);

/* fire.c: the fire release.  Every gate and barrier held open on an
 * alarm, until staff reset it; the yearly test. */
void fire_event(struct pipeline *, const struct device *, const struct event *);
/* A fire device answers again or has stopped (not an alarm). */
void fire_online(struct pipeline *, const struct device *, bool online);
/* A gate or barrier is back online: held again if the release is on. */
void fire_device_back(struct pipeline *, const struct device *);
/* Connected to the broker: the gates are told to hold again. */
void fire_connected(struct pipeline *);
/* A staff request on <prefix>/fire/<what> (reset, test), answered on
 * <prefix>/fire/result. */
void fire_request(struct pipeline *, const char *what, const void *payload,
    size_t len);
/* About once a second: a test whose time is over. */
void fire_tick(struct pipeline *, int64_t now_ms);
/* At start: the alarm records of the release in force, oldest first (a
 * journal_alarm_rows() callback; arg: the pipeline), then fire_start()
 * holds what they say is held. */
void fire_restore(void *pipeline, int64_t ts_ms, const char *body, size_t len);
void fire_start(struct pipeline *);
/* Whether everything is held open now (an alarm, or a test). */
bool fire_holding(const struct pipeline *);
/* While held, why every request is let through: RULES_FIRE_ALARM or
 * RULES_FIRE_TEST (rules.h); 0 when nothing is held. */
int fire_release_reason(const struct pipeline *);
/* camera.c: cameras' analytics (native cameras and Frigate): an event
 * kept once per event id, held back by its type's cool-down per camera. */
void camera_event(struct pipeline *, const struct device *,
    const struct event *);
/* The same, as if at now_ms (the tests' clock). */
void camera_event_at(struct pipeline *, const struct device *,
    const struct event *, int64_t now_ms);
/* At start: the events opened and the alerts raised (cool-downs) from
 * the journal's camera records since camera_restore_since(), each to
 * camera_restore_row() (a journal_camera_rows() callback; arg: the
 * pipeline), oldest first. */
int64_t camera_restore_since(const struct pipeline *, int64_t now_ms);
void camera_restore_row(void *pipeline, int64_t ts_ms, const char *body,
    size_t len);

/* incident_live.c: incidents on the loop (DESIGN 4.7). */
/* A record with an "alert" member was journaled: its incident opens or
 * counts it (pipeline_record calls it). */
void incidents_alert(struct pipeline *, const struct journal_record *,
    int64_t ts_ms);
/* About once a second: re-alerts and escalations due. */
void incidents_tick(struct pipeline *, int64_t now_ms);
/* A device is back: noted on its open device_offline incident. */
void incidents_online(struct pipeline *, const struct device *);
/* Staff's <prefix>/incident/<n>/<what> (ack, resolve), answered on
 * <prefix>/incident/<n>/result. */
void incidents_request(struct pipeline *, const char *n, const char *what,
    const void *payload, size_t len);
/* At start: every incident record, oldest first (a journal_incident_rows()
 * callback; arg: the pipeline). */
void incidents_restore_row(void *pipeline, int64_t ts_ms, const char *body,
    size_t len);
/* Connected to the broker: open incidents' states published afresh. */
void incidents_connected(struct pipeline *);
/* Incidents not resolved. */
size_t incidents_open(const struct pipeline *);

#endif
