/*
 * rules.h: query rules, the operator's routing and blocking decisions for
 * statements the splitter would otherwise place by itself.
 *
 * A rule (struct config_rule, one element of the config's `rules` list)
 * has conditions and an action. The conditions are regular expressions on
 * the statement's digest (match_digest) and text (match_text), the user,
 * the default schema, the client's network (client), the listener the
 * session came in on (listener, by name) and, for a cache rule, the tables
 * the SELECT reads (tables: every one of them must be listed; a statement
 * whose tables cannot be read, not one cacheable SELECT, never matches
 * it); a rule needs at least one, and matches when every condition it has matches. Rules are
 * tried in the file's order; the first that matches wins, the others are
 * not looked at. The action routes the statement (to the primary, to a
 * replica, or to one backend by name) or blocks it with an error.
 *
 * Patterns are PCRE2, compiled once when the config is loaded, JIT-compiled
 * when PCRE2 has a JIT for this machine (the interpreter otherwise, without
 * notice), and freed with the config. They match bytes, not UTF-8
 * characters: (*UTF) is refused. No flags are set: (?i) makes a pattern
 * case-insensitive, (?s) lets `.` match a newline. A pattern matches
 * anywhere in the subject unless anchored with ^ or $. User and schema are
 * compared exactly (bytes, case-sensitive, as MariaDB compares database
 * names on Linux).
 *
 * `client` is an IPv4 or IPv6 network, ADDRESS/BITS, or one address (/32,
 * /128). An IPv4 network also matches a client that reached an IPv6 socket
 * over IPv4 (an IPv4-mapped address, ::ffff:a.b.c.d).
 *
 * Matching allocates nothing and takes no lock: the compiled patterns are
 * read-only in the immutable config, and everything PCRE2 writes while
 * matching (match data, JIT stack) is in a struct rules_ctx, one per
 * worker thread. Each rule counts its hits per worker in the config
 * (relaxed atomics written by one worker each, like struct worker_stats);
 * rules_hits() sums them from any thread. Counts start at zero with each
 * loaded config: a reload starts new counters, and sessions still on the
 * old config count into the old one.
 */
#ifndef HALYARD_RULES_H
#define HALYARD_RULES_H

#include <stdatomic.h>
#include <sys/socket.h>

#include "halyard/config/config.h"
#include "halyard/core/core.h"

/* A client address as rules compare it (from rules_addr_from_sockaddr). */
struct rules_addr {
    int family; /* AF_INET, AF_INET6, or AF_UNSPEC: not an IP client, no client rule matches */
    uint8_t addr[16];
};

/* The statement a session is about to run. */
struct rules_input {
    const char *text; /* the statement as the client sent it (COM_QUERY text) */
    size_t text_len;
    /* Its digest (classify(), classify_digest()); may be NULL when
     * cfg->rules_need_digest is false. A rule with match_digest never
     * matches a NULL digest. A digest cut short by the caller's buffer is
     * matched as the prefix it is. */
    const char *digest;
    size_t digest_len;
    const char *user;                /* NUL-terminated; NULL = not known */
    const char *schema;              /* the default schema; NULL = none */
    const struct rules_addr *client; /* NULL = not known */
    const char *listener;            /* the session's listener's name; NULL = not known */
    unsigned lex_opts;               /* CLO_* (classify.h): how `text` is read for `tables` */
    /* A COM_STMT_PREPARE: its text has `?` for values, so a `tables`
     * condition is left to each execution (rules_tables_cover) and counts
     * as matching here. */
    bool tables_later;
    bool text_cut; /* `text` is the statement's start only: no `tables` condition matches */
};

struct rules_pcre; /* PCRE2's per-thread state (rules.c) */

/* What one thread needs to match rules; one per worker. */
struct rules_ctx {
    int worker; /* the row of hit counters this thread writes */
    /* Match with PCRE2's interpreter even where a pattern has JIT code
     * (tests and benchmarks; the result is the same). */
    bool no_jit;
    struct rules_pcre *pcre;
    /* Patterns that failed to run (PCRE2's match limit, RULES_MATCH_LIMIT,
     * or another matching error): the condition counted as not matching.
     * Written by the owner thread; readable from any thread. */
    _Atomic uint64_t match_errors;
};

/* Backtracking steps one pattern may take on one subject (PCRE2 match
 * limit): a pathological pattern gives up instead of stalling its worker. */
#define RULES_MATCH_LIMIT 1000000u

/* Set up `ctx` for worker `worker` (0-based; the row of hit counters it
 * writes). HY_NOMEM if PCRE2 cannot allocate. */
hy_status_t rules_ctx_init(struct rules_ctx *ctx, int worker) HY_MUSTCHECK;
void rules_ctx_destroy(struct rules_ctx *ctx); /* also on a zeroed or failed ctx */

/*
 * The first rule of cfg that matches `in`, or NULL. Counts a hit for the
 * rule returned, in ctx->worker's row. Allocates nothing; cost: the
 * string and address comparisons of the rules tried, and a regex match for
 * each pattern condition reached, and for a `tables` condition one read of
 * the statement's tables (cache_sql_tables, into ctx; once per call)
 * (conditions are tried cheapest first: listener, user, schema, client,
 * no_where, digest, text, tables). With no rules it returns at once.
 */
const struct config_rule *rules_match(struct rules_ctx *ctx, const struct config *cfg,
                                      const struct rules_input *in);

/* Whether the conditions a rule and a limit share (user, users, schema,
 * client, listener) all match `in`: string and address comparisons, the
 * cheapest first. Pure. */
bool rules_who_match(const struct config_who *w, const struct rules_input *in);

/* Whether `in`'s digest matches `re` (a rule's or a limit's match_digest);
 * never a NULL digest. A failed match counts in ctx->match_errors. */
bool rules_digest_match(struct rules_ctx *ctx, const struct rule_regex *re,
                        const struct rules_input *in);

/* Hits of cfg->rules[i], summed over the workers. From any thread. */
uint64_t rules_hits(const struct config *cfg, size_t i);

/* The client address of a socket address: AF_INET and AF_INET6 as they
 * are (an IPv4-mapped IPv6 address stays IPv6; an IPv4 rule still matches
 * it), anything else AF_UNSPEC. */
void rules_addr_from_sockaddr(const struct sockaddr *sa, struct rules_addr *out);

/* Whether a statement's digest (several statements: any of them) is an
 * UPDATE or DELETE without a WHERE clause on one of `tables` ("name",
 * "schema.name", "*" for any; names compared case-insensitively; an
 * unqualified table in the statement is in `schema`, the session's
 * default schema, NULL if none). Syntactic: `WHERE 1` counts as a WHERE. */
bool rules_no_where(const char *digest, size_t len, const struct config_strings *tables,
                    const char *schema);

struct cache_sql;
/* Whether every table `q` reads (cache_sql_tables: "schema.name", lower
 * case) is named in `list` (a rule's `tables`: "name" in any schema,
 * "schema.name", "schema.*"); false when it reads none. Pure. */
bool rules_tables_cover(const struct config_strings *list, const struct cache_sql *q);

/* Whether network `net` contains address `a`. */
bool rules_cidr_match(const struct config_cidr *net, const struct rules_addr *a);

/* ---- for config.c ---- */

/* Compile `pattern` (NUL-terminated) into *out. On a bad pattern returns
 * HY_ERROR with "bad regex at offset N: PCRE2's message" in `why`; HY_NOMEM
 * when out of memory. */
hy_status_t rules_regex_compile(const char *pattern, struct rule_regex **out, char *why,
                                size_t whylen) HY_MUSTCHECK;
void rules_regex_free(struct rule_regex *re); /* NULL is fine */
/* Whether `re` got JIT code (false where PCRE2 has no JIT for this machine). */
bool rules_regex_jit(const struct rule_regex *re);

/* Parse "ADDRESS[/BITS]" (IPv4 or IPv6). HY_ERROR with the reason in `why`
 * (the address is not echoed: the caller names the key). Address bits set
 * past the prefix are an error: "10.1.2.3/8" is a typo for 10.0.0.0/8 or
 * 10.1.2.3/32. */
hy_status_t rules_cidr_parse(const char *s, struct config_cidr *out, char *why,
                             size_t whylen) HY_MUSTCHECK;

/* Allocate cfg->rule_hits for cfg->n_rules rules and cfg->workers workers
 * (config_put frees it with free()). */
hy_status_t rules_hits_init(struct config *cfg) HY_MUSTCHECK;

#endif /* HALYARD_RULES_H */
