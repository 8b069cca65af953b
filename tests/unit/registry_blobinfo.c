/* registry/client/blobinfo: the blob-location record -- order, caps,
 * parsing of garbled and hostile files, and the store file under its
 * lock. */
#include "tests/unit/test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/limits.h"
#include "registry/client/blobinfo-internal.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static char *
digest_n(unsigned n)
{
        return xasprintf("sha256:%064x", n);
}

static void
note_and_find(void **state)
{
        _cleanup_(reg_blobinfo_freep) struct reg_blobinfo *bi = reg_blobinfo_new();

        assert_null(reg_blobinfo_find(bi, D1, "h:5000", NULL));
        assert_int_equal(reg_blobinfo_note(bi, D1, "H:5000", "a/x", 100), 0);
        assert_int_equal(reg_blobinfo_note(bi, D1, "h:5000", "b/y", 200), 0);
        assert_int_equal(reg_blobinfo_note(bi, D1, "other", "c/z", 300), 0);
        /* The newest of that host, not the repository pushed to, hosts
         * compared without case. */
        assert_string_equal(reg_blobinfo_find(bi, D1, "h:5000", NULL), "b/y");
        assert_string_equal(reg_blobinfo_find(bi, D1, "H:5000", "b/y"), "a/x");
        assert_string_equal(reg_blobinfo_find(bi, D1, "h:5000", "a/x"), "b/y");
        assert_null(reg_blobinfo_find(bi, D2, "h:5000", NULL));
        assert_null(reg_blobinfo_find(bi, D1, "nowhere", NULL));
        /* Seen again later: first again.  An older time does not move it. */
        assert_int_equal(reg_blobinfo_note(bi, D1, "h:5000", "a/x", 400), 0);
        assert_string_equal(reg_blobinfo_find(bi, D1, "h:5000", NULL), "a/x");
        assert_int_equal(reg_blobinfo_note(bi, D1, "h:5000", "b/y", 50), 0);
        assert_string_equal(reg_blobinfo_find(bi, D1, "h:5000", NULL), "a/x");
        /* Equal times: the one noted last first. */
        assert_int_equal(reg_blobinfo_note(bi, D2, "h", "p/one", 7), 0);
        assert_int_equal(reg_blobinfo_note(bi, D2, "h", "p/two", 7), 0);
        assert_string_equal(reg_blobinfo_find(bi, D2, "h", NULL), "p/two");
        assert_int_equal(reg_blobinfo_count(bi), 2);

        /* What could not be read back is refused, never stored. */
        assert_int_equal(reg_blobinfo_note(bi, "sha256:abc", "h", "a/x", 1), -EINVAL);
        assert_int_equal(reg_blobinfo_note(bi, D1, "user:pw@h", "a/x", 1), -EINVAL);
        assert_int_equal(reg_blobinfo_note(bi, D1, "h/path", "a/x", 1), -EINVAL);
        assert_int_equal(reg_blobinfo_note(bi, D1, "", "a/x", 1), -EINVAL);
        assert_int_equal(reg_blobinfo_note(bi, D1, "h", "Upper/Case", 1), -EINVAL);
        assert_int_equal(reg_blobinfo_note(bi, D1, "h", "a/x", -1), -EINVAL);
        assert_int_equal(reg_blobinfo_note(bi, D1, NULL, "a/x", 1), -EINVAL);
        assert_int_equal(reg_blobinfo_count(bi), 2);
        reg_blobinfo_free(NULL);
}

static void
caps(void **state)
{
        _cleanup_(reg_blobinfo_freep) struct reg_blobinfo *bi = reg_blobinfo_new();
        char repo[32];

        /* REG_BLOBINFO_REPOS per digest: the oldest go. */
        for (int i = 0; i < REG_BLOBINFO_REPOS + 3; i++) {
                snprintf(repo, sizeof(repo), "r/n%d", i);
                assert_int_equal(reg_blobinfo_note(bi, D1, "h", repo, 1000 + i), 0);
        }
        assert_string_equal(reg_blobinfo_find(bi, D1, "h", NULL), "r/n6");
        {
                _cleanup_free_ char *text = reg_blobinfo_serialize(bi, NULL);
                assert_null(strstr(text, "\"r/n2\""));
                assert_non_null(strstr(text, "\"r/n3\""));
        }
        /* Older than everything kept: not taken. */
        assert_int_equal(reg_blobinfo_note(bi, D1, "h", "r/old", 5), 0);
        {
                _cleanup_free_ char *text = reg_blobinfo_serialize(bi, NULL);
                assert_null(strstr(text, "r/old"));
        }

        /* REG_BLOBINFO_DIGESTS digests: those used longest ago go, once
         * the record is written (or read). */
        reg_blobinfo_free(bi);
        bi = reg_blobinfo_new();
        for (unsigned i = 0; i < REG_BLOBINFO_DIGESTS + 100; i++) {
                _cleanup_free_ char *d = digest_n(i);
                assert_int_equal(reg_blobinfo_note(bi, d, "h", "a/x", 10000 + i), 0);
        }
        size_t len;
        _cleanup_free_ char *text = reg_blobinfo_serialize(bi, &len);
        _cleanup_(reg_blobinfo_freep) struct reg_blobinfo *back = NULL;
        size_t dropped = 99;
        assert_ok(reg_blobinfo_parse(text, len, &back, &dropped, err));
        assert_int_equal(dropped, 0);
        assert_int_equal(reg_blobinfo_count(back), REG_BLOBINFO_DIGESTS);
        _cleanup_free_ char *oldest = digest_n(99), *kept = digest_n(100), *newest = digest_n(REG_BLOBINFO_DIGESTS + 99);
        assert_null(reg_blobinfo_find(back, oldest, "h", NULL));
        assert_non_null(reg_blobinfo_find(back, kept, "h", NULL));
        assert_non_null(reg_blobinfo_find(back, newest, "h", NULL));

        /* Full to the caps with names of the longest kind, the file still
         * fits what a read accepts. */
        char host[256], longrepo[256];
        memset(host, 'h', 255);
        host[255] = '\0';
        memset(longrepo, 'r', 255);
        longrepo[255] = '\0';
        reg_blobinfo_free(bi);
        bi = reg_blobinfo_new();
        for (unsigned i = 0; i < REG_BLOBINFO_DIGESTS; i++) {
                _cleanup_free_ char *d = digest_n(i);
                for (int k = 0; k < REG_BLOBINFO_REPOS; k++) {
                        host[0] = (char) ('a' + k);
                        assert_int_equal(reg_blobinfo_note(bi, d, host, longrepo, INT64_MAX - k), 0);
                }
        }
        _cleanup_free_ char *big = reg_blobinfo_serialize(bi, &len);
        assert_true(len < LIMIT_JSON_SIZE);
        reg_blobinfo_free(back);
        back = NULL;
        assert_ok(reg_blobinfo_parse(big, len, &back, &dropped, err));
        assert_int_equal(dropped, 0);
        assert_int_equal(reg_blobinfo_count(back), REG_BLOBINFO_DIGESTS);
}

static void
round_trip(void **state)
{
        _cleanup_(reg_blobinfo_freep) struct reg_blobinfo *bi = reg_blobinfo_new(), *back = NULL;
        _cleanup_free_ char *t1 = NULL, *t2 = NULL;
        size_t l1, l2;

        reg_blobinfo_note(bi, D1, "127.0.0.1:5000", "a/x", 10);
        reg_blobinfo_note(bi, D1, "127.0.0.1:5000", "b/y", 10);
        reg_blobinfo_note(bi, D2, "[::1]:5000", "team/app-1", 20);
        t1 = reg_blobinfo_serialize(bi, &l1);
        assert_ok(reg_blobinfo_parse(t1, l1, &back, NULL, err));
        t2 = reg_blobinfo_serialize(back, &l2);
        assert_string_equal(t1, t2);
        assert_string_equal(reg_blobinfo_find(back, D1, "127.0.0.1:5000", NULL), "b/y");
        assert_string_equal(reg_blobinfo_find(back, D2, "[::1]:5000", NULL), "team/app-1");

        /* Merging keeps the order of equal times. */
        _cleanup_(reg_blobinfo_freep) struct reg_blobinfo *m = reg_blobinfo_new();
        reg_blobinfo_merge(m, back);
        assert_string_equal(reg_blobinfo_find(m, D1, "127.0.0.1:5000", NULL), "b/y");
}

static void
garbled(void **state)
{
        struct reg_blobinfo *bi = NULL;
        size_t dropped = 0;
        static const char *bad[] = {
            "",
            "{",
            "[]",
            "\"x\"",
            "{\"blobs\": []}",
            "{\"version\": 2, \"blobs\": []}",
            "{\"version\": \"1\", \"blobs\": []}",
            "{\"version\": 1, \"blobs\": {}}",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct err *e = NULL;
                assert_int_equal(reg_blobinfo_parse(bad[i], strlen(bad[i]), &bi, &dropped, &e), -EINVAL);
                assert_non_null(e);
                err_clear(&e);
        }
        const char *json_err = "{\n  \"version\": 1,\n  x}", *v2 = "{\"version\": 2}";
        assert_fails(reg_blobinfo_parse(json_err, strlen(json_err), &bi, NULL, err), EINVAL, "3:", NULL);
        assert_fails(reg_blobinfo_parse(v2, strlen(v2), &bi, NULL, err), EINVAL, "version", NULL);

        /* A valid file with bad entries: they are counted and skipped. */
        const char *text = "{\"version\": 1, \"blobs\": ["
                           "{\"digest\": \"" D1 "\", \"locations\": ["
                           "  {\"host\": \"h\", \"repository\": \"ok/repo\", \"time\": 5},"
                           "  {\"host\": \"u:p@h\", \"repository\": \"a\", \"time\": 5},"
                           "  {\"host\": \"h\", \"repository\": \"../etc\", \"time\": 5},"
                           "  {\"host\": \"h\", \"repository\": \"a\", \"time\": -1},"
                           "  {\"host\": \"h\", \"repository\": \"a\", \"time\": 1.5},"
                           "  {\"host\": 7, \"repository\": \"a\", \"time\": 1},"
                           "  \"string\"]},"
                           "{\"digest\": \"md5:x\", \"locations\": []},"
                           "{\"digest\": \"" D2 "\"},"
                           "42,"
                           "{\"digest\": \"" D2 "\", \"locations\": [{\"host\": \"h\", \"repository\": \"b\", \"time\": 1,"
                           " \"extra\": true}]}"
                           "], \"unknown\": {}}";
        assert_ok(reg_blobinfo_parse(text, strlen(text), &bi, &dropped, err));
        assert_int_equal(dropped, 9);
        assert_int_equal(reg_blobinfo_count(bi), 2);
        assert_string_equal(reg_blobinfo_find(bi, D1, "h", NULL), "ok/repo");
        assert_string_equal(reg_blobinfo_find(bi, D2, "h", NULL), "b");
        reg_blobinfo_free(bi);
}

static void
store_file(void **state)
{
        char dir[] = "/tmp/ibuild-blobinfo-test.XXXXXX";
        _cleanup_oci_store_ struct oci_store *store = NULL;
        _cleanup_(reg_blobinfo_freep) struct reg_blobinfo *bi = NULL, *a = reg_blobinfo_new(),
                                                          *b = reg_blobinfo_new();
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len, dropped;
        struct err *e = NULL;

        assert_non_null(mkdtemp(dir));
        assert_ok(oci_store_open(dir, &store, err));
        path = xasprintf("%s/%s", dir, REG_BLOBINFO_FILE);

        /* No file yet: an empty record. */
        assert_ok(reg_blobinfo_load(store, &bi, &dropped, err));
        assert_int_equal(reg_blobinfo_count(bi), 0);
        reg_blobinfo_free(bi);
        bi = NULL;
        /* Nothing seen: nothing written. */
        assert_ok(reg_blobinfo_save(store, a, err));
        assert_int_equal(access(path, F_OK), -1);

        /* Two writers each add what they saw. */
        reg_blobinfo_note(a, D1, "h", "a/x", 10);
        reg_blobinfo_note(b, D1, "h", "b/y", 20);
        reg_blobinfo_note(b, D2, "h", "b/y", 20);
        assert_ok(reg_blobinfo_save(store, a, err));
        assert_ok(reg_blobinfo_save(store, b, err));
        assert_ok(reg_blobinfo_load(store, &bi, &dropped, err));
        assert_int_equal(reg_blobinfo_count(bi), 2);
        assert_string_equal(reg_blobinfo_find(bi, D1, "h", NULL), "b/y");
        assert_string_equal(reg_blobinfo_find(bi, D1, "h", "b/y"), "a/x");
        reg_blobinfo_free(bi);
        bi = NULL;
        /* No temp file left beside it. */
        {
                _cleanup_free_ char *cmd = xasprintf("ls -a %s | grep -q '^\\.tmp-'", dir);
                assert_int_not_equal(system(cmd), 0);
        }

        /* Garbled: load fails naming the file; save replaces it. */
        assert_int_equal(fs_write_atomic(path, "{\"version\":1,\"blo", 17, 0644, &e), 0);
        assert_fails(reg_blobinfo_load(store, &bi, &dropped, err), EINVAL, path, NULL);
        assert_ok(reg_blobinfo_save(store, a, err));
        assert_ok(reg_blobinfo_load(store, &bi, &dropped, err));
        assert_string_equal(reg_blobinfo_find(bi, D1, "h", NULL), "a/x");
        assert_ok(fs_read_file(path, 1 << 20, &text, &len, err));
        assert_null(strstr(text, "b/y"));

        fs_rm_rf(dir, &e);
        err_clear(&e);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(note_and_find), cmocka_unit_test(caps),       cmocka_unit_test(round_trip),
            cmocka_unit_test(garbled),       cmocka_unit_test(store_file),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
