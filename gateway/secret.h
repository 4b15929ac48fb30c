/*
 * secret.h - a secret read from a file named in the configuration (the
 * MQTT password, later the office token and the WeChat key): the file
 * must be a regular file that others cannot read.  A secret never
 * reaches a message, a log line or a buffer left behind.
 */
#ifndef SECRET_H
#define SECRET_H

#include <stddef.h>

/*
 * The first line of path, without its line end, into a new string in
 * *out.  0, or -1 with err saying what is wrong with the file ("etc/pw
 * must not be accessible to others (chmod o-rwx etc/pw)"); the secret
 * itself is never in err.
 */
int secret_read(const char *path, char **out, char *err, size_t errlen);

/* Wipe and free a secret; NULL is harmless. */
void secret_free(char *);

#endif
