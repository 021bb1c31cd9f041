/* ctl_table.h - aligned text tables for status-socket replies: collect
 * the cells, then print every column as wide as its widest cell. Numbers
 * (cells that start with a digit) are right-aligned, text left-aligned. */
#ifndef TANDEM_CTL_TABLE_H
#define TANDEM_CTL_TABLE_H

struct evbuffer;

#define CTL_TABLE_MAX_COLS 24

struct ctl_table {
    unsigned ncols;
    unsigned nrows, cap;         /* rows, header included */
    char **cells;                /* nrows * ncols strdup'ed strings */
};

/* headers: ncols names. Returns -1 on allocation failure. */
int ctl_table_init(struct ctl_table *t, unsigned ncols, const char *const *headers);
/* Adds a row of ncols cells (NULL prints as "-"). */
int ctl_table_add(struct ctl_table *t, const char *const *cells);
void ctl_table_print(const struct ctl_table *t, struct evbuffer *out);
void ctl_table_free(struct ctl_table *t);

#endif
