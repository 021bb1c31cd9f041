/* vrrp_packet.c - VRRPv3 advertisement codec (RFC 5798 sections 5, 7.1).
 *
 * Wire layout after the IP header (5.2):
 *   0: version(4) | type(4)    1: VRID    2: priority    3: count IPvX addrs
 *   4: rsvd(4) | max adver int(12, centiseconds)         6: checksum
 *   8: count addresses, 4 (IPv4) or 16 (IPv6) bytes each */
#ifdef HAVE_CONFIG_H     /* automake; fuzz builds use -include config.h */
#include "config.h"
#endif
#include "vrrp_packet.h"

#include <string.h>
#include <sys/socket.h>

#define IPV4_HDR_MIN 20

static const char *const vrrp_drop_names[VRRP_DROP_COUNT] = {
    [VRRP_OK] = "ok",
    [VRRP_DROP_FAMILY] = "family",
    [VRRP_DROP_IP_HEADER] = "ip_header",
    [VRRP_DROP_PROTOCOL] = "protocol",
    [VRRP_DROP_TTL] = "ttl",
    [VRRP_DROP_LENGTH] = "length",
    [VRRP_DROP_VERSION] = "version",
    [VRRP_DROP_TYPE] = "type",
    [VRRP_DROP_ADDR_COUNT] = "addr_count",
    [VRRP_DROP_CHECKSUM] = "checksum",
    [VRRP_DROP_INTERVAL_ZERO] = "interval_zero",
    [VRRP_DROP_VRID] = "vrid",
    [VRRP_DROP_OWNER] = "owner",
    [VRRP_DROP_ADDR_LIST] = "addr_list",
    [VRRP_DROP_PEER] = "peer",
};

const char *vrrp_drop_name(enum vrrp_drop reason)
{
    if ((unsigned)reason >= VRRP_DROP_COUNT)
        return "unknown";
    return vrrp_drop_names[reason];
}

size_t vrrp_addr_len(int family)
{
    if (family == AF_INET)
        return 4;
    if (family == AF_INET6)
        return 16;
    return 0;
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Adds big-endian 16-bit words to a 32-bit accumulator (RFC 1071); an odd
 * last byte is padded with zero. */
static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        sum += get_be16(p + i);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t fold16(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* The IPv4 pseudo-header (src, dst, 0, 112, 16-bit length) and the IPv6 one
 * of RFC 2460 8.1 (src, dst, 32-bit length, 3 zero bytes, next header 112)
 * contribute the same 16-bit words, so one sum serves both (5.2.8). */
uint16_t vrrp_checksum(const struct vrrp_l3 *l3, const uint8_t *msg, size_t len)
{
    size_t alen = vrrp_addr_len(l3->family);
    uint32_t sum = 0;

    sum = sum16(sum, l3->src, alen);
    sum = sum16(sum, l3->dst, alen);
    sum += VRRP_IPPROTO;
    sum += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
    /* a VRRP message is at most 4088 bytes: no overflow of the 32-bit sum */
    sum = sum16(sum, msg, len);
    return (uint16_t)~fold16(sum);
}

int vrrp_packet_encode(const struct vrrp_advert *adv, const struct vrrp_l3 *l3,
                       uint8_t *buf, size_t buflen)
{
    size_t alen = vrrp_addr_len(l3->family);
    size_t len = VRRP_HDR_LEN + (size_t)adv->naddrs * alen;

    if (alen == 0 || adv->naddrs == 0 || len > buflen)
        return -1;
    if (adv->max_adver_int_cs == 0 || adv->max_adver_int_cs > VRRP_INTERVAL_MAX)
        return -1;
    buf[0] = VRRP_VERSION << 4 | VRRP_TYPE_ADVERT;
    buf[1] = adv->vrid;
    buf[2] = adv->priority;
    buf[3] = adv->naddrs;
    put_be16(buf + 4, adv->max_adver_int_cs);   /* rsvd bits zero (5.2.6) */
    put_be16(buf + 6, 0);
    memcpy(buf + VRRP_HDR_LEN, adv->addrs, len - VRRP_HDR_LEN);
    put_be16(buf + 6, vrrp_checksum(l3, buf, len));
    return (int)len;
}

/* The fixed-header checks of 7.1 and 5.2, before the checksum. */
static enum vrrp_drop check_header(const uint8_t *buf, size_t len, size_t alen)
{
    if (len < VRRP_HDR_LEN)
        return VRRP_DROP_LENGTH;
    if (buf[0] >> 4 != VRRP_VERSION)
        return VRRP_DROP_VERSION;
    if ((buf[0] & 0x0f) != VRRP_TYPE_ADVERT)
        return VRRP_DROP_TYPE;
    if (buf[3] == 0)
        return VRRP_DROP_ADDR_COUNT;
    if (len != VRRP_HDR_LEN + (size_t)buf[3] * alen)
        return VRRP_DROP_LENGTH;
    return VRRP_OK;
}

enum vrrp_drop vrrp_packet_decode(const uint8_t *buf, size_t len,
                                  const struct vrrp_l3 *l3, struct vrrp_advert *out)
{
    size_t alen = vrrp_addr_len(l3->family);
    enum vrrp_drop r;

    if (alen == 0)
        return VRRP_DROP_FAMILY;
    if (l3->ttl != VRRP_TTL)
        return VRRP_DROP_TTL;
    r = check_header(buf, len, alen);
    if (r != VRRP_OK)
        return r;
    if (vrrp_checksum(l3, buf, len) != 0)
        return VRRP_DROP_CHECKSUM;
    out->vrid = buf[1];
    out->priority = buf[2];
    out->naddrs = buf[3];
    out->max_adver_int_cs = get_be16(buf + 4) & VRRP_INTERVAL_MAX;
    out->addrs = buf + VRRP_HDR_LEN;
    if (out->max_adver_int_cs == 0)
        return VRRP_DROP_INTERVAL_ZERO;
    return VRRP_OK;
}

/* IPv4 header sanity for a packet from a raw socket. Returns the header
 * length and sets *total, or 0 if the header is unusable. */
static size_t ipv4_header_len(const uint8_t *pkt, size_t len, size_t *total)
{
    size_t ihl;

    if (len < IPV4_HDR_MIN || pkt[0] >> 4 != 4)
        return 0;
    ihl = (size_t)(pkt[0] & 0x0f) * 4;
    *total = get_be16(pkt + 2);
    if (ihl < IPV4_HDR_MIN || ihl > *total || *total > len)
        return 0;
    if (get_be16(pkt + 6) & 0x3fff)     /* MF flag or fragment offset */
        return 0;
    return ihl;
}

enum vrrp_drop vrrp_packet_decode_ipv4(const uint8_t *pkt, size_t len,
                                       struct vrrp_l3 *l3, struct vrrp_advert *out)
{
    size_t total = 0;
    size_t ihl = ipv4_header_len(pkt, len, &total);

    if (ihl == 0)
        return VRRP_DROP_IP_HEADER;
    if (pkt[9] != VRRP_IPPROTO)
        return VRRP_DROP_PROTOCOL;
    memset(l3, 0, sizeof(*l3));
    l3->family = AF_INET;
    l3->ttl = pkt[8];
    memcpy(l3->src, pkt + 12, 4);
    memcpy(l3->dst, pkt + 16, 4);
    return vrrp_packet_decode(pkt + ihl, total - ihl, l3, out);
}

static int addr_in_list(const uint8_t *a, const uint8_t *list, unsigned n, size_t alen)
{
    unsigned i;
    for (i = 0; i < n; i++)
        if (memcmp(a, list + (size_t)i * alen, alen) == 0)
            return 1;
    return 0;
}

/* Same set of addresses, in any order: each side's members are in the other. */
static int addr_sets_equal(const uint8_t *a, unsigned na, const uint8_t *b,
                           unsigned nb, size_t alen)
{
    unsigned i;
    if (na != nb)
        return 0;
    for (i = 0; i < na; i++)
        if (!addr_in_list(a + (size_t)i * alen, b, nb, alen))
            return 0;
    for (i = 0; i < nb; i++)
        if (!addr_in_list(b + (size_t)i * alen, a, na, alen))
            return 0;
    return 1;
}

enum vrrp_drop vrrp_packet_accept(const struct vrrp_advert *adv, int family,
                                  uint8_t vrid, uint8_t local_priority,
                                  const uint8_t *vips, unsigned nvips)
{
    size_t alen = vrrp_addr_len(family);

    if (alen == 0)
        return VRRP_DROP_FAMILY;
    if (vrid == 0 || adv->vrid != vrid)
        return VRRP_DROP_VRID;
    if (local_priority == VRRP_PRIO_OWNER)
        return VRRP_DROP_OWNER;
    if (vips && adv->priority != VRRP_PRIO_OWNER &&
        !addr_sets_equal(adv->addrs, adv->naddrs, vips, nvips, alen))
        return VRRP_DROP_ADDR_LIST;
    return VRRP_OK;
}
