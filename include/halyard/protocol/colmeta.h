/*
 * colmeta.h: MARIADB_CLIENT_CACHE_METADATA toward the client, as data.
 *
 * With that capability a MariaDB server puts a `metadata_follows` byte
 * after the column count of every result set it sends (1: the column
 * definitions follow; 0: they are left out, while the EOF after them, for
 * a client without CLIENT_DEPRECATE_EOF, still comes), and leaves the definitions of a
 * COM_STMT_EXECUTE's result out when they are the ones it last sent the client for that statement
 * (its COM_STMT_PREPARE answer's count as sent). The client then reuses what it last received for
 * the statement.
 *
 * halyard asks its backends without the capability, so it always reads
 * whole definitions, and keeps the cache itself: per client statement, the
 * signature (SHA-256 over each definition's length and bytes) of the
 * definitions it last sent that client. An execution whose definitions
 * have the same signature goes out without them; any other goes out with
 * them and becomes the new signature. Whichever backend ran the
 * statement, the client reads what halyard believes it holds. No I/O;
 * tests/unit/test_colmeta.c.
 */
#ifndef HALYARD_COLMETA_H
#define HALYARD_COLMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COLMETA_SIG_LEN 32

/* What a client holds for one statement: the signature of the column
 * definitions halyard last sent it, or nothing known (never sent, or sent
 * without halyard keeping their signature: they did not fit a buffer). */
struct colmeta_sig {
    bool known;
    uint8_t sig[COLMETA_SIG_LEN];
};

enum colmeta_rc {
    COLMETA_OK,   /* every definition is at hand: `len` and `sig` are set */
    COLMETA_MORE, /* not all of them have arrived yet */
    COLMETA_BIG,  /* they would not fit in `limit` bytes (or a packet is 16 MiB) */
};

struct colmeta_scan {
    size_t len;                   /* bytes of the definitions, headers included */
    uint8_t sig[COLMETA_SIG_LEN]; /* their signature */
};

/* Walk `n` column definition packets (headers included) at `p`, `avail`
 * bytes at hand, without reading past `limit` bytes. */
enum colmeta_rc colmeta_defs_scan(const uint8_t *p, size_t avail, uint64_t n, size_t limit,
                                  struct colmeta_scan *out);

/* Whether definitions of signature `sig` may be left out for a client
 * that holds `held`. */
bool colmeta_skip(const struct colmeta_sig *held, const uint8_t sig[COLMETA_SIG_LEN]);

/* The client's column count packet: the backend's count payload (`count`,
 * `len` bytes, a lenenc integer) and the metadata_follows byte, with
 * sequence id `seq`, written to `out` (at least 4 + len + 1 bytes).
 * Returns its length, or 0 when `len` is not 1 to 9 bytes. */
size_t colmeta_count_packet(const uint8_t *count, uint32_t len, bool follows, uint8_t seq,
                            uint8_t *out, size_t cap);

#endif /* HALYARD_COLMETA_H */
