/* vrrp_ctl.c - the agent's status socket (ctl_server.c): "ping",
 * "show [NAME]" (text, or JSON with a trailing "json") and
 * "switchover NAME". tandemctl vrrp show|switchover speaks these. */
#include "config.h"
#include "vrrp_agent.h"
#include "clock.h"
#include "ctl_server.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *vrrp_addr_text(int family, const uint8_t *addr, char *buf, size_t len)
{
    if (!inet_ntop(family, addr, buf, (socklen_t)len))
        snprintf(buf, len, "?");
    return buf;
}

static const char *vrrp_time_text(uint64_t wall_ms, char *buf, size_t len)
{
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03uZ", (unsigned)(wall_ms % 1000));
    return buf;
}

static void vrrp_ctl_ping(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    if (json) {
        struct json_out j;
        ctl_reply_json(r, &j);
        json_obj_begin(&j);
        json_kv_str(&j, "reply", "pong");
        json_obj_end(&j);
        ctl_reply_printf(r, "\n");
        return;
    }
    ctl_reply_printf(r, "pong\n");
}

static const char *vrrp_master_text(const struct vrrp_instance *in, char *buf, size_t len)
{
    if (in->fsm.state == VRRP_STATE_MASTER)
        return in->have_primary ? vrrp_addr_text(in->conf->family, in->primary, buf, len)
                                : "self";
    if (!in->fsm.master_known)
        return NULL;
    return vrrp_addr_text(in->conf->family, in->fsm.master_addr, buf, len);
}

static void vrrp_show_text(struct ctl_reply *r, const struct vrrp_instance *in)
{
    char m[INET6_ADDRSTRLEN], ts[40];
    const char *master = vrrp_master_text(in, m, sizeof(m));
    ctl_reply_printf(r, "instance %s: vrid %u %s on %s state %s since %s\n", in->conf->name,
                     in->conf->vrid, in->conf->family == AF_INET ? "ipv4" : "ipv6", in->ifname,
                     vrrp_state_name(in->fsm.state),
                     vrrp_time_text(in->state_since_wall_ms, ts, sizeof(ts)));
    ctl_reply_printf(r, "  priority %u effective %u master %s advert %u ms master_advert %u ms%s\n",
                     in->conf->priority, in->fsm.priority, master ? master : "-",
                     in->conf->advert_ms, in->fsm.master_adver_int_cs * 10u,
                     in->conf->npeers ? " unicast" : "");
    ctl_reply_printf(r, "  vips");
    for (unsigned i = 0; i < in->conf->nvips; i++)
        ctl_reply_printf(r, " %s/%d", vrrp_addr_text(in->conf->vips[i].family,
                                                     in->conf->vips[i].addr, m, sizeof(m)),
                         in->conf->vips[i].prefixlen);
    ctl_reply_printf(r, "%s\n", in->holds_vips ? " (held)" : "");
    ctl_reply_printf(r, "  packets in %llu out %llu send_errors %llu prio0_in %llu prio0_out %llu"
                     " late_timers %llu (max %llu ms)\n",
                     (unsigned long long)in->adverts_in, (unsigned long long)in->adverts_out,
                     (unsigned long long)in->send_errors, (unsigned long long)in->priority0_in,
                     (unsigned long long)in->priority0_out, (unsigned long long)in->late_timers,
                     (unsigned long long)in->late_max_ms);
    uint64_t total = 0;
    ctl_reply_printf(r, "  dropped");
    for (int d = 1; d < VRRP_DROP_COUNT; d++) {
        total += in->drops[d];
        if (in->drops[d])
            ctl_reply_printf(r, " %s=%llu", vrrp_drop_name(d), (unsigned long long)in->drops[d]);
    }
    ctl_reply_printf(r, "%s\n", total ? "" : " none");
    unsigned n = in->ntransitions, first = n > VRRP_TRANSITIONS_KEPT ? n - VRRP_TRANSITIONS_KEPT : 0;
    for (unsigned i = first; i < n; i++) {
        const struct vrrp_transition *t = &in->transitions[i % VRRP_TRANSITIONS_KEPT];
        ctl_reply_printf(r, "  %s %s -> %s (%s)\n", vrrp_time_text(t->wall_ms, ts, sizeof(ts)),
                         vrrp_state_name(t->from), vrrp_state_name(t->to), t->reason);
    }
}

static void vrrp_show_json_transitions(struct json_out *j, const struct vrrp_instance *in)
{
    char ts[40];
    unsigned n = in->ntransitions, first = n > VRRP_TRANSITIONS_KEPT ? n - VRRP_TRANSITIONS_KEPT : 0;
    json_key(j, "transitions");
    json_arr_begin(j);
    for (unsigned i = first; i < n; i++) {
        const struct vrrp_transition *t = &in->transitions[i % VRRP_TRANSITIONS_KEPT];
        json_obj_begin(j);
        json_kv_str(j, "time", vrrp_time_text(t->wall_ms, ts, sizeof(ts)));
        json_kv_str(j, "from", vrrp_state_name(t->from));
        json_kv_str(j, "to", vrrp_state_name(t->to));
        json_kv_str(j, "reason", t->reason);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void vrrp_show_json_packets(struct json_out *j, const struct vrrp_instance *in)
{
    json_key(j, "packets");
    json_obj_begin(j);
    json_kv_u64(j, "in", in->adverts_in);
    json_kv_u64(j, "out", in->adverts_out);
    json_kv_u64(j, "send_errors", in->send_errors);
    json_kv_u64(j, "priority0_in", in->priority0_in);
    json_kv_u64(j, "priority0_out", in->priority0_out);
    json_key(j, "dropped");
    json_obj_begin(j);
    for (int d = 1; d < VRRP_DROP_COUNT; d++)
        json_kv_u64(j, vrrp_drop_name(d), in->drops[d]);
    json_obj_end(j);
    json_obj_end(j);
}

static void vrrp_show_json(struct json_out *j, const struct vrrp_instance *in)
{
    char m[INET6_ADDRSTRLEN], ts[40];
    json_obj_begin(j);
    json_kv_str(j, "name", in->conf->name);
    json_kv_u64(j, "vrid", in->conf->vrid);
    json_kv_str(j, "family", in->conf->family == AF_INET ? "ipv4" : "ipv6");
    json_kv_str(j, "interface", in->ifname);
    json_kv_str(j, "state", vrrp_state_name(in->fsm.state));
    json_kv_str(j, "since", vrrp_time_text(in->state_since_wall_ms, ts, sizeof(ts)));
    json_kv_u64(j, "priority", in->conf->priority);
    json_kv_u64(j, "effective_priority", in->fsm.priority);
    json_kv_str(j, "master", vrrp_master_text(in, m, sizeof(m)));
    json_kv_u64(j, "advert_ms", in->conf->advert_ms);
    json_kv_u64(j, "master_advert_ms", in->fsm.master_adver_int_cs * 10u);
    json_kv_bool(j, "unicast", in->conf->npeers > 0);
    json_kv_bool(j, "holds_vips", in->holds_vips);
    json_key(j, "vips");
    json_arr_begin(j);
    for (unsigned i = 0; i < in->conf->nvips; i++) {
        char v[INET6_ADDRSTRLEN + 8];
        snprintf(v, sizeof(v), "%s/%d", vrrp_addr_text(in->conf->vips[i].family,
                                                      in->conf->vips[i].addr, m, sizeof(m)),
                 in->conf->vips[i].prefixlen);
        json_str(j, v);
    }
    json_arr_end(j);
    json_kv_u64(j, "late_timers", in->late_timers);
    json_kv_u64(j, "late_max_ms", in->late_max_ms);
    vrrp_show_json_packets(j, in);
    vrrp_show_json_transitions(j, in);
    json_obj_end(j);
}

/* Packets a socket dropped before an instance could be told: for a VRID
 * not configured here, or malformed beyond reading the VRID. */
static void vrrp_show_sockets(struct ctl_reply *r, struct json_out *j, const struct vrrp_agent *a)
{
    if (j) {
        json_key(j, "sockets");
        json_arr_begin(j);
    }
    for (unsigned i = 0; i < a->nsocks; i++) {
        const struct vrrp_sock *s = a->socks[i];
        const char *fam = s->family == AF_INET ? "ipv4" : "ipv6";
        if (j) {
            json_obj_begin(j);
            json_kv_str(j, "interface", s->ifname);
            json_kv_str(j, "family", fam);
            json_key(j, "dropped");
            json_obj_begin(j);
            json_kv_u64(j, "vrid", s->drops_unknown_vrid);
            for (int d = 1; d < VRRP_DROP_COUNT; d++)
                if (d != VRRP_DROP_VRID)
                    json_kv_u64(j, vrrp_drop_name(d), s->drops[d]);
            json_obj_end(j);
            json_obj_end(j);
            continue;
        }
        ctl_reply_printf(r, "socket %s %s: dropped vrid=%llu", s->ifname, fam,
                         (unsigned long long)s->drops_unknown_vrid);
        for (int d = 1; d < VRRP_DROP_COUNT; d++)
            if (s->drops[d] && d != VRRP_DROP_VRID)
                ctl_reply_printf(r, " %s=%llu", vrrp_drop_name(d), (unsigned long long)s->drops[d]);
        ctl_reply_printf(r, "\n");
    }
    if (j)
        json_arr_end(j);
}

static void vrrp_ctl_show(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    struct vrrp_agent *a = arg;
    if (argc == 1 && !vrrp_agent_find(a, argv[0])) {
        ctl_reply_error(r, "no instance named \"%s\"", argv[0]);
        return;
    }
    struct json_out j;
    if (json) {
        ctl_reply_json(r, &j);
        json_obj_begin(&j);
        json_key(&j, "instances");
        json_arr_begin(&j);
    }
    for (unsigned i = 0; i < a->ninst; i++) {
        const struct vrrp_instance *in = a->inst[i];
        if (in->removed || (argc == 1 && strcmp(in->conf->name, argv[0]) != 0))
            continue;
        if (json)
            vrrp_show_json(&j, in);
        else
            vrrp_show_text(r, in);
    }
    if (json)
        json_arr_end(&j);
    if (argc == 0)
        vrrp_show_sockets(r, json ? &j : NULL, a);
    if (json) {
        json_obj_end(&j);
        ctl_reply_printf(r, "\n");
    }
}

static void vrrp_ctl_switchover(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    struct vrrp_instance *in = vrrp_agent_find(arg, argv[0]);
    if (!in) {
        ctl_reply_error(r, "no instance named \"%s\"", argv[0]);
        return;
    }
    if (vrrp_instance_switchover(in) < 0) {
        ctl_reply_error(r, "instance %s is %s, not MASTER: nothing to hand over", argv[0],
                        vrrp_state_name(in->fsm.state));
        return;
    }
    log_notice("instance %s: switchover requested on the status socket", argv[0]);
    if (json) {
        struct json_out j;
        ctl_reply_json(r, &j);
        json_obj_begin(&j);
        json_kv_str(&j, "instance", argv[0]);
        json_kv_str(&j, "state", vrrp_state_name(in->fsm.state));
        json_obj_end(&j);
        ctl_reply_printf(r, "\n");
        return;
    }
    ctl_reply_printf(r, "instance %s: sent priority 0, now %s\n", argv[0],
                     vrrp_state_name(in->fsm.state));
}

static const struct ctl_command vrrp_ctl_commands[] = {
    { "ping", "", "answers pong (liveness)", 0, 0, vrrp_ctl_ping },
    { "show", "[NAME]", "state, priorities, master, counters, transitions per instance",
      0, 1, vrrp_ctl_show },
    { "switchover", "NAME", "a MASTER hands the VIPs over (priority 0 advert)", 1, 1,
      vrrp_ctl_switchover },
    CTL_COMMANDS_END
};

int vrrp_ctl_start(struct vrrp_agent *a)
{
    char err[256];
    struct ctl_server_opts o = { .path = a->cfg->status_socket, .name = "vrrp status socket" };
    a->ctl = ctl_server_start(a->base, &o, vrrp_ctl_commands, a, err, sizeof(err));
    if (!a->ctl) {
        log_err("status socket %s: %s", a->cfg->status_socket, err);
        return -1;
    }
    return 0;
}

void vrrp_ctl_stop(struct vrrp_agent *a)
{
    if (a->ctl)
        ctl_server_stop(a->ctl);
    a->ctl = NULL;
}
