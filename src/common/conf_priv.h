/* conf_priv.h - the table-driven loader machinery of conf.c, shared with
 * the other sections' loaders (conf_vrrp.c). Not for use outside
 * src/common/conf*.c: the proxy and the agents see only conf.h and
 * conf_vrrp.h. */
#ifndef TANDEM_CONF_PRIV_H
#define TANDEM_CONF_PRIV_H

#include <libconfig.h>
#include <stddef.h>
#include <stdint.h>
#include "conf.h"

#define MAX_DURATION_MS  (7ULL * 24 * 3600 * 1000)   /* keeps deadlines far from overflow */
#define NAME_MAX_LEN     64

struct name_map {
    const char *name;
    int value;
};

struct ld_msg {
    const char *file;       /* libconfig's or the loader's; outlives the list */
    int line;
    unsigned seq;
    char *msg;
};

struct loader {
    const char *path;
    struct tandem_config *cfg;  /* the proxy's config being filled, else NULL */
    struct ld_msg *msgs;    /* sorted by file and line before they are handed out */
    unsigned nmsgs;
    char ctx[256];          /* object being read: `backend "web": server "web1"` */
    char key[128];          /* key being read, with its group: "timeouts.connect" */
    size_t keypfx;          /* length of the group part of key */
    unsigned mode_bit;      /* KEY_HTTP/TCP/UDP of the frontend being read, else 0 */
};

enum key_kind {
    K_STRING,     /* char *, strdup'ed, non-empty */
    K_NAME,       /* char *, an object name: 1-64 of [A-Za-z0-9._-] */
    K_BOOL,       /* int */
    K_UINT,       /* unsigned (or int), within min..max */
    K_DURATION,   /* uint64_t ms, "5s" */
    K_SIZE,       /* uint64_t bytes, "16k" or an integer */
    K_ENUM,       /* int, a name from `names` */
    K_GROUP,      /* sub-group whose keys fill the same object */
    K_CUSTOM,     /* fn does it */
};

#define KEY_REQUIRED 0x01u
#define KEY_HTTP     0x02u     /* mode bits: the key applies only to these */
#define KEY_TCP      0x04u     /* frontend modes (none set = every mode) */
#define KEY_UDP      0x08u
#define KEY_MODES    (KEY_HTTP | KEY_TCP | KEY_UDP)

struct key_spec;
typedef void key_fn(struct loader *ld, const config_setting_t *s,
                    const struct key_spec *k, void *obj);

struct key_spec {
    const char *name;
    enum key_kind kind;
    unsigned flags;
    size_t off;                     /* field in the object being filled */
    uint64_t min, max;              /* K_UINT, K_DURATION, K_SIZE */
    const struct name_map *names;   /* K_ENUM */
    const struct key_spec *sub;     /* K_GROUP */
    key_fn *fn;                     /* K_CUSTOM */
    int arg;                        /* K_CUSTOM: handler-specific */
};

#define FIELD(st, f)    .off = offsetof(st, f)
#define STRING(n, st, f, fl)  { .name = n, .kind = K_STRING, .flags = fl, FIELD(st, f) }
#define NAME(n, st, f, fl)    { .name = n, .kind = K_NAME, .flags = fl, FIELD(st, f) }
#define BOOL(n, st, f, fl)    { .name = n, .kind = K_BOOL, .flags = fl, FIELD(st, f) }
#define UINT(n, st, f, fl, lo, hi) \
    { .name = n, .kind = K_UINT, .flags = fl, FIELD(st, f), .min = lo, .max = hi }
#define DURATION(n, st, f, fl, lo) \
    { .name = n, .kind = K_DURATION, .flags = fl, FIELD(st, f), .min = lo, .max = MAX_DURATION_MS }
#define SIZE(n, st, f, fl, lo, hi) \
    { .name = n, .kind = K_SIZE, .flags = fl, FIELD(st, f), .min = lo, .max = hi }
#define ENUM(n, st, f, fl, map) \
    { .name = n, .kind = K_ENUM, .flags = fl, FIELD(st, f), .names = map }
#define GROUP(n, fl, keys)    { .name = n, .kind = K_GROUP, .flags = fl, .sub = keys }
#define CUSTOM(n, fl, f, a)   { .name = n, .kind = K_CUSTOM, .flags = fl, .fn = f, .arg = a }
#define CUSTOMF(n, fl, f, a, st, fld) \
    { .name = n, .kind = K_CUSTOM, .flags = fl, .fn = f, .arg = a, FIELD(st, fld) }
#define KEYS_END              { .name = NULL }

int map_lookup(const struct name_map *map, const char *name);
const char *closest_name(const char *word, const void *base, size_t stride,
                         size_t name_off, unsigned n);
int valid_name(const char *s);
int no_ctl_chars(const char *s);
/* An RFC 9110 token (header names, methods, cookie names), not empty. */
int is_token(const char *s);

__attribute__((format(printf, 3, 4)))
void ld_error(struct loader *ld, const config_setting_t *at, const char *fmt, ...);
__attribute__((format(printf, 2, 3)))
size_t ctx_push(struct loader *ld, const char *fmt, ...);
void ctx_pop(struct loader *ld, size_t old);
size_t ctx_push_elem(struct loader *ld, const char *what, const config_setting_t *el,
                     unsigned i);

void load_keys(struct loader *ld, const config_setting_t *group,
               const struct key_spec *keys, void *obj);
/* A K_GROUP's reading: the keys of k->sub, with "name." on the key path. */
void load_group(struct loader *ld, const config_setting_t *s,
                const struct key_spec *k, void *obj);
int want_type(struct loader *ld, const config_setting_t *s, int type, const char *what);
const char *get_string(struct loader *ld, const config_setting_t *s);
void load_string(struct loader *ld, const config_setting_t *s,
                 const struct key_spec *k, void *obj);
/* A K_CUSTOM handler: an absolute path (arg 1: must fit a unix socket). */
void load_path(struct loader *ld, const config_setting_t *s,
               const struct key_spec *k, void *obj);

int elem_is_group(struct loader *ld, const config_setting_t *el);
int list_length(struct loader *ld, const config_setting_t *s, const char *what);

struct key_saved {
    char key[128];
    size_t pfx;
};
void key_enter(struct loader *ld, struct key_saved *sv);
void key_leave(struct loader *ld, const struct key_saved *sv);
void check_dup_name(struct loader *ld, const config_setting_t *obj, const void *base,
                    size_t stride, size_t name_off, unsigned i, const char *what,
                    const int *first_line);

/* Messages out in file/line order. */
void loader_flush(struct loader *ld, struct conf_errors *errs);

/* Reading a file or a string into a libconfig tree, for every section's
 * loader: open errors and syntax errors become FILE:LINE messages, @include
 * is relative to the including file, and from_tree turns a good tree into
 * the loader's config (or NULL with errs filled). */
typedef void *conf_tree_fn(config_t *lc, const char *name, struct conf_errors *errs);
void *conf_read_file(const char *path, conf_tree_fn *from_tree, struct conf_errors *errs);
void *conf_read_text(const char *text, const char *name, conf_tree_fn *from_tree,
                     struct conf_errors *errs);

#endif
