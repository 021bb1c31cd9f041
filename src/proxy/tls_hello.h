/* tls_hello.h - reads a TLS ClientHello from the first bytes a client
 * sends, without terminating TLS: the server name (SNI), the ALPN list and
 * whether TLS 1.3 is offered. Used by mode tcp to route by server name
 * (SNI passthrough). Pure: no I/O, no allocation, no globals.
 *
 * The caller keeps every byte the client sent (they are forwarded to the
 * server unchanged) and calls hello_feed() with the whole buffer after each
 * read; the reader resumes where it stopped, so a client sending one byte at
 * a time costs O(n) in total. */
#ifndef TANDEM_TLS_HELLO_H
#define TANDEM_TLS_HELLO_H

#include <stddef.h>
#include <stdint.h>

#define HELLO_MSG_MAX   16384    /* ClientHello body we reassemble, bytes */
#define HELLO_INPUT_MAX 20480    /* client bytes after which we stop waiting */
#define HELLO_NAME_MAX  255      /* DNS name length limit */

enum hello_status {
    HELLO_NEED_MORE = 0,         /* incomplete so far: read more */
    HELLO_OK,                    /* complete; see hello_info (maybe no SNI) */
    HELLO_NOT_TLS,               /* not a TLS handshake (plain HTTP, SSLv2...) */
    HELLO_MALFORMED,             /* TLS, but a broken or oversized ClientHello */
};

struct hello_info {
    int has_sni;
    char sni[HELLO_NAME_MAX + 1];   /* lower-cased, NUL-terminated */
    const uint8_t *alpn;            /* ALPN protocol_name_list (into the reader), or NULL */
    size_t alpn_len;
    int tls13;                      /* supported_versions lists TLS 1.3 */
};

struct hello_reader {
    size_t in_off;               /* input bytes consumed so far */
    size_t rec_left;             /* bytes left in the current record */
    unsigned nrecords;
    size_t msg_len;              /* handshake bytes collected (header included) */
    const char *error;           /* why NOT_TLS or MALFORMED, for log lines */
    uint8_t msg[4 + HELLO_MSG_MAX];
};

void hello_reader_init(struct hello_reader *r);

/* buf holds every byte received so far (len grows between calls; earlier
 * bytes must not change). Returns the verdict; call again only after
 * HELLO_NEED_MORE. `info` is filled on HELLO_OK (alpn points into r). A
 * buffer of HELLO_INPUT_MAX bytes always gets a final verdict. */
enum hello_status hello_feed(struct hello_reader *r, const uint8_t *buf, size_t len,
                             struct hello_info *info);

/* Checks a DNS host name as SNI carries it (letters, digits, hyphens,
 * dot-separated labels of 1-63, at most 255) and copies it lower-cased
 * into out (HELLO_NAME_MAX + 1 bytes). Returns 0, or -1 if invalid. */
int hello_name_copy(const uint8_t *name, size_t len, char *out);

const char *hello_status_name(enum hello_status st);

#endif
