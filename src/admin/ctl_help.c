/*
 * ctl_help.c: halyardctl's `--help`, `help COMMAND` and its check that a
 * command exists before sending it (ctl_help.h).
 *
 * halyard's commands are read from admin_verbs[] (admin_cmd.c), the table
 * the admin socket parses with: a command added there is listed, explained
 * and accepted here with no other change. This file holds only what that
 * table has no column for: an example of each, and the rows of the
 * commands halyardctl runs in its own process.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin_int.h"
#include "halyard/core/textbuf.h"
#include "halyard/admin/ctl_help.h"
#include "halyard/backup/backup_list.h"
#include "halyard/backup/restore_run.h"
#include "halyard/backup/verify_run.h"

/* The commands halyardctl runs itself; a row here stands for a row of
 * admin_verbs[] with the same words (help). */
struct ctl_local {
    const char *words, *usage, *help, *example;
    /* Prints the command's own --help (its options), or NULL. */
    void (*options)(void);
};

static void restore_options(void)
{
    char *argv[] = {"restore", "--help", NULL};
    (void)restore_main(2, argv, NULL);
}

static void verify_options(void)
{
    char *argv[] = {"backup", "verify", "--help", NULL};
    (void)verify_main(3, argv, NULL, NULL);
}

static void list_options(void)
{
    char *argv[] = {"backup", "list", "--help", NULL};
    (void)backup_list_main(3, argv, NULL);
}

static const struct ctl_local ctl_local[] = {
    {"help", "help [COMMAND]",
     "every command, one line each; with COMMAND, that command explained (no halyard needed)",
     "halyardctl help show backends", NULL},
    {"restore", "restore --to-gtid G|--to-position P|--to-time T",
     "restore the backups of backup.dir to a point in time into an empty server; run by "
     "halyardctl itself, with progress (phases, bytes, rate, time left)",
     "halyardctl -c /etc/halyard/halyard.conf restore --to-gtid 0-1-4242 --into "
     "127.0.0.1:3399 --password-file /root/scratch.pw",
     restore_options},
    {"backup verify", "backup verify [--into HOST:PORT]",
     "restore the newest backup into a scratch server and compare every table with a replica "
     "stopped at the same GTID; run by halyardctl itself (needs -c CONFIG), with progress",
     "halyardctl -c /etc/halyard/halyard.conf backup verify --password-file /root/scratch.pw",
     verify_options},
    {"backup list", "backup list [--dir DIR]",
     "the full backups of backup.dir (method, size, time, GTID, key id and whether the config "
     "holds it) and the restorable window with its gaps; run by halyardctl itself",
     "halyardctl -c /etc/halyard/halyard.conf backup list", list_options},
};

/* An example of each of halyard's listed commands, by its words, and the
 * options halyardctl itself takes after it (NULL: none). */
static const struct {
    const char *words, *example, *ctl_options;
} ctl_examples[] = {
    {"show status", "halyardctl show status"},
    {"show config", "halyardctl -c /etc/halyard/halyard.conf show config"},
    {"show stats", "halyardctl show stats --json"},
    {"show sessions", "halyardctl show sessions"},
    {"show pools", "halyardctl show pools"},
    {"show rules", "halyardctl show rules"},
    {"show backends", "halyardctl show backends --detail"},
    {"show groups", "halyardctl show groups"},
    {"show shards", "halyardctl show shards"},
    {"show xa", "halyardctl show xa"},
    {"backend", "halyardctl backend db2 drain"},
    {"show digests", "halyardctl show digests top 5"},
    {"kill session", "halyardctl kill session 42"},
    {"show blocked", "halyardctl show blocked"},
    {"unblock", "halyardctl unblock 192.0.2.7"},
    {"show firewall", "halyardctl show firewall app"},
    {"dump firewall", "halyardctl dump firewall app >> /etc/halyard/halyard.conf"},
    {"reload", "halyardctl reload"},
    {"takeover", "halyard --takeover -c /etc/halyard/halyard.conf (sends it itself)"},
    {"switchover", "halyardctl switchover to db2"},
    {"failover", "halyardctl failover"},
    {"show events", "halyardctl show events last 5"},
    {"test-alert", "halyardctl test-alert"},
    {"show backup", "halyardctl show backup --json"},
    {"backup full", "halyardctl backup full --wait",
     "--wait: halyardctl waits until the backup ended (OK backup full done: FILE, GTID G; or "
     "ERR and exit 1), showing its progress (the bytes of the dump written so far); not with "
     "--json"},
    {"backup incr", "halyardctl backup incr --wait", "--wait: as for backup full"},
    {"backup diff", "halyardctl backup diff --wait", "--wait: as for backup full"},
    {"backup verified", "(sent by halyardctl backup verify itself)"},
    {"show cache", "halyardctl show cache"},
    {"flush cache", "halyardctl flush cache shop.orders"},
    {"capture start", "halyardctl capture start /var/tmp/prod.hyc"},
    {"capture stop", "halyardctl capture stop"},
    {"capture status", "halyardctl capture status --json"},
    {"show limits", "halyardctl limits"},
};

const char *ctl_help_example(const char *words)
{
    for (size_t i = 0; i < HY_ARRAY_SIZE(ctl_examples); i++) {
        if (strcasecmp(ctl_examples[i].words, words) == 0)
            return ctl_examples[i].example;
    }
    return NULL;
}

/* halyardctl's own options after halyard's command `words`, or NULL. */
static const char *ctl_options(const char *words)
{
    for (size_t i = 0; i < HY_ARRAY_SIZE(ctl_examples); i++) {
        if (strcasecmp(ctl_examples[i].words, words) == 0)
            return ctl_examples[i].ctl_options;
    }
    return NULL;
}

static const struct ctl_local *local_find(const char *words)
{
    for (size_t i = 0; i < HY_ARRAY_SIZE(ctl_local); i++) {
        if (strcasecmp(ctl_local[i].words, words) == 0)
            return &ctl_local[i];
    }
    return NULL;
}

/* How many leading words of `cmd` ("show backends") and words[0..n) agree
 * (case-insensitively), and how many words `cmd` has. */
static int words_agree(const char *cmd, int n, char **words, int *cmd_words)
{
    int same = 0, k = 0;
    bool agreeing = true;
    for (const char *p = cmd; *p != '\0'; k++) {
        size_t len = strcspn(p, " ");
        if (agreeing && k < n && strlen(words[k]) == len && strncasecmp(words[k], p, len) == 0)
            same++;
        else
            agreeing = false;
        p += len;
        p += *p == ' ';
    }
    *cmd_words = k;
    return same;
}

/* The summary of a description for the one-line list: up to its first
 * "; " outside parentheses, where the details start. */
static int summary_len(const char *help)
{
    int depth = 0, i = 0;
    for (; help[i] != '\0'; i++) {
        depth += help[i] == '(' ? 1 : help[i] == ')' ? -1 : 0;
        if (depth == 0 && help[i] == ';' && help[i + 1] == ' ')
            break;
    }
    return i;
}

static void list_line(FILE *out, const char *usage, const char *help)
{
    fprintf(out, "  %-32s  %.*s\n", usage, summary_len(help), help);
}

static bool is_verb(const char *words)
{
    for (size_t i = 0; i < ADMIN_N_VERBS; i++) {
        if (strcasecmp(admin_verbs[i].words, words) == 0)
            return true;
    }
    return false;
}

void ctl_help_list(FILE *out)
{
    for (size_t i = 0; i < ADMIN_N_VERBS; i++) {
        const struct admin_verb_def *v = &admin_verbs[i];
        const struct ctl_local *l = local_find(v->words);
        if (l != NULL)
            list_line(out, l->usage, l->help);
        else if (v->usage != NULL)
            list_line(out, v->usage, v->help);
    }
    for (size_t i = 0; i < HY_ARRAY_SIZE(ctl_local); i++) {
        if (!is_verb(ctl_local[i].words))
            list_line(out, ctl_local[i].usage, ctl_local[i].help);
    }
}

static void json_row(struct textbuf *tb, bool *first, const char *usage, const char *help,
                     bool local, const char *example)
{
    textbuf_puts(tb, *first ? "{\"usage\":" : ",{\"usage\":");
    *first = false;
    textbuf_json_str(tb, usage);
    textbuf_puts(tb, ",\"description\":");
    textbuf_json_str(tb, help);
    textbuf_printf(tb, ",\"runs_in\":\"%s\",\"example\":", local ? "halyardctl" : "halyard");
    textbuf_json_str(tb, example);
    textbuf_putc(tb, '}');
}

void ctl_help_list_json(FILE *out)
{
    struct textbuf tb;
    textbuf_init(&tb, 1u << 20);
    bool first = true;
    textbuf_puts(&tb, "{\"commands\":[");
    for (size_t i = 0; i < ADMIN_N_VERBS; i++) {
        const struct admin_verb_def *v = &admin_verbs[i];
        const struct ctl_local *l = local_find(v->words);
        if (l != NULL)
            json_row(&tb, &first, l->usage, l->help, true, l->example);
        else if (v->usage != NULL)
            json_row(&tb, &first, v->usage, v->help, false, ctl_help_example(v->words));
    }
    for (size_t i = 0; i < HY_ARRAY_SIZE(ctl_local); i++) {
        const struct ctl_local *l = &ctl_local[i];
        if (!is_verb(l->words))
            json_row(&tb, &first, l->usage, l->help, true, l->example);
    }
    textbuf_puts(&tb, "]}\n");
    if (tb.data != NULL)
        fputs(tb.data, out);
    textbuf_free(&tb);
}

/* `text` in lines of at most 76 columns, each indented by two. */
static void wrapped(FILE *out, const char *text)
{
    const char *p = text;
    while (*p != '\0') {
        size_t len = strlen(p);
        if (len > 74) {
            len = 74;
            while (len > 0 && p[len] != ' ')
                len--;
            if (len == 0)
                len = strcspn(p, " ");
        }
        fprintf(out, "  %.*s\n", (int)len, p);
        p += len;
        while (*p == ' ')
            p++;
    }
}

static void explain(FILE *out, const char *usage, const char *help, bool local, const char *example,
                    void (*options)(void), const char *own, bool after_another)
{
    if (after_another)
        fputc('\n', out);
    fprintf(out, "usage: halyardctl [-s SOCKET | -c CONFIG] [-j] [-q] [-t SECONDS] %s\n", usage);
    wrapped(out, help);
    if (local)
        fprintf(out, "  runs in halyardctl's own process; -j or --json: its result as JSON\n");
    else
        fprintf(out, "  sent to halyard over the admin socket; -j or --json: the answer as "
                     "JSON\n");
    if (own != NULL)
        wrapped(out, own);
    if (example != NULL)
        fprintf(out, "example:\n  %s\n", example);
    if (options != NULL) {
        fprintf(out, "its options:\n");
        fflush(out);
        options();
    }
}

int ctl_help_show(FILE *out, int n, char **words, bool json)
{
    int shown = 0, cw;
    struct textbuf tb;
    bool first = true;
    textbuf_init(&tb, 1u << 20);
    textbuf_puts(&tb, "{\"commands\":[");
    for (size_t i = 0; i < ADMIN_N_VERBS; i++) {
        const struct admin_verb_def *v = &admin_verbs[i];
        int same = words_agree(v->words, n, words, &cw);
        if (v->usage == NULL || local_find(v->words) != NULL || same < (n < cw ? n : cw))
            continue;
        shown++;
        if (json)
            json_row(&tb, &first, v->usage, v->help, false, ctl_help_example(v->words));
        else
            explain(out, v->usage, v->help, false, ctl_help_example(v->words), NULL,
                    ctl_options(v->words), shown > 1);
    }
    for (size_t i = 0; i < HY_ARRAY_SIZE(ctl_local); i++) {
        const struct ctl_local *l = &ctl_local[i];
        if (words_agree(l->words, n, words, &cw) < (n < cw ? n : cw))
            continue;
        shown++;
        if (json)
            json_row(&tb, &first, l->usage, l->help, true, l->example);
        else
            explain(out, l->usage, l->help, true, l->example, l->options, NULL, shown > 1);
    }
    textbuf_puts(&tb, "]}\n");
    if (json && shown > 0 && tb.data != NULL)
        fputs(tb.data, out);
    textbuf_free(&tb);
    if (shown > 0)
        return 0;
    fprintf(stderr, "halyardctl: no command \"");
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i ? " " : "", words[i]);
    fprintf(stderr, "\" (halyardctl --help lists them)\n");
    return 2;
}

bool ctl_help_known(int n, char **argv_words)
{
    /* The words as halyard will read the line: an argument may hold
     * several ("show backends" quoted as one), split on blanks. */
    char line[512], *words[32];
    size_t used = 0;
    line[0] = '\0';
    for (int i = 0; i < n && used < sizeof(line); i++)
        used +=
            (size_t)snprintf(line + used, sizeof(line) - used, "%s%s", i ? " " : "", argv_words[i]);
    n = 0;
    for (char *save = NULL, *w = strtok_r(line, " \t", &save); w != NULL && n < 32;
         w = strtok_r(NULL, " \t", &save))
        words[n++] = w;
    int cw;
    for (size_t i = 0; i < ADMIN_N_VERBS; i++) {
        if (words_agree(admin_verbs[i].words, n, words, &cw) == cw)
            return true;
    }
    for (size_t i = 0; i < HY_ARRAY_SIZE(ctl_local); i++) {
        if (words_agree(ctl_local[i].words, n, words, &cw) == cw)
            return true;
    }
    return false;
}
