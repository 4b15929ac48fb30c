/* fuzz_topic.c - topic_split on any topic a device may publish on. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct topic t;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (topic_split("cg/jinding-5", s, &t) == 0) {
		/* Three non-empty levels without a '/', inside the buffer. */
		if (!*t.kind || !*t.id || !*t.sub || strchr(t.kind, '/') ||
		    strchr(t.id, '/') || strchr(t.sub, '/'))
			abort();
		if (t.kind < t.buf || t.sub >= t.buf + sizeof(t.buf))
			abort();
	}
	free(s);
	return 0;
}
