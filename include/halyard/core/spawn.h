/*
 * spawn.h: running an operator's command for an event (alerts.exec from
 * the notifier thread, alerts.pre_failover from the failover thread).
 *
 * The command runs without a shell, in a process group of its own (a
 * timeout kills the group), with default signal dispositions and an empty
 * signal mask, no descriptor of halyard's but its standard input (the
 * event's JSON and a newline), /dev/null as standard output and halyard's
 * standard error (the log). Its environment is built from the event, never
 * inherited: halyard's may hold passwords (monitor.password_env).
 */
#ifndef HALYARD_SPAWN_H
#define HALYARD_SPAWN_H

#include <spawn.h>
#include <sys/types.h>

#include "halyard/core/core.h"
#include "halyard/core/events.h"

/* HALYARD_EVENT, _SEVERITY, _BACKEND, _OLD, _NEW, _REASON, _ACTION, _TIME,
 * _INSTANCE, _SEQ, _COALESCED and PATH, as one envp. */
#define SPAWN_ENV_VARS 12
struct spawn_env {
    char vars[SPAWN_ENV_VARS][EVENT_TEXT_MAX + 32];
    char *envp[SPAWN_ENV_VARS + 1];
};

void spawn_env_from_event(struct spawn_env *env, const struct event *e, const char *instance);

/* Start `path` with the one argument `arg`, `envp`, and in[0..len) on its
 * standard input (it fits a pipe's buffer: EVENT_JSON_MAX < 64 KiB). On
 * failure `err` says why. */
hy_status_t spawn_start(const char *path, const char *arg, char *const envp[], const char *in,
                        size_t len, pid_t *pid, char *err, size_t errlen) HY_MUSTCHECK;

/* Spawn attributes for a child of halyard's: no signal blocked, every
 * signal at its default (halyard's threads block some and catch others),
 * in a process group of its own (spawn_kill kills the group). Destroy
 * with posix_spawnattr_destroy(). */
void spawn_attr_init(posix_spawnattr_t *at);

/* Start `file` (searched in PATH when `search`) with argv and envp, its
 * stdin /dev/null, its stdout a pipe whose read end is *out (close-on-exec),
 * its stderr the file `errpath` (created or truncated, 0600), no other fd.
 * The backups' commands (mariadb-dump, mariadb-backup). On failure `err`
 * says why ("cannot run FILE: ..."). */
hy_status_t spawn_reader(const char *file, char *const argv[], char *const envp[], bool search,
                         const char *errpath, pid_t *pid, int *out, char *err,
                         size_t errlen) HY_MUSTCHECK;

/* Kill the command's process group. */
void spawn_kill(pid_t pid);

/* Block until `pid` ends, killing its group after timeout_ms. Returns its
 * waitpid() status, or -1 when it could not be waited for; *killed says
 * whether the timeout killed it. */
int spawn_wait(pid_t pid, int timeout_ms, bool *killed);

/* "exit 0", "exit 3", "signal 9" for a waitpid() status. */
void spawn_status_str(int status, char *out, size_t cap);

#endif /* HALYARD_SPAWN_H */
