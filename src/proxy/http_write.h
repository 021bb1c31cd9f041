/* http_write.h - the heads tandem-proxy sends: forwarded requests,
 * forwarded responses and its own error responses. Pure: output goes to a
 * caller buffer; every builder returns the length written, or -1 when it
 * does not fit (the buffer may then hold a partial head).
 *
 * Built for the hot path: one pass over the parsed headers, unchanged
 * header lines copied with memcpy from the receive buffer (the parser's
 * zero-copy pointers), no allocation, no formatting library. */
#ifndef TANDEM_HTTP_WRITE_H
#define TANDEM_HTTP_WRITE_H

#include <stddef.h>
#include <sys/types.h>

#include "http_parse.h"

/* What the proxy adds to a request on its way to a server. NULL / 0
 * fields are left out. */
struct http_fwd_req {
    const char *client_ip;   /* appended to X-Forwarded-For ("a, b, ip") */
    const char *proto;       /* X-Forwarded-Proto value ("http"/"https"); replaces any */
    const char *request_id;  /* X-Request-Id, added only when the request has none */
    const char *extra;       /* extra header lines, each ending in "\r\n" */
    int upgrade;             /* forward Upgrade and send "Connection: upgrade" */
    int close;               /* send "Connection: close" (no server keep-alive) */
};

/* The request head for the server: the request line as received but with
 * version HTTP/1.1, every header except hop-by-hop ones (http_is_hop_header),
 * X-Forwarded-For merged into one line, then the blank line. */
ssize_t http_write_request_head(char *out, size_t cap, const struct http_req *req,
                                const struct http_fwd_req *fwd);

/* How the client connection continues after this response. */
enum http_conn_mode {
    HTTP_CONN_DEFAULT = 0,   /* HTTP/1.1 keep-alive: no Connection header */
    HTTP_CONN_CLOSE,         /* "Connection: close": the proxy closes after it */
    HTTP_CONN_KEEPALIVE,     /* "Connection: keep-alive" for an HTTP/1.0 client that asked */
};

/* The response head for the client. raw is the buffer resp was parsed from
 * (the status line is copied from it, version rewritten to HTTP/1.1). For a
 * 101 the Upgrade header and "Connection: upgrade" are kept and conn is
 * ignored. extra: header lines ending in "\r\n", or NULL. */
ssize_t http_write_response_head(char *out, size_t cap, const char *raw,
                                 const struct http_resp *resp, enum http_conn_mode conn,
                                 const char *extra);

/* A complete error response (head and short HTML body) for status, with
 * Content-Length and "Connection: close". extra: header lines ending in
 * "\r\n" (e.g. "Retry-After: 5\r\n"), or NULL. head_only leaves the body
 * out (answer to HEAD) but keeps its Content-Length. */
ssize_t http_write_error(char *out, size_t cap, int status, const char *extra,
                         int head_only);

#endif
