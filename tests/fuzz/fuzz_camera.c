/*
 * fuzz_camera.c - a native camera's event on .../camera/<id>/event as the
 * camera driver decodes it: whatever comes, an event it lets through has
 * an id, one of the known types and a score within 0..1.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

static const struct driver *drv;
static struct device camera;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char priv[1];

	(void)argc;
	(void)argv;
	drv = driver_find("camera");
	if (drv == NULL || drv->priv_size > sizeof(priv))
		abort();
	camera.id = "cam-5-east";
	camera.driver = drv;
	camera.priv = priv;
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
	if (memchr(e->request, '\0', sizeof(e->request)) == NULL ||
	    memchr(e->type, '\0', sizeof(e->type)) == NULL ||
	    memchr(e->camera, '\0', sizeof(e->camera)) == NULL ||
	    memchr(e->snapshot, '\0', sizeof(e->snapshot)) == NULL)
		abort();
	if (rc == DRIVER_BAD) {
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return 0;
	}
	if (e->request[0] == '\0' || !camera_type_known(e->type) ||
	    e->camera[0] != '\0' || e->updates ||
	    !(e->score >= 0 && e->score <= 1))
		abort();
	return 0;
}
