/* sync_tls.c - TLS 1.3 contexts for the peer sync channel (sync_tls.h).
 *
 * PSK: both sides hold one key; the client offers it as an external PSK
 * with identity "tandem-sync" and the server accepts only that identity
 * and key, so a peer without the key fails the handshake (the server has no
 * certificate to fall back on). Key exchange stays (EC)DHE (psk_dhe_ke),
 * so a key that leaks later does not decrypt recorded traffic. */
#include "config.h"
#include "sync_tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PSK_IDENTITY "tandem-sync"
#define PSK_MAX 64

static const unsigned char tls13_aes128gcm_sha256[] = { 0x13, 0x01 };

/* The key lives in the contexts' ex_data so the callbacks find it. */
struct psk_key {
    unsigned char key[PSK_MAX];
    size_t len;
};
static int psk_index = -1;

const char *sync_tls_error(char *buf, size_t len)
{
    unsigned long e = ERR_get_error();
    if (!e) {
        snprintf(buf, len, "no details from OpenSSL");
        return buf;
    }
    ERR_error_string_n(e, buf, len);
    ERR_clear_error();
    return buf;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sync_psk_parse(const char *text, unsigned char *key, size_t cap, const char **why)
{
    const char *p = text;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    size_t n = 0;
    while (hexval(p[0]) >= 0) {
        if (hexval(p[1]) < 0) {
            *why = "an odd number of hex digits";
            return -1;
        }
        if (n == cap) {
            *why = "longer than 64 bytes (128 hex digits)";
            return -1;
        }
        key[n++] = (unsigned char)(hexval(p[0]) << 4 | hexval(p[1]));
        p += 2;
    }
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p) {
        *why = "not hex digits (make one with: openssl rand -hex 32)";
        return -1;
    }
    if (n < 16) {
        *why = "shorter than 16 bytes (32 hex digits; make one with: openssl rand -hex 32)";
        return -1;
    }
    return (int)n;
}

static int read_psk(const char *path, struct psk_key *k, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "sync: psk_file %s: %s", path, strerror(errno));
        return -1;
    }
    char text[512];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    int big = !feof(f);
    fclose(f);
    text[n] = '\0';
    const char *why;
    int len = big ? -1 : sync_psk_parse(text, k->key, sizeof(k->key), &why);
    if (big)
        why = "too long to be a key";
    if (len < 0) {
        snprintf(err, errlen, "sync: psk_file %s: %s", path, why);
        return -1;
    }
    k->len = (size_t)len;
    return 0;
}

static SSL_SESSION *psk_session(SSL *ssl)
{
    SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
    const struct psk_key *k = SSL_CTX_get_ex_data(ctx, psk_index);
    const SSL_CIPHER *c = SSL_CIPHER_find(ssl, tls13_aes128gcm_sha256);
    SSL_SESSION *s = SSL_SESSION_new();
    if (!k || !c || !s || !SSL_SESSION_set1_master_key(s, k->key, k->len) ||
        !SSL_SESSION_set_cipher(s, c) || !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
        SSL_SESSION_free(s);
        return NULL;
    }
    return s;
}

static int psk_use_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                      SSL_SESSION **sess)
{
    SSL_SESSION *s = psk_session(ssl);
    if (!s)
        return 0;
    if (md && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(s))) {
        SSL_SESSION_free(s);           /* the server chose a suite our key can't use */
        *sess = NULL;
        return 1;
    }
    *id = (const unsigned char *)PSK_IDENTITY;
    *idlen = strlen(PSK_IDENTITY);
    *sess = s;
    return 1;
}

static int psk_find_cb(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    if (idlen != strlen(PSK_IDENTITY) || memcmp(id, PSK_IDENTITY, idlen) != 0) {
        *sess = NULL;                  /* unknown identity: the handshake fails */
        return 1;
    }
    *sess = psk_session(ssl);
    return *sess != NULL;
}

static void psk_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                     void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (ptr) {
        OPENSSL_cleanse(ptr, sizeof(struct psk_key));
        free(ptr);
    }
}

static SSL_CTX *new_ctx(const SSL_METHOD *m, char *err, size_t errlen)
{
    SSL_CTX *c = SSL_CTX_new(m);
    char buf[160];
    if (!c) {
        snprintf(err, errlen, "sync: TLS context: %s", sync_tls_error(buf, sizeof(buf)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(c, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
    return c;
}

static int setup_psk(struct sync_tls *t, const struct conf_sync *y, char *err, size_t errlen)
{
    if (psk_index < 0)
        psk_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, psk_free);
    SSL_CTX *ctxs[2] = { t->client, t->server };
    for (int i = 0; i < 2; i++) {
        struct psk_key *k = calloc(1, sizeof(*k));
        if (!k || read_psk(y->psk_file, k, err, errlen) < 0) {
            if (!k)
                snprintf(err, errlen, "sync: out of memory");
            free(k);
            return -1;
        }
        SSL_CTX_set_ex_data(ctxs[i], psk_index, k);
        SSL_CTX_set_ciphersuites(ctxs[i], "TLS_AES_128_GCM_SHA256");
    }
    SSL_CTX_set_psk_use_session_callback(t->client, psk_use_cb);
    SSL_CTX_set_psk_find_session_callback(t->server, psk_find_cb);
    return 0;
}

static int setup_certs(struct sync_tls *t, const struct conf_sync *y, char *err, size_t errlen)
{
    SSL_CTX *ctxs[2] = { t->client, t->server };
    char buf[160];
    for (int i = 0; i < 2; i++) {
        SSL_CTX *c = ctxs[i];
        const char *what = "cert", *file = y->cert;
        if (SSL_CTX_use_certificate_chain_file(c, y->cert) != 1)
            goto fail;
        what = "key", file = y->key;
        if (SSL_CTX_use_PrivateKey_file(c, y->key, SSL_FILETYPE_PEM) != 1)
            goto fail;
        if (SSL_CTX_check_private_key(c) != 1) {
            snprintf(err, errlen, "sync: key %s does not match cert %s", y->key, y->cert);
            return -1;
        }
        what = "ca", file = y->ca;
        if (SSL_CTX_load_verify_locations(c, y->ca, NULL) != 1)
            goto fail;
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        continue;
fail:
        snprintf(err, errlen, "sync: %s %s: %s", what, file, sync_tls_error(buf, sizeof(buf)));
        return -1;
    }
    return 0;
}

int sync_tls_init(struct sync_tls *t, const struct conf_sync *y, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->psk = y->psk_file != NULL;
    if (!(t->client = new_ctx(TLS_client_method(), err, errlen)) ||
        !(t->server = new_ctx(TLS_server_method(), err, errlen)))
        goto fail;
    if (t->psk ? setup_psk(t, y, err, errlen) : setup_certs(t, y, err, errlen))
        goto fail;
    if (y->peer_name && !(t->peer_name = strdup(y->peer_name))) {
        snprintf(err, errlen, "sync: out of memory");
        goto fail;
    }
    return 0;
fail:
    sync_tls_free(t);
    return -1;
}

void sync_tls_free(struct sync_tls *t)
{
    SSL_CTX_free(t->client);
    SSL_CTX_free(t->server);
    free(t->peer_name);
    memset(t, 0, sizeof(*t));
}

int sync_tls_check_peer(const struct sync_tls *t, SSL *ssl, char *why, size_t whylen)
{
    if (SSL_version(ssl) != TLS1_3_VERSION) {
        snprintf(why, whylen, "not TLS 1.3");
        return -1;
    }
    if (t->psk) {
        if (!SSL_session_reused(ssl)) {
            snprintf(why, whylen, "the pre-shared key was not used");
            return -1;
        }
        return 0;
    }
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (!cert) {
        snprintf(why, whylen, "no certificate");
        return -1;
    }
    long v = SSL_get_verify_result(ssl);
    int rc = 0;
    if (v != X509_V_OK) {
        snprintf(why, whylen, "certificate not verified: %s", X509_verify_cert_error_string(v));
        rc = -1;
    } else if (t->peer_name && X509_check_host(cert, t->peer_name, 0, 0, NULL) != 1) {
        char cn[128] = "";
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
        snprintf(why, whylen, "certificate is for \"%s\", not peer_name \"%s\"", cn,
                 t->peer_name);
        rc = -1;
    }
    X509_free(cert);
    return rc;
}

void sync_tls_describe(const struct sync_tls *t, SSL *ssl, char *out, size_t outlen)
{
    const char *suite = SSL_get_cipher_name(ssl);
    if (t->psk) {
        snprintf(out, outlen, "psk %s", suite ? suite : "?");
        return;
    }
    char cn[128] = "?";
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert) {
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
        X509_free(cert);
    }
    snprintf(out, outlen, "certificate CN=%s %s", cn, suite ? suite : "?");
}
