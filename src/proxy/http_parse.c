/* http_parse.c - strict HTTP/1.x head parser and body framer (see
 * http_parse.h and docs/http-parsing.md for what is refused and why).
 *
 * The head parser is stateless: the caller hands it everything received so
 * far and calls again when more arrives. Every complete line is validated
 * as soon as it is there, and the size limits are checked against the
 * bytes already buffered, so an incomplete head is refused the moment it
 * can no longer fit. Heads are bounded (max_header_size), so re-scanning
 * is cheap and keeps the code free of resumable state. */
#include "config.h"
#include "http_parse.h"

#include <string.h>

/* Body framer limits: a chunk-size line (with extensions) and the whole
 * trailer section. Generous for real clients, small for an attacker. */
#define CHUNK_LINE_MAX    4096
#define TRAILERS_MAX      8192
#define CHUNK_SIZE_DIGITS 16
#define CHUNK_SIZE_MAX    ((uint64_t)1 << 62)
/* Content-Length above this is refused: far beyond any real body, and it
 * keeps the value in int64_t with room to add. */
#define CL_DIGITS_MAX     18

/* ---- character classes -------------------------------------------------- */

/* Character classes as lookup tables: the parser tests every head byte,
 * so one load beats a chain of comparisons. */
#define CC_TCHAR 0x1    /* tchar, RFC 9110 5.6.2 */
#define CC_HOST  0x2    /* reg-name / IPv4: RFC 3986 unreserved, sub-delims, '%' */
#define CC_ALNUM (CC_TCHAR | CC_HOST)

static const uint8_t char_class[256] = {
    ['0' ... '9'] = CC_ALNUM, ['a' ... 'z'] = CC_ALNUM, ['A' ... 'Z'] = CC_ALNUM,
    ['!'] = CC_ALNUM, ['$'] = CC_ALNUM, ['&'] = CC_ALNUM, ['\''] = CC_ALNUM,
    ['*'] = CC_ALNUM, ['+'] = CC_ALNUM, ['-'] = CC_ALNUM, ['.'] = CC_ALNUM,
    ['_'] = CC_ALNUM, ['~'] = CC_ALNUM,
    ['#'] = CC_TCHAR, ['%'] = CC_TCHAR | CC_HOST, ['^'] = CC_TCHAR, ['`'] = CC_TCHAR,
    ['|'] = CC_TCHAR,
    ['('] = CC_HOST, [')'] = CC_HOST, [','] = CC_HOST, [';'] = CC_HOST, ['='] = CC_HOST,
};

static int is_tchar(unsigned char c)
{
    return char_class[c] & CC_TCHAR;
}

/* Bytes allowed inside a field value: VCHAR, SP, HTAB, obs-text. */
static int is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int ci_equal_len(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int ci_equal(const char *a, size_t alen, const char *b)
{
    return ci_equal_len(a, alen, b, strlen(b));
}

static int fail(struct http_error *err, int status, const char *reason)
{
    if (err) {
        err->status = status;
        err->reason = reason;
    }
    return HTTP_PARSE_ERROR;
}

/* ---- lines --------------------------------------------------------------- */

/* Finds the end of the line starting at pos. Returns 1 with *eol at the CR
 * of the CRLF, 0 if no LF is buffered yet, -1 on a bare CR or bare LF. */
static int find_line(const char *buf, size_t len, size_t pos, size_t *eol)
{
    const char *lf = memchr(buf + pos, '\n', len - pos);
    size_t end = lf ? (size_t)(lf - buf) : len;
    const char *cr = memchr(buf + pos, '\r', end - pos);

    if (cr && (size_t)(cr - buf) + 1 < len && (size_t)(cr - buf) + 1 != end)
        return -1;                              /* CR followed by something else */
    if (!lf)
        return 0;
    if (end == pos || buf[end - 1] != '\r')
        return -1;                              /* LF without CR */
    *eol = end - 1;
    return 1;
}

/* ---- list helpers (Connection, Transfer-Encoding, Content-Length) ------ */

/* Iterates comma-separated list elements, OWS trimmed, empty ones skipped
 * (RFC 9110 5.6.1). Returns 1 with the element in *e and *elen, 0 at the end. */
static int list_next(const char **p, const char *end, const char **e, size_t *elen)
{
    while (*p < end) {
        const char *s = *p;
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;
        *p = comma ? comma + 1 : end;
        while (s < stop && is_ows(*s))
            s++;
        while (stop > s && is_ows(stop[-1]))
            stop--;
        if (stop > s) {
            *e = s;
            *elen = (size_t)(stop - s);
            return 1;
        }
    }
    return 0;
}

/* ---- per-header semantics ---------------------------------------------- */

struct head_state {
    int is_request;
    int te_seen;            /* a Transfer-Encoding header was present */
    int te_chunked_final;   /* the last coding so far is chunked */
    int te_chunked_count;
    int te_unknown;
    unsigned host_count;
    const char *host; size_t host_len;
};

static int parse_cl_value(const char *v, size_t vlen, int64_t *out)
{
    const char *p = v, *end = v + vlen, *e;
    size_t elen;
    int64_t first = -1;

    if (vlen == 0)
        return -1;
    while (list_next(&p, end, &e, &elen)) {
        int64_t n = 0;
        if (elen > CL_DIGITS_MAX)
            return -1;
        for (size_t i = 0; i < elen; i++) {
            if (e[i] < '0' || e[i] > '9')
                return -1;
            n = n * 10 + (e[i] - '0');
        }
        if (first >= 0 && n != first)
            return -1;
        first = n;
    }
    /* ", ," holds no value at all */
    if (first < 0)
        return -1;
    *out = first;
    return 0;
}

static int on_content_length(const struct http_hdr *h, int64_t *cl, unsigned *flags,
                             struct http_error *err)
{
    int64_t v;
    if (parse_cl_value(h->value, h->value_len, &v) < 0)
        return fail(err, 400, "invalid Content-Length");
    if ((*flags & HTTP_F_HAS_CL) && v != *cl)
        return fail(err, 400, "conflicting Content-Length headers");
    *cl = v;
    *flags |= HTTP_F_HAS_CL;
    return 0;
}

static int known_coding(const char *c, size_t len)
{
    static const char *const names[] = {
        "gzip", "x-gzip", "deflate", "compress", "x-compress", NULL
    };
    for (int i = 0; names[i]; i++)
        if (ci_equal(c, len, names[i]))
            return 1;
    return 0;
}

static int on_transfer_encoding(const struct http_hdr *h, struct head_state *st,
                                struct http_error *err)
{
    const char *p = h->value, *end = h->value + h->value_len, *e;
    size_t elen;
    int any = 0;

    st->te_seen = 1;
    while (list_next(&p, end, &e, &elen)) {
        any = 1;
        st->te_chunked_final = ci_equal(e, elen, "chunked");
        if (st->te_chunked_final) {
            if (++st->te_chunked_count > 1)
                return fail(err, 400, "chunked applied twice");
        } else if (!known_coding(e, elen)) {
            st->te_unknown = 1;
        }
    }
    if (!any)
        return fail(err, 400, "empty Transfer-Encoding");
    return 0;
}

static void on_connection(const struct http_hdr *h, unsigned *flags)
{
    const char *p = h->value, *end = h->value + h->value_len, *e;
    size_t elen;

    while (list_next(&p, end, &e, &elen)) {
        if (ci_equal(e, elen, "close"))
            *flags |= HTTP_F_CONN_CLOSE;
        else if (ci_equal(e, elen, "keep-alive"))
            *flags |= HTTP_F_CONN_KEEPALIVE;
        else if (ci_equal(e, elen, "upgrade"))
            *flags |= HTTP_F_CONN_UPGRADE;
    }
}

static int is_host_char(unsigned char c)
{
    return char_class[c] & CC_HOST;
}

/* Validates "host[:port]" (host may be "[v6]") and returns the host's
 * length without the port, or -1. Empty is allowed (RFC 9112 3.2). */
static ssize_t authority_host_len(const char *s, size_t len)
{
    size_t i = 0, hlen;

    if (len > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb)
            return -1;
        for (i = 1; s + i < rb; i++)
            if (!(is_host_char((unsigned char)s[i]) || s[i] == ':'))
                return -1;
        i++;
    } else {
        while (i < len && is_host_char((unsigned char)s[i]))
            i++;
    }
    hlen = i;
    if (i == len)
        return (ssize_t)hlen;
    if (s[i] != ':')
        return -1;
    if (len - i - 1 > 5)
        return -1;
    for (i++; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    return (ssize_t)hlen;
}

static int on_host(const struct http_hdr *h, struct head_state *st, struct http_error *err)
{
    ssize_t hl = authority_host_len(h->value, h->value_len);
    if (++st->host_count > 1)
        return fail(err, 400, "multiple Host headers");
    if (hl < 0)
        return fail(err, 400, "invalid Host header");
    st->host = h->value;
    st->host_len = (size_t)hl;
    return 0;
}

/* Applies what one header means for framing and connection handling. */
static int on_header(const struct http_hdr *h, struct head_state *st,
                     int64_t *cl, unsigned *flags, struct http_error *err)
{
    const char *n = h->name;
    size_t nl = h->name_len;

    if (ci_equal(n, nl, "content-length"))
        return on_content_length(h, cl, flags, err);
    if (ci_equal(n, nl, "transfer-encoding"))
        return on_transfer_encoding(h, st, err);
    if (ci_equal(n, nl, "connection"))
        on_connection(h, flags);
    else if (ci_equal(n, nl, "upgrade"))
        *flags |= HTTP_F_UPGRADE;
    else if (st->is_request && ci_equal(n, nl, "host"))
        return on_host(h, st, err);
    else if (st->is_request && ci_equal(n, nl, "expect") &&
             ci_equal(h->value, h->value_len, "100-continue"))
        *flags |= HTTP_F_EXPECT_CONTINUE;
    return 0;
}

/* ---- header block -------------------------------------------------------- */

/* Splits one header line [s, eol) into name and trimmed value. */
static int split_header(const char *s, const char *eol, struct http_hdr *h,
                        struct http_error *err)
{
    const char *p = s, *v, *ve;

    if (is_ows(*s))
        return fail(err, 400, "obs-fold (line folding) in headers");
    while (p < eol && is_tchar((unsigned char)*p))
        p++;
    if (p == eol || *p != ':')
        return fail(err, 400, is_ows(*p) ? "whitespace before colon in header"
                                         : "invalid character in header name");
    if (p == s)
        return fail(err, 400, "empty header name");
    for (v = p + 1; v < eol; v++)
        if (!is_value_char((unsigned char)*v))
            return fail(err, 400, "control character in header value");
    v = p + 1;
    ve = eol;
    while (v < ve && is_ows(*v))
        v++;
    while (ve > v && is_ows(ve[-1]))
        ve--;
    h->name = s;
    h->name_len = (uint32_t)(p - s);
    h->value = v;
    h->value_len = (uint32_t)(ve - v);
    return 0;
}

struct head_out {
    struct http_hdr *hdrs;
    unsigned cap;           /* min(hdrs_cap, max_headers) */
    unsigned n;
    size_t head_len;
    int64_t cl;
    unsigned flags;
};

/* Parses header lines from pos until the blank line. Returns OK, INCOMPLETE
 * or ERROR; the size limits are checked by the caller. */
static int parse_headers(const char *buf, size_t len, size_t pos, struct head_state *st,
                         struct head_out *o, struct http_error *err)
{
    for (;;) {
        size_t eol;
        int r = find_line(buf, len, pos, &eol);
        if (r < 0)
            return fail(err, 400, "bare CR or LF in headers");
        if (r == 0)
            return HTTP_PARSE_INCOMPLETE;
        if (eol == pos) {
            o->head_len = eol + 2;
            return HTTP_PARSE_OK;
        }
        if (o->n >= o->cap)
            return fail(err, 431, "too many headers");
        struct http_hdr *h = &o->hdrs[o->n];
        if (split_header(buf + pos, buf + eol, h, err) < 0)
            return HTTP_PARSE_ERROR;
        o->n++;
        if (on_header(h, st, &o->cl, &o->flags, err) < 0)
            return HTTP_PARSE_ERROR;
        pos = eol + 2;
    }
}

/* Framing rules shared by requests and responses (RFC 9112 6.1-6.3). */
static int check_framing(struct head_state *st, struct head_out *o, int version_minor,
                         struct http_error *err)
{
    if (!st->te_seen)
        return 0;
    if (o->flags & HTTP_F_HAS_CL)
        return fail(err, 400, "Content-Length with Transfer-Encoding");
    if (version_minor == 0)
        return fail(err, 400, "Transfer-Encoding in HTTP/1.0");
    if (st->te_chunked_final) {
        o->flags |= HTTP_F_CHUNKED;
        return 0;
    }
    if (st->te_chunked_count)
        return fail(err, 400, "chunked is not the final transfer coding");
    if (st->is_request)
        return fail(err, st->te_unknown ? 501 : 400,
                    st->te_unknown ? "unknown transfer coding"
                                   : "chunked is not the final transfer coding");
    return 0;   /* response: read until close */
}

/* ---- start lines --------------------------------------------------------- */

/* "HTTP/1.0" or "HTTP/1.1"; a well-formed other version is a 505. */
static int parse_version(const char *s, size_t len, int *minor, struct http_error *err)
{
    if (len != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' ||
        s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9')
        return fail(err, 400, "malformed HTTP version");
    if (s[5] != '1' || s[7] > '1')
        return fail(err, 505, "unsupported HTTP version");
    *minor = s[7] - '0';
    return 0;
}

/* Splits the target into path and query, and for absolute-form takes the
 * authority as the host (RFC 9112 3.2.2: it overrides Host). */
static int split_target(struct http_req *req, struct http_error *err)
{
    const char *t = req->target, *end = t + req->target_len, *p = t, *q;

    if (t[0] == '*' && req->target_len == 1) {
        if (req->method != HTTP_M_OPTIONS)
            return fail(err, 400, "asterisk-form target outside OPTIONS");
        req->path = t; req->path_len = 1;
        return 0;
    }
    if (req->method == HTTP_M_CONNECT) {
        ssize_t hl = authority_host_len(t, req->target_len);
        if (hl <= 0 || (size_t)hl == req->target_len)
            return fail(err, 400, "CONNECT needs host:port");
        req->host = t; req->host_len = (size_t)hl;
        req->path = t; req->path_len = 0;
        return 0;
    }
    if (t[0] != '/') {
        /* absolute-form: scheme "://" authority [path] */
        while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                           (p > t && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))))
            p++;
        if (p == t || end - p < 3 || memcmp(p, "://", 3) != 0)
            return fail(err, 400, "invalid request target");
        const char *auth = p + 3, *ae = auth;
        while (ae < end && *ae != '/' && *ae != '?')
            ae++;
        ssize_t hl = authority_host_len(auth, (size_t)(ae - auth));
        if (hl <= 0)
            return fail(err, 400, "invalid authority in request target");
        req->host = auth; req->host_len = (size_t)hl;
        p = ae;
        if (p == end || *p == '?') {
            req->path = "/"; req->path_len = 1;
            goto query;
        }
    }
    q = memchr(p, '?', (size_t)(end - p));
    req->path = p;
    req->path_len = (size_t)((q ? q : end) - p);
    p = q ? q : end;
query:
    if (p < end && *p == '?') {
        req->query = p + 1;
        req->query_len = (size_t)(end - p - 1);
    }
    return 0;
}

static int parse_request_line(const char *s, size_t len, struct http_req *req,
                              struct http_error *err)
{
    const char *end = s + len, *sp1, *sp2;
    const char *p;

    for (p = s; p < end && is_tchar((unsigned char)*p); p++)
        ;
    if (p == s || p == end || *p != ' ')
        return fail(err, 400, "malformed method");
    sp1 = p;
    for (p = sp1 + 1; p < end && (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f; p++)
        ;
    if (p == sp1 + 1 || p == end || *p != ' ')
        return fail(err, 400, "malformed request target");
    sp2 = p;
    if (parse_version(sp2 + 1, (size_t)(end - sp2 - 1), &req->version_minor, err) < 0)
        return HTTP_PARSE_ERROR;
    req->method_str = s;
    req->method_len = (size_t)(sp1 - s);
    req->method = http_method_from_str(s, req->method_len);
    req->target = sp1 + 1;
    req->target_len = (size_t)(sp2 - sp1 - 1);
    return split_target(req, err);
}

/* Finds the start line and enforces the line limit even when incomplete. */
static int start_line(const char *buf, size_t len, size_t max_line, int line_status,
                      size_t *eol, struct http_error *err)
{
    int r = find_line(buf, len, 0, eol);
    if (r < 0)
        return fail(err, 400, "bare CR or LF in start line");
    if (r == 0) {
        size_t have = (len > 0 && buf[len - 1] == '\r') ? len - 1 : len;
        if (max_line && have > max_line)
            return fail(err, line_status, "start line too long");
        return HTTP_PARSE_INCOMPLETE;
    }
    if (max_line && *eol > max_line)
        return fail(err, line_status, "start line too long");
    return HTTP_PARSE_OK;
}

static int head_limit(int r, size_t len, const struct head_out *o, size_t max,
                      int status, struct http_error *err)
{
    if (!max)
        return r;
    if (r == HTTP_PARSE_OK && o->head_len > max)
        return fail(err, status, "header section too large");
    if (r == HTTP_PARSE_INCOMPLETE && len >= max)
        return fail(err, status, "header section too large");
    return r;
}

static void head_out_init(struct head_out *o, struct http_hdr *hdrs, unsigned cap,
                          unsigned max)
{
    memset(o, 0, sizeof(*o));
    o->hdrs = hdrs;
    o->cap = (max && max < cap) ? max : cap;
    o->cl = -1;
}

int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_req *req, struct http_error *err)
{
    struct head_state st = { .is_request = 1 };
    struct head_out o;
    size_t eol;
    int r;

    struct http_hdr *hdrs = req->hdrs;
    unsigned cap = req->hdrs_cap;

    memset(req, 0, sizeof(*req));
    req->hdrs = hdrs;
    req->hdrs_cap = cap;
    req->content_length = -1;
    r = start_line(buf, len, lim->max_request_line, 414, &eol, err);
    if (r != HTTP_PARSE_OK)
        return r;
    if (parse_request_line(buf, eol, req, err) < 0)
        return HTTP_PARSE_ERROR;
    head_out_init(&o, req->hdrs, req->hdrs_cap, lim->max_headers);
    r = parse_headers(buf, len, eol + 2, &st, &o, err);
    r = head_limit(r, len, &o, lim->max_header_size, 431, err);
    if (r != HTTP_PARSE_OK)
        return r;
    if (check_framing(&st, &o, req->version_minor, err) < 0)
        return HTTP_PARSE_ERROR;
    if (req->version_minor == 1 && st.host_count == 0)
        return fail(err, 400, "HTTP/1.1 request without Host");
    if (!req->host) {
        req->host = st.host;
        req->host_len = st.host_len;
    }
    if (req->version_minor == 0 && !(o.flags & HTTP_F_CONN_KEEPALIVE))
        o.flags |= HTTP_F_CONN_CLOSE;
    req->nhdrs = o.n;
    req->head_len = o.head_len;
    req->content_length = o.cl;
    req->flags = o.flags;
    return HTTP_PARSE_OK;
}

static int parse_status_line(const char *s, size_t len, struct http_resp *resp,
                             struct http_error *err)
{
    if (len < 12 || s[8] != ' ')
        return fail(err, 502, "malformed status line");
    if (parse_version(s, 8, &resp->version_minor, err) < 0)
        return fail(err, 502, "bad HTTP version in status line");
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return fail(err, 502, "malformed status code");
    resp->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (resp->status < 100 || resp->status > 599)
        return fail(err, 502, "status code out of range");
    /* A missing reason phrase (with or without its SP) is common and harmless. */
    if (len > 12 && s[12] != ' ')
        return fail(err, 502, "malformed status line");
    for (size_t i = 13; i < len; i++)
        if (!is_value_char((unsigned char)s[i]))
            return fail(err, 502, "control character in reason phrase");
    return 0;
}

/* Response errors all become 502 for the client; err->reason says why. */
int http_parse_response(const char *buf, size_t len, const struct http_limits *lim,
                        struct http_resp *resp, struct http_error *err)
{
    struct head_state st = { .is_request = 0 };
    struct head_out o;
    size_t eol;
    int r;

    resp->status = 0; resp->version_minor = 0; resp->nhdrs = 0;
    resp->head_len = 0; resp->content_length = -1; resp->flags = 0;
    r = start_line(buf, len, lim->max_request_line, 502, &eol, err);
    if (r != HTTP_PARSE_OK)
        return r;
    if (parse_status_line(buf, eol, resp, err) < 0)
        return HTTP_PARSE_ERROR;
    head_out_init(&o, resp->hdrs, resp->hdrs_cap, lim->max_headers);
    r = parse_headers(buf, len, eol + 2, &st, &o, err);
    r = head_limit(r, len, &o, lim->max_header_size, 502, err);
    if (r == HTTP_PARSE_ERROR && err)
        err->status = 502;
    if (r != HTTP_PARSE_OK)
        return r;
    if (check_framing(&st, &o, resp->version_minor, err) < 0)
        return fail(err, 502, err ? err->reason : "bad framing");
    if (resp->version_minor == 0 && !(o.flags & HTTP_F_CONN_KEEPALIVE))
        o.flags |= HTTP_F_CONN_CLOSE;
    resp->nhdrs = o.n;
    resp->head_len = o.head_len;
    resp->content_length = o.cl;
    resp->flags = o.flags;
    return HTTP_PARSE_OK;
}

/* ---- body kinds (RFC 9112 6.3) ------------------------------------------ */

enum http_body_kind http_req_body_kind(const struct http_req *req)
{
    if (req->flags & HTTP_F_CHUNKED)
        return HTTP_BODY_CHUNKED;
    if ((req->flags & HTTP_F_HAS_CL) && req->content_length > 0)
        return HTTP_BODY_LENGTH;
    return HTTP_BODY_NONE;
}

enum http_body_kind http_resp_body_kind(const struct http_resp *resp,
                                        enum http_method req_method)
{
    if (req_method == HTTP_M_HEAD)
        return HTTP_BODY_NONE;
    if (resp->status < 200 || resp->status == 204 || resp->status == 304)
        return HTTP_BODY_NONE;
    if (req_method == HTTP_M_CONNECT && resp->status < 300)
        return HTTP_BODY_NONE;          /* the connection becomes a tunnel */
    if (resp->flags & HTTP_F_CHUNKED)
        return HTTP_BODY_CHUNKED;
    if (resp->flags & HTTP_F_HAS_CL)
        return resp->content_length > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
    return HTTP_BODY_UNTIL_CLOSE;
}

/* ---- chunked framer ------------------------------------------------------ */

enum {
    CH_SIZE = 0,        /* chunk-size hex digits */
    CH_EXT,             /* chunk extensions up to CR */
    CH_SIZE_LF,         /* LF after the size line */
    CH_DATA,
    CH_DATA_CR,         /* CRLF after chunk data */
    CH_DATA_LF,
    CH_TRAILER_START,   /* start of a trailer line or the final CRLF */
    CH_TRAILER_NAME,
    CH_TRAILER_VALUE,
    CH_TRAILER_LF,
    CH_END_LF,          /* LF of the final CRLF */
    CH_DONE,
};

void http_body_init(struct http_body *b, enum http_body_kind kind, uint64_t content_length)
{
    memset(b, 0, sizeof(*b));
    b->kind = kind;
    b->remaining = kind == HTTP_BODY_LENGTH ? content_length : 0;
    b->state = CH_SIZE;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)lower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* One byte of a chunk-size line. Returns 0 or -1. */
static int chunk_size_byte(struct http_body *b, char c)
{
    int h = hex_value(c);
    if (h >= 0) {
        if (++b->size_digits > CHUNK_SIZE_DIGITS)
            return -1;
        b->remaining = b->remaining * 16 + (uint64_t)h;
        return b->remaining > CHUNK_SIZE_MAX ? -1 : 0;
    }
    if (b->size_digits == 0)
        return -1;
    if (c == ';')
        b->state = CH_EXT;
    else if (c == '\r')
        b->state = CH_SIZE_LF;
    else
        return -1;
    return 0;
}

/* One byte of a trailer section (field lines after the last chunk). */
static int trailer_byte(struct http_body *b, char c)
{
    unsigned char u = (unsigned char)c;
    if (++b->trailer_bytes > TRAILERS_MAX)
        return -1;
    switch (b->state) {
    case CH_TRAILER_START:
        if (c == '\r') { b->state = CH_END_LF; return 0; }
        if (!is_tchar(u))
            return -1;          /* obs-fold, or junk */
        b->state = CH_TRAILER_NAME;
        return 0;
    case CH_TRAILER_NAME:
        if (c == ':') { b->state = CH_TRAILER_VALUE; return 0; }
        return is_tchar(u) ? 0 : -1;
    case CH_TRAILER_VALUE:
        if (c == '\r') { b->state = CH_TRAILER_LF; return 0; }
        return is_value_char(u) ? 0 : -1;
    case CH_TRAILER_LF:
        if (c != '\n')
            return -1;
        b->state = CH_TRAILER_START;
        return 0;
    }
    return -1;
}

/* One framing byte (anything that is not chunk data). */
static int chunk_byte(struct http_body *b, char c)
{
    switch (b->state) {
    case CH_SIZE:
        if (++b->line_len > CHUNK_LINE_MAX)
            return -1;
        return chunk_size_byte(b, c);
    case CH_EXT:
        if (++b->line_len > CHUNK_LINE_MAX)
            return -1;
        if (c == '\r')
            b->state = CH_SIZE_LF;
        else if (!is_value_char((unsigned char)c))
            return -1;
        return 0;
    case CH_SIZE_LF:
        if (c != '\n')
            return -1;
        b->line_len = 0;
        b->size_digits = 0;
        b->state = b->remaining ? CH_DATA : CH_TRAILER_START;
        return 0;
    case CH_DATA_CR:
        if (c != '\r')
            return -1;
        b->state = CH_DATA_LF;
        return 0;
    case CH_DATA_LF:
        if (c != '\n')
            return -1;
        b->state = CH_SIZE;
        return 0;
    case CH_END_LF:
        if (c != '\n')
            return -1;
        b->state = CH_DONE;
        return 0;
    default:
        return trailer_byte(b, c);
    }
}

static ssize_t feed_chunked(struct http_body *b, const char *data, size_t len, int *done)
{
    size_t i = 0;

    while (i < len && b->state != CH_DONE) {
        if (b->state == CH_DATA) {
            size_t n = len - i;
            if (n > b->remaining)
                n = (size_t)b->remaining;
            b->remaining -= n;
            b->payload += n;
            i += n;
            if (b->remaining == 0)
                b->state = CH_DATA_CR;
            continue;
        }
        if (chunk_byte(b, data[i]) < 0)
            return -1;
        i++;
    }
    *done = b->state == CH_DONE;
    return (ssize_t)i;
}

ssize_t http_body_feed(struct http_body *b, const char *data, size_t len, int *done)
{
    size_t n;

    *done = 0;
    switch (b->kind) {
    case HTTP_BODY_NONE:
        *done = 1;
        return 0;
    case HTTP_BODY_UNTIL_CLOSE:
        b->payload += len;
        return (ssize_t)len;
    case HTTP_BODY_LENGTH:
        n = len < b->remaining ? len : (size_t)b->remaining;
        b->remaining -= n;
        b->payload += n;
        *done = b->remaining == 0;
        return (ssize_t)n;
    case HTTP_BODY_CHUNKED:
        return feed_chunked(b, data, len, done);
    }
    return -1;
}

/* ---- lookups ------------------------------------------------------------- */

const struct http_hdr *http_find_header(const struct http_hdr *hdrs, unsigned n,
                                        const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (ci_equal(hdrs[i].name, hdrs[i].name_len, name))
            return &hdrs[i];
    return NULL;
}

/* Looks for name=value among ';'-separated pairs (cookies) or '&'-separated
 * ones (query strings). Names compare exactly: both are case-sensitive. */
static int find_pair(const char *s, size_t slen, char sep, const char *name,
                     const char **val, size_t *vlen)
{
    const char *p = s, *end = s + slen;
    size_t nlen = strlen(name);

    while (p < end) {
        const char *stop = memchr(p, sep, (size_t)(end - p));
        const char *e = stop ? stop : end, *eq;
        while (sep == ';' && p < e && is_ows(*p))
            p++;
        eq = memchr(p, '=', (size_t)(e - p));
        const char *ne = eq ? eq : e;
        if ((size_t)(ne - p) == nlen && memcmp(p, name, nlen) == 0) {
            *val = eq ? eq + 1 : e;
            *vlen = eq ? (size_t)(e - eq - 1) : 0;
            return 1;
        }
        p = stop ? stop + 1 : end;
    }
    return 0;
}

int http_find_cookie(const struct http_hdr *hdrs, unsigned n, const char *name,
                     const char **val, size_t *len)
{
    for (unsigned i = 0; i < n; i++) {
        if (!ci_equal(hdrs[i].name, hdrs[i].name_len, "cookie"))
            continue;
        if (find_pair(hdrs[i].value, hdrs[i].value_len, ';', name, val, len))
            return 1;
    }
    return 0;
}

int http_find_query_param(const char *query, size_t query_len, const char *name,
                          const char **val, size_t *len)
{
    if (!query)
        return 0;
    return find_pair(query, query_len, '&', name, val, len);
}

/* Headers that describe the message framing or target. A client must not be
 * able to have them stripped by naming them in Connection: dropping
 * Content-Length on the way would smuggle the body as a second request. */
static int is_protected_header(const char *name, size_t len)
{
    return ci_equal(name, len, "content-length") ||
           ci_equal(name, len, "transfer-encoding") || ci_equal(name, len, "host");
}

static int named_by_connection(const struct http_hdr *h, const struct http_hdr *hdrs,
                               unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const char *p, *end, *e;
        size_t elen;
        if (!ci_equal(hdrs[i].name, hdrs[i].name_len, "connection"))
            continue;
        p = hdrs[i].value;
        end = p + hdrs[i].value_len;
        while (list_next(&p, end, &e, &elen))
            if (ci_equal_len(e, elen, h->name, h->name_len))
                return 1;
    }
    return 0;
}

int http_is_hop_header(const struct http_hdr *h, const struct http_hdr *hdrs, unsigned n)
{
    static const char *const hop[] = {
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", NULL
    };
    for (int i = 0; hop[i]; i++)
        if (ci_equal(h->name, h->name_len, hop[i]))
            return 1;
    if (is_protected_header(h->name, h->name_len))
        return 0;
    return named_by_connection(h, hdrs, n);
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    }
    return "Unknown";
}

enum http_method http_method_from_str(const char *s, size_t len)
{
    static const struct { const char *name; enum http_method m; } methods[] = {
        { "GET", HTTP_M_GET }, { "HEAD", HTTP_M_HEAD }, { "POST", HTTP_M_POST },
        { "PUT", HTTP_M_PUT }, { "DELETE", HTTP_M_DELETE }, { "OPTIONS", HTTP_M_OPTIONS },
        { "PATCH", HTTP_M_PATCH }, { "TRACE", HTTP_M_TRACE }, { "CONNECT", HTTP_M_CONNECT },
    };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strlen(methods[i].name) == len && memcmp(s, methods[i].name, len) == 0)
            return methods[i].m;
    return HTTP_M_OTHER;
}
