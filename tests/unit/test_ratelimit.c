/* test_ratelimit.c - the limiters exactly (fake clock), the pair merge,
 * the keyed table (LRU bound, expiry, threads), the table across the pair
 * (collect, merge), the config groups and the runtime's limits across a
 * reload. */
#include "config.h"
#include "unit.h"
#include "ratelimit.h"
#include "ratelimit_rt.h"
#include "runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

static struct rl_params params(enum rl_algo algo, uint64_t rate, uint64_t per_ms,
                               uint64_t burst)
{
    return (struct rl_params){ algo, rate, per_ms, burst ? burst : rate };
}

/* Sends n requests at one instant; returns how many passed. */
static unsigned burst_at(struct rl_state *st, const struct rl_params *p, uint64_t t,
                         unsigned n, struct rl_verdict *last)
{
    unsigned ok = 0;
    struct rl_verdict v = { 0, 0 };
    for (unsigned i = 0; i < n; i++) {
        rl_check(st, p, t, &v);
        ok += v.allowed != 0;
    }
    if (last)
        *last = v;
    return ok;
}

/* ---- fixed window ---- */

/* The weakness the sliding window exists for: the limit resets at the
 * boundary, so 2 x limit pass within one second across it. */
static void test_fixed_boundary_burst(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 10, 60000, 0);
    struct rl_state st = { 0 };
    struct rl_verdict v;
    CU_ASSERT_EQUAL(burst_at(&st, &p, 59000, 15, &v), 10);
    CU_ASSERT_FALSE(v.allowed);
    CU_ASSERT_EQUAL(v.retry_after_s, 1);            /* the window ends in 1 s */
    CU_ASSERT_EQUAL(burst_at(&st, &p, 60000, 15, &v), 10);
    /* 20 requests passed between 59.0 s and 60.0 s: twice the limit. */
    CU_ASSERT_EQUAL(v.retry_after_s, 60);
}

static void test_fixed_retry_after(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 3, 60000, 0);
    struct rl_state st = { 0 };
    struct rl_verdict v;
    CU_ASSERT_EQUAL(burst_at(&st, &p, 30000, 4, &v), 3);
    CU_ASSERT_EQUAL(v.retry_after_s, 30);
    CU_ASSERT_EQUAL(burst_at(&st, &p, 59001, 1, &v), 0);
    CU_ASSERT_EQUAL(v.retry_after_s, 1);            /* 999 ms rounds up */
    CU_ASSERT_EQUAL(burst_at(&st, &p, 180000, 4, NULL), 3);   /* windows skipped */
}

/* ---- sliding window ---- */

/* The same burst as above: right after the boundary the previous window
 * still weighs in full, so nothing more passes; the limit is held over
 * any 60 s span (to the approximation's precision). */
static void test_sliding_smooths_boundary(void)
{
    struct rl_params p = params(RL_SLIDING_WINDOW, 10, 60000, 0);
    struct rl_state st = { 0 };
    struct rl_verdict v;
    CU_ASSERT_EQUAL(burst_at(&st, &p, 59000, 15, NULL), 10);
    CU_ASSERT_EQUAL(burst_at(&st, &p, 60000, 15, &v), 0);    /* fixed window: 10 */
    CU_ASSERT_FALSE(v.allowed);
    /* prev 10 must fade to 9: 10 x (60 - x) / 60 <= 9 at x = 6 s. */
    CU_ASSERT_EQUAL(v.retry_after_s, 6);
    CU_ASSERT_EQUAL(burst_at(&st, &p, 65999, 1, NULL), 0);
    CU_ASSERT_EQUAL(burst_at(&st, &p, 66000, 5, NULL), 1);
    /* Half way: prev weighs 5, cur 1: 4 more. */
    CU_ASSERT_EQUAL(burst_at(&st, &p, 90000, 10, NULL), 4);
    /* Two windows later nothing weighs any more. */
    CU_ASSERT_EQUAL(burst_at(&st, &p, 180000, 15, NULL), 10);
}

static void test_sliding_retry_next_window(void)
{
    struct rl_params p = params(RL_SLIDING_WINDOW, 4, 10000, 0);
    struct rl_state st = { 0 };
    struct rl_verdict v;
    CU_ASSERT_EQUAL(burst_at(&st, &p, 2000, 5, &v), 4);
    /* Full window: wait for it to end (8 s), then for 4 to fade to 3
     * (2.5 s into the next): 10.5 s, rounded up. */
    CU_ASSERT_EQUAL(v.retry_after_s, 11);
    CU_ASSERT_EQUAL(burst_at(&st, &p, 12499, 1, NULL), 0);
    CU_ASSERT_EQUAL(burst_at(&st, &p, 12500, 2, NULL), 1);
}

/* ---- token bucket ---- */

static void test_token_burst_and_refill(void)
{
    struct rl_params p = params(RL_TOKEN_BUCKET, 10, 1000, 5);   /* 10/s, burst 5 */
    struct rl_state st = { 0 };
    struct rl_verdict v;
    CU_ASSERT_EQUAL(burst_at(&st, &p, 1000, 8, &v), 5);     /* the burst, exactly */
    CU_ASSERT_EQUAL(v.retry_after_s, 1);
    CU_ASSERT_EQUAL(burst_at(&st, &p, 1099, 3, NULL), 0);   /* 0.99 of a token */
    CU_ASSERT_EQUAL(burst_at(&st, &p, 1100, 3, NULL), 1);   /* one token per 100 ms */
    CU_ASSERT_EQUAL(burst_at(&st, &p, 1350, 3, NULL), 2);   /* 2.5 tokens: 2 ... */
    CU_ASSERT_EQUAL(burst_at(&st, &p, 1400, 3, NULL), 1);   /* ... and the half kept */
    CU_ASSERT_EQUAL(burst_at(&st, &p, 60000, 9, NULL), 5);  /* refill stops at burst */
}

static void test_token_slow_rate_retry(void)
{
    struct rl_params p = params(RL_TOKEN_BUCKET, 1, 60000, 1);
    struct rl_state st = { 0 };
    struct rl_verdict v;
    CU_ASSERT_EQUAL(burst_at(&st, &p, 5000, 2, &v), 1);
    CU_ASSERT_EQUAL(v.retry_after_s, 60);
    CU_ASSERT_EQUAL(burst_at(&st, &p, 35000, 1, &v), 0);
    CU_ASSERT_EQUAL(v.retry_after_s, 30);
    CU_ASSERT_EQUAL(burst_at(&st, &p, 65000, 2, NULL), 1);
}

/* Continuous refill: over 10 s at 10/s, 100 tokens plus the burst. */
static void test_token_steady_rate(void)
{
    struct rl_params p = params(RL_TOKEN_BUCKET, 10, 1000, 5);
    struct rl_state st = { 0 };
    unsigned ok = 0;
    for (uint64_t t = 0; t <= 10000; t += 7)
        ok += burst_at(&st, &p, t, 1, NULL);
    CU_ASSERT_EQUAL(ok, 5 + 100 - 1);   /* last refill step (t = 9996) leaves 0.4 */
}

static void test_clock_backwards(void)
{
    struct rl_params tb = params(RL_TOKEN_BUCKET, 10, 1000, 2);
    struct rl_params fw = params(RL_FIXED_WINDOW, 2, 1000, 0);
    struct rl_state a = { 0 }, b = { 0 };
    CU_ASSERT_EQUAL(burst_at(&a, &tb, 5000, 3, NULL), 2);
    CU_ASSERT_EQUAL(burst_at(&a, &tb, 1000, 3, NULL), 0);   /* no refill backwards */
    CU_ASSERT_EQUAL(burst_at(&a, &tb, 5100, 3, NULL), 1);
    CU_ASSERT_EQUAL(burst_at(&b, &fw, 5500, 3, NULL), 2);
    CU_ASSERT_EQUAL(burst_at(&b, &fw, 3000, 3, NULL), 0);   /* no window reset backwards */
}

/* ---- the pair (issue 6) ---- */

static void test_merge_windows_add_up(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 100, 60000, 0);
    struct rl_state a = { 0 }, b = { 0 };
    struct rl_node_report ra;
    CU_ASSERT_EQUAL(burst_at(&a, &p, 1000, 60, NULL), 60);
    rl_report(&a, RL_NODE_LOCAL, &ra);
    rl_merge(&b, &p, 1, &ra, 2000);
    rl_merge(&b, &p, 1, &ra, 2000);          /* repeated: no double count */
    CU_ASSERT_EQUAL(burst_at(&b, &p, 2000, 100, NULL), 40);  /* 100 for the pair */
    /* A stale report (fewer) never lowers the count. */
    ra.cur = 10;
    rl_merge(&b, &p, 1, &ra, 2000);
    CU_ASSERT_EQUAL(burst_at(&b, &p, 2000, 1, NULL), 0);
    /* Next window: the peer's old count only matters to a sliding window. */
    CU_ASSERT_EQUAL(burst_at(&b, &p, 60000, 200, NULL), 100);
}

static void test_merge_sliding_prev(void)
{
    struct rl_params p = params(RL_SLIDING_WINDOW, 10, 10000, 0);
    struct rl_state a = { 0 }, b = { 0 };
    struct rl_node_report ra;
    CU_ASSERT_EQUAL(burst_at(&a, &p, 9000, 10, NULL), 10);
    rl_report(&a, RL_NODE_LOCAL, &ra);       /* window 0 */
    rl_merge(&b, &p, 1, &ra, 15000);         /* b is in window 1: prev */
    CU_ASSERT_EQUAL(burst_at(&b, &p, 15000, 10, NULL), 5);
}

static void test_merge_token_bucket(void)
{
    struct rl_params p = params(RL_TOKEN_BUCKET, 10, 1000, 10);
    struct rl_state a = { 0 }, b = { 0 };
    struct rl_node_report ra;
    CU_ASSERT_EQUAL(burst_at(&a, &p, 1000, 10, NULL), 10);
    rl_report(&a, RL_NODE_LOCAL, &ra);
    CU_ASSERT_EQUAL(ra.spent, 10);
    rl_merge(&b, &p, 1, &ra, 1000);
    rl_merge(&b, &p, 1, &ra, 1000);
    CU_ASSERT_EQUAL(burst_at(&b, &p, 1000, 5, NULL), 0);
    CU_ASSERT_EQUAL(burst_at(&b, &p, 1500, 10, NULL), 5);    /* the pair refills at 10/s */
    rl_merge(&b, &p, RL_NODE_LOCAL, &ra, 1500);              /* own slot: ignored */
    CU_ASSERT_EQUAL(burst_at(&b, &p, 1600, 10, NULL), 1);
}

/* A report from more than one window ahead is a clock gone wrong: it
 * must not move the key into that window (where it would stay). */
static void test_merge_future_window(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 10, 1000, 0);
    struct rl_state b = { 0 };
    struct rl_node_report r = { .window = 7, .cur = 10 };
    rl_merge(&b, &p, RL_NODE_PEER, &r, 5500);                /* now is window 5 */
    CU_ASSERT(b.window < 7);
    CU_ASSERT_EQUAL(burst_at(&b, &p, 5500, 20, NULL), 10);
    r.window = 6;                                             /* one ahead: a little skew */
    rl_merge(&b, &p, RL_NODE_PEER, &r, 5900);
    CU_ASSERT_EQUAL(b.window, 6);
    CU_ASSERT_EQUAL(burst_at(&b, &p, 6000, 1, NULL), 0);
}

/* ---- the table ---- */

static void key_of(char *buf, size_t len, unsigned i)
{
    snprintf(buf, len, "key-%u", i);
}

static void test_table_lru_bound(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 1, 60000, 0);
    struct rl_table *t = rl_table_new(&p, 100);
    struct rl_table_stats s;
    struct rl_verdict v;
    char k[32];
    CU_ASSERT_EQUAL_FATAL(rl_table_shards(t), 1);
    for (unsigned i = 0; i < 1000; i++) {
        key_of(k, sizeof(k), i);
        rl_table_check(t, k, strlen(k), 1000, &v);
        CU_ASSERT(v.allowed);
    }
    rl_table_stats(t, &s);
    CU_ASSERT_EQUAL(s.keys, 100);
    CU_ASSERT_EQUAL(s.evicted, 900);
    CU_ASSERT_EQUAL(s.checks, 1000);
    rl_table_free(t);
}

/* The least recently used key goes, not the oldest. */
static void test_table_lru_order(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 1, 60000, 0);
    struct rl_table *t = rl_table_new(&p, 3);
    struct rl_verdict v;
    rl_table_check(t, "a", 1, 10, &v);
    rl_table_check(t, "b", 1, 10, &v);
    rl_table_check(t, "c", 1, 10, &v);
    rl_table_check(t, "a", 1, 11, &v);        /* refused, and now the most recent */
    CU_ASSERT_FALSE(v.allowed);
    rl_table_check(t, "d", 1, 12, &v);        /* evicts b */
    rl_table_check(t, "a", 1, 13, &v);
    CU_ASSERT_FALSE(v.allowed);               /* a kept its count */
    rl_table_check(t, "b", 1, 14, &v);
    CU_ASSERT_TRUE(v.allowed);                /* b started over */
    rl_table_free(t);
}

static void test_table_bound_sharded(void)
{
    struct rl_params p = params(RL_TOKEN_BUCKET, 5, 1000, 5);
    struct rl_table *t = rl_table_new(&p, 100000);
    struct rl_table_stats s;
    struct rl_verdict v;
    CU_ASSERT_EQUAL(rl_table_shards(t), 64);
    for (uint32_t i = 0; i < 250000; i++)
        rl_table_check(t, &i, sizeof(i), 1000, &v);
    rl_table_stats(t, &s);
    CU_ASSERT(s.keys <= 100000);
    CU_ASSERT(s.keys >= 99000);               /* every shard full, give or take */
    CU_ASSERT_EQUAL(s.keys + s.evicted, 250000);
    rl_table_free(t);
}

/* A key back to a fresh state is freed from the LRU tail by later lookups. */
static void test_table_expiry(void)
{
    struct rl_params p = params(RL_SLIDING_WINDOW, 2, 1000, 0);
    struct rl_table *t = rl_table_new(&p, 10);
    struct rl_table_stats s;
    struct rl_verdict v;
    rl_table_check(t, "old", 3, 500, &v);
    rl_table_check(t, "new", 3, 2499, &v);    /* 1999 ms: "old" still weighs */
    rl_table_stats(t, &s);
    CU_ASSERT_EQUAL(s.keys, 2);
    rl_table_check(t, "new", 3, 2500, &v);    /* 2 x per after its last use */
    rl_table_stats(t, &s);
    CU_ASSERT_EQUAL(s.expired, 1);
    CU_ASSERT_EQUAL(s.keys, 1);
    rl_table_free(t);
}

/* Keys past RL_KEY_MAX are hashed: still distinct, still the same key. */
static void test_table_long_keys(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 1, 60000, 0);
    struct rl_table *t = rl_table_new(&p, 10);
    struct rl_verdict v;
    char a[300], b[300];
    memset(a, 'x', sizeof(a));
    memcpy(b, a, sizeof(b));
    b[299] = 'y';
    rl_table_check(t, a, sizeof(a), 1, &v);
    CU_ASSERT(v.allowed);
    rl_table_check(t, b, sizeof(b), 1, &v);
    CU_ASSERT(v.allowed);
    rl_table_check(t, a, sizeof(a), 1, &v);
    CU_ASSERT_FALSE(v.allowed);
    rl_table_check(t, "", 0, 1, &v);          /* the empty key is a key */
    CU_ASSERT(v.allowed);
    rl_table_free(t);
}


/* ---- the table across the pair ---- */

#define SEEN_MAX 128

/* What a collect handed out. */
struct seen {
    unsigned n;
    unsigned char key[SEEN_MAX][RL_KEY_MAX];
    size_t len[SEEN_MAX];
    struct rl_node_report r[SEEN_MAX];
};

static void seen_add(const void *key, size_t len, const struct rl_node_report *r, void *arg)
{
    struct seen *s = arg;
    CU_ASSERT_FATAL(len <= RL_KEY_MAX && s->n < SEEN_MAX);
    memcpy(s->key[s->n], key, len);
    s->len[s->n] = len;
    s->r[s->n++] = *r;
}

static unsigned collect(struct rl_table *t, int all, unsigned max, struct seen *s)
{
    memset(s, 0, sizeof(*s));
    unsigned n = rl_table_collect(t, all, max, seen_add, s);
    CU_ASSERT_EQUAL(n, s->n);
    return n;
}

/* The report collect gave for key, or NULL. */
static const struct rl_node_report *seen_find(const struct seen *s, const char *key)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->len[i] == strlen(key) && memcmp(s->key[i], key, s->len[i]) == 0)
            return &s->r[i];
    return NULL;
}

struct merge_into {
    struct rl_table *t;
    uint64_t now_ms;
};

static void merge_one(const void *key, size_t len, const struct rl_node_report *r, void *arg)
{
    struct merge_into *m = arg;
    rl_table_merge(m->t, key, len, r, m->now_ms);
}

/* What the sync thread does each interval: from's changes into to. */
static unsigned exchange(struct rl_table *from, struct rl_table *to, uint64_t now_ms)
{
    struct merge_into m = { to, now_ms };
    return rl_table_collect(from, 0, 1000, merge_one, &m);
}

static unsigned table_burst(struct rl_table *t, const char *key, uint64_t now_ms, unsigned n)
{
    unsigned ok = 0;
    struct rl_verdict v;
    for (unsigned i = 0; i < n; i++) {
        rl_table_check(t, key, strlen(key), now_ms, &v);
        ok += v.allowed != 0;
    }
    return ok;
}

static void test_collect_changed_only(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 3, 60000, 0);
    struct rl_table *t = rl_table_new(&p, 100);
    struct rl_table_stats st;
    struct seen s;
    CU_ASSERT_EQUAL(table_burst(t, "a", 1000, 2), 2);
    CU_ASSERT_EQUAL(table_burst(t, "b", 1000, 1), 1);
    CU_ASSERT_EQUAL(collect(t, 0, 100, &s), 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(seen_find(&s, "a"));
    CU_ASSERT_EQUAL(seen_find(&s, "a")->cur, 2);
    CU_ASSERT_EQUAL(seen_find(&s, "a")->window, 0);
    CU_ASSERT_EQUAL(seen_find(&s, "b")->cur, 1);
    CU_ASSERT_EQUAL(collect(t, 0, 100, &s), 0);              /* nothing changed since */
    CU_ASSERT_EQUAL(table_burst(t, "a", 2000, 5), 1);        /* 1 counted, 4 refused */
    CU_ASSERT_EQUAL(collect(t, 0, 100, &s), 1);
    CU_ASSERT_EQUAL(seen_find(&s, "a")->cur, 3);
    CU_ASSERT_EQUAL(table_burst(t, "a", 3000, 5), 0);        /* refused: not counted */
    CU_ASSERT_EQUAL(collect(t, 0, 100, &s), 0);
    rl_table_stats(t, &st);
    CU_ASSERT_EQUAL(st.reported, 3);
    rl_table_free(t);
}

static void test_collect_all(void)
{
    struct rl_params p = params(RL_TOKEN_BUCKET, 5, 1000, 5);
    struct rl_table *t = rl_table_new(&p, 100);
    struct seen s;
    char k[32];
    for (unsigned i = 0; i < 20; i++) {
        key_of(k, sizeof(k), i);
        CU_ASSERT_EQUAL(table_burst(t, k, 1000, 1), 1);
    }
    CU_ASSERT_EQUAL(collect(t, 0, 100, &s), 20);
    CU_ASSERT_EQUAL(collect(t, 1, 100, &s), 20);             /* a (re)connect: everything */
    for (unsigned i = 0; i < 20; i++) {
        key_of(k, sizeof(k), i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(seen_find(&s, k));
        CU_ASSERT_EQUAL(seen_find(&s, k)->spent, 1);
    }
    CU_ASSERT_EQUAL(collect(t, 0, 100, &s), 0);
    rl_table_free(t);
}

/* max bounds a call; the rest follow in the next, every key exactly once,
 * also over 64 shards and with `all`. */
static void test_collect_max(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 5, 60000, 0);
    struct rl_table *t = rl_table_new(&p, 100000);
    static struct seen s;
    static unsigned char hits[300];
    char k[32];
    CU_ASSERT_EQUAL_FATAL(rl_table_shards(t), 64);
    for (int all = 0; all <= 1; all++) {
        memset(hits, 0, sizeof(hits));
        for (unsigned i = 0; i < 300 && !all; i++) {
            key_of(k, sizeof(k), i);
            table_burst(t, k, 1000, 1);
        }
        CU_ASSERT_EQUAL(collect(t, all, 0, &s), 0);
        for (unsigned call = 0; call < 3; call++) {
            CU_ASSERT_EQUAL(collect(t, all && call == 0, 100, &s), 100);
            for (unsigned i = 0; i < s.n; i++) {
                unsigned idx;
                s.key[i][s.len[i]] = 0;
                CU_ASSERT_FATAL(sscanf((char *)s.key[i], "key-%u", &idx) == 1 && idx < 300);
                hits[idx]++;
            }
        }
        CU_ASSERT_EQUAL(collect(t, 0, 100, &s), 0);
        for (unsigned i = 0; i < 300; i++)
            CU_ASSERT_EQUAL(hits[i], 1);
    }
    rl_table_free(t);
}

/* The case: 10 per minute for the pair. Each box admits what its
 * table allows; once the reports are exchanged both know the pair's total. */
static void pair_holds(enum rl_algo algo)
{
    struct rl_params p = params(algo, 10, 60000, 0);
    struct rl_table *a = rl_table_new(&p, 100), *b = rl_table_new(&p, 100);
    /* Sequential: B hears of A's 6 first, so the pair admits exactly 10. */
    CU_ASSERT_EQUAL(table_burst(a, "k", 1000, 6), 6);
    CU_ASSERT_EQUAL(exchange(a, b, 1100), 1);
    CU_ASSERT_EQUAL(table_burst(b, "k", 1200, 10), 4);
    CU_ASSERT_EQUAL(exchange(b, a, 1300), 1);
    CU_ASSERT_EQUAL(table_burst(a, "k", 1400, 10), 0);
    /* Within one interval: 6 on each box before any exchange (the bound
     * on overshoot), then both refuse. */
    CU_ASSERT_EQUAL(table_burst(a, "j", 2000, 6), 6);
    CU_ASSERT_EQUAL(table_burst(b, "j", 2000, 6), 6);
    CU_ASSERT_EQUAL(exchange(a, b, 2100), 1);
    CU_ASSERT_EQUAL(exchange(b, a, 2100), 1);
    CU_ASSERT_EQUAL(table_burst(a, "j", 2200, 1), 0);
    CU_ASSERT_EQUAL(table_burst(b, "j", 2200, 1), 0);
    struct rl_table_stats st;
    rl_table_stats(b, &st);
    CU_ASSERT_EQUAL(st.merged, 2);
    CU_ASSERT_EQUAL(st.reported, 2);
    rl_table_free(a);
    rl_table_free(b);
}

static void test_pair_fixed_window(void) { pair_holds(RL_FIXED_WINDOW); }
static void test_pair_sliding_window(void) { pair_holds(RL_SLIDING_WINDOW); }
static void test_pair_token_bucket(void) { pair_holds(RL_TOKEN_BUCKET); }

/* A restarted peer's bucket spending counts from 0 again: without
 * rl_table_peer_restarted its new reports (below its old total) would be
 * ignored and the pair would admit more than the limit. */
static void test_peer_restart_token_bucket(void)
{
    struct rl_params p = params(RL_TOKEN_BUCKET, 10, 3600000, 10);
    struct rl_table *a = rl_table_new(&p, 100), *b = rl_table_new(&p, 100);
    CU_ASSERT_EQUAL(table_burst(a, "k", 1000, 5), 5);
    CU_ASSERT_EQUAL(exchange(a, b, 1100), 1);       /* b knows a spent 5 */
    rl_table_free(a);                                /* a restarts: a fresh table */
    a = rl_table_new(&p, 100);
    rl_table_peer_restarted(b);
    CU_ASSERT_EQUAL(table_burst(a, "k", 1200, 3), 3);
    CU_ASSERT_EQUAL(exchange(a, b, 1300), 1);       /* a's new total: 3 */
    CU_ASSERT_EQUAL(table_burst(b, "k", 1400, 10), 2);   /* 10 - 5 - 3 */
    rl_table_free(a);
    rl_table_free(b);
}

/* A merge is not local activity: nothing to send back, so the boxes do
 * not echo each other; a key only the peer counted has no slot of ours
 * to report even on a (re)connect. */
static void test_merge_not_dirty(void)
{
    struct rl_params p = params(RL_SLIDING_WINDOW, 10, 60000, 0);
    struct rl_table *a = rl_table_new(&p, 100), *b = rl_table_new(&p, 100);
    struct seen s;
    table_burst(a, "k", 1000, 3);
    CU_ASSERT_EQUAL(exchange(a, b, 1000), 1);
    CU_ASSERT_EQUAL(collect(b, 0, 100, &s), 0);
    CU_ASSERT_EQUAL(collect(b, 1, 100, &s), 0);
    table_burst(b, "k", 1000, 1);                  /* B's own request: B reports it */
    CU_ASSERT_EQUAL(collect(b, 0, 100, &s), 1);
    CU_ASSERT_EQUAL(seen_find(&s, "k")->cur, 1);   /* its own slot, not the sum */
    rl_table_free(a);
    rl_table_free(b);
}

/* Keys the peer reports are bounded like any: past max_keys the least
 * recently used goes. */
static void test_merge_bounded(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 10, 60000, 0);
    struct rl_table *t = rl_table_new(&p, 3);
    struct rl_node_report r = { .window = 0, .cur = 10 };
    struct rl_table_stats st;
    char k[32];
    CU_ASSERT_EQUAL(table_burst(t, "mine", 1000, 1), 1);
    for (unsigned i = 0; i < 5; i++) {
        key_of(k, sizeof(k), i);
        rl_table_merge(t, k, strlen(k), &r, 1000 + i);
    }
    rl_table_stats(t, &st);
    CU_ASSERT_EQUAL(st.keys, 3);
    CU_ASSERT_EQUAL(st.evicted, 3);
    CU_ASSERT_EQUAL(st.merged, 5);
    CU_ASSERT_EQUAL(table_burst(t, "key-4", 2000, 1), 0);   /* the newest kept its count */
    struct seen s;
    CU_ASSERT_EQUAL(collect(t, 1, 10, &s), 0);       /* "mine" left the dirty list too */
    rl_table_free(t);
}

/* Max per slot: the same reports again, or the older after the newer,
 * leave the peer's count at its newest. */
static void merge_reordered(enum rl_algo algo)
{
    struct rl_params p = params(algo, 10, 60000, 0);
    struct rl_table *a = rl_table_new(&p, 100), *b = rl_table_new(&p, 100);
    struct seen r1, r2;
    table_burst(a, "k", 1000, 3);
    collect(a, 0, 10, &r1);
    table_burst(a, "k", 1000, 4);
    collect(a, 0, 10, &r2);
    CU_ASSERT_EQUAL_FATAL(r1.n + r2.n, 2);
    const struct seen *order[] = { &r2, &r1, &r2, &r1, &r1 };
    for (unsigned i = 0; i < 5; i++)
        rl_table_merge(b, order[i]->key[0], order[i]->len[0], &order[i]->r[0], 1000);
    CU_ASSERT_EQUAL(table_burst(b, "k", 1000, 10), 3);
    rl_table_free(a);
    rl_table_free(b);
}

static void test_merge_reordered(void)
{
    merge_reordered(RL_FIXED_WINDOW);
    merge_reordered(RL_SLIDING_WINDOW);
    merge_reordered(RL_TOKEN_BUCKET);
}

/* A long key's stored form is its digest, the same in any table of any
 * process (no per-table seed in it), and the peer's count for it lands on
 * the same key here. */
static void test_long_key_stored_alike(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 1, 60000, 0);
    struct rl_table *a = rl_table_new(&p, 10), *b = rl_table_new(&p, 10);
    struct seen sa, sb;
    struct rl_verdict v;
    char k[300];
    memset(k, 'x', sizeof(k));
    rl_table_check(a, k, sizeof(k), 1000, &v);
    rl_table_check(b, k, sizeof(k), 1000, &v);
    CU_ASSERT_EQUAL_FATAL(collect(a, 0, 10, &sa), 1);
    CU_ASSERT_EQUAL_FATAL(collect(b, 0, 10, &sb), 1);
    CU_ASSERT_EQUAL(sa.len[0], 16);
    CU_ASSERT_EQUAL(sb.len[0], 16);
    CU_ASSERT(memcmp(sa.key[0], sb.key[0], 16) == 0);
    /* A fresh table hears of it and refuses the long key. */
    struct rl_table *c = rl_table_new(&p, 10);
    rl_table_merge(c, sa.key[0], sa.len[0], &sa.r[0], 1100);
    rl_table_check(c, k, sizeof(k), 1200, &v);
    CU_ASSERT_FALSE(v.allowed);
    /* Keys up to RL_KEY_MAX are handed out as they are. */
    char m[RL_KEY_MAX];
    memset(m, 'y', sizeof(m));
    rl_table_check(a, m, sizeof(m), 1000, &v);
    CU_ASSERT_EQUAL_FATAL(collect(a, 0, 10, &sa), 1);
    CU_ASSERT_EQUAL(sa.len[0], RL_KEY_MAX);
    CU_ASSERT(memcmp(sa.key[0], m, sizeof(m)) == 0);
    rl_table_merge(c, k, RL_KEY_MAX + 1, &sa.r[0], 1100);   /* not a stored form */
    struct rl_table_stats st;
    rl_table_stats(c, &st);
    CU_ASSERT_EQUAL(st.merged, 1);
    rl_table_free(a);
    rl_table_free(b);
    rl_table_free(c);
}

/* A key only the peer counted lives as long as its counts matter: lookups
 * of other keys must not free it as fresh before, and do free it after. */
static void peer_only_lives(enum rl_algo algo, uint64_t at, unsigned want)
{
    struct rl_params p = params(algo, 10, 60000, 0);
    struct rl_table *b = rl_table_new(&p, 100);
    struct rl_node_report r = { .window = 0, .cur = 10, .spent = 10 };
    struct rl_table_stats st;
    uint64_t idle = rl_idle_expiry_ms(&p);
    rl_table_merge(b, "k", 1, &r, 1000);
    rl_table_merge(b, "m", 1, &r, 1000);
    table_burst(b, "other", at, 1);                  /* frees what is stale */
    CU_ASSERT_EQUAL(table_burst(b, "k", at, 10), want);
    table_burst(b, "other", 1000 + idle - 1, 1);
    rl_table_stats(b, &st);
    CU_ASSERT_EQUAL(st.keys, 3);
    CU_ASSERT_EQUAL(st.expired, 0);
    table_burst(b, "other", 1000 + idle, 1);         /* m's counts are over now */
    rl_table_stats(b, &st);
    CU_ASSERT_EQUAL(st.expired, 1);
    rl_table_free(b);
}

static void test_peer_only_key_lives(void)
{
    peer_only_lives(RL_FIXED_WINDOW, 59999, 0);
    /* 40 s into the next window, the peer's 10 still weigh 10 x 20/60. */
    peer_only_lives(RL_SLIDING_WINDOW, 100000, 6);
    peer_only_lives(RL_TOKEN_BUCKET, 31000, 5);     /* half the bucket refilled */
}

/* ---- threads ---- */

#define SMOKE_THREADS 8
#define SMOKE_CHECKS  200000

struct smoke_arg {
    struct rl_table *t;
    int per_thread_keys;
    unsigned id;
    unsigned allowed;
};

static void *smoke_run(void *p)
{
    struct smoke_arg *a = p;
    struct rl_verdict v;
    for (uint32_t i = 0; i < SMOKE_CHECKS; i++) {
        uint32_t key[2] = { a->id, i % 4096 };
        if (a->per_thread_keys)
            rl_table_check(a->t, key, sizeof(key), 1000, &v);
        else
            rl_table_check(a->t, "", 0, 1000, &v);
        a->allowed += v.allowed != 0;
    }
    return NULL;
}

static double smoke(struct rl_table *t, int per_thread_keys, unsigned *allowed)
{
    pthread_t th[SMOKE_THREADS];
    struct smoke_arg args[SMOKE_THREADS];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < SMOKE_THREADS; i++) {
        args[i] = (struct smoke_arg){ t, per_thread_keys, i, 0 };
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, smoke_run, &args[i]), 0);
    }
    *allowed = 0;
    for (unsigned i = 0; i < SMOKE_THREADS; i++) {
        pthread_join(th[i], NULL);
        *allowed += args[i].allowed;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
    return ns / (SMOKE_THREADS * (double)SMOKE_CHECKS);
}

/* One key hammered by every thread: the count is exact (no lost update),
 * and what the shared lock costs is printed for the record. */
static void test_threads_global_key(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 12345, 3600000, 0);
    struct rl_table *t = rl_table_new(&p, 100000);
    struct rl_table_stats s;
    unsigned allowed;
    double ns = smoke(t, 0, &allowed);
    CU_ASSERT_EQUAL(allowed, 12345);
    rl_table_stats(t, &s);
    CU_ASSERT_EQUAL(s.checks, (uint64_t)SMOKE_THREADS * SMOKE_CHECKS);
    printf("# global key, %d threads: %.0f ns/check (wall / all checks), %.2f%% contended\n",
           SMOKE_THREADS, ns, 100.0 * (double)s.contended / (double)s.checks);
    rl_table_free(t);
}

static void test_threads_many_keys(void)
{
    struct rl_params p = params(RL_TOKEN_BUCKET, 100, 1000, 10);
    struct rl_table *t = rl_table_new(&p, 20000);
    struct rl_table_stats s;
    unsigned allowed;
    double ns = smoke(t, 1, &allowed);
    rl_table_stats(t, &s);
    CU_ASSERT(s.keys <= 20000);
    /* 8 x 4096 keys, 10 tokens each at a frozen clock, minus evictions. */
    CU_ASSERT(allowed >= 10u * 20000 && allowed <= 10u * SMOKE_THREADS * 4096 + s.evicted * 10);
    printf("# many keys (%u shards), %d threads: %.0f ns/check, %.3f%% contended\n",
           rl_table_shards(t), SMOKE_THREADS, ns,
           100.0 * (double)s.contended / (double)s.checks);
    rl_table_free(t);
}

/* The sync thread collects while workers count: no count goes unreported
 * (the last report of each key is its final count). */
#define RACE_THREADS 4
#define RACE_KEYS    64
#define RACE_CHECKS  19200        /* a multiple of RACE_KEYS */

struct race_arg {
    struct rl_table *t;
    uint32_t id;
};

static void *race_run(void *p)
{
    struct race_arg *a = p;
    struct rl_verdict v;
    for (uint32_t i = 0; i < RACE_CHECKS; i++) {
        uint32_t key[2] = { a->id, i % RACE_KEYS };
        rl_table_check(a->t, key, sizeof(key), 1000, &v);
    }
    return NULL;
}

static void race_seen(const void *key, size_t len, const struct rl_node_report *r, void *arg)
{
    uint32_t (*last)[RACE_KEYS] = arg, k[2];
    CU_ASSERT_FATAL(len == sizeof(k));
    memcpy(k, key, sizeof(k));
    CU_ASSERT_FATAL(k[0] < RACE_THREADS && k[1] < RACE_KEYS);
    CU_ASSERT(r->cur >= last[k[0]][k[1]]);           /* reports of a key only grow */
    last[k[0]][k[1]] = r->cur;
}

static void test_threads_collect_while_checking(void)
{
    struct rl_params p = params(RL_FIXED_WINDOW, 1000000, 3600000, 0);
    struct rl_table *t = rl_table_new(&p, 100000);
    static uint32_t last[RACE_THREADS][RACE_KEYS];
    pthread_t th[RACE_THREADS];
    struct race_arg args[RACE_THREADS];
    memset(last, 0, sizeof(last));
    for (uint32_t i = 0; i < RACE_THREADS; i++) {
        args[i] = (struct race_arg){ t, i };
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, race_run, &args[i]), 0);
    }
    for (unsigned i = 0; i < 2000; i++)
        rl_table_collect(t, i % 500 == 0, 7, race_seen, last);
    for (unsigned i = 0; i < RACE_THREADS; i++)
        pthread_join(th[i], NULL);
    while (rl_table_collect(t, 0, 7, race_seen, last))
        ;
    for (unsigned i = 0; i < RACE_THREADS; i++)
        for (unsigned k = 0; k < RACE_KEYS; k++)
            CU_ASSERT_EQUAL(last[i][k], RACE_CHECKS / RACE_KEYS);
    rl_table_free(t);
}

/* ---- config ---- */

static const char *conf_head =
    "backends = ( { name = \"web\"; servers = ( { name = \"w1\"; addr = \"127.0.0.1:9001\"; } ); } );\n";

static struct tandem_config *load(const char *frontends, struct conf_errors *errs)
{
    char text[4096];
    snprintf(text, sizeof(text), "%sfrontends = ( %s );\n", conf_head, frontends);
    memset(errs, 0, sizeof(*errs));
    return conf_load_proxy_string(text, "t.conf", errs);
}

static void test_conf_good(void)
{
    struct conf_errors errs;
    struct tandem_config *cfg = load(
        "{ name = \"www\"; bind = \"127.0.0.1:8080\"; mode = \"http\";\n"
        "  rate_limit = ( { name = \"api-per-key\"; key = \"header:X-API-Key\";\n"
        "                   algorithm = \"sliding_window\"; rate = 100; per = \"1m\"; },\n"
        "                 { rate = 5; burst = 2; max_keys = 50; } );\n"
        "  routes = ( { path_prefix = \"/login\"; backend = \"web\";\n"
        "               rate_limit = { key = \"cookie:uid\"; algorithm = \"fixed_window\"; rate = 3; }; },\n"
        "             { backend = \"web\"; } ); },\n"
        "{ name = \"raw\"; bind = \"127.0.0.1:8081\"; mode = \"tcp\"; backend = \"web\";\n"
        "  rate_limit = { key = \"global\"; rate = 1000; }; }", &errs);
    for (unsigned i = 0; i < errs.n; i++)
        printf("# %s\n", errs.msgs[i]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const struct conf_ratelimits *l = &cfg->frontends[0].rate_limits;
    CU_ASSERT_EQUAL_FATAL(l->n, 2);
    CU_ASSERT_STRING_EQUAL(l->v[0].name, "api-per-key");
    CU_ASSERT_EQUAL(l->v[0].key, RL_KEY_HEADER);
    CU_ASSERT_STRING_EQUAL(l->v[0].key_name, "X-API-Key");
    CU_ASSERT_EQUAL(l->v[0].algo, RL_SLIDING_WINDOW);
    CU_ASSERT_EQUAL(l->v[0].per_ms, 60000);
    CU_ASSERT_EQUAL(l->v[0].max_keys, 100000);
    CU_ASSERT_STRING_EQUAL(l->v[1].name, "www.2");
    CU_ASSERT_EQUAL(l->v[1].key, RL_KEY_IP);
    CU_ASSERT_EQUAL(l->v[1].algo, RL_TOKEN_BUCKET);
    CU_ASSERT_EQUAL(l->v[1].burst, 2);
    CU_ASSERT_EQUAL(l->v[1].per_ms, 1000);
    CU_ASSERT_EQUAL(l->v[1].max_keys, 50);
    const struct conf_ratelimits *r = &cfg->frontends[0].routes[0].rate_limits;
    CU_ASSERT_EQUAL_FATAL(r->n, 1);
    CU_ASSERT_STRING_EQUAL(r->v[0].name, "www.route1.1");
    CU_ASSERT_EQUAL(r->v[0].key, RL_KEY_COOKIE);
    CU_ASSERT_EQUAL(r->v[0].burst, 3);        /* defaults to rate, unused here */
    CU_ASSERT_EQUAL(cfg->frontends[1].rate_limits.v[0].key, RL_KEY_GLOBAL);
    conf_free(cfg);
    conf_errors_free(&errs);
}

/* Loading frontends fails with an error that starts with want. */
static void expect_error(const char *frontends, const char *want)
{
    struct conf_errors errs;
    struct tandem_config *cfg = load(frontends, &errs);
    CU_ASSERT_PTR_NULL(cfg);
    int found = 0;
    for (unsigned e = 0; e < errs.n; e++)
        found |= strncmp(errs.msgs[e], want, strlen(want)) == 0;
    if (!found) {
        printf("# want \"%s\", got:\n", want);
        for (unsigned e = 0; e < errs.n; e++)
            printf("#   %s\n", errs.msgs[e]);
    }
    CU_ASSERT(found);
    conf_free(cfg);
    conf_errors_free(&errs);
}

/* Each bad snippet and the start of the message it must produce. */
static void test_conf_errors(void)
{
    static const struct { const char *fe, *want; } cases[] = {
        { "rate_limit = { key = \"header:X-Key\"; rate = 1; }; mode = \"tcp\"; backend = \"web\";",
          "t.conf:2: frontend \"f\": rate_limit #1: key \"header:X-Key\" needs mode http" },
        { "rate_limit = { algorithm = \"fixed_window\"; rate = 1; burst = 3; }; mode = \"http\"; backend = \"web\";",
          "t.conf:2: frontend \"f\": rate_limit #1: burst applies only to algorithm \"token_bucket\"" },
        { "rate_limit = { key = \"ip\"; }; mode = \"http\"; backend = \"web\";",
          "t.conf:2: frontend \"f\": rate_limit #1: missing required key \"rate\"" },
        { "rate_limit = { rate = 0; }; mode = \"http\"; backend = \"web\";",
          "t.conf:2: frontend \"f\": rate_limit #1: rate 0 is out of range" },
        { "rate_limit = { rate = 1; algorithm = \"leaky\"; }; mode = \"http\"; backend = \"web\";",
          "t.conf:2: frontend \"f\": rate_limit #1: algorithm \"leaky\" is unknown" },
        { "rate_limit = { rate = 1; key = \"user\"; }; mode = \"http\"; backend = \"web\";",
          "t.conf:2: frontend \"f\": rate_limit #1: key \"user\" is unknown" },
        { "rate_limit = ( { name = \"x\"; rate = 1; }, { name = \"x\"; rate = 2; } ); mode = \"http\"; backend = \"web\";",
          "t.conf:2: frontend \"f\": rate_limit \"x\": rate_limit name \"x\" is already used" },
        { "rate_limit = { rate = 1; }; mode = \"udp\"; backend = \"web\";",
          "t.conf:2: frontend \"f\": rate_limit applies only to modes http and tcp" },
        { "rate_limit = { rate = 1; per = \"1x\"; }; mode = \"http\"; backend = \"web\";",
          "t.conf:2: frontend \"f\": rate_limit #1: per \"1x\"" },
        /* tcp routes (sni) have no limits of their own: refused, not ignored */
        { "mode = \"tcp\"; backend = \"web\"; routes = ( { sni = \"a.example\"; backend = \"web\";"
          " rate_limit = { key = \"ip\"; rate = 1; }; } );",
          "t.conf:2: frontend \"f\": route 1: rate_limit applies only to mode http" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char fe[1024];
        snprintf(fe, sizeof(fe), "{ name = \"f\"; bind = \"127.0.0.1:8080\"; %s }", cases[i].fe);
        expect_error(fe, cases[i].want);
    }
}

/* The sync channel names limits by name: unique in the file, across
 * frontends and routes, defaults included. */
static void test_conf_names_unique(void)
{
    static const struct { const char *fes, *want; } cases[] = {
        { "{ name = \"a\"; bind = \"127.0.0.1:8080\"; mode = \"http\"; backend = \"web\";"
          " rate_limit = { name = \"n\"; rate = 1; }; },\n"
          "{ name = \"b\"; bind = \"127.0.0.1:8081\"; mode = \"http\"; backend = \"web\";"
          " rate_limit = { name = \"n\"; rate = 1; }; }",
          "t.conf:3: frontend \"b\": rate_limit \"n\": rate_limit name \"n\" is already used"
          " by the limit on line 2" },
        { "{ name = \"a\"; bind = \"127.0.0.1:8080\"; mode = \"http\";"
          " rate_limit = { name = \"n\"; rate = 1; };\n"
          " routes = ( { backend = \"web\"; rate_limit = { name = \"n\"; rate = 1; }; } ); }",
          "t.conf:3: frontend \"a\": route 1: rate_limit \"n\": rate_limit name \"n\" is"
          " already used by the limit on line 2" },
        { "{ name = \"a\"; bind = \"127.0.0.1:8080\"; mode = \"http\"; backend = \"web\";"
          " rate_limit = { name = \"b.1\"; rate = 1; }; },\n"
          "{ name = \"b\"; bind = \"127.0.0.1:8081\"; mode = \"http\"; backend = \"web\";"
          " rate_limit = { rate = 1; }; }",
          "t.conf:3: frontend \"b\": rate_limit #1: rate_limit name \"b.1\" is already used"
          " by the limit on line 2" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_error(cases[i].fes, cases[i].want);
}

/* ---- the runtime: enforcement keys, reload keeps counts ---- */

static struct runtime *rt_from(const char *limit, struct runtime *prev)
{
    char fe[1024];
    struct conf_errors errs;
    snprintf(fe, sizeof(fe), "{ name = \"www\"; bind = \"127.0.0.1:8080\"; mode = \"http\";"
             " rate_limit = %s; routes = ( { path = \"/x\"; backend = \"web\";"
             " rate_limit = { name = \"x\"; key = \"global\"; rate = 1; }; },"
             " { backend = \"web\"; } ); }", limit);
    struct tandem_config *cfg = load(fe, &errs);
    CU_ASSERT_PTR_NOT_NULL(cfg);
    conf_errors_free(&errs);
    return cfg ? runtime_build(cfg, prev) : NULL;
}

static void parse_req(const char *text, struct http_req *req, struct http_hdr *hdrs)
{
    static const struct http_limits lim = { 8192, 32768, 16 };
    struct http_error err;
    req->hdrs = hdrs;
    req->hdrs_cap = 16;
    CU_ASSERT_EQUAL(http_parse_request(text, strlen(text), &lim, req, &err), HTTP_PARSE_OK);
}

static void test_runtime_keys(void)
{
    struct runtime *rt = rt_from("{ name = \"k\"; key = \"header:X-Key\"; algorithm ="
                                 " \"fixed_window\"; rate = 2; per = \"1h\"; }", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    inet_pton(AF_INET, "198.51.100.2", &sin.sin_addr);
    const struct sockaddr *sa = (const struct sockaddr *)&sin;
    const struct rl_frontend *rf = rt->frontends[0].rl;
    struct http_hdr hdrs[16];
    struct http_req with, without;
    struct rl_verdict v;
    parse_req("GET / HTTP/1.1\r\nHost: a\r\nX-Key: k1\r\n\r\n", &with, hdrs);
    unsigned ok = 0;
    for (int i = 0; i < 5; i++)
        ok += ratelimit_check_http(rf, 1, sa, &with, 1000, &v) == NULL;
    CU_ASSERT_EQUAL(ok, 2);
    CU_ASSERT_STRING_EQUAL(ratelimit_check_http(rf, 1, sa, &with, 1000, &v)->name, "k");
    struct http_hdr hdrs2[16];
    parse_req("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &without, hdrs2);
    for (int i = 0; i < 5; i++)                  /* no key: not limited by it */
        CU_ASSERT_PTR_NULL(ratelimit_check_http(rf, 1, sa, &without, 1000, &v));
    /* Route 0 ("/x") adds its global limit of 1. */
    CU_ASSERT_PTR_NULL(ratelimit_check_http(rf, 0, sa, &without, 1000, &v));
    CU_ASSERT_STRING_EQUAL(ratelimit_check_http(rf, 0, sa, &without, 1000, &v)->name, "x");
    runtime_unref(rt);
}

static void test_runtime_reload_keeps_counts(void)
{
    const char *lim = "{ name = \"ip\"; algorithm = \"fixed_window\"; rate = 3; per = \"1h\"; }";
    struct runtime *a = rt_from(lim, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    struct runtime *b = rt_from(lim, a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_EQUAL(a->frontends[0].rl->fe.v[0], b->frontends[0].rl->fe.v[0]);
    CU_ASSERT_PTR_EQUAL(a->frontends[0].rl->routes[0].v[0], b->frontends[0].rl->routes[0].v[0]);
    runtime_unref(a);
    struct runtime *c = rt_from("{ name = \"ip\"; algorithm = \"fixed_window\"; rate = 4;"
                                " per = \"1h\"; }", b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NOT_EQUAL(b->frontends[0].rl->fe.v[0], c->frontends[0].rl->fe.v[0]);
    CU_ASSERT_PTR_EQUAL(b->frontends[0].rl->routes[0].v[0], c->frontends[0].rl->routes[0].v[0]);
    runtime_unref(b);
    runtime_unref(c);
}


static void limit_name_add(struct rl_limit *l, void *arg)
{
    char *names = arg;
    strcat(names, l->name);
    strcat(names, " ");
}

static void test_runtime_each_find(void)
{
    struct runtime *rt = rt_from("( { name = \"a\"; rate = 5; }, { name = \"b\"; rate = 6; } )",
                                 NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    struct rl_frontend *rf = rt->frontends[0].rl;
    char names[64] = "";
    ratelimit_runtime_each(rt, limit_name_add, names);
    CU_ASSERT_STRING_EQUAL(names, "a b x ");
    CU_ASSERT_PTR_EQUAL(ratelimit_runtime_find(rt, "b"), rf->fe.v[1]);
    CU_ASSERT_PTR_EQUAL(ratelimit_runtime_find(rt, "x"), rf->routes[0].v[0]);
    CU_ASSERT_PTR_NULL(ratelimit_runtime_find(rt, "c"));
    /* A limit attached to a second place is still one limit. */
    CU_ASSERT_EQUAL_FATAL(rf->routes[1].n, 0);
    rf->routes[1] = rf->fe;
    names[0] = 0;
    ratelimit_runtime_each(rt, limit_name_add, names);
    CU_ASSERT_STRING_EQUAL(names, "a b x ");
    rf->routes[1] = (struct rl_list){ NULL, 0 };
    runtime_unref(rt);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_fixed_boundary_burst),
    UNIT_TEST(test_fixed_retry_after),
    UNIT_TEST(test_sliding_smooths_boundary),
    UNIT_TEST(test_sliding_retry_next_window),
    UNIT_TEST(test_token_burst_and_refill),
    UNIT_TEST(test_token_slow_rate_retry),
    UNIT_TEST(test_token_steady_rate),
    UNIT_TEST(test_clock_backwards),
    UNIT_TEST(test_merge_windows_add_up),
    UNIT_TEST(test_merge_sliding_prev),
    UNIT_TEST(test_merge_token_bucket),
    UNIT_TEST(test_merge_future_window),
    UNIT_TEST(test_table_lru_bound),
    UNIT_TEST(test_table_lru_order),
    UNIT_TEST(test_table_bound_sharded),
    UNIT_TEST(test_table_expiry),
    UNIT_TEST(test_table_long_keys),
    UNIT_TEST(test_collect_changed_only),
    UNIT_TEST(test_collect_all),
    UNIT_TEST(test_collect_max),
    UNIT_TEST(test_pair_fixed_window),
    UNIT_TEST(test_pair_sliding_window),
    UNIT_TEST(test_pair_token_bucket),
    UNIT_TEST(test_peer_restart_token_bucket),
    UNIT_TEST(test_merge_not_dirty),
    UNIT_TEST(test_merge_bounded),
    UNIT_TEST(test_merge_reordered),
    UNIT_TEST(test_long_key_stored_alike),
    UNIT_TEST(test_peer_only_key_lives),
    UNIT_TEST(test_threads_global_key),
    UNIT_TEST(test_threads_many_keys),
    UNIT_TEST(test_threads_collect_while_checking),
    UNIT_TEST(test_conf_good),
    UNIT_TEST(test_conf_errors),
    UNIT_TEST(test_conf_names_unique),
    UNIT_TEST(test_runtime_keys),
    UNIT_TEST(test_runtime_reload_keeps_counts),
    UNIT_TEST(test_runtime_each_find),
    { NULL, NULL }
};

int main(void)
{
    return unit_run("ratelimit", tests);
}
