/* udp_flow.c - the bounded UDP flow table with its LRU list. */
#include "config.h"

#include <netinet/in.h>
#include <string.h>
#include <xxhash.h>

/* uthash hashes with a seeded XXH3 instead of its fixed Jenkins hash: the
 * key comes from the network, and a fixed hash would let a client pick
 * source ports that pile into one bucket. Each function that hashes
 * declares `flow_seed` from the table. */
#undef HASH_FUNCTION
#define HASH_FUNCTION(keyptr, keylen, hashv) \
    ((hashv) = (unsigned)XXH3_64bits_withSeed((keyptr), (keylen), flow_seed))

/* Out of memory while growing buckets must not exit the daemon. */
#undef HASH_NONFATAL_OOM
#define HASH_NONFATAL_OOM 1
#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(elt) (flow_oom = 1)

#include "udp_flow.h"
#include "addr.h"

int udp_flow_key_make(struct udp_flow_key *k, const struct sockaddr *client,
                      const struct sockaddr *local, uint16_t local_port)
{
    uint16_t lport;

    memset(k, 0, sizeof(*k));
    if (addr_to_v6(client, k->client_ip, &k->client_port) < 0)
        return -1;
    if (addr_to_v6(local, k->local_ip, &lport) < 0)
        return -1;
    k->local_port = local_port ? local_port : lport;
    return 0;
}

void udp_flowtab_init(struct udp_flowtab *t, unsigned max, uint64_t timeout_ms,
                      uint64_t seed)
{
    memset(t, 0, sizeof(*t));
    TAILQ_INIT(&t->lru);
    t->max = max;
    t->timeout_ms = timeout_ms;
    t->seed = seed;
}

void udp_flowtab_clear(struct udp_flowtab *t)
{
    HASH_CLEAR(hh, t->hash);
    TAILQ_INIT(&t->lru);
    t->count = 0;
}

struct udp_flow *udp_flowtab_find(struct udp_flowtab *t, const struct udp_flow_key *k)
{
    const uint64_t flow_seed = t->seed;
    struct udp_flow *f = NULL;

    (void)flow_seed;
    HASH_FIND(hh, t->hash, k, sizeof(*k), f);
    return f;
}

int udp_flowtab_insert(struct udp_flowtab *t, struct udp_flow *f, uint64_t now_ms)
{
    const uint64_t flow_seed = t->seed;
    int flow_oom = 0;

    (void)flow_seed;
    HASH_ADD(hh, t->hash, key, sizeof(f->key), f);
    /* uthash leaves the item out only when the first bucket array could
     * not be allocated; failed expansions keep it (with longer chains). */
    if (flow_oom && udp_flowtab_find(t, &f->key) != f)
        return -1;
    f->last_ms = now_ms;
    TAILQ_INSERT_TAIL(&t->lru, f, lru);
    t->count++;
    return 0;
}

void udp_flowtab_remove(struct udp_flowtab *t, struct udp_flow *f)
{
    HASH_DEL(t->hash, f);
    TAILQ_REMOVE(&t->lru, f, lru);
    t->count--;
}

void udp_flowtab_touch(struct udp_flowtab *t, struct udp_flow *f, uint64_t now_ms)
{
    f->last_ms = now_ms;
    if (TAILQ_NEXT(f, lru) == NULL)
        return;                        /* already the most recent */
    TAILQ_REMOVE(&t->lru, f, lru);
    TAILQ_INSERT_TAIL(&t->lru, f, lru);
}

int udp_flowtab_full(const struct udp_flowtab *t)
{
    return t->count >= t->max;
}

struct udp_flow *udp_flowtab_oldest(const struct udp_flowtab *t)
{
    return TAILQ_FIRST(&t->lru);
}

struct udp_flow *udp_flowtab_expired(const struct udp_flowtab *t, uint64_t now_ms)
{
    struct udp_flow *f = TAILQ_FIRST(&t->lru);

    if (f == NULL || now_ms < f->last_ms + t->timeout_ms)
        return NULL;
    return f;
}

uint64_t udp_flowtab_next_expiry(const struct udp_flowtab *t)
{
    const struct udp_flow *f = TAILQ_FIRST(&t->lru);

    return f ? f->last_ms + t->timeout_ms : UINT64_MAX;
}
