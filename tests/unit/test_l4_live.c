/* test_l4_live.c - mode tcp and mode udp end to end on the loopback, with
 * the real worker threads: no root, no namespaces, so it runs in every
 * `make check`. The servers are threads of this program (TCP and UDP
 * echo); the checks read what only the process sees (server->active, a
 * server set DOWN under a UDP flow). tests/integration covers the same
 * modes across namespaces with the daemon itself. */
#include "config.h"
#include "unit.h"
#include "worker.h"
#include "log.h"
#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { P_TCP_FE, P_TCP_FE_RETRY, P_UDP_FE, P_TCP_S1, P_TCP_S2, P_DEAD, P_UDP_S1, P_UDP_S2, NPORTS };
static uint16_t port[NPORTS];
static struct runtime *rt;
static volatile int stopping;
static int srv_fd[NPORTS];

/* ---- echo servers ---- */

static void *tcp_echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[65536];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    /* The client's FIN came through: answer after it (half-close). */
    if (n == 0 && write(fd, "BYE", 3) == 3)
        shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

static void *tcp_echo_server(void *arg)
{
    int lfd = (int)(intptr_t)arg;
    struct pollfd p = { lfd, POLLIN, 0 };
    pthread_t t;

    while (!stopping) {
        if (poll(&p, 1, 100) <= 0)
            continue;
        int fd = accept(lfd, NULL, NULL);
        if (fd >= 0 && pthread_create(&t, NULL, tcp_echo_conn, (void *)(intptr_t)fd) == 0)
            pthread_detach(t);
    }
    return NULL;
}

/* Replies "<id>" + datagram, so the client sees which server answered. */
static void *udp_echo_server(void *arg)
{
    int fd = (int)(intptr_t)arg & 0xffff;
    char id = (char)(((intptr_t)arg >> 16) & 0xff);
    struct pollfd p = { fd, POLLIN, 0 };
    char buf[65536];
    struct sockaddr_storage from;

    while (!stopping) {
        if (poll(&p, 1, 100) <= 0)
            continue;
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(fd, buf + 1, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &len);
        if (n < 0)
            continue;
        buf[0] = id;
        sendto(fd, buf, (size_t)n + 1, 0, (struct sockaddr *)&from, len);
    }
    return NULL;
}

static int bound_socket(int type, uint16_t *p)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, type, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    *p = ntohs(a.sin_port);
    return fd;
}

/* Ports for the proxy's own binds: taken from the kernel, then released
 * for the proxy to bind (a small race with other programs, acceptable in
 * a test). */
static uint16_t free_port(int type)
{
    uint16_t p = 0;
    int fd = bound_socket(type, &p);
    if (fd >= 0)
        close(fd);
    return p;
}

/* ---- set-up ---- */

static int write_config(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f,
        "node = { name = \"t\"; };\n"
        "global = { threads = 2; log = { target = \"stderr\"; level = \"error\"; }; };\n"
        "frontends = (\n"
        " { name = \"tcp\"; bind = \"127.0.0.1:%u\"; mode = \"tcp\"; backend = \"echo\"; },\n"
        " { name = \"retry\"; bind = \"127.0.0.1:%u\"; mode = \"tcp\"; backend = \"withdead\"; },\n"
        " { name = \"udp\"; bind = \"0.0.0.0:%u\"; mode = \"udp\"; backend = \"uecho\";\n"
        "   udp = { flow_timeout = \"10s\"; max_flows = 4; }; } );\n"
        "backends = (\n"
        " { name = \"echo\"; algorithm = \"leastconn\"; servers = (\n"
        "   { name = \"s1\"; addr = \"127.0.0.1:%u\"; }, { name = \"s2\"; addr = \"127.0.0.1:%u\"; } ); },\n"
        " { name = \"withdead\"; algorithm = \"roundrobin\"; retries = 2; servers = (\n"
        "   { name = \"dead\"; addr = \"127.0.0.1:%u\"; }, { name = \"s1\"; addr = \"127.0.0.1:%u\"; } ); },\n"
        " { name = \"uecho\"; algorithm = \"roundrobin\"; servers = (\n"
        "   { name = \"u1\"; addr = \"127.0.0.1:%u\"; }, { name = \"u2\"; addr = \"127.0.0.1:%u\"; } ); } );\n",
        port[P_TCP_FE], port[P_TCP_FE_RETRY], port[P_UDP_FE], port[P_TCP_S1], port[P_TCP_S2],
        port[P_DEAD], port[P_TCP_S1], port[P_UDP_S1], port[P_UDP_S2]);
    return fclose(f);
}

static int start_servers(void)
{
    pthread_t t;

    srv_fd[P_TCP_S1] = bound_socket(SOCK_STREAM, &port[P_TCP_S1]);
    srv_fd[P_TCP_S2] = bound_socket(SOCK_STREAM, &port[P_TCP_S2]);
    srv_fd[P_UDP_S1] = bound_socket(SOCK_DGRAM, &port[P_UDP_S1]);
    srv_fd[P_UDP_S2] = bound_socket(SOCK_DGRAM, &port[P_UDP_S2]);
    for (int i = P_TCP_S1; i <= P_UDP_S2; i++)
        if (i != P_DEAD && srv_fd[i] < 0)
            return -1;
    listen(srv_fd[P_TCP_S1], 64);
    listen(srv_fd[P_TCP_S2], 64);
    pthread_create(&t, NULL, tcp_echo_server, (void *)(intptr_t)srv_fd[P_TCP_S1]);
    pthread_detach(t);
    pthread_create(&t, NULL, tcp_echo_server, (void *)(intptr_t)srv_fd[P_TCP_S2]);
    pthread_detach(t);
    pthread_create(&t, NULL, udp_echo_server, (void *)(intptr_t)(srv_fd[P_UDP_S1] | ('1' << 16)));
    pthread_detach(t);
    pthread_create(&t, NULL, udp_echo_server, (void *)(intptr_t)(srv_fd[P_UDP_S2] | ('2' << 16)));
    pthread_detach(t);
    port[P_DEAD] = free_port(SOCK_STREAM);        /* nothing listens there */
    port[P_TCP_FE] = free_port(SOCK_STREAM);
    port[P_TCP_FE_RETRY] = free_port(SOCK_STREAM);
    port[P_UDP_FE] = free_port(SOCK_DGRAM);
    return 0;
}

static int suite_init(void)
{
    char path[] = "/tmp/test_l4_live.XXXXXX";
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg;
    int fd = mkstemp(path);

    log_init("test_l4_live", LOG_TO_STDERR, LOG_LVL_ERR, 0);
    if (fd < 0 || start_servers() < 0 || write_config(path) < 0)
        return -1;
    close(fd);
    cfg = conf_load_proxy(path, &errs);
    unlink(path);
    for (unsigned i = 0; i < errs.n; i++)
        fprintf(stderr, "# %s\n", errs.msgs[i]);
    conf_errors_free(&errs);
    if (!cfg || !(rt = runtime_build(cfg, NULL)) || workers_start(rt, 2) < 0)
        return -1;
    usleep(100000);
    return 0;
}

/* ---- clients ---- */

static int tcp_connect(uint16_t p)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(p),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct timeval tv = { 5, 0 };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends len bytes of a pattern in a writer thread while reading back:
 * with both directions busy the pipes fill and drain in turn. */
struct writer_arg {
    int fd;
    size_t len;
};

static void *tcp_writer(void *arg)
{
    struct writer_arg *wa = arg;
    char buf[16384];
    size_t off = 0;

    while (off < wa->len) {
        size_t k = wa->len - off < sizeof(buf) ? wa->len - off : sizeof(buf);
        for (size_t i = 0; i < k; i++)
            buf[i] = (char)((off + i) * 7);
        ssize_t n = write(wa->fd, buf, k);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    shutdown(wa->fd, SHUT_WR);
    return NULL;
}

/* Returns the bytes echoed back that match the pattern, and whether the
 * trailer the server sends after the client's FIN arrived. */
static size_t tcp_echo_check(int fd, size_t len, int *bye)
{
    struct writer_arg wa = { fd, len };
    pthread_t t;
    char buf[65536];
    size_t got = 0, good = 0;
    ssize_t n;

    pthread_create(&t, NULL, tcp_writer, &wa);
    *bye = 0;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++, got++) {
            if (got < len && buf[i] == (char)(got * 7))
                good++;
            else if (got >= len && got - len < 3 && buf[i] == "BYE"[got - len])
                *bye += (got - len == 2);
        }
    }
    pthread_join(t, NULL);
    return good;
}

static int udp_client(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port[P_UDP_FE]),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    struct timeval tv = { 2, 0 };
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    /* Connected: a reply from any address but the VIP is dropped by the
     * kernel, so an answer proves IP_PKTINFO chose the right source. */
    connect(fd, (struct sockaddr *)&a, sizeof(a));
    return fd;
}

/* Which server answered ('1', '2'), or '?' on no or a wrong answer. */
static char udp_ask(int fd, const char *msg)
{
    char buf[256];
    size_t len = strlen(msg);

    if (send(fd, msg, len, 0) < 0)
        return '?';
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n != (ssize_t)len + 1 || memcmp(buf + 1, msg, len) != 0)
        return '?';
    return buf[0];
}

static int active_of(unsigned be, unsigned srv)
{
    return atomic_load(&rt->backends[be].servers[srv]->active);
}

static int wait_active_sum(unsigned be, int want);

/* Sessions end on the worker threads: wait a little for the counts. */
static int wait_active_zero(unsigned be)
{
    return wait_active_sum(be, 0);
}

/* ---- tests ---- */

static void test_tcp_echo_half_close(void)
{
    int bye, fd = tcp_connect(port[P_TCP_FE]);

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(tcp_echo_check(fd, 4 << 20, &bye), (size_t)4 << 20);
    CU_ASSERT_EQUAL(bye, 1);           /* sent by the server after our FIN */
    close(fd);
    CU_ASSERT_EQUAL(wait_active_zero(0), 0);
}

static int wait_active_sum(unsigned be, int want)
{
    for (int i = 0; i < 100; i++) {
        int sum = 0;
        for (unsigned s = 0; s < rt->backends[be].nservers; s++)
            sum += active_of(be, s);
        if (sum == want)
            return 0;
        usleep(20000);
    }
    return -1;
}

/* The second connection goes to the other server: leastconn reads the
 * active count the first one holds (from either worker thread). */
static void test_tcp_leastconn_sees_active(void)
{
    int a = tcp_connect(port[P_TCP_FE]), b;

    CU_ASSERT_FATAL(a >= 0);
    CU_ASSERT_EQUAL_FATAL(wait_active_sum(0, 1), 0);
    b = tcp_connect(port[P_TCP_FE]);
    CU_ASSERT_FATAL(b >= 0);
    CU_ASSERT_EQUAL(wait_active_sum(0, 2), 0);
    CU_ASSERT_EQUAL(active_of(0, 0), 1);
    CU_ASSERT_EQUAL(active_of(0, 1), 1);
    close(a);
    close(b);
    CU_ASSERT_EQUAL(wait_active_zero(0), 0);
}

static void test_tcp_retry_past_dead_server(void)
{
    for (int i = 0; i < 4; i++) {
        int bye, fd = tcp_connect(port[P_TCP_FE_RETRY]);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_EQUAL(tcp_echo_check(fd, 1000, &bye), 1000);
        close(fd);
    }
    CU_ASSERT_TRUE(atomic_load(&rt->backends[1].servers[0]->stats.connect_errors) > 0);
    CU_ASSERT_EQUAL(wait_active_zero(1), 0);
}

static void test_udp_flows_and_down_server(void)
{
    int c1 = udp_client(), c2 = udp_client();
    char a = udp_ask(c1, "one"), b = udp_ask(c2, "two");
    struct server *sa;

    CU_ASSERT(a != '?' && b != '?');
    CU_ASSERT_EQUAL(udp_ask(c1, "again"), a);          /* the flow sticks */
    CU_ASSERT_FATAL(a == '1' || a == '2');
    sa = rt->backends[2].servers[a - '1'];
    CU_ASSERT_EQUAL(atomic_load(&sa->active), b == a ? 2 : 1);
    server_set_state(sa, SRV_DOWN, clock_mono_ms());
    char a2 = udp_ask(c1, "after down");
    CU_ASSERT(a2 != a && a2 != '?');                     /* re-picked */
    server_set_state(sa, SRV_UP, clock_mono_ms());
    close(c1);
    close(c2);
}

/* max_flows = 4 per worker thread: 12 clients in a row are all answered,
 * the least recently used flows giving way. */
static void test_udp_bounded_table(void)
{
    int fds[12], answered = 0;

    for (int i = 0; i < 12; i++) {
        fds[i] = udp_client();
        answered += udp_ask(fds[i], "x") != '?';
    }
    CU_ASSERT_EQUAL(answered, 12);
    answered = udp_ask(fds[0], "evicted, asks again") != '?';
    CU_ASSERT_TRUE(answered);
    for (int i = 0; i < 12; i++)
        close(fds[i]);
}

static void test_stop_closes_flows(void)
{
    workers_stop();
    CU_ASSERT_EQUAL(active_of(2, 0) + active_of(2, 1), 0);
    CU_ASSERT_EQUAL(active_of(0, 0) + active_of(0, 1), 0);
    stopping = 1;
    runtime_unref(rt);
    rt = NULL;
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_tcp_echo_half_close),
    UNIT_TEST(test_tcp_leastconn_sees_active),
    UNIT_TEST(test_tcp_retry_past_dead_server),
    UNIT_TEST(test_udp_flows_and_down_server),
    UNIT_TEST(test_udp_bounded_table),
    UNIT_TEST(test_stop_closes_flows),
    { 0 },
};

int main(void)
{
    if (suite_init() < 0) {
        printf("1..0 # SKIP cannot set up loopback servers or workers\n");
        return 0;
    }
    return unit_run("l4_live", tests);
}
