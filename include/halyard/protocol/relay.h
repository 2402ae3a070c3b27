/*
 * relay.h: moving MySQL packets between a stream (buf.h) and a connection
 * (conn.h), header first, without copies.
 *
 * relay_read and relay_flush are the stream I/O of the data path. The
 * answer's framing (relay_down_next / relay_down_take) walks a server's
 * answer in `down` header first: payload bytes and the continuations of
 * 16 MiB packets are passed over, and each new logical packet is returned
 * to the caller as a fact (RELAY_PACKET, its header at st->scan) so the
 * caller can look at it (the response tracker, a PREPARE_OK to rewrite, an
 * internal query's value) before it is passed on. Nothing here calls back
 * into the session.
 */
#ifndef HALYARD_RELAY_H
#define HALYARD_RELAY_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "halyard/core/buf.h"
#include "halyard/protocol/conn.h"
#include "halyard/protocol/mysql_proto.h"

enum relay_rc {
    RELAY_DONE,   /* read: bytes came in; flush: all of it went out */
    RELAY_AGAIN,  /* would block, no room, or more bytes needed */
    RELAY_ERROR,  /* socket error: errno says why */
    RELAY_CLOSED, /* read: the peer closed */
    RELAY_PACKET, /* answer: a logical packet starts at st->scan */
    RELAY_END,    /* answer: the packet that ends it has been passed */
    RELAY_INFILE, /* answer: the packet asking for a local file has been passed */
};

/* Read once from `c` into `st` (a buffer taken from `pool` if needed). */
enum relay_rc relay_read(struct stream *st, struct conn *c, struct buf_pool *pool);
/* Write [head, scan) of `st` to `c`: RELAY_DONE when all went out (the
 * write watcher is stopped), RELAY_AGAIN when the socket is full (watcher
 * started), RELAY_ERROR. */
enum relay_rc relay_flush(struct stream *st, struct conn *c, struct ev_loop *loop);

/* Where the answer being passed stands. Zero it before each answer. */
struct relay_down {
    uint32_t left;    /* payload bytes of the current packet still to pass */
    bool cont;        /* the current packet is full length: a continuation follows */
    bool ending;      /* the packet being passed ends the answer */
    bool infile_next; /* the packet being passed asks for a local file */
    uint8_t seq;      /* sequence id of the last header seen, as the client gets it */
    uint8_t shift;    /* packets left out of the answer so far: every later
                       * header's sequence id goes down by as many */
};

/* Pass over what needs no look, up to the next fact: RELAY_PACKET (*len:
 * its payload length, rd->seq its sequence id; call relay_down_take once
 * the caller has looked), RELAY_END, RELAY_INFILE, or RELAY_AGAIN. */
enum relay_rc relay_down_next(struct relay_down *rd, struct stream *st, uint32_t *len);
/* Pass the packet relay_down_next stopped at; `rc` is what the response
 * tracker said of it. */
void relay_down_take(struct relay_down *rd, struct stream *st, uint32_t len, enum mysql_resp_rc rc);

#endif /* HALYARD_RELAY_H */
