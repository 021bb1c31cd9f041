/* http_pool.h - server connections and the per-thread idle pools that keep
 * them between requests.
 *
 * A pool belongs to one worker thread and one backend (w->pools[i] for
 * w->rt->backends[i]): no lock. It holds at most `cap` idle connections,
 * each listed twice: on its server's list (newest last, so the warmest is
 * reused) and on the pool's age list (oldest first, for eviction and
 * expiry). The list operations are pure bookkeeping, tested directly; the
 * socket and event side is in http_conn.c.
 *
 * The pool also queues the worker's sessions that wait for a free server
 * slot in this backend, so a slot released on this thread wakes one. */
#ifndef TANDEM_HTTP_POOL_H
#define TANDEM_HTTP_POOL_H

#include <event2/event_struct.h>
#include <stdint.h>
#include <sys/queue.h>
#include "server.h"

struct http_session;
struct worker;
struct ssl_st;

/* One connection to a server, busy (owner set) or idle in a pool. */
struct http_sconn {
    int fd;
    struct server *srv;
    struct http_session *owner;        /* NULL while idle */
    struct event rev;                  /* EV_READ|EV_PERSIST, added while open */
    struct event wev;                  /* EV_WRITE|EV_PERSIST, added only when blocked */
    unsigned wev_on:1, rev_on:1;
    unsigned connected:1;
    unsigned no_reuse:1;               /* carried a PROXY header: bound to one client */
    unsigned tls_ready:1;              /* TLS handshake done */
    struct ssl_st *ssl;                /* re-encryption (backend tls), else NULL */
    unsigned requests;                 /* requests sent on it */
    uint64_t idle_since_ms;
    struct http_pool *pool;            /* set while idle */
    TAILQ_ENTRY(http_sconn) srv_link;  /* on the pool's per-server list */
    TAILQ_ENTRY(http_sconn) age_link;  /* on the pool's age list */
};
TAILQ_HEAD(http_sconn_list, http_sconn);
TAILQ_HEAD(http_waiter_list, http_session);

struct http_pool {
    struct backend *be;
    struct worker *w;
    unsigned cap;                      /* idle connections kept, 0 = none */
    uint64_t idle_ms;                  /* idle connections older than this close */
    unsigned count;
    unsigned nservers;
    struct server **servers;           /* be->servers as of build: index check */
    struct http_sconn_list *by_server; /* [nservers] */
    struct http_sconn_list by_age;
    struct event *expire_ev;           /* NULL in unit tests */
    struct http_waiter_list waiters;   /* sessions queued for a server slot */
};

/* Pure bookkeeping. http_pool_setup allocates the per-server lists (returns
 * -1 on allocation failure); http_pool_teardown frees them (the caller has
 * closed the connections). */
int http_pool_setup(struct http_pool *p, struct backend *be, unsigned cap, uint64_t idle_ms);
void http_pool_teardown(struct http_pool *p);

/* Adds an idle connection. Returns a connection the caller must close: the
 * oldest one evicted to make room, or sc itself when it cannot be kept
 * (pool of size 0, unknown server). NULL when nothing needs closing. */
struct http_sconn *http_pool_put(struct http_pool *p, struct http_sconn *sc, uint64_t now_ms);

/* Takes the most recently idled connection to srv, or NULL. */
struct http_sconn *http_pool_take(struct http_pool *p, const struct server *srv);

/* Unlinks an idle connection (closed by its server, or expired). */
void http_pool_remove(struct http_pool *p, struct http_sconn *sc);

/* The oldest connection idle since before now - idle_ms, or NULL. */
struct http_sconn *http_pool_expired(struct http_pool *p, uint64_t now_ms);

/* When the oldest idle connection expires (valid if count > 0). */
uint64_t http_pool_next_expiry(const struct http_pool *p);

#endif
