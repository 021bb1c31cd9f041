/* main.c - tandem-proxy: command line, config check, start-up, signals
 * (SIGHUP reload, SIGTERM/SIGINT graceful stop), systemd notification. */
#include "config.h"
#include "accesslog.h"
#include "clock.h"
#include "ctl.h"
#include "ctl_server.h"
#include "conf.h"
#include "conf_vrrp.h"
#include "health.h"
#include "log.h"
#include "runtime.h"
#include "sdnotify.h"
#include "peer_conns.h"
#include "stats_http.h"
#include "sync.h"
#include "sync_tls.h"
#include "tables.h"
#include "tls.h"
#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define DEFAULT_CONFIG SYSCONFDIR "/tandem/tandem.conf"
#define DRAIN_POLL_MS 50

static const char usage_text[] =
    "Usage: tandem-proxy [OPTIONS]\n"
    "The tandem load-balancing proxy (L7 HTTP, L4 TCP and UDP).\n"
    "\n"
    "  -c, --config FILE     configuration file (default " DEFAULT_CONFIG ")\n"
    "  -t, --test            check the configuration, print every error as\n"
    "                        FILE:LINE: message, and exit (0 valid, 1 invalid)\n"
    "  -q, --quiet           with --test, print nothing when the file is valid\n"
    "  -l, --log-level LVL   override the configured level:\n"
    "                        error, warning, notice, info, debug\n"
    "  -h, --help            show this help\n"
    "  -V, --version         show the version\n"
    "\n"
    "Signals:\n"
    "  SIGHUP    reload: re-read and check the configuration; on any error keep\n"
    "            running the old one. Open connections are kept; listening\n"
    "            sockets of unchanged binds are kept, so nothing is dropped.\n"
    "  SIGTERM   graceful stop: stop accepting, let open connections finish for\n"
    "            up to global.grace (default 10s), then close the rest.\n"
    "  SIGINT    same as SIGTERM.\n"
    "\n"
    "See tandem-proxy(8) and tandem.conf(5).\n";

struct proxy_main {
    const char *config_path;
    int log_level_override;          /* -1: use the config's */
    struct runtime *rt;              /* the running runtime (main's reference) */
    struct event_base *base;
    struct event *drain_ev;
    uint64_t drain_deadline_ms;
    int draining;
    struct stats_env env;            /* for the status socket and stats listener */
    struct ctl_server *ctl;
    struct stats_http *http;
    struct sync *sync;               /* the peer sync channel, NULL without one */
    struct peer_conns *peer_conns;
};

static void print_conf_errors(const struct conf_errors *errs, FILE *out)
{
    for (unsigned i = 0; i < errs->n; i++)
        fprintf(out, "%s\n", errs->msgs[i]);
}

/* Loads the file and builds its TLS contexts (a certificate that cannot
 * be used is an error of the file like any other). */
static struct tandem_config *load_config(const char *path, struct conf_errors *errs)
{
    struct tandem_config *cfg = conf_load_proxy(path, errs);
    if (cfg && tls_config_build(cfg, errs) < 0) {
        conf_free(cfg);
        return NULL;
    }
    if (cfg && cfg->sync.enabled) {     /* the key or certificates must be usable */
        struct sync_tls t;
        char err[512];
        if (sync_tls_init(&t, &cfg->sync, err, sizeof(err)) < 0) {
            conf_errors_add(errs, path, cfg->sync.line, "%s", err);
            tls_config_release(cfg);
            conf_free(cfg);
            return NULL;
        }
        sync_tls_free(&t);
    }
    return cfg;
}

static int check_config(const char *path, int quiet)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = load_config(path, &errs);
    if (!cfg) {
        print_conf_errors(&errs, stderr);
        fprintf(stderr, "%s: %u error%s, configuration is NOT valid\n", path, errs.n,
                errs.n == 1 ? "" : "s");
        conf_errors_free(&errs);
        return 1;
    }
    if (!quiet)
        printf("%s: configuration is valid (%u frontend%s, %u backend%s)\n", path,
               cfg->nfrontends, cfg->nfrontends == 1 ? "" : "s", cfg->nbackends,
               cfg->nbackends == 1 ? "" : "s");
    tls_config_release(cfg);
    conf_free(cfg);
    conf_errors_free(&errs);
    return 0;
}

static void apply_logging(const struct proxy_main *pm, const struct tandem_config *cfg,
                          int first)
{
    int level = pm->log_level_override >= 0 ? pm->log_level_override : cfg->global.log_level;
    if (first)
        log_init("tandem-proxy",
                 cfg->global.log_target == LOGDEST_SYSLOG ? LOG_TO_SYSLOG : LOG_TO_STDERR,
                 (enum log_level)level, cfg->global.log_facility);
    else
        log_set_level((enum log_level)level);
    if (accesslog_open(cfg->global.access_log) < 0)
        log_err("access_log \"%s\": %s", cfg->global.access_log, strerror(errno));
}

static unsigned thread_count(const struct tandem_config *cfg)
{
    if (cfg->global.threads)
        return cfg->global.threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* Raises the open-files limit to its hard maximum: every connection costs
 * two descriptors (client and server), splice pipes two more. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            log_warn("setrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    }
}

/* The VIPs of the file's VRRP instances, for the sync channel's
 * split-brain check (none if the file has no vrrp section: tandem-vrrp
 * may run from another file). */
static struct sync_vip *vrrp_vips(const char *path, unsigned *n)
{
    struct conf_errors errs = { 0 };
    struct conf_vrrp *v = conf_load_vrrp(path, &errs);
    conf_errors_free(&errs);
    *n = 0;
    if (!v)
        return NULL;
    unsigned total = 0;
    for (unsigned i = 0; i < v->ninstances; i++)
        total += v->instances[i].nvips;
    struct sync_vip *out = total ? calloc(total, sizeof(*out)) : NULL;
    for (unsigned i = 0; out && i < v->ninstances; i++) {
        const struct conf_vrrp_instance *in = &v->instances[i];
        for (unsigned k = 0; k < in->nvips; k++) {
            struct sync_vip *sv = &out[(*n)++];
            snprintf(sv->instance, sizeof(sv->instance), "%s", in->name);
            if (in->vips[k].family == AF_INET6) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sv->addr;
                a->sin6_family = AF_INET6;
                memcpy(&a->sin6_addr, in->vips[k].addr, 16);
            } else {
                struct sockaddr_in *a = (struct sockaddr_in *)&sv->addr;
                a->sin_family = AF_INET;
                memcpy(&a->sin_addr, in->vips[k].addr, 4);
            }
        }
    }
    conf_vrrp_free(v);
    return out;
}

static int sync_begin(struct proxy_main *pm, const struct tandem_config *cfg)
{
    if (!cfg->sync.enabled)
        return 0;
    pm->peer_conns = peer_conns_new(cfg->sync.max_peer_conns, cfg->sync.conn_grace_ms);
    if (!pm->peer_conns) {
        log_err("sync: out of memory");
        return -1;
    }
    tables_set_peer_conns(pm->peer_conns);
    unsigned nvips;
    struct sync_vip *vips = vrrp_vips(pm->config_path, &nvips);
    struct sync_opts o = { .conf = &cfg->sync, .node = cfg->node_name,
                           .sticky = tables_sticky(), .conns = tables_conns(),
                           .peer_conns = pm->peer_conns, .vips = vips, .nvips = nvips };
    char err[512];
    pm->sync = sync_start(&o, pm->rt, err, sizeof(err));
    free(vips);
    if (!pm->sync) {
        log_err("%s", err);
        return -1;
    }
    pm->env.sync = pm->sync;
    return 0;
}

/* Parts of the config that only a restart applies: say so at reload. */
static void warn_restart_only(const struct tandem_config *old, const struct tandem_config *cfg)
{
    if (thread_count(cfg) != thread_count(old))
        log_warn("reload: a new thread count takes effect at the next restart");
    const char *a = old->global.status_socket, *b = cfg->global.status_socket;
    if ((a || b) && (!a || !b || strcmp(a, b) != 0))
        log_warn("reload: a new status_socket takes effect at the next restart");
    if (old->stats.enabled != cfg->stats.enabled ||
        (cfg->stats.enabled && !addr_equal((const struct sockaddr *)&old->stats.bind.ss,
                                           (const struct sockaddr *)&cfg->stats.bind.ss)))
        log_warn("reload: a new stats listener address takes effect at the next restart");
    if (old->sync.enabled != cfg->sync.enabled ||
        (cfg->sync.enabled &&
         (!addr_equal((const struct sockaddr *)&old->sync.listen.ss,
                      (const struct sockaddr *)&cfg->sync.listen.ss) ||
          !addr_equal((const struct sockaddr *)&old->sync.peer.ss,
                      (const struct sockaddr *)&cfg->sync.peer.ss))))
        log_warn("reload: a new sync section takes effect at the next restart");
}

/* Reloads the configuration, for SIGHUP and the status socket's "reload"
 * alike: the new file is checked first and the running configuration kept
 * on any error. Returns 0, or -1 with the reason in msg (if msg). */
static int reload(struct proxy_main *pm, const char *why, char *msg, size_t msglen)
{
    struct conf_errors errs = { 0 };
    log_notice("%s: reloading %s", why, pm->config_path);
    sdn_notify("RELOADING=1");
    struct tandem_config *cfg = load_config(pm->config_path, &errs);
    if (!cfg) {
        for (unsigned i = 0; i < errs.n; i++)
            log_err("reload: %s", errs.msgs[i]);
        log_err("reload failed (%u error%s): still running the previous configuration",
                errs.n, errs.n == 1 ? "" : "s");
        if (msg)
            snprintf(msg, msglen, "%s%s", errs.n ? errs.msgs[0] : "invalid configuration",
                     errs.n > 1 ? " (and more errors: see the log)" : "");
        conf_errors_free(&errs);
        pm->env.reloads_failed++;
        sdn_notify("READY=1");
        return -1;
    }
    conf_errors_free(&errs);
    warn_restart_only(pm->rt->cfg, cfg);
    struct runtime *rt = runtime_build(cfg, pm->rt);
    if (!rt || workers_reload(rt) < 0) {
        log_err("reload failed: still running the previous configuration");
        if (msg)
            snprintf(msg, msglen, "the new configuration could not be applied (see the log)");
        runtime_unref(rt);
        pm->env.reloads_failed++;
        sdn_notify("READY=1");
        return -1;
    }
    apply_logging(pm, cfg, 0);
    runtime_unref(pm->rt);
    pm->rt = rt;
    health_reload(rt);
    tables_sticky_fit(rt);             /* the bound holds for entries from the peer too */
    sync_set_runtime(pm->sync, rt);
    log_notice("reload done: %u frontends, %u backends (generation %llu)", cfg->nfrontends,
               cfg->nbackends, (unsigned long long)rt->generation);
    sdn_notify("READY=1");
    return 0;
}

/* The status socket's "reload". */
static int ctl_reload(void *arg, char *msg, size_t msglen)
{
    struct proxy_main *pm = arg;
    if (pm->draining) {
        snprintf(msg, msglen, "shutting down: reload refused");
        return -1;
    }
    return reload(pm, "status socket", msg, msglen);
}

static void on_drain_poll(evutil_socket_t fd, short what, void *arg)
{
    struct proxy_main *pm = arg;
    (void)fd; (void)what;
    unsigned left = workers_sessions();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (left == 0) {
        log_notice("all connections closed, exiting");
        event_base_loopbreak(pm->base);
        return;
    }
    if (now >= pm->drain_deadline_ms) {
        log_notice("grace time over: closing %u remaining connection%s", left,
                   left == 1 ? "" : "s");
        workers_abort();
        pm->drain_deadline_ms = UINT64_MAX;   /* aborts are asynchronous; wait for them */
    }
    struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
    event_add(pm->drain_ev, &tv);
}

static void begin_drain(struct proxy_main *pm, int sig)
{
    if (pm->draining) {
        log_notice("%s again: closing all connections now", strsignal(sig));
        workers_abort();
        return;
    }
    pm->draining = 1;
    sdn_notify("STOPPING=1");
    uint64_t grace = pm->rt->cfg->global.grace_ms;
    log_notice("%s: no longer accepting; draining %u connection%s for up to %llu ms",
               strsignal(sig), workers_sessions(), workers_sessions() == 1 ? "" : "s",
               (unsigned long long)grace);
    workers_drain();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    pm->drain_deadline_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + grace;
    pm->drain_ev = evtimer_new(pm->base, on_drain_poll, pm);
    struct timeval tv = { 0, DRAIN_POLL_MS * 1000 };
    event_add(pm->drain_ev, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct proxy_main *pm = arg;
    (void)what;
    if (sig == SIGHUP && !pm->draining)
        reload(pm, "SIGHUP", NULL, 0);
    else if (sig == SIGTERM || sig == SIGINT)
        begin_drain(pm, (int)sig);
}

static int run(struct proxy_main *pm, struct tandem_config *cfg)
{
    static const int sigs[] = { SIGHUP, SIGTERM, SIGINT };
    struct event *sev[3] = { NULL };
    struct event *wd_ev = NULL;
    sigset_t block, old;
    int rc = 1;

    apply_logging(pm, cfg, 1);
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    pm->rt = runtime_build(cfg, NULL);
    if (!pm->rt)
        return 1;
    /* Sized now, not at the first sticky request: a backup box fills its
     * table from the peer before it serves anyone. */
    tables_sticky_fit(pm->rt);
    pm->env = (struct stats_env){ .rt = &pm->rt, .config_path = pm->config_path,
                                  .threads = thread_count(cfg),
                                  .start_wall_ms = clock_wall_ms(),
                                  .start_mono_ms = clock_mono_ms(), .reload = ctl_reload,
                                  .reload_arg = pm };

    /* Workers inherit a mask that blocks our signals: only main handles them. */
    sigemptyset(&block);
    for (unsigned i = 0; i < 3; i++)
        sigaddset(&block, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    unsigned nthreads = thread_count(cfg);
    int started = workers_start(pm->rt, nthreads) == 0 && health_start(pm->rt) == 0 &&
                  sync_begin(pm, cfg) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started) {
        log_err("start-up failed");
        goto out;
    }

    pm->base = event_base_new();
    if (!pm->base)
        goto out;
    for (unsigned i = 0; i < 3; i++) {
        sev[i] = evsignal_new(pm->base, sigs[i], on_signal, pm);
        event_add(sev[i], NULL);
    }
    /* Both on the main thread's base, which owns pm->rt: a reload never
     * swaps the runtime under a command or a /metrics scrape. */
    if (proxy_ctl_start(pm->base, cfg, &pm->env, &pm->ctl) < 0 ||
        stats_http_start(pm->base, cfg, &pm->env, &pm->http) < 0) {
        log_err("start-up failed");
        goto out;
    }
    wd_ev = sdn_watchdog_start(pm->base);
    log_notice("tandem-proxy %s started: %u frontend%s, %u backend%s, %u worker thread%s",
               PACKAGE_VERSION, cfg->nfrontends, cfg->nfrontends == 1 ? "" : "s",
               cfg->nbackends, cfg->nbackends == 1 ? "" : "s", nthreads,
               nthreads == 1 ? "" : "s");
    sdn_notify("READY=1");
    event_base_dispatch(pm->base);
    rc = 0;
out:
    if (wd_ev)
        event_free(wd_ev);
    proxy_ctl_stop(pm->ctl);
    stats_http_stop(pm->http);
    health_stop();
    workers_stop();
    sync_stop(pm->sync);
    tables_set_peer_conns(NULL);
    if (pm->peer_conns)
        peer_conns_free(pm->peer_conns);
    for (unsigned i = 0; i < 3; i++)
        if (sev[i])
            event_free(sev[i]);
    if (pm->drain_ev)
        event_free(pm->drain_ev);
    if (pm->base)
        event_base_free(pm->base);
    runtime_unref(pm->rt);
    accesslog_close();
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "test", no_argument, NULL, 't' },
        { "quiet", no_argument, NULL, 'q' },        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct proxy_main pm = { .config_path = DEFAULT_CONFIG, .log_level_override = -1 };
    int test = 0, quiet = 0, c;

    while ((c = getopt_long(argc, argv, "c:tql:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': pm.config_path = optarg; break;
        case 't': test = 1; break;
        case 'q': quiet = 1; break;
        case 'l':
            pm.log_level_override = log_level_from_name(optarg);
            if (pm.log_level_override < 0) {
                fprintf(stderr, "tandem-proxy: unknown log level \"%s\" "
                                "(error, warning, notice, info, debug)\n", optarg);
                return 2;
            }
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("tandem-proxy %s\n", PACKAGE_VERSION); return 0;
        default: fputs(usage_text, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tandem-proxy: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (test)
        return check_config(pm.config_path, quiet);

    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = load_config(pm.config_path, &errs);
    if (!cfg) {
        print_conf_errors(&errs, stderr);
        fprintf(stderr, "tandem-proxy: %s is not valid, not starting\n", pm.config_path);
        conf_errors_free(&errs);
        return 1;
    }
    conf_errors_free(&errs);
    return run(&pm, cfg);
}
