/*
 * backup_stream.h: the bytes of a backup file, both ways. A writer
 * compresses (backup.compression: gzip, zstd or none) and then, with a
 * key, encrypts (backup_crypt.h) what a backup's command wrote, handing the
 * result to a sink (the file and its SHA-256); a reader undoes both for
 * restore and verify.
 *
 * The reader needs no manifest: an encrypted file starts with HYCRYPT1,
 * and the plaintext with gzip's (1f 8b) or zstd's (28 b5 2f fd) magic, or
 * neither (none). It checks what it can at the end: every chunk's tag on
 * the way, the last chunk, and that the compressed stream ended whole.
 * Since a dump is applied while it is read, restore first reads an
 * encrypted file through once (backup_stream_check), so a damaged chunk
 * anywhere refuses the restore before anything is loaded.
 */
#ifndef HALYARD_BACKUP_STREAM_H
#define HALYARD_BACKUP_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "halyard/backup/backup_crypt.h"
#include "halyard/config/config.h"
#include "halyard/core/core.h"

enum backup_comp { BACKUP_COMP_GZIP, BACKUP_COMP_ZSTD, BACKUP_COMP_NONE };

struct backup_writer;
struct backup_reader;

/* "gzip", "zstd", "none". */
const char *backup_comp_name(enum backup_comp c);
/* The file name's ending for a backup of this kind: ".sql" or ".xb", then
 * ".gz", ".zst" or nothing, then ".enc" when encrypted. */
void backup_stream_suffix(bool physical, enum backup_comp c, bool sealed, char *out, size_t cap);
/* The length of a backup file name's ending (any of the above); 0 when
 * the name is not a backup file's. */
size_t backup_stream_suffix_len(const char *name);

/* The keys readers use, from cfg's backup section: backup.encryption_key_file's
 * (when set), then backup.decryption_key_files'. Set once by halyardctl
 * before restore or verify (not thread-safe: the writer takes its key from
 * the job's config instead). */
void backup_keys_set(const struct config *cfg);
const struct backup_crypt_key *backup_keys(size_t *n);

/* A writer; key NULL = not encrypted. NULL when out of memory. */
struct backup_writer *backup_writer_create(enum backup_comp c, const struct backup_crypt_key *key,
                                           backup_crypt_out_fn sink, void *ctx);
HY_MUSTCHECK hy_status_t backup_writer_write(struct backup_writer *w, const uint8_t *p, size_t n);
/* Ends the compressed stream and the last chunk. */
HY_MUSTCHECK hy_status_t backup_writer_finish(struct backup_writer *w);
/* The plaintext bytes written so far (before compression). */
uint64_t backup_writer_plain(const struct backup_writer *w);
void backup_writer_destroy(struct backup_writer *w);

/* The longest backup_reader_error(): the file's path (up to 400 bytes) and
 * what failed. */
#define BACKUP_READER_ERROR_MAX 600

/* Open a backup file through the keys of backup_keys(). NULL with why. */
struct backup_reader *backup_reader_open(const char *path, char *why, size_t wl);
/* Up to cap bytes of plaintext; 0 at the end (everything checked), -1 on
 * an error (backup_reader_error: what, with the file's name). */
ssize_t backup_reader_read(struct backup_reader *r, uint8_t *buf, size_t cap);
const char *backup_reader_error(const struct backup_reader *r);
/* Bytes of the file read so far (a progress meter's position). */
uint64_t backup_reader_offset(const struct backup_reader *r);
/* What the file is: "gzip"/"zstd"/"none", and its key id ("" clear). */
const char *backup_reader_comp(const struct backup_reader *r);
const char *backup_reader_key_id(const struct backup_reader *r);
void backup_reader_close(struct backup_reader *r);

/* Read the whole file through (tags, last chunk, compressed stream);
 * HY_ERROR with why naming the file. *plain: bytes of plaintext. */
HY_MUSTCHECK hy_status_t backup_stream_check(const char *path, uint64_t *plain, char *why,
                                             size_t wl);

#endif
