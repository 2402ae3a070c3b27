/*
 * halyardctl.c: the command-line client of the admin socket (admin.h).
 *
 *   halyardctl [-s SOCKET | -c CONFIG] [-j] [-q] [-t SECONDS] COMMAND...
 *
 * Sends the words of COMMAND as one line, prints the answer without the
 * empty line that ends it (after `backup full`, then the outcome of its
 * account check, read from show backup), and exits with
 *   0  the command succeeded
 *   1  it failed: the answer starts with "ERR"
 *   2  usage error, an unknown command, or the config given with -c does
 *      not load
 *   3  no answer: cannot connect, timed out, or the connection broke
 * `help`, `restore` and `backup verify` run here instead (ctl_help.h,
 * restore_run.h, verify_run.h); the last two report their progress
 * (progress.h) to stdout. -q: only errors are printed (on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/clock.h"
#include "halyard/admin/admin.h"
#include "halyard/admin/ctl_help.h"
#include "halyard/core/progress.h"
#include "halyard/core/text.h"
#include "halyard/core/textbuf.h"
#include "halyard/config/config.h"
#include "halyard/backup/backup_list.h"
#include "halyard/backup/backup_stream.h"
#include "halyard/backup/restore_run.h"
#include "halyard/backup/verify_run.h"

/* The default admin_socket (config_keys.c). */
#define DEFAULT_SOCKET "/run/halyard/admin.sock"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NO_ANSWER = 3 };

static void usage(FILE *out)
{
    fprintf(out, "usage: halyardctl [-s SOCKET | -c CONFIG] [-j] [-q] [-t SECONDS] COMMAND...\n"
                 "  -s, --socket PATH    admin socket (default " DEFAULT_SOCKET ")\n"
                 "  -c, --config FILE    take the socket from FILE's admin_socket\n"
                 "  -j, --json           append --json to the command\n"
                 "  -q, --quiet          print only errors (on stderr): no answer, no progress\n"
                 "  -t, --timeout SECS   give up after SECS seconds (default 10; 120 for "
                 "switchover and failover)\n"
                 "commands (halyardctl help COMMAND explains one):\n");
    ctl_help_list(out);
    fprintf(out, "exit status: 0 ok, 1 the command failed (ERR), 2 usage or unknown command, "
                 "3 no answer\n");
}

/* Wait until fd is ready for `events` or the deadline passes. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        double left = deadline - hy_mono_s();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)(left * 1000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

/* Send `line` (len bytes, newline-ended) to the admin socket at `path`
 * and read its answer to the empty line into *ans (malloc'd, *got bytes).
 * EXIT_OK, or EXIT_NO_ANSWER having said why on stderr. */
static int ask(const char *path, const char *line, size_t len, double deadline, double timeout,
               char **ans_out, size_t *got_out)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        fprintf(stderr, "halyardctl: cannot connect to %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_NO_ANSWER;
    }
    for (size_t off = 0; off < len;) {
        if (wait_fd(fd, POLLOUT, deadline) <= 0) {
            fprintf(stderr, "halyardctl: %s: timed out sending the command\n", path);
            close(fd);
            return EXIT_NO_ANSWER;
        }
        ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            break; /* halyard refused us; its reason may be waiting to be read */
        if (n < 0) {
            fprintf(stderr, "halyardctl: %s: %s\n", path, strerror(errno));
            close(fd);
            return EXIT_NO_ANSWER;
        }
        off += (size_t)n;
    }

    /* Read to the empty line; answers have no other. */
    struct textbuf ans;
    textbuf_init(&ans, SIZE_MAX / 2); /* no limit but memory */
    int rc = EXIT_NO_ANSWER;
    for (;;) {
        if (ans.len >= 2 && ans.data[ans.len - 1] == '\n' && ans.data[ans.len - 2] == '\n') {
            rc = EXIT_OK;
            break;
        }
        if (wait_fd(fd, POLLIN, deadline) <= 0) {
            fprintf(stderr, "halyardctl: %s: no complete answer within %g s\n", path, timeout);
            goto out;
        }
        size_t at = ans.len;
        char *room = textbuf_extend(&ans, 65536);
        if (room == NULL) {
            fprintf(stderr, "halyardctl: out of memory\n");
            goto out;
        }
        ssize_t n = recv(fd, room, 65536, MSG_DONTWAIT);
        int e = errno;
        textbuf_truncate(&ans, at + (n > 0 ? (size_t)n : 0));
        if (n < 0 && (e == EAGAIN || e == EINTR))
            continue;
        if (n <= 0) {
            fprintf(stderr, "halyardctl: %s: the connection closed before the answer ended\n",
                    path);
            goto out;
        }
    }
out:
    close(fd);
    if (rc != EXIT_OK)
        textbuf_free(&ans);
    *ans_out = ans.data;
    *got_out = ans.len;
    return rc;
}

/* The JSON string value of "key" in `json` (hy_json_str: escapes undone;
 * cut at cap - 1 bytes), or "" when absent. */
static void json_str(const char *json, const char *key, char *out, size_t cap)
{
    (void)hy_json_str(json, key, out, cap);
}

/* The admin socket `backup verify` talks to (verify_run.h's ask). */
static char verify_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];

static int verify_ask(const char *cmd, double timeout, char **answer)
{
    char line[ADMIN_LINE_MAX];
    int n = snprintf(line, sizeof(line), "%s\n", cmd);
    *answer = NULL;
    if (n < 0 || (size_t)n >= sizeof(line))
        return EXIT_USAGE;
    size_t got;
    int rc = ask(verify_socket, line, (size_t)n, hy_mono_s() + timeout, timeout, answer, &got);
    if (rc == EXIT_OK)
        (*answer)[got > 0 ? got - 1 : 0] = '\0'; /* the empty line that ended it */
    return rc;
}

/* After `backup full` answered OK: poll show backup until its account check
 * passed (full_account set) or the backup failed, at most BACKUP_CHECK_WAIT
 * seconds (the check's login and statements have 10 s each). */
#define BACKUP_CHECK_WAIT 35.0
static int backup_full_wait(const char *path, double timeout, bool quiet)
{
    static const char cmd[] = "show backup --json\n";
    double until = hy_mono_s() + BACKUP_CHECK_WAIT;
    while (hy_mono_s() < until) {
        char *ans;
        size_t got;
        if (ask(path, cmd, sizeof(cmd) - 1, hy_mono_s() + timeout, timeout, &ans, &got) != EXIT_OK)
            return EXIT_NO_ANSWER;
        char state[32], account[200], err[1024];
        json_str(ans, "full_state", state, sizeof(state));
        json_str(ans, "full_account", account, sizeof(account));
        json_str(ans, "full_error", err, sizeof(err));
        free(ans);
        if (strcmp(state, "failed") == 0) {
            fprintf(quiet ? stderr : stdout, "ERR backup full %s: %s\n",
                    account[0] ? "failed" : "refused", err);
            return EXIT_FAILED;
        }
        if (account[0] != '\0' || strcmp(state, "ok") == 0) {
            if (!quiet)
                printf("OK account %s holds SELECT, SHOW VIEW, TRIGGER, EVENT ON *.*: the dump "
                       "runs (show backup)\n",
                       account);
            return EXIT_OK;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr,
            "halyardctl: the backup account was not checked within %.0f s; see show "
            "backup\n",
            BACKUP_CHECK_WAIT);
    return EXIT_NO_ANSWER;
}

/* The bytes of the backup being written: the largest `*.gz.partial` in
 * DIR/full (one backup runs at a time); 0 when none. */
static uint64_t partial_bytes(const char *dir)
{
    char full[4200], path[4500];
    snprintf(full, sizeof(full), "%.4000s/full", dir);
    DIR *d = opendir(full);
    uint64_t most = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        struct stat st;
        snprintf(path, sizeof(path), "%s/%.255s", full, e->d_name);
        if (l > 11 && strcmp(e->d_name + l - 11, ".gz.partial") == 0 && stat(path, &st) == 0 &&
            (uint64_t)st.st_size > most)
            most = (uint64_t)st.st_size;
    }
    if (d != NULL)
        closedir(d);
    return most;
}

/* `backup full --wait`: after the account check, follow the backup to its
 * end through show backup (every 250 ms), the size of its .partial file
 * as the phase's bytes (halyard reports none while the dump runs). */
static int backup_full_follow(const char *path, double timeout, bool quiet)
{
    static const char cmd[] = "show backup --json\n";
    struct progress *p = progress_main();
    progress_phase(p, "dumping", 0);
    for (;;) {
        char *ans;
        size_t got;
        if (ask(path, cmd, sizeof(cmd) - 1, hy_mono_s() + timeout, timeout, &ans, &got) != EXIT_OK)
            return EXIT_NO_ANSWER;
        char state[32], type[8] = "full", dir[4096], file[4096], gtid[200], err[1024];
        json_str(ans, "full_state", state, sizeof(state));
        json_str(ans, "full_type", type, sizeof(type));
        json_str(ans, "dir", dir, sizeof(dir));
        json_str(ans, "full_file", file, sizeof(file));
        json_str(ans, "full_gtid", gtid, sizeof(gtid));
        json_str(ans, "full_error", err, sizeof(err));
        const char *size = strstr(ans, "\"full_bytes\":");
        uint64_t bytes = 0; /* absent or not a number: not shown */
        if (size != NULL &&
            !hy_parse_u64(size + 12, hy_digits(size + 12, strlen(size + 12)), UINT64_MAX, &bytes))
            bytes = 0;
        free(ans);
        if (strcmp(state, "running") != 0) {
            bool ok = strcmp(state, "ok") == 0;
            if (ok)
                progress_update(p, bytes);
            progress_finish(p, ok);
            if (ok && !quiet)
                printf("OK backup %s done: %s, GTID %s\n", type, file, gtid);
            if (!ok)
                fprintf(quiet ? stderr : stdout, "ERR backup %s failed: %s\n", type, err);
            return ok ? EXIT_OK : EXIT_FAILED;
        }
        progress_update(p, partial_bytes(dir));
        struct timespec ts = {0, 250 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* The options before COMMAND. */
struct options {
    const char *sock_path, *conf_path; /* NULL: not given */
    bool json;
    bool quiet;     /* -q: errors only */
    bool wait;      /* backup full --wait: until it ends, with its progress */
    double timeout; /* seconds */
    bool timeout_given;
};

/* -1: go on with argv[optind...], the command; else the exit status. */
static int options_parse(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.timeout = 10};
    int c;
    /* "+": stop at the first word, so "show stats --json" stays the command's. */
    while ((c = getopt_long(argc, argv, "+s:c:jqt:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->sock_path = optarg;
            break;
        case 'c':
            o->conf_path = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'q':
            o->quiet = true;
            break;
        case 't': {
            o->timeout_given = true;
            if (!hy_str_double(optarg, &o->timeout) || !(o->timeout > 0 && o->timeout <= 3600)) {
                fprintf(stderr, "halyardctl: -t wants seconds, 0 < SECS <= 3600\n");
                return EXIT_USAGE;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

/* A restore is this process's own work on backup.dir (-c's), never
 * halyard's. */
static int run_restore(const struct options *o, int argc, char **argv)
{
    char *dir = NULL;
    if (o->conf_path != NULL) {
        char err[1024];
        struct config *rc_cfg = NULL;
        if (config_load(o->conf_path, &rc_cfg, err, sizeof(err)) != HY_OK) {
            fprintf(stderr, "halyardctl: %s\n", err);
            return EXIT_USAGE;
        }
        if (rc_cfg->backup.enabled)
            dir = strdup(rc_cfg->backup.dir);
        backup_keys_set(rc_cfg); /* encrypted backup files */
        config_put(rc_cfg);
    }
    int rc = restore_main(argc, argv, dir);
    free(dir);
    return rc;
}

/* `backup list`: backup.dir and the keys of -c CONFIG (or --dir). */
static int run_backup_list(const struct options *o, int argc, char **argv)
{
    struct config *cfg = NULL;
    if (o->conf_path != NULL) {
        char err[1024];
        if (config_load(o->conf_path, &cfg, err, sizeof(err)) != HY_OK) {
            fprintf(stderr, "halyardctl: %s\n", err);
            return EXIT_USAGE;
        }
        backup_keys_set(cfg);
    }
    char *words[64];
    int n = 0;
    for (int i = 0; i < argc && n < 62; i++)
        words[n++] = argv[i];
    if (o->json) /* -j backup list: as backup list --json */
        words[n++] = (char *)"--json";
    words[n] = NULL;
    int rc = backup_list_main(n, words, cfg);
    if (cfg != NULL)
        config_put(cfg);
    return rc;
}

/* `backup verify` too, with the config's servers, accounts and socket. */
static int run_backup_verify(const struct options *o, int argc, char **argv)
{
    if (o->conf_path == NULL) {
        fprintf(stderr, "halyardctl: backup verify needs -c CONFIG (its backup.dir, "
                        "backends, accounts and admin socket)\n");
        return EXIT_USAGE;
    }
    char err[1024];
    struct config *vcfg = NULL;
    if (config_load(o->conf_path, &vcfg, err, sizeof(err)) != HY_OK) {
        fprintf(stderr, "halyardctl: %s\n", err);
        return EXIT_USAGE;
    }
    snprintf(verify_socket, sizeof(verify_socket), "%s", vcfg->admin_socket);
    backup_keys_set(vcfg);
    int rc = verify_main(argc, argv, vcfg, verify_ask);
    config_put(vcfg);
    return rc;
}

/* The words of the command as one line, " --json" added with -j, ended by
 * "\n", into line[ADMIN_LINE_MAX]. EXIT_OK, or EXIT_USAGE having said why. */
static int command_line(int argc, char **argv, bool json, char *line, size_t *len_out)
{
    size_t len = 0;
    for (int i = 0; i < argc; i++) {
        int n = snprintf(line + len, ADMIN_LINE_MAX - len, "%s%s", i > 0 ? " " : "", argv[i]);
        if (n < 0 || (size_t)n >= ADMIN_LINE_MAX - len) {
            fprintf(stderr, "halyardctl: the command is longer than %d bytes\n", ADMIN_LINE_MAX);
            return EXIT_USAGE;
        }
        len += (size_t)n;
    }
    if (memchr(line, '\n', len) != NULL) {
        fprintf(stderr, "halyardctl: the command contains a newline\n");
        return EXIT_USAGE;
    }
    if (json && len + 8 < ADMIN_LINE_MAX) {
        memcpy(line + len, " --json", 7);
        len += 7;
    }
    line[len++] = '\n';
    *len_out = len;
    return EXIT_OK;
}

/* The admin socket: -c CONFIG's admin_socket, or -s PATH, or the default.
 * EXIT_OK, or EXIT_USAGE having said why. */
static int socket_path(const struct options *o, char *path, size_t cap)
{
    if (o->conf_path != NULL) {
        char err[1024];
        struct config *cfg = NULL;
        if (config_load(o->conf_path, &cfg, err, sizeof(err)) != HY_OK) {
            fprintf(stderr, "halyardctl: %s\n", err);
            return EXIT_USAGE;
        }
        if (cfg->admin_socket[0] == '\0') {
            fprintf(stderr, "halyardctl: %s sets admin_socket = \"\": no admin socket\n",
                    o->conf_path);
            config_put(cfg);
            return EXIT_USAGE;
        }
        snprintf(path, cap, "%s", cfg->admin_socket);
        config_put(cfg);
        return EXIT_OK;
    }
    const char *p = o->sock_path != NULL ? o->sock_path : DEFAULT_SOCKET;
    if (strlen(p) >= cap) {
        fprintf(stderr, "halyardctl: socket path longer than %zu bytes\n", cap - 1);
        return EXIT_USAGE;
    }
    snprintf(path, cap, "%s", p);
    return EXIT_OK;
}

/* Send the command line to halyard and print its answer. The exit status. */
static int run_command(const struct options *o, const char *path, const char *line, size_t len,
                       int argc, char **argv)
{
    double deadline = hy_mono_s() + o->timeout;
    char *ans = NULL;
    size_t got = 0;
    int rc = ask(path, line, len, deadline, o->timeout, &ans, &got);
    if (rc != EXIT_OK)
        goto out;
    rc = got >= 3 && memcmp(ans, "ERR", 3) == 0 ? EXIT_FAILED : EXIT_OK;
    if (!o->quiet)
        fwrite(ans, 1, got - 1, stdout);
    else if (rc == EXIT_FAILED)
        fwrite(ans, 1, got - 1, stderr);
    /* `backup full` answers when the backup's thread starts; its account is
     * checked there (backup_check.h): wait for that, so a refusal is this
     * command's answer and exit code, not only in show backup. The
     * mariadb-backup method has no such check (backup_physical.h). */
    if (rc == EXIT_OK && !o->json && argc == 2 && strcasecmp(argv[0], "backup") == 0 &&
        strcasecmp(argv[1], "full") == 0 &&
        memmem(ans, got, "started: mariadb-backup ", 24) == NULL)
        rc = backup_full_wait(path, o->timeout, o->quiet);
    if (rc == EXIT_OK && o->wait && !o->json)
        rc = backup_full_follow(path, o->timeout, o->quiet);
    if (fflush(stdout) != 0)
        rc = EXIT_NO_ANSWER;
out:
    free(ans);
    return rc;
}

/* restore and backup verify, run here with their progress on stdout; with
 * --quiet (before the command or among its words) only errors, on stderr.
 * With --json (or -j) what they print goes to stderr and stdout gets one
 * JSON object once they end: {"ok","command","exit_status","elapsed_s"}. */
static int run_local(struct options *o, int n, char **words)
{
    int k = 0;
    for (int i = 0; i < n; i++) { /* --quiet and --json taken out of the command's words */
        if (strcmp(words[i], "--quiet") == 0)
            o->quiet = true;
        else if (strcmp(words[i], "--json") == 0)
            o->json = true;
        else
            words[k++] = words[i];
    }
    words[k] = NULL;
    int json_fd = o->json ? dup(STDOUT_FILENO) : -1;
    if (o->json && (json_fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)) {
        fprintf(stderr, "halyardctl: stdout: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    if (o->quiet && freopen("/dev/null", "w", stdout) == NULL) {
        fprintf(stderr, "halyardctl: /dev/null: %s\n", strerror(errno));
        return EXIT_USAGE;
    }
    double start = hy_mono_s();
    progress_init(progress_main(), stdout, progress_mode_for(STDOUT_FILENO, o->quiet));
    bool restore = strcasecmp(words[0], "restore") == 0;
    int rc = restore ? run_restore(o, k, words) : run_backup_verify(o, k, words);
    progress_finish(progress_main(), rc == EXIT_OK);
    if (json_fd >= 0) {
        fflush(stdout);
        dprintf(json_fd, "{\"ok\":%s,\"command\":\"%s\",\"exit_status\":%d,\"elapsed_s\":%.1f}\n",
                rc == EXIT_OK ? "true" : "false", restore ? "restore" : "backup verify", rc,
                hy_mono_s() - start);
        close(json_fd);
    }
    return rc;
}

int main(int argc, char **argv)
{
    struct options o;
    int rc = options_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    int n = argc - optind; /* the command's words */
    char **words = argv + optind;
    if (strcasecmp(words[0], "help") == 0 && n >= 2 && strcmp(words[n - 1], "--json") == 0) {
        o.json = true; /* help [COMMAND] --json, as halyard's own help takes it */
        n--;
    }
    if (strcasecmp(words[0], "help") == 0 && n == 1) {
        if (o.json)
            ctl_help_list_json(stdout);
        else
            usage(stdout);
        return EXIT_OK;
    }
    if (strcasecmp(words[0], "help") == 0)
        return ctl_help_show(stdout, n - 1, words + 1, o.json);
    if (n >= 2 && strcasecmp(words[0], "backup") == 0 && strcasecmp(words[1], "list") == 0)
        return run_backup_list(&o, n, words);
    if (strcasecmp(words[0], "restore") == 0 ||
        (n >= 2 && strcasecmp(words[0], "backup") == 0 && strcasecmp(words[1], "verify") == 0))
        return run_local(&o, n, words);
    if (n == 3 && strcasecmp(words[0], "backup") == 0 &&
        (strcasecmp(words[1], "full") == 0 || strcasecmp(words[1], "incr") == 0 ||
         strcasecmp(words[1], "diff") == 0) &&
        strcmp(words[2], "--wait") == 0) { /* halyardctl's, not sent */
        o.wait = true;
        n = 2;
        progress_init(progress_main(), stdout, progress_mode_for(STDOUT_FILENO, o.quiet));
    }
    /* `limits` is halyardctl's short name of halyard's `show limits`. */
    static char w_show[] = "show", w_limits[] = "limits";
    char *show_limits[3] = {w_show, w_limits, NULL};
    if (strcasecmp(words[0], "limits") == 0 && n <= 2) {
        show_limits[2] = n == 2 ? words[1] : NULL;
        words = show_limits;
        n++;
    }
    if (!ctl_help_known(n, words)) {
        fprintf(stderr,
                "halyardctl: unknown command \"%s\" (halyardctl --help lists the commands)\n",
                words[0]);
        return EXIT_USAGE;
    }
    /* A switchover or failover waits on the servers (switchover_timeout_ms
     * and more): give it longer than a query of halyard's own state. */
    if (!o.timeout_given &&
        (strcasecmp(words[0], "switchover") == 0 || strcasecmp(words[0], "failover") == 0))
        o.timeout = 120;
    if (o.sock_path != NULL && o.conf_path != NULL) {
        fprintf(stderr, "halyardctl: -s and -c name the socket twice; give one\n");
        return EXIT_USAGE;
    }
    char line[ADMIN_LINE_MAX];
    size_t len;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    if ((rc = command_line(n, words, o.json, line, &len)) != EXIT_OK ||
        (rc = socket_path(&o, path, sizeof(path))) != EXIT_OK)
        return rc;
    return run_command(&o, path, line, len, n, words);
}
