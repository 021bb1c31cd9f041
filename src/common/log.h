/* log.h - leveled logging to stderr or syslog, safe from any thread. */
#ifndef TANDEM_LOG_H
#define TANDEM_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_NOTICE, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Where lines go. stderr lines carry a timestamp and the program name. */
enum log_target { LOG_TO_STDERR = 0, LOG_TO_SYSLOG };

void log_init(const char *progname, enum log_target target, enum log_level level,
              int syslog_facility);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);

/* Name <-> value helpers used by the config parser. Return -1 if unknown. */
int log_level_from_name(const char *name);
int log_facility_from_name(const char *name);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Like log_msg, but at most `burst` lines per `period_s` seconds per call
 * site; the number suppressed is reported with the next line let through.
 * For messages an attacker can trigger per packet or per request. */
struct log_ratelimit {
    long window_start;   /* seconds, monotonic */
    unsigned count;
    unsigned suppressed;
};
void log_limited(struct log_ratelimit *rl, unsigned burst, unsigned period_s,
                 enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define log_err(...)    log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)   log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)   log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)  do { if (log_get_level() >= LOG_LVL_DEBUG) \
                                 log_msg(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

#endif
