/*
 * backup_copy.c: see backup_copy.h.
 *
 * The thread owns the list of files and does all file work and waits for
 * commands; `mu` guards what other threads read (the status, the list's
 * copy, the next config) and the command's pid for backup_copy_stop.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/clock.h"
#include "halyard/backup/backup_chain.h"
#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_full.h"
#include "halyard/core/fileio.h"
#include "halyard/core/events.h"
#include "halyard/core/log.h"
#include "halyard/core/spawn.h"

#define RETRY_MIN_S   5
#define RETRY_MAX_S   300
#define LEDGER        "copies.log"
#define CMD_OUT       ".copy-command.out"
#define ARCHIVE_INDEX "binlog.index"     /* binlog_archive.h */
#define CMD_WAIT_MS   (24 * 3600 * 1000) /* a command still running then is killed */
#define LEDGER_TARGET "# target "

extern char **environ;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running, stop;
    pthread_t thread;
    pid_t pid;              /* a command running, 0 = none */
    struct config *cfg_new; /* a reload's config, taken by the thread */
    struct backup_copy_status st;
    /* the thread's own: */
    struct config *cfg;
    struct backup_copy_item *items;
    size_t n, cap;
    char target_key[4200]; /* what the list and the ledger are for */
    bool alarm;            /* backup_copy_failed raised */
} C = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* ---- pure ---------------------------------------------------------------------- */

hy_status_t backup_copy_expand(const char *tmpl, const char *path, const char *name,
                               const char *sha, char *out, size_t cap)
{
    const char *const values[] = {path, name, sha};
    return backup_expand(tmpl, "fns", values, out, cap);
}

hy_status_t backup_copy_check_dir(const struct config *cfg, char *err, size_t errlen)
{
    const struct config_backup *b = &cfg->backup;
    if (!b->enabled || b->copy_to_dir[0] == '\0')
        return HY_OK;
    const char *why = NULL;
    struct stat sb;
    if (stat(b->copy_to_dir, &sb) != 0)
        why = strerror(errno);
    else if (!S_ISDIR(sb.st_mode))
        why = "not a directory";
    else if (access(b->copy_to_dir, R_OK | W_OK | X_OK) != 0)
        why = strerror(errno);
    if (why == NULL)
        return HY_OK;
    if (b->copy_to_dir_line > 0)
        snprintf(err, errlen, "%s:%d: backup.copy_to_dir: %s: %s", cfg->path, b->copy_to_dir_line,
                 b->copy_to_dir, why);
    else
        snprintf(err, errlen, "%s: backup.copy_to_dir: %s: %s", cfg->path, b->copy_to_dir, why);
    return HY_ERROR;
}

/* ---- files ----------------------------------------------------------------------- */

/* The "sha256" of a full backup's manifest; false when it has none. */
static bool manifest_sha(const char *path, char out[65])
{
    char text[4096];
    if (!fileio_read_text(path, text, sizeof(text)))
        return false;
    const char *p = strstr(text, "\"sha256\"");
    if (p == NULL)
        return false;
    p += 8;
    p += strspn(p, " \t");
    if (*p++ != ':')
        return false;
    p += strspn(p, " \t");
    if (*p++ != '"')
        return false;
    size_t l = strspn(p, "0123456789abcdef");
    if (l != 64)
        return false;
    memcpy(out, p, 64);
    out[64] = '\0';
    return true;
}

/* src copied to DIR/name (through NAME.partial, fsync'd, renamed), read
 * back and compared with the source's SHA-256 (and `want` when given). */
static bool copy_to_dir(const char *src, const char *dir, const char *name, const char *want,
                        char sha[65], char *why, size_t wl)
{
    char dst[PATH_MAX], part[PATH_MAX], sub[PATH_MAX];
    snprintf(dst, sizeof(dst), "%.2000s/%.200s", dir, name);
    snprintf(part, sizeof(part), "%.4000s.partial", dst);
    const char *slash = strrchr(name, '/');
    if (slash != NULL) {
        snprintf(sub, sizeof(sub), "%.2000s/%.*s", dir, (int)(slash - name), name);
        if (mkdir(sub, 0750) != 0 && errno != EEXIST) {
            snprintf(why, wl, "mkdir %.200s: %s", sub, strerror(errno));
            return false;
        }
    }
    int fd = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(why, wl, "open %.200s: %s", part, strerror(errno));
        return false;
    }
    bool ok = fileio_sha256(src, fd, sha, why, wl);
    if (ok && fsync(fd) != 0) {
        snprintf(why, wl, "fsync %.200s: %s", part, strerror(errno));
        ok = false;
    }
    if (close(fd) != 0 && ok) {
        snprintf(why, wl, "close %.200s: %s", part, strerror(errno));
        ok = false;
    }
    if (ok && want != NULL && want[0] != '\0' && strcmp(sha, want) != 0) {
        snprintf(why, wl, "the source's sha256 %.64s is not its manifest's %.64s", sha, want);
        ok = false;
    }
    if (ok && rename(part, dst) != 0) {
        snprintf(why, wl, "rename %.200s: %s", part, strerror(errno));
        ok = false;
    }
    if (!ok) {
        unlink(part);
        return false;
    }
    char back[65];
    if (!fileio_sha256(dst, -1, back, why, wl))
        return false;
    if (strcmp(back, sha) != 0) {
        snprintf(why, wl, "the copy %.100s reads back with sha256 %s, not %s", dst, back, sha);
        return false;
    }
    return true;
}

/* ---- commands -------------------------------------------------------------------- */

static bool run_command(const char *what, const char *tmpl, const char *path, const char *name,
                        const char *sha, const char *outpath, char *why, size_t wl)
{
    char cmd[8192];
    if (backup_copy_expand(tmpl, path, name, sha, cmd, sizeof(cmd)) != HY_OK) {
        snprintf(why, wl, "%s: the template does not expand (an unknown %%x, or too long)", what);
        return false;
    }
    char vars[5][PATH_MAX + 32];
    snprintf(vars[0], sizeof(vars[0]),
             "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
             "/sbin:/bin");
    const char *home = getenv("HOME");
    snprintf(vars[1], sizeof(vars[1]), "HOME=%.4000s", home != NULL ? home : "/");
    snprintf(vars[2], sizeof(vars[2]), "HALYARD_COPY_FILE=%.4000s", path);
    snprintf(vars[3], sizeof(vars[3]), "HALYARD_COPY_NAME=%.4000s", name);
    snprintf(vars[4], sizeof(vars[4]), "HALYARD_COPY_SHA256=%s", sha);
    char *envp[] = {vars[0], vars[1], vars[2], vars[3], vars[4], NULL};
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    spawn_attr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    pid_t pid;
    pthread_mutex_lock(&C.mu);
    int rc = C.stop ? ECANCELED : posix_spawn(&pid, "/bin/sh", &fa, &at, argv, envp);
    if (rc == 0)
        C.pid = pid;
    pthread_mutex_unlock(&C.mu);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        snprintf(why, wl, "%s: cannot run /bin/sh: %s", what, strerror(rc));
        return false;
    }
    bool killed;
    int status = spawn_wait(pid, CMD_WAIT_MS, &killed);
    pthread_mutex_lock(&C.mu);
    C.pid = 0;
    pthread_mutex_unlock(&C.mu);
    if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    char st[32], line[200];
    spawn_status_str(status, st, sizeof(st));
    fileio_last_line(outpath, line, sizeof(line));
    snprintf(why, wl, "%s %s%s%s", what, st, line[0] ? ": " : "", line);
    return false;
}

/* ---- the list -------------------------------------------------------------------- */

static struct backup_copy_item *find(const char *name)
{
    for (size_t i = 0; i < C.n; i++) {
        if (strcmp(C.items[i].name, name) == 0)
            return &C.items[i];
    }
    return NULL;
}

static struct backup_copy_item *add(const char *name, const char *kind, uint64_t size)
{
    if (C.n == C.cap) {
        size_t cap = C.cap ? 2 * C.cap : 64;
        struct backup_copy_item *v = realloc(C.items, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        C.items = v;
        C.cap = cap;
    }
    struct backup_copy_item *it = &C.items[C.n++];
    memset(it, 0, sizeof(*it));
    snprintf(it->name, sizeof(it->name), "%s", name);
    snprintf(it->kind, sizeof(it->kind), "%s", kind);
    snprintf(it->state, sizeof(it->state), "pending");
    it->size = size;
    return it;
}

static void ledger_path(char *out, size_t cap)
{
    snprintf(out, cap, "%.4000s/%s", C.cfg->backup.dir, LEDGER);
}

/* The ledger's lines for this target: "STATE SIZE SHA256 NAME". */
static void ledger_load(void)
{
    char path[PATH_MAX], line[600];
    ledger_path(path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    bool ours = false;
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, LEDGER_TARGET, strlen(LEDGER_TARGET)) == 0) {
            ours = strcmp(line + strlen(LEDGER_TARGET), C.target_key) == 0;
            continue;
        }
        char state[12], sha[65], name[96];
        unsigned long long size;
        if (!ours || sscanf(line, "%11s %llu %64s %95s", state, &size, sha, name) != 4)
            continue;
        struct backup_copy_item *it = find(name);
        if (it == NULL)
            it = add(name, strncmp(name, "full/", 5) == 0 ? "full" : "binlog", size);
        if (it == NULL)
            break;
        snprintf(it->state, sizeof(it->state), "%s", state);
        snprintf(it->sha256, sizeof(it->sha256), "%s", sha);
        it->size = size;
    }
    fclose(f);
}

static void ledger_note(const struct backup_copy_item *it)
{
    char path[PATH_MAX];
    ledger_path(path, sizeof(path));
    struct stat sb;
    bool fresh = stat(path, &sb) != 0;
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        hy_log_warn("backup copy: %s: %s (a restart copies %s again)", path, strerror(errno),
                    it->name);
        return;
    }
    if (fresh)
        fprintf(f, LEDGER_TARGET "%s\n", C.target_key);
    fprintf(f, "%s %llu %s %s\n", it->state, (unsigned long long)it->size, it->sha256, it->name);
    fclose(f);
}

/* A new target (or the first): the list is rebuilt from backup.dir and
 * the ledger, which starts over with a header naming the target. */
static void target_changed(void)
{
    C.n = 0;
    char path[PATH_MAX], line[4400] = "";
    ledger_path(path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fgets(line, sizeof(line), f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, LEDGER_TARGET, strlen(LEDGER_TARGET)) == 0 &&
        strcmp(line + strlen(LEDGER_TARGET), C.target_key) == 0) {
        ledger_load();
        return;
    }
    if (f != NULL || line[0] != '\0') {
        f = fopen(path, "w"); /* another target's record: not ours to trust */
        if (f != NULL) {
            fprintf(f, LEDGER_TARGET "%s\n", C.target_key);
            fclose(f);
        }
    }
}

/* By name: the archive's files in order, then the full backups by time. */
static int item_cmp(const void *a, const void *b)
{
    return strcmp(((const struct backup_copy_item *)a)->name,
                  ((const struct backup_copy_item *)b)->name);
}

/* backup.dir's files to copy, added to the list; those gone are dropped. */
static void scan(void)
{
    const char *dir = C.cfg->backup.dir;
    bool *seen = calloc(C.n + 1, sizeof(*seen));
    if (seen == NULL)
        return;
    size_t n0 = C.n;
    char path[PATH_MAX];
    /* full backups: the data file exists only once complete (backup_full.h) */
    snprintf(path, sizeof(path), "%.4000s/full", dir);
    /* open + fdopendir, not opendir: ThreadSanitizer does not see the
     * descriptor opendir makes and reports its closedir as a race with
     * whatever thread used that number before */
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (d == NULL && dfd >= 0)
        close(dfd);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        size_t sl = backup_full_suffix(e->d_name);
        if (!backup_type_of(e->d_name, NULL) || l < 8 || l > 80 || sl == 0)
            continue;
        char man[PATH_MAX], name[96];
        snprintf(man, sizeof(man), "%.4000s/%.*s.json", path, (int)(l - sl), e->d_name);
        struct stat sb, mb;
        if (fstatat(dirfd(d), e->d_name, &sb, 0) != 0 || stat(man, &mb) != 0)
            continue; /* no manifest yet: not complete */
        snprintf(name, sizeof(name), "full/%s", e->d_name);
        struct backup_copy_item *it = find(name);
        if (it == NULL)
            it = add(name, "full", (uint64_t)sb.st_size);
        if (it == NULL)
            break;
        size_t k = (size_t)(it - C.items);
        if (k < n0)
            seen[k] = true;
        if (it->size != (uint64_t)sb.st_size && strcmp(it->state, "failed") != 0) {
            it->size = (uint64_t)sb.st_size; /* not what was copied: again */
            snprintf(it->state, sizeof(it->state), "pending");
        }
    }
    if (d != NULL)
        closedir(d);
    /* closed archive files: all the index lists but its last (the index
     * is rewritten when the archive opens a file: its last is the one
     * being written, or the last closed, copied once the next opens) */
    snprintf(path, sizeof(path), "%.4000s/%s", dir, ARCHIVE_INDEX);
    FILE *f = fopen(path, "r");
    char line[256], prev[64] = "";
    bool have = false; /* one line behind: the last is not known closed */
    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        const char *nm = strncmp(line, "./", 2) == 0 ? line + 2 : line;
        if (nm[0] == '\0' || strchr(nm, '/') != NULL || strlen(nm) >= 64)
            continue;
        if (have) {
            struct stat sb;
            char p[PATH_MAX];
            snprintf(p, sizeof(p), "%.4000s/%s", dir, prev);
            if (stat(p, &sb) == 0) {
                struct backup_copy_item *it = find(prev);
                if (it == NULL)
                    it = add(prev, "binlog", (uint64_t)sb.st_size);
                if (it != NULL && (size_t)(it - C.items) < n0)
                    seen[it - C.items] = true;
                if (it != NULL && it->size != (uint64_t)sb.st_size) {
                    it->size = (uint64_t)sb.st_size;
                    snprintf(it->state, sizeof(it->state), "pending");
                }
            }
        }
        snprintf(prev, sizeof(prev), "%s", nm);
        have = true;
    }
    if (f != NULL)
        fclose(f);
    /* drop what is gone from backup.dir (retention, an operator) */
    size_t w = 0;
    for (size_t i = 0; i < C.n; i++) {
        if (i < n0 && !seen[i])
            continue;
        C.items[w++] = C.items[i];
    }
    C.n = w;
    free(seen);
    if (C.n > 1)
        qsort(C.items, C.n, sizeof(*C.items), item_cmp);
}

/* For copy_to_dir, a ledger's "safe" needs the copy still there. */
static void recheck_dir(struct backup_copy_item *it)
{
    const char *to = C.cfg->backup.copy_to_dir;
    if (to[0] == '\0' || strcmp(it->state, "safe") != 0 || it->done != 0)
        return;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%.2000s/%s", to, it->name);
    struct stat sb;
    if (stat(p, &sb) != 0 || (uint64_t)sb.st_size != it->size)
        snprintf(it->state, sizeof(it->state), "pending");
    else
        it->done = sb.st_mtime;
}

/* ---- one copy -------------------------------------------------------------------- */

static bool copy_one(struct backup_copy_item *it, char *why, size_t wl, bool *verified)
{
    const struct config_backup *b = &C.cfg->backup;
    char src[PATH_MAX], man[PATH_MAX], mname[96], want[65] = "";
    snprintf(src, sizeof(src), "%.3900s/%s", b->dir, it->name);
    bool full = strcmp(it->kind, "full") == 0;
    if (full) {
        size_t l = strlen(it->name);
        snprintf(mname, sizeof(mname), "%.*s.json", (int)(l - backup_full_suffix(it->name)),
                 it->name);
        snprintf(man, sizeof(man), "%.3900s/%s", b->dir, mname);
        if (!manifest_sha(man, want)) {
            snprintf(why, wl, "%s: no sha256 in the manifest", mname);
            return false;
        }
    }
    *verified = false;
    if (b->copy_to_dir[0] != '\0') {
        char sha[65], msha[65];
        if (!copy_to_dir(src, b->copy_to_dir, it->name, want, sha, why, wl))
            return false;
        snprintf(it->sha256, sizeof(it->sha256), "%s", sha);
        if (full && !copy_to_dir(man, b->copy_to_dir, mname, NULL, msha, why, wl))
            return false;
        *verified = true;
        return true;
    }
    char outpath[PATH_MAX], sha[65];
    snprintf(outpath, sizeof(outpath), "%.4000s/%s", b->dir, CMD_OUT);
    if (!fileio_sha256(src, -1, sha, why, wl))
        return false;
    if (want[0] != '\0' && strcmp(sha, want) != 0) {
        snprintf(why, wl, "the source's sha256 %s is not its manifest's %s", sha, want);
        return false;
    }
    snprintf(it->sha256, sizeof(it->sha256), "%s", sha);
    if (!run_command("copy_command", b->copy_command, src, it->name, sha, outpath, why, wl))
        return false;
    if (full) {
        char msha[65];
        if (!fileio_sha256(man, -1, msha, why, wl) ||
            !run_command("copy_command (manifest)", b->copy_command, man, mname, msha, outpath, why,
                         wl))
            return false;
    }
    if (b->copy_verify_command[0] == '\0')
        return true;
    if (!run_command("copy_verify_command", b->copy_verify_command, src, it->name, sha, outpath,
                     why, wl))
        return false;
    *verified = true;
    return true;
}

/* ---- status ---------------------------------------------------------------------- */

static void publish(const char *err)
{
    uint64_t cnt[5] = {0};
    static const char *const names[5] = {"pending", "copying", "sent", "safe", "failed"};
    for (size_t i = 0; i < C.n; i++) {
        for (int k = 0; k < 5; k++) {
            if (strcmp(C.items[i].state, names[k]) == 0)
                cnt[k]++;
        }
    }
    const struct config_backup *b = C.cfg != NULL ? &C.cfg->backup : NULL;
    pthread_mutex_lock(&C.mu);
    struct backup_copy_status *s = &C.st;
    s->enabled = b != NULL && b->enabled && (b->copy_to_dir[0] || b->copy_command[0]);
    snprintf(s->target, sizeof(s->target), "%s",
             !s->enabled                 ? "none"
             : b->copy_to_dir[0]         ? "dir"
             : b->copy_verify_command[0] ? "command+verify"
                                         : "command");
    snprintf(s->target_to, sizeof(s->target_to), "%s",
             !s->enabled         ? ""
             : b->copy_to_dir[0] ? b->copy_to_dir
                                 : b->copy_command);
    if (cnt[2] + cnt[3] != s->sent + s->safe)
        s->done_gen++; /* a retention pass may retire more (backup_copy_done_gen) */
    s->pending = cnt[0];
    s->copying = cnt[1];
    s->sent = cnt[2];
    s->safe = cnt[3];
    s->failed = cnt[4];
    if (err != NULL) {
        snprintf(s->last_error, sizeof(s->last_error), "%s", err);
        s->last_error_time = time(NULL);
    }
    free(s->items);
    s->items = NULL;
    s->n_items = 0;
    if (C.n > 0 && (s->items = malloc(C.n * sizeof(*s->items))) != NULL) {
        memcpy(s->items, C.items, C.n * sizeof(*s->items));
        s->n_items = C.n;
    }
    pthread_mutex_unlock(&C.mu);
}

static void alarm_update(const struct backup_copy_item *failed_now, const char *why)
{
    bool any = false;
    for (size_t i = 0; i < C.n && !any; i++)
        any = strcmp(C.items[i].state, "failed") == 0;
    if (any && !C.alarm && failed_now != NULL) {
        C.alarm = true;
        events_emit(EVENT_BACKUP_COPY_FAILED, NULL, "copied", "failed", why,
                    "retried (5 s, then twice as long, at most 5 min); halyard proxies on");
    } else if (!any && C.alarm) {
        C.alarm = false;
        events_emit(EVENT_BACKUP_COPY_OK, NULL, "failed", "copied", "no second copy fails any more",
                    "");
    }
}

/* ---- the thread ------------------------------------------------------------------ */

static void pass(void)
{
    const struct config_backup *b = &C.cfg->backup;
    bool on = b->enabled && (b->copy_to_dir[0] || b->copy_command[0]);
    if (!on) {
        C.n = 0;
        C.target_key[0] = '\0';
        alarm_update(NULL, NULL);
        publish(NULL);
        return;
    }
    char key[sizeof(C.target_key)];
    snprintf(key, sizeof(key), "%s%.4000s", b->copy_to_dir[0] ? "dir " : "command ",
             b->copy_to_dir[0] ? b->copy_to_dir : b->copy_command);
    if (strcmp(key, C.target_key) != 0) {
        snprintf(C.target_key, sizeof(C.target_key), "%s", key);
        target_changed();
    }
    scan();
    time_t now = time(NULL);
    for (size_t i = 0; i < C.n; i++)
        recheck_dir(&C.items[i]);
    publish(NULL);
    for (size_t i = 0; i < C.n; i++) {
        pthread_mutex_lock(&C.mu);
        bool stop = C.stop || C.cfg_new != NULL; /* a reload: look again with it */
        pthread_mutex_unlock(&C.mu);
        if (stop)
            return;
        struct backup_copy_item *it = &C.items[i];
        bool retry = strcmp(it->state, "failed") == 0 && now >= it->next_try;
        if (strcmp(it->state, "pending") != 0 && !retry)
            continue;
        char err[256] = "";
        /* a target that is not there fails each file with what is wrong */
        bool usable = C.cfg->backup.copy_to_dir[0] == '\0' ||
                      backup_copy_check_dir(C.cfg, err, sizeof(err)) == HY_OK;
        snprintf(it->state, sizeof(it->state), "copying");
        publish(NULL);
        bool verified = false;
        bool ok = usable && copy_one(it, err, sizeof(err), &verified);
        now = time(NULL);
        it->attempts++;
        if (ok) {
            snprintf(it->state, sizeof(it->state), "%s", verified ? "safe" : "sent");
            it->done = now;
            it->error[0] = '\0';
            ledger_note(it);
            hy_log_info("backup copy: %s %s (sha256 %s)", it->name,
                        verified ? "copied and checked" : "sent (copy_command exit 0)", it->sha256);
            pthread_mutex_lock(&C.mu);
            C.st.copies_total++;
            pthread_mutex_unlock(&C.mu);
            alarm_update(NULL, NULL);
            publish(NULL);
            continue;
        }
        uint32_t k = it->attempts > 7 ? 7 : it->attempts;
        int64_t wait = HY_MIN((int64_t)RETRY_MIN_S << (k - 1), (int64_t)RETRY_MAX_S);
        it->next_try = now + (time_t)wait;
        snprintf(it->state, sizeof(it->state), "failed");
        snprintf(it->error, sizeof(it->error), "%s", err);
        hy_log_warn("backup copy: %s: %s (retry in %lld s)", it->name, err, (long long)wait);
        pthread_mutex_lock(&C.mu);
        C.st.failures_total++;
        pthread_mutex_unlock(&C.mu);
        char why[400];
        snprintf(why, sizeof(why), "%s: %s", it->name, err);
        alarm_update(it, why);
        publish(why);
    }
    alarm_update(NULL, NULL);
    publish(NULL);
}

static void *copy_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&C.mu);
    for (;;) {
        if (C.stop)
            break;
        if (C.cfg_new != NULL) {
            config_put(C.cfg);
            C.cfg = C.cfg_new;
            C.cfg_new = NULL;
        }
        pthread_mutex_unlock(&C.mu);
        pass();
        pthread_mutex_lock(&C.mu);
        if (C.stop || C.cfg_new != NULL)
            continue;
        struct timespec t = hy_deadline_ms(1000);
        pthread_cond_timedwait(&C.cv, &C.mu, &t);
    }
    pthread_mutex_unlock(&C.mu);
    return NULL;
}

hy_status_t backup_copy_start(struct config *cfg, char *err, size_t errlen)
{
    C.cfg = config_get(cfg);
    C.stop = false;
    const struct config_backup *b = &cfg->backup;
    C.st.enabled = b->enabled && (b->copy_to_dir[0] || b->copy_command[0]);
    int rc = pthread_create(&C.thread, NULL, copy_main, NULL);
    if (rc != 0) {
        config_put(C.cfg);
        C.cfg = NULL;
        snprintf(err, errlen, "backup copy: cannot start a thread: %s", strerror(rc));
        return HY_ERROR;
    }
    C.running = true;
    return HY_OK;
}

void backup_copy_set_config(struct config *cfg)
{
    if (!C.running)
        return;
    pthread_mutex_lock(&C.mu);
    config_put(C.cfg_new);
    C.cfg_new = config_get(cfg);
    pthread_cond_signal(&C.cv);
    pthread_mutex_unlock(&C.mu);
}

void backup_copy_stop(void)
{
    if (!C.running)
        return;
    pthread_mutex_lock(&C.mu);
    C.stop = true;
    if (C.pid > 0)
        spawn_kill(C.pid);
    pthread_cond_signal(&C.cv);
    pthread_mutex_unlock(&C.mu);
    pthread_join(C.thread, NULL);
    C.running = false;
    config_put(C.cfg);
    config_put(C.cfg_new);
    C.cfg = C.cfg_new = NULL;
    free(C.items);
    C.items = NULL;
    C.n = C.cap = 0;
    pthread_mutex_lock(&C.mu);
    free(C.st.items);
    C.st.items = NULL;
    C.st.n_items = 0;
    pthread_mutex_unlock(&C.mu);
}

void backup_copy_status(struct backup_copy_status *out, bool items)
{
    pthread_mutex_lock(&C.mu);
    *out = C.st;
    out->items = NULL;
    out->n_items = 0;
    if (items && C.st.n_items > 0 &&
        (out->items = malloc(C.st.n_items * sizeof(*out->items))) != NULL) {
        memcpy(out->items, C.st.items, C.st.n_items * sizeof(*out->items));
        out->n_items = C.st.n_items;
    }
    pthread_mutex_unlock(&C.mu);
}

void backup_copy_status_free(struct backup_copy_status *s)
{
    free(s->items);
    s->items = NULL;
    s->n_items = 0;
}

uint64_t backup_copy_done_gen(void)
{
    pthread_mutex_lock(&C.mu);
    uint64_t g = C.st.done_gen;
    pthread_mutex_unlock(&C.mu);
    return g;
}

bool backup_copy_done(const char *name)
{
    pthread_mutex_lock(&C.mu);
    bool done = !C.st.enabled;
    for (size_t i = 0; !done && i < C.st.n_items; i++) {
        const struct backup_copy_item *it = &C.st.items[i];
        if (strcmp(it->name, name) == 0)
            done = strcmp(it->state, "sent") == 0 || strcmp(it->state, "safe") == 0;
    }
    pthread_mutex_unlock(&C.mu);
    return done;
}
