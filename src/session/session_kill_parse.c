/*
 * session_kill_parse.c: the KILL statements halyard answers itself, read
 * from a COM_QUERY's text (parse_kill, session_kill.h): KILL [HARD|SOFT]
 * [QUERY|CONNECTION] id, KILL ... USER name[@host] and KILL QUERY ID.
 * Pure: text in, a struct kill_stmt out; session.c answers them. Also
 * what a KILL USER of another account reads first (kill_user_sql, then
 * SHOW GRANTS with a role enabled) and the answers read back, kept in
 * s->kill for session.c's next run of the command.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/core/text.h"
#include "halyard/protocol/connreg.h"
#include "halyard/sql/lexer.h"
#include "halyard/sql/quote.h"
#include "halyard/sql/shard_key.h"
#include "halyard/session/session_err.h"
#include "session_kill.h"

/* Nothing but spaces, comments and one ';' left. */
static bool kill_end(const char *p, const char *end)
{
    p = lex_skip_space_comments(p, end);
    if (p < end && *p == ';')
        p = lex_skip_space_comments(p + 1, end);
    return p == end;
}

/* One part of an account name: 'quoted', "quoted", `quoted` or bare
 * (letters, digits, '_', '$', '.', '%', '-'). A string is read as the
 * server reads it under the sender's sql_mode (`lex_opts`): a doubled
 * quote is one, a backslash an escape unless NO_BACKSLASH_ESCAPES, or
 * under ANSI_QUOTES a "quoted" name is an identifier as `quoted` is. */
static bool kill_name_part(const char **pp, const char *end, char *out, size_t cap,
                           unsigned lex_opts)
{
    const char *p = *pp;
    size_t n = 0;
    if (p < end && (*p == '\'' || *p == '"' || *p == '`')) {
        char q = *p;
        bool ident = q == '`' || (q == '"' && (lex_opts & CLO_ANSI_QUOTES));
        bool bs = !ident && !(lex_opts & CLO_NO_BACKSLASH_ESCAPES);
        const char *lit = p++;
        for (;; p++) {
            if (p >= end)
                return false;
            if (*p == '\\' && bs)
                p++;
            else if (*p == q && (p + 1 >= end || p[1] != q))
                break;
            else if (*p == q)
                p++; /* doubled */
        }
        p++;
        enum key_cs cs;
        if (!ident && !shard_key_str_literal(lit, (size_t)(p - lit), lex_opts, KEY_CS_BINARY,
                                             (uint8_t *)out, cap - 1, &n, &cs))
            return false;
        for (const char *c = lit + 1; ident && c < p - 1; c++) {
            if (n + 1 >= cap)
                return false;
            out[n++] = *c;
            c += *c == q; /* doubled */
        }
        if (memchr(out, '\0', n) != NULL)
            return false; /* not a name halyard can hold: the server's to answer */
    } else {
        while (p < end && (isalnum((unsigned char)*p) || strchr("_$.%-", *p) != NULL)) {
            if (n + 1 >= cap)
                return false;
            out[n++] = *p++;
        }
        if (n == 0)
            return false;
    }
    out[n] = '\0';
    *pp = p;
    return true;
}

/* A connection id: digits to the end of the statement. */
static bool kill_id(const char *p, const char *end, uint32_t *id)
{
    if (p >= end || !isdigit((unsigned char)*p))
        return false;
    uint64_t v = 0;
    while (p < end && isdigit((unsigned char)*p)) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return false;
        p++;
    }
    *id = (uint32_t)v;
    return kill_end(p, end);
}

/* USER name[@host] to the end of the statement. */
static bool kill_user_name(const char *p, const char *end, struct kill_user *ku, unsigned lex_opts)
{
    if (lex_match_word(&p, end, "CURRENT_USER"))
        return false; /* the server's to resolve */
    if (!kill_name_part(&p, end, ku->user, sizeof(ku->user), lex_opts))
        return false;
    ku->any_host = true;
    ku->host[0] = '\0';
    if (p < end && *p == '@') {
        p++;
        if (!kill_name_part(&p, end, ku->host, sizeof(ku->host), lex_opts))
            return false;
        /* '%' is the server's "no host named": any host, as without one */
        ku->any_host = strcmp(ku->host, "%") == 0;
    }
    return kill_end(p, end);
}

/* KILL QUERY ID's expression: a number, or any other expression. */
static enum kill_kind kill_qid(const char *p, const char *sql, const char *end, struct kill_stmt *k)
{
    p = lex_skip_space_comments(p, end);
    const char *e = end;
    while (e > p && (isspace((unsigned char)e[-1]) || e[-1] == ';'))
        e--;
    if (p == e)
        return KILL_NONE; /* the server's syntax error */
    k->qid_number = false;
    k->qid = 0;
    const char *d = p;
    while (d < e && isdigit((unsigned char)*d)) {
        if (k->qid > (UINT64_MAX - 9) / 10)
            return KILL_NONE; /* past any id: the server's to answer */
        k->qid = k->qid * 10 + (uint64_t)(*d - '0');
        d++;
    }
    if (d > p && kill_end(d, end)) {
        k->qid_number = true;
        return KILL_QID;
    }
    k->expr_off = (uint32_t)(p - sql);
    k->expr_len = (uint32_t)(e - p);
    return KILL_QID;
}

enum kill_kind parse_kill(const char *sql, size_t len, unsigned lex_opts, struct kill_stmt *k)
{
    const char *p = sql, *end = sql + len;
    p = lex_skip_space_comments(p, end);
    if (!lex_match_word(&p, end, "KILL"))
        return KILL_NONE;
    k->modifier = "";
    if (lex_match_word(&p, end, "HARD"))
        k->modifier = "HARD ";
    else if (lex_match_word(&p, end, "SOFT"))
        k->modifier = "SOFT ";
    k->query = false;
    if (lex_match_word(&p, end, "QUERY")) {
        k->query = true;
        if (lex_match_word(&p, end, "ID"))
            return kill_qid(p, sql, end, k); /* a query id, not a connection id */
    } else {
        (void)lex_match_word(&p, end, "CONNECTION");
    }
    if (lex_match_word(&p, end, "USER")) {
        /* KILL QUERY USER: the server stops the statements; sessions go on */
        k->user.query = k->query;
        return kill_user_name(p, end, &k->user, lex_opts) ? KILL_USER : KILL_NONE;
    }
    return kill_id(p, end, &k->id) ? KILL_ID : KILL_NONE;
}

/* The read runs on the sender's connection, under its variables: its
 * sql_select_limit (0) would leave out the one row. */
#define ALL_ROWS " LIMIT 18446744073709551615"

char *kill_user_sql(const char *user, const char *host, const struct connreg_row *threads, size_t n,
                    enum sql_quote_mode mode)
{
    char name[200], at[200];
    size_t cap = 1700 + n * 11; /* the host four times: up to 800 */
    char *q = n <= KILL_USER_CONNS_MAX ? malloc(cap) : NULL;
    if (q == NULL || sql_quote(name, sizeof(name), user, mode) == 0 ||
        (host != NULL && sql_quote(at, sizeof(at), host, mode) == 0)) {
        free(q);
        return NULL;
    }
    int m = snprintf(q, cap,
                     "SELECT CONCAT_WS(',', (SELECT COUNT(*) FROM "
                     "information_schema.PROCESSLIST WHERE USER = %s",
                     name);
    /* HOST: the client's host as KILL USER compares it (as it is), then
     * ':' and the port over TCP */
    if (host != NULL)
        m += snprintf(q + m, cap - (size_t)m,
                      " AND (BINARY HOST = BINARY %s OR (BINARY LEFT(HOST, CHAR_LENGTH(%s) + 1) = "
                      "BINARY CONCAT(%s, ':') AND SUBSTRING(HOST, CHAR_LENGTH(%s) + 2) REGEXP "
                      "'^[0-9]+$'))",
                      at, at, at, at);
    m += snprintf(q + m, cap - (size_t)m, " AND ID NOT IN (0");
    for (size_t i = 0; i < n; i++)
        m += snprintf(q + m, cap - (size_t)m, ",%u", threads[i].thread);
    snprintf(q + m, cap - (size_t)m, "%s",
             ")), EXISTS (SELECT 1 FROM information_schema.PROCESSLIST WHERE USER <> "
             "SUBSTRING_INDEX(USER(), '@', 1)), EXISTS (SELECT 1 FROM "
             "information_schema.USER_PRIVILEGES WHERE GRANTEE = CONCAT('''', "
             "REPLACE(CURRENT_USER(), '@', '''@'''), '''') AND PRIVILEGE_TYPE IN "
             "('SUPER', 'CONNECTION ADMIN')), EXISTS (SELECT 1 FROM "
             "information_schema.ENABLED_ROLES))" ALL_ROWS);
    return q;
}

bool kill_user_read(const char *value, uint64_t *threads, bool *process, bool *may_kill,
                    bool *roles)
{
    uint64_t n = 0;
    int proc = 0, may = 0, role = 0, used = 0;
    if (value == NULL ||
        sscanf(value, "%" SCNu64 ",%d,%d,%d%n", &n, &proc, &may, &role, &used) != 4 ||
        value[used] != '\0' || !isdigit((unsigned char)value[0]))
        return false;
    *threads = n;
    *process = proc == 1;
    *may_kill = may == 1;
    *roles = role == 1;
    return true;
}

/* Whether `item` (n bytes) is a privilege that kills other accounts'
 * threads. */
static bool kill_privilege(const char *item, size_t n)
{
    static const char *const names[] = {"ALL PRIVILEGES", "ALL", "SUPER", "CONNECTION ADMIN"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(names); i++) {
        if (strlen(names[i]) == n && strncasecmp(item, names[i], n) == 0)
            return true;
    }
    return false;
}

bool kill_grants_line(const char *line, size_t len)
{
    static const char on_all[] = " ON *.* TO ";
    if (len < 6 || strncmp(line, "GRANT ", 6) != 0)
        return false;
    const char *p = line + 6, *end = line + len;
    const char *on = NULL;
    for (const char *c = p; c + sizeof(on_all) - 1 <= end && on == NULL; c++) {
        if (memcmp(c, on_all, sizeof(on_all) - 1) == 0)
            on = c;
    }
    while (on != NULL && p < on) {
        const char *comma = memchr(p, ',', (size_t)(on - p));
        const char *e = comma != NULL ? comma : on;
        if (kill_privilege(p, (size_t)(e - p)))
            return true;
        p = e + 1;
        while (p < on && *p == ' ')
            p++;
    }
    return false;
}

/* ---- the value KILL QUERY ID reads first (session_kill.c runs it) ---- */

/* The value int_kill_qid read, as KILL QUERY ID reads its expression
 * (a signed integer); false when it is no number. */
static bool qid_parse(const char *v, uint64_t *out)
{
    if (v == NULL || *v == '\0')
        return false;
    uint64_t n;
    if (!hy_str_u64(v, UINT64_MAX, &n))
        return false;
    *out = n;
    return true;
}

/* The value of KILL QUERY ID's expression, read (int_kill_qid). */
static enum internal_next kill_qid_answered(struct session *s, struct bconn *bc)
{
    const char *value = internal_value(s, bc);
    uint64_t v = 0;
    bool number = value != NULL && qid_parse(value, &v);
    if (s->kill.qthread_state == 1) { /* the thread of the query (command_kill_qid) */
        s->kill.qthread_state = 2;
        s->kill.qthread = number && v <= UINT32_MAX ? (uint32_t)v : 0;
        return INTERNAL_END;
    }
    s->kill.qid_state = number ? 1 : 2;
    s->kill.qid_value = v;
    return INTERNAL_END;
}

const struct internal_cmd int_kill_qid = {.name = "the value of KILL QUERY ID's expression",
                                          .flags = INTERNAL_CAPTURE,
                                          .answered = kill_qid_answered};

/* ---- the answers of what KILL USER reads first (session_kill.c runs them) ---- */

static enum internal_next kill_user_answered(struct session *s, struct bconn *bc)
{
    const char *value = internal_value(s, bc);
    s->kill.kuser_state =
        value != NULL && kill_user_read(value, &s->kill.kuser_threads, &s->kill.kuser_process,
                                        &s->kill.kuser_may_kill, &s->kill.kuser_roles)
            ? 1
            : 2;
    return INTERNAL_END;
}

const struct internal_cmd int_kill_user = {.name = "KILL USER's threads of the account",
                                           .flags = INTERNAL_CAPTURE,
                                           .answered = kill_user_answered};

/* A row of SHOW GRANTS' answer, read when whole (one too long for a
 * buffer is not read). */
static void kill_grants_packet(struct session *s, const struct hook_packet *pk)
{
    if (!pk->row || !pk->whole)
        return;
    const uint8_t *p = pk->pl;
    uint32_t len = pk->len;
    struct mysql_rd rd;
    mysql_rd_init(&rd, p, len);
    size_t n = 0;
    const uint8_t *v = len > 0 && p[0] != 0xfb ? mysql_rd_lenenc_str(&rd, &n) : NULL;
    if (v != NULL && !rd.bad && kill_grants_line((const char *)v, n))
        s->kill.kuser_may_kill = true;
}

static enum internal_next kill_grants_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    if (s->io.resp.err_code != 0)
        s->kill.kuser_state = 2; /* not known: the server's answer as it is */
    return INTERNAL_END;
}

const struct internal_cmd int_kill_grant = {.name = "KILL USER's SHOW GRANTS",
                                            .flags = INTERNAL_WHOLE,
                                            .packet = kill_grants_packet,
                                            .answered = kill_grants_answered};

/* ---- a KILL in a multi-statement text (session_kill_chain.c) ---- */

/* Whether a statement that begins with token t may hold semicolons of
 * its own (a compound statement, a stored program's body, a text to
 * prepare) or run a KILL the split would not see: the text is not split
 * then. `next` is the token after t. */
static bool kill_split_opaque(const struct lexer *lx, const struct token *t,
                              const struct token *next)
{
    static const char *const words[] = {"CREATE", "ALTER",  "IF",  "CASE",    "LOOP",
                                        "WHILE",  "REPEAT", "FOR", "DECLARE", "PREPARE"};
    if (t->type != T_WORD)
        return t->type != T_LPAREN; /* `(SELECT ...)` stands; anything odd does not */
    for (size_t i = 0; i < HY_ARRAY_SIZE(words); i++) {
        if (ci_equal(lx->s + t->off, t->len, words[i]))
            return true;
    }
    if (ci_equal(lx->s + t->off, t->len, "BEGIN"))
        return next->type == T_WORD && ci_equal(lx->s + next->off, next->len, "NOT");
    return next->type == T_OP && lx->s[next->off] == ':'; /* a label */
}

bool kill_split(const char *sql, size_t len, unsigned opts, size_t *first_len, size_t *rest_off)
{
    struct lexer lx;
    struct token t, next;
    kw_ready();
    lex_init(&lx, sql, len, opts, NULL);
    size_t stmts = 0, kills = 0, last_semi = 0;
    bool lead = true;
    *first_len = *rest_off = 0;
    lex_next(&lx, &t);
    while (t.type != T_END) {
        lex_next(&lx, &next);
        if (t.type == T_SEMI) {
            lead = true;
            last_semi = t.off;
        } else if (lead) {
            lead = false;
            stmts++;
            bool kill = t.type == T_WORD && ci_equal(lx.s + t.off, t.len, "KILL");
            if (!kill && kill_split_opaque(&lx, &t, &next))
                return false;
            if (kill) {
                /* the statement's text, to its ';' or the end */
                struct lexer at = lx;
                struct token e = next;
                while (e.type != T_END && e.type != T_SEMI)
                    lex_next(&at, &e);
                size_t end = e.type == T_SEMI ? e.off : len;
                struct kill_stmt k;
                if (parse_kill(sql + t.off, end - t.off, opts, &k) != KILL_ID)
                    return false; /* the whole text is refused, as before */
                if (kills++ == 0 && stmts == 1) {
                    *first_len = end; /* the KILL alone */
                    *rest_off = end < len ? end + 1 : len;
                } else if (kills == 1) {
                    *first_len = last_semi; /* the statements before it */
                    *rest_off = last_semi + 1;
                }
            }
        }
        t = next;
    }
    return kills > 0 && stmts > 1;
}
