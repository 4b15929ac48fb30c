/*
 * topic.c - split a device's MQTT topic into kind, id and subtopic.
 * The topic is outside input: any bytes, any length.
 */
#include <string.h>

#include "topic.h"
#include "util.h"

/* The next level at *p, NUL-terminated in place; NULL if empty. */
static char *
level(char **p, int last)
{
	char *start = *p, *slash = strchr(start, '/');

	if (last) {
		if (slash != NULL || *start == '\0')
			return NULL;
		return start;
	}
	if (slash == NULL || slash == start)
		return NULL;
	*slash = '\0';
	*p = slash + 1;
	return start;
}

int
topic_split(const char *prefix, const char *topic, struct topic *t)
{
	size_t plen = strlen(prefix);
	char *p;

	if (str_copy(t->buf, topic, sizeof(t->buf)) >= sizeof(t->buf) ||
	    strncmp(t->buf, prefix, plen) != 0 || t->buf[plen] != '/')
		return -1;
	p = t->buf + plen + 1;
	t->kind = level(&p, 0);
	t->id = t->kind ? level(&p, 0) : NULL;
	if (t->id == NULL)
		return -1;
	/* <port>/<leaf>: a device with numbered ports (a charging point). */
	if (*p >= '0' && *p <= '9' && strchr(p, '/') != NULL) {
		t->sub = p;
		p += strspn(p, "0123456789");
		if (*p != '/' || p - t->sub > 3)
			return -1;
		p++;
		return level(&p, 1) ? 0 : -1;
	}
	t->sub = level(&p, 1);
	return t->sub ? 0 : -1;
}
