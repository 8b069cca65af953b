/* registry/server/request: percent-decoding of request targets (no control
 * byte ever decoded) and the framing checks against request smuggling. */
#include "tests/unit/test.h"

#include <stdlib.h>

#include "registry/server/request.h"

static void
check_unescape(const char *in, const char *want, bool want_control)
{
        char *s = strdup(in);
        bool control = false;
        size_t n;

        assert_non_null(s);
        n = reg_target_unescape(s, &control);
        if (strcmp(s, want) != 0 || n != strlen(want))
                fail_msg("%s: got '%s' (%zu), want '%s'", in, s, n, want);
        if (control != want_control)
                fail_msg("%s: control %d, want %d", in, control, want_control);
        free(s);
}

static void
unescape(void **state)
{
        (void) state;
        check_unescape("/v2/a/manifests/v1", "/v2/a/manifests/v1", false);
        check_unescape("/v2/a%2Fb/x%3a%41", "/v2/a/b/x:A", false);
        check_unescape("a+b", "a+b", false);
        check_unescape("100%", "100%", false);
        check_unescape("%4", "%4", false);
        check_unescape("%zz%4g", "%zz%4g", false);
        check_unescape("%25", "%", false);
        check_unescape("%2541", "%41", false); /* decoded once only */
        check_unescape("%c3%a9", "\xc3\xa9", false);
        /* a control byte stays encoded and is flagged: no cut at a NUL */
        check_unescape("v1%00x", "v1%00x", true);
        check_unescape("v1%0ax", "v1%0ax", true);
        check_unescape("v1%0Dx", "v1%0Dx", true);
        check_unescape("%1f", "%1f", true);
        check_unescape("%7F%7e", "%7F~", true);
        check_unescape("", "", false);
        /* the flag is sticky across calls */
        {
                char a[] = "%00", b[] = "ok";
                bool c = false;
                reg_target_unescape(a, &c);
                reg_target_unescape(b, &c);
                assert_true(c);
        }
}

#define H(n, v) { n, v }

static void
check_framing(const struct reg_header_field *h, size_t n, bool http10, int want, const char *needle)
{
        struct err *e = NULL;
        int got = reg_framing_check(h, n, http10, &e);

        if (got != want)
                fail_msg("status %d, want %d (%s)", got, want, e ? err_msg(&e) : "");
        if (want == REG_FRAMING_OK)
                assert_null(e);
        else if (!e || !strstr(err_msg(&e), needle))
                fail_msg("message '%s' lacks '%s'", e ? err_msg(&e) : "", needle);
        err_clear(&e);
}

static void
framing(void **state)
{
        (void) state;
        {
                const struct reg_header_field h[] = { H("Host", "x"), H("Content-Length", "5") };
                check_framing(h, 2, false, REG_FRAMING_OK, NULL);
                check_framing(h, 0, true, REG_FRAMING_OK, NULL);
        }
        {
                const struct reg_header_field h[] = { H("Transfer-Encoding", "chunked") };
                check_framing(h, 1, false, REG_FRAMING_OK, NULL);
                check_framing(h, 1, true, REG_FRAMING_BAD, "HTTP/1.0");
        }
        {
                const struct reg_header_field h[] = { H("transfer-encoding", " Chunked\t") };
                check_framing(h, 1, false, REG_FRAMING_OK, NULL);
        }
        {
                /* the smuggling case, either order */
                const struct reg_header_field a[] = { H("Content-Length", "4"), H("Transfer-Encoding", "chunked") };
                const struct reg_header_field b[] = { H("Transfer-Encoding", "chunked"), H("content-length", "0") };
                check_framing(a, 2, false, REG_FRAMING_BAD, "both Transfer-Encoding and Content-Length");
                check_framing(b, 2, false, REG_FRAMING_BAD, "both Transfer-Encoding and Content-Length");
        }
        {
                const struct reg_header_field h[] = { H("Transfer-Encoding", "chunked"),
                                                      H("Transfer-Encoding", "chunked") };
                check_framing(h, 2, false, REG_FRAMING_BAD, "2 times");
        }
        {
                const struct reg_header_field a[] = { H("Transfer-Encoding", "xchunked") };
                const struct reg_header_field b[] = { H("Transfer-Encoding", "gzip, chunked") };
                const struct reg_header_field c[] = { H("Transfer-Encoding", "chunked, gzip") };
                const struct reg_header_field d[] = { H("Transfer-Encoding", "") };
                check_framing(a, 1, false, REG_FRAMING_UNSUPPORTED, "xchunked");
                check_framing(b, 1, false, REG_FRAMING_UNSUPPORTED, "gzip, chunked");
                check_framing(c, 1, false, REG_FRAMING_UNSUPPORTED, "not supported");
                check_framing(d, 1, false, REG_FRAMING_UNSUPPORTED, "not supported");
        }
        {
                const struct reg_header_field a[] = { H("Content-Length", "4"), H("Content-Length", "5") };
                const struct reg_header_field b[] = { H("Content-Length", "4"), H("Content-Length", "4") };
                const struct reg_header_field c[] = { H("Content-Length", "4, 4") };
                const struct reg_header_field d[] = { H("Content-Length", "+4") };
                const struct reg_header_field e[] = { H("Content-Length", "0x10") };
                const struct reg_header_field f[] = { H("Content-Length", "") };
                const struct reg_header_field g[] = { H("Content-Length", "123456789012345678901") };
                check_framing(a, 2, false, REG_FRAMING_BAD, "two different Content-Length");
                check_framing(b, 2, false, REG_FRAMING_OK, NULL);
                check_framing(c, 1, false, REG_FRAMING_BAD, "not a number");
                check_framing(d, 1, false, REG_FRAMING_BAD, "not a number");
                check_framing(e, 1, false, REG_FRAMING_BAD, "not a number");
                check_framing(f, 1, false, REG_FRAMING_BAD, "not a number");
                check_framing(g, 1, false, REG_FRAMING_BAD, "not a number");
        }
        {
                /* "Transfer-Encoding :" must not slip past as another header */
                const struct reg_header_field a[] = { H("Transfer-Encoding ", "chunked") };
                const struct reg_header_field b[] = { H("", "x") };
                const struct reg_header_field c[] = { H("X\x01Y", "x") };
                const struct reg_header_field d[] = { H(NULL, NULL) };
                check_framing(a, 1, false, REG_FRAMING_BAD, "not a token");
                check_framing(b, 1, false, REG_FRAMING_BAD, "not a token");
                check_framing(c, 1, false, REG_FRAMING_BAD, "not a token");
                check_framing(d, 1, false, REG_FRAMING_BAD, "not a token");
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(unescape),
                cmocka_unit_test(framing),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
