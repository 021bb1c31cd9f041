/* test_http_session.c - the HTTP session's pure parts: timeouts per phase,
 * keep-alive and retry decisions, termination codes, idle-pool
 * bookkeeping. */
#include "config.h"
#include "unit.h"
#include "http_txn.h"
#include "http_pool.h"

#include <string.h>

/* ---- deadlines ---- */

static struct http_clock base_clock(enum http_phase phase)
{
    struct http_clock c;
    memset(&c, 0, sizeof(c));
    c.phase = phase;
    c.to_http_request = 10000;
    c.to_keepalive = 2000;
    c.to_client = 30000;
    c.to_queue = 5000;
    c.to_queue_poll = 10;
    c.to_connect = 3000;
    c.to_server = 20000;
    c.to_tunnel = 3600000;
    c.to_linger = 2000;
    return c;
}

static void test_deadline_idle_first_and_keepalive(void)
{
    uint64_t at = 0;
    struct http_clock c = base_clock(HTTP_PH_HEAD);
    c.first_request = 1;
    c.t_idle = 1000;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_IDLE);
    CU_ASSERT_EQUAL(at, 11000);           /* first request: http_request */
    c.first_request = 0;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_IDLE);
    CU_ASSERT_EQUAL(at, 3000);            /* between requests: keep-alive */
}

static void test_deadline_head_started(void)
{
    uint64_t at = 0;
    struct http_clock c = base_clock(HTTP_PH_HEAD);
    c.head_started = 1;
    c.t_req = 500;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_HEAD);
    CU_ASSERT_EQUAL(at, 10500);
    c.to_request = 4000;                  /* whole-request bound is tighter */
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_REQUEST);
    CU_ASSERT_EQUAL(at, 4500);
}

static void test_deadline_queue_polls(void)
{
    uint64_t at = 0;
    struct http_clock c = base_clock(HTTP_PH_QUEUE);
    c.t_phase = 100;
    c.t_poll = 100;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_QUEUE_POLL);
    CU_ASSERT_EQUAL(at, 110);
    c.t_poll = 5095;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_QUEUE);
    CU_ASSERT_EQUAL(at, 5100);
}

static void test_deadline_connect(void)
{
    uint64_t at = 0;
    struct http_clock c = base_clock(HTTP_PH_CONNECT);
    c.t_phase = 7;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_CONNECT);
    CU_ASSERT_EQUAL(at, 3007);
}

static void test_deadline_exchange(void)
{
    uint64_t at = 0;
    struct http_clock c = base_clock(HTTP_PH_EXCHANGE);
    /* Body still arriving: the client side is watched too. */
    c.t_client_io = 1000;
    c.t_server_io = 5000;
    c.to_client = 10000;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_CLIENT);
    CU_ASSERT_EQUAL(at, 11000);
    /* Request sent: only the server. */
    c.req_done = 1;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_SERVER);
    CU_ASSERT_EQUAL(at, 25000);
    /* Response read, client not reading it. */
    c.resp_done = 1;
    c.client_blocked = 1;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_CLIENT);
    /* Response read and delivered: nothing can expire. */
    c.client_blocked = 0;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_NONE);
}

static void test_deadline_tunnel_and_linger(void)
{
    uint64_t at = 0;
    struct http_clock c = base_clock(HTTP_PH_TUNNEL);
    c.t_client_io = 100;
    c.t_server_io = 900;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_TUNNEL);
    CU_ASSERT_EQUAL(at, 3600900);
    c.to_tunnel = 0;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_NONE);
    c = base_clock(HTTP_PH_CLOSING);
    c.t_phase = 50;
    CU_ASSERT_EQUAL(http_next_deadline(&c, &at), HTTP_TO_LINGER);
    CU_ASSERT_EQUAL(at, 2050);
}

/* ---- keep-alive, idempotence ---- */

static void test_keepalive_rules(void)
{
    CU_ASSERT_TRUE(http_req_keepalive(1, 0));
    CU_ASSERT_FALSE(http_req_keepalive(1, HTTP_F_CONN_CLOSE));
    CU_ASSERT_FALSE(http_req_keepalive(0, 0));
    CU_ASSERT_TRUE(http_req_keepalive(0, HTTP_F_CONN_KEEPALIVE));
    CU_ASSERT_FALSE(http_req_keepalive(0, HTTP_F_CONN_KEEPALIVE | HTTP_F_CONN_CLOSE));
    CU_ASSERT_TRUE(http_resp_keepalive(1, 0, HTTP_BODY_LENGTH));
    CU_ASSERT_TRUE(http_resp_keepalive(1, 0, HTTP_BODY_CHUNKED));
    CU_ASSERT_FALSE(http_resp_keepalive(1, 0, HTTP_BODY_UNTIL_CLOSE));
    CU_ASSERT_FALSE(http_resp_keepalive(0, 0, HTTP_BODY_LENGTH));
}

static void test_idempotent_methods(void)
{
    CU_ASSERT_TRUE(http_method_idempotent(HTTP_M_GET));
    CU_ASSERT_TRUE(http_method_idempotent(HTTP_M_HEAD));
    CU_ASSERT_TRUE(http_method_idempotent(HTTP_M_PUT));
    CU_ASSERT_TRUE(http_method_idempotent(HTTP_M_DELETE));
    CU_ASSERT_TRUE(http_method_idempotent(HTTP_M_OPTIONS));
    CU_ASSERT_TRUE(http_method_idempotent(HTTP_M_TRACE));
    CU_ASSERT_FALSE(http_method_idempotent(HTTP_M_POST));
    CU_ASSERT_FALSE(http_method_idempotent(HTTP_M_PATCH));
    CU_ASSERT_FALSE(http_method_idempotent(HTTP_M_CONNECT));
    CU_ASSERT_FALSE(http_method_idempotent(HTTP_M_OTHER));
}

/* ---- retries ---- */

static void test_retry_connect_failure(void)
{
    struct http_attempt a = { .replayable = 1, .retries_left = 2 };
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_OTHER);      /* POST too */
    a.retries_left = 0;
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_NONE);
}

static void test_retry_after_send(void)
{
    struct http_attempt a = { .replayable = 1, .retries_left = 2, .connected = 1,
                              .request_sent = 1 };
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_NONE);       /* POST: no */
    a.idempotent = 1;
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_OTHER);
    a.response_started = 1;
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_NONE);
    a.response_started = 0;
    a.replayable = 0;                       /* body already streamed away */
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_NONE);
}

static void test_retry_reused_connection(void)
{
    struct http_attempt a = { .reused = 1, .connected = 1, .replayable = 1,
                              .request_sent = 1, .idempotent = 1 };
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_FRESH);      /* no retry budget needed */
    a.idempotent = 0;
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_NONE);
    a.request_sent = 0;                     /* write failed: server saw nothing */
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_FRESH);
    a.fresh_used = 1;
    CU_ASSERT_EQUAL(http_retry_decide(&a), HTTP_RETRY_NONE);
}

static void test_term_codes(void)
{
    CU_ASSERT_STRING_EQUAL(http_term_code('c', HTTP_PH_HEAD, 0), "cR");
    CU_ASSERT_STRING_EQUAL(http_term_code('s', HTTP_PH_QUEUE, 0), "sQ");
    CU_ASSERT_STRING_EQUAL(http_term_code('S', HTTP_PH_CONNECT, 0), "SC");
    CU_ASSERT_STRING_EQUAL(http_term_code('s', HTTP_PH_EXCHANGE, 0), "sH");
    CU_ASSERT_STRING_EQUAL(http_term_code('C', HTTP_PH_EXCHANGE, 1), "CD");
    CU_ASSERT_STRING_EQUAL(http_term_code('K', HTTP_PH_TUNNEL, 1), "KD");
    CU_ASSERT_STRING_EQUAL(http_term_code('?', HTTP_PH_HEAD, 0), "--");
}

/* ---- idle pool ---- */

static struct server srv_a, srv_b, srv_other;
static struct server *srv_list[2] = { &srv_a, &srv_b };
static struct backend be;

static void pool_fixture(struct http_pool *p, unsigned cap)
{
    memset(&be, 0, sizeof(be));
    srv_a.index = 0;
    srv_b.index = 1;
    srv_other.index = 0;
    be.servers = srv_list;
    be.nservers = 2;
    CU_ASSERT_EQUAL_FATAL(http_pool_setup(p, &be, cap, 1000), 0);
}

static void conn_init(struct http_sconn *c, struct server *s)
{
    memset(c, 0, sizeof(*c));
    c->srv = s;
}

static void test_pool_take_newest_of_server(void)
{
    struct http_pool p;
    struct http_sconn c1, c2, c3;
    pool_fixture(&p, 4);
    conn_init(&c1, &srv_a);
    conn_init(&c2, &srv_b);
    conn_init(&c3, &srv_a);
    CU_ASSERT_PTR_NULL(http_pool_put(&p, &c1, 10));
    CU_ASSERT_PTR_NULL(http_pool_put(&p, &c2, 20));
    CU_ASSERT_PTR_NULL(http_pool_put(&p, &c3, 30));
    CU_ASSERT_EQUAL(p.count, 3);
    CU_ASSERT_PTR_EQUAL(http_pool_take(&p, &srv_a), &c3);   /* warmest first */
    CU_ASSERT_PTR_EQUAL(http_pool_take(&p, &srv_a), &c1);
    CU_ASSERT_PTR_NULL(http_pool_take(&p, &srv_a));
    CU_ASSERT_PTR_EQUAL(http_pool_take(&p, &srv_b), &c2);
    CU_ASSERT_EQUAL(p.count, 0);
    CU_ASSERT_PTR_NULL(c2.pool);
    http_pool_teardown(&p);
}

static void test_pool_evicts_oldest_when_full(void)
{
    struct http_pool p;
    struct http_sconn c1, c2, c3;
    pool_fixture(&p, 2);
    conn_init(&c1, &srv_a);
    conn_init(&c2, &srv_b);
    conn_init(&c3, &srv_b);
    CU_ASSERT_PTR_NULL(http_pool_put(&p, &c1, 10));
    CU_ASSERT_PTR_NULL(http_pool_put(&p, &c2, 20));
    CU_ASSERT_PTR_EQUAL(http_pool_put(&p, &c3, 30), &c1);
    CU_ASSERT_EQUAL(p.count, 2);
    CU_ASSERT_PTR_NULL(http_pool_take(&p, &srv_a));
    http_pool_teardown(&p);
}

static void test_pool_refuses_when_disabled_or_foreign(void)
{
    struct http_pool p;
    struct http_sconn c1, c2;
    pool_fixture(&p, 0);
    conn_init(&c1, &srv_a);
    CU_ASSERT_PTR_EQUAL(http_pool_put(&p, &c1, 10), &c1);
    http_pool_teardown(&p);
    pool_fixture(&p, 4);
    conn_init(&c2, &srv_other);         /* a server of another runtime */
    CU_ASSERT_PTR_EQUAL(http_pool_put(&p, &c2, 10), &c2);
    CU_ASSERT_PTR_NULL(http_pool_take(&p, &srv_other));
    http_pool_teardown(&p);
}

static void test_pool_renumbered_server(void)
{
    struct http_pool p;
    struct http_sconn c1;
    pool_fixture(&p, 4);
    conn_init(&c1, &srv_b);
    srv_b.index = 7;                    /* renumbered by a reload */
    CU_ASSERT_PTR_NULL(http_pool_put(&p, &c1, 10));
    CU_ASSERT_PTR_EQUAL(http_pool_take(&p, &srv_b), &c1);
    srv_b.index = 1;
    http_pool_teardown(&p);
}

static void test_pool_expiry(void)
{
    struct http_pool p;
    struct http_sconn c1, c2;
    pool_fixture(&p, 4);
    conn_init(&c1, &srv_a);
    conn_init(&c2, &srv_b);
    http_pool_put(&p, &c1, 100);
    http_pool_put(&p, &c2, 600);
    CU_ASSERT_EQUAL(http_pool_next_expiry(&p), 1100);
    CU_ASSERT_PTR_NULL(http_pool_expired(&p, 1099));
    CU_ASSERT_PTR_EQUAL(http_pool_expired(&p, 1100), &c1);
    http_pool_remove(&p, &c1);
    CU_ASSERT_EQUAL(http_pool_next_expiry(&p), 1600);
    CU_ASSERT_PTR_NULL(http_pool_expired(&p, 1500));
    http_pool_remove(&p, &c2);
    CU_ASSERT_EQUAL(p.count, 0);
    CU_ASSERT_EQUAL(http_pool_next_expiry(&p), 0);
    http_pool_teardown(&p);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_deadline_idle_first_and_keepalive),
    UNIT_TEST(test_deadline_head_started),
    UNIT_TEST(test_deadline_queue_polls),
    UNIT_TEST(test_deadline_connect),
    UNIT_TEST(test_deadline_exchange),
    UNIT_TEST(test_deadline_tunnel_and_linger),
    UNIT_TEST(test_keepalive_rules),
    UNIT_TEST(test_idempotent_methods),
    UNIT_TEST(test_retry_connect_failure),
    UNIT_TEST(test_retry_after_send),
    UNIT_TEST(test_retry_reused_connection),
    UNIT_TEST(test_term_codes),
    UNIT_TEST(test_pool_take_newest_of_server),
    UNIT_TEST(test_pool_evicts_oldest_when_full),
    UNIT_TEST(test_pool_refuses_when_disabled_or_foreign),
    UNIT_TEST(test_pool_renumbered_server),
    UNIT_TEST(test_pool_expiry),
    { NULL, NULL },
};

int main(void)
{
    return unit_run("http_session", tests);
}
