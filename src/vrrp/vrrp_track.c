/* vrrp_track.c - tracked objects: the local tandem-proxy (its status
 * socket must answer "ping" with "pong" within track_proxy_timeout; any
 * other line, such as "syncing ..." while a starting proxy takes its peer's
 * tables, means alive but not ready),
 * network interfaces (rtnetlink link events, plus a slow periodic check)
 * and check scripts (run with a timeout, never waited for). Any change
 * re-evaluates every instance (vrrp_instance_track_update). */
#include "config.h"
#include "vrrp_agent.h"
#include "clock.h"

#include <errno.h>
#include <event2/event.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define VRRP_PROXY_FALL 2          /* failed pings in a row before it counts as dead */
#define VRRP_LINK_POLL_MS 1000     /* safety net behind the netlink events */

static void vrrp_track_changed(struct vrrp_agent *a)
{
    for (unsigned i = 0; i < a->ninst; i++)
        if (!a->inst[i]->removed)
            vrrp_instance_track_update(a->inst[i]);
}

static struct timeval vrrp_tv(uint64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
    return tv;
}

/* ---- interfaces ---- */

bool vrrp_track_link_up(const char *ifname)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return true;    /* cannot tell: do not invent a fault */
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    close(fd);
    return rc == 0 && (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

static void vrrp_link_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vrrp_agent *a = arg;
    char buf[8192];
    for (int i = 0; i < 64 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0; i++)
        ;   /* the content does not matter: every instance is re-checked */
    vrrp_track_changed(a);
}

static void vrrp_link_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    vrrp_track_changed(arg);
}

static int vrrp_link_watch(struct vrrp_agent *a)
{
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
    a->link_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (a->link_fd < 0 || bind(a->link_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        log_warn("link events: %s; checking interfaces every %d ms only", strerror(errno),
                 VRRP_LINK_POLL_MS);
    } else {
        a->link_ev = event_new(a->base, a->link_fd, EV_READ | EV_PERSIST, vrrp_link_cb, a);
        event_add(a->link_ev, NULL);
    }
    struct timeval tv = vrrp_tv(VRRP_LINK_POLL_MS);
    a->link_timer = event_new(a->base, -1, EV_PERSIST, vrrp_link_poll_cb, a);
    event_add(a->link_timer, &tv);
    return 0;
}

/* ---- the proxy ---- */

static void vrrp_proxy_result(struct vrrp_agent *a, bool ok, const char *why)
{
    if (a->proxy_fd >= 0) {
        event_del(a->proxy_io);
        close(a->proxy_fd);
        a->proxy_fd = -1;
    }
    bool was = a->proxy_ok;
    a->proxy_fails = ok ? 0 : a->proxy_fails + 1;
    if (ok)
        a->proxy_ok = true;
    else if (a->proxy_fails >= VRRP_PROXY_FALL)
        a->proxy_ok = false;
    if (was != a->proxy_ok) {
        if (ok)
            log_notice("tracked proxy %s answers", a->cfg->track_proxy_socket);
        else
            log_warn("tracked proxy %s: %s", a->cfg->track_proxy_socket, why);
        vrrp_track_changed(a);
    }
}

static void vrrp_proxy_io_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vrrp_agent *a = arg;
    if (what & EV_TIMEOUT) {
        vrrp_proxy_result(a, false, "no answer in time");
        return;
    }
    size_t room = sizeof(a->proxy_buf) - 1 - a->proxy_len;
    ssize_t n = recv(fd, a->proxy_buf + a->proxy_len, room, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        a->proxy_len += (size_t)n;
        a->proxy_buf[a->proxy_len] = '\0';
        char *nl;
        if (strstr(a->proxy_buf, "pong")) {
            vrrp_proxy_result(a, true, NULL);
        } else if ((nl = strchr(a->proxy_buf, '\n')) != NULL) {
            /* Alive but not ready, e.g. "syncing: ..." while the proxy
             * takes the peer's tables: not healthy yet, with its reason. */
            *nl = '\0';
            vrrp_proxy_result(a, false, a->proxy_buf);
            /* It will be ready soon: ask again in 100 ms rather than at
             * the next interval, so the box does not sit in FAULT for up
             * to track_proxy_interval after its proxy is ready. */
            struct timeval tv = { 0, 100000 };
            if (a->proxy_soon && a->cfg->track_proxy_interval_ms > 100)
                evtimer_add(a->proxy_soon, &tv);
        } else if (a->proxy_len + 1 >= sizeof(a->proxy_buf)) {
            vrrp_proxy_result(a, false, "unexpected answer");
        }
        return;
    }
    vrrp_proxy_result(a, false, n == 0 ? "closed without pong" : strerror(errno));
}

/* One check: connect, "ping\n", wait for "pong" (a UNIX connect does not
 * block; the answer is waited for by the event loop). */
static void vrrp_proxy_check(struct vrrp_agent *a)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->cfg->track_proxy_socket);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        vrrp_proxy_result(a, false, strerror(errno));
        return;
    }
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0
        || send(fd, "ping\n", 5, MSG_NOSIGNAL) != 5) {
        int err = errno;
        close(fd);
        vrrp_proxy_result(a, false, strerror(err));
        return;
    }
    a->proxy_fd = fd;
    a->proxy_len = 0;
    a->proxy_sent_ms = clock_mono_ms();
    event_assign(a->proxy_io, a->base, fd, EV_READ | EV_PERSIST, vrrp_proxy_io_cb, a);
    struct timeval tv = vrrp_tv(a->cfg->track_proxy_timeout_ms);
    event_add(a->proxy_io, &tv);
}

static void vrrp_proxy_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vrrp_agent *a = arg;
    if (a->proxy_fd < 0)
        vrrp_proxy_check(a);
}

static bool vrrp_any_tracks_proxy(const struct vrrp_agent *a)
{
    for (unsigned i = 0; i < a->cfg->ninstances; i++)
        if (a->cfg->instances[i].track_proxy)
            return true;
    return false;
}

int vrrp_track_start(struct vrrp_agent *a)
{
    a->proxy_fd = -1;
    a->link_fd = -1;
    vrrp_link_watch(a);
    a->proxy_io = event_new(a->base, -1, 0, vrrp_proxy_io_cb, a);
    a->proxy_timer = event_new(a->base, -1, EV_PERSIST, vrrp_proxy_timer_cb, a);
    a->proxy_soon = evtimer_new(a->base, vrrp_proxy_timer_cb, a);
    if (!a->proxy_io || !a->proxy_timer || !a->proxy_soon)
        return -1;
    if (vrrp_any_tracks_proxy(a)) {
        struct timeval tv = vrrp_tv(a->cfg->track_proxy_interval_ms);
        event_add(a->proxy_timer, &tv);
        vrrp_proxy_check(a);
    }
    return 0;
}

/* Reload: the proxy check follows the new config. When tracking starts
 * with this reload the proxy gets the benefit of the doubt (a MASTER must
 * not flap to FAULT while the first answer is on its way), but its first
 * failure counts at once. */
void vrrp_track_restart_proxy(struct vrrp_agent *a)
{
    bool was_running = evtimer_pending(a->proxy_timer, NULL);
    event_del(a->proxy_timer);
    event_del(a->proxy_soon);
    if (!vrrp_any_tracks_proxy(a))
        return;
    struct timeval tv = vrrp_tv(a->cfg->track_proxy_interval_ms);
    event_add(a->proxy_timer, &tv);
    if (was_running)
        return;
    a->proxy_ok = true;
    a->proxy_fails = VRRP_PROXY_FALL - 1;
    if (a->proxy_fd < 0)
        vrrp_proxy_check(a);
}

void vrrp_track_stop(struct vrrp_agent *a)
{
    if (a->proxy_fd >= 0)
        close(a->proxy_fd);
    a->proxy_fd = -1;
    if (a->proxy_io)
        event_free(a->proxy_io);
    if (a->proxy_timer)
        event_free(a->proxy_timer);
    if (a->proxy_soon)
        event_free(a->proxy_soon);
    if (a->link_ev)
        event_free(a->link_ev);
    if (a->link_timer)
        event_free(a->link_timer);
    if (a->link_fd >= 0)
        close(a->link_fd);
    a->proxy_io = a->proxy_timer = a->link_ev = a->link_timer = NULL;
}

/* ---- check scripts ---- */

static void vrrp_script_arm(struct vrrp_track_script_state *s, uint64_t ms)
{
    struct timeval tv = vrrp_tv(ms);
    evtimer_add(s->timer, &tv);
}

static void vrrp_script_set(struct vrrp_track_script_state *s, bool failed)
{
    bool changed = !s->known || failed != s->failed;
    s->failed = failed;
    s->known = true;
    if (!changed)
        return;
    log_notice("instance %s: check %s %s", s->inst->conf->name, s->conf->path,
               failed ? "failed" : "succeeded");
    vrrp_instance_track_update(s->inst);
}

void vrrp_track_script_done(struct vrrp_track_script_state *s, int status)
{
    uint64_t took = clock_mono_ms() - s->started_ms;
    s->pid = 0;
    vrrp_script_set(s, !(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    vrrp_script_arm(s, took < s->conf->interval_ms ? s->conf->interval_ms - took : 0);
}

static void vrrp_script_done_cb(void *arg, int status)
{
    vrrp_track_script_done(arg, status);
}

/* Fires to start a check, or when a running check is out of time. */
static void vrrp_script_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct vrrp_track_script_state *s = arg;
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        vrrp_exec_forget(s->pid);
        s->pid = 0;
        log_warn("instance %s: check %s timed out", s->inst->conf->name, s->conf->path);
        vrrp_script_set(s, true);
        vrrp_script_arm(s, s->conf->interval_ms - s->conf->timeout_ms);
        return;
    }
    const char *argv[] = { s->conf->path, s->inst->conf->name, NULL };
    s->started_ms = clock_mono_ms();
    s->pid = vrrp_exec(argv, vrrp_script_done_cb, s);
    if (s->pid < 0) {
        s->pid = 0;
        vrrp_script_set(s, true);
        vrrp_script_arm(s, s->conf->interval_ms);
        return;
    }
    vrrp_script_arm(s, s->conf->timeout_ms);
}

void vrrp_track_scripts_start(struct vrrp_instance *in)
{
    unsigned n = in->conf->ntrack_scripts;
    if (n == 0 || in->scripts)
        return;
    in->scripts = calloc(n, sizeof(*in->scripts));
    if (!in->scripts)
        return;
    for (unsigned i = 0; i < n; i++) {
        struct vrrp_track_script_state *s = &in->scripts[i];
        s->conf = &in->conf->track_scripts[i];
        s->inst = in;
        s->timer = evtimer_new(in->agent->base, vrrp_script_timer_cb, s);
        if (s->timer)
            vrrp_script_arm(s, 0);
    }
}

void vrrp_track_scripts_stop(struct vrrp_instance *in)
{
    if (!in->scripts)
        return;
    for (unsigned i = 0; i < in->conf->ntrack_scripts; i++) {
        struct vrrp_track_script_state *s = &in->scripts[i];
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            vrrp_exec_forget(s->pid);
        }
        if (s->timer)
            event_free(s->timer);
    }
    free(in->scripts);
    in->scripts = NULL;
}
