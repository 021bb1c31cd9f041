/* test_health.c - the pure health-check logic with a fake clock: expected
 * status ranges, the rise/fall state machine and its timing, what a verdict
 * does to each server state, the http check's request and response
 * judgement, the transition log lines, and passive counting. */
#include "config.h"
#include "unit.h"
#include "health.h"
#include "health_check.h"
#include "health_expect.h"

#include <stdio.h>
#include <string.h>

static struct conf_health hc_default(void)
{
    struct conf_health h;
    memset(&h, 0, sizeof(h));
    h.enabled = 1;
    h.type = HEALTH_HTTP;
    h.expect[0] = (struct health_range){ 200, 399 };
    h.nexpect = 1;
    h.interval_ms = 5000;
    h.fast_interval_ms = 1000;
    h.timeout_ms = 2000;
    h.rise = 2;
    h.fall = 3;
    return h;
}

/* ---- expect ranges ---- */

static void test_expect_parse_ok(void)
{
    struct health_range r[HEALTH_EXPECT_MAX];
    unsigned n;
    const char *err = NULL;
    CU_ASSERT_EQUAL(health_expect_parse("200-299,301", r, HEALTH_EXPECT_MAX, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(r[0].lo, 200);
    CU_ASSERT_EQUAL(r[0].hi, 299);
    CU_ASSERT_EQUAL(r[1].lo, 301);
    CU_ASSERT_EQUAL(r[1].hi, 301);
    CU_ASSERT_EQUAL(health_expect_parse(" 204 , 300 - 302 ", r, HEALTH_EXPECT_MAX, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(r[1].lo, 300);
    CU_ASSERT_EQUAL(r[1].hi, 302);
    CU_ASSERT_TRUE(health_expect_match(r, n, 204));
    CU_ASSERT_TRUE(health_expect_match(r, n, 301));
    CU_ASSERT_FALSE(health_expect_match(r, n, 200));
    CU_ASSERT_FALSE(health_expect_match(r, n, 303));
}

static void test_expect_parse_bad(void)
{
    static const char *const bad[] = {
        "", "   ", "20", "2000", "099", "600", "200-", "-200", "299-200", "abc",
        "200;301", "200,", ",200", "200,,301", "200-299-300", "2xx", "200 301",
    };
    struct health_range r[HEALTH_EXPECT_MAX];
    unsigned n;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *err = NULL;
        int rc = health_expect_parse(bad[i], r, HEALTH_EXPECT_MAX, &n, &err);
        CU_ASSERT_EQUAL(rc, -1);
        CU_ASSERT_PTR_NOT_NULL(err);
        if (rc != -1)
            fprintf(stderr, "accepted \"%s\"\n", bad[i]);
    }
    const char *err = NULL;
    CU_ASSERT_EQUAL(health_expect_parse("200,201,202", r, 2, &n, &err), -1);
    CU_ASSERT_STRING_EQUAL(err, "lists too many ranges");
}

/* ---- the state machine ---- */

static void test_fsm_fall(void)
{
    struct health_fsm f;
    health_fsm_init(&f, 1);
    CU_ASSERT_FALSE(health_fsm_changing(&f));
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 0, 2, 3), HEALTH_SAME);
    CU_ASSERT_TRUE(health_fsm_changing(&f));
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 0, 2, 3), HEALTH_SAME);
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 1, 2, 3), HEALTH_SAME);   /* a success restarts */
    CU_ASSERT_FALSE(health_fsm_changing(&f));
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 0, 2, 3), HEALTH_SAME);
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 0, 2, 3), HEALTH_SAME);
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 0, 2, 3), HEALTH_WENT_DOWN);
    CU_ASSERT_FALSE(f.healthy);
    CU_ASSERT_FALSE(health_fsm_changing(&f));
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 0, 2, 3), HEALTH_SAME);   /* stays down */
}

static void test_fsm_rise(void)
{
    struct health_fsm f;
    health_fsm_init(&f, 0);
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 1, 2, 3), HEALTH_SAME);
    CU_ASSERT_TRUE(health_fsm_changing(&f));
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 0, 2, 3), HEALTH_SAME);   /* a failure restarts */
    CU_ASSERT_FALSE(health_fsm_changing(&f));
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 1, 2, 3), HEALTH_SAME);
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 1, 2, 3), HEALTH_WENT_UP);
    CU_ASSERT_TRUE(f.healthy);
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 1, 2, 3), HEALTH_SAME);
}

static void test_fsm_rise_fall_one(void)
{
    struct health_fsm f;
    health_fsm_init(&f, 1);
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 0, 1, 1), HEALTH_WENT_DOWN);
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 1, 1, 1), HEALTH_WENT_UP);
    /* 0 (never loaded from a config) behaves as 1 rather than never firing */
    CU_ASSERT_EQUAL(health_fsm_feed(&f, 0, 0, 0), HEALTH_WENT_DOWN);
}

static void test_schedule(void)
{
    struct conf_health h = hc_default();
    struct health_fsm f;
    health_fsm_init(&f, 1);
    CU_ASSERT_EQUAL(health_next_start(&f, &h, 10000, 10003), 15000);
    health_fsm_feed(&f, 0, h.rise, h.fall);                /* changing: fast */
    CU_ASSERT_EQUAL(health_next_start(&f, &h, 15000, 15002), 16000);
    CU_ASSERT_EQUAL(health_next_start(&f, &h, 15000, 17500), 17500);   /* overran */
    health_fsm_feed(&f, 1, h.rise, h.fall);
    CU_ASSERT_EQUAL(health_next_start(&f, &h, 16000, 16001), 21000);
}

/* Fake-clock run of a server that stops answering (every check hangs for
 * the whole timeout): it must be DOWN within fall x interval + timeout of
 * its death, and UP again within rise x interval of its recovery (less
 * with fast_interval). */
static uint64_t simulate(struct health_fsm *f, const struct conf_health *h, uint64_t *t,
                         int ok, enum health_change want)
{
    for (int i = 0; i < 100; i++) {
        uint64_t start = *t, end = start + (ok ? 1 : h->timeout_ms);
        enum health_change c = health_fsm_feed(f, ok, h->rise, h->fall);
        *t = health_next_start(f, h, start, end);
        if (c == want)
            return end;
    }
    return UINT64_MAX;
}

static void test_detection_bounds(void)
{
    struct conf_health h = hc_default();
    struct health_fsm f;
    health_fsm_init(&f, 1);
    uint64_t t = 100000;                  /* a check starts; the server died just before */
    uint64_t down_at = simulate(&f, &h, &t, 0, HEALTH_WENT_DOWN);
    CU_ASSERT(down_at - 100000 <= h.fall * h.interval_ms + h.timeout_ms);
    /* 3 checks, 2 at the fast interval: 0, 2000 (timeout > fast), 4000; + 2000 */
    CU_ASSERT_EQUAL(down_at - 100000, 6000);
    uint64_t back = t;                    /* it recovers before the next check */
    uint64_t up_at = simulate(&f, &h, &t, 1, HEALTH_WENT_UP);
    CU_ASSERT(up_at - back <= h.rise * h.interval_ms);
    CU_ASSERT_EQUAL(up_at - back, 1001);  /* second check at the fast interval */
}

static void test_target_state(void)
{
    CU_ASSERT_EQUAL(health_target_state(SRV_UP, 0, 0), SRV_DOWN);
    CU_ASSERT_EQUAL(health_target_state(SRV_DOWN, 1, 0), SRV_UP);
    CU_ASSERT_EQUAL(health_target_state(SRV_UP, 1, 0), -1);
    CU_ASSERT_EQUAL(health_target_state(SRV_DOWN, 0, 0), -1);
    CU_ASSERT_EQUAL(health_target_state(SRV_DRAIN, 0, 0), -1);
    CU_ASSERT_EQUAL(health_target_state(SRV_DRAIN, 1, 0), -1);
    CU_ASSERT_EQUAL(health_target_state(SRV_MAINT, 0, 0), -1);
    CU_ASSERT_EQUAL(health_target_state(SRV_MAINT, 1, 0), -1);
    CU_ASSERT_EQUAL(health_target_state(SRV_UP, 0, 1), -1);
    CU_ASSERT_EQUAL(health_target_state(SRV_DOWN, 1, 1), -1);
}

/* ---- http ---- */

static void test_http_request(void)
{
    struct conf_health h = hc_default();
    char buf[512];
    size_t n = health_http_request(buf, sizeof(buf), &h, "203.0.113.21:8080");
    CU_ASSERT_STRING_EQUAL(buf, "GET / HTTP/1.1\r\nHost: 203.0.113.21:8080\r\n"
                                "Connection: close\r\nUser-Agent: tandem-health\r\n\r\n");
    CU_ASSERT_EQUAL(n, strlen(buf));
    h.method = "HEAD";
    h.path = "/health?deep=1";
    h.host = "www.example.com";
    n = health_http_request(buf, sizeof(buf), &h, "203.0.113.21:8080");
    CU_ASSERT_STRING_EQUAL(buf, "HEAD /health?deep=1 HTTP/1.1\r\nHost: www.example.com\r\n"
                                "Connection: close\r\nUser-Agent: tandem-health\r\n\r\n");
    CU_ASSERT_EQUAL(health_http_request(buf, 20, &h, "x"), 0);
}

static enum health_verdict judge(const char *resp, int eof, const struct conf_health *h,
                                 char *reason)
{
    return health_http_judge(resp, strlen(resp), eof, h, reason, HEALTH_REASON_MAX);
}

static void test_http_judge_status(void)
{
    struct conf_health h = hc_default();
    char reason[HEALTH_REASON_MAX];
    h.path = "/health";
    CU_ASSERT_EQUAL(judge("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0, &h, reason),
                    HEALTH_PASS);
    CU_ASSERT_STRING_EQUAL(reason, "GET /health: 200");
    CU_ASSERT_EQUAL(judge("HTTP/1.1 503 Service Unavailable\r\n\r\n", 0, &h, reason),
                    HEALTH_FAIL);
    CU_ASSERT_STRING_EQUAL(reason, "GET /health: 503");
    CU_ASSERT_EQUAL(judge("HTTP/1.1 200 OK\r\nContent-Le", 0, &h, reason), HEALTH_MORE);
    CU_ASSERT_EQUAL(judge("HTTP/1.1 200 OK\r\nContent-Le", 1, &h, reason), HEALTH_FAIL);
    CU_ASSERT_STRING_EQUAL(reason, "GET /health: incomplete response");
    CU_ASSERT_EQUAL(judge("", 1, &h, reason), HEALTH_FAIL);
    CU_ASSERT_STRING_EQUAL(reason, "GET /health: empty response");
    CU_ASSERT_EQUAL(judge("SSH-2.0-OpenSSH_9.2\r\n\r\n", 0, &h, reason), HEALTH_FAIL);
    h.nexpect = 0;
    const char *err;
    health_expect_parse("200-299,301", h.expect, HEALTH_EXPECT_MAX, &h.nexpect, &err);
    CU_ASSERT_EQUAL(judge("HTTP/1.1 301 Moved\r\n\r\n", 0, &h, reason), HEALTH_PASS);
    CU_ASSERT_EQUAL(judge("HTTP/1.1 302 Found\r\n\r\n", 0, &h, reason), HEALTH_FAIL);
    CU_ASSERT_STRING_EQUAL(reason, "GET /health: 302");
}

static void test_http_judge_body(void)
{
    struct conf_health h = hc_default();
    char reason[HEALTH_REASON_MAX];
    h.body = "\"status\":\"ok\"";
    const char *good = "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}";
    CU_ASSERT_EQUAL(judge(good, 0, &h, reason), HEALTH_PASS);
    const char *bad = "HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"status\":\"fail\"}";
    CU_ASSERT_EQUAL(judge(bad, 0, &h, reason), HEALTH_FAIL);      /* whole body seen */
    CU_ASSERT_STRING_EQUAL(reason, "GET /: 200, body without \"\"status\":\"ok\"\"");
    const char *partial = "HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"sta";
    CU_ASSERT_EQUAL(judge(partial, 0, &h, reason), HEALTH_MORE);
    CU_ASSERT_EQUAL(judge(partial, 1, &h, reason), HEALTH_FAIL);
    const char *close = "HTTP/1.1 200 OK\r\n\r\n{\"status\":\"o";  /* until close */
    CU_ASSERT_EQUAL(judge(close, 0, &h, reason), HEALTH_MORE);
    CU_ASSERT_EQUAL(judge("HTTP/1.1 500 Oops\r\n\r\n{\"status\":\"ok\"}", 0, &h, reason),
                    HEALTH_FAIL);                                  /* status first */
}

static void test_format_change(void)
{
    char buf[256];
    health_format_change(buf, sizeof(buf), "web", "web1", HEALTH_WENT_DOWN,
                         "GET /health: 503", 3, NULL);
    CU_ASSERT_STRING_EQUAL(buf, "backend \"web\" server \"web1\" is DOWN: GET /health: 503, "
                                "3 failures");
    health_format_change(buf, sizeof(buf), "web", "web1", HEALTH_WENT_UP, "GET /health: 200",
                         2, NULL);
    CU_ASSERT_STRING_EQUAL(buf, "backend \"web\" server \"web1\" is UP: 2 successful checks");
    health_format_change(buf, sizeof(buf), "web", "web1", HEALTH_WENT_DOWN,
                         "connect: Connection refused", 1, "admin state MAINT kept");
    CU_ASSERT_STRING_EQUAL(buf, "backend \"web\" server \"web1\" is DOWN: connect: Connection "
                                "refused, 1 failure (admin state MAINT kept)");
}

/* ---- passive ---- */

static void passive_server(struct server *s, struct backend *be)
{
    memset(be, 0, sizeof(*be));
    memset(s, 0, sizeof(*s));
    be->name = "web";
    s->name = "web1";
    s->backend = be;
    atomic_store(&s->state, SRV_UP);
    atomic_store(&s->health_ok, 1);
    s->passive_connect_max = 3;
    s->passive_5xx_max = 2;
}

static void test_passive_connect(void)
{
    struct backend be;
    struct server s;
    passive_server(&s, &be);
    health_passive_report(&s, HEALTH_CONNECT_FAIL);
    health_passive_report(&s, HEALTH_CONNECT_FAIL);
    health_passive_report(&s, HEALTH_CONNECT_OK);                  /* restarts the count */
    health_passive_report(&s, HEALTH_CONNECT_FAIL);
    health_passive_report(&s, HEALTH_CONNECT_FAIL);
    CU_ASSERT_EQUAL(atomic_load(&s.state), SRV_UP);
    uint32_t gen = atomic_load(&be.gen);
    health_passive_report(&s, HEALTH_CONNECT_FAIL);
    CU_ASSERT_EQUAL(atomic_load(&s.state), SRV_DOWN);
    CU_ASSERT_EQUAL(atomic_load(&s.health_ok), 0);
    CU_ASSERT_EQUAL(atomic_load(&s.passive_down), 1);
    CU_ASSERT_NOT_EQUAL(atomic_load(&be.gen), gen);                /* balancers rebuild */
    health_passive_report(NULL, HEALTH_CONNECT_FAIL);               /* no server: ignored */
}

static void test_passive_5xx_and_admin(void)
{
    struct backend be;
    struct server s;
    passive_server(&s, &be);
    atomic_store(&s.state, SRV_DRAIN);
    health_passive_report(&s, HEALTH_HTTP_5XX);
    health_passive_report(&s, HEALTH_HTTP_5XX);
    CU_ASSERT_EQUAL(atomic_load(&s.state), SRV_DRAIN);             /* admin state wins */
    CU_ASSERT_EQUAL(atomic_load(&s.health_ok), 0);                 /* health recorded */
    health_admin_ready(&s, 5000);
    CU_ASSERT_EQUAL(atomic_load(&s.state), SRV_DOWN);              /* the health decides */
    atomic_store(&s.health_ok, 1);
    health_admin_ready(&s, 6000);
    CU_ASSERT_EQUAL(atomic_load(&s.state), SRV_UP);
    CU_ASSERT_EQUAL(atomic_load(&s.up_since_ms), 6000);            /* slow start from here */
}

static void test_passive_off_and_observe(void)
{
    struct backend be;
    struct server s;
    passive_server(&s, &be);
    s.passive_connect_max = 0;                                     /* off */
    for (int i = 0; i < 10; i++)
        health_passive_report(&s, HEALTH_CONNECT_FAIL);
    CU_ASSERT_EQUAL(atomic_load(&s.state), SRV_UP);
    s.health_observe_only = 1;
    health_passive_report(&s, HEALTH_HTTP_5XX);
    health_passive_report(&s, HEALTH_HTTP_5XX);
    CU_ASSERT_EQUAL(atomic_load(&s.state), SRV_UP);
    CU_ASSERT_EQUAL(atomic_load(&s.health_ok), 1);
}

/* ---- the config groups (conf_health.c) ---- */

#define CONF_HEAD "frontends = ( { name = \"www\"; bind = \"127.0.0.1:8080\"; mode = \"http\";\n" \
                  "  backend = \"web\"; } );\n"

/* Loads a config whose backend holds `backend_keys` (from line 3 on) and
 * returns the number of errors; the first is copied to first. */
static unsigned load_backend(const char *backend_keys, struct tandem_config **out,
                             char *first, size_t len)
{
    char text[2048];
    snprintf(text, sizeof(text), CONF_HEAD "backends = ( { name = \"web\";\n%s\n"
             "  servers = ( { name = \"web1\"; addr = \"127.0.0.1:9001\"; },\n"
             "              { name = \"web2\"; addr = \"127.0.0.1:9002\"; backup = true; } ); } );\n",
             backend_keys);
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = conf_load_proxy_string(text, "t.conf", &errs);
    unsigned n = errs.n;
    if (first)
        snprintf(first, len, "%s", n ? errs.msgs[0] : "");
    conf_errors_free(&errs);
    if (out)
        *out = cfg;
    else
        conf_free(cfg);
    return n;
}

static void test_conf_health_values(void)
{
    struct tandem_config *cfg = NULL;
    char err[512];
    CU_ASSERT_EQUAL(load_backend("  slowstart = \"30s\";\n"
        "  health = { type = \"http\"; method = \"HEAD\"; path = \"/health\"; host = \"www.example.com\";\n"
        "    expect = \"200-299,301\"; body = \"ok\"; interval = \"5s\"; fast_interval = \"1s\";\n"
        "    timeout = \"2s\"; rise = 2; fall = 3; observe_only = true; };\n"
        "  passive = { connect_failures = 3; http_5xx = 5; };", &cfg, err, sizeof(err)), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const struct conf_backend *b = &cfg->backends[0];
    CU_ASSERT_EQUAL(b->slowstart_ms, 30000);
    CU_ASSERT_TRUE(b->health.enabled);
    CU_ASSERT_EQUAL(b->health.type, HEALTH_HTTP);
    CU_ASSERT_STRING_EQUAL(b->health.method, "HEAD");
    CU_ASSERT_STRING_EQUAL(b->health.path, "/health");
    CU_ASSERT_STRING_EQUAL(b->health.host, "www.example.com");
    CU_ASSERT_STRING_EQUAL(b->health.body, "ok");
    CU_ASSERT_EQUAL(b->health.nexpect, 2);
    CU_ASSERT_EQUAL(b->health.interval_ms, 5000);
    CU_ASSERT_EQUAL(b->health.fast_interval_ms, 1000);
    CU_ASSERT_EQUAL(b->health.timeout_ms, 2000);
    CU_ASSERT_EQUAL(b->health.rise, 2);
    CU_ASSERT_EQUAL(b->health.fall, 3);
    CU_ASSERT_TRUE(b->health.observe_only);
    CU_ASSERT_EQUAL(b->passive.connect_failures, 3);
    CU_ASSERT_EQUAL(b->passive.http_5xx, 5);
    CU_ASSERT_FALSE(b->servers[0].backup);
    CU_ASSERT_TRUE(b->servers[1].backup);
    conf_free(cfg);
}

static void test_conf_health_defaults(void)
{
    struct tandem_config *cfg = NULL;
    CU_ASSERT_EQUAL(load_backend("  health = { interval = \"10s\"; };", &cfg, NULL, 0), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const struct conf_health *h = &cfg->backends[0].health;
    CU_ASSERT_EQUAL(h->type, HEALTH_TCP);
    CU_ASSERT_EQUAL(h->fast_interval_ms, 10000);     /* follows interval */
    CU_ASSERT_EQUAL(h->timeout_ms, 1000);
    CU_ASSERT_EQUAL(h->rise, 2);
    CU_ASSERT_EQUAL(h->fall, 3);
    CU_ASSERT_EQUAL(h->nexpect, 1);
    CU_ASSERT_EQUAL(h->expect[0].lo, 200);
    CU_ASSERT_EQUAL(h->expect[0].hi, 399);
    CU_ASSERT_EQUAL(cfg->backends[0].slowstart_ms, 0);
    conf_free(cfg);
    CU_ASSERT_EQUAL(load_backend("", &cfg, NULL, 0), 0);
    CU_ASSERT_FALSE(cfg->backends[0].health.enabled);
    conf_free(cfg);
}

static void test_conf_health_errors(void)
{
    static const struct { const char *keys, *want; } cases[] = {
        { "  health = { type = \"http\";\n expect = \"200-2xx\"; };",
          "t.conf:5: backend \"web\": health.expect \"200-2xx\" has a range without a valid "
          "upper status" },
        { "  health = { type = \"http\"; expect = \"2000\"; };",
          "t.conf:4: backend \"web\": health.expect \"2000\" must list statuses (100-599) or "
          "ranges such as \"200-299,301\"" },
        { "  health = { type = \"tls\"; };",
          "t.conf:4: backend \"web\": health.type \"tls\" needs the backend's tls = { ... } "
          "(it checks the handshake the servers' traffic uses)" },
        { "  health = { type = \"udp\"; };",
          "t.conf:4: backend \"web\": health.type \"udp\" is unknown (use tcp, http or tls)" },
        { "  health = { path = \"/health\"; };",
          "t.conf:4: backend \"web\": health.path applies only to type \"http\"" },
        { "  health = { type = \"http\"; path = \"health\"; };",
          "t.conf:4: backend \"web\": health.path \"health\" must start with \"/\" and contain "
          "no spaces or control characters" },
        { "  health = { type = \"http\"; method = \"GE T\"; };",
          "t.conf:4: backend \"web\": health.method \"GE T\" must be an HTTP method such as "
          "\"GET\"" },
        { "  health = { rise = 0; };",
          "t.conf:4: backend \"web\": health.rise 0 is out of range (1-100)" },
        { "  health = { interval = \"1ms\"; };",
          "t.conf:4: backend \"web\": health.interval \"1ms\" is out of range (10ms-7d)" },
        { "  health = { intervall = \"1s\"; };",
          "t.conf:4: backend \"web\": unknown key \"health.intervall\" (did you mean "
          "\"health.interval\"?)" },
        { "  passive = { connect_failures = 3; };",
          "t.conf:4: backend \"web\": passive checks need health = { ... }: only active checks "
          "bring a server marked DOWN back" },
        { "  slowstart = 30;",
          "t.conf:4: backend \"web\": slowstart must be a duration string such as \"5s\"" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512];
        unsigned n = load_backend(cases[i].keys, NULL, err, sizeof(err));
        CU_ASSERT_EQUAL(n, 1);
        CU_ASSERT_STRING_EQUAL(err, cases[i].want);
        if (n != 1 || strcmp(err, cases[i].want) != 0)
            fprintf(stderr, "case %zu: %u errors, first: %s\n", i, n, err);
    }
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_expect_parse_ok),
    UNIT_TEST(test_expect_parse_bad),
    UNIT_TEST(test_fsm_fall),
    UNIT_TEST(test_fsm_rise),
    UNIT_TEST(test_fsm_rise_fall_one),
    UNIT_TEST(test_schedule),
    UNIT_TEST(test_detection_bounds),
    UNIT_TEST(test_target_state),
    UNIT_TEST(test_http_request),
    UNIT_TEST(test_http_judge_status),
    UNIT_TEST(test_http_judge_body),
    UNIT_TEST(test_format_change),
    UNIT_TEST(test_passive_connect),
    UNIT_TEST(test_passive_5xx_and_admin),
    UNIT_TEST(test_passive_off_and_observe),
    UNIT_TEST(test_conf_health_values),
    UNIT_TEST(test_conf_health_defaults),
    UNIT_TEST(test_conf_health_errors),
    { NULL, NULL },
};

int main(void)
{
    return unit_run("health", tests);
}
