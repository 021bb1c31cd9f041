/* peer_conns.h - what this box knows of the peer box's connections,
 * learned over the sync channel (docs/sync.md, "On the survivor").
 *
 * The sync thread applies the peer's connection-table events here; the
 * workers ask it, at a new flow or connection only (never per request):
 *   - UDP: a datagram from a client whose flow the peer was carrying keeps
 *     that flow's server (peer_conns_find_flow);
 *   - TCP: a client that had a connection through the peer keeps its
 *     server for a grace period after the connection (or the peer) went
 *     away (peer_conns_find_client);
 *   - active-active: how many connections the peer has open to each
 *     server, so leastconn and maxconn count both boxes
 *     (peer_conns_counts).
 *
 * Entries are keyed by the peer's connection id. An open entry lives until
 * the peer closes it, a snapshot replaces the table, or the peer is lost:
 * then every open entry with a server becomes a "recent" one that lives
 * grace_ms more.
 * A closed tcp/http connection with a server also leaves a recent entry
 * (the client may come back), a closed udp flow leaves nothing. The table
 * is bounded: past max_entries, recent entries go first (oldest first),
 * then the insert is refused (counted). One mutex; pure otherwise: no
 * I/O, time comes in as an argument (monotonic ms). */
#ifndef TANDEM_PEER_CONNS_H
#define TANDEM_PEER_CONNS_H

#include <stdint.h>
#include <sys/socket.h>
#include "conntable.h"

struct peer_conns;

struct peer_conns_stats {
    unsigned open;                     /* live entries (the peer's open connections) */
    unsigned recent;                   /* closed or orphaned, within grace */
    uint64_t applied;                  /* events applied (refused ones included) */
    uint64_t refused;                  /* inserts refused by the bound (or out of memory) */
};

/* grace_ms: how long a recent entry lives; max_entries (at least 1)
 * bounds open and recent entries together. NULL if out of memory. */
struct peer_conns *peer_conns_new(unsigned max_entries, uint64_t grace_ms);
void peer_conns_free(struct peer_conns *pc);
void peer_conns_set_grace(struct peer_conns *pc, uint64_t grace_ms);

/* One event of the peer's feed (or a snapshot entry, as OPEN): OPEN and
 * STATE insert or replace the entry with ci (a recent one is open again);
 * CLOSE ends it: a tcp/http one with a server stays recent, even when its
 * id was unknown (its open was refused, or it closed between a snapshot
 * and the feed). An unknown proto or type is ignored. */
void peer_conns_apply(struct peer_conns *pc, enum conn_event_type type,
                      const struct conn_info *ci, uint64_t now_ms);
/* A snapshot of the peer's table begins: open entries are dropped (the
 * snapshot re-adds the live ones), recent ones are kept. */
void peer_conns_snapshot_begin(struct peer_conns *pc, uint64_t now_ms);
/* The peer is gone (dead or unreachable): every open entry with a server
 * becomes recent with grace_ms from now (one without is dropped: no lookup
 * could use it). */
void peer_conns_orphan(struct peer_conns *pc, uint64_t now_ms);
/* Drops recent entries past their grace. Returns how many. */
unsigned peer_conns_expire(struct peer_conns *pc, uint64_t now_ms);

/* The server of the peer's open or recent udp flow with exactly this
 * client and local address (and port) on frontend. Returns 1 and fills
 * backend and server (CONNTABLE_NAME_MAX + 1 bytes each), or 0. */
int peer_conns_find_flow(struct peer_conns *pc, const char *frontend,
                         const struct sockaddr *client, const struct sockaddr *local,
                         char *backend, char *server, uint64_t now_ms);
/* The server of the newest open or recent entry of proto (CONN_TCP or
 * CONN_HTTP) from this client IP (any port) on frontend. Returns 1 and
 * fills backend and server, or 0. */
int peer_conns_find_client(struct peer_conns *pc, enum conn_proto proto, const char *frontend,
                           const struct sockaddr *client, char *backend, char *server,
                           uint64_t now_ms);

/* Calls fn once per (backend, server) with the number of the peer's open
 * connections bound to it (n > 0 only). The counts are kept as events
 * apply, so this walks servers, not connections; the lock is held: fn
 * must not call back. */
typedef void peer_conns_count_fn(const char *backend, const char *server, unsigned n,
                                 void *arg);
void peer_conns_counts(struct peer_conns *pc, peer_conns_count_fn *fn, void *arg);
/* Calls fn for every open entry (the lock held: fn must not call back). */
void peer_conns_walk(struct peer_conns *pc, conntable_iter_fn *fn, void *arg);
void peer_conns_stats(struct peer_conns *pc, struct peer_conns_stats *out);

#endif
