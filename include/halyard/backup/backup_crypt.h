/*
 * backup_crypt.h: encryption at rest of backup files (backup.encryption_key_file).
 *
 * A file is a header then chunks, each sealed with AES-256-GCM, so a
 * reader checks every chunk's tag before it hands out a byte of it:
 *
 *   header (40 bytes): "HYCRYPT1", version 1, cipher 1 (AES-256-GCM),
 *     2 bytes zero, the chunk size (u32, big-endian), the key id (the
 *     first 8 bytes of SHA-256 of the key), a random 16-byte salt.
 *   chunk i: its plaintext length L (u32 BE; the top bit marks the last
 *     chunk), L bytes of ciphertext, the 16-byte tag.
 *
 * Each file has a key of its own, HMAC-SHA256(key, salt || "halyard
 * backup v1"), so the nonce can be the chunk's index (12 bytes, zero but
 * the last four) with no risk of reuse across files. Every chunk's
 * additional data is the whole header, its index and its length word:
 * a changed header, chunks swapped, dropped or cut, or a last chunk taken
 * for a middle one all fail a tag. The last chunk is always written (it
 * may be empty), so a file cut at a chunk boundary is caught at the end.
 *
 * Pure: memory in, memory out through a callback; the key bytes come from
 * the config (config_ops.c reads the key files, mode 0600 checked).
 */
#ifndef HALYARD_BACKUP_CRYPT_H
#define HALYARD_BACKUP_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

#define BACKUP_CRYPT_KEY_LEN    32
#define BACKUP_CRYPT_ID_LEN     8
#define BACKUP_CRYPT_HEADER_LEN 40
#define BACKUP_CRYPT_CHUNK      65536
#define BACKUP_CRYPT_TAG_LEN    16

/* A key and its id (what manifests and errors name; never the key). */
struct backup_crypt_key {
    uint8_t key[BACKUP_CRYPT_KEY_LEN];
    uint8_t id[BACKUP_CRYPT_ID_LEN];
    char id_hex[2 * BACKUP_CRYPT_ID_LEN + 1];
};

/* Where sealed (or opened) bytes go; false stops the stream (a write
 * error: the caller knows why). */
typedef bool (*backup_crypt_out_fn)(void *ctx, const uint8_t *p, size_t n);

struct backup_crypt_enc;
struct backup_crypt_dec;

/* The key with its id computed. */
void backup_crypt_key_make(const uint8_t raw[BACKUP_CRYPT_KEY_LEN], struct backup_crypt_key *k);

/* True when the n bytes at p (at least 8) start a halyard encrypted file. */
bool backup_crypt_is_sealed(const uint8_t *p, size_t n);

/* An encryptor writing through out(ctx, ...): the header first (at
 * create), then whole chunks; NULL when out of memory or when the header
 * could not be written. */
struct backup_crypt_enc *backup_crypt_enc_create(const struct backup_crypt_key *k,
                                                 backup_crypt_out_fn out, void *ctx);
HY_MUSTCHECK hy_status_t backup_crypt_enc_update(struct backup_crypt_enc *e, const uint8_t *p,
                                                 size_t n);
/* The last chunk (the bytes held, maybe none, marked last). */
HY_MUSTCHECK hy_status_t backup_crypt_enc_final(struct backup_crypt_enc *e);
void backup_crypt_enc_destroy(struct backup_crypt_enc *e);

/* A decryptor holding the keys it may use (not copied: they must outlive
 * it); each chunk goes to out(ctx, ...) only once its tag checked. */
struct backup_crypt_dec *backup_crypt_dec_create(const struct backup_crypt_key *keys, size_t n_keys,
                                                 backup_crypt_out_fn out, void *ctx);
/* The next n bytes of the file. HY_ERROR: backup_crypt_dec_error says why
 * (a tag that fails, an unknown key id, bytes after the last chunk...). */
HY_MUSTCHECK hy_status_t backup_crypt_dec_feed(struct backup_crypt_dec *d, const uint8_t *p,
                                               size_t n);
/* At the file's end: HY_ERROR unless the last chunk was read whole. */
HY_MUSTCHECK hy_status_t backup_crypt_dec_finish(struct backup_crypt_dec *d);
const char *backup_crypt_dec_error(const struct backup_crypt_dec *d);
/* The id (hex) of the key the header names, "" before the header. */
const char *backup_crypt_dec_key_id(const struct backup_crypt_dec *d);
void backup_crypt_dec_destroy(struct backup_crypt_dec *d);

#endif
