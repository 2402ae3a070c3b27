/*
 * admin_int.h: what the admin socket's files share (admin.c the socket and
 * its jobs, admin_cmd.c the commands, admin_parse.c the command line,
 * admin_render.c the answers, admin_table.c their shapes). Not part of any
 * other module's interface.
 */
#ifndef HALYARD_ADMIN_INT_H
#define HALYARD_ADMIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/admin/admin.h"
#include "halyard/config/config.h"
#include "halyard/core/core.h"
#include "halyard/core/textbuf.h"

/* A text table: the first row is the header; columns are left-aligned and
 * separated by two spaces; the last column is not padded. */
struct table {
    size_t ncols;
    char **cells; /* row-major; a NULL cell (out of memory) shows as "?" */
    size_t n;
    size_t cap;
};

void table_init(struct table *t, size_t ncols);
void table_cell(struct table *t, const char *s);
void table_cellf(struct table *t, const char *fmt, ...) HY_PRINTF(2, 3);
void table_render(const struct table *t, struct textbuf *sb);
void table_free(struct table *t);

/* Name/value output: rows of a two-column table, or members of one JSON
 * object. */
struct kv {
    struct textbuf *sb;
    struct table t;
    bool json;
    bool first;
};

void kv_begin(struct kv *kv, struct textbuf *sb, bool json, const char *keyname);
void kv_key(struct kv *kv, const char *key);
void kv_str(struct kv *kv, const char *key, const char *v);
void kv_u64(struct kv *kv, const char *key, uint64_t v);
void kv_int(struct kv *kv, const char *key, long long v);
void kv_bool(struct kv *kv, const char *key, bool v);
/* The JSON answer of a command that changed something begins so:
 * {"ok":true,"message":MESSAGE (the text answer's line after "OK "); the
 * caller adds its own members, each after a ',', and the closing "}\n". */
void json_ok_begin(struct textbuf *sb, const char *message);
/* A command's answer of one message: "OK message" or "ERR message", and
 * in JSON an OK as {"ok":true,"message":...} (an ERR stays its line). */
void answer_result(struct textbuf *sb, bool json, hy_status_t rc, const char *message);
/* A unix time as ISO 8601 UTC ("2026-11-25T14:55:05Z"); 0 = none: JSON null,
 * "-" in a table. */
void kv_time(struct kv *kv, const char *key, long long unix_time);
void kv_end(struct kv *kv);

/* A list of groups: in JSON an array of objects, in a table rows named
 * "list.[i].key". */
struct kv_list {
    struct kv *kv;
    const char *name;
    size_t i;
    char prefix[128];
};

void list_begin(struct kv_list *l, struct kv *kv, const char *name);
void elem_begin(struct kv_list *l);
const char *elem_key(struct kv_list *l, const char *key, char *buf, size_t len);
void elem_end(struct kv_list *l);
void list_end(struct kv_list *l);

/* The end of a job's answer: the workers that did not answer in time, then
 * (JSON) the closing brackets, or (text) a comment line per worker. */
void json_missing_end(struct textbuf *sb, const int *missing, size_t n_missing);

/* An empty list asked for with --sql (the SQL admin port): its renderer
 * draws one zeroed row in place of none, and json_prototype_mark marks the
 * answer that starts at `at` "prototype":true. The SQL port then names the
 * list's columns, typed by the zeroed values, and sends no row: the columns
 * have one source, the renderer. */
bool json_prototype(const struct admin_cmd *cmd, size_t n);
void json_prototype_mark(struct textbuf *sb, size_t at);
/* ... of an answer of several lists (ADMIN_SQL_LISTS): "prototype":`lists`,
 * a JSON array of the names of those drawn with one zeroed row. */
void json_prototype_mark_lists(struct textbuf *sb, size_t at, const char *lists);
void text_missing(struct textbuf *sb, const int *missing, size_t n_missing, const char *what);

/* The line as an error message may quote it: at most 64 columns, escaped. */
void quote_line(char *out, size_t len, const char *line, size_t n);

/* ---- the commands (admin_cmd.c) ---- */

/* The words of a command line after the ones that named the command. */
struct admin_words {
    const char *const *tok;
    const size_t *len;
    size_t n;
};

struct backend_rt;

/* A command being answered: what its handler reads and fills. */
struct admin_req {
    struct status *st;
    const struct admin_cmd *cmd;
    const char *shown;   /* the line, quoted (quote_line), for the log */
    const char *who;     /* the client: "uid=0 pid=123", or the SQL port's account and address */
    struct textbuf *out; /* the answer */
    struct backend_rt *drain_rt; /* ADMIN_REPLY_DRAIN: the backend waited for */
};

/* How the answer of a command goes out. */
enum admin_reply {
    ADMIN_REPLY_NOW,      /* it is in req->out */
    ADMIN_REPLY_WORKERS,  /* gathered from the workers (admin.c's jobs) */
    ADMIN_REPLY_FAILOVER, /* once the failover thread is done (failover_exec.h) */
    ADMIN_REPLY_DRAIN,    /* once req->drain_rt's server is idle */
};

#define ADMIN_ARGS_ANY 255

/* admin_capture.c: capture start [FILE], capture stop, capture status */
struct capture_status;
hy_status_t admin_args_capture_start(struct admin_cmd *cmd, const struct admin_words *a, char *err,
                                     size_t errlen);
enum admin_reply admin_run_capture_start(struct admin_req *r);
enum admin_reply admin_run_capture_stop(struct admin_req *r);
enum admin_reply admin_run_capture_status(struct admin_req *r);
void admin_render_capture(struct textbuf *sb, const struct capture_status *st, bool json);

/* Whether a command is on the SQL admin port, and for which role. */
enum admin_sql_use {
    ADMIN_SQL_NO = 0,   /* the socket's only (takeover: it passes descriptors) */
    ADMIN_SQL_READ,     /* any admin account: it changes nothing */
    ADMIN_SQL_OPERATOR, /* an operator's: it changes runtime state */
};

/* How the SQL admin port draws a command's JSON answer (admin_sql_rs.c). */
enum admin_sql_shape {
    ADMIN_SQL_ROWS = 0,   /* a row per object of its first list (show backends) */
    ADMIN_SQL_NAME_VALUE, /* a name/value row per value, nested names joined (show config) */
    ADMIN_SQL_ONE_ROW,    /* one row of its values, a list as its JSON text (show backup) */
    ADMIN_SQL_LISTS,      /* a result set per list, one after another (show shards); the
                           * first alone to a client without CLIENT_MULTI_RESULTS */
};

/* One command: the words that name it, its arguments, its line in `help`,
 * and what it does (pgbouncer's cmd_list[]). */
struct admin_verb_def {
    const char *words; /* "show digests": matched word by word, case-insensitively */
    /* How many words may follow; with fewer or more the line is not this
     * command. */
    unsigned char min_args, max_args;
    /* Reads the arguments into cmd; NULL when there are none. HY_ERROR:
     * `err` holds the answer, "ERR ...". HY_AGAIN: not this command. */
    hy_status_t (*parse)(struct admin_cmd *cmd, const struct admin_words *args, char *err,
                         size_t errlen);
    enum admin_reply (*run)(struct admin_req *r);
    /* Its outcome goes to the log as an audit line (log_audit) when it is
     * known, not as the command comes in. */
    bool logs_outcome;
    /* Who may run it on the SQL admin port (admin_sql.c); left out: nobody. */
    enum admin_sql_use sql;
    /* How the SQL port draws its answer: the rows of its first list of
     * objects unless said otherwise. */
    enum admin_sql_shape sql_shape;
    const char *usage, *help; /* its line in `help`; NULL: not listed */
};

/* Indexed by enum admin_verb. */
extern const struct admin_verb_def admin_verbs[ADMIN_N_VERBS];

/* ---- inner connections: the SQL admin port's way in (admin_sql.c) ---- */

struct admin_conn;
struct admin_sql;
struct ev_loop;

/* An answer is complete: `text` holds it, ending in the empty line, as the
 * socket would send it. Called from the main loop, possibly from within
 * admin_conn_submit; it must not release the connection. */
typedef void (*admin_answer_fn)(void *arg, const char *text, size_t len);

/* A connection of the admin socket's kind without a socket: lines come
 * from admin_conn_submit, answers go to `answer`. `who` names it in the
 * log and the audit log. NULL: out of memory. */
struct admin_conn *admin_conn_inner(struct admin *a, const char *who, admin_answer_fn answer,
                                    void *arg);
/* Run one command line (no "\n"), as if the socket had read it. HY_ERROR:
 * an answer is still pending, or the line does not fit. */
hy_status_t admin_conn_submit(struct admin_conn *c, const char *line, size_t len) HY_MUSTCHECK;
/* Close it: a pending answer (a job, a switchover) goes on without it. */
void admin_conn_release(struct admin_conn *c);
struct status *admin_status(const struct admin *a);
struct ev_loop *admin_loop(const struct admin *a);
/* Where admin.c keeps the SQL port (admin_sql_create fills it). */
struct admin_sql **admin_sql_slot(struct admin *a);
/* Close the SQL port and its connections (admin_destroy calls it). */
void admin_sql_destroy(struct admin_sql *s);

/* ---- the SQL admin port's statements (admin_sql_stmt.c) ---- */

/* Who runs the statement. */
struct admin_sql_who {
    const char *user, *host; /* the account and the client's address */
    uint32_t id;             /* the connection's id */
    const char *version;     /* what the greeting said */
    enum admin_role role;
};

enum admin_sql_plan_kind {
    ADMIN_SQL_PLAN_ERR,   /* answer code/sqlstate/msg */
    ADMIN_SQL_PLAN_OK,    /* answer OK: a session setting, nothing kept */
    ADMIN_SQL_PLAN_VALUE, /* answer one row: col = val */
    ADMIN_SQL_PLAN_ADMIN, /* run `line` by the admin table */
};

struct admin_sql_plan {
    enum admin_sql_plan_kind kind;
    /* ADMIN_SQL_PLAN_ADMIN */
    char line[600];
    enum admin_verb verb;
    bool rows;                  /* the answer is JSON for a result set (admin_sql_result) */
    enum admin_sql_shape shape; /* ... drawn so (its verb's sql_shape) */
    char table[64];             /* the table its columns name: "backends" */
    /* ADMIN_SQL_PLAN_ERR */
    uint16_t code;
    char sqlstate[6];
    char msg[512];
    /* ADMIN_SQL_PLAN_VALUE */
    char col[128];
    char val[256];
    bool val_null, val_int;
};

/* What the `len` bytes of a COM_QUERY ask for. */
void admin_sql_plan(const char *sql, size_t len, const struct admin_sql_who *who,
                    struct admin_sql_plan *p);

/* A JSON answer of the admin table as a text result set: packets from
 * sequence id *seq appended to `out` (admin_sql_rs.c). HY_ERROR: `json`
 * is not a JSON object (nothing written). */
hy_status_t admin_sql_result(struct textbuf *out, uint8_t *seq, const char *table,
                             enum admin_sql_shape shape, const char *json, size_t len) HY_MUSTCHECK;

#endif /* HALYARD_ADMIN_INT_H */
