/* sticky.h - the sticky-session table: persistence key -> server name and
 * expiry, shared by every worker thread and meant to be replicated to the
 * peer box (docs/sticky.md).
 *
 * A key is (kind, backend name, bytes): an inserted cookie's value, a
 * learned application cookie's value, a client IP, a hash key. The value is
 * a server *name*, never a pointer, so an entry survives reloads and means
 * the same thing on the peer. The table is bounded (LRU eviction per
 * shard), entries expire (lazily on lookup, plus sticky_sweep's bounded
 * steps) and every change is appended to a change feed with a table-wide
 * sequence number.
 *
 * Sharded by a hash of the key (XXH3), one mutex per shard; uthash inside
 * each shard. Pure: no I/O, time comes in as an argument (monotonic ms). */
#ifndef TANDEM_STICKY_H
#define TANDEM_STICKY_H

#include <stddef.h>
#include <stdint.h>

#define STICKY_NAME_MAX 64             /* backend and server names (conf NAME_MAX_LEN) */
#define STICKY_KEY_MAX  64             /* key bytes; callers digest longer values */

enum sticky_kind {
    STICKY_KEY_COOKIE = 1,             /* value of the cookie the proxy inserted */
    STICKY_KEY_APP = 2,                /* value of a learned application cookie */
    STICKY_KEY_SOURCE = 3,             /* client IP, 16 bytes (IPv4-mapped) */
    STICKY_KEY_HASH = 4,               /* a balancer hash key */
};

struct sticky_key {
    enum sticky_kind kind;
    const char *backend;               /* NUL-terminated, <= STICKY_NAME_MAX */
    const void *data;
    size_t len;                        /* 1..STICKY_KEY_MAX */
};

enum sticky_event_type {
    STICKY_EV_SET = 1,                 /* new entry, or its server changed */
    STICKY_EV_REFRESH,                 /* expiry moved forward (coalesced) */
    STICKY_EV_DELETE,                  /* removed by sticky_delete */
    STICKY_EV_EXPIRE,                  /* TTL ran out */
    STICKY_EV_EVICT,                   /* pushed out by the size bound (LRU) */
    STICKY_EV_CLEAR,                   /* every entry (backend "") or a backend's */
};

/* One change-feed record. Fixed size so the rings never allocate. */
struct sticky_event {
    uint64_t seq;                      /* first: table-wide, increasing, from 1 */
    uint64_t at_ms;                    /* caller's clock when it happened */
    uint64_t expire_ms;                /* SET, REFRESH: new expiry (same clock) */
    uint32_t ttl_ms;                   /* SET, REFRESH: the TTL in use */
    uint8_t type;                      /* enum sticky_event_type */
    uint8_t kind;                      /* enum sticky_kind; 0 for CLEAR */
    uint8_t key_len;
    uint8_t key[STICKY_KEY_MAX];
    char backend[STICKY_NAME_MAX + 1];
    char server[STICKY_NAME_MAX + 1];  /* SET, REFRESH; else "" */
};

/* What sticky_snapshot hands to its callback, one live entry at a time. */
struct sticky_entry_view {
    enum sticky_kind kind;
    const char *backend;
    const uint8_t *key;
    size_t key_len;
    const char *server;
    uint64_t expire_ms;
    uint32_t ttl_ms;
};

struct sticky_table;

/* nshards is rounded up to a power of two (1..256); max_entries bounds the
 * whole table (a full table evicts from the inserting key's shard);
 * feed_per_shard is each shard's ring size in events; seed keys the hash
 * (random in the daemon, so clients cannot aim keys at one shard). NULL if
 * out of memory. */
struct sticky_table *sticky_create(unsigned nshards, unsigned max_entries,
                                   unsigned feed_per_shard, uint64_t seed);
void sticky_destroy(struct sticky_table *t);
/* Changes the bound; a table above it shrinks at the next insertions. */
void sticky_set_max(struct sticky_table *t, unsigned max_entries);

/* Finds key's server. A live entry has its expiry moved to now + ttl_ms
 * and becomes most recently used; an expired one is removed (EXPIRE).
 * Returns 1 and copies the server name into server (STICKY_NAME_MAX + 1
 * bytes), or 0. */
int sticky_lookup(struct sticky_table *t, const struct sticky_key *key, uint64_t now_ms,
                  uint32_t ttl_ms, char *server);
/* Binds key to server until now + ttl_ms (insert or replace; the same
 * binding again is only a refresh). Evicts when the table is full. Returns 0, or -1 on a bad
 * key/name or no memory. */
int sticky_set(struct sticky_table *t, const struct sticky_key *key, const char *server,
               uint64_t now_ms, uint32_t ttl_ms);
/* Changes learned from the peer box (the sync channel): the same as
 * sticky_set (with the peer's remaining time; a binding we already hold
 * only has its expiry moved later), sticky_delete and sticky_clear, but
 * they feed no events: the sync sender never sends the peer back what it
 * told us (a snapshot does carry them: it is the whole table). */
#define STICKY_ORIGIN_LOCAL 0
#define STICKY_ORIGIN_PEER  1
int sticky_apply_set(struct sticky_table *t, const struct sticky_key *key, const char *server,
                     uint64_t now_ms, uint32_t remaining_ms, uint32_t ttl_ms);
int sticky_apply_delete(struct sticky_table *t, const struct sticky_key *key, uint64_t now_ms);
unsigned sticky_apply_clear(struct sticky_table *t, const char *backend, uint64_t now_ms);

/* Returns 1 if the key was there. */
int sticky_delete(struct sticky_table *t, const struct sticky_key *key, uint64_t now_ms);
/* Removes every entry (backend NULL) or those of one backend; one CLEAR
 * event. Returns how many were removed. */
unsigned sticky_clear(struct sticky_table *t, const char *backend, uint64_t now_ms);

/* Removes expired entries, looking at most `budget` entries (from the
 * least recently used end of the next shards in turn), so a caller on a
 * timer never stalls. Returns how many were removed. */
unsigned sticky_sweep(struct sticky_table *t, uint64_t now_ms, unsigned budget);

unsigned sticky_count(struct sticky_table *t);
/* Entries of one backend (NULL: all), expired ones not yet removed
 * included. Walks the table. */
unsigned sticky_count_backend(struct sticky_table *t, const char *backend);

/* Calls fn for each live entry (backend NULL: all), one shard locked at a
 * time; fn must not call back into the table. Returns the sequence number
 * to resume the feed from: every event up to it is reflected in what fn
 * saw, later ones may be too (applying them again is harmless). */
typedef void sticky_iter_fn(const struct sticky_entry_view *e, void *arg);
uint64_t sticky_snapshot(struct sticky_table *t, const char *backend, uint64_t now_ms,
                         sticky_iter_fn *fn, void *arg);

/* The same for one shard (0..sticky_nshards - 1), for callers that walk
 * the table a piece at a time (the status socket streams it). */
unsigned sticky_nshards(const struct sticky_table *t);
void sticky_snapshot_shard(struct sticky_table *t, unsigned shard, const char *backend,
                           uint64_t now_ms, sticky_iter_fn *fn, void *arg);

/* Change feed: copies up to max events with seq > since_seq, in order.
 * Returns the count (0: nothing new), or -1 when events after since_seq
 * were already overwritten: the consumer must resync (sticky_snapshot). */
int sticky_feed_read(struct sticky_table *t, uint64_t since_seq, struct sticky_event *out,
                     unsigned max);
/* Newest sequence number handed out (0: none yet). */
uint64_t sticky_feed_seq(struct sticky_table *t);

/* Refresh events are coalesced: one is fed only once an entry's expiry has
 * moved by at least 1/STICKY_REFRESH_DIV of its TTL since the last event
 * for it, so a busy client does not flood the feed; a peer's copy expires
 * at most that much early. */
#define STICKY_REFRESH_DIV 8

#endif
