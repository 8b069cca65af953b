#include "tests/unit/test.h"

#include "common/utf8.h"

static void
decode(void **state)
{
        uint32_t cp = 0;

        assert_int_equal(utf8_next("A", 1, &cp), 1);
        assert_int_equal(cp, 'A');
        assert_int_equal(utf8_next("\xc3\xa9", 2, &cp), 2); /* é */
        assert_int_equal(cp, 0xe9);
        assert_int_equal(utf8_next("\xed\x95\x9c", 3, &cp), 3); /* 한 */
        assert_int_equal(cp, 0xd55c);
        assert_int_equal(utf8_next("\xf0\x9f\x90\xb3", 4, &cp), 4); /* 🐳 */
        assert_int_equal(cp, 0x1f433);
        /* Truncated, bad continuation, stray continuation, invalid lead:
         * one byte each, U+FFFD, never reading past N. */
        assert_int_equal(utf8_next("\xc3\xa9", 1, &cp), 1);
        assert_int_equal(cp, 0xfffd);
        assert_int_equal(utf8_next("\xe2\x28\xa1", 3, &cp), 1);
        assert_int_equal(cp, 0xfffd);
        assert_int_equal(utf8_next("\x80", 1, &cp), 1);
        assert_int_equal(cp, 0xfffd);
        assert_int_equal(utf8_next("\xff", 1, &cp), 1);
        assert_int_equal(cp, 0xfffd);
        /* Overlong '/', overlong U+07FF, a surrogate, past U+10FFFF. */
        assert_int_equal(utf8_next("\xc0\xaf", 2, &cp), 1);
        assert_int_equal(cp, 0xfffd);
        assert_int_equal(utf8_next("\xe0\x9f\xbf", 3, &cp), 1);
        assert_int_equal(cp, 0xfffd);
        assert_int_equal(utf8_next("\xed\xa0\x80", 3, &cp), 1);
        assert_int_equal(cp, 0xfffd);
        assert_int_equal(utf8_next("\xf4\x90\x80\x80", 4, &cp), 1);
        assert_int_equal(cp, 0xfffd);
        /* The real U+FFFD and U+10FFFF are fine. */
        assert_int_equal(utf8_next("\xef\xbf\xbd", 3, &cp), 3);
        assert_int_equal(cp, 0xfffd);
        assert_int_equal(utf8_next("\xf4\x8f\xbf\xbf", 4, &cp), 4);
        assert_int_equal(cp, 0x10ffff);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(decode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
