/* ratelimit_table.c - one limit's keys, shared by every worker thread
 * (ratelimit.h). The state must hold for the whole process, so it cannot
 * be per thread; to keep threads from queueing on one lock the keys are
 * spread over up to RL_SHARDS_MAX shards by a per-table seeded XXH3 of the
 * stored key, each shard with its own mutex, uthash table and LRU list. A
 * lock is held only for a lookup and one limiter step: never across I/O.
 *
 * Bounds: a shard holds at most its share of max_keys; a new key past that
 * evicts the least recently used one. Keys whose state is fresh again (a
 * full bucket, windows gone by) are freed from the LRU tail as lookups
 * pass, a few per lookup, so an idle table shrinks without a timer.
 *
 * The pair: a key in which a request was counted goes on its shard's dirty
 * list, so the sync thread collects changes without walking the table;
 * the peer's reports are merged into the key's peer slot. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
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
#define RL_COLLECT_BATCH       32    /* keys copied out per lock taken by collect */

_Static_assert(sizeof(XXH128_canonical_t) <= RL_KEY_MAX,
               "a long key's digest is stored like a short key");

struct rl_entry {
    UT_hash_handle hh;
    TAILQ_ENTRY(rl_entry) lru;       /* most recently used first */
    TAILQ_ENTRY(rl_entry) dirty;     /* on the shard's dirty list while is_dirty */
    uint64_t last_ms;
    struct rl_state st;
    uint8_t is_dirty;                /* counted a request since last collected */
    uint8_t klen;
    unsigned char key[];             /* the stored form, klen <= RL_KEY_MAX */
};

struct rl_shard {
    pthread_mutex_t lock;
    struct rl_entry *hash;
    TAILQ_HEAD(rl_lru, rl_entry) lru;
    TAILQ_HEAD(rl_dirty, rl_entry) dirty;   /* oldest change first */
    unsigned n, cap;
    uint64_t checks, contended, evicted, expired, reported, merged;
} __attribute__((aligned(64)));      /* one cache line each: no false sharing */

struct rl_table {
    struct rl_params p;
    uint64_t idle_ms;
    uint64_t seed;
    unsigned nshards;
    _Atomic unsigned collect_next;   /* the shard the next collect starts at */
    struct rl_shard *shards;
};

static unsigned shard_count(unsigned max_keys)
{
    unsigned n = 1;
    while (n < RL_SHARDS_MAX && max_keys / (2 * n) >= RL_KEYS_PER_SHARD_MIN)
        n *= 2;
    return n;
}

/* A seed per table so nobody can pick keys that share a shard or a
 * bucket. Only placement: the stored form of a key is seed-free. */
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
    atomic_init(&t->collect_next, 0);
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
        TAILQ_INIT(&sh->dirty);
        sh->cap = max_keys / t->nshards + (i < max_keys % t->nshards);
    }
    return t;
}

static void entry_drop(struct rl_shard *sh, struct rl_entry *e)
{
    HASH_DELETE(hh, sh->hash, e);
    TAILQ_REMOVE(&sh->lru, e, lru);
    if (e->is_dirty)
        TAILQ_REMOVE(&sh->dirty, e, dirty);
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

/* The stored form of a key: its bytes, or, past RL_KEY_MAX, its unseeded
 * XXH3-128 in canonical (big-endian) order, so both boxes store a key
 * alike and the sync channel can name it. A 16-byte key and a long key
 * with that digest share a count; crafting such a pair means knowing the
 * victim's key, which an attacker could send as it is anyway. */
static size_t key_stored(const void *key, size_t len, unsigned char *out)
{
    if (len <= RL_KEY_MAX) {
        if (len)
            memcpy(out, key, len);
        return len;
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(key, len));
    memcpy(out, &c, sizeof(c));
    return sizeof(c);
}

static struct rl_shard *shard_of(const struct rl_table *t, const unsigned char *k,
                                 size_t klen, unsigned *hashv)
{
    uint64_t h = XXH3_64bits_withSeed(k, klen, t->seed);
    *hashv = (unsigned)h;
    return &t->shards[(h >> 32) & (t->nshards - 1)];
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
    if (klen)
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

/* With sh locked: frees stale keys, then finds k and makes it the most
 * recently used, or adds it. NULL when out of memory. */
static struct rl_entry *shard_get(const struct rl_table *t, struct rl_shard *sh,
                                  const unsigned char *k, size_t klen, unsigned hashv,
                                  uint64_t now_ms)
{
    struct rl_entry *e = NULL;
    shard_expire(t, sh, now_ms);
    HASH_FIND_BYHASHVALUE(hh, sh->hash, k, klen, hashv, e);
    if (!e)
        return entry_new(sh, k, klen, hashv);
    TAILQ_REMOVE(&sh->lru, e, lru);
    TAILQ_INSERT_HEAD(&sh->lru, e, lru);
    return e;
}

/* Records a use at now_ms, from which the key expires after idle_ms. A
 * window the peer's clock has already entered (rl_merge allows one ahead)
 * starts later than now: its counts matter until idle_ms after its start. */
static void entry_touch(const struct rl_table *t, struct rl_entry *e, uint64_t now_ms)
{
    uint64_t at = now_ms;
    if (t->p.algo != RL_TOKEN_BUCKET && e->st.window > now_ms / t->p.per_ms)
        at = e->st.window * t->p.per_ms;
    if (at > e->last_ms)
        e->last_ms = at;
}

static void entry_mark_dirty(struct rl_shard *sh, struct rl_entry *e)
{
    if (e->is_dirty)
        return;
    e->is_dirty = 1;
    TAILQ_INSERT_TAIL(&sh->dirty, e, dirty);
}

void rl_table_check(struct rl_table *t, const void *key, size_t len, uint64_t now_ms,
                    struct rl_verdict *v)
{
    unsigned char k[RL_KEY_MAX];
    size_t klen = key_stored(key, len, k);
    unsigned hashv;
    struct rl_shard *sh = shard_of(t, k, klen, &hashv);

    shard_lock(sh);
    sh->checks++;
    struct rl_entry *e = shard_get(t, sh, k, klen, hashv, now_ms);
    if (e) {
        rl_check(&e->st, &t->p, now_ms, v);
        entry_touch(t, e, now_ms);
        if (v->allowed)             /* rl_check counts exactly what it allows */
            entry_mark_dirty(sh, e);
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
        out->reported += sh->reported;
        out->merged += sh->merged;
        out->keys += sh->n;
        pthread_mutex_unlock(&sh->lock);
    }
}

unsigned rl_table_shards(const struct rl_table *t)
{
    return t->nshards;
}

/* ---- the pair ---- */

void rl_table_merge(struct rl_table *t, const void *key, size_t len,
                    const struct rl_node_report *r, uint64_t now_ms)
{
    if (len > RL_KEY_MAX || (len && !key))
        return;
    unsigned hashv;
    struct rl_shard *sh = shard_of(t, key, len, &hashv);

    shard_lock(sh);
    struct rl_entry *e = shard_get(t, sh, key, len, hashv, now_ms);
    if (e) {
        rl_merge(&e->st, &t->p, RL_NODE_PEER, r, now_ms);
        entry_touch(t, e, now_ms);
        sh->merged++;
    }
    pthread_mutex_unlock(&sh->lock);
}

void rl_table_peer_restarted(struct rl_table *t)
{
    if (t->p.algo != RL_TOKEN_BUCKET)
        return;
    for (unsigned i = 0; i < t->nshards; i++) {
        struct rl_shard *sh = &t->shards[i];
        struct rl_entry *e;
        pthread_mutex_lock(&sh->lock);
        TAILQ_FOREACH(e, &sh->lru, lru)
            e->st.spent[RL_NODE_PEER] = 0;
        pthread_mutex_unlock(&sh->lock);
    }
}

/* Makes every key with counts of this node's due: after a (re)connect the
 * peer has to hear about all of them. Walks the table once. */
static void table_mark_all(struct rl_table *t)
{
    for (unsigned i = 0; i < t->nshards; i++) {
        struct rl_shard *sh = &t->shards[i];
        struct rl_entry *e;
        pthread_mutex_lock(&sh->lock);
        TAILQ_FOREACH_REVERSE(e, &sh->lru, rl_lru, lru)      /* least recent first */
            if (rl_node_active(&e->st, RL_NODE_LOCAL))
                entry_mark_dirty(sh, e);
        pthread_mutex_unlock(&sh->lock);
    }
}

struct rl_collected {
    unsigned char key[RL_KEY_MAX];
    size_t klen;
    struct rl_node_report r;
};

/* With sh locked: takes up to max keys off its dirty list, copying out
 * what fn needs so it can run unlocked. */
static unsigned shard_take(struct rl_shard *sh, struct rl_collected *out, unsigned max)
{
    unsigned n = 0;
    struct rl_entry *e;
    while (n < max && (e = TAILQ_FIRST(&sh->dirty))) {
        TAILQ_REMOVE(&sh->dirty, e, dirty);
        e->is_dirty = 0;
        memcpy(out[n].key, e->key, e->klen);
        out[n].klen = e->klen;
        rl_report(&e->st, RL_NODE_LOCAL, &out[n].r);
        n++;
    }
    sh->reported += n;
    return n;
}

/* Reports up to max of sh's dirty keys, a batch per lock taken, fn called
 * with the lock released. Returns how many. */
static unsigned shard_collect(struct rl_shard *sh, unsigned max, rl_report_fn *fn,
                              void *arg)
{
    struct rl_collected batch[RL_COLLECT_BATCH];
    unsigned done = 0, want, n;
    do {
        want = max - done < RL_COLLECT_BATCH ? max - done : RL_COLLECT_BATCH;
        pthread_mutex_lock(&sh->lock);
        n = shard_take(sh, batch, want);
        pthread_mutex_unlock(&sh->lock);
        for (unsigned i = 0; i < n; i++)
            fn(batch[i].key, batch[i].klen, &batch[i].r, arg);
        done += n;
    } while (n == want && done < max);
    return done;
}

/* A call cut short by max records the shard it stopped in and the next
 * starts there, so the keys it left go first and the shards take turns. */
unsigned rl_table_collect(struct rl_table *t, int all, unsigned max, rl_report_fn *fn,
                          void *arg)
{
    if (all)
        table_mark_all(t);
    unsigned start = atomic_load_explicit(&t->collect_next, memory_order_relaxed);
    unsigned done = 0;
    for (unsigned i = 0; i < t->nshards && done < max; i++) {
        unsigned s = (start + i) & (t->nshards - 1);
        done += shard_collect(&t->shards[s], max - done, fn, arg);
        if (done >= max)
            atomic_store_explicit(&t->collect_next, s, memory_order_relaxed);
    }
    return done;
}
