/* conf_ratelimit.c - rate_limit on frontends and routes: one group or a
 * list of groups, each a named limit (docs/ratelimit.md). Errors are
 * "FILE:LINE: message" like every other key (conf.c). */
#include "config.h"
#include "conf_ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_MAX_KEYS_MAX  10000000u
#define RL_LIMITS_MAX    16          /* per frontend or route */

static const struct name_map rl_algo_names[] = {
    { "token_bucket", RL_TOKEN_BUCKET },
    { "sliding_window", RL_SLIDING_WINDOW },
    { "fixed_window", RL_FIXED_WINDOW },
    { NULL, 0 }
};

/* key = "ip" | "header:NAME" | "cookie:NAME" | "path" | "global". tcp has
 * no request to read a header, cookie or path from. */
static void load_rl_key(struct loader *ld, const config_setting_t *s,
                        const struct key_spec *k, void *obj)
{
    static const struct { const char *word; enum rl_key_kind kind; int tcp; } kinds[] = {
        { "ip", RL_KEY_IP, 1 }, { "global", RL_KEY_GLOBAL, 1 }, { "path", RL_KEY_PATH, 0 },
        { "header:", RL_KEY_HEADER, 0 }, { "cookie:", RL_KEY_COOKIE, 0 },
    };
    struct conf_ratelimit *rl = obj;
    const char *v = get_string(ld, s);
    if (!v)
        return;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t plen = strlen(kinds[i].word);
        int named = kinds[i].word[plen - 1] == ':';
        if (named ? strncmp(v, kinds[i].word, plen) != 0 : strcmp(v, kinds[i].word) != 0)
            continue;
        if (named && !is_token(v + plen)) {
            ld_error(ld, s, "%s \"%s\": the %.*s name must be a token (letters, digits, "
                     "-, _ ...)", ld->key, v, (int)plen - 1, v);
            return;
        }
        if (ld->mode_bit == KEY_TCP && !kinds[i].tcp) {
            ld_error(ld, s, "%s \"%s\" needs mode http (in mode tcp use \"ip\" or "
                     "\"global\")", ld->key, v);
            return;
        }
        rl->key = kinds[i].kind;
        free(rl->key_name);
        rl->key_name = named ? strdup(v + plen) : NULL;
        return;
    }
    ld_error(ld, s, "%s \"%s\" is unknown (use ip, header:NAME, cookie:NAME, path or global)",
             ld->key, v);
}

#define RLC struct conf_ratelimit
static const struct key_spec rl_keys[] = {
    NAME("name", RLC, name, 0),
    CUSTOM("key", 0, load_rl_key, 0),
    ENUM("algorithm", RLC, algo, 0, rl_algo_names),
    UINT("rate", RLC, rate, KEY_REQUIRED, 1, RL_RATE_MAX),
    DURATION("per", RLC, per_ms, 0, 1),
    UINT("burst", RLC, burst, 0, 1, RL_RATE_MAX),
    UINT("max_keys", RLC, max_keys, 0, 1, RL_MAX_KEYS_MAX),
    KEYS_END
};
#undef RLC

/* The frontend whose routes array holds r (routes are loaded inside
 * their frontend, so it is in cfg already). */
static const struct conf_frontend *route_frontend(const struct tandem_config *cfg,
                                                  const struct conf_route *r, unsigned *ri)
{
    for (unsigned i = 0; i < cfg->nfrontends; i++) {
        const struct conf_frontend *fe = &cfg->frontends[i];
        if (fe->routes && r >= fe->routes && r < fe->routes + fe->nroutes) {
            *ri = (unsigned)(r - fe->routes);
            return fe;
        }
    }
    return NULL;
}

/* "www.1", or "www.route2.1" for a route's first limit: unique without
 * the operator naming anything, and stable across reloads. */
static char *default_name(struct loader *ld, const void *obj, int is_route, unsigned i)
{
    const struct conf_frontend *fe = is_route ? NULL : obj;
    unsigned ri = 0;
    char *name = NULL;
    if (is_route)
        fe = route_frontend(ld->cfg, obj, &ri);
    const char *fname = fe && fe->name ? fe->name : "frontend";
    int n = is_route ? asprintf(&name, "%s.route%u.%u", fname, ri + 1, i + 1)
                     : asprintf(&name, "%s.%u", fname, i + 1);
    return n < 0 ? NULL : name;
}

static int list_has_name(const struct conf_ratelimits *l, const struct conf_ratelimit *self,
                         const char *name, int *line)
{
    for (unsigned i = 0; l && i < l->n; i++) {
        if (&l->v[i] != self && l->v[i].name && strcmp(l->v[i].name, name) == 0) {
            *line = l->v[i].line;
            return 1;
        }
    }
    return 0;
}

/* Limit names are unique in the file: a reload keeps a limit's counters
 * by its name, and log lines name it. */
static void check_rl_name(struct loader *ld, const config_setting_t *el,
                          const struct conf_ratelimit *rl)
{
    const struct tandem_config *cfg = ld->cfg;
    int line = 0, dup = 0;
    for (unsigned f = 0; f < cfg->nfrontends && !dup; f++) {
        const struct conf_frontend *fe = &cfg->frontends[f];
        dup = list_has_name(&fe->rate_limits, rl, rl->name, &line);
        for (unsigned r = 0; fe->routes && r < fe->nroutes && !dup; r++)
            dup = list_has_name(&fe->routes[r].rate_limits, rl, rl->name, &line);
    }
    if (dup)
        ld_error(ld, config_setting_get_member(el, "name") ? config_setting_get_member(el, "name")
                                                           : el,
                 "rate_limit name \"%s\" is already used by the limit on line %d", rl->name,
                 line);
}

static void rl_defaults(struct conf_ratelimit *rl, int line)
{
    rl->key = RL_KEY_IP;
    rl->algo = RL_TOKEN_BUCKET;
    rl->per_ms = 1000;
    rl->max_keys = 100000;
    rl->line = line;
}

static void load_one(struct loader *ld, const config_setting_t *el, struct conf_ratelimit *rl,
                     const void *owner, int is_route, unsigned i)
{
    rl_defaults(rl, (int)config_setting_source_line(el));
    load_keys(ld, el, rl_keys, rl);
    const config_setting_t *b = config_setting_get_member(el, "burst");
    if (b && rl->algo != RL_TOKEN_BUCKET)
        ld_error(ld, b, "burst applies only to algorithm \"token_bucket\"");
    if (!rl->burst)
        rl->burst = rl->rate;
    if (!rl->name && !config_setting_get_member(el, "name"))
        rl->name = default_name(ld, owner, is_route, i);
    if (rl->name)
        check_rl_name(ld, el, rl);
}

void conf_ratelimit_load(struct loader *ld, const config_setting_t *s,
                         const struct key_spec *k, void *obj)
{
    struct conf_ratelimits *l = (struct conf_ratelimits *)((char *)obj + k->off);
    int single = config_setting_is_group(s);
    int n = single ? 1 : list_length(ld, s, "rate_limit groups");
    if (n <= 0)
        return;
    if (n > RL_LIMITS_MAX) {
        ld_error(ld, s, "%s lists %d limits (at most %d)", ld->key, n, RL_LIMITS_MAX);
        return;
    }
    if (!(l->v = calloc((size_t)n, sizeof(*l->v))))
        return;
    struct key_saved sv;
    key_enter(ld, &sv);
    for (unsigned i = 0; i < (unsigned)n; i++) {
        const config_setting_t *el = single ? s : config_setting_get_elem(s, i);
        size_t ctx = ctx_push_elem(ld, "rate_limit", el, i);
        l->n = i + 1;
        if (elem_is_group(ld, el))
            load_one(ld, el, &l->v[i], obj, k->arg, i);
        ctx_pop(ld, ctx);
    }
    key_leave(ld, &sv);
}

void conf_ratelimits_free(struct conf_ratelimits *l)
{
    for (unsigned i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].key_name);
    }
    free(l->v);
    l->v = NULL;
    l->n = 0;
}
