/* units.h - the one place durations and sizes from config files and the
 * command line are parsed. */
#ifndef TANDEM_UNITS_H
#define TANDEM_UNITS_H

#include <stdint.h>

/* "250ms", "5s", "30m", "2h", "1d", or a bare number of milliseconds.
 * Returns 0 on success, -1 (with *err set to a static reason) on error. */
int parse_duration_ms(const char *s, uint64_t *out_ms, const char **err);

/* "512", "16k", "4m", "1g" (binary multiples, case-insensitive, an optional
 * trailing "b"/"B"). Returns 0 on success, -1 with *err set on error. */
int parse_size(const char *s, uint64_t *out, const char **err);

/* Formats a duration compactly ("1.5s", "250ms", "30m") into buf. */
const char *format_duration_ms(uint64_t ms, char *buf, unsigned len);

#endif
