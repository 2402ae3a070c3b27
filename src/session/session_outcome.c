/*
 * session_outcome.c: the hooks' second table, part of the session module
 * (session_int.h): answers[] says who answers each ROUTE_* outcome the
 * router gives instead of a backend (next_outcome): halyard's own ERR (no
 * backend, a rule's block, the firewall, a write in a READ ONLY
 * transaction) or the feature the outcome is (XA, shards, fan-out, the
 * query cache, diagnostics).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include "halyard/core/audit.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "session_int.h"
#include "session_begin.h"
#include "session_cache.h"
#include "session_diag.h"
#include "session_fanout.h"
#include "session_shard.h"

static bool nobody_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)hc;
    session_err(s, 1, SERR_NO_BACKEND, why);
    return false;
}

/* A statement a query rule blocked: audited while its digest is known
 * (answer_here forgets it), then the rule's ERR. */
static bool blocked_before(struct session *s, const struct hook_cmd *hc, bool primary_write)
{
    (void)primary_write;
    if (!hc->fits)
        return false; /* not taken: the session ends (answer_here) */
    const struct config_rule *rule = s->query.block_rule;
    char digest[20];
    snprintf(digest, sizeof(digest), "%016" PRIx64, s->query.digest_hash);
    log_audit("session %u %s@%s: statement blocked by rule '%s'", s->id, s->who.user, s->who.peer,
              rule->name);
    audit_block(s->id, s->who.user, s->who.peer, rule->name,
                s->query.digest_pending ? digest : NULL);
    return false;
}

static bool blocked_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)hc, (void)why;
    const struct config_rule *rule = s->query.block_rule;
    session_err_custom(s, 1, (uint16_t)rule->error_code, rule->error_sqlstate, rule->error_message);
    return false;
}

/* A statement the user's firewall refused. */
static bool firewalled_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)why;
    char digest[20];
    snprintf(digest, sizeof(digest), "%016" PRIx64, s->query.fw_hash);
    log_audit("session %u %s@%s: %s blocked by the firewall: digest %s not in the user's "
              "firewall_allow",
              s->id, s->who.user, s->who.peer, mysql_com_name(hc->cmd), digest);
    audit_block(s->id, s->who.user, s->who.peer, "firewall", digest);
    session_err(s, 1, SERR_FIREWALL, s->who.user);
    return false;
}

static bool no_replica_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)hc, (void)why;
    session_err(s, 1, SERR_NO_REPLICA);
    return false;
}

static bool ro_write_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)hc, (void)why;
    session_err(s, 1, SERR_READ_ONLY_TRX);
    return false;
}

/* A transaction across groups begins, or an XA statement is answered. */
static bool xa_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)hc, (void)why;
    return session_begin_run(s);
}

static bool shard_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)hc, (void)why;
    session_shard_refuse(s);
    return false;
}

static bool cache_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)hc, (void)why;
    session_cache_answer(s);
    return false;
}

static bool diag_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)hc, (void)why;
    session_diag_answer(s);
    return false;
}

/* A group's part of a transaction across groups is readied first. */
static bool fanout_before(struct session *s, const struct hook_cmd *hc, bool primary_write)
{
    (void)hc, (void)primary_write;
    return session_fanout_xa_wait(s);
}

static bool fanout_answer(struct session *s, const struct hook_cmd *hc, const char *why)
{
    (void)hc, (void)why;
    return session_fanout_start(s);
}

#define ANSWER_AT(route) (UINT32_MAX - (route))
static const struct hook_answer answers[] = {
    [ANSWER_AT(ROUTE_REFUSE)] = {.answer = no_replica_answer},
    [ANSWER_AT(ROUTE_BLOCK)] = {.before = blocked_before, .answer = blocked_answer},
    [ANSWER_AT(ROUTE_NOBODY)] = {.before = primary_wait_before, .answer = nobody_answer},
    [ANSWER_AT(ROUTE_FIREWALL)] = {.answer = firewalled_answer},
    [ANSWER_AT(ROUTE_RO_WRITE)] = {.answer = ro_write_answer},
    [ANSWER_AT(ROUTE_SHARD)] = {.answer = shard_answer},
    [ANSWER_AT(ROUTE_XA)] = {.answer = xa_answer},
    [ANSWER_AT(ROUTE_FANOUT)] = {.before = fanout_before,
                                 .answer = fanout_answer,
                                 .drop = session_fanout_free, /* its plan and legs */
                                 .counted = true},
    [ANSWER_AT(ROUTE_DIAG)] = {.answer = diag_answer, .counted = true},
    [ANSWER_AT(ROUTE_CACHE)] = {.answer = cache_answer, .counted = true},
};

const struct hook_answer *session_hooks_answer(uint32_t route)
{
    uint32_t at = ANSWER_AT(route);
    return at < HY_ARRAY_SIZE(answers) && answers[at].answer != NULL ? &answers[at] : NULL;
}
