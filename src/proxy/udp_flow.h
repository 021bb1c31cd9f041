/* udp_flow.h - the UDP flow table: flows keyed by (client address, local
 * address), bounded, with an LRU list ordered by last activity so that both
 * idle expiry and eviction of the least recently used flow are O(1).
 *
 * Pure bookkeeping: no I/O, time comes in as an argument. udp_proxy.c
 * embeds a struct udp_flow in its own flow object. */
#ifndef TANDEM_UDP_FLOW_H
#define TANDEM_UDP_FLOW_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <uthash.h>

/* Canonical, padding-free key: IPv4 addresses are stored IPv4-mapped so a
 * client reaching a dual-stack socket and a v4 socket compares the same,
 * and the whole struct can be hashed and compared as bytes. */
struct udp_flow_key {
    uint8_t client_ip[16];
    uint8_t local_ip[16];
    uint16_t client_port;              /* network order */
    uint16_t local_port;               /* network order */
};

struct udp_flow {
    struct udp_flow_key key;
    uint64_t last_ms;                  /* last datagram, either direction */
    UT_hash_handle hh;
    TAILQ_ENTRY(udp_flow) lru;         /* head = least recently used */
};
TAILQ_HEAD(udp_flow_lru, udp_flow);

struct udp_flowtab {
    struct udp_flow *hash;             /* uthash head */
    struct udp_flow_lru lru;
    unsigned count;
    unsigned max;                      /* bound; insert needs count < max */
    uint64_t timeout_ms;               /* idle time before a flow expires */
    uint64_t seed;                     /* hash seed, so clients cannot aim at one bucket */
};

/* Builds the key. `local` may carry port 0 when only the IP is known; the
 * caller then passes the bound port in local_port (network order, 0 to
 * take it from `local`). Returns 0, or -1 for a family other than
 * AF_INET/AF_INET6. */
int udp_flow_key_make(struct udp_flow_key *k, const struct sockaddr *client,
                      const struct sockaddr *local, uint16_t local_port);

void udp_flowtab_init(struct udp_flowtab *t, unsigned max, uint64_t timeout_ms,
                      uint64_t seed);
/* Forgets every flow without touching them (the caller frees its flows
 * first, e.g. by draining udp_flowtab_oldest). */
void udp_flowtab_clear(struct udp_flowtab *t);

struct udp_flow *udp_flowtab_find(struct udp_flowtab *t, const struct udp_flow_key *k);
/* Adds f (its key already set) as the most recently used flow. The caller
 * makes room first (udp_flowtab_full / udp_flowtab_oldest). Returns 0, or
 * -1 when memory for the hash buckets ran out (f is then not in the table). */
int udp_flowtab_insert(struct udp_flowtab *t, struct udp_flow *f, uint64_t now_ms);
void udp_flowtab_remove(struct udp_flowtab *t, struct udp_flow *f);
/* Marks activity: f becomes the most recently used flow. */
void udp_flowtab_touch(struct udp_flowtab *t, struct udp_flow *f, uint64_t now_ms);

int udp_flowtab_full(const struct udp_flowtab *t);
/* The least recently used flow (the one to evict), or NULL if empty. */
struct udp_flow *udp_flowtab_oldest(const struct udp_flowtab *t);
/* The least recently used flow if it has been idle for timeout_ms at
 * now_ms, else NULL. Call repeatedly (removing each) to expire them all. */
struct udp_flow *udp_flowtab_expired(const struct udp_flowtab *t, uint64_t now_ms);
/* When the next flow expires (ms, monotonic), or UINT64_MAX if none. */
uint64_t udp_flowtab_next_expiry(const struct udp_flowtab *t);

#endif
