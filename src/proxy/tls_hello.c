/* tls_hello.c - the ClientHello reader (tls_hello.h).
 *
 * Layout read (RFC 8446 5.1, 4.1.2; RFC 6066 3; RFC 7301 3.1):
 *   record:    type(1)=22 version(2)=0x0301..0x0304 length(2)=1..16384 fragment
 *   handshake: type(1)=1 length(3) body, possibly split over several records
 *   body:      legacy_version(2) random(32) session_id<0..32>
 *              cipher_suites<2..2^16-2> compression_methods<1..2^8-1>
 *              [extensions<0..2^16-1>]
 * Every length is checked against what is left before anything is read. */
#include "config.h"
#include "tls_hello.h"

#include <string.h>

#define REC_HANDSHAKE   22
#define REC_HDR_LEN     5
#define REC_MAX_LEN     16384
#define HS_CLIENT_HELLO 1
#define HS_HDR_LEN      4
#define EXT_SERVER_NAME 0
#define EXT_ALPN        16
#define EXT_VERSIONS    43
#define SNI_HOST_NAME   0
#define TLS13_VERSION   0x0304

/* A bounded view of the handshake body. */
struct cur {
    const uint8_t *p;
    size_t n;
};

void hello_reader_init(struct hello_reader *r)
{
    r->in_off = 0;
    r->rec_left = 0;
    r->nrecords = 0;
    r->msg_len = 0;
    r->error = NULL;
}

const char *hello_status_name(enum hello_status st)
{
    switch (st) {
    case HELLO_NEED_MORE: return "need more";
    case HELLO_OK: return "ok";
    case HELLO_NOT_TLS: return "not TLS";
    case HELLO_MALFORMED: return "malformed";
    }
    return "?";
}

static enum hello_status hello_fail(struct hello_reader *r, enum hello_status st,
                                    const char *why)
{
    r->error = why;
    return st;
}

/* ---- the handshake body ---- */

static int cur_take(struct cur *c, size_t k, const uint8_t **out)
{
    if (c->n < k)
        return -1;
    *out = c->p;
    c->p += k;
    c->n -= k;
    return 0;
}

static int cur_u16(struct cur *c, unsigned *v)
{
    const uint8_t *b;

    if (cur_take(c, 2, &b) < 0)
        return -1;
    *v = (unsigned)b[0] << 8 | b[1];
    return 0;
}

/* A vector with a 1- or 2-byte length prefix, as its own view. */
static int cur_vec(struct cur *c, int prefix, struct cur *out)
{
    const uint8_t *b;
    unsigned len;

    if (prefix == 1) {
        if (cur_take(c, 1, &b) < 0)
            return -1;
        len = b[0];
    } else if (cur_u16(c, &len) < 0) {
        return -1;
    }
    out->n = len;
    return cur_take(c, len, &out->p);
}

int hello_name_copy(const uint8_t *name, size_t len, char *out)
{
    size_t label = 0;

    if (len == 0 || len > HELLO_NAME_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        uint8_t ch = name[i];
        if (ch == '.') {
            if (label == 0)
                return -1;           /* empty label: leading or double dot */
            label = 0;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-') {
            label++;
        } else if (ch >= 'A' && ch <= 'Z') {
            ch = (uint8_t)(ch + 32);
            label++;
        } else {
            return -1;
        }
        if (label > 63)
            return -1;
        out[i] = (char)ch;
    }
    if (label == 0)
        return -1;                   /* RFC 6066: no trailing dot */
    out[len] = '\0';
    return 0;
}

/* server_name: a list of (type, name); at most one host_name. */
static const char *ext_server_name(struct cur data, struct hello_info *info)
{
    struct cur list, name;
    const uint8_t *type;

    if (cur_vec(&data, 2, &list) < 0 || data.n != 0 || list.n == 0)
        return "bad server_name extension length";
    while (list.n > 0) {
        if (cur_take(&list, 1, &type) < 0 || cur_vec(&list, 2, &name) < 0)
            return "bad server_name entry length";
        if (*type != SNI_HOST_NAME)
            continue;
        if (info->has_sni)
            return "two host names in server_name";
        if (hello_name_copy(name.p, name.n, info->sni) < 0)
            return "server name is not a valid DNS name";
        info->has_sni = 1;
    }
    return NULL;
}

static const char *ext_alpn(struct cur data, struct hello_info *info)
{
    struct cur list, proto;

    if (cur_vec(&data, 2, &list) < 0 || data.n != 0 || list.n == 0)
        return "bad ALPN extension length";
    info->alpn = list.p;
    info->alpn_len = list.n;
    while (list.n > 0)
        if (cur_vec(&list, 1, &proto) < 0 || proto.n == 0)
            return "bad ALPN protocol length";
    return NULL;
}

static const char *ext_versions(struct cur data, struct hello_info *info)
{
    struct cur list;
    unsigned v;

    if (cur_vec(&data, 1, &list) < 0 || data.n != 0 || list.n == 0 || list.n % 2)
        return "bad supported_versions length";
    while (cur_u16(&list, &v) == 0)
        if (v == TLS13_VERSION)
            info->tls13 = 1;
    return NULL;
}

/* Walks the extensions; the three we read may appear once each. */
static const char *hello_extensions(struct cur exts, struct hello_info *info)
{
    unsigned seen = 0, type, bit;
    struct cur data;
    const char *why = NULL;

    while (exts.n > 0 && !why) {
        if (cur_u16(&exts, &type) < 0 || cur_vec(&exts, 2, &data) < 0)
            return "bad extension length";
        bit = type == EXT_SERVER_NAME ? 1 : type == EXT_ALPN ? 2 : type == EXT_VERSIONS ? 4 : 0;
        if (seen & bit)
            return "repeated extension";
        seen |= bit;
        if (type == EXT_SERVER_NAME)
            why = ext_server_name(data, info);
        else if (type == EXT_ALPN)
            why = ext_alpn(data, info);
        else if (type == EXT_VERSIONS)
            why = ext_versions(data, info);
    }
    return why;
}

static const char *hello_body(const uint8_t *body, size_t len, struct hello_info *info)
{
    struct cur c = { body, len }, v;
    const uint8_t *skip;
    unsigned version;

    if (cur_u16(&c, &version) < 0 || version >> 8 != 3)
        return "bad ClientHello version";
    if (cur_take(&c, 32, &skip) < 0)
        return "ClientHello too short";
    if (cur_vec(&c, 1, &v) < 0 || v.n > 32)
        return "bad session id length";
    if (cur_vec(&c, 2, &v) < 0 || v.n == 0 || v.n % 2)
        return "bad cipher suites length";
    if (cur_vec(&c, 1, &v) < 0 || v.n == 0)
        return "bad compression methods length";
    if (c.n == 0)
        return NULL;                 /* no extensions (old clients) */
    if (cur_vec(&c, 2, &v) < 0 || c.n != 0)
        return "bad extensions length";
    return hello_extensions(v, info);
}

/* ---- records and reassembly ---- */

/* Checks what has arrived of a record header, so "GET / HTTP/1.1" or an
 * SSLv2 hello is refused on its first byte rather than after five. */
static enum hello_status hello_record(struct hello_reader *r, const uint8_t *buf, size_t len)
{
    const uint8_t *h = buf + r->in_off;
    size_t avail = len - r->in_off;
    enum hello_status bad = r->nrecords == 0 ? HELLO_NOT_TLS : HELLO_MALFORMED;
    unsigned rlen;

    if (avail >= 1 && h[0] != REC_HANDSHAKE)
        return hello_fail(r, bad, "not a TLS handshake record");
    if ((avail >= 2 && h[1] != 3) || (avail >= 3 && (h[2] < 1 || h[2] > 4)))
        return hello_fail(r, bad, "not a TLS 1.0-1.3 record");
    if (avail < REC_HDR_LEN)
        return HELLO_NEED_MORE;
    rlen = (unsigned)h[3] << 8 | h[4];
    if (rlen == 0 || rlen > REC_MAX_LEN)
        return hello_fail(r, HELLO_MALFORMED, "bad TLS record length");
    r->rec_left = rlen;
    r->in_off += REC_HDR_LEN;
    r->nrecords++;
    return HELLO_OK;
}

static size_t hello_msg_body_len(const struct hello_reader *r)
{
    return (size_t)r->msg[1] << 16 | (size_t)r->msg[2] << 8 | r->msg[3];
}

/* The handshake header is checked as soon as it is complete, so a huge
 * announced length is refused before we wait for it. */
static const char *hello_msg_header(const struct hello_reader *r)
{
    if (r->msg[0] != HS_CLIENT_HELLO)
        return "first handshake message is not a ClientHello";
    if (hello_msg_body_len(r) > HELLO_MSG_MAX)
        return "ClientHello too long";
    return NULL;
}

static int hello_msg_complete(const struct hello_reader *r)
{
    return r->msg_len >= HS_HDR_LEN && r->msg_len == HS_HDR_LEN + hello_msg_body_len(r);
}

static enum hello_status hello_need_more(struct hello_reader *r, size_t len)
{
    if (len >= HELLO_INPUT_MAX)
        return hello_fail(r, HELLO_MALFORMED, "ClientHello not complete within the size limit");
    return HELLO_NEED_MORE;
}

/* Copies handshake bytes out of the records until the message is whole.
 * Each turn consumes a record header or at least one byte. */
static enum hello_status hello_reassemble(struct hello_reader *r, const uint8_t *buf,
                                          size_t len)
{
    enum hello_status st;
    const char *why;

    while (!hello_msg_complete(r)) {
        if (r->rec_left == 0) {
            st = hello_record(r, buf, len);
            if (st == HELLO_NEED_MORE)
                return hello_need_more(r, len);
            if (st != HELLO_OK)
                return st;
            continue;
        }
        size_t want = (r->msg_len < HS_HDR_LEN ? HS_HDR_LEN
                       : HS_HDR_LEN + hello_msg_body_len(r)) - r->msg_len;
        size_t n = len - r->in_off;
        if (n == 0)
            return hello_need_more(r, len);
        n = n < r->rec_left ? n : r->rec_left;
        n = n < want ? n : want;
        memcpy(r->msg + r->msg_len, buf + r->in_off, n);
        r->in_off += n;
        r->rec_left -= n;
        r->msg_len += n;
        if (r->msg_len == HS_HDR_LEN && (why = hello_msg_header(r)))
            return hello_fail(r, HELLO_MALFORMED, why);
    }
    return HELLO_OK;
}

enum hello_status hello_feed(struct hello_reader *r, const uint8_t *buf, size_t len,
                             struct hello_info *info)
{
    enum hello_status st;
    const char *why;

    if (len < r->in_off)
        return hello_fail(r, HELLO_MALFORMED, "input shrank");
    st = hello_reassemble(r, buf, len);
    if (st != HELLO_OK)
        return st;
    memset(info, 0, sizeof(*info));
    why = hello_body(r->msg + HS_HDR_LEN, r->msg_len - HS_HDR_LEN, info);
    if (why) {
        info->has_sni = 0;
        return hello_fail(r, HELLO_MALFORMED, why);
    }
    return HELLO_OK;
}
