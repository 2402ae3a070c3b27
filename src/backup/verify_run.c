/*
 * verify_run.c: `halyardctl backup verify` (verify_run.h): a replica stopped
 * at a GTID, the restore to it (restore_run.c) and CHECKSUM TABLE of every
 * base table on both servers.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "halyard/core/text.h"
#include "halyard/core/grow.h"
#include "halyard/core/clock.h"
#include "halyard/config/config.h"
#include "halyard/core/gtid.h"
#include "halyard/core/progress.h"
#include "halyard/backup/restore.h"
#include "halyard/backup/restore_run.h"
#include "halyard/backup/verify_run.h"
#include "halyard/backup/verify_server.h"

enum { VF_OK = 0, VF_FAILED = 1, VF_USAGE = 2 };

#define CHECKSUM_CHUNK 100 /* tables per CHECKSUM TABLE statement */

#define fail(...) restore_fail("backup verify", __VA_ARGS__)

static void usage(FILE *out)
{
    fprintf(out, "usage: halyardctl -c CONFIG backup verify [--into HOST:PORT] [--user USER]\n"
                 "                  [--password-file FILE] [--replica NAME] [--wait SECONDS] "
                 "[--keep]\n"
                 "  restores the newest full backup and the archive into the empty scratch server\n"
                 "  (--into, default backup.verify_into) up to the GTID a replica is stopped at,\n"
                 "  and compares CHECKSUM TABLE of every base table; --user (default root) and\n"
                 "  --password-file are the scratch server's account; --wait bounds the waits for\n"
                 "  the replica and the archive (default 60 s); --keep leaves the restored data\n"
                 "  (a mariadb-backup backup: in a datadir under a server started with\n"
                 "  backup.verify_server_command, stopped after)\n");
}

/* Ctrl-C (SIGINT to the terminal's whole group: restore's children die
 * with it), SIGTERM or SIGHUP while the replica is stopped and drained: the
 * first is noted (restore_interrupted) and the run goes to its clean-up at
 * the next step (START SLAVE, the backend back online, the scratch server
 * stopped), then ends by that signal; a second one ends it at once. */
static const int caught[] = {SIGINT, SIGTERM, SIGHUP};

static volatile sig_atomic_t taken; /* the signal, kept for the end */

static void on_signal(int sig)
{
    if (taken) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    taken = sig;
    restore_interrupted = sig;
    restore_kill_children(); /* a Ctrl-C reached them too; a SIGTERM did not */
}

static void signals_catch(struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a wait returns early */
    taken = 0;
    restore_interrupted = 0;
    for (size_t i = 0; i < HY_ARRAY_SIZE(caught); i++)
        sigaction(caught[i], &sa, &old[i]);
}

/* Put the dispositions back; a signal taken ends halyardctl by it now. */
static void signals_release(const struct sigaction *old)
{
    for (size_t i = 0; i < HY_ARRAY_SIZE(caught); i++)
        sigaction(caught[i], &old[i], NULL);
    int sig = taken;
    if (sig != 0) {
        fflush(stdout);
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

static bool interrupted(void)
{
    return taken != 0;
}

static void nap(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The replica to stop: --replica NAME (ONLINE or LAGGING), or the first
 * ONLINE replica in show backends. Its config entry, or NULL having said why. */
static const struct config_backend *pick_replica(const struct config *cfg, verify_ask_fn ask,
                                                 const char *want)
{
    char *ans = NULL;
    if (ask("show backends --json", 10, &ans) != 0)
        return NULL;
    const struct config_backend *found = NULL;
    char seen[1024] = "";
    for (const char *o = strstr(ans, "{\"name\":\""); o != NULL && found == NULL;
         o = strstr(o + 1, "{\"name\":\"")) {
        char name[128], role[32], state[32];
        if (!restore_json_str(o, "name", name, sizeof(name)) ||
            !restore_json_str(o, "role", role, sizeof(role)) ||
            !restore_json_str(o, "state", state, sizeof(state)))
            continue;
        size_t sl = strlen(seen);
        snprintf(seen + sl, sizeof(seen) - sl, "%s%s (%s, %s)", sl ? ", " : "", name, role, state);
        if (want != NULL ? strcmp(name, want) != 0
                         : strcmp(role, "replica") != 0 || strcmp(state, "ONLINE") != 0)
            continue;
        /* one named may be LAGGING (behind, or its SQL thread stopped); one
         * DRAINING or in MAINT is the operator's, not to be put back online */
        if (strcmp(role, "replica") != 0 ||
            (strcmp(state, "ONLINE") != 0 && strcmp(state, "LAGGING") != 0)) {
            fail("backend %s is %s and %s: verify stops an ONLINE or LAGGING replica", name, role,
                 state);
            break;
        }
        for (size_t i = 0; i < cfg->n_backends; i++) {
            if (strcmp(cfg->backends[i].name, name) == 0)
                found = &cfg->backends[i];
        }
        if (found == NULL)
            fail("backend %s is not in the config given with -c", name);
        break;
    }
    if (found == NULL && want == NULL)
        fail("no ONLINE replica to compare with (backends: %s)", seen[0] ? seen : "none");
    else if (found == NULL && strstr(seen, want) == NULL)
        fail("no backend named %s (backends: %s)", want, seen[0] ? seen : "none");
    free(ans);
    return found;
}

/* A GTID position from the text of a query or an answer ("" = empty). */
static bool parse_pos(const char *s, struct gtid_pos *out)
{
    size_t len = strcspn(s, "\r\n");
    memset(out, 0, sizeof(*out));
    return len == 0 || gtid_pos_parse(s, len, out) == HY_OK;
}

static bool replica_pos(const struct restore_server *ctl, struct gtid_pos *out)
{
    char *o = restore_query(ctl, "SELECT @@gtid_current_pos", "for @@gtid_current_pos");
    if (o == NULL)
        return false;
    bool ok = parse_pos(o, out);
    if (!ok)
        fail("the replica's @@gtid_current_pos is not a GTID position: %.200s", o);
    free(o);
    return ok;
}

static bool archive_pos(verify_ask_fn ask, struct gtid_pos *out)
{
    char *ans = NULL, gs[GTID_STR_MAX] = "";
    if (ask("show backup --json", 10, &ans) != 0)
        return false;
    bool ok = restore_json_str(ans, "archived_gtid", gs, sizeof(gs));
    free(ans);
    if (ok)
        ok = parse_pos(gs, out);
    if (!ok)
        fail("show backup gives no archived_gtid");
    return ok;
}

/* The one domain whose sequence numbers differ between a and b: true with
 * *d set (-1 = none differ); false when more than one does. */
static bool moving_domain(const struct gtid_pos *a, const struct gtid_pos *b, int64_t *d)
{
    *d = -1;
    const struct gtid_pos *both[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        for (uint32_t i = 0; i < both[s]->n; i++) {
            uint32_t dom = both[s]->g[i].domain;
            if (gtid_pos_seq(a, dom) == gtid_pos_seq(b, dom) || *d == (int64_t)dom)
                continue;
            if (*d >= 0)
                return false;
            *d = dom;
        }
    }
    return true;
}

static const struct gtid *pos_get(const struct gtid_pos *p, uint32_t domain)
{
    for (uint32_t i = 0; i < p->n; i++) {
        if (p->g[i].domain == domain)
            return &p->g[i];
    }
    return NULL;
}

/* ---- the replica stopped at G -------------------------------------------- */

struct stop {
    struct restore_server ctl; /* the monitor account */
    bool stopped;
    struct gtid g; /* where it stands */
};

/* Stop the replica at a GTID the archive holds too (verify_run.h, step 3). */
static bool stop_at_gtid(struct stop *st, verify_ask_fn ask, double wait_s)
{
    char *o = restore_query(&st->ctl, "STOP SLAVE", "to STOP SLAVE");
    if (o == NULL)
        return false;
    free(o);
    st->stopped = true;
    struct gtid_pos r, a;
    if (!replica_pos(&st->ctl, &r) || !archive_pos(ask, &a))
        return false;
    int64_t d;
    char rs[GTID_STR_MAX], as[GTID_STR_MAX];
    gtid_pos_format(&r, rs, sizeof(rs));
    gtid_pos_format(&a, as, sizeof(as));
    if (!moving_domain(&r, &a, &d)) {
        fail("the replica (%s) and the archive (%s) differ in more than one GTID domain: "
             "verify compares at one GTID; try again",
             rs, as);
        return false;
    }
    if (d < 0) { /* level: the domain of the newest sequence number */
        for (uint32_t i = 0; i < r.n; i++) {
            if (d < 0 || r.g[i].seq > gtid_pos_seq(&r, (uint32_t)d))
                d = r.g[i].domain;
        }
    }
    if (d < 0) {
        fail("the replica has no transaction: nothing to verify");
        return false;
    }
    uint64_t rseq = gtid_pos_seq(&r, (uint32_t)d), aseq = gtid_pos_seq(&a, (uint32_t)d);
    double until = hy_mono_s() + wait_s;
    if (aseq > rseq) {
        /* the archive is ahead: the replica goes on to exactly its position */
        char q[GTID_STR_MAX + 64];
        snprintf(q, sizeof(q), "START SLAVE UNTIL master_gtid_pos = '%s'", as);
        o = restore_query(&st->ctl, q, "to START SLAVE UNTIL");
        if (o == NULL)
            return false;
        free(o);
        printf("replica: stopped at %s; started until %s, the archive's position\n", rs, as);
        fflush(stdout);
        for (;;) {
            if (!replica_pos(&st->ctl, &r))
                return false;
            if (gtid_pos_seq(&r, (uint32_t)d) >= aseq)
                break;
            if (interrupted())
                return false;
            if (hy_mono_s() > until) {
                gtid_pos_format(&r, rs, sizeof(rs));
                fail("the replica did not reach %s within %.0f s (it is at %s)", as, wait_s, rs);
                return false;
            }
            nap(50);
        }
        if (gtid_pos_seq(&r, (uint32_t)d) != aseq) {
            gtid_pos_format(&r, rs, sizeof(rs));
            fail("the replica went past %s to %s", as, rs);
            return false;
        }
    } else {
        /* the replica is ahead (or level): the archive catches up to it */
        printf("replica: stopped at %s; the archive is at %s\n", rs, as[0] ? as : "(empty)");
        fflush(stdout);
        while (gtid_pos_seq(&a, (uint32_t)d) < rseq) {
            if (interrupted())
                return false;
            if (hy_mono_s() > until) {
                gtid_pos_format(&a, as, sizeof(as));
                fail("the archive did not reach %s within %.0f s (it is at %s: show backup)", rs,
                     wait_s, as);
                return false;
            }
            nap(100);
            if (!archive_pos(ask, &a))
                return false;
        }
    }
    st->g = *pos_get(&r, (uint32_t)d);
    return true;
}

static void restart(struct stop *st, const char *name, verify_ask_fn ask, bool drained)
{
    if (st->stopped) {
        char *o = restore_query(&st->ctl, "START SLAVE", "to START SLAVE");
        if (o == NULL)
            fail("the replica %s is left stopped: START SLAVE on it by hand", name);
        free(o);
    }
    if (drained) {
        char cmd[200], *ans = NULL;
        snprintf(cmd, sizeof(cmd), "backend %s online", name);
        if (ask(cmd, 10, &ans) != 0 || strncmp(ans, "OK", 2) != 0)
            fail("backend %s is left drained: halyardctl backend %s online", name, name);
        free(ans);
    }
}

/* ---- CHECKSUM TABLE -------------------------------------------------------- */

struct table {
    char *name;      /* `schema`.`table`, quoted as the statement wants */
    char sum[2][24]; /* [0] the scratch server's, [1] the replica's; "" = absent */
};

struct tables {
    struct table *v;
    size_t n, cap;
};

static int cmp_table(const void *x, const void *y)
{
    return strcmp(((const struct table *)x)->name, ((const struct table *)y)->name);
}

static struct table *table_find(struct tables *ts, const char *name, bool add)
{
    for (size_t i = 0; i < ts->n; i++) {
        if (strcmp(ts->v[i].name, name) == 0)
            return &ts->v[i];
    }
    if (!add)
        return NULL;
    if (ts->n == ts->cap && !HY_GROW(ts->v, ts->cap, 64))
        return NULL;
    struct table *t = &ts->v[ts->n];
    memset(t, 0, sizeof(*t));
    t->name = strdup(name);
    if (t->name == NULL)
        return NULL;
    ts->n++;
    return t;
}

static void tables_free(struct tables *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        free(ts->v[i].name);
    free(ts->v);
}

/* Each base table of `s` into ts, with its CHECKSUM TABLE in sum[side]. */
static bool checksums(const struct restore_server *s, int side, struct tables *ts)
{
    char *o = restore_query(
        s,
        "SELECT CONCAT('`', REPLACE(table_schema, '`', '``'), '`.`', REPLACE(table_name, '`', "
        "'``'), '`') FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND "
        "table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') ORDER "
        "BY table_schema, table_name",
        "for its tables");
    if (o == NULL)
        return false;
    struct tables mine = {0};
    bool ok = true;
    for (char *line = strtok(o, "\n"); line != NULL && ok; line = strtok(NULL, "\n"))
        ok = table_find(&mine, line, true) != NULL;
    free(o);
    for (size_t i = 0; i < mine.n && ok; i += CHECKSUM_CHUNK) {
        size_t k = mine.n - i < CHECKSUM_CHUNK ? mine.n - i : CHECKSUM_CHUNK;
        size_t len = 32;
        for (size_t j = 0; j < k; j++)
            len += strlen(mine.v[i + j].name) + 2;
        char *q = malloc(len);
        if (q == NULL) {
            ok = false;
            break;
        }
        size_t ql = (size_t)snprintf(q, len, "CHECKSUM TABLE ");
        for (size_t j = 0; j < k; j++)
            ql += (size_t)snprintf(q + ql, len - ql, "%s%s", j ? ", " : "", mine.v[i + j].name);
        o = restore_query(s, q, "for CHECKSUM TABLE");
        free(q);
        if (o == NULL) {
            ok = false;
            break;
        }
        /* one row per table, in the order named: "schema.table\tchecksum" */
        size_t j = 0;
        for (char *line = strtok(o, "\n"); line != NULL && j < k; line = strtok(NULL, "\n"), j++) {
            const char *tab = strrchr(line, '\t');
            struct table *t = table_find(ts, mine.v[i + j].name, true);
            if (t == NULL) {
                ok = false;
                break;
            }
            snprintf(t->sum[side], sizeof(t->sum[side]), "%s", tab != NULL ? tab + 1 : "?");
        }
        free(o);
        if (ok && j != k) {
            fail("CHECKSUM TABLE on %s:%d answered %zu rows for %zu tables", s->host, s->port, j,
                 k);
            ok = false;
        }
    }
    tables_free(&mine);
    if (!ok)
        fail("could not checksum the tables of %s:%d", s->host, s->port);
    return ok;
}

/* Back to empty after a verify that passed. */
static void empty_scratch(const struct restore_server *s, const char *into)
{
    char *o = restore_query(s,
                            "SELECT CONCAT('DROP DATABASE `', REPLACE(schema_name, '`', '``'), "
                            "'`;') FROM information_schema.schemata WHERE schema_name NOT IN "
                            "('mysql', 'information_schema', 'performance_schema', 'sys')",
                            "for its schemas");
    if (o == NULL)
        return;
    size_t len = strlen(o) + 32;
    char *q = malloc(len);
    if (q != NULL) {
        snprintf(q, len, "%sRESET MASTER", o);
        for (char *c = q; *c; c++) {
            if (*c == '\n')
                *c = ' ';
        }
        char *r = restore_query(s, q, "to empty it");
        if (r == NULL)
            fail("%s could not be emptied: empty it before the next verify", into);
        free(r);
    }
    free(q);
    free(o);
}

/* ---- the command ----------------------------------------------------------- */

static void report(verify_ask_fn ask, const char *result, const struct gtid *g, size_t tables,
                   size_t differ)
{
    char cmd[300], gs[64] = "-", *ans = NULL;
    if (g != NULL && g->seq > 0)
        snprintf(gs, sizeof(gs), "%u-%u-%llu", g->domain, g->server_id, (unsigned long long)g->seq);
    snprintf(cmd, sizeof(cmd), "backup verified %s %s %zu %zu", result, gs, tables, differ);
    if (ask(cmd, 10, &ans) != 0 || strncmp(ans, "OK", 2) != 0)
        fail("halyard did not take the result (%s): show backup does not have it",
             ans != NULL ? ans : "no answer");
    free(ans);
}

/* One run of backup verify: its options, then what it has done so far
 * (the clean-up puts back what it must). */
struct verify {
    const struct config *cfg;
    verify_ask_fn ask;
    struct restore_server scratch; /* --into, --user, --password-file */
    const char *into, *want;       /* want: --replica, NULL = any */
    double wait_s;
    bool keep;
    bool phys; /* the newest full backup is mariadb-backup's */
    struct verify_server vs;
    struct stop st;
    struct restore_server repl; /* the replica, as the backup account */
    struct tables ts;
    const struct config_backend *be; /* the replica */
    bool drained, compared;
    size_t differ;
};

/* -1: go on; else the exit status (--help, a bad option, no scratch
 * server, a physical backup without verify_server_command). */
static int verify_options(struct verify *v, int argc, char **argv)
{
    static const struct option opts[] = {
        {"into", required_argument, NULL, 'i'},
        {"user", required_argument, NULL, 'u'},
        {"password-file", required_argument, NULL, 'p'},
        {"replica", required_argument, NULL, 'r'},
        {"wait", required_argument, NULL, 'w'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct config *cfg = v->cfg;
    int c;
    optind = 2; /* "backup" "verify" */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            v->into = optarg;
            break;
        case 'u':
            snprintf(v->scratch.user, sizeof(v->scratch.user), "%s", optarg);
            break;
        case 'p':
            if (!restore_read_password(optarg, &v->scratch))
                return VF_USAGE;
            break;
        case 'r':
            v->want = optarg;
            break;
        case 'w': {
            if (!hy_str_double(optarg, &v->wait_s) || !(v->wait_s > 0 && v->wait_s <= 86400)) {
                fail("--wait wants seconds, 0 < SECS <= 86400");
                return VF_USAGE;
            }
            break;
        }
        case 'k':
            v->keep = true;
            break;
        case 'h':
            usage(stdout);
            return VF_OK;
        default:
            usage(stderr);
            return VF_USAGE;
        }
    }
    if (optind < argc) {
        fail("unexpected argument: %s", argv[optind]);
        usage(stderr);
        return VF_USAGE;
    }
    if (cfg == NULL || !cfg->backup.enabled) {
        fail("give -c CONFIG with a backup section (backup.dir)");
        return VF_USAGE;
    }
    if (v->into == NULL && cfg->backup.verify_into[0] != '\0')
        v->into = cfg->backup.verify_into;
    if (v->into == NULL) {
        fail("no scratch server: give --into HOST:PORT or set backup.verify_into");
        return VF_USAGE;
    }
    if (!restore_parse_into(v->into, &v->scratch)) {
        fail("--into %s: want HOST:PORT", v->into);
        return VF_USAGE;
    }
    /* A mariadb-backup backup is restored into a datadir, under a server
     * halyardctl starts itself (verify_server.h). */
    v->phys = verify_newest_is_physical(cfg->backup.dir);
    if (v->phys && cfg->backup.verify_server_command[0] == '\0') {
        fail("refused: the newest full backup in %s/full was taken with mariadb-backup, which "
             "no running server can load: set backup.verify_server_command, the command that "
             "starts a scratch server on the datadir halyardctl prepares",
             cfg->backup.dir);
        return VF_USAGE;
    }
    return -1;
}

/* The replica's two logins: the backup account for the checksums (the
 * monitor's when backup.user is not set), the monitor's for STOP and START
 * SLAVE. */
static void replica_logins(struct verify *v)
{
    const struct config *cfg = v->cfg;
    const char *mu = cfg->monitor.user, *mp = cfg->monitor.password;
    const char *bu = cfg->backup.user[0] ? cfg->backup.user : mu;
    const char *bp = cfg->backup.user[0] ? cfg->backup.password : mp;
    v->repl.port = v->be->port;
    v->repl.have_password = true;
    snprintf(v->repl.host, sizeof(v->repl.host), "%s", v->be->address);
    snprintf(v->repl.user, sizeof(v->repl.user), "%s", bu);
    snprintf(v->repl.password, sizeof(v->repl.password), "%s", bp);
    v->st.ctl = v->repl;
    snprintf(v->st.ctl.user, sizeof(v->st.ctl.user), "%s", mu);
    snprintf(v->st.ctl.password, sizeof(v->st.ctl.password), "%s", mp);
}

/* No reads on the replica while it stands still: halyard drains it. */
static bool replica_drain(struct verify *v)
{
    char cmd[200], *ans = NULL;
    snprintf(cmd, sizeof(cmd), "backend %s drain", v->be->name);
    if (v->ask(cmd, 120, &ans) != 0 || strncmp(ans, "OK", 2) != 0) {
        fail("cannot drain %s: %s", v->be->name, ans != NULL ? ans : "no answer");
        free(ans);
        return false;
    }
    free(ans);
    v->drained = true;
    printf("replica: %s (%s:%d), drained of reads\n", v->be->name, v->be->address, v->be->port);
    fflush(stdout);
    return true;
}

/* The checksums of both sides, table by table (gs: the GTID they stand
 * at). VF_OK when every table is on both and the same. */
static int tables_compare(struct verify *v, const char *gs, double t0)
{
    struct tables *ts = &v->ts;
    if (ts->n > 1)
        qsort(ts->v, ts->n, sizeof(*ts->v), cmp_table);
    for (size_t i = 0; i < ts->n; i++) {
        const struct table *t = &ts->v[i];
        if (t->sum[0][0] == '\0' || t->sum[1][0] == '\0') {
            printf("differs: %s exists only on %s\n", t->name,
                   t->sum[0][0] ? "the restored server" : "the replica");
            v->differ++;
        } else if (strcmp(t->sum[0], t->sum[1]) != 0) {
            printf("differs: %s (CHECKSUM TABLE %s restored, %s on the replica)\n", t->name,
                   t->sum[0], t->sum[1]);
            v->differ++;
        }
    }
    if (v->differ == 0) {
        printf("verified at GTID %s: %zu tables identical, 0 differ (%.2f s)\n", gs, ts->n,
               hy_mono_s() - t0);
        return VF_OK;
    }
    printf("NOT verified at GTID %s: %zu of %zu tables differ; %s\n", gs, v->differ, ts->n,
           v->phys ? (v->keep ? "the scratch datadir is kept" : "--keep keeps the scratch datadir")
                   : "the scratch server is left as restored");
    return VF_FAILED;
}

/* The steps (verify_run.h): the scratch server checked empty (or started
 * on its datadir), a replica drained and stopped at a GTID G the archive
 * holds, the restore to G, the checksums compared. */
static int verify_run(struct verify *v)
{
    const struct config *cfg = v->cfg;
    double t0 = hy_mono_s();
    progress_phase(progress_main(), "checking the scratch server", 0);
    if (v->phys ? !verify_server_init(&v->vs, cfg->backup.verify_server_command, &v->scratch)
                : !restore_check_empty(&v->scratch, v->into))
        return VF_FAILED;
    v->be = pick_replica(cfg, v->ask, v->want);
    if (v->be == NULL)
        return VF_FAILED;
    replica_logins(v);
    progress_phase(progress_main(), "draining the replica", 0);
    if (!replica_drain(v))
        return VF_FAILED;
    progress_phase(progress_main(), "stopping the replica at a GTID the archive holds", 0);
    if (interrupted() || !stop_at_gtid(&v->st, v->ask, v->wait_s) || interrupted())
        return VF_FAILED;
    char gs[64];
    snprintf(gs, sizeof(gs), "%u-%u-%llu", v->st.g.domain, v->st.g.server_id,
             (unsigned long long)v->st.g.seq);
    printf("replica: stopped at GTID %s\n", gs);
    fflush(stdout);

    struct restore_target tg = {.gtid = v->st.g};
    struct gtid_pos reached;
    if (restore_run(cfg->backup.dir, &tg, &v->scratch, v->into, v->phys ? v->vs.datadir : NULL,
                    v->phys ? &v->vs.st : NULL, false, &reached) != 0 ||
        interrupted())
        return VF_FAILED;
    const struct gtid *rg = pos_get(&reached, v->st.g.domain);
    if (rg == NULL || rg->seq != v->st.g.seq || rg->server_id != v->st.g.server_id) {
        fail("the restore did not reach %s", gs);
        return VF_FAILED;
    }
    progress_phase(progress_main(), "comparing checksums", 0);
    if (!checksums(&v->scratch, 0, &v->ts) || !checksums(&v->repl, 1, &v->ts))
        return VF_FAILED;
    v->compared = true;
    return tables_compare(v, gs, t0);
}

/* Whatever the run got to: the replica started and back online, the
 * scratch server stopped or emptied, the result sent to halyard. */
static void verify_finish(struct verify *v, int rc)
{
    if (taken) {
        fail("interrupted (signal %d): putting the replica back", (int)taken);
        restore_interrupted = 0; /* the clean-up's own children may run */
    }
    restart(&v->st, v->be != NULL ? v->be->name : "", v->ask, v->drained);
    if (v->phys)
        verify_server_stop(&v->vs, v->keep);
    else if (rc == VF_OK && !v->keep)
        empty_scratch(&v->scratch, v->into);
    report(v->ask,
           rc == VF_OK   ? "ok"
           : v->compared ? "differ"
                         : "failed",
           v->st.stopped ? &v->st.g : NULL, v->ts.n, v->differ);
    if (!v->compared)
        fail("failed: nothing was compared (the reason is above)");
    fflush(stdout);
    tables_free(&v->ts);
    explicit_bzero(v->scratch.password, sizeof(v->scratch.password));
    explicit_bzero(v->st.ctl.password, sizeof(v->st.ctl.password));
    explicit_bzero(v->repl.password, sizeof(v->repl.password));
}

int verify_main(int argc, char **argv, const struct config *cfg, verify_ask_fn ask)
{
    struct verify v = {.cfg = cfg, .ask = ask, .scratch = {.user = "root"}, .wait_s = 60};
    int rc = verify_options(&v, argc, argv);
    if (rc >= 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction old_sa[HY_ARRAY_SIZE(caught)];
    signals_catch(old_sa);
    rc = verify_run(&v);
    verify_finish(&v, rc);
    signals_release(old_sa);
    return rc;
}
