/* health_expect.h - the status ranges an http health check accepts
 * ("200-299,301"). Pure: the config loader uses it to refuse bad syntax at
 * load time, the checker to judge a response. */
#ifndef TANDEM_HEALTH_EXPECT_H
#define TANDEM_HEALTH_EXPECT_H

#define HEALTH_EXPECT_MAX 16          /* ranges in one expect string */

struct health_range {
    int lo, hi;                       /* inclusive, 100..599 */
};

/* Parses a comma-separated list of statuses and ranges ("200-299, 301").
 * Fills out[0..*n). Returns 0, or -1 with *err saying what is wrong. */
int health_expect_parse(const char *text, struct health_range *out, unsigned max,
                        unsigned *n, const char **err);

/* 1 if status falls in one of the n ranges. */
int health_expect_match(const struct health_range *r, unsigned n, int status);

#endif
