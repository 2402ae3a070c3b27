/*
 * test_rules.c: query rules, table-driven.
 *
 *   - config: every rule error with its exact "FILE:LINE: KEY: why" message,
 *     and what valid rules load into (defaults, {name}, route targets)
 *   - rules_cidr_parse / rules_cidr_match: IPv4 and IPv6 edges, mapped
 *     addresses, prefixes that do not end on a byte
 *   - rules_match: first match wins, each condition alone and together,
 *     NULL inputs, with the JIT and with the interpreter, the match limit
 *   - hit counters: per worker, summed, the shared row past `workers`
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <arpa/inet.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_cases.h"

#include "halyard/sql/classify.h"
#include "halyard/config/config.h"
#include "halyard/config/rules.h"

/* Three lines: users app and admin, backends db1 (primary), db2, db3. */
#define BASE                                                                                       \
    "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 6033; } ); workers = 2;\n"   \
    "users = ( { name = \"app\"; password_hash = \"\"; }, { name = \"admin\"; password_hash = "    \
    "\"\"; } );\n"                                                                                 \
    "backends = ( { name = \"db1\"; address = \"h\"; port = 1; role = \"primary\"; }, { name = "   \
    "\"db2\"; address = \"h\"; port = 2; role = \"replica\"; }, { name = \"db3\"; address = "      \
    "\"h\"; port = 3; role = \"replica\"; } );\n"
/* Rules on line 4. */
#define RULES(body) BASE "rules = ( " body " );\n"

/* ---- config errors ----------------------------------------------------- */

static const struct bad_case bad_cases[] = {
    /* regexes: PCRE2's message and offset */
    {RULES("{ name = \"a\"; match_digest = \"^SELECT\"; route = \"replica\"; },\n"
           "{ name = \"b\"; match_digest = \"x\"; route = \"db2\"; },\n"
           "{ name = \"c\"; match_digest = \"^(SELECT\"; route = \"db2\"; }"),
     "t.conf:6: rules.[2].match_digest: bad regex at offset 8: missing closing parenthesis"},
    {RULES("{ name = \"a\"; match_text = \"abc\\\\\"; route = \"primary\"; }"),
     "t.conf:4: rules.[0].match_text: bad regex at offset 4: \\ at end of pattern"},
    {RULES("{ name = \"a\"; match_text = \"a{2,1}\"; route = \"primary\"; }"),
     "t.conf:4: rules.[0].match_text: bad regex at offset 5: numbers out of order in {} "
     "quantifier"},
    {RULES("{ name = \"a\"; match_text = \"(*UTF)x\"; route = \"primary\"; }"),
     "t.conf:4: rules.[0].match_text: bad regex at offset 6: using UTF is disabled by the "
     "application"},
    {RULES("{ name = \"a\"; match_digest = \"[z-a]\"; route = \"primary\"; }"),
     "t.conf:4: rules.[0].match_digest: bad regex at offset 3: range out of order in character "
     "class"},
    /* conditions */
    {RULES("{ name = \"a\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0]: no condition; give at least one of match_digest, match_text, user, "
     "users, schema, client, listener, no_where, tables"},
    {RULES("{ name = \"a\"; match_digest = \"\"; user = \"\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0]: no condition; give at least one of match_digest, match_text, user, "
     "users, schema, client, listener, no_where, tables"},
    {RULES("{ name = \"a\"; user = \"app\"; users = [\"app\"]; route = \"replica\"; }"),
     "t.conf:4: rules.[0].users: give user or users, not both"},
    {RULES("{ name = \"a\"; users = [\"app\", \"bob\"]; route = \"replica\"; }"),
     "t.conf:4: rules.[0].users: no user \"bob\" in users"},
    {RULES("{ name = \"a\"; users = [3]; route = \"replica\"; }"),
     "t.conf:4: rules.[0].users: element 0: expected a string, got an integer"},
    {RULES("{ name = \"a\"; no_where = [\"\"]; action = \"block\"; }"),
     "t.conf:4: rules.[0].no_where: element 0: length 0 is out of range 1..4096"},
    {RULES("{ name = \"a\"; no_where = \"orders\"; action = \"block\"; }"),
     "t.conf:4: rules.[0].no_where: expected an array of strings [ \"...\", ... ], got a string"},
    {RULES("{ name = \"a\"; user = \"App\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].user: no user \"App\" in users"},
    {RULES("{ name = \"a\"; client = \"10.0.0.0/33\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"10.0.0.0/33\": the prefix length after / must be a number "
     "from 0 to 32 for an IPv4 address"},
    {RULES("{ name = \"a\"; client = \"::/129\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"::/129\": the prefix length after / must be a number from 0 "
     "to 128 for an IPv6 address"},
    {RULES("{ name = \"a\"; client = \"10.0.0.0/\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"10.0.0.0/\": the prefix length after / must be a number from "
     "0 to 32 for an IPv4 address"},
    {RULES("{ name = \"a\"; client = \"10.0.0.0/+8\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"10.0.0.0/+8\": the prefix length after / must be a number "
     "from 0 to 32 for an IPv4 address"},
    {RULES("{ name = \"a\"; client = \"10.0.0.0/0008\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"10.0.0.0/0008\": the prefix length after / must be a number "
     "from 0 to 32 for an IPv4 address"},
    {RULES("{ name = \"a\"; client = \"10.1.2.3/8\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"10.1.2.3/8\": address bits are set past the /8 prefix (the "
     "network is 10.0.0.0/8)"},
    {RULES("{ name = \"a\"; client = \"192.168.1.128/24\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"192.168.1.128/24\": address bits are set past the /24 prefix "
     "(the network is 192.168.1.0/24)"},
    {RULES("{ name = \"a\"; client = \"2001:db8::1/64\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"2001:db8::1/64\": address bits are set past the /64 prefix "
     "(the network is 2001:db8::/64)"},
    {RULES("{ name = \"a\"; client = \"10.0.0.1/31\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"10.0.0.1/31\": address bits are set past the /31 prefix (the "
     "network is 10.0.0.0/31)"},
    {RULES("{ name = \"a\"; client = \"localhost\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"localhost\": not an IPv4 or IPv6 address, or ADDRESS/BITS"},
    {RULES("{ name = \"a\"; client = \"/8\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"/8\": not an IPv4 or IPv6 address, or ADDRESS/BITS"},
    {RULES("{ name = \"a\"; client = \"fe80::1%eth0\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"fe80::1%eth0\": not an IPv4 or IPv6 address, or ADDRESS/BITS"},
    {RULES("{ name = \"a\"; client = \"10.0.0\"; route = \"replica\"; }"),
     "t.conf:4: rules.[0].client: \"10.0.0\": not an IPv4 or IPv6 address, or ADDRESS/BITS"},
    /* actions */
    {RULES("{ name = \"a\"; user = \"app\"; }"),
     "t.conf:4: rules.[0].route: required when action = \"route\""},
    {RULES("{ name = \"a\"; user = \"app\";\n route = \"\"; }"),
     "t.conf:5: rules.[0].route: required when action = \"route\""},
    {RULES("{ name = \"a\"; user = \"app\"; route = \"db4\"; }"),
     "t.conf:4: rules.[0].route: \"db4\" is not primary, replica or the name of a backend"},
    {RULES("{ name = \"a\"; user = \"app\"; route = \"Primary\"; }"),
     "t.conf:4: rules.[0].route: \"Primary\" is not primary, replica or the name of a backend"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"block\";\n route = \"primary\"; }"),
     "t.conf:5: rules.[0].route: only used with action = \"route\""},
    {RULES("{ name = \"a\"; user = \"app\"; route = \"primary\";\n error_code = 1045; }"),
     "t.conf:5: rules.[0].error_code: only used with action = \"block\""},
    {RULES("{ name = \"a\"; user = \"app\"; route = \"primary\"; error_sqlstate = \"42000\"; }"),
     "t.conf:4: rules.[0].error_sqlstate: only used with action = \"block\""},
    {RULES("{ name = \"a\"; user = \"app\"; error_message = \"no\"; }"),
     "t.conf:4: rules.[0].error_message: only used with action = \"block\""},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"drop\"; }"),
     "t.conf:4: rules.[0].action: \"drop\" is not one of route|block|cache"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"block\"; error_sqlstate = \"4200a\"; }"),
     "t.conf:4: rules.[0].error_sqlstate: \"4200a\" is not an SQLSTATE: 5 characters 0-9 or A-Z"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"block\"; error_sqlstate = \"4200\"; }"),
     "t.conf:4: rules.[0].error_sqlstate: length 4 is out of range 5..5"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"block\"; error_code = 0; }"),
     "t.conf:4: rules.[0].error_code: 0 is out of range 1..65535"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"block\"; error_code = 65536; }"),
     "t.conf:4: rules.[0].error_code: 65536 is out of range 1..65535"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"block\"; error_code = \"1142\"; }"),
     "t.conf:4: rules.[0].error_code: expected an integer, got a string"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"block\"; error_message = \"\"; }"),
     "t.conf:4: rules.[0].error_message: length 0 is out of range 1..400"},
    /* the table's generic checks apply to rules too */
    {RULES("{ name = \"a\"; user = \"app\"; route = \"db2\"; },\n"
           "{ name = \"a\"; user = \"admin\"; route = \"db3\"; }"),
     "t.conf:5: rules.[1].name: duplicate rule name \"a\" (first defined at line 4)"},
    {RULES("{ user = \"app\"; route = \"db2\"; }"),
     "t.conf:4: rules.[0].name: required key is missing"},
    {RULES("{ name = \"\"; user = \"app\"; route = \"db2\"; }"),
     "t.conf:4: rules.[0].name: length 0 is out of range 1..64"},
    {RULES("{ name = \"a\"; match = \"x\"; route = \"db2\"; }"),
     /* the rule is then read without it: it has no condition, which -t lists too */
     "t.conf:4: rules.[0].match: unknown key; and 1 more error (halyard -t lists them)"},
    {RULES("{ name = \"a\"; user = true; route = \"db2\"; }"),
     "t.conf:4: rules.[0].user: expected a string, got a boolean"},
    {BASE "rules = { name = \"a\"; };\n",
     "t.conf:4: rules: expected a list of groups ( { ... }, ... ), got a group { ... }"},
    {BASE "rules = ( \"a\" );\n", "t.conf:4: rules.[0]: expected a group { ... }, got a string"},
    {"digest_max_entries = -1;\n" BASE,
     "t.conf:1: digest_max_entries: -1 is out of range 0..1000000"},
    {"digest_max_entries = 1000001;\n" BASE,
     "t.conf:1: digest_max_entries: 1000001 is out of range 0..1000000"},
};

static void test_config_errors(void **state)
{
    (void)state;
    check_bad_cases(bad_cases, HY_ARRAY_SIZE(bad_cases));
}

static void test_config_too_many_rules(void **state)
{
    (void)state;
    size_t cap = 1001 * 64 + 1024;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, cap, "%srules = (\n", BASE);
    for (int i = 0; i < 1001; i++)
        n += (size_t)snprintf(text + n, cap - n,
                              "%s{ name = \"r%d\"; user = \"app\"; route = "
                              "\"db2\"; }\n",
                              i ? "," : "", i);
    snprintf(text + n, cap - n, ");\n");
    struct config *cfg = NULL;
    char err[256];
    assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
    assert_string_equal(err, "t.conf:4: rules: has 1001 elements, at most 1000 allowed");
    /* 1000 load. */
    strcpy(strstr(text, ",{ name = \"r1000\""), ");\n");
    cfg = load_ok(text);
    assert_int_equal(cfg->n_rules, 1000);
    assert_string_equal(cfg->rules[999].name, "r999");
    config_put(cfg);
    free(text);
}

static void test_config_values(void **state)
{
    (void)state;
    /* No rules at all, or an empty list. */
    struct config *cfg = load_ok(BASE);
    assert_int_equal(cfg->n_rules, 0);
    assert_null(cfg->rules);
    assert_null(cfg->rule_hits);
    assert_false(cfg->rules_need_digest);
    assert_int_equal(cfg->digest_max_entries, 4096);
    config_put(cfg);
    cfg = load_ok(RULES("") "digest_max_entries = 0;\n");
    assert_int_equal(cfg->n_rules, 0);
    assert_int_equal(cfg->digest_max_entries, 0);
    config_put(cfg);

    cfg = load_ok(RULES("{ name = \"p\"; user = \"app\"; route = \"primary\"; },\n"
                        "{ name = \"r\"; match_text = \"x\"; action = \"route\"; route = "
                        "\"replica\"; },\n"
                        "{ name = \"b\"; schema = \"s\"; route = \"db3\"; },\n"
                        "{ name = \"k1\"; match_digest = \"^DROP\"; action = \"block\"; },\n"
                        "{ name = \"k2\"; client = \"::1\"; action = \"block\"; error_code = "
                        "1045; error_sqlstate = \"28000\"; error_message = \"rule {name} says "
                        "no to {name}\"; },\n"
                        "{ name = \"k3\"; client = \"10.0.0.0/8\"; action = \"block\"; "
                        "error_message = \"plain\"; }"));
    assert_int_equal(cfg->n_rules, 6);
    assert_true(cfg->rules_need_digest);
    const struct config_rule *r = cfg->rules;
    assert_string_equal(r[0].name, "p");
    assert_int_equal(r[0].action, RULE_ACTION_ROUTE);
    assert_int_equal(r[0].route, RULE_ROUTE_PRIMARY);
    assert_string_equal(r[0].route_name, "primary");
    assert_string_equal(r[0].who.user, "app");
    assert_null(r[0].match_digest);
    assert_null(r[0].digest_re);
    assert_null(r[0].who.schema);
    assert_null(r[0].who.client);
    assert_null(r[0].error_message);
    assert_int_equal(r[1].route, RULE_ROUTE_REPLICA);
    assert_non_null(r[1].text_re);
    assert_null(r[1].digest_re);
    assert_int_equal(r[2].route, RULE_ROUTE_BACKEND);
    assert_int_equal(r[2].backend, 2);
    assert_string_equal(r[2].route_name, "db3");
    assert_int_equal(r[3].action, RULE_ACTION_BLOCK);
    assert_int_equal(r[3].error_code, 1142);
    assert_string_equal(r[3].error_sqlstate, "42000");
    assert_string_equal(r[3].error_message, "statement blocked by halyard rule k1");
    assert_null(r[3].route_name);
    assert_int_equal(r[4].error_code, 1045);
    assert_string_equal(r[4].error_sqlstate, "28000");
    /* Only the first {name} is replaced, as admin_socket's {port}. */
    assert_string_equal(r[4].error_message, "rule k2 says no to {name}");
    assert_int_equal(r[4].who.cidr.family, AF_INET6);
    assert_int_equal(r[4].who.cidr.bits, 128);
    assert_string_equal(r[5].error_message, "plain");
    assert_int_equal(r[5].who.cidr.family, AF_INET);
    assert_int_equal(r[5].who.cidr.bits, 8);
    /* workers = 2: two rows and the shared one. */
    assert_int_equal(cfg->rule_hit_rows, 2);
    assert_int_equal(cfg->rule_hit_stride, 8);
    assert_int_equal((uintptr_t)cfg->rule_hits % 64, 0);
    config_put(cfg);

    /* A backend named like a role is reached by its role's word only. */
    cfg = load_ok("listeners = ( { name = \"m\"; address = \"h\"; port = 1; } );\n"
                  "users = ( { name = \"app\"; password_hash = \"\"; } );\n"
                  "backends = ( { name = \"replica\"; address = \"h\"; port = 1; role = "
                  "\"primary\"; }, { name = \"primary\"; address = \"h\"; port = 2; role = "
                  "\"replica\"; } );\n"
                  "rules = ( { name = \"a\"; user = \"app\"; route = \"primary\"; } );\n");
    assert_int_equal(cfg->rules[0].route, RULE_ROUTE_PRIMARY);
    config_put(cfg);
}

/* ---- CIDR -------------------------------------------------------------- */

static struct rules_addr addr(const char *s)
{
    struct rules_addr a = {.family = AF_UNSPEC};
    if (inet_pton(AF_INET, s, a.addr) == 1)
        a.family = AF_INET;
    else if (inet_pton(AF_INET6, s, a.addr) == 1)
        a.family = AF_INET6;
    else
        fail_msg("bad test address %s", s);
    return a;
}

struct cidr_case {
    const char *net;
    const char *addr;
    bool match;
};

static const struct cidr_case cidr_cases[] = {
    {"10.0.0.0/8", "10.0.0.0", true},
    {"10.0.0.0/8", "10.255.255.255", true},
    {"10.0.0.0/8", "11.0.0.0", false},
    {"10.0.0.0/8", "9.255.255.255", false},
    {"192.168.4.0/22", "192.168.7.255", true}, /* a prefix inside a byte */
    {"192.168.4.0/22", "192.168.8.0", false},
    {"192.168.4.0/22", "192.168.3.255", false},
    {"128.0.0.0/1", "200.1.2.3", true},
    {"128.0.0.0/1", "127.255.255.255", false},
    {"0.0.0.0/0", "1.2.3.4", true},
    {"0.0.0.0/0", "::1", false},           /* families do not mix... */
    {"0.0.0.0/0", "::ffff:1.2.3.4", true}, /* ...except an IPv4-mapped client */
    {"10.0.0.0/8", "::ffff:10.9.8.7", true},
    {"10.0.0.0/8", "::ffff:11.9.8.7", false},
    {"10.0.0.0/8", "::10.9.8.7", false}, /* IPv4-compatible is not mapped */
    {"10.0.0.0/8", "::fffe:10.9.8.7", false},
    {"127.0.0.1", "127.0.0.1", true}, /* a bare address is /32 */
    {"127.0.0.1", "127.0.0.2", false},
    {"127.0.0.1/32", "127.0.0.1", true},
    {"10.0.0.0/31", "10.0.0.1", true},
    {"10.0.0.0/31", "10.0.0.2", false},
    {"::1", "::1", true}, /* /128 */
    {"::1", "::2", false},
    {"::1", "127.0.0.1", false},
    {"::/0", "2001:db8::1", true},
    {"::/0", "1.2.3.4", false},
    {"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
    {"2001:db8::/32", "2001:db9::", false},
    {"2001:db8::/33", "2001:db8:7fff::1", true},
    {"2001:db8::/33", "2001:db8:8000::1", false},
    {"fe80::/10", "febf::1", true},
    {"fe80::/10", "fec0::1", false},
    {"2001:db8::/127", "2001:db8::1", true},
    {"2001:db8::/127", "2001:db8::2", false},
    {"::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true}, /* the mapped form, as IPv6 */
    {"::ffff:10.0.0.0/104", "10.1.2.3", false},
};

static void test_cidr(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(cidr_cases); i++) {
        const struct cidr_case *c = &cidr_cases[i];
        struct config_cidr net;
        char why[256];
        if (rules_cidr_parse(c->net, &net, why, sizeof(why)) != HY_OK)
            fail_msg("%s: %s", c->net, why);
        struct rules_addr a = addr(c->addr);
        if (rules_cidr_match(&net, &a) != c->match)
            fail_msg("%s in %s: want %s", c->addr, c->net, c->match ? "match" : "no match");
    }
    /* A client that is not IP matches no network. */
    struct config_cidr net;
    char why[256];
    assert_int_equal(rules_cidr_parse("0.0.0.0/0", &net, why, sizeof(why)), HY_OK);
    struct rules_addr none = {.family = AF_UNSPEC};
    assert_false(rules_cidr_match(&net, &none));
}

static void test_addr_from_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(5)};
    inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
    struct rules_addr a;
    rules_addr_from_sockaddr((struct sockaddr *)&sin, &a);
    assert_int_equal(a.family, AF_INET);
    assert_memory_equal(a.addr, "\x0a\x01\x02\x03", 4);

    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr);
    rules_addr_from_sockaddr((struct sockaddr *)&sin6, &a);
    assert_int_equal(a.family, AF_INET6);
    assert_memory_equal(a.addr, &sin6.sin6_addr, 16);

    struct sockaddr_storage ss = {.ss_family = AF_UNIX};
    rules_addr_from_sockaddr((struct sockaddr *)&ss, &a);
    assert_int_equal(a.family, AF_UNSPEC);
    rules_addr_from_sockaddr(NULL, &a);
    assert_int_equal(a.family, AF_UNSPEC);
}

/* ---- matching ---------------------------------------------------------- */

static const char *const MATCH_RULES = RULES(
    "{ name = \"admin-all\"; user = \"admin\"; route = \"primary\"; },\n"
    "{ name = \"reports\"; schema = \"reports\"; match_digest = \"^SELECT\"; route = \"db3\"; },\n"
    "{ name = \"no-drop\"; match_digest = \"^DROP (DATABASE|SCHEMA)\\\\b\"; action = \"block\"; "
    "},\n"
    "{ name = \"lan-ro\"; client = \"192.168.0.0/16\"; match_text = \"(?i)^\\\\s*select\"; route "
    "= \"replica\"; },\n"
    "{ name = \"v6-app\"; client = \"2001:db8::/32\"; user = \"app\"; route = \"db2\"; },\n"
    "{ name = \"all-of-them\"; user = \"app\"; schema = \"s\"; client = \"10.0.0.0/8\"; "
    "match_digest = \"^UPDATE\"; match_text = \"/\\\\* tag \\\\*/\"; route = \"primary\"; }");

struct match_case {
    const char *text;
    const char *digest; /* NULL = not given */
    const char *user;
    const char *schema;
    const char *client; /* NULL = not known */
    const char *rule;   /* NULL = no rule */
};

static const struct match_case match_cases[] = {
    /* user alone; first match wins over every later rule */
    {"DROP DATABASE x", "DROP DATABASE x", "admin", NULL, "192.168.1.1", "admin-all"},
    {"select 1", "SELECT ?", "admin", "reports", NULL, "admin-all"},
    {"select 1", "SELECT ?", "Admin", NULL, NULL, NULL}, /* case-sensitive */
    {"select 1", "SELECT ?", NULL, NULL, NULL, NULL},
    /* schema and digest together */
    {"select * from t", "SELECT * FROM t", "app", "reports", NULL, "reports"},
    {"select * from t", "SELECT * FROM t", "app", "Reports", NULL, NULL},
    {"select * from t", "SELECT * FROM t", "app", NULL, NULL, NULL},
    {"insert into t values (1)", "INSERT INTO t VALUES (...)", "app", "reports", NULL, NULL},
    {"select * from t", NULL, "app", "reports", NULL, NULL}, /* no digest given */
    /* digest alone; \b keeps DROP DATABASES-like words out */
    {"drop database x", "DROP DATABASE x", "app", NULL, NULL, "no-drop"},
    {"drop schema x", "DROP SCHEMA x", "app", "reports", NULL, "no-drop"},
    {"drop databasex", "DROP databasex", "app", NULL, NULL, NULL},
    {"drop table x", "DROP TABLE x", "app", NULL, NULL, NULL},
    /* client and text: text as sent, (?i) in the pattern */
    {"  SeLeCt 1", "SELECT ?", "app", NULL, "192.168.200.1", "lan-ro"},
    {"  SeLeCt 1", "SELECT ?", "app", NULL, "::ffff:192.168.200.1", "lan-ro"},
    {"  SeLeCt 1", "SELECT ?", "app", NULL, "192.169.0.1", NULL},
    {"  SeLeCt 1", "SELECT ?", "app", NULL, NULL, NULL},
    {"update t set a = 1", "UPDATE t SET a = ?", "app", NULL, "192.168.0.1", NULL},
    /* IPv6 client and user */
    {"update t set a = 1", "UPDATE t SET a = ?", "app", NULL, "2001:db8:1::5", "v6-app"},
    {"update t set a = 1", "UPDATE t SET a = ?", "admin2", NULL, "2001:db8:1::5", NULL},
    {"update t set a = 1", "UPDATE t SET a = ?", "app", NULL, "2001:db9::5", NULL},
    /* every condition at once, and each one missing */
    {"/* tag */ update t set a = 1", "UPDATE t SET a = ?", "app", "s", "10.2.3.4", "all-of-them"},
    {"/* tag */ update t set a = 1", "UPDATE t SET a = ?", "app", "s", "11.2.3.4", NULL},
    {"/* tag */ update t set a = 1", "UPDATE t SET a = ?", "app", "t", "10.2.3.4", NULL},
    {"/* tag */ update t set a = 1", "UPDATE t SET a = ?", "appx", "s", "10.2.3.4", NULL},
    {"/* tug */ update t set a = 1", "UPDATE t SET a = ?", "app", "s", "10.2.3.4", NULL},
    {"/* tag */ update t set a = 1", "DELETE FROM t", "app", "s", "10.2.3.4", NULL},
    /* the text may hold NUL bytes and be empty */
    {"", "", "app", NULL, NULL, NULL},
};

static const char *run_match(struct rules_ctx *ctx, const struct config *cfg,
                             const struct match_case *c)
{
    struct rules_addr a;
    struct rules_input in = {
        .text = c->text,
        .text_len = strlen(c->text),
        .digest = c->digest,
        .digest_len = c->digest != NULL ? strlen(c->digest) : 0,
        .user = c->user,
        .schema = c->schema,
        .client = NULL,
    };
    if (c->client != NULL) {
        a = addr(c->client);
        in.client = &a;
    }
    const struct config_rule *r = rules_match(ctx, cfg, &in);
    return r != NULL ? r->name : NULL;
}

static bool have_jit(void)
{
    uint32_t jit = 0;
    return pcre2_config(PCRE2_CONFIG_JIT, &jit) >= 0 && jit != 0;
}

static void test_match(void **state)
{
    (void)state;
    struct config *cfg = load_ok(MATCH_RULES);
    struct rules_ctx ctx;
    assert_int_equal(rules_ctx_init(&ctx, 0), HY_OK);
    /* The patterns got JIT code wherever PCRE2 has a JIT. */
    assert_int_equal(rules_regex_jit(cfg->rules[2].digest_re), have_jit());
    for (int pass = 0; pass < 2; pass++) {
        ctx.no_jit = pass == 1; /* the interpreter must agree */
        for (size_t i = 0; i < HY_ARRAY_SIZE(match_cases); i++) {
            const struct match_case *c = &match_cases[i];
            const char *got = run_match(&ctx, cfg, c);
            if ((got == NULL) != (c->rule == NULL) || (got != NULL && strcmp(got, c->rule) != 0))
                fail_msg("case %zu (%s, %s): got %s, want %s", i, pass ? "interpreter" : "jit",
                         c->text, got ? got : "none", c->rule ? c->rule : "none");
        }
    }
    assert_int_equal(atomic_load(&ctx.match_errors), 0);
    rules_ctx_destroy(&ctx);
    rules_ctx_destroy(&ctx); /* twice is harmless */
    config_put(cfg);
}

static void test_match_bytes(void **state)
{
    (void)state;
    /* Patterns see bytes: a NUL in the text and invalid UTF-8 are fine. */
    struct config *cfg =
        load_ok(RULES("{ name = \"nul\"; match_text = \"a\\\\x00b\"; route = \"primary\"; },\n"
                      "{ name = \"latin1\"; match_text = \"caf\\\\xe9$\"; route = \"primary\"; },\n"
                      "{ name = \"dot\"; match_text = \"^x.y$\"; route = \"primary\"; },\n"
                      "{ name = \"dotall\"; match_text = \"(?s)^p.q$\"; route = \"primary\"; }"));
    struct rules_ctx ctx;
    assert_int_equal(rules_ctx_init(&ctx, 1), HY_OK);
    for (int pass = 0; pass < 2; pass++) {
        ctx.no_jit = pass == 1;
        struct rules_input in = {.text = "xa\0bx", .text_len = 5};
        assert_string_equal(rules_match(&ctx, cfg, &in)->name, "nul");
        in.text = "xa";
        in.text_len = 2; /* the NUL is not there */
        assert_null(rules_match(&ctx, cfg, &in));
        in.text = "caf\xe9";
        in.text_len = 4;
        assert_string_equal(rules_match(&ctx, cfg, &in)->name, "latin1");
        in.text = "x\ny"; /* `.` does not match a newline... */
        in.text_len = 3;
        assert_null(rules_match(&ctx, cfg, &in));
        in.text = "p\nq"; /* ...unless (?s) */
        assert_string_equal(rules_match(&ctx, cfg, &in)->name, "dotall");
        in.text = "x\xffy"; /* one byte, whatever it is */
        assert_string_equal(rules_match(&ctx, cfg, &in)->name, "dot");
    }
    assert_int_equal(atomic_load(&ctx.match_errors), 0);
    rules_ctx_destroy(&ctx);
    config_put(cfg);
}

static void test_match_limit(void **state)
{
    (void)state;
    /* Exponential backtracking: stopped by RULES_MATCH_LIMIT, counted, and
     * treated as no match, so the next rule is tried. */
    struct config *cfg =
        load_ok(RULES("{ name = \"evil\"; match_text = \"^(a|aa)+$\"; route = \"primary\"; },\n"
                      "{ name = \"next\"; user = \"app\"; route = \"replica\"; }"));
    struct rules_ctx ctx;
    assert_int_equal(rules_ctx_init(&ctx, 0), HY_OK);
    char text[64];
    memset(text, 'a', sizeof(text) - 2);
    text[sizeof(text) - 2] = 'b';
    text[sizeof(text) - 1] = '\0';
    struct rules_input in = {.text = text, .text_len = strlen(text), .user = "app"};
    for (int pass = 0; pass < 2; pass++) {
        ctx.no_jit = pass == 1;
        uint64_t before = atomic_load(&ctx.match_errors);
        assert_string_equal(rules_match(&ctx, cfg, &in)->name, "next");
        assert_int_equal(atomic_load(&ctx.match_errors), before + 1);
    }
    /* A short subject still matches normally. */
    in.text = "aaaa";
    in.text_len = 4;
    assert_string_equal(rules_match(&ctx, cfg, &in)->name, "evil");
    rules_ctx_destroy(&ctx);
    config_put(cfg);
}

static void test_no_rules(void **state)
{
    (void)state;
    struct config *cfg = load_ok(BASE);
    struct rules_ctx ctx;
    assert_int_equal(rules_ctx_init(&ctx, 0), HY_OK);
    struct rules_input in = {.text = "select 1", .text_len = 8, .user = "app"};
    assert_null(rules_match(&ctx, cfg, &in));
    assert_int_equal(rules_hits(cfg, 0), 0);
    rules_ctx_destroy(&ctx);
    config_put(cfg);
}

static void test_match_allocates_nothing(void **state)
{
    (void)state;
    struct config *cfg = load_ok(MATCH_RULES);
    struct rules_ctx ctx;
    assert_int_equal(rules_ctx_init(&ctx, 0), HY_OK);
    for (int pass = 0; pass < 2; pass++) {
        ctx.no_jit = pass == 1;
        /* Warm up: the interpreter may grow its frame vector once, kept in
         * the ctx's match data. */
        for (size_t i = 0; i < HY_ARRAY_SIZE(match_cases); i++)
            run_match(&ctx, cfg, &match_cases[i]);
        struct mallinfo2 before = mallinfo2();
        for (int k = 0; k < 100; k++) {
            for (size_t i = 0; i < HY_ARRAY_SIZE(match_cases); i++)
                run_match(&ctx, cfg, &match_cases[i]);
        }
        struct mallinfo2 after = mallinfo2();
        assert_int_equal(before.uordblks, after.uordblks);
        assert_int_equal(before.hblks, after.hblks);
    }
    rules_ctx_destroy(&ctx);
    config_put(cfg);
}

/* ---- hits -------------------------------------------------------------- */

static void test_hits(void **state)
{
    (void)state;
    struct config *cfg = load_ok(RULES("{ name = \"a\"; user = \"app\"; route = \"primary\"; },\n"
                                       "{ name = \"b\"; user = \"admin\"; route = \"db2\"; }"));
    /* workers = 2 in the file; a third worker (after a reload that lowered
     * `workers`) counts in the shared row. */
    struct rules_ctx w0, w1, w5;
    assert_int_equal(rules_ctx_init(&w0, 0), HY_OK);
    assert_int_equal(rules_ctx_init(&w1, 1), HY_OK);
    assert_int_equal(rules_ctx_init(&w5, 5), HY_OK);
    struct rules_input app = {.text = "x", .text_len = 1, .user = "app"};
    struct rules_input admin = {.text = "x", .text_len = 1, .user = "admin"};
    struct rules_input nobody = {.text = "x", .text_len = 1, .user = "nobody"};
    for (int i = 0; i < 3; i++)
        assert_non_null(rules_match(&w0, cfg, &app));
    for (int i = 0; i < 5; i++)
        assert_non_null(rules_match(&w1, cfg, &admin));
    for (int i = 0; i < 7; i++)
        assert_non_null(rules_match(&w5, cfg, &app));
    assert_null(rules_match(&w0, cfg, &nobody)); /* no hit for anyone */
    assert_int_equal(rules_hits(cfg, 0), 10);
    assert_int_equal(rules_hits(cfg, 1), 5);
    assert_int_equal(rules_hits(cfg, 2), 0); /* out of range */
    /* Each row holds only its worker's counts. */
    size_t s = cfg->rule_hit_stride;
    assert_int_equal(atomic_load(&cfg->rule_hits[0 * s + 0]), 3);
    assert_int_equal(atomic_load(&cfg->rule_hits[1 * s + 1]), 5);
    assert_int_equal(atomic_load(&cfg->rule_hits[2 * s + 0]), 7);
    /* A new config starts from zero. */
    struct config *fresh = load_ok(RULES("{ name = \"a\"; user = \"app\"; route = \"primary\"; }"));
    assert_int_equal(rules_hits(fresh, 0), 0);
    config_put(fresh);
    rules_ctx_destroy(&w0);
    rules_ctx_destroy(&w1);
    rules_ctx_destroy(&w5);
    config_put(cfg);
}

/* ---- no_where and users ---- */

struct no_where_case {
    const char *sql; /* run through classify_digest() first, as sessions do */
    const char *schema;
    bool match;
};

static const struct no_where_case no_where_cases[] = {
    {"UPDATE orders SET v = 1", NULL, true},
    {"update `orders` set v = 1", NULL, true},
    {"UPDATE Orders SET v = 1", NULL, true}, /* case-insensitive */
    {"UPDATE orders SET v = 1 WHERE id = 2", NULL, false},
    {"UPDATE orders SET v = 1 where 1", NULL, false}, /* syntactic */
    {"DELETE FROM orders", NULL, true},
    {"DELETE FROM orders LIMIT 10", NULL, true},
    {"DELETE FROM orders ORDER BY id LIMIT 1", NULL, true},
    {"DELETE FROM orders WHERE id IN (1, 2)", NULL, false},
    {"DELETE LOW_PRIORITY QUICK IGNORE FROM orders", NULL, true},
    {"DELETE o FROM orders o JOIN x ON o.id = x.id", NULL, true},
    {"DELETE FROM notes", NULL, false},    /* not listed */
    {"SELECT * FROM orders", NULL, false}, /* not an UPDATE or DELETE */
    {"UPDATE orders SET v = (SELECT MAX(v) FROM x WHERE x.id = 1)", NULL, true},
    {"UPDATE orders SET note = 'where'", NULL, true}, /* a string is not a WHERE */
    {"UPDATE orders SET `where` = 1", NULL, true},    /* nor a quoted column */
    {"/* WHERE */ DELETE FROM orders", NULL, true},
    {"SELECT 1; DELETE FROM orders", NULL, true},
    {"DELETE FROM orders WHERE id = 1; SELECT 1", NULL, false},
    {"DELETE FROM shop.customers", NULL, true},
    {"DELETE FROM other.customers", NULL, false},
    {"DELETE FROM customers", "shop", true},
    {"DELETE FROM customers", "other", false},
    {"DELETE FROM customers", NULL, false},
    {"UPDATE shop . customers SET a = 1", NULL, true},
};

static void test_no_where(void **state)
{
    (void)state;
    char *tables[] = {"orders", "shop.customers"};
    struct config_strings list = {.v = tables, .n = 2};
    for (size_t i = 0; i < HY_ARRAY_SIZE(no_where_cases); i++) {
        const struct no_where_case *c = &no_where_cases[i];
        char digest[1024];
        size_t len;
        (void)classify_digest(c->sql, strlen(c->sql), 0, digest, sizeof(digest), &len);
        if (rules_no_where(digest, len, &list, c->schema) != c->match)
            fail_msg("case %zu: \"%s\" (digest \"%s\"): want %s", i, c->sql, digest,
                     c->match ? "match" : "no match");
    }
    char *any[] = {"*"};
    struct config_strings all = {.v = any, .n = 1};
    assert_true(rules_no_where("DELETE FROM t", 13, &all, NULL));
    assert_false(rules_no_where("DELETE FROM t WHERE a = ?", 25, &all, NULL));
    assert_false(rules_no_where("", 0, &all, NULL));
    assert_false(rules_no_where("UPDATE", 6, &list, NULL));
    assert_true(rules_no_where("DELETE FROM `orders", 19, &all, NULL)); /* cut short: still */
}

static void test_users_and_no_where_rules(void **state)
{
    (void)state;
    struct config *cfg = load_ok(RULES(
        "{ name = \"nw\"; users = [\"app\"]; no_where = [\"orders\"]; action = \"block\"; },\n"
        "{ name = \"admin-reads\"; users = [\"admin\"]; match_digest = \"^SELECT\"; "
        "route = \"replica\"; }"));
    assert_true(cfg->rules_need_digest);
    struct rules_ctx ctx;
    assert_int_equal(rules_ctx_init(&ctx, 0), HY_OK);
    struct rules_input in = {.text = "x", .text_len = 1, .user = "app"};
    in.digest = "DELETE FROM orders";
    in.digest_len = strlen(in.digest);
    const struct config_rule *r = rules_match(&ctx, cfg, &in);
    assert_non_null(r);
    assert_string_equal(r->name, "nw");
    in.user = "admin"; /* not one of the rule's users */
    assert_null(rules_match(&ctx, cfg, &in));
    in.digest = "SELECT 1";
    in.digest_len = 8;
    r = rules_match(&ctx, cfg, &in);
    assert_non_null(r);
    assert_string_equal(r->name, "admin-reads");
    in.user = NULL;
    assert_null(rules_match(&ctx, cfg, &in));
    rules_ctx_destroy(&ctx);
    config_put(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_too_many_rules),
        cmocka_unit_test(test_config_values),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_addr_from_sockaddr),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_match_bytes),
        cmocka_unit_test(test_match_limit),
        cmocka_unit_test(test_no_rules),
        cmocka_unit_test(test_match_allocates_nothing),
        cmocka_unit_test(test_hits),
        cmocka_unit_test(test_no_where),
        cmocka_unit_test(test_users_and_no_where_rules),
    };
    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
