/* test_conf_sync.c - the top-level sync = { ... } section: defaults,
 * values, and the error an operator gets for each wrong one. */
#include "config.h"
#include "unit.h"
#include "conf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define BODY "frontends = ( { name = \"w\"; bind = \"127.0.0.1:8080\"; mode = \"http\"; " \
             "backend = \"b\"; } );\n" \
             "backends = ( { name = \"b\"; servers = ( { name = \"s\"; " \
             "addr = \"127.0.0.1:9001\"; } ); } );\n"

static struct tandem_config *load_sync(const char *group, struct conf_errors *errs)
{
    char text[2048];
    snprintf(text, sizeof(text), BODY "sync = %s;\n", group);
    return conf_load_proxy_string(text, "s.conf", errs);
}

static void test_absent(void)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = conf_load_proxy_string(BODY, "s.conf", &errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->sync.enabled, 0);
    conf_free(cfg);
}

static void test_defaults_and_values(void)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = load_sync("{ listen = \"198.51.100.11:7400\"; "
                                          "peer = \"198.51.100.12:7400\"; "
                                          "psk_file = \"/etc/tandem/sync.key\"; }", &errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const struct conf_sync *y = &cfg->sync;
    CU_ASSERT_EQUAL(y->enabled, 1);
    CU_ASSERT_EQUAL(y->line, 3);
    const struct sockaddr_in *l = (const struct sockaddr_in *)&y->listen.ss;
    CU_ASSERT_EQUAL(ntohs(l->sin_port), 7400);
    CU_ASSERT_STRING_EQUAL(y->psk_file, "/etc/tandem/sync.key");
    CU_ASSERT_EQUAL(y->heartbeat_ms, 200);
    CU_ASSERT_EQUAL(y->timeout_ms, 1000);
    CU_ASSERT_EQUAL(y->reconnect_min_ms, 100);
    CU_ASSERT_EQUAL(y->reconnect_max_ms, 5000);
    CU_ASSERT_EQUAL(y->queue_bytes, 8u << 20);
    CU_ASSERT_EQUAL(y->conn_grace_ms, 30000);
    CU_ASSERT_EQUAL(y->rl_interval_ms, 100);
    CU_ASSERT_EQUAL(y->max_peer_conns, 200000);
    CU_ASSERT_EQUAL(y->ready_wait_ms, 10000);
    conf_free(cfg);

    cfg = load_sync("{ listen = \"[2001:db8::11]:7400\"; peer = \"[2001:db8::12]:7400\"; "
                    "cert = \"/c.pem\"; key = \"/k.pem\"; ca = \"/ca.pem\"; peer_name = \"lb-b\"; "
                    "heartbeat = \"100ms\"; timeout = \"500ms\"; reconnect_min = \"50ms\"; "
                    "reconnect_max = \"2s\"; queue_size = \"1m\"; conn_grace = \"0s\"; "
                    "rate_limit_interval = \"250ms\"; max_peer_conns = 5000; }", &errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    y = &cfg->sync;
    CU_ASSERT_EQUAL(y->listen.ss.ss_family, AF_INET6);
    CU_ASSERT_PTR_NULL(y->psk_file);
    CU_ASSERT_STRING_EQUAL(y->ca, "/ca.pem");
    CU_ASSERT_STRING_EQUAL(y->peer_name, "lb-b");
    CU_ASSERT_EQUAL(y->timeout_ms, 500);
    CU_ASSERT_EQUAL(y->queue_bytes, 1u << 20);
    CU_ASSERT_EQUAL(y->conn_grace_ms, 0);
    CU_ASSERT_EQUAL(y->rl_interval_ms, 250);
    CU_ASSERT_EQUAL(y->max_peer_conns, 5000);
    conf_free(cfg);
}

struct bad {
    const char *group;
    const char *want;                  /* the first message */
};

#define LP "listen = \"198.51.100.11:7400\"; peer = \"198.51.100.12:7400\"; "
#define PSK "psk_file = \"/k\"; "

static const struct bad bad_cases[] = {
    { "{ peer = \"198.51.100.12:7400\"; " PSK "}", "missing required key \"sync.listen\"" },
    { "{ listen = \"198.51.100.11:7400\"; " PSK "}", "missing required key \"sync.peer\"" },
    { "{ " LP "}", "sync: give psk_file, or cert, key and ca (the channel is always "
                   "authenticated)" },
    { "{ " LP PSK "cert = \"/c\"; key = \"/k\"; ca = \"/a\"; }",
      "sync: psk_file and cert/key/ca are exclusive: use one way to authenticate the peer" },
    { "{ " LP "cert = \"/c\"; key = \"/k\"; }", "sync: mutual certificates need all of cert, "
                                                "key and ca" },
    { "{ " LP PSK "peer_name = \"lb-b\"; }", "sync: peer_name is checked against the peer's "
                                              "certificate: it needs cert, key and ca" },
    { "{ " LP PSK "reconnect_min = \"10s\"; }", "sync: reconnect_min (10000 ms) is above "
                                                 "reconnect_max (5000 ms)" },
    { "{ " LP PSK "heartbeat = \"1s\"; }", "sync: timeout (1000 ms) must be at least twice "
                                            "the heartbeat (1000 ms)" },
    { "{ listen = \"198.51.100.11:7400\"; peer = \"198.51.100.11:7400\"; " PSK "}",
      "sync: listen and peer are the same address" },
    { "{ listen = \"198.51.100.11\"; peer = \"198.51.100.12:7400\"; " PSK "}",
      "sync.listen \"198.51.100.11\": " },
    { "{ listen = \"198.51.100.11:0\"; peer = \"198.51.100.12:7400\"; " PSK "}",
      "sync.listen \"198.51.100.11:0\": " },
    { "{ " LP "psk_file = \"relative.key\"; }", "sync.psk_file \"relative.key\" must be an "
                                                 "absolute path" },
    { "{ " LP PSK "queue_size = \"1k\"; }", "sync.queue_size" },
    { "{ " LP PSK "heartbeat = \"1ms\"; }", "sync.heartbeat" },
    { "{ " LP PSK "max_peer_conns = 0; }", "sync.max_peer_conns" },
    { "{ " LP PSK "hearbeat = \"1s\"; }", "unknown key \"sync.hearbeat\" (did you mean "
                                           "\"sync.heartbeat\"?)" },
    { "\"198.51.100.12:7400\"", "sync must be a group { ... }" },
};

static void test_bad(void)
{
    for (unsigned i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        struct conf_errors errs = { 0 };
        struct tandem_config *cfg = load_sync(bad_cases[i].group, &errs);
        CU_ASSERT_PTR_NULL(cfg);
        int found = 0;
        for (unsigned k = 0; k < errs.n; k++)
            if (strstr(errs.msgs[k], bad_cases[i].want) && strncmp(errs.msgs[k], "s.conf:", 7) == 0)
                found = 1;
        if (!found) {
            fprintf(stderr, "# case %u: want \"%s\", got:\n", i, bad_cases[i].want);
            for (unsigned k = 0; k < errs.n; k++)
                fprintf(stderr, "#   %s\n", errs.msgs[k]);
            CU_FAIL("expected error missing");
        }
        conf_free(cfg);
        conf_errors_free(&errs);
    }
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_absent),
    UNIT_TEST(test_defaults_and_values),
    UNIT_TEST(test_bad),
    { 0 },
};

int main(void)
{
    return unit_run("conf_sync", tests);
}
