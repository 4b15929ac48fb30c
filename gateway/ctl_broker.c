/*
 * ctl_broker.c - gatewayctl broker DIR: gateway.ini made into mosquitto's
 * configuration, so that only the gateway opens gates.  Every identity
 * (the gateway, each device that is a broker client, staff, displays)
 * gets a password and may say only what its role says; nobody else may
 * connect.  It writes files and asks nothing of gatewayd.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "driver.h"
#include "secret.h"
#include "util.h"

#define CONF_NAME        "community-gateway.conf"
#define SECRET_LEN       24          /* alphanumerics: about 143 bits */
#define BROKER_GROUP     "mosquitto" /* the user Debian's mosquitto runs as */
#define STAFF_USER       "staff"
#define DISPLAY_USER     "display"
#define MOSQUITTO_PASSWD "mosquitto_passwd"

/* One identity on the broker. */
#define SERVICE_GROUP "community-gateway"

struct ident {
	const char *user;
	const char *password_file;
	char *password;
	const struct device *dev; /* NULL: the gateway, staff or display */
};

struct job {
	struct ctl *c;
	const char *dir;
	struct ident *ids;
	size_t nids;
	int made; /* password files made now */
};

/* A fresh secret, alphanumerics only: mosquitto_passwd -U splits its
 * lines at ':'. */
static int
make_secret(char *out, size_t len)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                               "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b;
	size_t n = 0;

	while (n < len) {
		if (getrandom(&b, 1, 0) != 1)
			return -1;
		if (b >= 248) /* 4 * 62: no bias */
			continue;
		out[n++] = alphabet[b % 62];
	}
	out[n] = '\0';
	explicit_bzero(&b, sizeof(b));
	return 0;
}

/* The directory a new password file goes in (devices/ beside
 * gateway.ini, say), private: one level only. */
static int
make_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	if (slash == NULL || slash == path ||
	    (size_t)(slash - path) >= sizeof(dir))
		return -1;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return mkdir(dir, 0700);
}

/* As root, where the service's group exists: root:community-gateway
 * 0640.  Otherwise the file stays 0600, its maker's. */
static void
give_to_service(int fd, const char *path)
{
	struct group *g = getuid() == 0 ? getgrnam(SERVICE_GROUP) : NULL;

	if (g != NULL && (fchown(fd, 0, g->gr_gid) < 0 || fchmod(fd, 0640) < 0))
		fprintf(stderr,
		    "gatewayctl broker: %s: cannot give it to group %s (%s): "
		    "chown root:%s and chmod 0640 it by hand\n",
		    path, SERVICE_GROUP, strerror(errno), SERVICE_GROUP);
}

/*
 * The identity's secret: its file read, or made (0600, a new secret that
 * is printed once, for the installer to give to the device).
 */
static int
load_secret(struct job *j, struct ident *id)
{
	char err[512], secret[SECRET_LEN + 1];
	struct stat st;
	int fd;

	if (stat(id->password_file, &st) == 0 || errno != ENOENT) {
		if (secret_read(id->password_file, &id->password, err,
		        sizeof(err)) < 0) {
			fprintf(stderr, "gatewayctl broker: %s: %s\n", id->user,
			    err);
			return -1;
		}
		if (id->password[0] == '\0' ||
		    strpbrk(id->password, ":") != NULL) {
			fprintf(stderr,
			    "gatewayctl broker: %s: the password in %s is "
			    "empty or has a ':' (mosquitto_passwd cannot "
			    "take it)\n",
			    id->user, id->password_file);
			return -1;
		}
		return 0;
	}
	if (make_secret(secret, SECRET_LEN) < 0) {
		fprintf(stderr, "gatewayctl broker: no random bytes: %s\n",
		    strerror(errno));
		return -1;
	}
	fd = open(id->password_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600);
	if (fd < 0 && errno == ENOENT && make_parent(id->password_file) == 0)
		fd = open(id->password_file,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, secret, SECRET_LEN) != SECRET_LEN ||
	    write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		fprintf(stderr, "gatewayctl broker: %s: %s\n",
		    id->password_file, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(id->password_file);
		}
		explicit_bzero(secret, sizeof(secret));
		return -1;
	}
	/* The gateway's own is read by the service's user (not root):
	 * root's, its group's to read, as every secret gatewayd reads. */
	if (id->dev == NULL && j->c->cfg->mqtt_username != NULL &&
	    strcmp(id->user, j->c->cfg->mqtt_username) == 0)
		give_to_service(fd, id->password_file);
	close(fd);
	id->password = strdup(secret);
	if (id->password == NULL) {
		explicit_bzero(secret, sizeof(secret));
		return -1;
	}
	/* Once, here, for the installer: it is in no log and no file but
	 * its own. */
	printf("new password for %s (kept in %s): %s\n", id->user,
	    id->password_file, secret);
	explicit_bzero(secret, sizeof(secret));
	j->made++;
	return 0;
}

static int
add(struct job *j, const char *user, const char *password_file,
    const struct device *dev)
{
	size_t i;

	for (i = 0; i < j->nids; i++)
		if (strcmp(j->ids[i].user, user) == 0) {
			fprintf(stderr,
			    "gatewayctl broker: two identities called '%s' "
			    "(a device may not be called %s, %s or the "
			    "gateway's username)\n",
			    user, STAFF_USER, DISPLAY_USER);
			return -1;
		}
	j->ids[j->nids++] = (struct ident){ .user = user,
		.password_file = password_file,
		.dev = dev };
	return 0;
}

/* Who may connect: the gateway, its devices that connect themselves,
 * staff and displays when gateway.ini names their password files. */
static int
collect(struct job *j)
{
	const struct config *cfg = j->c->cfg;
	const struct device *dev;
	size_t i;
	int rc = 0;

	if (cfg->mqtt_username == NULL || cfg->mqtt_password_file == NULL) {
		fprintf(stderr,
		    "gatewayctl broker: the gateway has no identity: set "
		    "[mqtt] username and password_file in %s\n",
		    cfg->path);
		return -1;
	}
	j->ids = calloc(cfg->ndevices + 3, sizeof(*j->ids));
	if (j->ids == NULL)
		return -1;
	rc |= add(j, cfg->mqtt_username, cfg->mqtt_password_file, NULL);
	if (cfg->broker.staff_password_file != NULL)
		rc |= add(j, STAFF_USER, cfg->broker.staff_password_file, NULL);
	if (cfg->broker.display_password_file != NULL)
		rc |= add(j, DISPLAY_USER, cfg->broker.display_password_file,
		    NULL);
	for (i = 0; i < cfg->ndevices; i++) {
		dev = cfg->devices[i];
		if (!device_mqtt_client(dev))
			continue;
		if (dev->password_file == NULL) {
			fprintf(stderr,
			    "gatewayctl broker: warning: device %s has no "
			    "password_file: it cannot connect\n",
			    dev->id);
			continue;
		}
		rc |= add(j, dev->id, dev->password_file, dev);
	}
	return rc;
}

/* ---- the files ---- */

/*
 * What mosquitto reads with its privileges dropped (on a reload, always):
 * root's, and its group's to read when that group exists and we may give
 * it; otherwise ours alone.
 */
static int
set_owner(int fd, const char *path)
{
	struct group *g = getuid() == 0 ? getgrnam(BROKER_GROUP) : NULL;

	if (g != NULL) {
		if (fchown(fd, 0, g->gr_gid) < 0 || fchmod(fd, 0640) < 0) {
			fprintf(stderr, "gatewayctl broker: %s: %s\n", path,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	return fchmod(fd, 0600);
}

/* path.tmp, to be renamed over path once complete. */
static FILE *
open_tmp(const char *path, char *tmp, size_t size, int mode)
{
	FILE *f;
	int fd;

	snprintf(tmp, size, "%s.tmp", path);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "gatewayctl broker: %s: %s\n", tmp,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return f;
}

/* Written out, synced, and in place; tmp gone either way. */
static int
close_tmp(FILE *f, const char *tmp, const char *path, bool group)
{
	int rc = 0;

	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) < 0 ||
	    (group && set_owner(fileno(f), tmp) < 0))
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -1;
	if (rc < 0) {
		fprintf(stderr, "gatewayctl broker: %s: %s\n", path,
		    strerror(errno));
		unlink(tmp);
	}
	return rc;
}

static void
listener(FILE *f, int port, const char *addr)
{
	if (addr[0] != '\0')
		fprintf(f, "listener %d %s\n", port, addr);
	else
		fprintf(f, "listener %d\n", port);
}

static int
write_conf(struct job *j)
{
	const struct config_broker *b = &j->c->cfg->broker;
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/" CONF_NAME, j->dir);
	f = open_tmp(path, tmp, sizeof(tmp), 0644);
	if (f == NULL)
		return -1;
	fprintf(f,
	    "# Written by gatewayctl broker from %s: run it again rather\n"
	    "# than edit.  Only the identities in passwd may connect, each\n"
	    "# to the topics acl gives it.\n"
	    "per_listener_settings false\n"
	    "allow_anonymous false\n"
	    "password_file %s/passwd\n"
	    "acl_file %s/acl\n"
	    "# No client may take over another's session: the client id is\n"
	    "# the username.\n"
	    "use_username_as_clientid true\n"
	    "# Nagle off: every answer to a gate would wait ~40 ms.\n"
	    "set_tcp_nodelay true\n",
	    j->c->cfg->path, j->dir, j->dir);
	listener(f, b->listen_port, b->listen_addr);
	if (b->tls_listen != NULL) {
		listener(f, b->tls_port, b->tls_addr);
		fprintf(f, "certfile %s\nkeyfile %s\n", b->cert_file,
		    b->key_file);
		if (b->ca_file != NULL)
			fprintf(f, "cafile %s\n", b->ca_file);
	}
	return close_tmp(f, tmp, path, false);
}

/* What one device may say: its own subtopics and status, its own cmd. */
static void
acl_device(FILE *f, const char *prefix, const struct device *dev)
{
	const struct driver_mqtt *m = dev->driver->mqtt;
	const char *vendor = m->topic != NULL ? m->topic(dev) : NULL;
	size_t i, first;

	fprintf(f, "\nuser %s\n", dev->id);
	if (vendor != NULL) {
		/* A vendor's box (Frigate) publishes under its own first
		 * level; never under ours. */
		first = strcspn(vendor, "/");
		if (strncmp(vendor, prefix, first) == 0 &&
		    (prefix[first] == '/' || prefix[first] == '\0'))
			fprintf(f, "topic write %s\n", vendor);
		else
			fprintf(f, "topic readwrite %.*s/#\n", (int)first,
			    vendor);
		return;
	}
	for (i = 0; m->subtopics[i] != NULL; i++)
		fprintf(f, "topic write %s/%s/%s/%s\n", prefix, m->kind,
		    dev->id, m->subtopics[i]);
	fprintf(f, "topic write %s/%s/%s/status\n", prefix, m->kind, dev->id);
	if (m->encode != NULL)
		fprintf(f, "topic read %s/%s/%s/cmd\n", prefix, m->kind,
		    dev->id);
}

static int
write_acl(struct job *j)
{
	const struct config *cfg = j->c->cfg;
	const char *p = cfg->topic_prefix;
	char path[4096], tmp[4200];
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/acl", j->dir);
	f = open_tmp(path, tmp, sizeof(tmp), 0600);
	if (f == NULL)
		return -1;
	fprintf(f,
	    "# Written by gatewayctl broker from %s: run it again rather\n"
	    "# than edit.  Nothing before the first user: anonymous\n"
	    "# clients (none are let in) could do nothing anyway.\n",
	    cfg->path);
	/* The gateway reads every device and alone commands, answers and
	 * publishes events and states; and it reads vendors' topics. */
	fprintf(f, "\nuser %s\ntopic readwrite %s/#\n", cfg->mqtt_username, p);
	for (i = 0; i < cfg->ndevices; i++) {
		const struct device *dev = cfg->devices[i];

		if (device_mqtt_client(dev) && dev->driver->mqtt->topic)
			fprintf(f, "topic read %s\n",
			    dev->driver->mqtt->topic(dev));
	}
	if (cfg->broker.staff_password_file != NULL)
		fprintf(f,
		    "\nuser " STAFF_USER "\n"
		    "topic write %s/fire/reset\n"
		    "topic write %s/fire/test\n"
		    "topic read %s/fire/result\n"
		    "topic write %s/incident/+/ack\n"
		    "topic write %s/incident/+/resolve\n"
		    "topic read %s/incident/+/result\n"
		    "topic read %s/incident/+/state\n"
		    "topic write %s/charger/+/+/cmd\n"
		    "topic read %s/charger/+/+/result\n"
		    "topic read %s/charger/+/+/state\n"
		    "topic read %s/gateway/status\n",
		    p, p, p, p, p, p, p, p, p, p, p);
	if (cfg->broker.display_password_file != NULL)
		fprintf(f,
		    "\nuser " DISPLAY_USER "\n"
		    "topic read %s/events/#\n"
		    "topic read %s/gateway/status\n",
		    p, p);
	for (i = 0; i < j->nids; i++)
		if (j->ids[i].dev != NULL)
			acl_device(f, p, j->ids[i].dev);
	return close_tmp(f, tmp, path, true);
}

/* mosquitto_passwd ARGS, waited for: 0 when it succeeded. */
static int
run_passwd(const char *flag, const char *file)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execlp(MOSQUITTO_PASSWD, MOSQUITTO_PASSWD, flag, file,
		    (char *)NULL);
		fprintf(stderr,
		    "gatewayctl broker: %s: %s (apt-get install "
		    "mosquitto)\n",
		    MOSQUITTO_PASSWD, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/*
 * passwd: "user:password" lines in a private file, hashed in place by
 * mosquitto_passwd -U (passwords on its command line would be in
 * /proc for anyone to read), then made mosquitto's and put in place.
 */
static int
write_passwd(struct job *j)
{
	char path[4096], tmp[4200];
	size_t i;
	FILE *f;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/passwd", j->dir);
	f = open_tmp(path, tmp, sizeof(tmp), 0600);
	if (f == NULL)
		return -1;
	for (i = 0; i < j->nids; i++)
		fprintf(f, "%s:%s\n", j->ids[i].user, j->ids[i].password);
	rc = fflush(f) != 0 || ferror(f) ? -1 : 0;
	fclose(f);
	if (rc == 0 && run_passwd("-U", tmp) < 0) {
		fprintf(stderr, "gatewayctl broker: %s -U %s failed\n",
		    MOSQUITTO_PASSWD, tmp);
		rc = -1;
	}
	if (rc < 0) {
		unlink(tmp);
		return -1;
	}
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || set_owner(fd, tmp) < 0 || fsync(fd) < 0 ||
	    rename(tmp, path) < 0) {
		fprintf(stderr, "gatewayctl broker: %s: %s\n", path,
		    strerror(errno));
		rc = -1;
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
broker_run(struct ctl *c, int argc, char **argv)
{
	struct job j = { .c = c };
	struct stat st;
	char *dir;
	size_t i, devices = 0;
	int rc = CTL_REFUSED;

	for (i = 1; i < (size_t)argc; i++)
		if (argv[i][0] == '-' && strcmp(argv[i], "--") != 0)
			return ctl_usage(argv[0], "unknown option %s", argv[i]);
	if (argc != 2 && !(argc == 3 && strcmp(argv[1], "--") == 0))
		return ctl_usage(argv[0],
		    "where? one directory (/etc/mosquitto/conf.d)");
	/* mosquitto reads the paths in the .conf from wherever it runs:
	 * they are absolute. */
	dir = realpath(argv[argc - 1], NULL);
	if (dir == NULL || stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "gatewayctl broker: %s: %s\n", argv[argc - 1],
		    dir == NULL ? strerror(errno) : "not a directory");
		free(dir);
		return CTL_REFUSED;
	}
	j.dir = dir;
	if (collect(&j) < 0)
		goto done;
	for (i = 0; i < j.nids; i++)
		if (load_secret(&j, &j.ids[i]) < 0)
			goto done;
	/* passwd before acl before the .conf: a broker reloaded half-way
	 * through sees new names with old rules, never the reverse. */
	if (write_passwd(&j) < 0 || write_acl(&j) < 0 || write_conf(&j) < 0)
		goto done;
	for (i = 0; i < j.nids; i++)
		if (j.ids[i].dev != NULL)
			devices++;
	printf("%s/" CONF_NAME ", %s/acl, %s/passwd: %zu identities (the "
	       "gateway, %zu devices%s%s)\n"
	       "reload the broker: systemctl reload mosquitto\n",
	    j.dir, j.dir, j.dir, j.nids, devices,
	    c->cfg->broker.staff_password_file ? ", staff" : "",
	    c->cfg->broker.display_password_file ? ", display" : "");
	rc = CTL_OK;
done:
	for (i = 0; i < j.nids; i++)
		secret_free(j.ids[i].password);
	free(j.ids);
	free(dir);
	return rc;
}

const struct ctl_command ctl_broker_command = {
	.name = "broker",
	.summary = "write mosquitto's identities and access rules",
	.help = "usage: gatewayctl [-c gateway.ini] broker DIR\n"
	        "\n"
	        "Writes mosquitto's configuration for the compound into DIR\n"
	        "(/etc/mosquitto/conf.d on a Debian broker; the files name\n"
	        "each other by absolute path):\n"
	        "  " CONF_NAME "  listeners from [broker] listen (default\n"
	        "      0.0.0.0:1883) and tls_listen; no anonymous clients;\n"
	        "      the client id is the username, so no client can take\n"
	        "      over another's session\n"
	        "  acl     who may say what: each device only its own topics\n"
	        "      (cg/<site>/<kind>/<id>/...) and status, and read only\n"
	        "      its own cmd; a Frigate NVR only frigate/#; the gateway\n"
	        "      ([mqtt] username) everything under the topic prefix,\n"
	        "      and it alone commands gates; staff (user \"staff\",\n"
	        "      [broker] staff_password_file) fire reset and test,\n"
	        "      incident ack and resolve, charger commands, and their\n"
	        "      answers; displays (user \"display\",\n"
	        "      display_password_file) read events\n"
	        "  passwd  the identities, hashed by mosquitto_passwd\n"
	        "\n"
	        "Identities: the gateway ([mqtt] username and password_file),\n"
	        "every device that connects itself ([device X] "
	        "password_file;\n"
	        "its user name is its id), staff and display.  A password "
	        "file\n"
	        "that does not exist is made (mode 0600) with a new random\n"
	        "password, printed once here for the installer to give to "
	        "the\n"
	        "device; it appears in no log.  acl and passwd are root's "
	        "and\n"
	        "group mosquitto's to read (0640), which mosquitto needs on "
	        "a\n"
	        "reload; 0600 where there is no such group.\n"
	        "\n"
	        "Run it again after adding or removing a device, then\n"
	        "  systemctl reload mosquitto\n"
	        "A removed device's identity is gone from passwd: it can no\n"
	        "longer connect.  Run as root: it reads every password "
	        "file.\n"
	        "\n"
	        "exit status: 0 written, 1 refused or failed (nothing is\n"
	        "half-written: each file is replaced whole), 2 usage\n",
	.run = broker_run,
};
