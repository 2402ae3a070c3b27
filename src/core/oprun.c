/*
 * oprun.c: see oprun.h.
 */
#include <stdatomic.h>

#include "halyard/core/oprun.h"

static _Atomic(oprun_fn) listener;

static struct oprun_attr *attr_add(struct oprun *r, const char *key, enum oprun_type type)
{
    if (r->n_attrs >= OPRUN_ATTRS_MAX)
        return NULL;
    struct oprun_attr *a = &r->attrs[r->n_attrs++];
    a->key = key;
    a->type = type;
    a->s = NULL;
    a->i = 0;
    return a;
}

void oprun_str(struct oprun *r, const char *key, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return;
    struct oprun_attr *a = attr_add(r, key, OPRUN_STR);
    if (a != NULL)
        a->s = v;
}

void oprun_int(struct oprun *r, const char *key, int64_t v)
{
    struct oprun_attr *a = attr_add(r, key, OPRUN_INT);
    if (a != NULL)
        a->i = v;
}

void oprun_bool(struct oprun *r, const char *key, bool v)
{
    struct oprun_attr *a = attr_add(r, key, OPRUN_BOOL);
    if (a != NULL)
        a->i = v;
}

void oprun_set_fn(oprun_fn fn)
{
    atomic_store_explicit(&listener, fn, memory_order_release);
}

bool oprun_wanted(void)
{
    return atomic_load_explicit(&listener, memory_order_acquire) != NULL;
}

void oprun_done(const struct oprun *r)
{
    oprun_fn fn = atomic_load_explicit(&listener, memory_order_acquire);
    if (fn != NULL)
        fn(r);
}
