/* units.c - strict parsing: no sign, no spaces, no overflow, a known suffix. */
#include "config.h"
#include "units.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Reads the leading decimal digits of s into *val; returns the number of
 * digits read, 0 if none, -1 on overflow. */
static int read_digits(const char *s, uint64_t *val)
{
    uint64_t v = 0;
    int n = 0;
    for (; isdigit((unsigned char)s[n]); n++) {
        uint64_t d = (uint64_t)(s[n] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *val = v;
    return n;
}

static int mul_checked(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b != 0 && a > UINT64_MAX / b)
        return -1;
    *out = a * b;
    return 0;
}

int parse_duration_ms(const char *s, uint64_t *out_ms, const char **err)
{
    static const struct { const char *suffix; uint64_t ms; } units[] = {
        { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 },
        { "", 1 },
    };
    uint64_t v;
    int n = read_digits(s, &v);
    if (n == 0) {
        *err = "a duration starts with a number, e.g. \"5s\", \"250ms\"";
        return -1;
    }
    if (n < 0) {
        *err = "duration is too large";
        return -1;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(s + n, units[i].suffix) == 0) {
            if (mul_checked(v, units[i].ms, out_ms) < 0) {
                *err = "duration is too large";
                return -1;
            }
            return 0;
        }
    }
    *err = "unknown duration unit (use ms, s, m, h or d)";
    return -1;
}

int parse_size(const char *s, uint64_t *out, const char **err)
{
    uint64_t v, mult = 1;
    int n = read_digits(s, &v);
    if (n == 0) {
        *err = "a size starts with a number, e.g. \"16k\", \"1m\"";
        return -1;
    }
    if (n < 0) {
        *err = "size is too large";
        return -1;
    }
    const char *u = s + n;
    switch (tolower((unsigned char)*u)) {
    case '\0': break;
    case 'k': mult = 1024; u++; break;
    case 'm': mult = 1024 * 1024; u++; break;
    case 'g': mult = 1024ULL * 1024 * 1024; u++; break;
    case 'b': break;
    default:
        *err = "unknown size unit (use k, m or g)";
        return -1;
    }
    if ((*u == 'b' || *u == 'B') && u[1] == '\0')
        u++;
    if (*u != '\0') {
        *err = "unknown size unit (use k, m or g)";
        return -1;
    }
    if (mul_checked(v, mult, out) < 0) {
        *err = "size is too large";
        return -1;
    }
    return 0;
}

const char *format_duration_ms(uint64_t ms, char *buf, unsigned len)
{
    if (ms % 86400000 == 0 && ms)
        snprintf(buf, len, "%llud", (unsigned long long)(ms / 86400000));
    else if (ms % 3600000 == 0 && ms)
        snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
    else if (ms % 60000 == 0 && ms)
        snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
    else if (ms % 1000 == 0 && ms)
        snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
    else
        snprintf(buf, len, "%llums", (unsigned long long)ms);
    return buf;
}
