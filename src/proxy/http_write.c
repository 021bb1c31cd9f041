/* http_write.c - building the heads the proxy sends (see http_write.h). */
#include "config.h"
#include "http_write.h"

#include <string.h>

/* Append-only cursor over the caller's buffer. Overflow is sticky so the
 * builders can write straight through and check once at the end. */
struct wbuf {
    char *p;
    size_t len;
    size_t cap;
    int overflow;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void put_str(struct wbuf *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_uint(struct wbuf *w, unsigned v)
{
    char tmp[12];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    put(w, tmp + i, sizeof(tmp) - i);
}

static ssize_t finish(const struct wbuf *w)
{
    return w->overflow ? -1 : (ssize_t)w->len;
}

static int name_is(const struct http_hdr *h, const char *name)
{
    size_t n = strlen(name);
    if (h->name_len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = h->name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c != name[i])
            return 0;
    }
    return 1;
}

/* Copies a header line as received: name, colon, value (trimmed), CRLF.
 * The name and value are one contiguous span of the receive buffer. */
static void put_header_line(struct wbuf *w, const struct http_hdr *h)
{
    put(w, h->name, (size_t)(h->value + h->value_len - h->name));
    put(w, "\r\n", 2);
}

/* Emits one X-Forwarded-For line holding every received value, in order,
 * and then the client's address. */
static void put_xff(struct wbuf *w, const struct http_req *req, const char *client_ip)
{
    int first = 1;
    put(w, "X-Forwarded-For: ", 17);
    for (unsigned i = 0; i < req->nhdrs; i++) {
        const struct http_hdr *h = &req->hdrs[i];
        if (!name_is(h, "x-forwarded-for") || h->value_len == 0)
            continue;
        if (!first)
            put(w, ", ", 2);
        put(w, h->value, h->value_len);
        first = 0;
    }
    if (!first)
        put(w, ", ", 2);
    put_str(w, client_ip);
    put(w, "\r\n", 2);
}

/* Decides what happens to one received request header: 0 drop, 1 copy. */
static int keep_request_header(const struct http_hdr *h, const struct http_req *req,
                               const struct http_fwd_req *fwd, int *has_reqid)
{
    if (name_is(h, "upgrade") && fwd->upgrade)
        return 1;
    if (http_is_hop_header(h, req->hdrs, req->nhdrs))
        return 0;
    if (fwd->client_ip && name_is(h, "x-forwarded-for"))
        return 0;                       /* merged into one line later */
    if (fwd->proto && name_is(h, "x-forwarded-proto"))
        return 0;                       /* ours replaces it */
    if (h->name_len > 14 && (name_is(h, "x-client-cert-subject") ||
                             name_is(h, "x-client-cert-fingerprint")))
        return 0;                       /* only a verified certificate sets these */
    if (name_is(h, "x-request-id"))
        *has_reqid = 1;
    return 1;
}

ssize_t http_write_request_head(char *out, size_t cap, const struct http_req *req,
                                const struct http_fwd_req *fwd)
{
    struct wbuf w = { out, 0, cap, 0 };
    int has_reqid = 0;

    put(&w, req->method_str, req->method_len);
    put(&w, " ", 1);
    put(&w, req->target, req->target_len);
    put(&w, " HTTP/1.1\r\n", 11);
    for (unsigned i = 0; i < req->nhdrs; i++)
        if (keep_request_header(&req->hdrs[i], req, fwd, &has_reqid))
            put_header_line(&w, &req->hdrs[i]);
    if (fwd->client_ip)
        put_xff(&w, req, fwd->client_ip);
    if (fwd->proto) {
        put(&w, "X-Forwarded-Proto: ", 19);
        put_str(&w, fwd->proto);
        put(&w, "\r\n", 2);
    }
    if (fwd->request_id && !has_reqid) {
        put(&w, "X-Request-Id: ", 14);
        put_str(&w, fwd->request_id);
        put(&w, "\r\n", 2);
    }
    if (fwd->upgrade)
        put(&w, "Connection: upgrade\r\n", 21);
    else if (fwd->close)
        put(&w, "Connection: close\r\n", 19);
    if (fwd->extra)
        put_str(&w, fwd->extra);
    put(&w, "\r\n", 2);
    return finish(&w);
}

ssize_t http_write_response_head(char *out, size_t cap, const char *raw,
                                 const struct http_resp *resp, enum http_conn_mode conn,
                                 const char *extra)
{
    struct wbuf w = { out, 0, cap, 0 };
    int upgrade = resp->status == 101;
    const char *eol = memchr(raw, '\r', resp->head_len);

    /* The parser checked "HTTP/1.x " at the start, so bytes 8.. are " NNN ...". */
    if (!eol || eol - raw < 8)
        return -1;
    put(&w, "HTTP/1.1", 8);
    put(&w, raw + 8, (size_t)(eol - raw - 8));
    put(&w, "\r\n", 2);
    for (unsigned i = 0; i < resp->nhdrs; i++) {
        const struct http_hdr *h = &resp->hdrs[i];
        if (upgrade && name_is(h, "upgrade"))
            put_header_line(&w, h);
        else if (!http_is_hop_header(h, resp->hdrs, resp->nhdrs))
            put_header_line(&w, h);
    }
    if (upgrade)
        put(&w, "Connection: upgrade\r\n", 21);
    else if (conn == HTTP_CONN_CLOSE)
        put(&w, "Connection: close\r\n", 19);
    else if (conn == HTTP_CONN_KEEPALIVE)
        put(&w, "Connection: keep-alive\r\n", 24);
    if (extra)
        put_str(&w, extra);
    put(&w, "\r\n", 2);
    return finish(&w);
}

/* The error page: small, static, and the same shape for every status. */
static void put_error_body(struct wbuf *w, int status, const char *reason)
{
    put_str(w, "<html><head><title>");
    put_uint(w, (unsigned)status);
    put(w, " ", 1);
    put_str(w, reason);
    put_str(w, "</title></head><body><h1>");
    put_uint(w, (unsigned)status);
    put(w, " ", 1);
    put_str(w, reason);
    put_str(w, "</h1></body></html>\n");
}

static size_t error_body_len(int status, const char *reason)
{
    char tmp[256];
    struct wbuf w = { tmp, 0, sizeof(tmp), 0 };
    put_error_body(&w, status, reason);
    return w.len;
}

ssize_t http_write_error(char *out, size_t cap, int status, const char *extra,
                         int head_only)
{
    struct wbuf w = { out, 0, cap, 0 };
    const char *reason = http_reason(status);

    if (status < 100 || status > 999)
        return -1;
    put(&w, "HTTP/1.1 ", 9);
    put_uint(&w, (unsigned)status);
    put(&w, " ", 1);
    put_str(&w, reason);
    put_str(&w, "\r\nContent-Type: text/html\r\nCache-Control: no-store\r\nContent-Length: ");
    put_uint(&w, (unsigned)error_body_len(status, reason));
    put_str(&w, "\r\nConnection: close\r\n");
    if (extra)
        put_str(&w, extra);
    put(&w, "\r\n", 2);
    if (!head_only)
        put_error_body(&w, status, reason);
    return finish(&w);
}
