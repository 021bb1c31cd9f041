/* test_sticky.c - the sticky table: expiry on a fake clock, TTL refresh,
 * LRU bound, sweep, clear, change feed (order, sequence, coalescing,
 * overflow), snapshot, threads, and 1M inserts timed. */
#include "config.h"
#include "unit.h"
#include "sticky.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct sticky_key key_of(const char *backend, const char *v)
{
    struct sticky_key k = { STICKY_KEY_COOKIE, backend, v, strlen(v) };
    return k;
}

static int has(struct sticky_table *t, const char *v, uint64_t now, char *srv)
{
    struct sticky_key k = key_of("web", v);
    return sticky_lookup(t, &k, now, 1000, srv);
}

static void put(struct sticky_table *t, const char *v, const char *srv, uint64_t now)
{
    struct sticky_key k = key_of("web", v);
    CU_ASSERT_EQUAL(sticky_set(t, &k, srv, now, 1000), 0);
}

static void test_set_lookup_expire(void)
{
    struct sticky_table *t = sticky_create(4, 100, 64, 1);
    char srv[STICKY_NAME_MAX + 1];
    put(t, "a", "s1", 0);
    CU_ASSERT_EQUAL(has(t, "a", 999, srv), 1);     /* refreshed: now expires at 1999 */
    CU_ASSERT_STRING_EQUAL(srv, "s1");
    CU_ASSERT_EQUAL(has(t, "a", 1998, srv), 1);
    CU_ASSERT_EQUAL(has(t, "a", 2997, srv), 1);
    CU_ASSERT_EQUAL(has(t, "a", 3996, srv), 1);    /* expires at 4996 */
    CU_ASSERT_EQUAL(has(t, "a", 4996, srv), 0);    /* unused for a TTL: gone */
    CU_ASSERT_EQUAL(sticky_count(t), 0);
    CU_ASSERT_EQUAL(has(t, "b", 0, srv), 0);
    put(t, "a", "s1", 0);
    put(t, "a", "a-much-longer-server-name", 10);  /* rebinding, longer name */
    CU_ASSERT_EQUAL(has(t, "a", 20, srv), 1);
    CU_ASSERT_STRING_EQUAL(srv, "a-much-longer-server-name");
    CU_ASSERT_EQUAL(sticky_count(t), 1);
    sticky_destroy(t);
}

static void test_keys_are_distinct(void)
{
    struct sticky_table *t = sticky_create(4, 100, 64, 1);
    char srv[STICKY_NAME_MAX + 1];
    struct sticky_key a = { STICKY_KEY_COOKIE, "web", "x", 1 };
    struct sticky_key b = { STICKY_KEY_APP, "web", "x", 1 };
    struct sticky_key c = { STICKY_KEY_COOKIE, "api", "x", 1 };
    CU_ASSERT_EQUAL(sticky_set(t, &a, "s1", 0, 1000), 0);
    CU_ASSERT_EQUAL(sticky_set(t, &b, "s2", 0, 1000), 0);
    CU_ASSERT_EQUAL(sticky_set(t, &c, "s3", 0, 1000), 0);
    CU_ASSERT_EQUAL(sticky_lookup(t, &b, 1, 1000, srv), 1);
    CU_ASSERT_STRING_EQUAL(srv, "s2");
    CU_ASSERT_EQUAL(sticky_lookup(t, &c, 1, 1000, srv), 1);
    CU_ASSERT_STRING_EQUAL(srv, "s3");
    struct sticky_key bad = { STICKY_KEY_COOKIE, "web", "x", STICKY_KEY_MAX + 1 };
    CU_ASSERT_EQUAL(sticky_set(t, &bad, "s1", 0, 1000), -1);
    struct sticky_key nobe = { STICKY_KEY_COOKIE, "", "x", 1 };
    CU_ASSERT_EQUAL(sticky_set(t, &nobe, "s1", 0, 1000), -1);
    CU_ASSERT_EQUAL(sticky_set(t, &a, "", 0, 1000), -1);
    CU_ASSERT_EQUAL(sticky_delete(t, &a, 2), 1);
    CU_ASSERT_EQUAL(sticky_delete(t, &a, 2), 0);
    CU_ASSERT_EQUAL(sticky_count(t), 2);
    sticky_destroy(t);
}

static void test_lru_bound(void)
{
    struct sticky_table *t = sticky_create(1, 3, 64, 1);
    char srv[STICKY_NAME_MAX + 1];
    put(t, "k1", "s", 0);
    put(t, "k2", "s", 100);
    put(t, "k3", "s", 200);
    CU_ASSERT_EQUAL(has(t, "k1", 300, srv), 1);    /* k1 used: k2 is now the oldest */
    put(t, "k4", "s", 400);
    CU_ASSERT_EQUAL(sticky_count(t), 3);
    CU_ASSERT_EQUAL(has(t, "k2", 500, srv), 0);
    CU_ASSERT_EQUAL(has(t, "k1", 500, srv), 1);
    CU_ASSERT_EQUAL(has(t, "k3", 500, srv), 1);
    CU_ASSERT_EQUAL(has(t, "k4", 500, srv), 1);
    /* A use within 1/64 of the TTL keeps the LRU position (no relink). */
    CU_ASSERT_EQUAL(has(t, "k1", 505, srv), 1);
    put(t, "k6", "s", 600);                        /* the oldest by position is k1 */
    CU_ASSERT_EQUAL(has(t, "k1", 601, srv), 0);
    sticky_set_max(t, 1);                          /* shrinks at the next insertion */
    put(t, "k5", "s", 700);
    CU_ASSERT_EQUAL(sticky_count(t), 1);
    CU_ASSERT_EQUAL(has(t, "k5", 701, srv), 1);
    sticky_destroy(t);
}

static void test_sweep_is_bounded(void)
{
    struct sticky_table *t = sticky_create(4, 1000, 16, 1);
    char v[16];
    for (int i = 0; i < 100; i++) {
        snprintf(v, sizeof(v), "k%d", i);
        put(t, v, "s", (uint64_t)i);               /* expires at 1000 + i */
    }
    CU_ASSERT_EQUAL(sticky_sweep(t, 500, 1000), 0);
    unsigned removed = sticky_sweep(t, 1050, 10);  /* 51 are due, 10 looked at */
    CU_ASSERT(removed <= 10);
    unsigned total = removed;
    for (int i = 0; i < 20 && total < 51; i++)
        total += sticky_sweep(t, 1050, 10);
    CU_ASSERT_EQUAL(total, 51);
    CU_ASSERT_EQUAL(sticky_count(t), 49);
    sticky_destroy(t);
}

static void test_clear(void)
{
    struct sticky_table *t = sticky_create(8, 1000, 64, 1);
    char v[16];
    for (int i = 0; i < 30; i++) {
        snprintf(v, sizeof(v), "k%d", i);
        struct sticky_key k = key_of(i % 3 ? "web" : "api", v);
        sticky_set(t, &k, "s", 0, 1000);
    }
    CU_ASSERT_EQUAL(sticky_count_backend(t, "api"), 10);
    CU_ASSERT_EQUAL(sticky_count_backend(t, NULL), 30);
    CU_ASSERT_EQUAL(sticky_clear(t, "api", 1), 10);
    CU_ASSERT_EQUAL(sticky_count_backend(t, "api"), 0);
    CU_ASSERT_EQUAL(sticky_count(t), 20);
    struct sticky_event ev[64];
    int n = sticky_feed_read(t, 30, ev, 64);
    CU_ASSERT_EQUAL(n, 1);                         /* one CLEAR, not 10 deletes */
    CU_ASSERT_EQUAL(ev[0].type, STICKY_EV_CLEAR);
    CU_ASSERT_STRING_EQUAL(ev[0].backend, "api");
    CU_ASSERT_EQUAL(sticky_clear(t, NULL, 2), 20);
    CU_ASSERT_EQUAL(sticky_count(t), 0);
    sticky_destroy(t);
}

static void test_feed_order_and_types(void)
{
    struct sticky_table *t = sticky_create(1, 2, 64, 7);
    char srv[STICKY_NAME_MAX + 1];
    struct sticky_key k1 = key_of("web", "one"), k2 = key_of("web", "two");
    struct sticky_key k3 = key_of("web", "three");
    sticky_set(t, &k1, "s1", 0, 1000);            /* 1 SET */
    sticky_set(t, &k2, "s2", 0, 1000);            /* 2 SET */
    sticky_lookup(t, &k1, 10, 1000, srv);         /* coalesced: moved by 10 < 125 */
    sticky_lookup(t, &k1, 200, 1000, srv);        /* 3 REFRESH */
    sticky_delete(t, &k2, 300);                   /* 4 DELETE */
    sticky_set(t, &k2, "s2", 300, 1000);          /* 5 SET */
    sticky_lookup(t, &k2, 5000, 1000, srv);       /* 6 EXPIRE */
    sticky_set(t, &k2, "s2", 5000, 1000);         /* 7 SET */
    sticky_set(t, &k3, "s3", 5001, 1000);         /* 8 EVICT k1 (the oldest), 9 SET */
    struct sticky_event ev[32];
    int n = sticky_feed_read(t, 0, ev, 32);
    CU_ASSERT_EQUAL_FATAL(n, 9);
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(ev[i].seq, (uint64_t)i + 1);
    CU_ASSERT_EQUAL(ev[0].type, STICKY_EV_SET);
    CU_ASSERT_EQUAL(ev[0].kind, STICKY_KEY_COOKIE);
    CU_ASSERT_EQUAL(ev[0].key_len, 3);
    CU_ASSERT_EQUAL(memcmp(ev[0].key, "one", 3), 0);
    CU_ASSERT_STRING_EQUAL(ev[0].backend, "web");
    CU_ASSERT_STRING_EQUAL(ev[0].server, "s1");
    CU_ASSERT_EQUAL(ev[0].expire_ms, 1000);
    CU_ASSERT_EQUAL(ev[2].type, STICKY_EV_REFRESH);
    CU_ASSERT_EQUAL(ev[2].expire_ms, 1200);
    CU_ASSERT_EQUAL(ev[3].type, STICKY_EV_DELETE);
    CU_ASSERT_EQUAL(ev[4].type, STICKY_EV_SET);
    CU_ASSERT_EQUAL(ev[5].type, STICKY_EV_EXPIRE);
    CU_ASSERT_EQUAL(ev[6].type, STICKY_EV_SET);
    CU_ASSERT_EQUAL(ev[7].type, STICKY_EV_EVICT);
    CU_ASSERT_EQUAL(memcmp(ev[7].key, "one", 3), 0);
    CU_ASSERT_EQUAL(ev[8].type, STICKY_EV_SET);
    CU_ASSERT_EQUAL(sticky_feed_seq(t), (uint64_t)n);
    /* Reading on from a point returns only what follows it. */
    CU_ASSERT_EQUAL(sticky_feed_read(t, 5, ev, 32), n - 5);
    CU_ASSERT_EQUAL(ev[0].seq, 6);
    CU_ASSERT_EQUAL(sticky_feed_read(t, (uint64_t)n, ev, 32), 0);
    CU_ASSERT_EQUAL(sticky_feed_read(t, 0, ev, 2), 2);   /* bounded by max */
    sticky_set(t, &k3, "s3", 5002, 1000);         /* same binding: coalesced refresh */
    CU_ASSERT_EQUAL(sticky_feed_seq(t), (uint64_t)n);
    sticky_destroy(t);
}

/* What the sync channel learns from the peer goes into the table, not
 * into our feed (the peer knows it); our own later use of such an entry
 * does feed. A known binding only ever has its expiry moved later. */
static void test_apply_from_peer(void)
{
    struct sticky_table *t = sticky_create(4, 100, 64, 1);
    char srv[STICKY_NAME_MAX + 1];
    struct sticky_key k = key_of("web", "p1");
    CU_ASSERT_EQUAL(sticky_apply_set(t, &k, "s2", 100, 500, 1000), 0);
    CU_ASSERT_EQUAL(sticky_feed_seq(t), 0);            /* nothing fed */
    CU_ASSERT_EQUAL(sticky_count(t), 1);
    struct sticky_event ev[8];
    /* the peer's remaining time counts from our now: expires at 600 */
    CU_ASSERT_EQUAL(sticky_apply_set(t, &k, "s2", 200, 100, 1000), 0);   /* earlier: ignored */
    CU_ASSERT_EQUAL(has(t, "p1", 550, srv), 1);        /* still there at 550: a lookup */
    CU_ASSERT_STRING_EQUAL(srv, "s2");
    int n = sticky_feed_read(t, 0, ev, 8);             /* our use of it feeds a REFRESH */
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(ev[0].type, STICKY_EV_REFRESH);
    CU_ASSERT_STRING_EQUAL(ev[0].server, "s2");
    CU_ASSERT_EQUAL(ev[0].expire_ms, 1550);
    /* a new server from the peer replaces ours, silently */
    CU_ASSERT_EQUAL(sticky_apply_set(t, &k, "s3", 600, 900, 1000), 0);
    CU_ASSERT_EQUAL(has(t, "p1", 700, srv), 1);
    CU_ASSERT_STRING_EQUAL(srv, "s3");
    uint64_t seq = sticky_feed_seq(t);
    CU_ASSERT_EQUAL(sticky_apply_delete(t, &k, 800), 1);
    CU_ASSERT_EQUAL(sticky_count(t), 0);
    put(t, "q1", "s1", 800);
    put(t, "q2", "s1", 800);
    seq = sticky_feed_seq(t);
    CU_ASSERT_EQUAL(sticky_apply_clear(t, NULL, 900), 2);
    CU_ASSERT_EQUAL(sticky_feed_seq(t), seq);          /* a peer's clear is not fed either */
    CU_ASSERT_EQUAL(sticky_count(t), 0);
    /* an expired remaining time makes an entry that is already gone */
    CU_ASSERT_EQUAL(sticky_apply_set(t, &k, "s1", 1000, 0, 1000), 0);
    CU_ASSERT_EQUAL(has(t, "p1", 1000, srv), 0);
    sticky_destroy(t);
}

static void test_feed_overflow(void)
{
    struct sticky_table *t = sticky_create(1, 1000, 4, 1);
    char v[16];
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof(v), "k%d", i);
        put(t, v, "s", 0);
    }
    struct sticky_event ev[16];
    CU_ASSERT_EQUAL(sticky_feed_read(t, 0, ev, 16), -1);  /* 1..6 were overwritten */
    CU_ASSERT_EQUAL(sticky_feed_read(t, 5, ev, 16), -1);
    CU_ASSERT_EQUAL(sticky_feed_read(t, 6, ev, 16), 4);   /* 7..10 are all there */
    CU_ASSERT_EQUAL(ev[0].seq, 7);
    CU_ASSERT_EQUAL(ev[3].seq, 10);
    sticky_destroy(t);
}

struct snap_acc {
    unsigned n;
    unsigned s2;
};

static void snap_one(const struct sticky_entry_view *e, void *arg)
{
    struct snap_acc *a = arg;
    a->n++;
    if (strcmp(e->server, "s2") == 0 && e->kind == STICKY_KEY_SOURCE && e->key_len == 4 &&
        strcmp(e->backend, "web") == 0)
        a->s2++;
}

static void test_snapshot(void)
{
    struct sticky_table *t = sticky_create(4, 1000, 8, 1);
    for (uint32_t i = 0; i < 50; i++) {
        struct sticky_key k = { STICKY_KEY_SOURCE, "web", &i, sizeof(i) };
        sticky_set(t, &k, i % 2 ? "s1" : "s2", i, 1000);
    }
    struct snap_acc a = { 0, 0 };
    uint64_t from = sticky_snapshot(t, NULL, 1010, snap_one, &a);
    CU_ASSERT_EQUAL(a.n, 39);                      /* 0..10 expired at 1010 */
    CU_ASSERT_EQUAL(a.s2, 19);
    CU_ASSERT_EQUAL(from, 50);
    struct sticky_event ev[4];
    CU_ASSERT_EQUAL(sticky_feed_read(t, from, ev, 4), 0);  /* resume point is current */
    sticky_destroy(t);
}

/* ---- threads ---- */

#define THREADS 4
#define PER_THREAD 20000

struct worker_arg {
    struct sticky_table *t;
    unsigned id;
    unsigned found;
};

static void *worker(void *p)
{
    struct worker_arg *a = p;
    char srv[STICKY_NAME_MAX + 1];
    for (uint32_t i = 0; i < PER_THREAD; i++) {
        uint32_t own[2] = { a->id, i };
        uint32_t shared = i % 100;
        struct sticky_key k = { STICKY_KEY_HASH, "web", own, sizeof(own) };
        struct sticky_key ks = { STICKY_KEY_HASH, "web", &shared, sizeof(shared) };
        sticky_set(a->t, &k, "s1", i, 100000);
        sticky_set(a->t, &ks, a->id & 1 ? "s1" : "s2", i, 100000);
        a->found += (unsigned)sticky_lookup(a->t, &k, i, 100000, srv);
        if (i % 64 == 0)
            sticky_sweep(a->t, i, 16);
    }
    return NULL;
}

static void test_threads(void)
{
    struct sticky_table *t = sticky_create(16, THREADS * PER_THREAD + 100, 4096, 3);
    pthread_t th[THREADS];
    struct worker_arg args[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        args[i] = (struct worker_arg){ t, i, 0 };
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    /* A feed consumer runs alongside: every read is in order, no holes. */
    uint64_t since = 0;
    int resyncs = 0;
    static struct sticky_event ev[256];
    for (int rounds = 0; rounds < 2000; rounds++) {
        int n = sticky_feed_read(t, since, ev, 256);
        if (n < 0) {
            since = sticky_feed_seq(t);
            resyncs++;
            continue;
        }
        for (int i = 0; i < n; i++)
            CU_ASSERT_EQUAL_FATAL(ev[i].seq, since + 1 + (uint64_t)i);
        if (n > 0)
            since = ev[n - 1].seq;
    }
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(args[i].found, PER_THREAD);
    }
    CU_ASSERT_EQUAL(sticky_count(t), THREADS * PER_THREAD + 100);
    printf("# threads: %u events fed, consumer resynced %d times\n",
           (unsigned)sticky_feed_seq(t), resyncs);
    sticky_destroy(t);
}

static double elapsed_ms(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e3 + (double)(b.tv_nsec - a->tv_nsec) / 1e6;
}

/* 1M entries: the size issue 6 must resync in seconds. Timing is printed,
 * not asserted (sanitizer builds are slower). */
static void test_million(void)
{
    const uint32_t n = 1000000;
    struct sticky_table *t = sticky_create(16, n, 1024, 9);
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t ip[16] = { [10] = 0xff, [11] = 0xff };
        memcpy(ip + 12, &i, 4);
        struct sticky_key k = { STICKY_KEY_SOURCE, "web", ip, 16 };
        sticky_set(t, &k, i & 1 ? "web1" : "web2", 0, 1800000);
    }
    double ins = elapsed_ms(&a);
    clock_gettime(CLOCK_MONOTONIC, &a);
    unsigned found = 0;
    char srv[STICKY_NAME_MAX + 1];
    for (uint32_t i = 0; i < n; i++) {
        uint8_t ip[16] = { [10] = 0xff, [11] = 0xff };
        memcpy(ip + 12, &i, 4);
        struct sticky_key k = { STICKY_KEY_SOURCE, "web", ip, 16 };
        found += (unsigned)sticky_lookup(t, &k, 1, 1800000, srv);
    }
    double look = elapsed_ms(&a);
    struct snap_acc acc = { 0, 0 };
    clock_gettime(CLOCK_MONOTONIC, &a);
    sticky_snapshot(t, NULL, 2, snap_one, &acc);
    double snap = elapsed_ms(&a);
    CU_ASSERT_EQUAL(found, n);
    CU_ASSERT_EQUAL(acc.n, n);
    printf("# 1M inserts %.0f ms (%.0f ns each), 1M lookups %.0f ms (%.0f ns each), "
           "snapshot walk %.0f ms\n", ins, ins * 1e6 / n, look, look * 1e6 / n, snap);
    /* The common case: a few thousand live clients, the table in cache. */
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t ip[16] = { [10] = 0xff, [11] = 0xff };
        uint32_t v = i % 4096;
        memcpy(ip + 12, &v, 4);
        struct sticky_key k = { STICKY_KEY_SOURCE, "web", ip, 16 };
        found += (unsigned)sticky_lookup(t, &k, 3, 1800000, srv);
    }
    double hot = elapsed_ms(&a);
    printf("# 1M lookups over 4096 hot keys %.0f ms (%.0f ns each)\n", hot, hot * 1e6 / n);
    sticky_destroy(t);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_set_lookup_expire),
    UNIT_TEST(test_keys_are_distinct),
    UNIT_TEST(test_lru_bound),
    UNIT_TEST(test_sweep_is_bounded),
    UNIT_TEST(test_clear),
    UNIT_TEST(test_feed_order_and_types),
    UNIT_TEST(test_apply_from_peer),
    UNIT_TEST(test_feed_overflow),
    UNIT_TEST(test_snapshot),
    UNIT_TEST(test_threads),
    UNIT_TEST(test_million),
    { 0 },
};

int main(void)
{
    return unit_run("sticky", tests);
}
