/* test_units.c - durations, sizes and addresses as written in config files. */
#include "config.h"
#include "unit.h"
#include "units.h"
#include "addr.h"

#include <string.h>

static void test_duration_units(void)
{
    uint64_t v;
    const char *err;
    CU_ASSERT_EQUAL(parse_duration_ms("250ms", &v, &err), 0); CU_ASSERT_EQUAL(v, 250);
    CU_ASSERT_EQUAL(parse_duration_ms("5s", &v, &err), 0); CU_ASSERT_EQUAL(v, 5000);
    CU_ASSERT_EQUAL(parse_duration_ms("30m", &v, &err), 0); CU_ASSERT_EQUAL(v, 1800000);
    CU_ASSERT_EQUAL(parse_duration_ms("2h", &v, &err), 0); CU_ASSERT_EQUAL(v, 7200000);
    CU_ASSERT_EQUAL(parse_duration_ms("1d", &v, &err), 0); CU_ASSERT_EQUAL(v, 86400000);
    CU_ASSERT_EQUAL(parse_duration_ms("1500", &v, &err), 0); CU_ASSERT_EQUAL(v, 1500);
    CU_ASSERT_EQUAL(parse_duration_ms("0s", &v, &err), 0); CU_ASSERT_EQUAL(v, 0);
}

static void test_duration_errors(void)
{
    uint64_t v;
    const char *err = NULL;
    CU_ASSERT_EQUAL(parse_duration_ms("", &v, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(err);
    CU_ASSERT_EQUAL(parse_duration_ms("s", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_duration_ms("-5s", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_duration_ms("5 s", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_duration_ms("5sec", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_duration_ms("1.5s", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_duration_ms("99999999999999999999ms", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_duration_ms("999999999999999999d", &v, &err), -1);
}

static void test_size_units(void)
{
    uint64_t v;
    const char *err;
    CU_ASSERT_EQUAL(parse_size("512", &v, &err), 0); CU_ASSERT_EQUAL(v, 512);
    CU_ASSERT_EQUAL(parse_size("16k", &v, &err), 0); CU_ASSERT_EQUAL(v, 16384);
    CU_ASSERT_EQUAL(parse_size("16K", &v, &err), 0); CU_ASSERT_EQUAL(v, 16384);
    CU_ASSERT_EQUAL(parse_size("4m", &v, &err), 0); CU_ASSERT_EQUAL(v, 4194304);
    CU_ASSERT_EQUAL(parse_size("1g", &v, &err), 0); CU_ASSERT_EQUAL(v, 1073741824);
    CU_ASSERT_EQUAL(parse_size("8kb", &v, &err), 0); CU_ASSERT_EQUAL(v, 8192);
    CU_ASSERT_EQUAL(parse_size("100b", &v, &err), 0); CU_ASSERT_EQUAL(v, 100);
    CU_ASSERT_EQUAL(parse_size("k", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_size("16x", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_size("16kk", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_size("99999999999999999999g", &v, &err), -1);
    CU_ASSERT_EQUAL(parse_size("18014398509481984g", &v, &err), -1);
}

static void test_duration_format(void)
{
    char buf[32];
    CU_ASSERT_STRING_EQUAL(format_duration_ms(250, buf, sizeof(buf)), "250ms");
    CU_ASSERT_STRING_EQUAL(format_duration_ms(5000, buf, sizeof(buf)), "5s");
    CU_ASSERT_STRING_EQUAL(format_duration_ms(1800000, buf, sizeof(buf)), "30m");
    CU_ASSERT_STRING_EQUAL(format_duration_ms(1500, buf, sizeof(buf)), "1500ms");
}

static void test_addr_hostport(void)
{
    struct net_addr a;
    const char *err;
    char buf[ADDR_STRLEN];
    CU_ASSERT_EQUAL(addr_parse_hostport("198.51.100.1:80", &a, &err), 0);
    CU_ASSERT_STRING_EQUAL(addr_format((struct sockaddr *)&a.ss, buf, sizeof(buf)), "198.51.100.1:80");
    CU_ASSERT_EQUAL(addr_parse_hostport("[2001:db8::1]:8443", &a, &err), 0);
    CU_ASSERT_STRING_EQUAL(addr_format((struct sockaddr *)&a.ss, buf, sizeof(buf)), "[2001:db8::1]:8443");
    CU_ASSERT_EQUAL(addr_port((struct sockaddr *)&a.ss), 8443);
    CU_ASSERT_EQUAL(addr_parse_hostport("*:443", &a, &err), 0);
    CU_ASSERT_STRING_EQUAL(addr_format((struct sockaddr *)&a.ss, buf, sizeof(buf)), "0.0.0.0:443");
    CU_ASSERT_EQUAL(addr_parse_hostport("[::]:80", &a, &err), 0);
    CU_ASSERT_EQUAL(a.ss.ss_family, AF_INET6);
}

static void test_addr_errors(void)
{
    struct net_addr a;
    const char *err;
    CU_ASSERT_EQUAL(addr_parse_hostport("198.51.100.1", &a, &err), -1);
    CU_ASSERT_EQUAL(addr_parse_hostport("198.51.100.1:", &a, &err), -1);
    CU_ASSERT_EQUAL(addr_parse_hostport("198.51.100.1:65536", &a, &err), -1);
    CU_ASSERT_EQUAL(addr_parse_hostport("198.51.100.1:-1", &a, &err), -1);
    CU_ASSERT_EQUAL(addr_parse_hostport("2001:db8::1:80", &a, &err), -1);
    CU_ASSERT_EQUAL(addr_parse_hostport("[198.51.100.1]:80", &a, &err), -1);
    CU_ASSERT_EQUAL(addr_parse_hostport("www.example.com:80", &a, &err), -1);
    CU_ASSERT_EQUAL(addr_parse_hostport("[2001:db8::1:80", &a, &err), -1);
}

static void test_addr_prefix(void)
{
    struct net_addr a;
    int plen;
    const char *err;
    CU_ASSERT_EQUAL(addr_parse_prefix("198.51.100.100/24", &a, &plen, &err), 0);
    CU_ASSERT_EQUAL(plen, 24);
    CU_ASSERT_EQUAL(addr_parse_prefix("198.51.100.100", &a, &plen, &err), 0);
    CU_ASSERT_EQUAL(plen, 32);
    CU_ASSERT_EQUAL(addr_parse_prefix("2001:db8::100/64", &a, &plen, &err), 0);
    CU_ASSERT_EQUAL(plen, 64);
    CU_ASSERT_EQUAL(addr_parse_prefix("198.51.100.100/33", &a, &plen, &err), -1);
    CU_ASSERT_EQUAL(addr_parse_prefix("198.51.100.100/", &a, &plen, &err), -1);
    CU_ASSERT_EQUAL(addr_parse_prefix("198.51.100.100/0", &a, &plen, &err), -1);
}

static void test_addr_v4mapped_bytes(void)
{
    struct net_addr a, b;
    const char *err;
    size_t la, lb;
    char buf[ADDR_STRLEN];
    CU_ASSERT_EQUAL(addr_parse_hostport("[::ffff:198.51.100.7]:1000", &a, &err), 0);
    CU_ASSERT_EQUAL(addr_parse_hostport("198.51.100.7:1000", &b, &err), 0);
    const uint8_t *pa = addr_ip_bytes((struct sockaddr *)&a.ss, &la);
    const uint8_t *pb = addr_ip_bytes((struct sockaddr *)&b.ss, &lb);
    CU_ASSERT_EQUAL(la, 4);
    CU_ASSERT_EQUAL(lb, 4);
    CU_ASSERT_EQUAL(memcmp(pa, pb, 4), 0);
    CU_ASSERT_TRUE(addr_equal((struct sockaddr *)&a.ss, (struct sockaddr *)&b.ss));
    CU_ASSERT_STRING_EQUAL(addr_format_ip((struct sockaddr *)&a.ss, buf, sizeof(buf)), "198.51.100.7");
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_duration_units), UNIT_TEST(test_duration_errors),
    UNIT_TEST(test_size_units), UNIT_TEST(test_duration_format),
    UNIT_TEST(test_addr_hostport), UNIT_TEST(test_addr_errors),
    UNIT_TEST(test_addr_prefix), UNIT_TEST(test_addr_v4mapped_bytes),
    { NULL, NULL },
};

int main(void) { return unit_run("units", tests); }
