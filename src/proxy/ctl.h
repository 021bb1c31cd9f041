/* ctl.h - tandem-proxy's status socket (runtime API): the command table
 * on ctl_server.c, run on the main thread's event base. See
 * docs/tandemctl.8 for the commands and the protocol. */
#ifndef TANDEM_PROXY_CTL_H
#define TANDEM_PROXY_CTL_H

#include "stats.h"

struct event_base;
struct ctl_server;

/* Opens global.status_socket (if set) on base. Returns 0 with *out set
 * (NULL when no socket is configured), or -1 after logging why. env must
 * outlive the server. */
int proxy_ctl_start(struct event_base *base, const struct tandem_config *cfg,
                    struct stats_env *env, struct ctl_server **out);
void proxy_ctl_stop(struct ctl_server *s);

#endif
