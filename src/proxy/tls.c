/* tls.c - OpenSSL contexts from the configuration (tls.h): frontend
 * certificates chosen by SNI, versions, ciphers, groups, ALPN, the session
 * cache, session tickets with process-wide rotating keys, client
 * certificates; backend contexts for re-encryption. The non-blocking I/O
 * on an SSL is in tls_io.c. */
#include "config.h"
#include "tls.h"
#include "tls_match.h"
#include "clock.h"
#include "log.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A frontend's contexts: one per certificate (all alike but for the
 * certificate), the first is the default. */
struct tls_fe {
    SSL_CTX **ctx;
    unsigned nctx;
    struct tls_sni_entry *names;
    unsigned nnames, capnames;
    int strict_sni;
    unsigned char alpn[64];
    size_t alpnlen;
};

/* ---- OpenSSL errors ---- */

/* The last queued OpenSSL error as text; empties the queue. */
static const char *ssl_errstr(char *buf, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, len);
    else
        snprintf(buf, len, "unknown error");
    ERR_clear_error();
    return buf;
}

struct build {
    const char *path;                  /* config file, for FILE:LINE */
    struct conf_errors *errs;
    const char *what;                  /* `frontend "www"` */
    int line;
    int failed;
};

static void build_fail(struct build *b, const char *step, const char *arg)
{
    char e[256];
    ssl_errstr(e, sizeof(e));
    conf_errors_add(b->errs, b->path, b->line, "%s: tls: %s%s%s%s: %s", b->what, step,
                    arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "", e);
    b->failed = 1;
}

/* ---- session tickets: one process-wide key ring ---- */

static pthread_mutex_t ticket_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tls_ticket_ring ticket_ring;
static uint64_t ticket_period_ms = 3600 * 1000;

/* Rotates when due. Called with ticket_lock held. */
static int ticket_refresh(uint64_t now)
{
    if (!tls_ticket_rotate_due(&ticket_ring, now, ticket_period_ms))
        return 0;
    struct tls_ticket_key k;
    if (RAND_bytes((unsigned char *)&k, sizeof(k)) != 1) {
        ERR_clear_error();
        return -1;
    }
    tls_ticket_rotate(&ticket_ring, &k, now, ticket_period_ms);
    OPENSSL_cleanse(&k, sizeof(k));
    return 0;
}

/* Copies the key for a new ticket (enc) or the one named name: 1 current,
 * 2 previous, 0 none, -1 error. */
static int ticket_key_get(int enc, const unsigned char *name, struct tls_ticket_key *out)
{
    const struct tls_ticket_key *k = NULL;
    int rc;
    pthread_mutex_lock(&ticket_lock);
    if (ticket_refresh(clock_mono_ms()) < 0) {
        rc = -1;
    } else if (enc) {
        k = &ticket_ring.cur;
        rc = 1;
    } else {
        rc = tls_ticket_find(&ticket_ring, name, &k);
    }
    if (k)
        *out = *k;
    pthread_mutex_unlock(&ticket_lock);
    return rc;
}

static int ticket_mac_init(EVP_MAC_CTX *hctx, unsigned char *key)
{
    OSSL_PARAM p[3];
    p[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32);
    p[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    p[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, p) == 1 ? 0 : -1;
}

/* OpenSSL's ticket key callback: AES-256-CBC + HMAC-SHA256 under our keys.
 * Returns 1 (use), 2 (use, and issue a fresh ticket: what every
 * decrypted ticket gets), 0 (unknown key: full handshake), -1 (error). */
static int ticket_cb(SSL *ssl, unsigned char name[16], unsigned char *iv,
                     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    struct tls_ticket_key k;
    (void)ssl;
    int rc = ticket_key_get(enc, name, &k);
    if (rc <= 0)
        return rc;
    int ok;
    if (enc) {
        memcpy(name, k.name, 16);
        ok = RAND_bytes(iv, 16) == 1 &&
             EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1;
    } else {
        ok = EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1;
    }
    ok = ok && ticket_mac_init(hctx, k.hmac) == 0;
    OPENSSL_cleanse(&k, sizeof(k));
    if (!ok) {
        ERR_clear_error();
        return -1;
    }
    /* A ticket that decrypts always asks for a fresh one: in TLS 1.3,
     * OpenSSL sends a ticket after a resumed handshake only when told to
     * renew, and a client keeps the session of its last connection, so
     * without this every other connection was a full handshake (a client
     * reconnecting like wrk did, measured: 50% resumed, against HAProxy's
     * 100%). New tickets also keep a client's connections unlinkable. */
    return enc ? rc : 2;
}

/* ---- frontend callbacks ---- */

static int sni_cb(SSL *ssl, int *alert, void *arg)
{
    const struct tls_fe *t = arg;
    const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    int i = tls_sni_lookup(t->names, t->nnames, host);
    if (i < 0 && t->strict_sni) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    if (i > 0 && !SSL_set_SSL_CTX(ssl, t->ctx[i])) {
        ERR_clear_error();
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

/* Only HTTP/1.x is spoken: a client offering just h2 gets no ALPN answer
 * (and speaks HTTP/1.1 or gives up). */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    const struct tls_fe *t = arg;
    (void)ssl;
    if (tls_alpn_pick(t->alpn, t->alpnlen, in, inlen, out, outlen))
        return SSL_TLSEXT_ERR_OK;
    return SSL_TLSEXT_ERR_NOACK;
}

/* ---- building contexts ---- */

static const char *not_empty(const char *s)
{
    return s && s[0] ? s : NULL;
}

/* Settings both sides share: versions, no renegotiation, bounded buffers,
 * writes that may be retried from a moved buffer. */
static void ctx_common(struct build *b, SSL_CTX *ctx, int minv, int maxv,
                       const char *ciphers, const char *suites)
{
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                             SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);
    if (!SSL_CTX_set_min_proto_version(ctx, minv) || !SSL_CTX_set_max_proto_version(ctx, maxv))
        build_fail(b, "versions", NULL);
    if (not_empty(ciphers) && !SSL_CTX_set_cipher_list(ctx, ciphers))
        build_fail(b, "ciphers", ciphers);
    if (not_empty(suites) && !SSL_CTX_set_ciphersuites(ctx, suites))
        build_fail(b, "ciphersuites", suites);
}

static void ctx_cert(struct build *b, SSL_CTX *ctx, const char *cert, const char *key)
{
    if (!SSL_CTX_use_certificate_chain_file(ctx, cert)) {
        build_fail(b, "cannot use certificate", cert);
        return;
    }
    if (!SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM)) {
        build_fail(b, "cannot use key", key);
        return;
    }
    if (!SSL_CTX_check_private_key(ctx))
        build_fail(b, "key does not match the certificate", key);
}

/* Session id context: resumption only within the same frontend and the
 * same client-certificate policy, stable across reloads. */
static void ctx_sid(struct build *b, SSL_CTX *ctx, const char *fename,
                    const struct conf_tls_frontend *t)
{
    char id[512];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int n = snprintf(id, sizeof(id), "%s|%d|%s", fename, t->verify,
                     t->client_ca ? t->client_ca : "");
    if (!EVP_Digest(id, (size_t)n, md, &mdlen, EVP_sha256(), NULL) ||
        !SSL_CTX_set_session_id_context(ctx, md, mdlen > 32 ? 32 : mdlen))
        build_fail(b, "session id context", NULL);
}

static void ctx_client_ca(struct build *b, SSL_CTX *ctx, const struct conf_tls_frontend *t)
{
    if (t->verify == TLS_VERIFY_NONE)
        return;
    if (!SSL_CTX_load_verify_locations(ctx, t->client_ca, NULL)) {
        build_fail(b, "cannot load client_ca", t->client_ca);
        return;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->client_ca);
    if (!names) {
        build_fail(b, "no CA names in client_ca", t->client_ca);
        return;
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    int mode = SSL_VERIFY_PEER;
    if (t->verify == TLS_VERIFY_REQUIRED)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
}

static void ctx_resumption(SSL_CTX *ctx, const struct conf_tls_frontend *t)
{
    if (t->session_cache) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, (long)t->session_cache);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    if (t->tickets) {
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
        SSL_CTX_set_num_tickets(ctx, 1);
    } else {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, t->session_cache ? 1 : 0);
    }
}

static SSL_CTX *fe_ctx_new(struct build *b, const struct conf_frontend *fc, struct tls_fe *fe,
                           const struct conf_tls_cert *c)
{
    const struct conf_tls_frontend *t = fc->tls;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        build_fail(b, "SSL_CTX_new", NULL);
        return NULL;
    }
    ctx_common(b, ctx, t->min_version, t->max_version, t->ciphers, t->ciphersuites);
    if (not_empty(t->groups) && !SSL_CTX_set1_groups_list(ctx, t->groups))
        build_fail(b, "groups", t->groups);
    ctx_cert(b, ctx, c->cert, c->key);
    ctx_sid(b, ctx, fc->name, t);
    ctx_client_ca(b, ctx, t);
    ctx_resumption(ctx, t);
    SSL_CTX_set_tlsext_servername_callback(ctx, sni_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, fe);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, fe);
    return ctx;
}

/* ---- the SNI table ---- */

static int names_add(struct tls_fe *fe, const char *name, size_t len, unsigned cert)
{
    if (len == 0 || len > TLS_NAME_MAX || memchr(name, '\0', len))
        return 0;                      /* not a usable name: skip it */
    if (fe->nnames == fe->capnames) {
        unsigned cap = fe->capnames ? fe->capnames * 2 : 16;
        struct tls_sni_entry *v = realloc(fe->names, cap * sizeof(*v));
        if (!v)
            return -1;
        fe->names = v;
        fe->capnames = cap;
    }
    char *s = strndup(name, len);
    if (!s)
        return -1;
    for (char *p = s; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    fe->names[fe->nnames].name = s;
    fe->names[fe->nnames++].cert = cert;
    return 0;
}

/* The certificate's DNS names (subjectAltName), or its CN when it has none. */
static int names_from_cert(struct tls_fe *fe, X509 *x, unsigned cert)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    unsigned before = fe->nnames;
    int rc = 0;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && rc == 0; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            rc = names_add(fe, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                           (size_t)ASN1_STRING_length(g->d.dNSName), cert);
    }
    GENERAL_NAMES_free(gens);
    if (rc < 0 || fe->nnames > before)
        return rc;
    X509_NAME *subj = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    if (idx < 0)
        return 0;
    ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
    return names_add(fe, (const char *)ASN1_STRING_get0_data(cn),
                     (size_t)ASN1_STRING_length(cn), cert);
}

static void fe_names(struct build *b, struct tls_fe *fe, const struct conf_tls_cert *c,
                     unsigned i)
{
    int rc = 0;
    if (c->sni.n) {
        for (unsigned j = 0; j < c->sni.n && rc == 0; j++)
            rc = names_add(fe, c->sni.v[j], strlen(c->sni.v[j]), i);
    } else {
        X509 *x = SSL_CTX_get0_certificate(fe->ctx[i]);
        rc = x ? names_from_cert(fe, x, i) : 0;
    }
    if (rc < 0) {
        conf_errors_add(b->errs, b->path, b->line, "%s: tls: out of memory", b->what);
        b->failed = 1;
    }
}

static void fe_alpn(struct tls_fe *fe, const struct conf_tls_frontend *t)
{
    static const char *dflt[] = { "http/1.1" };
    const char *const *v = t->alpn.n ? (const char *const *)t->alpn.v : dflt;
    unsigned n = t->alpn.n ? t->alpn.n : 1;
    for (unsigned i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        if (fe->alpnlen + 1 + l > sizeof(fe->alpn))
            break;
        fe->alpn[fe->alpnlen++] = (unsigned char)l;
        memcpy(fe->alpn + fe->alpnlen, v[i], l);
        fe->alpnlen += l;
    }
}

static void fe_free(struct tls_fe *fe)
{
    if (!fe)
        return;
    for (unsigned i = 0; i < fe->nctx; i++)
        SSL_CTX_free(fe->ctx[i]);
    free(fe->ctx);
    for (unsigned i = 0; i < fe->nnames; i++)
        free((char *)fe->names[i].name);
    free(fe->names);
    free(fe);
}

static struct tls_fe *fe_build(struct build *b, const struct conf_frontend *fc)
{
    const struct conf_tls_frontend *t = fc->tls;
    struct tls_fe *fe = calloc(1, sizeof(*fe));
    if (!fe || !(fe->ctx = calloc(t->ncerts, sizeof(*fe->ctx)))) {
        free(fe);
        conf_errors_add(b->errs, b->path, b->line, "%s: tls: out of memory", b->what);
        b->failed = 1;
        return NULL;
    }
    fe->strict_sni = t->strict_sni;
    fe_alpn(fe, t);
    for (unsigned i = 0; i < t->ncerts && !b->failed; i++) {
        b->line = t->certs[i].line;
        fe->ctx[i] = fe_ctx_new(b, fc, fe, &t->certs[i]);
        fe->nctx = i + 1;
        if (!b->failed)
            fe_names(b, fe, &t->certs[i], i);
    }
    if (b->failed) {
        fe_free(fe);
        return NULL;
    }
    return fe;
}

static SSL_CTX *be_build(struct build *b, const struct conf_tls_backend *t)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        build_fail(b, "SSL_CTX_new", NULL);
        return NULL;
    }
    ctx_common(b, ctx, t->min_version, t->max_version, t->ciphers, t->ciphersuites);
    if (t->verify) {
        int ok = t->ca ? SSL_CTX_load_verify_locations(ctx, t->ca, NULL)
                       : SSL_CTX_set_default_verify_paths(ctx);
        if (!ok)
            build_fail(b, "cannot load ca", t->ca ? t->ca : "(system store)");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (t->cert)
        ctx_cert(b, ctx, t->cert, t->key);
    static const unsigned char alpn[] = "\x08http/1.1";
    if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0)
        build_fail(b, "alpn", NULL);
    if (b->failed) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static void build_frontends(struct build *b, struct tandem_config *cfg, uint64_t *period)
{
    char what[128];
    for (unsigned i = 0; i < cfg->nfrontends && !b->failed; i++) {
        struct conf_frontend *fc = &cfg->frontends[i];
        if (!fc->tls)
            continue;
        snprintf(what, sizeof(what), "frontend \"%s\"", fc->name);
        b->what = what;
        b->line = fc->tls->line;
        fc->tls->built = fe_build(b, fc);
        if (fc->tls->tickets && fc->tls->ticket_rotate_ms < *period)
            *period = fc->tls->ticket_rotate_ms;
    }
}

static void build_backends(struct build *b, struct tandem_config *cfg)
{
    char what[128];
    for (unsigned i = 0; i < cfg->nbackends && !b->failed; i++) {
        struct conf_backend *bc = &cfg->backends[i];
        if (!bc->tls || !bc->tls->enabled)
            continue;
        snprintf(what, sizeof(what), "backend \"%s\"", bc->name);
        b->what = what;
        b->line = bc->tls->line;
        bc->tls->built = be_build(b, bc->tls);
    }
}

int tls_config_build(struct tandem_config *cfg, struct conf_errors *errs)
{
    struct build b = { .path = cfg->path, .errs = errs };
    uint64_t period = UINT64_MAX;
    ERR_clear_error();
    build_frontends(&b, cfg, &period);
    build_backends(&b, cfg);
    if (b.failed) {
        tls_config_release(cfg);
        return -1;
    }
    if (period != UINT64_MAX) {
        pthread_mutex_lock(&ticket_lock);
        ticket_period_ms = period;
        pthread_mutex_unlock(&ticket_lock);
    }
    return 0;
}

void tls_config_release(struct tandem_config *cfg)
{
    if (!cfg)
        return;
    for (unsigned i = 0; i < cfg->nfrontends; i++) {
        struct conf_tls_frontend *t = cfg->frontends[i].tls;
        if (t) {
            fe_free(t->built);
            t->built = NULL;
        }
    }
    for (unsigned i = 0; i < cfg->nbackends; i++) {
        struct conf_tls_backend *t = cfg->backends[i].tls;
        if (t) {
            SSL_CTX_free(t->built);
            t->built = NULL;
        }
    }
}

/* ---- per-connection SSLs ---- */

static struct log_ratelimit rl_new;

static SSL *ssl_new(SSL_CTX *ctx, int fd, const char *what, const char *name)
{
    SSL *ssl = SSL_new(ctx);
    if (!ssl || !SSL_set_fd(ssl, fd)) {
        char e[256];
        log_limited(&rl_new, 10, 10, LOG_LVL_WARN, "%s \"%s\": cannot create a TLS connection: %s",
                    what, name, ssl_errstr(e, sizeof(e)));
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}

SSL *tls_frontend_ssl(const struct conf_frontend *fc, int fd)
{
    const struct tls_fe *fe = fc->tls->built;
    SSL *ssl = ssl_new(fe->ctx[0], fd, "frontend", fc->name);
    if (ssl)
        SSL_set_accept_state(ssl);
    return ssl;
}

SSL *tls_backend_ssl(const struct conf_backend *bc, int fd)
{
    const struct conf_tls_backend *t = bc->tls;
    SSL *ssl = ssl_new(t->built, fd, "backend", bc->name);
    if (!ssl)
        return NULL;
    SSL_set_connect_state(ssl);
    if (t->sni && (!SSL_set_tlsext_host_name(ssl, t->sni) ||
                   (t->verify && !SSL_set1_host(ssl, t->sni)))) {
        char e[256];
        log_limited(&rl_new, 10, 10, LOG_LVL_WARN, "backend \"%s\": tls sni \"%s\": %s",
                    bc->name, t->sni, ssl_errstr(e, sizeof(e)));
        SSL_free(ssl);
        return NULL;
    }
    return ssl;
}
