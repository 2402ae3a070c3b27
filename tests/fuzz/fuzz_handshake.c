/*
 * fuzz_handshake.c: libFuzzer target for the client login path: the
 * HandshakeResponse41 decoder, its encoder, and mysql_native_password.
 *
 * The input is a login payload. When mysql_login_decode() accepts it:
 *  - every field lies within the payload, NUL-terminated ones end in NUL;
 *  - round trip: mysql_login_encode() of the decoded login, decoded again,
 *    gives the same caps, max_packet, charset, user, auth data, and db /
 *    plugin / attrs where caps has their flag (a field absent at the end
 *    comes back empty); encoding that second decode gives the same bytes.
 *    The encoder writes no NUL-terminated auth data (it logs halyard into
 *    backends, always with CLIENT_SECURE_CONNECTION), so a login without
 *    SECURE_CONNECTION or the lenenc flag is re-encoded with
 *    SECURE_CONNECTION added; auth data over 255 bytes then cannot be
 *    encoded, and the encoder must say so by returning 0.
 *  - auth_native_verify() of the auth data against a fixed scramble and the
 *    hash of "secret" accepts exactly the right 20-byte reply (which one seed
 *    carries); when it accepts, the H1 it recovers answers another scramble
 *    as the client with the password would.
 *  - caching_sha2_password: auth_sha2_verify() of the auth data against the
 *    same scramble and SHA256(SHA256("secret")) accepts exactly the right
 *    32-byte reply (one seed carries it, with plugin caching_sha2_password);
 *    the same bytes, as a full authentication's cleartext password,
 *    auth_plain_verify() accepts only when they are "secret".
 * The input, NUL-terminated, is also a password hash for auth_hash_parse():
 * accepted only as "" or "*" + 40 hex digits, and formatted back to the same
 * text up to case.
 */
#include <strings.h>

#include "fuzz.h"

#include "halyard/protocol/auth.h"
#include "halyard/protocol/mysql_proto.h"

#define PASSWORD "secret"

static const uint8_t scramble[MYSQL_SCRAMBLE_LEN] = "0123456789abcdefghij";
static const uint8_t scramble2[MYSQL_SCRAMBLE_LEN] = "ABCDEFGHIJ9876543210";

static void check_fields(const struct mysql_login *lg, const uint8_t *d, size_t n)
{
    FUZZ_CHECK(lg->caps & CLIENT_PROTOCOL_41);
    if (lg->ssl_request) {
        FUZZ_CHECK(n == 32 && (lg->caps & CLIENT_SSL) && lg->user == NULL);
        return;
    }
    FUZZ_CHECK(lg->user != NULL && fuzz_cstr_within(lg->user, lg->user_len, d, n));
    FUZZ_CHECK(fuzz_within(lg->auth, lg->auth_len, d, n));
    FUZZ_CHECK(fuzz_cstr_within(lg->db, lg->db_len, d, n));
    FUZZ_CHECK(fuzz_cstr_within(lg->plugin, lg->plugin_len, d, n));
    FUZZ_CHECK(fuzz_within(lg->attrs, lg->attrs_len, d, n));
    FUZZ_CHECK(lg->db == NULL || (lg->caps & CLIENT_CONNECT_WITH_DB));
    FUZZ_CHECK(lg->plugin == NULL || (lg->caps & CLIENT_PLUGIN_AUTH));
    FUZZ_CHECK(lg->attrs == NULL || (lg->caps & CLIENT_CONNECT_ATTRS));
}

static void check_round_trip(const struct mysql_login *lg, size_t n)
{
    struct mysql_login in = *lg, again;

    if (!(in.caps & (CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA)))
        in.caps |= CLIENT_SECURE_CONNECTION;
    /* At most a few bytes more than the input: absent fields come back as
     * one byte each, lengths in their shortest form. */
    size_t cap = n + 64;
    uint8_t *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    size_t len = mysql_login_encode(&in, out, cap);
    if (len == 0) {
        FUZZ_CHECK(!(in.caps & CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) && in.auth_len > 255);
        free(out);
        return;
    }
    uint8_t *enc = fuzz_dup(out, len);
    FUZZ_CHECK(mysql_login_decode(enc, len, &again) == HY_OK);
    check_fields(&again, enc, len);
    FUZZ_CHECK(again.caps == in.caps && again.max_packet == in.max_packet);
    FUZZ_CHECK(again.charset == in.charset && again.ssl_request == in.ssl_request);
    FUZZ_CHECK(fuzz_same_bytes(again.user, again.user_len, in.user, in.user_len));
    FUZZ_CHECK(fuzz_same_bytes(again.auth, again.auth_len, in.auth, in.auth_len));
    if (in.caps & CLIENT_CONNECT_WITH_DB)
        FUZZ_CHECK(fuzz_same_bytes(again.db, again.db_len, in.db, in.db_len));
    if (in.caps & CLIENT_PLUGIN_AUTH)
        FUZZ_CHECK(fuzz_same_bytes(again.plugin, again.plugin_len, in.plugin, in.plugin_len));
    if (in.caps & CLIENT_CONNECT_ATTRS)
        FUZZ_CHECK(fuzz_same_bytes(again.attrs, again.attrs_len, in.attrs, in.attrs_len));

    /* Encoding is a fixed point after one round. */
    uint8_t *out2 = malloc(cap);
    FUZZ_CHECK(out2 != NULL);
    size_t len2 = mysql_login_encode(&again, out2, cap);
    FUZZ_CHECK(len2 == len && memcmp(out2, enc, len) == 0);
    free(out2);
    free(enc);
    free(out);
}

static void check_verify(const struct mysql_login *lg)
{
    static uint8_t h2[MYSQL_SHA1_LEN], right[MYSQL_SCRAMBLE_LEN];
    static int ready;
    uint8_t h1[MYSQL_SHA1_LEN];

    if (!ready) {
        auth_hash_password(PASSWORD, strlen(PASSWORD), h2);
        auth_native_scramble(scramble, PASSWORD, strlen(PASSWORD), right);
        ready = 1;
    }
    bool ok = auth_native_verify(scramble, lg->auth, lg->auth_len, h2, h1);
    FUZZ_CHECK(ok == (lg->auth_len == MYSQL_SCRAMBLE_LEN &&
                      memcmp(lg->auth, right, MYSQL_SCRAMBLE_LEN) == 0));
    if (!ok)
        return;
    uint8_t token[MYSQL_SCRAMBLE_LEN], want[MYSQL_SCRAMBLE_LEN];
    auth_native_token(scramble2, h1, h2, token);
    auth_native_scramble(scramble2, PASSWORD, strlen(PASSWORD), want);
    FUZZ_CHECK(memcmp(token, want, sizeof(want)) == 0);
}

static void check_sha2(const struct mysql_login *lg)
{
    static uint8_t s2[MYSQL_SHA256_LEN], h2[MYSQL_SHA1_LEN], right[MYSQL_SHA256_LEN];
    static int ready;

    if (!ready) {
        auth_sha2_hash_password(PASSWORD, strlen(PASSWORD), s2);
        auth_hash_password(PASSWORD, strlen(PASSWORD), h2);
        auth_sha2_scramble(scramble, PASSWORD, strlen(PASSWORD), right);
        ready = 1;
    }
    bool ok = auth_sha2_verify(scramble, lg->auth, lg->auth_len, s2);
    FUZZ_CHECK(ok == (lg->auth_len == MYSQL_SHA256_LEN &&
                      memcmp(lg->auth, right, MYSQL_SHA256_LEN) == 0));
    uint8_t h1[MYSQL_SHA1_LEN], got_s2[MYSQL_SHA256_LEN];
    bool plain = auth_plain_verify((const char *)lg->auth, lg->auth_len, h2, false, s2, h1, got_s2);
    FUZZ_CHECK(plain == (lg->auth_len == strlen(PASSWORD) &&
                         memcmp(lg->auth, PASSWORD, strlen(PASSWORD)) == 0));
    if (plain)
        FUZZ_CHECK(memcmp(got_s2, s2, sizeof(s2)) == 0);
}

static void check_hash_text(const uint8_t *d, size_t n)
{
    char *text = malloc(n + 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, d, n);
    text[n] = '\0';
    uint8_t h2[MYSQL_SHA1_LEN];
    bool empty;
    if (auth_hash_parse(text, h2, &empty) == HY_OK) {
        if (empty) {
            FUZZ_CHECK(text[0] == '\0');
        } else {
            char back[42];
            auth_hash_format(h2, back);
            FUZZ_CHECK(strcasecmp(back, text) == 0);
        }
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mysql_login lg;

    check_hash_text(data, size);
    if (mysql_login_decode(data, size, &lg) != HY_OK)
        return 0;
    check_fields(&lg, data, size);
    check_round_trip(&lg, size);
    if (!lg.ssl_request) {
        check_verify(&lg);
        check_sha2(&lg);
    }
    return 0;
}
