/*
 * primary_client.h: a connection to a group's primary as the group's
 * monitor account, for the loaders that read the servers on the monitor's
 * loop (users.c: the accounts, shard_learn.c: the schemas).
 */
#ifndef HALYARD_PRIMARY_CLIENT_H
#define HALYARD_PRIMARY_CLIENT_H

#include <stddef.h>

struct config;
struct ev_loop;
struct sqlclient;

/* A client (not yet connected) for the usable primary of `view`, a group's
 * view (group.h), logging in as its monitor account with its check timeout;
 * the primary's name is written to `name`, or "the primary" when there is
 * none. NULL when there is none or no memory, with *why saying which. */
struct sqlclient *primary_client_create(struct ev_loop *loop, const struct config *view, char *name,
                                        size_t name_len, const char **why);

#endif
