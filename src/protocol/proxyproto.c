/*
 * proxyproto.c: the PROXY protocol header, versions 1 and 2. See
 * proxyproto.h.
 *
 * Strict on purpose: the header decides the address that users' `allow`,
 * the rules' `client` and the failed-login guard see, so anything the spec
 * does not allow is refused rather than guessed at (v1: single spaces,
 * addresses as inet_pton reads them, decimal ports without sign or leading
 * zero; v2: known version and command, address block at least as long as
 * its family needs, TLVs that tile the rest exactly).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "halyard/protocol/proxyproto.h"

static const uint8_t v1_sig[] = "PROXY ";
static const uint8_t v2_sig[PROXYPROTO_V2_SIG_LEN] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                      0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
#define V1_SIG_LEN (sizeof(v1_sig) - 1)

/* v2 families (high nibble: address family; low: transport). */
#define V2_UNSPEC    0x00
#define V2_TCP4      0x11
#define V2_TCP6      0x21
#define V2_TCP4_ADDR 12 /* two IPv4 addresses, two ports */
#define V2_TCP6_ADDR 36
#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1

static enum proxyproto_rc bad(struct proxyproto_result *out, const char *why)
{
    out->rc = PROXYPROTO_BAD;
    out->why = why;
    return out->rc;
}

static enum proxyproto_rc ok(struct proxyproto_result *out, size_t consumed)
{
    out->rc = PROXYPROTO_OK;
    out->consumed = consumed;
    if (out->local)
        out->family = AF_UNSPEC;
    return out->rc;
}

/* Whether [p, p + len) is a prefix of sig (or sig a prefix of it). */
static bool starts_like(const uint8_t *p, size_t len, const uint8_t *sig, size_t sig_len)
{
    return memcmp(p, sig, HY_MIN(len, sig_len)) == 0;
}

bool proxyproto_signature(const uint8_t *p, size_t len)
{
    return len > 0 && (starts_like(p, len, v1_sig, V1_SIG_LEN) ||
                       starts_like(p, len, v2_sig, PROXYPROTO_V2_SIG_LEN));
}

static void set_addr(struct sockaddr_storage *ss, int family, const void *addr, uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, addr, 4);
        sin->sin_port = htons(port);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, addr, 16);
        sin6->sin6_port = htons(port);
    }
}

/* ---- version 1 --------------------------------------------------------- */

/* The next space-separated token of [*p, end): its bounds, *p past it and
 * past one following space (when `last` is false, one must follow). */
static bool v1_token(const char **p, const char *end, bool last, const char **tok, size_t *n)
{
    const char *s = *p, *e = s;
    while (e < end && *e != ' ')
        e++;
    if (e == s || e - s > INET6_ADDRSTRLEN)
        return false;
    if (last != (e == end))
        return false;
    *tok = s;
    *n = (size_t)(e - s);
    *p = last ? e : e + 1;
    return true;
}

static bool v1_addr(const char *tok, size_t n, int family, void *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    memcpy(buf, tok, n);
    buf[n] = '\0';
    return inet_pton(family, buf, out) == 1;
}

static bool v1_port(const char *tok, size_t n, uint16_t *out)
{
    if (n > 5 || (n > 1 && tok[0] == '0'))
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return false;
        v = v * 10 + (unsigned)(tok[i] - '0');
    }
    if (v > 65535)
        return false;
    *out = (uint16_t)v;
    return true;
}

static enum proxyproto_rc parse_v1(const uint8_t *p, size_t len, struct proxyproto_result *out)
{
    size_t scan = HY_MIN(len, (size_t)PROXYPROTO_V1_MAX);
    const uint8_t *cr = NULL;
    for (size_t i = V1_SIG_LEN; i < scan; i++) {
        if (p[i] == '\r' || p[i] == '\n') {
            cr = p + i;
            break;
        }
        if (p[i] < 0x20 || p[i] > 0x7e)
            return bad(out, "v1 header with a byte that is not printable ASCII");
    }
    if (cr == NULL) {
        if (len >= PROXYPROTO_V1_MAX)
            return bad(out, "v1 header longer than 107 bytes");
        return PROXYPROTO_MORE;
    }
    if (*cr != '\r')
        return bad(out, "v1 header ends in LF without CR");
    size_t line = (size_t)(cr - p) + 2; /* CRLF included */
    if (line > PROXYPROTO_V1_MAX)
        return bad(out, "v1 header longer than 107 bytes");
    if (len < line)
        return PROXYPROTO_MORE;
    if (cr[1] != '\n')
        return bad(out, "v1 header ends in CR without LF");

    const char *s = (const char *)p + V1_SIG_LEN, *end = (const char *)cr;
    if ((size_t)(end - s) >= 7 && memcmp(s, "UNKNOWN", 7) == 0 && (end - s == 7 || s[7] == ' ')) {
        out->local = true; /* the rest of the line is to be ignored */
        return ok(out, line);
    }
    int family;
    if ((size_t)(end - s) >= 5 && memcmp(s, "TCP4 ", 5) == 0)
        family = AF_INET;
    else if ((size_t)(end - s) >= 5 && memcmp(s, "TCP6 ", 5) == 0)
        family = AF_INET6;
    else
        return bad(out, "v1 header with a protocol other than TCP4, TCP6 or UNKNOWN");
    s += 5;
    const char *tok[4];
    size_t n[4];
    for (int i = 0; i < 4; i++) {
        if (!v1_token(&s, end, i == 3, &tok[i], &n[i]))
            return bad(out, "v1 header without exactly four fields after its protocol");
    }
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    if (!v1_addr(tok[0], n[0], family, src) || !v1_addr(tok[1], n[1], family, dst))
        return bad(out, "v1 header with an address that is not of its protocol");
    if (!v1_port(tok[2], n[2], &sport) || !v1_port(tok[3], n[3], &dport))
        return bad(out, "v1 header with a malformed port");
    out->family = family;
    set_addr(&out->src, family, src, sport);
    set_addr(&out->dst, family, dst, dport);
    return ok(out, line);
}

/* ---- version 2 --------------------------------------------------------- */

/* TLVs (type, 16-bit length, value) must exactly fill [p, p + len). */
static bool v2_tlvs_ok(const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < 3)
            return false;
        size_t vlen = (size_t)p[off + 1] << 8 | p[off + 2];
        if (vlen > len - off - 3)
            return false;
        off += 3 + vlen;
    }
    return true;
}

static enum proxyproto_rc parse_v2(const uint8_t *p, size_t len, struct proxyproto_result *out)
{
    if (len < PROXYPROTO_V2_HDR) {
        if (len > PROXYPROTO_V2_SIG_LEN && (p[12] & 0xF0) != 0x20)
            return bad(out, "v2 header of an unknown version");
        return PROXYPROTO_MORE;
    }
    uint8_t ver = p[12] >> 4, cmd = p[12] & 0x0F, fam = p[13];
    size_t body = (size_t)p[14] << 8 | p[15];
    if (ver != 2)
        return bad(out, "v2 header of an unknown version");
    if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
        return bad(out, "v2 header with a command other than LOCAL or PROXY");
    if (body > PROXYPROTO_MAX_HEADER - PROXYPROTO_V2_HDR)
        return bad(out, "v2 header longer than 4096 bytes");
    if (len < PROXYPROTO_V2_HDR + body)
        return PROXYPROTO_MORE;
    const uint8_t *a = p + PROXYPROTO_V2_HDR;
    size_t total = PROXYPROTO_V2_HDR + body;
    if (cmd == V2_CMD_LOCAL || fam == V2_UNSPEC) {
        /* The balancer's own connection (a health check), or a client it
         * cannot describe: the addresses, if any, are to be ignored. */
        out->local = true;
        return ok(out, total);
    }
    size_t need;
    int family;
    if (fam == V2_TCP4) {
        need = V2_TCP4_ADDR;
        family = AF_INET;
    } else if (fam == V2_TCP6) {
        need = V2_TCP6_ADDR;
        family = AF_INET6;
    } else {
        return bad(out, "v2 header for a family or transport other than TCP over IPv4 or IPv6");
    }
    if (body < need)
        return bad(out, "v2 header shorter than its address family needs");
    if (!v2_tlvs_ok(a + need, body - need))
        return bad(out, "v2 header with malformed TLVs");
    size_t alen = family == AF_INET ? 4 : 16;
    const uint8_t *ports = a + 2 * alen;
    out->family = family;
    set_addr(&out->src, family, a, (uint16_t)(ports[0] << 8 | ports[1]));
    set_addr(&out->dst, family, a + alen, (uint16_t)(ports[2] << 8 | ports[3]));
    return ok(out, total);
}

enum proxyproto_rc proxyproto_parse(const uint8_t *p, size_t len, struct proxyproto_result *out)
{
    memset(out, 0, sizeof(*out));
    out->family = AF_UNSPEC;
    if (len == 0)
        return PROXYPROTO_MORE;
    if (starts_like(p, len, v1_sig, V1_SIG_LEN)) {
        out->version = 1;
        return len <= V1_SIG_LEN ? PROXYPROTO_MORE : parse_v1(p, len, out);
    }
    if (starts_like(p, len, v2_sig, PROXYPROTO_V2_SIG_LEN)) {
        out->version = 2;
        return len <= PROXYPROTO_V2_SIG_LEN ? PROXYPROTO_MORE : parse_v2(p, len, out);
    }
    return bad(out, "no PROXY protocol signature");
}
