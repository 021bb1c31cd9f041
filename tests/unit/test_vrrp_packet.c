/* test_vrrp_packet.c - VRRPv3 codec against byte vectors laid out by hand
 * from RFC 5798 section 5.2, checksums cross-checked by an independent
 * word sum, every drop reason of section 7.1, every truncation. */
#include "config.h"
#include "unit.h"
#include "vrrp_packet.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* VRID 1, priority 100, one address 198.51.100.1, 100 cs, sent from
 * 198.51.100.10 to 224.0.0.18. Checksum worked out on paper: words
 * c633 640a e000 0012 0070 000c (pseudo-header) + 3101 6401 0064 0000
 * c633 6401 = 0x3ca65 -> fold 0xca68 -> complement 0x3597. */
static const uint8_t v4_msg[] = {
    0x31, 0x01, 0x64, 0x01, 0x00, 0x64, 0x35, 0x97,
    198, 51, 100, 1,
};

/* VRID 7, priority 200, fe80::100 and 2001:db8::100, 10 cs (100 ms),
 * from fe80::1 to ff02::12. */
static const uint8_t v6_msg[] = {
    0x31, 0x07, 0xc8, 0x02, 0x00, 0x0a, 0xda, 0x82,
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
};

static struct vrrp_l3 make_l3(int family, const char *src, const char *dst)
{
    struct vrrp_l3 l3;
    memset(&l3, 0, sizeof(l3));
    l3.family = family;
    inet_pton(family, src, l3.src);
    inet_pton(family, dst, l3.dst);
    l3.ttl = 255;
    return l3;
}

static struct vrrp_l3 l3_v4(void) { return make_l3(AF_INET, "198.51.100.10", "224.0.0.18"); }
static struct vrrp_l3 l3_v6(void) { return make_l3(AF_INET6, "fe80::1", "ff02::12"); }

/* Independent RFC 1071 sum, written the long way: pseudo-header fields one
 * by one, then the message, the checksum field read as zero. */
static uint16_t ref_checksum(const struct vrrp_l3 *l3, const uint8_t *msg, size_t len)
{
    size_t alen = l3->family == AF_INET ? 4 : 16, i;
    uint64_t sum = 0;
    for (i = 0; i < alen; i += 2) {
        sum += (unsigned)l3->src[i] * 256 + l3->src[i + 1];
        sum += (unsigned)l3->dst[i] * 256 + l3->dst[i + 1];
    }
    sum += 112;
    sum += len;
    for (i = 0; i < len; i += 2)
        if (i != 6)
            sum += (unsigned)msg[i] * 256 + (i + 1 < len ? msg[i + 1] : 0);
    while (sum > 0xffff)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)(~sum & 0xffff);
}

/* Recomputes the checksum of a hand-edited message. */
static void fix_checksum(const struct vrrp_l3 *l3, uint8_t *msg, size_t len)
{
    uint16_t c = ref_checksum(l3, msg, len);
    msg[6] = (uint8_t)(c >> 8);
    msg[7] = (uint8_t)c;
}

static enum vrrp_drop decode_copy(const uint8_t *msg, size_t len,
                                  const struct vrrp_l3 *l3, struct vrrp_advert *out)
{
    /* exact-size heap copy so ASan catches any over-read */
    uint8_t *p = malloc(len ? len : 1);
    enum vrrp_drop r;
    memcpy(p, msg, len);
    r = vrrp_packet_decode(p, len, l3, out);
    free(p);
    return r;
}

static void test_checksum_reference(void)
{
    struct vrrp_l3 a = l3_v4(), b = l3_v6();
    CU_ASSERT_EQUAL(ref_checksum(&a, v4_msg, sizeof(v4_msg)), 0x3597);
    CU_ASSERT_EQUAL(ref_checksum(&b, v6_msg, sizeof(v6_msg)), 0xda82);
    /* a correct message sums to 0xffff, so vrrp_checksum over it is 0 */
    CU_ASSERT_EQUAL(vrrp_checksum(&a, v4_msg, sizeof(v4_msg)), 0);
    CU_ASSERT_EQUAL(vrrp_checksum(&b, v6_msg, sizeof(v6_msg)), 0);
}

static void test_checksum_covers_pseudo_header(void)
{
    /* the v3 checksum includes the IPv4 pseudo-header: another source
     * address or destination makes the same bytes invalid */
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    l3.src[3] = 11;
    CU_ASSERT_EQUAL(vrrp_packet_decode(v4_msg, sizeof(v4_msg), &l3, &adv), VRRP_DROP_CHECKSUM);
    l3 = l3_v4();
    l3.dst[3] = 19;
    CU_ASSERT_EQUAL(vrrp_packet_decode(v4_msg, sizeof(v4_msg), &l3, &adv), VRRP_DROP_CHECKSUM);
}

static void test_encode_ipv4_vector(void)
{
    struct vrrp_l3 l3 = l3_v4();
    const uint8_t vip[4] = { 198, 51, 100, 1 };
    struct vrrp_advert adv = { .vrid = 1, .priority = 100, .naddrs = 1,
                               .max_adver_int_cs = 100, .addrs = vip };
    uint8_t buf[64];
    CU_ASSERT_EQUAL(vrrp_packet_encode(&adv, &l3, buf, sizeof(buf)), (int)sizeof(v4_msg));
    CU_ASSERT_EQUAL(memcmp(buf, v4_msg, sizeof(v4_msg)), 0);
}

static void test_encode_ipv6_vector(void)
{
    struct vrrp_l3 l3 = l3_v6();
    struct vrrp_advert adv = { .vrid = 7, .priority = 200, .naddrs = 2,
                               .max_adver_int_cs = 10, .addrs = v6_msg + 8 };
    uint8_t buf[64];
    CU_ASSERT_EQUAL(vrrp_packet_encode(&adv, &l3, buf, sizeof(buf)), (int)sizeof(v6_msg));
    CU_ASSERT_EQUAL(memcmp(buf, v6_msg, sizeof(v6_msg)), 0);
}

static void test_decode_ipv4_vector(void)
{
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    CU_ASSERT_EQUAL(vrrp_packet_decode(v4_msg, sizeof(v4_msg), &l3, &adv), VRRP_OK);
    CU_ASSERT_EQUAL(adv.vrid, 1);
    CU_ASSERT_EQUAL(adv.priority, 100);
    CU_ASSERT_EQUAL(adv.naddrs, 1);
    CU_ASSERT_EQUAL(adv.max_adver_int_cs, 100);
    CU_ASSERT_PTR_EQUAL(adv.addrs, v4_msg + 8);
}

static void test_decode_ipv6_vector(void)
{
    struct vrrp_l3 l3 = l3_v6();
    struct vrrp_advert adv;
    CU_ASSERT_EQUAL(vrrp_packet_decode(v6_msg, sizeof(v6_msg), &l3, &adv), VRRP_OK);
    CU_ASSERT_EQUAL(adv.vrid, 7);
    CU_ASSERT_EQUAL(adv.priority, 200);
    CU_ASSERT_EQUAL(adv.naddrs, 2);
    CU_ASSERT_EQUAL(adv.max_adver_int_cs, 10);
    CU_ASSERT_EQUAL(memcmp(adv.addrs + 16, v6_msg + 24, 16), 0);
}

static void test_round_trip_max(void)
{
    /* 255 IPv6 addresses, priority 255, interval 4095: every field at its top */
    static uint8_t addrs[255 * 16], buf[VRRP_PACKET_MAX];
    struct vrrp_l3 l3 = l3_v6();
    struct vrrp_advert in = { .vrid = 255, .priority = 255, .naddrs = 255,
                              .max_adver_int_cs = 4095, .addrs = addrs }, out;
    unsigned i;
    int n;
    for (i = 0; i < sizeof(addrs); i++)
        addrs[i] = (uint8_t)(i * 7 + 1);
    n = vrrp_packet_encode(&in, &l3, buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, VRRP_PACKET_MAX);
    CU_ASSERT_EQUAL(ref_checksum(&l3, buf, (size_t)n), (buf[6] << 8 | buf[7]));
    CU_ASSERT_EQUAL(vrrp_packet_decode(buf, (size_t)n, &l3, &out), VRRP_OK);
    CU_ASSERT_EQUAL(out.vrid, 255);
    CU_ASSERT_EQUAL(out.priority, 255);
    CU_ASSERT_EQUAL(out.naddrs, 255);
    CU_ASSERT_EQUAL(out.max_adver_int_cs, 4095);
    CU_ASSERT_EQUAL(memcmp(out.addrs, addrs, sizeof(addrs)), 0);
}

static void test_round_trip_ipv4_many(void)
{
    uint8_t addrs[3 * 4] = { 10, 0, 0, 1, 10, 0, 0, 2, 198, 51, 100, 7 }, buf[64];
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert in = { .vrid = 42, .priority = 0, .naddrs = 3,
                              .max_adver_int_cs = 1, .addrs = addrs }, out;
    int n = vrrp_packet_encode(&in, &l3, buf, sizeof(buf));
    CU_ASSERT_EQUAL(n, 20);
    CU_ASSERT_EQUAL(ref_checksum(&l3, buf, (size_t)n), (buf[6] << 8 | buf[7]));
    CU_ASSERT_EQUAL(vrrp_packet_decode(buf, (size_t)n, &l3, &out), VRRP_OK);
    CU_ASSERT_EQUAL(out.priority, 0);
    CU_ASSERT_EQUAL(out.max_adver_int_cs, 1);
    CU_ASSERT_EQUAL(memcmp(out.addrs, addrs, sizeof(addrs)), 0);
}

static void test_encode_errors(void)
{
    struct vrrp_l3 l3 = l3_v4();
    const uint8_t vip[4] = { 198, 51, 100, 1 };
    struct vrrp_advert adv = { .vrid = 1, .priority = 100, .naddrs = 1,
                               .max_adver_int_cs = 100, .addrs = vip };
    uint8_t buf[64];
    CU_ASSERT_EQUAL(vrrp_packet_encode(&adv, &l3, buf, 11), -1);     /* too small */
    CU_ASSERT_EQUAL(vrrp_packet_encode(&adv, &l3, buf, 12), 12);
    adv.max_adver_int_cs = 0;
    CU_ASSERT_EQUAL(vrrp_packet_encode(&adv, &l3, buf, sizeof(buf)), -1);
    adv.max_adver_int_cs = 4096;    /* would spill into the reserved bits */
    CU_ASSERT_EQUAL(vrrp_packet_encode(&adv, &l3, buf, sizeof(buf)), -1);
    adv.max_adver_int_cs = 100;
    adv.naddrs = 0;
    CU_ASSERT_EQUAL(vrrp_packet_encode(&adv, &l3, buf, sizeof(buf)), -1);
    adv.naddrs = 1;
    l3.family = AF_UNIX;
    CU_ASSERT_EQUAL(vrrp_packet_encode(&adv, &l3, buf, sizeof(buf)), -1);
}

static void test_reserved_bits_ignored(void)
{
    /* 5.2.6: set on the wire by someone else, ignored on reception */
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    uint8_t m[sizeof(v4_msg)];
    memcpy(m, v4_msg, sizeof(m));
    m[4] |= 0xf0;
    fix_checksum(&l3, m, sizeof(m));
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_OK);
    CU_ASSERT_EQUAL(adv.max_adver_int_cs, 100);
}

static void test_drop_ttl(void)
{
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    l3.ttl = 254;
    CU_ASSERT_EQUAL(vrrp_packet_decode(v4_msg, sizeof(v4_msg), &l3, &adv), VRRP_DROP_TTL);
    l3 = l3_v6();
    l3.ttl = 1;     /* a hop limit of 1: came from off-link */
    CU_ASSERT_EQUAL(vrrp_packet_decode(v6_msg, sizeof(v6_msg), &l3, &adv), VRRP_DROP_TTL);
}

static void test_drop_version(void)
{
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    uint8_t m[sizeof(v4_msg)];
    memcpy(m, v4_msg, sizeof(m));
    m[0] = 0x21;    /* VRRPv2 */
    fix_checksum(&l3, m, sizeof(m));
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_DROP_VERSION);
}

static void test_drop_type(void)
{
    struct vrrp_l3 l3 = l3_v6();
    struct vrrp_advert adv;
    uint8_t m[sizeof(v6_msg)];
    memcpy(m, v6_msg, sizeof(m));
    m[0] = 0x32;
    fix_checksum(&l3, m, sizeof(m));
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_DROP_TYPE);
}

static void test_drop_length(void)
{
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    uint8_t m[sizeof(v4_msg) + 4];
    memcpy(m, v4_msg, sizeof(v4_msg));
    memset(m + sizeof(v4_msg), 0, 4);
    /* count says 1 address, 2 are present */
    fix_checksum(&l3, m, sizeof(m));
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_DROP_LENGTH);
    /* count says 3, 2 are present */
    m[3] = 3;
    fix_checksum(&l3, m, sizeof(m));
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_DROP_LENGTH);
    /* an IPv6 message received over IPv4: 40 is not 8 + 2 * 4 */
    CU_ASSERT_EQUAL(vrrp_packet_decode(v6_msg, sizeof(v6_msg), &l3, &adv), VRRP_DROP_LENGTH);
}

static void test_drop_addr_count(void)
{
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    uint8_t m[8];
    memcpy(m, v4_msg, 8);
    m[3] = 0;
    fix_checksum(&l3, m, sizeof(m));
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_DROP_ADDR_COUNT);
}

static void test_drop_checksum(void)
{
    struct vrrp_l3 l3 = l3_v6();
    struct vrrp_advert adv;
    uint8_t m[sizeof(v6_msg)];
    size_t i;
    /* flipping any single bit anywhere is caught */
    for (i = 0; i < sizeof(m) * 8; i++) {
        memcpy(m, v6_msg, sizeof(m));
        m[i / 8] ^= (uint8_t)(1u << (i % 8));
        if (i / 8 == 0 || i / 8 == 3)
            continue;   /* version/type/count: caught by earlier checks */
        CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_DROP_CHECKSUM);
    }
}

static void test_checksum_zero_forms(void)
{
    /* one's complement has two zeros; a sender that writes 0xffff where we
     * would write 0x0000 still verifies. Find a VRID giving checksum 0. */
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    uint8_t m[sizeof(v4_msg)];
    unsigned v;
    int found = 0;
    for (v = 0; v < 256 * 256 && !found; v++) {
        memcpy(m, v4_msg, sizeof(m));
        m[1] = (uint8_t)(v >> 8);
        m[2] = (uint8_t)v;
        fix_checksum(&l3, m, sizeof(m));
        found = m[6] == 0 && m[7] == 0;
    }
    CU_ASSERT_TRUE(found);
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_OK);
    m[6] = m[7] = 0xff;
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_OK);
}

static void test_drop_interval_zero(void)
{
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    uint8_t m[sizeof(v4_msg)];
    memcpy(m, v4_msg, sizeof(m));
    m[4] = 0xf0;    /* only reserved bits set: the interval is still 0 */
    m[5] = 0;
    fix_checksum(&l3, m, sizeof(m));
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_DROP_INTERVAL_ZERO);
}

static void test_drop_family(void)
{
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    l3.family = AF_UNIX;
    CU_ASSERT_EQUAL(vrrp_packet_decode(v4_msg, sizeof(v4_msg), &l3, &adv), VRRP_DROP_FAMILY);
}

static void test_check_order(void)
{
    /* TTL is judged before anything in the payload, even an empty one */
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    uint8_t m[sizeof(v4_msg)];
    l3.ttl = 64;
    CU_ASSERT_EQUAL(vrrp_packet_decode(v4_msg, 0, &l3, &adv), VRRP_DROP_TTL);
    /* version before checksum: a v2 packet is counted as "version" */
    l3 = l3_v4();
    memcpy(m, v4_msg, sizeof(m));
    m[0] = 0x21;
    CU_ASSERT_EQUAL(vrrp_packet_decode(m, sizeof(m), &l3, &adv), VRRP_DROP_VERSION);
}

static void test_truncations(void)
{
    struct vrrp_l3 a = l3_v4(), b = l3_v6();
    struct vrrp_advert adv;
    size_t n;
    for (n = 0; n < sizeof(v4_msg); n++)
        CU_ASSERT_EQUAL(decode_copy(v4_msg, n, &a, &adv), VRRP_DROP_LENGTH);
    for (n = 0; n < sizeof(v6_msg); n++)
        CU_ASSERT_EQUAL(decode_copy(v6_msg, n, &b, &adv), VRRP_DROP_LENGTH);
    CU_ASSERT_EQUAL(decode_copy(v4_msg, sizeof(v4_msg), &a, &adv), VRRP_OK);
    CU_ASSERT_EQUAL(decode_copy(v6_msg, sizeof(v6_msg), &b, &adv), VRRP_OK);
}

/* ---- full IPv4 packets, as a raw socket returns them ---- */

static size_t build_ipv4(uint8_t *pkt, size_t ihl, uint8_t ttl, uint8_t proto)
{
    size_t total = ihl + sizeof(v4_msg);
    memset(pkt, 0, ihl);
    pkt[0] = (uint8_t)(0x40 | ihl / 4);
    pkt[2] = (uint8_t)(total >> 8);
    pkt[3] = (uint8_t)total;
    pkt[6] = 0x40;      /* DF, not a fragment */
    pkt[8] = ttl;
    pkt[9] = proto;
    memcpy(pkt + 12, (uint8_t[]){ 198, 51, 100, 10, 224, 0, 0, 18 }, 8);
    memcpy(pkt + ihl, v4_msg, sizeof(v4_msg));
    return total;
}

static void test_ipv4_packet_ok(void)
{
    uint8_t pkt[64];
    struct vrrp_l3 l3;
    struct vrrp_advert adv;
    size_t n = build_ipv4(pkt, 20, 255, 112);
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_OK);
    CU_ASSERT_EQUAL(l3.family, AF_INET);
    CU_ASSERT_EQUAL(l3.ttl, 255);
    CU_ASSERT_EQUAL(memcmp(l3.src, (uint8_t[]){ 198, 51, 100, 10 }, 4), 0);
    CU_ASSERT_EQUAL(adv.vrid, 1);
    /* with IP options (IHL 6) */
    n = build_ipv4(pkt, 24, 255, 112);
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_OK);
    /* bytes beyond the total length are not part of the packet */
    n = build_ipv4(pkt, 20, 255, 112);
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n + 6, &l3, &adv), VRRP_OK);
}

static void test_ipv4_packet_drops(void)
{
    uint8_t pkt[64];
    struct vrrp_l3 l3;
    struct vrrp_advert adv;
    size_t n = build_ipv4(pkt, 20, 64, 112);
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_DROP_TTL);
    n = build_ipv4(pkt, 20, 255, 17);
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_DROP_PROTOCOL);
    n = build_ipv4(pkt, 20, 255, 112);
    pkt[0] = 0x44;      /* IHL 16 bytes: too small */
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_DROP_IP_HEADER);
    pkt[0] = 0x4f;      /* IHL 60 bytes: past the total length */
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_DROP_IP_HEADER);
    pkt[0] = 0x65;      /* IP version 6 */
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_DROP_IP_HEADER);
    n = build_ipv4(pkt, 20, 255, 112);
    pkt[3]++;           /* total length one more than we have */
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_DROP_IP_HEADER);
    pkt[3] -= 2;        /* one less: the VRRP message is short */
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_DROP_LENGTH);
    n = build_ipv4(pkt, 20, 255, 112);
    pkt[6] = 0x20;      /* more fragments */
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_DROP_IP_HEADER);
    pkt[6] = 0x00;
    pkt[7] = 0x01;      /* offset 8 */
    CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(pkt, n, &l3, &adv), VRRP_DROP_IP_HEADER);
}

static void test_ipv4_packet_truncations(void)
{
    uint8_t pkt[64], *p;
    struct vrrp_l3 l3;
    struct vrrp_advert adv;
    size_t n = build_ipv4(pkt, 24, 255, 112), i;
    for (i = 0; i < n; i++) {
        p = malloc(i ? i : 1);
        memcpy(p, pkt, i);
        CU_ASSERT_EQUAL(vrrp_packet_decode_ipv4(p, i, &l3, &adv), VRRP_DROP_IP_HEADER);
        free(p);
    }
}

/* ---- caller-side checks ---- */

static void test_accept(void)
{
    struct vrrp_l3 l3 = l3_v4();
    struct vrrp_advert adv;
    const uint8_t mine[8] = { 198, 51, 100, 2, 198, 51, 100, 1 };
    CU_ASSERT_EQUAL(vrrp_packet_decode(v4_msg, sizeof(v4_msg), &l3, &adv), VRRP_OK);
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 1, 100, NULL, 0), VRRP_OK);
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 2, 100, NULL, 0), VRRP_DROP_VRID);
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 0, 100, NULL, 0), VRRP_DROP_VRID);
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 1, 255, NULL, 0), VRRP_DROP_OWNER);
    /* optional address-list check: same set passes, others do not */
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 1, 100, mine + 4, 1), VRRP_OK);
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 1, 100, mine, 1), VRRP_DROP_ADDR_LIST);
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 1, 100, mine, 2), VRRP_DROP_ADDR_LIST);
    /* ... unless the sender is the address owner */
    adv.priority = 255;
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 1, 100, mine, 2), VRRP_OK);
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_UNIX, 1, 100, NULL, 0), VRRP_DROP_FAMILY);
}

static void test_accept_addr_order(void)
{
    const uint8_t a[8] = { 10, 0, 0, 1, 10, 0, 0, 2 }, b[8] = { 10, 0, 0, 2, 10, 0, 0, 1 };
    const uint8_t dup[8] = { 10, 0, 0, 1, 10, 0, 0, 1 };
    struct vrrp_advert adv = { .vrid = 9, .priority = 50, .naddrs = 2,
                               .max_adver_int_cs = 100, .addrs = a };
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 9, 100, b, 2), VRRP_OK);
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 9, 100, dup, 2), VRRP_DROP_ADDR_LIST);
    adv.addrs = dup;
    CU_ASSERT_EQUAL(vrrp_packet_accept(&adv, AF_INET, 9, 100, a, 2), VRRP_DROP_ADDR_LIST);
}

static void test_drop_names(void)
{
    int i, j;
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name(VRRP_DROP_TTL), "ttl");
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name(VRRP_DROP_VERSION), "version");
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name(VRRP_DROP_TYPE), "type");
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name(VRRP_DROP_LENGTH), "length");
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name(VRRP_DROP_CHECKSUM), "checksum");
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name(VRRP_DROP_VRID), "vrid");
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name(VRRP_DROP_ADDR_COUNT), "addr_count");
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name(VRRP_DROP_INTERVAL_ZERO), "interval_zero");
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name(VRRP_DROP_COUNT), "unknown");
    CU_ASSERT_STRING_EQUAL(vrrp_drop_name((enum vrrp_drop)-1), "unknown");
    for (i = 0; i < VRRP_DROP_COUNT; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(vrrp_drop_name((enum vrrp_drop)i));
        for (j = 0; j < i; j++)
            CU_ASSERT_STRING_NOT_EQUAL(vrrp_drop_name((enum vrrp_drop)i),
                                       vrrp_drop_name((enum vrrp_drop)j));
    }
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_checksum_reference),
    UNIT_TEST(test_checksum_covers_pseudo_header),
    UNIT_TEST(test_encode_ipv4_vector),
    UNIT_TEST(test_encode_ipv6_vector),
    UNIT_TEST(test_decode_ipv4_vector),
    UNIT_TEST(test_decode_ipv6_vector),
    UNIT_TEST(test_round_trip_max),
    UNIT_TEST(test_round_trip_ipv4_many),
    UNIT_TEST(test_encode_errors),
    UNIT_TEST(test_reserved_bits_ignored),
    UNIT_TEST(test_drop_ttl),
    UNIT_TEST(test_drop_version),
    UNIT_TEST(test_drop_type),
    UNIT_TEST(test_drop_length),
    UNIT_TEST(test_drop_addr_count),
    UNIT_TEST(test_drop_checksum),
    UNIT_TEST(test_checksum_zero_forms),
    UNIT_TEST(test_drop_interval_zero),
    UNIT_TEST(test_drop_family),
    UNIT_TEST(test_check_order),
    UNIT_TEST(test_truncations),
    UNIT_TEST(test_ipv4_packet_ok),
    UNIT_TEST(test_ipv4_packet_drops),
    UNIT_TEST(test_ipv4_packet_truncations),
    UNIT_TEST(test_accept),
    UNIT_TEST(test_accept_addr_order),
    UNIT_TEST(test_drop_names),
    { 0 },
};

int main(void)
{
    return unit_run("vrrp_packet", tests);
}
