/* sdnotify.h - systemd readiness and watchdog (Type=notify units). Without
 * libsystemd at build time, or outside systemd, every call does nothing. */
#ifndef TANDEM_SDNOTIFY_H
#define TANDEM_SDNOTIFY_H

#include <event2/event.h>

/* Sends a state string: "READY=1", "RELOADING=1", "STOPPING=1"... */
void sdn_notify(const char *state);

/* When the unit sets WatchdogSec=, arms a timer on base that pings the
 * watchdog at half the interval, so a hung event loop gets the daemon
 * restarted. Returns the timer (free it with event_free) or NULL. */
struct event *sdn_watchdog_start(struct event_base *base);

#endif
