/* route.c - first-match routing of HTTP requests to backends (route.h). */
#include "config.h"
#include "route.h"

#include <string.h>

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int ci_equal_len(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int bytes_equal(const char *a, size_t alen, const char *b)
{
    return b && strlen(b) == alen && memcmp(a, b, alen) == 0;
}

/* The single string of HOST/PATH/PATH_PREFIX/METHOD conditions: the config
 * loader stores it in value; accept name too so either layout works. */
static const char *cond_arg(const struct conf_route_cond *c)
{
    return c->value ? c->value : c->name;
}

/* Host match, case-insensitive; the request host already has no port. A
 * trailing dot ("example.com.") is the same name. "*.example.com" matches
 * any name ending in ".example.com" with at least one label before it. */
static int host_matches(const char *pattern, const char *host, size_t hlen)
{
    size_t plen = strlen(pattern);

    if (!host)
        return 0;
    if (hlen > 0 && host[hlen - 1] == '.')
        hlen--;
    if (plen >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        size_t slen = plen - 1;              /* ".example.com" */
        return hlen > slen && ci_equal_len(host + hlen - slen, pattern + 1, slen);
    }
    return hlen == plen && ci_equal_len(host, pattern, plen);
}

static int header_matches(const struct conf_route_cond *c, const struct http_req *req)
{
    size_t nlen = strlen(c->name);
    for (unsigned i = 0; i < req->nhdrs; i++) {
        const struct http_hdr *h = &req->hdrs[i];
        if (h->name_len != nlen || !ci_equal_len(h->name, c->name, nlen))
            continue;
        if (!c->value || bytes_equal(h->value, h->value_len, c->value))
            return 1;
    }
    return 0;
}

static int cond_matches(const struct conf_route_cond *c, const struct http_req *req)
{
    const char *arg = cond_arg(c), *v;
    size_t vlen;

    switch (c->kind) {
    case ROUTE_HOST:
        return arg && host_matches(arg, req->host, req->host_len);
    case ROUTE_PATH_PREFIX:
        return arg && req->path_len >= strlen(arg) &&
               memcmp(req->path, arg, strlen(arg)) == 0;
    case ROUTE_PATH:
        return bytes_equal(req->path, req->path_len, arg);
    case ROUTE_METHOD:
        return bytes_equal(req->method_str, req->method_len, arg);
    case ROUTE_HEADER:
        return c->name && header_matches(c, req);
    case ROUTE_COOKIE:
        if (!c->name || !http_find_cookie(req->hdrs, req->nhdrs, c->name, &v, &vlen))
            return 0;
        return !c->value || bytes_equal(v, vlen, c->value);
    case ROUTE_QUERY:
        if (!c->name || !http_find_query_param(req->query, req->query_len, c->name, &v, &vlen))
            return 0;
        return !c->value || bytes_equal(v, vlen, c->value);
    case ROUTE_SNI:              /* mode tcp only: the loader refuses it in http */
        return 0;
    }
    return 0;
}

static int route_matches(const struct conf_route *r, const struct http_req *req)
{
    for (unsigned i = 0; i < r->nconds; i++)
        if (!cond_matches(&r->conds[i], req))
            return 0;
    return 1;
}

int route_select_index(const struct conf_frontend *fe, const struct http_req *req)
{
    for (unsigned i = 0; i < fe->nroutes; i++)
        if (route_matches(&fe->routes[i], req))
            return (int)i;
    return -1;
}

int route_select(const struct conf_frontend *fe, const struct http_req *req)
{
    int i = route_select_index(fe, req);
    if (i >= 0)
        return fe->routes[i].backend_index;
    return fe->default_backend_index >= 0 ? fe->default_backend_index : -1;
}

/* Mode tcp: routes hold only sni conditions (or none, a catch-all). The
 * server name comes from the ClientHello, validated and lower-cased. */
static int route_matches_sni(const struct conf_route *r, const char *sni)
{
    for (unsigned i = 0; i < r->nconds; i++) {
        const char *arg = cond_arg(&r->conds[i]);
        if (r->conds[i].kind != ROUTE_SNI || !arg || !sni ||
            !host_matches(arg, sni, strlen(sni)))
            return 0;
    }
    return 1;
}

int route_select_sni(const struct conf_frontend *fe, const char *sni)
{
    for (unsigned i = 0; i < fe->nroutes; i++)
        if (route_matches_sni(&fe->routes[i], sni))
            return fe->routes[i].backend_index;
    return fe->default_backend_index >= 0 ? fe->default_backend_index : -1;
}

/* "uri" is the path and query as the client sent them. They are adjacent
 * in the receive buffer except for an absolute-form target with an empty
 * path, where the parser supplies "/" from elsewhere; use the whole target
 * then. */
static void uri_key(const struct http_req *req, const char **key, size_t *len)
{
    if (!req->query) {
        *key = req->path;
        *len = req->path_len;
    } else if (req->query == req->path + req->path_len + 1) {
        *key = req->path;
        *len = req->path_len + 1 + req->query_len;
    } else {
        *key = req->target;
        *len = req->target_len;
    }
}

int route_hash_key(const struct hash_key_spec *spec, const struct http_req *req,
                   const char **key, size_t *len)
{
    const struct http_hdr *h;

    switch (spec->kind) {
    case HASH_KEY_URI:
        uri_key(req, key, len);
        return 1;
    case HASH_KEY_HEADER:
        if (!spec->name || !(h = http_find_header(req->hdrs, req->nhdrs, spec->name)))
            return 0;
        *key = h->value;
        *len = h->value_len;
        return 1;
    case HASH_KEY_COOKIE:
        return spec->name && http_find_cookie(req->hdrs, req->nhdrs, spec->name, key, len);
    case HASH_KEY_SOURCE:
        return 0;
    }
    return 0;
}
