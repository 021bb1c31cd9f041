/* conf_ratelimit.h - the loader of rate_limit = { ... } or a list of such
 * groups, on frontends and routes (conf_ratelimit.c), called from conf.c's
 * tables. Private to src/common/conf*.c. */
#ifndef TANDEM_CONF_RATELIMIT_H
#define TANDEM_CONF_RATELIMIT_H

#include "conf_priv.h"

/* K_CUSTOM handler; k->off is the struct conf_ratelimits in obj, k->arg
 * 0 for a frontend (obj: struct conf_frontend), 1 for a route. */
void conf_ratelimit_load(struct loader *ld, const config_setting_t *s,
                         const struct key_spec *k, void *obj);
void conf_ratelimits_free(struct conf_ratelimits *l);

#endif
