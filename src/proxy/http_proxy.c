/* http_proxy.c - an HTTP/1.1 client connection from accept to close: the
 * PROXY header, request heads, error answers, keep-alive and pipelining,
 * timeouts, the access log, drain and abort. The server side is in
 * http_forward.c; sockets and pools in http_conn.c.
 *
 * Life of a session (phase):
 *   PROXY -> HEAD -> [QUEUE] -> [CONNECT] -> EXCHANGE -> HEAD (keep-alive)
 *                                                     -> TUNNEL (101)
 *   any -> CLOSING (error answer sent, lingering) -> closed
 * A session is never freed inside a helper: helpers mark it dead and the
 * event callback that entered it frees it on the way out. */
#include "config.h"
#include "http_session.h"
#include "http_write.h"
#include "route.h"
#include "ratelimit_rt.h"
#include "tables.h"
#include "proxy_proto.h"
#include "accesslog.h"
#include "clock.h"
#include "log.h"
#include "tls.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Set on a session whose resources are released; freed by http_reap. */
#define HTTP_DEAD_FD (-1)

static struct log_ratelimit rl_badreq, rl_proxyhdr, rl_timeout, rl_tls;

uint64_t http_now_ms(void)
{
    return clock_mono_ms();
}

static int dead(const struct http_session *s)
{
    return s->fd == HTTP_DEAD_FD;
}

static const char *client_str(const struct http_session *s, char *buf, size_t len)
{
    return addr_format((const struct sockaddr *)&s->client, buf, len);
}

/* ---- counters and the access log ---- */

static void count_response(struct http_session *s, int status)
{
    s->status = status;
    atomic_fetch_add_explicit(&s->fe->stats.responses[status_class(status)], 1,
                              memory_order_relaxed);
}

static int64_t ms_between(uint64_t from_us, uint64_t to_us)
{
    if (!from_us || !to_us || to_us < from_us)
        return -1;
    return (int64_t)((to_us - from_us) / 1000);
}

/* Ends the current request's bookkeeping: byte counters and one access
 * log line. Safe to call when no request is open. */
static void log_request(struct http_session *s, const char *term)
{
    struct frontend_counters *st = &s->fe->stats;
    atomic_fetch_add_explicit(&st->bytes_in, s->rq_in, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->bytes_out, s->rq_out, memory_order_relaxed);
    s->conn_in += s->rq_in;
    s->conn_out += s->rq_out;
    tables_conn_bytes(s->conn, s->rq_in, s->rq_out);
    if (s->u_req && s->fc->access_log && accesslog_enabled()) {
        uint64_t now = clock_mono_us();
        struct accesslog_entry e = {
            .client = (const struct sockaddr *)&s->client,
            .frontend = s->fc->name,
            .backend = s->be ? s->be->name : "-",
            .server = s->last_srv ? s->last_srv->name : "-",
            .status = s->status,
            .bytes_in = s->rq_in,
            .bytes_out = s->rq_out,
            .t_request = ms_between(s->u_req, s->u_head),
            .t_queue = s->tw_ms,
            .t_connect = s->tc_ms,
            .t_response = ms_between(s->u_sent, s->u_resp),
            .t_total = ms_between(s->u_req, now),
            .method = s->log_method[0] ? s->log_method : "-",
            .path = s->log_path,
            .path_len = s->log_path_len,
            .termination = term ? term : "--",
        };
        accesslog_write(&e);
    }
    s->rq_in = s->rq_out = 0;
    s->u_req = 0;
}

/* ---- the timer ----
 * One timer per session, armed lazily: activity only updates timestamps;
 * when the timer fires early it re-arms for the real deadline. */

static void clock_fill(const struct http_session *s, struct http_clock *c)
{
    const struct conf_frontend *fc = s->fc;
    const struct conf_backend *bc = s->be ? s->be->conf : NULL;
    memset(c, 0, sizeof(*c));
    c->phase = s->phase;
    c->first_request = s->first_request;
    c->head_started = s->head_started;
    c->req_done = s->req_done;
    c->resp_done = s->resp_state == HTTP_RESP_DONE;
    c->client_blocked = s->cwev_on;
    c->t_idle = s->t_idle;
    c->t_req = s->t_req;
    c->t_phase = s->t_phase;
    c->t_poll = s->t_poll;
    c->t_client_io = s->t_cio;
    c->t_server_io = s->t_sio;
    c->to_http_request = fc->http_request_timeout_ms;
    c->to_keepalive = fc->http_keepalive_timeout_ms;
    c->to_request = fc->request_timeout_ms;
    c->to_client = fc->client_timeout_ms;
    c->to_linger = HTTP_LINGER_MS;
    c->to_queue_poll = HTTP_QUEUE_POLL_MS;
    if (bc) {
        c->to_queue = bc->queue_timeout_ms;
        c->to_connect = bc->connect_timeout_ms;
        c->to_server = bc->server_timeout_ms;
        c->to_tunnel = bc->tunnel_timeout_ms;
    }
}

static void timer_arm(struct http_session *s, uint64_t at, uint64_t now)
{
    uint64_t wait = at > now ? at - now : 0;
    struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000 };
    evtimer_add(&s->timer, &tv);
    s->timer_on = 1;
    s->timer_at = at;
}

void http_timer_update(struct http_session *s)
{
    if (dead(s))
        return;
    struct http_clock c;
    uint64_t at = 0;
    clock_fill(s, &c);
    if (http_next_deadline(&c, &at) == HTTP_TO_NONE) {
        if (s->timer_on)
            evtimer_del(&s->timer);
        s->timer_on = 0;
        return;
    }
    /* An armed timer that fires no later than needed is left alone. */
    if (s->timer_on && s->timer_at <= at)
        return;
    timer_arm(s, at, clock_mono_ms());
}

static void on_timeout(struct http_session *s, enum http_timeout kind)
{
    char cbuf[ADDR_STRLEN];
    switch (kind) {
    case HTTP_TO_IDLE:
        if (s->phase == HTTP_PH_PROXY) {
            atomic_fetch_add_explicit(&s->fe->stats.denied, 1, memory_order_relaxed);
            log_limited(&rl_proxyhdr, 10, 10, LOG_LVL_INFO,
                        "frontend \"%s\": client %s sent no PROXY header in time",
                        s->fc->name, client_str(s, cbuf, sizeof(cbuf)));
        }
        http_session_close(s, NULL);
        return;
    case HTTP_TO_HEAD:
    case HTTP_TO_REQUEST:
    case HTTP_TO_CLIENT:
        log_limited(&rl_timeout, 10, 10, LOG_LVL_INFO,
                    "frontend \"%s\": client %s timed out", s->fc->name,
                    client_str(s, cbuf, sizeof(cbuf)));
        if (s->req_done && s->phase != HTTP_PH_HEAD)
            http_session_close(s, http_term_code('c', s->phase, s->resp_started));
        else
            http_reply_error(s, 408, http_term_code('c', s->phase, s->resp_started));
        return;
    case HTTP_TO_QUEUE:
        http_queue_leave(s);
        http_reply_error(s, 503, "sQ");
        return;
    case HTTP_TO_QUEUE_POLL:
        s->t_poll = clock_mono_ms();
        http_queue_retry(s);
        return;
    case HTTP_TO_CONNECT:
        http_connect_timeout(s);
        return;
    case HTTP_TO_SERVER:
        if (s->srv)
            atomic_fetch_add_explicit(&s->srv->stats.timeouts, 1, memory_order_relaxed);
        http_reply_error(s, 504, http_term_code('s', s->phase, s->resp_started));
        return;
    case HTTP_TO_TUNNEL:
    case HTTP_TO_LINGER:
    case HTTP_TO_NONE:
        http_session_close(s, NULL);
        return;
    }
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_session *s = arg;
    (void)fd; (void)what;
    s->timer_on = 0;
    /* A queued session is also woken early by a slot freed on this thread. */
    if (s->phase == HTTP_PH_QUEUE) {
        s->t_poll = clock_mono_ms();
        http_queue_retry(s);
    }
    if (!dead(s)) {
        struct http_clock c;
        uint64_t at = 0, now = clock_mono_ms();
        clock_fill(s, &c);
        enum http_timeout kind = http_next_deadline(&c, &at);
        if (kind != HTTP_TO_NONE && at > now)
            timer_arm(s, at, now);
        else if (kind != HTTP_TO_NONE)
            on_timeout(s, kind);
    }
    http_reap(s);
}

/* ---- closing ---- */

/* Releases everything but the session memory and marks it dead. term: the
 * access-log termination code for a request still open (NULL if none or
 * a normal end). */
void http_session_close(struct http_session *s, const char *term)
{
    if (dead(s))
        return;
    http_queue_leave(s);
    if (s->u_req)
        log_request(s, term);
    if (s->sc || s->srv)
        http_server_release(s, 0);
    event_del(&s->crev);
    event_del(&s->cwev);
    evtimer_del(&s->timer);
    tls_free(s->ssl, s->tls_ready && !s->tls_failed);
    s->ssl = NULL;
    free(s->cert_hdrs);
    s->cert_hdrs = NULL;
    close(s->fd);
    s->fd = HTTP_DEAD_FD;
    http_pend_free(&s->cpend);
    http_pend_free(&s->spend);
    tables_conn_close(s->conn, s->conn_in, s->conn_out);
    worker_frontend_conn_done(s->w, s->fe);
}

/* Frees a dead session. Last, because removing it may free its runtime. */
void http_reap(struct http_session *s)
{
    if (!dead(s))
        return;
    worker_session_remove(s->w, &s->ws);
    free(s);
}

/* Lingering close: once the final answer is out, shut our side and drain
 * what the client still sends until it closes (or HTTP_LINGER_MS), so the
 * kernel does not reset the connection, and destroy the answer, over
 * unread bytes. */
static void linger_check(struct http_session *s)
{
    if (s->cpend.off < s->cpend.len)
        return;                        /* the answer is still going out */
    if (!s->c_shut) {
        s->c_shut = 1;
        if (http_io_shut_wr(s->fd, s->ssl) < 0) {
            http_session_close(s, NULL);
            return;
        }
    }
    if (s->client_eof)
        http_session_close(s, NULL);
}

static void start_linger(struct http_session *s)
{
    s->phase = HTTP_PH_CLOSING;
    s->t_phase = clock_mono_ms();
    http_client_resume(s);
    http_timer_update(s);
    linger_check(s);
}

/* ---- writing to the client ---- */

/* Called after each write: arms or disarms EV_WRITE and moves the
 * exchange on once everything queued went out. */
static void client_progress(struct http_session *s)
{
    int pending = s->cpend.off < s->cpend.len || s->s_sent < s->s_framed;
    if (pending) {
        if (!s->cwev_on)
            event_add(&s->cwev, NULL);
        s->cwev_on = 1;
        http_timer_update(s);
        return;
    }
    if (s->cwev_on)
        event_del(&s->cwev);
    s->cwev_on = 0;
    if (s->s_sent == s->sb.len && s->resp_state != HTTP_RESP_HEAD)
        s->s_sent = s->s_framed = s->sb.len = 0;
    if (s->s_paused && s->sc) {
        s->s_paused = 0;
        http_sconn_want_read(s->sc, 1);
    }
    if (s->phase == HTTP_PH_CLOSING)
        linger_check(s);
    else if (s->phase == HTTP_PH_EXCHANGE && s->resp_state == HTTP_RESP_DONE)
        http_response_done(s);
    else if (s->phase == HTTP_PH_TUNNEL)
        http_tunnel_check(s);
}

/* Writes head (if any) and then the framed, unsent response bytes in one
 * writev. head is either cpend's unsent bytes (from_pend) or a built head
 * whose unsent part is then copied to cpend. */
static void client_write(struct http_session *s, const char *head, size_t hlen, int from_pend)
{
    const char *body = s->sb.data + s->s_sent;
    size_t blen = s->s_framed - s->s_sent;
    ssize_t n = http_io_writev2(s->fd, s->ssl, head, hlen, body, blen);
    if (n < 0) {
        http_session_close(s, http_term_code('C', s->phase, s->resp_started));
        return;
    }
    size_t done = (size_t)n;
    s->rq_out += done;
    if (done)
        s->t_cio = clock_mono_ms();
    size_t from_head = done < hlen ? done : hlen;
    if (from_pend) {
        s->cpend.off += from_head;
    } else if (from_head < hlen && http_pend_add(&s->cpend, head + from_head,
                                                 hlen - from_head) < 0) {
        http_session_close(s, "PD");
        return;
    }
    s->s_sent += (uint32_t)(done - from_head);
    client_progress(s);
}

void http_client_flush(struct http_session *s)
{
    if (dead(s))
        return;
    if (s->cpend.off < s->cpend.len)
        client_write(s, s->cpend.data + s->cpend.off, s->cpend.len - s->cpend.off, 1);
    else
        client_write(s, NULL, 0, 0);
}

/* Queues a built head behind anything already pending and writes. */
void http_client_send(struct http_session *s, const char *head, size_t hlen)
{
    if (dead(s))
        return;
    if (s->cpend.off < s->cpend.len) {
        if (http_pend_add(&s->cpend, head, hlen) < 0) {
            http_session_close(s, "PD");
            return;
        }
        http_client_flush(s);
        return;
    }
    client_write(s, head, hlen, 0);
}

/* ---- error answers ---- */

void http_reply_error(struct http_session *s, int status, const char *term)
{
    http_reply_error_hdr(s, status, term, NULL);
}

void http_reply_error_hdr(struct http_session *s, int status, const char *term,
                          const char *extra)
{
    if (dead(s))
        return;
    /* Once response bytes went out, the only honest signal left is a close. */
    if (s->resp_started) {
        http_session_close(s, term);
        return;
    }
    http_queue_leave(s);
    count_response(s, status);
    if (status < 500 && status != 429)          /* 429 is counted in rate_limited */
        atomic_fetch_add_explicit(&s->fe->stats.errors, 1, memory_order_relaxed);
    log_request(s, term);
    if (s->sc || s->srv)
        http_server_release(s, 0);
    s->close_after = 1;
    s->resp_started = 1;
    s->resp_state = HTTP_RESP_DONE;
    s->s_sent = s->s_framed = s->sb.len = 0;
    char *buf = http_scratch(1024);
    ssize_t len = buf ? http_write_error(buf, 1024, status, extra, s->method == HTTP_M_HEAD) : -1;
    if (len < 0) {
        http_session_close(s, NULL);
        return;
    }
    s->phase = HTTP_PH_CLOSING;
    s->t_phase = clock_mono_ms();
    http_client_send(s, buf, (size_t)len);
    if (!dead(s))
        start_linger(s);
}

/* ---- reading from the client ---- */

static void head_try(struct http_session *s);

static void proxy_header_try(struct http_session *s)
{
    struct proxy_proto_info info;
    int n = proxy_proto_parse((const uint8_t *)s->cb.data, s->cb.len, &info);
    if (n == 0 && s->cb.len < s->cb.cap)
        return;
    if (n <= 0) {
        char cbuf[ADDR_STRLEN];
        atomic_fetch_add_explicit(&s->fe->stats.denied, 1, memory_order_relaxed);
        log_limited(&rl_proxyhdr, 10, 10, LOG_LVL_WARN,
                    "frontend \"%s\": client %s: missing or malformed PROXY header, closing",
                    s->fc->name, client_str(s, cbuf, sizeof(cbuf)));
        http_session_close(s, NULL);
        return;
    }
    if (!info.local) {
        s->client = info.src;
        s->local = info.dst;
        tables_conn_addrs(s->conn, &s->client, &s->local);
    }
    memmove(s->cb.data, s->cb.data + n, s->cb.len - (uint32_t)n);
    s->cb.len -= (uint32_t)n;
    s->phase = HTTP_PH_HEAD;
    s->t_idle = clock_mono_ms();
    if (s->cb.len)
        head_try(s);
    else
        http_timer_update(s);
}

static int status_is_limit(int status)
{
    return status == 413 || status == 414 || status == 431;
}

static void bad_request(struct http_session *s, int status, const char *reason)
{
    char cbuf[ADDR_STRLEN];
    log_limited(&rl_badreq, 10, 10, LOG_LVL_INFO,
                "frontend \"%s\": client %s: %d %s", s->fc->name,
                client_str(s, cbuf, sizeof(cbuf)), status, reason ? reason : "bad request");
    if (status_is_limit(status))
        atomic_fetch_add_explicit(&s->fe->stats.denied, 1, memory_order_relaxed);
    if (s->phase == HTTP_PH_HEAD)
        s->rq_in = s->cb.len;
    http_reply_error(s, status, "PR");
}

/* Copies what the log needs from the head: cb may be reused before the
 * line is written. */
static void request_note(struct http_session *s)
{
    const struct http_req *r = &s->req;
    size_t ml = r->method_len < sizeof(s->log_method) - 1 ? r->method_len
                                                          : sizeof(s->log_method) - 1;
    memcpy(s->log_method, r->method_str, ml);
    s->log_method[ml] = '\0';
    size_t pl = r->target_len < sizeof(s->log_path) ? r->target_len : sizeof(s->log_path);
    memcpy(s->log_path, r->target, pl);
    s->log_path_len = (unsigned)pl;
}

/* After a reload, a kept-alive connection moves to the new runtime at its
 * next request, so it routes by the new rules and uses the new pools. It
 * can only move to a frontend of the same name whose limits fit the
 * buffers this session was built with; otherwise it is closed after this
 * request and the client reconnects into the new configuration. */
static void session_migrate(struct http_session *s)
{
    struct worker *w = s->w;
    struct frontend_rt *nfe = NULL;
    for (unsigned i = 0; i < w->rt->nfrontends && !nfe; i++) {
        struct frontend_rt *f = &w->rt->frontends[i];
        if (f->conf->mode == MODE_HTTP && strcmp(f->conf->name, s->fc->name) == 0)
            nfe = f;
    }
    if (!nfe || nfe->conf->max_headers > s->fc->max_headers ||
        nfe->conf->max_header_size + 1 > s->cb.cap) {
        s->close_after = 1;
        return;
    }
    atomic_fetch_sub_explicit(&s->fe->active, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&nfe->active, 1, memory_order_relaxed);
    worker_session_remove(w, &s->ws);      /* may free the old runtime */
    worker_session_add(w, &s->ws);
    s->rt = s->ws.rt;
    s->fe = nfe;
    s->fc = nfe->conf;
}

static __thread struct log_ratelimit rl_limited;   /* per thread: no shared write */

/* The frontend's and the route's rate limits: over one, 429 with
 * Retry-After, logged and counted. Checked before the 503 for a request
 * no backend takes, so a flood of those is limited too. */
static int rate_limited(struct http_session *s, int ri)
{
    struct rl_verdict v;
    const struct rl_limit *l = ratelimit_check_http(s->fe->rl, ri,
                                                    (const struct sockaddr *)&s->client,
                                                    &s->req, clock_wall_ms(), &v);
    if (!l)
        return 0;
    char cbuf[ADDR_STRLEN], hdr[48];
    atomic_fetch_add_explicit(&s->fe->stats.rate_limited, 1, memory_order_relaxed);
    log_limited(&rl_limited, 10, 10, LOG_LVL_INFO,
                "frontend \"%s\": client %s: rate limit \"%s\" exceeded, 429 (retry after %us)",
                s->fc->name, client_str(s, cbuf, sizeof(cbuf)), l->name, v.retry_after_s);
    snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n", v.retry_after_s);
    http_reply_error_hdr(s, 429, "PR", hdr);
    return 1;
}

static void request_start(struct http_session *s)
{
    const struct http_req *r = &s->req;
    if (s->rt != s->w->rt)
        session_migrate(s);
    atomic_fetch_add_explicit(&s->fe->stats.requests, 1, memory_order_relaxed);
    s->u_head = clock_mono_us();
    s->rq_in = r->head_len;
    s->method = r->method;
    if (s->fc->access_log && accesslog_enabled())
        request_note(s);
    if (!http_req_keepalive(r->version_minor, r->flags) || s->draining)
        s->close_after = 1;
    s->upgrade = (r->flags & HTTP_F_UPGRADE) && (r->flags & HTTP_F_CONN_UPGRADE);
    if (r->method == HTTP_M_CONNECT) {
        /* A reverse proxy does not open tunnels to arbitrary authorities. */
        bad_request(s, 501, "CONNECT is not supported");
        return;
    }
    enum http_body_kind kind = http_req_body_kind(r);
    if (s->fc->max_body && kind == HTTP_BODY_LENGTH &&
        (uint64_t)r->content_length > s->fc->max_body) {
        bad_request(s, 413, "body over limits.max_body");
        return;
    }
    http_body_init(&s->reqb, kind, r->content_length > 0 ? (uint64_t)r->content_length : 0);
    s->body_off = s->send_off = (uint32_t)r->head_len;
    s->req_done = kind == HTTP_BODY_NONE;
    s->req_valid = 1;
    if (s->fc->request_id && !http_find_header(r->hdrs, r->nhdrs, "X-Request-Id"))
        snprintf(s->reqid, sizeof(s->reqid), "%016" PRIx64, worker_random(s->w));
    int ri = route_select_index(s->fc, r);
    s->bi = ri >= 0 ? s->fc->routes[ri].backend_index : s->fc->default_backend_index;
    if (s->fe->rl && rate_limited(s, ri))
        return;
    if (s->bi < 0 || (unsigned)s->bi >= s->rt->nbackends) {
        s->bi = -1;
        http_reply_error(s, 503, "PR");
        return;
    }
    http_req_frame(s);
    if (!dead(s) && s->phase == HTTP_PH_HEAD)
        http_forward_start(s);
}

static void head_try(struct http_session *s)
{
    if (!s->head_started) {
        s->head_started = 1;
        /* On TLS the first request's timeout covers the handshake too. */
        s->t_req = s->ssl && s->first_request ? s->t_idle : clock_mono_ms();
        s->u_req = clock_mono_us();
    }
    const struct conf_frontend *fc = s->fc;
    struct http_limits lim = { fc->max_request_line, fc->max_header_size, fc->max_headers };
    struct http_error err = { 400, NULL };
    s->req.hdrs = s->req_hdrs;
    s->req.hdrs_cap = fc->max_headers;
    int rc = http_parse_request(s->cb.data, s->cb.len, &lim, &s->req, &err);
    if (rc == HTTP_PARSE_OK) {
        request_start(s);
        return;
    }
    if (rc == HTTP_PARSE_ERROR) {
        bad_request(s, err.status, err.reason);
        return;
    }
    if (s->cb.len >= s->cb.cap) {
        bad_request(s, 431, "request head larger than the buffer");
        return;
    }
    http_timer_update(s);
}

static void client_reading(struct http_session *s, int on)
{
    if (on && !s->crev_on)
        event_add(&s->crev, NULL);
    else if (!on && s->crev_on)
        event_del(&s->crev);
    s->crev_on = on ? 1 : 0;
    /* Bytes OpenSSL already holds raise no socket event: ask for one. */
    if (on && s->ssl && s->tls_ready && tls_has_pending(s->ssl))
        event_active(&s->crev, EV_READ, 0);
}

/* The client closed (err 0) or failed. A complete request still gets its
 * response; anything else ends here. */
static void client_gone(struct http_session *s, int err)
{
    switch (s->phase) {
    case HTTP_PH_PROXY:
    case HTTP_PH_HEAD:
        http_session_close(s, s->head_started ? "CR" : NULL);
        return;
    case HTTP_PH_QUEUE:
    case HTTP_PH_CONNECT:
    case HTTP_PH_EXCHANGE:
        if (err == 0 && s->req_done) {
            s->client_eof = 1;
            s->close_after = 1;
            client_reading(s, 0);
            return;
        }
        http_session_close(s, http_term_code('C', s->phase, s->resp_started));
        return;
    case HTTP_PH_TUNNEL:
        if (err) {
            http_session_close(s, NULL);
            return;
        }
        s->client_eof = 1;
        client_reading(s, 0);
        http_tunnel_check(s);
        return;
    case HTTP_PH_CLOSING:
        http_session_close(s, NULL);
        return;
    }
}

/* Pauses client reads (cb full) until the server side drained it. */
static void client_pause(struct http_session *s)
{
    client_reading(s, 0);
    s->c_paused = 1;
}

/* Discards [0, send_off) of cb once it went to the server, to make room
 * for more body. Only after the head was built and handed to the server
 * socket (EXCHANGE, TUNNEL): until then the parsed head points into cb.
 * After that the request cannot be replayed. */
static void cb_make_room(struct http_session *s)
{
    if (s->send_off == 0 || (s->phase != HTTP_PH_EXCHANGE && s->phase != HTTP_PH_TUNNEL))
        return;
    uint32_t drop = s->send_off;
    memmove(s->cb.data, s->cb.data + drop, s->cb.len - drop);
    s->cb.len -= drop;
    s->body_off -= drop;
    s->send_off = 0;
    s->req_valid = 0;
}

void http_client_resume(struct http_session *s)
{
    if (dead(s) || s->client_eof)
        return;
    if (s->cb.len == s->cb.cap && s->phase != HTTP_PH_CLOSING)
        cb_make_room(s);
    if (s->cb.len == s->cb.cap && s->phase != HTTP_PH_CLOSING)
        return;
    s->c_paused = 0;
    client_reading(s, 1);
}

static void client_readable(struct http_session *s)
{
    struct http_buf *b = &s->cb;
    if (s->phase == HTTP_PH_CLOSING)
        b->len = 0;                    /* lingering: discard */
    if (b->len == b->cap)
        cb_make_room(s);
    if (b->len == b->cap) {
        client_pause(s);
        return;
    }
    int err;
    ssize_t n = http_io_read(s->fd, s->ssl, b, &err);
    if (n < 0)
        client_gone(s, err);
    if (n <= 0)
        return;
    s->t_cio = clock_mono_ms();
    switch (s->phase) {
    case HTTP_PH_PROXY:
        proxy_header_try(s);
        break;
    case HTTP_PH_HEAD:
        head_try(s);
        break;
    case HTTP_PH_CLOSING:
        b->len = 0;
        break;
    default:
        http_req_frame(s);
        break;
    }
}

/* ---- the TLS handshake ---- */

static void tls_client_failed(struct http_session *s, int sys_err, const char *why)
{
    char cbuf[ADDR_STRLEN];
    s->tls_failed = 1;
    atomic_fetch_add_explicit(&s->fe->stats.errors, 1, memory_order_relaxed);
    log_limited(&rl_tls, 10, 10, sys_err ? LOG_LVL_DEBUG : LOG_LVL_INFO,
                "frontend \"%s\": client %s: TLS handshake failed: %s", s->fc->name,
                client_str(s, cbuf, sizeof(cbuf)), why);
    http_session_close(s, NULL);
}

/* One handshake step; once done, the request may already be buffered. */
static void tls_client_step(struct http_session *s)
{
    int want_write, sys_err;
    char why[256];
    int rc = tls_handshake(s->ssl, &want_write, &sys_err, why, sizeof(why));
    if (rc < 0) {
        tls_client_failed(s, sys_err, why);
        return;
    }
    if (want_write != s->cwev_on) {
        if (want_write)
            event_add(&s->cwev, NULL);
        else
            event_del(&s->cwev);
        s->cwev_on = want_write ? 1 : 0;
    }
    if (rc == 0)
        return;
    s->tls_ready = 1;
    s->t_cio = clock_mono_ms();
    s->cert_hdrs = tls_client_cert_headers(s->ssl);
    client_readable(s);
}

static void client_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_session *s = arg;
    (void)fd;
    if (s->ssl && !s->tls_ready) {
        tls_client_step(s);
        http_reap(s);
        return;
    }
    /* A TLS write may wait for the socket to be readable (a key update). */
    if ((what & EV_WRITE) || (s->ssl && (what & EV_READ) && s->cwev_on))
        http_client_flush(s);
    if ((what & EV_READ) && !dead(s))
        client_readable(s);
    http_reap(s);
}

/* ---- keep-alive ---- */

/* Clears the per-request state and starts on the next request, which may
 * already be in cb (pipelining: handled only now, in order). */
static void next_request(struct http_session *s)
{
    uint32_t used = s->body_off;
    if (used < s->cb.len)
        memmove(s->cb.data, s->cb.data + used, s->cb.len - used);
    s->cb.len -= used;
    s->body_off = s->send_off = 0;
    s->req_done = s->req_valid = s->upgrade = s->req_sent_any = 0;
    s->reqid[0] = '\0';
    s->method = HTTP_M_OTHER;
    s->log_method[0] = '\0';
    s->log_path_len = 0;
    s->bi = -1;
    s->be = NULL;
    s->failed = s->last_srv = NULL;
    s->reused = s->fresh_used = 0;
    s->resp_state = HTTP_RESP_HEAD;
    s->status = 0;
    s->resp_started = s->resp_close = s->resp_got = 0;
    s->s_sent = s->s_framed = s->sb.len = 0;
    s->u_req = s->u_head = s->u_queue = s->u_connect = s->u_sent = s->u_resp = 0;
    s->tw_ms = s->tc_ms = -1;
    s->first_request = 0;
    s->head_started = 0;
    s->phase = HTTP_PH_HEAD;
    s->t_idle = clock_mono_ms();
    if (s->c_paused)
        http_client_resume(s);
    if (s->cb.len)
        head_try(s);
    else
        http_timer_update(s);
}

/* The response went out completely. */
void http_response_done(struct http_session *s)
{
    int reusable = !s->resp_close && s->req_done && s->send_off == s->body_off &&
                   s->spend.off == s->spend.len && !s->draining;
    log_request(s, NULL);
    http_server_release(s, reusable);
    if (!s->req_done || ((s->close_after || s->draining) && s->cb.len > s->body_off)) {
        /* The server answered before the body was read (the rest would be
         * taken for the next request), or we close with pipelined bytes
         * unread: linger so the kernel does not reset the answer away. */
        start_linger(s);
        return;
    }
    if (s->close_after || s->client_eof || s->draining) {
        http_session_close(s, NULL);
        return;
    }
    next_request(s);
}

/* ---- drain and abort ---- */

static struct http_session *from_ws(struct worker_session *ws)
{
    return (struct http_session *)((char *)ws - offsetof(struct http_session, ws));
}

static void on_drain(struct worker_session *ws)
{
    struct http_session *s = from_ws(ws);
    s->draining = 1;
    s->close_after = 1;
    if ((s->phase == HTTP_PH_HEAD || s->phase == HTTP_PH_PROXY) && !s->head_started) {
        http_session_close(s, NULL);
        http_reap(s);
    }
}

static void on_abort(struct worker_session *ws)
{
    struct http_session *s = from_ws(ws);
    http_session_close(s, http_term_code('K', s->phase, s->resp_started));
    http_reap(s);
}

/* ---- accept ---- */

static struct http_session *session_alloc(const struct conf_frontend *fc)
{
    size_t cbcap = fc->max_header_size + 1 > HTTP_CBUF_MIN ? fc->max_header_size + 1
                                                          : HTTP_CBUF_MIN;
    size_t nreq = fc->max_headers ? fc->max_headers : 1;
    size_t hdrs = (nreq + HTTP_RESP_MAX_HEADERS) * sizeof(struct http_hdr);
    size_t head = sizeof(struct http_session) + hdrs;
    char *mem = malloc(head + cbcap + HTTP_SBUF_SIZE);
    if (!mem)
        return NULL;
    memset(mem, 0, head);
    struct http_session *s = (struct http_session *)mem;
    s->req_hdrs = (struct http_hdr *)(mem + sizeof(*s));
    s->resp_hdrs = s->req_hdrs + nreq;
    s->cb.data = mem + head;
    s->cb.cap = (uint32_t)cbcap;
    s->sb.data = s->cb.data + cbcap;
    s->sb.cap = HTTP_SBUF_SIZE;
    return s;
}

void http_session_accept(struct worker *w, struct frontend_rt *fe, int fd,
                         const struct sockaddr_storage *peer,
                         const struct sockaddr_storage *local)
{
    struct http_session *s = session_alloc(fe->conf);
    if (!s) {
        log_limited(&rl_badreq, 10, 10, LOG_LVL_WARN,
                    "frontend \"%s\": out of memory for a new connection", fe->conf->name);
        close(fd);
        worker_frontend_conn_done(w, fe);
        return;
    }
    s->w = w;
    s->fe = fe;
    s->fc = fe->conf;
    s->fd = fd;
    s->client = *peer;
    s->local = *local;
    s->bi = -1;
    s->tw_ms = s->tc_ms = -1;
    s->first_request = 1;
    s->ws.drain = on_drain;
    s->ws.abort = on_abort;
    worker_session_add(w, &s->ws);
    s->rt = s->ws.rt ? s->ws.rt : w->rt;
    s->conn = tables_conn_open(w, CONN_HTTP, s->fc->name, peer, local);
    event_assign(&s->crev, w->base, fd, EV_READ | EV_PERSIST, client_cb, s);
    event_assign(&s->cwev, w->base, fd, EV_WRITE | EV_PERSIST, client_cb, s);
    evtimer_assign(&s->timer, w->base, timer_cb, s);
    if (s->fc->tls && s->fc->tls->built && !(s->ssl = tls_frontend_ssl(s->fc, fd))) {
        http_session_close(s, NULL);
        http_reap(s);
        return;
    }
    s->phase = s->fc->accept_proxy ? HTTP_PH_PROXY : HTTP_PH_HEAD;
    s->t_idle = s->t_cio = clock_mono_ms();
    client_reading(s, 1);
    if (w->draining)
        s->draining = s->close_after = 1;
    http_timer_update(s);
}
