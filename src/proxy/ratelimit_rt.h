/* ratelimit_rt.h - the rate limits of a runtime: each configured limit
 * becomes an rl_limit with its keyed table, attached to its frontend or
 * route. A reload keeps the rl_limit (same object, same table, so counts
 * carry over) when a limit of the same name has the same parameters;
 * limits are reference-counted like servers, one reference per runtime. */
#ifndef TANDEM_RATELIMIT_RT_H
#define TANDEM_RATELIMIT_RT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include "ratelimit.h"
#include "http_parse.h"

struct runtime;

struct rl_limit {
    char *name;
    enum rl_key_kind key;
    char *key_name;                  /* header or cookie */
    struct rl_params params;
    unsigned max_keys;
    struct rl_table *table;
    _Atomic int refs;
};

struct rl_list {
    struct rl_limit **v;
    unsigned n;
};

/* A frontend's limits, then each route's. */
struct rl_frontend {
    struct rl_list fe;
    struct rl_list *routes;          /* one per conf route */
    unsigned nroutes;
};

/* Builds frontends[i].rl for every frontend of rt, sharing unchanged
 * limits with prev (may be NULL). Returns 0 or -1 (out of memory). */
int ratelimit_runtime_build(struct runtime *rt, const struct runtime *prev);
void ratelimit_runtime_free(struct runtime *rt);

/* Checks the frontend's limits, then route ri's (-1: the default
 * backend, no route limits). Returns the limit that refused, with v
 * filled, or NULL when every limit let the request through. A limit
 * whose key the request lacks (no such header or cookie) does not apply.
 * Limits before the refusing one have counted the request. */
const struct rl_limit *ratelimit_check_http(const struct rl_frontend *rf, int ri,
                                            const struct sockaddr *client,
                                            const struct http_req *req, uint64_t now_ms,
                                            struct rl_verdict *v);
/* The same for a tcp connection at accept (keys ip and global only). */
const struct rl_limit *ratelimit_check_conn(const struct rl_frontend *rf,
                                            const struct sockaddr *client, uint64_t now_ms,
                                            struct rl_verdict *v);

/* For the sync thread, which names limits to the peer by name (unique in
 * a config, conf_ratelimit.c). A limit handed out lives at least as long
 * as the caller's reference to rt. */
typedef void rl_limit_fn(struct rl_limit *l, void *arg);
/* Calls fn on every distinct limit of rt once (a limit attached to several
 * places is one object), frontends in config order, each frontend's own
 * limits before its routes'. */
void ratelimit_runtime_each(const struct runtime *rt, rl_limit_fn *fn, void *arg);
/* The limit named name in rt, or NULL. */
struct rl_limit *ratelimit_runtime_find(const struct runtime *rt, const char *name);

#endif
