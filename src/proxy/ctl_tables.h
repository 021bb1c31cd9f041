/* ctl_tables.h - status-socket commands on the replicated tables:
 * show sticky [BACKEND], clear sticky [BACKEND], show conns
 * (ctl_tables.c). Handlers for ctl.c's command table; arg is its struct
 * stats_env. */
#ifndef TANDEM_CTL_TABLES_H
#define TANDEM_CTL_TABLES_H

#include "ctl_cmd.h"

void ctl_cmd_show_sticky(struct ctl_reply *r, int argc, char **argv, int json, void *arg);
void ctl_cmd_clear_sticky(struct ctl_reply *r, int argc, char **argv, int json, void *arg);
void ctl_cmd_show_conns(struct ctl_reply *r, int argc, char **argv, int json, void *arg);

#endif
