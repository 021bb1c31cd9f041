/* fuzz_http_response.c - libFuzzer target for the response head parser and
 * the chunked/length body framer. The body is fed twice, whole and in
 * pieces whose sizes come from the input, and both runs must agree. */
/* fuzz-sources: src/proxy/http_parse.c src/proxy/http_write.c */
#include "http_parse.h"
#include "http_write.h"

#include <stdlib.h>
#include <string.h>

#define NHDRS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds len bytes in pieces; returns consumed or -1, sets *done. */
static ssize_t feed_pieces(struct http_body *b, const char *p, size_t len, uint8_t step,
                           int *done)
{
    size_t off = 0, piece = (size_t)(step % 7) + 1;
    *done = 0;
    /* at least one call, so an empty body still reports done like the whole run */
    do {
        size_t n = len - off < piece ? len - off : piece;
        ssize_t r = http_body_feed(b, p + off, n, done);
        if (r < 0)
            return -1;
        if ((size_t)r > n || ((size_t)r < n && !*done))
            abort();                  /* short consumption only at the end */
        off += (size_t)r;
    } while (off < len && !*done);
    return (ssize_t)off;
}

static void check_body(const struct http_resp *resp, const char *rest, size_t len,
                       uint8_t step)
{
    struct http_body a, b;
    int done_a = 0, done_b = 0;
    enum http_body_kind kind = http_resp_body_kind(resp, (enum http_method)(step % 10));
    http_body_init(&a, kind, (uint64_t)resp->content_length);
    http_body_init(&b, kind, (uint64_t)resp->content_length);
    ssize_t ra = http_body_feed(&a, rest, len, &done_a);
    ssize_t rb = feed_pieces(&b, rest, len, step, &done_b);
    if ((ra < 0) != (rb < 0))
        abort();                      /* the split point changed the verdict */
    if (ra < 0)
        return;
    if (ra != rb || done_a != done_b || a.payload != b.payload)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct http_limits lim = { 1024, 4096, NHDRS };
    struct http_hdr hdrs[NHDRS];
    struct http_resp resp = { .hdrs = hdrs, .hdrs_cap = NHDRS };
    struct http_error err;
    const char *buf = (const char *)data;
    char out[8192];

    if (http_parse_response(buf, size, &lim, &resp, &err) == HTTP_PARSE_OK) {
        if (resp.head_len > size)
            abort();
        http_write_response_head(out, sizeof(out), buf, &resp, HTTP_CONN_CLOSE, NULL);
        check_body(&resp, buf + resp.head_len, size - resp.head_len,
                   size ? data[size - 1] : 0);
        return 0;
    }
    /* Not a response head: frame the whole input as a chunked body too. */
    resp.flags = HTTP_F_CHUNKED;
    resp.status = 200;
    check_body(&resp, buf, size, size ? data[0] : 0);
    return 0;
}
