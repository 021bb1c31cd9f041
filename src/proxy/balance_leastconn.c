/* balance_leastconn.c - the load-driven algorithms: leastconn, weighted
 * leastconn, leasttime (EWMA response time), weighted random and power of
 * two choices. All read the shared `active` counters; none keep tables. */
#include "config.h"
#include "balance_priv.h"

/* 1 if server a should be preferred to server b at now_ms. */
typedef int (*lb_prefer_fn)(const struct server *a, const struct server *b, uint64_t now_ms);

/* leastconn ignores weights but honours slow start: capacity is the ramp,
 * the same for every server once they are fully up. */
static int lb_prefer_fewer_conns(const struct server *a, const struct server *b,
                                 uint64_t now_ms)
{
    return lb_less_loaded(a, (uint64_t)server_ramp(a, now_ms),
                          b, (uint64_t)server_ramp(b, now_ms));
}

static int lb_prefer_fewer_conns_per_weight(const struct server *a, const struct server *b,
                                            uint64_t now_ms)
{
    return lb_less_loaded(a, lb_weight_now(a, now_ms), b, lb_weight_now(b, now_ms));
}

/* Expected wait on a server: (ewma + 1) * (active + 1) / weight. The +1s
 * keep an unmeasured server (ewma 0) and an idle one (active 0) comparable
 * instead of collapsing every score to zero. Computed as a double: the
 * product of a 40-bit time, a 31-bit count and a weight overflows 64 bits. */
static double lb_leasttime_score(const struct server *s, uint64_t now_ms)
{
    uint64_t rt = atomic_load_explicit(&s->ewma_rt_us, memory_order_relaxed);
    double w = (double)lb_weight_now(s, now_ms);
    return ((double)rt + 1.0) * ((double)server_load(s) + 1.0) / w;
}

static int lb_prefer_faster(const struct server *a, const struct server *b, uint64_t now_ms)
{
    return lb_leasttime_score(a, now_ms) < lb_leasttime_score(b, now_ms);
}

/* The preferred candidate. The scan starts after the previous winner, so
 * servers that compare equal take turns instead of the first one taking
 * every tie. */
static struct server *lb_pick_preferred(struct balancer *b, const struct server *avoid,
                                        uint64_t now_ms, lb_prefer_fn prefer)
{
    unsigned n = b->nservers, best = n;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (b->rr_next + k) % n;
        struct server *s = b->be->servers[i];
        if (!lb_candidate(b, s, avoid))
            continue;
        if (best == n || prefer(s, b->be->servers[best], now_ms))
            best = i;
    }
    if (best == n)
        return NULL;
    b->rr_next = (best + 1) % n;
    return b->be->servers[best];
}

struct server *lb_pick_leastconn(struct balancer *b, const struct server *avoid, uint64_t now_ms)
{
    return lb_pick_preferred(b, avoid, now_ms, lb_prefer_fewer_conns);
}

struct server *lb_pick_wleastconn(struct balancer *b, const struct server *avoid, uint64_t now_ms)
{
    return lb_pick_preferred(b, avoid, now_ms, lb_prefer_fewer_conns_per_weight);
}

struct server *lb_pick_leasttime(struct balancer *b, const struct server *avoid, uint64_t now_ms)
{
    return lb_pick_preferred(b, avoid, now_ms, lb_prefer_faster);
}

/* Weighted random: a server's chance is its effective weight over the sum
 * of the candidates' effective weights. */
struct server *lb_pick_random(struct balancer *b, const struct server *avoid, uint64_t now_ms)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < b->nservers; i++) {
        struct server *s = b->be->servers[i];
        if (lb_candidate(b, s, avoid))
            total += lb_weight_now(s, now_ms);
    }
    if (total == 0)
        return NULL;
    uint64_t r = lb_random(b) % total;
    for (unsigned i = 0; i < b->nservers; i++) {
        struct server *s = b->be->servers[i];
        if (!lb_candidate(b, s, avoid))
            continue;
        uint64_t w = lb_weight_now(s, now_ms);
        if (r < w)
            return s;
        r -= w;
    }
    return NULL;
}

/* Power of two choices: two distinct candidates drawn uniformly, the one
 * with the lower active/weight wins (the first drawn on a tie). Avoids the
 * herd that pure leastconn sends to one idle server when many pickers act
 * on the same stale counters, at O(n) with no shared state. */
struct server *lb_pick_p2c(struct balancer *b, const struct server *avoid, uint64_t now_ms)
{
    unsigned count = 0;
    for (unsigned i = 0; i < b->nservers; i++)
        if (lb_candidate(b, b->be->servers[i], avoid))
            b->scratch[count++] = i;
    if (count == 0)
        return NULL;
    if (count == 1)
        return b->be->servers[b->scratch[0]];
    unsigned x = (unsigned)(lb_random(b) % count);
    unsigned y = (unsigned)(lb_random(b) % (count - 1));
    if (y >= x)
        y++;
    struct server *first = b->be->servers[b->scratch[x]];
    struct server *second = b->be->servers[b->scratch[y]];
    return lb_prefer_fewer_conns_per_weight(second, first, now_ms) ? second : first;
}
