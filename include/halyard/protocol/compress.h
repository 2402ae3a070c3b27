/*
 * compress.h: the MySQL compressed protocol (CLIENT_COMPRESS, zlib) as a
 * transport layered over another (plain TCP or TLS).
 *
 * A client that asks for CLIENT_COMPRESS speaks in frames once it has read
 * the login OK: a 7-byte header (compressed length 3, compressed sequence
 * 1, uncompressed length 3) and a payload that is one whole zlib stream, or
 * the bytes as they are when the uncompressed length is 0. Frames carry the
 * MySQL packet byte stream: one frame may hold several packets and one
 * packet may span frames. compress_start() swaps conn->ops for
 * transport_compress, which wraps the transport that was there, so the
 * session keeps reading and writing MySQL packets and never branches on
 * compression. Backends stay uncompressed.
 *
 * Sequence: the compressed sequence is separate from the packets'. Every
 * frame halyard sends takes the next number after the last frame received
 * (a client restarts at 0 with each command), which is what the server does.
 *
 * Memory: allocated once per session at compress_start() (the state with
 * a 16 KiB input buffer and a 33 KiB output frame, zlib's deflate stream
 * with a 4 KiB window, about 40 KiB, and its inflate stream, whose 32 KiB
 * window zlib allocates at the first compressed frame); nothing per frame. Input is inflated
 * straight into the caller's buffer, so a frame of any declared size (at most 16 MiB - 1) needs no
 * room of its own. A frame whose declared lengths do not match its content (more or fewer bytes
 * than declared, a stream that ends early or late, a compressed length past zlib's bound) makes
 * recv fail with EPROTO and conn_error() saying why: the owner closes the connection.
 *
 * Output is accepted a chunk at a time (at most COMPRESS_CHUNK bytes) into
 * one frame; a frame the socket did not take whole is finished by the
 * layer's own write watcher, so the owner's write watcher keeps its usual
 * meaning. Held input (bytes read past the caller's room) makes the layer
 * invoke the owner's read watcher again before the loop sleeps, as the TLS
 * transport does.
 */
#ifndef HALYARD_COMPRESS_H
#define HALYARD_COMPRESS_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/protocol/conn.h"
#include "halyard/core/core.h"

#define COMPRESS_HEADER_SIZE 7
/* Payloads shorter than this go out stored (uncompressed), as the server's. */
#define COMPRESS_MIN_LEN 50
/* Input bytes packed into one outgoing frame at most. */
#define COMPRESS_CHUNK  (32u * 1024u)
#define COMPRESS_IN_CAP (16u * 1024u)

extern const struct transport_ops transport_compress;

/* Switch `c` to compressed frames over its current transport. `raw` bytes
 * of what the owner sends next still go out as they are (the login OK a
 * client reads before it turns compression on, if it is still queued).
 * HY_OK (also when already compressed), HY_NOMEM. */
hy_status_t compress_start(struct conn *c, struct ev_loop *loop, size_t raw) HY_MUSTCHECK;

static inline bool conn_is_compressed(const struct conn *c)
{
    return c->ops == &transport_compress;
}

/* Decode one frame header; false when the lengths cannot be right (a
 * stored frame declares its length twice, a compressed one an
 * uncompressed length 0 < ulen with clen over zlib's bound for it, or 0). */
bool compress_header_valid(uint32_t clen, uint32_t ulen);

/* Encode `len` bytes (<= COMPRESS_CHUNK) as one frame into `out` (room at
 * least compress_frame_bound(len)) with sequence `seq`: the frame's size,
 * or 0 when zlib failed. `zs` is a deflate stream from deflateInit(). For
 * tests and the fuzzer as well as the transport. */
struct z_stream_s;
size_t compress_frame_encode(struct z_stream_s *zs, const uint8_t *in, size_t len, uint8_t seq,
                             uint8_t *out, size_t cap);
size_t compress_frame_bound(size_t len);

#endif /* HALYARD_COMPRESS_H */
