/*
 * fuzz_frigate.c - Frigate's frigate/events as the frigate driver reads
 * them (the first byte even), and its map = key as gateway.ini gives it
 * (odd): an event it lets through has Frigate's id, a camera that makes
 * a device name, a type of the map and a score within 0..1; a snapshot
 * link only under its url.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_driver.h"

#define URL "http://10.0.0.9:5000"

static const struct driver *drv;
static struct device nvr;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	drv = fuzz_device(&nvr, "frigate", "nvr");
	if (fuzz_key(&nvr, "map",
	        "bicycle@elevator:ebike_in_elevator, person@roof:intrusion, "
	        "bicycle:ebike_in_corridor, fire:fire, smoke:smoke") < 0 ||
	    fuzz_key(&nvr, "url", URL) < 0)
		abort();
	return 0;
}

/* The map key with any text, on a device of its own. */
static void
map_key(const uint8_t *data, size_t size)
{
	struct device dev;
	char *value = malloc(size + 1);

	if (value == NULL)
		abort();
	memcpy(value, data, size);
	value[size] = '\0';
	fuzz_device(&dev, "frigate", "nvr");
	(void)fuzz_key(&dev, "map", value);
	(void)fuzz_key(&dev, "map", value); /* written twice, it adds up */
	(void)fuzz_key(&dev, "topic", value);
	(void)fuzz_key(&dev, "url", value);
	free(dev.priv);
	free(value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event ev;
	struct camera_event *e = &ev.u.camera;
	char err[160], name[128];
	enum driver_decode rc;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		map_key(data + 1, size - 1);
		return 0;
	}
	rc = drv->mqtt->decode(&nvr, drv->mqtt->topic(&nvr), data + 1, size - 1,
	    &ev, err, sizeof(err));
	if (ev.type != EVENT_CAMERA)
		abort();
	fuzz_camera_event_ends(e);
	if (rc == DRIVER_BAD) {
		if (!FUZZ_ENDS(err))
			abort();
		return 0;
	}
	if (rc == DRIVER_IGNORE)
		return 0; /* a label not mapped, a zone not entered */
	if (e->request[0] == '\0' || e->camera[0] == '\0' ||
	    strchr(e->camera, '/') != NULL || !camera_type_known(e->type) ||
	    !e->updates || !(e->score >= 0 && e->score <= 1))
		abort();
	if (e->snapshot[0] &&
	    (strncmp(e->snapshot, URL "/api/events/", strlen(URL) + 12) ||
	        strstr(e->snapshot, "/snapshot.jpg") == NULL))
		abort();
	/* The pipeline's device name for it fits. */
	if ((size_t)snprintf(name, sizeof(name), "%s/%s", nvr.id, e->camera) >=
	    sizeof(name))
		abort();
	return 0;
}
