/* vrrp_socket.c - raw IPPROTO_VRRP (112) sockets, one per (interface,
 * family), shared by the instances on it: RFC 5798 5.1 (TTL / hop limit
 * 255, 224.0.0.18 / ff02::12 or unicast peers). The checksum is ours to
 * compute for IPv6 too (IPV6_CHECKSUM stays off): vrrp_packet does it with
 * the pseudo-header, so the source address is chosen here, not by the
 * kernel. */
#include "config.h"
#include "vrrp_agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define VRRP_RECV_MAX (60 + VRRP_PACKET_MAX)     /* IPv4 header + largest message */

static const uint8_t vrrp_group4[4] = { 224, 0, 0, 18 };
static const uint8_t vrrp_group6[16] = { 0xff, 0x02, [15] = 0x12 };

static int vrrp_setopt(int fd, int level, int name, int value, const char *what)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) == 0)
        return 0;
    log_err("vrrp socket: %s: %s", what, strerror(errno));
    return -1;
}

/* RFC 5798 5.1.1.3: TTL 255 for multicast and unicast; no loop back of
 * our own adverts; multicast out of and into this interface only. */
static int vrrp_sock_opts4(int fd, int ifindex)
{
    struct ip_mreqn mr = { .imr_ifindex = ifindex };
    memcpy(&mr.imr_multiaddr, vrrp_group4, 4);
    if (vrrp_setopt(fd, IPPROTO_IP, IP_TTL, 255, "IP_TTL") < 0
        || vrrp_setopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, 255, "IP_MULTICAST_TTL") < 0
        || vrrp_setopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP") < 0)
        return -1;
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr)) < 0
        || setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
        log_err("vrrp socket: joining 224.0.0.18: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* RFC 5798 5.1.2.3: hop limit 255; the receiver checks it, so ask for it
 * (and for the destination) with each packet. */
static int vrrp_sock_opts6(int fd, int ifindex)
{
    struct ipv6_mreq mr = { .ipv6mr_interface = (unsigned)ifindex };
    memcpy(&mr.ipv6mr_multiaddr, vrrp_group6, 16);
    if (vrrp_setopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255, "IPV6_UNICAST_HOPS") < 0
        || vrrp_setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255, "IPV6_MULTICAST_HOPS") < 0
        || vrrp_setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP") < 0
        || vrrp_setopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF") < 0
        || vrrp_setopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT") < 0
        || vrrp_setopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO") < 0)
        return -1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
        log_err("vrrp socket: joining ff02::12: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int vrrp_sock_open(const char *ifname, int ifindex, int family)
{
    int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, VRRP_IPPROTO);
    if (fd < 0) {
        log_err("vrrp socket on %s: %s (tandem-vrrp needs CAP_NET_RAW)", ifname, strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0) {
        log_err("vrrp socket: SO_BINDTODEVICE %s: %s", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    int rc = family == AF_INET ? vrrp_sock_opts4(fd, ifindex) : vrrp_sock_opts6(fd, ifindex);
    if (rc < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- receiving ---- */

static struct vrrp_instance *vrrp_sock_instance(struct vrrp_sock *s, unsigned vrid)
{
    struct vrrp_agent *a = s->agent;
    for (unsigned i = 0; i < a->ninst; i++)
        if (a->inst[i]->sock == s && a->inst[i]->conf->vrid == vrid && !a->inst[i]->removed)
            return a->inst[i];
    return NULL;
}

/* Hands a decoded (or dropped) packet to the instance of its VRID; drops
 * before the VRID is known, or for a VRID we do not run, count on the
 * socket. msg is the VRRP message, used only to read the VRID. */
static void vrrp_sock_dispatch(struct vrrp_sock *s, enum vrrp_drop why,
                               const struct vrrp_advert *adv, const struct vrrp_l3 *l3,
                               const uint8_t *msg, size_t msglen)
{
    int vrid = why == VRRP_OK ? adv->vrid : msglen >= 2 ? msg[1] : -1;
    struct vrrp_instance *in = vrid > 0 ? vrrp_sock_instance(s, (unsigned)vrid) : NULL;
    if (!in) {
        if (why == VRRP_OK)
            s->drops_unknown_vrid++;
        else
            s->drops[why]++;
        return;
    }
    if (in->have_primary && memcmp(l3->src, in->primary, vrrp_addr_len(l3->family)) == 0)
        return;     /* our own advert */
    if (why != VRRP_OK) {
        in->drops[why]++;
        log_limited(&in->drop_log, 5, 10, LOG_LVL_WARN, "instance %s: dropped packet: %s",
                    in->conf->name, vrrp_drop_name(why));
        return;
    }
    vrrp_instance_advert(in, adv, l3);
}

static int vrrp_recv4(struct vrrp_sock *s)
{
    uint8_t buf[VRRP_RECV_MAX];
    ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
    if (n <= 0)
        return -1;
    struct vrrp_l3 l3;
    struct vrrp_advert adv;
    memset(&l3, 0, sizeof(l3));
    enum vrrp_drop why = vrrp_packet_decode_ipv4(buf, (size_t)n, &l3, &adv);
    size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
    const uint8_t *msg = (size_t)n > ihl ? buf + ihl : buf;
    vrrp_sock_dispatch(s, why, &adv, &l3, msg, (size_t)n > ihl ? (size_t)n - ihl : 0);
    return 0;
}

static void vrrp_recv6_cmsgs(struct msghdr *mh, struct vrrp_l3 *l3)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != IPPROTO_IPV6)
            continue;
        if (c->cmsg_type == IPV6_HOPLIMIT) {
            int hl;
            memcpy(&hl, CMSG_DATA(c), sizeof(hl));
            l3->ttl = (uint8_t)hl;
        } else if (c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            memcpy(l3->dst, &pi.ipi6_addr, 16);
        }
    }
}

static int vrrp_recv6(struct vrrp_sock *s)
{
    uint8_t buf[VRRP_PACKET_MAX];
    union { char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
            struct cmsghdr align; } ctl;
    struct sockaddr_in6 from;
    struct iovec iov = { buf, sizeof(buf) };
    struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
    ssize_t n = recvmsg(s->fd, &mh, 0);
    if (n <= 0)
        return -1;
    struct vrrp_l3 l3 = { .family = AF_INET6, .ttl = 0 };
    memcpy(l3.src, &from.sin6_addr, 16);
    vrrp_recv6_cmsgs(&mh, &l3);
    struct vrrp_advert adv;
    enum vrrp_drop why = vrrp_packet_decode(buf, (size_t)n, &l3, &adv);
    vrrp_sock_dispatch(s, why, &adv, &l3, buf, (size_t)n);
    return 0;
}

/* Reads what is queued (bounded, so one busy socket cannot starve the
 * timers). */
static void vrrp_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vrrp_sock *s = arg;
    for (int i = 0; i < 64; i++)
        if ((s->family == AF_INET ? vrrp_recv4(s) : vrrp_recv6(s)) < 0)
            break;
}

/* Shared by the instances on the same interface (by name and index: an
 * interface deleted and created again gets a new socket). */
struct vrrp_sock *vrrp_sock_get(struct vrrp_agent *a, const char *ifname, int family)
{
    int ifindex = (int)if_nametoindex(ifname);
    if (ifindex == 0)
        return NULL;
    for (unsigned i = 0; i < a->nsocks; i++) {
        struct vrrp_sock *s = a->socks[i];
        if (s->family == family && s->ifindex == ifindex && strcmp(s->ifname, ifname) == 0) {
            s->refs++;
            return s;
        }
    }
    struct vrrp_sock **grown = realloc(a->socks, (a->nsocks + 1) * sizeof(*grown));
    struct vrrp_sock *s = calloc(1, sizeof(*s));
    if (grown)
        a->socks = grown;
    if (!grown || !s || (s->fd = vrrp_sock_open(ifname, ifindex, family)) < 0) {
        free(s);
        return NULL;
    }
    s->agent = a;
    snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
    s->ifindex = ifindex;
    s->family = family;
    s->refs = 1;
    s->ev = event_new(a->base, s->fd, EV_READ | EV_PERSIST, vrrp_sock_read_cb, s);
    event_add(s->ev, NULL);
    a->socks[a->nsocks++] = s;
    return s;
}

void vrrp_sock_put(struct vrrp_sock *s)
{
    if (--s->refs > 0)
        return;
    struct vrrp_agent *a = s->agent;
    for (unsigned i = 0; i < a->nsocks; i++) {
        if (a->socks[i] == s) {
            a->socks[i] = a->socks[--a->nsocks];
            break;
        }
    }
    event_free(s->ev);
    close(s->fd);
    free(s);
}

/* ---- sending ---- */

static int vrrp_sendto(struct vrrp_instance *in, const uint8_t *msg, size_t len,
                       const uint8_t *dst)
{
    struct vrrp_sock *s = in->sock;
    union { char b[CMSG_SPACE(sizeof(struct in6_pktinfo))]; struct cmsghdr align; } ctl;
    struct sockaddr_storage to;
    memset(&ctl, 0, sizeof(ctl));
    memset(&to, 0, sizeof(to));
    struct iovec iov = { (void *)msg, len };
    struct msghdr mh = { .msg_name = &to, .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = ctl.b };
    struct cmsghdr *c = (struct cmsghdr *)ctl.b;
    if (s->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&to;
        struct in_pktinfo pi = { .ipi_ifindex = s->ifindex };
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, dst, 4);
        memcpy(&pi.ipi_spec_dst, in->primary, 4);
        mh.msg_namelen = sizeof(*sin);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        mh.msg_controllen = CMSG_SPACE(sizeof(pi));
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&to;
        struct in6_pktinfo pi = { .ipi6_ifindex = (unsigned)s->ifindex };
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, dst, 16);
        sin6->sin6_scope_id = (uint32_t)s->ifindex;
        memcpy(&pi.ipi6_addr, in->primary, 16);
        mh.msg_namelen = sizeof(*sin6);
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        mh.msg_controllen = CMSG_SPACE(sizeof(pi));
    }
    return sendmsg(s->fd, &mh, 0) == (ssize_t)len ? 0 : -1;
}

static int vrrp_send_one(struct vrrp_instance *in, uint8_t priority, const uint8_t *dst)
{
    uint8_t msg[VRRP_PACKET_MAX];
    struct vrrp_l3 l3 = { .family = in->conf->family };
    size_t alen = vrrp_addr_len(l3.family);
    memcpy(l3.src, in->primary, alen);
    memcpy(l3.dst, dst, alen);
    struct vrrp_advert adv = { .vrid = (uint8_t)in->conf->vrid, .priority = priority,
                               .naddrs = (uint8_t)in->conf->nvips,
                               .max_adver_int_cs = (uint16_t)(in->conf->advert_ms / 10),
                               .addrs = in->vips_packed };
    int len = vrrp_packet_encode(&adv, &l3, msg, sizeof(msg));
    if (len < 0 || vrrp_sendto(in, msg, (size_t)len, dst) < 0) {
        static struct log_ratelimit rl;
        log_limited(&rl, 5, 10, LOG_LVL_WARN, "instance %s: sending advert: %s",
                    in->conf->name, len < 0 ? "encode failed" : strerror(errno));
        return -1;
    }
    return 0;
}

/* RFC 5798 5.1.1.2 / 5.1.2.2: to the group, or to each configured peer. */
int vrrp_sock_send(struct vrrp_instance *in, uint8_t priority)
{
    if (!in->have_primary || !in->sock)
        return -1;
    if (in->conf->npeers == 0)
        return vrrp_send_one(in, priority,
                             in->conf->family == AF_INET ? vrrp_group4 : vrrp_group6);
    int rc = 0;
    for (unsigned i = 0; i < in->conf->npeers; i++) {
        size_t len;
        const uint8_t *p = addr_ip_bytes((const struct sockaddr *)&in->conf->peers[i].ss, &len);
        rc |= vrrp_send_one(in, priority, p);
    }
    return rc;
}

/* ---- our source address ---- */

static bool vrrp_is_any_vip(const struct vrrp_agent *a, int family, const uint8_t *addr)
{
    size_t alen = vrrp_addr_len(family);
    for (unsigned i = 0; i < a->cfg->ninstances; i++) {
        const struct conf_vrrp_instance *c = &a->cfg->instances[i];
        if (c->priority == VRRP_PRIO_OWNER)
            continue;   /* an owner's VIPs are the box's own addresses */
        for (unsigned v = 0; v < c->nvips; v++)
            if (c->vips[v].family == family && memcmp(c->vips[v].addr, addr, alen) == 0)
                return true;
    }
    return false;
}

/* RFC 5798 5.1.1.1: the IPv4 source is the primary address of the
 * interface; 5.1.2.1: the IPv6 source is the link-local address. In IPv6
 * unicast mode a global address is used, since the peers are global. */
int vrrp_primary_addr(const struct vrrp_instance *in, uint8_t *out)
{
    struct ifaddrs *ifa0, *ifa;
    int family = in->conf->family, found = -1;
    bool want_ll = family == AF_INET6 && in->conf->npeers == 0;
    if (getifaddrs(&ifa0) < 0)
        return -1;
    for (ifa = ifa0; ifa && found < 0; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != family
            || strcmp(ifa->ifa_name, in->ifname) != 0)
            continue;
        size_t len;
        const uint8_t *ip = addr_ip_bytes(ifa->ifa_addr, &len);
        bool ll = family == AF_INET6 && ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80;
        if (ll != want_ll || vrrp_is_any_vip(in->agent, family, ip))
            continue;
        memcpy(out, ip, len);
        found = 0;
    }
    freeifaddrs(ifa0);
    return found;
}
