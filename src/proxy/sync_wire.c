/* sync_wire.c - the peer sync channel's codec (sync_wire.h), payload
 * layouts in docs/sync-protocol.md. One set of field rules (msg_check)
 * serves both directions: the encoder refuses what the decoder would, so
 * a frame we send is never one the peer closes the link over. */
#include "config.h"
#include "sync_wire.h"

#include <string.h>

/* Per type: payload length bounds (checked as soon as the header's length
 * bytes arrive) and the messages naming what was wrong. */
struct wire_type {
    const char *name;
    uint16_t min, max;
    const char *err_short, *err_long, *err_trailing;
};

#define NAME_STR(n) (1 + (n))          /* length byte + bytes */
#define WIRE_TYPE(name, lo, hi, low) \
    { name, lo, hi, low ": payload too short", low ": payload too long", low ": trailing bytes" }

/* Fixed parts: see the encoders below. */
#define STICKY_FIXED 19                /* seq, remaining, ttl, type, kind, key_len */
#define CONN_FIXED   79                /* seq, type, id, start, bytes x2, addrs, ports, proto, state */
#define RL_FIXED     25                /* key_len, window, cur, prev, spent */
#define HB_FIXED     25                /* now, sticky_seq, conn_seq, nvips */

static const struct wire_type wire_types[] = {
    [SYNC_HELLO] = WIRE_TYPE("HELLO", 8 + NAME_STR(1), 8 + NAME_STR(SYNC_NAME_MAX), "hello"),
    [SYNC_WELCOME] = WIRE_TYPE("WELCOME", 24 + NAME_STR(1), 24 + NAME_STR(SYNC_NAME_MAX),
                               "welcome"),
    [SYNC_STICKY] = WIRE_TYPE("STICKY", STICKY_FIXED + 2 * NAME_STR(0),
                              STICKY_FIXED + STICKY_KEY_MAX + 2 * NAME_STR(SYNC_NAME_MAX),
                              "sticky"),
    [SYNC_CONN] = WIRE_TYPE("CONN", CONN_FIXED + NAME_STR(1) + 2 * NAME_STR(0),
                            CONN_FIXED + 3 * NAME_STR(SYNC_NAME_MAX), "conn"),
    [SYNC_RL] = WIRE_TYPE("RL", NAME_STR(1) + RL_FIXED,
                          NAME_STR(SYNC_NAME_MAX) + RL_FIXED + RL_KEY_MAX, "rl"),
    [SYNC_SNAP_BEGIN] = WIRE_TYPE("SNAP_BEGIN", 1, 1, "snap_begin"),
    [SYNC_SNAP_END] = WIRE_TYPE("SNAP_END", 9, 9, "snap_end"),
    [SYNC_ACK] = WIRE_TYPE("ACK", 16, 16, "ack"),
    [SYNC_HEARTBEAT] = WIRE_TYPE("HEARTBEAT", HB_FIXED,
                                 HB_FIXED + SYNC_VIPS_MAX * NAME_STR(SYNC_NAME_MAX), "heartbeat"),
    [SYNC_RESYNC] = WIRE_TYPE("RESYNC", 1, 1, "resync"),
    [SYNC_BYE] = WIRE_TYPE("BYE", NAME_STR(0), NAME_STR(127), "bye"),
};

#define RESYNC_KNOWN ((1u << SYNC_TABLE_STICKY) | (1u << SYNC_TABLE_CONN))

/* Lengths travel in one byte; conn_info's names share the struct's bound. */
_Static_assert(STICKY_KEY_MAX <= 255 && RL_KEY_MAX <= 255, "key_len is a u8");
_Static_assert(CONNTABLE_NAME_MAX == SYNC_NAME_MAX, "conn names are sync names");

static const struct wire_type *wire_type(unsigned type)
{
    if (type == 0 || type >= sizeof(wire_types) / sizeof(wire_types[0]))
        return NULL;
    return &wire_types[type];
}

const char *sync_type_name(unsigned type)
{
    const struct wire_type *t = wire_type(type);
    return t ? t->name : "?";
}

/* ---- field rules, shared by encoder and decoder ---- */

/* The config's name alphabet, 1..SYNC_NAME_MAX bytes (or "" when allowed).
 * Reads at most SYNC_NAME_MAX + 1 bytes: an unterminated array fails. */
static int name_ok(const char *s, int may_be_empty)
{
    size_t n = strnlen(s, SYNC_NAME_MAX + 1);
    if (n > SYNC_NAME_MAX)
        return 0;
    if (n == 0)
        return may_be_empty;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static const char *check_sticky(const struct sync_sticky *s)
{
    if (s->type < STICKY_EV_SET || s->type > STICKY_EV_CLEAR)
        return "sticky: bad event type";
    if (s->type == STICKY_EV_CLEAR) {
        if (s->kind != 0)
            return "sticky: CLEAR with a kind";
        if (s->key_len != 0)
            return "sticky: CLEAR with a key";
        if (!name_ok(s->backend, 1))
            return "sticky: bad backend name";
        if (s->server[0])
            return "sticky: CLEAR with a server";
        return NULL;
    }
    if (s->kind < STICKY_KEY_COOKIE || s->kind > STICKY_KEY_HASH)
        return "sticky: bad key kind";
    if (s->key_len == 0)
        return "sticky: key_len 0";
    if (s->key_len > STICKY_KEY_MAX)
        return "sticky: key_len over 64";
    if (!name_ok(s->backend, 0))
        return "sticky: bad backend name";
    int has_server = s->type == STICKY_EV_SET || s->type == STICKY_EV_REFRESH;
    if (!has_server && s->server[0])
        return "sticky: server on a removal";
    if (has_server && !name_ok(s->server, 0))
        return "sticky: bad server name";
    return NULL;
}

static const char *check_conn(const struct sync_conn *c)
{
    const struct conn_info *i = &c->info;
    if (c->type < CONN_EV_OPEN || c->type > CONN_EV_CLOSE)
        return "conn: bad event type";
    if (i->proto < CONN_HTTP || i->proto > CONN_UDP)
        return "conn: bad proto";
    if (i->state < CONN_ST_CLIENT || i->state > CONN_ST_CLOSED)
        return "conn: bad state";
    if (!name_ok(i->frontend, 0))
        return "conn: bad frontend name";
    if (!name_ok(i->backend, 1))
        return "conn: bad backend name";
    if (!name_ok(i->server, 1))
        return "conn: bad server name";
    return NULL;
}

static const char *check_heartbeat(const struct sync_heartbeat *h)
{
    if (h->nvips > SYNC_VIPS_MAX)
        return "heartbeat: nvips over 16";
    for (unsigned i = 0; i < h->nvips; i++)
        if (!name_ok(h->vips[i], 0))
            return "heartbeat: bad vip name";
    return NULL;
}

static const char *check_bye(const struct sync_bye *b)
{
    size_t n = strnlen(b->reason, sizeof(b->reason));
    if (n >= sizeof(b->reason))
        return "bye: reason over 127 bytes";
    for (size_t i = 0; i < n; i++)
        if (b->reason[i] < 0x20 || b->reason[i] > 0x7e)
            return "bye: reason not printable ASCII";
    return NULL;
}

/* NULL if every field of m is within what the wire carries. */
static const char *msg_check(const struct sync_msg *m)
{
    switch (m->type) {
    case SYNC_HELLO:
        return name_ok(m->u.hello.node, 0) ? NULL : "hello: bad node name";
    case SYNC_WELCOME:
        return name_ok(m->u.welcome.node, 0) ? NULL : "welcome: bad node name";
    case SYNC_STICKY:
        return check_sticky(&m->u.sticky);
    case SYNC_CONN:
        return check_conn(&m->u.conn);
    case SYNC_RL:
        if (!name_ok(m->u.rl.limit, 0))
            return "rl: bad limit name";
        return m->u.rl.key_len <= RL_KEY_MAX ? NULL : "rl: key_len over 128";
    case SYNC_SNAP_BEGIN:
    case SYNC_SNAP_END:
        if (m->u.snap.table != SYNC_TABLE_STICKY && m->u.snap.table != SYNC_TABLE_CONN)
            return "snap: unknown table";
        return NULL;
    case SYNC_ACK:
        return NULL;
    case SYNC_HEARTBEAT:
        return check_heartbeat(&m->u.hb);
    case SYNC_RESYNC:
        if (m->u.resync.tables == 0)
            return "resync: no table";
        return (m->u.resync.tables & ~RESYNC_KNOWN) ? "resync: unknown table bit" : NULL;
    case SYNC_BYE:
        return check_bye(&m->u.bye);
    }
    return "unknown type";
}

/* ---- encoding ---- */

struct wire_out {
    uint8_t *p;
    size_t cap, off;
    int full;
};

static void put_bytes(struct wire_out *w, const void *b, size_t n)
{
    if (w->full || w->cap - w->off < n) {
        w->full = 1;
        return;
    }
    if (n)
        memcpy(w->p + w->off, b, n);
    w->off += n;
}

static void put_uint(struct wire_out *w, uint64_t v, unsigned bytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    put_bytes(w, b, bytes);
}

static void put_u8(struct wire_out *w, uint8_t v) { put_uint(w, v, 1); }
static void put_u32(struct wire_out *w, uint32_t v) { put_uint(w, v, 4); }
static void put_u64(struct wire_out *w, uint64_t v) { put_uint(w, v, 8); }

/* s was checked by msg_check: at most 127 bytes, terminated. */
static void put_str(struct wire_out *w, const char *s)
{
    size_t n = strlen(s);
    put_u8(w, (uint8_t)n);
    put_bytes(w, s, n);
}

static void put_sticky(struct wire_out *w, const struct sync_sticky *s)
{
    put_u64(w, s->seq);
    put_u32(w, s->remaining_ms);
    put_u32(w, s->ttl_ms);
    put_u8(w, s->type);
    put_u8(w, s->kind);
    put_u8(w, s->key_len);
    put_bytes(w, s->key, s->key_len);
    put_str(w, s->backend);
    put_str(w, s->server);
}

/* Ports are held in network order: their two bytes go out as they are. */
static void put_conn(struct wire_out *w, const struct sync_conn *c)
{
    const struct conn_info *i = &c->info;
    put_u64(w, c->seq);
    put_u8(w, c->type);
    put_u64(w, i->id);
    put_u64(w, i->start_ms);
    put_u64(w, i->bytes_in);
    put_u64(w, i->bytes_out);
    put_bytes(w, i->client_ip, 16);
    put_bytes(w, &i->client_port, 2);
    put_bytes(w, i->local_ip, 16);
    put_bytes(w, &i->local_port, 2);
    put_u8(w, i->proto);
    put_u8(w, i->state);
    put_str(w, i->frontend);
    put_str(w, i->backend);
    put_str(w, i->server);
}

static void put_rl(struct wire_out *w, const struct sync_rl *r)
{
    put_str(w, r->limit);
    put_u8(w, r->key_len);
    put_bytes(w, r->key, r->key_len);
    put_u64(w, r->r.window);
    put_u32(w, r->r.cur);
    put_u32(w, r->r.prev);
    put_u64(w, r->r.spent);
}

static void put_heartbeat(struct wire_out *w, const struct sync_heartbeat *h)
{
    put_u64(w, h->now_ms);
    put_u64(w, h->sticky_seq);
    put_u64(w, h->conn_seq);
    put_u8(w, h->nvips);
    for (unsigned i = 0; i < h->nvips; i++)
        put_str(w, h->vips[i]);
}

static void put_payload(struct wire_out *w, const struct sync_msg *m)
{
    switch (m->type) {
    case SYNC_HELLO:
        put_u64(w, m->u.hello.boot_id);
        put_str(w, m->u.hello.node);
        break;
    case SYNC_WELCOME:
        put_u64(w, m->u.welcome.boot_id);
        put_u64(w, m->u.welcome.sticky_seq);
        put_u64(w, m->u.welcome.conn_seq);
        put_str(w, m->u.welcome.node);
        break;
    case SYNC_STICKY: put_sticky(w, &m->u.sticky); break;
    case SYNC_CONN: put_conn(w, &m->u.conn); break;
    case SYNC_RL: put_rl(w, &m->u.rl); break;
    case SYNC_SNAP_BEGIN: put_u8(w, m->u.snap.table); break;
    case SYNC_SNAP_END:
        put_u8(w, m->u.snap.table);
        put_u64(w, m->u.snap.seq);
        break;
    case SYNC_ACK:
        put_u64(w, m->u.ack.sticky_seq);
        put_u64(w, m->u.ack.conn_seq);
        break;
    case SYNC_HEARTBEAT: put_heartbeat(w, &m->u.hb); break;
    case SYNC_RESYNC: put_u8(w, m->u.resync.tables); break;
    case SYNC_BYE: put_str(w, m->u.bye.reason); break;
    }
}

int sync_encode(const struct sync_msg *m, uint8_t *out, size_t cap)
{
    if (!wire_type(m->type) || msg_check(m) || cap < SYNC_HDR_LEN)
        return -1;
    struct wire_out w = { out + SYNC_HDR_LEN, cap - SYNC_HDR_LEN, 0, 0 };
    put_payload(&w, m);
    if (w.full)
        return -1;
    out[0] = SYNC_MAGIC0;
    out[1] = SYNC_MAGIC1;
    out[2] = SYNC_VERSION;
    out[3] = m->type;
    for (unsigned i = 0; i < 4; i++)
        out[4 + i] = (uint8_t)(w.off >> (8 * (3 - i)));
    return (int)(SYNC_HDR_LEN + w.off);
}

/* ---- decoding ---- */

/* Reads stop at the first failure, which sets err; later reads yield 0. */
struct wire_in {
    const uint8_t *p;
    size_t len, off;
    const char *err;
    const char *err_short;
};

static int get_bytes(struct wire_in *r, void *dst, size_t n)
{
    if (r->err)
        return -1;
    if (r->len - r->off < n) {
        r->err = r->err_short;
        return -1;
    }
    if (n)
        memcpy(dst, r->p + r->off, n);
    r->off += n;
    return 0;
}

static uint64_t get_uint(struct wire_in *r, unsigned bytes)
{
    uint8_t b[8];
    uint64_t v = 0;
    if (get_bytes(r, b, bytes) < 0)
        return 0;
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | b[i];
    return v;
}

static uint8_t get_u8(struct wire_in *r) { return (uint8_t)get_uint(r, 1); }
static uint32_t get_u32(struct wire_in *r) { return (uint32_t)get_uint(r, 4); }
static uint64_t get_u64(struct wire_in *r) { return get_uint(r, 8); }

/* A length byte then that many bytes into dst (room for max + 1), NUL
 * terminated. A NUL inside would make the string shorter than sent. */
static void get_str(struct wire_in *r, char *dst, size_t max, const char *err_long)
{
    size_t n = get_u8(r);
    if (r->err)
        return;
    if (n > max) {
        r->err = err_long;
        return;
    }
    if (get_bytes(r, dst, n) < 0)
        return;
    dst[n] = '\0';
    if (memchr(dst, '\0', n))
        r->err = "string holds a NUL byte";
}

/* A key: length byte, checked against max before its bytes are read. */
static uint8_t get_key(struct wire_in *r, uint8_t *dst, size_t max, const char *err_long)
{
    uint8_t n = get_u8(r);
    if (r->err)
        return 0;
    if (n > max) {
        r->err = err_long;
        return 0;
    }
    get_bytes(r, dst, n);
    return n;
}

static void get_sticky(struct wire_in *r, struct sync_sticky *s)
{
    s->seq = get_u64(r);
    s->remaining_ms = get_u32(r);
    s->ttl_ms = get_u32(r);
    s->type = get_u8(r);
    s->kind = get_u8(r);
    s->key_len = get_key(r, s->key, STICKY_KEY_MAX, "sticky: key_len over 64");
    get_str(r, s->backend, SYNC_NAME_MAX, "sticky: backend name over 64 bytes");
    get_str(r, s->server, SYNC_NAME_MAX, "sticky: server name over 64 bytes");
}

static void get_conn(struct wire_in *r, struct sync_conn *c)
{
    struct conn_info *i = &c->info;
    c->seq = get_u64(r);
    c->type = get_u8(r);
    i->id = get_u64(r);
    i->start_ms = get_u64(r);
    i->bytes_in = get_u64(r);
    i->bytes_out = get_u64(r);
    get_bytes(r, i->client_ip, 16);
    get_bytes(r, &i->client_port, 2);
    get_bytes(r, i->local_ip, 16);
    get_bytes(r, &i->local_port, 2);
    i->proto = get_u8(r);
    i->state = get_u8(r);
    get_str(r, i->frontend, SYNC_NAME_MAX, "conn: frontend name over 64 bytes");
    get_str(r, i->backend, SYNC_NAME_MAX, "conn: backend name over 64 bytes");
    get_str(r, i->server, SYNC_NAME_MAX, "conn: server name over 64 bytes");
}

static void get_rl(struct wire_in *r, struct sync_rl *l)
{
    get_str(r, l->limit, SYNC_NAME_MAX, "rl: limit name over 64 bytes");
    l->key_len = get_key(r, l->key, RL_KEY_MAX, "rl: key_len over 128");
    l->r.window = get_u64(r);
    l->r.cur = get_u32(r);
    l->r.prev = get_u32(r);
    l->r.spent = get_u64(r);
}

static void get_heartbeat(struct wire_in *r, struct sync_heartbeat *h)
{
    h->now_ms = get_u64(r);
    h->sticky_seq = get_u64(r);
    h->conn_seq = get_u64(r);
    h->nvips = get_u8(r);
    if (h->nvips > SYNC_VIPS_MAX) {
        r->err = "heartbeat: nvips over 16";
        return;
    }
    for (unsigned i = 0; i < h->nvips && !r->err; i++)
        get_str(r, h->vips[i], SYNC_NAME_MAX, "heartbeat: vip name over 64 bytes");
}

static void get_payload(struct wire_in *r, struct sync_msg *m)
{
    switch (m->type) {
    case SYNC_HELLO:
        m->u.hello.boot_id = get_u64(r);
        get_str(r, m->u.hello.node, SYNC_NAME_MAX, "hello: node name over 64 bytes");
        break;
    case SYNC_WELCOME:
        m->u.welcome.boot_id = get_u64(r);
        m->u.welcome.sticky_seq = get_u64(r);
        m->u.welcome.conn_seq = get_u64(r);
        get_str(r, m->u.welcome.node, SYNC_NAME_MAX, "welcome: node name over 64 bytes");
        break;
    case SYNC_STICKY: get_sticky(r, &m->u.sticky); break;
    case SYNC_CONN: get_conn(r, &m->u.conn); break;
    case SYNC_RL: get_rl(r, &m->u.rl); break;
    case SYNC_SNAP_BEGIN: m->u.snap.table = get_u8(r); break;
    case SYNC_SNAP_END:
        m->u.snap.table = get_u8(r);
        m->u.snap.seq = get_u64(r);
        break;
    case SYNC_ACK:
        m->u.ack.sticky_seq = get_u64(r);
        m->u.ack.conn_seq = get_u64(r);
        break;
    case SYNC_HEARTBEAT: get_heartbeat(r, &m->u.hb); break;
    case SYNC_RESYNC: m->u.resync.tables = get_u8(r); break;
    case SYNC_BYE:
        get_str(r, m->u.bye.reason, sizeof(m->u.bye.reason) - 1, "bye: reason over 127 bytes");
        break;
    }
}

/* Checks the header bytes present (up to 8), each as soon as it is there:
 * a length's leading bytes already bound it from below. Returns 1 with
 * *t and *plen set once all 8 are valid, 0 if a valid start, -1. */
static int header_check(const uint8_t *b, size_t len, const struct wire_type **t,
                        uint32_t *plen, const char **err)
{
    if ((len > 0 && b[0] != SYNC_MAGIC0) || (len > 1 && b[1] != SYNC_MAGIC1)) {
        *err = "bad magic";
        return -1;
    }
    if (len > 2 && b[2] != SYNC_VERSION) {
        *err = "unsupported version";
        return -1;
    }
    if (len < 4)
        return 0;
    if (!(*t = wire_type(b[3]))) {
        *err = "unknown message type";
        return -1;
    }
    uint32_t least = 0;
    for (size_t i = 4; i < SYNC_HDR_LEN; i++)
        least = least << 8 | (i < len ? b[i] : 0);
    if (least > SYNC_PAYLOAD_MAX) {
        *err = "payload length over 4096";
        return -1;
    }
    if (least > (*t)->max) {
        *err = (*t)->err_long;
        return -1;
    }
    if (len < SYNC_HDR_LEN)
        return 0;
    if (least < (*t)->min) {
        *err = (*t)->err_short;
        return -1;
    }
    *plen = least;
    return 1;
}

int sync_decode(const uint8_t *buf, size_t len, struct sync_msg *m, const char **err)
{
    const struct wire_type *t = NULL;
    uint32_t plen = 0;
    int h = header_check(buf, len, &t, &plen, err);
    if (h <= 0)
        return h;
    if (len - SYNC_HDR_LEN < plen)
        return 0;
    memset(m, 0, sizeof(*m));
    m->type = buf[3];
    struct wire_in r = { buf + SYNC_HDR_LEN, plen, 0, NULL, t->err_short };
    get_payload(&r, m);
    if (!r.err && r.off != plen)
        r.err = t->err_trailing;
    if (!r.err)
        r.err = msg_check(m);
    if (r.err) {
        *err = r.err;
        return -1;
    }
    return (int)(SYNC_HDR_LEN + plen);
}
