/*
 * web_int.h: the status page's files, built into the binary from
 * src/web/assets/ by the Makefile (tools/embed-assets writes
 * build/gen/web_assets.c). Private to src/web/.
 */
#ifndef HALYARD_WEB_INT_H
#define HALYARD_WEB_INT_H

#include <stddef.h>

struct web_asset {
    const char *path; /* as requested: "/status.js" */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
};

extern const struct web_asset web_assets[];
extern const size_t web_n_assets;

#endif /* HALYARD_WEB_INT_H */
