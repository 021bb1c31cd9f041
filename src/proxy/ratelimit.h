/* ratelimit.h - the rate limiters (token bucket, sliding window, fixed
 * window) and the process-wide keyed table they live in. See
 * docs/ratelimit.md.
 *
 * The limiters are pure: no I/O, no clock of their own; time comes in as
 * milliseconds, so tests drive them with a fake clock. The table
 * (rl_table_*) adds keys, sharded locks and an LRU bound around them.
 *
 * State is kept per node so the pair can merge it later (issue 6): a
 * window's count is the sum of the nodes' counts, and a token bucket is
 * drained by every node's spending. Each node writes only its own slot
 * (RL_NODE_LOCAL); a peer's slot changes only through rl_merge(), with
 * counts that only grow within a window, so merging is a max per slot:
 * idempotent, order-free, never last-writer-wins. */
#ifndef TANDEM_RATELIMIT_H
#define TANDEM_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include "conf.h"

#define RL_NODES        2          /* this box and its peer */
#define RL_NODE_LOCAL   0

struct rl_params {
    enum rl_algo algo;
    uint64_t rate;                 /* requests per `per_ms` */
    uint64_t per_ms;               /* >= 1 */
    uint64_t burst;                /* token bucket capacity, >= 1 */
};

/* All-zero is a fresh key: a full bucket, empty windows. */
struct rl_state {
    uint64_t window;               /* windows: index of the current one (now / per) */
    uint32_t cur[RL_NODES];        /* requests counted in it, per node */
    uint32_t prev[RL_NODES];       /* sliding: in the window before it */
    uint64_t debt;                 /* token bucket: spent, not yet refilled (1/per_ms tokens) */
    uint64_t last_ms;              /* token bucket: when debt was last brought up to date */
    uint64_t spent[RL_NODES];      /* token bucket: tokens ever spent, per node */
};

struct rl_verdict {
    int allowed;
    unsigned retry_after_s;        /* when refused: seconds until one would pass (>= 1) */
};

/* Counts one request at now_ms if the limit allows it; a refused request
 * is not counted (a client hammering a limit still gets the rate). */
void rl_check(struct rl_state *st, const struct rl_params *p, uint64_t now_ms,
              struct rl_verdict *v);

/* How long after its last use a key's state is back to all-fresh (so
 * dropping it loses nothing). */
uint64_t rl_idle_expiry_ms(const struct rl_params *p);

/* What one node reports about one key for the peer (issue 6). */
struct rl_node_report {
    uint64_t window;               /* windows: the window `cur` belongs to */
    uint32_t cur, prev;
    uint64_t spent;                /* token bucket: tokens ever spent */
};
void rl_report(const struct rl_state *st, unsigned node, struct rl_node_report *out);
/* Folds a peer's report into node's slot: counts and `spent` only grow,
 * so the larger value wins and a repeated or reordered report is harmless.
 * A bucket's debt grows by what the peer spent since its last report. */
void rl_merge(struct rl_state *st, const struct rl_params *p, unsigned node,
              const struct rl_node_report *r, uint64_t now_ms);

/* ---- the keyed table, shared by every worker thread ---- */

#define RL_KEY_MAX      128        /* longer keys are replaced by their 128-bit hash */

struct rl_table;

struct rl_table_stats {
    uint64_t checks;               /* lookups */
    uint64_t contended;            /* lookups that found their shard's lock taken */
    uint64_t evicted;              /* keys dropped by the LRU bound */
    uint64_t expired;              /* keys dropped because they were fresh again */
    unsigned keys;                 /* keys held now */
};

/* A table of up to max_keys keys (>= 1) for one limit. */
struct rl_table *rl_table_new(const struct rl_params *p, unsigned max_keys);
void rl_table_free(struct rl_table *t);
/* rl_check on the state of `key` (any bytes; len 0 is a valid key). */
void rl_table_check(struct rl_table *t, const void *key, size_t len, uint64_t now_ms,
                    struct rl_verdict *v);
void rl_table_stats(struct rl_table *t, struct rl_table_stats *out);
unsigned rl_table_shards(const struct rl_table *t);

#endif
