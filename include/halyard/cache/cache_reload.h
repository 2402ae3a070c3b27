/*
 * cache_reload.h: what a reload keeps of the query cache (issue 30), as
 * decisions on the two configs; no locking, no I/O. cache.c applies the
 * rule map to the store (cache_store_remap), cache_follow.c the stream's.
 *
 * The entries of a rule are kept when the new config has a rule of the
 * same name, with action = "cache" and the same conditions (so it matches
 * the same statements), and no rule before it there that could take its
 * statements first: every rule before it in the new config is one of the
 * same name and conditions that was before it in the old. A smaller ttl_ms
 * brings the entries' expiry down, a smaller max_result_bytes drops the
 * larger answers (cache_store_remap). Anything else drops them.
 *
 * The binary log stream is kept (the reader re-attaches from the position
 * it had applied, in strict mode, as across a failover) when the new config
 * has a backend at the address and port of the server it read, and
 * cache.user, cache.password and cache.server_id are the same; else the
 * cache is emptied and the reader starts again.
 *
 * Tested in tests/unit/test_cache_reload.c.
 */
#ifndef HALYARD_CACHE_RELOAD_H
#define HALYARD_CACHE_RELOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "halyard/cache/cache_store.h"

struct config;

/* map[i] for each rule i of `old` below n (the rest: not kept). Returns
 * how many rules' entries are kept. */
size_t cache_reload_rules(const struct config *old, const struct config *fresh,
                          struct cache_rule_map *map, size_t n);

/* The index of the rule named `name` in cfg, or -1. */
long cache_reload_rule_index(const struct config *cfg, const char *name);

/* Whether the reader of `old`'s backend `src` (-1: re-attaching, no
 * server yet: only the account is compared) may keep its position in
 * `fresh`; when not, why (for the log) in `why`. */
bool cache_reload_stream(const struct config *old, int src, const struct config *fresh, char *why,
                         size_t whylen);

#endif /* HALYARD_CACHE_RELOAD_H */
