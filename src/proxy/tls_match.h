/* tls_match.h - the pure decisions of TLS termination, with no OpenSSL
 * state: which certificate a server name selects, which ALPN protocol to
 * answer, and the session-ticket key ring with its rotation (time comes in
 * as an argument). Tested in tests/unit/test_tls.c. */
#ifndef TANDEM_TLS_MATCH_H
#define TANDEM_TLS_MATCH_H

#include <stddef.h>
#include <stdint.h>

#define TLS_NAME_MAX 255

/* One name a certificate answers for: exact ("www.example.com") or a
 * wildcard ("*.example.com": exactly one more label). Lower case. */
struct tls_sni_entry {
    const char *name;
    unsigned cert;                     /* index of the certificate */
};

/* 1 when pattern (lower case) matches host (any case). */
int tls_name_match(const char *pattern, const char *host);

/* The certificate for host: an exact name first, then a wildcard, first in
 * configuration order. -1 when none matches (or host is NULL or too long). */
int tls_sni_lookup(const struct tls_sni_entry *v, unsigned n, const char *host);

/* ALPN: the first protocol of ours (wire format: length-prefixed ids) that
 * the client offered. Returns 1 with *out and *outlen pointing into `client`,
 * 0 when nothing is shared (or a list is malformed). */
int tls_alpn_pick(const unsigned char *ours, size_t ourslen, const unsigned char *client,
                  size_t clientlen, const unsigned char **out, unsigned char *outlen);

/* Session-ticket keys: the current one encrypts new tickets, the previous
 * one still decrypts (and asks for a renewed ticket), so a rotation every
 * `period` lets a ticket live between one and two periods. */
struct tls_ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

struct tls_ticket_ring {
    struct tls_ticket_key cur, prev;
    int have_cur, have_prev;
    uint64_t rotated_ms;               /* when cur became current */
};

/* 1 when the ring needs a (first or new) current key at now_ms. */
int tls_ticket_rotate_due(const struct tls_ticket_ring *r, uint64_t now_ms, uint64_t period_ms);
/* fresh becomes current, current becomes previous, unless the current
 * key is already two periods old: then no previous key is kept (tickets
 * never outlive two periods, even after a quiet time). */
void tls_ticket_rotate(struct tls_ticket_ring *r, const struct tls_ticket_key *fresh,
                       uint64_t now_ms, uint64_t period_ms);
/* The key named `name`: 1 current, 2 previous (renew the ticket), 0 none. */
int tls_ticket_find(const struct tls_ticket_ring *r, const unsigned char name[16],
                    const struct tls_ticket_key **key);

#endif
