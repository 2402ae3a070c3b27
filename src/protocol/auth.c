/*
 * auth.c: see auth.h for the mysql_native_password algebra.
 *
 * Every intermediate digest is wiped before returning: H1 is as good as the
 * password for logging in anywhere the same user exists, and SHA1(S + H2)
 * together with a client's reply gives H1.
 */
#include <string.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "halyard/protocol/auth.h"

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

/* OpenSSL's one-shot digests, SHA1() and SHA256(): both plugins do the
 * same algebra, each with its own digest. */
typedef unsigned char *(*digest_fn)(const unsigned char *d, size_t n, unsigned char *md);

/* x1 = H(password) and x2 = H(x1), `n` bytes each: H1/H2 for native
 * password, S1/S2 for caching_sha2_password. */
static void hash_stages(digest_fn h, size_t n, const char *password, size_t len, uint8_t *x1,
                        uint8_t *x2)
{
    h((const unsigned char *)password, len, x1);
    h(x1, n, x2);
}

/* H(a + b): the masks that hide x1 in a client's reply. */
static void hash_concat(digest_fn h, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
                        uint8_t *out)
{
    uint8_t buf[MYSQL_SHA256_LEN + MYSQL_SCRAMBLE_LEN];

    memcpy(buf, a, alen);
    memcpy(buf + alen, b, blen);
    h(buf, alen + blen, out);
    OPENSSL_cleanse(buf, sizeof(buf));
}

static void xor_bytes(uint8_t *out, const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] ^ b[i];
}

/* x1 = reply ^ mask, `n` bytes: true when H(x1) is x2, i.e. the reply
 * proves the client knows x1. The caller wipes x1. */
static bool unmask_check(digest_fn h, size_t n, const uint8_t *reply, const uint8_t *mask,
                         const uint8_t *x2, uint8_t *x1)
{
    uint8_t check[MYSQL_SHA256_LEN];

    xor_bytes(x1, reply, mask, n);
    h(x1, n, check);
    return CRYPTO_memcmp(check, x2, n) == 0;
}

void auth_hash_password(const char *password, size_t len, uint8_t h2[MYSQL_SHA1_LEN])
{
    uint8_t h1[MYSQL_SHA1_LEN];

    hash_stages(SHA1, MYSQL_SHA1_LEN, password, len, h1, h2);
    OPENSSL_cleanse(h1, sizeof(h1));
}

/* SHA1(scramble + h2): the mask that hides H1 in a client's reply. */
static void native_mask(const uint8_t scramble[MYSQL_SCRAMBLE_LEN],
                        const uint8_t h2[MYSQL_SHA1_LEN], uint8_t mask[MYSQL_SHA1_LEN])
{
    hash_concat(SHA1, scramble, MYSQL_SCRAMBLE_LEN, h2, MYSQL_SHA1_LEN, mask);
}

bool auth_native_verify(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const uint8_t *reply,
                        size_t reply_len, const uint8_t h2[MYSQL_SHA1_LEN],
                        uint8_t h1[MYSQL_SHA1_LEN])
{
    uint8_t mask[MYSQL_SHA1_LEN];
    uint8_t cand[MYSQL_SHA1_LEN];

    if (reply_len != MYSQL_SCRAMBLE_LEN)
        return false;
    native_mask(scramble, h2, mask);
    bool ok = unmask_check(SHA1, MYSQL_SHA1_LEN, reply, mask, h2, cand);
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
    xor_bytes(token, h1, mask, MYSQL_SHA1_LEN);
    OPENSSL_cleanse(mask, sizeof(mask));
}

void auth_native_scramble(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const char *password,
                          size_t len, uint8_t reply[MYSQL_SCRAMBLE_LEN])
{
    uint8_t h1[MYSQL_SHA1_LEN];
    uint8_t h2[MYSQL_SHA1_LEN];

    hash_stages(SHA1, MYSQL_SHA1_LEN, password, len, h1, h2);
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

/* ---- mysql_old_password -------------------------------------------------
 * MariaDB's sql/password.c, hash_password() and scramble_323(): 32-bit
 * arithmetic gives the same low 31 bits as the server's unsigned long. */

void auth_old_hash_password(const char *password, size_t len, uint32_t hash[2])
{
    uint32_t nr = 1345345333u, add = 7, nr2 = 0x12345671u;
    for (size_t i = 0; i < len; i++) {
        uint32_t c = (uint8_t)password[i];
        if (c == ' ' || c == '\t')
            continue; /* the scheme skips blanks */
        nr ^= (((nr & 63) + add) * c) + (nr << 8);
        nr2 += (nr2 << 8) ^ nr;
        add += c;
    }
    hash[0] = nr & 0x7fffffffu;
    hash[1] = nr2 & 0x7fffffffu;
}

hy_status_t auth_old_hash_parse(const char *text, uint32_t hash[2], bool *empty)
{
    *empty = text[0] == '\0';
    hash[0] = hash[1] = 0;
    if (*empty)
        return HY_OK;
    if (strlen(text) != 16)
        return HY_ERROR;
    for (int i = 0; i < 16; i++) {
        int v = hex_value(text[i]);
        if (v < 0)
            return HY_ERROR;
        hash[i / 8] = (hash[i / 8] << 4) | (uint32_t)v;
    }
    return HY_OK;
}

/* The server's my_rnd (mysys/my_rnd.c), seeded as scramble_323 seeds it. */
struct old_rnd {
    uint32_t seed1, seed2;
};

#define OLD_RND_MAX 0x3FFFFFFFu

static double old_rnd_next(struct old_rnd *r)
{
    r->seed1 = (uint32_t)(((uint64_t)r->seed1 * 3 + r->seed2) % OLD_RND_MAX);
    r->seed2 = (uint32_t)(((uint64_t)r->seed1 + r->seed2 + 33) % OLD_RND_MAX);
    return (double)r->seed1 / (double)OLD_RND_MAX;
}

void auth_old_token(const uint8_t scramble[AUTH_OLD_SCRAMBLE_LEN], const uint32_t hash[2],
                    uint8_t token[AUTH_OLD_SCRAMBLE_LEN])
{
    uint32_t msg[2];
    auth_old_hash_password((const char *)scramble, AUTH_OLD_SCRAMBLE_LEN, msg);
    struct old_rnd r = {(hash[0] ^ msg[0]) % OLD_RND_MAX, (hash[1] ^ msg[1]) % OLD_RND_MAX};
    /* floor() of a value in [0, 31): the conversion truncates alike */
    for (int i = 0; i < AUTH_OLD_SCRAMBLE_LEN; i++)
        token[i] = (uint8_t)((unsigned)(old_rnd_next(&r) * 31) + 64);
    uint8_t extra = (uint8_t)(unsigned)(old_rnd_next(&r) * 31);
    for (int i = 0; i < AUTH_OLD_SCRAMBLE_LEN; i++)
        token[i] ^= extra;
}

bool auth_old_verify(const uint8_t scramble[AUTH_OLD_SCRAMBLE_LEN], const uint8_t *reply,
                     size_t reply_len, const uint32_t hash[2])
{
    if (reply_len == AUTH_OLD_SCRAMBLE_LEN + 1 && reply[AUTH_OLD_SCRAMBLE_LEN] == '\0')
        reply_len = AUTH_OLD_SCRAMBLE_LEN;
    if (reply_len != AUTH_OLD_SCRAMBLE_LEN)
        return false;
    uint8_t want[AUTH_OLD_SCRAMBLE_LEN];
    auth_old_token(scramble, hash, want);
    bool ok = CRYPTO_memcmp(want, reply, sizeof(want)) == 0;
    explicit_bzero(want, sizeof(want));
    return ok;
}

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

/* ---- caching_sha2_password --------------------------------------------- */

hy_status_t auth_sha2_hash_parse(const char *text, uint8_t s2[MYSQL_SHA256_LEN], bool *present)
{
    memset(s2, 0, MYSQL_SHA256_LEN);
    *present = false;
    if (text[0] == '\0')
        return HY_OK;
    if (strnlen(text, 2 * MYSQL_SHA256_LEN + 1) != 2 * MYSQL_SHA256_LEN)
        return HY_ERROR;
    for (size_t i = 0; i < MYSQL_SHA256_LEN; i++) {
        int hi = hex_value(text[2 * i]);
        int lo = hex_value(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            memset(s2, 0, MYSQL_SHA256_LEN);
            return HY_ERROR;
        }
        s2[i] = (uint8_t)(hi << 4 | lo);
    }
    *present = true;
    return HY_OK;
}

void auth_sha2_hash_password(const char *password, size_t len, uint8_t s2[MYSQL_SHA256_LEN])
{
    uint8_t s1[MYSQL_SHA256_LEN];

    hash_stages(SHA256, MYSQL_SHA256_LEN, password, len, s1, s2);
    OPENSSL_cleanse(s1, sizeof(s1));
}

/* SHA256(s2 + scramble): the mask that hides SHA256(password). */
static void sha2_mask(const uint8_t scramble[MYSQL_SCRAMBLE_LEN],
                      const uint8_t s2[MYSQL_SHA256_LEN], uint8_t mask[MYSQL_SHA256_LEN])
{
    hash_concat(SHA256, s2, MYSQL_SHA256_LEN, scramble, MYSQL_SCRAMBLE_LEN, mask);
}

bool auth_sha2_verify(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const uint8_t *reply,
                      size_t reply_len, const uint8_t s2[MYSQL_SHA256_LEN])
{
    uint8_t mask[MYSQL_SHA256_LEN];
    uint8_t s1[MYSQL_SHA256_LEN];

    if (reply_len != MYSQL_SHA256_LEN)
        return false;
    sha2_mask(scramble, s2, mask);
    bool ok = unmask_check(SHA256, MYSQL_SHA256_LEN, reply, mask, s2, s1);
    OPENSSL_cleanse(mask, sizeof(mask));
    OPENSSL_cleanse(s1, sizeof(s1));
    return ok;
}

void auth_sha2_scramble(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const char *password,
                        size_t len, uint8_t reply[MYSQL_SHA256_LEN])
{
    uint8_t s1[MYSQL_SHA256_LEN];
    uint8_t s2[MYSQL_SHA256_LEN];
    uint8_t mask[MYSQL_SHA256_LEN];

    hash_stages(SHA256, MYSQL_SHA256_LEN, password, len, s1, s2);
    sha2_mask(scramble, s2, mask);
    xor_bytes(reply, s1, mask, MYSQL_SHA256_LEN);
    OPENSSL_cleanse(s1, sizeof(s1));
}

bool auth_plain_verify(const char *password, size_t len, const uint8_t h2[MYSQL_SHA1_LEN],
                       bool no_password, const uint8_t *s2, uint8_t h1_out[MYSQL_SHA1_LEN],
                       uint8_t s2_out[MYSQL_SHA256_LEN])
{
    uint8_t h1[MYSQL_SHA1_LEN];
    uint8_t check[MYSQL_SHA1_LEN];
    uint8_t my_s2[MYSQL_SHA256_LEN];
    bool ok;

    hash_stages(SHA1, MYSQL_SHA1_LEN, password, len, h1, check);
    auth_sha2_hash_password(password, len, my_s2);
    if (no_password)
        ok = len == 0;
    else
        ok = CRYPTO_memcmp(check, h2, MYSQL_SHA1_LEN) == 0;
    if (s2 != NULL && CRYPTO_memcmp(my_s2, s2, MYSQL_SHA256_LEN) != 0)
        ok = false;
    if (ok) {
        memcpy(h1_out, h1, MYSQL_SHA1_LEN);
        memcpy(s2_out, my_s2, MYSQL_SHA256_LEN);
    }
    OPENSSL_cleanse(h1, sizeof(h1));
    OPENSSL_cleanse(my_s2, sizeof(my_s2));
    return ok;
}

struct auth_rsa {
    EVP_PKEY *key;
    char *pem; /* the public key, PEM */
    size_t pem_len;
};

void auth_rsa_free(struct auth_rsa *rsa)
{
    if (rsa == NULL)
        return;
    EVP_PKEY_free(rsa->key);
    free(rsa->pem);
    free(rsa);
}

/* OpenSSL's last error as text, or errno's when OpenSSL has none. */
static void ssl_why(char *why, size_t whylen, const char *what, const char *path, int err)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    else
        snprintf(buf, sizeof(buf), "%s", err != 0 ? strerror(err) : "no PEM key found");
    ERR_clear_error();
    snprintf(why, whylen, "%s: %s: %s", what, path, buf);
}

hy_status_t auth_rsa_load(const char *priv_path, const char *pub_path, struct auth_rsa **out,
                          char *why, size_t whylen)
{
    *out = NULL;
    struct auth_rsa *rsa = calloc(1, sizeof(*rsa));
    if (rsa == NULL)
        return HY_NOMEM;
    ERR_clear_error();
    errno = 0;
    FILE *fp = fopen(priv_path, "r");
    if (fp == NULL) {
        ssl_why(why, whylen, "private key", priv_path, errno);
        goto fail;
    }
    rsa->key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    if (rsa->key == NULL) {
        ssl_why(why, whylen, "private key", priv_path, 0);
        goto fail;
    }
    if (EVP_PKEY_get_base_id(rsa->key) != EVP_PKEY_RSA || EVP_PKEY_get_bits(rsa->key) < 2048) {
        snprintf(why, whylen, "private key: %s: not an RSA key of 2048 bits or more", priv_path);
        goto fail;
    }
    if (pub_path[0] != '\0') {
        errno = 0;
        fp = fopen(pub_path, "r");
        if (fp == NULL) {
            ssl_why(why, whylen, "public key", pub_path, errno);
            goto fail;
        }
        EVP_PKEY *pub = PEM_read_PUBKEY(fp, NULL, NULL, NULL);
        fclose(fp);
        if (pub == NULL) {
            ssl_why(why, whylen, "public key", pub_path, 0);
            goto fail;
        }
        int same = EVP_PKEY_eq(rsa->key, pub);
        EVP_PKEY_free(pub);
        if (same != 1) {
            snprintf(why, whylen, "public key: %s: not the public half of auth_rsa_private_key",
                     pub_path);
            goto fail;
        }
    }
    /* Send the public key as the PEM OpenSSL writes, whatever the file had
     * around it. */
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_PUBKEY(bio, rsa->key) != 1) {
        BIO_free(bio);
        auth_rsa_free(rsa);
        return HY_NOMEM;
    }
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    rsa->pem = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (rsa->pem == NULL) {
        BIO_free(bio);
        auth_rsa_free(rsa);
        return HY_NOMEM;
    }
    memcpy(rsa->pem, data, (size_t)n);
    rsa->pem[n] = '\0';
    rsa->pem_len = (size_t)n;
    BIO_free(bio);
    *out = rsa;
    return HY_OK;
fail:
    auth_rsa_free(rsa);
    return HY_ERROR;
}

const char *auth_rsa_public_pem(const struct auth_rsa *rsa, size_t *len)
{
    *len = rsa->pem_len;
    return rsa->pem;
}

size_t auth_rsa_size(const struct auth_rsa *rsa)
{
    return (size_t)EVP_PKEY_get_size(rsa->key);
}

int auth_rsa_decrypt_password(const struct auth_rsa *rsa, const uint8_t *data, size_t len,
                              const uint8_t scramble[MYSQL_SCRAMBLE_LEN], char *out, size_t cap)
{
    uint8_t plain[1024];
    size_t n = sizeof(plain);
    int rc = -1;
    if (len != auth_rsa_size(rsa) || len > sizeof(plain))
        return -1;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(rsa->key, NULL);
    if (ctx == NULL)
        return -1;
    if (EVP_PKEY_decrypt_init(ctx) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
        EVP_PKEY_decrypt(ctx, plain, &n, data, len) == 1 && n > 0) {
        for (size_t i = 0; i < n; i++)
            plain[i] ^= scramble[i % MYSQL_SCRAMBLE_LEN];
        /* the password and its NUL, nothing after it */
        if (plain[n - 1] == '\0' && memchr(plain, '\0', n - 1) == NULL && n - 1 <= cap) {
            memcpy(out, plain, n - 1);
            rc = (int)(n - 1);
        }
    }
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}
