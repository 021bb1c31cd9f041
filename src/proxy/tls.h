/* tls.h - TLS for the HTTP session: OpenSSL contexts built from the
 * configuration (frontend termination with certificates chosen by SNI,
 * backend re-encryption), and the non-blocking I/O the session uses on
 * an SSL instead of the raw socket.
 *
 * Contexts are built right after the file is loaded (start, -t, reload):
 * a certificate, key or CA that cannot be used fails the load with
 * FILE:LINE messages and a reload keeps the running configuration. They
 * hang off the config (conf_tls_*.built) and are freed with it
 * (tls_config_release). Session-ticket keys are process-wide and outlive
 * reloads, so tickets stay valid across them. */
#ifndef TANDEM_TLS_H
#define TANDEM_TLS_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>
#include "conf.h"

/* Builds every frontend's and backend's contexts; -1 with errs filled. */
int tls_config_build(struct tandem_config *cfg, struct conf_errors *errs);
/* Frees what tls_config_build hung off cfg (safe on a config without). */
void tls_config_release(struct tandem_config *cfg);

/* A server-side SSL for an accepted, non-blocking socket; NULL (logged)
 * on failure. The frontend must have tls (fc->tls->built). */
SSL *tls_frontend_ssl(const struct conf_frontend *fc, int fd);
/* A client-side SSL for a connecting socket to a server of bc. */
SSL *tls_backend_ssl(const struct conf_backend *bc, int fd);

/* One step of the handshake: 1 done, 0 in progress (*want_write says
 * whether it waits for the socket to be writable rather than readable),
 * -1 failed: *sys_err is the socket errno when the socket failed (0 for
 * a TLS failure, whose reason is written to why). */
int tls_handshake(SSL *ssl, int *want_write, int *sys_err, char *why, size_t whylen);

/* Reads decrypted bytes into buf (up to cap, several records when they
 * are already buffered). Like http_sock_read: >0 bytes, 0 nothing yet,
 * -1 closed (*err = 0: close_notify or EOF) or failed (*err = errno). */
ssize_t tls_read(SSL *ssl, char *buf, size_t cap, int *err);
/* Writes a then b (coalesced into records of up to 16 KiB). Like
 * http_sock_writev2: bytes taken, 0 when the socket is full, -1 (errno).
 * A short write must be retried with the same bytes first (as the
 * session's pending buffers do). */
ssize_t tls_writev2(SSL *ssl, const char *a, size_t alen, const char *b, size_t blen);
/* 1 when decrypted or raw bytes wait inside the SSL (no socket event will
 * announce them). */
int tls_has_pending(SSL *ssl);
/* Sends close_notify (best effort, never blocks). */
void tls_shutdown(SSL *ssl);
/* close_notify if clean, then frees. */
void tls_free(SSL *ssl, int clean);

/* "X-Client-Cert-Subject: ...\r\nX-Client-Cert-Fingerprint: ...\r\n" for a
 * verified client certificate (malloc'ed), or NULL when there is none. */
char *tls_client_cert_headers(SSL *ssl);

#endif
