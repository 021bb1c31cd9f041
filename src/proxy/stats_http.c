/* stats_http.c - the stats listener: evhttp, routes, basic auth. */
#include "config.h"
#include "stats_http.h"
#include "json_out.h"
#include "log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define STATS_HTTP_TIMEOUT_S   10
#define STATS_HTTP_MAX_HEADERS 8192

struct stats_http {
    struct evhttp *http;
    struct stats_env *env;
};

/* Compares without an early exit, so the time taken does not tell how
 * much of a guessed password was right. */
static int equal_const_time(const unsigned char *a, size_t an, const unsigned char *b,
                            size_t bn)
{
    unsigned char diff = an != bn;
    for (size_t i = 0; i < an && i < bn; i++)
        diff |= a[i] ^ b[i];
    return diff == 0;
}

int stats_http_auth_ok(const char *header, const char *user, const char *password)
{
    if (!header || strncasecmp(header, "Basic ", 6) != 0)
        return 0;
    const char *b64 = header + 6;
    while (*b64 == ' ')
        b64++;
    size_t n = strlen(b64);
    while (n > 0 && b64[n - 1] == ' ')
        n--;
    if (n == 0 || n % 4 != 0 || n > 1024)
        return 0;
    unsigned char got[1024];
    int len = EVP_DecodeBlock(got, (const unsigned char *)b64, (int)n);
    if (len < 0)
        return 0;
    /* EVP_DecodeBlock counts the bytes "=" padding stands for. */
    if (b64[n - 1] == '=')
        len--;
    if (b64[n - 2] == '=')
        len--;
    size_t ul = strlen(user), pl = strlen(password);
    unsigned char want[1024];
    if (ul + 1 + pl > sizeof(want))
        return 0;
    memcpy(want, user, ul);
    want[ul] = ':';
    memcpy(want + ul + 1, password, pl);
    return equal_const_time(got, (size_t)len, want, ul + 1 + pl);
}

static void send_text(struct evhttp_request *req, int code, const char *reason,
                      const char *type, struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, code, reason, body);
}

static void send_error(struct evhttp_request *req, int code, const char *reason)
{
    struct evbuffer *b = evbuffer_new();
    if (!b)
        return;
    evbuffer_add_printf(b, "%d %s\n", code, reason);
    send_text(req, code, reason, "text/plain; charset=utf-8", b);
    evbuffer_free(b);
}

/* Credentials come from the running config, so a reload changes them. */
static int authorized(struct stats_http *sh, struct evhttp_request *req)
{
    const struct conf_stats *cs = &(*sh->env->rt)->cfg->stats;
    if (!cs->user)
        return 1;
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
                                          "Authorization");
    return stats_http_auth_ok(auth, cs->user, cs->password ? cs->password : "");
}

static void serve_metrics(struct stats_http *sh, struct evhttp_request *req, struct evbuffer *b)
{
    struct stats_info in;
    stats_env_info(sh->env, &in);
    stats_prometheus(b, *sh->env->rt, &in);
    stats_prometheus_sync(b, sh->env->sync);
    send_text(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b);
}

static void serve_json(struct stats_http *sh, struct evhttp_request *req, struct evbuffer *b)
{
    struct stats_info in;
    struct json_out j;
    stats_env_info(sh->env, &in);
    json_init(&j, b);
    stats_json_all(&j, *sh->env->rt, &in);
    evbuffer_add(b, "\n", 1);
    send_text(req, 200, "OK", "application/json", b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct stats_http *sh = arg;
    if (!authorized(sh, req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Basic realm=\"tandem stats\", charset=\"UTF-8\"");
        send_error(req, 401, "Unauthorized");
        return;
    }
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        send_error(req, 405, "Method Not Allowed");
        return;
    }
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    struct evbuffer *b = evbuffer_new();
    if (!b || !path) {
        send_error(req, 500, "Internal Server Error");
        if (b)
            evbuffer_free(b);
        return;
    }
    if (strcmp(path, "/metrics") == 0) {
        serve_metrics(sh, req, b);
    } else if (strcmp(path, "/stats.json") == 0) {
        serve_json(sh, req, b);
    } else if (strcmp(path, "/") == 0) {
        evbuffer_add_reference(b, stats_dashboard_html, strlen(stats_dashboard_html), NULL,
                               NULL);
        send_text(req, 200, "OK", "text/html; charset=utf-8", b);
    } else {
        send_error(req, 404, "Not Found");
    }
    evbuffer_free(b);
}

/* The socket is ours (not evhttp_bind_socket) so IPv6 and error messages
 * are handled like every other listener. */
static int open_listener(const struct net_addr *a, char *err, size_t errlen)
{
    const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
    int one = 1;
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, sa, a->len) < 0 || listen(fd, 64) < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int stats_http_start(struct event_base *base, const struct tandem_config *cfg,
                     struct stats_env *env, struct stats_http **out)
{
    char addr[ADDR_STRLEN], err[256];
    *out = NULL;
    if (!cfg->stats.enabled)
        return 0;
    addr_format((const struct sockaddr *)&cfg->stats.bind.ss, addr, sizeof(addr));
    int fd = open_listener(&cfg->stats.bind, err, sizeof(err));
    if (fd < 0) {
        log_err("stats listener %s: %s", addr, err);
        return -1;
    }
    struct stats_http *sh = calloc(1, sizeof(*sh));
    if (!sh || !(sh->http = evhttp_new(base)) || !evhttp_accept_socket_with_handle(sh->http, fd)) {
        log_err("stats listener %s: cannot start evhttp", addr);
        if (sh && sh->http)
            evhttp_free(sh->http);
        free(sh);
        close(fd);
        return -1;
    }
    sh->env = env;
    evhttp_set_timeout(sh->http, STATS_HTTP_TIMEOUT_S);
    evhttp_set_max_headers_size(sh->http, STATS_HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(sh->http, 1024);   /* GET and HEAD only */
    /* The common methods reach on_request, which answers 405 to all but
     * GET and HEAD; evhttp itself would say 501. */
    evhttp_set_allowed_methods(sh->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                         EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(sh->http, on_request, sh);
    log_info("stats listener on http://%s/ (/metrics, /stats.json)%s", addr,
             cfg->stats.user ? " with basic auth" : "");
    *out = sh;
    return 0;
}

void stats_http_stop(struct stats_http *h)
{
    if (!h)
        return;
    evhttp_free(h->http);
    free(h);
}
