/*
 * journal_ids.h - the highest id the journal may have handed out, kept
 * durably in data_dir/journal.ids, outside journal.db: ids are reserved
 * in blocks, and a block's bound is on disk before any of its ids is
 * used, so no loss of journal.db (deleted, emptied, a power cut before
 * the WAL was synced) can make an id be handed out twice.
 */
#ifndef JOURNAL_IDS_H
#define JOURNAL_IDS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The bound in data_dir/journal.ids into *bound: 0 if there is no file.
 * -1 if it cannot be read (err says why); -2 if it holds no bound (err
 * says so; *bound is 0), which the next journal_ids_write() mends.
 */
int journal_ids_read(const char *data_dir, int64_t *bound, char *err,
    size_t errsize);
/*
 * Replace the bound durably: a temporary file written and fsynced,
 * renamed over journal.ids, the directory fsynced.  0 or -1 (err says
 * why), in which case the old bound stays.
 */
int journal_ids_write(const char *data_dir, int64_t bound, char *err,
    size_t errsize);

#endif
