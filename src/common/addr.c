/* addr.c - numeric address parsing and formatting. */
#include "config.h"
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int addr_parse_ip(const char *s, struct net_addr *out, const char **err)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        out->len = sizeof(*sin);
        return 0;
    }
    if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        out->len = sizeof(*sin6);
        return 0;
    }
    *err = "not a numeric IPv4 or IPv6 address";
    return -1;
}

static void addr_set_port(struct net_addr *a, uint16_t port)
{
    if (a->ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

int addr_parse_hostport(const char *s, struct net_addr *out, const char **err)
{
    char host[64];
    const char *port_s;
    size_t hlen;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') {
            *err = "IPv6 address must be written as [addr]:port";
            return -1;
        }
        hlen = (size_t)(close - s - 1);
        if (hlen >= sizeof(host)) {
            *err = "address too long";
            return -1;
        }
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
        port_s = close + 2;
        if (!strchr(host, ':')) {
            *err = "brackets are only for IPv6 addresses";
            return -1;
        }
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            *err = "missing port (write addr:port)";
            return -1;
        }
        if (memchr(s, ':', (size_t)(colon - s))) {
            *err = "IPv6 address must be written as [addr]:port";
            return -1;
        }
        hlen = (size_t)(colon - s);
        if (hlen >= sizeof(host)) {
            *err = "address too long";
            return -1;
        }
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        port_s = colon + 1;
        if (strcmp(host, "*") == 0 || hlen == 0)
            strcpy(host, "0.0.0.0");
    }
    uint16_t port;
    if (parse_port(port_s, &port) < 0) {
        *err = "port must be a number from 0 to 65535";
        return -1;
    }
    if (addr_parse_ip(host, out, err) < 0)
        return -1;
    addr_set_port(out, port);
    return 0;
}

int addr_parse_prefix(const char *s, struct net_addr *out, int *prefixlen,
                      const char **err)
{
    char ip[64];
    const char *slash = strchr(s, '/');
    size_t len = slash ? (size_t)(slash - s) : strlen(s);
    if (len >= sizeof(ip)) {
        *err = "address too long";
        return -1;
    }
    memcpy(ip, s, len);
    ip[len] = '\0';
    if (addr_parse_ip(ip, out, err) < 0)
        return -1;
    int max = out->ss.ss_family == AF_INET ? 32 : 128;
    if (!slash) {
        *prefixlen = max;
        return 0;
    }
    char *end;
    errno = 0;
    long p = strtol(slash + 1, &end, 10);
    if (errno || *end || end == slash + 1 || p < 1 || p > max) {
        *err = out->ss.ss_family == AF_INET ? "prefix length must be 1-32"
                                            : "prefix length must be 1-128";
        return -1;
    }
    *prefixlen = (int)p;
    return 0;
}

static int is_v4mapped(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 &&
           IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

const char *addr_format_ip(const struct sockaddr *sa, char *buf, size_t len)
{
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)len);
    } else if (is_v4mapped(sa)) {
        inet_ntop(AF_INET, &((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr[12], buf,
                  (socklen_t)len);
    } else if (sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)len);
    } else if (sa->sa_family == AF_UNIX) {
        snprintf(buf, len, "unix");
    } else {
        snprintf(buf, len, "?");
    }
    return buf;
}

const char *addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    addr_format_ip(sa, ip, sizeof(ip));
    if (sa->sa_family == AF_INET6 && !is_v4mapped(sa))
        snprintf(buf, len, "[%s]:%u", ip, addr_port(sa));
    else if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
        snprintf(buf, len, "%s:%u", ip, addr_port(sa));
    else
        snprintf(buf, len, "%s", ip);
    return buf;
}

uint16_t addr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

const uint8_t *addr_ip_bytes(const struct sockaddr *sa, size_t *len)
{
    if (sa->sa_family == AF_INET) {
        *len = 4;
        return (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
    }
    if (is_v4mapped(sa)) {
        *len = 4;
        return &((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr[12];
    }
    if (sa->sa_family == AF_INET6) {
        *len = 16;
        return ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
    }
    *len = 0;
    return NULL;
}

int addr_to_v6(const struct sockaddr *sa, uint8_t ip[16], uint16_t *port_be)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        memset(ip, 0, 10);
        ip[10] = ip[11] = 0xff;
        memcpy(ip + 12, &sin->sin_addr, 4);
        *port_be = sin->sin_port;
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        memcpy(ip, &sin6->sin6_addr, 16);
        *port_be = sin6->sin6_port;
        return 0;
    }
    return -1;
}

int addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
    size_t la, lb;
    const uint8_t *pa = addr_ip_bytes(a, &la), *pb = addr_ip_bytes(b, &lb);
    return pa && pb && la == lb && memcmp(pa, pb, la) == 0 && addr_port(a) == addr_port(b);
}
