/* test_tls.c - TLS: SNI name matching, ALPN choice, the ticket key ring
 * under a fake clock, the tls = { ... } config groups, and building
 * contexts from files (good, missing, mismatched key). */
#include "config.h"
#include "unit.h"
#include "conf.h"
#include "tls.h"
#include "tls_match.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- SNI ---- */

static void test_name_match(void)
{
    CU_ASSERT(tls_name_match("www.example.com", "www.example.com"));
    CU_ASSERT(tls_name_match("www.example.com", "WWW.Example.COM"));
    CU_ASSERT(!tls_name_match("www.example.com", "www.example.co"));
    CU_ASSERT(!tls_name_match("www.example.com", "www.example.comm"));
    CU_ASSERT(tls_name_match("*.example.com", "a.example.com"));
    CU_ASSERT(tls_name_match("*.example.com", "API.EXAMPLE.COM"));
    CU_ASSERT(!tls_name_match("*.example.com", "example.com"));
    CU_ASSERT(!tls_name_match("*.example.com", "a.b.example.com"));
    CU_ASSERT(!tls_name_match("*.example.com", ".example.com"));
    CU_ASSERT(!tls_name_match("*.example.com", "aexample.com"));
}

static void test_sni_lookup(void)
{
    static const struct tls_sni_entry v[] = {
        { "*.example.com", 0 }, { "www.example.com", 1 }, { "api.test", 2 },
        { "*.example.com", 3 }, { "api.test", 4 },
    };
    CU_ASSERT_EQUAL(tls_sni_lookup(v, 5, "www.example.com"), 1);   /* exact beats wildcard */
    CU_ASSERT_EQUAL(tls_sni_lookup(v, 5, "shop.example.com"), 0);  /* first wildcard */
    CU_ASSERT_EQUAL(tls_sni_lookup(v, 5, "api.test"), 2);          /* first exact */
    CU_ASSERT_EQUAL(tls_sni_lookup(v, 5, "other.test"), -1);
    CU_ASSERT_EQUAL(tls_sni_lookup(v, 5, NULL), -1);
    CU_ASSERT_EQUAL(tls_sni_lookup(v, 5, ""), -1);
    char big[300];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CU_ASSERT_EQUAL(tls_sni_lookup(v, 5, big), -1);
    CU_ASSERT_EQUAL(tls_sni_lookup(v, 0, "api.test"), -1);
}

/* ---- ALPN ---- */

static void test_alpn(void)
{
    static const unsigned char ours[] = "\x08http/1.1";
    static const unsigned char both[] = "\x02h2\x08http/1.1";
    static const unsigned char h2[] = "\x02h2";
    static const unsigned char bad[] = "\x09http/1.1";
    static const unsigned char zero[] = "\x00\x02h2";
    const unsigned char *out = NULL;
    unsigned char len = 0;
    CU_ASSERT_EQUAL(tls_alpn_pick(ours, 9, both, 12, &out, &len), 1);
    CU_ASSERT(len == 8 && memcmp(out, "http/1.1", 8) == 0 && out == both + 4);
    CU_ASSERT_EQUAL(tls_alpn_pick(ours, 9, h2, 3, &out, &len), 0);
    CU_ASSERT_EQUAL(tls_alpn_pick(ours, 9, bad, 9, &out, &len), 0);
    CU_ASSERT_EQUAL(tls_alpn_pick(ours, 9, zero, 4, &out, &len), 0);
    CU_ASSERT_EQUAL(tls_alpn_pick(ours, 9, both, 0, &out, &len), 0);
}

/* ---- ticket keys, fake clock ---- */

static struct tls_ticket_key key_n(unsigned char n)
{
    struct tls_ticket_key k;
    memset(&k, n, sizeof(k));
    return k;
}

static void test_ticket_rotation(void)
{
    struct tls_ticket_ring r = { 0 };
    const struct tls_ticket_key *k = NULL;
    const uint64_t H = 3600000;
    unsigned char name1[16], name2[16], name3[16];
    memset(name1, 1, 16); memset(name2, 2, 16); memset(name3, 3, 16);

    CU_ASSERT(tls_ticket_rotate_due(&r, 1000, H));          /* no key yet */
    struct tls_ticket_key k1 = key_n(1), k2 = key_n(2), k3 = key_n(3), k4 = key_n(4);
    tls_ticket_rotate(&r, &k1, 1000, H);
    CU_ASSERT(!tls_ticket_rotate_due(&r, 1000 + H - 1, H));
    CU_ASSERT(tls_ticket_rotate_due(&r, 1000 + H, H));
    CU_ASSERT_EQUAL(tls_ticket_find(&r, name1, &k), 1);
    CU_ASSERT(k == &r.cur);
    CU_ASSERT_EQUAL(tls_ticket_find(&r, name2, &k), 0);

    tls_ticket_rotate(&r, &k2, 1000 + H, H);                 /* 1 -> previous */
    CU_ASSERT_EQUAL(tls_ticket_find(&r, name2, &k), 1);
    CU_ASSERT_EQUAL(tls_ticket_find(&r, name1, &k), 2);     /* decrypts, asks renewal */
    CU_ASSERT(k == &r.prev);

    tls_ticket_rotate(&r, &k3, 1000 + 2 * H, H);             /* 1 is gone */
    CU_ASSERT_EQUAL(tls_ticket_find(&r, name1, &k), 0);
    CU_ASSERT_EQUAL(tls_ticket_find(&r, name2, &k), 2);
    CU_ASSERT_EQUAL(tls_ticket_find(&r, name3, &k), 1);

    /* A quiet time of two periods: the old current key is not kept. */
    tls_ticket_rotate(&r, &k4, 1000 + 5 * H, H);
    CU_ASSERT_EQUAL(tls_ticket_find(&r, name3, &k), 0);
    CU_ASSERT_FALSE(r.have_prev);
    /* A clock that went backwards never makes rotation due forever. */
    CU_ASSERT(!tls_ticket_rotate_due(&r, 10, H));
}

/* ---- config ---- */

static char dir[64];
static char cert_a[128], key_a[128], cert_b[128], key_b[128];

static struct tandem_config *load(const char *fe_tls, const char *be_tls, struct conf_errors *e)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf),
             "backends = ( { name = \"web\"; servers = ( { name = \"a\"; addr = \"127.0.0.1:80\"; } ); %s } );\n"
             "frontends = ( { name = \"www\"; mode = \"http\"; bind = \"127.0.0.1:8443\";\n"
             "  backend = \"web\";\n  %s } );\n", be_tls ? be_tls : "", fe_tls ? fe_tls : "");
    return conf_load_proxy_string(buf, "t.conf", e);
}

static int has_error(const struct conf_errors *e, const char *needle)
{
    for (unsigned i = 0; i < e->n; i++)
        if (strstr(e->msgs[i], needle))
            return 1;
    return 0;
}

static void test_conf_defaults(void)
{
    struct conf_errors e = { 0 };
    struct tandem_config *c = load("tls = { certs = ( { cert = \"/x/c.pem\"; key = \"/x/k.pem\"; } ); };",
                                   "tls = { sni = \"api.internal\"; };", &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const struct conf_tls_frontend *t = c->frontends[0].tls;
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(t->ncerts, 1);
    CU_ASSERT_EQUAL(t->min_version, CONF_TLS_V12);
    CU_ASSERT_EQUAL(t->max_version, CONF_TLS_V13);
    CU_ASSERT_EQUAL(t->session_cache, 20000);
    CU_ASSERT_EQUAL(t->tickets, 1);
    CU_ASSERT_EQUAL(t->ticket_rotate_ms, 3600000);
    CU_ASSERT_EQUAL(t->verify, TLS_VERIFY_NONE);
    CU_ASSERT_EQUAL(t->strict_sni, 0);
    const struct conf_tls_backend *b = c->backends[0].tls;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(b->enabled && b->verify);
    CU_ASSERT_STRING_EQUAL(b->sni, "api.internal");
    conf_free(c);
    conf_errors_free(&e);
}

static void test_conf_full(void)
{
    struct conf_errors e = { 0 };
    struct tandem_config *c = load(
        "tls = { certs = ( { cert = \"/x/c.pem\"; key = \"/x/k.pem\"; sni = [ \"WWW.Example.com\", \"*.example.org\" ]; },"
        " { cert = \"/x/d.pem\"; key = \"/x/e.pem\"; } ); min_version = \"1.3\"; ciphers = \"HIGH\";"
        " ciphersuites = \"TLS_AES_128_GCM_SHA256\"; groups = \"X25519\"; alpn = [ \"http/1.1\" ];"
        " session_cache = 0; tickets = false; ticket_rotate = \"10m\"; client_ca = \"/x/ca.pem\";"
        " verify = \"required\"; strict_sni = true; };", NULL, &e);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const struct conf_tls_frontend *t = c->frontends[0].tls;
    CU_ASSERT_EQUAL(t->ncerts, 2);
    CU_ASSERT_EQUAL(t->certs[0].sni.n, 2);
    CU_ASSERT_STRING_EQUAL(t->certs[0].sni.v[0], "www.example.com");
    CU_ASSERT_STRING_EQUAL(t->certs[0].sni.v[1], "*.example.org");
    CU_ASSERT_EQUAL(t->alpn.n, 1);
    CU_ASSERT_EQUAL(t->min_version, CONF_TLS_V13);
    CU_ASSERT_EQUAL(t->session_cache, 0);
    CU_ASSERT_EQUAL(t->tickets, 0);
    CU_ASSERT_EQUAL(t->ticket_rotate_ms, 600000);
    CU_ASSERT_EQUAL(t->verify, TLS_VERIFY_REQUIRED);
    CU_ASSERT_EQUAL(t->strict_sni, 1);
    conf_free(c);
    conf_errors_free(&e);
}

static void expect_error(const char *fe_tls, const char *be_tls, const char *needle)
{
    struct conf_errors e = { 0 };
    struct tandem_config *c = load(fe_tls, be_tls, &e);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT(has_error(&e, needle));
    if (!has_error(&e, needle))
        for (unsigned i = 0; i < e.n; i++)
            fprintf(stderr, "# %s\n", e.msgs[i]);
    conf_free(c);
    conf_errors_free(&e);
}

#define CERT1 "certs = ( { cert = \"/x/c.pem\"; key = \"/x/k.pem\"; } );"

static void test_conf_errors(void)
{
    expect_error("tls = { certs = ( ); };", NULL, "t.conf:4: ");
    expect_error("tls = { " CERT1 " alpn = [ \"h2\" ]; };", NULL, "\"h2\" is not supported");
    expect_error("tls = { " CERT1 " min_version = \"1.1\"; };", NULL, "is not supported");
    expect_error("tls = { " CERT1 " min_version = \"1.3\"; max_version = \"1.2\"; };", NULL,
                 "min_version is above");
    expect_error("tls = { " CERT1 " verify = \"required\"; };", NULL, "needs tls.client_ca");
    expect_error("tls = { certs = ( { cert = \"/x/c.pem\"; } ); };", NULL, "\"key\"");
    expect_error("tls = { certs = ( { cert = \"/x/c.pem\"; key = \"k\"; } ); };", NULL,
                 "absolute path");
    expect_error("tls = { " CERT1 " sni = [ \"a b\" ]; };", NULL, "unknown key");
    expect_error("tls = { certs = ( { cert = \"/x/c.pem\"; key = \"/k\"; sni = [ \"a b\" ]; } ); };",
                 NULL, "not a host name");
    expect_error(NULL, "tls = { cert = \"/x/c.pem\"; };", "needs both cert and key");
    expect_error("tls = { " CERT1 " ticket_rotate = \"10ms\"; };", NULL, "ticket_rotate");
}

static void test_conf_tcp_refused(void)
{
    struct conf_errors e = { 0 };
    const char *txt =
        "backends = ( { name = \"b\"; tls = { }; servers = ( { name = \"a\"; addr = \"127.0.0.1:80\"; } ); } );\n"
        "frontends = ( { name = \"t\"; mode = \"tcp\"; bind = \"127.0.0.1:9443\"; backend = \"b\";\n"
        "  tls = { certs = ( { cert = \"/x/c.pem\"; key = \"/x/k.pem\"; } ); }; } );\n";
    struct tandem_config *c = conf_load_proxy_string(txt, "t.conf", &e);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT(has_error(&e, "t.conf:3: ") && has_error(&e, "needs mode http"));
    CU_ASSERT(has_error(&e, "cannot re-encrypt"));
    conf_free(c);
    conf_errors_free(&e);
}

/* ---- building contexts from files ---- */

static int write_pem(const char *cpath, const char *kpath, const char *cn, const char *san)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    int ok = pk && x;
    if (ok) {
        ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 3600);
        X509_set_pubkey(x, pk);
        X509_NAME *n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
        X509_set_issuer_name(x, n);
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        X509_EXTENSION *ext = san ? X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san) : NULL;
        if (ext) {
            X509_add_ext(x, ext, -1);
            X509_EXTENSION_free(ext);
        }
        ok = X509_sign(x, pk, EVP_sha256()) > 0;
    }
    FILE *fc = ok ? fopen(cpath, "w") : NULL, *fk = ok ? fopen(kpath, "w") : NULL;
    ok = fc && fk && PEM_write_X509(fc, x) && PEM_write_PrivateKey(fk, pk, NULL, NULL, 0, NULL, NULL);
    if (fc)
        fclose(fc);
    if (fk)
        fclose(fk);
    X509_free(x);
    EVP_PKEY_free(pk);
    return ok ? 0 : -1;
}

static int setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/tandem-test-tls.XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(cert_a, sizeof(cert_a), "%s/a.pem", dir);
    snprintf(key_a, sizeof(key_a), "%s/a.key", dir);
    snprintf(cert_b, sizeof(cert_b), "%s/b.pem", dir);
    snprintf(key_b, sizeof(key_b), "%s/b.key", dir);
    return write_pem(cert_a, key_a, "a.test", "DNS:a.test,DNS:*.a.test") |
           write_pem(cert_b, key_b, "b.test", NULL);
}

static void cleanup(void)
{
    unlink(cert_a); unlink(key_a); unlink(cert_b); unlink(key_b);
    rmdir(dir);
}

static int build_with(const char *cert, const char *key, const char *extra, struct conf_errors *e)
{
    char fe[1024];
    snprintf(fe, sizeof(fe), "tls = { certs = ( { cert = \"%s\"; key = \"%s\"; },"
             " { cert = \"%s\"; key = \"%s\"; } ); %s };", cert, key, cert_b, key_b,
             extra ? extra : "");
    struct tandem_config *c = load(fe, "tls = { verify = false; };", e);
    if (!c)
        return -2;
    int rc = tls_config_build(c, e);
    if (rc == 0) {
        CU_ASSERT_PTR_NOT_NULL(c->frontends[0].tls->built);
        CU_ASSERT_PTR_NOT_NULL(c->backends[0].tls->built);
    }
    tls_config_release(c);
    CU_ASSERT_PTR_NULL(c->frontends[0].tls->built);
    conf_free(c);
    return rc;
}

static void test_build(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    struct conf_errors e = { 0 };
    CU_ASSERT_EQUAL(build_with(cert_a, key_a, NULL, &e), 0);
    CU_ASSERT_EQUAL(e.n, 0);
    conf_errors_free(&e);

    CU_ASSERT_EQUAL(build_with(cert_a, key_b, NULL, &e), -1);
    CU_ASSERT(has_error(&e, "t.conf:4: frontend \"www\": tls: "));
    CU_ASSERT(has_error(&e, key_b));
    conf_errors_free(&e);

    CU_ASSERT_EQUAL(build_with("/nonexistent/c.pem", key_a, NULL, &e), -1);
    CU_ASSERT(has_error(&e, "cannot use certificate \"/nonexistent/c.pem\""));
    conf_errors_free(&e);

    CU_ASSERT_EQUAL(build_with(cert_a, key_a, "ciphers = \"NOPE-NOT-A-CIPHER\";", &e), -1);
    CU_ASSERT(has_error(&e, "ciphers \"NOPE-NOT-A-CIPHER\""));
    conf_errors_free(&e);

    CU_ASSERT_EQUAL(build_with(cert_a, key_a, "groups = \"P-999\";", &e), -1);
    CU_ASSERT(has_error(&e, "groups"));
    conf_errors_free(&e);

    CU_ASSERT_EQUAL(build_with(cert_a, key_a,
                               "client_ca = \"/nonexistent/ca.pem\"; verify = \"optional\";", &e), -1);
    CU_ASSERT(has_error(&e, "cannot load client_ca"));
    conf_errors_free(&e);
    cleanup();
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_name_match),
    UNIT_TEST(test_sni_lookup),
    UNIT_TEST(test_alpn),
    UNIT_TEST(test_ticket_rotation),
    UNIT_TEST(test_conf_defaults),
    UNIT_TEST(test_conf_full),
    UNIT_TEST(test_conf_errors),
    UNIT_TEST(test_conf_tcp_refused),
    UNIT_TEST(test_build),
    { 0 }
};

int main(void)
{
    return unit_run("tls", tests);
}
