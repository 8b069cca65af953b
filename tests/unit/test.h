/* Common includes for cmocka unit tests. */
#ifndef TESTS_UNIT_TEST_H
#define TESTS_UNIT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka.h needs the above first. */
#include <cmocka.h>

#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"

/* Run EXPR, which passes `err` as its error argument, and fail the test with
 * the error's message when EXPR fails. */
#define assert_ok(expr)                                                                                                \
        do {                                                                                                           \
                struct err *e_ = NULL;                                                                                 \
                struct err **err = &e_;                                                                                \
                int r_ = (expr);                                                                                       \
                if (r_ < 0)                                                                                            \
                        fail_msg("%s failed: %s", #expr, err_msg(&e_));                                                \
                err_clear(&e_);                                                                                        \
        } while (0)

static inline void
check_failure(const char *expr, int r, struct err **e, int code, const char *n1, const char *n2)
{
        if (r >= 0)
                fail_msg("%s succeeded", expr);
        if (err_code(e) != code)
                fail_msg("%s: code %d, want %d: %s", expr, err_code(e), code, err_msg(e));
        if (n1 && !strstr(err_msg(e), n1))
                fail_msg("%s: message '%s' lacks '%s'", expr, err_msg(e), n1);
        if (n2 && !strstr(err_msg(e), n2))
                fail_msg("%s: message '%s' lacks '%s'", expr, err_msg(e), n2);
        err_clear(e);
}

/* Run EXPR (which passes `err`), expect failure with CODE and a message
 * containing NEEDLE (and NEEDLE2 when not NULL). */
#define assert_fails(expr, code, needle, needle2)                                                                      \
        do {                                                                                                           \
                struct err *e_ = NULL;                                                                                 \
                struct err **err = &e_;                                                                                \
                int r_ = (expr);                                                                                       \
                check_failure(#expr, r_, &e_, (code), (needle), (needle2));                                            \
        } while (0)

#endif
