/* feed.c - bounded per-shard event rings and their merged, ordered read. */
#include "config.h"
#include "feed.h"

#include <stdlib.h>
#include <string.h>

int feed_ring_init(struct feed_ring *r, unsigned cap, size_t esz)
{
    memset(r, 0, sizeof(*r));
    r->esz = esz;
    if (cap == 0)
        cap = 1;
    r->buf = calloc(cap, esz);
    if (!r->buf)
        return -1;
    r->cap = cap;
    return 0;
}

void feed_ring_free(struct feed_ring *r)
{
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

static unsigned char *ring_slot(const struct feed_ring *r, unsigned i)
{
    return r->buf + (size_t)((r->start + i) % r->cap) * r->esz;
}

static uint64_t slot_seq(const unsigned char *p)
{
    uint64_t seq;
    memcpy(&seq, p, sizeof(seq));
    return seq;
}

void *feed_ring_push(struct feed_ring *r, uint64_t seq)
{
    if (r->count == r->cap) {          /* full: the oldest is lost */
        r->lost_seq = slot_seq(ring_slot(r, 0));
        r->start = (r->start + 1) % r->cap;
        r->count--;
    }
    unsigned char *p = ring_slot(r, r->count++);
    memset(p, 0, r->esz);
    memcpy(p, &seq, sizeof(seq));
    return p;
}

/* Index of the first record of r with seq > since (rings are sorted). */
static unsigned ring_first_after(const struct feed_ring *r, uint64_t since)
{
    unsigned lo = 0, hi = r->count;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (slot_seq(ring_slot(r, mid)) <= since)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int feed_merge_read(struct feed_ring *const *rings, unsigned n, uint64_t since,
                    void *out, unsigned max)
{
    unsigned pos[n ? n : 1];
    for (unsigned i = 0; i < n; i++) {
        if (rings[i]->lost_seq > since)
            return -1;
        pos[i] = ring_first_after(rings[i], since);
    }
    unsigned got = 0;
    while (got < max) {                /* n-way merge: n is small (shards) */
        int best = -1;
        uint64_t best_seq = UINT64_MAX;
        for (unsigned i = 0; i < n; i++) {
            if (pos[i] >= rings[i]->count)
                continue;
            uint64_t s = slot_seq(ring_slot(rings[i], pos[i]));
            if (s < best_seq) {
                best_seq = s;
                best = (int)i;
            }
        }
        if (best < 0)
            break;
        const struct feed_ring *r = rings[best];
        memcpy((unsigned char *)out + (size_t)got * r->esz, ring_slot(r, pos[best]), r->esz);
        pos[best]++;
        got++;
    }
    return (int)got;
}
