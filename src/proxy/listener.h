/* listener.h - listening sockets. Each worker gets its own socket per bind
 * (SO_REUSEPORT, so the kernel spreads connections across workers), bound
 * with IP_FREEBIND so a backup box can listen on a VIP it does not own yet. */
#ifndef TANDEM_LISTENER_H
#define TANDEM_LISTENER_H

#include <stddef.h>
#include "addr.h"

/* Opens, configures and binds (and for SOCK_STREAM, listens) a socket.
 * Returns the fd, or -1 with a message in err. */
int listener_open(const struct net_addr *addr, int socktype, int backlog,
                  char *err, size_t errlen);

/* 1 if the address is the wildcard (0.0.0.0 or ::): the local address of
 * an accepted connection must then be asked from the kernel. */
int listener_is_wildcard(const struct net_addr *addr);

#endif
