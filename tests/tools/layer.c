/* Drive oci/layer from bats tests.
 *
 *   layer write [--gzip|--zstd] [--level N] [--threads N] [--overlay]
 *               [--sde EPOCH] SRC_DIR OUT_FILE
 *       prints "diffid BLOB_DIGEST SIZE" as "<diffid> <blob> <size>"
 *   layer apply [--no-openat2] [--skip-chown] [--overlay-whiteouts]
 *               [--expect-diffid D] IN_FILE TARGET_DIR
 *       prints "<diffid> <blob> <compression> <entries>", then one
 *       "warning: PATH: MESSAGE" line per warning
 * Errors go to stderr as "error: MESSAGE (code N)", exit 1.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "oci/layer.h"

static int
fail(struct err **e)
{
        fprintf(stderr, "error: %s (code %d)\n", err_msg(e), err_code(e));
        err_clear(e);
        return 1;
}

static int
do_write(int argc, char **argv)
{
        struct oci_layer_write_opts o;
        struct oci_layer_result res;
        struct err *e = NULL;
        _cleanup_close_ int out = -1;
        int i;

        oci_layer_write_opts_init(&o);
        for (i = 2; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                if (strcmp(argv[i], "--gzip") == 0)
                        o.compression = OCI_LAYER_GZIP;
                else if (strcmp(argv[i], "--zstd") == 0)
                        o.compression = OCI_LAYER_ZSTD;
                else if (strcmp(argv[i], "--overlay") == 0)
                        o.source_mode = OCI_LAYER_SOURCE_OVERLAY;
                else if (strcmp(argv[i], "--level") == 0 && i + 1 < argc)
                        o.level = atoi(argv[++i]);
                else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
                        o.threads = atoi(argv[++i]);
                else if (strcmp(argv[i], "--sde") == 0 && i + 1 < argc)
                        o.source_date_epoch = atoll(argv[++i]);
                else {
                        fprintf(stderr, "layer write: bad option %s\n", argv[i]);
                        return 2;
                }
        }
        if (argc - i != 2) {
                fprintf(stderr, "usage: layer write [opts] SRC_DIR OUT_FILE\n");
                return 2;
        }
        out = open(argv[i + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out < 0) {
                perror(argv[i + 1]);
                return 1;
        }
        if (oci_layer_write_dir(AT_FDCWD, argv[i], &o, out, &res, &e) < 0)
                return fail(&e);
        printf("%s %s %llu\n", res.diff_id.str, res.blob_digest.str, (unsigned long long) res.blob_size);
        return 0;
}

static int
do_apply(int argc, char **argv)
{
        struct oci_layer_apply_opts o;
        struct oci_layer_apply_result res;
        struct digest want;
        struct err *e = NULL;
        _cleanup_close_ int in = -1;
        int i;

        oci_layer_apply_opts_init(&o);
        for (i = 2; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
                if (strcmp(argv[i], "--no-openat2") == 0)
                        o.no_openat2 = true;
                else if (strcmp(argv[i], "--skip-chown") == 0)
                        o.chown = OCI_LAYER_CHOWN_SKIP;
                else if (strcmp(argv[i], "--overlay-whiteouts") == 0)
                        o.whiteouts = OCI_LAYER_WHITEOUT_OVERLAY;
                else if (strcmp(argv[i], "--expect-diffid") == 0 && i + 1 < argc) {
                        if (digest_parse(argv[++i], &want, &e) < 0)
                                return fail(&e);
                        o.expect_diff_id = &want;
                } else {
                        fprintf(stderr, "layer apply: bad option %s\n", argv[i]);
                        return 2;
                }
        }
        if (argc - i != 2) {
                fprintf(stderr, "usage: layer apply [opts] IN_FILE TARGET_DIR\n");
                return 2;
        }
        in = open(argv[i], O_RDONLY | O_CLOEXEC);
        if (in < 0) {
                perror(argv[i]);
                return 1;
        }
        if (oci_layer_apply_path(in, argv[i + 1], &o, &res, &e) < 0)
                return fail(&e);
        printf("%s %s %s %llu\n", res.diff_id.str, res.blob_digest.str, oci_layer_compression_name(res.compression),
               (unsigned long long) res.entries);
        for (size_t k = 0; k < res.nwarnings; k++)
                printf("warning: %s: %s\n", res.warnings[k].path, res.warnings[k].message);
        oci_layer_apply_result_free(&res);
        return 0;
}

int
main(int argc, char **argv)
{
        if (argc >= 2 && strcmp(argv[1], "write") == 0)
                return do_write(argc, argv);
        if (argc >= 2 && strcmp(argv[1], "apply") == 0)
                return do_apply(argc, argv);
        fprintf(stderr, "usage: layer write|apply ...\n");
        return 2;
}
