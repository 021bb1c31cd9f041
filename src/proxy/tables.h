/* tables.h - the process's replicated tables (sticky.h, conntable.h):
 * created once, on first use, and kept across reloads (they hold names,
 * not pointers into a runtime). Thin wrappers for the sessions, so each
 * session file only adds one line where a connection starts or ends. */
#ifndef TANDEM_TABLES_H
#define TANDEM_TABLES_H

#include <stdint.h>
#include <sys/socket.h>
#include "conntable.h"
#include "sticky.h"

struct worker;
struct server;
struct runtime;

/* The tables; NULL only if the first creation ran out of memory. */
struct sticky_table *tables_sticky(void);
struct conntable *tables_conns(void);

/* What the peer box's connections are, learned over the sync channel
 * (peer_conns.h); NULL when the config has no sync section. Set once at
 * start-up, before the workers look. */
struct peer_conns;
struct peer_conns *tables_peer_conns(void);
void tables_set_peer_conns(struct peer_conns *pc);

/* The server the peer box gave this client, when the sync channel told us
 * (peer_conns.h): for CONN_UDP the flow with exactly this client and local
 * address, for CONN_TCP the client IP's newest connection (open, or ended
 * within conn_grace). Only a usable server of be (UP, weight > 0, below
 * maxconn) with the same backend name; NULL otherwise or without sync. */
struct backend;
struct server *tables_peer_server(const struct backend *be, enum conn_proto proto,
                                  const char *frontend, const struct sockaddr *client,
                                  const struct sockaddr *local);

/* Sizes the sticky table for rt: the sum of its backends' max_entries
 * (sticky ones), done once per runtime. */
void tables_sticky_fit(const struct runtime *rt);

/* Connection table, from the worker thread that owns the connection. */
struct conn_entry *tables_conn_open(const struct worker *w, enum conn_proto proto,
                                    const char *frontend,
                                    const struct sockaddr_storage *client,
                                    const struct sockaddr_storage *local);
void tables_conn_server(struct conn_entry *c, const struct server *srv);
/* After a valid PROXY header (not LOCAL): the client and local address it
 * carries replace the socket's. */
void tables_conn_addrs(struct conn_entry *c, const struct sockaddr_storage *client,
                       const struct sockaddr_storage *local);
/* Live byte counters (owning worker only; no lock). */
static inline void tables_conn_bytes(struct conn_entry *c, uint64_t in, uint64_t out)
{
    conntable_add_bytes(c, in, out);
}
void tables_conn_close(struct conn_entry *c, uint64_t bytes_in, uint64_t bytes_out);

#endif
