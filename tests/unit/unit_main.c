/* unit_main.c - runs CUnit registries and prints TAP ("ok N - suite: test"). */
#include "config.h"
#include "unit.h"

#include <CUnit/TestRun.h>
#include <stdio.h>

static unsigned tap_index;
static int tap_failed_now;

static void on_test_start(const CU_pTest test, const CU_pSuite suite)
{
    (void)test; (void)suite;
    tap_failed_now = 0;
}

static void on_test_complete(const CU_pTest test, const CU_pSuite suite,
                             const CU_pFailureRecord failures)
{
    tap_index++;
    if (!failures) {
        printf("ok %u - %s: %s\n", tap_index, suite->pName, test->pName);
        return;
    }
    printf("not ok %u - %s: %s\n", tap_index, suite->pName, test->pName);
    for (CU_pFailureRecord f = failures; f; f = f->pNext)
        printf("# %s:%u: %s\n", f->strFileName ? f->strFileName : "?", f->uiLineNumber,
               f->strCondition ? f->strCondition : "");
}

int unit_run_suites(const struct unit_suite *suites)
{
    unsigned total = 0;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    for (const struct unit_suite *s = suites; s->name; s++) {
        CU_pSuite cs = CU_add_suite(s->name, NULL, NULL);
        if (!cs)
            return 2;
        for (const struct unit_test *t = s->tests; t->name; t++, total++)
            if (!CU_add_test(cs, t->name, t->fn))
                return 2;
    }
    printf("1..%u\n", total);
    fflush(stdout);
    CU_set_test_start_handler(on_test_start);
    CU_set_test_complete_handler(on_test_complete);
    CU_run_all_tests();
    unsigned failed = CU_get_number_of_tests_failed();
    unsigned asserts_failed = CU_get_number_of_failures();
    printf("# %u tests, %u failed, %u failed assertions\n", total, failed, asserts_failed);
    CU_cleanup_registry();
    return failed || asserts_failed ? 1 : 0;
}

int unit_run(const char *suite, const struct unit_test *tests)
{
    const struct unit_suite suites[] = { { suite, tests }, { NULL, NULL } };
    return unit_run_suites(suites);
}
