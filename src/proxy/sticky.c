/* sticky.c - the sharded sticky-session table with its change feed. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <xxhash.h>

/* Every find and add passes the hash we computed (the shard is chosen by
 * its high bits), so uthash's own function never runs on a key. */
#undef HASH_NONFATAL_OOM
#define HASH_NONFATAL_OOM 1
#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(elt) (sticky_oom = 1)
#include <uthash.h>

#include "feed.h"
#include "sticky.h"

/* Key bytes as hashed and compared: kind, backend length, backend,
 * data length, data. */
#define KBUF_MAX (1 + 1 + STICKY_NAME_MAX + 1 + STICKY_KEY_MAX)

struct sticky_entry {
    UT_hash_handle hh;
    TAILQ_ENTRY(sticky_entry) lru;     /* head = least recently used */
    uint64_t expire_ms;
    uint64_t fed_expire_ms;            /* expiry the feed last announced */
    uint32_t ttl_ms;
    uint8_t klen;
    uint8_t srv_cap;                   /* room for the server name, with its NUL */
    uint8_t buf[];                     /* key (klen bytes), then server name */
};
TAILQ_HEAD(sticky_lru, sticky_entry);

struct sticky_shard {
    pthread_mutex_t lock;
    struct sticky_entry *hash;
    struct sticky_lru lru;
    unsigned count;
    struct feed_ring feed;
} __attribute__((aligned(64)));        /* no false sharing between shard locks */

struct sticky_table {
    unsigned nshards;
    uint64_t seed;
    _Atomic unsigned max;
    _Atomic unsigned count;            /* all shards: the bound is table-wide */
    _Atomic uint64_t seq;
    _Atomic unsigned sweep_next;
    struct sticky_shard *shards;
};

struct kbuf {
    uint8_t b[KBUF_MAX];
    unsigned len;
    uint64_t hash;
};

static char *entry_server(struct sticky_entry *e)
{
    return (char *)e->buf + e->klen;
}

/* Serialises a key; -1 if it is malformed or too long. */
static int kbuf_make(const struct sticky_table *t, const struct sticky_key *k, struct kbuf *kb)
{
    size_t blen = k->backend ? strlen(k->backend) : 0;
    if (blen == 0 || blen > STICKY_NAME_MAX || k->len == 0 || k->len > STICKY_KEY_MAX ||
        k->kind < STICKY_KEY_COOKIE || k->kind > STICKY_KEY_HASH)
        return -1;
    uint8_t *p = kb->b;
    *p++ = (uint8_t)k->kind;
    *p++ = (uint8_t)blen;
    memcpy(p, k->backend, blen);
    p += blen;
    *p++ = (uint8_t)k->len;
    memcpy(p, k->data, k->len);
    p += k->len;
    kb->len = (unsigned)(p - kb->b);
    kb->hash = XXH3_64bits_withSeed(kb->b, kb->len, t->seed);
    return 0;
}

static struct sticky_shard *shard_of(struct sticky_table *t, uint64_t hash)
{
    return &t->shards[(hash >> 40) & (t->nshards - 1)];
}

/* Decodes an entry's key into a view (pointers into the entry). */
static void entry_view(struct sticky_entry *e, struct sticky_entry_view *v, char *backend)
{
    const uint8_t *p = e->buf;
    v->kind = (enum sticky_kind)p[0];
    memcpy(backend, p + 2, p[1]);
    backend[p[1]] = '\0';
    v->backend = backend;
    v->key_len = p[2 + p[1]];
    v->key = p + 3 + p[1];
    v->server = entry_server(e);
    v->expire_ms = e->expire_ms;
    v->ttl_ms = e->ttl_ms;
}

static int entry_backend_is(const struct sticky_entry *e, const char *backend, size_t blen)
{
    return e->buf[1] == blen && memcmp(e->buf + 2, backend, blen) == 0;
}

/* Appends an event about e (NULL for CLEAR) to the shard's ring. Called
 * with the shard locked, which keeps each ring in sequence order. */
/* STICKY_ORIGIN_PEER inside sticky_apply_*: changes learned from the peer
 * go to the table but not to the feed. The feed exists for the sync
 * sender; the peer knows these already, and a resync of a big table would
 * otherwise flood our own ring with events nobody sends, overflow it and
 * answer with a snapshot back to the peer, which would do the same. */
static __thread uint8_t feed_origin;

static struct sticky_event *feed_push(struct sticky_table *t, struct sticky_shard *sh, enum sticky_event_type type,
                      struct sticky_entry *e, uint64_t now_ms)
{
    static __thread struct sticky_event discard;
    if (feed_origin == STICKY_ORIGIN_PEER) {
        if (e && (type == STICKY_EV_SET || type == STICKY_EV_REFRESH))
            e->fed_expire_ms = e->expire_ms;        /* the peer knows this expiry */
        memset(&discard, 0, sizeof(discard));
        return &discard;
    }
    uint64_t seq = atomic_fetch_add(&t->seq, 1) + 1;
    struct sticky_event *ev = feed_ring_push(&sh->feed, seq);
    ev->type = (uint8_t)type;
    ev->at_ms = now_ms;
    if (!e)
        return ev;
    struct sticky_entry_view v;
    entry_view(e, &v, ev->backend);
    ev->kind = (uint8_t)v.kind;
    ev->key_len = (uint8_t)v.key_len;
    memcpy(ev->key, v.key, v.key_len);
    if (type == STICKY_EV_SET || type == STICKY_EV_REFRESH) {
        strcpy(ev->server, v.server);
        ev->expire_ms = e->expire_ms;
        ev->ttl_ms = e->ttl_ms;
        e->fed_expire_ms = e->expire_ms;
    }
    return ev;
}

static void entry_remove(struct sticky_table *t, struct sticky_shard *sh, struct sticky_entry *e,
                         enum sticky_event_type why, uint64_t now_ms)
{
    if (why)
        feed_push(t, sh, why, e, now_ms);
    HASH_DELETE(hh, sh->hash, e);
    TAILQ_REMOVE(&sh->lru, e, lru);
    sh->count--;
    atomic_fetch_sub(&t->count, 1);
    free(e);
}

static unsigned round_pow2(unsigned n)
{
    unsigned p = 1;
    while (p < n && p < 256)
        p <<= 1;
    return p;
}

struct sticky_table *sticky_create(unsigned nshards, unsigned max_entries,
                                   unsigned feed_per_shard, uint64_t seed)
{
    struct sticky_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->nshards = round_pow2(nshards);
    t->seed = seed;
    t->shards = aligned_alloc(64, sizeof(*t->shards) * t->nshards);
    if (!t->shards) {
        free(t);
        return NULL;
    }
    for (unsigned i = 0; i < t->nshards; i++) {
        struct sticky_shard *sh = &t->shards[i];
        memset(sh, 0, sizeof(*sh));
        pthread_mutex_init(&sh->lock, NULL);
        TAILQ_INIT(&sh->lru);
        if (feed_ring_init(&sh->feed, feed_per_shard, sizeof(struct sticky_event)) < 0) {
            t->nshards = i + 1;
            sticky_destroy(t);
            return NULL;
        }
    }
    sticky_set_max(t, max_entries);
    return t;
}

void sticky_destroy(struct sticky_table *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->nshards; i++) {
        struct sticky_shard *sh = &t->shards[i];
        struct sticky_entry *e, *tmp;
        HASH_ITER(hh, sh->hash, e, tmp) {
            HASH_DELETE(hh, sh->hash, e);
            free(e);
        }
        feed_ring_free(&sh->feed);
        pthread_mutex_destroy(&sh->lock);
    }
    free(t->shards);
    free(t);
}

void sticky_set_max(struct sticky_table *t, unsigned max_entries)
{
    atomic_store(&t->max, max_entries ? max_entries : 1);
}

static struct sticky_entry *shard_find(struct sticky_shard *sh, const struct kbuf *kb)
{
    struct sticky_entry *e = NULL;
    HASH_FIND_BYHASHVALUE(hh, sh->hash, kb->b, kb->len, (unsigned)kb->hash, e);
    return e;
}

/* Gives e a new expiry; feeds a REFRESH only when the expiry moved enough
 * (coalescing, see sticky.h). e moves to the most recently used end only
 * when its expiry moved by 1/64 of the TTL: relinking writes to its two
 * neighbours, cold cache lines in a big table, and a busy client would pay
 * that on every request for an LRU order nobody needs that exact. */
static void entry_touch(struct sticky_table *t, struct sticky_shard *sh, struct sticky_entry *e,
                        uint64_t now_ms, uint32_t ttl_ms)
{
    uint64_t was = e->expire_ms;
    e->expire_ms = now_ms + ttl_ms;
    e->ttl_ms = ttl_ms;
    if (e->expire_ms >= was + ttl_ms / 64 + 1 && TAILQ_NEXT(e, lru)) {
        TAILQ_REMOVE(&sh->lru, e, lru);
        TAILQ_INSERT_TAIL(&sh->lru, e, lru);
    }
    uint64_t step = ttl_ms / STICKY_REFRESH_DIV;
    if (e->expire_ms >= e->fed_expire_ms + (step ? step : 1))
        feed_push(t, sh, STICKY_EV_REFRESH, e, now_ms);
}

int sticky_lookup(struct sticky_table *t, const struct sticky_key *key, uint64_t now_ms,
                  uint32_t ttl_ms, char *server)
{
    struct kbuf kb;
    if (kbuf_make(t, key, &kb) < 0)
        return 0;
    struct sticky_shard *sh = shard_of(t, kb.hash);
    int found = 0;
    pthread_mutex_lock(&sh->lock);
    struct sticky_entry *e = shard_find(sh, &kb);
    if (e && e->expire_ms <= now_ms) {
        entry_remove(t, sh, e, STICKY_EV_EXPIRE, now_ms);
    } else if (e) {
        entry_touch(t, sh, e, now_ms, ttl_ms);
        strcpy(server, entry_server(e));
        found = 1;
    }
    pthread_mutex_unlock(&sh->lock);
    return found;
}

static struct sticky_entry *entry_new(const struct kbuf *kb, const char *server, size_t slen)
{
    struct sticky_entry *e = malloc(sizeof(*e) + kb->len + slen + 1);
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->klen = (uint8_t)kb->len;
    e->srv_cap = (uint8_t)(slen + 1);
    memcpy(e->buf, kb->b, kb->len);
    memcpy(e->buf + kb->len, server, slen + 1);
    return e;
}

/* Adds e (not yet in the shard). When the table is full the shard makes
 * room from its own least recently used end: no other lock is taken, and
 * keys spread evenly over shards, so this approximates a table-wide LRU.
 * (A full table whose inserting shard is empty goes over by one entry.)
 * -1 if the hash could not take it. */
static int shard_add(struct sticky_table *t, struct sticky_shard *sh, struct sticky_entry *e,
                     uint64_t hash, uint64_t now_ms)
{
    unsigned max = atomic_load(&t->max);
    while (atomic_load(&t->count) >= max && !TAILQ_EMPTY(&sh->lru))
        entry_remove(t, sh, TAILQ_FIRST(&sh->lru), STICKY_EV_EVICT, now_ms);
    int sticky_oom = 0;
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, sh->hash, e->buf, e->klen, (unsigned)hash, e);
    if (sticky_oom)                    /* uthash rolled the add back (table or bucket expansion) */
        return -1;
    TAILQ_INSERT_TAIL(&sh->lru, e, lru);
    sh->count++;
    atomic_fetch_add(&t->count, 1);
    return 0;
}

/* sticky_set with an explicit expiry: from the peer, a known binding only
 * ever moves its expiry later (the peer's copy of an entry we refreshed
 * since may be older than ours). */
static int set_entry(struct sticky_table *t, const struct sticky_key *key, const char *server,
                     uint64_t now_ms, uint64_t expire_ms, uint32_t ttl_ms)
{
    struct kbuf kb;
    size_t slen = server ? strlen(server) : 0;
    if (slen == 0 || slen > STICKY_NAME_MAX || kbuf_make(t, key, &kb) < 0)
        return -1;
    struct sticky_shard *sh = shard_of(t, kb.hash);
    int rc = 0;
    pthread_mutex_lock(&sh->lock);
    struct sticky_entry *e = shard_find(sh, &kb);
    if (e && strcmp(entry_server(e), server) == 0) {
        if (!feed_origin)
            entry_touch(t, sh, e, now_ms, ttl_ms);  /* same binding: a refresh */
        else if (expire_ms > e->expire_ms) {
            e->expire_ms = expire_ms;
            e->ttl_ms = ttl_ms;
            e->fed_expire_ms = expire_ms;           /* the peer knows it already */
        }
        pthread_mutex_unlock(&sh->lock);
        return 0;
    }
    if (e && e->srv_cap <= slen) {     /* longer name: a new entry replaces it */
        entry_remove(t, sh, e, 0, now_ms);
        e = NULL;
    }
    if (e) {
        memcpy(entry_server(e), server, slen + 1);
        TAILQ_REMOVE(&sh->lru, e, lru);
        TAILQ_INSERT_TAIL(&sh->lru, e, lru);
    } else if ((e = entry_new(&kb, server, slen)) == NULL ||
               shard_add(t, sh, e, kb.hash, now_ms) < 0) {
        free(e);
        rc = -1;
    }
    if (rc == 0) {
        e->expire_ms = expire_ms;
        e->ttl_ms = ttl_ms;
        feed_push(t, sh, STICKY_EV_SET, e, now_ms);
    }
    pthread_mutex_unlock(&sh->lock);
    return rc;
}

int sticky_set(struct sticky_table *t, const struct sticky_key *key, const char *server,
               uint64_t now_ms, uint32_t ttl_ms)
{
    return set_entry(t, key, server, now_ms, now_ms + ttl_ms, ttl_ms);
}

int sticky_apply_set(struct sticky_table *t, const struct sticky_key *key, const char *server,
                     uint64_t now_ms, uint32_t remaining_ms, uint32_t ttl_ms)
{
    feed_origin = STICKY_ORIGIN_PEER;
    int rc = set_entry(t, key, server, now_ms, now_ms + remaining_ms, ttl_ms);
    feed_origin = STICKY_ORIGIN_LOCAL;
    return rc;
}

int sticky_apply_delete(struct sticky_table *t, const struct sticky_key *key, uint64_t now_ms)
{
    feed_origin = STICKY_ORIGIN_PEER;
    int rc = sticky_delete(t, key, now_ms);
    feed_origin = STICKY_ORIGIN_LOCAL;
    return rc;
}

unsigned sticky_apply_clear(struct sticky_table *t, const char *backend, uint64_t now_ms)
{
    feed_origin = STICKY_ORIGIN_PEER;
    unsigned n = sticky_clear(t, backend, now_ms);
    feed_origin = STICKY_ORIGIN_LOCAL;
    return n;
}

int sticky_delete(struct sticky_table *t, const struct sticky_key *key, uint64_t now_ms)
{
    struct kbuf kb;
    if (kbuf_make(t, key, &kb) < 0)
        return 0;
    struct sticky_shard *sh = shard_of(t, kb.hash);
    pthread_mutex_lock(&sh->lock);
    struct sticky_entry *e = shard_find(sh, &kb);
    if (e)
        entry_remove(t, sh, e, STICKY_EV_DELETE, now_ms);
    pthread_mutex_unlock(&sh->lock);
    return e != NULL;
}

static void lock_all(struct sticky_table *t)
{
    for (unsigned i = 0; i < t->nshards; i++)
        pthread_mutex_lock(&t->shards[i].lock);
}

static void unlock_all(struct sticky_table *t)
{
    for (unsigned i = t->nshards; i-- > 0;)
        pthread_mutex_unlock(&t->shards[i].lock);
}

/* All shards are locked together so the single CLEAR event is ordered
 * against every other change: a consumer applying the feed in order ends
 * with the same table. */
unsigned sticky_clear(struct sticky_table *t, const char *backend, uint64_t now_ms)
{
    size_t blen = backend ? strlen(backend) : 0;
    unsigned removed = 0;
    lock_all(t);
    for (unsigned i = 0; i < t->nshards; i++) {
        struct sticky_shard *sh = &t->shards[i];
        struct sticky_entry *e, *next;
        for (e = TAILQ_FIRST(&sh->lru); e; e = next) {
            next = TAILQ_NEXT(e, lru);
            if (backend && !entry_backend_is(e, backend, blen))
                continue;
            entry_remove(t, sh, e, 0, now_ms);
            removed++;
        }
    }
    struct sticky_event *ev = feed_push(t, &t->shards[0], STICKY_EV_CLEAR, NULL, now_ms);
    if (backend)
        memcpy(ev->backend, backend, blen < STICKY_NAME_MAX ? blen : STICKY_NAME_MAX);
    unlock_all(t);
    return removed;
}

/* Looks at up to budget entries of one shard from its LRU end. With one
 * TTL in the shard that end holds the earliest expiries; with mixed TTLs a
 * live entry there may hide expired ones further on, so it keeps looking
 * (lookups expire those lazily anyway). */
static unsigned shard_sweep(struct sticky_table *t, struct sticky_shard *sh, uint64_t now_ms,
                            unsigned *budget)
{
    unsigned removed = 0;
    pthread_mutex_lock(&sh->lock);
    struct sticky_entry *e, *next;
    for (e = TAILQ_FIRST(&sh->lru); e; e = next) {
        next = TAILQ_NEXT(e, lru);
        if (*budget == 0)
            break;
        (*budget)--;
        if (e->expire_ms <= now_ms) {
            entry_remove(t, sh, e, STICKY_EV_EXPIRE, now_ms);
            removed++;
        }
    }
    pthread_mutex_unlock(&sh->lock);
    return removed;
}

unsigned sticky_sweep(struct sticky_table *t, uint64_t now_ms, unsigned budget)
{
    unsigned removed = 0;
    for (unsigned n = 0; n < t->nshards && budget > 0; n++) {
        unsigned i = atomic_fetch_add(&t->sweep_next, 1) & (t->nshards - 1);
        unsigned share = budget / (t->nshards - n);
        unsigned b = share ? share : budget;
        budget -= b;
        removed += shard_sweep(t, &t->shards[i], now_ms, &b);
        budget += b;                   /* what a shard did not use goes on */
    }
    return removed;
}

unsigned sticky_count(struct sticky_table *t)
{
    return atomic_load(&t->count);
}

struct count_arg {
    unsigned n;
};

static void count_one(const struct sticky_entry_view *e, void *arg)
{
    (void)e;
    ((struct count_arg *)arg)->n++;
}

unsigned sticky_count_backend(struct sticky_table *t, const char *backend)
{
    struct count_arg c = { 0 };
    sticky_snapshot(t, backend, 0, count_one, &c);
    return c.n;
}

unsigned sticky_nshards(const struct sticky_table *t)
{
    return t->nshards;
}

void sticky_snapshot_shard(struct sticky_table *t, unsigned shard, const char *backend,
                           uint64_t now_ms, sticky_iter_fn *fn, void *arg)
{
    size_t blen = backend ? strlen(backend) : 0;
    struct sticky_shard *sh = &t->shards[shard % t->nshards];
    pthread_mutex_lock(&sh->lock);
    struct sticky_entry *e;
    TAILQ_FOREACH(e, &sh->lru, lru) {
        if ((now_ms && e->expire_ms <= now_ms) ||
            (backend && !entry_backend_is(e, backend, blen)))
            continue;
        struct sticky_entry_view v;
        char bname[STICKY_NAME_MAX + 1];
        entry_view(e, &v, bname);
        fn(&v, arg);
    }
    pthread_mutex_unlock(&sh->lock);
}

uint64_t sticky_snapshot(struct sticky_table *t, const char *backend, uint64_t now_ms,
                         sticky_iter_fn *fn, void *arg)
{
    uint64_t from = atomic_load(&t->seq);
    for (unsigned i = 0; i < t->nshards; i++)
        sticky_snapshot_shard(t, i, backend, now_ms, fn, arg);
    return from;
}

int sticky_feed_read(struct sticky_table *t, uint64_t since_seq, struct sticky_event *out,
                     unsigned max)
{
    struct feed_ring *rings[256];
    for (unsigned i = 0; i < t->nshards; i++)
        rings[i] = &t->shards[i].feed;
    lock_all(t);
    int n = feed_merge_read(rings, t->nshards, since_seq, out, max);
    unlock_all(t);
    return n;
}

uint64_t sticky_feed_seq(struct sticky_table *t)
{
    return atomic_load(&t->seq);
}
