/* test_route.c - first-match routing and hash keys. */
#include "config.h"
#include "unit.h"
#include "route.h"

#include <string.h>

#define NHDRS 32

static const struct http_limits lim = { 8192, 32768, NHDRS };
static struct http_hdr hdrs[NHDRS];
static struct http_req req;

static void parse(const char *s)
{
    struct http_error err;
    req.hdrs = hdrs;
    req.hdrs_cap = NHDRS;
    CU_ASSERT_EQUAL_FATAL(http_parse_request(s, strlen(s), &lim, &req, &err), HTTP_PARSE_OK);
}

/* A frontend with one route holding one condition, backend 7, default dflt. */
static struct conf_route_cond cond1;
static struct conf_route route1;
static struct conf_frontend fe1;

static int one(enum route_cond_kind kind, char *name, char *value, const char *request)
{
    cond1 = (struct conf_route_cond){ kind, name, value };
    route1 = (struct conf_route){ .conds = &cond1, .nconds = 1, .backend_index = 7 };
    fe1 = (struct conf_frontend){ .routes = &route1, .nroutes = 1, .default_backend_index = -1 };
    parse(request);
    return route_select(&fe1, &req) == 7;
}

static void test_host(void)
{
    CU_ASSERT(one(ROUTE_HOST, NULL, "www.example.com", "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"));
    CU_ASSERT(one(ROUTE_HOST, NULL, "www.example.com", "GET / HTTP/1.1\r\nHost: WWW.Example.COM\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_HOST, NULL, "www.example.com", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_HOST, NULL, "www.example.com", "GET / HTTP/1.0\r\n\r\n"));
}

static void test_host_with_port(void)
{
    CU_ASSERT(one(ROUTE_HOST, NULL, "www.example.com", "GET / HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n"));
    CU_ASSERT(one(ROUTE_HOST, NULL, "www.example.com", "GET / HTTP/1.1\r\nHost: www.example.com.\r\n\r\n"));
    CU_ASSERT(one(ROUTE_HOST, NULL, "www.example.com",
                  "GET http://www.example.com:81/ HTTP/1.1\r\nHost: other\r\n\r\n"));
}

static void test_host_wildcard(void)
{
    CU_ASSERT(one(ROUTE_HOST, NULL, "*.example.com", "GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n"));
    CU_ASSERT(one(ROUTE_HOST, NULL, "*.example.com", "GET / HTTP/1.1\r\nHost: a.b.Example.com:80\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_HOST, NULL, "*.example.com", "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_HOST, NULL, "*.example.com", "GET / HTTP/1.1\r\nHost: .example.com\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_HOST, NULL, "*.example.com", "GET / HTTP/1.1\r\nHost: badexample.com\r\n\r\n"));
}

static void test_path_prefix_and_exact(void)
{
    CU_ASSERT(one(ROUTE_PATH_PREFIX, NULL, "/api/", "GET /api/v1?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_PATH_PREFIX, NULL, "/api/", "GET /api HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_PATH_PREFIX, NULL, "/api/", "GET /API/ HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(one(ROUTE_PATH, NULL, "/exact", "GET /exact?q HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_PATH, NULL, "/exact", "GET /exact/ HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_PATH, NULL, "/exact", "GET /exac HTTP/1.1\r\nHost: h\r\n\r\n"));
}

static void test_method(void)
{
    CU_ASSERT(one(ROUTE_METHOD, NULL, "POST", "POST / HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_METHOD, NULL, "POST", "GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_METHOD, NULL, "POST", "POSTX / HTTP/1.1\r\nHost: h\r\n\r\n"));
}

static void test_header(void)
{
    CU_ASSERT(one(ROUTE_HEADER, "X-Env", "canary", "GET / HTTP/1.1\r\nHost: h\r\nx-env: canary\r\n\r\n"));
    CU_ASSERT(one(ROUTE_HEADER, "X-Env", "canary",
                  "GET / HTTP/1.1\r\nHost: h\r\nX-Env: prod\r\nX-Env: canary\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_HEADER, "X-Env", "canary", "GET / HTTP/1.1\r\nHost: h\r\nX-Env: Canary\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_HEADER, "X-Env", "canary", "GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
}

static void test_header_present(void)
{
    CU_ASSERT(one(ROUTE_HEADER, "X-Debug", NULL, "GET / HTTP/1.1\r\nHost: h\r\nX-Debug:\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_HEADER, "X-Debug", NULL, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
}

static void test_cookie(void)
{
    CU_ASSERT(one(ROUTE_COOKIE, "beta", "1", "GET / HTTP/1.1\r\nHost: h\r\nCookie: a=2; beta=1\r\n\r\n"));
    CU_ASSERT(one(ROUTE_COOKIE, "beta", "1",
                  "GET / HTTP/1.1\r\nHost: h\r\nCookie: a=2\r\nCookie: beta=1\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_COOKIE, "beta", "1", "GET / HTTP/1.1\r\nHost: h\r\nCookie: beta=10\r\n\r\n"));
    CU_ASSERT(one(ROUTE_COOKIE, "beta", NULL, "GET / HTTP/1.1\r\nHost: h\r\nCookie: beta=\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_COOKIE, "beta", NULL, "GET / HTTP/1.1\r\nHost: h\r\nCookie: xbeta=1\r\n\r\n"));
}

static void test_query(void)
{
    CU_ASSERT(one(ROUTE_QUERY, "v", "2", "GET /p?a=1&v=2 HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_QUERY, "v", "2", "GET /p?v=3 HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(one(ROUTE_QUERY, "debug", NULL, "GET /p?debug HTTP/1.1\r\nHost: h\r\n\r\n"));
    CU_ASSERT(!one(ROUTE_QUERY, "debug", NULL, "GET /p HTTP/1.1\r\nHost: h\r\n\r\n"));
}

/* Two routes that both match: the first wins; AND of conditions; default. */
static void test_order_and_default(void)
{
    struct conf_route_cond api[2] = {
        { ROUTE_PATH_PREFIX, NULL, "/api/" }, { ROUTE_METHOD, NULL, "POST" },
    };
    struct conf_route_cond host = { ROUTE_HOST, NULL, "*.example.com" };
    struct conf_route routes[3] = {
        { .conds = api, .nconds = 2, .backend_index = 1 },
        { .conds = &host, .nconds = 1, .backend_index = 2 },
        { .conds = &host, .nconds = 1, .backend_index = 3 },
    };
    struct conf_frontend fe = { .routes = routes, .nroutes = 3, .default_backend_index = 0 };
    parse("POST /api/x HTTP/1.1\r\nHost: a.example.com\r\n\r\n");
    CU_ASSERT_EQUAL(route_select(&fe, &req), 1);
    parse("GET /api/x HTTP/1.1\r\nHost: a.example.com\r\n\r\n");
    CU_ASSERT_EQUAL(route_select(&fe, &req), 2);
    parse("GET /api/x HTTP/1.1\r\nHost: other\r\n\r\n");
    CU_ASSERT_EQUAL(route_select(&fe, &req), 0);
    fe.default_backend_index = -1;
    CU_ASSERT_EQUAL(route_select(&fe, &req), -1);
    /* a route with no condition matches everything */
    routes[1].nconds = 0;
    CU_ASSERT_EQUAL(route_select(&fe, &req), 2);
}

static void test_hash_keys(void)
{
    const char *k;
    size_t n;
    struct hash_key_spec uri = { HASH_KEY_URI, NULL };
    struct hash_key_spec hdr = { HASH_KEY_HEADER, "X-User" };
    struct hash_key_spec ck = { HASH_KEY_COOKIE, "sid" };
    struct hash_key_spec src = { HASH_KEY_SOURCE, NULL };
    parse("GET /a/b?c=1 HTTP/1.1\r\nHost: h\r\nX-User: u1\r\nCookie: sid=s9\r\n\r\n");
    CU_ASSERT_EQUAL(route_hash_key(&uri, &req, &k, &n), 1);
    CU_ASSERT(n == 8 && memcmp(k, "/a/b?c=1", 8) == 0);
    CU_ASSERT_EQUAL(route_hash_key(&hdr, &req, &k, &n), 1);
    CU_ASSERT(n == 2 && memcmp(k, "u1", 2) == 0);
    CU_ASSERT_EQUAL(route_hash_key(&ck, &req, &k, &n), 1);
    CU_ASSERT(n == 2 && memcmp(k, "s9", 2) == 0);
    CU_ASSERT_EQUAL(route_hash_key(&src, &req, &k, &n), 0);
    parse("GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
    CU_ASSERT_EQUAL(route_hash_key(&hdr, &req, &k, &n), 0);
    CU_ASSERT_EQUAL(route_hash_key(&ck, &req, &k, &n), 0);
    CU_ASSERT_EQUAL(route_hash_key(&uri, &req, &k, &n), 1);
    CU_ASSERT(n == 2 && memcmp(k, "/x", 2) == 0);
    parse("GET http://h?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
    CU_ASSERT_EQUAL(route_hash_key(&uri, &req, &k, &n), 1);
    CU_ASSERT(n == 12 && memcmp(k, "http://h?q=1", 12) == 0);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_host),
    UNIT_TEST(test_host_with_port),
    UNIT_TEST(test_host_wildcard),
    UNIT_TEST(test_path_prefix_and_exact),
    UNIT_TEST(test_method),
    UNIT_TEST(test_header),
    UNIT_TEST(test_header_present),
    UNIT_TEST(test_cookie),
    UNIT_TEST(test_query),
    UNIT_TEST(test_order_and_default),
    UNIT_TEST(test_hash_keys),
    {0}
};

int main(void)
{
    return unit_run("route", tests);
}
