/* conf_sync.c - sync = { listen; peer; psk_file; ... } (conf_sync.h).
 * The keys' shapes and the checks that span several keys; the key and
 * certificate files themselves are read by the proxy's sync thread at
 * start (src/proxy/sync_tls.c), which names the file and what was wrong. */
#include "config.h"
#include "conf_sync.h"

#include <stdlib.h>
#include <string.h>

#define SY struct tandem_config

static void load_sync_addr(struct loader *ld, const config_setting_t *s,
                           const struct key_spec *k, void *obj)
{
    struct net_addr *a = (struct net_addr *)((char *)obj + k->off);
    const char *v = get_string(ld, s), *err;
    if (!v)
        return;
    if (addr_parse_hostport(v, a, &err) < 0) {
        ld_error(ld, s, "%s \"%s\": %s", ld->key, v, err);
        return;
    }
    if (addr_port((struct sockaddr *)&a->ss) == 0)
        ld_error(ld, s, "%s \"%s\": a port is needed", ld->key, v);
}

static const struct key_spec sync_keys[] = {
    CUSTOMF("listen", KEY_REQUIRED, load_sync_addr, 0, SY, sync.listen),
    CUSTOMF("peer", KEY_REQUIRED, load_sync_addr, 0, SY, sync.peer),
    CUSTOMF("psk_file", 0, load_path, 0, SY, sync.psk_file),
    CUSTOMF("cert", 0, load_path, 0, SY, sync.cert),
    CUSTOMF("key", 0, load_path, 0, SY, sync.key),
    CUSTOMF("ca", 0, load_path, 0, SY, sync.ca),
    STRING("peer_name", SY, sync.peer_name, 0),
    DURATION("heartbeat", SY, sync.heartbeat_ms, 0, 10),
    DURATION("timeout", SY, sync.timeout_ms, 0, 30),
    DURATION("reconnect_min", SY, sync.reconnect_min_ms, 0, 10),
    DURATION("reconnect_max", SY, sync.reconnect_max_ms, 0, 10),
    SIZE("queue_size", SY, sync.queue_bytes, 0, 64 * 1024, 1ULL << 30),
    DURATION("conn_grace", SY, sync.conn_grace_ms, 0, 0),
    DURATION("rate_limit_interval", SY, sync.rl_interval_ms, 0, 10),
    UINT("max_peer_conns", SY, sync.max_peer_conns, 0, 1, 10000000),
    DURATION("ready_wait", SY, sync.ready_wait_ms, 0, 0),
    KEYS_END
};

void conf_sync_defaults(struct tandem_config *cfg)
{
    struct conf_sync *y = &cfg->sync;
    y->heartbeat_ms = 200;
    y->timeout_ms = 1000;
    y->reconnect_min_ms = 100;
    y->reconnect_max_ms = 5000;
    y->queue_bytes = 8u << 20;
    y->conn_grace_ms = 30000;
    y->rl_interval_ms = 100;
    y->max_peer_conns = 200000;
    y->ready_wait_ms = 10000;
}

void conf_sync_load(struct loader *ld, const config_setting_t *s,
                    const struct key_spec *k, void *obj)
{
    struct tandem_config *cfg = obj;
    struct conf_sync *y = &cfg->sync;
    static const struct key_spec group = GROUP("sync", 0, sync_keys);
    if (want_type(ld, s, CONFIG_TYPE_GROUP, "a group { ... }") < 0)
        return;
    unsigned before = ld->nmsgs;
    load_group(ld, s, &group, obj);
    y->line = (int)config_setting_source_line(s);
    if (ld->nmsgs != before)
        return;
    int certs = y->cert || y->key || y->ca;
    if (!y->psk_file && !certs)
        ld_error(ld, s, "sync: give psk_file, or cert, key and ca (the channel is always "
                        "authenticated)");
    else if (y->psk_file && certs)
        ld_error(ld, s, "sync: psk_file and cert/key/ca are exclusive: use one way to "
                        "authenticate the peer");
    else if (certs && !(y->cert && y->key && y->ca))
        ld_error(ld, s, "sync: mutual certificates need all of cert, key and ca");
    if (y->peer_name && !certs)
        ld_error(ld, s, "sync: peer_name is checked against the peer's certificate: it "
                        "needs cert, key and ca");
    if (y->reconnect_min_ms > y->reconnect_max_ms)
        ld_error(ld, s, "sync: reconnect_min (%llu ms) is above reconnect_max (%llu ms)",
                 (unsigned long long)y->reconnect_min_ms,
                 (unsigned long long)y->reconnect_max_ms);
    if (y->timeout_ms < 2 * y->heartbeat_ms)
        ld_error(ld, s, "sync: timeout (%llu ms) must be at least twice the heartbeat "
                        "(%llu ms)", (unsigned long long)y->timeout_ms,
                 (unsigned long long)y->heartbeat_ms);
    if (addr_equal((struct sockaddr *)&y->listen.ss, (struct sockaddr *)&y->peer.ss))
        ld_error(ld, s, "sync: listen and peer are the same address");
    y->enabled = 1;
}

void conf_sync_free(struct tandem_config *cfg)
{
    free(cfg->sync.psk_file);
    free(cfg->sync.cert);
    free(cfg->sync.key);
    free(cfg->sync.ca);
    free(cfg->sync.peer_name);
}
