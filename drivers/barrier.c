/*
 * barrier.c - what every kind of barrier shares: the plate camera whose
 * reads open it.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "driver.h"

/*
 * Its camera's plates open this barrier, so the camera must be a plate
 * camera and open no other barrier: a copied section that named the same
 * camera would open both barriers for every car.  Devices are linked in
 * file order, so the earlier barrier holds the camera and the later one
 * is the problem reported.  The camera learns its barrier here: its
 * reads go to it without a search.  cfg->devices is read directly rather
 * than through config_device(): a driver links against nothing of
 * config.c.
 */
int
barrier_link(struct device *dev, const struct config *cfg, char *err,
    size_t errlen)
{
	struct barrier_settings *b = dev->priv;
	struct device *cam = NULL;
	struct lpr_settings *lpr;
	size_t i;

	if (b->camera_id == NULL)
		return 0;
	for (i = 0; i < cfg->ndevices && cam == NULL; i++)
		if (strcmp(cfg->devices[i]->id, b->camera_id) == 0)
			cam = cfg->devices[i];
	if (cam == NULL) {
		snprintf(err, errlen, "unknown camera '%s'", b->camera_id);
		return -1;
	}
	if (cam->driver == NULL || cam->driver->class != DEVICE_LPR) {
		snprintf(err, errlen, "camera %s is not a plate camera (%s%s)",
		    cam->id, cam->driver ? "driver " : "no driver",
		    cam->driver ? cam->driver->name : "");
		return -1;
	}
	lpr = cam->priv;
	if (lpr->barrier != NULL) {
		snprintf(err, errlen, "camera %s already opens barrier %s",
		    cam->id, lpr->barrier->id);
		return -1;
	}
	lpr->barrier = dev;
	b->camera = cam;
	return 0;
}
