/* fuzz_config.c - the config loader on arbitrary text: parse, check, free.
 * Every input must end in a config or in error messages, never a crash or
 * a leak.
 * fuzz-sources and fuzz-libs are read by tests/fuzz/run.sh: */
/* fuzz-sources: src/common/conf.c src/common/conf_stats.c src/common/conf_health.c src/common/health_expect.c src/common/addr.c src/common/units.c src/common/log.c src/common/conf_ratelimit.c src/common/conf_sticky.c src/common/conf_tls.c src/common/conf_sync.c */
/* fuzz-libs: -lconfig -lssl -lcrypto */
#include "config.h"
#include "conf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libconfig 1.5's scanner leaks a token's text on some syntax errors
 * (e.g. 'a = {\nb";' or 'a""b = 1;'): its bug, not the loader's, a few
 * bytes per rejected file. Ignore only the scanner's allocation sites;
 * a tree the loader forgot to destroy would still be reported. */
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
    /* @include would read whatever file the input names (/dev/zero...). */
    if (!strstr(text, "@include")) {
        struct conf_errors errs = { 0 };
        conf_free(conf_load_proxy_string(text, "fuzz.conf", &errs));
        conf_errors_free(&errs);
    }
    free(text);
    return 0;
}
