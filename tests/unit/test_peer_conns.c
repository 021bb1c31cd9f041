/* test_peer_conns.c - the peer's connection table: events per proto, udp
 * flows by exact address pair, tcp/http clients by IP (newest wins),
 * recent entries after a close or the peer's loss (lookup-time check and
 * expire()), snapshots, per-server counts, the bound, IPv4 and IPv6,
 * frontends apart, bad input, two threads, and the cost of an apply. All
 * times are a fake clock. */
#include "config.h"
#include "unit.h"
#include "peer_conns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GRACE 1000

/* ---- helpers ---- */

static struct sockaddr_storage sa_of(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
    } else {
        CU_ASSERT_EQUAL_FATAL(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
    }
    return ss;
}

static void ip16_of(const char *ip, uint8_t out[16])
{
    struct sockaddr_storage ss = sa_of(ip, 0);
    if (ss.ss_family == AF_INET) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    } else {
        memcpy(out, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    }
}

/* A connection from client cip:cport to local 203.0.113.1:lport. */
static struct conn_info conn(uint64_t id, enum conn_proto proto, const char *frontend,
                             const char *cip, uint16_t cport, uint16_t lport,
                             uint64_t start_ms, const char *server)
{
    struct conn_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.id = id;
    ci.start_ms = start_ms;
    ci.proto = (uint8_t)proto;
    ci.state = server ? CONN_ST_SERVER : CONN_ST_CLIENT;
    ip16_of(cip, ci.client_ip);
    ip16_of("203.0.113.1", ci.local_ip);
    ci.client_port = htons(cport);
    ci.local_port = htons(lport);
    snprintf(ci.frontend, sizeof(ci.frontend), "%s", frontend);
    if (server) {
        snprintf(ci.backend, sizeof(ci.backend), "%s", "web");
        snprintf(ci.server, sizeof(ci.server), "%s", server);
    }
    return ci;
}

static void apply(struct peer_conns *pc, enum conn_event_type type, struct conn_info ci,
                  uint64_t now)
{
    peer_conns_apply(pc, type, &ci, now);
}

/* The server a tcp/http client would keep, or "" for none. */
static const char *client_srv(struct peer_conns *pc, enum conn_proto proto,
                              const char *frontend, const char *cip, uint16_t cport,
                              uint64_t now)
{
    static char backend[CONNTABLE_NAME_MAX + 1], server[CONNTABLE_NAME_MAX + 1];
    struct sockaddr_storage c = sa_of(cip, cport);
    if (!peer_conns_find_client(pc, proto, frontend, (struct sockaddr *)&c, backend, server,
                                now))
        return "";
    CU_ASSERT_STRING_EQUAL(backend, "web");
    return server;
}

/* The server of a udp flow to 203.0.113.1:lport, or "" for none. */
static const char *flow_srv(struct peer_conns *pc, const char *frontend, const char *cip,
                            uint16_t cport, uint16_t lport, uint64_t now)
{
    static char backend[CONNTABLE_NAME_MAX + 1], server[CONNTABLE_NAME_MAX + 1];
    struct sockaddr_storage c = sa_of(cip, cport), l = sa_of("203.0.113.1", lport);
    if (!peer_conns_find_flow(pc, frontend, (struct sockaddr *)&c, (struct sockaddr *)&l,
                              backend, server, now))
        return "";
    return server;
}

static struct peer_conns_stats stats_of(struct peer_conns *pc)
{
    struct peer_conns_stats st;
    peer_conns_stats(pc, &st);
    return st;
}

/* ---- udp flows ---- */

static void test_udp_flow(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_UDP, "dns", "198.51.100.7", 40000, 53, 10, NULL), 10);
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 40000, 53, 11), "");
    apply(pc, CONN_EV_STATE, conn(1, CONN_UDP, "dns", "198.51.100.7", 40000, 53, 10, "ns1"),
          11);
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 40000, 53, 12), "ns1");
    /* exact: another client port, local port, client or frontend is not it */
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 40001, 53, 12), "");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 40000, 54, 12), "");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.8", 40000, 53, 12), "");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns2", "198.51.100.7", 40000, 53, 12), "");
    /* a udp flow is not a tcp client */
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "dns", "198.51.100.7", 40000, 12), "");
    /* a STATE moves it to another server */
    apply(pc, CONN_EV_STATE, conn(1, CONN_UDP, "dns", "198.51.100.7", 40000, 53, 10, "ns2"),
          13);
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 40000, 53, 14), "ns2");
    CU_ASSERT_EQUAL(stats_of(pc).open, 1);
    /* a close leaves nothing */
    apply(pc, CONN_EV_CLOSE, conn(1, CONN_UDP, "dns", "198.51.100.7", 40000, 53, 10, "ns2"),
          15);
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 40000, 53, 16), "");
    struct peer_conns_stats st = stats_of(pc);
    CU_ASSERT_EQUAL(st.open, 0);
    CU_ASSERT_EQUAL(st.recent, 0);
    CU_ASSERT_EQUAL(st.applied, 4);
    peer_conns_free(pc);
}

/* A STATE that changes the client address re-keys the flow. */
static void test_udp_flow_rekey(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_UDP, "dns", "198.51.100.7", 40000, 53, 10, "ns1"), 10);
    apply(pc, CONN_EV_STATE, conn(1, CONN_UDP, "dns", "198.51.100.9", 41000, 53, 10, "ns1"),
          11);
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 40000, 53, 12), "");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.9", 41000, 53, 12), "ns1");
    peer_conns_free(pc);
}

/* Two entries with one flow key: the newest wins, the other shows again
 * when the newest goes. */
static void test_udp_flow_newest(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_OPEN, conn(2, CONN_UDP, "dns", "198.51.100.7", 40000, 53, 20, "new"), 20);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_UDP, "dns", "198.51.100.7", 40000, 53, 10, "old"), 21);
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 40000, 53, 22), "new");
    apply(pc, CONN_EV_CLOSE, conn(2, CONN_UDP, "dns", "198.51.100.7", 40000, 53, 20, "new"), 23);
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 40000, 53, 24), "old");
    peer_conns_free(pc);
}

/* ---- tcp/http clients ---- */

static void test_tcp_client(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", "198.51.100.7", 40000, 5432, 10, NULL), 10);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 1, 11), "");
    apply(pc, CONN_EV_STATE, conn(1, CONN_TCP, "db", "198.51.100.7", 40000, 5432, 10, "db1"),
          11);
    /* any port of that IP */
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 1, 12), "db1");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 40000, 12), "db1");
    /* not another IP, proto or frontend; udp is no client lookup */
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.8", 1, 12), "");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_HTTP, "db", "198.51.100.7", 1, 12), "");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db2", "198.51.100.7", 1, 12), "");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_UDP, "db", "198.51.100.7", 1, 12), "");
    /* http works the same way */
    apply(pc, CONN_EV_OPEN, conn(2, CONN_HTTP, "www", "198.51.100.7", 40001, 80, 10, "web3"),
          13);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_HTTP, "www", "198.51.100.7", 9, 14), "web3");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 1, 14), "db1");
    peer_conns_free(pc);
}

/* The newest by start time wins whatever the order of arrival; equal
 * start times go to the latest applied; one without a server is passed
 * over. */
static void test_tcp_client_newest(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    const char *ip = "198.51.100.7";
    apply(pc, CONN_EV_OPEN, conn(2, CONN_TCP, "db", ip, 40002, 5432, 200, "db2"), 10);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", ip, 40001, 5432, 100, "db1"), 11);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 1, 12), "db2");
    apply(pc, CONN_EV_OPEN, conn(3, CONN_TCP, "db", ip, 40003, 5432, 200, "db3"), 12);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 1, 13), "db3");
    apply(pc, CONN_EV_STATE, conn(2, CONN_TCP, "db", ip, 40002, 5432, 200, "db2"), 13);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 1, 14), "db2");
    apply(pc, CONN_EV_OPEN, conn(4, CONN_TCP, "db", ip, 40004, 5432, 300, NULL), 14);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 1, 15), "db2");
    /* the newest closes: it stays recent, still the newest */
    apply(pc, CONN_EV_CLOSE, conn(2, CONN_TCP, "db", ip, 40002, 5432, 200, "db2"), 15);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 1, 16), "db2");
    /* a snapshot drops the open ones: the recent one is all that is left */
    peer_conns_snapshot_begin(pc, 17);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 1, 18), "db2");
    /* past its grace, nothing */
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 1, 15 + GRACE), "");
    /* the snapshot re-adds an older one: it is found again */
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", ip, 40001, 5432, 100, "db1"), 19);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 1, 15 + GRACE), "db1");
    peer_conns_free(pc);
}

/* A closed tcp connection with a server stays usable for the grace, by
 * the lookup's own check and then by expire(); one without a server is
 * gone at once. */
static void test_tcp_close_recent(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    const char *ip = "198.51.100.7";
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", ip, 40001, 5432, 100, "db1"), 100);
    apply(pc, CONN_EV_OPEN, conn(2, CONN_TCP, "db", "198.51.100.8", 40002, 5432, 100, NULL),
          100);
    apply(pc, CONN_EV_CLOSE, conn(1, CONN_TCP, "db", ip, 40001, 5432, 100, "db1"), 500);
    apply(pc, CONN_EV_CLOSE, conn(2, CONN_TCP, "db", "198.51.100.8", 40002, 5432, 100, NULL),
          500);
    struct peer_conns_stats st = stats_of(pc);
    CU_ASSERT_EQUAL(st.open, 0);
    CU_ASSERT_EQUAL(st.recent, 1);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 7, 500 + GRACE - 1), "db1");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 7, 500 + GRACE), "");
    CU_ASSERT_EQUAL(stats_of(pc).recent, 1);          /* not yet expired */
    CU_ASSERT_EQUAL(peer_conns_expire(pc, 500 + GRACE - 1), 0);
    CU_ASSERT_EQUAL(peer_conns_expire(pc, 500 + GRACE), 1);
    CU_ASSERT_EQUAL(stats_of(pc).recent, 0);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", ip, 7, 500), "");
    peer_conns_free(pc);
}

/* A close for an id we never saw (its open refused, or closed between a
 * snapshot and the feed) still leaves the recent entry; a udp one does
 * not. */
static void test_close_unknown(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_CLOSE, conn(1, CONN_HTTP, "www", "198.51.100.7", 1, 80, 10, "web1"), 10);
    apply(pc, CONN_EV_CLOSE, conn(2, CONN_UDP, "dns", "198.51.100.7", 1, 53, 10, "ns1"), 10);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_HTTP, "www", "198.51.100.7", 2, 11), "web1");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 1, 53, 11), "");
    CU_ASSERT_EQUAL(stats_of(pc).recent, 1);
    peer_conns_free(pc);
}

/* ---- the peer lost, snapshots ---- */

static void test_orphan(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", "198.51.100.7", 1, 5432, 10, "db1"), 10);
    apply(pc, CONN_EV_OPEN, conn(2, CONN_UDP, "dns", "198.51.100.7", 2, 53, 10, "ns1"), 10);
    apply(pc, CONN_EV_OPEN, conn(3, CONN_TCP, "db", "198.51.100.9", 3, 5432, 10, NULL), 10);
    peer_conns_orphan(pc, 2000);
    struct peer_conns_stats st = stats_of(pc);
    CU_ASSERT_EQUAL(st.open, 0);
    CU_ASSERT_EQUAL(st.recent, 2);                    /* the one without a server: dropped */
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 9, 2999), "db1");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 2, 53, 2999), "ns1");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 9, 3000), "");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 2, 53, 3000), "");
    CU_ASSERT_EQUAL(peer_conns_expire(pc, 2999), 0);
    CU_ASSERT_EQUAL(peer_conns_expire(pc, 3000), 2);
    st = stats_of(pc);
    CU_ASSERT_EQUAL(st.open + st.recent, 0);
    peer_conns_free(pc);
}

static unsigned count_of(struct peer_conns *pc, const char *server);

/* Back from the dead: an OPEN for a recent id makes it open again. */
static void test_orphan_reopen(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", "198.51.100.7", 1, 5432, 10, "db1"), 10);
    peer_conns_orphan(pc, 20);
    CU_ASSERT_EQUAL(count_of(pc, "db1"), 0);
    peer_conns_snapshot_begin(pc, 30);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", "198.51.100.7", 1, 5432, 10, "db1"), 30);
    struct peer_conns_stats st = stats_of(pc);
    CU_ASSERT_EQUAL(st.open, 1);
    CU_ASSERT_EQUAL(st.recent, 0);
    CU_ASSERT_EQUAL(count_of(pc, "db1"), 1);
    CU_ASSERT_EQUAL(peer_conns_expire(pc, 10 * GRACE), 0);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 9, 10 * GRACE), "db1");
    peer_conns_free(pc);
}

static void walk_count(const struct conn_info *ci, void *arg)
{
    (void)ci;
    (*(unsigned *)arg)++;
}

static void test_snapshot_begin(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", "198.51.100.7", 1, 5432, 10, "db1"), 10);
    apply(pc, CONN_EV_OPEN, conn(2, CONN_TCP, "db", "198.51.100.8", 1, 5432, 10, "db2"), 10);
    apply(pc, CONN_EV_OPEN, conn(3, CONN_UDP, "dns", "198.51.100.9", 1, 53, 10, "ns1"), 10);
    apply(pc, CONN_EV_CLOSE, conn(2, CONN_TCP, "db", "198.51.100.8", 1, 5432, 10, "db2"), 20);
    unsigned walked = 0;
    peer_conns_walk(pc, walk_count, &walked);
    CU_ASSERT_EQUAL(walked, 2);                       /* open ones only */
    peer_conns_snapshot_begin(pc, 30);
    struct peer_conns_stats st = stats_of(pc);
    CU_ASSERT_EQUAL(st.open, 0);
    CU_ASSERT_EQUAL(st.recent, 1);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 1, 31), "");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.9", 1, 53, 31), "");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.8", 1, 31), "db2");
    CU_ASSERT_EQUAL(count_of(pc, "db1"), 0);
    walked = 0;
    peer_conns_walk(pc, walk_count, &walked);
    CU_ASSERT_EQUAL(walked, 0);
    peer_conns_free(pc);
}

/* ---- per-server counts ---- */

struct count_acc {
    unsigned calls;
    char backend[8][CONNTABLE_NAME_MAX + 1];
    char server[8][CONNTABLE_NAME_MAX + 1];
    unsigned n[8];
};

static void count_one(const char *backend, const char *server, unsigned n, void *arg)
{
    struct count_acc *a = arg;
    CU_ASSERT(n > 0);
    if (a->calls < 8) {
        snprintf(a->backend[a->calls], sizeof(a->backend[0]), "%s", backend);
        snprintf(a->server[a->calls], sizeof(a->server[0]), "%s", server);
        a->n[a->calls] = n;
    }
    a->calls++;
}

/* Open connections to backend "web"'s server (0 when not reported). */
static unsigned count_of(struct peer_conns *pc, const char *server)
{
    struct count_acc a;
    memset(&a, 0, sizeof(a));
    peer_conns_counts(pc, count_one, &a);
    for (unsigned i = 0; i < a.calls && i < 8; i++)
        if (strcmp(a.backend[i], "web") == 0 && strcmp(a.server[i], server) == 0)
            return a.n[i];
    return 0;
}

static unsigned count_calls(struct peer_conns *pc)
{
    struct count_acc a;
    memset(&a, 0, sizeof(a));
    peer_conns_counts(pc, count_one, &a);
    return a.calls;
}

static void test_counts(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    CU_ASSERT_EQUAL(count_calls(pc), 0);
    for (uint64_t id = 1; id <= 5; id++)
        apply(pc, CONN_EV_OPEN,
              conn(id, CONN_HTTP, "www", "198.51.100.7", (uint16_t)id, 80, 10,
                   id <= 3 ? "web1" : "web2"), 10);
    apply(pc, CONN_EV_OPEN, conn(6, CONN_HTTP, "www", "198.51.100.7", 6, 80, 10, NULL), 10);
    struct conn_info other = conn(7, CONN_TCP, "db", "198.51.100.7", 7, 5432, 10, "web1");
    snprintf(other.backend, sizeof(other.backend), "%s", "db");  /* same server name */
    apply(pc, CONN_EV_OPEN, other, 10);
    CU_ASSERT_EQUAL(count_of(pc, "web1"), 3);
    CU_ASSERT_EQUAL(count_of(pc, "web2"), 2);
    CU_ASSERT_EQUAL(count_calls(pc), 3);              /* web/web1, web/web2, db/web1 */
    /* an http connection moves from web1 to web2, one without a server gets one */
    apply(pc, CONN_EV_STATE, conn(1, CONN_HTTP, "www", "198.51.100.7", 1, 80, 10, "web2"), 11);
    apply(pc, CONN_EV_STATE, conn(6, CONN_HTTP, "www", "198.51.100.7", 6, 80, 10, "web2"), 11);
    CU_ASSERT_EQUAL(count_of(pc, "web1"), 2);
    CU_ASSERT_EQUAL(count_of(pc, "web2"), 4);
    /* closes: recent entries are not counted */
    apply(pc, CONN_EV_CLOSE, conn(2, CONN_HTTP, "www", "198.51.100.7", 2, 80, 10, "web1"), 12);
    apply(pc, CONN_EV_CLOSE, conn(3, CONN_HTTP, "www", "198.51.100.7", 3, 80, 10, "web1"), 12);
    CU_ASSERT_EQUAL(count_of(pc, "web1"), 0);
    CU_ASSERT_EQUAL(count_of(pc, "web2"), 4);
    CU_ASSERT_EQUAL(count_calls(pc), 2);
    peer_conns_orphan(pc, 13);
    CU_ASSERT_EQUAL(count_calls(pc), 0);
    peer_conns_free(pc);
}

/* ---- the bound ---- */

static void test_bound_refuse(void)
{
    struct peer_conns *pc = peer_conns_new(3, GRACE);
    for (uint64_t id = 1; id <= 4; id++)
        apply(pc, CONN_EV_OPEN,
              conn(id, CONN_TCP, "db", "198.51.100.7", (uint16_t)id, 5432, id, "db1"), 10);
    struct peer_conns_stats st = stats_of(pc);
    CU_ASSERT_EQUAL(st.open, 3);
    CU_ASSERT_EQUAL(st.refused, 1);
    CU_ASSERT_EQUAL(st.applied, 4);
    CU_ASSERT_EQUAL(count_of(pc, "db1"), 3);
    /* an update of a held id is never refused */
    apply(pc, CONN_EV_STATE, conn(3, CONN_TCP, "db", "198.51.100.7", 3, 5432, 3, "db2"), 11);
    st = stats_of(pc);
    CU_ASSERT_EQUAL(st.refused, 1);
    CU_ASSERT_EQUAL(count_of(pc, "db2"), 1);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 1, 12), "db2");
    /* a close of a held id needs no room: it stays, recent */
    apply(pc, CONN_EV_CLOSE, conn(1, CONN_TCP, "db", "198.51.100.7", 1, 5432, 1, "db1"), 12);
    CU_ASSERT_EQUAL(stats_of(pc).recent, 1);
    peer_conns_free(pc);
}

/* Full with recent entries: the one that expires first makes room. */
static void test_bound_evict(void)
{
    struct peer_conns *pc = peer_conns_new(3, GRACE);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", "198.51.100.1", 1, 5432, 1, "db1"), 10);
    apply(pc, CONN_EV_OPEN, conn(2, CONN_TCP, "db", "198.51.100.2", 1, 5432, 2, "db2"), 10);
    apply(pc, CONN_EV_OPEN, conn(3, CONN_TCP, "db", "198.51.100.3", 1, 5432, 3, "db3"), 10);
    apply(pc, CONN_EV_CLOSE, conn(2, CONN_TCP, "db", "198.51.100.2", 1, 5432, 2, "db2"), 20);
    apply(pc, CONN_EV_CLOSE, conn(1, CONN_TCP, "db", "198.51.100.1", 1, 5432, 1, "db1"), 30);
    apply(pc, CONN_EV_OPEN, conn(4, CONN_TCP, "db", "198.51.100.4", 1, 5432, 4, "db4"), 40);
    struct peer_conns_stats st = stats_of(pc);
    CU_ASSERT_EQUAL(st.refused, 0);
    CU_ASSERT_EQUAL(st.open, 2);
    CU_ASSERT_EQUAL(st.recent, 1);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.2", 1, 41), "");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.1", 1, 41), "db1");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.4", 1, 41), "db4");
    /* the other recent one goes next, then inserts are refused */
    apply(pc, CONN_EV_OPEN, conn(5, CONN_TCP, "db", "198.51.100.5", 1, 5432, 5, "db5"), 50);
    apply(pc, CONN_EV_OPEN, conn(6, CONN_TCP, "db", "198.51.100.6", 1, 5432, 6, "db6"), 60);
    st = stats_of(pc);
    CU_ASSERT_EQUAL(st.refused, 1);
    CU_ASSERT_EQUAL(st.open, 3);
    CU_ASSERT_EQUAL(st.recent, 0);
    peer_conns_free(pc);
}

/* A shorter grace: the recent list stays in expiry order. */
static void test_set_grace(void)
{
    struct peer_conns *pc = peer_conns_new(10, 5000);
    apply(pc, CONN_EV_CLOSE, conn(1, CONN_TCP, "db", "198.51.100.1", 1, 5432, 1, "db1"), 0);
    peer_conns_set_grace(pc, 100);
    apply(pc, CONN_EV_CLOSE, conn(2, CONN_TCP, "db", "198.51.100.2", 1, 5432, 2, "db2"), 10);
    CU_ASSERT_EQUAL(peer_conns_expire(pc, 110), 1);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.2", 1, 111), "");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.1", 1, 111), "db1");
    CU_ASSERT_EQUAL(peer_conns_expire(pc, 5000), 1);
    CU_ASSERT_EQUAL(stats_of(pc).recent, 0);
    peer_conns_free(pc);
}

/* ---- addresses, frontends ---- */

static void test_ipv6_ipv4(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_TCP, "db", "2001:db8::7", 40000, 5432, 10, "db6"), 10);
    apply(pc, CONN_EV_OPEN, conn(2, CONN_TCP, "db", "198.51.100.7", 40000, 5432, 10, "db4"), 10);
    apply(pc, CONN_EV_OPEN, conn(3, CONN_UDP, "dns", "2001:db8::7", 53000, 53, 10, "ns6"), 10);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "2001:db8::7", 1, 11), "db6");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "2001:db8::8", 1, 11), "");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "198.51.100.7", 1, 11), "db4");
    /* an IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is the same client */
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, "db", "::ffff:198.51.100.7", 1, 11), "db4");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "2001:db8::7", 53000, 53, 11), "ns6");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "2001:db8::7", 53001, 53, 11), "");
    peer_conns_free(pc);
}

static void test_frontends_apart(void)
{
    struct peer_conns *pc = peer_conns_new(100, GRACE);
    apply(pc, CONN_EV_OPEN, conn(1, CONN_HTTP, "www", "198.51.100.7", 1, 80, 10, "web1"), 10);
    apply(pc, CONN_EV_OPEN, conn(2, CONN_HTTP, "api", "198.51.100.7", 2, 80, 20, "api1"), 10);
    apply(pc, CONN_EV_OPEN, conn(3, CONN_UDP, "dns", "198.51.100.7", 3, 53, 10, "ns1"), 10);
    apply(pc, CONN_EV_OPEN, conn(4, CONN_UDP, "dns-b", "198.51.100.7", 3, 53, 20, "nsb"), 10);
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_HTTP, "www", "198.51.100.7", 9, 11), "web1");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_HTTP, "api", "198.51.100.7", 9, 11), "api1");
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_HTTP, "ww", "198.51.100.7", 9, 11), "");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns", "198.51.100.7", 3, 53, 11), "ns1");
    CU_ASSERT_STRING_EQUAL(flow_srv(pc, "dns-b", "198.51.100.7", 3, 53, 11), "nsb");
    peer_conns_free(pc);
}

/* ---- bad input ---- */

static void test_bad_input(void)
{
    struct peer_conns *pc = peer_conns_new(0, GRACE);   /* 0: room for one */
    struct conn_info ci = conn(1, CONN_TCP, "db", "198.51.100.7", 1, 5432, 10, "db1");
    ci.proto = 0;
    peer_conns_apply(pc, CONN_EV_OPEN, &ci, 10);
    ci.proto = 9;
    peer_conns_apply(pc, CONN_EV_OPEN, &ci, 10);
    ci.proto = CONN_TCP;
    peer_conns_apply(pc, (enum conn_event_type)0, &ci, 10);
    peer_conns_apply(pc, (enum conn_event_type)7, &ci, 10);
    CU_ASSERT_EQUAL(stats_of(pc).applied, 0);
    /* names without their NUL are cut at CONNTABLE_NAME_MAX */
    memset(ci.frontend, 'f', sizeof(ci.frontend));
    memset(ci.server, 's', sizeof(ci.server));
    peer_conns_apply(pc, CONN_EV_OPEN, &ci, 10);
    char fe[CONNTABLE_NAME_MAX + 2];
    memset(fe, 'f', sizeof(fe));
    fe[CONNTABLE_NAME_MAX] = '\0';
    const char *srv = client_srv(pc, CONN_TCP, fe, "198.51.100.7", 1, 11);
    CU_ASSERT_EQUAL(strlen(srv), CONNTABLE_NAME_MAX);
    fe[CONNTABLE_NAME_MAX] = 'f';                       /* a longer name: no match */
    fe[CONNTABLE_NAME_MAX + 1] = '\0';
    CU_ASSERT_STRING_EQUAL(client_srv(pc, CONN_TCP, fe, "198.51.100.7", 1, 11), "");
    /* not an IP address */
    struct sockaddr un = { .sa_family = AF_UNIX };
    char b[CONNTABLE_NAME_MAX + 1], s[CONNTABLE_NAME_MAX + 1];
    CU_ASSERT_EQUAL(peer_conns_find_client(pc, CONN_TCP, "db", &un, b, s, 11), 0);
    CU_ASSERT_EQUAL(peer_conns_find_flow(pc, "db", &un, &un, b, s, 11), 0);
    /* max 0 was taken as 1 */
    apply(pc, CONN_EV_OPEN, conn(2, CONN_TCP, "db", "198.51.100.7", 1, 5432, 10, "db1"), 12);
    CU_ASSERT_EQUAL(stats_of(pc).refused, 1);
    peer_conns_free(pc);
    peer_conns_free(NULL);
}

/* ---- threads: the sync thread applies, a worker looks up ---- */

#define THREAD_EVENTS 100000

static void *sync_thread(void *p)
{
    struct peer_conns *pc = p;
    for (unsigned i = 0; i < THREAD_EVENTS / 2; i++) {
        uint64_t id = i + 1;
        char ip[32];
        snprintf(ip, sizeof(ip), "198.51.100.%u", i % 8);
        enum conn_proto proto = i & 1 ? CONN_UDP : CONN_TCP;
        const char *srv = i % 3 ? "a" : "b";
        apply(pc, CONN_EV_OPEN, conn(id, proto, "fe", ip, (uint16_t)(i % 64), 80, i, srv), i);
        if (i >= 32) {
            uint64_t old = id - 32;
            unsigned j = i - 32;
            snprintf(ip, sizeof(ip), "198.51.100.%u", j % 8);
            apply(pc, CONN_EV_CLOSE,
                  conn(old, j & 1 ? CONN_UDP : CONN_TCP, "fe", ip, (uint16_t)(j % 64), 80, j,
                       j % 3 ? "a" : "b"), i);
        }
        if (i % 1000 == 0) {
            peer_conns_expire(pc, i);
            if (i % 10000 == 0)
                peer_conns_orphan(pc, i);
        }
    }
    return NULL;
}

static void count_sum(const char *backend, const char *server, unsigned n, void *arg)
{
    (void)backend; (void)server;
    *(unsigned *)arg += n;
}

static void test_threads(void)
{
    struct peer_conns *pc = peer_conns_new(1000, 50);
    pthread_t th;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, sync_thread, pc), 0);
    unsigned found = 0;
    for (unsigned r = 0; r < 20000; r++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "198.51.100.%u", r % 8);
        found += client_srv(pc, CONN_TCP, "fe", ip, 1, r * 3)[0] != 0;
        found += flow_srv(pc, "fe", ip, (uint16_t)(r % 64), 80, r * 3)[0] != 0;
        if (r % 100 == 0) {
            unsigned sum = 0;
            peer_conns_counts(pc, count_sum, &sum);
            CU_ASSERT(sum <= 1000);
        }
    }
    pthread_join(th, NULL);
    struct peer_conns_stats st = stats_of(pc);
    CU_ASSERT_EQUAL(st.applied, THREAD_EVENTS - 32);
    CU_ASSERT(st.open <= 32);
    printf("# peer_conns: %u of 40000 lookups found an entry while the other thread applied\n",
           found);
    peer_conns_free(pc);
}

/* ---- cost ---- */

static double ns_since(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) * 1e9 + (double)(b.tv_nsec - a->tv_nsec);
}

static void test_cost(void)
{
    const unsigned n = 100000;
    struct peer_conns *pc = peer_conns_new(2 * n, GRACE);
    struct conn_info *ci = calloc(n, sizeof(*ci));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ci);
    for (unsigned i = 0; i < n; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        ci[i] = conn(i + 1, CONN_TCP, "db", ip, (uint16_t)i, 5432, i, i & 1 ? "db1" : "db2");
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < n; i++)
        peer_conns_apply(pc, CONN_EV_OPEN, &ci[i], i);
    double open_ns = ns_since(&t0) / n;
    CU_ASSERT_EQUAL(count_of(pc, "db1"), n / 2);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned hits = 0;
    for (unsigned i = 0; i < n; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        hits += client_srv(pc, CONN_TCP, "db", ip, 1, n)[0] != 0;
    }
    double find_ns = ns_since(&t0) / n;
    CU_ASSERT_EQUAL(hits, n);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned i = 0; i < n; i++)
        peer_conns_apply(pc, CONN_EV_CLOSE, &ci[i], n + i);
    double close_ns = ns_since(&t0) / n;
    CU_ASSERT_EQUAL(stats_of(pc).recent, n);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL(peer_conns_expire(pc, 3 * n + GRACE), n);
    double expire_ns = ns_since(&t0) / n;
    printf("# peer_conns: %u opens %.0f ns, closes %.0f ns, find_client %.0f ns "
           "(sockaddr formatting included), expire %.0f ns each\n",
           n, open_ns, close_ns, find_ns, expire_ns);
    free(ci);
    peer_conns_free(pc);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_udp_flow),
    UNIT_TEST(test_udp_flow_rekey),
    UNIT_TEST(test_udp_flow_newest),
    UNIT_TEST(test_tcp_client),
    UNIT_TEST(test_tcp_client_newest),
    UNIT_TEST(test_tcp_close_recent),
    UNIT_TEST(test_close_unknown),
    UNIT_TEST(test_orphan),
    UNIT_TEST(test_orphan_reopen),
    UNIT_TEST(test_snapshot_begin),
    UNIT_TEST(test_counts),
    UNIT_TEST(test_bound_refuse),
    UNIT_TEST(test_bound_evict),
    UNIT_TEST(test_set_grace),
    UNIT_TEST(test_ipv6_ipv4),
    UNIT_TEST(test_frontends_apart),
    UNIT_TEST(test_bad_input),
    UNIT_TEST(test_threads),
    UNIT_TEST(test_cost),
    { 0 },
};

int main(void)
{
    return unit_run("peer_conns", tests);
}
