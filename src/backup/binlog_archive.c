/*
 * binlog_archive.c: the archive's thread (binlog_archive.h). The events
 * and files as data are in binlog.c.
 *
 * The thread runs a private libev loop: a 100 ms tick (config, which
 * backend is the primary, the connection, fdatasync, the lag probe,
 * retention) and two sqlclients, `dump` (login, the SET of the replica's
 * variables, COM_REGISTER_SLAVE, COM_BINLOG_DUMP, then the stream) and
 * `probe` (SELECT @@gtid_binlog_pos on the primary).
 *
 * The file being written: `fd`, `off` (its end), `safe_end` (the end of
 * its last whole transaction, or of an event outside any). When a stream
 * ends the file is cut back to safe_end and kept open ("parked") until the
 * next stream's FORMAT_DESCRIPTION event opens the next file, so a lost
 * tail found when connecting to a new primary can still be moved out of it
 * (`trx[]`, where each of its transactions starts).
 *
 * Shared with other threads: the config hand-over and the status, under
 * `mu`; nothing else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "halyard/cluster/backend.h"
#include "halyard/protocol/binlog.h"
#include "halyard/backup/archive_seal.h"
#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_retain.h"
#include "halyard/backup/backup_watch.h"
#include "halyard/backup/binlog_archive.h"
#include "halyard/core/events.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/sqlclient.h"

#define TICK_S          0.1
#define RETRY_S         1.0
#define MAX_BACKOFF_S   30.0
#define HEARTBEAT_NS    "1000000000" /* @master_heartbeat_period: 1 s */
#define STREAM_SILENCE  5000         /* ms without a packet (heartbeats included): reconnect */
#define TRX_RING        8192         /* transactions of the open file whose start is known */
#define SAMPLES         256          /* primary position readings not yet covered */
#define LAG_RING        4096         /* lag measurements kept for the quantiles */
#define RETENTION_EVERY 60.0         /* seconds between two retention passes */

enum a_state { A_IDLE = 0, A_CONNECTING, A_SETUP, A_STREAMING };

struct trx_start {
    uint64_t off;     /* where its GTID event starts in the file */
    struct gtid gtid; /* its GTID */
    struct gtid prev; /* the last GTID of its domain before it (seq 0: none) */
};

struct sample {
    double t_prev; /* when the reading before this one was asked: the transactions new in this
                    * one committed after it */
    struct gtid_pos pos;
};

struct archive {
    pthread_mutex_t mu;
    pthread_t thread;
    bool running, stop;
    struct config *cfg_new;          /* under mu */
    struct binlog_archive_status st; /* under mu */

    /* the thread's own */
    struct ev_loop *loop;
    ev_timer tick;
    ev_async wake;
    struct config *cfg;
    enum a_state state;
    struct sqlclient *dump;
    int src; /* index in cfg->backends of the source, -1 = none */
    char src_name[128];
    double retry_at;
    bool crc;               /* the source's binlog_checksum is CRC32 */
    bool fresh;             /* an empty archive: start from the primary's position */
    struct gtid_pos pos;    /* last whole transaction written */
    struct gtid_pos synced; /* ... and fdatasync'd */
    struct binlog_group grp;
    bool skip_group; /* the open group repeats a GTID the archive has: not written */
    char dir[PATH_MAX];

    int fd;           /* the file, -1 = none */
    uint32_t file_no; /* its number; the highest in the directory */
    bool parked;      /* the stream ended; the next FORMAT_DESCRIPTION starts a new file */
    uint64_t off, safe_end, header_end;
    uint8_t fde[1024]; /* its FORMAT_DESCRIPTION event, for the IN_USE flag at close */
    size_t fde_len;
    bool dirty;
    double last_sync;
    struct trx_start *trx;
    size_t n_trx;
    bool trx_overflow; /* trx[] lost the file's first transactions */

    struct sqlclient *probe;
    int probe_src;
    bool probe_busy;
    double probe_sent, probe_prev_sent;
    struct gtid_pos primary;
    bool primary_known;
    struct sample samples[SAMPLES];
    size_t n_samples;
    double lag[LAG_RING];
    size_t n_lag, lag_next;
    double next_retention;
    bool retention_soon; /* under mu: a backup completed (binlog_archive_retention_soon) */
    uint64_t copied_gen; /* backup_copy_done_gen() at the last retention check */
    bool in_error;
    bool blocked;   /* the newest file cannot be opened or read back (sealed under a key we
                       lack, not a binlog): no stream, which would leave a gap */
    double backoff; /* seconds before the next try after errors in a row */
};

static struct archive A = {.mu = PTHREAD_MUTEX_INITIALIZER, .fd = -1, .src = -1, .probe_src = -1};

/* ---- status -------------------------------------------------------------- */

static void st_set_state(struct archive *a, const char *state)
{
    pthread_mutex_lock(&a->mu);
    snprintf(a->st.state, sizeof(a->st.state), "%s", state);
    pthread_mutex_unlock(&a->mu);
}

/* An error: logged, in the status, and an event once per streak. */
static void archive_error(struct archive *a, const char *fmt, ...) HY_PRINTF(2, 3);

static void archive_error(struct archive *a, const char *fmt, ...)
{
    char why[sizeof(a->st.last_error)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    hy_log_error("backup: %s", why);
    pthread_mutex_lock(&a->mu);
    snprintf(a->st.last_error, sizeof(a->st.last_error), "%s", why);
    a->st.last_error_time = time(NULL);
    snprintf(a->st.state, sizeof(a->st.state), "error");
    pthread_mutex_unlock(&a->mu);
    if (!a->in_error) /* once per streak; backup_archive_ok ends it */
        events_emit(EVENT_BACKUP_ARCHIVE_ERROR, a->src_name, "streaming", "error", why,
                    "the archive retries; halyard proxies on");
    a->in_error = true;
}

/* The last GTID of `domain` in pos, server_id included; seq 0 when none. */
static struct gtid last_of(const struct gtid_pos *pos, uint32_t domain)
{
    for (uint32_t i = 0; i < pos->n; i++) {
        if (pos->g[i].domain == domain)
            return pos->g[i];
    }
    return (struct gtid){.domain = domain};
}

static void file_name(char *out, size_t cap, uint32_t no)
{
    snprintf(out, cap, "%s.%06u", ARCHIVE_FILE_PREFIX, no);
}

static void path_of(const struct archive *a, char *out, size_t cap, const char *name)
{
    if (snprintf(out, cap, "%s/%s", a->dir, name) >= (int)cap)
        out[0] = '\0'; /* backup.dir is at most 4095 bytes: never in practice */
}

/* ---- the directory -------------------------------------------------------- */

/* The archive's files, clear or sealed, by number (archive_list); *n of
 * them, malloc'd, NULL when none or the directory cannot be read. */
static struct archive_file *list_files(const char *dir, size_t *n)
{
    struct archive_file *v;
    if (archive_list(dir, &v, n) != HY_OK)
        return NULL;
    return v;
}

/* binlog.index: the file names, one a line, written whole then renamed. */
static void write_index(struct archive *a)
{
    size_t n = 0;
    struct archive_file *v = list_files(a->dir, &n);
    char tmp[PATH_MAX], final[PATH_MAX];
    path_of(a, tmp, sizeof(tmp), ARCHIVE_FILE_PREFIX ".index.tmp");
    path_of(a, final, sizeof(final), ARCHIVE_FILE_PREFIX ".index");
    FILE *f = fopen(tmp, "w");
    if (f != NULL) {
        for (size_t i = 0; i < n; i++)
            fprintf(f, "./%s\n", v[i].name);
        if (fclose(f) == 0)
            (void)!rename(tmp, final);
    }
    free(v);
}

/* The key new files are sealed under (backup.encryption_key_file), into
 * k; false when the archive stays in clear. */
static bool seal_key(const struct archive *a, struct backup_crypt_key *k)
{
    const struct config_backup *b = &a->cfg->backup;
    if (b->encryption_key_file[0] == '\0' || b->n_keys == 0)
        return false;
    backup_crypt_key_make(b->keys[0], k);
    return true;
}

hy_status_t binlog_archive_check_dir(const struct config *cfg, char *err, size_t errlen)
{
    const struct config_backup *b = &cfg->backup;
    if (!b->enabled)
        return HY_OK;
    const char *why = NULL;
    struct stat sb;
    if (stat(b->dir, &sb) != 0)
        why = strerror(errno);
    else if (!S_ISDIR(sb.st_mode))
        why = "not a directory";
    else if (access(b->dir, R_OK | W_OK | X_OK) != 0)
        why = strerror(errno);
    if (why == NULL)
        return HY_OK;
    if (b->dir_line > 0)
        snprintf(err, errlen, "%s:%d: backup.dir: %s: %s", cfg->path, b->dir_line, b->dir, why);
    else
        snprintf(err, errlen, "%s: backup.dir: %s: %s", cfg->path, b->dir, why);
    return HY_ERROR;
}

static void lag_settle(struct archive *a);

/* ---- the file ------------------------------------------------------------- */

static bool write_all(int fd, const void *p, size_t n, uint64_t at)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = pwrite(fd, b, n, (off_t)at);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        b += w;
        n -= (size_t)w;
        at += (uint64_t)w;
    }
    return true;
}

static void file_sync(struct archive *a)
{
    if (a->fd < 0 || !a->dirty)
        return;
    if (fdatasync(a->fd) != 0) {
        archive_error(a, "fdatasync %s/%s.%06u: %s", a->dir, ARCHIVE_FILE_PREFIX, a->file_no,
                      strerror(errno));
        return;
    }
    a->dirty = false;
    a->last_sync = ev_now(a->loop);
    a->synced = a->pos;
    lag_settle(a);
}

/* Seal closed file `no` when the config has a key (archive_seal.h); on
 * an error it stays in clear (0600) and the archive's next start seals it. */
static void file_seal(struct archive *a, uint32_t no)
{
    struct backup_crypt_key k;
    if (!seal_key(a, &k))
        return;
    char why[PATH_MAX + 256], sealed[96];
    if (archive_seal(a->dir, no, &k, sealed, sizeof(sealed), why, sizeof(why)) == HY_OK)
        hy_log_info("backup: %s sealed (key id %s)", sealed, k.id_hex);
    else
        archive_error(a, "sealing a closed archive file: %s", why);
    explicit_bzero(&k, sizeof(k));
}

/* Close the file: clear the FORMAT_DESCRIPTION's IN_USE flag (the server's
 * sign of a file closed properly), sync. An empty file (no transaction)
 * is removed. */
static void file_close(struct archive *a)
{
    if (a->fd < 0)
        return;
    if (ftruncate(a->fd, (off_t)a->safe_end) == 0)
        a->off = a->safe_end;
    char name[64], path[PATH_MAX];
    file_name(name, sizeof(name), a->file_no);
    path_of(a, path, sizeof(path), name);
    bool empty = a->safe_end <= a->header_end && a->n_trx == 0;
    if (!empty && a->fde_len > 0) {
        struct binlog_header h;
        if (binlog_header_parse(a->fde, a->fde_len, &h) == HY_OK) {
            binlog_set_pos_flags(a->fde, h.log_pos, (uint16_t)(h.flags & ~BINLOG_F_IN_USE));
            if (a->crc)
                binlog_crc_set(a->fde, a->fde_len);
            (void)write_all(a->fd, a->fde, a->fde_len, BINLOG_MAGIC_LEN);
        }
    }
    a->dirty = true;
    file_sync(a);
    close(a->fd);
    a->fd = -1;
    a->parked = false;
    a->n_trx = 0;
    a->trx_overflow = false;
    if (empty) {
        unlink(path);
        a->file_no--;
    } else {
        file_seal(a, a->file_no);
    }
    write_index(a);
}

/* Append one event, its log_pos made the file's (CRC redone). */
static bool file_append(struct archive *a, uint8_t *ev, size_t len)
{
    struct binlog_header h;
    if (binlog_header_parse(ev, len, &h) != HY_OK)
        return false;
    binlog_set_pos_flags(ev, (uint32_t)(a->off + len), h.flags);
    if (a->crc)
        binlog_crc_set(ev, len);
    if (!write_all(a->fd, ev, len, a->off)) {
        archive_error(a, "write %s/%s.%06u: %s", a->dir, ARCHIVE_FILE_PREFIX, a->file_no,
                      strerror(errno));
        return false;
    }
    a->off += len;
    a->dirty = true;
    pthread_mutex_lock(&a->mu);
    a->st.events++;
    a->st.bytes += len;
    pthread_mutex_unlock(&a->mu);
    return true;
}

/* A new file from the stream's FORMAT_DESCRIPTION event `fde`. */
static bool file_open(struct archive *a, uint8_t *fde, size_t len)
{
    file_close(a);
    if (len > sizeof(a->fde)) {
        archive_error(a, "a FORMAT_DESCRIPTION event of %zu bytes", len);
        return false;
    }
    char name[64], path[PATH_MAX];
    file_name(name, sizeof(name), a->file_no + 1);
    path_of(a, path, sizeof(path), name);
    /* sealed when closed; in clear until then, readable by halyard alone */
    struct backup_crypt_key k;
    bool sealing = seal_key(a, &k);
    explicit_bzero(&k, sizeof(k));
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, sealing ? 0600 : 0640);
    if (fd < 0) {
        archive_error(a, "open %s: %s", path, strerror(errno));
        return false;
    }
    if (sealing)
        (void)fchmod(fd, 0600); /* a file left over from before kept its mode */
    a->fd = fd;
    a->file_no++;
    a->off = 0;
    a->n_trx = 0;
    a->trx_overflow = false;
    struct binlog_header h;
    if (binlog_header_parse(fde, len, &h) != HY_OK)
        memset(&h, 0, sizeof(h));
    memcpy(a->fde, fde, len);
    a->fde_len = len;
    binlog_set_pos_flags(a->fde, (uint32_t)(BINLOG_MAGIC_LEN + len),
                         (uint16_t)((h.flags | BINLOG_F_IN_USE) & ~BINLOG_F_ARTIFICIAL));
    if (a->crc)
        binlog_crc_set(a->fde, len);
    uint8_t gl[BINLOG_HEADER_LEN + 4 + 16 * GTID_MAX + BINLOG_CRC_LEN];
    size_t gl_len = binlog_make_gtid_list(gl, sizeof(gl), &a->pos, h.timestamp, h.server_id,
                                          (uint32_t)(BINLOG_MAGIC_LEN + len));
    if (!write_all(fd, BINLOG_MAGIC, BINLOG_MAGIC_LEN, 0) ||
        !write_all(fd, a->fde, len, BINLOG_MAGIC_LEN) ||
        !write_all(fd, gl, gl_len, BINLOG_MAGIC_LEN + len)) {
        archive_error(a, "write %s: %s", path, strerror(errno));
        close(fd);
        a->fd = -1;
        return false;
    }
    a->off = a->safe_end = a->header_end = BINLOG_MAGIC_LEN + len + gl_len;
    a->dirty = true;
    pthread_mutex_lock(&a->mu);
    a->st.files++;
    snprintf(a->st.file, sizeof(a->st.file), "%s", name);
    pthread_mutex_unlock(&a->mu);
    write_index(a);
    hy_log_info("backup: archiving into %s from %s", name, a->src_name);
    return true;
}

/* ---- reading back the last file at start ------------------------------------ */

/* Open the directory's last file, read it, cut it back to its last whole
 * transaction and park it; the position comes from its GTID_LIST and
 * transactions. An empty directory: a fresh archive. */
/* The newest file is sealed (the archive was stopped by a reload that
 * closed it): opened back into clear so that it can be parked and a lost
 * tail cut from it, as any newest file. */
static bool unseal_last(struct archive *a, const struct archive_file *last)
{
    const struct config_backup *b = &a->cfg->backup;
    struct backup_crypt_key *keys = calloc(b->n_keys + 1, sizeof(*keys));
    if (keys == NULL)
        return false;
    for (size_t i = 0; i < b->n_keys; i++)
        backup_crypt_key_make(b->keys[i], &keys[i]);
    char src[PATH_MAX], dst[PATH_MAX], name[64], why[PATH_MAX + 256];
    file_name(name, sizeof(name), last->no);
    path_of(a, src, sizeof(src), last->name);
    path_of(a, dst, sizeof(dst), name);
    bool ok = archive_unseal(src, dst, keys, b->n_keys, why, sizeof(why)) == HY_OK;
    explicit_bzero(keys, (b->n_keys + 1) * sizeof(*keys));
    free(keys);
    if (!ok) {
        archive_error(a, "the newest archive file cannot be opened: %s", why);
        return false;
    }
    if (unlink(src) != 0) {
        archive_error(a, "unlink %s: %s", src, strerror(errno));
        return false;
    }
    hy_log_info("backup: %s opened back into %s to go on with it", last->name, name);
    return true;
}

static void recover(struct archive *a)
{
    struct backup_crypt_key k;
    bool sealing = seal_key(a, &k);
    size_t sealed = archive_seal_tidy(a->dir, sealing ? &k : NULL);
    explicit_bzero(&k, sizeof(k));
    if (sealed > 0)
        hy_log_info("backup: %zu closed archive files sealed at start", sealed);
    size_t n = 0;
    struct archive_file *v = list_files(a->dir, &n);
    memset(&a->pos, 0, sizeof(a->pos));
    a->fresh = true;
    a->file_no = n > 0 ? v[n - 1].no : 0;
    bool opened = n == 0 || strchr(v[n - 1].name + strlen(ARCHIVE_FILE_PREFIX) + 1, '.') == NULL ||
                  unseal_last(a, &v[n - 1]);
    a->blocked = !opened; /* retried every 5 s: a reload may bring the key */
    free(v);
    if (n == 0 || !opened)
        return;
    /* Until it is read back: streaming from the primary's position would
     * leave a gap after it. Moving it away (or fixing it) ends the block
     * at the next try. */
    a->blocked = true;
    char name[64], path[PATH_MAX];
    file_name(name, sizeof(name), a->file_no);
    path_of(a, path, sizeof(path), name);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        archive_error(a, "open %s: %s", path, strerror(errno));
        return;
    }
    uint8_t magic[BINLOG_MAGIC_LEN];
    uint64_t off = BINLOG_MAGIC_LEN;
    uint8_t *ev = NULL;
    size_t cap = 0;
    struct binlog_group g = {0};
    bool have_list = false, crc = true;
    a->n_trx = 0;
    a->trx_overflow = false;
    a->fde_len = 0;
    uint64_t safe = 0;
    if (pread(fd, magic, sizeof(magic), 0) != (ssize_t)sizeof(magic) ||
        memcmp(magic, BINLOG_MAGIC, BINLOG_MAGIC_LEN) != 0) {
        archive_error(a, "%s is not a binlog file; move it away", path);
        close(fd);
        return;
    }
    struct gtid_pos pos = {0};
    uint64_t trx_off = 0;
    for (;;) {
        uint8_t hb[BINLOG_HEADER_LEN];
        if (pread(fd, hb, sizeof(hb), (off_t)off) != (ssize_t)sizeof(hb))
            break;
        uint32_t size = (uint32_t)hb[9] | (uint32_t)hb[10] << 8 | (uint32_t)hb[11] << 16 |
                        (uint32_t)hb[12] << 24;
        if (size < BINLOG_HEADER_LEN || size > SQLCLIENT_MAX_STREAM_PACKET)
            break;
        if (size > cap) {
            uint8_t *nb = realloc(ev, size);
            if (nb == NULL)
                break;
            ev = nb;
            cap = size;
        }
        if (pread(fd, ev, size, (off_t)off) != (ssize_t)size)
            break;
        if (hb[4] == BINLOG_FORMAT_DESCRIPTION && a->fde_len == 0 && size <= sizeof(a->fde)) {
            crc = binlog_fde_checksum_alg(ev, size) == 1;
            memcpy(a->fde, ev, size);
            a->fde_len = size;
        }
        if (crc && !binlog_crc_ok(ev, size)) {
            hy_log_warn("backup: %s: a bad checksum at %llu; the file is cut there", path,
                        (unsigned long long)off);
            break;
        }
        size_t body = crc ? size - BINLOG_CRC_LEN : size;
        if (hb[4] == BINLOG_GTID_LIST && !have_list) {
            have_list = binlog_gtid_list_parse(ev, body, &pos) == HY_OK;
            a->header_end = off + size;
        }
        enum binlog_group_step step = binlog_group_feed(&g, ev, body);
        if (step == BINLOG_BEGIN)
            trx_off = off;
        off += size;
        if (step == BINLOG_END) {
            if (a->n_trx < TRX_RING) {
                a->trx[a->n_trx++] = (struct trx_start){
                    .off = trx_off, .gtid = g.gtid, .prev = last_of(&pos, g.gtid.domain)};
            }
            (void)!binlog_pos_apply(&pos, &g.gtid);
            safe = off;
        } else if (step == BINLOG_OUTSIDE) {
            safe = off;
        }
    }
    free(ev);
    if (!have_list || a->fde_len == 0) {
        archive_error(a, "%s has no GTID_LIST event after its FORMAT_DESCRIPTION; move it away",
                      path);
        close(fd);
        return;
    }
    if (ftruncate(fd, (off_t)safe) != 0) {
        archive_error(a, "truncate %s: %s", path, strerror(errno));
        close(fd);
        return;
    }
    a->crc = crc;
    a->fd = fd;
    a->off = a->safe_end = safe;
    a->parked = true;
    a->pos = a->synced = pos;
    a->fresh = false;
    a->blocked = false;
    char gs[GTID_STR_MAX];
    gtid_pos_format(&pos, gs, sizeof(gs));
    hy_log_info("backup: %s read back: position %s, %zu transactions", name, gs, a->n_trx);
    pthread_mutex_lock(&a->mu);
    snprintf(a->st.file, sizeof(a->st.file), "%s", name);
    snprintf(a->st.gtid, sizeof(a->st.gtid), "%s", gs);
    pthread_mutex_unlock(&a->mu);
}

/* g is in the history of the server whose @@gtid_binlog_state is `state`:
 * it has a GTID of g's domain and server_id at least as far. */
static bool in_history(const struct gtid_pos *state, const struct gtid *g)
{
    for (uint32_t i = 0; i < state->n; i++) {
        if (state->g[i].domain == g->domain && state->g[i].server_id == g->server_id)
            return state->g[i].seq >= g->seq;
    }
    return false;
}

/* The lost tail's file sealed as the archive's files are (NAME.lost.KEYID.enc);
 * name gets the sealed name. */
static void lost_seal(struct archive *a, const char *path, char *name, size_t cap)
{
    struct backup_crypt_key k;
    if (!seal_key(a, &k))
        return;
    char dst[PATH_MAX], why[PATH_MAX + 256];
    snprintf(dst, sizeof(dst), "%.4000s.%s%s", path, k.id_hex, ARCHIVE_SEALED_SUFFIX);
    if (archive_seal_file(path, dst, &k, why, sizeof(why)) != HY_OK)
        hy_log_error("backup: sealing %s: %s", path, why);
    else if (unlink(path) == 0)
        snprintf(name + strlen(name), cap - strlen(name), ".%s%s", k.id_hex, ARCHIVE_SEALED_SUFFIX);
    explicit_bzero(&k, sizeof(k));
}

/* The archive has transactions the server whose @@gtid_binlog_state is
 * `state` (a new primary) never got: move them from the parked file to
 * NAME.lost, when they are its last ones. Returns false when they are not
 * (an error). */
static bool cut_lost_tail(struct archive *a, const struct gtid_pos *state)
{
    size_t first = a->n_trx;
    for (size_t i = 0; i < a->n_trx; i++) {
        if (!in_history(state, &a->trx[i].gtid)) {
            first = i;
            break;
        }
    }
    for (size_t i = first; i < a->n_trx; i++) {
        if (in_history(state, &a->trx[i].gtid))
            return false;
    }
    if (first == a->n_trx || a->fd < 0 || (first == 0 && a->trx_overflow))
        return false;
    uint64_t from = a->trx[first].off;
    size_t lost = a->n_trx - first;
    for (size_t i = a->n_trx; i-- > first;) { /* the position before them */
        struct gtid prev = a->trx[i].prev;
        if (prev.seq == 0) {
            struct gtid_pos np = {0};
            for (uint32_t k = 0; k < a->pos.n; k++) {
                if (a->pos.g[k].domain != prev.domain)
                    (void)!binlog_pos_apply(&np, &a->pos.g[k]);
            }
            a->pos = np;
        } else {
            (void)!binlog_pos_apply(&a->pos, &prev);
        }
    }
    /* NAME.lost: a binlog file of its own (magic, FORMAT_DESCRIPTION,
     * GTID_LIST of the position before them, the transactions as they were
     * archived), so mariadb-binlog shows what the failover lost. */
    char name[64], path[PATH_MAX];
    file_name(name, sizeof(name), a->file_no);
    snprintf(name + strlen(name), sizeof(name) - strlen(name), ".lost");
    path_of(a, path, sizeof(path), name);
    int lf = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (lf >= 0) {
        uint8_t fde[sizeof(a->fde)];
        size_t fl = a->fde_len;
        memcpy(fde, a->fde, fl);
        struct binlog_header h = {0};
        if (binlog_header_parse(fde, fl, &h) == HY_OK) {
            binlog_set_pos_flags(fde, (uint32_t)(BINLOG_MAGIC_LEN + fl),
                                 (uint16_t)(h.flags & ~BINLOG_F_IN_USE));
            binlog_crc_set(fde, fl);
        }
        uint8_t gl[BINLOG_HEADER_LEN + 4 + 16 * GTID_MAX + BINLOG_CRC_LEN];
        size_t gll = binlog_make_gtid_list(gl, sizeof(gl), &a->pos, h.timestamp, h.server_id,
                                           (uint32_t)(BINLOG_MAGIC_LEN + fl));
        bool ok = write(lf, BINLOG_MAGIC, BINLOG_MAGIC_LEN) == BINLOG_MAGIC_LEN &&
                  write(lf, fde, fl) == (ssize_t)fl && write(lf, gl, gll) == (ssize_t)gll;
        uint8_t buf[65536];
        for (uint64_t at = from; ok && at < a->safe_end;) {
            size_t k = (size_t)HY_MIN((uint64_t)sizeof(buf), a->safe_end - at);
            ssize_t r = pread(a->fd, buf, k, (off_t)at);
            ok = r > 0 && write(lf, buf, (size_t)r) == r;
            at += r > 0 ? (uint64_t)r : 0;
        }
        if (!ok || fsync(lf) != 0)
            hy_log_error("backup: writing %s: %s", path, strerror(errno));
        close(lf);
        lost_seal(a, path, name, sizeof(name));
    } else {
        hy_log_error("backup: open %s: %s", path, strerror(errno));
    }
    a->n_trx = first;
    a->safe_end = a->off = from;
    if (ftruncate(a->fd, (off_t)from) != 0)
        return false;
    a->dirty = true;
    file_sync(a);
    char gs[GTID_STR_MAX];
    gtid_pos_format(&a->pos, gs, sizeof(gs));
    char why[EVENT_TEXT_MAX + GTID_STR_MAX];
    snprintf(why, sizeof(why),
             "%zu transactions archived from the old primary are not on %s (a failover's lost "
             "tail): moved to %s; the archive goes on from %s",
             lost, a->src_name, name, gs);
    hy_log_warn("backup: %s", why);
    pthread_mutex_lock(&a->mu);
    a->st.lost_trx += lost;
    pthread_mutex_unlock(&a->mu);
    events_emit(EVENT_BACKUP_ARCHIVE_GAP, a->src_name, "", "", why, "");
    return true;
}

/* ---- the stream ------------------------------------------------------------- */

static void stream_end(struct archive *a)
{
    if (a->fd >= 0) {
        if (a->off != a->safe_end && ftruncate(a->fd, (off_t)a->safe_end) == 0)
            a->off = a->safe_end;
        a->parked = true;
        file_sync(a);
    }
    a->grp = (struct binlog_group){0};
    a->skip_group = false;
}

static void drop_dump(struct archive *a, double retry_in)
{
    if (a->in_error && retry_in > 0) { /* errors in a row: 1, 2, 4 ... 30 s apart */
        a->backoff = HY_MIN(HY_MAX(a->backoff * 2, retry_in), MAX_BACKOFF_S);
        retry_in = a->backoff;
    }
    sqlclient_destroy(a->dump);
    a->dump = NULL;
    stream_end(a);
    a->state = A_IDLE;
    a->retry_at = ev_now(a->loop) + retry_in;
    pthread_mutex_lock(&a->mu);
    if (strcmp(a->st.state, "error") != 0)
        snprintf(a->st.state, sizeof(a->st.state), "idle");
    a->st.source[0] = '\0';
    pthread_mutex_unlock(&a->mu);
}

static void note_gap(struct archive *a, const struct gtid *g)
{
    char why[256];
    snprintf(why, sizeof(why),
             "GTID %u-%u-%llu from %s follows %llu in domain %u: transactions %llu..%llu are "
             "missing from the archive",
             g->domain, g->server_id, (unsigned long long)g->seq, a->src_name,
             (unsigned long long)gtid_pos_seq(&a->pos, g->domain), g->domain,
             (unsigned long long)gtid_pos_seq(&a->pos, g->domain) + 1,
             (unsigned long long)g->seq - 1);
    hy_log_error("backup: %s", why);
    pthread_mutex_lock(&a->mu);
    a->st.gaps++;
    snprintf(a->st.last_gap, sizeof(a->st.last_gap), "%s", why);
    pthread_mutex_unlock(&a->mu);
    events_emit(EVENT_BACKUP_ARCHIVE_GAP, a->src_name, "", "", why, "");
}

/* One event of the stream; false to end the stream (already reported). */
static bool on_event(struct archive *a, uint8_t *ev, size_t len)
{
    struct binlog_header h;
    if (binlog_header_parse(ev, len, &h) != HY_OK) {
        pthread_mutex_lock(&a->mu);
        a->st.corrupt++;
        pthread_mutex_unlock(&a->mu);
        archive_error(a, "a malformed event from %s (%zu bytes, header says %u)", a->src_name, len,
                      len >= BINLOG_HEADER_LEN ? h.size : 0);
        return false;
    }
    if (a->crc && !binlog_crc_ok(ev, len)) {
        pthread_mutex_lock(&a->mu);
        a->st.corrupt++;
        pthread_mutex_unlock(&a->mu);
        archive_error(a,
                      "a corrupted event from %s (type %u, %u bytes, log_pos %u of %s): its "
                      "CRC32 does not match; not written",
                      a->src_name, h.type, h.size, h.log_pos, a->st.source_file);
        return false;
    }
    size_t body = a->crc ? len - BINLOG_CRC_LEN : len;
    switch (h.type) {
    case BINLOG_HEARTBEAT:
        return true;
    case BINLOG_ROTATE: {
        char next[128];
        uint64_t p = 0;
        if (binlog_rotate_parse(ev, body, next, sizeof(next), &p) != HY_OK) {
            archive_error(a, "a malformed ROTATE event from %s", a->src_name);
            return false;
        }
        pthread_mutex_lock(&a->mu);
        snprintf(a->st.source_file, sizeof(a->st.source_file), "%s", next);
        pthread_mutex_unlock(&a->mu);
        if ((h.flags & BINLOG_F_ARTIFICIAL) || h.log_pos == 0 || a->fd < 0 || a->parked)
            return true; /* the fake one at the start of a stream */
        /* the server's file ends: so does ours, with a ROTATE to the next */
        char nn[64];
        file_name(nn, sizeof(nn), a->file_no + 1);
        uint8_t rot[BINLOG_HEADER_LEN + 8 + 64 + BINLOG_CRC_LEN];
        size_t rl =
            binlog_make_rotate(rot, sizeof(rot), nn, h.timestamp, h.server_id, (uint32_t)a->off);
        if (!file_append(a, rot, rl))
            return false;
        a->safe_end = a->off;
        a->parked = true; /* the next FORMAT_DESCRIPTION opens the next file */
        return true;
    }
    case BINLOG_FORMAT_DESCRIPTION:
        if (a->fd >= 0 && !a->parked)
            return true; /* a repeat within the same stream */
        if (binlog_fde_checksum_alg(ev, len) != 1) {
            archive_error(a,
                          "%s writes its binary log without checksums: set binlog_checksum = "
                          "CRC32",
                          a->src_name);
            return false;
        }
        return file_open(a, ev, len);
    case BINLOG_GTID_LIST:
    case BINLOG_START_ENCRYPTION:
        if (h.type == BINLOG_START_ENCRYPTION) {
            archive_error(a, "%s encrypts its binary log: not supported", a->src_name);
            return false;
        }
        return true; /* the archive writes its own at the start of each file */
    default:
        break;
    }
    if (a->fd < 0 || a->parked) {
        archive_error(a, "an event (type %u) from %s before a FORMAT_DESCRIPTION event", h.type,
                      a->src_name);
        return false;
    }
    uint64_t start = a->off;
    enum binlog_group_step step = binlog_group_feed(&a->grp, ev, body);
    if (step == BINLOG_BEGIN) {
        enum binlog_gtid_order o = binlog_gtid_order(&a->pos, &a->grp.gtid);
        a->skip_group = o == BINLOG_GTID_OLD;
        if (o == BINLOG_GTID_OLD)
            hy_log_warn("backup: GTID %u-%u-%llu from %s is archived already: not written again",
                        a->grp.gtid.domain, a->grp.gtid.server_id,
                        (unsigned long long)a->grp.gtid.seq, a->src_name);
        else if (o == BINLOG_GTID_GAP)
            note_gap(a, &a->grp.gtid);
        if (!a->skip_group && a->n_trx < TRX_RING)
            a->trx[a->n_trx++] = (struct trx_start){
                .off = start, .gtid = a->grp.gtid, .prev = last_of(&a->pos, a->grp.gtid.domain)};
        else if (!a->skip_group) { /* the ring is full: the oldest ones cannot be cut any more */
            memmove(a->trx, a->trx + 1, (TRX_RING - 1) * sizeof(*a->trx));
            a->trx[TRX_RING - 1] = (struct trx_start){
                .off = start, .gtid = a->grp.gtid, .prev = last_of(&a->pos, a->grp.gtid.domain)};
            a->trx_overflow = true;
        }
    }
    bool skip = a->skip_group && step != BINLOG_OUTSIDE;
    if (!skip && !file_append(a, ev, len))
        return false;
    if (step == BINLOG_END) {
        if (!a->skip_group) {
            if (binlog_pos_apply(&a->pos, &a->grp.gtid) != HY_OK) {
                archive_error(a, "more than %d GTID domains", GTID_MAX);
                return false;
            }
            a->fresh = false;
            a->safe_end = a->off;
            pthread_mutex_lock(&a->mu);
            a->st.transactions++;
            pthread_mutex_unlock(&a->mu);
        }
        a->skip_group = false;
    } else if (step == BINLOG_OUTSIDE) {
        a->safe_end = a->off;
    }
    return true;
}

static bool on_packet(struct sqlclient *c, const uint8_t *p, size_t len, void *arg)
{
    struct archive *a = arg;
    (void)c;
    if (len < 1 || p[0] != 0x00) {
        archive_error(a, "an unexpected packet in the binlog stream from %s", a->src_name);
        drop_dump(a, RETRY_S);
        return false;
    }
    /* The packet is the client's buffer; the event is rewritten in place
     * (log_pos, CRC), so work on it where it is. */
    if (!on_event(a, (uint8_t *)p + 1, len - 1)) {
        drop_dump(a, RETRY_S);
        return false;
    }
    if (a->in_error && a->state == A_STREAMING) {
        a->in_error = false;
        a->backoff = 0;
        st_set_state(a, "streaming");
        events_emit(EVENT_BACKUP_ARCHIVE_OK, a->src_name, "error", "streaming",
                    "the archive streams again", "");
    }
    if (a->dirty && ev_now(a->loop) - a->last_sync >= a->cfg->backup.binlog_sync_ms / 1000.0)
        file_sync(a);
    return true;
}

static void stream_done(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct archive *a = arg;
    (void)c;
    if (res->ok)
        hy_log_warn("backup: %s ended the binlog stream", a->src_name);
    else if (res->err_code != 0)
        archive_error(a, "binlog stream from %s: %s (error %u)", a->src_name, res->err_msg,
                      res->err_code);
    else
        archive_error(a, "binlog stream from %s: %s", a->src_name, res->err_msg);
    drop_dump(a, RETRY_S);
}

static void status_publish(struct archive *a);

static void put_str1(uint8_t **p, const char *s)
{
    size_t n = strlen(s);
    if (n > 255)
        n = 255;
    *(*p)++ = (uint8_t)n;
    memcpy(*p, s, n);
    *p += n;
}

static void put_u32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        *(*p)++ = (uint8_t)(v >> (8 * i));
}

static void registered(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct archive *a = arg;
    if (!res->ok) {
        archive_error(a, "COM_REGISTER_SLAVE on %s: %s", a->src_name, res->err_msg);
        drop_dump(a, RETRY_S);
        return;
    }
    /* COM_BINLOG_DUMP: position 4, flags 0 (block), our server_id, no file
     * name: the position is the GTID state set above. */
    uint8_t req[10], *p = req;
    put_u32(&p, BINLOG_MAGIC_LEN);
    *p++ = 0;
    *p++ = 0;
    put_u32(&p, a->cfg->backup.server_id);
    sqlclient_set_timeout(c, STREAM_SILENCE);
    if (sqlclient_stream(c, COM_BINLOG_DUMP, req, (size_t)(p - req), on_packet, stream_done, a) !=
        HY_OK) {
        archive_error(a, "cannot start COM_BINLOG_DUMP on %s", a->src_name);
        drop_dump(a, RETRY_S);
        return;
    }
    a->state = A_STREAMING;
    pthread_mutex_lock(&a->mu);
    a->st.reconnects++;
    snprintf(a->st.state, sizeof(a->st.state), "%s", a->in_error ? "error" : "streaming");
    snprintf(a->st.source, sizeof(a->st.source), "%s", a->src_name);
    pthread_mutex_unlock(&a->mu);
    status_publish(a); /* the position it starts from, at once */
}

static void vars_set(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct archive *a = arg;
    if (!res->ok) {
        archive_error(a, "setting the replica's variables on %s: %s", a->src_name, res->err_msg);
        drop_dump(a, RETRY_S);
        return;
    }
    uint8_t req[4 + 1 + 255 + 1 + 1 + 2 + 4 + 4], *p = req;
    put_u32(&p, a->cfg->backup.server_id);
    char host[64];
    snprintf(host, sizeof(host), "halyard-backup");
    put_str1(&p, host);
    put_str1(&p, "");
    put_str1(&p, "");
    *p++ = 0; /* port */
    *p++ = 0;
    put_u32(&p, 0); /* replication rank */
    put_u32(&p, 0); /* master id */
    if (sqlclient_command(c, COM_REGISTER_SLAVE, req, (size_t)(p - req), registered, a) != HY_OK) {
        archive_error(a, "cannot send COM_REGISTER_SLAVE to %s", a->src_name);
        drop_dump(a, RETRY_S);
    }
}

static void server_read(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct archive *a = arg;
    if (!res->ok || res->n_rows != 1 || res->n_cols != 3) {
        archive_error(a, "reading @@binlog_checksum on %s: %s", a->src_name,
                      res->ok ? "unexpected answer" : res->err_msg);
        drop_dump(a, RETRY_S);
        return;
    }
    const char *alg = sqlresult_get(res, 0, 0);
    const char *bpos = sqlresult_get(res, 0, 1);
    const char *bstate = sqlresult_get(res, 0, 2);
    if (alg == NULL || strcasecmp(alg, "CRC32") != 0) {
        archive_error(a, "%s has binlog_checksum = %s: the archive needs CRC32", a->src_name,
                      alg ? alg : "NULL");
        drop_dump(a, 10 * RETRY_S);
        return;
    }
    a->crc = true;
    struct gtid_pos server = {0}, state = {0};
    if (bpos == NULL || gtid_pos_parse(bpos, strlen(bpos), &server) != HY_OK || bstate == NULL ||
        gtid_state_parse(bstate, strlen(bstate), &state) != HY_OK) {
        archive_error(a, "%s: cannot read @@gtid_binlog_pos and @@gtid_binlog_state", a->src_name);
        drop_dump(a, RETRY_S);
        return;
    }
    if (a->fresh && a->pos.n == 0) {
        a->pos = a->synced = server; /* an empty archive starts from now */
    } else if (gtid_has_errant(&a->pos, &state)) {
        /* The archive has transactions this server never had (by GTID,
         * server_id included: a new primary may have gone on with the same
         * sequence numbers). */
        if (!cut_lost_tail(a, &state)) {
            char as[GTID_STR_MAX], ss[GTID_STR_MAX];
            gtid_pos_format(&a->pos, as, sizeof(as));
            gtid_pos_format(&state, ss, sizeof(ss));
            archive_error(a,
                          "the archive (%s) has transactions %s (binlog state %s) never had, "
                          "not only at the end of its last file: it waits",
                          as, a->src_name, ss);
            drop_dump(a, 5 * RETRY_S);
            return;
        }
    }
    char sql[GTID_STR_MAX + 400], gs[GTID_STR_MAX];
    gtid_pos_format(&a->pos, gs, sizeof(gs));
    snprintf(sql, sizeof(sql),
             "SET @master_binlog_checksum = 'CRC32', @mariadb_slave_capability = 4, "
             "@slave_connect_state = '%s', @slave_gtid_strict_mode = 1, "
             "@slave_gtid_ignore_duplicates = 0, @master_heartbeat_period = " HEARTBEAT_NS,
             gs);
    if (sqlclient_query(c, sql, vars_set, a) != HY_OK) {
        archive_error(a, "cannot query %s", a->src_name);
        drop_dump(a, RETRY_S);
        return;
    }
    hy_log_info("backup: streaming from %s after GTID %s", a->src_name, gs[0] ? gs : "(none)");
}

static void connected(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct archive *a = arg;
    if (!res->ok) {
        archive_error(a, "connect to %s: %s", a->src_name, res->err_msg);
        drop_dump(a, RETRY_S);
        return;
    }
    a->state = A_SETUP;
    if (sqlclient_query(c,
                        "SELECT @@global.binlog_checksum, @@global.gtid_binlog_pos, "
                        "@@global.gtid_binlog_state",
                        server_read, a) != HY_OK) {
        archive_error(a, "cannot query %s", a->src_name);
        drop_dump(a, RETRY_S);
    }
}

static struct sqlclient *client_for(struct archive *a, const struct config_backend *b)
{
    const struct config_backup *bk = &a->cfg->backup;
    bool own = bk->user[0] != '\0';
    struct sqlclient_target t = {
        .name = b->name,
        .address = b->address,
        .port = b->port,
        .user = own ? bk->user : a->cfg->monitor.user,
        .password = own ? bk->password : a->cfg->monitor.password,
        .tls = b->tls,
        .tls_ctx = b->tls_ctx,
    };
    return sqlclient_create(a->loop, &t, a->cfg->connect_timeout_ms);
}

static void dump_connect(struct archive *a, int idx)
{
    const struct config_backend *b = &a->cfg->backends[idx];
    a->src = idx;
    snprintf(a->src_name, sizeof(a->src_name), "%s", b->name);
    a->dump = client_for(a, b);
    if (a->dump == NULL || sqlclient_connect(a->dump, connected, a) != HY_OK) {
        sqlclient_destroy(a->dump);
        a->dump = NULL;
        a->retry_at = ev_now(a->loop) + RETRY_S;
        return;
    }
    a->state = A_CONNECTING;
    st_set_state(a, a->in_error ? "error" : "connecting");
}

/* ---- lag ---------------------------------------------------------------------- */

static void lag_record(struct archive *a, double v)
{
    a->lag[a->lag_next] = v;
    a->lag_next = (a->lag_next + 1) % LAG_RING;
    if (a->n_lag < LAG_RING)
        a->n_lag++;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Readings the synced position covers now are measured and dropped. */
static void lag_settle(struct archive *a)
{
    double now = ev_time(); /* not the loop's cached time: a measurement */
    size_t keep = 0;
    for (size_t i = 0; i < a->n_samples; i++) {
        if (gtid_pos_covers(&a->synced, &a->samples[i].pos))
            lag_record(a, now - a->samples[i].t_prev);
        else
            a->samples[keep++] = a->samples[i];
    }
    a->n_samples = keep;
}

static void status_publish(struct archive *a)
{
    double now = ev_now(a->loop);
    struct binlog_archive_status *s = &a->st;
    double lag_s = -1;
    int64_t lag_trx = -1;
    if (a->primary_known && a->state == A_STREAMING) {
        lag_s = a->n_samples > 0 ? now - a->samples[0].t_prev : 0;
        lag_trx = 0;
        for (uint32_t i = 0; i < a->primary.n; i++) {
            uint64_t have = gtid_pos_seq(&a->synced, a->primary.g[i].domain);
            if (a->primary.g[i].seq > have)
                lag_trx += (int64_t)(a->primary.g[i].seq - have);
        }
        if (lag_trx == 0)
            lag_s = 0;
    }
    double sorted[LAG_RING];
    size_t n = a->n_lag;
    memcpy(sorted, a->lag, n * sizeof(double));
    qsort(sorted, n, sizeof(double), cmp_double);
    pthread_mutex_lock(&a->mu);
    s->lag_seconds = lag_s;
    s->lag_transactions = lag_trx;
    s->lag_p50 = n ? sorted[(n - 1) / 2] : -1;
    s->lag_p99 = n ? sorted[(size_t)ceil(0.99 * (double)n) - 1] : -1;
    s->lag_max = n ? sorted[n - 1] : -1;
    s->lag_samples = n;
    gtid_pos_format(&a->synced, s->gtid, sizeof(s->gtid));
    if (a->primary_known)
        gtid_pos_format(&a->primary, s->primary_gtid, sizeof(s->primary_gtid));
    pthread_mutex_unlock(&a->mu);
}

static void probe_read(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct archive *a = arg;
    (void)c;
    a->probe_busy = false;
    const char *v = res->ok ? sqlresult_get(res, 0, 0) : NULL;
    struct gtid_pos p;
    if (v == NULL || gtid_pos_parse(v, strlen(v), &p) != HY_OK) {
        if (!res->ok) {
            sqlclient_destroy(a->probe);
            a->probe = NULL;
        }
        return;
    }
    bool newer = !a->primary_known || gtid_pos_compare(&p, &a->primary) != GTID_EQUAL;
    if (newer && a->primary_known && gtid_pos_covers(&a->synced, &p)) {
        /* archived before this answer came: at most this old */
        lag_record(a, ev_time() - a->probe_prev_sent);
    } else if (newer && !gtid_pos_covers(&a->synced, &p)) {
        if (a->n_samples == SAMPLES) { /* measured as at least this old */
            lag_record(a, ev_now(a->loop) - a->samples[0].t_prev);
            memmove(a->samples, a->samples + 1, (SAMPLES - 1) * sizeof(a->samples[0]));
            a->n_samples--;
        }
        a->samples[a->n_samples++] = (struct sample){.t_prev = a->probe_prev_sent, .pos = p};
    }
    a->primary = p;
    a->primary_known = true;
}

static void probe_connected(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct archive *a = arg;
    (void)c;
    a->probe_busy = false;
    if (!res->ok) {
        sqlclient_destroy(a->probe);
        a->probe = NULL;
    }
}

static void probe_tick(struct archive *a, int primary)
{
    if (a->probe_busy)
        return;
    if (primary != a->probe_src) {
        sqlclient_destroy(a->probe);
        a->probe = NULL;
        a->probe_src = primary;
        a->primary_known = false;
        a->n_samples = 0;
    }
    if (primary < 0)
        return;
    if (a->probe == NULL) {
        a->probe = client_for(a, &a->cfg->backends[primary]);
        if (a->probe != NULL && sqlclient_connect(a->probe, probe_connected, a) == HY_OK)
            a->probe_busy = true;
        return;
    }
    a->probe_prev_sent = a->probe_sent != 0 ? a->probe_sent : ev_now(a->loop);
    a->probe_sent = ev_now(a->loop);
    if (sqlclient_query(a->probe, "SELECT @@global.gtid_binlog_pos", probe_read, a) == HY_OK)
        a->probe_busy = true;
}

/* ---- retention ------------------------------------------------------------------ */

static void retention(struct archive *a)
{
    /* backup.full_keep: backups whose second copy was not made at the last
     * backup's pass go once it is; then the archive's files */
    struct backup_retain_result rr;
    backup_retain_run(a->cfg, &rr);
    uint64_t removed = backup_retain_archive(a->cfg, &rr, a->file_no);
    backup_watch_run(a->cfg, (int64_t)time(NULL)); /* chains, keys, the window */
    if (removed > 0) {
        write_index(a);
        pthread_mutex_lock(&a->mu);
        a->st.files_removed += removed;
        pthread_mutex_unlock(&a->mu);
    }
}

/* ---- the thread ------------------------------------------------------------------ */

static void take_config(struct archive *a)
{
    pthread_mutex_lock(&a->mu);
    struct config *fresh = a->cfg_new;
    a->cfg_new = NULL;
    pthread_mutex_unlock(&a->mu);
    if (fresh == NULL)
        return;
    bool was = a->cfg != NULL && a->cfg->backup.enabled;
    bool moved = a->cfg == NULL || strcmp(a->cfg->backup.dir, fresh->backup.dir) != 0;
    bool src_gone = a->src >= 0 && (a->cfg == NULL || (size_t)a->src >= fresh->n_backends ||
                                    strcmp(fresh->backends[a->src].name, a->src_name) != 0);
    if (a->dump != NULL && (moved || src_gone || !fresh->backup.enabled))
        drop_dump(a, 0);
    sqlclient_destroy(a->probe); /* its backend pointers belong to the old config */
    a->probe = NULL;
    a->probe_busy = false;
    a->probe_src = -1;
    if (moved || !fresh->backup.enabled) {
        file_close(a);
        a->file_no = 0;
    }
    config_put(a->cfg);
    a->cfg = fresh;
    pthread_mutex_lock(&a->mu);
    a->st.enabled = fresh->backup.enabled;
    snprintf(a->st.dir, sizeof(a->st.dir), "%s", fresh->backup.dir);
    if (!fresh->backup.enabled)
        snprintf(a->st.state, sizeof(a->st.state), "off");
    pthread_mutex_unlock(&a->mu);
    if (fresh->backup.enabled && (moved || !was)) {
        snprintf(a->dir, sizeof(a->dir), "%s", fresh->backup.dir);
        recover(a);
        a->next_retention = 0;
    }
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct archive *a = t->data;
    take_config(a);
    if (a->cfg == NULL || !a->cfg->backup.enabled)
        return;
    double now = ev_now(a->loop);
    int primary = backend_primary_index(a->cfg);
    if (a->dump != NULL && primary >= 0 && primary != a->src) {
        hy_log_info("backup: the primary is now %s: the archive follows it",
                    a->cfg->backends[primary].name);
        drop_dump(a, 0);
    }
    if (a->dump == NULL && primary >= 0 && now >= a->retry_at) {
        char err[512];
        if (binlog_archive_check_dir(a->cfg, err, sizeof(err)) != HY_OK) {
            if (!a->in_error || strcmp(a->st.last_error, err) != 0)
                archive_error(a, "%s", err);
            a->retry_at = now + 5 * RETRY_S;
        } else {
            if (a->blocked || (a->fd < 0 && a->file_no == 0 && a->pos.n == 0))
                recover(a); /* the directory (or the newest file's key) may have come back */
            if (a->blocked)
                a->retry_at = now + 5 * RETRY_S;
            else
                dump_connect(a, primary);
        }
    }
    if (a->dirty && now - a->last_sync >= a->cfg->backup.binlog_sync_ms / 1000.0)
        file_sync(a);
    probe_tick(a, primary);
    lag_settle(a);
    status_publish(a);
    pthread_mutex_lock(&a->mu);
    bool soon = a->retention_soon;
    a->retention_soon = false;
    pthread_mutex_unlock(&a->mu);
    uint64_t copied = backup_copy_done_gen();
    soon |= copied != a->copied_gen; /* a file's second copy made: it may go now */
    a->copied_gen = copied;
    if (soon || now >= a->next_retention) {
        a->next_retention = now + RETENTION_EVERY;
        retention(a);
    }
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)revents;
    struct archive *a = w->data;
    pthread_mutex_lock(&a->mu);
    bool stop = a->stop;
    pthread_mutex_unlock(&a->mu);
    if (stop)
        ev_break(loop, EVBREAK_ALL);
}

static void *archive_main(void *arg)
{
    struct archive *a = arg;
    pthread_setname_np(pthread_self(), "backup");
    ev_run(a->loop, 0);
    sqlclient_destroy(a->dump);
    a->dump = NULL;
    sqlclient_destroy(a->probe);
    a->probe = NULL;
    stream_end(a);
    if (a->fd >= 0) { /* left open (IN_USE) like a server's current file; read back at start */
        file_sync(a);
        close(a->fd);
        a->fd = -1;
    }
    return NULL;
}

hy_status_t binlog_archive_start(struct config *cfg, char *err, size_t errlen)
{
    struct archive *a = &A;
    a->trx = calloc(TRX_RING, sizeof(*a->trx));
    a->loop = ev_loop_new(EVFLAG_AUTO);
    if (a->trx == NULL || a->loop == NULL) {
        free(a->trx);
        a->trx = NULL;
        snprintf(err, errlen, "backup: out of memory");
        return HY_ERROR;
    }
    snprintf(a->st.state, sizeof(a->st.state), "off");
    a->cfg_new = config_get(cfg);
    ev_timer_init(&a->tick, tick_cb, 0., TICK_S);
    a->tick.data = a;
    ev_timer_start(a->loop, &a->tick);
    ev_async_init(&a->wake, wake_cb);
    a->wake.data = a;
    ev_async_start(a->loop, &a->wake);
    int rc = pthread_create(&a->thread, NULL, archive_main, a);
    if (rc != 0) {
        snprintf(err, errlen, "backup: cannot start its thread: %s", strerror(rc));
        config_put(a->cfg_new);
        a->cfg_new = NULL;
        ev_loop_destroy(a->loop);
        a->loop = NULL;
        return HY_ERROR;
    }
    a->running = true;
    return HY_OK;
}

void binlog_archive_stop(void)
{
    struct archive *a = &A;
    if (!a->running)
        return;
    pthread_mutex_lock(&a->mu);
    a->stop = true;
    pthread_mutex_unlock(&a->mu);
    ev_async_send(a->loop, &a->wake);
    pthread_join(a->thread, NULL);
    a->running = false;
    ev_loop_destroy(a->loop);
    a->loop = NULL;
    config_put(a->cfg);
    config_put(a->cfg_new);
    a->cfg = a->cfg_new = NULL;
    free(a->trx);
    a->trx = NULL;
}

void binlog_archive_set_config(struct config *cfg)
{
    struct archive *a = &A;
    if (!a->running)
        return;
    pthread_mutex_lock(&a->mu);
    config_put(a->cfg_new);
    a->cfg_new = config_get(cfg);
    pthread_mutex_unlock(&a->mu);
}

void binlog_archive_retention_soon(void)
{
    pthread_mutex_lock(&A.mu);
    A.retention_soon = true;
    pthread_mutex_unlock(&A.mu);
}

void binlog_archive_status(struct binlog_archive_status *out)
{
    struct archive *a = &A;
    pthread_mutex_lock(&a->mu);
    *out = a->st;
    pthread_mutex_unlock(&a->mu);
}
