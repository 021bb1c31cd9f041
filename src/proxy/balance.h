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
 *  now_ms:     monotonic time, for slow start.
 * Returns the server, or NULL with *why set. */
struct server *balancer_pick(struct balancer *b, const void *key, size_t keylen,
                             const struct server *avoid, uint64_t now_ms,
                             enum lb_result *why);

#endif
