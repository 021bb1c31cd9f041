/* http_txn.h - the decisions of one HTTP exchange that need no I/O: which
 * timeout is due next, whether a connection may be kept alive or reused,
 * whether a failed request may be retried, and the termination codes of
 * the access log. http_proxy.c asks; CUnit tests check the answers. */
#ifndef TANDEM_HTTP_TXN_H
#define TANDEM_HTTP_TXN_H

#include <stdint.h>
#include "http_parse.h"

/* Where a client session is. */
enum http_phase {
    HTTP_PH_PROXY = 0,   /* waiting for the PROXY protocol header */
    HTTP_PH_HEAD,        /* waiting for (or reading) a request head */
    HTTP_PH_QUEUE,       /* every server full: waiting for a free slot */
    HTTP_PH_CONNECT,     /* connecting to the chosen server */
    HTTP_PH_EXCHANGE,    /* request forwarded, response relayed */
    HTTP_PH_TUNNEL,      /* after 101 Switching Protocols: raw bytes both ways */
    HTTP_PH_CLOSING,     /* final response flushed; lingering before close */
};

/* What expired. */
enum http_timeout {
    HTTP_TO_NONE = 0,
    HTTP_TO_IDLE,        /* no request started: close quietly */
    HTTP_TO_HEAD,        /* request head too slow: 408 */
    HTTP_TO_REQUEST,     /* whole request too slow: 408 */
    HTTP_TO_QUEUE,       /* no slot in time: 503 */
    HTTP_TO_QUEUE_POLL,  /* look again for a slot freed by another thread */
    HTTP_TO_CONNECT,     /* connect too slow: retry or 504 */
    HTTP_TO_SERVER,      /* server silent: 504 before the response head */
    HTTP_TO_CLIENT,      /* client silent: 408 before the response, else abort */
    HTTP_TO_TUNNEL,      /* idle tunnel: close */
    HTTP_TO_LINGER,      /* lingering close over */
};

/* Everything the next deadline depends on; times in monotonic ms. */
struct http_clock {
    enum http_phase phase;
    int first_request;        /* no request completed on this connection yet */
    int head_started;         /* bytes of the current request head arrived */
    int req_done;             /* request fully read from the client */
    int resp_done;            /* response body fully read from the server */
    int client_blocked;       /* output to the client waits for EV_WRITE */
    uint64_t t_idle;          /* connection became idle (accept or last response) */
    uint64_t t_req;           /* first byte of the current request */
    uint64_t t_phase;         /* entered QUEUE, CONNECT or CLOSING */
    uint64_t t_poll;          /* last queue look (QUEUE) */
    uint64_t t_client_io;     /* last progress with the client */
    uint64_t t_server_io;     /* last progress with the server */
    /* Timeouts (0 = off for request/tunnel only). */
    uint64_t to_http_request, to_keepalive, to_request, to_client;
    uint64_t to_queue, to_queue_poll, to_connect, to_server, to_tunnel, to_linger;
};

/* The earliest deadline for the current phase and what it means. Returns
 * HTTP_TO_NONE (and leaves *deadline alone) when nothing can expire. */
enum http_timeout http_next_deadline(const struct http_clock *c, uint64_t *deadline);

/* GET, HEAD, PUT, DELETE, OPTIONS, TRACE (RFC 9110 9.2.2). */
int http_method_idempotent(enum http_method m);

/* Does the client connection stay open after this exchange? HTTP/1.1
 * unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive". */
int http_req_keepalive(int version_minor, unsigned flags);

/* May the server connection go back to the idle pool after a response? */
int http_resp_keepalive(int version_minor, unsigned flags, enum http_body_kind kind);

/* What a failed attempt allows. */
enum http_retry {
    HTTP_RETRY_NONE = 0,      /* answer an error */
    HTTP_RETRY_OTHER,         /* connect failed: another server (uses a retry) */
    HTTP_RETRY_FRESH,         /* reused idle connection died: a new connection */
};

struct http_attempt {
    int reused;               /* the connection came from the idle pool */
    int connected;            /* TCP connection was established */
    int request_sent;         /* some bytes of the request reached the socket */
    int response_started;     /* any byte of a response arrived */
    int replayable;           /* the request (head and body) can be sent again */
    int idempotent;
    unsigned retries_left;
    int fresh_used;           /* the one fresh-connection retry is spent */
};

enum http_retry http_retry_decide(const struct http_attempt *a);

/* Two-letter termination state for the access log, HAProxy style: first
 * who ended it (C client, S server, P proxy, c/s client/server timeout,
 * K killed on shutdown), second in which step (R request, Q queue,
 * C connect, H response head, D data, L last byte). "--" is normal. */
const char *http_term_code(char who, enum http_phase phase, int resp_started);

#endif
