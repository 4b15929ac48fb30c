/*
 * floor.c - the broker's floor for make bench: answers every face event
 * with an open command and no logic, through the same broker, so the
 * gateway's figures can be read as a ratio of what MQTT alone costs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <mosquitto.h>

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	char topic[256], out[256];
	const char *id;
	json_t *o;
	size_t n;

	(void)arg;
	o = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, NULL);
	id = json_string_value(json_object_get(o, "id"));
	n = strlen(msg->topic);
	if (id && n > 5 && n < sizeof(topic)) {
		memcpy(topic, msg->topic, n - 4);
		memcpy(topic + n - 4, "cmd", 4);
		snprintf(out, sizeof(out),
		    "{\"action\":\"open\",\"request\":\"%s\"}", id);
		mosquitto_publish(m, NULL, topic, (int)strlen(out), out, 0,
		    false);
	}
	json_decref(o);
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)arg;
	if (rc == 0)
		mosquitto_subscribe(m, NULL, "cg/+/gate/+/face", 1);
}

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *q)
{
	(void)m;
	(void)arg;
	(void)mid;
	(void)n;
	(void)q;
	printf("floor ready\n");
	fflush(stdout);
}

int
main(int argc, char *argv[])
{
	struct mosquitto *m;

	if (argc != 2) {
		fprintf(stderr, "usage: floor PORT\n");
		return 2;
	}
	mosquitto_lib_init();
	m = mosquitto_new("bench-floor", true, NULL);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_max_inflight_messages_set(m, 0);
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_message_callback_set(m, on_message);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	if (mosquitto_connect(m, "127.0.0.1", (int)strtol(argv[1], NULL, 10),
	        30) != 0) {
		fprintf(stderr, "floor: cannot connect\n");
		return 1;
	}
	mosquitto_loop_forever(m, -1, 1);
	return 0;
}
