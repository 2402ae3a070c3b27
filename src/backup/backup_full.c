/*
 * backup_full.c: see backup_full.h.
 *
 * The thread owns the dump's process, its pipe and the files; the status
 * is behind `mu` for `show backup`. The main thread only starts it (and
 * drains the source first, so no read is routed there once the request is
 * answered).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/clock.h"
#include "halyard/cluster/backend.h"
#include "halyard/backup/backup_chain.h"
#include "halyard/backup/backup_check.h"
#include "halyard/backup/backup_full.h"
#include "halyard/backup/binlog_archive.h"
#include "halyard/backup/backup_physical.h"
#include "halyard/backup/backup_retain.h"
#include "halyard/backup/backup_stream.h"
#include "halyard/core/fileio.h"
#include "halyard/core/oprun.h"
#include "halyard/core/events.h"
#include "halyard/protocol/sqlclient.h"
#include "halyard/core/spawn.h"
#include "halyard/core/log.h"

#define DRAIN_WAIT_MS 10000
#define CARRY         512 /* bytes of the last chunk kept to find a line cut between two */
#define CHECK_MS      10000

struct job {
    struct config *cfg;
    int src; /* index in cfg->backends */
    bool drained;
    enum backup_type type;       /* what is taken (backup_chain.h) */
    struct backup_parent parent; /* an incr's or diff's: what it continues */
    char dir[PATH_MAX];
    char stamp[32];
    char id[48];      /* TYPE-STAMP[-N]: the files' stem, once named */
    int64_t start_ns; /* its request, on the wall clock (core/oprun.h) */
};

static struct {
    pthread_mutex_t mu;
    bool running; /* a thread exists (joined by the next request or at exit) */
    bool busy;    /* it has not finished */
    pthread_t thread;
    pid_t pid; /* the dump, 0 = none */
    struct backup_full_status st;
} B = {.mu = PTHREAD_MUTEX_INITIALIZER, .st = {.state = "none"}};

extern char **environ;

bool backup_full_dump_gtid(const char *text, size_t len, char *out, size_t cap)
{
    static const char key[] = "gtid_slave_pos='";
    const char *p = memmem(text, len, key, sizeof(key) - 1);
    if (p == NULL || cap == 0)
        return false;
    p += sizeof(key) - 1;
    const char *end = memchr(p, '\'', len - (size_t)(p - text));
    if (end == NULL || (size_t)(end - p) >= cap)
        return false;
    struct gtid_pos pos;
    if (gtid_pos_parse(p, (size_t)(end - p), &pos) != HY_OK)
        return false;
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
    return true;
}

static void set_failed(const char *fmt, ...) HY_PRINTF(1, 2);

static void set_failed(const char *fmt, ...)
{
    char why[sizeof(B.st.error)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    hy_log_error("backup full: %s", why);
    pthread_mutex_lock(&B.mu);
    snprintf(B.st.state, sizeof(B.st.state), "failed");
    snprintf(B.st.error, sizeof(B.st.error), "%s", why);
    B.st.finished = time(NULL);
    B.st.failed++;
    char src[sizeof(B.st.source)];
    snprintf(src, sizeof(src), "%s", B.st.source);
    pthread_mutex_unlock(&B.mu);
    events_emit(EVENT_BACKUP_FULL_FAILED, src, "running", "failed", why,
                "no file that looks complete is left; see halyardctl show backup");
}

/* Compressed bytes out: to the file and the digest. */
static bool emit(int fd, EVP_MD_CTX *md, const uint8_t *p, size_t n, uint64_t *size)
{
    if (n == 0)
        return true;
    *size += n;
    return EVP_DigestUpdate(md, p, n) == 1 && fileio_write_all(fd, p, n);
}

/* Start mariadb-dump on the source; its stdout is *out_fd. */
static bool dump_start(struct job *j, int *out_fd, const char *errpath, char *why, size_t wl)
{
    const struct config_backend *b = &j->cfg->backends[j->src];
    const struct config_backup *bk = &j->cfg->backup;
    bool own = bk->user[0] != '\0';
    char host[300], port[32], user[120], pw[300];
    snprintf(host, sizeof(host), "--host=%s", b->address);
    snprintf(port, sizeof(port), "--port=%d", b->port);
    snprintf(user, sizeof(user), "--user=%s", own ? bk->user : j->cfg->monitor.user);
    snprintf(pw, sizeof(pw), "MYSQL_PWD=%s", own ? bk->password : j->cfg->monitor.password);
    char *argv[] = {"mariadb-dump",
                    host,
                    port,
                    user,
                    "--protocol=TCP",
                    "--single-transaction",
                    "--gtid",
                    "--master-data=2",
                    "--routines",
                    "--events",
                    "--triggers",
                    "--all-databases",
                    NULL};
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", pw, NULL};
    pid_t pid;
    hy_status_t rc = spawn_reader("mariadb-dump", argv, envp, true, errpath, &pid, out_fd, why, wl);
    explicit_bzero(pw, sizeof(pw));
    if (rc != HY_OK)
        return false;
    pthread_mutex_lock(&B.mu);
    B.pid = pid;
    pthread_mutex_unlock(&B.mu);
    return true;
}

/* The account the dump logs in as, on the source (backup_check.h). */
static hy_status_t check_account(const struct job *j, struct backup_account *acc, char *err,
                                 size_t errlen)
{
    const struct config_backend *b = &j->cfg->backends[j->src];
    const struct config_backup *bk = &j->cfg->backup;
    bool own = bk->user[0] != '\0';
    struct sqlclient_target t = {
        .name = b->name,
        .address = b->address,
        .port = b->port,
        .user = own ? bk->user : j->cfg->monitor.user,
        .password = own ? bk->password : j->cfg->monitor.password,
        .tls = b->tls,
        .tls_ctx = b->tls_ctx,
    };
    return backup_account_check(&t, CHECK_MS, acc, err, errlen);
}

/* Before the dump: the account can read everything. false: `why` says
 * what it lacks (or why it could not be checked). */
static bool account_ok(const struct job *j, struct backup_schemas *schemas, char *why, size_t wl)
{
    const struct config_backend *b = &j->cfg->backends[j->src];
    const char *user = j->cfg->backup.user[0] ? j->cfg->backup.user : j->cfg->monitor.user;
    struct backup_account acc;
    char err[300];
    if (check_account(j, &acc, err, sizeof(err)) != HY_OK) {
        snprintf(why, wl, "cannot check the privileges of backup account '%.80s' on %.100s: %.250s",
                 user, b->name, err);
        return false;
    }
    if (acc.missing[0] != '\0') {
        snprintf(why, wl,
                 "backup account %.160s lacks %.95s ON *.* on %.100s: mariadb-dump would leave "
                 "out what it cannot read (it needs SELECT, SHOW VIEW, TRIGGER, EVENT ON *.*)",
                 acc.account, acc.missing, b->name);
        backup_schemas_free(&acc.schemas);
        return false;
    }
    hy_log_info("backup full: account %s holds SELECT, SHOW VIEW, TRIGGER, EVENT ON *.* on %s; "
                "%zu schemas there",
                acc.account, b->name, acc.schemas.n);
    pthread_mutex_lock(&B.mu);
    snprintf(B.st.account, sizeof(B.st.account), "%s", acc.account);
    pthread_mutex_unlock(&B.mu);
    *schemas = acc.schemas;
    return true;
}

/* After the dump: it holds every schema the source had before it, but
 * those dropped meanwhile, which a second check tells. */
static bool schemas_ok(const struct job *j, const struct backup_schemas *before,
                       const struct backup_schemas *dumped, char *why, size_t wl)
{
    const struct config_backend *b = &j->cfg->backends[j->src];
    char list[200];
    if (backup_schemas_missing(before, dumped, list, sizeof(list)) == 0)
        return true;
    struct backup_account acc;
    char err[300];
    if (check_account(j, &acc, err, sizeof(err)) != HY_OK) {
        snprintf(
            why, wl,
            "the dump holds no schema %.200s that %.60s had, and checking again failed: %.150s",
            list, b->name, err);
        return false;
    }
    if (acc.missing[0] != '\0') {
        snprintf(
            why, wl,
            "the dump holds no schema %.200s that %.60s had: backup account %.80s now lacks %.60s "
            "ON *.*",
            list, b->name, acc.account, acc.missing);
        backup_schemas_free(&acc.schemas);
        return false;
    }
    /* Only the schemas still there count (one dropped meanwhile is not lost). */
    struct backup_schemas still = {0};
    bool ok = true;
    for (size_t i = 0; i < before->n && ok; i++)
        if (backup_schemas_has(&acc.schemas, before->names[i]))
            ok = backup_schemas_add(&still, before->names[i], strlen(before->names[i])) == HY_OK;
    size_t n = ok ? backup_schemas_missing(&still, dumped, list, sizeof(list)) : 0;
    backup_schemas_free(&still);
    backup_schemas_free(&acc.schemas);
    if (!ok) {
        snprintf(why, wl, "out of memory");
        return false;
    }
    if (n > 0) {
        snprintf(
            why, wl,
            "the dump is incomplete: it holds no schema %.200s that %.60s has (%zu missing; no "
            "CREATE DATABASE line for them)",
            list, b->name, n);
        return false;
    }
    return true;
}

static void run_dump(struct job *j, const struct backup_schemas *before);

static void run(struct job *j)
{
    char why[512] = "";
    /* Refused before waiting for the drain: an account that cannot read
     * everything makes a dump that looks complete and is not. */
    struct backup_schemas before = {0};
    /* mariadb-backup copies the files whatever the account may SELECT: it
     * fails, not leaves out, when it lacks a privilege it needs. */
    if (!j->cfg->backup.physical && !account_ok(j, &before, why, sizeof(why))) {
        set_failed("%s", why);
        return;
    }
    run_dump(j, &before);
    backup_schemas_free(&before);
}

/* The files of a full backup in backup.dir/full: the backup
 * (full-STAMP.sql.gz or .xb.gz) and its manifest (full-STAMP.json), each
 * written as .partial and renamed when complete, and the command's stderr. */
struct dump_files {
    char part[PATH_MAX], done[PATH_MAX], man[PATH_MAX], mtmp[PATH_MAX], errpath[PATH_MAX];
};

/* What the copy of the command's output found and wrote. */
struct dump_out {
    int fd;         /* the .partial */
    EVP_MD_CTX *md; /* SHA-256 of the file as written (compressed, encrypted) */
    uint64_t size;  /* bytes written */
    uint64_t plain; /* bytes the command wrote */
    char key_id[2 * BACKUP_CRYPT_ID_LEN + 1]; /* "" = not encrypted */
    char gtid[GTID_STR_MAX];
    bool have_gtid;
    uint64_t from_lsn, to_lsn;    /* mariadb-backup: the stream's xtrabackup_checkpoints */
    struct backup_dump_scan scan; /* mariadb-dump: the schemas it holds */
    size_t carry;                 /* bytes of the last chunk kept in `win` */
};

/* One backup runs at a time, in the job's thread: its buffers. */
static uint8_t ibuf[1 << 16];
/* The GTID line: with --master-data --gtid the dump prints it after the
 * mysql schema, so every chunk is searched, with the end of the one
 * before. */
static char win[CARRY + sizeof(ibuf)];
static struct xbstream_scan xb; /* mariadb-backup: the stream's chunks */

static bool dump_files_make(struct job *j, struct dump_files *f)
{
    bool phys = j->cfg->backup.physical;
    char full[PATH_MAX];
    snprintf(full, sizeof(full), "%.4000s/full", j->dir);
    if (mkdir(full, 0750) != 0 && errno != EEXIST) {
        set_failed("mkdir %s: %s", full, strerror(errno));
        return false;
    }
    char sfx[32];
    backup_stream_suffix(phys, (enum backup_comp)j->cfg->backup.compression,
                         j->cfg->backup.encryption_key_file[0] != '\0', sfx, sizeof(sfx));
    const char *type = backup_type_name(j->type);
    /* Two backups of a type started in the same second: the second is
     * named STAMP-2 (then -3 ...), never over the first's file or manifest. */
    char stamp[sizeof(j->stamp) + 12];
    snprintf(stamp, sizeof(stamp), "%s", j->stamp);
    for (unsigned k = 2;; k++) {
        snprintf(f->done, sizeof(f->done), "%.4000s/%s-%s%s", full, type, stamp, sfx);
        snprintf(f->man, sizeof(f->man), "%.4000s/%s-%s.json", full, type, stamp);
        if ((access(f->done, F_OK) != 0 && access(f->man, F_OK) != 0) || k > 1000)
            break;
        snprintf(stamp, sizeof(stamp), "%s-%u", j->stamp, k);
    }
    snprintf(j->id, sizeof(j->id), "%s-%s", type, stamp);
    snprintf(f->part, sizeof(f->part), "%.4000s.partial", f->done);
    snprintf(f->mtmp, sizeof(f->mtmp), "%.4000s.partial", f->man);
    snprintf(f->errpath, sizeof(f->errpath), "%.4000s/.%s.err", full,
             phys ? "mariadb-backup" : "mariadb-dump");
    return true;
}

/* mariadb-dump, or backup.mariadb_backup_command; its stdout is *in. */
static bool command_start(struct job *j, const struct config_backend *b, const struct dump_files *f,
                          int *in, char *why, size_t wl)
{
    if (!j->cfg->backup.physical)
        return dump_start(j, in, f->errpath, why, wl);
    pid_t ppid = 0;
    uint64_t lsn = j->type != BACKUP_FULL ? j->parent.to_lsn : 0;
    if (!backup_physical_start(j->cfg, b, lsn, f->errpath, in, &ppid, why, wl))
        return false;
    pthread_mutex_lock(&B.mu);
    B.pid = ppid;
    pthread_mutex_unlock(&B.mu);
    return true;
}

/* Read what the command wrote; with limit_s > 0 wait no later than
 * deadline_ms (polling 60 s at most at a time). -2: the deadline passed. */
static ssize_t read_until(int in, int64_t limit_s, int64_t deadline_ms)
{
    for (;;) {
        if (limit_s > 0) {
            int64_t left = deadline_ms - hy_mono_ms();
            struct pollfd pf = {.fd = in, .events = POLLIN};
            int pr = left > 0 ? poll(&pf, 1, (int)HY_MIN(left, (int64_t)60000)) : 0;
            if (pr < 0 && errno == EINTR)
                continue;
            if (pr == 0 && left > (int64_t)60000)
                continue;
            if (pr == 0)
                return -2;
        }
        ssize_t n = read(in, ibuf, sizeof(ibuf));
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

/* Look for the GTID line in the chunk, with the end of the one before. */
static void gtid_search(struct dump_out *o, size_t n)
{
    memcpy(win + o->carry, ibuf, n);
    size_t wl = o->carry + n;
    char g[GTID_STR_MAX];
    if (backup_full_dump_gtid(win, wl, g, sizeof(g))) {
        snprintf(o->gtid, sizeof(o->gtid), "%s", g);
        o->have_gtid = true;
    }
    o->carry = HY_MIN(wl, (size_t)CARRY);
    memmove(win, win + wl - o->carry, o->carry);
}

/* The writer's bytes into the file and the digest. */
static bool sink(void *ctx, const uint8_t *p, size_t n)
{
    struct dump_out *o = ctx;
    return emit(o->fd, o->md, p, n, &o->size);
}

/* A writer for backup.compression, sealing under backup.encryption_key_file
 * when set (its key id kept for the manifest). */
static struct backup_writer *writer_make(const struct job *j, struct dump_out *o)
{
    const struct config_backup *bk = &j->cfg->backup;
    struct backup_crypt_key key;
    bool seal = bk->encryption_key_file[0] != '\0' && bk->n_keys > 0;
    if (seal) {
        backup_crypt_key_make(bk->keys[0], &key);
        snprintf(o->key_id, sizeof(o->key_id), "%s", key.id_hex);
    }
    struct backup_writer *w =
        backup_writer_create((enum backup_comp)bk->compression, seal ? &key : NULL, sink, o);
    explicit_bzero(&key, sizeof(key));
    return w;
}

/* The command's output, read to its end (or backup.full_timeout), looked
 * through (the GTID line, the schemas or the xbstream's chunks),
 * compressed and hashed into `fd`. Closes `in`. */
static bool dump_copy(const struct job *j, int in, int fd, const struct dump_files *f,
                      const char *tool, struct dump_out *o, char *why, size_t wl)
{
    bool phys = j->cfg->backup.physical;
    o->fd = fd;
    o->md = EVP_MD_CTX_new();
    struct backup_writer *w = NULL;
    bool ok = o->md != NULL && EVP_DigestInit_ex(o->md, EVP_sha256(), NULL) == 1 &&
              (w = writer_make(j, o)) != NULL;
    memset(&xb, 0, sizeof(xb));
    /* backup.full_timeout: the command is killed (its process group) at
     * the deadline, and the .partial removed as for any failure. */
    int64_t limit_s = j->cfg->backup.full_timeout_s;
    int64_t deadline_ms = hy_mono_ms() + limit_s * 1000;
    for (bool eof = false; ok && !eof;) {
        ssize_t n = read_until(in, limit_s, deadline_ms);
        if (n == -2) {
            snprintf(why, wl,
                     "the %s did not finish within backup.full_timeout (%s): killed, with its "
                     "process group",
                     tool, j->cfg->backup.full_timeout);
            ok = false;
            break;
        }
        if (n < 0) {
            snprintf(why, wl, "read from %s: %s", tool, strerror(errno));
            ok = false;
            break;
        }
        eof = n == 0;
        if (phys) {
            if (!xbstream_scan_feed(&xb, ibuf, (size_t)n)) {
                snprintf(why, wl, "the %s's output: %s", tool, xb.error);
                ok = false;
                break;
            }
        } else {
            backup_dump_scan_feed(&o->scan, (const char *)ibuf, (size_t)n);
        }
        gtid_search(o, (size_t)n);
        ok = backup_writer_write(w, ibuf, (size_t)n) == HY_OK &&
             (!eof || backup_writer_finish(w) == HY_OK);
        if (!ok)
            snprintf(why, wl, "write %.160s: %s", f->part, errno != 0 ? strerror(errno) : "failed");
    }
    if (w != NULL)
        o->plain = backup_writer_plain(w);
    else if (why[0] == '\0')
        snprintf(why, wl, "out of memory starting the %s writer",
                 backup_comp_name((enum backup_comp)j->cfg->backup.compression));
    backup_writer_destroy(w);
    close(in);
    return ok;
}

/* Wait for the command (killed, with its process group, when the copy
 * failed); false if the copy failed or the command did not exit 0. */
static bool command_wait(bool ok, const struct dump_files *f, const char *tool, char *why,
                         size_t wl)
{
    int status = 0;
    pthread_mutex_lock(&B.mu);
    pid_t pid = B.pid;
    pthread_mutex_unlock(&B.mu);
    if (!ok)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    pthread_mutex_lock(&B.mu);
    B.pid = 0;
    pthread_mutex_unlock(&B.mu);
    if (ok && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char line[300];
        fileio_last_line(f->errpath, line, sizeof(line));
        snprintf(why, wl, "%s %s %d: %s", tool,
                 WIFEXITED(status) ? "exited with" : "killed by signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), line);
        ok = false;
    }
    return ok;
}

/* The stream's LSN range (xtrabackup_checkpoints): an incremental or
 * differential must start exactly where its parent ended, else it would
 * not apply onto it. */
static bool lsn_checks(const struct job *j, struct dump_out *o, char *why, size_t wl)
{
    bool have_to = backup_chain_ckpt_lsn(xb.ckpt, xb.ckpt_len, "to_lsn", &o->to_lsn);
    bool have_from = backup_chain_ckpt_lsn(xb.ckpt, xb.ckpt_len, "from_lsn", &o->from_lsn);
    if (j->type == BACKUP_FULL)
        return true; /* a full without them still restores (as before halyard recorded them) */
    if (!have_to || !have_from) {
        snprintf(why, wl,
                 "the stream has no xtrabackup_checkpoints with from_lsn and to_lsn: the %s "
                 "cannot be placed in its chain",
                 backup_type_name(j->type));
        return false;
    }
    if (o->from_lsn != j->parent.to_lsn) {
        snprintf(why, wl,
                 "the %s starts at LSN %llu, not at its parent %.200s's to_lsn %llu: is "
                 "%%i in backup.mariadb_backup_command?",
                 backup_type_name(j->type), (unsigned long long)o->from_lsn, j->parent.name,
                 (unsigned long long)j->parent.to_lsn);
        return false;
    }
    return true;
}

/* The backup is whole: the xbstream not cut short, a GTID, and (a dump)
 * every schema the source had. */
static bool dump_checks(const struct job *j, const struct backup_schemas *before, const char *tool,
                        struct dump_out *o, char *why, size_t wl)
{
    bool phys = j->cfg->backup.physical;
    if (phys) {
        o->have_gtid = backup_physical_gtid(xb.info, xb.info_len, o->gtid, sizeof(o->gtid));
        if (!xbstream_scan_complete(&xb)) {
            snprintf(why, wl, "the %s's xbstream ends inside a chunk (cut short)", tool);
            return false;
        }
        if (!o->have_gtid) {
            snprintf(why, wl,
                     "no GTID in the stream's xtrabackup_binlog_info (%s): is the source's "
                     "binary log on?",
                     xb.info_len > 0 ? "no third field" : "absent");
            return false;
        }
        if (!lsn_checks(j, o, why, wl))
            return false;
    }
    if (!o->have_gtid) {
        snprintf(why, wl, "no gtid_slave_pos line in the dump (--gtid --master-data=2)");
        return false;
    }
    if (o->scan.nomem) {
        snprintf(why, wl, "out of memory reading the dump's schemas");
        return false;
    }
    if (!phys)
        return schemas_ok(j, before, &o->scan.found, why, wl);
    return true;
}

/* The digest as hex (when ok), then the file synced and closed. */
static bool dump_close(int fd, bool ok, struct dump_out *o, char hex[65], const char *part,
                       char *why, size_t wl)
{
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    if (ok && EVP_DigestFinal_ex(o->md, dig, &dl) == 1) {
        for (unsigned i = 0; i < dl && i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    }
    EVP_MD_CTX_free(o->md);
    o->md = NULL;
    if (ok && (fsync(fd) != 0 || close(fd) != 0)) {
        snprintf(why, wl, "fsync %.160s: %s", part, strerror(errno));
        return false;
    }
    if (!ok)
        close(fd);
    return ok;
}

/* full-STAMP.json: the file, its method, source, GTID, times, size and
 * SHA-256; written whole, synced, then renamed into place. */
static bool manifest_write(const struct job *j, const struct config_backend *b,
                           const struct dump_files *f, const struct dump_out *o, const char *hex,
                           time_t finished)
{
    time_t started;
    pthread_mutex_lock(&B.mu);
    started = B.st.started;
    pthread_mutex_unlock(&B.mu);
    char t0[32], t1[32];
    strftime(t0, sizeof(t0), "%Y-%m-%dT%H:%M:%SZ", gmtime(&started));
    strftime(t1, sizeof(t1), "%Y-%m-%dT%H:%M:%SZ", gmtime(&finished));
    const char *slash = strrchr(f->done, '/');
    FILE *mf = fopen(f->mtmp, "w");
    bool mok = mf != NULL;
    if (mok) {
        fprintf(mf,
                "{\"file\":\"%s\",\"type\":\"%s\",\"parent\":\"%s\",\"from_lsn\":%llu,"
                "\"to_lsn\":%llu,\"method\":\"%s\",\"compression\":\"%s\","
                "\"encryption\":\"%s\",\"key_id\":\"%s\","
                "\"source\":\"%s\",\"source_address\":\"%s:%d\",\"source_is_primary\":%s,"
                "\"gtid\":\"%s\",\"started\":\"%s\",\"finished\":\"%s\",\"size\":%llu,"
                "\"plain_size\":%llu,\"sha256\":\"%s\"}\n",
                slash + 1, backup_type_name(j->type), j->parent.name,
                (unsigned long long)o->from_lsn, (unsigned long long)o->to_lsn,
                j->cfg->backup.physical ? "mariadb-backup" : "mariadb-dump",
                backup_comp_name((enum backup_comp)j->cfg->backup.compression),
                o->key_id[0] != '\0' ? "aes-256-gcm" : "none", o->key_id, b->name, b->address,
                b->port, j->drained ? "false" : "true", o->gtid, t0, t1,
                (unsigned long long)o->size, (unsigned long long)o->plain, hex);
        mok = fflush(mf) == 0 && fsync(fileno(mf)) == 0;
        mok = fclose(mf) == 0 && mok;
    }
    return mok && rename(f->mtmp, f->man) == 0;
}

static void run_dump(struct job *j, const struct backup_schemas *before)
{
    const struct config_backend *b = &j->cfg->backends[j->src];
    /* Reads already running there finish first (the drain stops new ones). */
    if (j->drained) {
        for (int waited = 0; waited < DRAIN_WAIT_MS; waited += 50) {
            if (atomic_load(&b->rt->outstanding) == 0)
                break;
            usleep(50000);
        }
    }
    struct dump_files f;
    if (!dump_files_make(j, &f))
        return;
    const char *tool = j->cfg->backup.physical ? "mariadb-backup command" : "mariadb-dump";
    int fd = open(f.part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        set_failed("open %s: %s", f.part, strerror(errno));
        return;
    }
    char why[512] = "";
    int in = -1;
    if (!command_start(j, b, &f, &in, why, sizeof(why))) {
        close(fd);
        unlink(f.part);
        set_failed("%s", why);
        return;
    }
    struct dump_out o = {0};
    bool ok = dump_copy(j, in, fd, &f, tool, &o, why, sizeof(why));
    ok = command_wait(ok, &f, tool, why, sizeof(why));
    ok = ok && dump_checks(j, before, tool, &o, why, sizeof(why));
    size_t n_schemas = o.scan.found.n;
    backup_schemas_free(&o.scan.found);
    char hex[65] = "";
    if (!dump_close(fd, ok, &o, hex, f.part, why, sizeof(why))) {
        unlink(f.part); /* never a file that looks complete */
        set_failed("%s", why);
        return;
    }
    if (rename(f.part, f.done) != 0) {
        unlink(f.part);
        set_failed("rename %s: %s", f.part, strerror(errno));
        return;
    }
    time_t finished = time(NULL);
    if (!manifest_write(j, b, &f, &o, hex, finished)) {
        unlink(f.mtmp);
        set_failed("manifest %s: %s", f.man, strerror(errno));
        return;
    }
    hy_log_info("backup %s: %s from %s at GTID %s, LSN %llu..%llu: %llu bytes (%llu before "
                "%s%s), sha256 %s, %zu schemas",
                backup_type_name(j->type), f.done, b->name, o.gtid, (unsigned long long)o.from_lsn,
                (unsigned long long)o.to_lsn, (unsigned long long)o.size,
                (unsigned long long)o.plain,
                backup_comp_name((enum backup_comp)j->cfg->backup.compression),
                o.key_id[0] != '\0' ? " and aes-256-gcm" : "", hex, n_schemas);
    /* backup.full_keep: before the backup counts as done, so a caller that
     * waited for it sees what retention left */
    struct backup_retain_result rr;
    backup_retain_run(j->cfg, &rr);
    binlog_archive_retention_soon();
    pthread_mutex_lock(&B.mu);
    snprintf(B.st.state, sizeof(B.st.state), "ok");
    snprintf(B.st.file, sizeof(B.st.file), "%s", f.done);
    snprintf(B.st.gtid, sizeof(B.st.gtid), "%s", o.gtid);
    snprintf(B.st.sha256, sizeof(B.st.sha256), "%s", hex);
    B.st.size = o.size;
    B.st.schemas = n_schemas;
    B.st.finished = finished;
    if (j->type == BACKUP_FULL)
        B.st.last_ok = finished;
    if (j->type != BACKUP_INCR)
        B.st.last_base = finished;
    B.st.last_any = finished;
    B.st.to_lsn = o.to_lsn;
    B.st.error[0] = '\0';
    B.st.ok++;
    pthread_mutex_unlock(&B.mu);
}

/* The run that ended, told as an operation (a span while tracing is on):
 * its id, type, method, source, outcome and, when it is complete, its
 * file, bytes and GTID. */
static void run_told(const struct job *j)
{
    struct backup_full_status st;
    backup_full_status(&st);
    struct oprun r = {.name = "halyard.backup", .start_ns = j->start_ns, .end_ns = hy_now_ns()};
    r.ok = strcmp(st.state, "ok") == 0;
    r.error = r.ok ? NULL : st.error;
    char id[sizeof(j->id)];
    snprintf(id, sizeof(id), "%s", j->id[0] ? j->id : "");
    if (id[0] == '\0') /* failed before its files were named */
        snprintf(id, sizeof(id), "%s-%s", backup_type_name(j->type), j->stamp);
    oprun_str(&r, "halyard.procedure", "backup");
    oprun_str(&r, "halyard.backup.id", id);
    oprun_str(&r, "halyard.backup.type", backup_type_name(j->type));
    oprun_str(&r, "halyard.backup.method",
              j->cfg->backup.physical ? "mariadb-backup" : "mariadb-dump");
    oprun_str(&r, "halyard.backend", j->cfg->backends[j->src].name);
    oprun_bool(&r, "halyard.backup.source_is_primary", !j->drained);
    oprun_bool(&r, "halyard.ok", r.ok);
    oprun_str(&r, "halyard.result", st.state);
    oprun_str(&r, "halyard.reason", r.error);
    oprun_int(&r, "halyard.duration_ms", (r.end_ns - r.start_ns) / 1000000);
    if (r.ok) {
        oprun_str(&r, "halyard.backup.file", st.file);
        oprun_int(&r, "halyard.backup.bytes", (int64_t)st.size);
        oprun_str(&r, "halyard.backup.gtid", st.gtid);
    }
    oprun_done(&r);
}

static void *job_main(void *arg)
{
    struct job *j = arg;
    run(j);
    if (oprun_wanted())
        run_told(j);
    if (j->drained) {
        char err[200];
        if (backend_set_admin(j->cfg, j->cfg->backends[j->src].name, BACKEND_ADMIN_NONE, err,
                              sizeof(err)) != HY_OK)
            hy_log_error("backup full: putting %s back: %s", j->cfg->backends[j->src].name, err);
    }
    config_put(j->cfg);
    free(j);
    pthread_mutex_lock(&B.mu);
    B.busy = false;
    pthread_mutex_unlock(&B.mu);
    return NULL;
}

/* The ONLINE replica with the least lag, not fenced (`prefer` when it is
 * one: an incremental continues its parent's server); -1 when none. */
static int pick_replica(const struct config *cfg, const char *prefer)
{
    int best = -1;
    int64_t best_lag = INT64_MAX;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        struct backend_rt *rt = cfg->backends[i].rt;
        if (rt == NULL || backend_role(rt) != ROLE_REPLICA || !backend_usable(rt) ||
            atomic_load(&rt->fenced))
            continue;
        if (prefer[0] != '\0' && strcmp(cfg->backends[i].name, prefer) == 0)
            return (int)i;
        int64_t lag = atomic_load(&rt->lag_ms);
        if (lag < 0)
            lag = INT64_MAX - 1;
        if (lag < best_lag) {
            best = (int)i;
            best_lag = lag;
        }
    }
    return best;
}

/* The answer to a request that started: what, from where, and why a full
 * when another type was asked for (logged, and backup_chain_new). */
static void request_said(const struct config *cfg, enum backup_type want, enum backup_type type,
                         const char *name, bool drained, const char *note, char *msg, size_t len)
{
    const char *tool = cfg->backup.physical ? "mariadb-backup" : "mariadb-dump";
    char what[300];
    if (drained)
        snprintf(what, sizeof(what), "%s of replica %s, drained of reads until it ends", tool,
                 name);
    else
        snprintf(what, sizeof(what),
                 "%s of the PRIMARY %s (no healthy replica), which keeps its traffic", tool, name);
    if (want != type)
        snprintf(msg, len, "backup full started: %s (%s)", what, note);
    else
        snprintf(msg, len, "backup %s started: %s", backup_type_name(type), what);
    hy_log_info("%s", msg);
    if (want != type) {
        hy_log_warn("backup: %s", note);
        events_emit(EVENT_BACKUP_CHAIN_NEW, name, backup_type_name(want), "full", note,
                    "a new chain starts with this full backup");
    }
}

/* An incr or diff can be asked for: the method and its command allow it. */
static bool chain_possible(const struct config *cfg, enum backup_type want, char *msg, size_t len)
{
    if (want == BACKUP_FULL)
        return true;
    if (!cfg->backup.physical) {
        snprintf(msg, len,
                 "a%s backup needs backup.method = \"mariadb-backup\" (mariadb-dump takes "
                 "full backups only)",
                 want == BACKUP_INCR ? "n incremental" : " differential");
        return false;
    }
    const char *c = cfg->backup.mariadb_backup_command;
    for (const char *p = strchr(c, '%'); p != NULL && p[1] != '\0'; p = strchr(p + 2, '%'))
        if (p[1] == 'i')
            return true;
    snprintf(msg, len,
             "backup.mariadb_backup_command has no %%i, where an incremental's "
             "--incremental-lsn=N goes");
    return false;
}

/* The source and the type: the parent's server when an incr or diff is
 * wanted, a full when the chain cannot continue (j->type, note). */
static int pick_source(struct config *cfg, enum backup_type want, struct job *j, bool *drained,
                       char *note, size_t nl)
{
    struct backup_parent any, full;
    time_t base_at;
    note[0] = '\0';
    if (want != BACKUP_FULL)
        backup_chain_parents(cfg->backup.dir, &any, &full, &base_at);
    const struct backup_parent *p = want == BACKUP_INCR ? &any : &full;
    int src = pick_replica(cfg, want != BACKUP_FULL && p->found ? p->source : "");
    *drained = src >= 0;
    if (src < 0)
        src = backend_primary_index(cfg);
    if (src < 0)
        return -1;
    j->type = backup_chain_decide(want, &any, &full, cfg->backends[src].name, &j->parent, note, nl);
    return src;
}

hy_status_t backup_full_request(struct config *cfg, char *msg, size_t len)
{
    return backup_take_request(cfg, BACKUP_FULL, msg, len);
}

hy_status_t backup_take_request(struct config *cfg, enum backup_type want, char *msg, size_t len)
{
    if (!cfg->backup.enabled) {
        snprintf(msg, len, "no backup section (backup.dir) in the running config");
        return HY_ERROR;
    }
    if (!chain_possible(cfg, want, msg, len))
        return HY_ERROR;
    pthread_mutex_lock(&B.mu);
    bool busy = B.busy, joinable = B.running;
    pthread_mutex_unlock(&B.mu);
    if (busy) {
        snprintf(msg, len, "a backup is running (show backup)");
        return HY_ERROR;
    }
    if (joinable) {
        pthread_join(B.thread, NULL);
        B.running = false;
    }
    struct job *j = calloc(1, sizeof(*j));
    if (j == NULL) {
        snprintf(msg, len, "out of memory");
        return HY_ERROR;
    }
    char note[sizeof(B.st.chain_note)];
    bool drained;
    int src = pick_source(cfg, want, j, &drained, note, sizeof(note));
    if (src < 0) {
        free(j);
        snprintf(msg, len, "no healthy replica and no primary to back up");
        return HY_ERROR;
    }
    j->cfg = config_get(cfg);
    j->src = src;
    snprintf(j->dir, sizeof(j->dir), "%s", cfg->backup.dir);
    j->start_ns = hy_now_ns();
    time_t now = (time_t)(j->start_ns / 1000000000);
    strftime(j->stamp, sizeof(j->stamp), "%Y%m%dT%H%M%SZ", gmtime(&now));
    const char *name = cfg->backends[src].name;
    char err[200];
    if (drained && backend_set_admin(cfg, name, BACKEND_ADMIN_DRAIN, err, sizeof(err)) != HY_OK) {
        config_put(j->cfg);
        free(j);
        snprintf(msg, len, "cannot drain %s: %s", name, err);
        return HY_ERROR;
    }
    j->drained = drained;
    enum backup_type type = j->type;
    pthread_mutex_lock(&B.mu);
    memset(&B.st.error, 0, sizeof(B.st.error));
    B.st.account[0] = '\0';
    snprintf(B.st.state, sizeof(B.st.state), "running");
    snprintf(B.st.type, sizeof(B.st.type), "%s", backup_type_name(type));
    snprintf(B.st.chain_note, sizeof(B.st.chain_note), "%s", note);
    snprintf(B.st.source, sizeof(B.st.source), "%s", name);
    B.st.source_is_primary = !drained;
    B.st.started = now;
    B.st.finished = 0;
    B.busy = true;
    int rc = pthread_create(&B.thread, NULL, job_main, j);
    B.running = rc == 0;
    if (rc != 0) {
        B.busy = false;
        snprintf(B.st.state, sizeof(B.st.state), "failed");
    }
    pthread_mutex_unlock(&B.mu);
    if (rc != 0) {
        if (drained)
            (void)!backend_set_admin(cfg, name, BACKEND_ADMIN_NONE, err, sizeof(err));
        config_put(j->cfg);
        free(j);
        snprintf(msg, len, "cannot start a thread: %s", strerror(rc));
        return HY_ERROR;
    }
    request_said(cfg, want, type, name, drained, note, msg, len);
    return HY_OK;
}

void backup_full_status(struct backup_full_status *out)
{
    pthread_mutex_lock(&B.mu);
    *out = B.st;
    pthread_mutex_unlock(&B.mu);
}

/* The data file beside manifest full-STAMP.json (stem: its first sl bytes):
 * whichever method, compression and encryption it was taken with. */
static void data_name(int dfd, const char *stem, size_t sl, char *out, size_t cap)
{
    struct stat sb;
    for (int k = 0; k < 12; k++) {
        char sfx[32];
        backup_stream_suffix(k & 1, (enum backup_comp)(k / 4), (k & 2) != 0, sfx, sizeof(sfx));
        snprintf(out, cap, "%.*s%s", (int)sl, stem, sfx);
        if (fstatat(dfd, out, &sb, 0) == 0)
            return;
    }
    snprintf(out, cap, "%.*s.sql.gz", (int)sl, stem);
}

/* Manifest `name` (in dfd) names a key id none of cfg's keys has: that id
 * in out (17 bytes). */
static bool key_missing(const struct config *cfg, int dfd, const char *name, char *out)
{
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    char text[4096];
    ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return false;
    text[n] = '\0';
    const char *p = strstr(text, "\"key_id\":\"");
    if (p == NULL || p[10] == '"')
        return false; /* not encrypted */
    snprintf(out, 2 * BACKUP_CRYPT_ID_LEN + 1, "%s", p + 10);
    for (size_t i = 0; i < cfg->backup.n_keys; i++) {
        struct backup_crypt_key k;
        backup_crypt_key_make(cfg->backup.keys[i], &k);
        bool same = strcmp(k.id_hex, out) == 0;
        explicit_bzero(&k, sizeof(k));
        if (same)
            return false;
    }
    return true;
}

/* backup_key_missing when a full backup needs a key cfg lacks. */
static void keys_note(const char *full, size_t missing, const char *first, const char *id)
{
    if (missing == 0)
        return;
    char why[EVENT_TEXT_MAX];
    snprintf(why, sizeof(why),
             "%zu full backup(s) in %.400s are encrypted under a key neither "
             "backup.encryption_key_file nor backup.decryption_key_files holds (%.200s: key id "
             "%s): restore cannot read them",
             missing, full, first, id);
    hy_log_warn("backup: %s", why);
    events_emit(EVENT_BACKUP_KEY_MISSING, NULL, "ok", "key_missing", why,
                "add the key file to backup.decryption_key_files");
}

void backup_full_seed(const struct config *cfg)
{
    if (!cfg->backup.enabled)
        return;
    char full[PATH_MAX];
    snprintf(full, sizeof(full), "%.4000s/full", cfg->backup.dir);
    DIR *d = opendir(full);
    if (d == NULL)
        return;
    time_t newest = 0;
    char name[256] = "", first[256] = "", id[2 * BACKUP_CRYPT_ID_LEN + 1],
         first_id[sizeof(id)] = "";
    size_t missing = 0; /* manifests whose key the config lacks */
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".json") != 0 || !backup_type_of(e->d_name, NULL))
            continue;
        if (key_missing(cfg, dirfd(d), e->d_name, id) && missing++ == 0) {
            snprintf(first, sizeof(first), "%s", e->d_name);
            snprintf(first_id, sizeof(first_id), "%s", id);
        }
        if (strncmp(e->d_name, "full-", 5) != 0)
            continue; /* last_ok is the newest full's */
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, 0) == 0 && sb.st_mtime > newest) {
            newest = sb.st_mtime;
            data_name(dirfd(d), e->d_name, n - 5, name, sizeof(name));
        }
    }
    closedir(d);
    keys_note(full, missing, first, first_id);
    struct backup_parent any, last_full;
    time_t base_at;
    backup_chain_parents(cfg->backup.dir, &any, &last_full, &base_at);
    pthread_mutex_lock(&B.mu);
    if (newest > 0 && B.st.ok == 0 && !B.busy) {
        B.st.last_ok = newest;
        snprintf(B.st.file, sizeof(B.st.file), "%.4000s/%s", full, name);
    }
    if (B.st.ok == 0 && !B.busy) {
        B.st.last_base = base_at;
        B.st.last_any = any.found ? any.finished : 0;
        B.st.to_lsn = any.to_lsn;
    }
    pthread_mutex_unlock(&B.mu);
}

size_t backup_full_suffix(const char *name)
{
    return backup_stream_suffix_len(name);
}

void backup_full_stop(void)
{
    pthread_mutex_lock(&B.mu);
    bool joinable = B.running;
    if (B.pid > 0)
        kill(-B.pid, SIGKILL);
    pthread_mutex_unlock(&B.mu);
    if (joinable)
        pthread_join(B.thread, NULL);
    B.running = false;
}
