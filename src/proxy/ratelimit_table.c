/* ratelimit_table.c - one limit's keys, shared by every worker thread
 * (ratelimit.h). The state must hold for the whole process, so it cannot
 * be per thread; to keep threads from queueing on one lock the keys are
 * spread over up to RL_SHARDS_MAX shards by a seeded XXH3 of the key, each
 * shard with its own mutex, uthash table and LRU list. A lock is held only
 * for a lookup and one limiter step: never across I/O.
 *
 * Bounds: a shard holds at most its share of max_keys; a new key past that
 * evicts the least recently used one. Keys whose state is fresh again (a
 * full bucket, windows gone by) are freed from the LRU tail as lookups
 * pass, a few per lookup, so an idle table shrinks without a timer. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <xxhash.h>

/* Out of memory while growing buckets must not exit the daemon. */
static __thread int rl_oom;
#undef HASH_NONFATAL_OOM
#define HASH_NONFATAL_OOM 1
#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(elt) (rl_oom = 1)
#include <uthash.h>

#include "ratelimit.h"

#define RL_SHARDS_MAX          64
#define RL_KEYS_PER_SHARD_MIN  256   /* fewer keys: one shard, an exact LRU */
#define RL_EXPIRE_PER_CHECK    4     /* stale keys freed per lookup, at most */

struct rl_entry {
    UT_hash_handle hh;
    TAILQ_ENTRY(rl_entry) lru;       /* most recently used first */
    uint64_t last_ms;
    struct rl_state st;
    uint8_t klen;
    unsigned char key[];
};

struct rl_shard {
    pthread_mutex_t lock;
    struct rl_entry *hash;
    TAILQ_HEAD(rl_lru, rl_entry) lru;
    unsigned n, cap;
    uint64_t checks, contended, evicted, expired;
} __attribute__((aligned(64)));      /* one cache line each: no false sharing */

struct rl_table {
    struct rl_params p;
    uint64_t idle_ms;
    uint64_t seed;
    unsigned nshards;
    struct rl_shard *shards;
};

static unsigned shard_count(unsigned max_keys)
{
    unsigned n = 1;
    while (n < RL_SHARDS_MAX && max_keys / (2 * n) >= RL_KEYS_PER_SHARD_MIN)
        n *= 2;
    return n;
}

/* A seed per table so nobody can pick keys that share a bucket. */
static uint64_t table_seed(const void *t)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
        return seed;
    return (uint64_t)(uintptr_t)t * 0x9e3779b97f4a7c15ULL;
}

struct rl_table *rl_table_new(const struct rl_params *p, unsigned max_keys)
{
    struct rl_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->p = *p;
    t->idle_ms = rl_idle_expiry_ms(p);
    t->seed = table_seed(t);
    if (max_keys < 1)
        max_keys = 1;
    t->nshards = shard_count(max_keys);
    if (posix_memalign((void **)&t->shards, 64, t->nshards * sizeof(*t->shards)) != 0) {
        free(t);
        return NULL;
    }
    memset(t->shards, 0, t->nshards * sizeof(*t->shards));
    for (unsigned i = 0; i < t->nshards; i++) {
        struct rl_shard *sh = &t->shards[i];
        pthread_mutex_init(&sh->lock, NULL);
        TAILQ_INIT(&sh->lru);
        sh->cap = max_keys / t->nshards + (i < max_keys % t->nshards);
    }
    return t;
}

static void entry_drop(struct rl_shard *sh, struct rl_entry *e)
{
    HASH_DELETE(hh, sh->hash, e);
    TAILQ_REMOVE(&sh->lru, e, lru);
    sh->n--;
    free(e);
}

void rl_table_free(struct rl_table *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->nshards; i++) {
        struct rl_shard *sh = &t->shards[i];
        struct rl_entry *e;
        while ((e = TAILQ_FIRST(&sh->lru)))
            entry_drop(sh, e);
        HASH_CLEAR(hh, sh->hash);
        pthread_mutex_destroy(&sh->lock);
    }
    free(t->shards);
    free(t);
}

/* The stored form of a key: its bytes and a 0 byte, or, past RL_KEY_MAX,
 * its 128-bit hash and a 1 byte, so the two forms never compare equal. */
static size_t key_stored(const struct rl_table *t, const void *key, size_t len,
                         unsigned char *out)
{
    if (len <= RL_KEY_MAX) {
        if (len)
            memcpy(out, key, len);
        out[len] = 0;
        return len + 1;
    }
    XXH128_hash_t h = XXH3_128bits_withSeed(key, len, t->seed);
    XXH128_canonicalFromHash((XXH128_canonical_t *)out, h);
    out[sizeof(XXH128_canonical_t)] = 1;
    return sizeof(XXH128_canonical_t) + 1;
}

static void shard_lock(struct rl_shard *sh)
{
    if (pthread_mutex_trylock(&sh->lock) == 0)
        return;
    pthread_mutex_lock(&sh->lock);
    sh->contended++;       /* counted under the lock it waited for */
}

/* Frees keys at the LRU tail whose state is fresh again; the tail is the
 * least recently used, so when it is still live every key is. */
static void shard_expire(const struct rl_table *t, struct rl_shard *sh, uint64_t now_ms)
{
    for (unsigned i = 0; i < RL_EXPIRE_PER_CHECK; i++) {
        struct rl_entry *e = TAILQ_LAST(&sh->lru, rl_lru);
        if (!e || now_ms < e->last_ms || now_ms - e->last_ms < t->idle_ms)
            return;
        entry_drop(sh, e);
        sh->expired++;
    }
}

static struct rl_entry *entry_new(struct rl_shard *sh, const unsigned char *key, size_t klen,
                                  unsigned hashv)
{
    if (sh->n >= sh->cap) {
        entry_drop(sh, TAILQ_LAST(&sh->lru, rl_lru));
        sh->evicted++;
    }
    struct rl_entry *e = calloc(1, sizeof(*e) + klen);
    if (!e)
        return NULL;
    e->klen = (uint8_t)klen;
    memcpy(e->key, key, klen);
    rl_oom = 0;
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, sh->hash, e->key, e->klen, hashv, e);
    if (rl_oom) {
        struct rl_entry *found = NULL;
        HASH_FIND_BYHASHVALUE(hh, sh->hash, e->key, e->klen, hashv, found);
        if (found != e) {
            free(e);
            return NULL;
        }
    }
    TAILQ_INSERT_HEAD(&sh->lru, e, lru);
    sh->n++;
    return e;
}

void rl_table_check(struct rl_table *t, const void *key, size_t len, uint64_t now_ms,
                    struct rl_verdict *v)
{
    unsigned char k[RL_KEY_MAX + 1];
    size_t klen = key_stored(t, key, len, k);
    uint64_t h = XXH3_64bits_withSeed(k, klen, t->seed);
    struct rl_shard *sh = &t->shards[(h >> 32) & (t->nshards - 1)];
    struct rl_entry *e = NULL;

    shard_lock(sh);
    sh->checks++;
    shard_expire(t, sh, now_ms);
    HASH_FIND_BYHASHVALUE(hh, sh->hash, k, klen, (unsigned)h, e);
    if (e) {
        TAILQ_REMOVE(&sh->lru, e, lru);
        TAILQ_INSERT_HEAD(&sh->lru, e, lru);
    } else {
        e = entry_new(sh, k, klen, (unsigned)h);
    }
    if (e) {
        rl_check(&e->st, &t->p, now_ms, v);
        if (now_ms > e->last_ms)
            e->last_ms = now_ms;
    } else {
        /* Out of memory: let the request through rather than refuse
         * everybody; the limit resumes once memory is back. */
        v->allowed = 1;
        v->retry_after_s = 0;
    }
    pthread_mutex_unlock(&sh->lock);
}

void rl_table_stats(struct rl_table *t, struct rl_table_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < t->nshards; i++) {
        struct rl_shard *sh = &t->shards[i];
        pthread_mutex_lock(&sh->lock);
        out->checks += sh->checks;
        out->contended += sh->contended;
        out->evicted += sh->evicted;
        out->expired += sh->expired;
        out->keys += sh->n;
        pthread_mutex_unlock(&sh->lock);
    }
}

unsigned rl_table_shards(const struct rl_table *t)
{
    return t->nshards;
}
