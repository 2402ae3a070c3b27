/*
 * spawn.c: posix_spawn of an operator's command for an event (spawn.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/clock.h"
#include "halyard/core/spawn.h"

void spawn_env_from_event(struct spawn_env *env, const struct event *e, const char *instance)
{
    char when[40];
    event_time_iso(e->time_us, when, sizeof(when));
    size_t cap = sizeof(env->vars[0]);
    snprintf(env->vars[0], cap, "HALYARD_EVENT=%s", event_name(e->type));
    snprintf(env->vars[1], cap, "HALYARD_BACKEND=%s", e->backend);
    snprintf(env->vars[2], cap, "HALYARD_OLD=%s", e->old_state);
    snprintf(env->vars[3], cap, "HALYARD_NEW=%s", e->new_state);
    snprintf(env->vars[4], cap, "HALYARD_REASON=%s", e->reason);
    snprintf(env->vars[5], cap, "HALYARD_ACTION=%s", e->action);
    snprintf(env->vars[6], cap, "HALYARD_TIME=%s", when);
    snprintf(env->vars[7], cap, "HALYARD_INSTANCE=%s", instance != NULL ? instance : "");
    snprintf(env->vars[8], cap, "HALYARD_SEQ=%llu", (unsigned long long)e->seq);
    snprintf(env->vars[9], cap, "HALYARD_COALESCED=%u", e->coalesced);
    snprintf(env->vars[10], cap,
             "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    snprintf(env->vars[11], cap, "HALYARD_SEVERITY=%s", event_severity_name(e->severity));
    for (size_t i = 0; i < SPAWN_ENV_VARS; i++)
        env->envp[i] = env->vars[i];
    env->envp[SPAWN_ENV_VARS] = NULL;
}

void spawn_attr_init(posix_spawnattr_t *at)
{
    posix_spawnattr_init(at);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(at, &none);
    posix_spawnattr_setsigdefault(at, &all);
    posix_spawnattr_setpgroup(at, 0);
    posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                     POSIX_SPAWN_SETPGROUP);
}

hy_status_t spawn_start(const char *path, const char *arg, char *const envp[], const char *in,
                        size_t len, pid_t *pid, char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return HY_ERROR;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    spawn_attr_init(&at);
    char *argv[] = {(char *)path, (char *)arg, NULL};
    int rc = posix_spawn(pid, path, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[0]);
    if (rc != 0) {
        close(p[1]);
        snprintf(err, errlen, "%s: %s", path, strerror(rc));
        return HY_ERROR;
    }
    /* Non-blocking: a command that does not read its input costs us nothing. */
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    ssize_t w HY_UNUSED = write(p[1], in, len);
    w = write(p[1], "\n", 1);
    close(p[1]);
    return HY_OK;
}

hy_status_t spawn_reader(const char *file, char *const argv[], char *const envp[], bool search,
                         const char *errpath, pid_t *pid, int *out, char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return HY_ERROR;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    spawn_attr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    int rc = search ? posix_spawnp(pid, file, &fa, &at, argv, envp)
                    : posix_spawn(pid, file, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        snprintf(err, errlen, "cannot run %s: %s", file, strerror(rc));
        return HY_ERROR;
    }
    *out = p[0];
    return HY_OK;
}

void spawn_kill(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
}

int spawn_wait(pid_t pid, int timeout_ms, bool *killed)
{
    struct timespec nap = {0, 5 * 1000 * 1000};
    int64_t t0 = hy_mono_ms();
    *killed = false;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -1;
        if (!*killed && hy_mono_ms() - t0 >= timeout_ms) {
            spawn_kill(pid);
            *killed = true;
        }
        nanosleep(&nap, NULL);
    }
}

void spawn_status_str(int status, char *out, size_t cap)
{
    if (status < 0)
        snprintf(out, cap, "status unknown");
    else if (WIFEXITED(status))
        snprintf(out, cap, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, cap, "signal %d", WTERMSIG(status));
    else
        snprintf(out, cap, "status %d", status);
}
