/*
 * guard.c: shared login state. See guard.h.
 *
 * The address table is an array of auth_block_table_size slots, allocated
 * at start and again when a reload changes the size (guard_resize moves
 * the tracked addresses over). An address hashes to a slot and may live in that slot or the
 * GUARD_PROBE after it; a slot is free when it was never used, was
 * unblocked, or its window and block have both passed. When the probed
 * slots are all live, the one with the oldest last failure is taken, so a
 * flood of addresses cannot grow the table, only push out the stalest.
 *
 * Times come from CLOCK_MONOTONIC in milliseconds: workers have their own
 * loops, whose cached times differ slightly, and the admin thread asks too.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "halyard/core/clock.h"
#include "halyard/core/events.h"
#include "halyard/session/guard.h"
#include "halyard/core/hash.h"

#define GUARD_PROBE        16
#define GUARD_USER_BUCKETS 1024
#define GUARD_USERS_MAX    100000 /* cached logins kept at most */

struct addr_slot {
    bool used;
    uint8_t key[17]; /* family byte + 16 address bytes */
    uint32_t failures;
    int64_t first_ms;         /* first failure of the window */
    int64_t last_ms;          /* last failure */
    int64_t blocked_until_ms; /* 0 = not blocked */
};

static pthread_mutex_t addr_lock = PTHREAD_MUTEX_INITIALIZER;
static struct addr_slot *addr_slots;
static size_t addr_n;

static size_t key_hash(const uint8_t key[17]);

/* Put `from` into table t[n] as slot_find would find it: the first unused
 * slot of its probe window, else over the one whose last failure is oldest
 * if `from`'s is newer (a smaller table keeps the latest). */
static void slot_move(struct addr_slot *t, size_t n, const struct addr_slot *from)
{
    size_t h = key_hash(from->key) % n;
    struct addr_slot *oldest = NULL;
    for (size_t i = 0; i < GUARD_PROBE && i < n; i++) {
        struct addr_slot *s = &t[(h + i) % n];
        if (!s->used) {
            *s = *from;
            return;
        }
        if (oldest == NULL || s->last_ms < oldest->last_ms)
            oldest = s;
    }
    if (oldest->last_ms < from->last_ms)
        *oldest = *from;
}

hy_status_t guard_resize(size_t slots)
{
    pthread_mutex_lock(&addr_lock);
    size_t cur = addr_n;
    pthread_mutex_unlock(&addr_lock);
    if (slots == cur)
        return HY_OK;
    struct addr_slot *t = calloc(slots, sizeof(*t));
    if (t == NULL)
        return HY_NOMEM;
    pthread_mutex_lock(&addr_lock);
    for (size_t i = 0; i < addr_n; i++) {
        if (addr_slots[i].used)
            slot_move(t, slots, &addr_slots[i]);
    }
    free(addr_slots);
    addr_slots = t;
    addr_n = slots;
    pthread_mutex_unlock(&addr_lock);
    return HY_OK;
}

/* The table key: IPv4 as it is (also when mapped into IPv6), IPv6 cut to
 * its /64. False for a client that is not IP (nothing to track). */
static bool addr_key(const struct rules_addr *a, uint8_t key[17])
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    memset(key, 0, 17);
    if (a->family == AF_INET || (a->family == AF_INET6 && memcmp(a->addr, mapped, 12) == 0)) {
        key[0] = 4;
        memcpy(key + 1, a->family == AF_INET ? a->addr : a->addr + 12, 4);
        return true;
    }
    if (a->family == AF_INET6) {
        key[0] = 6;
        memcpy(key + 1, a->addr, 8);
        return true;
    }
    return false;
}

static void key_format(const uint8_t key[17], char *out, size_t len)
{
    char buf[INET6_ADDRSTRLEN];
    if (key[0] == 4) {
        inet_ntop(AF_INET, key + 1, buf, sizeof(buf));
        snprintf(out, len, "%s", buf);
    } else {
        inet_ntop(AF_INET6, key + 1, buf, sizeof(buf));
        snprintf(out, len, "%s/64", buf);
    }
}

void guard_addr_format(const struct rules_addr *a, char *out, size_t len)
{
    uint8_t key[17];
    if (addr_key(a, key))
        key_format(key, out, len);
    else
        snprintf(out, len, "%s", "");
}

static size_t key_hash(const uint8_t key[17])
{
    uint64_t h = hy_hash64(key, 17);
    return (size_t)(h ^ (h >> 29));
}

/* A slot that no longer says anything. */
static bool slot_dead(const struct addr_slot *s, const struct config *cfg, int64_t now)
{
    if (!s->used)
        return true;
    if (s->blocked_until_ms != 0)
        return now >= s->blocked_until_ms;
    return now - s->first_ms >= cfg->auth_fail_window_ms;
}

/* The slot of `key`, or NULL; with `create`, a slot for it (caller holds
 * the lock). */
static struct addr_slot *slot_find(const struct config *cfg, const uint8_t key[17], bool create,
                                   int64_t now)
{
    if (addr_n == 0)
        return NULL;
    size_t h = key_hash(key) % addr_n;
    struct addr_slot *free_slot = NULL, *oldest = NULL;
    for (size_t i = 0; i < GUARD_PROBE && i < addr_n; i++) {
        struct addr_slot *s = &addr_slots[(h + i) % addr_n];
        if (s->used && memcmp(s->key, key, 17) == 0) {
            if (slot_dead(s, cfg, now)) {
                memset(s, 0, sizeof(*s));
                break; /* its time is over: start it afresh below */
            }
            return s;
        }
        if (free_slot == NULL && slot_dead(s, cfg, now))
            free_slot = s;
        if (oldest == NULL || s->last_ms < oldest->last_ms)
            oldest = s;
    }
    if (!create)
        return NULL;
    if (free_slot == NULL) {
        /* the key's own dead slot, if it was just cleared, is free too */
        for (size_t i = 0; i < GUARD_PROBE && i < addr_n && free_slot == NULL; i++) {
            struct addr_slot *s = &addr_slots[(h + i) % addr_n];
            if (!s->used)
                free_slot = s;
        }
    }
    struct addr_slot *s = free_slot != NULL ? free_slot : oldest;
    memset(s, 0, sizeof(*s));
    s->used = true;
    memcpy(s->key, key, 17);
    s->first_ms = now;
    return s;
}

bool guard_blocked(const struct config *cfg, const struct rules_addr *a, int64_t *remaining_ms)
{
    uint8_t key[17];
    *remaining_ms = 0;
    if (cfg->auth_fail_limit == 0 || !addr_key(a, key))
        return false;
    int64_t now = hy_mono_ms();
    bool blocked = false;
    pthread_mutex_lock(&addr_lock);
    struct addr_slot *s = slot_find(cfg, key, false, now);
    if (s != NULL && s->blocked_until_ms > now) {
        blocked = true;
        *remaining_ms = s->blocked_until_ms - now;
    }
    pthread_mutex_unlock(&addr_lock);
    return blocked;
}

int guard_login_result(const struct config *cfg, const struct rules_addr *a, bool ok)
{
    uint8_t key[17];
    uint32_t limit = (uint32_t)cfg->auth_fail_limit;
    if (limit == 0 || !addr_key(a, key))
        return 0;
    int64_t now = hy_mono_ms();
    int64_t delay = 0;
    uint32_t blocked_after = 0;
    pthread_mutex_lock(&addr_lock);
    struct addr_slot *s = slot_find(cfg, key, !ok, now);
    if (s != NULL) {
        if (!ok) {
            s->failures++;
            s->last_ms = now;
            if (s->failures >= 2 * limit && s->blocked_until_ms == 0) {
                s->blocked_until_ms = now + cfg->auth_block_ms;
                blocked_after = s->failures;
            }
        }
        if (s->failures >= limit)
            delay = (int64_t)cfg->auth_delay_ms * (s->failures - limit + 1);
        if (ok && s->blocked_until_ms == 0)
            memset(s, 0, sizeof(*s)); /* a good login clears the address */
    }
    pthread_mutex_unlock(&addr_lock);
    if (blocked_after > 0) {
        char who[INET6_ADDRSTRLEN + 4], why[96], action[96];
        key_format(key, who, sizeof(who));
        snprintf(why, sizeof(why), "%u failed logins within auth_fail_window_ms", blocked_after);
        snprintf(action, sizeof(action), "its connections get error 1129 for %d ms",
                 cfg->auth_block_ms);
        events_emit(EVENT_AUTH_BLOCK, who, "allowed", "blocked", why, action);
    }
    /* never longer than the client is given to log in */
    return (int)HY_MIN(delay, (int64_t)cfg->login_timeout_ms);
}

size_t guard_list(const struct config *cfg, struct guard_row *rows, size_t max)
{
    size_t n = 0;
    int64_t now = hy_mono_ms();
    pthread_mutex_lock(&addr_lock);
    for (size_t i = 0; i < addr_n && n < max; i++) {
        struct addr_slot *s = &addr_slots[i];
        if (slot_dead(s, cfg, now))
            continue;
        struct guard_row *r = &rows[n++];
        key_format(s->key, r->address, sizeof(r->address));
        r->failures = s->failures;
        r->blocked = s->blocked_until_ms != 0;
        r->blocked_ms = r->blocked ? s->blocked_until_ms - now : 0;
        r->window_ms = HY_MAX(0, s->first_ms + cfg->auth_fail_window_ms - now);
        r->last_fail_ms = now - s->last_ms;
    }
    pthread_mutex_unlock(&addr_lock);
    return n;
}

bool guard_addr_parse(const char *text, struct rules_addr *out)
{
    memset(out, 0, sizeof(*out));
    char buf[INET6_ADDRSTRLEN + 8];
    snprintf(buf, sizeof(buf), "%s", text);
    char *slash = strchr(buf, '/'); /* "2001:db8::/64" as show blocked prints it */
    if (slash != NULL) {
        if (strcmp(slash, "/64") != 0)
            return false;
        *slash = '\0';
    }
    if (slash == NULL && inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        return true;
    }
    return false;
}

int guard_unblock(const char *address)
{
    int n = 0;
    bool all = strcmp(address, "all") == 0;
    uint8_t key[17];
    struct rules_addr a;
    if (!all && (!guard_addr_parse(address, &a) || !addr_key(&a, key)))
        return -1;
    pthread_mutex_lock(&addr_lock);
    for (size_t i = 0; i < addr_n; i++) {
        struct addr_slot *s = &addr_slots[i];
        if (s->used && (all || memcmp(s->key, key, 17) == 0)) {
            memset(s, 0, sizeof(*s));
            n++;
        }
    }
    pthread_mutex_unlock(&addr_lock);
    return n;
}

/* ---- users -------------------------------------------------------------- */

struct user_entry {
    struct user_entry *next;
    int sessions;
    bool has_h1, has_s2;
    uint8_t h1[MYSQL_SHA1_LEN];
    uint8_t s2[MYSQL_SHA256_LEN];
    char name[];
};

static pthread_mutex_t user_lock = PTHREAD_MUTEX_INITIALIZER;
static struct user_entry *user_table[GUARD_USER_BUCKETS];
static size_t user_count;

static struct user_entry **user_slot(const char *name)
{
    uint64_t h = hy_hash64_str(HY_HASH64_INIT, name, false);
    struct user_entry **pp = &user_table[h % GUARD_USER_BUCKETS];
    while (*pp != NULL && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* The entry of `name`, created when missing (caller holds the lock). */
static struct user_entry *user_get(const char *name)
{
    struct user_entry **pp = user_slot(name);
    if (*pp != NULL)
        return *pp;
    size_t len = strlen(name);
    struct user_entry *e = calloc(1, sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->name, name, len + 1);
    *pp = e;
    user_count++;
    return e;
}

/* Drop an entry that holds nothing (caller holds the lock). */
static void user_maybe_free(const char *name)
{
    struct user_entry **pp = user_slot(name);
    struct user_entry *e = *pp;
    if (e == NULL || e->sessions > 0 || e->has_h1)
        return;
    *pp = e->next;
    user_count--;
    free(e);
}

bool guard_user_enter(const char *user, int max, int *current)
{
    bool ok = true;
    pthread_mutex_lock(&user_lock);
    struct user_entry *e = user_get(user);
    if (e == NULL) {
        *current = 0;
        pthread_mutex_unlock(&user_lock);
        return max <= 0; /* out of memory: refuse only where a limit applies */
    }
    *current = e->sessions;
    if (max > 0 && e->sessions >= max)
        ok = false;
    else
        e->sessions++;
    user_maybe_free(user);
    pthread_mutex_unlock(&user_lock);
    return ok;
}

void guard_user_leave(const char *user)
{
    pthread_mutex_lock(&user_lock);
    struct user_entry *e = *user_slot(user);
    if (e != NULL && e->sessions > 0) {
        e->sessions--;
        user_maybe_free(user);
    }
    pthread_mutex_unlock(&user_lock);
}

int guard_user_sessions(const char *user)
{
    pthread_mutex_lock(&user_lock);
    struct user_entry *e = *user_slot(user);
    int n = e != NULL ? e->sessions : 0;
    pthread_mutex_unlock(&user_lock);
    return n;
}

void guard_cache_put(const char *user, const uint8_t h1[MYSQL_SHA1_LEN], const uint8_t *s2)
{
    pthread_mutex_lock(&user_lock);
    struct user_entry *e = *user_slot(user);
    if (e == NULL && user_count < GUARD_USERS_MAX)
        e = user_get(user);
    if (e != NULL) {
        /* S2 from an earlier full authentication stays valid only with the
         * same H1: keep it when the password is unchanged. */
        bool same = e->has_h1 && CRYPTO_memcmp(e->h1, h1, MYSQL_SHA1_LEN) == 0;
        memcpy(e->h1, h1, MYSQL_SHA1_LEN);
        e->has_h1 = true;
        if (s2 != NULL) {
            memcpy(e->s2, s2, MYSQL_SHA256_LEN);
            e->has_s2 = true;
        } else if (!same) {
            OPENSSL_cleanse(e->s2, sizeof(e->s2));
            e->has_s2 = false;
        }
    }
    pthread_mutex_unlock(&user_lock);
}

bool guard_cache_get(const char *user, const uint8_t h2[MYSQL_SHA1_LEN], uint8_t h1[MYSQL_SHA1_LEN],
                     uint8_t s2[MYSQL_SHA256_LEN], bool *has_s2)
{
    bool found = false;
    *has_s2 = false;
    pthread_mutex_lock(&user_lock);
    struct user_entry *e = *user_slot(user);
    if (e != NULL && e->has_h1) {
        uint8_t check[MYSQL_SHA1_LEN];
        SHA1(e->h1, MYSQL_SHA1_LEN, check);
        if (CRYPTO_memcmp(check, h2, MYSQL_SHA1_LEN) == 0) {
            found = true;
            memcpy(h1, e->h1, MYSQL_SHA1_LEN);
            if (e->has_s2) {
                memcpy(s2, e->s2, MYSQL_SHA256_LEN);
                *has_s2 = true;
            }
        }
    }
    pthread_mutex_unlock(&user_lock);
    return found;
}

void guard_destroy(void)
{
    pthread_mutex_lock(&addr_lock);
    free(addr_slots);
    addr_slots = NULL;
    addr_n = 0;
    pthread_mutex_unlock(&addr_lock);
    pthread_mutex_lock(&user_lock);
    for (size_t i = 0; i < GUARD_USER_BUCKETS; i++) {
        while (user_table[i] != NULL) {
            struct user_entry *e = user_table[i];
            user_table[i] = e->next;
            OPENSSL_cleanse(e, sizeof(*e));
            free(e);
        }
    }
    user_count = 0;
    pthread_mutex_unlock(&user_lock);
}
