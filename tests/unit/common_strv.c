#include "tests/unit/test.h"

#include "common/strv.h"

static void
push_contains_steal(void **state)
{
        struct strv l = { 0 };
        char **v;
        size_t n = 99;

        /* An empty list still steals as a valid, empty, NULL-terminated array. */
        v = strv_steal(&l, &n);
        assert_non_null(v);
        assert_null(v[0]);
        assert_int_equal(n, 0);
        strv_free(v);

        for (int i = 0; i < 20; i++)
                strv_push(&l, xasprintf("s%d", i));
        assert_int_equal(l.n, 20);
        assert_null(l.v[20]);
        assert_true(strv_contains(&l, "s0"));
        assert_true(strv_contains(&l, "s19"));
        assert_false(strv_contains(&l, "s20"));
        v = strv_steal(&l, &n);
        assert_int_equal(n, 20);
        assert_string_equal(v[7], "s7");
        assert_null(l.v);
        assert_int_equal(l.n, 0);
        strv_free(v);

        strv_push(&l, xstrdup("x"));
        strv_clear(&l);
        assert_null(l.v);
        assert_false(strv_contains(&l, "x"));
        strv_free(NULL);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(push_contains_steal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
