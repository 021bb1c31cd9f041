/* server.c - eligibility, slow start and response-time tracking of servers.
 *
 * Every function here may run on any thread: fields that change at runtime
 * are read and written with atomics only. */
#include "config.h"
#include "server.h"

#define SERVER_WEIGHT_MAX 256
#define SERVER_RT_MAX_US  (UINT64_C(1) << 40)   /* ~12 days: keeps 7*ewma in range */

int server_is_usable(const struct server *s)
{
    if (atomic_load_explicit(&s->state, memory_order_relaxed) != SRV_UP)
        return 0;
    if (atomic_load_explicit(&s->weight, memory_order_relaxed) <= 0)
        return 0;
    if (s->maxconn == 0)
        return 1;
    return (unsigned)server_load(s) < s->maxconn;
}

/* How far a server is into its slow start, scaled so that `scale` (a
 * weight or SERVER_RAMP_FULL) means done. The ramp is linear over
 * slowstart_ms after the server last became UP, so a fresh or recovered
 * server is not flooded by algorithms that favour idle servers.
 * up_since_ms == 0 means "UP since the runtime was built" (never
 * transitioned): no ramp at startup. Not clamped below. */
static uint64_t server_ramp_scaled(const struct server *s, uint64_t now_ms, uint64_t scale)
{
    uint64_t since = atomic_load_explicit(&s->up_since_ms, memory_order_relaxed);
    if (s->slowstart_ms == 0 || since == 0)
        return scale;
    uint64_t elapsed = now_ms > since ? now_ms - since : 0, span = s->slowstart_ms;
    if (elapsed >= span)
        return scale;
    while (span > UINT32_MAX) {         /* keep scale * elapsed in 64 bits */
        span >>= 1;
        elapsed >>= 1;
    }
    return scale * elapsed / span;
}

int server_effective_weight(const struct server *s, uint64_t now_ms)
{
    int weight = atomic_load_explicit(&s->weight, memory_order_relaxed);
    if (weight <= 0)
        return 0;
    uint64_t w = server_ramp_scaled(s, now_ms, (uint64_t)weight);
    return w < 1 ? 1 : (int)w;
}

int server_ramp(const struct server *s, uint64_t now_ms)
{
    uint64_t r = server_ramp_scaled(s, now_ms, SERVER_RAMP_FULL);
    return r < 1 ? 1 : (int)r;
}

static void server_bump_gen(struct server *s)
{
    if (s->backend)
        atomic_fetch_add_explicit(&s->backend->gen, 1, memory_order_release);
}

/* Records the UP transition time (never 0, which means "no ramp") before
 * publishing the state, so a balancer that sees UP also sees the ramp. */
void server_set_state(struct server *s, enum srv_state state, uint64_t now_ms)
{
    int old = atomic_load_explicit(&s->state, memory_order_relaxed);
    if (old == (int)state)
        return;
    if (state == SRV_UP)
        atomic_store_explicit(&s->up_since_ms, now_ms ? now_ms : 1, memory_order_relaxed);
    atomic_store_explicit(&s->state, (int)state, memory_order_relaxed);
    server_bump_gen(s);
}

void server_set_weight(struct server *s, int weight)
{
    if (weight < 0)
        weight = 0;
    if (weight > SERVER_WEIGHT_MAX)
        weight = SERVER_WEIGHT_MAX;
    atomic_store_explicit(&s->weight, weight, memory_order_relaxed);
    server_bump_gen(s);
}

const uint64_t server_rt_bucket_us[SERVER_RT_BUCKETS] = {
    1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000,
};

void server_rt_hist_add(struct server *s, uint64_t rt_us)
{
    unsigned i = 0;
    while (i < SERVER_RT_BUCKETS && rt_us > server_rt_bucket_us[i])
        i++;
    atomic_fetch_add_explicit(&s->rt_hist.count[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->rt_hist.sum_us, rt_us, memory_order_relaxed);
}

/* ewma' = (7 * ewma + rt) / 8, rounded; the first sample seeds it. A CAS
 * loop so concurrent observers on other threads do not lose samples. */
void server_observe_rt(struct server *s, uint64_t rt_us)
{
    server_rt_hist_add(s, rt_us);
    if (rt_us > SERVER_RT_MAX_US)
        rt_us = SERVER_RT_MAX_US;
    uint64_t old = atomic_load_explicit(&s->ewma_rt_us, memory_order_relaxed);
    uint64_t next;
    do {
        next = old == 0 ? rt_us : (old * 7 + rt_us + 4) / 8;
    } while (!atomic_compare_exchange_weak_explicit(&s->ewma_rt_us, &old, next,
                                                    memory_order_relaxed,
                                                    memory_order_relaxed));
}

const char *server_state_name(enum srv_state state)
{
    switch (state) {
    case SRV_UP:    return "UP";
    case SRV_DOWN:  return "DOWN";
    case SRV_DRAIN: return "DRAIN";
    case SRV_MAINT: return "MAINT";
    }
    return "UNKNOWN";
}
