/*
 * fuzz_lpr.c - a plate camera's read as the lpr driver decodes it, and
 * the plate as the rules spell it (plate_normalise, plate_skeleton).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_driver.h"
#include "plate.h"
#include "util.h"

static const struct driver *drv;
static struct device camera;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	drv = fuzz_device(&camera, "lpr", "lpr-south-in");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event ev;
	struct plate_read *r = &ev.u.plate;
	char err[160], plate[PLATE_MAX], skeleton[PLATE_MAX];
	enum driver_decode rc;

	rc = drv->mqtt->decode(&camera, "plate", data, size, &ev, err,
	    sizeof(err));
	if (ev.type != EVENT_PLATE || rc == DRIVER_IGNORE)
		abort();
	if (!FUZZ_ENDS(r->request) || !FUZZ_ENDS(r->plate) ||
	    !FUZZ_ENDS(r->color) || !FUZZ_ENDS(r->snapshot))
		abort();
	if (rc == DRIVER_BAD) {
		if (!FUZZ_ENDS(err))
			abort();
		return 0;
	}
	if (r->request[0] == '\0' || r->plate[0] == '\0' ||
	    !(r->confidence >= 0 && r->confidence <= 1))
		abort();
	/* Whatever a camera sends, the spelling ends in bounds, and a
	 * plate that normalises has a skeleton of the same length. */
	if (plate_normalise(r->plate, plate, sizeof(plate)) == 0) {
		if (!utf8_valid(plate, strlen(plate)) ||
		    plate_skeleton(plate, skeleton, sizeof(skeleton)) < 0 ||
		    strlen(skeleton) != strlen(plate))
			abort();
	} else if (!FUZZ_ENDS(plate)) {
		abort();
	}
	return 0;
}
