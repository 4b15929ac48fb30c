/*
 * config_int.h - what gateway.ini's reader shares with the files that
 * read some of its sections (config_notify.c: [wechat], [incidents],
 * [care]).  Inside the configuration only.
 */
#ifndef CONFIG_INT_H
#define CONFIG_INT_H

#include "config.h"
#include "schema.h"
#include "section.h"

struct parse {
	struct config *cfg;
	struct diag *diag;
	char *dir; /* gateway.ini's directory, or "" */
	int gateway_line, password_line;
	int wechat_line; /* where [wechat] began, or 0 */
	int office_line, uplink_line;
	bool dead; /* the [device] being read has no driver: skip it */
	int alert_line[ALERT_TYPES]; /* where [alert TYPE] was, or 0 */
	bool no_secrets; /* CONFIG_NO_SECRETS: note secrets' paths only */
};

/* A secret file's path (key = value, at line) and its line, read now:
 * problems to the diag, never the secret. */
void config_secret(struct parse *, int line, const char *key, const char *value,
    char **path, char **out);

/* config_notify.c: the keys of [wechat], [incidents] and [care], which
 * fill the config itself; [care]'s steward.<building> keys. */
extern const struct schema_key config_wechat_keys[];
extern const struct schema_key config_incidents_keys[];
extern const struct schema_key config_care_keys[];
void *config_wechat_begin(struct section_reader *, int line, const char *name);
void config_care_key(struct section_reader *, void *obj, int line,
    const char *key, const char *value);
void config_notify_defaults(struct config *);
void config_notify_finish(struct parse *);
void config_notify_free(struct config *);

/* config_uplink.c: [office], [uplink] and [journal]. */
extern const struct schema_key config_office_keys[];
extern const struct schema_key config_uplink_keys[];
extern const struct schema_key config_journal_keys[];
void *config_office_begin(struct section_reader *, int line, const char *name);
void *config_uplink_begin(struct section_reader *, int line, const char *name);
void config_uplink_defaults(struct config *);
void config_uplink_finish(struct parse *);
void config_uplink_free(struct config *);

/* config_control.c: [control] and [report]. */
extern const struct schema_key config_control_keys[];
extern const struct schema_key config_report_keys[];
void config_control_defaults(struct config *);
void config_control_finish(struct parse *);
void config_control_free(struct config *);

/* config_broker.c: [broker]. */
extern const struct schema_key config_broker_keys[];
void *config_broker_begin(struct section_reader *, int line, const char *name);
void config_broker_defaults(struct config *);
void config_broker_finish(struct parse *);
void config_broker_free(struct config *);

#endif
