/*
 * backup_stream.c: compression and encryption of backup files, written
 * and read (backup_stream.h). The writer is push (the backup's command
 * output goes in, the sink gets the file's bytes); the reader is pull
 * (restore asks for plaintext): file bytes go through the decryptor into
 * `mid`, the compressed bytes whose tags checked, which are then inflated
 * into the caller's buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "halyard/backup/backup_stream.h"
#include "halyard/core/textbuf.h"

#define IOBUF (1 << 16)

static struct backup_crypt_key *keyring;
static size_t n_keyring;

const char *backup_comp_name(enum backup_comp c)
{
    return c == BACKUP_COMP_ZSTD ? "zstd" : c == BACKUP_COMP_NONE ? "none" : "gzip";
}

void backup_stream_suffix(bool physical, enum backup_comp c, bool sealed, char *out, size_t cap)
{
    snprintf(out, cap, "%s%s%s", physical ? ".xb" : ".sql",
             c == BACKUP_COMP_GZIP   ? ".gz"
             : c == BACKUP_COMP_ZSTD ? ".zst"
                                     : "",
             sealed ? ".enc" : "");
}

static bool ends_with(const char *s, size_t l, const char *tail)
{
    size_t k = strlen(tail);
    return l > k && memcmp(s + l - k, tail, k) == 0;
}

size_t backup_stream_suffix_len(const char *name)
{
    size_t l = strlen(name), k = 0;
    if (ends_with(name, l, ".enc"))
        k += 4;
    if (ends_with(name, l - k, ".gz"))
        k += 3;
    else if (ends_with(name, l - k, ".zst"))
        k += 4;
    if (ends_with(name, l - k, ".sql"))
        return k + 4;
    if (ends_with(name, l - k, ".xb"))
        return k + 3;
    return 0;
}

void backup_keys_set(const struct config *cfg)
{
    if (keyring != NULL) {
        explicit_bzero(keyring, n_keyring * sizeof(*keyring));
        free(keyring);
    }
    keyring = NULL;
    n_keyring = 0;
    const struct config_backup *b = &cfg->backup;
    if (b->n_keys == 0)
        return;
    keyring = calloc(b->n_keys, sizeof(*keyring));
    if (keyring == NULL)
        return;
    for (size_t i = 0; i < b->n_keys; i++)
        backup_crypt_key_make(b->keys[i], &keyring[i]);
    n_keyring = b->n_keys;
}

const struct backup_crypt_key *backup_keys(size_t *n)
{
    *n = n_keyring;
    return keyring;
}

struct backup_writer {
    enum backup_comp comp;
    z_stream z;
    bool z_init;
    ZSTD_CCtx *zc;
    struct backup_crypt_enc *enc;
    backup_crypt_out_fn sink;
    void *ctx;
    uint64_t plain;
    uint8_t out[IOBUF];
};

struct backup_writer *backup_writer_create(enum backup_comp c, const struct backup_crypt_key *key,
                                           backup_crypt_out_fn sink, void *ctx)
{
    struct backup_writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->comp = c;
    w->sink = sink;
    w->ctx = ctx;
    bool ok = true;
    if (c == BACKUP_COMP_GZIP) {
        ok = deflateInit2(&w->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
        w->z_init = ok;
    } else if (c == BACKUP_COMP_ZSTD) {
        w->zc = ZSTD_createCCtx();
        ok = w->zc != NULL &&
             !ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_compressionLevel, 3)) &&
             !ZSTD_isError(ZSTD_CCtx_setParameter(w->zc, ZSTD_c_checksumFlag, 1));
    }
    if (ok && key != NULL) {
        w->enc = backup_crypt_enc_create(key, sink, ctx);
        ok = w->enc != NULL;
    }
    if (!ok) {
        backup_writer_destroy(w);
        return NULL;
    }
    return w;
}

/* Compressed bytes to the file: sealed first when there is a key. */
static hy_status_t emit(struct backup_writer *w, const uint8_t *p, size_t n)
{
    if (n == 0)
        return HY_OK;
    if (w->enc != NULL)
        return backup_crypt_enc_update(w->enc, p, n);
    return w->sink(w->ctx, p, n) ? HY_OK : HY_ERROR;
}

static hy_status_t deflate_some(struct backup_writer *w, const uint8_t *p, size_t n, bool end)
{
    w->z.next_in = (Bytef *)(uintptr_t)p;
    w->z.avail_in = (uInt)n;
    do {
        w->z.next_out = w->out;
        w->z.avail_out = sizeof(w->out);
        if (deflate(&w->z, end ? Z_FINISH : Z_NO_FLUSH) == Z_STREAM_ERROR ||
            emit(w, w->out, sizeof(w->out) - w->z.avail_out) != HY_OK)
            return HY_ERROR;
    } while (w->z.avail_out == 0);
    return HY_OK;
}

static hy_status_t zstd_some(struct backup_writer *w, const uint8_t *p, size_t n, bool end)
{
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {w->out, sizeof(w->out), 0};
        size_t left = ZSTD_compressStream2(w->zc, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left) || emit(w, w->out, out.pos) != HY_OK)
            return HY_ERROR;
        if (end ? left == 0 : in.pos == in.size)
            return HY_OK;
    }
}

hy_status_t backup_writer_write(struct backup_writer *w, const uint8_t *p, size_t n)
{
    w->plain += n;
    if (w->comp == BACKUP_COMP_GZIP)
        return deflate_some(w, p, n, false);
    if (w->comp == BACKUP_COMP_ZSTD)
        return zstd_some(w, p, n, false);
    return emit(w, p, n);
}

hy_status_t backup_writer_finish(struct backup_writer *w)
{
    hy_status_t st = HY_OK;
    if (w->comp == BACKUP_COMP_GZIP)
        st = deflate_some(w, NULL, 0, true);
    else if (w->comp == BACKUP_COMP_ZSTD)
        st = zstd_some(w, NULL, 0, true);
    if (st == HY_OK && w->enc != NULL)
        st = backup_crypt_enc_final(w->enc);
    return st;
}

uint64_t backup_writer_plain(const struct backup_writer *w)
{
    return w->plain;
}

void backup_writer_destroy(struct backup_writer *w)
{
    if (w == NULL)
        return;
    if (w->z_init)
        deflateEnd(&w->z);
    ZSTD_freeCCtx(w->zc);
    backup_crypt_enc_destroy(w->enc);
    free(w);
}

struct backup_reader {
    int fd;
    char path[PATH_MAX];
    struct backup_crypt_dec *dec;
    bool started, file_eof;
    uint64_t offset; /* bytes of the file read */
    int comp;        /* -1 until the plaintext's first bytes are seen */
    z_stream z;
    bool z_init, z_end;
    ZSTD_DCtx *zd;
    bool zs_end;
    struct textbuf mid; /* checked (decrypted) compressed bytes, those from mid_pos on unread */
    size_t mid_pos;
    char error[BACKUP_READER_ERROR_MAX];
    uint8_t raw[IOBUF];
};

static bool mid_add(void *ctx, const uint8_t *p, size_t n)
{
    struct backup_reader *r = ctx;
    textbuf_append(&r->mid, p, n);
    return !r->mid.overflow;
}

/* The first unread byte of mid. */
static uint8_t *mid_unread(struct backup_reader *r)
{
    return (uint8_t *)r->mid.data + r->mid_pos;
}

static ssize_t reader_fail(struct backup_reader *r, const char *why)
{
    if (r->error[0] == '\0')
        snprintf(r->error, sizeof(r->error), "%.400s: %s", r->path, why);
    return -1;
}

struct backup_reader *backup_reader_open(const char *path, char *why, size_t wl)
{
    struct backup_reader *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(why, wl, "out of memory");
        return NULL;
    }
    r->comp = -1;
    textbuf_init(&r->mid, SIZE_MAX / 2); /* no limit but memory */
    snprintf(r->path, sizeof(r->path), "%s", path);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        snprintf(why, wl, "%.400s: %s", path, strerror(errno));
        free(r);
        return NULL;
    }
    return r;
}

/* More checked bytes into mid (or the file's end, checked). */
static bool mid_fill(struct backup_reader *r)
{
    if (r->mid_pos == r->mid.len) {
        textbuf_reset(&r->mid);
        r->mid_pos = 0;
    }
    ssize_t n;
    while ((n = read(r->fd, r->raw, sizeof(r->raw))) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return reader_fail(r, strerror(errno)) == 0;
    r->offset += (uint64_t)n;
    if (!r->started && n > 0) {
        r->started = true;
        if (backup_crypt_is_sealed(r->raw, (size_t)n)) {
            size_t nk = 0;
            const struct backup_crypt_key *k = backup_keys(&nk);
            r->dec = backup_crypt_dec_create(k, nk, mid_add, r);
            if (r->dec == NULL)
                return reader_fail(r, "out of memory") == 0;
        }
    }
    if (n == 0) {
        r->file_eof = true;
        if (r->dec != NULL && backup_crypt_dec_finish(r->dec) != HY_OK)
            return reader_fail(r, backup_crypt_dec_error(r->dec)) == 0;
        return true;
    }
    if (r->dec != NULL) {
        if (backup_crypt_dec_feed(r->dec, r->raw, (size_t)n) != HY_OK)
            return reader_fail(r, backup_crypt_dec_error(r->dec)) == 0;
        return true;
    }
    return mid_add(r, r->raw, (size_t)n) || reader_fail(r, "out of memory") == 0;
}

/* The plaintext's compression, from its first bytes. */
static bool comp_detect(struct backup_reader *r)
{
    const uint8_t *p = mid_unread(r);
    size_t n = r->mid.len - r->mid_pos;
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
        r->comp = BACKUP_COMP_GZIP;
        r->z_init = inflateInit2(&r->z, 15 + 16) == Z_OK;
        return r->z_init || reader_fail(r, "inflateInit failed") == 0;
    }
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) {
        r->comp = BACKUP_COMP_ZSTD;
        r->zd = ZSTD_createDCtx();
        return r->zd != NULL || reader_fail(r, "out of memory") == 0;
    }
    r->comp = BACKUP_COMP_NONE;
    return true;
}

/* Inflate what mid holds into buf; the bytes made (maybe 0), -1 on error. */
static ssize_t unpack(struct backup_reader *r, uint8_t *buf, size_t cap)
{
    size_t avail = r->mid.len - r->mid_pos;
    if (r->comp == BACKUP_COMP_NONE) {
        size_t k = avail < cap ? avail : cap;
        memcpy(buf, mid_unread(r), k);
        r->mid_pos += k;
        return (ssize_t)k;
    }
    if (r->comp == BACKUP_COMP_ZSTD) {
        ZSTD_inBuffer in = {mid_unread(r), avail, 0};
        ZSTD_outBuffer out = {buf, cap, 0};
        size_t rc = ZSTD_decompressStream(r->zd, &out, &in);
        if (ZSTD_isError(rc))
            return reader_fail(r, ZSTD_getErrorName(rc));
        r->mid_pos += in.pos;
        r->zs_end = rc == 0;
        return (ssize_t)out.pos;
    }
    if (r->z_end)
        return reader_fail(r, "bytes after the end of its gzip stream");
    r->z.next_in = mid_unread(r);
    r->z.avail_in = (uInt)avail;
    r->z.next_out = buf;
    r->z.avail_out = (uInt)cap;
    int zr = inflate(&r->z, Z_NO_FLUSH);
    if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
        return reader_fail(r, r->z.msg != NULL ? r->z.msg : "inflate failed");
    r->z_end = zr == Z_STREAM_END;
    r->mid_pos += avail - r->z.avail_in;
    return (ssize_t)(cap - r->z.avail_out);
}

ssize_t backup_reader_read(struct backup_reader *r, uint8_t *buf, size_t cap)
{
    if (r->error[0] != '\0')
        return -1;
    for (;;) {
        size_t avail = r->mid.len - r->mid_pos;
        if (!r->file_eof && (avail == 0 || (r->comp < 0 && avail < 4))) {
            if (!mid_fill(r))
                return -1;
            continue;
        }
        if (r->comp < 0 && !comp_detect(r))
            return -1;
        if (avail == 0) { /* the file's end: was the compressed stream whole? */
            if ((r->comp == BACKUP_COMP_GZIP && !r->z_end) ||
                (r->comp == BACKUP_COMP_ZSTD && !r->zs_end))
                return reader_fail(r, "cut short: its compressed stream does not end");
            return 0;
        }
        size_t before = r->mid_pos;
        ssize_t k = unpack(r, buf, cap);
        if (k != 0)
            return k;
        if (r->mid_pos != before)
            continue;
        /* Nothing taken, nothing made: it needs more than mid holds. */
        if (r->file_eof)
            return reader_fail(r, "cut short: its compressed stream does not end");
        if (!mid_fill(r))
            return -1;
    }
}

uint64_t backup_reader_offset(const struct backup_reader *r)
{
    return r->offset;
}

const char *backup_reader_error(const struct backup_reader *r)
{
    return r->error;
}

const char *backup_reader_comp(const struct backup_reader *r)
{
    return r->comp < 0 ? "none" : backup_comp_name((enum backup_comp)r->comp);
}

const char *backup_reader_key_id(const struct backup_reader *r)
{
    return r->dec != NULL ? backup_crypt_dec_key_id(r->dec) : "";
}

void backup_reader_close(struct backup_reader *r)
{
    if (r == NULL)
        return;
    close(r->fd);
    if (r->z_init)
        inflateEnd(&r->z);
    ZSTD_freeDCtx(r->zd);
    backup_crypt_dec_destroy(r->dec);
    textbuf_free(&r->mid);
    free(r);
}

hy_status_t backup_stream_check(const char *path, uint64_t *plain, char *why, size_t wl)
{
    struct backup_reader *r = backup_reader_open(path, why, wl);
    if (r == NULL)
        return HY_ERROR;
    static __thread uint8_t buf[IOBUF];
    ssize_t n;
    *plain = 0;
    while ((n = backup_reader_read(r, buf, sizeof(buf))) > 0)
        *plain += (uint64_t)n;
    if (n < 0)
        snprintf(why, wl, "%s", backup_reader_error(r));
    backup_reader_close(r);
    return n < 0 ? HY_ERROR : HY_OK;
}
