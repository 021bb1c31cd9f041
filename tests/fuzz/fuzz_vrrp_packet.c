/* fuzz-sources: src/vrrp/vrrp_packet.c */
/* fuzz_vrrp_packet.c - libFuzzer target for the VRRPv3 decoder.
 *
 * Input layout: byte 0 selects the path (bit 0: full IPv4 packet or bare
 * VRRP message; bit 1: IPv6 or IPv4 facts for the bare path), byte 1 is
 * the TTL for the bare path, the rest is the packet. The payload is copied
 * to an exact-size buffer so ASan sees any read past its end. A decoded
 * advert is re-encoded and must decode to the same fields. */
#include "vrrp_packet.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct vrrp_advert *adv, const struct vrrp_l3 *l3)
{
    static uint8_t buf[VRRP_PACKET_MAX];
    struct vrrp_l3 tx = *l3;
    struct vrrp_advert again;
    int n = vrrp_packet_encode(adv, &tx, buf, sizeof(buf));

    if (n < 0)
        abort();
    tx.ttl = VRRP_TTL;
    if (vrrp_packet_decode(buf, (size_t)n, &tx, &again) != VRRP_OK)
        abort();
    if (again.vrid != adv->vrid || again.priority != adv->priority ||
        again.naddrs != adv->naddrs || again.max_adver_int_cs != adv->max_adver_int_cs ||
        memcmp(again.addrs, adv->addrs, adv->naddrs * vrrp_addr_len(l3->family)) != 0)
        abort();
    (void)vrrp_packet_accept(&again, l3->family, adv->vrid, 100, adv->addrs, adv->naddrs);
}

static void fill_l3(struct vrrp_l3 *l3, int v6, uint8_t ttl)
{
    static const uint8_t src6[16] = { 0xfe, 0x80, [15] = 1 };
    static const uint8_t dst6[16] = { 0xff, 0x02, [15] = 0x12 };
    static const uint8_t src4[4] = { 198, 51, 100, 10 }, dst4[4] = { 224, 0, 0, 18 };

    memset(l3, 0, sizeof(*l3));
    l3->family = v6 ? AF_INET6 : AF_INET;
    l3->ttl = ttl;
    memcpy(l3->src, v6 ? src6 : src4, v6 ? 16 : 4);
    memcpy(l3->dst, v6 ? dst6 : dst4, v6 ? 16 : 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vrrp_l3 l3;
    struct vrrp_advert adv;
    enum vrrp_drop r;
    uint8_t *p;
    size_t n;

    if (size < 2)
        return 0;
    n = size - 2;
    p = malloc(n ? n : 1);
    if (!p)
        return 0;
    memcpy(p, data + 2, n);
    if (data[0] & 1) {
        r = vrrp_packet_decode_ipv4(p, n, &l3, &adv);
    } else {
        fill_l3(&l3, data[0] & 2, data[1]);
        r = vrrp_packet_decode(p, n, &l3, &adv);
    }
    if ((unsigned)r >= VRRP_DROP_COUNT || !vrrp_drop_name(r))
        abort();
    if (r == VRRP_OK)
        check_round_trip(&adv, &l3);
    free(p);
    return 0;
}
