/* vrrp_instance.c - one virtual router: feeds events to the pure FSM
 * (vrrp_fsm.c), carries out the actions it returns (send, VIPs, announce,
 * state change) and keeps one libevent timer armed at the FSM's next
 * deadline on the monotonic clock. */
#include "config.h"
#include "vrrp_agent.h"
#include "clock.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A timer this late is worth a log line (a starved box can cause a false
 * failover; the operator should know). */
#define VRRP_LATE_LOG_MS 20

static void vrrp_instance_arm(struct vrrp_instance *in);

/* VIP lifetime: max(3 advert intervals, 1 s), rounded up to whole seconds
 * because the kernel counts address lifetimes in seconds. */
uint64_t vrrp_vip_lifetime_s(const struct conf_vrrp_instance *c)
{
    uint64_t ms = 3ull * c->advert_ms;
    if (ms < 1000)
        ms = 1000;
    return (ms + 999) / 1000;
}

static void vrrp_record_transition(struct vrrp_instance *in, const struct vrrp_action *a)
{
    struct vrrp_transition *t = &in->transitions[in->ntransitions % VRRP_TRANSITIONS_KEPT];
    t->wall_ms = clock_wall_ms();
    t->from = a->from;
    t->to = a->to;
    if (a->to == VRRP_STATE_FAULT && in->fault_reason[0])
        snprintf(t->reason, sizeof(t->reason), "%s", in->fault_reason);
    else
        snprintf(t->reason, sizeof(t->reason), "%s", a->reason ? a->reason : "");
    in->ntransitions++;
    in->state_since_wall_ms = t->wall_ms;
    log_notice("instance %s: %s -> %s (%s)", in->conf->name, vrrp_state_name(a->from),
               vrrp_state_name(a->to), t->reason);
    vrrp_notify(in, a->from, a->to, t->reason);
}

static void vrrp_announce_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vrrp_instance *in = arg;
    if (in->fsm.state != VRRP_STATE_MASTER || in->announce_left == 0)
        return;
    vrrp_announce(in);
    if (--in->announce_left > 0) {
        struct timeval tv = { (time_t)(in->conf->garp_delay_ms / 1000),
                              (suseconds_t)(in->conf->garp_delay_ms % 1000) * 1000 };
        evtimer_add(in->announce_timer, &tv);
    }
}

/* ANNOUNCE: garp_count announcements garp_delay apart, the first now. */
static void vrrp_announce_start(struct vrrp_instance *in)
{
    in->announce_left = in->conf->garp_count;
    evtimer_del(in->announce_timer);
    if (in->announce_left)
        vrrp_announce_cb(-1, 0, in);
}

static void vrrp_add_vips(struct vrrp_instance *in)
{
    if (in->fsm.cfg.priority == VRRP_PRIO_OWNER)
        return;     /* the owner's addresses are its own: never added or removed */
    if (vrrp_vip_add(in) == 0) {
        in->holds_vips = true;
        in->vip_refreshed_ms = clock_mono_ms();
    }
}

static void vrrp_del_vips(struct vrrp_instance *in)
{
    if (in->fsm.cfg.priority == VRRP_PRIO_OWNER)
        return;
    vrrp_vip_del(in);
    in->holds_vips = false;
    in->announce_left = 0;
    evtimer_del(in->announce_timer);
}

static void vrrp_send(struct vrrp_instance *in, uint8_t priority)
{
    if (vrrp_sock_send(in, priority) < 0) {
        in->send_errors++;
        return;
    }
    in->adverts_out++;
    if (priority == 0)
        in->priority0_out++;
}

/* Carries out the FSM's actions in order. */
static void vrrp_apply(struct vrrp_instance *in, const struct vrrp_actions *acts)
{
    for (unsigned i = 0; i < acts->n; i++) {
        const struct vrrp_action *a = &acts->list[i];
        switch (a->kind) {
        case VRRP_ACT_SEND_ADVERT: vrrp_send(in, a->priority); break;
        case VRRP_ACT_ADD_VIPS: vrrp_add_vips(in); break;
        case VRRP_ACT_DEL_VIPS: vrrp_del_vips(in); break;
        case VRRP_ACT_ANNOUNCE: vrrp_announce_start(in); break;
        case VRRP_ACT_STATE: vrrp_record_transition(in, a); break;
        }
    }
    vrrp_instance_arm(in);
}

/* While MASTER the VIPs' lifetimes are renewed well before they run out,
 * so they vanish by themselves only when this agent stops (SIGKILL). */
static void vrrp_refresh_vips(struct vrrp_instance *in, uint64_t now)
{
    uint64_t every = vrrp_vip_lifetime_s(in->conf) * 1000 / 4;
    if (in->fsm.state != VRRP_STATE_MASTER || now - in->vip_refreshed_ms < every)
        return;
    vrrp_add_vips(in);
}

static void vrrp_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vrrp_instance *in = arg;
    struct vrrp_actions acts;
    uint64_t now = clock_mono_ms();
    vrrp_fsm_timer(&in->fsm, now, &acts);
    if (acts.late_ms >= VRRP_LATE_LOG_MS) {
        in->late_timers++;
        if (acts.late_ms > in->late_max_ms)
            in->late_max_ms = acts.late_ms;
        log_warn("instance %s: %s timer fired %llu ms late", in->conf->name,
                 vrrp_state_name(in->fsm.state), (unsigned long long)acts.late_ms);
    }
    vrrp_apply(in, &acts);
    vrrp_refresh_vips(in, now);
}

static void vrrp_instance_arm(struct vrrp_instance *in)
{
    uint64_t due = vrrp_fsm_next_deadline(&in->fsm);
    if (due == VRRP_FSM_NEVER) {
        evtimer_del(in->timer);
        return;
    }
    uint64_t now = clock_mono_ms();
    uint64_t ms = due > now ? due - now : 0;
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    evtimer_add(in->timer, &tv);
}

/* The socket of the instance's interface, (re)opened when the interface
 * appears or comes back with a new index; without it the instance is
 * FAULT (vrrp_track_eval). */
static void vrrp_instance_bind_if(struct vrrp_instance *in)
{
    int idx = (int)if_nametoindex(in->ifname);
    if (idx == 0 || (in->sock && in->sock->ifindex == idx))
        return;
    struct vrrp_sock *s = vrrp_sock_get(in->agent, in->ifname, in->conf->family);
    if (!s)
        return;
    if (in->sock)
        vrrp_sock_put(in->sock);
    in->sock = s;
    in->ifindex = idx;
    log_info("instance %s: listening on %s (index %d)", in->conf->name, in->ifname, idx);
}

static int vrrp_instance_setup_fsm(struct vrrp_instance *in)
{
    struct vrrp_fsm_config fc;
    vrrp_fsm_config_defaults(&fc);
    fc.priority = (uint8_t)in->conf->priority;
    fc.adver_int_cs = (uint16_t)(in->conf->advert_ms / 10);
    fc.preempt = in->conf->preempt;
    fc.preempt_delay_ms = in->conf->preempt_delay_ms;
    fc.addr_len = (uint8_t)vrrp_addr_len(in->conf->family);
    in->have_primary = vrrp_primary_addr(in, in->primary) == 0;
    if (in->have_primary)
        memcpy(fc.primary_addr, in->primary, fc.addr_len);
    return vrrp_fsm_init(&in->fsm, &fc);
}

static void vrrp_pack_vips(struct vrrp_instance *in)
{
    size_t alen = vrrp_addr_len(in->conf->family);
    for (unsigned i = 0; i < in->conf->nvips; i++)
        memcpy(in->vips_packed + i * alen, in->conf->vips[i].addr, alen);
}

struct vrrp_instance *vrrp_instance_new(struct vrrp_agent *a, const struct conf_vrrp_instance *c)
{
    struct vrrp_instance *in = calloc(1, sizeof(*in));
    if (!in)
        return NULL;
    in->agent = a;
    in->conf = c;
    snprintf(in->ifname, sizeof(in->ifname), "%s", conf_vrrp_ifname(a->cfg, c));
    in->timer = evtimer_new(a->base, vrrp_timer_cb, in);
    in->announce_timer = evtimer_new(a->base, vrrp_announce_cb, in);
    vrrp_instance_bind_if(in);
    if (!in->timer || !in->announce_timer || vrrp_instance_setup_fsm(in) < 0) {
        log_err("instance %s: cannot set up on %s", c->name, in->ifname);
        vrrp_instance_free(in);
        return NULL;
    }
    if (!in->sock)
        log_warn("instance %s: interface %s is missing (or its socket failed): FAULT until "
                 "it is there", c->name, in->ifname);
    vrrp_pack_vips(in);
    return in;
}

void vrrp_instance_start(struct vrrp_instance *in)
{
    struct vrrp_actions acts;
    vrrp_instance_track_update(in);     /* fault known before startup */
    vrrp_fsm_startup(&in->fsm, clock_mono_ms(), &acts);
    vrrp_apply(in, &acts);
    vrrp_track_scripts_start(in);
}

void vrrp_instance_stop(struct vrrp_instance *in)
{
    struct vrrp_actions acts;
    vrrp_fsm_shutdown(&in->fsm, clock_mono_ms(), &acts);
    vrrp_apply(in, &acts);
    if (in->holds_vips)
        vrrp_del_vips(in);
    vrrp_track_scripts_stop(in);
}

void vrrp_instance_free(struct vrrp_instance *in)
{
    if (!in)
        return;
    vrrp_track_scripts_stop(in);
    if (in->timer)
        event_free(in->timer);
    if (in->announce_timer)
        event_free(in->announce_timer);
    if (in->sock)
        vrrp_sock_put(in->sock);
    free(in->scripts);
    free(in);
}

static bool vrrp_is_peer(const struct vrrp_instance *in, const struct vrrp_l3 *l3)
{
    size_t alen = vrrp_addr_len(in->conf->family);
    for (unsigned i = 0; i < in->conf->npeers; i++) {
        size_t len;
        const uint8_t *p = addr_ip_bytes((const struct sockaddr *)&in->conf->peers[i].ss, &len);
        if (len == alen && memcmp(p, l3->src, alen) == 0)
            return true;
    }
    return false;
}

static void vrrp_count_drop(struct vrrp_instance *in, enum vrrp_drop why, const struct vrrp_l3 *l3)
{
    char src[INET6_ADDRSTRLEN];
    in->drops[why]++;
    inet_ntop(l3->family, l3->src, src, sizeof(src));
    log_limited(&in->drop_log, 5, 10, LOG_LVL_WARN, "instance %s: dropped advert from %s: %s",
                in->conf->name, src, vrrp_drop_name(why));
}

/* RFC 5798 7.1, the checks that need the instance, then the FSM. */
void vrrp_instance_advert(struct vrrp_instance *in, const struct vrrp_advert *adv,
                          const struct vrrp_l3 *l3)
{
    if (in->conf->npeers && !vrrp_is_peer(in, l3)) {
        vrrp_count_drop(in, VRRP_DROP_PEER, l3);
        return;
    }
    enum vrrp_drop why = vrrp_packet_accept(adv, l3->family, (uint8_t)in->conf->vrid,
                                            in->fsm.priority, in->vips_packed, in->conf->nvips);
    if (why != VRRP_OK) {
        vrrp_count_drop(in, why, l3);
        return;
    }
    in->adverts_in++;
    if (adv->priority == 0)
        in->priority0_in++;
    struct vrrp_actions acts;
    vrrp_fsm_advert(&in->fsm, clock_mono_ms(), adv->priority, adv->max_adver_int_cs, l3->src,
                    &acts);
    vrrp_apply(in, &acts);
}

/* Tracked objects: the instance's own interface (down = FAULT), the
 * proxy (dead = FAULT), track_interfaces and track_scripts (weight 0 =
 * FAULT, else the weight is added to the priority while failed). */
static bool vrrp_track_eval(struct vrrp_instance *in, int *delta)
{
    const struct conf_vrrp_instance *c = in->conf;
    *delta = 0;
    in->fault_reason[0] = '\0';
    if (!vrrp_track_link_up(in->ifname))
        snprintf(in->fault_reason, sizeof(in->fault_reason), "interface %s down", in->ifname);
    else if (!in->sock)
        snprintf(in->fault_reason, sizeof(in->fault_reason), "no VRRP socket on %s", in->ifname);
    else if (c->track_proxy && !in->agent->proxy_ok)
        snprintf(in->fault_reason, sizeof(in->fault_reason), "tracked proxy not answering");
    for (unsigned i = 0; i < c->ntrack_ifs; i++) {
        if (vrrp_track_link_up(c->track_ifs[i].name))
            continue;
        *delta += c->track_ifs[i].weight;
        if (c->track_ifs[i].weight == 0 && !in->fault_reason[0])
            snprintf(in->fault_reason, sizeof(in->fault_reason), "tracked interface %s down",
                     c->track_ifs[i].name);
    }
    for (unsigned i = 0; in->scripts && i < c->ntrack_scripts; i++) {
        if (!in->scripts[i].failed)
            continue;
        *delta += c->track_scripts[i].weight;
        if (c->track_scripts[i].weight == 0 && !in->fault_reason[0])
            snprintf(in->fault_reason, sizeof(in->fault_reason), "check script %s failed",
                     c->track_scripts[i].path);
    }
    return in->fault_reason[0] != '\0';
}

static uint8_t vrrp_effective_priority(const struct vrrp_instance *in, int delta)
{
    int p = (int)in->conf->priority + delta;
    if (in->conf->priority == VRRP_PRIO_OWNER && delta == 0)
        return VRRP_PRIO_OWNER;
    if (p > 254)
        p = 254;
    return (uint8_t)(p < 1 ? 1 : p);
}

void vrrp_instance_track_update(struct vrrp_instance *in)
{
    int delta;
    vrrp_instance_bind_if(in);
    bool fault = vrrp_track_eval(in, &delta);
    uint64_t now = clock_mono_ms();
    struct vrrp_actions acts;
    in->track_delta = delta;
    if (!fault)     /* addresses change: the source follows */
        in->have_primary = vrrp_primary_addr(in, in->primary) == 0;
    if (in->have_primary)
        memcpy(in->fsm.cfg.primary_addr, in->primary, in->fsm.cfg.addr_len);
    if (!in->have_primary && !fault) {
        fault = true;
        snprintf(in->fault_reason, sizeof(in->fault_reason), "no address on %s to send from",
                 in->ifname);
    }
    vrrp_fsm_set_priority(&in->fsm, now, vrrp_effective_priority(in, delta), &acts);
    vrrp_apply(in, &acts);
    bool was_fault = in->fsm.fault;
    vrrp_fsm_set_fault(&in->fsm, now, fault, &acts);
    vrrp_apply(in, &acts);
    if (was_fault && !fault && in->fsm.state == VRRP_STATE_BACKUP)
        log_info("instance %s: fault cleared, listening for a master", in->conf->name);
}

int vrrp_instance_switchover(struct vrrp_instance *in)
{
    struct vrrp_actions acts;
    if (vrrp_fsm_switchover(&in->fsm, clock_mono_ms(), &acts) == 0)
        return -1;
    vrrp_apply(in, &acts);
    return 0;
}

/* Reload: the instance keeps its FSM state (and VIPs); configured values
 * that the FSM reads take effect now, the rest from the next event. */
void vrrp_instance_rebind(struct vrrp_instance *in, const struct conf_vrrp_instance *c)
{
    vrrp_track_scripts_stop(in);
    in->conf = c;
    in->fsm.cfg.priority = (uint8_t)c->priority;
    in->fsm.cfg.adver_int_cs = (uint16_t)(c->advert_ms / 10);
    in->fsm.cfg.preempt = c->preempt;
    in->fsm.cfg.preempt_delay_ms = c->preempt_delay_ms;
    vrrp_pack_vips(in);
    vrrp_track_scripts_start(in);
    vrrp_instance_track_update(in);
    if (in->fsm.state == VRRP_STATE_MASTER) {
        vrrp_add_vips(in);      /* new VIPs of a kept instance, announced */
        vrrp_announce_start(in);
    }
}
