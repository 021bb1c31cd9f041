/* vrrp_announce.c - tells the segment where the VIPs now live (RFC 5798
 * 6.4.2 / 8.1.2 "broadcast a gratuitous ARP", 8.2 "send an unsolicited
 * Neighbor Advertisement"): for IPv4 a broadcast ARP request and reply
 * with the VIP as sender and target; for IPv6 an NA to ff02::1 with the
 * Override flag and our link-layer address, hop limit 255 (RFC 4861 7.2.6).
 * Repeats (garp_count, garp_delay) are driven by vrrp_instance.c. */
#include "config.h"
#include "vrrp_agent.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct vrrp_arp_pkt {            /* RFC 826, Ethernet / IPv4 */
    uint16_t htype, ptype;
    uint8_t hlen, plen;
    uint16_t op;
    uint8_t sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

static int vrrp_if_mac(const char *ifname, uint8_t mac[6])
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    int rc = ioctl(fd, SIOCGIFHWADDR, &ifr);
    close(fd);
    if (rc < 0)
        return -1;
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return 0;
}

static int vrrp_garp(int fd, int ifindex, const uint8_t mac[6], const uint8_t vip[4])
{
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ARP),
                              .sll_ifindex = ifindex, .sll_halen = 6 };
    memset(to.sll_addr, 0xff, 6);
    struct vrrp_arp_pkt p = { .htype = htons(ARPHRD_ETHER), .ptype = htons(ETH_P_IP),
                              .hlen = 6, .plen = 4 };
    memcpy(p.sha, mac, 6);
    memcpy(p.spa, vip, 4);
    memcpy(p.tpa, vip, 4);
    int rc = 0;
    for (uint16_t op = ARPOP_REQUEST; op <= ARPOP_REPLY; op++) {
        p.op = htons(op);
        if (op == ARPOP_REPLY)
            memset(p.tha, 0xff, 6);
        if (sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
            rc = -1;
    }
    return rc;
}

struct vrrp_na_pkt {
    struct nd_neighbor_advert na;
    uint8_t opt_type, opt_len, mac[6];   /* target link-layer address option */
} __attribute__((packed));

static int vrrp_unsolicited_na(int fd, int ifindex, const uint8_t mac[6], const uint8_t vip[16])
{
    struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_scope_id = (uint32_t)ifindex };
    static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
    memcpy(&to.sin6_addr, all_nodes, 16);
    struct vrrp_na_pkt p;
    memset(&p, 0, sizeof(p));
    p.na.nd_na_type = ND_NEIGHBOR_ADVERT;
    p.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;
    memcpy(&p.na.nd_na_target, vip, 16);
    p.opt_type = ND_OPT_TARGET_LINKADDR;
    p.opt_len = 1;                       /* in units of 8 bytes */
    memcpy(p.mac, mac, 6);
    /* the kernel fills the ICMPv6 checksum of raw ICMPv6 sockets */
    return sendto(fd, &p, sizeof(p), 0, (struct sockaddr *)&to, sizeof(to)) < 0 ? -1 : 0;
}

static int vrrp_na_socket(int ifindex)
{
    int fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    int hops = 255;
    if (fd < 0)
        return -1;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0
        || setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One announcement of every VIP of the instance. */
int vrrp_announce(const struct vrrp_instance *in)
{
    uint8_t mac[6];
    bool v4 = in->conf->family == AF_INET;
    if (vrrp_if_mac(in->ifname, mac) < 0)
        return -1;
    int fd = v4 ? socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP))
                : vrrp_na_socket(in->ifindex);
    if (fd < 0) {
        log_warn("instance %s: announce socket: %s", in->conf->name, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (unsigned i = 0; i < in->conf->nvips; i++)
        rc |= v4 ? vrrp_garp(fd, in->ifindex, mac, in->conf->vips[i].addr)
                 : vrrp_unsolicited_na(fd, in->ifindex, mac, in->conf->vips[i].addr);
    if (rc < 0)
        log_warn("instance %s: announcing VIPs on %s: %s", in->conf->name, in->ifname,
                 strerror(errno));
    close(fd);
    return rc;
}
