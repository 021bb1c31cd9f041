/* test_stats.c - the proxy's stats views on a runtime built from a real
 * config: Prometheus exposition (families, labels, counters, histogram,
 * state gauges), the JSON document, basic auth parsing; and the pure
 * Prometheus and table writers. */
#include "config.h"
#include "ctl_table.h"
#include "json_out.h"
#include "prom_out.h"
#include "runtime.h"
#include "stats.h"
#include "stats_http.h"
#include "unit.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

static char *buf_str(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    evbuffer_copyout(b, s, n);
    s[n] = '\0';
    return s;
}

static const char conf_text[] =
    "node = { name = \"lb-a\"; };\n"
    "frontends = ( { name = \"www\"; bind = \"127.0.0.1:18080\"; mode = \"http\"; backend = \"web\"; } );\n"
    "backends = ( { name = \"web\"; algorithm = \"wrr\";\n"
    "  servers = ( { name = \"web1\"; addr = \"203.0.113.11:80\"; weight = 5; },\n"
    "              { name = \"web2\"; addr = \"203.0.113.12:80\"; } ); } );\n"
    "stats = { bind = \"127.0.0.1:8404\"; auth = { user = \"admin\"; password = \"s3:cr\\\"t\"; }; };\n";

static struct runtime *make_runtime(void)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = conf_load_proxy_string(conf_text, "t.conf", &errs);
    for (unsigned i = 0; i < errs.n; i++)
        fprintf(stderr, "# %s\n", errs.msgs[i]);
    conf_errors_free(&errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct runtime *rt = runtime_build(cfg, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    return rt;
}

static const struct stats_info info = {
    .version = "9.9", .pid = 42, .node = "lb-a", .config_path = "/etc/t.conf", .threads = 2,
    .start_wall_ms = 1700000000000ull, .uptime_ms = 5000, .generation = 3,
};

static void traffic(struct runtime *rt)
{
    struct server *s1 = rt->backends[0].servers[0], *s2 = rt->backends[0].servers[1];
    atomic_store(&rt->frontends[0].stats.requests, 10);
    atomic_store(&rt->frontends[0].stats.responses[2], 9);
    atomic_store(&rt->frontends[0].stats.responses[5], 1);
    atomic_store(&rt->frontends[0].active, 2);
    atomic_store(&s1->stats.requests, 7);
    atomic_store(&s2->stats.requests, 3);
    atomic_store(&s1->stats.bytes_in, 1000);
    atomic_store(&s2->stats.responses[5], 1);
    server_set_state(s2, SRV_DRAIN, 1);
    server_observe_rt(s1, 800);        /* <= 1 ms */
    server_observe_rt(s1, 30000);      /* <= 50 ms */
    server_observe_rt(s2, 9000000);    /* +Inf */
}

static void test_prometheus(void)
{
    struct runtime *rt = make_runtime();
    traffic(rt);
    struct evbuffer *b = evbuffer_new();
    stats_prometheus(b, rt, &info);
    char *s = buf_str(b);
    static const char *const want[] = {
        "# TYPE tandem_frontend_requests_total counter\n",
        "tandem_frontend_requests_total{frontend=\"www\"} 10\n",
        "tandem_frontend_responses_total{frontend=\"www\",code=\"2xx\"} 9\n",
        "tandem_frontend_responses_total{frontend=\"www\",code=\"other\"} 0\n",
        "tandem_frontend_active_connections{frontend=\"www\"} 2\n",
        "tandem_backend_requests_total{backend=\"web\"} 10\n",
        "tandem_backend_responses_total{backend=\"web\",code=\"5xx\"} 1\n",
        "tandem_server_requests_total{backend=\"web\",server=\"web1\"} 7\n",
        "tandem_server_bytes_in_total{backend=\"web\",server=\"web1\"} 1000\n",
        "tandem_server_state{backend=\"web\",server=\"web2\",state=\"DRAIN\"} 1\n",
        "tandem_server_state{backend=\"web\",server=\"web2\",state=\"UP\"} 0\n",
        "tandem_server_weight{backend=\"web\",server=\"web1\"} 5\n",
        "tandem_backend_servers_up{backend=\"web\"} 1\n",
        "# TYPE tandem_backend_response_time_seconds histogram\n",
        "tandem_backend_response_time_seconds_bucket{backend=\"web\",le=\"0.001\"} 1\n",
        "tandem_backend_response_time_seconds_bucket{backend=\"web\",le=\"0.025\"} 1\n",
        "tandem_backend_response_time_seconds_bucket{backend=\"web\",le=\"0.05\"} 2\n",
        "tandem_backend_response_time_seconds_bucket{backend=\"web\",le=\"+Inf\"} 3\n",
        "tandem_backend_response_time_seconds_count{backend=\"web\"} 3\n",
        "tandem_info{version=\"9.9\",node=\"lb-a\"} 1\n",
        "tandem_config_generation 3\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!strstr(s, want[i]))
            fprintf(stderr, "# missing: %s", want[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(s, want[i]));
    }
    /* Every family is announced once, before its samples. */
    CU_ASSERT_PTR_NULL(strstr(strstr(s, "# TYPE tandem_server_state") + 1,
                              "# TYPE tandem_server_state"));
    free(s);
    evbuffer_free(b);
    runtime_unref(rt);
}

static void test_json_document(void)
{
    struct runtime *rt = make_runtime();
    traffic(rt);
    struct evbuffer *b = evbuffer_new();
    struct json_out j;
    json_init(&j, b);
    stats_json_all(&j, rt, &info);
    char *s = buf_str(b);
    CU_ASSERT_EQUAL(strncmp(s, "{\"info\":{\"name\":\"tandem-proxy\",\"version\":\"9.9\",\"pid\":42,", 56), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"frontends\":[{\"name\":\"www\",\"mode\":\"http\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"name\":\"web2\",\"addr\":\"203.0.113.12:80\",\"state\":\"DRAIN\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"servers_total\":2,\"servers_up\":1,\"weight\":6"));
    CU_ASSERT_EQUAL(s[strlen(s) - 1], '}');
    free(s);
    evbuffer_free(b);
    runtime_unref(rt);
}

static void test_config_stats_section(void)
{
    struct runtime *rt = make_runtime();
    const struct conf_stats *cs = &rt->cfg->stats;
    CU_ASSERT_EQUAL(cs->enabled, 1);
    CU_ASSERT_STRING_EQUAL(cs->user, "admin");
    CU_ASSERT_STRING_EQUAL(cs->password, "s3:cr\"t");
    runtime_unref(rt);

    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = conf_load_proxy_string(
        "frontends = ( { name = \"a\"; bind = \"127.0.0.1:1\"; mode = \"tcp\"; backend = \"b\"; } );\n"
        "backends = ( { name = \"b\"; servers = ( { name = \"s\"; addr = \"127.0.0.1:2\"; } ); } );\n"
        "stats = { bind = \"nowhere\"; auth = { user = \"a:b\"; password = \"x\"; }; };\n",
        "bad.conf", &errs);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_EQUAL(errs.n, 2u);
    conf_errors_free(&errs);
}

static void test_basic_auth(void)
{
    /* "admin:s3cret" and "admin:s3cre" in base64. */
    CU_ASSERT_TRUE(stats_http_auth_ok("Basic YWRtaW46czNjcmV0", "admin", "s3cret"));
    CU_ASSERT_TRUE(stats_http_auth_ok("basic  YWRtaW46czNjcmV0 ", "admin", "s3cret"));
    CU_ASSERT_FALSE(stats_http_auth_ok("Basic YWRtaW46czNjcmU=", "admin", "s3cret"));
    CU_ASSERT_TRUE(stats_http_auth_ok("Basic YWRtaW46czNjcmU=", "admin", "s3cre"));
    CU_ASSERT_FALSE(stats_http_auth_ok("Basic YWRtaW46czNjcmV0", "admin", "s3cretX"));
    CU_ASSERT_FALSE(stats_http_auth_ok("Bearer YWRtaW46czNjcmV0", "admin", "s3cret"));
    CU_ASSERT_FALSE(stats_http_auth_ok("Basic !!!!", "admin", "s3cret"));
    CU_ASSERT_FALSE(stats_http_auth_ok("Basic ", "admin", "s3cret"));
    CU_ASSERT_FALSE(stats_http_auth_ok(NULL, "admin", "s3cret"));
}

/* ---- pure writers ---- */

static void test_prom_escaping(void)
{
    struct evbuffer *b = evbuffer_new();
    struct prom_label l[2] = { { "backend", "a\"b\\c\nd" }, { "server", "" } };
    prom_family(b, "tandem_x_total", "counter", "Help with \\ and\nnewline.");
    prom_sample_u64(b, "tandem_x_total", l, 2, 18446744073709551615ull);
    prom_sample_f64(b, "tandem_y", NULL, 0, 0.5);
    prom_sample_f64(b, "tandem_y", NULL, 0, 1.0 / 0.0);
    char *s = buf_str(b);
    CU_ASSERT_STRING_EQUAL(s,
        "# HELP tandem_x_total Help with \\\\ and\\nnewline.\n"
        "# TYPE tandem_x_total counter\n"
        "tandem_x_total{backend=\"a\\\"b\\\\c\\nd\",server=\"\"} 18446744073709551615\n"
        "tandem_y 0.5\n"
        "tandem_y +Inf\n");
    free(s);
    evbuffer_free(b);
}

static void test_table_alignment(void)
{
    static const char *const h[] = { "name", "state", "req" };
    const char *r1[] = { "web1", "UP", "5" }, *r2[] = { "a-long-name", NULL, "1234" };
    struct ctl_table t;
    CU_ASSERT_EQUAL(ctl_table_init(&t, 3, h), 0);
    ctl_table_add(&t, r1);
    ctl_table_add(&t, r2);
    struct evbuffer *b = evbuffer_new();
    ctl_table_print(&t, b);
    char *s = buf_str(b);
    CU_ASSERT_STRING_EQUAL(s,
        "name         state   req\n"
        "web1         UP        5\n"
        "a-long-name  -      1234\n");
    free(s);
    evbuffer_free(b);
    ctl_table_free(&t);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_prometheus),
    UNIT_TEST(test_json_document),
    UNIT_TEST(test_config_stats_section),
    UNIT_TEST(test_basic_auth),
    UNIT_TEST(test_prom_escaping),
    UNIT_TEST(test_table_alignment),
    { NULL, NULL }
};

int main(void)
{
    return unit_run("stats", tests);
}
