/* fuzz_conf_vrrp.c - the vrrp section loader (conf_vrrp.c) on arbitrary
 * text: every input ends in a config or in error messages, never a crash
 * or a leak. The machinery it shares with the proxy's loader lives in
 * conf.c, hence its sources (keep them in step with fuzz_config.c).
 * fuzz-sources and fuzz-libs are read by tests/fuzz/run.sh: */
/* fuzz-sources: src/common/conf_vrrp.c src/common/conf.c src/common/conf_stats.c src/common/conf_health.c src/common/health_expect.c src/common/addr.c src/common/units.c src/common/log.c src/common/conf_ratelimit.c src/common/conf_sticky.c src/common/conf_tls.c src/common/conf_sync.c */
/* fuzz-libs: -lconfig -lssl -lcrypto */
#include "config.h"
#include "conf_vrrp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig's scanner leaks a token on some syntax errors (see
 * fuzz_config.c): its allocation sites only. */
const char *__lsan_default_suppressions(void)
{
    return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct conf_errors errs = { 0 };
    struct conf_vrrp *cfg = conf_load_vrrp_string(text, "fuzz.conf", &errs);
    conf_vrrp_free(cfg);
    conf_errors_free(&errs);
    free(text);
    return 0;
}
