/* test_sync_wire.c - the peer sync codec: every message type round trips
 * (every prefix of a frame asks for more, frames back to back decode one
 * at a time), three frames pinned byte for byte against
 * docs/sync-protocol.md, and one refusal per rule, built by hand so the
 * decoder meets bytes our encoder would never write. */
#include "config.h"
#include "unit.h"
#include "sync_wire.h"

#include <arpa/inet.h>
#include <string.h>

static uint8_t out[2 * SYNC_FRAME_MAX];
static struct sync_msg got;
static const char *err;

static const char name64[] =
    "n0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.";

/* Encodes m, checks that every strict prefix asks for more and that the
 * frame decodes back to m (also with more bytes behind it). Returns the
 * frame's length. */
static int round_trip(const struct sync_msg *m)
{
    int n = sync_encode(m, out, sizeof(out));
    CU_ASSERT_FATAL(n > SYNC_HDR_LEN);
    CU_ASSERT_EQUAL((size_t)n - SYNC_HDR_LEN,
                    (size_t)out[4] << 24 | out[5] << 16 | out[6] << 8 | out[7]);
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(sync_decode(out, (size_t)i, &got, &err), 0);
    CU_ASSERT_EQUAL_FATAL(sync_decode(out, (size_t)n, &got, &err), n);
    CU_ASSERT_EQUAL(memcmp(&got, m, sizeof(got)), 0);
    memcpy(out + n, "TS", 2);
    CU_ASSERT_EQUAL(sync_decode(out, (size_t)n + 2, &got, &err), n);
    return n;
}

static void msg_init(struct sync_msg *m, enum sync_type type)
{
    memset(m, 0, sizeof(*m));
    m->type = type;
}

/* Names compare whole (decoded ones are zero past their end). */
static void set_name(char dst[SYNC_NAME_MAX + 1], const char *name)
{
    memset(dst, 0, SYNC_NAME_MAX + 1);
    strcpy(dst, name);
}

static void v4_mapped(uint8_t ip[16], const char *dotted)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    inet_pton(AF_INET, dotted, ip + 12);
}

/* A new tcp connection from 198.51.100.7:51000 to 198.51.100.100:443, no
 * server yet (the CONN frame docs/sync-protocol.md shows). */
static void conn_open_example(struct sync_msg *m)
{
    msg_init(m, SYNC_CONN);
    struct conn_info *i = &m->u.conn.info;
    m->u.conn.seq = 5;
    m->u.conn.type = CONN_EV_OPEN;
    i->id = 0x0001000000000002ull;
    i->start_ms = 0x18bcfe56800ull;
    v4_mapped(i->client_ip, "198.51.100.7");
    v4_mapped(i->local_ip, "198.51.100.100");
    i->client_port = htons(51000);
    i->local_port = htons(443);
    i->proto = CONN_TCP;
    i->state = CONN_ST_CLIENT;
    strcpy(i->frontend, "db");
}

/* ---- round trips ---- */

static void test_hello_welcome(void)
{
    struct sync_msg m;
    msg_init(&m, SYNC_HELLO);
    m.u.hello.boot_id = 0xfedcba9876543210ull;
    strcpy(m.u.hello.node, "lb-a.dc1");
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 8 + 1 + 8);
    CU_ASSERT_STRING_EQUAL(got.u.hello.node, "lb-a.dc1");
    strcpy(m.u.hello.node, name64);
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 8 + 1 + 64);

    msg_init(&m, SYNC_WELCOME);
    m.u.welcome.boot_id = 1;
    m.u.welcome.sticky_seq = 123456789012ull;
    m.u.welcome.conn_seq = UINT64_MAX;
    strcpy(m.u.welcome.node, "b");
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 24 + 1 + 1);
    CU_ASSERT_EQUAL(got.u.welcome.conn_seq, UINT64_MAX);
}

static void test_sticky(void)
{
    struct sync_msg m;
    msg_init(&m, SYNC_STICKY);
    struct sync_sticky *s = &m.u.sticky;
    s->seq = 77;
    s->remaining_ms = 1799000;
    s->ttl_ms = 1800000;
    s->type = STICKY_EV_SET;
    s->kind = STICKY_KEY_COOKIE;
    s->key_len = STICKY_KEY_MAX;
    for (int i = 0; i < STICKY_KEY_MAX; i++)
        s->key[i] = (uint8_t)(i * 7);
    strcpy(s->backend, name64);
    strcpy(s->server, name64);
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 19 + 64 + 65 + 65);    /* the longest */

    s->type = STICKY_EV_REFRESH;
    s->kind = STICKY_KEY_SOURCE;
    s->key_len = 16;
    v4_mapped(s->key, "198.51.100.7");
    memset(s->key + 16, 0, sizeof(s->key) - 16);
    set_name(s->backend, "web");
    set_name(s->server, "web1");
    round_trip(&m);

    s->type = STICKY_EV_EXPIRE;
    s->remaining_ms = s->ttl_ms = 0;
    set_name(s->server, "");
    round_trip(&m);

    msg_init(&m, SYNC_STICKY);                 /* CLEAR of every backend */
    s->seq = 78;
    s->type = STICKY_EV_CLEAR;
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 19 + 1 + 1);
    strcpy(s->backend, "api");                 /* ... of one */
    round_trip(&m);
}

static void test_conn(void)
{
    struct sync_msg m;
    conn_open_example(&m);
    struct conn_info *i = &m.u.conn.info;
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 79 + 3 + 1 + 1);      /* no server yet */
    CU_ASSERT_EQUAL(got.u.conn.info.client_port, htons(51000));
    CU_ASSERT_EQUAL(got.u.conn.info.client_ip[10], 0xff);

    m.u.conn.type = CONN_EV_STATE;
    i->proto = CONN_HTTP;
    i->state = CONN_ST_SERVER;
    strcpy(i->backend, name64);
    strcpy(i->server, name64);
    strcpy(i->frontend, name64);
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 79 + 3 * 65);          /* the longest */

    m.u.conn.type = CONN_EV_CLOSE;
    m.u.conn.seq = 0;
    i->proto = CONN_UDP;
    i->state = CONN_ST_CLOSED;
    inet_pton(AF_INET6, "2001:db8::1:5", i->client_ip);
    inet_pton(AF_INET6, "2001:db8::10", i->local_ip);
    i->client_port = htons(65535);
    i->local_port = htons(53);
    i->bytes_in = 1ull << 40;
    i->bytes_out = 123456789;
    set_name(i->frontend, "dns");
    set_name(i->backend, "dns-pool");
    set_name(i->server, "ns_2");
    round_trip(&m);
    CU_ASSERT_EQUAL(got.u.conn.info.bytes_in, 1ull << 40);
}

static void test_rl(void)
{
    struct sync_msg m;
    msg_init(&m, SYNC_RL);
    strcpy(m.u.rl.limit, "per-ip");
    m.u.rl.key_len = RL_KEY_MAX;
    memset(m.u.rl.key, 0xab, RL_KEY_MAX);
    m.u.rl.r.window = 28333333;
    m.u.rl.r.cur = 41;
    m.u.rl.r.prev = 97;
    m.u.rl.r.spent = 1ull << 33;
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 7 + 25 + 128);
    m.u.rl.key_len = 0;                       /* the empty key is a key */
    memset(m.u.rl.key, 0, RL_KEY_MAX);
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 7 + 25);
}

static void test_small_messages(void)
{
    struct sync_msg m;
    msg_init(&m, SYNC_SNAP_BEGIN);
    m.u.snap.table = SYNC_TABLE_CONN;
    CU_ASSERT_EQUAL(round_trip(&m), 9);
    msg_init(&m, SYNC_SNAP_END);
    m.u.snap.table = SYNC_TABLE_STICKY;
    m.u.snap.seq = 4242;
    CU_ASSERT_EQUAL(round_trip(&m), 17);
    msg_init(&m, SYNC_ACK);
    m.u.ack.sticky_seq = 5;
    m.u.ack.conn_seq = 6;
    CU_ASSERT_EQUAL(round_trip(&m), 24);
    msg_init(&m, SYNC_RESYNC);
    m.u.resync.tables = 1 << SYNC_TABLE_STICKY;
    CU_ASSERT_EQUAL(round_trip(&m), 9);
    m.u.resync.tables = 1 << SYNC_TABLE_STICKY | 1 << SYNC_TABLE_CONN;
    round_trip(&m);
}

static void test_heartbeat(void)
{
    struct sync_msg m;
    msg_init(&m, SYNC_HEARTBEAT);
    m.u.hb.now_ms = 1700000000999ull;
    m.u.hb.sticky_seq = 10;
    m.u.hb.conn_seq = 20;
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 25);                   /* holds no VIP */
    m.u.hb.nvips = SYNC_VIPS_MAX;
    for (int i = 0; i < SYNC_VIPS_MAX; i++) {
        strcpy(m.u.hb.vips[i], name64);
        m.u.hb.vips[i][0] = (char)('a' + i);
    }
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 25 + 16 * 65);         /* the longest */
    CU_ASSERT_EQUAL(got.u.hb.vips[15][0], 'p');
}

static void test_bye(void)
{
    struct sync_msg m;
    msg_init(&m, SYNC_BYE);
    CU_ASSERT_EQUAL(round_trip(&m), 9);
    strcpy(m.u.bye.reason, "version mismatch: peer sent 2, we speak 1");
    round_trip(&m);
    memset(m.u.bye.reason, '~', 127);
    m.u.bye.reason[0] = ' ';
    CU_ASSERT_EQUAL(round_trip(&m), 8 + 128);
}

static void test_back_to_back(void)
{
    struct sync_msg a, b;
    uint8_t two[SYNC_FRAME_MAX * 2];
    msg_init(&a, SYNC_ACK);
    a.u.ack.sticky_seq = 1;
    msg_init(&b, SYNC_HELLO);
    strcpy(b.u.hello.node, "peer");
    int na = sync_encode(&a, two, sizeof(two));
    int nb = sync_encode(&b, two + na, sizeof(two) - (size_t)na);
    CU_ASSERT_FATAL(na > 0 && nb > 0);
    CU_ASSERT_EQUAL(sync_decode(two, (size_t)(na + nb), &got, &err), na);
    CU_ASSERT_EQUAL(got.type, SYNC_ACK);
    CU_ASSERT_EQUAL(sync_decode(two + na, (size_t)nb, &got, &err), nb);
    CU_ASSERT_STRING_EQUAL(got.u.hello.node, "peer");
}

/* ---- the bytes, as docs/sync-protocol.md shows them ---- */

static void expect_bytes(const struct sync_msg *m, const uint8_t *want, size_t n)
{
    CU_ASSERT_EQUAL_FATAL(sync_encode(m, out, sizeof(out)), (int)n);
    CU_ASSERT_EQUAL(memcmp(out, want, n), 0);
}

static void test_pinned_bytes(void)
{
    struct sync_msg m;
    msg_init(&m, SYNC_HELLO);
    m.u.hello.boot_id = 0x0102030405060708ull;
    strcpy(m.u.hello.node, "lb-a");
    static const uint8_t hello[] = {
        'T', 'S', 0x01, 0x01, 0x00, 0x00, 0x00, 0x0d,
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
        0x04, 'l', 'b', '-', 'a',
    };
    expect_bytes(&m, hello, sizeof(hello));

    msg_init(&m, SYNC_STICKY);
    m.u.sticky.seq = 42;
    m.u.sticky.remaining_ms = 600000;
    m.u.sticky.ttl_ms = 600000;
    m.u.sticky.type = STICKY_EV_SET;
    m.u.sticky.kind = STICKY_KEY_COOKIE;
    m.u.sticky.key_len = 3;
    memcpy(m.u.sticky.key, "k7Q", 3);
    strcpy(m.u.sticky.backend, "web");
    strcpy(m.u.sticky.server, "web2");
    static const uint8_t sticky[] = {
        'T', 'S', 0x01, 0x03, 0x00, 0x00, 0x00, 0x1f,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a,         /* seq */
        0x00, 0x09, 0x27, 0xc0, 0x00, 0x09, 0x27, 0xc0,         /* remaining, ttl */
        0x01, 0x01, 0x03, 'k', '7', 'Q',                        /* type kind key */
        0x03, 'w', 'e', 'b', 0x04, 'w', 'e', 'b', '2',
    };
    expect_bytes(&m, sticky, sizeof(sticky));

    conn_open_example(&m);
    static const uint8_t conn[] = {
        'T', 'S', 0x01, 0x04, 0x00, 0x00, 0x00, 0x54,
        0, 0, 0, 0, 0, 0, 0, 5, 0x01,                           /* seq, type */
        0x00, 0x01, 0, 0, 0, 0, 0, 0x02,                        /* id */
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00,               /* start_ms */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,         /* bytes in, out */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7,
        0xc7, 0x38,                                             /* 51000 */
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 100,
        0x01, 0xbb,                                             /* 443 */
        0x02, 0x01,                                             /* tcp, client */
        0x02, 'd', 'b', 0x00, 0x00,
    };
    expect_bytes(&m, conn, sizeof(conn));
}

/* ---- frames built by hand, for the refusals ---- */

static uint8_t fr[SYNC_FRAME_MAX + 512];
static size_t frn;

static void fb_start(uint8_t type)
{
    memcpy(fr, "TS\x01", 3);
    fr[3] = type;
    frn = SYNC_HDR_LEN;
}

static void fb_uint(uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        fr[frn++] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static void fb_bytes(const void *b, size_t n)
{
    memcpy(fr + frn, b, n);
    frn += n;
}

static void fb_str(const char *s)
{
    fb_uint(strlen(s), 1);
    fb_bytes(s, strlen(s));
}

/* Sets the header's length to what was appended. */
static void fb_end(void)
{
    uint32_t plen = (uint32_t)(frn - SYNC_HDR_LEN);
    for (unsigned i = 0; i < 4; i++)
        fr[4 + i] = (uint8_t)(plen >> (8 * (3 - i)));
}

static void fb_hello(const char *node)
{
    fb_start(SYNC_HELLO);
    fb_uint(1, 8);
    fb_str(node);
    fb_end();
}

static void fb_sticky(uint8_t type, uint8_t kind, uint8_t key_len, const char *backend,
                      const char *server)
{
    uint8_t key[255];
    memset(key, 'k', sizeof(key));
    fb_start(SYNC_STICKY);
    fb_uint(1, 8);
    fb_uint(1000, 4);
    fb_uint(2000, 4);
    fb_uint(type, 1);
    fb_uint(kind, 1);
    fb_uint(key_len, 1);
    fb_bytes(key, key_len);
    fb_str(backend);
    fb_str(server);
    fb_end();
}

static void fb_conn(uint8_t type, uint8_t proto, uint8_t state, const char *frontend,
                    const char *backend, const char *server)
{
    uint8_t zero[32] = { 0 };
    fb_start(SYNC_CONN);
    fb_uint(1, 8);
    fb_uint(type, 1);
    fb_bytes(zero, 32);                        /* id, start, bytes in, out */
    fb_bytes(zero, 18);                        /* client ip, port */
    fb_bytes(zero, 18);                        /* local ip, port */
    fb_uint(proto, 1);
    fb_uint(state, 1);
    fb_str(frontend);
    fb_str(backend);
    fb_str(server);
    fb_end();
}

static void fb_rl(const char *limit, unsigned key_len)
{
    uint8_t key[255] = { 0 };
    fb_start(SYNC_RL);
    fb_str(limit);
    fb_uint(key_len, 1);
    fb_bytes(key, key_len);
    fb_uint(0, 8);
    fb_uint(1, 4);
    fb_uint(2, 4);
    fb_uint(3, 8);
    fb_end();
}

static void fb_heartbeat(unsigned nvips, const char *vip)
{
    fb_start(SYNC_HEARTBEAT);
    fb_uint(1, 8);
    fb_uint(2, 8);
    fb_uint(3, 8);
    fb_uint(nvips, 1);
    for (unsigned i = 0; i < nvips; i++)
        fb_str(vip);
    fb_end();
}

static void fb_one_byte(uint8_t type, uint8_t v)
{
    fb_start(type);
    fb_uint(v, 1);
    fb_end();
}

static void accepted(void)
{
    CU_ASSERT_EQUAL(sync_decode(fr, frn, &got, &err), (int)frn);
}

/* The hand-built frame is refused with this message. */
static void refused_as(const char *want)
{
    err = NULL;
    CU_ASSERT_EQUAL(sync_decode(fr, frn, &got, &err), -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_STRING_EQUAL(err, want);
}

static void test_builders_are_valid(void)
{
    fb_hello("lb-a");
    accepted();
    fb_sticky(STICKY_EV_SET, STICKY_KEY_HASH, 8, "web", "web1");
    accepted();
    fb_sticky(STICKY_EV_CLEAR, 0, 0, "", "");
    accepted();
    fb_conn(CONN_EV_OPEN, CONN_TCP, CONN_ST_CLIENT, "www", "", "");
    accepted();
    fb_rl("lim", 128);
    accepted();
    CU_ASSERT_EQUAL(got.u.rl.r.window, 0);
    CU_ASSERT_EQUAL(got.u.rl.r.spent, 3);
    fb_heartbeat(16, "vi_1");
    accepted();
    fb_one_byte(SYNC_RESYNC, 6);
    accepted();
}

static void test_bad_magic_version_type(void)
{
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"X", 1, &got, &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "bad magic");
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"Ts", 2, &got, &err), -1);
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"T", 1, &got, &err), 0);
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x02", 3, &got, &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "unsupported version");
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x00", 3, &got, &err), -1);
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x00", 4, &got, &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "unknown message type");
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x0c", 4, &got, &err), -1);
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\xff", 4, &got, &err), -1);
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x0b", 4, &got, &err), 0);
}

static void test_bad_length(void)
{
    /* over the protocol's bound, seen from the first length byte */
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x0b\x01", 5, &got, &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "payload length over 4096");
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x0b\x00\x00\x10\x01", 8, &got,
                                &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "payload length over 4096");
    /* over the type's bound (BYE: 128), before the payload comes */
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x0b\x00\x00\x01", 7, &got, &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "bye: payload too long");
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x0b\x00\x00\x00\x81", 8, &got,
                                &err), -1);
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x0b\x00\x00\x00\x80", 8, &got,
                                &err), 0);
    /* a fixed-size type with another length */
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x08\x00\x00\x00\x11", 8, &got,
                                &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "ack: payload too long");
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x08\x00\x00\x00\x0f", 8, &got,
                                &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "ack: payload too short");
    CU_ASSERT_EQUAL(sync_decode((const uint8_t *)"TS\x01\x0b\x00\x00\x00\x00", 8, &got,
                                &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "bye: payload too short");
}

static void test_payload_too_short(void)
{
    fb_hello("lb-a");
    fr[16] = 10;                               /* node's length byte: 10, 4 follow */
    refused_as("hello: payload too short");
    fb_heartbeat(3, "v1");
    fr[8 + 24] = 4;                            /* one name more than sent */
    refused_as("heartbeat: payload too short");
}

static void test_trailing_bytes(void)
{
    fb_start(SYNC_HELLO);
    fb_uint(1, 8);
    fb_str("lb-a");
    fb_uint(0, 1);
    fb_end();
    refused_as("hello: trailing bytes");
    fb_heartbeat(2, "v1");
    fr[8 + 24] = 1;                            /* one name fewer than sent */
    refused_as("heartbeat: trailing bytes");
}

static void test_bad_name_chars(void)
{
    const char *bad[] = { "lb a", "lb/a", "lb\x80", "lb:a", "l\x7f", "*" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fb_hello(bad[i]);
        refused_as("hello: bad node name");
    }
    fb_hello("lb-a");
    fr[18] = '\0';                             /* a NUL would shorten the name */
    refused_as("string holds a NUL byte");
    fb_hello("");
    refused_as("hello: payload too short");    /* the type's minimum: 1-byte node */
    fb_conn(CONN_EV_OPEN, CONN_TCP, CONN_ST_CLIENT, "", "", "");
    refused_as("conn: payload too short");
    fb_conn(CONN_EV_OPEN, CONN_TCP, CONN_ST_CLIENT, "", "b", "");
    refused_as("conn: bad frontend name");
    fb_conn(CONN_EV_STATE, CONN_TCP, CONN_ST_SERVER, "f", "b!", "s");
    refused_as("conn: bad backend name");
    fb_conn(CONN_EV_STATE, CONN_TCP, CONN_ST_SERVER, "f", "b", "s s");
    refused_as("conn: bad server name");
    fb_sticky(STICKY_EV_SET, STICKY_KEY_APP, 4, "we b", "s");
    refused_as("sticky: bad backend name");
    fb_heartbeat(2, "v#1");
    refused_as("heartbeat: bad vip name");
    fb_rl("a=b", 0);
    refused_as("rl: bad limit name");
}

static void test_name_too_long(void)
{
    char n65[66];
    memset(n65, 'a', 65);
    n65[65] = '\0';
    fb_start(SYNC_WELCOME);
    fb_uint(0, 8);
    fb_uint(0, 8);
    fb_uint(0, 8);
    fb_str(n65);
    fb_end();
    refused_as("welcome: payload too long");   /* header alone gives it away */
    fb_conn(CONN_EV_STATE, CONN_TCP, CONN_ST_SERVER, "f", n65, "s");
    refused_as("conn: backend name over 64 bytes");
    fb_sticky(STICKY_EV_SET, STICKY_KEY_APP, 1, "b", n65);
    refused_as("sticky: server name over 64 bytes");
    fb_heartbeat(1, n65);
    refused_as("heartbeat: vip name over 64 bytes");

    struct sync_msg m;                         /* and the encoder won't write one */
    msg_init(&m, SYNC_HELLO);
    memset(m.u.hello.node, 'a', sizeof(m.u.hello.node));      /* unterminated */
    CU_ASSERT_EQUAL(sync_encode(&m, out, sizeof(out)), -1);
    m.u.hello.node[SYNC_NAME_MAX] = '\0';
    CU_ASSERT(sync_encode(&m, out, sizeof(out)) > 0);
}

static void test_sticky_key_len(void)
{
    fb_sticky(STICKY_EV_SET, STICKY_KEY_COOKIE, 0, "web", "web1");
    refused_as("sticky: key_len 0");
    fb_sticky(STICKY_EV_DELETE, STICKY_KEY_COOKIE, 65, "web", "");
    refused_as("sticky: key_len over 64");
    fb_sticky(STICKY_EV_DELETE, STICKY_KEY_COOKIE, 64, "web", "");
    accepted();
    fb_sticky(STICKY_EV_CLEAR, 0, 1, "web", "");
    refused_as("sticky: CLEAR with a key");
}

static void test_sticky_fields(void)
{
    fb_sticky(0, STICKY_KEY_COOKIE, 4, "web", "");
    refused_as("sticky: bad event type");
    fb_sticky(STICKY_EV_CLEAR + 1, STICKY_KEY_COOKIE, 4, "web", "");
    refused_as("sticky: bad event type");
    fb_sticky(STICKY_EV_SET, 0, 4, "web", "w1");
    refused_as("sticky: bad key kind");
    fb_sticky(STICKY_EV_SET, STICKY_KEY_HASH + 1, 4, "web", "w1");
    refused_as("sticky: bad key kind");
    fb_sticky(STICKY_EV_CLEAR, STICKY_KEY_COOKIE, 0, "", "");
    refused_as("sticky: CLEAR with a kind");
    fb_sticky(STICKY_EV_CLEAR, 0, 0, "", "w1");
    refused_as("sticky: CLEAR with a server");
    fb_sticky(STICKY_EV_SET, STICKY_KEY_COOKIE, 4, "web", "");
    refused_as("sticky: bad server name");
    fb_sticky(STICKY_EV_EVICT, STICKY_KEY_COOKIE, 4, "web", "w1");
    refused_as("sticky: server on a removal");
    fb_sticky(STICKY_EV_DELETE, STICKY_KEY_COOKIE, 4, "", "");
    refused_as("sticky: bad backend name");
}

static void test_conn_enums(void)
{
    fb_conn(0, CONN_TCP, CONN_ST_CLIENT, "f", "", "");
    refused_as("conn: bad event type");
    fb_conn(CONN_EV_CLOSE + 1, CONN_TCP, CONN_ST_CLIENT, "f", "", "");
    refused_as("conn: bad event type");
    fb_conn(CONN_EV_OPEN, 0, CONN_ST_CLIENT, "f", "", "");
    refused_as("conn: bad proto");
    fb_conn(CONN_EV_OPEN, CONN_UDP + 1, CONN_ST_CLIENT, "f", "", "");
    refused_as("conn: bad proto");
    fb_conn(CONN_EV_OPEN, CONN_HTTP, 0, "f", "", "");
    refused_as("conn: bad state");
    fb_conn(CONN_EV_OPEN, CONN_HTTP, CONN_ST_CLOSED + 1, "f", "", "");
    refused_as("conn: bad state");
}

static void test_rl_key_len(void)
{
    fb_rl("lim", RL_KEY_MAX + 1);
    refused_as("rl: key_len over 128");
    fb_rl("lim", RL_KEY_MAX);
    fr[8 + 4] = 255;                            /* says 255, carries 128 */
    refused_as("rl: key_len over 128");
    fb_rl("lim", 0);
    accepted();
}

static void test_heartbeat_nvips(void)
{
    fb_heartbeat(17, "v");
    refused_as("heartbeat: nvips over 16");
    fb_heartbeat(0, "v");
    accepted();
}

static void test_snap_resync_tables(void)
{
    fb_one_byte(SYNC_SNAP_BEGIN, 0);
    refused_as("snap: unknown table");
    fb_one_byte(SYNC_SNAP_BEGIN, 3);
    refused_as("snap: unknown table");
    fb_start(SYNC_SNAP_END);
    fb_uint(3, 1);
    fb_uint(9, 8);
    fb_end();
    refused_as("snap: unknown table");
    fb_one_byte(SYNC_RESYNC, 0);
    refused_as("resync: no table");
    fb_one_byte(SYNC_RESYNC, 1);
    refused_as("resync: unknown table bit");
    fb_one_byte(SYNC_RESYNC, 1 << 3 | 1 << SYNC_TABLE_CONN);
    refused_as("resync: unknown table bit");
}

static void test_bye_reason(void)
{
    fb_start(SYNC_BYE);
    fb_str("tab\there");
    fb_end();
    refused_as("bye: reason not printable ASCII");
    fb_start(SYNC_BYE);
    fb_str("del\x7f");
    fb_end();
    refused_as("bye: reason not printable ASCII");
    fb_start(SYNC_BYE);
    fb_str("");
    fb_end();
    accepted();
    fb_start(SYNC_BYE);
    fb_uint(200, 1);                            /* length byte over 127, 0 follow */
    fb_end();
    refused_as("bye: reason over 127 bytes");
}

static void test_encode_refusals(void)
{
    struct sync_msg m;
    msg_init(&m, 0);
    CU_ASSERT_EQUAL(sync_encode(&m, out, sizeof(out)), -1);
    m.type = SYNC_BYE + 1;
    CU_ASSERT_EQUAL(sync_encode(&m, out, sizeof(out)), -1);

    msg_init(&m, SYNC_STICKY);
    m.u.sticky.type = STICKY_EV_SET;
    m.u.sticky.kind = STICKY_KEY_COOKIE;
    m.u.sticky.key_len = STICKY_KEY_MAX + 1;
    strcpy(m.u.sticky.backend, "b");
    strcpy(m.u.sticky.server, "s");
    CU_ASSERT_EQUAL(sync_encode(&m, out, sizeof(out)), -1);
    m.u.sticky.key_len = 1;
    CU_ASSERT(sync_encode(&m, out, sizeof(out)) > 0);
    strcpy(m.u.sticky.server, "s/1");
    CU_ASSERT_EQUAL(sync_encode(&m, out, sizeof(out)), -1);

    msg_init(&m, SYNC_RL);
    strcpy(m.u.rl.limit, "l");
    m.u.rl.key_len = RL_KEY_MAX + 1;
    CU_ASSERT_EQUAL(sync_encode(&m, out, sizeof(out)), -1);

    msg_init(&m, SYNC_HEARTBEAT);
    m.u.hb.nvips = SYNC_VIPS_MAX + 1;
    CU_ASSERT_EQUAL(sync_encode(&m, out, sizeof(out)), -1);

    msg_init(&m, SYNC_BYE);
    memset(m.u.bye.reason, 'x', sizeof(m.u.bye.reason));     /* 128, unterminated */
    CU_ASSERT_EQUAL(sync_encode(&m, out, sizeof(out)), -1);

    msg_init(&m, SYNC_RESYNC);
    CU_ASSERT_EQUAL(sync_encode(&m, out, sizeof(out)), -1);

    msg_init(&m, SYNC_ACK);                    /* no room */
    CU_ASSERT_EQUAL(sync_encode(&m, out, 7), -1);
    CU_ASSERT_EQUAL(sync_encode(&m, out, 23), -1);
    CU_ASSERT_EQUAL(sync_encode(&m, out, 24), 24);
}

static void test_type_names(void)
{
    CU_ASSERT_STRING_EQUAL(sync_type_name(SYNC_HELLO), "HELLO");
    CU_ASSERT_STRING_EQUAL(sync_type_name(SYNC_SNAP_END), "SNAP_END");
    CU_ASSERT_STRING_EQUAL(sync_type_name(SYNC_BYE), "BYE");
    CU_ASSERT_STRING_EQUAL(sync_type_name(0), "?");
    CU_ASSERT_STRING_EQUAL(sync_type_name(12), "?");
    CU_ASSERT_STRING_EQUAL(sync_type_name(1000), "?");
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_hello_welcome),
    UNIT_TEST(test_sticky),
    UNIT_TEST(test_conn),
    UNIT_TEST(test_rl),
    UNIT_TEST(test_small_messages),
    UNIT_TEST(test_heartbeat),
    UNIT_TEST(test_bye),
    UNIT_TEST(test_back_to_back),
    UNIT_TEST(test_pinned_bytes),
    UNIT_TEST(test_builders_are_valid),
    UNIT_TEST(test_bad_magic_version_type),
    UNIT_TEST(test_bad_length),
    UNIT_TEST(test_payload_too_short),
    UNIT_TEST(test_trailing_bytes),
    UNIT_TEST(test_bad_name_chars),
    UNIT_TEST(test_name_too_long),
    UNIT_TEST(test_sticky_key_len),
    UNIT_TEST(test_sticky_fields),
    UNIT_TEST(test_conn_enums),
    UNIT_TEST(test_rl_key_len),
    UNIT_TEST(test_heartbeat_nvips),
    UNIT_TEST(test_snap_resync_tables),
    UNIT_TEST(test_bye_reason),
    UNIT_TEST(test_encode_refusals),
    UNIT_TEST(test_type_names),
    { 0 },
};

int main(void)
{
    return unit_run("sync_wire", tests);
}
