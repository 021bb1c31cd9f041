/* health.h - active health checks on their own thread and event base, and
 * the passive checks that live traffic reports. See docs/health.md. */
#ifndef TANDEM_HEALTH_H
#define TANDEM_HEALTH_H

#include <stdint.h>
#include "runtime.h"
#include "server.h"

/* Starts the checker thread on rt (it takes a reference). Call with the
 * process's signals blocked, like the workers. Returns 0 or -1. */
int health_start(struct runtime *rt);
/* Hands a newly built runtime to the checker: checks are rebuilt from its
 * config; carried-over servers keep their health. */
void health_reload(struct runtime *rt);
/* Stops the thread and drops its runtime reference (no-op if not started). */
void health_stop(void);

/* What a session saw of a server; consecutive failures past the backend's
 * passive thresholds mark it DOWN until active checks bring it back. Cheap:
 * an atomic add on failure, a read on success. Any thread. */
enum health_passive_event {
    HEALTH_CONNECT_FAIL = 0,
    HEALTH_CONNECT_OK,
    HEALTH_HTTP_5XX,
    HEALTH_HTTP_OK,
};
void health_passive_report(struct server *s, enum health_passive_event ev);

/* An operator lifts DRAIN or MAINT: the server's current health decides
 * whether it becomes UP or DOWN (for the status socket). */
void health_admin_ready(struct server *s, uint64_t now_ms);

#endif
