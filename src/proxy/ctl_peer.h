/* ctl_peer.h - status-socket commands on the peer sync channel:
 * peer show, peer resync (ctl_peer.c). Handlers for ctl.c's command
 * table; arg is its struct stats_env (env->sync NULL: no sync section). */
#ifndef TANDEM_CTL_PEER_H
#define TANDEM_CTL_PEER_H

#include "ctl_cmd.h"

void ctl_cmd_peer_show(struct ctl_reply *r, int argc, char **argv, int json, void *arg);
void ctl_cmd_peer_resync(struct ctl_reply *r, int argc, char **argv, int json, void *arg);

#endif
