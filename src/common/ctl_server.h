/* ctl_server.h - a status socket (runtime API) on a libevent event_base,
 * shared by tandem-proxy and tandem-vrrp.
 *
 * Protocol (non-interactive, like HAProxy's): the client connects to the
 * UNIX stream socket, sends one command line ending in LF (CRLF and a
 * missing LF before the client's shutdown are accepted), the server writes
 * the reply and closes. A reply that starts with "error: " (text) or
 * {"error": (JSON) is a failure; anything else is success. The commands
 * are in ctl_cmd.h.
 *
 * Bounds: CTL_MAX_LINE bytes per line ("error: line too long"),
 * max_clients connections at once (more get "error: too many clients"),
 * timeout_ms to send the line and to read the reply. Replies are built in
 * memory and written as the client reads them, never blocking the loop;
 * very long ones are produced piece by piece (ctl_reply_stream).
 *
 * The process must ignore SIGPIPE (both daemons do): a client that leaves
 * before reading its answer would otherwise kill it. */
#ifndef TANDEM_CTL_SERVER_H
#define TANDEM_CTL_SERVER_H

#include <stddef.h>
#include <sys/types.h>
#include "ctl_cmd.h"

struct event_base;
struct ctl_server;

#define CTL_DEFAULT_MODE        0660
#define CTL_DEFAULT_MAX_CLIENTS 16
#define CTL_DEFAULT_TIMEOUT_MS  5000

struct ctl_server_opts {
    const char *path;            /* socket path; its directory must exist */
    mode_t mode;                 /* 0: CTL_DEFAULT_MODE */
    const char *group;           /* group owning the socket, NULL: the process's */
    unsigned max_clients;        /* 0: CTL_DEFAULT_MAX_CLIENTS */
    unsigned timeout_ms;         /* 0: CTL_DEFAULT_TIMEOUT_MS */
    const char *name;            /* for log lines, e.g. "status socket" */
};

/* Creates the socket (removing a stale one; refusing when another process
 * still answers on it) and starts accepting on base. cmds and arg must
 * outlive the server. On failure returns NULL with a message in err. */
struct ctl_server *ctl_server_start(struct event_base *base, const struct ctl_server_opts *o,
                                    const struct ctl_command *cmds, void *arg, char *err,
                                    size_t errlen);

/* Closes every client, the listening socket, and removes the socket file. */
void ctl_server_stop(struct ctl_server *s);

/* Number of connected clients (for tests and "show info"). */
unsigned ctl_server_clients(const struct ctl_server *s);

#endif
