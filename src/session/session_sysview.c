/*
 * session_sysview.c: what a server says of its clients, said of halyard's
 * clients (issue 33), part of the session module (session_int.h).
 *
 * The process list. A client reads its own connection id as halyard's
 * session id (CONNECTION_ID(), the handshake), so the process list it
 * reads through halyard lists halyard's sessions by that id too:
 *  - the row of a connection of halyard's that a session holds (its
 *    statement runs there, or it keeps it between statements) has the
 *    session's id in place of the server's thread id;
 *  - the rows of halyard's connections that no session holds (idle in a
 *    pool, the monitor's, the failover's...) are left out: they are no
 *    client's, and a client that counts rows (mtr's waits) must not count
 *    them;
 *  - every other row (other clients, the server's own threads, the
 *    replicas' binlog dumps) is the server's as it is.
 * It is the process list of the server the statement runs on (the
 * primary, as for any read of the server's run-time state). A session
 * with no connection there (back in the pool, or only a replica's) has
 * a row of halyard's, Sleep since its last command's end (Killed after a
 * KILL QUERY, until its next command, as the server shows it) (idle_sql,
 * from the registry), kept by the server where it would show the reader
 * that session (its own user's, or every one with PROCESS). A session
 * listed idle by a connection of its own there has its own db and idle
 * time in that row, not the connection's (sessions_snapshot). A
 * session whose statement runs on another backend (a read on a replica)
 * is shown by that backend's row, read there first on a connection of the
 * reading session's (peers_ready) and added to the derived table; its
 * query id is halyard's, which KILL QUERY ID maps back (sysview.h). A
 * statement halyard rewrote (CONNECTION_ID(), the process list) shows its
 * client's text as INFO, which its session publishes in the registry
 * while it runs (registry_set_info; put_client_info, show_row_rest).
 * Threads_connected (SHOW STATUS, information_schema) leaves out the same
 * connections and counts halyard's sessions that hold none there (idle,
 * or reading on a replica), so it counts the client connections the
 * server would have if halyard's clients were its own.
 * connreg.h says which connection is whose, for every thread of halyard.
 *
 * The status variables of the client's connection (Compression, Ssl_*)
 * describe its connection to halyard (tls.h), not halyard's to the server.
 *
 * How: `information_schema.PROCESSLIST`, `.SESSION_STATUS` and
 * `.GLOBAL_STATUS` in a COM_QUERY's text are each replaced by a derived
 * table that reads the server's and changes what is said above (sysview.h);
 * SHOW [FULL] PROCESSLIST and SHOW STATUS are passed on as they are and
 * their rows changed on the way back (session_sysview_row); the process
 * list's rows of other backends, read there first as SHOW writes them
 * (peer_show_sql), go before the end of its rows (peer_rows_send). A derived
 * process list must name its columns, which differ between server
 * versions: halyard reads them once per worker and server
 * (information_schema.COLUMNS), before the first such statement there. A
 * read that also names views keyed by thread ids (InnoDB's transactions,
 * the metadata locks, performance_schema) keeps the server's process list
 * and ids, so that a join between them still matches, and so does a
 * prepared statement's text.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/core/text.h"
#include "halyard/core/textbuf.h"
#include "halyard/protocol/connreg.h"
#include "halyard/protocol/tls.h"
#include "halyard/session/registry.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "halyard/sql/sysview.h"
#include "halyard/core/hash.h"
#include "session_int.h"
#include "session_sysview.h"

/* A derived table's text past this is not written: the statement reads
 * the server's process list as it is (a halyard with more connections to
 * one server than this allows for). */
#define SYSVIEW_TEXT_MAX (256u * 1024u)
#define SYSVIEW_ROWS_MAX 16384u
/* halyard's connections to one other backend a process-list read looks
 * at: past this many, the rest of that backend's are not shown. */
#define PEER_ROWS_MAX 4096u
/* halyard's own reads run on the reading session's connections, under
 * its variables: its sql_select_limit (0 included) would cut their rows,
 * where the server applies it to the client's result only (not to a
 * derived table, nor to SHOW). They say their own limit. */
#define ALL_ROWS " LIMIT 18446744073709551615"
/* The list's columns, kept per worker and server: the first reader's
 * group_concat_max_len (4, say) would cut them, so the read says its own. */
#define COLS_SQL                                                                                   \
    "SET STATEMENT group_concat_max_len = 4294967295 FOR "                                         \
    "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS "  \
    "WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'PROCESSLIST'" ALL_ROWS

/* The status variables said of the client's connection: Compression,
 * the Ssl_* of tls.h, then Threads_connected (the server's, less the
 * connections of halyard's left out of the process list, plus halyard's
 * sessions that hold no connection there). */
#define OV_COMPRESSION 0
#define OV_THREADS     (TLS_ST__COUNT + 1)
#define N_OVERRIDES    (TLS_ST__COUNT + 2)
#define OV_VALUE_MAX   4096 /* Ssl_cipher_list: OpenSSL's list, about 2 KiB */

struct session_sysview {
    struct sysview_scan sc;
    bool active; /* sc is the statement in flight's */
    /* Set when the statement goes out: */
    enum sysview_show show;   /* its answer's rows are changed (session_sysview_row) */
    struct connreg_row *rows; /* halyard's connections to that server, by thread */
    size_t n_rows;
    uint64_t hidden; /* of which serving no session */
    /* halyard's sessions holding no connection there: clients all the
     * same, which Threads_connected counts (status reads only) */
    uint64_t elsewhere;
    /* The rows of halyard's sessions whose statements run on other
     * backends (peers_ready), read before the statement goes out: */
    bool peer_busy; /* being read for the statement whose text hashes to peer_hash */
    uint64_t peer_hash;
    uint32_t peer_next; /* the next backend to look at */
    /* " UNION ALL SELECT <row>" each; for SHOW PROCESSLIST, each row as
     * the packet the client gets (its sequence id written when sent) */
    struct textbuf peer_text;
    size_t peer_mark;   /* peer_text's length before the backend asked now */
    uint32_t *peer_ids; /* the sessions those rows are of */
    size_t n_peer_ids, cap_peer_ids, peer_ids_mark;
    bool peer_use;        /* the statement going out shows them */
    bool peer_cut;        /* a row did not fit (a long INFO): the statement is refused */
    bool idle_done;       /* the idle sessions' rows were asked for (idle_sql) */
    bool idle_snap;       /* on v->rows as they were then (snapshot_again) */
    uint64_t peer_failed; /* backends (idx < 64) whose rows could not be read */
    /* The statement runs on a second connection (session_sysview_elsewhere):
     * that connection's row is the statement's own, s->conns.cur's left out. */
    bool leg;
    /* halyard's other sessions as the registry had them when the
     * statement went out, sorted by id (sessions_snapshot): an idle
     * session's row says their database and idle time. */
    struct registry_idle *sess;
    size_t n_sess;
};

/* ---- the columns of a server's process list, per worker -------------- */

struct cols_known {
    uint64_t server;
    char *cols; /* "USER,HOST,..." after ID; "" = not usable (not rewritten) */
};
static _Thread_local struct cols_known *cols_cache;
static _Thread_local size_t n_cols_cache;

static const struct cols_known *cols_find(uint64_t server)
{
    for (size_t i = 0; i < n_cols_cache; i++) {
        if (cols_cache[i].server == server)
            return &cols_cache[i];
    }
    return NULL;
}

static void cols_put(uint64_t server, const char *cols)
{
    char *c = strdup(cols);
    struct cols_known *n = realloc(cols_cache, (n_cols_cache + 1) * sizeof(*n));
    if (c == NULL || n == NULL) {
        free(c);
        if (n != NULL)
            cols_cache = n;
        return; /* asked again next time */
    }
    cols_cache = n;
    cols_cache[n_cols_cache++] = (struct cols_known){.server = server, .cols = c};
}

void session_sysview_thread_exit(void)
{
    for (size_t i = 0; i < n_cols_cache; i++)
        free(cols_cache[i].cols);
    free(cols_cache);
    cols_cache = NULL;
    n_cols_cache = 0;
}

static uint64_t server_of(const struct bconn *bc)
{
    return connreg_server(bc->be->address, bc->be->port);
}

uint32_t session_sysview_thread_session(const struct session *s, uint32_t thread)
{
    struct connreg_row *r = malloc(SYSVIEW_ROWS_MAX * sizeof(*r));
    size_t n = r != NULL ? HY_MIN(connreg_list(server_of(s->conns.cur), r, SYSVIEW_ROWS_MAX),
                                  (size_t)SYSVIEW_ROWS_MAX)
                         : 0;
    uint32_t session = 0;
    for (size_t i = 0; i < n && session == 0; i++) {
        if (r[i].thread == thread)
            session = r[i].session;
    }
    free(r);
    return session;
}

/* ---- routing ------------------------------------------------------------ */

void session_sysview_clear(struct session *s)
{
    if (s->query.sysview != NULL) {
        s->query.sysview->active = false;
        s->query.sysview->show = SYSVIEW_SHOW_NONE;
        s->query.sysview->peer_use = false;
        s->query.sysview->leg = false;
    }
}

bool session_sysview_route(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                           bool fits)
{
    session_sysview_clear(s);
    const char *text = (const char *)p + 1;
    if (cmd != COM_QUERY || !fits || len == 0 || !sysview_mentioned(text, len - 1))
        return false;
    if (s->query.sysview == NULL &&
        (s->query.sysview = calloc(1, sizeof(*s->query.sysview))) == NULL)
        return false; /* the server's view, as it is */
    struct session_sysview *v = s->query.sysview;
    if (v->peer_text.limit == 0)
        textbuf_init(&v->peer_text, SYSVIEW_TEXT_MAX);
    sysview_scan(text, len - 1, s->route.lex_opts, &v->sc);
    v->active = v->sc.n > 0 || v->sc.show != SYSVIEW_SHOW_NONE || v->sc.show_later;
    if (v->active) /* from now on: halyard's reads before it run for it (peers_ready) */
        registry_set_info(&s->kill.reg, text, len - 1);
    return v->active;
}

/* Whether the process list the statement reads lists halyard's ids. */
static bool ids_mapped(const struct session *s)
{
    const struct session_sysview *v = s->query.sysview;
    return v != NULL && v->active && !v->sc.thread_views;
}

bool session_sysview_ids(const struct session *s)
{
    if (!ids_mapped(s))
        return false;
    for (uint32_t i = 0; i < s->query.sysview->sc.n; i++) {
        if (s->query.sysview->sc.ref[i].table == SYSVIEW_PROCESSLIST)
            return true;
    }
    return s->query.sysview->sc.show == SYSVIEW_SHOW_PROCESSLIST;
}

bool session_sysview_rewrites(const struct session *s)
{
    return s->query.sysview != NULL && s->query.sysview->active && s->query.sysview->sc.n > 0;
}

bool session_sysview_elsewhere(struct session *s)
{
    const struct bconn *bc = s->conns.cur;
    if (!session_sysview_rewrites(s) || s->query.sysview->sc.show != SYSVIEW_SHOW_NONE ||
        bc == NULL || !bc->xa || !bc->xa_ended || !s->query.cmd_one)
        return false; /* a SHOW's WHERE rewritten: it reads no table */
    s->query.sysview->leg = true;
    return true;
}

static bool peers_ready(struct session *s);

bool session_sysview_ready(struct session *s)
{
    if (s->query.sysview != NULL && s->query.sysview->active &&
        s->query.sysview->sc.show == SYSVIEW_SHOW_PROCESSLIST && ids_mapped(s))
        return peers_ready(s);
    if (!session_sysview_rewrites(s) || !ids_mapped(s))
        return true;
    bool pl = false;
    for (uint32_t i = 0; i < s->query.sysview->sc.n; i++)
        pl |= s->query.sysview->sc.ref[i].table == SYSVIEW_PROCESSLIST;
    if (!pl)
        return true;
    if (cols_find(server_of(s->conns.cur)) == NULL) {
        internal_query(s, &int_sysview, COLS_SQL, s->cfg->connect_timeout_ms);
        return false;
    }
    return peers_ready(s);
}

/* The process-list columns read (int_sysview). */
static enum internal_next cols_learned(struct session *s, struct bconn *bc)
{
    const char *cols = internal_value(s, bc);
    bool ok = cols != NULL;
    /* "ID,USER,...": kept from the second name on, when every name is a
     * plain upper-case one (it goes into SQL as it is) */
    bool usable = ok && strncmp(cols, "ID,", 3) == 0;
    for (const char *p = cols; usable && *p != '\0'; p++)
        usable = isupper((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_' || *p == ',';
    if (!usable)
        slog_info(s,
                  "the process list of %s reads as the server's: its columns are not "
                  "known (%s)",
                  s->conns.cur->be->name, ok ? cols : "the query failed");
    cols_put(server_of(s->conns.cur), usable ? cols + 3 : "");
    return INTERNAL_END;
}

const struct internal_cmd int_sysview = {
    .name = "the columns of a process list", .flags = INTERNAL_CAPTURE, .answered = cols_learned};

/* ---- what the statement reads, taken when it goes out ------------------- */

static int row_cmp(const void *a, const void *b)
{
    uint32_t x = ((const struct connreg_row *)a)->thread,
             y = ((const struct connreg_row *)b)->thread;
    return x < y ? -1 : x > y;
}

/* halyard's connections to s->conns.cur's server, sorted by thread id. */
static bool snapshot(struct session *s)
{
    struct session_sysview *v = s->query.sysview;
    uint64_t server = server_of(s->conns.cur);
    size_t cap = 64;
    for (;;) {
        struct connreg_row *r = realloc(v->rows, cap * sizeof(*r));
        if (r == NULL)
            return false;
        v->rows = r;
        size_t n = connreg_list(server, v->rows, cap);
        if (n <= cap || cap >= SYSVIEW_ROWS_MAX) {
            v->n_rows = HY_MIN(n, cap);
            break;
        }
        cap = HY_MIN(n + 64, (size_t)SYSVIEW_ROWS_MAX);
    }
    qsort(v->rows, v->n_rows, sizeof(*v->rows), row_cmp);
    v->hidden = 0;
    for (size_t i = 0; i < v->n_rows; i++)
        v->hidden += v->rows[i].session == 0;
    return true;
}

/* How many of halyard's other sessions serve on none of v->rows (the
 * snapshot's): those the server does not count. */
static uint64_t sessions_elsewhere(struct session *s)
{
    const struct session_sysview *v = s->query.sysview;
    struct registry_idle *r = malloc(PEER_ROWS_MAX * sizeof(*r));
    if (r == NULL)
        return 0;
    size_t n = registry_idle_list(s->kill.reg.id, ev_now(s->w->loop), r, PEER_ROWS_MAX);
    uint64_t out = 0;
    for (size_t i = 0; i < HY_MIN(n, (size_t)PEER_ROWS_MAX); i++) {
        bool listed = false;
        for (size_t j = 0; j < v->n_rows && !listed; j++)
            listed = v->rows[j].session == r[i].id;
        out += !listed;
    }
    free(r);
    return out + (n > PEER_ROWS_MAX ? n - PEER_ROWS_MAX : 0);
}

static int sess_cmp(const void *a, const void *b)
{
    uint32_t x = ((const struct registry_idle *)a)->id, y = ((const struct registry_idle *)b)->id;
    return x < y ? -1 : x > y;
}

/* v->sess: halyard's other sessions now (at most SYSVIEW_ROWS_MAX). A
 * session idle on a connection that is not the one its last command ran
 * on (under session pooling, a replica's it read on before; a
 * connection's database is brought up to date only when it next runs a
 * statement) is listed by that connection in the database it had then,
 * and idle since then: its row, where it is idle, takes the session's
 * database and idle time (idle_cases, show_row_rest), as the server
 * lists a client's only thread. */
static void sessions_snapshot(struct session *s)
{
    struct session_sysview *v = s->query.sysview;
    double now = ev_now(s->w->loop);
    size_t n = HY_MIN(registry_idle_list(s->kill.reg.id, now, NULL, 0), (size_t)SYSVIEW_ROWS_MAX);
    struct registry_idle *r = realloc(v->sess, (n + 16) * sizeof(*r));
    v->n_sess = 0;
    if (r == NULL)
        return; /* the rows as the server lists them */
    v->sess = r;
    v->n_sess = HY_MIN(registry_idle_list(s->kill.reg.id, now, r, n + 16), n + 16);
    qsort(v->sess, v->n_sess, sizeof(*v->sess), sess_cmp);
}

static const struct registry_idle *sess_find(const struct session_sysview *v, uint32_t id)
{
    struct registry_idle key = {.id = id};
    return v->n_sess > 0 ? bsearch(&key, v->sess, v->n_sess, sizeof(*v->sess), sess_cmp) : NULL;
}

static const struct connreg_row *row_find(const struct session_sysview *v, uint32_t thread)
{
    struct connreg_row key = {.thread = thread};
    return bsearch(&key, v->rows, v->n_rows, sizeof(*v->rows), row_cmp);
}

/* halyard's connections when the statement goes out, each shown as it
 * was when idle_sql wrote the idle sessions' rows: those rows and the
 * threads mapped then say the same of every session, so none is left
 * out or shown twice when a session took or gave back a connection in
 * between (a SET's read-back, the second connection's login). A
 * connection logged in since serves no session here (its session was
 * idle then, or shown on another), but the statement's own. */
static bool snapshot_again(struct session *s)
{
    struct session_sysview *v = s->query.sysview;
    size_t n_old = v->n_rows;
    struct connreg_row *old = malloc((n_old > 0 ? n_old : 1) * sizeof(*old));
    if (old == NULL)
        return false;
    memcpy(old, v->rows, n_old * sizeof(*old));
    bool ok = snapshot(s);
    for (size_t i = 0; ok && i < v->n_rows; i++) {
        struct connreg_row key = {.thread = v->rows[i].thread};
        const struct connreg_row *was = bsearch(&key, old, n_old, sizeof(*old), row_cmp);
        if (was != NULL || v->rows[i].session != s->id) /* its own (a second one) stays */
            v->rows[i].session = was != NULL ? was->session : 0;
    }
    free(old);
    v->hidden = 0;
    for (size_t i = 0; ok && i < v->n_rows; i++)
        v->hidden += v->rows[i].session == 0;
    return ok;
}

/* Override `i`'s name as SHOW STATUS writes it. */
static const char *override_name(int i)
{
    return i == OV_COMPRESSION ? "Compression"
           : i == OV_THREADS   ? "Threads_connected"
                               : tls_status_name((enum tls_status_var)(i - 1));
}

/* Its value for the client's connection (not OV_THREADS). */
static void override_value(const struct session *s, int i, char *out, size_t len)
{
    if (i == OV_COMPRESSION)
        snprintf(out, len, "%s", s->client.z != NULL ? "ON" : "OFF");
    else
        tls_status_value(&s->client, (enum tls_status_var)(i - 1), out, len);
}

/* ---- derived tables ----------------------------------------------------- */

/* What the rows of halyard's sessions say in place of the server's
 * (derived_processlist); NULL: nothing. */
struct row_cases {
    const char *stale; /* "12, 15": threads listed `Killed`, idle to their client (killed_stale) */
    /* " WHEN <thread> THEN <value>" of each session's connection: its
     * database, idle seconds and milliseconds (sessions_snapshot) */
    const char *db, *time, *time_ms;
    /* the rows whose INFO is their client's text (put_client_info), but
     * session self's */
    const struct connreg_row *rows;
    size_t n_rows;
    uint32_t self;
};

/* A value as an SQL string literal: only characters that need no escape
 * in any sql_mode (the values are cipher names, dates, numbers). */
static void put_literal(struct textbuf *t, const char *v)
{
    textbuf_printf(t, "'");
    for (const char *p = v; *p != '\0'; p++) {
        if (isalnum((unsigned char)*p) || strchr(" _-:.,/+=", *p) != NULL)
            textbuf_putc(t, *p);
    }
    textbuf_printf(t, "'");
}

/* A client's text as a literal of column INFO (INFO_BINARY when
 * `binary`; its first 100 bytes when `cut`, as SHOW PROCESSLIST cuts it,
 * a character cut in two included). Hex, so no sql_mode changes it; INFO
 * is the server's system character set (utf8mb3), as the server shows
 * it. */
static void put_info_literal(struct textbuf *t, bool binary, bool cut, const char *text, size_t len)
{
    textbuf_printf(t, "%sX'", cut ? "LEFT(" : binary ? "" : "CONVERT(");
    for (size_t i = 0; i < len && !t->overflow; i++)
        textbuf_printf(t, "%02X", (unsigned char)text[i]);
    textbuf_printf(t, "'%s", cut ? ", 100)" : binary ? "" : " USING utf8mb3)");
}

/* Column `col` (INFO or INFO_BINARY; its first 100 bytes when `cut`) of the
 * rows of `rows` as an expression: where a row's session runs a statement
 * halyard rewrote (registry_set_info), the client's text, as the server
 * lists its own client's; else the server's (the text halyard sent, or
 * none). Session `self`'s rows are left to the caller. */
static void put_client_info(struct textbuf *t, const char *col, bool cut,
                            const struct connreg_row *rows, size_t n, uint32_t self)
{
    bool binary = strcmp(col, "INFO_BINARY") == 0;
    struct textbuf cases;
    textbuf_init(&cases, SYSVIEW_TEXT_MAX);
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        char *text = rows[i].session != 0 && rows[i].session != self
                         ? registry_info_dup(rows[i].session, &len)
                         : NULL;
        if (text == NULL)
            continue;
        textbuf_printf(&cases, " WHEN %u THEN ", rows[i].thread);
        put_info_literal(&cases, binary, cut, text, len);
        free(text);
    }
    if (cases.len > 0 && !cases.overflow)
        textbuf_printf(t, "IF(%s IS NULL, NULL, CASE ID%s ELSE ", col, cases.data);
    textbuf_printf(t, cut ? "LEFT(CAST(%s AS BINARY), 100)" : "%s", col);
    if (cases.len > 0 && !cases.overflow)
        textbuf_printf(t, " END)");
    textbuf_free(&cases);
}

/* The client's text as the value of column `col` (INFO, or INFO_BINARY)
 * of the row of thread `tid` (NULL: none), and the client's text of the
 * other sessions' rows in ic (put_client_info): the server lists the
 * text halyard sent, which names halyard's derived tables and ids in
 * place of what the client wrote. */
static void put_info(struct textbuf *t, const char *col, const char *tid, const char *text,
                     size_t len, const struct row_cases *ic)
{
    if (tid != NULL && text != NULL) {
        textbuf_printf(t, "CASE ID WHEN %s THEN ", tid);
        put_info_literal(t, col[4] != '\0', false, text, len);
        textbuf_printf(t, " ELSE ");
    }
    put_client_info(t, col, false, ic->rows, ic->n_rows, ic->self);
    textbuf_printf(t, "%s AS %s", tid != NULL && text != NULL ? " END" : "", col);
}

/* Column `col` of an idle row (COMMAND `Sleep`, or `Killed` and stale)
 * as `cases` says, else the server's. */
static void put_idle_col(struct textbuf *t, const char *col, const char *cases, const char *stale)
{
    textbuf_printf(t, "IF(COMMAND = 'Sleep'");
    if (stale != NULL)
        textbuf_printf(t, " OR COMMAND = 'Killed' AND ID IN (%s)", stale);
    textbuf_printf(t, ", CASE ID%s ELSE %s END, %s) AS %s", cases, col, col, col);
}

/* The process list's columns but ID, as `cols` names them (a comma
 * between two), INFO and INFO_BINARY put_info's, COMMAND `Sleep` for the
 * threads ic->stale lists that the server lists `Killed`, DB, TIME and
 * TIME_MS of idle rows ic's. */
static void put_cols(struct textbuf *t, const char *cols, const char *tid, const char *text,
                     size_t len, uint64_t qid_base, const struct row_cases *ic)
{
    const char *stale = ic->stale;
    const char *p = cols;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        char col[64];
        if (n < sizeof(col)) {
            memcpy(col, p, n);
            col[n] = '\0';
            if (strcasecmp(col, "INFO") == 0 || strcasecmp(col, "INFO_BINARY") == 0)
                put_info(t, col, tid, text, len, ic);
            else if (stale != NULL && strcmp(col, "COMMAND") == 0)
                textbuf_printf(
                    t, "IF(COMMAND = 'Killed' AND ID IN (%s), 'Sleep', COMMAND) AS COMMAND", stale);
            else if (ic->db != NULL && strcmp(col, "DB") == 0)
                put_idle_col(t, col, ic->db, stale);
            else if (ic->time != NULL && strcmp(col, "TIME") == 0)
                put_idle_col(t, col, ic->time, stale);
            else if (ic->time_ms != NULL && strcmp(col, "TIME_MS") == 0)
                put_idle_col(t, col, ic->time_ms, stale);
            else if (qid_base != 0 && strcmp(col, "QUERY_ID") == 0)
                textbuf_printf(
                    t, "IF(QUERY_ID >= 0 AND QUERY_ID < %llu, QUERY_ID + %llu, NULL) AS QUERY_ID",
                    (unsigned long long)SYSVIEW_QID_STRIDE, (unsigned long long)qid_base);
            else
                textbuf_printf(t, "%s", col);
        } else {
            textbuf_printf(t, "%.*s", (int)n, p);
        }
        p += n;
        if (*p == ',') {
            textbuf_printf(t, ",");
            p++;
        }
    }
}

/* ---- halyard's sessions on other backends ------------------------------ */

/* The columns that are numbers (the others are text, INFO_BINARY bytes):
 * a row read on another backend is written as literals of their types,
 * so that the UNION keeps each column's type. */
static bool col_numeric(const char *col)
{
    static const char *const nums[] = {
        "TIME",      "TIME_MS",     "STAGE",           "MAX_STAGE",
        "PROGRESS",  "MEMORY_USED", "MAX_MEMORY_USED", "EXAMINED_ROWS",
        "SENT_ROWS", "TID",         "QUERY_ID"};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        if (strcmp(col, nums[i]) == 0)
            return true;
    }
    return false;
}

/* The end of a statement on information_schema.PROCESSLIST whose text
 * stops at "ID IN (": the threads of `rows`, the ")" and ALL_ROWS, and the text, which
 * the caller frees; NULL (all freed) when it does not fit. */
static char *ids_in_end(struct textbuf *t, const struct connreg_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        textbuf_printf(t, "%s%u", i > 0 ? ", " : "", rows[i].thread);
    textbuf_puts(t, ")" ALL_ROWS);
    if (t->overflow) {
        textbuf_free(t);
        return NULL;
    }
    return t->data;
}

/* Whether thread r, a session's on backend idx, listed `Killed` by the
 * server, is idle to the session's client: no KILL was sent to it since
 * the session's last command began (registry.h killed_on). The server
 * lists a killed idle thread `Killed` until that thread's next command;
 * the session's next command may not have reached it (a PING halyard
 * answers, a statement on another backend), where the server would have
 * run it on its only thread and listed that `Sleep` after. */
static bool killed_stale(const struct connreg_row *r, uint32_t idx)
{
    return r->session != 0 && idx < 64 && !(registry_killed_on(r->session) >> idx & 1);
}

/* "WHERE" for the rows of `rows` (halyard's connections to backend idx)
 * that run a statement, up to "ID IN (": not `Sleep`, and not `Killed`
 * unless a KILL reached the session since its last command (a `Killed`
 * idle thread is a session idle there, killed_stale). */
static void put_running(struct textbuf *t, uint32_t idx, const struct connreg_row *rows, size_t n)
{
    const char *sep = " OR ID IN (";
    textbuf_printf(t, " WHERE COMMAND <> 'Sleep' AND (COMMAND <> 'Killed'");
    for (size_t i = 0; i < n; i++) {
        if (!killed_stale(&rows[i], idx)) {
            textbuf_printf(t, "%s%u", sep, rows[i].thread);
            sep = ", ";
        }
    }
    textbuf_printf(t, "%s) AND ID IN (", sep[0] == ',' ? ")" : "");
}

/* ", <INFO or INFO_BINARY of `rows` as the literal peer_sql writes>":
 * the client's text where halyard rewrote it (put_client_info). */
static void put_peer_info(struct textbuf *t, const char *col, const struct connreg_row *rows,
                          size_t n)
{
    struct textbuf e;
    textbuf_init(&e, SYSVIEW_TEXT_MAX);
    put_client_info(&e, col, false, rows, n, 0);
    const char *x = e.overflow || e.data == NULL ? col : e.data;
    if (strcmp(col, "INFO_BINARY") == 0)
        textbuf_printf(t, ", IF(%s IS NULL, 'NULL', CONCAT('X''', HEX(%s), ''''))", x, x);
    else
        textbuf_printf(
            t, ", IF(%s IS NULL, 'NULL', CONCAT('CONVERT(X''', HEX(%s), ''' USING utf8mb3)'))", x,
            x);
    textbuf_free(&e);
}

/* The statement backend `idx` answers with one text a row: the row of
 * each session's connection there that runs a statement, as the literals
 * of a SELECT, its ID the session's and its QUERY_ID halyard's
 * (sysview.h). NULL when out of memory. */
static char *peer_sql(const char *cols, uint32_t idx, const struct connreg_row *rows, size_t n)
{
    struct textbuf t;
    textbuf_init(&t, SYSVIEW_TEXT_MAX);
    textbuf_printf(&t, "SELECT CONCAT_WS(',', CASE ID");
    for (size_t i = 0; i < n; i++)
        textbuf_printf(&t, " WHEN %u THEN %u", rows[i].thread, rows[i].session);
    textbuf_printf(&t, " END");
    for (const char *p = cols; *p != '\0';) {
        size_t len = strcspn(p, ",");
        char col[64];
        if (len == 0 || len >= sizeof(col)) {
            textbuf_free(&t);
            return NULL;
        }
        memcpy(col, p, len);
        col[len] = '\0';
        p += len + (p[len] == ',');
        if (strcmp(col, "QUERY_ID") == 0)
            textbuf_printf(&t, ", IF(QUERY_ID >= 0 AND QUERY_ID < %llu, QUERY_ID + %llu, 'NULL')",
                           (unsigned long long)SYSVIEW_QID_STRIDE,
                           (unsigned long long)sysview_qid_encode(idx, 0));
        else if (col_numeric(col))
            textbuf_printf(&t, ", IFNULL(%s, 'NULL')", col);
        else if (strcmp(col, "INFO_BINARY") == 0 || strcmp(col, "INFO") == 0)
            put_peer_info(&t, col, rows, n);
        else
            textbuf_printf(
                &t, ", IF(%s IS NULL, 'NULL', CONCAT('CONVERT(X''', HEX(%s), ''' USING utf8mb3)'))",
                col, col);
    }
    textbuf_printf(&t, ") FROM information_schema.PROCESSLIST");
    put_running(&t, idx, rows, n);
    return ids_in_end(&t, rows, n);
}

/* The statement backend `idx` answers SHOW [FULL] PROCESSLIST's rows of
 * with: those rows as the server writes them (Info cut to its first 100
 * bytes unless `full`), the session's id first. NULL when out of
 * memory. */
static char *peer_show_sql(uint32_t idx, const struct connreg_row *rows, size_t n, bool full)
{
    struct textbuf t;
    textbuf_init(&t, SYSVIEW_TEXT_MAX);
    textbuf_printf(&t, "SELECT CASE ID");
    for (size_t i = 0; i < n; i++)
        textbuf_printf(&t, " WHEN %u THEN %u", rows[i].thread, rows[i].session);
    textbuf_printf(&t, " END, USER, HOST, DB, COMMAND, TIME, STATE, ");
    put_client_info(&t, "INFO", !full, rows, n, 0);
    textbuf_printf(&t, ", PROGRESS FROM information_schema.PROCESSLIST");
    put_running(&t, idx, rows, n);
    return ids_in_end(&t, rows, n);
}

/* Backend idx's connections that serve sessions other than this one. */
static size_t peer_rows(const struct session *s, uint32_t idx, struct connreg_row *out, size_t max)
{
    const struct config_backend *be = &s->cfg->backends[idx];
    size_t n = HY_MIN(connreg_list(connreg_server(be->address, be->port), out, max), max), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i].session != 0 && out[i].session != s->kill.reg.id)
            out[k++] = out[i];
    }
    return k;
}

/* ---- halyard's idle sessions -------------------------------------------- */

static bool peer_has(const struct session_sysview *v, uint32_t session)
{
    for (size_t i = 0; i < v->n_peer_ids; i++) {
        if (v->peer_ids[i] == session)
            return true;
    }
    return false;
}

/* A text as a literal of the server's system character set. */
static void put_text(struct textbuf *t, const char *v)
{
    textbuf_printf(t, "CONVERT(X'");
    for (const char *p = v; *p != '\0' && !t->overflow; p++)
        textbuf_printf(t, "%02X", (unsigned char)*p);
    textbuf_printf(t, "' USING utf8mb3)");
}

/* The row of idle session r as the literals of information_schema's
 * columns `cols` (after ID): Sleep, idle since it gave its connection
 * back. */
static void idle_literals(struct textbuf *t, const char *cols, const struct registry_idle *r)
{
    textbuf_printf(t, "%u", r->id);
    for (const char *p = cols; *p != '\0';) {
        size_t len = strcspn(p, ",");
        char col[64];
        snprintf(col, sizeof(col), "%.*s", (int)HY_MIN(len, sizeof(col) - 1), p);
        p += len + (p[len] == ',');
        textbuf_printf(t, ", ");
        if (strcmp(col, "USER") == 0 || strcmp(col, "HOST") == 0)
            put_text(t, col[0] == 'U' ? r->user : r->host);
        else if (strcmp(col, "DB") == 0 && r->db[0] != '\0')
            put_text(t, r->db);
        else if (strcmp(col, "COMMAND") == 0)
            textbuf_printf(t, r->killed ? "'Killed'" : "'Sleep'");
        else if (strcmp(col, "STATE") == 0)
            textbuf_printf(t, "''");
        else if (strcmp(col, "TIME") == 0)
            textbuf_printf(t, "%lld", r->idle_ms / 1000);
        else if (strcmp(col, "TIME_MS") == 0)
            textbuf_printf(t, "%lld.000", r->idle_ms);
        else if (strcmp(col, "PROGRESS") == 0)
            textbuf_printf(t, "0.000");
        else if (col_numeric(col))
            textbuf_printf(t, "0");
        else
            textbuf_printf(t, "NULL");
    }
}

/* The rows of halyard's sessions that hold no connection (no server lists
 * them), each as its own SELECT, which the server keeps where it would
 * show the reader that session: of the reader's own user, or any to a
 * reader with PROCESS: granted to it, or through a role it enabled (USER_
 * PRIVILEGES does not list a role's), as the server shows it another
 * account's thread (halyard's monitor's is one). For SHOW PROCESSLIST (cols NULL) the rows as SHOW
 * writes them; else one text a row, its literals (peer_sql). NULL: none. */
static char *idle_sql(struct session *s, const char *cols)
{
    struct session_sysview *v = s->query.sysview;
    struct registry_idle *r = malloc(PEER_ROWS_MAX * sizeof(*r));
    size_t n =
        r != NULL ? registry_idle_list(s->kill.reg.id, ev_now(s->w->loop), r, PEER_ROWS_MAX) : 0;
    if (n > PEER_ROWS_MAX)
        v->peer_cut = true;
    n = HY_MIN(n, (size_t)PEER_ROWS_MAX);
    /* left out: those the server lists by a connection of theirs, and
     * those whose statement's row was read on another backend */
    if (n > 0 && (v->idle_snap = snapshot(s))) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            /* on a backend whose rows are not known: it may be running
             * a statement there, not shown (as its statement's row) */
            bool listed =
                peer_has(v, r[i].id) ||
                (r[i].backend >= 0 && (r[i].backend >= 64 || (v->peer_failed >> r[i].backend & 1)));
            for (size_t j = 0; j < v->n_rows && !listed; j++)
                listed = v->rows[j].session == r[i].id;
            if (!listed)
                r[k++] = r[i];
        }
        n = k;
    }
    struct textbuf t, row;
    textbuf_init(&t, SYSVIEW_TEXT_MAX);
    textbuf_init(&row, SYSVIEW_TEXT_MAX);
    for (size_t i = 0; i < n; i++) {
        textbuf_printf(&t, "%sSELECT ", i > 0 ? " UNION ALL " : "");
        if (cols == NULL) {
            textbuf_printf(&t, "%u, ", r[i].id);
            put_text(&t, r[i].user);
            textbuf_printf(&t, ", ");
            put_text(&t, r[i].host);
            textbuf_printf(&t, ", ");
            if (r[i].db[0] != '\0')
                put_text(&t, r[i].db);
            else
                textbuf_printf(&t, "NULL");
            textbuf_printf(&t, ", '%s', %lld, '', NULL, '0.000'", r[i].killed ? "Killed" : "Sleep",
                           r[i].idle_ms / 1000);
        } else {
            textbuf_reset(&row);
            idle_literals(&row, cols, &r[i]);
            textbuf_printf(&t, "X'");
            for (size_t k = 0; k < row.len && !t.overflow; k++)
                textbuf_printf(&t, "%02X", (unsigned char)row.data[k]);
            textbuf_printf(&t, "'");
        }
        textbuf_printf(&t, " FROM DUAL WHERE SUBSTRING_INDEX(USER(), '@', 1) = ");
        put_text(&t, r[i].user);
        textbuf_printf(&t, " OR EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES WHERE "
                           "PRIVILEGE_TYPE = 'PROCESS' AND GRANTEE = CONCAT('''', "
                           "REPLACE(CURRENT_USER(), '@', '''@'''), '''')) OR EXISTS (SELECT 1 "
                           "FROM information_schema.PROCESSLIST WHERE USER <> "
                           "SUBSTRING_INDEX(USER(), '@', 1))");
    }
    textbuf_puts(&t, ALL_ROWS); /* the union's */
    bool cut = t.overflow || row.overflow;
    textbuf_free(&row);
    free(r);
    if (n == 0 || cut) {
        v->peer_cut |= cut;
        textbuf_free(&t);
        return NULL;
    }
    return t.data;
}

/* Before a read of the process list goes out on s->conns.cur: the rows of
 * halyard's sessions whose statements run on other backends, read there
 * on connections of this session's (so with its privileges), one backend
 * at a time (int_syspeer; the command runs again after each). */
static bool peers_ready(struct session *s)
{
    struct session_sysview *v = s->query.sysview;
    bool show = v->sc.show == SYSVIEW_SHOW_PROCESSLIST; /* the columns are SHOW's own */
    const struct cols_known *ck = show ? NULL : cols_find(server_of(s->conns.cur));
    if (!show && (ck == NULL || ck->cols[0] == '\0'))
        return true;
    /* the command's own bytes (what follows it may grow meanwhile) */
    const uint8_t *cmd = s->io.up.b->data + s->io.up.scan;
    uint32_t avail = stream_unparsed(&s->io.up);
    uint64_t h =
        avail > MYSQL_HEADER_SIZE
            ? hy_hash64(cmd + MYSQL_HEADER_SIZE,
                        HY_MIN(HY_MIN(avail - MYSQL_HEADER_SIZE, mysql_hdr_len(cmd)), 4096u))
            : 0;
    if (!v->peer_busy || v->peer_hash != h) {
        v->peer_busy = true;
        v->peer_hash = h;
        v->peer_next = 0;
        textbuf_reset(&v->peer_text);
        v->n_peer_ids = 0;
        v->peer_cut = false;
        v->idle_done = false;
        v->idle_snap = false;
        v->peer_failed = 0;
    }
    uint32_t home = s->conns.cur->idx;
    struct connreg_row *rows = malloc(PEER_ROWS_MAX * sizeof(*rows));
    for (; rows != NULL && v->peer_next < s->conns.n_bc; v->peer_next++) {
        uint32_t idx = v->peer_next;
        if (idx == home || idx >= s->cfg->n_backends)
            continue;
        size_t n = peer_rows(s, idx, rows, PEER_ROWS_MAX);
        char *sql = n == 0 ? NULL
                    : show ? peer_show_sql(idx, rows, n, v->sc.show_full)
                           : peer_sql(ck->cols, idx, rows, n);
        if (sql == NULL)
            continue;
        free(rows);
        rows = NULL;
        if (!ensure_connected(s, idx)) {
            free(sql);
            return false; /* runs again once that backend is ready */
        }
        v->peer_mark = v->peer_text.len;
        v->peer_ids_mark = v->n_peer_ids;
        v->peer_next++;
        internal_query(s, &int_syspeer, sql, s->cfg->connect_timeout_ms);
        free(sql);
        return false;
    }
    free(rows);
    if (v->idle_done)
        return true;
    v->idle_done = true;
    char *sql = idle_sql(s, show ? NULL : ck->cols);
    if (sql == NULL)
        return true;
    v->peer_mark = v->peer_text.len;
    v->peer_ids_mark = v->n_peer_ids;
    internal_query(s, &int_syspeer, sql, s->cfg->connect_timeout_ms);
    free(sql);
    return false;
}

static void peer_row(struct session *s, const uint8_t *p, uint32_t len)
{
    struct session_sysview *v = s->query.sysview;
    struct mysql_rd rd;
    mysql_rd_init(&rd, p, len);
    size_t n = 0;
    const uint8_t *c = len > 0 && p[0] != 0xfb ? mysql_rd_lenenc_str(&rd, &n) : NULL;
    if (v == NULL || c == NULL || rd.bad || n == 0)
        return;
    uint32_t id = 0;
    for (size_t i = 0; i < n && isdigit(c[i]); i++)
        id = id * 10 + (uint32_t)(c[i] - '0');
    if (v->n_peer_ids == v->cap_peer_ids) {
        size_t cap = HY_MAX(v->cap_peer_ids * 2, (size_t)16);
        uint32_t *ids = realloc(v->peer_ids, cap * sizeof(*ids));
        if (ids == NULL)
            return;
        v->peer_ids = ids;
        v->cap_peer_ids = cap;
    }
    struct textbuf *t = &v->peer_text;
    size_t len0 = t->len;
    bool fits = true;
    if (v->sc.show == SYSVIEW_SHOW_PROCESSLIST) {
        uint8_t hdr[MYSQL_HEADER_SIZE];
        mysql_hdr_write(hdr, len, 0);
        fits = len < MYSQL_MAX_PAYLOAD;
        textbuf_append(t, hdr, sizeof(hdr));
        textbuf_append(t, p, len);
    } else {
        textbuf_puts(t, " UNION ALL SELECT ");
        textbuf_append(t, c, n);
    }
    if (!fits || t->overflow) {
        textbuf_truncate(t, len0);
        v->peer_cut = true;
        return;
    }
    v->peer_ids[v->n_peer_ids++] = id;
}

/* Another backend's rows of halyard's sessions read (int_syspeer), or
 * not (ok false): the process list goes out without them. */
static void peer_done(struct session *s, bool ok)
{
    struct session_sysview *v = s->query.sysview;
    if (v == NULL || ok)
        return;
    slog_info(s, "the process list leaves out the statements running on %s: reading them failed",
              s->conns.cur->be->name);
    textbuf_truncate(&v->peer_text, v->peer_mark);
    v->n_peer_ids = v->peer_ids_mark;
    if (s->conns.cur->idx < 64)
        v->peer_failed |= 1ull << s->conns.cur->idx;
}

static enum internal_next peer_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    peer_done(s, s->io.resp.err_code == 0);
    return INTERNAL_END;
}

static void peer_lost(struct session *s)
{
    peer_done(s, false);
}

static void peer_too_long(struct session *s)
{
    if (s->query.sysview != NULL)
        s->query.sysview->peer_cut = true;
}

/* A packet of int_syspeer's answer, each read whole: a row, or one too
 * long to be read (over the I/O buffer), which refuses the statement
 * (session_sysview_cut) rather than answer without that row. */
static void peer_packet(struct session *s, const struct hook_packet *pk)
{
    if (!pk->row)
        return;
    if (pk->whole)
        peer_row(s, pk->pl, pk->len);
    else
        peer_too_long(s);
}

const struct internal_cmd int_syspeer = {.name = "reading its process list",
                                         .flags = INTERNAL_WHOLE,
                                         .packet = peer_packet,
                                         .answered = peer_answered,
                                         .lost = peer_lost};

const char *session_sysview_cut(const struct session *s)
{
    const struct session_sysview *v = s->query.sysview;
    const struct bconn *bc = s->conns.cur;
    if (session_sysview_rewrites(s) && bc != NULL && bc->xa && bc->xa_ended && !s->query.cmd_one)
        /* the server refuses halyard's derived tables there (1399), and
         * only a statement alone runs on a second connection
         * (session_sysview_elsewhere): refused whole, before any of it ran */
        return "halyard: in an XA transaction's IDLE or PREPARED state, "
               "information_schema.PROCESSLIST, SESSION_STATUS and GLOBAL_STATUS are read by a "
               "statement alone, not in a multi-statement text (none of it ran)";
    if (v != NULL && v->active && v->sc.show_later)
        /* its rows would be the server's: halyard's connections by their
         * thread ids, the monitor's, Threads_connected counting them
         * (since 2026-11-29; before, they went to the client so) */
        return "halyard: SHOW PROCESSLIST and SHOW STATUS are answered as a text's first "
               "statement, not after another in a multi-statement text (none of it ran)";
    if (v == NULL || !v->peer_use || !v->peer_cut)
        return NULL;
    return v->sc.show == SYSVIEW_SHOW_PROCESSLIST && !v->sc.show_full
               ? "halyard: the process list's rows of statements on other servers are too long to "
                 "join (256 KiB in all)"
               : "halyard: the process list's rows of statements on other servers are too long to "
                 "join (a row over buffer_size, or 256 KiB in all); SHOW PROCESSLIST shows them "
                 "cut to 100 bytes";
}

static char *derived_processlist(struct session *s, const char *cols, const char *text, size_t len)
{
    const struct session_sysview *v = s->query.sysview;
    struct textbuf t;
    textbuf_init(&t, SYSVIEW_TEXT_MAX);
    textbuf_printf(&t, "SELECT ");
    /* on a second connection (v->leg) the statement's own row is that
     * connection's (CONNECTION_ID() there), shown as the session's */
    uint32_t own = s->conns.cur != NULL ? s->conns.cur->login.thread_id : 0;
    char tid[24] = "CONNECTION_ID()";
    if (!v->leg)
        snprintf(tid, sizeof(tid), "%u", own);
    size_t mapped = v->leg;
    for (size_t i = 0; i < v->n_rows; i++)
        mapped += v->rows[i].session != 0;
    if (mapped > 0) {
        textbuf_printf(&t, "CASE ID");
        if (v->leg)
            textbuf_printf(&t, " WHEN CONNECTION_ID() THEN %u", s->id);
        for (size_t i = 0; i < v->n_rows; i++) {
            if (v->rows[i].session != 0)
                textbuf_printf(&t, " WHEN %u THEN %u", v->rows[i].thread, v->rows[i].session);
        }
        textbuf_printf(&t, " ELSE ID END AS ID");
    } else {
        textbuf_printf(&t, "ID");
    }
    textbuf_printf(&t, ", ");
    /* a replica's query ids as halyard shows them (sysview.h) */
    uint32_t home = s->conns.cur != NULL ? s->conns.cur->idx : s->route.primary;
    struct textbuf cases[4]; /* stale, db, time, time_ms */
    for (int k = 0; k < 4; k++)
        textbuf_init(&cases[k], SYSVIEW_TEXT_MAX);
    for (size_t i = 0; i < v->n_rows; i++) {
        const struct connreg_row *r = &v->rows[i];
        if (killed_stale(r, home))
            textbuf_printf(&cases[0], "%s%u", cases[0].len > 0 ? ", " : "", r->thread);
        const struct registry_idle *e = r->session != 0 ? sess_find(v, r->session) : NULL;
        if (e == NULL)
            continue;
        textbuf_printf(&cases[1], " WHEN %u THEN ", r->thread);
        if (e->db[0] != '\0')
            put_text(&cases[1], e->db);
        else
            textbuf_printf(&cases[1], "NULL");
        textbuf_printf(&cases[2], " WHEN %u THEN %lld", r->thread, e->idle_ms / 1000);
        textbuf_printf(&cases[3], " WHEN %u THEN %lld.000", r->thread, e->idle_ms);
    }
    const char *c[4];
    for (int k = 0; k < 4; k++) {
        c[k] = cases[k].len > 0 ? cases[k].data : NULL;
        t.overflow |= cases[k].overflow;
    }
    struct row_cases ic = {.stale = c[0],
                           .db = c[1],
                           .time = c[2],
                           .time_ms = c[3],
                           .rows = v->rows,
                           .n_rows = v->n_rows,
                           .self = s->id};
    put_cols(&t, cols, own != 0 || v->leg ? tid : NULL, text, len,
             home != s->route.primary ? sysview_qid_encode(home, 0) : 0, &ic);
    for (int k = 0; k < 4; k++)
        textbuf_free(&cases[k]);
    textbuf_printf(&t, " FROM information_schema.PROCESSLIST");
    /* left out: connections no session holds, those of sessions whose row
     * is the one of the backend where their statement runs, and the
     * session's own when the statement runs on a second one */
    const char *sep = " WHERE ID NOT IN (";
    if (v->leg && own != 0) {
        textbuf_printf(&t, "%s%u", sep, own);
        sep = ", ";
    }
    for (size_t i = 0; i < v->n_rows; i++) {
        if (v->leg && v->rows[i].thread == own)
            continue;
        if (v->rows[i].session == 0 || (v->peer_use && peer_has(v, v->rows[i].session))) {
            textbuf_printf(&t, "%s%u", sep, v->rows[i].thread);
            sep = ", ";
        }
    }
    if (sep[0] == ',')
        textbuf_printf(&t, ")");
    if (v->peer_use && v->peer_text.len > 0) /* its length: a row cut leaves bytes past it */
        textbuf_append(&t, v->peer_text.data, v->peer_text.len);
    if (t.overflow) {
        textbuf_free(&t);
        return NULL;
    }
    return t.data;
}

static char *derived_status(struct session *s, const char *table)
{
    const struct session_sysview *v = s->query.sysview;
    struct textbuf t;
    textbuf_init(&t, SYSVIEW_TEXT_MAX);
    char value[OV_VALUE_MAX];
    textbuf_printf(&t, "SELECT VARIABLE_NAME, CASE VARIABLE_NAME");
    for (int i = 0; i < N_OVERRIDES; i++) {
        textbuf_printf(&t, " WHEN '");
        for (const char *p = override_name(i); *p != '\0'; p++)
            textbuf_putc(&t, (char)toupper((unsigned char)*p));
        textbuf_printf(&t, "' THEN ");
        if (i == OV_THREADS) {
            /* a second connection (v->leg) is the server's, not a client's */
            textbuf_printf(&t, "CAST(CAST(VARIABLE_VALUE AS SIGNED) - %llu + %llu AS CHAR)",
                           (unsigned long long)(v->hidden + v->leg),
                           (unsigned long long)v->elsewhere);
            continue;
        }
        override_value(s, i, value, sizeof(value));
        put_literal(&t, value);
    }
    textbuf_printf(&t, " ELSE VARIABLE_VALUE END AS VARIABLE_VALUE FROM information_schema.%s",
                   table);
    if (t.overflow) {
        textbuf_free(&t);
        return NULL;
    }
    return t.data;
}

/* What `Value` reads in a SHOW STATUS's WHERE: the value its row is shown
 * with (session_sysview_row), so that the server's WHERE chooses the rows
 * by what the client reads (before 2026-11-29 it compared the server's
 * own: Threads_connected of halyard's connections, the Ssl_* of its
 * connection to the server). */
static char *show_status_value(struct session *s)
{
    const struct session_sysview *v = s->query.sysview;
    struct textbuf t;
    textbuf_init(&t, SYSVIEW_TEXT_MAX);
    char value[OV_VALUE_MAX];
    textbuf_printf(&t, "CASE Variable_name");
    for (int i = 0; i < N_OVERRIDES; i++) {
        textbuf_printf(&t, " WHEN '%s' THEN ", override_name(i));
        if (i == OV_THREADS) {
            textbuf_printf(&t, "CAST(GREATEST(CAST(Value AS SIGNED) - %llu, 0) + %llu AS CHAR)",
                           (unsigned long long)v->hidden, (unsigned long long)v->elsewhere);
            continue;
        }
        override_value(s, i, value, sizeof(value));
        put_literal(&t, value);
    }
    textbuf_printf(&t, " ELSE Value END");
    if (t.overflow) {
        textbuf_free(&t);
        return NULL;
    }
    return t.data;
}

void session_sysview_begin(struct session *s)
{
    struct session_sysview *v = s->query.sysview;
    if (v == NULL || !v->active)
        return;
    v->show = SYSVIEW_SHOW_NONE;
    v->peer_use = v->peer_busy; /* read for this statement (peers_ready) */
    v->peer_busy = false;
    bool kept = v->peer_use && v->idle_snap;
    v->idle_snap = false;
    if (!(kept ? snapshot_again(s) : snapshot(s))) {
        v->n_rows = 0;
        v->hidden = 0;
    }
    bool status = v->sc.show == SYSVIEW_SHOW_STATUS;
    for (uint32_t i = 0; i < v->sc.n && !status; i++)
        status = v->sc.ref[i].table != SYSVIEW_PROCESSLIST;
    v->elsewhere = status ? sessions_elsewhere(s) : 0;
    v->n_sess = 0;
    if (ids_mapped(s))
        sessions_snapshot(s);
    if (v->sc.show == SYSVIEW_SHOW_STATUS ||
        (v->sc.show == SYSVIEW_SHOW_PROCESSLIST && ids_mapped(s)))
        v->show = v->sc.show;
}

/* `orig`: the client's text, which the statement's own row shows. */
static char *session_sysview_text(struct session *s, const char *text, size_t len, const char *orig,
                                  size_t orig_len, size_t *out_len)
{
    struct session_sysview *v = s->query.sysview;
    /* the text may have changed (CONNECTION_ID() in place): scanned again */
    sysview_scan(text, len, s->route.lex_opts, &v->sc);
    char *derived[SYSVIEW__REFS] = {NULL};
    const struct cols_known *ck = cols_find(server_of(s->conns.cur));
    if (ids_mapped(s) && ck != NULL && ck->cols[0] != '\0')
        derived[SYSVIEW_PROCESSLIST] = derived_processlist(s, ck->cols, orig, orig_len);
    derived[SYSVIEW_SESSION_STATUS] = derived_status(s, "SESSION_STATUS");
    derived[SYSVIEW_GLOBAL_STATUS] = derived_status(s, "GLOBAL_STATUS");
    if (v->sc.show == SYSVIEW_SHOW_STATUS)
        derived[SYSVIEW_STATUS_VALUE] = show_status_value(s);
    size_t need = sysview_rewrite(text, len, &v->sc, (const char *const *)derived, NULL, 0);
    char *out = malloc(need + 1);
    if (out != NULL)
        *out_len = sysview_rewrite(text, len, &v->sc, (const char *const *)derived, out, need);
    for (int i = 0; i < SYSVIEW__REFS; i++)
        free(derived[i]);
    return out;
}

bool session_sysview_packet(struct session *s, uint8_t **pkt, size_t *n, const char *orig,
                            size_t orig_len)
{
    size_t n2 = 0;
    char *t = session_sysview_text(s, (const char *)*pkt + MYSQL_HEADER_SIZE + 1, *n, orig,
                                   orig_len, &n2);
    uint8_t *p2 =
        t != NULL && n2 + 1 < MYSQL_MAX_PAYLOAD ? realloc(*pkt, MYSQL_HEADER_SIZE + 1 + n2) : NULL;
    if (p2 == NULL) {
        free(t);
        return false;
    }
    memcpy(p2 + MYSQL_HEADER_SIZE + 1, t, n2);
    free(t);
    *pkt = p2;
    *n = n2;
    return true;
}

/* ---- the rows of SHOW PROCESSLIST and SHOW STATUS ----------------------- */

/* A SHOW PROCESSLIST row of thread r (backend idx) after its Id, from rd
 * to wr: its Command `Sleep` where it is `Killed` and killed_stale; where
 * it is idle, the db and Time of its session, e (sessions_snapshot); its
 * Info `info` (info_len bytes; NULL: the server's) where it has one. */
static void show_row_rest(struct mysql_wr *wr, struct mysql_rd *rd, const struct connreg_row *r,
                          uint32_t idx, const struct registry_idle *e, const char *info,
                          size_t info_len)
{
    /* User, Host, db, Command, Time, State, Info: each column's bytes (a
     * NULL's 0xfb) */
    const uint8_t *at[8];
    const uint8_t *cmd = NULL;
    size_t n = 0;
    for (int col = 0; col < 7 && !rd->bad; col++) {
        at[col] = rd->p;
        const uint8_t *c = mysql_rd_left(rd) > 0 && *rd->p == 0xfb ? mysql_rd_bytes(rd, 1)
                                                                   : mysql_rd_lenenc_str(rd, &n);
        if (col == 3)
            cmd = c;
    }
    at[7] = rd->p;
    if (rd->bad || cmd == NULL) {
        mysql_wr_bytes(wr, at[0], (size_t)(rd->end - at[0]));
        return;
    }
    size_t cmd_len = (size_t)(at[4] - cmd); /* the Command's text, after its length */
    bool stale = cmd_len == 6 && memcmp(cmd, "Killed", 6) == 0 && killed_stale(r, idx);
    bool idle = stale || (cmd_len == 5 && memcmp(cmd, "Sleep", 5) == 0);
    mysql_wr_bytes(wr, at[0], (size_t)(at[2] - at[0])); /* User, Host */
    if (idle && e != NULL && e->db[0] != '\0')
        mysql_wr_lenenc_str(wr, e->db, strlen(e->db));
    else if (idle && e != NULL)
        mysql_wr_u8(wr, 0xfb);
    else
        mysql_wr_bytes(wr, at[2], (size_t)(at[3] - at[2]));
    if (stale)
        mysql_wr_lenenc_str(wr, "Sleep", 5);
    else
        mysql_wr_bytes(wr, at[3], (size_t)(at[4] - at[3]));
    if (idle && e != NULL) {
        char num[24];
        int k = snprintf(num, sizeof(num), "%lld", e->idle_ms / 1000);
        mysql_wr_lenenc_str(wr, num, (size_t)k);
    } else {
        mysql_wr_bytes(wr, at[4], (size_t)(at[5] - at[4]));
    }
    mysql_wr_bytes(wr, at[5], (size_t)(at[6] - at[5])); /* State */
    if (info != NULL && *at[6] != 0xfb)
        mysql_wr_lenenc_str(wr, info, info_len);
    else
        mysql_wr_bytes(wr, at[6], (size_t)(at[7] - at[6]));
    mysql_wr_bytes(wr, at[7], (size_t)(rd->end - at[7]));
}

/* The row's new payload into out (cap bytes): its length, 0 to drop it,
 * SIZE_MAX to pass it as it is. */
static size_t row_fix(const struct session *s, const uint8_t *pl, uint32_t len, uint8_t *out,
                      size_t cap)
{
    const struct session_sysview *v = s->query.sysview;
    struct mysql_rd rd;
    mysql_rd_init(&rd, pl, len);
    size_t n0 = 0;
    const uint8_t *c0 = pl[0] == 0xfb ? NULL : mysql_rd_lenenc_str(&rd, &n0);
    if (c0 == NULL || rd.bad)
        return SIZE_MAX;
    struct mysql_wr wr;
    mysql_wr_init(&wr, out, cap);
    if (v->show == SYSVIEW_SHOW_PROCESSLIST) {
        char num[24];
        if (n0 == 0 || n0 >= sizeof(num))
            return SIZE_MAX;
        memcpy(num, c0, n0);
        num[n0] = '\0';
        uint64_t id;
        const struct connreg_row *r =
            hy_str_u64(num, UINT32_MAX, &id) ? row_find(v, (uint32_t)id) : NULL;
        if (r == NULL)
            return SIZE_MAX;
        if (r->session == 0 || (v->peer_use && peer_has(v, r->session)))
            return 0; /* no session's, or shown by where its statement runs */
        int k = snprintf(num, sizeof(num), "%u", r->session);
        mysql_wr_lenenc_str(&wr, num, (size_t)k);
        size_t info_len = 0;
        char *info = registry_info_dup(r->session, &info_len);
        /* SHOW PROCESSLIST: its first 100 bytes, as the server cuts it
         * (a character cut in two included; before 2026-11-29 halyard kept
         * 100 characters) */
        if (info != NULL && !v->sc.show_full && info_len > 100)
            info_len = 100;
        show_row_rest(&wr, &rd, r, s->conns.cur->idx, sess_find(v, r->session), info, info_len);
        free(info);
        return mysql_wr_len(&wr);
    }
    for (int i = 0; i < N_OVERRIDES; i++) {
        const char *name = override_name(i);
        if (strlen(name) != n0 || strncasecmp(name, (const char *)c0, n0) != 0)
            continue;
        char val[OV_VALUE_MAX];
        if (i != OV_THREADS) {
            override_value(s, i, val, sizeof(val));
        } else {
            size_t n1 = 0;
            const uint8_t *c1 = mysql_rd_lenenc_str(&rd, &n1);
            if (c1 == NULL || rd.bad || n1 == 0 || n1 >= 24)
                return SIZE_MAX;
            char num[24];
            memcpy(num, c1, n1);
            num[n1] = '\0';
            uint64_t all;
            if (hy_str_u64(num, UINT64_MAX, &all)) /* else the server's text as it is */
                snprintf(
                    val, sizeof(val), "%llu",
                    (unsigned long long)((all > v->hidden ? all - v->hidden : 0) + v->elsewhere));
        }
        mysql_wr_lenenc_str(&wr, c0, n0);
        mysql_wr_lenenc_str(&wr, val, strlen(val));
        return mysql_wr_len(&wr);
    }
    return SIZE_MAX;
}

/* SHOW PROCESSLIST's rows end at down.scan: the rows read on other
 * backends go before the end, whose sequence id and every later one's go
 * up by as many. HOOK_PASS once they are sent (the end goes on as it
 * is), HOOK_WAIT when what is before the end must go first. */
static enum hook_verdict peer_rows_send(struct session *s)
{
    struct session_sysview *v = s->query.sysview;
    struct stream *st = &s->io.down;
    if (st->head < st->scan) {
        s->io.down_flush = true;
        return HOOK_WAIT;
    }
    uint8_t seq = s->io.rdown.seq;
    size_t k = 0;
    for (size_t at = 0; at + MYSQL_HEADER_SIZE <= v->peer_text.len; k++) {
        uint8_t *h = (uint8_t *)v->peer_text.data + at;
        h[3] = (uint8_t)(seq + k);
        at += MYSQL_HEADER_SIZE + mysql_hdr_len(h);
    }
    v->peer_use = false;
    s->io.rdown.shift = (uint8_t)(s->io.rdown.shift - k);
    s->io.rdown.seq = (uint8_t)(seq + k);
    if (conn_send_local(&s->client, s->w->loop, &s->w->pool, v->peer_text.data, v->peer_text.len) !=
        HY_OK)
        session_mark_closing(s, END_CLIENT_ERROR);
    return HOOK_PASS;
}

enum hook_verdict session_sysview_row(struct session *s, uint32_t len)
{
    struct session_sysview *v = s->query.sysview;
    struct stream *st = &s->io.down;
    if (v == NULL || v->show == SYSVIEW_SHOW_NONE || s->query.internal != NULL ||
        s->query.cmd != COM_QUERY || s->io.resp.results != 1 || len == 0 ||
        len + MYSQL_HEADER_SIZE > st->b->cap)
        return HOOK_PASS;
    if (stream_unparsed(st) < MYSQL_HEADER_SIZE + len) {
        s->io.down_flush = st->head < st->scan; /* room for the rest, once that is out */
        return HOOK_WAIT;
    }
    const uint8_t *pl = st->b->data + st->scan + MYSQL_HEADER_SIZE;
    if (v->show == SYSVIEW_SHOW_PROCESSLIST && v->peer_use && v->n_peer_ids > 0 &&
        mysql_resp_rows_end_next(&s->io.resp, pl, len))
        return peer_rows_send(s);
    if (!mysql_resp_row_next(&s->io.resp, pl, len))
        return HOOK_PASS;
    /* room for the row, a client's text in its Info, and the rest */
    size_t cap = (size_t)len + REGISTRY_INFO_MAX + 2 * OV_VALUE_MAX + 64;
    uint8_t *pkt = malloc(MYSQL_HEADER_SIZE + cap);
    size_t n = pkt != NULL ? row_fix(s, pl, len, pkt + MYSQL_HEADER_SIZE, cap) : SIZE_MAX;
    if (n == SIZE_MAX || st->head < st->scan) {
        free(pkt);
        if (n == SIZE_MAX)
            return HOOK_PASS;
        s->io.down_flush = true; /* what is before it goes first */
        return HOOK_WAIT;
    }
    (void)mysql_resp_feed(&s->io.resp, pl, len); /* a row: counted */
    st->scan += MYSQL_HEADER_SIZE + len;
    st->head = st->scan;
    if (n == 0) {
        free(pkt);
        s->io.rdown.shift++; /* left out: the packets after it follow on */
        return HOOK_TAKEN;
    }
    mysql_hdr_write(pkt, (uint32_t)n, s->io.rdown.seq);
    if (conn_send_local(&s->client, s->w->loop, &s->w->pool, pkt, MYSQL_HEADER_SIZE + n) != HY_OK)
        session_mark_closing(s, END_CLIENT_ERROR);
    free(pkt);
    return HOOK_TAKEN;
}

void session_sysview_free(struct session *s)
{
    if (s->query.sysview == NULL)
        return;
    free(s->query.sysview->rows);
    textbuf_free(&s->query.sysview->peer_text);
    free(s->query.sysview->peer_ids);
    free(s->query.sysview->sess);
    free(s->query.sysview);
    s->query.sysview = NULL;
}
