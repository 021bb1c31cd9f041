/* sync_tls.h - the TLS of the peer sync channel (docs/sync.md,
 * "Authentication"): TLS 1.3 only, authenticated either by a pre-shared
 * key (an external PSK, no certificates; the key file holds 32-128 hex
 * digits, as etc/make-keys.sh makes it) or by mutual certificates signed
 * by one CA, optionally with the peer's certificate name checked. Both
 * boxes dial and accept, so each side has a client and a server context. */
#ifndef TANDEM_SYNC_TLS_H
#define TANDEM_SYNC_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include "conf.h"

struct sync_tls {
    SSL_CTX *client;                   /* for the connection we dial */
    SSL_CTX *server;                   /* for the connection the peer dials */
    int psk;                           /* 1: PSK, 0: certificates */
    char *peer_name;                   /* certificates: required name, or NULL */
};

/* Reads the key or the certificates named by y. Returns 0, or -1 with a
 * message naming the file and the problem in err. */
int sync_tls_init(struct sync_tls *t, const struct conf_sync *y, char *err, size_t errlen);
void sync_tls_free(struct sync_tls *t);

/* After a handshake: 0 if the peer is who it should be (certificates:
 * verified chain, and peer_name if set), else -1 with why. */
int sync_tls_check_peer(const struct sync_tls *t, SSL *ssl, char *why, size_t whylen);
/* "PSK (TLS_AES_128_GCM_SHA256)" or "certificate CN=lb-b": for the status. */
void sync_tls_describe(const struct sync_tls *t, SSL *ssl, char *out, size_t outlen);
/* The first OpenSSL error queued, as text, and the queue emptied. */
const char *sync_tls_error(char *buf, size_t len);

/* Parses a PSK file's text: hex digits (whitespace around them allowed).
 * Returns the key length (16..64 bytes), or -1 with why. Exposed for the
 * unit tests. */
int sync_psk_parse(const char *text, unsigned char *key, size_t cap, const char **why);

#endif
