/* vrrp_agent.h - the tandem-vrrp daemon: the agent (event loop, sockets,
 * trackers, status socket) and its instances (one virtual router each,
 * around the pure vrrp_fsm). One file per concern:
 *   main.c           options, signals, reload, shutdown
 *   vrrp_instance.c  an instance: FSM events, timers, carrying out actions
 *   vrrp_socket.c    raw IPPROTO_VRRP sockets, send and receive
 *   vrrp_vip.c       VIPs through libnl-route-3, with lifetimes
 *   vrrp_announce.c  gratuitous ARP and unsolicited neighbour advertisements
 *   vrrp_track.c     tracked proxy, interfaces, scripts
 *   vrrp_exec.c      child processes (check scripts, notify hooks)
 *   vrrp_ctl.c       the status socket commands */
#ifndef TANDEM_VRRP_AGENT_H
#define TANDEM_VRRP_AGENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf_vrrp.h"
#include "log.h"
#include "vrrp_fsm.h"
#include "vrrp_packet.h"

struct event;
struct event_base;
struct ctl_server;
struct vrrp_agent;

#define VRRP_TRANSITIONS_KEPT 16

/* One raw socket per (interface, family), shared by the instances on it. */
struct vrrp_sock {
    struct vrrp_agent *agent;
    char ifname[IF_NAMESIZE];
    int ifindex;
    int family;
    int fd;
    struct event *ev;
    unsigned refs;
    uint64_t drops_unknown_vrid;   /* adverts for no instance of ours */
    uint64_t drops[VRRP_DROP_COUNT];   /* before an instance is known */
};

struct vrrp_transition {
    uint64_t wall_ms;
    enum vrrp_state from, to;
    char reason[80];
};

struct vrrp_track_script_state {
    const struct conf_vrrp_track_script *conf;
    struct vrrp_instance *inst;
    struct event *timer;
    pid_t pid;                 /* running check, or 0 */
    uint64_t started_ms;
    bool failed;
    bool known;                /* has finished at least once */
};

struct vrrp_instance {
    struct vrrp_agent *agent;
    const struct conf_vrrp_instance *conf;   /* in agent->cfg */
    char ifname[IF_NAMESIZE];
    int ifindex;
    struct vrrp_sock *sock;
    struct vrrp_fsm fsm;
    struct event *timer;          /* the FSM's next deadline */
    struct event *announce_timer; /* gratuitous ARP / NA repeats */
    unsigned announce_left;
    uint64_t vip_refreshed_ms;    /* last lifetime refresh while MASTER */
    bool holds_vips;
    bool removed;                 /* reload dropped it: shutting down */
    uint8_t primary[16];          /* our source address */
    bool have_primary;
    uint8_t vips_packed[CONF_VRRP_MAX_VIPS * 16];
    struct vrrp_track_script_state *scripts;
    /* statistics for "show" */
    uint64_t adverts_in, adverts_out, send_errors, priority0_in, priority0_out;
    uint64_t drops[VRRP_DROP_COUNT];
    uint64_t late_timers, late_max_ms;
    struct vrrp_transition transitions[VRRP_TRANSITIONS_KEPT];
    unsigned ntransitions;        /* total; the ring keeps the last ones */
    uint64_t state_since_wall_ms;
    struct log_ratelimit drop_log;
    char fault_reason[64];        /* why tracking says FAULT, for transitions */
    int track_delta;              /* sum of the weights of failed objects */
};

struct vrrp_agent {
    struct event_base *base;
    struct conf_vrrp *cfg;
    const char *config_path;
    struct vrrp_instance **inst;
    unsigned ninst;
    struct vrrp_sock **socks;
    unsigned nsocks;
    /* tracking */
    bool proxy_ok;
    unsigned proxy_fails;
    int proxy_fd;
    struct event *proxy_timer, *proxy_io;
    struct event *proxy_soon;          /* re-ask a proxy that answered "syncing" */
    uint64_t proxy_sent_ms;
    char proxy_buf[64];
    size_t proxy_len;
    int link_fd;                  /* rtnetlink link events */
    struct event *link_ev, *link_timer;
    struct ctl_server *ctl;
    struct event *sig_ev[4];
    bool stopping;
};

/* vrrp_instance.c */
struct vrrp_instance *vrrp_instance_new(struct vrrp_agent *a, const struct conf_vrrp_instance *c);
void vrrp_instance_start(struct vrrp_instance *in);
/* Shutdown event (priority-0 advert and VIPs removed when MASTER). */
void vrrp_instance_stop(struct vrrp_instance *in);
void vrrp_instance_free(struct vrrp_instance *in);
/* A decoded advert that arrived on the instance's socket. */
void vrrp_instance_advert(struct vrrp_instance *in, const struct vrrp_advert *adv,
                          const struct vrrp_l3 *l3);
/* Re-evaluates tracked objects: effective priority and fault. */
void vrrp_instance_track_update(struct vrrp_instance *in);
int vrrp_instance_switchover(struct vrrp_instance *in);
/* Moves an instance onto a new config (reload): same VRID, family and
 * interface; keeps its state and VIPs. */
void vrrp_instance_rebind(struct vrrp_instance *in, const struct conf_vrrp_instance *c);
uint64_t vrrp_vip_lifetime_s(const struct conf_vrrp_instance *c);

/* vrrp_socket.c */
struct vrrp_sock *vrrp_sock_get(struct vrrp_agent *a, const char *ifname, int family);
void vrrp_sock_put(struct vrrp_sock *s);
int vrrp_sock_join(struct vrrp_sock *s);
/* Sends one advert of the instance with the given priority; 0 or -1. */
int vrrp_sock_send(struct vrrp_instance *in, uint8_t priority);
/* Our address on the interface to send from (IPv4: first non-VIP address;
 * IPv6: link-local, or the first global one in unicast mode). */
int vrrp_primary_addr(const struct vrrp_instance *in, uint8_t *out);

/* vrrp_vip.c */
int vrrp_vip_init(void);
void vrrp_vip_done(void);
/* Adds (or refreshes the lifetime of) every VIP of the instance. */
int vrrp_vip_add(const struct vrrp_instance *in);
int vrrp_vip_del(const struct vrrp_instance *in);
/* Removes one VIP (reload: a VIP no longer configured). */
int vrrp_vip_del_one(int ifindex, const struct conf_vrrp_vip *v);
/* At start: removes the instance's VIPs left on the interface. */
void vrrp_vip_remove_stale(const struct vrrp_instance *in);

/* vrrp_announce.c */
int vrrp_announce(const struct vrrp_instance *in);

/* vrrp_track.c */
int vrrp_track_start(struct vrrp_agent *a);
void vrrp_track_stop(struct vrrp_agent *a);
void vrrp_track_restart_proxy(struct vrrp_agent *a);
bool vrrp_track_link_up(const char *ifname);
void vrrp_track_scripts_start(struct vrrp_instance *in);
void vrrp_track_scripts_stop(struct vrrp_instance *in);
void vrrp_track_script_done(struct vrrp_track_script_state *s, int status);

/* vrrp_exec.c */
typedef void vrrp_exec_done_fn(void *arg, int status);
/* Starts argv[0] with argv (no shell), stdin/stdout on /dev/null. When done
 * is not NULL it is called with the wait status once the child exits. */
pid_t vrrp_exec(const char *const argv[], vrrp_exec_done_fn *done, void *arg);
void vrrp_exec_forget(pid_t pid);
/* Reaps every exited child (SIGCHLD). */
void vrrp_exec_reap(void);
void vrrp_notify(const struct vrrp_instance *in, enum vrrp_state from, enum vrrp_state to,
                 const char *reason);

/* vrrp_ctl.c */
int vrrp_ctl_start(struct vrrp_agent *a);
void vrrp_ctl_stop(struct vrrp_agent *a);

/* main.c */
struct vrrp_instance *vrrp_agent_find(struct vrrp_agent *a, const char *name);

#endif
