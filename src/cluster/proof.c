/*
 * proof.c: the settings resolve_in_flight_writes' proof rests on
 * (proof.h). Pure: the monitor reads the values, the sessions ask.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "halyard/cluster/proof.h"

static const struct {
    unsigned bit;
    const char *name;
} settings[] = {
    {PROOF_LOG_BIN, "log_bin"},
    {PROOF_LOG_SLAVE_UPDATES, "log_slave_updates"},
    {PROOF_BINLOG_ANNOTATE, "binlog_annotate_row_events"},
    {PROOF_REPLICATE_ANNOTATE, "replicate_annotate_row_events"},
};

static bool on(const char *v)
{
    return v != NULL && (strcmp(v, "1") == 0 || strcasecmp(v, "ON") == 0);
}

unsigned proof_settings_parse(const char *log_bin, const char *log_slave_updates,
                              const char *binlog_annotate, const char *replicate_annotate)
{
    return PROOF_READ | (on(log_bin) ? PROOF_LOG_BIN : 0) |
           (on(log_slave_updates) ? PROOF_LOG_SLAVE_UPDATES : 0) |
           (on(binlog_annotate) ? PROOF_BINLOG_ANNOTATE : 0) |
           (on(replicate_annotate) ? PROOF_REPLICATE_ANNOTATE : 0);
}

unsigned proof_completion_parse(const char *v)
{
    return v != NULL && (strcmp(v, "0") == 0 || strcasecmp(v, "NO_CHAIN") == 0) ? PROOF_NO_CHAIN
                                                                                : 0;
}

bool proof_settings_missing(unsigned have, unsigned need, char *out, size_t len)
{
    if (len > 0)
        out[0] = '\0';
    if ((need & PROOF_READ) && !(have & PROOF_READ)) {
        snprintf(out, len, "not read yet");
        return false;
    }
    size_t n = 0;
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (!(need & settings[i].bit) || (have & settings[i].bit))
            continue;
        if (n < len)
            n +=
                (size_t)snprintf(out + n, len - n, "%s%s OFF", n > 0 ? ", " : "", settings[i].name);
    }
    return (have & need) == need;
}

bool proof_settings_hold(unsigned old_have, unsigned new_have, bool session_annotate_off,
                         const char *old_name, const char *new_name, char *why, size_t len)
{
    char miss[160];
    if (!proof_settings_missing(new_have, PROOF_NEED_NEW, miss, sizeof(miss))) {
        snprintf(why, len, "which logs only part of what it applies (%s: %s)", new_name, miss);
        return false;
    }
    if (!proof_settings_missing(old_have, PROOF_NEED_OLD, miss, sizeof(miss))) {
        snprintf(why, len, "and %s may not have logged the write's text (%s: %s)", old_name,
                 old_name, miss);
        return false;
    }
    if (session_annotate_off) {
        snprintf(why, len,
                 "and this session set binlog_annotate_row_events itself (its writes' text may "
                 "not be logged)");
        return false;
    }
    if (len > 0)
        why[0] = '\0';
    return true;
}

enum proof_promotion proof_promotion_judge(const struct failover_view *v, int candidate,
                                           bool caught_up)
{
    for (size_t i = 0; i < v->n; i++)
        if ((int)i != candidate && (int)i != v->primary && !v->nodes[i].reachable)
            return PROOF_REPLICA_UNREACHABLE;
    return caught_up ? PROOF_PROMOTED : PROOF_NOT_CAUGHT_UP;
}

const char *proof_promotion_why(enum proof_promotion how)
{
    switch (how) {
    case PROOF_PROMOTED:
        return "";
    case PROOF_FOLLOWED:
        return "which this halyard followed as the primary chosen elsewhere (another halyard, an "
               "operator), not promoted as the replica that had every acknowledged commit";
    case PROOF_REPLICA_UNREACHABLE:
        return "which this halyard promoted while another replica was out of reach (that one may "
               "have had the write)";
    case PROOF_NOT_CAUGHT_UP:
        return "which this halyard promoted without the transactions a more advanced replica had";
    }
    return "which this halyard promoted without proof";
}
