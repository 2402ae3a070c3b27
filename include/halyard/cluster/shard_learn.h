/*
 * shard_learn.h: the schema map learned from the groups (shards.learn).
 *
 * A loader on the monitor's loop (as users.c reads accounts) runs SHOW
 * DATABASES on each group's primary, as the group's monitor account,
 * every shards.refresh_ms, and publishes the map sessions use: the
 * config's entries, then what the groups list (shard_map_merge, pure). A
 * group whose read fails keeps its last list. The map is an immutable,
 * reference-counted snapshot: a session holds one and looks at an atomic
 * generation per statement, taking the new snapshot (under a mutex, only
 * then) when it changed and it is not in a transaction, so a session in a
 * transaction finishes on the map it began with. A snapshot is for one
 * loaded config (group indexes are its): a session of another config
 * (a reload not yet seen by the loader) uses its config's map.
 */
#ifndef HALYARD_SHARD_LEARN_H
#define HALYARD_SHARD_LEARN_H

#include <ev.h>
#include <stdbool.h>

#include "halyard/config/config.h"
#include "halyard/sql/shard.h"

struct shard_snap;

/* The map for a session of loaded config `root`: the learned one (a
 * reference in *held, kept while `keep` and root's), else root's own.
 * Any thread; a mutex only when the snapshot changed. */
const struct shard_map *shard_snap_map(struct shard_snap **held, const struct config *root,
                                       bool keep);
/* Without taking anything: *held's map when it is root's, else root's. */
const struct shard_map *shard_snap_peek(const struct shard_snap *held, const struct config *root);
/* Drop the reference in *held. */
void shard_snap_release(struct shard_snap **held);

struct shard_loader;
struct shard_loader *shard_loader_create(struct ev_loop *loop, struct config *cfg);
/* A new config (monitor thread): its map and settings from now on. */
void shard_loader_configure(struct shard_loader *l, struct config *cfg);
void shard_loader_destroy(struct shard_loader *l);

#endif /* HALYARD_SHARD_LEARN_H */
