/* ctl_tables.c - show sticky, clear sticky, show conns. The tables can
 * hold a million entries, so replies stream one shard per piece (each
 * shard locked only while its piece is written) and the text form uses
 * fixed columns instead of a table measured over every row. */
#include "config.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl_server.h"
#include "ctl_tables.h"
#include "json_out.h"
#include "runtime.h"
#include "stats.h"
#include "tables.h"

struct walk {
    struct ctl_reply *r;
    struct json_out j;
    int json;
    unsigned shard;
    uint64_t count;
    uint64_t now;                      /* sticky: monotonic; conns: wall clock */
    char backend[STICKY_NAME_MAX + 1]; /* "" = all */
};

static struct runtime *env_rt(void *arg)
{
    return *((struct stats_env *)arg)->rt;
}

static int backend_known(struct ctl_reply *r, void *arg, const char *name)
{
    struct runtime *rt = env_rt(arg);
    for (unsigned i = 0; i < rt->nbackends; i++)
        if (strcmp(rt->backends[i].name, name) == 0)
            return 1;
    ctl_reply_error(r, "no backend \"%.64s\"", name);
    return 0;
}

/* 16 bytes (IPv4-mapped for IPv4) as text. */
static const char *ip16_str(const uint8_t *ip, char *buf, size_t len)
{
    static const uint8_t v4pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(ip, v4pfx, 12) == 0)
        return inet_ntop(AF_INET, ip + 12, buf, (socklen_t)len);
    return inet_ntop(AF_INET6, ip, buf, (socklen_t)len);
}

static const char *addr_str(const uint8_t *ip, uint16_t port_be, char *buf, size_t len)
{
    char ipb[INET6_ADDRSTRLEN];
    ip16_str(ip, ipb, sizeof(ipb));
    snprintf(buf, len, strchr(ipb, ':') ? "[%s]:%u" : "%s:%u", ipb, ntohs(port_be));
    return buf;
}

static const char *kind_name(enum sticky_kind k)
{
    switch (k) {
    case STICKY_KEY_COOKIE: return "cookie";
    case STICKY_KEY_APP: return "app";
    case STICKY_KEY_SOURCE: return "source";
    case STICKY_KEY_HASH: return "hash";
    }
    return "?";
}

/* Cookie values print as they are when plain; anything else in hex. */
static const char *key_str(const struct sticky_entry_view *e, char *buf, size_t len)
{
    if (e->kind == STICKY_KEY_SOURCE && e->key_len == 16)
        return ip16_str(e->key, buf, len);
    int plain = e->kind != STICKY_KEY_HASH;
    for (size_t i = 0; i < e->key_len && plain; i++)
        plain = e->key[i] > 0x20 && e->key[i] < 0x7f && e->key[i] != '"' && e->key[i] != '\\';
    if (plain && e->key_len < len) {
        memcpy(buf, e->key, e->key_len);
        buf[e->key_len] = '\0';
        return buf;
    }
    size_t o = 0;
    for (size_t i = 0; i < e->key_len && o + 3 <= len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%02x", e->key[i]);
    buf[o < len ? o : len - 1] = '\0';
    return buf;
}

/* ---- show sticky ---- */

static void sticky_row(const struct sticky_entry_view *e, void *arg)
{
    struct walk *w = arg;
    char key[2 * STICKY_KEY_MAX + 1];
    int64_t left = (int64_t)e->expire_ms - (int64_t)w->now;
    key_str(e, key, sizeof(key));
    w->count++;
    if (!w->json) {
        ctl_reply_printf(w->r, "%-16s %-6s %-34s %-16s %9.1f\n", e->backend, kind_name(e->kind),
                         key, e->server, (double)left / 1000.0);
        return;
    }
    json_obj_begin(&w->j);
    json_kv_str(&w->j, "backend", e->backend);
    json_kv_str(&w->j, "kind", kind_name(e->kind));
    json_kv_str(&w->j, "key", key);
    json_kv_str(&w->j, "server", e->server);
    json_kv_i64(&w->j, "expires_in_ms", left);
    json_kv_u64(&w->j, "ttl_ms", e->ttl_ms);
    json_obj_end(&w->j);
}

/* The reply buffer changes between pieces (ctl_server.c): point the
 * writers at the current one. */
static void walk_piece(struct walk *w, struct ctl_reply *r)
{
    w->r = r;
    w->j.buf = r->out;
}

/* Empty shards are skipped within one piece: the server gives up on a
 * stream after a run of empty pieces. */
static int sticky_more(struct ctl_reply *r, void *state)
{
    struct walk *w = state;
    struct sticky_table *t = tables_sticky();
    size_t before = evbuffer_get_length(r->out);
    walk_piece(w, r);
    while (t && w->shard < sticky_nshards(t) && evbuffer_get_length(r->out) == before)
        sticky_snapshot_shard(t, w->shard++, w->backend[0] ? w->backend : NULL, w->now,
                              sticky_row, w);
    if (evbuffer_get_length(r->out) > before)
        return 1;
    if (w->json) {
        json_arr_end(&w->j);
        json_kv_u64(&w->j, "count", w->count);
        json_kv_u64(&w->j, "feed_seq", t ? sticky_feed_seq(t) : 0);
        json_obj_end(&w->j);
        ctl_reply_printf(r, "\n");
    } else {
        ctl_reply_printf(r, "# %" PRIu64 " entries\n", w->count);
    }
    return 0;
}

static struct walk *walk_new(struct ctl_reply *r, int json, const char *backend, uint64_t now)
{
    struct walk *w = calloc(1, sizeof(*w));
    if (!w) {
        ctl_reply_error(r, "out of memory");
        return NULL;
    }
    w->r = r;
    w->json = json;
    w->now = now;
    if (backend)
        snprintf(w->backend, sizeof(w->backend), "%s", backend);
    if (json)
        ctl_reply_json(r, &w->j);
    return w;
}

void ctl_cmd_show_sticky(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    if (argc == 1 && !backend_known(r, arg, argv[0]))
        return;
    struct walk *w = walk_new(r, json, argc == 1 ? argv[0] : NULL, clock_mono_ms());
    if (!w)
        return;
    if (json) {
        json_obj_begin(&w->j);
        json_key(&w->j, "sticky");
        json_arr_begin(&w->j);
    } else {
        ctl_reply_printf(r, "%-16s %-6s %-34s %-16s %9s\n", "backend", "kind", "key", "server",
                         "expires_s");
    }
    ctl_reply_stream(r, sticky_more, w, free);
}

void ctl_cmd_clear_sticky(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    if (argc == 1 && !backend_known(r, arg, argv[0]))
        return;
    struct sticky_table *t = tables_sticky();
    unsigned n = t ? sticky_clear(t, argc == 1 ? argv[0] : NULL, clock_mono_ms()) : 0;
    const char *what = argc == 1 ? argv[0] : "all backends";
    if (json)
        ctl_reply_printf(r, "{\"cleared\":%u}\n", n);
    else
        ctl_reply_printf(r, "cleared %u sticky entries (%s)\n", n, what);
}

/* ---- show conns ---- */

static void conn_row(const struct conn_info *ci, void *arg)
{
    struct walk *w = arg;
    char cl[64], lo[64];
    uint64_t age = w->now > ci->start_ms ? w->now - ci->start_ms : 0;
    addr_str(ci->client_ip, ci->client_port, cl, sizeof(cl));
    addr_str(ci->local_ip, ci->local_port, lo, sizeof(lo));
    w->count++;
    if (!w->json) {
        ctl_reply_printf(w->r,
                         "%-16" PRIx64 " %-5s %-16s %-28s %-28s %-16s %-16s %-7s %9.1f"
                         " %12" PRIu64 " %12" PRIu64 "\n",
                         ci->id, conntable_proto_name((enum conn_proto)ci->proto), ci->frontend,
                         cl, lo, ci->backend[0] ? ci->backend : "-",
                         ci->server[0] ? ci->server : "-",
                         conntable_state_name((enum conn_state)ci->state), (double)age / 1000.0,
                         ci->bytes_in, ci->bytes_out);
        return;
    }
    json_obj_begin(&w->j);
    json_kv_u64(&w->j, "id", ci->id);
    json_kv_str(&w->j, "proto", conntable_proto_name((enum conn_proto)ci->proto));
    json_kv_str(&w->j, "frontend", ci->frontend);
    json_kv_str(&w->j, "client", cl);
    json_kv_str(&w->j, "local", lo);
    json_kv_str(&w->j, "backend", ci->backend);
    json_kv_str(&w->j, "server", ci->server);
    json_kv_str(&w->j, "state", conntable_state_name((enum conn_state)ci->state));
    json_kv_u64(&w->j, "start_ms", ci->start_ms);
    json_kv_u64(&w->j, "age_ms", age);
    json_kv_u64(&w->j, "bytes_in", ci->bytes_in);
    json_kv_u64(&w->j, "bytes_out", ci->bytes_out);
    json_obj_end(&w->j);
}

static int conns_more(struct ctl_reply *r, void *state)
{
    struct walk *w = state;
    struct conntable *t = tables_conns();
    size_t before = evbuffer_get_length(r->out);
    walk_piece(w, r);
    while (t && w->shard < conntable_nshards(t) && evbuffer_get_length(r->out) == before)
        conntable_snapshot_shard(t, w->shard++, conn_row, w);
    if (evbuffer_get_length(r->out) > before)
        return 1;
    if (w->json) {
        json_arr_end(&w->j);
        json_kv_u64(&w->j, "count", w->count);
        json_kv_u64(&w->j, "feed_seq", t ? conntable_feed_seq(t) : 0);
        json_obj_end(&w->j);
        ctl_reply_printf(r, "\n");
    } else {
        ctl_reply_printf(r, "# %" PRIu64 " connections\n", w->count);
    }
    return 0;
}

void ctl_cmd_show_conns(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    struct walk *w = walk_new(r, json, NULL, clock_wall_ms());
    if (!w)
        return;
    if (json) {
        json_obj_begin(&w->j);
        json_key(&w->j, "conns");
        json_arr_begin(&w->j);
    } else {
        ctl_reply_printf(r, "%-16s %-5s %-16s %-28s %-28s %-16s %-16s %-7s %9s %12s %12s\n", "id", "proto",
                         "frontend", "client", "local", "backend", "server", "state", "age_s",
                         "bytes_in", "bytes_out");
    }
    ctl_reply_stream(r, conns_more, w, free);
}
