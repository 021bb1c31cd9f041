/* conntable.h - the connection table: every live client connection or
 * flow (http, tcp, udp) of this proxy, meant to be replicated to the peer
 * box (docs/sticky.md, "Connection table").
 *
 * One shard per worker thread: a worker opens and closes its connections
 * in its own shard, so the only lock on the hot path is its shard's mutex,
 * uncontended except while a reader (status socket, future sync thread)
 * walks that shard. Ids are unique per process: the shard number in the
 * top 16 bits, the shard's counter below. Opens, server and address
 * changes and closes go to a change feed like the sticky table's. Byte
 * counters are relaxed atomics the owning worker adds to without a lock
 * and readers load (they feed nothing until the close). Pure: no I/O, time comes in
 * as an argument (wall-clock ms, so a start time means the same on the
 * peer). */
#ifndef TANDEM_CONNTABLE_H
#define TANDEM_CONNTABLE_H

#include <stdint.h>
#include <sys/socket.h>

#define CONNTABLE_NAME_MAX 64

enum conn_proto { CONN_HTTP = 1, CONN_TCP, CONN_UDP };

enum conn_state {
    CONN_ST_CLIENT = 1,                /* accepted, no server yet */
    CONN_ST_SERVER,                    /* bound to a server */
    CONN_ST_CLOSED,                    /* only in CLOSE events */
};

/* What the table knows about one connection; also the feed's payload.
 * Addresses are 16 bytes (IPv4-mapped) with ports in network order. */
struct conn_info {
    uint64_t id;
    uint64_t start_ms;                 /* wall clock */
    uint64_t bytes_in;                 /* from the client, so far (STATE/OPEN: 0) */
    uint64_t bytes_out;                /* to the client, so far (STATE/OPEN: 0) */
    uint8_t client_ip[16];
    uint8_t local_ip[16];
    uint16_t client_port;
    uint16_t local_port;
    uint8_t proto;                     /* enum conn_proto */
    uint8_t state;                     /* enum conn_state */
    char frontend[CONNTABLE_NAME_MAX + 1];
    char backend[CONNTABLE_NAME_MAX + 1];   /* "" until a server is chosen */
    char server[CONNTABLE_NAME_MAX + 1];
};

enum conn_event_type { CONN_EV_OPEN = 1, CONN_EV_STATE, CONN_EV_CLOSE };

struct conn_event {
    uint64_t seq;                      /* first: table-wide, increasing, from 1 */
    uint64_t at_ms;
    uint8_t type;                      /* enum conn_event_type */
    struct conn_info info;             /* as it was after the change */
};

struct conntable;
struct conn_entry;

/* nshards: 1..4096 (one per worker thread is the intent). NULL if out of
 * memory. */
struct conntable *conntable_create(unsigned nshards, unsigned feed_per_shard);
void conntable_destroy(struct conntable *t);

/* Registers a connection in shard (taken modulo nshards; a worker passes
 * its id). Returns its handle, or NULL when out of memory (the
 * connection then simply goes unlisted). */
struct conn_entry *conntable_open(struct conntable *t, unsigned shard, enum conn_proto proto,
                                  const char *frontend, const struct sockaddr *client,
                                  const struct sockaddr *local, uint64_t now_ms);
uint64_t conntable_id(const struct conn_entry *c);
/* The connection now goes to backend/server (an http connection may
 * change server between requests; an unchanged pair feeds nothing). */
void conntable_set_server(struct conntable *t, struct conn_entry *c, const char *backend,
                          const char *server, uint64_t now_ms);
/* The client (and local) address after all, e.g. from a PROXY header:
 * NULL keeps the one held. A change feeds a STATE event. */
void conntable_set_addrs(struct conntable *t, struct conn_entry *c,
                         const struct sockaddr *client, const struct sockaddr *local,
                         uint64_t now_ms);
/* Adds to the live byte counters. Only the thread that owns c may call it
 * (no lock, relaxed atomics: a snapshot sees recent values). NULL c is a
 * no-op. */
void conntable_add_bytes(struct conn_entry *c, uint64_t in, uint64_t out);
/* Ends it (CLOSE event with these byte totals, which replace the live
 * counters) and frees the handle. NULL c is a no-op. */
void conntable_close(struct conntable *t, struct conn_entry *c, uint64_t bytes_in,
                     uint64_t bytes_out, uint64_t now_ms);

unsigned conntable_count(struct conntable *t);
/* Calls fn for every live connection, one shard locked at a time (fn must
 * not call back into the table). Returns the feed sequence to resume from,
 * as sticky_snapshot does. */
typedef void conntable_iter_fn(const struct conn_info *ci, void *arg);
uint64_t conntable_snapshot(struct conntable *t, conntable_iter_fn *fn, void *arg);

/* The same for one shard (0..conntable_nshards - 1). */
unsigned conntable_nshards(const struct conntable *t);
void conntable_snapshot_shard(struct conntable *t, unsigned shard, conntable_iter_fn *fn,
                              void *arg);

/* Change feed, as sticky_feed_read: count, or -1 when the consumer fell
 * behind and must resync from a snapshot. */
int conntable_feed_read(struct conntable *t, uint64_t since_seq, struct conn_event *out,
                        unsigned max);
uint64_t conntable_feed_seq(struct conntable *t);

const char *conntable_proto_name(enum conn_proto p);
const char *conntable_state_name(enum conn_state s);

#endif
