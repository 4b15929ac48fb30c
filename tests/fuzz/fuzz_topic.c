/*
 * fuzz_topic.c - topic_split on any topic a device may publish on, and
 * str_escape on it as a log line will show it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Escaped, s is UTF-8 with no control, bidi control or separator. */
static void
check_escape(const char *s, size_t size)
{
	static const char *banned[] = { "\xc2\x80", "\xc2\x9b", "\xc2\x9f",
		"\xd8\x9c", "\xe2\x80\x8e", "\xe2\x80\x8f", "\xe2\x80\xa8",
		"\xe2\x80\xa9", "\xe2\x80\xae", "\xe2\x81\xa6",
		"\xe2\x81\xa9" };
	char out[64];
	size_t i, len;

	str_escape(s, out, size);
	len = strlen(out);
	if (len >= size || !utf8_valid(out, len) || !str_printable(out, len))
		abort();
	for (i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
		if (strstr(out, banned[i]) != NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct topic t;
	const char *slash;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (topic_split("cg/jinding-5", s, &t) == 0) {
		/* Three non-empty levels without a '/', inside the buffer. */
		/* A sub has no '/' but after a port: "3/cmd". */
		slash = strchr(t.sub, '/');
		if (!*t.kind || !*t.id || !*t.sub || strchr(t.kind, '/') ||
		    strchr(t.id, '/') ||
		    (slash != NULL &&
		        (strspn(t.sub, "0123456789") !=
		                (size_t)(slash - t.sub) ||
		            slash == t.sub || !slash[1] ||
		            strchr(slash + 1, '/'))))
			abort();
		if (t.kind < t.buf || t.sub >= t.buf + sizeof(t.buf))
			abort();
	}
	check_escape(s, 64);
	check_escape(s, 1 + size % 63);
	free(s);
	return 0;
}
