/* clock.h - monotonic time for timers and measurements. Pure code takes
 * time as an argument; only the I/O layers call these. */
#ifndef TANDEM_CLOCK_H
#define TANDEM_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t clock_mono_ms(void) { return clock_mono_us() / 1000u; }

/* Wall-clock seconds, for log timestamps and "start time" fields. */
static inline uint64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
