/* tls_io.c - non-blocking I/O on an SSL for the HTTP session (tls.h):
 * the handshake step by step, reads that drain what OpenSSL buffered,
 * coalesced writes, close_notify, and the verified client certificate as
 * header lines. Each call maps OpenSSL's WANT_READ/WANT_WRITE onto the
 * session's "nothing yet / socket full" results, so the session's event
 * logic stays the same as on a raw socket. */
#include "config.h"
#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest TLS record's payload: the unit of a coalesced write. */
#define TLS_CHUNK 16384

static __thread char tls_wbuf[TLS_CHUNK];

static void reason_from_queue(SSL *ssl, char *why, size_t len)
{
    long v = SSL_get_verify_result(ssl);
    unsigned long e = ERR_peek_last_error();
    if (v != X509_V_OK)
        snprintf(why, len, "certificate verify failed: %s", X509_verify_cert_error_string(v));
    else if (e)
        ERR_error_string_n(e, why, len);
    else
        snprintf(why, len, "handshake failed");
}

int tls_handshake(SSL *ssl, int *want_write, int *sys_err, char *why, size_t whylen)
{
    *want_write = 0;
    *sys_err = 0;
    errno = 0;
    int r = SSL_do_handshake(ssl);
    if (r == 1)
        return 1;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        return 0;
    if (e == SSL_ERROR_WANT_WRITE) {
        *want_write = 1;
        return 0;
    }
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno) {
        *sys_err = errno;
        snprintf(why, whylen, "%s during the handshake", strerror(errno));
    } else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
        /* EOF: a TLS failure when the peer sent something (a truncated
         * hello), a socket event when it sent nothing (a port probe). */
        *sys_err = BIO_number_read(SSL_get_rbio(ssl)) ? 0 : ECONNRESET;
        snprintf(why, whylen, "connection closed during the handshake%s",
                 *sys_err ? "" : " (truncated handshake)");
    } else {
        reason_from_queue(ssl, why, whylen);
    }
    ERR_clear_error();
    return -1;
}

/* The outcome of a failed SSL_read (r <= 0) as http_sock_read's. */
static ssize_t read_failed(SSL *ssl, int r, int *err)
{
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN)
        *err = 0;
    else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        *err = errno;
    else
        *err = EPROTO;
    ERR_clear_error();
    return -1;
}

ssize_t tls_read(SSL *ssl, char *buf, size_t cap, int *err)
{
    size_t got = 0;
    /* Bounded: each round fills part of buf or stops. */
    while (got < cap) {
        size_t n = 0;
        errno = 0;
        int r = SSL_read_ex(ssl, buf + got, cap - got, &n);
        if (r != 1) {
            if (got)
                break;                 /* the error comes back on the next call */
            return read_failed(ssl, r, err);
        }
        got += n;
        /* Another SSL_read would cost a recv that finds nothing. */
        if (!SSL_has_pending(ssl))
            break;
    }
    return (ssize_t)got;
}

/* The next record's payload starting `off` bytes into a|b: points into
 * a or b when it lies in one of them, else is gathered into tls_wbuf. */
static const char *chunk_at(const char *a, size_t alen, const char *b, size_t blen,
                            size_t off, size_t *len)
{
    size_t left = alen + blen - off;
    *len = left < TLS_CHUNK ? left : TLS_CHUNK;
    if (off >= alen)
        return b + (off - alen);
    if (off + *len <= alen)
        return a + off;
    size_t froma = alen - off;
    memcpy(tls_wbuf, a + off, froma);
    memcpy(tls_wbuf + froma, b, *len - froma);
    return tls_wbuf;
}

ssize_t tls_writev2(SSL *ssl, const char *a, size_t alen, const char *b, size_t blen)
{
    size_t done = 0, total = alen + blen;
    while (done < total) {
        size_t len, n = 0;
        const char *p = chunk_at(a, alen, b, blen, done, &len);
        errno = 0;
        int r = SSL_write_ex(ssl, p, len, &n);
        if (r == 1) {
            done += n;
            continue;
        }
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
            break;
        if (!(e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno))
            errno = EPIPE;
        ERR_clear_error();
        return done ? (ssize_t)done : -1;
    }
    return (ssize_t)done;
}

int tls_has_pending(SSL *ssl)
{
    return SSL_has_pending(ssl);
}

void tls_shutdown(SSL *ssl)
{
    if (!SSL_in_init(ssl) && !(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
        (void)SSL_shutdown(ssl);
    ERR_clear_error();
}

void tls_free(SSL *ssl, int clean)
{
    if (!ssl)
        return;
    if (clean)
        tls_shutdown(ssl);
    SSL_free(ssl);
}

/* Subject as RFC 2253 text, with anything unfit for a header replaced. */
static int subject_text(X509 *x, char *out, size_t cap)
{
    BIO *m = BIO_new(BIO_s_mem());
    if (!m)
        return -1;
    int ok = X509_NAME_print_ex(m, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0;
    int n = ok ? BIO_read(m, out, (int)cap - 1) : -1;
    BIO_free(m);
    if (n < 0)
        return -1;
    out[n] = '\0';
    for (int i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            out[i] = '?';
    return 0;
}

char *tls_client_cert_headers(SSL *ssl)
{
    X509 *x = SSL_get0_peer_certificate(ssl);
    if (!x || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    char subj[1024], hex[2 * EVP_MAX_MD_SIZE + 1];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (subject_text(x, subj, sizeof(subj)) < 0 || !X509_digest(x, EVP_sha256(), md, &mdlen)) {
        ERR_clear_error();
        return NULL;
    }
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    hex[2 * mdlen] = '\0';
    size_t cap = strlen(subj) + strlen(hex) + 64;
    char *h = malloc(cap);
    if (h)
        snprintf(h, cap, "X-Client-Cert-Subject: %s\r\nX-Client-Cert-Fingerprint: %s\r\n",
                 subj, hex);
    return h;
}
