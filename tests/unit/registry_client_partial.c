/* registry/client partial downloads: a prefix kept across closes is
 * re-hashed and resumed, a wrong or overlong blob is refused and dropped,
 * a second opener of a busy partial gets a private file, the sweep
 * removes only stale temp files, and hashing on a thread gives the same. */
#include "tests/unit/test.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "registry/client/client-internal.h"

static const char blob[] = "0123456789abcdefghijklmnopqrstuvwxyz resumable blob content";

static struct oci_layout *
new_layout(char *dir)
{
        struct oci_layout *l = NULL;
        assert_non_null(mkdtemp(dir));
        assert_ok(oci_layout_create(dir, &l, err));
        return l;
}

static bool
exists_in(const char *dir, const char *rel)
{
        char *p = xasprintf("%s/%s", dir, rel);
        bool ok = access(p, F_OK) == 0;
        free(p);
        return ok;
}

static void
resume_and_commit(void **state)
{
        char dir[] = "/tmp/regpartial.XXXXXX";
        struct oci_layout *l = new_layout(dir);
        struct digest d;
        digest_buffer(DIGEST_SHA256, blob, strlen(blob), &d);
        int64_t size = (int64_t) strlen(blob);
        char *name = xasprintf("blobs/.tmp-pull-sha256-%s", d.hex);

        struct reg_partial pa;
        assert_ok(reg_partial_open(l, &d, size, &pa, err));
        assert_int_equal(pa.got, 0);
        assert_ok(reg_partial_write(&pa, blob, 20, err));
        reg_partial_close(&pa, true);
        assert_true(exists_in(dir, name));

        /* Reopened: the prefix counts, the rest completes the blob. */
        assert_ok(reg_partial_open(l, &d, size, &pa, err));
        assert_int_equal(pa.got, 20);
        assert_fails(reg_partial_write(&pa, blob + 20, strlen(blob), err), ERR_SIZE_INVALID, d.str, "bytes");
        assert_ok(reg_partial_write(&pa, blob + 20, strlen(blob) - 20, err));
        assert_ok(reg_partial_commit(&pa, err));
        reg_partial_close(&pa, true);
        assert_false(exists_in(dir, name));
        char *data = NULL;
        size_t len;
        assert_ok(oci_layout_read_blob(l, &d, 1024, &data, &len, err));
        assert_int_equal(len, strlen(blob));
        free(data);

        /* A restart forgets the prefix. */
        struct digest d2;
        digest_buffer(DIGEST_SHA256, "xyz", 3, &d2);
        assert_ok(reg_partial_open(l, &d2, 3, &pa, err));
        assert_ok(reg_partial_write(&pa, "ab", 2, err));
        assert_ok(reg_partial_restart(&pa, err));
        assert_int_equal(pa.got, 0);
        assert_ok(reg_partial_write(&pa, "xyz", 3, err));
        assert_ok(reg_partial_commit(&pa, err));
        reg_partial_close(&pa, true);
        assert_true(oci_layout_has_blob(l, &d2));

        free(name);
        oci_layout_free(l);
        fs_rm_rf(dir, NULL);
}

static void
wrong_content_is_dropped(void **state)
{
        char dir[] = "/tmp/regpartial.XXXXXX";
        struct oci_layout *l = new_layout(dir);
        struct digest d;
        digest_buffer(DIGEST_SHA256, blob, strlen(blob), &d);
        char *name = xasprintf("blobs/.tmp-pull-sha256-%s", d.hex);
        struct reg_partial pa;

        /* Same size, other bytes: refused, and nothing left to resume. */
        char *bad = xstrdup(blob);
        bad[3] ^= 1;
        assert_ok(reg_partial_open(l, &d, (int64_t) strlen(blob), &pa, err));
        assert_ok(reg_partial_write(&pa, bad, strlen(bad), err));
        assert_fails(reg_partial_commit(&pa, err), ERR_DIGEST_INVALID, d.str, "hashes to");
        reg_partial_close(&pa, true);
        assert_false(exists_in(dir, name));
        assert_false(oci_layout_has_blob(l, &d));

        /* A short blob: a size error. */
        assert_ok(reg_partial_open(l, &d, (int64_t) strlen(blob), &pa, err));
        assert_ok(reg_partial_write(&pa, blob, 5, err));
        assert_fails(reg_partial_commit(&pa, err), ERR_SIZE_INVALID, d.str, "got 5");
        reg_partial_close(&pa, true);
        assert_false(oci_layout_has_blob(l, &d));

        /* A leftover longer than the blob is not a prefix. */
        char *path = xasprintf("%s/%s", dir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "%s and then some", blob);
        fclose(f);
        assert_ok(reg_partial_open(l, &d, (int64_t) strlen(blob), &pa, err));
        assert_int_equal(pa.got, 0);
        reg_partial_close(&pa, true);
        assert_false(exists_in(dir, name));

        free(path);
        free(bad);
        free(name);
        oci_layout_free(l);
        fs_rm_rf(dir, NULL);
}

static void
busy_partial_and_sweep(void **state)
{
        char dir[] = "/tmp/regpartial.XXXXXX";
        struct oci_layout *l = new_layout(dir);
        struct digest d;
        digest_buffer(DIGEST_SHA256, blob, strlen(blob), &d);
        struct reg_partial a, b;

        assert_ok(reg_partial_open(l, &d, -1, &a, err));
        assert_ok(reg_partial_write(&a, blob, 10, err));
        /* The same blob again while A holds it (another pull): a private file. */
        assert_ok(reg_partial_open(l, &d, -1, &b, err));
        assert_true(b.private_name);
        assert_int_equal(b.got, 0);
        assert_ok(reg_partial_write(&b, blob, 4, err));

        /* The sweep leaves both alone (locked), even when old. */
        char *pa_path = xasprintf("%s/blobs/.tmp-pull-sha256-%s", dir, d.hex);
        size_t n = 99;
        assert_ok(reg_partials_sweep(l, time(NULL) + 3 * 24 * 3600, &n, err));
        assert_int_equal(n, 0);
        reg_partial_close(&b, true); /* private: removed anyway */
        reg_partial_close(&a, true);
        assert_int_equal(access(pa_path, F_OK), 0);

        /* A writer temp, and an unlocked partial: kept while young. */
        char *tmp = xasprintf("%s/blobs/.tmp-00ff", dir);
        FILE *f = fopen(tmp, "w");
        assert_non_null(f);
        fclose(f);
        assert_ok(reg_partials_sweep(l, time(NULL), &n, err));
        assert_int_equal(n, 0);
        /* Two hours on: the writer temp goes, the partial stays. */
        assert_ok(reg_partials_sweep(l, time(NULL) + 2 * 3600, &n, err));
        assert_int_equal(n, 1);
        assert_int_equal(access(tmp, F_OK), -1);
        assert_int_equal(access(pa_path, F_OK), 0);
        /* Two days on, the partial too. */
        assert_ok(reg_partials_sweep(l, time(NULL) + 2 * 24 * 3600, &n, err));
        assert_int_equal(n, 1);
        assert_int_equal(access(pa_path, F_OK), -1);

        /* A young partial of a blob the layout now has is stale. */
        assert_ok(reg_partial_open(l, &d, -1, &a, err));
        assert_ok(reg_partial_write(&a, blob, 10, err));
        reg_partial_close(&a, true);
        assert_ok(oci_layout_add_blob(l, blob, strlen(blob), &d, NULL, err));
        assert_ok(reg_partials_sweep(l, time(NULL), &n, err));
        assert_int_equal(n, 1);
        assert_int_equal(access(pa_path, F_OK), -1);

        free(tmp);
        free(pa_path);
        oci_layout_free(l);
        fs_rm_rf(dir, NULL);
}

static void
async_hashing(void **state)
{
        char dir[] = "/tmp/regpartial.XXXXXX";
        struct oci_layout *l = new_layout(dir);
        size_t len = 3 * 1024 * 1024 + 12345;
        char *data = xmalloc(len);
        for (size_t i = 0; i < len; i++)
                data[i] = (char) (i * 7 + i / 4096);
        struct digest d;
        digest_buffer(DIGEST_SHA256, data, len, &d);
        struct reg_partial pa;

        /* Half through the hashing thread, closed (kept), reopened: the
         * prefix is what was written; the rest completes the blob. */
        assert_ok(reg_partial_open(l, &d, (int64_t) len, &pa, err));
        reg_partial_async(&pa);
        assert_true(pa.async);
        for (size_t off = 0; off < len / 2; off += 70000)
                assert_ok(reg_partial_write(&pa, data + off, off + 70000 > len / 2 ? len / 2 - off : 70000, err));
        reg_partial_close(&pa, true);
        assert_ok(reg_partial_open(l, &d, (int64_t) len, &pa, err));
        assert_int_equal(pa.got, len / 2);
        reg_partial_async(&pa);
        /* A restart in the middle is clean too. */
        assert_ok(reg_partial_write(&pa, data + len / 2, 1000, err));
        assert_ok(reg_partial_restart(&pa, err));
        for (size_t off = 0; off < len; off += 65536)
                assert_ok(reg_partial_write(&pa, data + off, off + 65536 > len ? len - off : 65536, err));
        assert_ok(reg_partial_commit(&pa, err));
        reg_partial_close(&pa, true);
        assert_true(oci_layout_has_blob(l, &d));

        /* Wrong bytes through the thread: refused. */
        struct digest d2;
        digest_buffer(DIGEST_SHA256, "other", 5, &d2);
        assert_ok(reg_partial_open(l, &d2, (int64_t) len, &pa, err));
        reg_partial_async(&pa);
        assert_ok(reg_partial_write(&pa, data, len, err));
        assert_fails(reg_partial_commit(&pa, err), ERR_DIGEST_INVALID, d2.str, d.str);
        reg_partial_close(&pa, true);
        assert_false(oci_layout_has_blob(l, &d2));

        free(data);
        oci_layout_free(l);
        fs_rm_rf(dir, NULL);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(resume_and_commit),
                cmocka_unit_test(wrong_content_is_dropped),
                cmocka_unit_test(busy_partial_and_sweep),
                cmocka_unit_test(async_hashing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
