/* test_sync_live.c - two sync channels in one process, over loopback TCP
 * and TLS 1.3 with a pre-shared key: snapshot on connect, the stream of
 * sticky and connection changes, no echo of what was learned, resume
 * after a peer restart (a new boot: snapshot), a wrong key refused, the
 * time a big sticky table takes to resync (TANDEM_SYNC_BENCH_ENTRIES sets
 * its size; bench/sync.sh runs it with 1,000,000), and the PSK file
 * parser. Real threads and sockets: each wait is bounded. */
#include "config.h"
#include "unit.h"

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "conntable.h"
#include "log.h"
#include "peer_conns.h"
#include "sticky.h"
#include "sync.h"
#include "sync_tls.h"

struct box {
    const char *name;
    struct conf_sync conf;
    struct sticky_table *sticky;
    struct conntable *conns;
    struct peer_conns *pc;
    struct sync *sy;
};

static char key_a[64], key_b[64];
static uint16_t port_base;

static void write_key(char *path, char which, const char *hex)
{
    snprintf(path, 64, "/tmp/tandem-sync-test-%d-%c.key", (int)getpid(), which);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fprintf(f, "%s\n", hex);
    fclose(f);
}

static void set_addr(struct net_addr *a, uint16_t port)
{
    struct sockaddr_in *s = (struct sockaddr_in *)&a->ss;
    memset(a, 0, sizeof(*a));
    s->sin_family = AF_INET;
    s->sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &s->sin_addr);
    a->len = sizeof(*s);
}

static void box_init(struct box *b, const char *name, int first, const char *key,
                     unsigned entries)
{
    memset(b, 0, sizeof(*b));
    b->name = name;
    set_addr(&b->conf.listen, (uint16_t)(port_base + (first ? 0 : 1)));
    set_addr(&b->conf.peer, (uint16_t)(port_base + (first ? 1 : 0)));
    b->conf.psk_file = (char *)key;
    b->conf.heartbeat_ms = 50;
    b->conf.timeout_ms = 500;
    b->conf.reconnect_min_ms = 20;
    b->conf.reconnect_max_ms = 200;
    b->conf.queue_bytes = 4u << 20;
    b->conf.conn_grace_ms = 10000;
    b->conf.rl_interval_ms = 100;
    b->conf.max_peer_conns = 10000;
    b->conf.ready_wait_ms = 10000;
    b->conf.enabled = 1;
    b->sticky = sticky_create(16, entries, 4096, 42);
    b->conns = conntable_create(2, 256);
    b->pc = peer_conns_new(10000, 10000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b->sticky);
}

static int box_start(struct box *b)
{
    struct sync_opts o = { .conf = &b->conf, .node = b->name, .sticky = b->sticky,
                           .conns = b->conns, .peer_conns = b->pc };
    char err[256];
    b->sy = sync_start(&o, NULL, err, sizeof(err));
    if (!b->sy)
        fprintf(stderr, "# sync_start: %s\n", err);
    return b->sy ? 0 : -1;
}

static void box_stop(struct box *b)
{
    sync_stop(b->sy);
    b->sy = NULL;
}

static void box_free(struct box *b)
{
    if (b->sy)
        box_stop(b);
    sticky_destroy(b->sticky);
    conntable_destroy(b->conns);
    peer_conns_free(b->pc);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static int both_up(struct box *b)
{
    struct sync_status st;
    sync_get_status(b->sy, &st);
    return st.out.state == SYNC_LINK_UP && st.in.state == SYNC_LINK_UP;
}

/* Polls cond for up to ms; returns how long it took, or -1. */
#define WAIT_FOR(ms, cond) ({                                         \
    uint64_t t0_ = clock_mono_ms(), waited_ = (uint64_t)-1;           \
    while (clock_mono_ms() - t0_ < (ms)) {                            \
        if (cond) { waited_ = clock_mono_ms() - t0_; break; }         \
        sleep_ms(5);                                                  \
    }                                                                 \
    (long long)(int64_t)waited_; })

static void set_key(struct sticky_table *t, unsigned i, const char *server, uint64_t now)
{
    char k[32];
    int n = snprintf(k, sizeof(k), "sess-%u", i);
    struct sticky_key key = { STICKY_KEY_APP, "web", k, (size_t)n };
    CU_ASSERT_EQUAL(sticky_set(t, &key, server, now, 600000), 0);
}

static int lookup_key(struct sticky_table *t, unsigned i, char *server)
{
    char k[32];
    int n = snprintf(k, sizeof(k), "sess-%u", i);
    struct sticky_key key = { STICKY_KEY_APP, "web", k, (size_t)n };
    return sticky_lookup(t, &key, clock_mono_ms(), 600000, server);
}

static void test_replicates_both_ways(void)
{
    struct box a, b;
    box_init(&a, "lb-a", 1, key_a, 100000);
    box_init(&b, "lb-b", 0, key_a, 100000);
    uint64_t now = clock_mono_ms();
    for (unsigned i = 0; i < 500; i++)          /* before the link: the snapshot carries them */
        set_key(a.sticky, i, i % 2 ? "web1" : "web2", now);
    CU_ASSERT_EQUAL_FATAL(box_start(&a), 0);
    CU_ASSERT_EQUAL_FATAL(box_start(&b), 0);
    CU_ASSERT(WAIT_FOR(5000, both_up(&a) && both_up(&b)) >= 0);
    CU_ASSERT(WAIT_FOR(5000, sticky_count(b.sticky) == 500) >= 0);
    sleep_ms(200);                              /* B's own snapshot to A is done */
    struct sync_status sa, sb;
    sync_get_status(b.sy, &sb);
    uint64_t b_sent0 = sb.sticky_sent;          /* its snapshot may hold A's entries */
    for (unsigned i = 500; i < 1000; i++)       /* then the feed carries them */
        set_key(a.sticky, i, "web3", clock_mono_ms());
    long long ms = WAIT_FOR(5000, sticky_count(b.sticky) == 1000);
    CU_ASSERT(ms >= 0);
    printf("# 500 streamed sticky entries on the peer after %lld ms\n", ms);
    char srv[STICKY_NAME_MAX + 1];
    CU_ASSERT(lookup_key(b.sticky, 7, srv) && strcmp(srv, "web1") == 0);
    CU_ASSERT(lookup_key(b.sticky, 8, srv) && strcmp(srv, "web2") == 0);
    CU_ASSERT(lookup_key(b.sticky, 999, srv) && strcmp(srv, "web3") == 0);

    /* B's own entry goes to A; what B learned from A does not come back. */
    set_key(b.sticky, 5000, "web2", clock_mono_ms());
    CU_ASSERT(WAIT_FOR(5000, sticky_count(a.sticky) == 1001) >= 0);
    sleep_ms(200);
    sync_get_status(a.sy, &sa);
    sync_get_status(b.sy, &sb);
    CU_ASSERT_EQUAL(sb.sticky_sent - b_sent0, 1);   /* its own entry, no echo of A's */
    CU_ASSERT_EQUAL(sa.sticky_recv, sb.sticky_sent);
    CU_ASSERT_EQUAL(sa.sticky_sent, 1000);
    CU_ASSERT_EQUAL(sa.snapshots_sent, 2);      /* sticky + connections at connect */
    CU_ASSERT(sa.lag_events == 0);

    /* A delete and a server change travel too. */
    char k[] = "sess-1";
    struct sticky_key key = { STICKY_KEY_APP, "web", k, 6 };
    sticky_delete(a.sticky, &key, clock_mono_ms());
    set_key(a.sticky, 2, "web9", clock_mono_ms());
    CU_ASSERT(WAIT_FOR(5000, sticky_count(b.sticky) == 1000) >= 0);
    CU_ASSERT(WAIT_FOR(5000, lookup_key(b.sticky, 2, srv) && strcmp(srv, "web9") == 0) >= 0);
    CU_ASSERT_FALSE(lookup_key(b.sticky, 1, srv));

    /* Connections: A's open one is known on B; closed, it is "recent". */
    struct net_addr cla, loa;
    set_addr(&cla, 40000);
    set_addr(&loa, 80);
    struct conn_entry *c = conntable_open(a.conns, 0, CONN_TCP, "www",
                                          (struct sockaddr *)&cla.ss,
                                          (struct sockaddr *)&loa.ss, clock_wall_ms());
    conntable_set_server(a.conns, c, "web", "web2", clock_wall_ms());
    struct peer_conns_stats ps;
    CU_ASSERT(WAIT_FOR(5000, (peer_conns_stats(b.pc, &ps), ps.open == 1)) >= 0);
    char be[CONNTABLE_NAME_MAX + 1], sv[CONNTABLE_NAME_MAX + 1];
    struct net_addr other;
    set_addr(&other, 41000);
    CU_ASSERT(peer_conns_find_client(b.pc, CONN_TCP, "www", (struct sockaddr *)&other.ss, be,
                                     sv, clock_mono_ms()));
    CU_ASSERT_STRING_EQUAL(sv, "web2");
    conntable_close(a.conns, c, 10, 20, clock_wall_ms());
    CU_ASSERT(WAIT_FOR(5000, (peer_conns_stats(b.pc, &ps), ps.open == 0 && ps.recent == 1)) >= 0);

    /* B restarts (a new boot): A's link notices, B gets a full snapshot. */
    box_stop(&b);
    sticky_clear(b.sticky, NULL, clock_mono_ms());
    CU_ASSERT(WAIT_FOR(5000, (sync_get_status(a.sy, &sa), sa.out.state != SYNC_LINK_UP)) >= 0);
    CU_ASSERT_EQUAL_FATAL(box_start(&b), 0);
    CU_ASSERT(WAIT_FOR(5000, both_up(&a) && both_up(&b)) >= 0);
    CU_ASSERT(WAIT_FOR(5000, sticky_count(b.sticky) >= 1000) >= 0);
    CU_ASSERT(lookup_key(b.sticky, 999, srv) && strcmp(srv, "web3") == 0);
    sync_get_status(a.sy, &sa);
    CU_ASSERT(sa.snapshots_sent >= 4);

    /* An operator's resync: both send again. */
    sync_get_status(b.sy, &sb);
    uint64_t before = sb.snapshots_recv;
    sync_request_resync(b.sy);
    CU_ASSERT(WAIT_FOR(5000, (sync_get_status(b.sy, &sb), sb.snapshots_recv >= before + 2)) >= 0);
    box_free(&a);
    box_free(&b);
}

static void test_wrong_key_refused(void)
{
    struct box a, b;
    port_base += 2;
    box_init(&a, "lb-a", 1, key_a, 1000);
    box_init(&b, "lb-b", 0, key_b, 1000);
    set_key(a.sticky, 1, "web1", clock_mono_ms());
    CU_ASSERT_EQUAL_FATAL(box_start(&a), 0);
    CU_ASSERT_EQUAL_FATAL(box_start(&b), 0);
    struct sync_status sa, sb;
    CU_ASSERT(WAIT_FOR(5000, (sync_get_status(a.sy, &sa), sync_get_status(b.sy, &sb),
                              sa.in.failures >= 1 && sb.in.failures >= 1)) >= 0);
    CU_ASSERT_NOT_EQUAL(sa.out.state, SYNC_LINK_UP);
    CU_ASSERT_NOT_EQUAL(sa.in.state, SYNC_LINK_UP);
    CU_ASSERT(strstr(sa.in.last_error, "handshake") != NULL);
    CU_ASSERT_EQUAL(sticky_count(b.sticky), 0);
    box_free(&a);
    box_free(&b);
}

static void test_big_resync(void)
{
    const char *env = getenv("TANDEM_SYNC_BENCH_ENTRIES");
    unsigned n = env ? (unsigned)strtoul(env, NULL, 10) : 100000;
    struct box a, b;
    port_base += 2;
    box_init(&a, "lb-a", 1, key_a, n);
    box_init(&b, "lb-b", 0, key_a, n);
    uint64_t t0 = clock_mono_ms();
    for (unsigned i = 0; i < n; i++)
        set_key(a.sticky, i, i % 3 == 0 ? "web1" : i % 3 == 1 ? "web2" : "web3", t0);
    uint64_t t1 = clock_mono_ms();
    CU_ASSERT_EQUAL_FATAL(box_start(&a), 0);
    CU_ASSERT_EQUAL_FATAL(box_start(&b), 0);
    uint64_t t2 = clock_mono_ms();
    long long ms = WAIT_FOR(120000, sticky_count(b.sticky) == n);
    CU_ASSERT(ms >= 0);
    printf("# resync of %u sticky entries: %lld ms from start to all applied on the peer "
           "(filling the table took %llu ms)\n", n, ms, (unsigned long long)(t1 - t0));
    (void)t2;
    char srv[STICKY_NAME_MAX + 1];
    CU_ASSERT(lookup_key(b.sticky, n - 1, srv) &&
              strcmp(srv, (n - 1) % 3 == 0 ? "web1" : (n - 1) % 3 == 1 ? "web2" : "web3") == 0);
    box_free(&a);
    box_free(&b);
}

/* Mutual certificates: a throw-away CA and a certificate per box, made
 * with the openssl command; peer_name must match the other's name. */
static char cert_dir[64];

static int make_certs(void)
{
    snprintf(cert_dir, sizeof(cert_dir), "/tmp/tandem-sync-certs-%d", (int)getpid());
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "set -e; mkdir -p %s; cd %s; "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=test-ca -keyout ca.key -out ca.pem 2>/dev/null; "
             "for n in lb-a lb-b; do "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=$n "
             "-keyout $n.key -out $n.csr 2>/dev/null; "
             "printf 'subjectAltName=DNS:%%s\\n' $n > $n.ext; "
             "openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
             "-extfile $n.ext -out $n.pem 2>/dev/null; done",
             cert_dir, cert_dir);
    return system(cmd);
}

static void use_cert(struct box *b, const char *name, const char *peer_name, char paths[3][128])
{
    snprintf(paths[0], 128, "%s/%s.pem", cert_dir, name);
    snprintf(paths[1], 128, "%s/%s.key", cert_dir, name);
    snprintf(paths[2], 128, "%s/ca.pem", cert_dir);
    b->conf.psk_file = NULL;
    b->conf.cert = paths[0];
    b->conf.key = paths[1];
    b->conf.ca = paths[2];
    b->conf.peer_name = (char *)peer_name;
}

static void test_mutual_certificates(void)
{
    CU_ASSERT_EQUAL_FATAL(make_certs(), 0);
    struct box a, b;
    char pa[3][128], pb[3][128];
    port_base += 2;
    box_init(&a, "lb-a", 1, key_a, 1000);
    box_init(&b, "lb-b", 0, key_a, 1000);
    use_cert(&a, "lb-a", "lb-b", pa);
    use_cert(&b, "lb-b", "lb-a", pb);
    set_key(a.sticky, 1, "web1", clock_mono_ms());
    CU_ASSERT_EQUAL_FATAL(box_start(&a), 0);
    CU_ASSERT_EQUAL_FATAL(box_start(&b), 0);
    CU_ASSERT(WAIT_FOR(5000, both_up(&a) && both_up(&b)) >= 0);
    CU_ASSERT(WAIT_FOR(5000, sticky_count(b.sticky) == 1) >= 0);
    struct sync_status st;
    sync_get_status(a.sy, &st);
    CU_ASSERT(strstr(st.out.auth, "certificate CN=lb-b") != NULL);
    CU_ASSERT(strstr(st.in.auth, "certificate CN=lb-b") != NULL);   /* its client certificate */
    box_free(&a);
    box_free(&b);

    /* B expects the name "lb-c": A's certificate is refused. */
    port_base += 2;
    box_init(&a, "lb-a", 1, key_a, 1000);
    box_init(&b, "lb-b", 0, key_a, 1000);
    use_cert(&a, "lb-a", "lb-b", pa);
    use_cert(&b, "lb-b", "lb-c", pb);
    CU_ASSERT_EQUAL_FATAL(box_start(&a), 0);
    CU_ASSERT_EQUAL_FATAL(box_start(&b), 0);
    CU_ASSERT(WAIT_FOR(5000, (sync_get_status(b.sy, &st), st.in.failures >= 1)) >= 0);
    CU_ASSERT(strstr(st.in.last_error, "not peer_name \"lb-c\"") != NULL);
    CU_ASSERT_NOT_EQUAL(st.in.state, SYNC_LINK_UP);
    box_free(&a);
    box_free(&b);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", cert_dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* Ready: with a live peer once its snapshots are in; alone, once the
 * peer could not be reached for `timeout`. */
static void test_ready(void)
{
    struct box a, b;
    port_base += 2;
    box_init(&a, "lb-a", 1, key_a, 1000);
    box_init(&b, "lb-b", 0, key_a, 1000);
    CU_ASSERT_EQUAL_FATAL(box_start(&a), 0);
    CU_ASSERT_FALSE(sync_ready(a.sy));                 /* nothing heard yet */
    long long alone = WAIT_FOR(3000, sync_ready(a.sy));
    CU_ASSERT(alone >= 400);                            /* timeout is 500 ms */
    struct sync_status st;
    sync_get_status(a.sy, &st);
    CU_ASSERT(strstr(st.ready_how, "cannot be reached") != NULL);
    set_key(a.sticky, 1, "web1", clock_mono_ms());
    CU_ASSERT_EQUAL_FATAL(box_start(&b), 0);
    long long got = WAIT_FOR(3000, sync_ready(b.sy));
    CU_ASSERT(got >= 0 && got < 400);                   /* well before its own timeout */
    CU_ASSERT_EQUAL(sticky_count(b.sticky), 1);         /* ready means: the table is in */
    sync_get_status(b.sy, &st);
    CU_ASSERT(strstr(st.ready_how, "tables received") != NULL);
    printf("# alone: ready after %lld ms; with a live peer: after %lld ms\n", alone, got);
    box_free(&a);
    box_free(&b);
}

static void test_psk_parse(void)
{
    unsigned char k[64];
    const char *why = NULL;
    CU_ASSERT_EQUAL(sync_psk_parse("00112233445566778899aabbccddeeff\n", k, sizeof(k), &why), 16);
    CU_ASSERT_EQUAL(k[15], 0xff);
    CU_ASSERT_EQUAL(sync_psk_parse("  00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff  ",
                                   k, sizeof(k), &why), 32);
    CU_ASSERT_EQUAL(sync_psk_parse("0011", k, sizeof(k), &why), -1);
    CU_ASSERT(strstr(why, "shorter") != NULL);
    CU_ASSERT_EQUAL(sync_psk_parse("00112233445566778899aabbccddeef", k, sizeof(k), &why), -1);
    CU_ASSERT(strstr(why, "odd") != NULL);
    CU_ASSERT_EQUAL(sync_psk_parse("secret password here, long enough!", k, sizeof(k), &why), -1);
    CU_ASSERT(strstr(why, "hex") != NULL);
    char big[200];
    memset(big, 'a', 130);
    big[130] = '\0';
    CU_ASSERT_EQUAL(sync_psk_parse(big, k, sizeof(k), &why), -1);
    CU_ASSERT_EQUAL(sync_psk_parse("", k, sizeof(k), &why), -1);
}

static void test_tls_init_errors(void)
{
    struct conf_sync y = { 0 };
    struct sync_tls t;
    char err[256];
    y.psk_file = "/nonexistent/sync.key";
    CU_ASSERT_EQUAL(sync_tls_init(&t, &y, err, sizeof(err)), -1);
    CU_ASSERT(strstr(err, "/nonexistent/sync.key") != NULL);
    y.psk_file = NULL;
    y.cert = y.key = y.ca = "/nonexistent/cert.pem";
    CU_ASSERT_EQUAL(sync_tls_init(&t, &y, err, sizeof(err)), -1);
    CU_ASSERT(strstr(err, "cert /nonexistent/cert.pem") != NULL);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_psk_parse),
    UNIT_TEST(test_tls_init_errors),
    UNIT_TEST(test_replicates_both_ways),
    UNIT_TEST(test_wrong_key_refused),
    UNIT_TEST(test_mutual_certificates),
    UNIT_TEST(test_ready),
    UNIT_TEST(test_big_resync),
    { 0 },
};

int main(void)
{
    signal(SIGPIPE, SIG_IGN);          /* as the daemon: a closed peer is an error, not a signal */
    log_init("test_sync_live", LOG_TO_STDERR, LOG_LVL_WARN, 0);
    port_base = (uint16_t)(20000 + getpid() % 20000);
    write_key(key_a, 'a', "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    write_key(key_b, 'b', "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100");
    int rc = unit_run("sync_live", tests);
    unlink(key_a);
    unlink(key_b);
    return rc;
}
