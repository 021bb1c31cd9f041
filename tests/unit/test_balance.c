/* test_balance.c - server state helpers and every load-balancing
 * algorithm: exact sequences, distributions with fixed seeds, the Maglev
 * remapping bound, and the NONE_UP / ALL_FULL / avoid rules. Time is a fake
 * clock passed as now_ms. */
#include "config.h"
#include "unit.h"
#include "balance_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FX_MAX 1000
#define NOW    UINT64_C(1000000)     /* fake clock: long after any UP event */

struct fixture {
    struct backend be;
    struct server srv[FX_MAX];
    struct server *ptr[FX_MAX];
    char names[FX_MAX][16];
};

static struct fixture fx;

/* n servers named A, B, C... (s26, s27... beyond Z), all UP since the
 * runtime was built, weights from w (NULL: all 1). */
static void fx_setup(enum lb_algo algo, unsigned n, const int *w)
{
    memset(&fx, 0, sizeof(fx));
    fx.be.name = "be";
    fx.be.algo = algo;
    fx.be.servers = fx.ptr;
    fx.be.nservers = n;
    for (unsigned i = 0; i < n; i++) {
        struct server *s = &fx.srv[i];
        if (i < 26)
            snprintf(fx.names[i], sizeof(fx.names[i]), "%c", 'A' + i);
        else
            snprintf(fx.names[i], sizeof(fx.names[i]), "s%u", i);
        s->name = fx.names[i];
        s->index = i;
        s->backend = &fx.be;
        atomic_store(&s->state, SRV_UP);
        atomic_store(&s->weight, w ? w[i] : 1);
        fx.ptr[i] = s;
    }
}

static int pick_index(struct balancer *b, const void *key, size_t keylen,
                      const struct server *avoid, uint64_t now, enum lb_result *why)
{
    struct server *s = balancer_pick(b, key, keylen, avoid, now, why);
    return s ? (int)s->index : -1;
}

/* Picks `count` times without a key; returns the names picked, in order. */
static const char *pick_sequence(struct balancer *b, unsigned count, uint64_t now)
{
    static char seq[256];
    unsigned i;
    for (i = 0; i < count && i < sizeof(seq) - 1; i++) {
        int idx = pick_index(b, NULL, 0, NULL, now, NULL);
        seq[i] = idx < 0 ? '-' : fx.names[idx][0];
    }
    seq[i] = '\0';
    return seq;
}

/* A key that works for every algorithm: 4 IPv4-like bytes. */
static void key_bytes(unsigned i, uint8_t key[4])
{
    key[0] = 198;
    key[1] = (uint8_t)(i >> 16);
    key[2] = (uint8_t)(i >> 8);
    key[3] = (uint8_t)i;
}

static int pick_keyed(struct balancer *b, unsigned i, const struct server *avoid,
                      enum lb_result *why)
{
    uint8_t key[4];
    key_bytes(i, key);
    return pick_index(b, key, sizeof(key), avoid, NOW, why);
}

static const enum lb_algo all_algos[] = {
    LB_ROUNDROBIN, LB_WRR, LB_LEASTCONN, LB_WLEASTCONN, LB_SOURCE,
    LB_HASH, LB_LEASTTIME, LB_RANDOM, LB_P2C,
};
#define N_ALGOS (sizeof(all_algos) / sizeof(all_algos[0]))

/* ---- server.c ---- */

static void test_server_state_name(void)
{
    CU_ASSERT_STRING_EQUAL(server_state_name(SRV_UP), "UP");
    CU_ASSERT_STRING_EQUAL(server_state_name(SRV_DOWN), "DOWN");
    CU_ASSERT_STRING_EQUAL(server_state_name(SRV_DRAIN), "DRAIN");
    CU_ASSERT_STRING_EQUAL(server_state_name(SRV_MAINT), "MAINT");
    CU_ASSERT_STRING_EQUAL(server_state_name((enum srv_state)42), "UNKNOWN");
}

static void test_server_usable(void)
{
    fx_setup(LB_ROUNDROBIN, 1, NULL);
    struct server *s = &fx.srv[0];
    CU_ASSERT_TRUE(server_is_usable(s));
    atomic_store(&s->state, SRV_DOWN);
    CU_ASSERT_FALSE(server_is_usable(s));
    atomic_store(&s->state, SRV_DRAIN);
    CU_ASSERT_FALSE(server_is_usable(s));
    atomic_store(&s->state, SRV_MAINT);
    CU_ASSERT_FALSE(server_is_usable(s));
    atomic_store(&s->state, SRV_UP);
    atomic_store(&s->weight, 0);
    CU_ASSERT_FALSE(server_is_usable(s));
    atomic_store(&s->weight, 1);
    s->maxconn = 2;
    atomic_store(&s->active, 1);
    CU_ASSERT_TRUE(server_is_usable(s));
    atomic_store(&s->active, 2);
    CU_ASSERT_FALSE(server_is_usable(s));
    s->maxconn = 0;
    atomic_store(&s->active, 1000000);
    CU_ASSERT_TRUE(server_is_usable(s));
}

static void test_server_slowstart_ramp(void)
{
    fx_setup(LB_WRR, 1, (const int[]){ 100 });
    struct server *s = &fx.srv[0];
    s->slowstart_ms = 10000;
    CU_ASSERT_EQUAL(server_effective_weight(s, 5), 100);      /* up since start: no ramp */
    atomic_store(&s->state, SRV_DOWN);
    server_set_state(s, SRV_UP, 1000);
    CU_ASSERT_EQUAL(atomic_load(&s->up_since_ms), 1000);
    CU_ASSERT_EQUAL(server_effective_weight(s, 500), 1);      /* clock before UP */
    CU_ASSERT_EQUAL(server_effective_weight(s, 1000), 1);     /* never below 1 */
    CU_ASSERT_EQUAL(server_effective_weight(s, 1050), 1);
    CU_ASSERT_EQUAL(server_effective_weight(s, 2000), 10);
    CU_ASSERT_EQUAL(server_effective_weight(s, 3500), 25);
    CU_ASSERT_EQUAL(server_effective_weight(s, 6000), 50);
    CU_ASSERT_EQUAL(server_effective_weight(s, 10999), 99);
    CU_ASSERT_EQUAL(server_effective_weight(s, 11000), 100);
    CU_ASSERT_EQUAL(server_effective_weight(s, 99000), 100);
    CU_ASSERT_EQUAL(server_ramp(s, 1000), 1);
    CU_ASSERT_EQUAL(server_ramp(s, 3500), 256);
    CU_ASSERT_EQUAL(server_ramp(s, 6000), 512);
    CU_ASSERT_EQUAL(server_ramp(s, 11000), SERVER_RAMP_FULL);
    atomic_store(&s->weight, 0);
    CU_ASSERT_EQUAL(server_effective_weight(s, 6000), 0);
    atomic_store(&s->weight, 256);
    CU_ASSERT_EQUAL(server_effective_weight(s, 6000), 128);
    s->slowstart_ms = 0;
    CU_ASSERT_EQUAL(server_effective_weight(s, 1000), 256);
    CU_ASSERT_EQUAL(server_ramp(s, 1000), SERVER_RAMP_FULL);
    s->slowstart_ms = UINT64_C(1) << 62;                 /* huge: no overflow */
    CU_ASSERT_EQUAL(server_ramp(s, 1000 + (UINT64_C(1) << 61)), 512);
    /* UP at time 0 still ramps: the stored time is never the "no ramp" 0 */
    s->slowstart_ms = 1000;
    server_set_state(s, SRV_DOWN, 0);
    server_set_state(s, SRV_UP, 0);
    CU_ASSERT_EQUAL(server_effective_weight(s, 0), 1);
    CU_ASSERT_EQUAL(server_effective_weight(s, 501), 128);
}

static void test_server_set_state_gen(void)
{
    fx_setup(LB_ROUNDROBIN, 1, NULL);
    struct server *s = &fx.srv[0];
    uint32_t g = atomic_load(&fx.be.gen);
    server_set_state(s, SRV_UP, 10);              /* no change: no bump, no ramp reset */
    CU_ASSERT_EQUAL(atomic_load(&fx.be.gen), g);
    CU_ASSERT_EQUAL(atomic_load(&s->up_since_ms), 0);
    server_set_state(s, SRV_DRAIN, 20);
    CU_ASSERT_EQUAL(atomic_load(&fx.be.gen), g + 1);
    CU_ASSERT_EQUAL(atomic_load(&s->state), SRV_DRAIN);
    CU_ASSERT_EQUAL(atomic_load(&s->up_since_ms), 0);
    server_set_state(s, SRV_MAINT, 30);
    server_set_state(s, SRV_UP, 40);
    CU_ASSERT_EQUAL(atomic_load(&fx.be.gen), g + 3);
    CU_ASSERT_EQUAL(atomic_load(&s->up_since_ms), 40);
    /* a server without a backend (being built) is fine */
    struct server lone = { .name = "lone" };
    server_set_state(&lone, SRV_DOWN, 1);
    server_set_weight(&lone, 3);
    CU_ASSERT_EQUAL(atomic_load(&lone.state), SRV_DOWN);
}

static void test_server_set_weight(void)
{
    fx_setup(LB_ROUNDROBIN, 1, NULL);
    struct server *s = &fx.srv[0];
    uint32_t g = atomic_load(&fx.be.gen);
    server_set_weight(s, 7);
    CU_ASSERT_EQUAL(atomic_load(&s->weight), 7);
    CU_ASSERT_EQUAL(atomic_load(&fx.be.gen), g + 1);
    server_set_weight(s, 300);
    CU_ASSERT_EQUAL(atomic_load(&s->weight), 256);
    server_set_weight(s, -4);
    CU_ASSERT_EQUAL(atomic_load(&s->weight), 0);
    CU_ASSERT_EQUAL(atomic_load(&fx.be.gen), g + 3);
}

static void test_server_observe_rt(void)
{
    fx_setup(LB_LEASTTIME, 1, NULL);
    struct server *s = &fx.srv[0];
    server_observe_rt(s, 8000);                          /* first sample seeds */
    CU_ASSERT_EQUAL(atomic_load(&s->ewma_rt_us), 8000);
    server_observe_rt(s, 16000);                         /* + (16000-8000)/8 */
    CU_ASSERT_EQUAL(atomic_load(&s->ewma_rt_us), 9000);
    server_observe_rt(s, 1000);                          /* (63000+1000+4)/8 */
    CU_ASSERT_EQUAL(atomic_load(&s->ewma_rt_us), 8000);
    for (int i = 0; i < 200; i++)
        server_observe_rt(s, 500);
    CU_ASSERT_TRUE(atomic_load(&s->ewma_rt_us) >= 500 && atomic_load(&s->ewma_rt_us) <= 504);
    server_observe_rt(s, UINT64_MAX);                    /* clamped, no overflow */
    CU_ASSERT_TRUE(atomic_load(&s->ewma_rt_us) > 500);
    CU_ASSERT_TRUE(atomic_load(&s->ewma_rt_us) <= (UINT64_C(1) << 40));
}

/* ---- round robin ---- */

static void test_rr_order(void)
{
    fx_setup(LB_ROUNDROBIN, 3, (const int[]){ 5, 1, 1 });   /* weights ignored */
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 7, NOW), "ABCABCA");
    server_set_state(&fx.srv[1], SRV_DOWN, NOW);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 4, NOW), "CACA");
    server_set_weight(&fx.srv[2], 0);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 3, NOW), "AAA");
    server_set_state(&fx.srv[1], SRV_UP, NOW);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 4, NOW), "BABA");
    balancer_free(b);
}

static void test_rr_skips_full(void)
{
    fx_setup(LB_ROUNDROBIN, 3, NULL);
    fx.srv[0].maxconn = 1;
    atomic_store(&fx.srv[0].active, 1);
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 4, NOW), "BCBC");
    atomic_store(&fx.srv[0].active, 0);                 /* no gen bump needed */
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 3, NOW), "ABC");
    balancer_free(b);
}

/* ---- smooth weighted round robin ---- */

/* Computed by hand from the algorithm (current += weight; take the max,
 * first on ties; subtract the total):
 *   cw after add      pick  cw after subtract
 *   5  3  2           A     -5  3  2
 *   0  6  4           B      0 -4  4
 *   5 -1  6           C      5 -1 -4
 *  10  2 -2           A      0  2 -2
 *   5  5  0           A     -5  5  0
 *   0  8  2           B      0 -2  2
 *   5  1  4           A     -5  1  4
 *   0  4  6           C      0  4 -4
 *   5  7 -2           B      5 -3 -2
 *  10  0  0           A      0  0  0   (back to the start) */
static void test_swrr_532_sequence(void)
{
    fx_setup(LB_WRR, 3, (const int[]){ 5, 3, 2 });
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 10, NOW), "ABCAABACBA");
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 10, NOW), "ABCAABACBA");
    unsigned count[3] = { 0 }, run = 0, longest = 0;
    int last = -1;
    for (unsigned round = 0; round < 1000; round++) {
        unsigned c10[3] = { 0 };
        for (unsigned k = 0; k < 10; k++) {
            int idx = pick_index(b, NULL, 0, NULL, NOW, NULL);
            CU_ASSERT_FATAL(idx >= 0);
            count[idx]++;
            c10[idx]++;
            run = idx == last ? run + 1 : 1;
            last = idx;
            if (run > longest)
                longest = run;
        }
        CU_ASSERT(c10[0] == 5 && c10[1] == 3 && c10[2] == 2);
    }
    CU_ASSERT_EQUAL(count[0], 5000);
    CU_ASSERT_EQUAL(count[1], 3000);
    CU_ASSERT_EQUAL(count[2], 2000);
    CU_ASSERT_EQUAL(longest, 2);          /* never A A A A A B B B C C */
    balancer_free(b);
}

static void test_swrr_extreme_weights(void)
{
    fx_setup(LB_WRR, 2, (const int[]){ 256, 1 });
    struct balancer *b = balancer_create(&fx.be, 1);
    unsigned count[2] = { 0 };
    for (unsigned k = 0; k < 257 * 4; k++)
        count[pick_index(b, NULL, 0, NULL, NOW, NULL)]++;
    CU_ASSERT_EQUAL(count[0], 256 * 4);
    CU_ASSERT_EQUAL(count[1], 4);
    balancer_free(b);

    fx_setup(LB_WRR, 3, (const int[]){ 256, 256, 256 });
    b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 6, NOW), "ABCABC");
    balancer_free(b);

    fx_setup(LB_WRR, 3, (const int[]){ 0, 2, 0 });
    b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 3, NOW), "BBB");
    balancer_free(b);
}

static void test_swrr_weight_change(void)
{
    fx_setup(LB_WRR, 3, (const int[]){ 5, 3, 2 });
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 4, NOW), "ABCA");
    server_set_weight(&fx.srv[0], 1);                  /* 1:3:2, restarts the cycle */
    unsigned count[3] = { 0 };
    for (unsigned k = 0; k < 600; k++)
        count[pick_index(b, NULL, 0, NULL, NOW, NULL)]++;
    CU_ASSERT_EQUAL(count[0], 100);
    CU_ASSERT_EQUAL(count[1], 300);
    CU_ASSERT_EQUAL(count[2], 200);
    balancer_free(b);
}

static void test_swrr_slowstart(void)
{
    fx_setup(LB_WRR, 2, (const int[]){ 100, 100 });
    fx.srv[1].slowstart_ms = 10000;
    atomic_store(&fx.srv[1].state, SRV_DOWN);
    server_set_state(&fx.srv[1], SRV_UP, NOW);
    struct balancer *b = balancer_create(&fx.be, 1);
    unsigned count[2] = { 0 };
    for (unsigned k = 0; k < 1250; k++)                /* at 25%: weights 100:25 */
        count[pick_index(b, NULL, 0, NULL, NOW + 2500, NULL)]++;
    CU_ASSERT_EQUAL(count[0], 1000);
    CU_ASSERT_EQUAL(count[1], 250);
    count[0] = count[1] = 0;
    for (unsigned k = 0; k < 1000; k++)                /* ramped: 100:100 */
        count[pick_index(b, NULL, 0, NULL, NOW + 10000, NULL)]++;
    CU_ASSERT(count[0] >= 495 && count[0] <= 505);
    balancer_free(b);
}

/* ---- leastconn family ---- */

static void test_leastconn_min(void)
{
    fx_setup(LB_LEASTCONN, 4, (const int[]){ 1, 50, 1, 1 });   /* weights ignored */
    struct balancer *b = balancer_create(&fx.be, 1);
    atomic_store(&fx.srv[0].active, 5);
    atomic_store(&fx.srv[1].active, 3);
    atomic_store(&fx.srv[2].active, 7);
    atomic_store(&fx.srv[3].active, 2);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 3);
    atomic_store(&fx.srv[3].active, 9);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 1);
    atomic_store(&fx.srv[0].active, 0);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 0);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, &fx.srv[0], NOW, NULL), 1);
    fx.srv[0].maxconn = 1;
    atomic_store(&fx.srv[0].active, -3);                 /* a bad counter reads as 0 */
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 0);
    balancer_free(b);
}

static void test_leastconn_ties_rotate(void)
{
    fx_setup(LB_LEASTCONN, 3, NULL);
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 6, NOW), "ABCABC");
    /* simulated connections: every pick opens one, nothing closes */
    for (unsigned k = 0; k < 30; k++) {
        int idx = pick_index(b, NULL, 0, NULL, NOW, NULL);
        atomic_fetch_add(&fx.srv[idx].active, 1);
    }
    CU_ASSERT_EQUAL(atomic_load(&fx.srv[0].active), 10);
    CU_ASSERT_EQUAL(atomic_load(&fx.srv[1].active), 10);
    CU_ASSERT_EQUAL(atomic_load(&fx.srv[2].active), 10);
    balancer_free(b);
}

/* A server coming back with 0 connections must not take every new one
 * while it ramps up. */
static void test_leastconn_slowstart(void)
{
    fx_setup(LB_LEASTCONN, 3, NULL);
    fx.srv[2].slowstart_ms = 10000;
    atomic_store(&fx.srv[2].state, SRV_DOWN);
    server_set_state(&fx.srv[2], SRV_UP, NOW);
    atomic_store(&fx.srv[0].active, 10);
    atomic_store(&fx.srv[1].active, 10);
    struct balancer *b = balancer_create(&fx.be, 1);
    for (unsigned k = 0; k < 20; k++) {
        int idx = pick_index(b, NULL, 0, NULL, NOW + 1000, NULL);   /* ramp 10% */
        atomic_fetch_add(&fx.srv[idx].active, 1);
    }
    CU_ASSERT(atomic_load(&fx.srv[2].active) <= 2);
    for (unsigned k = 0; k < 20; k++) {
        int idx = pick_index(b, NULL, 0, NULL, NOW + 20000, NULL);  /* ramped */
        atomic_fetch_add(&fx.srv[idx].active, 1);
    }
    CU_ASSERT(atomic_load(&fx.srv[2].active) >= 14);
    balancer_free(b);
}

static void test_wleastconn_ratio(void)
{
    fx_setup(LB_WLEASTCONN, 3, (const int[]){ 3, 1, 2 });
    struct balancer *b = balancer_create(&fx.be, 1);
    for (unsigned k = 0; k < 600; k++) {
        int idx = pick_index(b, NULL, 0, NULL, NOW, NULL);
        atomic_fetch_add(&fx.srv[idx].active, 1);
    }
    CU_ASSERT_EQUAL(atomic_load(&fx.srv[0].active), 300);
    CU_ASSERT_EQUAL(atomic_load(&fx.srv[1].active), 100);
    CU_ASSERT_EQUAL(atomic_load(&fx.srv[2].active), 200);
    /* cross-multiplication: 7/3 (2.33) beats 5/2 (2.5) beats 3/1 */
    atomic_store(&fx.srv[0].active, 7);
    atomic_store(&fx.srv[1].active, 3);
    atomic_store(&fx.srv[2].active, 5);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 0);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, &fx.srv[0], NOW, NULL), 2);
    balancer_free(b);
}

static void test_leasttime_prefers_fast(void)
{
    fx_setup(LB_LEASTTIME, 3, NULL);
    atomic_store(&fx.srv[0].ewma_rt_us, 10000);
    atomic_store(&fx.srv[1].ewma_rt_us, 1000);
    atomic_store(&fx.srv[2].ewma_rt_us, 5000);
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 1);
    /* (1001 * 21) > (10001 * 1): a busy fast server loses to an idle slow one */
    atomic_store(&fx.srv[1].active, 20);
    atomic_store(&fx.srv[2].active, 3);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 0);
    atomic_store(&fx.srv[0].active, 0);
    atomic_store(&fx.srv[1].active, 0);
    atomic_store(&fx.srv[2].active, 0);
    for (unsigned k = 0; k < 130; k++) {
        int idx = pick_index(b, NULL, 0, NULL, NOW, NULL);
        atomic_fetch_add(&fx.srv[idx].active, 1);
    }
    /* load settles inversely to response time, about 10 : 2 : 1 */
    int a = atomic_load(&fx.srv[0].active), fast = atomic_load(&fx.srv[1].active),
        mid = atomic_load(&fx.srv[2].active);
    CU_ASSERT(fast > mid && mid > a);
    CU_ASSERT(fast >= 95 && fast <= 105);
    CU_ASSERT(a >= 8 && a <= 12);
    /* unmeasured servers (ewma 0) are tried; weight divides the score */
    fx_setup(LB_LEASTTIME, 2, (const int[]){ 1, 4 });
    atomic_store(&fx.srv[0].ewma_rt_us, 100);
    atomic_store(&fx.srv[1].ewma_rt_us, 300);
    balancer_free(b);
    b = balancer_create(&fx.be, 1);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 1);   /* 101 vs 301/4 */
    atomic_store(&fx.srv[0].ewma_rt_us, 0);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 0);   /* 1 vs 75.25 */
    balancer_free(b);
}

/* ---- random and p2c ---- */

static void test_random_distribution(void)
{
    fx_setup(LB_RANDOM, 4, (const int[]){ 1, 2, 3, 4 });
    struct balancer *b = balancer_create(&fx.be, 42);
    unsigned count[4] = { 0 };
    for (unsigned k = 0; k < 100000; k++)
        count[pick_index(b, NULL, 0, NULL, NOW, NULL)]++;
    for (unsigned i = 0; i < 4; i++)
        CU_ASSERT(count[i] >= 10000 * (i + 1) - 1000 && count[i] <= 10000 * (i + 1) + 1000);
    balancer_free(b);
}

static void test_random_seeded(void)
{
    fx_setup(LB_RANDOM, 8, NULL);
    struct balancer *b1 = balancer_create(&fx.be, 7), *b2 = balancer_create(&fx.be, 7);
    struct balancer *b3 = balancer_create(&fx.be, 8);
    char s1[65], s2[65], s3[65];
    snprintf(s1, sizeof(s1), "%s", pick_sequence(b1, 64, NOW));
    snprintf(s2, sizeof(s2), "%s", pick_sequence(b2, 64, NOW));
    snprintf(s3, sizeof(s3), "%s", pick_sequence(b3, 64, NOW));
    CU_ASSERT_STRING_EQUAL(s1, s2);
    CU_ASSERT_STRING_NOT_EQUAL(s1, s3);
    balancer_free(b1);
    balancer_free(b2);
    balancer_free(b3);
}

/* Loads 0,1,2,3: a server wins when it is in the drawn pair and the other
 * is busier. Of the 6 equally likely pairs the idle one is in 3 (1/2),
 * load 1 wins 2 (1/3), load 2 wins 1 (1/6), load 3 never wins. */
static void test_p2c_distribution(void)
{
    fx_setup(LB_P2C, 4, NULL);
    for (int i = 0; i < 4; i++)
        atomic_store(&fx.srv[i].active, i);
    struct balancer *b = balancer_create(&fx.be, 99);
    unsigned count[4] = { 0 };
    for (unsigned k = 0; k < 120000; k++)
        count[pick_index(b, NULL, 0, NULL, NOW, NULL)]++;
    CU_ASSERT(count[0] >= 60000 - 1500 && count[0] <= 60000 + 1500);
    CU_ASSERT(count[1] >= 40000 - 1500 && count[1] <= 40000 + 1500);
    CU_ASSERT(count[2] >= 20000 - 1500 && count[2] <= 20000 + 1500);
    CU_ASSERT_EQUAL(count[3], 0);
    balancer_free(b);
}

static void test_p2c_choices(void)
{
    fx_setup(LB_P2C, 2, (const int[]){ 4, 1 });
    struct balancer *b = balancer_create(&fx.be, 5);
    atomic_store(&fx.srv[0].active, 4);                 /* 4/4 = 1 */
    atomic_store(&fx.srv[1].active, 2);                 /* 2/1 = 2 */
    for (unsigned k = 0; k < 100; k++)                  /* both always drawn */
        CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 0);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, &fx.srv[0], NOW, NULL), 1);
    balancer_free(b);
    /* equal load: uniform, a simulated run stays balanced */
    fx_setup(LB_P2C, 5, NULL);
    b = balancer_create(&fx.be, 5);
    for (unsigned k = 0; k < 5000; k++) {
        int idx = pick_index(b, NULL, 0, NULL, NOW, NULL);
        atomic_fetch_add(&fx.srv[idx].active, 1);
    }
    for (unsigned i = 0; i < 5; i++)
        CU_ASSERT(atomic_load(&fx.srv[i].active) >= 998 && atomic_load(&fx.srv[i].active) <= 1002);
    balancer_free(b);
}

/* ---- source ---- */

static void test_source_sticky_and_spread(void)
{
    fx_setup(LB_SOURCE, 4, NULL);
    struct balancer *b1 = balancer_create(&fx.be, 1), *b2 = balancer_create(&fx.be, 2);
    unsigned count[4] = { 0 };
    for (unsigned i = 0; i < 40000; i++) {
        int idx = pick_keyed(b1, i, NULL, NULL);
        CU_ASSERT_FATAL(idx >= 0);
        CU_ASSERT_EQUAL(pick_keyed(b1, i, NULL, NULL), idx);   /* again */
        CU_ASSERT_EQUAL(pick_keyed(b2, i, NULL, NULL), idx);   /* other thread */
        count[idx]++;
    }
    for (unsigned i = 0; i < 4; i++)
        CU_ASSERT(count[i] >= 9200 && count[i] <= 10800);
    uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
    int idx6 = pick_index(b1, v6, sizeof(v6), NULL, NOW, NULL);
    CU_ASSERT(idx6 >= 0);
    for (unsigned k = 0; k < 10; k++)
        CU_ASSERT_EQUAL(pick_index(b1, v6, sizeof(v6), NULL, NOW, NULL), idx6);
    balancer_free(b1);
    balancer_free(b2);
}

static void test_source_weighted(void)
{
    fx_setup(LB_SOURCE, 2, (const int[]){ 1, 3 });
    struct balancer *b = balancer_create(&fx.be, 1);
    unsigned count[2] = { 0 };
    for (unsigned i = 0; i < 40000; i++)
        count[pick_keyed(b, i, NULL, NULL)]++;
    CU_ASSERT(count[0] >= 9200 && count[0] <= 10800);
    balancer_free(b);
}

/* One of five servers fails: only its clients move, spread over the
 * others; when it returns, they come back and nobody else moves. */
static void test_source_down_moves_only_its_clients(void)
{
    enum { N = 5, KEYS = 20000 };
    static int before[KEYS];
    fx_setup(LB_SOURCE, N, NULL);
    struct balancer *b = balancer_create(&fx.be, 1);
    for (unsigned i = 0; i < KEYS; i++)
        before[i] = pick_keyed(b, i, NULL, NULL);
    server_set_state(&fx.srv[2], SRV_DOWN, NOW);
    unsigned kept = 0, others = 0, moved_to[N] = { 0 };
    for (unsigned i = 0; i < KEYS; i++) {
        int now = pick_keyed(b, i, NULL, NULL);
        CU_ASSERT(now != 2);
        if (before[i] != 2) {
            others++;
            kept += now == before[i];
        } else {
            moved_to[now]++;
        }
    }
    CU_ASSERT_EQUAL(kept, others);
    for (unsigned i = 0; i < N; i++)
        if (i != 2)
            CU_ASSERT(moved_to[i] > 600);       /* about 1000 each */
    server_set_state(&fx.srv[2], SRV_UP, NOW);
    unsigned back = 0;
    for (unsigned i = 0; i < KEYS; i++)
        back += pick_keyed(b, i, NULL, NULL) == before[i];
    CU_ASSERT_EQUAL(back, KEYS);
    balancer_free(b);
}

static void test_source_no_key_falls_back(void)
{
    fx_setup(LB_SOURCE, 3, NULL);
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 6, NOW), "ABCABC");
    balancer_free(b);
}

/* ---- Maglev ---- */

static void maglev_shares(const struct balancer *b, unsigned n, unsigned *count)
{
    memset(count, 0, n * sizeof(*count));
    for (uint32_t j = 0; j < b->maglev_size; j++) {
        CU_ASSERT_FATAL(b->maglev[j] < n);
        count[b->maglev[j]]++;
    }
}

static void test_maglev_table_size(void)
{
    fx_setup(LB_HASH, 3, NULL);
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_EQUAL(b->maglev_size, 65537);
    balancer_free(b);
    fx_setup(LB_HASH, FX_MAX, NULL);
    b = balancer_create(&fx.be, 1);
    CU_ASSERT_EQUAL(b->maglev_size, 100003);           /* first prime >= 100000 */
    CU_ASSERT(pick_keyed(b, 1, NULL, NULL) >= 0);
    unsigned *count = calloc(FX_MAX, sizeof(*count));
    maglev_shares(b, FX_MAX, count);
    for (unsigned i = 0; i < FX_MAX; i++)
        CU_ASSERT(count[i] >= 95 && count[i] <= 106);
    free(count);
    balancer_free(b);
}

static void test_maglev_balanced(void)
{
    enum { N = 7 };
    fx_setup(LB_HASH, N, NULL);
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT(pick_keyed(b, 0, NULL, NULL) >= 0);       /* builds the table */
    unsigned count[N];
    maglev_shares(b, N, count);
    double ideal = (double)b->maglev_size / N;
    for (unsigned i = 0; i < N; i++)
        CU_ASSERT(count[i] > ideal * 0.98 && count[i] < ideal * 1.02);
    unsigned keys[N] = { 0 };
    for (unsigned i = 0; i < 100000; i++)
        keys[pick_keyed(b, i, NULL, NULL)]++;
    for (unsigned i = 0; i < N; i++)
        CU_ASSERT(keys[i] > 100000 / N * 0.95 && keys[i] < 100000 / N * 1.05);
    balancer_free(b);
}

static void test_maglev_weights(void)
{
    fx_setup(LB_HASH, 4, (const int[]){ 1, 2, 3, 256 });
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT(pick_keyed(b, 0, NULL, NULL) >= 0);
    unsigned count[4];
    maglev_shares(b, 4, count);
    double unit = (double)b->maglev_size / 262;
    for (unsigned i = 0; i < 3; i++)
        CU_ASSERT(count[i] > unit * (i + 1) * 0.9 && count[i] < unit * (i + 1) * 1.1);
    CU_ASSERT(count[3] > unit * 256 * 0.99 && count[3] < unit * 256 * 1.01);
    balancer_free(b);
}

/* Remove 1 of 10 servers: the keys that move are about 1/10, nearly all of
 * them the removed server's own; re-adding it restores every key. */
static void test_maglev_remap_bound(void)
{
    enum { N = 10, KEYS = 100000 };
    static int before[KEYS];
    fx_setup(LB_HASH, N, NULL);
    struct balancer *b = balancer_create(&fx.be, 1);
    for (unsigned i = 0; i < KEYS; i++)
        before[i] = pick_keyed(b, i, NULL, NULL);
    server_set_state(&fx.srv[4], SRV_MAINT, NOW);
    unsigned moved = 0, survivors = 0, survivors_kept = 0;
    for (unsigned i = 0; i < KEYS; i++) {
        int now = pick_keyed(b, i, NULL, NULL);
        CU_ASSERT(now != 4);
        moved += now != before[i];
        if (before[i] != 4) {
            survivors++;
            survivors_kept += now == before[i];
        }
    }
    CU_ASSERT((double)moved / KEYS < 1.0 / N + 0.02);
    CU_ASSERT((double)survivors_kept / survivors > 0.98);
    server_set_state(&fx.srv[4], SRV_UP, NOW);
    unsigned back = 0;
    for (unsigned i = 0; i < KEYS; i++)
        back += pick_keyed(b, i, NULL, NULL) == before[i];
    CU_ASSERT_EQUAL(back, KEYS);
    balancer_free(b);
}

/* The table depends on server names, not on the seed or the order. */
static void test_maglev_stable_across_workers(void)
{
    fx_setup(LB_HASH, 5, NULL);
    struct balancer *b1 = balancer_create(&fx.be, 1), *b2 = balancer_create(&fx.be, 777);
    const char *k = "/index.html";
    int idx = pick_index(b1, k, strlen(k), NULL, NOW, NULL);
    CU_ASSERT_EQUAL(pick_index(b2, k, strlen(k), NULL, NOW, NULL), idx);
    /* reversed server order: same server (by name) for every key */
    struct server *names_before[200];
    for (unsigned i = 0; i < 200; i++) {
        uint8_t key[4];
        key_bytes(i, key);
        names_before[i] = balancer_pick(b1, key, 4, NULL, NOW, NULL);
    }
    for (unsigned i = 0; i < 5; i++)
        fx.ptr[i] = &fx.srv[4 - i];
    struct balancer *b3 = balancer_create(&fx.be, 3);
    for (unsigned i = 0; i < 200; i++) {
        uint8_t key[4];
        key_bytes(i, key);
        CU_ASSERT_PTR_EQUAL(balancer_pick(b3, key, 4, NULL, NOW, NULL), names_before[i]);
    }
    balancer_free(b1);
    balancer_free(b2);
    balancer_free(b3);
}

static void test_maglev_full_and_avoid_fallback(void)
{
    fx_setup(LB_HASH, 4, NULL);
    struct balancer *b = balancer_create(&fx.be, 1);
    const char *k = "user-42";
    int home = pick_index(b, k, strlen(k), NULL, NOW, NULL);
    CU_ASSERT_FATAL(home >= 0);
    int alt = pick_index(b, k, strlen(k), &fx.srv[home], NOW, NULL);
    CU_ASSERT(alt >= 0 && alt != home);
    CU_ASSERT_EQUAL(pick_index(b, k, strlen(k), &fx.srv[home], NOW, NULL), alt);
    fx.srv[home].maxconn = 1;
    atomic_store(&fx.srv[home].active, 1);
    CU_ASSERT_EQUAL(pick_index(b, k, strlen(k), NULL, NOW, NULL), alt);
    atomic_store(&fx.srv[home].active, 0);
    CU_ASSERT_EQUAL(pick_index(b, k, strlen(k), NULL, NOW, NULL), home);
    balancer_free(b);
}

static void test_hash_null_key_roundrobin(void)
{
    fx_setup(LB_HASH, 3, (const int[]){ 2, 1, 1 });
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 8, NOW), "ABCAABCA");
    /* an empty (present) key is a key, not an absent one */
    int idx = pick_index(b, "", 0, NULL, NOW, NULL);
    CU_ASSERT_EQUAL(pick_index(b, "", 0, NULL, NOW, NULL), idx);
    balancer_free(b);
}

/* One usable server among many: keys whose 20 rehashes all hit unusable
 * servers end in the deterministic scan, and still land on it. */
static void test_hashed_last_resort_scan(void)
{
    static const enum lb_algo hashed[] = { LB_SOURCE, LB_HASH };
    for (unsigned a = 0; a < 2; a++) {
        fx_setup(hashed[a], 50, NULL);
        for (unsigned i = 0; i < 50; i++) {
            fx.srv[i].maxconn = 1;
            atomic_store(&fx.srv[i].active, i == 37 ? 0 : 1);    /* full, still UP */
        }
        struct balancer *b = balancer_create(&fx.be, 1);
        for (unsigned i = 0; i < 2000; i++)
            CU_ASSERT_EQUAL(pick_keyed(b, i, NULL, NULL), 37);
        enum lb_result why;
        CU_ASSERT_EQUAL(pick_keyed(b, 5, &fx.srv[37], &why), -1);
        CU_ASSERT_EQUAL(why, LB_ALL_FULL);
        balancer_free(b);
    }
}

static void test_wleastconn_slowstart(void)
{
    fx_setup(LB_WLEASTCONN, 2, (const int[]){ 2, 2 });
    fx.srv[1].slowstart_ms = 1000;
    atomic_store(&fx.srv[1].state, SRV_DOWN);
    server_set_state(&fx.srv[1], SRV_UP, NOW);
    struct balancer *b = balancer_create(&fx.be, 1);
    for (unsigned k = 0; k < 500; k++) {                  /* ramp 1/4 */
        int idx = pick_index(b, NULL, 0, NULL, NOW + 250, NULL);
        atomic_fetch_add(&fx.srv[idx].active, 1);
    }
    CU_ASSERT_EQUAL(atomic_load(&fx.srv[0].active), 400);
    CU_ASSERT_EQUAL(atomic_load(&fx.srv[1].active), 100);
    balancer_free(b);
}

/* ---- rules every algorithm follows ---- */

static void test_all_states_exclude(void)
{
    static const enum srv_state off[] = { SRV_DOWN, SRV_DRAIN, SRV_MAINT };
    for (unsigned a = 0; a < N_ALGOS; a++) {
        for (unsigned o = 0; o < 3; o++) {
            fx_setup(all_algos[a], 3, NULL);
            struct balancer *b = balancer_create(&fx.be, 1);
            unsigned seen_b = 0;
            for (unsigned i = 0; i < 300; i++)
                seen_b += pick_keyed(b, i, NULL, NULL) == 1;
            CU_ASSERT(seen_b > 0);
            server_set_state(&fx.srv[1], off[o], NOW);
            for (unsigned i = 0; i < 300; i++) {
                int idx = pick_keyed(b, i, NULL, NULL);
                CU_ASSERT(idx == 0 || idx == 2);
            }
            server_set_state(&fx.srv[1], SRV_UP, NOW);
            seen_b = 0;
            for (unsigned i = 0; i < 300; i++)
                seen_b += pick_keyed(b, i, NULL, NULL) == 1;
            CU_ASSERT(seen_b > 0);
            balancer_free(b);
        }
    }
}

static void test_all_avoid(void)
{
    for (unsigned a = 0; a < N_ALGOS; a++) {
        fx_setup(all_algos[a], 3, NULL);
        struct balancer *b = balancer_create(&fx.be, 1);
        enum lb_result why;
        for (unsigned i = 0; i < 300; i++) {
            int idx = pick_keyed(b, i, &fx.srv[1], &why);
            CU_ASSERT(idx == 0 || idx == 2);
            CU_ASSERT_EQUAL(why, LB_OK);
        }
        /* avoid is the only usable server: nothing else to retry on */
        server_set_state(&fx.srv[0], SRV_DOWN, NOW);
        server_set_state(&fx.srv[2], SRV_DOWN, NOW);
        CU_ASSERT_EQUAL(pick_keyed(b, 1, &fx.srv[1], &why), -1);
        CU_ASSERT_EQUAL(why, LB_NONE_UP);
        CU_ASSERT_EQUAL(pick_keyed(b, 1, NULL, &why), 1);
        /* ... unless another one is up but full: it may free up */
        server_set_state(&fx.srv[0], SRV_UP, NOW);
        fx.srv[0].maxconn = 4;
        atomic_store(&fx.srv[0].active, 4);
        CU_ASSERT_EQUAL(pick_keyed(b, 1, &fx.srv[1], &why), -1);
        CU_ASSERT_EQUAL(why, LB_ALL_FULL);
        balancer_free(b);
    }
}

static void test_all_none_up_vs_full(void)
{
    for (unsigned a = 0; a < N_ALGOS; a++) {
        enum lb_result why = LB_OK;
        fx_setup(all_algos[a], 0, NULL);                       /* no server */
        struct balancer *b = balancer_create(&fx.be, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(pick_keyed(b, 1, NULL, &why), -1);
        CU_ASSERT_EQUAL(why, LB_NONE_UP);
        balancer_free(b);

        fx_setup(all_algos[a], 3, (const int[]){ 0, 0, 0 });  /* all weights 0 */
        b = balancer_create(&fx.be, 1);
        CU_ASSERT_EQUAL(pick_keyed(b, 1, NULL, &why), -1);
        CU_ASSERT_EQUAL(why, LB_NONE_UP);
        CU_ASSERT_PTR_NULL(balancer_pick(b, NULL, 0, NULL, NOW, NULL));   /* why optional */
        server_set_weight(&fx.srv[2], 1);
        CU_ASSERT_EQUAL(pick_keyed(b, 1, NULL, &why), 2);
        CU_ASSERT_EQUAL(why, LB_OK);
        balancer_free(b);

        fx_setup(all_algos[a], 3, NULL);                       /* all down */
        for (unsigned i = 0; i < 3; i++)
            server_set_state(&fx.srv[i], i == 1 ? SRV_DRAIN : SRV_DOWN, NOW);
        b = balancer_create(&fx.be, 1);
        CU_ASSERT_EQUAL(pick_keyed(b, 1, NULL, &why), -1);
        CU_ASSERT_EQUAL(why, LB_NONE_UP);
        server_set_state(&fx.srv[0], SRV_UP, NOW);             /* up but full */
        fx.srv[0].maxconn = 2;
        atomic_store(&fx.srv[0].active, 2);
        CU_ASSERT_EQUAL(pick_keyed(b, 1, NULL, &why), -1);
        CU_ASSERT_EQUAL(why, LB_ALL_FULL);
        atomic_store(&fx.srv[0].active, 1);                    /* frees up, no gen bump */
        CU_ASSERT_EQUAL(pick_keyed(b, 1, NULL, &why), 0);
        CU_ASSERT_EQUAL(why, LB_OK);
        balancer_free(b);
    }
}

static void test_all_single_server(void)
{
    for (unsigned a = 0; a < N_ALGOS; a++) {
        fx_setup(all_algos[a], 1, (const int[]){ 256 });
        struct balancer *b = balancer_create(&fx.be, 1);
        for (unsigned i = 0; i < 50; i++)
            CU_ASSERT_EQUAL(pick_keyed(b, i, NULL, NULL), 0);
        CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 0);
        balancer_free(b);
    }
}

/* Slow start lowers a returning server's share for the weighted
 * algorithms (random here), without any gen bump as time passes. */
static void test_random_slowstart(void)
{
    fx_setup(LB_RANDOM, 2, (const int[]){ 100, 100 });
    fx.srv[1].slowstart_ms = 10000;
    atomic_store(&fx.srv[1].state, SRV_DOWN);
    server_set_state(&fx.srv[1], SRV_UP, NOW);
    struct balancer *b = balancer_create(&fx.be, 3);
    unsigned early = 0, late = 0;
    for (unsigned k = 0; k < 20000; k++)
        early += pick_index(b, NULL, 0, NULL, NOW + 2500, NULL) == 1;   /* 25:100 */
    for (unsigned k = 0; k < 20000; k++)
        late += pick_index(b, NULL, 0, NULL, NOW + 10000, NULL) == 1;   /* 100:100 */
    CU_ASSERT(early >= 3600 && early <= 4400);
    CU_ASSERT(late >= 9500 && late <= 10500);
    balancer_free(b);
}

/* ---- backup servers ---- */

/* A and B primaries, C and D backups. */
static void fx_setup_backup(enum lb_algo algo)
{
    fx_setup(algo, 4, NULL);
    fx.srv[2].backup = 1;
    fx.srv[3].backup = 1;
}

static void set_state(unsigned i, enum srv_state st)
{
    server_set_state(&fx.srv[i], st, NOW);
}

static void test_backup_rr_tiers(void)
{
    fx_setup_backup(LB_ROUNDROBIN);
    struct balancer *b = balancer_create(&fx.be, 1);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 6, NOW), "ABABAB");
    set_state(0, SRV_DOWN);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 4, NOW), "BBBB");   /* one primary is enough */
    set_state(1, SRV_DOWN);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 4, NOW), "CDCD");   /* same algorithm on backups */
    set_state(1, SRV_UP);
    CU_ASSERT_STRING_EQUAL(pick_sequence(b, 3, NOW), "BBB");    /* back as soon as one is up */
    set_state(1, SRV_MAINT);
    set_state(2, SRV_DOWN);
    set_state(3, SRV_DRAIN);
    enum lb_result why = LB_OK;
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, &why), -1);
    CU_ASSERT_EQUAL(why, LB_NONE_UP);                           /* → 503 at once */
    balancer_free(b);
}

/* Full primaries queue rather than spill to the backups. */
static void test_backup_not_for_full(void)
{
    fx_setup_backup(LB_LEASTCONN);
    fx.srv[0].maxconn = fx.srv[1].maxconn = 1;
    atomic_store(&fx.srv[0].active, 1);
    atomic_store(&fx.srv[1].active, 1);
    struct balancer *b = balancer_create(&fx.be, 1);
    enum lb_result why = LB_OK;
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, &why), -1);
    CU_ASSERT_EQUAL(why, LB_ALL_FULL);
    balancer_free(b);
}

/* A retry avoiding the only primary up goes to a backup, not nowhere. */
static void test_backup_for_avoided_last_primary(void)
{
    fx_setup_backup(LB_WRR);
    set_state(0, SRV_DOWN);
    struct balancer *b = balancer_create(&fx.be, 1);
    int idx = pick_index(b, NULL, 0, &fx.srv[1], NOW, NULL);
    CU_ASSERT(idx == 2 || idx == 3);
    CU_ASSERT_EQUAL(pick_index(b, NULL, 0, NULL, NOW, NULL), 1);
    balancer_free(b);
}

/* Every algorithm, keyed or not: never a backup while a primary is up,
 * only backups when none is. */
static void test_backup_all_algorithms(void)
{
    for (size_t a = 0; a < N_ALGOS; a++) {
        fx_setup_backup(all_algos[a]);
        struct balancer *b = balancer_create(&fx.be, 7);
        int bad = 0;
        for (unsigned i = 0; i < 200; i++)
            bad += pick_keyed(b, i, NULL, NULL) >= 2;
        set_state(0, SRV_DOWN);
        set_state(1, SRV_DOWN);
        unsigned seen[4] = { 0 };
        for (unsigned i = 0; i < 200; i++) {
            int idx = pick_keyed(b, i, NULL, NULL);
            bad += idx < 2;
            if (idx >= 0)
                seen[idx]++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT(seen[2] > 0 && seen[3] > 0);                  /* both backups used */
        if (bad)
            fprintf(stderr, "algorithm %s: %d wrong-tier picks\n",
                    conf_algo_name(all_algos[a]), bad);
        balancer_free(b);
    }
}

static const struct unit_test server_tests[] = {
    UNIT_TEST(test_server_state_name), UNIT_TEST(test_server_usable),
    UNIT_TEST(test_server_slowstart_ramp), UNIT_TEST(test_server_set_state_gen),
    UNIT_TEST(test_server_set_weight), UNIT_TEST(test_server_observe_rt),
    { NULL, NULL },
};

static const struct unit_test balance_tests[] = {
    UNIT_TEST(test_rr_order), UNIT_TEST(test_rr_skips_full),
    UNIT_TEST(test_swrr_532_sequence), UNIT_TEST(test_swrr_extreme_weights),
    UNIT_TEST(test_swrr_weight_change), UNIT_TEST(test_swrr_slowstart),
    UNIT_TEST(test_leastconn_min), UNIT_TEST(test_leastconn_ties_rotate),
    UNIT_TEST(test_leastconn_slowstart), UNIT_TEST(test_wleastconn_ratio),
    UNIT_TEST(test_leasttime_prefers_fast),
    UNIT_TEST(test_random_distribution), UNIT_TEST(test_random_seeded),
    UNIT_TEST(test_random_slowstart),
    UNIT_TEST(test_p2c_distribution), UNIT_TEST(test_p2c_choices),
    UNIT_TEST(test_source_sticky_and_spread), UNIT_TEST(test_source_weighted),
    UNIT_TEST(test_source_down_moves_only_its_clients),
    UNIT_TEST(test_source_no_key_falls_back),
    UNIT_TEST(test_maglev_table_size), UNIT_TEST(test_maglev_balanced),
    UNIT_TEST(test_maglev_weights), UNIT_TEST(test_maglev_remap_bound),
    UNIT_TEST(test_maglev_stable_across_workers),
    UNIT_TEST(test_maglev_full_and_avoid_fallback),
    UNIT_TEST(test_hash_null_key_roundrobin), UNIT_TEST(test_hashed_last_resort_scan),
    UNIT_TEST(test_wleastconn_slowstart),
    UNIT_TEST(test_all_states_exclude), UNIT_TEST(test_all_avoid),
    UNIT_TEST(test_all_none_up_vs_full), UNIT_TEST(test_all_single_server),
    UNIT_TEST(test_backup_rr_tiers), UNIT_TEST(test_backup_not_for_full),
    UNIT_TEST(test_backup_for_avoided_last_primary), UNIT_TEST(test_backup_all_algorithms),
    { NULL, NULL },
};

int main(void)
{
    static const struct unit_suite suites[] = {
        { "server", server_tests },
        { "balance", balance_tests },
        { NULL, NULL },
    };
    return unit_run_suites(suites);
}
