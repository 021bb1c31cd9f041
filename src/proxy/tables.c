/* tables.c - one sticky table and one connection table per process. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>

#include "clock.h"
#include "log.h"
#include "peer_conns.h"
#include "runtime.h"
#include "server.h"
#include "tables.h"
#include "worker.h"

#define STICKY_SHARDS 16
#define STICKY_FEED_PER_SHARD 1024     /* 16k events, about 4 MB */
#define CONN_SHARDS 64                 /* worker id modulo this */
#define CONN_FEED_PER_SHARD 256        /* 16k events, about 5 MB */

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static struct sticky_table *sticky_tab;
static struct conntable *conn_tab;
static _Atomic(const struct runtime *) sticky_fitted;
static _Atomic(struct peer_conns *) peer_tab;

struct peer_conns *tables_peer_conns(void)
{
    return atomic_load_explicit(&peer_tab, memory_order_acquire);
}

void tables_set_peer_conns(struct peer_conns *pc)
{
    atomic_store_explicit(&peer_tab, pc, memory_order_release);
}

struct server *tables_peer_server(const struct backend *be, enum conn_proto proto,
                                  const char *frontend, const struct sockaddr *client,
                                  const struct sockaddr *local)
{
    struct peer_conns *pc = tables_peer_conns();
    char bname[CONNTABLE_NAME_MAX + 1], sname[CONNTABLE_NAME_MAX + 1];
    if (!pc)
        return NULL;
    uint64_t now = clock_mono_ms();
    int found = proto == CONN_UDP
                    ? peer_conns_find_flow(pc, frontend, client, local, bname, sname, now)
                    : peer_conns_find_client(pc, proto, frontend, client, bname, sname, now);
    if (!found || strcmp(bname, be->name) != 0)
        return NULL;
    for (unsigned i = 0; i < be->nservers; i++) {
        struct server *s = be->servers[i];
        if (strcmp(s->name, sname) == 0)
            return server_is_usable(s) ? s : NULL;
    }
    return NULL;
}

static void tables_create(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
        seed = clock_mono_us();
    sticky_tab = sticky_create(STICKY_SHARDS, 1000000, STICKY_FEED_PER_SHARD, seed);
    conn_tab = conntable_create(CONN_SHARDS, CONN_FEED_PER_SHARD);
    if (!sticky_tab || !conn_tab)
        log_msg(LOG_LVL_ERR, "out of memory for the sticky or connection table: "
                "persistence and connection listing are off");
}

struct sticky_table *tables_sticky(void)
{
    pthread_once(&tables_once, tables_create);
    return sticky_tab;
}

struct conntable *tables_conns(void)
{
    pthread_once(&tables_once, tables_create);
    return conn_tab;
}

void tables_sticky_fit(const struct runtime *rt)
{
    struct sticky_table *t = tables_sticky();
    if (!t || atomic_load_explicit(&sticky_fitted, memory_order_acquire) == rt)
        return;
    uint64_t sum = 0;
    for (unsigned i = 0; i < rt->nbackends; i++) {
        const struct conf_sticky *st = &rt->backends[i].conf->sticky;
        if (st->mode != STICKY_MODE_NONE)
            sum += st->max_entries;
    }
    sticky_set_max(t, sum > 100000000 ? 100000000u : sum ? (unsigned)sum : 1000000u);
    atomic_store_explicit(&sticky_fitted, rt, memory_order_release);
}

struct conn_entry *tables_conn_open(const struct worker *w, enum conn_proto proto,
                                    const char *frontend,
                                    const struct sockaddr_storage *client,
                                    const struct sockaddr_storage *local)
{
    struct conntable *t = tables_conns();
    if (!t)
        return NULL;
    return conntable_open(t, w->id, proto, frontend, (const struct sockaddr *)client,
                          (const struct sockaddr *)local, clock_wall_ms());
}

void tables_conn_server(struct conn_entry *c, const struct server *srv)
{
    if (c && srv)
        conntable_set_server(tables_conns(), c, srv->backend->name, srv->name, clock_wall_ms());
}

void tables_conn_addrs(struct conn_entry *c, const struct sockaddr_storage *client,
                       const struct sockaddr_storage *local)
{
    if (c)
        conntable_set_addrs(tables_conns(), c, (const struct sockaddr *)client,
                            (const struct sockaddr *)local, clock_wall_ms());
}

void tables_conn_close(struct conn_entry *c, uint64_t bytes_in, uint64_t bytes_out)
{
    if (c)
        conntable_close(tables_conns(), c, bytes_in, bytes_out, clock_wall_ms());
}
