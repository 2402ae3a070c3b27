/*
 * proxyproto.h: the PROXY protocol header a load balancer sends first
 * (haproxy's proxy-protocol.txt, versions 1 and 2).
 *
 * An L4 balancer (haproxy `send-proxy`/`send-proxy-v2`, AWS NLB, ...) opens
 * its connection to halyard with one header that names the client it
 * accepted. A listener with `proxy_protocol_from` expects one from those
 * addresses before it sends the MySQL greeting (session_login.c); this module
 * only reads the bytes:
 *
 *   - version 1, text: "PROXY TCP4 SRC DST SPORT DPORT\r\n" (TCP6 alike),
 *     or "PROXY UNKNOWN ...\r\n"; at most 107 bytes, CRLF included;
 *   - version 2, binary: the 12-byte signature, version/command, family,
 *     a 16-bit length, the addresses, then TLVs (checked for shape, skipped).
 *     PROXY over TCP/IPv4 or TCP/IPv6 gives the client's address; LOCAL (a
 *     health check of the balancer itself) and UNSPEC mean "keep the
 *     connection's own addresses". The whole header is at most
 *     PROXYPROTO_MAX_HEADER bytes (halyard's smallest buffer_size).
 *
 * proxyproto_parse() is pure: bytes in, one of need-more / bad (why) /
 * ok (how many bytes the header took, the addresses) out. It may be
 * called again with more bytes; it never reads past `len`.
 */
#ifndef HALYARD_PROXYPROTO_H
#define HALYARD_PROXYPROTO_H

#include <sys/socket.h>

#include "halyard/core/core.h"

#define PROXYPROTO_V1_MAX     107 /* the spec's bound on a v1 line, CRLF included */
#define PROXYPROTO_V2_SIG_LEN 12
#define PROXYPROTO_V2_HDR     16   /* signature, version/command, family, length */
#define PROXYPROTO_MAX_HEADER 4096 /* a whole v2 header, TLVs included */

enum proxyproto_rc {
    PROXYPROTO_MORE = 0, /* a valid beginning: call again with more bytes */
    PROXYPROTO_BAD,      /* not a valid header: `why` says what is wrong */
    PROXYPROTO_OK,       /* a whole header: `consumed` bytes of it */
};

struct proxyproto_result {
    enum proxyproto_rc rc;
    const char *why;             /* PROXYPROTO_BAD: a static string for the log */
    size_t consumed;             /* PROXYPROTO_OK: the header's length */
    int version;                 /* 1 or 2, once the signature was recognised */
    bool local;                  /* v2 LOCAL or UNSPEC, v1 UNKNOWN: no addresses given */
    int family;                  /* AF_INET or AF_INET6; AF_UNSPEC when local */
    struct sockaddr_storage src; /* the client, as the balancer saw it */
    struct sockaddr_storage dst; /* the address the client connected to */
};

/* Read a PROXY header at the start of [p, p + len). The result is filled
 * (zeroed first) and its rc returned. */
enum proxyproto_rc proxyproto_parse(const uint8_t *p, size_t len, struct proxyproto_result *out);

/* Whether [p, p + len) starts the way a v1 or v2 header does: "PROXY " or
 * the v2 signature, at least `len` bytes of it (len >= 1). For refusing a
 * header from a peer that is not allowed to send one. */
bool proxyproto_signature(const uint8_t *p, size_t len);

#endif /* HALYARD_PROXYPROTO_H */
