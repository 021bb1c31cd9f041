/* unit.h - CUnit suites reported as TAP, one line per test, so automake's
 * harness and CI count every test, not every program.
 *
 * A suite file defines its tests and a table:
 *     static const struct unit_test tests[] = { UNIT_TEST(test_x), ... , {0} };
 *     int main(void) { return unit_run("units", tests); }
 * Several suites in one program: unit_run_suites(). */
#ifndef TANDEM_UNIT_H
#define TANDEM_UNIT_H

#include <CUnit/CUnit.h>

struct unit_test {
    const char *name;
    void (*fn)(void);
};
#define UNIT_TEST(f) { #f, f }

struct unit_suite {
    const char *name;
    const struct unit_test *tests;
};

int unit_run(const char *suite, const struct unit_test *tests);
int unit_run_suites(const struct unit_suite *suites);   /* terminated by {NULL, NULL} */

#endif
