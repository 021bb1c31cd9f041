/* json_out.c - streaming JSON writer (see json_out.h). */
#include "config.h"
#include "json_out.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

void json_init(struct json_out *j, struct evbuffer *buf)
{
    memset(j, 0, sizeof(*j));
    j->buf = buf;
    j->first[0] = 1;
}

/* Writes the separator a new value needs at the current depth. */
static void json_sep(struct json_out *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (!j->first[j->depth])
        evbuffer_add(j->buf, ",", 1);
    j->first[j->depth] = 0;
}

static void json_open(struct json_out *j, char c)
{
    json_sep(j);
    evbuffer_add(j->buf, &c, 1);
    /* Past the bound the output stays well-formed text but flat: the
     * writers in tandem nest at most four levels. */
    if (j->depth < JSON_MAX_DEPTH)
        j->depth++;
    j->first[j->depth] = 1;
}

static void json_close(struct json_out *j, char c)
{
    evbuffer_add(j->buf, &c, 1);
    if (j->depth > 0)
        j->depth--;
    j->after_key = 0;
}

void json_obj_begin(struct json_out *j) { json_open(j, '{'); }
void json_obj_end(struct json_out *j) { json_close(j, '}'); }
void json_arr_begin(struct json_out *j) { json_open(j, '['); }
void json_arr_end(struct json_out *j) { json_close(j, ']'); }

void json_key(struct json_out *j, const char *key)
{
    json_sep(j);
    json_escape(j->buf, key, strlen(key));
    evbuffer_add(j->buf, ":", 1);
    j->after_key = 1;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one:
 * overlongs, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void json_escape(struct evbuffer *buf, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run = 0;   /* run: bytes from p+i-run copied verbatim */
    evbuffer_add(buf, "\"", 1);
    while (i < n) {
        unsigned char c = p[i];
        size_t len = utf8_seq_len(p + i, n - i);
        if (len > 0 && c >= 0x20 && c != '"' && c != '\\') {
            i += len;
            run += len;
            continue;
        }
        if (run)
            evbuffer_add(buf, p + i - run, run);
        run = 0;
        if (len == 0) {
            evbuffer_add(buf, "\\ufffd", 6);
        } else if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            evbuffer_add(buf, e, 2);
        } else if (c == '\n') {
            evbuffer_add(buf, "\\n", 2);
        } else if (c == '\r') {
            evbuffer_add(buf, "\\r", 2);
        } else if (c == '\t') {
            evbuffer_add(buf, "\\t", 2);
        } else {
            char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            evbuffer_add(buf, e, 6);
        }
        i++;
    }
    if (run)
        evbuffer_add(buf, p + i - run, run);
    evbuffer_add(buf, "\"", 1);
}

void json_strn(struct json_out *j, const char *s, size_t n)
{
    json_sep(j);
    json_escape(j->buf, s, n);
}

void json_str(struct json_out *j, const char *s)
{
    if (!s) {
        json_null(j);
        return;
    }
    json_strn(j, s, strlen(s));
}

void json_u64(struct json_out *j, uint64_t v)
{
    json_sep(j);
    evbuffer_add_printf(j->buf, "%" PRIu64, v);
}

void json_i64(struct json_out *j, int64_t v)
{
    json_sep(j);
    evbuffer_add_printf(j->buf, "%" PRId64, v);
}

void json_double(struct json_out *j, double v)
{
    json_sep(j);
    if (!isfinite(v))
        evbuffer_add(j->buf, "null", 4);
    else
        evbuffer_add_printf(j->buf, "%.6g", v);
}

void json_bool(struct json_out *j, int v)
{
    json_sep(j);
    if (v)
        evbuffer_add(j->buf, "true", 4);
    else
        evbuffer_add(j->buf, "false", 5);
}

void json_null(struct json_out *j)
{
    json_sep(j);
    evbuffer_add(j->buf, "null", 4);
}

void json_kv_str(struct json_out *j, const char *key, const char *v)
{
    json_key(j, key);
    json_str(j, v);
}

void json_kv_u64(struct json_out *j, const char *key, uint64_t v)
{
    json_key(j, key);
    json_u64(j, v);
}

void json_kv_i64(struct json_out *j, const char *key, int64_t v)
{
    json_key(j, key);
    json_i64(j, v);
}

void json_kv_double(struct json_out *j, const char *key, double v)
{
    json_key(j, key);
    json_double(j, v);
}

void json_kv_bool(struct json_out *j, const char *key, int v)
{
    json_key(j, key);
    json_bool(j, v);
}
