/* fuzz_proxy_proto.c - libFuzzer target for the PROXY v1/v2 parser. A
 * complete header must also be complete in any longer buffer, every
 * prefix of it must ask for more, and what parses must write back out. */
/* fuzz-sources: src/proxy/proxy_proto.c src/common/addr.c */
#include "proxy_proto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proxy_proto_info info, info2;
    uint8_t out[64];
    char text[PROXY_PROTO_V1_MAX + 1];
    int r = proxy_proto_parse(data, size, &info);

    if (r < -1 || r > (int)size)
        abort();
    if (r <= 0)
        return 0;
    if (proxy_proto_parse(data, (size_t)r - 1, &info2) != 0)
        abort();
    if (info.local)
        return 0;
    size_t n = proxy_proto_write_v2(out, sizeof(out), (struct sockaddr *)&info.src,
                                    (struct sockaddr *)&info.dst);
    if (n == 0 || proxy_proto_parse(out, n, &info2) != (int)n)
        abort();
    n = proxy_proto_write_v1(text, sizeof(text), (struct sockaddr *)&info.src,
                             (struct sockaddr *)&info.dst);
    if (n == 0 || proxy_proto_parse((const uint8_t *)text, n, &info2) != (int)n)
        abort();
    return 0;
}
