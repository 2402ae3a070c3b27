/*
 * colmeta.c: MARIADB_CLIENT_CACHE_METADATA toward the client (see colmeta.h).
 */
#include "halyard/protocol/colmeta.h"

#include <string.h>

#include <openssl/evp.h>

#include "halyard/protocol/mysql_proto.h"

enum colmeta_rc colmeta_defs_scan(const uint8_t *p, size_t avail, uint64_t n, size_t limit,
                                  struct colmeta_scan *out)
{
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (off + MYSQL_HEADER_SIZE > limit)
            return COLMETA_BIG;
        if (off + MYSQL_HEADER_SIZE > avail)
            return COLMETA_MORE;
        uint32_t len = mysql_hdr_len(p + off);
        if (len >= MYSQL_MAX_PAYLOAD || off + MYSQL_HEADER_SIZE + len > limit)
            return COLMETA_BIG;
        off += MYSQL_HEADER_SIZE + len;
        if (off > avail)
            return COLMETA_MORE;
    }
    /* Every definition is here: sign each one's length and bytes, not its
     * sequence id, which differs between a PREPARE's answer and an
     * EXECUTE's. */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return COLMETA_BIG; /* then nothing is left out: always right */
    }
    bool ok = true;
    for (size_t at = 0; at < off && ok;) {
        uint32_t len = mysql_hdr_len(p + at);
        ok = EVP_DigestUpdate(ctx, p + at, 3) == 1 &&
             EVP_DigestUpdate(ctx, p + at + MYSQL_HEADER_SIZE, len) == 1;
        at += MYSQL_HEADER_SIZE + len;
    }
    unsigned int sig_len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, out->sig, &sig_len) == 1 && sig_len == COLMETA_SIG_LEN;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return COLMETA_BIG;
    out->len = off;
    return COLMETA_OK;
}

bool colmeta_skip(const struct colmeta_sig *held, const uint8_t sig[COLMETA_SIG_LEN])
{
    return held->known && memcmp(held->sig, sig, COLMETA_SIG_LEN) == 0;
}

size_t colmeta_count_packet(const uint8_t *count, uint32_t len, bool follows, uint8_t seq,
                            uint8_t *out, size_t cap)
{
    if (len == 0 || len > 9 || cap < MYSQL_HEADER_SIZE + len + 1)
        return 0;
    out[0] = (uint8_t)(len + 1);
    out[1] = out[2] = 0;
    out[3] = seq;
    memcpy(out + MYSQL_HEADER_SIZE, count, len);
    out[MYSQL_HEADER_SIZE + len] = follows ? 1 : 0;
    return MYSQL_HEADER_SIZE + len + 1;
}
