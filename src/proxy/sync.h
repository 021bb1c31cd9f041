/* sync.h - the peer sync channel (docs/sync.md): one thread with its own
 * event base that replicates this box's sticky table, connection table
 * and rate-limit counters to the peer box's tandem-proxy, and applies the
 * peer's.
 *
 * Each box dials the other over TCP + TLS 1.3 (sync_tls.h): the connection
 * we dial carries our tables out (we are its sender), the one the peer
 * dials carries the peer's in. Messages are sync_wire.h frames. A sender
 * starts with snapshots (or resumes after what the receiver acknowledged),
 * then streams the tables' change feeds; its output is bounded by
 * queue_size: past it, it stops reading the feeds, and a feed that
 * overflows meanwhile costs a fresh snapshot, never memory or a blocked
 * worker. Heartbeats both ways double as a second liveness path between
 * the boxes: they carry the VRRP instances whose VIPs each box holds, so
 * two masters of one instance are seen (split brain) while VRRP itself is
 * cut. */
#ifndef TANDEM_SYNC_H
#define TANDEM_SYNC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "conf.h"

struct sync;
struct runtime;
struct sticky_table;
struct conntable;
struct peer_conns;

/* A VIP of a VRRP instance (from the config's vrrp section), for split-
 * brain detection: the instance is "held" while one of its VIPs is on one
 * of this box's interfaces. */
struct sync_vip {
    char instance[65];
    struct sockaddr_storage addr;
};

struct sync_opts {
    const struct conf_sync *conf;      /* copied */
    const char *node;                  /* this box's node name */
    struct sticky_table *sticky;       /* the tables replicated (not owned) */
    struct conntable *conns;
    struct peer_conns *peer_conns;     /* where the peer's connections go (not owned) */
    const struct sync_vip *vips;       /* copied; may be NULL */
    unsigned nvips;
};

/* Starts the thread: binds the listener (IP_FREEBIND) and dials the peer.
 * rt (may be NULL in tests) gives the rate limits and servers; the sync
 * thread holds a reference. Returns NULL with a message in err (a key or
 * certificate problem, the listen address taken). */
struct sync *sync_start(const struct sync_opts *o, struct runtime *rt, char *err,
                        size_t errlen);
/* Says BYE to the peer, stops the thread, frees everything. */
void sync_stop(struct sync *sy);
/* A reload: the rate limits and servers of rt from now on. */
void sync_set_runtime(struct sync *sy, struct runtime *rt);
/* Asks the peer for full snapshots of its tables and sends ours again. */
void sync_request_resync(struct sync *sy);

enum sync_link_state {
    SYNC_LINK_DOWN = 0,                /* waiting to redial / for the peer to dial */
    SYNC_LINK_CONNECTING,              /* TCP connect or TLS handshake */
    SYNC_LINK_HELLO,                   /* authenticated, greeting */
    SYNC_LINK_UP,                      /* replicating */
};

struct sync_link_status {
    enum sync_link_state state;
    uint64_t since_ms;                 /* monotonic, when it entered state */
    uint64_t last_rx_ms;               /* monotonic, last frame from the peer; 0 never */
    uint64_t connects, failures;       /* links made; dials or handshakes that failed */
    char auth[96];                     /* "psk TLS_AES_128_GCM_SHA256", "" */
    char last_error[160];
};

struct sync_status {
    char node[65], peer_node[65];
    char listen[64], peer_addr[64];
    struct sync_link_status out;       /* we dial, we send */
    struct sync_link_status in;        /* the peer dials, we receive */
    /* sending */
    uint64_t sticky_sent, conns_sent, rl_sent;
    uint64_t snapshots_sent;           /* full snapshots (first connect included) */
    uint64_t resyncs;                  /* snapshots forced: feed overflow or a peer's request */
    uint64_t lag_events;               /* sent, not yet acknowledged */
    uint64_t lag_ms;                   /* how long the oldest of those has waited */
    uint64_t queue_bytes, queue_max;
    uint64_t sticky_acked, conns_acked;
    /* receiving */
    uint64_t sticky_recv, conns_recv, rl_recv;
    uint64_t snapshots_recv;
    uint64_t sticky_applied, conns_applied;   /* the peer's sequence numbers */
    unsigned peer_conns_open, peer_conns_recent;
    unsigned sticky_entries;           /* our sticky table, learned entries included */
    /* VRRP view */
    char held[256];                    /* our instances holding VIPs, "web,api" */
    char peer_held[256];
    char split_brain[256];             /* instances both hold, "" none */
    int ready;                         /* sync_ready() */
    uint64_t ready_ms;                 /* how long after start it became ready */
    char ready_how[64];                /* "snapshots received", "peer unreachable", ... */
    uint64_t split_brain_since_ms;
};

void sync_get_status(struct sync *sy, struct sync_status *st);

/* 1 once the proxy may take traffic as far as the tables go: the peer's
 * snapshots have arrived since start, or the peer cannot be reached
 * (nothing within `timeout`), or `ready_wait` has passed. Until then the
 * status socket answers "ping" with "syncing ..." instead of "pong", so a
 * tandem-vrrp tracking the proxy does not take (or preempt) the VIP with
 * an empty sticky table. */
int sync_ready(struct sync *sy);
const char *sync_link_state_name(enum sync_link_state s);

#endif
