/*
 * connreg.c: see connreg.h. One list under one mutex: it is walked only by
 * a statement that reads a process list, and changed once per connection.
 */
#include <pthread.h>
#include <string.h>

#include "halyard/protocol/connreg.h"
#include "halyard/core/hash.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct connreg_entry *reg_head;

uint64_t connreg_server(const char *address, int port)
{
    uint64_t h = hy_hash64_str(HY_HASH64_INIT, address != NULL ? address : "", false);
    h = hy_hash64_byte(h, ':');
    return hy_hash64_byte(hy_hash64_byte(h, (uint8_t)port), (uint8_t)((unsigned)port >> 8));
}

static void unlink_locked(struct connreg_entry *e)
{
    if (!e->listed)
        return;
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        reg_head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    e->prev = e->next = NULL;
    e->listed = false;
}

void connreg_add(struct connreg_entry *e, uint64_t server, uint32_t thread)
{
    pthread_mutex_lock(&reg_lock);
    unlink_locked(e);
    e->server = server;
    e->thread = thread;
    atomic_store_explicit(&e->session, 0, memory_order_relaxed);
    e->prev = NULL;
    e->next = reg_head;
    if (reg_head != NULL)
        reg_head->prev = e;
    reg_head = e;
    e->listed = true;
    pthread_mutex_unlock(&reg_lock);
}

void connreg_remove(struct connreg_entry *e)
{
    pthread_mutex_lock(&reg_lock);
    unlink_locked(e);
    pthread_mutex_unlock(&reg_lock);
}

size_t connreg_list(uint64_t server, struct connreg_row *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&reg_lock);
    for (const struct connreg_entry *e = reg_head; e != NULL; e = e->next) {
        if (e->server != server)
            continue;
        if (n < max)
            out[n] = (struct connreg_row){
                .thread = e->thread,
                .session = atomic_load_explicit(&e->session, memory_order_relaxed)};
        n++;
    }
    pthread_mutex_unlock(&reg_lock);
    return n;
}
