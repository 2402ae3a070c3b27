/*
 * config_ops.c: the operations parts of halyard.conf (config.c has the
 * loader): the backup section (binlog_archive.h, backup_sched.h), the
 * alerts section (alerts.h) and the instance name events carry.
 */
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "halyard/config/config.h"
#include "halyard/core/text.h"
#include "halyard/core/events.h"
#include "halyard/core/hash.h"
#include "config_int.h"

/* "7d", "36h", "90m", "600s", "0" -> seconds; -1 when malformed. */
static int64_t parse_duration(const char *s)
{
    size_t n = hy_digits(s, strlen(s));
    uint64_t v;
    if (!hy_parse_u64(s, n, 100000000u, &v))
        return -1;
    const char *end = s + n;
    if (*end == '\0')
        return v == 0 ? 0 : -1; /* a unit is required but for 0 */
    int64_t mul = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
    if (mul == 0 || end[1] != '\0')
        return -1;
    return (int64_t)v * mul;
}

/* "HH:MM-HH:MM" -> minutes after 00:00 (UTC); "" = no window (-1, -1).
 * The end may come before the start: the window spans midnight. */
static hy_status_t parse_window(const char *s, int *from, int *to)
{
    *from = *to = -1;
    if (s[0] == '\0')
        return HY_OK;
    unsigned h1, m1, h2, m2;
    char tail;
    if (strlen(s) != 11 || sscanf(s, "%2u:%2u-%2u:%2u%c", &h1, &m1, &h2, &m2, &tail) != 4 ||
        h1 > 23 || h2 > 23 || m1 > 59 || m2 > 59 || (h1 == h2 && m1 == m2))
        return HY_ERROR;
    *from = (int)(h1 * 60 + m1);
    *to = (int)(h2 * 60 + m2);
    return HY_OK;
}

/* The cache section (cache.h); after the rules (which turn it on) and
 * the backup section (whose account it falls back on). */
hy_status_t cfg_fill_cache(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    config_setting_t *g = config_setting_get_member(root, "cache");
    struct config_cache *c = &cfg->cache;
    c->size_bytes = cfg_get_int(g, "cache.size_mb") * 1024 * 1024;
    c->server_id = (uint32_t)cfg_get_int(g, "cache.server_id");
    c->settle_ms = (int)cfg_get_int(g, "cache.settle_ms");
    c->max_lag_ms = (int)cfg_get_int(g, "cache.max_lag_ms");
    c->gate_global = strcmp(cfg_get_str(g, "cache.read_your_writes"), "global") == 0;
    const char *user = cfg_get_str(g, "cache.user");
    const char *pw = cfg_get_str(g, "cache.password");
    if (user[0] == '\0' && cfg->backup.user != NULL && cfg->backup.user[0] != '\0') {
        user = cfg->backup.user;
        pw = cfg->backup.password != NULL ? cfg->backup.password : "";
    } else if (user[0] == '\0') {
        user = cfg->monitor.user != NULL ? cfg->monitor.user : "";
        pw = cfg->monitor.password != NULL ? cfg->monitor.password : "";
    }
    if ((c->user = strdup(user)) == NULL || (c->password = strdup(pw)) == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    if (c->enabled && c->user[0] == '\0')
        return cfg_fail(ld, g, "cache.user",
                        "a rule has action = \"cache\": its binary log reader needs an account "
                        "(cache.user, backup.user or monitor.user)");
    if (c->server_id == 0) {
        /* FNV-1a of the instance name, another than backup's */
        uint32_t h = hy_hash32_str(cfg->instance_name != NULL ? cfg->instance_name : "");
        c->server_id = 0x80000000u | ((h ^ 0x5a5a5a5au) & 0x7fffffffu);
    }
    return HY_OK;
}

/* One key file (backup_crypt.h): 64 hex digits, blanks around them
 * allowed, readable by its owner alone. */
static hy_status_t read_key(struct loader *ld, const config_setting_t *s, const char *key,
                            const char *path, uint8_t out[32])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfg_fail(ld, s, key, "cannot read %s: %s", path, strerror(errno));
    struct stat sb;
    char text[160];
    ssize_t n = fstat(fd, &sb) == 0 ? read(fd, text, sizeof(text) - 1) : -1;
    int e = errno;
    close(fd);
    if (n < 0)
        return cfg_fail(ld, s, key, "cannot read %s: %s", path, strerror(e));
    if ((sb.st_mode & 077) != 0) {
        explicit_bzero(text, sizeof(text));
        return cfg_fail(ld, s, key,
                        "%s has mode %04o: a key file must be readable by its owner alone "
                        "(chmod 600 %s)",
                        path, (unsigned)(sb.st_mode & 07777), path);
    }
    text[n] = '\0';
    const char *p = text + strspn(text, " \t\r\n");
    size_t hl = strspn(p, "0123456789abcdefABCDEF");
    bool ok = hl == 64 && p[hl + strspn(p + hl, " \t\r\n")] == '\0';
    for (size_t i = 0; ok && i < 32; i++) {
        unsigned v;
        ok = sscanf(p + 2 * i, "%2x", &v) == 1;
        out[i] = (uint8_t)v;
    }
    explicit_bzero(text, sizeof(text));
    if (!ok)
        return cfg_fail(ld, s, key,
                        "%s does not hold a 256-bit key as 64 hex digits (openssl rand -hex 32)",
                        path);
    return HY_OK;
}

/* backup.compression and the keys of encryption at rest. */
static hy_status_t fill_backup_rest(struct loader *ld, config_setting_t *g, struct config_backup *b)
{
    if (cfg_dup_str(ld, &b->compression_name, g, "backup.compression") != HY_OK ||
        cfg_dup_str(ld, &b->encryption_key_file, g, "backup.encryption_key_file") != HY_OK ||
        (g != NULL &&
         cfg_dup_strings(ld, &b->decryption_key_files, g, "backup.decryption_key_files") != HY_OK))
        return HY_ERROR;
    b->compression = strcmp(b->compression_name, "zstd") == 0   ? 1
                     : strcmp(b->compression_name, "none") == 0 ? 2
                                                                : 0;
    bool enc = b->encryption_key_file[0] != '\0';
    size_t n = (enc ? 1 : 0) + b->decryption_key_files.n;
    if (n == 0)
        return HY_OK;
    b->keys = calloc(n, sizeof(*b->keys));
    if (b->keys == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    if (enc && read_key(ld, config_setting_get_member(g, "encryption_key_file"),
                        "backup.encryption_key_file", b->encryption_key_file, b->keys[0]) != HY_OK)
        return HY_ERROR;
    b->n_keys = enc ? 1 : 0;
    for (size_t i = 0; i < b->decryption_key_files.n; i++, b->n_keys++) {
        if (read_key(ld, config_setting_get_member(g, "decryption_key_files"),
                     "backup.decryption_key_files", b->decryption_key_files.v[i],
                     b->keys[b->n_keys]) != HY_OK)
            return HY_ERROR;
    }
    return HY_OK;
}

/* The mariadb-backup command has %i (not %%i). */
static bool backup_command_has_i(const struct config_backup *b)
{
    for (const char *p = strchr(b->mariadb_backup_command, '%'); p != NULL && p[1] != '\0';
         p = strchr(p + 2, '%'))
        if (p[1] == 'i')
            return true;
    return false;
}

/* The backup section (binlog_archive.h): off when absent. */
hy_status_t cfg_fill_backup(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    config_setting_t *g = config_setting_get_member(root, "backup");
    struct config_backup *b = &cfg->backup;
    bool given;
    b->enabled = g != NULL;
    b->binlog_sync_ms = (int)cfg_get_int(g, "backup.binlog_sync_ms");
    b->server_id = (uint32_t)cfg_get_int(g, "backup.server_id");
    b->full_keep = (int)cfg_get_int(g, "backup.full_keep");
    if (cfg_dup_str(ld, &b->dir, g, "backup.dir") != HY_OK ||
        cfg_dup_str(ld, &b->user, g, "backup.user") != HY_OK ||
        cfg_dup_str(ld, &b->retention, g, "backup.binlog_retention") != HY_OK ||
        cfg_dup_str(ld, &b->password_file, g, "backup.password_file") != HY_OK ||
        cfg_dup_str(ld, &b->password_env, g, "backup.password_env") != HY_OK)
        return HY_ERROR;
    if (cfg_dup_str(ld, &b->full_every, g, "backup.full_every") != HY_OK ||
        cfg_dup_str(ld, &b->full_window, g, "backup.full_window") != HY_OK ||
        cfg_dup_str(ld, &b->full_max_age, g, "backup.full_max_age") != HY_OK ||
        cfg_dup_str(ld, &b->full_timeout, g, "backup.full_timeout") != HY_OK ||
        cfg_dup_str(ld, &b->incr_every, g, "backup.incr_every") != HY_OK ||
        cfg_dup_str(ld, &b->diff_every, g, "backup.diff_every") != HY_OK ||
        cfg_dup_str(ld, &b->copy_to_dir, g, "backup.copy_to_dir") != HY_OK ||
        cfg_dup_str(ld, &b->copy_command, g, "backup.copy_command") != HY_OK ||
        cfg_dup_str(ld, &b->copy_verify_command, g, "backup.copy_verify_command") != HY_OK ||
        cfg_dup_str(ld, &b->verify_into, g, "backup.verify_into") != HY_OK ||
        cfg_dup_str(ld, &b->verify_server_command, g, "backup.verify_server_command") != HY_OK ||
        cfg_dup_str(ld, &b->method, g, "backup.method") != HY_OK ||
        cfg_dup_str(ld, &b->mariadb_backup_command, g, "backup.mariadb_backup_command") != HY_OK)
        return HY_ERROR;
    const char *vc = strrchr(b->verify_into, ':');
    uint64_t vport = 0;
    if (b->verify_into[0] != '\0' &&
        (vc == NULL || vc == b->verify_into ||
         !hy_parse_u64(vc + 1, strlen(vc + 1), 65535, &vport) || vport < 1))
        return cfg_fail(ld, config_setting_get_member(g, "verify_into"), "backup.verify_into",
                        "\"%s\" is not HOST:PORT", b->verify_into);
    b->full_every_s = parse_duration(b->full_every);
    if (b->full_every_s < 0)
        return cfg_fail(ld, config_setting_get_member(g, "full_every"), "backup.full_every",
                        "\"%s\" is not a duration (a number with s, m, h or d, or \"0\")",
                        b->full_every);
    b->incr_every_s = parse_duration(b->incr_every);
    if (b->incr_every_s < 0)
        return cfg_fail(ld, config_setting_get_member(g, "incr_every"), "backup.incr_every",
                        "\"%s\" is not a duration (a number with s, m, h or d, or \"0\")",
                        b->incr_every);
    b->diff_every_s = parse_duration(b->diff_every);
    if (b->diff_every_s < 0)
        return cfg_fail(ld, config_setting_get_member(g, "diff_every"), "backup.diff_every",
                        "\"%s\" is not a duration (a number with s, m, h or d, or \"0\")",
                        b->diff_every);
    b->full_max_age_s = parse_duration(b->full_max_age);
    if (b->full_max_age_s < 0)
        return cfg_fail(ld, config_setting_get_member(g, "full_max_age"), "backup.full_max_age",
                        "\"%s\" is not a duration (a number with s, m, h or d, or \"0\")",
                        b->full_max_age);
    b->full_timeout_s = parse_duration(b->full_timeout);
    if (b->full_timeout_s < 0)
        return cfg_fail(ld, config_setting_get_member(g, "full_timeout"), "backup.full_timeout",
                        "\"%s\" is not a duration (a number with s, m, h or d, or \"0\")",
                        b->full_timeout);
    if (parse_window(b->full_window, &b->full_window_from, &b->full_window_to) != HY_OK)
        return cfg_fail(ld, config_setting_get_member(g, "full_window"), "backup.full_window",
                        "\"%s\" is not a daily window \"HH:MM-HH:MM\" (UTC, start and end differ)",
                        b->full_window);
    config_setting_t *cs = g != NULL ? config_setting_get_member(g, "copy_to_dir") : NULL;
    b->copy_to_dir_line = cs != NULL ? (int)config_setting_source_line(cs) : 0;
    if (b->copy_to_dir[0] != '\0' && b->copy_to_dir[0] != '/')
        return cfg_fail(ld, cs, "backup.copy_to_dir", "must be an absolute path");
    if (b->copy_to_dir[0] != '\0' && b->copy_command[0] != '\0')
        return cfg_fail(ld, config_setting_get_member(g, "copy_command"), "backup.copy_command",
                        "give one of copy_to_dir and copy_command");
    size_t dl = strlen(b->dir);
    if (b->enabled && b->copy_to_dir[0] != '\0' && dl > 0 &&
        strncmp(b->copy_to_dir, b->dir, dl) == 0 &&
        (b->copy_to_dir[dl] == '\0' || b->copy_to_dir[dl] == '/' || b->dir[dl - 1] == '/'))
        return cfg_fail(ld, cs, "backup.copy_to_dir",
                        "is backup.dir or inside it: not a second place");
    static const char *const cmds[] = {"backup.copy_command", "backup.copy_verify_command"};
    const char *texts[] = {b->copy_command, b->copy_verify_command};
    for (size_t i = 0; i < 2; i++) {
        for (const char *p = strchr(texts[i], '%'); p != NULL; p = strchr(p + 2, '%')) {
            if (p[1] == '\0' || strchr("fns%", p[1]) == NULL)
                return cfg_fail(ld, config_setting_get_member(g, cfg_key_leaf(cmds[i])), cmds[i],
                                "%%%c: only %%f (the file), %%n (its name), %%s (its sha256) and "
                                "%%%% are replaced",
                                p[1] != '\0' ? p[1] : ' ');
        }
    }
    b->physical = strcmp(b->method, "mariadb-backup") == 0;
    if (fill_backup_rest(ld, g, b) != HY_OK)
        return HY_ERROR;
    for (const char *p = strchr(b->mariadb_backup_command, '%'); p != NULL;
         p = strchr(p + 2, '%')) {
        if (p[1] == '\0' || strchr("hpui%", p[1]) == NULL)
            return cfg_fail(ld, config_setting_get_member(g, "mariadb_backup_command"),
                            "backup.mariadb_backup_command",
                            "%%%c: only %%h (the source's address), %%p (its port), %%u (the "
                            "backup account), %%i (--incremental-lsn=N) and %%%% are replaced",
                            p[1] != '\0' ? p[1] : ' ');
    }
    const char *chain_key = b->diff_every_s > 0 ? "diff_every" : "incr_every";
    if ((b->incr_every_s > 0 || b->diff_every_s > 0) && !b->physical)
        return cfg_fail(ld, config_setting_get_member(g, chain_key),
                        b->diff_every_s > 0 ? "backup.diff_every" : "backup.incr_every",
                        "incremental and differential backups need backup.method = "
                        "\"mariadb-backup\"");
    if ((b->incr_every_s > 0 || b->diff_every_s > 0) && !backup_command_has_i(b))
        return cfg_fail(ld, config_setting_get_member(g, chain_key),
                        b->diff_every_s > 0 ? "backup.diff_every" : "backup.incr_every",
                        "backup.mariadb_backup_command has no %%i, where an incremental's "
                        "--incremental-lsn=N goes");
    for (const char *p = strchr(b->verify_server_command, '%'); p != NULL; p = strchr(p + 2, '%')) {
        if (p[1] == '\0' || strchr("dhps%", p[1]) == NULL)
            return cfg_fail(ld, config_setting_get_member(g, "verify_server_command"),
                            "backup.verify_server_command",
                            "%%%c: only %%d (the datadir), %%h and %%p (verify_into's host and "
                            "port), %%s (a socket path) and %%%% are replaced",
                            p[1] != '\0' ? p[1] : ' ');
    }
    if (b->copy_verify_command[0] != '\0' && b->copy_command[0] == '\0')
        return cfg_fail(ld, config_setting_get_member(g, "copy_verify_command"),
                        "backup.copy_verify_command", "needs backup.copy_command");
    b->retention_s = parse_duration(b->retention);
    if (b->retention_s < 0)
        return cfg_fail(
            ld, config_setting_get_member(g, "binlog_retention"), "backup.binlog_retention",
            "\"%s\" is not a duration (a number with s, m, h or d, or \"0\")", b->retention);
    config_setting_t *ds = g != NULL ? config_setting_get_member(g, "dir") : NULL;
    b->dir_line = ds != NULL ? (int)config_setting_source_line(ds) : 0;
    b->enabled = b->enabled && b->dir[0] != '\0'; /* "" = off, like no section */
    if (b->enabled && b->dir[0] != '/')
        return cfg_fail(ld, ds, "backup.dir", "must be an absolute path");
    if (b->server_id == 0) {
        /* FNV-1a of the instance name: stable across restarts */
        uint32_t h = hy_hash32_str(cfg->instance_name != NULL ? cfg->instance_name : "");
        b->server_id = 0x80000000u | (h & 0x7fffffffu);
    }
    b->password_clear = cfg_get_str(g, "backup.password")[0] != '\0';
    if (b->password_clear) {
        if (b->password_file[0] != '\0' || b->password_env[0] != '\0')
            return cfg_fail(ld, config_setting_get_member(g, "password"), "backup.password",
                            "give one of password, password_file and password_env");
        return cfg_dup_str(ld, &b->password, g, "backup.password");
    }
    return cfg_read_secret(ld, g, "backup.password_file", "backup.password_env", &b->password,
                           &given);
}

/* alerts.events: per event name, over the group's settings. */
static hy_status_t fill_alert_events(struct loader *ld, struct config_alerts *a,
                                     config_setting_t *list)
{
    for (int t = 0; t < 64; t++)
        a->event_severity[t] = a->event_repeat_ms[t] = -1;
    int n = list != NULL ? config_setting_length(list) : 0;
    uint64_t seen = 0;
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        const char *name = cfg_get_str(g, "alerts.events.[].name");
        char kname[KEYNAME_MAX], shown[48];
        snprintf(kname, sizeof(kname), "alerts.events.[%d].name", i);
        int t = event_parse(name);
        if (t < 0)
            return cfg_fail(ld, cfg_member_or_group(g, "name"), kname,
                            "\"%s\" is not an event name", cfg_printable(name, shown));
        if (seen & (1ull << t))
            return cfg_fail(ld, cfg_member_or_group(g, "name"), kname, "\"%s\" is set twice",
                            cfg_printable(name, shown));
        seen |= 1ull << t;
        if (!cfg_get_bool(g, "alerts.events.[].enabled")) {
            a->disabled_mask |= 1ull << t;
            a->events_off |= 1ull << t;
        }
        a->event_severity[t] = event_severity_parse(cfg_get_str(g, "alerts.events.[].severity"));
        a->event_repeat_ms[t] = (int)cfg_get_int(g, "alerts.events.[].repeat_ms");
    }
    a->n_events = (size_t)n;
    a->events_listed = seen;
    return HY_OK;
}

/* The alerts group (alerts.h). */
hy_status_t cfg_fill_tracing(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    config_setting_t *g = config_setting_get_member(root, "tracing");
    struct config_tracing *t = &cfg->tracing;
    t->enabled = cfg_get_bool(g, "tracing.enabled");
    t->tls_verify = cfg_get_bool(g, "tracing.tls_verify");
    t->slow_ms = (int)cfg_get_int(g, "tracing.slow_ms");
    t->query_text = cfg_get_bool(g, "tracing.query_text");
    t->queue_size = (int)cfg_get_int(g, "tracing.queue_size");
    t->timeout_ms = (int)cfg_get_int(g, "tracing.timeout_ms");
    t->flush_ms = (int)cfg_get_int(g, "tracing.flush_ms");
    t->protobuf = strcmp(cfg_get_str(g, "tracing.protocol"), "http/json") != 0;
    const char *ratio = cfg_get_str(g, "tracing.ratio");
    if (!hy_str_double(ratio, &t->ratio) || !(t->ratio >= 0.0 && t->ratio <= 1.0))
        return cfg_fail(ld, g != NULL ? config_setting_get_member(g, "ratio") : NULL,
                        "tracing.ratio", "\"%s\" is not a number from 0.0 to 1.0", ratio);
    if (cfg_dup_str(ld, &t->endpoint, g, "tracing.endpoint") != HY_OK ||
        cfg_dup_str(ld, &t->headers, g, "tracing.headers") != HY_OK ||
        cfg_dup_str(ld, &t->ca_file, g, "tracing.tls_ca_file") != HY_OK ||
        cfg_dup_str(ld, &t->service, g, "tracing.service_name") != HY_OK)
        return HY_ERROR;
    if (strncmp(t->endpoint, "http://", 7) != 0 && strncmp(t->endpoint, "https://", 8) != 0)
        return cfg_fail(ld, config_setting_get_member(g, "endpoint"), "tracing.endpoint",
                        "\"%s\" is not an http:// or https:// URL", t->endpoint);
    return HY_OK;
}

hy_status_t cfg_fill_alerts(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    config_setting_t *g = config_setting_get_member(root, "alerts");
    struct config_alerts *a = &cfg->alerts;
    a->exec_timeout_ms = (int)cfg_get_int(g, "alerts.exec_timeout_ms");
    a->exec_max_running = (int)cfg_get_int(g, "alerts.exec_max_running");
    a->webhook_tls_verify = cfg_get_bool(g, "alerts.webhook_tls_verify");
    a->webhook_timeout_ms = (int)cfg_get_int(g, "alerts.webhook_timeout_ms");
    a->webhook_retries = (int)cfg_get_int(g, "alerts.webhook_retries");
    a->queue_size = (int)cfg_get_int(g, "alerts.queue_size");
    a->repeat_ms = (int)cfg_get_int(g, "alerts.repeat_ms");
    a->min_severity = event_severity_parse(cfg_get_str(g, "alerts.min_severity"));
    a->pre_failover_timeout_ms = (int)cfg_get_int(g, "alerts.pre_failover_timeout_ms");
    if (cfg_dup_str(ld, &a->exec, g, "alerts.exec") != HY_OK ||
        cfg_dup_str(ld, &a->webhook, g, "alerts.webhook") != HY_OK ||
        cfg_dup_str(ld, &a->pre_failover, g, "alerts.pre_failover") != HY_OK ||
        (g != NULL && cfg_dup_strings(ld, &a->disabled, g, "alerts.disabled") != HY_OK))
        return HY_ERROR;
    if (a->exec[0] != '\0' && a->exec[0] != '/')
        return cfg_fail(ld, config_setting_get_member(g, "exec"), "alerts.exec",
                        "must be an absolute path (it is run without a shell)");
    if (a->pre_failover[0] != '\0' && a->pre_failover[0] != '/')
        return cfg_fail(ld, config_setting_get_member(g, "pre_failover"), "alerts.pre_failover",
                        "must be an absolute path (it is run without a shell)");
    if (a->webhook[0] != '\0' && strncmp(a->webhook, "http://", 7) != 0 &&
        strncmp(a->webhook, "https://", 8) != 0)
        return cfg_fail(ld, config_setting_get_member(g, "webhook"), "alerts.webhook",
                        "must start with http:// or https://");
    a->disabled_mask = 0;
    for (size_t i = 0; i < a->disabled.n; i++) {
        int t = event_parse(a->disabled.v[i]);
        if (t < 0)
            return cfg_fail(ld, config_setting_get_member(g, "disabled"), "alerts.disabled",
                            "'%s' is not an event name", a->disabled.v[i]);
        a->disabled_mask |= 1ull << t;
    }
    return fill_alert_events(ld, a, g != NULL ? config_setting_get_member(g, "events") : NULL);
}

/* instance_name, or the host name and the first listener's port. */
hy_status_t cfg_fill_instance_name(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    const char *in = cfg_get_str(root, "instance_name");
    char name[320];
    if (in[0] != '\0') {
        snprintf(name, sizeof(name), "%s", in);
    } else {
        char host[256] = "localhost";
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        snprintf(name, sizeof(name), "%s:%d", host,
                 cfg->n_listeners > 0 ? cfg->listeners[0].port : 0);
    }
    cfg->instance_name = strdup(name);
    if (cfg->instance_name == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}
