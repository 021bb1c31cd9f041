/* ratelimit.h - the rate limiters (token bucket, sliding window, fixed
 * window) and the process-wide keyed table they live in. See
 * docs/ratelimit.md.
 *
 * The limiters are pure: no I/O, no clock of their own; time comes in as
 * milliseconds, so tests drive them with a fake clock. The table
 * (rl_table_*) adds keys, sharded locks and an LRU bound around them.
 *
 * State is kept per node so the pair can merge it (issue 6): a
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
#define RL_NODE_PEER    1

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
 * A bucket's debt grows by what the peer spent since its last report. A
 * window report more than one window ahead of now_ms is dropped: a peer
 * clock that far off would otherwise pin the key in a future window. */
void rl_merge(struct rl_state *st, const struct rl_params *p, unsigned node,
              const struct rl_node_report *r, uint64_t now_ms);
/* Whether node's slot of st holds anything (counts or spending). */
int rl_node_active(const struct rl_state *st, unsigned node);

/* ---- the keyed table, shared by every worker thread ---- */

/* Longer keys are replaced by their unseeded XXH3-128 (16 bytes, big
 * endian), the same on every box; shorter ones are stored as they are. */
#define RL_KEY_MAX      128

struct rl_table;

struct rl_table_stats {
    uint64_t checks;               /* lookups */
    uint64_t contended;            /* lookups that found their shard's lock taken */
    uint64_t evicted;              /* keys dropped by the LRU bound */
    uint64_t expired;              /* keys dropped because they were fresh again */
    uint64_t reported;             /* keys handed out by rl_table_collect */
    uint64_t merged;               /* peer reports folded in by rl_table_merge */
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

/* ---- the table across the pair (docs/ratelimit.md, "Across the pair") ----
 *
 * A key is handed out and taken back in its stored form: len <= RL_KEY_MAX
 * bytes, the key itself or the 16-byte digest of a longer one. */

/* Called by rl_table_collect with NO lock held: key (the stored form) and
 * r are copies, valid for the call only. fn may do anything but call
 * rl_table_collect on the same table. */
typedef void rl_report_fn(const void *key, size_t len, const struct rl_node_report *r,
                          void *arg);
/* Reports this node's own slot (RL_NODE_LOCAL) of the keys a request was
 * counted in since they were last collected, oldest change first. all != 0
 * first makes every key whose own slot holds anything due (once per
 * (re)connect; it walks the table), whatever max is. At most max keys per
 * call; the rest stay due, and the next call resumes where this one
 * stopped. A reported key is due again once a request is counted in it.
 * Returns how many were reported. Cost: the keys reported, not the table's
 * size. Meant for one collector (the sync thread); worker threads keep
 * checking meanwhile. */
unsigned rl_table_collect(struct rl_table *t, int all, unsigned max, rl_report_fn *fn,
                          void *arg);
/* Folds the peer's report for key (its stored form, as collect handed it
 * out; len > RL_KEY_MAX is ignored) into the RL_NODE_PEER slot with
 * rl_merge. A missing key is created (evicting like a lookup does). The
 * key is used as recently as a lookup, so it lives as long as the peer's
 * counts matter; merging never makes a key due for collect, so the two
 * boxes do not echo each other's reports. */
void rl_table_merge(struct rl_table *t, const void *key, size_t len,
                    const struct rl_node_report *r, uint64_t now_ms);
/* The peer restarted (a new boot id on the sync channel): its token-bucket
 * spending counts from 0 again, so the `spent` we hold for it is reset
 * (else its new reports would be ignored until they passed the old total
 * and the pair would admit more than the limit). The debt it caused stays:
 * those requests were made. Window counts are kept: the peer's requests
 * in the current window did happen. Walks the table once. */
void rl_table_peer_restarted(struct rl_table *t);

#endif
