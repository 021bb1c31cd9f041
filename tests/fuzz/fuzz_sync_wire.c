/* fuzz_sync_wire.c - libFuzzer target for the peer sync codec. The input
 * is a stream of frames, decoded one after the other as the channel does.
 * Each frame that decodes must re-encode to exactly its own bytes (a
 * message has one encoding), decode from those to the same message, and
 * every prefix of it must ask for more. */
/* fuzz-sources: src/proxy/sync_wire.c */
#include "sync_wire.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_frame(const uint8_t *frame, int n, const struct sync_msg *m)
{
    static uint8_t out[SYNC_FRAME_MAX];
    struct sync_msg again;
    const char *err = NULL;

    for (int i = 0; i < n; i++)
        if (sync_decode(frame, (size_t)i, &again, &err) != 0)
            abort();
    if (sync_encode(m, out, (size_t)n - 1) != -1)
        abort();
    if (sync_encode(m, out, sizeof(out)) != n || memcmp(out, frame, (size_t)n) != 0)
        abort();
    /* both decodes zero the struct first, so padding compares equal too */
    if (sync_decode(out, (size_t)n, &again, &err) != n || memcmp(&again, m, sizeof(again)) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sync_msg m;

    while (size > 0) {
        const char *err = NULL;
        int n = sync_decode(data, size, &m, &err);
        if (n < -1 || n > (int)size || (n == -1 && !err))
            abort();
        if (n <= 0)
            return 0;
        check_frame(data, n, &m);
        data += n;
        size -= (size_t)n;
    }
    return 0;
}
