/* main.c - tandem-vrrp: command line, config check, real-time set-up,
 * signals (SIGHUP reload, SIGTERM/SIGINT clean stop, SIGCHLD reaping) and
 * the event loop. The instances, sockets and trackers live in their own
 * files (vrrp_agent.h). */
#include "config.h"
#include "vrrp_agent.h"
#include "conf_vrrp.h"
#include "sdnotify.h"

#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <syslog.h>
#include <unistd.h>

#define DEFAULT_CONFIG SYSCONFDIR "/tandem/tandem.conf"

#if defined(__SANITIZE_ADDRESS__)
#define VRRP_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VRRP_UNDER_ASAN 1
#endif
#endif

static const char usage_text[] =
    "Usage: tandem-vrrp [OPTIONS]\n"
    "The tandem VRRPv3 agent (RFC 5798): elects a MASTER per instance and\n"
    "moves the virtual IPs with netlink.\n"
    "\n"
    "  -c, --config FILE     configuration file (default " DEFAULT_CONFIG ")\n"
    "  -t, --test            check the vrrp section of the file, print every\n"
    "                        error as FILE:LINE: message, and exit (0 valid, 1 invalid)\n"
    "  -q, --quiet           with --test, print nothing when the file is valid\n"
    "  -l, --log-level LVL   error, warning, notice, info (default), debug\n"
    "  -h, --help            show this help\n"
    "  -V, --version         show the version\n"
    "\n"
    "Signals:\n"
    "  SIGHUP    reload: apply the difference; a VIP that stays configured is\n"
    "            never removed; removed instances resign (priority 0)\n"
    "  SIGTERM   clean stop: MASTER instances send priority 0 and remove\n"
    "            their VIPs, so the peer takes over at once\n"
    "  SIGINT    same as SIGTERM\n"
    "\n"
    "See tandem-vrrp(8) and tandem.conf(5).\n";

static struct conf_vrrp *vrrp_load(const char *path)
{
    struct conf_errors errs = { 0 };
    struct conf_vrrp *cfg = conf_load_vrrp(path, &errs);
    for (unsigned i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.msgs[i]);
    if (!cfg)
        fprintf(stderr, "%s: %u error%s, configuration is NOT valid\n", path, errs.n,
                errs.n == 1 ? "" : "s");
    conf_errors_free(&errs);
    return cfg;
}

static int vrrp_check_config(const char *path, int quiet)
{
    struct conf_vrrp *cfg = vrrp_load(path);
    if (!cfg)
        return 1;
    if (!quiet)
        printf("%s: vrrp configuration is valid (%u instance%s)\n", path, cfg->ninstances,
               cfg->ninstances == 1 ? "" : "s");
    conf_vrrp_free(cfg);
    return 0;
}

/* A CPU-starved agent misses adverts and the peer takes over for
 * nothing: run SCHED_RR (children back to normal) with memory locked. */
static void vrrp_realtime(const struct conf_vrrp *cfg)
{
    if (!cfg->sched_rr)
        return;
    struct sched_param sp = { .sched_priority = (int)cfg->rt_priority };
    if (sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp) < 0)
        log_warn("SCHED_RR priority %u not set: %s (needs CAP_SYS_NICE or an RLIMIT_RTPRIO); "
                 "a busy box may delay adverts", cfg->rt_priority, strerror(errno));
    else
        log_info("running SCHED_RR priority %u", cfg->rt_priority);
#ifdef VRRP_UNDER_ASAN
    log_notice("memory not locked: AddressSanitizer build");
#else
    if (mlockall(MCL_CURRENT | MCL_FUTURE) < 0)
        log_warn("mlockall: %s (needs CAP_IPC_LOCK or RLIMIT_MEMLOCK); pages may be "
                 "swapped out", strerror(errno));
#endif
}

struct vrrp_instance *vrrp_agent_find(struct vrrp_agent *a, const char *name)
{
    for (unsigned i = 0; i < a->ninst; i++)
        if (!a->inst[i]->removed && strcmp(a->inst[i]->conf->name, name) == 0)
            return a->inst[i];
    return NULL;
}

static int vrrp_agent_add(struct vrrp_agent *a, const struct conf_vrrp_instance *c)
{
    struct vrrp_instance **grown = realloc(a->inst, (a->ninst + 1) * sizeof(*grown));
    if (!grown)
        return -1;
    a->inst = grown;
    struct vrrp_instance *in = vrrp_instance_new(a, c);
    if (!in)
        return -1;
    a->inst[a->ninst++] = in;
    if (c->priority != VRRP_PRIO_OWNER)
        vrrp_vip_remove_stale(in);
    vrrp_instance_start(in);
    return 0;
}

/* ---- reload ---- */

static bool vrrp_same_router(const struct vrrp_agent *a, const struct conf_vrrp *ncfg,
                             const struct vrrp_instance *in, const struct conf_vrrp_instance *c)
{
    return c->vrid == in->conf->vrid && c->family == in->conf->family
           && strcmp(conf_vrrp_ifname(ncfg, c), in->ifname) == 0;
}

static bool vrrp_has_vip(const struct conf_vrrp_instance *c, const struct conf_vrrp_vip *v)
{
    for (unsigned i = 0; i < c->nvips; i++)
        if (c->vips[i].family == v->family && memcmp(c->vips[i].addr, v->addr, 16) == 0)
            return true;
    return false;
}

/* The VIPs of the old config that the new one drops go now; the others
 * stay where they are. */
static void vrrp_drop_old_vips(struct vrrp_instance *in, const struct conf_vrrp_instance *c)
{
    if (!in->holds_vips)
        return;
    for (unsigned i = 0; i < in->conf->nvips; i++)
        if (!vrrp_has_vip(c, &in->conf->vips[i]))
            vrrp_vip_del_one(in->ifindex, &in->conf->vips[i]);
}

static void vrrp_agent_remove(struct vrrp_agent *a, unsigned i)
{
    struct vrrp_instance *in = a->inst[i];
    log_notice("instance %s: removed from the configuration, resigning", in->conf->name);
    in->removed = true;
    vrrp_instance_stop(in);
    vrrp_instance_free(in);
    a->inst[i] = a->inst[--a->ninst];
}

static void vrrp_reload(struct vrrp_agent *a)
{
    log_notice("reloading %s", a->config_path);
    sdn_notify("RELOADING=1");
    struct conf_vrrp *ncfg = vrrp_load(a->config_path);
    if (!ncfg) {
        log_err("reload failed: keeping the running configuration");
        sdn_notify("READY=1");
        return;
    }
    for (unsigned i = a->ninst; i-- > 0;) {
        const struct conf_vrrp_instance *c = conf_vrrp_find(ncfg, a->inst[i]->conf->name);
        if (!c || !vrrp_same_router(a, ncfg, a->inst[i], c))
            vrrp_agent_remove(a, i);
    }
    struct conf_vrrp *old = a->cfg;
    a->cfg = ncfg;
    vrrp_track_restart_proxy(a);
    for (unsigned i = 0; i < ncfg->ninstances; i++) {
        const struct conf_vrrp_instance *c = &ncfg->instances[i];
        struct vrrp_instance *in = vrrp_agent_find(a, c->name);
        if (!in) {
            if (vrrp_agent_add(a, c) < 0)
                log_err("instance %s: not started", c->name);
            continue;
        }
        vrrp_drop_old_vips(in, c);
        vrrp_instance_rebind(in, c);
    }
    if (strcmp(old->status_socket, ncfg->status_socket) != 0)
        log_warn("status_socket changed: the new path takes effect at restart");
    conf_vrrp_free(old);
    log_notice("reload done: %u instance%s", a->ninst, a->ninst == 1 ? "" : "s");
    sdn_notify("READY=1");
}

/* ---- signals ---- */

static void vrrp_stop(struct vrrp_agent *a)
{
    if (a->stopping)
        return;
    a->stopping = true;
    sdn_notify("STOPPING=1");
    log_notice("stopping: resigning MASTER instances and removing VIPs");
    for (unsigned i = 0; i < a->ninst; i++)
        vrrp_instance_stop(a->inst[i]);
    event_base_loopexit(a->base, NULL);
}

static void vrrp_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct vrrp_agent *a = arg;
    switch (sig) {
    case SIGHUP: vrrp_reload(a); break;
    case SIGCHLD: vrrp_exec_reap(); break;
    default: vrrp_stop(a); break;
    }
}

static int vrrp_signals(struct vrrp_agent *a)
{
    static const int sigs[4] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD };
    signal(SIGPIPE, SIG_IGN);
    for (unsigned i = 0; i < 4; i++) {
        a->sig_ev[i] = evsignal_new(a->base, sigs[i], vrrp_signal_cb, a);
        if (!a->sig_ev[i] || evsignal_add(a->sig_ev[i], NULL) < 0)
            return -1;
    }
    return 0;
}

static struct event_base *vrrp_event_base(void)
{
    struct event_config *ec = event_config_new();
    if (!ec)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);   /* CLOCK_MONOTONIC, not _COARSE */
    struct event_base *base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base;
}

static int vrrp_run(struct vrrp_agent *a)
{
    if (vrrp_vip_init() < 0 || !(a->base = vrrp_event_base()) || vrrp_signals(a) < 0) {
        log_err("cannot set up netlink, the event loop or signals");
        return 1;
    }
    vrrp_realtime(a->cfg);
    if (vrrp_track_start(a) < 0 || vrrp_ctl_start(a) < 0)
        return 1;
    for (unsigned i = 0; i < a->cfg->ninstances; i++) {
        if (vrrp_agent_add(a, &a->cfg->instances[i]) < 0) {
            log_err("instance %s: cannot start", a->cfg->instances[i].name);
            vrrp_stop(a);
            return 1;
        }
    }
    log_notice("started: %u instance%s", a->ninst, a->ninst == 1 ? "" : "s");
    /* Every instance has entered its first state (BACKUP, MASTER or FAULT). */
    sdn_notify("READY=1");
    struct event *wd_ev = sdn_watchdog_start(a->base);
    event_base_dispatch(a->base);
    if (wd_ev)
        event_free(wd_ev);
    return 0;
}

static void vrrp_cleanup(struct vrrp_agent *a)
{
    for (unsigned i = 0; i < a->ninst; i++)
        vrrp_instance_free(a->inst[i]);
    free(a->inst);
    free(a->socks);
    vrrp_ctl_stop(a);
    vrrp_track_stop(a);
    for (unsigned i = 0; i < 4; i++)
        if (a->sig_ev[i])
            event_free(a->sig_ev[i]);
    if (a->base)
        event_base_free(a->base);
    vrrp_vip_done();
    conf_vrrp_free(a->cfg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' }, { "test", no_argument, NULL, 't' },
        { "quiet", no_argument, NULL, 'q' }, { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    const char *path = DEFAULT_CONFIG;
    int test = 0, quiet = 0, level = LOG_LVL_INFO, c;
    while ((c = getopt_long(argc, argv, "c:tql:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 't': test = 1; break;
        case 'q': quiet = 1; break;
        case 'l':
            if ((level = log_level_from_name(optarg)) < 0) {
                fprintf(stderr, "tandem-vrrp: unknown log level \"%s\"\n", optarg);
                return 2;
            }
            break;
        case 'h': fputs(usage_text, stdout); return 0;
        case 'V': printf("tandem-vrrp %s\n", PACKAGE_VERSION); return 0;
        default: fputs(usage_text, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tandem-vrrp: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (test)
        return vrrp_check_config(path, quiet);
    log_init("tandem-vrrp", LOG_TO_STDERR, (enum log_level)level, LOG_DAEMON);
    struct vrrp_agent a = { .config_path = path, .proxy_fd = -1, .link_fd = -1 };
    if (!(a.cfg = vrrp_load(path)))
        return 1;
    int rc = vrrp_run(&a);
    vrrp_cleanup(&a);
    return rc;
}
