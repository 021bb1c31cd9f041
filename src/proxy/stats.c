/* stats.c - the JSON view of a runtime's counters (see stats.h). */
#include "config.h"
#include "stats.h"
#include "json_out.h"

#include "clock.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

const char *stats_class_name(unsigned cls)
{
    static const char *const names[6] = { "other", "1xx", "2xx", "3xx", "4xx", "5xx" };
    return cls < 6 ? names[cls] : "other";
}

void stats_env_info(const struct stats_env *env, struct stats_info *out)
{
    const struct runtime *rt = *env->rt;
    memset(out, 0, sizeof(*out));
    out->version = PACKAGE_VERSION;
    out->pid = getpid();
    out->node = rt->cfg->node_name;
    out->config_path = env->config_path;
    out->threads = env->threads;
    out->start_wall_ms = env->start_wall_ms;
    out->uptime_ms = clock_mono_ms() - env->start_mono_ms;
    out->generation = rt->generation;
    out->reloads_failed = env->reloads_failed;
}

void stats_backend_sum(const struct backend *be, struct stats_backend_sum *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (unsigned i = 0; i < be->nservers; i++) {
        const struct server *s = be->servers[i];
        const struct server_counters *c = &s->stats;
        sum->conns_total += LOAD(c->conns_total);
        sum->requests += LOAD(c->requests);
        for (unsigned k = 0; k < 6; k++)
            sum->responses[k] += LOAD(c->responses[k]);
        sum->bytes_in += LOAD(c->bytes_in);
        sum->bytes_out += LOAD(c->bytes_out);
        sum->connect_errors += LOAD(c->connect_errors);
        sum->timeouts += LOAD(c->timeouts);
        sum->retries += LOAD(c->retries);
        sum->active += LOAD(s->active);
        sum->weight += LOAD(s->weight);
        if (LOAD(s->state) == SRV_UP && LOAD(s->weight) > 0)
            sum->servers_up++;
    }
}

const char *stats_backend_status(const struct stats_backend_sum *sum)
{
    return sum->servers_up > 0 ? "UP" : "DOWN";
}

static void load_classes(const _Atomic uint64_t *src, uint64_t dst[6])
{
    for (unsigned k = 0; k < 6; k++)
        dst[k] = LOAD(src[k]);
}

/* The traffic fields every object has, in the same order everywhere. */
static void json_traffic(struct json_out *j, uint64_t conns, uint64_t requests,
                         const uint64_t resp[6], uint64_t bytes_in, uint64_t bytes_out)
{
    json_kv_u64(j, "connections", conns);
    json_kv_u64(j, "requests", requests);
    json_key(j, "responses");
    json_obj_begin(j);
    for (unsigned k = 1; k < 6; k++)
        json_kv_u64(j, stats_class_name(k), resp[k]);
    json_kv_u64(j, "other", resp[0]);
    json_obj_end(j);
    json_kv_u64(j, "bytes_in", bytes_in);
    json_kv_u64(j, "bytes_out", bytes_out);
}

void stats_totals(const struct runtime *rt, struct stats_totals *t)
{
    memset(t, 0, sizeof(*t));
    for (unsigned b = 0; b < rt->nbackends; b++)
        t->servers += rt->backends[b].nservers;
    for (unsigned f = 0; f < rt->nfrontends; f++) {
        t->conns += LOAD(rt->frontends[f].stats.conns_total);
        t->requests += LOAD(rt->frontends[f].stats.requests);
        t->active += LOAD(rt->frontends[f].active);
    }
}

void stats_json_info(struct json_out *j, const struct runtime *rt, const struct stats_info *in)
{
    struct stats_totals t;
    stats_totals(rt, &t);
    json_obj_begin(j);
    json_kv_str(j, "name", "tandem-proxy");
    json_kv_str(j, "version", in->version);
    json_kv_i64(j, "pid", in->pid);
    json_kv_str(j, "node", in->node);
    json_kv_str(j, "config", in->config_path);
    json_kv_u64(j, "threads", in->threads);
    json_kv_u64(j, "start_time", in->start_wall_ms / 1000);
    json_kv_u64(j, "uptime_sec", in->uptime_ms / 1000);
    json_kv_u64(j, "generation", in->generation);
    json_kv_u64(j, "reloads_failed", in->reloads_failed);
    json_kv_u64(j, "frontends", rt->nfrontends);
    json_kv_u64(j, "backends", rt->nbackends);
    json_kv_u64(j, "servers", t.servers);
    json_kv_i64(j, "active_connections", t.active);
    json_kv_u64(j, "total_connections", t.conns);
    json_kv_u64(j, "total_requests", t.requests);
    json_obj_end(j);
}

void stats_json_frontend(struct json_out *j, const struct frontend_rt *fe)
{
    const struct frontend_counters *c = &fe->stats;
    uint64_t resp[6];
    json_obj_begin(j);
    json_kv_str(j, "name", fe->conf->name);
    json_kv_str(j, "mode", conf_mode_name(fe->conf->mode));
    json_kv_str(j, "status", "OPEN");
    json_kv_i64(j, "active", LOAD(fe->active));
    json_kv_u64(j, "maxconn", fe->conf->maxconn);
    load_classes(c->responses, resp);
    json_traffic(j, LOAD(c->conns_total), LOAD(c->requests), resp, LOAD(c->bytes_in),
                 LOAD(c->bytes_out));
    json_kv_u64(j, "denied", LOAD(c->denied));
    json_kv_u64(j, "errors", LOAD(c->errors));
    json_kv_u64(j, "rate_limited", LOAD(c->rate_limited));
    json_obj_end(j);
}

void stats_json_server(struct json_out *j, const struct server *s)
{
    const struct server_counters *c = &s->stats;
    uint64_t resp[6];
    char addr[ADDR_STRLEN];
    const struct conf_backend *cb = s->backend->conf;
    json_obj_begin(j);
    json_kv_str(j, "backend", s->backend->name);
    json_kv_str(j, "name", s->name);
    json_kv_str(j, "addr", addr_format((const struct sockaddr *)&s->addr.ss, addr, sizeof(addr)));
    json_kv_str(j, "state", server_state_name((enum srv_state)LOAD(s->state)));
    json_kv_i64(j, "weight", LOAD(s->weight));
    if (s->index < cb->nservers)
        json_kv_i64(j, "config_weight", cb->servers[s->index].weight);
    json_kv_i64(j, "active", LOAD(s->active));
    json_kv_i64(j, "peer_active", LOAD(s->peer_active));   /* the peer box's, via sync */
    json_kv_u64(j, "maxconn", s->maxconn);
    load_classes(c->responses, resp);
    json_traffic(j, LOAD(c->conns_total), LOAD(c->requests), resp, LOAD(c->bytes_in),
                 LOAD(c->bytes_out));
    json_kv_u64(j, "connect_errors", LOAD(c->connect_errors));
    json_kv_u64(j, "timeouts", LOAD(c->timeouts));
    json_kv_u64(j, "retries", LOAD(c->retries));
    json_kv_double(j, "rt_ewma_ms", (double)LOAD(s->ewma_rt_us) / 1000.0);
    json_obj_end(j);
}

void stats_json_backend(struct json_out *j, const struct backend *be, int with_servers)
{
    struct stats_backend_sum sum;
    stats_backend_sum(be, &sum);
    json_obj_begin(j);
    json_kv_str(j, "name", be->name);
    json_kv_str(j, "algorithm", conf_algo_name(be->algo));
    json_kv_str(j, "status", stats_backend_status(&sum));
    json_kv_u64(j, "servers_total", be->nservers);
    json_kv_u64(j, "servers_up", sum.servers_up);
    json_kv_i64(j, "weight", sum.weight);
    json_kv_i64(j, "active", sum.active);
    json_kv_i64(j, "queued", LOAD(((struct backend *)be)->queued));
    json_traffic(j, sum.conns_total, sum.requests, sum.responses, sum.bytes_in, sum.bytes_out);
    json_kv_u64(j, "connect_errors", sum.connect_errors);
    json_kv_u64(j, "timeouts", sum.timeouts);
    json_kv_u64(j, "retries", sum.retries);
    if (with_servers) {
        json_key(j, "servers");
        json_arr_begin(j);
        for (unsigned i = 0; i < be->nservers; i++)
            stats_json_server(j, be->servers[i]);
        json_arr_end(j);
    }
    json_obj_end(j);
}

void stats_json_all(struct json_out *j, const struct runtime *rt, const struct stats_info *in)
{
    json_obj_begin(j);
    json_key(j, "info");
    stats_json_info(j, rt, in);
    json_key(j, "frontends");
    json_arr_begin(j);
    for (unsigned f = 0; f < rt->nfrontends; f++)
        stats_json_frontend(j, &rt->frontends[f]);
    json_arr_end(j);
    json_key(j, "backends");
    json_arr_begin(j);
    for (unsigned b = 0; b < rt->nbackends; b++)
        stats_json_backend(j, &rt->backends[b], 1);
    json_arr_end(j);
    json_obj_end(j);
}
