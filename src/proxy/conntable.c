/* conntable.c - live connections, one shard per worker, with a change
 * feed. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "addr.h"
#include "conntable.h"
#include "feed.h"

struct conn_entry {
    TAILQ_ENTRY(conn_entry) link;
    unsigned shard;
    _Atomic uint64_t bytes_in, bytes_out;   /* info's are 0 until the close */
    struct conn_info info;
};
TAILQ_HEAD(conn_list, conn_entry);

struct conn_shard {
    pthread_mutex_t lock;
    struct conn_list list;
    unsigned count;
    uint64_t counter;                  /* ids handed out by this shard */
    struct feed_ring feed;
} __attribute__((aligned(64)));        /* workers' shards on separate lines */

struct conntable {
    unsigned nshards;
    _Atomic uint64_t seq;
    struct conn_shard *shards;
};

struct conntable *conntable_create(unsigned nshards, unsigned feed_per_shard)
{
    if (nshards == 0 || nshards > 4096)
        return NULL;
    struct conntable *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->shards = aligned_alloc(64, sizeof(*t->shards) * nshards);
    if (!t->shards) {
        free(t);
        return NULL;
    }
    for (unsigned i = 0; i < nshards; i++) {
        struct conn_shard *sh = &t->shards[i];
        memset(sh, 0, sizeof(*sh));
        pthread_mutex_init(&sh->lock, NULL);
        TAILQ_INIT(&sh->list);
        t->nshards = i + 1;
        if (feed_ring_init(&sh->feed, feed_per_shard, sizeof(struct conn_event)) < 0) {
            conntable_destroy(t);
            return NULL;
        }
    }
    return t;
}

void conntable_destroy(struct conntable *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->nshards; i++) {
        struct conn_shard *sh = &t->shards[i];
        struct conn_entry *c;
        while ((c = TAILQ_FIRST(&sh->list)) != NULL) {
            TAILQ_REMOVE(&sh->list, c, link);
            free(c);
        }
        feed_ring_free(&sh->feed);
        pthread_mutex_destroy(&sh->lock);
    }
    free(t->shards);
    free(t);
}

/* Called with the shard locked: each ring stays in sequence order. */
static void feed_push(struct conntable *t, struct conn_shard *sh, enum conn_event_type type,
                      const struct conn_info *ci, uint64_t now_ms)
{
    uint64_t seq = atomic_fetch_add(&t->seq, 1) + 1;
    struct conn_event *ev = feed_ring_push(&sh->feed, seq);
    ev->type = (uint8_t)type;
    ev->at_ms = now_ms;
    ev->info = *ci;
}

static void copy_name(char *dst, const char *src)
{
    size_t n = src ? strnlen(src, CONNTABLE_NAME_MAX) : 0;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

static void info_init(struct conn_info *ci, enum conn_proto proto, const char *frontend,
                      const struct sockaddr *client, const struct sockaddr *local,
                      uint64_t now_ms)
{
    memset(ci, 0, sizeof(*ci));
    ci->proto = (uint8_t)proto;
    ci->state = CONN_ST_CLIENT;
    ci->start_ms = now_ms;
    copy_name(ci->frontend, frontend);
    if (client)
        addr_to_v6(client, ci->client_ip, &ci->client_port);
    if (local)
        addr_to_v6(local, ci->local_ip, &ci->local_port);
}

struct conn_entry *conntable_open(struct conntable *t, unsigned shard, enum conn_proto proto,
                                  const char *frontend, const struct sockaddr *client,
                                  const struct sockaddr *local, uint64_t now_ms)
{
    struct conn_entry *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    c->shard = shard % t->nshards;
    atomic_init(&c->bytes_in, 0);
    atomic_init(&c->bytes_out, 0);
    info_init(&c->info, proto, frontend, client, local, now_ms);
    struct conn_shard *sh = &t->shards[c->shard];
    pthread_mutex_lock(&sh->lock);
    c->info.id = ((uint64_t)c->shard << 48) | (++sh->counter & 0xffffffffffffu);
    TAILQ_INSERT_TAIL(&sh->list, c, link);
    sh->count++;
    feed_push(t, sh, CONN_EV_OPEN, &c->info, now_ms);
    pthread_mutex_unlock(&sh->lock);
    return c;
}

uint64_t conntable_id(const struct conn_entry *c)
{
    return c ? c->info.id : 0;
}

void conntable_set_server(struct conntable *t, struct conn_entry *c, const char *backend,
                          const char *server, uint64_t now_ms)
{
    if (!c)
        return;
    struct conn_shard *sh = &t->shards[c->shard];
    pthread_mutex_lock(&sh->lock);
    if (c->info.state != CONN_ST_SERVER || strcmp(c->info.backend, backend) != 0 ||
        strcmp(c->info.server, server) != 0) {
        copy_name(c->info.backend, backend);
        copy_name(c->info.server, server);
        c->info.state = CONN_ST_SERVER;
        feed_push(t, sh, CONN_EV_STATE, &c->info, now_ms);
    }
    pthread_mutex_unlock(&sh->lock);
}

void conntable_set_addrs(struct conntable *t, struct conn_entry *c,
                         const struct sockaddr *client, const struct sockaddr *local,
                         uint64_t now_ms)
{
    if (!c)
        return;
    struct conn_shard *sh = &t->shards[c->shard];
    pthread_mutex_lock(&sh->lock);
    struct conn_info *ci = &c->info;
    uint8_t cip[16], lip[16];
    uint16_t cport, lport;
    memcpy(cip, ci->client_ip, 16);
    memcpy(lip, ci->local_ip, 16);
    cport = ci->client_port;
    lport = ci->local_port;
    if (client)
        addr_to_v6(client, ci->client_ip, &ci->client_port);
    if (local)
        addr_to_v6(local, ci->local_ip, &ci->local_port);
    if (memcmp(cip, ci->client_ip, 16) != 0 || cport != ci->client_port ||
        memcmp(lip, ci->local_ip, 16) != 0 || lport != ci->local_port)
        feed_push(t, sh, CONN_EV_STATE, ci, now_ms);
    pthread_mutex_unlock(&sh->lock);
}

/* One writer (the owning worker): a load and a store, no locked add. */
void conntable_add_bytes(struct conn_entry *c, uint64_t in, uint64_t out)
{
    if (!c)
        return;
    if (in)
        atomic_store_explicit(&c->bytes_in,
                              atomic_load_explicit(&c->bytes_in, memory_order_relaxed) + in,
                              memory_order_relaxed);
    if (out)
        atomic_store_explicit(&c->bytes_out,
                              atomic_load_explicit(&c->bytes_out, memory_order_relaxed) + out,
                              memory_order_relaxed);
}

void conntable_close(struct conntable *t, struct conn_entry *c, uint64_t bytes_in,
                     uint64_t bytes_out, uint64_t now_ms)
{
    if (!c)
        return;
    struct conn_shard *sh = &t->shards[c->shard];
    pthread_mutex_lock(&sh->lock);
    TAILQ_REMOVE(&sh->list, c, link);
    sh->count--;
    c->info.bytes_in = bytes_in;
    c->info.bytes_out = bytes_out;
    c->info.state = CONN_ST_CLOSED;
    feed_push(t, sh, CONN_EV_CLOSE, &c->info, now_ms);
    pthread_mutex_unlock(&sh->lock);
    free(c);
}

unsigned conntable_count(struct conntable *t)
{
    unsigned n = 0;
    for (unsigned i = 0; i < t->nshards; i++) {
        pthread_mutex_lock(&t->shards[i].lock);
        n += t->shards[i].count;
        pthread_mutex_unlock(&t->shards[i].lock);
    }
    return n;
}

unsigned conntable_nshards(const struct conntable *t)
{
    return t->nshards;
}

void conntable_snapshot_shard(struct conntable *t, unsigned shard, conntable_iter_fn *fn,
                              void *arg)
{
    struct conn_shard *sh = &t->shards[shard % t->nshards];
    pthread_mutex_lock(&sh->lock);
    struct conn_entry *c;
    TAILQ_FOREACH(c, &sh->list, link) {
        struct conn_info ci = c->info;
        ci.bytes_in = atomic_load_explicit(&c->bytes_in, memory_order_relaxed);
        ci.bytes_out = atomic_load_explicit(&c->bytes_out, memory_order_relaxed);
        fn(&ci, arg);
    }
    pthread_mutex_unlock(&sh->lock);
}

uint64_t conntable_snapshot(struct conntable *t, conntable_iter_fn *fn, void *arg)
{
    uint64_t from = atomic_load(&t->seq);
    for (unsigned i = 0; i < t->nshards; i++)
        conntable_snapshot_shard(t, i, fn, arg);
    return from;
}

/* Every shard is locked while the rings are merged, so no sequence number
 * below the newest can still be on its way into a ring. */
int conntable_feed_read(struct conntable *t, uint64_t since_seq, struct conn_event *out,
                        unsigned max)
{
    struct feed_ring **rings = malloc(sizeof(*rings) * t->nshards);
    if (!rings)
        return 0;
    for (unsigned i = 0; i < t->nshards; i++) {
        rings[i] = &t->shards[i].feed;
        pthread_mutex_lock(&t->shards[i].lock);
    }
    int n = feed_merge_read(rings, t->nshards, since_seq, out, max);
    for (unsigned i = t->nshards; i-- > 0;)
        pthread_mutex_unlock(&t->shards[i].lock);
    free(rings);
    return n;
}

uint64_t conntable_feed_seq(struct conntable *t)
{
    return atomic_load(&t->seq);
}

const char *conntable_proto_name(enum conn_proto p)
{
    switch (p) {
    case CONN_HTTP: return "http";
    case CONN_TCP: return "tcp";
    case CONN_UDP: return "udp";
    }
    return "?";
}

const char *conntable_state_name(enum conn_state s)
{
    switch (s) {
    case CONN_ST_CLIENT: return "client";
    case CONN_ST_SERVER: return "server";
    case CONN_ST_CLOSED: return "closed";
    }
    return "?";
}
