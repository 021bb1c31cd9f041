/* log.c - one formatted line per call, written with a single write(2) so
 * lines from different threads never interleave. */
#include "config.h"
#include "log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_progname = "tandem";
static enum log_target log_target_kind = LOG_TO_STDERR;
static _Atomic int log_level_now = LOG_LVL_INFO;

static const char *const level_names[] = { "error", "warning", "notice", "info", "debug" };
static const int level_syslog[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

void log_init(const char *progname, enum log_target target, enum log_level level,
              int syslog_facility)
{
    log_progname = progname;
    log_target_kind = target;
    atomic_store(&log_level_now, level);
    if (target == LOG_TO_SYSLOG)
        openlog(progname, LOG_PID | LOG_NDELAY, syslog_facility);
}

void log_set_level(enum log_level level) { atomic_store(&log_level_now, level); }
enum log_level log_get_level(void) { return (enum log_level)atomic_load(&log_level_now); }

const char *log_level_name(enum log_level level)
{
    return (unsigned)level < 5 ? level_names[level] : "?";
}

int log_level_from_name(const char *name)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    if (strcmp(name, "err") == 0) return LOG_LVL_ERR;
    if (strcmp(name, "warn") == 0) return LOG_LVL_WARN;
    return -1;
}

int log_facility_from_name(const char *name)
{
    static const struct { const char *n; int v; } fac[] = {
        { "daemon", LOG_DAEMON }, { "user", LOG_USER }, { "local0", LOG_LOCAL0 },
        { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
        { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
        { "local7", LOG_LOCAL7 },
    };
    for (size_t i = 0; i < sizeof(fac) / sizeof(fac[0]); i++)
        if (strcmp(name, fac[i].n) == 0)
            return fac[i].v;
    return -1;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    if ((int)level > atomic_load(&log_level_now))
        return;
    if (log_target_kind == LOG_TO_SYSLOG) {
        vsyslog(level_syslog[level], fmt, ap);
        return;
    }
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d]: %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_progname, (int)getpid(),
                     level_names[level]);
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        return;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

void log_limited(struct log_ratelimit *rl, unsigned burst, unsigned period_s,
                 enum log_level level, const char *fmt, ...)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    unsigned suppressed = 0;
    int emit;

    pthread_mutex_lock(&lock);
    if (now.tv_sec - rl->window_start >= (long)period_s) {
        suppressed = rl->suppressed;
        rl->window_start = now.tv_sec;
        rl->count = 0;
        rl->suppressed = 0;
    }
    emit = rl->count < burst;
    if (emit)
        rl->count++;
    else
        rl->suppressed++;
    pthread_mutex_unlock(&lock);

    if (!emit)
        return;
    if (suppressed)
        log_msg(level, "(%u similar messages suppressed)", suppressed);
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
