/*
 * archive_seal.c: the archive's files sealed when closed (archive_seal.h).
 * The bytes go through backup_crypt.c directly (not backup_stream.c's
 * reader: its key ring is halyardctl's, and the archive's thread has its
 * config's keys).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "halyard/core/grow.h"
#include "halyard/backup/archive_seal.h"
#include "halyard/backup/binlog_archive.h"
#include "halyard/core/fileio.h"
#include "halyard/core/log.h"
#include "halyard/protocol/binlog.h"

#define IOBUF 65536

enum archive_kind archive_name_parse(const char *name, uint32_t *no, char *key_id)
{
    size_t pl = strlen(ARCHIVE_FILE_PREFIX);
    if (strncmp(name, ARCHIVE_FILE_PREFIX, pl) != 0 || name[pl] != '.')
        return ARCHIVE_NOT;
    const char *d = name + pl + 1;
    size_t nd = strspn(d, "0123456789");
    if (nd < 6 || nd > 9)
        return ARCHIVE_NOT;
    uint32_t v = 0;
    for (size_t i = 0; i < nd; i++)
        v = v * 10 + (uint32_t)(d[i] - '0');
    if (v == 0)
        return ARCHIVE_NOT;
    const char *rest = d + nd;
    *no = v;
    if (*rest == '\0') {
        if (key_id != NULL)
            key_id[0] = '\0';
        return ARCHIVE_CLEAR;
    }
    /* .KEYID.enc: 16 lower-case hex digits */
    size_t idl = 2 * BACKUP_CRYPT_ID_LEN;
    if (rest[0] != '.' || strspn(rest + 1, "0123456789abcdef") != idl ||
        strcmp(rest + 1 + idl, ARCHIVE_SEALED_SUFFIX) != 0)
        return ARCHIVE_NOT;
    if (key_id != NULL) {
        memcpy(key_id, rest + 1, idl);
        key_id[idl] = '\0';
    }
    return ARCHIVE_SEALED;
}

void archive_name_make(char *out, size_t cap, uint32_t no, const char *key_id)
{
    if (key_id == NULL || key_id[0] == '\0')
        snprintf(out, cap, "%s.%06u", ARCHIVE_FILE_PREFIX, no);
    else
        snprintf(out, cap, "%s.%06u.%s%s", ARCHIVE_FILE_PREFIX, no, key_id, ARCHIVE_SEALED_SUFFIX);
}

static void dir_sync(const char *path)
{
    char d[PATH_MAX];
    snprintf(d, sizeof(d), "%s", path);
    char *slash = strrchr(d, '/');
    if (slash == NULL)
        snprintf(d, sizeof(d), ".");
    else if (slash == d)
        d[1] = '\0';
    else
        *slash = '\0';
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static bool out_fd(void *ctx, const uint8_t *p, size_t n)
{
    return fileio_write_all(*(int *)ctx, p, n);
}

/* Read src to its end through feed; false with why. */
typedef hy_status_t (*feed_fn)(void *st, const uint8_t *p, size_t n);

static bool pump(int in, feed_fn feed, void *st, const char *src, char *why, size_t wl,
                 bool *feed_failed)
{
    uint8_t buf[IOBUF];
    *feed_failed = false;
    for (;;) {
        ssize_t r = read(in, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, wl, "read %s: %s", src, strerror(errno));
            return false;
        }
        if (r == 0)
            return true;
        if (feed(st, buf, (size_t)r) != HY_OK) {
            *feed_failed = true;
            return false;
        }
    }
}

static hy_status_t enc_feed(void *st, const uint8_t *p, size_t n)
{
    return backup_crypt_enc_update(st, p, n);
}

static hy_status_t dec_feed(void *st, const uint8_t *p, size_t n)
{
    return backup_crypt_dec_feed(st, p, n);
}

/* dst.partial opened for writing with `mode`; -1 with why. */
static int partial_open(const char *dst, char *tmp, size_t cap, mode_t mode, char *why, size_t wl)
{
    if (snprintf(tmp, cap, "%s.partial", dst) >= (int)cap) {
        snprintf(why, wl, "%s: name too long", dst);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        snprintf(why, wl, "open %s: %s", tmp, strerror(errno));
    return fd;
}

/* fsync, close and rename tmp to dst (then the directory fsync'd); on
 * ok == false tmp is removed. */
static hy_status_t partial_finish(int fd, const char *tmp, const char *dst, bool ok, char *why,
                                  size_t wl)
{
    if (ok && fsync(fd) != 0) {
        snprintf(why, wl, "fsync %s: %s", tmp, strerror(errno));
        ok = false;
    }
    if (close(fd) != 0 && ok) {
        snprintf(why, wl, "close %s: %s", tmp, strerror(errno));
        ok = false;
    }
    if (ok && rename(tmp, dst) != 0) {
        snprintf(why, wl, "rename %s: %s", tmp, strerror(errno));
        ok = false;
    }
    if (!ok) {
        unlink(tmp);
        return HY_ERROR;
    }
    dir_sync(dst);
    return HY_OK;
}

hy_status_t archive_seal_file(const char *src, const char *dst, const struct backup_crypt_key *k,
                              char *why, size_t wl)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(why, wl, "open %s: %s", src, strerror(errno));
        return HY_ERROR;
    }
    char tmp[PATH_MAX];
    int fd = partial_open(dst, tmp, sizeof(tmp), 0640, why, wl);
    if (fd < 0) {
        close(in);
        return HY_ERROR;
    }
    struct backup_crypt_enc *e = backup_crypt_enc_create(k, out_fd, &fd);
    bool ok = e != NULL, feed_failed = false;
    if (!ok)
        snprintf(why, wl, "sealing %s: out of memory or a write error", src);
    ok = ok && pump(in, enc_feed, e, src, why, wl, &feed_failed);
    if (ok && backup_crypt_enc_final(e) != HY_OK) {
        ok = false;
        feed_failed = true;
    }
    if (feed_failed)
        snprintf(why, wl, "write %s: %s", tmp, errno ? strerror(errno) : "failed");
    backup_crypt_enc_destroy(e);
    struct stat sb; /* the sealed file keeps the clear one's times: binlog_retention's age */
    if (ok && fstat(in, &sb) == 0)
        (void)futimens(fd, (struct timespec[2]){sb.st_atim, sb.st_mtim});
    close(in);
    return partial_finish(fd, tmp, dst, ok, why, wl);
}

hy_status_t archive_seal(const char *dir, uint32_t no, const struct backup_crypt_key *k,
                         char *sealed, size_t sealed_cap, char *why, size_t wl)
{
    char cn[64], sn[96], src[PATH_MAX], dst[PATH_MAX];
    archive_name_make(cn, sizeof(cn), no, NULL);
    archive_name_make(sn, sizeof(sn), no, k->id_hex);
    snprintf(src, sizeof(src), "%.3900s/%s", dir, cn);
    snprintf(dst, sizeof(dst), "%.3900s/%s", dir, sn);
    if (archive_seal_file(src, dst, k, why, wl) != HY_OK)
        return HY_ERROR;
    if (unlink(src) != 0) {
        snprintf(why, wl, "unlink %s: %s", src, strerror(errno));
        return HY_ERROR;
    }
    if (sealed != NULL)
        snprintf(sealed, sealed_cap, "%s", sn);
    return HY_OK;
}

hy_status_t archive_unseal(const char *src, const char *dst, const struct backup_crypt_key *keys,
                           size_t n_keys, char *why, size_t wl)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(why, wl, "open %s: %s", src, strerror(errno));
        return HY_ERROR;
    }
    char tmp[PATH_MAX];
    int fd = partial_open(dst, tmp, sizeof(tmp), 0600, why, wl);
    if (fd < 0) {
        close(in);
        return HY_ERROR;
    }
    struct backup_crypt_dec *d = backup_crypt_dec_create(keys, n_keys, out_fd, &fd);
    bool ok = d != NULL, feed_failed = false;
    if (!ok)
        snprintf(why, wl, "%s: out of memory", src);
    ok = ok && pump(in, dec_feed, d, src, why, wl, &feed_failed);
    if (ok && backup_crypt_dec_finish(d) != HY_OK) {
        ok = false;
        feed_failed = true;
    }
    if (feed_failed)
        snprintf(why, wl, "%s: %s", src, backup_crypt_dec_error(d));
    backup_crypt_dec_destroy(d);
    close(in);
    return partial_finish(fd, tmp, dst, ok, why, wl);
}

/* ---- the start ------------------------------------------------------------ */

static int archive_file_cmp(const void *x, const void *y)
{
    const struct archive_file *a = x, *b = y;
    if (a->no != b->no)
        return a->no < b->no ? -1 : 1;
    return (int)a->kind - (int)b->kind; /* clear before sealed */
}

hy_status_t archive_list(const char *dir, struct archive_file **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return HY_ERROR;
    struct archive_file *v = NULL;
    size_t k = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint32_t no = 0;
        enum archive_kind kind = archive_name_parse(e->d_name, &no, NULL);
        if (kind == ARCHIVE_NOT || strlen(e->d_name) >= sizeof(v->name))
            continue;
        if (k == cap && !HY_GROW(v, cap, 64)) {
            closedir(d);
            free(v);
            errno = ENOMEM;
            return HY_ERROR;
        }
        v[k].no = no;
        v[k].kind = kind;
        snprintf(v[k].name, sizeof(v[k].name), "%s", e->d_name);
        k++;
    }
    closedir(d);
    if (k > 1)
        qsort(v, k, sizeof(*v), archive_file_cmp);
    *out = v;
    *n = k;
    return HY_OK;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

size_t archive_seal_tidy(const char *dir, const struct backup_crypt_key *k)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d)) != NULL) {
        size_t pl = strlen(ARCHIVE_FILE_PREFIX);
        if (strncmp(e->d_name, ARCHIVE_FILE_PREFIX ".", pl + 1) == 0 &&
            ends_with(e->d_name, ".partial")) {
            /* a seal or unseal cut short: its source is still there */
            snprintf(path, sizeof(path), "%.4000s/%s", dir, e->d_name);
            if (unlink(path) == 0)
                hy_log_info("backup: %s removed (a seal cut short)", e->d_name);
        }
    }
    closedir(d);
    struct archive_file *v;
    size_t n;
    if (archive_list(dir, &v, &n) != HY_OK)
        return 0;
    size_t sealed = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].kind != ARCHIVE_CLEAR)
            continue;
        snprintf(path, sizeof(path), "%.4000s/%s", dir, v[i].name);
        if (i + 1 < n && v[i + 1].no == v[i].no) {
            /* sealed whole (renamed after its fsync): the clear one goes */
            if (unlink(path) == 0)
                hy_log_info("backup: %s removed: %s holds it sealed", v[i].name, v[i + 1].name);
            continue;
        }
        bool newest = i + 1 == n;
        if (k == NULL || newest)
            continue;
        char why[PATH_MAX + 200], sn[96];
        if (archive_seal(dir, v[i].no, k, sn, sizeof(sn), why, sizeof(why)) == HY_OK) {
            sealed++;
            hy_log_info("backup: %s sealed into %s", v[i].name, sn);
        } else {
            hy_log_error("backup: sealing %s: %s", v[i].name, why);
        }
    }
    free(v);
    return sealed;
}

/* ---- where a file begins --------------------------------------------------- */

struct head {
    uint8_t b[IOBUF];
    size_t n;
};

static bool head_add(void *ctx, const uint8_t *p, size_t n)
{
    struct head *h = ctx;
    size_t k = n < sizeof(h->b) - h->n ? n : sizeof(h->b) - h->n;
    memcpy(h->b + h->n, p, k);
    h->n += k;
    return true;
}

/* The first bytes of the file's plaintext into h. */
static bool head_read(const char *path, bool sealed, const struct backup_crypt_key *keys,
                      size_t n_keys, struct head *h)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    h->n = 0;
    bool ok = true;
    if (!sealed) {
        ssize_t r = pread(fd, h->b, sizeof(h->b), 0);
        ok = r > 0;
        h->n = r > 0 ? (size_t)r : 0;
    } else {
        struct backup_crypt_dec *d = backup_crypt_dec_create(keys, n_keys, head_add, h);
        uint8_t buf[8192];
        ok = d != NULL;
        while (ok && h->n < 4096) { /* the first chunk opens: enough for the header events */
            ssize_t r = read(fd, buf, sizeof(buf));
            if (r <= 0 || backup_crypt_dec_feed(d, buf, (size_t)r) != HY_OK)
                ok = false;
        }
        backup_crypt_dec_destroy(d);
        ok = ok || h->n > 0;
    }
    close(fd);
    return ok;
}

hy_status_t archive_file_start(const char *dir, const char *name,
                               const struct backup_crypt_key *keys, size_t n_keys,
                               struct gtid_pos *start)
{
    uint32_t no;
    enum archive_kind kind = archive_name_parse(name, &no, NULL);
    if (kind == ARCHIVE_NOT)
        return HY_ERROR;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%.4000s/%s", dir, name);
    struct head *h = malloc(sizeof(*h));
    if (h == NULL)
        return HY_ERROR;
    hy_status_t rc = HY_ERROR;
    if (!head_read(path, kind == ARCHIVE_SEALED, keys, n_keys, h) || h->n < BINLOG_MAGIC_LEN ||
        memcmp(h->b, BINLOG_MAGIC, BINLOG_MAGIC_LEN) != 0)
        goto out;
    size_t off = BINLOG_MAGIC_LEN;
    bool crc = true;
    for (int ev = 0; ev < 2 && off + BINLOG_HEADER_LEN <= h->n; ev++) {
        const uint8_t *p = h->b + off;
        uint32_t size =
            (uint32_t)p[9] | (uint32_t)p[10] << 8 | (uint32_t)p[11] << 16 | (uint32_t)p[12] << 24;
        if (size < BINLOG_HEADER_LEN || off + size > h->n)
            break;
        if (p[4] == BINLOG_FORMAT_DESCRIPTION)
            crc = binlog_fde_checksum_alg(p, size) == 1;
        if (p[4] == BINLOG_GTID_LIST) {
            size_t body = crc ? size - BINLOG_CRC_LEN : size;
            memset(start, 0, sizeof(*start));
            rc = binlog_gtid_list_parse(p, body, start);
            break;
        }
        off += size;
    }
out:
    free(h);
    return rc;
}
