/* ratelimit_rt.c - a runtime's rate limits (ratelimit_rt.h): building
 * them from the config, carrying them over a reload, and reading each
 * limit's key out of a request or a connection. */
#include "config.h"
#include "ratelimit_rt.h"
#include "runtime.h"
#include "addr.h"

#include <stdlib.h>
#include <string.h>

static void limit_unref(struct rl_limit *l)
{
    if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    rl_table_free(l->table);
    free(l->name);
    free(l->key_name);
    free(l);
}

static void params_of(const struct conf_ratelimit *c, struct rl_params *p)
{
    p->algo = (enum rl_algo)c->algo;
    p->rate = c->rate ? c->rate : 1;
    p->per_ms = c->per_ms ? c->per_ms : 1;
    p->burst = c->burst ? c->burst : p->rate;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Same name and parameters: the counts it holds mean the same thing. */
static int limit_matches(const struct rl_limit *l, const struct conf_ratelimit *c)
{
    struct rl_params p;
    params_of(c, &p);
    return strcmp(l->name, c->name) == 0 && l->key == (enum rl_key_kind)c->key &&
           same_str(l->key_name, c->key_name) && l->max_keys == c->max_keys &&
           l->params.algo == p.algo && l->params.rate == p.rate &&
           l->params.per_ms == p.per_ms && l->params.burst == p.burst;
}

static struct rl_limit *list_find(const struct rl_list *l, const struct conf_ratelimit *c)
{
    for (unsigned i = 0; i < l->n; i++)
        if (limit_matches(l->v[i], c))
            return l->v[i];
    return NULL;
}

static struct rl_limit *prev_find(const struct runtime *prev, const struct conf_ratelimit *c)
{
    for (unsigned f = 0; prev && f < prev->nfrontends; f++) {
        const struct rl_frontend *rf = prev->frontends[f].rl;
        struct rl_limit *l = rf ? list_find(&rf->fe, c) : NULL;
        for (unsigned r = 0; rf && !l && r < rf->nroutes; r++)
            l = list_find(&rf->routes[r], c);
        if (l)
            return l;
    }
    return NULL;
}

static struct rl_limit *limit_new(const struct conf_ratelimit *c)
{
    struct rl_limit *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    atomic_init(&l->refs, 1);
    l->key = (enum rl_key_kind)c->key;
    l->max_keys = c->max_keys;
    params_of(c, &l->params);
    l->name = strdup(c->name ? c->name : "rate_limit");
    l->key_name = c->key_name ? strdup(c->key_name) : NULL;
    l->table = rl_table_new(&l->params, c->max_keys);
    if (!l->name || (c->key_name && !l->key_name) || !l->table) {
        limit_unref(l);
        return NULL;
    }
    return l;
}

static int list_build(struct rl_list *out, const struct conf_ratelimits *c,
                      const struct runtime *prev)
{
    if (!c->n)
        return 0;
    if (!(out->v = calloc(c->n, sizeof(*out->v))))
        return -1;
    for (unsigned i = 0; i < c->n; i++) {
        struct rl_limit *l = prev_find(prev, &c->v[i]);
        if (l)
            atomic_fetch_add(&l->refs, 1);
        else if (!(l = limit_new(&c->v[i])))
            return -1;
        out->v[i] = l;
        out->n = i + 1;
    }
    return 0;
}

static void list_free(struct rl_list *l)
{
    for (unsigned i = 0; i < l->n; i++)
        limit_unref(l->v[i]);
    free(l->v);
}

static void frontend_free(struct rl_frontend *rf)
{
    if (!rf)
        return;
    list_free(&rf->fe);
    for (unsigned r = 0; r < rf->nroutes; r++)
        list_free(&rf->routes[r]);
    free(rf->routes);
    free(rf);
}

/* NULL (no allocation) for a frontend without any limit: the request path
 * then checks one pointer. */
static int frontend_build(struct frontend_rt *fe, const struct runtime *prev)
{
    const struct conf_frontend *c = fe->conf;
    unsigned any = c->rate_limits.n;
    for (unsigned r = 0; r < c->nroutes; r++)
        any += c->routes[r].rate_limits.n;
    if (!any)
        return 0;
    struct rl_frontend *rf = calloc(1, sizeof(*rf));
    if (!rf)
        return -1;
    fe->rl = rf;
    if (list_build(&rf->fe, &c->rate_limits, prev) < 0)
        return -1;
    if (c->nroutes && !(rf->routes = calloc(c->nroutes, sizeof(*rf->routes))))
        return -1;
    for (unsigned r = 0; r < c->nroutes; r++) {
        rf->nroutes = r + 1;
        if (list_build(&rf->routes[r], &c->routes[r].rate_limits, prev) < 0)
            return -1;
    }
    return 0;
}

int ratelimit_runtime_build(struct runtime *rt, const struct runtime *prev)
{
    for (unsigned i = 0; i < rt->nfrontends; i++)
        if (frontend_build(&rt->frontends[i], prev) < 0)
            return -1;
    return 0;
}

void ratelimit_runtime_free(struct runtime *rt)
{
    for (unsigned i = 0; rt->frontends && i < rt->nfrontends; i++) {
        frontend_free(rt->frontends[i].rl);
        rt->frontends[i].rl = NULL;
    }
}

/* ---- checking ---- */

/* The bytes this limit counts a request under; 0 if the request has none. */
static int http_key(const struct rl_limit *l, const struct sockaddr *client,
                    const struct http_req *req, const void **key, size_t *len)
{
    const struct http_hdr *h;
    const char *v;
    switch (l->key) {
    case RL_KEY_IP:
        *key = addr_ip_bytes(client, len);
        return *key != NULL;
    case RL_KEY_HEADER:
        if (!req || !(h = http_find_header(req->hdrs, req->nhdrs, l->key_name)))
            return 0;
        *key = h->value;
        *len = h->value_len;
        return 1;
    case RL_KEY_COOKIE:
        if (!req || !http_find_cookie(req->hdrs, req->nhdrs, l->key_name, &v, len))
            return 0;
        *key = v;
        return 1;
    case RL_KEY_PATH:
        if (!req)
            return 0;
        *key = req->path;
        *len = req->path_len;
        return 1;
    case RL_KEY_GLOBAL:
        *key = "";
        *len = 0;
        return 1;
    }
    return 0;
}

static const struct rl_limit *list_check(const struct rl_list *list,
                                         const struct sockaddr *client,
                                         const struct http_req *req, uint64_t now_ms,
                                         struct rl_verdict *v)
{
    for (unsigned i = 0; i < list->n; i++) {
        const struct rl_limit *l = list->v[i];
        const void *key;
        size_t len = 0;
        if (!http_key(l, client, req, &key, &len))
            continue;
        rl_table_check(l->table, key, len, now_ms, v);
        if (!v->allowed)
            return l;
    }
    return NULL;
}

const struct rl_limit *ratelimit_check_http(const struct rl_frontend *rf, int ri,
                                            const struct sockaddr *client,
                                            const struct http_req *req, uint64_t now_ms,
                                            struct rl_verdict *v)
{
    v->allowed = 1;
    v->retry_after_s = 0;
    if (!rf)
        return NULL;
    const struct rl_limit *l = list_check(&rf->fe, client, req, now_ms, v);
    if (!l && ri >= 0 && (unsigned)ri < rf->nroutes)
        l = list_check(&rf->routes[ri], client, req, now_ms, v);
    return l;
}

const struct rl_limit *ratelimit_check_conn(const struct rl_frontend *rf,
                                            const struct sockaddr *client, uint64_t now_ms,
                                            struct rl_verdict *v)
{
    v->allowed = 1;
    v->retry_after_s = 0;
    return rf ? list_check(&rf->fe, client, NULL, now_ms, v) : NULL;
}

/* ---- the limits of a runtime, for the sync thread ---- */

/* Visits every slot of every limit list of rt in order (a frontend's own,
 * then its routes'), until fn returns nonzero; returns that value or 0. */
typedef int slot_fn(struct rl_limit *const *slot, void *arg);

static int list_slots(const struct rl_list *l, slot_fn *fn, void *arg)
{
    int rc = 0;
    for (unsigned i = 0; i < l->n && !rc; i++)
        rc = fn(&l->v[i], arg);
    return rc;
}

static int runtime_slots(const struct runtime *rt, slot_fn *fn, void *arg)
{
    int rc = 0;
    for (unsigned f = 0; f < rt->nfrontends && !rc; f++) {
        const struct rl_frontend *rf = rt->frontends[f].rl;
        if (!rf)
            continue;
        rc = list_slots(&rf->fe, fn, arg);
        for (unsigned r = 0; r < rf->nroutes && !rc; r++)
            rc = list_slots(&rf->routes[r], fn, arg);
    }
    return rc;
}

struct slot_walk {
    const struct runtime *rt;
    const struct rl_limit *limit;    /* each: the limit at slot number `at` */
    unsigned at, visited;
    const char *name;                /* find */
    struct rl_limit *found;
    rl_limit_fn *fn;
    void *arg;
};

/* Stops at the first slot holding w->limit; found if that is slot w->at. */
static int first_slot_visit(struct rl_limit *const *slot, void *arg)
{
    struct slot_walk *w = arg;
    unsigned n = w->visited++;
    if (*slot != w->limit)
        return 0;
    w->found = n == w->at ? *slot : NULL;
    return 1;
}

/* Calls fn only at a limit's first slot. A walk per slot: the lists are
 * short (16 limits at most per frontend and route). */
static int each_visit(struct rl_limit *const *slot, void *arg)
{
    struct slot_walk *w = arg;
    struct slot_walk first = { .limit = *slot, .at = w->visited++ };
    runtime_slots(w->rt, first_slot_visit, &first);
    if (first.found)
        w->fn(*slot, w->arg);
    return 0;
}

void ratelimit_runtime_each(const struct runtime *rt, rl_limit_fn *fn, void *arg)
{
    struct slot_walk w = { .rt = rt, .fn = fn, .arg = arg };
    runtime_slots(rt, each_visit, &w);
}

static int find_visit(struct rl_limit *const *slot, void *arg)
{
    struct slot_walk *w = arg;
    if (strcmp((*slot)->name, w->name) != 0)
        return 0;
    w->found = *slot;
    return 1;
}

struct rl_limit *ratelimit_runtime_find(const struct runtime *rt, const char *name)
{
    struct slot_walk w = { .rt = rt, .name = name };
    runtime_slots(rt, find_visit, &w);
    return w.found;
}
