/*
 * backup_crypt.c: AES-256-GCM in authenticated chunks for backup files
 * (the format is in backup_crypt.h). The encryptor holds one chunk of
 * plaintext and seals it when full; the decryptor holds one sealed chunk
 * and hands its plaintext on only after the tag checked, so a reader of
 * a damaged file gets an error, never the damaged bytes.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/backup/backup_crypt.h"

static const char MAGIC[8] = {'H', 'Y', 'C', 'R', 'Y', 'P', 'T', '1'};
static const char KDF_LABEL[] = "halyard backup v1";
#define LAST_BIT 0x80000000u
#define SALT_LEN 16

struct backup_crypt_enc {
    EVP_CIPHER_CTX *c;
    uint8_t fkey[BACKUP_CRYPT_KEY_LEN]; /* the file's own key */
    uint8_t hdr[BACKUP_CRYPT_HEADER_LEN];
    uint32_t idx;
    backup_crypt_out_fn out;
    void *ctx;
    size_t have;
    uint8_t buf[BACKUP_CRYPT_CHUNK];
    uint8_t sealed[4 + BACKUP_CRYPT_CHUNK + BACKUP_CRYPT_TAG_LEN];
};

struct backup_crypt_dec {
    EVP_CIPHER_CTX *c;
    const struct backup_crypt_key *keys;
    size_t n_keys;
    uint8_t fkey[BACKUP_CRYPT_KEY_LEN];
    uint8_t hdr[BACKUP_CRYPT_HEADER_LEN];
    char key_hex[2 * BACKUP_CRYPT_ID_LEN + 1];
    uint32_t chunk_max; /* the header's chunk size */
    uint32_t idx;
    uint64_t offset; /* of the chunk being read, in the file */
    bool last_seen, failed;
    backup_crypt_out_fn out;
    void *ctx;
    size_t have, need; /* bytes of hdr or chunk held, and wanted */
    char error[256];
    uint8_t chunk[4 + BACKUP_CRYPT_CHUNK + BACKUP_CRYPT_TAG_LEN];
    uint8_t plain[BACKUP_CRYPT_CHUNK];
};

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

void backup_crypt_key_make(const uint8_t raw[BACKUP_CRYPT_KEY_LEN], struct backup_crypt_key *k)
{
    uint8_t dig[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    memcpy(k->key, raw, BACKUP_CRYPT_KEY_LEN);
    EVP_Digest(raw, BACKUP_CRYPT_KEY_LEN, dig, &dl, EVP_sha256(), NULL);
    memcpy(k->id, dig, BACKUP_CRYPT_ID_LEN);
    hex_of(k->id, BACKUP_CRYPT_ID_LEN, k->id_hex);
}

bool backup_crypt_is_sealed(const uint8_t *p, size_t n)
{
    return n >= sizeof(MAGIC) && memcmp(p, MAGIC, sizeof(MAGIC)) == 0;
}

/* The file's key from the master key and the header's salt. */
static bool file_key(const uint8_t *key, const uint8_t *salt, uint8_t out[BACKUP_CRYPT_KEY_LEN])
{
    uint8_t msg[SALT_LEN + sizeof(KDF_LABEL)];
    memcpy(msg, salt, SALT_LEN);
    memcpy(msg + SALT_LEN, KDF_LABEL, sizeof(KDF_LABEL));
    unsigned ol = 0;
    return HMAC(EVP_sha256(), key, BACKUP_CRYPT_KEY_LEN, msg, sizeof(msg), out, &ol) != NULL &&
           ol == BACKUP_CRYPT_KEY_LEN;
}

/* Nonce and additional data of chunk idx with length word lw. */
static void chunk_params(const uint8_t *hdr, uint32_t idx, uint32_t lw, uint8_t iv[12],
                         uint8_t aad[BACKUP_CRYPT_HEADER_LEN + 8])
{
    memset(iv, 0, 12);
    put32(iv + 8, idx);
    memcpy(aad, hdr, BACKUP_CRYPT_HEADER_LEN);
    put32(aad + BACKUP_CRYPT_HEADER_LEN, idx);
    put32(aad + BACKUP_CRYPT_HEADER_LEN + 4, lw);
}

struct backup_crypt_enc *backup_crypt_enc_create(const struct backup_crypt_key *k,
                                                 backup_crypt_out_fn out, void *ctx)
{
    struct backup_crypt_enc *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->out = out;
    e->ctx = ctx;
    e->c = EVP_CIPHER_CTX_new();
    uint8_t *h = e->hdr;
    memcpy(h, MAGIC, sizeof(MAGIC));
    h[8] = 1; /* version */
    h[9] = 1; /* AES-256-GCM */
    put32(h + 12, BACKUP_CRYPT_CHUNK);
    memcpy(h + 16, k->id, BACKUP_CRYPT_ID_LEN);
    if (e->c == NULL || RAND_bytes(h + 24, SALT_LEN) != 1 || !file_key(k->key, h + 24, e->fkey) ||
        !out(ctx, h, BACKUP_CRYPT_HEADER_LEN)) {
        backup_crypt_enc_destroy(e);
        return NULL;
    }
    return e;
}

/* Seal the bytes held as chunk e->idx (last: the final one). */
static hy_status_t seal(struct backup_crypt_enc *e, bool last)
{
    uint32_t lw = (uint32_t)e->have | (last ? LAST_BIT : 0);
    uint8_t iv[12], aad[BACKUP_CRYPT_HEADER_LEN + 8];
    chunk_params(e->hdr, e->idx, lw, iv, aad);
    put32(e->sealed, lw);
    int l = 0, l2 = 0;
    bool ok =
        EVP_EncryptInit_ex(e->c, EVP_aes_256_gcm(), NULL, e->fkey, iv) == 1 &&
        EVP_EncryptUpdate(e->c, NULL, &l, aad, (int)sizeof(aad)) == 1 &&
        (e->have == 0 || EVP_EncryptUpdate(e->c, e->sealed + 4, &l, e->buf, (int)e->have) == 1) &&
        EVP_EncryptFinal_ex(e->c, e->sealed + 4 + e->have, &l2) == 1 &&
        EVP_CIPHER_CTX_ctrl(e->c, EVP_CTRL_GCM_GET_TAG, BACKUP_CRYPT_TAG_LEN,
                            e->sealed + 4 + e->have) == 1;
    if (!ok || !e->out(e->ctx, e->sealed, 4 + e->have + BACKUP_CRYPT_TAG_LEN))
        return HY_ERROR;
    e->idx++;
    e->have = 0;
    return HY_OK;
}

hy_status_t backup_crypt_enc_update(struct backup_crypt_enc *e, const uint8_t *p, size_t n)
{
    while (n > 0) {
        size_t take = BACKUP_CRYPT_CHUNK - e->have;
        if (take > n)
            take = n;
        memcpy(e->buf + e->have, p, take);
        e->have += take;
        p += take;
        n -= take;
        /* A full chunk is sealed once more bytes come: the last one may be full. */
        if (e->have == BACKUP_CRYPT_CHUNK && n > 0 && seal(e, false) != HY_OK)
            return HY_ERROR;
    }
    return HY_OK;
}

hy_status_t backup_crypt_enc_final(struct backup_crypt_enc *e)
{
    return seal(e, true);
}

void backup_crypt_enc_destroy(struct backup_crypt_enc *e)
{
    if (e == NULL)
        return;
    EVP_CIPHER_CTX_free(e->c);
    OPENSSL_cleanse(e, sizeof(*e));
    free(e);
}

struct backup_crypt_dec *backup_crypt_dec_create(const struct backup_crypt_key *keys, size_t n_keys,
                                                 backup_crypt_out_fn out, void *ctx)
{
    struct backup_crypt_dec *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->c = EVP_CIPHER_CTX_new();
    if (d->c == NULL) {
        free(d);
        return NULL;
    }
    d->keys = keys;
    d->n_keys = n_keys;
    d->out = out;
    d->ctx = ctx;
    d->need = BACKUP_CRYPT_HEADER_LEN;
    return d;
}

static hy_status_t dec_fail(struct backup_crypt_dec *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static hy_status_t dec_fail(struct backup_crypt_dec *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->error, sizeof(d->error), fmt, ap);
    va_end(ap);
    d->failed = true;
    return HY_ERROR;
}

/* The header is whole: its magic, cipher and key. */
static hy_status_t header_take(struct backup_crypt_dec *d)
{
    const uint8_t *h = d->hdr;
    if (!backup_crypt_is_sealed(h, BACKUP_CRYPT_HEADER_LEN))
        return dec_fail(d, "not a halyard encrypted file (no HYCRYPT1 header)");
    if (h[8] != 1 || h[9] != 1)
        return dec_fail(d,
                        "encrypted file of version %u, cipher %u: this halyard reads version 1, "
                        "AES-256-GCM",
                        h[8], h[9]);
    d->chunk_max = get32(h + 12);
    if (d->chunk_max == 0 || d->chunk_max > BACKUP_CRYPT_CHUNK)
        return dec_fail(d, "its header gives a chunk size of %u bytes (at most %u)", d->chunk_max,
                        BACKUP_CRYPT_CHUNK);
    hex_of(h + 16, BACKUP_CRYPT_ID_LEN, d->key_hex);
    const struct backup_crypt_key *k = NULL;
    for (size_t i = 0; i < d->n_keys && k == NULL; i++)
        if (memcmp(d->keys[i].id, h + 16, BACKUP_CRYPT_ID_LEN) == 0)
            k = &d->keys[i];
    if (k == NULL)
        return dec_fail(d,
                        "encrypted with key id %s, which is neither backup.encryption_key_file's "
                        "nor one of backup.decryption_key_files'",
                        d->key_hex);
    if (!file_key(k->key, h + 24, d->fkey))
        return dec_fail(d, "key derivation failed");
    d->offset = BACKUP_CRYPT_HEADER_LEN;
    d->have = 0;
    d->need = 4;
    return HY_OK;
}

/* The chunk is whole: check its tag, then hand its plaintext on. */
static hy_status_t chunk_open(struct backup_crypt_dec *d)
{
    uint32_t lw = get32(d->chunk);
    uint32_t len = lw & ~LAST_BIT;
    uint8_t iv[12], aad[BACKUP_CRYPT_HEADER_LEN + 8];
    chunk_params(d->hdr, d->idx, lw, iv, aad);
    int l = 0, l2 = 0;
    uint8_t *tag = d->chunk + 4 + len;
    bool ok = EVP_DecryptInit_ex(d->c, EVP_aes_256_gcm(), NULL, d->fkey, iv) == 1 &&
              EVP_DecryptUpdate(d->c, NULL, &l, aad, (int)sizeof(aad)) == 1 &&
              (len == 0 || EVP_DecryptUpdate(d->c, d->plain, &l, d->chunk + 4, (int)len) == 1) &&
              EVP_CIPHER_CTX_ctrl(d->c, EVP_CTRL_GCM_SET_TAG, BACKUP_CRYPT_TAG_LEN, tag) == 1 &&
              EVP_DecryptFinal_ex(d->c, d->plain + len, &l2) == 1;
    if (!ok)
        return dec_fail(d,
                        "chunk %u (bytes %llu to %llu) fails its AES-256-GCM tag: the file was "
                        "altered or damaged, nothing of that chunk is used",
                        d->idx, (unsigned long long)d->offset,
                        (unsigned long long)(d->offset + 4 + len + BACKUP_CRYPT_TAG_LEN));
    if (len > 0 && !d->out(d->ctx, d->plain, len))
        return dec_fail(d, "the decrypted data could not be passed on");
    d->offset += 4 + len + BACKUP_CRYPT_TAG_LEN;
    d->idx++;
    d->last_seen = (lw & LAST_BIT) != 0;
    d->have = 0;
    d->need = 4;
    return HY_OK;
}

hy_status_t backup_crypt_dec_feed(struct backup_crypt_dec *d, const uint8_t *p, size_t n)
{
    if (d->failed)
        return HY_ERROR;
    bool in_hdr = d->chunk_max == 0;
    while (n > 0) {
        if (d->last_seen)
            return dec_fail(d,
                            "%zu bytes after the last chunk (at byte %llu): the file was altered",
                            n, (unsigned long long)d->offset);
        uint8_t *dst = in_hdr ? d->hdr : d->chunk;
        size_t take = d->need - d->have;
        if (take > n)
            take = n;
        memcpy(dst + d->have, p, take);
        d->have += take;
        p += take;
        n -= take;
        if (d->have < d->need)
            break;
        if (in_hdr) {
            if (header_take(d) != HY_OK)
                return HY_ERROR;
            in_hdr = false;
        } else if (d->need == 4) {
            uint32_t len = get32(d->chunk) & ~LAST_BIT;
            if (len > d->chunk_max)
                return dec_fail(d,
                                "chunk %u (at byte %llu) says %u bytes, more than the header's "
                                "chunk size %u: the file was altered or damaged",
                                d->idx, (unsigned long long)d->offset, len, d->chunk_max);
            d->need = 4 + len + BACKUP_CRYPT_TAG_LEN;
        } else if (chunk_open(d) != HY_OK) {
            return HY_ERROR;
        }
    }
    return HY_OK;
}

hy_status_t backup_crypt_dec_finish(struct backup_crypt_dec *d)
{
    if (d->failed)
        return HY_ERROR;
    if (d->chunk_max == 0)
        return dec_fail(d, "cut short inside its header (%zu of %d bytes)", d->have,
                        BACKUP_CRYPT_HEADER_LEN);
    if (!d->last_seen)
        return dec_fail(d,
                        "cut short: it ends at byte %llu, after chunk %u, without its last chunk",
                        (unsigned long long)(d->offset + d->have), d->idx);
    return HY_OK;
}

const char *backup_crypt_dec_error(const struct backup_crypt_dec *d)
{
    return d->error;
}

const char *backup_crypt_dec_key_id(const struct backup_crypt_dec *d)
{
    return d->key_hex;
}

void backup_crypt_dec_destroy(struct backup_crypt_dec *d)
{
    if (d == NULL)
        return;
    EVP_CIPHER_CTX_free(d->c);
    OPENSSL_cleanse(d, sizeof(*d));
    free(d);
}
