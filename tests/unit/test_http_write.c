/* test_http_write.c - forwarded request/response heads and error pages. */
#include "config.h"
#include "unit.h"
#include "http_parse.h"
#include "http_write.h"

#include <stdio.h>
#include <string.h>

#define NHDRS 32

static const struct http_limits lim = { 8192, 32768, NHDRS };
static struct http_hdr hdrs[NHDRS], hdrs2[NHDRS];
static char out[4096];

static void parse_req(const char *s, struct http_req *req)
{
    struct http_error err;
    req->hdrs = hdrs;
    req->hdrs_cap = NHDRS;
    CU_ASSERT_EQUAL_FATAL(http_parse_request(s, strlen(s), &lim, req, &err), HTTP_PARSE_OK);
}

static void parse_resp(const char *s, struct http_resp *resp)
{
    struct http_error err;
    resp->hdrs = hdrs;
    resp->hdrs_cap = NHDRS;
    CU_ASSERT_EQUAL_FATAL(http_parse_response(s, strlen(s), &lim, resp, &err), HTTP_PARSE_OK);
}

/* The written head must itself parse strictly. */
static void reparses_as_request(const char *s, size_t n)
{
    struct http_req r = { .hdrs = hdrs2, .hdrs_cap = NHDRS };
    struct http_error err;
    CU_ASSERT_EQUAL(http_parse_request(s, n, &lim, &r, &err), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(r.head_len, n);
}

static void test_request_forwarded(void)
{
    struct http_req req;
    struct http_fwd_req fwd = { .client_ip = "198.51.100.7", .proto = "https" };
    parse_req("GET /a?b=1 HTTP/1.0\r\nHost: www.example.com\r\nConnection: keep-alive, X-Drop\r\n"
              "Keep-Alive: timeout=5\r\nX-Drop: 1\r\nX-Forwarded-Proto: http\r\n"
              "Accept: */*\r\n\r\n", &req);
    ssize_t n = http_write_request_head(out, sizeof(out), &req, &fwd);
    const char *want = "GET /a?b=1 HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\n"
                       "X-Forwarded-For: 198.51.100.7\r\nX-Forwarded-Proto: https\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(n, (ssize_t)strlen(want));
    CU_ASSERT_NSTRING_EQUAL(out, want, n);
    reparses_as_request(out, (size_t)n);
}

static void test_request_xff_appended(void)
{
    struct http_req req;
    struct http_fwd_req fwd = { .client_ip = "2001:db8::7" };
    parse_req("POST /p HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 203.0.113.1\r\nContent-Length: 3\r\n"
              "x-forwarded-for: 203.0.113.2, 203.0.113.3\r\n\r\n", &req);
    ssize_t n = http_write_request_head(out, sizeof(out), &req, &fwd);
    const char *want = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                       "X-Forwarded-For: 203.0.113.1, 203.0.113.2, 203.0.113.3, 2001:db8::7\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(n, (ssize_t)strlen(want));
    CU_ASSERT_NSTRING_EQUAL(out, want, n);
    reparses_as_request(out, (size_t)n);
}

static void test_request_id_and_extra(void)
{
    struct http_req req;
    struct http_fwd_req fwd = { .request_id = "abc123", .extra = "X-Tandem: 1\r\n", .close = 1 };
    parse_req("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &req);
    ssize_t n = http_write_request_head(out, sizeof(out), &req, &fwd);
    const char *want = "GET / HTTP/1.1\r\nHost: h\r\nX-Request-Id: abc123\r\nConnection: close\r\n"
                       "X-Tandem: 1\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(n, (ssize_t)strlen(want));
    CU_ASSERT_NSTRING_EQUAL(out, want, n);
    /* an existing id is kept, not duplicated */
    parse_req("GET / HTTP/1.1\r\nHost: h\r\nX-Request-ID: theirs\r\n\r\n", &req);
    n = http_write_request_head(out, sizeof(out), &req, &fwd);
    CU_ASSERT(n > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "X-Request-ID: theirs\r\n"));
    CU_ASSERT_PTR_NULL(strstr(out, "abc123"));
}

static void test_request_upgrade(void)
{
    struct http_req req;
    struct http_fwd_req fwd = { .upgrade = 1 };
    parse_req("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
              "Sec-WebSocket-Key: k\r\n\r\n", &req);
    ssize_t n = http_write_request_head(out, sizeof(out), &req, &fwd);
    const char *want = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n"
                       "Connection: upgrade\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(n, (ssize_t)strlen(want));
    CU_ASSERT_NSTRING_EQUAL(out, want, n);
    /* without upgrade forwarding the Upgrade header is hop-by-hop */
    fwd.upgrade = 0;
    n = http_write_request_head(out, sizeof(out), &req, &fwd);
    CU_ASSERT(n > 0);
    CU_ASSERT_PTR_NULL(strstr(out, "websocket"));
}

static void test_request_does_not_fit(void)
{
    struct http_req req;
    struct http_fwd_req fwd = { .client_ip = "198.51.100.7" };
    parse_req("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &req);
    ssize_t full = http_write_request_head(out, sizeof(out), &req, &fwd);
    CU_ASSERT(full > 0);
    for (size_t cap = 0; cap < (size_t)full; cap++)
        CU_ASSERT_EQUAL(http_write_request_head(out, cap, &req, &fwd), -1);
    CU_ASSERT_EQUAL(http_write_request_head(out, (size_t)full, &req, &fwd), full);
}

static void test_response_forwarded(void)
{
    struct http_resp resp;
    const char *raw = "HTTP/1.0 200 Fine\r\nContent-Length: 5\r\nConnection: keep-alive\r\n"
                      "Keep-Alive: timeout=5\r\nServer: x\r\n\r\nhello";
    parse_resp(raw, &resp);
    ssize_t n = http_write_response_head(out, sizeof(out), raw, &resp, HTTP_CONN_CLOSE, NULL);
    const char *want = "HTTP/1.1 200 Fine\r\nContent-Length: 5\r\nServer: x\r\nConnection: close\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(n, (ssize_t)strlen(want));
    CU_ASSERT_NSTRING_EQUAL(out, want, n);
    n = http_write_response_head(out, sizeof(out), raw, &resp, HTTP_CONN_KEEPALIVE, "X-A: 1\r\n");
    want = "HTTP/1.1 200 Fine\r\nContent-Length: 5\r\nServer: x\r\nConnection: keep-alive\r\nX-A: 1\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(n, (ssize_t)strlen(want));
    CU_ASSERT_NSTRING_EQUAL(out, want, n);
    n = http_write_response_head(out, sizeof(out), raw, &resp, HTTP_CONN_DEFAULT, NULL);
    want = "HTTP/1.1 200 Fine\r\nContent-Length: 5\r\nServer: x\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(n, (ssize_t)strlen(want));
    CU_ASSERT_NSTRING_EQUAL(out, want, n);
    CU_ASSERT_EQUAL(http_write_response_head(out, 20, raw, &resp, HTTP_CONN_DEFAULT, NULL), -1);
}

static void test_response_101_keeps_upgrade(void)
{
    struct http_resp resp;
    const char *raw = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: a\r\n\r\n";
    parse_resp(raw, &resp);
    ssize_t n = http_write_response_head(out, sizeof(out), raw, &resp, HTTP_CONN_CLOSE, NULL);
    const char *want = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                       "Sec-WebSocket-Accept: a\r\nConnection: upgrade\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(n, (ssize_t)strlen(want));
    CU_ASSERT_NSTRING_EQUAL(out, want, n);
}

/* Every error page parses as a response whose body length matches. */
static void test_error_pages(void)
{
    static const int codes[] = { 400, 403, 408, 413, 414, 429, 431, 500, 501, 502, 503, 504, 505 };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        struct http_resp resp = { .hdrs = hdrs, .hdrs_cap = NHDRS };
        struct http_error err;
        ssize_t n = http_write_error(out, sizeof(out), codes[i], NULL, 0);
        CU_ASSERT_FATAL(n > 0);
        CU_ASSERT_EQUAL_FATAL(http_parse_response(out, (size_t)n, &lim, &resp, &err), HTTP_PARSE_OK);
        CU_ASSERT_EQUAL(resp.status, codes[i]);
        CU_ASSERT(resp.flags & HTTP_F_CONN_CLOSE);
        CU_ASSERT_EQUAL((size_t)resp.content_length, (size_t)n - resp.head_len);
        CU_ASSERT_PTR_NOT_NULL(memmem(out + resp.head_len, (size_t)n - resp.head_len,
                                      http_reason(codes[i]), strlen(http_reason(codes[i]))));
    }
}

static void test_error_extra_and_head(void)
{
    ssize_t full = http_write_error(out, sizeof(out), 429, "Retry-After: 30\r\n", 0);
    CU_ASSERT(full > 0);
    CU_ASSERT_NSTRING_EQUAL(out, "HTTP/1.1 429 Too Many Requests\r\n", 32);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nRetry-After: 30\r\n\r\n"));
    ssize_t head = http_write_error(out, sizeof(out), 429, "Retry-After: 30\r\n", 1);
    CU_ASSERT(head > 0 && head < full);
    CU_ASSERT_NSTRING_EQUAL(out + head - 4, "\r\n\r\n", 4);
    CU_ASSERT_EQUAL(http_write_error(out, 10, 503, NULL, 0), -1);
    CU_ASSERT_EQUAL(http_write_error(out, sizeof(out), 42, NULL, 0), -1);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_request_forwarded),
    UNIT_TEST(test_request_xff_appended),
    UNIT_TEST(test_request_id_and_extra),
    UNIT_TEST(test_request_upgrade),
    UNIT_TEST(test_request_does_not_fit),
    UNIT_TEST(test_response_forwarded),
    UNIT_TEST(test_response_101_keeps_upgrade),
    UNIT_TEST(test_error_pages),
    UNIT_TEST(test_error_extra_and_head),
    {0}
};

int main(void)
{
    return unit_run("http_write", tests);
}
