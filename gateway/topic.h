/*
 * topic.h - the shape of the MQTT topics devices publish on:
 * <prefix>/<kind>/<id>/<sub>, or <prefix>/<kind>/<id>/<port>/<sub>.  Parsing
 * only; routing is daemon.c's.
 */
#ifndef TOPIC_H
#define TOPIC_H

#define TOPIC_MAX 512 /* longer topics are not ours */

struct topic {
	char buf[TOPIC_MAX];
	char *kind, *id, *sub; /* point into buf */
};

/*
 * Split topic under prefix into kind, id and sub (each non-empty, no
 * '/'; but sub may be <port>/<leaf>, a port of 1 to 3 digits, for
 * devices with numbered ports: charger/<id>/3/cmd).  0, or -1 when it
 * is not that shape or too long.
 */
int topic_split(const char *prefix, const char *topic, struct topic *);

#endif
