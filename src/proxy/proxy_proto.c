/* proxy_proto.c - PROXY protocol v1/v2 codec (proxy_proto.h). Anything not
 * exactly as HAProxy's proxy-protocol.txt specifies is refused: the header
 * decides which client address the proxy trusts. */
#include "config.h"
#include "proxy_proto.h"
#include "addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v2_sig[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define V2_HDR     16
#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1
#define V2_FAM_UNSPEC 0x0
#define V2_FAM_INET   0x1
#define V2_FAM_INET6  0x2
#define V2_FAM_UNIX   0x3
#define V2_ADDR_INET  12
#define V2_ADDR_INET6 36
#define V2_ADDR_UNIX  216

/* ---- v1 ------------------------------------------------------------------ */

/* Copies the next space-terminated field of [*p, end) into buf (NUL
 * terminated). Returns 0, or -1 if empty, too long or not followed by the
 * expected separator. The last field ends at end. */
static int v1_field(const char **p, const char *end, int last, char *buf, size_t cap)
{
    const char *s = *p, *e = s;
    while (e < end && *e != ' ')
        e++;
    if (e == s || (size_t)(e - s) >= cap)
        return -1;
    if (last ? e != end : e == end)
        return -1;
    memcpy(buf, s, (size_t)(e - s));
    buf[e - s] = '\0';
    *p = last ? e : e + 1;
    return 0;
}

/* Decimal 0..65535, no sign, no leading zero (the spec's form). */
static int v1_port(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* Fills sa from text address and port for family af. */
static int v1_addr(int af, const char *ip, const char *port, struct sockaddr_storage *ss)
{
    uint16_t p;
    memset(ss, 0, sizeof(*ss));
    if (v1_port(port, &p) < 0)
        return -1;
    if (af == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(p);
        return inet_pton(AF_INET, ip, &sin->sin_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(p);
    return inet_pton(AF_INET6, ip, &sin6->sin6_addr) == 1 ? 0 : -1;
}

/* "TCP4 a b p q" or "TCP6 ..." between "PROXY " and CRLF. */
static int v1_parse_addrs(const char *s, const char *end, struct proxy_proto_info *out)
{
    char proto[8], sip[INET6_ADDRSTRLEN], dip[INET6_ADDRSTRLEN], sport[8], dport[8];
    const char *p = s;
    int af;

    if (v1_field(&p, end, 0, proto, sizeof(proto)) < 0)
        return -1;
    if (strcmp(proto, "TCP4") == 0)
        af = AF_INET;
    else if (strcmp(proto, "TCP6") == 0)
        af = AF_INET6;
    else
        return -1;
    if (v1_field(&p, end, 0, sip, sizeof(sip)) < 0 ||
        v1_field(&p, end, 0, dip, sizeof(dip)) < 0 ||
        v1_field(&p, end, 0, sport, sizeof(sport)) < 0 ||
        v1_field(&p, end, 1, dport, sizeof(dport)) < 0)
        return -1;
    if (v1_addr(af, sip, sport, &out->src) < 0 || v1_addr(af, dip, dport, &out->dst) < 0)
        return -1;
    return 0;
}

static int v1_parse(const uint8_t *buf, size_t len, struct proxy_proto_info *out)
{
    static const char prefix[] = "PROXY ";
    size_t n = len < PROXY_PROTO_V1_MAX ? len : PROXY_PROTO_V1_MAX;
    const uint8_t *lf;
    const char *s = (const char *)buf, *end;

    if (memcmp(buf, prefix, len < 6 ? len : 6) != 0)
        return -1;
    lf = memchr(buf, '\n', n);
    if (!lf)
        return len >= PROXY_PROTO_V1_MAX ? -1 : 0;
    if (lf == buf || lf[-1] != '\r' || lf - buf < 7)
        return -1;
    end = (const char *)lf - 1;                 /* at the CR */
    if (memchr(s, '\r', (size_t)(end - s)) || memchr(s, '\0', (size_t)(end - s)))
        return -1;
    memset(out, 0, sizeof(*out));
    out->version = 1;
    s += 6;
    /* UNKNOWN: the rest of the line carries nothing we may trust. */
    if (end - s >= 7 && memcmp(s, "UNKNOWN", 7) == 0 && (end - s == 7 || s[7] == ' ')) {
        out->local = 1;
        return (int)(lf - buf) + 1;
    }
    if (v1_parse_addrs(s, end, out) < 0)
        return -1;
    return (int)(lf - buf) + 1;
}

/* ---- v2 ------------------------------------------------------------------ */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

/* TLVs (type, 16-bit length, value) must tile the rest of the block exactly. */
static int v2_check_tlvs(const uint8_t *p, size_t len)
{
    while (len > 0) {
        size_t tl;
        if (len < 3)
            return -1;
        tl = get16(p + 1);
        if (tl > len - 3)
            return -1;
        p += 3 + tl;
        len -= 3 + tl;
    }
    return 0;
}

static int v2_addrs(uint8_t fam, const uint8_t *a, size_t alen, struct proxy_proto_info *out)
{
    if (fam == V2_FAM_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
        struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;
        if (alen < V2_ADDR_INET)
            return -1;
        s->sin_family = d->sin_family = AF_INET;
        memcpy(&s->sin_addr, a, 4);
        memcpy(&d->sin_addr, a + 4, 4);
        memcpy(&s->sin_port, a + 8, 2);
        memcpy(&d->sin_port, a + 10, 2);
        return v2_check_tlvs(a + V2_ADDR_INET, alen - V2_ADDR_INET);
    }
    if (fam == V2_FAM_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
        struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;
        if (alen < V2_ADDR_INET6)
            return -1;
        s->sin6_family = d->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, a, 16);
        memcpy(&d->sin6_addr, a + 16, 16);
        memcpy(&s->sin6_port, a + 32, 2);
        memcpy(&d->sin6_port, a + 34, 2);
        return v2_check_tlvs(a + V2_ADDR_INET6, alen - V2_ADDR_INET6);
    }
    if (fam == V2_FAM_UNIX) {
        if (alen < V2_ADDR_UNIX)
            return -1;
        out->local = 1;
        return v2_check_tlvs(a + V2_ADDR_UNIX, alen - V2_ADDR_UNIX);
    }
    out->local = 1;                   /* UNSPEC: use the real endpoints */
    return 0;
}

static int v2_parse(const uint8_t *buf, size_t len, struct proxy_proto_info *out)
{
    uint8_t ver_cmd, fam, proto;
    size_t alen;

    if (memcmp(buf, v2_sig, len < 12 ? len : 12) != 0)
        return -1;
    if (len >= 13 && ((buf[12] >> 4) != 2 || (buf[12] & 0xf) > V2_CMD_PROXY))
        return -1;
    if (len >= 14 && ((buf[13] >> 4) > V2_FAM_UNIX || (buf[13] & 0xf) > 2 ||
                      ((buf[13] >> 4) == V2_FAM_UNSPEC) != ((buf[13] & 0xf) == 0)))
        return -1;
    if (len < V2_HDR)
        return 0;
    alen = get16(buf + 14);
    if (len < V2_HDR + alen)
        return 0;
    ver_cmd = buf[12];
    fam = buf[13] >> 4;
    proto = buf[13] & 0xf;
    (void)proto;
    memset(out, 0, sizeof(*out));
    out->version = 2;
    if ((ver_cmd & 0xf) == V2_CMD_LOCAL) {
        out->local = 1;
        return (int)(V2_HDR + alen);
    }
    if (v2_addrs(fam, buf + V2_HDR, alen, out) < 0)
        return -1;
    return (int)(V2_HDR + alen);
}

int proxy_proto_parse(const uint8_t *buf, size_t len, struct proxy_proto_info *out)
{
    if (len == 0)
        return 0;
    if (buf[0] == 'P')
        return v1_parse(buf, len, out);
    if (buf[0] == v2_sig[0])
        return v2_parse(buf, len, out);
    return -1;
}

/* ---- writers ------------------------------------------------------------- */

/* Both endpoints as the same family: IPv4 when both are, else IPv6 with
 * IPv4 addresses mapped (::ffff:a.b.c.d). Returns the family or 0. */
struct pp_pair {
    int af;
    uint8_t src[16], dst[16];
    uint16_t sport, dport;   /* network order */
};

/* One side of a header: 4 bytes for an all-IPv4 header, else 16. */
static int pp_one(const struct sockaddr *sa, int af, uint8_t *ip, uint16_t *port)
{
    if (af == AF_INET && sa->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)sa;
        memcpy(ip, &s->sin_addr, 4);
        *port = s->sin_port;
        return 0;
    }
    return addr_to_v6(sa, ip, port);
}

static int pp_pair_fill(const struct sockaddr *src, const struct sockaddr *dst,
                        struct pp_pair *pp)
{
    if (!src || !dst)
        return -1;
    pp->af = (src->sa_family == AF_INET && dst->sa_family == AF_INET) ? AF_INET : AF_INET6;
    if (pp_one(src, pp->af, pp->src, &pp->sport) < 0 ||
        pp_one(dst, pp->af, pp->dst, &pp->dport) < 0)
        return -1;
    return 0;
}

size_t proxy_proto_write_v1(char *out, size_t cap, const struct sockaddr *src,
                            const struct sockaddr *dst)
{
    struct pp_pair pp;
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    int n;

    if (pp_pair_fill(src, dst, &pp) < 0) {
        n = snprintf(out, cap, "PROXY UNKNOWN\r\n");
    } else {
        inet_ntop(pp.af, pp.src, s, sizeof(s));
        inet_ntop(pp.af, pp.dst, d, sizeof(d));
        n = snprintf(out, cap, "PROXY %s %s %s %u %u\r\n", pp.af == AF_INET ? "TCP4" : "TCP6",
                     s, d, ntohs(pp.sport), ntohs(pp.dport));
    }
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

size_t proxy_proto_write_v2(uint8_t *out, size_t cap, const struct sockaddr *src,
                            const struct sockaddr *dst)
{
    struct pp_pair pp;
    size_t alen, alen_one;

    if (pp_pair_fill(src, dst, &pp) < 0) {
        if (cap < V2_HDR)
            return 0;
        memcpy(out, v2_sig, 12);
        out[12] = 0x20 | V2_CMD_LOCAL;
        out[13] = 0;
        out[14] = out[15] = 0;
        return V2_HDR;
    }
    alen = pp.af == AF_INET ? V2_ADDR_INET : V2_ADDR_INET6;
    alen_one = pp.af == AF_INET ? 4 : 16;
    if (cap < V2_HDR + alen)
        return 0;
    memcpy(out, v2_sig, 12);
    out[12] = 0x20 | V2_CMD_PROXY;
    out[13] = (uint8_t)(((pp.af == AF_INET ? V2_FAM_INET : V2_FAM_INET6) << 4) | 0x1);
    out[14] = 0;
    out[15] = (uint8_t)alen;
    memcpy(out + V2_HDR, pp.src, alen_one);
    memcpy(out + V2_HDR + alen_one, pp.dst, alen_one);
    memcpy(out + V2_HDR + 2 * alen_one, &pp.sport, 2);
    memcpy(out + V2_HDR + 2 * alen_one + 2, &pp.dport, 2);
    return V2_HDR + alen;
}
