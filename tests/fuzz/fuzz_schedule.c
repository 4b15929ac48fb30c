/*
 * fuzz_schedule.c - a group's "hours = " text: schedule_parse, then
 * schedule_allows around the day and on out-of-range times.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct schedule *sc)
{
	static const int minutes[] = { 0, 1, 359, 360, 479, 480, 719, 720, 1199,
		1200, 1319, 1320, 1438, 1439 };
	const struct schedule_range *r;
	size_t i;
	int w;

	if (sc->n > SCHEDULE_MAX || (sc->always && sc->n != 0) ||
	    (!sc->always && sc->n == 0))
		abort();
	for (i = 0; i < sc->n; i++) {
		r = &sc->r[i];
		if (r->days == 0 || (r->days & 0x80) || r->start > 1439 ||
		    r->end < 1 || r->end > 1440 || r->start == r->end)
			abort();
	}
	for (w = 0; w < 7; w++)
		for (i = 0; i < sizeof(minutes) / sizeof(minutes[0]); i++)
			if (sc->always && !schedule_allows(sc, w, minutes[i]))
				abort();
	/* A clock gone wrong must not open anything but "always". */
	if (!sc->always &&
	    (schedule_allows(sc, -1, 0) || schedule_allows(sc, 7, 0) ||
	        schedule_allows(sc, 0, -1) || schedule_allows(sc, 0, 1440) ||
	        schedule_allows(sc, 3, 100000)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schedule sc;
	char err[128], tiny[4]; /* access.c gives 256 */
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	err[0] = '\0';
	if (schedule_parse(s, &sc, err, sizeof(err)) == 0)
		check(&sc);
	else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
		abort(); /* an error must say why */
	(void)schedule_parse(s, &sc, tiny, sizeof(tiny));
	free(s);
	return 0;
}
