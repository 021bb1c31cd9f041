/* balance.c - the balancer object: creation, rebuild on backend->gen
 * changes, dispatch to the algorithm families (balance_rr.c,
 * balance_leastconn.c, balance_hash.c) and the helpers they share. */
#include "config.h"
#include "balance_priv.h"

#include <stdlib.h>
#include <xxhash.h>

/* Per-server arrays every algorithm may use; sized once per server count
 * so the pick path never allocates. */
static int balancer_alloc_arrays(struct balancer *b, unsigned n)
{
    size_t cnt = n ? n : 1;
    b->swrr_current = calloc(cnt, sizeof(*b->swrr_current));
    b->scratch = calloc(cnt, sizeof(*b->scratch));
    b->src_bound = calloc(cnt, sizeof(*b->src_bound));
    if (!b->swrr_current || !b->scratch || !b->src_bound)
        return -1;
    if (b->be->algo != LB_HASH)
        return 0;
    uint64_t want = (uint64_t)n * LB_MAGLEV_PER_SERVER;
    if (want > UINT32_MAX / 2)
        return -1;
    b->maglev_size = lb_prime_at_least(want > LB_MAGLEV_MIN_SIZE ? (uint32_t)want
                                                                 : LB_MAGLEV_MIN_SIZE);
    b->maglev = malloc((size_t)b->maglev_size * sizeof(*b->maglev));
    b->mg_offset = calloc(cnt, sizeof(*b->mg_offset));
    b->mg_skip = calloc(cnt, sizeof(*b->mg_skip));
    b->mg_next = calloc(cnt, sizeof(*b->mg_next));
    b->mg_credit = calloc(cnt, sizeof(*b->mg_credit));
    b->mg_weight = calloc(cnt, sizeof(*b->mg_weight));
    if (!b->maglev || !b->mg_offset || !b->mg_skip || !b->mg_next || !b->mg_credit ||
        !b->mg_weight)
        return -1;
    return 0;
}

static void balancer_free_arrays(struct balancer *b)
{
    free(b->swrr_current);
    free(b->scratch);
    free(b->src_bound);
    free(b->maglev);
    free(b->mg_offset);
    free(b->mg_skip);
    free(b->mg_next);
    free(b->mg_credit);
    free(b->mg_weight);
}

struct balancer *balancer_create(struct backend *be, uint64_t seed)
{
    struct balancer *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->be = be;
    b->nservers = be->nservers;
    b->rng_seed = seed;
    if (balancer_alloc_arrays(b, b->nservers) < 0) {
        balancer_free(b);
        return NULL;
    }
    return b;
}

void balancer_free(struct balancer *b)
{
    if (!b)
        return;
    balancer_free_arrays(b);
    free(b);
}

/* Brings the private tables in line with the servers' current state and
 * weights. Only the per-algorithm state is rebuilt; arrays were sized at
 * creation (a backend's server list is fixed for its runtime's life). */
static unsigned balancer_count_primaries_up(const struct balancer *b)
{
    unsigned n = 0;
    for (unsigned i = 0; i < b->nservers; i++) {
        const struct server *s = b->be->servers[i];
        n += !s->backup && atomic_load_explicit(&s->state, memory_order_relaxed) == SRV_UP &&
             atomic_load_explicit(&s->weight, memory_order_relaxed) > 0;
    }
    return n;
}

static void balancer_rebuild(struct balancer *b, uint32_t gen)
{
    b->primaries_up = balancer_count_primaries_up(b);
    lb_rr_reset(b);
    if (b->be->algo == LB_SOURCE)
        lb_source_build(b);
    if (b->be->algo == LB_HASH)
        lb_maglev_build(b);
    b->gen = gen;
    b->built = 1;
}

/* Why nothing could be picked: LB_ALL_FULL if some server other than
 * `avoid` is UP with a positive weight (it is only at maxconn), otherwise
 * LB_NONE_UP. */
static enum lb_result balancer_why_none(const struct balancer *b, const struct server *avoid)
{
    for (unsigned i = 0; i < b->nservers; i++) {
        const struct server *s = b->be->servers[i];
        if (s == avoid)
            continue;
        if (atomic_load_explicit(&s->state, memory_order_relaxed) == SRV_UP &&
            atomic_load_explicit(&s->weight, memory_order_relaxed) > 0)
            return LB_ALL_FULL;
    }
    return LB_NONE_UP;
}

static struct server *balancer_dispatch(struct balancer *b, const void *key, size_t keylen,
                                        const struct server *avoid, uint64_t now_ms)
{
    switch (b->be->algo) {
    case LB_ROUNDROBIN: return lb_pick_roundrobin(b, avoid);
    case LB_WRR:        return lb_pick_swrr(b, avoid, now_ms);
    case LB_LEASTCONN:  return lb_pick_leastconn(b, avoid, now_ms);
    case LB_WLEASTCONN: return lb_pick_wleastconn(b, avoid, now_ms);
    case LB_LEASTTIME:  return lb_pick_leasttime(b, avoid, now_ms);
    case LB_RANDOM:     return lb_pick_random(b, avoid, now_ms);
    case LB_P2C:        return lb_pick_p2c(b, avoid, now_ms);
    case LB_SOURCE:
        if (!key || keylen == 0)
            return lb_pick_swrr(b, avoid, now_ms);
        return lb_pick_source(b, key, keylen, avoid);
    case LB_HASH:
        if (!key)
            return lb_pick_swrr(b, avoid, now_ms);
        return lb_pick_maglev(b, key, keylen, avoid);
    case LB_ALGO_COUNT:
        break;
    }
    return lb_pick_roundrobin(b, avoid);
}

/* Backup servers take traffic only when no primary is up (full primaries
 * queue instead), or when the only one up is the server a retry avoids:
 * a retry on a backup beats a 502. */
static int balancer_use_backup(const struct balancer *b, const struct server *avoid)
{
    if (b->primaries_up == 0)
        return 1;
    return b->primaries_up == 1 && avoid && !avoid->backup &&
           atomic_load_explicit(&avoid->state, memory_order_relaxed) == SRV_UP &&
           atomic_load_explicit(&avoid->weight, memory_order_relaxed) > 0;
}

struct server *balancer_pick(struct balancer *b, const void *key, size_t keylen,
                             const struct server *avoid, uint64_t now_ms,
                             enum lb_result *why)
{
    uint32_t gen = atomic_load_explicit(&b->be->gen, memory_order_acquire);
    if (!b->built || gen != b->gen)
        balancer_rebuild(b, gen);
    b->use_backup = balancer_use_backup(b, avoid);
    struct server *s = b->nservers ? balancer_dispatch(b, key, keylen, avoid, now_ms) : NULL;
    enum lb_result r = s ? LB_OK : balancer_why_none(b, avoid);
    if (why)
        *why = r;
    return s;
}

/* ---- helpers shared by the algorithm files ---- */

int lb_candidate(const struct balancer *b, const struct server *s, const struct server *avoid)
{
    return s != avoid && !s->backup == !b->use_backup && server_is_usable(s);
}

int lb_in_built_tier(const struct balancer *b, const struct server *s)
{
    return !s->backup == !(b->primaries_up == 0);
}

/* Weight in effect for balancing: the configured weight times the
 * slow-start ramp, in 1/SERVER_RAMP_FULL units. Finer than
 * server_effective_weight() so weight-1 servers ramp too; at most 2^18. */
uint64_t lb_weight_now(const struct server *s, uint64_t now_ms)
{
    int w = atomic_load_explicit(&s->weight, memory_order_relaxed);
    if (w <= 0)
        return 0;
    return (uint64_t)w * (uint64_t)server_ramp(s, now_ms);
}

/* A counter hashed with the balancer's seed: reproducible in tests, good
 * enough spread for balancing, and no hand-made generator to get wrong. */
uint64_t lb_random(struct balancer *b)
{
    uint64_t c = b->rng_count++;
    return XXH3_64bits_withSeed(&c, sizeof(c), b->rng_seed);
}

uint64_t lb_hash(const void *key, size_t keylen, uint64_t seed)
{
    return XXH3_64bits_withSeed(key, keylen, seed);
}

static int lb_is_prime(uint32_t n)
{
    if (n < 2)
        return 0;
    for (uint32_t d = 2; (uint64_t)d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

uint32_t lb_prime_at_least(uint32_t n)
{
    while (!lb_is_prime(n))
        n++;
    return n;
}

/* Load is active / capacity (a weight, a slow-start ramp or both),
 * compared by cross-multiplication so no division rounds two servers into
 * a false tie. Returns 1 if a is strictly less loaded than b. Capacities
 * stay below 2^32 (lb_weight_now() is at most 2^18), so the products fit. */
int lb_less_loaded(const struct server *a, uint64_t cap_a,
                   const struct server *b, uint64_t cap_b)
{
    return (uint64_t)server_load(a) * cap_b < (uint64_t)server_load(b) * cap_a;
}
