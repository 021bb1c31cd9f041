/* addr.h - socket addresses as written in config files and shown in logs. */
#ifndef TANDEM_ADDR_H
#define TANDEM_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct net_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Longest text form: "[" + 45 (IPv6, maybe with IPv4 tail) + "]:" + 5 + NUL. */
#define ADDR_STRLEN 56

/* Parses "198.51.100.1:80", "[2001:db8::1]:80", "*:80" (IPv4 any) or
 * "[::]:80". Numeric only: no DNS lookups on the data path or at load.
 * Returns 0, or -1 with *err set. */
int addr_parse_hostport(const char *s, struct net_addr *out, const char **err);

/* Parses a bare IP ("198.51.100.1", "2001:db8::1") with no port. */
int addr_parse_ip(const char *s, struct net_addr *out, const char **err);

/* Parses "198.51.100.100/24" or "2001:db8::100/64" (the prefix is optional
 * and defaults to the full length). */
int addr_parse_prefix(const char *s, struct net_addr *out, int *prefixlen,
                      const char **err);

/* "ip:port" with brackets for IPv6; IPv4-mapped IPv6 shown as IPv4. */
const char *addr_format(const struct sockaddr *sa, char *buf, size_t len);
/* The IP alone, no port, no brackets (for X-Forwarded-For). */
const char *addr_format_ip(const struct sockaddr *sa, char *buf, size_t len);

uint16_t addr_port(const struct sockaddr *sa);

/* Pointer to the raw address bytes (4 or 16), for hashing and comparing.
 * IPv4-mapped IPv6 addresses yield their 4 IPv4 bytes so one client hashes
 * the same whichever way it arrived. */
const uint8_t *addr_ip_bytes(const struct sockaddr *sa, size_t *len);

/* The address as 16 IPv6 bytes (IPv4 as IPv4-mapped ::ffff:a.b.c.d) and
 * its port in network byte order. Returns -1 for non-IP families. */
int addr_to_v6(const struct sockaddr *sa, uint8_t ip[16], uint16_t *port_be);

/* 1 if the two addresses have the same family, IP and port. */
int addr_equal(const struct sockaddr *a, const struct sockaddr *b);

#endif
