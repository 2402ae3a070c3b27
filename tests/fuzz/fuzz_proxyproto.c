/*
 * fuzz_proxyproto.c: libFuzzer target for the PROXY protocol header parser
 * (proxyproto.h).
 *
 * The input, copied into a heap buffer of exactly its length (ASan catches
 * any read past it), is parsed as what a proxy_protocol_from peer sent.
 * Checked:
 *  - the returned code is the result's; a refusal has a reason;
 *  - the input starts like a header (proxyproto_signature) exactly when the
 *    parser recognised a version;
 *  - "need more" is only said of inputs shorter than the largest header,
 *    and of every prefix of such an input;
 *  - a refusal stays a refusal with more bytes: when the first half of the
 *    input is refused, so is the whole;
 *  - a header takes at most the input and at most 107 (v1) or 4096 (v2)
 *    bytes, a v1 one ends in CRLF; LOCAL has no family, PROXY an INET or
 *    INET6 source and destination; parsing exactly its bytes gives the same
 *    result, and every proper prefix of them asks for more.
 */
#include "fuzz.h"

#include <netinet/in.h>

#include "halyard/protocol/proxyproto.h"

static enum proxyproto_rc parse(const uint8_t *data, size_t n, struct proxyproto_result *r)
{
    uint8_t *copy = fuzz_dup(data, n);
    enum proxyproto_rc rc = proxyproto_parse(copy, n, r);
    free(copy);
    FUZZ_CHECK(rc == r->rc);
    FUZZ_CHECK(rc == PROXYPROTO_MORE || rc == PROXYPROTO_BAD || rc == PROXYPROTO_OK);
    if (rc == PROXYPROTO_BAD)
        FUZZ_CHECK(r->why != NULL && r->why[0] != '\0');
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proxyproto_result r, q;
    enum proxyproto_rc rc = parse(data, size, &r);
    if (size > 0)
        FUZZ_CHECK((r.version != 0) == proxyproto_signature(data, size));
    enum proxyproto_rc half = parse(data, size / 2, &q);
    if (half == PROXYPROTO_BAD)
        FUZZ_CHECK(rc == PROXYPROTO_BAD);
    if (rc == PROXYPROTO_MORE) {
        FUZZ_CHECK(size < PROXYPROTO_MAX_HEADER);
        FUZZ_CHECK(half == PROXYPROTO_MORE);
    }
    if (rc != PROXYPROTO_OK)
        return 0;
    /* A header. */
    FUZZ_CHECK(r.consumed > 0 && r.consumed <= size);
    if (r.version == 1) {
        FUZZ_CHECK(r.consumed <= PROXYPROTO_V1_MAX);
        FUZZ_CHECK(r.consumed >= 2 && data[r.consumed - 2] == '\r' && data[r.consumed - 1] == '\n');
    } else {
        FUZZ_CHECK(r.version == 2);
        FUZZ_CHECK(r.consumed >= PROXYPROTO_V2_HDR && r.consumed <= PROXYPROTO_MAX_HEADER);
    }
    if (r.local) {
        FUZZ_CHECK(r.family == AF_UNSPEC);
    } else {
        FUZZ_CHECK(r.family == AF_INET || r.family == AF_INET6);
        FUZZ_CHECK(r.src.ss_family == r.family && r.dst.ss_family == r.family);
    }
    FUZZ_CHECK(parse(data, r.consumed, &q) == PROXYPROTO_OK);
    FUZZ_CHECK(q.consumed == r.consumed && q.version == r.version && q.local == r.local &&
               q.family == r.family);
    FUZZ_CHECK(memcmp(&q.src, &r.src, sizeof(q.src)) == 0 &&
               memcmp(&q.dst, &r.dst, sizeof(q.dst)) == 0);
    FUZZ_CHECK(parse(data, r.consumed - 1, &q) == PROXYPROTO_MORE);
    FUZZ_CHECK(parse(data, r.consumed / 2, &q) == PROXYPROTO_MORE);
    return 0;
}
