/* test_conf.c - the config loader: good files load with their values and
 * defaults, and every bad file yields exactly the expected
 * "FILE:LINE: message" lines. The files live in tests/unit/conf/. */
#include "config.h"
#include "unit.h"
#include "conf_expect.h"
#include "conf.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#ifndef CONF_TEST_DIR
#error "CONF_TEST_DIR must name tests/unit/conf"
#endif

static struct tandem_config *load(const char *name, struct conf_errors *errs)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", CONF_TEST_DIR, name);
    return conf_load_proxy(path, errs);
}

static const char *rel(const char *msg) { return conf_expect_rel(CONF_TEST_DIR, msg); }

static void expect_errors(const char *file, const char *const *want, unsigned nwant)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = load(file, &errs);
    CU_ASSERT_PTR_NULL(cfg);
    conf_free(cfg);
    conf_expect_messages(&errs, CONF_TEST_DIR, file, want, nwant);
    conf_errors_free(&errs);
}

static struct tandem_config *load_ok(const char *file)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = load(file, &errs);
    for (unsigned i = 0; i < errs.n; i++)
        fprintf(stderr, "# unexpected: %s\n", errs.msgs[i]);
    CU_ASSERT_EQUAL(errs.n, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    conf_errors_free(&errs);
    return cfg;
}

static int port_of(const struct net_addr *a) { return addr_port((const struct sockaddr *)&a->ss); }

static void test_minimal_defaults(void)
{
    struct tandem_config *cfg = load_ok("good-minimal.conf");
    CU_ASSERT_PTR_NOT_NULL(cfg->node_name);            /* the host name */
    CU_ASSERT_STRING_EQUAL(rel(cfg->path), "good-minimal.conf");
    CU_ASSERT_EQUAL(cfg->global.threads, 0);
    CU_ASSERT_EQUAL(cfg->global.maxconn, 20000);
    CU_ASSERT_EQUAL(cfg->global.grace_ms, 10000);
    CU_ASSERT_EQUAL(cfg->global.log_target, LOGDEST_STDERR);
    CU_ASSERT_EQUAL(cfg->global.log_level, 3);          /* info */
    CU_ASSERT_EQUAL(cfg->global.log_facility, LOG_DAEMON);
    CU_ASSERT_PTR_NULL(cfg->global.access_log);
    CU_ASSERT_PTR_NULL(cfg->global.status_socket);

    CU_ASSERT_EQUAL_FATAL(cfg->nfrontends, 1);
    const struct conf_frontend *fe = &cfg->frontends[0];
    CU_ASSERT_STRING_EQUAL(fe->name, "www");
    CU_ASSERT_EQUAL(fe->mode, MODE_HTTP);
    CU_ASSERT_EQUAL_FATAL(fe->nbinds, 1);
    CU_ASSERT_EQUAL(port_of(&fe->binds[0]), 8080);
    CU_ASSERT_EQUAL(fe->maxconn, 10000);
    CU_ASSERT_FALSE(fe->accept_proxy);
    CU_ASSERT_TRUE(fe->add_xff);
    CU_ASSERT_FALSE(fe->request_id);
    CU_ASSERT_FALSE(fe->access_log);                    /* no global access_log */
    CU_ASSERT_EQUAL(fe->nroutes, 0);
    CU_ASSERT_STRING_EQUAL(fe->default_backend, "web");
    CU_ASSERT_EQUAL(fe->default_backend_index, 0);
    CU_ASSERT_EQUAL(fe->client_timeout_ms, 30000);
    CU_ASSERT_EQUAL(fe->http_request_timeout_ms, 10000);
    CU_ASSERT_EQUAL(fe->http_keepalive_timeout_ms, 10000);
    CU_ASSERT_EQUAL(fe->request_timeout_ms, 0);
    CU_ASSERT_EQUAL(fe->max_request_line, 8192);
    CU_ASSERT_EQUAL(fe->max_header_size, 32768);
    CU_ASSERT_EQUAL(fe->max_headers, 100);
    CU_ASSERT_EQUAL(fe->max_body, 0);
    CU_ASSERT_EQUAL(fe->udp_flow_timeout_ms, 30000);
    CU_ASSERT_EQUAL(fe->udp_max_flows, 65536);
    CU_ASSERT_EQUAL(fe->line, 2);

    CU_ASSERT_EQUAL_FATAL(cfg->nbackends, 1);
    const struct conf_backend *b = &cfg->backends[0];
    CU_ASSERT_EQUAL(b->algo, LB_WRR);
    CU_ASSERT_EQUAL(b->hash_key.kind, HASH_KEY_SOURCE);
    CU_ASSERT_PTR_NULL(b->hash_key.name);
    CU_ASSERT_EQUAL(b->retries, 2);
    CU_ASSERT_EQUAL(b->maxqueue, 128);
    CU_ASSERT_EQUAL(b->connect_timeout_ms, 5000);
    CU_ASSERT_EQUAL(b->server_timeout_ms, 30000);
    CU_ASSERT_EQUAL(b->queue_timeout_ms, 5000);
    CU_ASSERT_EQUAL(b->tunnel_timeout_ms, 3600000);
    CU_ASSERT_EQUAL(b->keepalive_pool, 1024);
    CU_ASSERT_EQUAL(b->keepalive_idle_ms, 60000);
    CU_ASSERT_EQUAL_FATAL(b->nservers, 1);
    CU_ASSERT_STRING_EQUAL(b->servers[0].name, "web1");
    CU_ASSERT_EQUAL(b->servers[0].weight, 1);
    CU_ASSERT_EQUAL(b->servers[0].maxconn, 0);
    CU_ASSERT_EQUAL(b->servers[0].send_proxy, PROXY_PROTO_NONE);
    CU_ASSERT_EQUAL(port_of(&b->servers[0].addr), 9001);
    conf_free(cfg);
}

static void test_full_global(void)
{
    struct tandem_config *cfg = load_ok("good-full.conf");
    CU_ASSERT_STRING_EQUAL(cfg->node_name, "lb-a");
    CU_ASSERT_EQUAL(cfg->global.threads, 2);
    CU_ASSERT_EQUAL(cfg->global.maxconn, 30000);
    CU_ASSERT_EQUAL(cfg->global.grace_ms, 15000);
    CU_ASSERT_STRING_EQUAL(cfg->global.status_socket, "/run/tandem/proxy.sock");
    CU_ASSERT_STRING_EQUAL(cfg->global.access_log, "/var/log/tandem/access.log");
    CU_ASSERT_EQUAL(cfg->global.log_target, LOGDEST_SYSLOG);
    CU_ASSERT_EQUAL(cfg->global.log_level, 4);          /* debug */
    CU_ASSERT_EQUAL(cfg->global.log_facility, LOG_LOCAL3);
    conf_free(cfg);
}

static void test_full_frontends(void)
{
    struct tandem_config *cfg = load_ok("good-full.conf");
    CU_ASSERT_EQUAL_FATAL(cfg->nfrontends, 3);
    const struct conf_frontend *fe = &cfg->frontends[0];
    CU_ASSERT_EQUAL_FATAL(fe->nbinds, 2);
    CU_ASSERT_EQUAL(fe->binds[0].ss.ss_family, AF_INET);
    CU_ASSERT_EQUAL(fe->binds[1].ss.ss_family, AF_INET6);
    CU_ASSERT_EQUAL(port_of(&fe->binds[1]), 80);
    CU_ASSERT_EQUAL(fe->maxconn, 5000);
    CU_ASSERT_TRUE(fe->accept_proxy);
    CU_ASSERT_FALSE(fe->add_xff);
    CU_ASSERT_TRUE(fe->request_id);
    CU_ASSERT_FALSE(fe->access_log);                    /* off although global is set */
    CU_ASSERT_EQUAL(fe->client_timeout_ms, 20000);
    CU_ASSERT_EQUAL(fe->http_request_timeout_ms, 5000);
    CU_ASSERT_EQUAL(fe->http_keepalive_timeout_ms, 3000);
    CU_ASSERT_EQUAL(fe->request_timeout_ms, 60000);
    CU_ASSERT_EQUAL(fe->max_request_line, 4096);
    CU_ASSERT_EQUAL(fe->max_header_size, 16384);
    CU_ASSERT_EQUAL(fe->max_headers, 50);
    CU_ASSERT_EQUAL(fe->max_body, 10 << 20);
    CU_ASSERT_EQUAL(fe->default_backend_index, 0);

    const struct conf_frontend *db = &cfg->frontends[1];
    CU_ASSERT_EQUAL(db->mode, MODE_TCP);
    CU_ASSERT_TRUE(db->accept_proxy);
    CU_ASSERT_TRUE(db->access_log);                     /* global access_log is set */
    CU_ASSERT_EQUAL(db->client_timeout_ms, 3600000);
    CU_ASSERT_EQUAL(db->default_backend_index, 3);

    const struct conf_frontend *dns = &cfg->frontends[2];
    CU_ASSERT_EQUAL(dns->mode, MODE_UDP);
    CU_ASSERT_EQUAL(dns->udp_flow_timeout_ms, 10000);
    CU_ASSERT_EQUAL(dns->udp_max_flows, 1024);
    CU_ASSERT_EQUAL(dns->default_backend_index, 4);
    conf_free(cfg);
}

static void test_full_routes(void)
{
    struct tandem_config *cfg = load_ok("good-full.conf");
    const struct conf_frontend *fe = &cfg->frontends[0];
    CU_ASSERT_EQUAL_FATAL(fe->nroutes, 5);
    const struct conf_route *r = fe->routes;

    CU_ASSERT_EQUAL_FATAL(r[0].nconds, 2);
    CU_ASSERT_EQUAL(r[0].conds[0].kind, ROUTE_HOST);
    CU_ASSERT_STRING_EQUAL(r[0].conds[0].value, "*.example.com");   /* lower-cased */
    CU_ASSERT_EQUAL(r[0].conds[1].kind, ROUTE_PATH_PREFIX);
    CU_ASSERT_STRING_EQUAL(r[0].conds[1].value, "/api/");
    CU_ASSERT_STRING_EQUAL(r[0].backend, "api");
    CU_ASSERT_EQUAL(r[0].backend_index, 1);

    CU_ASSERT_EQUAL_FATAL(r[1].nconds, 1);
    CU_ASSERT_EQUAL(r[1].conds[0].kind, ROUTE_HEADER);
    CU_ASSERT_STRING_EQUAL(r[1].conds[0].name, "X-Env");
    CU_ASSERT_STRING_EQUAL(r[1].conds[0].value, "canary");
    CU_ASSERT_EQUAL(r[1].backend_index, 2);

    CU_ASSERT_EQUAL_FATAL(r[2].nconds, 1);
    CU_ASSERT_EQUAL(r[2].conds[0].kind, ROUTE_COOKIE);
    CU_ASSERT_STRING_EQUAL(r[2].conds[0].name, "beta");
    CU_ASSERT_PTR_NULL(r[2].conds[0].value);                       /* present */
    CU_ASSERT_EQUAL(r[2].backend_index, 2);

    CU_ASSERT_EQUAL_FATAL(r[3].nconds, 1);
    CU_ASSERT_EQUAL(r[3].conds[0].kind, ROUTE_QUERY);
    CU_ASSERT_STRING_EQUAL(r[3].conds[0].value, "2");
    CU_ASSERT_EQUAL(r[3].backend_index, 1);

    CU_ASSERT_EQUAL_FATAL(r[4].nconds, 2);
    CU_ASSERT_EQUAL(r[4].conds[0].kind, ROUTE_PATH);
    CU_ASSERT_STRING_EQUAL(r[4].conds[0].value, "/upload");
    CU_ASSERT_EQUAL(r[4].conds[1].kind, ROUTE_METHOD);
    CU_ASSERT_STRING_EQUAL(r[4].conds[1].value, "POST");
    CU_ASSERT_EQUAL(r[4].backend_index, 0);
    CU_ASSERT_TRUE(r[4].line > r[0].line);
    conf_free(cfg);
}

static void test_full_backends(void)
{
    struct tandem_config *cfg = load_ok("good-full.conf");
    CU_ASSERT_EQUAL_FATAL(cfg->nbackends, 5);
    const struct conf_backend *b = &cfg->backends[0];
    CU_ASSERT_EQUAL(b->algo, LB_WRR);
    CU_ASSERT_EQUAL(b->retries, 3);
    CU_ASSERT_EQUAL(b->maxqueue, 64);
    CU_ASSERT_EQUAL(b->connect_timeout_ms, 2000);
    CU_ASSERT_EQUAL(b->server_timeout_ms, 20000);
    CU_ASSERT_EQUAL(b->queue_timeout_ms, 1000);
    CU_ASSERT_EQUAL(b->tunnel_timeout_ms, 7200000);
    CU_ASSERT_EQUAL(b->keepalive_pool, 32);
    CU_ASSERT_EQUAL(b->keepalive_idle_ms, 30000);
    CU_ASSERT_EQUAL_FATAL(b->nservers, 2);
    CU_ASSERT_EQUAL(b->servers[0].weight, 5);
    CU_ASSERT_EQUAL(b->servers[0].maxconn, 100);
    CU_ASSERT_EQUAL(b->servers[0].send_proxy, PROXY_PROTO_V2);
    CU_ASSERT_EQUAL(b->servers[1].weight, 0);
    CU_ASSERT_EQUAL(b->servers[1].send_proxy, PROXY_PROTO_V1);
    CU_ASSERT_EQUAL(b->servers[1].addr.ss.ss_family, AF_INET6);
    CU_ASSERT_TRUE(b->servers[1].line > b->servers[0].line);

    CU_ASSERT_EQUAL(cfg->backends[1].algo, LB_HASH);
    CU_ASSERT_EQUAL(cfg->backends[1].hash_key.kind, HASH_KEY_HEADER);
    CU_ASSERT_STRING_EQUAL(cfg->backends[1].hash_key.name, "X-User");
    CU_ASSERT_EQUAL(cfg->backends[2].algo, LB_P2C);
    CU_ASSERT_EQUAL(cfg->backends[3].algo, LB_LEASTCONN);
    CU_ASSERT_EQUAL(cfg->backends[4].algo, LB_SOURCE);
    CU_ASSERT_EQUAL(conf_backend_index(cfg, "dns"), 4);
    CU_ASSERT_EQUAL(conf_backend_index(cfg, "nope"), -1);
    conf_free(cfg);
}

static void test_include(void)
{
    struct tandem_config *cfg = load_ok("good-include.conf");
    CU_ASSERT_EQUAL(cfg->nbackends, 1);
    CU_ASSERT_EQUAL(cfg->frontends[0].default_backend_index, 0);
    conf_free(cfg);
}

#define MAX_EXPECTED 8
struct bad_case {
    const char *file;
    const char *want[MAX_EXPECTED];
};

/* One mistake per file (bad-name-chars.conf names the bad name twice). */
static const struct bad_case bad_cases[] = {
    { "bad-access-log.conf", {
        "bad-access-log.conf:7: frontend \"www\": access_log is on but global.access_log does not say where to write",
    } },
    { "bad-addr-ipv6.conf", {
        "bad-addr-ipv6.conf:5: frontend \"www\": bind \"2001:db8::1:80\": IPv6 address must be written as [addr]:port",
    } },
    { "bad-addr-name.conf", {
        "bad-addr-name.conf:14: backend \"web\": server \"web1\": addr \"web1.example.com:80\": not a numeric IPv4 or IPv6 address",
    } },
    { "bad-addr-port.conf", {
        "bad-addr-port.conf:14: backend \"web\": server \"web1\": addr \"203.0.113.21\": missing port (write addr:port)",
    } },
    { "bad-algorithm.conf", {
        "bad-algorithm.conf:13: backend \"web\": algorithm \"leastcon\" is unknown (did you mean \"leastconn\"?)",
    } },
    { "bad-default-backend.conf", {
        "bad-default-backend.conf:7: frontend \"www\": backend \"api\" does not exist",
    } },
    { "bad-dup-backend.conf", {
        "bad-dup-backend.conf:12: backend \"web\": name \"web\" is already used by the backend on line 11",
    } },
    { "bad-dup-bind.conf", {
        "bad-dup-bind.conf:4: frontend \"raw\": bind 127.0.0.1:8080 is already used by frontend \"www\" (line 3)",
    } },
    { "bad-dup-frontend.conf", {
        "bad-dup-frontend.conf:4: frontend \"www\": name \"www\" is already used by the frontend on line 3",
    } },
    { "bad-dup-key.conf", {
        "bad-dup-key.conf:4: duplicate setting name",
    } },
    { "bad-dup-server.conf", {
        "bad-dup-server.conf:13: backend \"web\": server \"a\": name \"a\" is already used by the server on line 12",
    } },
    { "bad-duration-int.conf", {
        "bad-duration-int.conf:3: global.grace must be a duration string such as \"5s\"",
    } },
    { "bad-duration-range.conf", {
        "bad-duration-range.conf:13: backend \"web\": timeouts.connect \"0s\" is out of range (1ms-7d)",
    } },
    { "bad-duration.conf", {
        "bad-duration.conf:13: backend \"web\": timeouts.connect \"5x\": unknown duration unit (use ms, s, m, h or d)",
    } },
    { "bad-hash-key-algo.conf", {
        "bad-hash-key-algo.conf:14: backend \"web\": hash_key applies only to algorithm \"hash\" (this backend uses \"leastconn\")",
    } },
    { "bad-hash-key-value.conf", {
        "bad-hash-key-value.conf:14: backend \"web\": hash_key \"header:\": the header name must be 1-64 characters of A-Z a-z 0-9 . _ -",
    } },
    { "bad-http-no-backend.conf", {
        "bad-http-no-backend.conf:3: frontend \"www\": mode http needs routes or a default backend",
    } },
    { "bad-later-feature.conf", {
        "bad-later-feature.conf:7: frontend \"www\": tls.certs must hold 1-1024 certificates",
    } },
    { "bad-limits-order.conf", {
        "bad-limits-order.conf:7: frontend \"www\": limits.max_header_size (8192) is smaller than limits.max_request_line (16384)",
    } },
    { "bad-log-level.conf", {
        "bad-log-level.conf:3: global.log.level \"verbose\" is unknown (use error, warning, notice, info or debug)",
    } },
    { "bad-max-headers.conf", {
        "bad-max-headers.conf:7: frontend \"www\": limits.max_headers 2000 is out of range (1-1000)",
    } },
    { "bad-maxconn.conf", {
        "bad-maxconn.conf:7: frontend \"www\": maxconn 0 is out of range (1-10000000)",
    } },
    { "bad-missing-addr.conf", {
        "bad-missing-addr.conf:14: backend \"web\": server \"web1\": missing required key \"addr\"",
    } },
    { "bad-missing-bind.conf", {
        "bad-missing-bind.conf:3: frontend \"www\": missing required key \"bind\"",
    } },
    { "bad-missing-frontends.conf", {
        "bad-missing-frontends.conf: missing required key \"frontends\"",
    } },
    { "bad-missing-mode.conf", {
        "bad-missing-mode.conf:3: frontend \"www\": missing required key \"mode\"",
    } },
    { "bad-missing-name.conf", {
        "bad-missing-name.conf:14: backend \"web\": server #1: missing required key \"name\"",
    } },
    { "bad-missing-servers.conf", {
        "bad-missing-servers.conf:11: backend \"web\": missing required key \"servers\"",
    } },
    { "bad-mode.conf", {
        "bad-mode.conf:6: frontend \"www\": mode \"smtp\" is unknown (use http, tcp, udp)",
    } },
    { "bad-name-chars.conf", {
        "bad-name-chars.conf:7: frontend \"www\": backend \"we b\" must be 1-64 characters of A-Z a-z 0-9 . _ -",
        "bad-name-chars.conf:12: backend #1: name \"we b\" must be 1-64 characters of A-Z a-z 0-9 . _ -",
    } },
    { "bad-no-servers.conf", {
        "bad-no-servers.conf:13: backend \"web\": servers is empty: a backend needs at least one server",
    } },
    { "bad-port-zero.conf", {
        "bad-port-zero.conf:5: frontend \"www\": bind \"*:0\": port 0 is not allowed",
    } },
    { "bad-route-backend.conf", {
        "bad-route-backend.conf:8: frontend \"www\": route 1: backend \"webb\" does not exist (did you mean \"web\"?)",
    } },
    { "bad-route-header.conf", {
        "bad-route-header.conf:8: frontend \"www\": route 1: header.name \"X Env\" must be a token (letters, digits, -, _ ...)",
    } },
    { "bad-route-host.conf", {
        "bad-route-host.conf:8: frontend \"www\": route 1: host \"example.com:8080\" must be a host name without a port, optionally starting with \"*.\"",
    } },
    { "bad-route-path.conf", {
        "bad-route-path.conf:8: frontend \"www\": route 1: path_prefix \"api/\" must start with \"/\" and contain no spaces or control characters",
    } },
    { "bad-route-unreachable.conf", {
        "bad-route-unreachable.conf:9: frontend \"www\": route 2: can never match: the route on line 8 matches every request",
    } },
    { "bad-send-proxy.conf", {
        "bad-send-proxy.conf:14: backend \"web\": server \"web1\": send_proxy \"v3\" is unknown (use none, v1, v2)",
    } },
    { "bad-server-wildcard.conf", {
        "bad-server-wildcard.conf:14: backend \"web\": server \"web1\": addr \"0.0.0.0:80\" is a wildcard, not a server address",
    } },
    { "bad-size-range.conf", {
        "bad-size-range.conf:7: frontend \"www\": limits.max_request_line \"2m\" is out of range (64-1m)",
    } },
    { "bad-size.conf", {
        "bad-size.conf:7: frontend \"www\": limits.max_body \"10q\": unknown size unit (use k, m or g)",
    } },
    { "bad-status-socket.conf", {
        "bad-status-socket.conf:3: global.status_socket \"proxy.sock\" must be an absolute path",
    } },
    { "bad-syntax.conf", {
        "bad-syntax.conf:5: syntax error",
    } },
    { "bad-tcp-no-backend.conf", {
        "bad-tcp-no-backend.conf:3: frontend \"db\": mode tcp needs a backend",
    } },
    { "bad-tcp-routes.conf", {
        "bad-tcp-routes.conf:7: frontend \"www\": route 1: path applies only to mode http",
        "bad-tcp-routes.conf:8: frontend \"www\": route 2: sni \"a.example:443\" must be a server name, optionally starting with \"*.\"",
        "bad-tcp-routes.conf:16: frontend \"web\": route 1: sni applies only to mode tcp",
    } },
    { "bad-threads.conf", {
        "bad-threads.conf:3: global.threads 2000 is out of range (0-1024)",
    } },
    { "bad-type-bool.conf", {
        "bad-type-bool.conf:7: frontend \"www\": add_xff must be true or false",
    } },
    { "bad-type-int.conf", {
        "bad-type-int.conf:7: frontend \"www\": maxconn must be an integer",
    } },
    { "bad-type-list.conf", {
        "bad-type-list.conf:2: frontends must be a list ( { ... }, ... ) of frontends",
    } },
    { "bad-udp-in-http.conf", {
        "bad-udp-in-http.conf:7: frontend \"www\": udp applies only to mode udp",
    } },
    { "bad-unknown-key.conf", {
        "bad-unknown-key.conf:13: backend \"web\": unknown key \"algoritm\" (did you mean \"algorithm\"?)",
    } },
    { "bad-unknown-nested.conf", {
        "bad-unknown-nested.conf:13: backend \"web\": unknown key \"timeouts.conect\" (did you mean \"timeouts.connect\"?)",
    } },
    { "bad-unknown-top.conf", {
        "bad-unknown-top.conf:2: unknown key \"globl\" (did you mean \"global\"?)",
    } },
    { "bad-vrrp-type.conf", {
        "bad-vrrp-type.conf:2: vrrp must be a group { ... }",
    } },
    { "bad-weight-negative.conf", {
        "bad-weight-negative.conf:14: backend \"web\": server \"web1\": weight -1 is out of range (0-256)",
    } },
    { "bad-weight.conf", {
        "bad-weight.conf:14: backend \"web\": server \"web1\": weight 300 is out of range (0-256)",
    } },
};

static void test_bad_files(void)
{
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        unsigned n = 0;
        while (n < MAX_EXPECTED && bad_cases[i].want[n])
            n++;
        expect_errors(bad_cases[i].file, bad_cases[i].want, n);
    }
}

/* Loading goes on after a problem: every one is reported, in line order. */
static void test_all_errors_reported(void)
{
    static const char *const want[] = {
        "bad-multi.conf:3: global.threads 5000 is out of range (0-1024)",
        "bad-multi.conf:10: frontend \"www\": route 1: backend \"nope\" does not exist",
        "bad-multi.conf:12: frontend \"www\": missing required key \"tls.certs\"",
        "bad-multi.conf:18: backend \"web\": unknown key \"algoritm\" (did you mean \"algorithm\"?)",
        "bad-multi.conf:20: backend \"web\": server \"web1\": addr \"127.0.0.1\": missing port (write addr:port)",
        "bad-multi.conf:20: backend \"web\": server \"web1\": weight 300 is out of range (0-256)",
    };
    expect_errors("bad-multi.conf", want, sizeof(want) / sizeof(want[0]));
}

static void test_missing_file(void)
{
    static const char *const want[] = { "no-such.conf: cannot open: No such file or directory" };
    expect_errors("no-such.conf", want, 1);
}

static void test_from_string(void)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = conf_load_proxy_string(
        "frontends = ( { name = \"t\"; bind = \"[::1]:7000\"; mode = \"tcp\"; backend = \"b\"; } );\n"
        "backends = ( { name = \"b\"; algorithm = \"power_of_two\";\n"
        "               servers = ( { name = \"s\"; addr = \"[::1]:7001\"; } ); } );\n",
        "inline.conf", &errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->backends[0].algo, LB_P2C);
    conf_free(cfg);

    cfg = conf_load_proxy_string("frontends = (\n  { name = 1; } );\n", "inline.conf", &errs);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_EQUAL_FATAL(errs.n, 4);
    CU_ASSERT_STRING_EQUAL(errs.msgs[0], "inline.conf: missing required key \"backends\"");
    CU_ASSERT_STRING_EQUAL(errs.msgs[1], "inline.conf:2: frontend #1: name must be a string");
    CU_ASSERT_STRING_EQUAL(errs.msgs[2], "inline.conf:2: frontend #1: missing required key \"mode\"");
    CU_ASSERT_STRING_EQUAL(errs.msgs[3], "inline.conf:2: frontend #1: missing required key \"bind\"");
    conf_errors_free(&errs);
    CU_ASSERT_EQUAL(errs.n, 0);
}

/* Mode tcp routes by the ClientHello's server name, stored lower-cased. */
static void test_tcp_sni_routes(void)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = conf_load_proxy_string(
        "frontends = ( { name = \"t\"; bind = \"127.0.0.1:7000\"; mode = \"tcp\";\n"
        "  routes = ( { sni = \"WWW.example.com\"; backend = \"a\"; },\n"
        "             { sni = \"*.example.org\"; backend = \"b\"; } ); backend = \"b\"; } );\n"
        "backends = ( { name = \"a\"; servers = ( { name = \"s\"; addr = \"127.0.0.1:7001\"; } ); },\n"
        "             { name = \"b\"; servers = ( { name = \"s\"; addr = \"127.0.0.1:7002\"; } ); } );\n",
        "inline.conf", &errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const struct conf_frontend *fe = &cfg->frontends[0];
    CU_ASSERT_EQUAL_FATAL(fe->nroutes, 2);
    CU_ASSERT_EQUAL_FATAL(fe->routes[0].nconds, 1);
    CU_ASSERT_EQUAL(fe->routes[0].conds[0].kind, ROUTE_SNI);
    CU_ASSERT_STRING_EQUAL(fe->routes[0].conds[0].value, "www.example.com");
    CU_ASSERT_EQUAL(fe->routes[0].backend_index, 0);
    CU_ASSERT_STRING_EQUAL(fe->routes[1].conds[0].value, "*.example.org");
    CU_ASSERT_EQUAL(fe->routes[1].backend_index, 1);
    conf_free(cfg);
    conf_errors_free(&errs);
}

static void test_names(void)
{
    static const struct { const char *name; enum lb_algo algo; } aliases[] = {
        { "roundrobin", LB_ROUNDROBIN }, { "wrr", LB_WRR }, { "weighted_roundrobin", LB_WRR },
        { "leastconn", LB_LEASTCONN }, { "least_conn", LB_LEASTCONN },
        { "weighted_leastconn", LB_WLEASTCONN }, { "wleastconn", LB_WLEASTCONN },
        { "source", LB_SOURCE }, { "ip_hash", LB_SOURCE }, { "hash", LB_HASH },
        { "consistent_hash", LB_HASH }, { "maglev", LB_HASH }, { "leasttime", LB_LEASTTIME },
        { "least_time", LB_LEASTTIME }, { "random", LB_RANDOM }, { "p2c", LB_P2C },
        { "random2", LB_P2C }, { "power_of_two", LB_P2C },
    };
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        CU_ASSERT_EQUAL(conf_algo_from_name(aliases[i].name), (int)aliases[i].algo);
    CU_ASSERT_EQUAL(conf_algo_from_name("fastest"), -1);
    static const char *const canonical[LB_ALGO_COUNT] = {
        "roundrobin", "wrr", "leastconn", "weighted_leastconn", "source", "hash",
        "leasttime", "random", "p2c",
    };
    for (int a = 0; a < LB_ALGO_COUNT; a++)
        CU_ASSERT_STRING_EQUAL(conf_algo_name((enum lb_algo)a), canonical[a]);
    CU_ASSERT_STRING_EQUAL(conf_mode_name(MODE_HTTP), "http");
    CU_ASSERT_STRING_EQUAL(conf_mode_name(MODE_TCP), "tcp");
    CU_ASSERT_STRING_EQUAL(conf_mode_name(MODE_UDP), "udp");
}

static void test_errors_add(void)
{
    struct conf_errors errs = { 0 };
    conf_errors_add(&errs, "a.conf", 7, "value %d", 42);
    conf_errors_add(&errs, "a.conf", 0, "no line");
    CU_ASSERT_EQUAL_FATAL(errs.n, 2);
    CU_ASSERT_STRING_EQUAL(errs.msgs[0], "a.conf:7: value 42");
    CU_ASSERT_STRING_EQUAL(errs.msgs[1], "a.conf: no line");
    conf_errors_free(&errs);
    conf_free(NULL);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_minimal_defaults), UNIT_TEST(test_full_global),
    UNIT_TEST(test_full_frontends), UNIT_TEST(test_full_routes),
    UNIT_TEST(test_full_backends), UNIT_TEST(test_include),
    UNIT_TEST(test_bad_files), UNIT_TEST(test_all_errors_reported),
    UNIT_TEST(test_missing_file), UNIT_TEST(test_from_string), UNIT_TEST(test_tcp_sni_routes),
    UNIT_TEST(test_names), UNIT_TEST(test_errors_add),
    { NULL, NULL },
};

int main(void) { return unit_run("conf", tests); }
