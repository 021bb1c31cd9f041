/* feed.h - the change feeds of the replicated tables (sticky.c,
 * conntable.c): a bounded ring of fixed-size event records per shard, and a
 * reader that merges the shards' rings in sequence order.
 *
 * Every record starts with its uint64_t sequence number. Sequence numbers
 * come from one counter per table and are taken under the shard's lock in
 * the same critical section as the push, so each ring is sorted and a
 * reader holding every shard's lock sees no hole below the newest number.
 * When a ring is full the oldest record is overwritten and its number
 * remembered: a reader asking for events after an older number has missed
 * some and must resync from a snapshot. Pure: no locks, no I/O. */
#ifndef TANDEM_FEED_H
#define TANDEM_FEED_H

#include <stddef.h>
#include <stdint.h>

struct feed_ring {
    unsigned char *buf;
    size_t esz;                        /* record size, >= 8 (the seq) */
    unsigned cap;                      /* records */
    unsigned start;                    /* index of the oldest record */
    unsigned count;
    uint64_t lost_seq;                 /* newest overwritten seq, 0 = none */
};

/* Returns 0, or -1 when out of memory. cap 0 is taken as 1. */
int feed_ring_init(struct feed_ring *r, unsigned cap, size_t esz);
void feed_ring_free(struct feed_ring *r);

/* Slot for a new record with sequence seq (written into its first 8
 * bytes); the caller fills the rest. Never NULL once initialised. */
void *feed_ring_push(struct feed_ring *r, uint64_t seq);

/* Copies records with seq > since from the n rings (the caller holds their
 * locks) into out (max records of esz bytes), in increasing seq order.
 * Returns the number copied, or -1 if some record after `since` was already
 * overwritten (the consumer fell behind: resync from a snapshot). */
int feed_merge_read(struct feed_ring *const *rings, unsigned n, uint64_t since,
                    void *out, unsigned max);

#endif
