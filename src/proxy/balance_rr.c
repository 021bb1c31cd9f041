/* balance_rr.c - round robin and smooth weighted round robin. */
#include "config.h"
#include "balance_priv.h"

/* A change of the server set restarts the smooth WRR cycle from zero, so
 * a server that was out does not come back with stale credit or debt. The
 * plain rotation position is kept: resetting it would favour server 0. */
void lb_rr_reset(struct balancer *b)
{
    for (unsigned i = 0; i < b->nservers; i++)
        b->swrr_current[i] = 0;
}

/* Plain rotation over usable servers; weights only matter as 0 = skip. */
struct server *lb_pick_roundrobin(struct balancer *b, const struct server *avoid)
{
    unsigned n = b->nservers;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = (b->rr_next + k) % n;
        struct server *s = b->be->servers[i];
        if (!lb_candidate(b, s, avoid))
            continue;
        b->rr_next = (i + 1) % n;
        return s;
    }
    return NULL;
}

/* Smooth weighted round robin (the scheme nginx uses): every pick adds each
 * candidate's effective weight to its current weight, takes the candidate
 * with the highest current weight (the first one on ties) and subtracts the
 * total from it. Over sum(weights) picks each server is chosen exactly
 * weight times, interleaved rather than in runs. Slow start lowers the
 * effective weight, so a ramping server gets its share gradually. */
struct server *lb_pick_swrr(struct balancer *b, const struct server *avoid, uint64_t now_ms)
{
    int64_t total = 0;
    unsigned best = b->nservers;
    for (unsigned i = 0; i < b->nservers; i++) {
        struct server *s = b->be->servers[i];
        if (!lb_candidate(b, s, avoid))
            continue;
        int64_t w = (int64_t)lb_weight_now(s, now_ms);
        b->swrr_current[i] += w;
        total += w;
        if (best == b->nservers || b->swrr_current[i] > b->swrr_current[best])
            best = i;
    }
    if (best == b->nservers)
        return NULL;
    b->swrr_current[best] -= total;
    return b->be->servers[best];
}
