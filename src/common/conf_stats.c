/* conf_stats.c - stats = { bind = "127.0.0.1:8404"; auth = { user; password; }; }
 * The listener is off when the section is absent. */
#include "config.h"
#include "conf_stats.h"

#include <stdlib.h>
#include <string.h>

static void load_stats_bind(struct loader *ld, const config_setting_t *s,
                            const struct key_spec *k, void *obj)
{
    struct tandem_config *cfg = obj;
    const char *v = get_string(ld, s), *err;
    if (!v)
        return;
    if (addr_parse_hostport(v, &cfg->stats.bind, &err) < 0) {
        ld_error(ld, s, "%s \"%s\": %s", ld->key, v, err);
        return;
    }
    if (addr_port((struct sockaddr *)&cfg->stats.bind.ss) == 0) {
        ld_error(ld, s, "%s \"%s\": port 0 is not allowed", ld->key, v);
        return;
    }
    cfg->stats.enabled = 1;
}

/* Basic auth sends "user:password": a colon in the user name would split
 * it in the wrong place. */
static void load_stats_user(struct loader *ld, const config_setting_t *s,
                            const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (!v)
        return;
    if (!v[0] || strchr(v, ':') || !no_ctl_chars(v)) {
        ld_error(ld, s, "%s \"%s\" must be non-empty, without ':' or control characters",
                 ld->key, v);
        return;
    }
    load_string(ld, s, k, obj);
}

static void load_stats_password(struct loader *ld, const config_setting_t *s,
                                const struct key_spec *k, void *obj)
{
    const char *v = get_string(ld, s);
    if (!v)
        return;
    if (!no_ctl_chars(v)) {
        ld_error(ld, s, "%s must not contain control characters", ld->key);
        return;
    }
    load_string(ld, s, k, obj);
}

static const struct key_spec stats_auth_keys[] = {
    CUSTOMF("user", KEY_REQUIRED, load_stats_user, 0, struct tandem_config, stats.user),
    CUSTOMF("password", KEY_REQUIRED, load_stats_password, 0, struct tandem_config,
            stats.password),
    KEYS_END
};

const struct key_spec conf_stats_keys[] = {
    CUSTOM("bind", KEY_REQUIRED, load_stats_bind, 0),
    GROUP("auth", 0, stats_auth_keys),
    KEYS_END
};

void conf_stats_free(struct tandem_config *cfg)
{
    free(cfg->stats.user);
    free(cfg->stats.password);
}
