/* ctl_cmd.c - status-socket command tokenizer and dispatcher (see ctl_cmd.h). */
#include "config.h"
#include "ctl_cmd.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define CTL_ECHO_MAX 64          /* bytes of a bad command quoted back */

int ctl_tokenize(char *line, char **argv, int max)
{
    int argc = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            return argc;
        if (argc == max)
            return -1;
        argv[argc++] = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

void ctl_error_line(struct evbuffer *out, int json, const char *msg)
{
    if (json) {
        evbuffer_add(out, "{\"error\":", 9);
        json_escape(out, msg, strlen(msg));
        evbuffer_add(out, "}\n", 2);
    } else {
        evbuffer_add_printf(out, "error: %s\n", msg);
    }
}

void ctl_reply_printf(struct ctl_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    evbuffer_add_vprintf(r->out, fmt, ap);
    va_end(ap);
}

void ctl_reply_error(struct ctl_reply *r, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    evbuffer_drain(r->out, evbuffer_get_length(r->out));
    ctl_error_line(r->out, r->json, msg);
    r->failed = 1;
    ctl_reply_done(r);
}

void ctl_reply_json(struct ctl_reply *r, struct json_out *j)
{
    json_init(j, r->out);
}

void ctl_reply_stream(struct ctl_reply *r, ctl_more_fn more, void *state,
                      void (*more_free)(void *state))
{
    ctl_reply_done(r);
    r->more = more;
    r->more_state = state;
    r->more_free = more_free;
}

void ctl_reply_done(struct ctl_reply *r)
{
    if (r->more_free)
        r->more_free(r->more_state);
    r->more = NULL;
    r->more_state = NULL;
    r->more_free = NULL;
}

/* Number of words in a command name ("show servers" = 2). */
static int name_words(const char *name)
{
    int n = 1;
    for (const char *p = name; *p; p++)
        n += *p == ' ';
    return n;
}

/* 1 if the first words of argv spell name. */
static int name_matches(const char *name, int argc, char **argv)
{
    int w = 0;
    const char *p = name;
    while (*p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (w >= argc || strlen(argv[w]) != n || memcmp(argv[w], p, n) != 0)
            return 0;
        w++;
        p += n + (end != NULL);
    }
    return 1;
}

static const struct ctl_command *find_command(const struct ctl_command *cmds, int argc,
                                              char **argv)
{
    const struct ctl_command *best = NULL;
    for (const struct ctl_command *c = cmds; c->name; c++)
        if (name_matches(c->name, argc, argv) &&
            (!best || name_words(c->name) > name_words(best->name)))
            best = c;
    return best;
}

static void help_text(struct ctl_reply *r, const struct ctl_command *cmds)
{
    ctl_reply_printf(r, "Commands (one per connection; add \"json\" at the end for JSON):\n");
    ctl_reply_printf(r, "  %-44s %s\n", "help", "this list");
    for (const struct ctl_command *c = cmds; c->name; c++) {
        char use[128];
        snprintf(use, sizeof(use), "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
        ctl_reply_printf(r, "  %-44s %s\n", use, c->help);
    }
}

static void help_json(struct ctl_reply *r, const struct ctl_command *cmds)
{
    struct json_out j;
    ctl_reply_json(r, &j);
    json_obj_begin(&j);
    json_key(&j, "commands");
    json_arr_begin(&j);
    for (const struct ctl_command *c = cmds; c->name; c++) {
        json_obj_begin(&j);
        json_kv_str(&j, "name", c->name);
        json_kv_str(&j, "args", c->args);
        json_kv_str(&j, "help", c->help);
        json_obj_end(&j);
    }
    json_arr_end(&j);
    json_obj_end(&j);
    evbuffer_add(r->out, "\n", 1);
}

/* Quotes the words back for an error message, printable bytes only. */
static void echo_words(char *dst, size_t size, int argc, char **argv)
{
    size_t n = 0;
    for (int i = 0; i < argc && n + 1 < size; i++) {
        if (i > 0)
            dst[n++] = ' ';
        for (const char *p = argv[i]; *p && n + 1 < size; p++)
            dst[n++] = (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f ? *p : '?';
    }
    dst[n] = '\0';
}

/* Checks the raw bytes: no NUL or control characters besides tab (a
 * trailing CR from a telnet-style client is already gone). */
static int line_is_clean(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

static int run_command(const struct ctl_command *cmds, void *arg, struct ctl_reply *r,
                       int argc, char **argv)
{
    if (strcmp(argv[0], "help") == 0 && argc == 1) {
        if (r->json)
            help_json(r, cmds);
        else
            help_text(r, cmds);
        return 0;
    }
    const struct ctl_command *c = find_command(cmds, argc, argv);
    if (!c) {
        char words[CTL_ECHO_MAX + 1];
        echo_words(words, sizeof(words), argc, argv);
        ctl_reply_error(r, "unknown command \"%s\" (try \"help\")", words);
        return -1;
    }
    int skip = name_words(c->name), nargs = argc - skip;
    if (nargs < c->min_args || nargs > c->max_args) {
        ctl_reply_error(r, "usage: %s%s%s", c->name, c->args[0] ? " " : "", c->args);
        return -1;
    }
    c->fn(r, nargs, argv + skip, r->json, arg);
    return r->failed ? -1 : 0;
}

int ctl_dispatch(const struct ctl_command *cmds, void *arg, const char *line, size_t len,
                 struct evbuffer *out)
{
    struct ctl_reply r = { .out = out };
    int rc = ctl_dispatch_reply(cmds, arg, line, len, &r);
    while (r.more && r.more(&r, r.more_state))
        ;
    ctl_reply_done(&r);
    return rc;
}

int ctl_dispatch_reply(const struct ctl_command *cmds, void *arg, const char *line,
                       size_t len, struct ctl_reply *r)
{
    char buf[CTL_MAX_LINE + 1];
    char *argv[CTL_MAX_ARGS + 1];
    struct evbuffer *out = r->out;

    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len > CTL_MAX_LINE) {
        ctl_error_line(out, 0, "line too long");
        return -1;
    }
    if (!line_is_clean(line, len)) {
        ctl_error_line(out, 0, "control character in command");
        return -1;
    }
    memcpy(buf, line, len);
    buf[len] = '\0';
    /* One more slot than allowed so a trailing "json" does not count. */
    int argc = ctl_tokenize(buf, argv, CTL_MAX_ARGS + 1);
    if (argc > 0 && strcmp(argv[argc - 1], "json") == 0) {
        r->json = 1;
        argc--;
    }
    if (argc < 0 || argc > CTL_MAX_ARGS) {
        ctl_error_line(out, r->json, "too many words in command");
        return -1;
    }
    if (argc == 0) {
        ctl_error_line(out, r->json, "empty command (try \"help\")");
        return -1;
    }
    return run_command(cmds, arg, r, argc, argv);
}
