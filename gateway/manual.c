/*
 * manual.c - staff open a gate or a barrier by hand (gatewayctl open):
 * journaled with who and why before the open is sent, as any decision.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "driver.h"
#include "log.h"
#include "pipeline.h"
#include "util.h"

int
pipeline_manual_open(struct pipeline *p, const struct device *dev,
    const char *operator, const char * why, const char *request,
    const char **err)
{
	bool barrier = dev->driver->class == DEVICE_BARRIER;
	struct command cmd = {
		.action = COMMAND_OPEN,
		.request = request,
		.display = "请通行",
		.at_ms = mono_ms(),
	};
	struct journal_record r = { .kind = barrier ? "vehicle" : "access",
		.device = dev->id,
		.request = request,
		.decision = "allow",
		.reason = "manual",
		.subject_type = "operator",
		.subject_id = operator, };
	int rc;

	if (dev->driver->class != DEVICE_GATE && !barrier) {
		*err = "not a gate or a barrier";
		return -1;
	}
	if (fire_holding(p)) {
		*err = "the fire release holds every gate and barrier open "
		       "already";
		return -1;
	}
	cmd.open_ms =
	    barrier ? device_barrier(dev)->open_ms : device_gate(dev)->open_ms;
	r.extra = json_pack("{s:s,s:s}", "operator", operator, "note", why);
	rc = pipeline_record(p, &r, now_ms());
	json_decref(r.extra);
	if (rc < 0) {
		/* Staff are there: the gate opens anyway, as a fire
		 * release does, and the log says it went unjournaled. */
		log_errx("%s: manual open by %s not journaled (the journal's "
		         "queue is full); opened anyway",
		    dev->id, operator);
	}
	log_info("%-12s opened by hand by %s: %s", dev->id, operator, why);
	if (barrier)
		vehicle_manual_open(p, dev, now_ms());
	pipeline_command(p, dev, &cmd);
	return 0;
}
