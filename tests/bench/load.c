/*
 * load.c - the load for make bench: publishes face events for a gate at
 * a fixed rate (or as fast as a window of unanswered requests allows),
 * times each answer on the gate's cmd topic, prints one JSON line.
 *
 *   load -p PORT -s SITE -g GATE -n COUNT [-r RATE | -w WINDOW]
 *        [-P PREFIX -N PERSONS] [-q]
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

static int64_t *sent_ns, *lat_ns;
static long count;
static atomic_long answered;
static atomic_long outstanding;
static char run_id[32];

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	const char *p, *payload = msg->payload;
	char key[48];
	long i;

	(void)m;
	(void)arg;
	/* {"action":...,"request":"<run>-<i>",...}: find our request. */
	snprintf(key, sizeof(key), "\"request\":\"%s-", run_id);
	if (msg->payloadlen <= 0 || memchr(payload, '\0', msg->payloadlen))
		return;
	p = strstr(payload, key);
	if (p == NULL)
		return;
	i = strtol(p + strlen(key), NULL, 10);
	if (i < 0 || i >= count || lat_ns[i] != 0)
		return;
	lat_ns[i] = mono_ns() - sent_ns[i];
	atomic_fetch_add(&answered, 1);
	atomic_fetch_sub(&outstanding, 1);
}

static int subscribed;

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *q)
{
	(void)m;
	(void)arg;
	(void)mid;
	(void)n;
	(void)q;
	subscribed = 1;
}

static int
cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static long
num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0) {
		fprintf(stderr, "load: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

/* The per-mille q of n sorted latencies, in µs; -1 when there are none. */
static double
quantile(const int64_t *sorted, long n, long q)
{
	long i = n * q / 1000;

	if (n == 0)
		return -1.0;
	return sorted[i < n ? i : n - 1] / 1e3;
}

int
main(int argc, char *argv[])
{
	const char *site = "jinding-5", *gate = "gate-north", *prefix = "P";
	long port = 1883, rate = 0, window = 0, persons = 1, i, n, k;
	char topic[256], payload[256];
	struct mosquitto *m;
	struct timespec next;
	int64_t start, end, *sorted;
	int ch;

	while ((ch = getopt(argc, argv, "p:s:g:n:r:w:P:N:")) != -1) {
		switch (ch) {
		case 'p':
			port = num(optarg);
			break;
		case 's':
			site = optarg;
			break;
		case 'g':
			gate = optarg;
			break;
		case 'n':
			count = num(optarg);
			break;
		case 'r':
			rate = num(optarg);
			break;
		case 'w':
			window = num(optarg);
			break;
		case 'P':
			prefix = optarg;
			break;
		case 'N':
			persons = num(optarg);
			break;
		default:
			return 2;
		}
	}
	if (count <= 0 || (rate == 0) == (window == 0) || persons <= 0) {
		fprintf(stderr,
		    "usage: load -p PORT -n COUNT (-r RATE | -w "
		    "WINDOW) [-s SITE -g GATE -P PREFIX -N PERSONS]\n");
		return 2;
	}
	sent_ns = calloc(count, sizeof(*sent_ns));
	lat_ns = calloc(count, sizeof(*lat_ns));
	snprintf(run_id, sizeof(run_id), "b%ld%ld", (long)getpid(),
	    (long)time(NULL) % 100000);

	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, NULL);
	mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_max_inflight_messages_set(m, 0);
	mosquitto_message_callback_set(m, on_message);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	if (mosquitto_connect(m, "127.0.0.1", (int)port, 30) != 0) {
		fprintf(stderr, "load: cannot connect to port %ld\n", port);
		return 1;
	}
	snprintf(topic, sizeof(topic), "cg/%s/gate/%s/cmd", site, gate);
	mosquitto_subscribe(m, NULL, topic, 1);
	mosquitto_loop_start(m);
	while (!subscribed)
		usleep(1000);
	snprintf(topic, sizeof(topic), "cg/%s/gate/%s/face", site, gate);

	clock_gettime(CLOCK_MONOTONIC, &next);
	start = mono_ns();
	for (i = 0; i < count; i++) {
		if (rate) {
			next.tv_nsec += 1000000000L / rate;
			while (next.tv_nsec >= 1000000000L) {
				next.tv_nsec -= 1000000000L;
				next.tv_sec++;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
			    NULL);
		} else {
			while (atomic_load(&outstanding) >= window)
				usleep(50);
		}
		n = snprintf(payload, sizeof(payload),
		    "{\"id\":\"%s-%ld\",\"person\":\"%s%06ld\",\"score\":0.95,"
		    "\"direction\":\"in\"}",
		    run_id, i, prefix, 1 + i % persons);
		atomic_fetch_add(&outstanding, 1);
		sent_ns[i] = mono_ns();
		mosquitto_publish(m, NULL, topic, (int)n, payload, 1, false);
	}
	/* Wait for the stragglers, up to five seconds after the last. */
	for (k = 0; k < 5000 && atomic_load(&answered) < count; k++)
		usleep(1000);
	end = mono_ns();
	mosquitto_loop_stop(m, true);

	sorted = malloc(count * sizeof(*sorted));
	for (i = n = 0; i < count; i++)
		if (lat_ns[i] > 0)
			sorted[n++] = lat_ns[i];
	qsort(sorted, n, sizeof(*sorted), cmp);
	printf("{\"sent\":%ld,\"answered\":%ld,\"seconds\":%.3f,"
	       "\"answers_per_s\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f,"
	       "\"p999_us\":%.0f,\"max_us\":%.0f}\n",
	    count, n, (end - start) / 1e9, n / ((end - start) / 1e9),
	    quantile(sorted, n, 500), quantile(sorted, n, 990),
	    quantile(sorted, n, 999), n ? sorted[n - 1] / 1e3 : -1.0);
	return 0;
}
