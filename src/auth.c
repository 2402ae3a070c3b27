/*
 * auth.c: see auth.h for the mysql_native_password algebra.
 *
 * Every intermediate digest is wiped before returning: H1 is as good as the
 * password for logging in anywhere the same user exists, and SHA1(S + H2)
 * together with a client's reply gives H1.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "halyard/auth.h"

#define HASH_TEXT_LEN (1 + 2 * MYSQL_SHA1_LEN) /* "*" + 40 hex digits */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

hy_status_t auth_hash_parse(const char *text, uint8_t h2[MYSQL_SHA1_LEN], bool *empty)
{
    memset(h2, 0, MYSQL_SHA1_LEN);
    *empty = false;
    if (text[0] == '\0') {
        *empty = true;
        return HY_OK;
    }
    if (text[0] != '*' || strnlen(text, HASH_TEXT_LEN + 1) != HASH_TEXT_LEN)
        return HY_ERROR;
    for (size_t i = 0; i < MYSQL_SHA1_LEN; i++) {
        int hi = hex_value(text[1 + 2 * i]);
        int lo = hex_value(text[2 + 2 * i]);
        if (hi < 0 || lo < 0) {
            memset(h2, 0, MYSQL_SHA1_LEN);
            return HY_ERROR;
        }
        h2[i] = (uint8_t)(hi << 4 | lo);
    }
    return HY_OK;
}

void auth_hash_format(const uint8_t h2[MYSQL_SHA1_LEN], char out[42])
{
    static const char digits[] = "0123456789ABCDEF";

    out[0] = '*';
    for (size_t i = 0; i < MYSQL_SHA1_LEN; i++) {
        out[1 + 2 * i] = digits[h2[i] >> 4];
        out[2 + 2 * i] = digits[h2[i] & 0x0f];
    }
    out[HASH_TEXT_LEN] = '\0';
}

void auth_hash_password(const char *password, size_t len, uint8_t h2[MYSQL_SHA1_LEN])
{
    uint8_t h1[MYSQL_SHA1_LEN];

    SHA1((const unsigned char *)password, len, h1);
    SHA1(h1, sizeof(h1), h2);
    OPENSSL_cleanse(h1, sizeof(h1));
}

/* SHA1(scramble + h2): the mask that hides H1 in a client's reply. */
static void native_mask(const uint8_t scramble[MYSQL_SCRAMBLE_LEN],
                        const uint8_t h2[MYSQL_SHA1_LEN], uint8_t mask[MYSQL_SHA1_LEN])
{
    uint8_t buf[MYSQL_SCRAMBLE_LEN + MYSQL_SHA1_LEN];

    memcpy(buf, scramble, MYSQL_SCRAMBLE_LEN);
    memcpy(buf + MYSQL_SCRAMBLE_LEN, h2, MYSQL_SHA1_LEN);
    SHA1(buf, sizeof(buf), mask);
}

static void xor20(uint8_t *out, const uint8_t *a, const uint8_t *b)
{
    for (size_t i = 0; i < MYSQL_SHA1_LEN; i++)
        out[i] = a[i] ^ b[i];
}

bool auth_native_verify(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const uint8_t *reply,
                        size_t reply_len, const uint8_t h2[MYSQL_SHA1_LEN],
                        uint8_t h1[MYSQL_SHA1_LEN])
{
    uint8_t mask[MYSQL_SHA1_LEN];
    uint8_t cand[MYSQL_SHA1_LEN];
    uint8_t check[MYSQL_SHA1_LEN];

    if (reply_len != MYSQL_SCRAMBLE_LEN)
        return false;
    native_mask(scramble, h2, mask);
    xor20(cand, reply, mask);
    SHA1(cand, sizeof(cand), check);
    bool ok = CRYPTO_memcmp(check, h2, MYSQL_SHA1_LEN) == 0;
    if (ok)
        memcpy(h1, cand, MYSQL_SHA1_LEN);
    OPENSSL_cleanse(mask, sizeof(mask));
    OPENSSL_cleanse(cand, sizeof(cand));
    return ok;
}

void auth_native_token(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const uint8_t h1[MYSQL_SHA1_LEN],
                       const uint8_t h2[MYSQL_SHA1_LEN], uint8_t token[MYSQL_SCRAMBLE_LEN])
{
    uint8_t mask[MYSQL_SHA1_LEN];

    native_mask(scramble, h2, mask);
    xor20(token, h1, mask);
    OPENSSL_cleanse(mask, sizeof(mask));
}

void auth_native_scramble(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const char *password,
                          size_t len, uint8_t reply[MYSQL_SCRAMBLE_LEN])
{
    uint8_t h1[MYSQL_SHA1_LEN];
    uint8_t h2[MYSQL_SHA1_LEN];

    SHA1((const unsigned char *)password, len, h1);
    SHA1(h1, sizeof(h1), h2);
    auth_native_token(scramble, h1, h2, reply);
    OPENSSL_cleanse(h1, sizeof(h1));
}

/* Scramble bytes are drawn from the 93 printable ASCII characters '!'..'~'
 * without '$': clients and plugins that treat the scramble as a C string, or
 * split salts on '$', then never misread it. */
#define SCRAMBLE_FIRST '!'
#define SCRAMBLE_SET   93
/* Largest multiple of SCRAMBLE_SET within a byte: rejecting bytes at or
 * above it keeps the choice uniform. */
#define SCRAMBLE_LIMIT (SCRAMBLE_SET * (256 / SCRAMBLE_SET))

hy_status_t auth_random_scramble(uint8_t *out, size_t n)
{
    uint8_t pool[64];
    size_t have = 0, used = 0;

    for (size_t i = 0; i < n;) {
        if (used == have) {
            if (RAND_bytes(pool, sizeof(pool)) != 1)
                return HY_ERROR;
            have = sizeof(pool);
            used = 0;
        }
        uint8_t b = pool[used++];
        if (b >= SCRAMBLE_LIMIT)
            continue;
        uint8_t c = (uint8_t)(SCRAMBLE_FIRST + b % SCRAMBLE_SET);
        /* '$' is the 4th character of the range: shift it and everything
         * above it up by one, so the set is '!'..'#' and '%'..'~'. */
        if (c >= '$')
            c++;
        out[i++] = c;
    }
    OPENSSL_cleanse(pool, sizeof(pool));
    return HY_OK;
}
