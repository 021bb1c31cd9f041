/* fuzz_ctl_line.c - libFuzzer target for the status-socket command line:
 * tokenizer and dispatcher, with a command table like the proxy's (several
 * words, argument counts, handlers echoing their arguments as text and as
 * JSON). Any input must give exactly one reply that ends in LF, starts
 * with "error: " or {"error": when dispatch fails, and carries no raw
 * control byte (the JSON escaper must catch every one). */
/* fuzz-sources: src/common/ctl_cmd.c src/common/json_out.c */
/* fuzz-libs: -levent_core */
#include "ctl_cmd.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void echo_args(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    (void)arg;
    if (json) {
        struct json_out j;
        ctl_reply_json(r, &j);
        json_arr_begin(&j);
        for (int i = 0; i < argc; i++)
            json_str(&j, argv[i]);
        json_arr_end(&j);
        ctl_reply_printf(r, "\n");
        return;
    }
    for (int i = 0; i < argc; i++)
        ctl_reply_printf(r, "%s%s", i ? " " : "", argv[i]);
    ctl_reply_printf(r, "\n");
}

static void fail_if_odd(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    (void)json; (void)arg;
    if (argc % 2)
        ctl_reply_error(r, "odd: %s", argv[0]);
    else
        ctl_reply_printf(r, "even\n");
}

/* "stream N": N % 50 numbered lines, one per piece (ctl_reply_stream). */
static int stream_more(struct ctl_reply *r, void *state)
{
    int *left = state;
    if (*left <= 0)
        return 0;
    ctl_reply_printf(r, "line %d\n", (*left)--);
    return *left > 0;
}

static void stream_n(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    (void)argc; (void)json; (void)arg;
    int *left = malloc(sizeof(*left));
    if (!left)
        return;
    *left = abs(atoi(argv[0]) % 50);
    ctl_reply_printf(r, "start\n");
    ctl_reply_stream(r, stream_more, left, free);
}

static const struct ctl_command cmds[] = {
    { "stream", "N", "streamed", 1, 1, stream_n },
    { "show", "[WHAT]", "show", 0, 1, echo_args },
    { "show servers", "[BACKEND]", "servers", 0, 1, echo_args },
    { "set server", "B/S state S", "set", 3, 3, echo_args },
    { "set weight", "B/S N", "weight", 2, 2, fail_if_odd },
    { "odd", "...", "fails on odd counts", 0, 40, fail_if_odd },
    CTL_COMMANDS_END
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evbuffer *out = evbuffer_new();
    if (!out)
        return 0;
    int rc = ctl_dispatch(cmds, NULL, (const char *)data, size, out);
    size_t n = evbuffer_get_length(out);
    const char *p = (const char *)evbuffer_pullup(out, -1);
    if (n == 0 || p[n - 1] != '\n')
        abort();
    if (rc < 0 && strncmp(p, "error: ", 7) != 0 && strncmp(p, "{\"error\":", 9) != 0)
        abort();
    if (rc != 0 && rc != -1)
        abort();
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '\n' && (rc < 0 || p[0] == '{' || p[0] == '['))
            abort();   /* errors and JSON are one line */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 && p[i] != '\n')
            abort();
    evbuffer_free(out);
    return 0;
}
