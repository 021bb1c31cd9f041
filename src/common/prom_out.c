/* prom_out.c - Prometheus text format writer (see prom_out.h). */
#include "config.h"
#include "prom_out.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

/* HELP text escapes only backslash and line feed. */
static void escape_help(struct evbuffer *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            evbuffer_add(b, "\\\\", 2);
        else if (*s == '\n')
            evbuffer_add(b, "\\n", 2);
        else
            evbuffer_add(b, s, 1);
    }
}

void prom_escape_label(struct evbuffer *b, const char *v)
{
    size_t run = 0;
    const char *p = v;
    for (; *p; p++) {
        const char *e = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
        if (!e) {
            run++;
            continue;
        }
        evbuffer_add(b, p - run, run);
        run = 0;
        evbuffer_add(b, e, 2);
    }
    evbuffer_add(b, p - run, run);
}

void prom_family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
    evbuffer_add_printf(b, "# HELP %s ", name);
    escape_help(b, help);
    evbuffer_add_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void sample_head(struct evbuffer *b, const char *name, const struct prom_label *labels,
                        unsigned nlabels)
{
    evbuffer_add(b, name, strlen(name));
    if (nlabels == 0) {
        evbuffer_add(b, " ", 1);
        return;
    }
    evbuffer_add(b, "{", 1);
    for (unsigned i = 0; i < nlabels; i++) {
        evbuffer_add_printf(b, "%s%s=\"", i ? "," : "", labels[i].name);
        prom_escape_label(b, labels[i].value ? labels[i].value : "");
        evbuffer_add(b, "\"", 1);
    }
    evbuffer_add(b, "} ", 2);
}

void prom_sample_u64(struct evbuffer *b, const char *name, const struct prom_label *labels,
                     unsigned nlabels, uint64_t v)
{
    sample_head(b, name, labels, nlabels);
    evbuffer_add_printf(b, "%" PRIu64 "\n", v);
}

void prom_sample_f64(struct evbuffer *b, const char *name, const struct prom_label *labels,
                     unsigned nlabels, double v)
{
    sample_head(b, name, labels, nlabels);
    if (isnan(v))
        evbuffer_add(b, "NaN\n", 4);
    else if (isinf(v))
        evbuffer_add_printf(b, "%s\n", v > 0 ? "+Inf" : "-Inf");
    else
        evbuffer_add_printf(b, "%.17g\n", v);
}
