/* conf_tls_load.h - conf_tls.c's hooks into conf.c's key tables. Private
 * to src/common/conf*.c. */
#ifndef TANDEM_CONF_TLS_LOAD_H
#define TANDEM_CONF_TLS_LOAD_H

#include "conf_priv.h"
#include "conf_tls.h"

/* K_CUSTOM handlers: frontend tls = { ... } (obj: struct conf_frontend)
 * and backend tls = { ... } (obj: struct conf_backend). */
void conf_tls_load_frontend(struct loader *ld, const config_setting_t *s,
                            const struct key_spec *k, void *obj);
void conf_tls_load_backend(struct loader *ld, const config_setting_t *s,
                           const struct key_spec *k, void *obj);
void conf_tls_check_frontend(struct loader *ld, const config_setting_t *el,
                             const struct tandem_config *cfg,
                             const struct conf_frontend *fe);
void conf_tls_free_frontend(struct conf_tls_frontend *t);
void conf_tls_free_backend(struct conf_tls_backend *t);

#endif
