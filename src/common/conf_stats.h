/* conf_stats.h - the top-level stats = { bind; auth = { user; password } }
 * section (conf_stats.c), the proxy's metrics and dashboard listener.
 * Private to src/common/conf*.c. */
#ifndef TANDEM_CONF_STATS_H
#define TANDEM_CONF_STATS_H

#include "conf_priv.h"

extern const struct key_spec conf_stats_keys[];   /* fields of struct tandem_config */
void conf_stats_free(struct tandem_config *cfg);

#endif
