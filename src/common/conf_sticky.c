/* conf_sticky.c - sticky = { mode; cookie; app_cookie; ttl; max_entries;
 * path; httponly; secure; samesite; } on a backend (docs/sticky.md). */
#include "config.h"
#include "conf_sticky.h"

#include <stdlib.h>
#include <string.h>

static const struct name_map sticky_mode_names[] = {
    { "insert", STICKY_MODE_INSERT },
    { "app", STICKY_MODE_APP },
    { "source", STICKY_MODE_SOURCE },
    { NULL, 0 }
};

static const struct name_map samesite_names[] = {
    { "lax", STICKY_SAMESITE_LAX }, { "Lax", STICKY_SAMESITE_LAX },
    { "strict", STICKY_SAMESITE_STRICT }, { "Strict", STICKY_SAMESITE_STRICT },
    { "none", STICKY_SAMESITE_NONE }, { "None", STICKY_SAMESITE_NONE },
    { "off", STICKY_SAMESITE_OFF },
    { NULL, 0 }
};

#define BE struct conf_backend
const struct key_spec conf_sticky_keys[] = {
    ENUM("mode", BE, sticky.mode, KEY_REQUIRED, sticky_mode_names),
    STRING("cookie", BE, sticky.cookie, 0),
    STRING("app_cookie", BE, sticky.app_cookie, 0),
    DURATION("ttl", BE, sticky.ttl_ms, 0, 1000),
    UINT("max_entries", BE, sticky.max_entries, 0, 1, 100000000),
    STRING("path", BE, sticky.path, 0),
    BOOL("httponly", BE, sticky.httponly, 0),
    BOOL("secure", BE, sticky.secure, 0),
    ENUM("samesite", BE, sticky.samesite, 0, samesite_names),
    KEYS_END
};
#undef BE

void conf_sticky_defaults(struct conf_backend *b)
{
    b->sticky.ttl_ms = 30 * 60 * 1000;
    b->sticky.max_entries = 1000000;
    b->sticky.httponly = 1;
    b->sticky.samesite = STICKY_SAMESITE_LAX;
}

/* A cookie path goes into a Set-Cookie line as is: no ';', no control
 * character, absolute. */
static int valid_cookie_path(const char *p)
{
    return p[0] == '/' && !strchr(p, ';') && no_ctl_chars(p) && !strchr(p, ' ');
}

void conf_sticky_check(struct loader *ld, const config_setting_t *el,
                       const struct conf_backend *b)
{
    const config_setting_t *s = config_setting_get_member(el, "sticky");
    const struct conf_sticky *st = &b->sticky;
    if (!s || st->mode == STICKY_MODE_NONE)
        return;
    if (st->cookie && !is_token(st->cookie))
        ld_error(ld, s, "sticky.cookie \"%s\" is not a valid cookie name", st->cookie);
    if (st->app_cookie && !is_token(st->app_cookie))
        ld_error(ld, s, "sticky.app_cookie \"%s\" is not a valid cookie name", st->app_cookie);
    if (st->mode == STICKY_MODE_APP && !st->app_cookie)
        ld_error(ld, s, "sticky.mode \"app\" needs app_cookie (the server's session cookie, "
                 "e.g. \"JSESSIONID\")");
    if (st->path && !valid_cookie_path(st->path))
        ld_error(ld, s, "sticky.path \"%s\" must start with \"/\" and contain no ';', "
                 "space or control character", st->path);
    if (st->samesite == STICKY_SAMESITE_NONE && !st->secure)
        ld_error(ld, s, "sticky.samesite \"None\" needs secure = true (browsers drop it "
                 "otherwise)");
}

void conf_sticky_free(struct conf_sticky *s)
{
    free(s->cookie);
    free(s->app_cookie);
    free(s->path);
}
