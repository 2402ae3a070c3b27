/*
 * admin_parse.c: the admin socket's command line: admin_parse(), a line to
 * a struct admin_cmd or an ERR answer, by the rows of admin_verbs[]
 * (admin_cmd.c), and `help`, the same rows listed. Pure: no I/O, no state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_int.h"
#include "halyard/admin/admin.h"

void quote_line(char *out, size_t len, const char *line, size_t n)
{
    char tmp[80];
    size_t k = HY_MIN(n, 64);
    memcpy(tmp, line, k);
    tmp[k] = '\0';
    struct textbuf sb;
    textbuf_init(&sb, len > 4 ? len - 4 : 0);
    textbuf_cell(&sb, tmp);
    snprintf(out, len, "%s%s", sb.data != NULL ? sb.data : "", n > 64 ? "..." : "");
    textbuf_free(&sb);
}

/* The number of words of `words` ("show digests": 2) if the line's first
 * ones are these, case aside; else 0. */
static size_t words_match(const char *words, const char *const *tok, const size_t *tlen, size_t n)
{
    size_t k = 0;
    for (const char *w = words; *w != '\0'; k++) {
        size_t wlen = strcspn(w, " ");
        if (k == n || tlen[k] != wlen || strncasecmp(tok[k], w, wlen) != 0)
            return 0;
        w += wlen;
        w += *w == ' ';
    }
    return k;
}

hy_status_t admin_parse(const char *line, size_t len, struct admin_cmd *cmd, char *err,
                        size_t errlen)
{
    char quoted[300];
    const char *tok[7];
    size_t tlen[7];
    size_t n = 0;
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t start = 0;
    while (start < len && (line[start] == ' ' || line[start] == '\t'))
        start++;
    line += start;
    len -= start;
    if (len == 0)
        return HY_AGAIN;
    for (size_t i = 0; i < len;) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            break;
        size_t j = i;
        while (j < len && line[j] != ' ' && line[j] != '\t')
            j++;
        if (n == HY_ARRAY_SIZE(tok))
            goto unknown;
        tok[n] = line + i;
        tlen[n++] = j - i;
        i = j;
    }
    memset(cmd, 0, sizeof(*cmd));
    if (n > 1 && tlen[n - 1] == 6 && strncasecmp(tok[n - 1], "--json", 6) == 0) {
        cmd->json = true;
        n--;
    } else if (n > 1 && tlen[n - 1] == 5 && strncasecmp(tok[n - 1], "--sql", 5) == 0) {
        cmd->json = cmd->sql = true;
        n--;
    }
    for (size_t v = 0; v < ADMIN_N_VERBS; v++) {
        const struct admin_verb_def *d = &admin_verbs[v];
        size_t k = words_match(d->words, tok, tlen, n);
        if (k == 0 || n - k < d->min_args || n - k > d->max_args)
            continue;
        cmd->verb = (enum admin_verb)v;
        struct admin_words args = {tok + k, tlen + k, n - k};
        hy_status_t rc = d->parse != NULL ? d->parse(cmd, &args, err, errlen) : HY_OK;
        if (rc != HY_AGAIN)
            return rc;
    }

unknown:
    quote_line(quoted, sizeof(quoted), line, len);
    snprintf(err, errlen, "ERR unknown command '%s'; try help", quoted);
    return HY_ERROR;
}

/* ---- help -------------------------------------------------------------- */

void admin_render_help(struct textbuf *sb, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"commands\":[");
        bool first = true;
        for (size_t i = 0; i < ADMIN_N_VERBS; i++) {
            if (admin_verbs[i].usage == NULL)
                continue;
            textbuf_puts(sb, first ? "{\"command\":" : ",{\"command\":");
            textbuf_json_str(sb, admin_verbs[i].usage);
            textbuf_puts(sb, ",\"description\":");
            textbuf_json_str(sb, admin_verbs[i].help);
            textbuf_putc(sb, '}');
            first = false;
        }
        textbuf_puts(sb, "],\"json\":\"append --json to a command for JSON\"}\n");
        return;
    }
    struct table t;
    table_init(&t, 2);
    table_cell(&t, "command");
    table_cell(&t, "description");
    for (size_t i = 0; i < ADMIN_N_VERBS; i++) {
        if (admin_verbs[i].usage == NULL)
            continue;
        table_cell(&t, admin_verbs[i].usage);
        table_cell(&t, admin_verbs[i].help);
    }
    table_cell(&t, "... --json");
    table_cell(&t, "the answer as one line of JSON");
    table_render(&t, sb);
    table_free(&t);
}
