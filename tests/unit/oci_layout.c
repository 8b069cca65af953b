#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "digest/digest.h"
#include "oci/layout.h"
#include "oci/mediatype.h"

static char *tmpdir;

static int
setup(void **state)
{
        char tmpl[] = "/tmp/oci-layout-test.XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        tmpdir = xstrdup(tmpl);
        return 0;
}

static int
teardown(void **state)
{
        if (!getenv("KEEP"))
                fs_rm_rf(tmpdir, NULL);
        else
                fprintf(stderr, "kept %s\n", tmpdir);
        free(tmpdir);
        tmpdir = NULL;
        return 0;
}

static char *
path_in(const char *rel)
{
        return xasprintf("%s/%s", tmpdir, rel);
}

static char *
slurp(const char *path)
{
        char *data = NULL;
        struct err *e = NULL;

        if (fs_read_file(path, 1 << 24, &data, NULL, &e) < 0)
                fail_msg("read %s: %s", path, err_msg(&e));
        return data;
}

static void
spew(const char *path, const char *data)
{
        struct err *e = NULL;

        if (fs_write_atomic(path, data, strlen(data), 0644, &e) < 0)
                fail_msg("write %s: %s", path, err_msg(&e));
}

static size_t
count_temps(const char *dir)
{
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (strncmp(de->d_name, ".tmp", 4) == 0)
                        n++;
        return n;
}

static struct oci_layout *
new_layout(const char *rel)
{
        _cleanup_free_ char *p = path_in(rel);
        struct oci_layout *l = NULL;

        assert_ok(oci_layout_create(p, &l, err));
        return l;
}

/* ---- the directory -------------------------------------------------------- */

static void
create_and_open(void **state)
{
        _cleanup_free_ char *p = path_in("a/b/layout");
        _cleanup_free_ char *lf = path_in("a/b/layout/oci-layout");
        _cleanup_free_ char *ixf = path_in("a/b/layout/index.json");
        _cleanup_free_ char *sha = path_in("a/b/layout/blobs/sha256");
        _cleanup_free_ char *s1 = NULL, *s2 = NULL;
        struct oci_layout *l = NULL;
        struct stat st;

        assert_ok(oci_layout_create(p, &l, err));
        assert_string_equal(oci_layout_path(l), p);
        assert_true(oci_layout_dirfd(l) >= 0);
        oci_layout_free(l);
        s1 = slurp(lf);
        assert_string_equal(s1, "{\"imageLayoutVersion\":\"1.0.0\"}");
        s2 = slurp(ixf);
        assert_non_null(strstr(s2, "\"schemaVersion\":2"));
        assert_non_null(strstr(s2, "\"mediaType\":\"" OCI_MT_INDEX "\""));
        assert_non_null(strstr(s2, "\"manifests\":[]"));
        assert_int_equal(stat(sha, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(count_temps(p), 0);

        assert_ok(oci_layout_open(p, &l, err));
        oci_layout_free(l);
        oci_layout_free(NULL);

        /* Creating over an existing layout keeps its index. */
        spew(ixf, "{\"schemaVersion\":2,\"manifests\":[],\"x-mine\":1}");
        assert_ok(oci_layout_create(p, &l, err));
        oci_layout_free(l);
        free(s2);
        s2 = slurp(ixf);
        assert_non_null(strstr(s2, "x-mine"));
}

static void
open_rejects(void **state)
{
        _cleanup_free_ char *p = path_in("l");
        _cleanup_free_ char *lf = path_in("l/oci-layout");
        _cleanup_free_ char *ixf = path_in("l/index.json");
        _cleanup_free_ char *missing = path_in("nope");
        struct oci_layout *l = NULL;

        assert_fails(oci_layout_open(missing, &l, err), ENOENT, missing, NULL);
        mkdir(p, 0755);
        assert_fails(oci_layout_open(p, &l, err), ENOENT, "not an OCI image layout", "oci-layout");
        oci_layout_free(new_layout("l"));

        spew(lf, "{\"imageLayoutVersion\":\"2.0.0\"}");
        assert_fails(oci_layout_open(p, &l, err), ERR_UNSUPPORTED, "2.0.0", NULL);
        /* and create refuses to adopt it */
        assert_fails(oci_layout_create(p, &l, err), ERR_UNSUPPORTED, "2.0.0", NULL);
        spew(lf, "{\"imageLayoutVersion\":1}");
        assert_fails(oci_layout_open(p, &l, err), ERR_MANIFEST_INVALID, "imageLayoutVersion", NULL);
        spew(lf, "{\"imageLayoutVersion\":");
        assert_fails(oci_layout_open(p, &l, err), ERR_MANIFEST_INVALID, "oci-layout: line 1", NULL);
        spew(lf, "{\"imageLayoutVersion\":\"1.0.0\"}");
        unlink(ixf);
        assert_fails(oci_layout_open(p, &l, err), ERR_MANIFEST_INVALID, "index.json", NULL);
        assert_null(l);
}

/* ---- blobs ------------------------------------------------------------------ */

static void
blob_from_buffer(void **state)
{
        struct oci_layout *l = new_layout("l");
        _cleanup_free_ char *blobs = path_in("l/blobs");
        _cleanup_free_ char *path = NULL, *data = NULL, *content = NULL;
        struct digest d, want, other;
        struct stat st;
        uint64_t size = 0;
        size_t len;

        digest_buffer(DIGEST_SHA256, "hello", 5, &want);
        assert_false(oci_layout_has_blob(l, &want));
        assert_ok(oci_layout_add_blob(l, "hello", 5, NULL, &d, err));
        assert_string_equal(d.str, want.str);
        assert_string_equal(d.hex, want.hex);
        assert_true(oci_layout_has_blob(l, &d));
        assert_ok(oci_layout_stat_blob(l, &d, &size, err));
        assert_int_equal(size, 5);
        path = oci_layout_blob_path(l, &d);
        content = xasprintf("%s/l/blobs/sha256/%s", tmpdir, want.hex);
        assert_string_equal(path, content);
        free(content);
        content = slurp(path);
        assert_string_equal(content, "hello");
        assert_ok(oci_layout_read_blob(l, &d, 100, &data, &len, err));
        assert_int_equal(len, 5);
        assert_string_equal(data, "hello");

        /* Re-adding an existing blob keeps it and bumps its mtime. */
        {
                struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
                assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
        }
        assert_ok(oci_layout_add_blob(l, "hello", 5, &want, NULL, err));
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_mtime > 1000);

        /* refresh: size, and a new mtime. */
        assert_int_equal(utimensat(AT_FDCWD, path, (struct timespec[2]){{.tv_sec = 1000}, {.tv_sec = 1000}}, 0), 0);
        size = 0;
        assert_ok(oci_layout_refresh_blob(l, &want, &size, err));
        assert_int_equal(size, 5);
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_mtime > 1000);

        /* Expected digest mismatch: nothing stored. */
        digest_buffer(DIGEST_SHA256, "other", 5, &other);
        assert_fails(oci_layout_add_blob(l, "HELLO", 5, &other, NULL, err), ERR_DIGEST_INVALID, other.str, NULL);
        digest_buffer(DIGEST_SHA256, "HELLO", 5, &d);
        assert_false(oci_layout_has_blob(l, &d));
        assert_false(oci_layout_has_blob(l, &other));
        assert_int_equal(count_temps(blobs), 0);

        /* sha512 blobs go to blobs/sha512. */
        digest_buffer(DIGEST_SHA512, "x", 1, &want);
        assert_ok(oci_layout_add_blob(l, "x", 1, &want, &d, err));
        assert_string_equal(d.str, want.str);
        free(path);
        path = oci_layout_blob_path(l, &d);
        assert_non_null(strstr(path, "/blobs/sha512/"));
        assert_int_equal(stat(path, &st), 0);
        oci_layout_free(l);
}

static void
blob_read_checks(void **state)
{
        struct oci_layout *l = new_layout("l");
        _cleanup_free_ char *path = NULL, *data = NULL, *target = path_in("secret");
        struct digest d, absent;
        size_t len;
        int fd = -1;
        uint64_t size;

        assert_ok(oci_layout_add_blob(l, "0123456789", 10, NULL, &d, err));
        assert_fails(oci_layout_read_blob(l, &d, 9, &data, &len, err), ERR_SIZE_INVALID, d.str, "limit");
        path = oci_layout_blob_path(l, &d);
        spew(path, "0123456780");
        assert_fails(oci_layout_read_blob(l, &d, 100, &data, &len, err), ERR_DIGEST_INVALID, d.str, "corrupt");
        assert_null(data);

        digest_buffer(DIGEST_SHA256, "absent", 6, &absent);
        assert_fails(oci_layout_open_blob(l, &absent, &fd, &size, err), ERR_BLOB_UNKNOWN, absent.str, NULL);
        assert_fails(oci_layout_stat_blob(l, &absent, &size, err), ERR_BLOB_UNKNOWN, absent.str, NULL);
        assert_fails(oci_layout_refresh_blob(l, &absent, &size, err), ERR_BLOB_UNKNOWN, absent.str, NULL);
        assert_int_equal(fd, -1);

        /* A symlink planted in blobs/ is not followed. */
        spew(target, "absent");
        free(path);
        path = oci_layout_blob_path(l, &absent);
        assert_int_equal(symlink(target, path), 0);
        assert_false(oci_layout_has_blob(l, &absent));
        assert_fails(oci_layout_read_blob(l, &absent, 100, &data, &len, err), ELOOP, NULL, NULL);

        assert_ok(oci_layout_open_blob(l, &d, &fd, &size, err));
        assert_int_equal(size, 10);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        close(fd);
        oci_layout_free(l);
}

static void
blob_from_fd(void **state)
{
        struct oci_layout *l = new_layout("l");
        _cleanup_free_ char *blobs = path_in("l/blobs");
        _cleanup_free_ char *src = path_in("src");
        _cleanup_free_ char *big = xmalloc(300000);
        struct digest want, got, wrong;
        uint64_t size = 0;
        int fd;

        for (size_t i = 0; i < 300000; i++)
                big[i] = (char) (i * 7 + i / 1000);
        {
                struct err *e = NULL;
                assert_int_equal(fs_write_atomic(src, big, 300000, 0644, &e), 0);
        }
        digest_buffer(DIGEST_SHA256, big, 300000, &want);
        digest_buffer(DIGEST_SHA256, "wrong", 5, &wrong);

        fd = open(src, O_RDONLY | O_CLOEXEC);
        assert_fails(oci_layout_add_blob_fd(l, fd, &want, 299999, &got, &size, err), ERR_SIZE_INVALID, "299999", NULL);
        close(fd);
        fd = open(src, O_RDONLY | O_CLOEXEC);
        assert_fails(oci_layout_add_blob_fd(l, fd, &want, 300001, &got, &size, err), ERR_SIZE_INVALID, "300001", NULL);
        close(fd);
        fd = open(src, O_RDONLY | O_CLOEXEC);
        assert_fails(oci_layout_add_blob_fd(l, fd, &wrong, -1, &got, &size, err), ERR_DIGEST_INVALID, wrong.str,
                     want.str);
        close(fd);
        assert_false(oci_layout_has_blob(l, &want));
        assert_false(oci_layout_has_blob(l, &wrong));
        assert_int_equal(count_temps(blobs), 0);

        fd = open(src, O_RDONLY | O_CLOEXEC);
        assert_ok(oci_layout_add_blob_fd(l, fd, &want, 300000, &got, &size, err));
        close(fd);
        assert_string_equal(got.str, want.str);
        assert_int_equal(size, 300000);
        fd = open(src, O_RDONLY | O_CLOEXEC);
        assert_ok(oci_layout_add_blob_fd(l, fd, NULL, -1, &got, &size, err));
        close(fd);
        assert_string_equal(got.str, want.str);
        assert_int_equal(count_temps(blobs), 0);
        oci_layout_free(l);
}

static void
blob_writer(void **state)
{
        struct oci_layout *l = new_layout("l");
        _cleanup_free_ char *blobs = path_in("l/blobs");
        _cleanup_free_ char *path = NULL, *content = NULL;
        struct oci_blob_writer *w = NULL;
        struct digest want, got;
        uint64_t size;

        digest_buffer(DIGEST_SHA256, "abcdef", 6, &want);

        /* Chunks through write. */
        assert_ok(oci_layout_blob_writer_new(l, DIGEST_SHA256, &w, err));
        assert_int_equal(count_temps(blobs), 1);
        assert_ok(oci_blob_writer_write(w, "abc", 3, err));
        assert_ok(oci_blob_writer_write(w, "def", 3, err));
        assert_int_equal(oci_blob_writer_size(w), 6);
        assert_false(oci_layout_has_blob(l, &want)); /* not before commit */
        assert_ok(oci_blob_writer_commit(w, &want, 6, &got, &size, err));
        assert_string_equal(got.str, want.str);
        assert_int_equal(size, 6);
        assert_true(oci_layout_has_blob(l, &want));
        assert_fails(oci_blob_writer_commit(w, NULL, -1, NULL, NULL, err), EINVAL, "already", NULL);
        oci_blob_writer_free(w);
        assert_int_equal(count_temps(blobs), 0);

        /* A failed commit can be retried and fails the same way; no more
         * writes are taken after it. */
        assert_ok(oci_layout_blob_writer_new(l, DIGEST_SHA256, &w, err));
        assert_ok(oci_blob_writer_write(w, "abcdeX", 6, err));
        assert_fails(oci_blob_writer_commit(w, &want, 6, NULL, NULL, err), ERR_DIGEST_INVALID, want.str, NULL);
        assert_fails(oci_blob_writer_commit(w, &want, 6, NULL, NULL, err), ERR_DIGEST_INVALID, want.str, NULL);
        assert_fails(oci_blob_writer_write(w, "x", 1, err), EINVAL, NULL, NULL);
        oci_blob_writer_free(w);

        /* Free without commit drops the temp file. */
        assert_ok(oci_layout_blob_writer_new(l, DIGEST_SHA256, &w, err));
        assert_ok(oci_blob_writer_write(w, "zzz", 3, err));
        oci_blob_writer_free(w);
        oci_blob_writer_free(NULL);
        assert_int_equal(count_temps(blobs), 0);

        /* Raw fd writes are re-hashed at commit: a lying digest fails. */
        assert_ok(oci_layout_blob_writer_new(l, DIGEST_SHA256, &w, err));
        assert_int_equal(write(oci_blob_writer_fd(w), "abcdeX", 6), 6);
        assert_fails(oci_blob_writer_commit(w, &want, 6, NULL, NULL, err), ERR_DIGEST_INVALID, want.str, NULL);
        assert_fails(oci_blob_writer_commit(w, NULL, 7, NULL, NULL, err), ERR_SIZE_INVALID, "7", NULL);
        oci_blob_writer_free(w);
        assert_int_equal(count_temps(blobs), 0);

        /* An existing blob with the wrong size (corrupt) is replaced. */
        path = oci_layout_blob_path(l, &want);
        spew(path, "abc");
        assert_ok(oci_layout_blob_writer_new(l, DIGEST_SHA256, &w, err));
        assert_int_equal(write(oci_blob_writer_fd(w), "abcdef", 6), 6);
        assert_ok(oci_blob_writer_commit(w, &want, 6, &got, NULL, err));
        oci_blob_writer_free(w);
        content = slurp(path);
        assert_string_equal(content, "abcdef");

        /* The expected digest's algorithm must be the writer's. */
        digest_buffer(DIGEST_SHA512, "abcdef", 6, &want);
        assert_ok(oci_layout_blob_writer_new(l, DIGEST_SHA256, &w, err));
        assert_ok(oci_blob_writer_write(w, "abcdef", 6, err));
        assert_fails(oci_blob_writer_commit(w, &want, 6, NULL, NULL, err), ERR_DIGEST_INVALID, "sha256", NULL);
        oci_blob_writer_free(w);
        oci_layout_free(l);
}

/* ---- index.json ----------------------------------------------------------------- */

/* Store a tiny manifest whose config is the empty descriptor and fill D. */
static void
put_manifest(struct oci_layout *l, const char *tag_annotation, struct oci_descriptor *d)
{
        _cleanup_free_ char *m =
            xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
                      "\"size\":2},\"layers\":[],\"annotations\":{\"t\":\"%s\"}}",
                      OCI_MT_MANIFEST, OCI_MT_EMPTY, OCI_EMPTY_DIGEST, tag_annotation);
        struct digest dg;

        assert_ok(oci_layout_add_blob(l, "{}", 2, NULL, NULL, err));
        assert_ok(oci_layout_add_blob(l, m, strlen(m), NULL, &dg, err));
        oci_descriptor_init(d, OCI_MT_MANIFEST, dg.str, (int64_t) strlen(m));
}

static size_t
count_entries(struct oci_layout *l, const char *name, const char *digest)
{
        struct oci_layout_entry *e = NULL;
        size_t n = 0, hits = 0;

        assert_ok(oci_layout_list(l, &e, &n, err));
        for (size_t i = 0; i < n; i++)
                if ((name ? e[i].name && strcmp(e[i].name, name) == 0 : e[i].name == NULL) &&
                    (!digest || strcmp(e[i].desc.digest, digest) == 0))
                        hits++;
        oci_layout_entries_free(e, n);
        return hits;
}

/* oci:DIR[:NAME]: NAME, else the only image; none or several is an error. */
static void
select_image(void **state)
{
        struct oci_layout *l = new_layout("sel");
        struct oci_descriptor a, b, got;

        assert_fails(oci_layout_select(l, NULL, &got, err), ERR_MANIFEST_UNKNOWN, "no image",
                     oci_layout_path(l));
        put_manifest(l, "a", &a);
        put_manifest(l, "b", &b);
        assert_ok(oci_layout_tag(l, "one", &a, err));
        assert_ok(oci_layout_select(l, NULL, &got, err));
        assert_string_equal(got.digest, a.digest);
        oci_descriptor_clear(&got);
        assert_ok(oci_layout_tag(l, "two", &b, err));
        assert_fails(oci_layout_select(l, NULL, &got, err), ERR_REFERENCE_INVALID, "2 images", "oci:");
        assert_ok(oci_layout_select(l, "two", &got, err));
        assert_string_equal(got.digest, b.digest);
        oci_descriptor_clear(&got);
        assert_fails(oci_layout_select(l, "three", &got, err), ERR_MANIFEST_UNKNOWN, "three", NULL);
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&b);
        oci_layout_free(l);
}

static void
tag_find_untag(void **state)
{
        struct oci_layout *l = new_layout("l");
        struct oci_descriptor a, b, got;
        struct oci_layout_entry *e = NULL;
        size_t n;

        put_manifest(l, "a", &a);
        put_manifest(l, "b", &b);
        assert_string_not_equal(a.digest, b.digest);

        assert_ok(oci_layout_tag(l, "v1", &a, err));
        assert_ok(oci_layout_tag(l, "localhost/app:1.0", &a, err));
        assert_ok(oci_layout_find(l, "v1", &got, err));
        assert_string_equal(got.digest, a.digest);
        assert_string_equal(got.media_type, OCI_MT_MANIFEST);
        assert_int_equal(got.size, a.size);
        assert_string_equal(oci_descriptor_annotation(&got, OCI_ANNOTATION_REF_NAME), "v1");
        oci_descriptor_clear(&got);

        /* Moving v1 to b: a loses it (its entry goes), the other name stays. */
        assert_ok(oci_layout_tag(l, "v1", &b, err));
        assert_ok(oci_layout_find(l, "v1", &got, err));
        assert_string_equal(got.digest, b.digest);
        oci_descriptor_clear(&got);
        assert_int_equal(count_entries(l, "v1", NULL), 1);
        assert_int_equal(count_entries(l, "localhost/app:1.0", a.digest), 1);

        /* Unnamed adds are idempotent. */
        assert_ok(oci_layout_tag(l, NULL, &a, err));
        assert_ok(oci_layout_tag(l, NULL, &a, err));
        assert_int_equal(count_entries(l, NULL, a.digest), 1);

        assert_ok(oci_layout_list(l, &e, &n, err));
        assert_int_equal(n, 3);
        assert_string_equal(e[0].name, "localhost/app:1.0");
        assert_string_equal(e[1].name, "v1");
        assert_null(e[2].name);
        assert_string_equal(e[2].desc.digest, a.digest);
        assert_null(oci_descriptor_annotation(&e[2].desc, OCI_ANNOTATION_REF_NAME));
        oci_layout_entries_free(e, n);
        oci_layout_entries_free(NULL, 0);

        assert_ok(oci_layout_untag(l, "v1", err));
        assert_fails(oci_layout_find(l, "v1", &got, err), ERR_MANIFEST_UNKNOWN, "v1", oci_layout_path(l));
        assert_fails(oci_layout_untag(l, "v1", err), ERR_MANIFEST_UNKNOWN, "v1", NULL);

        /* Bad names and non-manifest descriptors are refused. */
        assert_fails(oci_layout_tag(l, "bad name", &a, err), ERR_REFERENCE_INVALID, "bad name", NULL);
        assert_fails(oci_layout_tag(l, "", &a, err), ERR_REFERENCE_INVALID, "empty", NULL);
        {
                struct oci_descriptor cfg;
                oci_descriptor_init_empty(&cfg);
                assert_fails(oci_layout_tag(l, "cfg", &cfg, err), ERR_MANIFEST_INVALID, OCI_MT_EMPTY, NULL);
                oci_descriptor_clear(&cfg);
        }
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&b);
        oci_layout_free(l);
}

static void
index_keeps_unknown_fields(void **state)
{
        struct oci_layout *l = new_layout("l");
        _cleanup_free_ char *ixf = path_in("l/index.json");
        _cleanup_free_ char *text = NULL, *orig = NULL;
        struct oci_descriptor a, got;
        json_t *idx = NULL;

        put_manifest(l, "a", &a);
        orig = xasprintf("{\"schemaVersion\":2,\"x-top\":{\"k\":[1,2]},\"manifests\":[{\"mediaType\":\"%s\","
                         "\"digest\":\"%s\",\"size\":%lld,\"x-entry\":\"keep\",\"platform\":{\"os\":\"linux\","
                         "\"architecture\":\"arm64\"},\"annotations\":{\"other\":\"x\",\"%s\":\"old\"}}]}",
                         OCI_MT_MANIFEST, a.digest, (long long) a.size, OCI_ANNOTATION_REF_NAME);
        spew(ixf, orig);
        assert_ok(oci_layout_tag(l, "new", &a, err));
        text = slurp(ixf);
        assert_non_null(strstr(text, "\"x-top\":{\"k\":[1,2]}"));
        assert_non_null(strstr(text, "\"x-entry\":\"keep\""));
        assert_non_null(strstr(text, "\"other\":\"x\""));
        assert_non_null(strstr(text, "arm64"));
        assert_ok(oci_layout_find(l, "old", &got, err));
        assert_string_equal(oci_map_get(got.annotations, "other"), "x");
        oci_descriptor_clear(&got);

        assert_ok(oci_layout_read_index(l, &idx, err));
        assert_non_null(json_object_get(idx, "x-top"));
        assert_int_equal(json_array_size(json_object_get(idx, "manifests")), 2);
        json_object_set_new(idx, "schemaVersion", json_integer(1));
        assert_fails(oci_layout_write_index(l, idx, err), ERR_MANIFEST_INVALID, "schemaVersion", NULL);
        json_decref(idx);

        spew(ixf, "{\"schemaVersion\":2,\"manifests\":{}}");
        assert_fails(oci_layout_read_index(l, &idx, err), ERR_MANIFEST_INVALID, "manifests", NULL);
        spew(ixf, "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_MANIFEST "\",\"manifests\":[]}");
        assert_fails(oci_layout_read_index(l, &idx, err), ERR_MANIFEST_INVALID, "mediaType", NULL);
        spew(ixf, "{\"schemaVersion\":2,\n\"manifests\":[}");
        assert_fails(oci_layout_read_index(l, &idx, err), ERR_MANIFEST_INVALID, "index.json: line 2", NULL);
        spew(ixf, "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"a/b\",\"size\":1}]}");
        {
                struct oci_layout_entry *e = NULL;
                size_t n = 0;
                assert_fails(oci_layout_list(l, &e, &n, err), ERR_MANIFEST_INVALID, "manifests[0]", NULL);
        }
        oci_descriptor_clear(&a);
        oci_layout_free(l);
}

static void
name_grammar(void **state)
{
        const char *good[] = {"v1",   "test",  "localhost/app:1.0", "docker.io/library/alpine:latest",
                              "a--b", "a@b+c", "A_B.c-d",           "sha256:abc",
                              "1"};
        const char *bad[] = {"", "a b", "-a", "a-", "a//b", "/a", "a/", "a---b", "a..b", "a:", "é", "a#b"};

        for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
                if (!oci_layout_name_valid(good[i]))
                        fail_msg("'%s' should be valid", good[i]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
                if (oci_layout_name_valid(bad[i]))
                        fail_msg("'%s' should be invalid", bad[i]);
        assert_false(oci_layout_name_valid(NULL));
}

static void
parse_ref(void **state)
{
        char *dir = NULL, *name = NULL;

        assert_ok(oci_layout_parse_ref("oci:/tmp/x", &dir, &name, err));
        assert_string_equal(dir, "/tmp/x");
        assert_null(name);
        free(dir);
        assert_ok(oci_layout_parse_ref("oci:rel/dir:test", &dir, &name, err));
        assert_string_equal(dir, "rel/dir");
        assert_string_equal(name, "test");
        free(dir);
        free(name);
        assert_ok(oci_layout_parse_ref("oci:d:localhost/app:1.0", &dir, &name, err));
        assert_string_equal(dir, "d");
        assert_string_equal(name, "localhost/app:1.0");
        free(dir);
        free(name);
        dir = name = NULL;

        assert_true(oci_layout_is_ref("oci:x"));
        assert_false(oci_layout_is_ref("docker://x"));
        assert_fails(oci_layout_parse_ref("docker://x", &dir, &name, err), ERR_REFERENCE_INVALID, "oci:", NULL);
        assert_fails(oci_layout_parse_ref("oci:", &dir, &name, err), ERR_REFERENCE_INVALID, "empty directory", NULL);
        assert_fails(oci_layout_parse_ref("oci::x", &dir, &name, err), ERR_REFERENCE_INVALID, "empty directory", NULL);
        assert_fails(oci_layout_parse_ref("oci:d:", &dir, &name, err), ERR_REFERENCE_INVALID, "empty image name", NULL);
        assert_fails(oci_layout_parse_ref("oci:d:a b", &dir, &name, err), ERR_REFERENCE_INVALID, "a b", NULL);
        assert_null(dir);
        assert_null(name);
}

/* ---- a whole image, walking and validation ---------------------------------------- */

struct image {
        struct digest config, layer[2], manifest, index;
        int64_t config_size, layer_size[2], manifest_size, index_size;
};

static void
add_str(struct oci_layout *l, const char *s, struct digest *d, int64_t *size)
{
        assert_ok(oci_layout_add_blob(l, s, strlen(s), NULL, d, err));
        *size = (int64_t) strlen(s);
}

static char *
manifest_json(const struct image *im, const char *media_type, const char *extra_layer)
{
        return xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
                         "\"digest\":\"%s\",\"size\":%lld},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\","
                         "\"size\":%lld},{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}%s]}",
                         media_type, OCI_MT_CONFIG, im->config.str, (long long) im->config_size, OCI_MT_LAYER_GZIP,
                         im->layer[0].str, (long long) im->layer_size[0], OCI_MT_LAYER_GZIP, im->layer[1].str,
                         (long long) im->layer_size[1], extra_layer ? extra_layer : "");
}

/* An image (config, two layers, manifest) tagged "img", and an index of it
 * tagged "multi". */
static void
build_image(struct oci_layout *l, struct image *im, const char *extra_layer)
{
        _cleanup_free_ char *m = NULL, *ix = NULL;
        struct oci_descriptor d;

        add_str(l,
                "{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-01-02T03:04:05Z\","
                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" OCI_EMPTY_DIGEST "\",\"" OCI_EMPTY_DIGEST "\"]}}",
                &im->config, &im->config_size);
        add_str(l, "layer zero bytes", &im->layer[0], &im->layer_size[0]);
        add_str(l, "layer one bytes!", &im->layer[1], &im->layer_size[1]);
        m = manifest_json(im, OCI_MT_MANIFEST, extra_layer);
        add_str(l, m, &im->manifest, &im->manifest_size);
        ix = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
                       "\"digest\":\"%s\",\"size\":%lld,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}",
                       OCI_MT_INDEX, OCI_MT_MANIFEST, im->manifest.str, (long long) im->manifest_size);
        add_str(l, ix, &im->index, &im->index_size);
        oci_descriptor_init(&d, OCI_MT_MANIFEST, im->manifest.str, im->manifest_size);
        assert_ok(oci_layout_tag(l, "img", &d, err));
        oci_descriptor_clear(&d);
        oci_descriptor_init(&d, OCI_MT_INDEX, im->index.str, im->index_size);
        assert_ok(oci_layout_tag(l, "multi", &d, err));
        oci_descriptor_clear(&d);
}

struct seen {
        int kinds[5];
        char log[16384];
};

static int
record(const struct oci_walk_item *it, void *userdata, struct err **err)
{
        struct seen *s = userdata;
        size_t len = strlen(s->log);

        s->kinds[it->kind]++;
        snprintf(s->log + len, sizeof(s->log) - len, "%d %s %s [%s] %s\n", it->kind, it->digest.str + 7,
                 it->name ? it->name : "-", it->referrer, it->desc->media_type);
        return 0;
}

static int
stop_at_layer(const struct oci_walk_item *it, void *userdata, struct err **err)
{
        if (it->kind == OCI_WALK_LAYER)
                return err_set(err, ECANCELED, "stopped at %s", it->desc->digest);
        return 0;
}

static void
walk(void **state)
{
        struct oci_layout *l = new_layout("l");
        struct image im;
        struct seen s = {0};
        _cleanup_free_ char *want = NULL;
        struct oci_descriptor d;

        build_image(l, &im, NULL);
        assert_ok(oci_layout_walk(l, 0, record, &s, err));
        /* img: root + config + 2 layers; multi: root (the index) → the same
         * manifest (met again, not re-entered). */
        assert_int_equal(s.kinds[OCI_WALK_ROOT], 2);
        assert_int_equal(s.kinds[OCI_WALK_MANIFEST], 1);
        assert_int_equal(s.kinds[OCI_WALK_CONFIG], 1);
        assert_int_equal(s.kinds[OCI_WALK_LAYER], 2);
        want = xasprintf("3 %s img [layers[1] of %s]", im.layer[1].hex, im.manifest.str);
        if (!strstr(s.log, want))
                fail_msg("walk log lacks '%s':\n%s", want, s.log);
        free(want);
        want = xasprintf("1 %s multi [manifests[0] of %s]", im.manifest.hex, im.index.str);
        if (!strstr(s.log, want))
                fail_msg("walk log lacks '%s':\n%s", want, s.log);
        free(want);
        want = xasprintf("0 %s img [index.json manifests[0]]", im.manifest.hex);
        if (!strstr(s.log, want))
                fail_msg("walk log lacks '%s':\n%s", want, s.log);

        assert_fails(oci_layout_walk(l, 0, stop_at_layer, NULL, err), ECANCELED, im.layer[0].str, NULL);

        /* From one descriptor. */
        memset(&s, 0, sizeof(s));
        oci_descriptor_init(&d, OCI_MT_INDEX, im.index.str, im.index_size);
        assert_ok(oci_layout_walk_from(l, &d, 0, record, &s, err));
        oci_descriptor_clear(&d);
        assert_int_equal(s.kinds[OCI_WALK_ROOT], 1);
        assert_int_equal(s.kinds[OCI_WALK_MANIFEST], 1);
        assert_int_equal(s.kinds[OCI_WALK_LAYER], 2);

        /* A missing manifest fails the walk unless skipped. */
        {
                _cleanup_free_ char *p = oci_layout_blob_path(l, &im.manifest);
                unlink(p);
        }
        assert_fails(oci_layout_walk(l, 0, NULL, NULL, err), ERR_BLOB_UNKNOWN, im.manifest.str,
                     "index.json manifests[0]");
        memset(&s, 0, sizeof(s));
        assert_ok(oci_layout_walk(l, OCI_WALK_SKIP_MISSING, record, &s, err));
        assert_int_equal(s.kinds[OCI_WALK_LAYER], 0);
        assert_int_equal(s.kinds[OCI_WALK_MANIFEST], 1);
        oci_layout_free(l);
}

static void
validate_ok_and_broken(void **state)
{
        struct oci_layout *l = new_layout("l");
        struct image im;
        size_t count = 0;
        _cleanup_free_ char *p0 = NULL, *p1 = NULL;

        build_image(l, &im, NULL);
        assert_ok(oci_layout_validate(l, 0, &count, err));
        assert_int_equal(count, 6);
        assert_ok(oci_layout_validate(l, OCI_VALIDATE_REHASH, NULL, err));

        /* Same size, different bytes: only a re-hash notices. */
        p1 = oci_layout_blob_path(l, &im.layer[1]);
        spew(p1, "layer one bytes?");
        assert_ok(oci_layout_validate(l, 0, NULL, err));
        assert_fails(oci_layout_validate(l, OCI_VALIDATE_REHASH, NULL, err), ERR_DIGEST_INVALID, im.layer[1].str,
                     "layers[1] of");
        /* Wrong size. */
        spew(p1, "short");
        assert_fails(oci_layout_validate(l, 0, NULL, err), ERR_SIZE_INVALID, im.layer[1].str, "size is 5 bytes");
        /* Missing, naming the referrer and the image. */
        unlink(p1);
        assert_fails(oci_layout_validate(l, 0, NULL, err), ERR_BLOB_UNKNOWN, im.layer[1].str, "\"img\"");
        {
                struct err *e = NULL;
                _cleanup_free_ char *want = xasprintf("layers[1] of %s", im.manifest.str);
                assert_true(oci_layout_validate(l, 0, NULL, &e) < 0);
                if (!strstr(err_msg(&e), want) || !strstr(err_msg(&e), "missing"))
                        fail_msg("message '%s' lacks '%s'", err_msg(&e), want);
                err_clear(&e);
        }
        spew(p1, "layer one bytes!");
        assert_ok(oci_layout_validate(l, OCI_VALIDATE_REHASH, NULL, err));

        /* A corrupt config (the config is always hashed). */
        p0 = oci_layout_blob_path(l, &im.config);
        {
                _cleanup_free_ char *c = slurp(p0);
                c[1] = 'A';
                spew(p0, c);
        }
        assert_fails(oci_layout_validate(l, 0, NULL, err), ERR_DIGEST_INVALID, im.config.str, "config");
        oci_layout_free(l);
}

/* An artifact manifest (empty config, one layer) whose subject is SUBJECT. */
static char *
referrer_json(const struct digest *subject, int64_t subject_size, const struct digest *layer, int64_t layer_size)
{
        return xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"artifactType\":\"application/x.sig\","
                         "\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":2},\"layers\":[{"
                         "\"mediaType\":\"application/x.sig\",\"digest\":\"%s\",\"size\":%lld}],\"subject\":{"
                         "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}}",
                         OCI_MT_MANIFEST, OCI_MT_EMPTY, OCI_EMPTY_DIGEST, layer->str, (long long) layer_size,
                         OCI_MT_MANIFEST, subject->str, (long long) subject_size);
}

static void
walk_subject(void **state)
{
        struct oci_layout *l = new_layout("l");
        struct image im;
        struct seen s = {0};
        struct digest sig, rd, absent;
        int64_t sig_size, rsize;
        struct oci_descriptor d;
        _cleanup_free_ char *r1 = NULL, *r2 = NULL, *want = NULL;

        build_image(l, &im, NULL);
        assert_ok(oci_layout_untag(l, "img", err));
        assert_ok(oci_layout_untag(l, "multi", err));
        assert_ok(oci_layout_add_blob(l, "{}", 2, NULL, NULL, err));
        add_str(l, "signature", &sig, &sig_size);
        r1 = referrer_json(&im.manifest, im.manifest_size, &sig, sig_size);
        add_str(l, r1, &rd, &rsize);
        oci_descriptor_init(&d, OCI_MT_MANIFEST, rd.str, rsize);
        assert_ok(oci_layout_tag(l, "sig", &d, err));
        oci_descriptor_clear(&d);

        /* The subject is walked into: its config and layers are reached. */
        assert_ok(oci_layout_walk(l, 0, record, &s, err));
        assert_int_equal(s.kinds[OCI_WALK_SUBJECT], 1);
        assert_int_equal(s.kinds[OCI_WALK_CONFIG], 2);
        assert_int_equal(s.kinds[OCI_WALK_LAYER], 3);
        want = xasprintf("4 %s sig [subject of %s]", im.manifest.hex, rd.str);
        if (!strstr(s.log, want))
                fail_msg("walk log lacks '%s':\n%s", want, s.log);
        assert_ok(oci_layout_validate(l, OCI_VALIDATE_REHASH, NULL, err));

        /* A subject absent from the layout is fine. */
        digest_buffer(DIGEST_SHA256, "elsewhere", 9, &absent);
        r2 = referrer_json(&absent, 9, &sig, sig_size);
        add_str(l, r2, &rd, &rsize);
        oci_descriptor_init(&d, OCI_MT_MANIFEST, rd.str, rsize);
        assert_ok(oci_layout_tag(l, "sig", &d, err));
        oci_descriptor_clear(&d);
        memset(&s, 0, sizeof(s));
        assert_ok(oci_layout_walk(l, 0, record, &s, err));
        assert_int_equal(s.kinds[OCI_WALK_SUBJECT], 1);
        assert_int_equal(s.kinds[OCI_WALK_LAYER], 1);
        assert_ok(oci_layout_validate(l, 0, NULL, err));
        oci_layout_free(l);
}

static void
validate_media_types(void **state)
{
        struct oci_layout *l = new_layout("l");
        struct image im;
        struct oci_descriptor d;
        _cleanup_free_ char *m = NULL, *foreign = NULL;
        struct digest md, absent;
        int64_t msize;

        build_image(l, &im, NULL);
        /* A manifest whose own mediaType disagrees with its descriptor. */
        m = manifest_json(&im, OCI_MT_INDEX, NULL);
        add_str(l, m, &md, &msize);
        oci_descriptor_init(&d, OCI_MT_MANIFEST, md.str, msize);
        assert_ok(oci_layout_tag(l, "bad", &d, err));
        oci_descriptor_clear(&d);
        assert_fails(oci_layout_validate(l, 0, NULL, err), ERR_MANIFEST_INVALID, md.str, "\"bad\"");
        assert_ok(oci_layout_untag(l, "bad", err));

        /* A manifest tagged as an index. */
        oci_descriptor_init(&d, OCI_MT_INDEX, im.manifest.str, im.manifest_size);
        assert_ok(oci_layout_tag(l, "bad", &d, err));
        oci_descriptor_clear(&d);
        assert_fails(oci_layout_validate(l, 0, NULL, err), ERR_MANIFEST_INVALID, im.manifest.str, NULL);
        assert_ok(oci_layout_untag(l, "bad", err));
        assert_ok(oci_layout_validate(l, 0, NULL, err));

        /* Config and layer descriptors swapped. */
        {
                _cleanup_free_ char *sw = xasprintf(
                    "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
                    "\"size\":%lld},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}]}",
                    OCI_MT_MANIFEST, OCI_MT_LAYER_GZIP, im.layer[0].str, (long long) im.layer_size[0], OCI_MT_CONFIG,
                    im.config.str, (long long) im.config_size);
                add_str(l, sw, &md, &msize);
                oci_descriptor_init(&d, OCI_MT_MANIFEST, md.str, msize);
                assert_ok(oci_layout_tag(l, "swapped", &d, err));
                oci_descriptor_clear(&d);
                assert_fails(oci_layout_validate(l, 0, NULL, err), ERR_MANIFEST_INVALID, im.layer[0].str,
                             "does not fit a config");
                assert_ok(oci_layout_untag(l, "swapped", err));
        }

        /* A foreign layer with urls may be absent; a plain one may not. */
        digest_buffer(DIGEST_SHA256, "not here", 8, &absent);
        foreign = xasprintf(",{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":8,\"urls\":[\"https://example.com/l\"]}",
                            OCI_MT_LAYER_ND_GZIP, absent.str);
        free(m);
        m = manifest_json(&im, OCI_MT_MANIFEST, foreign);
        add_str(l, m, &md, &msize);
        oci_descriptor_init(&d, OCI_MT_MANIFEST, md.str, msize);
        assert_ok(oci_layout_tag(l, "foreign", &d, err));
        oci_descriptor_clear(&d);
        assert_ok(oci_layout_validate(l, 0, NULL, err));
        free(foreign);
        foreign = xasprintf(",{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":8}", OCI_MT_LAYER_GZIP, absent.str);
        free(m);
        m = manifest_json(&im, OCI_MT_MANIFEST, foreign);
        add_str(l, m, &md, &msize);
        oci_descriptor_init(&d, OCI_MT_MANIFEST, md.str, msize);
        assert_ok(oci_layout_tag(l, "foreign", &d, err));
        oci_descriptor_clear(&d);
        assert_fails(oci_layout_validate(l, 0, NULL, err), ERR_BLOB_UNKNOWN, absent.str, "layers[2]");
        oci_layout_free(l);
}

static void
validate_deep_nesting(void **state)
{
        struct oci_layout *l = new_layout("l");
        struct image im;
        struct digest cur;
        int64_t cur_size;
        const char *cur_mt = OCI_MT_MANIFEST;
        struct oci_descriptor d;

        build_image(l, &im, NULL);
        cur = im.manifest;
        cur_size = im.manifest_size;
        for (int i = 0; i < 20; i++) {
                _cleanup_free_ char *ix = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{"
                                                    "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}]}",
                                                    OCI_MT_INDEX, cur_mt, cur.str, (long long) cur_size);
                add_str(l, ix, &cur, &cur_size);
                cur_mt = OCI_MT_INDEX;
                if (i == 5) {
                        oci_descriptor_init(&d, OCI_MT_INDEX, cur.str, cur_size);
                        assert_ok(oci_layout_tag(l, "shallow", &d, err));
                        oci_descriptor_clear(&d);
                        assert_ok(oci_layout_validate(l, 0, NULL, err));
                }
        }
        /* Walked once through "shallow", the inner part would not be
         * walked again: drop it so the full depth is walked. */
        assert_ok(oci_layout_untag(l, "shallow", err));
        oci_descriptor_init(&d, OCI_MT_INDEX, cur.str, cur_size);
        assert_ok(oci_layout_tag(l, "deep", &d, err));
        oci_descriptor_clear(&d);
        assert_fails(oci_layout_validate(l, 0, NULL, err), ERR_MANIFEST_INVALID, "nested deeper", NULL);
        oci_layout_free(l);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(create_and_open, setup, teardown),
            cmocka_unit_test_setup_teardown(open_rejects, setup, teardown),
            cmocka_unit_test_setup_teardown(blob_from_buffer, setup, teardown),
            cmocka_unit_test_setup_teardown(blob_read_checks, setup, teardown),
            cmocka_unit_test_setup_teardown(blob_from_fd, setup, teardown),
            cmocka_unit_test_setup_teardown(blob_writer, setup, teardown),
            cmocka_unit_test_setup_teardown(tag_find_untag, setup, teardown),
            cmocka_unit_test_setup_teardown(select_image, setup, teardown),
            cmocka_unit_test_setup_teardown(index_keeps_unknown_fields, setup, teardown),
            cmocka_unit_test(name_grammar),
            cmocka_unit_test(parse_ref),
            cmocka_unit_test_setup_teardown(walk, setup, teardown),
            cmocka_unit_test_setup_teardown(validate_ok_and_broken, setup, teardown),
            cmocka_unit_test_setup_teardown(validate_media_types, setup, teardown),
            cmocka_unit_test_setup_teardown(validate_deep_nesting, setup, teardown),
            cmocka_unit_test_setup_teardown(walk_subject, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
