/*
 * test_shard.c: routing by schema (shard.h): the schemas a statement names
 * (classify_schemas, table-driven: text in, names out), the group decision
 * (shard_decide, table-driven: names, session and map in, verdict out),
 * and the config's shards section (map, conflicts, errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/admin/admin.h"
#include "halyard/sql/classify.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "halyard/sql/shard.h"
#include "halyard/core/textbuf.h"

/* ---- classify_schemas ---------------------------------------------------- */

struct collect {
    char out[512]; /* "name" or "name!" (sure), space-separated */
};

static bool collect_fn(void *ctx, const char *name, size_t len, bool sure)
{
    struct collect *c = ctx;
    size_t n = strlen(c->out);
    snprintf(c->out + n, sizeof(c->out) - n, "%s%.*s%s", n > 0 ? " " : "", (int)len, name,
             sure ? "!" : "");
    return false;
}

static const struct {
    const char *sql;
    unsigned opts;
    const char *want;
} SCHEMA_CASES[] = {
    {"SELECT 1", 0, ""},
    {"SELECT * FROM t", 0, ""},
    {"SELECT * FROM s1.t", 0, "s1"},
    {"select a from `s 1`.`t`", 0, "s 1"},
    {"SELECT * FROM s1 . t", 0, "s1"},
    {"SELECT s1.t.c FROM s1.t", 0, "s1 s1"},
    {"SELECT x.c FROM t AS x", 0, "x"},
    {"SELECT * FROM a.t JOIN b.u ON a.t.id = b.u.id", 0, "a b a b"},
    {"INSERT INTO s2.t VALUES ('a.b', \"c.d\")", 0, "s2"},
    {"SELECT 1 /* s9.t */ -- s8.t\n", 0, ""},
    {"SELECT 1 /*!50000 FROM s7.t */", 0, "s7"},
    {"SELECT \"q\".t FROM dual", CLO_ANSI_QUOTES, "q"},
    {"SELECT \"q\".t FROM dual", 0, ""},
    {"SELECT `a``b`.t", 0, "a`b"},
    {"SELECT 1.5, .5, t.5", 0, "t"}, /* column `5` of t */
    {"USE s1", 0, "s1!"},
    {"use `my db`", 0, "my db!"},
    {"USE", 0, ""},
    {"CREATE DATABASE s3", 0, "s3!"},
    {"CREATE DATABASE IF NOT EXISTS s3", 0, "s3!"},
    {"CREATE OR REPLACE SCHEMA s3", 0, "s3!"},
    {"DROP DATABASE IF EXISTS `s4`", 0, "s4!"},
    {"ALTER DATABASE s5 CHARACTER SET utf8mb4", 0, "s5!"},
    {"ALTER DATABASE CHARACTER SET utf8mb4", 0, ""},
    {"SHOW CREATE DATABASE s6", 0, "s6!"},
    {"SHOW TABLES FROM s6", 0, "s6!"},
    {"SHOW FULL TABLES IN s6 LIKE 'x%'", 0, "s6!"},
    {"SHOW TABLE STATUS FROM s6", 0, "s6!"},
    {"SHOW COLUMNS FROM t", 0, ""},
    {"SHOW COLUMNS FROM s6.t", 0, "s6"},
    {"CREATE TABLE t (id INT)", 0, ""},
    {"GRANT SELECT ON s1.* TO u", 0, "s1"},
    {"SELECT 1; USE s2; SELECT * FROM s3.t", 0, "s2! s3"},
    {"SELECT @a.b, @@session.x", 0, ""},
    {"SELECT 'unterminated s1.t", 0, ""},
};

static void test_schemas(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(SCHEMA_CASES) / sizeof(SCHEMA_CASES[0]); i++) {
        struct collect c = {.out = ""};
        const char *sql = SCHEMA_CASES[i].sql;
        assert_false(classify_schemas(sql, strlen(sql), SCHEMA_CASES[i].opts, collect_fn, &c));
        if (strcmp(c.out, SCHEMA_CASES[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", sql, c.out, SCHEMA_CASES[i].want);
    }
}

static bool stop_fn(void *ctx, const char *name, size_t len, bool sure)
{
    (void)name;
    (void)len;
    (void)sure;
    (*(int *)ctx)++;
    return true;
}

static void test_schemas_stop_and_garbage(void **state)
{
    (void)state;
    int calls = 0;
    const char *sql = "SELECT * FROM a.t, b.t";
    assert_true(classify_schemas(sql, strlen(sql), 0, stop_fn, &calls));
    assert_int_equal(calls, 1);
    /* any bytes: no crash, NULs and all */
    unsigned char junk[256];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(i * 37 + 11);
    struct collect c = {.out = ""};
    (void)classify_schemas((const char *)junk, sizeof(junk), 0, collect_fn, &c);
    (void)classify_schemas("", 0, 0, collect_fn, &c);
    const char dotted[] = "a.\0b.c";
    (void)classify_schemas(dotted, sizeof(dotted) - 1, 0, collect_fn, &c);
}

/* ---- shard_decide ---------------------------------------------------------- */

/* groups: 0 = a, 1 = b, 2 = c; map: s1 -> a, s2 -> b, s3 -> c, dup -> a and b */
static struct shard_schema MAP_V[] = {
    {"dup", 0, 1, 1},
    {"s1", 0, SHARD_NO_GROUP, 2},
    {"s2", 1, SHARD_NO_GROUP, 3},
    {"s3", 2, SHARD_NO_GROUP, 4},
};
static const struct shard_map MAP = {MAP_V, 4};

#define N(x)                                                                                       \
    {                                                                                              \
        x, false                                                                                   \
    }
#define NS(x)                                                                                      \
    {                                                                                              \
        x, true                                                                                    \
    }

static const struct {
    const char *what;
    struct shard_name named[3];
    size_t n;
    bool stays;
    const char *schema;
    uint16_t cur;
    bool in_trans;
    const char *held;
    enum shard_verdict verdict;
    uint16_t group, other;
    const char *by, *by2;
} DECIDE[] = {
    {"nothing named, no schema: stays",
     {{0}},
     0,
     false,
     NULL,
     1,
     false,
     NULL,
     SHARD_GO,
     1,
     SHARD_NO_GROUP,
     NULL,
     NULL},
    {"qualified s2 from a",
     {N("s2")},
     1,
     false,
     NULL,
     0,
     false,
     NULL,
     SHARD_GO,
     1,
     SHARD_NO_GROUP,
     "s2",
     NULL},
    {"USE s3", {NS("s3")}, 1, false, "s1", 0, false, NULL, SHARD_GO, 2, SHARD_NO_GROUP, "s3", NULL},
    {"the session's schema decides",
     {{0}},
     0,
     false,
     "s2",
     0,
     false,
     NULL,
     SHARD_GO,
     1,
     SHARD_NO_GROUP,
     "s2",
     NULL},
    {"a qualified name wins over the schema",
     {N("s1")},
     1,
     false,
     "s2",
     1,
     false,
     NULL,
     SHARD_GO,
     0,
     SHARD_NO_GROUP,
     "s1",
     NULL},
    {"COMMIT stays whatever the schema",
     {{0}},
     0,
     true,
     "s2",
     0,
     true,
     NULL,
     SHARD_GO,
     0,
     SHARD_NO_GROUP,
     NULL,
     NULL},
    {"an alias the map does not know binds nothing",
     {N("x")},
     1,
     false,
     NULL,
     2,
     false,
     NULL,
     SHARD_GO,
     2,
     SHARD_NO_GROUP,
     NULL,
     NULL},
    {"an unmapped database goes to the default group",
     {NS("nosuch")},
     1,
     false,
     NULL,
     2,
     false,
     NULL,
     SHARD_GO,
     0,
     SHARD_NO_GROUP,
     "nosuch",
     NULL},
    {"an unmapped session schema: the default group",
     {{0}},
     0,
     false,
     "nosuch",
     1,
     false,
     NULL,
     SHARD_GO,
     0,
     SHARD_NO_GROUP,
     "nosuch",
     NULL},
    {"system schemas bind nothing",
     {N("mysql"), NS("INFORMATION_SCHEMA")},
     2,
     false,
     "performance_schema",
     2,
     false,
     NULL,
     SHARD_GO,
     2,
     SHARD_NO_GROUP,
     NULL,
     NULL},
    {"system and mapped",
     {N("sys"), N("s2")},
     2,
     false,
     NULL,
     0,
     false,
     NULL,
     SHARD_GO,
     1,
     SHARD_NO_GROUP,
     "s2",
     NULL},
    {"same group twice",
     {N("s2"), NS("s2")},
     2,
     false,
     NULL,
     0,
     false,
     NULL,
     SHARD_GO,
     1,
     SHARD_NO_GROUP,
     "s2",
     NULL},
    {"conflict named",
     {N("dup")},
     1,
     false,
     NULL,
     0,
     false,
     NULL,
     SHARD_CONFLICT,
     0,
     1,
     "dup",
     NULL},
    {"conflict as the session's schema",
     {{0}},
     0,
     false,
     "dup",
     0,
     false,
     NULL,
     SHARD_CONFLICT,
     0,
     1,
     "dup",
     NULL},
    {"conflict even with a good one first",
     {N("s1"), N("dup")},
     2,
     false,
     NULL,
     0,
     false,
     NULL,
     SHARD_CONFLICT,
     0,
     1,
     "dup",
     NULL},
    {"two groups",
     {N("s1"), N("x"), N("s3")},
     3,
     false,
     NULL,
     0,
     false,
     NULL,
     SHARD_TWO_GROUPS,
     0,
     2,
     "s1",
     "s3"},
    {"unmapped database and a mapped one",
     {NS("nosuch"), N("s2")},
     2,
     false,
     NULL,
     0,
     false,
     NULL,
     SHARD_TWO_GROUPS,
     0,
     1,
     "nosuch",
     "s2"},
    {"in a transaction, same group",
     {N("s1")},
     1,
     false,
     "s1",
     0,
     true,
     NULL,
     SHARD_GO,
     0,
     SHARD_NO_GROUP,
     "s1",
     NULL},
    {"in a transaction, another group",
     {N("s2")},
     1,
     false,
     "s1",
     0,
     true,
     NULL,
     SHARD_CROSS_TRX,
     1,
     SHARD_NO_GROUP,
     "s2",
     NULL},
    {"in a transaction, schema of another group",
     {{0}},
     0,
     false,
     "s3",
     0,
     true,
     NULL,
     SHARD_CROSS_TRX,
     2,
     SHARD_NO_GROUP,
     "s3",
     NULL},
    {"held state, another group",
     {NS("s2")},
     1,
     false,
     NULL,
     0,
     false,
     "temporary table",
     SHARD_HELD,
     1,
     SHARD_NO_GROUP,
     "s2",
     NULL},
    {"held state, same group",
     {N("s1")},
     1,
     false,
     NULL,
     0,
     false,
     "temporary table",
     SHARD_GO,
     0,
     SHARD_NO_GROUP,
     "s1",
     NULL},
};

static void test_decide(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(DECIDE) / sizeof(DECIDE[0]); i++) {
        struct shard_in in = {
            .map = &MAP,
            .named = DECIDE[i].named,
            .n_named = DECIDE[i].n,
            .stays = DECIDE[i].stays,
            .schema = DECIDE[i].schema,
            .dflt = 0,
            .cur = DECIDE[i].cur,
            .in_trans = DECIDE[i].in_trans,
            .held = DECIDE[i].held,
        };
        struct shard_out out;
        shard_decide(&in, &out);
        const char *w = DECIDE[i].what;
        if (out.verdict != DECIDE[i].verdict || out.group != DECIDE[i].group)
            fail_msg("%s: verdict %d group %u, want %d group %u", w, (int)out.verdict, out.group,
                     (int)DECIDE[i].verdict, DECIDE[i].group);
        if (DECIDE[i].verdict == SHARD_CONFLICT || DECIDE[i].verdict == SHARD_TWO_GROUPS)
            assert_int_equal(out.other, DECIDE[i].other);
        if ((out.schema == NULL) != (DECIDE[i].by == NULL) ||
            (out.schema != NULL && strcmp(out.schema, DECIDE[i].by) != 0))
            fail_msg("%s: schema %s, want %s", w, out.schema ? out.schema : "(none)",
                     DECIDE[i].by ? DECIDE[i].by : "(none)");
        if (DECIDE[i].by2 != NULL)
            assert_string_equal(out.schema2, DECIDE[i].by2);
    }
}

/* A key-sharded statement (shard_key.h): the key's group decides in place
 * of the schemas, under the same transaction rules; names of the sharded
 * table's schema (on every group) bind nothing. */
static void test_decide_key(void **state)
{
    (void)state;
    static const struct shard_name s1_and_s2[] = {N("s1"), N("s2")};
    static const struct shard_name s1[] = {N("s1")};
    struct shard_in in = {.map = &MAP,
                          .named = s1,
                          .n_named = 1,
                          .schema = "s1",
                          .cur = 0,
                          .by_key = true,
                          .key_group = 2,
                          .key_table = "s1.orders",
                          .key_schema = "s1"};
    struct shard_out out;
    /* s1 is mapped to group 0; the key says group 2: it runs on 2 */
    shard_decide(&in, &out);
    assert_int_equal(out.verdict, SHARD_GO);
    assert_int_equal(out.group, 2);
    assert_true(out.by_key);
    assert_string_equal(out.schema, "s1.orders");
    /* the same statement, the session on group 2 already */
    in.cur = 2;
    shard_decide(&in, &out);
    assert_int_equal(out.verdict, SHARD_GO);
    assert_int_equal(out.group, 2);
    /* a transaction open on group 0: refused, for group 2 */
    in.cur = 0;
    in.in_trans = true;
    shard_decide(&in, &out);
    assert_int_equal(out.verdict, SHARD_CROSS_TRX);
    assert_int_equal(out.group, 2);
    assert_true(out.by_key);
    assert_string_equal(out.schema, "s1.orders");
    /* ... and held state */
    in.in_trans = false;
    in.held = "temporary table";
    shard_decide(&in, &out);
    assert_int_equal(out.verdict, SHARD_HELD);
    in.held = NULL;
    /* a statement also naming s2 (group 1): two groups */
    in.named = s1_and_s2;
    in.n_named = 2;
    shard_decide(&in, &out);
    assert_int_equal(out.verdict, SHARD_TWO_GROUPS);
    assert_int_equal(out.group, 2);
    assert_int_equal(out.other, 1);
    /* without by_key, s1 decides as before */
    in.by_key = false;
    in.named = s1;
    in.n_named = 1;
    shard_decide(&in, &out);
    assert_int_equal(out.verdict, SHARD_GO);
    assert_int_equal(out.group, 0);
    assert_false(out.by_key);
}

static void test_find(void **state)
{
    (void)state;
    assert_ptr_equal(shard_find(&MAP, "s2"), &MAP_V[2]);
    assert_ptr_equal(shard_find(&MAP, "dup"), &MAP_V[0]);
    assert_null(shard_find(&MAP, "S2")); /* names are case-sensitive, as on Linux */
    assert_null(shard_find(&MAP, "s0"));
    assert_null(shard_find(&MAP, NULL));
    assert_string_equal(shard_verdict_to_str(SHARD_CROSS_TRX), "cross_group_transaction");
    assert_string_equal(shard_verdict_to_str(SHARD_CONFLICT), "conflict");
    assert_true(shard_is_system("Information_Schema"));
    assert_false(shard_is_system("sysx"));
}

/* ---- shard_map_merge (shards.learn) ---------------------------------------- */

static void test_merge(void **state)
{
    (void)state;
    /* the config: s1 -> a, dup -> a and b; the groups list what they hold */
    char *la[] = {"information_schema", "s1", "x", "shared", "dup", "mysql"};
    char *lb[] = {"shared", "y", "s1", "sys", "dup", "performance_schema"};
    char **lists[3] = {la, lb, NULL}; /* c not read yet */
    size_t n[3] = {6, 6, 0};
    struct shard_map m;
    assert_int_equal(shard_map_merge(&MAP, lists, n, 3, &m), HY_OK);
    /* config's dup, s1, s2, s3; learned shared (conflict), x, y */
    static const struct {
        const char *name;
        uint16_t group, other;
        bool learned;
    } want[] = {
        {"dup", 0, 1, false},
        {"s1", 0, SHARD_NO_GROUP, false},
        {"s2", 1, SHARD_NO_GROUP, false},
        {"s3", 2, SHARD_NO_GROUP, false},
        {"shared", 0, 1, true},
        {"x", 0, SHARD_NO_GROUP, true},
        {"y", 1, SHARD_NO_GROUP, true},
    };
    assert_int_equal(m.n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < m.n; i++) {
        assert_string_equal(m.v[i].name, want[i].name);
        assert_int_equal(m.v[i].group, want[i].group);
        assert_int_equal(m.v[i].other, want[i].other);
        assert_int_equal(m.v[i].learned, want[i].learned);
    }
    assert_ptr_equal(shard_find(&m, "x"), &m.v[5]);
    shard_map_free(&m);
    assert_int_equal(m.n, 0);
    /* nothing read at all: the config's map */
    char **none[1] = {NULL};
    size_t n0[1] = {0};
    assert_int_equal(shard_map_merge(&MAP, none, n0, 1, &m), HY_OK);
    assert_int_equal(m.n, MAP.n);
    shard_map_free(&m);
}

/* ---- the config -------------------------------------------------------------- */

#define HASH "*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3"
#define BASE                                                                                       \
    "listeners = ( { name = \"s\"; address = \"127.0.0.1\"; port = 6033; group = \"b\"; "          \
    "shards = true; },\n"                                                                          \
    "  { name = \"p\"; address = \"127.0.0.1\"; port = 6034; } );\n"                               \
    "users = ( { name = \"app\"; password_hash = \"" HASH "\"; } );\n"                             \
    "backends = ( { name = \"a1\"; address = \"h\"; port = 1; role = \"primary\"; },\n"            \
    "  { name = \"b1\"; address = \"h\"; port = 2; role = \"primary\"; } );\n"                     \
    "groups = ( { name = \"a\"; backends = [ \"a1\" ]; }, { name = \"b\"; backends = [ \"b1\" ]; " \
    "} );\n"

static void test_config(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    const char *text = BASE "shards = { schemas = (\n"
                            "  { schema = \"zeta\"; group = \"b\"; },\n"
                            "  { schema = \"alpha\"; group = \"a\"; },\n"
                            "  { schema = \"both\"; group = \"a\"; },\n"
                            "  { schema = \"both\"; group = \"b\"; } ); };\n";
    assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    assert_true(cfg->listeners[0].shards);
    assert_false(cfg->listeners[1].shards);
    assert_int_equal(cfg->listeners[0].group, 1);
    assert_int_equal(cfg->shards.n, 3);
    const struct shard_schema *e = shard_find(&cfg->shards, "alpha");
    assert_non_null(e);
    assert_int_equal(e->group, 0);
    assert_int_equal(e->other, SHARD_NO_GROUP);
    assert_int_equal(e->line, 9);
    e = shard_find(&cfg->shards, "both");
    assert_non_null(e);
    assert_int_equal(e->group, 0);
    assert_int_equal(e->other, 1);
    e = shard_find(&cfg->shards, "zeta");
    assert_non_null(e);
    assert_int_equal(e->group, 1);
    /* a view shares its config's map */
    assert_ptr_equal(group_view(cfg, 1)->shards.v, cfg->shards.v);

    /* show shards, from the map and given counters */
    struct admin_shard_group_row rows[2] = {
        {"a", 2, 1, 120, 3, 7, 2, 0, 5},
        {"b", 2, 1, 45, 0, 4, 1, 0, 5},
    };
    struct textbuf sb;
    textbuf_init(&sb, 1 << 16);
    admin_render_shards(&sb, cfg, &cfg->shards, rows, 2, false);
    assert_string_equal(
        sb.data, "schema  group  from    conflict\n"
                 "alpha   a      config  -\n"
                 "both    a      config  also on b: refused\n"
                 "zeta    b      config  -\n"
                 "\n"
                 "group  schemas  conflicts  statements  errors  moves_in  refused  by_key  "
                 "scatters\n"
                 "a      2        1          120         3       7         2        0       5\n"
                 "b      2        1          45          0       4         1        0       5\n");
    textbuf_free(&sb);
    textbuf_init(&sb, 1 << 16);
    admin_render_shards(&sb, cfg, &cfg->shards, rows, 1, true);
    assert_string_equal(
        sb.data,
        "{\"schemas\":[{\"schema\":\"alpha\",\"group\":\"a\",\"conflict\":null,"
        "\"from\":\"config\",\"learned\":false,\"line\":9},{\"schema\":\"both\",\"group\":\"a\","
        "\"conflict\":\"b\",\"from\":\"config\",\"learned\":false,\"line\":10},{\"schema\":"
        "\"zeta\","
        "\"group\":\"b\",\"conflict\":null,\"from\":\"config\",\"learned\":false,\"line\":8}],"
        "\"groups\":[{\"group\":\"a\",\"schemas\":2,\"conflicts\":1,"
        "\"statements\":120,\"errors\":3,\"moves_in\":7,\"refused\":2,"
        "\"by_key\":0,\"scatters\":5}],\"tables\":[],\"reference\":[]}\n");
    textbuf_free(&sb);
    config_put(cfg);

    static const struct {
        const char *shards;
        const char *want;
    } BAD[] = {
        {"shards = { schemas = ( { schema = \"x\"; group = \"nope\"; } ); };",
         "t.conf:7: shards.schemas.[0].group: \"nope\" is not the name of a group"},
        {"shards = { schemas = ( { schema = \"mysql\"; group = \"a\"; } ); };",
         "t.conf:7: shards.schemas.[0].schema: \"mysql\" is a system schema, on every group: it "
         "cannot be mapped"},
        {"shards = { schemas = ( { schema = \"x\"; group = \"a\"; },\n"
         "{ schema = \"x\"; group = \"a\"; } ); };",
         "t.conf:8: shards.schemas.[1].schema: \"x\" is listed twice for group \"a\""},
        {"shards = { schemas = ( { schema = \"\"; group = \"a\"; } ); };", "shards.schemas.[0]"},
        {"shards = { schemas = ( { group = \"a\"; } ); };", "schema"},
        {"shards = { cross_group_transactions = \"xa\"; xa_log = \"\"; };",
         "t.conf:7: shards.cross_group_transactions: \"xa\" needs a file to log its commit "
         "decisions to: set shards.xa_log"},
        {"shards = { cross_group_transactions = \"xa\"; xa_log = \"rel/xa.log\"; };",
         "t.conf:7: shards.xa_log: \"rel/xa.log\" is not an absolute path"},
        {"shards = { cross_group_transactions = \"xa\"; xa_log = \"/tmp/xa.log\"; };",
         "t.conf:7: shards.cross_group_transactions: \"xa\" resolves what a crash leaves in "
         "doubt by logging in to each group's primary as the group's monitor account: set "
         "monitor.user (group \"a\" has none)"},
        {"shards = { cross_group_transactions = \"two-phase\"; };",
         "shards.cross_group_transactions"},
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        char buf[2048];
        snprintf(buf, sizeof(buf), "%s%s\n", BASE, BAD[i].shards);
        cfg = NULL;
        assert_int_equal(config_load_string(buf, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
        if (strstr(err, BAD[i].want) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", BAD[i].shards, err, BAD[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schemas), cmocka_unit_test(test_schemas_stop_and_garbage),
        cmocka_unit_test(test_decide),  cmocka_unit_test(test_decide_key),
        cmocka_unit_test(test_find),    cmocka_unit_test(test_merge),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
