/* udp_proxy.c - mode udp: datagrams from clients are forwarded to a
 * server chosen once per flow; the server's replies go back to the client
 * from the address the client wrote to.
 *
 * A flow is (client address, local address). Each flow has its own
 * connected UDP socket to its server, so the kernel sorts replies per flow
 * and an ICMP error reaches only the flow it concerns. Replies leave
 * through the frontend socket with IP_PKTINFO / IPV6_PKTINFO naming the
 * local address the client used: a wildcard bind still answers from the
 * VIP, which the client's own connected socket (or NAT) requires.
 *
 * Flows end after udp.flow_timeout of silence in both directions. The
 * table is bounded by udp.max_flows per worker thread and per bind; when
 * it is full the least recently used flow is evicted. server->active and
 * the frontend's active count flows. The PROXY protocol does not apply.
 *
 * Termination codes in the access log: "--" idle timeout (the normal end
 * of a flow), "PE" evicted from a full table, "SD" its server left UP (the
 * next datagram picks again), "KD" the frontend socket was closed (reload
 * without this bind, or shutdown). */
#include "config.h"
#include "worker.h"
#include "udp_flow.h"
#include "tables.h"
#include "accesslog.h"
#include "addr.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UDP_DGRAM_MAX 65536      /* largest UDP payload fits (65507 / 65527) */
#define UDP_BATCH 8              /* datagrams per recvmmsg */
#define UDP_ROUNDS 4             /* recvmmsg calls per wake-up, for fairness */
#define UDP_REPLY_ROUNDS 32      /* replies relayed per wake-up of a flow */

union udp_ctl {
    char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct in_pktinfo))];
    struct cmsghdr align;
};

/* recvmmsg buffers (512 KiB), shared by every udp socket of a worker:
 * they are only used inside callbacks, which run one at a time on the
 * worker's thread. Replies use them too. */
struct udp_batch {
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    struct sockaddr_storage names[UDP_BATCH];
    union udp_ctl ctl[UDP_BATCH];
    uint8_t data[UDP_BATCH][UDP_DGRAM_MAX];
};

struct udp_frontend {
    struct worker *w;
    struct frontend_rt *fe;
    struct runtime *rt;          /* referenced; new flows use it */
    int fd;
    struct sockaddr_storage bound;   /* the bind address and port */
    struct event *ev;
    struct event *sweep;
    struct udp_flowtab tab;
    struct udp_batch *batch;     /* the worker's, see udp_batch_get */
};

struct udp_pflow {
    struct udp_flow f;           /* key, LRU position (udp_flow.c) */
    struct udp_frontend *uf;
    struct runtime *rt;          /* referenced: srv and fe live in it */
    struct frontend_rt *fe;
    struct backend *be;
    struct server *srv;
    int sfd;                     /* connected to srv */
    struct event *ev;
    struct sockaddr_storage client;
    socklen_t client_len;
    struct sockaddr_storage local;   /* where the client wrote to */
    int has_local;               /* local came from IP(V6)_PKTINFO */
    int ifindex;
    uint64_t start_ms;
    uint64_t bytes_in, bytes_out;
    struct conn_entry *conn;     /* in the connection table */
};

/* Batches by worker. Attach and detach run on the worker's thread, or on
 * the main thread while workers start and after they stop, so a
 * thread-local would not do; a lock taken only then costs nothing. */
struct udp_shared_batch {
    const struct worker *w;
    struct udp_batch *batch;
    unsigned users;
    struct udp_shared_batch *next;
};
static struct udp_shared_batch *udp_batches;
static pthread_mutex_t udp_batches_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread struct log_ratelimit udp_rl_evict, udp_rl_noserver, udp_rl_socket, udp_rl_io;

static struct udp_pflow *udp_pflow_of(struct udp_flow *f)
{
    return (struct udp_pflow *)((char *)f - offsetof(struct udp_pflow, f));
}

static void udp_count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- flow life ---- */

static void udp_flow_log(const struct udp_pflow *pf, const char *term)
{
    struct accesslog_entry e = {
        .client = (const struct sockaddr *)&pf->client,
        .frontend = pf->fe->conf->name,
        .backend = pf->be->name,
        .server = pf->srv->name,
        .status = 0,
        .bytes_in = pf->bytes_in,
        .bytes_out = pf->bytes_out,
        .t_request = -1,
        .t_queue = -1,
        .t_connect = -1,
        .t_response = -1,
        .t_total = (int64_t)(clock_mono_ms() - pf->start_ms),
        .termination = term,
    };

    if (pf->fe->conf->access_log && accesslog_enabled())
        accesslog_write(&e);
}

static void udp_flow_end(struct udp_pflow *pf, const char *term)
{
    udp_flow_log(pf, term);
    tables_conn_close(pf->conn, pf->bytes_in, pf->bytes_out);
    udp_flowtab_remove(&pf->uf->tab, &pf->f);
    event_free(pf->ev);
    close(pf->sfd);
    atomic_fetch_sub(&pf->srv->active, 1);
    atomic_fetch_sub(&pf->fe->active, 1);
    runtime_unref(pf->rt);
    free(pf);
}

static void udp_sweep_arm(struct udp_frontend *uf)
{
    uint64_t at = udp_flowtab_next_expiry(&uf->tab), now = clock_mono_ms();
    uint64_t ms = (at > now ? at - now : 0) + 1;    /* +1: fire after, not just before */
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

    if (at == UINT64_MAX)
        return;
    event_add(uf->sweep, &tv);
}

/* Flows expire from the LRU head; activity only moves a flow to the tail,
 * so one timer per socket serves the whole table. */
static void udp_on_sweep(evutil_socket_t fd, short what, void *arg)
{
    struct udp_frontend *uf = arg;
    uint64_t now = clock_mono_ms();
    struct udp_flow *f;
    (void)fd; (void)what;

    while ((f = udp_flowtab_expired(&uf->tab, now)) != NULL)
        udp_flow_end(udp_pflow_of(f), "--");
    udp_sweep_arm(uf);
}

/* ---- replies: server -> client ---- */

/* Names the source address of a reply: the local address the client's
 * datagram arrived on. */
static socklen_t udp_reply_ctl(const struct udp_pflow *pf, union udp_ctl *ctl)
{
    struct cmsghdr *c = &ctl->align;
    int v6sock = pf->uf->bound.ss_family == AF_INET6;

    memset(ctl, 0, sizeof(*ctl));
    if (!pf->has_local)
        return 0;
    if (v6sock && pf->local.ss_family == AF_INET6) {
        struct in6_pktinfo pi = { 0 };
        const struct sockaddr_in6 *l = (const struct sockaddr_in6 *)&pf->local;
        pi.ipi6_addr = l->sin6_addr;
        if (IN6_IS_ADDR_LINKLOCAL(&l->sin6_addr))
            pi.ipi6_ifindex = (unsigned)pf->ifindex;
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        return CMSG_SPACE(sizeof(pi));
    }
    if (!v6sock && pf->local.ss_family == AF_INET) {
        struct in_pktinfo pi = { 0 };
        pi.ipi_spec_dst = ((const struct sockaddr_in *)&pf->local)->sin_addr;
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        return CMSG_SPACE(sizeof(pi));
    }
    return 0;
}

static void udp_reply(struct udp_pflow *pf, uint8_t *data, size_t len)
{
    char cbuf[ADDR_STRLEN];
    union udp_ctl ctl;
    struct iovec iov = { data, len };
    struct msghdr mh = {
        .msg_name = &pf->client, .msg_namelen = pf->client_len,
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = &ctl, .msg_controllen = 0,
    };

    mh.msg_controllen = udp_reply_ctl(pf, &ctl);
    if (mh.msg_controllen == 0)
        mh.msg_control = NULL;
    if (sendmsg(pf->uf->fd, &mh, MSG_DONTWAIT) < 0) {
        log_limited(&udp_rl_io, 10, 10, LOG_LVL_WARN,
                    "frontend \"%s\": reply to %s dropped: %s", pf->fe->conf->name,
                    addr_format((const struct sockaddr *)&pf->client, cbuf, sizeof(cbuf)),
                    strerror(errno));
        return;
    }
    pf->bytes_out += len;
    tables_conn_bytes(pf->conn, 0, len);
    udp_count(&pf->fe->stats.bytes_out, len);
    udp_count(&pf->srv->stats.bytes_in, len);
}

static void udp_on_server(evutil_socket_t fd, short what, void *arg)
{
    struct udp_pflow *pf = arg;
    uint8_t *buf = pf->uf->batch->data[0];
    int moved = 0;
    ssize_t n;
    (void)what;

    for (int i = 0; i < UDP_REPLY_ROUNDS; i++) {
        n = recv(fd, buf, UDP_DGRAM_MAX, MSG_DONTWAIT);
        if (n < 0 && errno == ECONNREFUSED) {
            /* ICMP port unreachable from the server: the datagram before
             * was lost. Passive checks may act on connect_errors. */
            udp_count(&pf->srv->stats.connect_errors, 1);
            continue;
        }
        if (n < 0)
            break;
        udp_reply(pf, buf, (size_t)n);
        moved = 1;
    }
    if (moved)
        udp_flowtab_touch(&pf->uf->tab, &pf->f, clock_mono_ms());
}

/* ---- requests: client -> server ---- */

static void udp_forward(struct udp_pflow *pf, const uint8_t *data, size_t len)
{
    ssize_t n = send(pf->sfd, data, len, MSG_DONTWAIT);

    /* A pending ICMP error is reported by this send instead of sending:
     * the error is consumed, so one retry sends the datagram. */
    if (n < 0 && errno == ECONNREFUSED) {
        udp_count(&pf->srv->stats.connect_errors, 1);
        n = send(pf->sfd, data, len, MSG_DONTWAIT);
    }
    if (n < 0) {
        log_limited(&udp_rl_io, 10, 10, LOG_LVL_WARN,
                    "frontend \"%s\": datagram to %s/%s dropped: %s", pf->fe->conf->name,
                    pf->be->name, pf->srv->name, strerror(errno));
        return;
    }
    pf->bytes_in += len;
    tables_conn_bytes(pf->conn, len, 0);
    udp_count(&pf->fe->stats.bytes_in, len);
    udp_count(&pf->srv->stats.bytes_out, len);
}

static struct server *udp_pick(struct udp_frontend *uf, struct backend *be,
                               const struct sockaddr *client, const struct sockaddr *local,
                               enum lb_result *why)
{
    struct balancer *b = worker_balancer(uf->w, uf->rt, be->index);
    const void *key = NULL;
    size_t keylen = 0;
    struct server *srv;

    if (!b) {
        *why = LB_NONE_UP;
        return NULL;
    }
    /* A flow the peer box was carrying before a failover keeps its server. */
    if ((srv = tables_peer_server(be, CONN_UDP, uf->fe->conf->name, client, local)) != NULL)
        return srv;
    if (be->algo != LB_HASH || be->hash_key.kind == HASH_KEY_SOURCE)
        key = addr_ip_bytes(client, &keylen);
    return balancer_pick(b, key, keylen, NULL, clock_mono_ms(), why);
}

/* Ends the least recently used flow so a new client can have its slot
 * (or its descriptor). Returns 0, or -1 if there is no flow. */
static int udp_evict_oldest(struct udp_frontend *uf, const struct sockaddr *client,
                            const char *why)
{
    char cbuf[ADDR_STRLEN];
    struct udp_flow *victim = udp_flowtab_oldest(&uf->tab);

    if (!victim)
        return -1;
    log_limited(&udp_rl_evict, 5, 10, LOG_LVL_WARN,
                "frontend \"%s\": %s (%u flows), evicting the least recently used flow "
                "for new client %s", uf->fe->conf->name, why, uf->tab.count,
                addr_format(client, cbuf, sizeof(cbuf)));
    udp_flow_end(udp_pflow_of(victim), "PE");
    return 0;
}

/* Makes room for one more flow. Returns -1 only when max_flows is 0. */
static int udp_make_room(struct udp_frontend *uf, const struct sockaddr *client)
{
    while (udp_flowtab_full(&uf->tab))
        if (udp_evict_oldest(uf, client, "flow table full") < 0)
            return -1;
    return 0;
}

/* A connected socket to the server: replies are matched to the flow by
 * the kernel. Returns the fd, or -1. */
static int udp_server_socket(const struct server *srv)
{
    int fd = socket(srv->addr.ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&srv->addr.ss, srv->addr.len) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* Everything of a new flow except its socket, event and server. */
static struct udp_pflow *udp_pflow_alloc(struct udp_frontend *uf, const struct udp_flow_key *k,
                                         const struct msghdr *mh,
                                         const struct sockaddr_storage *local, int has_local,
                                         int ifindex)
{
    struct udp_pflow *pf = calloc(1, sizeof(*pf));

    if (!pf)
        return NULL;
    pf->f.key = *k;
    pf->uf = uf;
    pf->rt = uf->rt;
    pf->fe = uf->fe;
    pf->sfd = -1;
    memcpy(&pf->client, mh->msg_name, mh->msg_namelen);
    pf->client_len = mh->msg_namelen;
    pf->local = *local;
    pf->has_local = has_local;
    pf->ifindex = ifindex;
    pf->start_ms = clock_mono_ms();
    return pf;
}

static int udp_pflow_connect(struct udp_pflow *pf, struct server *srv)
{
    char sbuf[ADDR_STRLEN], cbuf[ADDR_STRLEN];

    pf->sfd = udp_server_socket(srv);
    /* Out of descriptors: an idle flow gives its socket up to a new client
     * rather than the new client being refused until flows expire. */
    if (pf->sfd < 0 && (errno == EMFILE || errno == ENFILE) &&
        udp_evict_oldest(pf->uf, (const struct sockaddr *)&pf->client,
                         "out of file descriptors") == 0)
        pf->sfd = udp_server_socket(srv);
    if (pf->sfd >= 0)
        pf->ev = event_new(pf->uf->w->base, pf->sfd, EV_READ | EV_PERSIST, udp_on_server, pf);
    if (pf->sfd < 0 || !pf->ev || event_add(pf->ev, NULL) < 0) {
        log_limited(&udp_rl_socket, 5, 10, LOG_LVL_ERR,
                    "frontend \"%s\": cannot open a flow to %s/%s (%s) for %s: %s",
                    pf->fe->conf->name, srv->backend->name, srv->name,
                    addr_format((const struct sockaddr *)&srv->addr.ss, sbuf, sizeof(sbuf)),
                    addr_format((const struct sockaddr *)&pf->client, cbuf, sizeof(cbuf)),
                    strerror(errno));
        if (pf->ev)
            event_free(pf->ev);
        if (pf->sfd >= 0)
            close(pf->sfd);
        pf->ev = NULL;
        pf->sfd = -1;
        return -1;
    }
    return 0;
}

static struct udp_pflow *udp_flow_new(struct udp_frontend *uf, const struct udp_flow_key *k,
                                      const struct msghdr *mh,
                                      const struct sockaddr_storage *local, int has_local,
                                      int ifindex)
{
    const struct sockaddr *client = mh->msg_name;
    int bi = uf->fe->conf->default_backend_index;
    enum lb_result why = LB_OK;
    char cbuf[ADDR_STRLEN];
    struct udp_pflow *pf;
    struct server *srv;

    if (bi < 0 || (unsigned)bi >= uf->rt->nbackends || udp_make_room(uf, client) < 0)
        return NULL;
    srv = udp_pick(uf, &uf->rt->backends[bi], client,
                   (const struct sockaddr *)(has_local ? local : &uf->bound), &why);
    if (!srv) {
        log_limited(&udp_rl_noserver, 10, 10, LOG_LVL_WARN,
                    "frontend \"%s\": datagram from %s dropped: backend \"%s\" has %s",
                    uf->fe->conf->name, addr_format(client, cbuf, sizeof(cbuf)),
                    uf->rt->backends[bi].name,
                    why == LB_ALL_FULL ? "all servers at maxconn" : "no server up with weight > 0");
        return NULL;
    }
    pf = udp_pflow_alloc(uf, k, mh, local, has_local, ifindex);
    if (!pf)
        return NULL;
    pf->be = &uf->rt->backends[bi];
    pf->srv = srv;
    if (udp_pflow_connect(pf, srv) < 0 ||
        udp_flowtab_insert(&uf->tab, &pf->f, clock_mono_ms()) < 0) {
        if (pf->ev)
            event_free(pf->ev);
        if (pf->sfd >= 0)
            close(pf->sfd);
        free(pf);
        return NULL;
    }
    runtime_ref(pf->rt);
    atomic_fetch_add(&srv->active, 1);
    atomic_fetch_add(&pf->fe->active, 1);
    udp_count(&srv->stats.conns_total, 1);
    udp_count(&pf->fe->stats.conns_total, 1);
    pf->conn = tables_conn_open(uf->w, CONN_UDP, pf->fe->conf->name, &pf->client,
                                has_local ? local : &uf->bound);
    tables_conn_server(pf->conn, srv);
    if (!evtimer_pending(uf->sweep, NULL))
        udp_sweep_arm(uf);
    return pf;
}

static void udp_sockaddr_fill(struct sockaddr_storage *ss, int family, const void *ip,
                              uint16_t port)
{
    memset(ss, 0, sizeof(*ss));
    ss->ss_family = (sa_family_t)family;
    if (family == AF_INET) {
        memcpy(&((struct sockaddr_in *)ss)->sin_addr, ip, 4);
        ((struct sockaddr_in *)ss)->sin_port = port;
    } else {
        memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, ip, 16);
        ((struct sockaddr_in6 *)ss)->sin6_port = port;
    }
}

/* The local address the datagram was sent to, from IP(V6)_PKTINFO, with
 * the bound port. Returns 1 if found, else 0 (local = the bind address). */
static int udp_local_addr(const struct udp_frontend *uf, struct msghdr *mh,
                          struct sockaddr_storage *local, int *ifindex)
{
    uint16_t port = htons(addr_port((const struct sockaddr *)&uf->bound));
    struct in6_pktinfo pi6;
    struct in_pktinfo pi4;

    *local = uf->bound;
    *ifindex = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
            uf->bound.ss_family == AF_INET) {
            memcpy(&pi4, CMSG_DATA(c), sizeof(pi4));
            udp_sockaddr_fill(local, AF_INET, &pi4.ipi_addr, port);
            *ifindex = pi4.ipi_ifindex;
            return 1;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            memcpy(&pi6, CMSG_DATA(c), sizeof(pi6));
            udp_sockaddr_fill(local, AF_INET6, &pi6.ipi6_addr, port);
            *ifindex = (int)pi6.ipi6_ifindex;
            return 1;
        }
    }
    return 0;
}

/* A server that is DOWN or in MAINT gets no more datagrams; DRAIN keeps
 * its flows, as it keeps sticky clients. */
static int udp_server_gone(const struct server *srv)
{
    int st = atomic_load_explicit(&srv->state, memory_order_relaxed);
    return st == SRV_DOWN || st == SRV_MAINT;
}

static void udp_datagram(struct udp_frontend *uf, struct mmsghdr *m, uint8_t *data)
{
    struct msghdr *mh = &m->msg_hdr;
    struct sockaddr_storage local;
    struct udp_flow_key key;
    struct udp_flow *f;
    struct udp_pflow *pf;
    int ifindex, has_local;

    if (mh->msg_flags & MSG_TRUNC)
        return;                        /* cannot happen with a 64 KiB buffer */
    has_local = udp_local_addr(uf, mh, &local, &ifindex);
    if (udp_flow_key_make(&key, mh->msg_name, (const struct sockaddr *)&local, 0) < 0)
        return;
    f = udp_flowtab_find(&uf->tab, &key);
    pf = f ? udp_pflow_of(f) : NULL;
    if (pf && udp_server_gone(pf->srv)) {
        udp_flow_end(pf, "SD");
        pf = NULL;
    }
    if (pf)
        udp_flowtab_touch(&uf->tab, &pf->f, clock_mono_ms());
    else
        pf = udp_flow_new(uf, &key, mh, &local, has_local, ifindex);
    if (pf)
        udp_forward(pf, data, m->msg_len);
}

static void udp_batch_reset(struct udp_batch *b)
{
    for (int i = 0; i < UDP_BATCH; i++) {
        struct msghdr *mh = &b->msgs[i].msg_hdr;
        b->iov[i].iov_base = b->data[i];
        b->iov[i].iov_len = UDP_DGRAM_MAX;
        memset(mh, 0, sizeof(*mh));
        mh->msg_name = &b->names[i];
        mh->msg_namelen = sizeof(b->names[i]);
        mh->msg_iov = &b->iov[i];
        mh->msg_iovlen = 1;
        mh->msg_control = &b->ctl[i];
        mh->msg_controllen = sizeof(b->ctl[i]);
    }
}

static void udp_on_frontend(evutil_socket_t fd, short what, void *arg)
{
    struct udp_frontend *uf = arg;
    struct udp_batch *b = uf->batch;
    int n;
    (void)what;

    for (int round = 0; round < UDP_ROUNDS; round++) {
        udp_batch_reset(b);
        n = recvmmsg(fd, b->msgs, UDP_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            log_limited(&udp_rl_io, 10, 10, LOG_LVL_WARN, "frontend \"%s\": recvmmsg: %s",
                        uf->fe->conf->name, strerror(errno));
        if (n <= 0)
            return;
        for (int i = 0; i < n; i++)
            udp_datagram(uf, &b->msgs[i], b->data[i]);
        if (n < UDP_BATCH)
            return;
    }
}

/* ---- the frontend socket ---- */

/* Asks the kernel for each datagram's destination address, so replies can
 * leave from it. */
static void udp_enable_pktinfo(struct udp_frontend *uf)
{
    int one = 1, r;

    if (uf->bound.ss_family == AF_INET6)
        r = setsockopt(uf->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
    else
        r = setsockopt(uf->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
    if (r < 0)
        log_warn("frontend \"%s\": cannot enable packet info (%s): replies will leave "
                 "from the routing table's source address", uf->fe->conf->name,
                 strerror(errno));
}

static struct udp_batch *udp_batch_get(const struct worker *w)
{
    struct udp_shared_batch *sb;
    struct udp_batch *b = NULL;

    pthread_mutex_lock(&udp_batches_lock);
    for (sb = udp_batches; sb && sb->w != w; sb = sb->next)
        ;
    if (!sb && (sb = calloc(1, sizeof(*sb))) != NULL) {
        sb->w = w;
        sb->batch = malloc(sizeof(*sb->batch));
        if (sb->batch) {
            sb->next = udp_batches;
            udp_batches = sb;
        } else {
            free(sb);
            sb = NULL;
        }
    }
    if (sb) {
        sb->users++;
        b = sb->batch;
    }
    pthread_mutex_unlock(&udp_batches_lock);
    return b;
}

static void udp_batch_put(const struct worker *w)
{
    struct udp_shared_batch **pp, *sb;

    pthread_mutex_lock(&udp_batches_lock);
    for (pp = &udp_batches; *pp && (*pp)->w != w; pp = &(*pp)->next)
        ;
    sb = *pp;
    if (sb && --sb->users == 0) {
        *pp = sb->next;
        free(sb->batch);
        free(sb);
    }
    pthread_mutex_unlock(&udp_batches_lock);
}

static void udp_frontend_free(struct udp_frontend *uf)
{
    if (uf->ev)
        event_free(uf->ev);
    if (uf->sweep)
        event_free(uf->sweep);
    if (uf->rt)
        runtime_unref(uf->rt);
    if (uf->batch)
        udp_batch_put(uf->w);
    free(uf);
}

struct udp_frontend *udp_frontend_attach(struct worker *w, struct frontend_rt *fe, int fd)
{
    struct udp_frontend *uf = calloc(1, sizeof(*uf));
    socklen_t len = sizeof(struct sockaddr_storage);

    if (!uf)
        return NULL;
    uf->w = w;
    uf->fe = fe;
    uf->fd = fd;
    uf->rt = w->rt;
    runtime_ref(uf->rt);
    if (getsockname(fd, (struct sockaddr *)&uf->bound, &len) < 0) {
        log_err("frontend \"%s\": getsockname: %s", fe->conf->name, strerror(errno));
        udp_frontend_free(uf);
        return NULL;
    }
    udp_enable_pktinfo(uf);
    udp_flowtab_init(&uf->tab, fe->conf->udp_max_flows, fe->conf->udp_flow_timeout_ms,
                     worker_random(w));
    uf->batch = udp_batch_get(w);
    uf->ev = event_new(w->base, fd, EV_READ | EV_PERSIST, udp_on_frontend, uf);
    uf->sweep = evtimer_new(w->base, udp_on_sweep, uf);
    if (!uf->batch || !uf->ev || !uf->sweep || event_add(uf->ev, NULL) < 0) {
        log_err("frontend \"%s\": out of memory attaching a udp socket", fe->conf->name);
        udp_frontend_free(uf);          /* the caller closes fd */
        return NULL;
    }
    return uf;
}

void udp_frontend_detach(struct udp_frontend *uf)
{
    struct udp_flow *f;

    /* Flows reply through this socket: they cannot outlive it. */
    event_del(uf->ev);
    while ((f = udp_flowtab_oldest(&uf->tab)) != NULL)
        udp_flow_end(udp_pflow_of(f), "KD");
    udp_flowtab_clear(&uf->tab);
    close(uf->fd);
    udp_frontend_free(uf);
}

void udp_frontend_rebind(struct udp_frontend *uf, struct frontend_rt *fe)
{
    /* The worker switches w->rt before re-pointing its listeners; flows
     * already open keep their own runtime, frontend and server. */
    runtime_ref(uf->w->rt);
    runtime_unref(uf->rt);
    uf->rt = uf->w->rt;
    uf->fe = fe;
    if (fe < uf->rt->frontends || fe >= uf->rt->frontends + uf->rt->nfrontends)
        log_warn("frontend \"%s\": rebound to a frontend outside the worker's runtime",
                 fe->conf->name);
    uf->tab.max = fe->conf->udp_max_flows;
    uf->tab.timeout_ms = fe->conf->udp_flow_timeout_ms;
    event_del(uf->sweep);
    udp_sweep_arm(uf);
}
