/* test_http_parse.c - the strict HTTP/1.x parser and body framer: valid
 * messages, every request-smuggling pattern refused with its status, the
 * incremental limits, and split-point independence. */
#include "config.h"
#include "unit.h"
#include "http_parse.h"

#include <stdio.h>
#include <string.h>

#define NHDRS 32

static const struct http_limits lim = { 8192, 32768, NHDRS };
static struct http_hdr hdrs[NHDRS];
static struct http_req req;
static struct http_error err;

static int parse_req_lim(const char *s, size_t len, const struct http_limits *l)
{
    req.hdrs = hdrs;
    req.hdrs_cap = NHDRS;
    err.status = 0;
    return http_parse_request(s, len, l, &req, &err);
}

static int parse_req(const char *s)
{
    return parse_req_lim(s, strlen(s), &lim);
}

/* Expects the request to be refused with status. */
#define REFUSED(s, st) do { \
        CU_ASSERT_EQUAL(parse_req(s), HTTP_PARSE_ERROR); \
        CU_ASSERT_EQUAL(err.status, (st)); \
    } while (0)

static int span_is(const char *p, size_t n, const char *want)
{
    return p && strlen(want) == n && memcmp(p, want, n) == 0;
}

/* ---- valid requests ------------------------------------------------------ */

static void test_simple_get(void)
{
    const char *s = "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: www.example.com:8080\r\n"
                    "User-Agent: t\r\nAccept:  */*  \r\n\r\n";
    CU_ASSERT_EQUAL(parse_req(s), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.method, HTTP_M_GET);
    CU_ASSERT(span_is(req.method_str, req.method_len, "GET"));
    CU_ASSERT(span_is(req.target, req.target_len, "/a/b?x=1&y=2"));
    CU_ASSERT(span_is(req.path, req.path_len, "/a/b"));
    CU_ASSERT(span_is(req.query, req.query_len, "x=1&y=2"));
    CU_ASSERT(span_is(req.host, req.host_len, "www.example.com"));
    CU_ASSERT_EQUAL(req.version_minor, 1);
    CU_ASSERT_EQUAL(req.nhdrs, 3);
    CU_ASSERT(span_is(req.hdrs[2].value, req.hdrs[2].value_len, "*/*"));
    CU_ASSERT_EQUAL(req.head_len, strlen(s));
    CU_ASSERT_EQUAL(req.content_length, -1);
    CU_ASSERT_EQUAL(req.flags, 0);
    CU_ASSERT_EQUAL(http_req_body_kind(&req), HTTP_BODY_NONE);
}

static void test_htab_in_value_allowed(void)
{
    CU_ASSERT_EQUAL(parse_req("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\tb\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(span_is(req.hdrs[1].value, req.hdrs[1].value_len, "a\tb"));
}

static void test_http10_flags(void)
{
    CU_ASSERT_EQUAL(parse_req("GET / HTTP/1.0\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.version_minor, 0);
    CU_ASSERT(req.flags & HTTP_F_CONN_CLOSE);
    CU_ASSERT_PTR_NULL(req.host);
    CU_ASSERT_EQUAL(parse_req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(req.flags & HTTP_F_CONN_KEEPALIVE);
    CU_ASSERT(!(req.flags & HTTP_F_CONN_CLOSE));
}

static void test_connection_flags(void)
{
    CU_ASSERT_EQUAL(parse_req("GET /chat HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n"
                              "Upgrade: websocket\r\nExpect: 100-continue\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(req.flags & HTTP_F_CONN_UPGRADE);
    CU_ASSERT(req.flags & HTTP_F_UPGRADE);
    CU_ASSERT(req.flags & HTTP_F_CONN_KEEPALIVE);
    CU_ASSERT(req.flags & HTTP_F_EXPECT_CONTINUE);
    CU_ASSERT_EQUAL(parse_req("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.flags, HTTP_F_CONN_CLOSE);
}

static void test_content_length_ok(void)
{
    CU_ASSERT_EQUAL(parse_req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 42\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.content_length, 42);
    CU_ASSERT(req.flags & HTTP_F_HAS_CL);
    CU_ASSERT_EQUAL(http_req_body_kind(&req), HTTP_BODY_LENGTH);
    CU_ASSERT_EQUAL(parse_req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(http_req_body_kind(&req), HTTP_BODY_NONE);
}

static void test_identical_content_lengths_allowed(void)
{
    CU_ASSERT_EQUAL(parse_req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.content_length, 5);
    CU_ASSERT_EQUAL(parse_req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                              "Content-Length: 5\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.content_length, 5);
}

static void test_chunked_request(void)
{
    CU_ASSERT_EQUAL(parse_req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(req.flags & HTTP_F_CHUNKED);
    CU_ASSERT_EQUAL(http_req_body_kind(&req), HTTP_BODY_CHUNKED);
    CU_ASSERT_EQUAL(parse_req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
                              "Transfer-Encoding: Chunked\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(req.flags & HTTP_F_CHUNKED);
}

static void test_target_forms(void)
{
    CU_ASSERT_EQUAL(parse_req("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(span_is(req.path, req.path_len, "*"));
    REFUSED("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    CU_ASSERT_EQUAL(parse_req("CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n"),
                    HTTP_PARSE_OK);
    CU_ASSERT(span_is(req.host, req.host_len, "www.example.com"));
    REFUSED("CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REFUSED("CONNECT www.example.com HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REFUSED("GET www.example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    CU_ASSERT_EQUAL(parse_req("GET http://Api.Example.com:81/v1?q HTTP/1.1\r\nHost: other\r\n\r\n"),
                    HTTP_PARSE_OK);
    CU_ASSERT(span_is(req.host, req.host_len, "Api.Example.com"));
    CU_ASSERT(span_is(req.path, req.path_len, "/v1"));
    CU_ASSERT(span_is(req.query, req.query_len, "q"));
    CU_ASSERT_EQUAL(parse_req("GET http://h HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(span_is(req.path, req.path_len, "/"));
    REFUSED("GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REFUSED("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REFUSED("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
}

static void test_versions(void)
{
    REFUSED("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
    REFUSED("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
    REFUSED("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505);
    REFUSED("GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400);
    REFUSED("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
    REFUSED("GET /\r\n\r\n", 400);
}

static void test_method_and_names(void)
{
    CU_ASSERT_EQUAL(http_method_from_str("PATCH", 5), HTTP_M_PATCH);
    CU_ASSERT_EQUAL(http_method_from_str("get", 3), HTTP_M_OTHER);
    CU_ASSERT_EQUAL(parse_req("PURGE / HTTP/1.1\r\nHost: h\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.method, HTTP_M_OTHER);
    REFUSED("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX[a]: 1\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\n: 1\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400);
    CU_ASSERT_STRING_EQUAL(http_reason(431), "Request Header Fields Too Large");
    CU_ASSERT_STRING_EQUAL(http_reason(404), "Not Found");
}

/* ---- smuggling: each pattern its own test -------------------------------- */

static void test_smuggle_cl_and_te(void)
{
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400);
}

static void test_smuggle_conflicting_cl(void)
{
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5, 7\r\n\r\n", 400);
}

static void test_smuggle_cl_sign_space_hex(void)
{
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5 5\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x5\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5a\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ,\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1.0\r\n\r\n", 400);
}

static void test_smuggle_huge_cl(void)
{
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551617\r\n\r\n", 400);
    CU_ASSERT_EQUAL(parse_req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 999999999999999999\r\n\r\n"),
                    HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.content_length, 999999999999999999LL);
}

static void test_smuggle_te_chunked_twice(void)
{
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
            "Transfer-Encoding: chunked\r\n\r\n", 400);
}

static void test_smuggle_te_not_final_chunked(void)
{
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 501);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 501);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \r\n\r\n", 400);
    REFUSED("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
}

static void test_smuggle_bare_cr(void)
{
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\rHost: h\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n", 400);
    /* refused as soon as it is seen, even before the head is complete */
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb", 400);
}

static void test_smuggle_bare_lf(void)
{
    REFUSED("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
}

static void test_smuggle_obs_fold(void)
{
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n b\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\r\n\tb\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", 400);
}

static void test_smuggle_nul_in_headers(void)
{
    static const char a[] = "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n";
    static const char b[] = "GET / HTTP/1.1\r\nHost: h\r\nX-\0A: ab\r\n\r\n";
    static const char c[] = "GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n";
    CU_ASSERT_EQUAL(parse_req_lim(a, sizeof(a) - 1, &lim), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 400);
    CU_ASSERT_EQUAL(parse_req_lim(b, sizeof(b) - 1, &lim), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 400);
    CU_ASSERT_EQUAL(parse_req_lim(c, sizeof(c) - 1, &lim), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 400);
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01" "b\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f" "b\r\n\r\n", 400);
}

static void test_smuggle_space_before_colon(void)
{
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400);
    REFUSED("POST / HTTP/1.1\r\nHost: h\r\nContent-Length\t: 5\r\n\r\n", 400);
}

static void test_host_rules(void)
{
    REFUSED("GET / HTTP/1.1\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400);
    REFUSED("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", 400);
    CU_ASSERT_EQUAL(parse_req("GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(span_is(req.host, req.host_len, "[2001:db8::1]"));
    CU_ASSERT_EQUAL(parse_req("GET / HTTP/1.1\r\nHost:\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.host_len, 0);
}

/* ---- limits ---------------------------------------------------------------- */

static void test_limit_414_incremental(void)
{
    struct http_limits l = { 32, 1024, NHDRS };
    char line[64];
    memset(line, 'a', sizeof(line));
    memcpy(line, "GET /", 5);
    /* no CRLF yet, but already past the limit: refused now */
    CU_ASSERT_EQUAL(parse_req_lim(line, 33, &l), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 414);
    CU_ASSERT_EQUAL(parse_req_lim(line, 32, &l), HTTP_PARSE_INCOMPLETE);
    /* exactly at the limit is fine */
    const char *at = "GET /aaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: h\r\n\r\n";
    const char *over = "GET /aaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: h\r\n\r\n";
    CU_ASSERT_EQUAL(strchr(at, '\r') - at, 32);
    CU_ASSERT_EQUAL(parse_req_lim(at, strlen(at), &l), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(parse_req_lim(over, strlen(over), &l), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 414);
}

static void test_limit_431_incremental(void)
{
    struct http_limits l = { 64, 64, NHDRS };
    const char *s = "GET / HTTP/1.1\r\nHost: h\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    CU_ASSERT_EQUAL(parse_req_lim(s, 63, &l), HTTP_PARSE_INCOMPLETE);
    CU_ASSERT_EQUAL(parse_req_lim(s, 64, &l), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 431);
    /* a complete head one byte over */
    const char *t = "GET / HTTP/1.1\r\nHost: h\r\nX-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    CU_ASSERT_EQUAL(strlen(t), 65);
    CU_ASSERT_EQUAL(parse_req_lim(t, 65, &l), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 431);
}

static void test_limit_too_many_headers(void)
{
    struct http_limits l = { 1024, 4096, 3 };
    CU_ASSERT_EQUAL(parse_req_lim("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", 40, &l), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(parse_req_lim("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 46, &l),
                    HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 431);
}

/* ---- incremental / pipelining -------------------------------------------- */

static void test_pipelined_requests(void)
{
    const char *s = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
                    "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
                    "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t off = 0, len = strlen(s);
    const char *want[] = { "/1", "/2", "/3" };
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(parse_req_lim(s + off, len - off, &lim), HTTP_PARSE_OK);
        CU_ASSERT(span_is(req.path, req.path_len, want[i]));
        off += req.head_len;
        struct http_body b;
        int done;
        http_body_init(&b, http_req_body_kind(&req), (uint64_t)req.content_length);
        ssize_t n = http_body_feed(&b, s + off, len - off, &done);
        CU_ASSERT(done);
        CU_ASSERT_EQUAL(n, i == 1 ? 3 : 0);
        off += (size_t)n;
    }
    CU_ASSERT_EQUAL(off, len);
}

static void test_head_byte_at_a_time(void)
{
    const char *s = "POST /up?a=1 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n"
                    "Connection: keep-alive\r\nX-A:  v \r\n\r\nNEXT";
    size_t full = strlen(s) - 4;
    struct http_req all;
    CU_ASSERT_EQUAL_FATAL(parse_req(s), HTTP_PARSE_OK);
    all = req;
    for (size_t n = 0; n < full; n++)
        CU_ASSERT_EQUAL(parse_req_lim(s, n, &lim), HTTP_PARSE_INCOMPLETE);
    CU_ASSERT_EQUAL(parse_req_lim(s, full, &lim), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(req.head_len, all.head_len);
    CU_ASSERT_EQUAL(req.head_len, full);
    CU_ASSERT_EQUAL(req.flags, all.flags);
    CU_ASSERT_EQUAL(req.nhdrs, all.nhdrs);
    CU_ASSERT(span_is(req.host, req.host_len, "example.com"));
}

static const char chunked_body[] =
    "5;ext=\"a b\"\r\nhello\r\n"
    "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
    "0\r\nTrailer-A: 1\r\nTrailer-B: two\r\n\r\n"
    "GET / HTTP/1.1\r\n";

static void test_chunked_all_at_once(void)
{
    struct http_body b;
    int done;
    size_t body_len = strlen(chunked_body) - strlen("GET / HTTP/1.1\r\n");
    http_body_init(&b, HTTP_BODY_CHUNKED, 0);
    ssize_t n = http_body_feed(&b, chunked_body, strlen(chunked_body), &done);
    CU_ASSERT_EQUAL(n, (ssize_t)body_len);
    CU_ASSERT(done);
    CU_ASSERT_EQUAL(b.payload, 31);
}

static void test_chunked_byte_at_a_time(void)
{
    struct http_body b;
    int done = 0;
    size_t body_len = strlen(chunked_body) - strlen("GET / HTTP/1.1\r\n"), i;
    http_body_init(&b, HTTP_BODY_CHUNKED, 0);
    for (i = 0; i < strlen(chunked_body) && !done; i++) {
        ssize_t n = http_body_feed(&b, chunked_body + i, 1, &done);
        CU_ASSERT_EQUAL_FATAL(n, 1);
    }
    CU_ASSERT(done);
    CU_ASSERT_EQUAL(i, body_len);
    CU_ASSERT_EQUAL(b.payload, 31);
    /* every two-piece split gives the same answer */
    for (size_t cut = 0; cut <= body_len; cut++) {
        ssize_t a, c;
        http_body_init(&b, HTTP_BODY_CHUNKED, 0);
        a = http_body_feed(&b, chunked_body, cut, &done);
        CU_ASSERT_EQUAL(a, (ssize_t)cut);
        c = http_body_feed(&b, chunked_body + cut, strlen(chunked_body) - cut, &done);
        CU_ASSERT_EQUAL(a + c, (ssize_t)body_len);
        CU_ASSERT(done);
    }
}

static ssize_t feed_all(const char *s, int *done)
{
    struct http_body b;
    http_body_init(&b, HTTP_BODY_CHUNKED, 0);
    return http_body_feed(&b, s, strlen(s), done);
}

static void test_smuggle_invalid_chunk_sizes(void)
{
    int done;
    CU_ASSERT_EQUAL(feed_all("-1\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("+5\r\nhello\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("0x5\r\nhello\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all(" 5\r\nhello\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("5 \r\nhello\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("g\r\n", &done), -1);
    /* 17 digits, and values past 2^62 */
    CU_ASSERT_EQUAL(feed_all("00000000000000001\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("ffffffffffffffff\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("4000000000000001\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("10000000000000000\r\n", &done), -1);
    /* 16 digits at 2^62 is accepted as a size */
    CU_ASSERT_EQUAL(feed_all("4000000000000000\r\n", &done), 18);
    CU_ASSERT_EQUAL(done, 0);
}

static void test_chunked_framing_errors(void)
{
    int done;
    char big[5000];
    CU_ASSERT_EQUAL(feed_all("5\r\nhelloX\r\n", &done), -1);       /* no CRLF after data */
    CU_ASSERT_EQUAL(feed_all("5\r\nhello\n0\r\n\r\n", &done), -1);  /* bare LF after data */
    CU_ASSERT_EQUAL(feed_all("5\nhello\r\n", &done), -1);           /* bare LF after size */
    CU_ASSERT_EQUAL(feed_all("5\rhello\r\n", &done), -1);           /* bare CR after size */
    CU_ASSERT_EQUAL(feed_all("0\r\n folded: x\r\n\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("0\r\nBad Name: x\r\n\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("0\r\nA: x\ny\r\n\r\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("0\r\n\n", &done), -1);
    CU_ASSERT_EQUAL(feed_all("1;a\x01\r\nx\r\n", &done), -1);
    /* oversized extension line */
    memset(big, 'a', sizeof(big));
    big[0] = '1'; big[1] = ';'; big[sizeof(big) - 1] = '\0';
    CU_ASSERT_EQUAL(feed_all(big, &done), -1);
    /* oversized trailers */
    struct http_body b;
    http_body_init(&b, HTTP_BODY_CHUNKED, 0);
    CU_ASSERT_EQUAL(http_body_feed(&b, "0\r\n", 3, &done), 3);
    ssize_t r = 0;
    for (int i = 0; i < 1000 && r >= 0; i++)
        r = http_body_feed(&b, "X-T: 0123456789\r\n", 17, &done);
    CU_ASSERT_EQUAL(r, -1);
}

static void test_length_body(void)
{
    struct http_body b;
    int done;
    http_body_init(&b, HTTP_BODY_LENGTH, 5);
    CU_ASSERT_EQUAL(http_body_feed(&b, "abc", 3, &done), 3);
    CU_ASSERT(!done);
    CU_ASSERT_EQUAL(http_body_feed(&b, "defgh", 5, &done), 2);
    CU_ASSERT(done);
    http_body_init(&b, HTTP_BODY_UNTIL_CLOSE, 0);
    CU_ASSERT_EQUAL(http_body_feed(&b, "abc", 3, &done), 3);
    CU_ASSERT(!done);
    http_body_init(&b, HTTP_BODY_NONE, 0);
    CU_ASSERT_EQUAL(http_body_feed(&b, "abc", 3, &done), 0);
    CU_ASSERT(done);
}

/* ---- responses ------------------------------------------------------------- */

static struct http_resp resp;

static int parse_resp(const char *s)
{
    resp.hdrs = hdrs;
    resp.hdrs_cap = NHDRS;
    return http_parse_response(s, strlen(s), &lim, &resp, &err);
}

static void test_response_basic(void)
{
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(resp.status, 200);
    CU_ASSERT_EQUAL(resp.content_length, 5);
    CU_ASSERT_EQUAL(resp.head_len, 38);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_GET), HTTP_BODY_LENGTH);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 204\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(resp.status, 204);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.0 200 OK\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(resp.flags & HTTP_F_CONN_CLOSE);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_GET), HTTP_BODY_UNTIL_CLOSE);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_GET), HTTP_BODY_CHUNKED);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_GET), HTTP_BODY_UNTIL_CLOSE);
}

static void test_response_no_body_kinds(void)
{
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_HEAD), HTTP_BODY_NONE);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_GET), HTTP_BODY_NONE);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_GET), HTTP_BODY_NONE);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 100 Continue\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_POST), HTTP_BODY_NONE);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT(resp.flags & HTTP_F_CONN_UPGRADE);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_GET), HTTP_BODY_NONE);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_GET), HTTP_BODY_NONE);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 Connection established\r\n\r\n"), HTTP_PARSE_OK);
    CU_ASSERT_EQUAL(http_resp_body_kind(&resp, HTTP_M_CONNECT), HTTP_BODY_NONE);
}

static void test_response_errors(void)
{
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
                    HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 502);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
                    HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 20 OK\r\n\r\n"), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 2000 OK\r\n\r\n"), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 099 OK\r\n\r\n"), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(parse_resp("HTTP/2 200 OK\r\n\r\n"), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\nX: 1\r\n\r\n"), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\r\nX: 1\r\n y\r\n\r\n"), HTTP_PARSE_ERROR);
    CU_ASSERT_EQUAL(err.status, 502);
    CU_ASSERT_EQUAL(parse_resp("HTTP/1.1 200 OK\r\nX: 1\r\n"), HTTP_PARSE_INCOMPLETE);
}

/* ---- lookups ---------------------------------------------------------------- */

static void test_find_header_cookie_query(void)
{
    const char *v;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(parse_req("GET /?a=1&flag&b=&c=3 HTTP/1.1\r\nHost: h\r\nCookie: a=1; SRV=web2\r\n"
                                    "X-Env: canary\r\ncookie: beta=yes\r\n\r\n"), HTTP_PARSE_OK);
    const struct http_hdr *h = http_find_header(req.hdrs, req.nhdrs, "x-env");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT(span_is(h->value, h->value_len, "canary"));
    CU_ASSERT_PTR_NULL(http_find_header(req.hdrs, req.nhdrs, "x-none"));
    CU_ASSERT_EQUAL(http_find_cookie(req.hdrs, req.nhdrs, "SRV", &v, &n), 1);
    CU_ASSERT(span_is(v, n, "web2"));
    CU_ASSERT_EQUAL(http_find_cookie(req.hdrs, req.nhdrs, "beta", &v, &n), 1);
    CU_ASSERT(span_is(v, n, "yes"));
    CU_ASSERT_EQUAL(http_find_cookie(req.hdrs, req.nhdrs, "srv", &v, &n), 0);
    CU_ASSERT_EQUAL(http_find_cookie(req.hdrs, req.nhdrs, "SR", &v, &n), 0);
    CU_ASSERT_EQUAL(http_find_query_param(req.query, req.query_len, "c", &v, &n), 1);
    CU_ASSERT(span_is(v, n, "3"));
    CU_ASSERT_EQUAL(http_find_query_param(req.query, req.query_len, "flag", &v, &n), 1);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(http_find_query_param(req.query, req.query_len, "b", &v, &n), 1);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(http_find_query_param(req.query, req.query_len, "d", &v, &n), 0);
    CU_ASSERT_EQUAL(http_find_query_param(NULL, 0, "a", &v, &n), 0);
}

static void test_hop_headers(void)
{
    CU_ASSERT_EQUAL_FATAL(parse_req("GET / HTTP/1.1\r\nHost: h\r\nConnection: X-Secret, content-length, Host\r\n"
                                    "Keep-Alive: 5\r\nX-Secret: 1\r\nTE: trailers\r\nUpgrade: ws\r\n"
                                    "Proxy-Authorization: x\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_PARSE_OK);
    int want[] = { 0, 1, 1, 1, 1, 1, 0, 0 };
    for (unsigned i = 0; i < req.nhdrs; i++)
        CU_ASSERT_EQUAL(http_is_hop_header(&req.hdrs[i], req.hdrs, req.nhdrs), want[i]);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_simple_get),
    UNIT_TEST(test_htab_in_value_allowed),
    UNIT_TEST(test_http10_flags),
    UNIT_TEST(test_connection_flags),
    UNIT_TEST(test_content_length_ok),
    UNIT_TEST(test_identical_content_lengths_allowed),
    UNIT_TEST(test_chunked_request),
    UNIT_TEST(test_target_forms),
    UNIT_TEST(test_versions),
    UNIT_TEST(test_method_and_names),
    UNIT_TEST(test_smuggle_cl_and_te),
    UNIT_TEST(test_smuggle_conflicting_cl),
    UNIT_TEST(test_smuggle_cl_sign_space_hex),
    UNIT_TEST(test_smuggle_huge_cl),
    UNIT_TEST(test_smuggle_te_chunked_twice),
    UNIT_TEST(test_smuggle_te_not_final_chunked),
    UNIT_TEST(test_smuggle_bare_cr),
    UNIT_TEST(test_smuggle_bare_lf),
    UNIT_TEST(test_smuggle_obs_fold),
    UNIT_TEST(test_smuggle_nul_in_headers),
    UNIT_TEST(test_smuggle_space_before_colon),
    UNIT_TEST(test_smuggle_invalid_chunk_sizes),
    UNIT_TEST(test_host_rules),
    UNIT_TEST(test_limit_414_incremental),
    UNIT_TEST(test_limit_431_incremental),
    UNIT_TEST(test_limit_too_many_headers),
    UNIT_TEST(test_pipelined_requests),
    UNIT_TEST(test_head_byte_at_a_time),
    UNIT_TEST(test_chunked_all_at_once),
    UNIT_TEST(test_chunked_byte_at_a_time),
    UNIT_TEST(test_chunked_framing_errors),
    UNIT_TEST(test_length_body),
    UNIT_TEST(test_response_basic),
    UNIT_TEST(test_response_no_body_kinds),
    UNIT_TEST(test_response_errors),
    UNIT_TEST(test_find_header_cookie_query),
    UNIT_TEST(test_hop_headers),
    {0}
};

int main(void)
{
    return unit_run("http_parse", tests);
}
