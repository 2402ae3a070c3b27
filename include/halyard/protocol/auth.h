/*
 * auth.h: mysql_native_password math, so halyard never needs a plaintext
 * password.
 *
 * The config holds what MariaDB stores: "*" + hex(SHA1(SHA1(password))),
 * call it H2. A client answers a scramble S with
 *     R = SHA1(password) XOR SHA1(S + H2).
 * Knowing H2 and S, the proxy computes SHA1(S + H2), recovers
 * H1 = SHA1(password) = R XOR SHA1(S + H2), and accepts the login when
 * SHA1(H1) == H2. With H1 it can answer any backend's scramble S' itself:
 *     token = H1 XOR SHA1(S' + H2).
 */
#ifndef HALYARD_AUTH_H
#define HALYARD_AUTH_H

#include "halyard/core/core.h"
#include "halyard/protocol/mysql_proto.h"

/* Parse "*" + 40 hex digits (either case) into a 20-byte H2.
 * The empty string means "no password": HY_OK with *empty = true. */
hy_status_t auth_hash_parse(const char *text, uint8_t h2[MYSQL_SHA1_LEN], bool *empty) HY_MUSTCHECK;

/* Format H2 back as "*" + 40 upper-case hex digits + NUL (42 bytes). */
void auth_hash_format(const uint8_t h2[MYSQL_SHA1_LEN], char out[42]);

/* H2 of a plaintext password (tools and tests; never needed at run time). */
void auth_hash_password(const char *password, size_t len, uint8_t h2[MYSQL_SHA1_LEN]);

/* Verify a client's 20-byte reply to `scramble` against `h2`. On success
 * writes H1 = SHA1(password) to `h1` and returns true. Constant time in the
 * comparison. A reply whose length is not 20 is false. */
bool auth_native_verify(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const uint8_t *reply,
                        size_t reply_len, const uint8_t h2[MYSQL_SHA1_LEN],
                        uint8_t h1[MYSQL_SHA1_LEN]);

/* The 20-byte reply to a backend's `scramble`, from H1 and H2. */
void auth_native_token(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const uint8_t h1[MYSQL_SHA1_LEN],
                       const uint8_t h2[MYSQL_SHA1_LEN], uint8_t token[MYSQL_SCRAMBLE_LEN]);

/* The client-side computation (tests, the monitor with a plaintext secret):
 * SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))). */
void auth_native_scramble(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const char *password,
                          size_t len, uint8_t reply[MYSQL_SCRAMBLE_LEN]);

/* Fill `out` with `n` random scramble bytes: printable, never NUL or '$'
 * (as MariaDB does), from OpenSSL's RAND_bytes. */
hy_status_t auth_random_scramble(uint8_t *out, size_t n) HY_MUSTCHECK;

/* ---- caching_sha2_password ---- */

/* Parse 64 hex digits (either case) into S2; "" means none (*present =
 * false). */
hy_status_t auth_sha2_hash_parse(const char *text, uint8_t s2[MYSQL_SHA256_LEN],
                                 bool *present) HY_MUSTCHECK;

/* S2 = SHA256(SHA256(password)). */
void auth_sha2_hash_password(const char *password, size_t len, uint8_t s2[MYSQL_SHA256_LEN]);

/* Verify a client's fast-path reply to nonce `scramble` against S2.
 * Constant time in the comparison; a reply whose length is not 32 is
 * false. */
bool auth_sha2_verify(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const uint8_t *reply,
                      size_t reply_len, const uint8_t s2[MYSQL_SHA256_LEN]);

/* The client-side computation (tests). */
void auth_sha2_scramble(const uint8_t scramble[MYSQL_SCRAMBLE_LEN], const char *password,
                        size_t len, uint8_t reply[MYSQL_SHA256_LEN]);

/* Check a plaintext password against a user's hashes: SHA1(SHA1(pw)) must
 * be h2 (or the password empty when no_password), and SHA256(SHA256(pw))
 * must be s2 when s2 is not NULL. On success writes H1 = SHA1(pw) and
 * S2 = SHA256(SHA256(pw)). */
bool auth_plain_verify(const char *password, size_t len, const uint8_t h2[MYSQL_SHA1_LEN],
                       bool no_password, const uint8_t *s2, uint8_t h1_out[MYSQL_SHA1_LEN],
                       uint8_t s2_out[MYSQL_SHA256_LEN]);

/* ---- mysql_old_password (MySQL 3.23's scheme) ----------------------------
 * The account stores two 31-bit words, hash_password(password), printed as
 * 16 hex digits. A client answers the first 8 bytes of the scramble with 8
 * bytes derived from those words and the scramble's own hash: the stored
 * string is all it takes to answer, as the server checks, and what a proxy
 * needs to log in to its backends. The server refuses it while its
 * secure_auth is ON. */
#define AUTH_OLD_SCRAMBLE_LEN 8

/* Parse the 16 hex digits of mysql.global_priv's authentication_string;
 * "" is no password: HY_OK with *empty = true. */
hy_status_t auth_old_hash_parse(const char *text, uint32_t hash[2], bool *empty) HY_MUSTCHECK;
/* hash_password() of a plaintext password (tests). */
void auth_old_hash_password(const char *password, size_t len, uint32_t hash[2]);
/* The 8-byte answer to `scramble` (its first 8 bytes are used). */
void auth_old_token(const uint8_t scramble[AUTH_OLD_SCRAMBLE_LEN], const uint32_t hash[2],
                    uint8_t token[AUTH_OLD_SCRAMBLE_LEN]);
/* A client's answer (8 bytes, or 9 ending in NUL as old clients send it)
 * checked against `hash`. */
bool auth_old_verify(const uint8_t scramble[AUTH_OLD_SCRAMBLE_LEN], const uint8_t *reply,
                     size_t reply_len, const uint32_t hash[2]);

/* An RSA key pair loaded from PEM files (immutable, shared by threads). */
struct auth_rsa;

/* Load the private key from `priv_path` and the public key from
 * `pub_path` ("" = derive it). HY_ERROR with why = "private key: ..." or
 * "public key: ..." (a file that cannot be read, not PEM, not RSA, not the
 * same pair); HY_NOMEM. */
hy_status_t auth_rsa_load(const char *priv_path, const char *pub_path, struct auth_rsa **out,
                          char *why, size_t whylen) HY_MUSTCHECK;
void auth_rsa_free(struct auth_rsa *rsa); /* NULL is fine */
/* The public key as PEM text (what a client asking with 0x02 receives). */
const char *auth_rsa_public_pem(const struct auth_rsa *rsa, size_t *len);
/* Bytes of an encrypted password (the key's modulus). */
size_t auth_rsa_size(const struct auth_rsa *rsa);
/* Decrypt a client's encrypted password (RSA OAEP), undo the XOR with the
 * nonce, and write the password without its terminating NUL to `out`
 * (`cap` bytes). Returns its length, or -1 when the data does not decrypt
 * or is not a NUL-terminated password. */
int auth_rsa_decrypt_password(const struct auth_rsa *rsa, const uint8_t *data, size_t len,
                              const uint8_t scramble[MYSQL_SCRAMBLE_LEN], char *out, size_t cap);

#endif /* HALYARD_AUTH_H */
