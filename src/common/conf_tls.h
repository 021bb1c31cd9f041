/* conf_tls.h - the tls = { ... } groups of frontends (termination) and
 * backends (re-encryption to servers), read by conf_tls.c. The proxy's
 * tls.c turns them into OpenSSL contexts after the file is loaded; the
 * `built` pointers belong to it (tls_config_release frees them). */
#ifndef TANDEM_CONF_TLS_H
#define TANDEM_CONF_TLS_H

#include <stdint.h>

/* Protocol versions as on the wire (TLS 1.2 = 0x0303), so this header
 * needs no OpenSSL. */
#define CONF_TLS_V12 0x0303
#define CONF_TLS_V13 0x0304

enum conf_tls_verify { TLS_VERIFY_NONE = 0, TLS_VERIFY_OPTIONAL, TLS_VERIFY_REQUIRED };

/* An array of strings from the file: sni = [ ... ], alpn = [ ... ]. */
struct conf_strlist {
    char **v;
    unsigned n;
};

struct conf_tls_cert {
    char *cert;                        /* PEM chain: leaf first */
    char *key;                         /* PEM private key */
    struct conf_strlist sni;           /* names from config; none: the cert's own */
    int line;
};

struct conf_tls_frontend {
    struct conf_tls_cert *certs;       /* the first is the default */
    unsigned ncerts;
    int min_version, max_version;      /* CONF_TLS_V12 / V13 */
    char *ciphers;                     /* TLS 1.2 cipher list, NULL: OpenSSL's */
    char *ciphersuites;                /* TLS 1.3 suites, NULL: OpenSSL's */
    char *groups;                      /* key exchange groups, NULL: OpenSSL's */
    struct conf_strlist alpn;          /* default [ "http/1.1" ] */
    unsigned session_cache;            /* server cache entries, 0 = off; default 20000 */
    int tickets;                       /* stateless session tickets, default on */
    uint64_t ticket_rotate_ms;         /* default 1h */
    char *client_ca;                   /* CA file for client certificates */
    int verify;                        /* enum conf_tls_verify, default none */
    int strict_sni;                    /* unknown or missing SNI: alert, not the default cert */
    int line;
    void *built;                       /* tls.c's contexts */
};

struct conf_tls_backend {
    int enabled;                       /* default true when the group is present */
    char *ca;                          /* CA file; NULL: the system's store */
    int verify;                        /* default true */
    char *sni;                         /* server name sent and checked; NULL: none */
    char *cert, *key;                  /* client certificate, optional */
    char *ciphers, *ciphersuites;
    int min_version, max_version;
    int line;
    void *built;
};

#endif
