/* sync.c - the peer sync thread (sync.h, docs/sync.md).
 *
 * Everything here runs on the sync thread's own event base, except
 * sync_start/stop/set_runtime/request_resync/get_status, which only touch
 * what the mutex guards. The tables it reads and writes have their own
 * locks; workers never wait for this thread. */
#include "config.h"
#include "sync.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "conntable.h"
#include "log.h"
#include "peer_conns.h"
#include "ratelimit.h"
#include "ratelimit_rt.h"
#include "runtime.h"
#include "server.h"
#include "sticky.h"
#include "sync_tls.h"
#include "sync_wire.h"

#define TICK_MS            10          /* feed pump and housekeeping */
#define FEED_BATCH         256
#define MAX_PENDING_IN     4           /* accepted, not yet greeted */
#define ACK_EVERY          4096        /* events applied between unprompted acks */
#define SPLIT_LOG_EVERY_MS 10000

enum link_dir { LINK_OUT, LINK_IN };

struct sync_link {
    struct sync *sy;
    enum link_dir dir;
    struct bufferevent *bev;
    char addr[64];                     /* the other end, for logs */
    struct sync_link_status st;
    uint64_t state_deadline_ms;        /* CONNECTING/HELLO must finish by then */
};

struct sync {
    struct conf_sync conf;
    char node[65];
    struct sticky_table *sticky;
    struct conntable *conns;
    struct peer_conns *pc;
    struct sync_vip *vips;
    unsigned nvips;
    struct sync_tls tls;
    uint64_t boot_id;

    pthread_t thread;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *tick_ev, *hb_ev, *rl_ev, *redial_ev;
    uint64_t redial_delay_ms;

    struct sync_link out;              /* we dial: we send our tables */
    struct sync_link in;               /* the peer dials: we receive */
    struct sync_link *pending[MAX_PENDING_IN];

    /* sender (out) */
    uint64_t st_read, cn_read;         /* feeds consumed up to here */
    uint64_t st_sent, cn_sent;         /* newest seq actually sent */
    uint64_t st_acked, cn_acked;
    uint64_t unacked_since_ms;
    int snap_st, snap_cn;              /* next shard to send, -1: none running */
    uint64_t snap_st_from, snap_cn_from;
    int rl_all;                        /* next rate-limit round sends every key */
    struct sticky_event st_evs[FEED_BATCH];
    struct conn_event cn_evs[FEED_BATCH];

    /* receiver (in) */
    uint64_t peer_boot;                /* 0: never heard of */
    uint64_t st_applied, cn_applied;
    uint64_t applied_since_ack;
    char peer_held[SYNC_VIPS_MAX][SYNC_NAME_MAX + 1];
    unsigned npeer_held;
    uint64_t split_logged_ms;

    /* our VRRP view, refreshed each heartbeat */
    char held[SYNC_VIPS_MAX][SYNC_NAME_MAX + 1];
    unsigned nheld;

    struct sync_status st;             /* thread's working copy */
    uint64_t start_ms;
    int got_snap_sticky, got_snap_conn;   /* the peer's snapshots since start */
    _Atomic int ready;

    pthread_mutex_t lock;              /* guards: pub, rt, want_resync, stopping */
    struct sync_status pub;
    struct runtime *rt;
    int want_resync;                   /* 1: resync asked, -1: stop */
    _Atomic int stopping;
    int stop_sent;
};

const char *sync_link_state_name(enum sync_link_state s)
{
    switch (s) {
    case SYNC_LINK_DOWN: return "down";
    case SYNC_LINK_CONNECTING: return "connecting";
    case SYNC_LINK_HELLO: return "greeting";
    case SYNC_LINK_UP: return "up";
    }
    return "?";
}

/* ------------------------------------------------------------ helpers */

static struct runtime *rt_get(struct sync *sy)
{
    pthread_mutex_lock(&sy->lock);
    struct runtime *rt = sy->rt;
    if (rt)
        runtime_ref(rt);
    pthread_mutex_unlock(&sy->lock);
    return rt;
}

static void link_set_state(struct sync_link *l, enum sync_link_state s)
{
    l->st.state = s;
    l->st.since_ms = clock_mono_ms();
    if (s == SYNC_LINK_CONNECTING || s == SYNC_LINK_HELLO)
        l->state_deadline_ms = l->st.since_ms + l->sy->conf.timeout_ms * 2;
}

static const char *peer_name(const struct sync *sy)
{
    return sy->st.peer_node[0] ? sy->st.peer_node : sy->st.peer_addr;
}

static int send_msg(struct sync_link *l, const struct sync_msg *m)
{
    uint8_t frame[SYNC_FRAME_MAX];
    int n = sync_encode(m, frame, sizeof(frame));
    if (n < 0) {
        log_warn("sync: cannot encode a %s message (skipped)", sync_type_name(m->type));
        return -1;
    }
    return evbuffer_add(bufferevent_get_output(l->bev), frame, (size_t)n);
}

static void send_bye(struct sync_link *l, const char *reason)
{
    struct sync_msg m = { .type = SYNC_BYE };
    snprintf(m.u.bye.reason, sizeof(m.u.bye.reason), "%s", reason);
    send_msg(l, &m);
}

static void schedule_redial(struct sync *sy);

/* Copies a string, cut to fit. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}
static void link_callbacks(struct sync_link *l);
static void dial(struct sync *sy);

/* Counters and the last error of a connection still being accepted go to
 * the in link's status: that is where an operator looks for them. */
static struct sync_link_status *stat_of(struct sync_link *l)
{
    return l == &l->sy->out ? &l->st : &l->sy->in.st;
}

/* Closes l. For the out link a redial follows; the in link waits for the
 * peer to dial again, and the peer's open connections become "recent"
 * (their clients keep their server for conn_grace). */
static void link_close(struct sync_link *l, const char *why)
{
    struct sync *sy = l->sy;
    int was_up = l->st.state == SYNC_LINK_UP;
    if (l->bev) {
        bufferevent_free(l->bev);      /* closes the socket, frees the SSL */
        l->bev = NULL;
    }
    if (why)
        copy_str(stat_of(l)->last_error, sizeof(l->st.last_error), why);
    link_set_state(l, SYNC_LINK_DOWN);
    if (l == &sy->out) {
        sy->snap_st = sy->snap_cn = -1;
        if (was_up)
            log_warn("sync: link to peer %s lost (%s); redialing. VRRP is not affected; "
                     "the tables resync when the link returns", peer_name(sy),
                     why ? why : "closed");
        schedule_redial(sy);
    } else if (l == &sy->in) {
        if (was_up)
            log_warn("sync: link from peer %s lost (%s); its connections are kept for "
                     "%llu ms of grace", peer_name(sy), why ? why : "closed",
                     (unsigned long long)sy->conf.conn_grace_ms);
        if (sy->pc)
            peer_conns_orphan(sy->pc, clock_mono_ms());
        sy->cn_applied = 0;            /* the next link starts the peer's conns afresh */
        sy->npeer_held = 0;
        sy->st.split_brain[0] = '\0';
    } else {
        for (unsigned i = 0; i < MAX_PENDING_IN; i++)
            if (sy->pending[i] == l)
                sy->pending[i] = NULL;
        free(l);
    }
}

/* ------------------------------------------------------------ VRRP view */

static int addr_on_box(const struct sockaddr_storage *a, struct ifaddrs *ifs)
{
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != a->ss_family)
            continue;
        if (a->ss_family == AF_INET &&
            ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
                ((const struct sockaddr_in *)a)->sin_addr.s_addr)
            return 1;
        if (a->ss_family == AF_INET6 &&
            memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
                   &((const struct sockaddr_in6 *)a)->sin6_addr, 16) == 0)
            return 1;
    }
    return 0;
}

static int name_in(const char (*set)[SYNC_NAME_MAX + 1], unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(set[i], name) == 0)
            return 1;
    return 0;
}

static void join_names(char *out, size_t cap, const char (*set)[SYNC_NAME_MAX + 1],
                       unsigned n)
{
    size_t len = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", set[i]);
}

static void refresh_held(struct sync *sy)
{
    sy->nheld = 0;
    if (!sy->nvips)
        return;
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return;
    for (unsigned i = 0; i < sy->nvips && sy->nheld < SYNC_VIPS_MAX; i++)
        if (!name_in(sy->held, sy->nheld, sy->vips[i].instance) &&
            addr_on_box(&sy->vips[i].addr, ifs))
            snprintf(sy->held[sy->nheld++], SYNC_NAME_MAX + 1, "%s", sy->vips[i].instance);
    freeifaddrs(ifs);
    join_names(sy->st.held, sizeof(sy->st.held), sy->held, sy->nheld);
}

/* Both boxes hold an instance's VIPs while they can talk to each other:
 * VRRP's own path between them is broken (or misconfigured). */
static void check_split_brain(struct sync *sy)
{
    char both[SYNC_VIPS_MAX][SYNC_NAME_MAX + 1];
    unsigned n = 0;
    for (unsigned i = 0; i < sy->nheld; i++)
        if (name_in(sy->peer_held, sy->npeer_held, sy->held[i]))
            snprintf(both[n++], SYNC_NAME_MAX + 1, "%s", sy->held[i]);
    char names[256];
    join_names(names, sizeof(names), both, n);
    uint64_t now = clock_mono_ms();
    if (n && (strcmp(names, sy->st.split_brain) != 0 ||
              now - sy->split_logged_ms >= SPLIT_LOG_EVERY_MS)) {
        log_err("sync: SPLIT BRAIN: VRRP instance(s) %s: both %s and %s hold the VIPs "
                "while the sync link is up. VRRP adverts are not getting through between "
                "the boxes (check the VRRP path: firewall, unicast_peer, vrid, auth)",
                names, sy->node, peer_name(sy));
        sy->split_logged_ms = now;
        if (!sy->st.split_brain[0])
            sy->st.split_brain_since_ms = now;
    } else if (!n && sy->st.split_brain[0]) {
        log_notice("sync: split brain over: %s no longer held by both boxes",
                   sy->st.split_brain);
        sy->st.split_brain_since_ms = 0;
    }
    snprintf(sy->st.split_brain, sizeof(sy->st.split_brain), "%s", names);
}

/* ------------------------------------------------------------ sender */

struct snap_arg {
    struct sync_link *l;
    uint64_t now;
    unsigned n;
};

static void snap_sticky_one(const struct sticky_entry_view *e, void *arg)
{
    struct snap_arg *a = arg;
    struct sync_msg m = { .type = SYNC_STICKY };
    struct sync_sticky *s = &m.u.sticky;
    s->type = STICKY_EV_SET;
    s->kind = (uint8_t)e->kind;
    s->key_len = (uint8_t)e->key_len;
    memcpy(s->key, e->key, e->key_len);
    snprintf(s->backend, sizeof(s->backend), "%s", e->backend);
    snprintf(s->server, sizeof(s->server), "%s", e->server);
    s->remaining_ms = e->expire_ms > a->now ? (uint32_t)(e->expire_ms - a->now) : 0;
    s->ttl_ms = e->ttl_ms;
    if (s->remaining_ms && send_msg(a->l, &m) == 0)
        a->n++;
}

static void snap_conn_one(const struct conn_info *ci, void *arg)
{
    struct snap_arg *a = arg;
    struct sync_msg m = { .type = SYNC_CONN };
    m.u.conn.type = CONN_EV_OPEN;
    m.u.conn.info = *ci;
    if (send_msg(a->l, &m) == 0)
        a->n++;
}

static void snap_begin(struct sync *sy, enum sync_table table)
{
    struct sync_msg m = { .type = SYNC_SNAP_BEGIN };
    m.u.snap.table = (uint8_t)table;
    send_msg(&sy->out, &m);
    if (table == SYNC_TABLE_STICKY) {
        sy->snap_st = 0;
        sy->snap_st_from = sticky_feed_seq(sy->sticky);
    } else {
        sy->snap_cn = 0;
        sy->snap_cn_from = conntable_feed_seq(sy->conns);
    }
}

static void snap_end(struct sync *sy, enum sync_table table)
{
    struct sync_msg m = { .type = SYNC_SNAP_END };
    m.u.snap.table = (uint8_t)table;
    if (table == SYNC_TABLE_STICKY) {
        m.u.snap.seq = sy->st_read = sy->st_sent = sy->snap_st_from;
        sy->snap_st = -1;
    } else {
        m.u.snap.seq = sy->cn_read = sy->cn_sent = sy->snap_cn_from;
        sy->snap_cn = -1;
    }
    send_msg(&sy->out, &m);
    sy->st.snapshots_sent++;
}

static void start_snapshots(struct sync *sy, int sticky, int conns)
{
    if (sticky && sy->sticky && sy->snap_st < 0)
        snap_begin(sy, SYNC_TABLE_STICKY);
    if (conns && sy->conns && sy->snap_cn < 0)
        snap_begin(sy, SYNC_TABLE_CONN);
}

/* One step of a running snapshot: one shard. 1 if there was one. */
static int snapshot_step(struct sync *sy)
{
    struct snap_arg a = { &sy->out, clock_mono_ms(), 0 };
    if (sy->snap_st >= 0) {
        if ((unsigned)sy->snap_st >= sticky_nshards(sy->sticky)) {
            snap_end(sy, SYNC_TABLE_STICKY);
            return 1;
        }
        sticky_snapshot_shard(sy->sticky, (unsigned)sy->snap_st++, NULL, a.now,
                              snap_sticky_one, &a);
        sy->st.sticky_sent += a.n;
        return 1;
    }
    if (sy->snap_cn >= 0) {
        if ((unsigned)sy->snap_cn >= conntable_nshards(sy->conns)) {
            snap_end(sy, SYNC_TABLE_CONN);
            return 1;
        }
        conntable_snapshot_shard(sy->conns, (unsigned)sy->snap_cn++, snap_conn_one, &a);
        sy->st.conns_sent += a.n;
        return 1;
    }
    return 0;
}

/* Events to read so the send buffer ends near queue_size, not a whole
 * batch past it (a frame is at most ~280 bytes; most are ~120). */
static unsigned batch_room(struct sync *sy)
{
    size_t used = evbuffer_get_length(bufferevent_get_output(sy->out.bev));
    size_t room = used < sy->conf.queue_bytes ? sy->conf.queue_bytes - used : 0;
    unsigned n = (unsigned)(room / 128) + 1;
    return n < FEED_BATCH ? n : FEED_BATCH;
}

/* Streams the sticky feed after st_read. 1 if anything was read. */
static int stream_sticky(struct sync *sy)
{
    if (!sy->sticky || sticky_feed_seq(sy->sticky) == sy->st_read)
        return 0;
    int n = sticky_feed_read(sy->sticky, sy->st_read, sy->st_evs, batch_room(sy));
    if (n < 0) {
        log_warn("sync: the sticky feed overflowed before peer %s took it (a slow link or "
                 "a burst): sending a fresh snapshot", peer_name(sy));
        sy->st.resyncs++;
        start_snapshots(sy, 1, 0);
        return 1;
    }
    uint64_t now = clock_mono_ms();
    for (int i = 0; i < n; i++) {
        const struct sticky_event *ev = &sy->st_evs[i];
        sy->st_read = ev->seq;
        struct sync_msg m = { .type = SYNC_STICKY };
        struct sync_sticky *s = &m.u.sticky;
        s->seq = ev->seq;
        s->type = ev->type;
        s->kind = ev->kind;
        s->key_len = ev->key_len;
        memcpy(s->key, ev->key, ev->key_len);
        memcpy(s->backend, ev->backend, sizeof(s->backend));
        memcpy(s->server, ev->server, sizeof(s->server));
        s->ttl_ms = ev->ttl_ms;
        /* remaining as of now: the event may have waited in the ring */
        s->remaining_ms = ev->expire_ms > now ? (uint32_t)(ev->expire_ms - now) : 0;
        if ((s->type == STICKY_EV_SET || s->type == STICKY_EV_REFRESH) && !s->remaining_ms)
            continue;
        if (send_msg(&sy->out, &m) == 0) {
            sy->st_sent = ev->seq;
            sy->st.sticky_sent++;
        }
    }
    return n > 0;
}

static int stream_conns(struct sync *sy)
{
    if (!sy->conns || conntable_feed_seq(sy->conns) == sy->cn_read)
        return 0;
    int n = conntable_feed_read(sy->conns, sy->cn_read, sy->cn_evs, batch_room(sy));
    if (n < 0) {
        log_warn("sync: the connection feed overflowed before peer %s took it: sending a "
                 "fresh snapshot", peer_name(sy));
        sy->st.resyncs++;
        start_snapshots(sy, 0, 1);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        const struct conn_event *ev = &sy->cn_evs[i];
        sy->cn_read = ev->seq;
        struct sync_msg m = { .type = SYNC_CONN };
        m.u.conn.seq = ev->seq;
        m.u.conn.type = ev->type;
        m.u.conn.info = ev->info;
        if (send_msg(&sy->out, &m) == 0) {
            sy->cn_sent = ev->seq;
            sy->st.conns_sent++;
        }
    }
    return n > 0;
}

/* Fills the out link's buffer up to queue_size: snapshots first, then the
 * feeds. Past the bound it stops; the feeds' rings hold what comes
 * meanwhile, and overflow there costs a snapshot, never memory. */
static void pump(struct sync *sy)
{
    struct sync_link *l = &sy->out;
    if (l->st.state != SYNC_LINK_UP)
        return;
    struct evbuffer *out = bufferevent_get_output(l->bev);
    uint64_t before = sy->st_sent + sy->cn_sent;
    while (evbuffer_get_length(out) < sy->conf.queue_bytes) {
        if (snapshot_step(sy))
            continue;
        int more = stream_sticky(sy);
        more |= stream_conns(sy);
        if (!more)
            break;
    }
    if (sy->st_sent + sy->cn_sent != before && !sy->unacked_since_ms)
        sy->unacked_since_ms = clock_mono_ms();
}

struct rl_send_arg {
    struct sync *sy;
    const char *limit;
};

static void rl_send_one(const void *key, size_t len, const struct rl_node_report *r, void *arg)
{
    struct rl_send_arg *a = arg;
    struct sync_msg m = { .type = SYNC_RL };
    snprintf(m.u.rl.limit, sizeof(m.u.rl.limit), "%s", a->limit);
    m.u.rl.key_len = (uint8_t)(len > RL_KEY_MAX ? RL_KEY_MAX : len);
    memcpy(m.u.rl.key, key, m.u.rl.key_len);
    m.u.rl.r = *r;
    if (send_msg(&a->sy->out, &m) == 0)
        a->sy->st.rl_sent++;
}

struct rl_round {
    struct sync *sy;
    unsigned budget;
};

/* After a (re)connect every key with counts of ours is due: marking them
 * costs no queue room, so every limit is marked, whatever the budget. */
static void rl_mark_all(struct rl_limit *lim, void *arg)
{
    struct rl_send_arg a = { arg, lim->name };
    rl_table_collect(lim->table, 1, 0, rl_send_one, &a);
}

static void rl_send_limit(struct rl_limit *lim, void *arg)
{
    struct rl_round *r = arg;
    if (!r->budget)
        return;
    struct rl_send_arg a = { r->sy, lim->name };
    unsigned n = rl_table_collect(lim->table, 0, r->budget, rl_send_one, &a);
    r->budget -= n < r->budget ? n : r->budget;
}

/* Rate-limit counters: the keys whose own counts changed since the last
 * round (every key after a connect), as many as the queue has room for. */
static void rl_round(struct sync *sy, struct runtime *rt)
{
    struct sync_link *l = &sy->out;
    if (l->st.state != SYNC_LINK_UP || !rt)
        return;
    size_t used = evbuffer_get_length(bufferevent_get_output(l->bev));
    if (used >= sy->conf.queue_bytes)
        return;
    if (sy->rl_all)
        ratelimit_runtime_each(rt, rl_mark_all, sy);
    sy->rl_all = 0;
    struct rl_round r = { sy, (unsigned)((sy->conf.queue_bytes - used) / 200) + 1 };
    ratelimit_runtime_each(rt, rl_send_limit, &r);
}

/* ------------------------------------------------------------ receiver */

static void send_ack(struct sync *sy)
{
    if (sy->in.st.state != SYNC_LINK_UP)
        return;
    struct sync_msg m = { .type = SYNC_ACK };
    m.u.ack.sticky_seq = sy->st_applied;
    m.u.ack.conn_seq = sy->cn_applied;
    send_msg(&sy->in, &m);
    sy->applied_since_ack = 0;
}

static void apply_sticky(struct sync *sy, const struct sync_sticky *s)
{
    uint64_t now = clock_mono_ms();
    struct sticky_key k = { (enum sticky_kind)s->kind, s->backend, s->key, s->key_len };
    switch (s->type) {
    case STICKY_EV_SET:
    case STICKY_EV_REFRESH:
        sticky_apply_set(sy->sticky, &k, s->server, now, s->remaining_ms, s->ttl_ms);
        break;
    case STICKY_EV_DELETE:
        sticky_apply_delete(sy->sticky, &k, now);
        break;
    case STICKY_EV_CLEAR:
        sticky_apply_clear(sy->sticky, s->backend[0] ? s->backend : NULL, now);
        break;
    default:                           /* EXPIRE, EVICT: each box ages its own copy */
        break;
    }
    sy->st.sticky_recv++;
    if (s->seq)
        sy->st_applied = s->seq;
}

static void rl_peer_restarted(struct rl_limit *lim, void *arg)
{
    (void)arg;
    rl_table_peer_restarted(lim->table);
}

static void apply_rl(struct sync *sy, const struct sync_rl *r)
{
    struct runtime *rt = rt_get(sy);
    if (!rt)
        return;
    struct rl_limit *lim = ratelimit_runtime_find(rt, r->limit);
    if (lim)
        rl_table_merge(lim->table, r->key, r->key_len, &r->r, clock_wall_ms());
    runtime_unref(rt);
    sy->st.rl_recv++;
}

/* A frame on the in link (the peer is sending its tables). */
static int in_frame(struct sync *sy, struct sync_link *l, const struct sync_msg *m)
{
    if (l->st.state == SYNC_LINK_HELLO) {
        if (m->type != SYNC_HELLO)
            return -1;
        if (l != &sy->in) {            /* a pending link greets: it becomes the in link */
            if (sy->in.bev)
                link_close(&sy->in, "replaced by a new connection from the peer");
            struct sync_link_status keep = sy->in.st;
            sy->in.bev = l->bev;
            sy->in.st = l->st;
            sy->in.st.connects = keep.connects;
            sy->in.st.failures = keep.failures;
            snprintf(sy->in.st.last_error, sizeof(sy->in.st.last_error), "%s",
                     keep.last_error);
            snprintf(sy->in.addr, sizeof(sy->in.addr), "%s", l->addr);
            l->bev = NULL;
            link_close(l, NULL);
            l = &sy->in;
            link_callbacks(l);
        }
        const struct sync_hello *h = &m->u.hello;
        if (h->boot_id != sy->peer_boot) {
            if (sy->peer_boot) {
                log_notice("sync: peer %s restarted: taking its tables afresh", h->node);
                struct runtime *rt = rt_get(sy);
                if (rt) {              /* its bucket spending counts from 0 again */
                    ratelimit_runtime_each(rt, rl_peer_restarted, NULL);
                    runtime_unref(rt);
                }
            }
            sy->peer_boot = h->boot_id;
            sy->st_applied = sy->cn_applied = 0;
        }
        snprintf(sy->st.peer_node, sizeof(sy->st.peer_node), "%s", h->node);
        struct sync_msg w = { .type = SYNC_WELCOME };
        w.u.welcome.boot_id = sy->boot_id;
        w.u.welcome.sticky_seq = sy->st_applied;
        w.u.welcome.conn_seq = sy->cn_applied;
        snprintf(w.u.welcome.node, sizeof(w.u.welcome.node), "%s", sy->node);
        send_msg(l, &w);
        link_set_state(l, SYNC_LINK_UP);
        l->st.connects++;
        /* The peer is back: dial it now rather than when our backoff says,
         * so its table starts coming without waiting up to reconnect_max. */
        if (sy->out.st.state != SYNC_LINK_UP && sy->out.st.state != SYNC_LINK_HELLO) {
            if (sy->out.bev) {         /* a dial stuck on the peer's old life */
                bufferevent_free(sy->out.bev);
                sy->out.bev = NULL;
                link_set_state(&sy->out, SYNC_LINK_DOWN);
            }
            evtimer_del(sy->redial_ev);
            sy->redial_delay_ms = 0;
            dial(sy);
        }
        log_notice("sync: peer %s (%s) connected, %s; %s", h->node, l->addr, l->st.auth,
                   sy->st_applied || sy->cn_applied ? "resuming where it left off"
                                                    : "expecting its snapshot");
        return 0;
    }
    switch (m->type) {
    case SYNC_STICKY:
        if (sy->sticky)
            apply_sticky(sy, &m->u.sticky);
        break;
    case SYNC_CONN:
        if (sy->pc)
            peer_conns_apply(sy->pc, (enum conn_event_type)m->u.conn.type, &m->u.conn.info,
                             clock_mono_ms());
        sy->st.conns_recv++;
        if (m->u.conn.seq)
            sy->cn_applied = m->u.conn.seq;
        break;
    case SYNC_RL:
        apply_rl(sy, &m->u.rl);
        return 0;
    case SYNC_SNAP_BEGIN:
        if (m->u.snap.table == SYNC_TABLE_CONN && sy->pc)
            peer_conns_snapshot_begin(sy->pc, clock_mono_ms());
        return 0;
    case SYNC_SNAP_END:
        if (m->u.snap.table == SYNC_TABLE_STICKY) {
            sy->st_applied = m->u.snap.seq;
            sy->got_snap_sticky = 1;
        } else {
            sy->cn_applied = m->u.snap.seq;
            sy->got_snap_conn = 1;
        }
        sy->st.snapshots_recv++;
        send_ack(sy);
        return 0;
    case SYNC_HEARTBEAT: {
        const struct sync_heartbeat *hb = &m->u.hb;
        sy->npeer_held = hb->nvips;
        for (unsigned i = 0; i < hb->nvips; i++)
            memcpy(sy->peer_held[i], hb->vips[i], sizeof(sy->peer_held[i]));
        join_names(sy->st.peer_held, sizeof(sy->st.peer_held), sy->peer_held,
                   sy->npeer_held);
        refresh_held(sy);
        check_split_brain(sy);
        send_ack(sy);
        return 0;
    }
    case SYNC_BYE:
        log_notice("sync: peer %s closes its link: %s", peer_name(sy), m->u.bye.reason);
        return 1;
    default:
        return -1;
    }
    if (++sy->applied_since_ack >= ACK_EVERY)
        send_ack(sy);
    return 0;
}

/* A frame on the out link (the peer answers our stream). */
static int out_frame(struct sync *sy, struct sync_link *l, const struct sync_msg *m)
{
    if (l->st.state == SYNC_LINK_HELLO) {
        if (m->type != SYNC_WELCOME)
            return -1;
        const struct sync_welcome *w = &m->u.welcome;
        snprintf(sy->st.peer_node, sizeof(sy->st.peer_node), "%s", w->node);
        link_set_state(l, SYNC_LINK_UP);
        l->st.connects++;
        sy->redial_delay_ms = 0;
        sy->snap_st = sy->snap_cn = -1;
        sy->st_acked = w->sticky_seq;
        sy->cn_acked = w->conn_seq;
        sy->unacked_since_ms = 0;
        sy->rl_all = 1;
        /* Resume after what the peer has, if our feeds still hold the rest. */
        struct sticky_event probe_s;
        struct conn_event probe_c;
        int st_ok = sy->sticky && w->sticky_seq && w->sticky_seq <= sticky_feed_seq(sy->sticky) &&
                    sticky_feed_read(sy->sticky, w->sticky_seq, &probe_s, 1) >= 0;
        int cn_ok = sy->conns && w->conn_seq && w->conn_seq <= conntable_feed_seq(sy->conns) &&
                    conntable_feed_read(sy->conns, w->conn_seq, &probe_c, 1) >= 0;
        if (st_ok)
            sy->st_read = sy->st_sent = w->sticky_seq;
        if (cn_ok)
            sy->cn_read = sy->cn_sent = w->conn_seq;
        start_snapshots(sy, !st_ok, !cn_ok);
        log_notice("sync: connected to peer %s (%s), %s; sticky table: %s, connections: %s",
                   w->node, l->addr, l->st.auth, st_ok ? "resuming" : "snapshot",
                   cn_ok ? "resuming" : "snapshot");
        pump(sy);
        return 0;
    }
    switch (m->type) {
    case SYNC_ACK:
        if (m->u.ack.sticky_seq <= sy->st_sent)
            sy->st_acked = m->u.ack.sticky_seq;
        if (m->u.ack.conn_seq <= sy->cn_sent)
            sy->cn_acked = m->u.ack.conn_seq;
        sy->unacked_since_ms = (sy->st_acked >= sy->st_sent && sy->cn_acked >= sy->cn_sent)
                                   ? 0 : clock_mono_ms();
        return 0;
    case SYNC_HEARTBEAT:
        return 0;
    case SYNC_RESYNC:
        log_notice("sync: peer %s asks for a full resync", peer_name(sy));
        sy->st.resyncs++;
        start_snapshots(sy, m->u.resync.tables & (1u << SYNC_TABLE_STICKY),
                        m->u.resync.tables & (1u << SYNC_TABLE_CONN));
        sy->rl_all = 1;
        pump(sy);
        return 0;
    case SYNC_BYE:
        log_notice("sync: peer %s closes the link: %s", peer_name(sy), m->u.bye.reason);
        return 1;
    default:
        return -1;
    }
}

/* ------------------------------------------------------------ link I/O */

static void link_read_cb(struct bufferevent *bev, void *arg)
{
    struct sync_link *l = arg;
    struct sync *sy = l->sy;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t len = evbuffer_get_length(in);
        if (len < SYNC_HDR_LEN)
            return;
        uint8_t hdr[SYNC_HDR_LEN];
        evbuffer_copyout(in, hdr, sizeof(hdr));
        size_t flen = SYNC_HDR_LEN + ((size_t)hdr[4] << 24 | (size_t)hdr[5] << 16 |
                                      (size_t)hdr[6] << 8 | hdr[7]);
        if (flen > SYNC_FRAME_MAX)
            flen = SYNC_HDR_LEN;       /* the decoder refuses it */
        if (len < flen)
            return;
        struct sync_msg m;
        const char *err = NULL;
        unsigned char *p = evbuffer_pullup(in, (ssize_t)flen);
        int n = sync_decode(p, flen, &m, &err);
        if (n <= 0) {
            char why[200];
            snprintf(why, sizeof(why), "bad frame from the peer: %s",
                     err ? err : "truncated");
            log_warn("sync: %s (%s): closing the link", why, l->addr);
            if (l->bev)
                send_bye(l, "bad frame");
            link_close(l, why);
            return;
        }
        evbuffer_drain(in, (size_t)n);
        l->st.last_rx_ms = clock_mono_ms();
        int dir_in = l != &sy->out;
        int rc = dir_in ? in_frame(sy, l, &m) : out_frame(sy, l, &m);
        if (dir_in && l != &sy->in && sy->in.bev && m.type == SYNC_HELLO && rc == 0)
            l = &sy->in;               /* a pending link was promoted */
        if (rc != 0) {
            char why[160];
            snprintf(why, sizeof(why), rc > 0 ? "closed by the peer"
                                              : "unexpected %s message in state %s",
                     sync_type_name(m.type), sync_link_state_name(l->st.state));
            if (rc < 0) {
                log_warn("sync: %s (%s): closing the link", why, l->addr);
                send_bye(l, "protocol error");
            }
            link_close(l, why);
            return;
        }
    }
}

static void link_write_cb(struct bufferevent *bev, void *arg)
{
    struct sync_link *l = arg;
    (void)bev;
    if (l == &l->sy->out)
        pump(l->sy);
}

static void link_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct sync_link *l = arg;
    struct sync *sy = l->sy;
    char buf[160], why[400];
    if (what & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        if (sync_tls_check_peer(&sy->tls, ssl, buf, sizeof(buf)) < 0) {
            snprintf(why, sizeof(why), "peer %s refused: %s", l->addr, buf);
            log_err("sync: %s", why);
            stat_of(l)->failures++;
            link_close(l, why);
            return;
        }
        sync_tls_describe(&sy->tls, ssl, l->st.auth, sizeof(l->st.auth));
        link_set_state(l, SYNC_LINK_HELLO);
        if (l == &sy->out) {
            struct sync_msg m = { .type = SYNC_HELLO };
            m.u.hello.boot_id = sy->boot_id;
            snprintf(m.u.hello.node, sizeof(m.u.hello.node), "%s", sy->node);
            send_msg(l, &m);
        }
        return;
    }
    if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        int handshake = l->st.state == SYNC_LINK_CONNECTING;
        int serr = EVUTIL_SOCKET_ERROR();
        if (e && ERR_GET_LIB(e) != ERR_LIB_SSL) {
            e = 0;                     /* a socket error seen through OpenSSL */
            if (!serr)
                serr = ECONNRESET;
        }
        if (e) {
            ERR_error_string_n(e, buf, sizeof(buf));
        } else if (what & BEV_EVENT_EOF) {
            snprintf(buf, sizeof(buf), "connection closed");
        } else {
            snprintf(buf, sizeof(buf), "%s", serr ? evutil_socket_error_to_string(serr)
                                                  : "connection reset");
        }
        if (handshake && (e || l != &sy->out)) {
            snprintf(why, sizeof(why), "TLS handshake with %s failed: %s (%s)", l->addr, buf,
                     sy->tls.psk ? "is psk_file the same key on both boxes?"
                                 : "are both certificates signed by the configured ca?");
            log_err("sync: peer refused: %s", why);
        } else {
            snprintf(why, sizeof(why), "%s: %s", l->addr, buf);
            if (handshake)
                log_info("sync: dialing %s failed: %s", l->addr, buf);
        }
        if (handshake)
            stat_of(l)->failures++;
        link_close(l, why);
    }
}

static void link_callbacks(struct sync_link *l)
{
    bufferevent_setcb(l->bev, link_read_cb, link_write_cb, link_event_cb, l);
    bufferevent_setwatermark(l->bev, EV_WRITE, 0, 0);
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);
}

/* ------------------------------------------------------------ dial, accept */

static void dial(struct sync *sy)
{
    struct sync_link *l = &sy->out;
    if (l->bev || atomic_load(&sy->stopping))
        return;
    SSL *ssl = SSL_new(sy->tls.client);
    if (!ssl) {
        link_close(l, "out of memory");
        return;
    }
    l->bev = bufferevent_openssl_socket_new(sy->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (!l->bev) {
        SSL_free(ssl);
        link_close(l, "out of memory");
        return;
    }
    link_set_state(l, SYNC_LINK_CONNECTING);
    link_callbacks(l);
    const struct sockaddr *sa = (const struct sockaddr *)&sy->conf.peer.ss;
    if (bufferevent_socket_connect(l->bev, sa, (int)(sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in))) < 0) {
        l->st.failures++;
        link_close(l, "connect failed");
    }
}

static void redial_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    dial(arg);
}

static void schedule_redial(struct sync *sy)
{
    if (atomic_load(&sy->stopping))
        return;
    uint64_t d = sy->redial_delay_ms ? sy->redial_delay_ms * 2 : sy->conf.reconnect_min_ms;
    if (d > sy->conf.reconnect_max_ms)
        d = sy->conf.reconnect_max_ms;
    sy->redial_delay_ms = d;
    struct timeval tv = { (time_t)(d / 1000), (suseconds_t)(d % 1000) * 1000 };
    evtimer_add(sy->redial_ev, &tv);
}

static void accept_cb(struct evconnlistener *lst, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct sync *sy = arg;
    (void)lst, (void)salen;
    char addr[64];
    addr_format(sa, addr, sizeof(addr));
    unsigned slot = MAX_PENDING_IN;
    for (unsigned i = 0; i < MAX_PENDING_IN; i++)
        if (!sy->pending[i]) {
            slot = i;
            break;
        }
    struct sync_link *l = slot < MAX_PENDING_IN ? calloc(1, sizeof(*l)) : NULL;
    SSL *ssl = l ? SSL_new(sy->tls.server) : NULL;
    if (!ssl) {
        log_warn("sync: connection from %s refused: %s", addr,
                 slot == MAX_PENDING_IN ? "too many unauthenticated connections"
                                        : "out of memory");
        free(l);
        evutil_closesocket(fd);
        return;
    }
    l->sy = sy;
    l->dir = LINK_IN;
    snprintf(l->addr, sizeof(l->addr), "%s", addr);
    l->bev = bufferevent_openssl_socket_new(sy->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE);
    if (!l->bev) {
        SSL_free(ssl);
        evutil_closesocket(fd);
        free(l);
        return;
    }
    sy->pending[slot] = l;
    link_set_state(l, SYNC_LINK_CONNECTING);
    link_callbacks(l);
}

static int listen_socket(const struct sockaddr *sa, char *err, size_t errlen)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    char a[64];
    addr_format(sa, a, sizeof(a));
    if (fd < 0) {
        snprintf(err, errlen, "sync: listen %s: socket: %s", a, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
    else
        setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
    if (bind(fd, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) < 0 || listen(fd, 16) < 0) {
        snprintf(err, errlen, "sync: listen %s: %s", a, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------ timers */

static void publish(struct sync *sy)
{
    sy->st.out = sy->out.st;
    sy->st.in = sy->in.st;
    sy->st.sticky_acked = sy->st_acked;
    sy->st.conns_acked = sy->cn_acked;
    sy->st.sticky_applied = sy->st_applied;
    sy->st.conns_applied = sy->cn_applied;
    uint64_t lag = 0;
    if (sy->st_sent > sy->st_acked)
        lag += sy->st_sent - sy->st_acked;
    if (sy->cn_sent > sy->cn_acked)
        lag += sy->cn_sent - sy->cn_acked;
    sy->st.lag_events = lag;
    sy->st.lag_ms = lag && sy->unacked_since_ms ? clock_mono_ms() - sy->unacked_since_ms : 0;
    sy->st.sticky_entries = sy->sticky ? sticky_count(sy->sticky) : 0;
    sy->st.queue_bytes = sy->out.bev
        ? evbuffer_get_length(bufferevent_get_output(sy->out.bev)) : 0;
    if (sy->pc) {
        struct peer_conns_stats ps;
        peer_conns_stats(sy->pc, &ps);
        sy->st.peer_conns_open = ps.open;
        sy->st.peer_conns_recent = ps.recent;
    }
    pthread_mutex_lock(&sy->lock);
    sy->pub = sy->st;
    pthread_mutex_unlock(&sy->lock);
}

static void check_deadline(struct sync_link *l, uint64_t now)
{
    if (!l->bev)
        return;
    struct sync *sy = l->sy;
    char why[120];
    if ((l->st.state == SYNC_LINK_CONNECTING || l->st.state == SYNC_LINK_HELLO) &&
        now > l->state_deadline_ms) {
        snprintf(why, sizeof(why), "%s: no %s within %llu ms", l->addr,
                 l->st.state == SYNC_LINK_CONNECTING ? "connection" : "greeting",
                 (unsigned long long)(sy->conf.timeout_ms * 2));
        stat_of(l)->failures++;
        link_close(l, why);
    } else if (l->st.state == SYNC_LINK_UP && now - l->st.last_rx_ms > sy->conf.timeout_ms) {
        snprintf(why, sizeof(why), "nothing heard for %llu ms",
                 (unsigned long long)(now - l->st.last_rx_ms));
        link_close(l, why);
    }
}

/* Says BYE on both links and ends the loop shortly after. */
static void stop_now(struct sync *sy)
{
    if (sy->stop_sent)
        return;
    sy->stop_sent = 1;
    if (sy->out.bev && sy->out.st.state >= SYNC_LINK_HELLO)
        send_bye(&sy->out, "shutting down");
    if (sy->in.bev && sy->in.st.state >= SYNC_LINK_HELLO)
        send_bye(&sy->in, "shutting down");
    /* Let the byes go out, briefly. */
    if (sy->out.bev)
        bufferevent_flush(sy->out.bev, EV_WRITE, BEV_FLUSH);
    if (sy->in.bev)
        bufferevent_flush(sy->in.bev, EV_WRITE, BEV_FLUSH);
    struct timeval tv = { 0, 50000 };
    event_base_loopexit(sy->base, &tv);
}

/* The first tables from the peer after start (sync_ready). */
static void check_ready(struct sync *sy, uint64_t now)
{
    if (atomic_load_explicit(&sy->ready, memory_order_relaxed))
        return;
    uint64_t waited = now - sy->start_ms;
    const char *how = NULL;
    if (sy->got_snap_sticky && sy->got_snap_conn)
        how = "the peer's tables received";
    else if (sy->in.st.state != SYNC_LINK_UP && sy->out.st.state != SYNC_LINK_UP &&
             waited >= sy->conf.timeout_ms)
        how = "the peer cannot be reached";
    else if (waited >= sy->conf.ready_wait_ms)
        how = "ready_wait is over";
    if (!how)
        return;
    snprintf(sy->st.ready_how, sizeof(sy->st.ready_how), "%s", how);
    sy->st.ready = 1;
    sy->st.ready_ms = waited;
    atomic_store_explicit(&sy->ready, 1, memory_order_release);
    if (strcmp(how, "ready_wait is over") == 0)
        log_warn("sync: ready without the peer's whole tables after %llu ms (ready_wait); "
                 "clients bound through the peer may be rebalanced", (unsigned long long)waited);
    else
        log_notice("sync: ready %llu ms after start: %s (%u sticky entries)",
                   (unsigned long long)waited, how, sy->sticky ? sticky_count(sy->sticky) : 0);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sync *sy = arg;
    (void)fd, (void)what;
    uint64_t now = clock_mono_ms();
    check_ready(sy, now);
    check_deadline(&sy->out, now);
    check_deadline(&sy->in, now);
    for (unsigned i = 0; i < MAX_PENDING_IN; i++)
        if (sy->pending[i])
            check_deadline(sy->pending[i], now);
    pthread_mutex_lock(&sy->lock);
    int resync = sy->want_resync;
    if (resync > 0)
        sy->want_resync = 0;
    pthread_mutex_unlock(&sy->lock);
    if (resync < 0) {
        stop_now(sy);
        return;
    }
    if (resync) {
        if (sy->in.st.state == SYNC_LINK_UP) {
            struct sync_msg m = { .type = SYNC_RESYNC };
            m.u.resync.tables = 1u << SYNC_TABLE_STICKY | 1u << SYNC_TABLE_CONN;
            send_msg(&sy->in, &m);
        }
        if (sy->out.st.state == SYNC_LINK_UP) {
            sy->st.resyncs++;
            start_snapshots(sy, 1, 1);
            sy->rl_all = 1;
        }
        log_notice("sync: full resync requested by the operator");
    }
    pump(sy);
    publish(sy);
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sync *sy = arg;
    (void)fd, (void)what;
    refresh_held(sy);
    struct sync_msg m = { .type = SYNC_HEARTBEAT };
    m.u.hb.now_ms = clock_wall_ms();
    m.u.hb.sticky_seq = sy->sticky ? sticky_feed_seq(sy->sticky) : 0;
    m.u.hb.conn_seq = sy->conns ? conntable_feed_seq(sy->conns) : 0;
    m.u.hb.nvips = (uint8_t)sy->nheld;
    memcpy(m.u.hb.vips, sy->held, sizeof(sy->held[0]) * sy->nheld);
    if (sy->out.st.state == SYNC_LINK_UP)
        send_msg(&sy->out, &m);
    /* No ack here: the peer's heartbeat on the in link is acknowledged
     * when it arrives, once per interval. */
    if (sy->in.st.state == SYNC_LINK_UP)
        send_msg(&sy->in, &m);
    if (sy->pc)
        peer_conns_expire(sy->pc, clock_mono_ms());
}

struct count_arg {
    struct runtime *rt;
    int *counts;                       /* per server, flattened over backends */
};

static int *server_slot(struct count_arg *a, const char *backend, const char *server)
{
    unsigned base = 0;
    for (unsigned b = 0; b < a->rt->nbackends; b++) {
        struct backend *be = &a->rt->backends[b];
        if (strcmp(be->name, backend) == 0) {
            for (unsigned s = 0; s < be->nservers; s++)
                if (strcmp(be->servers[s]->name, server) == 0)
                    return &a->counts[base + s];
            return NULL;
        }
        base += be->nservers;
    }
    return NULL;
}

static void count_one(const char *backend, const char *server, unsigned n, void *arg)
{
    int *slot = server_slot(arg, backend, server);
    if (slot)
        *slot += (int)n;
}

/* Active-active: the peer's open connections per server, so leastconn and
 * maxconn count both boxes (server->peer_active). */
static void peer_counts(struct sync *sy, struct runtime *rt)
{
    if (!sy->pc || !rt)
        return;
    unsigned total = 0;
    for (unsigned b = 0; b < rt->nbackends; b++)
        total += rt->backends[b].nservers;
    int *counts = calloc(total ? total : 1, sizeof(int));
    if (!counts)
        return;
    struct count_arg a = { rt, counts };
    peer_conns_counts(sy->pc, count_one, &a);
    unsigned i = 0;
    for (unsigned b = 0; b < rt->nbackends; b++)
        for (unsigned s = 0; s < rt->backends[b].nservers; s++)
            atomic_store_explicit(&rt->backends[b].servers[s]->peer_active, counts[i++],
                                  memory_order_relaxed);
    free(counts);
}

static void rl_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sync *sy = arg;
    (void)fd, (void)what;
    struct runtime *rt = rt_get(sy);
    rl_round(sy, rt);
    peer_counts(sy, rt);
    if (rt)
        runtime_unref(rt);
}

static void *sync_main(void *arg)
{
    struct sync *sy = arg;
    dial(sy);
    event_base_dispatch(sy->base);
    return NULL;
}

/* ------------------------------------------------------------ public */

static struct event *periodic(struct sync *sy, uint64_t ms, event_callback_fn fn)
{
    struct event *ev = event_new(sy->base, -1, EV_PERSIST, fn, sy);
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    if (ev)
        event_add(ev, &tv);
    return ev;
}

static void sync_free(struct sync *sy)
{
    if (sy->out.bev)
        bufferevent_free(sy->out.bev);
    if (sy->in.bev)
        bufferevent_free(sy->in.bev);
    for (unsigned i = 0; i < MAX_PENDING_IN; i++)
        if (sy->pending[i]) {
            if (sy->pending[i]->bev)
                bufferevent_free(sy->pending[i]->bev);
            free(sy->pending[i]);
        }
    if (sy->listener)
        evconnlistener_free(sy->listener);
    struct event *evs[] = { sy->tick_ev, sy->hb_ev, sy->rl_ev, sy->redial_ev };
    for (unsigned i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (evs[i])
            event_free(evs[i]);
    if (sy->base)
        event_base_free(sy->base);
    sync_tls_free(&sy->tls);
    if (sy->rt)
        runtime_unref(sy->rt);
    pthread_mutex_destroy(&sy->lock);
    free(sy->vips);
    free(sy);
}

struct sync *sync_start(const struct sync_opts *o, struct runtime *rt, char *err,
                        size_t errlen)
{
    struct sync *sy = calloc(1, sizeof(*sy));
    if (!sy) {
        snprintf(err, errlen, "sync: out of memory");
        return NULL;
    }
    pthread_mutex_init(&sy->lock, NULL);
    sy->conf = *o->conf;
    sy->conf.psk_file = sy->conf.cert = sy->conf.key = sy->conf.ca = NULL;
    sy->conf.peer_name = NULL;
    snprintf(sy->node, sizeof(sy->node), "%s", o->node ? o->node : "tandem");
    sy->sticky = o->sticky;
    sy->conns = o->conns;
    sy->pc = o->peer_conns;
    sy->snap_st = sy->snap_cn = -1;
    sy->start_ms = clock_mono_ms();
    sy->out.sy = sy->in.sy = sy;
    sy->out.dir = LINK_OUT;
    sy->in.dir = LINK_IN;
    if (o->nvips && (sy->vips = calloc(o->nvips, sizeof(*sy->vips)))) {
        memcpy(sy->vips, o->vips, o->nvips * sizeof(*sy->vips));
        sy->nvips = o->nvips;
    }
    if (getrandom(&sy->boot_id, sizeof(sy->boot_id), 0) != (ssize_t)sizeof(sy->boot_id))
        sy->boot_id = clock_mono_us() ^ ((uint64_t)getpid() << 32);
    sy->boot_id |= 1;                  /* never 0 (= "unknown") */
    snprintf(sy->st.node, sizeof(sy->st.node), "%s", sy->node);
    addr_format((const struct sockaddr *)&sy->conf.listen.ss, sy->st.listen,
                sizeof(sy->st.listen));
    addr_format((const struct sockaddr *)&sy->conf.peer.ss, sy->st.peer_addr,
                sizeof(sy->st.peer_addr));
    snprintf(sy->out.addr, sizeof(sy->out.addr), "%s", sy->st.peer_addr);
    sy->st.queue_max = sy->conf.queue_bytes;
    if (sync_tls_init(&sy->tls, o->conf, err, errlen) < 0)
        goto fail;
    struct event_config *ec = event_config_new();
    if (ec) {
        event_config_set_flag(ec, EVENT_BASE_FLAG_NOLOCK);
        sy->base = event_base_new_with_config(ec);
        event_config_free(ec);
    }
    int fd = -1;
    if (!sy->base) {
        snprintf(err, errlen, "sync: cannot create an event base");
        goto fail;
    }
    if ((fd = listen_socket((const struct sockaddr *)&sy->conf.listen.ss, err, errlen)) < 0)
        goto fail;
    sy->listener = evconnlistener_new(sy->base, accept_cb, sy, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    sy->tick_ev = periodic(sy, TICK_MS, tick_cb);
    sy->hb_ev = periodic(sy, sy->conf.heartbeat_ms, heartbeat_cb);
    sy->rl_ev = periodic(sy, sy->conf.rl_interval_ms, rl_cb);
    sy->redial_ev = evtimer_new(sy->base, redial_cb, sy);
    if (!sy->listener || !sy->tick_ev || !sy->hb_ev || !sy->rl_ev || !sy->redial_ev) {
        if (!sy->listener)
            close(fd);
        snprintf(err, errlen, "sync: out of memory");
        goto fail;
    }
    if (rt) {
        runtime_ref(rt);
        sy->rt = rt;
    }
    refresh_held(sy);
    publish(sy);
    if (pthread_create(&sy->thread, NULL, sync_main, sy) != 0) {
        snprintf(err, errlen, "sync: cannot start the thread");
        goto fail;
    }
    log_notice("sync: listening on %s, peer %s, %s", sy->st.listen, sy->st.peer_addr,
               sy->tls.psk ? "pre-shared key" : "mutual certificates");
    return sy;
fail:
    sync_free(sy);
    return NULL;
}

void sync_stop(struct sync *sy)
{
    if (!sy)
        return;
    atomic_store(&sy->stopping, 1);
    /* The base has no locks: hand the stop to the thread through a timer
     * that the tick already polls for. */
    pthread_mutex_lock(&sy->lock);
    sy->want_resync = -1;
    pthread_mutex_unlock(&sy->lock);
    pthread_join(sy->thread, NULL);
    sync_free(sy);
}

void sync_set_runtime(struct sync *sy, struct runtime *rt)
{
    if (!sy)
        return;
    runtime_ref(rt);
    pthread_mutex_lock(&sy->lock);
    struct runtime *old = sy->rt;
    sy->rt = rt;
    pthread_mutex_unlock(&sy->lock);
    if (old)
        runtime_unref(old);
}

void sync_request_resync(struct sync *sy)
{
    if (!sy)
        return;
    pthread_mutex_lock(&sy->lock);
    if (sy->want_resync >= 0)
        sy->want_resync = 1;
    pthread_mutex_unlock(&sy->lock);
}

int sync_ready(struct sync *sy)
{
    return !sy || atomic_load_explicit(&sy->ready, memory_order_acquire);
}

void sync_get_status(struct sync *sy, struct sync_status *st)
{
    pthread_mutex_lock(&sy->lock);
    *st = sy->pub;
    pthread_mutex_unlock(&sy->lock);
}
