/* tcp_relay.h - the decisions of a TCP tunnel, apart from its I/O.
 *
 * A tunnel has two directions (client->server, server->client). In each,
 * bytes move src socket -> buffer -> dst socket; the buffer is a pipe when
 * splice(2) is used, or memory in the read/write fallback. These functions
 * only count bytes and track end-of-stream, so the rules (when to read,
 * when to write, when to half-close, when the tunnel is over) are tested
 * without sockets. tcp_proxy.c does the system calls and reports results. */
#ifndef TANDEM_TCP_RELAY_H
#define TANDEM_TCP_RELAY_H

#include <stddef.h>
#include <sys/types.h>

struct tcp_dir {
    size_t pending;       /* bytes buffered, not yet written to dst */
    size_t cap;           /* buffer capacity (pipe size or memory buffer) */
    unsigned eof : 1;     /* src sent FIN or failed: read no more */
    unsigned stalled : 1; /* a read found no room (maybe a full pipe): wait for a write */
    unsigned shut : 1;    /* shutdown(dst, SHUT_WR) done */
    unsigned dead : 1;    /* dst failed: nothing more can be delivered */
};

struct tcp_tunnel {
    struct tcp_dir c2s;   /* client -> server */
    struct tcp_dir s2c;   /* server -> client */
};

/* What one read or write did. */
enum tcp_io {
    TCP_IO_MOVED = 0,     /* bytes moved */
    TCP_IO_AGAIN,         /* would block */
    TCP_IO_EOF,           /* read: orderly FIN */
    TCP_IO_ERROR,         /* the socket failed (reset, broken pipe...) */
};

enum tcp_side { TCP_SIDE_CLIENT = 0, TCP_SIDE_SERVER };

void tcp_dir_init(struct tcp_dir *d, size_t cap);

/* Whether to try (and poll for) reading src / writing dst now. */
int tcp_dir_want_read(const struct tcp_dir *d);
int tcp_dir_want_write(const struct tcp_dir *d);
/* src has ended and everything read was delivered: half-close dst. */
int tcp_dir_want_shutdown(const struct tcp_dir *d);
/* Nothing more will happen in this direction. */
int tcp_dir_done(const struct tcp_dir *d);

/* Results of reading src into the buffer. `n` counts bytes moved (MOVED
 * only). AGAIN with bytes pending may mean the pipe had no free slot
 * rather than an empty socket, so reading pauses until a write frees room:
 * polling src then would spin on a readable socket. */
void tcp_dir_read_result(struct tcp_dir *d, enum tcp_io r, size_t n);
/* Results of writing the buffer to dst. */
void tcp_dir_write_result(struct tcp_dir *d, enum tcp_io r, size_t n);
/* Bytes that must reach dst before anything read from src (a PROXY
 * header, bytes read along with the client's PROXY header). */
void tcp_dir_inject(struct tcp_dir *d, size_t n);
void tcp_dir_shutdown_done(struct tcp_dir *d);

/* The direction reading from `side` / writing to `side`. */
struct tcp_dir *tcp_tunnel_from(struct tcp_tunnel *t, enum tcp_side side);
struct tcp_dir *tcp_tunnel_to(struct tcp_tunnel *t, enum tcp_side side);

/* A socket failed (read or write error): nothing more is read from it or
 * written to it; what was read from it is still delivered to the other
 * side, which is then half-closed. */
void tcp_tunnel_side_failed(struct tcp_tunnel *t, enum tcp_side side);
int tcp_tunnel_done(const struct tcp_tunnel *t);

/* Maps a read/write return value and errno to a result. */
enum tcp_io tcp_io_classify(ssize_t ret, int err);

#endif
