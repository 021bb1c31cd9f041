/* peer_conns.c - the peer's connections as the sync channel reports them
 * (peer_conns.h): one mutex around three hashes and two lists.
 *
 *   by_id    every entry, by the peer's connection id;
 *   groups   the entries that share a lookup key, newest first: a udp
 *            flow (frontend, client ip+port, local ip+port) or a tcp/http
 *            client (proto, frontend, client ip). Each entry is in exactly
 *            one group, so removing an entry keeps the lookups exact;
 *   servers  per (backend, server) the number of open entries bound to
 *            it, kept up to date as entries open, move and end, so
 *            counts() walks servers, not connections;
 *   open     the open entries, in order of arrival;
 *   recent   the recent entries by expiry, soonest first: expire() and
 *            the bound take from the head.
 *
 * Keys are hashed with a seeded XXH3 (client addresses come from the
 * network) and uthash is built with HASH_NONFATAL_OOM: out of memory drops
 * the entry (counted as refused), it never exits. */
#include "config.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <xxhash.h>

/* Each function that adds to a hash declares its own pc_oom. */
#undef HASH_NONFATAL_OOM
#define HASH_NONFATAL_OOM 1
#undef uthash_nonfatal_oom
#define uthash_nonfatal_oom(elt) (pc_oom = 1)
#include <uthash.h>

#include "addr.h"
#include "peer_conns.h"

struct pc_entry;
TAILQ_HEAD(pc_list, pc_entry);

/* A lookup key: only its first klen bytes (the frontend without its NUL)
 * are hashed and compared; the rest stays zero. */
struct pc_key {
    uint8_t proto;
    uint8_t pad;
    uint16_t client_port;              /* udp only, else 0 */
    uint16_t local_port;               /* udp only */
    uint8_t client_ip[16];
    uint8_t local_ip[16];              /* udp only */
    char frontend[CONNTABLE_NAME_MAX];
};
#define PC_KEY_FIXED offsetof(struct pc_key, frontend)

struct pc_group {
    UT_hash_handle hh;
    struct pc_list entries;            /* newest first */
    unsigned klen;
    struct pc_key key;
};

struct pc_server {
    UT_hash_handle hh;
    unsigned n;                        /* open entries bound to it */
    unsigned klen;
    char key[];                        /* backend, NUL, server, NUL (not in klen) */
};

struct pc_entry {
    UT_hash_handle hh;                 /* in by_id */
    TAILQ_ENTRY(pc_entry) age;         /* in open or recent */
    TAILQ_ENTRY(pc_entry) sib;         /* in group->entries */
    struct pc_group *group;
    struct pc_server *srv;             /* open with a server only */
    uint64_t expire_ms;                /* recent only */
    uint64_t order;                    /* when last applied: breaks start_ms ties */
    int recent;
    struct conn_info info;
};

struct peer_conns {
    pthread_mutex_t lock;
    unsigned max;
    uint64_t grace_ms;
    uint64_t seed;
    uint64_t order;
    struct pc_entry *by_id;
    struct pc_group *groups;
    struct pc_server *servers;
    struct pc_list open, recent;
    struct peer_conns_stats st;        /* st.open + st.recent = entries */
};

/* A seed per table so nobody can pick addresses that share a bucket. */
static uint64_t table_seed(const void *pc)
{
    uint64_t seed;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed))
        return seed;
    return (uint64_t)(uintptr_t)pc * 0x9e3779b97f4a7c15ULL;
}

static unsigned pc_hash(const struct peer_conns *pc, const void *p, size_t len)
{
    return (unsigned)XXH3_64bits_withSeed(p, len, pc->seed);
}

struct peer_conns *peer_conns_new(unsigned max_entries, uint64_t grace_ms)
{
    struct peer_conns *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return NULL;
    pthread_mutex_init(&pc->lock, NULL);
    pc->max = max_entries ? max_entries : 1;
    pc->grace_ms = grace_ms;
    pc->seed = table_seed(pc);
    TAILQ_INIT(&pc->open);
    TAILQ_INIT(&pc->recent);
    return pc;
}

static void entries_free(struct pc_list *list)
{
    struct pc_entry *e;
    while ((e = TAILQ_FIRST(list)) != NULL) {
        TAILQ_REMOVE(list, e, age);
        free(e);
    }
}

void peer_conns_free(struct peer_conns *pc)
{
    if (!pc)
        return;
    HASH_CLEAR(hh, pc->by_id);
    entries_free(&pc->open);
    entries_free(&pc->recent);
    struct pc_group *g, *gtmp;
    HASH_ITER(hh, pc->groups, g, gtmp) {
        HASH_DELETE(hh, pc->groups, g);
        free(g);
    }
    struct pc_server *s, *stmp;
    HASH_ITER(hh, pc->servers, s, stmp) {
        HASH_DELETE(hh, pc->servers, s);
        free(s);
    }
    pthread_mutex_destroy(&pc->lock);
    free(pc);
}

void peer_conns_set_grace(struct peer_conns *pc, uint64_t grace_ms)
{
    pthread_mutex_lock(&pc->lock);
    pc->grace_ms = grace_ms;
    pthread_mutex_unlock(&pc->lock);
}

/* ---- keys ---- */

/* Returns the key's length, or 0 when the frontend name is longer than
 * any the table can hold. */
static unsigned key_make(struct pc_key *k, uint8_t proto, const char *frontend,
                         const uint8_t client_ip[16], uint16_t client_port,
                         const uint8_t local_ip[16], uint16_t local_port)
{
    size_t flen = strnlen(frontend, CONNTABLE_NAME_MAX + 1);
    if (flen > CONNTABLE_NAME_MAX)
        return 0;
    memset(k, 0, sizeof(*k));
    k->proto = proto;
    memcpy(k->client_ip, client_ip, 16);
    if (proto == CONN_UDP) {
        k->client_port = client_port;
        memcpy(k->local_ip, local_ip, 16);
        k->local_port = local_port;
    }
    memcpy(k->frontend, frontend, flen);
    return (unsigned)(PC_KEY_FIXED + flen);
}

/* info_sane() bounded the frontend: never 0. */
static unsigned key_of_info(struct pc_key *k, const struct conn_info *ci)
{
    return key_make(k, ci->proto, ci->frontend, ci->client_ip, ci->client_port, ci->local_ip,
                    ci->local_port);
}

/* ---- groups: the entries behind one lookup key ---- */

static struct pc_group *group_find(struct peer_conns *pc, const struct pc_key *k,
                                   unsigned klen, unsigned hv)
{
    struct pc_group *g = NULL;
    HASH_FIND_BYHASHVALUE(hh, pc->groups, k, klen, hv, g);
    return g;
}

static struct pc_group *group_get(struct peer_conns *pc, const struct pc_key *k, unsigned klen)
{
    unsigned hv = pc_hash(pc, k, klen);
    struct pc_group *g = group_find(pc, k, klen, hv);
    if (g)
        return g;
    if ((g = calloc(1, sizeof(*g))) == NULL)
        return NULL;
    TAILQ_INIT(&g->entries);
    g->key = *k;
    g->klen = klen;
    int pc_oom = 0;
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, pc->groups, &g->key, g->klen, hv, g);
    if (pc_oom) {
        free(g);
        return NULL;
    }
    return g;
}

/* Newest first: the highest start_ms, then the latest applied. e was
 * just applied, so it goes before every entry of its start_ms. */
static void group_insert(struct pc_group *g, struct pc_entry *e)
{
    struct pc_entry *cur;
    TAILQ_FOREACH(cur, &g->entries, sib)
        if (cur->info.start_ms < e->info.start_ms ||
            (cur->info.start_ms == e->info.start_ms && cur->order < e->order))
            break;
    if (cur)
        TAILQ_INSERT_BEFORE(cur, e, sib);
    else
        TAILQ_INSERT_TAIL(&g->entries, e, sib);
}

static int group_link(struct peer_conns *pc, struct pc_entry *e)
{
    struct pc_key k;
    unsigned klen = key_of_info(&k, &e->info);
    struct pc_group *g = group_get(pc, &k, klen);
    if (!g)
        return -1;
    group_insert(g, e);
    e->group = g;
    return 0;
}

static void group_unlink(struct peer_conns *pc, struct pc_entry *e)
{
    struct pc_group *g = e->group;
    if (!g)
        return;
    TAILQ_REMOVE(&g->entries, e, sib);
    e->group = NULL;
    if (TAILQ_EMPTY(&g->entries)) {
        HASH_DELETE(hh, pc->groups, g);
        free(g);
    }
}

static int entry_live(const struct pc_entry *e, uint64_t now_ms)
{
    return !e->recent || now_ms < e->expire_ms;
}

/* The newest live entry of the group that has a server. */
static const struct pc_entry *group_newest(const struct pc_group *g, uint64_t now_ms)
{
    const struct pc_entry *e;
    TAILQ_FOREACH(e, &g->entries, sib)
        if (e->info.server[0] && entry_live(e, now_ms))
            return e;
    return NULL;
}

/* ---- per-server counts of open entries ---- */

static int srv_link(struct peer_conns *pc, struct pc_entry *e)
{
    if (e->recent || !e->info.server[0])
        return 0;
    char k[2 * CONNTABLE_NAME_MAX + 2];
    size_t blen = strlen(e->info.backend), slen = strlen(e->info.server);
    memcpy(k, e->info.backend, blen + 1);
    memcpy(k + blen + 1, e->info.server, slen);
    unsigned klen = (unsigned)(blen + 1 + slen);
    unsigned hv = pc_hash(pc, k, klen);
    struct pc_server *s = NULL;
    HASH_FIND_BYHASHVALUE(hh, pc->servers, k, klen, hv, s);
    if (!s) {
        if ((s = calloc(1, sizeof(*s) + klen + 1)) == NULL)
            return -1;
        memcpy(s->key, k, klen);
        s->klen = klen;
        int pc_oom = 0;
        HASH_ADD_KEYPTR_BYHASHVALUE(hh, pc->servers, s->key, s->klen, hv, s);
        if (pc_oom) {
            free(s);
            return -1;
        }
    }
    s->n++;
    e->srv = s;
    return 0;
}

static void srv_unlink(struct peer_conns *pc, struct pc_entry *e)
{
    struct pc_server *s = e->srv;
    if (!s)
        return;
    e->srv = NULL;
    if (--s->n == 0) {
        HASH_DELETE(hh, pc->servers, s);
        free(s);
    }
}

/* ---- age lists ---- */

static void age_unlink(struct peer_conns *pc, struct pc_entry *e)
{
    if (e->recent) {
        TAILQ_REMOVE(&pc->recent, e, age);
        pc->st.recent--;
    } else {
        TAILQ_REMOVE(&pc->open, e, age);
        pc->st.open--;
    }
}

/* A recent entry goes in expiry order. The grace rarely changes, so the
 * walk from the tail usually stops at once. */
static void age_link(struct peer_conns *pc, struct pc_entry *e, int recent, uint64_t now_ms)
{
    e->recent = recent;
    if (!recent) {
        TAILQ_INSERT_TAIL(&pc->open, e, age);
        pc->st.open++;
        return;
    }
    e->expire_ms = now_ms + pc->grace_ms < now_ms ? UINT64_MAX : now_ms + pc->grace_ms;
    struct pc_entry *cur = TAILQ_LAST(&pc->recent, pc_list);
    while (cur && cur->expire_ms > e->expire_ms)
        cur = TAILQ_PREV(cur, pc_list, age);
    if (cur)
        TAILQ_INSERT_AFTER(&pc->recent, cur, e, age);
    else
        TAILQ_INSERT_HEAD(&pc->recent, e, age);
    pc->st.recent++;
}

/* ---- entries ---- */

static struct pc_entry *entry_find(struct peer_conns *pc, uint64_t id)
{
    struct pc_entry *e = NULL;
    HASH_FIND_BYHASHVALUE(hh, pc->by_id, &id, sizeof(id), pc_hash(pc, &id, sizeof(id)), e);
    return e;
}

/* Takes e out of its group, server count and age list (it may be in no
 * group or count: see entry_index). */
static void entry_unindex(struct peer_conns *pc, struct pc_entry *e)
{
    group_unlink(pc, e);
    srv_unlink(pc, e);
    age_unlink(pc, e);
}

static void entry_free(struct peer_conns *pc, struct pc_entry *e)
{
    entry_unindex(pc, e);
    HASH_DELETE(hh, pc->by_id, e);
    free(e);
}

/* Puts e (in by_id, in no list) in its age list, group and server count,
 * as just applied; out of memory drops it, counted as refused. */
static void entry_index(struct peer_conns *pc, struct pc_entry *e, int recent, uint64_t now_ms)
{
    e->order = ++pc->order;
    age_link(pc, e, recent, now_ms);
    if (group_link(pc, e) < 0 || srv_link(pc, e) < 0) {
        entry_free(pc, e);
        pc->st.refused++;
    }
}

static void entry_update(struct peer_conns *pc, struct pc_entry *e, const struct conn_info *in,
                         int recent, uint64_t now_ms)
{
    entry_unindex(pc, e);
    e->info = *in;
    entry_index(pc, e, recent, now_ms);
}

/* A new id. When full, the recent entry that expires first makes room;
 * with none, the insert is refused. */
static void entry_insert(struct peer_conns *pc, const struct conn_info *in, int recent,
                         uint64_t now_ms)
{
    if (pc->st.open + pc->st.recent >= pc->max && !TAILQ_EMPTY(&pc->recent))
        entry_free(pc, TAILQ_FIRST(&pc->recent));
    struct pc_entry *e = NULL;
    if (pc->st.open + pc->st.recent >= pc->max || (e = calloc(1, sizeof(*e))) == NULL) {
        pc->st.refused++;
        return;
    }
    e->info = *in;
    int pc_oom = 0;
    HASH_ADD_KEYPTR_BYHASHVALUE(hh, pc->by_id, &e->info.id, sizeof(e->info.id),
                                pc_hash(pc, &e->info.id, sizeof(e->info.id)), e);
    if (pc_oom) {
        free(e);
        pc->st.refused++;
        return;
    }
    entry_index(pc, e, recent, now_ms);
}

/* An open entry becomes recent (its group, and so its lookups, stay). */
static void entry_make_recent(struct peer_conns *pc, struct pc_entry *e, uint64_t now_ms)
{
    srv_unlink(pc, e);
    age_unlink(pc, e);
    age_link(pc, e, 1, now_ms);
}

/* A closed udp flow, or a connection that never had a server, leaves
 * nothing a lookup could use; a tcp/http one with a server stays recent.
 * A close for an id we do not hold (its open was refused, or it closed
 * between a snapshot and the feed) still leaves the recent entry. */
static void entry_close(struct peer_conns *pc, struct pc_entry *e, const struct conn_info *in,
                        uint64_t now_ms)
{
    int keep = in->proto != CONN_UDP && in->server[0];
    if (!e && keep)
        entry_insert(pc, in, 1, now_ms);
    else if (e && keep)
        entry_update(pc, e, in, 1, now_ms);
    else if (e)
        entry_free(pc, e);
}

/* The event's info from the network, bounded: names end within their
 * arrays, the proto is one we know. */
static int info_sane(const struct conn_info *ci, struct conn_info *out)
{
    if (ci->proto < CONN_HTTP || ci->proto > CONN_UDP)
        return -1;
    *out = *ci;
    out->frontend[CONNTABLE_NAME_MAX] = '\0';
    out->backend[CONNTABLE_NAME_MAX] = '\0';
    out->server[CONNTABLE_NAME_MAX] = '\0';
    return 0;
}

void peer_conns_apply(struct peer_conns *pc, enum conn_event_type type,
                      const struct conn_info *ci, uint64_t now_ms)
{
    struct conn_info in;
    if (info_sane(ci, &in) < 0)
        return;
    if (type != CONN_EV_OPEN && type != CONN_EV_STATE && type != CONN_EV_CLOSE)
        return;
    pthread_mutex_lock(&pc->lock);
    pc->st.applied++;
    struct pc_entry *e = entry_find(pc, in.id);
    if (type == CONN_EV_CLOSE)
        entry_close(pc, e, &in, now_ms);
    else if (e)
        entry_update(pc, e, &in, 0, now_ms);
    else
        entry_insert(pc, &in, 0, now_ms);
    pthread_mutex_unlock(&pc->lock);
}

void peer_conns_snapshot_begin(struct peer_conns *pc, uint64_t now_ms)
{
    (void)now_ms;
    pthread_mutex_lock(&pc->lock);
    struct pc_entry *e;
    while ((e = TAILQ_FIRST(&pc->open)) != NULL)
        entry_free(pc, e);
    pthread_mutex_unlock(&pc->lock);
}

void peer_conns_orphan(struct peer_conns *pc, uint64_t now_ms)
{
    pthread_mutex_lock(&pc->lock);
    struct pc_entry *e;
    while ((e = TAILQ_FIRST(&pc->open)) != NULL) {
        if (e->info.server[0])
            entry_make_recent(pc, e, now_ms);
        else
            entry_free(pc, e);
    }
    pthread_mutex_unlock(&pc->lock);
}

unsigned peer_conns_expire(struct peer_conns *pc, uint64_t now_ms)
{
    unsigned n = 0;
    pthread_mutex_lock(&pc->lock);
    struct pc_entry *e;
    while ((e = TAILQ_FIRST(&pc->recent)) != NULL && e->expire_ms <= now_ms) {
        entry_free(pc, e);
        n++;
    }
    pthread_mutex_unlock(&pc->lock);
    return n;
}

/* ---- lookups ---- */

/* Finds the group of k and copies out its newest usable binding. */
static int lookup(struct peer_conns *pc, const struct pc_key *k, unsigned klen, char *backend,
                  char *server, uint64_t now_ms)
{
    unsigned hv = pc_hash(pc, k, klen);
    int found = 0;
    pthread_mutex_lock(&pc->lock);
    struct pc_group *g = group_find(pc, k, klen, hv);
    const struct pc_entry *e = g ? group_newest(g, now_ms) : NULL;
    if (e) {
        memcpy(backend, e->info.backend, strlen(e->info.backend) + 1);
        memcpy(server, e->info.server, strlen(e->info.server) + 1);
        found = 1;
    }
    pthread_mutex_unlock(&pc->lock);
    return found;
}

int peer_conns_find_flow(struct peer_conns *pc, const char *frontend,
                         const struct sockaddr *client, const struct sockaddr *local,
                         char *backend, char *server, uint64_t now_ms)
{
    uint8_t cip[16], lip[16];
    uint16_t cport, lport;
    struct pc_key k;
    unsigned klen;
    if (addr_to_v6(client, cip, &cport) < 0 || addr_to_v6(local, lip, &lport) < 0 ||
        (klen = key_make(&k, CONN_UDP, frontend, cip, cport, lip, lport)) == 0)
        return 0;
    return lookup(pc, &k, klen, backend, server, now_ms);
}

int peer_conns_find_client(struct peer_conns *pc, enum conn_proto proto, const char *frontend,
                           const struct sockaddr *client, char *backend, char *server,
                           uint64_t now_ms)
{
    static const uint8_t none[16];
    uint8_t cip[16];
    uint16_t cport;
    struct pc_key k;
    unsigned klen;
    if ((proto != CONN_TCP && proto != CONN_HTTP) || addr_to_v6(client, cip, &cport) < 0 ||
        (klen = key_make(&k, (uint8_t)proto, frontend, cip, 0, none, 0)) == 0)
        return 0;
    return lookup(pc, &k, klen, backend, server, now_ms);
}

/* ---- readers ---- */

void peer_conns_counts(struct peer_conns *pc, peer_conns_count_fn *fn, void *arg)
{
    pthread_mutex_lock(&pc->lock);
    struct pc_server *s, *tmp;
    HASH_ITER(hh, pc->servers, s, tmp)
        fn(s->key, s->key + strlen(s->key) + 1, s->n, arg);
    pthread_mutex_unlock(&pc->lock);
}

void peer_conns_walk(struct peer_conns *pc, conntable_iter_fn *fn, void *arg)
{
    pthread_mutex_lock(&pc->lock);
    struct pc_entry *e;
    TAILQ_FOREACH(e, &pc->open, age)
        fn(&e->info, arg);
    pthread_mutex_unlock(&pc->lock);
}

void peer_conns_stats(struct peer_conns *pc, struct peer_conns_stats *out)
{
    pthread_mutex_lock(&pc->lock);
    *out = pc->st;
    pthread_mutex_unlock(&pc->lock);
}
