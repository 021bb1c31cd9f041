/* conf_vrrp.c - loads the vrrp section of tandem.conf for tandem-vrrp,
 * with the same key tables and "FILE:LINE: message" errors as the proxy's
 * loader (conf.c, machinery in conf_priv.h). Only the vrrp group is read;
 * the other sections belong to tandem-proxy. */
#include "config.h"
#include "conf_vrrp.h"
#include "conf_priv.h"
#include "addr.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VRRP_WEIGHT_MAX 254
#ifndef RUNSTATEDIR            /* set by the build (Makefile.am); the fuzzer builds without */
#define RUNSTATEDIR "/run"
#endif

/* ---- values with their own syntax ---- */

/* An interface name: what the kernel accepts (IFNAMSIZ - 1, no '/' or
 * blanks); the interface itself may appear later. */
static void vrrp_load_ifname(struct loader *ld, const config_setting_t *s,
                             const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (!v)
        return;
    if (strlen(v) >= IFNAMSIZ || strpbrk(v, "/: \t") || !no_ctl_chars(v)) {
        ld_error(ld, s, "%s \"%s\" is not a valid interface name (1-%d characters, no / : or blanks)",
                 ld->key, v, IFNAMSIZ - 1);
        return;
    }
    char **dst = (char **)((char *)obj + k->off);
    free(*dst);
    *dst = strdup(v);
}

/* A tracking weight: a signed integer added to the priority while the
 * object fails; 0 means the failure forces FAULT. */
static void vrrp_load_weight(struct loader *ld, const config_setting_t *s,
                             const struct key_spec *k, void *obj)
{
    if (want_type(ld, s, CONFIG_TYPE_INT, "an integer") < 0)
        return;
    long long v = config_setting_get_int64(s);
    if (v < -VRRP_WEIGHT_MAX || v > VRRP_WEIGHT_MAX) {
        ld_error(ld, s, "%s %lld is out of range (-%d..%d; 0 = FAULT)", ld->key, v,
                 VRRP_WEIGHT_MAX, VRRP_WEIGHT_MAX);
        return;
    }
    *(int *)((char *)obj + k->off) = (int)v;
}

/* Calls fn on each string of s, which is one string or an array/list of
 * them; returns how many there were, or -1 after reporting a wrong type. */
static int vrrp_each_string(struct loader *ld, const config_setting_t *s, int max,
                            void (*fn)(struct loader *, const config_setting_t *,
                                       const char *, void *),
                            void *obj)
{
    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        const char *v = get_string(ld, s);
        if (v)
            fn(ld, s, v, obj);
        return 1;
    }
    int n = list_length(ld, s, "strings");
    if (n < 0)
        return -1;
    if (n > max) {
        ld_error(ld, s, "%s has %d entries; at most %d are allowed", ld->key, n, max);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *el = config_setting_get_elem(s, (unsigned)i);
        const char *v = get_string(ld, el);
        if (v)
            fn(ld, el, v, obj);
    }
    return n;
}

static void vrrp_add_vip(struct loader *ld, const config_setting_t *s, const char *v, void *obj)
{
    struct conf_vrrp_instance *in = obj;
    struct net_addr a;
    int plen;
    const char *err;
    if (addr_parse_prefix(v, &a, &plen, &err) < 0) {
        ld_error(ld, s, "%s \"%s\": %s", ld->key, v, err);
        return;
    }
    size_t len;
    const uint8_t *ip = addr_ip_bytes((struct sockaddr *)&a.ss, &len);
    struct conf_vrrp_vip *vip = &in->vips[in->nvips];
    vip->family = len == 4 ? AF_INET : AF_INET6;
    memcpy(vip->addr, ip, len);
    vip->prefixlen = plen;
    vip->line = (int)config_setting_source_line(s);
    for (unsigned i = 0; i < in->nvips; i++) {
        if (in->vips[i].family == vip->family && memcmp(in->vips[i].addr, ip, len) == 0) {
            ld_error(ld, s, "%s \"%s\" is listed twice", ld->key, v);
            return;
        }
    }
    in->nvips++;
}

static void vrrp_load_vips(struct loader *ld, const config_setting_t *s,
                           const struct key_spec *k, void *obj)
{
    struct conf_vrrp_instance *in = obj;
    in->vips = calloc(CONF_VRRP_MAX_VIPS, sizeof(*in->vips));
    if (!in->vips)
        return;
    int n = vrrp_each_string(ld, s, CONF_VRRP_MAX_VIPS, vrrp_add_vip, in);
    if (n == 0)
        ld_error(ld, s, "%s is empty: an instance needs at least one VIP", ld->key);
}

static void vrrp_add_peer(struct loader *ld, const config_setting_t *s, const char *v, void *obj)
{
    struct conf_vrrp_instance *in = obj;
    const char *err;
    if (addr_parse_ip(v, &in->peers[in->npeers], &err) < 0) {
        ld_error(ld, s, "%s \"%s\": %s", ld->key, v, err);
        return;
    }
    in->npeers++;
}

/* unicast_peer = "addr" or unicast_peers = [ "addr", ... ]: unicast mode. */
static void vrrp_load_peers(struct loader *ld, const config_setting_t *s,
                            const struct key_spec *k, void *obj)
{
    struct conf_vrrp_instance *in = obj;
    if (in->peers) {
        ld_error(ld, s, "%s: use either unicast_peer or unicast_peers, not both", ld->key);
        return;
    }
    in->peers = calloc(CONF_VRRP_MAX_PEERS, sizeof(*in->peers));
    if (!in->peers)
        return;
    if (k->arg == 0 && config_setting_type(s) != CONFIG_TYPE_STRING) {
        ld_error(ld, s, "%s must be a string (use unicast_peers for a list)", ld->key);
        return;
    }
    vrrp_each_string(ld, s, CONF_VRRP_MAX_PEERS, vrrp_add_peer, in);
}

/* ---- tracked objects ---- */

#define TIF struct conf_vrrp_track_if
static const struct key_spec track_if_keys[] = {
    CUSTOMF("name", KEY_REQUIRED, vrrp_load_ifname, 0, TIF, name),
    CUSTOMF("weight", 0, vrrp_load_weight, 0, TIF, weight),
    KEYS_END
};
#undef TIF

#define TSC struct conf_vrrp_track_script
static const struct key_spec track_script_keys[] = {
    CUSTOMF("path", KEY_REQUIRED, load_path, 0, TSC, path),
    DURATION("interval", TSC, interval_ms, 0, 100),
    DURATION("timeout", TSC, timeout_ms, 0, 10),
    CUSTOMF("weight", 0, vrrp_load_weight, 0, TSC, weight),
    KEYS_END
};
#undef TSC

/* Reads a list of groups into a calloc'ed array of n elements of `size`
 * bytes; `line_off` is where each element keeps its line. */
static void *vrrp_load_list(struct loader *ld, const config_setting_t *s, const char *what,
                            const struct key_spec *keys, size_t size, size_t line_off,
                            unsigned *count)
{
    int n = list_length(ld, s, what);
    if (n <= 0)
        return NULL;
    if (n > CONF_VRRP_MAX_TRACKS) {
        ld_error(ld, s, "%s has %d entries; at most %d are allowed", ld->key, n,
                 CONF_VRRP_MAX_TRACKS);
        return NULL;
    }
    char *arr = calloc((size_t)n, size);
    if (!arr)
        return NULL;
    *count = (unsigned)n;
    struct key_saved sv;
    key_enter(ld, &sv);
    for (unsigned i = 0; i < *count; i++) {
        const config_setting_t *el = config_setting_get_elem(s, i);
        size_t ctx = ctx_push(ld, "%s #%u", what, i + 1);
        *(int *)(arr + i * size + line_off) = (int)config_setting_source_line(el);
        if (elem_is_group(ld, el))
            load_keys(ld, el, keys, arr + i * size);
        ctx_pop(ld, ctx);
    }
    key_leave(ld, &sv);
    return arr;
}

static void vrrp_load_track_ifs(struct loader *ld, const config_setting_t *s,
                                const struct key_spec *k, void *obj)
{
    struct conf_vrrp_instance *in = obj;
    in->track_ifs = vrrp_load_list(ld, s, "track_interface", track_if_keys,
                                   sizeof(*in->track_ifs),
                                   offsetof(struct conf_vrrp_track_if, line), &in->ntrack_ifs);
}

static void vrrp_load_track_scripts(struct loader *ld, const config_setting_t *s,
                                    const struct key_spec *k, void *obj)
{
    struct conf_vrrp_instance *in = obj;
    in->track_scripts = vrrp_load_list(ld, s, "track_script", track_script_keys,
                                       sizeof(*in->track_scripts),
                                       offsetof(struct conf_vrrp_track_script, line),
                                       &in->ntrack_scripts);
    for (unsigned i = 0; i < in->ntrack_scripts; i++) {
        struct conf_vrrp_track_script *t = &in->track_scripts[i];
        if (!t->interval_ms)
            t->interval_ms = 2000;
        if (!t->timeout_ms || t->timeout_ms > t->interval_ms)
            t->timeout_ms = t->interval_ms;
    }
}

/* ---- instances ---- */

#define INS struct conf_vrrp_instance
static const struct key_spec instance_keys[] = {
    NAME("name", INS, name, KEY_REQUIRED),
    UINT("vrid", INS, vrid, KEY_REQUIRED, 1, 255),
    UINT("priority", INS, priority, 0, 1, 255),
    UINT("advert_ms", INS, advert_ms, 0, 10, 40950),
    CUSTOM("vips", KEY_REQUIRED, vrrp_load_vips, 0),
    CUSTOM("unicast_peer", 0, vrrp_load_peers, 0),
    CUSTOM("unicast_peers", 0, vrrp_load_peers, 1),
    BOOL("preempt", INS, preempt, 0),
    DURATION("preempt_delay", INS, preempt_delay_ms, 0, 0),
    BOOL("track_proxy", INS, track_proxy, 0),
    CUSTOM("track_interfaces", 0, vrrp_load_track_ifs, 0),
    CUSTOM("track_scripts", 0, vrrp_load_track_scripts, 0),
    CUSTOMF("notify", 0, load_path, 0, INS, notify),
    UINT("garp_count", INS, garp_count, 0, 0, 100),
    DURATION("garp_delay", INS, garp_delay_ms, 0, 0),
    CUSTOMF("interface", 0, vrrp_load_ifname, 0, INS, interface),
    KEYS_END
};
#undef INS

static void vrrp_instance_defaults(struct conf_vrrp_instance *in, int line)
{
    in->priority = 100;
    in->advert_ms = 1000;
    in->preempt = 1;
    in->garp_count = 3;
    in->garp_delay_ms = 100;
    in->line = line;
}

static const config_setting_t *member_or(const config_setting_t *el, const char *name)
{
    const config_setting_t *m = config_setting_get_member(el, name);
    return m ? m : el;
}

/* RFC 5798 section 5: one address family per virtual router. */
static void vrrp_check_family(struct loader *ld, const config_setting_t *el,
                              struct conf_vrrp_instance *in)
{
    if (in->nvips == 0)
        return;
    in->family = in->vips[0].family;
    for (unsigned i = 1; i < in->nvips; i++) {
        if (in->vips[i].family != in->family) {
            ld_error(ld, member_or(el, "vips"),
                     "vips mix IPv4 and IPv6: one address family per instance (RFC 5798); "
                     "use two instances");
            return;
        }
    }
    for (unsigned i = 0; i < in->npeers; i++) {
        if (in->peers[i].ss.ss_family != in->family) {
            ld_error(ld, member_or(el, in->npeers > 1 ? "unicast_peers" : "unicast_peer"),
                     "unicast peer is not of the VIPs' address family (%s)",
                     in->family == AF_INET ? "IPv4" : "IPv6");
            return;
        }
    }
}

static void vrrp_check_instance(struct loader *ld, const config_setting_t *el,
                                struct conf_vrrp *cfg, unsigned i)
{
    struct conf_vrrp_instance *in = &cfg->instances[i];
    if (in->advert_ms % 10)
        ld_error(ld, member_or(el, "advert_ms"),
                 "advert_ms %u is not a multiple of 10 (VRRP counts centiseconds)", in->advert_ms);
    vrrp_check_family(ld, el, in);
    if (!in->interface && !cfg->interface)
        ld_error(ld, el, "no interface: set vrrp.interface or the instance's interface");
    check_dup_name(ld, el, cfg->instances, sizeof(*in), offsetof(struct conf_vrrp_instance, name),
                   i, "instance", &cfg->instances[0].line);
    for (unsigned j = 0; j < i; j++) {
        const struct conf_vrrp_instance *o = &cfg->instances[j];
        if (o->vrid == in->vrid && o->family == in->family
            && strcmp(conf_vrrp_ifname(cfg, o) ? conf_vrrp_ifname(cfg, o) : "",
                      conf_vrrp_ifname(cfg, in) ? conf_vrrp_ifname(cfg, in) : "") == 0) {
            ld_error(ld, member_or(el, "vrid"),
                     "vrid %u is already used on this interface by instance \"%s\" (line %d)",
                     in->vrid, o->name ? o->name : "?", o->line);
            break;
        }
    }
}

/* A VIP belongs to one instance only: two would fight over it. */
static void vrrp_check_vip_owners(struct loader *ld, const config_setting_t *el,
                                  struct conf_vrrp *cfg, unsigned i)
{
    const struct conf_vrrp_instance *in = &cfg->instances[i];
    for (unsigned v = 0; v < in->nvips; v++) {
        for (unsigned j = 0; j < i; j++) {
            const struct conf_vrrp_instance *o = &cfg->instances[j];
            for (unsigned w = 0; w < o->nvips; w++) {
                if (o->vips[w].family == in->vips[v].family
                    && memcmp(o->vips[w].addr, in->vips[v].addr, 16) == 0)
                    ld_error(ld, member_or(el, "vips"),
                             "a VIP is also in instance \"%s\" (line %d)",
                             o->name ? o->name : "?", o->line);
            }
        }
    }
}

static void vrrp_load_instances(struct loader *ld, const config_setting_t *s,
                                const struct key_spec *k, void *obj)
{
    struct conf_vrrp *cfg = obj;
    int n = list_length(ld, s, "instances");
    if (n < 0)
        return;
    if (n == 0 || n > CONF_VRRP_MAX_INSTANCES) {
        ld_error(ld, s, "instances must have 1-%d entries", CONF_VRRP_MAX_INSTANCES);
        return;
    }
    if (!(cfg->instances = calloc((size_t)n, sizeof(*cfg->instances))))
        return;
    cfg->ninstances = (unsigned)n;
    struct key_saved sv;
    key_enter(ld, &sv);
    for (unsigned i = 0; i < cfg->ninstances; i++) {
        const config_setting_t *el = config_setting_get_elem(s, i);
        size_t ctx = ctx_push_elem(ld, "instance", el, i);
        vrrp_instance_defaults(&cfg->instances[i], (int)config_setting_source_line(el));
        if (elem_is_group(ld, el)) {
            load_keys(ld, el, instance_keys, &cfg->instances[i]);
            vrrp_check_instance(ld, el, cfg, i);
            vrrp_check_vip_owners(ld, el, cfg, i);
        }
        ctx_pop(ld, ctx);
    }
    key_leave(ld, &sv);
}

/* Interface first so the instances can fall back on it. */
#define VR struct conf_vrrp
static const struct key_spec vrrp_keys[] = {
    CUSTOMF("interface", 0, vrrp_load_ifname, 0, VR, interface),
    CUSTOMF("status_socket", 0, load_path, 1, VR, status_socket),
    BOOL("sched_rr", VR, sched_rr, 0),
    UINT("rt_priority", VR, rt_priority, 0, 1, 99),
    CUSTOMF("track_proxy_socket", 0, load_path, 1, VR, track_proxy_socket),
    DURATION("track_proxy_timeout", VR, track_proxy_timeout_ms, 0, 10),
    DURATION("track_proxy_interval", VR, track_proxy_interval_ms, 0, 50),
    CUSTOM("instances", KEY_REQUIRED, vrrp_load_instances, 0),
    KEYS_END
};
#undef VR

static void vrrp_defaults(struct conf_vrrp *cfg)
{
    cfg->sched_rr = 1;
    cfg->rt_priority = 50;
    cfg->track_proxy_timeout_ms = 500;
    cfg->track_proxy_interval_ms = 1000;
}

static int vrrp_default_paths(struct conf_vrrp *cfg)
{
    if (!cfg->status_socket && !(cfg->status_socket = strdup(RUNSTATEDIR "/tandem/vrrp.sock")))
        return -1;
    if (!cfg->track_proxy_socket
        && !(cfg->track_proxy_socket = strdup(RUNSTATEDIR "/tandem/proxy.sock")))
        return -1;
    return 0;
}

static struct conf_vrrp *vrrp_from_tree(config_t *lc, const char *path, struct conf_errors *errs)
{
    struct loader ld = { .path = path };
    struct conf_vrrp *cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(cfg->path = strdup(path))) {
        free(cfg);
        conf_errors_add(errs, path, 0, "out of memory");
        return NULL;
    }
    vrrp_defaults(cfg);
    const config_setting_t *s = config_setting_get_member(config_root_setting(lc), "vrrp");
    strcpy(ld.key, "vrrp");
    if (!s)
        ld_error(&ld, NULL, "no vrrp section: tandem-vrrp has nothing to do");
    else if (want_type(&ld, s, CONFIG_TYPE_GROUP, "a group { ... }") == 0) {
        cfg->line = (int)config_setting_source_line(s);
        strcpy(ld.key, "vrrp.");
        ld.keypfx = strlen(ld.key);
        load_keys(&ld, s, vrrp_keys, cfg);
    }
    int failed = ld.nmsgs > 0 || vrrp_default_paths(cfg) < 0;
    loader_flush(&ld, errs);
    if (failed) {
        conf_vrrp_free(cfg);
        return NULL;
    }
    return cfg;
}

static void *vrrp_tree(config_t *lc, const char *name, struct conf_errors *errs)
{
    return vrrp_from_tree(lc, name, errs);
}

struct conf_vrrp *conf_load_vrrp(const char *path, struct conf_errors *errs)
{
    return conf_read_file(path, vrrp_tree, errs);
}

struct conf_vrrp *conf_load_vrrp_string(const char *text, const char *name,
                                        struct conf_errors *errs)
{
    return conf_read_text(text, name, vrrp_tree, errs);
}

const struct conf_vrrp_instance *conf_vrrp_find(const struct conf_vrrp *cfg, const char *name)
{
    for (unsigned i = 0; i < cfg->ninstances; i++)
        if (cfg->instances[i].name && strcmp(cfg->instances[i].name, name) == 0)
            return &cfg->instances[i];
    return NULL;
}

const char *conf_vrrp_ifname(const struct conf_vrrp *cfg, const struct conf_vrrp_instance *in)
{
    return in->interface ? in->interface : cfg->interface;
}

static void vrrp_instance_free(struct conf_vrrp_instance *in)
{
    free(in->name);
    free(in->vips);
    free(in->peers);
    for (unsigned i = 0; i < in->ntrack_ifs; i++)
        free(in->track_ifs[i].name);
    free(in->track_ifs);
    for (unsigned i = 0; i < in->ntrack_scripts; i++)
        free(in->track_scripts[i].path);
    free(in->track_scripts);
    free(in->notify);
    free(in->interface);
}

void conf_vrrp_free(struct conf_vrrp *cfg)
{
    if (!cfg)
        return;
    for (unsigned i = 0; i < cfg->ninstances; i++)
        vrrp_instance_free(&cfg->instances[i]);
    free(cfg->instances);
    free(cfg->path);
    free(cfg->interface);
    free(cfg->status_socket);
    free(cfg->track_proxy_socket);
    free(cfg);
}
