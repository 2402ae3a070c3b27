/*
 * restore_physical.c: see restore_physical.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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
#include "halyard/core/fileio.h"
#include "halyard/backup/backup_stream.h"
#include "halyard/core/progress.h"
#include "halyard/backup/restore_physical.h"

#define fail(...) restore_fail("restore", __VA_ARGS__)

static char *const ENV[] = {"PATH=/usr/local/bin:/usr/bin:/bin", NULL};

/* argv with stdin from in_fd (-1: /dev/null), stdout and stderr to `log`
 * (NULL: /dev/null). */
static pid_t start(char *const argv[], int in_fd, const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (in_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
    else
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log != NULL ? log : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_t at;
    restore_spawnattr_init(&at);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, ENV);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        fail("cannot run %s: %s", argv[0], strerror(rc));
        return -1;
    }
    restore_child_add(pid);
    return pid;
}

/* DIR empty (made when absent). */
static bool empty_dir(const char *dir)
{
    if (mkdir(dir, 0750) == 0)
        return true;
    if (errno != EEXIST) {
        fail("--datadir %s: %s", dir, strerror(errno));
        return false;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        fail("--datadir %s: %s", dir, strerror(errno));
        return false;
    }
    struct dirent *e;
    char first[256] = "";
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strcmp(e->d_name, "lost+found") != 0) {
            snprintf(first, sizeof(first), "%s", e->d_name);
            break;
        }
    }
    closedir(d);
    if (first[0] != '\0') {
        fail("refused: --datadir %s is not empty (it has %s): give the empty datadir of a stopped "
             "server",
             dir, first);
        return false;
    }
    return true;
}

static int rm_one(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT)
        fail("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

void restore_physical_remove(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* `path` read (decrypted, inflated) into `mbstream -x -C into`. */
static bool extract(const char *path, const char *into, const char *log)
{
    double t0 = hy_mono_s();
    progress_phase(progress_main(), "filling the datadir", fileio_size(path));
    int p[2];
    struct backup_reader *gz = restore_open_piped(path, p);
    if (gz == NULL)
        return false;
    char *x[] = {"mbstream", "-x", "-C", (char *)into, NULL};
    pid_t pid = start(x, p[0], log);
    close(p[0]);
    if (pid < 0) {
        close(p[1]);
        backup_reader_close(gz);
        return false;
    }
    uint64_t bytes = 0;
    bool ok = restore_unpack_to(gz, p[1], "the stream to mbstream", &bytes);
    backup_reader_close(gz);
    close(p[1]);
    ok = restore_reap(pid, "mbstream -x", log) && ok;
    if (!ok)
        return false;
    progress_end(progress_main());
    printf("extracted: %llu bytes of xbstream into %s in %.2f s\n", (unsigned long long)bytes, into,
           hy_mono_s() - t0);
    fflush(stdout);
    return true;
}

/* mariadb-backup --prepare of datadir, with an incremental's directory
 * applied onto it when incr is not NULL. */
static bool prepare(const char *datadir, const char *incr, const char *log)
{
    double t0 = hy_mono_s();
    char target[PATH_MAX + 16], inc[PATH_MAX + 24];
    snprintf(target, sizeof(target), "--target-dir=%s", datadir);
    snprintf(inc, sizeof(inc), "--incremental-dir=%s", incr != NULL ? incr : "");
    char *prep[] = {"mariadb-backup", "--prepare", target, incr != NULL ? inc : NULL, NULL};
    progress_phase(progress_main(), "preparing the datadir", 0);
    pid_t pid = start(prep, -1, log);
    if (pid < 0 || !restore_reap(pid, "mariadb-backup --prepare", log))
        return false;
    progress_end(progress_main());
    printf("prepared:  %s with mariadb-backup --prepare%s%s in %.2f s\n", datadir,
           incr != NULL ? " --incremental-dir=" : "", incr != NULL ? incr : "", hy_mono_s() - t0);
    fflush(stdout);
    return true;
}

bool restore_physical_fill(const char *dir, const struct restore_backup *backups,
                           const size_t *chain, size_t n, const char *datadir)
{
    if (!empty_dir(datadir))
        return false;
    char log[PATH_MAX], incr[PATH_MAX];
    size_t l = strlen(datadir);
    while (l > 1 && datadir[l - 1] == '/') /* DIR/ given: DIR.prepare.log, not in DIR */
        l--;
    snprintf(log, sizeof(log), "%.*s.prepare.log", (int)HY_MIN(l, (size_t)4000), datadir);
    snprintf(incr, sizeof(incr), "%.*s.incr", (int)HY_MIN(l, (size_t)4000), datadir);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%.3700s/full/%.255s", dir, backups[chain[i]].name);
        const char *into = i == 0 ? datadir : incr;
        if (i > 0) { /* a fresh directory for each incremental, ours alone */
            restore_physical_remove(incr);
            if (mkdir(incr, 0750) != 0) {
                fail("mkdir %s: %s", incr, strerror(errno));
                return false;
            }
        }
        bool ok = extract(path, into, log) && prepare(datadir, i == 0 ? NULL : incr, log);
        if (i > 0)
            restore_physical_remove(incr);
        if (!ok)
            return false;
    }
    unlink(log);
    return true;
}

/* One quiet try: the server's @@datadir, or "" when it does not answer. */
static void ask_datadir(const struct restore_server *t, char *out, size_t cap)
{
    out[0] = '\0';
    char host[300], port[32], user[160], pw[300];
    snprintf(host, sizeof(host), "--host=%s", t->host);
    snprintf(port, sizeof(port), "--port=%d", t->port);
    snprintf(user, sizeof(user), "--user=%s", t->user);
    snprintf(pw, sizeof(pw), "MYSQL_PWD=%s", t->password);
    char *argv[] = {"mariadb",
                    "--no-defaults",
                    host,
                    port,
                    user,
                    "--protocol=TCP",
                    "--connect-timeout=2",
                    "--batch",
                    "--skip-column-names",
                    "-e",
                    "SELECT @@datadir",
                    NULL};
    char *envp[] = {ENV[0], t->have_password ? pw : NULL, NULL};
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    pid_t pid;
    int rc = posix_spawnp(&pid, "mariadb", &fa, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    explicit_bzero(pw, sizeof(pw));
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return;
    }
    size_t got = 0;
    for (;;) {
        ssize_t n = read(p[0], out + got, cap - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || (got += (size_t)n) >= cap - 1)
            break;
    }
    close(p[0]);
    out[got] = '\0';
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        out[0] = '\0';
    char *nl = strchr(out, '\n');
    if (nl != NULL)
        *nl = '\0';
}

/* a and b name the same directory (a trailing / aside) */
static bool same_dir(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (realpath(a, ra) == NULL || realpath(b, rb) == NULL)
        return false;
    return strcmp(ra, rb) == 0;
}

/* The starter's server exited (reaped): said, with its output's last line. */
static bool server_exited(struct restore_starter *st, const char *into)
{
    int status;
    pid_t r = waitpid(st->pid, &status, WNOHANG);
    if (r != st->pid)
        return false;
    kill(-st->pid, SIGKILL); /* what the shell left of its group */
    st->pid = 0;             /* reaped: nothing for the caller to stop */
    char line[300] = "";
    FILE *f = st->log != NULL ? fopen(st->log, "r") : NULL;
    if (f != NULL) {
        char buf[300];
        while (fgets(buf, sizeof(buf), f) != NULL) {
            if (buf[strspn(buf, " \t\r\n")] != '\0')
                snprintf(line, sizeof(line), "%s", buf);
        }
        fclose(f);
        line[strcspn(line, "\r\n")] = '\0';
    }
    fail("%s %s %d before %s answered: %s (its output: %s)", st->what,
         WIFEXITED(status) ? "exited with" : "was killed by signal",
         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), into, line[0] ? line : "none",
         st->log != NULL ? st->log : "none");
    return true;
}

bool restore_physical_wait(const struct restore_server *t, const char *into, const char *datadir,
                           struct restore_starter *st)
{
    if (st != NULL)
        printf("waiting:   %s started the server on %s (pid %d); up to %d s for %s to "
               "answer\n",
               st->what, datadir, (int)st->pid, RESTORE_PHYSICAL_WAIT_S, into);
    else
        printf("waiting:   start the server on %s (owned by the user it runs as, e.g. chown -R "
               "mysql: %s); up to %d s for %s to answer\n",
               datadir, datadir, RESTORE_PHYSICAL_WAIT_S, into);
    fflush(stdout);
    double t0 = hy_mono_s();
    char got[PATH_MAX];
    for (;;) {
        ask_datadir(t, got, sizeof(got));
        if (got[0] != '\0')
            break;
        if (st != NULL && st->pid > 0 && server_exited(st, into))
            return false;
        if (restore_interrupted) {
            fail("interrupted (signal %d) while waiting for %s", (int)restore_interrupted, into);
            return false;
        }
        if (hy_mono_s() - t0 > RESTORE_PHYSICAL_WAIT_S) {
            fail("%s did not answer within %d s: the datadir %s is prepared at the backup's "
                 "GTID; nothing of the archive was applied",
                 into, RESTORE_PHYSICAL_WAIT_S, datadir);
            return false;
        }
        struct timespec nap = {0, 500 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    if (!same_dir(got, datadir)) {
        fail("refused: %s runs on the datadir %s, not %s: nothing applied", into, got, datadir);
        return false;
    }
    printf("started:   %s answers on %s after %.2f s\n", into, datadir, hy_mono_s() - t0);
    fflush(stdout);
    return true;
}
