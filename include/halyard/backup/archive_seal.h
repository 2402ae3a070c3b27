/*
 * archive_seal.h: encryption at rest of the archived binary log
 * (backup.encryption_key_file), in the format of backup_crypt.h.
 *
 * The archive appends to its file as the primary's binlog streams in, and
 * a GCM tag covers a whole chunk: an encrypted file cannot be appended to
 * and cut back (the archive cuts its file to the last whole transaction
 * when a stream ends, and moves a failover's lost tail out of it). So the
 * file being written stays in clear, mode 0600, and is sealed when it is
 * closed (the next stream's file opens):
 *
 *   binlog.NNNNNN                the file being written (or one from a
 *                                config without a key): clear
 *   binlog.NNNNNN.KEYID.enc      sealed: its name carries the key's id
 *                                (hex, backup_crypt.h), never the key
 *
 * A seal writes NAME.KEYID.enc.partial, fsyncs it, renames it, fsyncs the
 * directory, then unlinks the clear file; a crash leaves either the clear
 * file whole (and a .partial, removed), or both (the clear one removed),
 * never a sealed file cut short. The archive's start (archive_seal_tidy)
 * settles both cases and seals what a crash left in clear.
 */
#ifndef HALYARD_ARCHIVE_SEAL_H
#define HALYARD_ARCHIVE_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/backup/backup_crypt.h"
#include "halyard/core/core.h"
#include "halyard/core/gtid.h"

#define ARCHIVE_SEALED_SUFFIX ".enc"

enum archive_kind { ARCHIVE_NOT = 0, ARCHIVE_CLEAR, ARCHIVE_SEALED };

/* What a directory entry is: binlog.NNNNNN (clear) or
 * binlog.NNNNNN.KEYID.enc (sealed; key_id, 17 bytes, gets the id), with
 * its number; ARCHIVE_NOT for anything else (.lost, .partial, the index). */
enum archive_kind archive_name_parse(const char *name, uint32_t *no, char *key_id);

/* One file of the archive, as archive_list finds it. */
struct archive_file {
    uint32_t no;
    enum archive_kind kind;
    char name[64]; /* binlog.NNNNNN or binlog.NNNNNN.KEYID.enc */
};

/* The archive files of `dir` (clear and sealed; names archive_name_parse
 * knows, .partial and the rest left out), by number, a clear file before
 * its sealed twin (a seal cut short by a crash leaves both). *out is
 * malloc'd, NULL when there are none. HY_ERROR (errno set) when the
 * directory cannot be read or memory runs out: *out NULL, *n 0. */
hy_status_t archive_list(const char *dir, struct archive_file **out, size_t *n) HY_MUSTCHECK;

/* The name of file `no`: sealed under key_id, or clear when key_id is
 * NULL or "". */
void archive_name_make(char *out, size_t cap, uint32_t no, const char *key_id);

/* Seal the clear file dir/binlog.NNNNNN (see above); on success the clear
 * file is gone and sealed (when not NULL) has the new name. HY_ERROR with
 * why (the file named). */
HY_MUSTCHECK hy_status_t archive_seal(const char *dir, uint32_t no,
                                      const struct backup_crypt_key *k, char *sealed,
                                      size_t sealed_cap, char *why, size_t wl);

/* Seal any file src into dst (written as dst.partial, fsync'd, renamed;
 * src left alone). */
HY_MUSTCHECK hy_status_t archive_seal_file(const char *src, const char *dst,
                                           const struct backup_crypt_key *k, char *why, size_t wl);

/* Open the sealed file src into a clear dst of mode 0600 (through
 * dst.partial, fsync'd, renamed) under one of keys[]; every tag checked.
 * HY_ERROR with why naming src (a tag that fails, an unknown key id, a
 * cut file). */
HY_MUSTCHECK hy_status_t archive_unseal(const char *src, const char *dst,
                                        const struct backup_crypt_key *keys, size_t n_keys,
                                        char *why, size_t wl);

/* At the archive's start: .partial files removed, a clear file beside its
 * sealed twin removed, and, with k, every clear file but the newest
 * sealed. The number sealed; errors logged. */
size_t archive_seal_tidy(const char *dir, const struct backup_crypt_key *k);

/* The GTID_LIST at the start of archive file dir/name (clear or sealed:
 * only its first chunk opened, under keys[]): where the file begins.
 * HY_ERROR when it cannot be read. */
HY_MUSTCHECK hy_status_t archive_file_start(const char *dir, const char *name,
                                            const struct backup_crypt_key *keys, size_t n_keys,
                                            struct gtid_pos *start);

#endif /* HALYARD_ARCHIVE_SEAL_H */
