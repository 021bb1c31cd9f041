/* runtime.c - turning a config into live frontends, backends and servers,
 * and carrying servers over a reload. */
#include "config.h"
#include "runtime.h"
#include "ratelimit_rt.h"
#include "log.h"
#include "tls.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Servers outlive the runtime that created them when a reload keeps them,
 * so they are reference-counted: one reference per runtime that lists them. */
struct server_box {
    struct server srv;
    _Atomic int refs;
};

static struct server_box *box_of(struct server *s)
{
    return (struct server_box *)((char *)s - offsetof(struct server_box, srv));
}

static void server_unref(struct server *s)
{
    struct server_box *box = box_of(s);
    if (atomic_fetch_sub(&box->refs, 1) != 1)
        return;
    free(s->name);
    free(box);
}

static struct server *server_new(const struct conf_server *cs)
{
    struct server_box *box = calloc(1, sizeof(*box));
    if (!box)
        return NULL;
    struct server *s = &box->srv;
    s->name = strdup(cs->name);
    if (!s->name) {
        free(box);
        return NULL;
    }
    s->addr = cs->addr;
    atomic_init(&s->state, SRV_UP);
    atomic_init(&s->weight, cs->weight);
    atomic_init(&s->health_ok, 1);
    atomic_init(&box->refs, 1);
    return s;
}

/* A server from the previous runtime with the same backend name, server
 * name and address, or NULL. */
static struct server *server_find_prev(const struct runtime *prev, const char *be_name,
                                       const struct conf_server *cs)
{
    if (!prev)
        return NULL;
    for (unsigned b = 0; b < prev->nbackends; b++) {
        const struct backend *be = &prev->backends[b];
        if (strcmp(be->name, be_name) != 0)
            continue;
        for (unsigned i = 0; i < be->nservers; i++) {
            struct server *s = be->servers[i];
            if (strcmp(s->name, cs->name) == 0 &&
                addr_equal((const struct sockaddr *)&s->addr.ss,
                           (const struct sockaddr *)&cs->addr.ss))
                return s;
        }
    }
    return NULL;
}

static int backend_build(struct backend *be, unsigned index, const struct conf_backend *cb,
                         const struct runtime *prev)
{
    be->name = cb->name;
    be->index = index;
    be->algo = cb->algo;
    be->hash_key = cb->hash_key;
    be->conf = cb;
    atomic_init(&be->gen, 1);
    be->servers = calloc(cb->nservers ? cb->nservers : 1, sizeof(*be->servers));
    if (!be->servers)
        return -1;
    for (unsigned i = 0; i < cb->nservers; i++) {
        const struct conf_server *cs = &cb->servers[i];
        struct server *s = server_find_prev(prev, cb->name, cs);
        if (s) {
            atomic_fetch_add(&box_of(s)->refs, 1);
            atomic_store(&s->weight, cs->weight);
        } else if (!(s = server_new(cs))) {
            return -1;
        }
        s->index = i;
        s->backend = be;
        s->maxconn = cs->maxconn;
        s->send_proxy = cs->send_proxy;
        s->backup = cs->backup;
        s->slowstart_ms = cb->slowstart_ms;
        s->passive_connect_max = cb->passive.connect_failures;
        s->passive_5xx_max = cb->passive.http_5xx;
        s->health_observe_only = cb->health.enabled && cb->health.observe_only;
        be->servers[i] = s;
        be->nservers = i + 1;
    }
    return 0;
}

static void runtime_free(struct runtime *rt)
{
    for (unsigned b = 0; b < rt->nbackends; b++) {
        for (unsigned i = 0; i < rt->backends[b].nservers; i++)
            server_unref(rt->backends[b].servers[i]);
        free(rt->backends[b].servers);
    }
    free(rt->backends);
    ratelimit_runtime_free(rt);
    free(rt->frontends);
    tls_config_release(rt->cfg);
    conf_free(rt->cfg);
    free(rt);
}

struct runtime *runtime_build(struct tandem_config *cfg, struct runtime *prev)
{
    struct runtime *rt = calloc(1, sizeof(*rt));
    if (!rt)
        goto fail;
    rt->cfg = cfg;
    rt->generation = prev ? prev->generation + 1 : 1;
    atomic_init(&rt->refs, 1);
    rt->frontends = calloc(cfg->nfrontends ? cfg->nfrontends : 1, sizeof(*rt->frontends));
    rt->backends = calloc(cfg->nbackends ? cfg->nbackends : 1, sizeof(*rt->backends));
    if (!rt->frontends || !rt->backends)
        goto fail;
    for (unsigned i = 0; i < cfg->nfrontends; i++) {
        rt->frontends[i].conf = &cfg->frontends[i];
        rt->frontends[i].index = i;
    }
    rt->nfrontends = cfg->nfrontends;
    if (ratelimit_runtime_build(rt, prev) < 0)      /* unchanged limits keep their counts */
        goto fail;
    for (unsigned i = 0; i < cfg->nbackends; i++) {
        rt->nbackends = i + 1;
        if (backend_build(&rt->backends[i], i, &cfg->backends[i], prev) < 0)
            goto fail;
    }
    /* Servers carried over now answer to the new backends; tell every
     * balancer watching them to rebuild. */
    for (unsigned i = 0; i < rt->nbackends; i++)
        atomic_fetch_add(&rt->backends[i].gen, 1);
    return rt;
fail:
    log_err("out of memory building the runtime");
    if (rt)
        runtime_free(rt);
    else {
        tls_config_release(cfg);
        conf_free(cfg);
    }
    return NULL;
}

void runtime_ref(struct runtime *rt)
{
    atomic_fetch_add(&rt->refs, 1);
}

void runtime_unref(struct runtime *rt)
{
    if (rt && atomic_fetch_sub(&rt->refs, 1) == 1)
        runtime_free(rt);
}
