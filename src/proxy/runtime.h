/* runtime.h - what a loaded config becomes: frontends and backends with
 * their live counters and server state. A reload builds a new runtime;
 * servers whose backend name, server name and address are unchanged are
 * carried over (same object, same state, counters and active count), so a
 * reload never resets what operators and leastconn see. Sessions hold a
 * reference to the runtime they started under; the old one is freed when
 * the last of them ends. */
#ifndef TANDEM_RUNTIME_H
#define TANDEM_RUNTIME_H

#include <stdatomic.h>
#include <stdint.h>
#include "conf.h"
#include "server.h"

struct frontend_counters {
    _Atomic uint64_t conns_total;      /* accepted connections */
    _Atomic uint64_t requests;         /* http requests received */
    _Atomic uint64_t responses[6];     /* by class, [0] = other */
    _Atomic uint64_t bytes_in;         /* from clients */
    _Atomic uint64_t bytes_out;        /* to clients */
    _Atomic uint64_t denied;           /* refused: PROXY header, smuggling, limits */
    _Atomic uint64_t errors;           /* malformed requests (4xx we generated) */
    _Atomic uint64_t rate_limited;     /* refused by a rate_limit (429, tcp: closed) */
};

struct rl_frontend;

struct frontend_rt {
    const struct conf_frontend *conf;
    struct rl_frontend *rl;            /* its rate limits (ratelimit_rt.h), NULL if none */
    unsigned index;
    _Atomic int active;                /* open client connections, all threads */
    struct frontend_counters stats;
};

struct runtime {
    struct tandem_config *cfg;         /* owned */
    struct frontend_rt *frontends;
    unsigned nfrontends;
    struct backend *backends;          /* backends[i] matches cfg->backends[i] */
    unsigned nbackends;
    uint64_t generation;               /* 1 for the first load, +1 per reload */
    _Atomic int refs;
};

/* Builds a runtime from cfg (taking ownership). `prev` (may be NULL) is
 * the runtime being replaced: matching servers are shared with it. */
struct runtime *runtime_build(struct tandem_config *cfg, struct runtime *prev);
void runtime_ref(struct runtime *rt);
void runtime_unref(struct runtime *rt);

/* Counter helpers: status class index for responses[]. */
static inline unsigned status_class(int status)
{
    return (status >= 100 && status < 600) ? (unsigned)(status / 100) : 0;
}

#endif
