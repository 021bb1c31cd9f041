/* server.h - runtime state of backends and servers, shared by all worker
 * threads. Fields that change at runtime are atomics; everything else is
 * set when the runtime is built from a config and then only read.
 *
 * Any change that alters which servers a balancer may pick (state, weight)
 * bumps backend->gen; each worker's balancer compares generations before a
 * pick and rebuilds its private tables when they differ, so the request
 * path takes no lock. */
#ifndef TANDEM_SERVER_H
#define TANDEM_SERVER_H

#include <stdatomic.h>
#include <stdint.h>
#include "conf.h"

enum srv_state {
    SRV_UP = 0,     /* takes traffic */
    SRV_DOWN,       /* failed health checks: no traffic */
    SRV_DRAIN,      /* no new clients; sticky clients still reach it */
    SRV_MAINT,      /* administratively off: no traffic at all */
};

struct backend;

struct server_counters {
    _Atomic uint64_t conns_total;      /* connections made to the server */
    _Atomic uint64_t requests;         /* http requests sent */
    _Atomic uint64_t responses[6];     /* by class: [1]=1xx .. [5]=5xx, [0]=other */
    _Atomic uint64_t bytes_in;         /* from the server */
    _Atomic uint64_t bytes_out;        /* to the server */
    _Atomic uint64_t connect_errors;
    _Atomic uint64_t timeouts;
    _Atomic uint64_t retries;
};

/* Response-time histogram (time to the response head) for /metrics: an
 * observation counts in the first bucket whose bound (microseconds) it
 * does not exceed, the last bucket being +Inf. Per-bucket counts; readers
 * accumulate. */
#define SERVER_RT_BUCKETS 12
extern const uint64_t server_rt_bucket_us[SERVER_RT_BUCKETS];
struct server_rt_hist {
    _Atomic uint64_t count[SERVER_RT_BUCKETS + 1];
    _Atomic uint64_t sum_us;
};

struct server {
    char *name;
    struct net_addr addr;
    unsigned index;                    /* position in backend->servers */
    struct backend *backend;
    unsigned maxconn;                  /* 0 = unlimited */
    enum proxy_proto_version send_proxy;

    _Atomic int state;                 /* enum srv_state */
    _Atomic int weight;                /* 0..256; 0 = no new traffic */
    _Atomic int active;                /* open connections/flows to it, all threads */
    _Atomic int peer_active;           /* the peer box's, from the sync channel (active-active) */
    _Atomic uint64_t ewma_rt_us;       /* smoothed response time (leasttime) */
    _Atomic uint64_t up_since_ms;      /* monotonic ms when it last became UP */
    uint64_t slowstart_ms;             /* ramp-up period after UP; 0 = none */
    int backup;                        /* used only while no non-backup server is UP */

    /* Health (health.c, docs/health.md). health_ok is the checks' verdict,
     * kept apart from state so that DRAIN/MAINT can be lifted to it. */
    _Atomic int health_ok;             /* 1 = healthy (also without checks) */
    _Atomic int passive_down;          /* passive checks took it DOWN; checker clears */
    _Atomic unsigned passive_connect_fails;  /* consecutive, seen by live traffic */
    _Atomic unsigned passive_5xx;            /* consecutive 5xx responses */
    unsigned passive_connect_max;      /* backend passive thresholds; 0 = off */
    unsigned passive_5xx_max;
    int health_observe_only;           /* checks never change state */

    struct server_counters stats;
    struct server_rt_hist rt_hist;
};

struct backend {
    char *name;
    unsigned index;
    enum lb_algo algo;
    struct hash_key_spec hash_key;
    struct server **servers;
    unsigned nservers;
    _Atomic uint32_t gen;              /* bumped on any state or weight change */
    _Atomic int queued;                /* requests waiting for a server */
    const struct conf_backend *conf;
};

/* Connections to the server from both boxes of the pair: ours plus what
 * the sync channel last reported for the peer. leastconn, leasttime and
 * maxconn use this, so the pair shares one limit and one balance. */
static inline int server_load(const struct server *s)
{
    int a = atomic_load_explicit(&s->active, memory_order_relaxed);
    int p = atomic_load_explicit(&s->peer_active, memory_order_relaxed);
    return (a > 0 ? a : 0) + (p > 0 ? p : 0);
}

/* 1 if the server may be given a new client now (UP, weight > 0, below
 * maxconn, both boxes' connections counted). */
int server_is_usable(const struct server *s);

/* Weight in effect at now_ms, lowered during slow start (never below 1
 * while the configured weight is positive). */
int server_effective_weight(const struct server *s, uint64_t now_ms);

/* Slow-start progress at now_ms in 1/SERVER_RAMP_FULL units, never below
 * 1; SERVER_RAMP_FULL once ramped or without slow start. Finer than the
 * effective weight, which cannot ramp a weight-1 server: the balancers
 * scale by it. */
#define SERVER_RAMP_FULL 1024
int server_ramp(const struct server *s, uint64_t now_ms);

/* Setters for anything that changes eligibility: they bump backend->gen. */
void server_set_state(struct server *s, enum srv_state state, uint64_t now_ms);
void server_set_weight(struct server *s, int weight);

/* Folds one observed response time into the EWMA (alpha = 1/8) and the
 * histogram. */
void server_observe_rt(struct server *s, uint64_t rt_us);
void server_rt_hist_add(struct server *s, uint64_t rt_us);

const char *server_state_name(enum srv_state state);

#endif
