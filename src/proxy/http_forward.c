/* http_forward.c - the server side of an HTTP session: choosing a server
 * (or queueing for one), connecting or reusing an idle connection,
 * forwarding the request head and body, relaying the response, retries,
 * and the byte tunnel after 101 Switching Protocols. */
#include "config.h"
#include "health.h"
#include "http_session.h"
#include "http_sticky.h"
#include "http_write.h"
#include "route.h"
#include "proxy_proto.h"
#include "clock.h"
#include "log.h"
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Room for the PROXY header and the lines we add to a request head. */
#define HTTP_HEAD_SLACK 1024

static struct log_ratelimit rl_connect, rl_badresp, rl_nosrv, rl_tls;

static int dead(const struct http_session *s)
{
    return s->fd < 0;
}

static int pend_empty(const struct http_pend *p)
{
    return p->off == p->len;
}

/* ---- choosing a server ---- */

/* The bytes the backend's algorithm hashes, if any. */
static void lb_key(struct http_session *s, const void **key, size_t *len)
{
    const struct backend *be = s->be;
    *key = NULL;
    *len = 0;
    if (be->algo == LB_SOURCE || (be->algo == LB_HASH && be->hash_key.kind == HASH_KEY_SOURCE)) {
        *key = addr_ip_bytes((const struct sockaddr *)&s->client, len);
        return;
    }
    if (be->algo != LB_HASH || !s->req_valid)
        return;
    const char *k;
    size_t kl;
    if (route_hash_key(&be->hash_key, &s->req, &k, &kl)) {
        *key = k;
        *len = kl;
    }
}

/* Takes one of srv's connection slots; fails when another thread took the
 * last one since the balancer looked. */
static int slot_take(struct server *srv)
{
    int prev = atomic_fetch_add_explicit(&srv->active, 1, memory_order_relaxed);
    int peer = atomic_load_explicit(&srv->peer_active, memory_order_relaxed);
    if (srv->maxconn && prev >= 0 && (unsigned)prev + (unsigned)(peer > 0 ? peer : 0) >= srv->maxconn) {
        atomic_fetch_sub_explicit(&srv->active, 1, memory_order_relaxed);
        return -1;
    }
    return 0;
}

static struct server *pick(struct http_session *s, enum lb_result *why)
{
    struct balancer *bal = worker_balancer(s->w, s->rt, (unsigned)s->bi);
    *why = LB_NONE_UP;
    if (!bal)
        return NULL;
    const void *key;
    size_t klen;
    lb_key(s, &key, &klen);
    struct server *srv = http_sticky_pick(s);
    if (!srv)
        srv = balancer_pick(bal, key, klen, s->failed, clock_mono_ms(), why);
    if (srv && slot_take(srv) < 0) {
        *why = LB_ALL_FULL;
        return NULL;
    }
    return srv;
}

/* ---- the queue ---- */

void http_queue_leave(struct http_session *s)
{
    if (!s->queued)
        return;
    s->queued = 0;
    atomic_fetch_sub_explicit(&s->be->queued, 1, memory_order_relaxed);
    if (s->waitq)
        TAILQ_REMOVE(&s->waitq->waiters, s, wait_link);
    s->waitq = NULL;
    s->tw_ms = (int64_t)((clock_mono_us() - s->u_queue) / 1000);
}

static void queue_enter(struct http_session *s)
{
    unsigned maxq = s->be->conf->maxqueue;
    int prev = maxq ? atomic_fetch_add_explicit(&s->be->queued, 1, memory_order_relaxed) : 0;
    if (!maxq || (unsigned)prev >= maxq) {
        if (maxq)
            atomic_fetch_sub_explicit(&s->be->queued, 1, memory_order_relaxed);
        http_reply_error(s, 503, "PQ");
        return;
    }
    s->queued = 1;
    s->phase = HTTP_PH_QUEUE;
    s->t_phase = s->t_poll = clock_mono_ms();
    s->u_queue = clock_mono_us();
    s->waitq = http_session_pool(s);
    if (s->waitq)
        TAILQ_INSERT_TAIL(&s->waitq->waiters, s, wait_link);
    http_timer_update(s);
}

static void server_attach(struct http_session *s, struct server *srv, int fresh);

static void no_server(struct http_session *s)
{
    log_limited(&rl_nosrv, 5, 10, LOG_LVL_WARN, "backend \"%s\": no server available",
                s->be->name);
    http_reply_error(s, 503, "SC");
}

void http_queue_retry(struct http_session *s)
{
    if (s->phase != HTTP_PH_QUEUE)
        return;
    enum lb_result why;
    struct server *srv = pick(s, &why);
    if (!srv && why == LB_ALL_FULL)
        return;
    http_queue_leave(s);
    if (!srv) {
        no_server(s);
        return;
    }
    server_attach(s, srv, 0);
}

void http_forward_start(struct http_session *s)
{
    s->be = &s->rt->backends[s->bi];
    s->retries_left = s->be->conf->retries;
    enum lb_result why;
    struct server *srv = pick(s, &why);
    if (srv)
        server_attach(s, srv, 0);
    else if (why == LB_ALL_FULL)
        queue_enter(s);
    else
        no_server(s);
}

/* ---- releasing the server ---- */

static void srv_counters_flush(struct http_session *s, struct server *srv)
{
    atomic_fetch_add_explicit(&srv->stats.bytes_in, s->srv_in, memory_order_relaxed);
    atomic_fetch_add_explicit(&srv->stats.bytes_out, s->srv_out, memory_order_relaxed);
    s->srv_in = s->srv_out = 0;
}

void http_server_release(struct http_session *s, int reusable)
{
    struct http_sconn *sc = s->sc;
    struct http_pool *p = http_session_pool(s);
    s->sc = NULL;
    s->s_paused = 0;
    if (sc) {
        if (reusable && !sc->no_reuse && p && p->cap)
            http_pool_give(p, sc);
        else
            http_sconn_close(sc);
    }
    if (s->srv) {
        srv_counters_flush(s, s->srv);
        atomic_fetch_sub_explicit(&s->srv->active, 1, memory_order_relaxed);
        s->srv = NULL;
        http_pool_wake(p);
    }
}

/* ---- sending the request ---- */

/* Header lines we add: Host for an HTTP/1.0 request without one (it goes
 * out as HTTP/1.1, which requires one: name the address the client
 * connected to), and the verified client certificate. */
static const char *extra_lines(const struct http_session *s, char *buf, size_t len)
{
    const struct http_req *r = &s->req;
    int need_host = r->version_minor == 0 && !http_find_header(r->hdrs, r->nhdrs, "Host");
    if (!need_host && !s->cert_hdrs)
        return NULL;
    char a[ADDR_STRLEN];
    snprintf(buf, len, "%s%s%s%s", need_host ? "Host: " : "",
             need_host ? addr_format((const struct sockaddr *)&s->local, a, sizeof(a)) : "",
             need_host ? "\r\n" : "", s->cert_hdrs ? s->cert_hdrs : "");
    return buf;
}

/* Builds [PROXY header][request head] into the scratch buffer. */
static ssize_t build_request(struct http_session *s, char **out)
{
    const struct http_req *r = &s->req;
    size_t cap = r->head_len + HTTP_HEAD_SLACK + PROXY_PROTO_V1_MAX + 232;
    char *buf = http_scratch(cap);
    if (!buf)
        return -1;
    size_t off = 0;
    struct server *srv = s->srv;
    if (srv->send_proxy != PROXY_PROTO_NONE && s->sc->requests == 0) {
        const struct sockaddr *src = (const struct sockaddr *)&s->client;
        const struct sockaddr *dst = (const struct sockaddr *)&s->local;
        off = srv->send_proxy == PROXY_PROTO_V1 ? proxy_proto_write_v1(buf, cap, src, dst)
                                                : proxy_proto_write_v2((uint8_t *)buf, cap, src, dst);
        s->sc->no_reuse = 1;
    }
    char ip[ADDR_STRLEN], extra[ADDR_STRLEN + 1200];
    struct http_pool *p = http_session_pool(s);
    struct http_fwd_req fwd = {
        .client_ip = s->fc->add_xff ? addr_format_ip((const struct sockaddr *)&s->client, ip,
                                                     sizeof(ip)) : NULL,
        .proto = s->fc->add_xff ? (s->ssl ? "https" : "http") : NULL,
        .request_id = s->reqid[0] ? s->reqid : NULL,
        .extra = extra_lines(s, extra, sizeof(extra)),
        .upgrade = s->upgrade,
        /* A connection that will not be pooled tells the server so. */
        .close = s->sc->no_reuse || !p || !p->cap || s->draining,
    };
    ssize_t n = http_write_request_head(buf + off, cap - off, r, &fwd);
    if (n < 0)
        return -1;
    *out = buf;
    return (ssize_t)off + n;
}

static void attempt_failed(struct http_session *s, int err, int timeout);

/* Accounts a write to the server of n bytes taken first from a (spend's
 * unsent bytes if from_pend, else a built head whose unsent part is copied
 * to spend), then from the body in cb. */
static int server_wrote(struct http_session *s, const char *a, size_t alen, int from_pend,
                        ssize_t n)
{
    if (n < 0) {
        attempt_failed(s, errno, 0);
        return -1;
    }
    size_t done = (size_t)n;
    size_t from_a = done < alen ? done : alen;
    if (from_pend)
        s->spend.off += from_a;
    else if (from_a < alen && http_pend_add(&s->spend, a + from_a, alen - from_a) < 0) {
        http_session_close(s, "PD");
        return -1;
    }
    s->send_off += (uint32_t)(done - from_a);
    if (done) {
        if (!s->sc->connected)
            health_passive_report(s->srv, HEALTH_CONNECT_OK);
        s->req_sent_any = 1;
        s->sc->connected = 1;
        s->srv_out += done;
        s->t_sio = clock_mono_ms();
    }
    int pending = !pend_empty(&s->spend) || s->send_off < s->body_off;
    http_sconn_want_write(s->sc, pending);
    if (s->c_paused)
        http_client_resume(s);
    if (!pending && s->phase == HTTP_PH_TUNNEL)
        http_tunnel_check(s);
    return 0;
}

static void send_request(struct http_session *s)
{
    char *head;
    ssize_t hlen = build_request(s, &head);
    if (hlen < 0) {
        http_reply_error(s, 431, "PR");
        return;
    }
    s->sc->requests++;
    atomic_fetch_add_explicit(&s->srv->stats.requests, 1, memory_order_relaxed);
    s->phase = HTTP_PH_EXCHANGE;
    s->resp_state = HTTP_RESP_HEAD;
    s->u_sent = clock_mono_us();
    s->t_sio = clock_mono_ms();
    s->spend.off = s->spend.len = 0;
    ssize_t n = http_io_writev2(s->sc->fd, s->sc->ssl, head, (size_t)hlen,
                                s->cb.data + s->send_off, s->body_off - s->send_off);
    if (server_wrote(s, head, (size_t)hlen, 0, n) == 0)
        http_timer_update(s);
}

void http_server_flush(struct http_session *s)
{
    if (dead(s) || !s->sc || (s->phase != HTTP_PH_EXCHANGE && s->phase != HTTP_PH_TUNNEL))
        return;
    size_t alen = s->spend.len - s->spend.off;
    const char *a = alen ? s->spend.data + s->spend.off : NULL;
    size_t blen = s->body_off - s->send_off;
    if (!alen && !blen) {
        http_sconn_want_write(s->sc, 0);
        return;
    }
    ssize_t n = http_io_writev2(s->sc->fd, s->sc->ssl, a, alen, s->cb.data + s->send_off, blen);
    server_wrote(s, a, alen, 1, n);
}

/* Frames newly read client bytes (request body, or anything in a tunnel)
 * and passes them on. */
void http_req_frame(struct http_session *s)
{
    if (s->phase == HTTP_PH_TUNNEL) {
        s->rq_in += s->cb.len - s->body_off;
        s->body_off = s->cb.len;
    } else if (!s->req_done && s->body_off < s->cb.len) {
        int done = 0;
        ssize_t n = http_body_feed(&s->reqb, s->cb.data + s->body_off,
                                   s->cb.len - s->body_off, &done);
        if (n < 0) {
            http_reply_error(s, 400, "PR");
            return;
        }
        s->body_off += (uint32_t)n;
        s->rq_in += (uint64_t)n;
        s->req_done = done ? 1 : 0;
        if (s->fc->max_body && s->reqb.payload > s->fc->max_body) {
            atomic_fetch_add_explicit(&s->fe->stats.denied, 1, memory_order_relaxed);
            http_reply_error(s, 413, "PR");
            return;
        }
        if (done)
            http_timer_update(s);
    }
    if (s->sc && s->sc->connected)
        http_server_flush(s);
}

/* ---- connecting and retrying ---- */

static void server_attach(struct http_session *s, struct server *srv, int fresh)
{
    s->srv = srv;
    s->last_srv = srv;
    s->req_sent_any = 0;
    s->resp_got = 0;
    struct http_sconn *sc = NULL;
    if (!fresh && srv->send_proxy == PROXY_PROTO_NONE)
        sc = http_pool_get(http_session_pool(s), srv);
    if (sc) {
        sc->owner = s;
        s->sc = sc;
        s->reused = 1;
        if (s->tc_ms < 0)
            s->tc_ms = 0;
        send_request(s);
        return;
    }
    s->reused = 0;
    int err = 0;
    sc = http_sconn_open(s->w, srv, &err);
    if (!sc) {
        attempt_failed(s, err, 0);
        return;
    }
    sc->owner = s;
    s->sc = sc;
    const struct conf_backend *bc = s->be->conf;
    if (bc->tls && bc->tls->built && !(sc->ssl = tls_backend_ssl(bc, sc->fd))) {
        attempt_failed(s, ENOMEM, 0);
        return;
    }
    s->phase = HTTP_PH_CONNECT;
    s->t_phase = clock_mono_ms();
    s->u_connect = clock_mono_us();
    http_timer_update(s);
}

static void retry_other(struct http_session *s, int status)
{
    s->retries_left--;
    enum lb_result why;
    struct server *srv = pick(s, &why);
    if (srv) {
        server_attach(s, srv, 0);
        return;
    }
    /* Nothing else to try: report the failure we retried on. */
    http_reply_error(s, status, status == 504 ? "sC" : "SC");
}

/* Rewinds the request so it can be sent again from its first byte. */
static void rewind_request(struct http_session *s)
{
    s->send_off = (uint32_t)s->req.head_len;
    s->spend.off = s->spend.len = 0;
    s->sb.len = 0;
    s->resp_state = HTTP_RESP_HEAD;
}

/* A connect failed or timed out, or a connection died before any
 * response byte. Retry where allowed, else 502/504. */
static void attempt_failed(struct http_session *s, int err, int timeout)
{
    struct server *srv = s->srv;
    struct http_attempt a = {
        .reused = s->reused,
        .connected = s->sc && s->sc->connected,
        .request_sent = s->req_sent_any,
        .response_started = s->resp_got,
        .replayable = s->req_valid,
        .idempotent = http_method_idempotent(s->method),
        .retries_left = s->retries_left,
        .fresh_used = s->fresh_used,
    };
    int status = timeout ? 504 : 502;
    if (!a.reused) {
        char abuf[ADDR_STRLEN];
        if (!a.connected) {
            atomic_fetch_add_explicit(&srv->stats.connect_errors, 1, memory_order_relaxed);
            health_passive_report(srv, HEALTH_CONNECT_FAIL);
        }
        if (timeout)
            atomic_fetch_add_explicit(&srv->stats.timeouts, 1, memory_order_relaxed);
        log_limited(&rl_connect, 10, 10, LOG_LVL_WARN, "backend \"%s\" server \"%s\" (%s): %s",
                    s->be->name, srv->name,
                    addr_format((const struct sockaddr *)&srv->addr.ss, abuf, sizeof(abuf)),
                    a.connected ? "connection lost before the response"
                                : timeout ? "connect timeout" : strerror(err));
    }
    enum http_retry r = http_retry_decide(&a);
    if (r == HTTP_RETRY_NONE) {
        http_reply_error(s, status, a.connected ? "SH" : (timeout ? "sC" : "SC"));
        return;
    }
    http_server_release(s, 0);
    rewind_request(s);
    s->phase = HTTP_PH_CONNECT;
    if (r == HTTP_RETRY_FRESH) {
        s->fresh_used = 1;
        if (slot_take(srv) == 0) {
            server_attach(s, srv, 1);
            return;
        }
        http_reply_error(s, 503, "SC");
        return;
    }
    atomic_fetch_add_explicit(&srv->stats.retries, 1, memory_order_relaxed);
    s->failed = srv;
    retry_other(s, status);
}

void http_connect_timeout(struct http_session *s)
{
    if (s->phase == HTTP_PH_CONNECT && s->sc)
        attempt_failed(s, ETIMEDOUT, 1);
}

/* A TLS handshake to the server failed: a connect failure (retry, 502). */
static void tls_server_failed(struct http_session *s, int sys_err, const char *why)
{
    char abuf[ADDR_STRLEN];
    if (!sys_err)
        log_limited(&rl_tls, 10, 10, LOG_LVL_WARN,
                    "backend \"%s\" server \"%s\" (%s): TLS handshake failed: %s",
                    s->be->name, s->srv->name,
                    addr_format((const struct sockaddr *)&s->srv->addr.ss, abuf, sizeof(abuf)),
                    why);
    attempt_failed(s, sys_err ? sys_err : EPROTO, 0);
}

/* One handshake step on a new TLS server connection. 1 when done. */
static int tls_server_step(struct http_session *s)
{
    int want_write, sys_err;
    char why[256];
    int rc = tls_handshake(s->sc->ssl, &want_write, &sys_err, why, sizeof(why));
    if (rc < 0) {
        tls_server_failed(s, sys_err, why);
        return 0;
    }
    http_sconn_want_write(s->sc, want_write);
    if (rc == 0)
        return 0;
    s->sc->tls_ready = 1;
    return 1;
}

/* The connect finished (either way): send, and learn the outcome from the
 * write. On TLS the handshake comes first (timeouts.connect covers it). */
static void connect_done(struct http_session *s)
{
    if (s->sc->ssl && !s->sc->tls_ready && !tls_server_step(s))
        return;
    if (s->tc_ms < 0)
        s->tc_ms = (int64_t)((clock_mono_us() - s->u_connect) / 1000);
    s->phase = HTTP_PH_EXCHANGE;
    send_request(s);
}

/* ---- the response ---- */

static void start_tunnel(struct http_session *s);
static void resp_process(struct http_session *s);

static void bad_response(struct http_session *s, const char *why)
{
    log_limited(&rl_badresp, 10, 10, LOG_LVL_WARN,
                "backend \"%s\" server \"%s\": invalid response (%s)", s->be->name,
                s->srv ? s->srv->name : "-", why);
    http_reply_error(s, 502, "PH");
}

/* The server closed or failed the connection (err 0: clean close). */
static void server_lost(struct http_session *s, int err)
{
    switch (s->resp_state) {
    case HTTP_RESP_HEAD:
        if (!s->resp_got) {
            attempt_failed(s, err ? err : ECONNRESET, 0);
            return;
        }
        bad_response(s, "closed inside the head");
        return;
    case HTTP_RESP_BODY:
        if (s->phase == HTTP_PH_TUNNEL) {
            if (err) {
                http_session_close(s, NULL);
                return;
            }
            s->server_eof = 1;
            http_sconn_want_read(s->sc, 0);
            http_tunnel_check(s);
            return;
        }
        if (s->respb.kind != HTTP_BODY_UNTIL_CLOSE || err) {
            http_session_close(s, "SD");
            return;
        }
        /* The close ends an until-close body. */
        s->resp_state = HTTP_RESP_DONE;
        s->resp_close = 1;
        http_server_release(s, 0);
        http_client_flush(s);
        return;
    case HTTP_RESP_DONE:
        /* Closed after a complete response we are still delivering. */
        s->resp_close = 1;
        http_sconn_want_read(s->sc, 0);
        return;
    }
}

static void server_readable(struct http_session *s)
{
    struct http_buf *b = &s->sb;
    if (b->len == b->cap && s->s_sent > 0 && s->resp_state != HTTP_RESP_HEAD) {
        memmove(b->data, b->data + s->s_sent, b->len - s->s_sent);
        b->len -= s->s_sent;
        s->s_framed -= s->s_sent;
        s->s_sent = 0;
    }
    if (b->len == b->cap) {
        if (s->resp_state == HTTP_RESP_HEAD) {
            bad_response(s, "head too large");
            return;
        }
        s->s_paused = 1;
        http_sconn_want_read(s->sc, 0);
        return;
    }
    int err;
    ssize_t n = http_io_read(s->sc->fd, s->sc->ssl, b, &err);
    if (n < 0)
        server_lost(s, err);
    if (n <= 0)
        return;
    s->srv_in += (uint64_t)n;
    s->t_sio = clock_mono_ms();
    s->sc->connected = 1;
    s->resp_got = 1;
    if (s->phase == HTTP_PH_TUNNEL) {
        s->s_framed = b->len;
        http_client_flush(s);
        return;
    }
    resp_process(s);
}

void http_server_event(struct http_session *s, short what)
{
    struct http_sconn *sc = s->sc;
    if (s->phase == HTTP_PH_CONNECT) {
        connect_done(s);
    } else if (what & EV_WRITE) {
        http_server_flush(s);
    }
    if ((what & EV_READ) && !dead(s) && s->sc == sc && sc &&
        (s->phase == HTTP_PH_EXCHANGE || s->phase == HTTP_PH_TUNNEL))
        server_readable(s);
    http_reap(s);
}

/* Forwards an interim 1xx (100 Continue, 103 Early Hints) as received and
 * keeps waiting for the final response. */
static void forward_interim(struct http_session *s)
{
    size_t hl = s->resp.head_len;
    /* An HTTP/1.0 client does not know 1xx (RFC 9110 15.2): drop it. */
    if (s->req.version_minor != 0)
        http_client_send(s, s->sb.data, hl);
    if (dead(s))
        return;
    /* client_write kept what the socket refused in cpend: sb is free. */
    memmove(s->sb.data, s->sb.data + hl, s->sb.len - hl);
    s->sb.len -= (uint32_t)hl;
    s->s_sent = s->s_framed = 0;
}

/* Frames what arrived of the response body. */
static void resp_frame(struct http_session *s)
{
    struct http_buf *b = &s->sb;
    if (s->resp_state != HTTP_RESP_BODY)
        return;
    if (s->respb.kind == HTTP_BODY_UNTIL_CLOSE) {
        s->s_framed = b->len;
        return;
    }
    int done = 0;
    ssize_t n = http_body_feed(&s->respb, b->data + s->s_framed, b->len - s->s_framed, &done);
    if (n < 0) {
        /* Bad framing from the server: the close tells the client. */
        http_session_close(s, "SD");
        return;
    }
    s->s_framed += (uint32_t)n;
    if (done) {
        s->resp_state = HTTP_RESP_DONE;
        if (s->s_framed < b->len)
            s->resp_close = 1;          /* bytes beyond the response: not reusable */
    }
}

static enum http_conn_mode client_conn_mode(struct http_session *s)
{
    if (s->close_after)
        return HTTP_CONN_CLOSE;
    return s->req.version_minor == 0 ? HTTP_CONN_KEEPALIVE : HTTP_CONN_DEFAULT;
}

/* Forwards a final response head with the body bytes already here. */
static void forward_head(struct http_session *s)
{
    const struct http_resp *r = &s->resp;
    s->u_resp = clock_mono_us();
    if (s->srv) {
        server_observe_rt(s->srv, s->u_resp - s->u_sent);
        atomic_fetch_add_explicit(&s->srv->stats.responses[status_class(r->status)], 1,
                                  memory_order_relaxed);
        health_passive_report(s->srv, r->status >= 500 ? HEALTH_HTTP_5XX : HEALTH_HTTP_OK);
    }
    s->status = r->status;
    atomic_fetch_add_explicit(&s->fe->stats.responses[status_class(r->status)], 1,
                              memory_order_relaxed);
    enum http_body_kind kind = http_resp_body_kind(r, s->method);
    if (!http_resp_keepalive(r->version_minor, r->flags, kind))
        s->resp_close = 1;
    if (kind == HTTP_BODY_UNTIL_CLOSE || !s->req_done || s->draining)
        s->close_after = 1;
    size_t cap = r->head_len + HTTP_HEAD_SLACK;
    char *buf = http_scratch(cap), cookie[512];
    const char *extra = http_sticky_response(s, r, cookie, sizeof(cookie));
    ssize_t hl = buf ? http_write_response_head(buf, cap, s->sb.data, r, client_conn_mode(s),
                                                extra) : -1;
    if (hl < 0) {
        bad_response(s, "head cannot be rewritten");
        return;
    }
    http_body_init(&s->respb, kind, r->content_length > 0 ? (uint64_t)r->content_length : 0);
    s->s_sent = s->s_framed = (uint32_t)r->head_len;
    s->resp_state = kind == HTTP_BODY_NONE ? HTTP_RESP_DONE : HTTP_RESP_BODY;
    if (s->resp_state == HTTP_RESP_DONE && s->s_framed < s->sb.len)
        s->resp_close = 1;
    resp_frame(s);
    if (dead(s))
        return;
    s->resp_started = 1;
    http_client_send(s, buf, (size_t)hl);
}

static void resp_head(struct http_session *s)
{
    struct http_limits lim = { HTTP_SBUF_SIZE, HTTP_SBUF_SIZE - 1, HTTP_RESP_MAX_HEADERS };
    struct http_error err = { 502, NULL };
    s->resp.hdrs = s->resp_hdrs;
    s->resp.hdrs_cap = HTTP_RESP_MAX_HEADERS;
    int rc = http_parse_response(s->sb.data, s->sb.len, &lim, &s->resp, &err);
    if (rc == HTTP_PARSE_INCOMPLETE)
        return;
    if (rc == HTTP_PARSE_ERROR) {
        bad_response(s, err.reason ? err.reason : "malformed head");
        return;
    }
    int st = s->resp.status;
    if (st == 101) {
        if (!s->upgrade) {
            bad_response(s, "101 without an upgrade request");
            return;
        }
        start_tunnel(s);
        return;
    }
    if (st >= 100 && st < 200) {
        forward_interim(s);
        if (!dead(s) && s->sb.len)
            resp_head(s);   /* bounded: each round consumes a whole head */
        return;
    }
    forward_head(s);
}

static void resp_process(struct http_session *s)
{
    if (s->resp_state == HTTP_RESP_HEAD) {
        resp_head(s);
        return;
    }
    if (s->resp_state == HTTP_RESP_DONE) {
        /* Unasked bytes after a complete response: drop them. */
        s->resp_close = 1;
        s->sb.len = s->s_framed;
        return;
    }
    resp_frame(s);
    if (!dead(s))
        http_client_flush(s);
}

/* ---- tunnel ---- */

/* 101 Switching Protocols: forward the head, then every byte both ways.
 * The server keeps its slot in ->active until the tunnel closes. */
static void start_tunnel(struct http_session *s)
{
    const struct http_resp *r = &s->resp;
    s->u_resp = clock_mono_us();
    s->status = 101;
    atomic_fetch_add_explicit(&s->fe->stats.responses[1], 1, memory_order_relaxed);
    if (s->srv)
        atomic_fetch_add_explicit(&s->srv->stats.responses[1], 1, memory_order_relaxed);
    size_t cap = r->head_len + HTTP_HEAD_SLACK;
    char *buf = http_scratch(cap);
    ssize_t hl = buf ? http_write_response_head(buf, cap, s->sb.data, r, HTTP_CONN_DEFAULT,
                                                NULL) : -1;
    if (hl < 0) {
        bad_response(s, "101 head cannot be rewritten");
        return;
    }
    s->phase = HTTP_PH_TUNNEL;
    s->resp_state = HTTP_RESP_BODY;
    s->resp_close = 1;
    s->close_after = 1;
    s->req_done = 1;
    s->resp_started = 1;
    s->s_sent = (uint32_t)r->head_len;
    s->s_framed = s->sb.len;
    s->t_cio = s->t_sio = clock_mono_ms();
    http_client_send(s, buf, (size_t)hl);
    if (dead(s))
        return;
    /* Client bytes that followed the upgrade request are tunnel data. */
    s->body_off = s->cb.len;
    http_server_flush(s);
    if (!dead(s))
        http_tunnel_check(s);
    if (!dead(s))
        http_timer_update(s);
}

/* Half-closes: once one side has said all it will (EOF) and its bytes
 * are delivered, shut writing towards the other side; when both have,
 * the tunnel is over. */
void http_tunnel_check(struct http_session *s)
{
    if (dead(s) || s->phase != HTTP_PH_TUNNEL)
        return;
    int to_server = !pend_empty(&s->spend) || s->send_off < s->body_off;
    int to_client = !pend_empty(&s->cpend) || s->s_sent < s->s_framed;
    if (s->client_eof && !to_server && !s->s_shut && s->sc) {
        s->s_shut = 1;
        if (http_io_shut_wr(s->sc->fd, s->sc->ssl) < 0) {
            http_session_close(s, NULL);
            return;
        }
    }
    if (s->server_eof && !to_client && !s->c_shut) {
        s->c_shut = 1;
        if (http_io_shut_wr(s->fd, s->ssl) < 0) {
            http_session_close(s, NULL);
            return;
        }
    }
    if (s->client_eof && s->server_eof && !to_server && !to_client)
        http_session_close(s, NULL);
}
