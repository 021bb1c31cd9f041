/* fuzz_http_request.c - libFuzzer target for the request head parser and
 * the request body framer, plus the forwarded-head writer and routing
 * lookups on whatever parses. Checks invariants, not just crashes:
 * parsing the same bytes split at any point gives the same answer. */
/* fuzz-sources: src/proxy/http_parse.c src/proxy/http_write.c */
#include "http_parse.h"
#include "http_write.h"

#include <stdlib.h>
#include <string.h>

#define NHDRS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_body(const struct http_req *req, const char *rest, size_t len)
{
    struct http_body b;
    int done = 0;
    http_body_init(&b, http_req_body_kind(req), (uint64_t)req->content_length);
    ssize_t n = http_body_feed(&b, rest, len, &done);
    if (n > (ssize_t)len)
        abort();
}

static void check_lookups(const struct http_req *req)
{
    const char *v;
    size_t n;
    char out[8192];
    struct http_fwd_req fwd = { .client_ip = "2001:db8::1", .proto = "https",
                                .request_id = "id", .upgrade = !!(req->flags & HTTP_F_UPGRADE) };
    http_find_cookie(req->hdrs, req->nhdrs, "a", &v, &n);
    http_find_query_param(req->query, req->query_len, "a", &v, &n);
    ssize_t w = http_write_request_head(out, sizeof(out), req, &fwd);
    if (w > (ssize_t)sizeof(out))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct http_limits lim = { 1024, 4096, NHDRS };
    struct http_hdr hdrs[NHDRS], hdrs2[NHDRS];
    struct http_req req = { .hdrs = hdrs, .hdrs_cap = NHDRS };
    struct http_req req2 = { .hdrs = hdrs2, .hdrs_cap = NHDRS };
    struct http_error err = { 0, NULL }, err2;
    const char *buf = (const char *)data;

    int r = http_parse_request(buf, size, &lim, &req, &err);
    if (r == HTTP_PARSE_OK) {
        if (req.head_len > size || req.head_len > lim.max_header_size)
            abort();
        check_lookups(&req);
        check_body(&req, buf + req.head_len, size - req.head_len);
    }
    if (r == HTTP_PARSE_ERROR && err.status != 400 && err.status != 414 &&
        err.status != 431 && err.status != 501 && err.status != 505)
        abort();
    /* Split-point independence: a prefix never gives a different verdict
     * than the whole unless it is still incomplete. */
    if (size > 0) {
        size_t cut = data[0] % size;
        int r2 = http_parse_request(buf, cut, &lim, &req2, &err2);
        if (r2 == HTTP_PARSE_OK && (r != HTTP_PARSE_OK || req2.head_len != req.head_len))
            abort();
        /* the status may differ: a prefix can hit a limit before the
         * whole reaches a bad byte further on */
        if (r2 == HTTP_PARSE_ERROR && r != HTTP_PARSE_ERROR)
            abort();
    }
    return 0;
}
