/* http_pool.c - idle server-connection pool bookkeeping (see http_pool.h).
 * No I/O here: the caller closes what these functions hand back. */
#include "config.h"
#include "http_pool.h"

#include <stdlib.h>
#include <string.h>

int http_pool_setup(struct http_pool *p, struct backend *be, unsigned cap, uint64_t idle_ms)
{
    memset(p, 0, sizeof(*p));
    p->be = be;
    p->cap = cap;
    p->idle_ms = idle_ms;
    p->nservers = be->nservers;
    TAILQ_INIT(&p->by_age);
    TAILQ_INIT(&p->waiters);
    unsigned n = p->nservers ? p->nservers : 1;
    p->servers = calloc(n, sizeof(*p->servers));
    p->by_server = calloc(n, sizeof(*p->by_server));
    if (!p->servers || !p->by_server) {
        http_pool_teardown(p);
        return -1;
    }
    for (unsigned i = 0; i < p->nservers; i++) {
        p->servers[i] = be->servers[i];
        TAILQ_INIT(&p->by_server[i]);
    }
    return 0;
}

void http_pool_teardown(struct http_pool *p)
{
    free(p->servers);
    free(p->by_server);
    p->servers = NULL;
    p->by_server = NULL;
    p->nservers = 0;
    p->count = 0;
}

/* The per-server list of srv, or NULL if srv is not one of this pool's
 * servers (a server object from another runtime). */
static struct http_sconn_list *server_list(struct http_pool *p, const struct server *srv)
{
    if (srv->index < p->nservers && p->servers[srv->index] == srv)
        return &p->by_server[srv->index];
    /* A reload may have renumbered a server that it carried over. */
    for (unsigned i = 0; i < p->nservers; i++)
        if (p->servers[i] == srv)
            return &p->by_server[i];
    return NULL;
}

struct http_sconn *http_pool_put(struct http_pool *p, struct http_sconn *sc, uint64_t now_ms)
{
    struct http_sconn_list *list = server_list(p, sc->srv);
    if (p->cap == 0 || !list)
        return sc;
    struct http_sconn *evicted = NULL;
    if (p->count >= p->cap) {
        evicted = TAILQ_FIRST(&p->by_age);
        http_pool_remove(p, evicted);
    }
    sc->pool = p;
    sc->idle_since_ms = now_ms;
    TAILQ_INSERT_TAIL(list, sc, srv_link);
    TAILQ_INSERT_TAIL(&p->by_age, sc, age_link);
    p->count++;
    return evicted;
}

struct http_sconn *http_pool_take(struct http_pool *p, const struct server *srv)
{
    if (p->count == 0)
        return NULL;
    struct http_sconn_list *list = server_list(p, srv);
    if (!list)
        return NULL;
    struct http_sconn *sc = TAILQ_LAST(list, http_sconn_list);
    if (sc)
        http_pool_remove(p, sc);
    return sc;
}

void http_pool_remove(struct http_pool *p, struct http_sconn *sc)
{
    struct http_sconn_list *list = server_list(p, sc->srv);
    if (list)
        TAILQ_REMOVE(list, sc, srv_link);
    TAILQ_REMOVE(&p->by_age, sc, age_link);
    sc->pool = NULL;
    p->count--;
}

struct http_sconn *http_pool_expired(struct http_pool *p, uint64_t now_ms)
{
    struct http_sconn *sc = TAILQ_FIRST(&p->by_age);
    if (!sc || sc->idle_since_ms + p->idle_ms > now_ms)
        return NULL;
    return sc;
}

uint64_t http_pool_next_expiry(const struct http_pool *p)
{
    const struct http_sconn *sc = TAILQ_FIRST(&p->by_age);
    return sc ? sc->idle_since_ms + p->idle_ms : 0;
}
