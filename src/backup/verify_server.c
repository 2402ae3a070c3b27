/*
 * verify_server.c: see verify_server.h.
 */
#include <errno.h>
#include <fcntl.h>
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
#include "halyard/backup/backup_expand.h"
#include "halyard/backup/restore_physical.h"
#include "halyard/backup/verify_server.h"

#define fail(...) restore_fail("backup verify", __VA_ARGS__)

bool verify_newest_is_physical(const char *dir)
{
    char method[32];
    return restore_newest_method(dir, method, sizeof(method)) &&
           strcmp(method, "mariadb-backup") == 0;
}

static pid_t start(void *arg, const char *datadir)
{
    struct verify_server *vs = arg;
    char port[16];
    snprintf(port, sizeof(port), "%d", vs->at->port);
    const char *const values[] = {datadir, vs->at->host, port, vs->socket};
    static char cmd[8192];
    if (backup_expand(vs->tmpl, "dhps", values, cmd, sizeof(cmd)) != HY_OK) {
        fail("backup.verify_server_command does not expand (an unknown %%x, or too long)");
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, vs->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_t at;
    restore_spawnattr_init(&at);
    short flags;
    posix_spawnattr_getflags(&at, &flags);
    posix_spawnattr_setpgroup(&at, 0); /* its own group, killed whole after */
    posix_spawnattr_setflags(&at, flags | POSIX_SPAWN_SETPGROUP);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    extern char **environ;
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        fail("cannot run backup.verify_server_command: %s", strerror(rc));
        return -1;
    }
    printf("server:    backup.verify_server_command started (pid %d): %s\n", (int)pid, cmd);
    fflush(stdout);
    return pid;
}

bool verify_server_init(struct verify_server *vs, const char *tmpl, const struct restore_server *at)
{
    memset(vs, 0, sizeof(*vs));
    vs->tmpl = tmpl;
    vs->at = at;
    const char *tmp = getenv("TMPDIR");
    snprintf(vs->base, sizeof(vs->base), "%.3000s/halyard-verify-XXXXXX",
             tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
    if (mkdtemp(vs->base) == NULL) {
        fail("cannot make the scratch directory %s: %s", vs->base, strerror(errno));
        vs->base[0] = '\0';
        return false;
    }
    /* the server may run as another user (the command's --user): it must
     * reach its datadir and socket through this directory */
    chmod(vs->base, 0711);
    snprintf(vs->datadir, sizeof(vs->datadir), "%s/data", vs->base);
    snprintf(vs->socket, sizeof(vs->socket), "%s/mariadbd.sock", vs->base);
    snprintf(vs->log, sizeof(vs->log), "%s/server.log", vs->base);
    vs->st.start = start;
    vs->st.arg = vs;
    vs->st.what = "backup.verify_server_command";
    vs->st.log = vs->log;
    return true;
}

void verify_server_stop(struct verify_server *vs, bool keep)
{
    pid_t pid = vs->st.pid;
    if (pid > 0) {
        kill(-pid, SIGTERM);
        struct timespec nap = {0, 50 * 1000 * 1000};
        int64_t t0 = hy_mono_ms();
        bool killed = false;
        for (;;) {
            int st;
            pid_t r = waitpid(pid, &st, WNOHANG);
            if (r == pid || (r < 0 && errno != EINTR))
                break;
            if (!killed && hy_mono_ms() - t0 >= VERIFY_SERVER_STOP_S * 1000) {
                fail("the scratch server did not stop within %d s of SIGTERM: SIGKILL",
                     VERIFY_SERVER_STOP_S);
                kill(-pid, SIGKILL);
                killed = true;
            }
            nanosleep(&nap, NULL);
        }
        kill(-pid, SIGKILL); /* anything of its group the shell left behind */
        vs->st.pid = 0;
        printf("server:    stopped (process group %d)\n", (int)pid);
    }
    if (vs->base[0] == '\0')
        return;
    if (keep) {
        printf("server:    its datadir is kept (--keep): %s\n", vs->datadir);
    } else {
        restore_physical_remove(vs->base);
        printf("server:    removed %s\n", vs->base);
    }
    fflush(stdout);
    vs->base[0] = '\0';
}
