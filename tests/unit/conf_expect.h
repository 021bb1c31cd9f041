/* conf_expect.h - comparing a loader's "FILE:LINE: message" errors with the
 * expected ones, for every config-loader suite. Messages carry the full
 * path of the test file; they are compared from the file name on. */
#ifndef TANDEM_CONF_EXPECT_H
#define TANDEM_CONF_EXPECT_H

#include <stdio.h>
#include <string.h>
#include "unit.h"
#include "conf.h"

/* msg without its leading "dir/" (unchanged if it has none). */
static inline const char *conf_expect_rel(const char *dir, const char *msg)
{
    size_t n = strlen(dir);
    return strncmp(msg, dir, n) == 0 && msg[n] == '/' ? msg + n + 1 : msg;
}

/* Fails the test (and prints both sides) unless errs holds exactly the
 * messages in want, in order. */
static inline void conf_expect_messages(const struct conf_errors *errs, const char *dir,
                                        const char *file, const char *const *want,
                                        unsigned nwant)
{
    CU_ASSERT_EQUAL(errs->n, nwant);
    for (unsigned i = 0; i < errs->n || i < nwant; i++) {
        const char *got = i < errs->n ? conf_expect_rel(dir, errs->msgs[i]) : "(none)";
        const char *exp = i < nwant ? want[i] : "(none)";
        if (strcmp(got, exp) != 0) {
            fprintf(stderr, "# %s: message %u\n#   got:  %s\n#   want: %s\n", file, i, got, exp);
            CU_FAIL("unexpected error message");
        }
    }
}

#endif
