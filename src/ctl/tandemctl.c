/* tandemctl.c - the operator CLI over the status sockets of tandem-proxy
 * and tandem-vrrp.
 *
 * Each invocation sends one command line and prints the answer: the
 * daemons render the human tables themselves (so the layout lives in one
 * place, and socat users see the same thing); --json appends "json" to
 * the command and passes the JSON through. tandemctl checks the command
 * and its arguments first, so a typo is a usage error (exit 2) that never
 * reaches the daemon.
 *
 * Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error,
 * 3 the socket could not be reached or did not answer. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define EXIT_FAILED   1
#define EXIT_USAGE    2
#define EXIT_NOSOCKET 3

#define DEFAULT_PROXY_SOCKET "/run/tandem/proxy.sock"
#define DEFAULT_VRRP_SOCKET  "/run/tandem/vrrp.sock"
#define DEFAULT_TIMEOUT_S    30          /* a reload can take a while */
#define MAX_LINE             4096        /* the servers' CTL_MAX_LINE */

enum target { TO_PROXY, TO_VRRP };

struct subcommand {
    const char *name;            /* what the user types: "show servers", "vrrp show" */
    const char *args;            /* usage */
    const char *sends;           /* the command sent, before the arguments */
    enum target to;
    int min_args, max_args;
    const char *help;            /* several lines */
    int (*check)(char **argv);   /* extra argument checks, or NULL */
};

static int check_state(char **argv);
static int check_weight(char **argv);
static int check_server(char **argv);

static const struct subcommand subcommands[] = {
    { "show info", "", "show info", TO_PROXY, 0, 0,
      "Process facts: version, pid, node, uptime, worker threads, config file,\n"
      "configuration generation (+1 per reload) and connection/request totals.", NULL },
    { "show stat", "", "show stat", TO_PROXY, 0, 0,
      "One row per frontend, backend and server: status, weight, active and total\n"
      "connections, requests, responses by class, bytes in/out, errors.", NULL },
    { "show backends", "", "show backends", TO_PROXY, 0, 0,
      "One row per backend: algorithm, status (UP while a server can take a new\n"
      "client), servers up, weight, active connections, queue, traffic.", NULL },
    { "show servers", "[BACKEND]", "show servers", TO_PROXY, 0, 1,
      "One row per server (of BACKEND, or of every backend): address, state\n"
      "(UP, DOWN, DRAIN, MAINT), weight, connections, requests, responses,\n"
      "errors and the smoothed response time.", NULL },
    { "set server", "BACKEND/SERVER state ready|drain|maint", "set server", TO_PROXY, 3, 3,
      "Change a server's administrative state:\n"
      "  ready  back in service (UP, or DOWN if its health checks fail)\n"
      "  drain  no new clients; open connections and sticky clients continue\n"
      "  maint  no traffic at all (open connections finish)\n"
      "The state is kept across reloads.", check_state },
    { "set weight", "BACKEND/SERVER N", "set weight", TO_PROXY, 2, 2,
      "Change a server's weight (0-256; 0 takes no new clients). Balancers use\n"
      "it from the next pick; a reload restores the configured weight only if\n"
      "the server's line in the file changes.", check_weight },
    { "show sticky", "[BACKEND]", "show sticky", TO_PROXY, 0, 1,
      "Sticky-session entries (of BACKEND, or all): kind (cookie, app, source),\n"
      "key (the inserted token, the application cookie's value or the client\n"
      "IP), server and seconds until the entry expires unless used.", NULL },
    { "clear sticky", "[BACKEND]", "clear sticky", TO_PROXY, 0, 1,
      "Forget every sticky-session entry (of BACKEND, or all): those clients\n"
      "are balanced again at their next request (inserted cookies still name\n"
      "their server).", NULL },
    { "show conns", "", "show conns", TO_PROXY, 0, 0,
      "Live client connections and UDP flows: id, protocol, frontend, client\n"
      "and local (VIP) address, backend and server, state and age.", NULL },
    { "peer show", "", "peer show", TO_PROXY, 0, 0,
      "The sync channel to the peer box's tandem-proxy: whether each direction\n"
      "is up and authenticated (psk or certificate), the last message heard,\n"
      "the lag (events sent and not yet acknowledged, and for how long), entries\n"
      "sent and received per table, snapshots and resyncs, the peer's\n"
      "connections known here, the VRRP instances each box holds and any split\n"
      "brain (both boxes holding one instance's VIPs while they can talk).", NULL },
    { "peer resync", "", "peer resync", TO_PROXY, 0, 0,
      "Ask the peer to send its whole sticky and connection tables and its\n"
      "rate-limit counters again, and send ours (the feeds resume after).", NULL },
    { "reload", "", "reload", TO_PROXY, 0, 0,
      "Reload the configuration file, like SIGHUP: it is checked first and on\n"
      "any error the running configuration stays (the first error is shown).", NULL },
    { "ping", "", "ping", TO_PROXY, 0, 0,
      "Check that tandem-proxy's main loop answers (prints pong).", NULL },
    { "vrrp show", "", "show", TO_VRRP, 0, 0,
      "The VRRP agent's instances: state (MASTER, BACKUP, FAULT), priority,\n"
      "VIPs, master.", NULL },
    { "vrrp switchover", "INSTANCE", "switchover", TO_VRRP, 1, 1,
      "Planned switchover: the local MASTER of INSTANCE resigns (priority 0\n"
      "advertisement) so the peer takes the VIPs.", NULL },
    { NULL, NULL, NULL, TO_PROXY, 0, 0, NULL, NULL },
};

static const char usage_text[] =
    "Usage: tandemctl [OPTIONS] COMMAND [ARGS...]\n"
    "Operator CLI for tandem-proxy and tandem-vrrp (their status sockets).\n"
    "\n"
    "Commands:\n";

static const char options_text[] =
    "\n"
    "Options:\n"
    "  -s, --socket PATH        tandem-proxy's socket (default $TANDEM_PROXY_SOCKET\n"
    "                           or " DEFAULT_PROXY_SOCKET ")\n"
    "  -S, --vrrp-socket PATH   tandem-vrrp's socket (default $TANDEM_VRRP_SOCKET\n"
    "                           or " DEFAULT_VRRP_SOCKET ")\n"
    "  -j, --json               print the daemon's JSON answer\n"
    "  -t, --timeout SECONDS    wait this long for an answer (default 30)\n"
    "  -h, --help               this help; tandemctl help COMMAND for one command\n"
    "  -V, --version            print the version\n"
    "\n"
    "Exit status: 0 ok, 1 the daemon refused the command, 2 usage error,\n"
    "3 the socket cannot be reached or did not answer. See tandemctl(8).\n";

struct options {
    const char *proxy_socket, *vrrp_socket;
    int json;
    int timeout_s;
};

static void print_usage(FILE *out)
{
    fputs(usage_text, out);
    for (const struct subcommand *c = subcommands; c->name; c++) {
        char use[96];
        snprintf(use, sizeof(use), "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
        fprintf(out, "  %s\n", use);
    }
    fputs("  help [COMMAND]\n", out);
    fputs(options_text, out);
}

static void print_command_help(const struct subcommand *c, FILE *out)
{
    fprintf(out, "Usage: tandemctl [OPTIONS] %s%s%s\n\n%s\n", c->name, c->args[0] ? " " : "",
            c->args, c->help);
}

static int usage_error(const struct subcommand *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const struct subcommand *c, const char *fmt, ...)
{
    va_list ap;
    fputs("tandemctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (c)
        fprintf(stderr, "Usage: tandemctl %s%s%s\n", c->name, c->args[0] ? " " : "", c->args);
    else
        fputs("Try \"tandemctl --help\".\n", stderr);
    return EXIT_USAGE;
}

/* ---- argument checks ---- */

static int check_server(char **argv)
{
    const char *slash = strchr(argv[0], '/');
    return slash && slash != argv[0] && slash[1] && !strchr(slash + 1, '/') ? 0 : -1;
}

static int check_state(char **argv)
{
    if (check_server(argv) < 0 || strcmp(argv[1], "state") != 0)
        return -1;
    return strcmp(argv[2], "ready") == 0 || strcmp(argv[2], "drain") == 0 ||
           strcmp(argv[2], "maint") == 0 ? 0 : -1;
}

static int check_weight(char **argv)
{
    const char *w = argv[1];
    if (check_server(argv) < 0 || !w[0] || strlen(w) > 3 || strspn(w, "0123456789") != strlen(w))
        return -1;
    return atoi(w) <= 256 ? 0 : -1;
}

/* Words travel blank-separated: one with a blank or a control byte would
 * change the command's meaning. */
static int word_ok(const char *w)
{
    if (!w[0])
        return 0;
    for (const unsigned char *p = (const unsigned char *)w; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* ---- finding the subcommand ---- */

/* Number of leading argv words that spell c->name, or 0. */
static int name_match(const struct subcommand *c, int argc, char **argv)
{
    char buf[64];
    int w = 0;
    snprintf(buf, sizeof(buf), "%s", c->name);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save), w++)
        if (w >= argc || strcmp(argv[w], tok) != 0)
            return 0;
    return w;
}

static const struct subcommand *find_subcommand(int argc, char **argv, int *used)
{
    for (const struct subcommand *c = subcommands; c->name; c++) {
        int n = name_match(c, argc, argv);
        if (n > 0) {
            *used = n;
            return c;
        }
    }
    return NULL;
}

static int cmd_help(int argc, char **argv)
{
    int used;
    if (argc == 0) {
        print_usage(stdout);
        return 0;
    }
    const struct subcommand *c = find_subcommand(argc, argv, &used);
    if (!c || used != argc)
        return usage_error(NULL, "no command \"%s\"", argv[0]);
    print_command_help(c, stdout);
    return 0;
}

/* ---- talking to the socket ---- */

static int connect_socket(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sun.sun_path)) {
        fprintf(stderr, "tandemctl: cannot connect to %s: path too long\n", path);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int e = errno;
        fprintf(stderr, "tandemctl: cannot connect to %s: %s%s\n", path, strerror(e),
                e == ENOENT || e == ECONNREFUSED ? " (is the daemon running, with its "
                                                   "status_socket set to this path?)"
                : e == EACCES ? " (needs root or the socket's group)" : "");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads up to len bytes before the deadline: >0 bytes, 0 at EOF, -1 on
 * error or timeout (said on stderr). */
static ssize_t read_some(int fd, char *buf, size_t len, long long deadline, const char *path,
                         int timeout_s)
{
    for (;;) {
        long long left = deadline - now_ms();
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            fprintf(stderr, "tandemctl: %s: no answer within %d s\n", path, timeout_s);
            return -1;
        }
        ssize_t n = read(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fprintf(stderr, "tandemctl: %s: %s\n", path, strerror(errno));
        return n;
    }
}

/* The answer's first bytes say whether it is an error ("error: ..." or
 * {"error":...}); the rest is copied to stdout as it arrives, so a long
 * answer is never held whole. Text errors go to stderr, JSON ones to
 * stdout for scripts. Returns the exit status. */
static int relay_answer(int fd, const char *path, const struct options *o)
{
    char buf[16384];
    size_t have = 0;
    long long deadline = now_ms() + (long long)o->timeout_s * 1000;
    ssize_t n = 1;
    while (have < 9 && n > 0) {          /* strlen("{\"error\":") */
        n = read_some(fd, buf + have, sizeof(buf) - have, deadline, path, o->timeout_s);
        if (n > 0)
            have += (size_t)n;
    }
    if (n < 0)
        return EXIT_NOSOCKET;
    if (have == 0) {
        fprintf(stderr, "tandemctl: %s closed the connection without an answer\n", path);
        return EXIT_NOSOCKET;
    }
    int text_error = have >= 7 && memcmp(buf, "error: ", 7) == 0;
    int rc = text_error || (o->json && have >= 9 && memcmp(buf, "{\"error\":", 9) == 0)
                 ? EXIT_FAILED : 0;
    FILE *out = text_error ? stderr : stdout;
    if (text_error)
        fputs("tandemctl: ", stderr);
    fwrite(buf + (text_error ? 7 : 0), 1, have - (text_error ? 7 : 0), out);
    while ((n = read_some(fd, buf, sizeof(buf), deadline, path, o->timeout_s)) > 0)
        fwrite(buf, 1, (size_t)n, out);
    fflush(out);
    return n < 0 ? EXIT_NOSOCKET : rc;
}

static int run_remote(const struct options *o, const struct subcommand *c, int argc,
                      char **argv)
{
    char line[MAX_LINE + 8];
    size_t n = (size_t)snprintf(line, sizeof(line), "%s", c->sends);
    for (int i = 0; i < argc && n < sizeof(line); i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " %s", argv[i]);
    if (n < sizeof(line) && o->json)
        n += (size_t)snprintf(line + n, sizeof(line) - n, " json");
    if (n >= MAX_LINE)
        return usage_error(c, "%s", "the command is too long");
    line[n++] = '\n';

    const char *path = c->to == TO_VRRP ? o->vrrp_socket : o->proxy_socket;
    int fd = connect_socket(path);
    if (fd < 0)
        return EXIT_NOSOCKET;
    int rc;
    if (send_all(fd, line, n) < 0) {
        fprintf(stderr, "tandemctl: %s: sending the command: %s\n", path, strerror(errno));
        rc = EXIT_NOSOCKET;
    } else {
        rc = relay_answer(fd, path, o);
    }
    close(fd);
    return rc;
}

/* "show" alone (or "show foo") is a command family: list its members. */
static int unknown_command(const char *word)
{
    size_t n = strlen(word);
    int family = 0;
    for (const struct subcommand *c = subcommands; c->name; c++)
        if (strncmp(c->name, word, n) == 0 && c->name[n] == ' ') {
            if (!family++)
                fprintf(stderr, "tandemctl: \"%s\" needs a subcommand:\n", word);
            fprintf(stderr, "  tandemctl %s%s%s\n", c->name, c->args[0] ? " " : "", c->args);
        }
    if (family)
        return EXIT_USAGE;
    return usage_error(NULL, "unknown command \"%s\"", word);
}

static int run_command(const struct options *o, int argc, char **argv)
{
    int used;
    if (strcmp(argv[0], "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    const struct subcommand *c = find_subcommand(argc, argv, &used);
    if (!c)
        return unknown_command(argv[0]);
    argc -= used;
    argv += used;
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_command_help(c, stdout);
            return 0;
        }
    if (argc < c->min_args || argc > c->max_args)
        return usage_error(c, "%s", argc < c->min_args ? "missing argument"
                                                       : "too many arguments");
    for (int i = 0; i < argc; i++)
        if (!word_ok(argv[i]))
            return usage_error(c, "argument \"%s\" is empty or has a blank or control "
                                  "character", argv[i]);
    if (c->check && c->check(argv) < 0)
        return usage_error(c, "%s", "invalid arguments");
    return run_remote(o, c, argc, argv);
}

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && v[0] ? v : dflt;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "vrrp-socket", required_argument, NULL, 'S' },
        { "json", no_argument, NULL, 'j' },
        { "timeout", required_argument, NULL, 't' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct options o = {
        .proxy_socket = env_or("TANDEM_PROXY_SOCKET", DEFAULT_PROXY_SOCKET),
        .vrrp_socket = env_or("TANDEM_VRRP_SOCKET", DEFAULT_VRRP_SOCKET),
        .timeout_s = DEFAULT_TIMEOUT_S,
    };
    int c;
    /* "+": options end at the command, so "set weight web/a 0 --help" and
     * arguments that start with "-" reach the command. */
    while ((c = getopt_long(argc, argv, "+s:S:jt:hV", opts, NULL)) != -1) {
        switch (c) {
        case 's': o.proxy_socket = optarg; break;
        case 'S': o.vrrp_socket = optarg; break;
        case 'j': o.json = 1; break;
        case 't':
            o.timeout_s = atoi(optarg);
            if (o.timeout_s <= 0 || o.timeout_s > 3600)
                return usage_error(NULL, "--timeout \"%s\": use 1 to 3600 seconds", optarg);
            break;
        case 'h': print_usage(stdout); return 0;
        case 'V': printf("tandemctl %s\n", PACKAGE_VERSION); return 0;
        default: print_usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        print_usage(stderr);
        return EXIT_USAGE;
    }
    return run_command(&o, argc - optind, argv + optind);
}
