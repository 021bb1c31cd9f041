/* test_l4.c - the pure parts of mode tcp and mode udp: the relay rules of
 * a TCP tunnel (tcp_relay.c) and the UDP flow table (udp_flow.c). */
#include "config.h"
#include "unit.h"
#include "tcp_relay.h"
#include "udp_flow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- tcp_relay ---- */

static void test_dir_reads_then_writes(void)
{
    struct tcp_dir d;

    tcp_dir_init(&d, 100);
    CU_ASSERT_TRUE(tcp_dir_want_read(&d));
    CU_ASSERT_FALSE(tcp_dir_want_write(&d));
    tcp_dir_read_result(&d, TCP_IO_MOVED, 60);
    CU_ASSERT_EQUAL(d.pending, 60);
    CU_ASSERT_TRUE(tcp_dir_want_write(&d));
    CU_ASSERT_TRUE(tcp_dir_want_read(&d));
    tcp_dir_read_result(&d, TCP_IO_MOVED, 40);
    CU_ASSERT_FALSE(tcp_dir_want_read(&d));       /* buffer full */
    tcp_dir_write_result(&d, TCP_IO_MOVED, 30);
    CU_ASSERT_EQUAL(d.pending, 70);
    CU_ASSERT_TRUE(tcp_dir_want_read(&d));
    CU_ASSERT_FALSE(tcp_dir_done(&d));
}

/* EAGAIN on an empty pipe: the socket is empty, keep polling it. EAGAIN
 * with bytes in the pipe may be a full pipe: stop polling src (it would
 * spin on a readable socket) until a write frees room. */
static void test_dir_stall_on_full_pipe(void)
{
    struct tcp_dir d;

    tcp_dir_init(&d, 65536);
    tcp_dir_read_result(&d, TCP_IO_AGAIN, 0);
    CU_ASSERT_FALSE(d.stalled);
    CU_ASSERT_TRUE(tcp_dir_want_read(&d));
    tcp_dir_read_result(&d, TCP_IO_MOVED, 4000);
    tcp_dir_read_result(&d, TCP_IO_AGAIN, 0);
    CU_ASSERT_TRUE(d.stalled);
    CU_ASSERT_FALSE(tcp_dir_want_read(&d));
    CU_ASSERT_TRUE(tcp_dir_want_write(&d));
    tcp_dir_write_result(&d, TCP_IO_AGAIN, 0);
    CU_ASSERT_TRUE(d.stalled);
    tcp_dir_write_result(&d, TCP_IO_MOVED, 1000);
    CU_ASSERT_FALSE(d.stalled);
    CU_ASSERT_TRUE(tcp_dir_want_read(&d));
}

/* FIN from src: the buffer is flushed first, then dst is half-closed. */
static void test_dir_half_close_after_flush(void)
{
    struct tcp_dir d;

    tcp_dir_init(&d, 100);
    tcp_dir_read_result(&d, TCP_IO_MOVED, 10);
    tcp_dir_read_result(&d, TCP_IO_EOF, 0);
    CU_ASSERT_FALSE(tcp_dir_want_read(&d));
    CU_ASSERT_FALSE(tcp_dir_want_shutdown(&d));   /* 10 bytes still to send */
    CU_ASSERT_TRUE(tcp_dir_want_write(&d));
    tcp_dir_write_result(&d, TCP_IO_MOVED, 10);
    CU_ASSERT_TRUE(tcp_dir_want_shutdown(&d));
    CU_ASSERT_FALSE(tcp_dir_done(&d));
    tcp_dir_shutdown_done(&d);
    CU_ASSERT_FALSE(tcp_dir_want_shutdown(&d));
    CU_ASSERT_TRUE(tcp_dir_done(&d));
}

static void test_dir_inject_goes_first(void)
{
    struct tcp_dir d;

    tcp_dir_init(&d, 100);
    tcp_dir_inject(&d, 52);
    CU_ASSERT_TRUE(tcp_dir_want_write(&d));
    CU_ASSERT_EQUAL(d.pending, 52);
    /* A header bigger than the pipe blocks reading until it is sent. */
    tcp_dir_inject(&d, 100);
    CU_ASSERT_FALSE(tcp_dir_want_read(&d));
    tcp_dir_write_result(&d, TCP_IO_MOVED, 152);
    CU_ASSERT_TRUE(tcp_dir_want_read(&d));
    CU_ASSERT_FALSE(tcp_dir_want_write(&d));
}

/* Half-close: the client finished sending; the server keeps answering and
 * the tunnel lives until the server finishes too. */
static void test_tunnel_half_close_keeps_other_way(void)
{
    struct tcp_tunnel t;

    tcp_dir_init(&t.c2s, 100);
    tcp_dir_init(&t.s2c, 100);
    tcp_dir_read_result(&t.c2s, TCP_IO_EOF, 0);
    CU_ASSERT_TRUE(tcp_dir_want_shutdown(&t.c2s));
    tcp_dir_shutdown_done(&t.c2s);
    CU_ASSERT_TRUE(tcp_dir_done(&t.c2s));
    CU_ASSERT_FALSE(tcp_tunnel_done(&t));
    CU_ASSERT_TRUE(tcp_dir_want_read(&t.s2c));
    tcp_dir_read_result(&t.s2c, TCP_IO_MOVED, 50);
    tcp_dir_write_result(&t.s2c, TCP_IO_MOVED, 50);
    tcp_dir_read_result(&t.s2c, TCP_IO_EOF, 0);
    tcp_dir_shutdown_done(&t.s2c);
    CU_ASSERT_TRUE(tcp_tunnel_done(&t));
}

/* The server resets: what it already sent still reaches the client, which
 * is then half-closed; what the client sent towards it is dropped. */
static void test_tunnel_server_failure(void)
{
    struct tcp_tunnel t;

    tcp_dir_init(&t.c2s, 100);
    tcp_dir_init(&t.s2c, 100);
    tcp_dir_read_result(&t.c2s, TCP_IO_MOVED, 20);
    tcp_dir_read_result(&t.s2c, TCP_IO_MOVED, 30);
    tcp_tunnel_side_failed(&t, TCP_SIDE_SERVER);
    CU_ASSERT_TRUE(tcp_dir_done(&t.c2s));
    CU_ASSERT_FALSE(tcp_dir_want_write(&t.c2s));
    CU_ASSERT_FALSE(tcp_dir_want_read(&t.s2c));
    CU_ASSERT_TRUE(tcp_dir_want_write(&t.s2c));
    CU_ASSERT_FALSE(tcp_tunnel_done(&t));
    tcp_dir_write_result(&t.s2c, TCP_IO_MOVED, 30);
    CU_ASSERT_TRUE(tcp_dir_want_shutdown(&t.s2c));
    tcp_dir_shutdown_done(&t.s2c);
    CU_ASSERT_TRUE(tcp_tunnel_done(&t));
}

static void test_tunnel_both_fail(void)
{
    struct tcp_tunnel t;

    tcp_dir_init(&t.c2s, 100);
    tcp_dir_init(&t.s2c, 100);
    tcp_dir_read_result(&t.s2c, TCP_IO_MOVED, 30);
    tcp_tunnel_side_failed(&t, TCP_SIDE_CLIENT);
    CU_ASSERT_FALSE(tcp_dir_want_write(&t.s2c));  /* the client is gone */
    CU_ASSERT_TRUE(tcp_dir_want_shutdown(&t.c2s));
    tcp_tunnel_side_failed(&t, TCP_SIDE_SERVER);
    CU_ASSERT_TRUE(tcp_tunnel_done(&t));
}

static void test_tunnel_sides(void)
{
    struct tcp_tunnel t;

    CU_ASSERT_PTR_EQUAL(tcp_tunnel_from(&t, TCP_SIDE_CLIENT), &t.c2s);
    CU_ASSERT_PTR_EQUAL(tcp_tunnel_to(&t, TCP_SIDE_CLIENT), &t.s2c);
    CU_ASSERT_PTR_EQUAL(tcp_tunnel_from(&t, TCP_SIDE_SERVER), &t.s2c);
    CU_ASSERT_PTR_EQUAL(tcp_tunnel_to(&t, TCP_SIDE_SERVER), &t.c2s);
}

static void test_io_classify(void)
{
    CU_ASSERT_EQUAL(tcp_io_classify(5, 0), TCP_IO_MOVED);
    CU_ASSERT_EQUAL(tcp_io_classify(0, 0), TCP_IO_EOF);
    CU_ASSERT_EQUAL(tcp_io_classify(-1, EAGAIN), TCP_IO_AGAIN);
    CU_ASSERT_EQUAL(tcp_io_classify(-1, EINTR), TCP_IO_AGAIN);
    CU_ASSERT_EQUAL(tcp_io_classify(-1, ECONNRESET), TCP_IO_ERROR);
    CU_ASSERT_EQUAL(tcp_io_classify(-1, EPIPE), TCP_IO_ERROR);
}

/* ---- udp_flow ---- */

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in s;
    memset(&s, 0, sizeof(s));
    s.sin_family = AF_INET;
    s.sin_port = htons(port);
    inet_pton(AF_INET, ip, &s.sin_addr);
    return s;
}

static struct sockaddr_in6 v6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 s;
    memset(&s, 0, sizeof(s));
    s.sin6_family = AF_INET6;
    s.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &s.sin6_addr);
    return s;
}

#define SA(x) ((const struct sockaddr *)&(x))

static void test_key_v4_and_mapped_match(void)
{
    struct sockaddr_in c4 = v4("198.51.100.7", 5000), l4 = v4("198.51.100.100", 53);
    struct sockaddr_in6 c6 = v6("::ffff:198.51.100.7", 5000), l6 = v6("::ffff:198.51.100.100", 53);
    struct udp_flow_key a, b;

    CU_ASSERT_EQUAL(udp_flow_key_make(&a, SA(c4), SA(l4), 0), 0);
    CU_ASSERT_EQUAL(udp_flow_key_make(&b, SA(c6), SA(l6), 0), 0);
    CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
    CU_ASSERT_EQUAL(a.client_port, htons(5000));
    CU_ASSERT_EQUAL(a.local_port, htons(53));
}

static void test_key_distinguishes(void)
{
    struct sockaddr_in c = v4("198.51.100.7", 5000), c2 = v4("198.51.100.7", 5001);
    struct sockaddr_in l = v4("198.51.100.100", 53), l2 = v4("198.51.100.101", 53);
    struct sockaddr_in6 c6 = v6("2001:db8::7", 5000);
    struct udp_flow_key a, b;

    udp_flow_key_make(&a, SA(c), SA(l), 0);
    udp_flow_key_make(&b, SA(c2), SA(l), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);      /* client port */
    udp_flow_key_make(&b, SA(c), SA(l2), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);      /* local address (VIP) */
    udp_flow_key_make(&b, SA(c6), SA(l), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);      /* family */
}

static void test_key_port_override_and_bad_family(void)
{
    struct sockaddr_in c = v4("198.51.100.7", 5000), l = v4("198.51.100.100", 0);
    struct sockaddr_storage un;
    struct udp_flow_key k;

    CU_ASSERT_EQUAL(udp_flow_key_make(&k, SA(c), SA(l), htons(5353)), 0);
    CU_ASSERT_EQUAL(k.local_port, htons(5353));
    memset(&un, 0, sizeof(un));
    un.ss_family = AF_UNIX;
    CU_ASSERT_EQUAL(udp_flow_key_make(&k, SA(un), SA(l), 0), -1);
    CU_ASSERT_EQUAL(udp_flow_key_make(&k, SA(c), SA(un), 0), -1);
}

static struct udp_flow *flow_for(uint16_t port)
{
    struct sockaddr_in c = v4("198.51.100.7", port), l = v4("198.51.100.100", 53);
    struct udp_flow *f = calloc(1, sizeof(*f));
    udp_flow_key_make(&f->key, SA(c), SA(l), 0);
    return f;
}

static void free_all(struct udp_flowtab *t)
{
    struct udp_flow *f;
    while ((f = udp_flowtab_oldest(t)) != NULL) {
        udp_flowtab_remove(t, f);
        free(f);
    }
}

static void test_tab_insert_find_remove(void)
{
    struct udp_flowtab t;
    struct udp_flow *a = flow_for(1), *b = flow_for(2), *probe = flow_for(1);

    udp_flowtab_init(&t, 10, 1000, 42);
    CU_ASSERT_PTR_NULL(udp_flowtab_find(&t, &a->key));
    CU_ASSERT_EQUAL(udp_flowtab_insert(&t, a, 0), 0);
    CU_ASSERT_EQUAL(udp_flowtab_insert(&t, b, 0), 0);
    CU_ASSERT_EQUAL(t.count, 2);
    CU_ASSERT_PTR_EQUAL(udp_flowtab_find(&t, &probe->key), a);
    udp_flowtab_remove(&t, a);
    free(a);
    CU_ASSERT_PTR_NULL(udp_flowtab_find(&t, &probe->key));
    CU_ASSERT_EQUAL(t.count, 1);
    free(probe);
    free_all(&t);
    CU_ASSERT_EQUAL(t.count, 0);
}

/* The oldest flow is the least recently *used*, not the first inserted. */
static void test_tab_lru_order(void)
{
    struct udp_flowtab t;
    struct udp_flow *a = flow_for(1), *b = flow_for(2), *c = flow_for(3);

    udp_flowtab_init(&t, 3, 1000, 7);
    udp_flowtab_insert(&t, a, 10);
    udp_flowtab_insert(&t, b, 20);
    udp_flowtab_insert(&t, c, 30);
    CU_ASSERT_TRUE(udp_flowtab_full(&t));
    CU_ASSERT_PTR_EQUAL(udp_flowtab_oldest(&t), a);
    udp_flowtab_touch(&t, a, 40);
    CU_ASSERT_PTR_EQUAL(udp_flowtab_oldest(&t), b);
    udp_flowtab_touch(&t, a, 50);                 /* already the newest */
    CU_ASSERT_PTR_EQUAL(udp_flowtab_oldest(&t), b);
    udp_flowtab_remove(&t, b);
    free(b);
    CU_ASSERT_FALSE(udp_flowtab_full(&t));
    CU_ASSERT_PTR_EQUAL(udp_flowtab_oldest(&t), c);
    free_all(&t);
}

static void test_tab_expiry(void)
{
    struct udp_flowtab t;
    struct udp_flow *a = flow_for(1), *b = flow_for(2), *f;

    udp_flowtab_init(&t, 10, 1000, 7);
    CU_ASSERT_EQUAL(udp_flowtab_next_expiry(&t), UINT64_MAX);
    udp_flowtab_insert(&t, a, 100);
    udp_flowtab_insert(&t, b, 600);
    CU_ASSERT_EQUAL(udp_flowtab_next_expiry(&t), 1100);
    CU_ASSERT_PTR_NULL(udp_flowtab_expired(&t, 1099));
    CU_ASSERT_PTR_EQUAL(udp_flowtab_expired(&t, 1100), a);
    udp_flowtab_touch(&t, a, 1050);               /* activity saves it */
    CU_ASSERT_PTR_NULL(udp_flowtab_expired(&t, 1100));
    CU_ASSERT_EQUAL(udp_flowtab_next_expiry(&t), 1600);
    /* Both expired: they come out oldest first. */
    f = udp_flowtab_expired(&t, 5000);
    CU_ASSERT_PTR_EQUAL(f, b);
    udp_flowtab_remove(&t, f);
    free(f);
    f = udp_flowtab_expired(&t, 5000);
    CU_ASSERT_PTR_EQUAL(f, a);
    udp_flowtab_remove(&t, f);
    free(f);
    CU_ASSERT_PTR_NULL(udp_flowtab_expired(&t, 5000));
}

/* Many flows, removed in a scrambled order: the table stays consistent. */
static void test_tab_many(void)
{
    enum { N = 5000 };
    struct udp_flowtab t;
    struct udp_flow **all = calloc(N, sizeof(*all));
    unsigned found = 0;

    udp_flowtab_init(&t, N, 1000, 99);
    for (unsigned i = 0; i < N; i++) {
        all[i] = flow_for((uint16_t)(i + 1));
        CU_ASSERT_EQUAL_FATAL(udp_flowtab_insert(&t, all[i], i), 0);
    }
    CU_ASSERT_TRUE(udp_flowtab_full(&t));
    for (unsigned i = 0; i < N; i += 7) {
        udp_flowtab_remove(&t, all[i]);
        free(all[i]);
        all[i] = NULL;
    }
    for (unsigned i = 0; i < N; i++)
        if (all[i] && udp_flowtab_find(&t, &all[i]->key) == all[i])
            found++;
    CU_ASSERT_EQUAL(found, t.count);
    CU_ASSERT_EQUAL(t.count, N - (N + 6) / 7);
    CU_ASSERT_PTR_EQUAL(udp_flowtab_oldest(&t), all[1]);
    free_all(&t);
    free(all);
}

static const struct unit_test tcp_tests[] = {
    UNIT_TEST(test_dir_reads_then_writes),
    UNIT_TEST(test_dir_stall_on_full_pipe),
    UNIT_TEST(test_dir_half_close_after_flush),
    UNIT_TEST(test_dir_inject_goes_first),
    UNIT_TEST(test_tunnel_half_close_keeps_other_way),
    UNIT_TEST(test_tunnel_server_failure),
    UNIT_TEST(test_tunnel_both_fail),
    UNIT_TEST(test_tunnel_sides),
    UNIT_TEST(test_io_classify),
    { 0 },
};

static const struct unit_test udp_tests[] = {
    UNIT_TEST(test_key_v4_and_mapped_match),
    UNIT_TEST(test_key_distinguishes),
    UNIT_TEST(test_key_port_override_and_bad_family),
    UNIT_TEST(test_tab_insert_find_remove),
    UNIT_TEST(test_tab_lru_order),
    UNIT_TEST(test_tab_expiry),
    UNIT_TEST(test_tab_many),
    { 0 },
};

int main(void)
{
    static const struct unit_suite suites[] = {
        { "tcp_relay", tcp_tests },
        { "udp_flow", udp_tests },
        { NULL, NULL },
    };
    return unit_run_suites(suites);
}
