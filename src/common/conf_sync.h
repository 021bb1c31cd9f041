/* conf_sync.h - the top-level sync = { ... } section (conf_sync.c): the
 * channel to the peer box's tandem-proxy that replicates the sticky and
 * connection tables and the rate-limit counters (docs/sync.md). Private to
 * src/common/conf*.c. */
#ifndef TANDEM_CONF_SYNC_H
#define TANDEM_CONF_SYNC_H

#include "conf_priv.h"

/* The handler for the whole group (arg unused): its keys, then the checks
 * that span several keys. */
void conf_sync_load(struct loader *ld, const config_setting_t *s,
                    const struct key_spec *k, void *obj);
void conf_sync_defaults(struct tandem_config *cfg);
void conf_sync_free(struct tandem_config *cfg);

#endif
