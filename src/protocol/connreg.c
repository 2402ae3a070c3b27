/*
 * connreg.c: see connreg.h. One list under one mutex: it is walked only by
 * a statement that reads a process list, and changed once per connection.
 */
#include <pthread.h>
#include <string.h>

#include "halyard/protocol/connreg.h"

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct connreg_entry *reg_head;

uint64_t connreg_server(const char *address, int port)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (const char *p = address != NULL ? address : ""; *p != '\0'; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ (uint8_t)':') * 1099511628211ull;
    for (int i = 0; i < 2; i++)
        h = (h ^ (uint8_t)((unsigned)port >> (8 * i))) * 1099511628211ull;
    return h;
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
