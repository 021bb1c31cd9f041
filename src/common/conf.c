/* conf.c - loads tandem.conf (libconfig syntax) for tandem-proxy and checks
 * it. Each section is a table of keys (name, kind, where the value goes,
 * range, which frontend modes it applies to); one walker applies a table to
 * a libconfig group, so a new key is one table line. Every problem becomes
 * one "FILE:LINE: message" and loading goes on, so `tandem-proxy -t` shows
 * them all at once. */
#include "config.h"
#include "conf.h"
#include "conf_health.h"
#include "conf_ratelimit.h"
#include "conf_stats.h"
#include "conf_sync.h"
#include "conf_sticky.h"
#include "conf_tls_load.h"
#include "conf_priv.h"
#include "addr.h"
#include "log.h"
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#define MAX_CONNS        10000000u

/* ---- error list ---- */

static void errors_push(struct conf_errors *errs, char *msg)
{
    char **grown = msg ? realloc(errs->msgs, (errs->n + 1) * sizeof(*grown)) : NULL;
    if (!grown) {               /* out of memory: the message is lost, never a crash */
        free(msg);
        return;
    }
    errs->msgs = grown;
    errs->msgs[errs->n++] = msg;
}

/* "FILE:LINE: message", or "FILE: message" when no line applies (the file
 * cannot be opened, a section is missing altogether). */
__attribute__((format(printf, 3, 0)))
static char *format_error(const char *file, int line, const char *fmt, va_list ap)
{
    char text[1024], *msg = NULL;
    vsnprintf(text, sizeof(text), fmt, ap);
    int n = line > 0 ? asprintf(&msg, "%s:%d: %s", file, line, text)
                     : asprintf(&msg, "%s: %s", file, text);
    return n < 0 ? NULL : msg;
}

void conf_errors_add(struct conf_errors *errs, const char *file, int line,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errors_push(errs, format_error(file, line, fmt, ap));
    va_end(ap);
}

void conf_errors_free(struct conf_errors *errs)
{
    for (unsigned i = 0; i < errs->n; i++)
        free(errs->msgs[i]);
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = 0;
}

/* ---- names ---- */

/* The first name of each value is the canonical one. */
static const struct name_map algo_names[] = {
    { "roundrobin", LB_ROUNDROBIN },
    { "wrr", LB_WRR }, { "weighted_roundrobin", LB_WRR },
    { "leastconn", LB_LEASTCONN }, { "least_conn", LB_LEASTCONN },
    { "weighted_leastconn", LB_WLEASTCONN }, { "wleastconn", LB_WLEASTCONN },
    { "source", LB_SOURCE }, { "ip_hash", LB_SOURCE },
    { "hash", LB_HASH }, { "consistent_hash", LB_HASH }, { "maglev", LB_HASH },
    { "leasttime", LB_LEASTTIME }, { "least_time", LB_LEASTTIME },
    { "random", LB_RANDOM },
    { "p2c", LB_P2C }, { "random2", LB_P2C }, { "power_of_two", LB_P2C },
    { NULL, 0 }
};
static const struct name_map mode_names[] = {
    { "http", MODE_HTTP }, { "tcp", MODE_TCP }, { "udp", MODE_UDP }, { NULL, 0 }
};
static const struct name_map proxy_proto_names[] = {
    { "none", PROXY_PROTO_NONE }, { "v1", PROXY_PROTO_V1 }, { "v2", PROXY_PROTO_V2 },
    { NULL, 0 }
};
static const struct name_map log_target_names[] = {
    { "stderr", LOGDEST_STDERR }, { "syslog", LOGDEST_SYSLOG }, { NULL, 0 }
};

int map_lookup(const struct name_map *map, const char *name)
{
    for (; map->name; map++)
        if (strcmp(map->name, name) == 0)
            return map->value;
    return -1;
}

static const char *map_name(const struct name_map *map, int value)
{
    for (; map->name; map++)
        if (map->value == value)
            return map->name;
    return "?";
}

const char *conf_algo_name(enum lb_algo algo) { return map_name(algo_names, (int)algo); }
int conf_algo_from_name(const char *name) { return map_lookup(algo_names, name); }
const char *conf_mode_name(enum px_mode mode) { return map_name(mode_names, (int)mode); }

int conf_backend_index(const struct tandem_config *cfg, const char *name)
{
    for (unsigned i = 0; i < cfg->nbackends; i++)
        if (cfg->backends[i].name && strcmp(cfg->backends[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Optimal string alignment distance (edits plus swaps of neighbours), for
 * "did you mean" hints; names past 64 characters are never close. */
static unsigned edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > NAME_MAX_LEN || lb > NAME_MAX_LEN)
        return 99;
    unsigned d[NAME_MAX_LEN + 1][NAME_MAX_LEN + 1];
    for (size_t i = 0; i <= la; i++) d[i][0] = (unsigned)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned best = d[i - 1][j - 1] + cost;
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

/* The name in an array of structs (key tables, name maps, backends) closest
 * to `word`, if within 2 edits and less than half the word; the arrays end
 * at a NULL name or at n. */
const char *closest_name(const char *word, const void *base, size_t stride,
                                size_t name_off, unsigned n)
{
    const char *best = NULL;
    unsigned best_d = 3;
    for (unsigned i = 0; i < n; i++) {
        const char *cand = *(const char *const *)((const char *)base + i * stride + name_off);
        if (!cand)
            break;
        unsigned d = edit_distance(word, cand);
        if (d < best_d && 2 * d < strlen(word)) {     /* "v3" is not a typo of "v1" */
            best = cand;
            best_d = d;
        }
    }
    return best;
}

/* Object names show up in logs and on the status socket: keep them plain. */
int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
            return 0;
    return 1;
}

/* ---- the loader ---- */

__attribute__((format(printf, 3, 0)))
static void ld_vadd(struct loader *ld, const config_setting_t *at, const char *fmt, va_list ap)
{
    const char *file = at ? config_setting_source_file(at) : NULL;
    int line = at ? (int)config_setting_source_line(at) : 0;
    char text[1024];
    vsnprintf(text, sizeof(text), fmt, ap);
    struct ld_msg *grown = realloc(ld->msgs, (ld->nmsgs + 1) * sizeof(*grown));
    if (!grown)
        return;
    ld->msgs = grown;
    struct ld_msg *m = &ld->msgs[ld->nmsgs];
    m->file = file ? file : ld->path;
    m->line = line;
    m->seq = ld->nmsgs;
    if (asprintf(&m->msg, "%s%s%s", ld->ctx, ld->ctx[0] ? ": " : "", text) < 0)
        return;
    ld->nmsgs++;
}

/* Reports a problem at the line of `at`, prefixed with the object context. */
void ld_error(struct loader *ld, const config_setting_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ld_vadd(ld, at, fmt, ap);
    va_end(ap);
}

/* Names the object being read, e.g. `frontend "www"`; returns what
 * ctx_pop needs to restore the outer one. */
size_t ctx_push(struct loader *ld, const char *fmt, ...)
{
    size_t old = strlen(ld->ctx);
    if (old && old + 2 < sizeof(ld->ctx))
        strcpy(ld->ctx + old, ": ");
    size_t at = strlen(ld->ctx);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ld->ctx + at, sizeof(ld->ctx) - at, fmt, ap);
    va_end(ap);
    return old;
}

void ctx_pop(struct loader *ld, size_t old) { ld->ctx[old] = '\0'; }

/* Pushes the context for element i of a list of named objects: by name
 * when it has a usable one, else by position. */
size_t ctx_push_elem(struct loader *ld, const char *what, const config_setting_t *el,
                            unsigned i)
{
    const char *name;
    if (config_setting_is_group(el) && config_setting_lookup_string(el, "name", &name)
        && valid_name(name))
        return ctx_push(ld, "%s \"%s\"", what, name);
    return ctx_push(ld, "%s #%u", what, i + 1);
}

/* ---- key tables ---- */

static void *field(void *obj, const struct key_spec *k) { return (char *)obj + k->off; }

int want_type(struct loader *ld, const config_setting_t *s, int type, const char *what)
{
    int t = config_setting_type(s);
    if (t == type || (type == CONFIG_TYPE_INT && t == CONFIG_TYPE_INT64))
        return 0;
    ld_error(ld, s, "%s must be %s", ld->key, what);
    return -1;
}

/* A string value, or NULL after reporting that it is not one or is empty. */
const char *get_string(struct loader *ld, const config_setting_t *s)
{
    if (want_type(ld, s, CONFIG_TYPE_STRING, "a string") < 0)
        return NULL;
    const char *v = config_setting_get_string(s);
    if (!v[0]) {
        ld_error(ld, s, "%s must not be empty", ld->key);
        return NULL;
    }
    return v;
}

void load_string(struct loader *ld, const config_setting_t *s,
                        const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (!v)
        return;
    if (k->kind == K_NAME && !valid_name(v)) {
        ld_error(ld, s, "%s \"%s\" must be 1-%d characters of A-Z a-z 0-9 . _ -",
                 ld->key, v, NAME_MAX_LEN);
        return;
    }
    char **dst = field(obj, k);
    free(*dst);
    *dst = strdup(v);
}

static void load_uint(struct loader *ld, const config_setting_t *s,
                      const struct key_spec *k, void *obj)
{
    if (want_type(ld, s, CONFIG_TYPE_INT, "an integer") < 0)
        return;
    long long v = config_setting_get_int64(s);
    if (v < 0 || (uint64_t)v < k->min || (uint64_t)v > k->max) {
        ld_error(ld, s, "%s %lld is out of range (%llu-%llu)", ld->key, v,
                 (unsigned long long)k->min, (unsigned long long)k->max);
        return;
    }
    /* Fields are unsigned or (weight) int; max keeps the value in both. */
    *(unsigned *)field(obj, k) = (unsigned)v;
}

/* Sizes in messages as operators write them ("64", "16k", "1m"). */
static const char *format_size(uint64_t v, char *buf, size_t len)
{
    static const char suffix[] = "kmg";
    int i = -1;
    while (i < 2 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        i++;
    }
    if (i < 0)
        snprintf(buf, len, "%llu", (unsigned long long)v);
    else
        snprintf(buf, len, "%llu%c", (unsigned long long)v, suffix[i]);
    return buf;
}

static void format_limit(const struct key_spec *k, uint64_t v, char *buf, size_t len)
{
    if (k->kind == K_DURATION)
        format_duration_ms(v, buf, (unsigned)len);
    else
        format_size(v, buf, len);
}

/* Durations and sizes are strings for units.c; a size may also be a plain
 * integer (bytes). A bare integer duration is refused: "5" would be 5ms,
 * which is never what "timeout = 5" meant. */
static void load_quantity(struct loader *ld, const config_setting_t *s,
                          const struct key_spec *k, void *obj)
{
    int is_dur = k->kind == K_DURATION;
    int t = config_setting_type(s);
    uint64_t v;
    char text[32];
    const char *err;
    if (!is_dur && (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)) {
        long long i = config_setting_get_int64(s);
        if (i < 0) {
            ld_error(ld, s, "%s %lld must not be negative", ld->key, i);
            return;
        }
        v = (uint64_t)i;
        snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
    } else {
        if (want_type(ld, s, CONFIG_TYPE_STRING, is_dur ? "a duration string such as \"5s\""
                                                         : "a size such as \"16k\"") < 0)
            return;
        const char *str = config_setting_get_string(s);
        if ((is_dur ? parse_duration_ms(str, &v, &err) : parse_size(str, &v, &err)) < 0) {
            ld_error(ld, s, "%s \"%s\": %s", ld->key, str, err);
            return;
        }
        snprintf(text, sizeof(text), "\"%.28s\"", str);
    }
    if (v < k->min || v > k->max) {
        char lo[32], hi[32];
        format_limit(k, k->min, lo, sizeof(lo));
        format_limit(k, k->max, hi, sizeof(hi));
        ld_error(ld, s, "%s %s is out of range (%s-%s)", ld->key, text, lo, hi);
        return;
    }
    *(uint64_t *)field(obj, k) = v;
}

static void load_enum(struct loader *ld, const config_setting_t *s,
                      const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (!v)
        return;
    int val = map_lookup(k->names, v);
    if (val >= 0) {
        *(int *)field(obj, k) = val;
        return;
    }
    const char *hint = closest_name(v, k->names, sizeof(*k->names), 0, ~0u);
    if (hint) {
        ld_error(ld, s, "%s \"%s\" is unknown (did you mean \"%s\"?)", ld->key, v, hint);
        return;
    }
    char list[256] = "";    /* canonical names only, not aliases */
    for (const struct name_map *m = k->names; m->name; m++) {
        if (strcmp(map_name(k->names, m->value), m->name) != 0)
            continue;
        size_t at = strlen(list);
        snprintf(list + at, sizeof(list) - at, "%s%s", at ? ", " : "", m->name);
    }
    ld_error(ld, s, "%s \"%s\" is unknown (use %s)", ld->key, v, list);
}

void load_group(struct loader *ld, const config_setting_t *s,
                const struct key_spec *k, void *obj)
{
    if (want_type(ld, s, CONFIG_TYPE_GROUP, "a group { ... }") < 0)
        return;
    size_t saved = ld->keypfx;
    ld->keypfx = strlen(ld->key);
    if (ld->keypfx + 1 < sizeof(ld->key))
        strcpy(ld->key + ld->keypfx++, ".");
    load_keys(ld, s, k->sub, obj);
    ld->keypfx = saved;
}

static const char *modes_text(unsigned flags)
{
    switch (flags & KEY_MODES) {
    case KEY_HTTP: return "mode http";
    case KEY_TCP: return "mode tcp";
    case KEY_UDP: return "mode udp";
    case KEY_HTTP | KEY_TCP: return "modes http and tcp";
    default: return "modes tcp and udp";
    }
}

static void load_key(struct loader *ld, const config_setting_t *s,
                     const struct key_spec *k, void *obj)
{
    if ((k->flags & KEY_MODES) && ld->mode_bit && !(k->flags & ld->mode_bit)) {
        ld_error(ld, s, "%s applies only to %s", ld->key, modes_text(k->flags));
        return;
    }
    switch (k->kind) {
    case K_STRING:
    case K_NAME: load_string(ld, s, k, obj); break;
    case K_BOOL:
        if (want_type(ld, s, CONFIG_TYPE_BOOL, "true or false") == 0)
            *(int *)field(obj, k) = config_setting_get_bool(s);
        break;
    case K_UINT: load_uint(ld, s, k, obj); break;
    case K_DURATION:
    case K_SIZE: load_quantity(ld, s, k, obj); break;
    case K_ENUM: load_enum(ld, s, k, obj); break;
    case K_GROUP: load_group(ld, s, k, obj); break;
    case K_CUSTOM: k->fn(ld, s, k, obj); break;
    }
}

static void set_key(struct loader *ld, const char *name)
{
    snprintf(ld->key + ld->keypfx, sizeof(ld->key) - ld->keypfx, "%s", name);
}

/* Applies a key table to a group: every known key present is read (in
 * table order, so e.g. a frontend's mode is known before its routes),
 * required ones missing are reported, and so is every unknown key. */
void load_keys(struct loader *ld, const config_setting_t *group,
                      const struct key_spec *keys, void *obj)
{
    unsigned nkeys = 0;
    for (const struct key_spec *k = keys; k->name; k++, nkeys++) {
        set_key(ld, k->name);
        const config_setting_t *s = config_setting_get_member(group, k->name);
        if (s)
            load_key(ld, s, k, obj);
        else if (k->flags & KEY_REQUIRED)
            ld_error(ld, group, "missing required key \"%s\"", ld->key);
    }
    for (int i = 0; i < config_setting_length(group); i++) {
        const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(m);
        int known = name == NULL;
        for (const struct key_spec *k = keys; k->name && !known; k++)
            known = strcmp(k->name, name) == 0;
        if (known)
            continue;
        set_key(ld, name);
        const char *hint = closest_name(name, keys, sizeof(*keys), 0, nkeys);
        char pfx[128];
        snprintf(pfx, sizeof(pfx), "%.*s", (int)ld->keypfx, ld->key);
        if (hint)
            ld_error(ld, m, "unknown key \"%s\" (did you mean \"%s%s\"?)", ld->key, pfx, hint);
        else
            ld_error(ld, m, "unknown key \"%s\"", ld->key);
    }
    ld->key[ld->keypfx] = '\0';
}

/* Runs load_keys on the element groups of a list, with the key path
 * restarted, for lists of objects (frontends, backends, servers, routes). */
int elem_is_group(struct loader *ld, const config_setting_t *el)
{
    if (config_setting_is_group(el))
        return 1;
    ld_error(ld, el, "must be a group { ... }");
    return 0;
}

int list_length(struct loader *ld, const config_setting_t *s, const char *what)
{
    if (!config_setting_is_list(s) && !config_setting_is_array(s)) {
        ld_error(ld, s, "%s must be a list ( { ... }, ... ) of %s", ld->key, what);
        return -1;
    }
    return config_setting_length(s);
}

/* Saves and clears the key path while a nested object is read, so keys
 * inside a server read "weight", not "servers.weight". */
void key_enter(struct loader *ld, struct key_saved *sv)
{
    memcpy(sv->key, ld->key, sizeof(sv->key));
    sv->pfx = ld->keypfx;
    ld->key[0] = '\0';
    ld->keypfx = 0;
}

void key_leave(struct loader *ld, const struct key_saved *sv)
{
    memcpy(ld->key, sv->key, sizeof(ld->key));
    ld->keypfx = sv->pfx;
}

/* Index of the first earlier element of an object array with this name. */
static int find_name(const void *base, size_t stride, size_t name_off, unsigned n,
                     const char *name)
{
    for (unsigned i = 0; i < n; i++) {
        const char *cand = *(const char *const *)((const char *)base + i * stride + name_off);
        if (cand && strcmp(cand, name) == 0)
            return (int)i;
    }
    return -1;
}

void check_dup_name(struct loader *ld, const config_setting_t *obj, const void *base,
                           size_t stride, size_t name_off, unsigned i, const char *what,
                           const int *first_line)
{
    const char *name = *(const char *const *)((const char *)base + i * stride + name_off);
    if (!name)
        return;
    int j = find_name(base, stride, name_off, i, name);
    if (j < 0)
        return;
    int line = *(const int *)((const char *)first_line + (size_t)j * stride);
    ld_error(ld, config_setting_get_member(obj, "name"),
             "name \"%s\" is already used by the %s on line %d", name, what, line);
}

/* ---- values with their own syntax ---- */

int no_ctl_chars(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

void load_path(struct loader *ld, const config_setting_t *s,
                      const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (!v)
        return;
    if (v[0] != '/' || !no_ctl_chars(v)) {
        ld_error(ld, s, "%s \"%s\" must be an absolute path", ld->key, v);
        return;
    }
    if (k->arg && strlen(v) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        ld_error(ld, s, "%s is longer than a unix socket path can be (%zu)", ld->key,
                 sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
        return;
    }
    load_string(ld, s, k, obj);
}

static void load_access_log(struct loader *ld, const config_setting_t *s,
                            const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (v && strcmp(v, "stderr") != 0 && strcmp(v, "syslog") != 0 && v[0] != '/') {
        ld_error(ld, s, "%s \"%s\" must be \"stderr\", \"syslog\" or an absolute path",
                 ld->key, v);
        return;
    }
    if (v)
        load_string(ld, s, k, obj);
}

/* log.level and log.facility: names owned by log.c. */
static void load_log_name(struct loader *ld, const config_setting_t *s,
                          const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (!v)
        return;
    int val = k->arg ? log_facility_from_name(v) : log_level_from_name(v);
    if (val < 0) {
        ld_error(ld, s, "%s \"%s\" is unknown (use %s)", ld->key, v,
                 k->arg ? "daemon, user or local0 to local7"
                        : "error, warning, notice, info or debug");
        return;
    }
    *(int *)field(obj, k) = val;
}

/* An address:port for a listener or a server: numeric, port not 0. */
static int parse_endpoint(struct loader *ld, const config_setting_t *s, const char *v,
                          struct net_addr *out)
{
    const char *err;
    if (addr_parse_hostport(v, out, &err) < 0) {
        ld_error(ld, s, "%s \"%s\": %s", ld->key, v, err);
        return -1;
    }
    if (addr_port((struct sockaddr *)&out->ss) == 0) {
        ld_error(ld, s, "%s \"%s\": port 0 is not allowed", ld->key, v);
        return -1;
    }
    return 0;
}

static int is_udp(enum px_mode m) { return m == MODE_UDP; }

/* A listener may appear once per transport: tcp/http and udp on the same
 * address and port are different sockets (DNS does exactly that). */
static void check_dup_bind(struct loader *ld, const config_setting_t *s,
                           struct conf_frontend *fe, const struct net_addr *a)
{
    const struct sockaddr *sa = (const struct sockaddr *)&a->ss;
    char buf[ADDR_STRLEN];
    for (unsigned i = 0; i < fe->nbinds; i++) {
        if (addr_equal(sa, (const struct sockaddr *)&fe->binds[i].ss)) {
            ld_error(ld, s, "bind %s is listed twice", addr_format(sa, buf, sizeof(buf)));
            return;
        }
    }
    struct tandem_config *cfg = ld->cfg;
    for (struct conf_frontend *o = cfg->frontends; o < fe; o++) {
        if (is_udp(o->mode) != is_udp(fe->mode))
            continue;
        for (unsigned i = 0; i < o->nbinds; i++) {
            if (addr_equal(sa, (const struct sockaddr *)&o->binds[i].ss)) {
                ld_error(ld, s, "bind %s is already used by frontend \"%s\" (line %d)",
                         addr_format(sa, buf, sizeof(buf)), o->name ? o->name : "?", o->line);
                return;
            }
        }
    }
}

/* bind = "addr:port" or bind = [ "addr:port", ... ]. */
static void load_binds(struct loader *ld, const config_setting_t *s,
                       const struct key_spec *k, void *obj)
{
    struct conf_frontend *fe = obj;
    int scalar = config_setting_type(s) == CONFIG_TYPE_STRING;
    int n = scalar ? 1 : list_length(ld, s, "\"addr:port\" strings");
    if (n < 0)
        return;
    if (n == 0) {
        ld_error(ld, s, "%s must list at least one address", ld->key);
        return;
    }
    fe->binds = calloc((size_t)n, sizeof(*fe->binds));
    if (!fe->binds)
        return;
    for (int i = 0; i < n; i++) {
        const config_setting_t *el = scalar ? s : config_setting_get_elem(s, (unsigned)i);
        const char *v = get_string(ld, el);
        struct net_addr a;
        if (!v || parse_endpoint(ld, el, v, &a) < 0)
            continue;
        check_dup_bind(ld, el, fe, &a);
        fe->binds[fe->nbinds++] = a;
    }
}

static void load_server_addr(struct loader *ld, const config_setting_t *s,
                             const struct key_spec *k, void *obj)
{
    struct conf_server *sv = obj;
    const char *v = get_string(ld, s);
    if (!v || parse_endpoint(ld, s, v, &sv->addr) < 0)
        return;
    size_t len;
    const uint8_t *ip = addr_ip_bytes((struct sockaddr *)&sv->addr.ss, &len);
    size_t zero = 0;
    while (zero < len && ip[zero] == 0)
        zero++;
    if (zero == len)
        ld_error(ld, s, "%s \"%s\" is a wildcard, not a server address", ld->key, v);
}

/* hash_key = "source" | "uri" | "header:NAME" | "cookie:NAME". */
static void load_hash_key(struct loader *ld, const config_setting_t *s,
                          const struct key_spec *k, void *obj)
{
    struct conf_backend *b = obj;
    const char *v = get_string(ld, s);
    if (!v)
        return;
    if (b->algo != LB_HASH) {
        ld_error(ld, s, "%s applies only to algorithm \"hash\" (this backend uses \"%s\")",
                 ld->key, conf_algo_name(b->algo));
        return;
    }
    static const struct { const char *prefix; enum hash_key_kind kind; } kinds[] = {
        { "source", HASH_KEY_SOURCE }, { "uri", HASH_KEY_URI },
        { "header:", HASH_KEY_HEADER }, { "cookie:", HASH_KEY_COOKIE },
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t plen = strlen(kinds[i].prefix);
        int named = kinds[i].prefix[plen - 1] == ':';
        if (named ? strncmp(v, kinds[i].prefix, plen) != 0 : strcmp(v, kinds[i].prefix) != 0)
            continue;
        if (named && !valid_name(v + plen)) {
            ld_error(ld, s, "%s \"%s\": the %.*s name must be 1-%d characters of "
                     "A-Z a-z 0-9 . _ -", ld->key, v, (int)plen - 1, v, NAME_MAX_LEN);
            return;
        }
        b->hash_key.kind = kinds[i].kind;
        b->hash_key.name = named ? strdup(v + plen) : NULL;
        return;
    }
    ld_error(ld, s, "%s \"%s\" is unknown (use source, uri, header:NAME or cookie:NAME)",
             ld->key, v);
}

/* ---- routes ---- */

/* Characters RFC 9110 allows in a token (header names, methods, cookie names). */
int is_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return 0;
    return 1;
}

/* The request's host is compared without its port, so a pattern with a
 * port could never match; ':' is only for bracketed IPv6 literals. */
static int valid_host(const char *s)
{
    if (s[0] == '[')
        return s[strlen(s) - 1] == ']' && strspn(s, "[]:.0123456789abcdefABCDEF") == strlen(s);
    if (strncmp(s, "*.", 2) == 0)
        s += 2;
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(".-_", *s))
            return 0;
    return 1;
}

/* Why a condition value cannot match a request, or NULL if it can. */
static const char *route_value_problem(enum route_cond_kind kind, const char *v)
{
    switch (kind) {
    case ROUTE_HOST:
        return valid_host(v) ? NULL
               : "must be a host name without a port, optionally starting with \"*.\"";
    case ROUTE_PATH_PREFIX:
    case ROUTE_PATH:
        return v[0] == '/' && no_ctl_chars(v) && !strchr(v, ' ') ? NULL
               : "must start with \"/\" and contain no spaces or control characters";
    case ROUTE_METHOD:
        return is_token(v) ? NULL : "must be an HTTP method such as \"GET\"";
    case ROUTE_SNI:          /* a ClientHello carries no IP literal nor port */
        return v[0] != '[' && valid_host(v) ? NULL
               : "must be a server name, optionally starting with \"*.\"";
    default:
        return NULL;
    }
}

static struct conf_route_cond *route_add_cond(struct conf_route *r, enum route_cond_kind kind)
{
    struct conf_route_cond *c = &r->conds[r->nconds++];
    c->kind = kind;
    return c;
}

/* host, path_prefix, path, method, sni: a string condition. */
static void load_route_string(struct loader *ld, const config_setting_t *s,
                              const struct key_spec *k, void *obj)
{
    struct conf_route *r = obj;
    const char *v = get_string(ld, s);
    if (!v)
        return;
    const char *problem = route_value_problem((enum route_cond_kind)k->arg, v);
    if (problem) {
        ld_error(ld, s, "%s \"%s\" %s", ld->key, v, problem);
        return;
    }
    struct conf_route_cond *c = route_add_cond(r, (enum route_cond_kind)k->arg);
    c->value = strdup(v);
    if (c->value && (k->arg == ROUTE_HOST || k->arg == ROUTE_SNI))  /* case-insensitive */
        for (char *p = c->value; *p; p++)
            *p = (char)tolower((unsigned char)*p);
}

static const struct key_spec route_named_keys[] = {
    STRING("name", struct conf_route_cond, name, KEY_REQUIRED),
    STRING("value", struct conf_route_cond, value, 0),
    KEYS_END
};

/* header, cookie, query: { name = "..."; value = "..."; } (no value means
 * the name only has to be present). */
static void load_route_named(struct loader *ld, const config_setting_t *s,
                             const struct key_spec *k, void *obj)
{
    struct conf_route *r = obj;
    struct conf_route_cond c = { .kind = (enum route_cond_kind)k->arg };
    const struct key_spec group = { .name = k->name, .kind = K_GROUP, .sub = route_named_keys };
    load_group(ld, s, &group, &c);
    set_key(ld, k->name);
    int ok = c.name != NULL;
    if (ok && k->arg != ROUTE_QUERY && !is_token(c.name)) {
        ld_error(ld, config_setting_get_member(s, "name"),
                 "%s.name \"%s\" must be a token (letters, digits, -, _ ...)", ld->key, c.name);
        ok = 0;
    }
    if (ok && c.value && !no_ctl_chars(c.value)) {
        ld_error(ld, config_setting_get_member(s, "value"),
                 "%s.value must not contain control characters", ld->key);
        ok = 0;
    }
    if (!ok) {
        free(c.name);
        free(c.value);
        return;
    }
    *route_add_cond(r, c.kind) = c;
}

static void load_route_backend(struct loader *ld, const config_setting_t *s,
                               const struct key_spec *k, void *obj);

#define ROUTE_COND_MAX 8   /* one per kind: libconfig refuses a repeated key */
/* Conditions on the request are http's; mode tcp routes by the TLS server
 * name read from the ClientHello (SNI passthrough, docs/l4.md). */
static const struct key_spec route_keys[] = {
    CUSTOM("host", KEY_HTTP, load_route_string, ROUTE_HOST),
    CUSTOM("path_prefix", KEY_HTTP, load_route_string, ROUTE_PATH_PREFIX),
    CUSTOM("path", KEY_HTTP, load_route_string, ROUTE_PATH),
    CUSTOM("method", KEY_HTTP, load_route_string, ROUTE_METHOD),
    CUSTOM("header", KEY_HTTP, load_route_named, ROUTE_HEADER),
    CUSTOM("cookie", KEY_HTTP, load_route_named, ROUTE_COOKIE),
    CUSTOM("query", KEY_HTTP, load_route_named, ROUTE_QUERY),
    CUSTOM("sni", KEY_TCP, load_route_string, ROUTE_SNI),
    CUSTOM("backend", KEY_REQUIRED, load_route_backend, 0),
    CUSTOMF("rate_limit", KEY_HTTP, conf_ratelimit_load, 1, struct conf_route, rate_limits),
    KEYS_END
};

/* A backend reference: stored by name, resolved to its index. Backends are
 * loaded before frontends, so the index is known here. */
static int resolve_backend(struct loader *ld, const config_setting_t *s, const char *name)
{
    int idx = conf_backend_index(ld->cfg, name);
    if (idx >= 0)
        return idx;
    const char *hint = closest_name(name, ld->cfg->backends, sizeof(struct conf_backend),
                                    offsetof(struct conf_backend, name), ld->cfg->nbackends);
    if (hint)
        ld_error(ld, s, "backend \"%s\" does not exist (did you mean \"%s\"?)", name, hint);
    else
        ld_error(ld, s, "backend \"%s\" does not exist", name);
    return -1;
}

static void load_route_backend(struct loader *ld, const config_setting_t *s,
                               const struct key_spec *k, void *obj)
{
    struct conf_route *r = obj;
    const char *v = get_string(ld, s);
    if (!v)
        return;
    r->backend = strdup(v);
    r->backend_index = resolve_backend(ld, s, v);
}

static void load_routes(struct loader *ld, const config_setting_t *s,
                        const struct key_spec *k, void *obj)
{
    struct conf_frontend *fe = obj;
    int n = list_length(ld, s, "routes");
    if (n <= 0)
        return;
    fe->routes = calloc((size_t)n, sizeof(*fe->routes));
    if (!fe->routes)
        return;
    fe->nroutes = (unsigned)n;
    int catch_all = -1;             /* line of a route without conditions */
    struct key_saved sv;
    key_enter(ld, &sv);
    for (int i = 0; i < n; i++) {
        const config_setting_t *el = config_setting_get_elem(s, (unsigned)i);
        struct conf_route *r = &fe->routes[i];
        size_t ctx = ctx_push(ld, "route %d", i + 1);
        r->line = (int)config_setting_source_line(el);
        r->backend_index = -1;
        r->conds = calloc(ROUTE_COND_MAX, sizeof(*r->conds));
        if (r->conds && elem_is_group(ld, el)) {
            if (catch_all >= 0)
                ld_error(ld, el, "can never match: the route on line %d matches every request",
                         catch_all);
            load_keys(ld, el, route_keys, r);
            if (r->nconds == 0 && config_setting_length(el) == 1 && catch_all < 0)
                catch_all = r->line;
        }
        ctx_pop(ld, ctx);
    }
    key_leave(ld, &sv);
}

/* ---- sections ---- */

static const struct key_spec node_keys[] = {
    NAME("name", struct tandem_config, node_name, KEY_REQUIRED),
    KEYS_END
};

static const struct key_spec log_keys[] = {
    ENUM("target", struct tandem_config, global.log_target, 0, log_target_names),
    CUSTOMF("level", 0, load_log_name, 0, struct tandem_config, global.log_level),
    CUSTOMF("facility", 0, load_log_name, 1, struct tandem_config, global.log_facility),
    KEYS_END
};

static const struct key_spec global_keys[] = {
    UINT("threads", struct tandem_config, global.threads, 0, 0, 1024),
    UINT("maxconn", struct tandem_config, global.maxconn, 0, 1, MAX_CONNS),
    DURATION("grace", struct tandem_config, global.grace_ms, 0, 0),
    CUSTOMF("status_socket", 0, load_path, 1, struct tandem_config, global.status_socket),
    NAME("status_socket_group", struct tandem_config, global.status_socket_group, 0),
    CUSTOMF("access_log", 0, load_access_log, 0, struct tandem_config, global.access_log),
    GROUP("log", 0, log_keys),
    KEYS_END
};

#define FE struct conf_frontend
static const struct key_spec fe_timeout_keys[] = {
    DURATION("client", FE, client_timeout_ms, KEY_HTTP | KEY_TCP, 1),
    DURATION("http_request", FE, http_request_timeout_ms, KEY_HTTP, 1),
    DURATION("http_keepalive", FE, http_keepalive_timeout_ms, KEY_HTTP, 0),
    DURATION("request", FE, request_timeout_ms, KEY_HTTP, 0),
    KEYS_END
};

static const struct key_spec fe_limit_keys[] = {
    SIZE("max_request_line", FE, max_request_line, 0, 64, 1 << 20),
    SIZE("max_header_size", FE, max_header_size, 0, 1024, 1 << 20),
    UINT("max_headers", FE, max_headers, 0, 1, 1000),
    SIZE("max_body", FE, max_body, 0, 0, UINT64_MAX),
    KEYS_END
};

static const struct key_spec fe_udp_keys[] = {
    DURATION("flow_timeout", FE, udp_flow_timeout_ms, 0, 1),
    UINT("max_flows", FE, udp_max_flows, 0, 1, 1u << 24),
    KEYS_END
};

static const struct key_spec frontend_keys[] = {
    NAME("name", FE, name, KEY_REQUIRED),
    ENUM("mode", FE, mode, KEY_REQUIRED, mode_names),
    CUSTOM("bind", KEY_REQUIRED, load_binds, 0),
    UINT("maxconn", FE, maxconn, 0, 1, MAX_CONNS),
    BOOL("accept_proxy", FE, accept_proxy, KEY_HTTP | KEY_TCP),
    BOOL("add_xff", FE, add_xff, KEY_HTTP),
    BOOL("request_id", FE, request_id, KEY_HTTP),
    BOOL("access_log", FE, access_log, 0),
    GROUP("timeouts", 0, fe_timeout_keys),
    GROUP("limits", KEY_HTTP, fe_limit_keys),
    GROUP("udp", KEY_UDP, fe_udp_keys),
    CUSTOMF("rate_limit", KEY_HTTP | KEY_TCP, conf_ratelimit_load, 0, FE, rate_limits),
    CUSTOM("routes", KEY_HTTP | KEY_TCP, load_routes, 0),
    NAME("backend", FE, default_backend, 0),
    CUSTOM("tls", 0, conf_tls_load_frontend, 0),
    KEYS_END
};
#undef FE

#define BE struct conf_backend
static const struct key_spec be_timeout_keys[] = {
    DURATION("connect", BE, connect_timeout_ms, 0, 1),
    DURATION("server", BE, server_timeout_ms, 0, 1),
    DURATION("queue", BE, queue_timeout_ms, 0, 0),
    DURATION("tunnel", BE, tunnel_timeout_ms, 0, 1),
    KEYS_END
};

static const struct key_spec be_keepalive_keys[] = {
    UINT("pool", BE, keepalive_pool, 0, 0, 65536),
    DURATION("idle_timeout", BE, keepalive_idle_ms, 0, 0),
    KEYS_END
};

static void load_servers(struct loader *ld, const config_setting_t *s,
                         const struct key_spec *k, void *obj);

static const struct key_spec backend_keys[] = {
    NAME("name", BE, name, KEY_REQUIRED),
    ENUM("algorithm", BE, algo, 0, algo_names),
    CUSTOM("hash_key", 0, load_hash_key, 0),
    UINT("retries", BE, retries, 0, 0, 16),
    UINT("maxqueue", BE, maxqueue, 0, 0, 1000000),
    GROUP("timeouts", 0, be_timeout_keys),
    GROUP("keepalive", 0, be_keepalive_keys),
    DURATION("slowstart", BE, slowstart_ms, 0, 0),
    CUSTOM("health", 0, conf_health_load, 0),
    CUSTOM("tls", 0, conf_tls_load_backend, 0),
    GROUP("passive", 0, conf_passive_keys),
    GROUP("sticky", 0, conf_sticky_keys),
    CUSTOM("servers", KEY_REQUIRED, load_servers, 0),
    KEYS_END
};
#undef BE

static const struct key_spec server_keys[] = {
    NAME("name", struct conf_server, name, KEY_REQUIRED),
    CUSTOM("addr", KEY_REQUIRED, load_server_addr, 0),
    UINT("weight", struct conf_server, weight, 0, 0, 256),
    UINT("maxconn", struct conf_server, maxconn, 0, 0, MAX_CONNS),
    ENUM("send_proxy", struct conf_server, send_proxy, 0, proxy_proto_names),
    BOOL("backup", struct conf_server, backup, 0),
    KEYS_END
};

static void load_servers(struct loader *ld, const config_setting_t *s,
                         const struct key_spec *k, void *obj)
{
    struct conf_backend *b = obj;
    int n = list_length(ld, s, "servers");
    if (n < 0)
        return;
    if (n == 0) {
        ld_error(ld, s, "servers is empty: a backend needs at least one server");
        return;
    }
    b->servers = calloc((size_t)n, sizeof(*b->servers));
    if (!b->servers)
        return;
    b->nservers = (unsigned)n;
    struct key_saved sv;
    key_enter(ld, &sv);
    for (unsigned i = 0; i < b->nservers; i++) {
        const config_setting_t *el = config_setting_get_elem(s, i);
        struct conf_server *srv = &b->servers[i];
        size_t ctx = ctx_push_elem(ld, "server", el, i);
        srv->weight = 1;
        srv->line = (int)config_setting_source_line(el);
        if (elem_is_group(ld, el)) {
            load_keys(ld, el, server_keys, srv);
            check_dup_name(ld, el, b->servers, sizeof(*srv), offsetof(struct conf_server, name),
                           i, "server", &b->servers[0].line);
        }
        ctx_pop(ld, ctx);
    }
    key_leave(ld, &sv);
}

static void backend_defaults(struct conf_backend *b, int line)
{
    b->algo = LB_WRR;
    b->hash_key.kind = HASH_KEY_SOURCE;
    b->retries = 2;
    b->maxqueue = 128;
    b->connect_timeout_ms = 5000;
    b->server_timeout_ms = 30000;
    b->queue_timeout_ms = 5000;
    b->tunnel_timeout_ms = 3600000;
    b->keepalive_pool = 1024;
    b->keepalive_idle_ms = 60000;
    conf_health_defaults(b);
    conf_sticky_defaults(b);
    b->line = line;
}

static void frontend_defaults(struct loader *ld, struct conf_frontend *fe, int line)
{
    fe->maxconn = 10000;
    fe->add_xff = 1;
    fe->access_log = ld->cfg->global.access_log != NULL;
    fe->default_backend_index = -1;
    fe->client_timeout_ms = 30000;
    fe->http_request_timeout_ms = 10000;
    fe->http_keepalive_timeout_ms = 10000;
    fe->max_request_line = 8192;
    fe->max_header_size = 32768;
    fe->max_headers = 100;
    fe->udp_flow_timeout_ms = 30000;
    fe->udp_max_flows = 65536;
    fe->line = line;
}

/* The mode is read ahead of the other keys so keys that do not apply to it
 * are refused as such rather than silently ignored. */
static void frontend_peek_mode(struct loader *ld, const config_setting_t *el,
                               struct conf_frontend *fe)
{
    const char *v;
    int m;
    ld->mode_bit = 0;
    if (config_setting_lookup_string(el, "mode", &v) && (m = map_lookup(mode_names, v)) >= 0) {
        fe->mode = (enum px_mode)m;
        ld->mode_bit = KEY_HTTP << m;
    }
}

/* Checks that need the whole frontend. */
static void frontend_check(struct loader *ld, const config_setting_t *el,
                           struct conf_frontend *fe)
{
    const config_setting_t *s = config_setting_get_member(el, "backend");
    if (fe->default_backend)
        fe->default_backend_index = resolve_backend(ld, s, fe->default_backend);
    if (!config_setting_get_member(el, "mode"))
        return;     /* already reported; the checks below depend on it */
    if (fe->mode != MODE_HTTP && !s)
        ld_error(ld, el, "mode %s needs a backend", conf_mode_name(fe->mode));
    if (fe->mode == MODE_HTTP && !s && !config_setting_get_member(el, "routes"))
        ld_error(ld, el, "mode http needs routes or a default backend");
    if (fe->max_header_size < fe->max_request_line)
        ld_error(ld, config_setting_get_member(el, "limits"),
                 "limits.max_header_size (%llu) is smaller than limits.max_request_line (%llu)",
                 (unsigned long long)fe->max_header_size,
                 (unsigned long long)fe->max_request_line);
    s = config_setting_get_member(el, "access_log");
    if (s && fe->access_log && !ld->cfg->global.access_log)
        ld_error(ld, s, "access_log is on but global.access_log does not say where to write");
    conf_tls_check_frontend(ld, el, ld->cfg, fe);
}

/* frontends = ( {...}, ... ) and backends = ( {...}, ... ): allocate the
 * array up front (zeroed, so conf_free copes with a half-read one). */
static void load_frontends(struct loader *ld, const config_setting_t *s,
                           const struct key_spec *k, void *obj)
{
    struct tandem_config *cfg = obj;
    int n = list_length(ld, s, "frontends");
    if (n <= 0 || !(cfg->frontends = calloc((size_t)n, sizeof(*cfg->frontends))))
        return;
    cfg->nfrontends = (unsigned)n;
    struct key_saved sv;
    key_enter(ld, &sv);
    for (unsigned i = 0; i < cfg->nfrontends; i++) {
        const config_setting_t *el = config_setting_get_elem(s, i);
        struct conf_frontend *fe = &cfg->frontends[i];
        size_t ctx = ctx_push_elem(ld, "frontend", el, i);
        frontend_defaults(ld, fe, (int)config_setting_source_line(el));
        if (elem_is_group(ld, el)) {
            frontend_peek_mode(ld, el, fe);
            load_keys(ld, el, frontend_keys, fe);
            check_dup_name(ld, el, cfg->frontends, sizeof(*fe),
                           offsetof(struct conf_frontend, name), i, "frontend",
                           &cfg->frontends[0].line);
            frontend_check(ld, el, fe);
        }
        ld->mode_bit = 0;
        ctx_pop(ld, ctx);
    }
    key_leave(ld, &sv);
}

static void load_backends(struct loader *ld, const config_setting_t *s,
                          const struct key_spec *k, void *obj)
{
    struct tandem_config *cfg = obj;
    int n = list_length(ld, s, "backends");
    if (n <= 0 || !(cfg->backends = calloc((size_t)n, sizeof(*cfg->backends))))
        return;
    cfg->nbackends = (unsigned)n;
    struct key_saved sv;
    key_enter(ld, &sv);
    for (unsigned i = 0; i < cfg->nbackends; i++) {
        const config_setting_t *el = config_setting_get_elem(s, i);
        struct conf_backend *b = &cfg->backends[i];
        size_t ctx = ctx_push_elem(ld, "backend", el, i);
        backend_defaults(b, (int)config_setting_source_line(el));
        if (elem_is_group(ld, el)) {
            load_keys(ld, el, backend_keys, b);
            conf_health_check(ld, el, b);
            conf_sticky_check(ld, el, b);
            check_dup_name(ld, el, cfg->backends, sizeof(*b),
                           offsetof(struct conf_backend, name), i, "backend",
                           &cfg->backends[0].line);
        }
        ctx_pop(ld, ctx);
    }
    key_leave(ld, &sv);
}

/* vrrp belongs to tandem-vrrp; the proxy only checks its shape. */
static void accept_other_daemon(struct loader *ld, const config_setting_t *s,
                                const struct key_spec *k, void *obj)
{
    want_type(ld, s, CONFIG_TYPE_GROUP, "a group { ... }");
}

/* Backends come before frontends so routes resolve as they are read. */
static const struct key_spec top_keys[] = {
    GROUP("node", 0, node_keys),
    GROUP("global", 0, global_keys),
    CUSTOM("backends", KEY_REQUIRED, load_backends, 0),
    CUSTOM("frontends", KEY_REQUIRED, load_frontends, 0),
    CUSTOM("vrrp", 0, accept_other_daemon, 0),
    CUSTOM("sync", 0, conf_sync_load, 0),
    GROUP("stats", 0, conf_stats_keys),
    KEYS_END
};

static void global_defaults(struct tandem_config *cfg)
{
    cfg->global.threads = 0;
    cfg->global.log_target = LOGDEST_STDERR;
    cfg->global.log_level = LOG_LVL_INFO;
    cfg->global.log_facility = LOG_DAEMON;
    cfg->global.maxconn = 20000;
    cfg->global.grace_ms = 10000;
}

/* ---- entry points ---- */

static int msg_cmp(const void *a, const void *b)
{
    const struct ld_msg *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the collected messages to the caller in file and line order, the
 * main file first. */
void loader_flush(struct loader *ld, struct conf_errors *errs)
{
    unsigned nmain = 0;
    if (ld->nmsgs == 0)
        return;
    for (unsigned i = 0; i < ld->nmsgs; i++) {
        if (ld->msgs[i].file == ld->path) {
            struct ld_msg t = ld->msgs[nmain];
            ld->msgs[nmain++] = ld->msgs[i];
            ld->msgs[i] = t;
        }
    }
    qsort(ld->msgs, nmain, sizeof(*ld->msgs), msg_cmp);
    qsort(ld->msgs + nmain, ld->nmsgs - nmain, sizeof(*ld->msgs), msg_cmp);
    for (unsigned i = 0; i < ld->nmsgs; i++)
        conf_errors_add(errs, ld->msgs[i].file, ld->msgs[i].line, "%s", ld->msgs[i].msg);
    for (unsigned i = 0; i < ld->nmsgs; i++)
        free(ld->msgs[i].msg);
    free(ld->msgs);
}

static void default_node_name(struct tandem_config *cfg)
{
    char host[256];
    if (cfg->node_name)
        return;
    if (gethostname(host, sizeof(host)) < 0)
        strcpy(host, "tandem");
    host[sizeof(host) - 1] = '\0';
    cfg->node_name = strdup(host);
}

/* Reads the parsed tree into a config; NULL if anything was wrong. */
static struct tandem_config *conf_from_tree(config_t *lc, const char *path,
                                            struct conf_errors *errs)
{
    struct loader ld = { .path = path };
    struct tandem_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(cfg->path = strdup(path))) {
        free(cfg);
        conf_errors_add(errs, path, 0, "out of memory");
        return NULL;
    }
    ld.cfg = cfg;
    global_defaults(cfg);
    conf_sync_defaults(cfg);
    load_keys(&ld, config_root_setting(lc), top_keys, cfg);
    default_node_name(cfg);
    int failed = ld.nmsgs > 0;
    loader_flush(&ld, errs);
    if (failed) {
        conf_free(cfg);
        return NULL;
    }
    return cfg;
}

static void report_syntax(config_t *lc, const char *path, struct conf_errors *errs)
{
    const char *file = config_error_file(lc);
    conf_errors_add(errs, file ? file : path, config_error_line(lc), "%s",
                    config_error_text(lc) ? config_error_text(lc) : "syntax error");
}

/* @include paths are taken relative to the including file's directory. */
static void set_include_dir(config_t *lc, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, (size_t)(slash - path + (slash == path))) : NULL;
    if (dir)
        config_set_include_dir(lc, dir);
    free(dir);
}

void *conf_read_file(const char *path, conf_tree_fn *from_tree, struct conf_errors *errs)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        conf_errors_add(errs, path, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    config_t lc;
    config_init(&lc);
    set_include_dir(&lc, path);
    int ok = config_read(&lc, f);
    fclose(f);
    void *cfg = NULL;
    if (ok)
        cfg = from_tree(&lc, path, errs);
    else
        report_syntax(&lc, path, errs);
    config_destroy(&lc);
    return cfg;
}

void *conf_read_text(const char *text, const char *name, conf_tree_fn *from_tree,
                     struct conf_errors *errs)
{
    config_t lc;
    config_init(&lc);
    void *cfg = NULL;
    if (config_read_string(&lc, text))
        cfg = from_tree(&lc, name, errs);
    else
        report_syntax(&lc, name, errs);
    config_destroy(&lc);
    return cfg;
}

static void *proxy_from_tree(config_t *lc, const char *name, struct conf_errors *errs)
{
    return conf_from_tree(lc, name, errs);
}

struct tandem_config *conf_load_proxy(const char *path, struct conf_errors *errs)
{
    return conf_read_file(path, proxy_from_tree, errs);
}

struct tandem_config *conf_load_proxy_string(const char *text, const char *name,
                                             struct conf_errors *errs)
{
    return conf_read_text(text, name, proxy_from_tree, errs);
}

/* ---- freeing ---- */

static void route_free(struct conf_route *r)
{
    for (unsigned i = 0; i < r->nconds; i++) {
        free(r->conds[i].name);
        free(r->conds[i].value);
    }
    free(r->conds);
    free(r->backend);
    conf_ratelimits_free(&r->rate_limits);
}

static void frontend_free(struct conf_frontend *fe)
{
    free(fe->name);
    free(fe->binds);
    for (unsigned i = 0; i < fe->nroutes; i++)
        route_free(&fe->routes[i]);
    free(fe->routes);
    free(fe->default_backend);
    conf_ratelimits_free(&fe->rate_limits);
    conf_tls_free_frontend(fe->tls);
}

static void backend_free(struct conf_backend *b)
{
    free(b->name);
    free(b->hash_key.name);
    conf_health_free(&b->health);
    conf_sticky_free(&b->sticky);
    conf_tls_free_backend(b->tls);
    for (unsigned i = 0; i < b->nservers; i++)
        free(b->servers[i].name);
    free(b->servers);
}

void conf_free(struct tandem_config *cfg)
{
    if (!cfg)
        return;
    for (unsigned i = 0; i < cfg->nfrontends; i++)
        frontend_free(&cfg->frontends[i]);
    free(cfg->frontends);
    for (unsigned i = 0; i < cfg->nbackends; i++)
        backend_free(&cfg->backends[i]);
    free(cfg->backends);
    free(cfg->global.access_log);
    free(cfg->global.status_socket);
    free(cfg->global.status_socket_group);
    conf_stats_free(cfg);
    conf_sync_free(cfg);
    free(cfg->node_name);
    free(cfg->path);
    free(cfg);
}
