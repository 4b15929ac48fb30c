/*
 * fuzz_camera.c - a native camera's event on .../camera/<id>/event as the
 * camera driver decodes it: whatever comes, an event it lets through has
 * an id, one of the known types and a score within 0..1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_driver.h"

static const struct driver *drv;
static struct device camera;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	drv = fuzz_device(&camera, "camera", "cam-5-east");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event ev;
	struct camera_event *e = &ev.u.camera;
	char err[160];
	enum driver_decode rc;

	rc = drv->mqtt->decode(&camera, "event", data, size, &ev, err,
	    sizeof(err));
	if (ev.type != EVENT_CAMERA || rc == DRIVER_IGNORE)
		abort();
	fuzz_camera_event_ends(e);
	if (rc == DRIVER_BAD) {
		if (!FUZZ_ENDS(err))
			abort();
		return 0;
	}
	if (e->request[0] == '\0' || !camera_type_known(e->type) ||
	    e->camera[0] != '\0' || e->updates ||
	    !(e->score >= 0 && e->score <= 1))
		abort();
	return 0;
}
