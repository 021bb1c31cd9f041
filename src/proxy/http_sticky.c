/* http_sticky.c - the three persistence methods on the HTTP path:
 * insert (the proxy's cookie carries an opaque server token), app (the
 * server's session cookie is learned from its Set-Cookie) and source (the
 * client IP). Every binding lives in the sticky table, so the peer box can
 * honour it after a failover once the table is replicated. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "addr.h"
#include "clock.h"
#include "http_session.h"
#include "http_sticky.h"
#include "server.h"
#include "tables.h"

#define TOKEN_SEED 0x74616e64656d5354ull   /* fixed: both boxes make the same tokens */
#define SWEEP_EVERY 256                    /* picks per thread between sweep steps */
#define SWEEP_BUDGET 64                    /* entries looked at per step */

void http_sticky_token(const char *backend, const char *server, char *out)
{
    char buf[2 * STICKY_NAME_MAX + 2];
    int n = snprintf(buf, sizeof(buf), "%s/%s", backend, server);
    uint64_t h = XXH3_64bits_withSeed(buf, n > 0 ? (size_t)n : 0, TOKEN_SEED);
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static const struct conf_sticky *sticky_conf(const struct http_session *s)
{
    const struct conf_sticky *st = s->be ? &s->be->conf->sticky : NULL;
    return st && st->mode != STICKY_MODE_NONE ? st : NULL;
}

/* Fills key for this request's or response's value. Values longer than
 * the table takes are replaced by their 128-bit digest. */
static void key_make(struct sticky_key *k, enum sticky_kind kind, const struct backend *be,
                     const char *v, size_t len, XXH128_hash_t *digest)
{
    k->kind = kind;
    k->backend = be->name;
    k->data = v;
    k->len = len;
    if (len > STICKY_KEY_MAX) {
        *digest = XXH3_128bits(v, len);
        k->data = digest;
        k->len = sizeof(*digest);
    }
}

/* The request's persistence key; 0 when it carries none. */
static int request_key(struct http_session *s, const struct conf_sticky *st,
                       struct sticky_key *k, XXH128_hash_t *digest)
{
    const char *v;
    size_t len;
    switch (st->mode) {
    case STICKY_MODE_INSERT:
    case STICKY_MODE_APP: {
        const char *name = st->mode == STICKY_MODE_APP ? st->app_cookie
                           : st->cookie ? st->cookie : "SRV";
        if (!s->req_valid || !http_find_cookie(s->req.hdrs, s->req.nhdrs, name, &v, &len) ||
            len == 0)
            return 0;
        key_make(k, st->mode == STICKY_MODE_APP ? STICKY_KEY_APP : STICKY_KEY_COOKIE, s->be,
                 v, len, digest);
        return 1;
    }
    case STICKY_MODE_SOURCE:
        v = (const char *)addr_ip_bytes((const struct sockaddr *)&s->client, &len);
        if (!v)
            return 0;
        key_make(k, STICKY_KEY_SOURCE, s->be, v, len, digest);
        return 1;
    }
    return 0;
}

static struct server *server_by_name(const struct backend *be, const char *name)
{
    for (unsigned i = 0; i < be->nservers; i++)
        if (strcmp(be->servers[i]->name, name) == 0)
            return be->servers[i];
    return NULL;
}

/* An inserted cookie the table does not know (yet: expired, or set by the
 * peer before the tables were in sync) still names its server through
 * the token, which both boxes compute alike. */
static struct server *server_by_token(const struct backend *be, const char *v, size_t len)
{
    char tok[17];
    if (len != 16)
        return NULL;
    for (unsigned i = 0; i < be->nservers; i++) {
        http_sticky_token(be->name, be->servers[i]->name, tok);
        if (memcmp(tok, v, 16) == 0)
            return be->servers[i];
    }
    return NULL;
}

static int usable_for_sticky(const struct http_session *s, const struct server *srv)
{
    int st = atomic_load_explicit(&srv->state, memory_order_relaxed);
    return srv != s->failed && (st == SRV_UP || st == SRV_DRAIN);
}

/* Expiry must never stall a worker: each thread sweeps a few entries now
 * and then instead of one thread walking the table. */
static void sweep_sometimes(struct sticky_table *t, uint64_t now)
{
    static __thread unsigned calls;
    if (++calls % SWEEP_EVERY == 0)
        sticky_sweep(t, now, SWEEP_BUDGET);
}

struct server *http_sticky_pick(struct http_session *s)
{
    const struct conf_sticky *st = sticky_conf(s);
    struct sticky_table *t = st ? tables_sticky() : NULL;
    s->sticky_hit = 0;
    if (!t)
        return NULL;
    tables_sticky_fit(s->rt);
    uint64_t now = clock_mono_ms();
    sweep_sometimes(t, now);
    struct sticky_key k;
    XXH128_hash_t digest;
    if (!request_key(s, st, &k, &digest))
        return NULL;
    char name[STICKY_NAME_MAX + 1];
    struct server *srv = NULL;
    uint32_t ttl = (uint32_t)st->ttl_ms;
    if (sticky_lookup(t, &k, now, ttl, name))
        srv = server_by_name(s->be, name);
    else if (st->mode == STICKY_MODE_INSERT &&
             (srv = server_by_token(s->be, k.data, k.len)) != NULL)
        sticky_set(t, &k, srv->name, now, ttl);
    if (!srv || !usable_for_sticky(s, srv))
        return NULL;
    s->sticky_hit = 1;
    return srv;
}

/* Value of cookie `name` in one Set-Cookie header value ("n=v; attrs"). */
static int set_cookie_value(const struct http_hdr *h, const char *name, const char **v,
                            size_t *len)
{
    size_t nl = strlen(name);
    if (h->name_len != 10 || strncasecmp(h->name, "set-cookie", 10) != 0 ||
        h->value_len <= nl || memcmp(h->value, name, nl) != 0 || h->value[nl] != '=')
        return 0;
    const char *p = h->value + nl + 1, *end = h->value + h->value_len;
    const char *semi = memchr(p, ';', (size_t)(end - p));
    if (semi)
        end = semi;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end > p && *p == '"' && end[-1] == '"' && end - p >= 2) {
        p++;
        end--;
    }
    *v = p;
    *len = (size_t)(end - p);
    return *len > 0;
}

/* app: every value of the server's session cookie now means s->srv. */
static void learn_app_cookie(struct http_session *s, const struct conf_sticky *st,
                             const struct http_resp *r, struct sticky_table *t, uint64_t now)
{
    for (unsigned i = 0; i < r->nhdrs; i++) {
        const char *v;
        size_t len;
        if (!set_cookie_value(&r->hdrs[i], st->app_cookie, &v, &len))
            continue;
        struct sticky_key k;
        XXH128_hash_t digest;
        key_make(&k, STICKY_KEY_APP, s->be, v, len, &digest);
        sticky_set(t, &k, s->srv->name, now, (uint32_t)st->ttl_ms);
    }
}

static const char *samesite_attr(int samesite)
{
    switch (samesite) {
    case STICKY_SAMESITE_LAX: return "; SameSite=Lax";
    case STICKY_SAMESITE_STRICT: return "; SameSite=Strict";
    case STICKY_SAMESITE_NONE: return "; SameSite=None";
    }
    return "";
}

/* insert: bind the token to s->srv and tell the client. No Max-Age: the
 * cookie lasts the browser session; the table's TTL decides how long the
 * binding outlives the client's silence. */
static const char *insert_cookie(struct http_session *s, const struct conf_sticky *st,
                                 struct sticky_table *t, uint64_t now, char *buf, size_t len)
{
    char tok[17];
    http_sticky_token(s->be->name, s->srv->name, tok);
    struct sticky_key k = { STICKY_KEY_COOKIE, s->be->name, tok, 16 };
    sticky_set(t, &k, s->srv->name, now, (uint32_t)st->ttl_ms);
    int n = snprintf(buf, len, "Set-Cookie: %s=%s; Path=%s%s%s%s\r\n",
                     st->cookie ? st->cookie : "SRV", tok, st->path ? st->path : "/",
                     st->httponly ? "; HttpOnly" : "", st->secure ? "; Secure" : "",
                     samesite_attr(st->samesite));
    return n > 0 && (size_t)n < len ? buf : NULL;
}

const char *http_sticky_response(struct http_session *s, const struct http_resp *r,
                                 char *buf, size_t len)
{
    if (!s->srv)
        return NULL;
    tables_conn_server(s->conn, s->srv);
    const struct conf_sticky *st = sticky_conf(s);
    struct sticky_table *t = st ? tables_sticky() : NULL;
    if (!t)
        return NULL;
    uint64_t now = clock_mono_ms();
    if (st->mode == STICKY_MODE_APP) {
        learn_app_cookie(s, st, r, t, now);
        return NULL;
    }
    if (s->sticky_hit)
        return NULL;                   /* bound already; the lookup refreshed it */
    if (st->mode == STICKY_MODE_INSERT)
        return insert_cookie(s, st, t, now, buf, len);
    struct sticky_key k;
    XXH128_hash_t digest;
    if (request_key(s, st, &k, &digest))   /* source */
        sticky_set(t, &k, s->srv->name, now, (uint32_t)st->ttl_ms);
    return NULL;
}
