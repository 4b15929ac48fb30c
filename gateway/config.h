/*
 * config.h - the installation, gateway.ini, parsed and checked whole.
 * Read once at start; devices are built here and handed to their drivers.
 * The access tables (who may pass) are access.h's, not this file's.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "alert.h"
#include "diag.h"
#include "incident.h"

struct device;

enum bus_type {
	BUS_RTU = 1, /* an RS-485 port: Modbus RTU */
	BUS_TCP,     /* a TCP endpoint: Modbus TCP */
};

/* [bus NAME]: one RS-485 port or one TCP endpoint, and its pace.  The
 * bus layer (bus.h) gives each its own thread. */
struct bus_config {
	char *name;
	enum bus_type type;
	char *port; /* RTU: /dev/ttyUSB0 */
	int baud;   /* RTU: 9600 */
	int parity; /* RTU: 'N', 'E' or 'O' */
	int data_bits, stop_bits;
	char *host;     /* TCP */
	int tcp_port;   /* TCP: 502 */
	int timeout_ms; /* connect and response, default 500 */
	int poll_ms;    /* its devices' pace when they set none (1000) */
	int gap_ms;     /* quiet time between frames (RTU default 5, TCP 0) */
	char *file;     /* where it was configured */
	int line;
};

enum config_sync {
	CONFIG_SYNC_NORMAL, /* WAL, synchronous=NORMAL: a power cut loses <~1 s
	                     */
	CONFIG_SYNC_FULL,   /* synchronous=FULL: nothing lost, slower */
};

enum config_check_ts {
	CONFIG_CHECK_TS_AUTO, /* refuse stale requests when NTP says synced */
	CONFIG_CHECK_TS_YES,
	CONFIG_CHECK_TS_NO,
};

/* [wechat]: the group robot (DESIGN 4.6); off without a key file. */
#define CONFIG_WECHAT_URL "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
#define CONFIG_MOBILE_MAX 15 /* digits of a mobile number, and a + */

struct config_wechat {
	char *key_file; /* NULL: no robot; alerts are journaled only */
	char *key;      /* the key_file's line, read at load; never logged */
	char *base_url; /* the robot's, or a stand-in's in tests */
	int per_minute; /* messages the robot takes a minute (20) */
	int urgent_reserve;  /* of them, kept for messages that ring (5) */
	int timeout_s;       /* a whole request (10) */
	char **duty_mobiles; /* rung by urgent alerts, re-alerts, escalations */
	size_t nduty;
};

/* [office]: the property office's HTTPS endpoint (DESIGN 4.5). */
struct config_office {
	char *url;        /* NULL: no office sink */
	char *token_file; /* its content is the Bearer token */
	char *token;      /* read at load, again on SIGHUP; never logged */
	char *ca_file; /* in place of the system's store; NULL: the system's */
	int batch;     /* records a request (500) */
	int timeout_s; /* a whole request (30) */
};

/* [uplink]: the central broker, MQTT over TLS (DESIGN 4.5). */
struct config_uplink {
	char *host;      /* NULL: no uplink */
	int port;        /* 8883 */
	char *client_id; /* cg-<site>-uplink */
	char *username, *password_file, *password;
	char *ca_file, *cert_file, *key_file;
	int keepalive; /* seconds (30) */
	int inflight;  /* records published and not yet acknowledged (100) */
};

/* [journal]: retention and the disk budget. */
struct config_journal {
	double keep_days; /* delivered records older than this go (180) */
	int max_mb;       /* pages in use, database and WAL; 0: no budget */
};

/* [control]: gatewayctl's socket (DESIGN 3). */
#define CONFIG_CONTROL_SOCKET "/run/community-gateway/control"
struct config_control {
	char *socket; /* the control socket's path */
	char *group;  /* who may use it, besides root and the gateway's user */
	long gid;     /* its id; -1: no group */
};

/* [report]: the daily report. */
struct config_report {
	int at_min;     /* minute of the local day it is sent (07:30); -1 off */
	char *key_file; /* its own robot's key; NULL: the alerts robot */
	char *key;
};

/*
 * [broker]: what `gatewayctl broker DIR` writes for mosquitto (DESIGN
 * 4.3): its listeners, and the staff's and displays' identities.  The
 * gateway itself reads none of its secrets.
 */
struct config_broker {
	char *listen;              /* "0.0.0.0:1883" as given */
	char *listen_addr;         /* "0.0.0.0"; "" for every address */
	int listen_port;           /* 1883 */
	char *tls_listen;          /* NULL: no TLS listener */
	char *tls_addr;            /* as listen_addr */
	int tls_port;              /* 8883 */
	char *ca_file;             /* TLS: client certificates' CA (optional) */
	char *cert_file;           /* TLS: the broker's certificate */
	char *key_file;            /* TLS: its private key */
	char *staff_password_file; /* NULL: no staff identity */
	char *display_password_file; /* NULL: no display identity */
	int line;                    /* where [broker] began, or 0 */
};

/* [care]: wellbeing checks (DESIGN 5), in minutes. */
struct config_steward {
	char *building; /* the first part of a household: 5 of 5-2-301 */
	char *mobile;
	int line;
};

struct config_care {
	double daily_min, weekly_min, monthly_min;
	struct config_steward *stewards;
	size_t nstewards;
};

struct config {
	char *path; /* gateway.ini as given on the command line */

	/* [gateway] */
	char *site;       /* required: [a-z0-9_-]+, used in topics and ids */
	char *name;       /* the compound's name, for people */
	char *timezone;   /* default Asia/Shanghai */
	char *data_dir;   /* absolute, or resolved against gateway.ini's dir */
	char *access_dir; /* likewise */
	enum config_sync sync;
	enum config_check_ts check_ts;
	int stale_s; /* a request older than this is stale (30) */

	/* [mqtt] */
	char *mqtt_host;      /* default 127.0.0.1 */
	int mqtt_port;        /* default 1883 */
	char *mqtt_client_id; /* default "cg-<site>" */
	char *mqtt_username;  /* optional */
	char *mqtt_password_file;
	char *mqtt_password; /* read from password_file; never logged */
	char *topic_prefix;  /* default "cg/<site>" */
	int mqtt_keepalive;  /* seconds, default 30 */
	size_t max_payload;  /* bytes, default 4096 */

	/* [privacy] */
	bool keep_snapshots; /* default no */

	/* [parking] */
	int parking_capacity;  /* spaces; 0: not counted against */
	int visitor_max_hours; /* a visitor's car inside longer: overstay;
	                        * 0: only the visit's window counts */
	int repeat_s;          /* a plate read again this soon: still waiting */

	/* [alert TYPE]: each type's settings, by alert_type_index(), its
	 * built-in default where gateway.ini has no section for it */
	struct alert_settings alerts[ALERT_TYPES];

	struct config_wechat wechat;
	struct config_office office;
	struct config_uplink uplink;
	struct config_journal journal;
	struct incident_settings incidents; /* [incidents] */
	struct config_care care;
	struct config_control control;
	struct config_report report;
	struct config_broker broker;

	/* [bus NAME], in file order */
	struct bus_config **buses;
	size_t nbuses;

	/* [device ID], in file order */
	struct device **devices;
	size_t ndevices;
};

/*
 * Parse and check gateway.ini.  Every problem is added to diag as
 * "file:line: message"; the result is NULL when there was any.
 */
struct config *config_load(const char *path, struct diag *);
/*
 * The same; CONFIG_NO_SECRETS: secret files (and private keys) are only
 * named, not read or checked: gatewayctl runs as staff, who may not
 * read them.
 */
#define CONFIG_NO_SECRETS 1u
struct config *config_load_flags(const char *path, struct diag *,
    unsigned flags);
void config_free(struct config *);

/* The device with this id, or NULL. */
struct device *config_device(const struct config *, const char *id);
/* The bus called name, or NULL. */
const struct bus_config *config_bus(const struct config *, const char *name);
/* The settings of an alert type (a camera type, device_offline, ...)
 * as [alert TYPE] or its default says, or NULL when there is no such
 * type. */
const struct alert_settings *config_alert(const struct config *,
    const char *type);
/* The steward's mobile for the building of household (5 of 5-2-301),
 * or NULL when [care] names none. */
const char *config_steward(const struct config *, const char *household);
/* How many devices of the given class (enum device_class) there are. */
size_t config_count_class(const struct config *, int device_class);

#endif
