#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "registry/server/gc.h"
#include "registry/server/manifest.h"
#include "registry/server/route.h"
#include "registry/server/storage.h"

static char root[64];

static int
setup(void **state)
{
        snprintf(root, sizeof(root), "/tmp/ireg-unit.XXXXXX");
        if (!mkdtemp(root))
                return -1;
        *state = reg_store_fs_new(root, NULL);
        return *state ? 0 : -1;
}

static int
teardown(void **state)
{
        reg_store_free(*state);
        fs_rm_rf(root, NULL);
        return 0;
}

static struct digest
dg(const char *data)
{
        struct digest d;

        digest_buffer(DIGEST_SHA256, data, strlen(data), &d);
        return d;
}

static void
blobs_and_links(void **state)
{
        struct reg_store *s = *state;
        struct digest d = dg("hello");
        struct err *e = NULL;
        char *data = NULL;
        size_t len;
        uint64_t size;

        assert_int_equal(s->ops->blob_stat(s, &d, &size, &e), -ENOENT);
        assert_int_equal(err_code(&e), ERR_BLOB_UNKNOWN);
        err_clear(&e);
        assert_int_equal(s->ops->blob_put_buf(s, &d, "hello", 5, &e), 0);
        assert_int_equal(s->ops->blob_stat(s, &d, &size, &e), 0);
        assert_int_equal(size, 5);
        assert_int_equal(s->ops->blob_read(s, &d, 100, &data, &len, &e), 0);
        assert_string_equal(data, "hello");
        free(data);
        assert_int_equal(s->ops->blob_read(s, &d, 4, &data, &len, &e), -ERR_SIZE_INVALID);
        err_clear(&e);

        assert_false(s->ops->layer_exists(s, "a/b", &d));
        assert_false(s->ops->repo_exists(s, "a/b"));
        assert_int_equal(s->ops->layer_link(s, "a/b", &d, &e), 0);
        assert_true(s->ops->layer_exists(s, "a/b", &d));
        assert_true(s->ops->repo_exists(s, "a/b"));
        assert_false(s->ops->repo_exists(s, "a"));
        /* layer_use: existence, and the link's mtime refreshed (gc grace). */
        {
                char *lp;
                struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
                struct stat st;
                lp = xasprintf("%s/repos/a/b/_layers/sha256/%s", root, d.str + 7);
                assert_int_equal(utimensat(AT_FDCWD, lp, old, 0), 0);
                assert_false(s->ops->layer_use(s, "a/c", &d));
                assert_true(s->ops->layer_use(s, "a/b", &d));
                assert_int_equal(stat(lp, &st), 0);
                assert_true(st.st_mtime > 1000);
                free(lp);
        }
        assert_int_equal(s->ops->layer_unlink(s, "a/b", &d, &e), 0);
        assert_int_equal(s->ops->layer_unlink(s, "a/b", &d, &e), -ENOENT);
        assert_int_equal(err_code(&e), ERR_BLOB_UNKNOWN);
        err_clear(&e);
        assert_int_equal(s->ops->blob_delete(s, &d, &e), 0);
        assert_int_equal(s->ops->blob_stat(s, &d, NULL, NULL), -ENOENT);
        assert_null(e);
}

struct names {
        char v[4][LIMIT_REF_NAME + 1];
        size_t n;
};

static int
collect_name(const char *item, uint64_t size, time_t mtime, void *ud)
{
        struct names *ns = ud;

        (void) size;
        (void) mtime;
        if (ns->n < 4)
                snprintf(ns->v[ns->n++], sizeof(ns->v[0]), "%s", item);
        return 0;
}

static void
blob_holders_index(void **state)
{
        struct reg_store *s = *state;
        struct digest d = dg("shared");
        struct names ns = { 0 };
        struct err *e = NULL;

        assert_int_equal(s->ops->blob_put_buf(s, &d, "shared", 6, &e), 0);
        assert_int_equal(s->ops->holder_walk(s, &d, collect_name, &ns, &e), 0);
        assert_int_equal(ns.n, 0);
        /* Linking indexes the repository (nested names included). */
        assert_int_equal(s->ops->layer_link(s, "team/app", &d, &e), 0);
        assert_int_equal(s->ops->layer_link(s, "solo", &d, &e), 0);
        assert_true(s->ops->holder_exists(s, "team/app", &d));
        assert_false(s->ops->holder_exists(s, "team", &d));
        assert_int_equal(s->ops->holder_walk(s, &d, collect_name, &ns, &e), 0);
        assert_int_equal(ns.n, 2);
        assert_true((strcmp(ns.v[0], "team/app") == 0 && strcmp(ns.v[1], "solo") == 0) ||
                    (strcmp(ns.v[1], "team/app") == 0 && strcmp(ns.v[0], "solo") == 0));
        /* Unlinking drops the entry. */
        assert_int_equal(s->ops->layer_unlink(s, "solo", &d, &e), 0);
        assert_false(s->ops->holder_exists(s, "solo", &d));
        /* add is idempotent and says whether it created the entry. */
        assert_int_equal(s->ops->holder_add(s, "x/y", &d, &e), 1);
        assert_int_equal(s->ops->holder_add(s, "x/y", &d, &e), 0);
        assert_int_equal(s->ops->holder_remove(s, "x/y", &d, &e), 0);
        assert_int_equal(s->ops->holder_remove(s, "x/y", &d, &e), 0);
        assert_false(s->ops->holder_exists(s, "x/y", &d));
        /* Deleting the blob drops what is left of its index. */
        assert_int_equal(s->ops->blob_delete(s, &d, &e), 0);
        assert_false(s->ops->holder_exists(s, "team/app", &d));
        assert_null(e);
}

static void
tags_and_reverse_index(void **state)
{
        struct reg_store *s = *state;
        struct digest m1 = dg("m1"), m2 = dg("m2"), got;
        struct reg_strv sv = { 0 };
        struct err *e = NULL;
        char mt[64];

        assert_int_equal(s->ops->tag_list(s, "app", &sv, &e), -ENOENT);
        assert_int_equal(err_code(&e), ERR_NAME_UNKNOWN);
        err_clear(&e);
        assert_int_equal(s->ops->manifest_put(s, "app", &m1, "type/one", &e), 0);
        assert_int_equal(s->ops->manifest_put(s, "app", &m2, "type/two", &e), 0);
        assert_int_equal(s->ops->manifest_get(s, "app", &m2, mt, sizeof(mt), &e), 0);
        assert_string_equal(mt, "type/two");
        assert_int_equal(s->ops->tag_put(s, "app", "b", &m1, &e), 0);
        assert_int_equal(s->ops->tag_put(s, "app", "a", &m1, &e), 0);
        assert_int_equal(s->ops->tag_put(s, "app", "c", &m2, &e), 0);
        assert_int_equal(s->ops->tag_list(s, "app", &sv, &e), 0);
        assert_int_equal(sv.n, 3);
        assert_string_equal(sv.v[0], "a");
        assert_string_equal(sv.v[2], "c");
        reg_strv_free(&sv);
        assert_int_equal(s->ops->tags_of(s, "app", &m1, &sv, &e), 0);
        assert_int_equal(sv.n, 2);
        reg_strv_free(&sv);
        /* Moving a tag updates the reverse index of both manifests. */
        assert_int_equal(s->ops->tag_put(s, "app", "a", &m2, &e), 0);
        assert_int_equal(s->ops->tag_get(s, "app", "a", &got, &e), 0);
        assert_string_equal(got.str, m2.str);
        assert_int_equal(s->ops->tags_of(s, "app", &m1, &sv, &e), 0);
        assert_int_equal(sv.n, 1);
        assert_string_equal(sv.v[0], "b");
        reg_strv_free(&sv);
        /* Deleting a manifest removes its tags; others stay. */
        assert_int_equal(s->ops->manifest_delete(s, "app", &m2, &e), 0);
        assert_int_equal(s->ops->tag_get(s, "app", "a", &got, &e), -ENOENT);
        assert_int_equal(err_code(&e), ERR_MANIFEST_UNKNOWN);
        err_clear(&e);
        assert_int_equal(s->ops->tag_get(s, "app", "b", &got, &e), 0);
        assert_int_equal(s->ops->manifest_get(s, "app", &m2, mt, sizeof(mt), &e), -ENOENT);
        err_clear(&e);
        assert_int_equal(s->ops->manifest_delete(s, "app", &m2, &e), -ENOENT);
        err_clear(&e);
        assert_int_equal(s->ops->tag_delete(s, "app", "b", &e), 0);
        assert_int_equal(s->ops->tag_delete(s, "app", "b", &e), -ENOENT);
        err_clear(&e);
        assert_int_equal(s->ops->tag_list(s, "app", &sv, &e), 0);
        assert_int_equal(sv.n, 0);
        reg_strv_free(&sv);
}

static void
uploads_and_repos(void **state)
{
        struct reg_store *s = *state;
        struct digest d = dg("chunk");
        struct reg_strv sv = { 0 };
        struct err *e = NULL;
        char uuid[REG_UUID_LEN + 1];
        uint64_t size;
        int fd;

        assert_int_equal(s->ops->upload_create(s, "x/y", uuid, &e), 0);
        assert_true(reg_uuid_ok(uuid));
        assert_int_equal(s->ops->upload_open(s, "x/y", uuid, &fd, &size, &e), 0);
        assert_int_equal(size, 0);
        assert_int_equal(write(fd, "chunk", 5), 5);
        close(fd);
        assert_int_equal(s->ops->upload_open(s, "x/y", uuid, &fd, &size, &e), 0);
        assert_int_equal(size, 5);
        close(fd);
        assert_int_equal(s->ops->upload_commit(s, "x/y", uuid, &d, &e), 0);
        assert_true(s->ops->layer_exists(s, "x/y", &d));
        assert_int_equal(s->ops->blob_stat(s, &d, &size, &e), 0);
        assert_int_equal(size, 5);
        assert_int_equal(s->ops->upload_open(s, "x/y", uuid, &fd, &size, &e), -ENOENT);
        assert_int_equal(err_code(&e), ERR_BLOB_UPLOAD_UNKNOWN);
        err_clear(&e);
        assert_int_equal(s->ops->upload_delete(s, "x/y", uuid, &e), -ENOENT);
        err_clear(&e);
        /* A second commit of the same digest from another session. */
        assert_int_equal(s->ops->upload_create(s, "z", uuid, &e), 0);
        assert_int_equal(s->ops->upload_open(s, "z", uuid, &fd, &size, &e), 0);
        assert_int_equal(write(fd, "chunk", 5), 5);
        close(fd);
        assert_int_equal(s->ops->upload_commit(s, "z", uuid, &d, &e), 0);
        assert_true(s->ops->layer_exists(s, "z", &d));

        assert_int_equal(s->ops->layer_link(s, "x", &d, &e), 0);
        assert_int_equal(s->ops->repo_list(s, &sv, &e), 0);
        assert_int_equal(sv.n, 3);
        assert_string_equal(sv.v[0], "x");
        assert_string_equal(sv.v[1], "x/y");
        assert_string_equal(sv.v[2], "z");
        reg_strv_free(&sv);
        assert_null(e);
}

static void
referrers(void **state)
{
        struct reg_store *s = *state;
        struct digest subj = dg("subject"), r1 = dg("r1"), r2 = dg("r2");
        struct reg_strv sv = { 0 };
        struct err *e = NULL;

        assert_int_equal(s->ops->referrer_list(s, "app", &subj, &sv, &e), 0);
        assert_int_equal(sv.n, 0);
        assert_int_equal(s->ops->referrer_add(s, "app", &subj, &r1, "{\"a\":1}", &e), 0);
        assert_int_equal(s->ops->referrer_add(s, "app", &subj, &r2, "{\"a\":2}", &e), 0);
        assert_int_equal(s->ops->referrer_list(s, "app", &subj, &sv, &e), 0);
        assert_int_equal(sv.n, 2);
        reg_strv_free(&sv);
        assert_int_equal(s->ops->referrer_remove(s, "app", &subj, &r1, &e), 0);
        assert_int_equal(s->ops->referrer_list(s, "app", &subj, &sv, &e), 0);
        assert_int_equal(sv.n, 1);
        assert_string_equal(sv.v[0], "{\"a\":2}");
        reg_strv_free(&sv);
        assert_null(e);
}

#define CFG "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2}"
#define DESC(mt) "{\"mediaType\":\"" mt "\",\"digest\":\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"size\":3}"

static void
expect_invalid(const char *body, const char *ct, const char *needle)
{
        struct reg_manifest m;
        struct err *e = NULL;

        assert_true(reg_manifest_parse(body, strlen(body), ct, &m, &e) < 0);
        assert_int_equal(err_code(&e), ERR_MANIFEST_INVALID);
        if (!strstr(e->msg, needle))
                fail_msg("'%s' not in '%s'", needle, e->msg);
        err_clear(&e);
}

static void
manifests(void **state)
{
        struct reg_manifest m;
        struct err *e = NULL;
        const char *img = "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," CFG
                          ",\"layers\":[" DESC("application/vnd.oci.image.layer.v1.tar+gzip") ","
                          "{\"mediaType\":\"application/vnd.oci.image.layer.nondistributable.v1.tar\","
                          "\"digest\":\"sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\",\"size\":1}],"
                          "\"subject\":" DESC("application/vnd.oci.image.manifest.v1+json") ","
                          "\"annotations\":{\"k\":\"v\"}}";
        const char *idx = "{\"schemaVersion\":2,\"manifests\":[" DESC("application/vnd.oci.image.manifest.v1+json") "]}";
        char *desc;
        struct digest d = dg("x");

        assert_int_equal(reg_manifest_parse(img, strlen(img), "application/vnd.oci.image.manifest.v1+json", &m, &e), 0);
        assert_false(m.is_index);
        assert_int_equal(m.n_blobs, 2); /* config + one distributable layer */
        assert_true(m.has_subject);
        assert_string_equal(m.artifact_type, "application/vnd.oci.image.config.v1+json");
        desc = reg_manifest_descriptor(&m, &d, 42);
        assert_non_null(strstr(desc, "\"size\":42"));
        assert_non_null(strstr(desc, "\"annotations\":{\"k\":\"v\"}"));
        free(desc);
        reg_manifest_clear(&m);

        /* No mediaType anywhere: guessed from the shape. */
        assert_int_equal(reg_manifest_parse(idx, strlen(idx), NULL, &m, &e), 0);
        assert_true(m.is_index);
        assert_int_equal(m.n_children, 1);
        assert_string_equal(m.media_type, "application/vnd.oci.image.index.v1+json");
        reg_manifest_clear(&m);
        assert_int_equal(reg_manifest_parse(idx, strlen(idx),
                                            "application/vnd.docker.distribution.manifest.list.v2+json", &m, &e), 0);
        assert_string_equal(m.media_type, "application/vnd.docker.distribution.manifest.list.v2+json");
        reg_manifest_clear(&m);

        expect_invalid("{", NULL, "line 1");
        expect_invalid("[]", NULL, "JSON object");
        expect_invalid("{\"schemaVersion\":1}", NULL, "schema 1");
        expect_invalid(img, "application/vnd.oci.image.index.v1+json", "does not match");
        expect_invalid("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"}", NULL,
                       "config: missing");
        expect_invalid("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," CFG
                       ",\"layers\":[{\"mediaType\":\"x\",\"digest\":\"sha256:1\",\"size\":1}]}",
                       NULL, "layers[0]");
        expect_invalid("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," CFG
                       ",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\",\"size\":-1}]}",
                       NULL, "size");
        expect_invalid("{\"schemaVersion\":2,\"mediaType\":\"text/plain\"}", NULL, "unknown manifest type");
        expect_invalid("{\"schemaVersion\":2,\"manifests\":{}}", "application/vnd.oci.image.index.v1+json",
                       "manifests");
}

static void
durations(void **state)
{
        time_t t;

        assert_int_equal(reg_parse_duration("90", &t, NULL), 0);
        assert_int_equal(t, 90);
        assert_int_equal(reg_parse_duration("15m", &t, NULL), 0);
        assert_int_equal(t, 900);
        assert_int_equal(reg_parse_duration("24h", &t, NULL), 0);
        assert_int_equal(t, 86400);
        assert_int_equal(reg_parse_duration("7d", &t, NULL), 0);
        assert_int_equal(t, 7 * 86400);
        assert_true(reg_parse_duration("", &t, NULL) < 0);
        assert_true(reg_parse_duration("h", &t, NULL) < 0);
        assert_true(reg_parse_duration("-1s", &t, NULL) < 0);
        assert_true(reg_parse_duration("99999999999999d", &t, NULL) < 0);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(blobs_and_links, setup, teardown),
                cmocka_unit_test_setup_teardown(blob_holders_index, setup, teardown),
                cmocka_unit_test_setup_teardown(tags_and_reverse_index, setup, teardown),
                cmocka_unit_test_setup_teardown(uploads_and_repos, setup, teardown),
                cmocka_unit_test_setup_teardown(referrers, setup, teardown),
                cmocka_unit_test(manifests),
                cmocka_unit_test(durations),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
