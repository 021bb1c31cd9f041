/* test_conntable.c - the connection table: ids, server changes, close
 * with byte counts, live byte counters and address updates seen by a
 * snapshot, change feed (order, sequence, overflow), snapshot,
 * threads opening and closing on their own shards, and the cost of an
 * open + close. */
#include "config.h"
#include "unit.h"
#include "conntable.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct sockaddr_in sin_of(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static struct conn_entry *open_one(struct conntable *t, unsigned shard, enum conn_proto p)
{
    struct sockaddr_in c = sin_of("198.51.100.7", 40000), l = sin_of("203.0.113.1", 80);
    return conntable_open(t, shard, p, "www", (struct sockaddr *)&c, (struct sockaddr *)&l, 5);
}

static void test_open_set_close(void)
{
    struct conntable *t = conntable_create(2, 64);
    struct conn_entry *a = open_one(t, 0, CONN_HTTP);
    struct conn_entry *b = open_one(t, 1, CONN_TCP);
    struct conn_entry *c = open_one(t, 0, CONN_UDP);
    CU_ASSERT_NOT_EQUAL(conntable_id(a), conntable_id(b));
    CU_ASSERT_NOT_EQUAL(conntable_id(a), conntable_id(c));
    CU_ASSERT_EQUAL(conntable_id(b) >> 48, 1);     /* the shard is in the id */
    CU_ASSERT_EQUAL(conntable_count(t), 3);
    conntable_set_server(t, a, "web", "web1", 6);
    conntable_set_server(t, a, "web", "web1", 7);  /* unchanged: no event */
    uint64_t b_id = conntable_id(b);
    conntable_close(t, b, 100, 2000, 8);
    conntable_close(t, NULL, 0, 0, 8);
    CU_ASSERT_EQUAL(conntable_count(t), 2);

    struct conn_event ev[16];
    int n = conntable_feed_read(t, 0, ev, 16);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(ev[i].seq, (uint64_t)i + 1);
    CU_ASSERT_EQUAL(ev[0].type, CONN_EV_OPEN);
    CU_ASSERT_EQUAL(ev[0].info.proto, CONN_HTTP);
    CU_ASSERT_EQUAL(ev[0].info.state, CONN_ST_CLIENT);
    CU_ASSERT_STRING_EQUAL(ev[0].info.frontend, "www");
    CU_ASSERT_EQUAL(ev[0].info.client_port, htons(40000));
    CU_ASSERT_EQUAL(ev[0].info.client_ip[10], 0xff);   /* IPv4-mapped */
    CU_ASSERT_EQUAL(ev[0].info.client_ip[12], 198);
    CU_ASSERT_EQUAL(ev[0].info.local_ip[15], 1);
    CU_ASSERT_EQUAL(ev[0].info.start_ms, 5);
    CU_ASSERT_EQUAL(ev[3].type, CONN_EV_STATE);
    CU_ASSERT_STRING_EQUAL(ev[3].info.server, "web1");
    CU_ASSERT_EQUAL(ev[3].info.state, CONN_ST_SERVER);
    CU_ASSERT_EQUAL(ev[4].type, CONN_EV_CLOSE);
    CU_ASSERT_EQUAL(ev[4].info.bytes_in, 100);
    CU_ASSERT_EQUAL(ev[4].info.bytes_out, 2000);
    CU_ASSERT_EQUAL(ev[4].info.id, b_id);
    conntable_close(t, a, 0, 0, 9);
    conntable_close(t, c, 0, 0, 9);
    CU_ASSERT_EQUAL(conntable_count(t), 0);
    CU_ASSERT_STRING_EQUAL(conntable_proto_name(CONN_UDP), "udp");
    CU_ASSERT_STRING_EQUAL(conntable_state_name(CONN_ST_SERVER), "server");
    conntable_destroy(t);
}

static void test_feed_overflow(void)
{
    struct conntable *t = conntable_create(1, 4);
    for (int i = 0; i < 5; i++)
        conntable_close(t, open_one(t, 0, CONN_TCP), 0, 0, 6);
    struct conn_event ev[8];
    CU_ASSERT_EQUAL(conntable_feed_read(t, 0, ev, 8), -1);
    CU_ASSERT_EQUAL(conntable_feed_read(t, 6, ev, 8), 4);
    CU_ASSERT_EQUAL(ev[0].seq, 7);
    conntable_destroy(t);
}

struct snap_acc {
    unsigned n, with_server;
};

static void snap_one(const struct conn_info *ci, void *arg)
{
    struct snap_acc *a = arg;
    a->n++;
    a->with_server += ci->state == CONN_ST_SERVER;
}

static void test_snapshot(void)
{
    struct conntable *t = conntable_create(4, 16);
    struct conn_entry *e[10];
    for (unsigned i = 0; i < 10; i++) {
        e[i] = open_one(t, i, CONN_HTTP);
        if (i < 3)
            conntable_set_server(t, e[i], "web", "web2", 6);
    }
    struct snap_acc a = { 0, 0 };
    CU_ASSERT_EQUAL(conntable_snapshot(t, snap_one, &a), 13);
    CU_ASSERT_EQUAL(a.n, 10);
    CU_ASSERT_EQUAL(a.with_server, 3);
    for (unsigned i = 0; i < 10; i++)
        conntable_close(t, e[i], 0, 0, 7);
    conntable_destroy(t);
}

/* ---- threads: each worker on its own shard, a reader alongside ---- */

#define THREADS 4
#define PER_THREAD 50000

struct worker_arg {
    struct conntable *t;
    unsigned id;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    struct conn_entry *live[16] = { 0 };
    for (unsigned i = 0; i < PER_THREAD; i++) {
        unsigned slot = i % 16;
        conntable_close(a->t, live[slot], i, i, i);
        live[slot] = open_one(a->t, a->id, i & 1 ? CONN_HTTP : CONN_UDP);
    }
    for (unsigned s = 0; s < 16; s++)
        conntable_close(a->t, live[s], 0, 0, 0);
    return NULL;
}

static void reader_count(const struct conn_info *ci, void *arg)
{
    (void)ci;
    (*(unsigned *)arg)++;
}

static void test_threads(void)
{
    struct conntable *t = conntable_create(THREADS, 1024);
    pthread_t th[THREADS];
    struct worker_arg args[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        args[i] = (struct worker_arg){ t, i };
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    uint64_t since = 0;
    static struct conn_event ev[128];
    for (int r = 0; r < 500; r++) {
        unsigned seen = 0;
        conntable_snapshot(t, reader_count, &seen);
        CU_ASSERT(seen <= THREADS * 16);
        int n = conntable_feed_read(t, since, ev, 128);
        if (n < 0) {
            since = conntable_feed_seq(t);
            continue;
        }
        for (int i = 0; i < n; i++)
            CU_ASSERT_EQUAL_FATAL(ev[i].seq, since + 1 + (uint64_t)i);
        if (n > 0)
            since = ev[n - 1].seq;
    }
    for (unsigned i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CU_ASSERT_EQUAL(conntable_count(t), 0);
    CU_ASSERT_EQUAL(conntable_feed_seq(t), 2ull * THREADS * PER_THREAD);
    conntable_destroy(t);
}

struct live_acc {
    unsigned n;
    struct conn_info last;
};

static void live_one(const struct conn_info *ci, void *arg)
{
    struct live_acc *a = arg;
    a->n++;
    a->last = *ci;
}

/* Live byte counters show in a snapshot before the close; the close's
 * totals go into the CLOSE event. */
static void test_live_bytes(void)
{
    struct conntable *t = conntable_create(1, 64);
    struct conn_entry *c = open_one(t, 0, CONN_TCP);
    struct live_acc acc = { 0 };
    conntable_snapshot(t, live_one, &acc);
    CU_ASSERT_EQUAL(acc.last.bytes_in, 0);
    CU_ASSERT_EQUAL(acc.last.bytes_out, 0);
    conntable_add_bytes(c, 100, 0);
    conntable_add_bytes(c, 0, 7000);
    conntable_add_bytes(c, 23, 1);
    conntable_add_bytes(NULL, 1, 1);
    memset(&acc, 0, sizeof(acc));
    uint64_t from = conntable_snapshot(t, live_one, &acc);
    CU_ASSERT_EQUAL(acc.n, 1);
    CU_ASSERT_EQUAL(acc.last.bytes_in, 123);
    CU_ASSERT_EQUAL(acc.last.bytes_out, 7001);
    CU_ASSERT_EQUAL(from, 1);               /* counting feeds nothing */
    conntable_close(t, c, 123, 7001, 9);
    struct conn_event ev[4];
    CU_ASSERT_EQUAL_FATAL(conntable_feed_read(t, 0, ev, 4), 2);
    CU_ASSERT_EQUAL(ev[0].info.bytes_in, 0);
    CU_ASSERT_EQUAL(ev[1].type, CONN_EV_CLOSE);
    CU_ASSERT_EQUAL(ev[1].info.bytes_in, 123);
    CU_ASSERT_EQUAL(ev[1].info.bytes_out, 7001);
    conntable_destroy(t);
}

/* A PROXY header's addresses replace the socket's: one STATE event, the
 * snapshot shows them; the same addresses again feed nothing, a NULL
 * local keeps the one held. */
static void test_set_addrs(void)
{
    struct conntable *t = conntable_create(1, 64);
    struct conn_entry *c = open_one(t, 0, CONN_HTTP);
    struct sockaddr_in cl = sin_of("198.51.100.55", 51000), lo = sin_of("203.0.113.9", 443);
    conntable_set_addrs(t, c, (struct sockaddr *)&cl, (struct sockaddr *)&lo, 6);
    conntable_set_addrs(t, c, (struct sockaddr *)&cl, (struct sockaddr *)&lo, 7);
    conntable_set_addrs(t, NULL, (struct sockaddr *)&cl, NULL, 7);
    struct live_acc acc = { 0 };
    conntable_snapshot(t, live_one, &acc);
    CU_ASSERT_EQUAL_FATAL(acc.n, 1);
    CU_ASSERT_EQUAL(acc.last.client_ip[12], 198);
    CU_ASSERT_EQUAL(acc.last.client_ip[15], 55);
    CU_ASSERT_EQUAL(acc.last.client_port, htons(51000));
    CU_ASSERT_EQUAL(acc.last.local_ip[15], 9);
    CU_ASSERT_EQUAL(acc.last.local_port, htons(443));
    CU_ASSERT_EQUAL(acc.last.state, CONN_ST_CLIENT);
    struct sockaddr_in cl2 = sin_of("198.51.100.56", 51001);
    conntable_set_addrs(t, c, (struct sockaddr *)&cl2, NULL, 8);
    struct conn_event ev[8];
    CU_ASSERT_EQUAL_FATAL(conntable_feed_read(t, 0, ev, 8), 3);
    CU_ASSERT_EQUAL(ev[1].type, CONN_EV_STATE);
    CU_ASSERT_EQUAL(ev[1].at_ms, 6);
    CU_ASSERT_EQUAL(ev[1].info.client_ip[15], 55);
    CU_ASSERT_EQUAL(ev[1].info.local_ip[15], 9);
    CU_ASSERT_EQUAL(ev[2].info.client_ip[15], 56);
    CU_ASSERT_EQUAL(ev[2].info.client_port, htons(51001));
    CU_ASSERT_EQUAL(ev[2].info.local_ip[15], 9);       /* NULL local: kept */
    conntable_close(t, c, 0, 0, 9);
    conntable_destroy(t);
}

static void test_cost(void)
{
    const unsigned n = 1000000;
    struct conntable *t = conntable_create(1, 1024);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (unsigned i = 0; i < n; i++)
        conntable_close(t, open_one(t, 0, CONN_TCP), 1, 1, i);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
    printf("# conntable: open + close %.0f ns (one thread, feed on)\n", ns);
    CU_ASSERT_EQUAL(conntable_count(t), 0);
    conntable_destroy(t);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_open_set_close),
    UNIT_TEST(test_feed_overflow),
    UNIT_TEST(test_live_bytes),
    UNIT_TEST(test_set_addrs),
    UNIT_TEST(test_snapshot),
    UNIT_TEST(test_threads),
    UNIT_TEST(test_cost),
    { 0 },
};

int main(void)
{
    return unit_run("conntable", tests);
}
