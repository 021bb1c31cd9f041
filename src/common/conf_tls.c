/* conf_tls.c - tls = { ... } in frontends (termination) and backends
 * (re-encryption). Only the shape and the values are checked here; the
 * files themselves (certificates, keys, CAs) are read by the proxy's tls.c
 * right after loading, with errors pointing at the same lines. */
#include "config.h"
#include "conf_tls.h"
#include "conf_tls_load.h"

#include <stdlib.h>
#include <string.h>

#define TLS_MAX_CERTS 1024
#define TLS_MAX_NAMES 256
#define TLS_MIN_ROTATE_MS 1000

static const struct name_map verify_names[] = {
    { "none", TLS_VERIFY_NONE }, { "optional", TLS_VERIFY_OPTIONAL },
    { "required", TLS_VERIFY_REQUIRED }, { NULL, 0 }
};

static const struct name_map version_names[] = {
    { "1.2", CONF_TLS_V12 }, { "1.3", CONF_TLS_V13 }, { NULL, 0 }
};

static void load_version(struct loader *ld, const config_setting_t *s,
                         const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (!v)
        return;
    int ver = map_lookup(version_names, v);
    if (ver < 0) {
        ld_error(ld, s, "%s \"%s\" is not supported (use \"1.2\" or \"1.3\")", ld->key, v);
        return;
    }
    *(int *)((char *)obj + k->off) = ver;
}

/* A host name or a wildcard "*.example.com" (one leading label only). */
static int valid_sni_name(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 253)
        return 0;
    if (v[0] == '*' && (v[1] != '.' || v[2] == '\0'))
        return 0;
    for (const char *p = v[0] == '*' ? v + 2 : v; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
            return 0;
    return 1;
}

static int valid_alpn(const char *v)
{
    return strcmp(v, "http/1.1") == 0 || strcmp(v, "http/1.0") == 0;
}

/* A list of strings: sni = [ "a", "b" ], alpn = [ "http/1.1" ]. arg 0:
 * names for SNI (lower-cased), 1: ALPN protocol ids. */
static void load_str_list(struct loader *ld, const config_setting_t *s,
                          const struct key_spec *k, void *obj)
{
    struct conf_strlist *l = (struct conf_strlist *)((char *)obj + k->off);
    if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
        ld_error(ld, s, "%s must be a list [ \"...\", ... ] of strings", ld->key);
        return;
    }
    int len = config_setting_length(s);
    if (len <= 0 || len > TLS_MAX_NAMES) {
        ld_error(ld, s, "%s must hold 1-%d strings", ld->key, TLS_MAX_NAMES);
        return;
    }
    if (l->v || !(l->v = calloc((size_t)len, sizeof(char *))))
        return;
    for (int i = 0; i < len; i++) {
        const config_setting_t *el = config_setting_get_elem(s, (unsigned)i);
        const char *v = get_string(ld, el);
        if (!v)
            continue;
        if (k->arg == 0 && !valid_sni_name(v)) {
            ld_error(ld, el, "%s \"%s\" is not a host name or \"*.domain\" wildcard", ld->key, v);
            continue;
        }
        if (k->arg == 1 && strcmp(v, "h2") == 0) {
            ld_error(ld, el, "%s \"h2\" is not supported: tandem speaks HTTP/1.1", ld->key);
            continue;
        }
        if (k->arg == 1 && !valid_alpn(v)) {
            ld_error(ld, el, "%s \"%s\" is unknown (use \"http/1.1\")", ld->key, v);
            continue;
        }
        char *c = strdup(v);
        for (char *p = c; c && k->arg == 0 && *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p + 32);
        if (c)
            l->v[l->n++] = c;
    }
}

#define CERT struct conf_tls_cert
static const struct key_spec cert_keys[] = {
    CUSTOMF("cert", KEY_REQUIRED, load_path, 0, CERT, cert),
    CUSTOMF("key", KEY_REQUIRED, load_path, 0, CERT, key),
    CUSTOMF("sni", 0, load_str_list, 0, CERT, sni),
    KEYS_END
};
#undef CERT

static void load_certs(struct loader *ld, const config_setting_t *s,
                       const struct key_spec *k, void *obj)
{
    struct conf_tls_frontend *t = obj;
    int n = list_length(ld, s, "certificates");
    if (n < 0)
        return;
    if (n == 0 || n > TLS_MAX_CERTS) {
        ld_error(ld, s, "%s must hold 1-%d certificates", ld->key, TLS_MAX_CERTS);
        return;
    }
    if (!(t->certs = calloc((size_t)n, sizeof(*t->certs))))
        return;
    t->ncerts = (unsigned)n;
    struct key_saved sv;
    key_enter(ld, &sv);
    for (unsigned i = 0; i < t->ncerts; i++) {
        const config_setting_t *el = config_setting_get_elem(s, i);
        size_t ctx = ctx_push(ld, "tls certificate #%u", i + 1);
        t->certs[i].line = (int)config_setting_source_line(el);
        if (elem_is_group(ld, el))
            load_keys(ld, el, cert_keys, &t->certs[i]);
        ctx_pop(ld, ctx);
    }
    key_leave(ld, &sv);
}

#define TF struct conf_tls_frontend
static const struct key_spec fe_tls_keys[] = {
    CUSTOM("certs", KEY_REQUIRED, load_certs, 0),
    CUSTOMF("min_version", 0, load_version, 0, TF, min_version),
    CUSTOMF("max_version", 0, load_version, 0, TF, max_version),
    STRING("ciphers", TF, ciphers, 0),
    STRING("ciphersuites", TF, ciphersuites, 0),
    STRING("groups", TF, groups, 0),
    CUSTOMF("alpn", 0, load_str_list, 1, TF, alpn),
    UINT("session_cache", TF, session_cache, 0, 0, 10000000),
    BOOL("tickets", TF, tickets, 0),
    DURATION("ticket_rotate", TF, ticket_rotate_ms, 0, TLS_MIN_ROTATE_MS),
    CUSTOMF("client_ca", 0, load_path, 0, TF, client_ca),
    ENUM("verify", TF, verify, 0, verify_names),
    BOOL("strict_sni", TF, strict_sni, 0),
    KEYS_END
};
#undef TF

#define TB struct conf_tls_backend
static const struct key_spec be_tls_keys[] = {
    BOOL("enabled", TB, enabled, 0),
    CUSTOMF("ca", 0, load_path, 0, TB, ca),
    BOOL("verify", TB, verify, 0),
    STRING("sni", TB, sni, 0),
    CUSTOMF("cert", 0, load_path, 0, TB, cert),
    CUSTOMF("key", 0, load_path, 0, TB, key),
    STRING("ciphers", TB, ciphers, 0),
    STRING("ciphersuites", TB, ciphersuites, 0),
    CUSTOMF("min_version", 0, load_version, 0, TB, min_version),
    CUSTOMF("max_version", 0, load_version, 0, TB, max_version),
    KEYS_END
};
#undef TB

static void versions_check(struct loader *ld, const config_setting_t *s, int lo, int hi)
{
    if (lo > hi)
        ld_error(ld, s, "%smin_version is above %smax_version", ld->key, ld->key);
}

static void fe_tls_check(struct loader *ld, const config_setting_t *s,
                         const struct conf_tls_frontend *t)
{
    if (t->verify != TLS_VERIFY_NONE && !t->client_ca)
        ld_error(ld, s, "%sverify \"%s\" needs %sclient_ca", ld->key,
                 t->verify == TLS_VERIFY_REQUIRED ? "required" : "optional", ld->key);
    if (t->client_ca && t->verify == TLS_VERIFY_NONE)
        ld_error(ld, s, "%sclient_ca is set but %sverify is \"none\"", ld->key, ld->key);
    versions_check(ld, s, t->min_version, t->max_version);
}

void conf_tls_load_frontend(struct loader *ld, const config_setting_t *s,
                            const struct key_spec *k, void *obj)
{
    struct conf_frontend *fe = obj;
    if (ld->mode_bit && ld->mode_bit != KEY_HTTP) {
        ld_error(ld, s, "%s: TLS termination needs mode http (mode tcp forwards TLS "
                 "untouched; terminate it in an http frontend)", ld->key);
        return;
    }
    if (fe->tls || !(fe->tls = calloc(1, sizeof(*fe->tls))))
        return;
    struct conf_tls_frontend *t = fe->tls;
    t->min_version = CONF_TLS_V12;
    t->max_version = CONF_TLS_V13;
    t->session_cache = 20000;
    t->tickets = 1;
    t->ticket_rotate_ms = 3600 * 1000;
    t->line = (int)config_setting_source_line(s);
    if (want_type(ld, s, CONFIG_TYPE_GROUP, "a group { ... }") < 0)
        return;
    load_group(ld, s, &(struct key_spec)GROUP("tls", 0, fe_tls_keys), t);
    fe_tls_check(ld, s, t);
}

void conf_tls_load_backend(struct loader *ld, const config_setting_t *s,
                           const struct key_spec *k, void *obj)
{
    struct conf_backend *b = obj;
    if (b->tls || !(b->tls = calloc(1, sizeof(*b->tls))))
        return;
    struct conf_tls_backend *t = b->tls;
    t->enabled = 1;
    t->verify = 1;
    t->min_version = CONF_TLS_V12;
    t->max_version = CONF_TLS_V13;
    t->line = (int)config_setting_source_line(s);
    if (want_type(ld, s, CONFIG_TYPE_GROUP, "a group { ... }") < 0)
        return;
    load_group(ld, s, &(struct key_spec)GROUP("tls", 0, be_tls_keys), t);
    if (!t->cert != !t->key)
        ld_error(ld, s, "tls: a client certificate needs both cert and key");
    versions_check(ld, s, t->min_version, t->max_version);
}

/* Checks that need the whole frontend (after its keys and the backends). */
void conf_tls_check_frontend(struct loader *ld, const config_setting_t *el,
                             const struct tandem_config *cfg,
                             const struct conf_frontend *fe)
{
    if (fe->tls && fe->accept_proxy)
        ld_error(ld, el, "tls with accept_proxy is not supported yet");
    int bi = fe->default_backend_index;
    if (fe->mode == MODE_TCP && bi >= 0 && (unsigned)bi < cfg->nbackends &&
        cfg->backends[bi].tls && cfg->backends[bi].tls->enabled)
        ld_error(ld, el, "mode tcp cannot re-encrypt to backend \"%s\" (its tls is for "
                 "http frontends)", cfg->backends[bi].name);
}

static void free_list(struct conf_strlist *l)
{
    for (unsigned i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

void conf_tls_free_frontend(struct conf_tls_frontend *t)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->ncerts; i++) {
        free(t->certs[i].cert);
        free(t->certs[i].key);
        free_list(&t->certs[i].sni);
    }
    free(t->certs);
    free(t->ciphers);
    free(t->ciphersuites);
    free(t->groups);
    free_list(&t->alpn);
    free(t->client_ca);
    free(t);
}

void conf_tls_free_backend(struct conf_tls_backend *t)
{
    if (!t)
        return;
    free(t->ca);
    free(t->sni);
    free(t->cert);
    free(t->key);
    free(t->ciphers);
    free(t->ciphersuites);
    free(t);
}
