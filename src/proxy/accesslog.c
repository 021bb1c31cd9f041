/* accesslog.c - HAProxy-style access log lines:
 *   client:port [date] frontend backend/server Tq/Tw/Tc/Tr/Tt status bytes_in bytes_out term "METHOD path"
 * Each line is formatted on the caller's stack and written with one write(2). */
#include "config.h"
#include "accesslog.h"
#include "addr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum { AL_OFF = 0, AL_FD, AL_SYSLOG };
static _Atomic int al_kind = AL_OFF;
static _Atomic int al_fd = -1;

int accesslog_open(const char *dest)
{
    int old = atomic_load(&al_fd);
    int kind = AL_OFF, fd = -1;
    if (!dest) {
        kind = AL_OFF;
    } else if (strcmp(dest, "stderr") == 0) {
        kind = AL_FD;
        fd = STDERR_FILENO;
    } else if (strcmp(dest, "syslog") == 0) {
        kind = AL_SYSLOG;
    } else {
        fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0)
            return -1;
        kind = AL_FD;
    }
    atomic_store(&al_fd, fd);
    atomic_store(&al_kind, kind);
    /* A line being written on another thread may still hold the old fd for
     * a moment; closing it then costs that one line at most. */
    if (old > STDERR_FILENO && old != fd)
        close(old);
    return 0;
}

int accesslog_enabled(void)
{
    return atomic_load_explicit(&al_kind, memory_order_relaxed) != AL_OFF;
}

void accesslog_close(void)
{
    accesslog_open(NULL);
}

/* Copies a request path for the log, replacing bytes that would break the
 * line (quotes, controls) with '?'. */
static size_t copy_path(char *dst, size_t cap, const char *p, size_t len)
{
    size_t n = len < cap ? len : cap;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        dst[i] = (c < 0x21 || c == '"' || c == 0x7f) ? '?' : (char)c;
    }
    return n;
}

void accesslog_write(const struct accesslog_entry *e)
{
    int kind = atomic_load(&al_kind);
    if (kind == AL_OFF)
        return;
    char line[1024], client[ADDR_STRLEN], date[48], path[512];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t dn = strftime(date, sizeof(date), "%d/%b/%Y:%H:%M:%S", &tm);
    snprintf(date + dn, sizeof(date) - dn, ".%03ld", ts.tv_nsec / 1000000);
    addr_format(e->client, client, sizeof(client));

    int n = snprintf(line, sizeof(line),
                     "%s [%s] %s %s/%s %lld/%lld/%lld/%lld/%lld %d %llu %llu %s",
                     client, date, e->frontend, e->backend ? e->backend : "-",
                     e->server ? e->server : "-", (long long)e->t_request,
                     (long long)e->t_queue, (long long)e->t_connect, (long long)e->t_response,
                     (long long)e->t_total, e->status, (unsigned long long)e->bytes_in,
                     (unsigned long long)e->bytes_out, e->termination ? e->termination : "--");
    if (n < 0 || (size_t)n >= sizeof(line))
        n = (int)strlen(line);
    if (e->method) {
        size_t plen = copy_path(path, sizeof(path), e->path ? e->path : "", e->path_len);
        int m = snprintf(line + n, sizeof(line) - (size_t)n, " \"%s %.*s\"", e->method,
                         (int)plen, path);
        if (m > 0)
            n = (size_t)(n + m) < sizeof(line) ? n + m : (int)sizeof(line) - 1;
    }
    if (kind == AL_SYSLOG) {
        syslog(LOG_INFO, "%s", line);
        return;
    }
    if ((size_t)n >= sizeof(line) - 1)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(atomic_load(&al_fd), line, (size_t)n);
    (void)w;
}
