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

#include "halyard/core.h"
#include "halyard/mysql_proto.h"

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

#endif /* HALYARD_AUTH_H */
