/* registry/common/range: the strict number and byte-range parser both
 * sides use (server: PATCH Content-Range; client: upload Range, resumed
 * GET Content-Range). */
#include "tests/unit/test.h"

#include <errno.h>

#include "registry/common/range.h"

static void
numbers(void **state)
{
        uint64_t v = 7;

        assert_int_equal(reg_parse_u64("0", 1, &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(reg_parse_u64("1234567890123456789", 19, &v), 0);
        assert_true(v == UINT64_C(1234567890123456789));
        /* The whole uint64 range, and not one past it. */
        assert_int_equal(reg_parse_u64("18446744073709551615", 20, &v), 0);
        assert_true(v == UINT64_MAX);
        v = 7;
        assert_int_equal(reg_parse_u64("18446744073709551616", 20, &v), -ERANGE);
        assert_int_equal(reg_parse_u64("99999999999999999999", 20, &v), -ERANGE);
        assert_int_equal(reg_parse_u64("100000000000000000000", 21, &v), -ERANGE);
        assert_int_equal(reg_parse_u64("000000000000000000001", 21, &v), -ERANGE);
        /* Only the LEN characters count. */
        assert_int_equal(reg_parse_u64("12x", 2, &v), 0);
        assert_int_equal(v, 12);
        v = 7;
        /* No sign, no blanks, no trailing text, not empty. */
        assert_int_equal(reg_parse_u64("", 0, &v), -EINVAL);
        assert_int_equal(reg_parse_u64("+1", 2, &v), -EINVAL);
        assert_int_equal(reg_parse_u64("-1", 2, &v), -EINVAL);
        assert_int_equal(reg_parse_u64(" 1", 2, &v), -EINVAL);
        assert_int_equal(reg_parse_u64("1 ", 2, &v), -EINVAL);
        assert_int_equal(reg_parse_u64("1 0", 3, &v), -EINVAL);
        assert_int_equal(reg_parse_u64("5abc", 4, &v), -EINVAL);
        assert_int_equal(reg_parse_u64("0x10", 4, &v), -EINVAL);
        assert_int_equal(reg_parse_u64("1\0002", 3, &v), -EINVAL);
        assert_int_equal(v, 7); /* untouched on failure */
}

static void
byte_ranges(void **state)
{
        uint64_t a = 7, b = 7, t = 7;

        assert_ok(reg_byte_range_parse("0-99", &a, &b, &t, err));
        assert_true(a == 0 && b == 99 && t == REG_RANGE_TOTAL_UNKNOWN);
        assert_ok(reg_byte_range_parse("bytes 100-199/1000", &a, &b, &t, err));
        assert_true(a == 100 && b == 199 && t == 1000);
        assert_ok(reg_byte_range_parse("bytes=5-5", &a, &b, NULL, err));
        assert_true(a == 5 && b == 5);
        assert_ok(reg_byte_range_parse(" \tbytes 0-9/*  ", &a, &b, &t, err));
        assert_true(a == 0 && b == 9 && t == REG_RANGE_TOTAL_UNKNOWN);
        /* The last byte of a blob of the largest size a length can give. */
        assert_ok(reg_byte_range_parse("0-18446744073709551614", &a, &b, &t, err));
        assert_true(b == UINT64_MAX - 1);
        assert_ok(reg_byte_range_parse("9-9/10", &a, &b, &t, err));
        assert_true(a == 9 && b == 9 && t == 10);

        a = b = t = 7;
        /* Signs and blanks inside the numbers (sscanf("%lu") takes them). */
        assert_fails(reg_byte_range_parse("+0-5", &a, &b, &t, err), ERR_RANGE_INVALID, "'+0-5'", "malformed");
        assert_fails(reg_byte_range_parse("0-+5", &a, &b, &t, err), ERR_RANGE_INVALID, "'0-+5'", NULL);
        assert_fails(reg_byte_range_parse("0--5", &a, &b, &t, err), ERR_RANGE_INVALID, "'0--5'", NULL);
        assert_fails(reg_byte_range_parse("-1-5", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("0 -5", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("0- 5", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("1 0-5", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("0-5abc", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("0-5-6", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("bytes 0-5 /6", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        /* Missing parts. */
        assert_fails(reg_byte_range_parse("-5", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("5-", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("5", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("bytes=", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("abc", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse(NULL, &a, &b, &t, err), ERR_RANGE_INVALID, "missing", NULL);
        /* Backwards, overflowing, or a length that does not fit. */
        assert_fails(reg_byte_range_parse("9-3", &a, &b, &t, err), ERR_RANGE_INVALID, "ends before it starts", NULL);
        assert_fails(reg_byte_range_parse("0-18446744073709551616", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("18446744073709551616-1", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("0-18446744073709551615", &a, &b, &t, err), ERR_RANGE_INVALID, "too large",
                     NULL);
        /* The total: digits or '*', and past the range's end. */
        assert_fails(reg_byte_range_parse("bytes 0-5/5", &a, &b, &t, err), ERR_RANGE_INVALID, "total", NULL);
        assert_fails(reg_byte_range_parse("bytes 0-5/x", &a, &b, &t, err), ERR_RANGE_INVALID, "total", NULL);
        assert_fails(reg_byte_range_parse("bytes 0-5/", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("bytes 0-5/-6", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("bytes 0-5/**", &a, &b, &t, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_true(a == 7 && b == 7 && t == 7); /* untouched on failure */
}

/* A long value is quoted cut short, never whole. */
static void
long_value_quoted_short(void **state)
{
        char v[600];
        struct err *e = NULL;
        uint64_t a, b;

        memset(v, '1', sizeof(v) - 1);
        v[sizeof(v) - 1] = '\0';
        assert_true(reg_byte_range_parse(v, &a, &b, NULL, &e) < 0);
        assert_true(strlen(err_msg(&e)) < 200);
        err_clear(&e);
}

/* The server's PATCH Content-Range: no total needed. */
static void
content_ranges(void **state)
{
        uint64_t a = 99, b = 99;

        assert_ok(reg_byte_range_parse("0-99", &a, &b, NULL, err));
        assert_true(a == 0 && b == 99);
        assert_ok(reg_byte_range_parse("bytes 100-199/1000", &a, &b, NULL, err));
        assert_true(a == 100 && b == 199);
        a = b = 7;
        assert_fails(reg_byte_range_parse("9-3", &a, &b, NULL, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("0-+3", &a, &b, NULL, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse("0-18446744073709551615", &a, &b, NULL, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_byte_range_parse(NULL, &a, &b, NULL, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_true(a == 7 && b == 7);
}

/* The client's upload Range "0-N" -> N + 1.  The old client read it with
 * sscanf("%lu-%lu") and added 1: "0-+65535" passed, "0--5" became
 * 2^64 - 5, and "0-18446744073709551615" wrapped to offset 0. */
static void
upload_ranges(void **state)
{
        uint64_t next = 7;

        assert_ok(reg_upload_range_parse("0-0", &next, err));
        assert_true(next == 1);
        assert_ok(reg_upload_range_parse("0-65535", &next, err));
        assert_true(next == 65536);
        assert_ok(reg_upload_range_parse("bytes=0-9", &next, err));
        assert_true(next == 10);
        assert_ok(reg_upload_range_parse("0-18446744073709551614", &next, err));
        assert_true(next == UINT64_MAX);
        next = 7;
        assert_fails(reg_upload_range_parse("0-+65535", &next, err), ERR_RANGE_INVALID, "'0-+65535'", NULL);
        assert_fails(reg_upload_range_parse("0--5", &next, err), ERR_RANGE_INVALID, "'0--5'", NULL);
        assert_fails(reg_upload_range_parse("0-18446744073709551615", &next, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_upload_range_parse("0-99999999999999999999", &next, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_upload_range_parse("0-5 junk", &next, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_upload_range_parse("5-9", &next, err), ERR_RANGE_INVALID, "does not start at 0", NULL);
        assert_fails(reg_upload_range_parse("9-5", &next, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_fails(reg_upload_range_parse(NULL, &next, err), ERR_RANGE_INVALID, NULL, NULL);
        assert_true(next == 7);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(numbers),        cmocka_unit_test(byte_ranges),
                cmocka_unit_test(long_value_quoted_short), cmocka_unit_test(content_ranges),
                cmocka_unit_test(upload_ranges),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
