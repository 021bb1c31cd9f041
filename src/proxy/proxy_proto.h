/* proxy_proto.h - the PROXY protocol, versions 1 (text) and 2 (binary), as
 * specified by HAProxy's proxy-protocol.txt. Pure codec: no I/O. */
#ifndef TANDEM_PROXY_PROTO_H
#define TANDEM_PROXY_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct proxy_proto_info {
    int version;                 /* 1 or 2 */
    int local;                   /* v2 LOCAL command or v1 UNKNOWN: keep the real addresses */
    struct sockaddr_storage src; /* the original client */
    struct sockaddr_storage dst; /* the address the client connected to */
};

/* Longest v1 header is 107 bytes; a v2 header is 16 + up to 65535. */
#define PROXY_PROTO_V1_MAX 107
#define PROXY_PROTO_V2_MAX (16 + 65535)

/* Parses a header at the start of buf. Returns the header length (> 0) when
 * complete and valid, 0 when more bytes are needed, -1 when the bytes are
 * not a valid PROXY header (the connection must be refused). Unsupported
 * families (AF_UNIX) are treated as LOCAL. */
int proxy_proto_parse(const uint8_t *buf, size_t len, struct proxy_proto_info *out);

/* Writes a header describing src -> dst into out (cap bytes). Returns the
 * length written, or 0 if cap is too small. Mixed families are written as
 * IPv6 with IPv4-mapped addresses. */
size_t proxy_proto_write_v1(char *out, size_t cap, const struct sockaddr *src,
                            const struct sockaddr *dst);
size_t proxy_proto_write_v2(uint8_t *out, size_t cap, const struct sockaddr *src,
                            const struct sockaddr *dst);

#endif
