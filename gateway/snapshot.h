/*
 * snapshot.h - the last access.d that loaded, kept in data_dir: a start
 * whose access.d does not validate (a file saved as GBK weeks ago, found
 * only at the next power cut) runs on it instead of leaving every gate
 * unanswered.  Files are copied as they are; the snapshot is a directory
 * that a symlink names, swapped in one rename.
 */
#ifndef SNAPSHOT_H
#define SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct config;

/*
 * Copy the regular *.ini files of cfg's access_dir to data_dir/
 * access.good, and keep the copy only if it loads: the files may have
 * changed since the tables in force were read.  Saves are serialised by
 * a lock in data_dir.  Safe on a worker thread.  0, or -1 (logged): the
 * old snapshot stays.
 */
int snapshot_save(const struct config *cfg);

/*
 * The directory of the snapshot into path, and when it was saved (epoch
 * ms) into *saved_ms.  0, or -1 when there is none.
 */
int snapshot_find(const char *data_dir, char *path, size_t size,
    int64_t *saved_ms);

#endif
