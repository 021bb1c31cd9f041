/* ctl.c - tandem-proxy's status-socket commands. Replies are rendered
 * here, as aligned text tables or as JSON (the same objects as
 * /stats.json, from stats.c); tandemctl prints them as they come. Every
 * handler runs on the main thread, which owns the runtime pointer, so a
 * reload can never swap the runtime under a handler. */
#include "config.h"
#include "ctl.h"
#include "ctl_server.h"
#include "ctl_table.h"
#include "ctl_tables.h"
#include "ctl_peer.h"
#include "sync.h"
#include "clock.h"
#include "health.h"
#include "log.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define U64(buf, v) (snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)(v)), buf)

static struct runtime *env_rt(void *arg)
{
    return *((struct stats_env *)arg)->rt;
}

static void reply_end_json(struct ctl_reply *r)
{
    ctl_reply_printf(r, "\n");
}

/* ---- lookups ---- */

static struct backend *find_backend(struct ctl_reply *r, struct runtime *rt, const char *name)
{
    for (unsigned i = 0; i < rt->nbackends; i++)
        if (strcmp(rt->backends[i].name, name) == 0)
            return &rt->backends[i];
    ctl_reply_error(r, "no backend \"%.64s\"", name);
    return NULL;
}

/* "BACKEND/SERVER" -> the server, or NULL with an error reply. */
static struct server *find_server(struct ctl_reply *r, struct runtime *rt, const char *spec)
{
    const char *slash = strchr(spec, '/');
    char be_name[128];
    if (!slash || slash == spec || !slash[1] || (size_t)(slash - spec) >= sizeof(be_name)) {
        ctl_reply_error(r, "expected BACKEND/SERVER, got \"%.64s\"", spec);
        return NULL;
    }
    memcpy(be_name, spec, (size_t)(slash - spec));
    be_name[slash - spec] = '\0';
    struct backend *be = find_backend(r, rt, be_name);
    if (!be)
        return NULL;
    for (unsigned i = 0; i < be->nservers; i++)
        if (strcmp(be->servers[i]->name, slash + 1) == 0)
            return be->servers[i];
    ctl_reply_error(r, "backend \"%s\" has no server \"%.64s\"", be->name, slash + 1);
    return NULL;
}

/* ---- ping, show info ---- */

/* "pong", or, while a starting proxy still takes its peer's tables,
 * "syncing ...": alive but not ready, so a tracking tandem-vrrp waits
 * before taking the VIP (docs/sync.md, "Ready"). */
static void cmd_ping(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    if (!sync_ready(((struct stats_env *)arg)->sync))
        ctl_reply_printf(r, json ? "{\"ping\":\"syncing\"}\n"
                                 : "syncing tables from the peer\n");
    else
        ctl_reply_printf(r, json ? "{\"ping\":\"pong\"}\n" : "pong\n");
}

static void cmd_show_info(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    struct stats_env *env = arg;
    struct runtime *rt = env_rt(arg);
    struct stats_info in;
    stats_env_info(env, &in);
    if (json) {
        struct json_out j;
        ctl_reply_json(r, &j);
        stats_json_info(&j, rt, &in);
        reply_end_json(r);
        return;
    }
    struct stats_totals t;
    stats_totals(rt, &t);
    uint64_t up = in.uptime_ms / 1000;
    ctl_reply_printf(r, "name:               tandem-proxy\n"
                        "version:            %s\n"
                        "pid:                %d\n"
                        "node:               %s\n"
                        "config:             %s\n"
                        "threads:            %u\n"
                        "uptime:             %" PRIu64 "d %02" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s\n"
                        "uptime_sec:         %" PRIu64 "\n"
                        "generation:         %" PRIu64 "\n"
                        "reloads_failed:     %" PRIu64 "\n"
                        "frontends:          %u\n"
                        "backends:           %u\n"
                        "servers:            %u\n"
                        "active_connections: %d\n"
                        "total_connections:  %" PRIu64 "\n"
                        "total_requests:     %" PRIu64 "\n",
                     in.version, (int)in.pid, in.node ? in.node : "-", in.config_path,
                     in.threads, up / 86400, up / 3600 % 24, up / 60 % 60, up % 60, up,
                     in.generation, in.reloads_failed, rt->nfrontends, rt->nbackends,
                     t.servers, t.active, t.conns, t.requests);
}

/* ---- show stat ---- */

/* One row of "show stat": what frontends, backends and servers share. */
struct stat_row {
    const char *type, *name, *status;
    int weight;                  /* -1: not applicable */
    int active;
    uint64_t conns, requests, resp[6], bytes_in, bytes_out, errors;
};

static const char *const stat_headers[] = {
    "type", "name", "status", "weight", "act", "conns", "req", "1xx", "2xx", "3xx",
    "4xx", "5xx", "other", "bytes_in", "bytes_out", "errors",
};
#define STAT_COLS (sizeof(stat_headers) / sizeof(stat_headers[0]))

static void stat_add(struct ctl_table *t, const struct stat_row *row)
{
    char num[12][24], w[16], act[16];
    const char *cells[STAT_COLS] = { row->type, row->name, row->status };
    snprintf(w, sizeof(w), "%d", row->weight);
    snprintf(act, sizeof(act), "%d", row->active);
    cells[3] = row->weight >= 0 ? w : "-";
    cells[4] = act;
    cells[5] = U64(num[0], row->conns);
    cells[6] = U64(num[1], row->requests);
    for (unsigned k = 1; k < 6; k++)
        cells[6 + k] = U64(num[1 + k], row->resp[k]);
    cells[12] = U64(num[7], row->resp[0]);
    cells[13] = U64(num[8], row->bytes_in);
    cells[14] = U64(num[9], row->bytes_out);
    cells[15] = U64(num[10], row->errors);
    ctl_table_add(t, cells);
}

static void stat_frontend(struct ctl_table *t, const struct frontend_rt *fe)
{
    const struct frontend_counters *c = &fe->stats;
    struct stat_row row = { "frontend", fe->conf->name, "OPEN", -1, LOAD(fe->active),
                            LOAD(c->conns_total), LOAD(c->requests), { 0 },
                            LOAD(c->bytes_in), LOAD(c->bytes_out),
                            LOAD(c->errors) + LOAD(c->denied) };
    for (unsigned k = 0; k < 6; k++)
        row.resp[k] = LOAD(c->responses[k]);
    stat_add(t, &row);
}

static void stat_backend(struct ctl_table *t, const struct backend *be)
{
    struct stats_backend_sum s;
    stats_backend_sum(be, &s);
    struct stat_row row = { "backend", be->name, stats_backend_status(&s), s.weight, s.active,
                            s.conns_total, s.requests, { 0 }, s.bytes_in, s.bytes_out,
                            s.connect_errors + s.timeouts };
    memcpy(row.resp, s.responses, sizeof(row.resp));
    stat_add(t, &row);
}

static void stat_server(struct ctl_table *t, const struct server *s)
{
    const struct server_counters *c = &s->stats;
    char name[256];
    snprintf(name, sizeof(name), "%s/%s", s->backend->name, s->name);
    struct stat_row row = { "server", name, server_state_name((enum srv_state)LOAD(s->state)),
                            LOAD(s->weight), LOAD(s->active), LOAD(c->conns_total),
                            LOAD(c->requests), { 0 }, LOAD(c->bytes_in), LOAD(c->bytes_out),
                            LOAD(c->connect_errors) + LOAD(c->timeouts) };
    for (unsigned k = 0; k < 6; k++)
        row.resp[k] = LOAD(c->responses[k]);
    stat_add(t, &row);
}

static void cmd_show_stat(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    struct runtime *rt = env_rt(arg);
    if (json) {
        struct stats_info in;
        struct json_out j;
        stats_env_info(arg, &in);
        ctl_reply_json(r, &j);
        stats_json_all(&j, rt, &in);
        reply_end_json(r);
        return;
    }
    struct ctl_table t;
    if (ctl_table_init(&t, STAT_COLS, stat_headers) < 0)
        return;
    for (unsigned f = 0; f < rt->nfrontends; f++)
        stat_frontend(&t, &rt->frontends[f]);
    for (unsigned b = 0; b < rt->nbackends; b++) {
        stat_backend(&t, &rt->backends[b]);
        for (unsigned i = 0; i < rt->backends[b].nservers; i++)
            stat_server(&t, rt->backends[b].servers[i]);
    }
    ctl_table_print(&t, r->out);
    ctl_table_free(&t);
}

/* ---- show backends, show servers ---- */

static void cmd_show_backends(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    static const char *const headers[] = {
        "backend", "algorithm", "status", "servers", "up", "weight", "act", "queued",
        "conns", "req", "5xx", "errors",
    };
    struct runtime *rt = env_rt(arg);
    if (json) {
        struct json_out j;
        ctl_reply_json(r, &j);
        json_obj_begin(&j);
        json_key(&j, "backends");
        json_arr_begin(&j);
        for (unsigned b = 0; b < rt->nbackends; b++)
            stats_json_backend(&j, &rt->backends[b], 0);
        json_arr_end(&j);
        json_obj_end(&j);
        reply_end_json(r);
        return;
    }
    struct ctl_table t;
    if (ctl_table_init(&t, 12, headers) < 0)
        return;
    for (unsigned b = 0; b < rt->nbackends; b++) {
        const struct backend *be = &rt->backends[b];
        struct stats_backend_sum s;
        char n[8][24];
        stats_backend_sum(be, &s);
        snprintf(n[0], sizeof(n[0]), "%d", s.weight);
        snprintf(n[1], sizeof(n[1]), "%d", s.active);
        snprintf(n[2], sizeof(n[2]), "%d", LOAD(((struct backend *)be)->queued));
        const char *cells[] = { be->name, conf_algo_name(be->algo), stats_backend_status(&s),
                                U64(n[3], be->nservers), U64(n[4], s.servers_up), n[0], n[1],
                                n[2], U64(n[5], s.conns_total), U64(n[6], s.requests),
                                U64(n[7], s.responses[5]), NULL };
        char err[24];
        cells[11] = U64(err, s.connect_errors + s.timeouts);
        ctl_table_add(&t, cells);
    }
    ctl_table_print(&t, r->out);
    ctl_table_free(&t);
}

static void server_row(struct ctl_table *t, const struct server *s)
{
    const struct server_counters *c = &s->stats;
    char addr[ADDR_STRLEN], n[10][24];
    snprintf(n[0], sizeof(n[0]), "%d", LOAD(s->weight));
    snprintf(n[1], sizeof(n[1]), "%d", LOAD(s->active));
    snprintf(n[2], sizeof(n[2]), "%.1f", (double)LOAD(s->ewma_rt_us) / 1000.0);
    const char *cells[] = {
        s->backend->name, s->name,
        addr_format((const struct sockaddr *)&s->addr.ss, addr, sizeof(addr)),
        server_state_name((enum srv_state)LOAD(s->state)), n[0], n[1],
        s->maxconn ? U64(n[3], s->maxconn) : "-", U64(n[4], LOAD(c->conns_total)),
        U64(n[5], LOAD(c->requests)), U64(n[6], LOAD(c->responses[2])),
        U64(n[7], LOAD(c->responses[4])), U64(n[8], LOAD(c->responses[5])),
        U64(n[9], LOAD(c->connect_errors) + LOAD(c->timeouts)), n[2],
    };
    ctl_table_add(t, cells);
}

static void cmd_show_servers(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    static const char *const headers[] = {
        "backend", "server", "addr", "state", "weight", "act", "maxconn", "conns", "req",
        "2xx", "4xx", "5xx", "errors", "rt_ms",
    };
    struct runtime *rt = env_rt(arg);
    const struct backend *only = NULL;
    if (argc == 1 && !(only = find_backend(r, rt, argv[0])))
        return;
    struct ctl_table t;
    struct json_out j;
    if (json) {
        ctl_reply_json(r, &j);
        json_obj_begin(&j);
        json_key(&j, "servers");
        json_arr_begin(&j);
    } else if (ctl_table_init(&t, 14, headers) < 0) {
        return;
    }
    for (unsigned b = 0; b < rt->nbackends; b++) {
        const struct backend *be = &rt->backends[b];
        if (only && be != only)
            continue;
        for (unsigned i = 0; i < be->nservers; i++) {
            if (json)
                stats_json_server(&j, be->servers[i]);
            else
                server_row(&t, be->servers[i]);
        }
    }
    if (json) {
        json_arr_end(&j);
        json_obj_end(&j);
        reply_end_json(r);
        return;
    }
    ctl_table_print(&t, r->out);
    ctl_table_free(&t);
}

/* ---- set server, set weight ---- */

static void reply_change(struct ctl_reply *r, const struct server *s, const char *what,
                         const char *before, const char *after)
{
    if (r->json) {
        struct json_out j;
        ctl_reply_json(r, &j);
        json_obj_begin(&j);
        json_kv_str(&j, "backend", s->backend->name);
        json_kv_str(&j, "server", s->name);
        json_kv_str(&j, "changed", what);
        json_kv_str(&j, "before", before);
        json_kv_str(&j, "after", after);
        json_obj_end(&j);
        reply_end_json(r);
        return;
    }
    ctl_reply_printf(r, "%s/%s: %s %s (was %s)\n", s->backend->name, s->name, what, after,
                     before);
}

static void cmd_set_server(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    struct server *s = find_server(r, env_rt(arg), argv[0]);
    if (!s)
        return;
    if (strcmp(argv[1], "state") != 0) {
        ctl_reply_error(r, "usage: set server BACKEND/SERVER state ready|drain|maint");
        return;
    }
    const char *before = server_state_name((enum srv_state)LOAD(s->state));
    uint64_t now = clock_mono_ms();
    if (strcmp(argv[2], "ready") == 0)
        health_admin_ready(s, now);     /* UP, or DOWN if its checks say so */
    else if (strcmp(argv[2], "drain") == 0)
        server_set_state(s, SRV_DRAIN, now);
    else if (strcmp(argv[2], "maint") == 0)
        server_set_state(s, SRV_MAINT, now);
    else {
        ctl_reply_error(r, "unknown state \"%.32s\" (use ready, drain or maint)", argv[2]);
        return;
    }
    const char *after = server_state_name((enum srv_state)LOAD(s->state));
    log_notice("status socket: server %s/%s set to %s (was %s)", s->backend->name, s->name,
               after, before);
    reply_change(r, s, "state", before, after);
}

/* A weight is a plain decimal 0-256: "010", "+5" or "5x" are refused. */
static int parse_weight(const char *v)
{
    int w = 0;
    if (!v[0] || strlen(v) > 3)
        return -1;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        w = w * 10 + (*p - '0');
    }
    return w <= 256 ? w : -1;
}

static void cmd_set_weight(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    struct server *s = find_server(r, env_rt(arg), argv[0]);
    if (!s)
        return;
    int w = parse_weight(argv[1]);
    if (w < 0) {
        ctl_reply_error(r, "weight \"%.32s\" is not a number from 0 to 256", argv[1]);
        return;
    }
    char before[16], after[16];
    snprintf(before, sizeof(before), "%d", LOAD(s->weight));
    server_set_weight(s, w);
    snprintf(after, sizeof(after), "%d", LOAD(s->weight));
    log_notice("status socket: server %s/%s weight %s (was %s)", s->backend->name, s->name,
               after, before);
    reply_change(r, s, "weight", before, after);
}

/* ---- reload ---- */

static void cmd_reload(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    struct stats_env *env = arg;
    char msg[400] = "";
    log_notice("status socket: reload requested");
    if (env->reload(env->reload_arg, msg, sizeof(msg)) < 0) {
        ctl_reply_error(r, "reload failed, still running the previous configuration: %s", msg);
        return;
    }
    uint64_t gen = env_rt(arg)->generation;
    if (json)
        ctl_reply_printf(r, "{\"reloaded\":true,\"generation\":%" PRIu64 "}\n", gen);
    else
        ctl_reply_printf(r, "reload done (generation %" PRIu64 ")\n", gen);
}

static const struct ctl_command proxy_commands[] = {
    { "ping", "", "answers pong (liveness check)", 0, 0, cmd_ping },
    { "show info", "", "process: version, pid, uptime, threads, node, reloads, totals", 0, 0,
      cmd_show_info },
    { "show stat", "", "one row per frontend, backend and server with counters", 0, 0,
      cmd_show_stat },
    { "show backends", "", "backends: algorithm, status, servers up, load", 0, 0,
      cmd_show_backends },
    { "show servers", "[BACKEND]", "servers: address, state, weight, connections, traffic", 0,
      1, cmd_show_servers },
    { "set server", "BACKEND/SERVER state ready|drain|maint", "change a server's state", 3,
      3, cmd_set_server },
    { "set weight", "BACKEND/SERVER N", "change a server's weight (0-256)", 2, 2,
      cmd_set_weight },
    { "show sticky", "[BACKEND]", "sticky-session entries: key, server, expiry", 0, 1,
      ctl_cmd_show_sticky },
    { "clear sticky", "[BACKEND]", "forget sticky-session entries (all, or BACKEND's)", 0, 1,
      ctl_cmd_clear_sticky },
    { "show conns", "", "live connections and flows: client, VIP, server, age", 0, 0,
      ctl_cmd_show_conns },
    { "peer show", "", "the sync channel to the peer box: links, lag, counts, split brain", 0,
      0, ctl_cmd_peer_show },
    { "peer resync", "", "ask the peer for its whole tables again, and send ours", 0, 0,
      ctl_cmd_peer_resync },
    { "reload", "", "reload the configuration (like SIGHUP)", 0, 0, cmd_reload },
    CTL_COMMANDS_END
};

int proxy_ctl_start(struct event_base *base, const struct tandem_config *cfg,
                    struct stats_env *env, struct ctl_server **out)
{
    char err[512];
    *out = NULL;
    if (!cfg->global.status_socket)
        return 0;
    struct ctl_server_opts o = {
        .path = cfg->global.status_socket,
        .group = cfg->global.status_socket_group,
        .name = "status socket",
    };
    *out = ctl_server_start(base, &o, proxy_commands, env, err, sizeof(err));
    if (!*out) {
        log_err("status socket: %s", err);
        return -1;
    }
    log_info("status socket listening on %s", o.path);
    return 0;
}

void proxy_ctl_stop(struct ctl_server *s)
{
    ctl_server_stop(s);
}
