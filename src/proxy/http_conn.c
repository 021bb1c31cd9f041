/* http_conn.c - the socket side of the HTTP proxy: writes that spill into
 * pending buffers, server connections, the idle pools' events, and the
 * per-worker setup of the pools. */
#include "config.h"
#include "http_session.h"
#include "clock.h"
#include "log.h"
#include "tls.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- writes ---- */

/* One writev of up to two pieces; the caller accounts what went out.
 * Returns bytes written, 0 when the socket is full, -1 on error (errno). */
ssize_t http_sock_writev2(int fd, const char *a, size_t alen, const char *b, size_t blen)
{
    struct iovec iov[2];
    int n = 0;
    if (alen) {
        iov[n].iov_base = (void *)a;
        iov[n++].iov_len = alen;
    }
    if (blen) {
        iov[n].iov_base = (void *)b;
        iov[n++].iov_len = blen;
    }
    if (n == 0)
        return 0;
    ssize_t w;
    do
        w = writev(fd, iov, n);
    while (w < 0 && errno == EINTR);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    return w;
}

/* Reads once into the free end of b (one recv per readiness: the loop
 * reports again if more is there). Returns the bytes read, 0 when nothing
 * is there yet, or -1 when the peer closed (*err = 0) or failed (errno). */
ssize_t http_sock_read(int fd, struct http_buf *b, int *err)
{
    ssize_t n = recv(fd, b->data + b->len, b->cap - b->len, 0);
    if (n > 0) {
        b->len += (uint32_t)n;
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return 0;
    *err = n == 0 ? 0 : errno;
    return -1;
}

ssize_t http_io_read(int fd, SSL *ssl, struct http_buf *b, int *err)
{
    if (!ssl)
        return http_sock_read(fd, b, err);
    ssize_t n = tls_read(ssl, b->data + b->len, b->cap - b->len, err);
    if (n > 0)
        b->len += (uint32_t)n;
    return n;
}

ssize_t http_io_writev2(int fd, SSL *ssl, const char *a, size_t alen, const char *b,
                        size_t blen)
{
    if (!ssl)
        return http_sock_writev2(fd, a, alen, b, blen);
    return tls_writev2(ssl, a, alen, b, blen);
}

int http_io_shut_wr(int fd, SSL *ssl)
{
    if (ssl)
        tls_shutdown(ssl);
    return shutdown(fd, SHUT_WR);
}

int http_pend_add(struct http_pend *p, const char *data, size_t len)
{
    if (p->off == p->len)
        p->off = p->len = 0;
    if (p->len + len > p->cap) {
        size_t cap = p->cap ? p->cap : 1024;
        while (cap < p->len + len)
            cap *= 2;
        char *d = realloc(p->data, cap);
        if (!d)
            return -1;
        p->data = d;
        p->cap = cap;
    }
    memcpy(p->data + p->len, data, len);
    p->len += len;
    return 0;
}

void http_pend_free(struct http_pend *p)
{
    free(p->data);
    memset(p, 0, sizeof(*p));
}

/* ---- per-thread scratch for heads we build ----
 * Built heads are written at once and only their unsent tail is copied, so
 * one buffer per thread serves every session. It is freed when the worker
 * thread exits. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static __thread char *scratch_buf;
static __thread size_t scratch_cap;

static void scratch_key_init(void)
{
    if (pthread_key_create(&scratch_key, free) != 0)
        log_err("http: cannot create the scratch buffer key");
}

char *http_scratch(size_t size)
{
    if (size <= scratch_cap)
        return scratch_buf;
    char *b = realloc(scratch_buf, size);
    if (!b)
        return NULL;
    scratch_buf = b;
    scratch_cap = size;
    pthread_once(&scratch_once, scratch_key_init);
    pthread_setspecific(scratch_key, b);
    return b;
}

/* ---- server connections ---- */

static void sconn_idle_event(struct http_sconn *sc);

static void sconn_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_sconn *sc = arg;
    (void)fd;
    if (!sc->owner) {
        sconn_idle_event(sc);
        return;
    }
    http_server_event(sc->owner, what);
}

/* Starts a non-blocking connect. Returns the connection (its write event
 * armed to learn the outcome), or NULL with *err = errno. */
struct http_sconn *http_sconn_open(struct worker *w, struct server *srv, int *err)
{
    const struct sockaddr *sa = (const struct sockaddr *)&srv->addr.ss;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return NULL;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, sa, srv->addr.len) < 0 && errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return NULL;
    }
    struct http_sconn *sc = calloc(1, sizeof(*sc));
    if (!sc) {
        *err = ENOMEM;
        close(fd);
        return NULL;
    }
    sc->fd = fd;
    sc->srv = srv;
    event_assign(&sc->rev, w->base, fd, EV_READ | EV_PERSIST, sconn_cb, sc);
    event_assign(&sc->wev, w->base, fd, EV_WRITE | EV_PERSIST, sconn_cb, sc);
    http_sconn_want_read(sc, 1);
    http_sconn_want_write(sc, 1);
    atomic_fetch_add_explicit(&srv->stats.conns_total, 1, memory_order_relaxed);
    return sc;
}

void http_sconn_want_write(struct http_sconn *sc, int on)
{
    if (on && !sc->wev_on)
        event_add(&sc->wev, NULL);
    else if (!on && sc->wev_on)
        event_del(&sc->wev);
    sc->wev_on = on ? 1 : 0;
}

void http_sconn_want_read(struct http_sconn *sc, int on)
{
    if (on && !sc->rev_on)
        event_add(&sc->rev, NULL);
    else if (!on && sc->rev_on)
        event_del(&sc->rev);
    sc->rev_on = on ? 1 : 0;
    /* Bytes OpenSSL already holds raise no socket event: ask for one. */
    if (on && sc->ssl && sc->tls_ready && tls_has_pending(sc->ssl))
        event_active(&sc->rev, EV_READ, 0);
}

void http_sconn_close(struct http_sconn *sc)
{
    if (!sc)
        return;
    if (sc->pool)
        http_pool_remove(sc->pool, sc);
    event_del(&sc->rev);
    event_del(&sc->wev);
    tls_free(sc->ssl, sc->tls_ready);
    close(sc->fd);
    free(sc);
}

/* ---- idle pools ---- */

/* An idle connection became readable: the server closed it (or sent
 * something unasked). Either way it cannot carry a request any more;
 * except on TLS, where a record with no data (a TLS 1.3 session ticket)
 * leaves it usable. */
static void sconn_idle_event(struct http_sconn *sc)
{
    char byte;
    struct http_buf probe = { &byte, 1, 0 };
    int err = 0;
    if (sc->ssl && sc->tls_ready && http_io_read(sc->fd, sc->ssl, &probe, &err) == 0)
        return;
    http_sconn_close(sc);
}

static void pool_arm_expiry(struct http_pool *p)
{
    if (!p->expire_ev || p->count == 0 || evtimer_pending(p->expire_ev, NULL))
        return;
    uint64_t now = clock_mono_ms();
    uint64_t at = http_pool_next_expiry(p);
    uint64_t wait = at > now ? at - now : 0;
    struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
    evtimer_add(p->expire_ev, &tv);
}

static void pool_expire_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_pool *p = arg;
    (void)fd; (void)what;
    uint64_t now = clock_mono_ms();
    struct http_sconn *sc;
    while ((sc = http_pool_expired(p, now)) != NULL)
        http_sconn_close(sc);
    pool_arm_expiry(p);
}

struct http_sconn *http_pool_get(struct http_pool *p, struct server *srv)
{
    if (!p)
        return NULL;
    return http_pool_take(p, srv);
}

/* Parks a connection whose response ended cleanly. Its read event stays
 * armed (no epoll_ctl): a server close shows up as an idle event. */
void http_pool_give(struct http_pool *p, struct http_sconn *sc)
{
    sc->owner = NULL;
    http_sconn_want_write(sc, 0);
    http_sconn_want_read(sc, 1);
    struct http_sconn *victim = p ? http_pool_put(p, sc, clock_mono_ms()) : sc;
    if (victim)
        http_sconn_close(victim);
    if (p && victim != sc)
        pool_arm_expiry(p);
}

/* A server slot of this backend was released on this thread: let the
 * longest-waiting session try again (from the loop, not from inside the
 * releasing session's stack). */
void http_pool_wake(struct http_pool *p)
{
    if (!p)
        return;
    struct http_session *s = TAILQ_FIRST(&p->waiters);
    if (s)
        event_active(&s->timer, EV_TIMEOUT, 0);
}

/* The pool for the session's backend, if the session runs under the
 * worker's current runtime (pools belong to it). */
struct http_pool *http_session_pool(struct http_session *s)
{
    if (s->rt != s->w->rt || s->bi < 0 || !s->w->pools ||
        (unsigned)s->bi >= s->rt->nbackends)
        return NULL;
    return s->w->pools[s->bi];
}

static struct http_pool *pool_new(struct worker *w, struct backend *be)
{
    struct http_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    if (http_pool_setup(p, be, be->conf->keepalive_pool, be->conf->keepalive_idle_ms) < 0) {
        free(p);
        return NULL;
    }
    p->w = w;
    p->expire_ev = evtimer_new(w->base, pool_expire_cb, p);
    if (!p->expire_ev) {
        http_pool_teardown(p);
        free(p);
        return NULL;
    }
    return p;
}

/* Closes the idle connections and lets the waiters fall back to polling. */
static void pool_free(struct http_pool *p)
{
    if (!p)
        return;
    struct http_sconn *sc;
    while ((sc = TAILQ_FIRST(&p->by_age)) != NULL)
        http_sconn_close(sc);
    struct http_session *s;
    while ((s = TAILQ_FIRST(&p->waiters)) != NULL) {
        TAILQ_REMOVE(&p->waiters, s, wait_link);
        s->waitq = NULL;
    }
    if (p->expire_ev)
        event_free(p->expire_ev);
    http_pool_teardown(p);
    free(p);
}

static void **pools_build(struct worker *w, struct runtime *rt)
{
    void **pools = calloc(rt->nbackends ? rt->nbackends : 1, sizeof(*pools));
    if (!pools)
        return NULL;
    for (unsigned i = 0; i < rt->nbackends; i++) {
        pools[i] = pool_new(w, &rt->backends[i]);
        if (!pools[i])
            log_warn("worker %u: no idle pool for backend \"%s\" (out of memory)", w->id,
                     rt->backends[i].name);
    }
    return pools;
}

void http_worker_init(struct worker *w)
{
    w->pools = pools_build(w, w->rt);
    if (!w->pools)
        log_warn("worker %u: no idle server pools (out of memory)", w->id);
}

/* Moves idle connections of old pool p to the new pools where the new
 * runtime kept their server (same object); closes the rest. */
static void pool_migrate(struct http_pool *p, struct worker *w)
{
    uint64_t now = clock_mono_ms();
    struct http_sconn *sc;
    while ((sc = TAILQ_FIRST(&p->by_age)) != NULL) {
        http_pool_remove(p, sc);
        struct http_pool *np = NULL;
        for (unsigned i = 0; w->pools && i < w->rt->nbackends && !np; i++) {
            struct http_pool *cand = w->pools[i];
            if (cand && strcmp(cand->be->name, p->be->name) == 0)
                np = cand;
        }
        struct http_sconn *victim = np ? http_pool_put(np, sc, now) : sc;
        if (victim)
            http_sconn_close(victim);
        if (np)
            pool_arm_expiry(np);
    }
}

void http_worker_reload(struct worker *w, struct runtime *old_rt, void **old_pools)
{
    w->pools = pools_build(w, w->rt);
    if (!old_pools)
        return;
    for (unsigned i = 0; i < old_rt->nbackends; i++) {
        struct http_pool *p = old_pools[i];
        if (!p)
            continue;
        pool_migrate(p, w);
        pool_free(p);
    }
    free(old_pools);
}

void http_worker_free(struct worker *w)
{
    if (!w->pools)
        return;
    for (unsigned i = 0; i < w->rt->nbackends; i++)
        pool_free(w->pools[i]);
    free(w->pools);
    w->pools = NULL;
}
