/* stats_prom.c - /metrics: the runtime's counters in Prometheus text
 * format. Families are table-driven so frontends, backends and servers
 * expose the same names with their own label sets (tandem_frontend_*,
 * tandem_backend_*, tandem_server_*). */
#include "config.h"
#include "stats.h"
#include "prom_out.h"
#include "sync.h"
#include "clock.h"
#include "tables.h"

#include <event2/buffer.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* A counter present in the frontend, backend-sum and server structs at
 * these offsets; -1 where an object does not have it. */
struct prom_counter {
    const char *suffix;          /* after tandem_<object>_ */
    const char *help;
    ptrdiff_t fe_off, be_off, srv_off;
};

#define FE(f)  offsetof(struct frontend_counters, f)
#define BE(f)  offsetof(struct stats_backend_sum, f)
#define SRV(f) offsetof(struct server_counters, f)

static const struct prom_counter counters[] = {
    { "connections_total", "Connections accepted (frontend) or made (backend, server).",
      FE(conns_total), BE(conns_total), SRV(conns_total) },
    { "requests_total", "HTTP requests received (frontend) or sent (backend, server).",
      FE(requests), BE(requests), SRV(requests) },
    { "bytes_in_total", "Bytes received from clients (frontend) or servers.",
      FE(bytes_in), BE(bytes_in), SRV(bytes_in) },
    { "bytes_out_total", "Bytes sent to clients (frontend) or servers.",
      FE(bytes_out), BE(bytes_out), SRV(bytes_out) },
    { "denied_total", "Connections or requests refused (PROXY header, smuggling, limits).",
      FE(denied), -1, -1 },
    { "request_errors_total", "Malformed requests answered with an error.",
      FE(errors), -1, -1 },
    { "rate_limited_total", "Requests answered 429, or tcp connections closed, by a rate_limit.",
      FE(rate_limited), -1, -1 },
    { "connect_errors_total", "Failed connection attempts to servers.",
      -1, BE(connect_errors), SRV(connect_errors) },
    { "timeouts_total", "Server timeouts.", -1, BE(timeouts), SRV(timeouts) },
    { "retries_total", "Requests retried on another server.", -1, BE(retries), SRV(retries) },
};

enum prom_obj { OBJ_FE, OBJ_BE, OBJ_SRV };

struct prom_ctx {
    struct evbuffer *b;
    const struct runtime *rt;
    struct stats_backend_sum *sums;   /* one per backend */
};

static void name_of(char *buf, size_t len, enum prom_obj o, const char *suffix)
{
    static const char *const objs[] = { "frontend", "backend", "server" };
    snprintf(buf, len, "tandem_%s_%s", objs[o], suffix);
}

static uint64_t at_off(const void *base, ptrdiff_t off, int atomic)
{
    const char *p = (const char *)base + off;
    return atomic ? LOAD(*(_Atomic uint64_t *)p) : *(const uint64_t *)p;
}

/* Calls emit once per object of kind o with its labels. */
typedef void (*prom_emit_fn)(struct prom_ctx *c, const char *name, const struct prom_label *l,
                             unsigned nl, const void *obj, const void *arg);

static void each_object(struct prom_ctx *c, enum prom_obj o, const char *name, prom_emit_fn fn,
                        const void *arg)
{
    const struct runtime *rt = c->rt;
    struct prom_label l[3];
    if (o == OBJ_FE) {
        for (unsigned f = 0; f < rt->nfrontends; f++) {
            l[0] = (struct prom_label){ "frontend", rt->frontends[f].conf->name };
            fn(c, name, l, 1, &rt->frontends[f], arg);
        }
        return;
    }
    for (unsigned b = 0; b < rt->nbackends; b++) {
        const struct backend *be = &rt->backends[b];
        l[0] = (struct prom_label){ "backend", be->name };
        if (o == OBJ_BE) {
            fn(c, name, l, 1, &c->sums[b], arg);
            continue;
        }
        for (unsigned i = 0; i < be->nservers; i++) {
            l[1] = (struct prom_label){ "server", be->servers[i]->name };
            fn(c, name, l, 2, be->servers[i], arg);
        }
    }
}

static const void *counters_of(enum prom_obj o, const void *obj)
{
    if (o == OBJ_FE)
        return &((const struct frontend_rt *)obj)->stats;
    if (o == OBJ_SRV)
        return &((const struct server *)obj)->stats;
    return obj;
}

struct counter_arg {
    enum prom_obj o;
    ptrdiff_t off;
};

static void emit_counter(struct prom_ctx *c, const char *name, const struct prom_label *l,
                         unsigned nl, const void *obj, const void *arg)
{
    const struct counter_arg *a = arg;
    prom_sample_u64(c->b, name, l, nl, at_off(counters_of(a->o, obj), a->off, a->o != OBJ_BE));
}

/* responses[] lives at the same place in all three structs' terms. */
static const uint64_t *sum_responses(const void *obj) { return ((const struct stats_backend_sum *)obj)->responses; }

static void emit_responses(struct prom_ctx *c, const char *name, const struct prom_label *l,
                           unsigned nl, const void *obj, const void *arg)
{
    enum prom_obj o = *(const enum prom_obj *)arg;
    struct prom_label ll[4];
    memcpy(ll, l, nl * sizeof(*l));
    for (unsigned k = 1; k <= 6; k++) {
        unsigned cls = k % 6;             /* 1xx..5xx, then other */
        uint64_t v;
        if (o == OBJ_FE)
            v = LOAD(((const struct frontend_rt *)obj)->stats.responses[cls]);
        else if (o == OBJ_SRV)
            v = LOAD(((const struct server *)obj)->stats.responses[cls]);
        else
            v = sum_responses(obj)[cls];
        ll[nl] = (struct prom_label){ "code", stats_class_name(cls) };
        prom_sample_u64(c->b, name, ll, nl + 1, v);
    }
}

static void emit_active(struct prom_ctx *c, const char *name, const struct prom_label *l,
                        unsigned nl, const void *obj, const void *arg)
{
    enum prom_obj o = *(const enum prom_obj *)arg;
    int v = o == OBJ_FE ? LOAD(((const struct frontend_rt *)obj)->active)
          : o == OBJ_SRV ? LOAD(((const struct server *)obj)->active)
          : ((const struct stats_backend_sum *)obj)->active;
    prom_sample_u64(c->b, name, l, nl, v > 0 ? (uint64_t)v : 0);
}

static void counter_families(struct prom_ctx *c, enum prom_obj o)
{
    char name[96];
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
        const struct prom_counter *pc = &counters[i];
        ptrdiff_t off = o == OBJ_FE ? pc->fe_off : o == OBJ_BE ? pc->be_off : pc->srv_off;
        if (off < 0)
            continue;
        struct counter_arg a = { o, off };
        name_of(name, sizeof(name), o, pc->suffix);
        prom_family(c->b, name, "counter", pc->help);
        each_object(c, o, name, emit_counter, &a);
    }
    name_of(name, sizeof(name), o, "responses_total");
    prom_family(c->b, name, "counter", "HTTP responses by status class (code=1xx..5xx, other).");
    each_object(c, o, name, emit_responses, &o);
    name_of(name, sizeof(name), o, "active_connections");
    prom_family(c->b, name, "gauge", "Connections open now.");
    each_object(c, o, name, emit_active, &o);
}

static void server_gauges(struct prom_ctx *c)
{
    static const enum srv_state states[] = { SRV_UP, SRV_DOWN, SRV_DRAIN, SRV_MAINT };
    const struct runtime *rt = c->rt;
    struct prom_label l[3];
    prom_family(c->b, "tandem_server_state", "gauge",
                "1 for the server's current state (UP, DOWN, DRAIN, MAINT), 0 for the others.");
    for (unsigned b = 0; b < rt->nbackends; b++)
        for (unsigned i = 0; i < rt->backends[b].nservers; i++) {
            const struct server *s = rt->backends[b].servers[i];
            int st = LOAD(s->state);
            l[0] = (struct prom_label){ "backend", rt->backends[b].name };
            l[1] = (struct prom_label){ "server", s->name };
            for (unsigned k = 0; k < 4; k++) {
                l[2] = (struct prom_label){ "state", server_state_name(states[k]) };
                prom_sample_u64(c->b, "tandem_server_state", l, 3, st == (int)states[k]);
            }
        }
    prom_family(c->b, "tandem_server_weight", "gauge", "Current weight (0-256).");
    for (unsigned b = 0; b < rt->nbackends; b++)
        for (unsigned i = 0; i < rt->backends[b].nservers; i++) {
            const struct server *s = rt->backends[b].servers[i];
            l[0] = (struct prom_label){ "backend", rt->backends[b].name };
            l[1] = (struct prom_label){ "server", s->name };
            int w = LOAD(s->weight);
            prom_sample_u64(c->b, "tandem_server_weight", l, 2, w > 0 ? (uint64_t)w : 0);
        }
    prom_family(c->b, "tandem_server_response_time_ewma_seconds", "gauge",
                "Smoothed response time (time to the response head), alpha 1/8.");
    for (unsigned b = 0; b < rt->nbackends; b++)
        for (unsigned i = 0; i < rt->backends[b].nservers; i++) {
            const struct server *s = rt->backends[b].servers[i];
            l[0] = (struct prom_label){ "backend", rt->backends[b].name };
            l[1] = (struct prom_label){ "server", s->name };
            prom_sample_f64(c->b, "tandem_server_response_time_ewma_seconds", l, 2,
                            (double)LOAD(s->ewma_rt_us) / 1e6);
        }
}

static void backend_gauges(struct prom_ctx *c)
{
    const struct runtime *rt = c->rt;
    struct prom_label l[1];
    prom_family(c->b, "tandem_backend_up", "gauge",
                "1 while at least one server can take a new client.");
    for (unsigned b = 0; b < rt->nbackends; b++) {
        l[0] = (struct prom_label){ "backend", rt->backends[b].name };
        prom_sample_u64(c->b, "tandem_backend_up", l, 1, c->sums[b].servers_up > 0);
    }
    prom_family(c->b, "tandem_backend_servers_up", "gauge", "Servers UP with weight > 0.");
    for (unsigned b = 0; b < rt->nbackends; b++) {
        l[0] = (struct prom_label){ "backend", rt->backends[b].name };
        prom_sample_u64(c->b, "tandem_backend_servers_up", l, 1, c->sums[b].servers_up);
    }
    prom_family(c->b, "tandem_backend_queued_requests", "gauge",
                "Requests waiting for a free server.");
    for (unsigned b = 0; b < rt->nbackends; b++) {
        int q = LOAD(((struct backend *)&rt->backends[b])->queued);
        l[0] = (struct prom_label){ "backend", rt->backends[b].name };
        prom_sample_u64(c->b, "tandem_backend_queued_requests", l, 1, q > 0 ? (uint64_t)q : 0);
    }
}

static void process_families(struct prom_ctx *c, const struct stats_info *in)
{
    struct prom_label l[2] = { { "version", in->version }, { "node", in->node ? in->node : "" } };
    prom_family(c->b, "tandem_info", "gauge", "Build and node of this tandem-proxy (always 1).");
    prom_sample_u64(c->b, "tandem_info", l, 2, 1);
    prom_family(c->b, "tandem_start_time_seconds", "gauge", "Start time, seconds since the epoch.");
    prom_sample_f64(c->b, "tandem_start_time_seconds", NULL, 0, (double)in->start_wall_ms / 1e3);
    prom_family(c->b, "tandem_config_generation", "gauge",
                "Configuration generation: 1 at start, +1 per successful reload.");
    prom_sample_u64(c->b, "tandem_config_generation", NULL, 0, in->generation);
    prom_family(c->b, "tandem_config_reload_failures_total", "counter",
                "Reloads refused because the new configuration was invalid.");
    prom_sample_u64(c->b, "tandem_config_reload_failures_total", NULL, 0, in->reloads_failed);
    /* Process-wide: the table is one for every backend, its count an atomic
     * (a per-backend count would walk a million entries per scrape). */
    struct sticky_table *st = tables_sticky();
    prom_family(c->b, "tandem_sticky_entries", "gauge",
                "Entries in the sticky-session table, all backends (docs/sticky.md).");
    prom_sample_u64(c->b, "tandem_sticky_entries", NULL, 0, st ? sticky_count(st) : 0);
}

/* Per backend: the servers' buckets summed, written cumulatively as the
 * format wants (le = "less or equal", the last one +Inf = the count). */
static void backend_histogram(struct evbuffer *b, const struct backend *be)
{
    static const char *const name = "tandem_backend_response_time_seconds";
    uint64_t count[SERVER_RT_BUCKETS + 1] = { 0 }, sum_us = 0, cum = 0;
    for (unsigned i = 0; i < be->nservers; i++) {
        const struct server_rt_hist *h = &be->servers[i]->rt_hist;
        for (unsigned k = 0; k <= SERVER_RT_BUCKETS; k++)
            count[k] += LOAD(h->count[k]);
        sum_us += LOAD(h->sum_us);
    }
    char le[32], full[96];
    struct prom_label l[2] = { { "backend", be->name }, { "le", le } };
    snprintf(full, sizeof(full), "%s_bucket", name);
    for (unsigned k = 0; k <= SERVER_RT_BUCKETS; k++) {
        cum += count[k];
        if (k < SERVER_RT_BUCKETS)
            snprintf(le, sizeof(le), "%g", (double)server_rt_bucket_us[k] / 1e6);
        else
            snprintf(le, sizeof(le), "+Inf");
        prom_sample_u64(b, full, l, 2, cum);
    }
    snprintf(full, sizeof(full), "%s_sum", name);
    prom_sample_f64(b, full, l, 1, (double)sum_us / 1e6);
    snprintf(full, sizeof(full), "%s_count", name);
    prom_sample_u64(b, full, l, 1, cum);
}

static void stats_prom_histograms(struct evbuffer *b, const struct runtime *rt)
{
    prom_family(b, "tandem_backend_response_time_seconds", "histogram",
                "Time from sending the request to the response head, per backend.");
    for (unsigned i = 0; i < rt->nbackends; i++)
        backend_histogram(b, &rt->backends[i]);
}

void stats_prometheus(struct evbuffer *b, const struct runtime *rt, const struct stats_info *in)
{
    struct prom_ctx c = { .b = b, .rt = rt };
    c.sums = calloc(rt->nbackends ? rt->nbackends : 1, sizeof(*c.sums));
    if (!c.sums)
        return;
    for (unsigned i = 0; i < rt->nbackends; i++)
        stats_backend_sum(&rt->backends[i], &c.sums[i]);
    process_families(&c, in);
    counter_families(&c, OBJ_FE);
    counter_families(&c, OBJ_BE);
    backend_gauges(&c);
    stats_prom_histograms(b, rt);
    counter_families(&c, OBJ_SRV);
    server_gauges(&c);
    free(c.sums);
}

static void peer_u64(struct evbuffer *b, const char *name, const char *type, const char *help,
                     uint64_t v)
{
    prom_family(b, name, type, help);
    prom_sample_u64(b, name, NULL, 0, v);
}

static void peer_dir(struct evbuffer *b, const char *name, const char *help, uint64_t sent,
                     uint64_t recv)
{
    struct prom_label l[1];
    prom_family(b, name, "counter", help);
    l[0] = (struct prom_label){ "direction", "sent" };
    prom_sample_u64(b, name, l, 1, sent);
    l[0] = (struct prom_label){ "direction", "received" };
    prom_sample_u64(b, name, l, 1, recv);
}

void stats_prometheus_sync(struct evbuffer *b, struct sync *sy)
{
    if (!sy)
        return;
    struct sync_status s;
    sync_get_status(sy, &s);
    peer_u64(b, "tandem_peer_connected", "gauge",
             "1 while both directions of the sync channel to the peer are up.",
             s.out.state == SYNC_LINK_UP && s.in.state == SYNC_LINK_UP);
    uint64_t last = s.out.last_rx_ms > s.in.last_rx_ms ? s.out.last_rx_ms : s.in.last_rx_ms;
    uint64_t now = clock_mono_ms();
    prom_family(b, "tandem_peer_last_message_seconds", "gauge",
                "Seconds since the last message from the peer (absent: never).");
    if (last)
        prom_sample_f64(b, "tandem_peer_last_message_seconds", NULL, 0,
                        (double)(now > last ? now - last : 0) / 1e3);
    peer_u64(b, "tandem_peer_lag_events", "gauge",
             "Table changes sent to the peer and not yet acknowledged.", s.lag_events);
    prom_family(b, "tandem_peer_lag_seconds", "gauge",
                "How long the oldest unacknowledged change has waited.");
    prom_sample_f64(b, "tandem_peer_lag_seconds", NULL, 0, (double)s.lag_ms / 1e3);
    peer_u64(b, "tandem_peer_queue_bytes", "gauge", "Bytes waiting in the send buffer.",
             s.queue_bytes);
    peer_dir(b, "tandem_peer_sticky_total", "Sticky-table changes and snapshot entries.",
             s.sticky_sent, s.sticky_recv);
    peer_dir(b, "tandem_peer_conns_total", "Connection-table changes and snapshot entries.",
             s.conns_sent, s.conns_recv);
    peer_dir(b, "tandem_peer_rate_limit_total", "Rate-limit key reports.", s.rl_sent,
             s.rl_recv);
    peer_dir(b, "tandem_peer_snapshots_total", "Full table snapshots.", s.snapshots_sent,
             s.snapshots_recv);
    peer_u64(b, "tandem_peer_resyncs_total", "counter",
             "Snapshots sent because a feed overflowed or the peer or an operator asked.",
             s.resyncs);
    peer_u64(b, "tandem_peer_link_failures_total", "counter",
             "Dials and handshakes that failed (refused peers included), both directions.",
             s.out.failures + s.in.failures);
    peer_u64(b, "tandem_peer_split_brain", "gauge",
             "1 while both boxes hold one VRRP instance's VIPs with the sync link up.",
             s.split_brain[0] != 0);
}
