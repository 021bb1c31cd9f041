/* test_ctl.c - the status socket: tokenizer, dispatcher, JSON writer, and
 * the server itself on a temporary socket (permissions, stale file,
 * client bound, line bound). */
#include "config.h"
#include "ctl_cmd.h"
#include "ctl_server.h"
#include "json_out.h"
#include "unit.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- helpers ---- */

static char *buf_str(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    evbuffer_copyout(b, s, n);
    s[n] = '\0';
    return s;
}

static char last_args[256];
static int last_json = -1;

static void record(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    last_args[0] = '\0';
    for (int i = 0; i < argc; i++) {
        strcat(last_args, i ? "|" : "");
        strncat(last_args, argv[i], 40);
    }
    last_json = json;
    ctl_reply_printf(r, "ok %s\n", (const char *)arg);
}

static void refuse(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    ctl_reply_printf(r, "partial output that must vanish\n");
    ctl_reply_error(r, "no such server \"%s\"", argv[0]);
}

static void big(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    for (int i = 0; i < 20000; i++)
        ctl_reply_printf(r, "line %05d of a long reply that must stream\n", i);
}

/* "stream N": N lines, 1000 per piece, as a streamed reply. */
struct stream_state {
    int next, total;
};
static size_t stream_max_pending;      /* largest output seen before a piece */
static int stream_freed;

static int stream_more(struct ctl_reply *r, void *arg)
{
    struct stream_state *st = arg;
    size_t pending = evbuffer_get_length(r->out);
    if (pending > stream_max_pending)
        stream_max_pending = pending;
    for (int i = 0; i < 1000 && st->next < st->total; i++, st->next++)
        ctl_reply_printf(r, "streamed line %07d\n", st->next);
    return st->next < st->total;
}

static void stream_free(void *arg)
{
    stream_freed++;
    free(arg);
}

static void stream(struct ctl_reply *r, int argc, char **argv, int json, void *arg)
{
    struct stream_state *st = calloc(1, sizeof(*st));
    st->total = atoi(argv[0]);
    ctl_reply_printf(r, "header\n");
    ctl_reply_stream(r, stream_more, st, stream_free);
}

static const struct ctl_command cmds[] = {
    { "stream", "N", "a streamed reply of N lines", 1, 1, stream },
    { "show", "[WHAT]", "show something", 0, 1, record },
    { "show servers", "[BACKEND]", "list servers", 0, 1, record },
    { "set weight", "BACKEND/SERVER N", "set a weight", 2, 2, record },
    { "fail", "NAME", "always fails", 1, 1, refuse },
    { "big", "", "a long reply", 0, 0, big },
    CTL_COMMANDS_END
};

static char *run(const char *line, int *rc)
{
    struct evbuffer *out = evbuffer_new();
    *rc = ctl_dispatch(cmds, "arg", line, strlen(line), out);
    char *s = buf_str(out);
    evbuffer_free(out);
    return s;
}

/* ---- tokenizer ---- */

static void test_tokenize_blanks(void)
{
    char line[] = "  show\t servers   web  ";
    char *argv[8];
    CU_ASSERT_EQUAL(ctl_tokenize(line, argv, 8), 3);
    CU_ASSERT_STRING_EQUAL(argv[0], "show");
    CU_ASSERT_STRING_EQUAL(argv[1], "servers");
    CU_ASSERT_STRING_EQUAL(argv[2], "web");
}

static void test_tokenize_limits(void)
{
    char empty[] = "   ";
    char many[] = "a b c d";
    char *argv[3];
    CU_ASSERT_EQUAL(ctl_tokenize(empty, argv, 3), 0);
    CU_ASSERT_EQUAL(ctl_tokenize(many, argv, 3), -1);
}

/* ---- dispatcher ---- */

static void test_dispatch_longest_name(void)
{
    int rc;
    char *s = run("show servers web", &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(s, "ok arg\n");
    CU_ASSERT_STRING_EQUAL(last_args, "web");
    CU_ASSERT_EQUAL(last_json, 0);
    free(s);
    s = run("show info", &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_STRING_EQUAL(last_args, "info");
    free(s);
}

static void test_dispatch_json_suffix(void)
{
    int rc;
    char *s = run("show servers json\r", &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(last_json, 1);
    CU_ASSERT_STRING_EQUAL(last_args, "");
    free(s);
}

static void test_dispatch_unknown(void)
{
    int rc;
    char *s = run("frobnicate now", &rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_STRING_EQUAL(s, "error: unknown command \"frobnicate now\" (try \"help\")\n");
    free(s);
    s = run("frob\"x json", &rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_STRING_EQUAL(s, "{\"error\":\"unknown command \\\"frob\\\"x\\\" (try \\\"help\\\")\"}\n");
    free(s);
}

static void test_dispatch_usage(void)
{
    int rc;
    char *s = run("set weight web/web1", &rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_STRING_EQUAL(s, "error: usage: set weight BACKEND/SERVER N\n");
    free(s);
    s = run("show servers a b", &rc);
    CU_ASSERT_EQUAL(rc, -1);
    free(s);
}

static void test_dispatch_handler_error(void)
{
    int rc;
    char *s = run("fail web1", &rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_STRING_EQUAL(s, "error: no such server \"web1\"\n");
    free(s);
    s = run("fail web1 json", &rc);
    CU_ASSERT_STRING_EQUAL(s, "{\"error\":\"no such server \\\"web1\\\"\"}\n");
    free(s);
}

static void test_dispatch_garbage(void)
{
    int rc;
    char *s = run("", &rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_STRING_EQUAL(s, "error: empty command (try \"help\")\n");
    free(s);
    struct evbuffer *out = evbuffer_new();
    CU_ASSERT_EQUAL(ctl_dispatch(cmds, NULL, "show\0x", 6, out), -1);
    free(s = buf_str(out));
    evbuffer_free(out);
    char longline[CTL_MAX_LINE + 2];
    memset(longline, 'a', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    s = run(longline, &rc);
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_STRING_EQUAL(s, "error: line too long\n");
    free(s);
    char words[200] = "";
    for (int i = 0; i < CTL_MAX_ARGS + 1; i++)
        strcat(words, "x ");
    s = run(words, &rc);
    CU_ASSERT_STRING_EQUAL(s, "error: too many words in command\n");
    free(s);
}

static void test_dispatch_help(void)
{
    int rc;
    char *s = run("help", &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "show servers [BACKEND]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "list servers"));
    free(s);
    s = run("help json", &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "{\"name\":\"set weight\",\"args\":\"BACKEND/SERVER N\""));
    free(s);
}

/* ---- JSON writer ---- */

static char *escaped(const char *in, size_t n)
{
    struct evbuffer *b = evbuffer_new();
    json_escape(b, in, n);
    char *s = buf_str(b);
    evbuffer_free(b);
    return s;
}

static void test_json_escape(void)
{
    char *s = escaped("a\"b\\c\n\t\x01\x7f", 9);
    CU_ASSERT_STRING_EQUAL(s, "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\"");
    free(s);
    s = escaped("caf\xc3\xa9 \xe2\x82\xac", 9);       /* valid UTF-8 passes */
    CU_ASSERT_STRING_EQUAL(s, "\"caf\xc3\xa9 \xe2\x82\xac\"");
    free(s);
    s = escaped("x\xff\xc3(\xed\xa0\x80y", 8);        /* invalid, truncated, surrogate */
    CU_ASSERT_STRING_EQUAL(s, "\"x\\ufffd\\ufffd(\\ufffd\\ufffd\\ufffdy\"");
    free(s);
    s = escaped("a\0b", 3);
    CU_ASSERT_STRING_EQUAL(s, "\"a\\u0000b\"");
    free(s);
}

static void test_json_nesting(void)
{
    struct evbuffer *b = evbuffer_new();
    struct json_out j;
    json_init(&j, b);
    json_obj_begin(&j);
    json_kv_str(&j, "name", "web");
    json_kv_u64(&j, "n", 18446744073709551615ull);
    json_kv_i64(&j, "neg", -3);
    json_key(&j, "list");
    json_arr_begin(&j);
    json_u64(&j, 1);
    json_obj_begin(&j);
    json_obj_end(&j);
    json_arr_begin(&j);
    json_arr_end(&j);
    json_null(&j);
    json_arr_end(&j);
    json_kv_bool(&j, "up", 1);
    json_kv_double(&j, "rt", 0.25);
    json_kv_str(&j, "none", NULL);
    json_obj_end(&j);
    char *s = buf_str(b);
    CU_ASSERT_STRING_EQUAL(s, "{\"name\":\"web\",\"n\":18446744073709551615,\"neg\":-3,"
                              "\"list\":[1,{},[],null],\"up\":true,\"rt\":0.25,\"none\":null}");
    free(s);
    evbuffer_free(b);
}

/* ---- the server on a real socket ---- */

static char sock_dir[64];
static char sock_path[96];

static void make_paths(void)
{
    snprintf(sock_dir, sizeof(sock_dir), "/tmp/test_ctl.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(sock_dir));
    snprintf(sock_path, sizeof(sock_path), "%s/s.sock", sock_dir);
}

static void remove_paths(void)
{
    unlink(sock_path);
    rmdir(sock_dir);
}

static int connect_to(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Runs the loop until fd reaches EOF (bounded), collecting what it reads. */
static char *read_reply(struct event_base *base, int fd)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    for (int i = 0; i < 20000; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        if (n + 4096 > cap)
            s = realloc(s, cap *= 2);
        ssize_t r = read(fd, s + n, cap - n - 1);
        if (r == 0)
            break;
        if (r > 0)
            n += (size_t)r;
        else
            usleep(200);
    }
    s[n] = '\0';
    return s;
}

static char *ask_shut(struct event_base *base, const char *line, size_t len, int shut)
{
    int fd = connect_to(sock_path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, line, len) == (ssize_t)len);
    if (shut)
        shutdown(fd, SHUT_WR);
    char *s = read_reply(base, fd);
    close(fd);
    return s;
}

static char *ask(struct event_base *base, const char *line, size_t len)
{
    return ask_shut(base, line, len, 0);
}

static void test_server_roundtrip(void)
{
    struct event_base *base = event_base_new();
    struct ctl_server_opts o = { .path = NULL, .max_clients = 2 };
    char err[256];
    make_paths();
    o.path = sock_path;
    struct ctl_server *s = ctl_server_start(base, &o, cmds, "srv", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    struct stat st;
    CU_ASSERT_EQUAL(stat(sock_path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0660);

    char *r = ask(base, "show servers web\n", 17);
    CU_ASSERT_STRING_EQUAL(r, "ok srv\n");
    free(r);
    r = ask_shut(base, "show servers", 12, 1);  /* no LF: the shutdown ends the line */
    CU_ASSERT_STRING_EQUAL(r, "ok srv\n");
    free(r);
    r = ask(base, "nope\r\n", 6);
    CU_ASSERT_STRING_EQUAL(r, "error: unknown command \"nope\" (try \"help\")\n");
    free(r);
    r = ask(base, "big\n", 4);
    CU_ASSERT_EQUAL(strlen(r), 20000u * 44);
    free(r);
    ctl_server_stop(s);
    CU_ASSERT_NOT_EQUAL(access(sock_path, F_OK), 0);
    event_base_free(base);
    remove_paths();
}

/* 200000 lines (4 MB) reach the client whole, while the server never
 * holds much more than one piece beyond the low watermark. */
static void test_server_stream(void)
{
    struct event_base *base = event_base_new();
    struct ctl_server_opts o = { 0 };
    char err[256];
    make_paths();
    o.path = sock_path;
    struct ctl_server *s = ctl_server_start(base, &o, cmds, "srv", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    stream_max_pending = 0;
    stream_freed = 0;
    char *r = ask(base, "stream 200000\n", 14);
    CU_ASSERT_EQUAL(strlen(r), 7 + 200000u * 22);
    CU_ASSERT_EQUAL(strncmp(r, "header\nstreamed line 0000000\n", 29), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r, "streamed line 0199999\n"));
    CU_ASSERT(stream_max_pending <= 64 * 1024);
    CU_ASSERT_EQUAL(stream_freed, 1);
    free(r);

    /* A client that leaves mid-stream: the state is still released. */
    int fd = connect_to(sock_path);
    CU_ASSERT(write(fd, "stream 1000000\n", 15) == 15);
    for (int i = 0; i < 50; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    close(fd);
    for (int i = 0; i < 200 && stream_freed < 2; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        usleep(1000);
    }
    CU_ASSERT_EQUAL(stream_freed, 2);
    CU_ASSERT_EQUAL(ctl_server_clients(s), 0u);
    ctl_server_stop(s);
    event_base_free(base);
    remove_paths();
}

static void test_dispatch_stream_pure(void)
{
    int rc;
    stream_freed = 0;
    char *s = run("stream 2500", &rc);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(strlen(s), 7 + 2500u * 22);
    CU_ASSERT_EQUAL(stream_freed, 1);
    free(s);
}

static void test_server_bounds(void)
{
    struct event_base *base = event_base_new();
    struct ctl_server_opts o = { .max_clients = 2, .timeout_ms = 200 };
    char err[256];
    make_paths();
    o.path = sock_path;
    struct ctl_server *s = ctl_server_start(base, &o, cmds, "srv", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    int a = connect_to(sock_path), b = connect_to(sock_path);
    for (int i = 0; i < 10; i++)
        event_base_loop(base, EVLOOP_NONBLOCK);
    CU_ASSERT_EQUAL(ctl_server_clients(s), 2u);
    char *r = ask(base, "show\n", 5);
    CU_ASSERT_STRING_EQUAL(r, "error: too many clients\n");
    free(r);
    r = read_reply(base, a);                     /* idle: timed out */
    CU_ASSERT_STRING_EQUAL(r, "error: timeout waiting for a command\n");
    free(r);
    close(a);
    close(b);
    char *line = malloc(CTL_MAX_LINE + 100);
    memset(line, 'x', CTL_MAX_LINE + 100);
    r = ask(base, line, CTL_MAX_LINE + 100);
    CU_ASSERT_STRING_EQUAL(r, "error: line too long\n");
    free(r);
    free(line);
    ctl_server_stop(s);
    event_base_free(base);
    remove_paths();
}

static void test_server_start_errors(void)
{
    struct event_base *base = event_base_new();
    char err[256];
    struct ctl_server_opts o = { .path = "/nonexistent-dir-tandem/x.sock" };
    CU_ASSERT_PTR_NULL(ctl_server_start(base, &o, cmds, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "directory /nonexistent-dir-tandem"));

    make_paths();
    o.path = sock_path;
    /* A stale socket (nobody listening) is replaced. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
    CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    close(fd);
    struct ctl_server *s = ctl_server_start(base, &o, cmds, NULL, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    /* A live one is not stolen. */
    CU_ASSERT_PTR_NULL(ctl_server_start(base, &o, cmds, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "another process is listening"));
    o.group = "no-such-group-tandem";
    ctl_server_stop(s);
    CU_ASSERT_PTR_NULL(ctl_server_start(base, &o, cmds, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no-such-group-tandem"));
    CU_ASSERT_NOT_EQUAL(access(sock_path, F_OK), 0);
    event_base_free(base);
    remove_paths();
}

static const struct unit_test cmd_tests[] = {
    UNIT_TEST(test_tokenize_blanks),
    UNIT_TEST(test_tokenize_limits),
    UNIT_TEST(test_dispatch_longest_name),
    UNIT_TEST(test_dispatch_json_suffix),
    UNIT_TEST(test_dispatch_unknown),
    UNIT_TEST(test_dispatch_usage),
    UNIT_TEST(test_dispatch_handler_error),
    UNIT_TEST(test_dispatch_garbage),
    UNIT_TEST(test_dispatch_help),
    UNIT_TEST(test_dispatch_stream_pure),
    { NULL, NULL }
};

static const struct unit_test json_tests[] = {
    UNIT_TEST(test_json_escape),
    UNIT_TEST(test_json_nesting),
    { NULL, NULL }
};

static const struct unit_test server_tests[] = {
    UNIT_TEST(test_server_roundtrip),
    UNIT_TEST(test_server_stream),
    UNIT_TEST(test_server_bounds),
    UNIT_TEST(test_server_start_errors),
    { NULL, NULL }
};

int main(void)
{
    signal(SIGPIPE, SIG_IGN);     /* as in the daemons: see ctl_server.h */
    const struct unit_suite suites[] = {
        { "ctl_cmd", cmd_tests },
        { "json_out", json_tests },
        { "ctl_server", server_tests },
        { NULL, NULL },
    };
    return unit_run_suites(suites);
}
