/* fuzz_tls_hello.c - libFuzzer target for the ClientHello reader. The
 * verdict must not depend on how the bytes arrive (all at once or in
 * chunks of 1 to 16 bytes chosen from the input), the bytes before the
 * point where a hello completed must still ask for more, and a server
 * name found must be a valid, lower-case DNS name. */
/* fuzz-sources: src/proxy/tls_hello.c */
#include "tls_hello.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hello_reader whole, chunked, prefix;

static enum hello_status feed_chunked(const uint8_t *data, size_t size, struct hello_info *info)
{
    enum hello_status st = HELLO_NEED_MORE;
    size_t n = 0;

    hello_reader_init(&chunked);
    while (st == HELLO_NEED_MORE && n < size) {
        n += 1 + data[n] % 16;
        if (n > size)
            n = size;
        st = hello_feed(&chunked, data, n, info);
    }
    return st;
}

static void check_name(const struct hello_info *info)
{
    char again[HELLO_NAME_MAX + 1];
    size_t len = strlen(info->sni);

    if (hello_name_copy((const uint8_t *)info->sni, len, again) < 0 ||
        strcmp(again, info->sni) != 0)
        abort();
    for (size_t i = 0; i < len; i++)
        if (info->sni[i] >= 'A' && info->sni[i] <= 'Z')
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hello_info a, b, c;
    enum hello_status st;

    hello_reader_init(&whole);
    st = hello_feed(&whole, data, size, &a);
    if (feed_chunked(data, size, &b) != st)
        abort();
    if (st != HELLO_OK)
        return 0;
    if (a.has_sni != b.has_sni || a.tls13 != b.tls13 || a.alpn_len != b.alpn_len ||
        strcmp(a.sni, b.sni) != 0)
        abort();
    if (a.has_sni)
        check_name(&a);
    if (a.alpn && (a.alpn < whole.msg || a.alpn + a.alpn_len > whole.msg + whole.msg_len))
        abort();
    hello_reader_init(&prefix);
    if (hello_feed(&prefix, data, whole.in_off - 1, &c) != HELLO_NEED_MORE)
        abort();
    return 0;
}
