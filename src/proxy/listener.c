/* listener.c - socket options for listening sockets, in one place. */
#include "config.h"
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

static int set_int(int fd, int level, int opt, int val)
{
    return setsockopt(fd, level, opt, &val, sizeof(val));
}

int listener_is_wildcard(const struct net_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

int listener_open(const struct net_addr *addr, int socktype, int backlog,
                  char *err, size_t errlen)
{
    char name[ADDR_STRLEN];
    const char *what = "socket";
    int v6 = addr->ss.ss_family == AF_INET6;
    int fd = socket(addr->ss.ss_family, socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    what = "setsockopt";
    if (set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
        set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1) < 0)
        goto fail;
    /* Bind even when the address is not (yet) on this box: the VIP. */
    if (set_int(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_FREEBIND : IP_FREEBIND, 1) < 0)
        goto fail;
    /* [::]:80 and 0.0.0.0:80 are separate binds in tandem's config. */
    if (v6 && set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1) < 0)
        goto fail;
    /* Accepted sockets inherit TCP_NODELAY: one setsockopt here instead of
     * one per connection. */
    if (socktype == SOCK_STREAM && set_int(fd, IPPROTO_TCP, TCP_NODELAY, 1) < 0)
        goto fail;
    what = "bind";
    if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
        goto fail;
    what = "listen";
    if (socktype == SOCK_STREAM && listen(fd, backlog) < 0)
        goto fail;
    return fd;
fail:
    snprintf(err, errlen, "%s %s: %s", what,
             addr_format((const struct sockaddr *)&addr->ss, name, sizeof(name)),
             strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}
