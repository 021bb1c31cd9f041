/* health.c - the checker: one thread, one event base, one timer per
 * checked server. A check is a non-blocking connect (tcp) or a connect, a
 * request and a bounded read (http), all under the check timeout, so a
 * slow server can stall neither the workers nor the other checks. The
 * verdicts go through the pure state machine (health_check.c); changes of
 * health become server_set_state() calls, which bump backend->gen so the
 * workers' balancers rebuild. */
#include "config.h"
#include "health.h"
#include "health_check.h"
#include "clock.h"
#include "log.h"
#include "tls.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

enum health_phase { PHASE_IDLE = 0, PHASE_CONNECT, PHASE_HANDSHAKE, PHASE_SEND, PHASE_READ };

struct health_engine;

struct health_check {
    struct health_engine *eng;
    struct server *srv;
    const struct conf_health *conf;
    const struct conf_backend *bconf;  /* its tls, when the backend has one */
    SSL *ssl;                          /* tls and http checks of a TLS backend */
    struct health_fsm fsm;
    struct event *timer;               /* next start */
    struct event *io;                  /* socket readiness or the timeout */
    int fd;
    enum health_phase phase;
    uint64_t started_ms;
    char req[768];
    size_t reqlen, sent;
    char *buf;                         /* HEALTH_RESPONSE_MAX bytes, http only */
    size_t got;
    char reason[HEALTH_REASON_MAX];
};

struct health_engine {
    pthread_t thread;
    int started;
    struct event_base *base;
    struct event *wake_ev;
    int wake_fd;
    pthread_mutex_t lock;
    struct runtime *pending;           /* under lock: runtime to switch to */
    int stop;                          /* under lock */
    struct runtime *rt;                /* checker thread only */
    struct health_check *checks;
    unsigned nchecks;
};

static struct health_engine health_eng = { .wake_fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

static void health_on_io(evutil_socket_t fd, short what, void *arg);
static void health_schedule(struct health_check *c, uint64_t at_ms);

/* ---- applying verdicts ---- */

static const char *health_admin_note(int state, int observe_only)
{
    if (observe_only)
        return "observe only: state unchanged";
    if (state == SRV_DRAIN)
        return "admin state DRAIN kept";
    if (state == SRV_MAINT)
        return "admin state MAINT kept";
    return NULL;
}

/* A change of health: recorded on the server, applied to its state unless
 * observe-only or an admin state says otherwise, and logged. */
static void health_apply(struct health_check *c, enum health_change change, uint64_t now_ms)
{
    struct server *s = c->srv;
    int healthy = change == HEALTH_WENT_UP;
    atomic_store(&s->health_ok, healthy);
    if (healthy) {
        atomic_store(&s->passive_connect_fails, 0);
        atomic_store(&s->passive_5xx, 0);
    }
    int state = atomic_load(&s->state);
    int target = health_target_state((enum srv_state)state, healthy, s->health_observe_only);
    if (target >= 0)
        server_set_state(s, (enum srv_state)target, now_ms);
    char line[512];
    health_format_change(line, sizeof(line), s->backend->name, s->name, change, c->reason,
                         healthy ? c->conf->rise : c->conf->fall,
                         target >= 0 ? NULL : health_admin_note(state, s->health_observe_only));
    if (healthy)
        log_notice("%s", line);
    else
        log_warn("%s", line);
}

/* Passive checks mark a server DOWN from a worker; the checker then
 * restarts its series from "unhealthy" so `rise` good checks are needed. */
static void health_take_passive(struct health_check *c)
{
    if (!atomic_exchange(&c->srv->passive_down, 0))
        return;
    health_fsm_init(&c->fsm, 0);
    atomic_store(&c->srv->passive_connect_fails, 0);
    atomic_store(&c->srv->passive_5xx, 0);
}

static void health_close(struct health_check *c)
{
    if (c->io) {
        event_free(c->io);
        c->io = NULL;
    }
    tls_free(c->ssl, 0);
    c->ssl = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->phase = PHASE_IDLE;
}

static void health_finish(struct health_check *c, int ok)
{
    uint64_t now = clock_mono_ms();
    health_close(c);
    health_take_passive(c);
    log_debug("health: backend \"%s\" server \"%s\": %s (%s, %llu ms)", c->srv->backend->name,
              c->srv->name, ok ? "pass" : "fail", c->reason,
              (unsigned long long)(now - c->started_ms));
    enum health_change change = health_fsm_feed(&c->fsm, ok, c->conf->rise, c->conf->fall);
    if (change != HEALTH_SAME)
        health_apply(c, change, now);
    health_schedule(c, health_next_start(&c->fsm, c->conf, c->started_ms, now));
}

__attribute__((format(printf, 2, 3)))
static void health_fail(struct health_check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
    va_end(ap);
    health_finish(c, 0);
}

/* ---- one check ---- */

static const char *health_what(const struct health_check *c)
{
    if (c->phase == PHASE_HANDSHAKE)
        return "tls handshake";
    return c->conf->type == HEALTH_HTTP ? "http check" : "connect";
}

/* Waits for `what` on the socket, within what is left of the timeout. */
static void health_wait(struct health_check *c, short what)
{
    uint64_t now = clock_mono_ms(), deadline = c->started_ms + c->conf->timeout_ms;
    if (now >= deadline) {
        health_fail(c, "%s: timeout after %llu ms", health_what(c),
                    (unsigned long long)c->conf->timeout_ms);
        return;
    }
    uint64_t left = deadline - now;
    struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000 * 1000) };
    if (c->io)
        event_free(c->io);
    c->io = event_new(c->eng->base, c->fd, what, health_on_io, c);
    if (!c->io || event_add(c->io, &tv) < 0)
        health_fail(c, "out of memory");
}

/* One send, on the socket or through TLS: bytes, 0 when full, -1. */
static ssize_t health_send_once(struct health_check *c)
{
    if (c->ssl)
        return tls_writev2(c->ssl, c->req + c->sent, c->reqlen - c->sent, NULL, 0);
    ssize_t n = send(c->fd, c->req + c->sent, c->reqlen - c->sent, MSG_NOSIGNAL);
    return n < 0 && errno == EAGAIN ? 0 : n;
}

static void health_send(struct health_check *c)
{
    while (c->sent < c->reqlen) {
        ssize_t n = health_send_once(c);
        if (n == 0) {
            health_wait(c, EV_WRITE);
            return;
        }
        if (n < 0) {
            health_fail(c, "%s: send: %s", health_what(c), strerror(errno));
            return;
        }
        c->sent += (size_t)n;
    }
    c->phase = PHASE_READ;
    health_wait(c, EV_READ);
}

/* One read, on the socket or through TLS: bytes, 0 at EOF, -1 on error,
 * -2 when nothing is there yet. */
static ssize_t health_recv_once(struct health_check *c)
{
    size_t cap = HEALTH_RESPONSE_MAX - c->got;
    if (c->ssl) {
        int err = 0;
        ssize_t n = tls_read(c->ssl, c->buf + c->got, cap, &err);
        if (n == 0)
            return -2;
        if (n < 0 && err == 0)
            return 0;
        errno = err;
        return n;
    }
    ssize_t n = recv(c->fd, c->buf + c->got, cap, 0);
    return n < 0 && (errno == EAGAIN || errno == EINTR) ? -2 : n;
}

static void health_read(struct health_check *c)
{
    ssize_t n = health_recv_once(c);
    if (n == -2) {
        health_wait(c, EV_READ);
        return;
    }
    if (n < 0) {
        health_fail(c, "%s: recv: %s", health_what(c), strerror(errno));
        return;
    }
    c->got += (size_t)n;
    int eof = n == 0 || c->got == HEALTH_RESPONSE_MAX;
    enum health_verdict v = health_http_judge(c->buf, c->got, eof, c->conf, c->reason,
                                              sizeof(c->reason));
    if (v == HEALTH_MORE)
        health_wait(c, EV_READ);
    else
        health_finish(c, v == HEALTH_PASS);
}

static void health_http_start(struct health_check *c)
{
    c->phase = PHASE_SEND;
    c->sent = 0;
    c->got = 0;
    health_send(c);
}

/* One handshake step of a tls or http check on a TLS backend (verified
 * like live traffic: the backend's ca, verify and sni). */
static void health_handshake(struct health_check *c)
{
    int want_write, sys_err;
    char why[HEALTH_REASON_MAX - 32];
    int rc = tls_handshake(c->ssl, &want_write, &sys_err, why, sizeof(why));
    if (rc < 0) {
        health_fail(c, "tls handshake: %s", why);
        return;
    }
    if (rc == 0) {
        health_wait(c, want_write ? EV_WRITE : EV_READ);
        return;
    }
    if (c->conf->type == HEALTH_HTTP) {
        health_http_start(c);
        return;
    }
    snprintf(c->reason, sizeof(c->reason), "tls handshake: ok");
    health_finish(c, 1);
}

static void health_tls_start(struct health_check *c)
{
    c->ssl = tls_backend_ssl(c->bconf, c->fd);
    if (!c->ssl) {
        health_fail(c, "tls: cannot create a TLS connection");
        return;
    }
    c->phase = PHASE_HANDSHAKE;
    health_handshake(c);
}

static void health_connected(struct health_check *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        health_fail(c, "connect: %s", strerror(err));
        return;
    }
    if (c->conf->type != HEALTH_TCP && c->bconf->tls && c->bconf->tls->built) {
        health_tls_start(c);
        return;
    }
    if (c->conf->type != HEALTH_HTTP) {
        snprintf(c->reason, sizeof(c->reason), "connect: ok");
        health_finish(c, 1);
        return;
    }
    health_http_start(c);
}

static void health_on_io(evutil_socket_t fd, short what, void *arg)
{
    struct health_check *c = arg;
    (void)fd;
    if (what & EV_TIMEOUT) {
        health_fail(c, "%s: timeout after %llu ms", health_what(c),
                    (unsigned long long)c->conf->timeout_ms);
        return;
    }
    switch (c->phase) {
    case PHASE_CONNECT: health_connected(c); break;
    case PHASE_HANDSHAKE: health_handshake(c); break;
    case PHASE_SEND: health_send(c); break;
    case PHASE_READ: health_read(c); break;
    case PHASE_IDLE: break;
    }
}

static void health_begin(struct health_check *c)
{
    const struct net_addr *a = &c->srv->addr;
    c->started_ms = clock_mono_ms();
    c->fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        health_fail(c, "socket: %s", strerror(errno));
        return;
    }
    c->phase = PHASE_CONNECT;
    if (connect(c->fd, (const struct sockaddr *)&a->ss, a->len) == 0)
        health_connected(c);
    else if (errno == EINPROGRESS)
        health_wait(c, EV_WRITE);
    else
        health_fail(c, "connect: %s", strerror(errno));
}

static void health_on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    health_begin(arg);
}

static void health_schedule(struct health_check *c, uint64_t at_ms)
{
    uint64_t now = clock_mono_ms(), left = at_ms > now ? at_ms - now : 0;
    struct timeval tv = { (time_t)(left / 1000), (suseconds_t)(left % 1000 * 1000) };
    evtimer_add(c->timer, &tv);
}

/* ---- building checks from a runtime ---- */

/* A server whose backend has no active checks cannot stay DOWN: nothing
 * would bring it back (a reload that removed `health`). Otherwise the
 * state follows the health it carried over. */
static void health_reconcile(struct server *s, const struct conf_health *h, uint64_t now_ms)
{
    if (!h->enabled) {
        atomic_store(&s->health_ok, 1);
        atomic_store(&s->passive_down, 0);
    }
    int target = health_target_state((enum srv_state)atomic_load(&s->state),
                                     atomic_load(&s->health_ok), s->health_observe_only);
    if (target >= 0)
        server_set_state(s, (enum srv_state)target, now_ms);
}

static int health_check_init(struct health_engine *eng, struct health_check *c,
                             struct server *s, const struct conf_backend *bc)
{
    const struct conf_health *h = &bc->health;
    char host[ADDR_STRLEN];
    c->eng = eng;
    c->srv = s;
    c->conf = h;
    c->bconf = bc;
    c->fd = -1;
    health_fsm_init(&c->fsm, atomic_load(&s->health_ok));
    c->timer = evtimer_new(eng->base, health_on_timer, c);
    if (!c->timer)
        return -1;
    if (h->type != HEALTH_HTTP)
        return 0;
    addr_format((const struct sockaddr *)&s->addr.ss, host, sizeof(host));
    c->reqlen = health_http_request(c->req, sizeof(c->req), h, host);
    c->buf = malloc(HEALTH_RESPONSE_MAX);
    return c->reqlen && c->buf ? 0 : -1;
}

static void health_free_checks(struct health_engine *eng)
{
    for (unsigned i = 0; i < eng->nchecks; i++) {
        struct health_check *c = &eng->checks[i];
        health_close(c);
        if (c->timer)
            event_free(c->timer);
        free(c->buf);
    }
    free(eng->checks);
    eng->checks = NULL;
    eng->nchecks = 0;
}

static unsigned health_count(const struct runtime *rt)
{
    unsigned n = 0;
    for (unsigned b = 0; b < rt->nbackends; b++)
        if (rt->backends[b].conf->health.enabled)
            n += rt->backends[b].nservers;
    return n;
}

/* First checks are spread over one interval so a big backend does not
 * open all its check connections in the same millisecond. */
static void health_build(struct health_engine *eng, struct runtime *rt)
{
    uint64_t now = clock_mono_ms();
    unsigned total = health_count(rt), k = 0;
    eng->checks = calloc(total ? total : 1, sizeof(*eng->checks));
    for (unsigned b = 0; b < rt->nbackends; b++) {
        struct backend *be = &rt->backends[b];
        const struct conf_health *h = &be->conf->health;
        for (unsigned i = 0; i < be->nservers; i++) {
            health_reconcile(be->servers[i], h, now);
            if (!h->enabled || !eng->checks)
                continue;
            struct health_check *c = &eng->checks[k++];
            eng->nchecks = k;
            if (health_check_init(eng, c, be->servers[i], be->conf) < 0) {
                log_err("health: backend \"%s\" server \"%s\": out of memory, not checked",
                        be->name, be->servers[i]->name);
                continue;
            }
            health_schedule(c, now + h->interval_ms * (k - 1) / (total ? total : 1));
        }
    }
    if (total)
        log_info("health: checking %u server%s", total, total == 1 ? "" : "s");
}

static void health_switch(struct health_engine *eng, struct runtime *rt)
{
    health_free_checks(eng);
    runtime_unref(eng->rt);
    eng->rt = rt;
    health_build(eng, rt);
}

/* ---- the thread ---- */

static void health_on_wake(evutil_socket_t fd, short what, void *arg)
{
    struct health_engine *eng = arg;
    uint64_t v;
    (void)what;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        log_warn("health: eventfd read: %s", strerror(errno));
    pthread_mutex_lock(&eng->lock);
    struct runtime *rt = eng->pending;
    int stop = eng->stop;
    eng->pending = NULL;
    pthread_mutex_unlock(&eng->lock);
    if (rt)
        health_switch(eng, rt);
    if (stop)
        event_base_loopbreak(eng->base);
}

static void *health_main(void *arg)
{
    struct health_engine *eng = arg;
    health_build(eng, eng->rt);
    event_base_dispatch(eng->base);
    health_free_checks(eng);
    return NULL;
}

static void health_poke(struct health_engine *eng)
{
    uint64_t one = 1;
    if (write(eng->wake_fd, &one, sizeof(one)) < 0)
        log_err("health: eventfd write: %s", strerror(errno));
}

int health_start(struct runtime *rt)
{
    struct health_engine *eng = &health_eng;
    eng->base = event_base_new();
    eng->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!eng->base || eng->wake_fd < 0)
        goto fail;
    eng->wake_ev = event_new(eng->base, eng->wake_fd, EV_READ | EV_PERSIST, health_on_wake, eng);
    if (!eng->wake_ev || event_add(eng->wake_ev, NULL) < 0)
        goto fail;
    runtime_ref(rt);
    eng->rt = rt;
    if (pthread_create(&eng->thread, NULL, health_main, eng) != 0) {
        runtime_unref(rt);
        eng->rt = NULL;
        goto fail;
    }
    eng->started = 1;
    return 0;
fail:
    log_err("health: cannot start the checker thread");
    health_stop();
    return -1;
}

void health_reload(struct runtime *rt)
{
    struct health_engine *eng = &health_eng;
    if (!eng->started)
        return;
    runtime_ref(rt);
    pthread_mutex_lock(&eng->lock);
    struct runtime *stale = eng->pending;    /* two reloads before the thread woke */
    eng->pending = rt;
    pthread_mutex_unlock(&eng->lock);
    runtime_unref(stale);
    health_poke(eng);
}

void health_stop(void)
{
    struct health_engine *eng = &health_eng;
    if (eng->started) {
        pthread_mutex_lock(&eng->lock);
        eng->stop = 1;
        pthread_mutex_unlock(&eng->lock);
        health_poke(eng);
        pthread_join(eng->thread, NULL);
        eng->started = 0;
    }
    runtime_unref(eng->pending);
    runtime_unref(eng->rt);
    eng->pending = eng->rt = NULL;
    if (eng->wake_ev)
        event_free(eng->wake_ev);
    if (eng->base)
        event_base_free(eng->base);
    if (eng->wake_fd >= 0)
        close(eng->wake_fd);
    eng->wake_ev = NULL;
    eng->base = NULL;
    eng->wake_fd = -1;
    eng->stop = 0;
}

/* ---- passive checks and admin ---- */

/* Counts one failure; the thread whose failure reaches the threshold (and
 * only that one: fetch_add hands out each count once) takes the server
 * DOWN and leaves the checker a note to start its rise series. */
static void health_passive_fail(struct server *s, _Atomic unsigned *counter, unsigned max,
                                const char *what)
{
    if (max == 0 || atomic_fetch_add(counter, 1) + 1 != max)
        return;
    const char *bname = s->backend ? s->backend->name : "?";
    if (s->health_observe_only) {
        log_warn("backend \"%s\" server \"%s\" would be DOWN: %u %s (passive; observe only: "
                 "state unchanged)", bname, s->name, max, what);
        return;
    }
    atomic_store(&s->health_ok, 0);
    atomic_store(&s->passive_down, 1);
    int state = atomic_load(&s->state);
    if (state == SRV_UP)
        server_set_state(s, SRV_DOWN, clock_mono_ms());
    const char *note = health_admin_note(state, 0);
    log_warn("backend \"%s\" server \"%s\" is DOWN: %u %s (passive%s%s)", bname, s->name,
             max, what, note ? "; " : "", note ? note : "");
}

/* Success only resets a non-zero counter: a read, not a write, on the
 * common path keeps the cache line shared between workers. */
static void health_passive_ok(_Atomic unsigned *counter, unsigned max)
{
    if (max && atomic_load_explicit(counter, memory_order_relaxed) != 0)
        atomic_store_explicit(counter, 0, memory_order_relaxed);
}

void health_passive_report(struct server *s, enum health_passive_event ev)
{
    if (!s)
        return;
    switch (ev) {
    case HEALTH_CONNECT_FAIL:
        health_passive_fail(s, &s->passive_connect_fails, s->passive_connect_max,
                            "consecutive connect failures");
        break;
    case HEALTH_CONNECT_OK:
        health_passive_ok(&s->passive_connect_fails, s->passive_connect_max);
        break;
    case HEALTH_HTTP_5XX:
        health_passive_fail(s, &s->passive_5xx, s->passive_5xx_max,
                            "consecutive 5xx responses");
        break;
    case HEALTH_HTTP_OK:
        health_passive_ok(&s->passive_5xx, s->passive_5xx_max);
        break;
    }
}

void health_admin_ready(struct server *s, uint64_t now_ms)
{
    server_set_state(s, atomic_load(&s->health_ok) ? SRV_UP : SRV_DOWN, now_ms);
}
