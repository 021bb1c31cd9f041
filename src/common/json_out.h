/* json_out.h - a small streaming JSON writer onto a libevent evbuffer.
 *
 * Output only: the status socket and the stats listener write JSON, nothing
 * in tandem reads it. The writer tracks nesting and commas so callers write
 * values in order and never format JSON by hand. Strings are escaped
 * (quotes, backslash, control characters) and invalid UTF-8 becomes U+FFFD,
 * so names from a config file or bytes from a client can never break the
 * document. */
#ifndef TANDEM_JSON_OUT_H
#define TANDEM_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define JSON_MAX_DEPTH 32

struct json_out {
    struct evbuffer *buf;
    unsigned depth;
    int after_key;                   /* the next value follows "key": */
    unsigned char first[JSON_MAX_DEPTH + 1];   /* no element written yet at depth */
};

void json_init(struct json_out *j, struct evbuffer *buf);

void json_obj_begin(struct json_out *j);
void json_obj_end(struct json_out *j);
void json_arr_begin(struct json_out *j);
void json_arr_end(struct json_out *j);
void json_key(struct json_out *j, const char *key);

void json_str(struct json_out *j, const char *s);       /* NULL writes null */
void json_strn(struct json_out *j, const char *s, size_t n);
void json_u64(struct json_out *j, uint64_t v);
void json_i64(struct json_out *j, int64_t v);
void json_double(struct json_out *j, double v);         /* non-finite: null */
void json_bool(struct json_out *j, int v);
void json_null(struct json_out *j);

/* "key": value in one call. */
void json_kv_str(struct json_out *j, const char *key, const char *v);
void json_kv_u64(struct json_out *j, const char *key, uint64_t v);
void json_kv_i64(struct json_out *j, const char *key, int64_t v);
void json_kv_double(struct json_out *j, const char *key, double v);
void json_kv_bool(struct json_out *j, const char *key, int v);

/* Appends s[0..n) as a quoted, escaped JSON string. */
void json_escape(struct evbuffer *buf, const char *s, size_t n);

#endif
