/* http_session.h - the HTTP/1.1 reverse-proxy session, shared by its three
 * files: http_proxy.c (the client side and the session's life),
 * http_forward.c (server choice, queue, the server side, tunnels) and
 * http_conn.c (sockets, idle pools, per-worker setup).
 *
 * Buffers. Each session has two fixed buffers, parsed in place:
 *   cb  bytes from the client: the current request head at offset 0, then
 *       its body; [send_off, body_off) is framed body not yet sent to the
 *       server; past body_off come pipelined requests.
 *   sb  bytes from the server: the response head at 0 until it is
 *       forwarded, then body; [s_sent, s_framed) is framed, not yet sent.
 * Heads we build (the forwarded request/response head, error pages) go out
 * straight from a per-thread scratch buffer in the same writev as the body
 * bytes behind them; only what the socket refuses is copied to cpend/spend.
 * Reading a side stops while its buffer is full and resumes when the other
 * side drained it, so memory stays bounded for any body size. */
#ifndef TANDEM_HTTP_SESSION_H
#define TANDEM_HTTP_SESSION_H

#include <event2/event.h>
#include <event2/event_struct.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "worker.h"
#include "http_parse.h"
#include "http_pool.h"
#include "http_txn.h"

/* Poll interval while queued, for slots freed on other threads. */
#define HTTP_QUEUE_POLL_MS 10
/* Bound on a lingering close (after an error answer). */
#define HTTP_LINGER_MS 2000
/* Response heads larger than this are refused with 502. */
#define HTTP_RESP_MAX_HEADERS 128
/* Server-side buffer; also the largest response head accepted. */
#define HTTP_SBUF_SIZE 16384
/* Smallest client-side buffer (it also holds max_header_size + 1). */
#define HTTP_CBUF_MIN 16384

struct http_buf {
    char *data;
    uint32_t cap;
    uint32_t len;
};

/* Bytes we built that a socket did not take at once. */
struct http_pend {
    char *data;
    size_t len, off, cap;
};

enum http_resp_state { HTTP_RESP_HEAD = 0, HTTP_RESP_BODY, HTTP_RESP_DONE };

struct http_session {
    struct worker_session ws;          /* registered with the worker */
    struct worker *w;
    struct runtime *rt;                /* the runtime it started under */
    struct frontend_rt *fe;
    const struct conf_frontend *fc;
    int fd;
    enum http_phase phase;
    struct event crev, cwev, timer;
    unsigned crev_on:1, cwev_on:1, timer_on:1;
    unsigned c_paused:1;               /* client reads stopped: cb full */
    unsigned s_paused:1;               /* server reads stopped: sb full */
    unsigned draining:1;
    unsigned close_after:1;            /* close the client after this response */
    unsigned client_eof:1, server_eof:1;   /* read 0 from that side */
    unsigned c_shut:1, s_shut:1;           /* we shut our writing side there */
    unsigned first_request:1, head_started:1;
    uint64_t timer_at;                 /* ms deadline the timer is armed for */

    struct ssl_st *ssl;                /* TLS termination, else NULL */
    unsigned tls_ready:1;              /* handshake done */
    unsigned tls_failed:1;             /* no close_notify: the handshake failed */
    char *cert_hdrs;                   /* verified client certificate's header lines */

    struct sockaddr_storage client;    /* from the PROXY header when one came */
    struct sockaddr_storage local;

    /* Monotonic ms, for timeouts. */
    uint64_t t_idle, t_req, t_phase, t_poll, t_cio, t_sio;
    /* Monotonic us, for the log and response-time observation. */
    uint64_t u_req, u_head, u_queue, u_connect, u_sent, u_resp;
    int64_t tw_ms, tc_ms;

    struct http_buf cb, sb;
    struct http_pend cpend, spend;

    /* The current request. */
    struct http_req req;
    struct http_hdr *req_hdrs;
    struct http_body reqb;
    uint32_t body_off, send_off;
    enum http_method method;
    unsigned req_done:1;               /* body fully framed */
    unsigned req_valid:1;              /* head (and body) still in cb: replayable */
    unsigned upgrade:1;                /* Upgrade + Connection: upgrade */
    unsigned req_sent_any:1;           /* bytes reached the server socket (this attempt) */
    char reqid[17];
    char log_method[16];
    char log_path[256];
    unsigned log_path_len;

    /* The server side. */
    int bi;                            /* backend index, -1 if none */
    struct backend *be;
    struct server *srv;                /* holds one of srv->active while set */
    struct server *failed;             /* to avoid on the next pick */
    struct server *last_srv;           /* tried last, for the log line */
    struct http_sconn *sc;
    unsigned retries_left;
    unsigned reused:1, fresh_used:1, queued:1;
    struct http_pool *waitq;           /* the pool whose waiter list holds us */
    TAILQ_ENTRY(http_session) wait_link;

    /* The response. */
    struct http_resp resp;
    struct http_hdr *resp_hdrs;
    struct http_body respb;
    enum http_resp_state resp_state;
    int status;                        /* status sent to the client, 0 = none */
    unsigned resp_started:1;           /* response bytes were sent to the client */
    unsigned resp_close:1;             /* server connection not reusable */
    unsigned resp_got:1;               /* any response byte arrived */
    uint32_t s_sent, s_framed;

    /* Bytes of this request, and not yet added to the shared counters. */
    uint64_t rq_in, rq_out;
    /* The connection table's entry and the connection's bytes so far;
     * whether this request went to its sticky server (http_sticky.c). */
    struct conn_entry *conn;
    uint64_t conn_in, conn_out;
    unsigned sticky_hit:1;
    uint64_t srv_in, srv_out;
};

/* http_proxy.c */
void http_timer_update(struct http_session *s);
void http_client_flush(struct http_session *s);
void http_client_send(struct http_session *s, const char *head, size_t hlen);
void http_reap(struct http_session *s);
void http_client_resume(struct http_session *s);
void http_reply_error(struct http_session *s, int status, const char *term);
/* The same with extra header lines ("Retry-After: 5\r\n"). */
void http_reply_error_hdr(struct http_session *s, int status, const char *term,
                          const char *extra);
void http_session_close(struct http_session *s, const char *term);
void http_response_done(struct http_session *s);
uint64_t http_now_ms(void);

/* http_forward.c */
void http_forward_start(struct http_session *s);
void http_req_frame(struct http_session *s);
void http_server_flush(struct http_session *s);
void http_server_event(struct http_session *s, short what);
void http_server_release(struct http_session *s, int reusable);
void http_queue_leave(struct http_session *s);
void http_queue_retry(struct http_session *s);
void http_connect_timeout(struct http_session *s);
void http_tunnel_check(struct http_session *s);

/* http_conn.c */
ssize_t http_sock_read(int fd, struct http_buf *b, int *err);
ssize_t http_sock_writev2(int fd, const char *a, size_t alen, const char *b, size_t blen);
/* The same through ssl when it is set (tls.h), else on the socket. */
ssize_t http_io_read(int fd, struct ssl_st *ssl, struct http_buf *b, int *err);
ssize_t http_io_writev2(int fd, struct ssl_st *ssl, const char *a, size_t alen,
                        const char *b, size_t blen);
/* Half-close: close_notify first on TLS. */
int http_io_shut_wr(int fd, struct ssl_st *ssl);
int http_pend_add(struct http_pend *p, const char *data, size_t len);
void http_pend_free(struct http_pend *p);
char *http_scratch(size_t size);
struct http_sconn *http_sconn_open(struct worker *w, struct server *srv, int *err);
void http_sconn_close(struct http_sconn *sc);
void http_sconn_want_write(struct http_sconn *sc, int on);
void http_sconn_want_read(struct http_sconn *sc, int on);
struct http_pool *http_session_pool(struct http_session *s);
struct http_sconn *http_pool_get(struct http_pool *p, struct server *srv);
void http_pool_give(struct http_pool *p, struct http_sconn *sc);
void http_pool_wake(struct http_pool *p);

#endif
