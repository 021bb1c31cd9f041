/* prom_out.h - Prometheus text exposition format (version 0.0.4) writer:
 * # HELP / # TYPE lines and samples with escaped label values. Pure: the
 * caller walks its own objects; all samples of one family must follow its
 * header (the format requires them grouped). */
#ifndef TANDEM_PROM_OUT_H
#define TANDEM_PROM_OUT_H

#include <stdint.h>

struct evbuffer;

struct prom_label {
    const char *name;            /* [a-zA-Z_][a-zA-Z0-9_]*, a constant */
    const char *value;           /* any bytes: escaped */
};

/* type: "counter", "gauge" or "histogram". */
void prom_family(struct evbuffer *b, const char *name, const char *type, const char *help);

void prom_sample_u64(struct evbuffer *b, const char *name, const struct prom_label *labels,
                     unsigned nlabels, uint64_t v);
void prom_sample_f64(struct evbuffer *b, const char *name, const struct prom_label *labels,
                     unsigned nlabels, double v);

/* Label value escaping: backslash, double quote and line feed. */
void prom_escape_label(struct evbuffer *b, const char *v);

#endif
