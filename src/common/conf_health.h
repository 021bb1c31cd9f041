/* conf_health.h - the loader of a backend's health and passive groups
 * (conf_health.c), called from conf.c's backend table. Private to
 * src/common/conf*.c. */
#ifndef TANDEM_CONF_HEALTH_H
#define TANDEM_CONF_HEALTH_H

#include "conf_priv.h"

/* K_CUSTOM handler for health = { ... } (obj: struct conf_backend). */
void conf_health_load(struct loader *ld, const config_setting_t *s,
                      const struct key_spec *k, void *obj);
/* Keys of passive = { ... } (fields of struct conf_backend). */
extern const struct key_spec conf_passive_keys[];

void conf_health_defaults(struct conf_backend *b);
/* Checks that need the whole backend (el is its group). */
void conf_health_check(struct loader *ld, const config_setting_t *el,
                       const struct conf_backend *b);
void conf_health_free(struct conf_health *h);

#endif
