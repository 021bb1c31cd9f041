/* balance.h - one interface over every load-balancing algorithm.
 *
 * A balancer is private to one worker thread (no locks): it keeps that
 * thread's rotation position, random state and lookup tables, and reads the
 * shared server atomics (state, weight, active). It notices backend->gen
 * changes and rebuilds itself before the next pick. */
#ifndef TANDEM_BALANCE_H
#define TANDEM_BALANCE_H

#include <stddef.h>
#include <stdint.h>
#include "server.h"

enum lb_result {
    LB_OK = 0,
    LB_NONE_UP,       /* no server is UP with weight > 0: answer 503 */
    LB_ALL_FULL,      /* servers are up but all at maxconn: queue or 503 */
};

struct balancer;

/* seed makes random choices reproducible in tests. */
struct balancer *balancer_create(struct backend *be, uint64_t seed);
void balancer_free(struct balancer *b);

/* Picks a server for a new client or request.
 *  key/keylen: bytes to hash for LB_SOURCE (the client IP bytes) and LB_HASH
 *              (the hash_key's value); ignored by other algorithms. For
 *              LB_HASH with an absent key, pass NULL: it falls back to
 *              round robin.
 *  avoid:      a server not to pick (the one a retry just failed on), or NULL.
 *              It is never returned, even when it is the only usable one:
 *              then the pick fails with LB_ALL_FULL if another server is UP
 *              but at maxconn, else LB_NONE_UP (the caller reports the
 *              failure it retried on, e.g. 502, rather than loop).
 *  now_ms:     monotonic time, for slow start.
 * Returns the server, or NULL with *why set (why may be NULL).
 *
 * Algorithms (balance_rr.c, balance_leastconn.c, balance_hash.c):
 *  roundrobin   rotation over usable servers; weights only exclude (0).
 *  wrr          nginx's smooth weighted round robin: 5:3:2 gives
 *               A B C A A B A C B A, repeating.
 *  leastconn    fewest active connections; ties rotate.
 *  wleastconn   lowest active / weight.
 *  leasttime    lowest (ewma_rt_us + 1) * (active + 1) / weight.
 *  random       weighted random.
 *  p2c          two distinct usable servers at random, lower active/weight.
 *  source       client IP hashed over all servers by weight, whatever
 *               their state; an unusable hit is rehashed, so only a failed
 *               server's clients move.
 *  hash         Maglev table (prime size >= max(65537, 100 x servers)) of
 *               the UP servers with weight > 0, filled by weight; a key
 *               whose server is full or avoided is rehashed.
 * source without a key and hash with a NULL key use wrr instead.
 * Backup servers (server->backup) are left out while any other server is
 * UP with weight > 0, and picked with the same algorithm when none is (or
 * when the only one is `avoid`). Full primaries make a pick wait (queue),
 * not spill over to the backups.
 * Slow start scales the weight (or, for leastconn, the capacity) of the
 * load-driven algorithms; source and hash ignore it so keys do not move
 * during a ramp. Hashing uses fixed seeds, so every worker (and the peer
 * box) maps a key alike; `seed` only drives random and p2c. */
struct server *balancer_pick(struct balancer *b, const void *key, size_t keylen,
                             const struct server *avoid, uint64_t now_ms,
                             enum lb_result *why);

#endif
