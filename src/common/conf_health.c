/* conf_health.c - backend health = { ... } and passive = { ... }: active
 * check settings, expected statuses, passive thresholds. Errors are
 * "FILE:LINE: message" like every other key (conf.c). */
#include "config.h"
#include "conf_health.h"

#include <stdlib.h>
#include <string.h>

#define HEALTH_MIN_INTERVAL_MS 10      /* below this a check loop is a busy loop */
#define HEALTH_MAX_RISE_FALL   100

static const struct name_map health_type_names[] = {
    { "tcp", HEALTH_TCP }, { "http", HEALTH_HTTP }, { "tls", HEALTH_TLS }, { NULL, 0 }
};

static void load_health_type(struct loader *ld, const config_setting_t *s,
                             const struct key_spec *k, void *obj)
{
    struct conf_backend *b = obj;
    const char *v = get_string(ld, s);
    if (!v)
        return;
    int t = map_lookup(health_type_names, v);
    if (t < 0)
        ld_error(ld, s, "%s \"%s\" is unknown (use tcp, http or tls)", ld->key, v);
    else
        b->health.type = t;
}

/* Why a value cannot go into the check's request line or Host header, or
 * NULL: they are written verbatim, so no space or control character may
 * split the request. arg: 0 method, 1 path, 2 host, 3 body substring. */
static const char *health_text_problem(int arg, const char *v)
{
    switch (arg) {
    case 0:
        return is_token(v) ? NULL : "must be an HTTP method such as \"GET\"";
    case 1:
        return v[0] == '/' && no_ctl_chars(v) && !strchr(v, ' ') ? NULL
               : "must start with \"/\" and contain no spaces or control characters";
    case 2:
        return no_ctl_chars(v) && !strchr(v, ' ') ? NULL
               : "must contain no spaces or control characters";
    default:
        return no_ctl_chars(v) ? NULL : "must not contain control characters";
    }
}

static void load_health_text(struct loader *ld, const config_setting_t *s,
                             const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (!v)
        return;
    const char *problem = health_text_problem(k->arg, v);
    if (problem)
        ld_error(ld, s, "%s \"%s\" %s", ld->key, v, problem);
    else
        load_string(ld, s, k, obj);
}

static void load_health_expect(struct loader *ld, const config_setting_t *s,
                               const struct key_spec *k, void *obj)
{
    struct conf_backend *b = obj;
    const char *v = get_string(ld, s), *err;
    if (!v)
        return;
    if (health_expect_parse(v, b->health.expect, HEALTH_EXPECT_MAX, &b->health.nexpect,
                            &err) < 0) {
        ld_error(ld, s, "%s \"%s\" %s", ld->key, v, err);
        b->health.nexpect = 0;
    }
}

#define BE struct conf_backend
static const struct key_spec health_keys[] = {
    CUSTOM("type", 0, load_health_type, 0),
    CUSTOMF("method", 0, load_health_text, 0, BE, health.method),
    CUSTOMF("path", 0, load_health_text, 1, BE, health.path),
    CUSTOMF("host", 0, load_health_text, 2, BE, health.host),
    CUSTOM("expect", 0, load_health_expect, 0),
    CUSTOMF("body", 0, load_health_text, 3, BE, health.body),
    DURATION("interval", BE, health.interval_ms, 0, HEALTH_MIN_INTERVAL_MS),
    DURATION("fast_interval", BE, health.fast_interval_ms, 0, HEALTH_MIN_INTERVAL_MS),
    DURATION("timeout", BE, health.timeout_ms, 0, 1),
    UINT("rise", BE, health.rise, 0, 1, HEALTH_MAX_RISE_FALL),
    UINT("fall", BE, health.fall, 0, 1, HEALTH_MAX_RISE_FALL),
    BOOL("observe_only", BE, health.observe_only, 0),
    KEYS_END
};

const struct key_spec conf_passive_keys[] = {
    UINT("connect_failures", BE, passive.connect_failures, 0, 0, 1000),
    UINT("http_5xx", BE, passive.http_5xx, 0, 0, 1000),
    KEYS_END
};
#undef BE

/* Keys that only mean something to an http check. */
static const char *const health_http_only[] = { "method", "path", "host", "expect", "body" };

static void health_check_type(struct loader *ld, const config_setting_t *s,
                              const struct conf_backend *b)
{
    if (b->health.type == HEALTH_HTTP)
        return;
    for (size_t i = 0; i < sizeof(health_http_only) / sizeof(health_http_only[0]); i++) {
        const config_setting_t *m = config_setting_get_member(s, health_http_only[i]);
        if (m)
            ld_error(ld, m, "health.%s applies only to type \"http\"", health_http_only[i]);
    }
}

void conf_health_load(struct loader *ld, const config_setting_t *s,
                      const struct key_spec *k, void *obj)
{
    struct conf_backend *b = obj;
    if (want_type(ld, s, CONFIG_TYPE_GROUP, "a group { ... }") < 0)
        return;
    b->health.enabled = 1;
    b->health.line = (int)config_setting_source_line(s);
    size_t saved = ld->keypfx;
    ld->keypfx = strlen(ld->key);
    if (ld->keypfx + 1 < sizeof(ld->key))
        strcpy(ld->key + ld->keypfx++, ".");
    load_keys(ld, s, health_keys, b);
    ld->keypfx = saved;
    ld->key[saved] = '\0';
    health_check_type(ld, s, b);
    if (!config_setting_get_member(s, "fast_interval"))
        b->health.fast_interval_ms = b->health.interval_ms;
}

void conf_health_defaults(struct conf_backend *b)
{
    struct conf_health *h = &b->health;
    h->type = HEALTH_TCP;
    h->expect[0] = (struct health_range){ 200, 399 };
    h->nexpect = 1;
    h->interval_ms = 2000;
    h->fast_interval_ms = 2000;
    h->timeout_ms = 1000;
    h->rise = 2;
    h->fall = 3;
}

/* Passive checks only ever take servers out; without active checks
 * nothing would bring them back. */
void conf_health_check(struct loader *ld, const config_setting_t *el,
                       const struct conf_backend *b)
{
    const config_setting_t *p = config_setting_get_member(el, "passive");
    if (p && !b->health.enabled && (b->passive.connect_failures || b->passive.http_5xx))
        ld_error(ld, p, "passive checks need health = { ... }: only active checks bring a "
                 "server marked DOWN back");
    /* A tls check verifies like live traffic: with the backend's tls. */
    if (b->health.enabled && b->health.type == HEALTH_TLS && !(b->tls && b->tls->enabled))
        ld_error(ld, config_setting_get_member(el, "health"),
                 "health.type \"tls\" needs the backend's tls = { ... } (it checks the "
                 "handshake the servers' traffic uses)");
}

void conf_health_free(struct conf_health *h)
{
    free(h->method);
    free(h->path);
    free(h->host);
    free(h->body);
}
