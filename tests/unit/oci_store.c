#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "digest/digest.h"
#include "oci/layout.h"
#include "oci/mediatype.h"
#include "oci/store.h"

static char *tmpdir;

static int
setup(void **state)
{
        char tmpl[] = "/tmp/oci-store-test.XXXXXX";

        assert_non_null(mkdtemp(tmpl));
        tmpdir = xstrdup(tmpl);
        return 0;
}

static int
teardown(void **state)
{
        fs_rm_rf(tmpdir, NULL);
        free(tmpdir);
        tmpdir = NULL;
        return 0;
}

static struct oci_store *
open_store(void)
{
        _cleanup_free_ char *p = xasprintf("%s/store", tmpdir);
        struct oci_store *s = NULL;

        assert_ok(oci_store_open(p, &s, err));
        return s;
}

static void
add_str(struct oci_store *s, const char *str, struct digest *d)
{
        assert_ok(oci_layout_add_blob(oci_store_layout(s), str, strlen(str), NULL, d, err));
}

struct image {
        struct digest config, layer, manifest;
        size_t config_size, layer_size, manifest_size;
};

/* Store an image with one layer holding LAYER_TEXT, created at CREATED;
 * *D is its manifest descriptor.  Usable in forked children (no asserts). */
static int
try_make_image(struct oci_store *s, const char *layer_text, const char *created, struct image *im,
               struct oci_descriptor *d, struct err **err)
{
        _cleanup_free_ char *cfg = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"%s\","
                                             "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                                             created, OCI_EMPTY_DIGEST);
        _cleanup_free_ char *m = NULL;
        struct oci_layout *l = oci_store_layout(s);
        int r;

        r = oci_layout_add_blob(l, cfg, strlen(cfg), NULL, &im->config, err);
        if (r < 0)
                return r;
        im->config_size = strlen(cfg);
        r = oci_layout_add_blob(l, layer_text, strlen(layer_text), NULL, &im->layer, err);
        if (r < 0)
                return r;
        im->layer_size = strlen(layer_text);
        m = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
                      "\"size\":%zu},\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                      OCI_MT_MANIFEST, OCI_MT_CONFIG, im->config.str, im->config_size, OCI_MT_LAYER_TAR, im->layer.str,
                      im->layer_size);
        r = oci_layout_add_blob(l, m, strlen(m), NULL, &im->manifest, err);
        if (r < 0)
                return r;
        im->manifest_size = strlen(m);
        oci_descriptor_init(d, OCI_MT_MANIFEST, im->manifest.str, (int64_t) im->manifest_size);
        return 0;
}

static void
make_image(struct oci_store *s, const char *layer_text, const char *created, struct image *im, struct oci_descriptor *d)
{
        assert_ok(try_make_image(s, layer_text, created, im, d, err));
}

static void
default_path(void **state)
{
        char *p = NULL;

        setenv("IBUILD_STORE", "/x/store", 1);
        setenv("XDG_DATA_HOME", "/xdg", 1);
        setenv("HOME", "/home/u", 1);
        assert_ok(oci_store_default_path(&p, err));
        assert_string_equal(p, "/x/store");
        free(p);
        unsetenv("IBUILD_STORE");
        assert_ok(oci_store_default_path(&p, err));
        assert_string_equal(p, "/xdg/ibuild");
        free(p);
        setenv("XDG_DATA_HOME", "relative", 1); /* ignored, per the XDG spec */
        assert_ok(oci_store_default_path(&p, err));
        assert_string_equal(p, "/home/u/.local/share/ibuild");
        free(p);
        unsetenv("XDG_DATA_HOME");
        unsetenv("HOME");
        p = NULL;
        assert_fails(oci_store_default_path(&p, err), ENOENT, "IBUILD_STORE", NULL);
        assert_null(p);

        /* open(NULL) uses it. */
        {
                _cleanup_free_ char *want = xasprintf("%s/env-store", tmpdir);
                struct oci_store *s = NULL;
                setenv("IBUILD_STORE", want, 1);
                assert_ok(oci_store_open(NULL, &s, err));
                assert_string_equal(oci_store_path(s), want);
                oci_store_free(s);
                unsetenv("IBUILD_STORE");
        }
}

static void
open_layout_and_dirs(void **state)
{
        struct oci_store *s = open_store();
        struct oci_layout *l = NULL;
        struct stat st;
        _cleanup_free_ char *root = xasprintf("%s/store", tmpdir);
        _cleanup_free_ char *lock = xasprintf("%s/store/lock", tmpdir);

        assert_string_equal(oci_store_path(s), root);
        assert_int_equal(stat(oci_store_snapshots_dir(s), &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_non_null(strstr(oci_store_snapshots_dir(s), "/store/snapshots"));
        assert_int_equal(stat(oci_store_cache_dir(s), &st), 0);
        assert_non_null(strstr(oci_store_cache_dir(s), "/store/cache"));
        assert_int_equal(stat(oci_store_tmp_dir(s), &st), 0);
        assert_non_null(strstr(oci_store_tmp_dir(s), "/store/tmp"));
        assert_int_equal(stat(lock, &st), 0);
        /* It is a plain OCI layout. */
        assert_ok(oci_layout_open(root, &l, err));
        oci_layout_free(l);
        assert_ok(oci_layout_validate(oci_store_layout(s), 0, NULL, err));
        oci_store_free(s);
        oci_store_free(NULL);
        /* Reopen. */
        s = open_store();
        oci_store_free(s);
}

static void
tag_and_resolve(void **state)
{
        struct oci_store *s = open_store();
        struct oci_descriptor a, b, got;
        struct image ia, ib;
        struct oci_layout_entry *e = NULL;
        char *name = NULL;
        size_t n;

        make_image(s, "layer A", "2024-01-01T00:00:00Z", &ia, &a);
        make_image(s, "layer B", "2024-02-01T00:00:00Z", &ib, &b);

        assert_ok(oci_store_tag(s, "app:1.0", &a, err));
        assert_ok(oci_store_tag(s, "docker.io/alpine:3", &b, err));
        assert_ok(oci_layout_list(oci_store_layout(s), &e, &n, err));
        assert_int_equal(n, 2);
        assert_string_equal(e[0].name, "localhost/app:1.0");
        assert_string_equal(e[1].name, "docker.io/library/alpine:3");
        oci_layout_entries_free(e, n);

        /* Names in all their spellings. */
        const char *for_a[] = {"app:1.0", "localhost/app:1.0"};
        for (size_t i = 0; i < 2; i++) {
                assert_ok(oci_store_resolve(s, for_a[i], &got, &name, err));
                assert_string_equal(got.digest, a.digest);
                assert_string_equal(name, "localhost/app:1.0");
                free(name);
                oci_descriptor_clear(&got);
        }
        const char *for_b[] = {"alpine:3", "docker.io/library/alpine:3", "library/alpine:3"};
        for (size_t i = 0; i < 3; i++) {
                assert_ok(oci_store_resolve(s, for_b[i], &got, &name, err));
                assert_string_equal(got.digest, b.digest);
                assert_string_equal(name, "docker.io/library/alpine:3");
                free(name);
                oci_descriptor_clear(&got);
        }

        /* Digests: full, prefixes, name@digest. */
        {
                _cleanup_free_ char *p8 = xstrndup(a.digest + 7, 8);
                _cleanup_free_ char *p12 = xstrndup(a.digest, 7 + 12);
                _cleanup_free_ char *nd = xasprintf("app@%s", b.digest);
                const char *for_digest[] = {a.digest, p8, p12};

                for (size_t i = 0; i < 3; i++) {
                        assert_ok(oci_store_resolve(s, for_digest[i], &got, &name, err));
                        assert_string_equal(got.digest, a.digest);
                        free(name);
                        oci_descriptor_clear(&got);
                }
                assert_ok(oci_store_resolve(s, nd, &got, NULL, err));
                assert_string_equal(got.digest, b.digest);
                oci_descriptor_clear(&got);
        }
        /* An unnamed entry: found by digest, kept by GC, added once. */
        {
                struct image iu;
                struct oci_descriptor u;
                struct oci_store_gc_opts o = {.grace_seconds = 0};
                make_image(s, "layer U", "2024-03-01T00:00:00Z", &iu, &u);
                assert_ok(oci_store_tag(s, NULL, &u, err));
                assert_ok(oci_store_tag(s, NULL, &u, err));
                assert_ok(oci_layout_list(oci_store_layout(s), &e, &n, err));
                assert_int_equal(n, 3);
                assert_null(e[2].name);
                oci_layout_entries_free(e, n);
                assert_ok(oci_store_resolve(s, u.digest, &got, &name, err));
                assert_null(name);
                oci_descriptor_clear(&got);
                assert_ok(oci_store_gc(s, &o, NULL, err));
                assert_true(oci_layout_has_blob(oci_store_layout(s), &iu.layer));
                oci_descriptor_clear(&u);
        }
        /* An untagged manifest found by full digest. */
        {
                struct image ic;
                struct oci_descriptor c;
                make_image(s, "layer C", "2024-03-01T00:00:00Z", &ic, &c);
                assert_ok(oci_store_resolve(s, c.digest, &got, &name, err));
                assert_string_equal(got.digest, c.digest);
                assert_string_equal(got.media_type, OCI_MT_MANIFEST);
                assert_int_equal(got.size, c.size);
                assert_null(name);
                oci_descriptor_clear(&got);
                /* A layer is not an image. */
                assert_fails(oci_store_resolve(s, ic.layer.str, &got, NULL, err), ERR_MANIFEST_UNKNOWN,
                             "not a manifest", NULL);
                oci_descriptor_clear(&c);
        }

        assert_fails(oci_store_resolve(s, "nope:1", &got, NULL, err), ERR_MANIFEST_UNKNOWN, "nope:1", NULL);
        assert_fails(oci_store_resolve(s, "", &got, NULL, err), ERR_REFERENCE_INVALID, "empty", NULL);
        assert_fails(oci_store_resolve(s,
                                       "sha256:"
                                       "0000000000000000000000000000000000000000000000000000000000000000",
                                       &got, NULL, err),
                     ERR_MANIFEST_UNKNOWN, "sha256:0000", NULL);

        /* Moving a name, untagging. */
        assert_ok(oci_store_tag(s, "app:1.0", &b, err));
        assert_ok(oci_store_resolve(s, "app:1.0", &got, NULL, err));
        assert_string_equal(got.digest, b.digest);
        oci_descriptor_clear(&got);
        assert_ok(oci_store_untag(s, "app:1.0", err));
        assert_fails(oci_store_resolve(s, "app:1.0", &got, NULL, err), ERR_MANIFEST_UNKNOWN, NULL, NULL);
        assert_fails(oci_store_untag(s, "app:1.0", err), ERR_MANIFEST_UNKNOWN, "localhost/app:1.0", NULL);
        assert_fails(oci_store_tag(s, "Bad:1", &a, err), ERR_REFERENCE_INVALID, NULL, NULL);
        assert_fails(oci_store_tag(s,
                                   "app@sha256:"
                                   "0000000000000000000000000000000000000000000000000000000000000000",
                                   &a, err),
                     ERR_REFERENCE_INVALID, "digest", NULL);
        {
                char *norm = NULL;
                assert_ok(oci_store_normalize_name("app", &norm, err));
                assert_string_equal(norm, "localhost/app:latest");
                free(norm);
        }
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&b);
        oci_store_free(s);
}

static char *
numbered_manifest(int i)
{
        return xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
                         "\"digest\":\"%s\",\"size\":2},\"layers\":[],\"annotations\":{\"i\":\"%d\"}}",
                         OCI_MT_MANIFEST, OCI_MT_EMPTY, OCI_EMPTY_DIGEST, i);
}

static void
ambiguous_prefix(void **state)
{
        struct oci_store *s = open_store();
        static int first_with[65536];
        int pair[2] = {-1, -1};
        char prefix[5] = {0};
        struct oci_descriptor got;

        /* Two manifests whose digests share their first 4 hex digits
         * (birthday bound: a few hundred tries, hashed in memory). */
        memset(first_with, 0xff, sizeof(first_with));
        for (int i = 0; i < 100000 && pair[0] < 0; i++) {
                _cleanup_free_ char *m = numbered_manifest(i);
                struct digest d;
                unsigned v;

                digest_buffer(DIGEST_SHA256, m, strlen(m), &d);
                sscanf(d.hex, "%4x", &v);
                if (first_with[v] >= 0) {
                        pair[0] = first_with[v];
                        pair[1] = i;
                        memcpy(prefix, d.hex, 4);
                } else {
                        first_with[v] = i;
                }
        }
        assert_true(pair[0] >= 0);
        add_str(s, "{}", NULL);
        for (int i = 0; i < 2; i++) {
                _cleanup_free_ char *m = numbered_manifest(pair[i]);
                struct oci_descriptor desc;
                struct digest d;
                char nm[16];

                add_str(s, m, &d);
                oci_descriptor_init(&desc, OCI_MT_MANIFEST, d.str, (int64_t) strlen(m));
                snprintf(nm, sizeof(nm), "n%d", i);
                assert_ok(oci_store_tag(s, nm, &desc, err));
                oci_descriptor_clear(&desc);
        }
        assert_fails(oci_store_resolve(s, prefix, &got, NULL, err), ERR_REFERENCE_INVALID, "ambiguous", prefix);
        oci_store_free(s);
}

static void
tag_requires_complete_image(void **state)
{
        struct oci_store *s = open_store();
        struct oci_descriptor a, ix, bad;
        struct image ia;
        struct digest ixd, junk;
        _cleanup_free_ char *json = NULL;

        make_image(s, "layer A", "2024-01-01T00:00:00Z", &ia, &a);
        {
                _cleanup_free_ char *p = oci_layout_blob_path(oci_store_layout(s), &ia.layer);
                unlink(p);
        }
        assert_fails(oci_store_tag(s, "a", &a, err), ERR_MANIFEST_BLOB_UNKNOWN, ia.layer.str, "layers[0] of");
        add_str(s, "layer A", NULL);
        assert_ok(oci_store_tag(s, "a", &a, err));

        /* An index may lack a platform's manifest, not a present one's layers. */
        json = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
                         "\"digest\":\"%s\",\"size\":%lld},{\"mediaType\":\"%s\",\"digest\":\"sha256:"
                         "1111111111111111111111111111111111111111111111111111111111111111\",\"size\":9}]}",
                         OCI_MT_INDEX, OCI_MT_MANIFEST, a.digest, (long long) a.size, OCI_MT_MANIFEST);
        add_str(s, json, &ixd);
        oci_descriptor_init(&ix, OCI_MT_INDEX, ixd.str, (int64_t) strlen(json));
        assert_ok(oci_store_tag(s, "multi", &ix, err));
        {
                _cleanup_free_ char *p = oci_layout_blob_path(oci_store_layout(s), &ia.config);
                unlink(p);
        }
        assert_fails(oci_store_tag(s, "multi2", &ix, err), ERR_MANIFEST_BLOB_UNKNOWN, ia.config.str, NULL);

        /* The root must be there, with its size, and be what it claims. */
        assert_fails(
            oci_store_tag(s, "gone",
                          &(struct oci_descriptor){
                              .media_type = OCI_MT_MANIFEST,
                              .digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111",
                              .size = 9},
                          err),
            ERR_MANIFEST_BLOB_UNKNOWN, "sha256:1111", NULL);
        add_str(s, "not json", &junk);
        oci_descriptor_init(&bad, OCI_MT_MANIFEST, junk.str, 8);
        assert_fails(oci_store_tag(s, "junk", &bad, err), ERR_MANIFEST_INVALID, junk.str, NULL);
        bad.size = 7;
        assert_fails(oci_store_tag(s, "junk", &bad, err), ERR_SIZE_INVALID, junk.str, NULL);
        oci_descriptor_clear(&bad);
        oci_descriptor_init(&bad, OCI_MT_INDEX, a.digest, a.size);
        assert_fails(oci_store_tag(s, "junk", &bad, err), ERR_MANIFEST_INVALID, a.digest, NULL);
        oci_descriptor_clear(&bad);
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&ix);
        oci_store_free(s);
}

static void
list_images(void **state)
{
        struct oci_store *s = open_store();
        struct oci_descriptor a, b;
        struct image ia, ib;
        struct oci_store_image *imgs = NULL;
        size_t n = 0;

        make_image(s, "layer A", "2024-01-01T00:00:00Z", &ia, &a);
        make_image(s, "layer BB", "2024-02-01T00:00:00Z", &ib, &b);
        assert_ok(oci_store_tag(s, "a:1", &a, err));
        assert_ok(oci_store_tag(s, "b:1", &b, err));
        assert_ok(oci_store_list(s, &imgs, &n, err));
        assert_int_equal(n, 2);
        assert_string_equal(imgs[0].name, "localhost/a:1");
        assert_string_equal(imgs[0].desc.digest, a.digest);
        assert_int_equal(imgs[0].size, ia.config_size + ia.layer_size);
        assert_string_equal(imgs[0].created, "2024-01-01T00:00:00Z");
        assert_string_equal(imgs[1].name, "localhost/b:1");
        assert_int_equal(imgs[1].size, ib.config_size + ib.layer_size);
        assert_string_equal(imgs[1].created, "2024-02-01T00:00:00Z");
        oci_store_images_free(imgs, n);
        oci_store_images_free(NULL, 0);

        /* An image whose config vanished is still listed. */
        {
                _cleanup_free_ char *p = oci_layout_blob_path(oci_store_layout(s), &ib.config);
                unlink(p);
        }
        assert_ok(oci_store_list(s, &imgs, &n, err));
        assert_int_equal(n, 2);
        assert_null(imgs[1].created);
        oci_store_images_free(imgs, n);
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&b);
        oci_store_free(s);
}

static bool
blob_exists(struct oci_store *s, const struct digest *d)
{
        return oci_layout_has_blob(oci_store_layout(s), d);
}

static void
age_blobs(struct oci_store *s)
{
        /* Make every blob look an hour old. */
        _cleanup_free_ char *dir = xasprintf("%s/blobs/sha256", oci_store_path(s));
        _cleanup_closedir_ DIR *d = opendir(dir);
        struct timespec old[2];
        struct dirent *de;

        clock_gettime(CLOCK_REALTIME, &old[0]);
        old[0].tv_sec -= 3600;
        old[1] = old[0];
        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        assert_int_equal(utimensat(dirfd(d), de->d_name, old, 0), 0);
}

static void
gc(void **state)
{
        struct oci_store *s = open_store();
        struct oci_descriptor a, b;
        struct image ia, ib;
        struct oci_store_gc_opts opts = {.grace_seconds = 0, .dry_run = true};
        struct oci_store_gc_result res;
        struct digest junk;
        _cleanup_free_ char *tmpf = xasprintf("%s/blobs/.tmp-stale", oci_store_path(s));
        _cleanup_free_ char *fresh = xasprintf("%s/blobs/.tmp-fresh", oci_store_path(s));

        make_image(s, "layer A", "2024-01-01T00:00:00Z", &ia, &a);
        make_image(s, "layer B", "2024-02-01T00:00:00Z", &ib, &b);
        add_str(s, "junk", &junk);
        assert_ok(oci_store_tag(s, "a:1", &a, err));
        assert_ok(oci_store_tag(s, "b:1", &b, err));
        assert_ok(oci_store_untag(s, "b:1", err));
        {
                struct err *e = NULL;
                struct timespec old[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
                assert_int_equal(fs_write_atomic(tmpf, "x", 1, 0644, &e), 0);
                assert_int_equal(utimensat(AT_FDCWD, tmpf, old, 0), 0);
                assert_int_equal(fs_write_atomic(fresh, "y", 1, 0644, &e), 0);
        }

        /* With the default grace period, fresh blobs all survive. */
        assert_ok(oci_store_gc(s, NULL, &res, err));
        assert_int_equal(res.blobs_removed, 0);
        assert_int_equal(res.temps_removed, 1); /* the old temp only */
        assert_int_equal(access(tmpf, F_OK), -1);
        assert_int_equal(access(fresh, F_OK), 0);
        oci_store_gc_result_clear(&res);

        age_blobs(s);
        /* Dry run: reports B's manifest, config, layer and the junk blob. */
        assert_ok(oci_store_gc(s, &opts, &res, err));
        assert_int_equal(res.blobs_removed, 4);
        assert_int_equal(res.bytes_freed, ib.manifest_size + ib.config_size + ib.layer_size + 4);
        assert_true(oci_strv_contains(res.removed, junk.str));
        assert_true(oci_strv_contains(res.removed, ib.manifest.str));
        assert_false(oci_strv_contains(res.removed, ia.manifest.str));
        assert_true(blob_exists(s, &junk));
        assert_true(blob_exists(s, &ib.layer));
        oci_store_gc_result_clear(&res);

        /* Extra roots: keeping B's manifest keeps its config and layer. */
        opts.keep = &ib.manifest;
        opts.n_keep = 1;
        opts.dry_run = false;
        opts.grace_seconds = 600;
        assert_ok(oci_store_gc(s, &opts, &res, err));
        assert_int_equal(res.blobs_removed, 1);
        assert_string_equal(res.removed[0], junk.str);
        assert_false(blob_exists(s, &junk));
        assert_true(blob_exists(s, &ib.layer));
        assert_true(blob_exists(s, &ib.config));
        oci_store_gc_result_clear(&res);

        /* Re-adding an existing blob refreshes it: the grace period covers it. */
        add_str(s, "layer B", &ib.layer);
        opts.keep = NULL;
        opts.n_keep = 0;
        assert_ok(oci_store_gc(s, &opts, &res, err));
        assert_int_equal(res.blobs_removed, 2);
        assert_true(blob_exists(s, &ib.layer));
        assert_false(blob_exists(s, &ib.manifest));
        assert_false(blob_exists(s, &ib.config));
        oci_store_gc_result_clear(&res);

        /* Everything reachable survives, and the layout stays valid. */
        opts.grace_seconds = 0;
        assert_ok(oci_store_gc(s, &opts, NULL, err));
        assert_false(blob_exists(s, &ib.layer));
        assert_true(blob_exists(s, &ia.layer));
        assert_true(blob_exists(s, &ia.config));
        assert_true(blob_exists(s, &ia.manifest));
        assert_ok(oci_layout_validate(oci_store_layout(s), OCI_VALIDATE_REHASH, NULL, err));
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&b);
        oci_store_free(s);
}

/* Build cache entries (cache/<64 hex>) are GC roots: their config and
 * layers survive without a name; removing the entry releases them.  A file
 * in cache/ that is not an entry (or does not parse) marks nothing. */
static void
gc_keeps_cache_entries(void **state)
{
        struct oci_store *s = open_store();
        struct oci_store_gc_opts opts = {.grace_seconds = 0};
        struct oci_store_gc_result res;
        struct digest cfg, layer, other, junk;
        _cleanup_free_ char *entry = NULL, *json = NULL, *bad = NULL, *notentry = NULL, *json2 = NULL;
        struct err *e = NULL;

        add_str(s, "{\"cached\":\"config\"}", &cfg);
        add_str(s, "cached layer", &layer);
        add_str(s, "named by a broken entry", &other);
        add_str(s, "junk", &junk);
        assert_int_equal(fs_mkdir_p(oci_store_cache_dir(s), 0755, &e), 0);
        entry = xasprintf("%s/%s", oci_store_cache_dir(s), "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        json = xasprintf("{\"config\":\"%s\",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                         "\"digest\":\"%s\",\"size\":12}]}",
                         cfg.str, layer.str);
        assert_int_equal(fs_write_atomic(entry, json, strlen(json), 0644, &e), 0);
        bad = xasprintf("%s/%s", oci_store_cache_dir(s), "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210");
        assert_int_equal(fs_write_atomic(bad, "{not json", 9, 0644, &e), 0);
        notentry = xasprintf("%s/mounts-%s", oci_store_cache_dir(s), other.hex);
        json2 = xasprintf("{\"config\":\"%s\",\"layers\":[]}", other.str);
        assert_int_equal(fs_write_atomic(notentry, json2, strlen(json2), 0644, &e), 0);

        assert_ok(oci_store_gc(s, &opts, &res, err));
        assert_int_equal(res.blobs_removed, 2);
        assert_true(oci_strv_contains(res.removed, junk.str));
        assert_true(oci_strv_contains(res.removed, other.str));
        assert_true(blob_exists(s, &cfg));
        assert_true(blob_exists(s, &layer));
        oci_store_gc_result_clear(&res);

        assert_int_equal(unlink(entry), 0);
        assert_ok(oci_store_gc(s, &opts, &res, err));
        assert_int_equal(res.blobs_removed, 2);
        assert_false(blob_exists(s, &cfg));
        assert_false(blob_exists(s, &layer));
        oci_store_gc_result_clear(&res);
        oci_store_free(s);
}

/* With opts.roots the GC takes the caller's roots as they are: it walks
 * neither index.json nor cache/ (ibuild prune read both already), so a
 * named image's blobs and a cache entry's blobs go unless ROOTS names them,
 * and what ROOTS names stays; KEEP is still walked. */
static void
gc_with_roots(void **state)
{
        struct oci_store *s = open_store();
        _cleanup_json_ json_t *roots = json_object();
        struct oci_store_gc_opts opts = {.grace_seconds = 0, .roots = roots};
        struct oci_store_gc_result res;
        struct oci_descriptor a, b;
        struct image ia, ib;
        struct digest cached, loose;
        _cleanup_free_ char *entry = NULL, *json = NULL;
        struct err *e = NULL;

        make_image(s, "layer A", "2024-01-01T00:00:00Z", &ia, &a);
        assert_ok(oci_store_tag(s, "a", &a, err));
        make_image(s, "layer B", "2024-01-02T00:00:00Z", &ib, &b);
        add_str(s, "cached layer", &cached);
        add_str(s, "loose", &loose);
        entry = xasprintf("%s/%s", oci_store_cache_dir(s), "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        json = xasprintf("{\"config\":\"%s\",\"layers\":[{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\","
                         "\"digest\":\"%s\",\"size\":12}]}",
                         loose.str, cached.str);
        assert_int_equal(fs_write_atomic(entry, json, strlen(json), 0644, &e), 0);

        /* ROOTS: image A's manifest and config only, and the loose blob;
         * KEEP: image B's manifest (walked: its config and layer stay). */
        json_object_set_new(roots, ia.manifest.str, json_true());
        json_object_set_new(roots, ia.config.str, json_true());
        json_object_set_new(roots, loose.str, json_true());
        opts.keep = &ib.manifest;
        opts.n_keep = 1;
        assert_ok(oci_store_gc(s, &opts, &res, err));
        assert_int_equal(res.blobs_removed, 2);
        assert_true(oci_strv_contains(res.removed, ia.layer.str));
        assert_true(oci_strv_contains(res.removed, cached.str));
        oci_store_gc_result_clear(&res);
        assert_true(blob_exists(s, &ia.manifest));
        assert_true(blob_exists(s, &ia.config));
        assert_true(blob_exists(s, &loose));
        assert_true(blob_exists(s, &ib.manifest));
        assert_true(blob_exists(s, &ib.config));
        assert_true(blob_exists(s, &ib.layer));
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&b);
        oci_store_free(s);
}

static void
gc_through_index(void **state)
{
        struct oci_store *s = open_store();
        struct oci_descriptor a, ix;
        struct image ia;
        struct digest ixd;
        _cleanup_free_ char *json = NULL;
        struct oci_store_gc_opts opts = {.grace_seconds = 0};
        struct oci_store_gc_result res;

        make_image(s, "layer A", "2024-01-01T00:00:00Z", &ia, &a);
        json = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[{\"mediaType\":\"%s\","
                         "\"digest\":\"%s\",\"size\":%lld}]}",
                         OCI_MT_INDEX, OCI_MT_MANIFEST, a.digest, (long long) a.size);
        add_str(s, json, &ixd);
        oci_descriptor_init(&ix, OCI_MT_INDEX, ixd.str, (int64_t) strlen(json));
        assert_ok(oci_store_tag(s, "multi", &ix, err));
        age_blobs(s);
        assert_ok(oci_store_gc(s, &opts, &res, err));
        assert_int_equal(res.blobs_removed, 0);
        assert_int_equal(res.blobs_kept, 4);
        oci_store_gc_result_clear(&res);
        assert_true(blob_exists(s, &ia.layer));
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&ix);
        oci_store_free(s);
}

static void
gc_keeps_subject(void **state)
{
        struct oci_store *s = open_store();
        struct oci_descriptor a, r;
        struct image ia;
        struct digest sig, rd;
        _cleanup_free_ char *json = NULL;
        struct oci_store_gc_opts opts = {.grace_seconds = 0};
        struct oci_store_gc_result res;

        /* Only a signature (an artifact whose subject is image A) is named:
         * A and its blobs are reachable through the subject. */
        make_image(s, "layer A", "2024-01-01T00:00:00Z", &ia, &a);
        add_str(s, "{}", NULL);
        add_str(s, "signature", &sig);
        json = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%s\","
                         "\"digest\":\"%s\",\"size\":2},\"layers\":[{\"mediaType\":\"application/x.sig\","
                         "\"digest\":\"%s\",\"size\":9}],\"subject\":{\"mediaType\":\"%s\",\"digest\":\"%s\","
                         "\"size\":%lld}}",
                         OCI_MT_MANIFEST, OCI_MT_EMPTY, OCI_EMPTY_DIGEST, sig.str, OCI_MT_MANIFEST, a.digest,
                         (long long) a.size);
        add_str(s, json, &rd);
        oci_descriptor_init(&r, OCI_MT_MANIFEST, rd.str, (int64_t) strlen(json));
        assert_ok(oci_store_tag(s, "sig", &r, err));
        age_blobs(s);
        assert_ok(oci_store_gc(s, &opts, &res, err));
        assert_int_equal(res.blobs_removed, 0);
        oci_store_gc_result_clear(&res);
        assert_true(blob_exists(s, &ia.manifest));
        assert_true(blob_exists(s, &ia.layer));
        assert_true(blob_exists(s, &ia.config));
        assert_true(blob_exists(s, &sig));
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&r);
        oci_store_free(s);
}

/* Child process: open (maybe create) the store, add an image with layer
 * LAYER and tag it with 50 names "PREFIX-i:vi"; exit status 0 on success. */
static void
tagger(const char *path, const char *prefix, const char *layer)
{
        struct oci_store *s = NULL;
        struct err *e = NULL;
        struct oci_descriptor d;
        struct image im;

        if (oci_store_open(path, &s, &e) < 0 || try_make_image(s, layer, "2024-01-01T00:00:00Z", &im, &d, &e) < 0) {
                fprintf(stderr, "tagger %s: %s\n", prefix, err_msg(&e));
                _exit(10);
        }
        for (int i = 0; i < 50; i++) {
                char name[64];
                snprintf(name, sizeof(name), "%s-%d:v%d", prefix, i, i);
                if (oci_store_tag(s, name, &d, &e) < 0) {
                        fprintf(stderr, "tag %s: %s\n", name, err_msg(&e));
                        _exit(11);
                }
        }
        oci_descriptor_clear(&d);
        oci_store_free(s);
        _exit(0);
}

static void
concurrent_taggers(void **state)
{
        _cleanup_free_ char *path = xasprintf("%s/fresh-store", tmpdir);
        struct oci_store *s = NULL;
        struct oci_descriptor a, b;
        struct image ia, ib;
        struct oci_layout_entry *e = NULL;
        size_t n = 0, na = 0, nb = 0;
        pid_t pids[3];

        /* The expected digests, from a scratch store. */
        {
                _cleanup_free_ char *other = xasprintf("%s/prep", tmpdir);
                struct oci_store *prep = NULL;
                assert_ok(oci_store_open(other, &prep, err));
                make_image(prep, "layer A", "2024-01-01T00:00:00Z", &ia, &a);
                make_image(prep, "layer B", "2024-01-01T00:00:00Z", &ib, &b);
                oci_store_free(prep);
        }
        /* Both taggers also race to create the store itself. */
        for (int i = 0; i < 2; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0)
                        tagger(path, i == 0 ? "a" : "b", i == 0 ? "layer A" : "layer B");
        }
        /* and a third process collects garbage meanwhile (default grace:
         * the fresh, not yet tagged blobs must survive it). */
        pids[2] = fork();
        assert_true(pids[2] >= 0);
        if (pids[2] == 0) {
                struct oci_store *g = NULL;
                struct err *ge = NULL;
                for (int i = 0; i < 20; i++) {
                        if (oci_store_open(path, &g, &ge) < 0 || oci_store_gc(g, NULL, NULL, &ge) < 0) {
                                fprintf(stderr, "gc: %s\n", err_msg(&ge));
                                _exit(12);
                        }
                        oci_store_free(g);
                        g = NULL;
                }
                _exit(0);
        }
        for (int i = 0; i < 3; i++) {
                int status = 0;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        assert_ok(oci_store_open(path, &s, err));
        assert_ok(oci_layout_list(oci_store_layout(s), &e, &n, err));
        assert_int_equal(n, 100);
        for (size_t i = 0; i < n; i++) {
                if (strncmp(e[i].name, "localhost/a-", 12) == 0 && strcmp(e[i].desc.digest, a.digest) == 0)
                        na++;
                if (strncmp(e[i].name, "localhost/b-", 12) == 0 && strcmp(e[i].desc.digest, b.digest) == 0)
                        nb++;
        }
        assert_int_equal(na, 50);
        assert_int_equal(nb, 50);
        oci_layout_entries_free(e, n);
        assert_ok(oci_layout_validate(oci_store_layout(s), OCI_VALIDATE_REHASH, NULL, err));
        oci_descriptor_clear(&a);
        oci_descriptor_clear(&b);
        oci_store_free(s);
}

static void
explicit_lock(void **state)
{
        struct oci_store *s = open_store();
        _cleanup_free_ char *lockpath = xasprintf("%s/lock", oci_store_path(s));
        int fd = -1, probe;

        assert_ok((fd = oci_store_lock(s, true, err)));
        probe = open(lockpath, O_RDWR | O_CLOEXEC);
        assert_true(probe >= 0);
        /* Another open file description cannot get it while we hold it. */
        assert_int_equal(flock(probe, LOCK_SH | LOCK_NB), -1);
        assert_int_equal(errno, EWOULDBLOCK);
        oci_store_unlock(fd);
        assert_int_equal(flock(probe, LOCK_SH | LOCK_NB), 0);
        /* Shared locks coexist. */
        assert_ok((fd = oci_store_lock(s, false, err)));
        oci_store_unlock(fd);
        oci_store_unlock(-1);
        close(probe);
        oci_store_free(s);
}

/* The hold (store.h): shared holds coexist and are counted; an exclusive
 * one conflicts with them both ways (EWOULDBLOCK naming the store, without
 * waiting); a process holding shared cannot GC; the GC holds the store
 * itself when the caller does not, waiting for the shared holders. */
static void
hold(void **state)
{
        struct oci_store *s1 = open_store(), *s2 = open_store(), *s3 = open_store();
        _cleanup_free_ char *marker = xasprintf("%s/released", tmpdir);
        int pfd[2];
        pid_t pid;
        char c;
        int st;

        assert_ok(oci_store_hold(s1, false, false, err));
        assert_ok(oci_store_hold(s1, false, false, err)); /* again: no-op */
        assert_ok(oci_store_hold(s2, false, true, err));
        assert_int_equal(oci_store_users(s3), 2);
        assert_fails(oci_store_hold(s3, true, false, err), EWOULDBLOCK, oci_store_path(s3),
                     "in use by 2 running build(s)");
        assert_fails(oci_store_hold(s1, true, false, err), EBUSY, "already held shared", NULL);
        assert_fails(oci_store_gc(s1, NULL, NULL, err), EDEADLK, "holds the store shared", NULL);
        oci_store_release(s1);
        oci_store_release(s1); /* no-op */
        oci_store_release(s2);
        assert_int_equal(oci_store_users(s3), 0);

        assert_ok(oci_store_hold(s3, true, false, err));
        assert_fails(oci_store_hold(s1, false, false, err), EWOULDBLOCK, oci_store_path(s1), "being pruned");
        assert_ok(oci_store_gc(s3, NULL, NULL, err)); /* its own hold: no wait */
        oci_store_release(s3);

        /* A GC without a hold waits for a shared holder (a child that lets
         * go after 300 ms, leaving a marker first). */
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct oci_store *c1 = NULL;
                struct err *e = NULL;

                if (oci_store_open(oci_store_path(s1), &c1, &e) < 0 || oci_store_hold(c1, false, true, &e) < 0)
                        _exit(1);
                if (write(pfd[1], "x", 1) != 1)
                        _exit(1);
                usleep(300 * 1000);
                if (fs_write_atomic(marker, "x", 1, 0644, &e) < 0)
                        _exit(1);
                oci_store_free(c1);
                _exit(0);
        }
        close(pfd[1]);
        assert_int_equal(read(pfd[0], &c, 1), 1);
        close(pfd[0]);
        assert_ok(oci_store_gc(s1, NULL, NULL, err));
        assert_int_equal(access(marker, F_OK), 0);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        /* The GC let go of its own hold. */
        assert_ok(oci_store_hold(s2, false, false, err));
        oci_store_free(s1);
        oci_store_free(s2); /* releases */
        assert_ok(oci_store_hold(s3, true, false, err));
        oci_store_free(s3);
}

/* A reader that can't write the store, from before users.lock existed:
 * a shared hold is not refused for the missing file. */
static void
hold_readonly_store(void **state)
{
        struct oci_store *s = open_store();
        _cleanup_free_ char *lock = xasprintf("%s/users.lock", oci_store_path(s));
        pid_t pid;
        int st;

        assert_int_equal(access(lock, F_OK), -1);
        assert_int_equal(chmod(tmpdir, 0755), 0);
        assert_int_equal(chmod(oci_store_path(s), 0555), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct oci_store *c = NULL;
                struct err *e = NULL;

                if (geteuid() == 0 && setresgid(65534, 65534, 65534) < 0)
                        _exit(2);
                if (geteuid() == 0 && setresuid(65534, 65534, 65534) < 0)
                        _exit(2);
                if (oci_store_open(oci_store_path(s), &c, &e) < 0)
                        _exit(3);
                if (oci_store_hold(c, false, false, &e) < 0) {
                        fprintf(stderr, "%s\n", err_msg(&e));
                        _exit(1);
                }
                oci_store_free(c);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        assert_int_equal(access(lock, F_OK), -1);
        assert_int_equal(chmod(oci_store_path(s), 0755), 0);
        oci_store_free(s);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(default_path, setup, teardown),
            cmocka_unit_test_setup_teardown(open_layout_and_dirs, setup, teardown),
            cmocka_unit_test_setup_teardown(tag_and_resolve, setup, teardown),
            cmocka_unit_test_setup_teardown(ambiguous_prefix, setup, teardown),
            cmocka_unit_test_setup_teardown(tag_requires_complete_image, setup, teardown),
            cmocka_unit_test_setup_teardown(list_images, setup, teardown),
            cmocka_unit_test_setup_teardown(gc, setup, teardown),
            cmocka_unit_test_setup_teardown(gc_keeps_cache_entries, setup, teardown),
            cmocka_unit_test_setup_teardown(gc_with_roots, setup, teardown),
            cmocka_unit_test_setup_teardown(gc_through_index, setup, teardown),
            cmocka_unit_test_setup_teardown(gc_keeps_subject, setup, teardown),
            cmocka_unit_test_setup_teardown(concurrent_taggers, setup, teardown),
            cmocka_unit_test_setup_teardown(explicit_lock, setup, teardown),
            cmocka_unit_test_setup_teardown(hold, setup, teardown),
            cmocka_unit_test_setup_teardown(hold_readonly_store, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
