/* worker.c - worker threads: one event_base each, their listeners, their
 * balancers, and the messages the main thread sends them (reload, drain,
 * abort, stop).
 *
 * Each worker's event_base runs without locks (EVENT_BASE_FLAG_NOLOCK); the
 * main thread never touches a worker's events. It leaves a message under
 * the worker's mutex and writes to the worker's eventfd; the worker acts on
 * it from its own loop. */
#include "config.h"
#include "worker.h"
#include "listener.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LISTEN_BACKLOG 4096
#define TICK_MS 100
#define ACCEPT_BATCH 64               /* accepts per wake-up, for fairness */

/* One listening socket of one worker. */
struct wlistener {
    struct worker *w;
    struct net_addr addr;
    int socktype;                   /* SOCK_STREAM or SOCK_DGRAM */
    unsigned fe_index;              /* into w->rt->frontends */
    int wildcard;
    int paused;                     /* accept disabled: frontend at maxconn */
    int used;                       /* scratch flag during reload */
    int fd;                         /* the listening socket */
    struct event *ev;               /* SOCK_STREAM: readable = connections to accept */
    struct udp_frontend *uf;        /* SOCK_DGRAM */
    struct wlistener *next;
};

/* A runtime this worker still serves sessions of, with its balancers.
 * The first slot is the current runtime. */
struct rt_slot {
    struct runtime *rt;             /* holds one reference */
    struct balancer **balancers;
    unsigned nbalancers;
    unsigned sessions;
    struct rt_slot *next;
};

/* A socket the main thread opened for a new bind, handed to one worker. */
struct new_fd {
    struct net_addr addr;
    int socktype;
    int fd;
};

struct worker_priv {
    struct wlistener *listeners;
    struct rt_slot *slots;
    struct event *msg_ev;
    struct event *tick_ev;
    int msg_fd;                     /* eventfd */
    pthread_mutex_t lock;           /* guards the pending_* fields */
    struct runtime *pending_rt;
    struct new_fd *pending_fds;
    unsigned npending_fds;
    int pending_drain, pending_abort, pending_stop;
};

static struct worker *workers;
static unsigned nworkers;
static struct runtime *current_rt;          /* main thread's view */
static _Atomic unsigned total_sessions;
static _Atomic int global_active;

static struct worker_priv *priv(struct worker *w) { return w->priv; }

uint64_t worker_random(struct worker *w)
{
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ---- runtime slots and balancers ---- */

static struct rt_slot *slot_new(struct worker *w, struct runtime *rt)
{
    struct rt_slot *slot = calloc(1, sizeof(*slot));
    if (!slot)
        return NULL;
    slot->rt = rt;
    slot->nbalancers = rt->nbackends;
    slot->balancers = calloc(rt->nbackends ? rt->nbackends : 1, sizeof(*slot->balancers));
    if (!slot->balancers) {
        free(slot);
        return NULL;
    }
    for (unsigned i = 0; i < rt->nbackends; i++) {
        slot->balancers[i] = balancer_create(&rt->backends[i], worker_random(w));
        if (!slot->balancers[i])
            log_err("worker %u: cannot create balancer for backend \"%s\"", w->id,
                    rt->backends[i].name);
    }
    slot->next = priv(w)->slots;
    priv(w)->slots = slot;
    return slot;
}

static void slot_free(struct rt_slot *slot)
{
    for (unsigned i = 0; i < slot->nbalancers; i++)
        if (slot->balancers[i])
            balancer_free(slot->balancers[i]);
    free(slot->balancers);
    runtime_unref(slot->rt);
    free(slot);
}

static struct rt_slot *slot_find(struct worker *w, const struct runtime *rt)
{
    for (struct rt_slot *s = priv(w)->slots; s; s = s->next)
        if (s->rt == rt)
            return s;
    return NULL;
}

/* Frees slots of old runtimes that no session uses any more. */
static void slots_collect(struct worker *w)
{
    struct rt_slot **pp = &priv(w)->slots;
    if (!*pp)
        return;
    pp = &(*pp)->next;              /* never the current one */
    while (*pp) {
        struct rt_slot *s = *pp;
        if (s->sessions == 0) {
            *pp = s->next;
            slot_free(s);
        } else {
            pp = &s->next;
        }
    }
}

struct balancer *worker_balancer(struct worker *w, struct runtime *rt, unsigned bi)
{
    struct rt_slot *slot = slot_find(w, rt ? rt : w->rt);
    if (!slot || bi >= slot->nbalancers)
        return NULL;
    return slot->balancers[bi];
}

/* ---- sessions ---- */

void worker_session_add(struct worker *w, struct worker_session *ws)
{
    ws->rt = w->rt;
    struct rt_slot *slot = slot_find(w, ws->rt);
    if (slot)
        slot->sessions++;
    TAILQ_INSERT_TAIL(&w->sessions, ws, link);
    w->nsessions++;
    atomic_fetch_add(&total_sessions, 1);
}

void worker_session_remove(struct worker *w, struct worker_session *ws)
{
    TAILQ_REMOVE(&w->sessions, ws, link);
    w->nsessions--;
    atomic_fetch_sub(&total_sessions, 1);
    struct rt_slot *slot = slot_find(w, ws->rt);
    if (slot && slot->sessions > 0 && --slot->sessions == 0 && slot != priv(w)->slots)
        slots_collect(w);
}

unsigned workers_sessions(void)
{
    return atomic_load(&total_sessions);
}

/* ---- listeners ---- */

/* Takes one connection slot of the frontend (and of the process) if one is
 * free. Slots are taken before accept(), so a connection over maxconn is
 * never accepted: it waits in the kernel's listen queue instead. */
static int slot_take(_Atomic int *active, unsigned max)
{
    int cur = atomic_load(active);
    do {
        if ((unsigned)cur >= max)
            return 0;
    } while (!atomic_compare_exchange_weak(active, &cur, cur + 1));
    return 1;
}

static int frontend_slot_take(const struct worker *w, struct frontend_rt *fe)
{
    unsigned gmax = w->rt->cfg->global.maxconn;
    if (gmax && !slot_take(&global_active, gmax))
        return 0;
    if (!gmax)
        atomic_fetch_add(&global_active, 1);
    if (slot_take(&fe->active, fe->conf->maxconn))
        return 1;
    atomic_fetch_sub(&global_active, 1);
    return 0;
}

static int frontend_full(const struct worker *w, const struct frontend_rt *fe)
{
    unsigned gmax = w->rt->cfg->global.maxconn;
    return (unsigned)atomic_load(&fe->active) >= fe->conf->maxconn ||
           (gmax && (unsigned)atomic_load(&global_active) >= gmax);
}

static void listener_pause(struct wlistener *l)
{
    if (l->ev && !l->paused) {
        event_del(l->ev);
        l->paused = 1;
    }
}

/* Re-enables listeners paused at maxconn (or out of descriptors) once there
 * is room again; called when a connection closes and on every tick. */
static void listeners_resume(struct worker *w)
{
    for (struct wlistener *l = priv(w)->listeners; l; l = l->next) {
        if (!l->paused || w->draining)
            continue;
        if (!frontend_full(w, &w->rt->frontends[l->fe_index])) {
            event_add(l->ev, NULL);
            l->paused = 0;
        }
    }
}

void worker_frontend_conn_done(struct worker *w, struct frontend_rt *fe)
{
    atomic_fetch_sub(&fe->active, 1);
    atomic_fetch_sub(&global_active, 1);
    if (priv(w)->listeners)
        listeners_resume(w);
}

static void accept_dispatch(struct wlistener *l, struct frontend_rt *fe, int fd,
                            const struct sockaddr_storage *peer)
{
    struct worker *w = l->w;
    struct sockaddr_storage local;
    atomic_fetch_add_explicit(&fe->stats.conns_total, 1, memory_order_relaxed);
    if (l->wildcard) {
        socklen_t len = sizeof(local);
        if (getsockname(fd, (struct sockaddr *)&local, &len) < 0)
            memcpy(&local, &l->addr.ss, sizeof(local));
    } else {
        memcpy(&local, &l->addr.ss, sizeof(local));
    }
    if (fe->conf->mode == MODE_HTTP)
        http_session_accept(w, fe, fd, peer, &local);
    else
        tcp_session_accept(w, fe, fd, peer, &local);
}

/* The listening socket is readable: accept up to ACCEPT_BATCH connections,
 * each only after taking a slot. */
static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    static struct log_ratelimit full_rl, err_rl;
    struct wlistener *l = arg;
    struct worker *w = l->w;
    struct frontend_rt *fe = &w->rt->frontends[l->fe_index];
    (void)what;

    for (int i = 0; i < ACCEPT_BATCH; i++) {
        if (!frontend_slot_take(w, fe)) {
            listener_pause(l);
            log_limited(&full_rl, 5, 10, LOG_LVL_WARN,
                        "frontend \"%s\": maxconn %u reached, pausing accepts",
                        fe->conf->name, fe->conf->maxconn);
            return;
        }
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);
        memset(&peer, 0, sizeof(peer));
        int fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            atomic_fetch_sub(&fe->active, 1);
            atomic_fetch_sub(&global_active, 1);
            if (err == EAGAIN || err == EWOULDBLOCK)
                return;
            if (err == EINTR || err == ECONNABORTED)
                continue;
            log_limited(&err_rl, 5, 10, LOG_LVL_WARN, "worker %u: accept: %s", w->id,
                        strerror(err));
            /* Out of descriptors: stop for a tick rather than spin. */
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
                listener_pause(l);
            return;
        }
        accept_dispatch(l, fe, fd, &peer);
    }
}

static void listener_close(struct wlistener *l)
{
    if (l->ev) {
        event_free(l->ev);
        close(l->fd);
    }
    if (l->uf)
        udp_frontend_detach(l->uf);
    free(l);
}

/* Wraps a bound socket for this worker; takes ownership of fd. */
static int listener_attach(struct worker *w, const struct net_addr *addr, int socktype,
                           unsigned fe_index, int fd)
{
    struct wlistener *l = calloc(1, sizeof(*l));
    if (!l) {
        close(fd);
        return -1;
    }
    l->w = w;
    l->addr = *addr;
    l->socktype = socktype;
    l->fe_index = fe_index;
    l->wildcard = listener_is_wildcard(addr);
    if (socktype == SOCK_STREAM) {
        l->fd = fd;
        l->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_accept, l);
        if (l->ev && event_add(l->ev, NULL) < 0) {
            event_free(l->ev);
            l->ev = NULL;
        }
    } else {
        l->uf = udp_frontend_attach(w, &w->rt->frontends[fe_index], fd);
    }
    if (!l->ev && !l->uf) {
        log_err("worker %u: cannot attach listener", w->id);
        close(fd);
        free(l);
        return -1;
    }
    l->next = priv(w)->listeners;
    priv(w)->listeners = l;
    return 0;
}

static void listeners_close_all(struct worker *w)
{
    struct wlistener *l = priv(w)->listeners;
    priv(w)->listeners = NULL;
    while (l) {
        struct wlistener *next = l->next;
        listener_close(l);
        l = next;
    }
}

/* ---- messages from the main thread ---- */

static struct wlistener *listener_find(struct worker *w, const struct net_addr *addr,
                                       int socktype)
{
    for (struct wlistener *l = priv(w)->listeners; l; l = l->next)
        if (l->socktype == socktype &&
            addr_equal((const struct sockaddr *)&l->addr.ss, (const struct sockaddr *)&addr->ss))
            return l;
    return NULL;
}

static int frontend_socktype(const struct conf_frontend *f)
{
    return f->mode == MODE_UDP ? SOCK_DGRAM : SOCK_STREAM;
}

/* Re-points kept listeners at the new frontends, attaches the sockets of
 * new binds, closes listeners whose bind is gone. */
static void listeners_reload(struct worker *w, struct new_fd *fds, unsigned nfds)
{
    struct runtime *rt = w->rt;
    for (struct wlistener *l = priv(w)->listeners; l; l = l->next)
        l->used = 0;
    for (unsigned f = 0; f < rt->nfrontends; f++) {
        const struct conf_frontend *cf = rt->frontends[f].conf;
        int st = frontend_socktype(cf);
        for (unsigned b = 0; b < cf->nbinds; b++) {
            struct wlistener *l = listener_find(w, &cf->binds[b], st);
            if (l && !l->used) {
                l->fe_index = f;
                l->used = 1;
                if (l->uf)
                    udp_frontend_rebind(l->uf, &rt->frontends[f]);
                continue;
            }
            for (unsigned i = 0; i < nfds; i++) {
                if (fds[i].fd >= 0 && fds[i].socktype == st &&
                    addr_equal((const struct sockaddr *)&fds[i].addr.ss,
                               (const struct sockaddr *)&cf->binds[b].ss)) {
                    if (listener_attach(w, &cf->binds[b], st, f, fds[i].fd) == 0)
                        priv(w)->listeners->used = 1;
                    fds[i].fd = -1;
                    break;
                }
            }
        }
    }
    for (unsigned i = 0; i < nfds; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    struct wlistener **pp = &priv(w)->listeners;
    while (*pp) {
        struct wlistener *l = *pp;
        if (l->used) {
            pp = &l->next;
            continue;
        }
        *pp = l->next;
        listener_close(l);
    }
}

static void worker_apply_reload(struct worker *w, struct runtime *rt, struct new_fd *fds,
                                unsigned nfds)
{
    struct runtime *old = w->rt;
    void **old_pools = w->pools;
    struct rt_slot *slot = slot_new(w, rt);
    if (!slot) {
        log_err("worker %u: out of memory applying reload", w->id);
        runtime_unref(rt);
        for (unsigned i = 0; i < nfds; i++)
            if (fds[i].fd >= 0)
                close(fds[i].fd);
        return;
    }
    w->rt = rt;
    w->balancers = slot->balancers;
    w->pools = NULL;
    http_worker_reload(w, old, old_pools);
    if (!w->draining)
        listeners_reload(w, fds, nfds);
    slots_collect(w);
}

static void sessions_call(struct worker *w, int abort)
{
    struct worker_session *ws, *next;
    for (ws = TAILQ_FIRST(&w->sessions); ws; ws = next) {
        next = TAILQ_NEXT(ws, link);
        if (abort ? ws->abort != NULL : ws->drain != NULL)
            (abort ? ws->abort : ws->drain)(ws);
    }
}

static void on_message(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    struct worker_priv *p = priv(w);
    uint64_t n;
    (void)what;
    if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        log_warn("worker %u: eventfd read: %s", w->id, strerror(errno));

    pthread_mutex_lock(&p->lock);
    struct runtime *rt = p->pending_rt;
    struct new_fd *fds = p->pending_fds;
    unsigned nfds = p->npending_fds;
    int drain = p->pending_drain, abort = p->pending_abort, stop = p->pending_stop;
    p->pending_rt = NULL;
    p->pending_fds = NULL;
    p->npending_fds = 0;
    p->pending_drain = p->pending_abort = 0;
    pthread_mutex_unlock(&p->lock);

    if (rt)
        worker_apply_reload(w, rt, fds, nfds);
    free(fds);
    if (drain && !w->draining) {
        w->draining = 1;
        listeners_close_all(w);
        sessions_call(w, 0);
    }
    if (abort)
        sessions_call(w, 1);
    if (stop)
        event_base_loopbreak(w->base);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    (void)fd; (void)what;
    listeners_resume(w);
    slots_collect(w);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->base);
    tcp_thread_cleanup();
    return NULL;
}

/* ---- the group, from the main thread ---- */

static void worker_post(struct worker *w)
{
    uint64_t one = 1;
    if (write(priv(w)->msg_fd, &one, sizeof(one)) < 0)
        log_err("worker %u: eventfd write: %s", w->id, strerror(errno));
}

static int worker_init(struct worker *w, unsigned id, struct runtime *rt)
{
    struct worker_priv *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    w->priv = p;
    w->id = id;
    w->rng = 0x9E3779B97F4A7C15ULL * (id + 1) ^ (uint64_t)getpid();
    TAILQ_INIT(&w->sessions);
    pthread_mutex_init(&p->lock, NULL);

    struct event_config *ec = event_config_new();
    if (!ec)
        return -1;
    /* No EPOLL_USE_CHANGELIST: with connection churn fd numbers are reused
     * at once, and the changelist then issues epoll_ctl calls that fail and
     * are retried (about 1.8 wasted syscalls per tcp connection). */
    event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
    w->base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!w->base)
        return -1;
    p->msg_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (p->msg_fd < 0)
        return -1;
    p->msg_ev = event_new(w->base, p->msg_fd, EV_READ | EV_PERSIST, on_message, w);
    p->tick_ev = event_new(w->base, -1, EV_PERSIST, on_tick, w);
    struct timeval tick = { 0, TICK_MS * 1000 };
    if (!p->msg_ev || !p->tick_ev || event_add(p->msg_ev, NULL) < 0 ||
        event_add(p->tick_ev, &tick) < 0)
        return -1;
    runtime_ref(rt);
    struct rt_slot *slot = slot_new(w, rt);
    if (!slot) {
        runtime_unref(rt);
        return -1;
    }
    w->rt = rt;
    w->balancers = slot->balancers;
    http_worker_init(w);
    return 0;
}

/* Opens one socket per worker for bind b of frontend cf into fds[0..n). */
static int open_bind_fds(const struct conf_frontend *cf, const struct net_addr *addr,
                         int *fds, unsigned n)
{
    char err[256];
    for (unsigned i = 0; i < n; i++) {
        fds[i] = listener_open(addr, frontend_socktype(cf), LISTEN_BACKLOG, err, sizeof(err));
        if (fds[i] < 0) {
            log_err("frontend \"%s\": %s", cf->name, err);
            while (i-- > 0)
                close(fds[i]);
            return -1;
        }
    }
    return 0;
}

int workers_start(struct runtime *rt, unsigned nthreads)
{
    workers = calloc(nthreads, sizeof(*workers));
    if (!workers)
        return -1;
    nworkers = nthreads;
    for (unsigned i = 0; i < nthreads; i++) {
        if (worker_init(&workers[i], i, rt) < 0) {
            log_err("cannot set up worker %u", i);
            return -1;
        }
    }
    int *fds = calloc(nthreads, sizeof(*fds));
    if (!fds)
        return -1;
    for (unsigned f = 0; f < rt->nfrontends; f++) {
        const struct conf_frontend *cf = rt->frontends[f].conf;
        for (unsigned b = 0; b < cf->nbinds; b++) {
            if (open_bind_fds(cf, &cf->binds[b], fds, nthreads) < 0) {
                free(fds);
                return -1;
            }
            for (unsigned i = 0; i < nthreads; i++)
                if (listener_attach(&workers[i], &cf->binds[b], frontend_socktype(cf), f,
                                    fds[i]) < 0) {
                    free(fds);
                    return -1;
                }
        }
    }
    free(fds);
    runtime_ref(rt);
    current_rt = rt;
    for (unsigned i = 0; i < nthreads; i++) {
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0) {
            log_err("cannot start worker thread %u", i);
            return -1;
        }
    }
    return 0;
}

static int bind_in_config(const struct tandem_config *cfg, const struct net_addr *addr,
                          int socktype)
{
    for (unsigned f = 0; f < cfg->nfrontends; f++) {
        const struct conf_frontend *cf = &cfg->frontends[f];
        if (frontend_socktype(cf) != socktype)
            continue;
        for (unsigned b = 0; b < cf->nbinds; b++)
            if (addr_equal((const struct sockaddr *)&cf->binds[b].ss,
                           (const struct sockaddr *)&addr->ss))
                return 1;
    }
    return 0;
}

int workers_reload(struct runtime *rt)
{
    /* Count and open the sockets of binds the running config lacks. */
    unsigned nnew = 0;
    for (unsigned f = 0; f < rt->nfrontends; f++) {
        const struct conf_frontend *cf = rt->frontends[f].conf;
        for (unsigned b = 0; b < cf->nbinds; b++)
            if (!bind_in_config(current_rt->cfg, &cf->binds[b], frontend_socktype(cf)))
                nnew++;
    }
    struct new_fd **per_worker = calloc(nworkers, sizeof(*per_worker));
    int *fds = calloc(nworkers, sizeof(*fds));
    int ok = per_worker && fds;
    for (unsigned i = 0; ok && i < nworkers; i++)
        ok = (per_worker[i] = calloc(nnew ? nnew : 1, sizeof(struct new_fd))) != NULL;
    unsigned k = 0;
    for (unsigned f = 0; ok && f < rt->nfrontends; f++) {
        const struct conf_frontend *cf = rt->frontends[f].conf;
        for (unsigned b = 0; ok && b < cf->nbinds; b++) {
            if (bind_in_config(current_rt->cfg, &cf->binds[b], frontend_socktype(cf)))
                continue;
            if (open_bind_fds(cf, &cf->binds[b], fds, nworkers) < 0) {
                ok = 0;
                break;
            }
            for (unsigned i = 0; i < nworkers; i++)
                per_worker[i][k] = (struct new_fd){ cf->binds[b], frontend_socktype(cf), fds[i] };
            k++;
        }
    }
    free(fds);
    if (!ok) {
        for (unsigned i = 0; per_worker && i < nworkers; i++) {
            for (unsigned j = 0; per_worker[i] && j < k; j++)
                close(per_worker[i][j].fd);
            free(per_worker[i]);
        }
        free(per_worker);
        return -1;
    }
    for (unsigned i = 0; i < nworkers; i++) {
        struct worker_priv *p = priv(&workers[i]);
        runtime_ref(rt);
        pthread_mutex_lock(&p->lock);
        if (p->pending_rt) {          /* an older reload not yet applied */
            runtime_unref(p->pending_rt);
            for (unsigned j = 0; j < p->npending_fds; j++)
                close(p->pending_fds[j].fd);
            free(p->pending_fds);
        }
        p->pending_rt = rt;
        p->pending_fds = per_worker[i];
        p->npending_fds = k;
        pthread_mutex_unlock(&p->lock);
        worker_post(&workers[i]);
    }
    free(per_worker);
    runtime_unref(current_rt);
    runtime_ref(rt);
    current_rt = rt;
    return 0;
}

static void workers_post_flag(size_t offset)
{
    for (unsigned i = 0; i < nworkers; i++) {
        struct worker_priv *p = priv(&workers[i]);
        pthread_mutex_lock(&p->lock);
        *(int *)((char *)p + offset) = 1;
        pthread_mutex_unlock(&p->lock);
        worker_post(&workers[i]);
    }
}

void workers_drain(void) { workers_post_flag(offsetof(struct worker_priv, pending_drain)); }
void workers_abort(void) { workers_post_flag(offsetof(struct worker_priv, pending_abort)); }

void workers_stop(void)
{
    workers_post_flag(offsetof(struct worker_priv, pending_stop));
    for (unsigned i = 0; i < nworkers; i++)
        pthread_join(workers[i].thread, NULL);
    for (unsigned i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];
        struct worker_priv *p = priv(w);
        listeners_close_all(w);
        sessions_call(w, 1);
        http_worker_free(w);
        while (p->slots) {
            struct rt_slot *s = p->slots;
            p->slots = s->next;
            slot_free(s);
        }
        if (p->pending_rt)
            runtime_unref(p->pending_rt);
        free(p->pending_fds);
        event_free(p->msg_ev);
        event_free(p->tick_ev);
        close(p->msg_fd);
        event_base_free(w->base);
        pthread_mutex_destroy(&p->lock);
        free(p);
    }
    free(workers);
    workers = NULL;
    nworkers = 0;
    runtime_unref(current_rt);
    current_rt = NULL;
}
