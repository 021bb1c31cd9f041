/* balance_hash.c - key-affine algorithms: source (client IP hash) and
 * consistent hashing with a Maglev lookup table.
 *
 * Both hash with fixed seeds, never the balancer's random seed, so every
 * worker thread (and the peer box, given the same config) sends a key to
 * the same server. Both use configured weights, not slow-start ones: a ramp
 * would move keys around for its whole duration. */
#include "config.h"
#include "balance_priv.h"

#include <string.h>

#define LB_SEED_MAGLEV_OFFSET UINT64_C(0x6d61676c65766f66)
#define LB_SEED_MAGLEV_SKIP   UINT64_C(0x6d61676c65767370)

static int lb_weight(const struct server *s)
{
    int w = atomic_load_explicit(&s->weight, memory_order_relaxed);
    return w > 0 ? w : 0;
}

/* The first candidate at or after `start`, wrapping: the last resort of a
 * hashed pick whose rehashes all met unusable servers. Deterministic, so a
 * key keeps its fallback server while nothing changes. */
static struct server *lb_scan_from(struct balancer *b, unsigned start,
                                   const struct server *avoid)
{
    for (unsigned k = 0; k < b->nservers; k++) {
        struct server *s = b->be->servers[(start + k) % b->nservers];
        if (lb_candidate(b, s, avoid))
            return s;
    }
    return NULL;
}

/* ---- source ---- */

/* Cumulative weights over every server, whatever its state: the mapping
 * of a client IP does not depend on which servers are up, so when one
 * fails only its own clients are rehashed elsewhere (like nginx ip_hash).
 * Only the tier in use counts: backup servers while no primary is up. */
void lb_source_build(struct balancer *b)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < b->nservers; i++) {
        const struct server *s = b->be->servers[i];
        total += lb_in_built_tier(b, s) ? (uint64_t)lb_weight(s) : 0;
        b->src_bound[i] = total;
    }
    b->src_total = total;
}

/* The server whose weight range [bound[i-1], bound[i]) holds point. */
static unsigned lb_source_find(const struct balancer *b, uint64_t point)
{
    unsigned lo = 0, hi = b->nservers - 1;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (b->src_bound[mid] > point)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Hash with seed 0, then seeds 1, 2, ... while the hit is unusable: the
 * sequence of servers a key tries is fixed by the key alone. */
struct server *lb_pick_source(struct balancer *b, const void *key, size_t keylen,
                              const struct server *avoid)
{
    if (b->src_total == 0)
        return NULL;
    unsigned idx = 0;
    for (unsigned t = 0; t < LB_HASH_TRIES; t++) {
        idx = lb_source_find(b, lb_hash(key, keylen, t) % b->src_total);
        struct server *s = b->be->servers[idx];
        if (lb_candidate(b, s, avoid))
            return s;
    }
    return lb_scan_from(b, idx, avoid);
}

/* ---- Maglev ---- */

/* A server's place in the table is derived from its name, not its index,
 * so reordering servers in the config does not move keys. */
static uint64_t lb_server_hash(const struct server *s, uint64_t seed)
{
    if (s->name)
        return lb_hash(s->name, strlen(s->name), seed);
    return lb_hash(&s->index, sizeof(s->index), seed);
}

/* Servers that belong in the table: UP with a positive weight, of the
 * tier in use (backups only while no primary is up). Full
 * servers stay in (being full is brief); the pick skips them. */
static int lb_maglev_weight(const struct balancer *b, const struct server *s)
{
    if (atomic_load_explicit(&s->state, memory_order_relaxed) != SRV_UP ||
        !lb_in_built_tier(b, s))
        return 0;
    return lb_weight(s);
}

/* Next free slot in server i's permutation (offset + j * skip) mod M. M is
 * prime, so every permutation visits every slot. */
static uint32_t lb_maglev_next_slot(struct balancer *b, unsigned i)
{
    uint32_t m = b->maglev_size;
    for (;;) {
        uint32_t slot = (uint32_t)(((uint64_t)b->mg_offset[i] +
                                    (uint64_t)b->mg_next[i] * b->mg_skip[i]) % m);
        b->mg_next[i]++;
        if (b->maglev[slot] == LB_MAGLEV_EMPTY)
            return slot;
    }
}

/* Snapshots each server's weight (0 = not a member) so other threads
 * changing states mid-build cannot starve the fill loop. Returns the
 * largest member weight, 0 if there is no member. */
static int lb_maglev_prepare(struct balancer *b)
{
    int wmax = 0;
    uint32_t m = b->maglev_size;
    for (unsigned i = 0; i < b->nservers; i++) {
        const struct server *s = b->be->servers[i];
        b->mg_weight[i] = lb_maglev_weight(b, s);
        b->mg_next[i] = 0;
        b->mg_credit[i] = 0;
        b->mg_offset[i] = (uint32_t)(lb_server_hash(s, LB_SEED_MAGLEV_OFFSET) % m);
        b->mg_skip[i] = (uint32_t)(lb_server_hash(s, LB_SEED_MAGLEV_SKIP) % (m - 1)) + 1;
        if (b->mg_weight[i] > wmax)
            wmax = b->mg_weight[i];
    }
    for (uint32_t j = 0; j < m; j++)
        b->maglev[j] = LB_MAGLEV_EMPTY;
    return wmax;
}

/* Maglev population (Eisenbud et al., NSDI 2016) with weights: members
 * take turns claiming the next free slot of their own permutation; a
 * member earns its weight in credit each round and claims a slot per
 * `wmax` credit, so slot shares follow the weights. Removing one member
 * leaves most of the others' slots where they were. With no member the
 * table stays empty. */
void lb_maglev_build(struct balancer *b)
{
    uint64_t wmax = (uint64_t)lb_maglev_prepare(b);
    uint32_t filled = 0, m = b->maglev_size;
    while (wmax && filled < m) {
        for (unsigned i = 0; i < b->nservers && filled < m; i++) {
            if (b->mg_weight[i] == 0)
                continue;
            b->mg_credit[i] += (uint64_t)b->mg_weight[i];
            if (b->mg_credit[i] < wmax)
                continue;
            b->mg_credit[i] -= wmax;
            b->maglev[lb_maglev_next_slot(b, i)] = i;
            filled++;
        }
    }
}

struct server *lb_pick_maglev(struct balancer *b, const void *key, size_t keylen,
                              const struct server *avoid)
{
    unsigned idx = 0;
    for (unsigned t = 0; t < LB_HASH_TRIES; t++) {
        uint32_t slot = (uint32_t)(lb_hash(key, keylen, t) % b->maglev_size);
        uint32_t i = b->maglev[slot];
        if (i == LB_MAGLEV_EMPTY)
            break;
        idx = i;
        if (lb_candidate(b, b->be->servers[i], avoid))
            return b->be->servers[i];
    }
    return lb_scan_from(b, idx, avoid);
}
