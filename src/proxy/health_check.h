/* health_check.h - the pure parts of health checking: the rise/fall state
 * machine, what a result does to a server's state, the http check's
 * request and the judgement of its response, and the log line of a
 * transition. No I/O, no clock: health.c feeds them. */
#ifndef TANDEM_HEALTH_CHECK_H
#define TANDEM_HEALTH_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include "conf.h"
#include "server.h"

#define HEALTH_REASON_MAX 160
#define HEALTH_RESPONSE_MAX (16 * 1024)   /* bytes of a check response read */

/* Consecutive results since the health last changed. Like HAProxy, a
 * server starts healthy: `fall` failures in a row take it down, then
 * `rise` successes in a row bring it back; a result of the other kind
 * restarts the count. */
struct health_fsm {
    int healthy;
    unsigned successes;      /* in a row, while unhealthy */
    unsigned failures;       /* in a row, while healthy */
};

enum health_change { HEALTH_SAME = 0, HEALTH_WENT_DOWN, HEALTH_WENT_UP };

void health_fsm_init(struct health_fsm *f, int healthy);
enum health_change health_fsm_feed(struct health_fsm *f, int ok, unsigned rise, unsigned fall);
/* 1 while a series that may change the health is under way: checks then
 * run at fast_interval. */
int health_fsm_changing(const struct health_fsm *f);
/* Start time of the next check: `interval` after the last start (so a
 * check that takes its whole timeout does not stretch the period), but
 * never in the past. */
uint64_t health_next_start(const struct health_fsm *f, const struct conf_health *h,
                           uint64_t last_start_ms, uint64_t now_ms);

/* The state a server should take after its health changed to `healthy`,
 * or -1 to leave it: observe-only checks change nothing, and DRAIN and
 * MAINT are an operator's and win over checks. */
int health_target_state(enum srv_state current, int healthy, int observe_only);

/* Writes the http check's request into buf; returns its length, or 0 if
 * it does not fit. default_host is used when the config gives none. */
size_t health_http_request(char *buf, size_t len, const struct conf_health *h,
                           const char *default_host);

enum health_verdict { HEALTH_MORE = 0, HEALTH_PASS, HEALTH_FAIL };

/* Judges the bytes of a response read so far (eof: the server closed or
 * the buffer is full). Fills reason ("GET /health: 503") either way once
 * decided. */
enum health_verdict health_http_judge(const char *buf, size_t len, int eof,
                                      const struct conf_health *h,
                                      char *reason, size_t reason_len);

/* `backend "web" server "web1" is DOWN: GET /health: 503, 3 failures` or
 * `... is UP: 2 successful checks`; `note` is appended in parentheses when
 * not NULL (observe-only, admin state kept). */
void health_format_change(char *buf, size_t len, const char *backend, const char *server,
                          enum health_change change, const char *reason, unsigned count,
                          const char *note);

#endif
