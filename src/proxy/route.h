/* route.h - choosing a backend for an HTTP request: the frontend's routes
 * in order, first match wins, then the frontend's default backend. */
#ifndef TANDEM_ROUTE_H
#define TANDEM_ROUTE_H

#include "conf.h"
#include "http_parse.h"

/* Returns the backend index (into tandem_config.backends), or -1 when no
 * route matches and there is no default (the proxy answers 503). Host
 * matching is case-insensitive and ignores a port; "*.example.com" matches
 * any subdomain (not example.com itself). */
int route_select(const struct conf_frontend *fe, const struct http_req *req);
/* The index of the route that matches (into fe->routes), or -1 when none
 * does (the default backend applies): for the route's own settings. */
int route_select_index(const struct conf_frontend *fe, const struct http_req *req);

/* The same for a tcp connection by the server name of its TLS ClientHello
 * (NULL when it sent none, which only a route without condition matches). */
int route_select_sni(const struct conf_frontend *fe, const char *sni);

/* The bytes a hash-based backend hashes for this request (hash_key: uri,
 * header, cookie; source is handled by the caller). Returns 1 and sets
 * key/len, or 0 if the key is absent. */
int route_hash_key(const struct hash_key_spec *spec, const struct http_req *req,
                   const char **key, size_t *len);

#endif
