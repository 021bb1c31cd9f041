/* conf_vrrp.h - the vrrp section of tandem.conf, read by tandem-vrrp.
 * tandem-proxy ignores this section and tandem-vrrp ignores every other
 * one. Times are in milliseconds; lines point back at the file. */
#ifndef TANDEM_CONF_VRRP_H
#define TANDEM_CONF_VRRP_H

#include <stdint.h>
#include "addr.h"
#include "conf.h"

#define CONF_VRRP_MAX_INSTANCES 64
#define CONF_VRRP_MAX_VIPS      32
#define CONF_VRRP_MAX_PEERS     8
#define CONF_VRRP_MAX_TRACKS    16
#define CONF_VRRP_WEIGHT_FAULT  0    /* a tracked object with weight 0 forces FAULT */

struct conf_vrrp_vip {
    int family;                      /* AF_INET or AF_INET6 */
    uint8_t addr[16];                /* network order; 4 bytes used for IPv4 */
    int prefixlen;
    int line;
};

/* track_interfaces = ( { name = "eth1"; weight = 0; } ) */
struct conf_vrrp_track_if {
    char *name;
    int weight;                      /* -254..254; 0 = FAULT while down */
    int line;
};

/* track_scripts = ( { path = "/usr/lib/check"; interval = "2s"; weight = -20; } ) */
struct conf_vrrp_track_script {
    char *path;
    uint64_t interval_ms;            /* default 2s */
    uint64_t timeout_ms;             /* default: the interval */
    int weight;                      /* -254..254; 0 = FAULT while failing */
    int line;
};

struct conf_vrrp_instance {
    char *name;
    unsigned vrid;                   /* 1..255 */
    unsigned priority;               /* 1..255; 255 = address owner */
    unsigned advert_ms;              /* 10..40950, a multiple of 10 (centiseconds on the wire) */
    struct conf_vrrp_vip *vips;
    unsigned nvips;
    int family;                      /* inferred from the VIPs */
    struct net_addr *peers;          /* unicast_peer(s): unicast mode when npeers > 0 */
    unsigned npeers;
    int preempt;                     /* default true */
    uint64_t preempt_delay_ms;
    int track_proxy;                 /* default false */
    struct conf_vrrp_track_if *track_ifs;
    unsigned ntrack_ifs;
    struct conf_vrrp_track_script *track_scripts;
    unsigned ntrack_scripts;
    char *notify;                    /* script run on state changes, or NULL */
    unsigned garp_count;             /* announcements per burst, default 3 */
    uint64_t garp_delay_ms;          /* between them, default 100ms */
    char *interface;                 /* per-instance, else vrrp.interface */
    int line;
};

struct conf_vrrp {
    char *path;
    char *interface;                 /* default interface of the instances */
    char *status_socket;             /* default RUNSTATEDIR/tandem/vrrp.sock */
    struct conf_vrrp_instance *instances;
    unsigned ninstances;
    int sched_rr;                    /* default true */
    unsigned rt_priority;            /* 1..99, default 50 */
    char *track_proxy_socket;        /* default RUNSTATEDIR/tandem/proxy.sock */
    uint64_t track_proxy_timeout_ms; /* default 500ms */
    uint64_t track_proxy_interval_ms;/* default 1s */
    int line;
};

/* Loads and checks the vrrp section of the file (other sections are left
 * to their daemons). Returns NULL with errs filled ("FILE:LINE: message")
 * when anything is wrong, or when the file has no vrrp section. */
struct conf_vrrp *conf_load_vrrp(const char *path, struct conf_errors *errs);
struct conf_vrrp *conf_load_vrrp_string(const char *text, const char *name,
                                        struct conf_errors *errs);
void conf_vrrp_free(struct conf_vrrp *cfg);

/* The instance named `name`, or NULL. */
const struct conf_vrrp_instance *conf_vrrp_find(const struct conf_vrrp *cfg, const char *name);
/* The interface an instance runs on (its own, else the section's). */
const char *conf_vrrp_ifname(const struct conf_vrrp *cfg, const struct conf_vrrp_instance *in);

#endif
