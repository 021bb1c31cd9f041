/* ctl_table.c - aligned text tables (see ctl_table.h). */
#include "config.h"
#include "ctl_table.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

int ctl_table_init(struct ctl_table *t, unsigned ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    if (ncols == 0 || ncols > CTL_TABLE_MAX_COLS)
        return -1;
    t->ncols = ncols;
    return ctl_table_add(t, headers);
}

int ctl_table_add(struct ctl_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        unsigned cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, (size_t)cap * t->ncols * sizeof(*c));
        if (!c)
            return -1;
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + (size_t)t->nrows * t->ncols;
    for (unsigned i = 0; i < t->ncols; i++)
        row[i] = strdup(cells[i] ? cells[i] : "-");
    t->nrows++;
    return 0;
}

static int is_number(const char *s)
{
    return (s[0] >= '0' && s[0] <= '9') || (s[0] == '-' && s[1] >= '0' && s[1] <= '9');
}

/* A column is numeric when every data cell in it is a number or "-":
 * then it is right-aligned, header included. */
static void find_numeric(const struct ctl_table *t, int *numeric)
{
    for (unsigned c = 0; c < t->ncols; c++) {
        int any = 0, all = 1;
        for (unsigned r = 1; r < t->nrows; r++) {
            const char *s = t->cells[(size_t)r * t->ncols + c];
            if (s && is_number(s))
                any = 1;
            else if (!s || strcmp(s, "-") != 0)
                all = 0;
        }
        numeric[c] = any && all;
    }
}

void ctl_table_print(const struct ctl_table *t, struct evbuffer *out)
{
    size_t width[CTL_TABLE_MAX_COLS] = { 0 };
    int numeric[CTL_TABLE_MAX_COLS];
    find_numeric(t, numeric);
    for (unsigned r = 0; r < t->nrows; r++)
        for (unsigned c = 0; c < t->ncols; c++) {
            const char *s = t->cells[(size_t)r * t->ncols + c];
            size_t n = s ? strlen(s) : 0;
            if (n > width[c])
                width[c] = n;
        }
    for (unsigned r = 0; r < t->nrows; r++) {
        for (unsigned c = 0; c < t->ncols; c++) {
            const char *s = t->cells[(size_t)r * t->ncols + c];
            int w = (int)width[c], last = c + 1 == t->ncols;
            if (!s)
                s = "?";
            if (numeric[c])
                evbuffer_add_printf(out, "%*s", w, s);
            else if (last)
                evbuffer_add_printf(out, "%s", s);
            else
                evbuffer_add_printf(out, "%-*s", w, s);
            if (!last)
                evbuffer_add(out, "  ", 2);
        }
        evbuffer_add(out, "\n", 1);
    }
}

void ctl_table_free(struct ctl_table *t)
{
    for (size_t i = 0; i < (size_t)t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
