/* ratelimit.c - the three limiters over one key's state (ratelimit.h).
 * Pure: time is an argument, nothing here blocks or allocates.
 *
 * Integer arithmetic throughout so tests can assert exact counts:
 *  - token bucket: debt is counted in 1/per_ms of a token, so a request
 *    costs per_ms units, the bucket holds burst x per_ms units and refills
 *    `rate` units per millisecond, continuously;
 *  - windows are numbered now / per_ms; the sliding window weighs the
 *    previous window's count by the part of it still inside the last
 *    `per` (the two-window approximation), compared in rate x per units. */
#include "config.h"
#include "ratelimit.h"

static uint64_t sum_nodes32(const uint32_t *v)
{
    uint64_t s = 0;
    for (unsigned i = 0; i < RL_NODES; i++)
        s += v[i];
    return s;
}

static unsigned ms_to_retry_s(uint64_t ms)
{
    uint64_t s = (ms + 999) / 1000;
    if (s < 1)
        return 1;          /* "Retry-After: 0" would invite an instant retry */
    return s > 86400 * 7 ? 86400 * 7 : (unsigned)s;
}

/* ---- token bucket ---- */

static uint64_t tb_capacity(const struct rl_params *p)
{
    return p->burst * p->per_ms;
}

/* Pays back what elapsed since last_ms; a clock going backwards refills
 * nothing (and moves nothing back). */
static void tb_refill(struct rl_state *st, const struct rl_params *p, uint64_t now_ms)
{
    if (now_ms <= st->last_ms)
        return;
    uint64_t elapsed = now_ms - st->last_ms;
    st->last_ms = now_ms;
    if (elapsed >= st->debt / p->rate + 1)
        st->debt = 0;
    else
        st->debt -= elapsed * p->rate;
}

static void tb_check(struct rl_state *st, const struct rl_params *p, uint64_t now_ms,
                     struct rl_verdict *v)
{
    uint64_t cap = tb_capacity(p);
    tb_refill(st, p, now_ms);
    if (st->debt + p->per_ms <= cap) {
        st->debt += p->per_ms;
        st->spent[RL_NODE_LOCAL]++;
        v->allowed = 1;
        v->retry_after_s = 0;
        return;
    }
    /* Debt must fall to cap - per_ms at `rate` units per ms. */
    uint64_t over = st->debt - (cap - p->per_ms);
    v->allowed = 0;
    v->retry_after_s = ms_to_retry_s((over + p->rate - 1) / p->rate);
}

/* ---- windows ---- */

/* Moves the state to window w (never backwards): the current counts
 * become the previous window's, or are dropped when a window was skipped. */
static void win_roll(struct rl_state *st, uint64_t w)
{
    if (w <= st->window)
        return;
    for (unsigned i = 0; i < RL_NODES; i++) {
        st->prev[i] = w == st->window + 1 ? st->cur[i] : 0;
        st->cur[i] = 0;
    }
    st->window = w;
}

/* Milliseconds into the state's window; 0 when the clock went back into
 * an older window (the most conservative weight for the sliding window). */
static uint64_t win_elapsed(const struct rl_state *st, const struct rl_params *p,
                            uint64_t now_ms)
{
    uint64_t start = st->window * p->per_ms;
    return now_ms > start ? now_ms - start : 0;
}

static void fixed_check(struct rl_state *st, const struct rl_params *p, uint64_t now_ms,
                        struct rl_verdict *v)
{
    win_roll(st, now_ms / p->per_ms);
    if (sum_nodes32(st->cur) + 1 <= p->rate) {
        st->cur[RL_NODE_LOCAL]++;
        v->allowed = 1;
        v->retry_after_s = 0;
        return;
    }
    v->allowed = 0;
    v->retry_after_s = ms_to_retry_s(p->per_ms - win_elapsed(st, p, now_ms));
}

/* The first ms x of a window at which prev x (per - x) <= room x per: how
 * far into a window a previous count of `prev` has faded enough to leave
 * `room` requests. */
static uint64_t sliding_fade_ms(uint64_t prev, uint64_t room, uint64_t per)
{
    if (room >= prev)
        return 0;
    return per - room * per / prev;
}

/* Time until one more request would pass: later in this window while it
 * has room, else in the next, where this window's count has to fade. */
static uint64_t sliding_wait_ms(uint64_t prev, uint64_t cur, uint64_t elapsed,
                                const struct rl_params *p)
{
    if (cur + 1 <= p->rate) {
        uint64_t x = sliding_fade_ms(prev, p->rate - cur - 1, p->per_ms);
        return x > elapsed ? x - elapsed : 0;
    }
    return p->per_ms - elapsed + sliding_fade_ms(cur, p->rate - 1, p->per_ms);
}

static void sliding_check(struct rl_state *st, const struct rl_params *p, uint64_t now_ms,
                          struct rl_verdict *v)
{
    win_roll(st, now_ms / p->per_ms);
    uint64_t e = win_elapsed(st, p, now_ms);
    uint64_t prev = sum_nodes32(st->prev), cur = sum_nodes32(st->cur);
    if (prev * (p->per_ms - e) + (cur + 1) * p->per_ms <= p->rate * p->per_ms) {
        st->cur[RL_NODE_LOCAL]++;
        v->allowed = 1;
        v->retry_after_s = 0;
        return;
    }
    v->allowed = 0;
    v->retry_after_s = ms_to_retry_s(sliding_wait_ms(prev, cur, e, p));
}

void rl_check(struct rl_state *st, const struct rl_params *p, uint64_t now_ms,
              struct rl_verdict *v)
{
    switch (p->algo) {
    case RL_TOKEN_BUCKET:
        tb_check(st, p, now_ms, v);
        return;
    case RL_SLIDING_WINDOW:
        sliding_check(st, p, now_ms, v);
        return;
    case RL_FIXED_WINDOW:
        fixed_check(st, p, now_ms, v);
        return;
    }
    v->allowed = 1;
    v->retry_after_s = 0;
}

uint64_t rl_idle_expiry_ms(const struct rl_params *p)
{
    switch (p->algo) {
    case RL_TOKEN_BUCKET:
        return (tb_capacity(p) + p->rate - 1) / p->rate;
    case RL_SLIDING_WINDOW:
        return 2 * p->per_ms;
    case RL_FIXED_WINDOW:
        return p->per_ms;
    }
    return p->per_ms;
}

/* ---- the pair (issue 6) ---- */

void rl_report(const struct rl_state *st, unsigned node, struct rl_node_report *out)
{
    out->window = st->window;
    out->cur = st->cur[node];
    out->prev = st->prev[node];
    out->spent = st->spent[node];
}

static uint32_t max32(uint32_t a, uint32_t b) { return a > b ? a : b; }

static void win_merge(struct rl_state *st, const struct rl_params *p, unsigned node,
                      const struct rl_node_report *r, uint64_t now_ms)
{
    uint64_t w = now_ms / p->per_ms;
    if (r->window > w + 1)
        return;                     /* not a little ahead: a clock gone wrong */
    win_roll(st, w);
    win_roll(st, r->window);        /* a peer whose clock is a little ahead */
    if (r->window == st->window) {
        st->cur[node] = max32(st->cur[node], r->cur);
        st->prev[node] = max32(st->prev[node], r->prev);
    } else if (r->window + 1 == st->window) {
        st->prev[node] = max32(st->prev[node], r->cur);
    }
}

static void tb_merge(struct rl_state *st, const struct rl_params *p, unsigned node,
                     const struct rl_node_report *r, uint64_t now_ms)
{
    tb_refill(st, p, now_ms);
    if (r->spent <= st->spent[node])
        return;
    uint64_t delta = r->spent - st->spent[node], cap = tb_capacity(p);
    st->spent[node] = r->spent;
    /* An empty bucket is as empty as it gets: debt beyond it would make
     * the pair wait longer than one box ever would. */
    st->debt = delta >= (cap - st->debt) / p->per_ms + 1 ? cap : st->debt + delta * p->per_ms;
}

void rl_merge(struct rl_state *st, const struct rl_params *p, unsigned node,
              const struct rl_node_report *r, uint64_t now_ms)
{
    if (node >= RL_NODES || node == RL_NODE_LOCAL)
        return;
    if (p->algo == RL_TOKEN_BUCKET)
        tb_merge(st, p, node, r, now_ms);
    else
        win_merge(st, p, node, r, now_ms);
}

int rl_node_active(const struct rl_state *st, unsigned node)
{
    return node < RL_NODES && (st->cur[node] || st->prev[node] || st->spent[node]);
}
