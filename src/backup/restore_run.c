/*
 * restore_run.c: `halyardctl restore` (restore_run.h): reading backup.dir,
 * the target server's check, and the tools piped into it. The plan itself
 * is restore.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/grow.h"
#include "halyard/core/clock.h"
#include "halyard/protocol/binlog.h"
#include "halyard/backup/archive_seal.h"
#include "halyard/backup/backup_stream.h"
#include "halyard/backup/binlog_archive.h"
#include "halyard/core/fileio.h"
#include "halyard/core/progress.h"
#include "halyard/core/text.h"
#include "halyard/core/textbuf.h"
#include "halyard/backup/restore.h"
#include "halyard/backup/restore_physical.h"
#include "halyard/backup/restore_run.h"

#define MAX_EVENT (1u << 30) /* the server's max_allowed_packet ceiling */

enum { RS_OK = 0, RS_FAILED = 1, RS_USAGE = 2 };

extern char **environ;

#define target restore_server

#define archive_read restore_archive

bool restore_unpack_to(struct backup_reader *r, int to, const char *what, uint64_t *bytes)
{
    static uint8_t buf[1 << 16];
    *bytes = 0;
    for (;;) {
        ssize_t n = backup_reader_read(r, buf, sizeof(buf));
        if (n < 0) {
            restore_fail("restore", "%s", backup_reader_error(r));
            return false;
        }
        if (n == 0)
            return true;
        if (!fileio_write_all(to, buf, (size_t)n)) {
            restore_fail("restore", "writing %s: %s", what, strerror(errno));
            return false;
        }
        *bytes += (uint64_t)n;
        progress_update(progress_main(), backup_reader_offset(r));
    }
}

bool restore_check_sealed(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t head[8];
    ssize_t n = fd >= 0 ? read(fd, head, sizeof(head)) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)sizeof(head) || !backup_crypt_is_sealed(head, sizeof(head)))
        return true; /* not encrypted: the reader's own errors say the rest */
    double t0 = hy_mono_s();
    char why[700];
    uint64_t plain = 0;
    if (backup_stream_check(path, &plain, why, sizeof(why)) != HY_OK) {
        restore_fail("restore", "refused: %s", why);
        return false;
    }
    printf("checked: every AES-256-GCM chunk of %s authenticated, %llu bytes once decrypted "
           "(%.2f s)\n",
           path, (unsigned long long)plain, hy_mono_s() - t0);
    fflush(stdout);
    return true;
}

volatile sig_atomic_t restore_interrupted;

/* restore's children while they run, for restore_kill_children() */
#define RESTORE_CHILDREN_MAX 8
static volatile sig_atomic_t children[RESTORE_CHILDREN_MAX];

void restore_child_add(pid_t pid)
{
    for (int i = 0; i < RESTORE_CHILDREN_MAX; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            break;
        }
    }
    if (restore_interrupted) /* the signal came before it was here */
        kill(pid, SIGTERM);
}

static void child_del(pid_t pid)
{
    for (int i = 0; i < RESTORE_CHILDREN_MAX; i++) {
        if (children[i] == pid)
            children[i] = 0;
    }
}

void restore_kill_children(void)
{
    for (int i = 0; i < RESTORE_CHILDREN_MAX; i++) {
        pid_t pid = children[i];
        if (pid > 0)
            kill(pid, SIGTERM);
    }
}

void restore_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    progress_end(progress_main()); /* a terminal's progress line erased first */
    fprintf(stderr, "halyardctl %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

#define fail(...) restore_fail("restore", __VA_ARGS__)

static void usage(FILE *out)
{
    fprintf(out, "usage: halyardctl -c CONFIG restore (--to-time \"YYYY-MM-DD HH:MM:SS\" | "
                 "--to-gtid D-S-N |\n"
                 "                  --to-position D-S-N[,D-S-N...])\n"
                 "                  --into HOST:PORT [--user USER] [--password-file FILE]\n"
                 "                  [--dir BACKUP_DIR] [--datadir DIR] [--dry-run]\n"
                 "  the time is local time, as mariadb-binlog --stop-datetime reads it;\n"
                 "  --to-position: each domain up to its GTID (as @@gtid_binlog_pos lists\n"
                 "  them), a domain it does not name not beyond the backup;\n"
                 "  --dir stands for the config's backup.dir; --user defaults to root;\n"
                 "  --datadir: the empty datadir of the stopped server --into names, for a\n"
                 "  mariadb-backup backup\n");
}

/* ---- backup.dir/full: the manifests -------------------------------------- */

bool restore_json_str(const char *text, const char *key, char *out, size_t cap)
{
    return hy_json_str(text, key, out, cap);
}

static int cmp_backup(const void *x, const void *y)
{
    const struct restore_backup *a = x, *b = y;
    return a->finished < b->finished ? -1 : a->finished > b->finished;
}

/* The complete backups (a manifest and its dump), oldest first. */
static struct restore_backup *read_backups(const char *dir, size_t *n)
{
    *n = 0;
    char full[PATH_MAX];
    snprintf(full, sizeof(full), "%.3700s/full", dir);
    DIR *d = opendir(full);
    if (d == NULL)
        return NULL;
    struct restore_backup *v = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || !backup_type_of(e->d_name, NULL) ||
            strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        char path[PATH_MAX], text[8192], fin[40], gtid[GTID_STR_MAX];
        snprintf(path, sizeof(path), "%.3700s/%.255s", full, e->d_name);
        if (!fileio_read_text(path, text, sizeof(text)))
            continue;
        struct restore_backup b = {0};
        struct tm tm = {0};
        if (!restore_json_str(text, "file", b.name, sizeof(b.name)) ||
            !restore_json_str(text, "gtid", gtid, sizeof(gtid)) ||
            !restore_json_str(text, "finished", fin, sizeof(fin)) ||
            gtid_pos_parse(gtid, strlen(gtid), &b.gtid) != HY_OK ||
            strptime(fin, "%Y-%m-%dT%H:%M:%SZ", &tm) == NULL) {
            fprintf(stderr, "halyardctl restore: %s: not a manifest halyard wrote; skipped\n",
                    path);
            continue;
        }
        b.finished = (int64_t)timegm(&tm);
        (void)restore_json_str(text, "sha256", b.sha256, sizeof(b.sha256));
        (void)restore_json_str(text, "source", b.source, sizeof(b.source));
        (void)restore_json_str(text, "key_id", b.key_id, sizeof(b.key_id));
        (void)restore_json_str(text, "parent", b.parent, sizeof(b.parent));
        char type[8] = "full";
        (void)restore_json_str(text, "type", type, sizeof(type));
        b.type = strcmp(type, "incr") == 0   ? BACKUP_INCR
                 : strcmp(type, "diff") == 0 ? BACKUP_DIFF
                                             : BACKUP_FULL;
        const char *lsn = strstr(text, "\"to_lsn\":");
        if (lsn == NULL ||
            !hy_parse_u64(lsn + 9, hy_digits(lsn + 9, strlen(lsn + 9)), UINT64_MAX, &b.to_lsn))
            b.to_lsn = 0; /* none recorded */
        if (!restore_json_str(text, "method", b.method, sizeof(b.method)))
            snprintf(b.method, sizeof(b.method), "mariadb-dump");
        struct stat sb;
        snprintf(path, sizeof(path), "%.3700s/%.255s", full, b.name);
        if (stat(path, &sb) != 0) {
            fprintf(stderr, "halyardctl restore: %s: %s; its manifest is skipped\n", path,
                    strerror(errno));
            continue;
        }
        if (*n == cap && !HY_GROW(v, cap, 16))
            break;
        v[(*n)++] = b;
    }
    closedir(d);
    if (*n > 1)
        qsort(v, *n, sizeof(*v), cmp_backup);
    return v;
}

bool restore_newest_method(const char *dir, char *method, size_t cap)
{
    size_t n;
    struct restore_backup *v = read_backups(dir, &n);
    bool found = n > 0;
    if (found)
        snprintf(method, cap, "%s", v[n - 1].method);
    free(v);
    return found;
}

/* ---- backup.dir: the archive's files ------------------------------------- */

static bool read_full(FILE *f, void *buf, size_t n)
{
    return fread(buf, 1, n, f) == n;
}

/* One file: its GTID_LIST and whole transactions (checksums checked).
 * Returns false only when out of memory. */
static ssize_t sealed_read(void *c, char *buf, size_t n)
{
    return backup_reader_read(c, (uint8_t *)buf, n);
}

static int sealed_close(void *c)
{
    (void)c; /* the reader is closed by read_file, after its error is read */
    return 0;
}

/* A sealed archive file read whole to its end: every tag checked. False
 * with rf->error set (the file is named by the caller's messages). */
static bool sealed_end(struct backup_reader *r, struct restore_file *rf)
{
    uint8_t buf[4096];
    ssize_t k;
    while ((k = backup_reader_read(r, buf, sizeof(buf))) > 0)
        ;
    if (k == 0)
        return true;
    snprintf(rf->error, sizeof(rf->error), "%s", backup_reader_error(r));
    return false;
}

/* The file as a stream: clear as it is, sealed through backup_stream.c's
 * reader (archive_seal.h), *r set. NULL with rf->error. */
static FILE *archive_open(const char *path, struct restore_file *rf, struct backup_reader **r)
{
    *r = NULL;
    uint32_t no;
    if (archive_name_parse(rf->name, &no, NULL) != ARCHIVE_SEALED) {
        FILE *f = fopen(path, "r");
        if (f == NULL)
            snprintf(rf->error, sizeof(rf->error), "%s", strerror(errno));
        return f;
    }
    char why[sizeof(rf->error)];
    *r = backup_reader_open(path, why, sizeof(why));
    if (*r == NULL) {
        snprintf(rf->error, sizeof(rf->error), "%s", why);
        return NULL;
    }
    FILE *f =
        fopencookie(*r, "r", (cookie_io_functions_t){.read = sealed_read, .close = sealed_close});
    if (f == NULL) {
        snprintf(rf->error, sizeof(rf->error), "%s", strerror(errno));
        backup_reader_close(*r);
        *r = NULL;
    }
    return f;
}

static bool read_file(const char *path, struct restore_file *rf, struct restore_trx **trx_out)
{
    struct backup_reader *sr;
    FILE *f = archive_open(path, rf, &sr);
    *trx_out = NULL;
    if (f == NULL)
        return true;
    uint8_t magic[BINLOG_MAGIC_LEN];
    if (!read_full(f, magic, sizeof(magic)) || memcmp(magic, BINLOG_MAGIC, BINLOG_MAGIC_LEN)) {
        const char *why = sr != NULL ? backup_reader_error(sr) : "";
        snprintf(rf->error, sizeof(rf->error), "%s", why[0] ? why : "not a binlog file (no magic)");
        fclose(f);
        if (sr != NULL)
            backup_reader_close(sr);
        return true;
    }
    uint8_t *ev = NULL;
    size_t cap = 0, tcap = 0;
    struct restore_trx *trx = NULL;
    struct binlog_group g = {0};
    bool crc = true, have_fde = false, ok = true;
    uint32_t begin_when = 0;
    uint64_t off = BINLOG_MAGIC_LEN;
    for (;;) {
        uint8_t hb[BINLOG_HEADER_LEN];
        size_t got = fread(hb, 1, sizeof(hb), f);
        if (got == 0)
            break;
        if (got < sizeof(hb))
            break; /* a tail being written, or cut: only whole transactions count */
        uint32_t size = (uint32_t)hb[9] | (uint32_t)hb[10] << 8 | (uint32_t)hb[11] << 16 |
                        (uint32_t)hb[12] << 24;
        if (size < BINLOG_HEADER_LEN || size > MAX_EVENT) {
            snprintf(rf->error, sizeof(rf->error), "an event of %u bytes at offset %llu", size,
                     (unsigned long long)off);
            break;
        }
        if (size > cap) {
            uint8_t *nb = realloc(ev, size);
            if (nb == NULL) {
                ok = false;
                break;
            }
            ev = nb;
            cap = size;
        }
        memcpy(ev, hb, sizeof(hb));
        if (!read_full(f, ev + sizeof(hb), size - sizeof(hb)))
            break; /* a tail being written */
        if (hb[4] == BINLOG_FORMAT_DESCRIPTION && !have_fde) {
            crc = binlog_fde_checksum_alg(ev, size) == 1;
            have_fde = true;
        }
        if (crc && !binlog_crc_ok(ev, size)) {
            snprintf(rf->error, sizeof(rf->error), "a bad checksum in the event at offset %llu",
                     (unsigned long long)off);
            break;
        }
        size_t body = crc ? size - BINLOG_CRC_LEN : size;
        if (hb[4] == BINLOG_GTID_LIST && !rf->have_list)
            rf->have_list = binlog_gtid_list_parse(ev, body, &rf->start) == HY_OK;
        struct binlog_header h;
        if (binlog_header_parse(ev, size, &h) != HY_OK)
            memset(&h, 0, sizeof(h));
        enum binlog_group_step step = binlog_group_feed(&g, ev, body);
        if (step == BINLOG_BEGIN)
            begin_when = h.timestamp;
        if (step == BINLOG_END) {
            if (rf->n_trx == tcap && !HY_GROW(trx, tcap, 1024)) {
                ok = false;
                break;
            }
            trx[rf->n_trx++] = (struct restore_trx){.gtid = g.gtid, .when = begin_when};
        }
        off += size;
    }
    free(ev);
    fclose(f);
    if (sr != NULL) {
        /* sealed: whole or nothing (a tag that fails is a changed file,
         * not a tail being written) */
        if (rf->error[0] != '\0' || !sealed_end(sr, rf)) {
            rf->have_list = false;
            rf->n_trx = 0;
        }
        backup_reader_close(sr);
    }
    rf->trx = trx;
    *trx_out = trx;
    return ok;
}

static void archive_free(struct archive_read *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->trx[i]);
    free(a->trx);
    free(a->files);
}

static bool read_archive(const char *dir, struct archive_read *a)
{
    memset(a, 0, sizeof(*a));
    struct archive_file *nos;
    size_t n;
    if (archive_list(dir, &nos, &n) != HY_OK) {
        fail("%s: %s", dir, strerror(errno));
        return false;
    }
    /* a file both sealed and clear (the archive's seal cut short by a
     * crash, before it unlinked the clear one): the sealed one is whole */
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && nos[i + 1].no == nos[i].no)
            continue;
        nos[w++] = nos[i];
    }
    n = w;
    a->files = calloc(n + 1, sizeof(*a->files));
    a->trx = calloc(n + 1, sizeof(*a->trx));
    if (a->files == NULL || a->trx == NULL) {
        free(nos);
        fail("out of memory");
        return false;
    }
    char path[PATH_MAX];
    uint64_t total = 0, done = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%.4000s/%s", dir, nos[i].name);
        total += fileio_size(path);
    }
    progress_phase(progress_main(), "reading the archive", total);
    for (size_t i = 0; i < n; i++) {
        struct restore_file *rf = &a->files[i];
        snprintf(rf->name, sizeof(rf->name), "%s", nos[i].name);
        snprintf(path, sizeof(path), "%.4000s/%s", dir, rf->name);
        a->n = i + 1;
        if (!read_file(path, rf, &a->trx[i])) {
            free(nos);
            fail("out of memory reading %s", path);
            return false;
        }
        progress_update(progress_main(), done += fileio_size(path));
    }
    progress_end(progress_main());
    free(nos);
    return true;
}

struct restore_backup *restore_backups_read(const char *dir, size_t *n)
{
    return read_backups(dir, n);
}

bool restore_archive_read(const char *dir, struct restore_archive *a)
{
    return read_archive(dir, a);
}

void restore_archive_free(struct restore_archive *a)
{
    archive_free(a);
}

/* ---- the tools ------------------------------------------------------------ */

/* The tools get SIGPIPE back at its default (halyardctl ignores it, so a
 * client that dies mid-load is an error from write, not a silent death). */
void restore_spawnattr_init(posix_spawnattr_t *at)
{
    sigset_t def;
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    posix_spawnattr_init(at);
    posix_spawnattr_setsigdefault(at, &def);
    posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGDEF);
}

/* Start `mariadb` against the target: stdin from in_fd (-1: /dev/null),
 * stdout to out_fd (-1: inherited). `query`: run it with -e. `no_binlog`:
 * the session does not write the target's binary log. */
static pid_t client_start(const struct target *t, int in_fd, int out_fd, const char *query,
                          bool no_binlog)
{
    char host[300], port[32], user[160], pw[300];
    snprintf(host, sizeof(host), "--host=%s", t->host);
    snprintf(port, sizeof(port), "--port=%d", t->port);
    snprintf(user, sizeof(user), "--user=%s", t->user);
    snprintf(pw, sizeof(pw), "MYSQL_PWD=%s", t->password);
    char *argv[16] = {"mariadb",        "--no-defaults",          host, port, user,
                      "--protocol=TCP", "--max-allowed-packet=1G"};
    int ac = 7;
    if (no_binlog)
        argv[ac++] = "--init-command=SET SESSION sql_log_bin = 0";
    if (query != NULL) {
        argv[ac++] = "--batch";
        argv[ac++] = "--skip-column-names";
        argv[ac++] = "-e";
        argv[ac++] = (char *)query;
    }
    argv[ac] = NULL;
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", t->have_password ? pw : NULL, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_t at;
    restore_spawnattr_init(&at);
    pid_t pid;
    int rc = posix_spawnp(&pid, "mariadb", &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    explicit_bzero(pw, sizeof(pw));
    if (rc != 0) {
        fail("cannot run mariadb: %s", strerror(rc));
        return -1;
    }
    restore_child_add(pid);
    return pid;
}

/* Wait for pid; true when it exited 0, else says how it ended. */
bool restore_reap(pid_t pid, const char *what, const char *log)
{
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            child_del(pid);
            fail("%s: waitpid: %s", what, strerror(errno));
            return false;
        }
    }
    child_del(pid);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return true;
    char line[300] = "";
    if (log != NULL)
        fileio_last_line(log, line, sizeof(line));
    if (WIFEXITED(st) && log == NULL)
        fail("%s exited with %d (its error is above)", what, WEXITSTATUS(st));
    else if (WIFEXITED(st))
        fail("%s exited with %d%s%s; see %s", what, WEXITSTATUS(st), line[0] ? ": " : "", line,
             log);
    else
        fail("%s was killed by signal %d", what, WTERMSIG(st));
    return false;
}

char *restore_query(const struct restore_server *t, const char *sql, const char *what)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        fail("pipe: %s", strerror(errno));
        return NULL;
    }
    pid_t pid = client_start(t, -1, p[1], sql, false);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return NULL;
    }
    struct textbuf out;
    textbuf_init(&out, SIZE_MAX / 2);
    textbuf_puts(&out, ""); /* the answer may be empty: "", not NULL */
    for (;;) {
        char buf[4096];
        ssize_t n = read(p[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        /* after out of memory, read on: the client must not block on a full pipe */
        textbuf_append(&out, buf, (size_t)n);
    }
    close(p[0]);
    char whatl[400];
    snprintf(whatl, sizeof(whatl), "mariadb (asking %s:%d %s)", t->host, t->port, what);
    if (!restore_reap(pid, whatl, NULL) || out.overflow) {
        if (out.overflow)
            fail("out of memory");
        textbuf_free(&out);
        return NULL;
    }
    return out.data;
}

bool restore_check_empty(const struct restore_server *t, const char *into)
{
    char *out = restore_query(t,
                              "SELECT schema_name FROM information_schema.schemata WHERE "
                              "schema_name NOT IN ('mysql', 'information_schema', "
                              "'performance_schema', 'sys') ORDER BY schema_name",
                              "for its schemas");
    if (out == NULL)
        return false;
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '\n')
        out[--len] = '\0';
    for (char *c = out; *c; c++) {
        if (*c == '\n')
            *c = ' ';
    }
    bool empty = out[0] == '\0';
    if (!empty)
        fail("refused: %s is not empty: it has the schemas %.900s (restore into an empty server)",
             into, out);
    free(out);
    return empty;
}

struct backup_reader *restore_open_piped(const char *path, int p[2])
{
    char why[BACKUP_READER_ERROR_MAX];
    struct backup_reader *gz = backup_reader_open(path, why, sizeof(why));
    if (gz == NULL) {
        fail("cannot open %s", why);
        return NULL;
    }
    if (pipe2(p, O_CLOEXEC) != 0) {
        backup_reader_close(gz);
        fail("pipe: %s", strerror(errno));
        return NULL;
    }
    return gz;
}

/* Load the dump: decrypted and inflated in this process into `mariadb`'s
 * standard input. */
static bool load_dump(const struct target *t, const char *path, uint64_t *bytes)
{
    int p[2];
    struct backup_reader *gz = restore_open_piped(path, p);
    if (gz == NULL)
        return false;
    pid_t pid = client_start(t, p[0], -1, NULL, true);
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        backup_reader_close(gz);
        return false;
    }
    bool ok = restore_unpack_to(gz, p[1], "the dump to mariadb", bytes);
    backup_reader_close(gz);
    close(p[1]);
    return restore_reap(pid, "mariadb (loading the dump)", NULL) && ok;
}

/* mariadb-binlog FILES... | mariadb */
/* Where mariadb-binlog reads archive file `name` from: backup.dir for a
 * clear one; a sealed one is opened first (archive_unseal: every tag
 * checked) into a private directory (mode 0700 under $TMPDIR or /tmp,
 * made on the first, its path in clear_dir), its plaintext 0600, deleted
 * once applied. */
static bool binlog_path(const char *dir, const char *name, char *clear_dir, char *out)
{
    uint32_t no;
    snprintf(out, PATH_MAX, "%.4000s/%s", dir, name);
    if (archive_name_parse(name, &no, NULL) != ARCHIVE_SEALED)
        return true;
    if (clear_dir[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(clear_dir, PATH_MAX, "%.4000s/halyard-restore-XXXXXX",
                 tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
        if (mkdtemp(clear_dir) == NULL) {
            fail("mkdtemp %s: %s", clear_dir, strerror(errno));
            clear_dir[0] = '\0';
            return false;
        }
    }
    char src[PATH_MAX], cn[64], why[PATH_MAX + 300];
    snprintf(src, sizeof(src), "%s", out);
    archive_name_make(cn, sizeof(cn), no, NULL);
    snprintf(out, PATH_MAX, "%.4000s/%s", clear_dir, cn);
    size_t nk = 0;
    const struct backup_crypt_key *k = backup_keys(&nk);
    if (archive_unseal(src, out, k, nk, why, sizeof(why)) != HY_OK) {
        fail("%s", why);
        return false;
    }
    return true;
}

/* The loaded server's GTID state: the backup's position in every domain
 * (the dump is loaded unlogged), so that after the replay @@gtid_binlog_pos
 * is the target in each domain, those the range does not move too. Its
 * binary log is reset first: the server is an empty one, and what it
 * logged of its own (its accounts) would stand beside the backup's GTIDs. */
static bool gtid_state_set(const struct target *t, const struct gtid_pos *from)
{
    if (from->n == 0)
        return true;
    char gs[GTID_STR_MAX], sql[GTID_STR_MAX + 80];
    gtid_pos_format(from, gs, sizeof(gs));
    snprintf(sql, sizeof(sql), "RESET MASTER; SET GLOBAL gtid_binlog_state = '%s'", gs);
    char *o = restore_query(t, sql, "setting its GTID state to the backup's");
    bool ok = o != NULL;
    free(o);
    return ok;
}

static bool apply_binlog(const struct target *t, const char *dir, const struct archive_read *a,
                         const struct restore_plan *pl)
{
    char start[GTID_STR_MAX + 32], stop[GTID_STR_MAX + 32], gs[GTID_STR_MAX];
    /* the domains the range moves: the others stay where the backup is */
    struct gtid_pos moved = {0}, from = {0};
    for (uint32_t i = 0; i < pl->to.n; i++) {
        uint32_t d = pl->to.g[i].domain;
        if (pl->to.g[i].seq <= gtid_pos_seq(&pl->from, d))
            continue;
        moved.g[moved.n++] = pl->to.g[i];
        for (uint32_t k = 0; k < pl->from.n; k++) {
            if (pl->from.g[k].domain == d)
                from.g[from.n++] = pl->from.g[k];
        }
    }
    /* Neither position may name a domain the range does not move:
     * mariadb-binlog wants every domain of either reached in the files
     * ("Binary logs never reached expected GTID state"). A moved domain
     * the backup lacks starts at the files' first event; mariadb-binlog
     * prints every event of a domain the positions do not name: its
     * transactions in these files are in the backup or past the target,
     * so they are hidden. */
    gtid_pos_format(&from, gs, sizeof(gs));
    snprintf(start, sizeof(start), "--start-position=%s", gs);
    gtid_pos_format(&moved, gs, sizeof(gs));
    snprintf(stop, sizeof(stop), "--stop-position=%s", gs);
    char ignore[GTID_MAX * 12 + 32] = "--ignore-domain-ids=";
    size_t il = strlen(ignore);
    uint32_t seen[GTID_MAX];
    size_t n_seen = 0;
    for (size_t i = 0; i < pl->n_files; i++) {
        const struct restore_file *f = &a->files[pl->first_file + i];
        for (size_t k = 0; k < f->n_trx; k++) {
            uint32_t d = f->trx[k].gtid.domain;
            bool known = gtid_pos_seq(&moved, d) > 0;
            for (size_t j = 0; j < n_seen && !known; j++)
                known = seen[j] == d;
            if (known || n_seen == GTID_MAX)
                continue;
            seen[n_seen++] = d;
            il += (size_t)snprintf(ignore + il, sizeof(ignore) - il, "%s%u", n_seen > 1 ? "," : "",
                                   d);
        }
    }
    size_t ac = 0, max = pl->n_files + 8;
    char **argv = calloc(max, sizeof(*argv));
    char(*paths)[PATH_MAX] = calloc(pl->n_files, sizeof(*paths));
    if (argv == NULL || paths == NULL) {
        free(argv);
        free(paths);
        fail("out of memory");
        return false;
    }
    argv[ac++] = "mariadb-binlog";
    if (from.n > 0)
        argv[ac++] = start;
    argv[ac++] = stop;
    if (n_seen > 0)
        argv[ac++] = ignore;
    char clear_dir[PATH_MAX] = "";
    bool ok = false;
    for (size_t i = 0; i < pl->n_files; i++) {
        if (!binlog_path(dir, a->files[pl->first_file + i].name, clear_dir, paths[i]))
            goto out;
        argv[ac++] = paths[i];
    }
    argv[ac] = NULL;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        fail("pipe: %s", strerror(errno));
        goto out;
    }
    pid_t client = client_start(t, p[0], -1, NULL, false);
    close(p[0]);
    if (client < 0) {
        close(p[1]);
        goto out;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    char *envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL};
    posix_spawnattr_t at;
    restore_spawnattr_init(&at);
    pid_t mb;
    int rc = posix_spawnp(&mb, "mariadb-binlog", &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc == 0)
        restore_child_add(mb);
    close(p[1]);
    if (rc != 0) {
        fail("cannot run mariadb-binlog: %s", strerror(rc));
        (void)restore_reap(client, "mariadb (applying the binlog)", NULL);
        goto out;
    }
    progress_follow_child(progress_main(), mb); /* the files it has read so far */
    bool mb_ok = restore_reap(mb, "mariadb-binlog", NULL);
    bool cl_ok = restore_reap(client, "mariadb (applying the binlog)", NULL);
    ok = mb_ok && cl_ok;
out:
    for (size_t i = 0; clear_dir[0] != '\0' && i < pl->n_files; i++)
        if (strncmp(paths[i], clear_dir, strlen(clear_dir)) == 0)
            unlink(paths[i]);
    if (clear_dir[0] != '\0')
        rmdir(clear_dir);
    free(argv);
    free(paths);
    return ok;
}

/* ---- the command ---------------------------------------------------------- */

static void print_plan(const char *dir, const struct restore_backup *b,
                       const struct archive_read *a, const struct restore_plan *pl,
                       const struct restore_target *t, const char *into)
{
    char gs[GTID_STR_MAX], ts[32];
    gtid_pos_format(&b->gtid, gs, sizeof(gs));
    restore_fmt_time(b->finished, ts, sizeof(ts));
    if (t->by_time) {
        char tt[32];
        restore_fmt_time(t->time, tt, sizeof(tt));
        printf("target:  time %s (every transaction logged before it)\n", tt);
    } else if (t->by_pos) {
        char tp[GTID_STR_MAX];
        gtid_pos_format(&t->pos, tp, sizeof(tp));
        printf("target:  position %s (each domain up to its GTID, included)\n", tp);
    } else {
        printf("target:  GTID %u-%u-%llu (included)\n", t->gtid.domain, t->gtid.server_id,
               (unsigned long long)t->gtid.seq);
    }
    printf("into:    %s\n", into);
    printf("backup:  %s/full/%s (GTID %s, finished %s, from %s)\n", dir, b->name, gs, ts,
           b->source[0] ? b->source : "?");
    if (pl->n_files == 0) {
        printf("binlog:  none: the backup is at the target\n");
    } else {
        char to[GTID_STR_MAX];
        gtid_pos_format(&pl->to, to, sizeof(to));
        printf("binlog:  %zu file%s:", pl->n_files, pl->n_files == 1 ? "" : "s");
        for (size_t i = 0; i < pl->n_files; i++)
            printf(" %s", a->files[pl->first_file + i].name);
        printf("\n");
        restore_fmt_time(pl->last_when, ts, sizeof(ts));
        printf("range:   after %s up to %s: %zu transaction%s, %u-%u-%llu .. %u-%u-%llu (the "
               "last logged %s)\n",
               gs[0] ? gs : "(empty)", to, pl->n_trx, pl->n_trx == 1 ? "" : "s", pl->first.domain,
               pl->first.server_id, (unsigned long long)pl->first.seq, pl->last.domain,
               pl->last.server_id, (unsigned long long)pl->last.seq, ts);
    }
    if (pl->past_end)
        printf("note:    the archive's last transaction was logged before the target: "
               "everything archived is applied; is the archive behind (halyardctl show "
               "backup)?\n");
}

bool restore_parse_into(const char *s, struct restore_server *t)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof(t->host))
        return false;
    uint64_t port;
    if (!hy_parse_u64(colon + 1, strlen(colon + 1), 65535, &port) || port < 1)
        return false;
    memcpy(t->host, s, (size_t)(colon - s));
    t->host[colon - s] = '\0';
    t->port = (int)port;
    return true;
}

bool restore_read_password(const char *path, struct restore_server *t)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fail("--password-file %s: %s", path, strerror(errno));
        return false;
    }
    if (fgets(t->password, sizeof(t->password), f) == NULL)
        t->password[0] = '\0';
    fclose(f);
    t->password[strcspn(t->password, "\r\n")] = '\0';
    t->have_password = true;
    return true;
}

int restore_main(int argc, char **argv, const char *conf_dir)
{
    static const struct option opts[] = {
        {"to-time", required_argument, NULL, 'T'},
        {"to-gtid", required_argument, NULL, 'G'},
        {"to-position", required_argument, NULL, 'P'},
        {"into", required_argument, NULL, 'i'},
        {"user", required_argument, NULL, 'u'},
        {"password-file", required_argument, NULL, 'p'},
        {"dir", required_argument, NULL, 'd'},
        {"datadir", required_argument, NULL, 'D'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct restore_target tg = {0};
    struct target t = {.user = "root"};
    const char *into = NULL, *dir = conf_dir, *to_time = NULL, *to_gtid = NULL, *to_pos = NULL;
    const char *datadir = NULL;
    bool dry = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'T':
            to_time = optarg;
            break;
        case 'G':
            to_gtid = optarg;
            break;
        case 'P':
            to_pos = optarg;
            break;
        case 'i':
            into = optarg;
            break;
        case 'u':
            snprintf(t.user, sizeof(t.user), "%s", optarg);
            break;
        case 'p':
            if (!restore_read_password(optarg, &t))
                return RS_USAGE;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'n':
            dry = true;
            break;
        case 'D':
            datadir = optarg;
            break;
        case 'h':
            usage(stdout);
            return RS_OK;
        default:
            usage(stderr);
            return RS_USAGE;
        }
    }
    int targets = (to_time != NULL) + (to_gtid != NULL) + (to_pos != NULL);
    if (optind < argc || targets != 1 || into == NULL) {
        if (optind < argc)
            fail("unexpected argument: %s", argv[optind]);
        else if (into == NULL)
            fail("--into HOST:PORT is required");
        else
            fail("give one of --to-time, --to-gtid and --to-position");
        usage(stderr);
        return RS_USAGE;
    }
    if (!restore_parse_into(into, &t)) {
        fail("--into %s: want HOST:PORT", into);
        return RS_USAGE;
    }
    if (to_time != NULL) {
        tg.by_time = true;
        if (restore_parse_time(to_time, &tg.time) != HY_OK) {
            fail("--to-time %s: want \"YYYY-MM-DD HH:MM:SS\" (local time)", to_time);
            return RS_USAGE;
        }
    } else if (to_pos != NULL) {
        tg.by_pos = true;
        if (restore_parse_position(to_pos, &tg.pos) != HY_OK) {
            fail("--to-position %s: want DOMAIN-SERVER_ID-SEQUENCE[,...], one GTID a domain",
                 to_pos);
            return RS_USAGE;
        }
    } else if (restore_parse_gtid(to_gtid, &tg.gtid) != HY_OK) {
        fail("--to-gtid %s: want one GTID, DOMAIN-SERVER_ID-SEQUENCE", to_gtid);
        return RS_USAGE;
    }
    if (dir == NULL || dir[0] == '\0') {
        fail("no backup directory: give -c CONFIG (its backup.dir) or --dir DIR");
        return RS_USAGE;
    }

    int rc = restore_run(dir, &tg, &t, into, datadir, NULL, dry, NULL);
    explicit_bzero(t.password, sizeof(t.password));
    return rc;
}

/* Every backup of the chain: its sha256 as its manifest says, and (when
 * encrypted) every tag, before anything is written. */
static bool check_chain(const char *dir, const struct restore_backup *backups,
                        const struct restore_plan *pl)
{
    for (size_t i = 0; i < pl->n_chain; i++) {
        const struct restore_backup *b = &backups[pl->chain[i]];
        char path[PATH_MAX], hex[65] = "", why[300];
        snprintf(path, sizeof(path), "%.3700s/full/%.255s", dir, b->name);
        progress_phase(progress_main(), "checking the backup", fileio_size(path));
        if (b->sha256[0] != '\0' && !fileio_sha256(path, -1, hex, why, sizeof(why))) {
            fail("%s: cannot read: %s", path, why);
            return false;
        }
        if (b->sha256[0] != '\0' && strcmp(hex, b->sha256) != 0) {
            fail("refused: %s has sha256 %s, its manifest says %s: the file is damaged", path, hex,
                 b->sha256);
            return false;
        }
        if (!restore_check_sealed(path))
            return false;
    }
    return true;
}

/* What the plan loads: the chain, each with why it is there. */
static void print_chain(const char *dir, const struct restore_backup *backups,
                        const struct restore_plan *pl)
{
    if (pl->n_chain < 2)
        return;
    printf("chain:   %zu backups, prepared in this order (the newest backup before the target "
           "and what it applies onto):\n",
           pl->n_chain);
    for (size_t i = 0; i < pl->n_chain; i++) {
        const struct restore_backup *b = &backups[pl->chain[i]];
        char gs[GTID_STR_MAX];
        gtid_pos_format(&b->gtid, gs, sizeof(gs));
        const char *why = b->type == BACKUP_FULL   ? "the full the chain starts from"
                          : b->type == BACKUP_DIFF ? "the pages changed since that full"
                                                   : "the pages changed since the one before";
        printf("  %zu. %s/full/%s (%s, GTID %s, to LSN %llu): %s\n", i + 1, dir, b->name,
               backup_type_name(b->type), gs, (unsigned long long)b->to_lsn, why);
    }
}

int restore_run(const char *dir, const struct restore_target *target,
                const struct restore_server *t, const char *into, const char *datadir,
                struct restore_starter *starter, bool dry, struct gtid_pos *reached)
{
    const struct restore_target tg = *target;
    signal(SIGPIPE, SIG_IGN);
    double t0 = hy_mono_s();
    size_t nb = 0;
    struct restore_backup *backups = read_backups(dir, &nb);
    struct archive_read ar;
    if (!read_archive(dir, &ar)) {
        archive_free(&ar);
        free(backups);
        return RS_FAILED;
    }
    struct restore_plan pl;
    char err[1024];
    int rc = RS_FAILED;
    if (restore_plan_make(backups, nb, ar.files, ar.n, &tg, &pl, err, sizeof(err)) != HY_OK) {
        fail("refused: %s", err);
        goto out;
    }
    const struct restore_backup *b = &backups[pl.backup];
    print_plan(dir, b, &ar, &pl, &tg, into);
    print_chain(dir, backups, &pl);
    bool phys = strcmp(b->method, "mariadb-backup") == 0;
    if (!phys && strcmp(b->method, "mariadb-dump") != 0) {
        fail("refused: %s was taken with %s, a method this halyardctl does not know", b->name,
             b->method);
        goto out;
    }
    if (phys && datadir == NULL) {
        fail("refused: %s was taken with mariadb-backup, a copy of the source's datadir, which "
             "cannot be loaded into the running server %s: give --datadir DIR, the empty datadir "
             "of the stopped server --into names",
             b->name, into);
        goto out;
    }
    if (!phys && datadir != NULL && starter == NULL) {
        fail("refused: %s was taken with mariadb-dump, loaded into the running server %s: "
             "--datadir is for a mariadb-backup backup",
             b->name, into);
        goto out;
    }
    if (dry && phys)
        printf("it would extract and prepare %s%s into %s, wait for the server on it at %s, then "
               "apply the range\n",
               pl.n_chain > 1 ? "the chain ending with " : "", b->name, datadir, into);
    if (dry) {
        printf("dry run: %s was not touched\n", into);
        rc = RS_OK;
        goto out;
    }
    fflush(stdout);

    if (!phys && !restore_check_empty(t, into))
        goto out;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%.3700s/full/%.255s", dir, b->name);
    if (!check_chain(dir, backups, &pl))
        goto out;
    double t1 = hy_mono_s();
    progress_end(progress_main());
    if (phys) {
        printf("checked: the backup's sha256 matches its manifest (%.2f s)\n", t1 - t0);
        fflush(stdout);
        if (!restore_physical_fill(dir, backups, pl.chain, pl.n_chain, datadir))
            goto out;
        if (starter != NULL) {
            starter->pid = starter->start(starter->arg, datadir);
            if (starter->pid <= 0) {
                starter->pid = 0;
                goto out;
            }
        }
        progress_phase(progress_main(), "waiting for the server", 0);
        if (!restore_physical_wait(t, into, datadir, starter))
            goto out;
    } else {
        printf("checked: %s has no user schema; the backup's sha256 matches its manifest "
               "(%.2f s)\n",
               into, t1 - t0);
        fflush(stdout);
    }
    uint64_t bytes = 0;
    if (!phys) /* else nothing to load: the server started on the backup */
        progress_phase(progress_main(), "loading the dump", fileio_size(path));
    if (!phys && !load_dump(t, path, &bytes)) {
        fail("the load of %s into %s failed: the server holds part of it", b->name, into);
        goto out;
    }
    if (!phys && !gtid_state_set(t, &pl.from)) {
        fail("%s holds the backup, but its GTID state could not be set to the backup's", into);
        goto out;
    }
    double t2 = hy_mono_s();
    progress_end(progress_main());
    if (!phys)
        printf("loaded:  %s, %llu bytes of SQL, in %.2f s\n", b->name, (unsigned long long)bytes,
               t2 - t1);
    fflush(stdout);
    if (pl.n_files > 0) {
        uint64_t total = 0;
        for (size_t i = 0; i < pl.n_files; i++) {
            snprintf(path, sizeof(path), "%.4000s/%s", dir, ar.files[pl.first_file + i].name);
            total += fileio_size(path);
        }
        progress_phase(progress_main(), "replaying binlogs", total);
        bool applied = apply_binlog(t, dir, &ar, &pl);
        progress_end(progress_main());
        if (!applied) {
            fail("applying the binlog into %s failed: the server holds the backup and part of "
                 "the range",
                 into);
            goto out;
        }
        double t3 = hy_mono_s();
        printf("applied: %zu transaction%s from %zu binlog file%s in %.2f s\n", pl.n_trx,
               pl.n_trx == 1 ? "" : "s", pl.n_files, pl.n_files == 1 ? "" : "s", t3 - t2);
    }
    char to[GTID_STR_MAX];
    gtid_pos_format(&pl.to, to, sizeof(to));
    printf("restored %s to GTID %s in %.2f s\n", into, to[0] ? to : "(empty)", hy_mono_s() - t0);
    if (reached != NULL)
        *reached = pl.to;
    rc = RS_OK;
out:
    archive_free(&ar);
    free(backups);
    return rc;
}
