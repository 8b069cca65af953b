/* Test helper: drive oci/layout.h and oci/store.h from bats tests.
 *
 *   ocilayout build DIR NAME LAYER...     image from layers tagged NAME;
 *                                         prints the manifest digest.  A
 *                                         LAYER file is a tar or tar.gz
 *                                         (diffID computed here); a LAYER
 *                                         directory is written as a gzip
 *                                         layer by oci/layer.h straight into
 *                                         a blob writer
 *   ocilayout validate [--rehash] DIR     exit 1 with the error on stderr
 *   ocilayout list DIR                    NAME DIGEST MEDIATYPE SIZE
 *   ocilayout find DIR NAME               the digest NAME points to
 *   ocilayout walk DIR                    KIND DIGEST NAME REFERRER
 *   ocilayout cat DIR DIGEST              a blob (verified) to stdout
 *   ocilayout parse-ref oci:DIR[:NAME]    DIR and NAME ("-" when none)
 *   ocilayout store-resolve STORE WHAT    DIGEST NAME
 *   ocilayout store-list STORE            NAME DIGEST SIZE CREATED
 *   ocilayout store-tag STORE NAME DIGEST tag a manifest/index blob
 *   ocilayout store-gc STORE [--grace S] [--dry-run]
 *                                         "removed N bytes M temps T"
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/limits.h"
#include "digest/digest.h"
#include "oci/oci.h"

static int
fail(struct err **err, const char *what)
{
        fprintf(stderr, "ocilayout: %s: %s\n", what, err_msg(err));
        err_clear(err);
        return 1;
}

static int
usage(void)
{
        fputs("usage: ocilayout build|validate|list|find|walk|cat|parse-ref|store-resolve|store-list|"
              "store-tag|store-gc ...\n",
              stderr);
        return 2;
}

/* sha256 of the uncompressed stream of the layer file PATH (gzip or plain). */
static int
diff_id(const char *path, struct digest *ret, struct err **err)
{
        gzFile gz = gzopen(path, "rb"); /* reads plain files transparently */
        struct digest_ctx *ctx;
        char buf[65536];
        int n;

        if (!gz)
                return err_set(err, errno ? errno : EIO, "open %s", path);
        ctx = digest_ctx_new(DIGEST_SHA256);
        while ((n = gzread(gz, buf, sizeof(buf))) > 0)
                digest_ctx_update(ctx, buf, (size_t) n);
        if (n < 0) {
                int e;
                const char *m = gzerror(gz, &e);
                int r = err_set(err, EIO, "decompress %s: %s", path, m);
                gzclose(gz);
                digest_ctx_free(ctx);
                return r;
        }
        gzclose(gz);
        digest_ctx_final(ctx, ret);
        digest_ctx_free(ctx);
        return 0;
}

static int
cmd_build(int argc, char **argv)
{
        _cleanup_oci_layout_ struct oci_layout *l = NULL;
        _cleanup_(oci_image_config_freep) struct oci_image_config *cfg = NULL;
        _cleanup_(oci_manifest_freep) struct oci_manifest *m = NULL;
        _cleanup_free_ char *cbuf = NULL, *mbuf = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct oci_descriptor d;
        struct digest dg;
        size_t clen, mlen;

        if (argc < 2)
                return usage();
        if (oci_layout_create(argv[0], &l, &e) < 0)
                return fail(&e, argv[0]);
        cfg = oci_image_config_new("linux", "amd64", NULL);
        free(cfg->created);
        cfg->created = xstrdup("2024-01-01T00:00:00Z");
        cfg->has_config = true;
        cfg->config.env = oci_strv_append(NULL, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        cfg->config.cmd = oci_strv_append(NULL, "/bin/sh");
        m = oci_manifest_new(OCI_MT_MANIFEST);
        for (int i = 2; i < argc; i++) {
                _cleanup_close_ int fd = open(argv[i], O_RDONLY | O_CLOEXEC);
                struct oci_history h = {0};
                unsigned char magic[2] = {0};
                struct digest diff;
                uint64_t size;
                struct stat st;

                if (fd < 0 || fstat(fd, &st) < 0) {
                        fprintf(stderr, "ocilayout: open %s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (S_ISDIR(st.st_mode)) {
                        _cleanup_blob_writer_ struct oci_blob_writer *w = NULL;
                        struct oci_layer_write_opts o;
                        struct oci_layer_result res;

                        oci_layer_write_opts_init(&o);
                        o.compression = OCI_LAYER_GZIP;
                        o.source_date_epoch = 0;
                        if (oci_layout_blob_writer_new(l, DIGEST_SHA256, &w, &e) < 0 ||
                            oci_layer_write_dir(fd, ".", &o, oci_blob_writer_fd(w), &res, &e) < 0 ||
                            oci_blob_writer_commit(w, &res.blob_digest, (int64_t) res.blob_size, &dg, &size, &e) < 0)
                                return fail(&e, argv[i]);
                        diff = res.diff_id;
                        magic[0] = 0x1f;
                        magic[1] = 0x8b;
                } else {
                        if (pread(fd, magic, 2, 0) < 0 || diff_id(argv[i], &diff, &e) < 0)
                                return fail(&e, argv[i]);
                        if (oci_layout_add_blob_fd(l, fd, NULL, -1, &dg, &size, &e) < 0)
                                return fail(&e, argv[i]);
                }
                oci_descriptor_init(&d, magic[0] == 0x1f && magic[1] == 0x8b ? OCI_MT_LAYER_GZIP : OCI_MT_LAYER_TAR,
                                    dg.str, (int64_t) size);
                oci_manifest_add_layer(m, &d);
                oci_descriptor_clear(&d);
                oci_image_config_add_diff_id(cfg, diff.str);
                h.created = xstrdup("2024-01-01T00:00:00Z");
                h.created_by = xasprintf("ocilayout build %s", argv[i]);
                oci_image_config_add_history(cfg, &h);
                oci_history_clear(&h);
        }
        if (oci_image_config_serialize(cfg, &cbuf, &clen, &e) < 0)
                return fail(&e, "config");
        if (oci_layout_add_blob(l, cbuf, clen, NULL, &dg, &e) < 0)
                return fail(&e, "config");
        oci_descriptor_init(&d, OCI_MT_CONFIG, dg.str, (int64_t) clen);
        oci_manifest_set_config(m, &d);
        oci_descriptor_clear(&d);
        if (oci_manifest_serialize(m, &mbuf, &mlen, &e) < 0)
                return fail(&e, "manifest");
        if (oci_layout_add_blob(l, mbuf, mlen, NULL, &dg, &e) < 0)
                return fail(&e, "manifest");
        oci_descriptor_init(&d, OCI_MT_MANIFEST, dg.str, (int64_t) mlen);
        if (oci_layout_tag(l, argv[1], &d, &e) < 0) {
                oci_descriptor_clear(&d);
                return fail(&e, argv[1]);
        }
        oci_descriptor_clear(&d);
        printf("%s\n", dg.str);
        return 0;
}

static int
open_layout(const char *path, struct oci_layout **l, struct err **e)
{
        return oci_layout_open(path, l, e);
}

static int
cmd_validate(int argc, char **argv)
{
        _cleanup_oci_layout_ struct oci_layout *l = NULL;
        _cleanup_err_ struct err *e = NULL;
        unsigned flags = 0;
        size_t n = 0;

        if (argc >= 1 && strcmp(argv[0], "--rehash") == 0) {
                flags |= OCI_VALIDATE_REHASH;
                argc--, argv++;
        }
        if (argc != 1)
                return usage();
        if (open_layout(argv[0], &l, &e) < 0 || oci_layout_validate(l, flags, &n, &e) < 0)
                return fail(&e, "validate");
        printf("ok: %zu descriptors\n", n);
        return 0;
}

static int
cmd_list(int argc, char **argv)
{
        _cleanup_oci_layout_ struct oci_layout *l = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct oci_layout_entry *entries = NULL;
        size_t n = 0;

        if (argc != 1)
                return usage();
        if (open_layout(argv[0], &l, &e) < 0 || oci_layout_list(l, &entries, &n, &e) < 0)
                return fail(&e, "list");
        for (size_t i = 0; i < n; i++)
                printf("%s %s %s %lld\n", entries[i].name ? entries[i].name : "-", entries[i].desc.digest,
                       entries[i].desc.media_type, (long long) entries[i].desc.size);
        oci_layout_entries_free(entries, n);
        return 0;
}

static int
cmd_find(int argc, char **argv)
{
        _cleanup_oci_layout_ struct oci_layout *l = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct oci_descriptor d;

        if (argc != 2)
                return usage();
        if (open_layout(argv[0], &l, &e) < 0 || oci_layout_find(l, argv[1], &d, &e) < 0)
                return fail(&e, "find");
        printf("%s\n", d.digest);
        oci_descriptor_clear(&d);
        return 0;
}

static int
print_item(const struct oci_walk_item *it, void *userdata, struct err **err)
{
        static const char *const kinds[] = {"root", "manifest", "config", "layer", "subject"};

        printf("%s %s %s %s\n", kinds[it->kind], it->desc->digest, it->name ? it->name : "-", it->referrer);
        return 0;
}

static int
cmd_walk(int argc, char **argv)
{
        _cleanup_oci_layout_ struct oci_layout *l = NULL;
        _cleanup_err_ struct err *e = NULL;

        if (argc != 1)
                return usage();
        if (open_layout(argv[0], &l, &e) < 0 || oci_layout_walk(l, 0, print_item, NULL, &e) < 0)
                return fail(&e, "walk");
        return 0;
}

static int
cmd_cat(int argc, char **argv)
{
        _cleanup_oci_layout_ struct oci_layout *l = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *data = NULL;
        struct digest d;
        size_t len;

        if (argc != 2)
                return usage();
        if (digest_parse(argv[1], &d, &e) < 0 || open_layout(argv[0], &l, &e) < 0 ||
            oci_layout_read_blob(l, &d, LIMIT_JSON_SIZE, &data, &len, &e) < 0)
                return fail(&e, "cat");
        fwrite(data, 1, len, stdout);
        return 0;
}

static int
cmd_parse_ref(int argc, char **argv)
{
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *dir = NULL, *name = NULL;

        if (argc != 1)
                return usage();
        if (oci_layout_parse_ref(argv[0], &dir, &name, &e) < 0)
                return fail(&e, "parse-ref");
        printf("%s %s\n", dir, name ? name : "-");
        return 0;
}

static int
cmd_store_resolve(int argc, char **argv)
{
        _cleanup_oci_store_ struct oci_store *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *name = NULL;
        struct oci_descriptor d;

        if (argc != 2)
                return usage();
        if (oci_store_open(argv[0], &s, &e) < 0 || oci_store_resolve(s, argv[1], &d, &name, &e) < 0)
                return fail(&e, "resolve");
        printf("%s %s\n", d.digest, name ? name : "-");
        oci_descriptor_clear(&d);
        return 0;
}

static int
cmd_store_list(int argc, char **argv)
{
        _cleanup_oci_store_ struct oci_store *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct oci_store_image *imgs = NULL;
        size_t n = 0;

        if (argc != 1)
                return usage();
        if (oci_store_open(argv[0], &s, &e) < 0 || oci_store_list(s, &imgs, &n, &e) < 0)
                return fail(&e, "list");
        for (size_t i = 0; i < n; i++)
                printf("%s %s %llu %s\n", imgs[i].name ? imgs[i].name : "-", imgs[i].desc.digest,
                       (unsigned long long) imgs[i].size, imgs[i].created ? imgs[i].created : "-");
        oci_store_images_free(imgs, n);
        return 0;
}

static int
cmd_store_tag(int argc, char **argv)
{
        _cleanup_oci_store_ struct oci_store *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        _cleanup_free_ char *data = NULL;
        struct oci_descriptor d;
        struct digest dg;
        const char *mt;
        size_t len;
        int r;

        if (argc != 3)
                return usage();
        if (digest_parse(argv[2], &dg, &e) < 0 || oci_store_open(argv[0], &s, &e) < 0 ||
            oci_layout_read_blob(oci_store_layout(s), &dg, LIMIT_MANIFEST_SIZE, &data, &len, &e) < 0)
                return fail(&e, "tag");
        mt = oci_detect_media_type(data, len);
        if (!mt) {
                fprintf(stderr, "ocilayout: %s is not a manifest\n", dg.str);
                return 1;
        }
        oci_descriptor_init(&d, mt, dg.str, (int64_t) len);
        r = oci_store_tag(s, argv[1], &d, &e);
        oci_descriptor_clear(&d);
        return r < 0 ? fail(&e, "tag") : 0;
}

static int
cmd_store_gc(int argc, char **argv)
{
        _cleanup_oci_store_ struct oci_store *s = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct oci_store_gc_opts opts = {.grace_seconds = -1};
        struct oci_store_gc_result res;

        if (argc < 1)
                return usage();
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--dry-run") == 0)
                        opts.dry_run = true;
                else if (strcmp(argv[i], "--grace") == 0 && i + 1 < argc)
                        opts.grace_seconds = atoll(argv[++i]);
                else
                        return usage();
        }
        if (oci_store_open(argv[0], &s, &e) < 0 || oci_store_gc(s, &opts, &res, &e) < 0)
                return fail(&e, "gc");
        printf("removed %zu bytes %llu temps %zu\n", res.blobs_removed, (unsigned long long) res.bytes_freed,
               res.temps_removed);
        for (size_t i = 0; res.removed && res.removed[i]; i++)
                printf("%s\n", res.removed[i]);
        oci_store_gc_result_clear(&res);
        return 0;
}

int
main(int argc, char **argv)
{
        static const struct {
                const char *name;
                int (*fn)(int, char **);
        } cmds[] = {
            {"build", cmd_build},
            {"validate", cmd_validate},
            {"list", cmd_list},
            {"find", cmd_find},
            {"walk", cmd_walk},
            {"cat", cmd_cat},
            {"parse-ref", cmd_parse_ref},
            {"store-resolve", cmd_store_resolve},
            {"store-list", cmd_store_list},
            {"store-tag", cmd_store_tag},
            {"store-gc", cmd_store_gc},
        };

        if (argc < 2)
                return usage();
        for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++)
                if (strcmp(argv[1], cmds[i].name) == 0)
                        return cmds[i].fn(argc - 2, argv + 2);
        return usage();
}
