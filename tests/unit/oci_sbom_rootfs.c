/* oci/sbom-rootfs: the final filesystem of layers (whiteouts, opaque
 * directories, symlinks, compression) as the SBOM sees it, and
 * oci_sbom_generate over a whole image. */
#include "tests/unit/test.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "common/fsutil.h"
#include "oci/layout.h"
#include "oci/mediatype.h"
#include "oci/sbom.h"

struct tent {
        char type; /* f file, d dir, l symlink */
        const char *path;
        const char *arg;
};

struct growbuf {
        char *p;
        size_t n;
};

static la_ssize_t
write_cb(struct archive *a, void *data, const void *buf, size_t len)
{
        struct growbuf *g = data;

        (void) a;
        g->p = realloc(g->p, g->n + len);
        memcpy(g->p + g->n, buf, len);
        g->n += len;
        return (la_ssize_t) len;
}

/* A layer of T (FILTER 'g' gzip, 'z' zstd, else none) added to LAY; *ret_d
 * describes it. */
static void
add_layer(struct oci_layout *lay, const struct tent *t, size_t n, int filter, struct oci_descriptor *ret_d)
{
        struct archive *a = archive_write_new();
        struct growbuf g = {0};
        struct digest d;

        archive_write_set_format_pax_restricted(a);
        if (filter == 'g')
                archive_write_add_filter_gzip(a);
        if (filter == 'z')
                archive_write_add_filter_zstd(a);
        archive_write_set_bytes_in_last_block(a, 1);
        assert_int_equal(archive_write_open(a, &g, NULL, write_cb, NULL), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();

                archive_entry_set_pathname(e, t[i].path);
                archive_entry_set_perm(e, 0644);
                if (t[i].type == 'f') {
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_size(e, (la_int64_t) strlen(t[i].arg ? t[i].arg : ""));
                } else if (t[i].type == 'd') {
                        archive_entry_set_filetype(e, AE_IFDIR);
                } else {
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, t[i].arg);
                }
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (t[i].type == 'f' && t[i].arg)
                        archive_write_data(a, t[i].arg, strlen(t[i].arg));
                archive_entry_free(e);
        }
        archive_write_close(a);
        archive_write_free(a);
        assert_ok(oci_layout_add_blob(lay, g.p, g.n, NULL, &d, err));
        oci_descriptor_init(ret_d, filter == 'g'   ? OCI_MT_LAYER_GZIP
                                   : filter == 'z' ? OCI_MT_LAYER_ZSTD
                                                   : OCI_MT_LAYER_TAR,
                            d.str, (int64_t) g.n);
        free(g.p);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct tent bottom[] = {
    {'d', "etc/", NULL},
    {'l', "etc/os-release", "../usr/lib/os-release"},
    {'f', "usr/lib/os-release", "ID=debian\nVERSION_ID=11\n"},
    {'f', "./var/lib/dpkg/status", "Package: gone\nVersion: 1\n"},
    {'f', "var/lib/dpkg/status.d/a", "Package: a\nVersion: 1\n"},
    {'f', "var/lib/rpm/rpmdb.sqlite", "SQLite format 3"},
    {'f', "lib/apk/db/installed", "P:musl\nV:1.2.4-r2\n"},
    {'f', "opt/doc/copyright", "not under share/doc: not read"},
    {'f', "usr/share/doc/a/copyright", "Format: copyright-format/1.0\n\nLicense: MIT\n"},
    {'f', "opt/replaced/f", "a file under a dir an upper layer replaces"},
    {'f', "var/lib/dpkg/status.d/x/deep", "Package: deep\nVersion: 1\n"},
};
static const struct tent middle[] = {
    {'f', "var/lib/dpkg/.wh.status", ""},
    {'f', "var/lib/dpkg/status.d/.wh..wh..opq", ""},
    {'f', "var/lib/dpkg/status.d/b", "Package: b\nVersion: 2\n"},
    {'f', "opt/replaced", "now a file"},
    {'l', "loop1", "loop2"},
    {'l', "loop2", "/loop1"},
};
static const struct tent top[] = {
    {'f', "usr/lib/os-release", "ID=debian\nVERSION_ID=12\n"},
    {'f', "lib/apk/db/.wh.installed", ""},
    {'f', "var/lib/dpkg/status", "Package: lower\nVersion: 1\n"}, /* back, above its whiteout */
};

static char *
mk_layout(struct oci_layout **ret)
{
        char *dir = strdup("/tmp/oci-sbom-test.XXXXXX");

        assert_non_null(mkdtemp(dir));
        assert_ok(oci_layout_create(dir, ret, err));
        return dir;
}

static void
whiteouts_and_links(void **state)
{
        struct oci_layout *lay = NULL;
        char *dir = mk_layout(&lay);
        struct oci_descriptor l[3];
        struct oci_sbom_files f = {0};
        const struct oci_sbom_file *x;
        size_t *idx = NULL, n;
        char *s;

        (void) state;
        add_layer(lay, bottom, N(bottom), 'g', &l[0]);
        add_layer(lay, middle, N(middle), 'z', &l[1]);
        /* Only the first two layers: the status whiteout holds. */
        assert_ok(oci_sbom_read_rootfs(lay, l, 2, true, &f, err));
        assert_null(oci_sbom_files_get(&f, "var/lib/dpkg/status"));
        x = oci_sbom_files_get(&f, "etc/os-release");
        assert_non_null(x);
        assert_string_equal(x->path, "usr/lib/os-release");
        assert_string_equal(x->data, "ID=debian\nVERSION_ID=11\n");
        /* The opaque status.d/ keeps its own layer's b, hides a and x/deep. */
        n = oci_sbom_files_in_dir(&f, "var/lib/dpkg/status.d", &idx);
        assert_int_equal(n, 1);
        assert_string_equal(f.v[idx[0]].path, "var/lib/dpkg/status.d/b");
        free(idx);
        assert_null(oci_sbom_files_get(&f, "var/lib/dpkg/status.d/x/deep"));
        /* rpm: noted, not read. */
        x = oci_sbom_files_get(&f, "var/lib/rpm/rpmdb.sqlite");
        assert_non_null(x);
        assert_null(x->data);
        assert_non_null(oci_sbom_files_get(&f, "lib/apk/db/installed"));
        assert_non_null(oci_sbom_files_get(&f, "usr/share/doc/a/copyright"));
        assert_null(oci_sbom_files_get(&f, "opt/doc/copyright"));
        /* A link loop resolves to nothing; ".." stops at the root. */
        assert_null(oci_sbom_files_resolve(&f, "loop1/x"));
        s = oci_sbom_files_resolve(&f, "../../etc/./os-release");
        assert_string_equal(s, "usr/lib/os-release");
        free(s);
        oci_sbom_files_clear(&f);

        /* With the top layer: a new os-release through the same link, the
         * apk db removed, and a status file again. */
        add_layer(lay, top, N(top), 0, &l[2]);
        assert_ok(oci_sbom_read_rootfs(lay, l, 3, false, &f, err));
        assert_string_equal(oci_sbom_files_get(&f, "etc/os-release")->data, "ID=debian\nVERSION_ID=12\n");
        assert_null(oci_sbom_files_get(&f, "lib/apk/db/installed"));
        assert_string_equal(oci_sbom_files_get(&f, "var/lib/dpkg/status")->data, "Package: lower\nVersion: 1\n");
        /* LICENSES false: copyright files are not kept. */
        assert_null(oci_sbom_files_get(&f, "usr/share/doc/a/copyright"));
        oci_sbom_files_clear(&f);

        for (size_t i = 0; i < 3; i++)
                oci_descriptor_clear(&l[i]);
        oci_layout_free(lay);
        fs_rm_rf(dir, NULL);
        free(dir);
}

static void
bad_layers(void **state)
{
        struct oci_layout *lay = NULL;
        char *dir = mk_layout(&lay);
        struct oci_descriptor d;
        struct oci_sbom_files f = {0};
        struct digest dg;
        static const char junk[] = "\x1f\x8b this is no gzip stream at all, nor a tar";

        (void) state;
        assert_ok(oci_layout_add_blob(lay, junk, sizeof(junk), NULL, &dg, err));
        oci_descriptor_init(&d, OCI_MT_LAYER_GZIP, dg.str, sizeof(junk));
        assert_fails(oci_sbom_read_rootfs(lay, &d, 1, false, &f, err), EINVAL, dg.str, NULL);
        oci_descriptor_clear(&d);
        oci_descriptor_init(&d, OCI_MT_LAYER_GZIP,
                            "sha256:1111111111111111111111111111111111111111111111111111111111111111", 1);
        assert_fails(oci_sbom_read_rootfs(lay, &d, 1, false, &f, err), ERR_BLOB_UNKNOWN, "sha256:1111", NULL);
        oci_descriptor_clear(&d);
        oci_layout_free(lay);
        fs_rm_rf(dir, NULL);
        free(dir);
}

/* A whole image: config created time, base annotations, the document. */
static void
generate(void **state)
{
        struct oci_layout *lay = NULL;
        char *dir = mk_layout(&lay);
        struct oci_descriptor l[2], cfgd, md, art;
        struct oci_manifest *m = oci_manifest_new(OCI_MT_MANIFEST);
        static const struct tent only[] = {
            {'f', "etc/os-release", "ID=alpine\nVERSION_ID=3.19.1\n"},
            {'f', "lib/apk/db/installed", "P:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\n\nP:busybox\nV:1.36.1-r15\n"},
            {'f', "var/lib/rpm/Packages", "rpm"},
        };
        struct oci_sbom_opts so = {.name = "localhost/a:1", .source_date_epoch = -1};
        struct oci_sbom_result res = {0}, res2 = {0};
        char *cfg = NULL, *buf = NULL;
        size_t clen, blen;
        struct digest d;
        json_t *j;

        (void) state;
        add_layer(lay, only, N(only), 'g', &l[0]);
        add_layer(lay, middle, 1, 0, &l[1]);
        cfg = strdup("{\"architecture\":\"amd64\",\"os\":\"linux\",\"created\":\"2024-05-06T07:08:09.5Z\","
                     "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        clen = strlen(cfg);
        assert_ok(oci_layout_add_blob(lay, cfg, clen, NULL, &d, err));
        oci_descriptor_init(&cfgd, OCI_MT_CONFIG, d.str, (int64_t) clen);
        oci_manifest_set_config(m, &cfgd);
        oci_manifest_add_layer(m, &l[0]);
        oci_manifest_add_layer(m, &l[1]);
        m->annotations = json_pack("{s:s, s:s}", "org.opencontainers.image.base.name", "docker.io/library/alpine:3",
                                   "org.opencontainers.image.base.digest", d.str);
        assert_ok(oci_manifest_serialize(m, &buf, &blen, err));
        assert_ok(oci_layout_add_blob(lay, buf, blen, NULL, &d, err));
        oci_descriptor_init(&md, OCI_MT_MANIFEST, d.str, (int64_t) blen);

        assert_ok(oci_sbom_generate(lay, &md, &so, &res, err));
        assert_string_equal(res.created, "2024-05-06T07:08:09Z");
        assert_int_equal(res.n_packages, 2);
        assert_non_null(res.warnings);
        assert_non_null(strstr(res.warnings[0], "rpm database /var/lib/rpm/Packages found but not read"));
        j = json_loads(res.json, 0, NULL);
        assert_non_null(j);
        assert_string_equal(
            json_string_value(json_object_get(
                json_array_get(json_object_get(json_array_get(json_object_get(j, "packages"), 3), "externalRefs"), 0),
                "referenceLocator")),
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1");
        assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "packages"), 4),
                                                              "name")),
                            "docker.io/library/alpine:3");
        json_decref(j);
        /* SOURCE_DATE_EPOCH decides the time; same image, same bytes. */
        so.source_date_epoch = 86400;
        assert_ok(oci_sbom_generate(lay, &md, &so, &res2, err));
        assert_string_equal(res2.created, "1970-01-02T00:00:00Z");
        oci_sbom_result_clear(&res2);
        so.source_date_epoch = -1;
        assert_ok(oci_sbom_generate(lay, &md, &so, &res2, err));
        assert_int_equal(res.len, res2.len);
        assert_memory_equal(res.json, res2.json, res.len);

        /* The artifact: empty config, one SPDX layer, the subject. */
        assert_ok(oci_sbom_add_artifact(lay, res.json, res.len, &md, res.created, &art, err));
        assert_string_equal(art.artifact_type, OCI_MT_SPDX_JSON);
        {
                char *ab = NULL;
                size_t al;
                struct oci_manifest *am = NULL;

                assert_ok(digest_parse(art.digest, &d, err));
                assert_ok(oci_layout_read_blob(lay, &d, 1 << 20, &ab, &al, err));
                assert_ok(oci_manifest_parse(ab, al, &am, err));
                assert_string_equal(am->artifact_type, OCI_MT_SPDX_JSON);
                assert_string_equal(am->config.media_type, OCI_MT_EMPTY);
                assert_string_equal(am->config.digest, OCI_EMPTY_DIGEST);
                assert_int_equal(am->n_layers, 1);
                assert_string_equal(am->layers[0].media_type, OCI_MT_SPDX_JSON);
                assert_non_null(am->subject);
                assert_string_equal(am->subject->digest, md.digest);
                oci_manifest_free(am);
                free(ab);
        }
        oci_descriptor_clear(&art);
        oci_sbom_result_clear(&res);
        oci_sbom_result_clear(&res2);
        oci_descriptor_clear(&md);
        oci_descriptor_clear(&cfgd);
        for (size_t i = 0; i < 2; i++)
                oci_descriptor_clear(&l[i]);
        oci_manifest_free(m);
        free(buf);
        free(cfg);
        oci_layout_free(lay);
        fs_rm_rf(dir, NULL);
        free(dir);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(whiteouts_and_links),
            cmocka_unit_test(bad_layers),
            cmocka_unit_test(generate),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
