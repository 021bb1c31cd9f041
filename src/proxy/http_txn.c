/* http_txn.c - pure decisions of an HTTP exchange (see http_txn.h). */
#include "config.h"
#include "http_txn.h"

/* Keeps the earlier of two deadlines. */
static void consider(uint64_t at, enum http_timeout kind, uint64_t *best,
                     enum http_timeout *best_kind)
{
    if (*best_kind == HTTP_TO_NONE || at < *best) {
        *best = at;
        *best_kind = kind;
    }
}

static void head_deadline(const struct http_clock *c, uint64_t *best, enum http_timeout *k)
{
    if (!c->head_started) {
        /* The first request gets the request-head timeout from accept; an
         * idle keep-alive connection the (usually shorter) keep-alive one. */
        uint64_t to = c->first_request ? c->to_http_request : c->to_keepalive;
        consider(c->t_idle + to, HTTP_TO_IDLE, best, k);
        return;
    }
    consider(c->t_req + c->to_http_request, HTTP_TO_HEAD, best, k);
    if (c->to_request)
        consider(c->t_req + c->to_request, HTTP_TO_REQUEST, best, k);
}

static void exchange_deadline(const struct http_clock *c, uint64_t *best, enum http_timeout *k)
{
    if (!c->req_done) {
        consider(c->t_client_io + c->to_client, HTTP_TO_CLIENT, best, k);
        if (c->to_request)
            consider(c->t_req + c->to_request, HTTP_TO_REQUEST, best, k);
    }
    if (!c->resp_done)
        consider(c->t_server_io + c->to_server, HTTP_TO_SERVER, best, k);
    if (c->client_blocked)
        consider(c->t_client_io + c->to_client, HTTP_TO_CLIENT, best, k);
}

enum http_timeout http_next_deadline(const struct http_clock *c, uint64_t *deadline)
{
    uint64_t best = 0;
    enum http_timeout kind = HTTP_TO_NONE;
    switch (c->phase) {
    case HTTP_PH_PROXY:
        consider(c->t_idle + c->to_http_request, HTTP_TO_IDLE, &best, &kind);
        break;
    case HTTP_PH_HEAD:
        head_deadline(c, &best, &kind);
        break;
    case HTTP_PH_QUEUE:
        consider(c->t_phase + c->to_queue, HTTP_TO_QUEUE, &best, &kind);
        consider(c->t_poll + c->to_queue_poll, HTTP_TO_QUEUE_POLL, &best, &kind);
        break;
    case HTTP_PH_CONNECT:
        consider(c->t_phase + c->to_connect, HTTP_TO_CONNECT, &best, &kind);
        if (c->to_request && !c->req_done)
            consider(c->t_req + c->to_request, HTTP_TO_REQUEST, &best, &kind);
        break;
    case HTTP_PH_EXCHANGE:
        exchange_deadline(c, &best, &kind);
        break;
    case HTTP_PH_TUNNEL:
        if (c->to_tunnel) {
            uint64_t last = c->t_client_io > c->t_server_io ? c->t_client_io : c->t_server_io;
            consider(last + c->to_tunnel, HTTP_TO_TUNNEL, &best, &kind);
        }
        if (c->client_blocked)
            consider(c->t_client_io + c->to_client, HTTP_TO_CLIENT, &best, &kind);
        break;
    case HTTP_PH_CLOSING:
        consider(c->t_phase + c->to_linger, HTTP_TO_LINGER, &best, &kind);
        break;
    }
    if (kind != HTTP_TO_NONE)
        *deadline = best;
    return kind;
}

int http_method_idempotent(enum http_method m)
{
    switch (m) {
    case HTTP_M_GET: case HTTP_M_HEAD: case HTTP_M_PUT: case HTTP_M_DELETE:
    case HTTP_M_OPTIONS: case HTTP_M_TRACE:
        return 1;
    default:
        return 0;
    }
}

int http_req_keepalive(int version_minor, unsigned flags)
{
    if (flags & HTTP_F_CONN_CLOSE)
        return 0;
    if (version_minor == 0)
        return (flags & HTTP_F_CONN_KEEPALIVE) != 0;
    return 1;
}

int http_resp_keepalive(int version_minor, unsigned flags, enum http_body_kind kind)
{
    /* A body delimited by the close cannot leave a reusable connection. */
    if (kind == HTTP_BODY_UNTIL_CLOSE)
        return 0;
    return http_req_keepalive(version_minor, flags);
}

enum http_retry http_retry_decide(const struct http_attempt *a)
{
    if (a->response_started)
        return HTTP_RETRY_NONE;
    if (a->reused) {
        /* An idle connection the server closed under us: the server never
         * saw the request if nothing was sent; if it was sent, only an
         * idempotent request may be repeated. Either way on a new
         * connection, not counted as a retry. */
        if (a->fresh_used || !a->replayable)
            return HTTP_RETRY_NONE;
        if (!a->request_sent || a->idempotent)
            return HTTP_RETRY_FRESH;
        return HTTP_RETRY_NONE;
    }
    if (a->retries_left == 0 || !a->replayable)
        return HTTP_RETRY_NONE;
    /* Connect failures: the server has seen nothing. Once connected, a
     * request that went out is only repeated when idempotent. */
    if (!a->connected || !a->request_sent || a->idempotent)
        return HTTP_RETRY_OTHER;
    return HTTP_RETRY_NONE;
}

const char *http_term_code(char who, enum http_phase phase, int resp_started)
{
    static const char *const codes[] = {
        "CR", "CQ", "CC", "CH", "CD", "SR", "SQ", "SC", "SH", "SD",
        "PR", "PQ", "PC", "PH", "PD", "cR", "cQ", "cC", "cH", "cD",
        "sR", "sQ", "sC", "sH", "sD", "KR", "KQ", "KC", "KH", "KD",
    };
    static const char whos[] = "CSPcsK";
    unsigned w = 0;
    while (whos[w] && whos[w] != who)
        w++;
    if (!whos[w])
        return "--";
    unsigned step;
    switch (phase) {
    case HTTP_PH_PROXY: case HTTP_PH_HEAD: step = 0; break;
    case HTTP_PH_QUEUE: step = 1; break;
    case HTTP_PH_CONNECT: step = 2; break;
    case HTTP_PH_EXCHANGE: step = resp_started ? 4 : 3; break;
    default: step = 4; break;
    }
    return codes[w * 5 + step];
}
