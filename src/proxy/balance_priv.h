/* balance_priv.h - what the algorithm files share with balance.c. Not for
 * callers outside the balancer (tests may look inside). */
#ifndef TANDEM_BALANCE_PRIV_H
#define TANDEM_BALANCE_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include "balance.h"

/* The Maglev table is a prime at least this many times the server count. */
#define LB_MAGLEV_MIN_SIZE    65537u
#define LB_MAGLEV_PER_SERVER  100u
#define LB_MAGLEV_EMPTY       UINT32_MAX
/* How many rehashes a hashed pick tries before scanning for any server. */
#define LB_HASH_TRIES         20u

struct balancer {
    struct backend *be;
    unsigned nservers;          /* size of the per-server arrays below */
    uint32_t gen;               /* backend->gen the tables were built for */
    int built;

    uint64_t rng_seed;
    uint64_t rng_count;
    unsigned rr_next;           /* rotation start: roundrobin, tie breaks */

    unsigned primaries_up;      /* non-backup servers UP with weight > 0, at build */
    int use_backup;             /* this pick chooses among backup servers only */

    int64_t *swrr_current;      /* smooth WRR current weights, per server */
    unsigned *scratch;          /* p2c candidate indexes */

    uint64_t *src_bound;        /* source: cumulative weights over all servers */
    uint64_t src_total;

    uint32_t *maglev;           /* hash: slot -> server index */
    uint32_t maglev_size;
    uint32_t *mg_offset, *mg_skip, *mg_next; /* build-time permutation state */
    uint64_t *mg_credit;
    int *mg_weight;             /* weight snapshot, 0 = not in the table */
};

/* Shared helpers (balance.c). */
int lb_candidate(const struct balancer *b, const struct server *s, const struct server *avoid);
/* 1 if the server belongs to the tier the tables were built for (backup
 * servers while no primary is up, primaries otherwise). */
int lb_in_built_tier(const struct balancer *b, const struct server *s);
uint64_t lb_weight_now(const struct server *s, uint64_t now_ms);
uint64_t lb_random(struct balancer *b);
uint64_t lb_hash(const void *key, size_t keylen, uint64_t seed);
uint32_t lb_prime_at_least(uint32_t n);
int lb_less_loaded(const struct server *a, uint64_t cap_a,
                   const struct server *b, uint64_t cap_b);

/* balance_rr.c */
void lb_rr_reset(struct balancer *b);
struct server *lb_pick_roundrobin(struct balancer *b, const struct server *avoid);
struct server *lb_pick_swrr(struct balancer *b, const struct server *avoid, uint64_t now_ms);

/* balance_leastconn.c */
struct server *lb_pick_leastconn(struct balancer *b, const struct server *avoid, uint64_t now_ms);
struct server *lb_pick_wleastconn(struct balancer *b, const struct server *avoid, uint64_t now_ms);
struct server *lb_pick_leasttime(struct balancer *b, const struct server *avoid, uint64_t now_ms);
struct server *lb_pick_random(struct balancer *b, const struct server *avoid, uint64_t now_ms);
struct server *lb_pick_p2c(struct balancer *b, const struct server *avoid, uint64_t now_ms);

/* balance_hash.c */
void lb_source_build(struct balancer *b);
struct server *lb_pick_source(struct balancer *b, const void *key, size_t keylen,
                              const struct server *avoid);
void lb_maglev_build(struct balancer *b);
struct server *lb_pick_maglev(struct balancer *b, const void *key, size_t keylen,
                              const struct server *avoid);

#endif
