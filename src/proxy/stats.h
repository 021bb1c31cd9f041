/* stats.h - reading the live counters of a runtime for the status socket
 * (ctl.c) and the stats listener (stats_http.c): one JSON document shape
 * and one Prometheus exposition, so both interfaces always agree.
 *
 * Counters are atomics written by the workers; readers load them relaxed
 * (each value is exact, a row is not a snapshot across values). Backend
 * counters are the sums of their servers'. Bytes "in" are received by the
 * proxy from that peer (clients for a frontend, the server for a server),
 * "out" are sent to it. */
#ifndef TANDEM_STATS_H
#define TANDEM_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "runtime.h"

struct evbuffer;
struct json_out;

/* Process facts for "show info", /stats.json and tandem_info. */
struct stats_info {
    const char *version;
    pid_t pid;
    const char *node;            /* node.name, or NULL */
    const char *config_path;
    unsigned threads;
    uint64_t start_wall_ms;      /* epoch ms at start */
    uint64_t uptime_ms;
    uint64_t generation;         /* runtime generation (reloads + 1) */
    uint64_t reloads_failed;
};

/* What main.c shares with the status socket and the stats listener, all
 * on the main thread: the current runtime (swapped by reloads), process
 * facts, and the reload entry point. */
struct sync;
struct stats_env {
    struct runtime *const *rt;
    struct sync *sync;                 /* the peer sync channel, NULL if none */
    const char *config_path;
    unsigned threads;
    uint64_t start_wall_ms, start_mono_ms;
    uint64_t reloads_failed;
    /* Reloads like SIGHUP; returns 0, or -1 with the reason in msg. */
    int (*reload)(void *arg, char *msg, size_t len);
    void *reload_arg;
};

void stats_env_info(const struct stats_env *env, struct stats_info *out);

/* Process-wide sums for "show info". */
struct stats_totals {
    unsigned servers;
    int active;                  /* open client connections */
    uint64_t conns, requests;
};
void stats_totals(const struct runtime *rt, struct stats_totals *t);

/* Sums over one backend's servers. */
struct stats_backend_sum {
    uint64_t conns_total, requests, responses[6], bytes_in, bytes_out;
    uint64_t connect_errors, timeouts, retries;
    int active;
    unsigned servers_up;         /* usable: UP with weight > 0 */
    int weight;                  /* sum of current weights */
};

void stats_backend_sum(const struct backend *be, struct stats_backend_sum *sum);

/* A backend is "UP" while one of its servers can take a new client. */
const char *stats_backend_status(const struct stats_backend_sum *sum);

/* Status-class names for responses[]: "1xx".."5xx", "other" for [0]. */
const char *stats_class_name(unsigned cls);

/* JSON objects (written as values: the caller places keys). */
void stats_json_info(struct json_out *j, const struct runtime *rt, const struct stats_info *in);
void stats_json_frontend(struct json_out *j, const struct frontend_rt *fe);
void stats_json_server(struct json_out *j, const struct server *s);
void stats_json_backend(struct json_out *j, const struct backend *be, int with_servers);

/* The whole document of /stats.json and "show stat json":
 * {"info":{...},"frontends":[...],"backends":[{...,"servers":[...]}]}. */
void stats_json_all(struct json_out *j, const struct runtime *rt, const struct stats_info *in);

/* /metrics in Prometheus text format. */
void stats_prometheus(struct evbuffer *b, const struct runtime *rt, const struct stats_info *in);
/* The peer sync channel's families (tandem_peer_*); nothing when sy is NULL. */
void stats_prometheus_sync(struct evbuffer *b, struct sync *sy);

#endif
