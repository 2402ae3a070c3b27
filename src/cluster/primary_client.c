/*
 * primary_client.c: a connection to a group's primary as the group's
 * monitor account (primary_client.h).
 */
#include <stdio.h>

#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/cluster/primary_client.h"
#include "halyard/protocol/sqlclient.h"

struct sqlclient *primary_client_create(struct ev_loop *loop, const struct config *view, char *name,
                                        size_t name_len, const char **why)
{
    int idx = backend_primary_index(view);
    if (idx < 0) {
        snprintf(name, name_len, "the primary");
        *why = "no usable primary";
        return NULL;
    }
    const struct config_backend *be = &view->backends[idx];
    snprintf(name, name_len, "%s", be->name);
    struct sqlclient_target t = {
        .name = be->name,
        .address = be->address,
        .port = be->port,
        .user = view->monitor.user,
        .password = view->monitor.password,
        .tls = be->tls,
        .tls_ctx = be->tls_ctx,
    };
    struct sqlclient *sc = sqlclient_create(loop, &t, view->monitor.timeout_ms);
    if (sc == NULL)
        *why = "out of memory";
    return sc;
}
