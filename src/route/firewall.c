/*
 * firewall.c: the per-user statement firewall. See firewall.h.
 *
 * Enforcing reads only the immutable config (a binary search in the user's
 * sorted hashes). Learning writes a chained hash table of (user, digest
 * hash) entries behind one mutex, capped by firewall_learn_max.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "halyard/sql/digest.h"
#include "halyard/route/firewall.h"
#include "halyard/core/hash.h"

#define FW_BUCKETS 4096

struct fw_entry {
    struct fw_entry *next;
    uint64_t hash;
    uint64_t count;
    uint64_t seq; /* order of first sighting */
    time_t first, last;
    char *user;
    char *text;
};

static pthread_mutex_t fw_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fw_entry *fw_table[FW_BUCKETS];
static size_t fw_n, fw_max;
static uint64_t fw_dropped, fw_seq;

void firewall_set_max(size_t max_entries)
{
    pthread_mutex_lock(&fw_lock);
    fw_max = max_entries;
    pthread_mutex_unlock(&fw_lock);
}

static size_t bucket_of(const char *user, uint64_t hash)
{
    uint64_t h = hy_hash64_str(hash, user, false);
    return (size_t)((h ^ (h >> 31)) % FW_BUCKETS);
}

static void learn(const char *user, uint64_t hash, const char *digest, size_t len)
{
    size_t b = bucket_of(user, hash);
    time_t now = time(NULL);
    pthread_mutex_lock(&fw_lock);
    struct fw_entry *e = fw_table[b];
    while (e != NULL && !(e->hash == hash && strcmp(e->user, user) == 0))
        e = e->next;
    if (e != NULL) {
        e->count++;
        e->last = now;
    } else if (fw_n >= fw_max) {
        fw_dropped++;
    } else if ((e = calloc(1, sizeof(*e))) != NULL) {
        len = HY_MIN(len, (size_t)DIGEST_TEXT_MAX);
        e->user = strdup(user);
        e->text = malloc(len + 1);
        if (e->user == NULL || e->text == NULL) {
            free(e->user);
            free(e->text);
            free(e);
            fw_dropped++;
        } else {
            memcpy(e->text, digest, len);
            e->text[len] = '\0';
            e->hash = hash;
            e->count = 1;
            e->first = e->last = now;
            e->seq = fw_seq++;
            e->next = fw_table[b];
            fw_table[b] = e;
            fw_n++;
        }
    } else {
        fw_dropped++;
    }
    pthread_mutex_unlock(&fw_lock);
}

bool firewall_allows(const struct config_user *u, uint64_t hash, const char *digest, size_t len)
{
    switch (u->firewall) {
    case FIREWALL_OFF:
        return true;
    case FIREWALL_LEARN:
        learn(u->name, hash, digest != NULL ? digest : "", digest != NULL ? len : 0);
        return true;
    case FIREWALL_ENFORCE:
        break;
    }
    size_t lo = 0, hi = u->n_fw_hashes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (u->fw_hashes[mid] == hash)
            return true;
        if (u->fw_hashes[mid] < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int row_cmp(const void *x, const void *y)
{
    const struct fw_entry *a = *(struct fw_entry *const *)x, *b = *(struct fw_entry *const *)y;
    int c = strcmp(a->user, b->user);
    if (c != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

size_t firewall_list(const char *user, struct firewall_row **rows, uint64_t *dropped)
{
    *rows = NULL;
    pthread_mutex_lock(&fw_lock);
    *dropped = fw_dropped;
    struct fw_entry **all = malloc((fw_n ? fw_n : 1) * sizeof(*all));
    if (all == NULL) {
        pthread_mutex_unlock(&fw_lock);
        return (size_t)-1;
    }
    size_t n = 0;
    for (size_t b = 0; b < FW_BUCKETS; b++) {
        for (struct fw_entry *e = fw_table[b]; e != NULL; e = e->next) {
            if (user == NULL || strcmp(e->user, user) == 0)
                all[n++] = e;
        }
    }
    qsort(all, n, sizeof(*all), row_cmp);
    struct firewall_row *out = calloc(n ? n : 1, sizeof(*out));
    if (out == NULL) {
        free(all);
        pthread_mutex_unlock(&fw_lock);
        return (size_t)-1;
    }
    for (size_t i = 0; i < n; i++) {
        struct firewall_row *r = &out[i];
        snprintf(r->user, sizeof(r->user), "%s", all[i]->user);
        snprintf(r->text, sizeof(r->text), "%s", all[i]->text);
        r->hash = all[i]->hash;
        r->count = all[i]->count;
        r->first = all[i]->first;
        r->last = all[i]->last;
    }
    pthread_mutex_unlock(&fw_lock);
    free(all);
    *rows = out;
    return n;
}

size_t firewall_forget(const char *user)
{
    size_t n = 0;
    pthread_mutex_lock(&fw_lock);
    for (size_t b = 0; b < FW_BUCKETS; b++) {
        struct fw_entry **pp = &fw_table[b];
        while (*pp != NULL) {
            struct fw_entry *e = *pp;
            if (user != NULL && strcmp(e->user, user) != 0) {
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            free(e->user);
            free(e->text);
            free(e);
            fw_n--;
            n++;
        }
    }
    if (user == NULL)
        fw_dropped = 0;
    pthread_mutex_unlock(&fw_lock);
    return n;
}

void firewall_destroy(void)
{
    (void)firewall_forget(NULL);
}
