/* vrrp_packet.h - VRRPv3 advertisements (RFC 5798 section 5) for IPv4 and
 * IPv6: encode, checksum, and a decoder of untrusted bytes that validates
 * per RFC 5798 section 7.1 and says why it dropped a packet.
 *
 * Pure code: no sockets, no globals. Addresses are raw network-order bytes
 * (4 for IPv4, 16 for IPv6). */
#ifndef TANDEM_VRRP_PACKET_H
#define TANDEM_VRRP_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define VRRP_IPPROTO        112     /* IANA protocol number (5.1.1.4) */
#define VRRP_VERSION        3       /* 5.2.1 */
#define VRRP_TYPE_ADVERT    1       /* 5.2.2: the only type */
#define VRRP_TTL            255     /* 5.1.1.3, 5.1.2.3 */
#define VRRP_HDR_LEN        8       /* fixed part, before the addresses */
#define VRRP_PRIO_STOP      0       /* 5.2.4: master resigns */
#define VRRP_PRIO_DEFAULT   100
#define VRRP_PRIO_OWNER     255     /* 5.2.4: IPvX address owner */
#define VRRP_INTERVAL_MAX   0x0fff  /* 5.2.7: 12 bits of centiseconds */
#define VRRP_MAX_ADDRS      255     /* Count IPvX Addr is one octet */
#define VRRP_ADDR_MAX_LEN   16
/* Largest VRRP message: 8 + 255 * 16. */
#define VRRP_PACKET_MAX     (VRRP_HDR_LEN + VRRP_MAX_ADDRS * VRRP_ADDR_MAX_LEN)

/* Why a received packet was dropped. VRRP_OK is not a drop. The values
 * index counter arrays: VRRP_DROP_COUNT is the array size. */
enum vrrp_drop {
    VRRP_OK = 0,
    VRRP_DROP_FAMILY,        /* address family neither AF_INET nor AF_INET6 */
    VRRP_DROP_IP_HEADER,     /* full IPv4 packet: bad IHL / total length / fragment */
    VRRP_DROP_PROTOCOL,      /* full IPv4 packet: protocol is not 112 */
    VRRP_DROP_TTL,           /* TTL / hop limit is not 255 (7.1) */
    VRRP_DROP_LENGTH,        /* shorter than the header, or not 8 + count * addrlen (7.1) */
    VRRP_DROP_VERSION,       /* version is not 3 (7.1) */
    VRRP_DROP_TYPE,          /* type is not ADVERTISEMENT (5.2.2) */
    VRRP_DROP_ADDR_COUNT,    /* Count IPvX Addr is 0; at least one is required (5.2.5) */
    VRRP_DROP_CHECKSUM,      /* checksum with pseudo-header wrong (5.2.8, 7.1) */
    VRRP_DROP_INTERVAL_ZERO, /* Max Adver Int 0: no usable timers */
    VRRP_DROP_VRID,          /* caller: VRID not configured here (7.1) */
    VRRP_DROP_OWNER,         /* caller: we are the address owner (7.1) */
    VRRP_DROP_ADDR_LIST,     /* caller: addresses differ from ours, sender not owner (7.1) */
    VRRP_DROP_PEER,          /* caller, unicast mode: source is not a configured peer */
    VRRP_DROP_COUNT
};

/* Short lowercase name for counters and logs ("ttl", "checksum", ...). */
const char *vrrp_drop_name(enum vrrp_drop reason);

/* The IP-layer facts the VRRP message came with. */
struct vrrp_l3 {
    int family;                         /* AF_INET or AF_INET6 */
    uint8_t src[VRRP_ADDR_MAX_LEN];     /* first 4 bytes used for IPv4 */
    uint8_t dst[VRRP_ADDR_MAX_LEN];
    uint8_t ttl;                        /* TTL or hop limit; ignored by encode */
};

/* One advertisement. addrs points at naddrs packed addresses of
 * vrrp_addr_len(family) bytes: on decode, into the caller's packet buffer
 * (valid as long as that buffer); on encode, the caller's array. */
struct vrrp_advert {
    uint8_t vrid;
    uint8_t priority;
    uint8_t naddrs;
    uint16_t max_adver_int_cs;          /* centiseconds, 1..4095 */
    const uint8_t *addrs;
};

/* 4 for AF_INET, 16 for AF_INET6, 0 for anything else. */
size_t vrrp_addr_len(int family);

/* The 16-bit one's complement of the one's complement sum over the
 * pseudo-header (src, dst, zero, protocol 112, VRRP length) and msg as it
 * is, checksum field included (5.2.8). Encode zeroes the field first; a
 * received message is intact when the sum over it folds to 0xffff, i.e.
 * this returns 0. */
uint16_t vrrp_checksum(const struct vrrp_l3 *l3, const uint8_t *msg, size_t len);

/* Writes the VRRP message (no IP header) for l3->family, with the checksum
 * over l3->src and l3->dst. Returns its length, or -1 if buflen is too
 * small, the family is unknown, naddrs is 0 or the interval is not
 * 1..4095. The 4 reserved bits are sent as zero (5.2.6). */
int vrrp_packet_encode(const struct vrrp_advert *adv, const struct vrrp_l3 *l3,
                       uint8_t *buf, size_t buflen);

/* Validates an untrusted VRRP message of len bytes that arrived with the IP
 * facts l3, in this order: family, TTL/hop limit, header length, version,
 * type, count != 0, length == 8 + count * addrlen, checksum, interval != 0.
 * On VRRP_OK fills *out (out->addrs points into buf). Never reads past
 * buf + len. The reserved bits are ignored (5.2.6). */
enum vrrp_drop vrrp_packet_decode(const uint8_t *buf, size_t len,
                                  const struct vrrp_l3 *l3, struct vrrp_advert *out);

/* The same from a whole IPv4 packet as a raw socket returns it: checks the
 * IP version, IHL, total length (bytes beyond it are ignored), that it is
 * not a fragment and that the protocol is 112, fills *l3 from the header,
 * then calls vrrp_packet_decode on the payload. */
enum vrrp_drop vrrp_packet_decode_ipv4(const uint8_t *pkt, size_t len,
                                       struct vrrp_l3 *l3, struct vrrp_advert *out);

/* Caller-side checks of RFC 5798 section 7.1 for a decoded advert, against
 * the instance it is meant for:
 *   vrid:   the instance's VRID (VRRP_DROP_VRID when they differ; pass 0 when
 *           no instance has the advert's VRID, which always drops);
 *   local_priority: the instance's current priority; 255 means we are the
 *           address owner and must drop (VRRP_DROP_OWNER);
 *   vips, nvips: our configured addresses, packed; when vips is not NULL,
 *           the advert must carry the same set (any order) unless the sender
 *           is the owner (priority 255), else VRRP_DROP_ADDR_LIST (the
 *           optional "MAY verify" check). */
enum vrrp_drop vrrp_packet_accept(const struct vrrp_advert *adv, int family,
                                  uint8_t vrid, uint8_t local_priority,
                                  const uint8_t *vips, unsigned nvips);

#endif
