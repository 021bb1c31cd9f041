/* tcp_proxy.c - mode tcp: one client connection, one server connection,
 * bytes relayed both ways: copied through a buffer while the transfers are
 * small, spliced (splice(2) through a pipe, no copy) once a direction
 * carries bulk data.
 *
 * Pipeline: [PROXY header in] -> [TLS ClientHello read, when the frontend
 * has sni routes] -> pick a server -> non-blocking connect
 * (retried on another server) -> [PROXY header out] -> relay -> close.
 * The relay rules (when to read, write, half-close, finish) live in
 * tcp_relay.c; this file does the system calls.
 *
 * Timeouts, as HAProxy operators expect them in tcp mode:
 *  - waiting for the client's PROXY header, then for its ClientHello: the
 *    frontend's client timeout, each;
 *  - connecting: the backend's connect timeout, per attempt;
 *  - relaying: the backend's tunnel timeout (default 1h) as an idle timeout
 *    over both directions (HAProxy's "timeout tunnel", which supersedes the
 *    client/server timeouts once a tcp connection is established). 0 = none.
 *
 * Termination codes in the access log (cause, then phase):
 *  "--" both sides closed normally
 *  "cR" client timeout before a PROXY header or ClientHello
 *  "CR" client left before it                   "PC" no server available
 *  "PR" invalid PROXY header, or no valid TLS ClientHello (sni routes)
 *  "RC" local resources exhausted (fds, memory)
 *  "SC" connect failed on the last attempt      "sC" connect timed out on it
 *  "CD" client reset during relay               "SD" server reset during it
 *  "cD" tunnel idle timeout                     "K?" closed by the worker
 *                                                    (grace time over) */
#include "config.h"
#include "worker.h"
#include "health.h"
#include "tcp_relay.h"
#include "ratelimit_rt.h"
#include "tables.h"
#include "proxy_proto.h"
#include "route.h"
#include "tls_hello.h"
#include "accesslog.h"
#include "addr.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_HDR_FIRST   256      /* first buffer for the client's PROXY header */
#define TCP_HELLO_FIRST 2048     /* first buffer for a ClientHello (most fit) */
#define TCP_COPY_BUF    16384    /* per direction, while bytes are pending */
#define TCP_PIPE_POOL   64       /* empty pipes kept per worker thread */
#define TCP_MEM_POOL    64       /* free copy buffers kept per worker thread */
#define TCP_PUMP_ROUNDS 8        /* read+write rounds per event, for fairness */
#define TCP_PROXY_OUT   232      /* a v1 or v2 header without TLVs fits */

enum tcp_phase { TCP_PH_HEADER = 0, TCP_PH_HELLO, TCP_PH_CONNECT, TCP_PH_RELAY };

/* The buffer of one direction. A direction starts copying: read(2) into
 * a buffer taken from the thread's pool only while bytes are pending, and
 * send(2). For small messages that costs the same two system calls as
 * splicing and skips the pipe's bookkeeping in the kernel (measured: about
 * 8% of the proxy's CPU in do_splice/splice_to_pipe/pipe_lock for 13-byte
 * replies). A read that fills the whole buffer means bulk data: once the
 * buffer has drained, the direction switches to a pipe and splices from
 * then on. Sockets that refuse splice (EINVAL) stay copying. `head` holds
 * bytes that go out before the buffer. */
struct tcp_buf {
    int pipe[2];                 /* -1 while copying */
    size_t pipe_cap;
    size_t in_pipe;
    char *mem;                   /* copying: NULL while nothing is pending */
    size_t mem_off, mem_len;
    int bulk;                    /* a full read was seen: splice once drained */
    int no_splice;               /* splice refused for these sockets */
    char *head;
    size_t head_off, head_len;
};

/* Events: bit positions in tcp_session.ev_on. */
enum { TCP_EV_CRD = 0, TCP_EV_CWR, TCP_EV_SRD, TCP_EV_SWR, TCP_EV_N };

struct tcp_session {
    struct worker_session ws;
    struct worker *w;
    struct runtime *rt;          /* referenced */
    struct frontend_rt *fe;
    struct backend *be;
    struct server *srv;
    int srv_held;                /* srv->active counts this connection */
    int cfd, sfd;
    enum tcp_phase phase;
    struct sockaddr_storage client;  /* the PROXY header's, if one came */
    struct sockaddr_storage local;
    struct event *ev[TCP_EV_N];
    unsigned ev_on;
    struct event *timer;
    uint8_t *hdr;                /* client PROXY header / ClientHello being read */
    size_t hdr_len, hdr_cap;
    struct hello_reader *hello;  /* while reading the ClientHello */
    char *sni;                   /* its server name, for the access log */
    unsigned attempts;
    struct tcp_tunnel tun;
    struct tcp_buf c2s, s2c;
    uint64_t t_accept, t_header, t_connect_start, t_connected, last_active;
    uint64_t bytes_in, bytes_out;
    const char *term;
    struct conn_entry *conn;     /* in the connection table */
};

/* Empty pipes reused across sessions of one worker thread: creating,
 * sizing and closing two pipes per connection costs eight system calls. */
struct tcp_pipe {
    int fd[2];
    size_t cap;
};
static __thread struct tcp_pipe tcp_pipe_pool[TCP_PIPE_POOL];
static __thread unsigned tcp_pipe_npool;
static __thread char *tcp_mem_pool[TCP_MEM_POOL];
static __thread unsigned tcp_mem_npool;

static __thread struct log_ratelimit tcp_rl_header, tcp_rl_hello, tcp_rl_noserver,
    tcp_rl_connect, tcp_rl_resource;

static void tcp_close(struct tcp_session *s);
static void tcp_connect_next(struct tcp_session *s, struct server *avoid);
static void tcp_inspect_refuse(struct tcp_session *s, const char *why, const char *term);

/* ---- small helpers ---- */

static void tcp_count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t tcp_idle_timeout(const struct tcp_session *s)
{
    return s->be ? s->be->conf->tunnel_timeout_ms : 0;
}

static void tcp_timer_arm(struct tcp_session *s, uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

    if (ms == 0) {
        event_del(s->timer);
        return;
    }
    event_add(s->timer, &tv);
}

static void tcp_ev_set(struct tcp_session *s, int which, int on)
{
    unsigned bit = 1u << which;

    if (on == !!(s->ev_on & bit))
        return;
    if (on)
        event_add(s->ev[which], NULL);
    else
        event_del(s->ev[which]);
    s->ev_on ^= bit;
}

static const char *tcp_client_str(const struct tcp_session *s, char *buf, size_t len)
{
    return addr_format((const struct sockaddr *)&s->client, buf, len);
}

/* ---- pipes ---- */

static int tcp_pipe_get(struct tcp_buf *b)
{
    int sz;

    if (tcp_pipe_npool > 0) {
        struct tcp_pipe *p = &tcp_pipe_pool[--tcp_pipe_npool];
        b->pipe[0] = p->fd[0];
        b->pipe[1] = p->fd[1];
        b->pipe_cap = p->cap;
        return 0;
    }
    if (pipe2(b->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    /* Usually 64 KiB; less once the user's pipe-user-pages quota is hit. */
    sz = fcntl(b->pipe[0], F_GETPIPE_SZ);
    b->pipe_cap = sz > 0 ? (size_t)sz : 4096;
    return 0;
}

/* A pipe with bytes left in it is closed, never pooled. */
static void tcp_pipe_put(struct tcp_buf *b)
{
    if (b->pipe[0] < 0)
        return;
    if (b->in_pipe == 0 && tcp_pipe_npool < TCP_PIPE_POOL) {
        struct tcp_pipe *p = &tcp_pipe_pool[tcp_pipe_npool++];
        p->fd[0] = b->pipe[0];
        p->fd[1] = b->pipe[1];
        p->cap = b->pipe_cap;
    } else {
        close(b->pipe[0]);
        close(b->pipe[1]);
    }
    b->pipe[0] = b->pipe[1] = -1;
}

/* Copy buffers, lent to a direction only while it has bytes pending. */
static char *tcp_mem_get(void)
{
    return tcp_mem_npool > 0 ? tcp_mem_pool[--tcp_mem_npool] : malloc(TCP_COPY_BUF);
}

static void tcp_mem_put(struct tcp_buf *b)
{
    if (!b->mem)
        return;
    if (tcp_mem_npool < TCP_MEM_POOL)
        tcp_mem_pool[tcp_mem_npool++] = b->mem;
    else
        free(b->mem);
    b->mem = NULL;
    b->mem_off = b->mem_len = 0;
}

void tcp_thread_cleanup(void)
{
    while (tcp_mem_npool > 0)
        free(tcp_mem_pool[--tcp_mem_npool]);
    while (tcp_pipe_npool > 0) {
        struct tcp_pipe *p = &tcp_pipe_pool[--tcp_pipe_npool];
        close(p->fd[0]);
        close(p->fd[1]);
    }
}

/* Sets up one direction, copying; nothing is allocated until bytes come.
 * Returns the capacity. */
static size_t tcp_buf_init(struct tcp_buf *b)
{
    b->pipe[0] = b->pipe[1] = -1;
    b->mem = NULL;
    b->mem_off = b->mem_len = 0;
    b->bulk = b->no_splice = 0;
    return TCP_COPY_BUF;
}

static void tcp_buf_free(struct tcp_buf *b)
{
    tcp_pipe_put(b);
    tcp_mem_put(b);
    free(b->head);
    b->head = NULL;
}

/* A copying direction that carried bulk data and has drained moves to a
 * pipe (if one can be had; else it keeps copying). */
static void tcp_buf_maybe_splice(struct tcp_buf *b, struct tcp_dir *d)
{
    if (!b->bulk || b->no_splice || b->pipe[0] >= 0 || b->mem_len > 0 || d->pending > 0)
        return;
    b->bulk = 0;
    if (tcp_pipe_get(b) < 0) {
        b->pipe[0] = b->pipe[1] = -1;
        return;
    }
    tcp_mem_put(b);
    d->cap = b->pipe_cap;
}

/* splice refused for this socket pair (EINVAL): copy for good. Only done
 * while the pipe is empty, so no byte is stranded in it. */
static int tcp_buf_to_copy(struct tcp_buf *b, struct tcp_dir *d)
{
    if (b->in_pipe > 0)
        return -1;
    tcp_pipe_put(b);
    b->no_splice = 1;
    d->cap = TCP_COPY_BUF;
    return 0;
}

/* ---- moving bytes ---- */

/* Reads from src into the direction's buffer. *asked is how much room
 * was offered: a shorter read means the socket is most likely empty. */
static enum tcp_io tcp_buf_read(struct tcp_buf *b, struct tcp_dir *d, int src, size_t *n,
                                size_t *asked)
{
    ssize_t r;

    if (b->pipe[0] >= 0) {
        *asked = d->cap - b->in_pipe;
        r = splice(src, NULL, b->pipe[1], NULL, *asked, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (r < 0 && (errno == EINVAL || errno == ENOSYS) && tcp_buf_to_copy(b, d) == 0)
            return tcp_buf_read(b, d, src, n, asked);
        if (r > 0)
            b->in_pipe += (size_t)r;
    } else {
        if (!b->mem && !(b->mem = tcp_mem_get())) {
            *asked = 0;
            *n = 0;
            errno = ENOMEM;
            return TCP_IO_ERROR;
        }
        if (b->mem_len == 0)
            b->mem_off = 0;
        if (b->mem_off + b->mem_len == TCP_COPY_BUF) {
            memmove(b->mem, b->mem + b->mem_off, b->mem_len);
            b->mem_off = 0;
        }
        *asked = TCP_COPY_BUF - b->mem_off - b->mem_len;
        r = read(src, b->mem + b->mem_off + b->mem_len, *asked);
        if (r > 0)
            b->mem_len += (size_t)r;
        if (r == (ssize_t)TCP_COPY_BUF)
            b->bulk = 1;               /* a whole buffer at once: bulk data */
        if (b->mem_len == 0)
            tcp_mem_put(b);
    }
    *n = r > 0 ? (size_t)r : 0;
    return tcp_io_classify(r, errno);
}

/* Writes the head bytes, then the buffer, to dst. */
static enum tcp_io tcp_buf_write(struct tcp_buf *b, int dst, size_t *n)
{
    ssize_t r;

    if (b->head) {
        r = send(dst, b->head + b->head_off, b->head_len - b->head_off, MSG_NOSIGNAL);
        if (r > 0 && (b->head_off += (size_t)r) == b->head_len) {
            free(b->head);
            b->head = NULL;
        }
    } else if (b->pipe[0] >= 0) {
        r = splice(b->pipe[0], NULL, dst, NULL, b->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (r > 0)
            b->in_pipe -= (size_t)r;
    } else {
        r = send(dst, b->mem + b->mem_off, b->mem_len, MSG_NOSIGNAL);
        if (r > 0) {
            b->mem_off += (size_t)r;
            b->mem_len -= (size_t)r;
            if (b->mem_len == 0)
                tcp_mem_put(b);        /* back to the pool until more comes */
        }
    }
    *n = r > 0 ? (size_t)r : 0;
    /* A write of 0 bytes with bytes to write is not an EOF; retry later. */
    return r == 0 ? TCP_IO_AGAIN : tcp_io_classify(r, errno);
}

static void tcp_fail(struct tcp_session *s, enum tcp_side side)
{
    if (!s->term)
        s->term = side == TCP_SIDE_CLIENT ? "CD" : "SD";
    tcp_tunnel_side_failed(&s->tun, side);
}

static void tcp_account(struct tcp_session *s, enum tcp_side from, size_t n)
{
    if (from == TCP_SIDE_CLIENT) {
        s->bytes_in += n;
        tables_conn_bytes(s->conn, n, 0);
        tcp_count(&s->fe->stats.bytes_in, n);
        tcp_count(&s->srv->stats.bytes_out, n);
    } else {
        s->bytes_out += n;
        tables_conn_bytes(s->conn, 0, n);
        tcp_count(&s->fe->stats.bytes_out, n);
        tcp_count(&s->srv->stats.bytes_in, n);
    }
}

/* One round: flush what is buffered, then read more unless an earlier
 * read came back short. Skipping that read saves a system call that would
 * only say EAGAIN; polling is level-triggered, so data or a FIN still
 * pending wakes the session again. Returns 1 if bytes moved. */
static int tcp_pump_round(struct tcp_session *s, enum tcp_side from, int *drained)
{
    enum tcp_side to = from == TCP_SIDE_CLIENT ? TCP_SIDE_SERVER : TCP_SIDE_CLIENT;
    struct tcp_dir *d = tcp_tunnel_from(&s->tun, from);
    struct tcp_buf *b = from == TCP_SIDE_CLIENT ? &s->c2s : &s->s2c;
    int src = from == TCP_SIDE_CLIENT ? s->cfd : s->sfd;
    int dst = from == TCP_SIDE_CLIENT ? s->sfd : s->cfd;
    enum tcp_io r;
    size_t n, asked;
    int moved = 0;

    if (tcp_dir_want_write(d)) {
        r = tcp_buf_write(b, dst, &n);
        tcp_dir_write_result(d, r, n);
        if (r == TCP_IO_ERROR)
            tcp_fail(s, to);
        moved |= r == TCP_IO_MOVED;
        tcp_buf_maybe_splice(b, d);
    }
    if (!*drained && tcp_dir_want_read(d)) {
        r = tcp_buf_read(b, d, src, &n, &asked);
        *drained = r != TCP_IO_MOVED || n < asked;
        tcp_dir_read_result(d, r, n);
        if (r == TCP_IO_ERROR)
            tcp_fail(s, from);
        if (r == TCP_IO_MOVED)
            tcp_account(s, from, n);
        moved |= r == TCP_IO_MOVED;
    }
    return moved;
}

/* Moves bytes in one direction until it would block (or its share of
 * rounds is used: level-triggered polling brings it back). */
static void tcp_pump(struct tcp_session *s, enum tcp_side from)
{
    int moved = 0, drained = 0;

    for (int i = 0; i < TCP_PUMP_ROUNDS && tcp_pump_round(s, from, &drained); i++)
        moved = 1;
    if (moved)
        s->last_active = clock_mono_ms();
}

/* Half-closes dst once src has ended and all it sent was delivered. Both
 * directions are checked: a failure seen in one ends the other too. When
 * the other direction is already over, the close that follows sends the
 * FIN, so the shutdown call is skipped. */
static void tcp_shutdowns(struct tcp_session *s)
{
    if (tcp_dir_want_shutdown(&s->tun.c2s)) {
        if (!tcp_dir_done(&s->tun.s2c))
            shutdown(s->sfd, SHUT_WR);
        tcp_dir_shutdown_done(&s->tun.c2s);
    }
    if (tcp_dir_want_shutdown(&s->tun.s2c)) {
        if (!tcp_dir_done(&s->tun.c2s))
            shutdown(s->cfd, SHUT_WR);
        tcp_dir_shutdown_done(&s->tun.s2c);
    }
}

/* After any I/O: finish, or poll for exactly what each direction needs. */
static void tcp_relay_update(struct tcp_session *s)
{
    tcp_shutdowns(s);
    if (tcp_tunnel_done(&s->tun)) {
        tcp_close(s);
        return;
    }
    tcp_ev_set(s, TCP_EV_CRD, tcp_dir_want_read(&s->tun.c2s));
    tcp_ev_set(s, TCP_EV_SWR, tcp_dir_want_write(&s->tun.c2s));
    tcp_ev_set(s, TCP_EV_SRD, tcp_dir_want_read(&s->tun.s2c));
    tcp_ev_set(s, TCP_EV_CWR, tcp_dir_want_write(&s->tun.s2c));
}

/* ---- the relay phase ---- */

static void tcp_on_event(evutil_socket_t fd, short what, void *arg)
{
    struct tcp_session *s = arg;
    int is_client = fd == s->cfd;

    /* Readable client or writable server: client->server moves; the
     * other two: server->client. */
    if ((what & EV_READ) ? is_client : !is_client)
        tcp_pump(s, TCP_SIDE_CLIENT);
    else
        tcp_pump(s, TCP_SIDE_SERVER);
    tcp_relay_update(s);
}

static void tcp_on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct tcp_session *s = arg;
    char cbuf[ADDR_STRLEN];
    uint64_t now = clock_mono_ms(), limit;
    (void)fd; (void)what;

    if (s->phase == TCP_PH_HEADER) {
        atomic_fetch_add(&s->fe->stats.denied, 1);
        log_limited(&tcp_rl_header, 10, 10, LOG_LVL_WARN,
                    "frontend \"%s\": client %s sent no PROXY header in time, closing",
                    s->fe->conf->name, tcp_client_str(s, cbuf, sizeof(cbuf)));
        s->term = "cR";
        tcp_close(s);
        return;
    }
    if (s->phase == TCP_PH_HELLO) {
        tcp_inspect_refuse(s, "sent no TLS ClientHello in time, closing", "cR");
        return;
    }
    /* Activity only stamps last_active; the timer is re-armed lazily here
     * rather than on every read. */
    limit = tcp_idle_timeout(s);
    if (now - s->last_active < limit) {
        tcp_timer_arm(s, s->last_active + limit - now);
        return;
    }
    s->term = "cD";
    tcp_close(s);
}

static int tcp_relay_events(struct tcp_session *s)
{
    struct event_base *base = s->w->base;

    s->ev[TCP_EV_CRD] = event_new(base, s->cfd, EV_READ | EV_PERSIST, tcp_on_event, s);
    s->ev[TCP_EV_CWR] = event_new(base, s->cfd, EV_WRITE | EV_PERSIST, tcp_on_event, s);
    s->ev[TCP_EV_SRD] = event_new(base, s->sfd, EV_READ | EV_PERSIST, tcp_on_event, s);
    s->ev[TCP_EV_SWR] = event_new(base, s->sfd, EV_WRITE | EV_PERSIST, tcp_on_event, s);
    for (int i = 0; i < TCP_EV_N; i++)
        if (!s->ev[i])
            return -1;
    return 0;
}

/* Bytes that must precede the client's data on the server side: our
 * PROXY header and whatever the client sent right after its own. */
static int tcp_head_build(struct tcp_session *s)
{
    char pp[TCP_PROXY_OUT];
    size_t pplen = 0, early = s->hdr ? s->hdr_len : 0;
    const struct sockaddr *src = (const struct sockaddr *)&s->client;
    const struct sockaddr *dst = (const struct sockaddr *)&s->local;

    if (s->srv->send_proxy == PROXY_PROTO_V1)
        pplen = proxy_proto_write_v1(pp, sizeof(pp), src, dst);
    else if (s->srv->send_proxy == PROXY_PROTO_V2)
        pplen = proxy_proto_write_v2((uint8_t *)pp, sizeof(pp), src, dst);
    if (pplen + early == 0)
        return 0;
    s->c2s.head = malloc(pplen + early);
    if (!s->c2s.head)
        return -1;
    memcpy(s->c2s.head, pp, pplen);
    if (early)
        memcpy(s->c2s.head + pplen, s->hdr, early);
    s->c2s.head_len = pplen + early;
    tcp_dir_inject(&s->tun.c2s, pplen + early);
    if (early)
        tcp_account(s, TCP_SIDE_CLIENT, early);
    return 0;
}

static void tcp_relay_start(struct tcp_session *s)
{
    size_t c2s_cap, s2c_cap;

    s->phase = TCP_PH_RELAY;
    s->t_connected = s->last_active = clock_mono_ms();
    health_passive_report(s->srv, HEALTH_CONNECT_OK);
    c2s_cap = tcp_buf_init(&s->c2s);
    s2c_cap = tcp_buf_init(&s->s2c);
    tcp_dir_init(&s->tun.c2s, c2s_cap);
    tcp_dir_init(&s->tun.s2c, s2c_cap);
    if (!c2s_cap || !s2c_cap || tcp_relay_events(s) < 0 || tcp_head_build(s) < 0) {
        log_limited(&tcp_rl_resource, 5, 10, LOG_LVL_ERR,
                    "frontend \"%s\": out of memory or descriptors starting a relay",
                    s->fe->conf->name);
        s->term = "RC";
        tcp_close(s);
        return;
    }
    free(s->hdr);
    s->hdr = NULL;
    tcp_timer_arm(s, tcp_idle_timeout(s));
    /* The client has usually sent its first bytes while we connected:
     * move them now rather than after another trip through epoll. */
    tcp_pump(s, TCP_SIDE_CLIENT);
    tcp_relay_update(s);
}

/* ---- connecting ---- */

static void tcp_server_release(struct tcp_session *s)
{
    if (s->sfd >= 0)
        close(s->sfd);
    s->sfd = -1;
    if (s->srv_held)
        atomic_fetch_sub(&s->srv->active, 1);
    s->srv_held = 0;
}

static void tcp_connect_failed(struct tcp_session *s, int timed_out, int err)
{
    char cbuf[ADDR_STRLEN];
    struct server *failed = s->srv;

    tcp_count(timed_out ? &failed->stats.timeouts : &failed->stats.connect_errors, 1);
    health_passive_report(failed, HEALTH_CONNECT_FAIL);
    if (s->ev[TCP_EV_SWR])
        event_free(s->ev[TCP_EV_SWR]);
    s->ev[TCP_EV_SWR] = NULL;
    tcp_server_release(s);
    if (s->attempts <= s->be->conf->retries) {
        tcp_count(&failed->stats.retries, 1);
        tcp_connect_next(s, failed);
        return;
    }
    log_limited(&tcp_rl_connect, 10, 10, LOG_LVL_WARN,
                "frontend \"%s\": client %s: connect to %s/%s %s after %u attempt%s",
                s->fe->conf->name, tcp_client_str(s, cbuf, sizeof(cbuf)), s->be->name,
                failed->name, timed_out ? "timed out" : strerror(err), s->attempts,
                s->attempts == 1 ? "" : "s");
    s->term = timed_out ? "sC" : "SC";
    tcp_close(s);
}

/* Waits for the connect to finish, within the backend's connect timeout. */
static void tcp_connect_wait(struct tcp_session *s)
{
    uint64_t ms = s->be->conf->connect_timeout_ms;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

    event_add(s->ev[TCP_EV_SWR], ms ? &tv : NULL);
}

static void tcp_on_connect(evutil_socket_t fd, short what, void *arg)
{
    struct tcp_session *s = arg;
    int err = 0;
    socklen_t len = sizeof(err);

    if (what & EV_TIMEOUT) {
        tcp_connect_failed(s, 1, ETIMEDOUT);
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY) {
        tcp_connect_wait(s);           /* spurious wake-up: the event is one-shot */
        return;
    }
    if (err) {
        tcp_connect_failed(s, 0, err);
        return;
    }
    event_free(s->ev[TCP_EV_SWR]);
    s->ev[TCP_EV_SWR] = NULL;
    tcp_relay_start(s);
}

/* The key a source or source-keyed hash balancer hashes: the client IP
 * (from the PROXY header when there was one). */
static struct server *tcp_pick(struct tcp_session *s, struct server *avoid,
                               enum lb_result *why)
{
    struct balancer *b = worker_balancer(s->w, s->rt, s->be->index);
    const void *key = NULL;
    size_t keylen = 0;
    struct server *srv;

    if (!b) {
        *why = LB_NONE_UP;
        return NULL;
    }
    /* A client the peer box was serving before a failover keeps its server
     * (sync channel, conn_grace). */
    if (!avoid && s->attempts == 0 &&
        (srv = tables_peer_server(s->be, CONN_TCP, s->fe->conf->name,
                                  (const struct sockaddr *)&s->client, NULL)) != NULL)
        return srv;
    if (s->be->algo != LB_HASH || s->be->hash_key.kind == HASH_KEY_SOURCE)
        key = addr_ip_bytes((const struct sockaddr *)&s->client, &keylen);
    srv = balancer_pick(b, key, keylen, avoid, clock_mono_ms(), why);
    /* The only usable server may be the one that just failed: try it
     * again rather than give up with retries left. */
    if (!srv && avoid)
        srv = balancer_pick(b, key, keylen, NULL, clock_mono_ms(), why);
    return srv;
}

/* Returns 0 when the connect is under way, -1 when local resources ran
 * out, or a positive errno when the connect failed at once. */
static int tcp_connect_start(struct tcp_session *s)
{
    const struct sockaddr *sa = (const struct sockaddr *)&s->srv->addr.ss;

    s->sfd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->sfd < 0)
        return -1;
    setsockopt(s->sfd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
    if (connect(s->sfd, sa, s->srv->addr.len) < 0 && errno != EINPROGRESS) {
        if (errno == ENOBUFS || errno == ENOMEM || errno == EADDRNOTAVAIL)
            return -1;
        return errno;
    }
    s->ev[TCP_EV_SWR] = event_new(s->w->base, s->sfd, EV_WRITE, tcp_on_connect, s);
    if (!s->ev[TCP_EV_SWR])
        return -1;
    tcp_connect_wait(s);
    return 0;
}

static void tcp_connect_next(struct tcp_session *s, struct server *avoid)
{
    char cbuf[ADDR_STRLEN];
    enum lb_result why = LB_OK;
    int r;

    s->srv = tcp_pick(s, avoid, &why);
    if (!s->srv) {
        log_limited(&tcp_rl_noserver, 10, 10, LOG_LVL_WARN,
                    "frontend \"%s\": client %s: backend \"%s\" has %s, closing",
                    s->fe->conf->name, tcp_client_str(s, cbuf, sizeof(cbuf)), s->be->name,
                    why == LB_ALL_FULL ? "all servers at maxconn" : "no server up with weight > 0");
        s->term = "PC";
        tcp_close(s);
        return;
    }
    s->attempts++;
    tables_conn_server(s->conn, s->srv);
    s->srv_held = 1;
    atomic_fetch_add(&s->srv->active, 1);
    tcp_count(&s->srv->stats.conns_total, 1);
    r = tcp_connect_start(s);
    if (r > 0) {
        tcp_connect_failed(s, 0, r);   /* refused at once: retried like a late failure */
        return;
    }
    if (r < 0) {
        log_limited(&tcp_rl_resource, 5, 10, LOG_LVL_ERR,
                    "frontend \"%s\": cannot open a connection to %s/%s: %s",
                    s->fe->conf->name, s->be->name, s->srv->name, strerror(errno));
        tcp_server_release(s);
        s->term = "RC";
        tcp_close(s);
    }
}

static __thread struct log_ratelimit tcp_rl_limited;

/* Over a rate limit (keys ip and global): the connection is closed before
 * any server is connected, logged and counted. */
static int tcp_rate_limited(struct tcp_session *s)
{
    struct rl_verdict v;
    const struct rl_limit *l;
    char cbuf[ADDR_STRLEN];

    if (!s->fe->rl)
        return 0;
    l = ratelimit_check_conn(s->fe->rl, (const struct sockaddr *)&s->client, clock_wall_ms(),
                             &v);
    if (!l)
        return 0;
    tcp_count(&s->fe->stats.rate_limited, 1);
    log_limited(&tcp_rl_limited, 10, 10, LOG_LVL_INFO,
                "frontend \"%s\": client %s: rate limit \"%s\" exceeded, connection refused",
                s->fe->conf->name, tcp_client_str(s, cbuf, sizeof(cbuf)), l->name);
    s->term = "PR";
    tcp_close(s);
    return 1;
}

/* bi: the backend to use, the frontend's default or an sni route's. */
static void tcp_connect_begin(struct tcp_session *s, int bi)
{
    if (tcp_rate_limited(s))
        return;
    s->phase = TCP_PH_CONNECT;
    tcp_timer_arm(s, 0);
    if (bi < 0 || (unsigned)bi >= s->rt->nbackends) {
        log_err("frontend \"%s\": mode tcp without a backend", s->fe->conf->name);
        s->term = "PC";
        tcp_close(s);
        return;
    }
    s->be = &s->rt->backends[bi];
    s->t_connect_start = clock_mono_ms();
    tcp_connect_next(s, NULL);
}

/* ---- the client's PROXY header ---- */

/* Room for the next read: a PROXY header fits in PROXY_PROTO_V2_MAX, a
 * ClientHello the reader accepts in HELLO_INPUT_MAX. */
static int tcp_header_room(struct tcp_session *s)
{
    size_t max = s->phase == TCP_PH_HELLO ? HELLO_INPUT_MAX : PROXY_PROTO_V2_MAX;
    size_t cap = s->hdr ? PROXY_PROTO_V2_MAX : TCP_HDR_FIRST;
    uint8_t *p;

    if (s->hdr && s->hdr_len < s->hdr_cap)
        return 0;
    if (s->hdr && s->hdr_cap >= max)
        return -1;
    if (s->phase == TCP_PH_HELLO)
        cap = s->hdr_cap * 2 < TCP_HELLO_FIRST ? TCP_HELLO_FIRST
              : s->hdr_cap * 2 > max ? max : s->hdr_cap * 2;
    p = realloc(s->hdr, cap);
    if (!p)
        return -1;
    s->hdr = p;
    s->hdr_cap = cap;
    return 0;
}

/* A client refused before any server was chosen: counted as denied. */
static void tcp_inspect_refuse(struct tcp_session *s, const char *why, const char *term)
{
    char cbuf[ADDR_STRLEN];

    atomic_fetch_add(&s->fe->stats.denied, 1);
    log_limited(s->phase == TCP_PH_HELLO ? &tcp_rl_hello : &tcp_rl_header, 10, 10,
                LOG_LVL_WARN, "frontend \"%s\": client %s: %s",
                s->fe->conf->name, tcp_client_str(s, cbuf, sizeof(cbuf)), why);
    s->term = term;
    tcp_close(s);
}

static void tcp_hello_begin(struct tcp_session *s);

/* Reading before any server is chosen, PROXY header or ClientHello, uses
 * one persistent read event; it is freed once the reading is over. */
static void tcp_inspect_end(struct tcp_session *s, int bi)
{
    s->t_header = clock_mono_ms();
    event_free(s->ev[TCP_EV_CRD]);
    s->ev[TCP_EV_CRD] = NULL;
    tcp_connect_begin(s, bi);
}

/* Applies a parsed header and keeps the bytes that followed it. */
static void tcp_header_done(struct tcp_session *s, const struct proxy_proto_info *pi,
                            size_t hlen)
{
    if (!pi->local) {
        s->client = pi->src;
        s->local = pi->dst;
        tables_conn_addrs(s->conn, &s->client, &s->local);
    }
    s->hdr_len -= hlen;
    memmove(s->hdr, s->hdr + hlen, s->hdr_len);
    if (s->fe->conf->nroutes > 0)
        tcp_hello_begin(s);
    else
        tcp_inspect_end(s, s->fe->conf->default_backend_index);
}

static void tcp_header_check(struct tcp_session *s)
{
    struct proxy_proto_info pi;
    int r;

    memset(&pi, 0, sizeof(pi));
    r = proxy_proto_parse(s->hdr, s->hdr_len, &pi);
    if (r < 0)
        tcp_inspect_refuse(s, "invalid PROXY header", "PR");
    else if (r > 0)
        tcp_header_done(s, &pi, (size_t)r);
}

/* SNI passthrough: the ClientHello stays in s->hdr and goes to the server
 * first (tcp_head_build), exactly as the client sent it. */
static void tcp_hello_check(struct tcp_session *s)
{
    struct hello_info info;
    char why[160];
    enum hello_status st = hello_feed(s->hello, s->hdr, s->hdr_len, &info);

    if (st == HELLO_NEED_MORE)
        return;
    if (st != HELLO_OK) {
        snprintf(why, sizeof(why), "%s TLS ClientHello (%s), closing",
                 st == HELLO_NOT_TLS ? "no" : "malformed", s->hello->error);
        tcp_inspect_refuse(s, why, "PR");
        return;
    }
    free(s->hello);
    s->hello = NULL;
    s->sni = info.has_sni ? strdup(info.sni) : NULL;
    tcp_inspect_end(s, route_select_sni(s->fe->conf, info.has_sni ? info.sni : NULL));
}

static void tcp_on_client_read(evutil_socket_t fd, short what, void *arg)
{
    struct tcp_session *s = arg;
    int hello = s->phase == TCP_PH_HELLO;
    ssize_t n;
    (void)what;

    if (tcp_header_room(s) < 0) {
        tcp_inspect_refuse(s, hello ? "ClientHello too long or out of memory"
                                    : "PROXY header too long or out of memory", "PR");
        return;
    }
    n = recv(fd, s->hdr + s->hdr_len, s->hdr_cap - s->hdr_len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        tcp_inspect_refuse(s, hello ? "closed before sending a TLS ClientHello"
                                    : "closed before sending a PROXY header", "CR");
        return;
    }
    s->hdr_len += (size_t)n;
    if (hello)
        tcp_hello_check(s);
    else
        tcp_header_check(s);
}

static int tcp_inspect_event(struct tcp_session *s)
{
    if (s->ev[TCP_EV_CRD])
        return 0;
    s->ev[TCP_EV_CRD] = event_new(s->w->base, s->cfd, EV_READ | EV_PERSIST,
                                  tcp_on_client_read, s);
    if (!s->ev[TCP_EV_CRD] || event_add(s->ev[TCP_EV_CRD], NULL) < 0) {
        s->term = "RC";
        tcp_close(s);
        return -1;
    }
    return 0;
}

static void tcp_header_begin(struct tcp_session *s)
{
    s->phase = TCP_PH_HEADER;
    if (tcp_inspect_event(s) < 0)
        return;
    tcp_timer_arm(s, s->fe->conf->client_timeout_ms);
}

/* The client timeout starts again for the ClientHello; bytes that came
 * with the PROXY header may already hold it. */
static void tcp_hello_begin(struct tcp_session *s)
{
    s->phase = TCP_PH_HELLO;
    s->hello = malloc(sizeof(*s->hello));
    if (!s->hello) {
        s->term = "RC";
        tcp_close(s);
        return;
    }
    hello_reader_init(s->hello);
    if (tcp_inspect_event(s) < 0)
        return;
    tcp_timer_arm(s, s->fe->conf->client_timeout_ms);
    if (s->hdr_len > 0)
        tcp_hello_check(s);
}

/* ---- session life ---- */

static int64_t tcp_ms_between(uint64_t from, uint64_t to)
{
    return from && to >= from ? (int64_t)(to - from) : -1;
}

static void tcp_log(const struct tcp_session *s)
{
    uint64_t now = clock_mono_ms();
    struct accesslog_entry e = {
        .client = (const struct sockaddr *)&s->client,
        .frontend = s->fe->conf->name,
        .backend = s->be ? s->be->name : "-",
        .server = s->srv ? s->srv->name : "-",
        .status = 0,
        .bytes_in = s->bytes_in,
        .bytes_out = s->bytes_out,
        .t_request = s->t_header ? tcp_ms_between(s->t_accept, s->t_header) : -1,
        .t_queue = -1,
        .t_connect = s->t_connected ? tcp_ms_between(s->t_connect_start, s->t_connected) : -1,
        .t_response = -1,
        .t_total = tcp_ms_between(s->t_accept, now),
        .termination = s->term ? s->term : "--",
        .method = s->sni ? "SNI" : NULL,     /* shown as "SNI name" */
        .path = s->sni,
        .path_len = s->sni ? (unsigned)strlen(s->sni) : 0,
    };

    if (s->fe->conf->access_log && accesslog_enabled())
        accesslog_write(&e);
}

static void tcp_close(struct tcp_session *s)
{
    tcp_log(s);
    for (int i = 0; i < TCP_EV_N; i++)
        if (s->ev[i])
            event_free(s->ev[i]);
    event_free(s->timer);
    tcp_buf_free(&s->c2s);
    tcp_buf_free(&s->s2c);
    free(s->hdr);
    free(s->hello);
    free(s->sni);
    tcp_server_release(s);
    close(s->cfd);
    tables_conn_close(s->conn, s->bytes_in, s->bytes_out);
    worker_session_remove(s->w, &s->ws);
    worker_frontend_conn_done(s->w, s->fe);
    runtime_unref(s->rt);
    free(s);
}

static void tcp_ws_drain(struct worker_session *ws)
{
    /* A tunnel has no request boundary to stop at: it runs until its
     * peers close it or the grace time is over (abort). */
    (void)ws;
}

static void tcp_ws_abort(struct worker_session *ws)
{
    struct tcp_session *s = (struct tcp_session *)ws;
    static const char *const codes[] = { "KR", "KR", "KC", "KD" };

    s->term = codes[s->phase];
    tcp_close(s);
}

void tcp_session_accept(struct worker *w, struct frontend_rt *fe, int fd,
                        const struct sockaddr_storage *peer,
                        const struct sockaddr_storage *local)
{
    struct tcp_session *s = calloc(1, sizeof(*s));

    if (!s) {
        close(fd);
        worker_frontend_conn_done(w, fe);
        return;
    }
    s->w = w;
    s->rt = w->rt;
    runtime_ref(s->rt);
    s->fe = fe;
    s->cfd = fd;
    s->sfd = -1;
    s->client = *peer;
    s->local = *local;
    s->c2s.pipe[0] = s->c2s.pipe[1] = s->s2c.pipe[0] = s->s2c.pipe[1] = -1;
    s->t_accept = clock_mono_ms();
    s->ws.drain = tcp_ws_drain;
    s->ws.abort = tcp_ws_abort;
    worker_session_add(w, &s->ws);
    s->conn = tables_conn_open(w, CONN_TCP, fe->conf->name, peer, local);
    s->timer = evtimer_new(w->base, tcp_on_timer, s);
    if (!s->timer) {
        s->term = "RC";
        tcp_close(s);
        return;
    }
    if (fe->conf->accept_proxy)
        tcp_header_begin(s);
    else if (fe->conf->nroutes > 0)
        tcp_hello_begin(s);
    else
        tcp_connect_begin(s, fe->conf->default_backend_index);
}
