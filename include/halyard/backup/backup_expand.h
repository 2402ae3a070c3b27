/*
 * backup_expand.h: the %-template substituter of the backup's shell
 * commands (backup.copy_command, backup.mariadb_backup_command in halyard,
 * backup.verify_server_command in halyardctl). Pure; in a file of its own
 * so halyardctl links it without the copy thread.
 */
#ifndef HALYARD_BACKUP_EXPAND_H
#define HALYARD_BACKUP_EXPAND_H

#include <stddef.h>

#include "halyard/core/core.h"

/* %X for each letter X of `letters` replaced by values[i] (the same
 * index), single-quoted for /bin/sh (a NULL value: by nothing, not even
 * an empty word); %% by %. HY_ERROR: too long for
 * `cap`, or a letter not in `letters`. */
hy_status_t backup_expand(const char *tmpl, const char *letters, const char *const values[],
                          char *out, size_t cap) HY_MUSTCHECK;

#endif /* HALYARD_BACKUP_EXPAND_H */
