/* test_conf_sticky.c - a backend's sticky = { ... } group: defaults,
 * values, and the errors an operator gets for a wrong one. */
#include "config.h"
#include "unit.h"
#include "conf.h"

#include <stdio.h>
#include <string.h>

#define FE "frontends = ( { name = \"w\"; bind = \"127.0.0.1:8080\"; mode = \"http\"; " \
           "backend = \"b\"; } );\n"

static struct tandem_config *load_sticky(const char *group, struct conf_errors *errs)
{
    char text[1024];
    snprintf(text, sizeof(text), FE "backends = ( { name = \"b\";\n  sticky = %s;\n"
             "  servers = ( { name = \"s\"; addr = \"127.0.0.1:9001\"; } ); } );\n", group);
    return conf_load_proxy_string(text, "s.conf", errs);
}

static void test_defaults_and_values(void)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = load_sticky("{ mode = \"insert\"; }", &errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const struct conf_sticky *st = &cfg->backends[0].sticky;
    CU_ASSERT_EQUAL(st->mode, STICKY_MODE_INSERT);
    CU_ASSERT_PTR_NULL(st->cookie);                /* "SRV" where used */
    CU_ASSERT_EQUAL(st->ttl_ms, 30 * 60 * 1000);
    CU_ASSERT_EQUAL(st->max_entries, 1000000);
    CU_ASSERT_EQUAL(st->httponly, 1);
    CU_ASSERT_EQUAL(st->secure, 0);
    CU_ASSERT_EQUAL(st->samesite, STICKY_SAMESITE_LAX);
    conf_free(cfg);

    cfg = load_sticky("{ mode = \"app\"; app_cookie = \"JSESSIONID\"; ttl = \"10m\"; "
                      "max_entries = 5000; path = \"/shop\"; httponly = false; secure = true; "
                      "samesite = \"None\"; cookie = \"LB\"; }", &errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    st = &cfg->backends[0].sticky;
    CU_ASSERT_EQUAL(st->mode, STICKY_MODE_APP);
    CU_ASSERT_STRING_EQUAL(st->app_cookie, "JSESSIONID");
    CU_ASSERT_STRING_EQUAL(st->cookie, "LB");
    CU_ASSERT_STRING_EQUAL(st->path, "/shop");
    CU_ASSERT_EQUAL(st->ttl_ms, 600000);
    CU_ASSERT_EQUAL(st->max_entries, 5000);
    CU_ASSERT_EQUAL(st->httponly, 0);
    CU_ASSERT_EQUAL(st->samesite, STICKY_SAMESITE_NONE);
    conf_free(cfg);

    cfg = load_sticky("{ mode = \"source\"; }", &errs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->backends[0].sticky.mode, STICKY_MODE_SOURCE);
    conf_free(cfg);
    CU_ASSERT_EQUAL(errs.n, 0);
}

static void expect_one(const char *group, const char *want)
{
    struct conf_errors errs = { 0 };
    struct tandem_config *cfg = load_sticky(group, &errs);
    CU_ASSERT_PTR_NULL(cfg);
    conf_free(cfg);
    CU_ASSERT_EQUAL(errs.n, 1);
    if (errs.n >= 1 && strcmp(errs.msgs[0], want) != 0) {
        fprintf(stderr, "# got:  %s\n# want: %s\n", errs.msgs[0], want);
        CU_FAIL("unexpected message");
    }
    conf_errors_free(&errs);
}

static void test_errors(void)
{
    expect_one("{ cookie = \"SRV\"; }",
               "s.conf:3: backend \"b\": missing required key \"sticky.mode\"");
    expect_one("{ mode = \"cookie\"; }",
               "s.conf:3: backend \"b\": sticky.mode \"cookie\" is unknown (use insert, app, source)");
    expect_one("{ mode = \"app\"; }",
               "s.conf:3: backend \"b\": sticky.mode \"app\" needs app_cookie (the server's "
               "session cookie, e.g. \"JSESSIONID\")");
    expect_one("{ mode = \"insert\"; cookie = \"S R V\"; }",
               "s.conf:3: backend \"b\": sticky.cookie \"S R V\" is not a valid cookie name");
    expect_one("{ mode = \"insert\"; path = \"/a;b\"; }",
               "s.conf:3: backend \"b\": sticky.path \"/a;b\" must start with \"/\" and contain "
               "no ';', space or control character");
    expect_one("{ mode = \"insert\"; samesite = \"None\"; }",
               "s.conf:3: backend \"b\": sticky.samesite \"None\" needs secure = true "
               "(browsers drop it otherwise)");
    expect_one("{ mode = \"insert\"; ttl = \"10ms\"; }",
               "s.conf:3: backend \"b\": sticky.ttl \"10ms\" is out of range (1s-7d)");
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_defaults_and_values),
    UNIT_TEST(test_errors),
    { 0 },
};

int main(void)
{
    return unit_run("conf_sticky", tests);
}
