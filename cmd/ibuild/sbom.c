/* `ibuild sbom IMAGE` prints the SPDX SBOM of an image of the store or of
 * an oci:DIR[:TAG] layout; ibuild_sbom_attach is `ibuild --sbom`'s part
 * after a build: the SBOM stored as a referrer of the image, in the store
 * and in the OCI outputs (oci/sbom.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/options/output.h"
#include "cmd/common/cli.h"
#include "cmd/ibuild/ibuild.h"
#include "common/cleanup.h"
#include "common/fsutil.h"
#include "oci/layer.h"
#include "oci/layout.h"
#include "oci/sbom.h"
#include "oci/ref.h"
#include "oci/store.h"
#include "registry/client/client.h"

#define PROG "ibuild"

static void
sbom_usage(FILE *f)
{
        fputs("Usage: ibuild sbom [OPTIONS] IMAGE\n"
              "\n"
              "Print the SPDX 2.3 JSON SBOM of IMAGE (a name or digest in the local store, or\n"
              "oci:DIR[:TAG]): the OS packages its dpkg and apk databases record.\n"
              "\n"
              "  -o, --output FILE    write the document to FILE instead of stdout\n"
              "  --platform OS/ARCH   the manifest to describe when IMAGE is an index\n"
              "  --store DIR          the local store\n"
              "  SOURCE_DATE_EPOCH    (env) the document's creation time (default: the\n"
              "                       image's created time)\n",
              f);
}

/* SOURCE_DATE_EPOCH as seconds, -1 when unset, -2 when malformed. */
static int64_t
env_epoch(void)
{
        const char *s = getenv("SOURCE_DATE_EPOCH");
        char *end;
        long long v;

        if (!s || !*s)
                return -1;
        v = strtoll(s, &end, 10);
        return *end || v < 0 ? -2 : v;
}

static void
print_warnings(char **w)
{
        for (size_t i = 0; w && w[i]; i++)
                fprintf(stderr, PROG ": warning: SBOM: %s\n", w[i]);
}

int
ibuild_sbom(int argc, char **argv)
{
        _cleanup_err_ struct err *err = NULL;
        _cleanup_oci_store_ struct oci_store *store = NULL;
        _cleanup_oci_layout_ struct oci_layout *lay = NULL;
        _cleanup_free_ char *dir = NULL, *tag = NULL, *stored = NULL;
        const char *image = NULL, *out = NULL, *store_path = NULL;
        struct oci_sbom_opts so = {.licenses = true};
        struct oci_sbom_result res = {0};
        struct oci_descriptor desc = {0};
        const struct oci_layout *src;
        int r, rc = 1;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v;

                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        sbom_usage(stdout);
                        return 0;
                } else if (cli_is_opt(a, "-o") || cli_is_opt(a, "--output") || cli_is_opt(a, "--platform") ||
                           cli_is_opt(a, "--store")) {
                        const char *name = cli_is_opt(a, "-o")         ? "-o"
                                           : cli_is_opt(a, "--output") ? "--output"
                                           : cli_is_opt(a, "--store")  ? "--store"
                                                                       : "--platform";

                        v = cli_opt_value(argc, argv, &i, name);
                        if (!v)
                                return cli_fail(PROG, "%s needs a value", name), 2;
                        if (name[1] == 'o' || name[2] == 'o')
                                out = v;
                        else if (name[2] == 's')
                                store_path = v;
                        else
                                so.platform = v;
                } else if (a[0] == '-' && a[1]) {
                        cli_fail(PROG, "sbom: unknown option %s", a);
                        sbom_usage(stderr);
                        return 2;
                } else if (image) {
                        return cli_fail(PROG, "sbom: one IMAGE (%s and %s given)", image, a), 2;
                } else {
                        image = a;
                }
        }
        if (!image)
                return cli_fail(PROG, "sbom: no IMAGE given (try ibuild sbom --help)"), 2;
        so.source_date_epoch = env_epoch();
        if (so.source_date_epoch == -2)
                return cli_fail(PROG, "SOURCE_DATE_EPOCH=%s: not a number of seconds", getenv("SOURCE_DATE_EPOCH")), 2;
        if (oci_layout_is_ref(image)) {
                r = oci_layout_parse_ref(image, &dir, &tag, &err);
                if (r >= 0)
                        r = oci_layout_open(dir, &lay, &err);
                if (r >= 0)
                        r = oci_layout_select(lay, tag, &desc, &err);
                src = lay;
                so.name = tag;
        } else {
                r = oci_store_open(store_path, &store, &err);
                if (r >= 0)
                        r = cli_store_hold(PROG, store, false, false, &err);
                if (r >= 0)
                        r = oci_store_resolve(store, image, &desc, &stored, &err);
                src = store ? oci_store_layout(store) : NULL;
                so.name = stored;
        }
        if (r >= 0)
                r = oci_sbom_generate(src, &desc, &so, &res, &err);
        if (r < 0) {
                cli_print_err(PROG, &err);
                goto out;
        }
        print_warnings(res.warnings);
        if (out) {
                if (fs_write_atomic(out, res.json, res.len, 0644, &err) < 0) {
                        cli_print_err(PROG, &err);
                        goto out;
                }
        } else if (fwrite(res.json, 1, res.len, stdout) != res.len || fputc('\n', stdout) == EOF ||
                   fflush(stdout) != 0) {
                cli_fail(PROG, "writing the SBOM to stdout: %s", strerror(errno));
                goto out;
        }
        rc = 0;
out:
        oci_descriptor_clear(&desc);
        oci_sbom_result_clear(&res);
        return rc;
}

/* ---- ibuild --sbom ---- */

/* Add the SBOM artifact SBOM (in STORE) to the layout at DIR, listed
 * unnamed in its index.json beside the image. */
static int
to_layout(struct oci_store *store, const struct oci_descriptor *sbom, const char *dir, struct err **err)
{
        _cleanup_oci_layout_ struct oci_layout *dst = NULL;
        int r = oci_layout_open(dir, &dst, err);

        if (r >= 0)
                r = reg_layout_copy(oci_store_layout(store), sbom, dst, err);
        if (r >= 0)
                r = oci_layout_tag(dst, NULL, sbom, err);
        return r;
}

/* An OCI archive is written whole: the image and its SBOM into a temp
 * layout, tarred, renamed over OUT's file (what build_exec_output wrote
 * without the SBOM). */
static int
to_archive(struct oci_store *store, const struct oci_descriptor *image, const struct oci_descriptor *sbom,
           const struct build_output *out, const char *name, struct err **err)
{
        _cleanup_free_ char *tmp = NULL, *full = build_output_with_tag(build_output_name(out, name));
        _cleanup_free_ char *file = xasprintf("%s.tmp-sbom-%d", out->dest, (int) getpid());
        _cleanup_oci_layout_ struct oci_layout *dst = NULL;
        struct oci_layer_write_opts wo;
        struct oci_layer_result lr;
        _cleanup_close_ int fd = -1;
        int r = fs_mkdtemp_in(oci_store_tmp_dir(store), "out-sbom-", &tmp, err);

        if (r < 0)
                return r;
        r = oci_layout_create(tmp, &dst, err);
        if (r >= 0)
                r = reg_layout_copy(oci_store_layout(store), image, dst, err);
        if (r >= 0)
                r = oci_layout_tag(dst, full, image, err);
        if (r >= 0)
                r = reg_layout_copy(oci_store_layout(store), sbom, dst, err);
        if (r >= 0)
                r = oci_layout_tag(dst, NULL, sbom, err);
        if (r >= 0) {
                fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0)
                        r = err_set(err, errno, "%s: %s", file, strerror(errno));
        }
        if (r >= 0) {
                oci_layer_write_opts_init(&wo);
                r = oci_layer_write_dir(AT_FDCWD, tmp, &wo, fd, &lr, err);
        }
        if (r >= 0 && fsync(fd) < 0)
                r = err_set(err, errno, "%s: %s", file, strerror(errno));
        if (r >= 0 && rename(file, out->dest) < 0)
                r = err_set(err, errno, "%s: %s", out->dest, strerror(errno));
        if (r < 0 && fd >= 0)
                unlink(file);
        fs_rm_rf(tmp, NULL);
        return r;
}

int
ibuild_sbom_attach(struct oci_store *store, const struct oci_descriptor *image, const char *name,
                   const struct build_output *outputs, size_t n_outputs, bool quiet, struct oci_descriptor *ret_sbom,
                   struct err **err)
{
        _cleanup_free_ char *norm = NULL;
        struct oci_sbom_opts so = {.licenses = true, .source_date_epoch = env_epoch()};
        struct oci_sbom_result res = {0};
        struct oci_descriptor sbom = {0};
        int r;

        if (name && oci_store_normalize_name(name, &norm, NULL) >= 0)
                so.name = norm;
        if (so.source_date_epoch < 0)
                so.source_date_epoch = -1;
        r = oci_sbom_generate(oci_store_layout(store), image, &so, &res, err);
        if (r >= 0)
                r = oci_sbom_add_artifact(oci_store_layout(store), res.json, res.len, &res.manifest, res.created,
                                          &sbom, err);
        /* Unnamed in the store's index.json: kept by GC with its image's
         * blobs, and found as a referrer of the image's digest. */
        if (r >= 0)
                r = oci_store_tag(store, NULL, &sbom, err);
        if (r < 0)
                goto out;
        print_warnings(res.warnings);
        if (!quiet)
                fprintf(stderr, "SBOM %s: %zu packages\n", sbom.digest, res.n_packages);
        for (size_t k = 0; k < n_outputs && r >= 0; k++) {
                const struct build_output *o = &outputs[k];

                if (o->type == BUILD_OUTPUT_OCI)
                        r = to_layout(store, &sbom, o->dest, err);
                else if (o->type == BUILD_OUTPUT_OCI_ARCHIVE)
                        r = to_archive(store, image, &sbom, o, name, err);
                else
                        continue;
                if (r < 0)
                        err_prefix(err, "--output %s: adding the SBOM", o->spec);
        }
        if (r >= 0) {
                *ret_sbom = sbom;
                memset(&sbom, 0, sizeof(sbom));
        }
out:
        oci_descriptor_clear(&sbom);
        oci_sbom_result_clear(&res);
        return r;
}

int
ibuild_sbom_push(struct reg_client *c, struct oci_store *store, const struct oci_descriptor *sbom, const char *ref,
                 bool quiet, struct err **err)
{
        _cleanup_oci_ref_ struct oci_ref *pr = NULL;
        _cleanup_free_ char *name = NULL, *dest = NULL, *pushed = NULL;
        int r = oci_ref_parse(ref, &pr, err);

        if (r < 0)
                return r;
        name = oci_ref_name(pr);
        /* By digest: the registry lists it under the image's referrers
         * (or the client keeps the sha256-<hex> fallback tag). */
        dest = xasprintf("%s@%s", name, sbom->digest);
        r = reg_client_push_from_store(c, store, sbom->digest, dest, &pushed, err);
        if (r < 0)
                return err_prefix(err, "pushing the SBOM of %s", ref);
        if (!quiet)
                fprintf(stderr, "pushed SBOM %s\n", pushed ? pushed : dest);
        return 0;
}
