/* tcp_relay.c - byte counting and end-of-stream rules of a TCP tunnel. */
#include "config.h"
#include "tcp_relay.h"

#include <errno.h>
#include <string.h>

void tcp_dir_init(struct tcp_dir *d, size_t cap)
{
    memset(d, 0, sizeof(*d));
    d->cap = cap;
}

int tcp_dir_want_read(const struct tcp_dir *d)
{
    return !d->eof && !d->dead && !d->stalled && d->pending < d->cap;
}

int tcp_dir_want_write(const struct tcp_dir *d)
{
    return !d->dead && d->pending > 0;
}

int tcp_dir_want_shutdown(const struct tcp_dir *d)
{
    return d->eof && !d->dead && !d->shut && d->pending == 0;
}

int tcp_dir_done(const struct tcp_dir *d)
{
    return d->dead || (d->eof && d->shut && d->pending == 0);
}

void tcp_dir_read_result(struct tcp_dir *d, enum tcp_io r, size_t n)
{
    switch (r) {
    case TCP_IO_MOVED:
        d->pending += n;
        break;
    case TCP_IO_AGAIN:
        /* With an empty buffer AGAIN can only mean an empty socket. */
        if (d->pending > 0)
            d->stalled = 1;
        break;
    case TCP_IO_EOF:
    case TCP_IO_ERROR:
        d->eof = 1;
        break;
    }
}

void tcp_dir_write_result(struct tcp_dir *d, enum tcp_io r, size_t n)
{
    switch (r) {
    case TCP_IO_MOVED:
        d->pending -= n <= d->pending ? n : d->pending;
        d->stalled = 0;               /* room was freed: reading may resume */
        break;
    case TCP_IO_AGAIN:
        break;
    case TCP_IO_EOF:
    case TCP_IO_ERROR:
        d->dead = 1;
        d->pending = 0;
        d->eof = 1;
        break;
    }
}

void tcp_dir_inject(struct tcp_dir *d, size_t n)
{
    d->pending += n;
}

void tcp_dir_shutdown_done(struct tcp_dir *d)
{
    d->shut = 1;
}

struct tcp_dir *tcp_tunnel_from(struct tcp_tunnel *t, enum tcp_side side)
{
    return side == TCP_SIDE_CLIENT ? &t->c2s : &t->s2c;
}

struct tcp_dir *tcp_tunnel_to(struct tcp_tunnel *t, enum tcp_side side)
{
    return side == TCP_SIDE_CLIENT ? &t->s2c : &t->c2s;
}

void tcp_tunnel_side_failed(struct tcp_tunnel *t, enum tcp_side side)
{
    tcp_dir_read_result(tcp_tunnel_from(t, side), TCP_IO_ERROR, 0);
    tcp_dir_write_result(tcp_tunnel_to(t, side), TCP_IO_ERROR, 0);
}

int tcp_tunnel_done(const struct tcp_tunnel *t)
{
    return tcp_dir_done(&t->c2s) && tcp_dir_done(&t->s2c);
}

enum tcp_io tcp_io_classify(ssize_t ret, int err)
{
    if (ret > 0)
        return TCP_IO_MOVED;
    if (ret == 0)
        return TCP_IO_EOF;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
        return TCP_IO_AGAIN;
    return TCP_IO_ERROR;
}
