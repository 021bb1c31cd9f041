/* conf_sticky.h - the loader of a backend's sticky = { ... } group
 * (conf_sticky.c), called from conf.c's backend table. Private to
 * src/common/conf*.c. */
#ifndef TANDEM_CONF_STICKY_H
#define TANDEM_CONF_STICKY_H

#include "conf_priv.h"

/* Keys of sticky = { ... } (fields of struct conf_backend). */
extern const struct key_spec conf_sticky_keys[];

void conf_sticky_defaults(struct conf_backend *b);
/* Checks that need the whole group (el is the backend's group). */
void conf_sticky_check(struct loader *ld, const config_setting_t *el,
                       const struct conf_backend *b);
void conf_sticky_free(struct conf_sticky *s);

#endif
