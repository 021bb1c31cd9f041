/* health_check.c - pure health-check logic (see health_check.h). */
#include "config.h"
#include "health_check.h"
#include "http_parse.h"

#include <stdio.h>
#include <string.h>

#define HEALTH_MAX_HEADERS 64

void health_fsm_init(struct health_fsm *f, int healthy)
{
    f->healthy = healthy;
    f->successes = 0;
    f->failures = 0;
}

enum health_change health_fsm_feed(struct health_fsm *f, int ok, unsigned rise, unsigned fall)
{
    if (f->healthy) {
        f->failures = ok ? 0 : f->failures + 1;
        if (f->failures < (fall ? fall : 1))
            return HEALTH_SAME;
        health_fsm_init(f, 0);
        return HEALTH_WENT_DOWN;
    }
    f->successes = ok ? f->successes + 1 : 0;
    if (f->successes < (rise ? rise : 1))
        return HEALTH_SAME;
    health_fsm_init(f, 1);
    return HEALTH_WENT_UP;
}

int health_fsm_changing(const struct health_fsm *f)
{
    return f->healthy ? f->failures > 0 : f->successes > 0;
}

uint64_t health_next_start(const struct health_fsm *f, const struct conf_health *h,
                           uint64_t last_start_ms, uint64_t now_ms)
{
    uint64_t period = health_fsm_changing(f) ? h->fast_interval_ms : h->interval_ms;
    uint64_t next = last_start_ms + period;
    return next > now_ms ? next : now_ms;
}

int health_target_state(enum srv_state current, int healthy, int observe_only)
{
    if (observe_only)
        return -1;
    if (current == SRV_UP && !healthy)
        return SRV_DOWN;
    if (current == SRV_DOWN && healthy)
        return SRV_UP;
    return -1;      /* already there, or DRAIN/MAINT: the operator's call */
}

static const char *health_method(const struct conf_health *h)
{
    return h->method ? h->method : "GET";
}

static const char *health_path(const struct conf_health *h)
{
    return h->path ? h->path : "/";
}

size_t health_http_request(char *buf, size_t len, const struct conf_health *h,
                           const char *default_host)
{
    int n = snprintf(buf, len,
                     "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                     "User-Agent: tandem-health\r\n\r\n",
                     health_method(h), health_path(h), h->host ? h->host : default_host);
    return n < 0 || (size_t)n >= len ? 0 : (size_t)n;
}

/* The body check: found → pass; the whole body seen without it → fail. */
static enum health_verdict health_judge_body(const char *body, size_t blen, int eof,
                                             const struct http_resp *resp,
                                             const struct conf_health *h)
{
    if (memmem(body, blen, h->body, strlen(h->body)))
        return HEALTH_PASS;
    int complete = resp->content_length >= 0 && blen >= (uint64_t)resp->content_length;
    return eof || complete ? HEALTH_FAIL : HEALTH_MORE;
}

enum health_verdict health_http_judge(const char *buf, size_t len, int eof,
                                      const struct conf_health *h,
                                      char *reason, size_t reason_len)
{
    static const struct http_limits lim = { HEALTH_RESPONSE_MAX, HEALTH_RESPONSE_MAX,
                                            HEALTH_MAX_HEADERS };
    struct http_hdr hdrs[HEALTH_MAX_HEADERS];
    struct http_resp resp = { .hdrs = hdrs, .hdrs_cap = HEALTH_MAX_HEADERS };
    struct http_error err = { 0, NULL };
    const char *m = health_method(h), *p = health_path(h);
    int rc = http_parse_response(buf, len, &lim, &resp, &err);
    if (rc == HTTP_PARSE_INCOMPLETE && !eof)
        return HEALTH_MORE;
    if (rc != HTTP_PARSE_OK) {
        snprintf(reason, reason_len, "%s %s: %s", m, p,
                 rc == HTTP_PARSE_ERROR ? (err.reason ? err.reason : "bad response")
                 : len ? "incomplete response" : "empty response");
        return HEALTH_FAIL;
    }
    if (!health_expect_match(h->expect, h->nexpect, resp.status)) {
        snprintf(reason, reason_len, "%s %s: %d", m, p, resp.status);
        return HEALTH_FAIL;
    }
    enum health_verdict v = HEALTH_PASS;
    if (h->body)
        v = health_judge_body(buf + resp.head_len, len - resp.head_len, eof, &resp, h);
    if (v == HEALTH_FAIL)
        snprintf(reason, reason_len, "%s %s: %d, body without \"%.40s\"", m, p, resp.status,
                 h->body);
    else if (v == HEALTH_PASS)
        snprintf(reason, reason_len, "%s %s: %d", m, p, resp.status);
    return v;
}

void health_format_change(char *buf, size_t len, const char *backend, const char *server,
                          enum health_change change, const char *reason, unsigned count,
                          const char *note)
{
    int up = change == HEALTH_WENT_UP;
    char tail[96] = "";
    if (note)
        snprintf(tail, sizeof(tail), " (%s)", note);
    if (up)
        snprintf(buf, len, "backend \"%s\" server \"%s\" is UP: %u successful check%s%s",
                 backend, server, count, count == 1 ? "" : "s", tail);
    else
        snprintf(buf, len, "backend \"%s\" server \"%s\" is DOWN: %s, %u failure%s%s",
                 backend, server, reason, count, count == 1 ? "" : "s", tail);
}
