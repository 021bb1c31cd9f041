/* test_proxy_proto.c - PROXY protocol v1/v2 vectors built by hand from
 * proxy-protocol.txt: valid headers, every truncation (needs more), every
 * corruption we can name (refused), writer/parser round trips. */
#include "config.h"
#include "unit.h"
#include "proxy_proto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static struct proxy_proto_info info;

static int parse_str(const char *s)
{
    return proxy_proto_parse((const uint8_t *)s, strlen(s), &info);
}

static void check_v4(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
    struct in_addr want;
    CU_ASSERT_EQUAL_FATAL(ss->ss_family, AF_INET);
    inet_pton(AF_INET, ip, &want);
    CU_ASSERT_EQUAL(s->sin_addr.s_addr, want.s_addr);
    CU_ASSERT_EQUAL(ntohs(s->sin_port), port);
}

static void check_v6(const struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
    struct in6_addr want;
    CU_ASSERT_EQUAL_FATAL(ss->ss_family, AF_INET6);
    inet_pton(AF_INET6, ip, &want);
    CU_ASSERT_EQUAL(memcmp(&s->sin6_addr, &want, 16), 0);
    CU_ASSERT_EQUAL(ntohs(s->sin6_port), port);
}

/* Every strict prefix of a valid header asks for more bytes. */
static void truncations_need_more(const uint8_t *h, size_t len)
{
    for (size_t n = 0; n < len; n++)
        CU_ASSERT_EQUAL(proxy_proto_parse(h, n, &info), 0);
    CU_ASSERT_EQUAL(proxy_proto_parse(h, len, &info), (int)len);
}

static const char v1_tcp4[] = "PROXY TCP4 198.51.100.22 198.51.100.100 35646 443\r\n";
static const char v1_tcp6[] = "PROXY TCP6 2001:db8::22 2001:db8::100 35646 443\r\n";

static void test_v1_valid(void)
{
    CU_ASSERT_EQUAL(parse_str(v1_tcp4), (int)strlen(v1_tcp4));
    CU_ASSERT_EQUAL(info.version, 1);
    CU_ASSERT_EQUAL(info.local, 0);
    check_v4(&info.src, "198.51.100.22", 35646);
    check_v4(&info.dst, "198.51.100.100", 443);
    CU_ASSERT_EQUAL(parse_str(v1_tcp6), (int)strlen(v1_tcp6));
    check_v6(&info.src, "2001:db8::22", 35646);
    check_v6(&info.dst, "2001:db8::100", 443);
    CU_ASSERT_EQUAL(parse_str("PROXY UNKNOWN\r\n"), 15);
    CU_ASSERT_EQUAL(info.local, 1);
    CU_ASSERT_EQUAL(parse_str("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), 35);
    CU_ASSERT_EQUAL(info.local, 1);
    /* data after the header is not consumed */
    CU_ASSERT_EQUAL(parse_str("PROXY TCP4 198.51.100.1 198.51.100.2 1 2\r\nGET / HTTP/1.1\r\n"), 42);
}

static void test_v1_longest(void)
{
    const char *h = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    char unk[PROXY_PROTO_V1_MAX + 1];
    CU_ASSERT_EQUAL(strlen(h), 104);            /* the spec's longest TCP6 line */
    CU_ASSERT_EQUAL(parse_str(h), 104);
    /* UNKNOWN may carry anything up to the 107-byte bound */
    memset(unk, 'x', sizeof(unk));
    memcpy(unk, "PROXY UNKNOWN ", 14);
    memcpy(unk + PROXY_PROTO_V1_MAX - 2, "\r\n", 3);
    CU_ASSERT_EQUAL(parse_str(unk), PROXY_PROTO_V1_MAX);
}

static void test_v1_truncated(void)
{
    truncations_need_more((const uint8_t *)v1_tcp4, strlen(v1_tcp4));
    truncations_need_more((const uint8_t *)v1_tcp6, strlen(v1_tcp6));
}

static void test_v1_corrupted(void)
{
    static const char *const bad[] = {
        "PROXY TCP4 198.51.100.22 198.51.100.100 35646 443\n",
        "PROXY TCP4 198.51.100.22 198.51.100.100 35646 443\r\r\n",
        "PROXY  TCP4 198.51.100.22 198.51.100.100 35646 443\r\n",
        "PROXY TCP4 198.51.100.22  198.51.100.100 35646 443\r\n",
        "PROXY TCP4 198.51.100.22 198.51.100.100 35646 443 \r\n",
        "PROXY TCP4 198.51.100.22 198.51.100.100 35646\r\n",
        "PROXY TCP5 198.51.100.22 198.51.100.100 35646 443\r\n",
        "PROXY tcp4 198.51.100.22 198.51.100.100 35646 443\r\n",
        "PROXY TCP4 198.51.100.256 198.51.100.100 35646 443\r\n",
        "PROXY TCP4 198.51.100 198.51.100.100 35646 443\r\n",
        "PROXY TCP4 2001:db8::1 198.51.100.100 35646 443\r\n",
        "PROXY TCP6 198.51.100.22 2001:db8::1 35646 443\r\n",
        "PROXY TCP4 198.51.100.22 198.51.100.100 65536 443\r\n",
        "PROXY TCP4 198.51.100.22 198.51.100.100 035646 443\r\n",
        "PROXY TCP4 198.51.100.22 198.51.100.100 -1 443\r\n",
        "PROXY TCP4 198.51.100.22 198.51.100.100 +1 443\r\n",
        "PROXY TCP4 198.51.100.22 198.51.100.100 1a 443\r\n",
        "PROXY UNKNOWNX\r\n",
        "PROXY\r\n",
        "PROXY \r\n",
        "proxy TCP4 198.51.100.22 198.51.100.100 35646 443\r\n",
        "GET / HTTP/1.1\r\n",
        "PROXX",
        NULL
    };
    for (int i = 0; bad[i]; i++)
        CU_ASSERT_EQUAL(parse_str(bad[i]), -1);
    /* no CRLF within 107 bytes */
    char longline[200];
    memset(longline, '1', sizeof(longline));
    memcpy(longline, "PROXY TCP4 ", 11);
    CU_ASSERT_EQUAL(proxy_proto_parse((uint8_t *)longline, 106, &info), 0);
    CU_ASSERT_EQUAL(proxy_proto_parse((uint8_t *)longline, 107, &info), -1);
    CU_ASSERT_EQUAL(proxy_proto_parse((uint8_t *)longline, sizeof(longline), &info), -1);
}

/* v2 vectors: 12-byte signature, ver/cmd, fam/proto, length, addresses. */
#define SIG 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a

static const uint8_t v2_tcp4[] = {
    SIG, 0x21, 0x11, 0x00, 0x0c,
    198, 51, 100, 22,  198, 51, 100, 100,  0x8b, 0x3e,  0x01, 0xbb,
};
static const uint8_t v2_tcp6_tlv[] = {
    SIG, 0x21, 0x21, 0x00, 0x24 + 7,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
    0x8b, 0x3e, 0x01, 0xbb,
    0x04, 0x00, 0x00,                 /* PP2_TYPE_NOOP, empty */
    0x01, 0x00, 0x01, 'h',            /* PP2_TYPE_ALPN "h" */
};
static const uint8_t v2_local[] = { SIG, 0x20, 0x00, 0x00, 0x00 };

static void test_v2_valid(void)
{
    CU_ASSERT_EQUAL(proxy_proto_parse(v2_tcp4, sizeof(v2_tcp4), &info), (int)sizeof(v2_tcp4));
    CU_ASSERT_EQUAL(info.version, 2);
    CU_ASSERT_EQUAL(info.local, 0);
    check_v4(&info.src, "198.51.100.22", 35646);
    check_v4(&info.dst, "198.51.100.100", 443);
    CU_ASSERT_EQUAL(proxy_proto_parse(v2_tcp6_tlv, sizeof(v2_tcp6_tlv), &info), (int)sizeof(v2_tcp6_tlv));
    check_v6(&info.src, "2001:db8::22", 35646);
    check_v6(&info.dst, "2001:db8::100", 443);
    CU_ASSERT_EQUAL(proxy_proto_parse(v2_local, sizeof(v2_local), &info), 16);
    CU_ASSERT_EQUAL(info.local, 1);
}

static void test_v2_unix_is_local(void)
{
    uint8_t h[16 + 216] = { SIG, 0x21, 0x31, 0x00, 0xd8 };
    CU_ASSERT_EQUAL(proxy_proto_parse(h, sizeof(h), &info), (int)sizeof(h));
    CU_ASSERT_EQUAL(info.local, 1);
    h[15] = 0x10;                     /* too short for two UNIX paths */
    CU_ASSERT_EQUAL(proxy_proto_parse(h, 16 + 0x10, &info), -1);
    uint8_t unspec[] = { SIG, 0x21, 0x00, 0x00, 0x00 };
    CU_ASSERT_EQUAL(proxy_proto_parse(unspec, sizeof(unspec), &info), 16);
    CU_ASSERT_EQUAL(info.local, 1);
}

static void test_v2_truncated(void)
{
    truncations_need_more(v2_tcp4, sizeof(v2_tcp4));
    truncations_need_more(v2_tcp6_tlv, sizeof(v2_tcp6_tlv));
    truncations_need_more(v2_local, sizeof(v2_local));
}

static int corrupt(const uint8_t *base, size_t len, size_t at, uint8_t val)
{
    uint8_t h[128];
    memcpy(h, base, len);
    h[at] = val;
    return proxy_proto_parse(h, len, &info);
}

static void test_v2_corrupted(void)
{
    for (size_t i = 0; i < 12; i++)
        CU_ASSERT_EQUAL(corrupt(v2_tcp4, sizeof(v2_tcp4), i, (uint8_t)(v2_tcp4[i] ^ 0x40)), -1);
    CU_ASSERT_EQUAL(corrupt(v2_tcp4, sizeof(v2_tcp4), 12, 0x11), -1);   /* version 1 */
    CU_ASSERT_EQUAL(corrupt(v2_tcp4, sizeof(v2_tcp4), 12, 0x31), -1);   /* version 3 */
    CU_ASSERT_EQUAL(corrupt(v2_tcp4, sizeof(v2_tcp4), 12, 0x22), -1);   /* command 2 */
    CU_ASSERT_EQUAL(corrupt(v2_tcp4, sizeof(v2_tcp4), 13, 0x41), -1);   /* family 4 */
    CU_ASSERT_EQUAL(corrupt(v2_tcp4, sizeof(v2_tcp4), 13, 0x13), -1);   /* transport 3 */
    CU_ASSERT_EQUAL(corrupt(v2_tcp4, sizeof(v2_tcp4), 13, 0x10), -1);   /* INET, UNSPEC transport */
    CU_ASSERT_EQUAL(corrupt(v2_tcp4, sizeof(v2_tcp4), 13, 0x01), -1);   /* UNSPEC, STREAM */
    CU_ASSERT_EQUAL(corrupt(v2_tcp4, sizeof(v2_tcp4), 15, 0x0b), -1);   /* INET needs 12 */
    uint8_t h[sizeof(v2_tcp4)];
    memcpy(h, v2_tcp4, sizeof(h));
    h[13] = 0x21;
    h[15] = 0x0c;
    CU_ASSERT_EQUAL(proxy_proto_parse(h, sizeof(h), &info), -1);       /* INET6 with 12 bytes */
    /* a TLV running past the block */
    CU_ASSERT_EQUAL(corrupt(v2_tcp6_tlv, sizeof(v2_tcp6_tlv), sizeof(v2_tcp6_tlv) - 2, 0x02), -1);
    /* a TLV cut short of its 3-byte header */
    uint8_t t[sizeof(v2_tcp4) + 2];
    memcpy(t, v2_tcp4, sizeof(v2_tcp4));
    t[15] = 14;
    t[sizeof(v2_tcp4)] = 0x04;
    t[sizeof(v2_tcp4) + 1] = 0x00;
    CU_ASSERT_EQUAL(proxy_proto_parse(t, sizeof(t), &info), -1);
}

static void fill4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof(*ss));
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    inet_pton(AF_INET, ip, &s->sin_addr);
}

static void fill6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    s->sin6_family = AF_INET6;
    s->sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &s->sin6_addr);
}

static void test_roundtrip_v4(void)
{
    struct sockaddr_storage src, dst;
    char t[PROXY_PROTO_V1_MAX + 1];
    uint8_t b[64];
    size_t n;
    fill4(&src, "198.51.100.7", 50000);
    fill4(&dst, "198.51.100.100", 80);
    n = proxy_proto_write_v1(t, sizeof(t), (struct sockaddr *)&src, (struct sockaddr *)&dst);
    CU_ASSERT_EQUAL(n, strlen("PROXY TCP4 198.51.100.7 198.51.100.100 50000 80\r\n"));
    CU_ASSERT_EQUAL(proxy_proto_parse((uint8_t *)t, n, &info), (int)n);
    check_v4(&info.src, "198.51.100.7", 50000);
    check_v4(&info.dst, "198.51.100.100", 80);
    n = proxy_proto_write_v2(b, sizeof(b), (struct sockaddr *)&src, (struct sockaddr *)&dst);
    CU_ASSERT_EQUAL(n, 28);
    CU_ASSERT_EQUAL(proxy_proto_parse(b, n, &info), 28);
    check_v4(&info.src, "198.51.100.7", 50000);
    check_v4(&info.dst, "198.51.100.100", 80);
    CU_ASSERT_EQUAL(proxy_proto_write_v1(t, 10, (struct sockaddr *)&src, (struct sockaddr *)&dst), 0);
    CU_ASSERT_EQUAL(proxy_proto_write_v2(b, 27, (struct sockaddr *)&src, (struct sockaddr *)&dst), 0);
}

static void test_roundtrip_v6_and_mixed(void)
{
    struct sockaddr_storage src, dst;
    char t[PROXY_PROTO_V1_MAX + 1];
    uint8_t b[64];
    size_t n;
    fill6(&src, "2001:db8::7", 50000);
    fill6(&dst, "2001:db8::100", 443);
    n = proxy_proto_write_v1(t, sizeof(t), (struct sockaddr *)&src, (struct sockaddr *)&dst);
    CU_ASSERT_EQUAL(proxy_proto_parse((uint8_t *)t, n, &info), (int)n);
    check_v6(&info.src, "2001:db8::7", 50000);
    check_v6(&info.dst, "2001:db8::100", 443);
    n = proxy_proto_write_v2(b, sizeof(b), (struct sockaddr *)&src, (struct sockaddr *)&dst);
    CU_ASSERT_EQUAL(n, 52);
    CU_ASSERT_EQUAL(proxy_proto_parse(b, n, &info), 52);
    check_v6(&info.src, "2001:db8::7", 50000);
    /* mixed: IPv4 client to an IPv6 listener */
    fill4(&src, "198.51.100.7", 50000);
    n = proxy_proto_write_v1(t, sizeof(t), (struct sockaddr *)&src, (struct sockaddr *)&dst);
    CU_ASSERT_EQUAL(proxy_proto_parse((uint8_t *)t, n, &info), (int)n);
    check_v6(&info.src, "::ffff:198.51.100.7", 50000);
    n = proxy_proto_write_v2(b, sizeof(b), (struct sockaddr *)&src, (struct sockaddr *)&dst);
    CU_ASSERT_EQUAL(proxy_proto_parse(b, n, &info), (int)n);
    check_v6(&info.src, "::ffff:198.51.100.7", 50000);
    /* an unsupported family becomes UNKNOWN / LOCAL */
    struct sockaddr_storage un = { .ss_family = AF_UNIX };
    n = proxy_proto_write_v1(t, sizeof(t), (struct sockaddr *)&un, (struct sockaddr *)&dst);
    CU_ASSERT_EQUAL(n, 15);
    CU_ASSERT_EQUAL(proxy_proto_parse((uint8_t *)t, n, &info), 15);
    CU_ASSERT_EQUAL(info.local, 1);
    n = proxy_proto_write_v2(b, sizeof(b), (struct sockaddr *)&un, (struct sockaddr *)&dst);
    CU_ASSERT_EQUAL(proxy_proto_parse(b, n, &info), 16);
    CU_ASSERT_EQUAL(info.local, 1);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_v1_valid),
    UNIT_TEST(test_v1_longest),
    UNIT_TEST(test_v1_truncated),
    UNIT_TEST(test_v1_corrupted),
    UNIT_TEST(test_v2_valid),
    UNIT_TEST(test_v2_unix_is_local),
    UNIT_TEST(test_v2_truncated),
    UNIT_TEST(test_v2_corrupted),
    UNIT_TEST(test_roundtrip_v4),
    UNIT_TEST(test_roundtrip_v6_and_mixed),
    {0}
};

int main(void)
{
    return unit_run("proxy_proto", tests);
}
