/* stats_http.h - the optional stats listener (config section stats):
 * GET /metrics (Prometheus text), /stats.json (stats.h's document) and /
 * (a self-contained live dashboard), with optional basic auth. libevent's
 * evhttp on the main thread's event base: a low-rate endpoint that must
 * not cost the workers anything. */
#ifndef TANDEM_STATS_HTTP_H
#define TANDEM_STATS_HTTP_H

#include "stats.h"

struct event_base;
struct stats_http;

/* Starts the listener when cfg->stats.enabled. Returns 0 with *out set
 * (NULL when disabled), or -1 after logging why. */
int stats_http_start(struct event_base *base, const struct tandem_config *cfg,
                     struct stats_env *env, struct stats_http **out);
void stats_http_stop(struct stats_http *h);

/* 1 if an Authorization header value carries exactly user:password in
 * Basic form. Pure, for the unit tests. */
int stats_http_auth_ok(const char *header, const char *user, const char *password);

/* The dashboard page (generated from dashboard.html). */
extern const char stats_dashboard_html[];

#endif
