/* sdnotify.c - thin wrapper over sd_notify(3) and sd_watchdog_enabled(3). */
#include "config.h"
#include "sdnotify.h"

#include <stdint.h>
#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

void sdn_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}

#ifdef HAVE_SYSTEMD
static void sdn_watchdog_ping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    sd_notify(0, "WATCHDOG=1");
}
#endif

struct event *sdn_watchdog_start(struct event_base *base)
{
#ifdef HAVE_SYSTEMD
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return NULL;
    struct event *ev = event_new(base, -1, EV_PERSIST, sdn_watchdog_ping, NULL);
    struct timeval tv = { (time_t)(usec / 2 / 1000000), (suseconds_t)(usec / 2 % 1000000) };
    if (ev && event_add(ev, &tv) < 0) {
        event_free(ev);
        return NULL;
    }
    return ev;
#else
    (void)base;
    return NULL;
#endif
}
