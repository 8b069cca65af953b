#include "tests/unit/test.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "digest/digest.h"

static const char *ABC256 = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char *EMPTY256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/* Hash DATA (LEN bytes) with a save and a restore after every SPLIT bytes,
 * each time through a text copy of the state. */
static void
hash_with_restarts(const unsigned char *data, size_t len, size_t split, struct digest *ret)
{
        struct digest_ctx *c = digest_ctx_new(DIGEST_SHA256);
        size_t off = 0;

        while (off < len) {
                size_t n = len - off < split ? len - off : split;
                char st[DIGEST_STATE_MAX];
                struct err *e = NULL;
                int sl;

                digest_ctx_update(c, data + off, n);
                off += n;
                sl = digest_ctx_save(c, st, sizeof(st), &e);
                assert_true(sl > 0);
                assert_int_equal((size_t) sl, strlen(st));
                digest_ctx_free(c);
                c = digest_ctx_restore(st, (size_t) sl, &e);
                assert_non_null(c);
                assert_int_equal(digest_ctx_size(c), off);
        }
        digest_ctx_final(c, ret);
        digest_ctx_free(c);
}

static void
resume_gives_same_digest(void **state)
{
        static const size_t splits[] = { 1, 3, 63, 64, 65, 100, 128, 4095, 100000 };
        size_t len = 300000, i;
        unsigned char *data = xmalloc(len);
        struct digest want, got;

        (void) state;
        for (i = 0; i < len; i++)
                data[i] = (unsigned char) (i * 7 + (i >> 9));
        digest_buffer(DIGEST_SHA256, data, len, &want);
        for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
                hash_with_restarts(data, len, splits[i], &got);
                assert_string_equal(got.str, want.str);
        }
        hash_with_restarts((const unsigned char *) "abc", 3, 1, &got);
        assert_string_equal(got.str, ABC256);
        free(data);
}

static void
state_text_form(void **state)
{
        struct digest_ctx *c = digest_ctx_new(DIGEST_SHA256), *r;
        char st[DIGEST_STATE_MAX], small[40];
        struct digest d;
        struct err *e = NULL;

        (void) state;
        /* The empty state: the FIPS 180-4 initial hash value, nothing pending. */
        assert_true(digest_ctx_save(c, st, sizeof(st), &e) > 0);
        assert_string_equal(st, "sha256-state:1:0:6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19:");
        digest_ctx_update(c, "ab", 2);
        assert_true(digest_ctx_save(c, st, sizeof(st), &e) > 0);
        assert_string_equal(st, "sha256-state:1:2:6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19:6162");
        assert_fails(digest_ctx_save(c, small, sizeof(small), err), ENOSPC, "buffer", NULL);
        digest_ctx_free(c);
        /* A trailing newline (a state file) is accepted. */
        strcat(st, "\n");
        r = digest_ctx_restore(st, strlen(st), &e);
        assert_non_null(r);
        digest_ctx_update(r, "c", 1);
        digest_ctx_final(r, &d);
        assert_string_equal(d.str, ABC256);
        digest_ctx_free(r);

        c = digest_ctx_new(DIGEST_SHA512);
        assert_fails(digest_ctx_save(c, st, sizeof(st), err), ERR_UNSUPPORTED, "sha512", NULL);
        digest_ctx_free(c);

        r = digest_ctx_restore("sha256-state:1:0:6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19:",
                               82, &e);
        assert_non_null(r);
        digest_ctx_final(r, &d);
        assert_string_equal(d.str, EMPTY256);
        digest_ctx_free(r);
}

static int
restore_fails(const char *s, struct err **err)
{
        struct digest_ctx *c = digest_ctx_restore(s, strlen(s), err);

        if (c) {
                digest_ctx_free(c);
                return 0;
        }
        return -1;
}

#define H "6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19"

static void
restore_rejects_malformed(void **state)
{
        (void) state;
        assert_fails(restore_fails("", err), ERR_DIGEST_INVALID, "does not start", NULL);
        assert_fails(restore_fails("sha512-state:1:0:" H ":", err), ERR_DIGEST_INVALID, "does not start", NULL);
        assert_fails(restore_fails("sha256-state:2:0:" H ":", err), ERR_DIGEST_INVALID, "does not start", NULL);
        assert_fails(restore_fails("sha256-state:1::" H ":", err), ERR_DIGEST_INVALID, "byte count", NULL);
        assert_fails(restore_fails("sha256-state:1:-1:" H ":", err), ERR_DIGEST_INVALID, "byte count", NULL);
        assert_fails(restore_fails("sha256-state:1:01:" H ":61", err), ERR_DIGEST_INVALID, "byte count", NULL);
        assert_fails(restore_fails("sha256-state:1:1x:" H ":61", err), ERR_DIGEST_INVALID, "byte count", NULL);
        assert_fails(restore_fails("sha256-state:1:99999999999999999999:" H ":", err), ERR_DIGEST_INVALID,
                     "byte count", NULL);
        /* 2^61 bytes is 2^64 bits: past what SHA-256 can count. */
        assert_fails(restore_fails("sha256-state:1:2305843009213693952:" H ":", err), ERR_DIGEST_INVALID,
                     "over the SHA-256 limit", NULL);
        assert_fails(restore_fails("sha256-state:1:0:" H, err), ERR_DIGEST_INVALID, "64 hex", NULL);
        assert_fails(restore_fails("sha256-state:1:0:6A09E667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19:",
                                   err),
                     ERR_DIGEST_INVALID, "64 hex", NULL);
        assert_fails(restore_fails("sha256-state:1:0:" H "0:", err), ERR_DIGEST_INVALID, "64 hex", NULL);
        /* The pending part must be exactly bytes % 64 bytes. */
        assert_fails(restore_fails("sha256-state:1:2:" H ":61", err), ERR_DIGEST_INVALID, "2 pending bytes", NULL);
        assert_fails(restore_fails("sha256-state:1:0:" H ":61", err), ERR_DIGEST_INVALID, "0 pending bytes", NULL);
        assert_fails(restore_fails("sha256-state:1:65:" H ":6162", err), ERR_DIGEST_INVALID, "1 pending", NULL);
        assert_fails(restore_fails("sha256-state:1:1:" H ":6G", err), ERR_DIGEST_INVALID, "1 pending", NULL);
        assert_fails(restore_fails("sha256-state:1:1:" H ":61\n\n", err), ERR_DIGEST_INVALID, "1 pending", NULL);
        /* The largest count is fine. */
        assert_ok(restore_fails("sha256-state:1:2305843009213693888:" H ":", err));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(resume_gives_same_digest),
                cmocka_unit_test(state_text_form),
                cmocka_unit_test(restore_rejects_malformed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
