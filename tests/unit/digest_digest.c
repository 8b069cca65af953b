#include "tests/unit/test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "digest/digest.h"

static const char *EMPTY256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char *ABC256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *ABC512 = "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

static void
known_vectors(void **state)
{
        struct digest d;
        struct digest_ctx *c;

        digest_buffer(DIGEST_SHA256, "", 0, &d);
        assert_string_equal(d.str, EMPTY256);
        digest_buffer(DIGEST_SHA256, "abc", 3, &d);
        assert_string_equal(d.str, ABC256);
        assert_string_equal(d.hex, ABC256 + 7);
        digest_buffer(DIGEST_SHA512, "abc", 3, &d);
        assert_string_equal(d.str, ABC512);

        /* Streaming in pieces gives the same answer. */
        c = digest_ctx_new(DIGEST_SHA256);
        digest_ctx_update(c, "a", 1);
        digest_ctx_update(c, "", 0);
        digest_ctx_update(c, "bc", 2);
        assert_int_equal(digest_ctx_size(c), 3);
        digest_ctx_final(c, &d);
        assert_string_equal(d.str, ABC256);
        digest_ctx_reset(c);
        digest_ctx_final(c, &d);
        assert_string_equal(d.str, EMPTY256);
        digest_ctx_free(c);
        digest_ctx_free(NULL);
}

static void
parse_valid(void **state)
{
        struct digest d;
        struct err *e = NULL;

        assert_int_equal(digest_parse(ABC256, &d, &e), 0);
        assert_int_equal(d.alg, DIGEST_SHA256);
        assert_string_equal(d.str, ABC256);
        assert_string_equal(d.hex, ABC256 + 7);
        assert_int_equal(digest_parse(ABC512, &d, &e), 0);
        assert_int_equal(d.alg, DIGEST_SHA512);
        assert_null(e);
}

static void
expect_invalid(const char *s, int code, const char *needle)
{
        struct digest d;
        struct err *e = NULL;

        assert_true(digest_parse(s, &d, &e) < 0);
        assert_int_equal(err_code(&e), code);
        if (needle && !strstr(err_msg(&e), needle))
                fail_msg("message '%s' lacks '%s'", err_msg(&e), needle);
        err_clear(&e);
}

static void
parse_invalid(void **state)
{
        /* A control byte is named in hex with its position, never echoed. */
        expect_invalid("sha256:ab\x1b[2Jcd", ERR_DIGEST_INVALID, "byte 0x1b at position 10");
        expect_invalid("", ERR_DIGEST_INVALID, "empty");
        expect_invalid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ERR_DIGEST_INVALID,
                       "algorithm");
        expect_invalid(":abc", ERR_DIGEST_INVALID, "algorithm");
        expect_invalid("sha256:", ERR_DIGEST_INVALID, "empty encoded");
        /* Upper-case hex is grammatical but forbidden for sha256. */
        expect_invalid("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
                       ERR_DIGEST_INVALID, "lower-case hex");
        expect_invalid("sha256:ba7816bf", ERR_DIGEST_INVALID, "64 hex");
        expect_invalid("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad00",
                       ERR_DIGEST_INVALID, "64 hex");
        expect_invalid("SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                       ERR_DIGEST_INVALID, "algorithm");
        expect_invalid("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f2001/ad",
                       ERR_DIGEST_INVALID, "'/'");
        expect_invalid("sha256+:abc", ERR_DIGEST_INVALID, "algorithm");
        expect_invalid("sha256..b:abc", ERR_DIGEST_INVALID, "algorithm");
        /* Grammatical, but not a registered algorithm. */
        expect_invalid("md5:d41d8cd98f00b204e9800998ecf8427e", ERR_UNSUPPORTED, "md5");
        expect_invalid("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", ERR_UNSUPPORTED, NULL);
}

static void
grammar(void **state)
{
        assert_true(digest_grammar_ok("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"));
        assert_true(digest_grammar_ok("multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"));
        assert_false(digest_grammar_ok("sha256:"));
        assert_false(digest_grammar_ok("-sha:abc"));
        assert_false(digest_grammar_ok("sha256:ab c"));
        assert_false(digest_grammar_ok("noseparator"));
}

static void
verifier(void **state)
{
        struct digest want;
        struct digest_verifier *v;
        struct err *e = NULL;

        assert_int_equal(digest_parse(ABC256, &want, &e), 0);

        v = digest_verifier_new(&want, 3);
        assert_int_equal(digest_verifier_update(v, "ab", 2, &e), 0);
        assert_int_equal(digest_verifier_update(v, "c", 1, &e), 0);
        assert_int_equal(digest_verifier_finish(v, &e), 0);
        digest_verifier_free(v);

        /* Wrong content, right size. */
        v = digest_verifier_new(&want, 3);
        assert_int_equal(digest_verifier_update(v, "abd", 3, &e), 0);
        assert_true(digest_verifier_finish(v, &e) < 0);
        assert_int_equal(err_code(&e), ERR_DIGEST_INVALID);
        assert_non_null(strstr(err_msg(&e), ABC256));
        err_clear(&e);
        digest_verifier_free(v);

        /* Too many bytes fails at once. */
        v = digest_verifier_new(&want, 3);
        assert_true(digest_verifier_update(v, "abcd", 4, &e) < 0);
        assert_int_equal(err_code(&e), ERR_SIZE_INVALID);
        err_clear(&e);
        digest_verifier_free(v);

        /* Too few bytes fails at the end. */
        v = digest_verifier_new(&want, 3);
        assert_int_equal(digest_verifier_update(v, "ab", 2, &e), 0);
        assert_true(digest_verifier_finish(v, &e) < 0);
        assert_int_equal(err_code(&e), ERR_SIZE_INVALID);
        err_clear(&e);
        digest_verifier_free(v);

        /* Unknown size: only the digest counts. */
        v = digest_verifier_new(&want, -1);
        assert_int_equal(digest_verifier_update(v, "abc", 3, &e), 0);
        assert_int_equal(digest_verifier_finish(v, &e), 0);
        digest_verifier_free(v);
        digest_verifier_free(NULL);
}

/* A struct digest copied by value stands alone: hex must not point into the
 * original (a dangling pointer once that goes out of scope or changes). */
static void
copy_by_value(void **state)
{
        struct digest a, b;
        struct err *e = NULL;

        assert_int_equal(digest_parse(ABC256, &a, &e), 0);
        b = a;
        memset(&a, 'x', sizeof(a));
        assert_string_equal(b.str, ABC256);
        assert_string_equal(b.hex, ABC256 + 7);
        digest_buffer(DIGEST_SHA512, "abc", 3, &a);
        b = a;
        memset(&a, 0, sizeof(a));
        assert_string_equal(b.hex, ABC512 + 7);
}

static void
file_digest(void **state)
{
        char path[] = "/tmp/digest-test.XXXXXX";
        int fd = mkstemp(path);
        struct digest d;
        uint64_t size = 0;
        struct err *e = NULL;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "abc", 3), 3);
        close(fd);
        assert_int_equal(digest_file(DIGEST_SHA256, path, &d, &size, &e), 0);
        assert_string_equal(d.str, ABC256);
        assert_int_equal(size, 3);
        unlink(path);
        assert_true(digest_file(DIGEST_SHA256, path, &d, &size, &e) < 0);
        assert_non_null(strstr(err_msg(&e), path));
        err_clear(&e);
}

static void
hex_checks(void **state)
{
        char s[66];

        (void) state;
        assert_true(digest_is_hex("0123456789abcdef", 16));
        assert_true(digest_is_hex("ab!", 2)); /* reads only LEN bytes */
        assert_false(digest_is_hex("", 0));
        assert_false(digest_is_hex("abcG", 4));
        assert_false(digest_is_hex("ABCD", 4));
        assert_true(digest_is_sha256_hex(ABC256 + 7));
        assert_false(digest_is_sha256_hex(ABC256));
        assert_false(digest_is_sha256_hex(ABC512 + 7)); /* 128, not 64 */
        memcpy(s, ABC256 + 7, 64);
        s[64] = '0';
        s[65] = '\0';
        assert_false(digest_is_sha256_hex(s)); /* 65 */
        s[63] = '\0';
        assert_false(digest_is_sha256_hex(s)); /* 63 */
        s[63] = 'F';
        s[64] = '\0';
        assert_false(digest_is_sha256_hex(s)); /* upper case */
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(known_vectors), cmocka_unit_test(parse_valid),
                cmocka_unit_test(parse_invalid), cmocka_unit_test(grammar),
                cmocka_unit_test(verifier),      cmocka_unit_test(file_digest),
                cmocka_unit_test(copy_by_value), cmocka_unit_test(hex_checks),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
