#include "tests/unit/test.h"

#include <stdlib.h>

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

static void
expect_sanitized(const char *in, size_t max, const char *want)
{
        char *out = utf8_sanitize(in, max);

        if (strcmp(out, want) != 0)
                fail_msg("utf8_sanitize(\"%s\", %zu) = \"%s\", want \"%s\"", in, max, out, want);
        free(out);
}

static void
sanitize(void **state)
{
        /* Valid text passes through byte for byte. */
        expect_sanitized("", SIZE_MAX, "");
        expect_sanitized("plain ascii: 0-9 ~", SIZE_MAX, "plain ascii: 0-9 ~");
        expect_sanitized("caf\xc3\xa9 \xed\x95\x9c \xf0\x9f\x90\xb3 \xef\xbf\xbd \xf4\x8f\xbf\xbf", SIZE_MAX,
                         "caf\xc3\xa9 \xed\x95\x9c \xf0\x9f\x90\xb3 \xef\xbf\xbd \xf4\x8f\xbf\xbf");
        /* Each bad byte becomes one '?', the text around it is kept. */
        expect_sanitized("a\xff" "b", SIZE_MAX, "a?b");
        expect_sanitized("a\x80\x80" "b", SIZE_MAX, "a?" "?b");            /* stray continuations */
        expect_sanitized("\xc0\xaf/", SIZE_MAX, "?" "?/");               /* overlong '/' */
        expect_sanitized("\xe0\x80\xaf", SIZE_MAX, "???");           /* overlong, 3 bytes */
        expect_sanitized("\xf0\x80\x80\xaf", SIZE_MAX, "????");     /* overlong, 4 bytes */
        expect_sanitized("x\xed\xa0\x80y", SIZE_MAX, "x???y");       /* surrogate U+D800 */
        expect_sanitized("\xed\xbf\xbf", SIZE_MAX, "???");           /* surrogate U+DFFF */
        expect_sanitized("\xf4\x90\x80\x80", SIZE_MAX, "????");     /* past U+10FFFF */
        expect_sanitized("\xe2\x28\xa1", SIZE_MAX, "?(?");           /* bad continuation */
        expect_sanitized("end \xc3", SIZE_MAX, "end ?");              /* truncated at the end */
        expect_sanitized("end \xf0\x9f\x90", SIZE_MAX, "end ???");   /* truncated 4-byte */
        expect_sanitized("\xc3\xa9\xc3", SIZE_MAX, "\xc3\xa9?");      /* good, then truncated */
        /* The cap counts output bytes and never cuts a sequence. */
        expect_sanitized("abcdef", 3, "abc");
        expect_sanitized("ab\xc3\xa9", 3, "ab");
        expect_sanitized("ab\xc3\xa9", 4, "ab\xc3\xa9");
        expect_sanitized("a\xf0\x9f\x90\xb3", 4, "a");
        expect_sanitized("a\xff\xff", 2, "a?");
        expect_sanitized("abc", 0, "");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(decode),
                cmocka_unit_test(sanitize),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
