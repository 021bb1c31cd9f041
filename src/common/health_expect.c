/* health_expect.c - parsing and matching of expected status ranges. */
#include "config.h"
#include "health_expect.h"

#include <ctype.h>
#include <stddef.h>

static const char *health_skip_spaces(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Exactly three digits: a status code. Anything else is refused so that
 * "20" or "2000" is an error rather than a range that never matches. */
static const char *health_parse_status(const char *p, int *out)
{
    int v = 0;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)p[i]))
            return NULL;
        v = v * 10 + (p[i] - '0');
    }
    if (isdigit((unsigned char)p[3]) || v < 100 || v > 599)
        return NULL;
    *out = v;
    return p + 3;
}

int health_expect_parse(const char *text, struct health_range *out, unsigned max,
                        unsigned *n, const char **err)
{
    const char *p = health_skip_spaces(text);
    *n = 0;
    if (!*p) {
        *err = "is empty";
        return -1;
    }
    for (;;) {
        struct health_range r;
        if (!(p = health_parse_status(p, &r.lo))) {
            *err = "must list statuses (100-599) or ranges such as \"200-299,301\"";
            return -1;
        }
        r.hi = r.lo;
        p = health_skip_spaces(p);
        if (*p == '-' && !(p = health_parse_status(health_skip_spaces(p + 1), &r.hi))) {
            *err = "has a range without a valid upper status";
            return -1;
        }
        if (r.hi < r.lo) {
            *err = "has a range whose upper status is below its lower one";
            return -1;
        }
        if (*n >= max) {
            *err = "lists too many ranges";
            return -1;
        }
        out[(*n)++] = r;
        p = health_skip_spaces(p);
        if (!*p)
            return 0;
        if (*p != ',') {
            *err = "must separate statuses and ranges with commas";
            return -1;
        }
        p = health_skip_spaces(p + 1);
    }
}

int health_expect_match(const struct health_range *r, unsigned n, int status)
{
    for (unsigned i = 0; i < n; i++)
        if (status >= r[i].lo && status <= r[i].hi)
            return 1;
    return 0;
}
