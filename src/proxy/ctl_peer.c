/* ctl_peer.c - "peer show" and "peer resync" (ctl_peer.h). */
#include "config.h"
#include "ctl_peer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "json_out.h"
#include "stats.h"
#include "sync.h"

static struct sync *env_sync(struct ctl_reply *r, void *arg)
{
    struct sync *sy = ((struct stats_env *)arg)->sync;
    if (!sy)
        ctl_reply_error(r, "no peer: the configuration has no sync section");
    return sy;
}

static uint64_t ago(uint64_t now, uint64_t t)
{
    return t && now >= t ? now - t : 0;
}

static void link_json(struct json_out *j, const char *key, const struct sync_link_status *l,
                      uint64_t now)
{
    json_key(j, key);
    json_obj_begin(j);
    json_kv_str(j, "state", sync_link_state_name(l->state));
    json_kv_u64(j, "for_ms", ago(now, l->since_ms));
    json_kv_bool(j, "authenticated", l->state >= SYNC_LINK_HELLO);
    json_kv_str(j, "auth", l->auth);
    if (l->last_rx_ms)
        json_kv_u64(j, "last_message_ms_ago", ago(now, l->last_rx_ms));
    else {
        json_key(j, "last_message_ms_ago");
        json_null(j);
    }
    json_kv_u64(j, "connects", l->connects);
    json_kv_u64(j, "failures", l->failures);
    json_kv_str(j, "last_error", l->last_error);
    json_obj_end(j);
}

static void link_text(struct ctl_reply *r, const char *label, const struct sync_link_status *l,
                      uint64_t now)
{
    char rx[48] = "never";
    if (l->last_rx_ms)
        snprintf(rx, sizeof(rx), "%" PRIu64 " ms ago", ago(now, l->last_rx_ms));
    ctl_reply_printf(r, "%-17s%s for %.1fs, %s; last message %s; %" PRIu64 " connects, %"
                        PRIu64 " failures%s%s\n",
                     label, sync_link_state_name(l->state), (double)ago(now, l->since_ms) / 1e3,
                     l->state >= SYNC_LINK_HELLO ? l->auth : "not authenticated", rx,
                     l->connects, l->failures, l->last_error[0] ? "; last error: " : "",
                     l->last_error);
}

/* What went one way: entries per table, snapshots, and how far the
 * other side has acknowledged (sent) or we have applied (received). */
struct dir_counts {
    const char *name, *sticky_seq_key, *conns_seq_key;
    uint64_t sticky, conns, rate_limit, snapshots, sticky_seq, conns_seq;
};

static void counts_json(struct json_out *j, const struct dir_counts *c)
{
    json_key(j, c->name);
    json_obj_begin(j);
    json_kv_u64(j, "sticky", c->sticky);
    json_kv_u64(j, "conns", c->conns);
    json_kv_u64(j, "rate_limit", c->rate_limit);
    json_kv_u64(j, "snapshots", c->snapshots);
    json_kv_u64(j, c->sticky_seq_key, c->sticky_seq);
    json_kv_u64(j, c->conns_seq_key, c->conns_seq);
    json_obj_end(j);
}

void ctl_cmd_peer_show(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    (void)argc, (void)argv;
    struct sync *sy = env_sync(r, arg);
    if (!sy)
        return;
    struct sync_status s;
    sync_get_status(sy, &s);
    uint64_t now = clock_mono_ms();
    uint64_t last = s.out.last_rx_ms > s.in.last_rx_ms ? s.out.last_rx_ms : s.in.last_rx_ms;
    int connected = s.out.state == SYNC_LINK_UP && s.in.state == SYNC_LINK_UP;
    if (json) {
        struct json_out j;
        ctl_reply_json(r, &j);
        json_obj_begin(&j);
        json_kv_str(&j, "node", s.node);
        json_kv_str(&j, "peer", s.peer_node);
        json_kv_str(&j, "peer_addr", s.peer_addr);
        json_kv_str(&j, "listen", s.listen);
        json_kv_bool(&j, "connected", connected);
        json_kv_bool(&j, "authenticated", s.out.state >= SYNC_LINK_HELLO ||
                                              s.in.state >= SYNC_LINK_HELLO);
        if (last)
            json_kv_u64(&j, "last_message_ms_ago", ago(now, last));
        else {
            json_key(&j, "last_message_ms_ago");
            json_null(&j);
        }
        link_json(&j, "out", &s.out, now);
        link_json(&j, "in", &s.in, now);
        json_kv_u64(&j, "lag_events", s.lag_events);
        json_kv_u64(&j, "lag_ms", s.lag_ms);
        json_kv_u64(&j, "queue_bytes", s.queue_bytes);
        json_kv_u64(&j, "queue_max", s.queue_max);
        counts_json(&j, &(struct dir_counts){ "sent", "sticky_acked_seq", "conns_acked_seq",
                                              s.sticky_sent, s.conns_sent, s.rl_sent,
                                              s.snapshots_sent, s.sticky_acked, s.conns_acked });
        counts_json(&j, &(struct dir_counts){ "received", "sticky_applied_seq", "conns_applied_seq",
                                              s.sticky_recv, s.conns_recv, s.rl_recv,
                                              s.snapshots_recv, s.sticky_applied,
                                              s.conns_applied });
        json_kv_u64(&j, "resyncs", s.resyncs);
        json_kv_u64(&j, "sticky_entries", s.sticky_entries);
        json_kv_u64(&j, "peer_conns_open", s.peer_conns_open);
        json_kv_u64(&j, "peer_conns_recent", s.peer_conns_recent);
        json_kv_str(&j, "vips_held", s.held);
        json_kv_str(&j, "peer_vips_held", s.peer_held);
        json_kv_str(&j, "split_brain", s.split_brain);
        json_kv_bool(&j, "ready", s.ready);
        json_kv_str(&j, "ready_how", s.ready_how);
        json_obj_end(&j);
        ctl_reply_printf(r, "\n");
        return;
    }
    char lastbuf[48] = "never";
    if (last)
        snprintf(lastbuf, sizeof(lastbuf), "%" PRIu64 " ms ago", ago(now, last));
    char ready[128];
    if (s.ready)
        snprintf(ready, sizeof(ready), "yes, %llu ms after start (%s)",
                 (unsigned long long)s.ready_ms, s.ready_how);
    else
        snprintf(ready, sizeof(ready), "NO: taking the peer's tables (ping answers \"syncing\")");
    ctl_reply_printf(r, "peer:            %s (%s)\n"
                        "node:            %s (listening on %s)\n"
                        "ready:           %s\n"
                        "connected:       %s\n"
                        "last message:    %s\n",
                     s.peer_node[0] ? s.peer_node : "?", s.peer_addr, s.node, s.listen, ready,
                     connected ? "yes" : s.out.state == SYNC_LINK_UP || s.in.state == SYNC_LINK_UP
                                           ? "one way only" : "NO",
                     lastbuf);
    link_text(r, "out (we send):", &s.out, now);
    link_text(r, "in (we receive):", &s.in, now);
    ctl_reply_printf(r, "lag:             %" PRIu64 " events, %" PRIu64 " ms (queue %" PRIu64
                        " of %" PRIu64 " bytes)\n"
                        "sent:            sticky %" PRIu64 ", conns %" PRIu64 ", rate-limit %"
                        PRIu64 ", snapshots %" PRIu64 "\n"
                        "received:        sticky %" PRIu64 ", conns %" PRIu64 ", rate-limit %"
                        PRIu64 ", snapshots %" PRIu64 "\n"
                        "resyncs:         %" PRIu64 "\n"
                        "sticky table:    %u entries (ours and learned)\n"
                        "peer conns:      %u open, %u recent (kept for returning clients)\n"
                        "vips held:       us: %s; peer: %s\n"
                        "split brain:     %s\n",
                     s.lag_events, s.lag_ms, s.queue_bytes, s.queue_max, s.sticky_sent,
                     s.conns_sent, s.rl_sent, s.snapshots_sent, s.sticky_recv, s.conns_recv,
                     s.rl_recv, s.snapshots_recv, s.resyncs, s.sticky_entries, s.peer_conns_open,
                     s.peer_conns_recent, s.held[0] ? s.held : "-",
                     s.peer_held[0] ? s.peer_held : "-",
                     s.split_brain[0] ? s.split_brain : "no");
}

void ctl_cmd_peer_resync(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    (void)argc, (void)argv;
    struct sync *sy = env_sync(r, arg);
    if (!sy)
        return;
    sync_request_resync(sy);
    if (json)
        ctl_reply_printf(r, "{\"resync\":\"requested\"}\n");
    else
        ctl_reply_printf(r, "resync requested: the peer sends its tables again, and so do we\n");
}
