/* vrrp_vip.c - the virtual addresses, through libnl-route-3 (never by
 * running ip(8)).
 *
 * Each VIP is added with a finite valid and preferred lifetime
 * (vrrp_vip_lifetime_s: a few advertisement intervals, at least 1 s, in
 * whole seconds as the kernel counts them) and re-added while MASTER,
 * which only renews the lifetime. When the agent dies without a word
 * (SIGKILL, OOM) the kernel removes the VIP by itself shortly after, so
 * the dead box stops answering for it while its peer takes over. */
#include "config.h"
#include "vrrp_agent.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <stdio.h>
#include <string.h>

static struct nl_sock *vrrp_nl;

int vrrp_vip_init(void)
{
    vrrp_nl = nl_socket_alloc();
    if (!vrrp_nl)
        return -1;
    int err = nl_connect(vrrp_nl, NETLINK_ROUTE);
    if (err < 0) {
        log_err("netlink: %s", nl_geterror(err));
        nl_socket_free(vrrp_nl);
        vrrp_nl = NULL;
        return -1;
    }
    return 0;
}

void vrrp_vip_done(void)
{
    if (vrrp_nl)
        nl_socket_free(vrrp_nl);
    vrrp_nl = NULL;
}

static const char *vrrp_vip_text(const struct conf_vrrp_vip *v, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(v->family, v->addr, ip, sizeof(ip));
    snprintf(buf, len, "%s/%d", ip, v->prefixlen);
    return buf;
}

static struct rtnl_addr *vrrp_vip_obj(int ifindex, const struct conf_vrrp_vip *v)
{
    struct rtnl_addr *a = rtnl_addr_alloc();
    struct nl_addr *local = nl_addr_build(v->family, v->addr, vrrp_addr_len(v->family));
    if (!a || !local) {
        rtnl_addr_put(a);
        nl_addr_put(local);
        return NULL;
    }
    rtnl_addr_set_ifindex(a, ifindex);
    rtnl_addr_set_family(a, v->family);
    nl_addr_set_prefixlen(local, v->prefixlen);
    rtnl_addr_set_local(a, local);      /* takes its own reference */
    rtnl_addr_set_prefixlen(a, v->prefixlen);   /* after set_local, which resets it */
    nl_addr_put(local);
    return a;
}

/* Adds one VIP, or renews its lifetime when it is there (NLM_F_REPLACE).
 * IPv6: no duplicate address detection, or the VIP would stay tentative
 * (unusable) for a second after each takeover. */
static int vrrp_vip_add_one(int ifindex, const struct conf_vrrp_vip *v, uint32_t lifetime_s)
{
    char text[64];
    struct rtnl_addr *a = vrrp_vip_obj(ifindex, v);
    if (!a)
        return -1;
    rtnl_addr_set_valid_lifetime(a, lifetime_s);
    rtnl_addr_set_preferred_lifetime(a, lifetime_s);
    if (v->family == AF_INET6)
        rtnl_addr_set_flags(a, IFA_F_NODAD);
    int err = rtnl_addr_add(vrrp_nl, a, NLM_F_REPLACE);
    rtnl_addr_put(a);
    if (err < 0) {
        log_err("adding VIP %s: %s", vrrp_vip_text(v, text, sizeof(text)), nl_geterror(err));
        return -1;
    }
    return 0;
}

int vrrp_vip_del_one(int ifindex, const struct conf_vrrp_vip *v)
{
    struct rtnl_addr *a = vrrp_vip_obj(ifindex, v);
    if (!a)
        return -1;
    int err = rtnl_addr_delete(vrrp_nl, a, 0);
    rtnl_addr_put(a);
    return err < 0 ? -1 : 0;    /* -1 also when it was not there */
}

int vrrp_vip_add(const struct vrrp_instance *in)
{
    uint32_t lt = (uint32_t)vrrp_vip_lifetime_s(in->conf);
    int rc = 0;
    for (unsigned i = 0; i < in->conf->nvips; i++)
        rc |= vrrp_vip_add_one(in->ifindex, &in->conf->vips[i], lt);
    return rc;
}

int vrrp_vip_del(const struct vrrp_instance *in)
{
    for (unsigned i = 0; i < in->conf->nvips; i++)
        vrrp_vip_del_one(in->ifindex, &in->conf->vips[i]);
    return 0;
}

/* At start the agent owns nothing: a VIP of its instances found on the
 * interface was left by an earlier run (or by hand) and goes. */
void vrrp_vip_remove_stale(const struct vrrp_instance *in)
{
    char text[64];
    for (unsigned i = 0; i < in->conf->nvips; i++)
        if (vrrp_vip_del_one(in->ifindex, &in->conf->vips[i]) == 0)
            log_notice("instance %s: removed stale VIP %s from %s", in->conf->name,
                       vrrp_vip_text(&in->conf->vips[i], text, sizeof(text)), in->ifname);
}
