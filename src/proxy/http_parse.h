/* http_parse.h - strict HTTP/1.x message-head parsing and body framing
 * (RFC 9110 / 9112), zero-copy: results point into the caller's buffer.
 *
 * Strict means anything that two parsers could read differently is an
 * error, never guessed at: bare CR or bare LF line endings, obs-fold, NUL
 * or control bytes in headers, whitespace before a header's colon,
 * Content-Length with Transfer-Encoding, differing Content-Lengths, a
 * Transfer-Encoding whose final coding is not chunked (requests), invalid
 * chunk sizes. Requests that fail get a status code for the answer. */
#ifndef TANDEM_HTTP_PARSE_H
#define TANDEM_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct http_hdr {
    const char *name;
    const char *value;      /* leading and trailing whitespace trimmed */
    uint32_t name_len;
    uint32_t value_len;
};

enum http_method {
    HTTP_M_OTHER = 0, HTTP_M_GET, HTTP_M_HEAD, HTTP_M_POST, HTTP_M_PUT,
    HTTP_M_DELETE, HTTP_M_OPTIONS, HTTP_M_PATCH, HTTP_M_TRACE, HTTP_M_CONNECT,
};

struct http_limits {
    size_t max_request_line;   /* status 414 past this */
    size_t max_header_size;    /* whole head incl. request line: 431 past this */
    unsigned max_headers;      /* 431 past this; must be <= the hdrs capacity */
};

/* Parse results. */
enum { HTTP_PARSE_ERROR = -1, HTTP_PARSE_OK = 0, HTTP_PARSE_INCOMPLETE = 1 };

struct http_error {
    int status;             /* 400, 414, 431, 501 (unknown Transfer-Encoding), 505 */
    const char *reason;     /* static text for the log line */
};

/* Flags derived from the headers. */
#define HTTP_F_CHUNKED         0x0001  /* Transfer-Encoding: chunked */
#define HTTP_F_CONN_CLOSE      0x0002  /* Connection: close (or HTTP/1.0 without keep-alive) */
#define HTTP_F_CONN_KEEPALIVE  0x0004  /* Connection: keep-alive */
#define HTTP_F_CONN_UPGRADE    0x0008  /* Connection: upgrade */
#define HTTP_F_UPGRADE         0x0010  /* an Upgrade header is present */
#define HTTP_F_EXPECT_CONTINUE 0x0020  /* Expect: 100-continue */
#define HTTP_F_HAS_CL          0x0040  /* Content-Length present */

struct http_req {
    enum http_method method;
    const char *method_str; size_t method_len;
    const char *target;     size_t target_len;   /* as sent */
    const char *path;       size_t path_len;     /* target up to '?' */
    const char *query;      size_t query_len;    /* after '?', without it; 0 if none */
    int version_minor;                           /* 0 or 1 (HTTP/1.x only) */
    struct http_hdr *hdrs;                       /* caller's array */
    unsigned nhdrs;
    unsigned hdrs_cap;                           /* capacity of hdrs */
    size_t head_len;                             /* bytes up to and incl. the blank line */
    int64_t content_length;                      /* -1 if none */
    unsigned flags;                              /* HTTP_F_* */
    const char *host; size_t host_len;           /* Host header (port stripped), or authority */
};

struct http_resp {
    int status;
    int version_minor;
    struct http_hdr *hdrs;
    unsigned nhdrs;
    unsigned hdrs_cap;
    size_t head_len;
    int64_t content_length;
    unsigned flags;
};

/* Parses a request head from buf[0..len). Sets req->hdrs_cap before the
 * call. Returns HTTP_PARSE_OK (req filled), HTTP_PARSE_INCOMPLETE (need more
 * bytes; the limits are already enforced on what is there, so a client
 * cannot make it wait forever for an oversized line), or HTTP_PARSE_ERROR
 * with *err set. A request with no Host header in HTTP/1.1 is a 400. */
int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_req *req, struct http_error *err);

/* Parses a response head. Same return convention. */
int http_parse_response(const char *buf, size_t len, const struct http_limits *lim,
                        struct http_resp *resp, struct http_error *err);

/* How a message body is delimited. */
enum http_body_kind {
    HTTP_BODY_NONE = 0,        /* no body follows */
    HTTP_BODY_LENGTH,          /* Content-Length bytes */
    HTTP_BODY_CHUNKED,         /* chunked coding up to the last chunk and trailers */
    HTTP_BODY_UNTIL_CLOSE,     /* response read until the server closes */
};

enum http_body_kind http_req_body_kind(const struct http_req *req);
/* A response's body kind depends on the request: HEAD and 1xx/204/304 have none. */
enum http_body_kind http_resp_body_kind(const struct http_resp *resp, enum http_method req_method);

/* Incremental body framer over the raw (still encoded) bytes, so the proxy
 * can forward them untouched while knowing where the message ends. */
struct http_body {
    enum http_body_kind kind;
    uint64_t remaining;        /* LENGTH: bytes left; CHUNKED: bytes left in this chunk */
    uint64_t payload;          /* decoded payload bytes seen so far */
    int state;                 /* chunked-parser state (internal) */
    unsigned line_len;         /* bytes in the current size/trailer line (bounded) */
    unsigned trailer_bytes;    /* total trailer size (bounded) */
    unsigned size_digits;      /* hex digits read for this chunk size */
};

void http_body_init(struct http_body *b, enum http_body_kind kind, uint64_t content_length);

/* Consumes up to len bytes. Returns how many belong to this message (all of
 * them unless the message ends inside data), sets *done = 1 once the body is
 * complete. Returns -1 on malformed chunked framing (bad size, missing CRLF,
 * oversized chunk-size line or trailers). */
ssize_t http_body_feed(struct http_body *b, const char *data, size_t len, int *done);

/* Case-insensitive header lookup: first header named `name`, or NULL. */
const struct http_hdr *http_find_header(const struct http_hdr *hdrs, unsigned n,
                                        const char *name);

/* Finds cookie `name` in the Cookie headers; returns 1 and sets val/len. */
int http_find_cookie(const struct http_hdr *hdrs, unsigned n, const char *name,
                     const char **val, size_t *len);

/* Finds query parameter `name` (no percent-decoding); 1 if found. */
int http_find_query_param(const char *query, size_t query_len, const char *name,
                          const char **val, size_t *len);

/* 1 if the header must not be forwarded (hop-by-hop per RFC 9110 7.6.1:
 * Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade,
 * Proxy-Authenticate/-Authorization is NOT hop-by-hop for a reverse proxy
 * and is kept) or is named by a Connection header of the message. */
int http_is_hop_header(const struct http_hdr *h, const struct http_hdr *hdrs, unsigned n);

/* Standard reason phrase for a status code ("OK", "Bad Request", ...). */
const char *http_reason(int status);

enum http_method http_method_from_str(const char *s, size_t len);

#endif
