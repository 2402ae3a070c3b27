/*
 * session_shard.c: a session of a listener with `shards = true` moves
 * between groups, part of the session module (session_int.h).
 *
 * The session is on one group at a time: s->cfg is that group's view
 * (group.h), as for any session. Before a statement runs, shard_decide()
 * (shard.c, pure) says which group takes it, from the schemas its text
 * names (classify_schemas), the session's schema and the transaction; the
 * session moves there (session_view_move: its connections to the group it
 * leaves are closed, its state is replayed on the new group's connections
 * as it is on any new connection), then routes inside that group as
 * always. A refusal is answered with its ERR (session_err.h) and the
 * session stays where it is, its transaction open.
 *
 * The session's schema lives on one group. On the others its connections
 * keep the schema they have (a login without one): their statements name
 * their schemas, or they would have gone to the schema's group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/config/group.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/pstmt.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/sql/shard.h"
#include "halyard/sql/shard_key.h"
#include "halyard/cluster/shard_learn.h"
#include "halyard/core/stats.h"
#include "halyard/sql/varstate.h"
#include "session_int.h"
#include "session_fanout.h"
#include "session_reload.h"
#include "session_shard.h"

struct shard_refusal {
    enum shard_verdict verdict;
    char group[48], other[48];
    char schema[CLASSIFY_NAME_MAX + 1], schema2[CLASSIFY_NAME_MAX + 1];
    const char *why;   /* SHARD_HELD: a static text */
    bool by_key;       /* the statement's group was its key's (shard_key.h) */
    char key_why[640]; /* a refusal by key: the whole ERR text, else "" */
};

/* The schemas of one statement, copied out of its text. */
struct named_set {
    struct shard_name v[SHARD_MAX_NAMED];
    size_t n;
    char buf[SHARD_MAX_NAMED][CLASSIFY_NAME_MAX + 1];
};

static bool named_add(void *ctx, const char *name, size_t len, bool sure)
{
    struct named_set *ns = ctx;
    if (len == 0 || len > CLASSIFY_NAME_MAX || memchr(name, '\0', len) != NULL)
        return false; /* no schema has such a name */
    for (size_t i = 0; i < ns->n; i++) {
        if (strlen(ns->v[i].name) == len && memcmp(ns->v[i].name, name, len) == 0) {
            ns->v[i].sure = ns->v[i].sure || sure;
            return false;
        }
    }
    if (ns->n == SHARD_MAX_NAMED)
        return true;
    memcpy(ns->buf[ns->n], name, len);
    ns->buf[ns->n][len] = '\0';
    ns->v[ns->n] = (struct shard_name){.name = ns->buf[ns->n], .sure = sure};
    ns->n++;
    return false;
}

/* The index of the session's group in its config. */
static uint16_t cur_group(const struct session *s)
{
    return s->cfg->parent != NULL ? s->cfg->group_idx : 0;
}

/* The listener's group (the default group) in the session's config. */
static uint16_t default_group(const struct session *s)
{
    const struct config *lroot = config_root_c(s->who.lcfg);
    if (s->listener->group >= lroot->n_groups)
        return cur_group(s);
    int g = group_find(s->cfg, lroot->groups[s->listener->group].name);
    return g >= 0 ? (uint16_t)g : cur_group(s);
}

const struct sess_groups session_no_groups;

bool session_groups_make(struct session *s)
{
    if (!s->listener->shards)
        return true;
    s->feat.groups = calloc(1, sizeof(*s->feat.groups));
    return s->feat.groups != NULL;
}

/* A reload may turn shards on for the session's listener: its part made
 * if `to` has the listener with shards = true. */
static bool groups_for(struct session *s, const struct config *to)
{
    if (s->feat.groups != NULL)
        return true;
    for (size_t i = 0; i < to->n_listeners; i++) {
        if (strcmp(to->listeners[i].name, s->listener->name) == 0 && to->listeners[i].shards) {
            s->feat.groups = calloc(1, sizeof(*s->feat.groups));
            return s->feat.groups != NULL;
        }
    }
    return true;
}

bool session_groups_view(struct session *s, const struct config *to)
{
    if (!groups_for(s, to))
        return false;
    /* A learned map is for one config (shard_learn.h): the new config's
     * comes at the next statement. */
    if (s->feat.groups != NULL && config_root_c(to) != config_root_c(s->cfg))
        shard_snap_release(&s->feat.groups->shard_snap);
    return true;
}

void session_groups_free(struct session *s)
{
    if (s->feat.groups == NULL)
        return;
    free(s->feat.groups->shard_ref);
    shard_snap_release(&s->feat.groups->shard_snap);
    free(s->feat.groups);
    s->feat.groups = NULL;
}

/* The map the session goes by: its config's, or the learned one it holds
 * (shards.learn). */
static const struct shard_map *session_map(const struct session *s)
{
    const struct config *root = config_root_c(s->cfg);
    return root->shards_learn ? shard_snap_peek(s->feat.groups->shard_snap, root) : &root->shards;
}

/* Whether a key-shard table (sharded or reference) is in `schema`: such a
 * schema is on every group. */
static bool key_schema(const struct config *root, const char *schema)
{
    const struct shard_tables *t = &root->key_tables;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].schema, schema) == 0)
            return true;
    }
    for (size_t i = 0; i < t->n_ref; i++) {
        if (strcmp(t->ref[i].schema, schema) == 0)
            return true;
    }
    return false;
}

bool session_schema_here(const struct session *s, const char *schema)
{
    if (!s->listener->shards || schema == NULL || shard_is_system(schema) ||
        key_schema(config_root_c(s->cfg), schema))
        return true;
    const struct shard_schema *e = shard_find(session_map(s), schema);
    if (e != NULL && e->other != SHARD_NO_GROUP)
        return false;
    return (e != NULL ? e->group : default_group(s)) == cur_group(s);
}

const char *session_login_db(const struct session *s)
{
    return session_schema_here(s, s->who.db) ? s->who.db : NULL;
}

/* Keep what the refusal's ERR says (the names outlive the statement's
 * buffers); false when out of memory. */
static bool refusal_note(struct session *s, const struct shard_out *out, const char *why)
{
    if (s->feat.groups->shard_ref == NULL &&
        (s->feat.groups->shard_ref = malloc(sizeof(*s->feat.groups->shard_ref))) == NULL)
        return false;
    struct shard_refusal *r = s->feat.groups->shard_ref;
    const struct config *root = config_root_c(s->cfg);
    memset(r, 0, sizeof(*r));
    r->verdict = out->verdict;
    uint16_t g1 = out->verdict == SHARD_GO ? cur_group(s) : out->group;
    snprintf(r->group, sizeof(r->group), "%s", g1 < root->n_groups ? root->groups[g1].name : "?");
    snprintf(r->other, sizeof(r->other), "%s",
             out->other < root->n_groups ? root->groups[out->other].name : "?");
    snprintf(r->schema, sizeof(r->schema), "%s", out->schema != NULL ? out->schema : "");
    snprintf(r->schema2, sizeof(r->schema2), "%s", out->schema2 != NULL ? out->schema2 : "");
    r->why = why;
    r->by_key = out->by_key;
    return true;
}

/* A statement by key that does not run on one group (shard_key.h): the
 * ERR it gets, kept in s->feat.groups->shard_ref; false when out of memory. Fan-out
 * (KEY_SCATTER, KEY_ALL, KEY_SPLIT) is not built yet: refused, naming the
 * table. */
static bool key_refusal(struct session *s, const struct key_out *ko)
{
    if (s->feat.groups->shard_ref == NULL &&
        (s->feat.groups->shard_ref = malloc(sizeof(*s->feat.groups->shard_ref))) == NULL)
        return false;
    struct shard_refusal *r = s->feat.groups->shard_ref;
    memset(r, 0, sizeof(*r));
    r->by_key = true;
    const struct config *root = config_root_c(s->cfg);
    const struct shard_table *x = ko->table >= 0 ? &root->key_tables.v[ko->table] : NULL;
    switch (ko->verdict) {
    case KEY_REFUSE:
        snprintf(r->key_why, sizeof(r->key_why), "%.255s", ko->why);
        break;
    case KEY_SCATTER:
        snprintf(r->key_why, sizeof(r->key_why),
                 "halyard: a read of sharded table %.64s without a usable %.64s.%.64s would run on "
                 "every group: not supported yet",
                 x != NULL ? x->table : ko->why, x != NULL ? x->table : "",
                 x != NULL ? x->key : "");
        break;
    case KEY_ALL:
        snprintf(
            r->key_why, sizeof(r->key_why),
            "halyard: this statement on %s %.130s would run on every group (%s): not supported "
            "yet",
            x != NULL ? "sharded table" : "reference table", ko->why,
            x != NULL ? "DDL on a sharded table" : "a write to a reference table");
        break;
    case KEY_SPLIT:
        snprintf(r->key_why, sizeof(r->key_why),
                 "halyard: INSERT into sharded table %.130s has rows for more than one group: not "
                 "supported yet; insert each group's rows apart",
                 x != NULL ? x->table : ko->why);
        break;
    case KEY_NONE:
    case KEY_ONE:
    case KEY_PARAMS:
        snprintf(r->key_why, sizeof(r->key_why), "halyard: %.255s: no usable key", ko->why);
        break;
    }
    return true;
}

/* Count a move to group g, or a statement for it refused (show shards). */
static void group_count(const struct session *s, uint16_t g, bool move)
{
    const struct config *root = config_root_c(s->cfg);
    struct group_stats *gs = g < root->n_groups ? stats_group(root->groups[g].name) : NULL;
    if (gs != NULL)
        atomic_fetch_add_explicit(move ? &gs->moves_in : &gs->refused, 1, memory_order_relaxed);
}

static uint32_t shard_route(struct session *s, const char *text, size_t len, unsigned how,
                            const char *schema, const struct key_out *key);

uint32_t session_shard_route(struct session *s, const char *text, size_t len, unsigned how)
{
    return shard_route(s, text, len, how, session_schema(s), NULL);
}

enum hook_verdict session_shard_route_stmt(struct session *s, const struct hook_route *hr,
                                           uint32_t *to)
{
    if (!s->listener->shards)
        return HOOK_PASS;
    const struct classify_result *r = hr->r;
    if (r == NULL) /* USE by command: to the database's group first */
        *to = session_shard_route(s, (const char *)hr->p + 1, hr->len - 1, SHARD_DB);
    else {
        /* To the statement's group first, then inside it as always. A
         * statement about the session or the previous one (which ran on
         * the group the session is on) stays. */
        bool stays = r->kind == CL_EMPTY || r->kind == CL_SESSION || r->kind == CL_TXN_END ||
                     r->kind == CL_TXN_SAVEPOINT ||
                     (r->flags & (CLF_PREV_STMT | CLF_DIAG | CLF_LAST_INSERT_ID));
        unsigned how = (stays ? SHARD_STAYS : 0) |
                       (hr->cmd == COM_STMT_PREPARE ? SHARD_PREPARE : 0) |
                       (hr->cmd == COM_QUERY && hr->fits ? SHARD_FANOUT_OK : 0);
        *to = session_shard_route(s, (const char *)hr->p + 1, hr->avail - 1, how);
    }
    return *to != UINT32_MAX ? HOOK_TAKEN : HOOK_PASS;
}

uint32_t session_shard_route_schema(struct session *s, const char *text, size_t len,
                                    const char *schema, const struct key_out *key)
{
    return shard_route(s, text, len, 0, schema, key);
}

/* The character set of session variable `var` (character_set_client,
 * character_set_connection): as the client set it, else the login's. */
static enum key_cs session_cs(const struct session *s, const char *var)
{
    struct varstate_value v;
    if (s->vars.vs != NULL && varstate_get(s->vars.vs, VS_SYSTEM, var, strlen(var), &v))
        return v.type == VS_STRING && !v.null ? shard_key_cs_by_name((const char *)v.data, v.len)
                                              : KEY_CS_UNKNOWN;
    return shard_key_cs_by_id(s->who.charset);
}

/* The character set of a statement's string literals and string
 * parameters (shard_key.h key_in.text_cs): they are sent in
 * character_set_client and converted to character_set_connection; when
 * the two differ only ASCII text is known to stay the same bytes. */
static enum key_cs literal_cs(const struct session *s)
{
    enum key_cs client = session_cs(s, "character_set_client");
    enum key_cs conn = session_cs(s, "character_set_connection");
    return client == conn ? conn : KEY_CS_UNKNOWN;
}

uint8_t session_shard_text_cs(const struct session *s)
{
    return (uint8_t)literal_cs(s);
}

static enum key_cs text_cs(const struct session *s)
{
    if (!config_root_c(s->cfg)->key_tables.any_string)
        return KEY_CS_UNKNOWN; /* integer keys only: not looked at */
    return literal_cs(s);
}

/* Whether the statement names LAST_INSERT_ID() or a variable of it. */
static bool text_names_lid(const struct session *s, const char *text, size_t len)
{
    struct classify_result *r = malloc(sizeof(*r));
    if (r == NULL)
        return true; /* refused rather than run wrong */
    classify(text, len, s->route.lex_opts, r, NULL);
    bool named = (r->flags & CLF_LAST_INSERT_ID) != 0;
    free(r);
    return named;
}

/* Whether the session's state has `insert_id` (the next generated id) at a
 * value other than 0: each group's connection would get it. */
static bool insert_id_set(const struct session *s)
{
    struct varstate_value v;
    if (s->vars.vs == NULL || !varstate_get(s->vars.vs, VS_SYSTEM, "insert_id", 9, &v))
        return false;
    if (v.null || v.type == VS_DEFAULT)
        return false;
    bool zero = (v.type == VS_INT || v.type == VS_UINT) && v.len > 0;
    for (size_t i = 0; zero && i < v.len; i++)
        zero = v.data[i] == '0';
    return !zero;
}

/* A statement by key on every group (KEY_SCATTER: a read, merged;
 * KEY_ALL: the same text on every group; KEY_SPLIT: each group's rows of
 * an INSERT), run by session_fanout.c: ROUTE_FANOUT. */
static uint32_t key_fanout(struct session *s, const struct key_out *ko, const char *text,
                           size_t len, const char *schema)
{
    const struct config *root = config_root_c(s->cfg);
    const struct shard_table *x = ko->table >= 0 ? &root->key_tables.v[ko->table] : NULL;
    if (ko->verdict == KEY_SCATTER) {
        char about[300];
        snprintf(about, sizeof(about), "sharded table %.64s without a usable %.64s.%.64s",
                 x != NULL ? x->table : ko->why, x != NULL ? x->table : "",
                 x != NULL ? x->key : "");
        return session_fanout_prepare_joined(s, text, len, about, ko->ref_join);
    }
    bool dml = ko->write || ko->verdict == KEY_SPLIT;
    if (dml && text_names_lid(s, text, len))
        return session_fanout_refuse(
            s, "halyard: a write on several groups that names LAST_INSERT_ID() (or @@identity, "
               "@@insert_id, @@last_insert_id) would read each group's connection's value, not "
               "the session's: refused");
    if (dml && insert_id_set(s))
        return session_fanout_refuse(
            s, "halyard: a write on several groups after SET insert_id: each group would give "
               "that id to its first row: refused (SET insert_id = 0 or DEFAULT first)");
    size_t n = root->n_groups;
    char **texts = calloc(n > 0 ? n : 1, sizeof(*texts));
    size_t *lens = calloc(n > 0 ? n : 1, sizeof(*lens));
    uint32_t *first = calloc(n > 0 ? n : 1, sizeof(*first));
    uint32_t *last = calloc(n > 0 ? n : 1, sizeof(*last));
    bool ok = texts != NULL && lens != NULL && first != NULL && last != NULL;
    struct key_in kin = {.tables = &root->key_tables,
                         .sql = text,
                         .len = len,
                         .opts = s->route.lex_opts,
                         .schema = schema,
                         .text_cs = text_cs(s)};
    for (size_t g = 0; ok && g < n; g++) {
        size_t cap = len + 256;
        texts[g] = malloc(cap);
        if (texts[g] == NULL) {
            ok = false;
            break;
        }
        if (ko->verdict == KEY_ALL) {
            memcpy(texts[g], text, len);
            lens[g] = len;
            continue;
        }
        bool fits = true;
        lens[g] =
            shard_key_split_rows(&kin, (uint16_t)g, texts[g], cap, &fits, &first[g], &last[g]);
        if (!fits) {
            ok = false;
            break;
        }
        if (lens[g] == 0) {
            free(texts[g]);
            texts[g] = NULL;
        }
    }
    uint32_t rc;
    if (ok) {
        rc = session_fanout_prepare_write(s, texts, lens, dml, ko->verdict == KEY_SPLIT);
        /* LAST_INSERT_ID() after it is the session's (a DDL's is not) */
        if (rc == ROUTE_FANOUT && dml && ko->verdict == KEY_SPLIT)
            session_fanout_want_lid(s, first, last, x != NULL ? x->schema : NULL,
                                    x != NULL ? x->table : NULL, text, len);
        else if (rc == ROUTE_FANOUT && dml)
            session_fanout_want_lid(s, NULL, NULL, NULL, NULL, NULL, 0);
    } else {
        session_mark_closing(s, END_NOMEM);
        rc = s->route.primary;
    }
    for (size_t g = 0; texts != NULL && g < n; g++)
        free(texts[g]);
    free(texts);
    free(lens);
    free(first);
    free(last);
    return rc;
}

/* Count a statement routed by its key to group g (show shards, metrics). */
static void key_count(const struct session *s, uint16_t g)
{
    const struct config *root = config_root_c(s->cfg);
    struct group_stats *gs = g < root->n_groups ? stats_group(root->groups[g].name) : NULL;
    if (gs != NULL)
        atomic_fetch_add_explicit(&gs->key_routed, 1, memory_order_relaxed);
}

static uint32_t shard_route(struct session *s, const char *text, size_t len, unsigned how,
                            const char *schema, const struct key_out *key)
{
    bool sure_db = how & SHARD_DB, prepare = how & SHARD_PREPARE, fanout_ok = how & SHARD_FANOUT_OK;
    const struct config *kroot = config_root_c(s->cfg);
    struct key_out ko;
    if (key == NULL && !sure_db && (kroot->key_tables.n > 0 || kroot->key_tables.n_ref > 0)) {
        struct key_in kin = {.tables = &kroot->key_tables,
                             .sql = text,
                             .len = len,
                             .opts = s->route.lex_opts,
                             .schema = schema,
                             .prepared = prepare,
                             .text_cs = text_cs(s)};
        shard_key_decide(&kin, &ko);
        if (prepare && ko.verdict != KEY_REFUSE)
            ko.verdict = KEY_NONE; /* prepared anywhere; each EXECUTE goes by its key */
        key = &ko;
    }
    if (key != NULL && fanout_ok &&
        (key->verdict == KEY_SCATTER || key->verdict == KEY_ALL || key->verdict == KEY_SPLIT))
        return key_fanout(s, key, text, len, schema);
    if (key != NULL && key->verdict != KEY_NONE && key->verdict != KEY_ONE) {
        if (!key_refusal(s, key)) {
            session_mark_closing(s, END_NOMEM);
            return s->route.primary;
        }
        slog_info(s, "refused by key: %s, %s", shard_key_verdict_to_str(key->verdict),
                  s->feat.groups->shard_ref->key_why);
        return ROUTE_SHARD;
    }
    const struct shard_table *kt =
        key != NULL && key->verdict == KEY_ONE ? &kroot->key_tables.v[key->table] : NULL;
    char key_table[2 * CLASSIFY_NAME_MAX + 2];
    if (kt != NULL)
        snprintf(key_table, sizeof(key_table), "%s.%s", kt->schema, kt->table);
    struct named_set ns;
    ns.n = 0;
    if (sure_db)
        (void)named_add(&ns, text, len, true);
    else
        (void)classify_schemas(text, len, s->route.lex_opts, named_add, &ns);
    bool in_trans = (s->route.status & SERVER_STATUS_IN_TRANS) || s->route.ro_idx >= 0 ||
                    s->feat.groups->xa != NULL;
    const struct config *root = config_root_c(s->cfg);
    /* A new learned map from the next statement outside a transaction. */
    const struct shard_map *map = root->shards_learn
                                      ? shard_snap_map(&s->feat.groups->shard_snap, root, in_trans)
                                      : &root->shards;
    struct shard_in in = {
        .map = map,
        .named = ns.v,
        .n_named = ns.n,
        .stays = (how & SHARD_STAYS) != 0,
        .schema = schema,
        .dflt = default_group(s),
        .cur = cur_group(s),
        /* a transaction across groups (session_xa.c) may cross over; one
         * whose BEGIN has not run yet (session_begin.c) is on no group */
        .in_trans = in_trans && s->feat.groups->xa == NULL && s->feat.groups->begin_sql[0] == '\0',
        .held = s->route.pinned ? (s->route.pin_why != NULL ? s->route.pin_why : "pinned") : NULL,
        .by_key = kt != NULL,
        .key_group = kt != NULL ? key->group : 0,
        .key_table = kt != NULL ? key_table : NULL,
        .key_schema = kt != NULL ? kt->schema : NULL,
    };
    struct shard_out out;
    shard_decide(&in, &out);
    if (out.verdict != SHARD_GO) {
        if (!refusal_note(s, &out, in.held)) {
            session_mark_closing(s, END_NOMEM);
            return s->route.primary;
        }
        if (out.verdict == SHARD_CROSS_TRX || out.verdict == SHARD_HELD) {
            /* the error names the session's group first */
            snprintf(s->feat.groups->shard_ref->other, sizeof(s->feat.groups->shard_ref->other),
                     "%s", group_of(s->cfg)->name);
        }
        slog_info(s, "refused by group: %s, schema %s, group %s", shard_verdict_to_str(out.verdict),
                  s->feat.groups->shard_ref->schema, s->feat.groups->shard_ref->group);
        group_count(s, out.group, false);
        return ROUTE_SHARD;
    }
    if (kt != NULL)
        key_count(s, out.group);
    if (out.group == in.cur)
        return UINT32_MAX;
    struct config *to = group_view(config_root(s->cfg), out.group);
    slog_debug(s, "schema %s: moving from group %s to group %s", out.schema ? out.schema : "",
               group_of(s->cfg)->name, group_of(to)->name);
    if (!session_view_move(s, to)) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    group_count(s, out.group, true);
    route_group_changed(s); /* consistency = causal: a GTID position is one group's */
    return UINT32_MAX;
}

void session_shard_refuse(struct session *s)
{
    const struct shard_refusal *r = s->feat.groups->shard_ref;
    if (r->key_why[0] != '\0') {
        session_err_custom(s, 1, 1105, "HY000", r->key_why);
        return;
    }
    if (r->by_key && r->verdict == SHARD_CROSS_TRX) {
        session_err(s, 1, SERR_SHARD_KEY_CROSS_TRX, r->other, r->group, r->schema, r->other);
        return;
    }
    switch (r->verdict) {
    case SHARD_CONFLICT:
        session_err(s, 1, SERR_SHARD_CONFLICT, r->schema, r->group, r->other);
        break;
    case SHARD_TWO_GROUPS:
        session_err(s, 1, SERR_SHARD_TWO_GROUPS, r->schema, r->group, r->schema2, r->other);
        break;
    case SHARD_CROSS_TRX:
        session_err(s, 1, SERR_SHARD_CROSS_TRX, r->other, r->group, r->schema, r->other);
        break;
    case SHARD_HELD:
        session_err(s, 1, SERR_SHARD_HELD, r->other, r->why != NULL ? r->why : "", r->group,
                    r->schema);
        break;
    case SHARD_GO:
        break;
    }
}

bool session_shard_login(struct session *s, uint8_t seq)
{
    if (!s->listener->shards || s->who.db == NULL)
        return true;
    uint32_t rc = session_shard_route(s, s->who.db, strlen(s->who.db), SHARD_DB);
    if (s->state == SS_CLOSING)
        return false;
    if (rc == ROUTE_SHARD) {
        const struct shard_refusal *r = s->feat.groups->shard_ref;
        slog_info(s, "login refused: schema %s is on groups %s and %s", r->schema, r->group,
                  r->other);
        session_err(s, seq, SERR_SHARD_CONFLICT, r->schema, r->group, r->other);
        session_mark_closing(s, END_BACKEND_LOGIN);
        return false;
    }
    return true;
}

/* A string table's key parameter: its group, when its bytes are the
 * column's (a CHAR/VARCHAR parameter in the session's character set, a
 * BLOB one as binary); a number is no key (compared as a number). */
static bool param_key_str(const struct session *s, const struct shard_table *x,
                          const struct mysql_param *v, uint16_t *g)
{
    if (v->kind != MP_STR || v->len > KEY_STR_MAX)
        return false;
    /* a client's parameter is never of type ENUM or SET */
    if (!mysql_type_is_string(v->type) || v->type == MYSQL_TYPE_ENUM || v->type == MYSQL_TYPE_SET)
        return false;
    enum key_cs cs = mysql_type_is_blob(v->type) ? KEY_CS_BINARY : text_cs(s);
    if (!shard_key_str_exact(x, cs, v->s, v->len))
        return false;
    *g = shard_key_str_group(x, v->s, v->len);
    return true;
}

/* A key parameter's value: an integer, or a string of digits below 2^53
 * (the server compares a string with an integer column as a double). */
static bool param_key(const struct mysql_param *v, int64_t *out)
{
    switch (v->kind) {
    case MP_INT:
        *out = v->i;
        return true;
    case MP_UINT:
        *out = (int64_t)v->u;
        return v->u <= INT64_MAX;
    case MP_STR:
        return shard_key_string((const char *)v->s, v->len, out);
    case MP_NULL:
    case MP_OTHER:
        break;
    }
    return false;
}

/* Whether two decisions route alike (verdict, group, key values). */
static bool same_route(const struct key_out *a, const struct key_out *b)
{
    if (a->verdict != b->verdict || a->group != b->group || a->params.n != b->params.n ||
        a->params.any_of != b->params.any_of)
        return false;
    for (size_t i = 0; i < a->params.n && i < KEY_MAX_PARAMS; i++) {
        if (a->params.param[i] != b->params.param[i] || a->params.lit[i] != b->params.lit[i])
            return false;
    }
    return true;
}

static void ps_key_refuse(struct key_out *ko, const struct shard_table *x, const char *what)
{
    ko->verdict = KEY_REFUSE;
    snprintf(ko->why, sizeof(ko->why), "halyard: %s on sharded table %.64s: %s",
             "a prepared statement", x != NULL ? x->table : "?", what);
}

enum ps_key session_shard_ps_key(struct session *s, struct pstmt *st, const uint8_t *p,
                                 uint32_t len, uint32_t avail, bool bulk, struct key_out *ko)
{
    const struct config *root = config_root_c(s->cfg);
    if (st->key == NULL || st->key_cfg != root->load_id) {
        if (st->key == NULL && (st->key = malloc(sizeof(*st->key))) == NULL)
            return PS_KEY_NOMEM;
        /* the text as the server read it at the PREPARE: its sql_mode, its
         * literals in the character set of then */
        struct key_in kin = {.tables = &root->key_tables,
                             .sql = st->sql,
                             .len = st->sql_len,
                             .opts = st->lex_opts,
                             .schema = st->db,
                             .prepared = true,
                             .text_cs = (enum key_cs)st->text_cs};
        shard_key_decide(&kin, st->key);
        /* whether that character set matters: with ASCII literals only
         * (KEY_CS_UNKNOWN) the decision would be another */
        st->key_cs_dep = false;
        if (st->text_cs != KEY_CS_UNKNOWN && root->key_tables.any_string) {
            struct key_out ascii;
            kin.text_cs = KEY_CS_UNKNOWN;
            shard_key_decide(&kin, &ascii);
            st->key_cs_dep = !same_route(st->key, &ascii);
        }
        st->key_cfg = root->load_id;
    }
    *ko = *st->key;
    if (st->key_cs_dep && literal_cs(s) != (enum key_cs)st->text_cs && ko->table >= 0) {
        /* MariaDB reads a prepared text again, after a table it names
         * changed, in the character set of that moment: which one the
         * server holds now cannot be known */
        const struct shard_table *x = &root->key_tables.v[ko->table];
        ko->verdict = KEY_REFUSE;
        snprintf(ko->why, sizeof(ko->why),
                 "halyard: sharded table %.48s: the prepared statement's %.48s literal is not "
                 "ASCII and the character set changed since its PREPARE: prepare it again",
                 x->table, x->key);
        return PS_KEY_OK;
    }
    if (ko->verdict != KEY_PARAMS)
        return PS_KEY_OK;
    const struct shard_table *x = &root->key_tables.v[ko->table];
    if (bulk) {
        ps_key_refuse(ko, x, "COM_STMT_BULK_EXECUTE with its key in parameters is not supported");
        return PS_KEY_OK;
    }
    if (avail < len) {
        if ((size_t)len + MYSQL_HEADER_SIZE <= (size_t)s->cfg->buffer_size)
            return PS_KEY_WAIT;
        ps_key_refuse(ko, x, "an EXECUTE larger than buffer_size: its key parameters are not read");
        return PS_KEY_OK;
    }
    struct mysql_stmt_exec ex;
    uint16_t groups[KEY_MAX_PARAMS] = {0};
    bool ok[KEY_MAX_PARAMS] = {false};
    bool head = mysql_stmt_exec_decode(p, len, st->n_params, &ex) == HY_OK;
    const uint8_t *types = head && ex.new_params_bound ? ex.types : st->types;
    for (size_t i = 0; head && st->ld_idx < 0 && i < ko->params.n; i++) {
        struct mysql_param v = {0};
        if (ko->params.param[i] == UINT16_MAX)
            continue;
        if (mysql_stmt_exec_param(p, len, &ex, st->n_params, types, ko->params.param[i], &v) !=
            HY_OK)
            continue;
        int64_t iv;
        if (x->type == KEY_TYPE_STRING)
            ok[i] = param_key_str(s, x, &v, &groups[i]);
        else if ((ok[i] = param_key(&v, &iv)))
            groups[i] = shard_key_group(x, iv);
    }
    shard_key_params_groups(&root->key_tables, ko, groups, ok);
    return PS_KEY_OK;
}
